#!/bin/bash
# test_pam_failcount.sh - wrong TOTP codes are counted before any code is
# checked, through the real libpam (pam_wrapper + pamtester): a failure
# counter that cannot be written (read-only mount, full filesystem, store
# lock held by another process) refuses the login as unavailable, with an
# alert, without looking at the code, so no guess goes uncounted; and wrong
# codes spread over more than the failure window still lock the account
# once max_consecutive_failures of them follow each other.
. "$PG_SOURCE_ROOT/tests/lib/tap.sh"
. "$PG_SOURCE_ROOT/pam_module/tests/pamlib.sh"
pam_setup || { done_testing; exit $?; }

T=$(mktemp -d /tmp/pg-pamfc-XXXXXX)
chmod 700 "$T"
LOCK=$T/lockout
cleanup() {
	[ -n "${HOLDER:-}" ] && kill "$HOLDER" 2>/dev/null
	umount "$LOCK" 2>/dev/null
	umount "$LOCK" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
SEC=$T/secrets KEY=$T/host.key TIX=$T/tickets
mkdir -m 700 "$SEC" "$TIX" "$T/audit" "$LOCK"
"$CLI" totp hostkey --host-key "$KEY" >/dev/null
"$CLI" audit keygen "$T/audit.key" >/dev/null
AUDIT=$T/audit/audit.jsonl

# conf NAME EXTRA: a configuration in $T/NAME.conf, a service in $T/NAME/
conf() {
	cat >"$T/$1.conf" <<CONF
[audit]
log = $AUDIT
key = $T/audit.key
syslog = no
[lockout]
dir = $LOCK
[totp]
secret_dir = $SEC
host_key = $KEY
ticket_dir = $TIX
max_failures = 3
failure_window = 60s
$2
CONF
	mkdir -p "$T/$1"
	printf '%s\n' "auth required $MOD config=$T/$1.conf" >"$T/$1/sshd"
}
conf pg ""
conf cons4 "max_consecutive_failures = 4"
login() { pam_run "$T/$1" sshd "$2" "$3"; }
line() { grep -a 'auth user=' "$T/out" | tail -1; }
counter() { echo "$LOCK/f-$(printf %s "$1" | od -An -tx1 | tr -d ' \n').json"; }
locked() { "$CLI" lockouts --dir "$LOCK" | grep -c "^$1 "; }
# age USER SECONDS: moves USER's recorded failures SECONDS into the past,
# as if that much time had gone by since they were made.
age() {
	python3 - "$(counter "$1")" "$2" <<'PY'
import json, os, sys
p, d = sys.argv[1], int(sys.argv[2])
o = json.load(open(p))
o["failures"] = [t - d for t in o["failures"]]
fd = os.open(p + ".new", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
os.write(fd, json.dumps(o).encode())
os.close(fd)
os.rename(p + ".new", p)
PY
}
audit_errors() { # USER: auth outcomes of USER audited as errors
	"$CLI" audit query --json --log "$AUDIT" --event pam.auth --user "$1" |
		grep -c '"decision":"error"'
}

# unwritable KIND USER: five wrong codes then the right one while the
# counter cannot be written; each refused as unavailable, the code never
# looked at, alerted and audited.
unwritable() {
	local kind=$1 user=$2 i W unavail=0 notchk=0 alert=0
	W=$(pam_wrong)
	for i in 1 2 3 4 5; do
		login pg "$user" "$W"
		grep -aq 'cannot retrieve authentication info' "$T/out" &&
			unavail=$((unavail + 1))
		line | grep -aq 'code not checked' && notchk=$((notchk + 1))
		grep -aq 'wrong-code counting is down' "$T/out" &&
			alert=$((alert + 1))
	done
	is "$kind: 5 wrong codes, each refused as unavailable" $unavail 5
	is "$kind: ...none of them checked" $notchk 5
	is "$kind: ...each alerted (counter cannot be written)" $alert 5
	pam_run "$T/pg" sshd "$user" "$(pam_code 'now + 30 seconds')"
	is "$kind: the right code after them: refused" $? 1
	like "$kind: ...as unavailable, not checked" "$(line)" \
		'outcome=error .*failure counter cannot be written.*code not checked'
	check "$kind: ...no MFA ticket" test ! -e "$TIX/$user.ticket"
	is "$kind: the 6 refusals are audited as errors" "$(audit_errors "$user")" 6
}

# --- a read-only lockout store --------------------------------------------
pam_enroll asmith
mount --bind "$LOCK" "$LOCK" && mount -o remount,bind,ro "$LOCK"
if touch "$LOCK/probe" 2>/dev/null; then
	not_ok "read-only bind mount of the lockout store"
else
	ok "read-only bind mount of the lockout store"
	unwritable "read-only store (EROFS)" asmith
fi
umount "$LOCK"
pam_run "$T/pg" sshd asmith "$(pam_code 'now + 30 seconds')"
is "store writable again: the right code is accepted" $? 0

# --- a full filesystem ------------------------------------------------------
pam_enroll bjones
truncate -s 8M "$T/fs.img" && mkfs.ext4 -q -m 0 -O ^has_journal "$T/fs.img"
if mount -o loop "$T/fs.img" "$LOCK" 2>"$T/mount.err"; then
	chmod 700 "$LOCK"
	# Fill it: first with one big file, then inodes and the last blocks.
	dd if=/dev/zero of="$LOCK/fill" bs=64k 2>/dev/null
	for i in $(seq 2000); do : 2>/dev/null >"$LOCK/i$i" || break; done
	dd if=/dev/zero of="$LOCK/tail" bs=1 2>/dev/null
	if printf 'x%.0s' $(seq 200) >"$LOCK/probe" 2>/dev/null && [ -s "$LOCK/probe" ]; then
		not_ok "the lockout store's filesystem is full"
	else
		ok "the lockout store's filesystem is full"
		unwritable "full filesystem (ENOSPC)" bjones
	fi
	umount "$LOCK"
else
	not_ok "loop mount of an ext4 image for a full filesystem"
	diag "$(cat "$T/mount.err")"
fi

# --- the store lock held by another process -------------------------------
pam_enroll cwu
# The holder is the process that keeps the lock's descriptor: killing it
# releases the lock.
( exec 9<"$LOCK/.lock" && flock 9 && exec sleep 60 ) &
HOLDER=$!
sleep 0.3
t0=$(date +%s)
login pg cwu "$(pam_wrong)"
rc=$? s=$(( $(date +%s) - t0 ))
is "store lock held elsewhere: wrong code refused" $rc 1
like "...as unavailable" "$(cat "$T/out")" 'cannot retrieve authentication info'
like "...not checked, after the lock timeout" "$(line)" \
	'failure counter cannot be written: .*lock.*code not checked'
check "...after waiting for the lock (${s} s >= 4)" test "$s" -ge 4
pam_run "$T/pg" sshd cwu "$(pam_code 'now + 30 seconds')"
is "...the right code refused too while the lock is held" $? 1
kill "$HOLDER"; wait "$HOLDER" 2>/dev/null; HOLDER=
pam_run "$T/pg" sshd cwu "$(pam_code 'now + 30 seconds')"
is "lock released: the right code is accepted" $? 0

# --- consecutive failures, spread over more than the window -----------------
pam_enroll dlopez
W=$(pam_wrong)
for i in $(seq 9); do
	login pg dlopez "$W"
	age dlopez 120 # the next code comes two minutes later
done
like "9 wrong codes 2 min apart: the window holds only one" "$(line)" 'failure 1 of 3'
is "...and dlopez is not locked after 9 (default limit 10)" "$(locked dlopez)" 0
login pg dlopez "$W"
is "the 10th consecutive wrong code: refused" $? 1
like "...and locks the account" "$(line)" \
	'10 consecutive failures; account locked \(10 consecutive failed verification codes\)'
is "...the lockout is in the store" "$(locked dlopez)" 1
like "...by the rule totp.max_consecutive_failures" \
	"$("$CLI" lockouts --dir "$LOCK")" 'dlopez .*totp.max_consecutive_failures'

pam_enroll ekim
W=$(pam_wrong)
for i in 1 2 3; do login cons4 ekim "$W"; age ekim 120; done
is "max_consecutive_failures = 4: not locked after 3" "$(locked ekim)" 0
login cons4 ekim "$(pam_code 'now + 30 seconds')"
is "...a good code: accepted" $? 0
for i in 1 2 3; do login cons4 ekim "$W"; age ekim 120; done
is "...and it resets the run: 3 more do not lock" "$(locked ekim)" 0
login cons4 ekim "$W"
is "...the 4th in a row: refused" $? 1
is "...and locks" "$(locked ekim)" 1
"$CLI" --config "$T/cons4.conf" unlock ekim >/dev/null 2>&1
is "admin unlock: ekim no longer locked" "$(locked ekim)" 0
check "...and the run is forgotten" test ! -e "$(counter ekim)"

pam_no_sanitizer_reports "$T/all.out"
done_testing
