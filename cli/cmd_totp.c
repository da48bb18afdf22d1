/*
 * cmd_totp.c - `photoguard enroll` and `photoguard totp status|hostkey`:
 * the admin side of the TOTP store the PAM module reads.  Until the config
 * loader lands, --secret-dir and --host-key override the built-in
 * defaults.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "cli/admin_audit.h"
#include "cli/cmd_totp.h"
#include "cli/util.h"
#include "core/config/config.h"
#include "base/base.h"
#include "core/dir/dir.h"
#include "core/state/state.h"
#include "core/totp/totp.h"

#define URI_MAX      512
#define LINE_MAX_LEN 64
#define HELP_SHOWN   100 /* parse(): --help printed, exit 0 */

struct totp_args {
	const char *secret_dir;
	const char *host_key;
	const char *confirm_code;
	const char *user;
	int reset;
	int to_pipe;                /* --secret-to-pipe */
	int json;                   /* --json */
	int token;                  /* --token */
	int token_ttl_s;            /* [totp] token_ttl */
	enum totp_qr_mode qr;       /* --qr */
	const char *issuer;         /* --issuer, else [totp] issuer */
	int window, digits, step_s; /* from the configuration */
	struct pg_config *dir_cfg;  /* [totp] store = directory: kept */
	char secret_dir_buf[PATH_MAX];
	char host_key_buf[PATH_MAX];
	char issuer_buf[PG_ISSUER_MAX + 1];
};

/* In this order: parse() lets a verb take the ones its ALLOW letters name
 * ('a' for the first). */
enum {
	OPT_SECRET_DIR = 256,
	OPT_HOST_KEY,
	OPT_RESET,
	OPT_CONFIRM,
	OPT_QR,
	OPT_TO_PIPE,
	OPT_ISSUER,
	OPT_JSON,
	OPT_TOKEN,
};

static const struct option long_opts[] = {
	{ "secret-dir", required_argument, NULL, OPT_SECRET_DIR },
	{ "host-key", required_argument, NULL, OPT_HOST_KEY },
	{ "reset", no_argument, NULL, OPT_RESET },
	{ "confirm-code", required_argument, NULL, OPT_CONFIRM },
	{ "qr", required_argument, NULL, OPT_QR },
	{ "secret-to-pipe", no_argument, NULL, OPT_TO_PIPE },
	{ "issuer", required_argument, NULL, OPT_ISSUER },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "token", no_argument, NULL, OPT_TOKEN },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const char enroll_usage[] =
    "Usage: photoguard enroll USER [--reset] [--confirm-code CODE]\n"
    "                         [--qr color|light|dark|none] [--issuer NAME]\n"
    "                         [--secret-to-pipe]\n"
    "       photoguard enroll USER --token [--secret-to-pipe]\n"
    "                         [--secret-dir DIR] [--host-key FILE]\n"
    "Creates a new TOTP secret for USER (pending), shows it once as an\n"
    "otpauth URI and a QR code with ten single-use scratch codes, then\n"
    "asks for a first code from the app (or takes --confirm-code) and\n"
    "activates the secret only if that code verifies.  --reset replaces\n"
    "an existing enrollment.  With [totp] store = directory the secret is\n"
    "written to the user's directory entry, for every server, only once\n"
    "that code verified (--secret-dir or --host-key choose the files).\n"
    "The secret is only written to a terminal: --secret-to-pipe lets a\n"
    "provisioning script take it from a pipe or file instead.\n"
    "--qr color (the default) draws black on white, for light and dark\n"
    "terminals alike; light or dark draw in the terminal's own colours\n"
    "for a terminal without colours; none leaves the QR code out.\n"
    "--issuer NAME is the name the app shows (default: [totp] issuer).\n"
    "--token: a one-time enrollment token instead, valid [totp] token_ttl\n"
    "(on every server with the directory store): USER types it at the\n"
    "code prompt of a login and enrolls a new authenticator there\n"
    "(pam_photoguard(8)); a new token replaces the last one.\n";

