/* Credentials from the shared credentials file or the environment. */
#include "creds.h"

#include <stdlib.h>
#include <string.h>

#include "file.h"

#define KJ_CREDS_FILE_MAX 65536

void
kj_creds_wipe(struct kj_creds *c)
{
	explicit_bzero(c, sizeof(*c));
}

static int
kj_section_matches(const char *line, const char *profile, int config_style)
{
	size_t len = strlen(line), plen = strlen(profile);
	const char *name = line + 1;
	size_t nlen;

	if (len < 2 || line[0] != '[' || line[len - 1] != ']')
		return 0;
	nlen = len - 2;
	while (nlen > 0 && (*name == ' ' || *name == '\t')) {
		name++;
		nlen--;
	}
	while (nlen > 0 && (name[nlen - 1] == ' ' || name[nlen - 1] == '\t'))
		nlen--;
	if (config_style && strcmp(profile, "default") != 0) {
		if (nlen < 8 || strncmp(name, "profile", 7) != 0 || (name[7] != ' ' && name[7] != '\t'))
			return 0;
		name += 8;
		nlen -= 8;
		while (nlen > 0 && (*name == ' ' || *name == '\t')) {
			name++;
			nlen--;
		}
	}
	return nlen == plen && strncmp(name, profile, plen) == 0;
}

kj_err
kj_creds_parse_ini(char *text, size_t len, const char *profile, int config_style,
    struct kj_creds *out, struct kj_diag *d)
{
	size_t pos = 0;
	unsigned lineno = 0;
	int in_section = 0, found = 0;
	char *line;

	while ((line = kj_next_line(text, len, &pos, &lineno)) != NULL) {
		char *eq, *key, *val, *e;
		char *dst = NULL;
		size_t dst_size = 0;

		if (*line == '\0' || *line == '#' || *line == ';')
			continue;
		if (*line == '[') {
			in_section = kj_section_matches(line, profile, config_style);
			found |= in_section;
			continue;
		}
		if (!in_section)
			continue;
		eq = strchr(line, '=');
		if (eq == NULL)
			continue;
		*eq = '\0';
		key = line;
		val = eq + 1;
		e = eq;
		while (e > key && (e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		while (*val == ' ' || *val == '\t')
			val++;
		if (strcmp(key, "aws_access_key_id") == 0) {
			dst = out->access_key_id;
			dst_size = sizeof(out->access_key_id);
		} else if (strcmp(key, "aws_secret_access_key") == 0) {
			dst = out->secret_access_key;
			dst_size = sizeof(out->secret_access_key);
		} else if (strcmp(key, "aws_session_token") == 0) {
			dst = out->session_token;
			dst_size = sizeof(out->session_token);
		}
		if (dst != NULL && kj_strlcpy(dst, val, dst_size) != 0)
			return kj_fail(d, KJ_ERR_CONFIG, "line %u: %s is too long", lineno, key);
	}
	if (!found)
		return kj_fail(d, KJ_ERR_UNAVAIL, "profile '%s' not found", profile);
	if (out->access_key_id[0] == '\0' || out->secret_access_key[0] == '\0')
		return kj_fail(d, KJ_ERR_UNAVAIL, "profile '%s' has no aws_access_key_id/aws_secret_access_key",
		    profile);
	return KJ_OK;
}

static kj_err
kj_creds_from_file(const struct kj_config *c, struct kj_creds *out, struct kj_diag *d)
{
	char *buf = NULL;
	size_t len = 0;
	kj_err err;

	err = kj_file_read_trusted(c->credentials_file, KJ_CREDS_FILE_MAX, &buf, &len, d);
	if (err != KJ_OK)
		goto out;
	err = kj_creds_parse_ini(buf, len, c->profile, 0, out, d);
	if (err != KJ_OK) {
		char inner[KJ_REASON_MAX];

		(void)kj_strlcpy(inner, d->reason, sizeof(inner));
		err = kj_fail(d, err, "credentials_file %s: %s", c->credentials_file, inner);
		goto out;
	}
	(void)kj_fmt(out->source, sizeof(out->source), "credentials_file");
out:
	kj_free_secret(buf, len);
	return err;
}

static kj_err
kj_creds_from_env(struct kj_creds *out, struct kj_diag *d)
{
	const char *id = getenv("AWS_ACCESS_KEY_ID");
	const char *secret = getenv("AWS_SECRET_ACCESS_KEY");
	const char *token = getenv("AWS_SESSION_TOKEN");

	if (id == NULL || secret == NULL || *id == '\0' || *secret == '\0')
		return kj_fail(d, KJ_ERR_UNAVAIL, "no credentials: set credentials_file= (sshd clears the environment)");
	if (kj_strlcpy(out->access_key_id, id, sizeof(out->access_key_id)) != 0 ||
	    kj_strlcpy(out->secret_access_key, secret, sizeof(out->secret_access_key)) != 0 ||
	    (token != NULL && kj_strlcpy(out->session_token, token, sizeof(out->session_token)) != 0))
		return kj_fail(d, KJ_ERR_CONFIG, "AWS_* credential variables are too long");
	(void)kj_fmt(out->source, sizeof(out->source), "environment");
	return KJ_OK;
}

kj_err
kj_creds_load(const struct kj_config *c, struct kj_creds *out, struct kj_diag *d)
{
	kj_err err;

	kj_creds_wipe(out);
	if (c->credentials_file[0] != '\0')
		err = kj_creds_from_file(c, out, d);
	else
		err = kj_creds_from_env(out, d);
	if (err != KJ_OK)
		kj_creds_wipe(out);
	return err;
}
