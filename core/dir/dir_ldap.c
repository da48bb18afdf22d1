/*
 * dir_ldap.c - the LDAP backend's configuration and connection: checks
 * and normalizes the configured DNs, filters and attributes, connects with
 * StartTLS or ldaps (CA verification on the handle, never global), binds
 * with the password from a root-only file and wipes it at once.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/dir/dir_ldap_int.h"
#include "base/base.h"
#include "core/state/state.h"

#define DEF_USER_FILTER "(objectClass=posixAccount)"
#define DEF_USER_ATTR   "uid"
#define DEF_GROUP_FILTER                                                       \
	"(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)"         \
	"(objectClass=posixGroup))"
#define DEF_CARE_FILTER                                                        \
	"(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))"
#define DEF_CARE_ATTR "cn"

/*
 * Parses DN and writes its LDAPv3 string form to *OUT.  With RDN_VALUE
 * set, the result is "ou=RDN_VALUE,DN", built from the parsed DN.
 */
static int
norm_dn(const char *dn, const char *rdn_value, char **out)
{
	LDAPDN ldn = NULL;
	LDAPAVA ava, *rdn[2] = { &ava, NULL };
	LDAPRDN *built = NULL;
	char *str = NULL;
	size_t n = 0, i;
	int rc = PG_ERR_CONFIG;

	*out = NULL;
	if (dn == NULL || dn[0] == '\0' || strlen(dn) > DIR_DN_MAX)
		return PG_ERR_CONFIG;
	if (ldap_str2dn(dn, &ldn, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS)
		return PG_ERR_CONFIG;
	if (rdn_value != NULL) {
		while (ldn[n] != NULL)
			n++;
		built = calloc(n + 2, sizeof(*built));
		if (built == NULL) {
			rc = PG_ERR_NOMEM;
			goto out;
		}
		memset(&ava, 0, sizeof(ava));
		ava.la_attr.bv_val = (char *)(uintptr_t) "ou";
		ava.la_attr.bv_len = 2;
		ava.la_value.bv_val = (char *)(uintptr_t)rdn_value;
		ava.la_value.bv_len = strlen(rdn_value);
		ava.la_flags = LDAP_AVA_STRING;
		built[0] = rdn;
		for (i = 0; i < n; i++)
			built[i + 1] = ldn[i];
	}
	if (ldap_dn2str(built ? built : ldn, &str, LDAP_DN_FORMAT_LDAPV3) !=
	        LDAP_SUCCESS ||
	    str == NULL)
		goto out;
	*out = strdup(str);
	rc = *out ? PG_OK : PG_ERR_NOMEM;
out:
	ldap_memfree(str);
	free(built);
	ldap_dnfree(ldn);
	return rc;
}

/* A filter from the config: one parenthesized expression, bounded. */
static int
copy_filter(const char *f, const char *def, char **out)
{
	size_t len;

	if (f == NULL)
		f = def;
	len = strlen(f);
	if (len < 3 || len > DIR_FILTER_MAX / 4 || f[0] != '(' ||
	    f[len - 1] != ')')
		return PG_ERR_CONFIG;
	*out = strdup(f);
	return *out ? PG_OK : PG_ERR_NOMEM;
}

/* An attribute description: letters, digits, '-', ';' or an OID. */
static int
copy_attr(const char *a, const char *def, char **out)
{
	size_t i, len;

	if (a == NULL)
		a = def;
	len = strlen(a);
	if (len == 0 || len > 64)
		return PG_ERR_CONFIG;
	for (i = 0; i < len; i++) {
		char c = a[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		        (c >= '0' && c <= '9') || c == '-' || c == ';' ||
		        c == '.'))
			return PG_ERR_CONFIG;
	}
	*out = strdup(a);
	return *out ? PG_OK : PG_ERR_NOMEM;
}

