/* Common definitions for the pam_kmsjwt internal library. */
#ifndef KJ_H
#define KJ_H

#include <stddef.h>
#include <stdint.h>

/* Every internal function returns one of these; pam_kmsjwt.c maps them to
 * PAM codes in exactly one place (kj_err_to_pam). */
typedef enum {
	KJ_OK = 0,
	KJ_ERR_NOMEM,        /* out of memory */
	KJ_ERR_CONFIG,       /* invalid module argument or config file */
	KJ_ERR_TOKEN,        /* malformed token or header */
	KJ_ERR_CLAIMS,       /* a claim is missing, mistyped or out of range */
	KJ_ERR_DENIED,       /* KMS refused the ciphertext (forged, wrong key, no access) */
	KJ_ERR_KEY_PIN,      /* KMS decrypted under a key that is not configured */
	KJ_ERR_PAYLOAD,      /* the decrypted payload is not acceptable */
	KJ_ERR_USER,         /* no acceptable local user for this token */
	KJ_ERR_USER_UNKNOWN, /* the mapped account does not exist */
	KJ_ERR_UNAVAIL,      /* KMS or credentials unreachable, timeout, throttled, 5xx */
	KJ_ERR_INTERNAL      /* anything that should not happen */
} kj_err;

/* A human-readable reason for the last failure, for the log and the CLI.
 * Never holds a secret. */
#define KJ_REASON_MAX 256
struct kj_diag {
	char reason[KJ_REASON_MAX];
};

kj_err kj_fail(struct kj_diag *d, kj_err err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
const char *kj_err_name(kj_err err);

/* Secrets are wiped before they are freed. */
void kj_free_secret(void *p, size_t len);
void kj_free_secret_str(char *s);

/* Bounded string helpers (no strcpy/sprintf in this code base). */
int kj_strlcpy(char *dst, const char *src, size_t size); /* 0, or -1 if truncated */
int kj_fmt(char *dst, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));            /* 0, or -1 if truncated */
char *kj_strndup_checked(const char *s, size_t len);      /* NULL on NUL byte or OOM */

/* Integer parsing with a range check: the whole string must be a decimal number. */
int kj_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);

/* Log-safe copy of an untrusted string: printable ASCII kept, the rest as \xHH,
 * truncated with "..." to fit. */
void kj_sanitize(char *dst, size_t size, const char *src);

void kj_hex(char *dst, const uint8_t *src, size_t len); /* dst has 2*len+1 bytes */

#endif
