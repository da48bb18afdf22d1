#!/bin/bash
# test_pam_dirtotp.sh - [totp] store = directory: three imaging servers
# (PAM services with their own configuration, lockout store, tickets and
# audit log) against one real slapd carrying slapo-otp's schema,
# photoguard-schema.ldif and the ACL of deploy/ldap/photoguard-acl.ldif.
# Enrolled once with the CLI on one server, a user logs in on the others;
# one code (and one scratch code) raced on the three is accepted once;
# wrong codes count clinic-wide and lock in the directory, and a locked
# user's code is never checked on any server; an enrollment token issued
# on one server enrolls an app on another, once, even raced; secrets no other identity
# may read; a directory away, a corrupt secret and bad input refused.
. "$PG_SOURCE_ROOT/tests/lib/tap.sh"
. "$PG_SOURCE_ROOT/tests/lib/slapd.sh"
. "$PG_SOURCE_ROOT/pam_module/tests/pamlib.sh"

pam_setup || { done_testing; exit $?; }
pam_need_otp "directory TOTP" || { done_testing; exit 0; }
T=$(mktemp -d /tmp/pg-pamdt-XXXXXX)
chmod 700 "$T"
cleanup() {
	[ -n "${KEEP:-}" ] && return
	slapd_stop
	rm -rf "$T"
}
trap cleanup EXIT
pam_dir_keys
pam_dir_env
if ! slapd_start "$T/slapd" "$PG_SOURCE_ROOT/deploy/ldap/clinic-sample.ldif" \
	>"$T/slapd.log" 2>&1; then
	not_ok "slapd started"; sed 's/^/# /' "$T/slapd.log"
	done_testing; exit 1
fi
ok "slapd with the otp module and photoguard's schema started on $SLAPD_URI"
trap cleanup EXIT # slapd_start set its own
pam_dir_identities
server A
server B
server C
server D "cn=reader,ou=services,$BASE" "$T/reader.pw"

# --- enroll once, on server A ---------------------------------------------
cli A totp status asmith >"$T/st.out" 2>&1
is "before enrollment: photoguard totp status exits 1" $? 1
like "...not enrolled" "$(cat "$T/st.out")" 'state: not enrolled'
s0=$(($(date +%s) / 30))
dir_enroll A asmith
is "photoguard enroll asmith on server A: exit 0" $? 0
s1=$(($(date +%s) / 30))
like "...active" "$(cat "$T/enroll.out")" 'TOTP for asmith is active'
cli B totp status asmith --json >"$T/st.json" 2>&1
is "status --json on server B exits 0" $? 0
is "...active in the directory store" "$(python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); print(o["state"], o["store"], o["locked"])' "$T/st.json")" "active directory False"
is "...ten scratch codes shown" "${#SCRATCH[@]}" 10
ASMITH_SECRET=$SECRET ASMITH_SCRATCH=("${SCRATCH[@]}")
is "...the secret is in the directory (oathSecret)" "$(nvals asmith oathSecret)" 1
# The step is read around the enrollment: a slow run may cross a step.
wm=$(attr asmith oathTOTPLastTimeStep)
check "...so is the watermark, the step of the first code ($wm in $s0..$s1)" \
	test "${wm:-0}" -ge "$s0" -a "${wm:-0}" -le "$s1"
is "...and ten hashed scratch codes" "$(nvals asmith pgTOTPScratchCode)" 10
like "...hashed, not in clear" "$(attr asmith pgTOTPScratchCode | head -1)" '^\$pgscratch\$1\$3\$16384\$'
check "...no scratch code in clear" test -z "$(attr asmith pgTOTPScratchCode | grep -F "${SCRATCH[0]}")"
like "...the entry names itself as its token" "$(attr asmith oathTOTPToken)" "^uid=asmith,ou=people,$BASE\$"
check "...nothing in server A's secret files" test -z "$(ls -A "$T/A/secrets")"
cli B totp status asmith >"$T/st.out" 2>&1
is "photoguard totp status on server B: exit 0" $? 0
like "...active, from the directory" "$(cat "$T/st.out")" 'state: active'
like "...ten scratch codes left" "$(cat "$T/st.out")" 'scratch codes left: 10'
before=$(attr asmith oathSecret)
dir_enroll B asmith
is "enrolling asmith again on B without --reset: exit 1" $? 1
like "...already enrolled" "$(cat "$T/enroll.err")" 'already enrolled'
is "...the secret is untouched" "$(attr asmith oathSecret)" "$before"
SECRET=$ASMITH_SECRET SCRATCH=("${ASMITH_SCRATCH[@]}")

