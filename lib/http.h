/* One HTTP POST with a hard total timeout, via libcurl. */
#ifndef KJ_HTTP_H
#define KJ_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "kj.h"
#include "sigv4.h"

#define KJ_HTTP_MAX_HEADERS 16

struct kj_http_resp {
	long status;
	char *body; /* NUL-terminated; free with kj_http_resp_free */
	size_t len;
	char request_id[96];
	char date[64]; /* the server's Date header, for clock-skew reports */
};

/* POST body to url with the given extra headers. Fails with KJ_ERR_UNAVAIL
 * on any transport problem, on timeout (timeout_ms covers DNS, connect,
 * TLS and transfer) and when the response exceeds max_resp bytes. Never
 * uses a proxy from the environment and never follows redirects. */
kj_err kj_http_post(const char *url, const struct kj_header *hdrs, size_t n_hdrs, const char *body,
    size_t body_len, int64_t timeout_ms, size_t max_resp, struct kj_http_resp *r, struct kj_diag *d);

void kj_http_resp_free(struct kj_http_resp *r);

#endif
