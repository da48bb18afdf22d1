#!/bin/bash
# test_pam_account.sh - pam_photoguard.so's account and session phases and
# the lockout in auth, through the real libpam (pam_wrapper + pamtester)
# against a real slapd holding the sample clinic: login rules per host and
# service, locked users (local store and directory attribute), unknown
# users and filter metacharacters, a directory that stops answering (with
# and without the offline cache), N failures -> lockout, 100 parallel wrong
# codes, audited sessions, an unwritable audit log, a broken policy,
# `photoguard unlock` clearing the store and the directory, auth and
# account in one handle (account takes the lookup auth started), and
# `photoguard audit verify` over all of it.
. "$PG_SOURCE_ROOT/tests/lib/tap.sh"
. "$PG_SOURCE_ROOT/tests/lib/slapd.sh"
. "$PG_SOURCE_ROOT/pam_module/tests/pamlib.sh"

pam_setup || { done_testing; exit $?; }
T=$(mktemp -d /tmp/pg-pamacct-XXXXXX)
chmod 700 "$T"
cleanup() {
	[ -n "${KEEP:-}" ] && return
	chattr -i "$T/audit/audit.jsonl" 2>/dev/null
	slapd_stop
	rm -rf "$T"
}
trap cleanup EXIT
SEC=$T/secrets KEY=$T/host.key AUDIT=$T/audit/audit.jsonl LOCK=$T/lockout
mkdir -m 700 "$SEC" "$T/tickets" "$T/audit"
"$CLI" totp hostkey --host-key "$KEY" >/dev/null
"$CLI" audit keygen "$T/audit.key" >/dev/null

# --- the directory: the sample clinic plus a name full of metacharacters
cat "$PG_SOURCE_ROOT/deploy/ldap/clinic-sample.ldif" >"$T/clinic.ldif"
cat >>"$T/clinic.ldif" <<'LDIF'

