/* Hostile-input catalogue: each token goes through libpam into the module
 * (built against the in-process fake KMS) and must give the exact PAM code
 * and log reason, with the number of KMS calls it caused: none when a cheap
 * check can refuse it. Then: no secret in any log line of the whole run (at
 * debug level), and a failed login's time does not depend on whether the
 * user exists. Usage: test_hostile path/to/pam_kmsjwt_fake.so */
#include <time.h>

#include "check.h"
#include "harness.h"

#define PAYLOAD_MARKER "kjPAYLOADsecretMARKER"

static char base_args[2048];
static int64_t now;

/* Everything that must not be logged. */
static char *secrets[256];
static size_t n_secrets;

static void
keep_secret(const char *s)
{
	if (s != NULL && strlen(s) >= 12 && n_secrets < sizeof(secrets) / sizeof(secrets[0]))
		secrets[n_secrets++] = strdup(s);
}

/* Replace $IAT, $EXP and $SUB in a template. */
static char *
subst(const char *tmpl)
{
	size_t cap = strlen(tmpl) + 256, o = 0;
	char *out = malloc(cap), num[32];
	const char *p = tmpl;

	if (out == NULL)
		abort();
	while (*p != '\0') {
		const char *rep = NULL;
		size_t skip = 0;

		if (strncmp(p, "$IAT", 4) == 0) {
			(void)kj_fmt(num, sizeof(num), "%lld", (long long)now);
			rep = num;
			skip = 4;
		} else if (strncmp(p, "$EXP", 4) == 0) {
			(void)kj_fmt(num, sizeof(num), "%lld", (long long)now + 300);
			rep = num;
			skip = 4;
		}
		if (rep != NULL) {
			size_t n = strlen(rep);

			if (o + n + 1 > cap)
				abort();
			memcpy(out + o, rep, n);
			o += n;
			p += skip;
		} else {
			if (o + 2 > cap)
				abort();
			out[o++] = *p++;
		}
	}
	out[o] = '\0';
	return out;
}

#define STD_CLAIMS(extra) "{\"iss\":\"idp\",\"sub\":\"daemon\",\"aud\":\"web-1\",\"iat\":$IAT,\"exp\":$EXP" extra "}"
#define SUB_CLAIMS(sub) "{\"iss\":\"idp\",\"sub\":\"" sub "\",\"aud\":\"web-1\",\"iat\":$IAT,\"exp\":$EXP}"
#define DATE_CLAIMS(iat, exp) "{\"iss\":\"idp\",\"sub\":\"daemon\",\"aud\":\"web-1\",\"iat\":" iat ",\"exp\":" exp "}"

enum kind {
	SEAL,     /* hdr, claims, payload sealed under ctx_sub (default daemon) */
	RAW,      /* the claims field is the whole token */
	BIG,      /* 1 MB of base64url characters */
	OVER,     /* one byte over 8192 */
	DEEP,     /* claims nested 3000 deep */
	TRUNC,    /* a valid token with 3 bytes cut off the sealed part */
	EXTEND,   /* ...with 16 bytes added */
	SEALTAIL, /* ...with one base64 character appended */
	PADDED,   /* ...with "==" after the header */
	SPACE,    /* ...with a space inside the claims */
	STDALPHA, /* ...with '+' in the claims segment */
	BADBITS,  /* header segment with non-zero trailing bits */
	KEY2,     /* valid, but sealed under another key */
	KEY3,     /* valid, but sealed under a disabled key */
};

struct hcase {
	const char *name;
	enum kind kind;
	const char *hdr;    /* NULL: {"alg":"KMS"} */
	const char *claims; /* template */
	const char *payload; /* NULL: {} */
	const char *ctx_sub; /* NULL: daemon */
	const char *user;   /* PAM_USER; NULL: none */
	int want_rc;
	const char *reason;
	unsigned long kms;
};

