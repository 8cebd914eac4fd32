/* PAM-level tests: pam_start_confdir + the built module + a local KMS (moto).
 * Every case asserts the exact PAM code and the logged reason.
 * Environment: KJ_TEST_ENDPOINT (http://127.0.0.1:PORT), KJ_TEST_MODULE. */
#include <arpa/inet.h>
#include <limits.h>
#include <fcntl.h>
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
#include "../lib/kms.h"
#include "../lib/mint.h"
#include "../lib/token.h"
#include "check.h"
#include "pamtest.h"

static char tmpdir[] = "/tmp/kjpam.XXXXXX";
static char confdir[300], credfile[300], endpoint[128], module[PATH_MAX];
static char k1[KJ_ARN_MAX], k2[KJ_ARN_MAX], k3[KJ_ARN_MAX];
static struct kj_config kcfg;
static struct kj_creds kcreds;


/* PAM_USER after auth, and the account phase, for run_pam. */
struct after_auth {
	char *user_out;
	size_t user_out_size;
	int *acct_rc;
};

static void
after_auth(pam_handle_t *pamh, void *arg)
{
	struct after_auth *a = arg;
	const void *item = NULL;

	if (a->user_out != NULL) {
		a->user_out[0] = '\0';
		if (pam_get_item(pamh, PAM_USER, &item) == PAM_SUCCESS && item != NULL)
			(void)kj_strlcpy(a->user_out, item, a->user_out_size);
	}
	if (a->acct_rc != NULL)
		*a->acct_rc = pam_acct_mgmt(pamh, 0);
}

/* Run one "auth" (and optionally "account") through libpam with the given
 * module arguments; returns the PAM code, PAM_USER after auth in user_out. */
static int
run_pam(const char *args, const char *user, const char *token, char *user_out, size_t user_out_size,
    int *acct_rc)
{
	struct after_auth a = { user_out, user_out_size, acct_rc };

	pt_service(confdir, "kjtest", module, args, 1);
	pt_answer = token;
	return pt_authenticate(confdir, "kjtest", user, NULL, after_auth, &a);
}

static char base_args[2048];

/* Arguments for a host: audience "web-1", issuer "idp", key k1. */
static void
make_base_args(void)
{
	(void)kj_fmt(base_args, sizeof(base_args),
	    "key_id=%s issuer=idp audience=web-1 endpoint=%s credentials_file=%s timeout=3", k1, endpoint,
	    credfile);
}

/* A token from raw JSON texts, sealed under key with context (aud, sub). */
static char *
craft(const char *hdr, const char *claims, const char *payload, const char *key, const char *aud,
    const char *sub)
{
	return pt_craft(&kcfg, &kcreds, hdr, claims, payload, key, aud, sub);
}

static char *
claims_json(const char *sub, const char *aud, const char *iss, int64_t iat, int64_t exp, const char *extra)
{
	char *c = malloc(2048);

	(void)kj_fmt(c, 2048, "{\"iss\":\"%s\",\"sub\":\"%s\",\"aud\":\"%s\",\"iat\":%lld,\"exp\":%lld%s}", iss, sub,
	    aud, (long long)iat, (long long)exp, extra);
	return c;
}

static char *
tok_for(const char *sub, const char *aud, const char *iss, int64_t iat, int64_t exp, const char *extra,
    const char *payload, const char *key)
{
	char *c = claims_json(sub, aud, iss, iat, exp, extra);
	char *t = craft("{\"alg\":\"KMS\"}", c, payload, key, aud, sub);

	free(c);
	return t;
}

#define EXPECT(args, user, token, want_rc, want_reason)                                          \
	do {                                                                                     \
		int rc_ = run_pam((args), (user), (token), NULL, 0, NULL);                       \
		CHECK(rc_ == (want_rc), "%s: got %d (%s), want %d; log: %s", (want_reason), rc_, \
		    pam_strerror(NULL, rc_), (want_rc), pt_last_log);                            \
		CHECK_CONTAINS(pt_last_log, (want_reason));                                      \
	} while (0)

