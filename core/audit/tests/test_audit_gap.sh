#!/bin/bash
# test_audit_gap.sh - a signed log whose head is missing or does not match
# it: writers refuse to append (so the cut cannot be covered by a fresh
# head), verify fails, and only `audit repair --reason` resumes the log,
# recording the gap in a signed record that verify then reports.
# usage: test_audit_gap.sh PHOTOGUARD AUDIT_WRITER SYSLOG_SINK
. "$PG_SOURCE_ROOT/tests/lib/tap.sh"
pg=$1
writer=$2
sink=$3
dir=$(mktemp -d /tmp/pg-audit-gap.XXXXXX)
trap 'rm -rf "$dir"' EXIT
chmod 755 "$dir"
key=$dir/audit.key
export PHOTOGUARD_CONFIG=$dir/none.conf
die() { not_ok "$1"; done_testing; exit 1; }
"$pg" audit keygen "$key" >/dev/null || die "keygen"

verify() { "$pg" audit verify --key "$key.pub" "$1"; }
verify_quiet() { verify "$@" >/dev/null 2>&1; }
# fresh NAME COUNT: a log of COUNT records (plus checkpoints) in $dir/NAME
fresh() {
	"$writer" "$dir/$1" "$key" "$2" alice /store/P1/a.jpg P1 ||
		die "writer on a fresh log"
}

# --- the attack: cut the log, delete its head, write on ----------------
fresh cut.log 20
log=$dir/cut.log
lines=$(wc -l < "$log")
head -n 15 "$log" > "$dir/tmp" && cat "$dir/tmp" > "$log"
rm -f "$log.head"
out=$("$writer" "$log" "$key" 1 mallory /store/P9/x.jpg P9 2>&1); rc=$?
is "a writer refuses a signed log whose head is missing" "$rc" 1
like "...and says the log is corrupt" "$out" "corrupt"
is "...the log keeps its 15 lines" "$(wc -l < "$log")" 15
check "...and no head was made up" test ! -e "$log.head"
out=$(verify "$log"); rc=$?
is "verify fails on the cut log without a head" "$rc" 1
like "...naming the missing head" "$out" "^FAIL: seq 16: no head: no head file"

# The refusal is a LOG_ALERT (authpriv.alert: <81>), received by a
# stand-in daemon in a private /dev so the host's /dev/log is untouched.
if unshare -m true 2>/dev/null; then
	unshare -m bash -c '
		mount -t tmpfs none /dev && mknod -m 666 /dev/null c 1 3 || exit 9
		"$1" /dev/log 1 3000 "$2/ready" > "$2/got" &
		for i in $(seq 100); do [ -e "$2/ready" ] && break; sleep 0.05; done
		"$3" "$2/cut.log" "$4" 1 mallory /x P9 2>/dev/null
		wait
	' ns "$sink" "$dir" "$writer" "$key"
	like "the refusal is logged as an alert with its reason" "$(cat "$dir/got")" \
		"^<81>.*photoguard audit: refusing to write to cut.log: head file missing; log ends at seq 15"
else
	skip "refusal alert" "unshare -m not permitted here (needs root/CAP_SYS_ADMIN)"
fi

# --- repair: bad input first -------------------------------------------
out=$("$pg" audit repair --log "$log" --key "$key" 2>&1); rc=$?
is "repair without --reason is a usage error" "$rc" 2
like "...that asks for the reason" "$out" "--reason"
is "...and adds nothing" "$(wc -l < "$log")" 15
out=$("$pg" audit repair --log "$log" --key "$key" --reason "" 2>&1); rc=$?
is "repair with an empty reason is a usage error" "$rc" 2
if command -v setpriv >/dev/null; then
	out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$pg" audit repair --log "$log" --key "$key" --reason x 2>&1); rc=$?
	is "repair by a non-root user is refused" "$rc" 1
	like "...as root only" "$out" "root"
	is "...and adds nothing" "$(wc -l < "$log")" 15
else
	skip "non-root repair" "setpriv is not installed"
fi

out=$(SUDO_USER=admin1 "$pg" audit repair --log "$log" --key "$key" \
	--reason "ticket 42: disk restored from backup" 2>&1); rc=$?
is "repair of the cut log exits 0" "$rc" 0
like "...and says what it recorded" "$out" "recorded the gap in .*cut.log: head file missing; log ends at seq 15"
is "...adding the repair record and a checkpoint" "$(wc -l < "$log")" 17
rec=$(sed -n 16p "$log")
like "the repair record is seq 16, event audit.repair, by the admin" "$rec" \
	'^\{"seq":16,.*"actor":"admin1","event":"audit.repair"'
