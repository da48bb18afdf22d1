#!/bin/bash
# test_pam_selfenroll.sh - self-service enrollment through the real libpam
# (pam_wrapper) and pamtester on a pseudo-terminal: a one-time enrollment
# token from `photoguard enroll --token` typed at the code prompt enrolls
# a new authenticator in the login conversation, once; with [totp]
# self_enroll a scratch-code login offers the same.  The new secret only
# replaces the old one after its first code; every step is audited and no
# token or secret reaches the audit log.
. "$PG_SOURCE_ROOT/tests/lib/tap.sh"
. "$PG_SOURCE_ROOT/pam_module/tests/pamlib.sh"
pam_setup || { done_testing; exit $?; }
RENDER=$PG_SOURCE_ROOT/cli/tests/term_render.py

T=$(mktemp -d /tmp/pg-pamse-XXXXXX)
trap 'rm -rf "$T"' EXIT
chmod 700 "$T"
SEC=$T/secrets KEY=$T/host.key TIX=$T/tickets SVC=$T/services
mkdir -m 700 "$SEC" "$TIX"
mkdir "$SVC" "$T/audit"
"$CLI" audit keygen "$T/audit.key" >/dev/null
"$CLI" totp hostkey --host-key "$KEY" >/dev/null
LOG=$T/audit/audit.jsonl
# conf NAME [KEY=VALUE of [totp]...]: a configuration in $T/NAME.conf.
conf() {
	local name=$1 kv
	shift
	{
		printf '[audit]\nlog = %s\nkey = %s\nsyslog = no\n' "$LOG" "$T/audit.key"
		printf '[lockout]\ndir = %s\n' "$T/lockout"
		printf '[totp]\nsecret_dir = %s\nhost_key = %s\nticket_dir = %s\n' "$SEC" "$KEY" "$TIX"
		printf 'issuer = Harbour Clinic\nmax_failures = 100\nmax_consecutive_failures = 1000\n'
		for kv in "$@"; do printf '%s = %s\n' "${kv%%=*}" "${kv#*=}"; done
	} >"$T/$name.conf"
}
conf plain
conf selfenroll self_enroll=yes
svc() { local name=$1; shift; printf '%s\n' "$@" >"$SVC/$name"; }
svc pg "auth required $MOD config=$T/plain.conf"
svc pg_self "auth required $MOD config=$T/selfenroll.conf"
svc pg_nullok "auth [success=done ignore=ignore default=die] $MOD nullok config=$T/plain.conf" \
	"auth required pam_permit.so"
svc pg_dark "auth required $MOD qr=dark config=$T/plain.conf"
svc pg_badqr "auth required $MOD qr=sepia config=$T/plain.conf"

cli() { "$CLI" --config "$T/plain.conf" "$@"; }
# token USER: issues a token (the admin's `enroll --token`); sets TOKEN.
token() { pam_token cli enroll "$1"; }
# converse SERVICE USER ANSWER [converse.py options]: one login on a
# pseudo-terminal; output in $T/out, exit status returned.
converse() { pam_converse "$SVC" "$@"; }
line() { grep -a 'auth user=' "$T/out" | tail -1; }
secret_in() { grep -o 'secret=[A-Z2-7]*' "$1" | tail -1 | cut -d= -f2; }
# next_code SECRET: the code of the next time step (within the window,
# and newer than the step a confirmation used).
next_code() { oathtool --totp -b "$1" -N "@$(($(date +%s) + 30))"; }
records() { grep -a "\"event\":\"$1\"" "$LOG"; }
state() { cli totp status "$1" | sed -n 's/^state: //p'; }

# --- the admin issues a token --------------------------------------------
token newbie
is "enroll --token exits 0" $? 0
like "...and prints a token" "$TOKEN" '^[a-z2-7]{4}(-[a-z2-7]{4}){3}$'
like "...with its expiry" "$(cat "$T/token.out")" 'valid until 20[0-9-]+ [0-9:]+'
like "totp status shows the token's expiry" "$(cli totp status newbie)" 'enrollment token valid until'
like "...and --json too" "$(cli totp status newbie --json)" '"token_expires": "20'
is "the request and the outcome are audited" "$(records admin.enroll.token | grep -c .)" 2
like "...the outcome allowed" "$(records admin.enroll.token | tail -1)" '"decision":"allow".*enrollment token issued'
cli enroll newbie --token >"$T/pipe.out" 2>&1
is "enroll --token into a pipe is refused" $? 2
unlike "...printing no token" "$(cat "$T/pipe.out")" '[a-z2-7]{4}-[a-z2-7]{4}-'
cli enroll newbie --token --reset --secret-to-pipe >/dev/null 2>&1
is "--token with --reset is a usage error" $? 2

