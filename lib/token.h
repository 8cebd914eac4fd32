/* Token format v1 (docs/token-format.md): parsing and claim checks. */
#ifndef KJ_TOKEN_H
#define KJ_TOKEN_H

#include <jansson.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "kj.h"

#define KJ_TOKEN_MAX 8192    /* bytes, whole token */
#define KJ_PAYLOAD_MAX 4096  /* bytes, decrypted private payload */
#define KJ_DIGEST_LEN 43     /* B64U(SHA-256) without padding */

enum kj_alg { KJ_ALG_KMS = 1, KJ_ALG_KMS_A256GCM = 2 };

struct kj_token {
	enum kj_alg alg;
	json_t *header;
	json_t *claims;
	/* Borrowed from claims; valid until kj_token_free. */
	const char *iss, *sub, *aud, *jti;
	int64_t exp, iat, nbf;
	int has_nbf;
	uint8_t *sealed;
	size_t sealed_len;
	size_t signing_len;                /* length of S = header "." claims */
	char digest[KJ_DIGEST_LEN + 1];    /* D = B64U(SHA-256(S)) */
};

/* Structural checks (step 1 of the spec) and claim types. Nothing here
 * consults the configuration or the clock. */
kj_err kj_token_parse(const char *tok, size_t len, struct kj_token *t, struct kj_diag *d);
void kj_token_free(struct kj_token *t);

/* Claim values against the configuration and the clock (step 2). */
kj_err kj_claims_check(const struct kj_token *t, const struct kj_config *c, int64_t now,
    struct kj_diag *d);

/* Strict JSON: an object, no duplicate member names, no NUL, valid UTF-8,
 * nothing after it. */
kj_err kj_json_object(const void *buf, size_t len, json_t **out, const char *what, struct kj_diag *d);

/* D for the given S. */
int kj_digest(const char *s, size_t len, char out[KJ_DIGEST_LEN + 1]);

#endif
