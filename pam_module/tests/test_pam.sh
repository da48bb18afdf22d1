#!/bin/bash
# test_pam.sh - pam_photoguard.so through the real libpam (pam_wrapper
# redirects the service directory) and pamtester, with codes computed by
# oathtool from the secret the real `enroll` verb printed.
. "$PG_SOURCE_ROOT/tests/lib/tap.sh"
. "$PG_SOURCE_ROOT/pam_module/tests/pamlib.sh"
pam_setup || { done_testing; exit $?; }

[ -n "${PG_PAM_RUNNER:-}" ] && diag "each login runs under: $PG_PAM_RUNNER"

T=$(mktemp -d /tmp/pg-pam-XXXXXX)
trap 'rm -rf "$T"' EXIT
chmod 700 "$T"
SEC=$T/secrets KEY=$T/host.key TIX=$T/tickets SVC=$T/services
mkdir -m 700 "$SEC" "$TIX"
mkdir "$SVC" "$T/audit"
"$CLI" audit keygen "$T/audit.key" >/dev/null
# Everything the module touches lives in $T: nothing under /var or /etc.
cat >"$T/pg.conf" <<CONF
[audit]
log = $T/audit/audit.jsonl
key = $T/audit.key
syslog = no
[lockout]
dir = $T/lockout
[totp]
max_failures = 100
max_consecutive_failures = 1000
CONF
ARGS="config=$T/pg.conf secret_dir=$SEC host_key=$KEY ticket_dir=$TIX"

svc() { # NAME LINE...: writes a service file
	local name=$1; shift
	printf '%s\n' "$@" >"$SVC/$name"
}
svc other "auth required pam_deny.so"
svc pg "auth required $MOD $ARGS"
svc pg_nullok_deny "auth required $MOD nullok $ARGS" \
	"auth required pam_deny.so"
svc pg_nullok_sufficient "auth sufficient $MOD nullok $ARGS" \
	"auth required pam_deny.so"
svc pg_nullok_permit "auth [success=done ignore=ignore default=die] $MOD nullok $ARGS" \
	"auth required pam_permit.so"
svc pg_strict_permit "auth [success=done ignore=ignore default=die] $MOD $ARGS" \
	"auth required pam_permit.so"
svc pg_badarg "auth required $MOD nulok $ARGS"
svc pg_window0 "auth required $MOD window=0 $ARGS"

# login SERVICE USER CODE: pamtester's exit code; output in $T/out.
login() { pam_run "$SVC" "$@"; }
log_line() { grep -a 'auth user=' "$T/out" | tail -1; }

# enroll USER: runs the real enroll verb, answers its prompt with the
# code oathtool computes from the printed URI; sets SECRET and SCRATCH.
enroll() {
	pam_enroll "$1" || return
	SCRATCH=$(grep -E '^  [a-z0-9]{5}-[a-z0-9]{5}$' "$T/enroll.out" |
		tr -d ' ')
}
code() { pam_code "$@"; }

# --- enrollment through the real verb --------------------------------
quiet() { "$@" >"$T/quiet.out" 2>&1; }
check "host key created" quiet "$CLI" totp hostkey --host-key "$KEY"
check "enroll alice: first code from oathtool activates" enroll alice
like "otpauth URI printed" "$(cat "$T/enroll.out")" \
	'otpauth://totp/photoguard:alice\?secret=[A-Z2-7]{32}&issuer=photoguard&algorithm=SHA1&digits=6&period=30'
like "QR code drawn with half blocks" "$(cat "$T/enroll.out")" '▀|▄'
is "ten scratch codes shown" "$(printf '%s\n' $SCRATCH | wc -l)" 10
like "status says active" "$("$CLI" totp status alice --secret-dir "$SEC" --host-key "$KEY")" 'state: active'
ALICE=$SECRET
ALICE_SCRATCH=$SCRATCH

