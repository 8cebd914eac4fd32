/* Replay cache: one file per used (iss, jti), created atomically with link(). */
#include "replay.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "token.h"

#define KJ_REPLAY_TMP ".tmp."

kj_err
kj_replay_open_dir(const char *dir, int *fd_out, struct kj_diag *d)
{
	struct stat st;
	int fd = -1;
	kj_err err;

	*fd_out = -1;
	if (dir[0] != '/') {
		err = kj_fail(d, KJ_ERR_CONFIG, "replay_cache: %s is not an absolute path", dir);
		goto out;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		err = kj_fail(d, KJ_ERR_CONFIG, "replay_cache: cannot open directory %s: %s%s", dir,
		    strerror(errno), errno == ELOOP || errno == ENOTDIR ? " (symlinks are refused)" : "");
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		err = kj_fail(d, KJ_ERR_CONFIG, "replay_cache: cannot stat %s: %s", dir, strerror(errno));
		goto out;
	}
	/* Whoever can write here can delete entries and so replay tokens. */
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		err = kj_fail(d, KJ_ERR_CONFIG, "replay_cache: %s must be owned by root (owner uid %u)", dir,
		    (unsigned)st.st_uid);
		goto out;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		err = kj_fail(d, KJ_ERR_CONFIG, "replay_cache: %s is writable by group or others (mode %03o)",
		    dir, (unsigned)(st.st_mode & 0777));
		goto out;
	}
	*fd_out = fd;
	fd = -1;
	err = KJ_OK;
out:
	if (fd >= 0)
		close(fd);
	return err;
}

/* hex(SHA-256("kmsjwt-replay-v1" NUL iss NUL jti)): fixed length, no path
 * characters, and one issuer cannot use up another's jti. */
static int
kj_replay_name(const char *iss, const char *jti, char out[KJ_REPLAY_NAME_LEN + 1])
{
	static const char tag[] = "kmsjwt-replay-v1";
	struct kj_span parts[3] = { { tag, sizeof(tag) }, { iss, strlen(iss) + 1 }, { jti, strlen(jti) } };
	uint8_t md[KJ_SHA256_LEN];

	kj_sha256_v(parts, 3, md);
	kj_hex(out, md, sizeof(md));
	return 0;
}

/* Both steps need a jti and the checked directory. */
static kj_err
kj_replay_begin(const struct kj_config *c, const char *jti, int *dirfd, struct kj_diag *d)
{
	if (jti == NULL || *jti == '\0')
		return kj_fail(d, KJ_ERR_CLAIMS, "claim jti is required (replay_cache is on)");
	return kj_replay_open_dir(c->replay_cache, dirfd, d);
}

kj_err
kj_replay_precheck(const struct kj_config *c, const char *iss, const char *jti, struct kj_diag *d)
{
	char name[KJ_REPLAY_NAME_LEN + 1];
	struct stat st;
	int dirfd = -1;
	kj_err err;

	if (c->replay_cache[0] == '\0')
		return KJ_OK;
	err = kj_replay_begin(c, jti, &dirfd, d);
	if (err != KJ_OK)
		goto out;
	if (kj_replay_name(iss, jti, name) != 0) {
		err = kj_fail(d, KJ_ERR_NOMEM, "replay_cache: cannot hash the jti");
		goto out;
	}
	/* A cheap refusal for the common replay; the authoritative test is the
	 * link() in kj_replay_record. */
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		err = kj_fail(d, KJ_ERR_CLAIMS, "token already used on this host (jti replay)");
		goto out;
	}
	if (errno != ENOENT) {
		err = kj_fail(d, KJ_ERR_UNAVAIL, "replay_cache: cannot look up an entry: %s", strerror(errno));
		goto out;
	}
	err = KJ_OK;
out:
	if (dirfd >= 0)
		close(dirfd);
	return err;
}