static int
copy_str(const char *s, char **out)
{
	*out = NULL;
	if (s == NULL)
		return PG_OK;
	*out = strdup(s);
	return *out ? PG_OK : PG_ERR_NOMEM;
}

/*
 * The config checked the list when it was read; a config built by hand
 * (a test, a tool) is held to the same check here, since libldap would
 * read a comma or a tab its own way and nothing else would stop plain
 * text to a remote host.
 */
static int
check_uri(const struct pg_config *cfg, char *err, size_t errlen)
{
	static const char *const key[] = {
		[PG_URI_BAD_LIST] = "uri",
		[PG_URI_BAD_SCHEME] = "tls",
		[PG_URI_BAD_TLS] = "tls",
		[PG_URI_BAD_VERIFY] = "tls_verify",
	};
	enum pg_uri_fault fault = PG_URI_BAD_LIST;
	char what[256];
	int rc;

	rc = pg_config_check_uris(cfg->dir_uri, cfg->dir_tls,
	    cfg->dir_tls_verify, &fault, what, sizeof(what));
	if (rc != PG_OK)
		snprintf(err, errlen, "[directory] %s: %s",
		    (unsigned)fault < sizeof(key) / sizeof(key[0]) ? key[fault]
		                                                   : "uri",
		    what);
	return rc;
}

/* Reads the bind password file once, to refuse an unsafe one early. */
static int
check_pw_file(const char *path, char *err, size_t errlen)
{
	char *pw = NULL;
	size_t len = 0;
	int rc;

	if (path == NULL) {
		snprintf(err, errlen, "bind DN set without a password file");
		return PG_ERR_CONFIG;
	}
	rc = pg_read_file(path, DIR_PASSWORD_MAX,
	    PG_RF_PRIVATE | PG_RF_SHARED | PG_RF_SECRET, &pw, &len);
	pg_free_secret(pw);
	if (rc != PG_OK)
		snprintf(err, errlen, "bind password file %s: %s", path,
		    pg_strerror(rc));
	return rc;
}

static int
setup_names(struct dir_ldap *l, const struct pg_config *cfg)
{
	const char *b = cfg->dir_base_dn;
	int rc;

#define T(x)                                                                   \
	do {                                                                   \
		rc = (x);                                                      \
		if (rc != PG_OK)                                               \
			return rc;                                             \
	} while (0)
	T(cfg->dir_user_base ? norm_dn(cfg->dir_user_base, NULL, &l->user_base)
	                     : norm_dn(b, "people", &l->user_base));
	T(cfg->dir_group_base
	        ? norm_dn(cfg->dir_group_base, NULL, &l->group_base)
	        : norm_dn(b, "groups", &l->group_base));
	T(cfg->dir_care_team_base
	        ? norm_dn(cfg->dir_care_team_base, NULL, &l->care_base)
	        : norm_dn(b, "careteams", &l->care_base));
	T(copy_filter(cfg->dir_user_filter, DEF_USER_FILTER, &l->user_filter));
	T(copy_filter(
	    cfg->dir_group_filter, DEF_GROUP_FILTER, &l->group_filter));
	T(copy_filter(
	    cfg->dir_care_team_filter, DEF_CARE_FILTER, &l->care_filter));
	T(copy_attr(cfg->dir_user_attr, DEF_USER_ATTR, &l->user_attr));
	T(copy_attr(cfg->dir_care_team_attr, DEF_CARE_ATTR, &l->care_attr));
	if (cfg->dir_lockout_attr != NULL)
		T(copy_attr(cfg->dir_lockout_attr, NULL, &l->lock_attr));
	l->nesting = cfg->dir_group_nesting;
	l->lock_kind = (int)dir_ldap_lock_kind(l->lock_attr);
	if (cfg->dir_bind_dn != NULL)
		T(norm_dn(cfg->dir_bind_dn, NULL, &l->bind_dn));
	T(copy_str(cfg->dir_uri, &l->uri));
	T(copy_str(cfg->dir_ca_file, &l->ca_file));
	T(copy_str(cfg->dir_bind_password_file, &l->pw_file));
#undef T
	return PG_OK;
}