# --- log in anywhere --------------------------------------------------------
c=$(next_code asmith)
login B asmith "$c"
is "asmith logs in on server B with a code from the app" $? 0
like "...accepted" "$(line)" 'outcome=success .*code accepted'
is "...an MFA ticket on B" "$(tickets B asmith)" 1
login C asmith "$c"
is "the same code on server C: refused" $? 1
like "...as a replay" "$(line)" 'outcome=deny .*(already used|replay)'
is "...no ticket on C" "$(tickets C asmith)" 0
login C asmith "$(next_code asmith)"
is "the next code on server C: accepted" $? 0
login A asmith "$(next_code asmith)"
is "and on server A" $? 0

# --- one code raced on the three servers, several times ---------------------
for round in 1 2 3 4; do
	forget_failures asmith
	step=$(($(attr asmith oathTOTPLastTimeStep) + 1))
	race "$(code_at $step)" asmith "$T/race$round"
	is "race $round: the same code on A, B and C at once: exactly one accepted" \
		"$(winners "$T/race$round")" 1
	is "...the watermark moved to that code's step" \
		"$(attr asmith oathTOTPLastTimeStep)" "$step"
	is "...the two others refused it as a replay" \
		"$(grep -la 'outcome=deny .*replay' "$T/race$round"/*.out | wc -l)" 2
done
forget_failures asmith

# --- scratch codes: once, clinic-wide ---------------------------------------
login B asmith "${SCRATCH[0]}"
is "a scratch code on server B: accepted" $? 0
like "...as a scratch code" "$(line)" 'scratch code accepted'
is "...its value is gone from the directory" "$(nvals asmith pgTOTPScratchCode)" 9
login C asmith "${SCRATCH[0]}"
is "the same scratch code on C: refused" $? 1
for round in 1 2 3; do
	forget_failures asmith
	race "${SCRATCH[$round]}" asmith "$T/srace$round"
	is "scratch race $round on A, B and C: exactly one accepted" \
		"$(winners "$T/srace$round")" 1
	is "...exactly one value removed" "$(nvals asmith pgTOTPScratchCode)" $((9 - round))
done
forget_failures asmith
login A asmith "$(echo "${SCRATCH[5]}" | tr a-z A-Z | tr -d -)"
is "a scratch code typed in capitals without its dash: accepted" $? 0

# --- secrets readable by the bind identity only -----------------------------
is "another user (bjones) reads no oathSecret of asmith" \
	"$(ldapsearch -LLL -x -H "$SLAPD_URI" -D "uid=bjones,ou=people,$BASE" -w bjones-pw \
		-b "uid=asmith,ou=people,$BASE" -s base oathSecret pgTOTPScratchCode oathTOTPLastTimeStep |
		grep -ci '^oath\|^pgTOTP')" 0
is "...nor does an anonymous search" \
	"$(ldapsearch -LLL -x -H "$SLAPD_URI" -b "uid=asmith,ou=people,$BASE" -s base oathSecret |
		grep -ci '^oathSecret')" 0
is "...while the bind identity does" \
	"$(ldapsearch -LLL -x -H "$SLAPD_URI" -D "$SVC_DN" -w "$SVC_PW" \
		-b "uid=asmith,ou=people,$BASE" -s base oathSecret | grep -ci '^oathSecret')" 1
printf '%s\n' "dn: uid=asmith,ou=people,$BASE" changetype:\ modify \
	"add: objectClass" "objectClass: posixGroup" |
	ldapmodify -x -H "$SLAPD_URI" -D "$SVC_DN" -w "$SVC_PW" >/dev/null 2>&1
