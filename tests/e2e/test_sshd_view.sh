#!/bin/bash
# test_sshd_view.sh - a login's own view of the store, end to end with a
# real OpenSSH sshd and a real gateway.  The gateway fixture of the
# gateway tests (slapd, the gw* users, a store, a running gateway on $m);
# an sshd started here on a loopback port, under pam_wrapper, whose PAM
# service runs pam_photoguard for auth, account and session with the
# gateway's own configuration (the host's /etc/pam.d, /etc/ssh and sshd
# are never touched).  gwsurg, a surgeon of P000001 and P000002, logs in
# with a key and a verification code; the command of the session sees,
# at the usual mountpoint, a mount of its own (user_id=2901, no
# allow_other) where it lists its care team and reads a photo, while the
# host keeps the shared mount alone.  The gateway serves one view while
# the session is open and none after logout.
#
# Where sshd opens the PAM session: OpenSSH calls pam_open_session in the
# connection's privileged process (sshd "[priv]", the monitor) after
# authentication and before it forks the unprivileged child that runs
# the user's command (do_pam_session, then privsep_postauth, in sshd.c;
# sshd-session.c from OpenSSH 9.8).
# The namespace made there is inherited by the session's processes: the
# test checks that the command's mount namespace is the one of the
# process whose pid the session record names, and that this process is
# an ancestor of the command.
. "$PG_SOURCE_ROOT/gateway/tests/lib.sh"

SSHD=/usr/sbin/sshd
DRIVE=$PG_SOURCE_ROOT/tests/e2e/kbdint.py
U=gwsurg UID_=2901
PRE=2026-01-10-preop
PHOTO=patients/P000001/$PRE/IMG_0001.jpg
for tool in $SSHD ssh ssh-keygen usermod nsenter python3; do
	if ! command -v "$tool" >/dev/null; then
		skip "sshd view end to end" "$tool is not installed (deploy/deps.sh --test)"
		done_testing; exit 0
	fi
done
gw_setup_or_bail

SSHD_PID="" MADE_RUN=""
sshd_cleanup() {
	if [ -n "$SSHD_PID" ]; then
		kill "$SSHD_PID" 2>/dev/null && wait "$SSHD_PID" 2>/dev/null
	fi
	[ -n "$MADE_RUN" ] && rmdir /run/sshd 2>/dev/null
	gw_cleanup
}
trap sshd_cleanup EXIT

# The fixture's policy lets only bulk log in anywhere: surgeons may too,
# over sshd on this host.
echo 'login surgeon on "imaging-*" service sshd' >>"$tmp/etc/test.policy"
sed -i -e "/^\[totp\]/a secret_dir = $tmp/secrets\nhost_key = $tmp/etc/totp.key\nmax_failures = 3" \
    "$tmp/etc/pg.conf"
if ! gw_pam_setup; then
	not_ok "PAM tools present (pamtester, oathtool, pam_wrapper): see the skip above"
	gw_done
	exit 1
fi
ARGS="config=$tmp/etc/pg.conf host=imaging-01"
printf '%s\n' "auth required $MOD $ARGS" "account required $MOD $ARGS" \
    "session required $MOD $ARGS" >"$T/svc/sshd"
SEC=$tmp/secrets KEY=$tmp/etc/totp.key
mkdir -m 700 "$SEC"
"$CLI" totp hostkey --host-key "$KEY" >/dev/null
pam_enroll "$U"
check "$U is enrolled for the second factor" test -n "$SECRET"
gw_start_or_bail "the gateway mounts on $m"

