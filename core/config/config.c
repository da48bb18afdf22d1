/*
 * config.c - loads photoguard.conf with libinih and checks every value
 * against one table of keys.  The table is also the documentation: it is
 * what `photoguard config keys` prints and what the man page is checked
 * against.  An error names the file, the line and the key, and nothing is
 * half-loaded: the caller gets a complete config or none.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <ini.h>

#include "core/config/config.h"
#include "base/base.h"
#include "core/state/state.h"

enum key_type {
	T_STRING,     /* any non-empty text */
	T_PATH,       /* absolute path */
	T_BOOL,       /* yes/no/true/false/on/off/1/0 */
	T_INT,        /* decimal integer in [min, max] */
	T_MS,         /* duration, stored in milliseconds */
	T_SEC,        /* duration, stored in seconds */
	T_BACKEND,    /* ldap | local */
	T_TLS,        /* starttls | ldaps | none */
	T_DURABILITY, /* fsync | batch */
	T_TOTPSTORE,  /* files | directory */
	T_BUDGET,     /* local | directory */
};

struct key {
	struct pg_config_key_doc doc;
	enum key_type type;
	size_t off;
	const char *value;  /* machine default; NULL: unset or derived */
	long long min, max; /* T_INT, T_MS (ms), T_SEC (s) */
};

