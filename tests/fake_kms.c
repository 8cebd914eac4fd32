/* An in-process fake of KMS for the hostile-input catalogue, the replay
 * race, allocation-failure injection and the fuzzers. Linked with
 * -Wl,--wrap=kj_http_post,--wrap=kj_http_request, so lib/kms.c's requests
 * land here instead of on the network.
 *
 * Ciphertext: "KJFK" | key index (1 byte) | HMAC-SHA256(K, index |
 * canonical context JSON | NUL | plaintext) | plaintext. Like KMS, Decrypt
 * refuses a blob whose context or key differs from Encrypt's. */
#include <dlfcn.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../lib/b64.h"
#include "../lib/http.h"
#include "fake_kms.h"

#define KJ_FAKE_TAG 32
#define KJ_FAKE_HDR (4 + 1 + KJ_FAKE_TAG)

static const char *const kj_fake_keys[] = { KJ_FAKE_KEY1, KJ_FAKE_KEY2, KJ_FAKE_KEY3 };
static const unsigned char kj_fake_secret[] = "pam_kmsjwt fake KMS key, tests only";

kj_err __wrap_kj_http_post(const char *url, const struct kj_header *hdrs, size_t n_hdrs,
    const char *body, size_t body_len, int64_t timeout_ms, size_t max_resp, struct kj_http_resp *r,
    struct kj_diag *d);
kj_err __wrap_kj_http_request(const struct kj_http_req *q, struct kj_http_resp *r, struct kj_diag *d);

static void
kj_fake_count(void)
{
	unsigned long *counter = dlsym(RTLD_DEFAULT, "kj_fake_kms_calls");

	if (counter != NULL)
		(*counter)++;
}

/* Key index from an ARN or a bare key id; -1 if unknown. */
static int
kj_fake_key(const char *id)
{
	size_t i;

	for (i = 0; i < sizeof(kj_fake_keys) / sizeof(kj_fake_keys[0]); i++) {
		const char *slash = strrchr(kj_fake_keys[i], '/');

		if (strcmp(id, kj_fake_keys[i]) == 0 || strcmp(id, slash + 1) == 0)
			return (int)i;
	}
	return -1;
}

static int
kj_fake_tag(int idx, json_t *ctx, const uint8_t *pt, size_t pt_len, unsigned char tag[KJ_FAKE_TAG])
{
	char *cj = ctx != NULL ? json_dumps(ctx, JSON_COMPACT | JSON_SORT_KEYS) : strdup("{}");
	size_t cl, n;
	unsigned char *msg;
	unsigned int tl = 0;
	int rc = -1;

	if (cj == NULL)
		return -1;
	cl = strlen(cj);
	n = 1 + cl + 1 + pt_len;
	msg = malloc(n);
	if (msg != NULL) {
		msg[0] = (unsigned char)idx;
		memcpy(msg + 1, cj, cl);
		msg[1 + cl] = 0;
		if (pt_len > 0)
			memcpy(msg + 2 + cl, pt, pt_len);
		if (HMAC(EVP_sha256(), kj_fake_secret, (int)sizeof(kj_fake_secret), msg, n, tag, &tl) != NULL &&
		    tl == KJ_FAKE_TAG)
			rc = 0;
		free(msg);
	}
	free(cj);
	return rc;
}

static json_t *
kj_fake_error(long *status, long code, const char *type)
{
	*status = code;
	return json_pack("{s:s,s:s}", "__type", type, "message", "fake KMS");
}

