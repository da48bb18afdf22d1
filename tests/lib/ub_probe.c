/*
 * ub_probe.c - undefined behaviour on purpose, for test_sanitizers.sh: in a
 * sanitizer build it must stop at the first report instead of carrying on
 * to the second one and to a clean exit.
 */
#include <limits.h>
#include <stdio.h>

int
main(int argc, char **argv)
{
	/* volatile: the compiler may not fold the overflow away. */
	volatile int big = INT_MAX;

	(void)argv;
	/* Signed overflow: UBSan reports it, and must not recover. */
	big = big + argc;
	printf("carried on past the first report (%d)\n", big);
	/* The same again: a recovering build reports twice and exits 0. */
	big = big + argc;
	printf("carried on past the second report (%d)\n", big);
	return 0;
}
