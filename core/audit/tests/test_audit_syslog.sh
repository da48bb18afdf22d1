#!/bin/bash
# test_audit_syslog.sh - with audit_syslog every record and every head
# reach the syslog socket whole, as RFC 5424 messages with our structured
# data; a long record is split into parts that make its exact line; a
# torn-tail repair is also said as a plain warning.  Runs in a private
# mount namespace whose /dev holds a stand-in daemon's socket, so the
# writers' default /dev/log is exercised and the host's is never touched.
# (test_audit_forward.sh does the same through real rsyslog.)
# usage: test_audit_syslog.sh AUDIT_WRITER SYSLOG_SINK PHOTOGUARD
. "$PG_SOURCE_ROOT/tests/lib/tap.sh"
writer=$1
sink=$2
pg=$3
dir=$(mktemp -d /tmp/pg-audit-syslog.XXXXXX)
trap 'rm -rf "$dir"' EXIT
log=$dir/audit.log

if ! unshare -m true 2>/dev/null; then
	skip "syslog copy" "unshare -m not permitted here (needs root/CAP_SYS_ADMIN)"
	done_testing
	exit $?
fi
"$pg" audit keygen "$dir/k" >/dev/null || exit 1

# Inside the namespace: a tmpfs /dev with null and the daemon's socket;
# 3 records, a torn tail (its warning and its record), 1 more, 1 long
# record in 2 parts; then a signed log of an odd host name: its head 0,
# 1 record, its checkpoint and that checkpoint's head; then 100 records
# to a daemon that does not read, and the one error that says so.
unshare -m bash -c '
	mount -t tmpfs none /dev && mknod -m 666 /dev/null c 1 3 || exit 9
	"$1" /dev/log 13 3000 "$2/ready" > "$2/got" &
	for i in $(seq 100); do [ -e "$2/ready" ] && break; sleep 0.05; done
	export AUDIT_WRITER_SYSLOG=1
	"$3" "$2/audit.log" - 3 alice "$(printf "a\nb\033[1m")" P1 || exit 8
	printf "{\"seq\":4,\"ti" >> "$2/audit.log"
	"$3" "$2/audit.log" - 1 bob /store/P2/x.jpg P2 || exit 8
	"$3" "$2/audit.log" - 1 carol "/store/P3/$(printf "%02000d" 7).jpg" P3 || exit 8
	AUDIT_WRITER_HOST="a\"b]c" "$3" "$2/signed.log" "$2/k" 1 dave /x P4 || exit 8
	# A daemon that stops reading: its socket fills, the writer gives
	# up on it once (a second) and then waits no more.
	python3 -c "import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1]); open(sys.argv[2], \"w\").close(); time.sleep(60)" \
	    "$2/stuck" "$2/stuck.ready" & stuck=$!
	for i in $(seq 100); do [ -e "$2/stuck.ready" ] && break; sleep 0.05; done
	t0=$(date +%s)
	AUDIT_WRITER_SYSLOG=$2/stuck "$3" "$2/stuck.log" - 100 erin /y P5 || exit 7
	echo $(( $(date +%s) - t0 )) > "$2/stuck.secs"
	kill $stuck
	wait
' ns "$sink" "$dir" "$writer"
rc=$?
is "writers and the stand-in daemon ran" "$rc" 0
got=$(cat "$dir/got" 2>/dev/null)

is "one message per record, part and head, the warning and the error" "$(printf '%s\n' "$got" | grep -c .)" 13
for s in 1 2 3 4 5; do
	like "record $s reached syslog whole" "$got" \
	    "^<86>1 [0-9-]+T[0-9:.]+Z [^ ]+ photoguard [0-9]+ audit \[photoguard@32473 host=\"[^\"]+\" kind=\"record\" seq=\"$s\" part=\"1\" parts=\"1\" hash=\"[0-9a-f]{64}\"\] \{\"seq\":$s,.*\"prev\":\"[0-9a-f]{64}\"\}$"
done
like "the torn tail is also said as a warning" "$got" "^<84>.*photoguard audit: removed 12 bytes of an unfinished record after seq 3"
like "a hostile name arrives escaped" "$got" '"object":"a\\nb\\u001B\[1m"'
if printf '%s' "$got" | grep -q '\\x'; then
	not_ok "no raw newline, escape or other control byte in any message"
else
	ok "no raw newline, escape or other control byte in any message"
fi

parts=$(printf '%s\n' "$got" | grep 'kind="record" seq="6" ')
is "the long record went in 2 messages" "$(printf '%s\n' "$parts" | grep -c .)" 2
like "...numbered part 1 and 2 of 2" "$parts" 'part="1" parts="2".*
.*part="2" parts="2"'
line=$(sed -n 6p "$log")
joined=$(printf '%s\n' "$parts" | sed 's/^.*hash="[0-9a-f]\{64\}"\] //' | tr -d '\n')
check "...that make its exact line" test "$joined" = "$line"
check "...its hash announced in both" test "$(printf '%s\n' "$parts" | grep -c "hash=\"$(printf '%s' "$line" | b2sum -l 256 | cut -d' ' -f1)\"")" = 2
check "...each at most 1900 bytes of payload" \
    test "$(printf '%s\n' "$parts" | sed 's/^.*\] //' | awk 'length > 1900' | wc -l)" = 0

odd=$(printf '%s\n' "$got" | grep 'kind="record" seq="1"' | grep 'a\\"b')
like "an odd host name is escaped in the structured data" "$odd" \
    'audit \[photoguard@32473 host="a\\"b\\]c" kind='
like "...and left out of the header" "$odd" '^<86>1 [^ ]+ - photoguard '
heads=$(printf '%s\n' "$got" | grep 'kind="head"')
is "a signed log sends its heads: seq 0 and its checkpoint's" \
    "$(printf '%s\n' "$heads" | grep -o 'kind="head" seq="[0-9]*"' | tr '\n' ' ')" \
    'kind="head" seq="0" kind="head" seq="2" '
check "...the last one exactly the head file" test \
    "$(printf '%s\n' "$heads" | tail -1 | sed 's/^.*hash="[0-9a-f]\{64\}"\] //')" = "$(cat "$dir/signed.log.head")"
is "the log holds what syslog got" "$(wc -l < "$log")" 6
is "a daemon that stops reading does not stop the writer" "$(wc -l < "$dir/stuck.log" 2>/dev/null)" 100
check "...nor hold it a second per record (took $(cat "$dir/stuck.secs" 2>/dev/null)s for 100)" \
    test "$(cat "$dir/stuck.secs" 2>/dev/null || echo 999)" -le 10
like "...and it is said once, as an error" \
    "$(printf '%s\n' "$got" | grep -c 'could not send seq')$(printf '%s\n' "$got" | grep 'could not send seq')" \
    "^1<83>.*photoguard audit: could not send seq [0-9]+ of stuck.log to .*/stuck: Resource temporarily unavailable; the collector will miss it"
done_testing
