#!/bin/bash
# cli.sh - the `lockouts` and `unlock` verbs end to end on a real store.
. "$PG_SOURCE_ROOT/tests/lib/tap.sh"
drv=$1
pg=$2
d=$(mktemp -d "$PG_BUILD_ROOT/tmp-cli-XXXXXX")
trap 'rm -rf "$d"' EXIT
s=$d/lockout

out=$("$pg" lockouts --help); rc=$?
is "lockouts --help exits 0" "$rc" 0
like "lockouts --help shows usage" "$out" '^Usage: photoguard lockouts'
out=$("$pg" unlock --help); rc=$?
is "unlock --help exits 0" "$rc" 0
like "unlock --help shows usage" "$out" 'Usage: photoguard unlock'

"$pg" lockouts --bogus >/dev/null 2>&1; is "unknown option is a usage error" $? 2
"$pg" unlock --dir "$s" >/dev/null 2>&1; is "unlock without USER is a usage error" $? 2
"$pg" unlock --dir "$s" a b >/dev/null 2>&1; is "unlock with two users is a usage error" $? 2
err=$(PHOTOGUARD_CONFIG=$d/none.conf "$pg" lockouts 2>&1); rc=$?
is "no directory and no config: error exit" "$rc" 3
like "no config: says so" "$err" 'none.conf: cannot read config'
printf '[lockout]\ndir = %s\n' "$d/fromconf" > "$d/pg.conf"
err=$(PHOTOGUARD_CONFIG=$d/pg.conf "$pg" lockouts 2>&1); rc=$?
like "the config names the lockout directory" "$err" "lockout directory $d/fromconf: not found"
err=$("$pg" lockouts --dir "$s" 2>&1); rc=$?
is "missing directory: error exit" "$rc" 3
like "missing directory: names it" "$err" "lockout directory $s: not found"

"$drv" seed "$s" alice 1800000000 gateway img01 limit.nurse "bulk read: 600 files" ; rc=$?
is "seed alice" "$rc" 0
"$drv" seed "$s" $'mal\nlory' 1700000000 pam img02 totp.failures "5 bad codes"
out=$("$pg" lockouts --dir "$s"); rc=$?
is "lockouts exits 0" "$rc" 0
is "table has a header and two rows" "$(printf '%s\n' "$out" | wc -l)" 3
like "alice row" "$out" 'alice +2027-01-15T08:00:00Z +gateway +img01 +limit\.nurse +bulk read: 600 files'
like "newline in a name is escaped, oldest first" "$(printf '%s\n' "$out" | sed -n 2p)" '^mal\\x0alory +2023-11-14T22:13:20Z +pam'

json=$("$pg" lockouts --json --dir "$s"); rc=$?
is "lockouts --json exits 0" "$rc" 0
is "json: two entries" "$(printf '%s' "$json" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" 2
is "json: user round-trips" "$(printf '%s' "$json" | python3 -c 'import json,sys; print(repr(json.load(sys.stdin)[0]["user"]))')" "'mal\\nlory'"
is "json: since and rule" "$(printf '%s' "$json" | python3 -c 'import json,sys; e=json.load(sys.stdin)[1]; print(e["since"], e["since_epoch"], e["rule"], e["host"])')" "2027-01-15T08:00:00Z 1800000000 limit.nurse img01"

# --local: the same instants in TZ (UTC+1 in winter, +2 in summer here).
out=$(TZ=CET-1CEST,M3.5.0,M10.5.0/3 "$pg" lockouts --local --dir "$s"); rc=$?
is "lockouts --local exits 0" "$rc" 0
like "--local: the header says so" "$out" '^USER +SINCE \(local\) +BY'
like "--local: alice in local winter time with its offset" "$out" 'alice +2027-01-15T09:00:00\+01:00 +gateway +img01'
like "--local: a November date, still winter" "$out" 'lory +2023-11-14T23:13:20\+01:00 +pam'
err=$("$pg" lockouts --local --json --dir "$s" 2>&1); rc=$?
is "--local with --json is a usage error" "$rc" 2
like "...saying JSON stays UTC" "$err" 'json stays UTC'

# unlock is audited: it needs the audit log of the configuration.
"$pg" audit keygen "$d/audit.key" >/dev/null
printf '[lockout]\ndir = %s\n[audit]\nlog = %s\nkey = %s\n' \
    "$s" "$d/audit.jsonl" "$d/audit.key" > "$d/pg.conf"
export PHOTOGUARD_CONFIG=$d/pg.conf
mkdir "$d/ro" && chmod 0555 "$d/ro"
printf '[lockout]\ndir = %s\n[audit]\nlog = %s\nkey = %s\n' \
    "$s" "$d/ro/sub/audit.jsonl" "$d/audit.key" > "$d/bad-audit.conf"
err=$(PHOTOGUARD_CONFIG=$d/bad-audit.conf "$pg" unlock alice 2>&1); rc=$?
is "unlock with an unwritable audit log is refused" "$rc" 3
like "refusal names the audit log" "$err" "audit log .*/ro/sub/audit.jsonl: .*not unlocking"
is "alice is still locked" "$("$pg" lockouts --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" 2

out=$(SUDO_USER=carol "$pg" unlock alice); rc=$?
is "unlock alice exits 0" "$rc" 0
like "unlock says so" "$out" '^alice: unlocked$'
q=$("$pg" audit query --event admin.unlock --json)
is "request and outcome of the unlock are on record" "$(printf '%s\n' "$q" | grep -c admin.unlock)" 2
like "the request comes first, naming the user and the admin behind sudo" "$(printf '%s\n' "$q" | head -1)" '"actor": ?"carol".*"object": ?"alice".*"reason": ?"unlock requested"'
is "a query for the admin finds both records" "$("$pg" audit query --user carol --json | grep -c admin.unlock)" 2
like "the outcome follows" "$(printf '%s\n' "$q" | tail -1)" '"decision": ?"allow".*"reason": ?"lockout lifted"'
v=$("$pg" audit verify --key "$d/audit.key.pub"); rc=$?
is "audit log verifies after unlock" "$rc" 0
# The log takes no more bytes (file size limit): no unlock without its record.
"$drv" seed "$s" bob 1800000000 gateway img01 limit.nurse "bulk read"
err=$(trap '' XFSZ; ulimit -f 1; "$pg" unlock bob 2>&1); rc=$?
is "unlock whose audit record cannot be written is refused" "$rc" 3
like "...and says the account stays locked" "$err" "bob stays locked"
like "bob is still in the store" "$("$pg" lockouts)" "^bob "
err=$("$pg" unlock alice 2>&1); rc=$?
is "unlock again exits 1" "$rc" 1
like "unlock again says not locked" "$err" 'alice is not locked out'
"$pg" unlock "$(printf 'x%.0s' $(seq 101))" >/dev/null 2>&1
is "over-long user name is a usage error" $? 2
out=$("$pg" lockouts --dir "$s")
is "two lockouts left (mallory, bob)" "$(printf '%s\n' "$out" | wc -l)" 3

chmod 0777 "$s"
err=$("$pg" lockouts --dir "$s" 2>&1); rc=$?
is "world-writable dir refused" "$rc" 3
like "refusal says why" "$err" 'unsafe file owner or mode'
chmod 0700 "$s"
name=$(ls "$s" | grep '^u-' | head -1)
printf '{broken' > "$s/$name"
err=$("$pg" lockouts --dir "$s" 2>&1); rc=$?
is "corrupt entry: error exit" "$rc" 3
like "corrupt entry: says so" "$err" 'corrupt'
done_testing
