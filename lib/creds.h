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
	char expiration[32]; /* ISO 8601 for temporary credentials, else "" */
	/* Milliseconds spent fetching them (STS, ECS, IMDS): a KMS call made
	 * with them gets only the rest of the login's single timeout budget. */
	int64_t fetch_ms;
	/* Cross-process cache entry these came from or went to ("" if none),
	 * dropped when KMS rejects the credentials. */
	char cache_desc[64];
};

/* First source that yields wins:
 *   1. credentials_file/profile from the config (if set, the only source);
 *   2. AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN;
 *   3. web identity: role_arn + web_identity_token_file (config), else
 *      AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE, via STS;
 *   4. ECS: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI;
 *   5. EC2 IMDSv2 (unless AWS_EC2_METADATA_DISABLED=true).
 * A source that is present but fails ends the search with its error: the
 * module never silently switches to another identity. The whole search
 * stays within c->timeout_ms. KJ_ERR_UNAVAIL when no source has any. Wipe
 * with kj_creds_wipe. */
kj_err kj_creds_load(const struct kj_config *c, struct kj_creds *out, struct kj_diag *d);

/* Fill out from a JSON credentials document as IMDS and ECS serve it
 * (AccessKeyId, SecretAccessKey, Token, Expiration; Code if present must be
 * "Success"). what names the source in reasons. */
kj_err kj_creds_from_json(const char *text, size_t len, const char *what, struct kj_creds *out,
    struct kj_diag *d);

/* Parse one profile out of a shared credentials (or config) file's text.
 * In a config file the section is "[profile NAME]" (except "default"). */
kj_err kj_creds_parse_ini(char *text, size_t len, const char *profile, int config_style,
    struct kj_creds *out, struct kj_diag *d);

void kj_creds_wipe(struct kj_creds *c);

/* Cache of temporary credentials in the effective uid's kernel keyring
 * (lib/cache.h: never on disk, unreadable by other users), so a burst of
 * logins makes one IMDS/ECS/STS call. parts name the source and identity
 * (endpoint, role, token...); desc receives the entry name. 1 and *out
 * filled on a hit, 0 on a miss. */
int kj_creds_cache_get(const char *const *parts, size_t n_parts, char *desc, size_t desc_size,
    struct kj_creds *out);

/* Store out under desc until 5 minutes before its Expiration, at most 15
 * minutes; nothing if it expires sooner or has no Expiration. */
void kj_creds_cache_put(const char *desc, struct kj_creds *cr);

/* Forget cr's cache entry (KMS refused the credentials). */
void kj_creds_cache_drop(const struct kj_creds *cr);

/* "YYYY-MM-DDTHH:MM:SS[.fff](Z|+00:00)" to Unix time; 0 or -1. */
int kj_iso8601_utc(const char *s, int64_t *t);

#endif