static const struct hcase cases[] = {
	/* Size and structure. */
	{ "empty token", RAW, NULL, "", NULL, NULL, "daemon", PAM_AUTH_ERR, "empty token", 0 },
	{ "1 MB token", BIG, NULL, NULL, NULL, NULL, "daemon", PAM_AUTH_ERR, "token longer than 8192 bytes (1048576", 0 },
	{ "8193 bytes", OVER, NULL, NULL, NULL, NULL, "daemon", PAM_AUTH_ERR, "token longer than 8192 bytes (8193", 0 },
	{ "one segment", RAW, NULL, "eyJhbGciOiJLTVMifQ", NULL, NULL, "daemon", PAM_AUTH_ERR, "exactly 3 segments", 0 },
	{ "four segments", RAW, NULL, "eyJhbGciOiJLTVMifQ.e30.AAAA.AAAA", NULL, NULL, "daemon", PAM_AUTH_ERR, "exactly 3 segments", 0 },
	{ "empty middle segment", RAW, NULL, "eyJhbGciOiJLTVMifQ..AAAA", NULL, NULL, "daemon", PAM_AUTH_ERR, "empty segment", 0 },
	{ "only dots", RAW, NULL, "..", NULL, NULL, "daemon", PAM_AUTH_ERR, "empty segment", 0 },
	{ "control bytes", RAW, NULL, "\x01\x02.\x03.\x7f", NULL, NULL, "daemon", PAM_AUTH_ERR, "header is not canonical base64url", 0 },
	/* Base64url strictness. */
	{ "padding after header", PADDED, NULL, NULL, NULL, NULL, "daemon", PAM_AUTH_ERR, "header is not canonical base64url", 0 },
	{ "space in claims", SPACE, NULL, NULL, NULL, NULL, "daemon", PAM_AUTH_ERR, "claims are not canonical base64url", 0 },
	{ "standard alphabet", STDALPHA, NULL, NULL, NULL, NULL, "daemon", PAM_AUTH_ERR, "claims are not canonical base64url", 0 },
	{ "non-zero trailing bits", BADBITS, NULL, NULL, NULL, NULL, "daemon", PAM_AUTH_ERR, "header is not canonical base64url", 0 },
	{ "sealed part 4n+1 chars", SEALTAIL, NULL, NULL, NULL, NULL, "daemon", PAM_AUTH_ERR, "sealed part is not canonical base64url", 0 },
	/* Header. */
	{ "alg none", SEAL, "{\"alg\":\"none\"}", STD_CLAIMS(""), NULL, NULL, "daemon", PAM_AUTH_ERR, "alg \"none\" is not allowed", 0 },
	{ "alg HS256", SEAL, "{\"alg\":\"HS256\"}", STD_CLAIMS(""), NULL, NULL, "daemon", PAM_AUTH_ERR, "alg \"HS256\" is not allowed", 0 },
	{ "alg lower case", SEAL, "{\"alg\":\"kms\"}", STD_CLAIMS(""), NULL, NULL, "daemon", PAM_AUTH_ERR, "alg \"kms\" is not allowed", 0 },
	{ "alg with NUL escape", SEAL, "{\"alg\":\"KMS\\u0000\"}", STD_CLAIMS(""), NULL, NULL, "daemon", PAM_AUTH_ERR, "header is not valid JSON", 0 },
	{ "crit", SEAL, "{\"alg\":\"KMS\",\"crit\":[\"exp\"]}", STD_CLAIMS(""), NULL, NULL, "daemon", PAM_AUTH_ERR, "header has crit", 0 },
	{ "duplicate alg", SEAL, "{\"alg\":\"none\",\"alg\":\"KMS\"}", STD_CLAIMS(""), NULL, NULL, "daemon", PAM_AUTH_ERR, "duplicate object key", 0 },
	{ "header array", SEAL, "[\"KMS\"]", STD_CLAIMS(""), NULL, NULL, "daemon", PAM_AUTH_ERR, "header is not a JSON object", 0 },
	{ "header with BOM", SEAL, "\xef\xbb\xbf{\"alg\":\"KMS\"}", STD_CLAIMS(""), NULL, NULL, "daemon", PAM_AUTH_ERR, "header is not valid JSON", 0 },
	/* JSON of the claims. */
	{ "nesting 3000 deep", DEEP, NULL, NULL, NULL, NULL, "daemon", PAM_AUTH_ERR, "maximum parsing depth reached", 0 },
	{ "trailing garbage", SEAL, NULL, STD_CLAIMS("") " x", NULL, NULL, "daemon", PAM_AUTH_ERR, "claims is not valid JSON", 0 },
	{ "claims a string", SEAL, NULL, "\"daemon\"", NULL, NULL, "daemon", PAM_AUTH_ERR, "claims is not valid JSON", 0 },
	{ "NUL escape in sub", SEAL, NULL, SUB_CLAIMS("daemon\\u0000root"), NULL, NULL, "daemon", PAM_AUTH_ERR, "claims is not valid JSON", 0 },
	{ "raw NUL byte in claims", RAW, NULL, "eyJhbGciOiJLTVMifQ.eyJpc3MiOiJpZHAiAH0.AAAA", NULL, NULL, "daemon", PAM_AUTH_ERR, "claims is not valid JSON", 0 },
	{ "invalid UTF-8", SEAL, NULL, SUB_CLAIMS("d\xff" "aemon"), NULL, NULL, "daemon", PAM_AUTH_ERR, "claims is not valid JSON", 0 },
	{ "overlong UTF-8 slash", SEAL, NULL, SUB_CLAIMS("a\xc0\xaf" "b"), NULL, NULL, "daemon", PAM_AUTH_ERR, "claims is not valid JSON", 0 },
	{ "lone surrogate escape", SEAL, NULL, SUB_CLAIMS("\\ud800"), NULL, NULL, "daemon", PAM_AUTH_ERR, "claims is not valid JSON", 0 },
	{ "duplicate sub", SEAL, NULL, "{\"iss\":\"idp\",\"sub\":\"daemon\",\"sub\":\"root\",\"aud\":\"web-1\",\"iat\":$IAT,\"exp\":$EXP}", NULL, NULL, "daemon", PAM_AUTH_ERR, "duplicate object key", 0 },
	{ "duplicate exp", SEAL, NULL, STD_CLAIMS(",\"exp\":9999999999"), NULL, NULL, "daemon", PAM_AUTH_ERR, "duplicate object key", 0 },
	/* Dates. */
	{ "exp float", SEAL, NULL, DATE_CLAIMS("$IAT", "1.9e9"), NULL, NULL, "daemon", PAM_AUTH_ERR, "claim exp is not an integer", 0 },
	{ "exp huge float", SEAL, NULL, DATE_CLAIMS("$IAT", "1e999"), NULL, NULL, "daemon", PAM_AUTH_ERR, "claims is not valid JSON", 0 },
	{ "exp string", SEAL, NULL, DATE_CLAIMS("$IAT", "\"$EXP\""), NULL, NULL, "daemon", PAM_AUTH_ERR, "claim exp is not an integer", 0 },
	{ "exp negative", SEAL, NULL, DATE_CLAIMS("$IAT", "-1"), NULL, NULL, "daemon", PAM_AUTH_ERR, "claim exp is out of range", 0 },
	{ "exp INT64_MIN", SEAL, NULL, DATE_CLAIMS("$IAT", "-9223372036854775808"), NULL, NULL, "daemon", PAM_AUTH_ERR, "claim exp is out of range", 0 },
	{ "exp INT64_MAX", SEAL, NULL, DATE_CLAIMS("$IAT", "9223372036854775807"), NULL, NULL, "daemon", PAM_AUTH_ERR, "claim exp is out of range", 0 },
	{ "exp overflowing", SEAL, NULL, DATE_CLAIMS("$IAT", "99999999999999999999999"), NULL, NULL, "daemon", PAM_AUTH_ERR, "claims is not valid JSON", 0 },
	{ "exp year 10000", SEAL, NULL, DATE_CLAIMS("$IAT", "253402300800"), NULL, NULL, "daemon", PAM_AUTH_ERR, "claim exp is out of range", 0 },
	{ "exp true", SEAL, NULL, DATE_CLAIMS("$IAT", "true"), NULL, NULL, "daemon", PAM_AUTH_ERR, "claim exp is not an integer", 0 },
	{ "iat negative", SEAL, NULL, DATE_CLAIMS("-5", "$EXP"), NULL, NULL, "daemon", PAM_AUTH_ERR, "claim iat is out of range", 0 },
	{ "iat far future", SEAL, NULL, DATE_CLAIMS("253402300799", "253402300799"), NULL, NULL, "daemon", PAM_AUTH_ERR, "in the future (iat)", 0 },
	{ "lifetime near INT64", SEAL, NULL, DATE_CLAIMS("0", "253402300799"), NULL, NULL, "daemon", PAM_AUTH_ERR, "exceeds max_ttl 3600", 0 },
	{ "expired at epoch", SEAL, NULL, DATE_CLAIMS("0", "0"), NULL, NULL, "daemon", PAM_AUTH_ERR, "token expired", 0 },
	{ "nbf float", SEAL, NULL, STD_CLAIMS(",\"nbf\":1.5"), NULL, NULL, "daemon", PAM_AUTH_ERR, "claim nbf is not an integer", 0 },
	/* Claim types and values. */
	{ "aud array", SEAL, NULL, "{\"iss\":\"idp\",\"sub\":\"daemon\",\"aud\":[\"web-1\"],\"iat\":$IAT,\"exp\":$EXP}", NULL, NULL, "daemon", PAM_AUTH_ERR, "aud must be a single string", 0 },
	{ "aud empty array", SEAL, NULL, "{\"iss\":\"idp\",\"sub\":\"daemon\",\"aud\":[],\"iat\":$IAT,\"exp\":$EXP}", NULL, NULL, "daemon", PAM_AUTH_ERR, "aud must be a single string", 0 },
	{ "empty iss", SEAL, NULL, "{\"iss\":\"\",\"sub\":\"daemon\",\"aud\":\"web-1\",\"iat\":$IAT,\"exp\":$EXP}", NULL, NULL, "daemon", PAM_AUTH_ERR, "claim iss is empty", 0 },
	{ "empty sub", SEAL, NULL, SUB_CLAIMS(""), NULL, "", "daemon", PAM_AUTH_ERR, "claim sub is empty", 0 },
	{ "empty aud", SEAL, NULL, "{\"iss\":\"idp\",\"sub\":\"daemon\",\"aud\":\"\",\"iat\":$IAT,\"exp\":$EXP}", NULL, NULL, "daemon", PAM_AUTH_ERR, "claim aud is empty", 0 },
	{ "empty jti", SEAL, NULL, STD_CLAIMS(",\"jti\":\"\""), NULL, NULL, "daemon", PAM_AUTH_ERR, "claim jti is empty", 0 },
	{ "sub a number", SEAL, NULL, "{\"iss\":\"idp\",\"sub\":0,\"aud\":\"web-1\",\"iat\":$IAT,\"exp\":$EXP}", NULL, NULL, "daemon", PAM_AUTH_ERR, "claim sub is not a string", 0 },
	{ "iss not allowed", SEAL, NULL, "{\"iss\":\"idp \",\"sub\":\"daemon\",\"aud\":\"web-1\",\"iat\":$IAT,\"exp\":$EXP}", NULL, NULL, "daemon", PAM_AUTH_ERR, "issuer \"idp \" is not allowed", 0 },
	{ "aud of another host", SEAL, NULL, "{\"iss\":\"idp\",\"sub\":\"daemon\",\"aud\":\"web-1\\n\",\"iat\":$IAT,\"exp\":$EXP}", NULL, NULL, "daemon", PAM_AUTH_ERR, "audience \"web-1\\x0a\" is not this host's", 0 },
	/* User names: refused before KMS by syntax alone. */
	{ "sub with slash", SEAL, NULL, SUB_CLAIMS("../root"), NULL, "../root", NULL, PAM_AUTH_ERR, "\"../root\" is not a valid user name", 0 },
	{ "sub with colon", SEAL, NULL, SUB_CLAIMS("root:x:0"), NULL, "root:x:0", NULL, PAM_AUTH_ERR, "is not a valid user name", 0 },
	{ "sub with newline", SEAL, NULL, SUB_CLAIMS("daemon\\nroot"), NULL, "daemon\nroot", NULL, PAM_AUTH_ERR, "\"daemon\\x0aroot\" is not a valid user name", 0 },
	{ "sub shell $()", SEAL, NULL, SUB_CLAIMS("$(reboot)"), NULL, "$(reboot)", NULL, PAM_AUTH_ERR, "is not a valid user name", 0 },
	{ "sub shell ;", SEAL, NULL, SUB_CLAIMS("daemon;id"), NULL, "daemon;id", NULL, PAM_AUTH_ERR, "is not a valid user name", 0 },
	{ "sub backquotes", SEAL, NULL, SUB_CLAIMS("`id`"), NULL, "`id`", NULL, PAM_AUTH_ERR, "is not a valid user name", 0 },
	{ "sub leading dash", SEAL, NULL, SUB_CLAIMS("-froot"), NULL, "-froot", NULL, PAM_AUTH_ERR, "is not a valid user name", 0 },
	{ "sub with space", SEAL, NULL, SUB_CLAIMS("dae mon"), NULL, "dae mon", NULL, PAM_AUTH_ERR, "is not a valid user name", 0 },
	{ "sub Cyrillic look-alike", SEAL, NULL, SUB_CLAIMS("d\xd0\xb0" "emon"), NULL, "d\xd0\xb0" "emon", NULL, PAM_AUTH_ERR, "\"d\\xd0\\xb0emon\" is not a valid user name", 0 },
	{ "sub fullwidth look-alike", SEAL, NULL, SUB_CLAIMS("\xef\xbd\x84" "aemon"), NULL, "\xef\xbd\x84" "aemon", NULL, PAM_AUTH_ERR, "is not a valid user name", 0 },
	{ "sub 33 characters", SEAL, NULL, SUB_CLAIMS("abcdefghijklmnopqrstuvwxyz0123456"), NULL, "abcdefghijklmnopqrstuvwxyz0123456", NULL, PAM_AUTH_ERR, "too long for a user name", 0 },
	/* Only KMS can refuse these. */
	{ "sealed part truncated", TRUNC, NULL, NULL, NULL, NULL, "daemon", PAM_AUTH_ERR, "InvalidCiphertextException", 1 },
	{ "sealed part extended", EXTEND, NULL, NULL, NULL, NULL, "daemon", PAM_AUTH_ERR, "InvalidCiphertextException", 1 },
	{ "sealed part junk", RAW, NULL, "eyJhbGciOiJLTVMifQ.$CLAIMS.AAAA", NULL, NULL, "daemon", PAM_AUTH_ERR, "InvalidCiphertextException", 1 },
	{ "sealed for another sub", SEAL, NULL, STD_CLAIMS(""), NULL, "nobody", "daemon", PAM_AUTH_ERR, "InvalidCiphertextException", 1 },
	{ "another key", KEY2, NULL, STD_CLAIMS(""), NULL, NULL, "daemon", PAM_AUTH_ERR, "IncorrectKeyException", 1 },
	{ "disabled key", KEY3, NULL, STD_CLAIMS(""), NULL, NULL, "daemon", PAM_AUTH_ERR, "IncorrectKeyException", 1 },
	{ "payload repeats sub", SEAL, NULL, STD_CLAIMS(""), "{\"sub\":\"root\"}", NULL, "daemon", PAM_AUTH_ERR, "payload repeats the claim \"sub\"", 1 },
	{ "payload duplicate", SEAL, NULL, STD_CLAIMS(""), "{\"a\":1,\"a\":2}", NULL, "daemon", PAM_AUTH_ERR, "payload is not a JSON object", 1 },
	{ "payload invalid UTF-8", SEAL, NULL, STD_CLAIMS(""), "{\"a\":\"\xfe\"}", NULL, "daemon", PAM_AUTH_ERR, "payload is not a JSON object", 1 },
	{ "sub root", SEAL, NULL, SUB_CLAIMS("root"), NULL, "root", NULL, PAM_AUTH_ERR, "allow_root is off", 1 },
	{ "no such account", SEAL, NULL, SUB_CLAIMS("kj-no-such-user"), NULL, "kj-no-such-user", NULL, PAM_USER_UNKNOWN, "no local account kj-no-such-user", 1 },
	{ "token for another user", SEAL, NULL, STD_CLAIMS(""), NULL, NULL, "nobody", PAM_AUTH_ERR, "token is for user daemon, login is for nobody", 0 },
	/* And the control: a valid token with a secret payload. */
	{ "valid token", SEAL, NULL, STD_CLAIMS(",\"jti\":\"hostile-ok\""), "{\"secret\":\"" PAYLOAD_MARKER "\"}", NULL, "daemon", PAM_SUCCESS, "accepted; iss=\"idp\" sub=\"daemon\" jti=\"hostile-ok\"", 1 },
};

