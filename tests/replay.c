/* Replay cache (lib/replay.c): directory rules, single use through libpam,
 * recording only after full verification, expiry and purge, the bound, and
 * the race: 50 processes log in with one token at the same instant and
 * exactly one succeeds. Usage: test_replay path/to/pam_kmsjwt_fake.so */
#include <dirent.h>
#include <errno.h>
#include <sys/wait.h>
#include <time.h>

#include "../lib/replay.h"
#include "check.h"
#include "harness.h"

static char cache[PATH_MAX], args[4096];
static int64_t now;

static unsigned
count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return n;
}

static void
empty_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[PATH_MAX + 300];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		(void)kj_fmt(p, sizeof(p), "%s/%s", dir, e->d_name);
		(void)unlink(p);
	}
	closedir(d);
}

/* Move every entry's expiry to the past, as time passing would. */
static void
age_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	struct timespec ts[2] = { { 1000, 0 }, { 1000, 0 } };
	char p[PATH_MAX + 300];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		(void)kj_fmt(p, sizeof(p), "%s/%s", dir, e->d_name);
		(void)utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW);
	}
	closedir(d);
}

static char *
tok_jti(const char *sub, const char *iss, const char *jti)
{
	char extra[256], claims[1024];
	char *t;

	(void)kj_fmt(extra, sizeof(extra), "%s%s%s", jti ? ",\"jti\":\"" : "", jti ? jti : "", jti ? "\"" : "");
	(void)kj_fmt(claims, sizeof(claims),
	    "{\"iss\":\"%s\",\"sub\":\"%s\",\"aud\":\"web-1\",\"iat\":%lld,\"exp\":%lld%s}", iss, sub,
	    (long long)now, (long long)now + 300, extra);
	t = h_craft("{\"alg\":\"KMS\"}", claims, "{}", KJ_FAKE_KEY1, "web-1", sub);
	return t;
}

#define EXPECT(user, tok, want_rc, want_reason, want_kms)                                              \
	do {                                                                                           \
		unsigned long b_ = kj_fake_kms_calls;                                                  \
		int rc_ = h_run_pam(args, (user), (tok));                                              \
		CHECK(rc_ == (want_rc), "%s: got %d (%s), want %d; log: %s", (want_reason), rc_,       \
		    pam_strerror(NULL, rc_), (want_rc), h_last_log);                                   \
		CHECK_CONTAINS(h_last_log, (want_reason));                                             \
		CHECK(kj_fake_kms_calls - b_ == (want_kms), "%s: %lu KMS calls, want %d", (want_reason), \
		    kj_fake_kms_calls - b_, (want_kms));                                               \
	} while (0)

static void
test_directory_rules(void)
{
	struct kj_diag d;
	char p[PATH_MAX + 32];
	int fd = -1;

	CHECK(kj_replay_open_dir(cache, &fd, &d) == KJ_OK, "0700 root dir: %s", d.reason);
	if (fd >= 0)
		close(fd);
	CHECK(kj_replay_open_dir("relative/dir", &fd, &d) == KJ_ERR_CONFIG, "relative path");
	CHECK_CONTAINS(d.reason, "not an absolute path");
	(void)kj_fmt(p, sizeof(p), "%s/nosuch", h_tmpdir);
	CHECK(kj_replay_open_dir(p, &fd, &d) == KJ_ERR_CONFIG, "missing dir");
	(void)kj_fmt(p, sizeof(p), "%s/link", h_tmpdir);
	CHECK(symlink(cache, p) == 0, "symlink");
	CHECK(kj_replay_open_dir(p, &fd, &d) == KJ_ERR_CONFIG, "symlink");
	CHECK_CONTAINS(d.reason, "symlinks are refused");
	(void)unlink(p);
	(void)chmod(cache, 0770);
	CHECK(kj_replay_open_dir(cache, &fd, &d) == KJ_ERR_CONFIG, "group-writable");
	CHECK_CONTAINS(d.reason, "writable by group or others (mode 770)");
	(void)chmod(cache, 0703);
	CHECK(kj_replay_open_dir(cache, &fd, &d) == KJ_ERR_CONFIG, "world-writable");
	(void)chmod(cache, 0755);
	CHECK(kj_replay_open_dir(cache, &fd, &d) == KJ_OK, "0755 is fine: %s", d.reason);
	if (fd >= 0)
		close(fd);
	(void)chmod(cache, 0700);
	if (geteuid() == 0) {
		CHECK(chown(cache, 65534, 65534) == 0, "chown");
		CHECK(kj_replay_open_dir(cache, &fd, &d) == KJ_ERR_CONFIG, "owned by nobody");
		CHECK_CONTAINS(d.reason, "must be owned by root (owner uid 65534)");
		CHECK(chown(cache, 0, 0) == 0, "chown back");
	} else {
		printf("# skipped: ownership refusal needs root\n");
	}
	/* Through the module: a configuration error. */
	{
		char *t = tok_jti("daemon", "idp", "dir-1");

		(void)chmod(cache, 0777);
		EXPECT("daemon", t, PAM_SERVICE_ERR, "writable by group or others", 0);
		(void)chmod(cache, 0700);
		free(t);
	}
}

