/* STS AssumeRoleWithWebIdentity. The answer is XML (query protocol); the
 * four text fields needed are read with a bounded extractor rather than
 * pulling an XML parser into every PAM process. */
#include "sts.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http.h"

#define KJ_STS_RESP_MAX 65536
#define KJ_STS_MAX_ATTEMPTS 3

int
kj_form_escape(char *dst, size_t size, size_t *pos, const char *src)
{
	static const char hexd[] = "0123456789ABCDEF";
	const unsigned char *p;

	for (p = (const unsigned char *)src; *p != '\0'; p++) {
		int plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '_' || *p == '.' || *p == '~';

		if (*pos + (plain ? 1 : 3) >= size)
			return -1;
		if (plain) {
			dst[(*pos)++] = (char)*p;
		} else {
			dst[(*pos)++] = '%';
			dst[(*pos)++] = hexd[*p >> 4];
			dst[(*pos)++] = hexd[*p & 15];
		}
	}
	dst[*pos] = '\0';
	return 0;
}

static int
kj_append(char *dst, size_t size, size_t *pos, const char *lit)
{
	size_t n = strlen(lit);

	if (*pos + n >= size)
		return -1;
	memcpy(dst + *pos, lit, n + 1);
	*pos += n;
	return 0;
}

kj_err
kj_read_token_file(const char *path, const char *what, char *buf, size_t size, struct kj_diag *d)
{
	struct stat st;
	size_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	kj_err err;

	if (fd < 0) {
		err = kj_fail(d, KJ_ERR_UNAVAIL, "%s %s: %s", what, path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 0 || (size_t)st.st_size >= size) {
		err = kj_fail(d, KJ_ERR_UNAVAIL, "%s %s: not a regular file under %zu bytes", what,
		    path, size);
		goto out;
	}
	while (n < size - 1) {
		ssize_t r = read(fd, buf + n, size - 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = kj_fail(d, KJ_ERR_UNAVAIL, "%s %s: %s", what, path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	if (n == 0 || strlen(buf) != n) {
		err = kj_fail(d, KJ_ERR_UNAVAIL, "%s %s is empty or has a NUL byte", what, path);
		goto out;
	}
	err = KJ_OK;
out:
	if (fd >= 0)
		close(fd);
	return err;
}

static kj_err
kj_sts_url(const struct kj_config *c, char *url, size_t size, struct kj_diag *d)
{
	enum kj_host_class cls;
	int https;

	if (c->sts_endpoint[0] == '\0') {
		if (kj_fmt(url, size, "https://sts%s.%s.amazonaws.com/", c->fips ? "-fips" : "", c->region) != 0)
			return kj_fail(d, KJ_ERR_CONFIG, "region: too long");
		return KJ_OK;
	}
	if (kj_url_classify(c->sts_endpoint, &https, &cls) != 0)
		return kj_fail(d, KJ_ERR_CONFIG, "sts_endpoint: not an http(s) URL");
	if (!https && cls != KJ_HOST_LOOPBACK)
		return kj_fail(d, KJ_ERR_CONFIG, "sts_endpoint: plain http:// is only allowed to loopback hosts");
	if (kj_strlcpy(url, c->sts_endpoint, size) != 0)
		return kj_fail(d, KJ_ERR_CONFIG, "sts_endpoint: too long");
	return KJ_OK;
}

kj_err
kj_sts_web_identity(const struct kj_config *c, const char *role_arn, const char *token_file,
    int64_t deadline, struct kj_creds *out, struct kj_diag *d)
{
	struct kj_header h[1] = { { "Content-Type", "application/x-www-form-urlencoded; charset=utf-8" } };
	struct kj_http_req q;
	struct kj_http_resp r;
	char url[KJ_URL_MAX], code[96], rid[96], safe[96], desc[64];
	const char *parts[4] = { "sts", NULL, NULL, NULL };
	char *token = NULL, *body = NULL;
	size_t body_size = 3 * KJ_WEB_TOKEN_MAX + 1024, pos = 0;
	unsigned attempt;
	kj_err err;

	memset(&r, 0, sizeof(r));
	err = kj_sts_url(c, url, sizeof(url), d);
	if (err != KJ_OK)
		goto out;
	parts[1] = url;
	parts[2] = role_arn;
	parts[3] = token_file;
	if (kj_creds_cache_get(parts, 4, desc, sizeof(desc), out)) {
		err = KJ_OK;
		goto out;
	}
	token = malloc(KJ_WEB_TOKEN_MAX);
	body = malloc(body_size);
	if (token == NULL || body == NULL) {
		err = kj_fail(d, KJ_ERR_NOMEM, "out of memory");
		goto out;
	}
	err = kj_read_token_file(token_file, "web identity token", token, KJ_WEB_TOKEN_MAX, d);
	if (err != KJ_OK)
		goto out;
	body[0] = '\0';
	if (kj_append(body, body_size, &pos,
		"Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleSessionName=pam_kmsjwt&RoleArn=") != 0 ||
	    kj_form_escape(body, body_size, &pos, role_arn) != 0 ||
	    kj_append(body, body_size, &pos, "&WebIdentityToken=") != 0 ||
	    kj_form_escape(body, body_size, &pos, token) != 0) {
		err = kj_fail(d, KJ_ERR_CONFIG, "role_arn too long");
		goto out;
	}

	memset(&q, 0, sizeof(q));
	q.method = "POST";
	q.url = url;
	q.hdrs = h;
	q.n_hdrs = 1;
	q.body = body;
	q.body_len = pos;
	q.max_resp = KJ_STS_RESP_MAX;
	q.ca_file = c->ca_file;
	q.ca_path = c->ca_path;
	q.proxy = c->proxy;
	q.what = "STS";
	for (attempt = 1;; attempt++) {
		int retry;

		kj_http_resp_free(&r);
		q.timeout_ms = deadline - kj_mono_ms();
		err = kj_http_request(&q, &r, d);
		if (err == KJ_OK && r.status == 200)
			break;
		if (err == KJ_OK) {
			if (kj_xml_text(r.body, r.len, "Code", code, sizeof(code)) != 0)
				(void)kj_strlcpy(code, "no error code", sizeof(code));
			if (kj_xml_text(r.body, r.len, "RequestId", rid, sizeof(rid)) != 0)
				(void)kj_strlcpy(rid, r.request_id[0] ? r.request_id : "-", sizeof(rid));
			kj_sanitize(safe, sizeof(safe), code);
			err = kj_fail(d, KJ_ERR_UNAVAIL, "STS AssumeRoleWithWebIdentity for %s: HTTP %ld %s; request id %s",
			    role_arn, r.status, safe, rid);
			retry = r.status >= 500 || strcmp(code, "Throttling") == 0 ||
			    strcmp(code, "IDPCommunicationError") == 0;
		} else {
			retry = r.retryable;
		}
		if (!retry || attempt >= KJ_STS_MAX_ATTEMPTS || kj_backoff(attempt, deadline) != 0)
			goto out;
	}
	if (kj_xml_text(r.body, r.len, "AccessKeyId", out->access_key_id, sizeof(out->access_key_id)) != 0 ||
	    kj_xml_text(r.body, r.len, "SecretAccessKey", out->secret_access_key, sizeof(out->secret_access_key)) != 0 ||
	    kj_xml_text(r.body, r.len, "SessionToken", out->session_token, sizeof(out->session_token)) != 0) {
		err = kj_fail(d, KJ_ERR_UNAVAIL, "STS answered HTTP 200 without usable Credentials; request id %s",
		    r.request_id[0] ? r.request_id : "-");
		goto out;
	}
	(void)kj_xml_text(r.body, r.len, "Expiration", out->expiration, sizeof(out->expiration));
	(void)kj_strlcpy(out->source, "web identity (STS)", sizeof(out->source));
	kj_creds_cache_put(desc, out);
	err = KJ_OK;
out:
	kj_http_resp_free(&r); /* wipes the body: it held the secret */
	if (token != NULL)
		kj_free_secret(token, KJ_WEB_TOKEN_MAX);
	if (body != NULL)
		kj_free_secret(body, body_size);
	return err;
}
