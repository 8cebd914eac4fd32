/* Error reasons, bounded strings, integer parsing, secret wiping. */
#include "kj.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

kj_err
kj_fail(struct kj_diag *d, kj_err err, const char *fmt, ...)
{
	va_list ap;

	if (d != NULL) {
		va_start(ap, fmt);
		(void)vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
		va_end(ap);
	}
	return err;
}

const char *
kj_err_name(kj_err err)
{
	switch (err) {
	case KJ_OK: return "ok";
	case KJ_ERR_NOMEM: return "out of memory";
	case KJ_ERR_CONFIG: return "configuration error";
	case KJ_ERR_TOKEN: return "malformed token";
	case KJ_ERR_CLAIMS: return "claims refused";
	case KJ_ERR_DENIED: return "KMS refused the token";
	case KJ_ERR_KEY_PIN: return "key not allowed";
	case KJ_ERR_PAYLOAD: return "payload refused";
	case KJ_ERR_USER: return "user refused";
	case KJ_ERR_USER_UNKNOWN: return "unknown user";
	case KJ_ERR_UNAVAIL: return "KMS unavailable";
	case KJ_ERR_INTERNAL: return "internal error";
	}
	return "unknown error";
}

void
kj_free_secret(void *p, size_t len)
{
	if (p == NULL)
		return;
	explicit_bzero(p, len);
	free(p);
}

void
kj_free_secret_str(char *s)
{
	if (s != NULL)
		kj_free_secret(s, strlen(s));
}

int
kj_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);

	if (size == 0)
		return -1;
	if (n >= size) {
		memcpy(dst, src, size - 1);
		dst[size - 1] = '\0';
		return -1;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

int
kj_fmt(char *dst, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(dst, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size)
		return -1;
	return 0;
}

char *
kj_strndup_checked(const char *s, size_t len)
{
	char *r;

	if (memchr(s, '\0', len) != NULL)
		return NULL;
	r = malloc(len + 1);
	if (r == NULL)
		return NULL;
	memcpy(r, s, len);
	r[len] = '\0';
	return r;
}

int
kj_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end = NULL;
	long long v;

	if (s == NULL || *s == '\0')
		return -1;
	/* strtoll accepts leading space and '+'; a config value must not. */
	if (!(*s == '-' || (*s >= '0' && *s <= '9')))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return -1;
	if (v < min || v > max)
		return -1;
	*out = (int64_t)v;
	return 0;
}

void
kj_sanitize(char *dst, size_t size, const char *src)
{
	static const char hexd[] = "0123456789abcdef";
	size_t o = 0;

	if (size == 0)
		return;
	if (src == NULL)
		src = "-";
	for (; *src != '\0'; src++) {
		unsigned char c = (unsigned char)*src;
		size_t need = (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') ? 1 : 4;

		if (o + need + 4 > size) { /* keep room for "..." and NUL */
			if (o + 4 <= size) {
				memcpy(dst + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (need == 1) {
			dst[o++] = (char)c;
		} else {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hexd[c >> 4];
			dst[o++] = hexd[c & 15];
		}
	}
	dst[o] = '\0';
}

void
kj_hex(char *dst, const uint8_t *src, size_t len)
{
	static const char hexd[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		dst[2 * i] = hexd[src[i] >> 4];
		dst[2 * i + 1] = hexd[src[i] & 15];
	}
	dst[2 * len] = '\0';
}
