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
for u in gwsurg gwoncall gwnurse gwbulk; do gw_mfa_issue $u; done
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
# inview PID USER CMD...: CMD as USER in the namespace of PID.
inview() {
	local pid=$1 u=$2
	shift 2
	nsenter -t "$pid" -m setpriv --reuid="$u" --regid="$GW_GID" --clear-groups -- "$@"
}
views_live() {
	"$PG_CLI" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin).get("views", "none"))'
}
wait_views() { # N: until the gateway serves N views (5 s)
	local i
	for i in $(seq 1 50); do
		[ "$(views_live)" = "$1" ] && return 0
		sleep 0.1
	done
	return 1
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

# --- the kernel caches; what changes what the user may see drops it -----
# A name found missing stays missing in the view's cache (view_ttl): a
# photo added behind the gateway is not seen there until something drops
# the cache, while the shared view (no cache) sees it at once.
new=$m/patients/P000001/$pre/IMG_0009.jpg
out=$(inview "$S" gwsurg stat -c %s "$new" 2>&1)
like "a missing photo in the view: ENOENT" "$out" "No such file or directory"
gw_photo "$s/patients/P000001/$pre/IMG_0009.jpg" 100
chown gwstore:gwstore "$s/patients/P000001/$pre/IMG_0009.jpg"
chmod 600 "$s/patients/P000001/$pre/IMG_0009.jpg"
out=$(inview "$S" gwsurg stat -c %s "$new" 2>&1)
like "...added behind the gateway, it is still missing in the view (cached)" "$out" "No such file or directory"
out=$(as gwsurg stat -c %s "$new" 2>&1)
is "...while the shared view sees it" "$out" "$(stat -c %s "$s/patients/P000001/$pre/IMG_0009.jpg")"
cp "$tmp/etc/test.policy" "$tmp/etc/test.policy.new"
mv "$tmp/etc/test.policy.new" "$tmp/etc/test.policy"
for i in $(seq 1 50); do grep -q "policy .* reloaded" "$tmp/gateway.log" && break; sleep 0.1; done
sleep 0.3
out=$(inview "$S" gwsurg stat -c %s "$new" 2>&1)
is "a policy reload drops the view's cache: the photo is there" "$out" "$(stat -c %s "$s/patients/P000001/$pre/IMG_0009.jpg")"

done_view() { kill "$1" 2>/dev/null; }
done_view "$S"
check "the view ends when its namespace is gone" wait_views 0

gw_done
