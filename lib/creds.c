/* The credential chain: shared credentials file, environment, web
 * identity (STS), ECS container credentials, EC2 IMDSv2. */
#include "creds.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <time.h>

#include "cache.h"
#include "crypto.h"
#include "file.h"
#include "http.h"
#include "imds.h"
#include "sts.h"

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
	/* style 2 (the module's credentials_file): either file format */
	if (config_style == 2 && nlen == plen && strncmp(name, profile, plen) == 0)
		return 1;
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
	/* Either format: [NAME] (credentials) or [profile NAME] (config). */
	err = kj_creds_parse_ini(buf, len, c->profile, 2, out, d);
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

	if (kj_strlcpy(out->access_key_id, id, sizeof(out->access_key_id)) != 0 ||
	    kj_strlcpy(out->secret_access_key, secret, sizeof(out->secret_access_key)) != 0 ||
	    (token != NULL && kj_strlcpy(out->session_token, token, sizeof(out->session_token)) != 0))
		return kj_fail(d, KJ_ERR_CONFIG, "AWS_* credential variables are too long");
	(void)kj_fmt(out->source, sizeof(out->source), "environment");
	return KJ_OK;
}

static int
kj_env_set(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0';
}

#define KJ_CREDS_CACHE_PREFIX "pam_kmsjwt:creds:"
#define KJ_CREDS_CACHE_ENTRIES 64
#define KJ_CREDS_CACHE_TTL_MAX 900
#define KJ_CREDS_CACHE_MARGIN 300
#define KJ_CREDS_CACHE_MAGIC "KJC1\n"

int
kj_iso8601_utc(const char *s, int64_t *t)
{
	/* offsets and widths of year, month, day, hour, minute, second */
	static const size_t off[6] = { 0, 5, 8, 11, 14, 17 }, wid[6] = { 4, 2, 2, 2, 2, 2 };
	static const char seps[] = "--T::";
	static const size_t sep_at[5] = { 4, 7, 10, 13, 16 };
	int64_t v[6];
	struct tm tm;
	const char *rest;
	char num[5];
	size_t i;
	time_t r;

	if (strlen(s) < 20)
		return -1;
	for (i = 0; i < 5; i++) {
		if (s[sep_at[i]] != seps[i])
			return -1;
	}
	for (i = 0; i < 6; i++) {
		memcpy(num, s + off[i], wid[i]);
		num[wid[i]] = '\0';
		if (num[0] == '-' || kj_parse_i64(num, 0, 9999, &v[i]) != 0)
			return -1;
	}
	rest = s + 19;
	if (*rest == '.') {
		rest++;
		while (*rest >= '0' && *rest <= '9')
			rest++;
	}
	if (strcmp(rest, "Z") != 0 && strcmp(rest, "+00:00") != 0)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = (int)v[0] - 1900;
	tm.tm_mon = (int)v[1] - 1;
	tm.tm_mday = (int)v[2];
	tm.tm_hour = (int)v[3];
	tm.tm_min = (int)v[4];
	tm.tm_sec = (int)v[5];
	r = timegm(&tm);
	if (r == (time_t)-1)
		return -1;
	*t = (int64_t)r;
	return 0;
}

#define KJ_CREDS_CACHE_PARTS_MAX 8

int
kj_creds_cache_get(const char *const *parts, size_t n_parts, char *desc, size_t desc_size,
    struct kj_creds *out)
{
	struct kj_span spans[KJ_CREDS_CACHE_PARTS_MAX];
	uint8_t h[KJ_SHA256_LEN];
	char hex[2 * 16 + 1], *fields[5], *p, *nl;
	uint8_t buf[sizeof(struct kj_creds)];
	struct kj_diag d;
	size_t i, len = 0;
	int hit = 0;

