/* Writes the seed corpus (fuzz/corpus/token, fuzz/corpus/pam): tokens sealed
 * by the fake KMS, valid at fuzz_pam's fixed clock. `make fuzz-corpus`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../lib/config.h"
#include "../lib/creds.h"
#include "../lib/mint.h"
#include "../tests/fake_kms.h"

#define NOW 1767225600

unsigned long kj_fake_kms_calls;

static struct kj_config cfg;
static struct kj_creds cr;
static int n_tok, n_pam;

static void
put(const char *dir, const char *kind, int n, const void *p, size_t len)
{
	char path[512];
	FILE *f;

	(void)snprintf(path, sizeof(path), "%s/%s/seed-%02d", dir, kind, n);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(p, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* One token: into token/ as is, into pam/ behind (config, user) bytes. */
static void
seed(const char *dir, int cfgsel, int usersel, const char *sub, const char *jti, const char *extra,
    const char *payload, int envelope, const char *iss)
{
	struct kj_mint_req m;
	struct kj_diag d;
	char *tok = NULL, *buf;
	size_t n;

	memset(&m, 0, sizeof(m));
	m.key_id = KJ_FAKE_KEY1;
	m.iss = iss;
	m.sub = sub;
	m.aud = "web-1";
	m.jti = jti;
	m.iat = NOW - 10;
	m.exp = NOW + 290;
	m.payload = payload;
	m.envelope = envelope;
	if (extra != NULL)
		m.extra_claims = json_loads(extra, 0, NULL);
	if (kj_mint(&cfg, &cr, &m, &tok, &d) != KJ_OK) {
		fprintf(stderr, "mint: %s\n", d.reason);
		exit(1);
	}
	json_decref(m.extra_claims);
	put(dir, "token", n_tok++, tok, strlen(tok));
	n = strlen(tok) + 2;
	buf = malloc(n);
	if (buf == NULL)
		exit(1);
	buf[0] = (char)cfgsel;
	buf[1] = (char)usersel;
	memcpy(buf + 2, tok, n - 2);
	put(dir, "pam", n_pam++, buf, n);
	free(buf);
	kj_free_secret_str(tok);
}

int
main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "fuzz/corpus";
	char p[512];
	struct kj_diag d;

	(void)snprintf(p, sizeof(p), "%s/token", dir);
	if (mkdir(p, 0755) != 0 && errno != EEXIST)
		return 1;
	(void)snprintf(p, sizeof(p), "%s/pam", dir);
	if (mkdir(p, 0755) != 0 && errno != EEXIST)
		return 1;
	kj_config_defaults(&cfg);
	(void)kj_config_set(&cfg, "key_id", KJ_FAKE_KEY1, &d);
	(void)kj_config_set(&cfg, "issuer", "idp", &d);
	(void)kj_config_set(&cfg, "audience", "web-1", &d);
	(void)kj_config_set(&cfg, "endpoint", "http://127.0.0.1:9", &d);
	(void)kj_config_set(&cfg, "cache_ttl", "0", &d);
	if (kj_config_finish(&cfg, &d) != KJ_OK)
		return 1;
	(void)kj_strlcpy(cr.access_key_id, "AKIDFUZZ", sizeof(cr.access_key_id));
	(void)kj_strlcpy(cr.secret_access_key, "fuzz", sizeof(cr.secret_access_key));

	/* config 0: plain; 1: user_claim=email + user_map + allow_root;
	 * 2: replay cache, two keys and issuers; 3: debug. Users: 0 none,
	 * 1 daemon, 2 root, 3 nobody. */
	seed(dir, 0, 1, "daemon", "", NULL, "{}", 0, "idp");
	seed(dir, 0, 0, "daemon", "j-1", NULL, "{\"groups\":[\"ops\"]}", 0, "idp");
	seed(dir, 0, 3, "daemon", "", "{\"nbf\":1767225500}", "{}", 0, "idp");
	seed(dir, 1, 1, "svc", "", NULL, "{\"email\":\"alice@example.com\"}", 0, "idp");
	seed(dir, 1, 2, "root", "", NULL, "{}", 0, "idp");
	seed(dir, 1, 0, "ops-daemon", "", "{\"email\":\"ops-x\"}", "{}", 0, "idp");
	seed(dir, 2, 1, "daemon", "j-2", NULL, "{}", 0, "idp2");
	seed(dir, 2, 0, "daemon", "j-3", NULL, "{\"a\":{\"b\":[1,2.5,null,true]}}", 0, "idp");
	seed(dir, 3, 1, "daemon", "j-4", NULL, "{}", 0, "idp");
	seed(dir, 0, 1, "daemon", "", NULL, "{}", 1, "idp");
	seed(dir, 2, 1, "daemon", "j-5", NULL, "{\"k\":\"v\"}", 1, "idp");
	seed(dir, 3, 0, "nobody", "", NULL, "{}", 1, "idp");
	printf("mkcorpus: %d token seeds, %d pam seeds in %s\n", n_tok, n_pam, dir);
	return 0;
}
