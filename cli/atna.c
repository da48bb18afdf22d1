/*
 * atna.c - one audit record as one DICOM PS3.15 A.5 audit message (the
 * IHE ATNA format): the DICOM event its event name maps to, the user and
 * the process that took part, the patient and the file or account it
 * concerns, and the record itself.  Every string from the log is escaped
 * for XML here; the log may hold anything.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/atna.h"
#include "cli/util.h"
#include "base/base.h"

struct code {
	const char *code, *system, *meaning;
};

/* DICOM PS3.16 CID 400 (event IDs), 401/403 (event types), and the
 * RFC 3881 participant object ID types PS3.15 A.5.1.2.4 lists. */
static const struct code EV_APP = { "110100", "DCM", "Application Activity" };
static const struct code EV_EXPORT = { "110106", "DCM", "Export" };
static const struct code EV_PATIENT = { "110110", "DCM", "Patient Record" };
static const struct code EV_ALERT = { "110113", "DCM", "Security Alert" };
static const struct code EV_AUTH = { "110114", "DCM", "User Authentication" };
static const struct code TY_START = { "110120", "DCM", "Application Start" };
static const struct code TY_STOP = { "110121", "DCM", "Application Stop" };
static const struct code TY_LOGIN = { "110122", "DCM", "Login" };
static const struct code TY_LOGOUT = { "110123", "DCM", "Logout" };
static const struct code TY_OVERRIDE = { "110127", "DCM",
	"Emergency Override Started" };
static const struct code TY_SECCONF = { "110129", "DCM",
	"Security Configuration" };
static const struct code TY_RESTRICTED = { "110132", "DCM",
	"Use of Restricted Function" };
static const struct code TY_AUDIT_STOP = { "110133", "DCM",
	"Audit Recording Stopped" };
static const struct code TY_USERSEC = { "110137", "DCM",
	"User Security Attributes Changed" };
static const struct code RO_DEST = { "110152", "DCM", "Destination Role ID" };
static const struct code ID_PATIENT = { "2", "RFC-3881", "Patient Number" };
static const struct code ID_USER = { "11", "RFC-3881", "User Identifier" };
static const struct code ID_FILE = { "file", "photoguard", "File path" };
static const struct code ID_RECORD = { "record", "photoguard",
	"photoguard audit record" };
static const struct code ID_LOG = { "log", "photoguard", "Audit log file" };

/* What a message says about the thing an event concerns. */
enum subject {
	SUBJ_NONE,
	SUBJ_PATIENT,     /* the patient, and the object as a file */
	SUBJ_ACTOR_USER,  /* the actor is the account concerned */
	SUBJ_OBJECT_USER, /* the object names the account */
	SUBJ_OBJECT_FILE, /* the object is a file (key, configuration) */
	SUBJ_RULE_FILE,   /* the rule names the file (the policy) */
};

struct atna_map {
	const char *event;
	const struct code *id, *type;
	char action;
	enum subject subj;
	const char *deny, *error; /* outcome for deny and for error */
};

/*
 * Outcomes: allow and info are 0 (success).  For a Security Alert, PS3.15
 * reads 4 and 8 as an alert that mitigation contained and 12 as one where
 * security may be compromised: a lockout is a serious (8) but contained
 * event, a gap repaired in the log may hide anything (12).
 */
