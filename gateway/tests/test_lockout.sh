#!/bin/bash
# test_lockout.sh - what a gateway lockout does beyond refusing the next
# open, after a cp -r of the store by gwbulk: the LOG_ALERT line to syslog
# (authpriv.alert, naming the user and the rule), the hook with exactly its
# documented environment, the directory's lockout attribute (written by the
# documented bind account through slapd's ACL), and the PAM module, with
# the gateway's own configuration, refusing the next login (account, and
# auth with a right code).  `photoguard unlock gwbulk` must lift all of it:
# the store, the directory, PAM and the gateway.  A directory lockout the
# PAM module could not write (slapd paused) is written by the running
# gateway's retry once slapd is back.  With Active Directory's lockoutTime,
# which takes no lock from a client, the lockout holds on the gateway's
# server with an alert saying so, and nothing is queued.
#
# The syslog daemon is a stand-in: the test runs in a private mount
# namespace whose /dev is a tmpfs holding its socket, so the host's
# /dev/log is never touched.

# Into a mount namespace of our own (everything below runs there: slapd,
# the mount, the readers, the logins), or on without the syslog checks.
if [ -z "${GW_LOCKOUT_NS:-}" ]; then
	export GW_LOCKOUT_NS=no
	if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
		GW_LOCKOUT_NS=yes exec unshare -m -- "$0" "$@"
	fi
fi
# lockoutTime (Active Directory's lockout attribute) for the last part.
export SLAPD_SCHEMAS="$PG_SOURCE_ROOT/tests/lib/interop-schema.ldif"
. "$PG_SOURCE_ROOT/gateway/tests/lib.sh"

# ns_dev: a tmpfs /dev with the nodes the test needs, so /dev/log can be
# the stand-in's.  Private to this namespace: gone when it ends.
ns_dev() {
	mount -t tmpfs -o mode=0755 none /dev || return 1
	mknod -m 666 /dev/null c 1 3 && mknod -m 666 /dev/zero c 1 5 &&
	    mknod -m 666 /dev/random c 1 8 && mknod -m 666 /dev/urandom c 1 9 &&
	    mknod -m 666 /dev/fuse c 10 229 || return 1
	ln -s /proc/self/fd /dev/fd
	ln -s /proc/self/fd/0 /dev/stdin
	ln -s /proc/self/fd/1 /dev/stdout
	ln -s /proc/self/fd/2 /dev/stderr
	mkdir -m 1777 /dev/shm
}

SYSLOG=no
if [ "$GW_LOCKOUT_NS" = yes ]; then
	if ns_dev; then
		SYSLOG=yes
	else
		not_ok "a private /dev in the mount namespace"
	fi
fi

gw_setup_or_bail
o=$tmp/out
SINK_PID=
trap '[ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null; gw_cleanup' EXIT

# The stand-in syslog daemon: every datagram on /dev/log, one per line,
# anything unprintable as \xNN.
if [ "$SYSLOG" = yes ]; then
	cat >"$tmp/sink.py" <<'PY'
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
os.chmod("/dev/log", 0o666)
out = open(sys.argv[1], "a")
open(sys.argv[2], "w").close()
while True:
    d = s.recv(65536)
    out.write("".join(chr(b) if 0x20 <= b < 0x7f and b != 0x5c else "\\x%02x" % b for b in d) + "\n")
    out.flush()
PY
	python3 "$tmp/sink.py" "$tmp/syslog" "$tmp/sink.ready" &
	SINK_PID=$!
	for i in $(seq 1 100); do [ -e "$tmp/sink.ready" ] && break; sleep 0.05; done
	check "the stand-in syslog daemon listens on the namespace's /dev/log" test -S /dev/log
fi

