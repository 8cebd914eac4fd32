/* Single-use tokens: a per-host cache of the jti values already used.
 *
 * Design: one file per (iss, jti) in the replay_cache directory, named by
 * hex(SHA-256("kmsjwt-replay-v1" NUL iss NUL jti)), its mtime set to
 * exp + leeway (when the token stops being acceptable anyway). A fully formed
 * temporary file is link()ed to that name: link fails with EEXIST when the
 * name exists, so of any number of concurrent logins with one token exactly
 * one records it, and no reader ever sees a half-made entry. Entries whose
 * mtime has passed are purged on each recording. When replay_cache_max live
 * entries exist, new logins are refused (KJ_ERR_UNAVAIL) rather than any live
 * entry forgotten. */
#ifndef KJ_REPLAY_H
#define KJ_REPLAY_H

#include <stdint.h>

#include "config.h"
#include "kj.h"

#define KJ_REPLAY_NAME_LEN 64 /* hex SHA-256 */

/* Before KMS: with replay_cache set, jti must be present, the directory
 * must be trustworthy (a directory, not a symlink, owned by root or the
 * euid, not group/world-writable) and the jti not used yet. Without
 * replay_cache: KJ_OK. jti may be NULL (refused when the cache is on). */
kj_err kj_replay_precheck(const struct kj_config *c, const char *iss, const char *jti,
    struct kj_diag *d);

/* After full verification: record (iss, jti) until exp + leeway. KJ_ERR_CLAIMS
 * if another login recorded it first, KJ_ERR_UNAVAIL if the cache is full,
 * KJ_ERR_CONFIG for an untrustworthy directory. */
kj_err kj_replay_record(const struct kj_config *c, const char *iss, const char *jti, int64_t exp,
    int64_t now, struct kj_diag *d);

/* Open the directory and check it as above; *fd_out is an O_DIRECTORY fd. */
kj_err kj_replay_open_dir(const char *dir, int *fd_out, struct kj_diag *d);

/* Purge expired entries; counts the live ones. For tests and `kmsjwt check`. */
kj_err kj_replay_scan(int dirfd, int64_t now, unsigned long *live, unsigned long *purged,
    struct kj_diag *d);

#endif
