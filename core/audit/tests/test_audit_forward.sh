#!/bin/bash
# test_audit_forward.sh - the audit trail leaves the host through real
# rsyslog: three hosts' writers send to their own rsyslogd (the shipped
# sender snippet), which forward over RELP with TLS to a collector
# rsyslogd on loopback (the shipped collector snippet).  The collector's
# file must verify per host, a record over 4 KiB must arrive whole, every
# kind of tampering with the file must be named, a host that stops must
# be named, and an idle one kept alive by its signed heartbeats.
# usage: test_audit_forward.sh PHOTOGUARD AUDIT_WRITER TAMPER_PY
. "$PG_SOURCE_ROOT/tests/lib/tap.sh"
. "$PG_SOURCE_ROOT/tests/lib/rsyslog.sh"
pg=$1
writer=$2
tamper=$3
dir=$(mktemp -d /tmp/pg-audit-fwd.XXXXXX)
trap 'rsyslog_stop_all; rm -rf "$dir"' EXIT

if ! rsyslog_available || ! command -v openssl >/dev/null; then
	skip "audit trail through rsyslog" "rsyslogd with imrelp/omrelp/gnutls or openssl missing: deploy/deps.sh --test installs them"
	done_testing
	exit $?
fi

hosts="h1.clinic.example h2.clinic.example h3.clinic.example"
check "test certificates made" rsyslog_certs "$dir/certs" collector.example $hosts
port=$(rsyslog_free_port)
check "the collector rsyslogd listens on 127.0.0.1:$port (RELP, TLS)" \
    rsyslog_collector "$dir/coll" "$port" "$dir/certs"
mkdir -p "$dir/keys"
for n in 1 2 3; do
	check "host $n's rsyslogd started" \
	    rsyslog_sender "$dir/s$n" "h$n.clinic.example" "$port" "$dir/certs"
	"$pg" audit keygen "$dir/h$n.key" >/dev/null
	cp "$dir/h$n.key.pub" "$dir/keys/h$n.clinic.example.pub"
done
coll=$dir/coll/audit.log

# write N COUNT OBJECT: COUNT records of host N, through its rsyslogd.
write() {
	AUDIT_WRITER_SYSLOG=$dir/s$1/audit.sock \
	    AUDIT_WRITER_HOST=h$1.clinic.example \
	    "$writer" "$dir/h$1.log" "$dir/h$1.key" "$2" "user$1" "$3" "P$1"
}

# Waits until the collector holds each host's current head.
arrived() {
	local n s i
	for i in $(seq 200); do
		for n in 1 2 3; do
			s=$(grep -o '"seq":[0-9]*' "$dir/h$n.log.head" | cut -d: -f2)
			grep -q "host=\"h$n.clinic.example\" kind=\"head\" seq=\"$s\"" \
			    "$coll" 2>/dev/null || continue 2
		done
		return 0
	done 2>/dev/null
	return 1
}

# Parts 1 and 2 end, parts 2 and 3 start with spaces: rsyslog keeps them.
big="/store/P1/$(printf '%01700d' 7)$(printf '%3000s' '').jpg"
ok=0
write 1 3 /store/P1/a.jpg && write 1 1 "$big" && write 1 2 /store/P1/b.jpg &&
    write 2 6 /store/P2/a.jpg &&
    write 3 9 '/store/P3/two  spaces, "quotes" and ] [x="y"].jpg' && ok=1
is "the three hosts' writers wrote" "$ok" 1
check "every host's latest head reached the collector" arrived

out=$("$pg" audit verify --collector "$coll" --keys "$dir/keys")
rc=$?
is "the collector's copy verifies (exit 0)" "$rc" 0
for n in 1 2 3; do
	like "host $n verifies with its own key" "$out" \
	    "^host h$n.clinic.example: OK: [0-9]+ records"
done
like "...and all of them" "$out" "^OK: every host verifies"

# A rotation on host 2 (the admin's verb, with the host's configuration)
# sends its records too: the collector's copy of the chain has no gap.
cat >"$dir/h2.conf" <<CONF
[audit]
log = $dir/h2.log
key = $dir/h2.key
syslog = yes
syslog_socket = $dir/s2/audit.sock
host = h2.clinic.example
CONF
"$pg" --config "$dir/h2.conf" audit rotate >/dev/null
is "host 2's log rotated with its configuration" "$?" 0
write 2 2 /store/P2/after-rotation.jpg
check "...and its new head reached the collector" arrived
out=$("$pg" audit verify --collector "$coll" --keys "$dir/keys")
is "the collector's copy verifies across the rotation" "$?" 0
like "...host 2's chain, audit.close and audit.rotate included" "$out" \
    "^host h2.clinic.example: OK: [0-9]+ records"
