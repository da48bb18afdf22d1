/*
 * mfa_ticket.h - short-lived MFA tickets: after a successful second factor
 * the PAM module leaves one root-only file per user in the ticket
 * directory (readable by the gateway's service group when shared, see
 * pg_share_set()); the gateway asks whether a valid one exists before serving
 * what needs MFA.  Both sides use this code, so they agree on the format.
 *
 * A ticket is bound to the login sessions that passed the second factor:
 * `auth` writes it pending, naming the process that checked the code and
 * its parent; `session open` in one of those two processes (the session
 * leader: login, sshd's per-connection monitor, sudo) joins it; `session
 * close` leaves it, and the last one out removes the file.  A ticket
 * counts only while one of its sessions' leaders still runs (pid and
 * start time, from /proc), so a session that crashed before its close
 * takes its share of the ticket with it, and a ticket no session joined
 * counts for nothing.  A lockout removes the ticket.
 */
#ifndef PG_MFA_TICKET_H
#define PG_MFA_TICKET_H

#include <sys/types.h>
#include <time.h>

#define MFA_TICKET_MAX_TTL_S    (24 * 3600)
#define MFA_TICKET_MAX_SIZE     4096
#define MFA_TICKET_SKEW_S       60  /* tolerated issued-in-the-future */
#define MFA_TICKET_PENDING_S    120 /* auth to session open, at most */
#define MFA_TICKET_MAX_SESSIONS 64  /* live sessions of one user */
#define MFA_TICKET_LOCK_MS      2000

/*
 * Writes (atomically, mode 0600, or 0660 in a shared directory) the ticket
 * of USER in DIR, creating DIR 0700 (02770 of the share's group) if absent:
 * issued NOW, expires NOW + TTL_S (1..MFA_TICKET_MAX_TTL_S), HOST (NULL:
 * gethostname()), pending for this process and its parent; the live
 * sessions of the ticket it replaces stay in it.  It is not synced to
 * disk: a ticket is a short-lived grant (kept in /run by default), and a
 * crash that loses it, or leaves it cut, only asks for a new login, since
 * mfa_ticket_valid() refuses a ticket that does not parse.  Returns PG_OK,
 * PG_ERR_INVAL, PG_ERR_PERM (DIR neither root-only nor shared),
 * PG_ERR_LOCKED or PG_ERR_IO.
 */
int mfa_ticket_issue(
    const char *dir, const char *user, time_t now, int ttl_s, const char *host);

/*
 * Joins the session led by LEADER to USER's ticket if the ticket is
 * pending for LEADER (the process that passed auth, or its parent) since
 * at most MFA_TICKET_PENDING_S before NOW.  Returns 1 joined, 0 nothing to
 * join (no ticket, none pending for LEADER, too late), or PG_ERR_*.
 */
int mfa_ticket_session_open(
    const char *dir, const char *user, time_t now, pid_t leader);

/*
 * Takes the session led by LEADER, and a ticket pending for it, out of
 * USER's ticket, and sessions whose leader is gone; removes the ticket
 * when no session is left and nothing is pending.  Returns 1 removed, 0
 * kept (another session still holds it, or none existed), or PG_ERR_*.
 */
int mfa_ticket_session_close(const char *dir, const char *user, pid_t leader);

/*
 * Returns 1 if USER has a ticket in DIR valid at NOW (not expired, one of
 * its sessions' leaders still running), 0 if none, or a negative PG_ERR_*
 * (unsafe file or directory, corrupt ticket): callers test == 1, so an
 * error is never a ticket.
 */
int mfa_ticket_valid(const char *dir, const char *user, time_t now);

/* Removes USER's ticket from DIR.  Returns PG_OK (also if absent). */
int mfa_ticket_remove(const char *dir, const char *user);

#endif /* PG_MFA_TICKET_H */
