/* ECS container credentials and EC2 IMDSv2. Both are plain-http services on
 * link-local addresses: never through a proxy, short timeouts, and bounded
 * answers. */
#include "imds.h"

#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "sts.h"

#define KJ_IMDS_RESP_MAX 16384
#define KJ_IMDS_TOKEN_MAX 1024

/* One request to a link-local credential service within the budget. */
static kj_err
kj_local_get(const char *what, const char *method, const char *url, const struct kj_header *h, size_t nh,
    int64_t deadline, struct kj_http_resp *r, struct kj_diag *d)
{
	struct kj_http_req q;
	int64_t left = deadline - kj_mono_ms();

	memset(&q, 0, sizeof(q));
	q.method = method;
	q.url = url;
	q.hdrs = h;
	q.n_hdrs = nh;
	q.timeout_ms = left < KJ_IMDS_TIMEOUT_MS ? left : KJ_IMDS_TIMEOUT_MS;
	q.max_resp = KJ_IMDS_RESP_MAX;
	q.what = what;
	return kj_http_request(&q, r, d);
}

static kj_err
kj_imds_base(const struct kj_config *c, char *base, size_t size, struct kj_diag *d)
{
	const char *ep = c->imds_endpoint, *name = "imds_endpoint";
	enum kj_host_class cls;
	size_t n;
	int https;

	if (*ep == '\0') {
		ep = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
		name = "AWS_EC2_METADATA_SERVICE_ENDPOINT";
	}
	if (ep == NULL || *ep == '\0') {
		ep = KJ_IMDS_DEFAULT;
		name = "IMDS";
	}
	if (kj_url_classify(ep, &https, &cls) != 0)
		return kj_fail(d, KJ_ERR_CONFIG, "%s: not an http(s) URL", name);
	if (!https && cls == KJ_HOST_OTHER)
		return kj_fail(d, KJ_ERR_CONFIG, "%s: plain http:// only to loopback or link-local hosts", name);
	if (kj_strlcpy(base, ep, size) != 0)
		return kj_fail(d, KJ_ERR_CONFIG, "%s: too long", name);
	n = strlen(base);
	while (n > 0 && base[n - 1] == '/')
		base[--n] = '\0';
	return KJ_OK;
}

static int
kj_role_name_ok(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++, n++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		    strchr("+=,.@_-", *s) != NULL))
			return 0;
	}
	return n > 0 && n <= 64;
}

kj_err
kj_imds_creds(const struct kj_config *c, int64_t deadline, struct kj_creds *out, struct kj_diag *d)
{
	struct kj_header h[1];
	struct kj_http_resp r;
	char base[KJ_URL_MAX], url[KJ_URL_MAX + 128], token[KJ_IMDS_TOKEN_MAX], role[80], desc[64];
	const char *parts[3] = { "imds", NULL, c->imds_v1 ? "v1" : "v2" };
	size_t nh = 0, n;
	kj_err err;

	memset(&r, 0, sizeof(r));
	token[0] = '\0';
	err = kj_imds_base(c, base, sizeof(base), d);
	if (err != KJ_OK)
		goto out;
	parts[1] = base;
	if (kj_creds_cache_get(parts, 3, desc, sizeof(desc), out)) {
		err = KJ_OK;
		goto out;
	}

	/* IMDSv2 session token: a PUT, which a misdirected request through an
	 * open proxy or a redirect cannot make. */
	(void)kj_fmt(url, sizeof(url), "%s/latest/api/token", base);
	h[0] = (struct kj_header){ "X-aws-ec2-metadata-token-ttl-seconds", "300" };
	err = kj_local_get("IMDS", "PUT", url, h, 1, deadline, &r, d);
	if (err == KJ_OK && r.status == 200 && r.len > 0 && r.len < sizeof(token) &&
	    strcspn(r.body, "\r\n") == r.len) {
		memcpy(token, r.body, r.len + 1);
		h[0] = (struct kj_header){ "X-aws-ec2-metadata-token", token };
		nh = 1;
	} else if (!c->imds_v1) {
		if (err == KJ_OK)
			err = kj_fail(d, KJ_ERR_UNAVAIL, "IMDS token PUT answered HTTP %ld (IMDSv1 is off; imds_v1 enables it)",
			    r.status);
		goto out;
	}
	kj_http_resp_free(&r);

	(void)kj_fmt(url, sizeof(url), "%s/latest/meta-data/iam/security-credentials/", base);
	err = kj_local_get("IMDS", "GET", url, h, nh, deadline, &r, d);
	if (err != KJ_OK)
		goto out;
	if (r.status != 200) {
		err = kj_fail(d, KJ_ERR_UNAVAIL, "IMDS role list answered HTTP %ld (no instance profile?)", r.status);
		goto out;
	}
	n = strcspn(r.body, "\r\n");
	if (n >= sizeof(role)) {
		err = kj_fail(d, KJ_ERR_UNAVAIL, "IMDS role name too long");
		goto out;
	}
	memcpy(role, r.body, n);
	role[n] = '\0';
	if (!kj_role_name_ok(role)) {
		err = kj_fail(d, KJ_ERR_UNAVAIL, "IMDS gave no usable role name");
		goto out;
	}
	kj_http_resp_free(&r);

	(void)kj_fmt(url, sizeof(url), "%s/latest/meta-data/iam/security-credentials/%s", base, role);
	err = kj_local_get("IMDS", "GET", url, h, nh, deadline, &r, d);
	if (err != KJ_OK)
		goto out;
	if (r.status != 200) {
		err = kj_fail(d, KJ_ERR_UNAVAIL, "IMDS credentials for role %s answered HTTP %ld", role, r.status);
		goto out;
	}
	err = kj_creds_from_json(r.body, r.len, "IMDS", out, d);
	if (err != KJ_OK)
		goto out;
	(void)kj_fmt(out->source, sizeof(out->source), "IMDSv%d role %.40s", nh ? 2 : 1, role);
	kj_creds_cache_put(desc, out);
out:
	kj_http_resp_free(&r);
	explicit_bzero(token, sizeof(token));
	return err;
}