#define F(field) offsetof(struct pg_config, field)
/* A key whose default is a value. */
#define K(sec, name, ty, field, def, lo, hi, text)                             \
	{                                                                      \
		{ sec, name, #ty + 2, def, text }, ty, F(field), def, lo, hi   \
	}
/* A key whose default is described in words (unset, or derived). */
#define KP(sec, name, ty, field, prose, text)                                  \
	{                                                                      \
		{ sec, name, #ty + 2, prose, text }, ty, F(field), NULL, 0, 0  \
	}

/* clang-format off */
static const struct key keys[] = {
	K("directory", "backend", T_BACKEND, dir_backend, "local", 0, 0,
	  "Where roles and care teams come from: 'ldap', or 'local' (Unix groups plus care_team_file)."),
	KP("directory", "uri", T_STRING, dir_uri, NULL,
	  "LDAP server URI, ldap://host[:port] or ldaps://host[:port]; up to 4, separated by spaces, tried in order (replicated providers: list them in the same order on every server). Required with backend = ldap."),
	KP("directory", "tls", T_TLS, dir_tls, "starttls for ldap://, ldaps for ldaps://",
	  "Transport security: 'starttls', 'ldaps', or 'none' (plain text; only for a directory on loopback)."),
	KP("directory", "ca_file", T_PATH, dir_ca_file, "the system CA store",
	  "PEM file of the CA(s) that sign the directory server's certificate."),
	K("directory", "tls_verify", T_BOOL, dir_tls_verify, "yes", 0, 0,
	  "Verify the server certificate and host name. Turning this off lets anyone on the network impersonate the directory."),
	KP("directory", "bind_dn", T_STRING, dir_bind_dn, "anonymous bind",
	  "DN to bind as for searches (and for writing the lockout attribute)."),
	KP("directory", "bind_password_file", T_PATH, dir_bind_password_file, NULL,
	  "File holding the bind password: root's, mode 0600, or 0640 of the [store] user's group so the gateway can read it. Required with bind_dn."),
	KP("directory", "base_dn", T_STRING, dir_base_dn, NULL,
	  "Search base of the directory, e.g. dc=clinic,dc=example. Required with backend = ldap."),
	KP("directory", "user_base", T_STRING, dir_user_base, "ou=people under base_dn",
	  "Where user entries live."),
	K("directory", "user_filter", T_STRING, dir_user_filter, "(objectClass=posixAccount)", 0, 0,
	  "Filter that every user entry matches; the user name is ANDed to it, escaped."),
	K("directory", "user_attr", T_STRING, dir_user_attr, "uid", 0, 0,
	  "Attribute holding the login name."),
	KP("directory", "group_base", T_STRING, dir_group_base, "ou=groups under base_dn",
	  "Where role groups live."),
	K("directory", "group_filter", T_STRING, dir_group_filter, "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup))", 0, 0,
	  "Filter for role groups (member or uniqueMember = user DN, or memberUid = login name)."),
	K("directory", "group_nesting", T_INT, dir_group_nesting, "4", 0, 16,
	  "Levels of groups within groups that count: a member of a group whose DN is a member (or uniqueMember) of a role group has that role, as in Active Directory or FreeIPA. 0: direct membership only."),
	KP("directory", "care_team_base", T_STRING, dir_care_team_base, "ou=careteams under base_dn",
	  "Where care-team groups live: one groupOfNames per patient."),
	K("directory", "care_team_filter", T_STRING, dir_care_team_filter, "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))", 0, 0,
	  "Filter for care-team groups (member or uniqueMember = user DN)."),
	K("directory", "care_team_attr", T_STRING, dir_care_team_attr, "cn", 0, 0,
	  "Attribute of a care-team group that holds the patient id."),
	KP("directory", "lockout_attribute", T_STRING, dir_lockout_attr, "none",
	  "User attribute that marks a locked account on every server, read and written with its directory's meaning: pwdAccountLockedTime (OpenLDAP ppolicy: locked while present), nsAccountLock (389 Directory Server, FreeIPA: locked when TRUE; an unlock removes it), lockoutTime (Active Directory: locked above 0, a FILETIME; an unlock writes 0; Active Directory refuses a lock written by a client, so photoguard's own lockouts hold on their server only, with an alert to lock the account in Active Directory); any other attribute locks while present."),
	K("directory", "care_team_file", T_PATH, dir_care_team_file, "/etc/photoguard/care-teams", 0, 0,
	  "Care-team file for backend = local: lines 'PATIENT: user user ...'; root's, mode 0600, or 0640 of the [store] user's group."),
	K("directory", "network_timeout", T_MS, dir_network_timeout_ms, "3s", 100, 60000,
	  "Time allowed to connect to the directory."),
	K("directory", "timeout", T_MS, dir_timeout_ms, "5s", 100, 60000,
	  "Time allowed for one directory operation."),
	K("directory", "cache_ttl", T_SEC, dir_cache_ttl_s, "60s", 0, 3600,
	  "How long a user's roles and care teams are cached; 0 disables the cache."),
	KP("directory", "offline_cache_dir", T_PATH, dir_offline_cache_dir, "none",
	  "If set, roles from successful lookups are kept here for logins while the directory is down (formerly [totp] offline_cache_dir)."),
	K("directory", "offline_max_age", T_SEC, dir_offline_max_age_s, "24h", 60, 2592000,
	  "Oldest offline-cache entry that may still be used (formerly [totp] offline_max_age)."),

	K("policy", "file", T_PATH, policy_file, "/etc/photoguard/clinic.policy", 0, 0,
	  "The policy file (see photoguard-policy(5))."),

	K("audit", "log", T_PATH, audit_log, "/var/log/photoguard/audit.jsonl", 0, 0,
	  "The audit log (JSON Lines, hash-chained)."),
	K("audit", "key", T_PATH, audit_key_file, "/etc/photoguard/audit.key", 0, 0,
	  "Root-only Ed25519 key that signs checkpoints; the public key is KEY.pub."),
	K("audit", "checkpoint_every", T_INT, audit_checkpoint_every, "1000", 1, 1000000,
	  "Write a signed checkpoint after this many records (also on close, and "
	  "a second after the first record no checkpoint covers)."),
	K("audit", "durability", T_DURABILITY, audit_durability, "batch", 0, 0,
	  "'fsync' after every record, or 'batch': group commit within batch_ms."),
	K("audit", "batch_ms", T_MS, audit_batch_ms, "50ms", 1, 100,
	  "Longest time a record may wait for its fsync in batch mode (at most 100ms)."),
	K("audit", "syslog", T_BOOL, audit_syslog, "yes", 0, 0,
	  "Also send each record and each signed head, whole, as RFC 5424 syslog messages, so they can leave the host."),
	K("audit", "syslog_socket", T_PATH, audit_syslog_socket, "/dev/log", 0, 0,
	  "The local syslog daemon's datagram socket those messages go to; the shipped rsyslog forwarding snippet listens on /run/photoguard-audit.sock."),
	K("audit", "heartbeat", T_SEC, audit_heartbeat_s, "5m", 0, 86400,
	  "With syslog on and a key, the gateway sends a signed heartbeat this often, so that a collector can tell a silent host from an idle one; 0 sends none."),
	K("audit", "key_epoch", T_SEC, audit_key_epoch_s, "1d", 0, 31622400,
	  "With a key, sign with a new key this often: an audit.key record signed by the old key introduces it, and the old one is overwritten and wiped, so that a key stolen today cannot re-sign the log before it. Auditors keep only the first public key. 0 changes keys only on 'photoguard audit rekey'."),
	KP("audit", "host", T_STRING, audit_host, "the host name",
	  "Host name written in each record."),

	K("lockout", "dir", T_PATH, lockout_dir, "/var/lib/photoguard/lockout", 0, 0,
	  "Lockout store (must survive reboot: not on tmpfs)."),
	KP("lockout", "hook", T_PATH, lockout_hook, "none",
	  "Command run as the [store] user, detached, with no arguments and only PHOTOGUARD_* variables, when an account is locked out (by the gateway's bulk limits or by the PAM module's wrong-code limits), when break-glass access is granted and when the audit log refuses records; PHOTOGUARD_EVENT says which (lockout, breakglass, audit.failure; enroll when a user enrolled a new app at login). It must be a root-owned executable file that only root may write, in directories only root may write; any other is refused with a LOG_ERR line, and a lockout happens all the same. Examples: mail-alert and webhook-alert in share/photoguard/examples/hooks/. Environment: photoguard-gateway(8), pam_photoguard(8)."),
	K("lockout", "hook_timeout", T_SEC, lockout_hook_timeout_s, "30s", 1, 600,
	  "A hook still running after this long is killed, with its process group, and the kill is logged; nobody waits for it meanwhile."),
	K("lockout", "budget", T_BUDGET, lockout_budget, "local", 0, 0,
	  "Where the gateway counts a user's bulk limits: 'local' (this server only) or 'directory' (one budget for the clinic, leased in slices from the user's entry; needs backend = ldap, bind_dn and lockout_attribute)."),
	K("lockout", "lease", T_SEC, lockout_lease_s, "30s", 1, 600,
	  "With budget = directory: how long a gateway may spend a slice of a user's budget before it asks again; what it did not spend goes back then."),

	K("totp", "secret_dir", T_PATH, totp_secret_dir, "/var/lib/photoguard/totp", 0, 0,
	  "Root-only directory of encrypted TOTP secrets."),
	K("totp", "store", T_TOTPSTORE, totp_store, "files", 0, 0,
	  "Where TOTP secrets, the replay watermark, scratch codes and wrong-code counts live: 'files' (this server only) or 'directory' (the user's entry, slapo-otp's oath* schema: enroll once, every server agrees; needs backend = ldap, bind_dn and lockout_attribute)."),
	K("totp", "host_key", T_PATH, totp_host_key_file, "/etc/photoguard/totp.key", 0, 0,
	  "Root-only key that encrypts the TOTP secrets at rest."),
	K("totp", "window", T_INT, totp_window, "1", 0, 10,
	  "Accept codes this many time steps before or after now."),
	K("totp", "step", T_SEC, totp_step_s, "30s", 10, 300,
	  "TOTP time step."),
	K("totp", "digits", T_INT, totp_digits, "6", 6, 8,
	  "Digits per code."),
	K("totp", "max_failures", T_INT, totp_max_failures, "5", 1, 100,
	  "Wrong codes within failure_window that lock the account (at most 100, NIST SP 800-63B)."),
	K("totp", "max_consecutive_failures", T_INT, totp_max_consecutive_failures, "10", 1, 1000,
	  "Wrong codes in a row, however far apart, that lock the account; only a good code or an admin unlock ends the run (NIST SP 800-63B)."),
	K("totp", "failure_window", T_SEC, totp_failure_window_s, "15m", 60, 604800,
	  "Window over which wrong codes are counted."),
	K("totp", "issuer", T_STRING, totp_issuer, "photoguard", 0, 0,
	  "Name the authenticator app shows for the account, e.g. the clinic's name; the label is ISSUER:USER. At most 64 bytes, no colon or control characters."),
	K("totp", "self_enroll", T_BOOL, totp_self_enroll, "no", 0, 0,
	  "After a login with a scratch code, offer to enroll a new authenticator in the same conversation (a scratch code then stands for the whole second factor, so it is off unless turned on; every such enrollment is alerted and handed to [lockout] hook). One-time enrollment tokens (photoguard enroll --token) work either way."),
	K("totp", "token_ttl", T_SEC, totp_token_ttl_s, "24h", 300, 604800,
	  "How long a one-time enrollment token from photoguard enroll --token stays valid."),
	K("totp", "ticket_dir", T_PATH, totp_ticket_dir, "/run/photoguard/mfa", 0, 0,
	  "Where MFA tickets are written after a successful code."),
	K("totp", "ticket_ttl", T_SEC, totp_ticket_ttl_s, "1h", 60, 86400,
	  "How long an MFA ticket counts as a live MFA login."),

	K("store", "root", T_PATH, store_root, "/var/lib/photoguard/store", 0, 0,
	  "The photo store (owned by the service user, mode 0700)."),
	K("store", "user", T_STRING, store_user, "photoguard", 0, 0,
	  "Service user that owns the store and that the gateway serves as; its primary group, which must be its own, shares the MFA tickets, lockout store and audit log."),
	K("store", "mountpoint", T_PATH, store_mountpoint, "/srv/photos", 0, 0,
	  "Where the gateway mounts the store for staff."),
	K("store", "control_socket", T_PATH, store_control_socket, "/run/photoguard/gateway.sock", 0, 0,
	  "Unix socket of the running gateway."),
	K("store", "views", T_BOOL, store_views, "yes", 0, 0,
	  "Give each login a view of its own at the mountpoint (a FUSE connection only its user may use, with the kernel's caches on), made by pam_photoguard's session and served by the running gateway; without one the shared view serves.  No: the session makes none and the gateway refuses them."),
	K("store", "view_ttl", T_SEC, store_view_ttl_s, "60s", 1, 3600,
	  "Longest time a view's kernel keeps a name, attributes or a listing the gateway did not invalidate (a store changed behind the gateway, a care team changed in the directory before the user's next request)."),
};
/* clang-format on */

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

/*
 * Old spellings still read, so an installed file keeps working: each
 * sets the key it names, with a warning.  Setting both spellings to
 * different values is an error (which one meant it?).
 */
static const struct alias {
	const char *section, *key; /* the old spelling */
	const char *to_section, *to_key;
} aliases[] = {
	{ "totp", "offline_cache_dir", "directory", "offline_cache_dir" },
	{ "totp", "offline_max_age", "directory", "offline_max_age" },
};

#define NALIASES (sizeof(aliases) / sizeof(aliases[0]))

static struct pg_config_key_doc key_docs[NKEYS + 1];

const struct pg_config_key_doc *
pg_config_keys(void)
{
	size_t i;

	static const char *const type_names[] = {
		[T_STRING] = "string",
		[T_PATH] = "path",
		[T_BOOL] = "yes|no",
		[T_INT] = "integer",
		[T_MS] = "duration",
		[T_SEC] = "duration",
		[T_BACKEND] = "ldap|local",
		[T_TLS] = "starttls|ldaps|none",
		[T_DURABILITY] = "fsync|batch",
		[T_TOTPSTORE] = "files|directory",
		[T_BUDGET] = "local|directory",
	};

	/* Filled on every call: cheap, and no init-order or thread issue. */
	for (i = 0; i < NKEYS; i++) {
		key_docs[i] = keys[i].doc;
		key_docs[i].type = type_names[keys[i].type];
	}
	memset(&key_docs[NKEYS], 0, sizeof(key_docs[NKEYS]));
	return key_docs;
}

const char *
pg_config_default_path(void)
{
	const char *env = secure_getenv(PG_CONFIG_ENV);

	if (env != NULL && *env != '\0')
		return env;
	return PG_CONFIG_DEFAULT_PATH;
}

/* Parsing state shared with the inih callbacks. */
struct parse {
	const char *name;
	const char *buf, *pos, *end;
	unsigned line;
	unsigned key_line[NKEYS];             /* 0: not set */
	const struct alias *key_alias[NKEYS]; /* set by an old spelling */
	unsigned section_line[8];
	const char *sections[8];
	size_t nsections;
	struct pg_config *cfg;
	int err;
	unsigned err_line;
	char *errbuf;
	size_t errlen;
};

static void fail(struct parse *p, unsigned line, const char *section,
    const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void
fail(struct parse *p, unsigned line, const char *section, const char *key,
    const char *fmt, ...)
{
	char what[256];
	va_list ap;

	if (p->err != PG_OK)
		return; /* keep the first error */
	p->err = PG_ERR_CONFIG;
	p->err_line = line;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (section != NULL && key != NULL)
		snprintf(p->errbuf, p->errlen, "%s:%u: [%s] %s: %s", p->name,
		    line, section, key, what);
	else
		snprintf(
		    p->errbuf, p->errlen, "%s:%u: %s", p->name, line, what);
}

/* inih reader over a memory buffer that counts lines. */
static char *
reader(char *str, int num, void *stream)
{
	struct parse *p = stream;
	const char *nl;
	size_t n;

	if (p->pos >= p->end || num < 2)
		return NULL;
	nl = memchr(p->pos, '\n', (size_t)(p->end - p->pos));
	n = nl != NULL ? (size_t)(nl - p->pos) + 1 : (size_t)(p->end - p->pos);
	p->line++;
	if (n > (size_t)num - 1) {
		fail(p, p->line, NULL, NULL, "%s", "line too long");
		/* Skip the rest of the overlong line. */
		p->pos = nl != NULL ? nl + 1 : p->end;
		memcpy(str, "#\n", 3);
		return str;
	}
	memcpy(str, p->pos, n);
	str[n] = '\0';
	if (memchr(str, '\0', n) != NULL)
		fail(p, p->line, NULL, NULL, "%s", "NUL byte in line");
	p->pos += n;
	return str;
}

static int parse_value(const struct key *k, const char *v,
    struct pg_config *cfg, const char **why);

static const struct key *
find_key(const char *section, const char *name, size_t *idx)
{
	size_t i;

	for (i = 0; i < NKEYS; i++) {
		if (strcmp(keys[i].doc.section, section) == 0 &&
		    strcmp(keys[i].doc.key, name) == 0) {
			*idx = i;
			return &keys[i];
		}
	}
	return NULL;
}

static const struct alias *
find_alias(const char *section, const char *name)
{
	size_t i;

	for (i = 0; i < NALIASES; i++)
		if (strcmp(aliases[i].section, section) == 0 &&
		    strcmp(aliases[i].key, name) == 0)
			return &aliases[i];
	return NULL;
}

static int
known_section(const char *section)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].doc.section, section) == 0)
			return 1;
	return 0;
}

