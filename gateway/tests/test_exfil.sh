#!/bin/bash
# test_exfil.sh - bulk copies through the gateway are stopped after their
# allowance and lock the account: cp -r, tar, rsync, find -exec cat, 32
# parallel readers, an mmap reader and a slow drip under the short window.
# Each time we count what the reader really got (files identical to the
# store), check the lockout store, then unlock and go on; after cp -r the
# PAM module (same configuration) must refuse the next login until then.  Also: open
# handles stop serving at the lockout, the refusal comes at once, a
# restart keeps the lockout, and the audit log verifies afterwards.
#
# The "bulk" role: limit files 3/2s 6/10min, lockout files 12/10min.
. "$PG_SOURCE_ROOT/gateway/tests/lib.sh"

gw_setup_or_bail
o=$tmp/out
gw_mfa_issue gwbulk
gw_start_or_bail "gateway mounts"
SHORT=3 # the burst allowance (files 3/2s)
LONG=6  # the window allowance (files 6/10min)

# complete DIR: how many files under DIR are identical to the store's.
complete() {
	local n=0 f rel
	while IFS= read -r -d '' f; do
		rel=${f#"$1"/}
		cmp -s "$f" "$s/patients/$rel" && n=$((n + 1))
	done < <(find "$1" -type f -print0 2>/dev/null)
	echo "$n"
}

locked() {
	"$PG_CLI" lockouts 2>/dev/null | grep -q '^gwbulk '
}

# The lockout took gwbulk's MFA ticket: a new MFA login after the unlock.
unlock() {
	"$PG_CLI" unlock gwbulk >/dev/null 2>&1
	gw_mfa_issue gwbulk
	sleep 2.1 # let the short window pass
}

# exfil_check NAME COUNT: the checks after one method; exfil: and unlock.
exfil_check() {
	local name=$1 got=$2
	check "$name: delivered $got files, at most the burst allowance ($SHORT)" test "$got" -le "$SHORT"
	check "$name: ...and some (the allowance is served)" test "$got" -ge 1
	check "$name: the account is locked out in the store" locked
}

exfil() {
	exfil_check "$@"
	unlock
}

as gwbulk cp -r "$m/patients" "$o/cp" 2>/dev/null
exfil_check "cp -r" "$(complete "$o/cp")"
is "status --json: gwbulk locked, over its lockout threshold, and in the lockouts as the store has it" "$("$PG_CLI" status --json 2>&1 | python3 -c '
import json, subprocess, sys
d = json.load(sys.stdin)
u = [u for u in d["users"] if u["user"] == "gwbulk"][0]
lk = [l for l in u["limits"] if l["kind"] == "lockout" and l["metric"] == "files"][0]
store = [e for e in json.loads(subprocess.run([sys.argv[1], "lockouts", "--json"], capture_output=True).stdout) if e["user"] == "gwbulk"]
mine = [e for e in d["lockouts"] if e["user"] == "gwbulk"]
print(u["locked"], lk["used"] >= lk["max"], mine == store, mine[0]["by"] if mine else None)' "$PG_CLI")" "True True True gateway"
# The next login is refused: the PAM module, with the gateway's own
# configuration file, finds the gateway's lockout in the store.
if gw_pam_setup; then
	PAM=1
	gw_pam gwbulk "" acct_mgmt
	is "cp -r: the next PAM login of gwbulk is refused (account)" $? 1
	like "...as permission denied" "$(cat "$T/out")" 'Permission denied'
	# The module escapes spaces in the rule as \x20.
	like "...by the gateway's lockout rule" "$(gw_pam_line account)" \
	    "outcome=deny rule=$tmp/etc/test.policy:[0-9]+\\\\x20lockout\\\\x20files\\\\x2012/600s reason=locked out since 20[0-9-]+T[0-9:]+Z by gateway: "
	reason=$("$PG_CLI" lockouts --json | python3 -c 'import json,sys; print([e["reason"] for e in json.load(sys.stdin) if e["user"] == "gwbulk"][0])')
	gw_pam_has "...with the reason in the store (\"$reason\")" \
	    "by gateway: ${reason:-(no reason in the store)}"
	is "...and the refusal is audited" "$(audit_count pam.account deny gwbulk)" 1
fi
unlock
if [ -n "${PAM:-}" ]; then
	gw_pam gwbulk "" acct_mgmt
	is "after photoguard unlock the same PAM check lets gwbulk in" $? 0
	like "...by the policy's login rule" "$(gw_pam_line account)" \
	    "outcome=success rule=$tmp/etc/test.policy:[0-9]+ .*roles bulk, host imaging-01"
fi

as gwbulk tar cf - -C "$m" patients 2>/dev/null >"$o/t.tar"
mkdir -p "$o/tx" && tar xf "$o/t.tar" -C "$o/tx" 2>/dev/null
exfil "tar c" "$(complete "$o/tx/patients")"

as gwbulk rsync -a "$m/patients/" "$o/rs/" 2>/dev/null
exfil "rsync -a" "$(complete "$o/rs")"

as gwbulk find "$m/patients" -type f -exec cat {} + 2>/dev/null >"$o/find.bin"
got=$(grep -a -o 'PHOTO patients/P[0-9]*/[^/]*/IMG_[0-9]*\.jpg' "$o/find.bin" | sort -u | wc -l)
exfil "find -exec cat" "$got"

# 32 readers at once, each on its own file.
mkdir -p "$o/par"
mapfile -t files < <(cd "$s/patients" && find . -path ./P999001 -prune -o -type f -name 'IMG_*' -print | sed 's|^\./||' | sort | head -32)
pids=
for i in "${!files[@]}"; do
	mkdir -p "$o/par/$(dirname "${files[$i]}")"
	as gwbulk cat "$m/patients/${files[$i]}" 2>/dev/null >"$o/par/${files[$i]}" &
	pids="$pids $!"
done
wait $pids # not the gateway
exfil "32 parallel readers (${#files[@]} files)" "$(complete "$o/par")"

# mmap: the bytes come through the page cache, not read().
cat >"$o/mm.py" <<'PY'
import mmap, os, sys
src, dst = sys.argv[1], sys.argv[2]
for root, dirs, names in os.walk(src):
    dirs.sort()
    for n in sorted(names):
        p = os.path.join(root, n)
        try:
            with open(p, "rb") as f:
                m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
                data = m[:]
                m.close()
        except OSError:
            continue
        out = os.path.join(dst, os.path.relpath(p, src))
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, "wb") as g:
            g.write(data)
