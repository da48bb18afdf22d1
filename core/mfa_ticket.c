/*
 * mfa_ticket.c - the MFA ticket files: a few "key=value" lines written
 * atomically, parsed strictly (every key once, in order, bounded numbers).
 * See mfa_ticket.h.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/errors.h"
#include "core/fileio.h"
#include "core/mfa_ticket.h"
#include "core/totp.h"

#define HOST_MAX 255

static int
host_ok(const char *h)
{
	size_t i;

	for (i = 0; h[i] != '\0'; i++)
		if (h[i] <= ' ' || h[i] == 0x7f || i >= HOST_MAX)
			return 0;
	return i > 0;
}

int
mfa_ticket_issue(
    const char *dir, const char *user, time_t now, int ttl_s, const char *host)
{
	char name[TOTP_FILENAME_MAX], enc[TOTP_FILENAME_MAX];
	char hbuf[HOST_MAX + 1], buf[MFA_TICKET_MAX_SIZE];
	int fd = -1, n, r;

	if (dir == NULL || now < 0 || ttl_s < 1 || ttl_s > MFA_TICKET_MAX_TTL_S)
		return PG_ERR_INVAL;
	if ((r = totp_user_filename(user, ".ticket", name, sizeof(name))) !=
	        0 ||
	    (r = totp_user_filename(user, ".u", enc, sizeof(enc))) != 0)
		return r;
	enc[strlen(enc) - 2] = '\0'; /* the encoded user alone */
	if (host == NULL) {
		if (gethostname(hbuf, sizeof(hbuf)) != 0)
			return PG_ERR_IO;
		hbuf[HOST_MAX] = '\0';
		host = hbuf;
	}
	if (!host_ok(host))
		return PG_ERR_INVAL;
	n = snprintf(buf, sizeof(buf),
	    "photoguard-mfa-ticket 1\nuser=%s\nissued=%lld\nexpires=%lld\n"
	    "host=%s\n",
	    enc, (long long)now, (long long)now + ttl_s, host);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return PG_ERR_TOOBIG;
	if ((fd = pg_open_shared_dir(dir, 1)) < 0)
		return fd;
	/* Not synced: see mfa_ticket.h. */
	r = pg_write_file_volatile(fd, name, buf, (size_t)n, 0600);
	close(fd);
	return r;
}

static int
judge(char *buf, const char *enc, time_t now)
{
	char *p = buf, *user, *host;
	long long issued, expires;

	if (pg_take_line(&p, "photoguard-mfa-ticket 1") == NULL)
		return PG_ERR_CORRUPT;
	user = pg_take_line(&p, "user=");
	if (user == NULL || strcmp(user, enc) != 0)
		return PG_ERR_CORRUPT;
	if (pg_parse_num(pg_take_line(&p, "issued="), 999999999999LL,
	        &issued) != PG_OK ||
	    pg_parse_num(pg_take_line(&p, "expires="), 999999999999LL,
	        &expires) != PG_OK)
		return PG_ERR_CORRUPT;
	host = pg_take_line(&p, "host=");
	if (host == NULL || !host_ok(host) || *p != '\0')
		return PG_ERR_CORRUPT;
	if (expires <= issued || expires - issued > MFA_TICKET_MAX_TTL_S)
		return PG_ERR_CORRUPT;
	/* A ticket from the future means the clock moved: not valid. */
	if (issued > (long long)now + MFA_TICKET_SKEW_S)
		return 0;
	return (long long)now < expires ? 1 : 0;
}

int
mfa_ticket_valid(const char *dir, const char *user, time_t now)
{
	char name[TOTP_FILENAME_MAX], enc[TOTP_FILENAME_MAX];
	char *buf = NULL;
	int fd, r;

	if (dir == NULL || now < 0)
		return PG_ERR_INVAL;
	if ((r = totp_user_filename(user, ".ticket", name, sizeof(name))) !=
	        0 ||
	    (r = totp_user_filename(user, ".u", enc, sizeof(enc))) != 0)
		return r;
	enc[strlen(enc) - 2] = '\0';
	if ((fd = pg_open_shared_dir(dir, 0)) < 0)
		return fd == PG_ERR_NOTFOUND ? 0 : fd;
	r = pg_read_file_at(fd, name, MFA_TICKET_MAX_SIZE,
	    PG_RF_PRIVATE | PG_RF_SHARED, &buf, NULL);
	close(fd);
	if (r == PG_ERR_NOTFOUND)
		return 0;
	if (r != PG_OK)
		return r;
	r = judge(buf, enc, now);
	free(buf);
	return r;
}

int
mfa_ticket_remove(const char *dir, const char *user)
{
	char name[TOTP_FILENAME_MAX];
	int fd, r;

	if (dir == NULL)
		return PG_ERR_INVAL;
	if ((r = totp_user_filename(user, ".ticket", name, sizeof(name))) != 0)
		return r;
	if ((fd = pg_open_shared_dir(dir, 0)) < 0)
		return fd == PG_ERR_NOTFOUND ? PG_OK : fd;
	r = (unlinkat(fd, name, 0) == 0 || errno == ENOENT) ? PG_OK : PG_ERR_IO;
	close(fd);
	return r;
}
