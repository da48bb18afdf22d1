/*
 * pam_bench.c - the login driver behind bench/pam_bench.sh: logins (auth
 * + account) through the real libpam with service files from a directory
 * of its own (pam_start_confdir), answering every prompt with the current
 * code the way an authenticator app would.  Prints one latency per login.
 * It does not link the core: libpam's own libaudit has an audit_open()
 * too, and an executable's definition would take its place.
 *
 *   pam_bench run|fork CONFDIR SERVICE USERS_FILE
 *       one login per user of USERS_FILE ("user base32 hex" lines, as
 *       pam_bench_enroll prints them); prints "ok|fail microseconds"
 *       and then the microseconds of pam_start, auth, account, pam_end.
 *       run: every login in this process, one pam_start() after another,
 *       so what the module's libraries set up once per process (libldap's
 *       SASL plugins, NSS modules...) is paid by the first login only.
 *       fork: every login in a child of its own that has not loaded the
 *       module yet, as under sshd, where each connection is a new process.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <liboath/oath.h>
#include <security/pam_appl.h>

#define USERS_MAX 100000
#define LINE_MAX_ 256

struct who {
	char user[64];
	char b32[64];
	char hex[64];
	unsigned char secret[20];
};

static int
code_at(const unsigned char *secret, time_t t, char *out)
{
	return oath_totp_generate((const char *)secret, 20, t, 30, 0, 6, out);
}

/* Answers every prompt with the current code of the user's secret. */
static int
conv(int n, const struct pam_message **msg, struct pam_response **resp,
    void *data)
{
	const struct who *w = data;
	struct pam_response *r = calloc((size_t)n, sizeof(*r));
	char code[16];
	int i;

	if (r == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		if (msg[i]->msg_style != PAM_PROMPT_ECHO_OFF &&
		    msg[i]->msg_style != PAM_PROMPT_ECHO_ON)
			continue;
		if (code_at(w->secret, time(NULL), code) != 0 ||
		    (r[i].resp = strdup(code)) == NULL) {
			free(r);
			return PAM_CONV_ERR;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

/* Microseconds from A to B. */
static long long
us_between(const struct timespec *a, const struct timespec *b)
{
	return (long long)(b->tv_sec - a->tv_sec) * 1000000 +
	    (b->tv_nsec - a->tv_nsec) / 1000;
}

/*
 * One login; T gets the clock before pam_start (which loads the modules),
 * pam_authenticate, pam_acct_mgmt and pam_end, and after pam_end.
 */
static int
one(const char *confdir, const char *service, struct who *w,
    struct timespec t[5])
{
	struct pam_conv c = { conv, w };
	pam_handle_t *pamh = NULL;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &t[0]);
	r = pam_start_confdir(service, w->user, &c, confdir, &pamh);
	t[1] = t[2] = t[3] = t[4] = t[0];
	if (r != PAM_SUCCESS)
		return r;
	clock_gettime(CLOCK_MONOTONIC, &t[1]);
	r = pam_authenticate(pamh, 0);
	clock_gettime(CLOCK_MONOTONIC, &t[2]);
	if (r == PAM_SUCCESS)
		r = pam_acct_mgmt(pamh, 0);
	clock_gettime(CLOCK_MONOTONIC, &t[3]);
	pam_end(pamh, r);
	clock_gettime(CLOCK_MONOTONIC, &t[4]);
	return r;
}

static int
unhex(const char *s, unsigned char *out, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned v;
		char b[3] = { s[2 * i], s[2 * i + 1], 0 };
		char *end;

		errno = 0;
		v = (unsigned)strtoul(b, &end, 16);
		if (errno != 0 || *end != '\0' || b[0] == 0)
			return -1;
		out[i] = (unsigned char)v;
	}
	return 0;
}

/* "user base32 hex" into *W; -1 if the line is not that. */
static int
parse_line(char *line, struct who *w)
{
	char *f[3], *p = line;
	size_t i, len;

	memset(w, 0, sizeof(*w));
	for (i = 0; i < 3; i++) {
		while (*p == ' ')
			p++;
		f[i] = p;
		while (*p != '\0' && *p != ' ' && *p != '\n')
			p++;
		len = (size_t)(p - f[i]);
		if (len == 0 || len >= sizeof(w->user))
			return -1;
		if (*p != '\0')
			*p++ = '\0';
	}
	memcpy(w->user, f[0], strlen(f[0]) + 1);
	memcpy(w->b32, f[1], strlen(f[1]) + 1);
	memcpy(w->hex, f[2], strlen(f[2]) + 1);
	return strlen(w->hex) == 40 ? unhex(w->hex, w->secret, 20) : -1;
}

/*
 * One timed login; prints its line: the outcome, the whole login's
 * microseconds, then those of pam_start, auth, account and pam_end.
 */
static void
timed(const char *confdir, const char *service, struct who *w)
{
	struct timespec t[5];
	int r;

	r = one(confdir, service, w, t);
	printf("%s %lld %lld %lld %lld %lld\n",
	    r == PAM_SUCCESS ? "ok" : "fail", us_between(&t[0], &t[4]),
	    us_between(&t[0], &t[1]), us_between(&t[1], &t[2]),
	    us_between(&t[2], &t[3]), us_between(&t[3], &t[4]));
}

/* The login of W in a child of its own, which prints its line. */
static void
forked(const char *confdir, const char *service, struct who *w)
{
	pid_t pid;
	int st;

	fflush(stdout);
	if ((pid = fork()) < 0) {
		perror("fork");
		printf("fail 0\n");
		return;
	}
	if (pid == 0) {
		timed(confdir, service, w);
		fflush(stdout);
		_exit(0);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		printf("fail 0\n"); /* the child died before its line */
}

static int
run(const char *confdir, const char *service, const char *file, int fork_each)
{
	char line[LINE_MAX_];
	FILE *f = fopen(file, "r");
	struct who w;
	long n = 0;

	if (f == NULL) {
		perror(file);
		return 1;
	}
	while (n < USERS_MAX && fgets(line, sizeof(line), f) != NULL) {
		if (parse_line(line, &w) != 0)
			continue;
		if (fork_each)
			forked(confdir, service, &w);
		else
			timed(confdir, service, &w);
		n++;
	}
	fclose(f);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "run") == 0)
		return run(argv[2], argv[3], argv[4], 0);
	if (argc == 5 && strcmp(argv[1], "fork") == 0)
		return run(argv[2], argv[3], argv[4], 1);
	fprintf(
	    stderr, "usage: pam_bench run|fork CONFDIR SERVICE USERS_FILE\n");
	return 2;
}
