/* From the token's user claim to a local account. */
#ifndef KJ_USERMAP_H
#define KJ_USERMAP_H

#include <stddef.h>

#include "config.h"
#include "kj.h"

#define KJ_USER_MAX 33 /* 32 characters, as useradd allows */
#define KJ_USERMAP_FILE_MAX 262144

/* A portable user name: [A-Za-z0-9_.-], not starting with '-' or '.',
 * at most 32 characters, optionally ending in '$'. */
int kj_user_name_valid(const char *name);

/* Apply user_map (if configured: "PATTERN USER" lines, fnmatch glob on the
 * claim, first match wins, USER "=" keeps the claim) and validate the name. */
kj_err kj_usermap_resolve(const struct kj_config *c, const char *claim, char *user, size_t size,
    struct kj_diag *d);

/* The account must exist (NSS); uid 0 only with allow_root. */
kj_err kj_user_check(const struct kj_config *c, const char *user, struct kj_diag *d);

#endif
