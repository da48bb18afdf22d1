#!/bin/bash
# test_sshd.sh - end to end with a real OpenSSH sshd: started by this test
# on a loopback port with its own host key and configuration, under
# pam_wrapper so that its PAM stack is a service file written here (the
# host's /etc/pam.d, /etc/ssh and sshd are never touched).  A local user
# who is also in a real slapd logs in with a key and a verification code
# from oathtool typed into keyboard-interactive; a wrong code fails; after
# max_failures wrong codes the user is locked out and the right code no
# longer works.
. "$PG_SOURCE_ROOT/tests/lib/tap.sh"
. "$PG_SOURCE_ROOT/tests/lib/pwrap.sh"
. "$PG_SOURCE_ROOT/tests/lib/slapd.sh"
. "$PG_SOURCE_ROOT/pam_module/tests/pamlib.sh"

SSHD=/usr/sbin/sshd
DRIVE=$PG_SOURCE_ROOT/tests/e2e/kbdint.py
GW_MFA=$PG_BUILD_ROOT/gateway/tests/gw_mfa
pam_setup || { done_testing; exit $?; }
for tool in $SSHD ssh ssh-keygen useradd userdel python3; do
	if ! command -v $tool >/dev/null; then
		skip "sshd end to end" "$tool is not installed (deploy/deps.sh --test)"
		done_testing; exit $?
	fi
done
if [ "$(id -u)" -ne 0 ]; then
	skip "sshd end to end" "needs root: it adds a local user and runs sshd"
	done_testing; exit $?
fi

T=$(mktemp -d /tmp/pg-e2e-XXXXXX)
chmod 711 "$T"
U=pge2e$(( RANDOM % 10000 ))
SSHD_PID= MADE_RUN=
quiet() { "$@" >"$T/quiet.out" 2>&1; }
cleanup() {
	[ -n "$SSHD_PID" ] && kill "$SSHD_PID" 2>/dev/null && wait "$SSHD_PID" 2>/dev/null
	id "$U" >/dev/null 2>&1 && userdel "$U" 2>/dev/null
	[ -n "$MADE_RUN" ] && rmdir /run/sshd 2>/dev/null
	slapd_stop
	rm -rf "$T"
}
trap cleanup EXIT

SEC=$T/secrets KEY=$T/host.key AUDIT=$T/audit/audit.jsonl
mkdir -m 700 "$SEC" "$T/audit" "$T/tickets" "$T/svc"
"$CLI" totp hostkey --host-key "$KEY" >/dev/null
"$CLI" audit keygen "$T/audit.key" >/dev/null

# --- the directory: the sample clinic, plus the test user as a surgeon ----
cp "$PG_SOURCE_ROOT/deploy/ldap/clinic-sample.ldif" "$T/clinic.ldif"
cat >>"$T/clinic.ldif" <<LDIF

dn: uid=$U,ou=people,dc=clinic,dc=example
objectClass: inetOrgPerson
objectClass: posixAccount
uid: $U
cn: End To End
sn: End
uidNumber: 2999
gidNumber: 3000
homeDirectory: $T/home
LDIF
if ! slapd_start "$T/slapd" "$T/clinic.ldif" >"$T/slapd.log" 2>&1; then
	not_ok "slapd started"; sed 's/^/# /' "$T/slapd.log"
	done_testing; exit 1
fi
trap cleanup EXIT # slapd_start set its own
printf '%s\n' "dn: cn=surgeons,ou=groups,$SLAPD_BASE_DN" "changetype: modify" \
	"add: member" "member: uid=$U,ou=people,$SLAPD_BASE_DN" |
	slapd_modify >/dev/null
install -m 0644 "$PG_SOURCE_ROOT/policy/examples/clinic.policy" "$T/clinic.policy"
cat >"$T/pg.conf" <<CONF
[directory]
backend = ldap
uri = $SLAPD_URI
ca_file = $SLAPD_CA
base_dn = $SLAPD_BASE_DN
network_timeout = 1s
timeout = 1s
[policy]
file = $T/clinic.policy
[audit]
log = $AUDIT
key = $T/audit.key
syslog = no
[lockout]
dir = $T/lockout
[totp]
secret_dir = $SEC
host_key = $KEY
ticket_dir = $T/tickets
max_failures = 3
CONF
ARGS="config=$T/pg.conf host=imaging-01"
printf '%s\n' "auth required $MOD $ARGS" "account required $MOD $ARGS" \
	"session required $MOD $ARGS" >"$T/svc/sshd"

