/* Envelope mode (alg KMS+A256GCM): a KMS-wrapped data key in the token,
 * AES-256-GCM over the payload with S as AAD, and a cross-process cache of
 * unwrapped data keys so most logins make no KMS call.
 *
 *   sealed = u16be(n) || EDK (n bytes) || IV (12) || C || T (16)
 *   EDK    = KMS GenerateDataKey(KeyId, AES_256,
 *            EncryptionContext={"kmsjwt": "data-key", "aud": aud})
 *   C || T = AES-256-GCM(K, IV, P, AAD = S)                                */
#ifndef KJ_ENVELOPE_H
#define KJ_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "creds.h"
#include "crypto.h"
#include "kj.h"
#include "token.h"
#include "verify.h"

#define KJ_DATA_KEY_LEN 32
#define KJ_EDK_MAX 1024

struct kj_sealed_parts {
	const uint8_t *edk, *iv, *ct, *tag;
	size_t edk_len, ct_len;
};

/* Lengths only; refuses n = 0, n past the end, missing IV or tag. */
kj_err kj_envelope_split(const uint8_t *sealed, size_t len, struct kj_sealed_parts *p, struct kj_diag *d);

/* Verifier: the data key (cache, else KMS with key pinning), then GCM.
 * s is S, the token's signing input. On success *pt holds P (caller wipes). */
kj_err kj_envelope_open(const struct kj_config *c, const struct kj_token *t, const char *s, uint8_t **pt,
    size_t *pt_len, struct kj_result *res, struct kj_diag *d);

/* Issuer: seal P for S with a data key that is reused for at most max_age
 * seconds and max_uses tokens per (key, aud) (0/0: a fresh key each time).
 * *sealed is a heap buffer. */
kj_err kj_envelope_seal(const struct kj_config *c, const struct kj_creds *cr, const char *key_id,
    const char *aud, const char *s, const uint8_t *pt, size_t pt_len, unsigned max_age, unsigned max_uses,
    uint8_t **sealed, size_t *sealed_len, struct kj_diag *d);

/* The cache entry name for a wrapped data key of an audience. */
int kj_dk_desc(const char *aud, const uint8_t *edk, size_t edk_len, char *desc, size_t size);

#endif
