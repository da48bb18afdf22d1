/*
 * mfa_ticket.c - the MFA ticket files: a few "key=value" lines written
 * atomically under the ticket directory's lock, parsed strictly (every
 * key once, in order, bounded numbers), and the sessions they are bound
 * to.  See mfa_ticket.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "core/state/state.h"
#include "core/totp/totp.h"
#include "core/totp/mfa_ticket_int.h"

#define HOST_MAX  255
#define LOCK_NAME ".lock"
#define MAGIC     "photoguard-mfa-ticket 2"

struct names {
	char file[TOTP_FILENAME_MAX]; /* "<encoded user>.ticket" */
	char enc[TOTP_FILENAME_MAX];  /* the encoded user alone */
};

static int
host_ok(const char *h)
{
	size_t i;

	for (i = 0; h[i] != '\0'; i++)
		if (h[i] <= ' ' || h[i] == 0x7f || i >= HOST_MAX)
			return 0;
	return i > 0;
}

static int
names_of(const char *user, struct names *n)
{
	int r;

	if ((r = pg_name_encode(PG_NAME_PCT, "", user, TOTP_USER_MAX, ".ticket",
	         n->file, sizeof(n->file))) != 0 ||
	    (r = pg_name_encode(PG_NAME_PCT, "", user, TOTP_USER_MAX, "",
	         n->enc, sizeof(n->enc))) != 0)
		return r;
	return PG_OK;
}

/* "A B ..." into exactly N numbers of at most MAX each. */
static int
take_ids(char *s, long long max, long long *v, size_t n)
{
	size_t i;
	char *sp;

	if (s == NULL)
		return PG_ERR_CORRUPT;
	for (i = 0; i < n; i++) {
		sp = strchr(s, ' ');
		if ((sp == NULL) != (i + 1 == n))
			return PG_ERR_CORRUPT;
		if (sp != NULL)
			*sp = '\0';
		if (pg_parse_num(s, max, &v[i]) != PG_OK)
			return PG_ERR_CORRUPT;
		s = sp != NULL ? sp + 1 : s;
	}
	return PG_OK;
}

#define PID_LIMIT   4194304LL /* the kernel's PID_MAX_LIMIT */
#define START_LIMIT 999999999999999999LL

static int
parse(char *buf, const char *enc, struct mfa_ticket *t)
{
	char *p = buf, *user, *host, *auth;
	long long v[4];

	memset(t, 0, sizeof(*t));
	if (pg_take_line(&p, MAGIC) == NULL)
		return PG_ERR_CORRUPT;
	user = pg_take_line(&p, "user=");
	if (user == NULL || strcmp(user, enc) != 0)
		return PG_ERR_CORRUPT;
	if (pg_parse_num(pg_take_line(&p, "issued="), 999999999999LL,
	        &t->issued) != PG_OK ||
	    pg_parse_num(pg_take_line(&p, "expires="), 999999999999LL,
	        &t->expires) != PG_OK)
		return PG_ERR_CORRUPT;
	host = pg_take_line(&p, "host=");
	if (host == NULL || !host_ok(host))
		return PG_ERR_CORRUPT;
	memcpy(t->host, host, strlen(host) + 1);
	if ((auth = pg_take_line(&p, "auth=")) == NULL)
		return PG_ERR_CORRUPT;
	if (strcmp(auth, "-") != 0) {
		if (take_ids(auth, START_LIMIT, v, 4) != PG_OK ||
		    v[0] > PID_LIMIT || v[2] > PID_LIMIT)
			return PG_ERR_CORRUPT;
		t->pending = true;
		t->auth[0] = (struct mfa_proc){ v[0], v[1] };
		t->auth[1] = (struct mfa_proc){ v[2], v[3] };
	}
	while (*p != '\0') {
		if (t->n == MFA_TICKET_MAX_SESSIONS ||
		    take_ids(pg_take_line(&p, "session="), START_LIMIT, v, 2) !=
		        PG_OK ||
		    v[0] > PID_LIMIT || v[0] < 2)
			return PG_ERR_CORRUPT;
		t->s[t->n++] = (struct mfa_proc){ v[0], v[1] };
	}
	if (t->expires <= t->issued ||
	    t->expires - t->issued > MFA_TICKET_MAX_TTL_S)
		return PG_ERR_CORRUPT;
	return PG_OK;
}

static int
encode(const struct mfa_ticket *t, const char *enc, char *buf, size_t len)
{
	size_t o, i;
	int n;

	n = snprintf(buf, len,
	    MAGIC "\nuser=%s\nissued=%lld\nexpires=%lld\nhost=%s\n", enc,
	    t->issued, t->expires, t->host);
	if (n < 0 || (size_t)n >= len)
		return PG_ERR_TOOBIG;
	o = (size_t)n;
	if (t->pending)
		n = snprintf(buf + o, len - o, "auth=%lld %lld %lld %lld\n",
		    t->auth[0].pid, t->auth[0].start, t->auth[1].pid,
		    t->auth[1].start);
	else
		n = snprintf(buf + o, len - o, "auth=-\n");
	for (i = 0; n >= 0 && (size_t)n < len - o && i < t->n; i++) {
		o += (size_t)n;
		n = snprintf(buf + o, len - o, "session=%lld %lld\n",
		    t->s[i].pid, t->s[i].start);
	}
	if (n < 0 || (size_t)n >= len - o)
		return PG_ERR_TOOBIG;
	return (int)(o + (size_t)n);
}

