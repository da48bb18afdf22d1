#!/bin/bash
# test_audit_rotate.sh - rotation keeps the chain whole: `audit rotate` and
# a real logrotate with the shipped snippet start files that continue the
# chain while writers keep writing; verify, query and report read the
# rotated set (compressed or not) as one chain and name a missing, renamed,
# edited or cut file; several hosts' logs are verified each with its own
# key and reported with a server column.
# usage: test_audit_rotate.sh PHOTOGUARD AUDIT_WRITER
. "$PG_SOURCE_ROOT/tests/lib/tap.sh"
pg=$1
writer=$2
dir=$(mktemp -d /tmp/pg-audit-rotate.XXXXXX)
trap 'rm -rf "$dir"' EXIT
chmod 755 "$dir"
key=$dir/audit.key
export PHOTOGUARD_CONFIG=$dir/none.conf
die() { not_ok "$1"; done_testing; exit 1; }
"$pg" audit keygen "$key" >/dev/null || die "keygen"

# write LOG COUNT ACTOR [PATIENT]
write() { "$writer" "$1" "$key" "$2" "$3" "/store/${4:-P1}/a.jpg" "${4:-P1}"; }
verify() { "$pg" audit verify --key "$key.pub" "$@"; }
# The BLAKE2b-256 of a file's last line, newline left out: the next
# file's first prev.
last_hash() {
	python3 -c 'import hashlib,sys
l=open(sys.argv[1],"rb").read().rstrip(b"\n").split(b"\n")[-1]
print(hashlib.blake2b(l,digest_size=32).hexdigest())' "$1"
}
field() {	# FILE LINE KEY
	sed -n "$2p" "$1" | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())[sys.argv[1]])' "$3"
}
count_actor() {	# LOG ACTOR: records of ACTOR in the log and its rotated files
	"$pg" audit query --log "$1" --user "$2" --json | wc -l
}

# --- photoguard audit rotate ------------------------------------------
d=$dir/a; mkdir "$d"; log=$d/audit.jsonl
write "$log" 10 alice || die "writer"
last=$(tail -1 "$log" | sed 's/^{"seq":\([0-9]*\),.*/\1/')
lines=$(wc -l < "$log")
out=$("$pg" audit rotate --log "$log" --key "$key"); rc=$?
is "audit rotate exits 0" "$rc" 0
old=$(ls "$d" | grep -E '^audit\.jsonl-[0-9]{8}T[0-9]{6}Z$')
like "the old file is renamed LOG-<UTC time>" "$old" '^audit\.jsonl-'
like "...and the tool says so" "$out" "the chain continues from $old"
is "the old file's records are untouched, and it ends with audit.close" \
	"$(head -n "$lines" "$d/$old" | tail -1 | sed 's/^{"seq":\([0-9]*\),.*/\1/') $(wc -l < "$d/$old") $(field "$d/$old" $((lines + 1)) event)" \
	"$last $((lines + 1)) audit.close"
is "the new file starts with audit.rotate" "$(field "$log" 1 event)" audit.rotate
is "...at the next seq" "$(field "$log" 1 seq)" $((last + 2))
is "...whose prev is the old file's last hash" "$(field "$log" 1 prev)" "$(last_hash "$d/$old")"
is "...naming the old file" "$(field "$log" 1 object)" "$old"
is "...signed at once by a checkpoint" "$(field "$log" 2 event)" audit.checkpoint
is "the head moved to the new file" \
	"$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["seq"])' "$log.head")" $((last + 3))
write "$log" 5 bob || die "writer after rotation"
out=$(verify "$log"); rc=$?
is "verify passes the rotated set" "$rc" 0
like "...and reads it as one chain of 2 files" "$out" "note: 2 files, one chain from seq 1"
is "query reads the rotated file too" "$(count_actor "$log" alice) $(count_actor "$log" bob)" "10 5"
"$pg" audit verify --key "$key.pub" --log "$d/$old" >/dev/null 2>&1
is "the old file alone does not verify (no head: its end is vouched for by the next file)" "$?" 1

