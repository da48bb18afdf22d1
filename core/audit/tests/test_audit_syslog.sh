#!/bin/bash
# test_audit_syslog.sh - with audit_syslog every record, and a torn-tail
# repair, reach syslog as one escaped line.  Runs in a private mount
# namespace whose /dev holds the stand-in daemon's socket, so the host's
# /dev/log is never touched.
# usage: test_audit_syslog.sh AUDIT_WRITER SYSLOG_SINK
. "$PG_SOURCE_ROOT/tests/lib/tap.sh"
writer=$1
sink=$2
dir=$(mktemp -d /tmp/pg-audit-syslog.XXXXXX)
trap 'rm -rf "$dir"' EXIT
log=$dir/audit.log

if ! unshare -m true 2>/dev/null; then
	skip "syslog copy" "unshare -m not permitted here (needs root/CAP_SYS_ADMIN)"
	done_testing
	exit $?
fi

# Inside the namespace: a tmpfs /dev with null and the daemon's socket;
# 4 records, a checkpoint, a torn-tail warning and its record, 1 more.
unshare -m bash -c '
	mount -t tmpfs none /dev && mknod -m 666 /dev/null c 1 3 || exit 9
	"$1" /dev/log 7 3000 "$2/ready" > "$2/got" &
	for i in $(seq 100); do [ -e "$2/ready" ] && break; sleep 0.05; done
	AUDIT_WRITER_SYSLOG=1 "$3" "$2/audit.log" - 3 alice "$(printf "a\nb\033[1m")" P1 || exit 8
	printf "{\"seq\":4,\"ti" >> "$2/audit.log"
	AUDIT_WRITER_SYSLOG=1 "$3" "$2/audit.log" - 1 bob /store/P2/x.jpg P2 || exit 8
	AUDIT_WRITER_SYSLOG=1 "$3" "$2/audit.log" - 1 carol "/store/P3/$(printf "%02000d" 7).jpg" P3 || exit 8
	wait
' ns "$sink" "$dir" "$writer"
rc=$?
is "writers and the stand-in daemon ran" "$rc" 0
got=$(cat "$dir/got" 2>/dev/null)

is "one message per record and one for the repair" "$(printf '%s\n' "$got" | grep -c .)" 7
for s in 1 2 3 4 5; do
	like "record $s reached syslog" "$got" "photoguard audit: \{\"seq\":$s,"
done
like "the torn tail is reported as a warning" "$got" "^<84>.*photoguard audit: removed 12 bytes of an unfinished record after seq 3"
like "a hostile name arrives escaped" "$got" '"object":"a\\nb\\u001B\[1m"'
if printf '%s' "$got" | grep -q '\\x0a\|\\x1b'; then
	not_ok "no raw newline or escape byte in any message"
else
	ok "no raw newline or escape byte in any message"
fi
long=$(printf '%s\n' "$got" | grep '"actor":"carol"')
check "a record longer than a syslog line still arrives" test -n "$long"
check "...in one message of at most 1024 bytes" test "${#long}" -le 1100
like "...with its decision, patient and chain hash" "$long" '"decision":.*"patient":"P3".*"prev":"[0-9a-f]{64}"'
like "...and its object cut short" "$long" '"object":"/store/P3/0+\.\.\."'
is "the log holds what syslog got" "$(wc -l < "$log")" 6
done_testing