# --- codes -----------------------------------------------------------
# The confirming code's step is spent; the next step is within the window.
# The window=0 check needs the clock to stay in this step until it has
# run (under valgrind a login takes seconds), so start early in a step.
pam_fresh_step 20
C=$(code "now + 30 seconds")
CB=$(code)	# the step before C's: "the clock went back" once C is used
login pg_window0 alice "$C"
is "window=0: next step's code refused" $? 1
like "window=0 refusal is a mismatch" "$(log_line)" 'verification code does not match'
login pg alice "$C"
is "good code accepted" $? 0
like "success logged" "$(log_line)" 'auth user=alice service=pg rhost=- tty=- outcome=success rule=- reason=code accepted'
if grep -aq -- "$C" "$T/out"; then not_ok "code not in the log"; else ok "code not in the log"; fi
if grep -aq -- "$ALICE" "$T/out"; then not_ok "secret not in the log"; else ok "secret not in the log"; fi
check "MFA ticket written" test -f "$TIX/alice.ticket"
is "MFA ticket is root-only" "$(stat -c %a "$TIX/alice.ticket")" 600
is "MFA ticket names the user, pending for the login's session" \
    "$(sed -E 's/[0-9]+/N/g' "$TIX/alice.ticket" | tr '\n' ' ')" \
    "photoguard-mfa-ticket N user=alice issued=N expires=N host=$(hostname | sed -E "s/[0-9]+/N/g") auth=N N N N "

login pg alice "$C"
is "replayed code refused" $? 1
like "replay logged" "$(log_line)" 'outcome=deny rule=- reason=alice.totp: code for an already used time step; failure 1 of 100'
if [ "$C" = 123456 ]; then W=654321; else W=123456; fi
login pg alice "$W"
is "wrong code refused" $? 1
like "wrong code logged" "$(log_line)" 'outcome=deny rule=- reason=alice.totp: verification code does not match; failure 2 of 100'
login pg alice "$(code "now - 60 seconds")"
is "code from two steps ago refused" $? 1
login pg alice "$CB"
is "code of an earlier step than the last accepted refused (clock back)" $? 1
like "clock-back logged as replay" "$(log_line)" 'already used time step'
for bad in "" "12345" "1234567" "12345a" "$(printf 'x%.0s' $(seq 80))"; do
	login pg alice "$bad"
	is "malformed answer '${bad:0:12}' refused" $? 1
done

# --- scratch codes ---------------------------------------------------
S1=$(printf '%s\n' $ALICE_SCRATCH | head -1)
login pg alice "$S1"
is "scratch code accepted" $? 0
like "scratch success logged" "$(log_line)" 'reason=scratch code accepted'
login pg alice "$S1"
is "scratch code works only once" $? 1
like "status counts scratch codes" "$("$CLI" totp status alice --secret-dir "$SEC" --host-key "$KEY")" 'scratch codes left: 9'
# jget JSON KEY: KEY of the JSON object, as Python prints it (None: null).
jget() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
j=$("$CLI" totp status alice --json --secret-dir "$SEC" --host-key "$KEY")
is "status --json of alice exits 0" $? 0
is "...state active" "$(jget "$j" state)" active
is "...store files" "$(jget "$j" store)" files
is "...scratch_left 9" "$(jget "$j" scratch_left)" 9
is "...digits 6, step 30" "$(jget "$j" digits)/$(jget "$j" step)" 6/30
lu=$(jget "$j" last_used_epoch)
ok_now=$(( lu > $(date +%s) - 120 && lu <= $(date +%s) ))
is "...last_used_epoch is the scratch login's time" "$ok_now" 1
like "...last_used in UTC ISO 8601" "$(jget "$j" last_used)" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$'

# --- users without a secret ------------------------------------------
login pg nobody 123456
is "no secret, no nullok: refused" $? 1
like "no secret logged" "$(log_line)" 'user=nobody .*outcome=deny rule=- reason=nobody.totp: no secret enrolled'
check "unknown user leaves no lock file behind" test ! -e "$SEC/nobody.lock"
login pg_nullok_deny nobody ""
is "no secret, nullok, then pam_deny: refused (IGNORE is not success)" $? 1
like "nullok logged as ignore" "$(log_line)" 'user=nobody .*outcome=ignore'
login pg_nullok_sufficient nobody ""
is "no secret, nullok as sufficient before pam_deny: refused" $? 1
login pg_nullok_permit nobody ""
is "no secret, nullok: module returns PAM_IGNORE (ignore=ignore passes)" $? 0
login pg_strict_permit nobody 123456
is "no secret, no nullok: module fails (default=die)" $? 1
login pg_nullok_permit alice 123456
is "nullok does not excuse an enrolled user's wrong code" $? 1
login pg_badarg alice "$(code "now + 90 seconds")"
is "unknown module argument refuses" $? 1
like "bad argument logged" "$(log_line)" 'bad module argument: nulok'
like "user name escaped in the log" "$(login pg $'ev\nil' 1 ; log_line)" 'user=ev\\x0ail'

