/*
 * atna.h - audit records as IHE ATNA / DICOM PS3.15 A.5 audit messages:
 * one <AuditMessage> XML document per record, on one line.  The mapping
 * from photoguard events to DICOM event codes is in docs/audit-format.md
 * ("Export as ATNA audit messages").
 */
#ifndef PG_CLI_ATNA_H
#define PG_CLI_ATNA_H

#include <stdbool.h>
#include <stdio.h>

#include "core/audit/audit.h"

/* False for the log's own bookkeeping (checkpoints, rotations), which
 * records no event of its own and is not exported. */
bool atna_exported(const char *event);

/*
 * Writes REC to F as one audit message and a newline.  Returns 0;
 * PG_ERR_PARSE, writing nothing, when the record's time is not a UTC
 * time the message can carry; PG_ERR_IO when F failed.
 */
int atna_write_record(FILE *f, const struct audit_record *rec);

/* Who runs the export, for the alert below. */
struct atna_local {
	const char *host; /* AuditSourceID and the process's host */
	const char *user; /* the invoking user */
	long pid;
	const char *time; /* now, UTC, as the log writes times */
};

/*
 * Writes a Security Alert (110113) saying that LOG was exported although
 * it does not verify (RES: the verifier's verdict): the first message of
 * such an export, so that a repository shows the doubt next to the
 * records.  Returns 0, PG_ERR_PARSE for a bad WHO->time, or PG_ERR_IO.
 */
int atna_write_unverified(FILE *f, const struct atna_local *who,
    const char *log, const struct audit_verify_result *res);

#endif /* PG_CLI_ATNA_H */
