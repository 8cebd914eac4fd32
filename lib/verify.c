/* Verification pipeline: cheap checks first, one KMS call, then the user. */
#include "verify.h"

#include <stdlib.h>
#include <string.h>

#include "creds.h"
#include "envelope.h"
#include "kms.h"
#include "replay.h"
#include "token.h"

/* Step 3: KMS Decrypt with the recomputed context and key pinning. */
static kj_err
kj_open_direct(const struct kj_config *c, const struct kj_token *t, uint8_t **pt, size_t *pt_len,
    struct kj_result *res, struct kj_diag *d)
{
	struct kj_kv ctx[3] = { { "kmsjwt", t->digest }, { "aud", t->aud }, { "sub", t->sub } };
	struct kj_creds cr;
	char arn[KJ_ARN_MAX];
	unsigned i;
	kj_err err;

	err = kj_creds_load(c, &cr, d);
	if (err != KJ_OK)
		goto out;
	/* With one key KMS itself refuses a blob under any other key; with
	 * several (rotation) KMS picks the key from the blob and the answer
	 * is pinned below either way. */
	err = kj_kms_decrypt(c, &cr, t->sealed, t->sealed_len, ctx, 3,
	    c->n_keys == 1 ? c->key_ids[0] : NULL, KJ_PAYLOAD_MAX, pt, pt_len, arn, sizeof(arn), d);
	if (err != KJ_OK)
		goto out;
	kj_sanitize(res->key_arn, sizeof(res->key_arn), arn);
	err = kj_fail(d, KJ_ERR_KEY_PIN, "KMS decrypted with key %s, which is not in key_id", res->key_arn);
	for (i = 0; i < c->n_keys; i++) {
		if (strcmp(arn, c->key_ids[i]) == 0)
			err = KJ_OK;
	}
out:
	kj_creds_wipe(&cr);
	return err;
}

/* Step 4: the payload is a JSON object that repeats no claim name. */
static kj_err
kj_payload_check(const struct kj_token *t, const uint8_t *pt, size_t pt_len, json_t **payload,
    struct kj_diag *d)
{
	const char *name;
	json_t *v;
	kj_err err;

	/* The parser's message may quote the secret payload: not logged. */
	err = kj_json_object(pt, pt_len, payload, "payload", NULL);
	if (err != KJ_OK)
		return kj_fail(d, KJ_ERR_PAYLOAD,
		    "payload is not a JSON object (strict: no duplicate names, valid UTF-8, no NUL)");
	json_object_foreach(*payload, name, v) {
		(void)v;
		if (json_object_get(t->claims, name) != NULL) {
			char safe[64];

			kj_sanitize(safe, sizeof(safe), name);
			return kj_fail(d, KJ_ERR_PAYLOAD, "payload repeats the claim \"%s\"", safe);
		}
	}
	return KJ_OK;
}

/* Wipe every string of the payload before jansson frees it. */
static void
kj_json_wipe(json_t *j)
{
	const char *name;
	json_t *v;
	size_t i;

	if (json_is_string(j)) {
		explicit_bzero((char *)json_string_value(j), json_string_length(j));
	} else if (json_is_object(j)) {
		json_object_foreach(j, name, v)
			kj_json_wipe(v);
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			kj_json_wipe(v);
	}
}

static void
kj_payload_free(json_t *payload)
{
	if (payload == NULL)
		return;
	kj_json_wipe(payload);
	json_decref(payload);
}

static kj_err
kj_user_matches(const char *want_user, const char *user, struct kj_diag *d)
{
	char safe[64];

	if (want_user == NULL || *want_user == '\0' || strcmp(want_user, user) == 0)
		return KJ_OK;
	kj_sanitize(safe, sizeof(safe), want_user);
	return kj_fail(d, KJ_ERR_USER, "token is for user %s, login is for %s", user, safe);
}

kj_err
kj_verify(const struct kj_config *c, const char *tok, size_t len, int64_t now, const char *want_user,
    struct kj_result *res, struct kj_diag *d)
{
	struct kj_token t;
	json_t *payload = NULL, *uc;
	uint8_t *pt = NULL;
	size_t pt_len = 0;
	char clear_user[KJ_USER_MAX] = "";
	kj_err err;