static void
create_keys(void)
{
	pt_create_key(&kcfg, &kcreds, k1, sizeof(k1));
	pt_create_key(&kcfg, &kcreds, k2, sizeof(k2));
	pt_create_key(&kcfg, &kcreds, k3, sizeof(k3));
}

/* A TCP port that accepts connections (backlog) but never answers. */
static int
silent_port(int *fd_out)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 16) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0)
		abort();
	*fd_out = fd;
	return ntohs(a.sin_port);
}

static void
test_success(void)
{
	int64_t now = (int64_t)time(NULL);
	char *t = tok_for("daemon", "web-1", "idp", now, now + 300, ",\"jti\":\"j-1\"", "{\"groups\":[\"ops\"]}", k1);
	char user[64];
	int acct = 0, rc;

	rc = run_pam(base_args, NULL, t, user, sizeof(user), &acct);
	CHECK(rc == PAM_SUCCESS, "valid token, no user: %d %s", rc, pt_last_log);
	CHECK(strcmp(user, "daemon") == 0, "PAM_USER set to the mapped user: %s", user);
	CHECK(acct == PAM_SUCCESS, "account after token auth: %d", acct);
	rc = run_pam(base_args, "daemon", t, NULL, 0, NULL);
	CHECK(rc == PAM_SUCCESS, "valid token, matching user: %d %s", rc, pt_last_log);
	CHECK_CONTAINS(pt_last_log, "accepted; iss=\"idp\" sub=\"daemon\" jti=\"j-1\" key=");
	CHECK_CONTAINS(pt_last_log, k1);
	CHECK_CONTAINS(pt_last_log, "user=daemon mode=direct");
	CHECK(strstr(pt_last_log, t) == NULL && strstr(pt_last_log, "groups") == NULL, "no token or payload in log");
	EXPECT(base_args, "nobody", t, PAM_AUTH_ERR, "token is for user daemon, login is for nobody");
	{
		char args[2300];

		(void)kj_fmt(args, sizeof(args), "%s try_first_pass debug", base_args);
		EXPECT(args, "daemon", t, PAM_SUCCESS, "accepted");
	}
	free(t);
	/* A token minted by the library's issuer (as `kmsjwt mint` does). */
	{
		struct kj_mint_req m;
		struct kj_diag d;
		char *mt = NULL;

		memset(&m, 0, sizeof(m));
		m.key_id = k1;
		m.iss = "idp";
		m.sub = "daemon";
		m.aud = "web-1";
		m.iat = now;
		m.exp = now + 60;
		CHECK(kj_mint(&kcfg, &kcreds, &m, &mt, &d) == KJ_OK, "mint: %s", d.reason);
		EXPECT(base_args, "daemon", mt, PAM_SUCCESS, "accepted");
		kj_free_secret_str(mt);
	}
	/* No account stack credit without a token login in this handle. */
	rc = run_pam(base_args, "daemon", "", NULL, 0, &acct);
	CHECK(rc == PAM_AUTH_ERR && acct != PAM_SUCCESS, "account without token login: auth %d acct %d", rc, acct);
}