/* b64url(text) */
static char *
b64(const char *text)
{
	return kj_b64_encode_alloc(KJ_B64URL, (const uint8_t *)text, strlen(text));
}

static char *
join3(const char *a, const char *b, const char *c)
{
	size_t n = strlen(a) + strlen(b) + strlen(c) + 3;
	char *t = malloc(n);

	if (t == NULL)
		abort();
	(void)kj_fmt(t, n, "%s.%s.%s", a, b, c);
	return t;
}

static char *
valid_token(void)
{
	char *c = subst(STD_CLAIMS(""));
	char *t = h_craft("{\"alg\":\"KMS\"}", c, "{}", KJ_FAKE_KEY1, "web-1", "daemon");

	free(c);
	return t;
}

/* Re-encode the sealed part of t after cutting or adding bytes. */
static char *
reseal(char *t, long delta)
{
	char *dot = strrchr(t, '.'), *nb, *out;
	uint8_t *raw = NULL, *grown;
	size_t n = 0;

	if (kj_b64_decode(KJ_B64URL, dot + 1, strlen(dot + 1), &raw, &n) != 0)
		abort();
	grown = realloc(raw, n + 16);
	if (grown == NULL)
		abort();
	raw = grown;
	if (delta < 0)
		n -= (size_t)-delta;
	else {
		memset(raw + n, 0x41, (size_t)delta);
		n += (size_t)delta;
	}
	nb = kj_b64_encode_alloc(KJ_B64URL, raw, n);
	*dot = '\0';
	out = malloc(strlen(t) + strlen(nb) + 2);
	if (out == NULL)
		abort();
	(void)kj_fmt(out, strlen(t) + strlen(nb) + 2, "%s.%s", t, nb);
	free(nb);
	free(raw);
	free(t);
	return out;
}

