/* libFuzzer target: the whole pam_sm_authenticate path (configuration,
 * token, claims, replay cache, KMS Decrypt answered by the in-process fake
 * in "open" mode so the fuzzer reaches the payload, user mapping and
 * envelope code, account lookup), linked statically with pam_kmsjwt.o.
 *
 * Input: byte 0 picks the configuration, byte 1 PAM_USER, the rest is the
 * token as the conversation would return it (up to the first NUL). The clock
 * is fixed (time() below) so the seed corpus stays valid. */
#include <dirent.h>
#include <security/pam_appl.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../lib/kj.h"
#include "../tests/fake_kms.h"

#define KJ_FUZZ_NOW 1767225600 /* 2026-01-01T00:00:00Z */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char dir[] = "/tmp/kjfuzz.XXXXXX";
static char cred[128], map[128], cache[128], confdir[128], svc[160];
static char args[4][12][256];
static int nargs[4];
static const char *tok;

/* The module's clock. */
time_t
time(time_t *t)
{
	if (t != NULL)
		*t = KJ_FUZZ_NOW;
	return KJ_FUZZ_NOW;
}

/* The module's view of libpam: the token comes from the fuzzer. */
int
pam_get_authtok(pam_handle_t *pamh, int item, const char **authtok, const char *prompt)
{
	(void)pamh;
	(void)item;
	(void)prompt;
	*authtok = tok;
	return PAM_SUCCESS;
}

int
pam_prompt(pam_handle_t *pamh, int style, char **response, const char *fmt, ...)
{
	(void)pamh;
	(void)style;
	(void)fmt;
	*response = NULL;
	return PAM_CONV_ERR;
}

void
pam_vsyslog(const pam_handle_t *pamh, int priority, const char *fmt, va_list args_)
{
	char buf[2048];

	(void)pamh;
	(void)priority;
	(void)vsnprintf(buf, sizeof(buf), fmt, args_);
}

void
pam_syslog(const pam_handle_t *pamh, int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pam_vsyslog(pamh, priority, fmt, ap);
	va_end(ap);
}

static void
cleanup(void)
{
	DIR *d = opendir(cache);
	struct dirent *e;
	char p[512];

	while (d != NULL && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' && (e->d_name[1] == '\0' || e->d_name[1] == '.'))
			continue;
		(void)snprintf(p, sizeof(p), "%s/%s", cache, e->d_name);
		(void)unlink(p);
	}
	if (d != NULL)
		closedir(d);
	(void)rmdir(cache);
	(void)unlink(cred);
	(void)unlink(map);
	(void)unlink(svc);
	(void)rmdir(confdir);
	(void)rmdir(dir);
}

static void
put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
		abort();
	(void)chmod(path, 0600);
}

static void
add(int cfg, const char *a)
{
	(void)snprintf(args[cfg][nargs[cfg]++], sizeof(args[0][0]), "%s", a);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char a[256];
	int i;

	(void)argc;
	(void)argv;
	if (mkdtemp(dir) == NULL)
		abort();
	(void)snprintf(cred, sizeof(cred), "%s/credentials", dir);
	(void)snprintf(map, sizeof(map), "%s/users.map", dir);
	(void)snprintf(cache, sizeof(cache), "%s/replay", dir);
	put(cred, "[default]\naws_access_key_id = AKIDFUZZ\naws_secret_access_key = fuzz\n");
	put(map, "# fuzz\n*@example.com daemon\nops-* =\nroot* root\n[a-c]?x nobody\n");
	if (mkdir(cache, 0700) != 0)
		abort();
	/* An empty service: pam_start loads no module and logs nothing. */
	(void)snprintf(confdir, sizeof(confdir), "%s/pam.d", dir);
	(void)snprintf(svc, sizeof(svc), "%s/kjfuzz", confdir);
	if (mkdir(confdir, 0755) != 0)
		abort();
	put(svc, "");
	atexit(cleanup);
	(void)setenv("KJ_FAKE_KMS", "open", 1);
	for (i = 0; i < 4; i++) {
		(void)snprintf(a, sizeof(a), "key_id=%s", i == 2 ? KJ_FAKE_KEY1 "," KJ_FAKE_KEY2 : KJ_FAKE_KEY1);
		add(i, a);
		add(i, i == 2 ? "issuer=idp,idp2" : "issuer=idp");
		add(i, "audience=web-1");
		add(i, "endpoint=http://127.0.0.1:9");
		(void)snprintf(a, sizeof(a), "credentials_file=%s", cred);
		add(i, a);
		add(i, "cache_ttl=0"); /* no kernel keyring traffic while fuzzing */
	}
	(void)snprintf(a, sizeof(a), "user_map=%s", map);
	add(1, a);
	add(1, "user_claim=email");
	add(1, "allow_root");
	add(1, "leeway=0");
	(void)snprintf(a, sizeof(a), "replay_cache=%s", cache);
	add(2, a);
	add(2, "replay_cache_max=1000");
	add(2, "max_ttl=86400");
	add(3, "debug");
	add(3, "try_first_pass");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const users[] = { NULL, "daemon", "root", "nobody" };
	struct pam_conv conv = { NULL, NULL };
	const char *argv[12];
	pam_handle_t *pamh = NULL;
	char *t;
	int cfg, i;

	if (size < 2)
		return 0;
	cfg = data[0] & 3;
	t = malloc(size - 1);
	if (t == NULL)
		return 0;
	memcpy(t, data + 2, size - 2);
	t[size - 2] = '\0';
	tok = t;
	for (i = 0; i < nargs[cfg]; i++)
		argv[i] = args[cfg][i];
	if (pam_start_confdir("kjfuzz", users[data[1] & 3], &conv, confdir, &pamh) == PAM_SUCCESS) {
		int rc = pam_sm_authenticate(pamh, 0, nargs[cfg], argv);

		if (rc == PAM_SUCCESS)
			(void)pam_sm_acct_mgmt(pamh, 0, nargs[cfg], argv);
		pam_end(pamh, rc);
	}
	free(t);
	return 0;
}
