/*
 * fuzzstub.c - a main() for a libFuzzer target, so its corpus runs as a
 * plain test without clang: feeds each file named (or each regular file in
 * each directory named) to LLVMFuzzerTestOneInput, one TAP point per file.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FUZZ_MAX_INPUT (4 * 1024 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int n;

static int
run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	size_t len;

	n++;
	if (f == NULL || (buf = malloc(FUZZ_MAX_INPUT)) == NULL) {
		printf("not ok %d - %s: cannot read\n", n, path);
		if (f != NULL)
			fclose(f);
		return 1;
	}
	len = fread(buf, 1, FUZZ_MAX_INPUT, f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	printf("ok %d - %s\n", n, path);
	return 0;
}

int
main(int argc, char **argv)
{
	int bad = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		DIR *dir;
		struct dirent *e;
		if (stat(argv[i], &st) != 0 || !S_ISDIR(st.st_mode)) {
			bad += run_file(argv[i]);
			continue;
		}
		if ((dir = opendir(argv[i])) == NULL) {
			printf("not ok %d - %s: cannot open\n", ++n, argv[i]);
			bad++;
			continue;
		}
		while ((e = readdir(dir)) != NULL) {
			char path[4096];
			if (e->d_name[0] == '.')
				continue;
			snprintf(
			    path, sizeof(path), "%s/%s", argv[i], e->d_name);
			if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
				bad += run_file(path);
		}
		closedir(dir);
	}
	printf("1..%d\n", n);
	return bad != 0;
}
