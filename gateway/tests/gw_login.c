/*
 * gw_login.c - test helper: one whole login through the real libpam (run
 * it under pam_wrapper), held open like a shell until told to log out.
 *   gw_login SERVICE USER GOFILE
 * authenticate (every prompt answered with the first line of standard
 * input), account, open_session; prints "session open pid=N" and waits
 * until GOFILE exists (at most 300 s), then close_session.  Each step's
 * result goes to standard output; exit 0 only if all of them succeeded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <security/pam_appl.h>

#define ANSWER_MAX 256

static char answer[ANSWER_MAX];

static int
conv(int n, const struct pam_message **msg, struct pam_response **resp,
    void *data)
{
	struct pam_response *r = calloc((size_t)n, sizeof(*r));
	int i;

	(void)data;
	if (r == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF ||
		    msg[i]->msg_style == PAM_PROMPT_ECHO_ON)
			r[i].resp = strdup(answer);
		else
			printf("message: %s\n", msg[i]->msg);
	}
	*resp = r;
	return PAM_SUCCESS;
}

static int
step(pam_handle_t *h, const char *name, int rc)
{
	printf("%s: %s\n", name, pam_strerror(h, rc));
	fflush(stdout);
	return rc == PAM_SUCCESS;
}

int
main(int argc, char **argv)
{
	struct pam_conv c = { conv, NULL };
	pam_handle_t *h = NULL;
	int ok, i;

	if (argc != 4) {
		fprintf(stderr, "usage: gw_login SERVICE USER GOFILE\n");
		return 2;
	}
	if (fgets(answer, sizeof(answer), stdin) != NULL)
		answer[strcspn(answer, "\n")] = '\0';
	if (pam_start(argv[1], argv[2], &c, &h) != PAM_SUCCESS) {
		fprintf(stderr, "gw_login: pam_start failed\n");
		return 2;
	}
	ok = step(h, "authenticate", pam_authenticate(h, 0)) &&
	    step(h, "acct_mgmt", pam_acct_mgmt(h, 0)) &&
	    step(h, "open_session", pam_open_session(h, 0));
	if (ok) {
		printf("session open pid=%ld\n", (long)getpid());
		fflush(stdout);
		for (i = 0; i < 3000 && access(argv[3], F_OK) != 0; i++)
			usleep(100000);
		ok = step(h, "close_session", pam_close_session(h, 0));
	}
	pam_end(h, ok ? PAM_SUCCESS : PAM_ABORT);
	return ok ? 0 : 1;
}
