/*
 * lex.c - splits one policy line into words, quoted strings, commas and
 * '=' (with 1-based columns for diagnostics), and keeps the diagnostics.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/parse_int.h"

struct policy_diags {
	char *file;
	size_t n, nerr;
	struct policy_diag d[POLICY_DIAGS_MAX];
};

/* A new, empty diagnostics list for file NAME; NULL if out of memory. */
struct policy_diags *
pi_diags_new(const char *name)
{
	struct policy_diags *d = calloc(1, sizeof(*d));
	size_t n = strlen(name);

	if (d == NULL)
		return NULL;
	d->file = malloc(n + 1);
	if (d->file == NULL) {
		free(d);
		return NULL;
	}
	memcpy(d->file, name, n + 1);
	return d;
}

/*
 * Records a diagnostic.  When the list is full the last slot says so and
 * parsing stops (st->fatal), so a garbage file cannot flood the caller.
 */
void
pi_diag(struct pstate *st, enum policy_diag_severity sev, unsigned line,
    unsigned col, const char *fmt, ...)
{
	struct policy_diags *d = st->d;
	struct policy_diag *g;
	va_list ap;

	if (sev == POLICY_DIAG_ERROR)
		d->nerr++;
	if (d->n >= POLICY_DIAGS_MAX)
		return;
	g = &d->d[d->n++];
	g->severity = sev;
	g->file = d->file;
	g->line = line;
	g->col = col;
	if (d->n == POLICY_DIAGS_MAX) {
		g->severity = POLICY_DIAG_ERROR;
		snprintf(g->message, sizeof(g->message),
		    "too many diagnostics; giving up");
		if (st->fatal == 0)
			st->fatal = PG_ERR_PARSE;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(g->message, sizeof(g->message), fmt, ap);
	va_end(ap);
}

/* Orders the diagnostics by line, keeping the order within a line. */
void
pi_diags_sort(struct policy_diags *d)
{
	if (d->n >= POLICY_DIAGS_MAX) /* keep "giving up" last */
		return;
	for (size_t i = 1; i < d->n; i++) {
		struct policy_diag t = d->d[i];
		size_t j = i;
		for (; j > 0 && d->d[j - 1].line > t.line; j--)
			d->d[j] = d->d[j - 1];
		d->d[j] = t;
	}
}

size_t
policy_diags_count(const struct policy_diags *d)
{
	return d == NULL ? 0 : d->n;
}

size_t
policy_diags_errors(const struct policy_diags *d)
{
	return d == NULL ? 0 : d->nerr;
}

const struct policy_diag *
policy_diags_get(const struct policy_diags *d, size_t i)
{
	if (d == NULL || i >= d->n)
		return NULL;
	return &d->d[i];
}

void
policy_diags_free(struct policy_diags *d)
{
	if (d == NULL)
		return;
	free(d->file);
	free(d);
}

int
policy_diag_format(const struct policy_diag *d, char *buf, size_t len)
{
	const char *sev;

	if (d == NULL)
		return snprintf(buf, len, "(no diagnostic)");
	sev = d->severity == POLICY_DIAG_ERROR ? "error" : "warning";
	return snprintf(buf, len, "%s:%u:%u: %s: %s", d->file, d->line, d->col,
	    sev, d->message);
}

static bool
is_word_char(unsigned char c)
{
	return c > ' ' && c != 0x7f && c != ',' && c != '"' && c != '#' &&
	    c != '=';
}

/* Reads a quoted string at LINE[*I] (the opening quote) into *OUT. */
static int
lex_string(
    struct pstate *st, const char *line, size_t len, size_t *i, char **out)
{
	unsigned col = (unsigned)*i + 1;
	char *o = *out;

	for ((*i)++; *i < len; (*i)++) {
		unsigned char c = (unsigned char)line[*i];
		if (c == '"') {
			(*i)++;
			*o++ = '\0';
			*out = o;
			return 0;
		}
		if (c == '\\' && *i + 1 < len &&
		    (line[*i + 1] == '"' || line[*i + 1] == '\\'))
			c = (unsigned char)line[++(*i)];
		else if (c < ' ' || c == 0x7f) {
			perr(st, (unsigned)*i + 1,
			    "control character in a quoted string");
			return PG_ERR_PARSE;
		}
		*o++ = (char)c;
	}
	perr(st, col, "unterminated string (missing closing '\"')");
	return PG_ERR_PARSE;
}

/* Adds token KIND at COL; errors once the line holds too many. */
static int
add_tok(struct pstate *st, enum tok_kind kind, const char *s, unsigned col)
{
	if (st->ntok >= PI_MAX_TOKENS) {
		perr(st, col, "too many words on one line (at most %d)",
		    PI_MAX_TOKENS);
		return PG_ERR_PARSE;
	}
	st->toks[st->ntok].kind = kind;
	st->toks[st->ntok].s = s;
	st->toks[st->ntok].col = col;
	st->ntok++;
	return 0;
}

/*
 * Tokenizes LINE (LEN bytes, no newline).  Returns 0 or PG_ERR_PARSE
 * (diagnosed).  Sets st->text to the statement without its comment.
 */
int
pi_lex_line(struct pstate *st, const char *line, size_t len)
{
	char *o = st->scratch;
	size_t i = 0, end = 0;
	int r;

	st->ntok = st->pos = 0;
	st->text = line;
	st->textlen = 0;
	while (i < len) {
		unsigned char c = (unsigned char)line[i];
		unsigned col = (unsigned)i + 1;
		if (c == ' ' || c == '\t' || c == '\r') {
			i++;
			continue;
		}
		if (c == '#')
			break;
		if (c == ',' || c == '=') {
			r = add_tok(st, c == ',' ? T_COMMA : T_EQ,
			    c == ',' ? "," : "=", col);
			i++;
		} else if (c == '"') {
			const char *s = o;
			r = lex_string(st, line, len, &i, &o);
			if (r == 0)
				r = add_tok(st, T_STRING, s, col);
		} else if (!is_word_char(c)) {
			perr(st, col, "unexpected character 0x%02x", c);
			return PG_ERR_PARSE;
		} else {
			const char *s = o;
			while (i < len && is_word_char((unsigned char)line[i]))
				*o++ = line[i++];
			*o++ = '\0';
			r = add_tok(st, T_WORD, s, col);
		}
		if (r != 0)
			return r;
		end = i;
	}
	if (st->ntok > 0) {
		st->text = line + st->toks[0].col - 1;
		st->textlen = end - (st->toks[0].col - 1);
	}
	return 0;
}

const struct tok *
pi_peek(struct pstate *st)
{
	return st->pos < st->ntok ? &st->toks[st->pos] : NULL;
}

const struct tok *
pi_next(struct pstate *st)
{
	return st->pos < st->ntok ? &st->toks[st->pos++] : NULL;
}

/* Consumes the next token if it is the word W. */
bool
pi_accept_word(struct pstate *st, const char *w)
{
	const struct tok *t = pi_peek(st);

	if (t == NULL || t->kind != T_WORD || strcmp(t->s, w) != 0)
		return false;
	st->pos++;
	return true;
}

/* The column just past the statement, for "expected more" errors. */
unsigned
pi_endcol(const struct pstate *st)
{
	if (st->ntok == 0)
		return 1;
	return st->toks[0].col + (unsigned)st->textlen;
}

/* The statement as written (trimmed, capped), copied into the arena. */
const char *
pi_stmt_text(struct pstate *st)
{
	size_t n = st->textlen;
	char *r;

	if (n <= PI_MAX_RULE_TEXT)
		r = pi_strndup(st->p, st->text, n);
	else {
		r = pi_alloc(st->p, PI_MAX_RULE_TEXT + 4);
		if (r != NULL) {
			memcpy(r, st->text, PI_MAX_RULE_TEXT);
			memcpy(r + PI_MAX_RULE_TEXT, "...", 4);
		}
	}
	if (r == NULL)
		st->fatal = PG_ERR_NOMEM;
	return r;
}