	memset(res, 0, sizeof(*res));
	memset(&t, 0, sizeof(t));
	err = kj_token_parse(tok, len, &t, d);
	if (err != KJ_OK)
		goto out;
	kj_sanitize(res->iss, sizeof(res->iss), t.iss);
	kj_sanitize(res->sub, sizeof(res->sub), t.sub);
	kj_sanitize(res->jti, sizeof(res->jti), t.jti);
	res->exp = t.exp;
	err = kj_claims_check(&t, c, now, d);
	if (err != KJ_OK)
		goto out;
	/* Cheap refusals before KMS: a used jti, and a clear-text user claim
	 * that can never name this login's account (syntax, user_map and
	 * PAM_USER only: whether an account exists is told to authenticated
	 * tokens alone). The payload cannot repeat a claim, so a user claim in
	 * the clear is final and is mapped only once. */
	err = kj_replay_precheck(c, t.iss, t.jti, d);
	if (err != KJ_OK)
		goto out;
	uc = json_object_get(t.claims, c->user_claim);
	if (json_is_string(uc) && strlen(json_string_value(uc)) == json_string_length(uc)) {
		err = kj_usermap_resolve(c, json_string_value(uc), clear_user, sizeof(clear_user), d);
		if (err == KJ_OK)
			err = kj_user_matches(want_user, clear_user, d);
		if (err != KJ_OK)
			goto out;
	}
	if (t.alg == KJ_ALG_KMS_A256GCM) {
		err = kj_envelope_open(c, &t, tok, &pt, &pt_len, res, d);
	} else {
		(void)kj_strlcpy(res->mode, "direct", sizeof(res->mode));
		err = kj_open_direct(c, &t, &pt, &pt_len, res, d);
	}
	if (err != KJ_OK)
		goto out;
	err = kj_payload_check(&t, pt, pt_len, &payload, d);
	if (err != KJ_OK)
		goto out;

	/* Step 5: the user claim, from the claims (mapped above) or else the
	 * payload. */
	if (clear_user[0] != '\0') {
		(void)kj_strlcpy(res->user, clear_user, sizeof(res->user));
	} else {
		uc = json_object_get(t.claims, c->user_claim);
		if (uc == NULL)
			uc = json_object_get(payload, c->user_claim);
		if (!json_is_string(uc) || json_string_length(uc) == 0 ||
		    strlen(json_string_value(uc)) != json_string_length(uc)) {
			err = kj_fail(d, KJ_ERR_USER, "user claim %s is missing or not a string", c->user_claim);
			goto out;
		}
		err = kj_usermap_resolve(c, json_string_value(uc), res->user, sizeof(res->user), d);
		if (err != KJ_OK)
			goto out;
	}
	err = kj_user_check(c, res->user, d);
	if (err == KJ_OK)
		err = kj_user_matches(want_user, res->user, d);
	/* Only a token that passed every check uses up its jti. */
	if (err == KJ_OK)
		err = kj_replay_record(c, t.iss, t.jti, t.exp, now, d);
out:
	kj_payload_free(payload);
	kj_free_secret(pt, pt_len);
	kj_token_free(&t);
	if (err == KJ_OK)
		d->reason[0] = '\0';
	return err;
}

void
kj_decision_line(char *buf, size_t size, kj_err err, const struct kj_diag *d,
    const struct kj_result *res)
{
	/* Reasons only ever embed sanitized untrusted text. */
	(void)kj_fmt(buf, size,
	    "%s%s%s%s; iss=\"%s\" sub=\"%s\" jti=\"%s\" key=%s user=%s mode=%s",
	    err == KJ_OK ? "accepted" : "refused (",
	    err == KJ_OK ? "" : kj_err_name(err),
	    err == KJ_OK ? "" : "): ",
	    err == KJ_OK ? "" : d->reason,
	    res->iss[0] ? res->iss : "-", res->sub[0] ? res->sub : "-", res->jti[0] ? res->jti : "-",
	    res->key_arn[0] ? res->key_arn : "-", res->user[0] ? res->user : "-",
	    res->mode[0] ? res->mode : "-");
}
