#!/bin/bash
# test_audit_cli.sh - `photoguard audit keygen|verify|query` end to end on
# real files written by a real writer process.
# usage: test_audit_cli.sh PHOTOGUARD AUDIT_WRITER
. "$PG_SOURCE_ROOT/tests/lib/tap.sh"
pg=$1
pga() { "$pg" audit "$@"; }
writer=$2
dir=$(mktemp -d /tmp/pg-audit-cli.XXXXXX)
trap 'rm -rf "$dir"' EXIT
log=$dir/audit.log
key=$dir/audit.key
export PHOTOGUARD_CONFIG=$dir/none.conf

out=$(pga keygen "$key"); rc=$?
is "keygen exits 0" "$rc" 0
like "keygen says what it wrote" "$out" "wrote .*audit.key \(secret\)"
is "secret key is 0600" "$(stat -c %a "$key")" 600
is "public key is 0644" "$(stat -c %a "$key.pub")" 644
is "public key is 64 hex digits" "$(tr -d '\n' < "$key.pub" | grep -Ec '^[0-9a-f]{64}$')" 1
pga keygen "$key" 2>/dev/null; is "keygen refuses to replace a key" "$?" 3

check "writer appends 5 records as alice" "$writer" "$log" "$key" 5 alice /store/P1/a.jpg P1
check "writer appends 3 records as bob" "$writer" "$log" "$key" 3 bob /store/P2/b.jpg P2
esc=$(printf 'evil\033[2J\nname')
check "writer appends a hostile name" "$writer" "$log" "$key" 1 mallory "$esc" P3

check "writer appends 2 records as a Windows-style account" "$writer" "$log" "$key" 2 'CLINIC\alice' /store/P4/c.jpg P4
out=$(pga query --log "$log" --user 'CLINIC\alice' --json)
is "query finds a name the writer had to escape" "$(printf '%s\n' "$out" | grep -c .)" 2

out=$(pga verify --key "$key.pub" --log "$log"); rc=$?
is "verify of an intact log exits 0" "$rc" 0
like "verify prints the summary" "$out" "^OK: [0-9]+ records, [0-9]+ checkpoints, last seq [0-9]+"
total=$(wc -l < "$log")
like "verify counts every line" "$out" "^OK: $total records"

out=$(pga verify --json --key "$key.pub" "$log"); rc=$?
is "verify --json exits 0" "$rc" 0
like "verify --json is one JSON verdict" "$out" '^\{"ok":true,"records":'"$total"','

out=$(pga verify --log "$log"); rc=$?
like "verify without a key warns that signatures were not checked" "$out" "WARNING: no public key"
is "...and does not pass (exit 1)" "$rc" 1

out=$(pga query --log "$log" --user alice --json)
is "query --user --json gives alice's 5 records" "$(printf '%s\n' "$out" | grep -c '"actor":"alice"')" 5
is "query --json lines are the log's own lines" "$(printf '%s\n' "$out" | head -1)" "$(head -1 "$log")"
out=$(pga query --log "$log" --patient P2)
is "query --patient table has a header and bob's 3 rows" "$(printf '%s\n' "$out" | wc -l)" 4
like "table rows name the event and decision" "$(printf '%s\n' "$out" | sed -n 2p)" "bob +gateway\.open +allow +P2 : /store/P2/b\.jpg"
out=$(pga query --log "$log" --user mallory)
like "table shows a hostile name escaped" "$out" 'evil\\x1b\[2J\\x0aname'
if printf '%s' "$out" | grep -q "$(printf '\033')"; then
	not_ok "no raw escape character reaches the terminal"
else
	ok "no raw escape character reaches the terminal"
fi
out=$(pga query --log "$log" --event audit. --json | grep -c audit.checkpoint)
like "query --event prefix finds checkpoints" "$out" "^[1-9]"
out=$(pga query --log "$log" --since 2000-01-01 --until 2000-12-31 --json)
is "query time range outside the log is empty" "$out" ""
pga query --log "$log" --since tomorrowish >/dev/null 2>&1
is "query with a bad time exits 2" "$?" 2

# Tamper: change alice's second record.
cp "$log" "$dir/orig"
sed -i '2s/"allow"/"deny"/' "$log"
out=$(pga verify --key "$key.pub" "$log"); rc=$?
is "verify of an edited log exits 1" "$rc" 1
like "verify names the edited seq" "$out" "^FAIL: seq 2: edited: "
out=$(pga verify --json --key "$key.pub" "$log")
like "verify --json reports the kind and seq" "$out" '"ok":false.*"bad_seq":2,.*"kind":"edited"'
cp "$dir/orig" "$log"
head -n 4 "$dir/orig" > "$log"
out=$(pga verify --key "$key.pub" "$log"); rc=$?
is "verify of a cut log exits 1" "$rc" 1
like "verify reports the cut" "$out" "^FAIL: seq 5: truncated: "
cp "$dir/orig" "$log"

pga verify --key "$key.pub" "$dir/missing.log" 2>/dev/null
is "verify of a missing file exits 3" "$?" 3
pga verify 2>/dev/null
is "verify with no log configured exits 3" "$?" 3
out=$(pga verify --key "$dir/nokey.pub" "$log" 2>&1); rc=$?
is "verify with a missing key exits 3" "$rc" 3
like "the error names the key file" "$out" "nokey.pub: No such file"
pga verify --bogus 2>/dev/null
is "unknown option exits 2" "$?" 2
pga frobnicate 2>/dev/null
is "unknown subcommand exits 2" "$?" 2
for v in verify query keygen; do
	out=$(pga $v --help); rc=$?
	is "$v --help exits 0" "$rc" 0
	like "$v --help prints usage" "$out" "^Usage: photoguard audit $v"
done
out=$(pga --help)
like "audit --help lists the subcommands" "$(printf '%s' "$out" | tr '\n' ' ')" "verify.*query.*keygen"

# A writer died mid-record: verify says so; the next writer repairs it.
last=$(wc -l < "$log")
printf '{"seq":%d,"time":"2026-' $((last + 1)) >> "$log"
out=$(pga verify --key "$key.pub" "$log"); rc=$?
is "verify of a torn log exits 1" "$rc" 1
like "verify reports the torn line after the last whole record" "$out" "^FAIL: seq $((last + 1)): torn: "
check "the next writer appends" "$writer" "$log" "$key" 1 carol /store/P4/c.jpg P4
out=$(pga verify --key "$key.pub" "$log"); rc=$?
is "the repaired log verifies" "$rc" 0
like "verify notes the repair" "$out" "note: 1 unfinished records .* at seq $((last + 1))"
is "the repair is a record in the chain" "$(grep -c '"event":"audit.torn_tail"' "$log")" 1

chmod 0644 "$key"
"$writer" "$log" "$key" 1 alice x 2>/dev/null
is "a writer refuses a key file readable by others" "$?" 1
chmod 0600 "$key"
pga verify --key "$key.pub" "$log" >/dev/null
is "the chain still verifies after the refused write" "$?" 0

done_testing
