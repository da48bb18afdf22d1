/*
 * explain.c - `photoguard policy explain`: the decision the policy makes
 * for a real user, looked up in the configured directory, with every rule
 * considered and why it did or did not apply.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/explain.h"
#include "cli/util.h"
#include "core/config/config.h"
#include "core/dir/dir.h"
#include "base/base.h"
#include "access/access.h"

#define TRACE_MAX 256

static const char *const trace_words[] = {
	[POLICY_TRACE_ROLE] = "not for these roles",
	[POLICY_TRACE_ACTION] = "not for this action",
	[POLICY_TRACE_PATH] = "path does not match",
	[POLICY_TRACE_COND] = "condition does not hold",
	[POLICY_TRACE_APPLIES] = "applies",
	[POLICY_TRACE_DECOY] = "decoy patient",
};

static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri",
	"Sat" };

static const char *
verdict_word(enum policy_verdict v)
{
	return v == POLICY_ALLOW ? "ALLOW"
	    : v == POLICY_DENY   ? "DENY"
	                         : "ERROR";
}

static int
exit_for(enum policy_verdict v)
{
	return v == POLICY_ALLOW ? CLI_EXIT_OK
	    : v == POLICY_DENY   ? CLI_EXIT_FAIL
	                         : CLI_EXIT_ERROR;
}

struct explained {
	char roles[512];
	struct policy_decision dec;
	struct policy_trace_entry trace[TRACE_MAX];
	size_t ntrace;
	bool on_team;
};

/* Everything shown comes from the directory, the policy or the caller. */
#define E(s) cli_escape((s), esc, sizeof(esc), 0)

static void
print_request(const struct explain_args *a, const struct explained *e)
{
	char esc[1024];

	if (a->host != NULL) {
		printf("login:      host %s, ", E(a->host));
		printf("service %s\n",
		    a->service != NULL ? E(a->service) : "(any)");
		return;
	}
	printf("path:       %s\n", E(a->path));
	printf("action:     %s%s\n",
	    a->action == POLICY_LIST       ? "list"
	        : a->action == POLICY_READ ? "read"
	                                   : "write",
	    a->is_dir ? " (directory)" : "");
	if (e->dec.patient[0] != '\0')
		printf("patient:    %s (%s care team)\n", E(e->dec.patient),
		    e->on_team ? "on the" : "not on the");
	printf("assuming:   %s, %s %02d:%02d local time, %s\n",
	    a->mfa ? "a live MFA login" : "no MFA login", days[a->weekday],
	    a->minute_of_day / 60, a->minute_of_day % 60,
	    a->breakglass != NULL ? "break-glass granted" : "no break-glass");
}

static void
print_text(const struct explain_args *a, const struct dir_user *u,
    const struct explained *e)
{
	char esc[1024];
	size_t i;

	printf("user:       %s ", E(u->name));
	printf("(roles: %s)\n", E(e->roles));
	printf("groups:    ");
	for (i = 0; i < u->ngroups; i++)
		printf(" %s", E(u->groups[i]));
	printf("%s\n", u->ngroups == 0 ? " (none)" : "");
	print_request(a, e);
	printf("decision:   %s\n", verdict_word(e->dec.verdict));
	if (e->dec.rule_line != 0)
		printf("rule:       %s:%u\n", E(e->dec.rule_file),
		    e->dec.rule_line);
	else
		printf("rule:       (none: default deny)\n");
	printf("reason:     %s\n", E(e->dec.reason));
	if (e->ntrace == 0)
		return;
	printf("rules considered:\n");
	for (i = 0; i < e->ntrace && i < TRACE_MAX; i++) {
		printf("  line %-4u %-24s %s", e->trace[i].line,
		    trace_words[e->trace[i].outcome], E(e->trace[i].text));
		printf("%s%s\n", e->trace[i].note[0] != '\0' ? " -- " : "",
		    E(e->trace[i].note));
	}
}

#undef E

static void
print_json(const struct explain_args *a, const struct dir_user *u,
    const struct explained *e)
{
	json_t *o, *t = json_array();
	char *s;
	size_t i;

	for (i = 0; i < e->ntrace && i < TRACE_MAX; i++)
		json_array_append_new(t,
		    json_pack("{s:I, s:s, s:s, s:s}", "line",
		        (json_int_t)e->trace[i].line, "rule", e->trace[i].text,
		        "outcome", trace_words[e->trace[i].outcome], "note",
		        e->trace[i].note));
	o = json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s?, s:b, s:s?, s:I, "
	              "s:s, s:o}",
	    "user", u->name, "roles", e->roles, "decision",
	    verdict_word(e->dec.verdict), "path", a->path, "host", a->host,
	    "patient", e->dec.patient[0] != '\0' ? e->dec.patient : NULL,
	    "on_care_team", e->on_team, "rule_file",
	    e->dec.rule_line != 0 ? e->dec.rule_file : NULL, "rule_line",
	    (json_int_t)e->dec.rule_line, "reason", e->dec.reason, "trace", t);
	if (o != NULL && (s = json_dumps(o, JSON_COMPACT)) != NULL) {
		puts(s);
		free(s);
	}
	json_decref(o);
}

