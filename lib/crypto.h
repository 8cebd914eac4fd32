/* The symmetric primitives the login path needs: SHA-256, HMAC-SHA256,
 * AES-256-GCM, random bytes, constant-time compare.
 *
 * Why nettle and not OpenSSL here: every login is a new process, and OpenSSL
 * 3 costs about 1 ms to load plus 2.5 to 3.5 ms of provider initialisation
 * on first use (measured with perf stat on these machines), more than a
 * whole pam_permit login. nettle (GnuTLS's crypto library, already on every
 * Debian system) loads in about 0.1 ms and needs no initialisation. libcurl,
 * loaded only when KMS must be called, still uses OpenSSL for TLS. */
#ifndef KJ_CRYPTO_H
#define KJ_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define KJ_SHA256_LEN 32
#define KJ_AES256_KEY_LEN 32
#define KJ_GCM_IV_LEN 12
#define KJ_GCM_TAG_LEN 16

struct kj_span {
	const void *p;
	size_t n;
};

/* SHA-256 over the concatenation of n parts. */
void kj_sha256_v(const struct kj_span *parts, size_t n, uint8_t out[KJ_SHA256_LEN]);
void kj_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
    uint8_t out[KJ_SHA256_LEN]);

/* AES-256-GCM, 96-bit IV, 128-bit tag. open returns -1 (and zeroes pt) on a
 * bad tag. */
void kj_gcm_seal(const uint8_t key[KJ_AES256_KEY_LEN], const uint8_t iv[KJ_GCM_IV_LEN], const void *aad,
    size_t aad_len, const uint8_t *pt, size_t len, uint8_t *ct, uint8_t tag[KJ_GCM_TAG_LEN]);
int kj_gcm_open(const uint8_t key[KJ_AES256_KEY_LEN], const uint8_t iv[KJ_GCM_IV_LEN], const void *aad,
    size_t aad_len, const uint8_t *ct, size_t len, const uint8_t tag[KJ_GCM_TAG_LEN], uint8_t *pt);

int kj_random(void *buf, size_t n);                        /* 0 or -1 */
int kj_memeq(const void *a, const void *b, size_t n);      /* constant time; 1 if equal */

#endif
