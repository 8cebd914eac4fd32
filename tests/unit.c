/* Unit tests: base64, token parsing, claims, digest, SigV4 vectors, config,
 * user map, credentials files. No network. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/b64.h"
#include "../lib/config.h"
#include "../lib/creds.h"
#include "../lib/crypto.h"
#include "../lib/kms.h"
#include "../lib/sigv4.h"
#include "../lib/token.h"
#include "../lib/usermap.h"
#include "../lib/verify.h"
#include "check.h"

static char tmpdir[] = "/tmp/kjunit.XXXXXX";

/* B64U(h) "." B64U(c) "." sealed */
static char *
mk(const char *h, const char *c, const char *sealed)
{
	char *hb = kj_b64_encode_alloc(KJ_B64URL, (const uint8_t *)h, strlen(h));
	char *cb = kj_b64_encode_alloc(KJ_B64URL, (const uint8_t *)c, strlen(c));
	size_t n = strlen(hb) + strlen(cb) + strlen(sealed) + 3;
	char *t = malloc(n);

	(void)kj_fmt(t, n, "%s.%s.%s", hb, cb, sealed);
	free(hb);
	free(cb);
	return t;
}

#define GOOD_CLAIMS "{\"iss\":\"i\",\"sub\":\"alice\",\"aud\":\"h\",\"iat\":1000,\"exp\":1300}"

static kj_err
parse(const char *h, const char *c, const char *sealed, struct kj_diag *d)
{
	struct kj_token t;
	char *tok = mk(h, c, sealed);
	kj_err err = kj_token_parse(tok, strlen(tok), &t, d);

	if (err == KJ_OK)
		kj_token_free(&t);
	free(tok);
	return err;
}

