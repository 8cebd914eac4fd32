/* AWS Signature Version 4 for requests with an empty query string. */
#ifndef KJ_SIGV4_H
#define KJ_SIGV4_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "kj.h"

#define KJ_SIGV4_MAX_HEADERS 12
#define KJ_AUTHZ_MAX 512

struct kj_header {
	const char *name;  /* any case; signed lower-cased */
	const char *value; /* signed trimmed, inner runs of spaces folded */
};

/* "YYYYMMDDTHHMMSSZ" for t (UTC). */
int kj_amz_date(time_t t, char out[17]);

/* Computes the Authorization header value. Every header in hdrs is signed;
 * they must include host and x-amz-date (and x-amz-security-token when
 * temporary credentials are used). amz_date must equal the x-amz-date value. */
kj_err kj_sigv4_authorization(const char *method, const char *path, const struct kj_header *hdrs,
    size_t n_hdrs, const void *body, size_t body_len, const char *access_key_id,
    const char *secret_key, const char *region, const char *service, const char *amz_date,
    char *out, size_t out_size, struct kj_diag *d);

#endif
