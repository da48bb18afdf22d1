# lib.sh - the fixture of the gateway tests: a real slapd with a small
# clinic, local Unix users with the directory's uids, a photo store owned
# by a service user (mode 0700), a test policy with small limits, MFA
# tickets written with the core API, and a real FUSE mount that the users
# read as themselves (setpriv).  Source it (it brings tap.sh and
# slapd.sh), then call gw_setup_or_bail, which also sets m (the mount) and
# s (the store); everything is undone on exit, failure included.
#
# The users (gw*, uids 2901-2909) and the service user (gwstore, 2990) are
# the tests' own, so no other test's users are touched.

. "$PG_SOURCE_ROOT/tests/lib/tap.sh"
. "$PG_SOURCE_ROOT/tests/lib/slapd.sh"

GW_BIN="$PG_BUILD_ROOT/gateway/photoguard-gateway"
PG_CLI="$PG_BUILD_ROOT/cli/photoguard"
GW_MFA="$PG_BUILD_ROOT/gateway/tests/gw_mfa"
GW_GID=100 # users
GW_USERS="gwsurg:2901:surgeons gwnurse:2902:nurses gwphoto:2903:clinical-photographers gwdesk:2904:front-desk gwit:2905:it-admins gwoncall:2906:oncall-surgeons gwbulk:2907:research-surgeons gwwide:2908:photo-archivists"
GW_PID=
GW_CREATED_USERS=

gw_need_root() {
	if [ "$(id -u)" != 0 ] || [ ! -c /dev/fuse ] || ! command -v setpriv >/dev/null; then
		skip "gateway tests" "need root, /dev/fuse and setpriv (mounts and users are real)"
		done_testing
		exit 0
	fi
}

gw_cleanup() {
	gw_stop
	slapd_stop
	slapd_pair_stop
	local u
	for u in $GW_CREATED_USERS; do
		userdel "$u" >/dev/null 2>&1
	done
	[ -n "$tmp" ] && chattr -i "$tmp/audit/audit.jsonl" 2>/dev/null
	[ -n "$tmp" ] && rm -rf "$tmp"
}

gw_add_user() { # name uid [own]: "own" gives the user a group of its own
	local grp="-N -g $GW_GID"
	userdel "$1" >/dev/null 2>&1
	if [ "${3:-}" = own ]; then
		groupdel "$1" >/dev/null 2>&1
		grp=-U
	fi
	# shellcheck disable=SC2086
	if useradd -M $grp -u "$2" -d /nonexistent -s /usr/sbin/nologin "$1"; then
		GW_CREATED_USERS="$GW_CREATED_USERS $1"
		return 0
	fi
	return 1
}

# The directory: people, role groups and care teams (P000001..P000006).
gw_ldif() {
	local b=dc=clinic,dc=example u name uid grp
	cat <<LDIF
dn: $b
objectClass: dcObject
objectClass: organization
dc: clinic
o: gateway test clinic

dn: ou=people,$b
objectClass: organizationalUnit
ou: people

dn: ou=groups,$b
objectClass: organizationalUnit
ou: groups

dn: ou=careteams,$b
objectClass: organizationalUnit
ou: careteams

LDIF
	for u in $GW_USERS; do
		IFS=: read -r name uid grp <<<"$u"
		printf 'dn: uid=%s,ou=people,%s\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\nuid: %s\ncn: %s\nsn: %s\nuidNumber: %s\ngidNumber: %s\nhomeDirectory: /nonexistent\n\n' \
		    "$name" "$b" "$name" "$name" "$name" "$uid" "$GW_GID"
	done
	for grp in surgeons nurses clinical-photographers front-desk it-admins oncall-surgeons photo-archivists research-surgeons; do
		printf 'dn: cn=%s,ou=groups,%s\nobjectClass: groupOfNames\ncn: %s\n' "$grp" "$b" "$grp"
		for u in $GW_USERS; do
			IFS=: read -r name uid g <<<"$u"
			[ "$g" = "$grp" ] && printf 'member: uid=%s,ou=people,%s\n' "$name" "$b"
		done
		printf '\n'
	done
	# gwsurg and gwnurse: P000001, P000002; gwbulk: all six.
	for p in 1 2 3 4 5 6; do
		printf 'dn: cn=P00000%s,ou=careteams,%s\nobjectClass: groupOfNames\ncn: P00000%s\n' "$p" "$b" "$p"
		[ "$p" -le 2 ] && printf 'member: uid=gwsurg,ou=people,%s\nmember: uid=gwnurse,ou=people,%s\n' "$b" "$b"
		printf 'member: uid=gwbulk,ou=people,%s\n\n' "$b"
	done
}

