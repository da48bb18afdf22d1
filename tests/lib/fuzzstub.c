/*
 * fuzzstub.c - runs a libFuzzer target over files given on the command line
 * (or every file in the directories given), so the seed corpus of each fuzz
 * target also runs as a plain test.  Prints one TAP point per input.
 */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT (4 * 1024 * 1024)

static int n;

static void
run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = malloc(FUZZ_MAX_INPUT);
	size_t len;

	n++;
	if (f == NULL || buf == NULL) {
		printf("not ok %d - %s: cannot read\n", n, path);
		if (f != NULL)
			fclose(f);
		free(buf);
		return;
	}
	len = fread(buf, 1, FUZZ_MAX_INPUT, f);
	fclose(f);
	/* A crash or sanitizer report ends the run: that is the failure. */
	LLVMFuzzerTestOneInput(buf, len);
	printf("ok %d - %s\n", n, path);
	free(buf);
}

static void
run_path(const char *path)
{
	struct stat st;
	struct dirent *de;
	char child[4096];
	DIR *d;

	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
		run_file(path);
		return;
	}
	if ((d = opendir(path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(child, sizeof(child), "%s/%s", path, de->d_name);
		run_path(child);
	}
	closedir(d);
}

int
main(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		run_path(argv[i]);
	/* The empty input, always. */
	LLVMFuzzerTestOneInput((const uint8_t *)"", 0);
	printf("ok %d - empty input\n1..%d\n", n + 1, n + 1);
	return 0;
}
