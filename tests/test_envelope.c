/* Envelope mode through libpam: formats, tampering, audiences, the keyring
 * cache (KMS unreachable, corruption, concurrency, who can read it) and the
 * KMS call counts.
 * Environment: KJ_TEST_ENDPOINT, KJ_TEST_MODULE, KJ_TEST_BOTO3_TOKEN_CMD
 * (optional: prints an envelope token from an independent issuer). */
#include <errno.h>
#include <keyutils.h>
#include <limits.h>
#include <security/pam_appl.h>
#include <security/pam_ext.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../lib/b64.h"
#include "../lib/cache.h"
#include "../lib/config.h"
#include "../lib/creds.h"
#include "../lib/envelope.h"
#include "../lib/http.h"
#include "../lib/kms.h"
#include "../lib/mint.h"
#include "check.h"
#include "pamtest.h"

static char tmpdir[] = "/tmp/kjenv.XXXXXX";
static char confdir[300], credfile[300], endpoint[128], module[PATH_MAX], aud[64], aud2[64];
static char k1[KJ_ARN_MAX], k2[KJ_ARN_MAX];
static char base_args[2048];
static struct kj_config kcfg;
static struct kj_creds kcreds;

/* One login through a service file of this process's own (the
 * concurrency test logs in from several processes at once). */
static int
login(const char *args, const char *user, const char *token)
{
	char service[64], path[400];
	int rc;

	(void)kj_fmt(service, sizeof(service), "kjenv-%d", (int)getpid());
	rc = pt_run(confdir, service, module, args, user, token);
	(void)kj_fmt(path, sizeof(path), "%s/%s", confdir, service);
	(void)unlink(path);
	return rc;
}

#define EXPECT(args, user, token, want_rc, want_reason)                                          \
	do {                                                                                     \
		int rc_ = login((args), (user), (token));                                        \
		CHECK(rc_ == (want_rc), "%s: got %d (%s), want %d; log: %s", (want_reason), rc_, \
		    pam_strerror(NULL, rc_), (want_rc), pt_last_log);                            \
		CHECK_CONTAINS(pt_last_log, (want_reason));                                      \
	} while (0)

/* KMS requests of one kind so far, from the counting wrapper around moto. */
static long
kms_count(const char *action)
{
	struct kj_http_resp r;
	struct kj_diag d;
	char url[200];
	json_t *j, *v;
	long n = -1;

	(void)kj_fmt(url, sizeof(url), "%s__kj/count", kcfg.url);
	if (kj_http_post(url, NULL, 0, "", 0, 3000, 65536, &r, &d) != KJ_OK)
		return -1;
	j = json_loadb(r.body, r.len, 0, NULL);
	v = json_object_get(j, action);
	n = json_is_integer(v) ? (long)json_integer_value(v) : 0;
	json_decref(j);
	kj_http_resp_free(&r);
	return n;
}

static char *
mint_env(const char *key, const char *audience, const char *sub, const char *payload, unsigned age,
    unsigned uses)
{
	struct kj_mint_req m;
	struct kj_diag d;
	char *t = NULL;

	memset(&m, 0, sizeof(m));
	m.key_id = key;
	m.iss = "idp";
	m.sub = sub;
	m.aud = audience;
	m.iat = (int64_t)time(NULL);
	m.exp = m.iat + 300;
	m.payload = payload;
	m.envelope = 1;
	m.dk_max_age = age;
	m.dk_max_uses = uses;
	if (kj_mint(&kcfg, &kcreds, &m, &t, &d) != KJ_OK) {
		fprintf(stderr, "mint: %s\n", d.reason);
		abort();
	}
	return t;
}

/* Decode the sealed part, let f change it, re-encode. */
static char *
resealed(const char *tok, void (*f)(uint8_t *, size_t *))
{
	const char *dot = strrchr(tok, '.');
	uint8_t *raw = NULL, buf[8192];
	size_t n = 0, len;
	char *b, *out;

	if (kj_b64_decode(KJ_B64URL, dot + 1, strlen(dot + 1), &raw, &n) != 0 || n > sizeof(buf))
		abort();
	memcpy(buf, raw, n);
	free(raw);
	f(buf, &n);
	b = kj_b64_encode_alloc(KJ_B64URL, buf, n);
	len = (size_t)(dot - tok) + 1 + strlen(b) + 1;
	out = malloc(len);
	(void)kj_fmt(out, len, "%.*s.%s", (int)(dot - tok), tok, b);
	free(b);
	return out;
}

