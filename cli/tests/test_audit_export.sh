#!/bin/bash
# test_audit_export.sh - `photoguard audit export --format atna` on a
# signed log of records written as the PAM module, the gateway and the
# admin verbs write them (plus a torn tail and a repaired gap): every
# message validates against the DICOM audit message schema (PS3.15 A.5.1,
# cli/tests/atna/) with xmllint; each event kind maps to its DICOM event,
# outcome, user, process and patient; strings that are markup, controls
# or not UTF-8 come out escaped and unchanged; filters; a log that does
# not verify is refused, or exported after an alert with --unverified;
# bad input (format, time, --out) is an error that says why.
# usage: test_audit_export.sh PHOTOGUARD RECORD_WRITER SCHEMA.rng
. "$PG_SOURCE_ROOT/tests/lib/tap.sh"
pg=$1
writer=$2
rng=$3
helper="$PG_SOURCE_ROOT/cli/tests/atna_fields.py"
dir=$(mktemp -d /tmp/pg-audit-export.XXXXXX)
trap 'rm -rf "$dir"' EXIT
chmod 755 "$dir"
log=$dir/audit.jsonl
key=$dir/audit.key
out=$dir/export.xml
export PHOTOGUARD_CONFIG=$dir/none.conf
die() { not_ok "$1"; done_testing; exit 1; }
exp() { "$pg" audit export --format atna --log "$log" --key "$key.pub" "$@"; }
# f EVENT N FIELD... : fields of the Nth message for EVENT (N all: each)
f() { python3 "$helper" "$out" "$log" "$@"; }
# fx EXPORT EVENT N FIELD...: the same in another export
fx() { local x=$1; shift; python3 "$helper" "$x" "$log" "$@"; }
T=$(printf '\t')

"$pg" audit keygen "$key" >/dev/null || die "audit keygen"

# validate FILE: every line of FILE is one message the schema accepts;
# prints the number of messages that do not.
validate() {
	local d n bad
	d=$(mktemp -d "$dir/v.XXXXXX")
	split -l 1 -a 5 "$1" "$d/m."
	n=$(ls "$d" | wc -l)
	xmllint --noout --relaxng "$rng" "$d"/m.* 2>"$d.err"
	bad=$(grep -c 'fails to validate' "$d.err")
	[ "$(grep -c ' validates$' "$d.err")" = "$n" ] || cat "$d.err" >&2
	rm -rf "$d" "$d.err"
	echo "$bad of $n"
}

