/* KMS requests: JSON bodies, SigV4, error classification. */
#include "kms.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "b64.h"
#include "http.h"
#include "sigv4.h"

static const char *const kj_kms_denied[] = {
	"InvalidCiphertextException", "IncorrectKeyException", "AccessDeniedException",
	"NotFoundException", "DisabledException", "KMSInvalidStateException",
	"InvalidKeyUsageException", "InvalidGrantTokenException", "ValidationException",
};

static const char *const kj_kms_unavail[] = {
	"ThrottlingException", "KMSInternalException", "KeyUnavailableException",
	"DependencyTimeoutException", "LimitExceededException", "UnrecognizedClientException",
	"InvalidSignatureException", "IncompleteSignature", "MissingAuthenticationToken",
	"ExpiredTokenException", "RequestExpired", "InvalidClientTokenId", "ServiceUnavailable",
};

kj_err
kj_kms_classify(long status, const char *type)
{
	size_t i;

	for (i = 0; i < sizeof(kj_kms_unavail) / sizeof(kj_kms_unavail[0]); i++) {
		if (strcmp(type, kj_kms_unavail[i]) == 0)
			return KJ_ERR_UNAVAIL;
	}
	for (i = 0; i < sizeof(kj_kms_denied) / sizeof(kj_kms_denied[0]); i++) {
		if (strcmp(type, kj_kms_denied[i]) == 0)
			return KJ_ERR_DENIED;
	}
	/* Unknown: a server-side problem is worth a fallback, anything the
	 * server blames on the request refuses the token. */
	return status >= 500 || status < 400 ? KJ_ERR_UNAVAIL : KJ_ERR_DENIED;
}

static kj_err
kj_kms_error(const struct kj_http_resp *r, struct kj_diag *d)
{
	json_t *j = json_loadb(r->body, r->len, 0, NULL);
	const char *type = "", *msg = "";
	char stype[64], smsg[96];
	kj_err err;

	if (j != NULL && json_is_object(j)) {
		json_t *t = json_object_get(j, "__type");
		json_t *m = json_object_get(j, "message");

		if (m == NULL)
			m = json_object_get(j, "Message");
		if (json_is_string(t)) {
			const char *hash = strrchr(json_string_value(t), '#');

			type = hash != NULL ? hash + 1 : json_string_value(t);
		}
		if (json_is_string(m))
			msg = json_string_value(m);
	}
	kj_sanitize(stype, sizeof(stype), *type ? type : "no error type");
	kj_sanitize(smsg, sizeof(smsg), msg);
	err = kj_kms_classify(r->status, type);
	if (strcmp(type, "RequestExpired") == 0 || strcmp(type, "InvalidSignatureException") == 0)
		err = kj_fail(d, err, "KMS HTTP %ld %s: check this host's clock (KMS Date: %s) and credentials; request id %s",
		    r->status, stype, r->date[0] ? r->date : "-", r->request_id[0] ? r->request_id : "-");
	else
		err = kj_fail(d, err, "KMS HTTP %ld %s%s%s; request id %s", r->status, stype, *smsg ? ": " : "",
		    smsg, r->request_id[0] ? r->request_id : "-");
	json_decref(j);
	return err;
}

kj_err
kj_kms_call(const struct kj_config *c, const struct kj_creds *cr, const char *action, json_t *req,
    json_t **resp, struct kj_diag *d)
{
	struct kj_header h[7];
	struct kj_http_resp r;
	char amz_date[17], target[64], authz[KJ_AUTHZ_MAX];
	char *body = NULL;
	size_t n = 0, body_len = 0;
	json_t *j = NULL;
	kj_err err;

	*resp = NULL;
	memset(&r, 0, sizeof(r));
	body = json_dumps(req, JSON_COMPACT);
	if (body == NULL) {
		err = kj_fail(d, KJ_ERR_NOMEM, "cannot encode KMS request");
		goto out;
	}
	body_len = strlen(body);
	if (kj_amz_date(time(NULL), amz_date) != 0 ||
	    kj_fmt(target, sizeof(target), "TrentService.%s", action) != 0) {
		err = kj_fail(d, KJ_ERR_INTERNAL, "cannot format request headers");
		goto out;
	}
	h[n++] = (struct kj_header){ "Content-Type", "application/x-amz-json-1.1" };
	h[n++] = (struct kj_header){ "Host", c->host_header };
	h[n++] = (struct kj_header){ "X-Amz-Date", amz_date };
	h[n++] = (struct kj_header){ "X-Amz-Target", target };
	if (cr->session_token[0] != '\0')
		h[n++] = (struct kj_header){ "X-Amz-Security-Token", cr->session_token };
	err = kj_sigv4_authorization("POST", "/", h, n, body, body_len, cr->access_key_id,
	    cr->secret_access_key, c->region, "kms", amz_date, authz, sizeof(authz), d);
	if (err != KJ_OK)
		goto out;
	h[n++] = (struct kj_header){ "Authorization", authz };
	err = kj_http_post(c->url, h, n, body, body_len, c->timeout_ms, KJ_KMS_RESP_MAX, &r, d);
	if (err != KJ_OK)
		goto out;
	if (r.status != 200) {
		err = kj_kms_error(&r, d);
		goto out;
	}
	j = json_loadb(r.body, r.len, 0, NULL);
	if (j == NULL || !json_is_object(j)) {
		err = kj_fail(d, KJ_ERR_UNAVAIL, "KMS answered HTTP 200 with a body that is not a JSON object; request id %s",
		    r.request_id[0] ? r.request_id : "-");
		goto out;
	}
	*resp = j;
	j = NULL;
	err = KJ_OK;
out:
	json_decref(j);
	kj_http_resp_free(&r);
	if (body != NULL)
		kj_free_secret(body, body_len); /* Encrypt requests carry plaintext */
	return err;
}

