#!/bin/bash
# test_valgrind.sh - the gateway (root parent and service-user worker) and
# the CLI run under valgrind through a short but complete session: mount,
# listings, allowed and refused opens, reads, a bulk read that locks a user
# out, the control socket, a policy reload, the audit verbs, unmount.  Any
# memory error or definite leak in any of these processes fails a point.
# Plain build only: valgrind and the sanitizers do not mix.
. "$PG_SOURCE_ROOT/gateway/tests/lib.sh"

if ! command -v valgrind >/dev/null; then
	skip "gateway and CLI under valgrind" "valgrind is not installed (deploy/deps.sh --test installs it)"
	done_testing
	exit 0
fi

gw_setup_or_bail
# No lockout hook here: its runner forks from the threaded gateway and the
# forked processes end with _exit(), so valgrind would count the parent's
# other threads' memory as lost in them.  The hook has its own tests
# (gateway-lockout, gateway-control, pam_hook).
sed -i '/^hook = /d' "$tmp/etc/pg.conf"
vg=$tmp/vg
mkdir -p "$vg"
chmod 0777 "$vg"
# Errors and definite or indirect leaks count; memory a process still
# reaches at exit (libraries' one-time setup) does not.
VG="valgrind --quiet --error-exitcode=99 --leak-check=full
    --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect
    --track-fds=no --child-silent-after-fork=no"
f1=patients/P000001/2026-01-10-preop/IMG_0001.jpg
gw_mfa_issue gwnurse
gw_mfa_issue gwoncall
gw_mfa_issue gwbulk

# Under valgrind the mount comes up slowly: give it 60 s, not 5.
GW_WRAP="$VG --log-file=$vg/gateway.%p" gw_start
for i in $(seq 1 600); do
	mountpoint -q "$m" && break
	sleep 0.1
done
if ! mountpoint -q "$m"; then
	not_ok "the gateway mounts under valgrind"
	sed 's/^/# /' "$tmp/gateway.log" "$vg"/gateway.* 2>/dev/null | head -40
	done_testing
	exit 1
fi
ok "the gateway mounts under valgrind"

# cli ARGS...: the CLI under valgrind (as the caller given by $AS, if any);
# its valgrind log is kept per call.  A user runs a copy: valgrind's exec
# of the tool cannot reach a build tree inside a 0700 checkout.
install -m 0755 "$PG_CLI" "$tmp/photoguard"
n=0
cli() {
	n=$((n + 1))
	if [ -n "${AS:-}" ]; then
		as "$AS" $VG --log-file="$vg/cli.$n.%p" "$tmp/photoguard" --config "$tmp/etc/pg.conf" "$@"
	else
		$VG --log-file="$vg/cli.$n.%p" "$PG_CLI" --config "$tmp/etc/pg.conf" "$@"
	fi
}

is "nurse lists her patients" "$(as gwnurse ls "$m/patients" | tr '\n' ' ')" "P000001 P000002 "
is "nurse reads her patient's photo" "$(as gwnurse head -1 "$m/$f1")" "PHOTO $f1"
out=$(as gwnurse cat "$m/patients/P000004/2026-01-10-preop/IMG_0001.jpg" 2>&1)
like "another patient's photo does not exist for her" "$out" "No such file or directory"
as gwbulk cp -r "$m/patients" "$tmp/out/cp" 2>/dev/null
check "a bulk copy locks the reader out" bash -c '"$1" --config "$2" lockouts | grep -q gwbulk' _ "$PG_CLI" "$tmp/etc/pg.conf"

out=$(cli status 2>&1); rc=$?
is "status under valgrind: exit 0" "$rc" 0
like "...with the users" "$out" "user gwnurse"
out=$(AS=gwoncall cli breakglass --patient P000004 --reason "ER trauma" 2>&1); rc=$?
is "break-glass under valgrind: granted" "$rc" 0
out=$(AS=gwoncall cli breakglass --patient P000005 2>&1); rc=$?
is "break-glass without a reason: refused" "$rc" 1
cli lockouts --json >/dev/null 2>&1
is "lockouts under valgrind: exit 0" "$?" 0
cli policy check "$tmp/etc/test.policy" >/dev/null 2>&1
is "policy check under valgrind: exit 0" "$?" 0
printf 'layout "x/{patient}"\nallow nobody read **\nbogus\n' >"$tmp/bad.policy"
cli policy check "$tmp/bad.policy" >/dev/null 2>&1
is "a broken policy under valgrind: exit 1" "$?" 1
out=$(cli policy explain --user gwnurse --path "$f1" 2>&1); rc=$?
is "policy explain against the directory under valgrind: allowed" "$rc" 0
cli config check "$tmp/etc/pg.conf" >/dev/null 2>&1
is "config check under valgrind: exit 0" "$?" 0
cli unlock gwbulk >/dev/null 2>&1
is "unlock under valgrind: exit 0" "$?" 0
cp "$tmp/etc/test.policy" "$tmp/orig.policy"
grep -v '^allow nurse list,read' "$tmp/orig.policy" >"$tmp/etc/.new.policy"
mv "$tmp/etc/.new.policy" "$tmp/etc/test.policy"
for i in $(seq 1 100); do
	grep -q "test.policy reloaded" "$tmp/gateway.log" && break
	sleep 0.1
done
like "the policy is reloaded under valgrind" "$(cat "$tmp/gateway.log")" "test.policy reloaded"

gw_stop
# The audit verbs read what the session wrote.
cli audit verify "$tmp/audit/audit.jsonl" >/dev/null 2>&1
is "audit verify under valgrind: exit 0" "$?" 0
out=$(cli audit report --user gwbulk --json 2>&1); rc=$?
is "audit report under valgrind: exit 0" "$rc" 0
like "...names the patients of the bulk copy" "$out" "P00000"
cli audit query --user gwnurse >/dev/null 2>&1
is "audit query under valgrind: exit 0" "$?" 0

# Every process valgrind watched: the root parent, the start-up probe,
# the worker, and each CLI call.
logs=$(ls "$vg" | wc -l)
check "valgrind watched the gateway's processes and every CLI call ($logs logs)" test "$logs" -ge $((n + 2))
bad=$(grep -lE 'Invalid (read|write|free)|uninitialised|definitely lost|indirectly lost|Mismatched free|Syscall param' "$vg"/* 2>/dev/null)
if [ -z "$bad" ]; then
	ok "no memory error or leak in the gateway or the CLI"
else
	not_ok "no memory error or leak in the gateway or the CLI"
	for f in $bad; do
		echo "# --- $f"
		head -60 "$f" | sed 's/^/#   /'
	done
fi
done_testing