/* Returns the line of the last "[SECTION]" header before line UPTO. */
static unsigned
header_line(const struct parse *p, const char *section, unsigned upto)
{
	const char *q = p->buf, *nl, *s;
	size_t len = strlen(section);
	unsigned line = 1, found = upto;

	for (; q < p->end && line < upto; q = nl + 1, line++) {
		if ((nl = memchr(q, '\n', (size_t)(p->end - q))) == NULL)
			nl = p->end;
		s = q + strspn(q, " \t");
		if (*s == '[' && (size_t)(nl - s) > len + 1 &&
		    strncmp(s + 1, section, len) == 0 && s[len + 1] == ']')
			found = line;
	}
	return found;
}

static void
note_section(struct parse *p, const char *section)
{
	size_t i, k;

	for (i = 0; i < p->nsections; i++)
		if (strcmp(p->sections[i], section) == 0)
			return;
	if (p->nsections >= sizeof(p->sections) / sizeof(p->sections[0]))
		return;
	/* Table strings outlive the parse; store those, not inih's. */
	for (k = 0; k < NKEYS; k++)
		if (strcmp(keys[k].doc.section, section) == 0)
			break;
	p->sections[p->nsections] = keys[k].doc.section;
	p->section_line[p->nsections++] = header_line(p, section, p->line);
}

