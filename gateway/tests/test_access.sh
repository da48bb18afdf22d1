#!/bin/bash
# test_access.sh - the gateway decides by the policy, per user, on a real
# mount read by real users: listings hide other patients (ENOENT), care
# team and MFA conditions, roles that see nothing, unknown uids and root,
# uploads allowed and every change to what exists refused, decoys lock,
# and each of these is in the audit log, which verifies.
. "$PG_SOURCE_ROOT/gateway/tests/lib.sh"

gw_setup_or_bail
pre=2026-01-10-preop
gw_mfa_issue gwsurg
gw_mfa_issue gwphoto
gw_mfa_issue gwdesk
gw_mfa_issue gwit
gw_mfa_issue gwwide
gw_start_or_bail "gateway mounts on $m"
like "mounted as FUSE with allow_other" "$(grep " $m " /proc/mounts)" "fuse.photoguard .*allow_other"

# --- listings and reads by role ------------------------------------------
is "surgeon lists only their care team" "$(as gwsurg ls "$m/patients" | tr '\n' ' ')" "P000001 P000002 "
out=$(as gwsurg cat "$m/patients/P000001/$pre/IMG_0001.jpg" | cmp - "$s/patients/P000001/$pre/IMG_0001.jpg" 2>&1); rc=$?
is "surgeon reads their patient's photo, byte for byte" "$rc" 0
out=$(as gwsurg stat "$m/patients/P000003" 2>&1); rc=$?
like "another patient's folder does not exist for them (ENOENT)" "$out" "No such file or directory"
out=$(as gwsurg cat "$m/patients/P000003/$pre/IMG_0001.jpg" 2>&1); rc=$?
like "another patient's photo by its path: ENOENT, not EACCES" "$out" "No such file or directory"
is "ls of the series shows the three photos" "$(as gwsurg ls "$m/patients/P000002/$pre" | tr '\n' ' ')" "IMG_0001.jpg IMG_0002.jpg IMG_0003.jpg "

# Nothing of what a user may not see shows in what they may: a patient
# added out of their sight changes neither the link count, size nor
# times of patients/ or of their own patient's folder, the file system's
# inode counts are not shown, and a name that does not exist is refused
# and audited as a hidden one is (a probe either way).
before=$(as gwsurg stat -c '%h %s %Y %Z' "$m/patients" "$m/patients/P000001" | tr '\n' ' ')
store_before=$(stat -c '%h %Y' "$s/patients")
sleep 1.1
mkdir -p "$s/patients/P000777/$pre"
printf 'PHOTO\n' >"$s/patients/P000777/$pre/IMG_0001.jpg"
chown -R gwstore:gwstore "$s/patients/P000777"
chmod -R go-rwx "$s/patients/P000777"
touch "$s/patients" "$s/patients/P000001"
is "a hidden patient added: what the surgeon sees of patients/ is unchanged" \
    "$(as gwsurg stat -c '%h %s %Y %Z' "$m/patients" "$m/patients/P000001" | tr '\n' ' ')" "$before"
like "...directories show one link and one block's size" "$before" "^1 4096 [0-9]+ [0-9]+ 1 4096 "
check "...while the store's own patients/ did change ($store_before)" \
    test "$(stat -c '%h %Y' "$s/patients")" != "$store_before"
is "the mount shows no inode counts" "$(as gwsurg stat -f -c '%c %d' "$m")" "0 0"
h0=$(audit_count gateway.lookup deny gwsurg P000003)
hidden=$(as gwsurg stat "$m/patients/P000003" 2>&1 | sed 's/P000003/P/')
h1=$(audit_count gateway.lookup deny gwsurg P000003)
nothere=$(as gwsurg stat "$m/patients/P000888" 2>&1 | sed 's/P000888/P/')
is "a patient that does not exist answers as a hidden one does" "$nothere" "$hidden"
check "...the hidden one's stat is audited" test "$((h1 - h0))" -ge 1
is "...and so is the probe for one that does not exist, as often" \
    "$(audit_count gateway.lookup deny gwsurg P000888)" "$((h1 - h0))"
