/*
 * mfa_ticket.h - short-lived MFA tickets: after a successful second factor
 * the PAM module leaves one root-only file per user in the ticket
 * directory (readable by the gateway's service group when shared, see
 * pg_share_set()); the gateway asks whether a valid one exists before serving
 * what needs MFA.  Both sides use this code, so they agree on the format.
 */
#ifndef PG_MFA_TICKET_H
#define PG_MFA_TICKET_H

#include <time.h>

#define MFA_TICKET_MAX_TTL_S (24 * 3600)
#define MFA_TICKET_MAX_SIZE  1024
#define MFA_TICKET_SKEW_S    60 /* tolerated issued-in-the-future */

/*
 * Writes (atomically, mode 0600, or 0660 in a shared directory) the ticket
 * of USER in DIR, creating DIR 0700 (02770 of the share's group) if absent:
 * issued NOW, expires NOW + TTL_S (1..MFA_TICKET_MAX_TTL_S), HOST (NULL:
 * gethostname()).  On PG_OK every reader sees the new ticket.  It is not
 * synced to disk: a ticket is a short-lived grant (kept in /run by
 * default), and a crash that loses it, or leaves it cut, only asks for a
 * new login, since mfa_ticket_valid() refuses a ticket that does not
 * parse.  Returns PG_OK, PG_ERR_INVAL, PG_ERR_PERM (DIR neither root-only
 * nor shared), or PG_ERR_IO.
 */
int mfa_ticket_issue(
    const char *dir, const char *user, time_t now, int ttl_s, const char *host);

/*
 * Returns 1 if USER has a ticket in DIR valid at NOW, 0 if none or it has
 * expired, or a negative PG_ERR_* (unsafe file or directory, corrupt
 * ticket): callers test == 1, so an error is never a ticket.
 */
int mfa_ticket_valid(const char *dir, const char *user, time_t now);

/* Removes USER's ticket from DIR.  Returns PG_OK (also if absent). */
int mfa_ticket_remove(const char *dir, const char *user);

#endif /* PG_MFA_TICKET_H */
