#!/bin/bash
# test_pam_hook.sh - [lockout] hook for a lockout the PAM module decides,
# through the real libpam (pam_wrapper + pamtester): it runs once, as the
# [store] user, with only its documented environment and /dev/null for
# descriptors; the login does not wait for it, a hook that fails or hangs
# (killed at hook_timeout) is logged and changes nothing, and a hook path
# that is not root's alone is refused, logged, and the lockout still
# happens.
#
# The syslog daemon is a stand-in: the test runs in a private mount
# namespace whose /dev is a tmpfs holding its socket, so the host's
# /dev/log is never touched.
if [ -z "${PG_HOOK_NS:-}" ]; then
	export PG_HOOK_NS=no
	if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
		PG_HOOK_NS=yes exec unshare -m -- "$0" "$@"
	fi
fi
. "$PG_SOURCE_ROOT/tests/lib/tap.sh"
. "$PG_SOURCE_ROOT/pam_module/tests/pamlib.sh"
pam_setup || { done_testing; exit $?; }
if [ "$PG_HOOK_NS" != yes ]; then
	skip "PAM lockout hook" "needs root and a private mount namespace"
	done_testing
	exit $?
fi
HOOKUSER=nobody
if ! HUID=$(id -u $HOOKUSER 2>/dev/null); then
	skip "PAM lockout hook" "no user $HOOKUSER to run hooks as"
	done_testing
	exit $?
fi