# --- gwsurg may log in over ssh: a shell, a key; sshd --------------------
# The fixture's users have no login shell; gwsurg is deleted at exit.
usermod -s /bin/bash "$U"
mkdir -m 755 "$T/keys"
ssh-keygen -q -t ed25519 -N '' -f "$T/id" && cp "$T/id.pub" "$T/keys/$U"
chmod 644 "$T/keys/$U"
ssh-keygen -q -t ed25519 -N '' -f "$T/hostkey"
PORT=$(slapd_free_port)
cat >"$T/sshd_config" <<CONF
Port $PORT
ListenAddress 127.0.0.1
HostKey $T/hostkey
PidFile $T/sshd.pid
AuthorizedKeysFile $T/keys/%u
StrictModes no
UsePAM yes
KbdInteractiveAuthentication yes
PasswordAuthentication no
PubkeyAuthentication yes
AuthenticationMethods publickey,keyboard-interactive
MaxAuthTries 6
PermitRootLogin no
LogLevel VERBOSE
CONF
if [ ! -d /run/sshd ]; then mkdir -m 755 /run/sshd && MADE_RUN=1; fi
check "sshd accepts the configuration" $SSHD -t -f "$T/sshd_config"
pwrap_sweep
# fd 9 is the gateway tests' lock: sshd must not hold it after the test.
env LD_PRELOAD="$PWRAP" ASAN_OPTIONS="$GW_PAM_ASAN" PAM_WRAPPER=1 \
    PAM_WRAPPER_SERVICE_DIR="$T/svc" PAM_WRAPPER_DEBUGLEVEL=2 \
    $SSHD -D -e -f "$T/sshd_config" >"$T/sshd.log" 2>&1 9>&- &
SSHD_PID=$!
for i in $(seq 50); do
	ss -Htln "sport = :$PORT" | grep -q . && break
	sleep 0.1
done
check "sshd listens on 127.0.0.1:$PORT" test -n "$(ss -Htln "sport = :$PORT")"

# The session's command: its user, its mount namespace, the mount
# lines at $m, the listing and a photo's first line, then a pause that
# holds the session open while the test looks at it from outside.
CMD="echo LOGGED-IN-AS-\$(id -un); echo NS=\$(readlink /proc/self/ns/mnt)"
CMD="$CMD; grep ' $m ' /proc/self/mounts | sed 's/^/MOUNT: /'"
CMD="$CMD; echo LIST=\$(ls $m/patients); echo PHOTO=\$(head -1 $m/$PHOTO)"
CMD="$CMD; sleep 4"
pwrap_sweep
"$DRIVE" --max 1 "$(pam_code 'now + 30 seconds')" -- ssh -p "$PORT" -i "$T/id" \
    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o KbdInteractiveAuthentication=yes -o BatchMode=no \
    -o PreferredAuthentications=publickey,keyboard-interactive \
    -o NumberOfPasswordPrompts=1 -o ConnectTimeout=10 \
    "$U@127.0.0.1" "$CMD" >"$T/ssh.out" 2>&1 &
SSH_BG=$!

# --- while the session is open: from outside --------------------------------
SLEEP_PID=
for i in $(seq 200); do
	SLEEP_PID=$(pgrep -u "$U" -x sleep | head -1)
	[ -n "$SLEEP_PID" ] && break
	kill -0 "$SSH_BG" 2>/dev/null || break
	sleep 0.05
done
check "the ssh session runs its command (a process of $U)" test -n "$SLEEP_PID"
is "...the gateway serves one view while the session is open" "$(views_live)" 1
# The session's processes, from the command up to the sshd listener: the
# mount namespace of each and the last mount line at $m there.
ns_of() { readlink "/proc/$1/ns/mnt" 2>/dev/null; }
ppid_of() { awk '{print $4}' "/proc/$1/stat" 2>/dev/null; }
CHAIN=
declare -A NS_AT
p=$SLEEP_PID
while [ -n "$p" ] && [ "$p" -gt 1 ]; do
	CHAIN="$CHAIN $p"
	NS_AT[$p]=$(ns_of "$p")
	diag "pid $p ($(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | sed 's/ *$//')): ${NS_AT[$p]}; at $m: $(nsenter -t "$p" -m grep " $m " /proc/mounts 2>/dev/null | tail -1 | awk '{print $3, $4}')"
	[ "$p" = "$SSHD_PID" ] && break
	p=$(ppid_of "$p")
done
SESSION_NS=$(ns_of "$SLEEP_PID")
HOST_NS=$(ns_of $$)
wait $SSH_BG
rc=$?
is "key + good code: the ssh session ends normally" $rc 0
if grep -aq "LOGGED-IN-AS-$U" "$T/ssh.out"; then
	ok "...and ran as $U"
else
	not_ok "...and ran as $U"
	sed 's/^/#   ssh: /' "$T/ssh.out"
	"$PG_CLI" audit query --user "$U" --json | tail -3 | sed 's/^/#   audit: /'
	grep -a 'sshd\[\|pam\|PAM' "$T/sshd.log" | tail -20 | sed 's/^/#   sshd: /'