static const char totp_usage[] =
    "Usage: photoguard totp status USER [--json] [--secret-dir DIR]\n"
    "                              [--host-key FILE]\n"
    "       photoguard totp hostkey [--host-key FILE]\n"
    "status: the enrollment state of USER (not enrolled, pending, active),\n"
    "        when it was last used and how many scratch codes are left;\n"
    "        exits 1 if USER is not enrolled.  --json: one JSON object,\n"
    "        times in UTC (ISO 8601) and in seconds since the epoch.\n"
    "hostkey: creates the host key that encrypts the secrets, if absent.\n";

/* Parses options and at most one operand; ALLOW says which are valid. */
/*
 * Takes what the options did not give from the configuration: the store's
 * paths and the code parameters.  Both paths given: the configuration is
 * not needed, and the documented defaults apply.
 */
static int
from_config(const struct cli_ctx *ctx, struct totp_args *a)
{
	struct pg_config *cfg;

	a->window = TOTP_DEFAULT_WINDOW;
	a->digits = TOTP_DEFAULT_DIGITS;
	a->step_s = TOTP_DEFAULT_STEP_S;
	a->token_ttl_s = 24 * 3600;
	if (a->secret_dir != NULL && a->host_key != NULL) {
		if (a->issuer == NULL)
			a->issuer = "photoguard";
		return CLI_EXIT_OK;
	}
	if ((cfg = cli_load_config(ctx)) == NULL)
		return CLI_EXIT_ERROR;
	snprintf(a->secret_dir_buf, sizeof(a->secret_dir_buf), "%s",
	    cfg->totp_secret_dir);
	snprintf(a->host_key_buf, sizeof(a->host_key_buf), "%s",
	    cfg->totp_host_key_file);
	if (a->secret_dir == NULL)
		a->secret_dir = a->secret_dir_buf;
	if (a->host_key == NULL)
		a->host_key = a->host_key_buf;
	if (a->issuer == NULL) {
		snprintf(a->issuer_buf, sizeof(a->issuer_buf), "%s",
		    cfg->totp_issuer);
		a->issuer = a->issuer_buf;
	}
	a->window = cfg->totp_window;
	a->digits = cfg->totp_digits;
	a->step_s = cfg->totp_step_s;
	a->token_ttl_s = cfg->totp_token_ttl_s;
	/* A path given on the command line means the files store. */
	if (cfg->totp_store == PG_TOTP_DIRECTORY &&
	    a->secret_dir_buf == a->secret_dir &&
	    a->host_key == a->host_key_buf) {
		a->dir_cfg = cfg;
		return CLI_EXIT_OK;
	}
	pg_config_free(cfg);
	return CLI_EXIT_OK;
}

static int
parse(const struct cli_ctx *ctx, int argc, char **argv, const char *allow,
    const char *usage, struct totp_args *a)
{
	int c;

	memset(a, 0, sizeof(*a));
	optind = 0;
	opterr = 1;
	while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(usage, stdout);
			return HELP_SHOWN;
		}
		if (c < 256 || strchr(allow, c - 256 + 'a') == NULL) {
			fputs(usage, stderr);
			return CLI_EXIT_USAGE;
		}
		if (c == OPT_SECRET_DIR)
			a->secret_dir = optarg;
		else if (c == OPT_HOST_KEY)
			a->host_key = optarg;
		else if (c == OPT_RESET)
			a->reset = 1;
		else if (c == OPT_CONFIRM)
			a->confirm_code = optarg;
		else if (c == OPT_TO_PIPE)
			a->to_pipe = 1;
		else if (c == OPT_JSON)
			a->json = 1;
		else if (c == OPT_TOKEN)
			a->token = 1;
		else if (c == OPT_QR &&
		    totp_qr_mode_parse(optarg, &a->qr) != PG_OK) {
			fprintf(stderr,
			    "photoguard: --qr %s: not one of color, light, "
			    "dark, none\n",
			    optarg);
			return CLI_EXIT_USAGE;
		} else if (c == OPT_ISSUER) {
			if (!pg_config_issuer_ok(optarg)) {
				fprintf(stderr,
				    "photoguard: --issuer: 1 to %d bytes, no "
				    "':' and no control characters\n",
				    PG_ISSUER_MAX);
				return CLI_EXIT_USAGE;
			}
			a->issuer = optarg;
		}
	}
	if (optind < argc)
		a->user = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "photoguard: unexpected argument\n%s", usage);
		return CLI_EXIT_USAGE;
	}
	return from_config(ctx, a);
}

