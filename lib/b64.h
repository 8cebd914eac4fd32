/* Base64 (RFC 4648): url-safe without padding for tokens, standard with
 * padding for KMS JSON. Decoders are strict: one encoding per byte string. */
#ifndef KJ_B64_H
#define KJ_B64_H

#include <stddef.h>
#include <stdint.h>

enum kj_b64_variant { KJ_B64URL, KJ_B64STD };

/* Length of the encoding of n bytes, without NUL. */
size_t kj_b64_enc_len(enum kj_b64_variant v, size_t n);

/* Encode into dst (size dst_size, NUL-terminated). 0, or -1 if too small. */
int kj_b64_encode(enum kj_b64_variant v, const uint8_t *src, size_t n, char *dst, size_t dst_size);

/* Encode into a fresh heap string; NULL on OOM. */
char *kj_b64_encode_alloc(enum kj_b64_variant v, const uint8_t *src, size_t n);

/* Decode exactly len chars. Refuses foreign characters, whitespace, wrong
 * padding, impossible lengths and non-zero trailing bits. On success *out is
 * a heap buffer of *out_len bytes (plus a NUL not counted) the caller frees. */
int kj_b64_decode(enum kj_b64_variant v, const char *src, size_t len, uint8_t **out, size_t *out_len);

#endif