static const struct atna_map maps[] = {
	{ "pam.auth", &EV_AUTH, &TY_LOGIN, 'E', SUBJ_NONE, "4", "8" },
	{ "pam.account", &EV_AUTH, &TY_LOGIN, 'E', SUBJ_NONE, "4", "8" },
	{ "pam.session.open", &EV_AUTH, &TY_LOGIN, 'E', SUBJ_NONE, "4", "8" },
	{ "pam.session.close", &EV_AUTH, &TY_LOGOUT, 'E', SUBJ_NONE, "4", "8" },
	{ "gateway.open", &EV_PATIENT, NULL, 'R', SUBJ_PATIENT, "4", "8" },
	{ "gateway.lookup", &EV_PATIENT, NULL, 'R', SUBJ_PATIENT, "4", "8" },
	{ "gateway.create", &EV_PATIENT, NULL, 'C', SUBJ_PATIENT, "4", "8" },
	{ "gateway.change", &EV_PATIENT, NULL, 'U', SUBJ_PATIENT, "4", "8" },
	{ "gateway.release", &EV_EXPORT, NULL, 'R', SUBJ_PATIENT, "4", "8" },
	{ "gateway.limit", &EV_ALERT, &TY_RESTRICTED, 'E', SUBJ_PATIENT, "4",
	    "8" },
	{ "gateway.start", &EV_APP, &TY_START, 'E', SUBJ_NONE, "4", "8" },
	{ "gateway.stop", &EV_APP, &TY_STOP, 'E', SUBJ_NONE, "4", "8" },
	{ "gateway.view", &EV_APP, NULL, 'E', SUBJ_NONE, "4", "8" },
	{ "gateway.policy_reload", &EV_ALERT, &TY_SECCONF, 'E', SUBJ_RULE_FILE,
	    "4", "8" },
	{ "breakglass.grant", &EV_ALERT, &TY_OVERRIDE, 'E', SUBJ_PATIENT, "4",
	    "8" },
	{ "lockout.lock", &EV_ALERT, &TY_USERSEC, 'E', SUBJ_ACTOR_USER, "8",
	    "8" },
	{ "lockout.unlock", &EV_ALERT, &TY_USERSEC, 'E', SUBJ_ACTOR_USER, "4",
	    "8" },
	{ "admin.unlock", &EV_ALERT, &TY_USERSEC, 'E', SUBJ_OBJECT_USER, "4",
	    "8" },
	{ "admin.enroll", &EV_ALERT, &TY_USERSEC, 'E', SUBJ_OBJECT_USER, "4",
	    "8" },
	{ "admin.enroll.reset", &EV_ALERT, &TY_USERSEC, 'E', SUBJ_OBJECT_USER,
	    "4", "8" },
	{ "admin.enroll.token", &EV_ALERT, &TY_USERSEC, 'E', SUBJ_OBJECT_USER,
	    "4", "8" },
	/* A user who enrolled themselves is the account changed. */
	{ "pam.enroll", &EV_ALERT, &TY_USERSEC, 'E', SUBJ_ACTOR_USER, "4",
	    "8" },
	{ "admin.totp.hostkey", &EV_ALERT, &TY_SECCONF, 'E', SUBJ_OBJECT_FILE,
	    "4", "8" },
	{ "admin.audit.keygen", &EV_ALERT, &TY_SECCONF, 'E', SUBJ_OBJECT_FILE,
	    "4", "8" },
	{ "audit.torn_tail", &EV_ALERT, &TY_AUDIT_STOP, 'E', SUBJ_NONE, "8",
	    "8" },
	{ "audit.repair", &EV_ALERT, &TY_AUDIT_STOP, 'E', SUBJ_NONE, "12",
	    "12" },
};

/* Any other event (a newer writer's, or a forged one) is still shown,
 * as a Security Alert a reviewer will look at. */
static const struct atna_map map_other = { NULL, &EV_ALERT, NULL, 'E',
	SUBJ_PATIENT, "4", "8" };

bool
atna_exported(const char *event)
{
	return strcmp(event, "audit.checkpoint") != 0 &&
	    strcmp(event, "audit.rotate") != 0;
}

static const struct atna_map *
map_of(const char *event)
{
	size_t i;

	for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++)
		if (strcmp(event, maps[i].event) == 0)
			return &maps[i];
	return &map_other;
}

/* NAME="VALUE" with a leading space, VALUE escaped; nothing if NULL. */
static void
attr(FILE *f, const char *name, const char *value)
{
	if (value == NULL)
		return;
	fprintf(f, " %s=\"", name);
	cli_markup(f, value);
	putc('"', f);
}

static void
coded(FILE *f, const char *tag, const char *code, const char *system,
    const char *meaning)
{
	fprintf(f, "<%s", tag);
	attr(f, "csd-code", code);
	attr(f, "codeSystemName", system);
	attr(f, "originalText", meaning);
	fputs("/>", f);
}

static void
code_el(FILE *f, const char *tag, const struct code *c)
{
	coded(f, tag, c->code, c->system, c->meaning);
}