/*
 * The colours of --qr color: the 256-colour cube's black and white where
 * the terminal has them, else the eight basic colours.
 */
static const char *
qr_colors(void)
{
	const char *term = getenv("TERM"), *ct = getenv("COLORTERM");

	if ((ct != NULL && *ct != '\0') ||
	    (term != NULL && strstr(term, "256color") != NULL))
		return TOTP_QR_COLORS_256;
	return TOTP_QR_COLORS_BASIC;
}

static int
show_enrollment(const struct totp_args *a, const struct totp_enrollment *e)
{
	char uri[TOTP_URI_MAX], *qr = NULL;
	int i, r;

	if ((r = totp_uri(a->issuer, a->user, e, uri, sizeof(uri))) != PG_OK)
		return r;
	if ((r = totp_qr_text(uri, a->qr, qr_colors(), &qr)) == PG_OK) {
		printf("Scan this with the authenticator app, or enter the "
		       "URI:\n\n%s\n%s\n\nScratch codes (each works once; "
		       "keep them offline):\n",
		    qr != NULL ? qr : "", uri);
		for (i = 0; i < TOTP_SCRATCH_COUNT; i++)
			printf("  %s\n", e->scratch[i]);
		fflush(stdout);
	}
	totp_qr_free(qr);
	sodium_memzero(uri, sizeof(uri));
	return r;
}

/* Reads the first code from stdin into BUF. */
static int
read_code(char *buf, size_t len)
{
	size_t n;

	fputs("Verification code from the app: ", stderr);
	if (fgets(buf, (int)len, stdin) == NULL)
		return PG_ERR_IO;
	n = strcspn(buf, "\r\n");
	if (buf[n] == '\0' && n == len - 1)
		return PG_ERR_TOOBIG;
	buf[n] = '\0';
	return PG_OK;
}

/*
 * Asks for and checks the first code; on success the secret is active.
 * The audited reason goes to WHY (nothing secret: never the code).
 */
static int
confirm(
    struct totp_store *st, const struct totp_args *a, char *why, size_t whylen)
{
	char line[LINE_MAX_LEN];
	const char *code = a->confirm_code;
	int r;

	if (code == NULL) {
		if (read_code(line, sizeof(line)) != PG_OK) {
			fprintf(stderr,
			    "photoguard: no code read; %s stays "
			    "pending\n",
			    a->user);
			snprintf(why, whylen,
			    "no first code read; the secret stays pending");
			return CLI_EXIT_FAIL;
		}
		code = line;
	}
	r = totp_store_confirm(st, a->user, code, time(NULL), a->window);
	sodium_memzero(line, sizeof(line));
	if (r == PG_OK) {
		snprintf(why, whylen, "TOTP active (store: %s%s)",
		    a->dir_cfg != NULL ? "directory" : "files ",
		    a->dir_cfg != NULL ? "" : a->secret_dir);
		return CLI_EXIT_OK;
	}
	snprintf(
	    why, whylen, "first code not accepted: %s", totp_store_why(st));
	if (a->dir_cfg != NULL && r != PG_ERR_BADCODE && r != PG_ERR_REPLAY)
		fprintf(stderr,
		    "photoguard: not enrolled in the directory: %s (%s)\n",
		    pg_strerror(r), totp_store_why(st));
	else if (a->dir_cfg != NULL)
		fprintf(stderr,
		    "photoguard: code not accepted (%s); nothing was "
		    "written to the directory, run `photoguard enroll %s%s` "
		    "to start again\n",
		    totp_store_why(st), a->user, a->reset ? " --reset" : "");
	else
		fprintf(stderr,
		    "photoguard: code not accepted (%s); %s stays pending, "
		    "run `photoguard enroll %s --reset` to start again\n",
		    totp_store_why(st), a->user, a->user);
	if (r == PG_ERR_EXISTS)
		return CLI_EXIT_FAIL;
	return r == PG_ERR_BADCODE || r == PG_ERR_REPLAY ? CLI_EXIT_FAIL
	                                                 : CLI_EXIT_ERROR;
}

