#!/bin/bash
# test_views.sh - per-user views on a real mount: `photoguard view` (and
# pam_photoguard's session, through the real libpam) mounts a FUSE
# connection for one user over the mountpoint in a namespace of its own
# and the running gateway serves it.  The view admits its user only (not
# another user, not root), decides exactly as the shared view, keeps
# names and listings in the kernel's cache, drops them on a policy
# reload, a break-glass grant and a care-team change in the directory,
# and ends at once on a lockout (an open file stops reading) and when its
# namespace is gone.  Bad `view` requests are refused, and audited.
. "$PG_SOURCE_ROOT/gateway/tests/lib.sh"

gw_setup_or_bail
pre=2026-01-10-preop
for u in gwsurg gwoncall gwnurse gwbulk gwwide; do gw_mfa_issue $u; done
gw_start_or_bail "gateway mounts on $m"

# view USER: a view of USER's own held open by a sleeping process; its pid
# in VPID (the namespace to enter), its log in $tmp/view.USER.
view() {
	local i
	"$PG_CLI" view --user "$1" -- sleep 600 >"$tmp/view.$1" 2>&1 &
	VPID=
	for i in $(seq 1 100); do
		VPID=$(pgrep -u "$1" -x sleep | head -1)
		[ -n "$VPID" ] && return 0
		sleep 0.05
	done
	return 1
}
# works_in PID USER DIR: a process of USER (a sleep) working in DIR in
# the namespace of PID; its pid in HOLD once its working directory is
# DIR, else HOLD is empty.  (nsenter, setpriv and sh each exec the next:
# one pid.)
works_in() {
	local i
	nsenter -t "$1" -m setpriv --reuid="$2" --regid="$GW_GID" --clear-groups -- \
	    sh -c "cd '$3' && exec sleep 600" &
	HOLD=$!
	for i in $(seq 1 50); do
		[ "$(readlink "/proc/$HOLD/cwd" 2>/dev/null)" = "$3" ] && return 0
		sleep 0.05
	done
	HOLD=
}
# inview PID USER CMD...: CMD as USER in the namespace of PID.
inview() {
	local pid=$1 u=$2
	shift 2
	nsenter -t "$pid" -m setpriv --reuid="$u" --regid="$GW_GID" --clear-groups -- "$@"
}

# --- a view of one's own ------------------------------------------------
view gwsurg
check "photoguard view --user gwsurg: a process in the view runs" test -n "$VPID"
S=$VPID
vm=$(nsenter -t "$S" -m grep " $m " /proc/mounts | tail -1)
like "...its mount over $m is the user's alone (user_id, no allow_other)" "$vm" "fuse.photoguard .*user_id=2901,group_id=$GW_GID"
check "...without allow_other" test -n "${vm##*allow_other*}"
is "...and the host still has only the shared mount" "$(grep -c " $m " /proc/mounts)" 1
check "...the gateway serves one view" wait_views 1
is "in the view the surgeon lists only their care team" "$(inview "$S" gwsurg ls "$m/patients" | tr '\n' ' ')" "P000001 P000002 "
inview "$S" gwsurg cat "$m/patients/P000001/$pre/IMG_0001.jpg" | cmp -s - "$s/patients/P000001/$pre/IMG_0001.jpg"
is "...reads their patient's photo, byte for byte" $? 0
out=$(inview "$S" gwsurg stat "$m/patients/P000003" 2>&1)
like "...another patient's folder does not exist (ENOENT)" "$out" "No such file or directory"
out=$(inview "$S" gwnurse ls "$m/patients" 2>&1)
like "another user in that namespace is refused by the kernel (EACCES)" "$out" "Permission denied"
out=$(nsenter -t "$S" -m ls "$m/patients" 2>&1)
like "...and so is root" "$out" "Permission denied"
is "every open is still audited: the surgeon's open in the view" "$(audit_count gateway.open allow gwsurg P000001)" 1
is "the view's opening is audited (gateway.view)" "$(audit_count gateway.view info gwsurg)" 1

