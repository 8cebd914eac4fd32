/* Allocation-failure injection on the auth path, through libpam. The
 * module under test (pam_kmsjwt_oom.so) is linked with
 * -Wl,--wrap=malloc,calloc,realloc,strdup so each allocation of its own code
 * asks this program whether to fail (tests/oom_alloc.c); jansson and
 * OpenSSL are pointed at the same allocator (but see fail_malloc). For every N the Nth allocation
 * of one login fails, then every Nth: a token that must be refused is never
 * accepted, a valid one is never accepted after the module's own
 * allocation failed (OpenSSL absorbs a failed method-cache insertion), and
 * nothing crashes (the ASan build runs this too). */
#include <dirent.h>
#include <openssl/crypto.h>
#include <time.h>

#include "check.h"
#include "harness.h"
#include "oom_ctl.h"

struct kj_oom_ctl kj_oom_ctl; /* the module's allocator reads it (dlsym) */

/* jansson and OpenSSL are shared libraries: their allocations for the
 * module come here. Except inside json_loadb (shielded by the module's
 * wrapper, tests/oom_alloc.c): jansson 2.14's lexer ignores a failed
 * strbuffer growth (lex_save) and then overruns a heap buffer while scanning
 * a string (upstream akheron/jansson#362, fix proposed in #747). This test
 * found that; it is jansson's to fix, and reachable only when malloc fails. */
static void *
fail_malloc(size_t n)
{
	return kj_oom_should_fail(&kj_oom_ctl, 0) ? NULL : malloc(n);
}

static void *
ossl_malloc(size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return fail_malloc(n);
}

static void *
ossl_realloc(void *p, size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return kj_oom_should_fail(&kj_oom_ctl, 0) ? NULL : realloc(p, n);
}

static void
ossl_free(void *p, const char *file, int line)
{
	(void)file;
	(void)line;
	free(p);
}

static char cache[PATH_MAX], map[PATH_MAX];
static int64_t now;

enum tkind { VALID, WRONG_USER, FORGED };
static const char *const tkind_name[] = { "valid token", "token for another user", "forged token" };

/* One login with allocation failures armed; returns the PAM code. */
static int
one(enum tkind k, int serial, long at, long every, struct kj_oom_ctl *out)
{
	struct pam_conv pc = { h_conv, NULL };
	pam_handle_t *pamh = NULL;
	char jti[32], claims[512];
	char *t;
	int rc;

	(void)kj_fmt(jti, sizeof(jti), "oom-%d", serial);
	(void)kj_fmt(claims, sizeof(claims),
	    "{\"iss\":\"idp\",\"sub\":\"svc\",\"aud\":\"web-1\",\"iat\":%lld,\"exp\":%lld,\"jti\":\"%s\"}",
	    (long long)now, (long long)now + 300, jti);
	t = h_craft("{\"alg\":\"KMS\"}", claims, "{\"email\":\"ops@example.com\",\"groups\":[\"a\",\"b\"]}",
	    KJ_FAKE_KEY1, "web-1", "svc");
	if (k == FORGED) /* one bit of the sealed part's last byte */
		t[strlen(t) - 2] = (char)(t[strlen(t) - 2] == 'A' ? 'B' : 'A');
	h_answer = t;
	h_all_len = 0;
	if (pam_start_confdir("kjtest", k == WRONG_USER ? "nobody" : "daemon", &pc, h_confdir, &pamh) !=
	    PAM_SUCCESS)
		abort();
	memset(&kj_oom_ctl, 0, sizeof(kj_oom_ctl));
	kj_oom_ctl.fail_at = at;
	kj_oom_ctl.every = every;
	if (getenv("KJ_OOM_VERBOSE") != NULL)
		fprintf(stderr, "oom: %s at=%ld every=%ld\n", tkind_name[k], at, every);
	kj_oom_ctl.armed = 1;
	rc = pam_authenticate(pamh, 0);
	kj_oom_ctl.armed = 0;
	*out = kj_oom_ctl;
	pam_end(pamh, rc);
	free(t);
	return rc;
}