/* A ParticipantObjectDetail: base64 keeps any bytes, as PS3.15 asks. */
static void
detail(FILE *f, const char *type, const char *v, size_t len)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = (const unsigned char *)v;
	unsigned long w;
	size_t i;

	fputs("<ParticipantObjectDetail", f);
	attr(f, "type", type);
	fputs(" value=\"", f);
	for (i = 0; i + 2 < len; i += 3) {
		w = (unsigned long)p[i] << 16 | (unsigned long)p[i + 1] << 8 |
		    p[i + 2];
		fprintf(f, "%c%c%c%c", b64[w >> 18], b64[w >> 12 & 63],
		    b64[w >> 6 & 63], b64[w & 63]);
	}
	if (len - i == 1) {
		w = (unsigned long)p[i] << 16;
		fprintf(f, "%c%c==", b64[w >> 18], b64[w >> 12 & 63]);
	} else if (len - i == 2) {
		w = (unsigned long)p[i] << 16 | (unsigned long)p[i + 1] << 8;
		fprintf(f, "%c%c%c=", b64[w >> 18], b64[w >> 12 & 63],
		    b64[w >> 6 & 63]);
	}
	fputs("\"/>", f);
}

/* Opens a ParticipantObjectIdentification up to its details; the caller
 * adds those and closes it with object_end(). */
static void
object_begin(FILE *f, const char *id, const char *type, const char *role,
    const struct code *idtype, const char *name)
{
	fputs("<ParticipantObjectIdentification", f);
	attr(f, "ParticipantObjectID", id);
	attr(f, "ParticipantObjectTypeCode", type);
	attr(f, "ParticipantObjectTypeCodeRole", role);
	putc('>', f);
	code_el(f, "ParticipantObjectIDTypeCode", idtype);
	/* The schema wants a name or a query; photoguard knows no
	 * patient's or user's name, so the identifier stands for it. */
	fputs("<ParticipantObjectName>", f);
	cli_markup(f, name);
	fputs("</ParticipantObjectName>", f);
}

static void
object_end(FILE *f)
{
	fputs("</ParticipantObjectIdentification>", f);
}

/*
 * True if T is a UTC time as the log writes it
 * (YYYY-MM-DDTHH:MM:SS[.digits]Z) that names a real instant, so that the
 * message's xsd:dateTime is valid.
 */
static bool
utc_time_ok(const char *t)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";
	struct tm tm, back;
	time_t s;
	size_t i;

	for (i = 0; shape[i] != '\0'; i++)
		if (shape[i] == 'd' ? t[i] < '0' || t[i] > '9'
		                    : t[i] != shape[i])
			return false;
	if (t[i] == '.') {
		if (t[++i] < '0' || t[i] > '9')
			return false;
		while (t[i] >= '0' && t[i] <= '9')
			i++;
	}
	if (t[i] != 'Z' || t[i + 1] != '\0')
		return false;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = (t[0] - '0') * 1000 + (t[1] - '0') * 100 +
	    (t[2] - '0') * 10 + (t[3] - '0') - 1900;
	tm.tm_mon = (t[5] - '0') * 10 + (t[6] - '0') - 1;
	tm.tm_mday = (t[8] - '0') * 10 + (t[9] - '0');
	tm.tm_hour = (t[11] - '0') * 10 + (t[12] - '0');
	tm.tm_min = (t[14] - '0') * 10 + (t[15] - '0');
	tm.tm_sec = (t[17] - '0') * 10 + (t[18] - '0');
	back = tm;
	/* A day, hour or second out of range is normalised by timegm():
	 * a round trip that changes a field means the time was not real. */
	if (tm.tm_year < 1 - 1900 || (s = timegm(&back)) == (time_t)-1 ||
	    gmtime_r(&s, &back) == NULL)
		return false;
	return back.tm_year == tm.tm_year && back.tm_mon == tm.tm_mon &&
	    back.tm_mday == tm.tm_mday && back.tm_hour == tm.tm_hour &&
	    back.tm_min == tm.tm_min && back.tm_sec == tm.tm_sec;
}

