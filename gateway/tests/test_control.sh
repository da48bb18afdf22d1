#!/bin/bash
# test_control.sh - the policy follows its file (a good new policy takes
# effect, a broken, deleted or half-written one changes nothing), and the
# control socket: `photoguard status` (root sees all, others themselves)
# and `photoguard breakglass` (reason, roles, max grants, audited).
. "$PG_SOURCE_ROOT/gateway/tests/lib.sh"

gw_setup_or_bail
pol=$tmp/etc/test.policy
f1=patients/P000001/2026-01-10-preop/IMG_0001.jpg
gw_mfa_issue gwnurse
gw_mfa_issue gwoncall
gw_mfa_issue gwsurg
gw_start_or_bail "gateway mounts"
reads() { as gwnurse head -1 "$m/$f1" 2>/dev/null; }
# settle: wait until the nurse's reading equals $1 (at most 3 s).
settle() {
	local i
	for i in $(seq 1 30); do
		[ "$(reads)" = "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
is "nurse reads under the first policy" "$(reads)" "PHOTO $f1"

# --- reload ---------------------------------------------------------------
cp "$pol" "$tmp/orig.policy"
grep -v '^allow nurse list,read' "$tmp/orig.policy" >"$tmp/etc/.new.policy"
mv "$tmp/etc/.new.policy" "$pol"
check "a valid new policy (renamed into place) takes effect: nurse refused" settle ""
like "...logged" "$(cat "$tmp/gateway.log")" "policy .*test.policy reloaded"
cp "$tmp/orig.policy" "$pol"
check "written in place (close after write): back in force" settle "PHOTO $f1"
printf 'layout "patients/{patient}/{series}/{file}"\nallow nobody read **\n' >"$pol"
sleep 0.5
is "a broken policy is refused: the old one stays" "$(reads)" "PHOTO $f1"
like "...with its errors in the log" "$(cat "$tmp/gateway.log")" "test.policy:2:[0-9]+: error: .*refused; the old one stays|refused; the old one stays in force: .*test.policy:2"
rm -f "$pol"
sleep 0.5
is "a deleted policy changes nothing" "$(reads)" "PHOTO $f1"
like "...and says so" "$(cat "$tmp/gateway.log")" "removed; the policy in force stays"
# Half-written: the writer still has it open.
exec 3>"$pol"
grep -v '^allow nurse list,read' "$tmp/orig.policy" | head -5 >&3
sleep 0.5
is "a half-written policy is not read before its writer closes it" "$(reads)" "PHOTO $f1"
grep -v '^allow nurse list,read' "$tmp/orig.policy" | tail -n +6 >&3
exec 3>&-
check "...and is read once closed" settle ""
cp "$tmp/orig.policy" "$pol"
check "original policy back" settle "PHOTO $f1"
check "reloads are audited" test "$(audit_count gateway.policy_reload info gateway)" -ge 3
check "refused reloads are audited" test "$(audit_count gateway.policy_reload deny gateway)" -ge 1

# --- break-glass -------------------------------------------------------------
f4=patients/P000004/2026-01-10-preop/IMG_0001.jpg
out=$(as gwoncall cat "$m/$f4" 2>&1)
like "on-call surgeon without a grant: the patient does not exist" "$out" "No such file or directory"
out=$(as gwoncall "$PG_CLI" breakglass --patient P000004 2>&1); rc=$?
is "break-glass without a reason: refused (exit 1)" "$rc" 1
like "...because a reason is required" "$out" "reason is required"
out=$(as gwoncall "$PG_CLI" breakglass --patient P000004 --reason "ER trauma, patient unconscious" 2>&1); rc=$?
is "break-glass with a reason: granted" "$rc" 0
like "...for the policy's hour" "$out" "P000004 for 3600 seconds"
for i in $(seq 1 50); do grep -qs PHOTOGUARD_PATIENT= "$tmp/out/hook.gwoncall" && break; sleep 0.1; done
hk=$(cat "$tmp/out/hook.gwoncall" 2>/dev/null)
like "...the hook runs for it: PHOTOGUARD_EVENT" "$hk" "PHOTOGUARD_EVENT=breakglass"
like "...PHOTOGUARD_PATIENT" "$hk" "PHOTOGUARD_PATIENT=P000004"
like "...PHOTOGUARD_REASON" "$hk" "PHOTOGUARD_REASON=ER trauma, patient unconscious"
like "...PHOTOGUARD_RULE: the policy's line" "$hk" "PHOTOGUARD_RULE=.*:[0-9]+"
like "...PHOTOGUARD_DURATION" "$hk" "PHOTOGUARD_DURATION=3600"
like "...PHOTOGUARD_COMPONENT" "$hk" "PHOTOGUARD_COMPONENT=gateway"
like "...as the service user" "$hk" "uid=$(id -u gwstore)"
rm -f "$tmp/out/hook.gwoncall"
is "the grant opens that patient" "$(as gwoncall head -1 "$m/$f4" 2>&1)" "PHOTO $f4"
out=$(as gwoncall cat "$m/patients/P000005/2026-01-10-preop/IMG_0001.jpg" 2>&1)
like "...and no other" "$out" "No such file or directory"
out=$(as gwoncall "$PG_CLI" breakglass --patient P000005 --reason "second emergency" 2>&1); rc=$?
is "a second grant (max 2/day)" "$rc" 0
out=$(as gwoncall "$PG_CLI" breakglass --patient P000006 --reason "third" 2>&1); rc=$?
is "a third grant the same day: refused" "$rc" 1
like "...with the limit" "$out" "more than 2 grants"
out=$(as gwsurg "$PG_CLI" breakglass --patient P000004 --reason "curious" 2>&1); rc=$?
is "a role without a breakglass line: refused" "$rc" 1
out=$(as gwoncall "$PG_CLI" breakglass --patient ../P000001 --reason x 2>&1); rc=$?
is "a patient id with a path in it: refused" "$rc" 1
check "grants audited with the reason" test "$(python3 - "$tmp/audit/audit.jsonl" <<'PY'
import json, sys
n = 0
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["event"] == "breakglass.grant" and r["decision"] == "allow" and r["actor"] == "gwoncall" and r["patient"] == "P000004" and "unconscious" in r["reason"]:
        n += 1
print(n)
PY
)" -eq 1
sleep 0.5
check "...refused grants run no hook" test ! -e "$tmp/out/hook.gwsurg"
check "refused grants audited" test "$(audit_count breakglass.grant deny gwoncall)" -ge 2

# --- status --------------------------------------------------------------
out=$("$PG_CLI" status 2>&1); rc=$?
is "status as root: exit 0" "$rc" 0
like "...names the policy in force" "$out" "policy: $pol"
like "...shows each user's usage against each window" "$out" "user gwnurse uid 2902"
like "...with the limits" "$out" "limit files 20/600s +[0-9]+ used"
like "...and live grants" "$out" "break-glass P000004 for [0-9]+s more"
like "...and the lockouts" "$out" "lockouts: 0"
out=$(as gwnurse "$PG_CLI" status 2>&1); rc=$?
is "status as a user: exit 0" "$rc" 0
like "...shows them" "$out" "user gwnurse"
check "...and nobody else" bash -c "! grep -q gwoncall <<<'$out'"
check "...nor the store" bash -c "! grep -q 'store:' <<<'$out'"
# The same facts for programs.
"$PG_CLI" status --json >"$tmp/out/status.json" 2>"$tmp/out/status.err"; rc=$?
is "status --json as root: exit 0" "$rc" 0
is "...one JSON object with the policy, the users, their limits and grants, and the lockouts" "$(python3 - "$tmp/out/status.json" "$pol" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
users = {u["user"]: u for u in d["users"]}
oc, nu = users["gwoncall"], users["gwnurse"]
lim = [l for l in nu["limits"] if l["kind"] == "limit" and l["metric"] == "files" and l["window_seconds"] == 600]
print(d["policy"]["file"] == sys.argv[2], d["policy"]["version"] >= 1,
      nu["uid"] == 2902, nu["locked"] is False, len(lim) == 1 and lim[0]["max"] == 20 and lim[0]["used"] >= 1,
      ":" in lim[0]["rule"], [g["patient"] for g in oc["breakglass"]] == ["P000004", "P000005"] or
      sorted(g["patient"] for g in oc["breakglass"]) == ["P000004", "P000005"],
      all(0 < g["seconds_left"] <= 3600 for g in oc["breakglass"]), d["lockouts"] == [])
PY
)" "True True True True True True True True True"
as gwnurse "$PG_CLI" status --json >"$tmp/out/status-nurse.json" 2>&1; rc=$?
is "status --json as a user: exit 0" "$rc" 0
is "...their own usage only, no store, no lockouts" "$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print([u["user"] for u in d["users"]], sorted(d))' "$tmp/out/status-nurse.json")" "['gwnurse'] ['users']"
out=$("$PG_CLI" status --jsn 2>&1); rc=$?
is "status with an unknown option: usage, exit 2" "$rc" 2

