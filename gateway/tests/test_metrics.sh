#!/bin/bash
# test_metrics.sh - `photoguard metrics` against a real gateway: the file
# node_exporter's textfile collector reads parses as Prometheus text
# (HELP and TYPE before every sample, labels escaped, no series twice),
# its figures are the audit log's (opens allowed and refused, a nurse's
# usage against her limit, the account a bulk read locked), it is
# replaced whole, mode 0644; with the gateway stopped it says
# photoguard_gateway_up 0 and claims no usage; a user name with a quote
# and a newline stays one label; bad input and an unreadable part are
# errors that say so.
. "$PG_SOURCE_ROOT/gateway/tests/lib.sh"

gw_setup_or_bail
gw_mfa_issue gwnurse
gw_mfa_issue gwbulk
gw_start_or_bail "gateway mounts"
prom=$tmp/out/photoguard.prom

# parse FILE: checks the exposition format; prints "name{labels} value"
# lines with the labels sorted, one per series, for the checks below.
parse() {
	python3 - "$1" <<'PY'
import re, sys
name = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
typed, seen, out = {}, set(), []
lab = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\\\|\\"|\\n)*)"')
for n, line in enumerate(open(sys.argv[1], encoding="utf-8"), 1):
    line = line.rstrip("\n")
    m = re.fullmatch(r"# (HELP|TYPE) (%s) (.+)" % name, line)
    if m:
        if m.group(1) == "TYPE":
            assert m.group(3) in ("gauge", "counter"), (n, line)
            assert m.group(2) not in typed, ("TYPE twice", n, line)
            typed[m.group(2)] = m.group(3)
        continue
    m = re.fullmatch(r"(%s)(\{(.*)\})? (-?[0-9]+(\.[0-9]+)?)" % name, line)
    assert m, ("not a sample", n, line)
    assert m.group(1) in typed, ("no TYPE before", n, line)
    labels = []
    rest = m.group(3) or ""
    while rest:
        l = lab.match(rest)
        assert l, ("bad labels", n, line)
        labels.append((l.group(1), l.group(2)))
        rest = rest[l.end():]
        if rest:
            assert rest[0] == ",", ("bad labels", n, line)
            rest = rest[1:]
    key = m.group(1) + "{" + ",".join("%s=%s" % kv for kv in sorted(labels)) + "}"
    assert key not in seen, ("series twice", n, line)
    seen.add(key)
    out.append("%s %s" % (key, m.group(4)))
print("\n".join(out))
PY
}
# value SERIES: the value of one series of the parsed file ($T_PARSED).
value() { printf '%s\n' "$T_PARSED" | awk -v k="$1" '$1 == k { print $2 }'; }
# audit_opens allow|deny: opens the audit log holds as allowed, or refused
# (gateway.open not allowed, or a limit's refusal).
audit_opens() {
	python3 - "$tmp/audit/audit.jsonl" "$1" <<'PY'
import json, sys
n = 0
for l in open(sys.argv[1]):
    r = json.loads(l)
    ok = r["event"] == "gateway.open" and r["decision"] == "allow"
    no = (r["event"] == "gateway.open" and r["decision"] != "allow") or \
         (r["event"] == "gateway.limit" and r["decision"] == "deny")
    n += ok if sys.argv[2] == "allow" else no
print(n)
PY
}

# --- a nurse over her limit, a bulk reader locked out --------------------
mapfile -t nurse_files < <(cd "$s" && find patients/P000001 patients/P000002 -type f -name 'IMG_*' | sort | head -25)
for f in "${nurse_files[@]}"; do as gwnurse cat "$m/$f" >/dev/null 2>&1; done
mapfile -t bulk_files < <(cd "$s" && find patients -type f -name 'IMG_*' | sort | head -16)
for f in "${bulk_files[@]}"; do as gwbulk cat "$m/$f" >/dev/null 2>&1; sleep 0.1; done
check "the bulk reader was locked out (lockout bulk files 12/10min)" \
	test "$(audit_count lockout.lock deny gwbulk)" -ge 1

