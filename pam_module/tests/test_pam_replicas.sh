#!/bin/bash
# test_pam_replicas.sh - [directory] uri listing two providers in OpenLDAP
# multi-provider replication (tests/lib/slapd.sh slapd_pair_start), with
# [totp] store = directory: three imaging servers (own configuration,
# state, audit log and PAM service each) that all try provider 1 first.
# Enrolled once, a user logs in anywhere; one code raced on the three is
# accepted once; provider 1 killed mid-run: logins, lockouts, unlock and
# the lockout watch go on through provider 2 and no code used before the
# kill is accepted again; provider 1 back: it catches up; both away:
# refused with the reason.  Every accepted code is counted in the audit
# logs, and none twice.
. "$PG_SOURCE_ROOT/tests/lib/tap.sh"
. "$PG_SOURCE_ROOT/tests/lib/slapd.sh"
. "$PG_SOURCE_ROOT/pam_module/tests/pamlib.sh"

pam_setup || { done_testing; exit $?; }
pam_need_otp "replicated directory" || { done_testing; exit 0; }
WTOOL=$PG_BUILD_ROOT/core/dir/tests/dir_watch_tool
T=$(mktemp -d /tmp/pg-pamrep-XXXXXX)
chmod 700 "$T"
WPID=
cleanup() {
	[ -n "$WPID" ] && kill "$WPID" 2>/dev/null
	[ -n "${KEEP:-}" ] && return
	slapd_pair_stop
	rm -rf "$T"
}
trap cleanup EXIT
pam_dir_keys
pam_dir_env
SLAPD_LDAPI=1 # cn=config of each provider, to break replication below
if ! slapd_pair_start "$T/slapd" \
	"$PG_SOURCE_ROOT/deploy/ldap/clinic-sample.ldif" >"$T/slapd.log" 2>&1; then
	not_ok "two providers started"; sed 's/^/# /' "$T/slapd.log"
	done_testing; exit 1
fi
trap cleanup EXIT # slapd_pair_start set its own
ok "two providers in multi-provider replication: $SLAPD_PAIR_URIS"
pam_dir_identities
slapd_pair_wait_sync 10 2>>"$T/slapd.log"
is "the service identity made on provider 1 reached provider 2" $? 0
PAM_DIR_URI=$SLAPD_PAIR_URIS
server A
server B
server C
for s in A B C; do
	check "server $s's configuration with both providers is valid" \
		cli $s config check
done

# on N CMD...: CMD with slapd_search/admin/attr pointed at provider N.
on() { local n=$1; shift; ( slapd_pair_use "$n"; "$@" ); }
ms_now() { echo $(($(date +%s%N) / 1000000)); }
# A ledger of every code a login was told accepted: USER CODE, one a line.
accepted() { echo "$1 $2" >>"$T/ledger"; }
: >"$T/ledger"
# seen_on N USER ATTR VALUE [S]: waits until provider N shows VALUE;
# prints the milliseconds it took.
seen_on() {
	local n=$1 user=$2 a=$3 want=$4 t0 end
	t0=$(ms_now) end=$(($(ms_now) + ${5:-5} * 1000))
	until [ "$(on "$n" attr "$user" "$a" | sort | tr '\n' ' ')" = "$want" ]; do
		[ "$(ms_now)" -ge "$end" ] && return 1
		sleep 0.005
	done
	echo $(($(ms_now) - t0))
}

# --- enroll once (through provider 1), log in anywhere -----------------------
dir_enroll A asmith
is "photoguard enroll asmith on server A: exit 0" $? 0
ASMITH_SECRET=$SECRET
slapd_pair_wait_sync 10 2>>"$T/slapd.log"
is "...the secret reached provider 2" "$(on 2 attr asmith oathSecret)" "$(on 1 attr asmith oathSecret)"
c=$(next_code asmith)
login B asmith "$c" && accepted asmith "$c"
is "asmith logs in on server B" $? 0
login C asmith "$c"
is "...the same code on C: refused" $? 1
like "...as a replay" "$(line)" 'outcome=deny .*(already used|replay)'
c=$(next_code asmith)
login C asmith "$c" && accepted asmith "$c"
is "...the next code on C: accepted" $? 0