rm -rf "$s/patients/P000777"

# MFA: the nurse has no ticket yet.
out=$(as gwnurse ls "$m/patients" 2>&1)
like "nurse without an MFA login sees no patient" "$out" "No such file or directory"
out=$(as gwnurse cat "$m/patients/P000001/$pre/IMG_0001.jpg" 2>&1); rc=$?
check "nurse without an MFA login cannot read her patient's photo" test "$rc" -ne 0
gw_mfa_issue gwnurse
out=$(as gwnurse cat "$m/patients/P000001/$pre/IMG_0001.jpg" 2>/dev/null | head -1)
is "after an MFA login she can" "$out" "PHOTO patients/P000001/$pre/IMG_0001.jpg"
PG_SHARE_USER=gwstore "$GW_MFA" remove "$tmp/mfa" gwnurse
out=$(as gwnurse cat "$m/patients/P000001/$pre/IMG_0002.jpg" 2>&1); rc=$?
check "ticket removed (logged out): refused again" test "$rc" -ne 0
gw_mfa_issue gwnurse 1
sleep 2.2
out=$(as gwnurse cat "$m/patients/P000001/$pre/IMG_0002.jpg" 2>&1); rc=$?
check "expired ticket: refused" test "$rc" -ne 0

# Roles that see nothing, and callers who are nobody.
for u in gwdesk gwit; do
	is "$u: the root lists empty" "$(as "$u" ls -A "$m" 2>&1)" ""
	out=$(as "$u" cat "$m/patients/P000001/$pre/IMG_0001.jpg" 2>&1); rc=$?
	like "$u: a photo by its path does not exist" "$out" "No such file or directory"
done
out=$(cat "$m/patients/P000001/$pre/IMG_0001.jpg" 2>&1); rc=$?
check "root, without a role in the policy, reads nothing" test "$rc" -ne 0
out=$(setpriv --reuid=2950 --regid=100 --clear-groups -- cat "$m/patients/P000001/$pre/IMG_0001.jpg" 2>&1); rc=$?
check "a uid with no user name reads nothing" test "$rc" -ne 0
out=$(setpriv --reuid=2950 --regid=100 --clear-groups -- ls "$m/patients" 2>&1); rc=$?
check "...and lists nothing" test "$rc" -ne 0

# The photographer may upload, not browse or read.
out=$(as gwphoto ls "$m/patients" 2>&1); rc=$?
check "photographer cannot list patients" test "$rc" -ne 0
printf 'new photo\n' >"$tmp/out/new.jpg"
as gwphoto cp "$tmp/out/new.jpg" "$m/patients/P000003/incoming/new.jpg"; rc=$?
is "photographer uploads into incoming" "$rc" 0
check "the upload is in the store, same bytes" cmp -s "$tmp/out/new.jpg" "$s/patients/P000003/incoming/new.jpg"
is "...owned by the store's service user, not group/world readable" "$(stat -c '%U %a' "$s/patients/P000003/incoming/new.jpg")" "gwstore 640"
out=$(as gwphoto cat "$m/patients/P000003/incoming/new.jpg" 2>&1); rc=$?
check "photographer cannot read it back" test "$rc" -ne 0
out=$(printf 'other\n' | as gwphoto dd of="$m/patients/P000003/incoming/new.jpg" 2>&1); rc=$?
check "uploading over an existing name is refused" test "$rc" -ne 0
is "...and the first upload is unchanged" "$(cat "$s/patients/P000003/incoming/new.jpg")" "new photo"
out=$(as gwphoto cp "$tmp/out/new.jpg" "$m/patients/P000003/$pre/x.jpg" 2>&1); rc=$?
check "photographer cannot upload outside incoming" test "$rc" -ne 0
# Bytes written count against the bytes limit (10MiB/10min here).
out=$(as gwphoto dd if=/dev/zero of="$m/patients/P000003/incoming/big.jpg" bs=1M count=12 2>&1); rc=$?
check "an upload over the bytes limit is cut off" test "$rc" -ne 0
check "...before the limit (store has at most 10 MiB of it)" test "$(stat -c %s "$s/patients/P000003/incoming/big.jpg")" -le $((10 * 1024 * 1024))
check "...and audited with the limit" test "$(grep -c '"actor":"gwphoto","event":"gateway.limit".*limit bytes 10485760/600s' "$tmp/audit/audit.jsonl")" -ge 1