# The documented bind account, the only one slapd's ACL lets write
# pwdAccountLockedTime (tests/lib/slapd.sh).
BIND_DN="cn=photoguard,ou=services,$SLAPD_BASE_DN"
BIND_PW=bind-$RANDOM$RANDOM
printf 'dn: ou=services,%s\nobjectClass: organizationalUnit\nou: services\n\ndn: %s\nobjectClass: applicationProcess\nobjectClass: simpleSecurityObject\ncn: photoguard\nuserPassword: %s\n' \
    "$SLAPD_BASE_DN" "$BIND_DN" "$BIND_PW" | slapd_modify
is "the bind account is in the directory" $? 0
printf '%s' "$BIND_PW" >"$tmp/etc/bind.pw"
chmod 0600 "$tmp/etc/bind.pw"
mkdir -m 0700 "$tmp/secrets"
sed -i -e "/^\[directory\]/a bind_dn = $BIND_DN\nbind_password_file = $tmp/etc/bind.pw\nlockout_attribute = pwdAccountLockedTime" \
    -e "/^\[totp\]/a secret_dir = $tmp/secrets\nhost_key = $tmp/etc/totp.key" \
    -e "s/^cache_ttl = .*/cache_ttl = 10m/" "$tmp/etc/pg.conf"
out=$("$PG_CLI" config check 2>&1)
rc=$?
is "the configuration with the directory's lockout attribute checks" $rc 0
[ $rc = 0 ] || diag "$out"

# The hook records the environment it was started with, nothing added.
printf '#!/bin/sh\n/usr/bin/tr "\\000" "\\n" </proc/$$/environ >%s/out/hookenv.tmp && /bin/mv %s/out/hookenv.tmp %s/out/hookenv\n' \
    "$tmp" "$tmp" "$tmp" >"$tmp/etc/hook.sh"

PAM=
if gw_pam_setup; then
	PAM=1
	SEC=$tmp/secrets KEY=$tmp/etc/totp.key
	"$CLI" totp hostkey --host-key "$KEY" >/dev/null
	pam_enroll gwbulk
	check "gwbulk is enrolled for the second factor" test -n "$SECRET"
fi

gw_mfa_issue gwbulk
gw_mfa_issue gwnurse
# The gateway serves as the store's user: a root-only bind password is one
# it could not read after the drop, so it does not start at all.
gw_start
is "with a root-only bind password the gateway does not mount" "$(mountpoint -q "$m" && echo mounted)" ""
wait "$GW_PID" 2>/dev/null
is "...and exits 1" $? 1
GW_PID=
like "...saying why" "$(cat "$tmp/gateway.log")" \
    "bind password file $tmp/etc/bind.pw: unsafe file owner or mode \\(the gateway serves as the service user"
chgrp "$(id -g gwstore)" "$tmp/etc/bind.pw"
chmod 0640 "$tmp/etc/bind.pw"
gw_start_or_bail "with the bind password root:gwstore 0640 the gateway mounts"
is "gwbulk reads before the lockout" "$(as gwbulk head -1 "$m/patients/P000001/2026-01-10-preop/IMG_0001.jpg")" \
    "PHOTO patients/P000001/2026-01-10-preop/IMG_0001.jpg"

# --- the lockout -------------------------------------------------------------
as gwbulk cp -r "$m/patients" "$o/cp" 2>/dev/null
"$PG_CLI" lockouts --json >"$o/lockouts.json" 2>&1
# field NAME: the store's entry of gwbulk (extra split: files, bytes, patients).
field() {
	python3 - "$o/lockouts.json" "$1" <<'PY'
import json, sys
e = [x for x in json.load(open(sys.argv[1])) if x["user"] == "gwbulk"]
if e:
    e = e[0]
    e.update(kv.split("=", 1) for kv in (e.get("extra") or "").split())
    print(e.get(sys.argv[2], ""))
PY
}
RULE=$(field rule) REASON=$(field reason) SINCE=$(field since_epoch)
check "cp -r: gwbulk is locked out in the store" test -n "$RULE"
like "...by the bulk threshold" "$RULE" "^$tmp/etc/test.policy:[0-9]+ lockout files 12/600s\$"

