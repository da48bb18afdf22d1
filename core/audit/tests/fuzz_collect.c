/*
 * fuzz_collect.c - fuzz target for the collector's side of the syslog
 * trail: the RFC 5424 line parser and the reassembly of audit_collect.c.
 * Input: a collector's file.  Each input is taken apart into a private
 * directory, checked for verdicts that contradict themselves, and
 * removed.  Built without libFuzzer, main() runs every file named on the
 * command line (or found in a named directory) once and prints TAP.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/audit/audit_forward.h"
#include "base/base.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char outdir[] = "/tmp/pg-fuzz-collect.XXXXXX";
static int have_outdir;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct audit_collect_host *h;
	struct audit_collect *c = NULL;
	struct audit_fwd_msg m;
	const char *nl;
	char why[128];
	size_t i;
	FILE *in;

	if (!have_outdir) {
		if (mkdtemp(outdir) == NULL)
			abort();
		have_outdir = 1;
	}
	/* Each line through the parser alone, too. */
	for (i = 0; i < size; i = (size_t)(nl - (const char *)data) + 1) {
		nl = memchr(data + i, '\n', size - i);
		if (nl == NULL)
			nl = (const char *)data + size;
		if (audit_fwd_parse((const char *)data + i,
		        (size_t)(nl - (const char *)data) - i, &m, why,
		        sizeof(why)) == 1 &&
		    (m.part < 1 || m.part > m.parts || m.plen > AUDIT_FWD_PART))
			abort();
	}
	if (size == 0 ||
	    (in = fmemopen((void *)(uintptr_t)data, size, "r")) == NULL)
		return 0;
	if (audit_collect_split(in, outdir, &c) == PG_OK) {
		for (i = 0; i < audit_collect_count(c); i++) {
			h = audit_collect_host(c, i);
			/* A record written is a message read. */
			if (h->records > h->messages || h->last_seq < 0 ||
			    (h->records > 0 && h->last_seq < h->records))
				abort();
		}
		audit_collect_remove(c);
		audit_collect_free(c);
	}
	fclose(in);
	return 0;
}

#ifndef PG_LIBFUZZER
static int n_run;

static int
run_file(const char *path)
{
	struct stat st;
	unsigned char *buf;
	FILE *f;
	size_t n;

	if (stat(path, &st) != 0 || st.st_size > (1 << 22) ||
	    (f = fopen(path, "rb")) == NULL)
		return -1;
	buf = malloc((size_t)st.st_size + 1);
	n = buf != NULL ? fread(buf, 1, (size_t)st.st_size, f) : 0;
	fclose(f);
	if (buf == NULL || n != (size_t)st.st_size) {
		free(buf);
		return -1;
	}
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	printf("ok %d - %s\n", ++n_run, path);
	return 0;
}

static int
run_dir(const char *dir)
{
	struct dirent **ents;
	char path[4096];
	int i, n, bad = 0;

	if ((n = scandir(dir, &ents, NULL, alphasort)) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (ents[i]->d_name[0] != '.') {
			snprintf(
			    path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
			bad |= run_file(path);
		}
		free(ents[i]);
	}
	free(ents);
	return bad;
}

int
main(int argc, char **argv)
{
	struct stat st;
	int i, bad = 0;

	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
			bad |= run_dir(argv[i]);
		else
			bad |= run_file(argv[i]);
	}
	if (have_outdir)
		(void)rmdir(outdir);
	if (n_run == 0) {
		printf("not ok 1 - no seed inputs found\n");
		n_run = 1;
		bad = 1;
	}
	printf("1..%d\n", n_run);
	return bad ? 1 : 0;
}
#endif
