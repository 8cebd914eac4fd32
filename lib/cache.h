/* A secret cache shared by every process of one uid: the kernel's
 * persistent keyring of the effective uid (keyutils).
 *
 * Why the keyring: entries live in kernel memory only (never on disk), the
 * kernel expires them (keyctl_set_timeout), and access is by credentials the
 * kernel checks. Why the persistent keyring of the *effective* uid: sshd and
 * sudo run PAM with euid 0, every login is a new process, and under sudo the
 * real uid is the invoking user, whose user/session keyrings they can read
 * or plant keys in. Getting another uid's persistent keyring needs
 * CAP_SETUID, so a user can neither read root's entries nor add to them.
 * Entries are readable only by their owner (no group/other bits), and an
 * entry found is used only if the kernel says its owner is the euid. */
#ifndef KJ_CACHE_H
#define KJ_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "kj.h"

#define KJ_CACHE_ENTRY_MAX 1024

/* Look up desc. KJ_OK and *len bytes in buf on a hit; KJ_ERR_UNAVAIL on a
 * miss or any problem (the caller then asks KMS). */
kj_err kj_cache_get(const char *desc, uint8_t *buf, size_t size, size_t *len, struct kj_diag *d);

/* Store (or replace) desc for ttl seconds, unless max_entries entries with
 * the same prefix are live already. Failure is not an error for logins. */
kj_err kj_cache_put(const char *desc, const char *prefix, const uint8_t *data, size_t len, unsigned ttl,
    unsigned max_entries, struct kj_diag *d);

/* Remove desc (a corrupt entry). */
void kj_cache_drop(const char *desc);

#endif
