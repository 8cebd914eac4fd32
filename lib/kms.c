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
	"SignatureDoesNotMatch", "ExpiredToken", "InvalidToken",
};

/* Worth another attempt within the budget: the same request may succeed. */
static const char *const kj_kms_retry[] = {
	"ThrottlingException", "KMSInternalException", "KeyUnavailableException",
	"DependencyTimeoutException",
};

static int
kj_in(const char *type, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcmp(type, list[i]) == 0)
			return 1;
	}
	return 0;
}

#define KJ_IN(type, list) kj_in((type), (list), sizeof(list) / sizeof((list)[0]))

kj_err
kj_kms_classify(long status, const char *type)
{
	if (KJ_IN(type, kj_kms_unavail))
		return KJ_ERR_UNAVAIL;
	if (KJ_IN(type, kj_kms_denied))
		return KJ_ERR_DENIED;
	/* Unknown: a server-side problem is worth a fallback, anything the
	 * server blames on the request refuses the token. */
	return status >= 500 || status < 400 ? KJ_ERR_UNAVAIL : KJ_ERR_DENIED;
}

int
kj_kms_retryable(long status, const char *type)
{
	if (KJ_IN(type, kj_kms_denied))
		return 0;
	if (KJ_IN(type, kj_kms_retry))
		return 1;
	return status == 500 || status == 502 || status == 503 || status == 504;
}

/* Seconds the server's Date (IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT")
 * is ahead of this host; 0 with *ok = 0 if absent or unparsable. Parsed by
 * hand: strptime's %b follows the locale, which sudo sets. */
static int64_t
kj_clock_skew(const char *date, int *ok)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	struct tm tm;
	const char *m;
	int64_t v[5];
	char num[5];
	/* offsets and widths of day, year, hour, minute, second */
	static const size_t off[5] = { 5, 12, 17, 20, 23 }, wid[5] = { 2, 4, 2, 2, 2 };
	size_t i;
	time_t t;

	*ok = 0;
	if (strlen(date) != 29 || strcmp(date + 25, " GMT") != 0)
		return 0;
	for (i = 0; i < 5; i++) {
		memcpy(num, date + off[i], wid[i]);
		num[wid[i]] = '\0';
		if (kj_parse_i64(num, 0, 9999, &v[i]) != 0)
			return 0;
	}
	memcpy(num, date + 8, 3);
	num[3] = '\0';
	m = strstr(months, num);
	if (m == NULL || (m - months) % 3 != 0)
		return 0;
	memset(&tm, 0, sizeof(tm));
	tm.tm_mday = (int)v[0];
	tm.tm_mon = (int)((m - months) / 3);
	tm.tm_year = (int)v[1] - 1900;
	tm.tm_hour = (int)v[2];
	tm.tm_min = (int)v[3];
	tm.tm_sec = (int)v[4];
	t = timegm(&tm);
	if (t == (time_t)-1)
		return 0;
	*ok = 1;
	return (int64_t)t - (int64_t)time(NULL);
}

#define KJ_SKEW_WARN_S 300

/* KMS refused the credentials themselves: a cached copy must go. */
static const char *const kj_kms_bad_creds[] = {
	"ExpiredTokenException", "ExpiredToken", "UnrecognizedClientException", "InvalidClientTokenId",
	"InvalidToken", "SignatureDoesNotMatch",
};

