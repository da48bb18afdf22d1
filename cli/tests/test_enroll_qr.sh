#!/bin/bash
# test_enroll_qr.sh - what `photoguard enroll` shows a phone: the QR code,
# drawn on a real pseudo-terminal (script(1)) and rendered as a light and
# a dark terminal theme would paint it, is decoded by zbarimg into the very
# URI printed below it; the issuer the app shows is configurable and
# checked; and the secret is never written to a pipe or file unless asked.
. "$PG_SOURCE_ROOT/tests/lib/tap.sh"
pg="$PG_BUILD_ROOT/cli/photoguard"
render="$PG_SOURCE_ROOT/cli/tests/term_render.py"
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
for tool in zbarimg script oathtool; do
	if ! command -v "$tool" >/dev/null; then
		skip "enrollment QR codes" "$tool is not installed (deploy/deps.sh --test installs zbar-tools, util-linux, oathtool)"
		done_testing
		exit 0
	fi
done
export PHOTOGUARD_CONFIG=$d/none.conf # no file: no audit log, defaults
store=(--secret-dir "$d/totp" --host-key "$d/host.key")
(umask 077 && head -c 32 /dev/urandom >"$d/host.key" && mkdir "$d/totp")
"$pg" audit keygen "$d/audit.key" >/dev/null
is "audit key created" "$?" 0

# on_tty OUT TERM ARGS...: runs photoguard ARGS on a pseudo-terminal with
# TERM and stdin at end of file (no first code: the enrollment stays
# pending); what the terminal received goes to OUT.
on_tty() {
	local out=$1 term=$2 cmd="" a
	shift 2
	for a in "$pg" "$@"; do cmd+=" $(printf '%q' "$a")"; done
	TERM=$term COLORTERM='' script -qec "$cmd" /dev/null </dev/null >"$out" 2>&1
}

# uri_of OUT: the otpauth URI printed in OUT.
# Nothing printed gives a placeholder no scan can equal.
uri_of() {
	local u
	u=$(tr -d '\r' <"$1" | grep -o 'otpauth://[^[:space:]]*' | head -n 1)
	echo "${u:-(no URI printed)}"
}

# scanned OUT THEME: what zbarimg reads from OUT drawn in THEME.
scanned() {
	python3 "$render" "$2" "$1" "$1.$2.pgm" || return 1
	zbarimg --raw -q "$1.$2.pgm" 2>/dev/null | tr -d '\r' | head -n 1
}

# --- the secret goes to a terminal only --------------------------------------
out=$("$pg" enroll ann "${store[@]}" </dev/null 2>"$d/err"); rc=$?
is "enroll with stdout a pipe is refused" "$rc" 2
like "...saying why and what to pass" "$(cat "$d/err")" "standard output is not a terminal.*ann is not enrolled.*--secret-to-pipe"
unlike "...and no secret is printed" "$out" "secret="
"$pg" enroll ann "${store[@]}" </dev/null >"$d/file.out" 2>/dev/null
is "enroll with stdout a file is refused" "$?" 2
is "...and the file stays empty" "$(wc -c <"$d/file.out")" 0
"$pg" totp status ann "${store[@]}" >/dev/null 2>&1
is "...and ann is not enrolled" "$?" 1

# --secret-to-pipe: a provisioning script takes the URI and confirms.
rm -f "$d/in" && mkfifo "$d/in"
"$pg" enroll ann --secret-to-pipe --qr none "${store[@]}" <"$d/in" >"$d/pipe.out" 2>&1 &
pid=$!
exec 3>"$d/in"
for _ in $(seq 100); do grep -q 'secret=' "$d/pipe.out" 2>/dev/null && break; sleep 0.05; done
secret=$(grep -o 'secret=[A-Z2-7]*' "$d/pipe.out" | cut -d= -f2)
[ -n "$secret" ] && oathtool --totp -b "$secret" >&3
exec 3>&-
wait "$pid"
is "enroll --secret-to-pipe confirmed with the app's code exits 0" "$?" 0
like "...and ann is active" "$("$pg" totp status ann "${store[@]}")" "state: active"
unlike "...--qr none draws no QR code" "$(cat "$d/pipe.out")" "[▀▄█]"

