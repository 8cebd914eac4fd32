/* Tokens answered in parts (continuation). sudo refuses answers of 512
 * bytes or more and OpenSSH cuts them near 1 KB, so a longer token is sent
 * as parts: a part ending in a backslash means another part follows, and
 * the module asks for it with the prompt "Token (part N): ". The scheme is
 * stateless on the client: the askpass helper reads N from the prompt and
 * prints that chunk. A backslash is outside the token alphabet, so it can
 * never be part of a token. */
#ifndef KJ_AUTHTOK_H
#define KJ_AUTHTOK_H

#include <stddef.h>

#include "kj.h"
#include "token.h"

#define KJ_PART_SIZE 500    /* bytes of token per part the helper sends (+1 for '\') */
#define KJ_PARTS_MAX 64     /* bounds the conversation even if parts are tiny */
#define KJ_PROMPT_FIRST "Token: "

struct kj_authtok {
	char buf[KJ_TOKEN_MAX + 1];
	size_t len;
	unsigned parts; /* parts added so far */
	int more;       /* the last part ended in a backslash */
};

void kj_authtok_init(struct kj_authtok *a);

/* Add one answer as received. Sets a->more if it ended in a backslash.
 * Refuses (KJ_ERR_TOKEN) an empty part after a continuation, a part that is
 * only a backslash, more than KJ_PARTS_MAX parts and a total over
 * KJ_TOKEN_MAX. An empty first part without continuation is accepted here
 * (len 0) so the verifier refuses it with its own reason. */
kj_err kj_authtok_add(struct kj_authtok *a, const char *part, struct kj_diag *d);

/* Wipe the joined token. */
void kj_authtok_wipe(struct kj_authtok *a);

/* "Token (part N): " for N >= 2; 0, or -1 if it does not fit. */
int kj_authtok_prompt(char *buf, size_t size, unsigned n);

/* Which part a prompt asks for: N from the last "(part N)" in it, 1 if it
 * is the module's first prompt ("Token:", perhaps after a prefix such as
 * OpenSSH's "(user@host) "), 0 for any other prompt (a password prompt of a
 * program that cannot show the module's prompts: answer the whole token). */
unsigned kj_authtok_prompt_part(const char *prompt);

/* Part n (1-based) of tok cut into chunks of part_size bytes, with a
 * trailing backslash unless it is the last; n == 0 gives the whole token.
 * KJ_ERR_TOKEN if n is past the end or out does not fit it. */
kj_err kj_authtok_chunk(const char *tok, size_t len, unsigned n, size_t part_size, char *out,
    size_t out_size, struct kj_diag *d);

#endif
