/* HTTP requests with a hard total timeout, via libcurl (loaded on first use),
 * and the monotonic clock the login's single time budget is kept on. */
#ifndef KJ_HTTP_H
#define KJ_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "kj.h"
#include "sigv4.h"

#define KJ_HTTP_MAX_HEADERS 16

struct kj_http_req {
	const char *method;          /* "GET", "PUT" or "POST" */
	const char *url;
	const struct kj_header *hdrs;
	size_t n_hdrs;
	const char *body;            /* may be NULL for GET */
	size_t body_len;
	int64_t timeout_ms;          /* DNS, connect, TLS and transfer together */
	int64_t budget_ms;           /* the whole budget, named in a timeout's reason (0: timeout_ms) */
	size_t max_resp;             /* larger responses fail (KJ_ERR_UNAVAIL) */
	const char *ca_file;         /* NULL or "": the system store */
	const char *ca_path;
	const char *proxy;           /* NULL or "": none; never from the environment */
	const char *what;            /* "KMS", "STS", "IMDS"...: names the peer in reasons */
};

struct kj_http_resp {
	long status;
	char *body; /* NUL-terminated; free with kj_http_resp_free */
	size_t len;
	char request_id[96];
	char date[64]; /* the server's Date header, for clock-skew reports */
	/* Set on failure: the request may succeed if sent again (connection
	 * refused or reset, nothing or a partial answer received). Timeouts,
	 * oversized answers and TLS verification failures are not retryable. */
	int retryable;
};

/* One request. Fails with KJ_ERR_UNAVAIL on any transport problem, on
 * timeout and when the response exceeds max_resp bytes; any HTTP status is
 * KJ_OK (look at r->status). Never follows redirects; TLS verification is
 * always on for https. */
kj_err kj_http_request(const struct kj_http_req *q, struct kj_http_resp *r, struct kj_diag *d);

/* POST body to url, no proxy, system CAs. */
kj_err kj_http_post(const char *url, const struct kj_header *hdrs, size_t n_hdrs, const char *body,
    size_t body_len, int64_t timeout_ms, size_t max_resp, struct kj_http_resp *r, struct kj_diag *d);

void kj_http_resp_free(struct kj_http_resp *r);

/* Milliseconds on CLOCK_MONOTONIC: deadlines do not move with the wall clock. */
int64_t kj_mono_ms(void);

/* Sleep ms milliseconds (EINTR-safe). */
void kj_sleep_ms(int64_t ms);

/* Retries: capped exponential backoff with full jitter. Before retry
 * number n (1, 2, ...) sleep a uniformly random time in
 * [0, min(KJ_BACKOFF_CAP_MS, KJ_BACKOFF_BASE_MS * 2^(n-1))]. Returns 0 after
 * sleeping, or -1 without sleeping when that sleep plus KJ_MIN_ATTEMPT_MS
 * would not fit before deadline (kj_mono_ms). */
#define KJ_BACKOFF_BASE_MS 100
#define KJ_BACKOFF_CAP_MS 1000
#define KJ_MIN_ATTEMPT_MS 100
int kj_backoff(unsigned n, int64_t deadline);

/* Where a URL points, for the rules on plain http. */
enum kj_host_class { KJ_HOST_OTHER, KJ_HOST_LOOPBACK, KJ_HOST_LINKLOCAL };

/* Split "http[s]://HOST[:PORT][/...]" and classify HOST: 127.0.0.0/8,
 * [::1] and localhost are loopback; 169.254.0.0/16 and [fe80::]/10 and the
 * AWS container/IMDS IPv6 addresses [fd00:ec2::NN] are link-local. 0, or -1
 * if the URL is not http(s) with a host. */
int kj_url_classify(const char *url, int *https, enum kj_host_class *cls);

/* Text of the first <tag>...</tag> in an XML body (AWS query-protocol
 * answers), with the five predefined entities decoded. 0, or -1 if absent,
 * malformed or longer than size - 1. */
int kj_xml_text(const char *xml, size_t len, const char *tag, char *out, size_t size);

#endif