	desc[0] = '\0';
	if (n_parts > KJ_CREDS_CACHE_PARTS_MAX)
		goto out;
	/* The entry name is a digest: endpoints and tokens stay out of
	 * /proc/keys, and parts (each with its NUL) cannot run into each other. */
	for (i = 0; i < n_parts; i++) {
		const char *v = parts[i] != NULL ? parts[i] : "";

		spans[i] = (struct kj_span){ v, strlen(v) + 1 };
	}
	kj_sha256_v(spans, n_parts, h);
	kj_hex(hex, h, 16);
	if (kj_fmt(desc, desc_size, "%s%s", KJ_CREDS_CACHE_PREFIX, hex) != 0) {
		desc[0] = '\0';
		goto out;
	}
	if (kj_cache_get(desc, buf, sizeof(buf) - 1, &len, &d) != KJ_OK)
		goto out;
	buf[len] = '\0';
	if (len < 5 || memcmp(buf, KJ_CREDS_CACHE_MAGIC, 5) != 0)
		goto drop;
	p = (char *)buf + 5;
	for (i = 0; i < 5; i++) {
		nl = strchr(p, '\n');
		if (nl == NULL)
			goto drop;
		*nl = '\0';
		fields[i] = p;
		p = nl + 1;
	}
	if (*fields[0] == '\0' || *fields[1] == '\0' ||
	    kj_strlcpy(out->access_key_id, fields[0], sizeof(out->access_key_id)) != 0 ||
	    kj_strlcpy(out->secret_access_key, fields[1], sizeof(out->secret_access_key)) != 0 ||
	    kj_strlcpy(out->session_token, fields[2], sizeof(out->session_token)) != 0 ||
	    kj_strlcpy(out->expiration, fields[3], sizeof(out->expiration)) != 0)
		goto drop;
	(void)kj_fmt(out->source, sizeof(out->source), "%.48s (cached)", fields[4]);
	(void)kj_strlcpy(out->cache_desc, desc, sizeof(out->cache_desc));
	hit = 1;
	goto out;
drop:
	kj_cache_drop(desc);
	kj_creds_wipe(out);
out:
	explicit_bzero(buf, sizeof(buf));
	return hit;
}

void
kj_creds_cache_put(const char *desc, struct kj_creds *cr)
{
	char buf[sizeof(struct kj_creds) + 16];
	struct kj_diag d;
	int64_t exp, ttl;

	if (desc[0] == '\0' || cr->expiration[0] == '\0' || kj_iso8601_utc(cr->expiration, &exp) != 0)
		return;
	ttl = exp - (int64_t)time(NULL) - KJ_CREDS_CACHE_MARGIN;
	if (ttl > KJ_CREDS_CACHE_TTL_MAX)
		ttl = KJ_CREDS_CACHE_TTL_MAX;
	if (ttl < 60)
		return;
	/* one field per line: a newline inside a field would shift them */
	if (strchr(cr->access_key_id, '\n') != NULL || strchr(cr->secret_access_key, '\n') != NULL ||
	    strchr(cr->session_token, '\n') != NULL || strchr(cr->source, '\n') != NULL ||
	    kj_fmt(buf, sizeof(buf), KJ_CREDS_CACHE_MAGIC "%s\n%s\n%s\n%s\n%s\n", cr->access_key_id,
		cr->secret_access_key, cr->session_token, cr->expiration, cr->source) != 0)
		goto out;
	if (kj_cache_put(desc, KJ_CREDS_CACHE_PREFIX, (const uint8_t *)buf, strlen(buf), (unsigned)ttl,
	    KJ_CREDS_CACHE_ENTRIES, &d) == KJ_OK)
		(void)kj_strlcpy(cr->cache_desc, desc, sizeof(cr->cache_desc));
out:
	explicit_bzero(buf, sizeof(buf));
}

void
kj_creds_cache_drop(const struct kj_creds *cr)
{
	if (cr->cache_desc[0] != '\0')
		kj_cache_drop(cr->cache_desc);
}

kj_err
kj_creds_from_json(const char *text, size_t len, const char *what, struct kj_creds *out,
    struct kj_diag *d)
{
	json_t *j = json_loadb(text, len, 0, NULL), *code;
	const char *id, *secret, *token, *exp;
	kj_err err;

