#!/bin/sh
# run_cases.sh POLICY_CASE CASES_DIR - runs every NNN-name.policy case with
# its .in requests and compares the output with NNN-name.out.ok; one TAP
# point per case.  PG_REGEN=1 writes the .out.ok files instead (read them
# before committing: they must be right, not merely what the code says).
prog=$1
dir=$2
n=0
failed=0
total=$(ls "$dir"/*.policy | wc -l)
echo "1..$total"
for pol in "$dir"/*.policy; do
	base=${pol%.policy}
	name=$(basename "$base")
	n=$((n + 1))
	in=$base.in
	[ -f "$in" ] || in=/dev/null
	got=$("$prog" "$pol" "$in" 2>&1)
	if [ "${PG_REGEN:-}" = 1 ]; then
		printf '%s\n' "$got" > "$base.out.ok"
	fi
	want=$(cat "$base.out.ok" 2>/dev/null)
	if [ "$got" = "$want" ]; then
		echo "ok $n - $name"
	else
		echo "not ok $n - $name"
		printf '%s\n' "$got" > "${TMPDIR:-/tmp}/policy-case-$name.out"
		diff -u "$base.out.ok" "${TMPDIR:-/tmp}/policy-case-$name.out" | sed 's/^/# /'
		failed=$((failed + 1))
	fi
done
[ "$failed" -eq 0 ]