t0=$(date +%s)
"$PG_CLI" metrics --textfile "$prom" 2>"$tmp/out/err"
is "photoguard metrics --textfile: exit 0" $? 0
t1=$(date +%s)
is "...mode 0644, for node_exporter" "$(stat -c %a "$prom")" 644
check "...no temporary file left beside it" test -z "$(ls "$tmp/out" | grep 'photoguard.prom.tmp')"
T_PARSED=$(parse "$prom" 2>"$tmp/out/parse.err")
is "...it parses as Prometheus text (HELP, TYPE, escaped labels, no series twice)" "$?" 0
sed 's/^/# /' "$tmp/out/parse.err" | head -5
is "the gateway is up" "$(value 'photoguard_gateway_up{}')" 1
is "opens allowed: the audit log's" "$(value 'photoguard_opens_total{decision=allow}')" "$(audit_opens allow)"
is "opens refused: the audit log's" "$(value 'photoguard_opens_total{decision=deny}')" "$(audit_opens deny)"
check "...some of each ($(audit_opens allow) and $(audit_opens deny))" \
	test "$(audit_opens allow)" -ge 1 -a "$(audit_opens deny)" -ge 1
is "the nurse's usage of her file limit: her allowed opens" \
	"$(value 'photoguard_user_usage{kind=limit,metric=files,user=gwnurse,window_seconds=600}')" \
	"$(audit_count gateway.open allow gwnurse)"
is "...against the limit of her role (20)" \
	"$(value 'photoguard_user_limit{kind=limit,metric=files,user=gwnurse,window_seconds=600}')" 20
is "...and the lockout threshold (40)" \
	"$(value 'photoguard_user_limit{kind=lockout,metric=files,user=gwnurse,window_seconds=600}')" 40
