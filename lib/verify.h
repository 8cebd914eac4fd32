/* The whole verification, shared by the PAM module and `kmsjwt verify`. */
#ifndef KJ_VERIFY_H
#define KJ_VERIFY_H

#include <stdint.h>

#include "config.h"
#include "kj.h"
#include "usermap.h"

/* What a decision is logged with; every string is log-safe (sanitized). */
struct kj_result {
	char iss[96];
	char sub[96];
	char jti[96];
	char key_arn[KJ_ARN_MAX];
	char user[KJ_USER_MAX];
	char mode[16];
	int64_t exp;
};

/* Steps 1-5 of the spec. want_user (PAM_USER), if set, must be the mapped
 * user (checked before KMS when the user claim is in the clear claims).
 * With a replay_cache, a token that passed everything is recorded. */
kj_err kj_verify(const struct kj_config *c, const char *tok, size_t len, int64_t now,
    const char *want_user, struct kj_result *res, struct kj_diag *d);

/* One log line for a decision: outcome, reason, iss, sub, jti, key, user. */
void kj_decision_line(char *buf, size_t size, kj_err err, const struct kj_diag *d,
    const struct kj_result *res);

#endif
