/* kmsjwt: mint, inspect and verify pam_kmsjwt tokens. */
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/authtok.h"
#include "lib/b64.h"
#include "lib/config.h"
#include "lib/creds.h"
#include "lib/file.h"
#include "lib/http.h"
#include "lib/kj.h"
#include "lib/mint.h"
#include "lib/replay.h"
#include "lib/sigv4.h"
#include "lib/token.h"
#include "lib/usermap.h"
#include "lib/verify.h"

#define KJ_EXIT_OK 0
#define KJ_EXIT_REFUSED 1
#define KJ_EXIT_USAGE 2
#define KJ_EXIT_UNAVAIL 3
#define KJ_EXIT_USER_UNKNOWN 4

static int
kj_exit_code(kj_err err)
{
	switch (err) {
	case KJ_OK: return KJ_EXIT_OK;
	case KJ_ERR_CONFIG: return KJ_EXIT_USAGE;
	case KJ_ERR_UNAVAIL: return KJ_EXIT_UNAVAIL;
	case KJ_ERR_USER_UNKNOWN: return KJ_EXIT_USER_UNKNOWN;
	default: return KJ_EXIT_REFUSED;
	}
}

static void
kj_usage(FILE *f)
{
	fputs("usage: kmsjwt COMMAND [OPTIONS]\n"
	      "\n"
	      "commands:\n"
	      "  mint      issue a token through KMS Encrypt (kmsjwt mint --help)\n"
	      "  inspect   print a token's header and claims, without any crypto\n"
	      "  verify    run the PAM module's checks on a token read from stdin\n"
	      "  check     check a configuration: options, files, credentials, KMS, clock\n"
	      "  askpass   print a token, or the part a prompt asks for (SSH_ASKPASS, sudo -A)\n"
	      "\n"
	      "See kmsjwt(1) and docs/token-format.md.\n",
	    f);
}

/* Read a token (one line) from a file descriptor into a bounded buffer. */
static int
kj_read_token(FILE *in, char *buf, size_t size, size_t *len)
{
	size_t n = fread(buf, 1, size - 1, in);

	if (ferror(in))
		return -1;
	if (n == size - 1 && fgetc(in) != EOF)
		return -1; /* longer than any valid token */
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	*len = n;
	return 0;
}

static void
kj_mint_usage(FILE *f)
{
	fputs("usage: kmsjwt mint --key-id ARN --issuer ISS --audience AUD --subject SUB [options]\n"
	      "  --ttl SECONDS           lifetime (default 300)\n"
	      "  --jti ID | --no-jti     token id (default: 128 random bits)\n"
	      "  --payload JSON          private payload object, sealed by KMS (default {})\n"
	      "  --claims JSON           extra public claims (an object)\n"
	      "  --endpoint URL          KMS endpoint (http:// only for loopback)\n"
	      "  --region REGION         default: from the key ARN\n"
	      "  --credentials-file F    AWS shared credentials file (default: AWS_* variables)\n"
	      "  --profile NAME          profile in that file (default: default)\n"
	      "  --timeout SECONDS       KMS call budget (default 5)\n"
	      "  --envelope              alg KMS+A256GCM: a KMS data key, AES-256-GCM, cacheable by verifiers\n"
	      "  --dk-max-age SECONDS    envelope: reuse a data key this long (default 300; 0: never reuse)\n"
	      "  --dk-max-uses N         envelope: ...for at most N tokens (default 1000), kept in this\n"
	      "                          user's kernel keyring, never on disk\n"
	      "Prints the token on stdout.\n",
	    f);
}