# --- threads: one per idle view, more while it is busy --------------------
vt=
for i in $(seq 1 60); do vt=$(status_of view_threads); [ "$vt" = 1 ] && break; sleep 0.1; done
is "an idle view is served by one thread" "$vt" 1
# 8 threads of the surgeon's look up names that do not exist (each one
# a request: nothing is charged, nothing is cached yet).
inview "$S" gwsurg /usr/bin/python3 -c '
import os, sys, threading
def w(k):
    for i in range(6000):
        try:
            os.stat("%s/patients/P000001/none-%d-%d" % (sys.argv[1], k, i))
        except FileNotFoundError:
            pass
t = [threading.Thread(target=w, args=(k,)) for k in range(8)]
[x.start() for x in t]
[x.join() for x in t]' "$m" >"$tmp/vt.out" 2>&1 &
L=$!
most=0
while kill -0 "$L" 2>/dev/null; do
	vt=$(status_of view_threads)
	[ "${vt:-0}" -gt "$most" ] && most=$vt
done
wait "$L"
rc=$?
sed "s/^/# /" "$tmp/vt.out"
is "the 8 threads ran (exit status)" "$rc" 0
diag "view threads under 8 parallel lookups: at most $most seen"
check "...it grows while busy (8 parallel lookups: $most threads seen)" test "$most" -ge 2
check "...to at most 4" test "$most" -le 4
vt=
for i in $(seq 1 80); do vt=$(status_of view_threads); [ "$vt" = 1 ] && break; sleep 0.1; done
is "...and is back to one thread once idle ($((i / 10)).$((i % 10)) s)" "$vt" 1

# --- file pages: kept at an open while the photo is unchanged; a photo
# changed behind the gateway is read anew (the open compares the size
# and mtime its handle sees with those the pages were read under) -------
p1=patients/P000001/$pre/IMG_0001.jpg
is "a photo read in the view is the store's" \
    "$(inview "$S" gwsurg cat "$m/$p1" | md5sum)" "$(md5sum <"$s/$p1")"
old=$(md5sum <"$s/$p1")
sz=$(stat -c %s "$s/$p1")
{ printf 'PHOTO rewritten\n'; head -c $((sz - 16)) /dev/urandom; } >"$s/$p1"
touch -d '2026-03-01 10:00' "$s/$p1"
is "...rewritten behind the gateway (same size), it is read anew" \
    "$(inview "$S" gwsurg cat "$m/$p1" | md5sum)" "$(md5sum <"$s/$p1")"
check "...not the pages cached before" test "$old" != "$(md5sum <"$s/$p1")"
# Kept: rewritten again with its size and mtime put back, the photo
# still reads as the pages cached above (close-to-open, as NFS does),
# so an open that judged every file changed would fail here.
cached=$(md5sum <"$s/$p1")
{ printf 'PHOTO once more\n'; head -c $((sz - 16)) /dev/urandom; } >"$s/$p1"
touch -d '2026-03-01 10:00' "$s/$p1"
check "...(the store's bytes did change)" test "$cached" != "$(md5sum <"$s/$p1")"
is "...while its size and mtime stay, its cached pages are kept" \
    "$(inview "$S" gwsurg cat "$m/$p1" | md5sum)" "$cached"

# --- a listing brings each name's attributes (readdirplus), up to a bound
# A folder listed in the view (names only: `ls -1` asks for no stat) is
# answered with every photo's attributes, which the kernel then keeps:
# a size changed behind the gateway afterwards is not seen in the view
# until the cache is dropped (with names alone, the stat would look the
# photo up and see it).  Once the view holds PLUS_NODES (1,024) nodes a
# listing sends names alone, so the same stat sees the new size.
# plus_folder NAME COUNT [PATIENT]: a folder of PATIENT's (P000001) with
# COUNT photos.
plus_folder() {
	local f=$s/patients/${3:-P000001}/$1 k
	mkdir -p "$f"
	for k in $(seq 1 "$2"); do printf 'PHOTO %d\n' "$k" >"$f/IMG_$k.jpg"; done
	chown -R gwstore:gwstore "$f"
	chmod -R go-rwx "$f"
}
plus_folder plusA 3
is "ls -l in the view shows each listed photo's size" \
    "$(inview "$S" gwsurg ls -l "$m/patients/P000001/plusA" | awk 'NR > 1 { print $5 }' | tr '\n' ' ')" \
    "$(ls -l "$s/patients/P000001/plusA" | awk 'NR > 1 { print $5 }' | tr '\n' ' ')"