static void warn(struct parse *p, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Keeps a warning for the caller; past PG_CONFIG_WARN_MAX they are
 * dropped (each says the same kind of thing). */
static void
warn(struct parse *p, unsigned line, const char *fmt, ...)
{
	char what[256], *w;
	va_list ap;

	if (p->cfg->nwarnings >= PG_CONFIG_WARN_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (asprintf(&w, "%s:%u: %s", p->name, line, what) < 0) {
		fail(p, line, NULL, NULL, "%s", "out of memory");
		return;
	}
	p->cfg->warnings[p->cfg->nwarnings++] = w;
}

/* True when V, parsed as K, is the value CFG already holds for K. */
static bool
same_value(const struct key *k, const char *v, const struct pg_config *cfg)
{
	struct pg_config tmp;
	const char *why = NULL;
	const void *a = (const char *)cfg + k->off;
	void *b = (char *)&tmp + k->off;
	bool same;

	memset(&tmp, 0, sizeof(tmp));
	if (parse_value(k, v, &tmp, &why) != PG_OK)
		return false;
	if (k->type == T_STRING || k->type == T_PATH) {
		same = *(char *const *)a != NULL &&
		    strcmp(*(char *const *)a, *(char **)b) == 0;
		free(*(char **)b);
		return same;
	}
	if (k->type == T_BOOL)
		return *(const bool *)a == *(bool *)b;
	return *(const int *)a == *(int *)b;
}

/*
 * K (index IDX), set under one spelling, is set again as SECTION NAME
 * under the other (A: the old one, or NULL for the new one): the same
 * value is only redundant, a different one is an error.
 */
static void
both_spellings(struct parse *p, const struct key *k, size_t idx,
    const struct alias *a, const char *section, const char *name,
    const char *value)
{
	const struct alias *old = a != NULL ? a : p->key_alias[idx];
	const char *osec = a != NULL ? k->doc.section : old->section;
	const char *okey = a != NULL ? k->doc.key : old->key;

	if (!same_value(k, value, p->cfg)) {
		fail(p, p->line, section, name,
		    "also set as [%s] %s on line %u, to a different value; "
		    "keep only [%s] %s",
		    osec, okey, p->key_line[idx], k->doc.section, k->doc.key);
		return;
	}
	warn(p, p->line, "[%s] %s is deprecated and repeats [%s] %s; remove it",
	    old->section, old->key, k->doc.section, k->doc.key);
}

static int
handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;
	const struct key *k;
	const struct alias *a;
	const char *why = NULL;
	size_t idx;

	if (p->err != PG_OK)
		return 1;
	if (*section == '\0') {
		fail(p, p->line, NULL, NULL, "key '%s' outside of any section",
		    name);
		return 1;
	}
	if (!known_section(section)) {
		fail(p, p->line, NULL, NULL, "unknown section [%s]", section);
		return 1;
	}
	note_section(p, section);
	if ((a = find_alias(section, name)) != NULL) {
		k = find_key(a->to_section, a->to_key, &idx);
		if (k == NULL) {
			fail(p, p->line, section, name, "%s", "internal error");
			return 1;
		}
	} else if ((k = find_key(section, name, &idx)) == NULL) {
		fail(p, p->line, section, name, "%s", "unknown key");
		return 1;
	}
	if (p->key_line[idx] != 0 && p->key_alias[idx] == a) {
		fail(p, p->line, section, name, "set twice (first on line %u)",
		    p->key_line[idx]);
		return 1;
	}
	if (p->key_line[idx] != 0) {
		both_spellings(p, k, idx, a, section, name, value);
		return 1;
	}
	p->key_line[idx] = p->line;
	p->key_alias[idx] = a;
	if (parse_value(k, value, p->cfg, &why) != PG_OK)
		fail(p, p->line, section, name, "%s", why);
	else if (a != NULL)
		warn(p, p->line, "[%s] %s is deprecated; write [%s] %s",
		    section, name, a->to_section, a->to_key);
	return 1;
}

static unsigned
section_line(const struct parse *p, const char *section)
{
	size_t i;

	for (i = 0; i < p->nsections; i++)
		if (strcmp(p->sections[i], section) == 0)
			return p->section_line[i];
	return p->line;
}

/* Sets the defaults of every key the file did not set. */
static void
apply_defaults(struct parse *p)
{
	const char *why = NULL;
	size_t i;

	for (i = 0; i < NKEYS && p->err == PG_OK; i++) {
		const struct key *k = &keys[i];
		if (p->key_line[i] != 0 || k->value == NULL)
			continue;
		if (parse_value(k, k->value, p->cfg, &why) != PG_OK)
			fail(p, 0, k->doc.section, k->doc.key,
			    "bad built-in default: %s", why);
	}
}

static int
is_set(const struct parse *p, const char *section, const char *name)
{
	size_t idx;

	return find_key(section, name, &idx) != NULL && p->key_line[idx] != 0;
}

static void
require(
    struct parse *p, const char *section, const char *name, const char *because)
{
	if (!is_set(p, section, name))
		fail(p, section_line(p, section), section, name, "%s", because);
}

/* The line of KEY if the file set it, else of its section's header. */
static unsigned
key_line(const struct parse *p, const char *section, const char *key)
{
	size_t idx;

	if (find_key(section, key, &idx) != NULL && p->key_line[idx] != 0)
		return p->key_line[idx];
	return section_line(p, section);
}

/*
 * [directory] uri against tls and tls_verify (pg_config_check_uris), each
 * error told at the line it has always been told at.  An ldaps:// list
 * without a tls key means tls = ldaps.
 */
static void
check_uris(struct parse *p)
{
	struct pg_config *c = p->cfg;
	enum pg_uri_fault fault = PG_URI_BAD_LIST;
	char what[256];

	if (!is_set(p, "directory", "tls") &&
	    strncasecmp(c->dir_uri, "ldaps://", 8) == 0)
		c->dir_tls = PG_TLS_LDAPS;
	if (pg_config_check_uris(c->dir_uri, c->dir_tls, c->dir_tls_verify,
	        &fault, what, sizeof(what)) == PG_OK)
		return;
	switch (fault) {
	case PG_URI_BAD_LIST:
		fail(p, key_line(p, "directory", "uri"), "directory", "uri",
		    "%s", what);
		break;
	case PG_URI_BAD_SCHEME:
		fail(p, section_line(p, "directory"), "directory", "tls", "%s",
		    what);
		break;
	case PG_URI_BAD_TLS:
		fail(p, key_line(p, "directory", "tls"), "directory", "tls",
		    "%s", what);
		break;
	case PG_URI_BAD_VERIFY:
	default:
		fail(p, key_line(p, "directory", "tls_verify"), "directory",
		    "tls_verify", "%s", what);
		break;
	}
}

/*
 * TOTP state and the bulk budget in the directory are only clinic-wide
 * with an LDAP directory the bind DN may write, and a lock they decide
 * only reaches every server through the lockout attribute.
 */
static void
check_clinic_wide(struct parse *p, const char *sect, const char *key,
    const char *why_bind, const char *why_lock)
{
	struct pg_config *c = p->cfg;

	if (c->dir_backend != PG_DIR_LDAP)
		fail(p, key_line(p, sect, key), sect, key,
		    "needs [directory] backend = ldap");
	else if (c->dir_bind_dn == NULL)
		fail(p, key_line(p, sect, key), sect, key,
		    "needs [directory] bind_dn (%s)", why_bind);
	else if (c->dir_lockout_attr == NULL)
		fail(p, key_line(p, sect, key), sect, key,
		    "needs [directory] lockout_attribute (%s)", why_lock);
}

int
pg_config_issuer_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > PG_ISSUER_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] == ':' || (unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/* Checks that hold between keys. */
static void
cross_check(struct parse *p)
{
	struct pg_config *c = p->cfg;

	if (!pg_config_issuer_ok(c->totp_issuer))
		fail(p, key_line(p, "totp", "issuer"), "totp", "issuer",
		    "at most %d bytes, no ':' (the label's separator) and no "
		    "control characters",
		    PG_ISSUER_MAX);
	if (c->totp_store == PG_TOTP_DIRECTORY)
		check_clinic_wide(p, "totp", "store",
		    "the secrets are readable by the bind identity only",
		    "a lock on wrong codes must reach every server");
	if (c->lockout_budget == PG_BUDGET_DIRECTORY)
		check_clinic_wide(p, "lockout", "budget",
		    "the leases are written by the bind identity only",
		    "a lock on bulk reads must reach every server");

	if (c->dir_backend == PG_DIR_LDAP) {
		require(p, "directory", "uri",
		    "required key missing (backend = ldap)");
		require(p, "directory", "base_dn",
		    "required key missing (backend = ldap)");
	}
	if (c->dir_bind_dn != NULL)
		require(p, "directory", "bind_password_file",
		    "required key missing (bind_dn is set)");
	if (p->err != PG_OK || c->dir_backend != PG_DIR_LDAP)
		return;
	check_uris(p);
	if (p->err == PG_OK && c->dir_lockout_attr != NULL &&
	    c->dir_bind_dn == NULL)
		fail(p, key_line(p, "directory", "lockout_attribute"),
		    "directory", "lockout_attribute", "%s",
		    "needs bind_dn (an anonymous bind may not read or write "
		    "it, and an unreadable attribute would look unlocked)");
}

int
pg_config_parse(const char *name, const char *buf, struct pg_config **out,
    char *err, size_t errlen)
{
	struct parse p;
	int r;

	*out = NULL;
	if (errlen > 0)
		err[0] = '\0';
	memset(&p, 0, sizeof(p));
	p.name = name;
	p.buf = p.pos = buf;
	p.end = buf + strlen(buf);
	p.errbuf = err;
	p.errlen = errlen;
	if ((p.cfg = calloc(1, sizeof(*p.cfg))) == NULL ||
	    (p.cfg->path = strdup(name)) == NULL) {
		pg_config_free(p.cfg);
		return PG_ERR_NOMEM;
	}
	r = ini_parse_stream(reader, &p, handler, &p);
	if (r > 0 && p.err != PG_OK && (unsigned)r < p.err_line)
		p.err = PG_OK; /* inih's error came first: report that */
	if (r > 0)
		fail(&p, (unsigned)r, NULL, NULL, "%s",
		    "syntax error (expected [section] or key = value)");
	else if (r < 0)
		fail(&p, 0, NULL, NULL, "%s", "out of memory");
	apply_defaults(&p);
	if (p.err == PG_OK)
		cross_check(&p);
	if (p.err != PG_OK) {
		pg_config_free(p.cfg);
		return p.err;
	}
	*out = p.cfg;
	return PG_OK;
}

int
pg_config_load(
    const char *path, struct pg_config **out, char *err, size_t errlen)
{
	char *buf = NULL;
	int r;

	*out = NULL;
	if (path == NULL)
		path = pg_config_default_path();
	r = pg_read_file(path, PG_CONFIG_MAX_SIZE, PG_RF_TRUSTED, &buf, NULL);
	if (r != PG_OK) {
		pg_file_error(path, "config", r, err, errlen);
		return r;
	}
	r = pg_config_parse(path, buf, out, err, errlen);
	free(buf);
	/* The state shared with the gateway belongs to its service user's
	 * group (fileio.h); without that user nothing is shared. */
	if (r == PG_OK)
		(void)pg_share_from_user((*out)->store_user);
	return r;
}

void
pg_config_free(struct pg_config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	for (i = 0; i < NKEYS; i++) {
		enum key_type t = keys[i].type;
		if (t == T_STRING || t == T_PATH)
			free(*(char **)(void *)((char *)cfg + keys[i].off));
	}
	for (i = 0; i < cfg->nwarnings; i++)
		free(cfg->warnings[i]);
	free(cfg->path);
	free(cfg);
}

/* Parses a decimal integer; the whole string must be used. */
static int
parse_ll(const char *v, long long *out)
{
	char *end;

	if (*v == '\0' || *v == '+' || (*v != '-' && (*v < '0' || *v > '9')))
		return -1;
	errno = 0;
	*out = strtoll(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0')
		return -1;
	return 0;
}

/*
 * Durations: an integer and a unit (ms, s, m, h, d); a bare integer is
 * seconds.  Returns milliseconds.
 */
static int
parse_duration_ms(const char *v, long long *ms)
{
	static const struct {
		const char *unit;
		long long ms;
	} units[] = {
		{ "ms", 1 },
		{ "s", 1000 },
		{ "m", 60000 },
		{ "h", 3600000 },
		{ "d", 86400000 },
		{ "", 1000 },
	};
	char num[24];
	size_t n = strspn(v, "0123456789"), i;
	long long x;

	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, v, n);
	num[n] = '\0';
	if (parse_ll(num, &x) != 0)
		return -1;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(v + n, units[i].unit) != 0)
			continue;
		if (x > LLONG_MAX / units[i].ms)
			return -1;
		*ms = x * units[i].ms;
		return 0;
	}
	return -1;
}