is "the bind identity may add no other object class" $? 50
before=$(attr asmith oathTOTPLastTimeStep)
login D asmith "$(next_code asmith)"
is "server D, whose bind DN may not read oathSecret: refused" $? 1
like "...saying why" "$(line)" 'outcome=error .*no oathSecret the bind DN may read'
is "...and no code was taken" "$(attr asmith oathTOTPLastTimeStep)" "$before"
cli D totp status asmith >"$T/st.out" 2>&1
is "...photoguard totp status there: exit 3 (error), not 'not enrolled'" $? 3

# --- wrong codes count clinic-wide and lock in the directory ----------------
dir_enroll C bjones
is "bjones enrolled on server C" $? 0
W=$(pam_wrong)
login A bjones "$W"
is "a wrong code on A: refused" $? 1
like "...failure 1 of 5" "$(line)" 'failure 1 of 5'
login B bjones "$W"
like "a wrong code on B: failure 2 of 5 (counted in the directory)" "$(line)" 'failure 2 of 5'
is "...two pgTOTPFailure values" "$(nvals bjones pgTOTPFailure)" 2
login C bjones "$W"
like "...on C: failure 3 of 5" "$(line)" 'failure 3 of 5'
login A bjones "$W"
like "...on A again: failure 4 of 5" "$(line)" 'failure 4 of 5'
check "...nobody locked yet" test "$(nvals bjones pwdAccountLockedTime)" = 0
login B bjones "abc"
like "garbage on B: failure 5 of 5, locked" "$(line)" 'failure 5 of 5; account locked'
is "...pwdAccountLockedTime set in the directory" "$(nvals bjones pwdAccountLockedTime)" 1
before=$(attr bjones oathTOTPLastTimeStep)
for s in A B C; do
	login $s bjones "$(next_code bjones)"
	is "locked: the right code on server $s: refused" $? 1
	like "...without checking the code" "$(line)" 'outcome=deny .*locked.*code not checked'
	is "...no MFA ticket on $s" "$(tickets $s bjones)" 0
done
is "...and the code was never taken (watermark unchanged)" "$(attr bjones oathTOTPLastTimeStep)" "$before"
acct B bjones
is "...the account phase on B refuses bjones too" $? 1
cli A unlock bjones >"$T/unlock.out" 2>&1
is "photoguard unlock bjones on A: exit 0" $? 0
is "...the directory lock is gone" "$(nvals bjones pwdAccountLockedTime)" 0
is "...and the wrong-code count with it" "$(nvals bjones pgTOTPFailure)" 0
# B decided the lock and keeps it in its own lockout store too, until the
# gateway's watch of the directory lifts it there (issue 11, point 3).
login C bjones "$(next_code bjones)"
is "after the unlock on A, bjones logs in on C" $? 0
is "...with an MFA ticket on C" "$(tickets C bjones)" 1

# A lock set in the directory by anyone: refused everywhere, code unchecked.
printf '%s\n' "dn: uid=asmith,ou=people,$BASE" "changetype: modify" \
	"replace: pwdAccountLockedTime" "pwdAccountLockedTime: 000001010000Z" |
	admin >/dev/null
before=$(attr asmith oathTOTPLastTimeStep)
login C asmith "$(next_code asmith)"
is "asmith locked in the directory by an admin: refused on C" $? 1
like "...code not checked" "$(line)" 'locked in the directory \(code not checked\)'
login A asmith "${SCRATCH[6]}"
is "...a scratch code too" $? 1
is "...nothing taken" "$(attr asmith oathTOTPLastTimeStep) $(nvals asmith pgTOTPScratchCode)" "$before 5"
printf '%s\n' "dn: uid=asmith,ou=people,$BASE" "changetype: modify" \
	"delete: pwdAccountLockedTime" | admin >/dev/null

