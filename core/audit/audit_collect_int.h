/*
 * audit_collect_int.h - what audit_collect.c (reading a collector's file,
 * putting lines back together) and audit_collect_host.c (the result's
 * accessors, the heartbeat check, cleanup) share.  Not a public interface.
 */
#ifndef PG_AUDIT_COLLECT_INT_H
#define PG_AUDIT_COLLECT_INT_H

#include <stdio.h>

#include "core/audit/audit_forward.h"
#include "core/audit/audit_int.h"

#define PROBLEMS_KEPT 20 /* per host; the rest are counted */
#define HOSTS_MAX     4096
#define PATH_BYTES    4096

/* A line being put back together from its parts. */
struct assembly {
	int active;
	long long seq;
	size_t parts, next; /* next: the part expected */
	char hash[AUDIT_HEX_BYTES];
	size_t off[AUDIT_FWD_MAX_PARTS + 1];
	size_t len;
	char *buf;  /* AUDIT_MAX_RECORD */
	int done;   /* buf holds the last finished line of this seq/hash */
	int broken; /* the line of seq/hash was given up: drop its parts */
};

struct chost {
	struct audit_collect_host pub;
	char name[AUDIT_HOST_MAX];
	char dir[PATH_BYTES], log[PATH_BYTES], stamp[40];
	FILE *f;
	struct assembly as[AUDIT_FWD_KINDS]; /* by enum audit_fwd_kind */
	unsigned char last_hash[AUDIT_HASH_BYTES];
	char *head;
	size_t headlen;
	char *beat; /* the newest heartbeat, unchecked */
	size_t beatlen;
	char beat_time[AUDIT_TIME_LEN + 1];
	char *problem[PROBLEMS_KEPT];
};

struct audit_collect {
	char outdir[PATH_BYTES];
	struct chost **hosts;
	size_t nhosts, cap;
	long long file_problems;
	size_t nfile;
	char *file_problem[PROBLEMS_KEPT];
};

/* Closes and frees H (its files stay); NULL is a no-op. */
void audit_chost_free(struct chost *h);

#endif /* PG_AUDIT_COLLECT_INT_H */
