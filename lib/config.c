/* One option setter for defaults, the config file and module arguments. */
#include "config.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"

enum kj_opt_type { KJ_OPT_STR, KJ_OPT_INT, KJ_OPT_BOOL, KJ_OPT_KEYS, KJ_OPT_ISSUERS, KJ_OPT_PAM };

struct kj_opt {
	const char *name;
	enum kj_opt_type type;
	size_t offset; /* into struct kj_config */
	size_t size;   /* buffer size for strings */
	int64_t min, max;
	int64_t scale; /* config unit to stored unit, for ints */
};

#define KJ_STR(n, f) { n, KJ_OPT_STR, offsetof(struct kj_config, f), sizeof(((struct kj_config *)0)->f), 0, 0, 0 }
#define KJ_INT(n, f, lo, hi, sc) { n, KJ_OPT_INT, offsetof(struct kj_config, f), 0, lo, hi, sc }
#define KJ_BOOL(n, f) { n, KJ_OPT_BOOL, offsetof(struct kj_config, f), 0, 0, 1, 1 }

static const struct kj_opt kj_opts[] = {
	{ "key_id", KJ_OPT_KEYS, 0, 0, 0, 0, 0 },
	{ "issuer", KJ_OPT_ISSUERS, 0, 0, 0, 0, 0 },
	KJ_STR("audience", audience),
	KJ_STR("region", region),
	KJ_STR("endpoint", endpoint),
	KJ_STR("user_claim", user_claim),
	KJ_STR("user_map", user_map),
	KJ_STR("credentials_file", credentials_file),
	KJ_STR("profile", profile),
	KJ_STR("config", config_file),
	KJ_INT("leeway", leeway, 0, 600, 1),
	KJ_INT("max_ttl", max_ttl, 1, 30 * 86400, 1),
	KJ_INT("timeout", timeout_ms, 1, 60, 1000),
	KJ_INT("cache_ttl", cache_ttl, 0, 86400, 1),
	KJ_INT("cache_max", cache_max, 1, 100000, 1),
	KJ_STR("replay_cache", replay_cache),
	KJ_INT("replay_cache_max", replay_cache_max, 1, 1000000, 1),
	KJ_BOOL("debug", debug),
	KJ_BOOL("allow_root", allow_root),
	KJ_BOOL("fips", fips),
	KJ_BOOL("imds_v1", imds_v1),
	KJ_STR("ca_file", ca_file),
	KJ_STR("ca_path", ca_path),
	KJ_STR("proxy", proxy),
	KJ_STR("imds_endpoint", imds_endpoint),
	KJ_STR("sts_endpoint", sts_endpoint),
	KJ_STR("role_arn", role_arn),
	KJ_STR("web_identity_token_file", web_identity_token_file),
	/* Read by pam_get_authtok itself; accepted so they are not "unknown". */
	{ "use_first_pass", KJ_OPT_PAM, 0, 0, 0, 0, 0 },
	{ "try_first_pass", KJ_OPT_PAM, 0, 0, 0, 0, 0 },
	{ "use_authtok", KJ_OPT_PAM, 0, 0, 0, 0, 0 },
};

void
kj_config_defaults(struct kj_config *c)
{
	memset(c, 0, sizeof(*c));
	(void)kj_strlcpy(c->user_claim, "sub", sizeof(c->user_claim));
	(void)kj_strlcpy(c->profile, "default", sizeof(c->profile));
	c->leeway = 60;
	c->max_ttl = 3600;
	c->timeout_ms = 5000;
	c->cache_ttl = 600;
	c->cache_max = 256;
	c->replay_cache_max = 10000;
}

int
kj_arn_region(const char *arn, char *region, size_t size)
{
	/* arn:PARTITION:kms:REGION:ACCOUNT:key/ID */
	const char *p = arn;
	const char *f[6];
	size_t n = 0, rl;

	if (strncmp(arn, "arn:", 4) != 0)
		return -1;
	f[n++] = p;
	while (*p != '\0' && n < 6) {
		if (*p == ':')
			f[n++] = p + 1;
		p++;
	}
	if (n < 6 || strncmp(f[2], "kms:", 4) != 0 || strncmp(f[5], "key/", 4) != 0)
		return -1;
	rl = (size_t)(f[4] - f[3] - 1);
	if (rl == 0 || rl >= size)
		return -1;
	memcpy(region, f[3], rl);
	region[rl] = '\0';
	return 0;
}