# --- a day of records, as their writers set the fields ----------------
sed "s/ *|/$T/g" >"$dir/records" <<'R'
actor=dlopez |event=pam.auth |object=imaging-1 |decision=allow |rule=ldap.totp |reason=password and TOTP ok |service=sshd |rhost=10.1.2.3 |tty=ssh |uid=0 |pid=4242
actor=dlopez |event=pam.account |object=imaging-1 |decision=allow |reason=account ok |service=sshd |rhost=10.1.2.3 |uid=0 |pid=4242
actor=dlopez |event=pam.session.open |object=imaging-1 |decision=allow |reason=session opened |service=sshd |rhost=10.1.2.3 |uid=0 |pid=4242
actor=mallory |event=pam.auth |object=imaging-1 |decision=deny |rule=ldap.totp |reason=wrong TOTP code |service=sshd |rhost=ws-12.clinic.example |uid=0 |pid=4300
actor=mallory |event=pam.auth |object=imaging-1 |decision=error |reason=directory unreachable |service=login |tty=tty1 |uid=0 |pid=4301
actor=mallory |event=lockout.lock |object=imaging-1 |decision=deny |rule=limits.failures |reason=5 failed logins |service=sshd |rhost=10.9.9.9 |uid=0 |pid=4302
event=gateway.start |object=/ |decision=info |rule=/etc/photoguard/policy |reason=/mnt/photos |uid=0
actor=dlopez |event=gateway.open |object=/P0001/pre.jpg |decision=allow |rule=policy:12 |reason=treating physician |patient=P0001 |process=eog |uid=1001 |pid=5001
actor=dlopez |event=gateway.release |object=/P0001/pre.jpg |decision=info |rule=policy:12 |reason=released |patient=P0001 |process=eog |uid=1001 |pid=5001 |bytes=1000
actor=dlopez |event=gateway.open |object=/P0009/x.jpg |decision=deny |rule=policy:40 |reason=not on the care team |patient=P0009 |process=cp |uid=1001 |pid=5002
actor=dlopez |event=gateway.release |object=/P0002/y.jpg |decision=info |reason=released |patient=P0002 |process=ls |uid=1001 |pid=5003 |bytes=0
actor=dlopez |event=gateway.create |object=/P0002/new.jpg |decision=deny |rule=gateway |reason=read-only store |patient=P0002 |process=cp |uid=1001 |pid=5004
actor=dlopez |event=gateway.limit |object=/P0003/z.jpg |decision=deny |rule=limits.files |reason=200 files in 60 s |patient=P0003 |process=rsync |uid=1001 |pid=5005
actor=asmith |event=breakglass.grant |decision=allow |rule=breakglass |reason=ER admission |patient=P0042 |uid=1002 |pid=5006
actor=carol |event=admin.unlock |object=mallory |decision=allow |reason=called the helpdesk |process=photoguard |uid=0 |pid=6001
actor=gateway |event=gateway.policy_reload |object=/ |decision=error |rule=/etc/photoguard/policy |reason=policy:3: syntax error |uid=0
actor=a<b>&"'\tc\nd |event=gateway.open |object=/P0007/]]><x>\x01\xff é.jpg |decision=allow |reason=odd & <names> |patient=P&7<"> |process=sh |uid=1003 |pid=5007
actor=dlopez |event=pam.session.close |object=imaging-1 |decision=allow |reason=session closed |service=sshd |rhost=10.1.2.3 |uid=0 |pid=4242
R
check "records written through the audit writer" "$writer" "$log" "$key" <"$dir/records"
# A crash mid-write leaves a torn tail; the next writer cuts and records it.
printf '{"seq":999,"time":"2026-' >>"$log"
check "a writer after a torn tail" "$writer" "$log" "$key" <<R
actor=dlopez${T}event=gateway.open${T}object=/P0001/post.jpg${T}decision=allow${T}patient=P0001${T}process=eog${T}uid=1001${T}pid=5008
R
is "the torn tail was recorded" "$(grep -c '"event":"audit.torn_tail"' "$log")" 1
# A lost head: only `audit repair` resumes the log, with an audit.repair.
repaired=0
if [ "$(id -u)" = 0 ]; then
	rm -f "$log.head"
	if "$pg" audit repair --log "$log" --key "$key" --reason "ticket 7: head lost" >&2; then
		repaired=1
	fi
	is "audit repair recorded the gap" "$repaired" 1
else
	skip "an audit.repair record in the export" "audit repair needs root"
fi
"$pg" audit verify --key "$key.pub" "$log" >/dev/null
is "the log verifies" "$?" 0

# --- export, validate against the schema --------------------------------
err=$(exp --out "$out" 2>&1); rc=$?
is "export of a verified log exits 0" "$rc" 0
nrec=$(grep -vc -e '"event":"audit.checkpoint"' -e '"event":"audit.rotate"' "$log")
is "one message per record, checkpoints left out" "$(wc -l <"$out")" "$nrec"
like "--out says how many messages it wrote" "$err" "wrote $nrec messages to $out"
is "the file is private (0600)" "$(stat -c %a "$out")" 600
like "every line is one XML document" "$(head -c 60 "$out")" '^<\?xml version="1.0" encoding="UTF-8"\?><AuditMessage>'
if command -v xmllint >/dev/null; then
	is "every message validates against the DICOM audit message schema" "$(validate "$out")" "0 of $nrec"
	# The schema does reject: a message with an outcome it does not know.
	head -n 1 "$out" | sed 's/EventOutcomeIndicator="0"/EventOutcomeIndicator="3"/' >"$dir/bad.xml"
	if xmllint --noout --relaxng "$rng" "$dir/bad.xml" 2>/dev/null; then
		not_ok "the schema rejects an outcome of 3"
	else
		ok "the schema rejects an outcome of 3"
	fi
else
	skip "schema validation" "xmllint is not installed (deploy/deps.sh --test installs libxml2-utils)"
fi

# --- the mapping, per event kind -----------------------------------------

is "pam.auth allow: User Authentication, Login, success, from an IP" \
	"$(f pam.auth 1 id types action outcome user requestor nap naptype proc altid source)" \
	"110114 110122 E 0 dlopez true 10.1.2.3 2 sshd 4242 $(hostname)"
is "pam.auth deny: outcome 4, from a machine name" \
	"$(f pam.auth 2 id types outcome user nap naptype)" "110114 110122 4 mallory ws-12.clinic.example 1"
is "pam.auth error: outcome 8, no network access point" \
	"$(f pam.auth 3 id outcome nap proc)" "110114 8 none login"
