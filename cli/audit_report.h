/*
 * audit_report.h - the sums behind `photoguard audit report`: which
 * patients' photos each account opened, with files, bytes and the first
 * and last access, built from the gateway's audit records.
 */
#ifndef PG_CLI_AUDIT_REPORT_H
#define PG_CLI_AUDIT_REPORT_H

#include <stddef.h>

#include "core/audit/audit.h"

#define REPORT_MAX_ROWS (1 << 20) /* user x patient x host */

/* One user x patient x server; the strings are as the log stores them. */
struct report_row {
	const char *user;
	const char *patient;
	const char *host;  /* the server whose log holds the accesses */
	long long files;   /* allowed gateway.open records */
	long long bytes;   /* bytes fields of gateway.release (and open) */
	const char *first; /* earliest counted record, record time format */
	const char *last;  /* latest counted record */
};

struct report_totals {
	long long patients; /* distinct patients over all rows */
	long long files;
	long long bytes;
	long long unattributed; /* counted records that name no patient */
};

struct report;

/* Creates an empty report in *OUT.  Returns 0 or PG_ERR_NOMEM. */
int report_new(struct report **out);

/* Frees R and its rows; NULL is a no-op. */
void report_free(struct report *r);

/*
 * Counts REC if it is an access (see photoguard(8), AUDIT REPORT):
 * "gateway.open" with decision "allow" adds a file (and its bytes field,
 * if any); "gateway.release" adds its bytes field; both move the first and
 * last access.  Other records are ignored.  Returns 0, PG_ERR_NOMEM, or
 * PG_ERR_TOOBIG past REPORT_MAX_ROWS rows.
 */
int report_add(struct report *r, const struct audit_record *rec);

/*
 * Sorts the rows by user, patient, then host, and returns them in *ROWS (owned
 * by R, valid until the next report_add() or report_free()), their number
 * in *N and the totals in *T.  Returns 0 or PG_ERR_NOMEM.
 */
int report_rows(struct report *r, const struct report_row **rows, size_t *n,
    struct report_totals *t);

#endif /* PG_CLI_AUDIT_REPORT_H */
