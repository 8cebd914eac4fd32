/* Shared by the tests that drive the module through libpam against the
 * in-process fake KMS (tests/fake_kms.c): hostile.c, replay.c, oom.c.
 * The program must be linked -rdynamic so that the module's pam_syslog
 * calls (tests/pamtest.h) and the fake's call counter bind to the
 * definitions here. */
#ifndef KJ_HARNESS_H
#define KJ_HARNESS_H

#include <fcntl.h>
#include <limits.h>
#include <security/pam_appl.h>
#include <security/pam_ext.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/b64.h"
#include "../lib/config.h"
#include "../lib/creds.h"
#include "../lib/kms.h"
#include "../lib/token.h"
#include "fake_kms.h"
#include "pamtest.h"

unsigned long kj_fake_kms_calls;

/* Credentials with markers that must never appear in a log. */
#define H_ACCESS_KEY "AKIDkjHARNESS0000001"
#define H_SECRET_KEY "kjSECRETaccessKEY0123456789abcdefghijklm"
#define H_SESSION "kjSESSIONtokenMARKER0123456789"

static char h_tmpdir[] = "/tmp/kjharness.XXXXXX";
static char h_confdir[PATH_MAX], h_credfile[PATH_MAX], h_module[PATH_MAX];
static struct kj_config h_cfg;
static struct kj_creds h_creds;
/* The names hostile.c, replay.c and oom.c use for tests/pamtest.h's. */
#define h_last_log pt_last_log
#define h_all_logs pt_all_logs
#define h_all_len pt_all_len
#define h_quiet_logs pt_quiet_logs
#define h_answer pt_answer
#define h_conv pt_conv
#define h_write_file pt_write_file

/* The service file "kjtest": auth with the module and these arguments. */
static __attribute__((unused)) void
h_set_args(const char *args)
{
	pt_service(h_confdir, "kjtest", h_module, args, 0);
}

/* One pam_authenticate through libpam with the current service file. */
static __attribute__((unused)) int
h_auth(const char *user, const char *token)
{
	h_answer = token;
	return pt_authenticate(h_confdir, "kjtest", user, NULL, NULL, NULL);
}

static __attribute__((unused)) int
h_run_pam(const char *args, const char *user, const char *token)
{
	return pt_run(h_confdir, "kjtest", h_module, args, user, token);
}

/* A token from raw JSON texts, sealed by the fake KMS under key with the
 * context (D, aud, sub), as an issuer would. */
static __attribute__((unused)) char *
h_craft(const char *hdr, const char *claims, const char *payload, const char *key, const char *aud,
    const char *sub)
{
	unsigned long calls = kj_fake_kms_calls;
	char *tok = pt_craft(&h_cfg, &h_creds, hdr, claims, payload, key, aud, sub);

	kj_fake_kms_calls = calls; /* crafting is not the module's call */
	return tok;
}

/* Claims for iss "idp", aud "web-1", valid now, plus extra members. */
static __attribute__((unused)) char *
h_claims(const char *sub, int64_t now, const char *extra)
{
	char *c = malloc(4096);

	if (c == NULL)
		abort();
	(void)kj_fmt(c, 4096, "{\"iss\":\"idp\",\"sub\":\"%s\",\"aud\":\"web-1\",\"iat\":%lld,\"exp\":%lld%s}", sub,
	    (long long)now, (long long)now + 300, extra);
	return c;
}

static __attribute__((unused)) char *
h_token(const char *sub, int64_t now, const char *extra, const char *payload)
{
	char *c = h_claims(sub, now, extra);
	char *t = h_craft("{\"alg\":\"KMS\"}", c, payload, KJ_FAKE_KEY1, "web-1", sub);

	free(c);
	return t;
}

/* Temp dir, pam.d, credentials file; module path from argv. */
static __attribute__((unused)) int
h_setup(const char *module)
{
	struct kj_diag d;
	char text[512];

	if (module == NULL || realpath(module, h_module) == NULL) {
		fprintf(stderr, "usage: TEST path/to/pam_kmsjwt_fake.so\n");
		return -1;
	}
	if (mkdtemp(h_tmpdir) == NULL)
		return -1;
	(void)kj_fmt(h_confdir, sizeof(h_confdir), "%s/pam.d", h_tmpdir);
	(void)mkdir(h_confdir, 0755);
	(void)kj_fmt(h_credfile, sizeof(h_credfile), "%s/credentials", h_tmpdir);
	(void)kj_fmt(text, sizeof(text),
	    "[default]\naws_access_key_id = %s\naws_secret_access_key = %s\naws_session_token = %s\n",
	    H_ACCESS_KEY, H_SECRET_KEY, H_SESSION);
	h_write_file(h_credfile, text, 0600);
	if (pt_kms_config(&h_cfg, &h_creds, KJ_FAKE_KEY1, "web-1", "http://127.0.0.1:9", h_credfile, &d) != KJ_OK) {
		fprintf(stderr, "setup: %s\n", d.reason);
		return -1;
	}
	return 0;
}

static __attribute__((unused)) void
h_teardown(void)
{
	char p[PATH_MAX + 16];

	(void)unlink(h_credfile);
	(void)kj_fmt(p, sizeof(p), "%s/kjtest", h_confdir);
	(void)unlink(p);
	(void)rmdir(h_confdir);
	(void)rmdir(h_tmpdir);
	kj_creds_wipe(&h_creds);
	pt_logs_free();
}

#endif