# Nobody changes what exists, not even a surgeon allowed to write.
sum0=$(cd "$s" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum)
f=$m/patients/P000001/$pre/IMG_0001.jpg
t() { # description command...
	local d=$1
	shift
	out=$(as gwsurg "$@" 2>&1); rc=$?
	check "surgeon: $d is refused" test "$rc" -ne 0
}
t "overwrite (>)" sh -c "echo x > '$f'"
t "append (>>)" sh -c "echo x >> '$f'"
t "truncate" truncate -s 0 "$f"
t "rm" rm -f "$f"
t "mv" mv "$f" "$m/patients/P000001/$pre/moved.jpg"
t "chmod" chmod 0666 "$f"
t "touch (utimens)" touch "$f"
t "ln (hard link)" ln "$f" "$m/patients/P000001/$pre/link.jpg"
t "ln -s" ln -s "$f" "$m/patients/P000001/$pre/sym.jpg"
t "mkdir" mkdir "$m/patients/P000001/newdir"
t "rmdir" rmdir "$m/patients/P000001/incoming"
t "mkfifo" mkfifo "$m/patients/P000001/$pre/fifo"
t "upload into archive (deny rule)" cp "$tmp/out/new.jpg" "$m/patients/P000001/archive/new.jpg"
sum1=$(cd "$s" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum)
is "the store is unchanged by all of that" "$sum1" "$sum0"
as gwsurg cp "$tmp/out/new.jpg" "$m/patients/P000001/$pre/IMG_0100.jpg"; rc=$?
is "surgeon may add a new photo to their patient's series" "$rc" 0
is "...and read it back" "$(as gwsurg cat "$m/patients/P000001/$pre/IMG_0100.jpg" 2>&1)" "new photo"

# Audit: who, which process, which patient, the rule; bytes at close.
is "allowed open audited with user, patient (cat)" \
    "$(python3 - "$tmp/audit/audit.jsonl" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["event"] == "gateway.open" and r["actor"] == "gwsurg" and r["decision"] == "allow" and r.get("process") == "cat":
        print(r["patient"], r["uid"], r["rule"].rsplit(":", 1)[1], r["pid"] > 0)
        break
PY
)" "P000001 2901 $(grep -n '^allow surgeon' "$tmp/etc/test.policy" | cut -d: -f1) True"
# The process name is read at each open: one process renamed between two
# opens is audited under each name in turn (the gateway keeps the
# process's /proc/PID/comm open between opens).
as gwsurg /usr/bin/python3 -c '
import ctypes, sys
libc = ctypes.CDLL(None)
for name in (b"pgname-one", b"pgname-two"):
    libc.prctl(15, name, 0, 0, 0)  # PR_SET_NAME
    open(sys.argv[1], "rb").read()
' "$m/patients/P000001/$pre/IMG_0002.jpg"
is "a process renamed between two opens is audited under each name" \
    "$(python3 - "$tmp/audit/audit.jsonl" <<'PY'
import json, sys
names = []
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["event"] == "gateway.open" and r["actor"] == "gwsurg" and (r.get("process") or "").startswith("pgname-"):
        names.append(r["process"])