/* Split a comma-separated list into fixed slots. */
static kj_err
kj_set_list(const char *name, const char *value, char *slots, size_t slot_size, unsigned max,
    unsigned *count, int is_key, struct kj_diag *d)
{
	const char *p = value;
	unsigned n = 0;

	for (;;) {
		const char *e = strchr(p, ',');
		size_t len = e != NULL ? (size_t)(e - p) : strlen(p);
		char *slot;
		char region[64];

		while (len > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			len--;
		}
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == 0)
			return kj_fail(d, KJ_ERR_CONFIG, "%s: empty list element", name);
		if (n >= max)
			return kj_fail(d, KJ_ERR_CONFIG, "%s: more than %u values", name, max);
		if (len >= slot_size)
			return kj_fail(d, KJ_ERR_CONFIG, "%s: value longer than %zu bytes", name,
			    slot_size - 1);
		slot = slots + (size_t)n * slot_size;
		memcpy(slot, p, len);
		slot[len] = '\0';
		/* Pinning compares KMS's answer, which is always a key ARN. */
		if (is_key && kj_arn_region(slot, region, sizeof(region)) != 0)
			return kj_fail(d, KJ_ERR_CONFIG,
			    "key_id: '%s' is not a key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID; aliases cannot be pinned)",
			    slot);
		n++;
		if (e == NULL)
			break;
		p = e + 1;
	}
	*count = n;
	return KJ_OK;
}

kj_err
kj_config_set(struct kj_config *c, const char *key, const char *value, struct kj_diag *d)
{
	const struct kj_opt *o = NULL;
	char *base = (char *)c;
	int64_t v;
	size_t i;

	for (i = 0; i < sizeof(kj_opts) / sizeof(kj_opts[0]); i++) {
		if (strcmp(kj_opts[i].name, key) == 0) {
			o = &kj_opts[i];
			break;
		}
	}
	if (o == NULL)
		return kj_fail(d, KJ_ERR_CONFIG, "unknown option '%s'", key);
	if (o->type == KJ_OPT_BOOL) {
		if (value == NULL || strcmp(value, "1") == 0 || strcmp(value, "yes") == 0 ||
		    strcmp(value, "true") == 0)
			*(int *)(void *)(base + o->offset) = 1;
		else if (strcmp(value, "0") == 0 || strcmp(value, "no") == 0 || strcmp(value, "false") == 0)
			*(int *)(void *)(base + o->offset) = 0;
		else
			return kj_fail(d, KJ_ERR_CONFIG, "%s: expected yes or no, got '%s'", key, value);
		return KJ_OK;
	}
	if (o->type == KJ_OPT_PAM) {
		if (value != NULL)
			return kj_fail(d, KJ_ERR_CONFIG, "%s takes no value", key);
		return KJ_OK;
	}
	if (value == NULL || *value == '\0')
		return kj_fail(d, KJ_ERR_CONFIG, "%s needs a value (%s=...)", key, key);
	switch (o->type) {
	case KJ_OPT_STR:
		if (kj_strlcpy(base + o->offset, value, o->size) != 0)
			return kj_fail(d, KJ_ERR_CONFIG, "%s: value longer than %zu bytes", key, o->size - 1);
		return KJ_OK;
	case KJ_OPT_INT:
		if (kj_parse_i64(value, o->min, o->max, &v) != 0)
			return kj_fail(d, KJ_ERR_CONFIG, "%s: expected a whole number from %lld to %lld, got '%s'",
			    key, (long long)o->min, (long long)o->max, value);
		*(int64_t *)(void *)(base + o->offset) = v * o->scale;
		return KJ_OK;
	case KJ_OPT_KEYS:
		return kj_set_list(key, value, &c->key_ids[0][0], KJ_ARN_MAX, KJ_MAX_KEYS, &c->n_keys, 1, d);
	case KJ_OPT_ISSUERS:
		return kj_set_list(key, value, &c->issuers[0][0], KJ_ISS_MAX, KJ_MAX_ISSUERS, &c->n_issuers, 0,
		    d);
	default:
		return kj_fail(d, KJ_ERR_INTERNAL, "option table broken for %s", key);
	}
}

