#!/bin/bash
# test_man.sh - the manual pages say what the tool does: every verb, every
# subcommand and every option of `photoguard` (from its own --help) appears
# in photoguard(8), every configuration key (from `config keys --json`) in
# photoguard.conf(5); the generated pages are up to date with their
# sources; every page renders without a groff or man warning; the README
# links them.
. "$PG_SOURCE_ROOT/tests/lib/tap.sh"
pg="$PG_BUILD_ROOT/cli/photoguard"
docs="$PG_SOURCE_ROOT/docs"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export PHOTOGUARD_CONFIG=$tmp/none.conf

if ! command -v man >/dev/null || ! command -v groff >/dev/null; then
	skip "manual pages" "man or groff is not installed (deploy/deps.sh --test installs man-db and groff-base)"
	done_testing
	exit 0
fi

render() { MANWIDTH=200 man -l -E UTF-8 "$1" 2>/dev/null | col -b; }
pages="photoguard.8 photoguard.conf.5 photoguard-policy.5"

for p in $pages; do
	if [ ! -f "$docs/$p" ]; then
		not_ok "$p exists"
		continue
	fi
	w=$(MANWIDTH=80 man -l --warnings -E UTF-8 "$docs/$p" 2>&1 >/dev/null)
	is "$p renders with man --warnings and no warning" "$w" ""
	w=$(groff -ww -t -man -Tutf8 "$docs/$p" 2>&1 >/dev/null)
	is "$p renders with groff -ww and no warning" "$w" ""
	like "README links $p" "$(cat "$PG_SOURCE_ROOT/README.md")" "\(docs/$p\)"
done

# --- photoguard(8): verbs, subcommands, options
man8=$(render "$docs/photoguard.8")
verbs=$("$pg" --help | sed -n '/^Verbs/,$p' | awk 'NR>1 {print $1}')
like "found the verbs in --help" "$(echo $verbs)" "config .*audit"
# the gateway's verbs are documented even before this build has them
for v in $verbs status breakglass; do
	like "photoguard(8) documents the verb $v" "$man8" "photoguard $v( |$)"
	help=$("$pg" "$v" --help 2>&1)
	subs=$(printf '%s\n' "$help" | grep -oE "photoguard $v [a-z]+" | awk '{print $3}')
	subs="$subs $(printf '%s\n' "$help" | sed -n '/COMMAND/,$p' | awk 'NR>1 && /^  [a-z]/ {print $1}')"
	for s in $(echo $subs | tr ' ' '\n' | sort -u); do
		like "photoguard(8) documents $v $s" "$man8" "photoguard $v $s( |$)"
		help="$help
$("$pg" "$v" "$s" --help 2>&1)"
	done
	for o in $(printf '%s\n' "$help" | grep -oE -- '--[a-z][a-z-]*' | sort -u); do
		like "photoguard(8) documents $v $o" "$man8" -- "$o"
	done
done
for o in $("$pg" --help | grep -oE -- '--[a-z][a-z-]*' | sort -u); do
	like "photoguard(8) documents the global option $o" "$man8" -- "$o"
done
like "photoguard(8) says which records the audit report counts" "$man8" "gateway\.open.*decision allow"
like "photoguard(8) says where the report's bytes come from" "$man8" "bytes fields of gateway\.release"

# --- photoguard.conf(5): every key, in its section
man5=$(render "$docs/photoguard.conf.5")
"$pg" config keys --json > "$tmp/keys.json"
n=0
while IFS=$'\t' read -r sec key; do
	n=$((n + 1))
	sect=$(printf '%s\n' "$man5" | awk -v s="[$sec]" '$1 == s {on=1; next} /^   \[/ {on=0} on')
	like "photoguard.conf(5) documents [$sec] $key" "$sect" "^ +$key = "
done < <(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    d = json.loads(l); print(d["section"] + "\t" + d["key"])' "$tmp/keys.json")
like "config keys --json listed the keys" "$n" "^[1-9][0-9]+$"
python3 "$docs/gen-conf-man.py" "$pg" > "$tmp/conf.5"
is "photoguard.conf.5 is what gen-conf-man.py makes of config keys" "$(diff "$tmp/conf.5" "$docs/photoguard.conf.5")" ""

# --- photoguard-policy(5): made from policy/LANGUAGE.md
python3 "$docs/md2man.py" "$PG_SOURCE_ROOT/policy/LANGUAGE.md" > "$tmp/policy.5"
is "photoguard-policy.5 is what md2man.py makes of LANGUAGE.md" "$(diff "$tmp/policy.5" "$docs/photoguard-policy.5")" ""
manp=$(render "$docs/photoguard-policy.5")
for st in layout role allow deny limit lockout login breakglass decoy; do
	like "photoguard-policy(5) documents the statement $st" "$manp" "^ +$st [A-Z\"]"
done

done_testing
