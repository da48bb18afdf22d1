/*
 * audit_report_html.c - the breach report as HTML (audit_report_html.h).
 *
 * Every string from a log (user, patient, server, rule, reason) is
 * escaped for HTML here and nowhere else, so a name crafted as markup
 * stays text.  The page has no script and loads nothing: it is read as it
 * was written, in a browser, a mail client or a court's archive.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "cli/audit_report_html.h"
#include "cli/util.h"

#define BUCKETS 60
#define CHART_W 900
#define CHART_H 220
#define PLOT_L  50 /* left margin: the count axis */
#define PLOT_B  40 /* bottom margin: the time axis */
#define PLOT_T  34 /* top margin: the lockout's label */

time_t
report_html_time(const char *t)
{
	struct tm tm;
	int n = 0;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL ||
	    sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
	        &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 ||
	    n != 19)
		return (time_t)-1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return timegm(&tm);
}

/* S as HTML text (cli_markup()); NULL writes nothing. */
static void
esc(FILE *f, const char *s)
{
	if (s != NULL)
		cli_markup(f, s);
}

static const char style[] =
    "body{font-family:'DejaVu Sans',Arial,sans-serif;margin:2em;"
    "color:#111;max-width:60em}\n"
    "h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.2em;"
    "margin-top:1.6em;border-bottom:1px solid #999}\n"
    ".banner{padding:.8em 1em;font-size:1.15em;font-weight:bold;"
    "border:3px solid}\n"
    ".ok{background:#e6f4ea;border-color:#1e7b34;color:#0d4d1f}\n"
    ".bad{background:#fde8e8;border-color:#b00020;color:#7a0014}\n"
    "table{border-collapse:collapse;margin:.6em 0;max-width:100%}\n"
    "th,td{border:1px solid #888;padding:.25em .6em;text-align:left;"
    "vertical-align:top;overflow-wrap:break-word}\n"
    "th{background:#eee}td.n{text-align:right}\n"
    "table.scope th{width:10em}\n"
    ".note{color:#444;font-size:.9em}\n"
    "@page{size:A4;margin:15mm}\n"
    "@media print{body{margin:0}.banner{break-inside:avoid}"
    "tr{break-inside:avoid}}\n";

static void
banner(FILE *f, const struct html_report *r)
{
	long long records = 0;
	size_t i;

	for (i = 0; i < r->nch; i++)
		records += r->ch[i].records;
	if (r->verified) {
		fprintf(f,
		    "<p class=\"banner ok\">Audit log verified: %lld "
		    "records on %zu server%s, hash chain and signatures "
		    "checked. This report rests on records nobody has "
		    "altered, removed or forged.</p>\n",
		    records, r->nch, r->nch == 1 ? "" : "s");
		return;
	}
	fputs("<p class=\"banner bad\">NOT VERIFIED: ", f);
	esc(f, r->warning);
	fputs("</p>\n", f);
}

static void
scope(FILE *f, const struct html_report *r)
{
	size_t i;

	fputs("<table class=\"scope\">\n<tr><th>Account</th><td>", f);
	if (r->user != NULL)
		esc(f, r->user);
	else
		fputs("all users", f);
	fputs("</td></tr>\n<tr><th>Period</th><td>", f);
	esc(f, r->since != NULL ? r->since : "the start of the log");
	fputs(" to ", f);
	esc(f, r->until != NULL ? r->until : "its end");
	fputs(" (UTC)</td></tr>\n<tr><th>Logs</th><td>", f);
	for (i = 0; i < r->nch; i++) {
		const struct html_chain *c = &r->ch[i];

		if (i > 0)
			fputs("<br>", f);
		if (c->host[0] != '\0') {
			esc(f, c->host);
			fputs(": ", f);
		} else if (r->log != NULL) {
			esc(f, r->log);
			fputs(": ", f);
		}
		if (c->ok)
			fprintf(f, "seq %lld to %lld, %s", c->first_seq,
			    c->last_seq,
			    c->signatures_checked ? "verified"
			                          : "signatures NOT checked");
		else {
			fprintf(f, "DOES NOT VERIFY at seq %lld: ", c->bad_seq);
			esc(f, c->problem);
		}
	}
	fputs("</td></tr>\n<tr><th>Generated</th><td>", f);
	esc(f, r->generated);
	fputs(" by photoguard audit report</td></tr>\n</table>\n", f);
}