/* http to the ECS/EKS agent addresses, as the SDKs allow. */
static int
kj_container_host(const char *url)
{
	static const char *const hosts[] = { "http://169.254.170.2", "http://169.254.170.23",
		"http://[fd00:ec2::23]" };
	size_t i, n;

	for (i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		n = strlen(hosts[i]);
		if (strncmp(url, hosts[i], n) == 0 && (url[n] == '\0' || url[n] == '/' || url[n] == ':'))
			return 1;
	}
	return 0;
}

kj_err
kj_ecs_url(const char *rel, const char *full, char *url, size_t size, struct kj_diag *d)
{
	enum kj_host_class cls;
	int https;

	if (rel != NULL && *rel != '\0') {
		if (rel[0] != '/' || strchr(rel, '@') != NULL)
			return kj_fail(d, KJ_ERR_CONFIG, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must start with /");
		if (kj_fmt(url, size, "%s%s", KJ_ECS_HOST, rel) != 0)
			return kj_fail(d, KJ_ERR_CONFIG, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI too long");
		return KJ_OK;
	}
	if (full == NULL || kj_url_classify(full, &https, &cls) != 0)
		return kj_fail(d, KJ_ERR_CONFIG, "AWS_CONTAINER_CREDENTIALS_FULL_URI is not an http(s) URL");
	if (!https && cls != KJ_HOST_LOOPBACK && !kj_container_host(full))
		return kj_fail(d, KJ_ERR_CONFIG,
		    "AWS_CONTAINER_CREDENTIALS_FULL_URI: plain http:// only to loopback or the container agent (169.254.170.2, 169.254.170.23, fd00:ec2::23)");
	if (kj_strlcpy(url, full, size) != 0)
		return kj_fail(d, KJ_ERR_CONFIG, "AWS_CONTAINER_CREDENTIALS_FULL_URI too long");
	return KJ_OK;
}

kj_err
kj_ecs_creds(const struct kj_config *c, const char *rel, const char *full, int64_t deadline,
    struct kj_creds *out, struct kj_diag *d)
{
	const char *tfile = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	const char *tenv = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
	struct kj_header h[1];
	struct kj_http_resp r;
	char url[1024], auth[2048], desc[64];
	const char *parts[3] = { "ecs", NULL, NULL };
	size_t nh = 0;
	kj_err err;

	(void)c;
	memset(&r, 0, sizeof(r));
	auth[0] = '\0';
	err = kj_ecs_url(rel, full, url, sizeof(url), d);
	if (err != KJ_OK)
		goto out;
	/* The file (EKS Pod Identity, rotated) wins over the variable. */
	if (tfile != NULL && *tfile != '\0') {
		err = kj_read_token_file(tfile, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", auth, sizeof(auth), d);
		if (err != KJ_OK)
			goto out;
	} else if (tenv != NULL && *tenv != '\0' && kj_strlcpy(auth, tenv, sizeof(auth)) != 0) {
		err = kj_fail(d, KJ_ERR_CONFIG, "AWS_CONTAINER_AUTHORIZATION_TOKEN too long");
		goto out;
	}
	if (strcspn(auth, "\r\n") != strlen(auth)) {
		err = kj_fail(d, KJ_ERR_CONFIG, "container authorization token has a line break");
		goto out;
	}
	if (auth[0] != '\0') {
		h[0] = (struct kj_header){ "Authorization", auth };
		nh = 1;
	}
	parts[1] = url;
	parts[2] = auth;
	if (kj_creds_cache_get(parts, 3, desc, sizeof(desc), out)) {
		err = KJ_OK;
		goto out;
	}
	err = kj_local_get("container credentials", "GET", url, h, nh, deadline, &r, d);
	if (err != KJ_OK)
		goto out;
	if (r.status != 200) {
		err = kj_fail(d, KJ_ERR_UNAVAIL, "container credentials answered HTTP %ld", r.status);
		goto out;
	}
	err = kj_creds_from_json(r.body, r.len, "container credentials", out, d);
	if (err != KJ_OK)
		goto out;
	(void)kj_strlcpy(out->source, "container credentials", sizeof(out->source));
	kj_creds_cache_put(desc, out);
out:
	kj_http_resp_free(&r);
	explicit_bzero(auth, sizeof(auth));
	return err;
}