# 200 names take several requests: the last one listed (in the order the
# kernel was sent them, `ls -U`) came with attributes too.
plus_folder plusB 200
last=$(inview "$S" gwsurg ls -U -1 "$m/patients/P000001/plusB" | tail -1)
listed=$(stat -c %s "$s/patients/P000001/plusB/$last")
printf 'grown behind the gateway\n' >>"$s/patients/P000001/plusB/$last"
is "a photo's size comes with the folder's listing, to its last name ($last)" \
    "$(inview "$S" gwsurg stat -c %s "$m/patients/P000001/plusB/$last")" "$listed"
# The kernel opens a view's folders without asking the gateway, so a
# listing in several parts has no open directory behind it: each part
# must come from the one listing, every name once.
plus_folder plusE 1500
is "a new folder's listing of 1,500 in parts is the store's, each name once" \
    "$(inview "$S" gwsurg ls -U -1 "$m/patients/P000001/plusE" | sort | md5sum)" \
    "$(ls -1 "$s/patients/P000001/plusE" | sort | md5sum)"
# partial DIR NAME: a reader of DIR in the view that reads 10 names, says
# so ($tmp/out/NAME.first), waits for $tmp/out/NAME.go, reads the rest and
# writes how many names it read in all, how many twice and the error
# that ended it ($tmp/out/NAME.rest).  Its pid in PR.
cat >"$tmp/partial.py" <<'PY'
import os, sys, time
d, out = sys.argv[1], sys.argv[2]
it = os.scandir(d)
names = [e.name for _, e in zip(range(10), it)]
open(out + ".first", "w").write("%d\n" % len(names))
while not os.path.exists(out + ".go"):
    time.sleep(0.05)
try:
    names += [e.name for e in it]
    err = "none"
except OSError as e:
    err = e.strerror
open(out + ".rest", "w").write("%d %d %s\n" % (len(names), len(names) - len(set(names)), err))
PY
partial() {
	nsenter -t "$S" -m setpriv --reuid=gwsurg --regid="$GW_GID" --clear-groups -- \
	    /usr/bin/python3 "$tmp/partial.py" "$1" "$tmp/out/$2" >"$tmp/$2.log" 2>&1 &
	PR=$!
	for i in $(seq 1 100); do [ -s "$tmp/out/$2.first" ] && break; sleep 0.05; done
}
# Two readers of one new folder: one reads its first part and waits,
# the other lists it all, then the first reads on; both get each name
# once.
plus_folder plusF 1500
partial "$m/patients/P000001/plusF" two
is "one reader of a new folder of 1,500 has read 10 names" "$(cat "$tmp/out/two.first" 2>/dev/null)" 10
is "...another lists it all meanwhile, each name once" \
    "$(inview "$S" gwsurg ls -U -1 "$m/patients/P000001/plusF" | sort | uniq -c | awk '$1 == 1' | wc -l)" 1500
