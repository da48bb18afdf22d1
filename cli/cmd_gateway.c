/*
 * cmd_gateway.c - `photoguard status` and `photoguard breakglass`: the
 * verbs that talk to the running gateway over its control socket
 * ([store] control_socket), in the protocol of core/ctl/ctl.h.  The
 * gateway knows the caller from the socket (SO_PEERCRED), so these verbs
 * carry no identity of their own.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "cli/cmd_gateway.h"
#include "cli/util.h"
#include "core/config/config.h"
#include "core/ctl/ctl.h"

static const char status_help[] =
    "Usage: photoguard status [--json]\n"
    "Ask the running gateway how things stand: for root the store, the\n"
    "policy in force, every active user's usage against each limit and\n"
    "the lockouts; for anyone else their own usage.\n"
    "  --json   one JSON object instead of text\n";

static const char breakglass_help[] =
    "Usage: photoguard breakglass --patient ID --reason TEXT\n"
    "Emergency access to one patient's photos, as the policy's\n"
    "`breakglass` line for your roles allows (time-limited, counted,\n"
    "alerted and audited).\n"
    "  --patient ID   the patient\n"
    "  --reason TEXT  why (required unless the policy says optional)\n";

/*
 * A connection to the gateway of CFG with REQ sent; -1 with errno set
 * (EINVAL: no usable control_socket) if there is none.
 */
