/*
 * gw_mfa.c - test helper: a user's MFA ticket through the core API.
 *   gw_mfa issue DIR USER TTL_S  as auth after a good code, then session
 *                                open with this helper's parent (the
 *                                calling shell) as the session leader:
 *                                the ticket counts while that shell runs
 *   gw_mfa remove DIR USER       as a lockout does
 *   gw_mfa valid DIR USER        prints 1 (valid), 0 (none) or the error
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "core/state/state.h"
#include "core/totp/totp.h"

int
main(int argc, char **argv)
{
	char *end = NULL;
	long ttl;
	int r;

	/* As the PAM module does from [store] user: the tickets are shared
	 * with the gateway's service group. */
	if (getenv("PG_SHARE_USER") != NULL &&
	    (r = pg_share_from_user(getenv("PG_SHARE_USER"))) != 0) {
		fprintf(stderr, "gw_mfa: service user: %s\n", pg_strerror(r));
		return 1;
	}
	if (argc == 5 && strcmp(argv[1], "issue") == 0) {
		ttl = strtol(argv[4], &end, 10);
		if (end == argv[4] || *end != '\0' || ttl < 1 ||
		    ttl > MFA_TICKET_MAX_TTL_S) {
			fprintf(stderr, "gw_mfa: bad TTL '%s'\n", argv[4]);
			return 2;
		}
		r = mfa_ticket_issue(
		    argv[2], argv[3], time(NULL), (int)ttl, NULL);
		if (r == 0 &&
		    (r = mfa_ticket_session_open(
		         argv[2], argv[3], time(NULL), getppid())) == 1)
			r = 0;
		else if (r == 0)
			r = PG_ERR_INTERNAL;
	} else if (argc == 4 && strcmp(argv[1], "valid") == 0) {
		r = mfa_ticket_valid(argv[2], argv[3], time(NULL));
		if (r >= 0) {
			printf("%d\n", r);
			return 0;
		}
	} else if (argc == 4 && strcmp(argv[1], "remove") == 0) {
		r = mfa_ticket_remove(argv[2], argv[3]);
	} else {
		fprintf(stderr,
		    "usage: gw_mfa issue DIR USER TTL_S | "
		    "gw_mfa remove DIR USER | gw_mfa valid DIR USER\n");
		return 2;
	}
	if (r != 0) {
		fprintf(stderr, "gw_mfa: %s\n", pg_strerror(r));
		return 1;
	}
	return 0;
}
