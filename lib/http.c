/* HTTP requests through libcurl, loaded with dlopen on first use: loading
 * libcurl and its ~30 dependencies costs milliseconds per process, and a
 * login that needs no KMS call (envelope mode, warm cache) must not pay it. */
#include "http.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#define KJ_LIBCURL "libcurl.so.4"

struct kj_curl_api {
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_perform)(CURL *);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	void (*easy_cleanup)(CURL *);
	const char *(*easy_strerror)(CURLcode);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
};

static struct kj_curl_api kj_curl;
static int kj_curl_loaded;
static char kj_curl_error[160];
static pthread_once_t kj_curl_once = PTHREAD_ONCE_INIT;

static void
kj_curl_load(void)
{
	void *h = dlopen(KJ_LIBCURL, RTLD_NOW | RTLD_LOCAL);

	if (h == NULL) {
		(void)kj_fmt(kj_curl_error, sizeof(kj_curl_error), "cannot load %s: %s", KJ_LIBCURL,
		    dlerror());
		return;
	}
	/* POSIX allows converting dlsym's void * to function pointers. */
#define KJ_SYM(field, name)                                               \
	do {                                                              \
		void *s = dlsym(h, name);                                 \
		if (s == NULL) {                                          \
			(void)kj_fmt(kj_curl_error, sizeof(kj_curl_error),  \
			    "%s has no %s", KJ_LIBCURL, name);            \
			return;                                           \
		}                                                         \
		memcpy(&kj_curl.field, &s, sizeof(s));                    \
	} while (0)
	KJ_SYM(easy_init, "curl_easy_init");
	KJ_SYM(easy_setopt, "curl_easy_setopt");
	KJ_SYM(easy_perform, "curl_easy_perform");
	KJ_SYM(easy_getinfo, "curl_easy_getinfo");
	KJ_SYM(easy_cleanup, "curl_easy_cleanup");
	KJ_SYM(easy_strerror, "curl_easy_strerror");
	KJ_SYM(slist_append, "curl_slist_append");
	KJ_SYM(slist_free_all, "curl_slist_free_all");
#undef KJ_SYM
	/* The handle stays open for the life of the process: libcurl keeps
	 * global state (OpenSSL, resolver threads) that must not be unloaded. */
	kj_curl_loaded = 1;
}

struct kj_sink {
	struct kj_http_resp *r;
	size_t cap;
	size_t max;
	int too_big;
};

static size_t
kj_write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct kj_sink *s = userdata;
	size_t n = size * nmemb;

	if (n > s->max - s->r->len) {
		s->too_big = 1;
		return 0; /* aborts the transfer */
	}
	if (s->r->len + n + 1 > s->cap) {
		size_t ncap = s->cap ? s->cap : 4096;
		char *nb;

		while (ncap < s->r->len + n + 1)
			ncap *= 2;
		nb = realloc(s->r->body, ncap);
		if (nb == NULL)
			return 0;
		s->r->body = nb;
		s->cap = ncap;
	}
	memcpy(s->r->body + s->r->len, ptr, n);
	s->r->len += n;
	s->r->body[s->r->len] = '\0';
	return n;
}

/* Keep the request id and Date: the first names the call in KMS's logs,
 * the second tells how far the local clock is off. */
static size_t
kj_header_cb(char *buf, size_t size, size_t nitems, void *userdata)
{
	struct kj_http_resp *r = userdata;
	size_t n = size * nitems, vlen;
	char *dst = NULL;
	size_t dst_size = 0;
	const char *v;

	if (n > 16 && strncasecmp(buf, "x-amzn-requestid:", 17) == 0) {
		v = buf + 17;
		dst = r->request_id;
		dst_size = sizeof(r->request_id);
	} else if (n > 5 && strncasecmp(buf, "date:", 5) == 0) {
		v = buf + 5;
		dst = r->date;
		dst_size = sizeof(r->date);
	}
	if (dst != NULL) {
		while (v < buf + n && (*v == ' ' || *v == '\t'))
			v++;
		vlen = (size_t)(buf + n - v);
		while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
			vlen--;
		if (vlen >= dst_size)
			vlen = dst_size - 1;
		memcpy(dst, v, vlen);
		dst[vlen] = '\0';
		for (size_t i = 0; i < vlen; i++) {
			if ((unsigned char)dst[i] < 0x20 || (unsigned char)dst[i] >= 0x7f)
				dst[i] = '?';
		}
	}
	return n;
}