static void flip_edk(uint8_t *s, size_t *n) { (void)n; s[2 + 40] ^= 1; }
static void flip_iv(uint8_t *s, size_t *n) { s[2 + ((size_t)s[0] << 8 | s[1])] ^= 1; (void)n; }
static void flip_tag(uint8_t *s, size_t *n) { s[*n - 1] ^= 1; }
static void flip_ct(uint8_t *s, size_t *n) { s[*n - 17] ^= 1; }
static void zero_n(uint8_t *s, size_t *n) { s[0] = 0; s[1] = 0; (void)n; }
static void huge_n(uint8_t *s, size_t *n) { s[0] = 0xff; s[1] = 0xff; (void)n; }
static void cut_tag(uint8_t *s, size_t *n) { (void)s; *n = 2 + ((size_t)s[0] << 8 | s[1]) + 20; }

static void
test_envelope_basic(void)
{
	char *t = mint_env(k1, aud, "daemon", "{\"role\":\"ops\"}", 0, 0), *bad;
	char args[2300], *t2;
	long dec0 = kms_count("Decrypt"), gdk0;

	EXPECT(base_args, "daemon", t, PAM_SUCCESS, "mode=envelope-kms");
	CHECK(kms_count("Decrypt") == dec0 + 1, "cold login: one Decrypt");
	EXPECT(base_args, "daemon", t, PAM_SUCCESS, "mode=envelope-cached");
	CHECK(kms_count("Decrypt") == dec0 + 1, "warm login: no KMS call");
	/* KMS unreachable: the warm cache still logs in, a cold key cannot. */
	(void)kj_fmt(args, sizeof(args), "%s endpoint=http://127.0.0.1:9 timeout=1", base_args);
	EXPECT(args, "daemon", t, PAM_SUCCESS, "mode=envelope-cached");
	t2 = mint_env(k1, aud, "daemon", "{}", 0, 0);
	EXPECT(args, "daemon", t2, PAM_AUTHINFO_UNAVAIL, "KMS request failed");
	free(t2);

	/* Tampering with every part of the sealed segment, then malformed
	 * lengths, which never reach KMS. */
	{
		static const struct {
			void (*edit)(uint8_t *, size_t *);
			const char *reason;
		} cases[] = {
			{ flip_iv, "AES-GCM authentication failed" },
			{ flip_ct, "AES-GCM authentication failed" },
			{ flip_tag, "AES-GCM authentication failed" },
			{ flip_edk, "InvalidCiphertextException" },
			{ zero_n, "empty wrapped data key" },
			{ huge_n, "exceeds the sealed part" },
			{ cut_tag, "IV or tag missing" },
		};
		size_t i;

		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			if (cases[i].edit == zero_n)
				dec0 = kms_count("total");
			bad = resealed(t, cases[i].edit);
			EXPECT(base_args, "daemon", bad, PAM_AUTH_ERR, cases[i].reason);
			free(bad);
		}
	}
	CHECK(kms_count("total") == dec0, "malformed envelopes made no KMS call (%ld)", kms_count("total") - dec0);

	/* Tampered claims with a warm key: GCM's AAD is S. */
	{
		char *c = strchr(t, '.') + 1, save = *c;

		*c = (char)(*c == 'e' ? 'f' : 'e');
		EXPECT(base_args, "daemon", t, PAM_AUTH_ERR, "refused");
		*c = save;
	}
	/* cache_ttl=0: every login asks KMS. */
	(void)kj_fmt(args, sizeof(args), "%s cache_ttl=0", base_args);
	dec0 = kms_count("Decrypt");
	EXPECT(args, "daemon", t, PAM_SUCCESS, "mode=envelope-kms");
	EXPECT(args, "daemon", t, PAM_SUCCESS, "mode=envelope-kms");
	CHECK(kms_count("Decrypt") == dec0 + 2, "cache_ttl=0: two Decrypts");

	/* Issuer reuse: 5 tokens, one GenerateDataKey. */
	gdk0 = kms_count("GenerateDataKey");
	{
		int i;

		for (i = 0; i < 5; i++) {
			char *x = mint_env(k1, aud, "daemon", "{}", 60, 5);

			if (i == 4)
				EXPECT(base_args, "daemon", x, PAM_SUCCESS, "accepted");
			free(x);
		}
		free(mint_env(k1, aud, "daemon", "{}", 60, 5));
	}
	CHECK(kms_count("GenerateDataKey") == gdk0 + 2, "issuer reuse: 6 tokens with max 5 uses -> 2 data keys (%ld)",
	    kms_count("GenerateDataKey") - gdk0);
	free(t);
}

