/* pam_kmsjwt: PAM entry points. Everything else lives in lib/; this file
 * reads the PAM items, calls the verifier, logs the decision and maps the
 * result to a PAM code in one place. */
#define PAM_SM_AUTH
#define PAM_SM_ACCOUNT

#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "lib/authtok.h"
#include "lib/config.h"
#include "lib/kj.h"
#include "lib/verify.h"

#define KJ_PAM_DATA_USER "pam_kmsjwt_user"

static int
kj_err_to_pam(kj_err err)
{
	switch (err) {
	case KJ_OK:
		return PAM_SUCCESS;
	case KJ_ERR_NOMEM:
		return PAM_BUF_ERR;
	case KJ_ERR_CONFIG:
	case KJ_ERR_INTERNAL:
		return PAM_SERVICE_ERR;
	case KJ_ERR_USER_UNKNOWN:
		return PAM_USER_UNKNOWN;
	case KJ_ERR_UNAVAIL:
		return PAM_AUTHINFO_UNAVAIL;
	case KJ_ERR_TOKEN:
	case KJ_ERR_CLAIMS:
	case KJ_ERR_DENIED:
	case KJ_ERR_KEY_PIN:
	case KJ_ERR_PAYLOAD:
	case KJ_ERR_USER:
		return PAM_AUTH_ERR;
	}
	return PAM_AUTH_ERR;
}

static void
kj_cleanup_user(pam_handle_t *pamh, void *data, int error_status)
{
	(void)pamh;
	(void)error_status;
	free(data);
}

/* use_first_pass promises the module will not prompt, so a first part that
 * asks for more cannot be completed. */
static int
kj_may_prompt(int argc, const char **argv)
{
	int i;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "use_first_pass") == 0)
			return 0;
	}
	return 1;
}

/* The first answer, then "Token (part N): " while a part ends in a
 * backslash (lib/authtok.h). A failed conversation mid-token is a refusal. */
static kj_err
kj_read_parts(pam_handle_t *pamh, int may_prompt, const char *first, struct kj_authtok *at,
    struct kj_diag *d)
{
	char prompt[32];
	char *resp = NULL;
	kj_err err;
	int rc;

	err = kj_authtok_add(at, first, d);
	while (err == KJ_OK && at->more) {
		if (!may_prompt) {
			err = kj_fail(d, KJ_ERR_TOKEN, "part 1 asks for more, but use_first_pass forbids prompting");
			goto out;
		}
		(void)kj_authtok_prompt(prompt, sizeof(prompt), at->parts + 1);
		rc = pam_prompt(pamh, PAM_PROMPT_ECHO_OFF, &resp, "%s", prompt);
		if (rc != PAM_SUCCESS || resp == NULL) {
			err = kj_fail(d, KJ_ERR_TOKEN, "cannot read part %u: %s", at->parts + 1,
			    pam_strerror(pamh, rc != PAM_SUCCESS ? rc : PAM_CONV_ERR));
			goto out;
		}
		err = kj_authtok_add(at, resp, d);
		kj_free_secret_str(resp);
		resp = NULL;
	}
	/* Later modules (try_first_pass) see the whole token, as with one part. */
	if (err == KJ_OK && at->parts > 1 && pam_set_item(pamh, PAM_AUTHTOK, at->buf) != PAM_SUCCESS)
		err = kj_fail(d, KJ_ERR_NOMEM, "cannot store the joined token");
out:
	kj_free_secret_str(resp);
	return err;
}

PAM_EXTERN int
pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct kj_config cfg;
	struct kj_diag d;
	struct kj_result res;
	struct kj_authtok at;
	const void *item = NULL;
	const char *tok = NULL, *pam_user = NULL;
	char line[1024], full[1100];
	char *mark;
	kj_err err;
	int rc;

	(void)flags;
	memset(&d, 0, sizeof(d));
	memset(&res, 0, sizeof(res));
	kj_authtok_init(&at);
	kj_config_defaults(&cfg);
	err = kj_config_from_args(&cfg, argc, argv, &d);
	if (err == KJ_OK)
		err = kj_config_finish(&cfg, &d);
	if (err != KJ_OK) {
		pam_syslog(pamh, LOG_ERR, "configuration error: %s", d.reason);
		rc = kj_err_to_pam(err);
		goto out;
	}

	rc = pam_get_authtok(pamh, PAM_AUTHTOK, &tok, KJ_PROMPT_FIRST);
	if (rc != PAM_SUCCESS) {
		pam_syslog(pamh, LOG_NOTICE, "refused: cannot read the token: %s", pam_strerror(pamh, rc));
		goto out;
	}
	if (pam_get_item(pamh, PAM_USER, &item) == PAM_SUCCESS)
		pam_user = item;

	err = kj_read_parts(pamh, kj_may_prompt(argc, argv), tok != NULL ? tok : "", &at, &d);
	tok = NULL; /* may be stale once PAM_AUTHTOK holds the joined token */
	if (err == KJ_OK)
		err = kj_verify(&cfg, at.buf, at.len, (int64_t)time(NULL), pam_user, &res, &d);
	if (err == KJ_OK && (pam_user == NULL || *pam_user == '\0')) {
		rc = pam_set_item(pamh, PAM_USER, res.user);
		if (rc != PAM_SUCCESS)
			err = kj_fail(&d, KJ_ERR_INTERNAL, "cannot set PAM_USER: %s", pam_strerror(pamh, rc));
	}
	if (err == KJ_OK) {
		/* Lets pam_sm_acct_mgmt know this handle's user came from a token. */
		mark = strdup(res.user);
		if (mark == NULL || pam_set_data(pamh, KJ_PAM_DATA_USER, mark, kj_cleanup_user) != PAM_SUCCESS) {
			free(mark);
			err = kj_fail(&d, KJ_ERR_NOMEM, "cannot record the login");
		}
	}
	kj_decision_line(line, sizeof(line), err, &d, &res);
	if (at.parts > 1)
		(void)kj_fmt(full, sizeof(full), "%s parts=%u", line, at.parts);
	else
		(void)kj_strlcpy(full, line, sizeof(full));
	pam_syslog(pamh, err == KJ_OK ? LOG_INFO : LOG_NOTICE, "%s", full);
	rc = kj_err_to_pam(err);
out:
	kj_authtok_wipe(&at);
	explicit_bzero(&cfg, sizeof(cfg));
	return rc;
}

PAM_EXTERN int
pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	/* A token grants no credentials beyond the login itself. */
	return PAM_SUCCESS;
}

PAM_EXTERN int
pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	const void *data = NULL, *user = NULL;

	(void)flags;
	(void)argc;
	(void)argv;
	/* Only an account this module authenticated in this handle is ours to
	 * vouch for; anything else is for the other account modules. */
	if (pam_get_data(pamh, KJ_PAM_DATA_USER, &data) != PAM_SUCCESS || data == NULL)
		return PAM_IGNORE;
	if (pam_get_item(pamh, PAM_USER, &user) != PAM_SUCCESS || user == NULL ||
	    strcmp(user, data) != 0) {
		pam_syslog(pamh, LOG_NOTICE, "account: PAM_USER changed after token login");
		return PAM_PERM_DENIED;
	}
	return PAM_SUCCESS;
}