# --- the local user, a key, and sshd ---------------------------------------
useradd -M -d "$T/home" -s /bin/sh "$U" || { not_ok "useradd $U"; done_testing; exit 1; }
mkdir -m 700 "$T/home" && mkdir -m 755 "$T/keys" && chown "$U" "$T/home"
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
env LD_PRELOAD="$PWRAP" PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T/svc" \
	PAM_WRAPPER_DEBUGLEVEL=2 $SSHD -D -e -f "$T/sshd_config" \
	>"$T/sshd.log" 2>&1 &
SSHD_PID=$!
for i in $(seq 50); do
	ss -Htln "sport = :$PORT" | grep -q . && break
	sleep 0.1
done
check "sshd listens on 127.0.0.1:$PORT" test -n "$(ss -Htln "sport = :$PORT")"

ssh_login() { # CODE [N [CMD]]: a login answered with CODE at N prompts (1)
	"$DRIVE" --max "${2:-1}" "$1" -- ssh -p "$PORT" -i "$T/id" \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o KbdInteractiveAuthentication=yes -o BatchMode=no \
		-o PreferredAuthentications=publickey,keyboard-interactive \
		-o NumberOfPasswordPrompts="${2:-1}" -o ConnectTimeout=10 \
		"$U@127.0.0.1" "echo LOGGED-IN-AS-\$(id -un)${3:+; $3}" >"$T/ssh.out" 2>&1
}
ticket() { "$GW_MFA" valid "$T/tickets" "$U" 2>&1; }
SECRET=
pam_enroll "$U"
check "the test user is enrolled" test -n "$SECRET"

# --- a good code -----------------------------------------------------------
FIRST_STEP=$(($(date +%s) / 30 + 1)) # the step of the code below
ssh_login "$(pam_code 'now + 30 seconds')"
is "key + good code: ssh login succeeds" $? 0
like "...and runs the command as the user" "$(cat "$T/ssh.out")" "LOGGED-IN-AS-$U"
like "...after asking for the verification code" "$(cat "$T/ssh.out")" 'Verification code:'
sleep 1 # the session close record is written as sshd tears down
like "auth audited" "$("$CLI" audit query --log "$AUDIT" --user "$U" --event pam.auth --json)" '"decision":"allow"'
like "account audited" "$("$CLI" audit query --log "$AUDIT" --user "$U" --event pam.account --json)" '"decision":"allow"'
like "session open audited, with service and remote host" \
	"$("$CLI" audit query --log "$AUDIT" --user "$U" --event pam.session.open --json)" \
	'"service":"sshd","rhost":"127.0.0.1"'
like "session close audited" \
	"$("$CLI" audit query --log "$AUDIT" --user "$U" --event pam.session.close --json)" \
	'"event":"pam.session.close"'
check "the MFA ticket went with the logout" test ! -e "$T/tickets/$U.ticket"

# --- the ticket lives as long as the ssh session ------------------------------
# A code is taken once, and only within one step of the clock: wait
# until the first login's step is the current one, then use the next.
while [ $(($(date +%s) / 30)) -lt "$FIRST_STEP" ]; do sleep 1; done
ssh_login "$(pam_code 'now + 30 seconds')" 1 'sleep 4' &
SSH_BG=$!
v=0
for i in $(seq 60); do
	v=$(ticket)
	[ "$v" = 1 ] && break
	sleep 0.1