static int
parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

/* Maps V to an enum value through a NULL-terminated list of names. */
static int
parse_enum(const char *v, const char *const *names, int *out)
{
	int i;

	for (i = 0; names[i] != NULL; i++) {
		if (strcmp(v, names[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	return -1;
}

/* MIN and MAX are in the unit the field stores (ms, s or plain). */
static int
parse_range(const struct key *k, long long x, int *dst, const char **why)
{
	if (x < k->min || x > k->max) {
		*why = "value out of range (see `photoguard config keys`)";
		return PG_ERR_CONFIG;
	}
	*dst = (int)x;
	return PG_OK;
}

static int
parse_number(const struct key *k, const char *v, void *dst, const char **why)
{
	long long x;

	if (k->type == T_INT) {
		if (parse_ll(v, &x) != 0) {
			*why = "not an integer";
			return PG_ERR_CONFIG;
		}
		return parse_range(k, x, dst, why);
	}
	if (parse_duration_ms(v, &x) != 0) {
		*why = "not a duration (e.g. 500ms, 30s, 15m, 1h, 1d)";
		return PG_ERR_CONFIG;
	}
	if (k->type == T_SEC) {
		if (x % 1000 != 0) {
			*why = "must be whole seconds";
			return PG_ERR_CONFIG;
		}
		x /= 1000;
	}
	return parse_range(k, x, dst, why);
}

static int
parse_enum_key(const struct key *k, const char *v, int *dst, const char **why)
{
	static const char *const backends[] = { "ldap", "local", NULL };
	static const char *const tls[] = { "starttls", "ldaps", "none", NULL };
	static const char *const dur[] = { "fsync", "batch", NULL };
	static const char *const totp[] = { "files", "directory", NULL };
	static const char *const budget[] = { "local", "directory", NULL };
	const char *const *names = k->type == T_BACKEND ? backends
	    : k->type == T_TLS                          ? tls
	    : k->type == T_TOTPSTORE                    ? totp
	    : k->type == T_BUDGET                       ? budget
	                                                : dur;

	if (parse_enum(v, names, dst) != 0) {
		*why = k->type == T_BACKEND ? "must be 'ldap' or 'local'"
		    : k->type == T_TLS ? "must be 'starttls', 'ldaps' or 'none'"
		    : k->type == T_TOTPSTORE ? "must be 'files' or 'directory'"
		    : k->type == T_BUDGET    ? "must be 'local' or 'directory'"
		                             : "must be 'fsync' or 'batch'";
		return PG_ERR_CONFIG;
	}
	return PG_OK;
}

static int
parse_value(
    const struct key *k, const char *v, struct pg_config *cfg, const char **why)
{
	void *dst = (char *)cfg + k->off;
	char *copy;

	if (*v == '\0') {
		*why = "empty value";
		return PG_ERR_CONFIG;
	}
	switch (k->type) {
	case T_PATH:
		if (v[0] != '/') {
			*why = "must be an absolute path";
			return PG_ERR_CONFIG;
		}
		/* FALLTHROUGH */
	case T_STRING:
		if (strlen(v) > PATH_MAX) {
			*why = "value too long";
			return PG_ERR_CONFIG;
		}
		if ((copy = strdup(v)) == NULL) {
			*why = "out of memory";
			return PG_ERR_NOMEM;
		}
		free(*(char **)dst);
		*(char **)dst = copy;
		return PG_OK;
	case T_BOOL:
		if (parse_bool(v, dst) != 0) {
			*why = "must be yes or no";
			return PG_ERR_CONFIG;
		}
		return PG_OK;
	case T_INT:
	case T_MS:
	case T_SEC:
		return parse_number(k, v, dst, why);
	case T_BACKEND:
	case T_TLS:
	case T_DURABILITY:
	case T_TOTPSTORE:
	case T_BUDGET:
		return parse_enum_key(k, v, dst, why);
	}
	*why = "internal error";
	return PG_ERR_INTERNAL;
}
