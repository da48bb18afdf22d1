/*
 * ctl.h - the gateway's control protocol, spoken by the gateway
 * (gateway/control*.c) and the photoguard tool (cli/cmd_gateway.c,
 * cli/cmd_lockout.c): the verbs, how a request is written and read, how a
 * reply starts, and every limit.  Both sides use these names only, so they
 * cannot drift apart.  The specification is docs/control-protocol.md.
 */
#ifndef PG_CTL_H
#define PG_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/un.h>

#define CTL_LINE_MAX  1023 /* a request line, its newline included */
#define CTL_ARG_MAX   255  /* a verb's argument: one word */
#define CTL_TEXT_MAX  400  /* free text after it (a break-glass reason) */
#define CTL_ERROR_MAX 512  /* an "error: WHY" line, its newline included */

#define CTL_REQUEST_MS 2000  /* the server: from accept to the newline */
#define CTL_ANSWER_MS  2000  /* the server: to send the whole reply */
#define CTL_CLIENT_MS  10000 /* a client: the whole exchange */

/* The requests; ctl_verb_name() gives each one's words on the wire. */
enum ctl_verb {
	CTL_STATUS,      /* the caller's view, as text */
	CTL_STATUS_JSON, /* the same, one JSON object */
	CTL_BREAKGLASS,  /* PATIENT [REASON...]: a grant for the caller */
	CTL_UNLOCK,      /* USER: forget what is cached about USER (root) */
	CTL_VIEW,        /* UID: serve the FUSE connection passed along
	                    with the request as UID's own view (root) */
	CTL_VERB_COUNT
};

/* A request as the server reads it. */
struct ctl_request {
	enum ctl_verb verb;
	char arg[CTL_ARG_MAX + 1];   /* the patient or user; "" if none */
	char text[CTL_TEXT_MAX + 1]; /* the reason; "" if none */
};

/* What the first bytes of a reply say. */
enum ctl_verdict {
	CTL_REPLY_MORE,  /* too few bytes to tell */
	CTL_REPLY_OK,    /* "ok" and its newline; what follows is the body */
	CTL_REPLY_ERROR, /* "error: WHY": the request was refused */
	CTL_REPLY_BAD,   /* neither: not a reply of this protocol */
};

/* Bytes a client needs at most before ctl_reply_verdict() decides. */
#define CTL_VERDICT_MAX 7

/* The words of VERB on the wire, or NULL for no verb. */
const char *ctl_verb_name(enum ctl_verb verb);

/* Whether S may be a verb's argument: 1 to CTL_ARG_MAX bytes, no space
 * and no control character. */
bool ctl_arg_ok(const char *s);

/* Whether S may be free text: at most CTL_TEXT_MAX bytes and no control
 * character (spaces are allowed). */
bool ctl_text_ok(const char *s);

/*
 * Writes the request line for VERB, its newline included, into BUF of
 * LEN bytes.  ARG is required by the verbs that take one and must be NULL
 * otherwise; TEXT (NULL or "": none) is for CTL_BREAKGLASS only (the
 * reader drops its leading spaces).  Returns the line's length,
 * or PG_ERR_INVAL (wrong arguments for the verb), PG_ERR_TOOBIG (over a
 * limit or LEN).
 */
int ctl_format_request(char *buf, size_t len, enum ctl_verb verb,
    const char *arg, const char *text);

/*
 * Reads a request from the N bytes at BUF as they came from the socket:
 * one line ending in its newline and nothing after it.  Returns 0 with
 * *RQ filled, or PG_ERR_PARSE (no newline, more than one line, a NUL or
 * control character, an unknown verb), PG_ERR_INVAL (an argument missing
 * or extra), PG_ERR_TOOBIG (over a limit), with the reason for the client
 * in WHY.
 */
int ctl_parse_request(const char *buf, size_t n, struct ctl_request *rq,
    char *why, size_t whylen);

/* Writes the "ok" line that starts a successful reply to F; 0, or -1 if
 * F failed. */
int ctl_reply_ok(FILE *f);

/*
 * Writes "error: " and the message FMT makes, as one line of at most
 * CTL_ERROR_MAX bytes (cut if longer; control characters as '?'), to F.
 * 0, or -1 if F failed.
 */
int ctl_reply_error(FILE *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* As ctl_reply_error(), into BUF of LEN bytes: returns the line's length,
 * or -1 if LEN cannot hold "error: " and a newline. */
int ctl_format_error(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * The verdict of a reply whose first N bytes are P.  On CTL_REPLY_OK,
 * *BODY (may be NULL) is where the body starts; on CTL_REPLY_ERROR, 0 (the
 * whole reply is the refusal).  A stream that ends while this still says
 * CTL_REPLY_MORE was cut short.
 */
enum ctl_verdict ctl_reply_verdict(const char *p, size_t n, size_t *body);

/* Fills SA for the socket at PATH: PG_OK, PG_ERR_INVAL (NULL or empty),
 * or PG_ERR_TOOBIG (longer than a socket path may be). */
int ctl_sockaddr(const char *path, struct sockaddr_un *sa);

/*
 * Gives the calling process (root, single-threaded: a login's session
 * process) a view of its own for UID (primary group GID): a new mount
 * namespace with a FUSE mount over MOUNTPOINT that only UID may use,
 * handed to the gateway listening on SOCK (ctl_view.c).  Returns PG_OK;
 * PG_ERR_NOTFOUND when no gateway listens (nothing done); otherwise an
 * error with WHY, the mount taken away again (the shared view shows, in
 * a namespace of the caller's own when one was made).
 */
int ctl_view_enter(const char *sock, const char *mountpoint, uid_t uid,
    gid_t gid, char *why, size_t len);

#endif /* PG_CTL_H */
