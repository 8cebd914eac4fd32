/* Continuation (tokens answered in parts): lib/authtok.c, then the module
 * through libpam with a scripted conversation. The PAM cases need no KMS: a
 * correctly joined token passes the structural and claim checks and then
 * fails to reach the (closed) endpoint, which proves the join; every
 * refusal is asserted with its exact code and logged reason.
 * Environment: KJ_TEST_MODULE (path of pam_kmsjwt.so). */
#include <limits.h>
#include <fcntl.h>
#include <security/pam_appl.h>
#include <security/pam_ext.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../lib/authtok.h"
#include "../lib/b64.h"
#include "check.h"
#include "pamtest.h"

/* ---- lib/authtok.c ------------------------------------------------------ */

static void
test_join(void)
{
	struct kj_authtok a;
	struct kj_diag d;
	char part[600];
	unsigned i;

	kj_authtok_init(&a);
	CHECK(kj_authtok_add(&a, "abc", &d) == KJ_OK && a.len == 3 && !a.more && a.parts == 1, "one part");
	kj_authtok_init(&a);
	CHECK(kj_authtok_add(&a, "", &d) == KJ_OK && a.len == 0 && !a.more, "empty first part left to the verifier");
	kj_authtok_init(&a);
	CHECK(kj_authtok_add(&a, "\\", &d) == KJ_ERR_TOKEN, "lone backslash");
	CHECK_CONTAINS(d.reason, "part 1 is empty");
	kj_authtok_init(&a);
	CHECK(kj_authtok_add(&a, "ab\\", &d) == KJ_OK && a.more && a.len == 2, "continued");
	CHECK(kj_authtok_add(&a, "", &d) == KJ_ERR_TOKEN, "empty part 2");
	CHECK_CONTAINS(d.reason, "part 2 is empty");
	kj_authtok_init(&a);
	(void)kj_authtok_add(&a, "ab\\", &d);
	CHECK(kj_authtok_add(&a, "\\", &d) == KJ_ERR_TOKEN, "part 2 only a backslash");
	CHECK_CONTAINS(d.reason, "part 2 is empty");
	kj_authtok_init(&a);
	(void)kj_authtok_add(&a, "ab\\", &d);
	CHECK(kj_authtok_add(&a, "cd\\", &d) == KJ_OK && kj_authtok_add(&a, "ef", &d) == KJ_OK, "three parts");
	CHECK(strcmp(a.buf, "abcdef") == 0 && a.parts == 3 && !a.more, "joined: %s", a.buf);

	/* KJ_PARTS_MAX bounds the conversation. */
	kj_authtok_init(&a);
	for (i = 0; i < KJ_PARTS_MAX; i++)
		(void)kj_authtok_add(&a, "a\\", &d);
	CHECK(a.parts == KJ_PARTS_MAX && a.more, "%u parts", a.parts);
	CHECK(kj_authtok_add(&a, "a", &d) == KJ_ERR_TOKEN, "part 65");
	CHECK_CONTAINS(d.reason, "more than 64 parts");

	/* The total is KJ_TOKEN_MAX: exactly fits, one more byte does not. */
	memset(part, 'A', 512);
	part[512] = '\\';
	part[513] = '\0';
	kj_authtok_init(&a);
	for (i = 0; i < 15; i++)
		(void)kj_authtok_add(&a, part, &d);
	part[512] = '\0';
	CHECK(kj_authtok_add(&a, part, &d) == KJ_OK && a.len == KJ_TOKEN_MAX, "8192 in 16 parts: %zu", a.len);
	kj_authtok_init(&a);
	part[512] = '\\';
	for (i = 0; i < 16; i++)
		(void)kj_authtok_add(&a, part, &d);
	CHECK(kj_authtok_add(&a, "A", &d) == KJ_ERR_TOKEN, "8193 bytes");
	CHECK_CONTAINS(d.reason, "token longer than 8192 bytes (8193 or more at part 17)");
	kj_authtok_wipe(&a);
	CHECK(a.len == 0 && a.buf[0] == '\0', "wiped");
}