is "the bulk reader is locked" "$(value 'photoguard_user_locked{user=gwbulk}')" 1
is "...the nurse is not" "$(value 'photoguard_user_locked{user=gwnurse}')" 0
is "one account in the lockout store" "$(value 'photoguard_lockouts{}')" 1
last=$(tail -1 "$tmp/audit/audit.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["seq"])')
check "the audit log's last seq ($(value 'photoguard_audit_last_seq{}') of $last)" \
	test "$(value 'photoguard_audit_last_seq{}')" -le "$last" -a "$(value 'photoguard_audit_last_seq{}')" -ge $((last - 5))
check "...its signature lag, seconds (checkpoints about every second): $(value 'photoguard_audit_lag_seconds{}')" \
	test "$(value 'photoguard_audit_lag_seconds{}')" -le 5
is "every part was read" "$(value 'photoguard_metrics_errors{}')" 0
taken=$(value 'photoguard_metrics_last_run_timestamp_seconds{}')
check "...taken during the run ($t0 <= $taken <= $t1)" \
	test "${taken:-0}" -ge "$t0" -a "${taken:-0}" -le "$t1"
"$PG_CLI" metrics >"$tmp/out/stdout.prom"
is "without --textfile: the same figures on stdout" "$(grep -c '^photoguard_gateway_up 1$' "$tmp/out/stdout.prom")" 1

# --- bad input, a part unreadable ---------------------------------------------
"$PG_CLI" metrics extra >/dev/null 2>&1
is "an operand: usage error" $? 2
"$PG_CLI" metrics --textfile "$tmp/no/such/dir/x.prom" 2>"$tmp/out/err"
is "--textfile in a directory that does not exist: exit 3" $? 3
like "...naming it" "$(cat "$tmp/out/err")" 'no/such/dir'
# The new file cannot be written (its temporary name is taken): the old
# one, ours, goes (an earlier run's "up 1" must not stand for now); a
# file that is not ours stays as it was.
sh -c ': >"$1.tmp.$$"; exec "$2" metrics --textfile "$1"' sh "$prom" "$PG_CLI" 2>"$tmp/out/err"
is "the textfile cannot be replaced: exit 3" $? 3
check "...the old figures removed, not left standing" test ! -e "$prom"
printf 'keep me\n' >"$tmp/out/notours.txt"
sh -c ': >"$1.tmp.$$"; exec "$2" metrics --textfile "$1"' sh "$tmp/out/notours.txt" "$PG_CLI" 2>/dev/null
is "...a --textfile that is not ours: exit 3" $? 3
is "...and the file kept as it was" "$(cat "$tmp/out/notours.txt")" "keep me"
rm -f "$tmp"/out/*.tmp.*
sed "s|^dir = $tmp/lockout\$|dir = $tmp/no-lockouts|" "$tmp/etc/pg.conf" >"$tmp/etc/nolock.conf"
"$PG_CLI" --config "$tmp/etc/nolock.conf" metrics --textfile "$prom" 2>"$tmp/out/err"
is "the lockout store unreadable: exit 1" $? 1
like "...saying so" "$(cat "$tmp/out/err")" 'could not be read'
T_PARSED=$(parse "$prom")
is "...the file written anyway, counting the error" "$(value 'photoguard_metrics_errors{}')" 1
is "...with no lockout figure it cannot vouch for" "$(value 'photoguard_lockouts{}')" ""

# --- the gateway stopped ------------------------------------------------------
gw_stop
"$PG_CLI" metrics --textfile "$prom" 2>"$tmp/out/err"
is "the gateway stopped: photoguard metrics still exits 0" $? 0
T_PARSED=$(parse "$prom")
is "...photoguard_gateway_up 0" "$(value 'photoguard_gateway_up{}')" 0
is "...and no usage claimed" "$(printf '%s\n' "$T_PARSED" | grep -c '^photoguard_user_')" 0
is "...the lockout store still read" "$(value 'photoguard_lockouts{}')" 1

# A gateway answering with a user name holding a quote, a backslash and a
# newline (names come from the directory): one label, escaped.
python3 - "$tmp/gateway.sock" <<'PY' &
import json, os, socket, sys
path = sys.argv[1]
if os.path.exists(path):
    os.unlink(path)
s = socket.socket(socket.AF_UNIX)
s.bind(path)
os.chmod(path, 0o666)
s.listen(1)
s.settimeout(30)
open(path + ".ready", "w").close()
c, _ = s.accept()
c.recv(1024)
st = {"users": [{"user": 'a"b\\c\nd', "uid": 1, "open": 0, "locked": True,
                 "limits": [{"kind": 'li"m\\it', "metric": "files\n", "max": 5,
                             "window_seconds": 60, "used": 2, "rule": "x:1"}]}],
      "counters": {"opens_allowed": 7, "opens_denied": 3, "started": 1}}
c.sendall(b"ok\n" + json.dumps(st).encode() + b"\n")
c.close()
PY
fake=$!
for i in $(seq 100); do [ -e "$tmp/gateway.sock.ready" ] && break; sleep 0.05; done
"$PG_CLI" metrics --textfile "$prom" 2>/dev/null
wait "$fake"
T_PARSED=$(parse "$prom" 2>"$tmp/out/parse.err")
is "a name with a quote, a backslash and a newline: the file still parses" $? 0
like "...one label, escaped" "$(cat "$prom")" 'photoguard_user_locked\{user="a\\"b\\\\c\\nd"\} 1'
like "...the limit's kind and metric escaped too" "$(cat "$prom")" 'kind="li\\"m\\\\it",metric="files\\n"'
rm -f "$tmp/gateway.sock" "$tmp/gateway.sock.ready"

if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$tmp/gateway.log" 2>/dev/null; then
	not_ok "no sanitizer report from the gateway"
else
	ok "no sanitizer report from the gateway"
fi
done_testing