is "pam.account: a Login" "$(f pam.account 1 id types outcome)" "110114 110122 0"
is "pam.session.open: a Login" "$(f pam.session.open 1 id types)" "110114 110122"
is "pam.session.close: a Logout" "$(f pam.session.close 1 id types outcome)" "110114 110123 0"
is "lockout.lock: Security Alert, user attributes changed, 8, the account as subject" \
	"$(f lockout.lock 1 id types outcome subject_user)" "110113 110137 8 mallory"
is "gateway.open allow: Patient Record, Read, success, the patient" \
	"$(f gateway.open 1 id types action outcome user requestor proc altid patient patient_idtype patient_role file)" \
	"110110 none R 0 dlopez true eog 5001 P0001 RFC-3881:2 1/1 /P0001/pre.jpg"
is "gateway.open deny: still exported, outcome 4, with the patient" \
	"$(f gateway.open 2 id action outcome patient file)" "110110 R 4 P0009 /P0009/x.jpg"
is "gateway.open deny: the description has the reason and the rule" \
	"$(f gateway.open 2 description)" "deny: not on the care team (rule policy:40)"
is "gateway.release of 1000 bytes: Export, with the bytes and the patient" \
	"$(f gateway.release 1 id action outcome patient bytes)" "110106 R 0 P0001 1000"
is "gateway.release of 0 bytes: an access, not an export" \
	"$(f gateway.release 2 id patient bytes)" "110110 P0002 0"
is "gateway.create deny: Patient Record, Create, 4" \
	"$(f gateway.create 1 id action outcome patient)" "110110 C 4 P0002"
is "gateway.limit: Security Alert, restricted function, 4, the patient" \
	"$(f gateway.limit 1 id types outcome patient)" "110113 110132 4 P0003"
is "breakglass.grant: Security Alert, emergency override, the patient" \
	"$(f breakglass.grant 1 id types outcome user patient)" "110113 110127 0 asmith P0042"
is "gateway.start: Application Activity, Application Start" \
	"$(f gateway.start 1 id types outcome user)" "110100 110120 0 gateway"
is "gateway.policy_reload error: Security Alert, security configuration, 8" \
	"$(f gateway.policy_reload 1 id types outcome file)" "110113 110129 8 /etc/photoguard/policy"
is "admin.unlock: Security Alert, user attributes, by carol, of mallory" \
	"$(f admin.unlock 1 id types user subject_user proc)" "110113 110137 carol mallory photoguard"
is "audit.torn_tail: Security Alert, audit recording stopped, 8" \
	"$(f audit.torn_tail 1 id types outcome)" "110113 110133 8"
if [ "$repaired" = 1 ]; then
	is "audit.repair: Security Alert, audit recording stopped, 12" \
		"$(f audit.repair 1 id types outcome)" "110113 110133 12"
fi
is "every message carries its record, byte for byte" \
	"$(f - all record_ok | sort | uniq -c | awk '{print $1, $2}')" "$nrec yes"

# --- strings that are markup, controls or not UTF-8 ----------------------
is "a user name with markup, quotes, tab and newline comes out unchanged" "$(f gateway.open 3 user_ok)" yes
is "a path with ]]>, a control character and a non-UTF-8 byte: escaped, unchanged" "$(f gateway.open 3 file_ok)" yes
is "the patient with markup comes out unchanged" "$(f gateway.open 3 patient)" 'P&7<">'
is "the control character is written as \\x01, on that message only" "$(grep -cF '\x01' "$out")" 1
if grep -q "$(printf '\001')" "$out"; then not_ok "no raw control character in the export"; else ok "no raw control character in the export"; fi
is "no line holds a raw newline: one message per line" "$(grep -c '^<?xml' "$out")" "$nrec"

# --- filters --------------------------------------------------------------
exp --user dlopez >"$dir/u.xml"
is "--user dlopez: only dlopez's records" "$(fx "$dir/u.xml" - all user | sort -u)" dlopez
is "--user dlopez: all of them" "$(wc -l <"$dir/u.xml")" "$(grep -c '"actor":"dlopez"' "$log")"
exp --patient P0001 >"$dir/p.xml"
is "--patient P0001: the open, the release and the later open" "$(wc -l <"$dir/p.xml")" 3
is "--patient P0001: each names P0001" "$(fx "$dir/p.xml" - all patient | sort -u)" P0001
t=$(grep '"event":"gateway.limit"' "$log" | sed 's/.*"time":"\([^"]*\)".*/\1/')
exp --since "$t" --until "$t" >"$dir/t.xml"
is "--since/--until select by time" "$(fx "$dir/t.xml" - 1 id) $(wc -l <"$dir/t.xml")" "110113 1"