# --- a wrong token, then the token ----------------------------------------
converse pg newbie "aaaa-bbbb-cccc-dddd"
is "a wrong token is refused" $? 1
like "...as a wrong answer" "$(line)" 'outcome=deny.*not the enrollment token'
converse pg newbie "$TOKEN" --app right
is "newbie logs in with the token and enrolls" $? 0
like "...the conversation shows the QR code" "$(cat "$T/out")" '▀|▄|█'
like "...and the URI under the clinic's name" "$(cat "$T/out")" 'otpauth://totp/Harbour%20Clinic:newbie\?secret=[A-Z2-7]{32}&issuer=Harbour%20Clinic'
like "...and ten scratch codes" "$(grep -cE '^  [a-z0-9]{5}-[a-z0-9]{5}$' "$T/out")" '^10$'
like "...and says it is enrolled" "$(cat "$T/out")" 'Your new authenticator app is enrolled'
like "...logged as such" "$(line)" 'outcome=success.*enrollment token accepted, new authenticator enrolled'
is "newbie is active" "$(state newbie)" active
NEWBIE=$(secret_in "$T/out")
like "the audit log has pam.enroll allowed" "$(records pam.enroll | tail -1)" '"decision":"allow".*new authenticator enrolled after an enrollment token'
if command -v zbarimg >/dev/null; then
	uri=$(grep -o 'otpauth://[^[:space:]]*' "$T/out" | head -1)
	python3 "$RENDER" light "$T/out" "$T/qr.pgm"
	is "...the QR code in the conversation scans as the URI" \
		"$(zbarimg --raw -q "$T/qr.pgm" 2>/dev/null | head -1)" "$uri"
else
	skip "the QR code in the conversation scans" "zbarimg is not installed (deploy/deps.sh --test installs zbar-tools)"
fi
converse pg newbie "$TOKEN"
is "the token works once" $? 1
like "...then there is none" "$(line)" 'outcome=deny'
pam_run "$SVC" pg newbie "$(next_code "$NEWBIE")"
is "newbie logs in with the new app's code" $? 0

# --- the old secret stays until the new one is confirmed --------------------
pam_enroll bob
BOB=$SECRET
token bob
converse pg bob "$TOKEN" --app quit
is "a token login whose enrollment is abandoned is refused" $? 1
like "...saying a new token is needed" "$(line)" 'no new authenticator was confirmed: a new token is needed'
like "...audited as not done" "$(records pam.enroll | tail -1)" '"decision":"deny".*not done'
pam_run "$SVC" pg bob "$(next_code "$BOB")"
is "...and bob's old app still works" $? 0
pam_enroll bea
BEA=$SECRET
token bea
converse pg bea "$TOKEN" --app wrong
is "three wrong first codes: refused" $? 1
like "...each one told" "$(grep -c 'That code does not match' "$T/out")" '^2$'
pam_run "$SVC" pg bea "$(next_code "$BEA")"
is "...and bea's old app still works" $? 0
token bob
converse pg bob "$TOKEN" --app wrong-right
is "a wrong first code, then the right one: enrolled" $? 0
NEWBOB=$(secret_in "$T/out")
pam_run "$SVC" pg bob "$(oathtool --totp -b "$BOB" -N "@$(($(date +%s) + 90))")"
is "...and bob's old app no longer works" $? 1
pam_run "$SVC" pg bob "$(next_code "$NEWBOB")"
is "...the new one does" $? 0

# --- expired and damaged tokens ---------------------------------------------
token carl
sed -i 's/^pgtoken1 [0-9]*/pgtoken1 1000/' "$SEC/carl.token"
converse pg carl "$TOKEN"
is "an expired token is refused" $? 1
like "...saying so" "$(line)" 'enrollment token expired'
test ! -e "$SEC/carl.token"
is "...and removed" $? 0
token carl
printf 'garbage\n' >"$SEC/carl.token"
converse pg carl "$TOKEN"
is "a damaged token file is refused" $? 1
like "...as an error, with the reason logged" "$(line)" 'outcome=error.*not an enrollment token file'
token carl
chmod 0644 "$SEC/carl.token"
converse pg carl "$TOKEN"
is "a token file others may read is refused" $? 1
like "...as an error, with the reason logged" "$(line)" 'outcome=error.*carl.token: wrong owner or group/world-accessible'
rm -f "$SEC/carl.token"

# --- nullok, qr= ------------------------------------------------------------
pam_run "$SVC" pg_nullok dora 123456
is "nullok: a user with no secret and no token passes (ignore)" $? 0
token dora
converse pg_nullok dora "$TOKEN" --app right
is "nullok: a user with a token is asked for it and enrolls" $? 0
is "...dora is active" "$(state dora)" active
# A token left to expire: nullok passes the user as before the token,
# never asking for a token that can only be refused.
token fred
sed -i "s/^pgtoken1 [0-9]* /pgtoken1 $(($(date +%s) - 60)) /" "$SEC/fred.token"
check "...(the token file now says it expired a minute ago)" \
	grep -q "^pgtoken1 $(($(date +%s) - 60))\|^pgtoken1 $(($(date +%s) - 61)) " "$SEC/fred.token"
