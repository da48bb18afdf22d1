#!/bin/bash
# test_demo.sh - the README's demo (deploy/demo/run.sh) against this build.
# Each verdict the demo prints becomes a TAP point, and each step the story
# must tell has to be there and pass: a step that went missing fails too.
# Then, from outside the demo: it exited 0, left the host as it found it
# (/etc/pam.d, /etc/ssh, no account, mount or process of its own), and the
# audit log it kept verifies and names exactly the patients whose photos
# are in the copy the surgeon's account made.
. "$PG_SOURCE_ROOT/tests/lib/tap.sh"

if [ "$(id -u)" != 0 ] || [ ! -c /dev/fuse ]; then
	skip "the demo" "needs root and /dev/fuse (it mounts the gateway, adds accounts, runs sshd)"
	done_testing
	exit 0
fi
CLI=$PG_BUILD_ROOT/cli/photoguard
# What the demo must not change (other tests may add accounts and mounts
# of their own meanwhile: those are checked by name below).
fingerprint() {
	find /etc/pam.d /etc/ssh -type f -print0 | sort -z | xargs -0 sha256sum
}
T=$(mktemp -d /tmp/pg-demo-test.XXXXXX)
work=
trap 'rm -rf "$T" ${work:+"$work"}' EXIT
fingerprint >"$T/before" 2>&1

"$PG_SOURCE_ROOT/deploy/demo/run.sh" --no-deps --keep \
	--build-dir "$PG_BUILD_ROOT" >"$T/out" 2>&1
rc=$?
out=$(sed 's/\x1b\[[0-9;]*m//g' "$T/out")
work=$(printf '%s\n' "$out" | sed -n 's/^demo files kept in //p')
is "the demo exits 0" "$rc" 0
if [ "$rc" != 0 ] || [ -n "${PG_DEMO_VERBOSE:-}" ]; then
	printf '%s\n' "$out" | sed 's/^/# /' | tail -150
fi

# Every verdict the demo printed.
while IFS= read -r line; do
	case $line in
	*'[ok] '*) ok "demo: ${line#*\[ok\] }" ;;
	*'[FAILED] '*) not_ok "demo: ${line#*\[FAILED\] }" ;;
	esac
done <<<"$out"

# The story's steps: each verdict must be there, and passed.
steps=(
	"the directory holds at least 10 staff and 1,000 patients"
	"dlopez logs in with password and code"
	"she sees exactly the .* patients of her care teams"
	"her patient's post-op photo opens: a real JPEG"
	"the copy she made is byte for byte the photo"
	"another patient's folder does not exist for her"
	"nor does that patient's photo"
	"refused: front desk has no login on imaging servers"
	"the store shows her no file at all"
	"a wrong code: refused, no command ran"
	"replayed: refused, no command ran"
	"audited as a code already used"
	"password without the code: refused, no command ran"
	"no MFA ticket was issued for her"
	"the copy stopped at the allowance"
	"the account is locked out"
	"and in the directory, for every other server"
	"refused: the account is locked, no command ran"
	"the audit log verifies"
	"the report names exactly the patients whose photos left"
	"dlopez's report names exactly her one patient"
	"the lockout is lifted"
	"in the directory too"
	"the unlock is audited"
	"asmith logs in again with password and code"
)
for s in "${steps[@]}"; do
	like "story step passed: $s" "$out" "\[ok\] .*$s"
done
like "the demo's summary: no failed check" "$out" "Done: [0-9]+ checks as expected, 0 not"

# --- from outside ------------------------------------------------------------
check "the demo kept its files (--keep)" test -d "$work/audit"
fingerprint >"$T/after" 2>&1
if cmp -s "$T/before" "$T/after"; then
	ok "/etc/pam.d and /etc/ssh are as before"
else
	not_ok "/etc/pam.d and /etc/ssh are as before"
	diff "$T/before" "$T/after" | sed 's/^/# /'
fi
check "no process of the demo is left (sshd, slapd, gateway)" \
	test -z "$(pgrep -f "$work" 2>/dev/null)"
check "no demo account is left (passwd, shadow, by name or uid)" \
	test -z "$(getent passwd asmith dlopez ioconnor pgdemo 2001 2011 2031 2099; getent shadow asmith dlopez ioconnor pgdemo; getent group pgdemo)"
check "no mount of the demo is left" test -z "$(grep -F " $work/" /proc/mounts)"

san=$(cat "$work/gateway.log" "$work/sshd.log" 2>/dev/null |
	grep -aE 'runtime error:|AddressSanitizer|LeakSanitizer' | head -3)
is "no sanitizer report from the gateway or the module in sshd" "$san" ""

export PHOTOGUARD_CONFIG=$work/photoguard.conf
check "the kept audit log verifies" \
	"$CLI" audit verify --key "$work/secret/audit.key.pub" "$work/audit/audit.jsonl"
loot=$work/home/asmith/loot
got=$(find "$loot" -type f | wc -l)
allow=$(awk '$1 == "limit" && $2 == "surgeon" && $3 == "files" {
	for (i = 4; i <= NF; i++) if ($i ~ /\/minute$/) { sub(/\/minute/, "", $i); print $i } }' \
	"$work/clinic.policy")
check "the copy holds $got files: between 1 and the per-minute allowance ($allow)" \
	test "$got" -ge 1 -a "$got" -le "${allow:-0}"
opened=$(grep -a '"actor":"asmith","event":"gateway.open"' "$work/audit/audit.jsonl" |
	grep -c '"decision":"allow"')
is "the log's allowed opens by asmith are exactly the files in the copy" "$opened" "$got"
want=$(cd "$loot" && find . -type f | cut -d/ -f2 | sort -u | tr '\n' ' ')
have=$("$CLI" audit report --user asmith --json --log "$work/audit/audit.jsonl" \
	--key "$work/secret/audit.key.pub" |
	python3 -c 'import json,sys
d = json.load(sys.stdin)
rows = d["rows"] if isinstance(d, dict) and "rows" in d else d
print(" ".join(sorted({r["patient"] for r in rows})) + " ")')
is "report --json: exactly the patients in the copy" "$have" "$want"
like "the lockout was the gateway's, by a lockout rule" \
	"$(grep -a '"event":"lockout.lock"' "$work/audit/audit.jsonl" | grep -a '"object":"asmith"\|"actor":"asmith"' | head -1)" \
	'"rule":"[^"]*clinic.policy:[0-9]+ lockout '
done_testing
