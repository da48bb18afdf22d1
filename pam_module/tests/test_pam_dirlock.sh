#!/bin/bash
# test_pam_dirlock.sh - directory lockouts and a directory that is away,
# through the real libpam (pam_wrapper + pamtester) against a real slapd:
# a lockout decided while slapd does not answer is queued (alerted, shown
# PENDING by `photoguard lockouts`) and lands in the directory once slapd
# is back (written by the next account phase, or by `photoguard
# lockouts`); a lockout lifted meanwhile is never written; and the offline
# role cache never lets in a user the directory marks locked, also when
# the lock was set elsewhere after the user's last lookup on this host.
. "$PG_SOURCE_ROOT/tests/lib/tap.sh"
. "$PG_SOURCE_ROOT/tests/lib/slapd.sh"
. "$PG_SOURCE_ROOT/pam_module/tests/pamlib.sh"
# Active Directory's lockoutTime, for the last part.
SLAPD_SCHEMAS="$PG_SOURCE_ROOT/tests/lib/interop-schema.ldif"
SLAPD_ACCESS='to attrs=lockoutTime by dn.exact="cn=photoguard,ou=services,dc=clinic,dc=example" write by * read'

pam_setup || { done_testing; exit $?; }
T=$(mktemp -d /tmp/pg-pamdl-XXXXXX)
chmod 700 "$T"
cleanup() {
	[ -n "${KEEP:-}" ] && return
	slapd_stop
	rm -rf "$T"
}
trap cleanup EXIT
SEC=$T/secrets KEY=$T/host.key AUDIT=$T/audit/audit.jsonl LOCK=$T/lockout
mkdir -m 700 "$SEC" "$T/tickets" "$T/audit"
"$CLI" totp hostkey --host-key "$KEY" >/dev/null
"$CLI" audit keygen "$T/audit.key" >/dev/null
if ! slapd_start "$T/slapd" "$PG_SOURCE_ROOT/deploy/ldap/clinic-sample.ldif" \
	>"$T/slapd.log" 2>&1; then
	not_ok "slapd started"; sed 's/^/# /' "$T/slapd.log"
	done_testing; exit 1
fi
ok "slapd started on $SLAPD_URI"
trap cleanup EXIT # slapd_start set its own
printf '%s' "$SLAPD_ADMIN_PW" >"$T/bind.pw" && chmod 600 "$T/bind.pw"
install -m 0644 "$PG_SOURCE_ROOT/policy/examples/clinic.policy" "$T/clinic.policy"
cat >"$T/pg.conf" <<CONF
[directory]
backend = ldap
uri = $SLAPD_URI
ca_file = $SLAPD_CA
base_dn = $SLAPD_BASE_DN
bind_dn = $SLAPD_ADMIN_DN
bind_password_file = $T/bind.pw
lockout_attribute = pwdAccountLockedTime
network_timeout = 1s
timeout = 1s
cache_ttl = 0s
offline_cache_dir = $T/offline
offline_max_age = 1h
[policy]
file = $T/clinic.policy
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
max_failures = 2
CONF
mkdir -p "$T/main"
printf '%s\n' "auth required $MOD config=$T/pg.conf host=imaging-01" \
	"account required $MOD config=$T/pg.conf host=imaging-01" >"$T/main/sshd"
acct() { pam_run "$T/main" sshd "$1" "" acct_mgmt; }
line() { grep -a "$1 user=" "$T/out" | tail -1; }
lockouts() { "$CLI" --config "$T/pg.conf" lockouts "$@" >"$T/lo.out" 2>"$T/lo.err"; }
locked_attr() { # USER: how many pwdAccountLockedTime values USER's entry holds
	slapd_search -b "uid=$1,ou=people,$SLAPD_BASE_DN" -s base pwdAccountLockedTime |
		grep -c '^pwdAccountLockedTime:'
}
lock_out() { # USER: two wrong codes (max_failures = 2)
	local W
	W=$(pam_wrong)
	pam_run "$T/main" sshd "$1" "$W"
	pam_run "$T/main" sshd "$1" "$W"
}
pending() { find "$LOCK" -name 'p-*.json' | wc -l; }

# --- a lockout decided while the directory is away -------------------------
pam_enroll cwu
slapd_pause
lock_out cwu
like "directory away: cwu locked in the store" "$(line auth)" \
	'failure 2 of 2; account locked'
like "...the directory write failed and is queued" "$(line auth)" \
	'directory lockout attribute not set: .*; queued for retry'
like "...with an alert" "$(cat "$T/out")" 'ALERT: directory lockout pending'
lockouts
is "photoguard lockouts, directory away: exit 3" $? 3
like "...cwu is listed PENDING" "$(sed -n '/^PENDING/,$p' "$T/lo.out")" \
	'cwu +[0-9T:-]+Z +[0-9]+ +[^ ]'
like "...and said on stderr" "$(cat "$T/lo.err")" '1 lockout\(s\) not yet written to the directory'
lockouts --json
like "...in JSON too" "$(cat "$T/lo.out")" '"state": "pending"'
slapd_resume
is "directory back: not yet written" "$(locked_attr cwu)" 0
acct asmith
is "another user's account phase: allowed" $? 0
is "...and cwu's lockout has landed in the directory" "$(locked_attr cwu)" 1
like "...(ldapsearch)" \
	"$(slapd_search -b "uid=cwu,ou=people,$SLAPD_BASE_DN" -s base pwdAccountLockedTime)" \
	'pwdAccountLockedTime: [0-9]{14}Z'
is "...the queue is empty" "$(pending)" 0
lockouts
is "photoguard lockouts: exit 0" $? 0
check "...no PENDING section" test -z "$(grep '^PENDING' "$T/lo.out")"

