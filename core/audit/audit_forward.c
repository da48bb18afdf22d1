/*
 * audit_forward.c - sends one record line or one head, whole, to the
 * local syslog daemon's socket as RFC 5424 messages: a line longer than
 * AUDIT_FWD_PART bytes goes in several, each naming its part, so no
 * relay cuts it and the collector can put it back together
 * (audit_collect.c).  Format: docs/audit-format.md, "Syslog".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/audit/audit_forward.h"
#include "core/audit/audit_int.h"
#include "core/audit/audit_log.h"
#include "base/base.h"

#define PRI_AUTHPRIV_INFO (10 * 8 + 6)
#define HOSTNAME_MAX      64

static const char *const kind_names[] = { "record", "head", "heartbeat" };

/* The host as an RFC 5424 HOSTNAME: only when it is a plain name, else
 * the nil value; the structured data carries it in every case. */
static void
header_host(const char *host, char *out, size_t outlen)
{
	size_t n = strlen(host);

	if (n == 0 || n > HOSTNAME_MAX || n >= outlen ||
	    strspn(host,
	        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	        "0123456789.-_") != n) {
		memcpy(out, "-", 2);
		return;
	}
	memcpy(out, host, n + 1);
}

/* HOST as an SD-PARAM value: '"', '\' and ']' escaped (RFC 5424 6.3.3). */
static int
sd_escape(const char *host, char *out, size_t outlen)
{
	size_t o = 0;

	for (; *host != '\0'; host++) {
		if (o + 3 > outlen)
			return PG_ERR_TOOBIG;
		if (*host == '"' || *host == '\\' || *host == ']')
			out[o++] = '\\';
		out[o++] = *host;
	}
	out[o] = '\0';
	return PG_OK;
}

static int
send_one(
    int fd, const struct sockaddr_un *sa, const char *msg, size_t n, int wait)
{
	ssize_t w;

	do
		w = sendto(fd, msg, n, MSG_NOSIGNAL | (wait ? 0 : MSG_DONTWAIT),
		    (const struct sockaddr *)sa, sizeof(*sa));
	while (w < 0 && errno == EINTR);
	return w == (ssize_t)n ? PG_OK : PG_ERR_IO;
}

static int
open_socket(const char *path, struct sockaddr_un *sa)
{
	/* A daemon that stops reading must not stall the writers, who
	 * hold the log's lock: a lost message shows as a gap at the
	 * collector. */
	struct timeval tv = { 1, 0 };
	int fd;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa->sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

int
audit_forward(const char *sockpath, const char *host, enum audit_fwd_kind kind,
    long long seq, const char *line, size_t len, int wait)
{
	unsigned char h[AUDIT_HASH_BYTES];
	char hex[AUDIT_HEX_BYTES], hn[HOSTNAME_MAX + 1], sdhost[2 * 256 + 1];
	char now[AUDIT_TIME_LEN + 8], msg[AUDIT_FWD_MSG_MAX];
	struct sockaddr_un sa;
	size_t parts, i, off, n;
	int fd, m, r = PG_OK;

	if (len == 0 || len > AUDIT_MAX_RECORD ||
	    (unsigned)kind >= sizeof(kind_names) / sizeof(kind_names[0]) ||
	    sd_escape(host, sdhost, sizeof(sdhost)) != PG_OK)
		return PG_ERR_TOOBIG;
	header_host(host, hn, sizeof(hn));
	audit_hash(line, len, h);
	audit_hex(h, sizeof(h), hex);
	audit_now(now, sizeof(now));
	parts = (len + AUDIT_FWD_PART - 1) / AUDIT_FWD_PART;
	if ((fd = open_socket(sockpath, &sa)) < 0)
		return PG_ERR_IO;
	for (i = 0, off = 0; i < parts && r == PG_OK; i++, off += n) {
		n = len - off < AUDIT_FWD_PART ? len - off : AUDIT_FWD_PART;
		m = snprintf(msg, sizeof(msg),
		    "<%d>1 %s %s " AUDIT_FWD_APP " %ld " AUDIT_FWD_MSGID
		    " [" AUDIT_FWD_SDID " host=\"%s\" kind=\"%s\" seq=\"%lld\""
		    " part=\"%zu\" parts=\"%zu\" hash=\"%s\"] ",
		    PRI_AUTHPRIV_INFO, now, hn, (long)getpid(), sdhost,
		    kind_names[kind], seq, i + 1, parts, hex);
		if (m < 0 || (size_t)m + n > sizeof(msg)) {
			r = PG_ERR_TOOBIG;
			break;
		}
		memcpy(msg + m, line + off, n);
		r = send_one(fd, &sa, msg, (size_t)m + n, wait);
	}
	m = errno;
	close(fd);
	errno = m;
	return r;
}

int
audit_forward_heartbeat(struct audit_log *log)
{
	struct audit_head h;
	char *s;
	int r;

	/* Only a tail read under the lock is worth vouching for. */
	if (!log->cached || !audit_signs(log))
		return PG_OK;
	memset(&h, 0, sizeof(h));
	h.seq = log->tail_seq;
	memcpy(h.hash, log->tail_hash, sizeof(h.hash));
	audit_now(h.time, sizeof(h.time));
	snprintf(h.host, sizeof(h.host), "%s", log->host);
	if ((r = audit_log_sign(log, AUDIT_SG_BEAT, h.seq, h.hash, h.time,
	         h.sig, h.key_id)) != PG_OK)
		return r;
	if ((s = audit_head_encode(&h)) == NULL)
		return PG_ERR_NOMEM;
	r = audit_forward(log->fwd_path, log->host, AUDIT_FWD_HEARTBEAT, h.seq,
	    s, strlen(s), 1);
	free(s);
	return r;
}
