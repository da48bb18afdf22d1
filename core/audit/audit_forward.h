/*
 * audit_forward.h - the off-host copy of the audit trail: each record
 * line and each signed head sent whole as RFC 5424 syslog messages with
 * structured data (audit_forward.c), and the collector's side that puts
 * them back together per host (audit_collect.c).  The message format is
 * specified in docs/audit-format.md ("Syslog").  Not a public interface.
 */
#ifndef PG_AUDIT_FORWARD_H
#define PG_AUDIT_FORWARD_H

#include <stddef.h>

#include "core/audit/audit_int.h"

/* The SD-ID.  32473 is the private enterprise number RFC 5612 sets aside
 * for documentation; a deployment that owns a number may not change it
 * alone: the collector's reader looks for exactly this ID. */
#define AUDIT_FWD_SDID  "photoguard@32473"
#define AUDIT_FWD_APP   "photoguard"
#define AUDIT_FWD_MSGID "audit"
/* Payload bytes per message: with the header and the structured data a
 * message stays under 2.8 KB, far below rsyslog's 8 KiB default
 * maxMessageSize and the 2 KiB RFC 5424 floor plus headroom. */
#define AUDIT_FWD_PART    1900
#define AUDIT_FWD_MSG_MAX 4096
/* The most parts a line may take (AUDIT_MAX_RECORD / AUDIT_FWD_PART). */
#define AUDIT_FWD_MAX_PARTS 35

enum audit_fwd_kind {
	AUDIT_FWD_RECORD,    /* a record line, without its newline */
	AUDIT_FWD_HEAD,      /* the head file's JSON after a replacement */
	AUDIT_FWD_HEARTBEAT, /* a signed "still here", head-shaped */
};

#define AUDIT_FWD_KINDS 3

/*
 * Sends LINE/LEN (at most AUDIT_MAX_RECORD bytes) of HOST, of kind KIND
 * with seq SEQ, to the datagram socket SOCKPATH in as many messages as it
 * takes (LOG_AUTHPRIV, LOG_INFO).  With WAIT, waits at most about a
 * second per message for a full socket; without, not at all (the daemon
 * did not take the last one: the writers, who hold the log's lock, must
 * not wait a second per record for it).  Returns 0 when every part was
 * handed to the socket, PG_ERR_IO (errno kept) when one was not,
 * PG_ERR_TOOBIG for a line or host that cannot be sent.
 */
int audit_forward(const char *sockpath, const char *host,
    enum audit_fwd_kind kind, long long seq, const char *line, size_t len,
    int wait);

struct audit_log;

/*
 * Sends a heartbeat of LOG (a long-lived writer with a key): the tail it
 * knows (seq and hash), the time now and the host, signed with domain
 * "heartbeat" and written as a head is.  Lets silence at the collector
 * mean something when no records come.  Returns as audit_forward()
 * with WAIT.
 */
int audit_forward_heartbeat(struct audit_log *log);

/* RFC 3339 (a 'Z' or a numeric offset) S/N to Unix seconds. */
int audit_fwd_stamp(const char *s, size_t n, long long *out);

/* One message of ours as the collector's file holds it. */
struct audit_fwd_msg {
	char host[AUDIT_HOST_MAX]; /* SD-PARAM unescaped; "" if unknown */
	enum audit_fwd_kind kind;
	long long seq;
	size_t part, parts;
	char hash[AUDIT_HEX_BYTES];
	const char *payload; /* into the line */
	size_t plen;
	long long time; /* the message's TIMESTAMP, Unix seconds */
	char stamp[40]; /* as written */
};

/*
 * Parses LINE/LEN, one line of a collector's file (RFC 5424, as
 * rsyslog's RSYSLOG_SyslogProtocol23Format writes it).  Returns 1 with M
 * filled for one of our messages, 0 for a line that carries no
 * AUDIT_FWD_SDID element (someone else's), -1 for one that does but is
 * malformed (WHY says how; M->host set if it could be read).
 */
int audit_fwd_parse(const char *line, size_t len, struct audit_fwd_msg *m,
    char *why, size_t whylen);

#endif /* PG_AUDIT_FORWARD_H */