# --- a writer that keeps the log open follows the rotation ------------
d=$dir/b; mkdir "$d"; log=$d/audit.jsonl
write "$log" 2 seed || die "writer"
AUDIT_WRITER_DELAY_MS=20 write "$log" 60 longlived & wpid=$!
for i in 1 2 3; do
	sleep 0.3
	AUDIT_WRITER_DELAY_MS=5 write "$log" 5 "short$i" &
	"$pg" audit rotate --log "$log" --key "$key" >/dev/null || not_ok "rotation $i"
done
wait $wpid; rc=$?
wait
is "a long-lived writer writes on through three rotations" "$rc" 0
is "...4 files now" "$(ls "$d" | grep -cE '^audit\.jsonl(-.*)?$')" 4
out=$(verify "$log"); rc=$?
is "the set verifies after rotations under writers" "$rc" 0
like "...as one chain of 4 files" "$out" "note: 4 files, one chain from seq 1"
is "no record was lost: the long-lived writer's 60" "$(count_actor "$log" longlived)" 60
is "...and the short writers' 15" "$(( $(count_actor "$log" short1) + $(count_actor "$log" short2) + $(count_actor "$log" short3) ))" 15
n=0; for f in "$d"/audit.jsonl-*; do grep -q '"actor":"longlived"' "$f" && n=$((n + 1)); done
check "...and the long-lived writer's records are spread over the rotated files" test "$n" -ge 2

# Writers that open the log while a rotation renames it: the head they
# find names the new file, so they must take that one.
rd=$dir/race; mkdir "$rd"; log=$rd/audit.jsonl
write "$log" 1 seed || die "writer"
fails=0
# Each writer is waited for by its pid: `wait -n` may answer for a job
# that ended earlier and leave a writer running past the count.
for i in 1 2 3 4 5 6 7 8 9 10; do
	pids=()
	for j in 1 2 3; do write "$log" 1 racer & pids+=($!); done
	"$pg" audit rotate --log "$log" --key "$key" >/dev/null || fails=$((fails + 1))
	for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
done
is "30 writers opening the log during 10 rotations all wrote" "$fails $(count_actor "$log" racer)" "0 30"
verify "$log" >/dev/null; is "...and the 11 files verify as one chain" "$?" 0
# Long-lived writers through rotations back to back: a writer that
# follows a rotation while the next one holds the new file finds that
# file closed too, and must follow on, never append after its close.
bd=$dir/burst; mkdir "$bd"; blog=$bd/audit.jsonl
write "$blog" 1 seed || die "writer"
pids=()
for j in 1 2 3; do AUDIT_WRITER_DELAY_MS=2 write "$blog" 200 "burst$j" & pids+=($!); done
fails=0
for i in $(seq 30); do
	"$pg" audit rotate --log "$blog" --key "$key" >/dev/null 2>&1 || fails=$((fails + 1))
done
for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
n=0; for j in 1 2 3; do n=$((n + $(count_actor "$blog" "burst$j"))); done
is "3 writers through 30 rotations back to back: all rotated, all wrote" "$fails $n" "0 600"
verify "$blog" >/dev/null 2>&1
is "...and the 31 files verify as one chain" "$?" 0
check "...no record after a file's close" test -z "$(for f in "$bd"/audit.jsonl-*; do tail -1 "$f" | grep -vq '"event":"audit.close"' && echo "$f"; done)"
# One window at a time: memory does not grow with the number of files.
for i in $(seq 20); do "$pg" audit rotate --log "$log" --key "$key" >/dev/null; write "$log" 1 racer; done
/usr/bin/time -f %M -o "$dir/rss" "$pg" audit verify --key "$key.pub" "$log" >/dev/null
is "31 files verify" "$?" 0
if [ "${PG_SANITIZE:-none}" = none ]; then
	check "...in one window's memory ($(cat "$dir/rss") KiB, at most 40 MiB)" test "$(cat "$dir/rss")" -le $((40 * 1024))
else
	diag "sanitized build ($PG_SANITIZE): RSS not measured, ASan's shadow memory inflates it ($(cat "$dir/rss") KiB)"