# --- replication delay, measured -------------------------------------------
delays=()
for i in 1 2 3 4 5 6 7 8 9 10; do
	t0=$(ms_now)
	printf '%s\n' "dn: uid=hpatel,ou=people,$BASE" "changetype: modify" \
		"replace: description" "description: round $i" | admin >/dev/null
	until on 2 attr hpatel description | grep -qx "round $i"; do
		[ $(($(ms_now) - t0)) -gt 5000 ] && break
		sleep 0.002
	done
	delays+=($(($(ms_now) - t0)))
done
max=$(printf '%s\n' "${delays[@]}" | sort -n | tail -1)
diag "replication p1 -> p2, write to seen (each a fresh ldapsearch): ${delays[*]} ms"
check "a write on provider 1 is seen on provider 2 within 2 s (worst ${max} ms)" test "$max" -lt 2000
c=$(next_code asmith)
step=$(($(attr asmith oathTOTPLastTimeStep) + 1))
login A asmith "$c" && accepted asmith "$c"
ms=$(seen_on 2 asmith oathTOTPLastTimeStep "$step ")
check "a login's watermark on provider 2 (${ms:-never} ms after the login returned)" test -n "$ms"
diag "watermark of a login seen on provider 2 after ${ms:-never} ms"

# --- one code raced on the three servers -----------------------------------
for round in 1 2 3; do
	forget_failures asmith
	step=$(($(attr asmith oathTOTPLastTimeStep) + 1))
	race "$(code_at $step)" asmith "$T/race$round"
	is "race $round: the same code on A, B and C at once: exactly one accepted" \
		"$(winners "$T/race$round")" 1
	[ "$(winners "$T/race$round")" -ge 1 ] && accepted asmith "$(code_at $step)"
	is "...the two others refused it as a replay" \
		"$(grep -la 'outcome=deny .*replay' "$T/race$round"/*.out | wc -l)" 2
	check "...the watermark reached provider 2" seen_on 2 asmith oathTOTPLastTimeStep "$step "
done
forget_failures asmith

# --- the lockout watch follows the providers ----------------------------
mkfifo "$T/win"
"$WTOOL" --uri "$SLAPD_PAIR_URIS" --ca "$SLAPD_CA" --base "$BASE" \
	--bind-dn "$SVC_DN" --bind-pw-file "$T/bind.pw" \
	--lockout-attr pwdAccountLockedTime <"$T/win" >"$T/watch.out" \
	2>"$T/watch.err" &