/* 1 and *T: present and parsed; 0: absent; PG_ERR_*. */
static int
load(int dirfd, const struct names *nm, struct mfa_ticket *t)
{
	char *buf = NULL;
	int r;

	r = pg_read_file_at(dirfd, nm->file, MFA_TICKET_MAX_SIZE,
	    PG_RF_PRIVATE | PG_RF_SHARED, &buf, NULL);
	if (r == PG_ERR_NOTFOUND)
		return 0;
	if (r != PG_OK)
		return r;
	r = parse(buf, nm->enc, t);
	free(buf);
	return r == PG_OK ? 1 : r;
}

static int
save(int dirfd, const struct names *nm, const struct mfa_ticket *t)
{
	char buf[MFA_TICKET_MAX_SIZE];
	int n;

	if ((n = encode(t, nm->enc, buf, sizeof(buf))) < 0)
		return n;
	/* Not synced: see mfa_ticket.h. */
	return pg_write_file_volatile(dirfd, nm->file, buf, (size_t)n, 0600);
}

static int
unlink_ticket(int dirfd, const struct names *nm)
{
	return (unlinkat(dirfd, nm->file, 0) == 0 || errno == ENOENT)
	    ? PG_OK
	    : PG_ERR_IO;
}

/* Drops the sessions whose leader is gone (or cannot be told alive). */
static void
prune(struct mfa_ticket *t)
{
	size_t i, k = 0;

	for (i = 0; i < t->n; i++)
		if (mfa_proc_alive(&t->s[i]))
			t->s[k++] = t->s[i];
	t->n = k;
}

/* Opens DIR and takes its lock: *DIRFD and *LK, or PG_ERR_*. */
static int
begin(const char *dir, int create, int *dirfd, int *lk)
{
	if ((*dirfd = pg_open_shared_dir(dir, create)) < 0)
		return *dirfd;
	if ((*lk = pg_lock_at(*dirfd, LOCK_NAME, MFA_TICKET_LOCK_MS)) < 0) {
		close(*dirfd);
		return *lk;
	}
	return PG_OK;
}

static void
end(int dirfd, int lk)
{
	close(lk);
	close(dirfd);
}

/* This process and its parent, the candidates for the session leader. */
static int
pending_for_self(struct mfa_ticket *t)
{
	int r;

	memset(t->auth, 0, sizeof(t->auth));
	t->auth[0].pid = getpid();
	if ((r = mfa_proc_start((pid_t)t->auth[0].pid, &t->auth[0].start)) !=
	    PG_OK)
		return r == PG_ERR_NOTFOUND ? PG_ERR_IO : r;
	t->auth[1].pid = getppid();
	if (t->auth[1].pid < 2 ||
	    mfa_proc_start((pid_t)t->auth[1].pid, &t->auth[1].start) != PG_OK)
		t->auth[1] = (struct mfa_proc){ 0, 0 };
	t->pending = true;
	return PG_OK;
}

int
mfa_ticket_issue(
    const char *dir, const char *user, time_t now, int ttl_s, const char *host)
{
	struct mfa_ticket t, old;
	struct names nm;
	char hbuf[HOST_MAX + 1];
	int dirfd, lk, r;

	if (dir == NULL || now < 0 || ttl_s < 1 || ttl_s > MFA_TICKET_MAX_TTL_S)
		return PG_ERR_INVAL;
	if ((r = names_of(user, &nm)) != PG_OK)
		return r;
	if (host == NULL) {
		if (gethostname(hbuf, sizeof(hbuf)) != 0)
			return PG_ERR_IO;
		hbuf[HOST_MAX] = '\0';
		host = hbuf;
	}
	if (!host_ok(host))
		return PG_ERR_INVAL;
	memset(&t, 0, sizeof(t));
	t.issued = now;
	t.expires = (long long)now + ttl_s;
	memcpy(t.host, host, strlen(host) + 1);
	if ((r = pending_for_self(&t)) != PG_OK)
		return r;
	if ((r = begin(dir, 1, &dirfd, &lk)) != PG_OK)
		return r;
	/* The user's other live logins keep the ticket; one that does not
	 * parse is replaced. */
	if (load(dirfd, &nm, &old) == 1) {
		prune(&old);
		memcpy(t.s, old.s, old.n * sizeof(old.s[0]));
		t.n = old.n;
	}
	r = save(dirfd, &nm, &t);
	end(dirfd, lk);
	return r;
}