static void
decide(const struct policy *pol, const struct explain_args *a,
    const struct dir_user *u, struct explained *e)
{
	struct policy_roleset roles;
	struct pg_access_facts f;
	struct pg_access_trace t = { e->trace, TRACE_MAX, 0 };
	const char *bg[1] = { a->breakglass };

	if (a->host != NULL) {
		(void)pg_access_login(
		    pol, u, a->host, a->service, &roles, &e->dec);
		policy_roleset_names(pol, &roles, e->roles, sizeof(e->roles));
		return;
	}
	(void)pg_access_roles(pol, u, &roles); /* empty when it fails */
	policy_roleset_names(pol, &roles, e->roles, sizeof(e->roles));
	memset(&f, 0, sizeof(f));
	f.action = a->action;
	f.path = a->path;
	f.is_dir = a->is_dir;
	f.mfa = a->mfa;
	f.when.weekday = a->weekday;
	f.when.minute_of_day = a->minute_of_day;
	f.grants = bg;
	f.ngrants = a->breakglass != NULL ? 1 : 0;
	(void)pg_access_decide(pol, u, NULL, &f, &e->dec, &t);
	e->ntrace = t.n;
	e->on_team = e->dec.patient[0] != '\0' &&
	    dir_user_has_patient(u, e->dec.patient);
}

/* Loads the policy and looks the user up; prints why if it cannot. */
static int
load(const struct explain_args *a, const struct pg_config *cfg,
    struct policy **pol, struct dir **dir, struct dir_user **u)
{
	const char *path = a->policy_path ? a->policy_path : cfg->policy_file;
	struct policy_diags *diags = NULL;
	char err[1024];
	int r;

	r = pg_policy_load(
	    path, a->policy_path == NULL, pol, &diags, err, sizeof(err));
	if (r != PG_OK) {
		if (err[0] != '\0')
			fprintf(stderr, "photoguard: %s\n", err);
		else
			fprintf(stderr,
			    "photoguard: %s does not check; run "
			    "`photoguard policy check %s`\n",
			    path, path);
		policy_diags_free(diags);
		return r;
	}
	policy_diags_free(diags);
	if ((r = dir_open(cfg, dir)) != PG_OK) {
		fprintf(stderr, "photoguard: cannot open the directory: %s\n",
		    pg_strerror(r));
		return r;
	}
	r = dir_lookup(*dir, a->user, strlen(a->user), u);
	if (r != PG_OK) {
		char esc[DIR_NAME_MAX * 4 + 1], esc2[sizeof(err) * 4];

		dir_last_error(*dir, err, sizeof(err));
		fprintf(stderr,
		    "photoguard: %s: %s%s%s\ndecision:   DENY (the user could "
		    "not be looked up, so every request is refused)\n",
		    cli_escape(a->user, esc, sizeof(esc), 0), pg_strerror(r),
		    err[0] != '\0' ? ": " : "",
		    cli_escape(err, esc2, sizeof(esc2), 0));
	}
	return r;
}

int
explain_run(const struct cli_ctx *ctx, const struct explain_args *a)
{
	struct pg_config *cfg;
	struct policy *pol = NULL;
	struct dir *dir = NULL;
	struct dir_user *u = NULL;
	struct explained *e = NULL;
	int r, rc = CLI_EXIT_ERROR;

	if ((cfg = cli_load_config(ctx)) == NULL)
		return CLI_EXIT_ERROR;
	if ((r = load(a, cfg, &pol, &dir, &u)) != PG_OK) {
		rc = r == PG_ERR_NOTFOUND ? CLI_EXIT_FAIL : CLI_EXIT_ERROR;
		goto out;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL)
		goto out;
	decide(pol, a, u, e);
	if (a->json)
		print_json(a, u, e);
	else
		print_text(a, u, e);
	rc = exit_for(e->dec.verdict);
out:
	free(e);
	dir_user_free(u);
	dir_free(dir);
	policy_free(pol);
	pg_config_free(cfg);
	return rc;
}
