/* Shared by the programs that drive the module through libpam (test_pam,
 * test_envelope, test_aws, test_authtok and, through harness.h, hostile,
 * replay, oom): log capture, a conversation answering with a token, one
 * pam_authenticate against a service file in a private confdir, and the
 * test's own KMS client (config, CreateKey, tokens crafted from raw JSON).
 * The program must be linked -rdynamic so that the module's pam_syslog
 * calls bind to the definitions here. */
#ifndef KJ_PAMTEST_H
#define KJ_PAMTEST_H

#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <security/pam_appl.h>
#include <security/pam_ext.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../lib/b64.h"
#include "../lib/config.h"
#include "../lib/creds.h"
#include "../lib/kj.h"
#include "../lib/kms.h"
#include "../lib/token.h"

static char pt_last_log[4096];
static char *pt_all_logs; /* every line of the run, for a secrets grep */
static size_t pt_all_len, pt_all_cap;
static int pt_quiet_logs; /* no KJ_TEST_VERBOSE echo (loops of thousands) */

void
pam_vsyslog(const pam_handle_t *pamh, int priority, const char *fmt, va_list args)
{
	size_t n;

	(void)pamh;
	(void)priority;
	(void)vsnprintf(pt_last_log, sizeof(pt_last_log), fmt, args);
	if (getenv("KJ_TEST_VERBOSE") != NULL && !pt_quiet_logs)
		fprintf(stderr, "  log: %s\n", pt_last_log);
	n = strlen(pt_last_log);
	if (pt_all_len + n + 2 > pt_all_cap) {
		size_t ncap = pt_all_cap ? pt_all_cap * 2 : 65536;
		char *nb;

		while (ncap < pt_all_len + n + 2)
			ncap *= 2;
		nb = realloc(pt_all_logs, ncap);
		if (nb == NULL)
			abort();
		pt_all_logs = nb;
		pt_all_cap = ncap;
	}
	memcpy(pt_all_logs + pt_all_len, pt_last_log, n);
	pt_all_len += n;
	pt_all_logs[pt_all_len++] = '\n';
	pt_all_logs[pt_all_len] = '\0';
}

void
pam_syslog(const pam_handle_t *pamh, int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pam_vsyslog(pamh, priority, fmt, ap);
	va_end(ap);
}

static __attribute__((unused)) void
pt_logs_free(void)
{
	free(pt_all_logs);
	pt_all_logs = NULL;
	pt_all_len = pt_all_cap = 0;
}

static const char *pt_answer; /* what pt_conv answers every prompt with */

