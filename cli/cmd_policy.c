/*
 * cmd_policy.c - `photoguard policy check FILE` (diagnostics as
 * file:line:col: message) and `photoguard policy explain` (a decision for a
 * real user from the real directory, with the rule and the reasons).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli/explain.h"
#include "cli/util.h"
#include "cli/verbs.h"
#include "core/config/config.h"
#include "base/base.h"
#include "access/access.h"

static void
policy_usage(FILE *f)
{
	fputs("Usage: photoguard policy check [--json] FILE\n"
	      "       photoguard policy explain --user USER --path PATH\n"
	      "           [--action list|read|write] [--dir] [--no-mfa]\n"
	      "           [--at 'DAY HH:MM'] [--breakglass PATIENT]\n"
	      "           [--policy FILE] [--json]\n"
	      "       photoguard policy explain --user USER --host HOST\n"
	      "           [--service SERVICE] [--policy FILE] [--json]\n"
	      "\n"
	      "check    parse FILE; print every error and warning as\n"
	      "         FILE:LINE:COL: message; exit 1 if there are errors\n"
	      "explain  look USER up in the directory of the configuration\n"
	      "         and print what the policy in force (or --policy FILE)\n"
	      "         decides for PATH (default action: read), or for a\n"
	      "         login to HOST, with the rule that decided and why.\n"
	      "         Assumes a live MFA login (--no-mfa to drop it) and\n"
	      "         the current local time (--at 'Mon 10:30').\n"
	      "         Exit 0 allowed, 1 denied, 3 could not decide.\n",
	    f);
}

static void
print_diags_text(const struct policy_diags *diags)
{
	char line[512];
	size_t i, n = policy_diags_count(diags);

	for (i = 0; i < n; i++) {
		policy_diag_format(
		    policy_diags_get(diags, i), line, sizeof(line));
		fprintf(stderr, "%s\n", line);
	}
}

static void
print_diags_json(const char *path, int ok, const struct policy_diags *diags)
{
	json_t *o = json_object(), *a = json_array();
	size_t i, n = policy_diags_count(diags);
	char *s;

	for (i = 0; i < n; i++) {
		const struct policy_diag *d = policy_diags_get(diags, i);
		json_array_append_new(a,
		    json_pack("{s:s, s:s, s:I, s:I, s:s}", "severity",
		        d->severity == POLICY_DIAG_ERROR ? "error" : "warning",
		        "file", d->file, "line", (json_int_t)d->line, "col",
		        (json_int_t)d->col, "message", d->message));
	}
	json_object_set_new(o, "file", json_string(path));
	json_object_set_new(o, "ok", json_boolean(ok));
	json_object_set_new(o, "diagnostics", a);
	if ((s = json_dumps(o, JSON_COMPACT)) != NULL)
		puts(s);
	free(s);
	json_decref(o);
}

static int
policy_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct policy *pol = NULL;
	struct policy_diags *diags = NULL;
	char err[1024];
	bool json = false;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'j') {
			policy_usage(stderr);
			return CLI_EXIT_USAGE;
		}
		json = true;
	}
	if (optind != argc - 1) {
		policy_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	r = pg_policy_load(argv[optind], 0, &pol, &diags, err, sizeof(err));
	if (r != PG_OK && diags == NULL) {
		fprintf(stderr, "photoguard: %s\n", err);
		policy_free(pol);
		return r == PG_ERR_NOMEM ? CLI_EXIT_ERROR : CLI_EXIT_FAIL;
	}
	if (json)
		print_diags_json(argv[optind], r == PG_OK, diags);
	else
		print_diags_text(diags);
	if (r == PG_OK && !json)
		printf("%s: OK (%zu roles, %zu warnings)\n", argv[optind],
		    policy_nroles(pol), policy_diags_count(diags));
	policy_diags_free(diags);
	policy_free(pol);
	return r == PG_OK ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

static int
parse_action(const char *s, enum policy_action *a)
{
	if (strcmp(s, "list") == 0)
		*a = POLICY_LIST;
	else if (strcmp(s, "read") == 0)
		*a = POLICY_READ;
	else if (strcmp(s, "write") == 0)
		*a = POLICY_WRITE;
	else
		return -1;
	return 0;
}

/* "Mon 10:30" -> weekday and minute of day. */
static int
parse_at(const char *s, int *wday, int *minute)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
		"Fri", "Sat" };
	int d, h, m;

	if (strlen(s) != 9 || s[3] != ' ' || s[6] != ':')
		return -1;
	for (d = 0; d < 7; d++)
		if (strncmp(s, days[d], 3) == 0)
			break;
	if (d == 7 || s[4] < '0' || s[4] > '2' || s[5] < '0' || s[5] > '9' ||
	    s[7] < '0' || s[7] > '5' || s[8] < '0' || s[8] > '9')
		return -1;
	h = (s[4] - '0') * 10 + (s[5] - '0');
	m = (s[7] - '0') * 10 + (s[8] - '0');
	if (h > 23)
		return -1;
	*wday = d;
	*minute = h * 60 + m;
	return 0;
}

static int
policy_explain_verb(const struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "user", required_argument, NULL, 'u' },
		{ "path", required_argument, NULL, 'p' },
		{ "action", required_argument, NULL, 'a' },
		{ "dir", no_argument, NULL, 'd' },
		{ "no-mfa", no_argument, NULL, 'n' },
		{ "at", required_argument, NULL, 't' },
		{ "breakglass", required_argument, NULL, 'b' },
		{ "host", required_argument, NULL, 'h' },
		{ "service", required_argument, NULL, 's' },
		{ "policy", required_argument, NULL, 'P' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct explain_args a;
	struct pg_access_clock now;
	int c;

	memset(&a, 0, sizeof(a));
	a.action = POLICY_READ;
	a.mfa = true;
	(void)pg_access_clock_at(time(NULL), &now);
	a.weekday = now.weekday;
	a.minute_of_day = now.minute_of_day;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'u':
			a.user = optarg;
			break;
		case 'p':
			a.path = optarg;
			break;
		case 'd':
			a.is_dir = true;
			break;
		case 'n':
			a.mfa = false;
			break;
		case 'b':
			a.breakglass = optarg;
			break;
		case 'h':
			a.host = optarg;
			break;
		case 's':
			a.service = optarg;
			break;
		case 'P':
			a.policy_path = optarg;
			break;
		case 'j':
			a.json = true;
			break;
		case 'a':
			if (parse_action(optarg, &a.action) == 0)
				break;
			fprintf(stderr,
			    "photoguard: --action: expected list, "
			    "read or write\n");
			return CLI_EXIT_USAGE;
		case 't':
			if (parse_at(optarg, &a.weekday, &a.minute_of_day) == 0)
				break;
			fprintf(stderr,
			    "photoguard: --at: expected 'DAY "
			    "HH:MM', e.g. 'Mon 10:30'\n");
			return CLI_EXIT_USAGE;
		default:
			policy_usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc || a.user == NULL ||
	    (a.path == NULL) == (a.host == NULL)) {
		policy_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	return explain_run(ctx, &a);
}

int
cmd_policy(const struct cli_ctx *ctx, int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		policy_usage(stdout);
		return CLI_EXIT_OK;
	}
	if (argc >= 2 && strcmp(argv[1], "check") == 0)
		return policy_check(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "explain") == 0)
		return policy_explain_verb(ctx, argc - 1, argv + 1);
	policy_usage(stderr);
	return CLI_EXIT_USAGE;
}
