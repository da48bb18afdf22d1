/*
 * test_mfa_ticket.c - MFA tickets bound to login sessions: auth leaves a
 * ticket pending that counts for nothing until the session its process
 * (or that process's parent) leads joins it; the last session out removes
 * it; a session whose leader ended without closing (a crash) no longer
 * holds it; a lockout removes it.  Files that do not parse are refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "core/totp/totp.h"
#include "core/totp/mfa_ticket_int.h"

struct fx {
	char dir[64];
	char tix[96];
	char file[160];
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	(void)snprintf(f->dir, sizeof(f->dir), "/tmp/pg-mfa-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	(void)snprintf(f->tix, sizeof(f->tix), "%s/tickets", f->dir);
	(void)snprintf(f->file, sizeof(f->file), "%s/alice.ticket", f->tix);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void
put(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, 0600), 0);
}

/* Auth then session open in one process, as login and sudo do. */
static void
login_logout(void **state)
{
	struct fx *f = *state;
	time_t now = time(NULL);

	assert_int_equal(mfa_ticket_valid(f->tix, "alice", now), 0);
	assert_int_equal(
	    mfa_ticket_issue(f->tix, "alice", now, 600, "h1"), PG_OK);
	/* Auth alone grants nothing: no session holds the ticket yet. */
	assert_int_equal(mfa_ticket_valid(f->tix, "alice", now), 0);
	assert_int_equal(
	    mfa_ticket_session_open(f->tix, "alice", now, getpid()), 1);
	assert_int_equal(mfa_ticket_valid(f->tix, "alice", now), 1);
	assert_int_equal(mfa_ticket_valid(f->tix, "alice", now + 599), 1);
	assert_int_equal(mfa_ticket_valid(f->tix, "alice", now + 600), 0);
	assert_int_equal(mfa_ticket_valid(f->tix, "bob", now), 0);
	/* Issued in the future (clock moved back): not valid. */
	assert_int_equal(mfa_ticket_valid(f->tix, "alice", now - 3600), 0);
	/* One auth, one session: a second open finds nothing pending. */
	assert_int_equal(
	    mfa_ticket_session_open(f->tix, "alice", now, getpid()), 0);
	/* Logout: the last session out removes the ticket. */
	assert_int_equal(
	    mfa_ticket_session_close(f->tix, "alice", getpid()), 1);
	assert_int_equal(access(f->file, F_OK), -1);
	assert_int_equal(mfa_ticket_valid(f->tix, "alice", now), 0);
	assert_int_equal(
	    mfa_ticket_session_close(f->tix, "alice", getpid()), 0);
}

