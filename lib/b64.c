/* Strict base64 / base64url. OpenSSL's EVP_DecodeBlock skips whitespace and
 * accepts non-canonical trailing bits, so it cannot tell a token from a
 * re-encoded copy of it; this one refuses everything but the canonical form. */
#include "b64.h"

#include <stdlib.h>
#include <string.h>

static const char kj_alpha_url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char kj_alpha_std[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int
kj_b64_val(enum kj_b64_variant v, char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (v == KJ_B64URL) {
		if (c == '-')
			return 62;
		if (c == '_')
			return 63;
	} else {
		if (c == '+')
			return 62;
		if (c == '/')
			return 63;
	}
	return -1;
}

size_t
kj_b64_enc_len(enum kj_b64_variant v, size_t n)
{
	if (v == KJ_B64STD)
		return (n + 2) / 3 * 4;
	return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

int
kj_b64_encode(enum kj_b64_variant v, const uint8_t *src, size_t n, char *dst, size_t dst_size)
{
	const char *a = v == KJ_B64URL ? kj_alpha_url : kj_alpha_std;
	size_t i, o = 0;

	if (dst_size < kj_b64_enc_len(v, n) + 1)
		return -1;
	for (i = 0; i + 2 < n; i += 3) {
		uint32_t w = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8 | src[i + 2];
		dst[o++] = a[w >> 18 & 63];
		dst[o++] = a[w >> 12 & 63];
		dst[o++] = a[w >> 6 & 63];
		dst[o++] = a[w & 63];
	}
	if (n - i == 1) {
		uint32_t w = (uint32_t)src[i] << 16;
		dst[o++] = a[w >> 18 & 63];
		dst[o++] = a[w >> 12 & 63];
		if (v == KJ_B64STD) {
			dst[o++] = '=';
			dst[o++] = '=';
		}
	} else if (n - i == 2) {
		uint32_t w = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8;
		dst[o++] = a[w >> 18 & 63];
		dst[o++] = a[w >> 12 & 63];
		dst[o++] = a[w >> 6 & 63];
		if (v == KJ_B64STD)
			dst[o++] = '=';
	}
	dst[o] = '\0';
	return 0;
}

char *
kj_b64_encode_alloc(enum kj_b64_variant v, const uint8_t *src, size_t n)
{
	size_t sz = kj_b64_enc_len(v, n) + 1;
	char *r = malloc(sz);

	if (r != NULL)
		(void)kj_b64_encode(v, src, n, r, sz);
	return r;
}

int
kj_b64_decode(enum kj_b64_variant v, const char *src, size_t len, uint8_t **out, size_t *out_len)
{
	uint8_t *buf = NULL;
	size_t data_len = len, i, o = 0, rem, cap = 0;
	uint32_t w = 0;
	int rc = -1;

	*out = NULL;
	*out_len = 0;
	if (v == KJ_B64STD) {
		if (len % 4 != 0)
			goto out;
		if (len >= 1 && src[len - 1] == '=')
			data_len--;
		if (len >= 2 && src[len - 2] == '=')
			data_len--;
	}
	rem = data_len % 4;
	if (rem == 1)
		goto out;
	cap = data_len / 4 * 3 + (rem ? rem - 1 : 0) + 1;
	buf = malloc(cap);
	if (buf == NULL)
		goto out;
	for (i = 0; i < data_len; i++) {
		int c = kj_b64_val(v, src[i]);

		if (c < 0)
			goto out;
		w = w << 6 | (uint32_t)c;
		if (i % 4 == 3) {
			buf[o++] = (uint8_t)(w >> 16);
			buf[o++] = (uint8_t)(w >> 8);
			buf[o++] = (uint8_t)w;
			w = 0;
		}
	}
	if (rem == 2) {
		if ((w & 0xf) != 0) /* non-canonical trailing bits */
			goto out;
		buf[o++] = (uint8_t)(w >> 4);
	} else if (rem == 3) {
		if ((w & 0x3) != 0)
			goto out;
		buf[o++] = (uint8_t)(w >> 10);
		buf[o++] = (uint8_t)(w >> 2);
	}
	buf[o] = '\0';
	*out = buf;
	*out_len = o;
	buf = NULL;
	rc = 0;
out:
	if (buf != NULL) { /* may hold a partly decoded secret */
		explicit_bzero(buf, cap);
		free(buf);
	}
	return rc;
}
