/* Token issuing, direct mode. */
#include "mint.h"

#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "crypto.h"
#include "envelope.h"
#include "kms.h"
#include "token.h"

char *
kj_signing_input(json_t *header, json_t *claims)
{
	char *h = json_dumps(header, JSON_COMPACT), *cl = json_dumps(claims, JSON_COMPACT);
	char *hb = NULL, *cb = NULL, *s = NULL;
	size_t n;

	if (h == NULL || cl == NULL)
		goto out;
	hb = kj_b64_encode_alloc(KJ_B64URL, (const uint8_t *)h, strlen(h));
	cb = kj_b64_encode_alloc(KJ_B64URL, (const uint8_t *)cl, strlen(cl));
	if (hb == NULL || cb == NULL)
		goto out;
	n = strlen(hb) + 1 + strlen(cb) + 1;
	s = malloc(n);
	if (s != NULL && kj_fmt(s, n, "%s.%s", hb, cb) != 0) {
		free(s);
		s = NULL;
	}
out:
	free(h);
	free(cl);
	free(hb);
	free(cb);
	return s;
}

kj_err
kj_mint(const struct kj_config *c, const struct kj_creds *cr, const struct kj_mint_req *m,
    char **token, struct kj_diag *d)
{
	struct kj_kv ctx[3];
	json_t *header = NULL, *claims = NULL, *p = NULL;
	char *s = NULL, *sealed_b64 = NULL, digest[KJ_DIGEST_LEN + 1], jti[23];
	const char *payload = m->payload != NULL ? m->payload : "{}";
	uint8_t *blob = NULL, rnd[16];
	size_t blob_len = 0, n;
	kj_err err;

	*token = NULL;
	/* The issuer applies the verifier's payload rule too. */
	err = kj_json_object(payload, strlen(payload), &p, "payload", d);
	if (err != KJ_OK)
		goto out;
	if (strlen(payload) > KJ_PAYLOAD_MAX) {
		err = kj_fail(d, KJ_ERR_PAYLOAD, "payload longer than %d bytes", KJ_PAYLOAD_MAX);
		goto out;
	}
	header = json_pack("{s:s}", "alg", m->envelope ? "KMS+A256GCM" : "KMS");
	claims = json_pack("{s:s, s:s, s:s, s:I, s:I}", "iss", m->iss, "sub", m->sub, "aud", m->aud,
	    "iat", (json_int_t)m->iat, "exp", (json_int_t)m->exp);
	if (header == NULL || claims == NULL) {
		err = kj_fail(d, KJ_ERR_NOMEM, "cannot build claims");
		goto out;
	}
	if (m->jti == NULL) {
		if (kj_random(rnd, sizeof(rnd)) != 0 ||
		    kj_b64_encode(KJ_B64URL, rnd, sizeof(rnd), jti, sizeof(jti)) != 0) {
			err = kj_fail(d, KJ_ERR_INTERNAL, "no randomness for jti");
			goto out;
		}
		if (json_object_set_new(claims, "jti", json_string(jti)) != 0) {
			err = kj_fail(d, KJ_ERR_NOMEM, "cannot build claims");
			goto out;
		}
	} else if (*m->jti != '\0' && json_object_set_new(claims, "jti", json_string(m->jti)) != 0) {
		err = kj_fail(d, KJ_ERR_NOMEM, "cannot build claims");
		goto out;
	}
	if (m->extra_claims != NULL && json_object_update(claims, m->extra_claims) != 0) {
		err = kj_fail(d, KJ_ERR_NOMEM, "cannot merge claims");
		goto out;
	}
	s = kj_signing_input(header, claims);
	if (s == NULL || kj_digest(s, strlen(s), digest) != 0) {
		err = kj_fail(d, KJ_ERR_NOMEM, "cannot encode token");
		goto out;
	}
	ctx[0] = (struct kj_kv){ "kmsjwt", digest };
	ctx[1] = (struct kj_kv){ "aud", m->aud };
	ctx[2] = (struct kj_kv){ "sub", m->sub };
	if (m->envelope)
		err = kj_envelope_seal(c, cr, m->key_id, m->aud, s, (const uint8_t *)payload, strlen(payload),
		    m->dk_max_age, m->dk_max_uses, &blob, &blob_len, d);
	else
		err = kj_kms_encrypt(c, cr, m->key_id, (const uint8_t *)payload, strlen(payload), ctx, 3,
		    &blob, &blob_len, d);
	if (err != KJ_OK)
		goto out;
	sealed_b64 = kj_b64_encode_alloc(KJ_B64URL, blob, blob_len);
	n = strlen(s) + 1 + (sealed_b64 ? strlen(sealed_b64) : 0) + 1;
	*token = sealed_b64 != NULL ? malloc(n) : NULL;
	if (*token == NULL || kj_fmt(*token, n, "%s.%s", s, sealed_b64) != 0) {
		free(*token);
		*token = NULL;
		err = kj_fail(d, KJ_ERR_NOMEM, "cannot encode token");
		goto out;
	}
	err = KJ_OK;
out:
	json_decref(p);
	json_decref(header);
	json_decref(claims);
	free(s);
	free(sealed_b64);
	free(blob);
	return err;
}