fi
# A FIFO planted under a rotated file's name: refused at once, and the
# live log's lock (which the listing holds) is never held up.
mkfifo "$rd/audit.jsonl.7"
out=$(timeout 10 "$pg" audit verify --key "$key.pub" "$log" 2>&1); rc=$?
is "a FIFO among the rotated files fails verify at once (exit 3, no hang)" "$rc" 3
like "...naming it" "$out" "audit.jsonl.7|Invalid|invalid"
write "$log" 1 racer; is "...and writers were never held up" "$?" 0
rm "$rd/audit.jsonl.7"

# --- tampering with a rotated set --------------------------------------
t=$dir/t; cp -a "$d" "$t"; log=$t/audit.jsonl
files=$(ls "$t" | grep -E '^audit\.jsonl-' | sort)
second=$(echo "$files" | sed -n 2p); third=$(echo "$files" | sed -n 3p)
mv "$t/$second" "$dir/away"
out=$(verify "$log"); rc=$?
is "a file missing from the middle fails verify" "$rc" 1
like "...named: missing, between the files around it" "$out" "missing: seq [0-9]+ to [0-9]+ are missing .*a file is missing between"
mv "$dir/away" "$t/$second"
mv "$t/$second" "$t/x"; mv "$t/$third" "$t/$second"; mv "$t/x" "$t/$third"
out=$(verify "$log"); rc=$?
is "two rotated files swapped by name fail verify" "$rc" 1
like "...named: reordered, files were renamed" "$out" "reordered: .* files were renamed"
mv "$t/$second" "$t/x"; mv "$t/$third" "$t/$second"; mv "$t/x" "$t/$third"
verify "$log" >/dev/null; is "...and pass again in their places" "$?" 0
cp "$t/$second" "$dir/keep"
sed -i '3s/"host":"/"host":"x/' "$t/$second"
out=$(verify "$log"); rc=$?
is "a record edited in a rotated file fails verify" "$rc" 1
like "...named: edited" "$out" "FAIL: seq [0-9]+: edited"
like "...in that file" "$out" "in .*$second"
cp "$dir/keep" "$t/$second"
sed -i '$d' "$t/$second"
out=$(verify "$log"); rc=$?
is "a rotated file cut by its last record fails verify" "$rc" 1
like "...named: missing (the next file's first record vouches for it)" "$out" "missing: seq [0-9]+ is missing"
cp "$dir/keep" "$t/$second"
rm "$t/$(echo "$files" | sed -n 1p)"
out=$(verify "$log"); rc=$?
is "the oldest file removed (retention, or someone): verify exits 1" "$rc" 1
like "...saying from which seq and time the chain is proven" "$out" "WARNING: the oldest file continues one that is not there .*records before seq [0-9]+ are not checked; the chain is proven from 20[0-9-]+T"
start=$(printf '%s\n' "$out" | sed -n 's/.*records before seq \([0-9]*\) are.*/\1/p')
out=$(verify --from-seq "$start" "$log"); rc=$?
is "...and passes with --from-seq naming that start (the retention expected)" "$rc" 0
like "...as a note" "$out" "note: the oldest file continues one that is not there"
verify --from-seq $((start - 1)) "$log" >/dev/null
is "...but not with a --from-seq before it (a file more is gone)" "$?" 1
out=$("$pg" audit report --key "$key.pub" --log "$log" --all-users); rc=$?
is "a report over it exits 1" "$rc" 1
like "...warning that it is proven only from that seq" "$out" "WARNING: THE AUDIT LOG IS PROVEN ONLY FROM SEQ $start"
out=$("$pg" audit report --key "$key.pub" --log "$log" --all-users --from-seq "$start"); rc=$?
is "...and passes with --from-seq" "$rc" 0
like "...saying which records it does not cover" "$out" "note: the log's oldest files are gone: records before seq [0-9]+ are not in this report"
gzip "$t/$second"
out=$(verify --from-seq "$start" "$log"); rc=$?
is "a compressed rotated file is read" "$rc" 0
cp "$t/$second.gz" "$dir/keep.gz"
head -c $(( $(stat -c %s "$t/$second.gz") / 2 )) "$dir/keep.gz" > "$t/$second.gz"
out=$(verify --from-seq "$start" "$log" 2>&1); rc=$?
check "a compressed file cut short fails verify (exit $rc)" test "$rc" -ne 0
cp "$dir/keep.gz" "$t/$second.gz"
gunzip -c "$t/$second.gz" | sed '2s/"seq":/"seq": /' | gzip > "$t/x.gz" && mv "$t/x.gz" "$t/$second.gz"
out=$(verify --from-seq "$start" "$log"); rc=$?
is "an edit inside a compressed file fails verify" "$rc" 1

