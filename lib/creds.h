/* AWS credentials for signing KMS requests. */
#ifndef KJ_CREDS_H
#define KJ_CREDS_H

#include "config.h"
#include "kj.h"

struct kj_creds {
	char access_key_id[128];
	char secret_access_key[128];
	char session_token[4096];
	char source[64]; /* where they came from, for the log */
};

/* First source that yields wins: credentials_file/profile from the config,
 * then AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN.
 * KJ_ERR_UNAVAIL when no source has any. Wipe with kj_creds_wipe. */
kj_err kj_creds_load(const struct kj_config *c, struct kj_creds *out, struct kj_diag *d);

/* Parse one profile out of a shared credentials (or config) file's text.
 * In a config file the section is "[profile NAME]" (except "default"). */
kj_err kj_creds_parse_ini(char *text, size_t len, const char *profile, int config_style,
    struct kj_creds *out, struct kj_diag *d);

void kj_creds_wipe(struct kj_creds *c);

#endif
