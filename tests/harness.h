/* Shared by the tests that drive the module through libpam against the
 * in-process fake KMS (tests/fake_kms.c): hostile.c, replay.c, oom.c.
 * The program must be linked -rdynamic so that the module's pam_syslog
 * calls and the fake's call counter bind to the definitions here. */
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

unsigned long kj_fake_kms_calls;

/* Credentials with markers that must never appear in a log. */
#define H_ACCESS_KEY "AKIDkjHARNESS0000001"
#define H_SECRET_KEY "kjSECRETaccessKEY0123456789abcdefghijklm"
#define H_SESSION "kjSESSIONtokenMARKER0123456789"

static char h_tmpdir[] = "/tmp/kjharness.XXXXXX";
static char h_confdir[PATH_MAX], h_credfile[PATH_MAX], h_module[PATH_MAX];
static struct kj_config h_cfg;
static struct kj_creds h_creds;
static char h_last_log[4096];
static char *h_all_logs; /* every line of the run, for the secrets grep */
static size_t h_all_len, h_all_cap;
static int h_quiet_logs;

void
pam_vsyslog(const pam_handle_t *pamh, int priority, const char *fmt, va_list args)
{
	size_t n;

	(void)pamh;
	(void)priority;
	(void)vsnprintf(h_last_log, sizeof(h_last_log), fmt, args);
	if (getenv("KJ_TEST_VERBOSE") != NULL && !h_quiet_logs)
		fprintf(stderr, "  log: %s\n", h_last_log);
	n = strlen(h_last_log);
	if (h_all_len + n + 2 > h_all_cap) {
		size_t ncap = h_all_cap ? h_all_cap * 2 : 65536;
		char *nb;

		while (ncap < h_all_len + n + 2)
			ncap *= 2;
		nb = realloc(h_all_logs, ncap);
		if (nb == NULL)
			abort();
		h_all_logs = nb;
		h_all_cap = ncap;
	}
	memcpy(h_all_logs + h_all_len, h_last_log, n);
	h_all_len += n;
	h_all_logs[h_all_len++] = '\n';
	h_all_logs[h_all_len] = '\0';
}

void
pam_syslog(const pam_handle_t *pamh, int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pam_vsyslog(pamh, priority, fmt, ap);
	va_end(ap);
}

static const char *h_answer;

static int
h_conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct pam_response *r = calloc((size_t)n, sizeof(*r));
	int i;

	(void)data;
	if (r == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF || msg[i]->msg_style == PAM_PROMPT_ECHO_ON) {
			r[i].resp = strdup(h_answer != NULL ? h_answer : "");
			if (r[i].resp == NULL) {
				free(r);
				return PAM_BUF_ERR;
			}
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

static __attribute__((unused)) void
h_write_file(const char *path, const char *text, mode_t mode)
{
	int fd;

	(void)unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	(void)fchmod(fd, mode);
	close(fd);
}

/* The service file "kjtest": auth with the module and these arguments. */
static __attribute__((unused)) void
h_set_args(const char *args)
{
	char path[PATH_MAX + 16], line[4096];

	(void)kj_fmt(path, sizeof(path), "%s/kjtest", h_confdir);
	(void)kj_fmt(line, sizeof(line), "auth required %s %s\n", h_module, args);
	h_write_file(path, line, 0644);
}

/* One pam_authenticate through libpam with the current service file. */
static __attribute__((unused)) int
h_auth(const char *user, const char *token)
{
	struct pam_conv pc = { h_conv, NULL };
	pam_handle_t *pamh = NULL;
	int rc;

	h_answer = token;
	h_last_log[0] = '\0';
	rc = pam_start_confdir("kjtest", user, &pc, h_confdir, &pamh);
	if (rc != PAM_SUCCESS)
		return -1000 - rc;
	rc = pam_authenticate(pamh, 0);
	pam_end(pamh, rc);
	return rc;
}

static __attribute__((unused)) int
h_run_pam(const char *args, const char *user, const char *token)
{
	h_set_args(args);
	return h_auth(user, token);
}

/* A token from raw JSON texts, sealed by the fake KMS under key with the
 * context (D, aud, sub), as an issuer would. */
static __attribute__((unused)) char *
h_craft(const char *hdr, const char *claims, const char *payload, const char *key, const char *aud,
    const char *sub)
{
	char *hb = kj_b64_encode_alloc(KJ_B64URL, (const uint8_t *)hdr, strlen(hdr));
	char *cb = kj_b64_encode_alloc(KJ_B64URL, (const uint8_t *)claims, strlen(claims));
	char digest[KJ_DIGEST_LEN + 1];
	struct kj_kv ctx[3];
	struct kj_diag d;
	uint8_t *blob = NULL;
	size_t blob_len = 0, n;
	char *s, *sb, *tok;
	unsigned long calls = kj_fake_kms_calls;

	n = strlen(hb) + strlen(cb) + 2;
	s = malloc(n);
	if (s == NULL)
		abort();
	(void)kj_fmt(s, n, "%s.%s", hb, cb);
	free(hb);
	free(cb);
	(void)kj_digest(s, strlen(s), digest);
	ctx[0] = (struct kj_kv){ "kmsjwt", digest };
	ctx[1] = (struct kj_kv){ "aud", aud };
	ctx[2] = (struct kj_kv){ "sub", sub };
	if (kj_kms_encrypt(&h_cfg, &h_creds, key, (const uint8_t *)payload, strlen(payload), ctx, 3, &blob,
	    &blob_len, &d) != KJ_OK) {
		fprintf(stderr, "craft: %s\n", d.reason);
		abort();
	}
	kj_fake_kms_calls = calls; /* crafting is not the module's call */
	sb = kj_b64_encode_alloc(KJ_B64URL, blob, blob_len);
	n = strlen(s) + strlen(sb) + 2;
	tok = malloc(n);
	if (tok == NULL)
		abort();
	(void)kj_fmt(tok, n, "%s.%s", s, sb);
	free(s);
	free(sb);
	free(blob);
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
	kj_config_defaults(&h_cfg);
	(void)kj_config_set(&h_cfg, "key_id", KJ_FAKE_KEY1, &d);
	(void)kj_config_set(&h_cfg, "issuer", "idp", &d);
	(void)kj_config_set(&h_cfg, "audience", "web-1", &d);
	(void)kj_config_set(&h_cfg, "endpoint", "http://127.0.0.1:9", &d);
	(void)kj_config_set(&h_cfg, "credentials_file", h_credfile, &d);
	if (kj_config_finish(&h_cfg, &d) != KJ_OK || kj_creds_load(&h_cfg, &h_creds, &d) != KJ_OK) {
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
	free(h_all_logs);
}

#endif
