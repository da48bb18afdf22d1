/*
 * testutil.c - scratch directories for the C tests; see testutil.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