check "...which the collector holds" grep -q 'audit\.rotate' "$coll"

# Host 2 moves to a new key: the collector proves it from the host's
# first key, and the heartbeats below are signed by the new one.
out=$("$pg" --config "$dir/h2.conf" audit rekey)
is "host 2's key changed with its configuration" "$?" 0
newid=$(sed -n 's/.* now signs with key \([0-9a-f]*\)$/\1/p' <<<"$out")
write 2 2 /store/P2/after-rekey.jpg
check "...its new head reached the collector" arrived
out=$("$pg" audit verify --collector "$coll" --keys "$dir/keys")
is "the collector's copy verifies across the key change" "$?" 0
check "...which the collector holds" grep -q "audit\.key.*\"object\":\"$newid\"" "$coll"
check "...and host 2's head is signed by the new key" \
    grep -q "\"key_id\":\"$newid\"" "$dir/h2.log.head"

long=$(awk 'length > 4096' "$dir/h1.log" | wc -l)
is "host 1 wrote one record over 4 KiB" "$long" 1
is "...sent in 3 messages" \
    "$(grep -c 'host="h1.clinic.example" kind="record" seq="[0-9]*" part="[123]" parts="3"' "$coll")" 3
check "...none of them longer than 2.8 KB" \
    test "$(awk 'length > 2800' "$coll" | wc -l)" = 0
check "...and it verified, so it arrived whole (the next record's prev is its hash)" \
    grep -q '^host h1.clinic.example: OK' <<<"$out"

out=$("$pg" audit report --collector "$coll" --keys "$dir/keys" --all-users)
is "audit report --collector: exit 0" "$?" 0
for n in 1 2 3; do
	like "...host $n's table, its user and patient" \
	    "$(sed -n "/^== host h$n.clinic.example ==/,/^Total/p" <<<"$out")" \
	    "verified \(chain and signatures\)(.|$)*"
	like "...with its row" \
	    "$(sed -n "/^== host h$n.clinic.example ==/,/^Total/p" <<<"$out")" \
	    "^user$n +P$n +h$n\.clinic\.example +[0-9]+ "
done
out=$("$pg" audit report --collector "$coll" --keys "$dir/keys" --all-users --csv 2>&1)
is "...--csv with --collector: usage error" "$?" 2

# tampered MODE HOST: verifies a copy with one change; sets $out, $rc.
tampered() {
	python3 "$tamper" "$1" "$2" "$coll" "$dir/t.$1" || return 1
	out=$("$pg" audit verify --collector "$dir/t.$1" --keys "$dir/keys")
	rc=$?
}

tampered edit h2.clinic.example
is "an edited record: exit 1" "$rc" 1
like "...named, on its host" "$out" \
    "problem: record seq [0-9]+: the line from 1 part does not match the hash its messages announce"
like "...that host fails" "$out" "^host h2.clinic.example: FAIL"
like "...the others still verify" "$out" "^host h1.clinic.example: OK"

tampered forge h2.clinic.example
is "an edited record with its hash recomputed: exit 1" "$rc" 1
like "...the chain names it edited" "$out" \
    "^host h2.clinic.example: FAIL: seq [0-9]+: edited"

tampered droppart h1.clinic.example
is "a part removed: exit 1" "$rc" 1
like "...named" "$out" "problem: record seq [0-9]+: part 2 of 3 never arrived"
like "...and the record is missing from the chain" "$out" \
    "^host h1.clinic.example: FAIL: seq [0-9]+: missing"

tampered dropmsg h3.clinic.example
is "a message removed: exit 1" "$rc" 1
like "...the gap in the host's seq is named" "$out" \
    "problem: record [0-9]+ never arrived \(lost between the host and this file\)"
out=$("$pg" audit report --collector "$dir/t.dropmsg" --keys "$dir/keys" --all-users)
is "...audit report --collector on it: exit 1" "$?" 1
like "...naming the gap under its host" \
    "$(sed -n '/^== host h3.clinic.example ==/,/^Total/p' <<<"$out")" \
    "problem: record [0-9]+ never arrived"

