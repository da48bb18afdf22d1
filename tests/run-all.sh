#!/bin/sh
# run-all.sh - install what the tests need, build photoguard with warnings as
# errors, run every test, then run the whole suite again under
# AddressSanitizer and UndefinedBehaviorSanitizer.  Ends with one line
# "N passed, N failed[, N skipped]" and exits non-zero on any failure.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)

echo "== installing test dependencies"
./deploy/deps.sh --test

run_suite() {	# name, meson options...
	name=$1
	shift
	echo "== building ($name)"
	if [ ! -d "$top/build-$name" ]; then
		meson setup "$top/build-$name" --werror "$@" >/dev/null
	fi
	ninja -C "$top/build-$name"
	echo "== testing ($name)"
	meson test -C "$top/build-$name" --print-errorlogs \
	    --num-processes 2 --timeout-multiplier 3 || true
}

run_suite plain
run_suite asan -Db_sanitize=address,undefined -Db_lundef=false

python3 tests/lib/count-tap.py "$top/build-plain" "$top/build-asan"
