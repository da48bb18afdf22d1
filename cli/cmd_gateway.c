/*
 * cmd_gateway.c - `photoguard status` and `photoguard breakglass`: the
 * verbs that talk to the running gateway over its control socket
 * ([store] control_socket).  The gateway knows the caller from the socket
 * (SO_PEERCRED), so these verbs carry no identity of their own.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cli/cmd_gateway.h"
#include "cli/util.h"
#include "core/config/config.h"

#define REQ_MAX    1024
#define REASON_MAX 400
#define TIMEOUT_MS 10000 /* for the whole exchange, connect included */

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
	struct timeval tv = { TIMEOUT_MS / 1000, 0 };
	struct sockaddr_un sa;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (cfg->store_control_socket == NULL ||
	    strlen(cfg->store_control_socket) >= sizeof(sa.sun_path)) {
		errno = EINVAL;
		return -1;
	}
	memcpy(sa.sun_path, cfg->store_control_socket,
	    strlen(cfg->store_control_socket) + 1);
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

int
cli_gateway_tell(const struct pg_config *cfg, const char *req)
{
	struct pollfd p;
	char buf[3];
	int fd, r = -1;

	if ((fd = connect_send(cfg, req)) < 0)
		return errno == ENOENT || errno == ECONNREFUSED ||
		        errno == EINVAL
		    ? 0
		    : -1;
	p.fd = fd;
	p.events = POLLIN;
	if (poll(&p, 1, TIMEOUT_MS) > 0 && read(fd, buf, 3) == 3 &&
	    memcmp(buf, "ok\n", 3) == 0)
		r = 1;
	close(fd);
	return r;
}

/* Sends REQ to the gateway and copies its answer to stdout. */
static int
ask(const struct cli_ctx *ctx, const char *req)
{
	struct pg_config *cfg = cli_load_config(ctx);
	long long deadline = now_ms() + TIMEOUT_MS;
	struct pollfd p;
	char buf[4096], head[3];
	int fd = -1, rc = CLI_EXIT_ERROR, pr = 0;
	size_t hn = 0, off;
	ssize_t n = 0;

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
			    "nothing accepted within 10 s\n",
			    ctx->progname);
		else
			fprintf(stderr,
			    "%s: the gateway is not running (%s: %s)\n",
			    ctx->progname, cfg->store_control_socket,
			    strerror(errno));
		goto out;
	}
	p.fd = fd;
	p.events = POLLIN;
	/* The verdict is the answer's first three bytes, which a stream
	 * socket may deliver over several reads. */
	while ((pr = poll(&p, 1, left_ms(deadline))) > 0 &&
	    (n = read(fd, buf, sizeof(buf))) > 0) {
		off = 0;
		if (hn < sizeof(head)) {
			off = sizeof(head) - hn < (size_t)n ? sizeof(head) - hn
			                                    : (size_t)n;
			memcpy(head + hn, buf, off);
			if ((hn += off) < sizeof(head))
				continue;
			rc = memcmp(head, "ok\n", 3) == 0 ? CLI_EXIT_OK
			                                  : CLI_EXIT_FAIL;
			if (rc != CLI_EXIT_OK)
				fwrite(head, 1, sizeof(head), stderr);
		}
		fwrite(buf + off, 1, (size_t)n - off,
		    rc == CLI_EXIT_OK ? stdout : stderr);
	}
	if (hn < sizeof(head))
		fprintf(stderr, "%s: the gateway did not answer: %s\n",
		    ctx->progname,
		    pr == 0               ? "nothing within 10 s"
		        : pr < 0 || n < 0 ? strerror(errno)
		                          : "it closed the connection");
out:
	if (fd >= 0)
		close(fd);
	pg_config_free(cfg);
	return rc;
}

int
cmd_status(const struct cli_ctx *ctx, int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		fputs(status_help, stdout);
		return CLI_EXIT_OK;
	}
	if (argc == 2 && strcmp(argv[1], "--json") == 0)
		return ask(ctx, "status json\n");
	if (argc != 1) {
		fputs(status_help, stderr);
		return CLI_EXIT_USAGE;
	}
	return ask(ctx, "status\n");
}

/* A reason fit for one request line: no control characters. */
static int
reason_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
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
	char req[REQ_MAX];
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
	if (patient == NULL || optind != argc || strchr(patient, ' ') ||
	    patient[0] == '\0') {
		fputs(breakglass_help, stderr);
		return CLI_EXIT_USAGE;
	}
	if (strlen(reason) > REASON_MAX || !reason_ok(reason)) {
		fprintf(stderr,
		    "%s: the reason must be one line of at most "
		    "%d bytes\n",
		    ctx->progname, REASON_MAX);
		return CLI_EXIT_USAGE;
	}
	if (snprintf(req, sizeof(req), "breakglass %s %s\n", patient, reason) >=
	    (int)sizeof(req))
		return CLI_EXIT_USAGE;
	return ask(ctx, req);
}