kj_err
kj_replay_scan(int dirfd, int64_t now, unsigned long *live, unsigned long *purged, struct kj_diag *d)
{
	struct dirent *e;
	struct stat st;
	DIR *dir = NULL;
	int fd;
	kj_err err;

	*live = 0;
	*purged = 0;
	fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0 || (dir = fdopendir(fd)) == NULL) {
		err = kj_fail(d, KJ_ERR_UNAVAIL, "replay_cache: cannot list: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	rewinddir(dir);
	for (;;) {
		errno = 0;
		e = readdir(dir);
		if (e == NULL)
			break;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
			continue; /* gone meanwhile, or not ours */
		/* A temporary file is dated only after it is created: one that
		 * has not changed for a minute was left by a crash. */
		if (strncmp(e->d_name, KJ_REPLAY_TMP, strlen(KJ_REPLAY_TMP)) == 0) {
			if ((int64_t)st.st_ctim.tv_sec < now - 60 && unlinkat(dirfd, e->d_name, 0) == 0)
				(*purged)++;
			continue;
		}
		/* mtime is exp + leeway: from then on the claims check refuses
		 * the token by itself and the entry is no longer needed. */
		if ((int64_t)st.st_mtim.tv_sec <= now) {
			if (unlinkat(dirfd, e->d_name, 0) == 0)
				(*purged)++;
			continue;
		}
		(*live)++;
	}
	if (errno != 0) {
		err = kj_fail(d, KJ_ERR_UNAVAIL, "replay_cache: cannot list: %s", strerror(errno));
		goto out;
	}
	err = KJ_OK;
out:
	if (dir != NULL)
		closedir(dir);
	return err;
}

kj_err
kj_replay_record(const struct kj_config *c, const char *iss, const char *jti, int64_t exp,
    int64_t now, struct kj_diag *d)
{
	char name[KJ_REPLAY_NAME_LEN + 1], tmp[64];
	struct timespec ts[2];
	unsigned char rnd[8];
	char rhex[17];
	unsigned long live = 0, purged = 0;
	int dirfd = -1, fd = -1, have_tmp = 0;
	kj_err err;

	if (c->replay_cache[0] == '\0')
		return KJ_OK;
	err = kj_replay_begin(c, jti, &dirfd, d);
	if (err != KJ_OK)
		goto out;
	err = kj_replay_scan(dirfd, now, &live, &purged, d);
	if (err != KJ_OK)
		goto out;
	/* Forgetting a live entry would let its token be replayed: refuse. */
	if (live >= (unsigned long)c->replay_cache_max) {
		err = kj_fail(d, KJ_ERR_UNAVAIL, "replay cache full (%lu live entries, replay_cache_max=%lld)",
		    live, (long long)c->replay_cache_max);
		goto out;
	}
	if (kj_replay_name(iss, jti, name) != 0) {
		err = kj_fail(d, KJ_ERR_NOMEM, "replay_cache: cannot hash the jti");
		goto out;
	}
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		err = kj_fail(d, KJ_ERR_INTERNAL, "replay_cache: getrandom failed");
		goto out;
	}
	kj_hex(rhex, rnd, sizeof(rnd));
	if (kj_fmt(tmp, sizeof(tmp), KJ_REPLAY_TMP "%ld.%s", (long)getpid(), rhex) != 0) {
		err = kj_fail(d, KJ_ERR_INTERNAL, "replay_cache: name too long");
		goto out;
	}
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = kj_fail(d, KJ_ERR_UNAVAIL, "replay_cache: cannot create an entry: %s", strerror(errno));
		goto out;
	}
	have_tmp = 1;
	ts[0].tv_sec = ts[1].tv_sec = (time_t)(exp + c->leeway);
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	if (futimens(fd, ts) != 0) {
		err = kj_fail(d, KJ_ERR_UNAVAIL, "replay_cache: cannot date an entry: %s", strerror(errno));
		goto out;
	}
	/* The one atomic step: exactly one of any concurrent logins wins. */
	if (linkat(dirfd, tmp, dirfd, name, 0) != 0) {
		if (errno == EEXIST)
			err = kj_fail(d, KJ_ERR_CLAIMS, "token already used on this host (jti replay)");
		else
			err = kj_fail(d, KJ_ERR_UNAVAIL, "replay_cache: cannot record the jti: %s",
			    strerror(errno));
		goto out;
	}
	err = KJ_OK;
out:
	if (fd >= 0)
		close(fd);
	if (have_tmp)
		(void)unlinkat(dirfd, tmp, 0);
	if (dirfd >= 0)
		close(dirfd);
	return err;
}

