/* Kernel persistent-keyring cache (see cache.h for why). */
#include "cache.h"

#include <errno.h>
#include <keyutils.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Owner only: possessor and user bits, nothing for group or others. */
#define KJ_CACHE_PERM (KEY_POS_VIEW | KEY_POS_READ | KEY_POS_WRITE | KEY_POS_SEARCH | KEY_POS_SETATTR | \
	KEY_USR_VIEW | KEY_USR_READ | KEY_USR_WRITE | KEY_USR_SEARCH | KEY_USR_SETATTR)

/* Possession of the ring lasts only for one operation: a process that
 * later drops privileges (sudo before it runs a command) must not keep it. */
static void
kj_cache_release(key_serial_t ring)
{
	if (ring >= 0)
		(void)keyctl_unlink(ring, KEY_SPEC_PROCESS_KEYRING);
}

static key_serial_t
kj_cache_ring(struct kj_diag *d)
{
	long ring = keyctl_get_persistent(geteuid(), KEY_SPEC_PROCESS_KEYRING);

	if (ring < 0) {
		(void)kj_fail(d, KJ_ERR_UNAVAIL, "no persistent keyring: %s", strerror(errno));
		return -1;
	}
	return (key_serial_t)ring;
}

/* The kernel's word on who owns a key: "type;uid;gid;perm;description". */
static int
kj_key_owner_ok(key_serial_t id, const char *desc)
{
	char *info = NULL, *p, *q;
	int64_t uid;
	int ok = 0;

	if (keyctl_describe_alloc(id, &info) < 0)
		return 0;
	p = strchr(info, ';');
	q = p != NULL ? strchr(p + 1, ';') : NULL;
	if (p != NULL && q != NULL) {
		*q = '\0';
		ok = kj_parse_i64(p + 1, 0, UINT32_MAX, &uid) == 0 && (uid_t)uid == geteuid();
		*q = ';';
	}
	/* ...and that the description is exactly ours */
	if (ok) {
		size_t n = strlen(info), dl = strlen(desc);

		ok = n > dl && strcmp(info + n - dl, desc) == 0 && info[n - dl - 1] == ';';
	}
	free(info);
	return ok;
}

kj_err
kj_cache_get(const char *desc, uint8_t *buf, size_t size, size_t *len, struct kj_diag *d)
{
	key_serial_t ring, id;
	kj_err err;
	long n;

	*len = 0;
	ring = kj_cache_ring(d);
	if (ring < 0)
		return KJ_ERR_UNAVAIL;
	id = (key_serial_t)keyctl_search(ring, "user", desc, 0);
	if (id < 0) {
		err = kj_fail(d, KJ_ERR_UNAVAIL, "cache miss");
		goto out;
	}
	if (!kj_key_owner_ok(id, desc)) {
		err = kj_fail(d, KJ_ERR_UNAVAIL, "cache entry not owned by uid %u: ignored", (unsigned)geteuid());
		goto out;
	}
	n = keyctl_read(id, (char *)buf, size);
	if (n < 0 || (size_t)n > size) {
		explicit_bzero(buf, size);
		err = kj_fail(d, KJ_ERR_UNAVAIL, "cache entry unreadable");
		goto out;
	}
	*len = (size_t)n;
	err = KJ_OK;
out:
	kj_cache_release(ring);
	return err;
}

/* Live entries whose description starts with prefix. */
static unsigned
kj_cache_count(key_serial_t ring, const char *prefix)
{
	void *ids = NULL;
	long n = keyctl_read_alloc(ring, &ids);
	unsigned count = 0;
	long i;

	for (i = 0; n > 0 && i < n / (long)sizeof(key_serial_t); i++) {
		key_serial_t id;
		char *info = NULL, *desc;

		memcpy(&id, (char *)ids + (size_t)i * sizeof(id), sizeof(id));
		if (keyctl_describe_alloc(id, &info) < 0)
			continue;
		desc = strrchr(info, ';');
		if (desc != NULL && strncmp(desc + 1, prefix, strlen(prefix)) == 0)
			count++;
		free(info);
	}
	free(ids);
	return count;
}

kj_err
kj_cache_put(const char *desc, const char *prefix, const uint8_t *data, size_t len, unsigned ttl,
    unsigned max_entries, struct kj_diag *d)
{
	key_serial_t ring, id;

	kj_err err;

	ring = kj_cache_ring(d);
	if (ring < 0)
		return KJ_ERR_UNAVAIL;
	/* Full: add nothing until entries expire; live entries are kept. */
	if (kj_cache_count(ring, prefix) >= max_entries) {
		err = kj_fail(d, KJ_ERR_UNAVAIL, "cache full (%u entries)", max_entries);
		goto out;
	}
	id = add_key("user", desc, data, len, ring);
	if (id < 0) {
		err = kj_fail(d, KJ_ERR_UNAVAIL, "cannot add cache entry: %s", strerror(errno));
		goto out;
	}
	if (keyctl_setperm(id, KJ_CACHE_PERM) < 0 || keyctl_set_timeout(id, ttl) < 0) {
		(void)keyctl_invalidate(id);
		err = kj_fail(d, KJ_ERR_UNAVAIL, "cannot protect cache entry: %s", strerror(errno));
		goto out;
	}
	err = KJ_OK;
out:
	kj_cache_release(ring);
	return err;
}

void
kj_cache_drop(const char *desc)
{
	struct kj_diag d;
	key_serial_t ring = kj_cache_ring(&d), id;

	if (ring < 0)
		return;
	id = (key_serial_t)keyctl_search(ring, "user", desc, 0);
	if (id >= 0 && kj_key_owner_ok(id, desc))
		(void)keyctl_invalidate(id);
	kj_cache_release(ring);
}