# --- the QR code scans on light and dark terminals ---------------------------
for term in xterm-256color linux; do
	on_tty "$d/c.$term" "$term" enroll "c$term" "${store[@]}" || true
	uri=$(uri_of "$d/c.$term")
	like "enroll on a $term terminal prints the URI" "$uri" "^otpauth://totp/photoguard:c$term\?secret=[A-Z2-7]{32}&issuer=photoguard&"
	is "...its QR code scans on a light theme" "$(scanned "$d/c.$term" light)" "$uri"
	is "...and on a dark theme" "$(scanned "$d/c.$term" dark)" "$uri"
done
like "a 256-colour terminal gets the fixed black and white" "$(cat "$d/c.xterm-256color")" $'\e\\[38;5;16;48;5;231m'
like "a basic terminal gets black on white" "$(cat "$d/c.linux")" $'\e\\[30;47m'

# Without colours a terminal draws in its own: each mode fits one theme,
# and the test's rendering tells them apart (the wrong one does not scan).
for mode in light dark; do
	other=dark && [ "$mode" = dark ] && other=light
	on_tty "$d/m.$mode" xterm enroll "m$mode" --qr "$mode" "${store[@]}" || true
	uri=$(uri_of "$d/m.$mode")
	unlike "--qr $mode sets no colour" "$(cat "$d/m.$mode")" $'\e\\['
	is "--qr $mode scans on a $mode theme" "$(scanned "$d/m.$mode" "$mode")" "$uri"
	is "...but not on a $other one" "$(scanned "$d/m.$mode" "$other")" ""
done

# --- issuer and label --------------------------------------------------------
on_tty "$d/iss" xterm-256color enroll dora --issuer "Harbour Clinic" "${store[@]}" || true
uri=$(uri_of "$d/iss")
like "--issuer names the label and the issuer, percent-encoded" "$uri" "^otpauth://totp/Harbour%20Clinic:dora\?secret=[A-Z2-7]+&issuer=Harbour%20Clinic&"
is "...and the QR code carries the same" "$(scanned "$d/iss" light)" "$uri"

printf '[totp]\nsecret_dir = %s\nhost_key = %s\nissuer = Clinique Élysée\n[audit]\nlog = %s\nkey = %s\n' \
	"$d/totp" "$d/host.key" "$d/audit.jsonl" "$d/audit.key" >"$d/iss.conf"
PHOTOGUARD_CONFIG=$d/iss.conf on_tty "$d/isscfg" xterm-256color enroll emil || true
like "[totp] issuer is used when --issuer is not given" "$(uri_of "$d/isscfg")" "^otpauth://totp/Clinique%20%C3%89lys%C3%A9e:emil\?.*&issuer=Clinique%20%C3%89lys%C3%A9e&"

long=$(printf 'x%.0s' $(seq 65))
for bad in "Harbour:Clinic" "" "$long" $'Harbour\tClinic'; do
	"$pg" enroll fred --secret-to-pipe --issuer "$bad" "${store[@]}" </dev/null >"$d/bad.out" 2>"$d/bad.err"
	is "--issuer '${bad:0:16}' is a usage error" "$?" 2
	like "...saying what an issuer may be" "$(cat "$d/bad.err")" "--issuer: 1 to 64 bytes, no ':'"
done
"$pg" totp status fred "${store[@]}" >/dev/null 2>&1
is "...and fred is not enrolled" "$?" 1
printf '[totp]\nissuer = Harbour: Clinic\n' >"$d/badiss.conf"
out=$("$pg" config check "$d/badiss.conf" 2>&1)
is "a config with a ':' in [totp] issuer does not check" "$?" 1
like "...naming file, line and key" "$out" "badiss.conf:2: \[totp\] issuer: at most 64 bytes, no ':'"

# --- bad --qr ----------------------------------------------------------------
"$pg" enroll gus --secret-to-pipe --qr sepia "${store[@]}" </dev/null >"$d/q.out" 2>"$d/q.err"
is "--qr sepia is a usage error" "$?" 2
like "...naming the modes" "$(cat "$d/q.err")" "--qr sepia: not one of color, light, dark, none"
"$pg" totp status gus "${store[@]}" >/dev/null 2>&1
is "...and gus is not enrolled" "$?" 1

done_testing
