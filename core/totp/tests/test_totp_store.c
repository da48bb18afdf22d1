/*
 * test_totp_store.c - the encrypted TOTP store and the MFA tickets on a
 * real file system: round trip, replay, tampered, swapped, truncated,
 * empty, symlinked and badly owned files, wrong host key, scratch codes,
 * concurrent checks of one code, and ticket validity.
 */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "core/totp/totp.h"

#define NOW ((time_t)1800000000)

struct fx {
	char dir[64];
	char sec[96];
	char key[96];
	char tix[96];
	struct totp_store *st;
	struct totp_enrollment *alice;
};

static char *
path_in(const struct fx *f, const char *name)
{
	static char p[256];

	(void)snprintf(p, sizeof(p), "%s/%s", f->sec, name);
	return p;
}

static void
code_for(const struct totp_enrollment *e, time_t t, char out[7])
{
	assert_int_equal(
	    totp_generate(e->secret, TOTP_SECRET_BYTES, t / 30, 30, 6, out, 7),
	    PG_OK);
}

/* A store with "alice" enrolled and confirmed at step NOW/30. */
static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char c[7];

	assert_non_null(f);
	(void)snprintf(f->dir, sizeof(f->dir), "/tmp/pg-totp-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	(void)snprintf(f->sec, sizeof(f->sec), "%s/secrets", f->dir);
	(void)snprintf(f->key, sizeof(f->key), "%s/host.key", f->dir);
	(void)snprintf(f->tix, sizeof(f->tix), "%s/tickets", f->dir);
	assert_int_equal(totp_hostkey_generate(f->key), PG_OK);
	assert_int_equal(totp_store_open(f->sec, f->key, 1, &f->st), PG_OK);
	assert_int_equal(
	    totp_store_enroll(f->st, "alice", 0, NOW, 6, 30, &f->alice), PG_OK);
	code_for(f->alice, NOW, c);
	assert_int_equal(totp_store_confirm(f->st, "alice", c, NOW, 1), PG_OK);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	totp_store_free(f->st);
	totp_enrollment_free(f->alice);
	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void
hostkey_file(void **state)
{
	struct fx *f = *state;
	struct stat st;

	assert_int_equal(stat(f->key, &st), 0);
	assert_int_equal(st.st_size, TOTP_HOSTKEY_BYTES);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(totp_hostkey_generate(f->key), PG_ERR_EXISTS);
	assert_int_equal(stat(f->key, &st), 0);
	assert_int_equal(st.st_size, TOTP_HOSTKEY_BYTES);
}

static void
round_trip(void **state)
{
	struct fx *f = *state;
	struct totp_status s;
	enum totp_method how;
	char c[7];

	assert_int_equal(totp_store_status(f->st, "alice", &s), PG_OK);
	assert_int_equal(s.state, TOTP_STATE_ACTIVE);
	assert_int_equal(s.last_step, NOW / 30);
	assert_int_equal(s.scratch_left, TOTP_SCRATCH_COUNT);
	/* The confirming code is spent; the next step's code works once. */
	code_for(f->alice, NOW, c);
	assert_int_equal(
	    totp_store_check(f->st, "alice", c, NOW, 1, &how), PG_ERR_REPLAY);
	assert_int_equal(how, TOTP_BY_NONE);
	code_for(f->alice, NOW + 30, c);
	assert_int_equal(
	    totp_store_check(f->st, "alice", c, NOW + 30, 1, &how), PG_OK);
	assert_int_equal(how, TOTP_BY_CODE);
	assert_int_equal(totp_store_check(f->st, "alice", c, NOW + 30, 1, &how),
	    PG_ERR_REPLAY);
	/* A code from two steps ago, and a wrong one. */
	code_for(f->alice, NOW + 120 - 60, c);
	assert_int_equal(
	    totp_store_check(f->st, "alice", c, NOW + 120, 1, NULL),
	    PG_ERR_BADCODE);
	assert_int_equal(
	    totp_store_check(f->st, "alice", "000000", NOW + 120, 1, NULL),
	    PG_ERR_BADCODE);
	assert_int_equal(totp_store_status(f->st, "alice", &s), PG_OK);
	assert_int_equal(s.last_step, NOW / 30 + 1);
	assert_int_equal(s.last_used, NOW + 30);
	assert_int_equal(totp_store_check(f->st, "nobody", c, NOW, 1, NULL),
	    PG_ERR_NOTFOUND);
	assert_int_equal(totp_store_status(f->st, "nobody", &s), PG_OK);
	assert_int_equal(s.state, TOTP_STATE_NONE);
}

static void
pending_and_reset(void **state)
{
	struct fx *f = *state;
	struct totp_enrollment *e = NULL, *e2 = NULL;
	char c[7];

	assert_int_equal(totp_store_enroll(f->st, "alice", 0, NOW, 6, 30, &e),
	    PG_ERR_EXISTS);
	assert_null(e);
	assert_int_equal(
	    totp_store_enroll(f->st, "bob", 0, NOW, 6, 30, &e), PG_OK);
	code_for(e, NOW, c);
	/* Pending: not usable for login, even with the right code. */
	assert_int_equal(
	    totp_store_check(f->st, "bob", c, NOW, 1, NULL), PG_ERR_PENDING);
	if (strcmp(c, "000000") != 0)
		assert_int_equal(
		    totp_store_confirm(f->st, "bob", "000000", NOW, 1),
		    PG_ERR_BADCODE);
	assert_int_equal(
	    totp_store_enroll(f->st, "bob", 1, NOW, 6, 30, &e2), PG_OK);
	assert_memory_not_equal(e->secret, e2->secret, TOTP_SECRET_BYTES);
	/* The old secret is gone. */
	assert_int_equal(
	    totp_store_confirm(f->st, "bob", c, NOW, 1), PG_ERR_BADCODE);
	code_for(e2, NOW, c);
	assert_int_equal(totp_store_confirm(f->st, "bob", c, NOW, 1), PG_OK);
	assert_int_equal(
	    totp_store_confirm(f->st, "bob", c, NOW, 1), PG_ERR_INVAL);
	totp_enrollment_free(e);
	totp_enrollment_free(e2);
	assert_int_equal(
	    totp_store_enroll(f->st, "x", 0, NOW, 5, 30, &e), PG_ERR_INVAL);
	assert_int_equal(
	    totp_store_enroll(f->st, "", 0, NOW, 6, 30, &e), PG_ERR_INVAL);
}

/* Reads P into BUF, which holds CAP bytes; a longer file fails the test
 * rather than overrunning BUF. */
static void
read_file(const char *p, uint8_t *buf, size_t cap, size_t *len)
{
	FILE *fp = fopen(p, "rb");

	assert_non_null(fp);
	*len = fread(buf, 1, cap, fp);
	assert_int_equal(fgetc(fp), EOF);
	fclose(fp);
}

static void
write_file(const char *p, const uint8_t *buf, size_t len, mode_t mode)
{
	int fd;

	(void)unlink(p);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* Checking ALICE gives WANT, the why says WHY, and the file is intact. */
static void
expect_fail(struct fx *f, int want, const char *why)
{
	char c[7];

	code_for(f->alice, NOW + 60, c);
	assert_int_equal(
	    totp_store_check(f->st, "alice", c, NOW + 60, 1, NULL), want);
	if (strstr(totp_store_why(f->st), why) == NULL)
		fail_msg("why \"%s\" lacks \"%s\"", totp_store_why(f->st), why);
}

static void
tampered_files(void **state)
{
	static const size_t offs[] = { 0, 7, 8, 20, 40, 200, 497 };
	struct fx *f = *state;
	uint8_t orig[4096], buf[4096];
	size_t len, i;
	char c[7];

	read_file(path_in(f, "alice.totp"), orig, sizeof(orig), &len);
	assert_int_equal(len, 498);
	for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		memcpy(buf, orig, len);
		buf[offs[i]] ^= 0x01;
		write_file(path_in(f, "alice.totp"), buf, len, 0600);
		expect_fail(f, PG_ERR_CORRUPT,
		    offs[i] < 8 ? "not a photoguard" : "does not authenticate");
		/* The bad file is left as it was for the admin to see. */
		read_file(path_in(f, "alice.totp"), buf + 2048,
		    sizeof(buf) - 2048, &len);
		assert_int_equal(buf[offs[i]], buf[2048 + offs[i]]);
	}
	write_file(path_in(f, "alice.totp"), orig, len, 0600);
	write_file(path_in(f, "alice.totp"), orig, 0, 0600);
	expect_fail(f, PG_ERR_CORRUPT, "empty");
	write_file(path_in(f, "alice.totp"), orig, 100, 0600);
	expect_fail(f, PG_ERR_CORRUPT, "truncated");
	memcpy(buf, orig, len);
	buf[len] = 0;
	write_file(path_in(f, "alice.totp"), buf, len + 1, 0600);
	expect_fail(f, PG_ERR_CORRUPT, "499 bytes");
	/* Restored, it works again: nothing was lost. */
	write_file(path_in(f, "alice.totp"), orig, len, 0600);
	code_for(f->alice, NOW + 60, c);
	assert_int_equal(
	    totp_store_check(f->st, "alice", c, NOW + 60, 1, NULL), PG_OK);
}

static void
swapped_users(void **state)
{
	struct fx *f = *state;
	struct totp_enrollment *e = NULL;
	uint8_t a[4096], b[4096];
	size_t al, bl;
	char c[7];

	assert_int_equal(
	    totp_store_enroll(f->st, "bob", 0, NOW, 6, 30, &e), PG_OK);
	code_for(e, NOW, c);
	assert_int_equal(totp_store_confirm(f->st, "bob", c, NOW, 1), PG_OK);
	read_file(path_in(f, "alice.totp"), a, sizeof(a), &al);
	read_file(path_in(f, "bob.totp"), b, sizeof(b), &bl);
	write_file(path_in(f, "alice.totp"), b, bl, 0600);
	write_file(path_in(f, "bob.totp"), a, al, 0600);
	expect_fail(f, PG_ERR_CORRUPT, "does not authenticate");
	/* Bob's own code against Alice's file under his name: refused. */
	code_for(e, NOW + 60, c);
	assert_int_equal(totp_store_check(f->st, "bob", c, NOW + 60, 1, NULL),
	    PG_ERR_CORRUPT);
	code_for(f->alice, NOW + 60, c);
	assert_int_equal(totp_store_check(f->st, "bob", c, NOW + 60, 1, NULL),
	    PG_ERR_CORRUPT);
	totp_enrollment_free(e);
}

static void
wrong_host_key(void **state)
{
	struct fx *f = *state;
	struct totp_store *other = NULL;
	char key2[128], c[7];

	(void)snprintf(key2, sizeof(key2), "%s/other.key", f->dir);
	assert_int_equal(totp_hostkey_generate(key2), PG_OK);
	assert_int_equal(totp_store_open(f->sec, key2, 0, &other), PG_OK);
	code_for(f->alice, NOW + 60, c);
	assert_int_equal(totp_store_check(other, "alice", c, NOW + 60, 1, NULL),
	    PG_ERR_CORRUPT);
	assert_non_null(strstr(totp_store_why(other), "host key"));
	totp_store_free(other);
}

static void
unsafe_files(void **state)
{
	struct fx *f = *state;
	struct totp_store *st = NULL;
	char p[256], lnk[256];

	(void)snprintf(p, sizeof(p), "%s", path_in(f, "alice.totp"));
	assert_int_equal(chmod(p, 0640), 0);
	expect_fail(f, PG_ERR_PERM, "group/world");
	assert_int_equal(chmod(p, 0604), 0);
	expect_fail(f, PG_ERR_PERM, "group/world");
	assert_int_equal(chmod(p, 0600), 0);
	if (geteuid() == 0) {
		assert_int_equal(chown(p, 65534, 65534), 0);
		expect_fail(f, PG_ERR_PERM, "wrong owner");
		assert_int_equal(chown(p, 0, 0), 0);
	} else {
		print_message("# SKIP wrong owner: needs root to chown\n");
	}
	/* A symlink in place of a record is refused, even to a good one. */
	assert_int_equal(rename(p, path_in(f, "real")), 0);
	(void)snprintf(lnk, sizeof(lnk), "%s", path_in(f, "alice.totp"));
	assert_int_equal(symlink("real", lnk), 0);
	expect_fail(f, PG_ERR_SYMLINK, "symbolic link");
	assert_int_equal(unlink(lnk), 0);
	assert_int_equal(mkdir(lnk, 0700), 0);
	expect_fail(f, PG_ERR_CORRUPT, "not a regular file");
	assert_int_equal(rmdir(lnk), 0);
	/* The directory and the key must be private too. */
	assert_int_equal(chmod(f->sec, 0750), 0);
	assert_int_equal(totp_store_open(f->sec, f->key, 0, &st), PG_ERR_PERM);
	assert_int_equal(chmod(f->sec, 0700), 0);
	assert_int_equal(chmod(f->key, 0644), 0);
	assert_int_equal(totp_store_open(f->sec, f->key, 0, &st), PG_ERR_PERM);
	assert_int_equal(chmod(f->key, 0600), 0);
	assert_int_equal(truncate(f->key, 31), 0);
	assert_int_equal(
	    totp_store_open(f->sec, f->key, 0, &st), PG_ERR_CORRUPT);
	assert_int_equal(totp_store_open(f->sec, "/nonexistent/key", 0, &st),
	    PG_ERR_NOTFOUND);
	assert_null(st);
}

static void
scratch_codes(void **state)
{
	struct fx *f = *state;
	struct totp_status s;
	enum totp_method how;
	char up[16], norm[TOTP_SCRATCH_CHARS + 1];
	size_t i;

	for (i = 0; i < sizeof(up) - 1 && f->alice->scratch[0][i]; i++)
		up[i] = (char)(f->alice->scratch[0][i] >= 'a'
		        ? f->alice->scratch[0][i] - 32
		        : f->alice->scratch[0][i]);
	up[i] = '\0';
	assert_int_equal(
	    totp_store_check(f->st, "alice", up, NOW, 1, &how), PG_OK);
	assert_int_equal(how, TOTP_BY_SCRATCH);
	/* Single use, with or without the dash. */
	assert_int_equal(totp_store_check(f->st, "alice", f->alice->scratch[0],
	                     NOW, 1, &how),
	    PG_ERR_BADCODE);
	assert_int_equal(
	    totp_scratch_normalize(f->alice->scratch[0], norm, sizeof(norm)),
	    PG_OK);
	assert_int_equal(strlen(norm), TOTP_SCRATCH_CHARS);
	assert_int_equal(totp_store_check(f->st, "alice", norm, NOW, 1, &how),
	    PG_ERR_BADCODE);
	assert_int_equal(totp_store_check(f->st, "alice", f->alice->scratch[9],
	                     NOW, 1, &how),
	    PG_OK);
	assert_int_equal(totp_store_status(f->st, "alice", &s), PG_OK);
	assert_int_equal(s.scratch_left, TOTP_SCRATCH_COUNT - 2);
	assert_int_equal(
	    totp_scratch_normalize("abcde-fghij", norm, sizeof(norm)),
	    PG_ERR_BADCODE); /* 'i' is not in the alphabet */
	assert_int_equal(
	    totp_scratch_normalize("abcdefghjkm", norm, sizeof(norm)),
	    PG_ERR_BADCODE);
	assert_int_equal(
	    totp_scratch_normalize("abcd-efghjk", norm, sizeof(norm)),
	    PG_ERR_BADCODE);
	assert_int_equal(
	    totp_scratch_normalize("ABCDE-FGHJK", norm, sizeof(norm)), PG_OK);
	assert_string_equal(norm, "abcdefghjk");
	assert_int_equal(
	    totp_store_check(f->st, "alice", "abcde-fghjk", NOW, 1, &how),
	    PG_ERR_BADCODE);
}

/* 50 processes check the same fresh code at once: exactly one wins. */
static void
parallel_same_code(void **state)
{
	struct fx *f = *state;
	pid_t pids[50];
	int i, ok = 0, replay = 0, status;
	char c[7];

	code_for(f->alice, NOW + 30, c);
	for (i = 0; i < 50; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct totp_store *st = NULL;
			int r = totp_store_open(f->sec, f->key, 0, &st);

			if (r == PG_OK)
				r = totp_store_check(
				    st, "alice", c, NOW + 30, 1, NULL);
			_exit(r == PG_OK ? 0 : r == PG_ERR_REPLAY ? 1 : 2);
		}
	}
	for (i = 0; i < 50; i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		ok += WEXITSTATUS(status) == 0;
		replay += WEXITSTATUS(status) == 1;
	}
	assert_int_equal(ok, 1);
	assert_int_equal(replay, 49);
}

