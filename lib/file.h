/* Reading files that carry trust: config, user map, credentials. */
#ifndef KJ_FILE_H
#define KJ_FILE_H

#include <stddef.h>

#include "kj.h"

/* Read a whole regular file of at most max bytes. Refused (KJ_ERR_CONFIG) if
 * it is a symlink (O_NOFOLLOW), not a regular file, owned by anyone but root
 * or the process's effective uid, or writable by group or others. *buf is
 * NUL-terminated; wipe it with kj_free_secret(*buf, *len) if it may hold a
 * secret. */
kj_err kj_file_read_trusted(const char *path, size_t max, char **buf, size_t *len, struct kj_diag *d);

/* Iterate over lines: returns the next line (NUL-terminated, in place, with
 * surrounding blanks trimmed) or NULL at the end. *pos starts at 0. */
char *kj_next_line(char *buf, size_t len, size_t *pos, unsigned *lineno);

#endif
