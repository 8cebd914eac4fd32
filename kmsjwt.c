/* kmsjwt: mint, inspect and verify pam_kmsjwt tokens. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/b64.h"
#include "lib/config.h"
#include "lib/creds.h"
#include "lib/kj.h"
#include "lib/mint.h"
#include "lib/token.h"
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
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 }
	};
	struct kj_config cfg;
	struct kj_creds cr;
	struct kj_mint_req m;
	struct kj_diag d;
	json_error_t jerr;
	char *token = NULL;
	int64_t ttl = 300;
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
		err = kj_verify_for_user(&cfg, buf, len, now, user, &res, &d);
	}
	explicit_bzero(buf, sizeof(buf));
	kj_decision_line(line, sizeof(line), err, &d, &res);
	fprintf(stderr, "%s\n", line);
	if (err == KJ_OK)
		printf("%s\n", res.user);
	return kj_exit_code(err);
}

int
main(int argc, char **argv)
{
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
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
		kj_usage(stdout);
		return KJ_EXIT_OK;
	}
	fprintf(stderr, "kmsjwt: unknown command '%s'\n", argv[1]);
	kj_usage(stderr);
	return KJ_EXIT_USAGE;
}