PY
as gwbulk /usr/bin/python3 "$o/mm.py" "$m/patients" "$o/mm"
exfil "mmap reader" "$(complete "$o/mm")"

# The refusal at the threshold is immediate: time each open.  One refused
# open, the one that crosses the lockout threshold, also writes the lockout
# store durably (an fsync, which a busy disk can hold for a second): it is
# bounded apart, and every other refusal must be immediate.
cat >"$o/lat.py" <<'PY'
import os, sys, time
refused, served = [], 0
for root, dirs, names in os.walk(sys.argv[1]):
    dirs.sort()
    for n in sorted(names):
        t = time.monotonic()
        try:
            fd = os.open(os.path.join(root, n), os.O_RDONLY)
            os.close(fd)
            served += 1
        except OSError:
            refused.append(time.monotonic() - t)
refused.sort(reverse=True)
refused += [0.0, 0.0]
print(served, int(refused[0] * 1000), int(refused[1] * 1000))
PY
read -r served worst next < <(as gwbulk /usr/bin/python3 "$o/lat.py" "$m/patients")
check "threshold to refusal: every refused open but the locking one ${next} ms (<= 100 ms)" test "$next" -le 100
check "...the one that locks (and syncs the lockout store) ${worst} ms (<= 3000 ms)" test "$worst" -le 3000
check "...with $served opens served before it" test "$served" -le "$SHORT"
unlock

# Open handles stop serving at the lockout, page cache or not.
cat >"$o/hold.py" <<'PY'
import os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
os.read(fd, 100)                 # served, and cached by readahead
open(sys.argv[2], "w").close()   # ready
while not os.path.exists(sys.argv[3]):
    time.sleep(0.05)
time.sleep(0.3)                  # the lockout's cache drop
try:
    os.pread(fd, 100, 4096)
    print("served")
