/*
 * audit_hosts.h - logs of several hosts in one `audit verify` or `audit
 * report`: files grouped into one chain per host, and each host's public
 * key from --key HOST=PUB, --keys DIR (DIR/HOST.pub) or the default.
 */
#ifndef PG_CLI_AUDIT_HOSTS_H
#define PG_CLI_AUDIT_HOSTS_H

#include <stddef.h>

#include "core/audit/audit.h"

struct cli_key {
	const char *host; /* not terminated: HOSTLEN bytes */
	size_t hostlen;
	const char *path;
};

struct cli_keys {
	const char *def; /* --key PUB */
	const char *dir; /* --keys DIR */
	struct cli_key *map;
	size_t n;
};

/* Adds one --key argument: PUB (the default; only one) or HOST=PUB.
 * PG_ERR_INVAL for a second default, a second key for one host, or an
 * empty path. */
int cli_keys_add(struct cli_keys *k, const char *arg);
void cli_keys_free(struct cli_keys *k);

/* Parses --from-seq ARG of VERB ("verify", "report") into *OUT: 0, or -1
 * after saying it wants a seq of 1 or more. */
int cli_from_seq(const char *verb, const char *arg, long long *out);

/* The public key for HOST into OUT: its HOST=PUB, else DIR/HOST.pub if it
 * exists, else the default, else CFGPUB (NULL: none, OUT empty). */
void cli_keys_for(const struct cli_keys *k, const char *host,
    const char *cfgpub, char *out, size_t len);

/* One host's chain: its files, in the order given (the verifier puts
 * them in chain order). */
struct cli_chain {
	char host[256];
	const char **files;
	size_t n;
};

/*
 * Groups FILES by the host their first record names; empty files, and
 * head files and their locks (FILE.head, FILE.head.lock: read beside
 * their log), are left out.  A file that is not a log is an error, said on
 * stderr.
 */
int cli_chains(const char *prog, char *const *files, size_t nfiles,
    struct cli_chain **out, size_t *nout);
void cli_chains_free(struct cli_chain *c, size_t n);

#endif /* PG_CLI_AUDIT_HOSTS_H */
