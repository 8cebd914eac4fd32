/* nettle-backed primitives (see crypto.h for why not OpenSSL). */
#include "crypto.h"

#include <errno.h>
#include <nettle/gcm.h>
#include <nettle/hmac.h>
#include <nettle/memops.h>
#include <nettle/sha2.h>
#include <string.h>
#include <sys/random.h>

void
kj_sha256_v(const struct kj_span *parts, size_t n, uint8_t out[KJ_SHA256_LEN])
{
	struct sha256_ctx c;
	size_t i;

	sha256_init(&c);
	for (i = 0; i < n; i++)
		sha256_update(&c, parts[i].n, parts[i].p);
	sha256_digest(&c, KJ_SHA256_LEN, out);
}

void
kj_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len, uint8_t out[KJ_SHA256_LEN])
{
	struct hmac_sha256_ctx c;

	hmac_sha256_set_key(&c, key_len, key);
	hmac_sha256_update(&c, msg_len, msg);
	hmac_sha256_digest(&c, KJ_SHA256_LEN, out);
	explicit_bzero(&c, sizeof(c));
}

void
kj_gcm_seal(const uint8_t key[KJ_AES256_KEY_LEN], const uint8_t iv[KJ_GCM_IV_LEN], const void *aad,
    size_t aad_len, const uint8_t *pt, size_t len, uint8_t *ct, uint8_t tag[KJ_GCM_TAG_LEN])
{
	struct gcm_aes256_ctx c;

	gcm_aes256_set_key(&c, key);
	gcm_aes256_set_iv(&c, KJ_GCM_IV_LEN, iv);
	gcm_aes256_update(&c, aad_len, aad);
	gcm_aes256_encrypt(&c, len, ct, pt);
	gcm_aes256_digest(&c, KJ_GCM_TAG_LEN, tag);
	explicit_bzero(&c, sizeof(c));
}

int
kj_gcm_open(const uint8_t key[KJ_AES256_KEY_LEN], const uint8_t iv[KJ_GCM_IV_LEN], const void *aad,
    size_t aad_len, const uint8_t *ct, size_t len, const uint8_t tag[KJ_GCM_TAG_LEN], uint8_t *pt)
{
	struct gcm_aes256_ctx c;
	uint8_t want[KJ_GCM_TAG_LEN];
	int ok;

	gcm_aes256_set_key(&c, key);
	gcm_aes256_set_iv(&c, KJ_GCM_IV_LEN, iv);
	gcm_aes256_update(&c, aad_len, aad);
	gcm_aes256_decrypt(&c, len, pt, ct);
	gcm_aes256_digest(&c, KJ_GCM_TAG_LEN, want);
	explicit_bzero(&c, sizeof(c));
	ok = memeql_sec(want, tag, KJ_GCM_TAG_LEN);
	if (!ok)
		explicit_bzero(pt, len);
	return ok ? 0 : -1;
}

int
kj_random(void *buf, size_t n)
{
	uint8_t *p = buf;

	while (n > 0) {
		ssize_t r = getrandom(p, n, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int
kj_memeq(const void *a, const void *b, size_t n)
{
	return memeql_sec(a, b, n);
}