/* head's header and claims with the sealed part of other. */
static char *
spliced(const char *head, const char *other)
{
	const char *od = strrchr(other, '.');
	int hl = (int)(strrchr(head, '.') - head);
	size_t n = (size_t)hl + strlen(od) + 1;
	char *sp = malloc(n);

	if (sp == NULL)
		abort();
	(void)kj_fmt(sp, n, "%.*s%s", hl, head, od);
	return sp;
}

static void
test_keys_and_audiences(void)
{
	char *t, args[2300], *other, *sp;
	const char *dot;

	/* A data key under another key, with only k1 pinned. */
	t = mint_env(k2, aud, "daemon", "{}", 0, 0);
	EXPECT(base_args, "daemon", t, PAM_AUTH_ERR, "KMS HTTP 400");
	free(t);

	/* A data key for another audience, spliced into a token for ours. */
	other = mint_env(k1, aud2, "daemon", "{}", 0, 0);
	t = mint_env(k1, aud, "daemon", "{}", 0, 0);
	sp = spliced(t, other);
	EXPECT(base_args, "daemon", sp, PAM_AUTH_ERR, "InvalidCiphertextException");
	free(sp);
	/* ...and with that key warm in the cache for the other audience. */
	(void)kj_fmt(args, sizeof(args), "key_id=%s issuer=idp audience=%s endpoint=%s credentials_file=%s", k1, aud2,
	    endpoint, credfile);
	EXPECT(args, "daemon", other, PAM_SUCCESS, "accepted");
	sp = spliced(t, other);
	EXPECT(base_args, "daemon", sp, PAM_AUTH_ERR, "InvalidCiphertextException");
	free(sp);
	free(other);

	/* A direct-mode ciphertext can never pass as a data key. */
	{
		struct kj_mint_req m;
		struct kj_diag d;
		char *direct = NULL, *dsp;
		uint8_t *raw = NULL, buf[4096];
		size_t n = 0, len;
		char *b;

		memset(&m, 0, sizeof(m));
		m.key_id = k1;
		m.iss = "idp";
		m.sub = "daemon";
		m.aud = aud;
		m.iat = (int64_t)time(NULL);
		m.exp = m.iat + 300;
		(void)kj_mint(&kcfg, &kcreds, &m, &direct, &d);
		dot = strrchr(direct, '.');
		(void)kj_b64_decode(KJ_B64URL, dot + 1, strlen(dot + 1), &raw, &n);
		buf[0] = (uint8_t)(n >> 8);
		buf[1] = (uint8_t)n;
		memcpy(buf + 2, raw, n);
		memset(buf + 2 + n, 7, 12 + 2 + 16);
		b = kj_b64_encode_alloc(KJ_B64URL, buf, 2 + n + 30);
		len = (size_t)(strrchr(t, '.') - t) + strlen(b) + 2;
		dsp = malloc(len);
		(void)kj_fmt(dsp, len, "%.*s.%s", (int)(strrchr(t, '.') - t), t, b);
		EXPECT(base_args, "daemon", dsp, PAM_AUTH_ERR, "InvalidCiphertextException");
		free(dsp);
		free(b);
		free(raw);
		kj_free_secret_str(direct);
	}
	free(t);
}