static void
test_b64(void)
{
	static const char *const in[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *const url[] = { "", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy" };
	static const char *const std[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
	static const char *const bad_url[] = { "Zh", "Zm9=", "Zg==", "Z", "Zm9v\n", "Zm+v", "Zm9 v", "Zm/v" };
	static const char *const bad_std[] = { "Zh==", "Zg=", "Zg", "Zm9v=", "Zm-v", "Z===", "Zm8=Zm8=" };
	char buf[64];
	uint8_t *out;
	size_t n, i;

	for (i = 0; i < 7; i++) {
		CHECK(kj_b64_encode(KJ_B64URL, (const uint8_t *)in[i], strlen(in[i]), buf, sizeof(buf)) == 0 &&
		    strcmp(buf, url[i]) == 0, "b64url(%s) = %s", in[i], buf);
		CHECK(kj_b64_encode(KJ_B64STD, (const uint8_t *)in[i], strlen(in[i]), buf, sizeof(buf)) == 0 &&
		    strcmp(buf, std[i]) == 0, "b64(%s) = %s", in[i], buf);
		CHECK(kj_b64_decode(KJ_B64URL, url[i], strlen(url[i]), &out, &n) == 0 && n == strlen(in[i]) &&
		    memcmp(out, in[i], n) == 0, "b64url decode %s", url[i]);
		free(out);
		CHECK(kj_b64_decode(KJ_B64STD, std[i], strlen(std[i]), &out, &n) == 0 && n == strlen(in[i]) &&
		    memcmp(out, in[i], n) == 0, "b64 decode %s", std[i]);
		free(out);
	}
	for (i = 0; i < sizeof(bad_url) / sizeof(bad_url[0]); i++)
		CHECK(kj_b64_decode(KJ_B64URL, bad_url[i], strlen(bad_url[i]), &out, &n) != 0,
		    "b64url accepted %s", bad_url[i]);
	for (i = 0; i < sizeof(bad_std) / sizeof(bad_std[0]); i++)
		CHECK(kj_b64_decode(KJ_B64STD, bad_std[i], strlen(bad_std[i]), &out, &n) != 0,
		    "b64 accepted %s", bad_std[i]);
	CHECK(kj_b64_encode(KJ_B64URL, (const uint8_t *)"foo", 3, buf, 4) != 0, "encode overflow");
}

static void
test_token(void)
{
	struct kj_diag d;
	struct kj_token t;
	char *tok, big[KJ_TOKEN_MAX + 2];
	char digest[KJ_DIGEST_LEN + 1];

	memset(&d, 0, sizeof(d));
	CHECK(parse("{\"alg\":\"KMS\"}", GOOD_CLAIMS, "AAAA", &d) == KJ_OK, "good token: %s", d.reason);
	CHECK(parse("{\"alg\":\"KMS\",\"typ\":\"JWT\"}", GOOD_CLAIMS, "AAAA", &d) == KJ_OK, "typ JWT");
	CHECK(parse("{\"alg\":\"KMS+A256GCM\"}", GOOD_CLAIMS, "AAAA", &d) == KJ_OK, "envelope alg parses");

	CHECK(parse("{\"alg\":\"none\"}", GOOD_CLAIMS, "AAAA", &d) == KJ_ERR_TOKEN, "alg none");
	CHECK_CONTAINS(d.reason, "alg \"none\" is not allowed");
	CHECK(parse("{\"alg\":\"HS256\"}", GOOD_CLAIMS, "AAAA", &d) == KJ_ERR_TOKEN, "alg HS256");
	CHECK(parse("{\"alg\":\"kms\"}", GOOD_CLAIMS, "AAAA", &d) == KJ_ERR_TOKEN, "alg case");
	CHECK(parse("{}", GOOD_CLAIMS, "AAAA", &d) == KJ_ERR_TOKEN, "no alg");
	CHECK(parse("{\"alg\":1}", GOOD_CLAIMS, "AAAA", &d) == KJ_ERR_TOKEN, "alg number");
	CHECK(parse("{\"alg\":\"KMS\",\"crit\":[\"x\"]}", GOOD_CLAIMS, "AAAA", &d) == KJ_ERR_TOKEN, "crit");
	CHECK_CONTAINS(d.reason, "crit");
	CHECK(parse("{\"alg\":\"KMS\",\"typ\":\"JOSE\"}", GOOD_CLAIMS, "AAAA", &d) == KJ_ERR_TOKEN, "typ");
	CHECK(parse("{\"alg\":\"KMS\",\"alg\":\"KMS\"}", GOOD_CLAIMS, "AAAA", &d) == KJ_ERR_TOKEN,
	    "duplicate header member");
	CHECK(parse("[\"alg\"]", GOOD_CLAIMS, "AAAA", &d) == KJ_ERR_TOKEN, "header array");
	CHECK_CONTAINS(d.reason, "not a JSON object");
	CHECK(parse("{\"alg\":\"KMS\"} x", GOOD_CLAIMS, "AAAA", &d) == KJ_ERR_TOKEN, "trailing garbage");

	CHECK(parse("{\"alg\":\"KMS\"}", "{\"iss\":\"i\",\"sub\":\"a\",\"sub\":\"b\",\"aud\":\"h\",\"iat\":1,\"exp\":2}",
	    "AAAA", &d) == KJ_ERR_TOKEN, "duplicate claim");
	CHECK_CONTAINS(d.reason, "duplicate");
	CHECK(parse("{\"alg\":\"KMS\"}", "{\"iss\":\"i\",\"sub\":\"a\",\"aud\":[\"h\"],\"iat\":1,\"exp\":2}",
	    "AAAA", &d) == KJ_ERR_CLAIMS, "aud array");
	CHECK_CONTAINS(d.reason, "single string");
	CHECK(parse("{\"alg\":\"KMS\"}", "{\"iss\":\"i\",\"sub\":\"a\",\"aud\":\"h\",\"iat\":1,\"exp\":2.5}",
	    "AAAA", &d) == KJ_ERR_CLAIMS, "exp float");
	CHECK(parse("{\"alg\":\"KMS\"}", "{\"iss\":\"i\",\"sub\":\"a\",\"aud\":\"h\",\"iat\":1,\"exp\":\"2\"}",
	    "AAAA", &d) == KJ_ERR_CLAIMS, "exp string");
	CHECK(parse("{\"alg\":\"KMS\"}", "{\"iss\":\"i\",\"sub\":\"a\",\"aud\":\"h\",\"iat\":1,\"exp\":-5}",
	    "AAAA", &d) == KJ_ERR_CLAIMS, "exp negative");
	CHECK(parse("{\"alg\":\"KMS\"}",
	    "{\"iss\":\"i\",\"sub\":\"a\",\"aud\":\"h\",\"iat\":1,\"exp\":99999999999999999999}", "AAAA",
	    &d) == KJ_ERR_TOKEN, "exp overflow");
	CHECK(parse("{\"alg\":\"KMS\"}", "{\"iss\":\"i\",\"aud\":\"h\",\"iat\":1,\"exp\":2}", "AAAA", &d) ==
	    KJ_ERR_CLAIMS, "no sub");
	CHECK_CONTAINS(d.reason, "claim sub is missing");
	CHECK(parse("{\"alg\":\"KMS\"}", "{\"iss\":\"i\",\"sub\":\"\",\"aud\":\"h\",\"iat\":1,\"exp\":2}", "AAAA",
	    &d) == KJ_ERR_CLAIMS, "empty sub");
	CHECK(parse("{\"alg\":\"KMS\"}", "{\"iss\":\"i\",\"sub\":\"a\\u0000b\",\"aud\":\"h\",\"iat\":1,\"exp\":2}",
	    "AAAA", &d) == KJ_ERR_TOKEN, "NUL in claim");
	CHECK(parse("{\"alg\":\"KMS\"}", "{\"iss\":\"\xff\",\"sub\":\"a\",\"aud\":\"h\",\"iat\":1,\"exp\":2}",
	    "AAAA", &d) == KJ_ERR_TOKEN, "invalid UTF-8");

	tok = mk("{\"alg\":\"KMS\"}", GOOD_CLAIMS, "AAAA");
	CHECK(kj_token_parse(tok, strlen(tok) - 4, &t, &d) == KJ_ERR_TOKEN, "empty sealed");
	CHECK_CONTAINS(d.reason, "empty segment");
	CHECK(kj_token_parse(tok, 0, &t, &d) == KJ_ERR_TOKEN, "empty token");
	CHECK_CONTAINS(d.reason, "empty token");
	free(tok);
	CHECK(parse("{\"alg\":\"KMS\"}", GOOD_CLAIMS, "AAAA.AAAA", &d) == KJ_ERR_TOKEN, "4 segments");
	CHECK_CONTAINS(d.reason, "exactly 3 segments");
	CHECK(kj_token_parse("abc.def", 7, &t, &d) == KJ_ERR_TOKEN, "2 segments");
	CHECK(parse("{\"alg\":\"KMS\"}", GOOD_CLAIMS, "AAA=", &d) == KJ_ERR_TOKEN, "padded sealed");
	CHECK_CONTAINS(d.reason, "sealed part is not canonical base64url");
	CHECK(kj_token_parse("eyJhbGciOiJLTVMifQ==.e30.AAAA", 29, &t, &d) == KJ_ERR_TOKEN, "padded header");
	memset(big, 'A', sizeof(big));
	CHECK(kj_token_parse(big, KJ_TOKEN_MAX + 1, &t, &d) == KJ_ERR_TOKEN, "too long");
	CHECK_CONTAINS(d.reason, "longer than 8192");
	CHECK(kj_token_parse("a.b\0c.d", 7, &t, &d) == KJ_ERR_TOKEN, "NUL byte");

	/* D over S, checked against Python's hashlib. */
	CHECK(kj_digest("eyJhbGciOiJLTVMifQ.eyJzdWIiOiJhbGljZSJ9", 39, digest) == 0 &&
	    strcmp(digest, "Yi7BGnKU-rsqgZjZg6kFJt39MWsEwZ1VvELhIHCJ-Ao") == 0, "digest %s", digest);
	tok = mk("{\"alg\":\"KMS\"}", GOOD_CLAIMS, "AAAA");
	CHECK(kj_token_parse(tok, strlen(tok), &t, &d) == KJ_OK, "parse");
	CHECK(t.signing_len == strlen(tok) - 5, "signing length");
	CHECK(kj_digest(tok, strlen(tok) - 5, digest) == 0 && strcmp(digest, t.digest) == 0, "token digest");
	CHECK(t.sealed_len == 3 && t.exp == 1300 && t.iat == 1000 && !t.has_nbf, "fields");
	kj_token_free(&t);
	free(tok);
}

static struct kj_config
base_config(void)
{
	struct kj_config c;
	struct kj_diag d;

	kj_config_defaults(&c);
	(void)kj_config_set(&c, "key_id", "arn:aws:kms:eu-west-1:111122223333:key/k1", &d);
	(void)kj_config_set(&c, "issuer", "i, i2", &d);
	(void)kj_config_set(&c, "audience", "h", &d);
	(void)kj_config_finish(&c, &d);
	return c;
}

static kj_err
claims_at(const char *claims, int64_t now, struct kj_diag *d)
{
	struct kj_config c = base_config();
	struct kj_token t;
	char *tok = mk("{\"alg\":\"KMS\"}", claims, "AAAA");
	kj_err err = kj_token_parse(tok, strlen(tok), &t, d);

	if (err == KJ_OK) {
		err = kj_claims_check(&t, &c, now, d);
		kj_token_free(&t);
	}
	free(tok);
	return err;
}

static void
test_claims(void)
{
	struct kj_diag d;

	/* iat 1000, exp 1300, leeway 60 */
	CHECK(claims_at(GOOD_CLAIMS, 1100, &d) == KJ_OK, "valid: %s", d.reason);
	CHECK(claims_at(GOOD_CLAIMS, 1359, &d) == KJ_OK, "within leeway");
	CHECK(claims_at(GOOD_CLAIMS, 1360, &d) == KJ_ERR_CLAIMS, "expired at exp+leeway");
	CHECK_CONTAINS(d.reason, "expired");
	CHECK(claims_at(GOOD_CLAIMS, 940, &d) == KJ_OK, "iat within leeway");
	CHECK(claims_at(GOOD_CLAIMS, 939, &d) == KJ_ERR_CLAIMS, "iat in the future");
	CHECK_CONTAINS(d.reason, "(iat)");
	CHECK(claims_at("{\"iss\":\"i\",\"sub\":\"a\",\"aud\":\"h\",\"iat\":1000,\"exp\":1300,\"nbf\":1200}", 1140,
	    &d) == KJ_OK, "nbf within leeway");
	CHECK(claims_at("{\"iss\":\"i\",\"sub\":\"a\",\"aud\":\"h\",\"iat\":1000,\"exp\":1300,\"nbf\":1200}", 1139,
	    &d) == KJ_ERR_CLAIMS, "nbf");
	CHECK_CONTAINS(d.reason, "(nbf)");
	CHECK(claims_at("{\"iss\":\"i2\",\"sub\":\"a\",\"aud\":\"h\",\"iat\":1000,\"exp\":4600}", 1100, &d) ==
	    KJ_OK, "second issuer, ttl == max_ttl");
	CHECK(claims_at("{\"iss\":\"i\",\"sub\":\"a\",\"aud\":\"h\",\"iat\":1000,\"exp\":4601}", 1100, &d) ==
	    KJ_ERR_CLAIMS, "ttl > max_ttl");
	CHECK_CONTAINS(d.reason, "max_ttl");
	CHECK(claims_at("{\"iss\":\"evil\",\"sub\":\"a\",\"aud\":\"h\",\"iat\":1000,\"exp\":1300}", 1100, &d) ==
	    KJ_ERR_CLAIMS, "issuer");
	CHECK_CONTAINS(d.reason, "issuer \"evil\" is not allowed");
	CHECK(claims_at("{\"iss\":\"i\",\"sub\":\"a\",\"aud\":\"h2\",\"iat\":1000,\"exp\":1300}", 1100, &d) ==
	    KJ_ERR_CLAIMS, "audience");
	CHECK(claims_at("{\"iss\":\"i\\n\\\"x\",\"sub\":\"a\",\"aud\":\"h\",\"iat\":1000,\"exp\":1300}", 1100, &d) ==
	    KJ_ERR_CLAIMS, "hostile issuer");
	CHECK(strchr(d.reason, '\n') == NULL && strstr(d.reason, "\\x0a\\x22x") != NULL,
	    "issuer sanitized in reason: %s", d.reason);
}

/* Vectors from the AWS SigV4 test suite (region us-east-1, service
 * "service", 20150830T123600Z, AKIDEXAMPLE). */
static void
test_sigv4(void)
{
	static const char *const secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
	static const char *const token =
		"AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/"
		"qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+"
		"scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";
	static const char *const pre =
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, ";
	struct kj_header h[4];
	struct kj_diag d;
	char out[KJ_AUTHZ_MAX], want[KJ_AUTHZ_MAX], date[17];

	h[0] = (struct kj_header){ "Host", "example.amazonaws.com" };
	h[1] = (struct kj_header){ "X-Amz-Date", "20150830T123600Z" };
	CHECK(kj_sigv4_authorization("POST", "/", h, 2, "", 0, "AKIDEXAMPLE", secret, "us-east-1", "service",
	    "20150830T123600Z", out, sizeof(out), &d) == KJ_OK, "post-vanilla");
	(void)kj_fmt(want, sizeof(want), "%sSignedHeaders=host;x-amz-date, Signature=%s", pre,
	    "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
	CHECK(strcmp(out, want) == 0, "post-vanilla: %s", out);

	CHECK(kj_sigv4_authorization("GET", "/", h, 2, "", 0, "AKIDEXAMPLE", secret, "us-east-1", "service",
	    "20150830T123600Z", out, sizeof(out), &d) == KJ_OK, "get-vanilla");
	CHECK(strstr(out, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31") != NULL,
	    "get-vanilla: %s", out);

	h[2] = (struct kj_header){ "My-Header1", "VALUE1" };
	CHECK(kj_sigv4_authorization("POST", "/", h, 3, "", 0, "AKIDEXAMPLE", secret, "us-east-1", "service",
	    "20150830T123600Z", out, sizeof(out), &d) == KJ_OK, "post-header-value-case");
	(void)kj_fmt(want, sizeof(want), "%sSignedHeaders=host;my-header1;x-amz-date, Signature=%s", pre,
	    "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d");
	CHECK(strcmp(out, want) == 0, "post-header-value-case: %s", out);

	h[2] = (struct kj_header){ "Content-Type", "application/x-www-form-urlencoded" };
	CHECK(kj_sigv4_authorization("POST", "/", h, 3, "Param1=value1", 13, "AKIDEXAMPLE", secret, "us-east-1",
	    "service", "20150830T123600Z", out, sizeof(out), &d) == KJ_OK, "post-x-www-form-urlencoded");
	(void)kj_fmt(want, sizeof(want), "%sSignedHeaders=content-type;host;x-amz-date, Signature=%s", pre,
	    "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a");
	CHECK(strcmp(out, want) == 0, "post-x-www-form-urlencoded: %s", out);

	h[2] = (struct kj_header){ "X-Amz-Security-Token", token };
	CHECK(kj_sigv4_authorization("POST", "/", h, 3, "", 0, "AKIDEXAMPLE", secret, "us-east-1", "service",
	    "20150830T123600Z", out, sizeof(out), &d) == KJ_OK, "post-sts-header-before");
	(void)kj_fmt(want, sizeof(want), "%sSignedHeaders=host;x-amz-date;x-amz-security-token, Signature=%s",
	    pre, "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead");
	CHECK(strcmp(out, want) == 0, "post-sts-header-before: %s", out);

	CHECK(kj_amz_date(1440938160, date) == 0 && strcmp(date, "20150830T123600Z") == 0, "amz date %s", date);
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	int fd;

	(void)unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	(void)fchmod(fd, mode);
	close(fd);
}

static void
test_config(void)
{
	struct kj_config c;
	struct kj_diag d;
	char path[256], link[256];
	const char *args[4];

	kj_config_defaults(&c);
	CHECK(c.leeway == 60 && c.max_ttl == 3600 && c.timeout_ms == 5000 && strcmp(c.user_claim, "sub") == 0,
	    "defaults");
	CHECK(kj_config_set(&c, "colour", "blue", &d) == KJ_ERR_CONFIG, "unknown key");
	CHECK_CONTAINS(d.reason, "unknown option 'colour'");
	CHECK(kj_config_set(&c, "leeway", "601", &d) == KJ_ERR_CONFIG, "leeway range");
	CHECK_CONTAINS(d.reason, "from 0 to 600");
	CHECK(kj_config_set(&c, "leeway", "+5", &d) == KJ_ERR_CONFIG, "leeway sign");
	CHECK(kj_config_set(&c, "leeway", "5s", &d) == KJ_ERR_CONFIG, "leeway suffix");
	CHECK(kj_config_set(&c, "leeway", "", &d) == KJ_ERR_CONFIG, "leeway empty");
	CHECK(kj_config_set(&c, "timeout", "0", &d) == KJ_ERR_CONFIG, "timeout 0");
	CHECK(kj_config_set(&c, "timeout", "2", &d) == KJ_OK && c.timeout_ms == 2000, "timeout 2 s");
	CHECK(kj_config_set(&c, "debug", NULL, &d) == KJ_OK && c.debug == 1, "bare flag");
	CHECK(kj_config_set(&c, "debug", "maybe", &d) == KJ_ERR_CONFIG, "bad bool");
	CHECK(kj_config_set(&c, "use_first_pass", NULL, &d) == KJ_OK, "use_first_pass accepted");
	CHECK(kj_config_set(&c, "audience", NULL, &d) == KJ_ERR_CONFIG, "value required");
	CHECK(kj_config_set(&c, "key_id", "alias/login", &d) == KJ_ERR_CONFIG, "alias refused");
	CHECK_CONTAINS(d.reason, "not a key ARN");
	CHECK(kj_config_set(&c, "key_id", "arn:aws:kms:us-east-2:1:key/a,,arn:aws:kms:us-east-2:1:key/b", &d) ==
	    KJ_ERR_CONFIG, "empty list element");
	CHECK(kj_config_finish(&c, &d) == KJ_ERR_CONFIG, "key_id required");
	CHECK_CONTAINS(d.reason, "key_id is required");

	c = base_config();
	CHECK(strcmp(c.region, "eu-west-1") == 0, "region from ARN: %s", c.region);
	CHECK(strcmp(c.url, "https://kms.eu-west-1.amazonaws.com/") == 0, "default url %s", c.url);
	CHECK(c.n_issuers == 2 && strcmp(c.issuers[1], "i2") == 0, "issuer list");
	CHECK(kj_config_set(&c, "endpoint", "http://kms.example.com", &d) == KJ_OK &&
	    kj_config_finish(&c, &d) == KJ_ERR_CONFIG, "plain http to a remote host");
	CHECK_CONTAINS(d.reason, "only allowed to loopback");
	CHECK(kj_config_set(&c, "endpoint", "http://127.0.0.1:4566", &d) == KJ_OK &&
	    kj_config_finish(&c, &d) == KJ_OK && strcmp(c.host_header, "127.0.0.1:4566") == 0 &&
	    strcmp(c.url, "http://127.0.0.1:4566/") == 0, "loopback endpoint");
	CHECK(kj_config_set(&c, "endpoint", "http://127.0.0.1.evil.com/", &d) == KJ_OK &&
	    kj_config_finish(&c, &d) == KJ_ERR_CONFIG, "loopback look-alike");
	CHECK(kj_config_set(&c, "endpoint", "https://vpce-1.kms.eu-west-1.vpce.amazonaws.com/x", &d) == KJ_OK &&
	    kj_config_finish(&c, &d) == KJ_ERR_CONFIG, "path refused");
	CHECK(kj_config_set(&c, "endpoint", "https://[::1]:8443", &d) == KJ_OK && kj_config_finish(&c, &d) ==
	    KJ_OK && strcmp(c.host_header, "[::1]:8443") == 0, "ipv6 endpoint");
	CHECK(kj_config_set(&c, "endpoint", "https://h:99999", &d) == KJ_OK &&
	    kj_config_finish(&c, &d) == KJ_ERR_CONFIG, "bad port");

	/* Config file: permissions, symlinks, content errors, precedence. */
	(void)kj_fmt(path, sizeof(path), "%s/kmsjwt.conf", tmpdir);
	write_file(path,
	    "# test\nkey_id = arn:aws:kms:us-east-1:1:key/a\nissuer=i\n  audience = from-file  \nleeway = 5\n",
	    0600);
	kj_config_defaults(&c);
	(void)kj_fmt(link, sizeof(link), "config=%s", path);
	args[0] = link;
	args[1] = "audience=from-args";
	CHECK(kj_config_from_args(&c, 2, args, &d) == KJ_OK, "file + args: %s", d.reason);
	CHECK(strcmp(c.audience, "from-args") == 0 && c.leeway == 5 && c.n_keys == 1, "args win over the file");
	CHECK(kj_config_finish(&c, &d) == KJ_OK && strcmp(c.region, "us-east-1") == 0, "finish from file");
	(void)chmod(path, 0602);
	kj_config_defaults(&c);
	CHECK(kj_config_from_args(&c, 1, args, &d) == KJ_ERR_CONFIG, "world-writable config");
	CHECK_CONTAINS(d.reason, "writable by group or others");
	(void)chmod(path, 0620);
	CHECK(kj_config_load_file(&c, path, &d) == KJ_ERR_CONFIG, "group-writable config");
	(void)chmod(path, 0644);
	CHECK(kj_config_load_file(&c, path, &d) == KJ_OK, "0644 config: %s", d.reason);
	(void)kj_fmt(link, sizeof(link), "%s/link.conf", tmpdir);
	(void)unlink(link);
	CHECK(symlink(path, link) == 0, "symlink");
	CHECK(kj_config_load_file(&c, link, &d) == KJ_ERR_CONFIG, "symlinked config");
	CHECK_CONTAINS(d.reason, "symlinks are refused");
	CHECK(kj_config_load_file(&c, tmpdir, &d) == KJ_ERR_CONFIG, "directory as config");
	write_file(path, "audience = a\nbogus = 1\n", 0600);
	CHECK(kj_config_load_file(&c, path, &d) == KJ_ERR_CONFIG, "unknown key in file");
	CHECK_CONTAINS(d.reason, "kmsjwt.conf:2: unknown option 'bogus'");
	write_file(path, "config = /etc/other\n", 0600);
	CHECK(kj_config_load_file(&c, path, &d) == KJ_ERR_CONFIG, "nested config");
	CHECK(kj_config_load_file(&c, "/nonexistent/kmsjwt.conf", &d) == KJ_ERR_CONFIG, "missing file");
	(void)unlink(link);
	(void)unlink(path);
}

static void
test_usermap(void)
{
	struct kj_config c = base_config();
	struct kj_diag d;
	char user[KJ_USER_MAX], path[256];

	CHECK(kj_user_name_valid("alice") && kj_user_name_valid("a.b-c_d") && kj_user_name_valid("host$"),
	    "valid names");
	CHECK(!kj_user_name_valid("") && !kj_user_name_valid("-rf") && !kj_user_name_valid("a/b") &&
	    !kj_user_name_valid("a:b") && !kj_user_name_valid("a\nb") && !kj_user_name_valid("a b") &&
	    !kj_user_name_valid("$") && !kj_user_name_valid(".hidden") &&
	    !kj_user_name_valid("\xd0\xb0lice") && !kj_user_name_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
	    "invalid names");
	CHECK(kj_usermap_resolve(&c, "daemon", user, sizeof(user), &d) == KJ_OK && strcmp(user, "daemon") == 0,
	    "no map");
	CHECK(kj_usermap_resolve(&c, "a;rm -rf", user, sizeof(user), &d) == KJ_ERR_USER, "shell chars");
	(void)kj_fmt(path, sizeof(path), "%s/users.map", tmpdir);
	write_file(path, "# claim -> user\nops-*@example.com daemon\n*@example.com =\nbob nobody\n", 0600);
	(void)kj_strlcpy(c.user_map, path, sizeof(c.user_map));
	CHECK(kj_usermap_resolve(&c, "ops-1@example.com", user, sizeof(user), &d) == KJ_OK &&
	    strcmp(user, "daemon") == 0, "glob");
	CHECK(kj_usermap_resolve(&c, "bob", user, sizeof(user), &d) == KJ_OK && strcmp(user, "nobody") == 0,
	    "literal");
	CHECK(kj_usermap_resolve(&c, "carol@example.com", user, sizeof(user), &d) == KJ_ERR_USER,
	    "= keeps the claim, which is no user name");
	CHECK(kj_usermap_resolve(&c, "mallory", user, sizeof(user), &d) == KJ_ERR_USER, "no match");
	CHECK_CONTAINS(d.reason, "no user_map entry matches \"mallory\"");
	write_file(path, "justonefield\n", 0600);
	CHECK(kj_usermap_resolve(&c, "x", user, sizeof(user), &d) == KJ_ERR_CONFIG, "bad map line");
	CHECK(kj_user_check(&c, "daemon", &d) == KJ_OK, "daemon exists");
	CHECK(kj_user_check(&c, "kj-no-such-user", &d) == KJ_ERR_USER_UNKNOWN, "unknown user");
	CHECK(kj_user_check(&c, "root", &d) == KJ_ERR_USER, "root refused");
	CHECK_CONTAINS(d.reason, "allow_root is off");
	c.allow_root = 1;
	CHECK(kj_user_check(&c, "root", &d) == KJ_OK, "root with allow_root");
	(void)unlink(path);
}

static void
test_creds(void)
{
	struct kj_creds cr;
	struct kj_diag d;
	char text[512];

	memset(&cr, 0, sizeof(cr));
	(void)kj_strlcpy(text,
	    "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key=s1\n\n"
	    "[ci]\naws_access_key_id=AKIDCI\naws_secret_access_key = s2\naws_session_token = tok\n",
	    sizeof(text));
	CHECK(kj_creds_parse_ini(text, strlen(text), "ci", 0, &cr, &d) == KJ_OK &&
	    strcmp(cr.access_key_id, "AKIDCI") == 0 && strcmp(cr.session_token, "tok") == 0, "profile ci");
	memset(&cr, 0, sizeof(cr));
	(void)kj_strlcpy(text, "[profile ci]\naws_access_key_id=A\naws_secret_access_key=B\n", sizeof(text));
	CHECK(kj_creds_parse_ini(text, strlen(text), "ci", 1, &cr, &d) == KJ_OK && strcmp(cr.access_key_id, "A") == 0,
	    "config-style profile");
	memset(&cr, 0, sizeof(cr));
	(void)kj_strlcpy(text, "[profile ci]\naws_access_key_id=A\naws_secret_access_key=B\n", sizeof(text));
	CHECK(kj_creds_parse_ini(text, strlen(text), "ci", 0, &cr, &d) == KJ_ERR_UNAVAIL, "wrong style");
	memset(&cr, 0, sizeof(cr));
	(void)kj_strlcpy(text, "[x]\naws_access_key_id=A\n", sizeof(text));
	CHECK(kj_creds_parse_ini(text, strlen(text), "x", 0, &cr, &d) == KJ_ERR_UNAVAIL, "no secret");
	kj_creds_wipe(&cr);
}

static void
test_kms_classify(void)
{
	CHECK(kj_kms_classify(400, "InvalidCiphertextException") == KJ_ERR_DENIED, "invalid ciphertext");
	CHECK(kj_kms_classify(400, "IncorrectKeyException") == KJ_ERR_DENIED, "incorrect key");
	CHECK(kj_kms_classify(400, "AccessDeniedException") == KJ_ERR_DENIED, "access denied");
	CHECK(kj_kms_classify(400, "ThrottlingException") == KJ_ERR_UNAVAIL, "throttling");
	CHECK(kj_kms_classify(500, "KMSInternalException") == KJ_ERR_UNAVAIL, "internal");
	CHECK(kj_kms_classify(503, "") == KJ_ERR_UNAVAIL, "503");
	CHECK(kj_kms_classify(400, "SomethingNew") == KJ_ERR_DENIED, "unknown 4xx refuses");
	CHECK(kj_kms_classify(400, "InvalidSignatureException") == KJ_ERR_UNAVAIL, "signature");
}

static void
test_decision_line(void)
{
	struct kj_result r;
	struct kj_diag d;
	char line[1024];

	memset(&r, 0, sizeof(r));
	(void)kj_strlcpy(r.iss, "i", sizeof(r.iss));
	(void)kj_fail(&d, KJ_ERR_CLAIMS, "token expired 5 s ago");
	kj_decision_line(line, sizeof(line), KJ_ERR_CLAIMS, &d, &r);
	CHECK(strcmp(line, "refused (claims refused): token expired 5 s ago; iss=\"i\" sub=\"-\" jti=\"-\" "
	    "key=- user=- mode=-") == 0, "line: %s", line);
	(void)kj_strlcpy(r.user, "alice", sizeof(r.user));
	kj_decision_line(line, sizeof(line), KJ_OK, &d, &r);
	CHECK(strncmp(line, "accepted; ", 10) == 0 && strstr(line, "user=alice") != NULL, "ok line: %s", line);
}

static void
unhex(const char *h, uint8_t *out)
{
	size_t i;

	for (i = 0; h[2 * i] != '\0'; i++) {
		unsigned v = 0;
		int k;

		for (k = 0; k < 2; k++) {
			char c = h[2 * i + (size_t)k];

			v = v * 16 + (unsigned)(c <= '9' ? c - '0' : c - 'a' + 10);
		}
		out[i] = (uint8_t)v;
	}
}

/* FIPS 180-2 "abc", RFC 4231 case 2, and GCM spec test case 16 (AES-256). */
static void
test_crypto(void)
{
	static const char *const gk = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";
	static const char *const giv = "cafebabefacedbaddecaf888";
	static const char *const gp = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
				      "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";
	static const char *const ga = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
	static const char *const gc = "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
				      "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662";
	static const char *const gt = "76fc6ece0f4e1768cddf8853bb2d551b";
	struct kj_span parts[2] = { { "a", 1 }, { "bc", 2 } };
	uint8_t md[32], key[32], iv[12], pt[60], aad[20], ct[60], tag[16], want_ct[60], want_tag[16], back[60];
	char hex[65];

	kj_sha256_v(parts, 2, md);
	kj_hex(hex, md, 32);
	CHECK(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0, "sha256 abc %s", hex);
	kj_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, md);
	kj_hex(hex, md, 32);
	CHECK(strcmp(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843") == 0, "hmac %s", hex);
	unhex(gk, key);
	unhex(giv, iv);
	unhex(gp, pt);
	unhex(ga, aad);
	unhex(gc, want_ct);
	unhex(gt, want_tag);
	kj_gcm_seal(key, iv, aad, sizeof(aad), pt, sizeof(pt), ct, tag);
	CHECK(memcmp(ct, want_ct, sizeof(ct)) == 0 && memcmp(tag, want_tag, sizeof(tag)) == 0, "GCM case 16 seal");
	CHECK(kj_gcm_open(key, iv, aad, sizeof(aad), ct, sizeof(ct), tag, back) == 0 &&
	    memcmp(back, pt, sizeof(pt)) == 0, "GCM case 16 open");
	aad[0] ^= 1;
	CHECK(kj_gcm_open(key, iv, aad, sizeof(aad), ct, sizeof(ct), tag, back) == -1, "GCM: changed AAD refused");
	CHECK(kj_memeq("abc", "abc", 3) && !kj_memeq("abc", "abd", 3), "memeq");
}

int
main(void)
{
	if (mkdtemp(tmpdir) == NULL)
		return 2;
	test_b64();
	test_token();
	test_claims();
	test_sigv4();
	test_config();
	test_usermap();
	test_creds();
	test_kms_classify();
	test_decision_line();
	test_crypto();
	(void)rmdir(tmpdir);
	DONE("unit");
}