# --- logrotate with the shipped snippet --------------------------------
if ! command -v logrotate >/dev/null; then
	not_ok "logrotate is installed (deploy/deps.sh --test installs it)"
else
	d=$dir/lr; mkdir "$d"; log=$d/audit.jsonl
	chgrp adm "$d"; chmod 2770 "$d"
	conf=$dir/logrotate.conf
	sed -e "s|@sbindir@/photoguard|$pg|" \
	    -e "s|/var/log/photoguard/audit.jsonl|$log|" \
	    -e "s|photoguard audit rotate|photoguard audit rotate --key $key|" \
	    -e "s|^\tsu root photoguard|\tsu root adm|" \
	    "$PG_SOURCE_ROOT/deploy/logrotate/photoguard" > "$conf"
	like "the snippet's postrotate continues the chain" "$(cat "$conf")" "audit rotate --key .* --renamed \"\\\$1.1\""
	write "$log" 5 lr1 || die "writer"
	AUDIT_WRITER_DELAY_MS=20 write "$log" 50 lrlong & wpid=$!
	for i in 1 2 3; do
		sleep 0.25
		logrotate -f -s "$dir/lr.state" "$conf" >"$dir/lr.out" 2>"$dir/lr.err" ||
			not_ok "logrotate run $i: $(cat "$dir/lr.err")"
		write "$log" 2 "lr$((i + 1))" || not_ok "a fresh writer after logrotate run $i"
	done
	wait $wpid
	is "a long-lived writer writes on through three logrotate runs" "$?" 0
	ls "$d" > "$dir/lr.ls"
	like "logrotate made .1 and compressed the older ones" "$(tr '\n' ' ' < "$dir/lr.ls")" "audit.jsonl.1 audit.jsonl.2.gz audit.jsonl.3.gz"
	out=$(verify "$log"); rc=$?
	is "the logrotated set verifies" "$rc" 0
	like "...as one chain of 4 files" "$out" "note: 4 files, one chain from seq 1"
	is "...with every record" "$(count_actor "$log" lrlong) $(count_actor "$log" lr1) $(count_actor "$log" lr4)" "50 5 2"
	is "the new file keeps the log's group" "$(stat -c %G "$log")" "$(stat -c %G "$d/audit.jsonl.1")"
fi

# --- the window between logrotate's rename and its postrotate step ----
d=$dir/w; mkdir "$d"; log=$d/audit.jsonl
write "$log" 3 w1 || die "writer"
mv "$log" "$log.1"
( sleep 0.5; "$pg" audit rotate --log "$log" --renamed "$log.1" --key "$key" >/dev/null ) &
start=$(date +%s%N)
write "$log" 1 w2; rc=$?
wait
is "an opener in the rename window waits for the new log" "$rc" 0
check "...about as long as the rename took" test $(( ($(date +%s%N) - start) / 1000000 )) -ge 400
verify "$log" >/dev/null; is "...and the set verifies" "$?" 0
mv "$log.1" "$log.2"; mv "$log" "$log.1"
out=$(write "$log" 1 w3 2>&1); rc=$?
is "with no postrotate step, an opener refuses after its wait" "$rc" 1
is "...leaving an empty log" "$(stat -c %s "$log")" 0
"$pg" audit rotate --log "$log" --renamed "$log.1" --key "$key" >/dev/null
is "...which the postrotate step then replaces" "$?" 0
write "$log" 1 w4; is "...and writers resume" "$?" 0
verify "$log" >/dev/null; is "...and the set verifies" "$?" 0

