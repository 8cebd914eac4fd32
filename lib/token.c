/* Token parsing: segments, base64url, header and claim types. */
#include "token.h"

#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "crypto.h"

kj_err
kj_json_object(const void *buf, size_t len, json_t **out, const char *what, struct kj_diag *d)
{
	json_error_t jerr;
	char safe[96];
	json_t *j;

	*out = NULL;
	/* Without JSON_DECODE_ANY only objects and arrays parse; without
	 * JSON_ALLOW_NUL "\u0000" is refused; invalid UTF-8 always is. */
	j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL) {
		kj_sanitize(safe, sizeof(safe), jerr.text); /* may quote the input */
		return kj_fail(d, KJ_ERR_TOKEN, "%s is not valid JSON: %s", what, safe);
	}
	if (!json_is_object(j)) {
		json_decref(j);
		return kj_fail(d, KJ_ERR_TOKEN, "%s is not a JSON object", what);
	}
	*out = j;
	return KJ_OK;
}

int
kj_digest(const char *s, size_t len, char out[KJ_DIGEST_LEN + 1])
{
	struct kj_span part = { s, len };
	uint8_t md[KJ_SHA256_LEN];

	kj_sha256_v(&part, 1, md);
	return kj_b64_encode(KJ_B64URL, md, sizeof(md), out, KJ_DIGEST_LEN + 1);
}

/* A required or optional string claim. */
static kj_err
kj_claim_str(json_t *claims, const char *name, int required, const char **out, struct kj_diag *d)
{
	json_t *v = json_object_get(claims, name);

	*out = NULL;
	if (v == NULL) {
		if (required)
			return kj_fail(d, KJ_ERR_CLAIMS, "claim %s is missing", name);
		return KJ_OK;
	}
	if (!json_is_string(v))
		return kj_fail(d, KJ_ERR_CLAIMS, "claim %s is not a string", name);
	if (json_string_length(v) == 0)
		return kj_fail(d, KJ_ERR_CLAIMS, "claim %s is empty", name);
	*out = json_string_value(v);
	return KJ_OK;
}

/* NumericDate as a JSON integer; floats and strings are refused. */
static kj_err
kj_claim_date(json_t *claims, const char *name, int required, int64_t *out, int *present,
    struct kj_diag *d)
{
	json_t *v = json_object_get(claims, name);
	json_int_t i;

	if (present != NULL)
		*present = 0;
	if (v == NULL) {
		if (required)
			return kj_fail(d, KJ_ERR_CLAIMS, "claim %s is missing", name);
		return KJ_OK;
	}
	if (!json_is_integer(v))
		return kj_fail(d, KJ_ERR_CLAIMS, "claim %s is not an integer", name);
	i = json_integer_value(v);
	/* Dates before 1970 or after year 10000 are nonsense and would make
	 * the arithmetic in the checks overflow-prone. */
	if (i < 0 || i > 253402300799LL)
		return kj_fail(d, KJ_ERR_CLAIMS, "claim %s is out of range", name);
	*out = (int64_t)i;
	if (present != NULL)
		*present = 1;
	return KJ_OK;
}

static kj_err
kj_header_check(json_t *h, enum kj_alg *alg, struct kj_diag *d)
{
	json_t *a = json_object_get(h, "alg"), *typ = json_object_get(h, "typ");
	const char *s;

	if (json_object_get(h, "crit") != NULL)
		return kj_fail(d, KJ_ERR_TOKEN, "header has crit, which is not supported");
	if (a == NULL)
		return kj_fail(d, KJ_ERR_TOKEN, "header has no alg");
	if (!json_is_string(a))
		return kj_fail(d, KJ_ERR_TOKEN, "header alg is not a string");
	s = json_string_value(a);
	if (strcmp(s, "KMS") == 0 && json_string_length(a) == 3) {
		*alg = KJ_ALG_KMS;
	} else if (strcmp(s, "KMS+A256GCM") == 0 && json_string_length(a) == 11) {
		*alg = KJ_ALG_KMS_A256GCM;
	} else {
		char safe[48];

		kj_sanitize(safe, sizeof(safe), s);
		return kj_fail(d, KJ_ERR_TOKEN, "header alg \"%s\" is not allowed", safe);
	}
	if (typ != NULL && !(json_is_string(typ) && strcmp(json_string_value(typ), "JWT") == 0 &&
	    json_string_length(typ) == 3))
		return kj_fail(d, KJ_ERR_TOKEN, "header typ is not \"JWT\"");
	return KJ_OK;
}