/* A record time as "2026-11-22 14:03:07" (the seconds' fraction off). */
static void
plain_time(FILE *f, const char *t)
{
	char buf[20];

	if (t != NULL && strlen(t) >= 19 && t[10] == 'T') {
		memcpy(buf, t, 19);
		buf[10] = ' ';
		buf[19] = '\0';
		esc(f, buf);
	} else
		esc(f, t);
}

static void
lockouts(FILE *f, const struct html_report *r)
{
	size_t i;

	fputs("<h2>Lockout</h2>\n", f);
	if (r->nlocks == 0) {
		fputs("<p>No lockout of this account in the period.</p>\n", f);
		return;
	}
	fprintf(f,
	    "<p>The account was locked %zu time%s: from then on it was "
	    "refused every photo on every server until an administrator "
	    "unlocked it.</p>\n<table>\n<tr><th>Time (UTC)</th><th>Account"
	    "</th><th>Server</th><th>Rule</th><th>Reason</th></tr>\n",
	    r->nlocks, r->nlocks == 1 ? "" : "s");
	for (i = 0; i < r->nlocks; i++) {
		const struct html_lockout *l = &r->locks[i];

		fputs("<tr><td>", f);
		plain_time(f, l->time);
		fputs("</td><td>", f);
		esc(f, l->actor);
		fputs("</td><td>", f);
		esc(f, l->host);
		fputs("</td><td>", f);
		esc(f, l->rule);
		fputs("</td><td>", f);
		esc(f, l->reason);
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n", f);
}

/* A time as the chart's axis shows it, "2026-11-22 14:03". */
static void
axis_time(time_t t, char *out, size_t len)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, len, "%Y-%m-%d %H:%M", &tm) == 0)
		snprintf(out, len, "?");
}

/* The opens over time as bars, the lockouts as red lines. */
static void
timeline(FILE *f, const struct html_report *r)
{
	long long count[BUCKETS] = { 0 }, top = 0;
	time_t lo = 0, hi = 0, lt[64];
	double span, pw = CHART_W - PLOT_L - 10, ph = CHART_H - PLOT_T - PLOT_B;
	char a[32], b[32];
	size_t i, nl = 0;
	bool any = false;

	for (i = 0; i < r->nopens; i++) {
		if (!any || r->opens[i] < lo)
			lo = r->opens[i];
		if (!any || r->opens[i] > hi)
			hi = r->opens[i];
		any = true;
	}
	for (i = 0; i < r->nlocks && nl < sizeof(lt) / sizeof(lt[0]); i++) {
		time_t t = report_html_time(r->locks[i].time);

		if (t == (time_t)-1)
			continue;
		lt[nl++] = t;
		if (!any || t < lo)
			lo = t;
		if (!any || t > hi)
			hi = t;
		any = true;
	}
	fputs("<h2>Timeline of the photos opened</h2>\n", f);
	if (!any) {
		fputs("<p>No photo was opened in the period.</p>\n", f);
		return;
	}
	if (hi - lo < BUCKETS)
		hi = lo + BUCKETS; /* a second per bar at least */
	span = (double)(hi - lo) + 1;
	for (i = 0; i < r->nopens; i++) {
		size_t k =
		    (size_t)((double)(r->opens[i] - lo) / span * BUCKETS);

		if (k >= BUCKETS)
			k = BUCKETS - 1;
		if (++count[k] > top)
			top = count[k];
	}
	axis_time(lo, a, sizeof(a));
	axis_time(hi, b, sizeof(b));
	fprintf(f,
	    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
	    "height=\"%d\" role=\"img\" aria-label=\"photos opened over "
	    "time\">\n<rect x=\"%d\" y=\"%d\" width=\"%.0f\" height=\"%.0f\" "
	    "fill=\"#fafafa\" stroke=\"#888\"/>\n",
	    CHART_W, CHART_H, PLOT_L, PLOT_T, pw, ph);
	for (i = 0; i < BUCKETS; i++) {
		double h = top > 0 ? (double)count[i] / (double)top * ph : 0;

		if (count[i] == 0)
			continue;
		fprintf(f,
		    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
		    "height=\"%.1f\" fill=\"#2b5fad\"><title>%lld "
		    "opens</title></rect>\n",
		    PLOT_L + pw * (double)i / BUCKETS, PLOT_T + ph - h,
		    pw / BUCKETS - 1, h, count[i]);
	}
	for (i = 0; i < nl; i++) {
		double x = PLOT_L + pw * (double)(lt[i] - lo) / span;

		fprintf(f,
		    "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.0f\" "
		    "stroke=\"#b00020\" stroke-width=\"3\"/>\n<text x=\"%.1f\" "
		    "y=\"%d\" fill=\"#7a0014\" font-size=\"18\" "
		    "font-weight=\"bold\" text-anchor=\"%s\">LOCKOUT</text>\n",
		    x, PLOT_T, x, PLOT_T + ph, x, PLOT_T - 10,
		    x > CHART_W / 2 ? "end" : "start");
	}
	fprintf(f,
	    "<text x=\"%d\" y=\"%d\" font-size=\"13\" "
	    "text-anchor=\"end\">%lld</text>\n<text x=\"%d\" y=\"%.0f\" "
	    "font-size=\"13\" text-anchor=\"end\">0</text>\n<text x=\"%d\" "
	    "y=\"%d\" font-size=\"13\">%s</text>\n<text x=\"%d\" y=\"%d\" "
	    "font-size=\"13\" text-anchor=\"end\">%s UTC</text>\n</svg>\n"
	    "<p class=\"note\">Photos opened: %zu. One bar: %.0f s; the "
	    "tallest, %lld opens.</p>\n",
	    PLOT_L - 6, PLOT_T + 12, top, PLOT_L - 6, PLOT_T + ph, PLOT_L,
	    CHART_H - 12, a, CHART_W - 10, CHART_H - 12, b, r->nopens,
	    span / BUCKETS, top);
}