done
is "during an ssh session the user's MFA ticket is valid" "$v" 1
wait $SSH_BG
is "...the session ends normally" $? 0
for i in $(seq 30); do [ -e "$T/tickets/$U.ticket" ] || break; sleep 0.1; done
check "...and at its end (sshd's close_session) the ticket is removed" test ! -e "$T/tickets/$U.ticket"
is "...no longer valid" "$(ticket)" 0
like "...as the session close record says" \
	"$("$CLI" audit query --log "$AUDIT" --user "$U" --event pam.session.close --json | tail -1)" \
	'MFA ticket removed \(last session\)'

# --- a lost phone: an enrollment token, and a new app over ssh --------------
"$CLI" --config "$T/pg.conf" enroll "$U" --token --secret-to-pipe >"$T/token.out" 2>&1
TOKEN=$(grep -oE '^  [a-z2-7]{4}(-[a-z2-7]{4}){3}$' "$T/token.out" | tr -d ' ')
check "the admin issues an enrollment token" test -n "$TOKEN"
"$DRIVE" --app "$TOKEN" -- ssh -p "$PORT" -i "$T/id" \
	-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
	-o PreferredAuthentications=publickey,keyboard-interactive \
	-o ConnectTimeout=10 "$U@127.0.0.1" "echo LOGGED-IN-AS-\$(id -un)" >"$T/ssh.out" 2>&1
is "token + the new app's first code: ssh login succeeds" $? 0
like "...and runs the command" "$(cat "$T/ssh.out")" "LOGGED-IN-AS-$U"
uri=$(tr -d '\r' <"$T/ssh.out" | grep -o 'otpauth://[^[:space:]]*' | head -1)
like "...after showing the URI through keyboard-interactive" "$uri" "^otpauth://totp/photoguard:$U\?secret="
if command -v zbarimg >/dev/null; then
	python3 "$PG_SOURCE_ROOT/cli/tests/term_render.py" light "$T/ssh.out" "$T/qr.pgm"
	is "...and a QR code the ssh client draws that scans as the URI" \
		"$(zbarimg --raw -q "$T/qr.pgm" 2>/dev/null | head -1)" "$uri"
else
	skip "the QR code over ssh scans" "zbarimg is not installed (deploy/deps.sh --test installs zbar-tools)"
fi
like "...audited as a self-service enrollment" \
	"$("$CLI" audit query --log "$AUDIT" --user "$U" --event pam.enroll --json)" '"decision":"allow"'
SECRET=$(printf '%s\n' "$uri" | grep -o 'secret=[A-Z2-7]*' | cut -d= -f2)

# --- a wrong code ----------------------------------------------------------
W=$(pam_wrong)
ssh_login "$W"
rc=$?
check "wrong code: ssh login fails (exit $rc)" test $rc -ne 0
if grep -q "LOGGED-IN" "$T/ssh.out"; then not_ok "...and no command ran"; else ok "...and no command ran"; fi
like "...refused in auth" "$("$CLI" audit query --log "$AUDIT" --user "$U" --event pam.auth --json | tail -1)" \
	'"decision":"deny".*verification code does not match; failure 1 of 3'

# --- lockout: two more wrong codes in one connection, then the right one --------------------------
ssh_login "$W" 2
like "wrong codes until the lockout" "$("$CLI" lockouts --dir "$T/lockout")" "$U .*totp.max_failures"
like "lockout audited" "$("$CLI" audit query --log "$AUDIT" --user "$U" --event lockout.lock --json)" '"decision":"deny"'
ssh_login "$(pam_code 'now + 60 seconds')"
rc=$?
check "locked-out user, right code: ssh login fails (exit $rc)" test $rc -ne 0
if grep -q "LOGGED-IN" "$T/ssh.out"; then not_ok "...and no command ran"; else ok "...and no command ran"; fi
like "...refused as locked out" "$("$CLI" audit query --log "$AUDIT" --user "$U" --event pam.auth --json | tail -1)" \
	'locked out since'

check "photoguard audit verify passes" quiet \
	"$CLI" audit verify --key "$T/audit.key.pub" "$AUDIT"
if [ -n "${PG_E2E_VERBOSE:-}" ]; then sed 's/^/# sshd: /' "$T/sshd.log"; fi
pam_no_sanitizer_reports "$T/sshd.log" "$T/all.out"
done_testing