# --- a rotation that fails after closing the old file resumes ----------
d=$dir/resume; mkdir "$d"; log=$d/audit.jsonl
write "$log" 3 r1 || die "writer"
mkdir "$log.rotate.tmp" # the new file cannot be made
out=$("$pg" audit rotate --log "$log" --key "$key" 2>&1); rc=$?
is "a rotation that cannot make the new file fails (exit 3)" "$rc" 3
is "...after closing the old file" "$(tail -1 "$log" | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["event"])')" audit.close
out=$(write "$log" 1 r2 2>&1); rc=$?
is "...so writers refuse: nothing continues the chain" "$rc" 1
rmdir "$log.rotate.tmp"
"$pg" audit rotate --log "$log" --key "$key" >/dev/null
is "run again, the rotation resumes" "$?" 0
write "$log" 1 r3; is "...writers write again" "$?" 0
verify "$log" >/dev/null; is "...the set verifies" "$?" 0
is "...with one audit.close" "$("$pg" audit query --log "$log" --event audit.close --json | wc -l)" 1

# --- bad input ----------------------------------------------------------
d=$dir/bad; mkdir "$d" "$d/other"; log=$d/audit.jsonl
out=$("$pg" audit rotate --log "$log" --key "$key" 2>&1); rc=$?
is "rotating a missing log exits 1" "$rc" 1
like "...saying there is nothing to rotate" "$out" "nothing to rotate"
write "$log" 2 b1 || die "writer"
out=$("$pg" audit rotate --log "$log" --renamed "$d/other/x" --key "$key" 2>&1); rc=$?
is "--renamed in another directory exits 2" "$rc" 2
like "...saying why" "$out" "in the log's own directory"
out=$("$pg" audit rotate --log "$log" --renamed "$log" --key "$key" 2>&1); rc=$?
is "--renamed naming the log itself exits 2" "$rc" 2
cp "$log" "$log.1"
out=$("$pg" audit rotate --log "$log" --renamed "$log.1" --key "$key" 2>&1); rc=$?
is "--renamed when the log is still there (continued already) exits 1" "$rc" 1
like "...and does nothing" "$out" "nothing done"
rm "$log.1"
mv "$log.head" "$d/head"
out=$("$pg" audit rotate --log "$log" --key "$key" 2>&1); rc=$?
is "a log whose head is missing is not rotated" "$rc" 1
like "...pointing at verify and repair" "$out" "audit repair"
mv "$d/head" "$log.head"
out=$("$pg" audit rotate --log "$log" --key "$key" stray 2>&1); rc=$?
is "a stray argument exits 2" "$rc" 2
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$pg" audit rotate --log "$log" --key "$key" 2>&1); rc=$?
is "rotation by a non-root user exits 1" "$rc" 1
like "...root only" "$out" "only root"
echo "not a log" > "$d/junk"
out=$(verify "$log" "$d/junk" 2>&1); rc=$?
is "verify of a file that is not a log exits 3" "$rc" 3
like "...naming it" "$out" "junk: .*not an audit log"
out=$("$pg" audit verify --key a.pub --key b.pub "$log" 2>&1); rc=$?
is "two default keys exit 2" "$rc" 2
out=$("$pg" audit verify --key h= "$log" "$log" 2>&1); rc=$?
is "--key HOST= without a path exits 2" "$rc" 2
out=$("$pg" audit verify --key h=a.pub --key h=b.pub "$log" "$log" 2>&1); rc=$?
is "two keys for one host exit 2" "$rc" 2
out=$("$pg" audit verify --from-seq x "$log" 2>&1); rc=$?
is "--from-seq that is not a seq exits 2" "$rc" 2

# --- several hosts: one verdict each, one report ------------------------
d=$dir/hosts; mkdir "$d"
for h in imaging-1 imaging-2 imaging-3; do
	"$pg" audit keygen "$d/$h.key" >/dev/null || die "keygen $h"
	mkdir "$d/$h"