static bool
is_leader(const struct mfa_proc *p, pid_t leader, long long start)
{
	return p->pid == (long long)leader && p->start == start;
}

int
mfa_ticket_session_open(
    const char *dir, const char *user, time_t now, pid_t leader)
{
	struct mfa_ticket t;
	struct names nm;
	long long start;
	size_t i;
	int dirfd, lk, r;

	if (dir == NULL || leader < 2)
		return PG_ERR_INVAL;
	if ((r = names_of(user, &nm)) != PG_OK)
		return r;
	if ((r = mfa_proc_start(leader, &start)) != PG_OK)
		return r == PG_ERR_NOTFOUND ? PG_ERR_INVAL : r;
	if ((r = begin(dir, 0, &dirfd, &lk)) != PG_OK)
		return r == PG_ERR_NOTFOUND ? 0 : r;
	if ((r = load(dirfd, &nm, &t)) != 1)
		goto out;
	r = 0;
	if (!t.pending || now < t.issued ||
	    now - t.issued > MFA_TICKET_PENDING_S ||
	    (!is_leader(&t.auth[0], leader, start) &&
	        !is_leader(&t.auth[1], leader, start)))
		goto out;
	prune(&t);
	for (i = 0; i < t.n && !is_leader(&t.s[i], leader, start); i++)
		;
	if (i == t.n) {
		r = PG_ERR_TOOBIG;
		if (t.n == MFA_TICKET_MAX_SESSIONS)
			goto out;
		t.s[t.n++] = (struct mfa_proc){ leader, start };
	}
	t.pending = false;
	if ((r = save(dirfd, &nm, &t)) == PG_OK)
		r = 1;
out:
	end(dirfd, lk);
	return r;
}

int
mfa_ticket_session_close(const char *dir, const char *user, pid_t leader)
{
	struct mfa_ticket t;
	struct names nm;
	time_t now = time(NULL);
	size_t i, k = 0;
	int dirfd, lk, r;

	if (dir == NULL)
		return PG_ERR_INVAL;
	if ((r = names_of(user, &nm)) != PG_OK)
		return r;
	if ((r = begin(dir, 0, &dirfd, &lk)) != PG_OK)
		return r == PG_ERR_NOTFOUND ? 0 : r;
	r = load(dirfd, &nm, &t);
	if (r == 0)
		goto out;
	if (r < 0) /* a ticket that does not parse is no ticket */
		goto gone;
	for (i = 0; i < t.n; i++)
		if (t.s[i].pid != (long long)leader)
			t.s[k++] = t.s[i];
	t.n = k;
	prune(&t);
	if (t.pending &&
	    (t.auth[0].pid == (long long)leader ||
	        t.auth[1].pid == (long long)leader || now < t.issued ||
	        now - t.issued > MFA_TICKET_PENDING_S))
		t.pending = false;
	if (t.n > 0 || t.pending) {
		r = save(dirfd, &nm, &t);
		goto out;
	}
gone:
	r = unlink_ticket(dirfd, &nm);
	r = r == PG_OK ? 1 : r;
out:
	end(dirfd, lk);
	return r;
}

int
mfa_ticket_valid(const char *dir, const char *user, time_t now)
{
	struct mfa_ticket t;
	struct names nm;
	size_t i;
	int fd, r;

	if (dir == NULL || now < 0)
		return PG_ERR_INVAL;
	if ((r = names_of(user, &nm)) != PG_OK)
		return r;
	if ((fd = pg_open_shared_dir(dir, 0)) < 0)
		return fd == PG_ERR_NOTFOUND ? 0 : fd;
	r = load(fd, &nm, &t); /* whole files only: no lock needed */
	close(fd);
	if (r != 1)
		return r;
	/* A ticket from the future means the clock moved: not valid. */
	if (t.issued > (long long)now + MFA_TICKET_SKEW_S ||
	    (long long)now >= t.expires)
		return 0;
	for (i = 0; i < t.n; i++)
		if (mfa_proc_alive(&t.s[i]))
			return 1;
	return 0;
}

int
mfa_ticket_remove(const char *dir, const char *user)
{
	struct names nm;
	int dirfd, lk, r;

	if (dir == NULL)
		return PG_ERR_INVAL;
	if ((r = names_of(user, &nm)) != PG_OK)
		return r;
	/* Under the lock, so that no session open that read the ticket
	 * before writes it back after; without the lock all the same. */
	if ((r = begin(dir, 0, &dirfd, &lk)) == PG_OK) {
		r = unlink_ticket(dirfd, &nm);
		end(dirfd, lk);
		return r;
	}
	if (r == PG_ERR_NOTFOUND)
		return PG_OK;
	if ((dirfd = pg_open_shared_dir(dir, 0)) < 0)
		return dirfd == PG_ERR_NOTFOUND ? PG_OK : dirfd;
	r = unlink_ticket(dirfd, &nm);
	close(dirfd);
	return r;
}