static int
kj_cmd_mint(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key-id", required_argument, NULL, 'k' }, { "issuer", required_argument, NULL, 'i' },
		{ "audience", required_argument, NULL, 'a' }, { "subject", required_argument, NULL, 's' },
		{ "ttl", required_argument, NULL, 't' }, { "jti", required_argument, NULL, 'j' },
		{ "no-jti", no_argument, NULL, 'J' }, { "payload", required_argument, NULL, 'p' },
		{ "claims", required_argument, NULL, 'c' }, { "endpoint", required_argument, NULL, 'e' },
		{ "region", required_argument, NULL, 'r' },
		{ "credentials-file", required_argument, NULL, 'f' },
		{ "profile", required_argument, NULL, 'P' }, { "timeout", required_argument, NULL, 'T' },
		{ "envelope", no_argument, NULL, 'E' }, { "dk-max-age", required_argument, NULL, 'A' },
		{ "dk-max-uses", required_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 }
	};
	struct kj_config cfg;
	struct kj_creds cr;
	struct kj_mint_req m;
	struct kj_diag d;
	json_error_t jerr;
	char *token = NULL;
	int64_t ttl = 300, age = 300, uses = 1000;
	int opt, rc = KJ_EXIT_USAGE;
	kj_err err = KJ_OK;

	memset(&m, 0, sizeof(m));
	memset(&d, 0, sizeof(d));
	memset(&cr, 0, sizeof(cr));
	kj_config_defaults(&cfg);
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'k': m.key_id = optarg; err = kj_config_set(&cfg, "key_id", optarg, &d); break;
		case 'i': m.iss = optarg; err = kj_config_set(&cfg, "issuer", optarg, &d); break;
		case 'a': m.aud = optarg; err = kj_config_set(&cfg, "audience", optarg, &d); break;
		case 's': m.sub = optarg; break;
		case 't':
			if (kj_parse_i64(optarg, 1, 30 * 86400, &ttl) != 0)
				err = kj_fail(&d, KJ_ERR_CONFIG, "--ttl: expected 1 to 2592000 seconds");
			break;
		case 'j': m.jti = optarg; break;
		case 'J': m.jti = ""; break;
		case 'p': m.payload = optarg; break;
		case 'c':
			json_decref(m.extra_claims);
			m.extra_claims = json_loads(optarg, JSON_REJECT_DUPLICATES, &jerr);
			if (!json_is_object(m.extra_claims))
				err = kj_fail(&d, KJ_ERR_CONFIG, "--claims: not a JSON object");
			break;
		case 'e': err = kj_config_set(&cfg, "endpoint", optarg, &d); break;
		case 'r': err = kj_config_set(&cfg, "region", optarg, &d); break;
		case 'f': err = kj_config_set(&cfg, "credentials_file", optarg, &d); break;
		case 'P': err = kj_config_set(&cfg, "profile", optarg, &d); break;
		case 'T': err = kj_config_set(&cfg, "timeout", optarg, &d); break;
		case 'E': m.envelope = 1; break;
		case 'A':
			if (kj_parse_i64(optarg, 0, 86400, &age) != 0)
				err = kj_fail(&d, KJ_ERR_CONFIG, "--dk-max-age: expected 0 to 86400 seconds");
			break;
		case 'U':
			if (kj_parse_i64(optarg, 0, 1000000, &uses) != 0)
				err = kj_fail(&d, KJ_ERR_CONFIG, "--dk-max-uses: expected 0 to 1000000");
			break;
		case 'h': kj_mint_usage(stdout); rc = KJ_EXIT_OK; goto out;
		default: kj_mint_usage(stderr); goto out;
		}
		if (err != KJ_OK) {
			fprintf(stderr, "kmsjwt mint: %s\n", d.reason);
			goto out;
		}
	}
	if (optind != argc || m.key_id == NULL || m.iss == NULL || m.aud == NULL || m.sub == NULL) {
		kj_mint_usage(stderr);
		goto out;
	}
	err = kj_config_finish(&cfg, &d);
	if (err == KJ_OK)
		err = kj_creds_load(&cfg, &cr, &d);
	if (err == KJ_OK) {
		m.iat = (int64_t)time(NULL);
		m.exp = m.iat + ttl;
		m.dk_max_age = (unsigned)age;
		m.dk_max_uses = (unsigned)uses;
		err = kj_mint(&cfg, &cr, &m, &token, &d);
	}
	if (err != KJ_OK) {
		fprintf(stderr, "kmsjwt mint: %s\n", d.reason);
		rc = kj_exit_code(err);
		goto out;
	}
	printf("%s\n", token);
	rc = KJ_EXIT_OK;
out:
	kj_creds_wipe(&cr);
	kj_free_secret_str(token);
	json_decref(m.extra_claims);
	return rc;
}