T=$(mktemp -d /tmp/pg-pamhook-XXXXXX)
chmod 711 "$T" # the hook, as $HOOKUSER, must reach its script
SINK_PID=
cleanup() {
	[ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null
	[ -s "$T/hk/sleeper.pid" ] && kill "$(cat "$T/hk/sleeper.pid")" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

# A tmpfs /dev with the nodes the test needs, and a stand-in syslog
# daemon on its /dev/log: every datagram, one per line.
mount -t tmpfs -o mode=0755 none /dev &&
	mknod -m 666 /dev/null c 1 3 && mknod -m 666 /dev/zero c 1 5 &&
	mknod -m 666 /dev/random c 1 8 && mknod -m 666 /dev/urandom c 1 9 &&
	ln -s /proc/self/fd /dev/fd && mkdir -m 1777 /dev/shm &&
	mkdir /dev/pts && mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts &&
	ln -s pts/ptmx /dev/ptmx
check "a private /dev in the mount namespace" test -c /dev/null
cat >"$T/sink.py" <<'PY'
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
python3 "$T/sink.py" "$T/syslog" "$T/sink.ready" &
SINK_PID=$!
for i in $(seq 1 100); do [ -e "$T/sink.ready" ] && break; sleep 0.05; done

SEC=$T/secrets KEY=$T/host.key TIX=$T/tickets LOCK=$T/lockout
mkdir -m 700 "$SEC" "$TIX" "$T/audit" "$LOCK"
mkdir -m 755 "$T/hooks"
mkdir -m 700 "$T/hk" && chown "$HOOKUSER" "$T/hk"
"$CLI" totp hostkey --host-key "$KEY" >/dev/null
"$CLI" audit keygen "$T/audit.key" >/dev/null

# The hook that tells what it was given: its arguments, its environment as
# execve(2) passed it, its uid and where its descriptors lead.
cat >"$T/hooks/record" <<EOS
#!/bin/sh
f=$T/hk/rec.\$PHOTOGUARD_USER.\$\$
for fd in /proc/\$\$/fd/*; do readlink "\$fd"; done >"\$f.fd"
{
	echo "argc=\$#"
	tr '\\000' '\\n' </proc/\$\$/environ
	echo "uid=\$(id -u)"
} >"\$f.tmp" && mv "\$f.tmp" "\$f.env"
EOS
printf '#!/bin/sh\necho ran >%s/hk/fail.$PHOTOGUARD_USER\nexit 1\n' "$T" >"$T/hooks/fail"
printf '#!/bin/sh\necho $$ >%s/hk/sleeper.pid\nexec sleep 30\n' "$T" >"$T/hooks/sleep"
chmod 755 "$T/hooks/record" "$T/hooks/fail" "$T/hooks/sleep"

# conf NAME HOOK [EXTRA]: a configuration in $T/NAME.conf, a service in $T/NAME/
conf() {
	cat >"$T/$1.conf" <<CONF
[audit]
log = $T/audit/audit.jsonl
key = $T/audit.key
syslog = no
[lockout]
dir = $LOCK
hook = $2
hook_timeout = 2s
[totp]
secret_dir = $SEC
host_key = $KEY
ticket_dir = $TIX
max_failures = 3
failure_window = 60s
[store]
user = ${3:-$HOOKUSER}
CONF
	mkdir -p "$T/$1"
	printf '%s\n' "auth required $MOD config=$T/$1.conf" >"$T/$1/sshd"
}
login() { pam_run "$T/$1" sshd "$2" "$3"; }
# the store is shared with the [store] user's group: the CLI must know it
locked() { "$CLI" --config "$T/rec.conf" lockouts | grep -c "^$1 "; }
# lock_out CONF USER: three wrong codes; the third locks. Sets RC (of the
# third login) and MS (how long it took).
lock_out() {
	local w t0
	pam_enroll "$2"
	w=$(pam_wrong)
	WRONG=$w
	login "$1" "$2" "$w"
	login "$1" "$2" "$w"
	t0=$(date +%s%N)
	login "$1" "$2" "$w"
	RC=$?
	MS=$((($(date +%s%N) - t0) / 1000000))
}
# waitfor FILE-GLOB [TENTHS]: until a file matches (default 5 s)
waitfor() {
	local i
	for i in $(seq "${2:-50}"); do compgen -G "$1" >/dev/null && return 0; sleep 0.1; done
	return 1
}
logged() { grep -ac -- "$1" "$T/syslog" "$T/all.out" 2>/dev/null | awk -F: '{s += $NF} END {print s + 0}'; }

# --- a lockout runs the hook once -------------------------------------------
conf rec "$T/hooks/record"
lock_out rec hkalice
is "the third wrong code: refused" "$RC" 1
like "...and locks the account" "$(grep -a 'auth user=' "$T/out" | tail -1)" 'account locked'
is "...in the store" "$(locked hkalice)" 1
waitfor "$T/hk/rec.hkalice.*.env"
is "the hook ran once" "$(ls "$T/hk" | grep -c '^rec\.hkalice\.[0-9]*\.env$')" 1
R=$(cat "$T"/hk/rec.hkalice.*.env 2>/dev/null)
hv() { printf '%s\n' "$R" | sed -n "s/^$1=//p"; }
is "...with exactly the documented variables" \
    "$(printf '%s\n' "$R" | grep -E '^[A-Z_]+=' | cut -d= -f1 | sort | tr '\n' ' ')" \
    "PATH PHOTOGUARD_COMPONENT PHOTOGUARD_EVENT PHOTOGUARD_FAILURES PHOTOGUARD_HOST PHOTOGUARD_REASON PHOTOGUARD_RULE PHOTOGUARD_SERVICE PHOTOGUARD_TIME PHOTOGUARD_USER "
is "...PHOTOGUARD_EVENT" "$(hv PHOTOGUARD_EVENT)" lockout
is "...PHOTOGUARD_USER" "$(hv PHOTOGUARD_USER)" hkalice
is "...PHOTOGUARD_RULE" "$(hv PHOTOGUARD_RULE)" totp.max_failures
like "...PHOTOGUARD_REASON" "$(hv PHOTOGUARD_REASON)" '^3 failed verification codes within 60 s$'
is "...PHOTOGUARD_COMPONENT" "$(hv PHOTOGUARD_COMPONENT)" pam
is "...PHOTOGUARD_FAILURES" "$(hv PHOTOGUARD_FAILURES)" 3
is "...PHOTOGUARD_SERVICE" "$(hv PHOTOGUARD_SERVICE)" sshd
is "...PHOTOGUARD_HOST" "$(hv PHOTOGUARD_HOST)" "$(hostname)"
like "...PHOTOGUARD_TIME" "$(hv PHOTOGUARD_TIME)" '^20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-9:]{8}Z$'
is "...PATH" "$(hv PATH)" /usr/sbin:/usr/bin:/sbin:/bin
is "...no arguments" "$(hv argc)" 0
is "...as the [store] user, not root" "$(hv uid)" "$HUID"
is "...with /dev/null for 0, 1 and 2 and nothing of the login's" \
    "$(cat "$T"/hk/rec.hkalice.*.fd 2>/dev/null | grep -v "^$T/hooks/record$\|^$T/hk/" | sort -u | tr '\n' ' ')" \
    "/dev/null "
check "...no verification code in what it was given" \
    sh -c "! grep -q '$WRONG' '$T'/hk/rec.hkalice.*"
login rec hkalice "$WRONG"
is "a wrong code while locked: refused" $? 1
sleep 1
is "...and no second hook run" "$(ls "$T/hk" | grep -c '^rec\.hkalice\.[0-9]*\.env$')" 1

# --- a hook that fails -------------------------------------------------------
conf fail "$T/hooks/fail"
lock_out fail hkbob
is "failing hook: the third wrong code is refused" "$RC" 1
is "...the account is locked" "$(locked hkbob)" 1
waitfor "$T/hk/fail.hkbob"
check "...the hook ran" test -e "$T/hk/fail.hkbob"
for i in $(seq 50); do [ "$(logged "lockout hook $T/hooks/fail failed with exit status 1")" -ge 1 ] && break; sleep 0.1; done
is "...its failure is logged (authpriv.err)" \
    "$(grep -ac "^<83>pam_photoguard: lockout hook $T/hooks/fail failed with exit status 1" "$T/syslog")" 1

# --- a hook that hangs --------------------------------------------------------
conf slow "$T/hooks/sleep"
lock_out slow hkcarl
is "hanging hook: the third wrong code is refused" "$RC" 1
is "...the account is locked" "$(locked hkcarl)" 1
check "...the login did not wait for it ($MS ms)" test "$MS" -lt 1500
waitfor "$T/hk/sleeper.pid"
P=$(cat "$T/hk/sleeper.pid" 2>/dev/null)
check "...the hook is running (pid ${P:-none})" kill -0 "${P:-0}"
for i in $(seq 50); do kill -0 "${P:-0}" 2>/dev/null || break; sleep 0.1; done
check "...and is killed at hook_timeout (2 s)" sh -c "! kill -0 ${P:-0} 2>/dev/null"
for i in $(seq 30); do grep -q 'timed out' "$T/syslog" && break; sleep 0.1; done
is "...which is logged" \
    "$(grep -ac "^<83>pam_photoguard: lockout hook $T/hooks/sleep timed out after seconds: 2" "$T/syslog")" 1
# The login reaps its own short-lived child; the watcher is init's.
Z=$(ps -eo stat=,pid=,ppid=,args= | awk '$1 ~ /^Z/ && $3 != 1')
is "...no zombie left to a living parent" "$(printf '%s' "$Z" | grep -c .)" 0
[ -n "$Z" ] && diag "$Z"

# --- unsafe hook paths: refused, logged, the lockout still happens -----------
# unsafe NAME USER WHY: a lockout with the hook $T/NAME/hook.
unsafe() {
	conf "u$1" "$T/$1/hook"
	lock_out "u$1" "$2"
	is "$1: the third wrong code is refused" "$RC" 1
	is "...the account is locked all the same" "$(locked "$2")" 1
	like "...the hook is refused, with why" "$(cat "$T/out")" \
	    "lockout hook $T/$1/hook not run: $3"
	sleep 0.5
	check "...and did not run" test ! -e "$T/hk/ran.$2"
}
mkhook() { # DIR: a hook in DIR that would leave a mark
	mkdir -p "$T/$1" && chmod 755 "$T/$1"
	printf '#!/bin/sh\necho ran >%s/hk/ran.$PHOTOGUARD_USER\n' "$T" >"$T/$1/hook"
	chmod 755 "$T/$1/hook"
}
mkhook ww && chmod 0777 "$T/ww/hook"
unsafe ww hkdan "the file $T/ww/hook is group or world writable"
mkhook gw && chmod 0775 "$T/gw/hook"
unsafe gw hkeve "the file $T/gw/hook is group or world writable"
mkhook owner && chown "$HOOKUSER" "$T/owner/hook"
unsafe owner hkfay "the file $T/owner/hook is not owned by root"
mkhook dir && chmod 0777 "$T/dir"
unsafe dir hkgus "the directory $T/dir is group or world writable"
mkhook diruser && chown "$HOOKUSER" "$T/diruser"
unsafe diruser hkhal "the directory $T/diruser is not owned by root"
mkhook noexec && chmod 0644 "$T/noexec/hook"
unsafe noexec hkida "$T/noexec/hook is not an executable file"
mkhook link && mv "$T/link/hook" "$T/link/real" && ln -s real "$T/link/hook"
unsafe link hkjon "$T/link/hook is a symlink"
mkdir -m 755 "$T/gone"
unsafe gone hkkim "$T/gone/hook: No such file or directory"

# --- a self-service enrollment runs it too (event enroll) -------------------
# Whoever holds a scratch code can swap the phone: the clinic hears of it.
conf enr "$T/hooks/record"
sed -i 's/^\[totp\]$/[totp]\nself_enroll = yes/' "$T/enr.conf"
pam_enroll hkenr
mapfile -t SCR < <(grep -oE '^  [a-z0-9]{5}-[a-z0-9]{5}$' "$T/enroll.out" | tr -d ' ')
pam_converse "$T/enr" sshd hkenr "${SCR[0]}" --offer y --app right
is "a scratch-code login that enrolls a new app: allowed" $? 0
NEW=$(grep -ao 'secret=[A-Z2-7]*' "$T/out" | tail -1 | cut -d= -f2)
waitfor "$T/hk/rec.hkenr.*.env"
R=$(cat "$T"/hk/rec.hkenr.*.env 2>/dev/null)
is "...the hook ran, PHOTOGUARD_EVENT enroll" "$(hv PHOTOGUARD_EVENT)" enroll
is "...PHOTOGUARD_REASON" "$(hv PHOTOGUARD_REASON)" "new authenticator enrolled after a scratch code"
is "...no rule or failure count (not a lockout)" \
    "$(printf '%s\n' "$R" | grep -cE '^PHOTOGUARD_(RULE|FAILURES)=')" 0
check "...nothing of the new secret or the scratch code in what it was given" \
    sh -c "! grep -qiE '${NEW:-x}|${SCR[0]:-x}' '$T'/hk/rec.hkenr.*"
check "...an ALERT line" grep -aq 'ALERT: new authenticator enrolled after a scratch code' "$T/out"

pam_no_sanitizer_reports "$T/all.out"
done_testing