/* Files are named as they always were: bytes outside [A-Za-z0-9_-] as
 * %XX, so no user name reaches outside the directory or another's file. */
static void
names_on_disk(void **state)
{
	struct fx *f = *state;
	struct totp_enrollment *e = NULL;
	char long_user[TOTP_USER_MAX + 2];
	struct stat st;

	assert_int_equal(
	    totp_store_enroll(f->st, "../a.b", 0, NOW, 6, 30, &e), PG_OK);
	totp_enrollment_free(e);
	assert_int_equal(lstat(path_in(f, "%2E%2E%2Fa%2Eb.totp"), &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_not_equal(lstat(path_in(f, "../a.b.totp"), &st), 0);
	memset(long_user, 'u', sizeof(long_user) - 1);
	long_user[TOTP_USER_MAX + 1] = '\0';
	e = NULL;
	assert_int_equal(totp_store_enroll(f->st, long_user, 0, NOW, 6, 30, &e),
	    PG_ERR_TOOBIG);
	assert_null(e);
}

/* The entries of the store's directory, "." and ".." left out. */
static int
entries(const struct fx *f)
{
	DIR *d = opendir(f->sec);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n += strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0;
	closedir(d);
	return n;
}

/*
 * USER through every call that takes one gives WANT with WHY, and leaves
 * no file behind; the files store does not count failures (PG_ERR_INVAL
 * before the name is looked at).
 */
static void
refused_user(struct fx *f, const char *user, int want, const char *why)
{
	struct totp_enrollment *e = (struct totp_enrollment *)(uintptr_t)1;
	struct totp_status s;
	enum totp_method how = TOTP_BY_SCRATCH;
	unsigned n = 1, run = 1;
	int files = entries(f);
	char c[7];

	code_for(f->alice, NOW + 60, c);
#define REFUSED(call)                                                          \
	do {                                                                   \
		assert_int_equal((call), want);                                \
		if (strstr(totp_store_why(f->st), why) == NULL)                \
			fail_msg("%s: why \"%s\" lacks \"%s\"", #call,         \
			    totp_store_why(f->st), why);                       \
	} while (0)
	REFUSED(totp_store_enroll(f->st, user, 1, NOW, 6, 30, &e));
	assert_null(e);
	REFUSED(totp_store_confirm(f->st, user, c, NOW + 60, 1));
	REFUSED(totp_store_check(f->st, user, c, NOW + 60, 1, &how));
	assert_int_equal(how, TOTP_BY_NONE);
	REFUSED(totp_store_status(f->st, user, &s));
	assert_int_equal(s.state, TOTP_STATE_NONE);
#undef REFUSED
	assert_int_equal(
	    totp_store_failures_add(f->st, user, NOW, 60, &n, &run),
	    PG_ERR_INVAL);
	assert_int_equal(totp_store_failures_reset(f->st, user), PG_ERR_INVAL);
	assert_int_equal(entries(f), files);
}

/* The bound on user names is the same as for a wrapped store. */
static void
bad_user_names(void **state)
{
	struct fx *f = *state;
	struct totp_enrollment *e = NULL;
	struct totp_status s;
	char name[TOTP_USER_MAX + 2], c[7];

	memset(name, 'u', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	refused_user(f, name, PG_ERR_TOOBIG, "user name longer than 64 bytes");
	refused_user(f, "", PG_ERR_INVAL, "empty user name");
	refused_user(f, NULL, PG_ERR_INVAL, "empty user name");
	refused_user(
	    f, "ev\nil", PG_ERR_INVAL, "user name holds a control byte");
	refused_user(
	    f, "\033[2J", PG_ERR_INVAL, "user name holds a control byte");
	refused_user(
	    f, "del\177", PG_ERR_INVAL, "user name holds a control byte");
	/* A name at the limit enrolls, and alice was never touched. */
	name[TOTP_USER_MAX] = '\0';
	assert_int_equal(
	    totp_store_enroll(f->st, name, 0, NOW, 6, 30, &e), PG_OK);
	assert_int_equal(totp_store_status(f->st, name, &s), PG_OK);
	assert_int_equal(s.state, TOTP_STATE_PENDING);
	totp_enrollment_free(e);
	code_for(f->alice, NOW + 60, c);
	assert_int_equal(
	    totp_store_check(f->st, "alice", c, NOW + 60, 1, NULL), PG_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(hostkey_file, setup, teardown),
		cmocka_unit_test_setup_teardown(round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(names_on_disk, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    bad_user_names, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    pending_and_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    tampered_files, setup, teardown),
		cmocka_unit_test_setup_teardown(swapped_users, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    wrong_host_key, setup, teardown),
		cmocka_unit_test_setup_teardown(unsafe_files, setup, teardown),
		cmocka_unit_test_setup_teardown(scratch_codes, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    parallel_same_code, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
