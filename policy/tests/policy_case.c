/*
 * policy_case.c - runs one policy-language case: parses a .policy file,
 * then answers each request line of a .in file, printing diagnostics and
 * decisions in a stable text format that run_cases.sh compares with the
 * .out.ok file beside them.  A test tool, not installed.
 *
 * Request lines (one per line, `#` comments):
 *   decide user=U groups=G1,G2 action=list|read|write path=P dir=yes
 *          mfa=yes time=Mon-10:00 care=P1,P2 bg=P3 explain=yes
 *   login groups=G host=H service=S
 *   limits groups=G
 *   breakglass groups=G
 *   patient path=P
 * Values are %XX-decoded (%20 for a space).
 */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/base.h"
#include "policy/policy.h"

#define MAX_INPUT (2 * 1024 * 1024)
#define MAX_LIST  1024

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;

	if (f == NULL)
		return NULL;
	buf = malloc(MAX_INPUT + 1);
	if (buf != NULL) {
		*len = fread(buf, 1, MAX_INPUT + 1, f);
		if (ferror(f) || *len > MAX_INPUT) {
			free(buf);
			buf = NULL;
		} else
			buf[*len] = '\0';
	}
	fclose(f);
	return buf;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Splits the comma list S in place into V (sorted); returns the count. */
static size_t
split_list(char *s, const char **v, bool sort)
{
	size_t n = 0;
	char *e;

	if (s == NULL || *s == '\0')
		return 0;
	for (;; s = e + 1) {
		e = strchr(s, ',');
		if (e != NULL)
			*e = '\0';
		if (n < MAX_LIST)
			v[n++] = s;
		if (e == NULL)
			break;
	}
	if (sort)
		qsort(v, n, sizeof(*v), cmp_str);
	return n;
}

/* The value of KEY= among the words, or NULL. */
static char *
arg(char **words, size_t nw, const char *key)
{
	size_t kl = strlen(key);

	for (size_t i = 0; i < nw; i++)
		if (strncmp(words[i], key, kl) == 0 && words[i][kl] == '=')
			return words[i] + kl + 1;
	return NULL;
}

static bool
yes(const char *s)
{
	return s != NULL && strcmp(s, "yes") == 0;
}

/* "Mon-10:00" into weekday and minute; false if malformed. */
static bool
parse_time(const char *s, int *wday, int *min)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
		"Fri", "Sat" };

	if (strlen(s) != 9 || s[3] != '-' || s[6] != ':')
		return false;
	*wday = -1;
	for (int i = 0; i < 7; i++)
		if (strncasecmp(s, days[i], 3) == 0)
			*wday = i;
	for (int i = 4; i < 9; i++)
		if (i != 6 && (s[i] < '0' || s[i] > '9'))
			return false;
	*min = ((s[4] - '0') * 10 + (s[5] - '0')) * 60 + (s[7] - '0') * 10 +
	    (s[8] - '0');
	return *wday >= 0;
}

static const char *
verdict_name(enum policy_verdict v)
{
	return v == POLICY_ALLOW ? "ALLOW"
	    : v == POLICY_DENY   ? "DENY"
	                         : "ERROR";
}

static const char *const outcome_names[] = { "other-role", "other-action",
	"no-path-match", "condition-fails", "applies", "decoy" };

static void
print_decision(const struct policy_decision *d)
{
	printf("%s %s:%u patient=%s dir=%s traverse=%s decoy=%s\n  %s\n",
	    verdict_name(d->verdict), d->rule_file ? d->rule_file : "-",
	    d->rule_line, d->patient[0] ? d->patient : "-",
	    d->is_dir ? "yes" : "no", d->traverse ? "yes" : "no",
	    d->decoy ? "yes" : "no", d->reason);
}

static void
do_decide(const struct policy *p, char **w, size_t nw,
    const struct policy_roleset *roles)
{
	const char *care[MAX_LIST], *bg[MAX_LIST];
	struct policy_request q;
	struct policy_decision d;
	struct policy_trace_entry tr[64];
	const char *a = arg(w, nw, "action"), *t = arg(w, nw, "time");
	size_t ntr = 0;

	memset(&q, 0, sizeof(q));
	q.user = arg(w, nw, "user");
	q.roles = *roles;
	q.action = POLICY_READ;
	if (a != NULL && strcmp(a, "list") == 0)
		q.action = POLICY_LIST;
	else if (a != NULL && strcmp(a, "write") == 0)
		q.action = POLICY_WRITE;
	else if (a != NULL && strcmp(a, "bogus") == 0)
		q.action = (enum policy_action)7;
	q.path = arg(w, nw, "path");
	q.is_dir = yes(arg(w, nw, "dir"));
	q.mfa = yes(arg(w, nw, "mfa"));
	q.weekday = 1;
	q.minute_of_day = 600;
	if (t != NULL && !parse_time(t, &q.weekday, &q.minute_of_day))
		q.minute_of_day = -1; /* the evaluator must refuse it */
	q.ncare = split_list(arg(w, nw, "care"), care, true);
	q.care_patients = care;
	q.nbreakglass = split_list(arg(w, nw, "bg"), bg, true);
	q.breakglass_patients = bg;
	if (yes(arg(w, nw, "explain"))) {
		policy_explain(p, &q, &d, tr, 64, &ntr);
		print_decision(&d);
		for (size_t i = 0; i < ntr && i < 64; i++)
			printf("  trace line %u %s: %s%s%s\n", tr[i].line,
			    outcome_names[tr[i].outcome], tr[i].text,
			    tr[i].note[0] ? " -- " : "", tr[i].note);
	} else {
		policy_decide(p, &q, &d);
		print_decision(&d);
	}
}

