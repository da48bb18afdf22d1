#!/bin/bash
# run.sh - the photoguard demo: the clinic breach, and what stops it.
#
# On this machine, as root, it installs what it needs (Debian packages),
# builds photoguard, and then starts, all on loopback and inside one
# temporary directory:
#   - a real slapd with the sample clinic: 14 staff across the roles and
#     the care teams of 1,000 patients;
#   - a photo store of 6,000 real JPEG photos (generated: a pre-op and a
#     post-op series of three views per patient), owned by a service user,
#     mode 0700;
#   - photoguard-gateway, the FUSE filesystem staff reach the store by;
#   - a real sshd on a loopback port whose PAM stack is the system's
#     pam_unix (the password) and pam_photoguard.so (the code, the role,
#     the lockout), loaded through pam_wrapper;
# and tells the story step by step: a nurse logs in and opens her own
# patient's photo but not another's, the front desk sees no photos, a
# wrong and a replayed code are refused, a stolen password alone gets
# nothing, a surgeon's account copying the whole store is locked out after
# its allowance, its next login is refused, the audit log verifies and
# names exactly the patients exposed, and an admin unlocks the account.
#
# Each step prints what it shows and a verdict (a check mark when photoguard
# did what it should); the demo exits 1 if any verdict failed.
#
# What it changes on the host, and undoes on exit: three staff accounts and
# a service account in /etc/passwd (asmith, dlopez, ioconnor, pgdemo;
# refused if such names or uids are already in use), and /run/sshd if it was
# missing.  The host's /etc/pam.d, /etc/ssh, /etc/ldap and its services are
# never touched: sshd and slapd are private instances.
#
#   run.sh [--keep] [--no-deps] [--build-dir DIR]
#     --keep           leave the temporary directory (config, audit log...)
#     --no-deps        do not install Debian packages
#     --build-dir DIR  use photoguard as built in DIR instead of building
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
keep=0 deps=1 build=
while [ $# -gt 0 ]; do
	case $1 in
	--keep) keep=1 ;;
	--no-deps) deps=0 ;;
	--build-dir)
		[ $# -ge 2 ] || { echo "run.sh: --build-dir needs a directory" >&2; exit 2; }
		build=$(cd "$2" && pwd) || exit 2
		shift ;;
	-h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done

bold() { printf '\n\033[1m%s\033[0m\n' "$*"; }
say() { bold "== $*"; }
step() { bold "-- $*"; }
fails=0 passes=0
verdict() { # TEXT COMMAND...: prints a verdict on COMMAND's exit status
	local text=$1
	shift
	if "$@"; then
		printf '   \033[32m[ok]\033[0m %s\n' "$text"
		passes=$((passes + 1))
	else
		printf '   \033[31m[FAILED]\033[0m %s\n' "$text"
		fails=$((fails + 1))
	fi
}
die() { echo "run.sh: $*" >&2; exit 1; }
show() { sed 's/^/   | /' "$@"; }

[ "$(id -u)" = 0 ] || die "run as root: the demo mounts a FUSE filesystem, adds accounts and runs sshd"
[ -c /dev/fuse ] || die "/dev/fuse is missing: the gateway is a FUSE filesystem"

if [ "$deps" = 1 ]; then
	say "Installing what the demo needs (Debian packages; skipped if present)"
	"$top/deploy/deps.sh" --test || die "could not install the packages"
fi
for tool in slapd /usr/sbin/sshd ssh oathtool cjpeg python3 setpriv file ldapsearch; do
	command -v $tool >/dev/null || die "$tool is missing (deploy/deps.sh --test installs it)"
done
PWRAP=$(ldconfig -p | awk '/libpam_wrapper\.so /{print $NF; exit}')
[ -n "$PWRAP" ] || die "libpam_wrapper.so is missing (deploy/deps.sh --test installs it)"

if [ -z "$build" ]; then
	say "Building photoguard"
	cd "$top" || exit 1
	if [ ! -d build-demo ]; then
		meson setup build-demo >/dev/null || die "meson setup failed"
	fi
	ninja -C build-demo >/dev/null || die "the build failed"
	build=$top/build-demo
fi
pg=$build/cli/photoguard
gateway=$build/gateway/photoguard-gateway
module=$build/pam_module/pam_photoguard.so
drive=$top/tests/e2e/kbdint.py
for f in "$pg" "$gateway" "$module"; do
	[ -e "$f" ] || die "$f is missing: is $build a photoguard build?"
done
# A sanitizer build of the module needs its runtimes loaded into sshd first.
pre=$(ldd "$module" | awk '/libasan\.so|libubsan\.so/{printf "%s:", $3}')
[ -n "$pre" ] && export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
PWRAP=$pre$PWRAP

# --- the accounts: three staff of the sample clinic and the service user ---
ACCOUNTS="asmith:2001 dlopez:2011 ioconnor:2031 pgdemo:2099"
MARK="photoguard demo account"
for a in $ACCOUNTS; do
	name=${a%%:*} uid=${a##*:}
	# A demo that was killed outright could not remove its accounts.
	if [ "$(getent passwd "$name" | cut -d: -f3,5)" = "$uid:$MARK" ]; then
		echo "removing $name, left behind by an earlier demo that was stopped"
		pkill -KILL -u "$name" 2>/dev/null
		userdel "$name" || die "could not remove the earlier demo's account $name"
	fi
	if getent passwd "$name" >/dev/null || getent passwd "$uid" >/dev/null; then
		die "an account named $name or with uid $uid exists on this host already; the demo leaves it alone and stops"
	fi
done
# The service user's group is its own (the gateway serves as pgdemo and
# shares the MFA tickets, lockout store and audit log with that group).
if getent group pgdemo >/dev/null; then
	die "a group named pgdemo exists on this host already; the demo leaves it alone and stops"
fi

# Not on tmpfs: the lockout store refuses volatile storage.
work=$(mktemp -d /var/tmp/photoguard-demo.XXXXXX) || die "no temporary directory"
chmod 0755 "$work"
made_users= made_run= gw_pid= sshd_pid=
. "$top/tests/lib/slapd.sh"
. "$top/tests/lib/pwrap.sh"
cleanup() {
	local u
	if mountpoint -q "$work/photos" 2>/dev/null; then
		fusermount3 -u "$work/photos" 2>/dev/null || umount -l "$work/photos"
	fi
	[ -n "$gw_pid" ] && kill "$gw_pid" 2>/dev/null && wait "$gw_pid" 2>/dev/null
	[ -n "$sshd_pid" ] && kill "$sshd_pid" 2>/dev/null && wait "$sshd_pid" 2>/dev/null
	slapd_stop 2>/dev/null
	for u in $made_users; do
		pkill -KILL -u "$u" 2>/dev/null
		userdel "$u" 2>/dev/null
	done
	[ -n "$made_run" ] && rmdir /run/sshd 2>/dev/null
	if [ "$keep" = 1 ]; then
		echo "demo files kept in $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "Setting up a clinic in $work"
mkdir -p "$work/home" "$work/photos" "$work/run" "$work/slapd"
mkdir -m 0700 "$work/secret" "$work/audit" "$work/totp" "$work/mfa"
for a in $ACCOUNTS; do
	name=${a%%:*} uid=${a##*:}
	if [ "$name" = pgdemo ]; then
		useradd -M -U -u "$uid" -c "$MARK" -d /nonexistent \
			-s /usr/sbin/nologin "$name" || die "useradd $name failed"
	else
		useradd -M -N -g users -u "$uid" -c "$MARK" -d "$work/home/$name" \
			-s /bin/sh "$name" || die "useradd $name failed"
		install -d -m 0700 -o "$name" -g users "$work/home/$name"
	fi
	made_users="$made_users $name"
done
# The staff's passwords: known to the demo, as a phished one would be.
declare -A pw
for name in asmith dlopez ioconnor; do
	pw[$name]=$(head -c 12 /dev/urandom | base64 | tr -d '/+=')
	printf '%s:%s\n' "$name" "${pw[$name]}" | chpasswd || die "chpasswd failed"
done
echo "local accounts (uids as in the directory): asmith (surgeon), dlopez (nurse), ioconnor (front desk); pgdemo owns the store"

step "A real slapd on loopback with the sample clinic"
"$top/deploy/ldap/gen-clinic.sh" 1000 ldif >"$work/careteams.ldif"
cat "$top/deploy/ldap/clinic-sample.ldif" "$work/careteams.ldif" >"$work/clinic.ldif"
slapd_start "$work/slapd" "$work/clinic.ldif" >"$work/slapd.out" 2>&1 ||
	{ show "$work/slapd.out"; die "slapd did not start"; }
trap cleanup EXIT # slapd_start sets its own
bindpw=$(head -c 18 /dev/urandom | base64)
ldappasswd -x -H "$SLAPD_URI" -D "$SLAPD_ADMIN_DN" -w "$SLAPD_ADMIN_PW" \
	-s "$bindpw" "cn=photoguard,ou=services,$SLAPD_BASE_DN" >/dev/null ||
	die "could not set the bind password"
# Readable by the gateway, which serves as pgdemo: root's, group pgdemo, 0640.
(umask 077 && printf '%s\n' "$bindpw" >"$work/ldap.secret")
chgrp pgdemo "$work/ldap.secret" && chmod 0640 "$work/ldap.secret"
unset bindpw
staff=$(slapd_search -b "ou=people,$SLAPD_BASE_DN" "(objectClass=posixAccount)" uid | grep -c '^uid:')
teams=$(slapd_search -b "ou=careteams,$SLAPD_BASE_DN" "(objectClass=groupOfNames)" cn | grep -c '^cn:')
echo "slapd on $SLAPD_URI (StartTLS): $staff staff, care teams of $teams patients"
verdict "the directory holds at least 10 staff and 1,000 patients" test "$staff" -ge 10 -a "$teams" -ge 1000

step "A store of real JPEG photos, owned by the service user, mode 0700"
python3 "$top/deploy/demo/make-store.py" "$work/store" 1000 P999001 P999002 P999003 ||
	die "could not build the store"
chown -R pgdemo:pgdemo "$work/store"
chmod -R go-rwx "$work/store"
photos=$(find "$work/store" -type f -name '*.jpg' | wc -l)
echo "$photos photos of $(ls "$work/store/patients" | wc -l) patients (three of them decoys), $(du -sh "$work/store" | cut -f1)"
file -b "$work/store/patients/P000001/"*postop/front.jpg | cut -c1-120 | show

step "The clinic's policy (policy/examples/clinic.policy)"
sed 's/and hours 06:00-22:00/and hours 00:00-24:00/' \
	"$top/policy/examples/clinic.policy" >"$work/clinic.policy"
echo "One change for the demo, which may run at any hour: nurses' clinic hours."
diff "$top/policy/examples/clinic.policy" "$work/clinic.policy" | grep '^[<>]' | show
grep -E '^(limit|lockout) surgeon' "$work/clinic.policy" | show
cat >"$work/photoguard.conf" <<EOF
[directory]
backend = ldap
uri = $SLAPD_URI
tls = starttls
ca_file = $SLAPD_CA
base_dn = $SLAPD_BASE_DN
bind_dn = cn=photoguard,ou=services,$SLAPD_BASE_DN
bind_password_file = $work/ldap.secret
# A lockout is written to the user's entry too: every server refuses her.
lockout_attribute = pwdAccountLockedTime

[policy]
file = $work/clinic.policy

[audit]
log = $work/audit/audit.jsonl
key = $work/secret/audit.key

[lockout]
dir = $work/lockout

[totp]
secret_dir = $work/totp
host_key = $work/secret/totp.key
ticket_dir = $work/mfa

[store]
root = $work/store
user = pgdemo
mountpoint = $work/photos
control_socket = $work/run/gateway.sock
EOF
chmod 0644 "$work/photoguard.conf"
export PHOTOGUARD_CONFIG=$work/photoguard.conf
"$pg" audit keygen "$work/secret/audit.key" >/dev/null || die "audit keygen failed"
"$pg" totp hostkey >/dev/null || die "totp hostkey failed"
verdict "photoguard policy check: the policy is valid" "$pg" policy check "$work/clinic.policy"
verdict "photoguard config check: the configuration is valid" "$pg" config check

step "photoguard-gateway mounts the store on $work/photos"
"$gateway" -f "$work/photos" >"$work/gateway.log" 2>&1 &
gw_pid=$!
for _ in $(seq 100); do
	mountpoint -q "$work/photos" && break
	kill -0 "$gw_pid" 2>/dev/null || break
	sleep 0.1
done
mountpoint -q "$work/photos" || { show "$work/gateway.log"; die "the gateway did not mount"; }
grep -m1 " $work/photos " /proc/mounts | show
# It mounts as root and serves as the store's user: the worker is pgdemo.
for _ in $(seq 50); do
	worker=$(pgrep -P "$gw_pid" | head -1)
	[ "$(ps -o user= -p "${worker:-0}" 2>/dev/null)" = pgdemo ] && break
	sleep 0.1
done
echo "   serving: pid ${worker:-?} as $(ps -o user=,group= -p "${worker:-0}" 2>/dev/null | tr -s ' ')"
verdict "the gateway serves as the service user pgdemo, not root" \
	test "$(ps -o user= -p "${worker:-0}" 2>/dev/null)" = pgdemo

step "A real sshd on a loopback port: password (pam_unix), then the code (pam_photoguard)"
printf '%s\n' \
	"auth     required  pam_unix.so" \
	"auth     required  $module config=$work/photoguard.conf host=imaging-01" \
	"account  required  pam_unix.so" \
	"account  required  $module config=$work/photoguard.conf host=imaging-01" \
	"session  required  $module config=$work/photoguard.conf host=imaging-01" \
	>"$work/sshd.pam"
mkdir -p "$work/pam.d" && cp "$work/sshd.pam" "$work/pam.d/sshd"
show "$work/pam.d/sshd"
ssh-keygen -q -t ed25519 -N '' -f "$work/secret/ssh_host_key"
port=$(slapd_free_port)
cat >"$work/sshd_config" <<EOF
Port $port
ListenAddress 127.0.0.1
HostKey $work/secret/ssh_host_key
PidFile $work/run/sshd.pid
UsePAM yes
KbdInteractiveAuthentication yes
PasswordAuthentication no
PubkeyAuthentication no
AuthenticationMethods keyboard-interactive
PermitRootLogin no
MaxAuthTries 3
LogLevel VERBOSE
EOF
if [ ! -d /run/sshd ]; then mkdir -m 0755 /run/sshd && made_run=1; fi
/usr/sbin/sshd -t -f "$work/sshd_config" || die "sshd refuses its configuration"
pwrap_sweep
env LD_PRELOAD="$PWRAP" PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$work/pam.d" \
	/usr/sbin/sshd -D -e -f "$work/sshd_config" >"$work/sshd.log" 2>&1 &
sshd_pid=$!
for _ in $(seq 50); do
	ss -Htln "sport = :$port" | grep -q . && break
	sleep 0.1
done
ss -Htln "sport = :$port" | grep -q . || { show "$work/sshd.log"; die "sshd did not start"; }
echo "sshd on 127.0.0.1:$port (the host's own sshd and /etc/pam.d are untouched)"

step "Staff enroll their phones (photoguard enroll; oathtool plays the phone)"
declare -A secret last_step
enroll() { # USER: enrolls, confirming with the phone's first code
	local u=$1 i
	rm -f "$work/in" && mkfifo "$work/in"
	"$pg" enroll "$u" --secret-to-pipe <"$work/in" >"$work/enroll.$u" 2>&1 &
	local pid=$!
	exec 3>"$work/in"
	for i in $(seq 100); do
		grep -q 'secret=' "$work/enroll.$u" && break
		sleep 0.05
	done
	secret[$u]=$(grep -o 'secret=[A-Z2-7]*' "$work/enroll.$u" | cut -d= -f2)
	oathtool --totp -b "${secret[$u]}" >&3
	last_step[$u]=$(($(date +%s) / 30))
	exec 3>&-
	wait $pid
}
# code USER: sets CODE to the phone's code for a time step after the last
# one used (photoguard takes each code once), waiting for the next step if
# need be.
code() {
	local u=$1 now use
	now=$(($(date +%s) / 30))
	use=$((last_step[$u] + 1))
	[ "$use" -lt "$now" ] && use=$now
	# The module takes codes up to one step ahead (a phone clock a little
	# fast); two steps ahead is a wait.
	if [ "$use" -gt $((now + 1)) ]; then
		echo "   (waiting $((30 - $(date +%s) % 30)) s for $u's phone to show a new code)"
		sleep $((30 - $(date +%s) % 30))
	fi
	last_step[$u]=$use
	CODE=$(oathtool --totp -b "${secret[$u]}" -N "@$((use * 30))")
}
for u in dlopez asmith ioconnor; do
	if enroll "$u"; then
		echo "$u enrolled: $(grep -o 'otpauth://totp/[^?]*' "$work/enroll.$u") (secret encrypted under the host key in $work/totp)"
	else
		# Its last words, without the secret, QR code or scratch codes.
		tail -n 3 "$work/enroll.$u" |
			grep -av -e 'secret=' -e '[▀▄█]' -e '^  [a-z0-9]\{5\}-' | show
		die "enrollment of $u failed"
	fi
done

# ssh_as USER CODE COMMAND: an ssh login typing USER's password and CODE.
# sshd starts every connection in a new process, which pam_wrapper gives a
# copy of the service files in one of a few /tmp/pam.X names shared by the
# host; when none is free the process dies before the key exchange.  That
# is no login attempt at all: try again.
ssh_as() {
	local u=$1 c=$2 try rc
	shift 2
	for try in 1 2 3 4 5; do
		pwrap_sweep
		PG_DEMO_PW=${pw[$u]} KBDINT_LIMIT_S=120 \
			"$drive" --password-env PG_DEMO_PW "$c" -- ssh -p "$port" \
			-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
			-o PreferredAuthentications=keyboard-interactive \
			-o NumberOfPasswordPrompts=1 -o ConnectTimeout=10 -o LogLevel=ERROR \
			"$u@127.0.0.1" "$@" >"$work/ssh.out" 2>&1
		rc=$?
		grep -aq 'kex_exchange_identification' "$work/ssh.out" || break
		sleep 1
	done
	return $rc
}
# What the session printed, without ssh's prompts.
session_out() { grep -av -e 'Password:' -e 'Verification code:' "$work/ssh.out" | tr -d '\r'; }
audit_last() { # USER EVENT: the user's last record of EVENT, as JSON
	"$pg" audit query --user "$1" --event "$2" --json 2>/dev/null | tail -1
}
audit_reason() { # USER EVENT: prints the reason of the user's last EVENT
	echo "   audit: $(audit_last "$1" "$2" | grep -o '"reason":"[^"]*"')"
}
ran() { grep -aq "$1" "$work/ssh.out"; }
not() { ! "$@"; }

m=$work/photos
patient_of() { # USER: the user's first patient, from the directory
	slapd_search -b "ou=careteams,$SLAPD_BASE_DN" \
		"(member=uid=$1,ou=people,$SLAPD_BASE_DN)" cn | awk '/^cn: P/{print $2; exit}'
}
teams_of() { # USER: how many patients' care teams USER is on
	slapd_search -b "ou=careteams,$SLAPD_BASE_DN" \
		"(member=uid=$1,ou=people,$SLAPD_BASE_DN)" cn | grep -c '^cn: P'
}
own=$(patient_of dlopez)
other=$(slapd_search -b "ou=careteams,$SLAPD_BASE_DN" \
	"(&(cn=P*)(!(member=uid=dlopez,ou=people,$SLAPD_BASE_DN)))" cn |
	awk '/^cn: P/{print $2; exit}')
postop=$(basename "$(ls -d "$work/store/patients/$own/"*-postop)")
opostop=$(basename "$(ls -d "$work/store/patients/$other/"*-postop)")
nurse_sees=$(teams_of dlopez)

say "The story"

step "1. Nurse dlopez logs in over ssh: password, then the code from her phone"
code dlopez
nurse_code=$CODE
ssh_as dlopez "$nurse_code" "
echo \"patients I can see: \$(ls $m/patients | wc -l)\"
echo \"my patient $own, post-op front view:\"
file -b $m/patients/$own/$postop/front.jpg | cut -c1-100
cp $m/patients/$own/$postop/front.jpg ~/front.jpg && echo \"copied: \$(wc -c <~/front.jpg) bytes\"
echo \"patient $other, not on my care team:\"
ls $m/patients/$other 2>&1
cat $m/patients/$other/$opostop/front.jpg >/dev/null 2>&1 || echo \"open refused: \$(cat $m/patients/$other/$opostop/front.jpg 2>&1 >/dev/null)\"
echo SESSION-DONE"
rc=$?
session_out | show
verdict "dlopez logs in with password and code" test $rc -eq 0
verdict "she sees exactly the $nurse_sees patients of her care teams" ran "patients I can see: $nurse_sees"
verdict "her patient's post-op photo opens: a real JPEG" ran "JPEG image data"
verdict "the copy she made is byte for byte the photo" \
	cmp -s "$work/home/dlopez/front.jpg" "$work/store/patients/$own/$postop/front.jpg"
verdict "another patient's folder does not exist for her" ran "ls: cannot access '$m/patients/$other': No such file or directory"
verdict "...nor does that patient's photo" ran "open refused: .*No such file or directory"

step "2. The front desk (ioconnor), enrolled for the reception PCs, tries the imaging server"
code ioconnor
ssh_as ioconnor "$CODE" 'echo SESSION-DONE'
rc=$?
session_out | show
audit_reason ioconnor pam.account
verdict "refused: front desk has no login on imaging servers" test $rc -ne 0
verdict "...audited with the reason" eval 'audit_last ioconnor pam.account | grep -q "\"decision\":\"deny\""'
verdict "...and no command ran" not ran SESSION-DONE
echo "At this server's console she would still see no photo:"
console() { setpriv --reuid=2031 --regid=100 --clear-groups "$@"; }
files=$(console find "$m" -type f 2>/dev/null | wc -l)
echo "   \$ find $m -type f | wc -l"
echo "   $files"
console cat "$m/patients/$own/$postop/front.jpg" >/dev/null 2>"$work/desk.err"
show "$work/desk.err"
verdict "the store shows her no file at all" test "$files" -eq 0
verdict "...and a photo named by its path does not exist for her" grep -q 'No such file or directory' "$work/desk.err"

step "3. A wrong code, then a replay of dlopez's accepted code"
ssh_as dlopez 314159 'echo SESSION-DONE'
rc=$?
audit_reason dlopez pam.auth
verdict "a wrong code: refused, no command ran" test $rc -ne 0 -a -z "$(grep -a SESSION-DONE "$work/ssh.out")"
verdict "...the refusal is audited as a code that does not match" \
	eval 'audit_last dlopez pam.auth | grep -q "does not match"'
ssh_as dlopez "$nurse_code" 'echo SESSION-DONE'
rc=$?
audit_reason dlopez pam.auth
verdict "the code she used in step 1, replayed: refused, no command ran" \
	test $rc -ne 0 -a -z "$(grep -a SESSION-DONE "$work/ssh.out")"
verdict "...the refusal is audited as a code already used" \
	eval 'audit_last dlopez pam.auth | grep -qi "already used\|replay"'

step "4. Surgeon asmith's password was phished: the attacker has it, not her phone"
ssh_as asmith "" "ls $m/patients | wc -l; echo SESSION-DONE"
rc=$?
audit_reason asmith pam.auth
verdict "password without the code: refused, no command ran" \
	test $rc -ne 0 -a -z "$(grep -a SESSION-DONE "$work/ssh.out")"
verdict "...and no MFA ticket was issued for her" test ! -e "$work/mfa/asmith.ticket"

step "5. asmith's account, logged in with the code, copies the whole store: cp -r"
surg_sees=$(teams_of asmith)
echo "asmith may open the photos of the $surg_sees patients of her care teams ($((surg_sees * 6)) photos);"
echo "her role's allowance: $(grep -E '^limit surgeon files' "$work/clinic.policy" | cut -d' ' -f3-)"
allow_min=$(grep -E '^limit surgeon files' "$work/clinic.policy" | grep -o '[0-9]*/minute' | cut -d/ -f1)
code asmith
ssh_as asmith "$CODE" "
echo \"\$ cp -r $m/patients ~/loot\"
cp -r $m/patients ~/loot 2>~/cp.err
echo \"cp exit status \$?; \$(wc -l <~/cp.err) errors, e.g.:\"
grep -v 'No such file' ~/cp.err | head -2
echo \"files that left: \$(find ~/loot -type f | wc -l)\"
echo SESSION-DONE"
rc=$?
session_out | show
loot=$work/home/asmith/loot
left=0 bad=0
while IFS= read -r -d '' f; do
	if cmp -s "$f" "$work/store/patients/${f#"$loot"/}"; then
		left=$((left + 1))
	else
		bad=$((bad + 1))
	fi
done < <(find "$loot" -type f -print0 2>/dev/null)
echo "files identical to the store's in ~asmith/loot: $left (of $((surg_sees * 6)) she could reach, $photos in the store)"
"$pg" lockouts | show
verdict "asmith logged in with password and code" ran SESSION-DONE
verdict "the copy stopped at the allowance: $left files left, at most $allow_min" test "$left" -ge 1 -a "$left" -le "$allow_min" -a "$bad" -eq 0
verdict "the account is locked out" eval '"$pg" lockouts | grep -q "^asmith "'
echo "   audit: $(audit_last asmith lockout.lock | grep -o '"reason":"[^"]*"\|"rule":"[^"]*"' | tr '\n' ' ')"
verdict "the lockout is audited with the rule that fired" eval 'audit_last asmith lockout.lock | grep -q "lockout"'
locked_attr() {
	slapd_search -b "uid=asmith,ou=people,$SLAPD_BASE_DN" -s base pwdAccountLockedTime |
		sed -n 's/^pwdAccountLockedTime: //p'
}
echo "   directory: uid=asmith,ou=people,$SLAPD_BASE_DN pwdAccountLockedTime: $(locked_attr)"
verdict "...and in the directory, for every other server" test -n "$(locked_attr)"

step "6. asmith's next ssh login, with the password and the right code"
code asmith
ssh_as asmith "$CODE" 'echo SESSION-DONE'
rc=$?
session_out | show
audit_reason asmith pam.auth
verdict "refused: the account is locked, no command ran" \
	test $rc -ne 0 -a -z "$(grep -a SESSION-DONE "$work/ssh.out")"
verdict "...audited as locked out" eval 'audit_last asmith pam.auth | grep -q "locked out"'

step "7. photoguard audit verify: the log is whole"
"$pg" audit verify 2>&1 | show
verdict "the audit log verifies (hash chain and signed checkpoints)" eval '"$pg" audit verify >/dev/null 2>&1'

step "8. photoguard audit report --user asmith: whose photos left?"
"$pg" audit report --user asmith >"$work/report.txt" 2>&1
head -8 "$work/report.txt" | show
echo "   | ... ($(wc -l <"$work/report.txt") lines)"
"$pg" audit report --user asmith --csv 2>/dev/null | awk -F, 'NR > 1 {gsub(/"/, ""); print $2}' | sort -u >"$work/report.patients"
# The patients whose files are in the copy.
(cd "$loot" && find . -type f | cut -d/ -f2 | sort -u) >"$work/loot.patients"
echo "patients in the report: $(wc -l <"$work/report.patients"); patients with a file in the copy: $(wc -l <"$work/loot.patients")"
verdict "the report names exactly the patients whose photos left" \
	cmp -s "$work/report.patients" "$work/loot.patients"
"$pg" audit report --user dlopez --csv 2>/dev/null | awk -F, 'NR > 1 {gsub(/"/, ""); print $2}' >"$work/nurse.patients"
verdict "dlopez's report names exactly her one patient, $own" test "$(cat "$work/nurse.patients")" = "$own"

step "9. An admin unlocks asmith: photoguard unlock asmith"
"$pg" unlock asmith 2>&1 | show
verdict "the lockout is lifted" eval '! "$pg" lockouts | grep -q "^asmith "'
verdict "...in the directory too" test -z "$(locked_attr)"
verdict "the unlock is audited, with who asked" \
	eval '"$pg" audit query --event admin.unlock --json | tail -1 | grep -q "\"actor\":\"root\".*\"object\":\"asmith\".*lockout lifted"'
code asmith
ssh_as asmith "$CODE" 'echo SESSION-DONE'
rc=$?
verdict "asmith logs in again with password and code" test $rc -eq 0 -a -n "$(grep -a SESSION-DONE "$work/ssh.out")"

say "Done: $passes checks as expected, $fails not"
echo "The audit log is $work/audit/audit.jsonl; 'photoguard audit query' and"
echo "'photoguard audit report --all-users' read it (run with --keep to look)."
[ "$fails" -eq 0 ]
