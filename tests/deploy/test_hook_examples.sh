#!/bin/bash
# test_hook_examples.sh - the shipped lockout hooks (deploy/hooks/) with a
# stand-in sendmail, mail and curl first on PATH: the message and the JSON
# they send, the webhook's secret never on a command line, and each bad
# configuration refused with a reason.
. "$PG_SOURCE_ROOT/tests/lib/tap.sh"
H=$PG_SOURCE_ROOT/deploy/hooks
T=$(mktemp -d /tmp/pg-hookex-XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir "$T/bin"

if command -v shellcheck >/dev/null; then
	out=$(shellcheck -s sh "$H/mail-alert" "$H/webhook-alert" 2>&1)
	is "shellcheck finds nothing" "$?" 0
	[ -n "$out" ] && diag "$out"
else
	skip "shellcheck" "shellcheck is not installed"
fi

# The stand-ins record their arguments and what they read.
cat >"$T/bin/sendmail" <<EOS
#!/bin/sh
printf '%s\n' "\$@" >"$T/sendmail.args"
cat >"$T/sendmail.in"
EOS
cat >"$T/bin/curl" <<EOS
#!/bin/sh
printf '%s\n' "\$@" >"$T/curl.args"
for a in "\$@"; do case \$a in /dev/fd/*) cat "\$a" >"$T/curl.conf" ;; esac; done
cat >"$T/curl.in"
exit \${CURL_EXIT:-0}
EOS
chmod 755 "$T/bin/sendmail" "$T/bin/curl"

# hook NAME [VAR=VALUE...]: runs NAME as photoguard does, with only the
# documented variables (and the stand-ins on PATH); output in $T/out
hook() {
	local n=$1
	shift
	env -i PATH="$T/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
	    PHOTOGUARD_HOOK_CONF="$T/$n.conf" \
	    PHOTOGUARD_EVENT=lockout PHOTOGUARD_COMPONENT=pam \
	    PHOTOGUARD_USER=asmith PHOTOGUARD_RULE=totp.max_failures \
	    PHOTOGUARD_REASON='3 failed verification codes within 60 s' \
	    PHOTOGUARD_FAILURES=3 PHOTOGUARD_HOST=img1 \
	    PHOTOGUARD_TIME=2026-12-05T01:00:00Z "$@" \
	    "$H/$n" >"$T/out" 2>&1
}

# --- mail-alert --------------------------------------------------------------
echo "to = security@clinic.example" >"$T/mail-alert.conf"
hook mail-alert
is "mail-alert: exit 0" $? 0
is "...sendmail -t -i: the recipient comes from the message" \
    "$(tr '\n' ' ' <"$T/sendmail.args")" "-t -i "
M=$(cat "$T/sendmail.in" 2>/dev/null)
like "...To:" "$M" "^To: security@clinic.example"
like "...the subject names the event, the user and the host" "$M" \
    "Subject: \[photoguard\] lockout of asmith on img1"
like "...the body has the rule" "$M" "PHOTOGUARD_RULE=totp.max_failures"
like "...and the reason" "$M" "PHOTOGUARD_REASON=3 failed verification codes within 60 s"
hook mail-alert PHOTOGUARD_EVENT=breakglass PHOTOGUARD_PATIENT=P0042 \
    PHOTOGUARD_REASON='ER admission'
like "break-glass: the subject names the patient" "$(cat "$T/sendmail.in")" \
    "Subject: \[photoguard\] break-glass by asmith for patient P0042 on img1"
hook mail-alert PHOTOGUARD_USER="$(printf 'x\nBcc: evil@example')"
is "a user name with a line break: one Subject line, no Bcc header" \
    "$(grep -c '^Bcc:' "$T/sendmail.in")" 0
echo "to = -oQ/tmp/x" >"$T/mail-alert.conf"
rm -f "$T/sendmail.in"
hook mail-alert
is "a recipient that looks like an option: refused (exit 1)" $? 1
like "...with why" "$(cat "$T/out")" "'to' is not a mail address"
check "...and nothing sent" test ! -e "$T/sendmail.in"
rm -f "$T/mail-alert.conf"
hook mail-alert
is "no configuration: exit 1" $? 1
like "...with why" "$(cat "$T/out")" "cannot read $T/mail-alert.conf"

# --- webhook-alert -----------------------------------------------------------
SECRET=tok-$RANDOM$RANDOM
printf 'url = https://hooks.clinic.example/alert\nheader = Authorization: Bearer %s\n' \
    "$SECRET" >"$T/webhook-alert.conf"
chmod 600 "$T/webhook-alert.conf"
hook webhook-alert PHOTOGUARD_REASON='said "hi" \ bye'
is "webhook-alert: exit 0" $? 0
J=$(cat "$T/curl.in" 2>/dev/null)
is "...POSTs the event as JSON" \
    "$(printf '%s' "$J" | python3 -c 'import json,sys; o=json.load(sys.stdin); print(o["event"], o["user"], o["rule"], o["failures"], o["host"], o["time"], o["component"])')" \
    "lockout asmith totp.max_failures 3 img1 2026-12-05T01:00:00Z pam"
is "...quotes and backslashes kept as they were" \
    "$(printf '%s' "$J" | python3 -c 'import json,sys; print(json.load(sys.stdin)["reason"])')" \
    'said "hi" \ bye'
like "...the URL reaches curl" "$(cat "$T/curl.conf")" 'url = "https://hooks.clinic.example/alert"'
like "...and the header" "$(cat "$T/curl.conf")" "header = \"Authorization: Bearer $SECRET\""
check "...but neither is on its command line" \
    sh -c "! grep -q 'hooks.clinic.example\|$SECRET' '$T/curl.args'"
check "...nor in the body" sh -c "! grep -q '$SECRET' '$T/curl.in'"
hook webhook-alert PHOTOGUARD_EVENT=breakglass PHOTOGUARD_PATIENT=P0042 \
    PHOTOGUARD_DURATION=3600
is "break-glass: the patient and the duration" \
    "$(python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); print(o["event"], o["patient"], o["duration"])' "$T/curl.in")" \
    "breakglass P0042 3600"
hook webhook-alert CURL_EXIT=22
is "a POST that fails: exit 1" $? 1
like "...with why" "$(cat "$T/out")" "the POST failed"
chmod 644 "$T/webhook-alert.conf"
rm -f "$T/curl.in"
hook webhook-alert
is "a configuration others may read: refused (exit 1)" $? 1
like "...with why" "$(cat "$T/out")" "is mode 644: it holds a secret"
check "...and nothing sent" test ! -e "$T/curl.in"
chmod 600 "$T/webhook-alert.conf"
chown nobody "$T/webhook-alert.conf" 2>/dev/null &&
	{ hook webhook-alert
	  is "a configuration of another user: refused" $? 1
	  like "...with why" "$(cat "$T/out")" "must belong to root or to the user"; }
chown 0 "$T/webhook-alert.conf"
echo "header = X-A: b" >"$T/webhook-alert.conf"
hook webhook-alert
is "no url: refused" $? 1
like "...with why" "$(cat "$T/out")" "has no url"

done_testing
