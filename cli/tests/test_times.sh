#!/bin/bash
# test_times.sh - the times the verbs take (--since, --until): named days,
# relative times, @EPOCH, local times in TZ, UTC with Z or an offset, each
# checked by the records `audit query` selects from a log whose records
# carry known times; --local prints them back in TZ; every kind of bad
# input is a usage error naming the option and the value, in each verb.
# usage: test_times.sh PHOTOGUARD RECORD_WRITER
. "$PG_SOURCE_ROOT/tests/lib/tap.sh"
pg=$1
writer=$2
dir=$(mktemp -d /tmp/pg-times.XXXXXX)
trap 'rm -rf "$dir"' EXIT
log=$dir/audit.jsonl
export PHOTOGUARD_CONFIG=$dir/none.conf
# Central European time with its DST rule, spelled out so that no zone
# file is needed: UTC+1 in December.
export TZ=CET-1CEST,M3.5.0,M10.5.0/3
die() { not_ok "$1"; done_testing; exit 1; }

# mklog TIME...: a log of one record per TIME, actors a1, a2, ...
mklog() {
	local i
	rm -f "$log" "$log".*
	for i in $(seq $#); do
		printf 'actor=a%s\tevent=gateway.open\tdecision=allow\tpatient=P%s\n' "$i" "$i"
	done | "$writer" "$log" - || die "record_writer"
	i=0
	for t in "$@"; do
		i=$((i + 1))
		sed -i "s/\"time\":\"[^\"]*\"\(.*\"actor\":\"a$i\"\)/\"time\":\"$t\"\1/" "$log"
	done
}
# actors OPTION...: the actors of the records audit query selects
actors() {
	"$pg" audit query --log "$log" --json "$@" |
		sed 's/.*"actor":"\([^"]*\)".*/\1/' | tr '\n' ' ' | sed 's/ $//'
}

# --- calendar times -----------------------------------------------------
mklog 2026-12-03T12:59:59.999999Z 2026-12-03T13:00:00.000000Z \
	2026-12-03T13:00:59.500000Z 2026-12-03T22:59:59.000000Z \
	2026-12-03T23:00:00.000000Z
is "local minute: 14:00 in TZ is 13:00Z, --until covers its 59 s" \
	"$(actors --since '2026-12-03 14:00' --until '2026-12-03 14:00')" "a2 a3"
is "local time with T and seconds" \
	"$(actors --since 2026-12-03T14:00:05 --until 2026-12-03T23:59:59)" "a3 a4"
is "local date: the whole local day at --until, midnight at --since" \
	"$(actors --until 2026-12-03)" "a1 a2 a3 a4"
is "...and the next local day starts at 23:00Z" \
	"$(actors --since 2026-12-04)" "a5"
is "UTC with Z, as before: inclusive to the minute" \
	"$(actors --since 2026-12-03T13:00Z --until 2026-12-03T13:00Z)" "a2 a3"
is "UTC date with Z: the whole UTC day" \
	"$(actors --since 2026-12-03Z --until 2026-12-03Z)" "a1 a2 a3 a4 a5"
is "an explicit offset: +01:00" \
	"$(actors --since '2026-12-03 14:00:00+01:00' --until '2026-12-03T14:00:00+01:00')" "a2"
is "an offset without a colon: -0500" \
	"$(actors --since 2026-12-03T08:00:59-0500)" "a3 a4 a5"
is "a fraction" "$(actors --since 2026-12-03T13:00:59.5Z --until 2026-12-03T22:59:59Z)" "a3 a4"
is "@EPOCH (2026-12-03T13:00:00Z)" "$(actors --since @1796302800 --until @1796302800)" "a2"
# In July, the same rule gives UTC+2.
mklog 2026-07-01T11:59:00.000000Z 2026-07-01T12:00:00.000000Z
is "local time in summer: 14:00 CEST is 12:00Z" "$(actors --since '2026-07-01 14:00')" "a2"

# --- times relative to now ------------------------------------------------
now=$(date +%s)
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%S.000000Z; }
mklog "$(iso $((now - 8 * 86400)))" "$(iso $((now - 3 * 86400)))" \
	"$(iso $((now - 7200)))" "$(iso $((now - 1200)))" "$(iso $((now - 30)))" \
	"$(iso $((now + 7200)))"