# --- syslog: one authpriv.alert line naming the user and the rule ---------
if [ "$SYSLOG" = yes ]; then
	for i in $(seq 1 100); do grep -q 'LOCKOUT of gwbulk' "$tmp/syslog" 2>/dev/null && break; sleep 0.05; done
	alerts=$(grep 'photoguard-gateway\[[0-9]*\]: .*LOCKOUT of ' "$tmp/syslog")
	diag "syslog got: $alerts"
	is "exactly one lockout line reached syslog" "$(printf '%s\n' "$alerts" | grep -c .)" 1
	# <PRI> = facility * 8 + severity: authpriv (10) * 8 + alert (1).
	like "...at authpriv.alert (<81>), from the gateway" "$alerts" '^<81>[A-Z][a-z]{2} [ 0-9]{2} [0-9:]{8} photoguard-gateway\[[0-9]+\]: '
	check "...naming the user, the reason and the rule of the store's entry" \
	    grep -qF "LOCKOUT of gwbulk: ${REASON:-?} (${RULE:-?})" "$tmp/syslog"
	if grep -q 'could not set the directory lockout\|lockout hook' "$tmp/syslog"; then
		not_ok "no alert about the directory write or the hook"
		grep 'could not set the directory lockout\|lockout hook' "$tmp/syslog" | sed 's/^/#   /'
	else
		ok "no alert about the directory write or the hook"
	fi
else
	skip "the LOG_ALERT line of the lockout" "no private mount namespace (needs root and unshare -m) for a stand-in /dev/log"
fi

# --- the hook: the documented environment and nothing else -----------------
for i in $(seq 1 100); do [ -e "$tmp/out/hookenv" ] && break; sleep 0.1; done
is "the hook gets exactly the documented variables" \
    "$(cut -d= -f1 "$tmp/out/hookenv" 2>/dev/null | sort | tr '\n' ' ')" \
    "PATH PHOTOGUARD_BYTES PHOTOGUARD_COMPONENT PHOTOGUARD_EVENT PHOTOGUARD_FILES PHOTOGUARD_HOST PHOTOGUARD_PATIENTS PHOTOGUARD_REASON PHOTOGUARD_RULE PHOTOGUARD_TIME PHOTOGUARD_USER "
hookvar() { sed -n "s/^$1=//p" "$tmp/out/hookenv" 2>/dev/null; }
is "...PHOTOGUARD_EVENT" "$(hookvar PHOTOGUARD_EVENT)" lockout
is "...PHOTOGUARD_COMPONENT" "$(hookvar PHOTOGUARD_COMPONENT)" gateway
is "...PHOTOGUARD_USER" "$(hookvar PHOTOGUARD_USER)" gwbulk
is "...PHOTOGUARD_RULE: the store's rule" "$(hookvar PHOTOGUARD_RULE)" "$RULE"
is "...PHOTOGUARD_REASON: the store's reason" "$(hookvar PHOTOGUARD_REASON)" "$REASON"
is "...PHOTOGUARD_FILES, _BYTES, _PATIENTS: the store's counts" \
    "$(hookvar PHOTOGUARD_FILES) $(hookvar PHOTOGUARD_BYTES) $(hookvar PHOTOGUARD_PATIENTS)" \
    "$(field files) $(field bytes) $(field patients)"
check "...over the threshold (files $(hookvar PHOTOGUARD_FILES) > 12)" test "$(hookvar PHOTOGUARD_FILES)" -gt 12
is "...PHOTOGUARD_HOST" "$(hookvar PHOTOGUARD_HOST)" "$(hostname)"
t=$(date -u -d "$(hookvar PHOTOGUARD_TIME)" +%s 2>/dev/null)
check "...PHOTOGUARD_TIME: UTC ISO 8601, the time of the lockout ($(hookvar PHOTOGUARD_TIME))" \
    test -n "$t" -a "${t:-0}" -ge "$((${SINCE:-0} - 1))" -a "${t:-0}" -le "$((${SINCE:-0} + 2))"