fi

# --- what the session saw ----------------------------------------------------
mline=$(grep -a '^MOUNT: ' "$T/ssh.out" | tail -1)
like "the session sees a mount of its own over $m (user_id=$UID_)" "$mline" \
    " $m fuse.photoguard .*user_id=$UID_,group_id=$GW_GID"
if [ -n "$mline" ] && [ -z "${mline##*allow_other*}" ]; then
	not_ok "...without allow_other"
else
	check "...without allow_other" test -n "$mline"
fi
is "...stacked on the shared mount" "$(grep -ac '^MOUNT: ' "$T/ssh.out")" 2
is "...where $U lists its care team" "$(sed -n 's/^LIST=//p' "$T/ssh.out" | tr -d '\r')" "P000001 P000002"
is "...and reads a photo" "$(sed -n 's/^PHOTO=//p' "$T/ssh.out" | tr -d '\r')" "PHOTO $PHOTO"
is "the host still has the shared mount alone at $m" "$(grep -c " $m " /proc/mounts)" 1
check "...the session's namespace is not the host's" test -n "$SESSION_NS" -a "$SESSION_NS" != "$HOST_NS"
is "...it is the namespace the command reported" \
    "$(sed -n 's/^NS=//p' "$T/ssh.out" | tr -d '\r')" "$SESSION_NS"

# --- the session record; the process that opened the PAM session -----------
sleep 1 # the close record is written as sshd tears down
open=$("$PG_CLI" audit query --user "$U" --event pam.session.open --json | tail -1)
like "the session open record says the login has a view of its own" "$open" "own view at $m"
like "...of the service sshd, from 127.0.0.1" "$open" '"service":"sshd","rhost":"127.0.0.1"'
# Which process opened the PAM session (the record's pid): sshd's
# privileged process of the connection, the parent of the unprivileged
# child it forked next ("User child is on pid N" in its log), which runs
# the command.  The namespace made there is the command's.
opid=$(printf '%s' "$open" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("pid",""))' 2>/dev/null)
child=$(grep -ao 'User child is on pid [0-9]*' "$T/sshd.log" | tail -1 | awk '{print $NF}')
apid=$("$PG_CLI" audit query --user "$U" --event pam.auth --json | tail -1 |
    python3 -c 'import json,sys; print(json.load(sys.stdin).get("pid",""))' 2>/dev/null)
diag "pam_authenticate ran in pid ${apid:-?}, pam_open_session in pid ${opid:-?}; sshd's unprivileged child: pid ${child:-?}; listener: pid $SSHD_PID"
case " $CHAIN " in
*" ${opid:-none} "*) ok "the process that opened the PAM session (pid $opid) is an ancestor of the command" ;;
*) not_ok "the process that opened the PAM session (pid ${opid:-none}) is an ancestor of the command"
   diag "the command's ancestors:$CHAIN" ;;
esac
# parent_in_chain PID: the next process up from PID in CHAIN.
parent_in_chain() {
	local q prev=
	for q in $CHAIN; do
		[ "$prev" = "$1" ] && { echo "$q"; return; }
		prev=$q
	done
}
is "...it is sshd's privileged process, parent of the child running the command" \
    "$(parent_in_chain "${child:-none}")" "${opid:-none}"
is "...its namespace is the command's" "${NS_AT[${opid:-0}]:-none}" "$SESSION_NS"
is "...while sshd's listener stays in the host's" "${NS_AT[$SSHD_PID]:-none}" "$HOST_NS"
like "the session close is audited" \
    "$("$PG_CLI" audit query --user "$U" --event pam.session.close --json | tail -1)" \
    '"event":"pam.session.close"'
check "after logout the gateway serves no view" wait_views 0
is "...the host still has the shared mount alone" "$(grep -c " $m " /proc/mounts)" 1

kill "$SSHD_PID" 2>/dev/null && wait "$SSHD_PID" 2>/dev/null
SSHD_PID=
if [ -n "${PG_E2E_VERBOSE:-}" ]; then sed 's/^/# sshd: /' "$T/sshd.log"; fi
out=$("$PG_CLI" audit verify 2>&1)
is "the audit log verifies afterwards" $? 0 || diag "$out"
pam_no_sanitizer_reports "$T/sshd.log" "$T/all.out"
gw_done