is "-90s" "$(actors --since -90s --until now)" "a5"
is "-1h" "$(actors --since -1h --until now)" "a4 a5"
is "-30m" "$(actors --since -30m --until -60s)" "a4"
is "-2d" "$(actors --since -2d --until -1h)" "a3"
is "-1w" "$(actors --since -1w --until -2d)" "a2"
is "+1h: ahead of now" "$(actors --since +1h)" "a6"
midnight=$(date -d 'today 00:00' +%s)
mklog "$(iso $((midnight - 86401)))" "$(iso $((midnight - 3600)))" \
	"$(iso $((midnight + 1)))"
is "today: since local midnight" "$(actors --since today)" "a3"
is "yesterday to today: the local day before" \
	"$(actors --since yesterday --until today)" "a2"

# --- --local ----------------------------------------------------------------
mklog 2026-12-03T13:00:05.123456Z 2026-07-01T12:00:00.000000Z
out=$("$pg" audit query --log "$log" --local)
like "--local: the table's header says so" "$out" "^TIME \(local\) "
like "--local: December in TZ, with its offset and the fraction" "$out" "2026-12-03T14:00:05.123456\+01:00 +1 a1"
like "--local: July in TZ, summer time" "$out" "2026-07-01T14:00:00.000000\+02:00 +2 a2"
out=$("$pg" audit query --log "$log")
like "the default stays UTC" "$out" "2026-12-03T13:00:05.123456Z +1 a1"
# The report's table too: its range and each row's first and last access
# (the log is edited, so it does not verify: exit 1, table all the same).
out=$("$pg" audit report --all-users --local --log "$log" --key "$dir/none.pub" \
	--since 2026-12-03 --until 2026-12-03T13:00:05.123456Z 2>/dev/null)
like "report --local: the range in TZ" "$out" \
	"from 2026-12-03T00:00:00\+01:00 to 2026-12-03T14:00:05.123456\+01:00"
like "report --local: first and last access in TZ" "$out" \
	"a1 +P1 .* 2026-12-03T14:00:05.123456\+01:00  2026-12-03T14:00:05.123456\+01:00"
out=$("$pg" audit report --all-users --log "$log" --key "$dir/none.pub" --since 2026-12-03 2>/dev/null)
like "report: the default stays UTC, the local date converted" "$out" \
	"from 2026-12-02T23:00:00Z to its end"
"$pg" audit report --all-users --local --csv --log "$log" >/dev/null 2>&1
is "report --local with --csv is a usage error" "$?" 2
out=$("$pg" audit query --log "$log" --json --local 2>&1); rc=$?
is "--json with --local is a usage error" "$rc" 2
like "...saying JSON stays UTC" "$out" "json stays UTC"

# --- bad input: each verb, each kind ---------------------------------------
bad() {
	local verb=$1 opt=$2 val=$3 want=$4 err rc
	shift 4
	err=$("$pg" audit "$verb" "$@" "$opt" "$val" 2>&1 >/dev/null); rc=$?
	is "audit $verb $opt '$val' is a usage error" "$rc" 2
	like "...naming the option, the value and why" "$err" \
		"audit $verb: bad time for $opt: '$(printf '%s' "$val" | sed 's/[][\\.*^$+?(){}|]/\\&/g')': $want"
}
bad query --since -5x "unknown unit" --log "$log"
bad query --until 2026-13-01 "no such date" --log "$log"
bad query --since 2026-02-29 "no such date" --log "$log"
bad query --since "2026-12-03 24:00" "no such date" --log "$log"
bad query --since tomorrowish "not a time; give now, today" --log "$log"
bad query --since "" "empty" --log "$log"
bad query --since @99999999999999 "out of range" --log "$log"
bad query --since -99999999999999999w "out of range" --log "$log"
bad query --until -1000000000w "out of range" --log "$log"
bad query --since 2026-12-03T14:00+25:00 "not a time" --log "$log"
bad query --since 2026-1-01 "not a time" --log "$log"
bad export --since -5x "unknown unit" --format atna --log "$log" --key "$dir/none.pub"
bad export --until yesterdayish "not a time" --format atna --log "$log" --key "$dir/none.pub"
bad report --since 2026-13-01 "no such date" --all-users --log "$log" --key "$dir/none.pub"
bad report --until @x "give @ and seconds" --all-users --log "$log" --key "$dir/none.pub"

# Every verb's usage says what T may be.
for v in query export report; do
	like "audit $v --help documents relative and local times" \
		"$("$pg" audit "$v" --help)" "-2d, -1w \(ago\), @EPOCH; a local time in TZ"
done

done_testing