static void
test_independent_issuer(void)
{
	const char *cmd = getenv("KJ_TEST_BOTO3_TOKEN_CMD");
	char tok[4096], full[600];
	FILE *p;
	size_t n;

	if (cmd == NULL) {
		printf("# skipped: independent envelope issuer (KJ_TEST_BOTO3_TOKEN_CMD unset)\n");
		return;
	}
	(void)kj_fmt(full, sizeof(full), "%s %s %s idp %s daemon", cmd, endpoint, k1, aud);
	p = popen(full, "r");
	n = p != NULL ? fread(tok, 1, sizeof(tok) - 1, p) : 0;
	if (p != NULL)
		pclose(p);
	while (n > 0 && (tok[n - 1] == '\n' || tok[n - 1] == '\r'))
		n--;
	tok[n] = '\0';
	CHECK(n > 0, "boto3 envelope token minted");
	EXPECT(base_args, "daemon", tok, PAM_SUCCESS, "mode=envelope-kms");
}

/* The cache under hostile conditions. */
static void
test_cache(void)
{
	char *t = mint_env(k1, aud, "daemon", "{}", 0, 0);
	uint8_t *raw = NULL;
	size_t n = 0;
	char desc[128];
	const char *dot = strrchr(t, '.');
	long dec0;
	key_serial_t ring, id;

	EXPECT(base_args, "daemon", t, PAM_SUCCESS, "mode=envelope-kms");
	(void)kj_b64_decode(KJ_B64URL, dot + 1, strlen(dot + 1), &raw, &n);
	(void)kj_dk_desc(aud, raw + 2, (size_t)raw[0] << 8 | raw[1], desc, sizeof(desc));
	free(raw);
	ring = (key_serial_t)keyctl_get_persistent(geteuid(), KEY_SPEC_PROCESS_KEYRING);
	id = (key_serial_t)keyctl_search(ring, "user", desc, 0);
	CHECK(id > 0, "entry %s is in the persistent keyring", desc);

	/* Corrupt entry: degrades to a KMS call, then the entry is good again. */
	CHECK(keyctl_update(id, "garbage", 7) == 0, "corrupt the entry");
	dec0 = kms_count("Decrypt");
	EXPECT(base_args, "daemon", t, PAM_SUCCESS, "mode=envelope-kms");
	CHECK(kms_count("Decrypt") == dec0 + 1, "corrupt entry -> one KMS call");
	EXPECT(base_args, "daemon", t, PAM_SUCCESS, "mode=envelope-cached");

	/* Entry readable by nobody but its owner. */
	id = (key_serial_t)keyctl_search(ring, "user", desc, 0);
	if (geteuid() == 0) {
		pid_t pid = fork();
		int st = 0;

		if (pid == 0) {
			char buf[256];
			int bad = 0;

			if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0)
				_exit(99);
			if (keyctl_get_persistent(0, KEY_SPEC_PROCESS_KEYRING) >= 0)
				bad |= 1; /* could reach root's persistent keyring */
			if (keyctl_read(id, buf, sizeof(buf)) >= 0)
				bad |= 2; /* could read the entry */
			if (keyctl_search(KEY_SPEC_USER_KEYRING, "user", desc, 0) >= 0)
				bad |= 4;
			_exit(bad);
		}
		waitpid(pid, &st, 0);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "an unprivileged user cannot reach the cache (status %d)",
		    WEXITSTATUS(st));
		/* As under sudo: real uid the user, effective uid root. The login
		 * works and uses root's cache; the user gains nothing. */
		pid = fork();
		if (pid == 0) {
			int rc;

			if (setresuid(65534, 0, 0) != 0)
				_exit(99);
			rc = login(base_args, "daemon", t);
			if (rc != PAM_SUCCESS || strstr(pt_last_log, "mode=envelope-cached") == NULL)
				_exit(1);
			if (setresuid(65534, 65534, 65534) != 0)
				_exit(98);
			if (keyctl_read(id, (char *)&rc, sizeof(rc)) >= 0 ||
			    keyctl_get_persistent(0, KEY_SPEC_PROCESS_KEYRING) >= 0)
				_exit(2);
			_exit(0);
		}
		waitpid(pid, &st, 0);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "sudo-like login (ruid user, euid 0): status %d",
		    WEXITSTATUS(st));
	} else {
		printf("# skipped: unprivileged-reader checks need root\n");
	}

	/* That a warm login never loads libcurl is checked with a fresh
	 * pamtester process in tests/run-integration.sh (LD_DEBUG=files). */
	free(t);
}