/* Opens the store A names (made 0700 if CREATE), saying why not. */
static int
open_store(const struct totp_args *a, int create, struct totp_store **st)
{
	int r;

	if (a->dir_cfg != NULL) {
		if ((r = dir_totp_store_open(a->dir_cfg, st)) != PG_OK)
			fprintf(stderr,
			    "photoguard: TOTP store in the directory: %s\n",
			    pg_strerror(r));
		return r;
	}
	if ((r = totp_store_open(a->secret_dir, a->host_key, create, st)) != 0)
		fprintf(stderr,
		    "photoguard: secret store %s (host key %s): %s\n",
		    a->secret_dir, a->host_key, pg_strerror(r));
	return r;
}

/* The decision an exit code of enroll() is audited with. */
static const char *
decision_of(int rc)
{
	return rc == CLI_EXIT_OK  ? "allow"
	    : rc == CLI_EXIT_FAIL ? "deny"
	                          : "error";
}

/*
 * Enrolls A->user, as unlock is audited: the request is on record before
 * anything changes (an enrollment the log cannot hold does not happen),
 * the outcome after; "active" is said only once that is on record.
 */
static int
enroll_audited(const struct cli_ctx *ctx, struct totp_args *a,
    struct cli_audit *au, const char *event)
{
	struct totp_store *st = NULL;
	struct totp_enrollment *e = NULL;
	char why[512];
	int rc, r;

	if ((rc = cli_audit_open(
	         ctx, au, "not enrolling a user without an audit record")) != 0)
		return rc;
	if (cli_audit_record(au, event, a->user, "info",
	        a->reset ? "reset requested" : "enrollment requested") !=
	    PG_OK) {
		fprintf(stderr,
		    "photoguard: the audit log does not take the request; "
		    "%s is not enrolled\n",
		    a->user);
		return CLI_EXIT_ERROR;
	}
	if (open_store(a, 1, &st) != 0) {
		snprintf(why, sizeof(why), "the TOTP store cannot be opened");
		rc = CLI_EXIT_ERROR;
		goto out;
	}
	r = totp_store_enroll(
	    st, a->user, a->reset, time(NULL), a->digits, a->step_s, &e);
	if (r != PG_OK) {
		fprintf(stderr, "photoguard: cannot enroll %s: %s (%s)%s\n",
		    a->user, pg_strerror(r), totp_store_why(st),
		    r == PG_ERR_EXISTS ? "; --reset replaces it" : "");
		snprintf(why, sizeof(why), "not enrolled: %s (%s)",
		    pg_strerror(r), totp_store_why(st));
		rc = r == PG_ERR_EXISTS ? CLI_EXIT_FAIL : CLI_EXIT_ERROR;
		goto out;
	}
	if (show_enrollment(a, e) != PG_OK) {
		fprintf(stderr, "photoguard: cannot show the enrollment\n");
		snprintf(why, sizeof(why),
		    "the enrollment could not be shown; it stays pending");
		rc = CLI_EXIT_ERROR;
		goto out;
	}
	rc = confirm(st, a, why, sizeof(why));
out:
	totp_enrollment_free(e);
	totp_store_free(st);
	if (cli_audit_record(au, event, a->user, decision_of(rc), why) !=
	    PG_OK) {
		fprintf(stderr,
		    "photoguard: the audit log did not take the outcome of "
		    "the enrollment of %s (its request is on record)%s\n",
		    a->user,
		    rc == CLI_EXIT_OK ? "; its TOTP is active all the same"
		                      : "");
		return CLI_EXIT_ERROR;
	}
	return rc;
}