static int
kj_cmd_inspect(int argc, char **argv)
{
	char buf[KJ_TOKEN_MAX + 2];
	const char *tok;
	size_t len;
	struct kj_token t;
	struct kj_diag d;
	char *h = NULL, *c = NULL;
	kj_err err;
	int rc = KJ_EXIT_REFUSED;

	memset(&d, 0, sizeof(d));
	if (argc > 2 || (argc == 2 && strcmp(argv[1], "--help") == 0)) {
		fputs("usage: kmsjwt inspect [TOKEN]   (reads stdin without TOKEN or with -)\n",
		    argc == 2 ? stdout : stderr);
		return argc == 2 ? KJ_EXIT_OK : KJ_EXIT_USAGE;
	}
	if (argc == 2 && strcmp(argv[1], "-") != 0) {
		tok = argv[1];
		len = strlen(tok);
	} else {
		if (kj_read_token(stdin, buf, sizeof(buf), &len) != 0) {
			fprintf(stderr, "kmsjwt inspect: cannot read a token from stdin\n");
			return KJ_EXIT_USAGE;
		}
		tok = buf;
	}
	err = kj_token_parse(tok, len, &t, &d);
	if (err != KJ_OK) {
		fprintf(stderr, "kmsjwt inspect: %s\n", d.reason);
		goto out;
	}
	h = json_dumps(t.header, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	c = json_dumps(t.claims, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	printf("header: %s\nclaims: %s\nsealed: %zu bytes (%s)\nlength: %zu bytes\ndigest: %s\n",
	    h ? h : "?", c ? c : "?", t.sealed_len,
	    t.alg == KJ_ALG_KMS ? "KMS ciphertext" : "wrapped data key + AES-256-GCM", len, t.digest);
	printf("note: nothing was verified; use kmsjwt verify\n");
	rc = KJ_EXIT_OK;
	kj_token_free(&t);
out:
	free(h);
	free(c);
	explicit_bzero(buf, sizeof(buf));
	return rc;
}

static int
kj_cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "user", required_argument, NULL, 'u' }, { "now", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 }
	};
	struct kj_config cfg;
	struct kj_result res;
	struct kj_diag d;
	char buf[KJ_TOKEN_MAX + 2], line[1024];
	const char *user = NULL;
	int64_t now = (int64_t)time(NULL);
	size_t len = 0;
	int opt;
	kj_err err;

	memset(&d, 0, sizeof(d));
	memset(&res, 0, sizeof(res));
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'u': user = optarg; break;
		case 'n':
			if (kj_parse_i64(optarg, 0, 253402300799LL, &now) != 0) {
				fprintf(stderr, "kmsjwt verify: --now: expected seconds since the epoch\n");
				return KJ_EXIT_USAGE;
			}
			break;
		case 'h':
			fputs("usage: kmsjwt verify [--user NAME] [--now EPOCH] OPTION=VALUE... < token\n"
			      "OPTIONs are the module's (config=FILE, key_id=, issuer=, audience=, ...).\n"
			      "Prints the mapped user; exit 0 accepted, 1 refused, 2 bad config,\n"
			      "3 KMS or credentials unavailable, 4 unknown user.\n",
			    stdout);
			return KJ_EXIT_OK;
		default:
			return KJ_EXIT_USAGE;
		}
	}
	kj_config_defaults(&cfg);
	err = kj_config_from_args(&cfg, argc - optind, (const char **)(argv + optind), &d);
	if (err == KJ_OK)
		err = kj_config_finish(&cfg, &d);
	if (err != KJ_OK) {
		fprintf(stderr, "kmsjwt verify: configuration error: %s\n", d.reason);
		return kj_exit_code(err);
	}
	if (kj_read_token(stdin, buf, sizeof(buf), &len) != 0) {
		err = kj_fail(&d, KJ_ERR_TOKEN, "token longer than %d bytes", KJ_TOKEN_MAX);
		memset(&res, 0, sizeof(res));
	} else {
		err = kj_verify(&cfg, buf, len, now, user, &res, &d);
	}
	explicit_bzero(buf, sizeof(buf));
	kj_decision_line(line, sizeof(line), err, &d, &res);
	fprintf(stderr, "%s\n", line);
	if (err == KJ_OK)
		printf("%s\n", res.user);
	return kj_exit_code(err);
}

/* ---- askpass: a token for SSH_ASKPASS and sudo -A, in parts ---------------
 * Stateless: ssh and sudo run the helper once per prompt with the prompt as
 * its argument, so the part is read from the prompt (lib/authtok.h). */
static void
kj_askpass_usage(FILE *f)
{
	fputs("usage: kmsjwt askpass [--file F | --env VAR | --command CMD] [--part-size N] [PROMPT]\n"
	      "       kmsjwt-askpass PROMPT     (kmsjwt under that name: for SSH_ASKPASS, sudo -A)\n"
	      "Prints what PROMPT asks for: part N of the token for \"Token (part N): \", part 1\n"
	      "for \"Token: \", the whole token for any other prompt. A part but the last ends in\n"
	      "a backslash, which tells pam_kmsjwt that more follows.\n"
	      "  --file F          read the token from F (yours or root's, not group/world-writable)\n"
	      "  --env VAR         take the token from the environment variable VAR\n"
	      "  --command CMD     run CMD with /bin/sh -c and take the token from its output;\n"
	      "                    it runs once per part and must print the same token each time\n"
	      "  --part-size N     token bytes per part, 16 to 4096 (default 500: sudo takes 511)\n"
	      "Without a source option: $KMSJWT_TOKEN_FILE, $KMSJWT_TOKEN_COMMAND or $KMSJWT_TOKEN,\n"
	      "exactly one of them. Exit 0 with the part on stdout, 1 on any error.\n",
	    f);
}

/* Invoked as "kmsjwt askpass ..." or through a link named kmsjwt-askpass. */
static int
kj_askpass_called(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/');

	base = base != NULL ? base + 1 : argv[0];
	return strcmp(base, "kmsjwt-askpass") == 0 || (argc >= 2 && strcmp(argv[1], "askpass") == 0);
}