void
kj_http_resp_free(struct kj_http_resp *r)
{
	if (r->body != NULL)
		kj_free_secret(r->body, r->len); /* may carry a KMS plaintext */
	memset(r, 0, sizeof(*r));
}

static int
kj_curl_retryable(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return 1;
	default:
		return 0;
	}
}

kj_err
kj_http_request(const struct kj_http_req *q, struct kj_http_resp *r, struct kj_diag *d)
{
	struct kj_sink sink = { r, 0, q->max_resp, 0 };
	struct curl_slist *list = NULL, *tmp;
	const char *what = q->what != NULL ? q->what : "HTTP";
	char line[4200];
	CURL *h = NULL;
	CURLcode cc;
	size_t i;
	int retryable = 0;
	kj_err err;

	memset(r, 0, sizeof(*r));
	(void)pthread_once(&kj_curl_once, kj_curl_load);
	if (!kj_curl_loaded) {
		err = kj_fail(d, KJ_ERR_UNAVAIL, "%s", kj_curl_error);
		goto out;
	}
	if (q->n_hdrs > KJ_HTTP_MAX_HEADERS) {
		err = kj_fail(d, KJ_ERR_INTERNAL, "too many HTTP headers");
		goto out;
	}
	if (q->timeout_ms <= 0) {
		err = kj_fail(d, KJ_ERR_UNAVAIL, "%s: no time left in the timeout budget", what);
		goto out;
	}
	for (i = 0; i < q->n_hdrs; i++) {
		if (kj_fmt(line, sizeof(line), "%s: %s", q->hdrs[i].name, q->hdrs[i].value) != 0) {
			err = kj_fail(d, KJ_ERR_INTERNAL, "HTTP header %s too long", q->hdrs[i].name);
			goto out;
		}
		tmp = kj_curl.slist_append(list, line);
		if (tmp == NULL) {
			err = kj_fail(d, KJ_ERR_NOMEM, "out of memory");
			goto out;
		}
		list = tmp;
	}
	/* No "Expect: 100-continue" round trip. */
	tmp = kj_curl.slist_append(list, "Expect:");
	if (tmp == NULL) {
		err = kj_fail(d, KJ_ERR_NOMEM, "out of memory");
		goto out;
	}
	list = tmp;
	explicit_bzero(line, sizeof(line));

	h = kj_curl.easy_init();
	if (h == NULL) {
		err = kj_fail(d, KJ_ERR_NOMEM, "curl_easy_init failed");
		goto out;
	}
	if (kj_curl.easy_setopt(h, CURLOPT_URL, q->url) != CURLE_OK ||
	    kj_curl.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    kj_curl.easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    kj_curl.easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)q->timeout_ms) != CURLE_OK ||
	    kj_curl.easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)q->timeout_ms) != CURLE_OK ||
	    kj_curl.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    /* "" means no proxy at all, and stops libcurl reading *_proxy. */
	    kj_curl.easy_setopt(h, CURLOPT_PROXY, q->proxy != NULL ? q->proxy : "") != CURLE_OK ||
	    kj_curl.easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    kj_curl.easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    kj_curl.easy_setopt(h, CURLOPT_HTTPHEADER, list) != CURLE_OK ||
	    kj_curl.easy_setopt(h, CURLOPT_WRITEFUNCTION, kj_write_cb) != CURLE_OK ||
	    kj_curl.easy_setopt(h, CURLOPT_WRITEDATA, &sink) != CURLE_OK ||
	    kj_curl.easy_setopt(h, CURLOPT_HEADERFUNCTION, kj_header_cb) != CURLE_OK ||
	    kj_curl.easy_setopt(h, CURLOPT_HEADERDATA, r) != CURLE_OK) {
		err = kj_fail(d, KJ_ERR_INTERNAL, "curl_easy_setopt failed");
		goto out;
	}
	if ((q->ca_file != NULL && *q->ca_file != '\0' &&
	    kj_curl.easy_setopt(h, CURLOPT_CAINFO, q->ca_file) != CURLE_OK) ||
	    (q->ca_path != NULL && *q->ca_path != '\0' &&
	    kj_curl.easy_setopt(h, CURLOPT_CAPATH, q->ca_path) != CURLE_OK)) {
		err = kj_fail(d, KJ_ERR_CONFIG, "ca_file/ca_path not supported by this libcurl");
		goto out;
	}
	if (strcmp(q->method, "GET") == 0) {
		if (kj_curl.easy_setopt(h, CURLOPT_HTTPGET, 1L) != CURLE_OK) {
			err = kj_fail(d, KJ_ERR_INTERNAL, "curl_easy_setopt failed");
			goto out;
		}
	} else if (kj_curl.easy_setopt(h, CURLOPT_POSTFIELDS, q->body != NULL ? q->body : "") != CURLE_OK ||
	    kj_curl.easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
		(curl_off_t)(q->body != NULL ? q->body_len : 0)) != CURLE_OK ||
	    (strcmp(q->method, "POST") != 0 &&
		kj_curl.easy_setopt(h, CURLOPT_CUSTOMREQUEST, q->method) != CURLE_OK)) {
		err = kj_fail(d, KJ_ERR_INTERNAL, "curl_easy_setopt failed");
		goto out;
	}
	cc = kj_curl.easy_perform(h);
	if (cc != CURLE_OK) {
		if (sink.too_big) {
			err = kj_fail(d, KJ_ERR_UNAVAIL, "%s response larger than %zu bytes", what, q->max_resp);
		} else if (cc == CURLE_OPERATION_TIMEDOUT) {
			err = kj_fail(d, KJ_ERR_UNAVAIL, "%s did not answer within %lld ms", what,
			    (long long)(q->budget_ms > 0 ? q->budget_ms : q->timeout_ms));
		} else {
			retryable = kj_curl_retryable(cc);
			err = kj_fail(d, KJ_ERR_UNAVAIL, "%s request failed: %s", what, kj_curl.easy_strerror(cc));
		}
		goto out;
	}
	if (kj_curl.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status) != CURLE_OK) {
		err = kj_fail(d, KJ_ERR_INTERNAL, "no HTTP status");
		goto out;
	}
	if (r->body == NULL) { /* empty body: give callers a string anyway */
		r->body = calloc(1, 1);
		if (r->body == NULL) {
			err = kj_fail(d, KJ_ERR_NOMEM, "out of memory");
			goto out;
		}
	}
	err = KJ_OK;
