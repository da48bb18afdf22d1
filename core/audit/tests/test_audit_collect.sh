#!/bin/bash
# test_audit_collect.sh - `audit verify --collector` on bad input: every
# way a line of a collector's file can be wrong is named (with its line
# number), never passed over; other programs' lines and other SD
# elements are not ours and pass.  The good messages come from a real
# writer through a stand-in syslog socket; the bad ones are made here.
# usage: test_audit_collect.sh PHOTOGUARD AUDIT_WRITER SYSLOG_SINK
. "$PG_SOURCE_ROOT/tests/lib/tap.sh"
pg=$1
writer=$2
sink=$3
dir=$(mktemp -d /tmp/pg-audit-collect.XXXXXX)
trap 'rm -rf "$dir"' EXIT

"$pg" audit keygen "$dir/k" >/dev/null
"$sink" "$dir/sock" 6 3000 "$dir/ready" >"$dir/good" &
for i in $(seq 100); do [ -e "$dir/ready" ] && break; sleep 0.05; done
AUDIT_WRITER_SYSLOG=$dir/sock AUDIT_WRITER_HOST=hx \
    "$writer" "$dir/log" "$dir/k" 3 alice /store/P1/a.jpg P1
wait
is "a writer's 6 messages (2 heads, 4 records) arrived" "$(wc -l <"$dir/good")" 6
out=$("$pg" audit verify --collector "$dir/good" --key hx="$dir/k.pub")
is "they verify" "$?" 0

# A well-formed message of host hx: KIND SEQ PART PARTS PAYLOAD [HASH].
msg() {
	local h=${6:-$(printf '%s' "$5" | b2sum -l 256 | cut -d' ' -f1)}
	printf '<86>1 2026-12-04T09:00:00.000001Z hx photoguard 1 audit [photoguard@32473 host="hx" kind="%s" seq="%s" part="%s" parts="%s" hash="%s"] %s\n' \
	    "$1" "$2" "$3" "$4" "$h" "$5"
}
# bad DESC LINE REGEX: the good file with LINE after it fails, naming REGEX.
bad() {
	{ cat "$dir/good"; printf '%s\n' "$2"; } >"$dir/t"
	out=$("$pg" audit verify --collector "$dir/t" --key hx="$dir/k.pub")
	is "$1: exit 1" "$?" 1
	like "...named" "$out" "$3"
}
H=0000000000000000000000000000000000000000000000000000000000000000
SD='[photoguard@32473 host="hx" kind="record" seq="9" part="1" parts="1" hash="'$H'"]'

bad "a timestamp that does not read" \
    "<86>1 yesterday hx photoguard 1 audit $SD {}" \
    "^file: problem: line 7: bad timestamp"
bad "not RFC 5424 around our element" \
    "Dec  4 09:00:00 hx photoguard: $SD {}" \
    "^file: problem: line 7: "
bad "a parameter missing" \
    '<86>1 2026-12-04T09:00:00Z hx photoguard 1 audit [photoguard@32473 host="hx" kind="record" seq="9" part="1" parts="1"] {}' \
    "problem: line 7: a malformed message \(a parameter is missing\)"
bad "a parameter twice" \
    "$(msg record 9 1 1 '{}' | sed 's/seq="9"/seq="9" seq="9"/')" \
    "problem: line 7: a malformed message \(parameter seq twice\)"
bad "a hash in capitals" "$(msg record 9 1 1 '{}' ABCDEF0000000000000000000000000000000000000000000000000000000000)" \
    "\(bad hash\)"
bad "part past parts" "$(msg record 9 3 2 '{}')" "\(part 3 of 2\)"
bad "more parts than a record can have" "$(msg record 9 1 36 '{}')" "\(bad parts\)"
bad "part 0" "$(msg record 9 0 1 '{}')" "\(bad part\)"
bad "a seq with a leading zero" "$(msg record 09 1 1 '{}')" "\(bad seq\)"
bad "a negative seq" "$(msg record -9 1 1 '{}')" "\(bad seq\)"
bad "an unknown kind" "$(msg trailer 9 1 1 '{}')" "\(bad kind\)"
bad "no payload" "$(msg record 9 1 1 '' | sed 's/ $//')" "\(no payload\)"
bad "a part over 1900 bytes" "$(msg record 9 1 1 "$(printf '%01901d' 0)")" \
    "\(a part of 1901 bytes\)"
bad "two of our elements" \
    "$(msg record 9 1 1 '{}' | sed 's/\] {}$/][photoguard@32473 host="hx"] {}/')" \
    "\(two photoguard@32473 elements\)"
bad "an unterminated value" \
    '<86>1 2026-12-04T09:00:00Z hx photoguard 1 audit [photoguard@32473 host="hx kind="record"' \
    "problem: line 7: (a malformed message \()?bad"
bad "a line longer than 16 KiB" "$(msg record 9 1 1 "$(printf '%020000d' 0)")" \
    "^file: problem: line 7: longer than 16384 bytes, not read"
bad "a record whose line is another seq" \
    "$(msg record 9 1 1 "$(sed -n 1p "$dir/log")")" \
    "problem: record seq 9: the line inside is not that record"
bad "a head that is not one" "$(msg head 9 1 1 '{"seq":9}')" \
    "problem: head seq 9: not a well-formed head for that seq"
bad "a heartbeat that is not one" "$(msg heartbeat 9 1 1 '{"seq":9}')" \
    "problem: heartbeat seq 9: not a well-formed heartbeat"
bad "a part whose line does not match its hash" "$(msg record 9 1 1 '{}' "$H")" \
    "problem: record seq 9: the line from 1 part does not match the hash"
bad "a part 2 without its part 1" "$(msg record 9 2 2 '{}')" \
    "problem: record seq 9: part 1 of 2 never arrived"
bad "a split line whose last part never comes" "$(msg record 9 1 2 '{}')" \
    "problem: record seq 9: part 2 of 2 never arrived \(the file ends before them\)"

# Not ours, or ours beside others': passed.
{
	printf 'Dec  4 09:00:00 hx sshd[1]: hello [photoguard\n'
	printf '<13>1 2026-12-04T09:00:00Z hx app 1 - [x@1 a="]"] text\n'
	sed 's/^\(<86>1 [^ ]* [^ ]* [^ ]* [^ ]* audit \)\[/\1[meta sequenceId="1" note="a \\"] b"][/' "$dir/good"
} >"$dir/t"
out=$("$pg" audit verify --collector "$dir/t" --key hx="$dir/k.pub")
is "other lines, and other SD elements before ours, pass" "$?" 0
sed 's/\(T[0-9:.]*\)Z /\1+02:00 /' "$dir/good" >"$dir/t"
out=$("$pg" audit verify --collector "$dir/t" --key hx="$dir/k.pub")
is "a timestamp with an offset (as rsyslog may rewrite it) passes" "$?" 0
out=$("$pg" audit verify --collector - --key hx="$dir/k.pub" <"$dir/good")
is "the file may come on stdin" "$?" 0
out=$("$pg" audit verify --collector "$dir/good" --key hx 2>&1)
is "--key without HOST=: usage error" "$?" 2
out=$("$pg" audit verify --collector "$dir/good" --key hx=a --key hx=b 2>&1)
is "two keys for one host: usage error" "$?" 2
out=$("$pg" audit verify --collector "$dir/good" --keys "$dir/none" 2>&1)
is "a --keys directory that is not there: error" "$?" 3
out=$("$pg" audit verify --collector "$dir/good" --key hx="$dir/none.pub")
is "a key file that is not there: the host fails" "$?" 1
like "...saying why" "$out" "host hx: FAIL: cannot verify"
done_testing