# Consecutive wrong codes, spread over time windows: max_consecutive = 8.
dir_enroll B cwu
printf '%s\n' "dn: uid=cwu,ou=people,$BASE" "changetype: modify" \
	"replace: pgTOTPFailure" "pgTOTPFailure: 20200101000000Z#0000000000000001" \
	"pgTOTPFailure: 20200101000000Z#0000000000000002" \
	"pgTOTPFailure: 20200101000000Z#0000000000000003" \
	"pgTOTPFailure: 20200101000000Z#0000000000000004" \
	"pgTOTPFailure: 20200101000000Z#0000000000000005" \
	"pgTOTPFailure: 20200101000000Z#0000000000000006" \
	"pgTOTPFailure: 20200101000000Z#0000000000000007" | admin >/dev/null
login C cwu "$W"
like "seven old failures and an eighth wrong code: locked by the consecutive rule" \
	"$(line)" 'failure 1 of 5; 8 consecutive failures; account locked'
cli A unlock cwu >/dev/null 2>&1

# --- enrollment tokens: one for the clinic, spent once --------------------
# dtoken SERVER USER: `enroll --token` there; sets TOKEN.
dtoken() { pam_token cli "$1" enroll "$2"; }
# dconverse SERVER USER ANSWER [converse.py options]: a login on a
# pseudo-terminal that goes through a self-service enrollment.
dconverse() {
	local s=$1
	shift
	pam_converse "$T/$s/svc" sshd "$@"
}
ntok() { attr "$1" pgTOTPScratchCode | grep -c '^pgtoken1 '; }
CWU_SECRET=$SECRET
dtoken A hpatel
is "enroll --token with the directory store on server A: exit 0" $? 0
like "...prints a token" "$TOKEN" '^[a-z2-7]{4}(-[a-z2-7]{4}){3}$'
is "...one pgtoken1 value in hpatel's entry" "$(ntok hpatel)" 1
like "...an expiry and a hash" "$(attr hpatel pgTOTPScratchCode)" '^pgtoken1 [0-9]{10} [0-9a-f]{64}$'
check "...never the token itself" test -z "$(attr hpatel pgTOTPScratchCode | grep -iF "${TOKEN//-/}")"
like "totp status on server C shows the token's expiry" "$(cli C totp status hpatel)" 'enrollment token valid until'
first=$TOKEN
dtoken B hpatel
is "a second token, from server B, replaces the first" "$(ntok hpatel)" 1
dconverse C hpatel "$first"
is "the replaced token on server C: refused" $? 1
like "...as not the token" "$(line)" 'outcome=deny .*not the enrollment token'
dconverse C hpatel "$TOKEN" --app right
is "hpatel logs in on server C with the token from B and enrolls an app" $? 0
like "...logged as such" "$(line)" 'outcome=success.*enrollment token accepted, new authenticator enrolled'
SECRET=$(grep -ao 'secret=[A-Z2-7]*' "$T/out" | tail -1 | cut -d= -f2)
is "...the token's value is gone" "$(ntok hpatel)" 0
is "...the new secret is in the directory" "$(nvals hpatel oathSecret)" 1
is "...with ten scratch codes" "$(nvals hpatel pgTOTPScratchCode)" 10
dconverse A hpatel "$TOKEN"
is "the spent token on server A: refused" $? 1
forget_failures hpatel
login A hpatel "$(next_code hpatel)"
is "hpatel logs in on server A with the new app's code" $? 0

dir_enroll A ioconnor
OLD=$SECRET
dtoken B ioconnor
like "an enrolled user's token leaves the scratch count alone" "$(cli C totp status ioconnor)" 'scratch codes left: 10'
old_secret=$(attr ioconnor oathSecret)
dconverse C ioconnor "$TOKEN" --app right
is "a user who lost the phone enrolls a new app with a token on C" $? 0
SECRET=$(grep -ao 'secret=[A-Z2-7]*' "$T/out" | tail -1 | cut -d= -f2)
check "...the secret in the directory is replaced" test "$(attr ioconnor oathSecret)" != "$old_secret"
login A ioconnor "$(next_code ioconnor)"
is "...the new app's code works on A" $? 0
SECRET=$OLD
login B ioconnor "$(next_code ioconnor)"
is "...the lost phone's code does not" $? 1
forget_failures ioconnor

for round in 1 2 3; do
	dtoken A jberg
	forget_failures jberg
	race "$TOKEN" jberg "$T/trace$round"
	is "race $round: one token typed on A, B and C at once: spent once" \
		"$(grep -la 'outcome=deny .*enrollment token spent' "$T/trace$round"/*.out | wc -l)" 1
	is "...the two others refused it" \
		"$(grep -la 'outcome=deny .*\(spent on another server first\|no enrollment token\)' "$T/trace$round"/*.out | wc -l)" 2
	is "...its value is gone" "$(ntok jberg)" 0
done
forget_failures jberg

dtoken A kmueller
printf '%s\n' "dn: uid=kmueller,ou=people,$BASE" "changetype: modify" \
	"replace: pwdAccountLockedTime" "pwdAccountLockedTime: 000001010000Z" | admin >/dev/null
dconverse B kmueller "$TOKEN" --app right
is "a user the directory marks locked: the token refused" $? 1
like "...unchecked" "$(line)" 'locked in the directory \(code not checked\)'
is "...and not spent" "$(ntok kmueller)" 1
printf '%s\n' "dn: uid=kmueller,ou=people,$BASE" "changetype: modify" \
	"delete: pwdAccountLockedTime" | admin >/dev/null

# What changes while the new app's first code is awaited (the user holds
# the conversation open): the directory locks the account, or another
# server writes a new secret (an admin's re-enrollment).
# meanwhile ISSUER LOGIN USER LDIF: a token from ISSUER typed on LOGIN,
# LDIF applied by the admin before the first code; says why it failed.
meanwhile() {
	dtoken "$1" "$3"
	dconverse "$2" "$3" "$TOKEN" --app right --before-app \
		"ldapmodify -x -H '$SLAPD_URI' -D '$SLAPD_ADMIN_DN' -w '$SLAPD_ADMIN_PW' -f '$4' >/dev/null"
	RC=$?
	WHY=$(grep -ao 'ALERT: self-service enrollment after an enrollment token not done: .*' "$T/out")
}
printf '%s\n' "dn: uid=mdubois,ou=people,$BASE" "changetype: modify" \
	"replace: pwdAccountLockedTime" "pwdAccountLockedTime: 000001010000Z" >"$T/lock-mdubois.ldif"
meanwhile A B mdubois "$T/lock-mdubois.ldif"
is "locked in the directory while the first code was awaited: refused" "$RC" 1
like "...the enrollment refused, saying why" "$WHY" 'locked'
is "...no secret written" "$(nvals mdubois oathSecret)" 0
printf '%s\n' "dn: uid=mdubois,ou=people,$BASE" "changetype: modify" \
	"delete: pwdAccountLockedTime" | admin >/dev/null
dir_enroll A nsato
planted=$(head -c 20 /dev/urandom | base64)
printf '%s\n' "dn: uid=nsato,ou=people,$BASE" "changetype: modify" \
	"replace: oathSecret" "oathSecret:: $planted" >"$T/reset-nsato.ldif"
meanwhile B C nsato "$T/reset-nsato.ldif"
is "a new secret written elsewhere while the first code was awaited: refused" "$RC" 1
like "...the enrollment refused, saying why" "$WHY" 'replaced since this enrollment began'
is "...the secret written meanwhile is kept" \
	"$(slapd_search -o ldif-wrap=no -b "uid=nsato,ou=people,$BASE" -s base oathSecret | sed -n 's/^oathSecret:: //p')" "$planted"
SECRET=$CWU_SECRET

dtoken A lrossi
printf '%s\n' "dn: uid=lrossi,ou=people,$BASE" "changetype: modify" \
	"add: pgTOTPScratchCode" "pgTOTPScratchCode: pgtoken1 99999999999 $(printf '%064d' 7)" | admin >/dev/null
dconverse B lrossi "$TOKEN"
is "two token values in the entry: refused" $? 1
like "...saying why" "$(line)" 'outcome=(deny|error) .*2 enrollment tokens'
printf '%s\n' "dn: uid=lrossi,ou=people,$BASE" "changetype: modify" \
	"replace: pgTOTPScratchCode" "pgTOTPScratchCode: pgtoken1 garbage" | admin >/dev/null
dconverse B lrossi "$TOKEN"
is "a token value that does not parse: refused" $? 1
like "...saying why" "$(line)" 'outcome=(deny|error) .*enrollment token does not parse'
dtoken C lrossi
is "a new token replaces the damaged one" "$(attr lrossi pgTOTPScratchCode | grep -c '^pgtoken1 [0-9]')" 1
dtoken A nobody
is "a token for a user the directory does not know: refused" $? 3
SECRET=$CWU_SECRET

# --- bad input --------------------------------------------------------------
login A cwu "$(printf '%070d' 1)"
like "an answer over 64 bytes: refused, counted" "$(line)" 'outcome=deny .*answer too long; failure 1 of 5'
login A cwu "12345"
like "five digits (neither a code nor a scratch code): refused" "$(line)" 'outcome=deny .*neither a valid code nor an unused scratch code'
login A cwu "$(next_code cwu)"
is "...a good code afterwards: accepted" $? 0
is "...and it clears the count" "$(nvals cwu pgTOTPFailure)" 0
login A nobody "123456"
is "a user the directory does not know: refused" $? 1
login A 'asmith)(uid=*' "123456"
is "a name with filter metacharacters: refused" $? 1
dir_enroll A nobody
is "enrolling a user the directory does not know: fails (exit 3)" $? 3
dir_enroll A dlopez 000000
is "enrollment whose first code is wrong: exit 1" $? 1
like "...nothing written" "$(cat "$T/enroll.err")" 'nothing was written to the directory'
is "...dlopez has no secret" "$(nvals dlopez oathSecret)" 0
printf '[directory]\nbackend = local\n[totp]\nstore = directory\n' >"$T/bad.conf"
"$CLI" --config "$T/bad.conf" totp status asmith >"$T/st.out" 2>&1
like "store = directory with the local backend: a configuration error" \
	"$(cat "$T/st.out")" 'store: needs \[directory\] backend = ldap'

# --- corrupt tokens ---------------------------------------------------------
dir_enroll A ekim
printf '%s\n' "dn: uid=ekim,ou=people,$BASE" "changetype: modify" \
	"replace: oathSecret" "oathSecret: abc" | admin >/dev/null
login B ekim "$(code_at $(($(date +%s) / 30 + 1)))"
is "a corrupted oathSecret (3 bytes): refused" $? 1
like "...saying why" "$(line)" 'outcome=error .*oathSecret is not a valid secret'
dir_enroll A fmartin
printf '%s\n' "dn: uid=fmartin,ou=people,$BASE" "changetype: modify" \
	"add: pgTOTPScratchCode" "pgTOTPScratchCode: \$pgscratch\$1\$3\$16384\$garbage" | admin >/dev/null
login B fmartin "${SCRATCH[0]}"
is "a scratch code value that does not parse: refused" $? 1
like "...saying why" "$(line)" 'pgTOTPScratchCode value does not parse'
login B fmartin "$(next_code fmartin)"
is "...while a time-based code still works" $? 0
printf '%s\n' "dn: uid=gnovak,ou=people,$BASE" "changetype: modify" \
	"add: objectClass" "objectClass: oathTOTPUser" "objectClass: oathTOTPToken" "-" \
	"add: oathTOTPToken" "oathTOTPToken: cn=gone,$BASE" | admin >/dev/null
login B gnovak 123456
is "a user whose oathTOTPToken names no entry: refused" $? 1
like "...saying why" "$(line)" 'outcome=error .*token entry .* cannot be read'

# --- the directory away: refused, with the reason ---------------------------
c=$(next_code asmith)
slapd_pause
login A asmith "$c"
is "slapd not answering: refused" $? 1
like "...as an error that names the directory" "$(line)" 'outcome=error .*(directory unavailable|Timed out|timed out|Can.t contact)'
slapd_resume
slapd_stop
login B asmith 123456
is "slapd stopped: refused" $? 1
like "...with a clear reason" "$(line)" "outcome=error .*Can't contact LDAP server"

pam_no_sanitizer_reports "$T/all.out"
done_testing
