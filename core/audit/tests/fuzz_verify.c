/*
 * fuzz_verify.c - fuzz target for the audit verifier and record parser.
 * Input: the log's bytes, optionally followed by a NUL and the head file.
 * Each input is verified without a key and with a fixed test key (whose
 * secret key `fuzz_verify --print-secret-key` prints, to sign seeds).
 * Built without libFuzzer, main() runs every file named on the command
 * line (or found in a named directory) once and prints TAP.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/audit/audit_int.h"
#include "base/base.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
test_key(unsigned char *pk, unsigned char *sk)
{
	unsigned char seed[crypto_sign_SEEDBYTES];

	memset(seed, 0x42, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	struct audit_verify_result res;
	const char *buf = (const char *)data, *nul;
	size_t loglen = size;
	struct audit_prec r;
	json_t *root;
	char why[64];

	if (sodium_init() < 0)
		return 0;
	test_key(pk, sk);
	nul = memchr(buf, '\0', size);
	if (nul != NULL)
		loglen = (size_t)(nul - buf);
	audit_verify_buf(buf, loglen, nul ? nul + 1 : NULL,
	    nul ? size - loglen - 1 : 0, NULL, &res);
	audit_verify_buf(buf, loglen, nul ? nul + 1 : NULL,
	    nul ? size - loglen - 1 : 0, pk, &res);
	if (res.ok && res.records > 0 && res.bad_seq != 0)
		abort(); /* a verdict that contradicts itself */
	if (audit_rec_parse(buf, loglen, &r, &root, why, sizeof(why)) == PG_OK)
		json_decref(root);
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
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	char hex[2 * crypto_sign_SECRETKEYBYTES + 1];
	struct stat st;
	int i, bad = 0;

	if (sodium_init() < 0)
		return 1;
	if (argc == 2 && strcmp(argv[1], "--print-secret-key") == 0) {
		test_key(pk, sk);
		puts(sodium_bin2hex(hex, sizeof(hex), sk, sizeof(sk)));
		return 0;
	}
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
			bad |= run_dir(argv[i]);
		else
			bad |= run_file(argv[i]);
	}
	if (n_run == 0) {
		printf("not ok 1 - no seed inputs found\n");
		n_run = 1;
		bad = 1;
	}
	printf("1..%d\n", n_run);
	return bad ? 1 : 0;
}
#endif