kj_err
kj_token_parse(const char *tok, size_t len, struct kj_token *t, struct kj_diag *d)
{
	const char *dot1, *dot2;
	uint8_t *raw = NULL;
	size_t raw_len = 0;
	kj_err err;

	memset(t, 0, sizeof(*t));
	if (len == 0) {
		err = kj_fail(d, KJ_ERR_TOKEN, "empty token");
		goto out;
	}
	if (len > KJ_TOKEN_MAX) {
		err = kj_fail(d, KJ_ERR_TOKEN, "token longer than %d bytes (%zu)", KJ_TOKEN_MAX, len);
		goto out;
	}
	if (memchr(tok, '\0', len) != NULL) {
		err = kj_fail(d, KJ_ERR_TOKEN, "token contains a NUL byte");
		goto out;
	}
	dot1 = memchr(tok, '.', len);
	dot2 = dot1 != NULL ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - tok)) : NULL;
	if (dot1 == NULL || dot2 == NULL ||
	    memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - tok)) != NULL) {
		err = kj_fail(d, KJ_ERR_TOKEN, "token does not have exactly 3 segments");
		goto out;
	}
	if (dot1 == tok || dot2 == dot1 + 1 || dot2 + 1 == tok + len) {
		err = kj_fail(d, KJ_ERR_TOKEN, "token has an empty segment");
		goto out;
	}

	if (kj_b64_decode(KJ_B64URL, tok, (size_t)(dot1 - tok), &raw, &raw_len) != 0) {
		err = kj_fail(d, KJ_ERR_TOKEN, "header is not canonical base64url");
		goto out;
	}
	err = kj_json_object(raw, raw_len, &t->header, "header", d);
	free(raw);
	raw = NULL;
	if (err != KJ_OK)
		goto out;
	err = kj_header_check(t->header, &t->alg, d);
	if (err != KJ_OK)
		goto out;

	if (kj_b64_decode(KJ_B64URL, dot1 + 1, (size_t)(dot2 - dot1 - 1), &raw, &raw_len) != 0) {
		err = kj_fail(d, KJ_ERR_TOKEN, "claims are not canonical base64url");
		goto out;
	}
	err = kj_json_object(raw, raw_len, &t->claims, "claims", d);
	free(raw);
	raw = NULL;
	if (err != KJ_OK)
		goto out;

	if (kj_b64_decode(KJ_B64URL, dot2 + 1, len - (size_t)(dot2 + 1 - tok), &t->sealed,
	    &t->sealed_len) != 0) {
		err = kj_fail(d, KJ_ERR_TOKEN, "sealed part is not canonical base64url");
		goto out;
	}

	/* Claim types; their values are checked against the config later. */
	if ((err = kj_claim_str(t->claims, "iss", 1, &t->iss, d)) != KJ_OK ||
	    (err = kj_claim_str(t->claims, "sub", 1, &t->sub, d)) != KJ_OK ||
	    (err = kj_claim_str(t->claims, "jti", 0, &t->jti, d)) != KJ_OK ||
	    (err = kj_claim_date(t->claims, "exp", 1, &t->exp, NULL, d)) != KJ_OK ||
	    (err = kj_claim_date(t->claims, "iat", 1, &t->iat, NULL, d)) != KJ_OK ||
	    (err = kj_claim_date(t->claims, "nbf", 0, &t->nbf, &t->has_nbf, d)) != KJ_OK)
		goto out;
	if (json_is_array(json_object_get(t->claims, "aud"))) {
		err = kj_fail(d, KJ_ERR_CLAIMS, "claim aud must be a single string, not an array");
		goto out;
	}
	if ((err = kj_claim_str(t->claims, "aud", 1, &t->aud, d)) != KJ_OK)
		goto out;

	t->signing_len = (size_t)(dot2 - tok);
	if (kj_digest(tok, t->signing_len, t->digest) != 0) {
		err = kj_fail(d, KJ_ERR_INTERNAL, "SHA-256 failed");
		goto out;
	}
	err = KJ_OK;
out:
	if (err != KJ_OK)
		kj_token_free(t);
	return err;
}

void
kj_token_free(struct kj_token *t)
{
	json_decref(t->header);
	json_decref(t->claims);
	free(t->sealed);
	memset(t, 0, sizeof(*t));
}
