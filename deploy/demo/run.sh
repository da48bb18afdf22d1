#!/bin/bash
# run.sh - the photoguard demo.  Installs what it needs (Debian packages),
# builds photoguard, starts a real slapd on a loopback port with the sample
# clinic (staff, roles and the care teams of 1,000 patients), and asks the
# clinic's policy, through that directory, what each member of staff may do
# with which patient's photos.
#
# Everything it starts lives in one temporary directory and is stopped on
# exit; the host's /etc/pam.d, /etc/ldap and services are not touched.
#   --keep   leave the temporary directory (config, policy, slapd data)
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
keep=0
[ "${1:-}" = "--keep" ] && keep=1

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
step() { printf '\n\033[1m-- %s\033[0m\n' "$*"; }

say "Installing what the demo needs (Debian packages; skipped if present)"
"$top/deploy/deps.sh" --test

say "Building photoguard"
cd "$top"
[ -d build-demo ] || meson setup build-demo >/dev/null
ninja -C build-demo >/dev/null
pg="$top/build-demo/cli/photoguard"

# Not on tmpfs: the lockout store refuses volatile storage.
work=$(mktemp -d /var/tmp/photoguard-demo.XXXXXX)
cleanup() {
	slapd_stop 2>/dev/null || true
	if [ "$keep" = 1 ]; then
		echo "demo files kept in $work"
	else
		rm -rf "$work"
	fi
}
. "$top/tests/lib/slapd.sh"
trap cleanup EXIT

say "Starting a real slapd on loopback with the sample clinic"
"$top/deploy/ldap/gen-clinic.sh" 1000 ldif >"$work/careteams.ldif"
cat "$top/deploy/ldap/clinic-sample.ldif" "$work/careteams.ldif" >"$work/clinic.ldif"
mkdir -p "$work/slapd"
slapd_start "$work/slapd" "$work/clinic.ldif"
echo "slapd pid $SLAPD_PID on $SLAPD_URI (StartTLS) and $SLAPD_LDAPS_URI"
bindpw=$(head -c 18 /dev/urandom | base64)
ldappasswd -x -H "$SLAPD_URI" -D "$SLAPD_ADMIN_DN" -w "$SLAPD_ADMIN_PW" \
    -s "$bindpw" "cn=photoguard,ou=services,$SLAPD_BASE_DN" >/dev/null
(umask 077 && printf '%s\n' "$bindpw" >"$work/ldap.secret")
unset bindpw
staff=$(slapd_search -b "ou=people,$SLAPD_BASE_DN" "(objectClass=posixAccount)" uid |
	grep -c '^uid:')
teams=$(slapd_search -b "ou=careteams,$SLAPD_BASE_DN" "(objectClass=groupOfNames)" cn |
	grep -c '^cn:')
echo "directory holds $staff staff and the care teams of $teams patients"

install -m 0644 "$top/policy/examples/clinic.policy" "$work/clinic.policy"
cat >"$work/photoguard.conf" <<EOF
[directory]
backend = ldap
uri = $SLAPD_URI
tls = starttls
ca_file = $SLAPD_CA
base_dn = $SLAPD_BASE_DN
bind_dn = cn=photoguard,ou=services,$SLAPD_BASE_DN
bind_password_file = $work/ldap.secret

[policy]
file = $work/clinic.policy

[audit]
log = $work/audit.jsonl
key = $work/audit.key

[lockout]
dir = $work/lockout
EOF
chmod 0644 "$work/photoguard.conf"
export PHOTOGUARD_CONFIG="$work/photoguard.conf"

say "The clinic's policy"
"$pg" policy check "$work/clinic.policy"
"$pg" config check

# A patient on (and one off) a user's care team, straight from the directory.
patient_of() {
	slapd_search -b "ou=careteams,$SLAPD_BASE_DN" \
	    "(member=uid=$1,ou=people,$SLAPD_BASE_DN)" cn |
		awk '/^cn: /{print $2; exit}'
}
patient_not_of() {
	slapd_search -b "ou=careteams,$SLAPD_BASE_DN" \
	    "(&(objectClass=groupOfNames)(!(member=uid=$1,ou=people,$SLAPD_BASE_DN)))" cn |
		awk '/^cn: /{print $2; exit}'
}

explain() {	# title, explain arguments...
	local title=$1 rc=0
	shift
	step "$title"
	echo "\$ photoguard policy explain $*"
	# The full trace of rules considered is left to the curious: run the
	# command above yourself (with PHOTOGUARD_CONFIG set, see --keep).
	"$pg" policy explain "$@" >"$work/explain.out" || rc=$?
	sed '/^rules considered:/,$d' "$work/explain.out"
	case $rc in
	0) echo ">> allowed" ;;
	1) echo ">> refused" ;;
	*) echo ">> could not decide (refused)" ;;
	esac
}

nurse=dlopez surgeon=asmith
own=$(patient_of $nurse)
other=$(patient_not_of $nurse)
sown=$(patient_of $surgeon)

say "What the policy decides, for real staff from the directory"
explain "A nurse opens her own patient's post-op photo" \
    --user $nurse --path "patients/$own/2026-03-02-postop/front.jpg" --at "Tue 10:30"
explain "The same nurse, a patient outside her care team" \
    --user $nurse --path "patients/$other/2026-03-02-postop/front.jpg" --at "Tue 10:30"
explain "...and she cannot even see that patient's folder in a listing" \
    --user $nurse --path "patients/$other" --action list --dir --at "Tue 10:30"
explain "The nurse at 23:30, outside clinic hours" \
    --user $nurse --path "patients/$own/2026-03-02-postop/front.jpg" --at "Tue 23:30"
explain "A surgeon without a live MFA login (a stolen password alone)" \
    --user $surgeon --path "patients/$sown/2026-03-01-preop/side.jpg" --no-mfa
explain "The surgeon with MFA, own patient" \
    --user $surgeon --path "patients/$sown/2026-03-01-preop/side.jpg"
explain "A photographer uploads into a patient's incoming series" \
    --user hpatel --path "patients/$own/incoming/IMG_0001.jpg" --action write --at "Tue 10:30"
explain "The photographer tries to read a photo" \
    --user hpatel --path "patients/$own/2026-03-02-postop/front.jpg" --at "Tue 10:30"
explain "Front desk asks for a photo" \
    --user ioconnor --path "patients/$own/2026-03-02-postop/front.jpg"
explain "The compliance auditor asks for a photo" \
    --user lrossi --path "patients/$own/2026-03-02-postop/front.jpg"
explain "An IT admin asks for a photo" \
    --user mdubois --path "patients/$own/2026-03-02-postop/front.jpg"
explain "An IT admin logs in to an imaging server over ssh" \
    --user mdubois --host imaging-01 --service sshd
explain "A nurse opens a decoy patient (a canary: this locks the account)" \
    --user $nurse --path "patients/P999001/2026-01-10-preop/front.jpg" --at "Tue 10:30"

say "Done"
echo "Every decision above came from the real directory on $SLAPD_URI and"
echo "the policy in $work/clinic.policy (see policy/LANGUAGE.md)."
