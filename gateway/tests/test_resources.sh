#!/bin/bash
# test_resources.sh - bounded resources: a store of PG_GW_FILES files
# (default 200,000) is walked and every file opened and read through the
# gateway running under RLIMIT_NOFILE 20,000, without running out of file
# descriptors (none is kept per inode) and with bounded memory.
. "$PG_SOURCE_ROOT/gateway/tests/lib.sh"

N=${PG_GW_FILES:-200000}
RSS_MAX_KB=$((64 * 1024))
gw_setup_or_bail
# The archivist may read everything, without limits, for this test.
sed -i 's|^limit archivist files 100/10min|limit archivist none|; s|^lockout archivist files 200/10min||' "$tmp/etc/test.policy"
rm -rf "$tmp/store/patients/P999001"
python3 - "$tmp/store/patients" "$N" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
per_series = 100
for i in range(n):
    p = "B%06d" % (i // 1000)
    d = os.path.join(root, p, "s%02d" % ((i // per_series) % 10))
    if i % per_series == 0:
        os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "IMG_%06d.jpg" % i), "wb") as f:
        f.write(b"x" * 64)
PY
chown -R gwstore "$tmp/store"
chmod -R go-rwx "$tmp/store"
gw_mfa_issue gwwide
if ! GW_WRAP="prlimit --nofile=20000:20000 --" gw_start; then
	not_ok "gateway mounts under RLIMIT_NOFILE 20000"
	sed 's/^/# /' "$tmp/gateway.log"
	done_testing
	exit 1
fi
ok "gateway mounts under RLIMIT_NOFILE 20000"
gpid=$(pgrep -f "photoguard-gateway --config $tmp/etc/pg.conf" | head -1)
is "the gateway's hard limit is 20000" "$(awk '/Max open files/ {print $5}' "/proc/$gpid/limits")" 20000

t0=$(date +%s)
got=$(as gwwide find "$m/patients" -type f -name 'IMG_*' | wc -l)
is "a stat walk sees all $N files" "$got" "$((N + 36))"
cat >"$tmp/out/readall.py" <<'PY'
import os, sys
n = bad = 0
for root, dirs, names in os.walk(sys.argv[1]):
    for name in names:
        try:
            with open(os.path.join(root, name), "rb") as f:
                f.read()
            n += 1
        except OSError:
            bad += 1
print(n, bad)
PY
read -r n bad < <(as gwwide /usr/bin/python3 "$tmp/out/readall.py" "$m/patients")
is "every file opened and read ($n), none refused" "$bad" 0
if [ "$bad" != 0 ]; then
	# What the gateway said about the refusals, to tell a flake from a bug.
	grep -aiE 'alert|refus|error|fail|timed out' "$tmp/gateway.log" | head -5 |
		cut -c1-400 | sed 's/^/# gateway: /'
	grep -ac '"decision":"allow"' "$tmp/audit/audit.jsonl" 2>/dev/null |
		sed 's/^/# allowed opens audited: /'
	grep -av '"decision":"allow"' "$tmp/audit/audit.jsonl" 2>/dev/null |
		grep -av 'audit.checkpoint' | head -3 | cut -c1-400 | sed 's/^/# audit: /'
fi
check "...all of them" test "$n" -ge "$N"
fds=$(ls "/proc/$gpid/fd" | wc -l)
rss=$(awk '/VmHWM/ {print $2}' "/proc/$gpid/status")
check "file descriptors after serving $n files: $fds (< 100)" test "$fds" -lt 100
if ldd "$GW_BIN" | grep -q libasan; then
	skip "peak RSS after serving $n files: ${rss} KiB" "built with AddressSanitizer, whose shadow memory and quarantine make RSS meaningless"
else
	check "peak RSS after serving $n files: ${rss} KiB (<= $RSS_MAX_KB)" test "$rss" -le "$RSS_MAX_KB"
fi
diag "walk and read of $n files took $(( $(date +%s) - t0 )) s"
gw_done