/* Issues a one-time enrollment token for A->user, audited as enroll. */
static int
token_audited(
    const struct cli_ctx *ctx, struct totp_args *a, struct cli_audit *au)
{
	struct totp_store *st = NULL;
	char tok[TOTP_TOKEN_TEXT], why[512], until[64] = "?";
	int rc = CLI_EXIT_ERROR, r;

	if ((rc = cli_audit_open(ctx, au,
	         "not issuing an enrollment token without an audit "
	         "record")) != 0)
		return rc;
	if (cli_audit_record(au, "admin.enroll.token", a->user, "info",
	        "enrollment token requested") != PG_OK) {
		fprintf(stderr,
		    "photoguard: the audit log does not take the request; "
		    "no token for %s\n",
		    a->user);
		return CLI_EXIT_ERROR;
	}
	rc = CLI_EXIT_ERROR;
	if (open_store(a, 1, &st) != 0) {
		snprintf(why, sizeof(why), "the TOTP store cannot be opened");
	} else {
		time_t now = time(NULL);

		r = totp_token_issue(st, a->user, now, a->token_ttl_s, tok);
		if (r != PG_OK) {
			fprintf(stderr,
			    "photoguard: no token for %s: %s (%s)\n", a->user,
			    pg_strerror(r), totp_store_why(st));
			snprintf(why, sizeof(why), "no token: %s (%s)",
			    pg_strerror(r), totp_store_why(st));
		} else {
			(void)pg_utc(now + a->token_ttl_s, PG_TIME_TEXT, until,
			    sizeof(until));
			printf("One-time enrollment token for %s (valid until "
			       "%s):\n\n  %s\n\nAt the verification code "
			       "prompt of a login, %s types it and enrolls "
			       "a new authenticator app.\n",
			    a->user, until, tok, a->user);
			fflush(stdout);
			sodium_memzero(tok, sizeof(tok));
			snprintf(why, sizeof(why),
			    "enrollment token issued, valid until %s", until);
			rc = CLI_EXIT_OK;
		}
	}
	totp_store_free(st);
	if (cli_audit_record(au, "admin.enroll.token", a->user, decision_of(rc),
	        why) != PG_OK) {
		fprintf(stderr,
		    "photoguard: the audit log did not take the outcome of "
		    "the token for %s (its request is on record)\n",
		    a->user);
		return CLI_EXIT_ERROR;
	}
	return rc;
}

static int
enroll(const struct cli_ctx *ctx, int argc, char **argv, struct totp_args *ap)
{
	struct totp_args a;
	struct cli_audit au = { NULL, NULL };
	int rc;

	rc = parse(ctx, argc, argv, "abcdefgi", enroll_usage, &a);
	ap->dir_cfg = a.dir_cfg;
	if (rc != 0)
		return rc == HELP_SHOWN ? CLI_EXIT_OK : rc;
	if (a.user == NULL) {
		fputs(enroll_usage, stderr);
		return CLI_EXIT_USAGE;
	}
	/* A secret sent to a file or a pipe by mistake (a session log, a
	 * ticket system) outlives the terminal it was meant for. */
	if (!a.to_pipe && !isatty(STDOUT_FILENO)) {
		fprintf(stderr,
		    "photoguard: standard output is not a terminal: the secret "
		    "of %s would go to a file or pipe; %s is not enrolled "
		    "(--secret-to-pipe if a provisioning script takes it)\n",
		    a.user, a.user);
		return CLI_EXIT_USAGE;
	}
	if (a.token && (a.reset || a.confirm_code != NULL)) {
		fprintf(stderr,
		    "photoguard: --token takes no --reset or "
		    "--confirm-code\n");
		return CLI_EXIT_USAGE;
	}
	if ((rc = cli_audit_load(ctx, &au)) != CLI_EXIT_OK)
		return rc;
	if (a.token) {
		rc = token_audited(ctx, &a, &au);
		if (cli_audit_end(&au) != PG_OK && rc == CLI_EXIT_OK) {
			fprintf(stderr,
			    "photoguard: the audit log did not take the "
			    "closing checkpoint of the token for %s; it is "
			    "valid all the same\n",
			    a.user);
			rc = CLI_EXIT_ERROR;
		}
		return rc;
	}
	rc = enroll_audited(
	    ctx, &a, &au, a.reset ? "admin.enroll.reset" : "admin.enroll");
	/* The closing checkpoint signs the outcome: without it, no
	 * "active". */
	if (cli_audit_end(&au) != PG_OK && rc == CLI_EXIT_OK) {
		fprintf(stderr,
		    "photoguard: the audit log did not take the closing "
		    "checkpoint of the enrollment of %s; its TOTP is active "
		    "all the same\n",
		    a.user);
		rc = CLI_EXIT_ERROR;
	}
	if (rc == CLI_EXIT_OK)
		printf("TOTP for %s is active.\n", a.user);
	return rc;
}