WPID=$!
exec 7>"$T/win"
wait_line() { # REGEX SECONDS: did the watch print it?
	local i
	for i in $(seq $((${2:-5} * 50))); do
		grep -Eq -- "$1" "$T/watch.out" && return 0
		sleep 0.02
	done
	return 1
}
check "the watch with both URIs refreshed" wait_line '^refresh ' 5
check "...through provider 1 (its connection)" \
	test -n "$(ss -Htn state established "dport = :${SLAPD_P1_URI##*:}" 2>/dev/null)"

# --- provider 1 killed mid-run ---------------------------------------------
dir_enroll A dlopez
is "dlopez enrolled (through provider 1)" $? 0
DLOPEZ_SECRET=$SECRET
dir_enroll B bjones
is "bjones enrolled" $? 0
BJONES_SECRET=$SECRET
dir_enroll C cwu
is "cwu enrolled" $? 0
CWU_SECRET=$SECRET
SECRET=$ASMITH_SECRET
before=$(next_code asmith)
login A asmith "$before" && accepted asmith "$before"
is "a code used through provider 1 just before the kill: accepted" $? 0
slapd_pair_wait_sync 10 2>>"$T/slapd.log"
is "...and replicated to provider 2 before the kill (contextCSN equal)" $? 0
is "...provider 2 has its watermark" "$(on 2 attr asmith oathTOTPLastTimeStep)" \
	"$(on 1 attr asmith oathTOTPLastTimeStep)"

# Logins for dlopez one after another on A, B, C while provider 1 dies.
SECRET=$DLOPEZ_SECRET
s0=$(($(attr dlopez oathTOTPLastTimeStep) + 1))
(
	for i in 0 1 2 3 4 5; do
		s=$(echo A B C A B C | cut -d' ' -f$((i + 1)))
		code=$(code_at $((s0 + i)))
		pam_run "$T/$s/svc" sshd dlopez "$code" >/dev/null 2>&1
		echo "$? $code" >"$T/run.$i"
		cp "$T/out" "$T/run.$i.out"
		sleep 0.3
	done
) &
RUN=$!
for i in $(seq 200); do [ -e "$T/run.1" ] && break; sleep 0.05; done
slapd_pair_kill 1 KILL
t_kill=$(ms_now)
slapd_pair_use 2
wait $RUN
check "provider 1 is gone" test -z "$SLAPD_P1_PID"
n_ok=0 n_err=0
for i in 0 1 2 3 4 5; do
	read -r rc code <"$T/run.$i"
	if [ "$rc" = 0 ]; then
		n_ok=$((n_ok + 1))
		accepted dlopez "$code"
	elif grep -aq 'outcome=error' "$T/run.$i.out"; then
		n_err=$((n_err + 1))
	fi
done
diag "logins during the kill: $n_ok accepted, $n_err refused with an error"
check "logins went on while provider 1 died: at least 5 of 6 accepted" test "$n_ok" -ge 5
is "...any other one refused as an error, none as a wrong code" $((n_ok + n_err)) 6
for i in 3 4 5; do
	like "...login $i (after the kill) accepted" "$(grep -a 'auth user=' "$T/run.$i.out" | tail -1)" 'outcome=success'
done
is "...provider 2 holds the last watermark" "$(attr dlopez oathTOTPLastTimeStep)" $((s0 + 5))

SECRET=$ASMITH_SECRET
for s in A B C; do
	login $s asmith "$before"
	is "server $s, provider 1 dead: the code used before the kill is refused" $? 1
	like "...as a replay" "$(line)" 'outcome=deny .*(already used|replay)'
done
forget_failures asmith
for s in A B C; do
	c=$(next_code asmith)
	login $s asmith "$c" && accepted asmith "$c"
	is "server $s logs asmith in through provider 2" $? 0
done
forget_failures asmith
# bjones: asmith has used up the steps the window lets run ahead.
SECRET=$BJONES_SECRET
step=$(($(attr bjones oathTOTPLastTimeStep) + 1))
race "$(code_at $step)" bjones "$T/race-p2"
is "through provider 2 alone: a code raced on A, B and C accepted once" \
	"$(winners "$T/race-p2")" 1
[ "$(winners "$T/race-p2")" -ge 1 ] && accepted bjones "$(code_at $step)"
forget_failures bjones

check "the watch reported provider 1 lost" wait_line '^down ' 10
for i in $(seq 250); do
	[ "$(grep -c '^refresh ' "$T/watch.out")" -ge 2 ] && break
	sleep 0.04
done
check "...a second refresh (reconnected to the survivor)" \
	test "$(grep -c '^refresh ' "$T/watch.out")" -ge 2

# Wrong codes counted clinic-wide lock on every server, through provider 2.
SECRET=$BJONES_SECRET
W=$(pam_wrong)
for s in A B C A; do login $s bjones "$W"; done
like "four wrong codes for bjones on A, B, C, A: failure 4 of 5" "$(line)" 'failure 4 of 5'
login B bjones "$W"
like "a fifth on B: locked" "$(line)" 'failure 5 of 5; account locked'
is "...pwdAccountLockedTime on provider 2" "$(nvals bjones pwdAccountLockedTime)" 1
check "...the watch saw the lock" wait_line '^lock bjones ' 5
for s in A B C; do
	login $s bjones "$(next_code bjones)"
	is "locked: the right code on $s refused" $? 1
	like "...without checking it" "$(line)" 'outcome=deny .*locked.*code not checked'
done
cli A unlock bjones >"$T/unlock.out" 2>&1
is "photoguard unlock bjones through provider 2: exit 0" $? 0
is "...the lock is gone from provider 2" "$(nvals bjones pwdAccountLockedTime)" 0
check "...the watch saw the unlock" wait_line '^unlock bjones' 5
c=$(next_code bjones)
login C bjones "$c" && accepted bjones "$c"
is "...bjones logs in on C" $? 0

# cwu locked while provider 1 is away: the lock must reach it when back.
SECRET=$CWU_SECRET
for s in A B C A B; do login $s cwu "$W"; done
like "cwu locked through provider 2" "$(line)" 'account locked'
dl_step=$(attr dlopez oathTOTPLastTimeStep)
as_step=$(attr asmith oathTOTPLastTimeStep)

# --- provider 1 back: it catches up --------------------------------------
slapd_pair_restart 1 2>>"$T/slapd.log"
is "provider 1 restarted on its ports and data" $? 0
t0=$(ms_now)
slapd_pair_wait_sync 20 2>>"$T/slapd.log"
is "...it caught up with provider 2 (contextCSN equal)" $? 0
diag "provider 1 caught up $(($(ms_now) - t0)) ms after it answered again"
is "...cwu's lock, made while it was away, is on provider 1" "$(on 1 nvals cwu pwdAccountLockedTime)" 1
is "...bjones's unlock too" "$(on 1 nvals bjones pwdAccountLockedTime)" 0
is "...and the watermarks (dlopez)" "$(on 1 attr dlopez oathTOTPLastTimeStep)" "$dl_step"
is "...(asmith)" "$(on 1 attr asmith oathTOTPLastTimeStep)" "$as_step"
slapd_pair_use 1
SECRET=$DLOPEZ_SECRET
last=$(code_at "$dl_step")
login B dlopez "$last"
is "the code dlopez used through provider 2: refused through provider 1" $? 1
like "...as a replay" "$(line)" 'outcome=deny .*(already used|replay)'
c=$(next_code dlopez)
login B dlopez "$c" && accepted dlopez "$c"
is "...the next one accepted" $? 0
check "...through provider 1 again (its watermark moved first)" \
	test "$(on 1 attr dlopez oathTOTPLastTimeStep)" = $((dl_step + 1))
cli B unlock cwu >/dev/null 2>&1
is "photoguard unlock cwu through provider 1: exit 0" $? 0
check "...the unlock replicated to provider 2" seen_on 2 cwu pwdAccountLockedTime ""
SECRET=$CWU_SECRET
c=$(next_code cwu)
login A cwu "$c" && accepted cwu "$c"
is "...cwu logs in on A" $? 0

# --- replication broken: a code is not accepted on one provider alone -------
# Provider 2 answers, but its syncrepl points nowhere: a watermark moved
# on provider 1 would be lost with it, so the login is refused.
slapd_pair_use 2
repl=$(ldapsearch -LLL -Q -Y EXTERNAL -H "$SLAPD_LDAPI_URI" -o ldif-wrap=no \
	-b 'olcDatabase={1}mdb,cn=config' -s base olcSyncrepl | sed -n 's/^olcSyncrepl: //p')
repl_set() { # PROVIDER-URI-REPLACEMENT
	printf 'dn: olcDatabase={1}mdb,cn=config\nchangetype: modify\nreplace: olcSyncrepl\nolcSyncrepl: %s\n' \
		"$(printf '%s' "$repl" | sed "s|provider=ldap://127.0.0.1:[0-9]*|$1|")" |
		( slapd_pair_use 2; slapd_config )
}
slapd_pair_use 1
check "provider 2 stops replicating from provider 1" repl_set "provider=ldap://127.0.0.1:9"
c=$(next_code cwu)
login A cwu "$c"
is "cwu's good code on A is refused while it cannot reach provider 2" $? 1
like "...as an error naming replication" "$(line)" "outcome=error .*has not reached the other provider"
check "provider 2 replicates again" repl_set "provider=$SLAPD_P1_URI"
check "...and catches up" slapd_pair_wait_sync 20
c=$(next_code cwu)
login A cwu "$c" && accepted cwu "$c"
is "...cwu's next code on A is accepted" $? 0

# --- no code accepted twice, counted in the audit logs ---------------------
n_audit=$(cat "$T"/[ABC]/audit.jsonl | grep -a '"event":"pam.auth"' |
	grep -a '"decision":"allow"' | grep -ac '"reason":"\(scratch \)\?code accepted"')
is "the audit logs hold as many accepted codes as the logins were told" \
	"$n_audit" "$(wc -l <"$T/ledger")"
is "...and no user's code twice in the ledger" \
	"$(sort "$T/ledger" | uniq -d | wc -l)" 0
diag "accepted codes over the run: $n_audit"

# --- both providers away: fail closed ---------------------------------------
# Not by closing its input: a slapd started since holds the fifo open.
exec 7>&-
kill "$WPID" 2>/dev/null
wait "$WPID" 2>/dev/null
WPID=
slapd_pair_kill 1 KILL
slapd_pair_kill 2 KILL
SECRET=$ASMITH_SECRET
login A asmith "$(code_at $((as_step + 1)))"
is "both providers down: refused" $? 1
like "...as an error naming the directory" "$(line)" "outcome=error .*Can't contact LDAP server"

pam_no_sanitizer_reports "$T/all.out"
done_testing