static void
test_prompts(void)
{
	char p[32];

	CHECK(kj_authtok_prompt(p, sizeof(p), 2) == 0 && strcmp(p, "Token (part 2): ") == 0, "prompt: %s", p);
	CHECK(kj_authtok_prompt_part("Token: ") == 1, "first prompt");
	CHECK(kj_authtok_prompt_part("(alice@web-1) Token: ") == 1, "ssh kbdint first prompt");
	CHECK(kj_authtok_prompt_part("Token (part 2): ") == 2, "part 2");
	CHECK(kj_authtok_prompt_part("(alice@web-1) Token (part 12): ") == 12, "part 12 after a prefix");
	CHECK(kj_authtok_prompt_part("(part 3) x (part 5): ") == 5, "last tag wins");
	CHECK(kj_authtok_prompt_part("Password: ") == 0, "password prompt");
	CHECK(kj_authtok_prompt_part("[sudo] password for alice: ") == 0, "sudo's own prompt");
	CHECK(kj_authtok_prompt_part("alice@web-1's password: ") == 0, "ssh password prompt");
	CHECK(kj_authtok_prompt_part("Token (part 0): ") == 0, "part 0 is not a part");
	CHECK(kj_authtok_prompt_part("Token (part 99999999999999999999): ") == 0, "huge part number");
	CHECK(kj_authtok_prompt_part("Token (part 3x): ") == 0, "junk after the number");
	CHECK(kj_authtok_prompt_part("(part 2) Token: ") == 2, "a part tag wins over Token:");
}

static void
test_chunks(void)
{
	char tok[1201], out[600], joined[1300];
	struct kj_authtok a;
	struct kj_diag d;
	unsigned n;
	size_t i;

	for (i = 0; i < 1200; i++)
		tok[i] = (char)('a' + i % 26);
	tok[1200] = '\0';
	CHECK(kj_authtok_chunk(tok, 1200, 1, 500, out, sizeof(out), &d) == KJ_OK && strlen(out) == 501 &&
	    out[500] == '\\' && memcmp(out, tok, 500) == 0, "part 1");
	CHECK(kj_authtok_chunk(tok, 1200, 3, 500, out, sizeof(out), &d) == KJ_OK && strlen(out) == 200 &&
	    memcmp(out, tok + 1000, 200) == 0, "part 3, the last, has no backslash");
	CHECK(kj_authtok_chunk(tok, 1200, 4, 500, out, sizeof(out), &d) == KJ_ERR_TOKEN, "part 4");
	CHECK_CONTAINS(d.reason, "part 4 asked, the token has 3");
	CHECK(kj_authtok_chunk(tok, 1000, 2, 500, out, sizeof(out), &d) == KJ_OK && strlen(out) == 500 &&
	    out[499] != '\\', "exact multiple: the last part has no backslash");
	CHECK(kj_authtok_chunk(tok, 400, 1, 500, out, sizeof(out), &d) == KJ_OK && strlen(out) == 400,
	    "short token in one part");
	CHECK(kj_authtok_chunk(tok, 1200, 0, 500, out, sizeof(out), &d) == KJ_ERR_TOKEN, "whole does not fit");
	CHECK_CONTAINS(d.reason, "does not fit in 600 bytes");
	CHECK(kj_authtok_chunk(tok, 500, 0, 500, out, sizeof(out), &d) == KJ_OK && strlen(out) == 500, "whole");
	CHECK(kj_authtok_chunk(tok, 1200, 1, 500, out, 501, &d) == KJ_ERR_TOKEN, "no room for the backslash");
	CHECK(kj_authtok_chunk("", 0, 1, 500, out, sizeof(out), &d) == KJ_ERR_TOKEN, "empty token");
	CHECK(kj_authtok_chunk("ab\\c", 4, 1, 500, out, sizeof(out), &d) == KJ_ERR_TOKEN, "backslash");
	CHECK_CONTAINS(d.reason, "contains a backslash");

	/* Round trip through the joiner, for several part sizes. */
	for (i = 20; i <= 600; i += 83) {
		kj_authtok_init(&a);
		n = 1;
		do {
			if (kj_authtok_chunk(tok, 1200, n++, i, out, sizeof(out), &d) != KJ_OK ||
			    kj_authtok_add(&a, out, &d) != KJ_OK)
				break;
		} while (a.more);
		(void)kj_strlcpy(joined, a.buf, sizeof(joined));
		CHECK(strcmp(joined, tok) == 0 && !a.more, "round trip with parts of %zu: %s", i, d.reason);
	}
}

/* ---- the module through libpam ------------------------------------------ */

static char confdir[300], module[PATH_MAX];
static const char *const *answers;
static size_t n_answers, next_answer, fail_at = SIZE_MAX;
static char prompts[2048];

/* Answers PAM_PROMPT_ECHO_OFF prompts from a script; the last answer
 * repeats (as sshd's "password" method does); fails at answer fail_at. */