	if (j == NULL || !json_is_object(j)) {
		err = kj_fail(d, KJ_ERR_UNAVAIL, "%s: credentials are not a JSON object", what);
		goto out;
	}
	code = json_object_get(j, "Code");
	if (code != NULL && (!json_is_string(code) || strcmp(json_string_value(code), "Success") != 0)) {
		char safe[64];

		kj_sanitize(safe, sizeof(safe), json_is_string(code) ? json_string_value(code) : "?");
		err = kj_fail(d, KJ_ERR_UNAVAIL, "%s: credentials Code is \"%s\"", what, safe);
		goto out;
	}
	id = json_string_value(json_object_get(j, "AccessKeyId"));
	secret = json_string_value(json_object_get(j, "SecretAccessKey"));
	token = json_string_value(json_object_get(j, "Token"));
	exp = json_string_value(json_object_get(j, "Expiration"));
	if (id == NULL || secret == NULL || *id == '\0' || *secret == '\0') {
		err = kj_fail(d, KJ_ERR_UNAVAIL, "%s: credentials lack AccessKeyId or SecretAccessKey", what);
		goto out;
	}
	if (kj_strlcpy(out->access_key_id, id, sizeof(out->access_key_id)) != 0 ||
	    kj_strlcpy(out->secret_access_key, secret, sizeof(out->secret_access_key)) != 0 ||
	    (token != NULL && kj_strlcpy(out->session_token, token, sizeof(out->session_token)) != 0)) {
		err = kj_fail(d, KJ_ERR_UNAVAIL, "%s: credentials too long", what);
		goto out;
	}
	if (exp != NULL)
		(void)kj_strlcpy(out->expiration, exp, sizeof(out->expiration));
	err = KJ_OK;
out:
	if (j != NULL) {
		/* jansson's copies of the secret and token */
		json_t *v;
		const char *k;

		json_object_foreach(j, k, v) {
			if (json_is_string(v))
				explicit_bzero((char *)json_string_value(v), json_string_length(v));
		}
		json_decref(j);
	}
	return err;
}

kj_err
kj_creds_load(const struct kj_config *c, struct kj_creds *out, struct kj_diag *d)
{
	int64_t start = kj_mono_ms(), deadline = start + c->timeout_ms;
	const char *role = NULL, *tokfile = NULL;
	const char *ecs_rel = getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *ecs_full = getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	const char *imds_off = getenv("AWS_EC2_METADATA_DISABLED");
	kj_err err;

	kj_creds_wipe(out);
	/* 1. An explicit file is the only source: a typo must not silently
	 * select the instance role instead. */
	if (c->credentials_file[0] != '\0') {
		err = kj_creds_from_file(c, out, d);
		goto out;
	}
	/* 2. */
	if (kj_env_set("AWS_ACCESS_KEY_ID") && kj_env_set("AWS_SECRET_ACCESS_KEY")) {
		err = kj_creds_from_env(out, d);
		goto out;
	}
	/* 3. The config's pair wins over the environment's, as a pair. */
	if (c->role_arn[0] != '\0' || c->web_identity_token_file[0] != '\0') {
		role = c->role_arn;
		tokfile = c->web_identity_token_file;
	} else if (kj_env_set("AWS_ROLE_ARN") || kj_env_set("AWS_WEB_IDENTITY_TOKEN_FILE")) {
		role = getenv("AWS_ROLE_ARN");
		tokfile = getenv("AWS_WEB_IDENTITY_TOKEN_FILE");
	}
	if (role != NULL) {
		if (tokfile == NULL || *tokfile == '\0' || *role == '\0') {
			err = kj_fail(d, KJ_ERR_CONFIG,
			    "web identity needs both a role ARN and a token file (role_arn= and web_identity_token_file=)");
			goto out;
		}
		err = kj_sts_web_identity(c, role, tokfile, deadline, out, d);
		goto out;
	}
	/* 4. */
	if ((ecs_rel != NULL && *ecs_rel != '\0') || (ecs_full != NULL && *ecs_full != '\0')) {
		err = kj_ecs_creds(c, ecs_rel, ecs_full, deadline, out, d);
		goto out;
	}
	/* 5. */
	if (imds_off != NULL && strcasecmp(imds_off, "true") == 0) {
		err = kj_fail(d, KJ_ERR_UNAVAIL,
		    "no credentials: no credentials_file, AWS_* keys, web identity or container credentials, and IMDS is disabled");
		goto out;
	}
	err = kj_imds_creds(c, deadline, out, d);
	if (err == KJ_ERR_UNAVAIL) {
		char inner[KJ_REASON_MAX];

		(void)kj_strlcpy(inner, d->reason, sizeof(inner));
		err = kj_fail(d, err,
		    "no credentials: no credentials_file, AWS_* keys, web identity or container credentials; %s", inner);
	}
out:
	if (err != KJ_OK)
		kj_creds_wipe(out);
	else
		out->fetch_ms = kj_mono_ms() - start;
	return err;
}
