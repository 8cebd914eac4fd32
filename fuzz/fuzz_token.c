/* libFuzzer target: the token parser and the claims checker (steps 1-2 of
 * docs/token-format.md), the code every unauthenticated input reaches. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../lib/config.h"
#include "../lib/token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct kj_config cfg;
static int ready;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int64_t nows[] = { 0, 1767225600, 253402300799LL };
	struct kj_token t;
	struct kj_diag d;
	size_t i;

	if (!ready) {
		kj_config_defaults(&cfg);
		(void)kj_config_set(&cfg, "key_id",
		    "arn:aws:kms:us-east-1:111122223333:key/00000000-0000-4000-8000-000000000001", &d);
		(void)kj_config_set(&cfg, "issuer", "idp,https://idp.example", &d);
		(void)kj_config_set(&cfg, "audience", "web-1", &d);
		if (kj_config_finish(&cfg, &d) != KJ_OK)
			__builtin_trap();
		ready = 1;
	}
	if (kj_token_parse((const char *)data, size, &t, &d) != KJ_OK)
		return 0;
	/* What the parser promises the rest of the code. */
	if (t.iss == NULL || t.sub == NULL || t.aud == NULL || t.exp < 0 || t.iat < 0 ||
	    t.exp > 253402300799LL || strlen(t.digest) != KJ_DIGEST_LEN || t.sealed_len == 0)
		__builtin_trap();
	for (i = 0; i < sizeof(nows) / sizeof(nows[0]); i++)
		(void)kj_claims_check(&t, &cfg, nows[i], &d);
	if (memchr(d.reason, '\0', sizeof(d.reason)) == NULL)
		__builtin_trap();
	kj_token_free(&t);
	return 0;
}