/* Split "key=value" (or a bare "flag") in a private copy. */
static kj_err
kj_set_pair(struct kj_config *c, const char *arg, char sep, struct kj_diag *d)
{
	char buf[PATH_MAX + 64];
	char *eq, *key, *val = NULL, *e;

	if (kj_strlcpy(buf, arg, sizeof(buf)) != 0)
		return kj_fail(d, KJ_ERR_CONFIG, "option too long: %.40s...", arg);
	key = buf;
	eq = strchr(buf, sep);
	if (eq != NULL) {
		*eq = '\0';
		val = eq + 1;
		while (*val == ' ' || *val == '\t')
			val++;
	}
	e = key + strlen(key);
	while (e > key && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	if (*key == '\0')
		return kj_fail(d, KJ_ERR_CONFIG, "option without a name: '%s'", arg);
	return kj_config_set(c, key, val, d);
}

kj_err
kj_config_load_file(struct kj_config *c, const char *path, struct kj_diag *d)
{
	char *buf = NULL, *line;
	size_t len = 0, pos = 0;
	unsigned lineno = 0;
	kj_err err;

	err = kj_file_read_trusted(path, KJ_CONFIG_FILE_MAX, &buf, &len, d);
	if (err != KJ_OK)
		goto out;
	while ((line = kj_next_line(buf, len, &pos, &lineno)) != NULL) {
		if (*line == '\0' || *line == '#')
			continue;
		if (strncmp(line, "config", 6) == 0 && (line[6] == '=' || line[6] == ' ')) {
			err = kj_fail(d, KJ_ERR_CONFIG, "%s:%u: config= cannot be nested", path, lineno);
			goto out;
		}
		err = kj_set_pair(c, line, '=', d);
		if (err != KJ_OK) {
			char inner[KJ_REASON_MAX];

			(void)kj_strlcpy(inner, d->reason, sizeof(inner));
			err = kj_fail(d, err, "%s:%u: %s", path, lineno, inner);
			goto out;
		}
	}
	err = KJ_OK;
out:
	kj_free_secret(buf, len);
	return err;
}

kj_err
kj_config_from_args(struct kj_config *c, int argc, const char **argv, struct kj_diag *d)
{
	kj_err err;
	int i;

	for (i = 0; i < argc; i++) {
		if (strncmp(argv[i], "config=", 7) == 0) {
			err = kj_config_set(c, "config", argv[i] + 7, d);
			if (err != KJ_OK)
				return err;
		}
	}
	if (c->config_file[0] != '\0') {
		err = kj_config_load_file(c, c->config_file, d);
		if (err != KJ_OK)
			return err;
	}
	for (i = 0; i < argc; i++) {
		err = kj_set_pair(c, argv[i], '=', d);
		if (err != KJ_OK)
			return err;
	}
	return KJ_OK;
}

static int
kj_is_loopback_host(const char *host, size_t len)
{
	if ((len == 9 && strncmp(host, "localhost", 9) == 0) ||
	    (len == 5 && strncmp(host, "[::1]", 5) == 0))
		return 1;
	/* 127.0.0.0/8 in dotted form only */
	if (len >= 9 && strncmp(host, "127.", 4) == 0) {
		size_t i, dots = 0;

		for (i = 0; i < len; i++) {
			if (host[i] == '.')
				dots++;
			else if (host[i] < '0' || host[i] > '9')
				return 0;
		}
		return dots == 3;
	}
	return 0;
}

static kj_err
kj_parse_endpoint(struct kj_config *c, struct kj_diag *d)
{
	const char *e = c->endpoint, *auth, *slash, *colon, *p;
	size_t alen, hlen;
	int https;

	if (strncmp(e, "https://", 8) == 0) {
		https = 1;
		auth = e + 8;
	} else if (strncmp(e, "http://", 7) == 0) {
		https = 0;
		auth = e + 7;
	} else {
		return kj_fail(d, KJ_ERR_CONFIG, "endpoint: must start with https:// (got '%s')", e);
	}
	slash = strchr(auth, '/');
	alen = slash != NULL ? (size_t)(slash - auth) : strlen(auth);
	if (slash != NULL && strcmp(slash, "/") != 0)
		return kj_fail(d, KJ_ERR_CONFIG, "endpoint: no path, query or fragment allowed ('%s')", e);
	if (alen == 0)
		return kj_fail(d, KJ_ERR_CONFIG, "endpoint: no host in '%s'", e);
	for (p = auth; p < auth + alen; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '.' || *p == '-' || *p == ':' || *p == '[' || *p == ']'))
			return kj_fail(d, KJ_ERR_CONFIG, "endpoint: bad character in host of '%s'", e);
	}
	/* host without port: for IPv6 up to ']', else up to the last ':' */
	if (auth[0] == '[') {
		const char *rb = memchr(auth, ']', alen);

		if (rb == NULL)
			return kj_fail(d, KJ_ERR_CONFIG, "endpoint: unterminated [ in '%s'", e);
		hlen = (size_t)(rb - auth) + 1;
	} else {
		colon = memchr(auth, ':', alen);
		hlen = colon != NULL ? (size_t)(colon - auth) : alen;
	}
	if (hlen < alen) {
		int64_t port;
		char pbuf[8];
		size_t plen = alen - hlen - 1;

		if (auth[hlen] != ':' || plen == 0 || plen >= sizeof(pbuf))
			return kj_fail(d, KJ_ERR_CONFIG, "endpoint: bad port in '%s'", e);
		memcpy(pbuf, auth + hlen + 1, plen);
		pbuf[plen] = '\0';
		if (kj_parse_i64(pbuf, 1, 65535, &port) != 0)
			return kj_fail(d, KJ_ERR_CONFIG, "endpoint: bad port in '%s'", e);
	}
	if (!https && !kj_is_loopback_host(auth, hlen))
		return kj_fail(d, KJ_ERR_CONFIG,
		    "endpoint: plain http:// is only allowed to loopback hosts (127.0.0.0/8, [::1], localhost)");
	if (alen >= sizeof(c->host_header))
		return kj_fail(d, KJ_ERR_CONFIG, "endpoint: too long");
	memcpy(c->host_header, auth, alen);
	c->host_header[alen] = '\0';
	if (kj_fmt(c->url, sizeof(c->url), "%s://%s/", https ? "https" : "http", c->host_header) != 0)
		return kj_fail(d, KJ_ERR_CONFIG, "endpoint: too long");
	return KJ_OK;
}

