/* Minimal test harness: CHECK counts, DONE prints "NAME: N passed, N failed". */
#ifndef KJ_CHECK_H
#define KJ_CHECK_H

#include <stdio.h>
#include <string.h>

static int kj_t_pass, kj_t_fail;

#define CHECK(cond, ...)                                                        \
	do {                                                                    \
		if (cond) {                                                     \
			kj_t_pass++;                                            \
		} else {                                                        \
			kj_t_fail++;                                            \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);    \
			fprintf(stderr, __VA_ARGS__);                           \
			fputc('\n', stderr);                                    \
		}                                                               \
	} while (0)

#define CHECK_CONTAINS(hay, needle)                                             \
	CHECK(strstr((hay), (needle)) != NULL, "\"%s\" does not contain \"%s\"", (hay), (needle))

#define DONE(name)                                                              \
	do {                                                                    \
		printf("%s: %d passed, %d failed\n", (name), kj_t_pass, kj_t_fail); \
		return kj_t_fail ? 1 : 0;                                       \
	} while (0)

#endif
