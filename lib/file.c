/* Trusted-file reading with ownership and permission checks. */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

kj_err
kj_file_read_trusted(const char *path, size_t max, char **buf, size_t *len, struct kj_diag *d)
{
	struct stat st;
	char *b = NULL;
	size_t cap = 0, n = 0;
	int fd = -1;
	kj_err err;

	*buf = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		err = kj_fail(d, KJ_ERR_CONFIG, "cannot open %s: %s%s", path, strerror(errno),
		    errno == ELOOP ? " (symlinks are refused)" : "");
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		err = kj_fail(d, KJ_ERR_CONFIG, "cannot stat %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err = kj_fail(d, KJ_ERR_CONFIG, "%s is not a regular file", path);
		goto out;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		err = kj_fail(d, KJ_ERR_CONFIG, "%s must be owned by root (owner uid %u)", path,
		    (unsigned)st.st_uid);
		goto out;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		err = kj_fail(d, KJ_ERR_CONFIG, "%s is writable by group or others (mode %03o)", path,
		    (unsigned)(st.st_mode & 0777));
		goto out;
	}
	if (st.st_size < 0 || (size_t)st.st_size > max) {
		err = kj_fail(d, KJ_ERR_CONFIG, "%s is larger than %zu bytes", path, max);
		goto out;
	}
	cap = (size_t)st.st_size + 1;
	b = malloc(cap);
	if (b == NULL) {
		err = kj_fail(d, KJ_ERR_NOMEM, "out of memory reading %s", path);
		goto out;
	}
	while (n < cap - 1) {
		ssize_t r = read(fd, b + n, cap - 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = kj_fail(d, KJ_ERR_CONFIG, "cannot read %s: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (memchr(b, '\0', n) != NULL) {
		err = kj_fail(d, KJ_ERR_CONFIG, "%s contains a NUL byte", path);
		goto out;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	b = NULL;
	err = KJ_OK;
out:
	if (b != NULL)
		kj_free_secret(b, cap);
	if (fd >= 0)
		close(fd);
	return err;
}

static int
kj_is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

char *
kj_next_line(char *buf, size_t len, size_t *pos, unsigned *lineno)
{
	char *start, *end;
	size_t i = *pos;

	if (i >= len)
		return NULL;
	start = buf + i;
	while (i < len && buf[i] != '\n')
		i++;
	end = buf + i;
	*pos = i < len ? i + 1 : i;
	*end = '\0';
	(*lineno)++;
	while (kj_is_blank(*start))
		start++;
	while (end > start && kj_is_blank(end[-1]))
		*--end = '\0';
	return start;
}
