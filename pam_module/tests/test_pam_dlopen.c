/*
 * test_pam_dlopen.c - loads the built module the way libpam does
 * (dlopen with RTLD_NOW, so an unresolved symbol fails here), resolves
 * its entry points and checks that nothing of the core leaks out.
 */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>
#include <security/pam_modules.h>

static void *handle;

static int
load(void **state)
{
	const char *root = getenv("PG_BUILD_ROOT");
	char path[4096];

	(void)state;
	if (root == NULL)
		root = ".";
	(void)snprintf(
	    path, sizeof(path), "%s/pam_module/pam_photoguard.so", root);
	handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (handle == NULL)
		print_error("dlopen %s: %s\n", path, dlerror());
	return handle == NULL ? -1 : 0;
}

static int
unload(void **state)
{
	(void)state;
	return handle != NULL ? dlclose(handle) : 0;
}

typedef int (*sm_fn)(pam_handle_t *, int, int, const char **);

static void
entry_points_resolve(void **state)
{
	static const char *const entry[] = { "pam_sm_authenticate",
		"pam_sm_setcred", "pam_sm_acct_mgmt", "pam_sm_open_session",
		"pam_sm_close_session" };
	sm_fn setcred;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(entry) / sizeof(entry[0]); i++)
		if (dlsym(handle, entry[i]) == NULL)
			fail_msg("%s is not exported", entry[i]);
	setcred = (sm_fn)(uintptr_t)dlsym(handle, "pam_sm_setcred");
	assert_non_null(setcred);
	assert_int_equal(setcred(NULL, 0, 0, NULL), PAM_SUCCESS);
}

static void
nothing_else_exported(void **state)
{
	static const char *const hidden[] = { "pam_sm_chauthtok", "totp_verify",
		"totp_store_open", "totp_store_check", "mfa_ticket_issue",
		"pgpam_opts_parse", "pgpam_config", "pgpam_begin", "pgpam_auth",
		"pgpam_account", "pg_strerror", "pg_read_file_at",
		"failcount_add", "lockout_lock", "audit_write", "dir_lookup",
		"offline_cache_get", "policy_login", "pg_policy_load",
		"pg_access_login" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++)
		if (dlsym(handle, hidden[i]) != NULL)
			fail_msg("%s is exported", hidden[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(entry_points_resolve),
		cmocka_unit_test(nothing_else_exported),
	};

	return cmocka_run_group_tests(tests, load, unload);
}