static kj_err
kj_kms_error(const struct kj_http_resp *r, int *retry, int *bad_creds, struct kj_diag *d)
{
	json_t *j = json_loadb(r->body, r->len, 0, NULL);
	const char *type = "", *msg = "";
	char stype[64], smsg[96], xcode[64], clock[96];
	int64_t skew;
	int skew_ok;
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
	} else if (kj_xml_text(r->body, r->len, "Code", xcode, sizeof(xcode)) == 0) {
		type = xcode; /* an XML error from a front end (or an emulator) */
	}
	kj_sanitize(stype, sizeof(stype), *type ? type : "no error type");
	kj_sanitize(smsg, sizeof(smsg), msg);
	err = kj_kms_classify(r->status, type);
	*retry = kj_kms_retryable(r->status, type);
	*bad_creds = KJ_IN(type, kj_kms_bad_creds);
	skew = kj_clock_skew(r->date, &skew_ok);
	clock[0] = '\0';
	if (skew_ok && (skew > KJ_SKEW_WARN_S || skew < -KJ_SKEW_WARN_S))
		(void)kj_fmt(clock, sizeof(clock), " (this host's clock is %lld s %s KMS's)",
		    (long long)(skew < 0 ? -skew : skew), skew < 0 ? "ahead of" : "behind");
	if (strcmp(type, "RequestExpired") == 0 || strcmp(type, "InvalidSignatureException") == 0)
		err = kj_fail(d, err, "KMS HTTP %ld %s: clock problem? check this host's clock%s (KMS Date: %s) and credentials; request id %s",
		    r->status, stype, clock, r->date[0] ? r->date : "-", r->request_id[0] ? r->request_id : "-");
	else
		err = kj_fail(d, err, "KMS HTTP %ld %s%s%s%s; request id %s", r->status, stype, *smsg ? ": " : "",
		    smsg, clock, r->request_id[0] ? r->request_id : "-");
	json_decref(j);
	return err;
}

/* One signed attempt. */
static kj_err
kj_kms_attempt(const struct kj_config *c, const struct kj_creds *cr, const char *target, const char *body,
    size_t body_len, int64_t deadline, struct kj_http_resp *r, struct kj_diag *d)
{
	struct kj_header h[7];
	struct kj_http_req q;
	char amz_date[17], authz[KJ_AUTHZ_MAX];
	size_t n = 0;
	kj_err err;

	/* Signed afresh each time: a retry after a long backoff must not
	 * carry a stale X-Amz-Date. */
	if (kj_amz_date(time(NULL), amz_date) != 0)
		return kj_fail(d, KJ_ERR_INTERNAL, "cannot format request headers");
	h[n++] = (struct kj_header){ "Content-Type", "application/x-amz-json-1.1" };
	h[n++] = (struct kj_header){ "Host", c->host_header };
	h[n++] = (struct kj_header){ "X-Amz-Date", amz_date };
	h[n++] = (struct kj_header){ "X-Amz-Target", target };
	if (cr->session_token[0] != '\0')
		h[n++] = (struct kj_header){ "X-Amz-Security-Token", cr->session_token };
	err = kj_sigv4_authorization("POST", "/", h, n, body, body_len, cr->access_key_id,
	    cr->secret_access_key, c->region, "kms", amz_date, authz, sizeof(authz), d);
	if (err != KJ_OK)
		return err;
	h[n++] = (struct kj_header){ "Authorization", authz };
	memset(&q, 0, sizeof(q));
	q.method = "POST";
	q.url = c->url;
	q.hdrs = h;
	q.n_hdrs = n;
	q.body = body;
	q.body_len = body_len;
	q.timeout_ms = deadline - kj_mono_ms();
	q.budget_ms = c->timeout_ms;
	q.max_resp = KJ_KMS_RESP_MAX;
	q.ca_file = c->ca_file;
	q.ca_path = c->ca_path;
	q.proxy = c->proxy;
	q.what = "KMS";
	return kj_http_request(&q, r, d);
}