static char *
make_token(const struct hcase *k)
{
	char *t = NULL, *c, *hb, *cb;
	size_t i, n;

	switch (k->kind) {
	case SEAL:
	case KEY2:
	case KEY3:
		c = subst(k->claims);
		t = h_craft(k->hdr != NULL ? k->hdr : "{\"alg\":\"KMS\"}", c, k->payload != NULL ? k->payload : "{}",
		    k->kind == KEY2 ? KJ_FAKE_KEY2 : k->kind == KEY3 ? KJ_FAKE_KEY3 : KJ_FAKE_KEY1, "web-1",
		    k->ctx_sub != NULL ? k->ctx_sub : "daemon");
		free(c);
		return t;
	case RAW:
		if (strstr(k->claims, "$CLAIMS") != NULL) {
			c = subst(STD_CLAIMS(""));
			cb = b64(c);
			t = join3("eyJhbGciOiJLTVMifQ", cb, "AAAA");
			free(c);
			free(cb);
			return t;
		}
		return strdup(k->claims);
	case BIG:
	case OVER:
		n = k->kind == BIG ? 1048576 : KJ_TOKEN_MAX + 1;
		t = malloc(n + 1);
		if (t == NULL)
			abort();
		memset(t, 'A', n);
		t[n] = '\0';
		t[100] = '.';
		t[200] = '.';
		return t;
	case DEEP:
		c = malloc(8000);
		if (c == NULL)
			abort();
		n = 0;
		n += (size_t)snprintf(c, 8000, "{\"x\":");
		for (i = 0; i < 2900; i++)
			c[n++] = '[';
		for (i = 0; i < 2900; i++)
			c[n++] = ']';
		c[n++] = '}';
		c[n] = '\0';
		hb = b64("{\"alg\":\"KMS\"}");
		cb = b64(c);
		t = join3(hb, cb, "AAAA");
		free(hb);
		free(cb);
		free(c);
		return t;
	case TRUNC:
		return reseal(valid_token(), -3);
	case EXTEND:
		return reseal(valid_token(), 16);
	case SEALTAIL:
		t = valid_token();
		n = strlen(t);
		c = realloc(t, n + 2);
		if (c == NULL)
			abort();
		c[n] = 'A';
		c[n + 1] = '\0';
		return c;
	case PADDED:
	case SPACE:
	case STDALPHA:
		c = subst(k->kind == STDALPHA ? SUB_CLAIMS("daemon>>>") : STD_CLAIMS(""));
		hb = b64("{\"alg\":\"KMS\"}");
		cb = b64(c);
		free(c);
		if (k->kind == PADDED) {
			c = malloc(strlen(hb) + 3);
			(void)kj_fmt(c, strlen(hb) + 3, "%s==", hb);
			free(hb);
			hb = c;
		} else if (k->kind == SPACE) {
			cb[10] = ' ';
		} else {
			/* ">>>" encodes to "Pj4-" in base64url, "Pj4+" in base64 */
			char *m = strchr(cb, '-');

			if (m == NULL)
				abort();
			*m = '+';
		}
		t = join3(hb, cb, "AAAA");
		free(hb);
		free(cb);
		return t;
	case BADBITS:
		/* {"alg":"KMS"} is eyJhbGciOiJLTVMifQ: its last character carries 2
		 * unused bits, 'R' sets them. */
		c = subst(STD_CLAIMS(""));
		cb = b64(c);
		t = join3("eyJhbGciOiJLTVMifR", cb, "AAAA");
		free(c);
		free(cb);
		return t;
	}
	return NULL;
}

