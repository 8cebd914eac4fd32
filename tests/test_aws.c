/* AWS plumbing through libpam (pam_start_confdir, pam_vsyslog interposed):
 * the five credential sources, SigV4 accepted by a signature-checking moto
 * (with and without a session token), endpoints, proxy, TLS, and the fault
 * table: every fault ends in its exact PAM code within timeout + margin.
 * Environment (tests/run-aws.sh sets it): KJ_TEST_MODULE, KJ_TEST_ENDPOINT
 * (moto), KJ_TEST_AUTH_INFO (tests/moto_auth_server.py's JSON),
 * KJ_TEST_FAULT (tests/fault_server.py's JSON), KJ_TEST_CA (its cert). */
#include <arpa/inet.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <security/pam_appl.h>
#include <security/pam_ext.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../lib/b64.h"
#include "../lib/config.h"
#include "../lib/creds.h"
#include "../lib/http.h"
#include "../lib/imds.h"
#include "../lib/kms.h"
#include "../lib/token.h"
#include "check.h"
#include "pamtest.h"

#define MARGIN_S 0.5 /* allowed beyond the configured timeout */
#define FAULT_KEY "arn:aws:kms:us-east-1:111122223333:key/11111111-2222-3333-4444-555555555555"

static char tmpdir[] = "/tmp/kjaws.XXXXXX";
static char confdir[PATH_MAX], module[PATH_MAX], faultcreds[PATH_MAX], ca[PATH_MAX];
static char moto_ep[128], auth_ep[128], fault_ep[128], tls_ep[128];
static int fault_port;
static char moto_key[KJ_ARN_MAX], auth_key[KJ_ARN_MAX], auth_role[KJ_ARN_MAX];
static struct kj_creds user_cr, sess_cr, dummy_cr;
static int cache_works; /* the kernel keyring cache is usable here */

/* One pam_authenticate through libpam; the elapsed time in pt_elapsed. */
static int
run_pam(const char *args, const char *token)
{
	return pt_run(confdir, "kjaws", module, args, "daemon", token);
}

#define EXPECT(args, token, want_rc, want_reason)                                                \
	do {                                                                                     \
		int rc_ = run_pam((args), (token));                                              \
		CHECK(rc_ == (want_rc), "%s: got %d (%s), want %d; log: %s", (want_reason), rc_, \
		    pam_strerror(NULL, rc_), (want_rc), pt_last_log);                            \
		CHECK_CONTAINS(pt_last_log, (want_reason));                                      \
	} while (0)

/* ---- tokens ------------------------------------------------------------ */

static char *
claims_text(int64_t now)
{
	char *c = malloc(512);

	(void)kj_fmt(c, 512, "{\"iss\":\"idp\",\"sub\":\"daemon\",\"aud\":\"web-1\",\"iat\":%lld,\"exp\":%lld}",
	    (long long)now, (long long)now + 300);
	return c;
}

/* A token sealed by a real (moto) KMS under key, with creds at endpoint. */
static char *
sealed_token(const char *endpoint, const char *key, const struct kj_creds *cr)
{
	char *claims = claims_text((int64_t)time(NULL));
	struct kj_config cfg;
	struct kj_diag d;
	char *tok;

	kj_config_defaults(&cfg);
	(void)kj_config_set(&cfg, "key_id", key, &d);
	(void)kj_config_set(&cfg, "issuer", "idp", &d);
	(void)kj_config_set(&cfg, "audience", "web-1", &d);
	(void)kj_config_set(&cfg, "endpoint", endpoint, &d);
	if (kj_config_finish(&cfg, &d) != KJ_OK)
		abort();
	tok = pt_craft(&cfg, cr, "{\"alg\":\"KMS\"}", claims, "{}", key, "web-1", "daemon");
	free(claims);
	return tok;
}

/* For the fault server, which never decrypts: any sealed bytes. */
static char *
fault_token(void)
{
	static const char hdr[] = "{\"alg\":\"KMS\"}";
	static const uint8_t junk[48] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	char *claims = claims_text((int64_t)time(NULL));
	char *hb = kj_b64_encode_alloc(KJ_B64URL, (const uint8_t *)hdr, strlen(hdr));
	char *cb = kj_b64_encode_alloc(KJ_B64URL, (const uint8_t *)claims, strlen(claims));
	char *sb = kj_b64_encode_alloc(KJ_B64URL, junk, sizeof(junk));
	size_t n = strlen(hb) + strlen(cb) + strlen(sb) + 3;
	char *tok = malloc(n);

	(void)kj_fmt(tok, n, "%s.%s.%s", hb, cb, sb);
	free(hb);
	free(cb);
	free(sb);
	free(claims);
	return tok;
}

/* ---- a tiny HTTP GET for the servers' counters ---------------------------- */

