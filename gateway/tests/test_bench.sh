#!/bin/bash
# test_bench.sh - bench/gateway_bench.sh itself: a small run mounts the
# real gateway (and bindfs when installed) and prints a figure and a ratio
# to native reads for every workload, on the shared mount and through a
# per-user view, the serving worker's RSS, with 100 views live too, and
# the targets; a gateway that refuses its configuration, a view that
# cannot be made, a peer that does not mount or an unknown peer end the
# bench with a non-zero exit and the reason.
. "$PG_SOURCE_ROOT/tests/lib/tap.sh"

BENCH=$PG_SOURCE_ROOT/bench/gateway_bench.sh
if [ "$(id -u)" != 0 ] || [ ! -c /dev/fuse ] || ! command -v setpriv >/dev/null; then
	skip "gateway bench" "needs root, /dev/fuse and setpriv (it mounts and creates users)"
	done_testing
	exit 0
fi
# The bench mounts and drops the page cache: one gateway test at a time.
exec 9>/run/lock/photoguard-gateway-tests.lock
flock -w 1200 9 || { not_ok "gateway test lock"; done_testing; exit 1; }
tmp=$(mktemp -d /tmp/pg-gwbench-test.XXXXXX)
chmod 0755 "$tmp" # the gateway serves as its service user, below it
trap 'rm -rf "$tmp"' EXIT
peers=none
if command -v bindfs >/dev/null; then
	peers=bindfs
else
	diag "bindfs is not installed: the ratio to bindfs is NOT checked here"
	diag "(the bench installs its peers itself; this test never does)"
fi

bench() { # env assignments...: runs the bench, exit in $rc
	env BENCH_SMALL=1 BENCH_DIR="$tmp" BENCH_GW_LOG="$tmp/gw.log" "$@" \
	    "$BENCH" "$PG_BUILD_ROOT" \
	    >"$tmp/out" 2>"$tmp/err" 9>&-
	rc=$?
}

bench BENCH_PEERS=$peers
is "a small run exits 0" "$rc" 0
[ "$rc" = 0 ] || sed 's/^/# /' "$tmp/err"
W='^(16 MiB file|200 photos (seq|par)|stat walk|find -exec cat \{\} \+|one cat per photo) (cold|warm) '
is "...and prints the nine workloads" "$(grep -cE "$W" "$tmp/out")" 9
# native seconds; seconds and ratio for photoguard, photoguard-view and
# each peer; with bindfs, photoguard's and the view's ratios to it.
S='[0-9]+\.[0-9]{4}s' R='[0-9]+\.[0-9]{2}x'
row=" +$S +$S +$R +$S +$R"
[ "$peers" = bindfs ] && row="$row +$S +$R +$R +$R"
is "...each with seconds and a ratio to native for every tool" \
    "$(grep -E "$W" "$tmp/out" | grep -cvE "^[0-9A-Za-z {}+-]+ (cold|warm)$row$")" 0
check "...and nothing it did not measure (no '-', 'n/a', 'error')" bash -c "! grep -qE '(^| )(-|n/a|error)( |$)' '$tmp/out'"
is "...headed native, photoguard, photoguard-view$([ "$peers" = bindfs ] && echo ", bindfs, photoguard/bindfs, view/bindfs")" \
    "$(head -1 "$tmp/out" | tr -s ' ')" \
    "workload native photoguard photoguard-view$([ "$peers" = bindfs ] && echo " bindfs photoguard/bindfs view/bindfs")"
for t in photoguard photoguard-view; do
	like "...$t's p99 open latency" "$(cat "$tmp/out")" "^$t p99 open latency \(warm\): [0-9]+\.[0-9]+ ms"
	like "...$t's stat of a hidden patient beside one of a missing one" "$(cat "$tmp/out")" \
	    "^$t stat of a hidden patient / of a missing one \(median of 2000\): [0-9.]+ us / [0-9.]+ us = [0-9]+\.[0-9]{2}x"
done
like "...the serving worker's RSS" "$(cat "$tmp/out")" "photoguard worker RSS after serving 2000 files: [1-9][0-9]* KiB \(peak [1-9][0-9]* KiB\)"
like "...and with 100 views live that served the 2000 files" "$(cat "$tmp/out")" \
    "photoguard worker RSS with 100 live views, after serving 2000 files through them: [0-9]+\.[0-9] MiB \(peak [0-9]+\.[0-9] MiB; target 64 MiB\)"
T='[0-9]+\.[0-9]{2} (met|missed)'
is "...the six targets, for photoguard and photoguard-view" \
    "$(grep -cE "^(photos warm, in a loop|find -exec cat \{\} \+|one cat per photo|8 parallel, warm|stat walk|large file, warm) +[0-9.]+ +$T +$T$" "$tmp/out")" 6
like "...and the RSS target" "$(cat "$tmp/out")" "worker RSS, MiB +<=64 +[0-9]+\.[0-9] (met|missed)"
# A verdict follows the share printed beside it: met at or above the
# minimum, missed below (a share rounded up to the minimum is not met).
is "...each verdict agrees with its printed share" "$(grep -E "^(photos warm|find -exec|one cat|8 parallel|stat walk|large file).* (met|missed)$" "$tmp/out" |
    awk '{ m = $(NF - 4); for (i = NF - 3; i <= NF; i += 2) if (($i >= m) != ($(i + 1) == "met")) print "wrong: " $0 }')" ""
sed 's/^/# /' "$tmp/out"

bench BENCH_PEERS=none BENCH_BREAK=config
is "a gateway that refuses its configuration: exit 1" "$rc" 1
like "...saying so" "$(cat "$tmp/err")" "FAILED: photoguard-gateway did not start"
like "...with the gateway's reason" "$(cat "$tmp/err")" "care-team file .*unsafe file owner or mode"
is "...and no figures" "$(cat "$tmp/out")" ""
bench BENCH_PEERS=none BENCH_BREAK=view
is "a gateway no view can be handed to: exit 1" "$rc" 1
like "...saying so" "$(cat "$tmp/err")" "FAILED: photoguard-view: no view for pgbench"
like "...with the reason" "$(cat "$tmp/err")" "no gateway listens on"
is "...and no figures" "$(cat "$tmp/out")" ""
if [ "$peers" = bindfs ]; then
	bench BENCH_PEERS=bindfs BENCH_BREAK=peer
	is "a peer that does not mount: exit 1" "$rc" 1
	like "...saying so, with its error" "$(cat "$tmp/err")" "FAILED: bindfs did not mount"
	is "...and no figures" "$(cat "$tmp/out")" ""
fi
bench BENCH_PEERS=nosuchfs
is "an unknown peer: exit 2" "$rc" 2
like "...named" "$(cat "$tmp/err")" "unknown peer 'nosuchfs'"
check "nothing left mounted" bash -c "! grep -q ' $tmp/' /proc/mounts"
check "...in any namespace (every view ended with the bench)" \
    bash -c "! grep -qs ' $tmp/' /proc/[0-9]*/mounts"
check "...nor the bench's users" bash -c \
    'for u in pgbench pgbstore pgbv00 pgbv09; do ! getent passwd "$u" >/dev/null || exit 1; done'
check "the gateway's logs were kept" test -s "$tmp/gw.log"
if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$tmp/gw.log" 2>/dev/null; then
	not_ok "no sanitizer report from the gateway"
	grep -E -A5 'AddressSanitizer|LeakSanitizer|runtime error:' "$tmp/gw.log" | head -40 | sed 's/^/# /'
else
	ok "no sanitizer report from the gateway"
fi
done_testing