static void
test_refusals(void)
{
	int64_t now = (int64_t)time(NULL);
	char *t, *t2, *spliced, *c, big[9000], args[2400];
	const char *dot;

	EXPECT(base_args, "daemon", "", PAM_AUTH_ERR, "empty token");
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	EXPECT(base_args, "daemon", big, PAM_AUTH_ERR, "longer than 8192");
	EXPECT(base_args, "daemon", "not-a-token", PAM_AUTH_ERR, "exactly 3 segments");

	t = tok_for("daemon", "web-1", "idp", now - 1000, now - 100, "", "{}", k1);
	EXPECT(base_args, "daemon", t, PAM_AUTH_ERR, "token expired");
	free(t);
	t = tok_for("daemon", "web-1", "idp", now, now + 300, ",\"nbf\":9999999999", "{}", k1);
	EXPECT(base_args, "daemon", t, PAM_AUTH_ERR, "(nbf)");
	free(t);
	t = tok_for("daemon", "web-1", "idp", now + 600, now + 900, "", "{}", k1);
	EXPECT(base_args, "daemon", t, PAM_AUTH_ERR, "(iat)");
	free(t);
	t = tok_for("daemon", "web-1", "idp", now, now + 7200, "", "{}", k1);
	EXPECT(base_args, "daemon", t, PAM_AUTH_ERR, "exceeds max_ttl 3600");
	free(t);
	t = tok_for("daemon", "web-1", "evil-idp", now, now + 300, "", "{}", k1);
	EXPECT(base_args, "daemon", t, PAM_AUTH_ERR, "issuer \"evil-idp\" is not allowed");
	free(t);
	t = tok_for("daemon", "web-2", "idp", now, now + 300, "", "{}", k1);
	EXPECT(base_args, "daemon", t, PAM_AUTH_ERR, "audience \"web-2\" is not this host's");
	free(t);

	/* Header problems. */
	c = claims_json("daemon", "web-1", "idp", now, now + 300, "");
	t = craft("{\"alg\":\"none\"}", c, "{}", k1, "web-1", "daemon");
	EXPECT(base_args, "daemon", t, PAM_AUTH_ERR, "alg \"none\" is not allowed");
	free(t);
	t = craft("{\"alg\":\"HS256\"}", c, "{}", k1, "web-1", "daemon");
	EXPECT(base_args, "daemon", t, PAM_AUTH_ERR, "alg \"HS256\" is not allowed");
	free(t);
	t = craft("{\"alg\":\"KMS\",\"crit\":[\"exp\"]}", c, "{}", k1, "web-1", "daemon");
	EXPECT(base_args, "daemon", t, PAM_AUTH_ERR, "crit");
	free(t);
	free(c);
	t = craft("{\"alg\":\"KMS\"}",
	    "{\"iss\":\"idp\",\"sub\":\"daemon\",\"sub\":\"root\",\"aud\":\"web-1\",\"iat\":1,\"exp\":2}", "{}", k1,
	    "web-1", "daemon");
	EXPECT(base_args, "daemon", t, PAM_AUTH_ERR, "duplicate");
	free(t);
	t = craft("{\"alg\":\"KMS\"}", "{\"iss\":\"idp\",\"sub\":\"daemon\",\"aud\":[\"web-1\"],\"iat\":1,\"exp\":2}",
	    "{}", k1, "web-1", "daemon");
	EXPECT(base_args, "daemon", t, PAM_AUTH_ERR, "single string");
	free(t);

	/* Tampered claims: same sealed part, sub changed in the clear. */
	t = tok_for("daemon", "web-1", "idp", now, now + 300, "", "{}", k1);
	c = claims_json("nobody", "web-1", "idp", now, now + 300, "");
	{
		char *cb = kj_b64_encode_alloc(KJ_B64URL, (const uint8_t *)c, strlen(c));
		const char *d1 = strchr(t, '.'), *d2 = strchr(d1 + 1, '.');
		char forged[8192];

		(void)kj_fmt(forged, sizeof(forged), "%.*s.%s%s", (int)(d1 - t), t, cb, d2);
		EXPECT(base_args, "nobody", forged, PAM_AUTH_ERR, "InvalidCiphertextException");
		/* the same with the exp pushed out */
		free(cb);
	}
	free(c);
	/* Spliced: t2's header+claims with t's sealed part. */
	t2 = tok_for("daemon", "web-1", "idp", now, now + 600, "", "{}", k1);
	dot = strrchr(t2, '.');
	spliced = malloc(strlen(t) + strlen(t2));
	(void)kj_fmt(spliced, strlen(t) + strlen(t2), "%.*s%s", (int)(dot - t2), t2, strrchr(t, '.'));
	EXPECT(base_args, "daemon", spliced, PAM_AUTH_ERR, "InvalidCiphertextException");
	free(spliced);
	/* Truncated sealed part. */
	t[strlen(t) - 8] = '\0';
	EXPECT(base_args, "daemon", t, PAM_AUTH_ERR, "refused");
	free(t);
	free(t2);

	/* Wrong key: sealed under k2 while the host pins k1. */
	t = tok_for("daemon", "web-1", "idp", now, now + 300, "", "{}", k2);
	EXPECT(base_args, "daemon", t, PAM_AUTH_ERR, "KMS HTTP 400");
	/* Several allowed keys: KMS decrypts under k2, pinning refuses it. */
	(void)kj_fmt(args, sizeof(args), "%s key_id=%s,%s", base_args, k1, k3);
	EXPECT(args, "daemon", t, PAM_AUTH_ERR, "which is not in key_id");
	(void)kj_fmt(args, sizeof(args), "%s key_id=%s,%s", base_args, k3, k2);
	EXPECT(args, "daemon", t, PAM_SUCCESS, "accepted");
	free(t);

	/* Payload rules. */
	t = tok_for("daemon", "web-1", "idp", now, now + 300, "", "{\"sub\":\"root\"}", k1);
	EXPECT(base_args, "daemon", t, PAM_AUTH_ERR, "payload repeats the claim \"sub\"");
	free(t);
	t = tok_for("daemon", "web-1", "idp", now, now + 300, "", "[1,2]", k1);
	EXPECT(base_args, "daemon", t, PAM_AUTH_ERR, "payload is not a JSON object");
	free(t);
	t = tok_for("daemon", "web-1", "idp", now, now + 300, "", "{\"a\":1,\"a\":2}", k1);
	EXPECT(base_args, "daemon", t, PAM_AUTH_ERR, "payload is not a JSON object");
	free(t);

	/* Users. */
	t = tok_for("kj-no-such-user", "web-1", "idp", now, now + 300, "", "{}", k1);
	EXPECT(base_args, NULL, t, PAM_USER_UNKNOWN, "no local account kj-no-such-user");
	free(t);
	t = tok_for("root", "web-1", "idp", now, now + 300, "", "{}", k1);
	EXPECT(base_args, "root", t, PAM_AUTH_ERR, "allow_root is off");
	(void)kj_fmt(args, sizeof(args), "%s allow_root", base_args);
	EXPECT(args, "root", t, PAM_SUCCESS, "accepted");
	free(t);
	t = tok_for("a/../b", "web-1", "idp", now, now + 300, "", "{}", k1);
	EXPECT(base_args, NULL, t, PAM_AUTH_ERR, "is not a valid user name");
	free(t);
	/* user_claim from the payload, through a map file. */
	{
		char map[400];

		(void)kj_fmt(map, sizeof(map), "%s/users.map", tmpdir);
		pt_write_file(map, "*@example.com daemon\n", 0600);
		t = tok_for("svc-123", "web-1", "idp", now, now + 300, "", "{\"email\":\"alice@example.com\"}", k1);
		(void)kj_fmt(args, sizeof(args), "%s user_claim=email user_map=%s", base_args, map);
		EXPECT(args, "daemon", t, PAM_SUCCESS, "user=daemon");
		free(t);
		t = tok_for("svc-123", "web-1", "idp", now, now + 300, "", "{\"email\":\"eve@evil.com\"}", k1);
		EXPECT(args, "daemon", t, PAM_AUTH_ERR, "no user_map entry matches \"eve@evil.com\"");
		free(t);
		(void)unlink(map);
	}
}