static kj_err
kj_kms_call_rid(const struct kj_config *c, const struct kj_creds *cr, const char *action, json_t *req,
    json_t **resp, char *rid, size_t rid_size, struct kj_diag *d)
{
	struct kj_http_resp r;
	char target[64];
	char *body = NULL;
	size_t body_len = 0;
	int64_t start = kj_mono_ms(), deadline;
	unsigned attempt;
	int transport = 0;
	json_t *j = NULL;
	kj_err err;

	*resp = NULL;
	(void)kj_strlcpy(rid, "-", rid_size);
	memset(&r, 0, sizeof(r));
	/* Credentials fetched over the network used part of the budget. */
	deadline = start + c->timeout_ms - (cr->fetch_ms > 0 ? cr->fetch_ms : 0);
	body = json_dumps(req, JSON_COMPACT);
	if (body == NULL) {
		err = kj_fail(d, KJ_ERR_NOMEM, "cannot encode KMS request");
		goto out;
	}
	body_len = strlen(body);
	if (kj_fmt(target, sizeof(target), "TrentService.%s", action) != 0) {
		err = kj_fail(d, KJ_ERR_INTERNAL, "cannot format request headers");
		goto out;
	}
	for (attempt = 1;; attempt++) {
		int retry = 0;

		kj_http_resp_free(&r);
		err = kj_kms_attempt(c, cr, target, body, body_len, deadline, &r, d);
		if (r.request_id[0] != '\0')
			(void)kj_strlcpy(rid, r.request_id, rid_size);
		if (err == KJ_OK && r.status == 200)
			break;
		transport = err != KJ_OK;
		if (err == KJ_OK) {
			int bad_creds = 0;

			err = kj_kms_error(&r, &retry, &bad_creds, d);
			if (bad_creds)
				kj_creds_cache_drop(cr);
		} else {
			retry = r.retryable;
		}
		if (!retry || attempt >= KJ_KMS_MAX_ATTEMPTS || kj_backoff(attempt, deadline) != 0)
			break;
	}
	if (err != KJ_OK) {
		char inner[KJ_REASON_MAX];

		(void)kj_strlcpy(inner, d->reason, sizeof(inner));
		if (attempt > 1 || transport)
			(void)kj_fail(d, err, "%s%s%s (%u attempt%s in %lld ms)", inner,
			    transport ? "; request id " : "", transport ? rid : "", attempt, attempt > 1 ? "s" : "",
			    (long long)(kj_mono_ms() - start));
		goto out;
	}
	j = json_loadb(r.body, r.len, 0, NULL);
	if (j == NULL || !json_is_object(j)) {
		err = kj_fail(d, KJ_ERR_UNAVAIL, "KMS answered HTTP 200 with a body that is not a JSON object; request id %s",
		    rid);
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

kj_err
kj_kms_call(const struct kj_config *c, const struct kj_creds *cr, const char *action, json_t *req,
    json_t **resp, struct kj_diag *d)
{
	char rid[96];

	return kj_kms_call_rid(c, cr, action, req, resp, rid, sizeof(rid), d);
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
kj_b64_field(json_t *resp, const char *name, size_t max, const char *rid, uint8_t **out, size_t *out_len,
    struct kj_diag *d)
{
	json_t *v = json_object_get(resp, name);

	if (!json_is_string(v))
		return kj_fail(d, KJ_ERR_UNAVAIL, "KMS response has no %s; request id %s", name, rid);
	if (kj_b64_decode(KJ_B64STD, json_string_value(v), json_string_length(v), out, out_len) != 0)
		return kj_fail(d, KJ_ERR_UNAVAIL, "KMS response %s is not base64; request id %s", name, rid);
	if (*out_len > max) {
		kj_free_secret(*out, *out_len);
		*out = NULL;
		return kj_fail(d, KJ_ERR_PAYLOAD, "KMS %s is longer than %zu bytes; request id %s", name, max, rid);
	}
	return KJ_OK;
}

/* Wipe a string member (a plaintext's base64 form) before jansson frees it. */
static void
kj_wipe_member(json_t *obj, const char *name)
{
	json_t *p = json_object_get(obj, name);

	if (json_is_string(p))
		explicit_bzero((char *)json_string_value(p), json_string_length(p));
}

kj_err
kj_kms_decrypt(const struct kj_config *c, const struct kj_creds *cr, const uint8_t *blob,
    size_t blob_len, const struct kj_kv *ctx, size_t n_ctx, const char *key_id, size_t max_pt,
    uint8_t **pt, size_t *pt_len, char *key_arn, size_t key_arn_size, struct kj_diag *d)
{
	json_t *req = NULL, *resp = NULL, *kid;
	char rid[96];
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
	err = kj_kms_call_rid(c, cr, "Decrypt", req, &resp, rid, sizeof(rid), d);
	if (err != KJ_OK)
		goto out;
	kid = json_object_get(resp, "KeyId");
	if (!json_is_string(kid) || kj_strlcpy(key_arn, json_string_value(kid), key_arn_size) != 0) {
		err = kj_fail(d, KJ_ERR_UNAVAIL, "KMS Decrypt response has no usable KeyId; request id %s", rid);
		goto out;
	}
	/* KMS answers with the key it was asked for; anything else is not
	 * an answer to this request (pinned here, with the request id). */
	if (key_id != NULL && strcmp(key_arn, key_id) != 0) {
		char safe[KJ_ARN_MAX];

		kj_sanitize(safe, sizeof(safe), key_arn);
		key_arn[0] = '\0';
		err = kj_fail(d, KJ_ERR_KEY_PIN, "KMS Decrypt answered for key %s, not the requested key; request id %s",
		    safe, rid);
		goto out;
	}
	err = kj_b64_field(resp, "Plaintext", max_pt, rid, pt, pt_len, d);
out:
	kj_wipe_member(resp, "Plaintext");
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
	char rid[96];
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
	err = kj_kms_call_rid(c, cr, "Encrypt", req, &resp, rid, sizeof(rid), d);
	if (err != KJ_OK)
		goto out;
	err = kj_b64_field(resp, "CiphertextBlob", 6144, rid, blob, blob_len, d);
out:
	kj_wipe_member(req, "Plaintext");
	json_decref(resp);
	json_decref(req);
	if (b64 != NULL)
		kj_free_secret_str(b64);
	return err;
}

kj_err
kj_kms_generate_data_key(const struct kj_config *c, const struct kj_creds *cr, const char *key_id,
    const struct kj_kv *ctx, size_t n_ctx, uint8_t key[32], uint8_t **blob, size_t *blob_len,
    struct kj_diag *d)
{
	json_t *req = NULL, *resp = NULL;
	uint8_t *pt = NULL;
	size_t pt_len = 0;
	char rid[96];
	kj_err err;

	*blob = NULL;
	*blob_len = 0;
	req = json_object();
	if (req == NULL || json_object_set_new(req, "KeyId", json_string(key_id)) != 0 ||
	    json_object_set_new(req, "KeySpec", json_string("AES_256")) != 0 ||
	    json_object_set_new(req, "EncryptionContext", kj_context_json(ctx, n_ctx)) != 0) {
		err = kj_fail(d, KJ_ERR_NOMEM, "cannot build GenerateDataKey request");
		goto out;
	}
	err = kj_kms_call_rid(c, cr, "GenerateDataKey", req, &resp, rid, sizeof(rid), d);
	if (err == KJ_OK)
		err = kj_b64_field(resp, "Plaintext", 32, rid, &pt, &pt_len, d);
	if (err == KJ_OK && pt_len != 32)
		err = kj_fail(d, KJ_ERR_UNAVAIL, "GenerateDataKey returned a %zu-byte key; request id %s", pt_len, rid);
	if (err == KJ_OK)
		err = kj_b64_field(resp, "CiphertextBlob", 6144, rid, blob, blob_len, d);
	if (err == KJ_OK)
		memcpy(key, pt, 32);
out:
	kj_wipe_member(resp, "Plaintext");
	kj_free_secret(pt, pt_len);
	json_decref(resp);
	json_decref(req);
	return err;
}