static void
test_catalogue(void)
{
	size_t i;
	unsigned n_cheap = 0;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct hcase *k = &cases[i];
		char *t = make_token(k);
		unsigned long before;
		int rc;

		keep_secret(t);
		if (strrchr(t, '.') != NULL)
			keep_secret(strrchr(t, '.') + 1);
		before = kj_fake_kms_calls;
		rc = h_run_pam(base_args, k->user, t);
		CHECK(rc == k->want_rc, "%s: got %d (%s), want %d; log: %s", k->name, rc, pam_strerror(NULL, rc),
		    k->want_rc, h_last_log);
		CHECK(strstr(h_last_log, k->reason) != NULL, "%s: log \"%s\" lacks \"%s\"", k->name, h_last_log,
		    k->reason);
		CHECK(kj_fake_kms_calls - before == k->kms, "%s: %lu KMS calls, want %lu", k->name,
		    kj_fake_kms_calls - before, k->kms);
		if (k->kms == 0)
			n_cheap++;
		free(t);
	}
	printf("# catalogue: %zu hostile tokens, %u refused without a KMS call\n", sizeof(cases) / sizeof(cases[0]),
	    n_cheap);
	CHECK(sizeof(cases) / sizeof(cases[0]) >= 40, "at least 40 cases");
}