static void
test_single_use(void)
{
	char *t = tok_jti("daemon", "idp", NULL), *t2, *t3;
	char p[PATH_MAX + 100], name[KJ_REPLAY_NAME_LEN + 1];
	struct stat st;
	DIR *dir;
	struct dirent *e;

	EXPECT("daemon", t, PAM_AUTH_ERR, "claim jti is required (replay_cache is on)", 0);
	free(t);

	t = tok_jti("daemon", "idp", "once-1");
	EXPECT("daemon", t, PAM_SUCCESS, "accepted", 1);
	CHECK(count_entries(cache) == 1, "one entry after one login (%u)", count_entries(cache));
	EXPECT("daemon", t, PAM_AUTH_ERR, "token already used on this host (jti replay)", 0);
	EXPECT(NULL, t, PAM_AUTH_ERR, "token already used", 0);
	/* The entry expires when the token does: exp + leeway. */
	name[0] = '\0';
	dir = opendir(cache);
	while (dir != NULL && (e = readdir(dir)) != NULL) {
		if (e->d_name[0] != '.')
			(void)kj_strlcpy(name, e->d_name, sizeof(name));
	}
	if (dir != NULL)
		closedir(dir);
	(void)kj_fmt(p, sizeof(p), "%s/%s", cache, name);
	CHECK(strlen(name) == 64 && stat(p, &st) == 0 && st.st_mtim.tv_sec == now + 300 + 60 &&
	    (st.st_mode & 0777) == 0600, "entry %s dated exp+leeway, mode 600", name);

	/* Same jti from another allowed issuer: its own namespace. */
	t2 = tok_jti("daemon", "idp2", "once-1");
	EXPECT("daemon", t2, PAM_SUCCESS, "accepted", 1);
	free(t2);

	/* Refused (before or after KMS): not recorded, usable afterwards. */
	t2 = tok_jti("daemon", "idp", "once-2");
	EXPECT("nobody", t2, PAM_AUTH_ERR, "token is for user daemon, login is for nobody", 0);
	t3 = tok_jti("kj-no-such-user", "idp", "once-3");
	EXPECT(NULL, t3, PAM_USER_UNKNOWN, "no local account", 1);
	EXPECT(NULL, t3, PAM_USER_UNKNOWN, "no local account", 1);
	free(t3);
	EXPECT("daemon", t2, PAM_SUCCESS, "accepted", 1);
	EXPECT("daemon", t2, PAM_AUTH_ERR, "token already used", 0);
	/* A forged token with a fresh jti does not burn that jti. */
	{
		char *good = tok_jti("daemon", "idp", "once-4"), *forged = strdup(good);
		size_t n = strlen(forged);

		forged[n - 2] = (char)(forged[n - 2] == 'A' ? 'B' : 'A');
		EXPECT("daemon", forged, PAM_AUTH_ERR, "InvalidCiphertextException", 1);
		EXPECT("daemon", good, PAM_SUCCESS, "accepted", 1);
		free(good);
		free(forged);
	}
	free(t2);

	/* Expired entries are purged by the next recording. */
	age_entries(cache);
	CHECK(count_entries(cache) == 4, "4 entries before purge (%u)", count_entries(cache));
	t2 = tok_jti("daemon", "idp", "once-5");
	EXPECT("daemon", t2, PAM_SUCCESS, "accepted", 1);
	CHECK(count_entries(cache) == 1, "purged down to 1 (%u)", count_entries(cache));
	free(t2);
	free(t);
	empty_dir(cache);
}

static void
test_bound(void)
{
	char saved[4096];
	char jti[32];
	char *t;
	int i;

	(void)kj_strlcpy(saved, args, sizeof(saved));
	(void)kj_fmt(args, sizeof(args), "%s replay_cache_max=3", saved);
	for (i = 0; i < 3; i++) {
		(void)kj_fmt(jti, sizeof(jti), "bound-%d", i);
		t = tok_jti("daemon", "idp", jti);
		EXPECT("daemon", t, PAM_SUCCESS, "accepted", 1);
		free(t);
	}
	t = tok_jti("daemon", "idp", "bound-3");
	/* Full: refuse the new login, forget nothing. */
	EXPECT("daemon", t, PAM_AUTHINFO_UNAVAIL, "replay cache full (3 live entries, replay_cache_max=3)", 1);
	CHECK(count_entries(cache) == 3, "the 3 live entries are kept (%u)", count_entries(cache));
	/* the same token again, once expiry made room */
	age_entries(cache);
	EXPECT("daemon", t, PAM_SUCCESS, "accepted", 1);
	CHECK(count_entries(cache) == 1, "expired entries made room (%u)", count_entries(cache));
	free(t);
	(void)kj_strlcpy(args, saved, sizeof(args));
	empty_dir(cache);
}