like "...in the documented form" "$(hookvar PHOTOGUARD_TIME)" '^20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$'
is "...PATH" "$(hookvar PATH)" "/usr/sbin:/usr/bin:/sbin:/bin"

# --- the directory: pwdAccountLockedTime on gwbulk's entry --------------------
# locked_attr USER: the pwdAccountLockedTime values of USER's entry.
locked_attr() {
	slapd_search -b "uid=$1,ou=people,$SLAPD_BASE_DN" -s base pwdAccountLockedTime |
	    sed -n 's/^pwdAccountLockedTime: //p'
}
# The hook runs after the directory write: no wait needed.
v=$(locked_attr gwbulk)
like "the directory marks gwbulk as locked out" "$v" '^[0-9]{14}Z$'
t=$(date -u -d "$(echo "$v" | sed -E 's/^(....)(..)(..)(..)(..)(..)Z$/\1-\2-\3 \4:\5:\6/')" +%s 2>/dev/null)
check "...at the time of the lockout ($v)" \
    test -n "$t" -a "${t:-0}" -ge "$((${SINCE:-0} - 1))" -a "${t:-0}" -le "$((${SINCE:-0} + 10))"
is "...and no other entry" "$(slapd_search -b "ou=people,$SLAPD_BASE_DN" '(pwdAccountLockedTime=*)' dn | grep -c '^dn:')" 1

# --- PAM: the next login is refused ---------------------------------------------
if [ -n "$PAM" ]; then
	gw_pam gwbulk "" acct_mgmt
	is "the next PAM login of gwbulk is refused (account)" $? 1
	gw_pam_has "...by the gateway's lockout, with its reason" \
	    "outcome=deny rule=$(printf '%s' "$RULE" | sed 's/ /\\x20/g') reason=locked out since $(date -u -d "@${SINCE:-0}" +%Y-%m-%dT%H:%M:%SZ) by gateway: $REASON"
	gw_pam gwbulk "$(pam_code 'now + 30 seconds')"
	is "...and auth with a right code is refused" $? 1
	like "...without the code being checked" "$(gw_pam_line auth)" 'outcome=deny .*by gateway: .*\(code not checked\)'
	is "...both refusals audited" "$(audit_count pam.account deny gwbulk) $(audit_count pam.auth deny gwbulk)" "1 1"
else
	skip "the PAM login after the lockout" "pamtester, oathtool or pam_wrapper missing (see above)"
fi

# --- photoguard unlock lifts it everywhere -------------------------------------
out=$("$PG_CLI" unlock gwbulk 2>&1)
is "photoguard unlock gwbulk: exit 0" $? 0
is "...says so" "$out" "gwbulk: unlocked"
is "...the store no longer holds gwbulk" "$("$PG_CLI" lockouts | grep -c '^gwbulk ')" 0
is "...the directory no longer marks gwbulk" "$(locked_attr gwbulk)" ""
like "...audited as lifted in the store and the directory" \
    "$(grep '"event":"admin.unlock"' "$tmp/audit/audit.jsonl" | tail -1)" \
    '"object":"gwbulk","decision":"allow".*"reason":"lockout lifted \(lockout store and directory\)"'
if [ -n "$PAM" ]; then
	gw_pam gwbulk "" acct_mgmt
	is "the same PAM account check now lets gwbulk in" $? 0
	like "...by the login rule" "$(gw_pam_line account)" "outcome=success rule=$tmp/etc/test.policy:[0-9]+ .*roles bulk, host imaging-01, via directory"
	gw_pam gwbulk "$(pam_code 'now + 30 seconds')"
	is "...and auth with a right code succeeds" $? 0
else
	skip "the PAM login after the unlock" "pamtester, oathtool or pam_wrapper missing (see above)"
fi
# The lockout took gwbulk's MFA ticket: the unlock does not give it back.
is "the lockout removed gwbulk's MFA ticket" \
    "$(PG_SHARE_USER=gwstore "$GW_MFA" valid "$tmp/mfa" gwbulk 2>&1)" 0