/* Files that carry trust are refused when symlinked or writable by others. */
static void
test_files(void)
{
	char *t = valid_token(), args[4096], link[PATH_MAX + 16], conf[PATH_MAX + 16], map[PATH_MAX + 16];
	int rc;

	keep_secret(t);
	(void)kj_fmt(link, sizeof(link), "%s/cred-link", h_tmpdir);
	(void)kj_fmt(conf, sizeof(conf), "%s/kmsjwt.conf", h_tmpdir);
	(void)kj_fmt(map, sizeof(map), "%s/users.map", h_tmpdir);
	CHECK(symlink(h_credfile, link) == 0, "symlink");
	(void)kj_fmt(args, sizeof(args), "key_id=%s issuer=idp audience=web-1 endpoint=http://127.0.0.1:9 credentials_file=%s",
	    KJ_FAKE_KEY1, link);
	rc = h_run_pam(args, "daemon", t);
	CHECK(rc == PAM_SERVICE_ERR && strstr(h_last_log, "symlinks are refused") != NULL, "symlinked credentials: %d %s",
	    rc, h_last_log);
	(void)unlink(link);
	h_write_file(conf, "issuer = idp\n", 0644);
	CHECK(symlink(conf, link) == 0, "symlink");
	(void)kj_fmt(args, sizeof(args), "config=%s key_id=%s audience=web-1 credentials_file=%s", link, KJ_FAKE_KEY1,
	    h_credfile);
	rc = h_run_pam(args, "daemon", t);
	CHECK(rc == PAM_SERVICE_ERR && strstr(h_last_log, "symlinks are refused") != NULL, "symlinked config: %d %s", rc,
	    h_last_log);
	(void)unlink(link);
	h_write_file(map, "* daemon\n", 0620);
	(void)kj_fmt(args, sizeof(args), "%s user_map=%s", base_args, map);
	rc = h_run_pam(args, "daemon", t);
	CHECK(rc == PAM_SERVICE_ERR && strstr(h_last_log, "writable by group or others (mode 620)") != NULL,
	    "group-writable user_map: %d %s", rc, h_last_log);
	(void)unlink(map);
	(void)unlink(conf);
	free(t);
}