int
dir_ldap_open(const struct pg_config *cfg, struct dir_ldap **out, char *err,
    size_t errlen)
{
	struct dir_ldap *l;
	int rc;

	*out = NULL;
	/* The bind password is read into sodium_malloc() memory. */
	if (sodium_init() < 0)
		return PG_ERR_CRYPTO;
	rc = check_uri(cfg, err, errlen);
	if (rc != PG_OK)
		return rc;
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		return PG_ERR_NOMEM;
	pthread_mutex_init(&l->lock, NULL);
	l->tls = cfg->dir_tls;
	l->verify = cfg->dir_tls_verify;
	l->net_ms = cfg->dir_network_timeout_ms > 0
	    ? cfg->dir_network_timeout_ms
	    : 5000;
	l->op_ms = cfg->dir_timeout_ms > 0 ? cfg->dir_timeout_ms : 5000;
	rc = setup_names(l, cfg);
	if (rc == PG_ERR_CONFIG)
		snprintf(err, errlen,
		    "invalid directory base DN, filter or "
		    "attribute in the configuration");
	if (rc == PG_OK && l->bind_dn != NULL)
		rc = check_pw_file(l->pw_file, err, errlen);
	if (rc != PG_OK) {
		dir_ldap_free(l);
		return rc;
	}
	*out = l;
	return PG_OK;
}

void
dir_ldap_disconnect(struct dir_ldap *l)
{
	struct dir_sigpipe sp;

	if (l->ld == NULL)
		return;
	dir_sigpipe_block(&sp);
	ldap_unbind_ext_s(l->ld, NULL, NULL);
	dir_sigpipe_restore(&sp);
	l->ld = NULL;
}

void
dir_ldap_free(struct dir_ldap *l)
{
	if (l == NULL)
		return;
	dir_ldap_disconnect(l);
	dir_ldap_peer_free(l);
	pthread_mutex_destroy(&l->lock);
	free(l->uri);
	free(l->ca_file);
	free(l->bind_dn);
	free(l->pw_file);
	free(l->user_base);
	free(l->user_filter);
	free(l->user_attr);
	free(l->group_base);
	free(l->group_filter);
	free(l->care_base);
	free(l->care_filter);
	free(l->care_attr);
	free(l->lock_attr);
	free(l);
}

int
dir_ldap_dup(const struct dir_ldap *l, struct dir_ldap **out)
{
	struct dir_ldap *c;
	int rc = PG_OK;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return PG_ERR_NOMEM;
	pthread_mutex_init(&c->lock, NULL);
	c->tls = l->tls;
	c->verify = l->verify;
	c->net_ms = l->net_ms;
	c->op_ms = l->op_ms;
	c->nesting = l->nesting;
	c->lock_kind = l->lock_kind;
#define C(f)                                                                   \
	do {                                                                   \
		if (rc == PG_OK)                                               \
			rc = copy_str(l->f, &c->f);                            \
	} while (0)
	C(uri);
	C(ca_file);
	C(bind_dn);
	C(pw_file);
	C(user_base);
	C(user_filter);
	C(user_attr);
	C(group_base);
	C(group_filter);
	C(care_base);
	C(care_filter);
	C(care_attr);
	C(lock_attr);
#undef C
	if (rc != PG_OK) {
		dir_ldap_free(c);
		return rc;
	}
	*out = c;
	return PG_OK;
}

bool
dir_ldap_can_lock(const struct dir_ldap *l)
{
	return l != NULL && l->lock_attr != NULL;
}

bool
dir_ldap_can_set_lock(const struct dir_ldap *l)
{
	return dir_ldap_can_lock(l) && l->lock_kind != DIR_LOCK_COUNT;
}
