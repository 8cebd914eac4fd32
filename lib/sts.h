/* Web identity credentials: STS AssumeRoleWithWebIdentity (EKS IRSA and
 * other OIDC federations). */
#ifndef KJ_STS_H
#define KJ_STS_H

#include <stdint.h>

#include "config.h"
#include "creds.h"
#include "kj.h"

#define KJ_WEB_TOKEN_MAX 16384

/* Exchange the OIDC token in token_file for role_arn's temporary
 * credentials, before deadline (kj_mono_ms). The request is unsigned (the
 * token is the proof). Endpoint: sts_endpoint=, else
 * https://sts[-fips].REGION.amazonaws.com. All failures are KJ_ERR_UNAVAIL
 * except configuration mistakes (KJ_ERR_CONFIG). */
kj_err kj_sts_web_identity(const struct kj_config *c, const char *role_arn, const char *token_file,
    int64_t deadline, struct kj_creds *out, struct kj_diag *d);

/* Read a token file (a credential, not configuration): followed through
 * symlinks, since Kubernetes projects such files via ..data/ links, but it
 * must be a regular file under size bytes; trailing newlines are trimmed.
 * KJ_ERR_UNAVAIL on failure; what names it in reasons. */
kj_err kj_read_token_file(const char *path, const char *what, char *buf, size_t size, struct kj_diag *d);

/* application/x-www-form-urlencoded escaping of src appended at *pos. 0 or -1. */
int kj_form_escape(char *dst, size_t size, size_t *pos, const char *src);

#endif