static int
pt_conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct pam_response *r = calloc((size_t)n, sizeof(*r));
	int i;

	(void)data;
	if (r == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF || msg[i]->msg_style == PAM_PROMPT_ECHO_ON) {
			r[i].resp = strdup(pt_answer != NULL ? pt_answer : "");
			if (r[i].resp == NULL) {
				while (i-- > 0)
					free(r[i].resp);
				free(r);
				return PAM_BUF_ERR;
			}
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

static __attribute__((unused)) void
pt_write_file(const char *path, const char *text, mode_t mode)
{
	int fd;

	(void)unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	(void)fchmod(fd, mode);
	close(fd);
}

static __attribute__((unused)) double
pt_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* confdir/service: "auth required MODULE ARGS", and with account set an
 * "account required MODULE" line. */
static __attribute__((unused)) void
pt_service(const char *confdir, const char *service, const char *module, const char *args, int account)
{
	char path[PATH_MAX + 64], line[8192];

	(void)kj_fmt(path, sizeof(path), "%s/%s", confdir, service);
	if (account)
		(void)kj_fmt(line, sizeof(line), "auth required %s %s\naccount required %s\n", module, args, module);
	else
		(void)kj_fmt(line, sizeof(line), "auth required %s %s\n", module, args);
	pt_write_file(path, line, 0644);
}

static double pt_elapsed; /* seconds the last pam_authenticate took */

/* pam_start_confdir + pam_authenticate + pam_end for service in confdir.
 * conv NULL: pt_conv answering pt_answer. after (may be NULL) sees the
 * handle before pam_end. Returns the PAM code, -1000 - code when
 * pam_start_confdir fails. */
static __attribute__((unused)) int
pt_authenticate(const char *confdir, const char *service, const char *user, const struct pam_conv *conv,
    void (*after)(pam_handle_t *, void *), void *arg)
{
	struct pam_conv pc = { pt_conv, NULL };
	pam_handle_t *pamh = NULL;
	double t0;
	int rc;

	pt_last_log[0] = '\0';
	rc = pam_start_confdir(service, user, conv != NULL ? conv : &pc, confdir, &pamh);
	if (rc != PAM_SUCCESS)
		return -1000 - rc;
	t0 = pt_now_s();
	rc = pam_authenticate(pamh, 0);
	pt_elapsed = pt_now_s() - t0;
	if (after != NULL)
		after(pamh, arg);
	pam_end(pamh, rc);
	return rc;
}

/* The usual case: the service file with module and args, then one login
 * of user answering token. */
static __attribute__((unused)) int
pt_run(const char *confdir, const char *service, const char *module, const char *args, const char *user,
    const char *token)
{
	pt_service(confdir, service, module, args, 0);
	pt_answer = token;
	return pt_authenticate(confdir, service, user, NULL, NULL, NULL);
}

/* A fresh KMS key (moto's CreateKey); its ARN in arn. Exits 2 on failure:
 * nothing can be tested without it. */
static __attribute__((unused)) void
pt_create_key(const struct kj_config *c, const struct kj_creds *cr, char *arn, size_t size)
{
	struct kj_diag d;
	json_t *req = json_object(), *resp = NULL;

	if (kj_kms_call(c, cr, "CreateKey", req, &resp, &d) != KJ_OK) {
		fprintf(stderr, "CreateKey: %s\n", d.reason);
		exit(2);
	}
	(void)kj_strlcpy(arn, json_string_value(json_object_get(json_object_get(resp, "KeyMetadata"), "Arn")), size);
	json_decref(resp);
	json_decref(req);
}


/* The test's own KMS client (CreateKey, Encrypt): key_id, issuer "idp",
 * audience, endpoint and the credentials in credfile. */
static __attribute__((unused)) kj_err
pt_kms_config(struct kj_config *c, struct kj_creds *cr, const char *key_id, const char *audience,
    const char *endpoint, const char *credfile, struct kj_diag *d)
{
	kj_err e;

	kj_config_defaults(c);
	(void)kj_config_set(c, "key_id", key_id, d);
	(void)kj_config_set(c, "issuer", "idp", d);
	(void)kj_config_set(c, "audience", audience, d);
	(void)kj_config_set(c, "endpoint", endpoint, d);
	(void)kj_config_set(c, "credentials_file", credfile, d);
	e = kj_config_finish(c, d);
	if (e == KJ_OK)
		e = kj_creds_load(c, cr, d);
	return e;
}

/* A token from raw JSON texts, sealed by KMS under key with the context
 * (D, aud, sub), as an issuer would: lets a test build what no issuer
 * would mint. */
static __attribute__((unused)) char *
pt_craft(const struct kj_config *c, const struct kj_creds *cr, const char *hdr, const char *claims,
    const char *payload, const char *key, const char *aud, const char *sub)
{
	char *hb = kj_b64_encode_alloc(KJ_B64URL, (const uint8_t *)hdr, strlen(hdr));
	char *cb = kj_b64_encode_alloc(KJ_B64URL, (const uint8_t *)claims, strlen(claims));
	char digest[KJ_DIGEST_LEN + 1];
	struct kj_kv ctx[3];
	struct kj_diag d;
	uint8_t *blob = NULL;
	size_t blob_len = 0, n;
	char *s, *sb, *tok;

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
	if (kj_kms_encrypt(c, cr, key, (const uint8_t *)payload, strlen(payload), ctx, 3, &blob, &blob_len, &d) !=
	    KJ_OK) {
		fprintf(stderr, "craft: %s\n", d.reason);
		abort();
	}
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

#endif