static int
conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct pam_response *r = calloc((size_t)n, sizeof(*r));
	size_t k;
	int i;

	(void)data;
	if (r == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		if (msg[i]->msg_style != PAM_PROMPT_ECHO_OFF && msg[i]->msg_style != PAM_PROMPT_ECHO_ON)
			continue;
		if (strlen(prompts) + strlen(msg[i]->msg) + 2 < sizeof(prompts)) {
			memcpy(prompts + strlen(prompts), msg[i]->msg, strlen(msg[i]->msg) + 1);
			memcpy(prompts + strlen(prompts), "|", 2);
		}
		if (next_answer == fail_at) {
			free(r);
			return PAM_CONV_ERR;
		}
		k = next_answer < n_answers ? next_answer : n_answers - 1;
		next_answer++;
		r[i].resp = strdup(answers[k]);
	}
	*resp = r;
	return PAM_SUCCESS;
}

static int
run(const char *stack, const char *const *ans, size_t n, const char *user)
{
	struct pam_conv pc = { conv, NULL };
	char path[400];
	int rc;

	(void)kj_fmt(path, sizeof(path), "%s/kjcont", confdir);
	pt_write_file(path, stack, 0644);
	answers = ans;
	n_answers = n;
	next_answer = 0;
	prompts[0] = '\0';
	rc = pt_authenticate(confdir, "kjcont", user, &pc, NULL, NULL);
	(void)unlink(path);
	return rc;
}

#define RUN(stack, ans, want_rc, want_reason)                                                    \
	do {                                                                                     \
		int rc_ = run((stack), (ans), sizeof(ans) / sizeof((ans)[0]), "daemon");         \
		CHECK(rc_ == (want_rc), "%s: got %d (%s), want %d; log: %s", (want_reason), rc_, \
		    pam_strerror(NULL, rc_), (want_rc), pt_last_log);                            \
		CHECK_CONTAINS(pt_last_log, (want_reason));                                      \
	} while (0)

