/*
 * testutil.c - scratch directories and a stopwatch for the C tests; see
 * testutil.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testutil.h"

char *
tu_mkdtemp(const char *tag)
{
	const char *root = getenv("PG_BUILD_ROOT");
	char buf[4096];
	char *p;

	if (root == NULL || root[0] == '\0')
		root = "/var/tmp";
	snprintf(buf, sizeof(buf), "%s/tmp-%s-XXXXXX", root, tag);
	if (mkdtemp(buf) == NULL) {
		perror("mkdtemp");
		exit(99);
	}
	if ((p = strdup(buf)) == NULL)
		exit(99);
	return p;
}

void
tu_rmtree(char *dir)
{
	char cmd[4200];

	if (dir == NULL)
		return;
	/* Test scratch only: the path came from tu_mkdtemp(). */
	snprintf(cmd, sizeof(cmd), "chattr -R -i '%s' 2>/dev/null; rm -rf '%s'",
	    dir, dir);
	if (system(cmd) != 0)
		fprintf(stderr, "# could not remove %s\n", dir);
	free(dir);
}

long
tu_ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000 +
	    (t1.tv_nsec - t0->tv_nsec) / 1000000;
}
