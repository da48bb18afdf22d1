/*
 * config.h - photoguard.conf: one INI file with the sections [directory],
 * [policy], [audit], [lockout], [totp] and [store].  Every key is described
 * in the table in config.c, which is also what `photoguard config keys`
 * prints and what the man page is checked against.
 */
#ifndef PG_CONFIG_H
#define PG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define PG_CONFIG_DEFAULT_PATH "/etc/photoguard/photoguard.conf"
#define PG_CONFIG_ENV          "PHOTOGUARD_CONFIG"
#define PG_CONFIG_MAX_SIZE     (256 * 1024)
#define PG_CONFIG_WARN_MAX     8
/* [directory] uri: providers tried in order, and the whole list's length
 * (under the config's line limit of 200, so that it is the one told). */
#define PG_DIR_URIS_MAX     4
#define PG_DIR_URI_LIST_MAX 180

enum pg_dir_backend {
	PG_DIR_LDAP = 0,
	PG_DIR_LOCAL = 1,
};

enum pg_dir_tls {
	PG_TLS_STARTTLS = 0, /* ldap:// upgraded with StartTLS (default) */
	PG_TLS_LDAPS = 1,    /* ldaps:// */
	PG_TLS_NONE = 2,     /* plain ldap://, only when asked explicitly */
};

enum pg_durability {
	PG_DURABLE_FSYNC = 0, /* fsync after every record */
	PG_DURABLE_BATCH = 1, /* group commit within batch_ms */
};

enum pg_totp_store {
	PG_TOTP_FILES = 0,     /* encrypted files on this server (default) */
	PG_TOTP_DIRECTORY = 1, /* the user's directory entry, clinic-wide */
};

enum pg_budget {
	PG_BUDGET_LOCAL = 0,     /* each gateway counts its own (default) */
	PG_BUDGET_DIRECTORY = 1, /* one budget for the clinic, leased */
};

struct pg_config {
	char *path; /* file this was loaded from */

	/* [directory] */
	enum pg_dir_backend dir_backend;
	char *dir_uri; /* 1..PG_DIR_URIS_MAX URIs, one space apart */
	enum pg_dir_tls dir_tls;
	char *dir_ca_file; /* NULL: system CA store */
	bool dir_tls_verify;
	char *dir_bind_dn; /* NULL: anonymous bind */
	char *dir_bind_password_file;
	char *dir_base_dn;
	char *dir_user_base;        /* default: base_dn */
	char *dir_user_filter;      /* default: (objectClass=posixAccount) */
	char *dir_user_attr;        /* default: uid */
	int dir_group_nesting;      /* levels of nested groups */
	char *dir_group_base;       /* default: base_dn */
	char *dir_group_filter;     /* default: groupOfNames/posixGroup */
	char *dir_care_team_base;   /* default: base_dn */
	char *dir_care_team_filter; /* default: (objectClass=groupOfNames) */
	char *dir_care_team_attr;   /* patient id attribute; default: cn */
	char *dir_lockout_attr;     /* NULL: not used */
	char *dir_care_team_file;   /* local backend */
	int dir_network_timeout_ms;
	int dir_timeout_ms;
	int dir_cache_ttl_s;
	char *dir_offline_cache_dir; /* NULL: no offline role cache */
	int dir_offline_max_age_s;

	/* [policy] */
	char *policy_file;

	/* [audit] */
	char *audit_log;
	char *audit_key_file;
	int audit_checkpoint_every;
	enum pg_durability audit_durability;
	int audit_batch_ms;
	bool audit_syslog;
	char *audit_syslog_socket;
	int audit_heartbeat_s;
	int audit_key_epoch_s;
	char *audit_host; /* NULL: gethostname() */

	/* [lockout] */
	char *lockout_dir;
	char *lockout_hook; /* NULL: none */
	int lockout_hook_timeout_s;
	enum pg_budget lockout_budget;
	int lockout_lease_s;

	/* [totp] */
	enum pg_totp_store totp_store;
	char *totp_secret_dir;
	char *totp_host_key_file;
	int totp_window;
	int totp_step_s;
	int totp_digits;
	int totp_max_failures;
	int totp_max_consecutive_failures;
	int totp_failure_window_s;
	char *totp_issuer;     /* otpauth issuer and label prefix */
	bool totp_self_enroll; /* offered after a scratch-code login */
	int totp_token_ttl_s;
	char *totp_ticket_dir;
	int totp_ticket_ttl_s;

	/* [store] */
	char *store_root;
	char *store_user;
	char *store_mountpoint;
	char *store_control_socket;
	bool store_views;
	int store_view_ttl_s;

	/* What loaded but should be written differently (deprecated
	 * spellings), as "FILE:LINE: [section] key: ..." lines. */
	char *warnings[PG_CONFIG_WARN_MAX];
	size_t nwarnings;
};

/* One documented key, for `photoguard config keys` and the man page. */
struct pg_config_key_doc {
	const char *section;
	const char *key;
	const char *type; /* string, path, bool, duration, ... */
	const char *def;  /* default, or NULL if required/none */
	const char *doc;
};

/*
 * Loads and validates PATH (NULL: $PHOTOGUARD_CONFIG, else the default
 * path).  On success *OUT is a config the caller frees with
 * pg_config_free().  On failure returns PG_ERR_* and writes a message of
 * the form "FILE:LINE: [section] key: what is wrong" to ERR.
 */
int pg_config_load(
    const char *path, struct pg_config **out, char *err, size_t errlen);

/* As pg_config_load() on an in-memory buffer named NAME (for tests). */
int pg_config_parse(const char *name, const char *buf, struct pg_config **out,
    char *err, size_t errlen);

/* Returns the path pg_config_load(NULL) would read. */
const char *pg_config_default_path(void);

/* Frees a config; NULL is a no-op. */
void pg_config_free(struct pg_config *cfg);

/* The table of keys, terminated by an entry with section == NULL. */
const struct pg_config_key_doc *pg_config_keys(void);

/*
 * Whether S may be [totp] issuer: 1 to PG_ISSUER_MAX bytes, no ':' (it
 * separates the issuer from the account in an otpauth label) and no
 * control characters.  The CLI holds --issuer to the same.
 */
#define PG_ISSUER_MAX 64
int pg_config_issuer_ok(const char *s);

/* The key a refused [directory] uri list is told against. */
enum pg_uri_fault {
	PG_URI_BAD_LIST = 0,   /* uri: the list itself */
	PG_URI_BAD_SCHEME = 1, /* tls: the scheme does not fit the tls mode */
	PG_URI_BAD_TLS = 2,    /* tls: none off loopback, or an unknown mode */
	PG_URI_BAD_VERIFY = 3, /* tls_verify: no, off loopback */
};

/*
 * Checks LIST as [directory] uri used with TLS and VERIFY: 1 to
 * PG_DIR_URIS_MAX ldap:// or ldaps:// URIs of one scheme, one space apart,
 * at most PG_DIR_URI_LIST_MAX bytes, the scheme fitting TLS, and plain
 * text or an unverified peer only on loopback.  Returns PG_OK, or
 * PG_ERR_CONFIG with what is wrong in ERR (no file, line or key) and the
 * key at fault in *FAULT (if not NULL).  The config loader and the LDAP
 * backend both call it, so a config built by hand is held to the same.
 */
int pg_config_check_uris(const char *list, enum pg_dir_tls tls, bool verify,
    enum pg_uri_fault *fault, char *err, size_t errlen);

#endif /* PG_CONFIG_H */
