/* Shared by tests/oom.c and tests/oom_alloc.c: when to fail an allocation. */
#ifndef KJ_OOM_CTL_H
#define KJ_OOM_CTL_H

#include <execinfo.h>
#include <stdlib.h>

struct kj_oom_ctl {
	int armed;
	long n_alloc;    /* allocations seen while armed */
	long fail_at;    /* fail exactly this one (1-based); 0: none */
	long every;      /* fail every Nth; 0: none */
	long n_failed;   /* failures injected */
	long n_ours;     /* ...of them in the module's own code (not jansson or OpenSSL) */
	int shield;      /* inside json_loadb: allocations do not fail (see tests/oom.c) */
};

static inline int
kj_oom_should_fail(struct kj_oom_ctl *c, int ours)
{
	if (!c->armed || c->shield)
		return 0;
	c->n_alloc++;
	if ((c->fail_at > 0 && c->n_alloc == c->fail_at) || (c->every > 0 && c->n_alloc % c->every == 0)) {
		c->n_failed++;
		c->n_ours += ours;
		/* KJ_OOM_TRACE=N: the stack of the Nth allocation, when it fails. */
		if (getenv("KJ_OOM_TRACE") != NULL && atol(getenv("KJ_OOM_TRACE")) == c->n_alloc) {
			void *bt[32];

			backtrace_symbols_fd(bt, backtrace(bt, 32), 2);
		}
		return 1;
	}
	return 0;
}

#endif
