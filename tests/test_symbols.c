/* The module exports only the PAM entry points (pam_kmsjwt.map): dlopen it
 * and look symbols up the way libpam does.  Argument: the module's path. */
#include <dlfcn.h>
#include <stdio.h>

#include "check.h"

int
main(int argc, char **argv)
{
	static const char *const exported[] = { "pam_sm_authenticate", "pam_sm_setcred", "pam_sm_acct_mgmt" };
	/* Library and module internals that must stay local. */
	static const char *const hidden[] = { "kj_verify", "kj_envelope_open", "kj_err_to_pam", "kj_fail",
		"kj_token_parse", "kj_kms_call", "kj_authtok_add", "kj_config_set", "kj_read_parts",
		"kj_b64_encode_alloc", "pam_sm_open_session", "pam_sm_chauthtok" };
	void *h;
	size_t i;

	if (argc != 2) {
		fprintf(stderr, "usage: test_symbols MODULE.so\n");
		return 2;
	}
	h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	CHECK(h != NULL, "dlopen %s: %s", argv[1], dlerror());
	if (h == NULL)
		DONE("symbols");
	for (i = 0; i < sizeof(exported) / sizeof(exported[0]); i++)
		CHECK(dlsym(h, exported[i]) != NULL, "%s is not exported", exported[i]);
	for (i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++)
		CHECK(dlsym(h, hidden[i]) == NULL, "%s is visible", hidden[i]);
	dlclose(h);
	DONE("symbols");
}