# `photoguard lockouts` writes the queue too.
pam_enroll bjones
slapd_pause
lock_out bjones
slapd_resume
is "bjones queued while the directory was away" "$(pending)" 1
lockouts
is "photoguard lockouts, directory back: exit 0" $? 0
is "...bjones's lockout written by it" "$(locked_attr bjones)" 1
is "...the queue is empty" "$(pending)" 0

# A lockout lifted while queued is never written.
pam_enroll dlopez
slapd_pause
lock_out dlopez
"$CLI" --config "$T/pg.conf" unlock dlopez >/dev/null 2>&1
slapd_resume
acct asmith >/dev/null
is "dlopez unlocked while queued: the directory never locks dlopez" "$(locked_attr dlopez)" 0
is "...and the queue is empty" "$(pending)" 0

# --- the offline cache never outvotes a lock --------------------------------
acct ekim
is "ekim, not locked: allowed (enters the offline cache)" $? 0
acct fmartin
is "fmartin, not locked: allowed (enters the offline cache)" $? 0
# Another server locks both in the directory; ekim's next account phase
# here sees it itself, fmartin never logs in here before the directory goes.
for u in ekim fmartin; do
	printf '%s\n' "dn: uid=$u,ou=people,$SLAPD_BASE_DN" "changetype: modify" \
		"replace: pwdAccountLockedTime" "pwdAccountLockedTime: 20260101000000Z" |
		slapd_modify >/dev/null
done
acct ekim
is "ekim, locked in the directory: refused" $? 1
rm -f "$T/offline/.locks-listed" # a minute has gone by
acct asmith
is "someone else logs in: allowed" $? 0
is "...and the cache learned fmartin's lock from the directory" \
	"$(grep -c '^locked=1' "$T/offline/fmartin.groups")" 1
slapd_pause
acct ekim
is "directory away, ekim cached as locked: refused" $? 1
like "...by the directory's lockout, via the cache" "$(line account)" \
	'rule=directory.lockout .*via offline cache'
acct fmartin
is "directory away, fmartin locked elsewhere after their last lookup: refused" $? 1
like "...by the directory's lockout, via the cache" "$(line account)" \
	'rule=directory.lockout .*via offline cache'
acct gnovak
is "directory away, gnovak never cached: refused" $? 1
slapd_resume

# `photoguard lockouts` also marks the cache.
acct hpatel
is "hpatel, not locked: allowed (enters the offline cache)" $? 0
printf '%s\n' "dn: uid=hpatel,ou=people,$SLAPD_BASE_DN" "changetype: modify" \
	"replace: pwdAccountLockedTime" "pwdAccountLockedTime: 20260101000000Z" |
	slapd_modify >/dev/null
lockouts
like "photoguard lockouts lists hpatel (locked in the directory)" "$(cat "$T/lo.out")" 'hpatel .*directory'
slapd_pause
acct hpatel
is "directory away after that: hpatel refused" $? 1
slapd_resume

# --- Active Directory's lockoutTime: no lock from a client ------------------
# Active Directory lets a client write lockoutTime 0 only: a lockout here
# holds on this server, alerted so that an admin locks the account in the
# directory, and nothing is queued that could never land.
sed 's/^lockout_attribute = .*/lockout_attribute = lockoutTime/' "$T/pg.conf" >"$T/ad.conf"
mkdir -p "$T/ad"
printf '%s\n' "auth required $MOD config=$T/ad.conf host=imaging-01" \
	"account required $MOD config=$T/ad.conf host=imaging-01" >"$T/ad/sshd"
adattr() { # USER: USER's lockoutTime values
	slapd_search -b "uid=$1,ou=people,$SLAPD_BASE_DN" -s base lockoutTime |
		sed -n 's/^lockoutTime: //p'
}
pam_enroll ioconnor
W=$(pam_wrong)
pam_run "$T/ad" sshd ioconnor "$W"
pam_run "$T/ad" sshd ioconnor "$W"
like "lockoutTime: ioconnor locked on this server only" "$(line auth)" \
	'account locked.*locked on this server only \(lockoutTime takes no lock from a client\)'
like "...with an alert to lock the account in the directory" "$(cat "$T/out")" \
	'ALERT: lockout held on this server only: the directory.s lockoutTime takes no lock from a client'
is "...nothing queued that could never land" "$(pending)" 0
is "...nothing written to the directory" "$(adattr ioconnor)" ""
pam_fresh_step 5
pam_run "$T/ad" sshd ioconnor "$(pam_code)"
is "...the right code is refused while locked here" $? 1
# Locked by the directory's own policy: refused on this server too; an
# unlock writes the 0 a client may write.
printf '%s\n' "dn: uid=asmith,ou=people,$SLAPD_BASE_DN" "changetype: modify" \
	"add: objectClass" "objectClass: pgInteropAccount" "-" \
	"replace: lockoutTime" "lockoutTime: 134090928000000000" | slapd_modify >/dev/null
pam_run "$T/ad" sshd asmith "" acct_mgmt
is "asmith, lockoutTime above 0 in the directory: refused" $? 1
like "...by the directory's lockout" "$(line account)" 'rule=directory.lockout'
"$CLI" --config "$T/ad.conf" unlock asmith >"$T/unlock.out" 2>&1
is "photoguard unlock asmith: exit 0" $? 0
is "...lockoutTime written 0" "$(adattr asmith)" 0
pam_run "$T/ad" sshd asmith "" acct_mgmt
is "...and asmith's account phase is allowed" $? 0

pam_no_sanitizer_reports "$T/all.out"
done_testing
