/* Issuing tokens (the CLI's `mint`, tests, benchmarks). */
#ifndef KJ_MINT_H
#define KJ_MINT_H

#include <jansson.h>
#include <stdint.h>

#include "config.h"
#include "creds.h"
#include "kj.h"

struct kj_mint_req {
	const char *key_id;   /* KMS key to seal under */
	const char *iss, *sub, *aud, *jti; /* jti NULL: a random one; "" none */
	int64_t iat, exp;
	json_t *extra_claims; /* optional object merged into the claims */
	const char *payload;  /* private JSON object, default "{}" */
	int envelope;         /* alg KMS+A256GCM instead of KMS */
	unsigned dk_max_age;  /* envelope: reuse a data key this many seconds... */
	unsigned dk_max_uses; /* ...for at most this many tokens (0: no reuse) */
};

/* Build header and claims, compute D, seal the payload with KMS Encrypt.
 * *token is a heap string the caller frees with kj_free_secret_str. */
kj_err kj_mint(const struct kj_config *c, const struct kj_creds *cr, const struct kj_mint_req *m,
    char **token, struct kj_diag *d);

/* Encode S = B64U(header) "." B64U(claims) for the given JSON objects. */
char *kj_signing_input(json_t *header, json_t *claims);

#endif
