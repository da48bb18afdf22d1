/*
 * audit_collect_host.c - the result of audit_collect_split(): its hosts
 * and problems, the check of a host's newest heartbeat against its key,
 * and the removal and freeing of what the split made.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/audit/audit_collect_int.h"
#include "base/base.h"

void
audit_chost_free(struct chost *h)
{
	size_t i;

	if (h == NULL)
		return;
	if (h->f != NULL)
		fclose(h->f);
	for (i = 0; i < AUDIT_FWD_KINDS; i++)
		free(h->as[i].buf);
	free(h->head);
	free(h->beat);
	for (i = 0; i < h->pub.nproblem; i++)
		free(h->problem[i]);
	free(h);
}

size_t
audit_collect_count(const struct audit_collect *c)
{
	return c->nhosts;
}

const struct audit_collect_host *
audit_collect_host(const struct audit_collect *c, size_t i)
{
	return i < c->nhosts ? &c->hosts[i]->pub : NULL;
}

long long
audit_collect_file_problems(
    const struct audit_collect *c, size_t *nkept, const char *const **kept)
{
	*nkept = c->nfile;
	*kept = (const char *const *)c->file_problem;
	return c->file_problems;
}

int
audit_collect_heartbeat(const struct audit_collect *c, size_t i,
    const unsigned char *pk, long long *when)
{
	unsigned char d[AUDIT_HASH_BYTES];
	char kid[2 * AUDIT_KEY_ID_BYTES + 1];
	struct audit_head hd;
	const struct chost *h;

	*when = 0;
	if (i >= c->nhosts)
		return PG_ERR_INVAL;
	h = c->hosts[i];
	if (h->beat == NULL)
		return PG_ERR_NOTFOUND;
	audit_key_id(pk, kid);
	if (audit_head_parse(h->beat, h->beatlen, &hd) != PG_OK)
		return PG_ERR_CORRUPT;
	audit_sig_digest("heartbeat", hd.seq, hd.hash, hd.time, hd.host, d);
	if (strcmp(hd.key_id, kid) != 0 ||
	    crypto_sign_verify_detached(hd.sig, d, sizeof(d), pk) != 0)
		return PG_ERR_CRYPTO;
	if (audit_fwd_stamp(hd.time, strlen(hd.time), when) != 0)
		return PG_ERR_CORRUPT;
	return PG_OK;
}

void
audit_collect_remove(const struct audit_collect *c)
{
	char hp[PATH_BYTES + 8];
	size_t i;

	for (i = 0; i < c->nhosts; i++) {
		snprintf(hp, sizeof(hp), "%s.head", c->hosts[i]->log);
		(void)unlink(hp);
		(void)unlink(c->hosts[i]->log);
		(void)rmdir(c->hosts[i]->dir);
	}
}

void
audit_collect_free(struct audit_collect *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nhosts; i++)
		audit_chost_free(c->hosts[i]);
	for (i = 0; i < c->nfile; i++)
		free(c->file_problem[i]);
	free(c->hosts);
	free(c);
}