out:
	if (h != NULL)
		kj_curl.easy_cleanup(h);
	for (tmp = list; tmp != NULL; tmp = tmp->next) /* session token inside */
		explicit_bzero(tmp->data, strlen(tmp->data));
	if (list != NULL)
		kj_curl.slist_free_all(list);
	if (err != KJ_OK) {
		char rid[sizeof(r->request_id)];

		memcpy(rid, r->request_id, sizeof(rid));
		kj_http_resp_free(r);
		memcpy(r->request_id, rid, sizeof(rid));
		r->retryable = retryable;
	}
	return err;
}

kj_err
kj_http_post(const char *url, const struct kj_header *hdrs, size_t n_hdrs, const char *body,
    size_t body_len, int64_t timeout_ms, size_t max_resp, struct kj_http_resp *r, struct kj_diag *d)
{
	struct kj_http_req q;

	memset(&q, 0, sizeof(q));
	q.method = "POST";
	q.url = url;
	q.hdrs = hdrs;
	q.n_hdrs = n_hdrs;
	q.body = body;
	q.body_len = body_len;
	q.timeout_ms = timeout_ms;
	q.max_resp = max_resp;
	q.what = "KMS";
	return kj_http_request(&q, r, d);
}

int64_t
kj_mono_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + (int64_t)ts.tv_nsec / 1000000;
}