/* 50 parallel cold-cache logins with 10 data keys, 10 of them tampered. */
static void
test_concurrency(void)
{
	char *toks[10];
	pid_t pids[50];
	int i, ok = 0, refused = 0, wrong = 0;

	for (i = 0; i < 10; i++)
		toks[i] = mint_env(k1, aud, "daemon", "{\"n\":1}", 0, 0);
	for (i = 0; i < 50; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			char *t = strdup(toks[i % 10]);
			int rc;

			if (i % 5 == 4)
				t[strlen(t) - 2] = (char)(t[strlen(t) - 2] == 'A' ? 'B' : 'A');
			rc = login(base_args, "daemon", t);
			_exit(rc == PAM_SUCCESS ? 0 : rc == PAM_AUTH_ERR ? 1 : 2);
		}
	}
	for (i = 0; i < 50; i++) {
		int st = 0, want = i % 5 == 4 ? 1 : 0;

		waitpid(pids[i], &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != want)
			wrong++;
		else if (want == 0)
			ok++;
		else
			refused++;
	}
	CHECK(wrong == 0 && ok == 40 && refused == 10, "50 parallel logins: %d ok, %d refused, %d wrong", ok, refused,
	    wrong);
	for (i = 0; i < 10; i++)
		free(toks[i]);
}

static void
create_keys(void)
{
	pt_create_key(&kcfg, &kcreds, k1, sizeof(k1));
	pt_create_key(&kcfg, &kcreds, k2, sizeof(k2));
}

int
main(void)
{
	const char *ep = getenv("KJ_TEST_ENDPOINT"), *mod = getenv("KJ_TEST_MODULE");
	struct kj_diag d;
	char text[256];

	if (ep == NULL || mod == NULL) {
		fprintf(stderr, "test_envelope: set KJ_TEST_ENDPOINT and KJ_TEST_MODULE\n");
		return 2;
	}
	if (keyctl_get_persistent(geteuid(), KEY_SPEC_PROCESS_KEYRING) < 0) {
		printf("# skipped: no persistent keyring here (%s)\nenvelope: 0 passed, 0 failed\n", strerror(errno));
		return 0;
	}
	if (mkdtemp(tmpdir) == NULL || realpath(mod, module) == NULL)
		return 2;
	(void)kj_strlcpy(endpoint, ep, sizeof(endpoint));
	/* Fresh audiences per run: no entry of an earlier run can be hit. */
	(void)kj_fmt(aud, sizeof(aud), "env-%d-%ld", (int)getpid(), (long)time(NULL));
	(void)kj_fmt(aud2, sizeof(aud2), "other-%d-%ld", (int)getpid(), (long)time(NULL));
	(void)kj_fmt(confdir, sizeof(confdir), "%s/pam.d", tmpdir);
	(void)mkdir(confdir, 0755);
	(void)kj_fmt(credfile, sizeof(credfile), "%s/credentials", tmpdir);
	pt_write_file(credfile, "[default]\naws_access_key_id = AKIDTEST\naws_secret_access_key = s3cr3t\n", 0600);
	if (pt_kms_config(&kcfg, &kcreds, "arn:aws:kms:us-east-1:123456789012:key/x", aud, endpoint, credfile, &d) !=
	    KJ_OK) {
		fprintf(stderr, "test_envelope: %s\n", d.reason);
		return 2;
	}
	create_keys();
	/* Short cache lifetime: entries of this run expire within a minute. */
	(void)kj_fmt(base_args, sizeof(base_args),
	    "key_id=%s issuer=idp audience=%s endpoint=%s credentials_file=%s timeout=3 cache_ttl=60", k1, aud,
	    endpoint, credfile);

	test_envelope_basic();
	test_keys_and_audiences();
	test_independent_issuer();
	test_cache();
	test_concurrency();

	(void)unlink(credfile);
	(void)rmdir(confdir);
	(void)rmdir(tmpdir);
	kj_creds_wipe(&kcreds);
	pt_logs_free();
	(void)text;
	DONE("envelope");
}
