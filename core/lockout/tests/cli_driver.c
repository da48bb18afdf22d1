/*
 * cli_driver.c - `seed DIR USER SINCE BY HOST RULE REASON`: locks USER
 * straight through the store with a chosen time, so core/lockout/tests/cli.sh
 * can check what `photoguard lockouts` prints.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "core/lockout/lockout.h"

static int
seed(char **a)
{
	struct lockout_store *st;
	struct lockout_entry e = { .user = a[1],
		.by = a[3],
		.host = a[4],
		.rule = a[5],
		.reason = a[6] };
	int r;

	e.since = (time_t)strtoll(a[2], NULL, 10);
	if ((r = lockout_open(a[0], LOCKOUT_OPEN_CREATE, &st)) == PG_OK) {
		r = lockout_lock(st, &e, NULL);
		lockout_free(st);
	}
	if (r != PG_OK)
		fprintf(stderr, "seed: %s\n", pg_strerror(r));
	return r == PG_OK ? 0 : 3;
}

int
main(int argc, char **argv)
{
	if (argc == 9 && strcmp(argv[1], "seed") == 0)
		return seed(argv + 2);
	fprintf(stderr,
	    "usage: cli_driver seed DIR USER SINCE BY HOST RULE "
	    "REASON\n");
	return 2;
}