static json_t *
kj_context_json(const struct kj_kv *ctx, size_t n)
{
	json_t *o = json_object();
	size_t i;

	if (o == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (json_object_set_new(o, ctx[i].key, json_string(ctx[i].value)) != 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

/* A base64 field of a KMS response, decoded; at most max bytes. */
static kj_err
kj_b64_field(json_t *resp, const char *name, size_t max, uint8_t **out, size_t *out_len,
    struct kj_diag *d)
{
	json_t *v = json_object_get(resp, name);

	if (!json_is_string(v))
		return kj_fail(d, KJ_ERR_UNAVAIL, "KMS response has no %s", name);
	if (kj_b64_decode(KJ_B64STD, json_string_value(v), json_string_length(v), out, out_len) != 0)
		return kj_fail(d, KJ_ERR_UNAVAIL, "KMS response %s is not base64", name);
	if (*out_len > max) {
		kj_free_secret(*out, *out_len);
		*out = NULL;
		return kj_fail(d, KJ_ERR_PAYLOAD, "KMS %s is longer than %zu bytes", name, max);
	}
	return KJ_OK;
}

kj_err
kj_kms_decrypt(const struct kj_config *c, const struct kj_creds *cr, const uint8_t *blob,
    size_t blob_len, const struct kj_kv *ctx, size_t n_ctx, const char *key_id, size_t max_pt,
    uint8_t **pt, size_t *pt_len, char *key_arn, size_t key_arn_size, struct kj_diag *d)
{
	json_t *req = NULL, *resp = NULL, *kid;
	char *b64 = NULL;
	kj_err err;

	*pt = NULL;
	*pt_len = 0;
	key_arn[0] = '\0';
	b64 = kj_b64_encode_alloc(KJ_B64STD, blob, blob_len);
	req = json_object();
	if (b64 == NULL || req == NULL ||
	    json_object_set_new(req, "CiphertextBlob", json_string(b64)) != 0 ||
	    json_object_set_new(req, "EncryptionContext", kj_context_json(ctx, n_ctx)) != 0 ||
	    (key_id != NULL && json_object_set_new(req, "KeyId", json_string(key_id)) != 0)) {
		err = kj_fail(d, KJ_ERR_NOMEM, "cannot build Decrypt request");
		goto out;
	}
	err = kj_kms_call(c, cr, "Decrypt", req, &resp, d);
	if (err != KJ_OK)
		goto out;
	kid = json_object_get(resp, "KeyId");
	if (!json_is_string(kid) || kj_strlcpy(key_arn, json_string_value(kid), key_arn_size) != 0) {
		err = kj_fail(d, KJ_ERR_UNAVAIL, "KMS Decrypt response has no usable KeyId");
		goto out;
	}
	err = kj_b64_field(resp, "Plaintext", max_pt, pt, pt_len, d);
out:
	if (resp != NULL) {
		/* The response object holds the plaintext's base64 form. */
		json_t *p = json_object_get(resp, "Plaintext");

		if (json_is_string(p))
			explicit_bzero((char *)json_string_value(p), json_string_length(p));
	}
	json_decref(resp);
	json_decref(req);
	free(b64);
	return err;
}

kj_err
kj_kms_encrypt(const struct kj_config *c, const struct kj_creds *cr, const char *key_id,
    const uint8_t *pt, size_t pt_len, const struct kj_kv *ctx, size_t n_ctx, uint8_t **blob,
    size_t *blob_len, struct kj_diag *d)
{
	json_t *req = NULL, *resp = NULL;
	char *b64 = NULL;
	kj_err err;

	*blob = NULL;
	*blob_len = 0;
	b64 = kj_b64_encode_alloc(KJ_B64STD, pt, pt_len);
	req = json_object();
	if (b64 == NULL || req == NULL || json_object_set_new(req, "KeyId", json_string(key_id)) != 0 ||
	    json_object_set_new(req, "Plaintext", json_string(b64)) != 0 ||
	    json_object_set_new(req, "EncryptionContext", kj_context_json(ctx, n_ctx)) != 0) {
		err = kj_fail(d, KJ_ERR_NOMEM, "cannot build Encrypt request");
		goto out;
	}
	err = kj_kms_call(c, cr, "Encrypt", req, &resp, d);
	if (err != KJ_OK)
		goto out;
	err = kj_b64_field(resp, "CiphertextBlob", 6144, blob, blob_len, d);
out:
	if (req != NULL) {
		json_t *p = json_object_get(req, "Plaintext");

		if (json_is_string(p))
			explicit_bzero((char *)json_string_value(p), json_string_length(p));
	}
	json_decref(resp);
	json_decref(req);
	if (b64 != NULL)
		kj_free_secret_str(b64);
	return err;
}