except OSError as e:
    print("refused", e.errno)
PY
first=$m/patients/P000001/2026-01-10-preop/IMG_0001.jpg
as gwbulk /usr/bin/python3 "$o/hold.py" "$first" "$o/ready" "$o/go" >"$o/hold.out" &
hold=$!
for i in $(seq 1 100); do [ -e "$o/ready" ] && break; sleep 0.05; done
as gwbulk find "$m/patients" -type f -exec cat {} + >/dev/null 2>&1
touch "$o/go"
wait "$hold"
is "a file held open before the lockout stops serving (EACCES)" "$(cat "$o/hold.out")" "refused 13"
unlock

# ...and stays stopped when another user reads the same file afterwards:
# the page cache is one per file, so while a locked-out user holds it
# open, other users' reads must not fill it again (held.c): not those of
# a descriptor opened before the lockout, nor those opened after it, nor
# a private mapping.  The holder also mapped the file before the lockout.
gw_mfa_issue gwnurse
cat >"$o/held.py" <<'PY'
import mmap, os, signal, sys, time
path, ready, go = sys.argv[1:4]
fd = os.open(path, os.O_RDONLY)
os.read(fd, 100)
m = mmap.mmap(fd, 0, prot=mmap.PROT_READ)
m[0]                             # mapped, and the whole file cached
open(ready, "w").close()
while not os.path.exists(go):
    time.sleep(0.05)
res = []
try:
    os.pread(fd, 100, 8192)
    res.append("read served")
except OSError as e:
    res.append("read refused %d" % e.errno)
try:
    os.fstat(fd)
    res.append("fstat served")
except OSError as e:
    res.append("fstat refused %d" % e.errno)
pid = os.fork()
if pid == 0:
    m[12288]
    os._exit(0)
_, st = os.waitpid(pid, 0)
res.append("mapping " + ("SIGBUS" if os.WIFSIGNALED(st) and os.WTERMSIG(st) == signal.SIGBUS else "served"))
print(", ".join(res))
PY
cat >"$o/privmap.py" <<'PY'
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
flags = mmap.MAP_SHARED if sys.argv[2:] == ["shared"] else mmap.MAP_PRIVATE
try:
    m = mmap.mmap(fd, 0, flags=flags, prot=mmap.PROT_READ)
except OSError as e:
    sys.exit("mmap: errno %d" % e.errno)
sys.stdout.buffer.write(m[:])
PY
cat >"$o/early.py" <<'PY'
import os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
open(sys.argv[2], "w").close()
while not os.path.exists(sys.argv[3]):
    time.sleep(0.05)
with open(sys.argv[4], "wb") as out:
    while True:
        b = os.read(fd, 4096)
        if not b:
            break
        out.write(b)
PY
rm -f "$o/ready" "$o/go" "$o/nready" "$o/ngo"
as gwbulk /usr/bin/python3 "$o/held.py" "$first" "$o/ready" "$o/go" >"$o/held.out" 2>&1 &
hold=$!
as gwnurse /usr/bin/python3 "$o/early.py" "$first" "$o/nready" "$o/ngo" "$o/nurse0" &
early=$!
for i in $(seq 1 100); do [ -e "$o/ready" ] && [ -e "$o/nready" ] && break; sleep 0.05; done
as gwbulk find "$m/patients" -type f -exec cat {} + >/dev/null 2>&1
check "the holder is locked out" locked
touch "$o/ngo"
wait "$early"
as gwnurse cat "$first" >"$o/nurse1" 2>/dev/null
as gwnurse cat "$first" >"$o/nurse2" 2>/dev/null
as gwnurse /usr/bin/python3 "$o/privmap.py" "$first" >"$o/nurse3" 2>/dev/null
check "another user still reads the file the locked-out user holds" cmp -s "$o/nurse1" "$s/patients/${first#"$m/patients/"}"
check "...through a descriptor opened before the lockout" cmp -s "$o/nurse0" "$o/nurse1"
check "...again" cmp -s "$o/nurse2" "$o/nurse1"
check "...and through a private mapping" cmp -s "$o/nurse3" "$o/nurse1"
is "...but not through a shared one (direct I/O: ENODEV)" \
    "$(as gwnurse /usr/bin/python3 "$o/privmap.py" "$first" shared 2>&1 >/dev/null)" "mmap: errno 19"