# --- the enroll and totp verbs' own errors -----------------------------
cli() { "$CLI" "$@" >"$T/cli.out" 2>&1; }
for v in "enroll --help" "totp --help" "totp status --help" "totp hostkey --help"; do
	cli $v
	is "$v exits 0" $? 0
	like "$v prints usage" "$(cat "$T/cli.out")" '^Usage: photoguard'
done
cli enroll
is "enroll without a user: usage error" $? 2
cli enroll alice --bogus
is "enroll with an unknown option: usage error" $? 2
cli totp frobnicate
is "unknown totp command: usage error" $? 2
cli enroll alice --secret-to-pipe --secret-dir "$SEC" --host-key "$KEY" --confirm-code 1
is "enroll over an active user without --reset: refused" $? 1
like "says --reset replaces it" "$(cat "$T/cli.out")" 'already enrolled.*--reset replaces it'
like "alice still active afterwards" "$("$CLI" totp status alice --secret-dir "$SEC" --host-key "$KEY")" 'state: active'
cli totp status nobody --secret-dir "$SEC" --host-key "$KEY"
is "status of a user without a secret exits 1" $? 1
like "status says not enrolled" "$(cat "$T/cli.out")" 'state: not enrolled'
cli totp status alice --secret-dir "$SEC" --host-key "$KEY"
if grep -q "$ALICE" "$T/cli.out"; then not_ok "status shows no secret"; else ok "status shows no secret"; fi
cli enroll frank --secret-to-pipe --secret-dir "$SEC" --host-key "$KEY" --confirm-code 000001
is "enroll with a wrong first code exits 1" $? 1
like "says the user stays pending" "$(cat "$T/cli.out")" 'frank stays pending'
like "frank is pending" "$("$CLI" totp status frank --secret-dir "$SEC" --host-key "$KEY")" 'state: pending'
is "status --json: frank is pending" "$(jget "$("$CLI" totp status frank --json --secret-dir "$SEC" --host-key "$KEY")" state)" pending
j=$("$CLI" totp status nobody --json --secret-dir "$SEC" --host-key "$KEY")
is "status --json of a user without a secret exits 1" $? 1
is "...state not enrolled, and nothing more" "$(python3 -c 'import json,sys; o=json.loads(sys.argv[1]); print(o["state"], sorted(o))' "$j")" "not enrolled ['locked', 'state', 'store', 'token_expires', 'token_expires_epoch', 'user']"
if "$CLI" totp status alice --json --secret-dir "$SEC" --host-key "$KEY" | grep -q "$ALICE"; then not_ok "status --json shows no secret"; else ok "status --json shows no secret"; fi
cli enroll gina --secret-to-pipe --secret-dir "$SEC" --host-key "$KEY" </dev/null
is "enroll with no code on stdin exits 1" $? 1
chmod 755 "$SEC"
cli totp status alice --secret-dir "$SEC" --host-key "$KEY"
is "status with a world-readable secret dir: error" $? 3
login pg alice "$(SECRET=$ALICE code "now + 30 seconds")"
is "login with a world-readable secret dir: refused" $? 1
like "unsafe secret dir logged" "$(log_line)" 'secret store unavailable: unsafe file owner or mode'
chmod 700 "$SEC"
cli totp status alice --secret-dir "$SEC" --host-key "$T/none.key"
is "status with a missing host key: error" $? 3
cli totp hostkey --host-key "$KEY"
is "hostkey over an existing key: left alone, exit 0" $? 0
like "says it left the key alone" "$(cat "$T/cli.out")" 'already exists; left as it is'

# --- pending enrollment ----------------------------------------------
"$CLI" enroll dave --secret-to-pipe --secret-dir "$SEC" --host-key "$KEY" \
	--confirm-code 000000 >"$T/dave.out" 2>&1
