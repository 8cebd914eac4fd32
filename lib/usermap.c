/* User claim to local account: optional glob map file, then NSS. */
#include "usermap.h"

#include <errno.h>
#include <fnmatch.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file.h"

int
kj_user_name_valid(const char *name)
{
	size_t i, len = strlen(name);

	if (len == 0 || len >= KJ_USER_MAX || name[0] == '-' || name[0] == '.')
		return 0;
	for (i = 0; i < len; i++) {
		char c = name[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '_' || c == '.' || c == '-')
			continue;
		if (c == '$' && i == len - 1 && i > 0)
			continue;
		return 0;
	}
	return 1;
}

static kj_err
kj_map_lookup(const struct kj_config *c, const char *claim, char *user, size_t size, struct kj_diag *d)
{
	char *buf = NULL, *line, safe[96];
	size_t len = 0, pos = 0;
	unsigned lineno = 0;
	kj_err err;

	err = kj_file_read_trusted(c->user_map, KJ_USERMAP_FILE_MAX, &buf, &len, d);
	if (err != KJ_OK)
		goto out;
	while ((line = kj_next_line(buf, len, &pos, &lineno)) != NULL) {
		char *sp, *target;

		if (*line == '\0' || *line == '#')
			continue;
		sp = strpbrk(line, " \t");
		if (sp == NULL) {
			err = kj_fail(d, KJ_ERR_CONFIG, "user_map %s:%u: expected \"PATTERN USER\"", c->user_map,
			    lineno);
			goto out;
		}
		*sp = '\0';
		target = sp + 1;
		while (*target == ' ' || *target == '\t')
			target++;
		if (strpbrk(target, " \t") != NULL || *target == '\0') {
			err = kj_fail(d, KJ_ERR_CONFIG, "user_map %s:%u: expected \"PATTERN USER\"", c->user_map,
			    lineno);
			goto out;
		}
		if (fnmatch(line, claim, FNM_NOESCAPE) != 0)
			continue;
		if (strcmp(target, "=") == 0)
			target = (char *)claim;
		if (kj_strlcpy(user, target, size) != 0) {
			err = kj_fail(d, KJ_ERR_USER, "mapped user name is too long");
			goto out;
		}
		err = KJ_OK;
		goto out;
	}
	kj_sanitize(safe, sizeof(safe), claim);
	err = kj_fail(d, KJ_ERR_USER, "no user_map entry matches \"%s\"", safe);
out:
	kj_free_secret(buf, len);
	return err;
}

kj_err
kj_usermap_resolve(const struct kj_config *c, const char *claim, char *user, size_t size,
    struct kj_diag *d)
{
	char safe[96];
	kj_err err;

	if (c->user_map[0] != '\0') {
		err = kj_map_lookup(c, claim, user, size, d);
		if (err != KJ_OK)
			return err;
	} else if (kj_strlcpy(user, claim, size) != 0) {
		kj_sanitize(safe, sizeof(safe), claim);
		return kj_fail(d, KJ_ERR_USER, "user claim \"%s\" is too long for a user name", safe);
	}
	if (!kj_user_name_valid(user)) {
		kj_sanitize(safe, sizeof(safe), user);
		return kj_fail(d, KJ_ERR_USER, "\"%s\" is not a valid user name", safe);
	}
	return KJ_OK;
}

kj_err
kj_user_check(const struct kj_config *c, const char *user, struct kj_diag *d)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	int rc;

	rc = getpwnam_r(user, &pw, buf, sizeof(buf), &res);
	if (rc != 0 && rc != ENOENT && rc != ESRCH)
		return kj_fail(d, KJ_ERR_UNAVAIL, "cannot look up user %s: %s", user, strerror(rc));
	if (res == NULL)
		return kj_fail(d, KJ_ERR_USER_UNKNOWN, "no local account %s", user);
	if (pw.pw_uid == 0 && !c->allow_root)
		return kj_fail(d, KJ_ERR_USER, "token maps to %s (uid 0) and allow_root is off", user);
	return KJ_OK;
}