static int
connect_send(const struct pg_config *cfg, const char *req)
{
	struct timeval tv = { CTL_CLIENT_MS / 1000, 0 };
	struct sockaddr_un sa;
	int fd;

	if (ctl_sockaddr(cfg->store_control_socket, &sa) != PG_OK) {
		errno = EINVAL;
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	/* connect() to a gateway whose queue is full waits, at most this. */
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left before DEADLINE, 0 when past. */
static int
left_ms(long long deadline)
{
	long long l = deadline - now_ms();

	return l > 0 ? (int)l : 0;
}

/*
 * Reads the start of a reply from FD until ctl_reply_verdict() decides,
 * the peer ends or DEADLINE passes: the bytes in HEAD (CTL_VERDICT_MAX),
 * their count in *HN, where the body starts in *BODY.  Returns the verdict
 * (CTL_REPLY_MORE: no answer); *PR and *N are the last poll() and read()
 * results, for the message.
 */
static enum ctl_verdict
read_verdict(int fd, long long deadline, char *head, size_t *hn, size_t *body,
    int *pr, ssize_t *n)
{
	struct pollfd p = { fd, POLLIN, 0 };
	enum ctl_verdict v = CTL_REPLY_MORE;

	*hn = 0;
	*pr = 0;
	*n = 0;
	while (v == CTL_REPLY_MORE &&
	    (*pr = poll(&p, 1, left_ms(deadline))) > 0 &&
	    (*n = read(fd, head + *hn, CTL_VERDICT_MAX - *hn)) > 0) {
		*hn += (size_t)*n;
		v = ctl_reply_verdict(head, *hn, body);
	}
	return v;
}

int
cli_gateway_tell(const struct pg_config *cfg, const char *req)
{
	char head[CTL_VERDICT_MAX];
	size_t hn, body;
	ssize_t n;
	int fd, pr, r;

	if ((fd = connect_send(cfg, req)) < 0)
		return errno == ENOENT || errno == ECONNREFUSED ||
		        errno == EINVAL
		    ? 0
		    : -1;
	r = read_verdict(fd, now_ms() + CTL_CLIENT_MS, head, &hn, &body, &pr,
	        &n) == CTL_REPLY_OK
	    ? 1
	    : -1;
	close(fd);
	return r;
}

int
cli_gateway_query(const struct pg_config *cfg, const char *req, char **body)
{
	long long deadline = now_ms() + CTL_CLIENT_MS;
	struct pollfd p;
	char head[CTL_VERDICT_MAX], *buf = NULL, *nb;
	size_t hn, at, len = 0, cap = 0;
	ssize_t n;
	int fd, pr, r = -1;

	*body = NULL;
	if ((fd = connect_send(cfg, req)) < 0)
		return errno == ENOENT || errno == ECONNREFUSED ||
		        errno == EINVAL
		    ? 0
		    : -1;
	if (read_verdict(fd, deadline, head, &hn, &at, &pr, &n) != CTL_REPLY_OK)
		goto out;
	p.fd = fd;
	p.events = POLLIN;
	for (;;) {
		if (cap - len < 4096 + (hn - at) + 1) {
			cap = cap ? cap * 2 : 16384;
			if (cap > (16u << 20) ||
			    (nb = realloc(buf, cap)) == NULL)
				goto out;
			buf = nb;
		}
		if (hn >
		    at) { /* the body's first bytes came with the verdict */
			memcpy(buf, head + at, hn - at);
			len = hn - at;
			at = hn;
		}
		if (poll(&p, 1, left_ms(deadline)) <= 0)
			goto out; /* no end within the time: no answer */
		if ((n = read(fd, buf + len, cap - len - 1)) < 0)
			goto out;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*body = buf;
	buf = NULL;
	r = 1;
out:
	free(buf);
	close(fd);
	return r;
}

/* Sends REQ to the gateway and copies its answer to stdout (a refusal to
 * stderr). */
static int
ask(const struct cli_ctx *ctx, const char *req)
{
	struct pg_config *cfg = cli_load_config(ctx);
	long long deadline = now_ms() + CTL_CLIENT_MS;
	struct pollfd p;
	char buf[4096], head[CTL_VERDICT_MAX];
	enum ctl_verdict v;
	int fd = -1, rc = CLI_EXIT_ERROR, pr = 0;
	size_t hn = 0, body = 0;
	ssize_t n = 0;
	FILE *out;

	if (cfg == NULL)
		return CLI_EXIT_ERROR;
	if ((fd = connect_send(cfg, req)) < 0) {
		if (errno == EINVAL)
			fprintf(stderr,
			    "%s: no usable [store] control_socket\n",
			    ctx->progname);
		else if (errno == EAGAIN)
			fprintf(stderr,
			    "%s: the gateway's control socket is busy: "
			    "nothing accepted within %d s\n",
			    ctx->progname, CTL_CLIENT_MS / 1000);
		else
			fprintf(stderr,
			    "%s: the gateway is not running (%s: %s)\n",
			    ctx->progname, cfg->store_control_socket,
			    strerror(errno));
		goto out;
	}
	/* The verdict is the answer's first bytes, which a stream socket
	 * may deliver over several reads. */
	v = read_verdict(fd, deadline, head, &hn, &body, &pr, &n);
	if (v == CTL_REPLY_MORE && pr == 0)
		fprintf(stderr,
		    "%s: the gateway did not answer: nothing within %d s\n",
		    ctx->progname, CTL_CLIENT_MS / 1000);
	else if (v == CTL_REPLY_MORE)
		fprintf(stderr, "%s: the gateway did not answer: %s\n",
		    ctx->progname,
		    pr < 0 || n < 0 ? strerror(errno)
		                    : "it closed the connection");
	if (v == CTL_REPLY_MORE)
		goto out;
	if (v == CTL_REPLY_BAD) {
		fprintf(stderr,
		    "%s: the gateway's answer is not one of the control "
		    "protocol\n",
		    ctx->progname);
		goto out;
	}
	rc = v == CTL_REPLY_OK ? CLI_EXIT_OK : CLI_EXIT_FAIL;
	out = rc == CLI_EXIT_OK ? stdout : stderr;
	fwrite(head + body, 1, hn - body, out);
	p.fd = fd;
	p.events = POLLIN;
	while (poll(&p, 1, left_ms(deadline)) > 0 &&
	    (n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, out);
out:
	if (fd >= 0)
		close(fd);
	pg_config_free(cfg);
	return rc;
}

/* Asks VERB with ARG and TEXT (see ctl_format_request()). */
static int
ask_verb(const struct cli_ctx *ctx, enum ctl_verb verb, const char *arg,
    const char *text)
{
	char req[CTL_LINE_MAX + 1];

	if (ctl_format_request(req, sizeof(req), verb, arg, text) < 0)
		return CLI_EXIT_USAGE;
	return ask(ctx, req);
}

int
cmd_status(const struct cli_ctx *ctx, int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		fputs(status_help, stdout);
		return CLI_EXIT_OK;
	}
	if (argc == 2 && strcmp(argv[1], "--json") == 0)
		return ask_verb(ctx, CTL_STATUS_JSON, NULL, NULL);
	if (argc != 1) {
		fputs(status_help, stderr);
		return CLI_EXIT_USAGE;
	}
	return ask_verb(ctx, CTL_STATUS, NULL, NULL);
}

int
cmd_breakglass(const struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "patient", required_argument, NULL, 'p' },
		{ "reason", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	const char *patient = NULL, *reason = "";
	int c;

	if (cli_wants_help(argc, argv)) {
		fputs(breakglass_help, stdout);
		return CLI_EXIT_OK;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c == 'p')
			patient = optarg;
		else if (c == 'r')
			reason = optarg;
		else
			return CLI_EXIT_USAGE;
	}
	if (patient == NULL || optind != argc || !ctl_arg_ok(patient)) {
		fputs(breakglass_help, stderr);
		return CLI_EXIT_USAGE;
	}
	if (!ctl_text_ok(reason)) {
		fprintf(stderr,
		    "%s: the reason must be one line of at most "
		    "%d bytes\n",
		    ctx->progname, CTL_TEXT_MAX);
		return CLI_EXIT_USAGE;
	}
	return ask_verb(ctx, CTL_BREAKGLASS, patient, reason);
}