# --- the control socket under attack ---------------------------------------
# One local user holds 50 connections open, each trickling a byte every
# 0.3 s and never ending its line: a cap per uid and one deadline per
# connection keep everyone else served.  Restarted first, so that the
# break-glass count of the day starts again.
gw_stop
gw_start_or_bail "gateway restarted"
flood=$PG_SOURCE_ROOT/gateway/tests/ctl_flood.py
sock=$tmp/gateway.sock
python3 "$flood" hold "$sock" 2902 50 15 "$tmp/out/flood.jsonl" "$tmp/out/flood.ready" &
fpid=$!
for i in $(seq 1 50); do [ -e "$tmp/out/flood.ready" ] && break; sleep 0.1; done
sleep 0.3
# secs CMD...: runs CMD, its output in $out, exit in $rc,
# seconds taken in $took.
secs() {
	local t0=$EPOCHREALTIME
	out=$("$@" 2>&1); rc=$?
	took=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
}
secs timeout 5 "$PG_CLI" status
is "status as root while gwnurse floods the socket: exit 0" "$rc" 0
check "...within 2 s (took ${took}s)" awk -v t="$took" 'BEGIN { exit !(t < 2) }'
# timeout outside setpriv: the user may not be able to reach the build
# tree through its parents (a 0700 checkout), which setpriv's own exec
# of the tool tolerates and a second exec by timeout does not.
secs timeout 5 setpriv --reuid=gwoncall --regid="$GW_GID" --clear-groups -- \
    "$PG_CLI" breakglass --patient P000006 --reason "ER, socket flooded"
