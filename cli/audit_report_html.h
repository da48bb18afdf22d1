/*
 * audit_report_html.h - `photoguard audit report --html`: the breach
 * report as one self-contained HTML page a clinic can hand to its lawyers
 * and regulators (no script, no outside resource, A4 print styles).
 */
#ifndef PG_CLI_AUDIT_REPORT_HTML_H
#define PG_CLI_AUDIT_REPORT_HTML_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "cli/audit_report.h"

/* One server's log and its verdict. */
struct html_chain {
	const char *host; /* "" for the one log */
	bool ok, signatures_checked;
	long long records, first_seq, last_seq, bad_seq;
	const char *problem; /* the verifier's message when not ok */
};

/* A lockout of the account (a lockout.lock record). */
struct html_lockout {
	char time[40];
	char *host, *actor, *rule, *reason;
};

struct html_report {
	const char *user; /* NULL with all users */
	const char *since, *until, *log;
	const char *generated; /* the report's own time, UTC */
	bool verified;
	const char *warning; /* "" when verified */
	const struct html_chain *ch;
	size_t nch;
	const struct report_row *rows;
	size_t nrows;
	const struct report_totals *totals;
	const time_t *opens; /* the allowed opens' times, any order */
	size_t nopens;
	const struct html_lockout *locks;
	size_t nlocks;
	long long after; /* records appended after the check, left out */
};

/* Writes R as HTML to F.  Returns 0, or PG_ERR_IO when F failed. */
int report_html_write(FILE *f, const struct html_report *r);

/* Seconds since the epoch of a record time ("2026-11-22T14:03:07.1Z");
 * -1 if it is not one. */
time_t report_html_time(const char *t);

#endif /* PG_CLI_AUDIT_REPORT_HTML_H */
