#!/bin/sh
# run-all.sh - install what the tests need, build photoguard with warnings as
# errors, run every test, then run the whole suite again under
# AddressSanitizer and UndefinedBehaviorSanitizer (valgrind runs only in the
# plain build: the two do not mix).  Ends with one line
# "N passed, N failed[, N skipped]" and exits non-zero on any failure.
set -u
cd "$(dirname "$0")/.."
top=$(pwd)
broken=""

echo "== installing test dependencies"
if ! ./deploy/deps.sh --test; then
	echo "FAILED: installing the test dependencies"
	echo "0 passed, 1 failed"
	exit 1
fi

run_suite() {	# name, meson test options, -- meson setup options...
	name=$1 testopts=$2
	shift 2
	echo "== building ($name)"
	if [ ! -d "$top/build-$name" ] &&
	    ! meson setup "$top/build-$name" --werror "$@" >/dev/null; then
		broken="$broken $name"
		return
	fi
	if ! ninja -C "$top/build-$name"; then
		broken="$broken $name"
		return
	fi
	echo "== testing ($name)"
	# shellcheck disable=SC2086
	meson test -C "$top/build-$name" --print-errorlogs \
	    --num-processes 2 --timeout-multiplier 3 $testopts
}

run_suite plain ""
run_suite asan "--no-suite valgrind" -Db_sanitize=address,undefined \
    -Db_lundef=false

dirs="" nbroken=0
for b in plain asan; do
	case " $broken " in
	*" $b "*) nbroken=$((nbroken + 1)) ;;
	*) dirs="$dirs $top/build-$b" ;;
	esac
done
# shellcheck disable=SC2086
exec python3 tests/lib/count-tap.py --broken "$nbroken" $dirs
