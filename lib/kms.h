/* AWS KMS JSON API: Decrypt, Encrypt, and a generic call for tools. */
#ifndef KJ_KMS_H
#define KJ_KMS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "creds.h"
#include "kj.h"

#define KJ_KMS_RESP_MAX 65536
#define KJ_KMS_CONTEXT_MAX 4
#define KJ_KMS_MAX_ATTEMPTS 5 /* and never past the timeout budget */

struct kj_kv {
	const char *key;
	const char *value;
};

/* Sign and send one request (action "Decrypt", "Encrypt", ...), retrying
 * with capped exponential backoff and full jitter (kj_kms_retryable,
 * connection failures) while the budget lasts: c->timeout_ms minus what
 * fetching cr took (cr->fetch_ms). On HTTP 200 *resp is the parsed JSON
 * object. Every failure reason names the KMS request id ("-" if none).
 * KMS errors are classified by __type: refusals of the token (InvalidCiphertext, IncorrectKey, AccessDenied, a
 * disabled or missing key) are KJ_ERR_DENIED; throttling, 5xx, transport and
 * credential problems are KJ_ERR_UNAVAIL. */
kj_err kj_kms_call(const struct kj_config *c, const struct kj_creds *cr, const char *action,
    json_t *req, json_t **resp, struct kj_diag *d);

/* Decrypt blob under key_id (NULL: let KMS pick from the blob) with the
 * given encryption context. On success *pt (wiped and freed by the caller
 * with kj_free_secret) holds at most max_pt bytes, and key_arn the key KMS
 * used. */
kj_err kj_kms_decrypt(const struct kj_config *c, const struct kj_creds *cr, const uint8_t *blob,
    size_t blob_len, const struct kj_kv *ctx, size_t n_ctx, const char *key_id, size_t max_pt,
    uint8_t **pt, size_t *pt_len, char *key_arn, size_t key_arn_size, struct kj_diag *d);

kj_err kj_kms_encrypt(const struct kj_config *c, const struct kj_creds *cr, const char *key_id,
    const uint8_t *pt, size_t pt_len, const struct kj_kv *ctx, size_t n_ctx, uint8_t **blob,
    size_t *blob_len, struct kj_diag *d);

/* GenerateDataKey(KeyId, AES_256, ctx): the 32-byte key (caller wipes) and
 * its wrapped form (*blob, heap). */
kj_err kj_kms_generate_data_key(const struct kj_config *c, const struct kj_creds *cr, const char *key_id,
    const struct kj_kv *ctx, size_t n_ctx, uint8_t key[32], uint8_t **blob, size_t *blob_len,
    struct kj_diag *d);

/* Classify a KMS error type (after any '#' prefix) and HTTP status. */
kj_err kj_kms_classify(long status, const char *type);

/* 1 if the request is worth sending again: ThrottlingException,
 * KMSInternalException, KeyUnavailableException, DependencyTimeoutException,
 * or HTTP 500/502/503/504 unless the type refuses the token. */
int kj_kms_retryable(long status, const char *type);

#endif