kj_err
kj_config_finish(struct kj_config *c, struct kj_diag *d)
{
	const char *p;

	if (c->n_keys == 0)
		return kj_fail(d, KJ_ERR_CONFIG, "key_id is required (the allowed KMS key ARNs)");
	if (c->n_issuers == 0)
		return kj_fail(d, KJ_ERR_CONFIG, "issuer is required (the allowed iss values)");
	if (c->audience[0] == '\0')
		return kj_fail(d, KJ_ERR_CONFIG, "audience is required (this host's aud value)");
	if (c->region[0] == '\0' && kj_arn_region(c->key_ids[0], c->region, sizeof(c->region)) != 0)
		return kj_fail(d, KJ_ERR_CONFIG, "region: cannot derive it from key_id; set region=");
	for (p = c->region; *p != '\0'; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
			return kj_fail(d, KJ_ERR_CONFIG, "region: '%s' is not a region name", c->region);
	}
	for (p = c->user_claim; *p != '\0'; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '_' || *p == '-' || *p == ':' || *p == '.'))
			return kj_fail(d, KJ_ERR_CONFIG, "user_claim: '%s' is not a claim name", c->user_claim);
	}
	if (c->endpoint[0] == '\0') {
		/* FIPS: another host, still signed as service "kms". */
		if (kj_fmt(c->host_header, sizeof(c->host_header), "kms%s.%s.amazonaws.com",
		    c->fips ? "-fips" : "", c->region) != 0 ||
		    kj_fmt(c->url, sizeof(c->url), "https://%s/", c->host_header) != 0)
			return kj_fail(d, KJ_ERR_CONFIG, "region: too long");
		return KJ_OK;
	}
	return kj_parse_endpoint(c, d);
}
