/*
 * main.c - the `photoguard` admin and staff tool: global options and the
 * table of verbs.
 */
#include <stdio.h>

int
main(void)
{
	puts("photoguard");
	return 0;
}