like "...so after the unlock a read that needs MFA is refused" \
    "$(as gwbulk head -1 "$m/patients/P000002/2026-01-10-preop/IMG_0001.jpg" 2>&1)" \
    'Permission denied|No such file'
gw_mfa_issue gwbulk
is "...and after a new MFA login the gateway serves gwbulk again at once" \
    "$(as gwbulk head -1 "$m/patients/P000002/2026-01-10-preop/IMG_0001.jpg" 2>&1)" \
    "PHOTO patients/P000002/2026-01-10-preop/IMG_0001.jpg"

# --- locked by another server: unlock reaches this gateway ----------------------
# The directory's answer is cached for cache_ttl (10m here).  gwnurse is
# locked in the directory only, as another server's gateway would do it.
dirlock() { # USER add|delete
	printf 'dn: uid=%s,ou=people,%s\nchangetype: modify\n%s: pwdAccountLockedTime\n%s\n' \
	    "$1" "$SLAPD_BASE_DN" "$2" "$([ "$2" = add ] && echo 'pwdAccountLockedTime: 20260101000000Z')" |
	    slapd_modify >/dev/null
}
NF=$m/patients/P000001/2026-01-10-preop/IMG_0002.jpg
dirlock gwnurse add
as gwnurse head -1 "$NF" >"$o/nurse" 2>&1
like "locked in the directory by another server: the gateway refuses gwnurse" "$(cat "$o/nurse")" 'No such file|Permission denied'
out=$("$PG_CLI" lockouts 2>&1)
is "photoguard lockouts: exit 0 with the directory asked" $? 0
like "...lists gwnurse, locked by another server, as by the directory" "$out" \
    '(^|\n)gwnurse +2026-01-01T00:00:00Z +directory +- +pwdAccountLockedTime +locked in the directory'
is "...and gwnurse once only" "$(printf '%s\n' "$out" | grep -c '^gwnurse ')" 1
is "...--json: the same, since_epoch from the GeneralizedTime" \
    "$("$PG_CLI" lockouts --json | python3 -c 'import json,sys
print([(e["by"], e["since_epoch"], e["extra"]) for e in json.load(sys.stdin) if e["user"] == "gwnurse"])')" \
    "[('directory', 1767225600, '20260101000000Z')]"
sed "s|^uri = .*|uri = ldap://127.0.0.1:$(slapd_free_port)|" "$tmp/etc/pg.conf" >"$tmp/etc/down.conf"
out=$("$PG_CLI" --config "$tmp/etc/down.conf" lockouts 2>"$o/down.err")
is "directory down: photoguard lockouts exits 3" $? 3
like "...says the directory's lockouts are not listed" "$(cat "$o/down.err")" 'the directory.s lockouts are not listed: '
like "...after the store's list all the same" "$out" '^USER '
dirlock gwnurse delete
as gwnurse head -1 "$NF" >"$o/nurse" 2>&1
like "the attribute removed behind the gateway's back: still refused (cached for cache_ttl)" \
    "$(cat "$o/nurse")" 'No such file|Permission denied'
dirlock gwnurse add
out=$("$PG_CLI" unlock gwnurse 2>&1)
is "photoguard unlock gwnurse (locked in the directory only): exit 0" $? 0
is "...says so, with nothing about the gateway" "$out" "gwnurse: unlocked"
is "...the directory no longer marks gwnurse" "$(locked_attr gwnurse)" ""
is "...and photoguard lockouts no longer lists gwnurse" "$("$PG_CLI" lockouts | grep -c '^gwnurse ')" 0
is "...the gateway, seeing the directory's lockout, removed gwnurse's MFA ticket" \
    "$(PG_SHARE_USER=gwstore "$GW_MFA" valid "$tmp/mfa" gwnurse 2>&1)" 0