static void
test_unavailable_and_config(void)
{
	int64_t now = (int64_t)time(NULL);
	char *t = tok_for("daemon", "web-1", "idp", now, now + 300, "", "{}", k1);
	char args[2400], path[400];
	double t0, el;
	int fd, port;

	/* Nothing listening. */
	port = silent_port(&fd);
	close(fd);
	(void)kj_fmt(args, sizeof(args), "%s endpoint=http://127.0.0.1:%d", base_args, port);
	EXPECT(args, "daemon", t, PAM_AUTHINFO_UNAVAIL, "KMS request failed");
	/* Accepts, never answers: bounded by timeout=1. */
	port = silent_port(&fd);
	(void)kj_fmt(args, sizeof(args), "%s endpoint=http://127.0.0.1:%d timeout=1", base_args, port);
	t0 = pt_now_s();
	EXPECT(args, "daemon", t, PAM_AUTHINFO_UNAVAIL, "did not answer within 1000 ms");
	el = pt_now_s() - t0;
	CHECK(el >= 0.9 && el < 1.8, "hung KMS ends the login in %.2f s", el);
	close(fd);
	/* Credentials. */
	(void)kj_fmt(args, sizeof(args), "%s profile=nosuch", base_args);
	EXPECT(args, "daemon", t, PAM_AUTHINFO_UNAVAIL, "profile 'nosuch' not found");
	(void)chmod(credfile, 0666);
	EXPECT(base_args, "daemon", t, PAM_SERVICE_ERR, "writable by group or others");
	(void)chmod(credfile, 0600);

	/* Configuration errors. */
	(void)kj_fmt(args, sizeof(args), "%s colour=blue", base_args);
	EXPECT(args, "daemon", t, PAM_SERVICE_ERR, "unknown option 'colour'");
	EXPECT("issuer=idp audience=web-1", "daemon", t, PAM_SERVICE_ERR, "key_id is required");
	(void)kj_fmt(args, sizeof(args), "%s endpoint=http://kms.example.com", base_args);
	EXPECT(args, "daemon", t, PAM_SERVICE_ERR, "only allowed to loopback");
	(void)kj_fmt(args, sizeof(args), "%s leeway=-1", base_args);
	EXPECT(args, "daemon", t, PAM_SERVICE_ERR, "leeway: expected a whole number from 0 to 600");

	/* Everything from a config file; arguments override it. */
	(void)kj_fmt(path, sizeof(path), "%s/kmsjwt.conf", tmpdir);
	{
		char text[2400];

		(void)kj_fmt(text, sizeof(text),
		    "# host config\nkey_id = %s\nissuer = idp\naudience = web-1\nendpoint = %s\ncredentials_file = %s\n",
		    k1, endpoint, credfile);
		pt_write_file(path, text, 0644);
	}
	(void)kj_fmt(args, sizeof(args), "config=%s", path);
	EXPECT(args, "daemon", t, PAM_SUCCESS, "accepted");
	(void)kj_fmt(args, sizeof(args), "config=%s audience=db-1", path);
	EXPECT(args, "daemon", t, PAM_AUTH_ERR, "audience \"web-1\" is not this host's");
	(void)chmod(path, 0666);
	(void)kj_fmt(args, sizeof(args), "config=%s", path);
	EXPECT(args, "daemon", t, PAM_SERVICE_ERR, "writable by group or others");
	(void)unlink(path);
	free(t);
}

