/* Claim values against the configuration and the clock. */
#include "token.h"

#include <string.h>

kj_err
kj_claims_check(const struct kj_token *t, const struct kj_config *c, int64_t now, struct kj_diag *d)
{
	char safe[96];
	unsigned i;
	int iss_ok = 0;

	for (i = 0; i < c->n_issuers; i++) {
		if (strcmp(t->iss, c->issuers[i]) == 0)
			iss_ok = 1;
	}
	if (!iss_ok) {
		kj_sanitize(safe, sizeof(safe), t->iss);
		return kj_fail(d, KJ_ERR_CLAIMS, "issuer \"%s\" is not allowed", safe);
	}
	if (strcmp(t->aud, c->audience) != 0) {
		kj_sanitize(safe, sizeof(safe), t->aud);
		return kj_fail(d, KJ_ERR_CLAIMS, "audience \"%s\" is not this host's", safe);
	}
	/* Dates are bounded to [0, 253402300799] by the parser, so none of
	 * these sums can overflow. */
	if (t->exp <= now - c->leeway)
		return kj_fail(d, KJ_ERR_CLAIMS, "token expired %lld s ago (leeway %lld s)",
		    (long long)(now - t->exp), (long long)c->leeway);
	if (t->has_nbf && t->nbf > now + c->leeway)
		return kj_fail(d, KJ_ERR_CLAIMS, "token not valid for another %lld s (nbf)",
		    (long long)(t->nbf - now));
	if (t->iat > now + c->leeway)
		return kj_fail(d, KJ_ERR_CLAIMS, "token issued %lld s in the future (iat)",
		    (long long)(t->iat - now));
	if (t->exp - t->iat > c->max_ttl)
		return kj_fail(d, KJ_ERR_CLAIMS, "token lifetime %lld s exceeds max_ttl %lld s",
		    (long long)(t->exp - t->iat), (long long)c->max_ttl);
	return KJ_OK;
}