static const char *
outcome_of(const struct atna_map *m, const char *decision)
{
	if (strcmp(decision, "allow") == 0 || strcmp(decision, "info") == 0)
		return "0";
	if (strcmp(decision, "deny") == 0)
		return m->deny;
	return m->error; /* "error", or a word a forged line holds */
}

static void
event_identification(FILE *f, const struct audit_record *rec,
    const struct atna_map *m, const struct code *id)
{
	char action[2] = { m->action, '\0' };

	fputs("<EventIdentification", f);
	attr(f, "EventActionCode", action);
	attr(f, "EventDateTime", rec->time);
	attr(f, "EventOutcomeIndicator", outcome_of(m, rec->decision));
	putc('>', f);
	code_el(f, "EventID", id);
	if (m->type != NULL)
		code_el(f, "EventTypeCode", m->type);
	/* The event's own name, so that nothing the mapping folds together
	 * is lost (pam.auth and pam.session.open are both a Login). */
	coded(f, "EventTypeCode", rec->event, "photoguard", rec->event);
	fputs("<EventOutcomeDescription>", f);
	cli_markup(f, rec->decision);
	if (rec->reason != NULL) {
		fputs(": ", f);
		cli_markup(f, rec->reason);
	}
	if (rec->rule != NULL) {
		fputs(" (rule ", f);
		cli_markup(f, rec->rule);
		putc(')', f);
	}
	fputs("</EventOutcomeDescription></EventIdentification>", f);
}

/* The user (the requestor, from where PAM saw them come) and the process
 * that acted for them on the record's host. */
static void
participants(FILE *f, const struct audit_record *rec, bool export)
{
	unsigned char addr[16];
	char pid[32];
	const char *proc;

	fputs("<ActiveParticipant", f);
	attr(f, "UserID", rec->actor);
	attr(f, "UserIsRequestor", "true");
	if (rec->rhost != NULL && rec->rhost[0] != '\0') {
		attr(f, "NetworkAccessPointID", rec->rhost);
		attr(f, "NetworkAccessPointTypeCode",
		    inet_pton(AF_INET, rec->rhost, addr) == 1 ||
		            inet_pton(AF_INET6, rec->rhost, addr) == 1
		        ? "2"
		        : "1");
	}
	fputs("/>", f);
	proc = rec->process != NULL ? rec->process
	    : rec->service != NULL  ? rec->service
	                            : "photoguard";
	fputs("<ActiveParticipant", f);
	attr(f, "UserID", proc);
	if (rec->pid >= 0) {
		snprintf(pid, sizeof(pid), "%ld", rec->pid);
		attr(f, "AlternativeUserID", pid);
	}
	attr(f, "UserIsRequestor", "false");
	attr(f, "NetworkAccessPointID", rec->host);
	attr(f, "NetworkAccessPointTypeCode", "1");
	if (export) { /* the bytes went to this process */
		putc('>', f);
		code_el(f, "RoleIDCode", &RO_DEST);
		fputs("</ActiveParticipant>", f);
	} else
		fputs("/>", f);
	fputs("<AuditSourceIdentification", f);
	attr(f, "AuditSourceID", rec->host);
	fputs("><AuditSourceTypeCode csd-code=\"4\"/>"
	      "</AuditSourceIdentification>",
	    f);
}

static void
file_object(FILE *f, const char *path, long long bytes)
{
	char n[32];

	object_begin(f, path, "2", "3", &ID_FILE, path);
	if (bytes >= 0) {
		snprintf(n, sizeof(n), "%lld", bytes);
		detail(f, "bytes", n, strlen(n));
	}
	object_end(f);
}

static void
user_object(FILE *f, const char *user)
{
	object_begin(f, user, "1", "11", &ID_USER, user);
	object_end(f);
}

static void
subjects(FILE *f, const struct audit_record *rec, const struct atna_map *m)
{
	switch (m->subj) {
	case SUBJ_PATIENT:
		if (rec->patient != NULL) {
			object_begin(f, rec->patient, "1", "1", &ID_PATIENT,
			    rec->patient);
			object_end(f);
		}
		if (rec->object != NULL)
			file_object(f, rec->object, rec->bytes);
		break;
	case SUBJ_ACTOR_USER:
		user_object(f, rec->actor);
		break;
	case SUBJ_OBJECT_USER:
		if (rec->object != NULL)
			user_object(f, rec->object);
		break;
	case SUBJ_OBJECT_FILE:
		if (rec->object != NULL)
			file_object(f, rec->object, -1);
		break;
	case SUBJ_RULE_FILE:
		if (rec->rule != NULL)
			file_object(f, rec->rule, -1);
		break;
	case SUBJ_NONE:
		break;
	}
}

