#!/bin/bash
# test_report_html.sh - `audit report --html` and `--pdf`, the breach
# report for lawyers and regulators, on a signed log of real records:
# rendered headless by chromium and read back from the screenshot with
# tesseract (the verified banner, the patients, the lockout), a log that
# was altered says NOT VERIFIED on the page and exits 1, names written
# as markup stay text, the PDF holds the same text, and bad input is a
# usage error that writes nothing.
# usage: test_report_html.sh PHOTOGUARD RECORD_WRITER
. "$PG_SOURCE_ROOT/tests/lib/tap.sh"
pg=$1
writer=$2
dir=$(mktemp -d /tmp/pg-rhtml.XXXXXX)
trap 'rm -rf "$dir"' EXIT
log=$dir/audit.jsonl
export PHOTOGUARD_CONFIG=$dir/none.conf
die() { not_ok "$1"; done_testing; exit 1; }
for tool in chromium tesseract pdftotext; do
	command -v "$tool" >/dev/null ||
		die "$tool is installed (deploy/deps.sh --test installs chromium, tesseract-ocr, poppler-utils)"
done

"$pg" audit keygen "$dir/audit.key" >/dev/null || die "audit keygen"
evil="P<script>alert(1)</script>&\"x'y"
{
	for i in $(seq 1 12); do
		for p in P000101 P000102 P000103; do
			printf 'actor=drthief\tevent=gateway.open\tdecision=allow\tpatient=%s\tobject=patients/%s/IMG_%04d.jpg\tbytes=20000\n' "$p" "$p" "$i"
		done
	done
	printf 'actor=drthief\tevent=gateway.open\tdecision=allow\tpatient=%s\tobject=patients/x/IMG_1.jpg\tbytes=5\n' "$evil"
	printf 'actor=nurse1\tevent=gateway.open\tdecision=allow\tpatient=P000999\tobject=patients/P000999/IMG_1.jpg\n'
	printf 'actor=drthief\tevent=lockout.lock\tdecision=deny\trule=clinic.policy:31\treason=bulk access, account locked: files 37 over 36\n'
	printf 'actor=drthief\tevent=gateway.open\tdecision=deny\tpatient=P000104\treason=account locked\n'
} | "$writer" "$log" "$dir/audit.key" || die "record_writer"

report() { "$pg" audit report --user drthief --log "$log" --key "$dir/audit.key.pub" "$@"; }
# shot HTML PNG: chromium's screenshot of the page; its text on stdout.
shot() {
	rm -f "$2"
	HOME=$dir chromium --headless --no-sandbox --disable-gpu --no-first-run \
		--user-data-dir="$dir/profile" --hide-scrollbars --window-size=1300,2600 \
		--screenshot="$2" "file://$1" >/dev/null 2>&1
	[ -s "$2" ] && tesseract "$2" - 2>/dev/null
}

# --- a verified log -----------------------------------------------------------
report --html --out "$dir/r.html" 2>"$dir/err"
is "audit report --html --out: exit 0" $? 0
is "...the file is the owner's only (it names patients)" "$(stat -c %a "$dir/r.html")" 600
check "...and no temporary file is left beside it" test -z "$(ls "$dir" | grep 'r.html.tmp')"
html=$(cat "$dir/r.html")
like "...one self-contained page: no script, nothing loaded" \
	"$(grep -ciE '<script|src=|href=|@import|url\(' "$dir/r.html")" '^0$'
like "...names written as markup stay text" "$html" 'P&lt;script&gt;alert\(1\)&lt;/script&gt;&amp;&quot;x&apos;y'
like "...another user's patient is not in it" "$(grep -c P000999 "$dir/r.html")" '^0$'
like "...the table counts each patient's files" "$html" 'P000102</td><td>[^<]*</td><td class="n">12</td><td class="n">240000</td>'
like "...the timeline marks the lockout" "$html" '<line [^>]*stroke="#b00020"'
text=$(shot "$dir/r.html" "$dir/r.png")
check "chromium renders it headless" test -s "$dir/r.png"
like "the screenshot reads: the verified banner" "$text" 'Audit log verified'
like "...the account" "$text" 'drthief'
like "...a patient" "$text" 'P000101'
like "...the lockout, with its reason" "$text" 'account locked'
like "...the lockout in the timeline" "$text" 'LOCKOUT'
like "...the totals" "$text" '4 patients, 37 files'
"$pg" audit report --user drthief --log "$log" --key "$dir/audit.key.pub" --html >"$dir/stdout.html"
is "--html without --out writes the page to stdout" $? 0
like "...the same page" "$(grep -c 'Audit log verified' "$dir/stdout.html")" '^[1-9]'

# --- PDF ------------------------------------------------------------------------
report --pdf --out "$dir/r.pdf" 2>"$dir/err"
is "audit report --pdf --out: exit 0" $? 0
is "...a PDF" "$(head -c 5 "$dir/r.pdf")" '%PDF-'
is "...the owner's only" "$(stat -c %a "$dir/r.pdf")" 600
pdf=$(pdftotext "$dir/r.pdf" - 2>/dev/null | tr -s ' \n' '  ')
like "...with the verified banner" "$pdf" 'Audit log verified'
like "...the patients" "$pdf" 'P000103'
like "...and the lockout" "$pdf" 'files 37 over 36'
PATH=/nonexistent "$pg" audit report --user drthief --log "$log" \
	--key "$dir/audit.key.pub" --pdf --out "$dir/none.pdf" 2>"$dir/err"
is "--pdf without chromium: exit 3" $? 3
like "...saying what it needs" "$(cat "$dir/err")" 'needs chromium.*--html'
check "...and writes nothing" test ! -e "$dir/none.pdf"

# --- an altered log -------------------------------------------------------------
cp "$log" "$dir/altered.jsonl"
sed -i '5s/P000102/P000777/' "$dir/altered.jsonl"
"$pg" audit report --user drthief --log "$dir/altered.jsonl" --key "$dir/audit.key.pub" \
	--html --out "$dir/bad.html" 2>/dev/null
is "an altered log: the report exits 1" $? 1
like "...the page says NOT VERIFIED" "$(cat "$dir/bad.html")" 'class="banner bad">NOT VERIFIED'
text=$(shot "$dir/bad.html" "$dir/bad.png")
like "...and so does its screenshot" "$text" 'NOT VERIFIED'
unlike "...which never claims it verified" "$text" 'Audit log verified'
"$pg" audit report --user drthief --log "$log" --html --out "$dir/nokey.html" \
	--key "$dir/missing.pub" 2>/dev/null
is "no public key: exit 1" $? 1
like "...NOT VERIFIED on the page" "$(cat "$dir/nokey.html")" 'NOT VERIFIED: WARNING: the public key'

# --- bad input ------------------------------------------------------------------
report --pdf >/dev/null 2>"$dir/err"
is "--pdf without --out: usage error" $? 2
like "...saying so" "$(cat "$dir/err")" '--pdf needs --out FILE'
report --csv --out "$dir/x.csv" >/dev/null 2>&1
is "--out with --csv: usage error" $? 2
report --html --json >/dev/null 2>&1
is "--html with --json: usage error" $? 2
check "...nothing written" test ! -e "$dir/x.csv"
report --html --out "$dir/no/such/dir/r.html" 2>"$dir/err"
is "--out in a directory that does not exist: exit 3" $? 3
like "...naming it" "$(cat "$dir/err")" 'no/such/dir'
report --html --out "$dir/r.html" >/dev/null 2>&1
is "writing over an earlier report: exit 0" $? 0

done_testing