static void
patients(FILE *f, const struct html_report *r)
{
	size_t i;

	fprintf(f,
	    "<h2>Patients whose photos were opened</h2>\n<p>%lld "
	    "patient%s, %lld files, %lld bytes.</p>\n",
	    r->totals->patients, r->totals->patients == 1 ? "" : "s",
	    r->totals->files, r->totals->bytes);
	if (r->nrows == 0)
		return;
	fputs("<table>\n<tr><th>Patient</th>", f);
	if (r->user == NULL)
		fputs("<th>Account</th>", f);
	fputs("<th>Server</th><th>Files</th><th>Bytes</th><th>First "
	      "access (UTC)</th><th>Last access (UTC)</th></tr>\n",
	    f);
	for (i = 0; i < r->nrows; i++) {
		const struct report_row *w = &r->rows[i];

		fputs("<tr><td>", f);
		esc(f, w->patient);
		if (r->user == NULL) {
			fputs("</td><td>", f);
			esc(f, w->user);
		}
		fputs("</td><td>", f);
		esc(f, w->host);
		fprintf(f,
		    "</td><td class=\"n\">%lld</td><td class=\"n\">%lld"
		    "</td><td>",
		    w->files, w->bytes);
		esc(f, w->first);
		fputs("</td><td>", f);
		esc(f, w->last);
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n", f);
}

int
report_html_write(FILE *f, const struct html_report *r)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta "
	      "charset=\"utf-8\">\n<meta http-equiv=\"Content-Security-"
	      "Policy\" content=\"default-src 'none'; style-src "
	      "'unsafe-inline'\">\n<title>Photo access report: ",
	    f);
	esc(f, r->user != NULL ? r->user : "all users");
	fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n", style);
	fputs("<h1>Photo access report: ", f);
	esc(f, r->user != NULL ? r->user : "all users");
	fputs("</h1>\n", f);
	banner(f, r);
	scope(f, r);
	lockouts(f, r);
	timeline(f, r);
	patients(f, r);
	if (r->totals->unattributed > 0)
		fprintf(f,
		    "<p class=\"note\">%lld access records name no patient "
		    "and are not counted above.</p>\n",
		    r->totals->unattributed);
	if (r->after > 0)
		fprintf(f,
		    "<p class=\"note\">%lld records were appended after the "
		    "check and are left out.</p>\n",
		    r->after);
	if (!r->verified) {
		fputs("<p class=\"banner bad\">NOT VERIFIED: ", f);
		esc(f, r->warning);
		fputs("</p>\n", f);
	}
	fputs("<p class=\"note\">Files are allowed opens of photos "
	      "(gateway.open); bytes are what the gateway served; each "
	      "server's log is checked against its own public key.</p>\n"
	      "</body>\n</html>\n",
	    f);
	return fflush(f) == 0 && !ferror(f) ? PG_OK : PG_ERR_IO;
}
