#!/bin/bash
# test_sanitizers.sh - the gate the sanitizer run depends on: a sanitizer
# build stops a process at its first report (UBSan would otherwise print
# and carry on, and the test around it pass), and the counter of the test
# run fails a test whose output holds a report even if the test passed.
. "$PG_SOURCE_ROOT/tests/lib/tap.sh"
probe=$PG_BUILD_ROOT/tests/lib/ub_probe
count=$PG_SOURCE_ROOT/tests/lib/count-tap.py
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

if [ "${PG_SANITIZE:-none}" != none ]; then
	# Without UBSAN_OPTIONS: the build itself must halt, since a process
	# started by sshd or a service manager sees no test environment.
	out=$(env -u UBSAN_OPTIONS "$probe" 2>&1); rc=$?
	check "undefined behaviour stops the process (exit $rc)" test "$rc" -ne 0
	like "...with UBSan's report" "$out" "runtime error: signed integer overflow"
	check "...at the first report, not after it" bash -c '! grep -q "carried on" <<<"$1"' _ "$out"
else
	out=$("$probe" 2>&1); rc=$?
	is "without sanitizers the probe runs to the end (the overflow wraps)" "$rc" 0
fi

# testlog.json as meson writes it: one JSON object per test.
log() { # dir result stdout stderr
	mkdir -p "$T/$1/meson-logs"
	python3 - "$T/$1/meson-logs/testlog.json" "$2" "$3" "$4" <<'PY'
import json, sys
with open(sys.argv[1], "a") as f:
    f.write(json.dumps({"name": "t", "result": sys.argv[2],
                        "stdout": sys.argv[3], "stderr": sys.argv[4]}) + "\n")
PY
}
log clean OK $'ok 1 - a\nok 2 - b\n1..2\n' ""
out=$(python3 "$count" "$T/clean" 2>&1); rc=$?
is "a clean run counts: exit 0" "$rc" 0
like "...2 passed" "$out" "^2 passed, 0 failed$"
log ub OK $'ok 1 - tool refused\n1..1\n' $'../core/x.c:198:2: runtime error: null pointer passed as argument 1\n'
out=$(python3 "$count" "$T/ub" 2>&1); rc=$?
is "a passing test whose stderr holds a UBSan report: the run fails" "$rc" 1
like "...named with the report" "$out" "FAILED: ub: t: sanitizer report: ../core/x.c:198:2: runtime error"
log asan OK $'ok 1 - x\n#   ==123==ERROR: AddressSanitizer: heap-use-after-free\n1..1\n' ""
out=$(python3 "$count" "$T/asan" 2>&1); rc=$?
is "an ASan report in a test's TAP output: the run fails" "$rc" 1
log lsan OK $'ok 1 - x\n1..1\n' $'SUMMARY: LeakSanitizer: 24 byte(s) leaked in 1 allocation(s).\n'
out=$(python3 "$count" "$T/lsan" 2>&1); rc=$?
is "a leak summary: the run fails" "$rc" 1
like "...counted once" "$out" "^1 passed, 1 failed$"
done_testing