print(" ".join(names))
PY
)" "pgname-one pgname-two"
check "hidden paths asked for are audited (nurse without MFA)" test "$(audit_count gateway.lookup deny gwnurse)" -ge 1
check "refused changes audited" test "$(audit_count gateway.change deny gwsurg)" -ge 8
# FUSE sends RELEASE after close() has returned: give the record a moment.
for try in $(seq 30); do
	close_bytes=$(python3 - "$tmp/audit/audit.jsonl" "P000001/$pre/IMG_0001.jpg" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if (r["event"] == "gateway.release" and r["actor"] == "gwsurg"
            and r.get("process") == "cat"
            and (r.get("object") or "").endswith(sys.argv[2])):
        print(r["bytes"]); break
PY
)
	[ -n "$close_bytes" ] && break
	sleep 0.1
done
is "bytes actually read are audited at close" "$close_bytes" "$(stat -c %s "$s/patients/P000001/$pre/IMG_0001.jpg")"

# A decoy: whoever opens it is locked out at once, everywhere.
like "the archivist lists every patient, the decoy too" "$(as gwwide ls "$m/patients" | tr '\n' ' ')" "P000006 P999001"
out=$(as gwwide cat "$m/patients/P999001/$pre/IMG_0001.jpg" 2>&1); rc=$?
check "opening a decoy photo is refused" test "$rc" -ne 0
like "...and locks the account in the lockout store" "$("$PG_CLI" lockouts 2>&1)" "gwwide.*decoy"
out=$(as gwwide cat "$m/patients/P000001/$pre/IMG_0001.jpg" 2>&1); rc=$?
check "...so the next read of a real photo is refused too" test "$rc" -ne 0
hk=$(hook_of gwwide)
like "the lockout hook ran with the user" "$hk" "PHOTOGUARD_USER=gwwide"
like "...the rule" "$hk" "PHOTOGUARD_RULE=.*test.policy"
like "...and the time" "$hk" "PHOTOGUARD_TIME=20[0-9-]+T"
like "...as the service user, not root" "$hk" "uid=$(id -u gwstore)"
check "lockout.lock audited" test "$(audit_count lockout.lock deny gwwide)" -eq 1
"$PG_CLI" unlock gwwide >/dev/null 2>&1; rc=$?
is "photoguard unlock lifts it" "$rc" 0
out=$(as gwwide head -1 "$m/patients/P000001/$pre/IMG_0001.jpg" 2>&1); rc=$?
check "...but the lockout took the MFA ticket: refused until a new MFA login" test "$rc" -ne 0
gw_mfa_issue gwwide
out=$(as gwwide head -1 "$m/patients/P000001/$pre/IMG_0001.jpg" 2>&1)
is "the gateway notices the unlock at the next open" "$out" "PHOTO patients/P000001/$pre/IMG_0001.jpg"

# One directory cache: the gateway keeps a user's answer only as long as
# the directory client's cache does, so a revoked care team is out of
# force within one cache_ttl (2s here) of the directory being asked.
sleep 2.2 # every cached answer for gwsurg has expired
t0=$(date +%s%N)
out=$(as gwsurg stat -c %n "$m/patients/P000002/$pre/IMG_0001.jpg" 2>&1)
is "before the change the surgeon sees P000002 (directory asked)" "$out" "$m/patients/P000002/$pre/IMG_0001.jpg"
printf 'dn: cn=P000002,ou=careteams,%s\nchangetype: modify\ndelete: member\nmember: uid=gwsurg,ou=people,%s\n' \
    "$SLAPD_BASE_DN" "$SLAPD_BASE_DN" | slapd_modify
gone=
for i in $(seq 1 80); do
	if ! as gwsurg stat "$m/patients/P000002/$pre/IMG_0001.jpg" >/dev/null 2>&1; then
		gone=$(( ($(date +%s%N) - t0) / 1000000 ))
		break
	fi
	sleep 0.05
done
check "the revoked care team is out of force within 1x cache_ttl + 0.5s (${gone:-never} ms)" \
    test -n "$gone" -a "${gone:-99999}" -le 2500
is "...the surgeon lists only P000001 now" "$(as gwsurg ls "$m/patients" | tr '\n' ' ')" "P000001 "

gw_stop
out=$("$PG_CLI" audit verify 2>&1); rc=$?
is "the audit log verifies afterwards" "$rc" 0
gw_done