is "break-glass by another user meanwhile: granted" "$rc" 0
like "...at once (took ${took}s)" "$out ${took}" "P000006 for 3600 seconds.* (0|1)\.[0-9]+$"
wait "$fpid"
flood_sum() {
	python3 - "$tmp/out/flood.jsonl" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
first = recs[:50]
refused = [r for r in first if r["answer"].startswith("error: too many")]
served = [r for r in first if r["connected"] and r not in refused]
print("first 50: %d served, %d refused, %d connect failed"
      % (len(served), len(refused), len(first) - len(served) - len(refused)))
# Every connection the gateway took: ended at its deadline while still
# sending, or opened too late in the run to reach it.
took = [r for r in recs if r["connected"]
        and not r["answer"].startswith("error: too many")]
dl = [r for r in took if r["lived"] is not None and 1.5 <= r["lived"] <= 3.5
      and r["sent"] >= 4 and "2 seconds" in r["answer"]]
young = [r for r in took if r["lived"] is None and r["at"] > 15 - 3.5]
other = [r for r in took if r not in dl and r not in young]
print("%d ended at the deadline while trickling, %d otherwise"
      % (len(dl), len(other)))
if other:
    print("e.g.", other[0])
PY
}
sum=$(flood_sum)
sed "s/^/# /" <<<"$sum"
like "the flooding uid gets 8 connections; its 9th and later are refused" "$sum" "first 50: 8 served, 42 refused, 0 connect failed"
like "...with the reason" "$(grep -m1 'too many' "$tmp/out/flood.jsonl")" "too many control connections from uid 2902"
like "a connection trickling bytes is closed at its deadline, not kept open by each byte" "$sum" "^[1-9][0-9]* ended at the deadline while trickling, 0 otherwise"
like "refusals are logged" "$(cat "$tmp/gateway.log")" "control socket: .*uid 2902.* refused"
# The gateway-wide cap: 31 uids at their cap leave room for root only.
out=$(python3 "$flood" global "$sock" 3100 31 8 2>&1)
sed "s/^/# /" <<<"$out"
like "248 connections of 31 uids: the next uid is refused" "$out" "next uid: error: too many control connections"
like "...and root is still served" "$out" "root: ok in"
# Stopping waits for the connections being served, and not for long.
python3 "$flood" hold "$sock" 2902 4 3 "$tmp/out/flood2.jsonl" "$tmp/out/flood2.ready" &
fpid=$!
for i in $(seq 1 50); do [ -e "$tmp/out/flood2.ready" ] && break; sleep 0.1; done
t0=$EPOCHREALTIME
gw_stop
took=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
check "the gateway stops within 2 s while connections trickle (took ${took}s)" awk -v t="$took" 'BEGIN { exit !(t < 2) }'
wait "$fpid"
out=$("$PG_CLI" status 2>&1); rc=$?
is "status with no gateway running: exit 3" "$rc" 3
out=$("$PG_CLI" audit verify 2>&1); rc=$?
is "the audit log verifies" "$rc" 0
gw_done