int
cmd_enroll(const struct cli_ctx *ctx, int argc, char **argv)
{
	struct totp_args a = { 0 };
	int rc = enroll(ctx, argc, argv, &a);

	pg_config_free(a.dir_cfg);
	return rc;
}

static void
print_time(const char *label, int64_t t)
{
	char buf[64];

	if (t <= 0 ||
	    pg_utc((time_t)t, PG_TIME_TEXT, buf, sizeof(buf)) != PG_OK)
		printf("%s: never\n", label);
	else
		printf("%s: %s\n", label, buf);
}

/* Sets KEY and KEY_epoch of O to T, or to null when T is never. */
static int
json_time(json_t *o, const char *key, int64_t t)
{
	char buf[64], ekey[64];

	snprintf(ekey, sizeof(ekey), "%s_epoch", key);
	if (t <= 0 || pg_utc((time_t)t, PG_TIME_ISO, buf, sizeof(buf)) != PG_OK)
		return json_object_set_new(o, key, json_null()) ||
		    json_object_set_new(o, ekey, json_null());
	return json_object_set_new(o, key, json_string(buf)) ||
	    json_object_set_new(o, ekey, json_integer((json_int_t)t));
}

/* `totp status --json`: S of USER as one object on stdout. */
static int
status_json(const char *user, const char *state, const struct totp_status *s,
    int directory, int64_t token_until)
{
	json_t *o;
	int r = CLI_EXIT_ERROR;

	o = json_pack("{s:s,s:s,s:s,s:b}", "user", user, "state", state,
	    "store", directory ? "directory" : "files", "locked",
	    (int)s->locked);
	if (o == NULL)
		return CLI_EXIT_ERROR;
	if (json_time(o, "token_expires", token_until))
		goto out;
	if (s->state != TOTP_STATE_NONE &&
	    (json_time(o, "enrolled", s->enrolled_at) ||
	        json_time(o, "last_used", s->last_used) ||
	        json_object_set_new(o, "digits", json_integer(s->digits)) ||
	        json_object_set_new(o, "step", json_integer(s->step_s)) ||
	        json_object_set_new(
	            o, "scratch_left", json_integer(s->scratch_left))))
		goto out;
	if (json_dumpf(o, stdout, JSON_INDENT(2)) != 0 || putchar('\n') == EOF)
		goto out;
	r = s->state == TOTP_STATE_NONE ? CLI_EXIT_FAIL : CLI_EXIT_OK;
out:
	json_decref(o);
	return r;
}

static int
totp_status(
    const struct cli_ctx *ctx, int argc, char **argv, struct totp_args *ap)
{
	static const char *const names[] = { "not enrolled", "pending",
		"active" };
	struct totp_args a;
	struct totp_store *st = NULL;
	struct totp_status s;
	int64_t token_until = 0;
	int rc, r;

	rc = parse(ctx, argc, argv, "abh", totp_usage, &a);
	ap->dir_cfg = a.dir_cfg;
	if (rc != 0)
		return rc == HELP_SHOWN ? CLI_EXIT_OK : rc;
	if (a.user == NULL) {
		fputs(totp_usage, stderr);
		return CLI_EXIT_USAGE;
	}
	if (open_store(&a, 0, &st) != 0)
		return CLI_EXIT_ERROR;
	if ((r = totp_store_status(st, a.user, &s)) != PG_OK) {
		fprintf(stderr, "photoguard: %s: %s (%s)\n", a.user,
		    pg_strerror(r), totp_store_why(st));
		totp_store_free(st);
		return CLI_EXIT_ERROR;
	}
	/* A token that cannot be read, or has expired, is none. */
	if (totp_token_expiry(st, a.user, &token_until) != PG_OK ||
	    token_until <= (int64_t)time(NULL))
		token_until = 0;
	totp_store_free(st);
	if (a.json)
		return status_json(
		    a.user, names[s.state], &s, a.dir_cfg != NULL, token_until);
	printf("user: %s\nstate: %s\n", a.user, names[s.state]);
	if (a.dir_cfg != NULL)
		printf("store: directory%s\n",
		    s.locked ? " (account locked there)" : "");
	if (token_until > 0)
		print_time("enrollment token valid until", token_until);
	if (s.state == TOTP_STATE_NONE)
		return CLI_EXIT_FAIL;
	print_time("enrolled", s.enrolled_at);
	print_time("last used", s.last_used);
	printf("code: %d digits every %d s\nscratch codes left: %d\n", s.digits,
	    s.step_s, s.scratch_left);
	return CLI_EXIT_OK;
}