int
main(int argc, char **argv)
{
	static const int control_rc[] = { PAM_SUCCESS, PAM_AUTH_ERR, PAM_AUTH_ERR };
	char args[4096];
	struct kj_oom_ctl st;
	int rc, serial = 0, k;
	long n, every, runs = 0, absorbed = 0, total_allocs = 0;
	unsigned outcomes[64], i;

	/* Before anything allocates through OpenSSL. */
	if (CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc, ossl_free) != 1)
		return 2;
	json_set_alloc_funcs(fail_malloc, free);
	if (h_setup(argc > 1 ? argv[1] : NULL) != 0)
		return 2;
	now = (int64_t)time(NULL);
	(void)kj_fmt(cache, sizeof(cache), "%s/replay", h_tmpdir);
	(void)kj_fmt(map, sizeof(map), "%s/users.map", h_tmpdir);
	if (mkdir(cache, 0700) != 0)
		return 2;
	h_write_file(map, "*@example.com daemon\n", 0600);
	/* Every file-reading and JSON path: config options, credentials file,
	 * user map from a payload claim, replay cache, debug logging. */
	(void)kj_fmt(args, sizeof(args),
	    "key_id=%s issuer=idp audience=web-1 endpoint=http://127.0.0.1:9 credentials_file=%s "
	    "replay_cache=%s user_map=%s user_claim=email debug",
	    KJ_FAKE_KEY1, h_credfile, cache, map);
	h_set_args(args);
	pam_syslog(NULL, 0, "start"); /* the log buffer is allocated unarmed */
	memset(outcomes, 0, sizeof(outcomes));

	for (k = VALID; k <= FORGED; k++) {
		rc = one((enum tkind)k, serial++, 0, 0, &st);
		CHECK(rc == control_rc[k], "%s, no failure: %d %s", tkind_name[k], rc, h_last_log);
		/* The Nth allocation fails, for every N until a run has no Nth. */
		for (n = 1; n < 100000; n++) {
			rc = one((enum tkind)k, serial++, n, 0, &st);
			if (st.n_failed == 0) {
				CHECK(rc == control_rc[k], "%s: nothing failed at %ld, yet %d: %s", tkind_name[k], n, rc,
				    h_last_log);
				break;
			}
			runs++;
			if (rc >= 0 && rc < 64)
				outcomes[rc]++;
			if (k != VALID || st.n_ours > 0)
				CHECK(rc != PAM_SUCCESS, "%s: allocation %ld failed, yet PAM_SUCCESS", tkind_name[k], n);
			else if (rc == PAM_SUCCESS)
				absorbed++;
		}
		total_allocs += n - 1;
		printf("# oom: %s: %ld allocations, each made to fail in turn\n", tkind_name[k], n - 1);
		/* Every Nth allocation fails. */
		for (every = 2; every <= 12; every++) {
			rc = one((enum tkind)k, serial++, 0, every, &st);
			runs++;
			if (rc >= 0 && rc < 64)
				outcomes[rc]++;
			if (st.n_failed > 0 && (k != VALID || st.n_ours > 0))
				CHECK(rc != PAM_SUCCESS, "%s: every %ld failed, yet PAM_SUCCESS", tkind_name[k], every);
		}
	}
	printf("# oom: %ld runs with failures injected; outcomes:", runs);
	for (i = 0; i < 64; i++) {
		if (outcomes[i] > 0)
			printf(" %s=%u", pam_strerror(NULL, (int)i), outcomes[i]);
	}
	printf("; %ld valid-token successes after a failure a library absorbed\n", absorbed);
	CHECK(total_allocs > 100, "the auth path allocates (%ld)", total_allocs);

	/* Leave nothing behind. */
	{
		DIR *d = opendir(cache);
		struct dirent *e;
		char p[PATH_MAX + 300];

		while (d != NULL && (e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			(void)kj_fmt(p, sizeof(p), "%s/%s", cache, e->d_name);
			(void)unlink(p);
		}
		if (d != NULL)
			closedir(d);
	}
	(void)rmdir(cache);
	(void)unlink(map);
	h_teardown();
	DONE("oom");
}
