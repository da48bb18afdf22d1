/*
 * pam_bench_enroll.c - enrolls bench users straight into a TOTP store for
 * bench/pam_bench.sh: PREFIX0000.. with fresh secrets, confirmed with the
 * previous step's code (so a login in the current step is no replay).
 * Prints "user base32 hex" per user.
 *
 *   pam_bench_enroll SECRET_DIR HOST_KEY PREFIX N
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <liboath/oath.h>

#include "base/base.h"
#include "core/totp/totp.h"

static void
hexify(const unsigned char *in, size_t n, char *out)
{
	static const char h[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = h[in[i] >> 4];
		out[2 * i + 1] = h[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int
code_at(const unsigned char *secret, time_t t, char *out)
{
	return oath_totp_generate((const char *)secret, 20, t, 30, 0, 6, out);
}

static int
enroll(const char *dir, const char *key, const char *prefix, long n)
{
	struct totp_store *st = NULL;
	struct totp_enrollment *e = NULL;
	char user[64], code[16], hex[64];
	long i;
	int r;

	if ((r = totp_store_open(dir, key, 1, &st)) != PG_OK) {
		fprintf(stderr, "store: %s\n", pg_strerror(r));
		return 1;
	}
	for (i = 0; i < n; i++) {
		time_t now = time(NULL);

		(void)snprintf(user, sizeof(user), "%s%04ld", prefix, i);
		r = totp_store_enroll(st, user, 1, now, 6, 30, &e);
		/* Confirmed with the previous step's code, so that a login
		 * in the current step is not a replay. */
		if (r == PG_OK && (r = code_at(e->secret, now - 30, code)) == 0)
			r = totp_store_confirm(st, user, code, now, 1);
		if (r != PG_OK) {
			fprintf(stderr, "%s: %s\n", user, totp_store_why(st));
			break;
		}
		hexify(e->secret, 20, hex);
		printf("%s %s %s\n", user, e->secret_b32, hex);
		totp_enrollment_free(e);
		e = NULL;
	}
	totp_enrollment_free(e);
	totp_store_free(st);
	return r == PG_OK ? 0 : 1;
}

int
main(int argc, char **argv)
{
	char *end;
	long n;

	if (argc != 5) {
		fprintf(stderr,
		    "usage: pam_bench_enroll SECRET_DIR HOST_KEY PREFIX N\n");
		return 2;
	}
	errno = 0;
	n = strtol(argv[4], &end, 10);
	if (errno != 0 || *end != '\0' || n < 1 || n > 9999)
		return 2;
	return enroll(argv[1], argv[2], argv[3], n);
}
