/*
 * dir_lookup_tool.c - test driver for the directory client: builds a
 * struct pg_config from flags, opens the directory and runs commands given
 * on the command line or, with -s, one per line on stdin:
 *   lookup NAME | lookuphex HEX | lock NAME | unlock NAME | flush |
 *   sleep MS | sh COMMAND | threads N ROUNDS NAME...
 * and prints each result as "key: value" lines for the shell tests.
 */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/config/config.h"
#include "core/dir/dir.h"
#include "base/base.h"

static const struct {
	int code;
	const char *name;
} codes[] = {
	{ PG_OK, "ok" },
	{ PG_ERR_NOTFOUND, "notfound" },
	{ PG_ERR_INVAL, "inval" },
	{ PG_ERR_DIR_UNAVAIL, "unavail" },
	{ PG_ERR_DIR_BADANSWER, "badanswer" },
	{ PG_ERR_TLS, "tls" },
	{ PG_ERR_AUTH, "auth" },
	{ PG_ERR_PERM, "perm" },
	{ PG_ERR_CONFIG, "config" },
	{ PG_ERR_PARSE, "parse" },
	{ PG_ERR_IO, "io" },
	{ PG_ERR_NOMEM, "nomem" },
	{ PG_ERR_TOOBIG, "toobig" },
	{ PG_ERR_SYMLINK, "symlink" },
};

static const char *
code_name(int rc)
{
	static char buf[32];
	size_t i;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (codes[i].code == rc)
			return codes[i].name;
	snprintf(buf, sizeof(buf), "error%d", rc);
	return buf;
}

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void
print_list(const char *key, char **v, size_t n)
{
	size_t i;

	printf("%s:", key);
	for (i = 0; i < n; i++)
		printf(" %s", v[i]);
	printf("\n");
}

static void
print_result(struct dir *d, int rc, long ms)
{
	char err[512];

	printf("result: %s\n", code_name(rc));
	if (rc != PG_OK && rc != PG_ERR_NOTFOUND) {
		dir_last_error(d, err, sizeof(err));
		printf("error: %s\n", err);
	}
	printf("elapsed_ms: %ld\n", ms);
}

static void
do_lookup(struct dir *d, const char *name, size_t len)
{
	struct dir_user *u = NULL;
	long t0 = now_ms();
	int rc = dir_lookup(d, name, len, &u);

	print_result(d, rc, now_ms() - t0);
	if (rc == PG_OK) {
		printf("name: %s\ndn: %s\n", u->name, u->dn ? u->dn : "-");
		print_list("groups", u->groups, u->ngroups);
		print_list("patients", u->patients, u->npatients);
		printf("npatients: %zu\nlocked: %s\n", u->npatients,
		    u->locked ? "yes" : "no");
	}
	dir_user_free(u);
	printf(".\n");
	fflush(stdout);
}

/* Summary of an answer, to compare answers across threads. */
static void
summary(int rc, const struct dir_user *u, char *buf, size_t len)
{
	size_t i, k;

	k = (size_t)snprintf(buf, len, "%d|", rc);
	for (i = 0; u != NULL && i < u->ngroups && k < len; i++)
		k += (size_t)snprintf(buf + k, len - k, "%s,", u->groups[i]);
	for (i = 0; u != NULL && i < u->npatients && k < len; i++)
		k += (size_t)snprintf(buf + k, len - k, "%s,", u->patients[i]);
}

struct thread_arg {
	struct dir *d;
	char **names;
	char **want;
	int nnames;
	int rounds;
	int bad;
};

static void *
thread_main(void *p)
{
	struct thread_arg *a = p;
	char got[65536];
	int r, i, rc;

	for (r = 0; r < a->rounds; r++) {
		for (i = 0; i < a->nnames; i++) {
			struct dir_user *u = NULL;

			rc = dir_lookup(
			    a->d, a->names[i], strlen(a->names[i]), &u);
			summary(rc, u, got, sizeof(got));
			if (strcmp(got, a->want[i]) != 0)
				a->bad++;
			dir_user_free(u);
			if ((r + i) % 7 == 0)
				dir_flush_cache(a->d);
		}
	}
	return NULL;
}

/* Cuts the next space-separated word out of *P. */
static char *
next_word(char **p)
{
	char *w = *p;

	while (*w == ' ')
		w++;
	if (*w == '\0')
		return NULL;
	*p = w + strcspn(w, " ");
	if (**p != '\0')
		*(*p)++ = '\0';
	return w;
}