static long
http_get_num(int port, const char *path)
{
	struct sockaddr_in a;
	char req[512], buf[4096];
	size_t n = 0;
	ssize_t r;
	char *body;
	int64_t v = -1;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		abort();
	(void)kj_fmt(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
		abort();
	while (n < sizeof(buf) - 1 && (r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	close(fd);
	body = strstr(buf, "\r\n\r\n");
	if (body != NULL)
		(void)kj_parse_i64(body + 4, 0, 1000000, &v);
	return (long)v;
}

static long
fault_count(const char *name)
{
	char path[256];

	(void)kj_fmt(path, sizeof(path), "/_count/%s", name);
	return http_get_num(fault_port, path);
}

/* moto's counter of requests without X-Amz-Target (STS, IMDS) */
static long
moto_other_count(void)
{
	const char *p = strrchr(moto_ep, ':');
	struct sockaddr_in a;
	char req[256], buf[8192];
	size_t n = 0;
	ssize_t r;
	char *body;
	json_t *j, *v;
	long out = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)atol(p + 1)); /* test code: our own env */
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		abort();
	(void)kj_fmt(req, sizeof(req), "GET /__kj/count HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
		abort();
	while (n < sizeof(buf) - 1 && (r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	close(fd);
	body = strstr(buf, "\r\n\r\n");
	if (body != NULL)
		body = strchr(body, '{'); /* past a chunk size line */
	j = body != NULL ? json_loads(body, JSON_DISABLE_EOF_CHECK, NULL) : NULL;
	v = json_object_get(j, "other");
	if (json_is_integer(v))
		out = (long)json_integer_value(v);
	json_decref(j);
	return out;
}

/* ---- the fault table ------------------------------------------------------ */

struct row {
	const char *name;     /* fault server scenario (the access key id) */
	int timeout;          /* seconds */
	int want;             /* PAM code */
	const char *reason;   /* in the log line */
	int rid;              /* the log names the request id fault-NAME-N */
	double min_s;         /* at least this long (hangs) */
	long min_n, max_n;    /* KMS requests made */
};

static const struct row rows[] = {
	{ "hang", 1, PAM_AUTHINFO_UNAVAIL, "KMS did not answer within 1000 ms", 0, 0.9, 1, 1 },
	{ "slowbody", 1, PAM_AUTHINFO_UNAVAIL, "KMS did not answer within 1000 ms", 0, 0.9, 1, 1 },
	{ "reset", 2, PAM_AUTHINFO_UNAVAIL, "KMS request failed", 0, 0, 2, KJ_KMS_MAX_ATTEMPTS },
	{ "shortbody", 2, PAM_AUTHINFO_UNAVAIL, "KMS request failed", 0, 0, 2, KJ_KMS_MAX_ATTEMPTS },
	{ "burst503", 2, PAM_SUCCESS, "accepted", 0, 0, 3, 3 },
	{ "always503", 2, PAM_AUTHINFO_UNAVAIL, "KMS HTTP 503", 1, 0, 2, KJ_KMS_MAX_ATTEMPTS },
	{ "bad502", 2, PAM_AUTHINFO_UNAVAIL, "KMS HTTP 502", 1, 0, 2, KJ_KMS_MAX_ATTEMPTS },
	{ "throttle2", 2, PAM_SUCCESS, "accepted", 0, 0, 3, 3 },
	{ "throttle", 2, PAM_AUTHINFO_UNAVAIL, "ThrottlingException", 1, 0, 2, KJ_KMS_MAX_ATTEMPTS },
	{ "deptimeout1", 2, PAM_SUCCESS, "accepted", 0, 0, 2, 2 },
	{ "internal", 2, PAM_AUTHINFO_UNAVAIL, "KMSInternalException", 1, 0, 2, KJ_KMS_MAX_ATTEMPTS },
	{ "keyunavail", 2, PAM_AUTHINFO_UNAVAIL, "KeyUnavailableException", 1, 0, 2, KJ_KMS_MAX_ATTEMPTS },
	{ "garbage", 2, PAM_AUTHINFO_UNAVAIL, "not a JSON object", 1, 0, 1, 1 },
	{ "truncjson", 2, PAM_AUTHINFO_UNAVAIL, "not a JSON object", 1, 0, 1, 1 },
	{ "huge", 2, PAM_AUTHINFO_UNAVAIL, "KMS response larger than 65536 bytes", 1, 0, 1, 1 },
	{ "otherkey", 2, PAM_AUTH_ERR, "not the requested key", 1, 0, 1, 1 },
	{ "invalidct", 2, PAM_AUTH_ERR, "InvalidCiphertextException", 1, 0, 1, 1 },
	{ "incorrectkey", 2, PAM_AUTH_ERR, "IncorrectKeyException", 1, 0, 1, 1 },
	{ "denied", 2, PAM_AUTH_ERR, "AccessDeniedException", 1, 0, 1, 1 },
	{ "notfound", 2, PAM_AUTH_ERR, "NotFoundException", 1, 0, 1, 1 },
	{ "disabled", 2, PAM_AUTH_ERR, "DisabledException", 1, 0, 1, 1 },
	{ "invalidstate", 2, PAM_AUTH_ERR, "KMSInvalidStateException", 1, 0, 1, 1 },
	{ "clock", 2, PAM_AUTHINFO_UNAVAIL, "clock problem", 1, 0, 1, 1 },
	{ "reqexpired", 2, PAM_AUTHINFO_UNAVAIL, "RequestExpired: clock problem?", 1, 0, 1, 1 },
};

static const char *
pam_name(int rc)
{
	switch (rc) {
	case PAM_SUCCESS: return "PAM_SUCCESS";
	case PAM_AUTH_ERR: return "PAM_AUTH_ERR";
	case PAM_AUTHINFO_UNAVAIL: return "PAM_AUTHINFO_UNAVAIL";
	case PAM_SERVICE_ERR: return "PAM_SERVICE_ERR";
	default: return "other";
	}
}

static void
fault_args(char *args, size_t size, const char *profile, int timeout, const char *extra)
{
	(void)kj_fmt(args, size,
	    "key_id=" FAULT_KEY " issuer=idp audience=web-1 endpoint=%s credentials_file=%s profile=%s timeout=%d%s%s",
	    fault_ep, faultcreds, profile, timeout, extra[0] ? " " : "", extra);
}

static void
test_fault_table(void)
{
	char *tok = fault_token();
	char args[2048], rid[128];
	size_t i;

	printf("# fault table (timeout, PAM code, time to answer, KMS requests)\n");
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *w = &rows[i];
		long before = fault_count(w->name), n;
		int rc;

		fault_args(args, sizeof(args), w->name, w->timeout, "");
		rc = run_pam(args, tok);
		n = fault_count(w->name) - before;
		printf("# %-13s timeout %d s  %-20s %.3f s  %ld KMS request%s\n", w->name, w->timeout,
		    pam_name(rc), pt_elapsed, n, n == 1 ? "" : "s");
		CHECK(rc == w->want, "fault %s: got %d (%s), want %d; log: %s", w->name, rc, pam_strerror(NULL, rc),
		    w->want, pt_last_log);
		CHECK(strstr(pt_last_log, w->reason) != NULL, "fault %s: log lacks \"%s\": %s", w->name, w->reason,
		    pt_last_log);
		CHECK(pt_elapsed <= w->timeout + MARGIN_S && pt_elapsed >= w->min_s,
		    "fault %s: answered in %.3f s (timeout %d s)", w->name, pt_elapsed, w->timeout);
		CHECK(n >= w->min_n && n <= w->max_n, "fault %s: %ld KMS requests, want %ld..%ld", w->name, n,
		    w->min_n, w->max_n);
		if (w->rid) {
			(void)kj_fmt(rid, sizeof(rid), "request id fault-%s-", w->name);
			CHECK(strstr(pt_last_log, rid) != NULL, "fault %s: no request id in: %s", w->name, pt_last_log);
		}
		if (w->want == PAM_AUTHINFO_UNAVAIL && w->max_n > 1)
			CHECK_CONTAINS(pt_last_log, " attempts in ");
	}
	/* The clock row names the skew the server's Date shows. */
	fault_args(args, sizeof(args), "clock", 2, "");
	(void)run_pam(args, tok);
	CHECK_CONTAINS(pt_last_log, "s behind KMS's");
	/* Nothing listening: connection refused is retried within the budget. */
	(void)kj_fmt(args, sizeof(args),
	    "key_id=" FAULT_KEY " issuer=idp audience=web-1 endpoint=http://127.0.0.1:1 credentials_file=%s profile=ok timeout=2",
	    faultcreds);
	EXPECT(args, tok, PAM_AUTHINFO_UNAVAIL, "KMS request failed");
	printf("# %-13s timeout 2 s  %-20s %.3f s\n", "refused", pam_name(PAM_AUTHINFO_UNAVAIL), pt_elapsed);
	CHECK_CONTAINS(pt_last_log, "request id -");
	CHECK(pt_elapsed <= 2 + MARGIN_S, "refused: %.3f s", pt_elapsed);
	free(tok);
}

/* ---- credential sources ---------------------------------------------------- */

static void
clear_aws_env(void)
{
	static const char *const vars[] = { "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
		"AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "AWS_EC2_METADATA_SERVICE_ENDPOINT",
		"AWS_EC2_METADATA_DISABLED", "AWS_PROFILE", "http_proxy", "HTTP_PROXY", "https_proxy",
		"HTTPS_PROXY", "ALL_PROXY", "all_proxy" };
	size_t i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		(void)unsetenv(vars[i]);
}

/* Drop the cache entry the module made for these parts (lib/creds.h names
 * entries by a digest of them), so runs do not fill the cache. */
static void
forget(const char *a, const char *b, const char *c, const char *e)
{
	const char *parts[4] = { a, b, c, e };
	struct kj_creds cr;
	char desc[64];

	memset(&cr, 0, sizeof(cr));
	if (kj_creds_cache_get(parts, e != NULL ? 4 : 3, desc, sizeof(desc), &cr))
		kj_creds_cache_drop(&cr);
	kj_creds_wipe(&cr);
}

/* Module arguments for a login against the signature-checking moto. */
static void
auth_args(char *args, size_t size, const char *extra)
{
	(void)kj_fmt(args, size, "key_id=%s issuer=idp audience=web-1 endpoint=%s timeout=5 %s", auth_key, auth_ep,
	    extra);
}

static void
moto_args(char *args, size_t size, const char *extra)
{
	(void)kj_fmt(args, size, "key_id=%s issuer=idp audience=web-1 endpoint=%s timeout=5 %s", moto_key, moto_ep,
	    extra);
}

static void
test_sources(void)
{
	char *atok = sealed_token(auth_ep, auth_key, &user_cr);
	char *mtok = sealed_token(moto_ep, moto_key, &dummy_cr);
	char args[4096], extra[2048], path[PATH_MAX], text[8192];
	long before;

	clear_aws_env();
	/* 1a. credentials file, [NAME] format, IAM user keys: moto checks the
	 * signature against the user it holds. */
	(void)kj_fmt(path, sizeof(path), "%s/credentials", tmpdir);
	(void)kj_fmt(text, sizeof(text), "[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n",
	    user_cr.access_key_id, user_cr.secret_access_key);
	pt_write_file(path, text, 0600);
	(void)kj_fmt(extra, sizeof(extra), "credentials_file=%s", path);
	auth_args(args, sizeof(args), extra);
	EXPECT(args, atok, PAM_SUCCESS, "accepted");
	/* ... and the same with a wrong secret is refused by moto: the check is on. */
	(void)kj_fmt(text, sizeof(text), "[default]\naws_access_key_id = %s\naws_secret_access_key = wrong%s\n",
	    user_cr.access_key_id, user_cr.secret_access_key);
	pt_write_file(path, text, 0600);
	EXPECT(args, atok, PAM_AUTHINFO_UNAVAIL, "SignatureDoesNotMatch");

	/* 1b. config-file format, [profile NAME], with aws_session_token. */
	(void)kj_fmt(text, sizeof(text),
	    "[default]\nregion = us-east-1\n\n[profile kj]\naws_access_key_id = %s\naws_secret_access_key = %s\naws_session_token = %s\n",
	    sess_cr.access_key_id, sess_cr.secret_access_key, sess_cr.session_token);
	pt_write_file(path, text, 0600);
	(void)kj_fmt(extra, sizeof(extra), "credentials_file=%s profile=kj", path);
	auth_args(args, sizeof(args), extra);
	EXPECT(args, atok, PAM_SUCCESS, "accepted");
	/* a session token that is not the role's is refused */
	(void)kj_fmt(text, sizeof(text),
	    "[profile kj]\naws_access_key_id = %s\naws_secret_access_key = %s\naws_session_token = x%s\n",
	    sess_cr.access_key_id, sess_cr.secret_access_key, sess_cr.session_token + 1);
	pt_write_file(path, text, 0600);
	EXPECT(args, atok, PAM_AUTHINFO_UNAVAIL, "KMS HTTP 403");

	/* 1 before 2: an explicit file wins over the environment (the file's
	 * broken token above is what fails, not the good environment). */
	(void)setenv("AWS_ACCESS_KEY_ID", sess_cr.access_key_id, 1);
	(void)setenv("AWS_SECRET_ACCESS_KEY", sess_cr.secret_access_key, 1);
	(void)setenv("AWS_SESSION_TOKEN", sess_cr.session_token, 1);
	EXPECT(args, atok, PAM_AUTHINFO_UNAVAIL, "KMS HTTP 403");
	(void)unlink(path);

	/* 2. environment, with a session token; it also wins over IMDS. */
	before = fault_count("imds:PUT:/latest/api/token");
	(void)kj_fmt(extra, sizeof(extra), "imds_endpoint=%s/imds", fault_ep);
	auth_args(args, sizeof(args), extra);
	EXPECT(args, atok, PAM_SUCCESS, "accepted");
	CHECK(fault_count("imds:PUT:/latest/api/token") == before, "env creds: IMDS was asked anyway");
	(void)setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret", 1);
	EXPECT(args, atok, PAM_AUTHINFO_UNAVAIL, "SignatureDoesNotMatch");
	clear_aws_env();

	/* 3. web identity via STS (moto), config pair, then the env pair. */
	(void)kj_fmt(path, sizeof(path), "%s/web-identity-token", tmpdir);
	pt_write_file(path, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6a2oifQ.c2ln\n", 0644);
	before = moto_other_count();
	(void)kj_fmt(extra, sizeof(extra),
	    "role_arn=arn:aws:iam::123456789012:role/kj-web web_identity_token_file=%s sts_endpoint=%s/", path, moto_ep);
	moto_args(args, sizeof(args), extra);
	EXPECT(args, mtok, PAM_SUCCESS, "accepted");
	CHECK(moto_other_count() == before + 1, "web identity: %ld STS calls", moto_other_count() - before);
	/* a burst of logins makes one STS call: the rest use the cache */
	EXPECT(args, mtok, PAM_SUCCESS, "accepted");
	EXPECT(args, mtok, PAM_SUCCESS, "accepted");
	if (cache_works)
		CHECK(moto_other_count() == before + 1, "web identity, cached: %ld STS calls",
		    moto_other_count() - before);
	(void)setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/kj-web-env", 1);
	(void)setenv("AWS_WEB_IDENTITY_TOKEN_FILE", path, 1);
	(void)kj_fmt(extra, sizeof(extra), "sts_endpoint=%s/", moto_ep);
	moto_args(args, sizeof(args), extra);
	before = moto_other_count();
	EXPECT(args, mtok, PAM_SUCCESS, "accepted");
	CHECK(moto_other_count() == before + 1, "web identity (env): %ld STS calls", moto_other_count() - before);
	(void)unlink(path);
	(void)setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/kj-web-gone", 1);
	EXPECT(args, mtok, PAM_AUTHINFO_UNAVAIL, "web identity token");
	(void)kj_fmt(extra, sizeof(extra), "sts_endpoint=http://sts.example.com/");
	moto_args(args, sizeof(args), extra);
	EXPECT(args, mtok, PAM_SERVICE_ERR, "sts_endpoint: plain http:// is only allowed to loopback");
	clear_aws_env();

	/* 4. ECS container credentials (FULL_URI on loopback, token header,
	 * then token file); served credentials are moto's session. */
	(void)kj_fmt(text, sizeof(text), "%s/ecs/creds", fault_ep);
	(void)setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", text, 1);
	(void)setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "ecs-secret-token", 1);
	auth_args(args, sizeof(args), "");
	before = fault_count("ecs");
	EXPECT(args, atok, PAM_SUCCESS, "accepted");
	CHECK(fault_count("ecs") == before + 1, "ECS asked %ld times", fault_count("ecs") - before);
	(void)setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong", 1);
	EXPECT(args, atok, PAM_AUTHINFO_UNAVAIL, "container credentials answered HTTP 401");
	(void)kj_fmt(path, sizeof(path), "%s/ecs-token", tmpdir);
	pt_write_file(path, "ecs-secret-token\n", 0600);
	(void)setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", path, 1);
	EXPECT(args, atok, PAM_SUCCESS, "accepted");
	(void)unlink(path);
	(void)setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://192.0.2.10/creds", 1);
	EXPECT(args, atok, PAM_SERVICE_ERR, "plain http:// only to loopback or the container agent");
	clear_aws_env();

	/* 5. EC2 IMDSv2 (token enforced by the server), by env and by option. */
	(void)kj_fmt(text, sizeof(text), "%s/imds/", fault_ep);
	(void)setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", text, 1);
	auth_args(args, sizeof(args), "");
	before = fault_count("imds:PUT:/latest/api/token");
	EXPECT(args, atok, PAM_SUCCESS, "accepted");
	CHECK(fault_count("imds:PUT:/latest/api/token") == before + 1, "IMDSv2 via env endpoint: token PUT count");
	(void)setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	EXPECT(args, atok, PAM_AUTHINFO_UNAVAIL, "IMDS is disabled");
	clear_aws_env();
	(void)kj_fmt(extra, sizeof(extra), "imds_endpoint=%s/imds", fault_ep);
	auth_args(args, sizeof(args), extra);
	EXPECT(args, atok, PAM_SUCCESS, "accepted");
	if (cache_works) {
		/* the same IMDS: cached credentials, no IMDS request */
		CHECK(fault_count("imds:PUT:/latest/api/token") == before + 1, "IMDS asked despite the cache");
		/* KMS refusing them (UnrecognizedClient) drops the entry ... */
		(void)kj_fmt(args, sizeof(args),
		    "key_id=" FAULT_KEY " issuer=idp audience=web-1 endpoint=%s timeout=2 %s", fault_ep, extra);
		EXPECT(args, atok, PAM_AUTHINFO_UNAVAIL, "UnrecognizedClientException");
		/* ... so the next login asks IMDS again */
		auth_args(args, sizeof(args), extra);
		EXPECT(args, atok, PAM_SUCCESS, "accepted");
		CHECK(fault_count("imds:PUT:/latest/api/token") == before + 2, "dropped entry not refetched");
	}
	/* moto's own IMDS paths */
	(void)kj_fmt(extra, sizeof(extra), "imds_endpoint=%s", moto_ep);
	moto_args(args, sizeof(args), extra);
	EXPECT(args, mtok, PAM_SUCCESS, "accepted");
	/* a server without the token PUT: refused unless imds_v1 */
	(void)kj_fmt(extra, sizeof(extra), "imds_endpoint=%s/imdsv1", fault_ep);
	auth_args(args, sizeof(args), extra);
	EXPECT(args, atok, PAM_AUTHINFO_UNAVAIL, "IMDS token PUT answered HTTP 405 (IMDSv1 is off");
	(void)kj_fmt(extra, sizeof(extra), "imds_endpoint=%s/imdsv1 imds_v1", fault_ep);
	auth_args(args, sizeof(args), extra);
	EXPECT(args, atok, PAM_SUCCESS, "accepted");
	(void)kj_fmt(extra, sizeof(extra), "imds_endpoint=http://192.0.2.1");
	auth_args(args, sizeof(args), extra);
	EXPECT(args, atok, PAM_SERVICE_ERR, "imds_endpoint: plain http:// only to loopback or link-local");
	/* nothing on the IMDS port */
	(void)kj_fmt(extra, sizeof(extra), "imds_endpoint=http://127.0.0.1:1");
	auth_args(args, sizeof(args), extra);
	EXPECT(args, atok, PAM_AUTHINFO_UNAVAIL, "no credentials: no credentials_file");
	/* a hung IMDS costs 1 s (its per-request timeout), not the whole budget */
	(void)kj_fmt(extra, sizeof(extra), "imds_endpoint=%s/imdshang", fault_ep);
	auth_args(args, sizeof(args), extra);
	EXPECT(args, atok, PAM_AUTHINFO_UNAVAIL, "IMDS did not answer within 1000 ms");
	printf("# hung IMDS, timeout 5 s: PAM_AUTHINFO_UNAVAIL in %.3f s\n", pt_elapsed);
	CHECK(pt_elapsed >= 0.9 && pt_elapsed <= 1 + MARGIN_S, "hung IMDS took %.3f s", pt_elapsed);
	/* a slow IMDS (0.8 s per answer, 3 answers) spends the login's
	 * single budget: timeout=2 ends it in time. */
	(void)kj_fmt(args, sizeof(args), "key_id=%s issuer=idp audience=web-1 endpoint=%s timeout=2 imds_endpoint=%s/imdsslow",
	    auth_key, auth_ep, fault_ep);
	EXPECT(args, atok, PAM_AUTHINFO_UNAVAIL, "IMDS");
	printf("# slow IMDS, timeout 2 s: PAM_AUTHINFO_UNAVAIL in %.3f s\n", pt_elapsed);
	CHECK(pt_elapsed <= 2 + MARGIN_S, "slow IMDS took %.3f s with timeout=2", pt_elapsed);
	/* leave no cached credentials behind */
	(void)kj_fmt(text, sizeof(text), "%s/", moto_ep);
	(void)kj_fmt(path, sizeof(path), "%s/web-identity-token", tmpdir);
	forget("sts", text, "arn:aws:iam::123456789012:role/kj-web", path);
	forget("sts", text, "arn:aws:iam::123456789012:role/kj-web-env", path);
	(void)kj_fmt(text, sizeof(text), "%s/ecs/creds", fault_ep);
	forget("ecs", text, "ecs-secret-token", NULL);
	(void)kj_fmt(text, sizeof(text), "%s/imds", fault_ep);
	forget("imds", text, "v2", NULL);
	(void)kj_fmt(text, sizeof(text), "%s/imdsv1", fault_ep);
	forget("imds", text, "v1", NULL);
	forget("imds", moto_ep, "v2", NULL);
	free(atok);
	free(mtok);
}

/* ---- endpoints: proxy, TLS, FIPS ---------------------------------------- */

static void
test_endpoints(void)
{
	char *tok = fault_token();
	char args[4096], extra[1024], text[256];
	struct kj_config c;
	struct kj_diag d;
	long before;

	clear_aws_env();
	/* proxy= is used ... */
	before = fault_count("proxy");
	(void)kj_fmt(extra, sizeof(extra), "proxy=%s", fault_ep);
	(void)kj_fmt(args, sizeof(args),
	    "key_id=" FAULT_KEY " issuer=idp audience=web-1 endpoint=http://127.0.0.1:1 credentials_file=%s profile=ok timeout=2 %s",
	    faultcreds, extra);
	EXPECT(args, tok, PAM_SUCCESS, "accepted");
	CHECK(fault_count("proxy") == before + 1, "proxy= not used");
	/* ... and the environment's proxy never is. */
	(void)kj_fmt(text, sizeof(text), "%s", fault_ep);
	(void)setenv("http_proxy", text, 1);
	(void)setenv("HTTP_PROXY", text, 1);
	(void)setenv("ALL_PROXY", text, 1);
	fault_args(args, sizeof(args), "ok", 2, "");
	EXPECT(args, tok, PAM_SUCCESS, "accepted");
	CHECK(fault_count("proxy") == before + 1, "a proxy from the environment was used");
	clear_aws_env();

	/* TLS: verified against ca_file; without it the system store refuses
	 * the test CA. */
	if (tls_ep[0] != '\0') {
		(void)kj_fmt(args, sizeof(args),
		    "key_id=" FAULT_KEY " issuer=idp audience=web-1 endpoint=%s credentials_file=%s profile=ok timeout=2 ca_file=%s",
		    tls_ep, faultcreds, ca);
		EXPECT(args, tok, PAM_SUCCESS, "accepted");
		(void)kj_fmt(args, sizeof(args),
		    "key_id=" FAULT_KEY " issuer=idp audience=web-1 endpoint=%s credentials_file=%s profile=ok timeout=2",
		    tls_ep, faultcreds);
		EXPECT(args, tok, PAM_AUTHINFO_UNAVAIL, "KMS request failed");
		CHECK(pt_elapsed < 1.0, "a TLS verification failure is not retried: %.3f s", pt_elapsed);
		if (getenv("KJ_TEST_CA_PATH") != NULL) {
			(void)kj_fmt(args, sizeof(args),
			    "key_id=" FAULT_KEY " issuer=idp audience=web-1 endpoint=%s credentials_file=%s profile=ok timeout=2 ca_path=%s",
			    tls_ep, faultcreds, getenv("KJ_TEST_CA_PATH"));
			EXPECT(args, tok, PAM_SUCCESS, "accepted");
		}
	}

	/* fips: another host, same region and signing name. */
	kj_config_defaults(&c);
	(void)kj_config_set(&c, "key_id", FAULT_KEY, &d);
	(void)kj_config_set(&c, "issuer", "idp", &d);
	(void)kj_config_set(&c, "audience", "web-1", &d);
	(void)kj_config_set(&c, "fips", NULL, &d);
	CHECK(kj_config_finish(&c, &d) == KJ_OK, "fips config: %s", d.reason);
	CHECK(strcmp(c.url, "https://kms-fips.us-east-1.amazonaws.com/") == 0, "fips url %s", c.url);
	CHECK(strcmp(c.host_header, "kms-fips.us-east-1.amazonaws.com") == 0, "fips host %s", c.host_header);
	free(tok);
}

/* ---- unit checks of the helpers ------------------------------------------- */

static void
test_helpers(void)
{
	static const char *const never[] = { "InvalidCiphertextException", "IncorrectKeyException",
		"AccessDeniedException", "NotFoundException", "DisabledException", "KMSInvalidStateException" };
	static const char *const again[] = { "ThrottlingException", "KMSInternalException",
		"KeyUnavailableException", "DependencyTimeoutException" };
	enum kj_host_class cls;
	char out[64], url[256];
	struct kj_diag d;
	size_t i;
	int https;

	for (i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
		CHECK(!kj_kms_retryable(400, never[i]) && !kj_kms_retryable(500, never[i]), "%s retried", never[i]);
		CHECK(kj_kms_classify(400, never[i]) == KJ_ERR_DENIED, "%s not denied", never[i]);
	}
	for (i = 0; i < sizeof(again) / sizeof(again[0]); i++) {
		CHECK(kj_kms_retryable(400, again[i]), "%s not retried", again[i]);
		CHECK(kj_kms_classify(400, again[i]) == KJ_ERR_UNAVAIL, "%s not unavailable", again[i]);
	}
	CHECK(kj_kms_retryable(500, "") && kj_kms_retryable(502, "") && kj_kms_retryable(503, "") &&
	    kj_kms_retryable(504, "") && !kj_kms_retryable(501, "") && !kj_kms_retryable(400, ""),
	    "5xx retry set");
	CHECK(kj_xml_text("<a><Code>Thr&amp;ottle</Code></a>", 34, "Code", out, sizeof(out)) == 0 &&
	    strcmp(out, "Thr&ottle") == 0, "xml text %s", out);
	CHECK(kj_xml_text("<Code>x", 7, "Code", out, sizeof(out)) != 0, "xml unterminated");
	CHECK(kj_xml_text("<Code><b/></Code>", 17, "Code", out, sizeof(out)) != 0, "xml nested");
	CHECK(kj_xml_text("<Code>&bogus;</Code>", 20, "Code", out, sizeof(out)) != 0, "xml entity");
	CHECK(kj_xml_text("<Code>0123456789</Code>", 23, "Code", out, 5) != 0, "xml too long");
	CHECK(kj_url_classify("http://127.0.0.9:80/x", &https, &cls) == 0 && !https && cls == KJ_HOST_LOOPBACK,
	    "127/8 loopback");
	CHECK(kj_url_classify("http://169.254.169.254", &https, &cls) == 0 && cls == KJ_HOST_LINKLOCAL, "IMDS link-local");
	CHECK(kj_url_classify("http://[fd00:ec2::254]/", &https, &cls) == 0 && cls == KJ_HOST_LINKLOCAL, "IMDS v6");
	CHECK(kj_url_classify("http://127.0.0.1.evil.com/", &https, &cls) == 0 && cls == KJ_HOST_OTHER, "dns trick");
	CHECK(kj_url_classify("http://127.0.0.1@evil.com/", &https, &cls) != 0, "userinfo refused");
	CHECK(kj_url_classify("ftp://127.0.0.1/", &https, &cls) != 0, "scheme");
	CHECK(kj_ecs_url("/v2/credentials/abc", NULL, url, sizeof(url), &d) == KJ_OK &&
	    strcmp(url, "http://169.254.170.2/v2/credentials/abc") == 0, "ECS relative: %s", url);
	CHECK(kj_ecs_url(NULL, "http://169.254.170.23/v1/credentials", url, sizeof(url), &d) == KJ_OK, "EKS agent");
	CHECK(kj_ecs_url(NULL, "https://creds.example.com/x", url, sizeof(url), &d) == KJ_OK, "https full URI");
	CHECK(kj_ecs_url(NULL, "http://169.254.169.254/x", url, sizeof(url), &d) == KJ_ERR_CONFIG,
	    "other link-local refused");
	CHECK(kj_ecs_url("no-slash", NULL, url, sizeof(url), &d) == KJ_ERR_CONFIG, "relative must start with /");
	{
		int64_t t = 0;

		CHECK(kj_iso8601_utc("2026-12-03T17:23:24Z", &t) == 0 && t == 1796318604, "iso8601: %lld", (long long)t);
		CHECK(kj_iso8601_utc("2026-12-03T17:23:24.123+00:00", &t) == 0 && t == 1796318604, "iso8601 frac");
		CHECK(kj_iso8601_utc("2026-12-03 17:23:24Z", &t) != 0, "iso8601 separator");
		CHECK(kj_iso8601_utc("2026-12-03T17:23:24+02:00", &t) != 0, "iso8601 offset");
		CHECK(kj_iso8601_utc("2026-12-03T17:23:2", &t) != 0, "iso8601 short");
	}
}

static void
load_creds(json_t *o, struct kj_creds *cr)
{
	memset(cr, 0, sizeof(*cr));
	(void)kj_strlcpy(cr->access_key_id, json_string_value(json_object_get(o, "AccessKeyId")),
	    sizeof(cr->access_key_id));
	(void)kj_strlcpy(cr->secret_access_key, json_string_value(json_object_get(o, "SecretAccessKey")),
	    sizeof(cr->secret_access_key));
	if (json_is_string(json_object_get(o, "Token")))
		(void)kj_strlcpy(cr->session_token, json_string_value(json_object_get(o, "Token")),
		    sizeof(cr->session_token));
}

static void
create_moto_key(void)
{
	struct kj_config c;
	struct kj_diag d;

	kj_config_defaults(&c);
	(void)kj_config_set(&c, "key_id", FAULT_KEY, &d);
	(void)kj_config_set(&c, "issuer", "idp", &d);
	(void)kj_config_set(&c, "audience", "web-1", &d);
	(void)kj_config_set(&c, "endpoint", moto_ep, &d);
	if (kj_config_finish(&c, &d) != KJ_OK) {
		fprintf(stderr, "CreateKey: %s\n", d.reason);
		exit(2);
	}
	pt_create_key(&c, &dummy_cr, moto_key, sizeof(moto_key));
}

int
main(void)
{
	const char *mod = getenv("KJ_TEST_MODULE"), *ep = getenv("KJ_TEST_ENDPOINT");
	const char *ai = getenv("KJ_TEST_AUTH_INFO"), *fi = getenv("KJ_TEST_FAULT"), *cafile = getenv("KJ_TEST_CA");
	static const char *const faults[] = { "ok", "hang", "slowbody", "reset", "shortbody", "burst503",
		"always503", "bad502", "throttle2", "throttle", "deptimeout1", "internal", "keyunavail", "garbage",
		"truncjson", "huge", "otherkey", "invalidct", "incorrectkey", "denied", "notfound", "disabled",
		"invalidstate", "clock", "reqexpired" };
	char text[8192], path[PATH_MAX];
	json_t *auth, *fault;
	size_t i, pos = 0;

	if (mod == NULL || ep == NULL || ai == NULL || fi == NULL) {
		fprintf(stderr, "test_aws: run through tests/run-aws.sh\n");
		return 2;
	}
	if (mkdtemp(tmpdir) == NULL || realpath(mod, module) == NULL)
		return 2;
	auth = json_load_file(ai, 0, NULL);
	fault = json_load_file(fi, 0, NULL);
	if (auth == NULL || fault == NULL)
		return 2;
	(void)kj_strlcpy(moto_ep, ep, sizeof(moto_ep));
	(void)kj_fmt(auth_ep, sizeof(auth_ep), "http://127.0.0.1:%lld",
	    (long long)json_integer_value(json_object_get(auth, "port")));
	(void)kj_strlcpy(auth_key, json_string_value(json_object_get(auth, "key")), sizeof(auth_key));
	(void)kj_strlcpy(auth_role, json_string_value(json_object_get(auth, "role")), sizeof(auth_role));
	load_creds(json_object_get(auth, "user"), &user_cr);
	load_creds(json_object_get(auth, "session"), &sess_cr);
	fault_port = (int)json_integer_value(json_object_get(fault, "port"));
	(void)kj_fmt(fault_ep, sizeof(fault_ep), "http://127.0.0.1:%d", fault_port);
	if (json_is_integer(json_object_get(fault, "tls_port")) && cafile != NULL) {
		(void)kj_fmt(tls_ep, sizeof(tls_ep), "https://127.0.0.1:%lld",
		    (long long)json_integer_value(json_object_get(fault, "tls_port")));
		(void)kj_strlcpy(ca, cafile, sizeof(ca));
	}
	json_decref(auth);
	json_decref(fault);
	(void)kj_strlcpy(dummy_cr.access_key_id, "AKIDTEST", sizeof(dummy_cr.access_key_id));
	(void)kj_strlcpy(dummy_cr.secret_access_key, "s3cr3t", sizeof(dummy_cr.secret_access_key));

	(void)kj_fmt(confdir, sizeof(confdir), "%s/pam.d", tmpdir);
	(void)mkdir(confdir, 0755);
	/* one profile per fault: the access key id names the fault */
	(void)kj_fmt(faultcreds, sizeof(faultcreds), "%s/fault-credentials", tmpdir);
	text[0] = '\0';
	for (i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
		(void)kj_fmt(text + pos, sizeof(text) - pos, "[%s]\naws_access_key_id = %s\naws_secret_access_key = x\n",
		    faults[i], faults[i]);
		pos += strlen(text + pos);
	}
	pt_write_file(faultcreds, text, 0600);
	create_moto_key();
	{
		const char *parts[2] = { "test_aws probe", tmpdir };
		struct kj_creds probe;
		char desc[64];

		memset(&probe, 0, sizeof(probe));
		(void)kj_strlcpy(probe.access_key_id, "AKIDPROBE", sizeof(probe.access_key_id));
		(void)kj_strlcpy(probe.secret_access_key, "probe", sizeof(probe.secret_access_key));
		(void)kj_strlcpy(probe.expiration, "2999-01-01T00:00:00Z", sizeof(probe.expiration));
		(void)kj_creds_cache_get(parts, 2, desc, sizeof(desc), &probe);
		kj_creds_cache_put(desc, &probe);
		cache_works = kj_creds_cache_get(parts, 2, desc, sizeof(desc), &probe) &&
		    strcmp(probe.access_key_id, "AKIDPROBE") == 0;
		kj_creds_cache_drop(&probe);
		/* credentials expiring within the 5-minute margin are not cached */
		{
			time_t soon = time(NULL) + 200;
			struct tm tm;

			(void)gmtime_r(&soon, &tm);
			(void)strftime(probe.expiration, sizeof(probe.expiration), "%Y-%m-%dT%H:%M:%SZ", &tm);
			probe.cache_desc[0] = '\0';
			kj_creds_cache_put(desc, &probe);
			CHECK(probe.cache_desc[0] == '\0' && !kj_creds_cache_get(parts, 2, desc, sizeof(desc), &probe),
			    "credentials expiring in 200 s were cached");
		}
		printf("# credentials cache (kernel keyring): %s\n", cache_works ? "usable" : "not usable here");
	}

	test_helpers();
	test_sources();
	test_endpoints();
	test_fault_table();

	(void)unlink(faultcreds);
	(void)kj_fmt(path, sizeof(path), "%s/kjaws", confdir);
	(void)unlink(path);
	(void)rmdir(confdir);
	(void)rmdir(tmpdir);
	kj_creds_wipe(&user_cr);
	kj_creds_wipe(&sess_cr);
	pt_logs_free();
	DONE("aws");
}