like "...naming what was missing" "$rec" '"object":"head file missing; log ends at seq 15'
like "...with the admin's reason" "$rec" '"reason":"ticket 42: disk restored from backup"'
like "...and signed by the checkpoint after it" "$(sed -n 17p "$log")" '"seq":17,.*"event":"audit.checkpoint"'
check "a fresh head was written" test -s "$log.head"
out=$(verify "$log"); rc=$?
is "verify passes after the repair" "$rc" 0
like "...and reports the recorded gap" "$out" "1 repaired gap, at seq 16: head file missing; log ends at seq 15"
check "writers append again after the repair" \
	"$writer" "$log" "$key" 3 alice /store/P1/a.jpg P1
check "...and verify still passes" verify_quiet "$log"
out=$("$pg" audit repair --log "$log" --key "$key" --reason again 2>&1); rc=$?
is "repair of a healthy log is refused" "$rc" 1
like "...saying there is nothing to repair" "$out" "nothing to repair"
n=$(wc -l < "$log")

# --- a head beyond the end: the log was cut, the head kept ------------
fresh trunc.log 20
log=$dir/trunc.log
hs=$(grep -o '"seq":[0-9]*' "$log.head" | cut -d: -f2)
head -n 10 "$log" > "$dir/tmp" && cat "$dir/tmp" > "$log"
"$writer" "$log" "$key" 1 mallory /x P9 2>/dev/null
is "a writer refuses a log shorter than its head" "$?" 1
out=$(verify "$log"); rc=$?
is "verify fails on it" "$rc" 1
like "...as truncated" "$out" "truncated: log ends at seq 10 but its signed head is at seq $hs"
out=$("$pg" audit repair --log "$log" --key "$key" --reason "cut by test" 2>&1)
is "repair of the truncated log exits 0" "$?" 0
like "...recording the records known lost" "$(sed -n 11p "$log")" \
	"\"object\":\"head names seq $hs; log ends at seq 10: seq 11 to $hs lost"
out=$(verify "$log"); rc=$?
is "verify passes after that repair" "$rc" 0
like "...and reports the gap" "$out" "1 repaired gap, at seq 11: head names seq $hs"

# --- a head that does not match the log -------------------------------
fresh a.log 6
fresh b.log 10
cp "$dir/a.log.head" "$dir/b.log.head"
"$writer" "$dir/b.log" "$key" 1 mallory /x P9 2>/dev/null
is "a writer refuses a head taken from another log" "$?" 1
verify_quiet "$dir/b.log"
is "verify fails on it" "$?" 1
"$pg" audit repair --log "$dir/b.log" --key "$key" \
	--reason "head replaced by test" >/dev/null
is "repair records the mismatch" "$?" 0
like "...as a head naming another record" "$(grep audit.repair "$dir/b.log")" \
	'"object":"head names seq [0-9]+ with a hash the log'"'"'s seq [0-9]+ does not have'

fresh sig.log 6
# One hex digit of the signature changed (f -> 0, anything else -> f).
sed -i 's/"sig":"f/"sig":"X/; s/"sig":"[0-9a-e]/"sig":"f/; s/"sig":"X/"sig":"0/' \
	"$dir/sig.log.head"
like "verify sees the edited head signature" "$(verify "$dir/sig.log")" \
	"head file signature does not verify"
"$writer" "$dir/sig.log" "$key" 1 mallory /x P9 2>/dev/null
is "a writer refuses a head whose signature does not verify" "$?" 1

# --- repair on a log with no records ----------------------------------
: > "$dir/empty.log"
out=$("$pg" audit repair --log "$dir/empty.log" --key "$key" --reason x 2>&1); rc=$?
is "repair of an empty log is refused" "$rc" 1
like "...saying it has no records" "$out" "no records"
is "...and writes nothing" "$(stat -c %s "$dir/empty.log")" 0
: > "$dir/emptied.log"
cp "$dir/a.log.head" "$dir/emptied.log.head"
hs=$(grep -o '"seq":[0-9]*' "$dir/emptied.log.head" | cut -d: -f2)
"$writer" "$dir/emptied.log" "$key" 1 mallory /x P9 2>/dev/null
is "a writer refuses an emptied log whose head names records" "$?" 1
"$pg" audit repair --log "$dir/emptied.log" --key "$key" --reason "emptied" >/dev/null
is "repair records that all of them were lost" "$?" 0
like "...as the first record" "$(head -1 "$dir/emptied.log")" \
	"^\{\"seq\":1,.*\"object\":\"head names seq $hs; log ends at seq 0: seq 1 to $hs lost"
check "...and verify passes with the gap" verify_quiet "$dir/emptied.log"
out=$("$pg" audit repair --log "$dir/none.log" --key "$key" --reason x 2>&1); rc=$?
is "repair of a missing log is refused" "$rc" 1
check "...and does not create it" test ! -e "$dir/none.log"
done_testing
