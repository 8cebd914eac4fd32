/* Joining a token answered in parts, and cutting one into parts. */
#include "authtok.h"

#include <stdint.h>
#include <string.h>

void
kj_authtok_init(struct kj_authtok *a)
{
	memset(a, 0, sizeof(*a));
}

void
kj_authtok_wipe(struct kj_authtok *a)
{
	explicit_bzero(a, sizeof(*a));
}

kj_err
kj_authtok_add(struct kj_authtok *a, const char *part, struct kj_diag *d)
{
	size_t n = strlen(part);
	unsigned no = a->parts + 1;
	int more = 0;

	if (no > KJ_PARTS_MAX)
		return kj_fail(d, KJ_ERR_TOKEN, "more than %d parts", KJ_PARTS_MAX);
	if (n > 0 && part[n - 1] == '\\') {
		more = 1;
		n--;
	}
	/* An empty part can only be a mistake or a probe: a part of nothing but
	 * a backslash would also keep the conversation going for free. */
	if (n == 0 && (more || no > 1))
		return kj_fail(d, KJ_ERR_TOKEN, "part %u is empty", no);
	if (n > KJ_TOKEN_MAX - a->len)
		return kj_fail(d, KJ_ERR_TOKEN, "token longer than %d bytes (%zu or more at part %u)",
		    KJ_TOKEN_MAX, a->len + n, no);
	memcpy(a->buf + a->len, part, n);
	a->len += n;
	a->buf[a->len] = '\0';
	a->parts = no;
	a->more = more;
	return KJ_OK;
}

int
kj_authtok_prompt(char *buf, size_t size, unsigned n)
{
	return kj_fmt(buf, size, "Token (part %u): ", n);
}

unsigned
kj_authtok_prompt_part(const char *prompt)
{
	static const char tag[] = "(part ";
	const char *p, *last = NULL;
	uint64_t v = 0;

	for (p = strstr(prompt, tag); p != NULL; p = strstr(p + 1, tag))
		last = p;
	if (last != NULL) {
		p = last + sizeof(tag) - 1;
		while (*p >= '0' && *p <= '9' && v <= KJ_PARTS_MAX)
			v = v * 10 + (uint64_t)(*p++ - '0');
		if (*p == ')' && v >= 1 && v <= KJ_PARTS_MAX)
			return (unsigned)v;
	}
	return strstr(prompt, "Token:") != NULL ? 1 : 0;
}

kj_err
kj_authtok_chunk(const char *tok, size_t len, unsigned n, size_t part_size, char *out,
    size_t out_size, struct kj_diag *d)
{
	size_t count, off, take;
	int more;

	if (len == 0)
		return kj_fail(d, KJ_ERR_TOKEN, "empty token");
	if (part_size == 0)
		return kj_fail(d, KJ_ERR_CONFIG, "part size must be positive");
	if (memchr(tok, '\\', len) != NULL)
		return kj_fail(d, KJ_ERR_TOKEN, "token contains a backslash");
	if (n == 0) {
		off = 0;
		take = len;
		more = 0;
	} else {
		count = (len + part_size - 1) / part_size;
		if (n > count)
			return kj_fail(d, KJ_ERR_TOKEN, "part %u asked, the token has %zu", n, count);
		off = (size_t)(n - 1) * part_size;
		take = len - off < part_size ? len - off : part_size;
		more = n < count;
	}
	if (take + (size_t)more + 1 > out_size)
		return kj_fail(d, KJ_ERR_TOKEN, "part does not fit in %zu bytes", out_size);
	memcpy(out, tok + off, take);
	if (more)
		out[take++] = '\\';
	out[take] = '\0';
	return KJ_OK;
}