/* "threads N ROUNDS NAME..." - N threads look NAMEs up ROUNDS times. */
static int
do_threads(struct dir *d, const char *arg)
{
	char *copy = strdup(arg), *save, *tok;
	char *names[64], *want[64];
	struct thread_arg ta[64];
	pthread_t t[64];
	int n, rounds, nn = 0, i, bad = 0;

	if (copy == NULL)
		return -1;
	save = copy;
	tok = next_word(&save);
	n = tok ? (int)strtol(tok, NULL, 10) : 0;
	tok = next_word(&save);
	rounds = tok ? (int)strtol(tok, NULL, 10) : 0;
	while ((tok = next_word(&save)) != NULL && nn < 64) {
		struct dir_user *u = NULL;
		int rc = dir_lookup(d, tok, strlen(tok), &u);

		names[nn] = tok;
		want[nn] = malloc(65536);
		summary(rc, u, want[nn], 65536);
		dir_user_free(u);
		nn++;
	}
	if (n < 1 || n > 64 || rounds < 1 || nn == 0)
		return -1;
	for (i = 0; i < n; i++) {
		ta[i] = (struct thread_arg){ d, names, want, nn, rounds, 0 };
		pthread_create(&t[i], NULL, thread_main, &ta[i]);
	}
	for (i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		bad += ta[i].bad;
	}
	printf("threads: %d lookups, %d differed\n.\n", n * rounds * nn, bad);
	for (i = 0; i < nn; i++)
		free(want[i]);
	free(copy);
	return 0;
}

static int
unhex(const char *s, char *out, size_t max, size_t *len)
{
	size_t n = strlen(s), i;

	if (n % 2 != 0 || n / 2 > max)
		return -1;
	for (i = 0; i < n; i += 2) {
		char b[3] = { s[i], s[i + 1], 0 };
		char *end;

		out[i / 2] = (char)strtoul(b, &end, 16);
		if (*end != '\0')
			return -1;
	}
	*len = n / 2;
	return 0;
}

static int
run(struct dir *d, const char *cmd, const char *arg)
{
	char buf[4096];
	size_t len;
	long t0;
	int rc;

	if (strcmp(cmd, "lookup") == 0) {
		do_lookup(d, arg, strlen(arg));
	} else if (strcmp(cmd, "lookuphex") == 0) {
		if (unhex(arg, buf, sizeof(buf), &len) != 0)
			return -1;
		do_lookup(d, buf, len);
	} else if (strcmp(cmd, "lock") == 0 || strcmp(cmd, "unlock") == 0) {
		t0 = now_ms();
		rc = dir_set_locked(d, arg, strlen(arg), cmd[0] == 'l');
		print_result(d, rc, now_ms() - t0);
		printf(".\n");
	} else if (strcmp(cmd, "listlocked") == 0) {
		char **users = NULL, **since = NULL;
		size_t i, n = 0;

		rc = dir_list_locked(d, &users, &since, &n);
		printf("result: %s\nlocked-users:", code_name(rc));
		for (i = 0; rc == PG_OK && i < n; i++)
			printf(" %s@%s", users[i], since[i]);
		printf("\n.\n");
		dir_locked_free(users, since);
	} else if (strcmp(cmd, "threads") == 0) {
		return do_threads(d, arg);
	} else if (strcmp(cmd, "flush") == 0) {
		dir_flush_cache(d);
	} else if (strcmp(cmd, "sleep") == 0) {
		long ms = strtol(arg, NULL, 10);
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

		nanosleep(&ts, NULL);
	} else if (strcmp(cmd, "sh") == 0) {
		fflush(stdout);
		if (system(arg) != 0)
			fprintf(stderr, "sh: command failed: %s\n", arg);
	} else {
		return -1;
	}
	fflush(stdout);
	return 0;
}

static int
script(struct dir *d)
{
	char line[8192];

	while (fgets(line, sizeof(line), stdin) != NULL) {
		char *sp;
		const char *arg = "";

		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		sp = strchr(line, ' ');
		if (sp != NULL) {
			*sp = '\0';
			arg = sp + 1;
		}
		if (run(d, line, arg) != 0) {
			fprintf(stderr, "bad command: %s\n", line);
			return 2;
		}
	}
	return 0;
}