static void
test_module(void)
{
	char stack[1200], stack_ufp[1400], stack_tfp[1400], args[600];
	char *claims, *sealed, *tok, p1[600], p2[600], p3[600], *many[70];
	uint8_t blob[1500];
	size_t i, len;
	int64_t now = (int64_t)time(NULL);

	(void)kj_fmt(args, sizeof(args),
	    "key_id=arn:aws:kms:us-east-1:111122223333:key/k1 issuer=idp audience=web-1 "
	    "endpoint=http://127.0.0.1:9 timeout=1");
	(void)kj_fmt(stack, sizeof(stack), "auth required %s %s\n", module, args);
	/* pam_unix (optional, failing for daemon) sets PAM_AUTHTOK first. */
	(void)kj_fmt(stack_ufp, sizeof(stack_ufp), "auth optional pam_unix.so nodelay\nauth required %s %s use_first_pass\n",
	    module, args);
	(void)kj_fmt(stack_tfp, sizeof(stack_tfp), "auth optional pam_unix.so nodelay\nauth required %s %s try_first_pass\n",
	    module, args);

	/* A well-formed token for daemon@web-1 with a 1.5 KB sealed part: KMS
	 * would refuse it, but only a correct join gets that far. */
	claims = malloc(300);
	(void)kj_fmt(claims, 300, "{\"iss\":\"idp\",\"sub\":\"daemon\",\"aud\":\"web-1\",\"iat\":%lld,\"exp\":%lld}",
	    (long long)now, (long long)now + 300);
	for (i = 0; i < sizeof(blob); i++)
		blob[i] = (uint8_t)(i * 7);
	{
		char *cb = kj_b64_encode_alloc(KJ_B64URL, (const uint8_t *)claims, strlen(claims));

		sealed = kj_b64_encode_alloc(KJ_B64URL, blob, sizeof(blob));
		len = strlen(cb) + strlen(sealed) + 32;
		tok = malloc(len);
		(void)kj_fmt(tok, len, "eyJhbGciOiJLTVMifQ.%s.%s", cb, sealed);
		free(cb);
	}
	len = strlen(tok);
	CHECK(len > 2000 && len < 2500, "token of %zu bytes", len);
	{
		struct kj_diag d;

		(void)kj_authtok_chunk(tok, len, 1, KJ_PART_SIZE, p1, sizeof(p1), &d);
		(void)kj_authtok_chunk(tok, len, 2, KJ_PART_SIZE, p2, sizeof(p2), &d);
		/* The rest in one part (longer than a sudo answer, fine for PAM). */
		(void)kj_strlcpy(p3, tok + 2 * KJ_PART_SIZE, sizeof(p3));
	}
	{
		const char *whole[] = { tok };
		const char *parts[] = { p1, p2, tok + 2 * KJ_PART_SIZE };

		RUN(stack, whole, PAM_AUTHINFO_UNAVAIL, "KMS request failed");
		CHECK(strstr(pt_last_log, "parts=") == NULL, "one part is not logged as parts: %s", pt_last_log);
		CHECK(strcmp(prompts, "Token: |") == 0, "one prompt: %s", prompts);
		RUN(stack, parts, PAM_AUTHINFO_UNAVAIL, "KMS request failed");
		CHECK_CONTAINS(pt_last_log, "sub=\"daemon\"");
		CHECK_CONTAINS(pt_last_log, " parts=3");
		CHECK(strcmp(prompts, "Token: |Token (part 2): |Token (part 3): |") == 0, "prompts: %s", prompts);
		CHECK(strstr(pt_last_log, p3) == NULL && strstr(pt_last_log, "eyJ") == NULL, "no token in the log");
	}
	{
		const char *a[] = { "" };
		const char *b[] = { "\\" };
		const char *c[] = { p1, "" };
		const char *e[] = { p1, "\\", p3 };
		const char *f[] = { p1 }; /* repeated: sshd's password method */
		const char *g[] = { "eyJhbGciOiJLTVMifQ\\", ".\\", "e30.AAAA" };

		RUN(stack, a, PAM_AUTH_ERR, "refused (malformed token): empty token");
		RUN(stack, b, PAM_AUTH_ERR, "refused (malformed token): part 1 is empty");
		RUN(stack, c, PAM_AUTH_ERR, "refused (malformed token): part 2 is empty; iss=\"-\"");
		RUN(stack, e, PAM_AUTH_ERR, "part 2 is empty");
		RUN(stack, f, PAM_AUTH_ERR, "token longer than 8192 bytes (8500 or more at part 17)");
		RUN(stack, g, PAM_AUTH_ERR, "refused (claims refused): claim iss is missing");
		CHECK_CONTAINS(pt_last_log, "parts=3");
		CHECK(strstr(pt_last_log, "KMS") == NULL, "a malformed joined token never reaches KMS: %s", pt_last_log);
	}
	for (i = 0; i < 70; i++)
		many[i] = "A\\";
	{
		int rc = run(stack, (const char *const *)many, 70, "daemon");

		CHECK(rc == PAM_AUTH_ERR, "70 parts: %d", rc);
		CHECK_CONTAINS(pt_last_log, "more than 64 parts");
		CHECK(next_answer == 65, "the conversation stops at part 65: %zu", next_answer);
	}
	{
		const char *parts[] = { p1, p2, tok + 2 * KJ_PART_SIZE };

		fail_at = 1;
		RUN(stack, parts, PAM_AUTH_ERR, "cannot read part 2: Conversation error");
		fail_at = SIZE_MAX;
		/* use_first_pass: no prompting, so a first part asking for more is refused. */
		RUN(stack_ufp, parts, PAM_AUTH_ERR, "use_first_pass forbids prompting");
		CHECK(strcmp(prompts, "Password: |") == 0, "only pam_unix prompted: %s", prompts);
		/* try_first_pass: the stacked first part, then the module's prompts. */
		RUN(stack_tfp, parts, PAM_AUTHINFO_UNAVAIL, "KMS request failed");
		CHECK_CONTAINS(pt_last_log, " parts=3");
		CHECK(strcmp(prompts, "Password: |Token (part 2): |Token (part 3): |") == 0, "prompts: %s", prompts);
	}
	free(claims);
	free(sealed);
	free(tok);
}

int
main(void)
{
	const char *mod = getenv("KJ_TEST_MODULE");
	static char tmpdir[] = "/tmp/kjcont.XXXXXX";

	test_join();
	test_prompts();
	test_chunks();
	if (mod == NULL) {
		fprintf(stderr, "test_authtok: KJ_TEST_MODULE unset: PAM-level cases skipped\n");
	} else if (realpath(mod, module) == NULL || mkdtemp(tmpdir) == NULL) {
		perror(mod);
		kj_t_fail++;
	} else {
		(void)setenv("AWS_ACCESS_KEY_ID", "AKIDTEST", 1);
		(void)setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t", 1);
		(void)kj_fmt(confdir, sizeof(confdir), "%s/pam.d", tmpdir);
		(void)mkdir(confdir, 0755);
		test_module();
		(void)rmdir(confdir);
		(void)rmdir(tmpdir);
	}
	pt_logs_free();
	DONE("authtok");
}
