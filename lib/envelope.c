/* Envelope mode: data-key unwrap with a keyring cache, AES-256-GCM. */
#include "envelope.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "b64.h"
#include "cache.h"
#include "kms.h"

#define KJ_DK_PREFIX "pam_kmsjwt:dk:"
#define KJ_ISSUER_PREFIX "kmsjwt:issuer:"
#define KJ_MAC_LEN 16

kj_err
kj_envelope_split(const uint8_t *sealed, size_t len, struct kj_sealed_parts *p, struct kj_diag *d)
{
	size_t n;

	memset(p, 0, sizeof(*p));
	if (len < 2)
		return kj_fail(d, KJ_ERR_TOKEN, "envelope: sealed part shorter than its length field");
	n = (size_t)sealed[0] << 8 | sealed[1];
	if (n == 0)
		return kj_fail(d, KJ_ERR_TOKEN, "envelope: empty wrapped data key");
	if (n > len - 2)
		return kj_fail(d, KJ_ERR_TOKEN, "envelope: wrapped data key length %zu exceeds the sealed part", n);
	if (len - 2 - n < KJ_GCM_IV_LEN + KJ_GCM_TAG_LEN)
		return kj_fail(d, KJ_ERR_TOKEN, "envelope: IV or tag missing");
	if (n > KJ_EDK_MAX)
		return kj_fail(d, KJ_ERR_TOKEN, "envelope: wrapped data key longer than %d bytes", KJ_EDK_MAX);
	p->edk = sealed + 2;
	p->edk_len = n;
	p->iv = p->edk + n;
	p->ct = p->iv + KJ_GCM_IV_LEN;
	p->ct_len = len - 2 - n - KJ_GCM_IV_LEN - KJ_GCM_TAG_LEN;
	p->tag = p->ct + p->ct_len;
	if (p->ct_len > KJ_PAYLOAD_MAX)
		return kj_fail(d, KJ_ERR_TOKEN, "envelope: payload longer than %d bytes", KJ_PAYLOAD_MAX);
	return KJ_OK;
}

static int
kj_sha256_pair(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[32])
{
	struct kj_span parts[2] = { { a, alen }, { b, blen } };

	kj_sha256_v(parts, 2, out);
	return 0;
}

/* Integrity check of a cache entry: the kernel protects entries from other
 * users; this catches a truncated or mangled entry. */
static int
kj_entry_mac(const uint8_t *key, const char *desc, const uint8_t *body, size_t body_len,
    uint8_t mac[KJ_MAC_LEN])
{
	uint8_t inner[32], full[32];

	/* HMAC(K, SHA-256(desc || body)): bound to the entry's name and body. */
	(void)kj_sha256_pair(desc, strlen(desc), body, body_len, inner);
	kj_hmac_sha256(key, KJ_DATA_KEY_LEN, inner, sizeof(inner), full);
	memcpy(mac, full, KJ_MAC_LEN);
	explicit_bzero(full, sizeof(full));
	return 0;
}

/* "pam_kmsjwt:dk:" hex(SHA-256(aud || NUL || EDK)): the audience is part of
 * the key, so a data key unwrapped for one audience (one PAM service) is
 * never served for another that shares the host's keyring. */
int
kj_dk_desc(const char *aud, const uint8_t *edk, size_t edk_len, char *desc, size_t size)
{
	uint8_t h[32];
	char hex[65];

	if (kj_sha256_pair(aud, strlen(aud) + 1, edk, edk_len, h) != 0)
		return -1;
	kj_hex(hex, h, 32);
	return kj_fmt(desc, size, "%s%s", KJ_DK_PREFIX, hex);
}

