#!/bin/bash
# test_audit_big.sh - a log of several GiB is verified and reported in
# bounded memory: the reader streams it through a window of a few MiB,
# so a clinic's years of records need no more memory than a day's.
# usage: test_audit_big.sh PHOTOGUARD AUDIT_WRITER MIB SANITIZED
# (the sanitized build writes a smaller log and measures no RSS: shadow
# memory makes the figure meaningless, and the run would take long)
. "$PG_SOURCE_ROOT/tests/lib/tap.sh"
pg=$1
writer=$2
mib=$3
sanitized=$4
rss_max=$((64 * 1024)) # KiB
dir=$(mktemp -d /tmp/pg-audit-big.XXXXXX)
trap 'rm -rf "$dir"' EXIT
key=$dir/audit.key
log=$dir/audit.jsonl
export PHOTOGUARD_CONFIG=$dir/none.conf
die() { not_ok "$1"; done_testing; exit 1; }
"$pg" audit keygen "$key" >/dev/null || die "keygen"
avail=$(df -Pk "$dir" | awk 'NR == 2 {print $4}')
[ "$avail" -gt $((mib * 1024 * 2)) ] || die "room for a $mib MiB log in $dir (have $((avail / 1024)) MiB)"
[ "$sanitized" = 1 ] && diag "sanitized build: a $mib MiB log, and RSS is not measured (ASan shadow memory)"

# Records of about 8 KiB (two fields of 3900 bytes), as a gateway's with
# long paths and reasons would be at most; batched like the gateway's.
per=$(AUDIT_WRITER_PAD=3900 "$writer" "$dir/one" - 1 alice /store/P1/a.jpg P1 && wc -c < "$dir/one")
n=$(( mib * 1024 * 1024 / per + 1 ))
AUDIT_WRITER_PAD=3900 AUDIT_WRITER_BATCH=1 "$writer" "$log" "$key" "$n" alice /store/P1/a.jpg P1 ||
	die "writing $n records"
size=$(stat -c %s "$log")
check "the log is $mib MiB or more ($size bytes, $n records)" test "$size" -ge $((mib * 1024 * 1024))

# run NAME CMD...: runs CMD with its peak RSS in $rss (KiB), output in $out
run() {
	local name=$1; shift
	/usr/bin/time -f %M -o "$dir/rss" "$@" >"$dir/out" 2>"$dir/err"
	rc=$?
	rss=$(tail -1 "$dir/rss")
	out=$(cat "$dir/out")
	diag "$name: peak RSS $rss KiB"
}
bounded() {
	[ "$sanitized" = 1 ] && return 0
	check "$1 in bounded memory ($rss KiB, at most $rss_max)" test "$rss" -le "$rss_max"
}

run verify "$pg" audit verify --key "$key.pub" "$log"
is "verify of the $mib MiB log exits 0" "$rc" 0
total=$(printf '%s\n' "$out" | sed -n 's/^OK: \([0-9]*\) records.*/\1/p')
check "...every record verified ($total: $n opens and their checkpoints)" test "${total:-0}" -ge "$n"
bounded "verify"
run report "$pg" audit report --key "$key.pub" --log "$log" --user alice --csv
is "report of the $mib MiB log exits 0" "$rc" 0
is "...counts every open" "$(printf '%s\n' "$out" | sed -n 2p | cut -d, -f4)" "$n"
bounded "report"

# One byte changed half-way: found, and named, without loading the log.
off=$((size / 2))
want=$(( $(head -c "$off" "$log" | wc -l) + 1 )) # seq is the line number
printf 'Z' | dd of="$log" bs=1 seek="$off" conv=notrunc status=none
run "verify, edited" "$pg" audit verify --key "$key.pub" "$log"
is "a byte changed half-way fails verify" "$rc" 1
like "...named as an edit near the middle" "$out" "FAIL: seq [0-9]+: (edited|unparsable)"
bad=$(printf '%s\n' "$out" | sed -n 's/^FAIL: seq \([0-9]*\):.*/\1/p')
is "...at the record that holds the byte" "$bad" "$want"
bounded "verify of the edited log"

done_testing