/* Creates the host key, audited when it is this host's (admin_audit.h). */
static int
hostkey_audited(
    const struct cli_ctx *ctx, const char *path, struct cli_audit *au)
{
	char why[256];
	int r;

	/* A key this host's configuration does not use (a staged tree's,
	 * a test's) changes nothing here and is not recorded. */
	if (au->cfg != NULL &&
	    cli_same_path(path, au->cfg->totp_host_key_file) &&
	    cli_audit_open(ctx, au,
	        "not creating the host key without an audit record") != 0)
		return CLI_EXIT_ERROR;
	r = totp_hostkey_generate(path);
	if (r == PG_ERR_EXISTS) {
		printf("host key %s already exists; left as it is\n", path);
		return CLI_EXIT_OK;
	}
	if (r != PG_OK) {
		fprintf(stderr, "photoguard: cannot create host key %s: %s\n",
		    path, pg_strerror(r));
		snprintf(why, sizeof(why), "not created: %s", pg_strerror(r));
	} else
		snprintf(why, sizeof(why), "TOTP host key created");
	if (cli_audit_record(au, "admin.totp.hostkey", path,
	        r == PG_OK ? "allow" : "error", why) != PG_OK) {
		fprintf(stderr,
		    "photoguard: the audit log did not take the record of "
		    "host key %s%s\n",
		    path, r == PG_OK ? ", which is created all the same" : "");
		return CLI_EXIT_ERROR;
	}
	if (r != PG_OK)
		return CLI_EXIT_ERROR;
	printf("host key %s created\n", path);
	return CLI_EXIT_OK;
}

static int
totp_hostkey(const struct cli_ctx *ctx, int argc, char **argv)
{
	struct totp_args a;
	struct cli_audit au = { NULL, NULL };
	int rc;

	rc = parse(ctx, argc, argv, "b", totp_usage, &a);
	pg_config_free(a.dir_cfg);
	if (rc != 0)
		return rc == HELP_SHOWN ? CLI_EXIT_OK : rc;
	if (a.user != NULL) {
		fputs(totp_usage, stderr);
		return CLI_EXIT_USAGE;
	}
	if ((rc = cli_audit_load(ctx, &au)) != CLI_EXIT_OK)
		return rc;
	rc = hostkey_audited(ctx, a.host_key, &au);
	if (cli_audit_end(&au) != PG_OK && rc == CLI_EXIT_OK) {
		fprintf(stderr,
		    "photoguard: the audit log did not take the closing "
		    "checkpoint of the record of host key %s\n",
		    a.host_key);
		rc = CLI_EXIT_ERROR;
	}
	return rc;
}

int
cmd_totp(const struct cli_ctx *ctx, int argc, char **argv)
{
	if (argc < 2) {
		fputs(totp_usage, stderr);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(totp_usage, stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "status") == 0) {
		struct totp_args a = { 0 };
		int rc = totp_status(ctx, argc - 1, argv + 1, &a);

		pg_config_free(a.dir_cfg);
		return rc;
	}
	if (strcmp(argv[1], "hostkey") == 0)
		return totp_hostkey(ctx, argc - 1, argv + 1);
	fprintf(stderr, "photoguard: unknown totp command\n%s", totp_usage);
	return CLI_EXIT_USAGE;
}
