# twogw.sh - two imaging servers on one directory, for the tests and the
# bench of lockout propagation: the gateway of lib.sh is server A
# ($tmp/etc/pg.conf, $tmp/mnt); server B has a configuration, lockout
# store, audit log, MFA tickets, control socket and mount point of its
# own ($tmp/etc/b.conf, $tmp/mnt-b).  Both bind as the documented service
# account, watch pwdAccountLockedTime, and cache directory answers for ten
# minutes, so whatever reaches B within a second came by the watch.
# deploy/ldap/syncprov.ldif is applied to the running slapd as an admin
# would (so slapd must be started with SLAPD_LDAPI=1).
#
# Source after lib.sh, then: gw_setup_or_bail; twogw_setup || ...;
# gw_start_or_bail ...; twogw_start_b || ...  More servers (C, ...) are
# made the same way: twogw_conf c; twogw_start c.
# The probe user is gwbulk, whose rules here need no MFA and lock out
# after a few files (the probe must cross the threshold every round).

GW_B_PID=
TWOGW_BIND_DN=

# twogw_setup: the bind account, the sync provider, both configurations.
twogw_setup() {
	local pw
	TWOGW_BIND_DN="cn=photoguard,ou=services,$SLAPD_BASE_DN"
	pw=bind-$RANDOM$RANDOM
	printf 'dn: ou=services,%s\nobjectClass: organizationalUnit\nou: services\n\ndn: %s\nobjectClass: applicationProcess\nobjectClass: simpleSecurityObject\ncn: photoguard\nuserPassword: %s\n' \
	    "$SLAPD_BASE_DN" "$TWOGW_BIND_DN" "$pw" | slapd_modify || return 1
	printf '%s' "$pw" >"$tmp/etc/bind.pw"
	chgrp "$(id -g gwstore)" "$tmp/etc/bind.pw"
	chmod 0640 "$tmp/etc/bind.pw"
	if [ "${GW_SLAPD_PAIR:-0}" = 1 ]; then
		# Replicating providers have syncprov: only the rights, on
		# each (cn=config is not replicated).
		sed -n '/^dn: olcDatabase={1}mdb,cn=config$/,$p' \
		    "$PG_SOURCE_ROOT/deploy/ldap/syncprov.ldif" >"$tmp/syncprov-acl.ldif"
		twogw_config "$tmp/syncprov-acl.ldif" >"$tmp/syncprov.out" 2>&1
	else
		slapd_config "$PG_SOURCE_ROOT/deploy/ldap/syncprov.ldif" >"$tmp/syncprov.out" 2>&1
	fi || { cat "$tmp/syncprov.out" >&2; return 1; }
	sed -i -e "/^\[directory\]/a bind_dn = $TWOGW_BIND_DN\nbind_password_file = $tmp/etc/bind.pw\nlockout_attribute = pwdAccountLockedTime" \
	    -e "s/^cache_ttl = .*/cache_ttl = 10m/" "$tmp/etc/pg.conf"
	twogw_conf b || return 1
	# gwbulk: no MFA, no refusing limit, locked out after six files.
	sed -i -e 's|^allow bulk list,read patients/{patient}/\*\* if care-team and mfa$|allow bulk list,read patients/{patient}/** if care-team|' \
	    -e 's|^limit bulk .*|limit bulk files 100000/10min bytes 100GiB/10min|' \
	    -e 's|^lockout bulk .*|lockout bulk files 6/10min|' "$tmp/etc/test.policy"
	grep -q '^lockout bulk files 6/10min$' "$tmp/etc/test.policy" &&
	    grep -q 'patients/{patient}/\*\* if care-team$' "$tmp/etc/test.policy"
}

# twogw_config LDIF: applies LDIF to cn=config of the slapd, or of both
# providers with GW_SLAPD_PAIR=1.
twogw_config() {
	if [ "${GW_SLAPD_PAIR:-0}" != 1 ]; then
		slapd_config "$1"
		return
	fi
	slapd_pair_use 2 && slapd_config "$1" && slapd_pair_use 1 &&
	    slapd_config "$1"
}