/* Encrypt, or GenerateDataKey (a fresh 32-byte plaintext, returned too). */
static json_t *
kj_fake_encrypt(json_t *req, int gen, long *status)
{
	json_t *kid = json_object_get(req, "KeyId"), *ptj = json_object_get(req, "Plaintext");
	unsigned char tag[KJ_FAKE_TAG];
	uint8_t *pt = NULL, *blob;
	size_t pt_len = 0;
	char *b64, *ptb64 = NULL;
	json_t *out = NULL;
	int idx;

	if (!json_is_string(kid) || (idx = kj_fake_key(json_string_value(kid))) < 0)
		return kj_fake_error(status, 400, "NotFoundException");
	if (gen) {
		pt_len = 32;
		pt = malloc(pt_len);
		if (pt == NULL || RAND_bytes(pt, (int)pt_len) != 1 ||
		    (ptb64 = kj_b64_encode_alloc(KJ_B64STD, pt, pt_len)) == NULL) {
			kj_free_secret(pt, pt_len);
			return NULL;
		}
	} else if (!json_is_string(ptj) ||
	    kj_b64_decode(KJ_B64STD, json_string_value(ptj), json_string_length(ptj), &pt, &pt_len) != 0) {
		return kj_fake_error(status, 400, "ValidationException");
	}
	if (kj_fake_tag(idx, json_object_get(req, "EncryptionContext"), pt, pt_len, tag) != 0 ||
	    (blob = malloc(KJ_FAKE_HDR + pt_len)) == NULL) {
		kj_free_secret(pt, pt_len);
		if (ptb64 != NULL)
			kj_free_secret_str(ptb64);
		return NULL;
	}
	memcpy(blob, "KJFK", 4);
	blob[4] = (uint8_t)idx;
	memcpy(blob + 5, tag, KJ_FAKE_TAG);
	if (pt_len > 0)
		memcpy(blob + KJ_FAKE_HDR, pt, pt_len);
	b64 = kj_b64_encode_alloc(KJ_B64STD, blob, KJ_FAKE_HDR + pt_len);
	if (b64 != NULL)
		out = json_pack("{s:s,s:s}", "CiphertextBlob", b64, "KeyId", kj_fake_keys[idx]);
	if (out != NULL && ptb64 != NULL && json_object_set_new(out, "Plaintext", json_string(ptb64)) != 0) {
		json_decref(out);
		out = NULL;
	}
	*status = 200;
	free(b64);
	free(blob);
	kj_free_secret(pt, pt_len);
	if (ptb64 != NULL)
		kj_free_secret_str(ptb64);
	return out;
}

static json_t *
kj_fake_decrypt(json_t *req, long *status)
{
	json_t *kid = json_object_get(req, "KeyId"), *cb = json_object_get(req, "CiphertextBlob");
	const char *mode = getenv("KJ_FAKE_KMS");
	unsigned char tag[KJ_FAKE_TAG];
	uint8_t *blob = NULL;
	size_t blob_len = 0;
	char *b64 = NULL;
	json_t *out = NULL;
	int idx, want = -1;

	if (kid != NULL) {
		if (!json_is_string(kid) || (want = kj_fake_key(json_string_value(kid))) < 0)
			return kj_fake_error(status, 400, "NotFoundException");
	}
	if (json_is_true(json_object_get(req, "DryRun")))
		return kj_fake_error(status, 412, "DryRunOperationException");
	if (!json_is_string(cb) ||
	    kj_b64_decode(KJ_B64STD, json_string_value(cb), json_string_length(cb), &blob, &blob_len) != 0)
		return kj_fake_error(status, 400, "ValidationException");
	if (blob_len < KJ_FAKE_HDR || memcmp(blob, "KJFK", 4) != 0 || blob[4] >= 3) {
		out = kj_fake_error(status, 400, "InvalidCiphertextException");
		goto out;
	}
	idx = blob[4];
	if (want >= 0 && want != idx) {
		out = kj_fake_error(status, 400, "IncorrectKeyException");
		goto out;
	}
	if (idx == 2) { /* the third key is disabled */
		out = kj_fake_error(status, 400, "DisabledException");
		goto out;
	}
	if (kj_fake_tag(idx, json_object_get(req, "EncryptionContext"), blob + KJ_FAKE_HDR,
	    blob_len - KJ_FAKE_HDR, tag) != 0)
		goto out;
	if ((mode == NULL || strcmp(mode, "open") != 0) && CRYPTO_memcmp(tag, blob + 5, KJ_FAKE_TAG) != 0) {
		out = kj_fake_error(status, 400, "InvalidCiphertextException");
		goto out;
	}
	b64 = kj_b64_encode_alloc(KJ_B64STD, blob + KJ_FAKE_HDR, blob_len - KJ_FAKE_HDR);
	if (b64 != NULL)
		out = json_pack("{s:s,s:s,s:s}", "KeyId", kj_fake_keys[idx], "Plaintext", b64,
		    "EncryptionAlgorithm", "SYMMETRIC_DEFAULT");
	*status = 200;
out:
	if (b64 != NULL)
		kj_free_secret_str(b64);
	kj_free_secret(blob, blob_len);
	return out;
}

