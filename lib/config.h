/* Module configuration: defaults, then the config= file, then module
 * arguments, all through kj_config_set. */
#ifndef KJ_CONFIG_H
#define KJ_CONFIG_H

#include <limits.h>
#include <stdint.h>

#include "kj.h"

#define KJ_MAX_KEYS 8
#define KJ_MAX_ISSUERS 8
#define KJ_ARN_MAX 160
#define KJ_ISS_MAX 256
#define KJ_URL_MAX 256
#define KJ_CONFIG_FILE_MAX 65536

struct kj_config {
	char key_ids[KJ_MAX_KEYS][KJ_ARN_MAX];
	unsigned n_keys;
	char issuers[KJ_MAX_ISSUERS][KJ_ISS_MAX];
	unsigned n_issuers;
	char audience[KJ_ISS_MAX];
	char region[64];
	char endpoint[KJ_URL_MAX];   /* as configured; empty for the default */
	char user_claim[64];
	char user_map[PATH_MAX];
	char credentials_file[PATH_MAX];
	char profile[128];
	char config_file[PATH_MAX];
	int64_t leeway;      /* seconds */
	int64_t max_ttl;     /* seconds */
	int64_t timeout_ms;  /* total budget for one KMS call */
	int64_t cache_ttl;   /* seconds a data key stays cached; 0: no cache */
	int64_t cache_max;   /* most cached data keys */
	char replay_cache[PATH_MAX]; /* directory of used jti values; empty: off */
	int64_t replay_cache_max;   /* most live entries; full refuses logins */
	int debug;
	int allow_root;
	/* AWS plumbing (README "AWS credentials, endpoints, retries"). */
	int fips;                    /* kms-fips.REGION / sts-fips.REGION */
	int imds_v1;                 /* allow IMDSv1 if the IMDSv2 token PUT fails */
	char ca_file[PATH_MAX];
	char ca_path[PATH_MAX];
	char proxy[KJ_URL_MAX];      /* never taken from the environment */
	char imds_endpoint[KJ_URL_MAX];
	char sts_endpoint[KJ_URL_MAX];
	char role_arn[KJ_ISS_MAX];
	char web_identity_token_file[PATH_MAX];

	/* Derived by kj_config_finish. */
	char url[KJ_URL_MAX];        /* where requests go */
	char host_header[KJ_URL_MAX]; /* what is signed and sent as Host */
};

void kj_config_defaults(struct kj_config *c);

/* Set one option; value NULL for a bare flag. Unknown keys and out-of-range
 * values are errors (KJ_ERR_CONFIG). */
kj_err kj_config_set(struct kj_config *c, const char *key, const char *value, struct kj_diag *d);

/* Apply "key = value" lines of a file that must be owned by root (or by the
 * caller's euid), not group/world-writable, and not a symlink. */
kj_err kj_config_load_file(struct kj_config *c, const char *path, struct kj_diag *d);

/* PAM-style arguments "key=value" or "flag": config= is read first, then
 * every other argument overrides the file. */
kj_err kj_config_from_args(struct kj_config *c, int argc, const char **argv, struct kj_diag *d);

/* Check required options and derive region, URL and Host header. */
kj_err kj_config_finish(struct kj_config *c, struct kj_diag *d);

/* Region from "arn:aws:kms:REGION:ACCOUNT:key/ID"; 0 or -1. */
int kj_arn_region(const char *arn, char *region, size_t size);

#endif