done
hw() {	# HOST COUNT ACTOR PATIENT
	AUDIT_WRITER_HOST=$1 "$writer" "$d/$1/audit.jsonl" "$d/$1.key" "$2" "$3" "/store/$4/a.jpg" "$4" ||
		die "writer on $1"
}
hw imaging-1 3 dlopez P0001
hw imaging-2 2 dlopez P0001
hw imaging-2 4 dlopez P0002
"$pg" audit rotate --log "$d/imaging-2/audit.jsonl" --key "$d/imaging-2.key" >/dev/null || die "rotate imaging-2"
hw imaging-2 1 dlopez P0002
hw imaging-3 5 asmith P0003
mkdir "$d/keys"; for h in imaging-1 imaging-2 imaging-3; do cp "$d/$h.key.pub" "$d/keys/$h.pub"; done
all=$(ls "$d"/imaging-*/audit.jsonl*)
# shellcheck disable=SC2086
out=$("$pg" audit verify --keys "$d/keys" $all); rc=$?
is "three hosts' logs verify, each with its own key" "$rc" 0
is "...one verdict per host" "$(printf '%s\n' "$out" | grep -c '^host imaging-[123]: OK')" 3
like "...imaging-2's two files as one chain" "$out" "host imaging-2: note: 2 files"
# shellcheck disable=SC2086
out=$("$pg" audit verify --key "imaging-1=$d/imaging-1.key.pub" --key "imaging-2=$d/imaging-2.key.pub" --key "$d/imaging-3.key.pub" --json $all); rc=$?
is "--key HOST=PUB and a default key" "$rc" 0
is "...JSON: one entry per host" "$(printf '%s' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["ok"], sorted((h["host"], h["records"] > 0) for h in d["hosts"]))')" \
	"True [('imaging-1', True), ('imaging-2', True), ('imaging-3', True)]"
# shellcheck disable=SC2086
out=$("$pg" audit verify --key "$d/imaging-1.key.pub" $all); rc=$?
is "a host verified with another host's key fails" "$rc" 1
like "...naming the host and the key" "$out" "host imaging-2: FAIL: .*bad signature: .*signed by key"
cp "$d/imaging-3/audit.jsonl" "$dir/keep3"
sed -i '2s/"actor":"asmith"/"actor":"bsmith"/' "$d/imaging-3/audit.jsonl"
# shellcheck disable=SC2086
out=$("$pg" audit verify --keys "$d/keys" $all); rc=$?
is "one host's tampered log fails the whole verdict" "$rc" 1
like "...naming that host" "$out" "host imaging-3: FAIL: seq [0-9]+: edited"
is "...while the others still verify" "$(printf '%s\n' "$out" | grep -c '^host imaging-[12]: OK')" 2
# shellcheck disable=SC2086
out=$("$pg" audit report --all-users --csv --keys "$d/keys" $all); rc=$?
is "the report over a tampered host exits 1" "$rc" 1
like "...with the warning first, naming the host" "$(printf '%s\n' "$out" | head -1)" "^# WARNING: THE AUDIT LOG OF imaging-3 DOES NOT VERIFY"
cp "$dir/keep3" "$d/imaging-3/audit.jsonl"
# shellcheck disable=SC2086
out=$("$pg" audit report --user dlopez --csv --keys "$d/keys" $all); rc=$?
is "a clinic-wide report over three servers exits 0" "$rc" 0
is "...one row per patient and server" "$(printf '%s\n' "$out" | sed 1d | cut -d, -f1-4 | tr '\n' ' ')" \
	'"dlopez","P0001","imaging-1",3 "dlopez","P0001","imaging-2",2 "dlopez","P0002","imaging-2",5 '
# shellcheck disable=SC2086
out=$("$pg" audit report --all-users --keys "$d/keys" $all); rc=$?
like "the table names the servers and what each verified" "$out" "imaging-3: verified, seq 1 to [0-9]+"
like "...with a SERVER column" "$out" "USER +PATIENT +SERVER +FILES"
like "...and totals over the clinic" "$out" "Total: 3 patients, 15 files"

done_testing