dn: uid=o(brien*,ou=people,dc=clinic,dc=example
objectClass: inetOrgPerson
objectClass: posixAccount
uid: o(brien*
cn: Orla O'Brien
sn: O'Brien
uidNumber: 2101
gidNumber: 3000
homeDirectory: /home/obrien
LDIF
if ! slapd_start "$T/slapd" "$T/clinic.ldif" >"$T/slapd.log" 2>&1; then
	not_ok "slapd started"; sed 's/^/# /' "$T/slapd.log"
	trap cleanup EXIT
	done_testing; exit 1
fi
ok "slapd started on $SLAPD_URI"
trap cleanup EXIT # slapd_start set its own
printf '%s\n' "dn: cn=surgeons,ou=groups,$SLAPD_BASE_DN" "changetype: modify" \
	"add: member" "member: uid=o(brien*,ou=people,$SLAPD_BASE_DN" |
	slapd_modify >/dev/null
printf '%s' "$SLAPD_ADMIN_PW" >"$T/bind.pw" && chmod 600 "$T/bind.pw"
install -m 0644 "$PG_SOURCE_ROOT/policy/examples/clinic.policy" "$T/clinic.policy"

# conf NAME [EXTRA [TOTP-EXTRA]]: a configuration file in $T/NAME.conf
conf() {
	cat >"$T/$1.conf" <<CONF
[directory]
backend = ldap
uri = $SLAPD_URI
ca_file = $SLAPD_CA
base_dn = $SLAPD_BASE_DN
bind_dn = $SLAPD_ADMIN_DN
bind_password_file = $T/bind.pw
lockout_attribute = pwdAccountLockedTime
network_timeout = ${DIRTO:-1s}
timeout = ${DIRTO:-1s}
cache_ttl = 0s
${DIRX:-}
[policy]
file = ${POLICY:-$T/clinic.policy}
[audit]
log = $AUDIT
key = $T/audit.key
syslog = no
[lockout]
dir = $LOCK
[totp]
secret_dir = $SEC
host_key = $KEY
ticket_dir = $T/tickets
max_failures = ${MAXF:-3}
$2
CONF
}
DIRX="offline_cache_dir = $T/offline
offline_max_age = 1h" conf pg
conf nocache
DIRTO=4s conf wait4
DIRTO=10s conf slowdir
# 100 wrong codes at once; 40 under the sanitizers, whose processes are
# so slow on two cores that the counter's 5 s lock wait runs out and the
# attempts are refused uncounted (fail closed, code unchecked), which is
# the design but not what this check counts.
NPAR=100
[ "${PG_SANITIZE:-none}" = none ] || NPAR=40
MAXF=$NPAR conf par "max_consecutive_failures = $NPAR"
POLICY=$T/bad.policy conf badpol
printf 'role nurse = group nurses\nlogin nurse on "imaging-*" service ssh bogus\n' >"$T/bad.policy"

# svc DIR NAME ARGS: a service file with the whole stack for pamtester.
svc() {
	mkdir -p "$T/$1"
	printf '%s\n' "auth required $MOD $3" "account required $MOD $3" \
		"session required $MOD $3" >"$T/$1/$2"
}
svc main sshd "config=$T/pg.conf host=imaging-01"
svc main cups "config=$T/pg.conf host=imaging-01"
svc main login "config=$T/pg.conf host=reception-01"
svc nocache sshd "config=$T/nocache.conf host=imaging-01"
svc wait4 sshd "config=$T/wait4.conf host=imaging-01"
svc slowdir sshd "config=$T/slowdir.conf host=imaging-01"
svc nullok sshd "config=$T/slowdir.conf host=imaging-01 nullok"
svc par sshd "config=$T/par.conf host=imaging-01"
svc badpol sshd "config=$T/badpol.conf host=imaging-01"
acct() { pam_run "$T/$1" "$2" "$3" "" acct_mgmt; }
line() { grep -a "$1 user=" "$T/out" | tail -1; }
audit_count() { # EVENT USER DECISION
	"$CLI" audit query --json --log "$AUDIT" --event "$1" --user "$2" |
		grep -c "\"decision\":\"$3\""
}

# --- account: login rules for this host and service --------------------
acct main sshd asmith
is "surgeon, sshd on imaging-01: allowed" $? 0
like "...by the login rule, named" "$(line account)" \
	"account user=asmith service=sshd .*outcome=success rule=$T/clinic.policy:67 reason=.*roles surgeon, host imaging-01, via directory"
acct main sshd ioconnor
is "front desk, sshd on imaging-01: refused" $? 1
like "...as permission denied" "$(cat "$T/out")" 'Permission denied'
like "...with the reason" "$(line account)" 'outcome=deny .*roles frontdesk, host imaging-01'
acct main login ioconnor
is "front desk, login on reception-01 (host= argument): allowed" $? 0
acct main cups asmith
is "surgeon through a service no login rule names: refused" $? 1
acct main sshd kmueller
is "billing (no rule for imaging-*): refused" $? 1
is "every account outcome is audited (asmith allow)" "$(audit_count pam.account asmith allow)" 1
is "...and refusals too (ioconnor deny)" "$(audit_count pam.account ioconnor deny)" 1

# --- unknown users, metacharacters -------------------------------------
for u in nobody '*' 'a*' 'asmith)(uid=*' '*)(|(uid=*' 'o(brien' 'asmith,ou=people' '\2a'; do
	acct main sshd "$u"
	is "user '$u' unknown to the directory: refused" $? 1
	like "...as an unknown user" "$(cat "$T/out")" 'User not known'
done
acct main sshd 'o(brien*'
is "'o(brien*' (in the directory, a surgeon): allowed" $? 0

# --- the directory's lockout attribute ---------------------------------
printf '%s\n' "dn: uid=ekim,ou=people,$SLAPD_BASE_DN" "changetype: modify" \
	"replace: pwdAccountLockedTime" "pwdAccountLockedTime: 000001010000Z" |
	slapd_modify >/dev/null
acct main sshd ekim
is "user locked in the directory: refused" $? 1
like "...saying so" "$(line account)" 'rule=directory.lockout reason=the directory marks the user as locked out'
acct main sshd dlopez
is "another nurse, not locked: allowed" $? 0

# --- auth: N failures -> lockout -> the right code refused -------------
pam_enroll cwu
CWU=$SECRET
W=$(pam_wrong)
for i in 1 2; do
	pam_run "$T/main" sshd cwu "$W"
	is "cwu wrong code $i: refused" $? 1
done
like "the count is in the log" "$(line auth)" 'failure 2 of 3'
check "not locked after 2" test -z "$("$CLI" lockouts --dir "$LOCK" | grep cwu)"
pam_run "$T/main" sshd cwu "$W"
is "cwu wrong code 3: refused" $? 1
like "...and the account is locked" "$(line auth)" 'failure 3 of 3; account locked \(3 failed verification codes within 900 s\); directory lockout attribute set'
like "the lockout is in the store" "$("$CLI" lockouts --dir "$LOCK")" 'cwu .*pam .*totp.max_failures'
is "the lockout is audited once" "$(audit_count lockout.lock cwu deny)" 1
like "the directory holds the lockout" \
	"$(slapd_search -b "uid=cwu,ou=people,$SLAPD_BASE_DN" -s base pwdAccountLockedTime)" \
	'pwdAccountLockedTime: [0-9]{14}Z'
pam_run "$T/main" sshd cwu "$(pam_code 'now + 30 seconds')"
is "locked user, right code: refused" $? 1
like "...without the code being checked" "$(line auth)" 'rule=totp.max_failures reason=locked out since .* by pam: 3 failed .* \(code not checked\)'
check "...and the code was not spent (no ticket)" test ! -e "$T/tickets/cwu.ticket"
acct main sshd cwu
is "locked user: account refused" $? 1
like "...by the lockout store" "$(line account)" 'outcome=deny rule=totp.max_failures reason=locked out since'

# A good login resets the counter.
pam_enroll asmith
W=$(pam_wrong)
pam_run "$T/main" sshd asmith "$W"; pam_run "$T/main" sshd asmith "$W"
GOOD=$(pam_code 'now + 30 seconds')
pam_run "$T/main" sshd asmith "$GOOD"
is "asmith: 2 wrong, then right: accepted" $? 0
pam_run "$T/main" sshd asmith "$W"
like "...and the count starts again" "$(line auth)" 'failure 1 of 3'
pam_run "$T/main" sshd asmith "$W"
check "...so 2 more failures do not lock" test -z "$("$CLI" lockouts --dir "$LOCK" | grep asmith)"

# A corrupt counter counts as the threshold.
pam_enroll bjones
pam_run "$T/main" sshd bjones "$(pam_wrong)"
F=$LOCK/f-$(printf bjones | od -An -tx1 | tr -d ' \n').json
check "bjones has a counter file" test -f "$F"
printf 'garbage' >"$F"
pam_run "$T/main" sshd bjones "$(pam_wrong)"
is "bjones wrong code with a corrupt counter: refused" $? 1
like "...and locked at once (fail closed)" "$(line auth)" 'failure counter corrupt: treated as 3; account locked'

# --- N parallel wrong codes: exactly N counted, one lockout -------------
[ "$NPAR" = 100 ] || diag "under the sanitizers: $NPAR parallel wrong codes, not 100 (see NPAR above)"
pam_enroll dlopez
W=$(pam_wrong)
pam_parallel "$NPAR" "$T/par" sshd dlopez "$W" "$T/p"
is "$NPAR parallel wrong codes: all refused" "$(grep -l '^1$' "$T"/p/*.rc | wc -l)" "$NPAR"
F=$LOCK/f-$(printf dlopez | od -An -tx1 | tr -d ' \n').json
is "...the counter holds exactly $NPAR failures" \
	"$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["failures"]))' "$F")" "$NPAR"
is "...every count from 1 to $NPAR was seen once" \
	"$(grep -aho "failure [0-9]* of $NPAR" "$T"/p/*.out | sort -u | wc -l)" "$NPAR"
diag "$(ls "$T"/p/*.out | grep -vc '\.1\.out$') starts retried (no free pam_wrapper directory)"
is "...the lockout fired at the threshold" "$("$CLI" lockouts --dir "$LOCK" --json |
	python3 -c 'import json,sys; print([e["extra"] for e in json.load(sys.stdin) if e["user"] == "dlopez"])')" "['failures=$NPAR']"
is "...audited exactly once" "$(audit_count lockout.lock dlopez deny)" 1
is "...and $NPAR auth refusals audited" "$(audit_count pam.auth dlopez deny)" "$NPAR"

# --- the directory stops answering --------------------------------------
acct main sshd fmartin >/dev/null   # fmartin's answer enters the cache
check "offline cache entry written" test -f "$T/offline/fmartin.groups"
is "...root-only" "$(stat -c %a "$T/offline" "$T/offline/fmartin.groups" | tr '\n' ' ')" "700 600 "
# Timed against the same phase with the directory up (valgrind and a
# loaded machine make every phase slow): the wait is the 1 s timeout.
t0=$(date +%s%N)
acct nocache sshd fmartin >/dev/null
up=$(( ($(date +%s%N) - t0) / 1000000 ))
slapd_pause
t0=$(date +%s%N)
acct nocache sshd fmartin
rc=$? ms=$(( ($(date +%s%N) - t0) / 1000000 - up ))
is "directory down, no cache configured: refused" $rc 1
like "...as unavailable" "$(cat "$T/out")" 'cannot retrieve authentication info'
like "...saying why" "$(line account)" 'outcome=error .*directory unavailable: .*no offline cache configured'
check "...within the configured timeout (${ms} ms more than with it up, < 3000)" test $ms -lt 3000
acct main sshd fmartin
is "directory down, fresh cache entry: allowed" $? 0
like "...via the offline cache" "$(line account)" 'via offline cache \(directory unavailable; entry [0-9]+ s old\)'
acct main sshd gnovak
is "directory down, user not in the cache: refused" $? 1
like "...no entry" "$(line account)" 'offline cache: no entry'
sed -i "s/^fetched=.*/fetched=$(( $(date +%s) - 7200 ))/" "$T/offline/fmartin.groups"
acct main sshd fmartin
is "directory down, cache entry 2 h old (max 1 h): refused" $? 1
like "...as too old" "$(line account)" 'offline cache entry too old \(7[0-9]{3} s, max 3600 s\)'
printf 'photoguard-offline-cache 1\nfetched=%s\nlocked=0\nuser=zz\n' "$(date +%s)" \
	>"$T/offline/fmartin.groups"
acct main sshd fmartin
is "directory down, a damaged cache entry: refused" $? 1
pam_run "$T/main" sshd fmartin 123456
is "directory down: auth still asks for the second factor (no secret: refused)" $? 1
slapd_resume

# --- sessions ------------------------------------------------------------
PT_ITEMS=(-I rhost=192.0.2.7 -I tty=pts/7)
pam_run "$T/main" sshd asmith "" open_session close_session
is "session open and close: succeed" $? 0
PT_ITEMS=()
like "session open audited with user, service, rhost, tty" \
	"$(grep -a '"event":"pam.session.open"' "$AUDIT" | tail -1)" \
	'"actor":"asmith".*"service":"sshd","rhost":"192.0.2.7","tty":"pts/7"'
like "session close audited" "$(grep -a '"event":"pam.session.close"' "$AUDIT" | tail -1)" \
	'"actor":"asmith"'
like "session logged" "$(line session.open)" 'user=asmith service=sshd rhost=192.0.2.7 tty=pts/7 outcome=success'

# --- auth and account in one handle: account takes auth's lookup ---------
pam_enroll gnovak
pam_run "$T/main" sshd gnovak "$(pam_code 'now + 30 seconds')" authenticate acct_mgmt
is "auth then account in one handle: allowed" $? 0
like "...account used the lookup auth made while asking for the code" \
	"$(line account)" 'user=gnovak .*outcome=success .*roles nurse, host imaging-01, via directory, during auth'
pam_enroll ioconnor
pam_run "$T/main" sshd ioconnor "$(pam_code 'now + 30 seconds')" authenticate acct_mgmt
is "front desk, auth then account in one handle: refused" $? 1
like "...by the login rule, on auth's lookup" "$(line account)" \
	'user=ioconnor .*outcome=deny .*roles frontdesk, host imaging-01, via directory, during auth'
pam_run "$T/main" sshd ioconnor "" acct_mgmt
like "a later handle looks the user up itself" "$(line account)" \
	'user=ioconnor .*outcome=deny .*via directory\)'
# A code typed slowly: the lookup starts once it is in, so account still
# takes an answer seconds old, not one from before the prompt.
pam_enroll fmartin
PAM_ANSWER_DELAY=6 pam_run "$T/main" sshd fmartin \
	"$(pam_code 'now + 30 seconds')" authenticate acct_mgmt
is "code typed after 6 s, auth then account in one handle: allowed" $? 0
like "...account took the lookup auth made once the code was in" \
	"$(line account)" 'user=fmartin .*outcome=success .*via directory, during auth'
pam_enroll hpatel
# Timed against the same login with the directory up, so that a slow
# machine (valgrind, a loaded CI) does not count as a second wait: with
# 4 s to wait for the directory, once adds about 4 s, once a phase 8.
t0=$(date +%s%N)
pam_run "$T/wait4" sshd hpatel "$(pam_code 'now + 30 seconds')" authenticate acct_mgmt
up=$(( ($(date +%s%N) - t0) / 1000000 ))
# The next step's code is spent: into that step, for a fresh one.
sleep "$((30 - $(date +%s) % 30)).1"
slapd_pause
t0=$(date +%s%N)
pam_run "$T/wait4" sshd hpatel "$(pam_code 'now + 30 seconds')" authenticate acct_mgmt
rc=$? ms=$(( ($(date +%s%N) - t0) / 1000000 - up ))
slapd_resume
is "directory down, auth then account in one handle: refused" $rc 1
like "...auth itself succeeded" "$(line auth)" 'user=hpatel .*outcome=success'
like "...account refused on auth's lookup, as unavailable" "$(line account)" \
	'outcome=error .*directory unavailable: .*\(asked during auth\); no offline cache configured'
check "...waiting for the directory once, not once per phase (${ms} ms more than with it up, < 6000)" \
	test $ms -lt 6000
# Only an enrolled user causes that lookup: with the directory down (and
# 10 s to wait for it), a user without a secret (nullok: ignored) and one
# whose enrollment is not confirmed are answered without waiting.
slapd_pause
t0=$(date +%s%N)
pam_run "$T/nullok" sshd nosecret "" authenticate
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
like "no secret, nullok: ignored" "$(line auth)" 'user=nosecret .*outcome=ignore'
check "...without a directory lookup (${ms} ms < 8000)" test $ms -lt 8000
"$CLI" enroll pjones --secret-to-pipe --secret-dir "$SEC" --host-key "$KEY" \
	--confirm-code 000000 >/dev/null 2>&1
t0=$(date +%s%N)
pam_run "$T/slowdir" sshd pjones "000000" authenticate
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
slapd_resume
like "enrollment not confirmed: refused" "$(line auth)" 'user=pjones .*outcome=deny'
check "...without a directory lookup (${ms} ms < 8000)" test $ms -lt 8000

# --- an audit log that cannot be written: refused ------------------------
if chattr +i "$AUDIT" 2>/dev/null; then
	acct main sshd asmith
	is "audit log unwritable: account refused" $? 1
	like "...saying why" "$(line account)" 'outcome=error .*audit log unavailable'
	pam_run "$T/main" sshd asmith "" open_session
	is "audit log unwritable: session refused" $? 1
	pam_run "$T/main" sshd asmith "$(SECRET=$CWU pam_code)"
	is "audit log unwritable: auth refused" $? 1
	if grep -aq 'Verification code' "$T/out"; then
		not_ok "...before the code is asked"
	else
		ok "...before the code is asked"
	fi
	chattr -i "$AUDIT"
else
	skip "unwritable audit log" "chattr +i does not work on $(stat -f -c %T "$T")"
fi

# --- policy, ticket and configuration problems ----------------------------
acct badpol sshd asmith
is "policy that does not parse: refused" $? 1
like "...naming file:line:col" "$(line account)" "policy not usable: $T/bad.policy:2:[0-9]+: error"
chmod 666 "$T/clinic.policy"
acct main sshd asmith
is "world-writable policy: refused" $? 1
like "...as unsafe" "$(line account)" 'policy not usable: .*unsafe'
chmod 644 "$T/clinic.policy"
pam_enroll mdubois
chmod 755 "$T/tickets"
pam_run "$T/main" sshd mdubois "$(pam_code 'now + 30 seconds')"
is "MFA ticket cannot be written: the login fails (closed)" $? 1
like "...saying so" "$(line auth)" 'outcome=error .*code accepted but MFA ticket not written'
chmod 700 "$T/tickets"
printf '%s\n' "account required $MOD config=$T/pg.conf host=" >"$T/main/badhost"
acct main badhost asmith
is "empty host= argument: refused" $? 1
like "...as a bad argument" "$(line account)" 'bad module argument: host='

# --- photoguard unlock lifts a lockout everywhere ----------------------------
# locked_attr USER: how many pwdAccountLockedTime values USER's entry holds.
locked_attr() {
	slapd_search -b "uid=$1,ou=people,$SLAPD_BASE_DN" -s base pwdAccountLockedTime |
		grep -c '^pwdAccountLockedTime:'
}
unlock() { "$CLI" --config "$T/pg.conf" unlock "$1" >"$T/unlock.out" 2>&1; }
unlock_reason() { # USER: decision and reason of the last unlock outcome
	"$CLI" audit query --json --log "$AUDIT" --event admin.unlock |
		python3 -c 'import json,sys
r = [json.loads(l) for l in sys.stdin if l.strip()]
r = [x for x in r if x.get("object") == sys.argv[1]]
print(r[-1]["decision"], r[-1]["reason"]) if r else print("none")' "$1"
}
unlock cwu
is "unlock cwu (locked by auth: store and directory): exit 0" $? 0
is "...the store no longer holds cwu" "$("$CLI" lockouts --dir "$LOCK" | grep -c '^cwu ')" 0
is "...nor the directory" "$(locked_attr cwu)" 0
is "...audited as lifted in both" "$(unlock_reason cwu)" "allow lockout lifted (lockout store and directory)"
acct main sshd cwu
is "...and cwu's account check passes again" $? 0
unlock ekim
is "unlock ekim (locked in the directory only, e.g. by another server): exit 0" $? 0
is "...the directory no longer marks ekim" "$(locked_attr ekim)" 0
is "...audited as lifted in the directory" "$(unlock_reason ekim)" "allow lockout lifted (directory)"
acct main sshd ekim
is "...and ekim's account check passes" $? 0
unlock ekim
is "unlock ekim again: exit 1 (not locked anywhere)" $? 1
like "...saying so" "$(cat "$T/unlock.out")" 'ekim is not locked out'
is "bjones is locked in the directory too (auth lockout)" "$(locked_attr bjones)" 1
slapd_pause
unlock bjones
rc=$?
slapd_resume
is "unlock bjones with the directory down: exit 3" $rc 3
like "...saying the directory's lockout stays" "$(cat "$T/unlock.out")" \
	"cannot remove the directory's lockout of bjones: .*\(the lockout store's, if any, is lifted\)"
like "...audited as an error" "$(unlock_reason bjones)" \
	'^error lockout lifted in the lockout store; directory: '
is "...the directory still marks bjones" "$(locked_attr bjones)" 1
acct main sshd bjones
is "...so bjones's account check still refuses" $? 1
like "...because of the directory" "$(line account)" 'rule=directory.lockout'
unlock bjones
is "unlock bjones again, directory back: exit 0" $? 0
is "...the directory no longer marks bjones" "$(locked_attr bjones)" 0

# --- the whole trail --------------------------------------------------------
if grep -aqF "$CWU" "$AUDIT" || grep -aqE "[^0-9a-f]$GOOD[^0-9a-f]" "$AUDIT"; then
	not_ok "no code or secret in the audit log"
else
	ok "no code or secret in the audit log"
fi
"$CLI" audit verify --key "$T/audit.key.pub" "$AUDIT" >"$T/verify.out" 2>&1
is "photoguard audit verify passes after all of it" $? 0
diag "$(cat "$T/verify.out")"
pam_no_sanitizer_reports "$T/all.out" "$T"/p/*.out
done_testing