tampered reorder h3.clinic.example
is "two messages swapped: exit 1" "$rc" 1
like "...named out of order" "$out" \
    "problem: record seq [0-9]+ arrived after seq [0-9]+ \(out of order"

tampered duppart h1.clinic.example
is "a part twice: exit 1" "$rc" 1
like "...named a duplicate" "$out" \
    "problem: record seq [0-9]+: part 2 of 3 arrived twice"

tampered badpart h1.clinic.example
is "a second, different part: exit 1" "$rc" 1
like "...named as not matching" "$out" \
    "problem: record seq [0-9]+: a second part 2 of 3 that does not match"

tampered badsd h3.clinic.example
is "a malformed message: exit 1" "$rc" 1
like "...named with its line" "$out" \
    "problem: line [0-9]+: a malformed message \(bad part\)"

out=$("$pg" audit verify --collector "$coll" \
    --key h1.clinic.example="$dir/h1.key.pub")
is "a host without a key: exit 1" "$?" 1
like "...it is said that nothing is proven for it" "$out" \
    "no public key for this host"

cp "$dir/h1.key.pub" "$dir/keys/h4.clinic.example.pub"
out=$("$pg" audit verify --collector "$coll" --keys "$dir/keys")
is "a host that never sent: exit 1" "$?" 1
like "...named" "$out" "^host h4.clinic.example: FAIL: no messages at all"
rm "$dir/keys/h4.clinic.example.pub"

# A sender whose certificate another CA signed: the collector refuses it.
rsyslog_certs "$dir/rogue" rogue.clinic.example
cp "$dir/certs/ca.pem" "$dir/rogue/ca.pem"
check "a sender with a certificate of another CA started" \
    rsyslog_sender "$dir/s9" rogue.clinic.example "$port" "$dir/rogue"
"$pg" audit keygen "$dir/h9.key" >/dev/null
AUDIT_WRITER_SYSLOG=$dir/s9/audit.sock AUDIT_WRITER_HOST=rogue.clinic.example \
    "$writer" "$dir/h9.log" "$dir/h9.key" 2 mallory /store/P9/x.jpg P9
sleep 2
is "...none of its messages reached the collector" \
    "$(grep -c 'host="rogue.clinic.example"' "$coll")" 0
check "...because the collector refused its certificate" \
    grep -q "certificate validation failed" "$dir/coll/rsyslogd.log"

# Host 3 stops.  Host 2 stays open and idle, sending a heartbeat every
# second; host 1 writes again 4 seconds later.
sleep 2
AUDIT_WRITER_HEARTBEAT=1 AUDIT_WRITER_LINGER=7 write 2 1 /store/P2/idle.jpg &
idle=$!
sleep 4
write 1 2 /store/P1/c.jpg
sleep 0.5
out=$("$pg" audit verify --collector "$coll" --keys "$dir/keys" --stale 3s)
is "a host silent for longer than --stale: exit 1" "$?" 1
like "...it is named" "$out" "STALE: [0-9]+s behind the newest host"
is "...only that one" "$(grep -c STALE <<<"$out")" 1
like "...and it is host 3" "$(grep -B3 STALE <<<"$out")" \
    "^host h3.clinic.example: OK"
like "the idle host's heartbeat keeps it alive" \
    "$(grep -A1 '^host h2.clinic.example: OK' <<<"$out")" \
    "last signed sign of life [^ ]+ \(heartbeat\)"
tampered beat h2.clinic.example
is "a heartbeat not signed by the host's key: exit 1" "$rc" 1
like "...named" "$out" \
    "problem: its newest heartbeat is not signed by this host's key"
wait "$idle"
is "the idle writer closed cleanly" "$?" 0
check "...and its closing head arrived" arrived
out=$("$pg" audit verify --collector "$coll" --keys "$dir/keys" --stale 1h)
is "within --stale 1h every host passes" "$?" 0

out=$("$pg" audit verify --collector "$coll" --stale 5x 2>&1)
is "a bad --stale: usage error" "$?" 2
out=$("$pg" audit verify --collector "$dir/none" --keys "$dir/keys" 2>&1)
is "a missing collector file: error" "$?" 3
printf 'Dec  4 09:00:00 h9 sshd[1]: hello\n' >"$dir/empty.log"
out=$("$pg" audit verify --collector "$dir/empty.log" --keys "$dir/keys")
is "a file without our messages: exit 1" "$?" 1
like "...said so" "$out" "no photoguard audit messages"
done_testing