int
main(void)
{
	const char *ep = getenv("KJ_TEST_ENDPOINT"), *mod = getenv("KJ_TEST_MODULE");
	struct kj_diag d;
	char text[256];

	if (ep == NULL || mod == NULL) {
		fprintf(stderr, "test_pam: set KJ_TEST_ENDPOINT and KJ_TEST_MODULE (tests/run-integration.sh does)\n");
		return 2;
	}
	if (mkdtemp(tmpdir) == NULL)
		return 2;
	(void)kj_strlcpy(endpoint, ep, sizeof(endpoint));
	if (realpath(mod, module) == NULL) {
		perror(mod);
		return 2;
	}
	(void)kj_fmt(confdir, sizeof(confdir), "%s/pam.d", tmpdir);
	(void)mkdir(confdir, 0755);
	(void)kj_fmt(credfile, sizeof(credfile), "%s/credentials", tmpdir);
	(void)kj_fmt(text, sizeof(text), "[default]\naws_access_key_id = AKIDTEST\naws_secret_access_key = s3cr3t\n");
	pt_write_file(credfile, text, 0600);

	if (pt_kms_config(&kcfg, &kcreds, "arn:aws:kms:us-east-1:123456789012:key/x", "web-1", endpoint, credfile, &d) !=
	    KJ_OK) {
		fprintf(stderr, "test_pam: %s\n", d.reason);
		return 2;
	}
	create_keys();
	make_base_args();

	test_success();
	test_refusals();
	test_unavailable_and_config();

	(void)unlink(credfile);
	(void)kj_fmt(text, sizeof(text), "%s/kjtest", confdir);
	(void)unlink(text);
	(void)rmdir(confdir);
	(void)rmdir(tmpdir);
	kj_creds_wipe(&kcreds);
	pt_logs_free();
	DONE("pam");
}
