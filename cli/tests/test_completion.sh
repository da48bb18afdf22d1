#!/bin/bash
# test_completion.sh - the bash completion (deploy/bash-completion/photoguard)
# sourced into bash with bash-completion's own helpers: verbs, commands,
# each command's options and their values complete; and it knows every
# verb, command and option the tool's own --help lists, so a verb or an
# option added without its completion fails here.
. "$PG_SOURCE_ROOT/tests/lib/tap.sh"
pg="$PG_BUILD_ROOT/cli/photoguard"
script="$PG_SOURCE_ROOT/deploy/bash-completion/photoguard"
export PHOTOGUARD_CONFIG=/nonexistent/photoguard.conf
export LC_ALL=C

helpers=$(pkg-config --variable=prefix bash-completion 2>/dev/null)
helpers=${helpers:-/usr}/share/bash-completion/bash_completion
if [ ! -f "$helpers" ]; then
	skip "bash completion" "bash-completion is not installed (deploy/deps.sh --test installs it)"
	done_testing
	exit 0
fi

# comp WORD...: what completing the last WORD of `photoguard WORD...`
# offers, one per line, sorted.
comp() {
	bash --norc --noprofile -c '
		. "$1" || exit 1
		. "$2" || exit 1
		shift 2
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		_photoguard photoguard "${COMP_WORDS[COMP_CWORD]}" \
		    "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}"' \
		comp "$helpers" "$script" photoguard "$@" | sort
}
# words TEXT: TEXT's words on one line
words() { printf '%s\n' "$1" | tr '\n' ' ' | sed 's/ *$//'; }

check "the completion script loads, and binds photoguard" bash --norc -c \
	". '$helpers' && . '$script' && complete -p photoguard | grep -q _photoguard"

is "photoguard au<TAB>: audit" "$(words "$(comp au)")" "audit"
is "photoguard audit <TAB>: its commands" "$(words "$(comp audit '')")" \
	"--help export keygen query rekey repair report rotate verify"
is "photoguard audit verify --<TAB>: verify's options" \
	"$(words "$(comp audit verify --)")" \
	"--collector --from-seq --help --json --key --keys --log --stale"
is "photoguard audit query --s<TAB>: --since" "$(words "$(comp audit query --s)")" "--since"
is "photoguard audit query --since <TAB>: the shorthands" \
	"$(words "$(comp audit query --since '')")" "-1d -1h -1w now today yesterday"
is "photoguard audit export --format <TAB>: atna" "$(words "$(comp audit export --format '')")" "atna"
is "photoguard enroll --qr <TAB>" "$(words "$(comp enroll alice --qr '')")" "color dark light none"
is "photoguard policy explain --action <TAB>" "$(words "$(comp policy explain --action '')")" "list read write"
is "photoguard --config FILE tot<TAB>: past the global option" \
	"$(words "$(comp --config /etc/x.conf tot)")" "totp"
is "photoguard --<TAB>: the global options" "$(words "$(comp --)")" "--config --help --version"
like "photoguard unlock <TAB>: users from passwd" "$(comp unlock ro)" "^root$"
like "photoguard audit query --user <TAB>: users" "$(comp audit query --user ro)" "^root$"
is "photoguard lockouts --dir <TAB>: directories only" \
	"$(words "$(cd "$PG_SOURCE_ROOT" && comp lockouts --dir deploy/bash-)")" "deploy/bash-completion"
is "photoguard metrics --textfile <TAB>: files" \
	"$(words "$(cd "$PG_SOURCE_ROOT" && comp metrics --textfile deploy/bash-completion/ph)")" \
	"deploy/bash-completion/photoguard"
is "photoguard status --<TAB>" "$(words "$(comp status --)")" "--help --json"
is "a verb with no options: only --help" "$(words "$(comp audit keygen --)")" "--help"
is "an unknown verb offers nothing" "$(comp nosuchverb --)" "--help"

# Everything the tool's --help lists is known to the completion.
verbs=$("$pg" --help | sed -n '/^Verbs/,$p' | awk 'NR>1 {print $1}')
[ -n "$verbs" ] || not_ok "photoguard --help lists verbs"
is "every verb of photoguard --help completes" \
	"$(words "$(comp '' | grep -v '^-')")" "$(words "$(printf '%s\n' $verbs | sort)")"
# help_opts TEXT: the long options a usage text names
help_opts() { printf '%s\n' "$1" | grep -oE -- '--[a-z][a-z-]+' | sort -u; }
missing=""
for v in $verbs; do
	h=$("$pg" "$v" --help 2>&1)
	# The commands the usage text names: "photoguard VERB word", or
	# audit's list under "COMMAND".
	if [ "$v" = audit ]; then
		cmds=$(printf '%s\n' "$h" | awk 'NR>1 {print $1}' | sort)
	else
		cmds=$(printf '%s\n' "$h" | grep -oE "photoguard $v [a-z]+" |
			awk '{print $3}' | sort -u)
	fi
	if [ -n "$cmds" ]; then
		is "every command of $v --help completes" \
			"$(words "$(comp "$v" '' | grep -v '^-')")" "$(words "$cmds")"
	fi
	if [ -z "$cmds" ]; then
		offered=$(comp "$v" --)
		for o in $(help_opts "$h"); do
			printf '%s\n' "$offered" | grep -qx -- "$o" || missing="$missing $v:$o"
		done
		continue
	fi
	for c in $cmds; do
		offered=$(comp "$v" "$c" --)
		if [ "$v" = audit ]; then
			ch=$("$pg" audit "$c" --help 2>&1)
		else
			# config, policy, totp: one usage text for all commands,
			# a line (and its continuations) per command
			ch=$(printf '%s\n' "$h" | awk -v c="photoguard $v $c" '
				index($0, "photoguard ") { on = index($0, c) > 0 }
				on && /^ *(Usage:|photoguard|\[|--)/ { print }
				/^$/ { on = 0 }')
		fi
		for o in $(help_opts "$ch"); do
			printf '%s\n' "$offered" | grep -qx -- "$o" || missing="$missing $v/$c:$o"
		done
	done
done
is "every option a --help lists completes for its verb" "${missing:-none}" none

done_testing