/* Entry: "KJD1" | u8 arn_len | arn | K (32) | mac (16) */
static int
kj_dk_entry_parse(const char *desc, const uint8_t *e, size_t len, uint8_t key[KJ_DATA_KEY_LEN], char *arn,
    size_t arn_size)
{
	uint8_t mac[KJ_MAC_LEN];
	size_t alen;

	if (len < 5 || memcmp(e, "KJD1", 4) != 0)
		return -1;
	alen = e[4];
	if (len != 5 + alen + KJ_DATA_KEY_LEN + KJ_MAC_LEN || alen >= arn_size)
		return -1;
	memcpy(key, e + 5 + alen, KJ_DATA_KEY_LEN);
	if (kj_entry_mac(key, desc, e, 5 + alen, mac) != 0 ||
	    !kj_memeq(mac, e + 5 + alen + KJ_DATA_KEY_LEN, KJ_MAC_LEN)) {
		explicit_bzero(key, KJ_DATA_KEY_LEN);
		return -1;
	}
	memcpy(arn, e + 5, alen);
	arn[alen] = '\0';
	return 0;
}

static void
kj_dk_cache_put(const struct kj_config *c, const char *desc, const uint8_t key[KJ_DATA_KEY_LEN],
    const char *arn)
{
	uint8_t e[5 + 255 + KJ_DATA_KEY_LEN + KJ_MAC_LEN];
	size_t alen = strlen(arn), n;
	struct kj_diag d;

	if (alen > 255)
		return;
	memcpy(e, "KJD1", 4);
	e[4] = (uint8_t)alen;
	memcpy(e + 5, arn, alen);
	memcpy(e + 5 + alen, key, KJ_DATA_KEY_LEN);
	n = 5 + alen + KJ_DATA_KEY_LEN;
	if (kj_entry_mac(key, desc, e, 5 + alen, e + n) == 0)
		(void)kj_cache_put(desc, KJ_DK_PREFIX, e, n + KJ_MAC_LEN, (unsigned)c->cache_ttl,
		    (unsigned)c->cache_max, &d);
	explicit_bzero(e, sizeof(e));
}

static int
kj_key_pinned(const struct kj_config *c, const char *arn)
{
	unsigned i;

	for (i = 0; i < c->n_keys; i++) {
		if (strcmp(arn, c->key_ids[i]) == 0)
			return 1;
	}
	return 0;
}

/* The data key: from the cache, else from KMS (then cached). */
static kj_err
kj_data_key(const struct kj_config *c, const char *aud, const struct kj_sealed_parts *p,
    uint8_t key[KJ_DATA_KEY_LEN], struct kj_result *res, struct kj_diag *d)
{
	struct kj_kv ctx[2] = { { "kmsjwt", "data-key" }, { "aud", aud } };
	uint8_t entry[KJ_CACHE_ENTRY_MAX], *pt = NULL;
	char desc[128], arn[KJ_ARN_MAX];
	struct kj_creds cr;
	struct kj_diag cd;
	size_t len = 0, pt_len = 0;
	kj_err err;

	memset(&cr, 0, sizeof(cr));
	if (kj_dk_desc(aud, p->edk, p->edk_len, desc, sizeof(desc)) != 0) {
		err = kj_fail(d, KJ_ERR_INTERNAL, "cannot hash the wrapped data key");
		goto out;
	}
	if (c->cache_ttl > 0 && kj_cache_get(desc, entry, sizeof(entry), &len, &cd) == KJ_OK) {
		if (kj_dk_entry_parse(desc, entry, len, key, arn, sizeof(arn)) == 0 && kj_key_pinned(c, arn)) {
			kj_sanitize(res->key_arn, sizeof(res->key_arn), arn);
			(void)kj_strlcpy(res->mode, "envelope-cached", sizeof(res->mode));
			err = KJ_OK;
			goto out;
		}
		/* Corrupt, or pinned under another config: ask KMS. */
		kj_cache_drop(desc);
	}
	(void)kj_strlcpy(res->mode, "envelope-kms", sizeof(res->mode));
	err = kj_creds_load(c, &cr, d);
	if (err != KJ_OK)
		goto out;
	err = kj_kms_decrypt(c, &cr, p->edk, p->edk_len, ctx, 2, c->n_keys == 1 ? c->key_ids[0] : NULL,
	    KJ_DATA_KEY_LEN, &pt, &pt_len, arn, sizeof(arn), d);
	if (err != KJ_OK)
		goto out;
	kj_sanitize(res->key_arn, sizeof(res->key_arn), arn);
	if (!kj_key_pinned(c, arn)) {
		err = kj_fail(d, KJ_ERR_KEY_PIN, "KMS decrypted with key %s, which is not in key_id", res->key_arn);
		goto out;
	}
	if (pt_len != KJ_DATA_KEY_LEN) {
		err = kj_fail(d, KJ_ERR_DENIED, "wrapped data key is %zu bytes, not 32", pt_len);
		goto out;
	}
	memcpy(key, pt, KJ_DATA_KEY_LEN);
	if (c->cache_ttl > 0)
		kj_dk_cache_put(c, desc, key, arn);
	err = KJ_OK;
out:
	explicit_bzero(entry, sizeof(entry));
	kj_free_secret(pt, pt_len);
	kj_creds_wipe(&cr);
	return err;
}