SECRET=$(grep -o 'secret=[A-Z2-7]*' "$T/dave.out" | cut -d= -f2)
login pg dave "$(code)"
is "pending enrollment: right code refused" $? 1
like "pending logged" "$(log_line)" 'enrollment not confirmed'

# --- damaged secret files --------------------------------------------
damaged() { # NAME SETUP...: enroll bob afresh, damage, try a good code
	local name=$1; shift
	"$CLI" enroll bob --secret-to-pipe --reset --secret-dir "$SEC" --host-key "$KEY" \
		--confirm-code 000000 >"$T/bob.out" 2>&1
	SECRET=$(grep -o 'secret=[A-Z2-7]*' "$T/bob.out" | cut -d= -f2)
	"$@"
	login pg_nullok_permit bob "$(code)"
	is "$name: refused, also with nullok" $? 1
	like "$name: says retrieval failed" "$(cat "$T/out")" \
		'cannot retrieve authentication info'
}
# XOR, not a fixed byte: a fixed value is a no-op when the file already
# holds it there (1 run in 256), and the file is then merely pending.
flip() {
	local b
	b=$(od -An -tu1 -j100 -N1 "$SEC/bob.totp" | tr -d ' ')
	printf "\\$(printf '%03o' $((b ^ 1)))" |
		dd of="$SEC/bob.totp" bs=1 seek=100 conv=notrunc status=none
}
damaged "corrupted secret file" flip
like "corruption logged" "$(log_line)" 'outcome=error rule=- reason=bob.totp: does not authenticate'
damaged "empty secret file" truncate -s 0 "$SEC/bob.totp"
like "empty file logged" "$(log_line)" 'bob.totp: empty file'
damaged "truncated secret file" truncate -s 200 "$SEC/bob.totp"
like "truncation logged" "$(log_line)" 'truncated'
damaged "group-readable secret file" chmod 640 "$SEC/bob.totp"
like "mode logged" "$(log_line)" 'group/world-accessible'
damaged "secret file owned by another user" chown 65534 "$SEC/bob.totp"
like "owner logged" "$(log_line)" 'wrong owner'
symlinked() { mv "$SEC/bob.totp" "$SEC/real"; ln -s real "$SEC/bob.totp"; }
damaged "symlinked secret file" symlinked
like "symlink logged" "$(log_line)" 'symbolic link, refused'
rm -f "$SEC/bob.totp" "$SEC/real"
swap() { cp "$SEC/alice.totp" "$SEC/bob.totp"; }
damaged "another user's file under bob's name" swap
login pg bob "$(SECRET=$ALICE code "now + 120 seconds")"
is "alice's code against alice's file copied to bob: refused" $? 1

# --- 50 parallel logins with one valid code ---------------------------
# A fresh user: the step after the confirming one is in the window.
enroll erin >/dev/null 2>&1
C=$(code "now + 30 seconds")
pam_parallel 50 "$SVC" pg erin "$C" "$T/par"
is "50 parallel logins, same code: exactly one success" \
	"$(grep -l '^0$' "$T"/par/*.rc | wc -l)" 1
is "the other 49 were refused as replays" \
	"$(grep -al 'outcome=deny rule=- reason=erin.totp: code for an already used' "$T"/par/*.out | wc -l)" 49
for f in $(grep -aL -e 'reason=erin.totp: code for an already used' \
	-e 'outcome=success' "$T"/par/*.out); do
	diag "$f:"; sed 's/^/#   /' "$f"
done

# --- exported symbols ------------------------------------------------
is "module exports only the pam_sm_* entry points" \
	"$(nm -D --defined-only "$MOD" | awk '{print $3}' | sort | tr '\n' ' ')" \
	"pam_sm_acct_mgmt pam_sm_authenticate pam_sm_close_session pam_sm_open_session pam_sm_setcred "

# --- the audit trail of all of the above ---------------------------------
like "every auth outcome is in the audit log" \
	"$("$CLI" audit query --log "$T/audit/audit.jsonl" --event pam.auth --user alice)" 'pam.auth'
if grep -aqF -e "$ALICE" -e "$C" "$T/audit/audit.jsonl"; then
	not_ok "no code or secret in the audit log"
else
	ok "no code or secret in the audit log"
fi
check "audit verify passes" quiet "$CLI" audit verify --key "$T/audit.key.pub" "$T/audit/audit.jsonl"

done_testing