# twogw_conf X: server X's configuration, $tmp/etc/X.conf: A's, with a
# lockout store, audit log, MFA tickets, mount point and control socket
# of its own.  Made again after a change to A's.
twogw_conf() {
	local x=$1
	sed -e "s|^dir = $tmp/lockout\$|dir = $tmp/lockout-$x|" \
	    -e "s|^log = $tmp/audit/audit.jsonl\$|log = $tmp/audit-$x/audit.jsonl|" \
	    -e "s|^ticket_dir = $tmp/mfa\$|ticket_dir = $tmp/mfa-$x|" \
	    -e "s|^mountpoint = $tmp/mnt\$|mountpoint = $tmp/mnt-$x|" \
	    -e "s|^control_socket = .*|control_socket = $tmp/gateway-$x.sock|" \
	    "$tmp/etc/pg.conf" >"$tmp/etc/$x.conf"
	chmod 0644 "$tmp/etc/$x.conf"
	mkdir -p "$tmp/mnt-$x" "$tmp/audit-$x"
	chmod 0700 "$tmp/audit-$x"
	grep -q "^dir = $tmp/lockout-$x\$" "$tmp/etc/$x.conf" &&
	    grep -q "^log = $tmp/audit-$x/audit.jsonl\$" "$tmp/etc/$x.conf" &&
	    grep -q "^mountpoint = $tmp/mnt-$x\$" "$tmp/etc/$x.conf"
}

# twogw_start X: server X's gateway, mounted; its pid in TWOGW_PID[X].
declare -A TWOGW_PID=()
twogw_start() {
	local x=$1 i
	"$GW_BIN" --config "$tmp/etc/$x.conf" -f "$tmp/mnt-$x" \
	    >>"$tmp/gateway-$x.log" 2>&1 9>&- &
	TWOGW_PID[$x]=$!
	for i in $(seq 1 100); do
		mountpoint -q "$tmp/mnt-$x" && return 0
		kill -0 "${TWOGW_PID[$x]}" 2>/dev/null || break
		sleep 0.05
	done
	return 1
}

twogw_stop() {
	gw_stop_at "$tmp/mnt-$1" "${TWOGW_PID[$1]:-}"
	TWOGW_PID[$1]=
}

twogw_start_b() {
	twogw_start b || return 1
	GW_B_PID=${TWOGW_PID[b]}
}

twogw_stop_b() {
	twogw_stop b
	GW_B_PID=
}

# twogw_watch_up CONF [S]: waits (S seconds, default 10) until the gateway
# of CONF says its watch of the directory's lockouts is up.
twogw_watch_up() {
	local i
	for i in $(seq 1 $((${2:-10} * 20))); do
		"$PG_CLI" --config "$1" status 2>/dev/null |
		    grep -q '^directory watch: up' && return 0
		sleep 0.05
	done
	return 1
}

# twogw_probe: the probe (dirsync_probe.py) as a coprocess PROBE: gwbulk
# holds a file open on B, crosses the threshold on A, is probed on B.
twogw_probe() {
	local f args=()
	for f in "$tmp"/store/patients/P00000[1-6]/*/IMG_000[1-3].jpg; do
		args+=(--file "${f#"$tmp/store/"}")
	done
	coproc PROBE { exec python3 "$PG_SOURCE_ROOT/gateway/tests/dirsync_probe.py" \
	    --uid 2907 --gid "$GW_GID" --a "$tmp/mnt" --b "$tmp/mnt-b" \
	    --held patients/P000001/2026-01-10-preop/IMG_0001.jpg \
	    --probe patients/P000002/2026-01-10-preop/IMG_0002.jpg "${args[@]}" 9>&-; }
}

# probe CMD...: one command to the probe; its JSON answer on stdout.
probe() {
	local line
	printf '%s\n' "$*" >&"${PROBE[1]}"
	IFS= read -r -t 30 line <&"${PROBE[0]}" || line='{"ok": false, "why": "no answer from the probe"}'
	printf '%s\n' "$line"
}

# jget JSON KEY: one value of a JSON object ("" if absent).
jget() {
	python3 -c 'import json,sys
v = json.loads(sys.argv[1]).get(sys.argv[2], "")
print(str(v).lower() if isinstance(v, bool) else v)' "$1" "$2"
}
