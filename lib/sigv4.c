/* SigV4 signing (SHA-256 and HMAC from lib/crypto.c). libcurl's CURLOPT_AWS_SIGV4 signs with the
 * wall clock only, so it cannot be checked against the published test suite
 * (fixed timestamps) and it would tie signing to libcurl being loaded; this
 * signer takes the date as an argument and is tested against the suite. */
#include "sigv4.h"

#include "crypto.h"

#include <stdlib.h>
#include <string.h>

#define KJ_CREQ_MAX 8192

int
kj_amz_date(time_t t, char out[17])
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL)
		return -1;
	return strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) == 16 ? 0 : -1;
}

static int
kj_sha256_hex(const void *data, size_t len, char out[65])
{
	struct kj_span part = { data, len };
	uint8_t md[KJ_SHA256_LEN];

	kj_sha256_v(&part, 1, md);
	kj_hex(out, md, sizeof(md));
	return 0;
}

static int
kj_hmac(const void *key, size_t klen, const char *msg, unsigned char out[32])
{
	kj_hmac_sha256(key, klen, msg, strlen(msg), out);
	return 0;
}

/* Append to a bounded buffer; sets *ok = 0 on overflow. */
static void
kj_put(char *buf, size_t size, size_t *pos, const char *s, size_t n, int *ok)
{
	if (!*ok || *pos + n >= size) {
		*ok = 0;
		return;
	}
	memcpy(buf + *pos, s, n);
	*pos += n;
	buf[*pos] = '\0';
}

static void
kj_puts(char *buf, size_t size, size_t *pos, const char *s, int *ok)
{
	kj_put(buf, size, pos, s, strlen(s), ok);
}

static int
kj_hdr_cmp(const void *a, const void *b)
{
	const struct kj_header *x = a, *y = b;

	return strcasecmp(x->name, y->name);
}

/* Lower-case name, trimmed value with inner blank runs folded. */
static void
kj_put_header(char *buf, size_t size, size_t *pos, const struct kj_header *h, int *ok)
{
	const char *p;
	int space = 0;

	for (p = h->name; *p != '\0'; p++) {
		char c = (*p >= 'A' && *p <= 'Z') ? (char)(*p - 'A' + 'a') : *p;

		kj_put(buf, size, pos, &c, 1, ok);
	}
	kj_puts(buf, size, pos, ":", ok);
	for (p = h->value; *p == ' ' || *p == '\t'; p++)
		;
	for (; *p != '\0'; p++) {
		if (*p == ' ' || *p == '\t') {
			space = 1;
			continue;
		}
		if (space)
			kj_puts(buf, size, pos, " ", ok);
		space = 0;
		kj_put(buf, size, pos, p, 1, ok);
	}
	kj_puts(buf, size, pos, "\n", ok);
}

kj_err
kj_sigv4_authorization(const char *method, const char *path, const struct kj_header *hdrs,
    size_t n_hdrs, const void *body, size_t body_len, const char *access_key_id,
    const char *secret_key, const char *region, const char *service, const char *amz_date,
    char *out, size_t out_size, struct kj_diag *d)
{
	struct kj_header sorted[KJ_SIGV4_MAX_HEADERS];
	char creq[KJ_CREQ_MAX], signed_names[512], sts[512], scope[160], hash[65], date[9];
	char kbuf[4 + 256], sig_hex[65];
	unsigned char k1[32], k2[32], k3[32], k4[32], sig[32];
	size_t pos = 0, spos = 0, i;
	int ok = 1;
	kj_err err;

	if (n_hdrs > KJ_SIGV4_MAX_HEADERS || strlen(amz_date) != 16 ||
	    strlen(secret_key) > sizeof(kbuf) - 5) {
		err = kj_fail(d, KJ_ERR_INTERNAL, "SigV4: bad arguments");
		goto out;
	}
	memcpy(sorted, hdrs, n_hdrs * sizeof(*hdrs));
	qsort(sorted, n_hdrs, sizeof(*sorted), kj_hdr_cmp);
	memcpy(date, amz_date, 8);
	date[8] = '\0';

	/* Signed header names: lower-case, sorted, ';'-joined. */
	signed_names[0] = '\0';
	for (i = 0; i < n_hdrs; i++) {
		const char *p;

		if (i > 0)
			kj_puts(signed_names, sizeof(signed_names), &spos, ";", &ok);
		for (p = sorted[i].name; *p != '\0'; p++) {
			char c = (*p >= 'A' && *p <= 'Z') ? (char)(*p - 'A' + 'a') : *p;

			kj_put(signed_names, sizeof(signed_names), &spos, &c, 1, &ok);
		}
	}

	/* Canonical request. */
	creq[0] = '\0';
	kj_puts(creq, sizeof(creq), &pos, method, &ok);
	kj_puts(creq, sizeof(creq), &pos, "\n", &ok);
	kj_puts(creq, sizeof(creq), &pos, path, &ok);
	kj_puts(creq, sizeof(creq), &pos, "\n\n", &ok); /* empty query string */
	for (i = 0; i < n_hdrs; i++)
		kj_put_header(creq, sizeof(creq), &pos, &sorted[i], &ok);
	kj_puts(creq, sizeof(creq), &pos, "\n", &ok);
	kj_puts(creq, sizeof(creq), &pos, signed_names, &ok);
	kj_puts(creq, sizeof(creq), &pos, "\n", &ok);
	if (!ok || kj_sha256_hex(body, body_len, hash) != 0) {
		err = kj_fail(d, KJ_ERR_INTERNAL, "SigV4: canonical request too long");
		goto out;
	}
	kj_puts(creq, sizeof(creq), &pos, hash, &ok);
	if (!ok || kj_sha256_hex(creq, pos, hash) != 0 ||
	    kj_fmt(scope, sizeof(scope), "%s/%s/%s/aws4_request", date, region, service) != 0 ||
	    kj_fmt(sts, sizeof(sts), "AWS4-HMAC-SHA256\n%s\n%s\n%s", amz_date, scope, hash) != 0) {
		err = kj_fail(d, KJ_ERR_INTERNAL, "SigV4: string to sign too long");
		goto out;
	}

	/* Signing key: HMAC chain over date, region, service, "aws4_request". */
	if (kj_fmt(kbuf, sizeof(kbuf), "AWS4%s", secret_key) != 0 ||
	    kj_hmac(kbuf, strlen(kbuf), date, k1) != 0 || kj_hmac(k1, 32, region, k2) != 0 ||
	    kj_hmac(k2, 32, service, k3) != 0 || kj_hmac(k3, 32, "aws4_request", k4) != 0 ||
	    kj_hmac(k4, 32, sts, sig) != 0) {
		err = kj_fail(d, KJ_ERR_INTERNAL, "SigV4: HMAC failed");
		goto out;
	}
	kj_hex(sig_hex, sig, 32);
	if (kj_fmt(out, out_size, "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
	    access_key_id, scope, signed_names, sig_hex) != 0) {
		err = kj_fail(d, KJ_ERR_INTERNAL, "SigV4: authorization too long");
		goto out;
	}
	err = KJ_OK;
out:
	explicit_bzero(kbuf, sizeof(kbuf));
	explicit_bzero(k1, sizeof(k1));
	explicit_bzero(k2, sizeof(k2));
	explicit_bzero(k3, sizeof(k3));
	explicit_bzero(k4, sizeof(k4));
	return err;
}
