/* Credentials served over link-local HTTP: ECS container credentials and
 * the EC2 instance metadata service (IMDSv2). */
#ifndef KJ_IMDS_H
#define KJ_IMDS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "creds.h"
#include "kj.h"

#define KJ_IMDS_DEFAULT "http://169.254.169.254"
#define KJ_ECS_HOST "http://169.254.170.2"
#define KJ_IMDS_TIMEOUT_MS 1000 /* per request: IMDS answers in ms or not at all */

/* EC2: PUT /latest/api/token (TTL header), then the role name and its
 * credentials with the token header. No IMDSv1 unless imds_v1 is set.
 * Endpoint: imds_endpoint=, else AWS_EC2_METADATA_SERVICE_ENDPOINT, else
 * 169.254.169.254; plain http only to loopback or link-local. */
kj_err kj_imds_creds(const struct kj_config *c, int64_t deadline, struct kj_creds *out, struct kj_diag *d);

/* The URL for ECS credentials: RELATIVE_URI against 169.254.170.2, or
 * FULL_URI, which must be https or http to a loopback or link-local host
 * (as the AWS SDKs require). KJ_ERR_CONFIG if refused. */
kj_err kj_ecs_url(const char *rel, const char *full, char *url, size_t size, struct kj_diag *d);

/* ECS: GET that URL with the Authorization header from
 * AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE or AWS_CONTAINER_AUTHORIZATION_TOKEN. */
kj_err kj_ecs_creds(const struct kj_config *c, const char *rel, const char *full, int64_t deadline,
    struct kj_creds *out, struct kj_diag *d);

#endif