/* 50 processes, one token, released at once. Each child's exit status is
 * 10 * (KMS calls) + outcome: 0 success, 1 refused as a replay, 2 other. */
static void
race_once(int round, unsigned *winners, unsigned *replays, unsigned *reached_kms)
{
	enum { N = 50 };
	char jti[32];
	char *t;
	pid_t pids[N];
	int gate[2], i;

	(void)kj_fmt(jti, sizeof(jti), "race-%d", round);
	t = tok_jti("daemon", "idp", jti);
	if (pipe(gate) != 0)
		abort();
	h_set_args(args);
	fflush(NULL);
	for (i = 0; i < N; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			char c;
			int rc;

			close(gate[1]);
			if (read(gate[0], &c, 1) != 0) /* EOF: all go at once */
				_exit(3);
			kj_fake_kms_calls = 0;
			h_quiet_logs = 1;
			rc = h_auth("daemon", t);
			_exit((int)(10 * kj_fake_kms_calls) +
			    (rc == PAM_SUCCESS ? 0 : rc == PAM_AUTH_ERR && strstr(h_last_log, "already used") ? 1 : 2));
		}
	}
	close(gate[0]);
	close(gate[1]);
	for (i = 0; i < N; i++) {
		int st = 0;

		if (pids[i] > 0 && waitpid(pids[i], &st, 0) == pids[i] && WIFEXITED(st)) {
			int code = WEXITSTATUS(st);

			*winners += code % 10 == 0;
			*replays += code % 10 == 1;
			*reached_kms += (unsigned)(code / 10);
		}
	}
	free(t);
}

static void
test_race(void)
{
	unsigned rounds = 5, r, total_win = 0;

	for (r = 0; r < rounds; r++) {
		unsigned win = 0, rep = 0, kms = 0;

		race_once((int)r, &win, &rep, &kms);
		CHECK(win == 1 && rep == 49, "round %u: %u successes, %u replays refused of 50", r, win, rep);
		printf("# race round %u: 50 parallel logins with one token: %u succeeded, %u refused as replays (%u reached KMS)\n",
		    r, win, rep, kms);
		total_win += win;
	}
	CHECK(total_win == rounds, "exactly one winner per round");
	empty_dir(cache);
}

/* What a scan costs at the default bound: one login, 10000 live entries. */
static void
test_scan_cost(void)
{
	struct kj_config c;
	struct kj_diag d;
	struct timespec ts[2];
	char p[PATH_MAX + 64];
	struct timespec a, b;
	int i, fd;
	kj_err err;

	kj_config_defaults(&c);
	(void)kj_strlcpy(c.replay_cache, cache, sizeof(c.replay_cache));
	ts[0].tv_sec = ts[1].tv_sec = (time_t)(now + 3600);
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	for (i = 0; i < 9999; i++) {
		(void)kj_fmt(p, sizeof(p), "%s/%064d", cache, i);
		fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
		if (fd >= 0) {
			(void)futimens(fd, ts);
			close(fd);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	err = kj_replay_record(&c, "idp", "scan-1", now + 300, now, &d);
	clock_gettime(CLOCK_MONOTONIC, &b);
	CHECK(err == KJ_OK, "record with 9999 live entries: %s", d.reason);
	err = kj_replay_record(&c, "idp", "scan-2", now + 300, now, &d);
	CHECK(err == KJ_ERR_UNAVAIL, "the 10001st live entry is refused at the default bound");
	CHECK_CONTAINS(d.reason, "replay cache full (10000 live entries, replay_cache_max=10000)");
	printf("# replay cache: recording with 9999 live entries took %.1f ms\n",
	    (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6);
	empty_dir(cache);
}

int
main(int argc, char **argv)
{
	if (h_setup(argc > 1 ? argv[1] : NULL) != 0)
		return 2;
	now = (int64_t)time(NULL);
	(void)kj_fmt(cache, sizeof(cache), "%s/replay", h_tmpdir);
	if (mkdir(cache, 0700) != 0)
		return 2;
	(void)kj_fmt(args, sizeof(args),
	    "key_id=%s issuer=idp,idp2 audience=web-1 endpoint=http://127.0.0.1:9 credentials_file=%s replay_cache=%s",
	    KJ_FAKE_KEY1, h_credfile, cache);
	test_directory_rules();
	test_single_use();
	test_bound();
	test_race();
	test_scan_cost();
	empty_dir(cache);
	(void)rmdir(cache);
	h_teardown();
	DONE("replay");
}