# --- a log that does not verify -------------------------------------------
cp "$log" "$dir/bad.jsonl"
cp "$log.head" "$dir/bad.jsonl.head"
sed -i 's/not on the care team/on the care team/' "$dir/bad.jsonl"
o2=$dir/bad-export.xml
err=$("$pg" audit export --format atna --log "$dir/bad.jsonl" --key "$key.pub" --out "$o2" 2>&1); rc=$?
is "an edited log is refused (exit 1)" "$rc" 1
like "...saying it does not verify" "$err" "DOES NOT VERIFY \(seq [0-9]+: edited"
like "...and how to export it anyway" "$err" "refusing .*--unverified"
check "...and nothing is written" test ! -e "$o2"
err=$("$pg" audit export --format atna --log "$log" --key "$dir/nokey.pub" 2>&1 >/dev/null); rc=$?
is "without a readable public key the export is refused" "$rc" 1
like "...saying the signatures were not checked" "$err" "NOT checked"
err=$("$pg" audit export --format atna --log "$dir/bad.jsonl" --key "$key.pub" --unverified --out "$o2" 2>&1); rc=$?
is "--unverified exports it, exit 1" "$rc" 1
is "...with an alert first, then every record" "$(wc -l <"$o2")" "$((nrec + 1))"
is "...the alert: Security Alert, outcome 12, naming the log" \
	"$(python3 "$helper" "$o2" "$dir/bad.jsonl" audit.unverified 1 id outcome)" "110113 12"
like "...its description says why" "$(python3 "$helper" "$o2" "$dir/bad.jsonl" audit.unverified 1 description)" "does not verify: seq [0-9]+: edited"
if command -v xmllint >/dev/null; then
	is "...and every message validates" "$(validate "$o2")" "0 of $((nrec + 1))"
fi
# A forged time that is no real instant cannot become an xsd:dateTime.
sed -i '0,/"event":"gateway.start"/s/"time":"[^"]*"\(.*"event":"gateway.start"\)/"time":"2026-02-30T25:61:00Z"\1/' "$dir/bad.jsonl"
err=$("$pg" audit export --format atna --log "$dir/bad.jsonl" --key "$key.pub" --unverified 2>&1 >"$o2"); rc=$?
like "a record whose time is no real UTC time is left out, and said so" "$err" "1 records have no valid UTC time"
is "...the rest is exported" "$(wc -l <"$o2")" "$nrec"
is "...exit 1" "$rc" 1

# --- bad input --------------------------------------------------------------
err=$(exp --format csv 2>&1); rc=$?
is "an unknown --format is a usage error" "$rc" 2
like "...naming it" "$err" "unknown format 'csv' \(the one format is atna\)"
err=$("$pg" audit export --log "$log" 2>&1); rc=$?
is "no --format is a usage error" "$rc" 2
like "...saying to give it" "$err" "give --format atna"
err=$(exp --since tomorrowish 2>&1 >"$dir/x.xml"); rc=$?
is "a bad --since is a usage error" "$rc" 2
like "...saying so" "$err" "bad time for --since: 'tomorrowish': not a time"
is "...and writes no message" "$(wc -c <"$dir/x.xml")" 0
err=$(exp --until 2026-1-01 --out "$dir/u2.xml" 2>&1); rc=$?
is "a bad --until with --out: usage error" "$rc" 2
check "...leaving no file" test ! -e "$dir/u2.xml"
err=$(exp --out "$dir/no/such/dir/x.xml" 2>&1); rc=$?
is "an --out in a missing directory: exit 3" "$rc" 3
like "...saying it cannot write it" "$err" "cannot write $dir/no/such/dir/x.xml: No such file or directory"
mkdir "$dir/adir"
err=$(exp --out "$dir/adir" 2>&1); rc=$?
is "an --out that is a directory: exit 3" "$rc" 3
like "...saying it cannot write it" "$err" "cannot write $dir/adir: Is a directory"
is "...and leaves no temporary file" "$(ls "$dir" | grep -c '^adir\.')" 0
if [ -w /dev/full ]; then
	err=$(exp 2>&1 >/dev/full); rc=$?
	is "a full standard output: exit 3" "$rc" 3
	like "...saying so" "$err" "cannot write standard output: No space left on device"
else
	skip "a full standard output" "/dev/full is not writable here"
fi
err=$(exp --bogus 2>&1); rc=$?
is "an unknown option is a usage error" "$rc" 2
done_testing