/* A second login of the same user, in a child that is then killed. */
static void
crashed_session(void **state)
{
	struct fx *f = *state;
	time_t now = time(NULL);
	int p[2], st;
	char c;
	pid_t kid;

	assert_int_equal(
	    mfa_ticket_issue(f->tix, "alice", now, 600, "h1"), PG_OK);
	assert_int_equal(
	    mfa_ticket_session_open(f->tix, "alice", now, getpid()), 1);
	assert_int_equal(pipe(p), 0);
	if ((kid = fork()) == 0) {
		close(p[0]);
		if (mfa_ticket_issue(f->tix, "alice", now, 600, "h1") !=
		        PG_OK ||
		    mfa_ticket_session_open(f->tix, "alice", now, getpid()) !=
		        1)
			_exit(1);
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	/* Our logout leaves the ticket to the child's session. */
	assert_int_equal(
	    mfa_ticket_session_close(f->tix, "alice", getpid()), 0);
	assert_int_equal(mfa_ticket_valid(f->tix, "alice", now), 1);
	/* The child dies without closing: a zombie is no session either. */
	assert_int_equal(kill(kid, SIGKILL), 0);
	for (int i = 0; i < 200 && mfa_ticket_valid(f->tix, "alice", now); i++)
		usleep(10000);
	assert_int_equal(mfa_ticket_valid(f->tix, "alice", now), 0);
	assert_int_equal(waitpid(kid, &st, 0), kid);
	assert_int_equal(mfa_ticket_valid(f->tix, "alice", now), 0);
	/* Any close then clears what the dead session left. */
	assert_int_equal(mfa_ticket_session_close(f->tix, "alice", 99999), 1);
	assert_int_equal(access(f->file, F_OK), -1);
}

/* A pending ticket joins only its own login's session, and only soon. */
static void
pending_bound(void **state)
{
	struct fx *f = *state;
	time_t now = time(NULL);
	int st;
	pid_t kid;

	/* Issued by a grandchild: neither it nor its parent is us. */
	if ((kid = fork()) == 0) {
		pid_t g = fork();

		if (g == 0)
			_exit(mfa_ticket_issue(
			          f->tix, "alice", now, 600, "h1") == PG_OK
			        ? 0
			        : 1);
		_exit(waitpid(g, &st, 0) == g && WIFEXITED(st) &&
		            WEXITSTATUS(st) == 0
		        ? 0
		        : 1);
	}
	assert_int_equal(waitpid(kid, &st, 0), kid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(
	    mfa_ticket_session_open(f->tix, "alice", now, getpid()), 0);
	assert_int_equal(mfa_ticket_valid(f->tix, "alice", now), 0);
	/* Issued by a child that ended: its parent (sshd's monitor) may
	 * take it up. */
	if ((kid = fork()) == 0)
		_exit(mfa_ticket_issue(f->tix, "alice", now, 600, "h1") == PG_OK
		        ? 0
		        : 1);
	assert_int_equal(waitpid(kid, &st, 0), kid);
	assert_int_equal(
	    mfa_ticket_session_open(f->tix, "alice", now, getpid()), 1);
	assert_int_equal(mfa_ticket_valid(f->tix, "alice", now), 1);
	assert_int_equal(
	    mfa_ticket_session_close(f->tix, "alice", getpid()), 1);
	/* Too late: more than MFA_TICKET_PENDING_S after auth. */
	assert_int_equal(mfa_ticket_issue(f->tix, "alice",
	                     now - MFA_TICKET_PENDING_S - 1, 600, "h1"),
	    PG_OK);
	assert_int_equal(
	    mfa_ticket_session_open(f->tix, "alice", now, getpid()), 0);
	assert_int_equal(mfa_ticket_valid(f->tix, "alice", now), 0);
	/* The account phase refused the login: the pending ticket goes. */
	assert_int_equal(
	    mfa_ticket_issue(f->tix, "alice", now, 600, "h1"), PG_OK);
	assert_int_equal(
	    mfa_ticket_session_close(f->tix, "alice", getpid()), 1);
	assert_int_equal(
	    mfa_ticket_session_open(f->tix, "alice", now, getpid()), 0);
	assert_int_equal(mfa_ticket_valid(f->tix, "alice", now), 0);
}

/* A lockout removes the ticket, live sessions or not. */
static void
lockout_removes(void **state)
{
	struct fx *f = *state;
	time_t now = time(NULL);

	assert_int_equal(
	    mfa_ticket_issue(f->tix, "alice", now, 600, NULL), PG_OK);
	assert_int_equal(
	    mfa_ticket_session_open(f->tix, "alice", now, getpid()), 1);
	assert_int_equal(mfa_ticket_remove(f->tix, "alice"), PG_OK);
	assert_int_equal(mfa_ticket_valid(f->tix, "alice", now), 0);
	assert_int_equal(mfa_ticket_remove(f->tix, "alice"), PG_OK);
	assert_int_equal(mfa_ticket_remove(f->dir, "nobody"), PG_OK);
}

/* What does not parse, or is not private, is no ticket. */
static void
bad_files(void **state)
{
	struct fx *f = *state;
	time_t now = time(NULL);
	char buf[512];
	long long start;

	assert_int_equal(mfa_proc_start(getpid(), &start), PG_OK);
	assert_int_equal(
	    mfa_ticket_issue(f->tix, "alice", now, 0, "h"), PG_ERR_INVAL);
	assert_int_equal(
	    mfa_ticket_issue(f->tix, "alice", now, 600, "a b"), PG_ERR_INVAL);
	assert_int_equal(
	    mfa_ticket_issue(f->tix, "a/b", now, 600, NULL), PG_OK);
	assert_int_equal(
	    mfa_ticket_session_open(f->tix, "a/b", now, getpid()), 1);
	assert_int_equal(mfa_ticket_valid(f->tix, "a/b", now), 1);
	assert_int_equal(mfa_ticket_valid(f->tix, "a", now), 0);
	assert_int_equal(
	    mfa_ticket_session_open(f->tix, "alice", now, 1), PG_ERR_INVAL);
	/* A well-formed ticket, then one flaw at a time. */
	(void)snprintf(buf, sizeof(buf),
	    "photoguard-mfa-ticket 2\nuser=alice\nissued=%lld\n"
	    "expires=%lld\nhost=h\nauth=-\nsession=%ld %lld\n",
	    (long long)now, (long long)now + 600, (long)getpid(), start);
	put(f->file, buf);
	assert_int_equal(mfa_ticket_valid(f->tix, "alice", now), 1);
	assert_int_equal(chmod(f->file, 0644), 0);
	assert_int_equal(mfa_ticket_valid(f->tix, "alice", now), PG_ERR_PERM);
	/* Our pid with another start time: a reused pid is not the leader. */
	(void)snprintf(buf, sizeof(buf),
	    "photoguard-mfa-ticket 2\nuser=alice\nissued=%lld\n"
	    "expires=%lld\nhost=h\nauth=-\nsession=%ld %lld\n",
	    (long long)now, (long long)now + 600, (long)getpid(), start + 1);
	put(f->file, buf);
	assert_int_equal(mfa_ticket_valid(f->tix, "alice", now), 0);
	/* The format of earlier releases, without sessions. */
	(void)snprintf(buf, sizeof(buf),
	    "photoguard-mfa-ticket 1\nuser=alice\nissued=%lld\n"
	    "expires=%lld\nhost=h\n",
	    (long long)now, (long long)now + 600);
	put(f->file, buf);
	assert_int_equal(
	    mfa_ticket_valid(f->tix, "alice", now), PG_ERR_CORRUPT);
	(void)snprintf(buf, sizeof(buf),
	    "photoguard-mfa-ticket 2\nuser=alice\nissued=1\n"
	    "expires=99999999999\nhost=h\nauth=-\nsession=%ld %lld\n",
	    (long)getpid(), start);
	put(f->file, buf);
	assert_int_equal(mfa_ticket_valid(f->tix, "alice", now),
	    PG_ERR_CORRUPT); /* longer than the maximum lifetime */
	(void)snprintf(buf, sizeof(buf),
	    "photoguard-mfa-ticket 2\nuser=alice\nissued=%lld\n"
	    "expires=%lld\nhost=h\nauth=-\nsession=1 0\n",
	    (long long)now, (long long)now + 600);
	put(f->file, buf); /* init is nobody's session leader */
	assert_int_equal(
	    mfa_ticket_valid(f->tix, "alice", now), PG_ERR_CORRUPT);
	(void)snprintf(buf, sizeof(buf),
	    "photoguard-mfa-ticket 2\nuser=alice\nissued=%lld\n"
	    "expires=%lld\nhost=h\nauth=1 2 3\n",
	    (long long)now, (long long)now + 600);
	put(f->file, buf);
	assert_int_equal(
	    mfa_ticket_valid(f->tix, "alice", now), PG_ERR_CORRUPT);
	(void)snprintf(buf, sizeof(buf),
	    "photoguard-mfa-ticket 2\nuser=alice\nissued=%lld\n"
	    "expires=%lld\nhost=h\nauth=-\nsession=%ld  %lld\n",
	    (long long)now, (long long)now + 600, (long)getpid(), start);
	put(f->file, buf);
	assert_int_equal(
	    mfa_ticket_valid(f->tix, "alice", now), PG_ERR_CORRUPT);
	put(f->file, "user=alice\n");
	assert_int_equal(
	    mfa_ticket_valid(f->tix, "alice", now), PG_ERR_CORRUPT);
	put(f->file, "");
	assert_int_equal(
	    mfa_ticket_valid(f->tix, "alice", now), PG_ERR_CORRUPT);
	/* A corrupt ticket is replaced by the next auth, removed by a close. */
	assert_int_equal(
	    mfa_ticket_session_close(f->tix, "alice", getpid()), 1);
	assert_int_equal(access(f->file, F_OK), -1);
	assert_int_equal(chmod(f->tix, 0755), 0);
	assert_int_equal(mfa_ticket_valid(f->tix, "a/b", now), PG_ERR_PERM);
	assert_int_equal(
	    mfa_ticket_session_open(f->tix, "a/b", now, getpid()), PG_ERR_PERM);
}

/* Too many live sessions for one user: refused, not dropped silently. */
static void
session_cap(void **state)
{
	struct fx *f = *state;
	time_t now = time(NULL);
	char buf[MFA_TICKET_MAX_SIZE + 64];
	long long start;
	size_t o;
	int i;

	assert_int_equal(mfa_proc_start(getppid(), &start), PG_OK);
	assert_int_equal(
	    mfa_ticket_issue(f->tix, "alice", now, 600, "h"), PG_OK);
	o = (size_t)snprintf(buf, sizeof(buf),
	    "photoguard-mfa-ticket 2\nuser=alice\nissued=%lld\n"
	    "expires=%lld\nhost=h\nauth=-\n",
	    (long long)now, (long long)now + 600);
	for (i = 0; i <= MFA_TICKET_MAX_SESSIONS; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o,
		    "session=%ld %lld\n", (long)getppid(), start);
	put(f->file, buf);
	assert_int_equal(
	    mfa_ticket_valid(f->tix, "alice", now), PG_ERR_CORRUPT);
}

static void
zombie_is_gone(void **state)
{
	long long start;
	pid_t kid;
	int st;

	(void)state;
	if ((kid = fork()) == 0)
		_exit(0);
	for (int i = 0; i < 200; i++) {
		if (mfa_proc_start(kid, &start) == PG_ERR_NOTFOUND)
			break;
		usleep(10000);
	}
	assert_int_equal(mfa_proc_start(kid, &start), PG_ERR_NOTFOUND);
	assert_int_equal(waitpid(kid, &st, 0), kid);
	assert_int_equal(mfa_proc_start(kid, &start), PG_ERR_NOTFOUND);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(login_logout, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    crashed_session, setup, teardown),
		cmocka_unit_test_setup_teardown(pending_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    lockout_removes, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_files, setup, teardown),
		cmocka_unit_test_setup_teardown(session_cap, setup, teardown),
		cmocka_unit_test(zombie_is_gone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
