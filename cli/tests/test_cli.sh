#!/bin/bash
# test_cli.sh - the photoguard tool's own contract: --help on every verb,
# usage errors, config check, and every config key documented in the sample
# configuration.
. "$PG_SOURCE_ROOT/tests/lib/tap.sh"
pg="$PG_BUILD_ROOT/cli/photoguard"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

out=$("$pg" --help); rc=$?
is "photoguard --help exits 0" "$rc" 0
like "--help lists verbs" "$out" "Verbs"
verbs=$(printf '%s\n' "$out" | sed -n '/^Verbs/,$p' | awk 'NR>1 {print $1}')
for v in $verbs; do
	h=$("$pg" "$v" --help 2>&1); rc=$?
	is "$v --help exits 0" "$rc" 0
	like "$v --help prints usage" "$h" "^Usage: photoguard"
done

"$pg" no-such-verb >/dev/null 2>&1
is "unknown verb is a usage error" "$?" 2
"$pg" --bogus >/dev/null 2>&1
is "unknown global option is a usage error" "$?" 2

# Every key of the table is documented in the sample config.
keys=$("$pg" config keys --json | python3 -c '
import json, sys
for l in sys.stdin: r = json.loads(l); print(r["section"] + "." + r["key"])')
missing=""
for k in $keys; do
	sec=${k%%.*} key=${k#*.}
	awk -v s="[$sec]" -v k="$key" '
		$0 == s { in_s = 1; next }
		/^\[/ { in_s = 0 }
		in_s && $0 ~ "^#?" k " =" { found = 1 }
		END { exit !found }' "$PG_SOURCE_ROOT/deploy/photoguard.conf" ||
		missing="$missing $k"
done
is "every config key is in deploy/photoguard.conf" "${missing:-none}" none

# The sample config loads as shipped.
install -m 0644 "$PG_SOURCE_ROOT/deploy/photoguard.conf" "$tmp/sample.conf"
out=$("$pg" config check "$tmp/sample.conf" 2>&1)
is "sample config checks clean" "$?" 0

# Bad configs: clear file:line error and exit 1, through the global option
# and through the environment.
printf '[directory]\nbackend = ldap\nuri = ldap://127.0.0.1\nbase_dn = dc=x\ncache_ttl = soon\n' > "$tmp/bad.conf"
out=$("$pg" --config "$tmp/bad.conf" config check 2>&1); rc=$?
is "bad config exits 1" "$rc" 1
like "bad config names file:line and key" "$out" "bad.conf:5: \[directory\] cache_ttl: not a duration"
out=$(PHOTOGUARD_CONFIG="$tmp/bad.conf" "$pg" config check 2>&1)
like "PHOTOGUARD_CONFIG names the file" "$out" "bad.conf:5:"

# The offline cache's old [totp] keys still load, with a warning; both
# spellings at odds are an error.
printf '[totp]\noffline_cache_dir = /var/cache/pg\n' > "$tmp/old.conf"
out=$("$pg" config check "$tmp/old.conf" 2>&1); rc=$?
is "old [totp] offline_cache_dir still checks" "$rc" 0
like "...with a deprecation warning" "$out" "warning: .*old.conf:2: \[totp\] offline_cache_dir is deprecated; write \[directory\] offline_cache_dir"
printf '[directory]\noffline_max_age = 1h\n[totp]\noffline_max_age = 2h\n' > "$tmp/both.conf"
out=$("$pg" config check "$tmp/both.conf" 2>&1); rc=$?
is "both spellings with different values exit 1" "$rc" 1
like "...naming both" "$out" "both.conf:4: \[totp\] offline_max_age: also set as \[directory\] offline_max_age on line 2"
out=$("$pg" config check "$tmp/sample.conf" 2>&1)
is "the sample config has no warning" "$(grep -c warning <<<"$out")" 0
chmod 0666 "$tmp/sample.conf"
out=$("$pg" config check "$tmp/sample.conf" 2>&1); rc=$?
is "world-writable config refused" "$rc" 1
like "world-writable config says why" "$out" "not writable by group or others"

# The gateway's answer as a stream: its verdict ("ok\n") may come in
# pieces, and a connection closed before the verdict is no answer.
# serve SCRIPT...: a control socket that answers with the given chunks.
serve() {
	rm -f "$tmp/ctl.sock"
	python3 - "$tmp/ctl.sock" "$@" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(1)
c, _ = s.accept()
c.recv(4096)
for chunk in sys.argv[2:]:
    c.sendall(chunk.encode().decode("unicode_escape").encode("latin-1"))
    time.sleep(0.2)
c.close()
PY
	for _ in $(seq 1 50); do [ -S "$tmp/ctl.sock" ] && break; sleep 0.05; done
}
printf '[store]\ncontrol_socket = %s/ctl.sock\n' "$tmp" >"$tmp/ctl.conf"
serve 'o' 'k\nuser gwx uid 7\n'
out=$("$pg" --config "$tmp/ctl.conf" status 2>"$tmp/err"); rc=$?
is "status: a verdict split over two reads is still 'ok' (exit 0)" "$rc" 0
is "...and the answer after it goes to stdout" "$out" "user gwx uid 7"
serve 'e' 'rror: no such user\n'
out=$("$pg" --config "$tmp/ctl.conf" status 2>&1); rc=$?
is "status: a split refusal exits 1" "$rc" 1
is "...and says it whole" "$out" "error: no such user"
serve 'o'
out=$("$pg" --config "$tmp/ctl.conf" status 2>&1); rc=$?
is "status: closed before the verdict is no answer (exit 3)" "$rc" 3
like "...and says so" "$out" "did not answer: it closed the connection"
serve 'err'
out=$("$pg" --config "$tmp/ctl.conf" status 2>&1); rc=$?
is "status: half a refusal, then closed, is no answer either (exit 3)" "$rc" 3
like "...and says so" "$out" "did not answer: it closed the connection"
serve 'HTTP/1.0 200 OK\r\n\r\nok\n'
out=$("$pg" --config "$tmp/ctl.conf" status 2>&1); rc=$?
is "status: an answer in another protocol is not a verdict (exit 3)" "$rc" 3
is "...said without echoing it" "$out" "photoguard: the gateway's answer is not one of the control protocol"
out=$("$pg" --config "$tmp/ctl.conf" breakglass --patient P1 --reason "$(printf 'a\tb')" 2>&1); rc=$?
is "breakglass: a reason with a control character is refused before asking (exit 2)" "$rc" 2
like "...saying why" "$out" "one line of at most 400 bytes"
out=$("$pg" --config "$tmp/ctl.conf" breakglass --patient "$(printf 'P\001')" --reason x 2>&1); rc=$?
is "breakglass: a patient id with a control character: usage (exit 2)" "$rc" 2
wait

done_testing