touch "$tmp/out/two.go"
wait "$PR"
is "...and the first reads on to every name, once each" "$(cat "$tmp/out/two.rest" 2>/dev/null)" "1500 0 none"
# A program that keeps its place (telldir/seekdir) or starts over
# (rewinddir) reads the same names again.
plus_folder plusG 600
out=$(inview "$S" gwsurg perl -e '
opendir(my $d, $ARGV[0]) or die "opendir: $!";
my @a = map { scalar readdir($d) } 1 .. 50;
my $at = telldir($d);
my @rest = readdir($d);
seekdir($d, $at);
my @again = readdir($d);
rewinddir($d);
my @all = readdir($d);
my %n; $n{$_}++ for @all;
printf "%s %d %d %d\n", "@rest" eq "@again" ? "same" : "differ",
    scalar(@a) + scalar(@rest), scalar(@all), scalar(grep { $n{$_} > 1 } keys %n);
' "$m/patients/P000001/plusG" 2>&1)
is "in a new folder of 600, seekdir to a kept place reads the rest again; rewinddir reads it all, once each" "$out" "same 602 602 0"
plus_folder plusC 1100
is "the view looks up 1,100 photos of one folder" \
    "$(inview "$S" gwsurg ls -l "$m/patients/P000001/plusC" | grep -c 'IMG_')" 1100
plus_folder plusD 3
inview "$S" gwsurg ls -1 "$m/patients/P000001/plusD" >/dev/null
printf 'grown behind the gateway\n' >>"$s/patients/P000001/plusD/IMG_2.jpg"
is "...then holding 1,024 nodes, a listing sends names alone (the stat looks up)" \
    "$(inview "$S" gwsurg stat -c %s "$m/patients/P000001/plusD/IMG_2.jpg")" \
    "$(stat -c %s "$s/patients/P000001/plusD/IMG_2.jpg")"
rm -rf "$s/patients/P000001/plus"?

# --- the kernel caches; what changes what the user may see drops it -----
# A name found missing stays missing in the view's cache (view_ttl): a
# photo added behind the gateway is not seen there until something drops
# the cache, while the shared view (no cache) sees it at once.
# So does a listing (the kernel's readdir cache).
new=$m/patients/P000001/$pre/IMG_0009.jpg
out=$(inview "$S" gwsurg stat -c %s "$new" 2>&1)
like "a missing photo in the view: ENOENT" "$out" "No such file or directory"
before=$(inview "$S" gwsurg ls "$m/patients/P000001/$pre" | tr '\n' ' ')
like "the view lists the session's photos" "$before" "IMG_0001.jpg"
gw_photo "$s/patients/P000001/$pre/IMG_0009.jpg" 100
chown gwstore:gwstore "$s/patients/P000001/$pre/IMG_0009.jpg"
chmod 600 "$s/patients/P000001/$pre/IMG_0009.jpg"
out=$(inview "$S" gwsurg stat -c %s "$new" 2>&1)
like "...added behind the gateway, it is still missing in the view (cached)" "$out" "No such file or directory"
is "...and the view's listing is the cached one, without it" \
    "$(inview "$S" gwsurg ls "$m/patients/P000001/$pre" | tr '\n' ' ')" "$before"
out=$(as gwsurg stat -c %s "$new" 2>&1)
is "...while the shared view sees it" "$out" "$(stat -c %s "$s/patients/P000001/$pre/IMG_0009.jpg")"
like "...and lists it" "$(as gwsurg ls "$m/patients/P000001/$pre" | tr '\n' ' ')" "IMG_0009.jpg"
# Enough folders listed that the view's set of cached listings grows
# (past 32 and 64): a listing recorded after that is dropped too.
inc=patients/P000001/incoming
for k in $(seq 1 80); do mkdir "$s/$inc/f$k"; done
chown -R gwstore:gwstore "$s/$inc"
chmod -R go-rwx "$s/$inc"
is "the view lists the 80 folders (and incoming)" \
    "$(inview "$S" gwsurg find "$m/$inc" -type d | wc -l)" 81
# A process works in the last one, so only the drop of its listing (not
# of a name above it) can refresh what it lists.
works_in "$S" gwsurg "$m/$inc/f80"
F=$HOLD
check "a process of the surgeon's works in the 80th folder" test -n "$F"
gw_photo "$s/$inc/f80/IMG_0001.jpg" 100
chown gwstore:gwstore "$s/$inc/f80/IMG_0001.jpg"
chmod 600 "$s/$inc/f80/IMG_0001.jpg"
is "...a photo added behind the gateway there: its cached listing is empty" \
    "$(inview "$S" gwsurg ls "/proc/$F/cwd/" | wc -l)" 0
cp "$tmp/etc/test.policy" "$tmp/etc/test.policy.new"
mv "$tmp/etc/test.policy.new" "$tmp/etc/test.policy"
for i in $(seq 1 50); do grep -q "policy .* reloaded" "$tmp/gateway.log" && break; sleep 0.1; done
sleep 0.3
out=$(inview "$S" gwsurg stat -c %s "$new" 2>&1)
is "a policy reload drops the view's cache: the photo is there" "$out" "$(stat -c %s "$s/patients/P000001/$pre/IMG_0009.jpg")"
like "...and listed" "$(inview "$S" gwsurg ls "$m/patients/P000001/$pre" | tr '\n' ' ')" "IMG_0009.jpg"
is "...and so is the photo in the 80th folder, where the process works" \
    "$(inview "$S" gwsurg ls "/proc/$F/cwd/")" IMG_0001.jpg
kill "$F" 2>/dev/null

# A care-team change in the directory reaches a cached view within the
# directory's cache_ttl (2 s here) and the views' once-a-second look,
# without a request of the user's: P000003 joins, P000002 leaves.
out=$(inview "$S" gwsurg stat -c %F "$m/patients/P000003" 2>&1)
like "P000003 is not on the surgeon's care team: ENOENT in the view" "$out" "No such file or directory"
inview "$S" gwsurg stat -c %F "$m/patients/P000002" >/dev/null
# A shell whose working directory is the patients' folder holds its inode
# (and the listing cached in it) past the drop of its name: that listing
# must be dropped as well.
works_in "$S" gwsurg "$m/patients"
H=$HOLD
check "a process of the surgeon's works in the view's patients folder" test -n "$H"
is "...listing it through its working directory: the care team" \
    "$(inview "$S" gwsurg ls "/proc/$H/cwd/" 2>&1 | tr '\n' ' ')" "P000001 P000002 "
# And one in a session folder of P000002, three levels down.
works_in "$S" gwsurg "$m/patients/P000002/$pre"
H2=$HOLD
check "another works in P000002's session folder" test -n "$H2"
is "...and lists its photos (cached)" \
    "$(inview "$S" gwsurg ls "/proc/$H2/cwd/" 2>&1 | tr '\n' ' ')" "IMG_0001.jpg IMG_0002.jpg IMG_0003.jpg "
# And one has read the first part of a listing of 2,000 in P000002 (a
# READDIR brings 25 to 200 names, by kernel; a readdir(3) asks for 32
# KiB) and reads the rest only after the change: the parts it had not
# yet been sent are decided anew, not taken from the listing made
# before.  (The refusal, ENOENT, ends a readdir(3) as the end of the
# folder would; EACCES would raise.)
plus_folder halfread 2000 P000002
# A process holds 1,100 folders of P000001's open, so the view holds
# more than 1,024 nodes across the change and every part of the listing
# sends names alone: nothing but the listing's own age keeps the names
# it was not yet sent from it.
f=$s/patients/P000001/plusH
mkdir -p "$f"
for k in $(seq 1 1100); do mkdir "$f/d$k"; done
chown -R gwstore:gwstore "$f" && chmod -R go-rwx "$f"
# (nsenter, setpriv and python exec each the next: one pid to kill.)
nsenter -t "$S" -m setpriv --reuid=gwsurg --regid="$GW_GID" --clear-groups -- \
    /usr/bin/python3 -c '
import os, resource, sys, time
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
fds = [os.open("%s/d%d" % (sys.argv[1], k), os.O_RDONLY | os.O_DIRECTORY) for k in range(1, 1101)]
open(sys.argv[2], "w").write("%d\n" % len(fds))
time.sleep(600)' "$m/patients/P000001/plusH" "$tmp/out/held.dirs" >"$tmp/held.dirs.log" 2>&1 &
HD=$!
for i in $(seq 1 200); do [ -s "$tmp/out/held.dirs" ] && break; sleep 0.05; done
is "a process of the surgeon's holds 1,100 folders open in the view" "$(cat "$tmp/out/held.dirs" 2>/dev/null)" 1100
partial "$m/patients/P000002/halfread" half
HR=$PR
is "a reader in P000002's folder of 2,000 has read its first 10 names" "$(cat "$tmp/out/half.first" 2>/dev/null)" 10
printf 'dn: cn=P000003,ou=careteams,%s\nchangetype: modify\nadd: member\nmember: uid=gwsurg,ou=people,%s\n\ndn: cn=P000002,ou=careteams,%s\nchangetype: modify\ndelete: member\nmember: uid=gwsurg,ou=people,%s\n' \
	"$SLAPD_BASE_DN" "$SLAPD_BASE_DN" "$SLAPD_BASE_DN" "$SLAPD_BASE_DN" | slapd_modify >/dev/null
got=
for i in $(seq 1 60); do
	got=$(inview "$S" gwsurg ls "$m/patients" 2>&1 | tr '\n' ' ')
	a=$(inview "$S" gwsurg stat -c %F "$m/patients/P000003" 2>&1)
	[ "$a" = directory ] && [ "$got" = "P000001 P000003 " ] && break
	sleep 0.1
done
is "after the care-team change the view finds P000003 (its cached ENOENT dropped)" "$a" directory
is "...and lists them so" "$got" "P000001 P000003 "
is "...also through the held working directory (its cached listing dropped)" \
    "$(inview "$S" gwsurg ls "/proc/$H/cwd/" 2>&1 | tr '\n' ' ')" "P000001 P000003 "
out=$(inview "$S" gwsurg ls "/proc/$H2/cwd/" 2>&1)
unlike "...and P000002's held session folder lists none of its photos any more" "$out" "IMG_000"
out=$(inview "$S" gwsurg cat "/proc/$H2/cwd/IMG_0001.jpg" 2>&1 | head -c 100)
like "...nor opens one" "$out" "No such file|denied"
touch "$tmp/out/half.go"
wait "$HR"
read -r hn hdup herr <"$tmp/out/half.rest"
diag "the half-read listing: $hn names in all, $hdup twice, then: $herr"
check "...and the half-read listing gets no part it was not sent before ($hn of 2,000)" test "$hn" -lt 2000
like "...and ends ($herr)" "$herr" "^(none|Permission denied)$"
# The same while the directory stops answering: a part after the first
# is refused once the caller cannot be served (cache_ttl is 2 s here).
plus_folder plusI 2000
partial "$m/patients/P000001/plusI" down
is "a reader of a folder of 2,000 has read its first 10 names" "$(cat "$tmp/out/down.first" 2>/dev/null)" 10
slapd_pause
sleep 2.5
touch "$tmp/out/down.go"
wait "$PR"
slapd_resume
# Back: the views' thread's look at the user (which waited on the
# directory) is done once the view serves the surgeon again.
for i in $(seq 1 100); do
	[ "$(inview "$S" gwsurg ls "$m/patients" 2>/dev/null | tr '\n' ' ')" = "P000001 P000003 " ] && break
	sleep 0.1
done
read -r dn ddup derr <"$tmp/out/down.rest"
diag "the listing read on with the directory down: $dn names in all, then: $derr"
check "...the directory down, it gets no part it was not sent before ($dn of 2,000)" test "$dn" -lt 2000
like "...and is refused ($derr)" "$derr" "denied|error"
kill "$HD" 2>/dev/null
rm -rf "$s/patients/P000001/plusH" "$s/patients/P000001/plusI"
diag "care-team change seen in the view after $((i / 10)).$((i % 10)) s"
# P000002's name is held by that working directory, so the kernel keeps
# it past the drop; once free, the next drop (the reload below) takes it.
kill "$H" "$H2" 2>/dev/null
for i in $(seq 1 50); do kill -0 "$H2" 2>/dev/null || break; sleep 0.1; done

# A break-glass grant drops the on-call surgeon's cached ENOENT, and its
# expiry drops the cached entry (grants last 4 s from here on).
sed 's/^breakglass oncall for 1h /breakglass oncall for 4s /' "$tmp/etc/test.policy" >"$tmp/etc/test.policy.new"
mv "$tmp/etc/test.policy.new" "$tmp/etc/test.policy"
for i in $(seq 1 50); do [ "$(grep -c "policy .* reloaded" "$tmp/gateway.log")" -ge 2 ] && break; sleep 0.1; done
sleep 0.3
out=$(inview "$S" gwsurg stat -c %F "$m/patients/P000002" 2>&1)
like "P000002 left the care team: gone from the surgeon's view too (cached entry dropped)" "$out" "No such file or directory"
view gwoncall
O=$VPID
check "a view for the on-call surgeon" test -n "$O"
out=$(inview "$O" gwoncall stat -c %F "$m/patients/P000004" 2>&1)
like "no grant yet: P000004 does not exist in the on-call surgeon's view" "$out" "No such file or directory"
out=$(as gwoncall "$PG_CLI" breakglass --patient P000004 --reason "views test" 2>&1)
like "break-glass for P000004 granted" "$out" "granted gwoncall access to P000004"
got=
for i in $(seq 1 30); do
	got=$(inview "$O" gwoncall stat -c %F "$m/patients/P000004" 2>&1)
	[ "$got" = directory ] && break
	sleep 0.1
done
is "...and the view shows it at once (cache dropped)" "$got" directory
for i in $(seq 1 100); do
	got=$(inview "$O" gwoncall stat -c %F "$m/patients/P000004" 2>&1)
	[ "${got#*No such file}" != "$got" ] && break
	sleep 0.1
done
like "when the grant runs out the view no longer shows it (cache dropped)" "$got" "No such file or directory"
diag "grant expiry seen in the view $((i / 10)).$((i % 10)) s after the grant was seen"

# --- a lockout ends the user's views at once ----------------------------
# gwbulk holds a photo open in a view and has read its first bytes; a
# bulk copy in the same view crosses the lockout threshold; the rest of
# the open file is then refused (the kernel's cached pages dropped, the
# connection aborted), and the view is gone.
held=$m/patients/P000005/$pre/IMG_0001.jpg
cat >"$tmp/holder.sh" <<'SH'
exec 3<"$1"
head -c 10 <&3 >"$2/held.first"
touch "$2/held.ready"
while [ ! -e "$2/held.go" ]; do sleep 0.1; done
cat <&3 >"$2/held.rest" 2>"$2/held.err"
echo $? >"$2/held.rc"
stat "$3" >/dev/null 2>>"$2/held.err2"
echo $? >"$2/held.rc2"
SH
"$PG_CLI" view --user gwbulk -- bash "$tmp/holder.sh" "$held" "$tmp/out" "$m/patients" >"$tmp/view.gwbulk" 2>&1 &
HP=$!
for i in $(seq 1 100); do [ -e "$tmp/out/held.ready" ] && break; sleep 0.05; done
is "gwbulk read the held photo's first bytes in its view" "$(cat "$tmp/out/held.first" 2>/dev/null)" "PHOTO pati"
B=$(pgrep -u gwbulk -x bash | head -1)
inview "$B" gwbulk cp -r "$m/patients" "$tmp/out/cp" 2>/dev/null
check "the bulk copy in the view locked gwbulk out" test -n "$("$PG_CLI" lockouts | grep '^gwbulk ')"
for i in $(seq 1 50); do [ "$(views_live)" = 2 ] && break; sleep 0.1; done
is "...and ended gwbulk's view (two views left)" "$(views_live)" 2
touch "$tmp/out/held.go"
wait "$HP"
is "the held file's next read fails" "$(cat "$tmp/out/held.rc")" 1
like "...with the connection aborted" "$(cat "$tmp/out/held.err")" "Transport endpoint is not connected|Input/output error|Permission denied"
is "...and nothing more of it was read" "$(stat -c %s "$tmp/out/held.rest")" 0
like "...and the view answers nothing more" "$(cat "$tmp/out/held.err2")" "Transport endpoint is not connected"
is "the view's end is audited" "$(audit_count gateway.view info gwbulk)" 2
is "...and the file it held open is released on record (no RELEASE came)" \
	"$(grep '"event":"gateway.release"' "$tmp/audit/audit.jsonl" | grep '"actor":"gwbulk"' | grep -c 'the view ended')" 1
out=$("$PG_CLI" view --user gwbulk -- true 2>&1)
is "a locked-out user gets no new view: exit 1" $? 1
like "...saying why" "$out" "no view for gwbulk: the gateway refused: no view: account locked out"
is "...and the refusal is audited" "$(audit_count gateway.view deny gwbulk)" 1

# --- bad requests -------------------------------------------------------
# ask UID [FDFILE] [AS_USER]: a raw `view UID` request over the control
# socket, the file FDFILE (opened read-write) passed along.
ask() {
	local py='
import socket, sys, os
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
fds = [os.open(sys.argv[3], os.O_RDWR)] if sys.argv[3] else []
socket.send_fds(s, [("view %s\n" % sys.argv[2]).encode()], fds)
print(s.recv(4096).decode().strip())
'
	if [ -n "${3:-}" ]; then
		as "$3" /usr/bin/python3 -c "$py" "$tmp/gateway.sock" "$1" "${2:-}"
	else
		/usr/bin/python3 -c "$py" "$tmp/gateway.sock" "$1" "${2:-}"
	fi
}
like "a view asked by a user, not root: refused" "$(ask 2901 /dev/null gwsurg)" "^error: only root may hand over a view"
like "root without a connection passed: refused" "$(ask 2901)" "^error: no FUSE connection came with the request"
like "root passing /dev/null instead of /dev/fuse: refused" "$(ask 2901 /dev/null)" "^error: what came with the request is not /dev/fuse"
like "a uid that is not a number: refused" "$(ask 29x1 /dev/fuse)" "^error: not a user's uid: 29x1"
like "root's uid: refused" "$(ask 0 /dev/fuse)" "^error: not a user's uid: 0"
like "a uid with no user: refused" "$(ask 4242 /dev/fuse)" "^error: no view: uid 4242 has no user name"
is "...audited" "$(grep -c '"event":"gateway.view".*"decision":"deny".*uid 4242 has no user name' "$tmp/audit/audit.jsonl")" 1
out=$(as gwsurg "$PG_CLI" view --user gwsurg -- true 2>&1)
like "photoguard view run by a user: refused" "$out" "only root can make a view"
out=$("$PG_CLI" view --user root -- true 2>&1)
like "photoguard view --user root: refused" "$out" "root has no view of its own"
out=$("$PG_CLI" view --user nosuchuser -- true 2>&1)
like "photoguard view for an unknown user: refused" "$out" "no user nosuchuser"
out=$("$PG_CLI" view gwsurg 2>&1)
is "photoguard view without --user: usage, exit 2" $? 2
is "after the refusals the gateway still serves the two views" "$(views_live)" 2

kill "$S" "$O" 2>/dev/null
check "the views end when their namespaces are gone" wait_views 0
is "...each end on record" "$(grep '"event":"gateway.view"' "$tmp/audit/audit.jsonl" | grep -c "the login's last process is gone")" 2
# --- reads of several MiB in parallel, each the store's bytes ------------
# READ replies are copied through a few buffers the views share: six
# photos of 3 MiB read at once in a fresh view (nothing cached, READs of
# up to 1 MiB in flight on every thread of the view) must each come back
# as the store has it; a buffer handed to two READs, or reused before its
# reply went out, mixes them up.
big=patients/P000006/2026-03-01-large
for f in 1 2 3 4 5 6; do gw_photo "$s/$big/IMG_000$f.jpg" $((3 * 1048576 + f * 4099)); done
chown -R gwstore:gwstore "$s/patients/P000006" && chmod -R go-rwx "$s/patients/P000006"
want=$(cd "$s/$big" && md5sum IMG_000?.jpg)
got=$("$PG_CLI" view --user gwwide -- /usr/bin/python3 -c '
import hashlib, os, sys, threading
out = {}
def w(n):
    h = hashlib.md5()
    with open(os.path.join(sys.argv[1], n), "rb", buffering=0) as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    out[n] = h.hexdigest()
ns = ["IMG_000%d.jpg" % i for i in range(1, 7)]
t = [threading.Thread(target=w, args=(n,)) for n in ns]
[x.start() for x in t]
[x.join() for x in t]
for n in ns:
    print("%s  %s" % (out.get(n, "-"), n))' "$m/$big" 2>&1)
is "six photos of 3 MiB read in parallel in a view: each the store's bytes" "$got" "$want"

"$PG_CLI" audit verify >"$tmp/verify.out" 2>&1
is "the audit log verifies" $? 0
gw_stop
out=$("$PG_CLI" view --user gwsurg -- true 2>&1)
like "no gateway running: photoguard view says so" "$out" "no view for gwsurg: no gateway listens on $tmp/gateway.sock"
sed -i '/^\[store\]/a views = no' "$tmp/etc/pg.conf"
gw_start_or_bail "the gateway mounts with [store] views = no"
out=$("$PG_CLI" view --user gwsurg -- true 2>&1)
like "...and refuses views" "$out" "the gateway refused: views are off here \(\[store\] views = no\)"
is "...none served" "$(views_live)" 0

gw_done
