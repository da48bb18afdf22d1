#!/bin/bash
# ldap_unavail.sh - failures of the LDAP backend's connection: a server
# that accepts and never answers (timeouts hold, measured), a closed port,
# a server that restarts (one reconnect), bad credentials and unsafe bind
# password files.  Each is an error, never an answer.
. "$PG_SOURCE_ROOT/core/dir/tests/common.sh"
start_fixture_slapd
T="--net-timeout-ms 1000 --timeout-ms 1000"

out=$(dl $T lookup asmith)
is "bound as the service account, asmith is found" "$(field result "$out")" ok

# A silent server: slapd stopped with SIGSTOP still accepts connections.
slapd_pause
out=$(dl $T lookup asmith)
is "StartTLS to a silent server: PG_ERR_DIR_UNAVAIL" \
    "$(field result "$out")" unavail
ms=$(field elapsed_ms "$out")
check "... within 3 s of 1 s timeouts (took ${ms} ms)" \
    test "${ms:-99999}" -lt 3000
check "... and not before the timeout (took ${ms} ms)" \
    test "${ms:-0}" -ge 900
out=$(dl $T --uri "$SLAPD_LDAPS_URI" --tls ldaps lookup asmith)
is "ldaps to a silent server (TLS handshake never answered): unavail" \
    "$(field result "$out")" unavail
ms=$(field elapsed_ms "$out")
check "... within 3 s of 1 s timeouts (took ${ms} ms)" \
    test "${ms:-99999}" -lt 3000
out=$(dl $T --tls none lookup asmith)
is "plain LDAP to a silent server: unavail" "$(field result "$out")" unavail
ms=$(field elapsed_ms "$out")
check "... within 3 s (took ${ms} ms)" test "${ms:-99999}" -lt 3000
slapd_resume

# Silent after a good connection: the search itself must time out.
# The pause waits until slapd is seen stopped (slapd_pause), so the
# second lookup cannot race the signal.
cat >"$WORK/pause.sh" <<PAUSE
. "$PG_SOURCE_ROOT/tests/lib/slapd.sh"
SLAPD_PID=$SLAPD_PID slapd_pause
PAUSE
out=$(printf '%s\n' "lookup asmith" "sh bash $WORK/pause.sh" \
    "flush" "lookup bjones" "sh kill -CONT $SLAPD_PID" "lookup cwu" |
    dl $T --script)
is "lookups on one connection: first ok, silent server, recovered" \
    "$(printf '%s\n' "$out" | sed -n 's/^result: //p' | tr '\n' ' ')" \
    "ok unavail ok " ||
    diag "elapsed: $(printf '%s\n' "$out" | sed -n 's/^elapsed_ms: //p' | tr '\n' ' ')"

port=$(slapd_free_port)
out=$(dl $T --uri "ldap://127.0.0.1:$port" lookup asmith)
is "closed port with StartTLS: PG_ERR_DIR_UNAVAIL" "$(field result "$out")" \
    unavail
out=$(dl $T --uri "ldaps://127.0.0.1:$port" --tls ldaps lookup asmith)
is "closed port with ldaps: PG_ERR_DIR_UNAVAIL" "$(field result "$out")" \
    unavail

# The server goes away between two lookups and comes back on the same
# port: the client reconnects once, without the caller noticing.
# The old slapd closes its port before it unlinks its pid file on the
# way out: wait until it has exited (gone, or a zombie of this shell),
# else it would remove the pid file the new one has just written.
cat >"$WORK/restart.sh" <<RESTART
kill $SLAPD_PID
for i in \$(seq 1 100); do
	[ -d /proc/$SLAPD_PID ] || break
	grep -q '^[^ ]* ([^)]*) Z' /proc/$SLAPD_PID/stat 2>/dev/null && break
	sleep 0.1
done
for i in \$(seq 1 50); do
	ss -Htln "sport = :$SLAPD_PORT" | grep -q . || break
	sleep 0.1
done
/usr/sbin/slapd -h "$SLAPD_URI/ $SLAPD_LDAPS_URI/" -F "$SLAPD_DIR/slapd.d"
RESTART
out=$(printf '%s\n' "lookup asmith" "sh sh $WORK/restart.sh" "sleep 500" \
    "lookup bjones" | dl $T --script)
wait "$SLAPD_PID" 2>/dev/null
is "after a slapd restart the next lookup reconnects and works" \
    "$(printf '%s\n' "$out" | sed -n 's/^result: //p' | tr '\n' ' ')" \
    "ok ok "
# The restarted slapd forked into the background: track it by its pid
# file, once that names it (not the old one, which may be gone or not
# yet): else slapd_stop would miss it and it would outlive the test.
old_pid=$SLAPD_PID
for i in $(seq 1 100); do
	SLAPD_PID=$(cat "$SLAPD_DIR/slapd.pid" 2>/dev/null)
	[ -n "$SLAPD_PID" ] && [ "$SLAPD_PID" != "$old_pid" ] &&
	    kill -0 "$SLAPD_PID" 2>/dev/null && break
	sleep 0.05
done
check "the restarted slapd is tracked by its pid file" \
    test -n "$SLAPD_PID" -a "$SLAPD_PID" != "$old_pid"

# Credentials.
(umask 077 && echo "wrong-password" >"$WORK/wrong.pw")
out=$(dl $T --bind-pw-file "$WORK/wrong.pw" lookup asmith)
is "a wrong bind password: PG_ERR_AUTH" "$(field result "$out")" auth
out=$(dl $T --bind-dn "cn=nobody,ou=services,$SLAPD_BASE_DN" lookup asmith)
is "an unknown bind DN: PG_ERR_AUTH" "$(field result "$out")" auth

(umask 077 && printf '%s' "$SVC_PW" >"$WORK/nonl.pw")
out=$(dl $T --bind-pw-file "$WORK/nonl.pw" lookup asmith)
is "a password file without a trailing newline works too" \
    "$(field result "$out")" ok
(umask 077 && printf '%s\n\n' "$SVC_PW" >"$WORK/twonl.pw")
out=$(dl $T --bind-pw-file "$WORK/twonl.pw" lookup asmith)
is "only one trailing newline is stripped" "$(field result "$out")" auth

cp -p "$PWFILE" "$WORK/open.pw"
chmod 0644 "$WORK/open.pw"
out=$(dl $T --bind-pw-file "$WORK/open.pw" lookup asmith)
is "a world-readable bind password file is refused" "$out" "open: perm"
chmod 0640 "$WORK/open.pw"
out=$(dl $T --bind-pw-file "$WORK/open.pw" lookup asmith)
is "a group-readable bind password file is refused" "$out" "open: perm"
ln -s "$PWFILE" "$WORK/link.pw"
out=$(dl $T --bind-pw-file "$WORK/link.pw" lookup asmith)
is "a symlinked bind password file is refused" "$out" "open: symlink"
(umask 077 && : >"$WORK/empty.pw")
out=$(dl $T --bind-pw-file "$WORK/empty.pw" lookup asmith)
is "an empty password (an anonymous bind in disguise) is refused" \
    "$(field result "$out")" config
out=$(dl $T --bind-pw-file "$WORK/missing.pw" lookup asmith)
is "a missing bind password file is refused" "$out" "open: notfound"
out=$(dl $T --bind-pw-file "$WORK/wrong.pw" lookup asmith)
check "the refused password never appears in the messages" \
    bash -c '! printf "%s" "$1" | grep -qF wrong-password' _ "$out"

sanitizer_clean
done_testing