static const char *const metric_names[] = { "files", "bytes", "patients" };

static void
do_other(const struct policy *p, const char *verb, char **w, size_t nw,
    const struct policy_roleset *roles)
{
	struct policy_decision d;
	struct policy_limit lim[64];
	struct policy_breakglass bg;
	char buf[POLICY_ID_MAX];
	size_t n;
	int r;

	if (strcmp(verb, "login") == 0) {
		policy_login(
		    p, roles, arg(w, nw, "host"), arg(w, nw, "service"), &d);
		printf("%s %s:%u\n  %s\n", verdict_name(d.verdict),
		    d.rule_file ? d.rule_file : "-", d.rule_line, d.reason);
	} else if (strcmp(verb, "limits") == 0) {
		n = policy_limits(p, roles, lim, 64);
		printf("%zu limits\n", n);
		for (size_t i = 0; i < n && i < 64; i++)
			printf("  %s %s max %llu per %us (%s:%u)\n",
			    lim[i].kind == POLICY_LIMIT_REFUSE ? "limit"
			                                       : "lockout",
			    metric_names[lim[i].metric],
			    (unsigned long long)lim[i].max, lim[i].window,
			    lim[i].rule_file, lim[i].rule_line);
	} else if (strcmp(verb, "breakglass") == 0) {
		enum policy_verdict v = policy_breakglass(p, roles, &bg);
		printf("%s", verdict_name(v));
		if (v == POLICY_ALLOW)
			printf(" %s:%u for %us max %u per %us reason %s",
			    bg.rule_file, bg.rule_line, bg.duration,
			    bg.max_grants, bg.period,
			    bg.reason_required ? "required" : "optional");
		printf("\n");
	} else if (strcmp(verb, "patient") == 0) {
		r = policy_patient_of(p, arg(w, nw, "path"), buf, sizeof(buf));
		printf("%s\n", r == 0 ? buf : pg_strerror(r));
	} else
		printf("unknown request '%s'\n", verb);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes %XX in place, so values may hold spaces (%20). */
static void
unescape(char *s)
{
	char *o = s;

	for (; *s != '\0'; s++) {
		if (s[0] == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
			*o++ = (char)(hexval(s[1]) * 16 + hexval(s[2]));
			s += 2;
		} else
			*o++ = *s;
	}
	*o = '\0';
}

static void
run_line(const struct policy *p, char *line)
{
	char *w[64], *groups_s, roles_s[256];
	const char *groups[MAX_LIST];
	struct policy_roleset roles;
	size_t nw = 0, ng;
	char *s = line, *e;

	printf("> %s\n", line);
	while (nw < 64 && *s != '\0') {
		while (*s == ' ')
			s++;
		if (*s == '\0')
			break;
		w[nw++] = s;
		e = strchr(s, ' ');
		if (e == NULL)
			break;
		*e = '\0';
		s = e + 1;
	}
	for (size_t i = 0; i < nw; i++)
		unescape(w[i]);
	groups_s = arg(w + 1, nw - 1, "groups");
	ng = split_list(groups_s, groups, false);
	policy_roles_for_groups(p, groups, ng, &roles);
	policy_roleset_names(p, &roles, roles_s, sizeof(roles_s));
	printf("roles: %s\n", roles_s);
	if (strcmp(w[0], "decide") == 0)
		do_decide(p, w + 1, nw - 1, &roles);
	else
		do_other(p, w[0], w + 1, nw - 1, &roles);
}

int
main(int argc, char **argv)
{
	struct policy *p = NULL;
	struct policy_diags *d = NULL;
	char *pol, *in = NULL, *line, *next, buf[512];
	size_t plen, ilen = 0;
	int r;

	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: policy_case FILE.policy [FILE.in]\n");
		return 2;
	}
	if ((pol = slurp(argv[1], &plen)) == NULL ||
	    (argc == 3 && (in = slurp(argv[2], &ilen)) == NULL)) {
		fprintf(stderr, "policy_case: cannot read input\n");
		return 2;
	}
	r = policy_parse(basename(argv[1]), pol, plen, &p, &d);
	printf("parse: %s\n", r == 0 ? "ok" : pg_strerror(r));
	for (size_t i = 0; i < policy_diags_count(d); i++) {
		policy_diag_format(policy_diags_get(d, i), buf, sizeof(buf));
		printf("%s\n", buf);
	}
	for (line = in; p != NULL && line != NULL && *line; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		if (*line != '\0' && *line != '#')
			run_line(p, line);
	}
	policy_free(p);
	policy_diags_free(d);
	free(pol);
	free(in);
	return 0;
}
