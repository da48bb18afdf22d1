#!/bin/bash
# test_admin_audit.sh - the admin verbs that change security state (enroll,
# enroll --reset, totp hostkey, audit keygen) leave a record in the
# configured audit log: by the invoking admin, naming the user or the key
# file, never a secret; a refused enrollment leaves a deny record; a log
# that cannot be written stops the verb (exit 3); without a configuration
# file nothing is recorded and the verbs work as before.
. "$PG_SOURCE_ROOT/tests/lib/tap.sh"
pg="$PG_BUILD_ROOT/cli/photoguard"
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
if ! command -v oathtool >/dev/null; then
	skip "admin audit records" "oathtool is not installed (deploy/deps.sh --test installs it)"
	done_testing
	exit 0
fi
# The actor is the person behind sudo when root runs the tool.
if [ "$(id -u)" = 0 ]; then export SUDO_USER=carol; me=carol; else me=$(id -un); fi
log=$d/log/audit.jsonl

# enroll_with USER ANSWER [ARGS...]: runs `photoguard enroll USER ARGS`,
# answers the prompt with the app's code (ANSWER "right") or another one
# ("wrong"); sets SECRET and SCRATCH (the scratch codes) and CODE (the
# code typed), exit status in $?.
enroll_with() {
	local u=$1 answer=$2 pid i
	shift 2
	rm -f "$d/in" && mkfifo "$d/in"
	"$pg" enroll "$u" --secret-to-pipe "$@" <"$d/in" >"$d/enroll.out" 2>"$d/enroll.err" &
	pid=$!
	exec 3>"$d/in"
	for i in $(seq 100); do
		grep -q 'secret=' "$d/enroll.out" 2>/dev/null && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	SECRET=$(grep -o 'secret=[A-Z2-7]*' "$d/enroll.out" | cut -d= -f2)
	SCRATCH=$(grep -oE '^  [a-z0-9]{5}-[a-z0-9]{5}$' "$d/enroll.out" | tr -d ' ')
	CODE=""
	if [ -n "$SECRET" ]; then
		CODE=$(oathtool --totp -b "$SECRET")
		[ "$answer" = right ] || CODE=$(printf '%06d' $(((10#$CODE + 500001) % 1000000)))
		echo "$CODE" >&3
	fi
	exec 3>&-
	wait "$pid"
}

# records EVENT: the records of EVENT, one JSON line each.
records() { grep "\"event\":\"$1\"" "$log"; }
field() { python3 -c 'import json,sys; r=json.loads(sys.stdin.readline()); print(r[sys.argv[1]])' "$1"; }

# secret_free WHAT STRING...: none of the strings occurs in the log.
secret_free() {
	local what=$1 s found=""
	shift
	for s in "$@"; do
		[ -n "$s" ] && grep -qiF -- "$s" "$log" && found="$found $s"
	done
	is "$what" "${found:-none}" none
}

# --- no configuration file: nothing recorded, nothing said ----------------
# A named file that does not exist, as the other tests run the tool; totp
# hostkey reads the configuration for the rest, so it runs on the
# built-in defaults (no file at the default place) or not at all.
export PHOTOGUARD_CONFIG=$d/none.conf
out=$("$pg" audit keygen "$d/free.key" 2>"$d/err"); rc=$?
is "keygen without a configuration exits 0" "$rc" 0
is "...and says nothing on stderr" "$(cat "$d/err")" ""
if [ -e /etc/photoguard/photoguard.conf ]; then
	skip "totp hostkey and enroll without a configuration file" "this host has /etc/photoguard/photoguard.conf"
else
	env -u PHOTOGUARD_CONFIG "$pg" totp hostkey --host-key "$d/free-host.key" >/dev/null 2>"$d/err"
	is "totp hostkey --host-key without a configuration file exits 0" "$?" 0
	is "...and says nothing on stderr" "$(cat "$d/err")" ""
	enroll_with dave right --secret-dir "$d/free-totp" --host-key "$d/free-host.key"
	is "enroll with explicit paths and no configuration exits 0" "$?" 0
	is "...and says nothing on stderr but the prompt" "$(cat "$d/enroll.err")" "Verification code from the app: "
fi
is "...no audit log was made anywhere" "$(find "$d" -name '*.jsonl' | wc -l)" 0

# --- a configuration: every verb on record ---------------------------------
mkdir -m 0700 "$d/log"
cat >"$d/pg.conf" <<C
[audit]
log = $log
key = $d/audit.key
syslog = no
[totp]
secret_dir = $d/totp
host_key = $d/host.key
C
export PHOTOGUARD_CONFIG=$d/pg.conf

out=$("$pg" audit keygen "$d/audit.key" 2>&1); rc=$?
is "audit keygen of the configured key exits 0" "$rc" 0
r=$(records admin.audit.keygen)
is "...its record begins the log" "$(head -1 "$log" | field event)" admin.audit.keygen
is "...by the admin" "$(printf '%s\n' "$r" | field actor)" "$me"
is "...naming the key file" "$(printf '%s\n' "$r" | field object)" "$d/audit.key"
is "...allowed, with the public key" "$(printf '%s\n' "$r" | field decision) $(printf '%s\n' "$r" | field reason)" "allow signing key created; public key $(cat "$d/audit.key.pub")"
secret_free "...and not the secret key" "$(cat "$d/audit.key")" "$(head -c 64 "$d/audit.key")"
n=$(wc -l <"$log")
"$pg" audit keygen "$d/auditor.key" >/dev/null 2>&1
is "a key the configuration does not use is not recorded" "$(wc -l <"$log")" "$n"
"$pg" audit keygen "$d/audit.key" >/dev/null 2>&1
is "keygen over the existing key is refused" "$?" 3
is "...and nothing is recorded" "$(wc -l <"$log")" "$n"

"$pg" totp hostkey >"$d/out" 2>&1
is "totp hostkey exits 0" "$?" 0
r=$(records admin.totp.hostkey)
is "one admin.totp.hostkey record" "$(printf '%s\n' "$r" | grep -c .)" 1
is "...by the admin, naming the key, allowed" "$(printf '%s\n' "$r" | field actor) $(printf '%s\n' "$r" | field object) $(printf '%s\n' "$r" | field decision)" "$me $d/host.key allow"
secret_free "...and not the host key's bytes" "$(xxd -p -c 256 "$d/host.key")" "$(base64 -w0 "$d/host.key")"
"$pg" totp hostkey >/dev/null 2>&1
is "a second hostkey leaves the key and records nothing" "$(records admin.totp.hostkey | grep -c .)" 1

enroll_with alice right
is "enroll alice with the app's code exits 0" "$?" 0
like "...says it is active" "$(cat "$d/enroll.out")" "TOTP for alice is active"
r=$(records admin.enroll)
is "two admin.enroll records: request, outcome" "$(printf '%s\n' "$r" | grep -c .)" 2
is "...the request first, by the admin, naming alice" "$(printf '%s\n' "$r" | head -1 | field actor) $(printf '%s\n' "$r" | head -1 | field object) $(printf '%s\n' "$r" | head -1 | field decision) $(printf '%s\n' "$r" | head -1 | field reason)" "$me alice info enrollment requested"
is "...then allow" "$(printf '%s\n' "$r" | tail -1 | field decision) $(printf '%s\n' "$r" | tail -1 | field reason)" "allow TOTP active (store: files $d/totp)"
# shellcheck disable=SC2086
secret_free "the log holds neither the secret, the code nor a scratch code" "$SECRET" "$CODE" $SCRATCH
is "...the scratch codes were printed" "$(printf '%s\n' $SCRATCH | grep -c .)" 10

"$pg" enroll alice --secret-to-pipe --confirm-code 123456 >/dev/null 2>&1
is "enroll over an active user without --reset exits 1" "$?" 1
is "...recorded as denied" "$(records admin.enroll | tail -1 | field decision)" deny
like "...saying why" "$(records admin.enroll | tail -1 | field reason)" "^not enrolled: .*already"

enroll_with alice wrong --reset
is "enroll --reset with a wrong first code exits 1" "$?" 1
r=$(records admin.enroll.reset)
is "two admin.enroll.reset records" "$(printf '%s\n' "$r" | grep -c .)" 2
is "...the request" "$(printf '%s\n' "$r" | head -1 | field decision) $(printf '%s\n' "$r" | head -1 | field reason)" "info reset requested"
is "...then deny, naming alice" "$(printf '%s\n' "$r" | tail -1 | field decision) $(printf '%s\n' "$r" | tail -1 | field object)" "deny alice"
like "...with the reason" "$(printf '%s\n' "$r" | tail -1 | field reason)" "^first code not accepted"
# shellcheck disable=SC2086
secret_free "...and neither the new secret, the code typed nor a scratch code" "$SECRET" "$CODE" $SCRATCH

enroll_with alice right --reset
is "enroll --reset with the app's code exits 0" "$?" 0
is "...recorded as allowed" "$(records admin.enroll.reset | tail -1 | field decision)" allow
is "a query for the admin finds every record of these verbs" "$("$pg" audit query --user "$me" --event admin. --json | grep -c .)" "$(grep -c '"event":"admin\.' "$log")"

out=$("$pg" audit verify --key "$d/audit.key.pub" 2>&1); rc=$?
is "the log verifies after these records" "$rc" 0
like "...signed" "$out" "^OK: .* checkpoints"

# --- an audit log that cannot be written stops the verb ----------------------
sed "s|^log = .*|log = $d/gone/sub/audit.jsonl|" "$d/pg.conf" >"$d/bad.conf"
err=$(PHOTOGUARD_CONFIG=$d/bad.conf "$pg" enroll bob --secret-to-pipe --confirm-code 123456 2>&1); rc=$?
is "enroll with an unwritable audit log is refused" "$rc" 3
like "...naming the log" "$err" "audit log $d/gone/sub/audit.jsonl: .*not enrolling a user without an audit record"
"$pg" totp status bob >/dev/null 2>&1
is "...and bob is not enrolled" "$?" 1
sed "s|^host_key = .*|host_key = $d/host2.key|" "$d/bad.conf" >"$d/bad2.conf"
err=$(PHOTOGUARD_CONFIG=$d/bad2.conf "$pg" totp hostkey 2>&1); rc=$?
is "totp hostkey with an unwritable audit log is refused" "$rc" 3
like "...saying so" "$err" "not creating the host key without an audit record"
is "...and makes no key" "$([ -e "$d/host2.key" ] && echo made || echo none)" none
sed "s|^key = .*|key = $d/audit2.key|" "$d/bad.conf" >"$d/bad3.conf"
err=$(PHOTOGUARD_CONFIG=$d/bad3.conf "$pg" audit keygen "$d/audit2.key" 2>&1); rc=$?
is "audit keygen whose record cannot be written exits 3" "$rc" 3
like "...saying the key is made but not on record" "$err" "the new key is made but not on record"
# The log takes no more bytes (file size limit): the request cannot be
# written, so nothing changes.
err=$(trap '' XFSZ; ulimit -f 1; "$pg" enroll bob --secret-to-pipe --confirm-code 123456 2>&1); rc=$?
is "enroll whose request cannot be recorded is refused" "$rc" 3
like "...saying bob is not enrolled" "$err" "does not take the request; bob is not enrolled"
"$pg" totp status bob >/dev/null 2>&1
is "...and bob is not enrolled" "$?" 1
printf '[audit]\nlog = %s\nbogus = 1\n' "$log" >"$d/broken.conf"
PHOTOGUARD_CONFIG=$d/broken.conf "$pg" enroll bob --secret-to-pipe --secret-dir "$d/totp" --host-key "$d/host.key" --confirm-code 1 >/dev/null 2>&1
is "a configuration that does not load stops enroll, even with explicit paths" "$?" 3
PHOTOGUARD_CONFIG=$d/broken.conf "$pg" audit keygen "$d/k3.key" >/dev/null 2>&1
is "...and audit keygen, before any key is made" "$? $([ -e "$d/k3.key" ] && echo made || echo none)" "3 none"

out=$("$pg" audit verify --key "$d/audit.key.pub" 2>&1); rc=$?
is "the log still verifies after the refusals" "$rc" 0
done_testing