# The policy of the tests: the example clinic's rules, small limits.
gw_policy() {
	cat <<'POL'
layout "patients/{patient}/{series}/{file}"
role surgeon      = group surgeons
role nurse        = group nurses
role photographer = group clinical-photographers
role frontdesk    = group front-desk
role itadmin      = group it-admins
role oncall       = group oncall-surgeons
role archivist    = group photo-archivists
role bulk         = group research-surgeons
allow surgeon list,read,write patients/{patient}/** if care-team and mfa
allow nurse list,read patients/{patient}/** if care-team and mfa
allow nurse write patients/{patient}/incoming/* if care-team and mfa
allow photographer write patients/{patient}/incoming/* if mfa
allow oncall list,read patients/{patient}/** if breakglass and mfa
allow archivist list,read patients/** if mfa
allow bulk list,read patients/{patient}/** if care-team and mfa
deny all write patients/{patient}/archive/**
deny frontdesk,itadmin all **
limit surgeon files 100/10min bytes 10MiB/10min
limit bulk files 3/2s 6/10min bytes 10MiB/10min patients 6/10min
limit nurse files 20/10min bytes 10MiB/10min
limit photographer files 20/10min bytes 10MiB/10min
limit oncall files 20/10min
limit archivist files 100/10min
lockout surgeon files 200/10min
lockout bulk files 12/10min patients 8/10min
lockout nurse files 40/10min
lockout photographer files 40/10min
lockout oncall files 40/10min
lockout archivist files 200/10min
breakglass oncall for 1h max 2/day reason required
decoy P999001
login bulk on "imaging-*" service sshd
POL
}

# One photo: a first line naming it (so a reader's output can be counted)
# and random bytes.
gw_photo() { # path size
	mkdir -p "$(dirname "$1")"
	{ printf 'PHOTO %s\n' "${1#"$tmp/store/"}"; head -c "$2" /dev/urandom; } >"$1"
}

gw_store() {
	local s=$tmp/store p ser f
	for p in P000001 P000002 P000003 P000004 P000005 P000006 P999001; do
		for ser in 2026-01-10-preop 2026-02-20-postop; do
			for f in 1 2 3; do
				gw_photo "$s/patients/$p/$ser/IMG_000$f.jpg" 20000
			done
		done
		mkdir -p "$s/patients/$p/incoming" "$s/patients/$p/archive"
	done
	chown -R gwstore:gwstore "$s"
	chmod -R go-rwx "$s"
}

gw_write_conf() { # uri [cache_ttl]
	cat >"$tmp/etc/pg.conf" <<CONF
[directory]
backend = ldap
uri = $1
ca_file = $SLAPD_CA
base_dn = $SLAPD_BASE_DN
network_timeout = 1s
timeout = 1s
cache_ttl = ${2:-2s}
[policy]
file = $tmp/etc/test.policy
[audit]
log = $tmp/audit/audit.jsonl
key = $tmp/etc/audit.key
checkpoint_every = 50
syslog = no
[lockout]
dir = $tmp/lockout
hook = $tmp/etc/hook.sh
[totp]
ticket_dir = $tmp/mfa
[store]
root = $tmp/store
user = gwstore
mountpoint = $tmp/mnt
control_socket = $tmp/gateway.sock
CONF
	chmod 0644 "$tmp/etc/pg.conf"
}

gw_setup() {
	local u name uid grp
	gw_need_root
	# The users are shared by every gateway test: one test at a time,
	# even across test runs.
	exec 9>/run/lock/photoguard-gateway-tests.lock
	flock -w 1200 9 || return 1
	tmp=$(mktemp -d /tmp/pg-gw.XXXXXX)
	chmod 0755 "$tmp"
	trap gw_cleanup EXIT
	mkdir -p "$tmp/etc" "$tmp/mnt" "$tmp/audit" "$tmp/slapd" "$tmp/out"
	chmod 0700 "$tmp/audit"
	chmod 0777 "$tmp/out"
	# The gateway serves as gwstore: its group, which shares the MFA
	# tickets, the lockout store and the audit log, is its own.
	gw_add_user gwstore 2990 own || return 1
	for u in $GW_USERS; do
		IFS=: read -r name uid grp <<<"$u"
		gw_add_user "$name" "$uid" || return 1
	done
	gw_ldif >"$tmp/clinic.ldif"
	# GW_SLAPD_PAIR=1: two providers replicating (slapd.sh), the
	# gateway given both, provider 1 first.
	if [ "${GW_SLAPD_PAIR:-0}" = 1 ]; then
		slapd_pair_start "$tmp/slapd" "$tmp/clinic.ldif" || return 1
	else
		slapd_start "$tmp/slapd" "$tmp/clinic.ldif" || return 1
	fi
	trap gw_cleanup EXIT # slapd_start set its own
	gw_policy >"$tmp/etc/test.policy"
	mkdir -p "$tmp/store"
	chown gwstore:gwstore "$tmp/store"
	chmod 0700 "$tmp/store"
	gw_store
	# Written aside and renamed, so that a test that sees the file sees
	# all of it, never a run that is still writing.
	printf '#!/bin/sh\nf=%s/out/hook.$PHOTOGUARD_USER\n{ env | grep ^PHOTOGUARD_ | sort; echo "uid=$(id -u)"; } >"$f.$$" && mv -f "$f.$$" "$f"\n' "$tmp" >"$tmp/etc/hook.sh"
	chmod 0755 "$tmp/etc/hook.sh"
	gw_write_conf "${SLAPD_PAIR_URIS:-$SLAPD_URI}"
	export PHOTOGUARD_CONFIG=$tmp/etc/pg.conf
	"$PG_CLI" audit keygen "$tmp/etc/audit.key" >/dev/null || return 1
	return 0
}

# gw_mfa_issue USER [TTL]: a live MFA login for USER.
gw_mfa_issue() {
	PG_SHARE_USER=gwstore "$GW_MFA" issue "$tmp/mfa" "$1" "${2:-3600}"
}

gw_start() { # extra args
	${GW_WRAP:-} "$GW_BIN" --config "$tmp/etc/pg.conf" -f "$@" "$tmp/mnt" \
	    >>"$tmp/gateway.log" 2>&1 9>&- &
	GW_PID=$!
	local i
	for i in $(seq 1 100); do
		if mountpoint -q "$tmp/mnt"; then
			return 0
		fi
		kill -0 "$GW_PID" 2>/dev/null || break
		sleep 0.05
	done
	return 1
}

# gw_setup_or_bail: gw_setup, or a failed point and the end of the test.
gw_setup_or_bail() {
	if gw_setup; then
		m=$tmp/mnt
		s=$tmp/store
		return 0
	fi
	not_ok "test fixture (users, slapd, store) set up"
	done_testing
	exit 1
}

# gw_start_or_bail DESCRIPTION: gw_start as a point named DESCRIPTION; if
# it fails, the gateway's log and the end of the test.
gw_start_or_bail() {
	if gw_start; then
		ok "$1"
		return 0
	fi
	not_ok "gateway mounts"
	sed 's/^/# /' "$tmp/gateway.log"
	done_testing
	exit 1
}

# gw_stop_at MOUNTPOINT PID: unmounts and stops one gateway.
gw_stop_at() {
	if mountpoint -q "$1" 2>/dev/null; then
		fusermount3 -u "$1" 2>/dev/null || umount -l "$1" 2>/dev/null
	fi
	if [ -n "$2" ]; then
		kill "$2" 2>/dev/null
		wait "$2" 2>/dev/null
	fi
	# A crashed gateway leaves the mount ENOTCONN: detach it.
	grep -q " $1 " /proc/mounts 2>/dev/null && umount -l "$1" 2>/dev/null
	return 0
}

gw_stop() {
	gw_stop_at "$tmp/mnt" "$GW_PID"
	GW_PID=
}

# status_of KEY: the top-level KEY of the gateway's status --json, or
# "none".
status_of() {
	"$PG_CLI" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin).get(sys.argv[1], "none"))' "$1"
}

# views_live: how many per-user views the gateway serves.
views_live() {
	status_of views
}

# wait_views N: until the gateway serves N views (at most 5 s).
wait_views() {
	local i
	for i in $(seq 1 50); do
		[ "$(views_live)" = "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# hook_of USER: what the test hook wrote for USER (empty: none), once
# it has run (at most 5 s; the hook renames a whole file into place).
hook_of() {
	local i
	for i in $(seq 1 50); do
		[ -s "$tmp/out/hook.$1" ] && break
		sleep 0.1
	done
	cat "$tmp/out/hook.$1" 2>/dev/null
}

# as USER CMD...: run CMD as USER, no supplementary groups.
as() {
	local u=$1
	shift
	setpriv --reuid="$u" --regid="$GW_GID" --clear-groups -- "$@"
}

# audit_has EVENT DECISION ACTOR [PATIENT]: count matching audit records.
audit_count() {
	python3 - "$tmp/audit/audit.jsonl" "$@" <<'PY'
import json, sys
log, event, decision, actor = sys.argv[1:5]
patient = sys.argv[5] if len(sys.argv) > 5 else None
n = 0
for line in open(log, encoding="utf-8", errors="replace"):
    try:
        r = json.loads(line)
    except ValueError:
        continue
    if r.get("event") != event or r.get("actor") != actor:
        continue
    if decision != "*" and r.get("decision") != decision:
        continue
    if patient is not None and r.get("patient") != patient:
        continue
    n += 1
print(n)
PY
}

# gw_pam_setup: pam_photoguard.so under pam_wrapper (pam_module/tests/pamlib.sh)
# with the gateway's own configuration, as the service sshd on the host
# imaging-01; scratch files in $T.  Returns 1 after a loud skip when a tool
# is missing.  The sanitizer options pam_setup may set are kept for the
# logins, not passed on to the gateway.
gw_pam_setup() {
	local had=${ASAN_OPTIONS-__unset__}
	. "$PG_SOURCE_ROOT/pam_module/tests/pamlib.sh"
	pam_setup || return 1
	GW_PAM_ASAN=${ASAN_OPTIONS-}
	if [ "$had" = __unset__ ]; then
		unset ASAN_OPTIONS
	else
		export ASAN_OPTIONS=$had
	fi
	T=$tmp/pam
	mkdir -p "$T/svc"
	local arg="config=$tmp/etc/pg.conf host=imaging-01"
	printf '%s\n' "auth required $MOD $arg" "account required $MOD $arg" \
	    >"$T/svc/sshd"
	return 0
}

# gw_pam USER ANSWER [OPERATION...]: one pamtester run (pam_run); the
# module's lines in $T/out.  pam_wrapper's staging directories are shared
# by the whole host: a run that never reached the module (no line of it
# for USER) is started again.
gw_pam() {
	local try rc
	for try in 1 2 3 4 5; do
		ASAN_OPTIONS=$GW_PAM_ASAN pam_run "$T/svc" sshd "$@"
		rc=$?
		grep -aq " user=$1 service=sshd " "$T/out" && break
		diag "login $try of $1 never reached the module; again"
		sed 's/^/#   /' "$T/out" | head -5
		sleep 0.2
	done
	return $rc
}

# gw_pam_line PHASE: the module's last log line for PHASE in $T/out.
gw_pam_line() {
	grep -a "$1 user=" "$T/out" | tail -1
}

# gw_pam_has DESCRIPTION TEXT: a TAP point, ok if the last login's output
# holds TEXT (fixed string); shows the output if not.
gw_pam_has() {
	if grep -aqF -- "$2" "$T/out"; then
		ok "$1"
	else
		not_ok "$1"
		printf '#   want: %s\n' "$2"
		sed 's/^/#   /' "$T/out" | head -20
	fi
}

# gw_done: stop the gateway, fail on any sanitizer report it made, and end
# the TAP stream.
gw_done() {
	gw_stop
	if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$tmp/gateway.log" 2>/dev/null; then
		not_ok "no sanitizer report from the gateway"
		grep -E -A5 'AddressSanitizer|LeakSanitizer|runtime error:' "$tmp/gateway.log" | head -40 | sed 's/^/# /'
	else
		ok "no sanitizer report from the gateway"
	fi
	done_testing
}
