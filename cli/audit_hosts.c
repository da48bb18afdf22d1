/*
 * audit_hosts.c - the clinic's logs, sorted into chains: each host keeps
 * its own chain (its own files, rotated or not, and its own signing key),
 * so files handed to `audit verify` or `audit report` are grouped by the
 * host their first record names, and each group is verified with that
 * host's public key.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/audit_hosts.h"
#include "base/base.h"

int
cli_keys_add(struct cli_keys *k, const char *arg)
{
	const char *eq = strchr(arg, '=');
	struct cli_key *m;

	/* HOST=PUB; a path with '=' in a directory name stays a path. */
	if (eq == NULL || eq == arg || memchr(arg, '/', (size_t)(eq - arg))) {
		if (k->def != NULL)
			return PG_ERR_INVAL; /* two defaults */
		k->def = arg;
		return PG_OK;
	}
	if (eq[1] == '\0')
		return PG_ERR_INVAL;
	for (size_t i = 0; i < k->n; i++)
		if (k->map[i].hostlen == (size_t)(eq - arg) &&
		    strncmp(k->map[i].host, arg, k->map[i].hostlen) == 0)
			return PG_ERR_INVAL; /* two keys for one host */
	if ((m = realloc(k->map, (k->n + 1) * sizeof(*m))) == NULL)
		return PG_ERR_NOMEM;
	k->map = m;
	m[k->n].host = arg;
	m[k->n].hostlen = (size_t)(eq - arg);
	m[k->n].path = eq + 1;
	k->n++;
	return PG_OK;
}

void
cli_keys_free(struct cli_keys *k)
{
	free(k->map);
	memset(k, 0, sizeof(*k));
}

void
cli_keys_for(const struct cli_keys *k, const char *host, const char *cfgpub,
    char *out, size_t len)
{
	size_t i;

	for (i = 0; i < k->n; i++) {
		if (strlen(host) == k->map[i].hostlen &&
		    strncmp(host, k->map[i].host, k->map[i].hostlen) == 0) {
			snprintf(out, len, "%s", k->map[i].path);
			return;
		}
	}
	/* A host name is a file name only when it cannot climb out. */
	if (k->dir != NULL && host[0] != '\0' && host[0] != '.' &&
	    strchr(host, '/') == NULL &&
	    snprintf(out, len, "%s/%s.pub", k->dir, host) < (int)len &&
	    access(out, F_OK) == 0)
		return;
	snprintf(out, len, "%s",
	    k->def != NULL ? k->def : (cfgpub != NULL ? cfgpub : ""));
}

void
cli_chains_free(struct cli_chain *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(c[i].files);
	free(c);
}

static int
ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);

	return n >= t && strcmp(s + n - t, tail) == 0;
}

static struct cli_chain *
chain_of(struct cli_chain **c, size_t *n, const char *host)
{
	struct cli_chain *m;
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp((*c)[i].host, host) == 0)
			return &(*c)[i];
	if ((m = realloc(*c, (*n + 1) * sizeof(*m))) == NULL)
		return NULL;
	*c = m;
	memset(&m[*n], 0, sizeof(m[*n]));
	snprintf(m[*n].host, sizeof(m[*n].host), "%s", host);
	return &m[(*n)++];
}

int
cli_chains(const char *prog, char *const *files, size_t nfiles,
    struct cli_chain **out, size_t *nout)
{
	struct cli_chain *c = NULL, *ch;
	const char **f;
	char host[256];
	long long seq;
	size_t n = 0, i;
	int r;

	for (i = 0; i < nfiles; i++) {
		/* LOG.head and its lock come along in a glob: read beside
		 * the log, never as one. */
		if (ends_with(files[i], ".head") ||
		    ends_with(files[i], ".head.lock"))
			continue;
		r = audit_first_record(files[i], &seq, host, sizeof(host));
		if (r != PG_OK) {
			fprintf(stderr, "%s: %s: %s (not an audit log?)\n",
			    prog, files[i], pg_strerror(r));
			cli_chains_free(c, n);
			return r;
		}
		/* An empty file joins no chain: there is nothing to prove. */
		if (seq == 0)
			continue;
		if ((ch = chain_of(&c, &n, host)) == NULL ||
		    (f = realloc(ch->files, (ch->n + 1) * sizeof(*f))) ==
		        NULL) {
			cli_chains_free(c, n);
			return PG_ERR_NOMEM;
		}
		ch->files = f;
		f[ch->n++] = files[i];
	}
	*out = c;
	*nout = n;
	return PG_OK;
}

int
cli_from_seq(const char *verb, const char *arg, long long *out)
{
	char *end;

	errno = 0;
	*out = strtoll(arg, &end, 10);
	if (errno == 0 && *end == '\0' && *out >= 1)
		return 0;
	fprintf(stderr,
	    "photoguard: audit %s: --from-seq wants a seq of 1 or more\n",
	    verb);
	return -1;
}
