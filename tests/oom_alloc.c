/* Linked into pam_kmsjwt_oom.so with -Wl,--wrap=malloc,calloc,realloc,strdup:
 * every allocation of the module's own code asks the test program
 * (tests/oom.c, which exports kj_oom_ctl) whether to fail. */
#include <dlfcn.h>
#include <jansson.h>
#include <stddef.h>
#include <stdlib.h>

#include "oom_ctl.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);

json_t *__real_json_loadb(const char *buf, size_t len, size_t flags, json_error_t *err);
json_t *__wrap_json_loadb(const char *buf, size_t len, size_t flags, json_error_t *err);

static struct kj_oom_ctl *
kj_oom_ctl_get(void)
{
	static struct kj_oom_ctl *ctl;

	if (ctl == NULL)
		ctl = dlsym(RTLD_DEFAULT, "kj_oom_ctl");
	return ctl;
}

static int
kj_oom_fail(void)
{
	struct kj_oom_ctl *ctl = kj_oom_ctl_get();

	return ctl != NULL && kj_oom_should_fail(ctl, 1);
}

/* jansson's parser mishandles its own allocation failures (tests/oom.c):
 * no failure is injected while it runs. */
json_t *
__wrap_json_loadb(const char *buf, size_t len, size_t flags, json_error_t *err)
{
	struct kj_oom_ctl *ctl = kj_oom_ctl_get();
	json_t *j;

	if (ctl != NULL)
		ctl->shield++;
	j = __real_json_loadb(buf, len, flags, err);
	if (ctl != NULL)
		ctl->shield--;
	return j;
}

void *
__wrap_malloc(size_t n)
{
	return kj_oom_fail() ? NULL : __real_malloc(n);
}

void *
__wrap_calloc(size_t n, size_t m)
{
	return kj_oom_fail() ? NULL : __real_calloc(n, m);
}

void *
__wrap_realloc(void *p, size_t n)
{
	return kj_oom_fail() ? NULL : __real_realloc(p, n);
}

char *
__wrap_strdup(const char *s)
{
	return kj_oom_fail() ? NULL : __real_strdup(s);
}