pam_run "$SVC" pg_nullok fred 123456
is "nullok: a user whose token expired passes (ignore)" $? 0
like "...saying so" "$(line)" 'no secret enrolled \(nullok\); its enrollment token expired'
printf 'pgtoken1 garbage\n' >"$SEC/fred.token"
pam_run "$SVC" pg_nullok fred 123456
is "nullok: a token that does not parse is not waved through" $? 1
rm -f "$SEC/fred.token"
token hal
converse pg hal "$(echo "$TOKEN" | tr 'a-z-' 'A-Z ')" --app right
is "a token typed in capitals with spaces works too" $? 0
token erin
converse pg_dark erin "$TOKEN" --app right
is "qr=dark enrolls too" $? 0
unlike "...drawing no colours" "$(cat "$T/out")" $'\e\\['
token fay
converse pg_badqr fay "$TOKEN" --app right
is "qr=sepia is a bad module argument: refused" $? 1
like "...with the argument named" "$(cat "$T/out")" 'qr=sepia'

# --- after a scratch code ---------------------------------------------------
pam_enroll gil
mapfile -t SCR < <(grep -oE '^  [a-z0-9]{5}-[a-z0-9]{5}$' "$T/enroll.out" | tr -d ' ')
GIL=$SECRET
converse pg gil "${SCR[0]}" --offer y
is "self_enroll off: a scratch login passes" $? 0
unlike "...and offers nothing" "$(cat "$T/out")" 'Enroll a new authenticator'
converse pg_self gil "${SCR[1]}" --offer n
is "self_enroll on, offer declined: the login passes" $? 0
like "...the offer was made" "$(cat "$T/out")" 'You logged in with a scratch code. Enroll a new authenticator app now'
pam_run "$SVC" pg gil "$(next_code "$GIL")"
is "...and the old app still works" $? 0
converse pg_self gil "${SCR[2]}" --offer y --app right
is "offer taken: the login passes" $? 0
like "...logged with the enrollment" "$(line)" 'scratch code accepted.*new authenticator enrolled after a scratch code'
NEWGIL=$(secret_in "$T/out")
mapfile -t SCR2 < <(grep -oE '^  [a-z0-9]{5}-[a-z0-9]{5}$' "$T/out" | tr -d ' ')
like "...and the enrollment raised an alert" "$(cat "$T/out")" 'ALERT: new authenticator enrolled after a scratch code'
pam_run "$SVC" pg gil "$(oathtool --totp -b "$GIL" -N "@$(($(date +%s) + 60))")"
is "...the old app no longer works" $? 1
pam_run "$SVC" pg gil "$(next_code "$NEWGIL")"
is "...the new one does" $? 0
converse pg gil "${SCR[3]}"
is "...and the old scratch codes are gone" $? 1
converse pg_self gil "x$(printf 'a%.0s' $(seq 80))" --offer y
is "an overlong answer is refused" $? 1

# --- what changes while the new app's first code is awaited ----------------
# An admin resets gil meanwhile: the admin's record stays, the one the
# conversation showed never lands.
converse pg_self gil "${SCR2[0]}" --offer y --app right --before-app \
	"'$CLI' enroll gil --secret-to-pipe --reset --secret-dir '$SEC' --host-key '$KEY' --confirm-code 000000 >'$T/reset.out' 2>&1"
is "an admin's reset while the first code was awaited: the scratch login passes" $? 0
like "...the self-enrollment refused, saying why" "$(line)" \
	'self-service enrollment after a scratch code not done: .*replaced since this enrollment began'
check "...the admin's reset happened" grep -q 'secret=' "$T/reset.out"
is "...and its record is kept (pending its first code)" "$(state gil)" pending
like "...alerted all the same" "$(cat "$T/out")" 'ALERT: self-service enrollment after a scratch code not done'
SELFGIL=$(secret_in "$T/out")
pam_run "$SVC" pg gil "$(next_code "$SELFGIL")"
is "...the secret the conversation showed does not log in" $? 1

# The account is locked (bulk reading on the gateway) meanwhile: refused.
pam_enroll hank
mapfile -t SCRK < <(grep -oE '^  [a-z0-9]{5}-[a-z0-9]{5}$' "$T/enroll.out" | tr -d ' ')
HANK=$SECRET
converse pg_self hank "${SCRK[0]}" --offer y --app right --before-app \
	"'$PG_BUILD_ROOT/core/lockout/tests/cli_driver' seed '$T/lockout' hank $(date +%s) gateway imaging-01 bulk.files 'bulk access'"
like "hank locked while the first code was awaited: the enrollment is refused" "$(line)" \
	'self-service enrollment after a scratch code not done: .*locked meanwhile'
cli unlock hank >/dev/null 2>&1
pam_run "$SVC" pg hank "$(next_code "$HANK")"
is "...and, unlocked, hank's old app still works" $? 0

# --- nothing secret in the audit log ----------------------------------------
leaks=""
for s in "$NEWBIE" "$NEWBOB" "$NEWGIL" "$TOKEN" "${TOKEN//-/}"; do
	[ -n "$s" ] && grep -qiF -- "$s" "$LOG" && leaks="$leaks $s"
done
is "no token or secret in the audit log" "${leaks:-none}" none
out=$("$CLI" audit verify "$LOG" --key "$T/audit.key.pub" 2>&1)
is "the audit log verifies" $? 0
pam_no_sanitizer_reports "$T/all.out"

done_testing
