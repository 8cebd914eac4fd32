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

PAM_EXTERN int
pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct kj_config cfg;
	struct kj_diag d;
	struct kj_result res;
	const void *item = NULL;
	const char *tok = NULL, *pam_user = NULL;
	char line[1024];
	char *mark;
	kj_err err;
	int rc;

	(void)flags;
	memset(&d, 0, sizeof(d));
	memset(&res, 0, sizeof(res));
	kj_config_defaults(&cfg);
	err = kj_config_from_args(&cfg, argc, argv, &d);
	if (err == KJ_OK)
		err = kj_config_finish(&cfg, &d);
	if (err != KJ_OK) {
		pam_syslog(pamh, LOG_ERR, "configuration error: %s", d.reason);
		rc = kj_err_to_pam(err);
		goto out;
	}

	rc = pam_get_authtok(pamh, PAM_AUTHTOK, &tok, "Token: ");
	if (rc != PAM_SUCCESS) {
		pam_syslog(pamh, LOG_NOTICE, "refused: cannot read the token: %s", pam_strerror(pamh, rc));
		goto out;
	}
	if (pam_get_item(pamh, PAM_USER, &item) == PAM_SUCCESS)
		pam_user = item;

	err = kj_verify_for_user(&cfg, tok != NULL ? tok : "", tok != NULL ? strlen(tok) : 0,
	    (int64_t)time(NULL), pam_user, &res, &d);
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
	pam_syslog(pamh, err == KJ_OK ? LOG_INFO : LOG_NOTICE, "%s", line);
	rc = kj_err_to_pam(err);
out:
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