static const struct option opts[] = {
	{ "backend", required_argument, NULL, 'b' },
	{ "uri", required_argument, NULL, 'H' },
	{ "tls", required_argument, NULL, 'T' },
	{ "ca", required_argument, NULL, 'C' },
	{ "no-verify", no_argument, NULL, 'N' },
	{ "bind-dn", required_argument, NULL, 'D' },
	{ "bind-pw-file", required_argument, NULL, 'y' },
	{ "base", required_argument, NULL, 'B' },
	{ "user-base", required_argument, NULL, 1 },
	{ "user-filter", required_argument, NULL, 2 },
	{ "user-attr", required_argument, NULL, 3 },
	{ "group-base", required_argument, NULL, 4 },
	{ "group-filter", required_argument, NULL, 5 },
	{ "care-base", required_argument, NULL, 6 },
	{ "care-filter", required_argument, NULL, 7 },
	{ "care-attr", required_argument, NULL, 8 },
	{ "lockout-attr", required_argument, NULL, 'L' },
	{ "care-file", required_argument, NULL, 'f' },
	{ "net-timeout-ms", required_argument, NULL, 9 },
	{ "timeout-ms", required_argument, NULL, 10 },
	{ "group-nesting", required_argument, NULL, 11 },
	{ "ttl", required_argument, NULL, 't' },
	{ "script", no_argument, NULL, 's' },
	{ NULL, 0, NULL, 0 },
};

static int
parse_opts(int argc, char **argv, struct pg_config *c, int *scr)
{
	int ch;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'b':
			c->dir_backend = strcmp(optarg, "local") == 0
			    ? PG_DIR_LOCAL
			    : PG_DIR_LDAP;
			break;
		case 'H':
			c->dir_uri = optarg;
			break;
		case 'T':
			c->dir_tls = strcmp(optarg, "ldaps") == 0 ? PG_TLS_LDAPS
			    : strcmp(optarg, "none") == 0         ? PG_TLS_NONE
			                                  : PG_TLS_STARTTLS;
			break;
		case 'C':
			c->dir_ca_file = optarg;
			break;
		case 'N':
			c->dir_tls_verify = false;
			break;
		case 'D':
			c->dir_bind_dn = optarg;
			break;
		case 'y':
			c->dir_bind_password_file = optarg;
			break;
		case 'B':
			c->dir_base_dn = optarg;
			break;
		case 1:
			c->dir_user_base = optarg;
			break;
		case 2:
			c->dir_user_filter = optarg;
			break;
		case 3:
			c->dir_user_attr = optarg;
			break;
		case 4:
			c->dir_group_base = optarg;
			break;
		case 5:
			c->dir_group_filter = optarg;
			break;
		case 6:
			c->dir_care_team_base = optarg;
			break;
		case 7:
			c->dir_care_team_filter = optarg;
			break;
		case 8:
			c->dir_care_team_attr = optarg;
			break;
		case 'L':
			c->dir_lockout_attr = optarg;
			break;
		case 'f':
			c->dir_care_team_file = optarg;
			break;
		case 9:
			c->dir_network_timeout_ms =
			    (int)strtol(optarg, NULL, 10);
			break;
		case 10:
			c->dir_timeout_ms = (int)strtol(optarg, NULL, 10);
			break;
		case 't':
			c->dir_cache_ttl_s = (int)strtol(optarg, NULL, 10);
			break;
		case 11:
			c->dir_group_nesting = (int)strtol(optarg, NULL, 10);
			break;
		case 's':
			*scr = 1;
			break;
		default:
			return -1;
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct pg_config cfg;
	struct dir *d = NULL;
	char err[512];
	int rc, scr = 0;

	memset(&cfg, 0, sizeof(cfg));
	cfg.dir_tls_verify = true;
	if (parse_opts(argc, argv, &cfg, &scr) != 0) {
		fprintf(stderr,
		    "usage: dir_lookup_tool [options] [-s | CMD ARG]\n");
		return 2;
	}
	rc = dir_open(&cfg, &d);
	if (rc != PG_OK) {
		printf("open: %s\n", code_name(rc));
		return 1;
	}
	dir_last_error(d, err, sizeof(err));
	if (err[0] != '\0')
		printf("open-warning: %s\n", err);
	if (scr)
		rc = script(d);
	else if (optind + 2 == argc)
		rc = run(d, argv[optind], argv[optind + 1]) ? 2 : 0;
	else
		rc = 2;
	dir_free(d);
	return rc;
}