/* The token from one source into buf; trailing newlines and blanks dropped. */
static int
kj_askpass_load(char kind, const char *src, char *buf, size_t size, size_t *len)
{
	struct kj_diag d;
	char *text = NULL;
	size_t n = 0;
	FILE *p;
	int st, rc = -1;

	memset(&d, 0, sizeof(d));
	if (kind == 'f') {
		if (kj_file_read_trusted(src, size - 1, &text, &n, &d) != KJ_OK) {
			fprintf(stderr, "kmsjwt askpass: %s\n", d.reason);
			goto out;
		}
		memcpy(buf, text, n);
	} else if (kind == 'e') {
		if (getenv(src) == NULL || kj_strlcpy(buf, getenv(src), size) != 0) {
			fprintf(stderr, "kmsjwt askpass: $%s is unset or too long\n", src);
			goto out;
		}
		n = strlen(buf);
	} else {
		fflush(NULL);
		p = popen(src, "r");
		if (p == NULL || kj_read_token(p, buf, size, &n) != 0) {
			fprintf(stderr, "kmsjwt askpass: cannot read a token from the command\n");
			if (p != NULL)
				(void)pclose(p);
			goto out;
		}
		st = pclose(p);
		if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "kmsjwt askpass: the token command failed (status %d)\n", st);
			goto out;
		}
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		n--;
	buf[n] = '\0';
	*len = n;
	rc = 0;
out:
	if (text != NULL)
		kj_free_secret(text, n);
	return rc;
}

static int
kj_cmd_askpass(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "file", required_argument, NULL, 'f' }, { "env", required_argument, NULL, 'e' },
		{ "command", required_argument, NULL, 'c' }, { "part-size", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 }
	};
	static const char *const envs[3][2] = {
		{ "KMSJWT_TOKEN_FILE", "f" }, { "KMSJWT_TOKEN_COMMAND", "c" }, { "KMSJWT_TOKEN", "e" }
	};
	char buf[KJ_TOKEN_MAX + 2], part[KJ_TOKEN_MAX + 2];
	const char *src = NULL, *prompt = "";
	char kind = 0;
	struct kj_diag d;
	int64_t psize = KJ_PART_SIZE;
	size_t len = 0;
	int opt, i, found = -1, rc = KJ_EXIT_USAGE;

	memset(&d, 0, sizeof(d));
	if (argc >= 2 && strcmp(argv[1], "askpass") == 0) {
		argc--;
		argv++;
	}
	optind = 1;
	/* "+": stop at the prompt even if it happens to start with a dash. */
	while ((opt = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (opt) {
		case 'f': case 'e': case 'c':
			if (kind != 0) {
				fprintf(stderr, "kmsjwt askpass: give one of --file, --env, --command\n");
				goto out;
			}
			kind = (char)opt;
			src = optarg;
			break;
		case 's':
			if (kj_parse_i64(optarg, 16, 4096, &psize) != 0) {
				fprintf(stderr, "kmsjwt askpass: --part-size: expected 16 to 4096\n");
				goto out;
			}
			break;
		case 'h': kj_askpass_usage(stdout); rc = KJ_EXIT_OK; goto out;
		default: kj_askpass_usage(stderr); goto out;
		}
	}
	if (argc - optind > 1) {
		kj_askpass_usage(stderr);
		goto out;
	}
	if (optind < argc)
		prompt = argv[optind];
	for (i = 0; src == NULL && i < 3; i++) {
		if (getenv(envs[i][0]) == NULL)
			continue;
		if (found >= 0) {
			fprintf(stderr, "kmsjwt askpass: set only one of KMSJWT_TOKEN_FILE, KMSJWT_TOKEN_COMMAND, "
			    "KMSJWT_TOKEN\n");
			goto out;
		}
		found = i;
	}
	if (found >= 0) {
		kind = envs[found][1][0];
		src = kind == 'e' ? envs[found][0] : getenv(envs[found][0]);
	}
	if (kind == 0) {
		fprintf(stderr, "kmsjwt askpass: no token source (--file, --env, --command, or KMSJWT_TOKEN*)\n");
		goto out;
	}
	rc = KJ_EXIT_REFUSED;
	if (kj_askpass_load(kind, src, buf, sizeof(buf), &len) != 0)
		goto out;
	if (kj_authtok_chunk(buf, len, kj_authtok_prompt_part(prompt), (size_t)psize, part, sizeof(part), &d) !=
	    KJ_OK) {
		fprintf(stderr, "kmsjwt askpass: %s\n", d.reason);
		goto out;
	}
	printf("%s\n", part);
	rc = fflush(stdout) == 0 ? KJ_EXIT_OK : KJ_EXIT_REFUSED;
out:
	explicit_bzero(buf, sizeof(buf));
	explicit_bzero(part, sizeof(part));
	return rc;
}