static kj_err
kj_fake_kms(const struct kj_header *hdrs, size_t n_hdrs, const char *body, size_t body_len,
    size_t max_resp, struct kj_http_resp *r, struct kj_diag *d)
{
	const char *target = "", *mode = getenv("KJ_FAKE_KMS");
	static unsigned long seq;
	json_t *req = NULL, *resp = NULL;
	struct tm tm;
	time_t now = time(NULL);
	char *text = NULL;
	size_t i;
	kj_err err;

	memset(r, 0, sizeof(*r));
	kj_fake_count();
	(void)kj_fmt(r->request_id, sizeof(r->request_id), "fake-%lu", ++seq);
	if (gmtime_r(&now, &tm) != NULL)
		(void)strftime(r->date, sizeof(r->date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	for (i = 0; i < n_hdrs; i++) {
		if (strcasecmp(hdrs[i].name, "X-Amz-Target") == 0)
			target = hdrs[i].value;
	}
	req = json_loadb(body, body_len, 0, NULL);
	if (mode != NULL && strcmp(mode, "throttle") == 0)
		resp = kj_fake_error(&r->status, 400, "ThrottlingException");
	else if (mode != NULL && strcmp(mode, "500") == 0)
		resp = kj_fake_error(&r->status, 500, "KMSInternalException");
	else if (!json_is_object(req))
		resp = kj_fake_error(&r->status, 400, "SerializationException");
	else if (strcmp(target, "TrentService.Encrypt") == 0)
		resp = kj_fake_encrypt(req, 0, &r->status);
	else if (strcmp(target, "TrentService.GenerateDataKey") == 0)
		resp = kj_fake_encrypt(req, 1, &r->status);
	else if (strcmp(target, "TrentService.Decrypt") == 0)
		resp = kj_fake_decrypt(req, &r->status);
	else
		resp = kj_fake_error(&r->status, 400, "UnknownOperationException");
	if (resp == NULL || (text = json_dumps(resp, JSON_COMPACT)) == NULL) {
		err = kj_fail(d, KJ_ERR_NOMEM, "fake KMS: out of memory");
		goto out;
	}
	r->len = strlen(text);
	if (r->len > max_resp) {
		err = kj_fail(d, KJ_ERR_UNAVAIL, "KMS response larger than %zu bytes", max_resp);
		goto out;
	}
	r->body = text;
	text = NULL;
	err = KJ_OK;
out:
	if (text != NULL)
		kj_free_secret_str(text);
	if (resp != NULL) {
		json_t *p = json_object_get(resp, "Plaintext");

		if (json_is_string(p))
			explicit_bzero((char *)json_string_value(p), json_string_length(p));
	}
	json_decref(resp);
	json_decref(req);
	if (err != KJ_OK) {
		r->body = NULL;
		r->len = 0;
	}
	return err;
}

kj_err
__wrap_kj_http_post(const char *url, const struct kj_header *hdrs, size_t n_hdrs, const char *body,
    size_t body_len, int64_t timeout_ms, size_t max_resp, struct kj_http_resp *r, struct kj_diag *d)
{
	(void)url;
	(void)timeout_ms;
	return kj_fake_kms(hdrs, n_hdrs, body, body_len, max_resp, r, d);
}

kj_err
__wrap_kj_http_request(const struct kj_http_req *q, struct kj_http_resp *r, struct kj_diag *d)
{
	return kj_fake_kms(q->hdrs, q->n_hdrs, q->body, q->body_len, q->max_resp, r, d);
}