void
kj_sleep_ms(int64_t ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int
kj_backoff(unsigned n, int64_t deadline)
{
	int64_t cap = KJ_BACKOFF_BASE_MS, sleep_ms;
	uint32_t rnd = 0;
	unsigned i;

	for (i = 1; i < n && cap < KJ_BACKOFF_CAP_MS; i++)
		cap *= 2;
	if (cap > KJ_BACKOFF_CAP_MS)
		cap = KJ_BACKOFF_CAP_MS;
	/* Full jitter: hosts that failed together do not retry together. */
	if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		rnd = (uint32_t)kj_mono_ms();
	sleep_ms = (int64_t)(rnd % (uint32_t)(cap + 1));
	if (kj_mono_ms() + sleep_ms + KJ_MIN_ATTEMPT_MS > deadline)
		return -1;
	kj_sleep_ms(sleep_ms);
	return 0;
}

static int
kj_dotted_quad(const char *h, size_t len, unsigned char ip[4])
{
	size_t i;
	unsigned n = 0, v = 0, digits = 0;

	for (i = 0; i <= len; i++) {
		if (i == len || h[i] == '.') {
			if (digits == 0 || v > 255 || n >= 4)
				return -1;
			ip[n++] = (unsigned char)v;
			v = 0;
			digits = 0;
		} else if (h[i] >= '0' && h[i] <= '9' && digits < 3) {
			v = v * 10 + (unsigned)(h[i] - '0');
			digits++;
		} else {
			return -1;
		}
	}
	return n == 4 ? 0 : -1;
}

int
kj_url_classify(const char *url, int *https, enum kj_host_class *cls)
{
	const char *auth, *end;
	unsigned char ip[4];
	size_t alen, hlen;

	if (strncmp(url, "https://", 8) == 0) {
		*https = 1;
		auth = url + 8;
	} else if (strncmp(url, "http://", 7) == 0) {
		*https = 0;
		auth = url + 7;
	} else {
		return -1;
	}
	end = auth + strcspn(auth, "/?#");
	alen = (size_t)(end - auth);
	if (alen == 0 || memchr(auth, '@', alen) != NULL) /* no userinfo tricks */
		return -1;
	if (auth[0] == '[') {
		const char *rb = memchr(auth, ']', alen);

		if (rb == NULL)
			return -1;
		hlen = (size_t)(rb - auth) + 1;
	} else {
		const char *colon = memchr(auth, ':', alen);

		hlen = colon != NULL ? (size_t)(colon - auth) : alen;
	}
	if (hlen < alen && auth[hlen] != ':')
		return -1;
	*cls = KJ_HOST_OTHER;
	if ((hlen == 9 && strncasecmp(auth, "localhost", 9) == 0) || (hlen == 5 && strncmp(auth, "[::1]", 5) == 0))
		*cls = KJ_HOST_LOOPBACK;
	else if (kj_dotted_quad(auth, hlen, ip) == 0 && ip[0] == 127)
		*cls = KJ_HOST_LOOPBACK;
	else if (kj_dotted_quad(auth, hlen, ip) == 0 && ip[0] == 169 && ip[1] == 254)
		*cls = KJ_HOST_LINKLOCAL;
	else if ((hlen > 6 && strncasecmp(auth, "[fe80:", 6) == 0) ||
	    (hlen > 10 && strncasecmp(auth, "[fd00:ec2:", 10) == 0))
		*cls = KJ_HOST_LINKLOCAL;
	return 0;
}

int
kj_xml_text(const char *xml, size_t len, const char *tag, char *out, size_t size)
{
	static const struct {
		const char *ent;
		char c;
	} ents[] = { { "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' }, { "&quot;", '"' }, { "&apos;", '\'' } };
	char open[64], close[64];
	const char *p, *e, *lim = xml + len;
	size_t o = 0, ol, cl, k;

	if (size == 0 || kj_fmt(open, sizeof(open), "<%s>", tag) != 0 ||
	    kj_fmt(close, sizeof(close), "</%s>", tag) != 0)
		return -1;
	ol = strlen(open);
	cl = strlen(close);
	p = memmem(xml, len, open, ol);
	if (p == NULL)
		return -1;
	p += ol;
	e = memmem(p, (size_t)(lim - p), close, cl);
	if (e == NULL)
		return -1;
	while (p < e) {
		char c = *p;

		if (c == '<')
			return -1; /* nested element: not a text field */
		if (c == '&') {
			for (k = 0; k < sizeof(ents) / sizeof(ents[0]); k++) {
				size_t el = strlen(ents[k].ent);

				if ((size_t)(e - p) >= el && memcmp(p, ents[k].ent, el) == 0) {
					c = ents[k].c;
					p += el - 1;
					break;
				}
			}
			if (k == sizeof(ents) / sizeof(ents[0]))
				return -1;
		}
		if (o + 1 >= size)
			return -1;
		out[o++] = c;
		p++;
	}
	out[o] = '\0';
	return 0;
}
