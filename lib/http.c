/* HTTP POST through libcurl, loaded with dlopen on first use: loading
 * libcurl and its ~30 dependencies costs milliseconds per process, and a
 * login that needs no KMS call (envelope mode, warm cache) must not pay it. */
#include "http.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

kj_err
kj_http_post(const char *url, const struct kj_header *hdrs, size_t n_hdrs, const char *body,
    size_t body_len, int64_t timeout_ms, size_t max_resp, struct kj_http_resp *r, struct kj_diag *d)
{
	struct kj_sink sink = { r, 0, max_resp, 0 };
	struct curl_slist *list = NULL, *tmp;
	char line[4200];
	CURL *h = NULL;
	CURLcode cc;
	size_t i;
	kj_err err;

	memset(r, 0, sizeof(*r));
	(void)pthread_once(&kj_curl_once, kj_curl_load);
	if (!kj_curl_loaded) {
		err = kj_fail(d, KJ_ERR_UNAVAIL, "%s", kj_curl_error);
		goto out;
	}
	if (n_hdrs > KJ_HTTP_MAX_HEADERS) {
		err = kj_fail(d, KJ_ERR_INTERNAL, "too many HTTP headers");
		goto out;
	}
	for (i = 0; i < n_hdrs; i++) {
		if (kj_fmt(line, sizeof(line), "%s: %s", hdrs[i].name, hdrs[i].value) != 0) {
			err = kj_fail(d, KJ_ERR_INTERNAL, "HTTP header %s too long", hdrs[i].name);
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
	if (kj_curl.easy_setopt(h, CURLOPT_URL, url) != CURLE_OK ||
	    kj_curl.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    kj_curl.easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    kj_curl.easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms) != CURLE_OK ||
	    kj_curl.easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms) != CURLE_OK ||
	    kj_curl.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    kj_curl.easy_setopt(h, CURLOPT_PROXY, "") != CURLE_OK || /* never from the environment */
	    kj_curl.easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    kj_curl.easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    kj_curl.easy_setopt(h, CURLOPT_HTTPHEADER, list) != CURLE_OK ||
	    kj_curl.easy_setopt(h, CURLOPT_POSTFIELDS, body) != CURLE_OK ||
	    kj_curl.easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len) != CURLE_OK ||
	    kj_curl.easy_setopt(h, CURLOPT_WRITEFUNCTION, kj_write_cb) != CURLE_OK ||
	    kj_curl.easy_setopt(h, CURLOPT_WRITEDATA, &sink) != CURLE_OK ||
	    kj_curl.easy_setopt(h, CURLOPT_HEADERFUNCTION, kj_header_cb) != CURLE_OK ||
	    kj_curl.easy_setopt(h, CURLOPT_HEADERDATA, r) != CURLE_OK) {
		err = kj_fail(d, KJ_ERR_INTERNAL, "curl_easy_setopt failed");
		goto out;
	}
	cc = kj_curl.easy_perform(h);
	if (cc != CURLE_OK) {
		if (sink.too_big)
			err = kj_fail(d, KJ_ERR_UNAVAIL, "KMS response larger than %zu bytes", max_resp);
		else if (cc == CURLE_OPERATION_TIMEDOUT)
			err = kj_fail(d, KJ_ERR_UNAVAIL, "KMS did not answer within %lld ms",
			    (long long)timeout_ms);
		else
			err = kj_fail(d, KJ_ERR_UNAVAIL, "KMS request failed: %s", kj_curl.easy_strerror(cc));
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
	if (err != KJ_OK)
		kj_http_resp_free(r);
	return err;
}