sleep 0.3
touch "$o/go"
wait "$hold"
is "after others read it, the holder's descriptor and mapping still get nothing" \
    "$(cat "$o/held.out")" "read refused 13, fstat refused 13, mapping SIGBUS"
unlock

# A slow drip stays under the short window and is caught by the long one.
before=$(grep -c 'files 3/2s' "$tmp/audit/audit.jsonl")
n=0
for f in $(cd "$s/patients" && find . -path ./P999001 -prune -o -type f -name 'IMG_*' -print | sort | head -14); do
	as gwbulk cat "$m/patients/$f" >"$o/drip.tmp" 2>/dev/null && cmp -s "$o/drip.tmp" "$s/patients/$f" && n=$((n + 1))
	sleep 0.8
done
after=$(grep -c 'files 3/2s' "$tmp/audit/audit.jsonl")
is "drip: never over the short window" "$after" "$before"
check "drip: delivered $n files, at most the long window's allowance ($LONG)" test "$n" -le "$LONG"
check "drip: ...and the allowance was served" test "$n" -ge "$LONG"
check "drip: locked out by the long window" locked
like "the lockout names the threshold that fired" "$("$PG_CLI" lockouts 2>&1)" "gwbulk .*lockout files 12/600s"
check "limit refusals are audited with the limit" test "$(grep -c '"event":"gateway.limit".*limit files 6/600s' "$tmp/audit/audit.jsonl")" -ge 1

# Lockouts survive a restart; an unlock reaches the running gateway.
gw_stop
gw_start
out=$(as gwbulk cat "$first" 2>&1); rc=$?
check "after a restart the locked user is still refused" test "$rc" -ne 0
"$PG_CLI" unlock gwbulk >/dev/null 2>&1
gw_mfa_issue gwbulk
is "after photoguard unlock (and a new MFA login) the user reads again" "$(as gwbulk head -1 "$first")" "PHOTO patients/P000001/2026-01-10-preop/IMG_0001.jpg"

gw_stop
out=$("$PG_CLI" audit verify 2>&1); rc=$?
is "the audit log verifies afterwards" "$rc" 0
check "...and holds the lockouts" test "$(audit_count lockout.lock deny gwbulk)" -ge 8
# The breach question: which patients did this account get, how much?
"$PG_CLI" audit report --user gwbulk --json >"$o/report.json" 2>/dev/null
is "audit report: files and bytes of gwbulk are exactly the allowed opens and the bytes delivered" \
    "$(python3 - "$o/report.json" "$tmp/audit/audit.jsonl" <<'PY'
import json, sys
rep = json.load(open(sys.argv[1]))
files = bytes_ = 0
for l in open(sys.argv[2]):
    r = json.loads(l)
    if r.get("actor") != "gwbulk":
        continue
    if r["event"] == "gateway.open" and r["decision"] == "allow":
        files += 1
    if r["event"] == "gateway.release":
        bytes_ += r.get("bytes", 0)
t = rep["totals"]
print(rep["verified"], t["files"] == files, t["bytes"] == bytes_, t["patients"] <= 6)
PY
)" "True True True True"
# The same as the page a clinic hands on: the real lockout on it.
"$PG_CLI" audit report --user gwbulk --html --out "$o/report.html" 2>/dev/null
is "audit report --html on the gateway's log: exit 0" $? 0
check "...verified, with the gateway's lockouts in the table and on the timeline" \
    python3 - "$o/report.html" "$o/report.json" <<'PY'
import json, re, sys
page = open(sys.argv[1]).read()
rep = json.load(open(sys.argv[2]))
rows = len(re.findall(r"<tr><td>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d</td><td>gwbulk</td>", page))
sys.exit(not ("Audit log verified" in page and rows >= 1 and "LOCKOUT</text>" in page
              and all(r["patient"] in page for r in rep["rows"])))
PY
[ -n "${PAM:-}" ] && pam_no_sanitizer_reports "$T/all.out"
gw_done
