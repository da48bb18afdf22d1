/*
 * fuzz_timearg.c - fuzz target for the parser of --since/--until times:
 * any input either parses into the UTC form the audit filters compare,
 * which parses again into itself, or fails with a reason; and the local
 * spelling of any stored time stays within its buffer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "cli/timearg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* YYYY-MM-DDTHH:MM:SS[.ffffff]Z, as norm_time() in core/audit takes it. */
static int
utc_shape(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";
	size_t n = strlen(s), i;

	if (n != 20 && n != 27)
		return 0;
	for (i = 0; i + 1 < n; i++)
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9')
		                    : s[i] != shape[i])
			return 0;
	return s[n - 1] == 'Z';
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A fixed now, so that a failure reproduces. */
	const time_t now = 1796302800;
	char in[64], out[CLI_TIME_LEN], again[CLI_TIME_LEN], loc[CLI_TIME_LEN];
	const char *why;
	int end, r;

	if (size >= sizeof(in))
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	for (end = CLI_TIME_START; end <= CLI_TIME_END; end++) {
		why = NULL;
		r = cli_time_parse(in, now, end, out, sizeof(out), &why);
		if (r != PG_OK) {
			if (why == NULL || why[0] == '\0')
				abort();
			continue;
		}
		if (!utc_shape(out))
			abort();
		if (cli_time_parse(out, now, end, again, sizeof(again), &why) !=
		        PG_OK ||
		    strcmp(out, again) != 0)
			abort();
	}
	memset(loc, 'x', sizeof(loc));
	cli_time_local(in, loc, sizeof(loc));
	if (memchr(loc, '\0', sizeof(loc)) == NULL)
		abort();
	return 0;
}