/* KMS trouble is PAM_AUTHINFO_UNAVAIL, never a refusal or a success. */
static void
test_kms_trouble(void)
{
	char *t = valid_token();
	int rc;

	keep_secret(t);
	(void)setenv("KJ_FAKE_KMS", "throttle", 1);
	rc = h_run_pam(base_args, "daemon", t);
	CHECK(rc == PAM_AUTHINFO_UNAVAIL && strstr(h_last_log, "ThrottlingException") != NULL,
	    "throttled: %d %s", rc, h_last_log);
	(void)setenv("KJ_FAKE_KMS", "500", 1);
	rc = h_run_pam(base_args, "daemon", t);
	CHECK(rc == PAM_AUTHINFO_UNAVAIL && strstr(h_last_log, "HTTP 500") != NULL, "KMS 500: %d %s", rc,
	    h_last_log);
	(void)unsetenv("KJ_FAKE_KMS");
	free(t);
}

/* The logs of the whole run, at debug level, hold no token, no sealed
 * part, no payload and no credential. */
static void
test_no_secrets_logged(void)
{
	size_t i;
	unsigned leaks = 0;

	keep_secret(PAYLOAD_MARKER);
	keep_secret(H_SECRET_KEY);
	keep_secret(H_SESSION);
	keep_secret(H_ACCESS_KEY);
	CHECK(h_all_len > 1000, "the run logged (%zu bytes)", h_all_len);
	for (i = 0; i < n_secrets; i++) {
		if (strstr(h_all_logs, secrets[i]) != NULL) {
			leaks++;
			fprintf(stderr, "secret %.40s... found in the logs\n", secrets[i]);
		}
	}
	CHECK(leaks == 0, "%u secrets in %zu bytes of logs", leaks, h_all_len);
	printf("# logs: %zu bytes, %zu secret strings searched, %u found\n", h_all_len, n_secrets, leaks);
	for (i = 0; i < n_secrets; i++)
		free(secrets[i]);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Median time of a failed login for an existing and a missing PAM_USER,
 * interleaved so drift hits both alike. */
static void
time_pair(const char *what, const char *tok, double *med_exists, double *med_missing)
{
	enum { N = 301 };
	static double a[N], b[N];
	int i;

	h_quiet_logs = 1;
	for (i = 0; i < N; i++) {
		double t0 = mono();

		(void)h_run_pam(base_args, "daemon", tok);
		a[i] = mono() - t0;
		t0 = mono();
		(void)h_run_pam(base_args, "kj-no-such-user", tok);
		b[i] = mono() - t0;
	}
	h_quiet_logs = 0;
	qsort(a, N, sizeof(a[0]), cmp_double);
	qsort(b, N, sizeof(b[0]), cmp_double);
	*med_exists = a[N / 2] * 1e6;
	*med_missing = b[N / 2] * 1e6;
	printf("# timing %s: median %.1f us (user exists) vs %.1f us (no such user), %d runs each\n", what,
	    *med_exists, *med_missing, N);
}

static void
test_timing(void)
{
	char *forged = valid_token(), *c = subst(DATE_CLAIMS("$IAT", "$EXP")), *cb;
	double e, m;
	char *d1, *d2, *t;

	/* Well-formed and reaching KMS, but the claims no longer match the seal. */
	c[strlen(c) - 2] = (char)(c[strlen(c) - 2] == '0' ? '1' : '0');
	cb = b64(c);
	d1 = strchr(forged, '.');
	d2 = strchr(d1 + 1, '.');
	*d1 = '\0';
	t = join3(forged, cb, d2 + 1);
	keep_secret(t);
	time_pair("malformed token", "x.y.z", &e, &m);
	CHECK(e < m * 1.5 + 50 && m < e * 1.5 + 50, "malformed: %.1f vs %.1f us", e, m);
	time_pair("forged token (one KMS call)", t, &e, &m);
	CHECK(e < m * 1.5 + 50 && m < e * 1.5 + 50, "forged: %.1f vs %.1f us", e, m);
	free(t);
	free(cb);
	free(c);
	free(forged);
}

int
main(int argc, char **argv)
{
	if (h_setup(argc > 1 ? argv[1] : NULL) != 0)
		return 2;
	now = (int64_t)time(NULL);
	(void)kj_fmt(base_args, sizeof(base_args),
	    "key_id=%s issuer=idp audience=web-1 endpoint=http://127.0.0.1:9 credentials_file=%s debug",
	    KJ_FAKE_KEY1, h_credfile);
	test_catalogue();
	test_kms_trouble();
	test_files();
	/* Under valgrind the times mean nothing and take minutes. */
	if (getenv("KJ_TEST_NO_TIMING") == NULL)
		test_timing();
	test_no_secrets_logged();
	h_teardown();
	DONE("hostile");
}