kj_err
kj_envelope_open(const struct kj_config *c, const struct kj_token *t, const char *s, uint8_t **pt,
    size_t *pt_len, struct kj_result *res, struct kj_diag *d)
{
	struct kj_sealed_parts p;
	uint8_t key[KJ_DATA_KEY_LEN], *out = NULL;
	kj_err err;

	*pt = NULL;
	*pt_len = 0;
	err = kj_envelope_split(t->sealed, t->sealed_len, &p, d);
	if (err != KJ_OK)
		goto out;
	err = kj_data_key(c, t->aud, &p, key, res, d);
	if (err != KJ_OK)
		goto out;
	out = malloc(p.ct_len + 1);
	if (out == NULL) {
		err = kj_fail(d, KJ_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (kj_gcm_open(key, p.iv, s, t->signing_len, p.ct, p.ct_len, p.tag, out) != 0) {
		err = kj_fail(d, KJ_ERR_DENIED, "envelope: AES-GCM authentication failed (token altered)");
		goto out;
	}
	*pt = out;
	*pt_len = p.ct_len;
	out = NULL;
	err = KJ_OK;
out:
	explicit_bzero(key, sizeof(key));
	kj_free_secret(out, p.ct_len + 1);
	return err;
}

/* Issuer entry: "KJI1" | u64be created | u32be uses | u16be n | EDK | K | mac */
static kj_err
kj_issuer_key(const struct kj_config *c, const struct kj_creds *cr, const char *key_id, const char *aud,
    unsigned max_age, unsigned max_uses, uint8_t key[KJ_DATA_KEY_LEN], uint8_t *edk, size_t *edk_len,
    struct kj_diag *d)
{
	struct kj_kv ctx[2] = { { "kmsjwt", "data-key" }, { "aud", aud } };
	uint8_t e[KJ_CACHE_ENTRY_MAX], h[32], *blob = NULL;
	char desc[128], hex[65];
	struct kj_diag cd;
	size_t len = 0, n, blob_len = 0, i;
	uint64_t created = 0, now = (uint64_t)time(NULL);
	uint32_t uses = 0;
	int reuse = max_age > 0 && max_uses > 0;
	kj_err err;

	if (kj_sha256_pair(key_id, strlen(key_id) + 1, aud, strlen(aud), h) != 0) {
		err = kj_fail(d, KJ_ERR_INTERNAL, "hash failed");
		goto out;
	}
	kj_hex(hex, h, 32);
	(void)kj_fmt(desc, sizeof(desc), "%s%s", KJ_ISSUER_PREFIX, hex);
	if (reuse && kj_cache_get(desc, e, sizeof(e), &len, &cd) == KJ_OK && len > 18 &&
	    memcmp(e, "KJI1", 4) == 0) {
		for (i = 0; i < 8; i++)
			created = created << 8 | e[4 + i];
		uses = (uint32_t)e[12] << 24 | (uint32_t)e[13] << 16 | (uint32_t)e[14] << 8 | e[15];
		n = (size_t)e[16] << 8 | e[17];
		if (n <= KJ_EDK_MAX && len == 18 + n + KJ_DATA_KEY_LEN + KJ_MAC_LEN && created <= now &&
		    now - created < max_age && uses < max_uses) {
			uint8_t mac[KJ_MAC_LEN];

			memcpy(key, e + 18 + n, KJ_DATA_KEY_LEN);
			if (kj_entry_mac(key, desc, e + 16, 2 + n, mac) == 0 &&
			    kj_memeq(mac, e + 18 + n + KJ_DATA_KEY_LEN, KJ_MAC_LEN)) {
				memcpy(edk, e + 18, n);
				*edk_len = n;
				uses++;
				e[12] = (uint8_t)(uses >> 24);
				e[13] = (uint8_t)(uses >> 16);
				e[14] = (uint8_t)(uses >> 8);
				e[15] = (uint8_t)uses;
				(void)kj_cache_put(desc, KJ_ISSUER_PREFIX, e, len, max_age, 1u << 20, &cd);
				err = KJ_OK;
				goto out;
			}
		}
	}
	/* A fresh data key. */
	err = kj_kms_generate_data_key(c, cr, key_id, ctx, 2, key, &blob, &blob_len, d);
	if (err != KJ_OK)
		goto out;
	if (blob_len > KJ_EDK_MAX) {
		err = kj_fail(d, KJ_ERR_UNAVAIL, "GenerateDataKey returned a %zu-byte wrapped key", blob_len);
		goto out;
	}
	memcpy(edk, blob, blob_len);
	*edk_len = blob_len;
	if (reuse) {
		memcpy(e, "KJI1", 4);
		for (i = 0; i < 8; i++)
			e[4 + i] = (uint8_t)(now >> (56 - 8 * i));
		memset(e + 12, 0, 3);
		e[15] = 1;
		e[16] = (uint8_t)(blob_len >> 8);
		e[17] = (uint8_t)blob_len;
		memcpy(e + 18, blob, blob_len);
		memcpy(e + 18 + blob_len, key, KJ_DATA_KEY_LEN);
		if (kj_entry_mac(key, desc, e + 16, 2 + blob_len, e + 18 + blob_len + KJ_DATA_KEY_LEN) == 0)
			(void)kj_cache_put(desc, KJ_ISSUER_PREFIX, e, 18 + blob_len + KJ_DATA_KEY_LEN + KJ_MAC_LEN,
			    max_age, 1u << 20, &cd);
	}
	err = KJ_OK;
out:
	free(blob);
	explicit_bzero(e, sizeof(e));
	return err;
}

kj_err
kj_envelope_seal(const struct kj_config *c, const struct kj_creds *cr, const char *key_id, const char *aud,
    const char *s, const uint8_t *pt, size_t pt_len, unsigned max_age, unsigned max_uses, uint8_t **sealed,
    size_t *sealed_len, struct kj_diag *d)
{
	uint8_t key[KJ_DATA_KEY_LEN], edk[KJ_EDK_MAX], *out = NULL;
	size_t edk_len = 0, n = 0;
	kj_err err;

	*sealed = NULL;
	*sealed_len = 0;
	err = kj_issuer_key(c, cr, key_id, aud, max_age, max_uses, key, edk, &edk_len, d);
	if (err != KJ_OK)
		goto out;
	n = 2 + edk_len + KJ_GCM_IV_LEN + pt_len + KJ_GCM_TAG_LEN;
	out = malloc(n);
	if (out == NULL) {
		err = kj_fail(d, KJ_ERR_NOMEM, "out of memory");
		goto out;
	}
	out[0] = (uint8_t)(edk_len >> 8);
	out[1] = (uint8_t)edk_len;
	memcpy(out + 2, edk, edk_len);
	/* A random 96-bit IV per token: with a data key used for at most
	 * max_uses tokens the collision odds stay negligible. */
	if (kj_random(out + 2 + edk_len, KJ_GCM_IV_LEN) != 0) {
		err = kj_fail(d, KJ_ERR_INTERNAL, "no randomness for the IV");
		goto out;
	}
	kj_gcm_seal(key, out + 2 + edk_len, s, strlen(s), pt, pt_len, out + 2 + edk_len + KJ_GCM_IV_LEN,
	    out + n - KJ_GCM_TAG_LEN);
	*sealed = out;
	*sealed_len = n;
	out = NULL;
	err = KJ_OK;
out:
	explicit_bzero(key, sizeof(key));
	free(out);
	return err;
}