/* ---- kmsjwt check: the configuration self-check ------------------------- */

struct kj_check {
	unsigned ok, warn, err;
};

static void kj_finding(struct kj_check *k, int level, const char *fix, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* One finding per line: level 0 ok, 1 warning, 2 error; with the fix. */
static void
kj_finding(struct kj_check *k, int level, const char *fix, const char *fmt, ...)
{
	static const char *const names[] = { "ok", "warning", "error" };
	va_list ap;

	printf("%-8s", names[level]);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (fix != NULL)
		printf("\n        fix: %s", fix);
	putchar('\n');
	if (level == 0)
		k->ok++;
	else if (level == 1)
		k->warn++;
	else
		k->err++;
}

/* The arguments of the first "auth ... pam_kmsjwt.so ARGS" line of a PAM
 * service file; they point into *buf, which the caller frees. */
static kj_err
kj_pam_service_args(const char *dir, const char *service, char **buf, size_t *len, const char **args,
    int max, int *n, struct kj_diag *d)
{
	char path[PATH_MAX], *line;
	size_t pos = 0;
	unsigned lineno = 0;
	kj_err err;

	*n = 0;
	if (strchr(service, '/') != NULL || kj_fmt(path, sizeof(path), "%s/%s", dir, service) != 0)
		return kj_fail(d, KJ_ERR_CONFIG, "bad PAM service name '%s'", service);
	err = kj_file_read_trusted(path, 65536, buf, len, d);
	if (err != KJ_OK)
		return err;
	while ((line = kj_next_line(*buf, *len, &pos, &lineno)) != NULL) {
		char *tok[40];
		int nt = 0, i;
		const char *base;

		while (*line != '\0' && nt < 40) {
			char *start = line;

			if (*line == '[') { /* [a b] is one word; the brackets go for args */
				char *rb = strchr(line, ']');

				if (rb == NULL)
					break;
				line = rb + 1;
			} else {
				line += strcspn(line, " \t");
			}
			if (*line != '\0')
				*line++ = '\0';
			tok[nt++] = start;
			line += strspn(line, " \t");
		}
		if (nt < 3 || tok[0][0] == '#' || (strcmp(tok[0], "auth") != 0 && strcmp(tok[0], "-auth") != 0))
			continue;
		base = strrchr(tok[2], '/');
		base = base != NULL ? base + 1 : tok[2];
		if (strcmp(base, "pam_kmsjwt.so") != 0)
			continue;
		for (i = 3; i < nt && *n < max; i++) {
			if (tok[i][0] == '[') {
				tok[i]++;
				tok[i][strlen(tok[i]) - 1] = '\0';
			}
			args[(*n)++] = tok[i];
		}
		printf("%-8s%s:%u: auth line for pam_kmsjwt.so with %d arguments\n", "info", path, lineno, *n);
		return KJ_OK;
	}
	return kj_fail(d, KJ_ERR_CONFIG, "%s has no auth line for pam_kmsjwt.so", path);
}

/* KMS Decrypt of a deliberately invalid ciphertext with DryRun, signed as the
 * module signs: proves reachability and credentials, and, where KMS honours
 * DryRun, the permission. The answer's error type and Date are returned. */
static kj_err
kj_check_probe(const struct kj_config *c, const struct kj_creds *cr, const char *key, long *status,
    char *type, size_t type_size, char *date, size_t date_size, struct kj_diag *d)
{
	uint8_t blob[160];
	struct kj_header h[7];
	struct kj_http_resp r;
	char amz_date[17], authz[KJ_AUTHZ_MAX];
	char probe_digest[KJ_DIGEST_LEN + 1];
	char *b64 = NULL, *body = NULL;
	json_t *req = NULL, *ctx = NULL, *resp = NULL, *t;
	size_t n = 0, body_len = 0;
	kj_err err;

	memset(&r, 0, sizeof(r));
	type[0] = '\0';
	date[0] = '\0';
	memset(blob, 0, sizeof(blob));
	{
		/* Headed by the key id, as moto's blobs are, so an emulator looks
		 * the key up; to KMS it is one more invalid ciphertext. */
		const char *id = strstr(key, ":key/");

		if (id != NULL && strlen(id + 5) <= 64)
			memcpy(blob, id + 5, strlen(id + 5));
	}
	memset(probe_digest, 'A', KJ_DIGEST_LEN);
	probe_digest[KJ_DIGEST_LEN] = '\0';
	b64 = kj_b64_encode_alloc(KJ_B64STD, blob, sizeof(blob));
	/* The context a real token has, so aud-conditioned policies apply. */
	ctx = json_pack("{s:s,s:s,s:s}", "kmsjwt", probe_digest, "aud", c->audience, "sub", "kmsjwt-check");
	req = json_object();
	if (b64 == NULL || ctx == NULL || req == NULL || json_object_set_new(req, "CiphertextBlob", json_string(b64)) != 0 ||
	    json_object_set_new(req, "KeyId", json_string(key)) != 0 ||
	    json_object_set(req, "EncryptionContext", ctx) != 0 ||
	    json_object_set_new(req, "DryRun", json_true()) != 0 ||
	    (body = json_dumps(req, JSON_COMPACT)) == NULL) {
		err = kj_fail(d, KJ_ERR_NOMEM, "out of memory");
		goto out;
	}
	body_len = strlen(body);
	if (kj_amz_date(time(NULL), amz_date) != 0) {
		err = kj_fail(d, KJ_ERR_INTERNAL, "cannot format the date");
		goto out;
	}
	h[n++] = (struct kj_header){ "Content-Type", "application/x-amz-json-1.1" };
	h[n++] = (struct kj_header){ "Host", c->host_header };
	h[n++] = (struct kj_header){ "X-Amz-Date", amz_date };
	h[n++] = (struct kj_header){ "X-Amz-Target", "TrentService.Decrypt" };
	if (cr->session_token[0] != '\0')
		h[n++] = (struct kj_header){ "X-Amz-Security-Token", cr->session_token };
	err = kj_sigv4_authorization("POST", "/", h, n, body, body_len, cr->access_key_id,
	    cr->secret_access_key, c->region, "kms", amz_date, authz, sizeof(authz), d);
	if (err != KJ_OK)
		goto out;
	h[n++] = (struct kj_header){ "Authorization", authz };
	err = kj_http_post(c->url, h, n, body, body_len, c->timeout_ms, 65536, &r, d);
	if (err != KJ_OK)
		goto out;
	*status = r.status;
	(void)kj_strlcpy(date, r.date, date_size);
	resp = json_loadb(r.body, r.len, 0, NULL);
	t = json_object_get(resp, "__type");
	if (json_is_string(t)) {
		const char *hash = strrchr(json_string_value(t), '#');

		kj_sanitize(type, type_size, hash != NULL ? hash + 1 : json_string_value(t));
	}
	err = KJ_OK;
out:
	explicit_bzero(authz, sizeof(authz));
	kj_http_resp_free(&r);
	json_decref(resp);
	json_decref(req);
	json_decref(ctx);
	free(body);
	free(b64);
	return err;
}

static void
kj_check_kms(struct kj_check *k, const struct kj_config *c, const struct kj_creds *cr, int64_t now)
{
	char type[64], date[64], fix[512], safe_key[KJ_ARN_MAX];
	struct kj_diag d;
	int dated = 0;
	long status = 0;
	unsigned i;

	for (i = 0; i < c->n_keys; i++) {
		const char *key = c->key_ids[i];

		memset(&d, 0, sizeof(d));
		kj_sanitize(safe_key, sizeof(safe_key), key);
		if (kj_check_probe(c, cr, key, &status, type, sizeof(type), date, sizeof(date), &d) != KJ_OK) {
			kj_finding(k, 2, "check endpoint/region, DNS, routes or the VPC endpoint, and timeout",
			    "KMS at %s: %s", c->url, d.reason);
			return;
		}
		(void)kj_fmt(fix, sizeof(fix),
		    "allow kms:Decrypt on %s for this host's credentials (condition kms:EncryptionContext:aud = \"%s\")",
		    safe_key, c->audience);
		if (strcmp(type, "DryRunOperationException") == 0)
			kj_finding(k, 0, NULL, "KMS allows this host kms:Decrypt with %s for aud \"%s\" (DryRun)",
			    safe_key, c->audience);
		else if (strcmp(type, "InvalidCiphertextException") == 0 || strcmp(type, "IncorrectKeyException") == 0)
			kj_finding(k, 1, "run the check against AWS KMS itself, which honours DryRun",
			    "KMS at %s accepted the credentials and examined a probe ciphertext for %s (%s), but ignored "
			    "DryRun: the kms:Decrypt permission is not proven", c->url, safe_key, type);
		else if (strcmp(type, "AccessDeniedException") == 0)
			kj_finding(k, 2, fix, "KMS denies this host kms:Decrypt with %s (or the key is in another "
			    "account or region)", safe_key);
		else if (strcmp(type, "NotFoundException") == 0)
			kj_finding(k, 2, "check key_id (the full key ARN) and region", "KMS has no key %s in %s", safe_key,
			    c->region);
		else if (strcmp(type, "DisabledException") == 0 || strcmp(type, "KMSInvalidStateException") == 0)
			kj_finding(k, 2, "enable the key, or cancel its deletion", "key %s is not usable (%s)", safe_key,
			    type);
		else if (strcmp(type, "UnrecognizedClientException") == 0 || strcmp(type, "InvalidSignatureException") == 0 ||
		    strcmp(type, "InvalidClientTokenId") == 0 || strcmp(type, "ExpiredTokenException") == 0)
			kj_finding(k, 2, "check the access key, secret and session token, and the clock",
			    "KMS rejected the credentials (%s)", type);
		else if (status == 200)
			kj_finding(k, 0, NULL, "KMS answered a probe Decrypt with %s", safe_key);
		else
			kj_finding(k, 2, fix, "KMS answered HTTP %ld %s to a probe Decrypt with %s", status,
			    type[0] ? type : "(no error type)", safe_key);
		if (!dated && date[0] != '\0') {
			struct tm tm;
			const char *end;
			int64_t skew;

			memset(&tm, 0, sizeof(tm));
			end = strptime(date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
			if (end == NULL || *end != '\0') {
				kj_finding(k, 1, NULL, "cannot read KMS's Date header \"%s\": clock skew not measured", date);
			} else {
				skew = now - (int64_t)timegm(&tm);
				(void)kj_fmt(fix, sizeof(fix),
				    "synchronise this host's clock (chrony or systemd-timesyncd); leeway is %lld s",
				    (long long)c->leeway);
				if (skew > 300 || skew < -300)
					kj_finding(k, 2, fix, "clock is %+lld s off KMS's: AWS refuses signatures beyond 300 s",
					    (long long)skew);
				else if (skew > c->leeway || -skew > c->leeway)
					kj_finding(k, 2, fix, "clock is %+lld s off KMS's, more than leeway", (long long)skew);
				else if (skew > c->leeway / 2 + 1 || -skew > c->leeway / 2 + 1)
					kj_finding(k, 1, fix, "clock is %+lld s off KMS's, over half the leeway", (long long)skew);
				else
					kj_finding(k, 0, NULL, "clock is %+lld s off KMS's (Date header, 1 s resolution)",
					    (long long)skew);
			}
			dated = 1;
		}
	}
}

static int
kj_cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "pam-service", required_argument, NULL, 's' },
		{ "pam-dir", required_argument, NULL, 'D' }, { "now", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 }
	};
	const char *config = NULL, *service = NULL, *pamdir = "/etc/pam.d";
	const char *args[64];
	char cfgarg[PATH_MAX + 8];
	char *svcbuf = NULL;
	size_t svclen = 0;
	struct kj_config cfg;
	struct kj_creds cr;
	struct kj_check k;
	struct kj_diag d;
	int64_t now = (int64_t)time(NULL);
	int opt, nargs = 0, nsvc = 0, i, rc = KJ_EXIT_USAGE;
	kj_err err;

	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	memset(&cr, 0, sizeof(cr));
	kj_config_defaults(&cfg);
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': config = optarg; break;
		case 's': service = optarg; break;
		case 'D': pamdir = optarg; break;
		case 'n':
			if (kj_parse_i64(optarg, 0, 253402300799LL, &now) != 0) {
				fprintf(stderr, "kmsjwt check: --now: expected seconds since the epoch\n");
				goto out;
			}
			break;
		case 'h':
			fputs("usage: kmsjwt check [--config FILE] [--pam-service NAME [--pam-dir DIR]] [OPTION=VALUE...]\n"
			      "Checks the module's configuration as PAM would load it: every option, file\n"
			      "permissions, credentials, a probe Decrypt (DryRun) per key, and the clock against\n"
			      "KMS's Date header. Prints each finding with a fix; exit 0 without errors, 1 with.\n",
			    stdout);
			rc = KJ_EXIT_OK;
			goto out;
		default:
			goto out;
		}
	}
	if (config == NULL && service == NULL && optind == argc) {
		fputs("kmsjwt check: give --config FILE, --pam-service NAME or OPTION=VALUE arguments\n", stderr);
		goto out;
	}
	if (service != NULL) {
		err = kj_pam_service_args(pamdir, service, &svcbuf, &svclen, args, 48, &nsvc, &d);
		if (err != KJ_OK) {
			kj_finding(&k, 2, "point --pam-service at the service whose auth stack has pam_kmsjwt.so",
			    "PAM service: %s", d.reason);
			goto summary;
		}
		nargs = nsvc;
	}
	if (config != NULL) {
		(void)kj_fmt(cfgarg, sizeof(cfgarg), "config=%s", config);
		args[nargs++] = cfgarg;
	}
	for (i = optind; i < argc && nargs < 64; i++)
		args[nargs++] = argv[i];

	/* Options and the files they name, exactly as the module reads them. */
	err = kj_config_from_args(&cfg, nargs, args, &d);
	if (err == KJ_OK)
		err = kj_config_finish(&cfg, &d);
	if (err != KJ_OK) {
		kj_finding(&k, 2, "correct the option or the file's owner and mode (root, not group/world-writable)",
		    "configuration: %s", d.reason);
		goto summary;
	}
	kj_finding(&k, 0, NULL, "options: %u key(s), %u issuer(s), audience \"%s\", region %s, KMS at %s",
	    cfg.n_keys, cfg.n_issuers, cfg.audience, cfg.region, cfg.url);
	if (strncmp(cfg.url, "http://", 7) == 0)
		kj_finding(&k, 1, "use the https:// KMS endpoint (or a VPC endpoint) in production",
		    "plain http endpoint %s (allowed for loopback test servers only)", cfg.url);
	if (cfg.allow_root)
		kj_finding(&k, 1, "remove allow_root unless tokens must log in as root",
		    "allow_root is on: a token may map to uid 0");
	if (cfg.user_map[0] != '\0') {
		char user[KJ_USER_MAX];

		err = kj_usermap_resolve(&cfg, "kmsjwt-check.invalid", user, sizeof(user), &d);
		if (err == KJ_ERR_CONFIG)
			kj_finding(&k, 2, "make it root-owned, mode 0644 or stricter, lines \"PATTERN USER\"",
			    "user_map: %s", d.reason);
		else
			kj_finding(&k, 0, NULL, "user_map %s is trusted and well-formed", cfg.user_map);
	}
	if (cfg.replay_cache[0] == '\0') {
		kj_finding(&k, 1, "install -d -m 700 -o root /var/lib/pam_kmsjwt/replay and set "
		    "replay_cache=/var/lib/pam_kmsjwt/replay",
		    "replay_cache is off: a token can be used again until it expires");
	} else {
		unsigned long live = 0, purged = 0;
		int fd = -1;

		err = kj_replay_open_dir(cfg.replay_cache, &fd, &d);
		if (err == KJ_OK)
			err = kj_replay_scan(fd, now, &live, &purged, &d);
		if (fd >= 0)
			close(fd);
		if (err != KJ_OK)
			kj_finding(&k, 2, "install -d -m 700 -o root DIR (on persistent storage)", "%s", d.reason);
		else if (live * 5 >= (unsigned long)cfg.replay_cache_max * 4)
			kj_finding(&k, 1, "raise replay_cache_max or shorten token lifetimes",
			    "replay cache %s holds %lu live entries of replay_cache_max=%lld", cfg.replay_cache, live,
			    (long long)cfg.replay_cache_max);
		else
			kj_finding(&k, 0, NULL, "replay cache %s: %lu live entries (max %lld), %lu expired purged",
			    cfg.replay_cache, live, (long long)cfg.replay_cache_max, purged);
	}

	/* Credentials, then KMS with them. */
	err = kj_creds_load(&cfg, &cr, &d);
	if (err != KJ_OK) {
		kj_finding(&k, 2, "set credentials_file= to a root-owned 0600 file (sshd and sudo clear the environment)",
		    "credentials: %s", d.reason);
		goto summary;
	}
	{
		size_t al = strlen(cr.access_key_id);

		kj_finding(&k, 0, NULL, "credentials from %s (access key ...%s)", cr.source[0] ? cr.source : "?",
		    al > 4 ? cr.access_key_id + al - 4 : "");
	}
	if (strcmp(cr.source, "environment") == 0 && service != NULL)
		kj_finding(&k, 1, "set credentials_file= (or use the instance role)",
		    "credentials come from this shell's environment, which sshd and sudo do not pass to PAM");
	kj_check_kms(&k, &cfg, &cr, now);