/* The record itself, byte for byte, so that an auditor can check it
 * against the chain of the log it came from. */
static void
record_object(FILE *f, const struct audit_record *rec)
{
	char id[64];

	snprintf(id, sizeof(id), "%lld", rec->seq);
	object_begin(f, id, "2", NULL, &ID_RECORD, rec->host);
	if (rec->object != NULL && rec->object[0] != '\0')
		detail(f, "object", rec->object, strlen(rec->object));
	detail(f, "record", rec->line, rec->len);
	object_end(f);
}

int
atna_write_record(FILE *f, const struct audit_record *rec)
{
	const struct atna_map *m = map_of(rec->event);
	const struct code *id = m->id;
	bool export = false;

	if (!utc_time_ok(rec->time))
		return PG_ERR_PARSE;
	/* A handle released after reading: the bytes left the gateway for
	 * the user's process (Export); one that read nothing is an access. */
	if (m->id == &EV_EXPORT) {
		export = rec->bytes > 0;
		if (!export)
			id = &EV_PATIENT;
	}
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?><AuditMessage>", f);
	event_identification(f, rec, m, id);
	participants(f, rec, export);
	subjects(f, rec, m);
	record_object(f, rec);
	fputs("</AuditMessage>\n", f);
	return ferror(f) ? PG_ERR_IO : PG_OK;
}

int
atna_write_unverified(FILE *f, const struct atna_local *who, const char *log,
    const struct audit_verify_result *res)
{
	static const struct atna_map m = { "audit.unverified", &EV_ALERT, NULL,
		'E', SUBJ_NONE, "12", "12" };
	char pid[32], verdict[AUDIT_MSG_MAX + 128];

	if (!utc_time_ok(who->time))
		return PG_ERR_PARSE;
	if (!res->ok)
		snprintf(verdict, sizeof(verdict),
		    "does not verify: seq %lld: %s: %s", res->bad_seq,
		    audit_fail_name(res->kind), res->message);
	else
		snprintf(verdict, sizeof(verdict),
		    "signatures not checked (no public key)");
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?><AuditMessage>", f);
	fputs("<EventIdentification EventActionCode=\"E\"", f);
	attr(f, "EventDateTime", who->time);
	/* Not verified at all may hide anything (12); a chain that holds
	 * but is unsigned could still be rewritten whole (8). */
	attr(f, "EventOutcomeIndicator", res->ok ? "8" : m.error);
	putc('>', f);
	code_el(f, "EventID", m.id);
	coded(f, "EventTypeCode", m.event, "photoguard", m.event);
	fputs("<EventOutcomeDescription>exported although the audit log ", f);
	cli_markup(f, verdict);
	fputs("</EventOutcomeDescription></EventIdentification>", f);
	fputs("<ActiveParticipant", f);
	attr(f, "UserID", who->user);
	fputs(" UserIsRequestor=\"true\"/><ActiveParticipant "
	      "UserID=\"photoguard\"",
	    f);
	snprintf(pid, sizeof(pid), "%ld", who->pid);
	attr(f, "AlternativeUserID", pid);
	attr(f, "UserIsRequestor", "false");
	attr(f, "NetworkAccessPointID", who->host);
	fputs(
	    " NetworkAccessPointTypeCode=\"1\"/><AuditSourceIdentification", f);
	attr(f, "AuditSourceID", who->host);
	fputs("><AuditSourceTypeCode csd-code=\"4\"/>"
	      "</AuditSourceIdentification>",
	    f);
	object_begin(f, log, "2", "13", &ID_LOG, log);
	detail(f, "verdict", verdict, strlen(verdict));
	object_end(f);
	fputs("</AuditMessage>\n", f);
	return ferror(f) ? PG_ERR_IO : PG_OK;
}