gw_mfa_issue gwnurse
is "...and, told over its control socket, serves gwnurse at once after a new MFA login" \
    "$(as gwnurse head -1 "$NF" 2>&1)" "PHOTO patients/P000001/2026-01-10-preop/IMG_0002.jpg"
out=$(printf 'unlock gwnurse\n' | setpriv --reuid=2902 --regid=100 --clear-groups \
    /usr/bin/python3 -c 'import socket,sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(sys.stdin.buffer.read()); print(s.recv(200).decode().strip())' "$tmp/gateway.sock" 2>&1)
is "the control socket takes an unlock from root only" "$out" "error: only root may unlock an account"

# --- a directory write that failed: the running gateway retries it ----------
# The PAM module locks gwbulk (five wrong codes) while slapd does not
# answer, so the directory write is queued; once slapd is back nothing but
# the gateway's retry thread (every 30 s) talks to the directory.
if [ -n "$PAM" ]; then
	slapd_pause
	W=$(pam_wrong)
	for i in 1 2 3 4 5; do gw_pam gwbulk "$W"; done
	slapd_resume
	like "slapd paused: the PAM module locks gwbulk, the directory write queued" \
	    "$(gw_pam_line auth)" 'account locked .*directory lockout attribute not set: .*queued for retry'
	is "...not in the directory yet" "$(locked_attr gwbulk)" ""
	for i in $(seq 45); do [ -n "$(locked_attr gwbulk)" ] && break; sleep 1; done
	like "...written by the running gateway's retry (after ${i} s)" "$(locked_attr gwbulk)" '^[0-9]{14}Z$'
	is "...and the queue is empty" "$(find "$tmp/lockout" -name 'p-*' | wc -l)" 0
	"$PG_CLI" unlock gwbulk >/dev/null 2>&1
	is "...photoguard unlock gwbulk lifts it from the directory" "$(locked_attr gwbulk)" ""
else
	skip "the gateway's retry of a queued directory lockout" "pamtester, oathtool or pam_wrapper missing (see above)"
fi

# --- Active Directory's lockoutTime: held here, alerted, not queued -----------
gw_stop
sed -i "s/^lockout_attribute = .*/lockout_attribute = lockoutTime/" "$tmp/etc/pg.conf"
gw_start_or_bail "the gateway mounts with lockout_attribute = lockoutTime"
gw_mfa_issue gwbulk
as gwbulk cp -r "$m/patients" "$o/cp-ad" 2>/dev/null
"$PG_CLI" lockouts --json >"$o/lockouts.json" 2>&1
check "lockoutTime: gwbulk's cp -r locks the account in the store" test -n "$(field rule)"
if [ "$SYSLOG" = yes ]; then
	for i in $(seq 1 100); do grep -q 'held on this server only' "$tmp/syslog" 2>/dev/null && break; sleep 0.05; done
	like "...with an alert to lock it in the directory (authpriv.alert)" \
	    "$(grep 'held on this server only' "$tmp/syslog")" \
	    "^<81>.*photoguard-gateway: lockout of gwbulk held on this server only: the directory's lockoutTime takes no lock from a client; lock the account in the directory"
	is "...and no failed directory write alerted" "$(grep -c 'could not set the directory lockout' "$tmp/syslog")" 0
else
	skip "the alert of a lockout lockoutTime cannot carry" "no private mount namespace for a stand-in /dev/log"
fi
is "...nothing queued that could never land" "$(find "$tmp/lockout" -name 'p-*' | wc -l)" 0
is "...and nothing written to the directory" \
    "$(slapd_search -b "uid=gwbulk,ou=people,$SLAPD_BASE_DN" -s base lockoutTime | grep -c '^lockoutTime:')" 0

gw_stop
out=$("$PG_CLI" audit verify 2>&1)
rc=$?
is "the audit log verifies afterwards" $rc 0
[ $rc = 0 ] || diag "$out"
[ -n "$PAM" ] && pam_no_sanitizer_reports "$T/all.out"
gw_done