summary:
	printf("check: %u ok, %u warnings, %u errors\n", k.ok, k.warn, k.err);
	rc = k.err > 0 ? KJ_EXIT_REFUSED : KJ_EXIT_OK;
out:
	kj_creds_wipe(&cr);
	if (svcbuf != NULL)
		kj_free_secret(svcbuf, svclen);
	explicit_bzero(&cfg, sizeof(cfg));
	return rc;
}

int
main(int argc, char **argv)
{
	if (kj_askpass_called(argc, argv))
		return kj_cmd_askpass(argc, argv);
	if (argc < 2) {
		kj_usage(stderr);
		return KJ_EXIT_USAGE;
	}
	if (strcmp(argv[1], "mint") == 0)
		return kj_cmd_mint(argc - 1, argv + 1);
	if (strcmp(argv[1], "inspect") == 0)
		return kj_cmd_inspect(argc - 1, argv + 1);
	if (strcmp(argv[1], "verify") == 0)
		return kj_cmd_verify(argc - 1, argv + 1);
	if (strcmp(argv[1], "check") == 0)
		return kj_cmd_check(argc - 1, argv + 1);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
		kj_usage(stdout);
		return KJ_EXIT_OK;
	}
	fprintf(stderr, "kmsjwt: unknown command '%s'\n", argv[1]);
	kj_usage(stderr);
	return KJ_EXIT_USAGE;
}
