# slapd.sh - start a real, throwaway slapd for integration tests.
#
# Source it from a bash test, then:
#   slapd_start [DIR [LDIF]]  start slapd in DIR (default: a new temp dir that
#                             slapd_stop removes), load LDIF (default: none),
#                             wait until it answers; kill it on exit.
#   slapd_stop                stop it (idempotent; also run from the EXIT trap)
#   slapd_pause / slapd_resume  SIGSTOP/SIGCONT: a server that accepts
#                             connections but never answers
#   slapd_modify [LDIF]       ldapmodify -a as the admin (LDIF file or stdin;
#                             records without changetype are added)
#   slapd_search ARGS...      ldapsearch as the admin on the plain URI
#   slapd_config [LDIF]       ldapmodify of cn=config as root over ldapi
#                             (SLAPD_LDAPI=1)
#   slapd_restart             stop slapd and start it again on the same
#                             ports and data (for tests of reconnecting)
#   slapd_free_port           print a free TCP port on 127.0.0.1
#
# Two providers in multi-provider replication of the data database (each
# with its own directory, configuration and loopback ports, olcServerID 1
# and 2, syncprov, olcSyncrepl to the peer as its rootdn, refreshAndPersist,
# retry "1 +", olcMultiProvider TRUE); the knobs below apply to both:
#   slapd_pair_start [DIR [LDIF]]  start provider 1 with LDIF, provider 2
#                             with a copy of its data (slapcat), in DIR/p1
#                             and DIR/p2; stop both on exit.  The single
#                             server's variables and functions then name
#                             provider 1 (slapd_pair_use N switches them)
#   slapd_pair_use N          point SLAPD_URI, SLAPD_PID, SLAPD_DIR,
#                             slapd_search, slapd_modify, ... at provider N
#   slapd_pair_kill N [SIG]   kill provider N (default SIGKILL: a crash)
#   slapd_pair_restart N      start provider N again on its ports and data
#   slapd_pair_stop           stop both (idempotent; the EXIT trap)
#   slapd_pair_wait_sync [S]  wait up to S seconds (default 10) until both
#                             answer with the same contextCSN values
#   Exported: SLAPD_P1_URI SLAPD_P2_URI, SLAPD_PAIR_URIS ("p1 p2", the
#   order a client should try them), SLAPD_P1_PID SLAPD_P2_PID,
#   SLAPD_P1_DIR SLAPD_P2_DIR, SLAPD_P1_LDAPS_URI SLAPD_P2_LDAPS_URI
#   slapd_gen_certs DIR       make ca.crt, server.{crt,key}, wrong-ca.crt in DIR
#
# Knobs, set before slapd_start:
#   SLAPD_TLS=0        no TLS at all (no certificate, no ldaps listener)
#   SLAPD_PPOLICY=0    do not load the ppolicy overlay (loaded by default)
#   SLAPD_SYNCPROV=1   load the syncprov overlay (RFC 4533 sync provider:
#                      what the gateways watch lockouts with) on the data
#   SLAPD_LDAPI=1      also listen on ldapi://$SLAPD_DIR/ldapi, where root
#                      (SASL EXTERNAL) manages cn=config: for tests that
#                      apply deploy/ldap/*.ldif to a running server as an
#                      admin would (slapd_config)
#   SLAPD_SUFFIX       base DN (default dc=clinic,dc=example)
#   SLAPD_OTP=1        load the otp module (slapo-otp's oath* schema) and
#                      photoguard's schema addition (deploy/ldap/
#                      photoguard-schema.ldif); the otp overlay itself is
#                      not put on the database, so binds are unchanged
#   SLAPD_SIZELIMIT    olcSizeLimit of everyone but the admin (default
#                      unlimited), e.g. as Active Directory pages:
#                      "size.soft=1000 size.hard=1000 size.pr=1000
#                      size.prtotal=unlimited"
#   SLAPD_SCHEMAS      more schema LDIF files to include (space-separated
#                      absolute paths), e.g. another directory's attributes
#   SLAPD_ACCESS       olcAccess values (one a line, without {N}) put before
#                      the default ones, e.g. from deploy/ldap/photoguard-acl.ldif
#   SLAPD_DEBUG        slapd's -d level into $SLAPD_DIR/slapd.log (0), e.g.
#                      stats to see each operation
#
# Exported after slapd_start:
#   SLAPD_URI (ldap://127.0.0.1:PORT)  SLAPD_LDAPS_URI (ldaps://127.0.0.1:PORT2)
#   SLAPD_PORT SLAPD_LDAPS_PORT SLAPD_BASE_DN SLAPD_ADMIN_DN SLAPD_ADMIN_PW
#   SLAPD_CA (CA that signed the server certificate)  SLAPD_WRONG_CA (an
#   unrelated CA)  SLAPD_DIR  SLAPD_PID  SLAPD_LDAPI_URI (with SLAPD_LDAPI=1)
#
# It never touches the system slapd, /etc/ldap/slapd.d or port 389/636: the
# configuration lives in DIR, built with slapadd -n0, on high loopback ports.
# A test that sets its own EXIT trap must call slapd_stop from it.

SLAPD_BIN=${SLAPD_BIN:-/usr/sbin/slapd}
SLAPD_SCHEMA_DIR=${SLAPD_SCHEMA_DIR:-/etc/ldap/schema}
. "$(dirname "${BASH_SOURCE[0]}")/port.sh"
SLAPD_MODULE_DIR=${SLAPD_MODULE_DIR:-/usr/lib/ldap}
SLAPD_PG_SCHEMA=${SLAPD_PG_SCHEMA:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/deploy/ldap/photoguard-schema.ldif}
SLAPD_PID=
SLAPD_OWN_DIR=0

slapd_free_port() {
	free_port
}

# slapd_gen_certs DIR: a test CA, a server certificate for 127.0.0.1 and
# localhost signed by it, and a second CA that signed nothing of ours.
slapd_gen_certs() {
	local d=$1
	mkdir -p "$d" || return 1
	(
		set -e
		cd "$d"
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
		    -subj "/CN=photoguard test CA" -keyout ca.key -out ca.crt
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
		    -subj "/CN=photoguard unrelated CA" \
		    -keyout wrong-ca.key -out wrong-ca.crt
		openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
		    -keyout server.key -out server.csr
		printf '%s\n' 'subjectAltName=IP:127.0.0.1,DNS:localhost' \
		    'basicConstraints=CA:FALSE' \
		    'extendedKeyUsage=serverAuth' >server.ext
		openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key \
		    -CAcreateserial -days 2 -extfile server.ext -out server.crt
		chmod 600 ./*.key
	) >"$d/openssl.log" 2>&1
}

# Writes the cn=config LDIF for slapadd -n0 to stdout.
_slapd_config_ldif() {
	local d=$1
	cat <<CFG
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: $d/slapd.pid
olcArgsFile: $d/slapd.args
olcLogLevel: none
CFG
	[ -n "${_SLAPD_SID:-}" ] && echo "olcServerID: $_SLAPD_SID"
	if [ "${SLAPD_TLS:-1}" != 0 ]; then
		cat <<CFG
olcTLSCACertificateFile: $d/tls/ca.crt
olcTLSCertificateFile: $d/tls/server.crt
olcTLSCertificateKeyFile: $d/tls/server.key
CFG
	fi
	cat <<CFG

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: $SLAPD_MODULE_DIR
olcModuleLoad: back_mdb
CFG
	[ "${SLAPD_PPOLICY:-1}" != 0 ] && echo "olcModuleLoad: ppolicy"
	[ "${SLAPD_OTP:-0}" != 0 ] && echo "olcModuleLoad: otp"
	[ "${SLAPD_SYNCPROV:-0}" = 1 ] && echo "olcModuleLoad: syncprov"
	cat <<CFG

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file://$SLAPD_SCHEMA_DIR/core.ldif

include: file://$SLAPD_SCHEMA_DIR/cosine.ldif

include: file://$SLAPD_SCHEMA_DIR/nis.ldif

include: file://$SLAPD_SCHEMA_DIR/inetorgperson.ldif
CFG
	if [ "${SLAPD_OTP:-0}" != 0 ]; then
		printf '\ninclude: file://%s\n' "$SLAPD_PG_SCHEMA"
	fi
	for f in ${SLAPD_SCHEMAS:-}; do
		printf '\ninclude: file://%s\n' "$f"
	done
	cat <<CFG

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcSizeLimit: ${SLAPD_SIZELIMIT:-unlimited}

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
CFG
	if [ "${SLAPD_LDAPI:-0}" = 1 ]; then
		echo 'olcAccess: {0}to * by dn.exact=gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth manage by * none'
	else
		echo 'olcAccess: {0}to * by * none'
	fi
	cat <<CFG

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: $SLAPD_BASE_DN
olcRootDN: $SLAPD_ADMIN_DN
olcRootPW: $SLAPD_ADMIN_PW
olcDbDirectory: $d/db
olcDbMaxSize: 268435456
olcDbIndex: objectClass eq
olcDbIndex: uid eq
olcDbIndex: cn eq
olcDbIndex: member eq
olcDbIndex: memberUid eq
olcSizeLimit: ${SLAPD_SIZELIMIT:-unlimited}
CFG
	if [ -n "${_SLAPD_PEER_URI:-}" ]; then
		# The peer as its rootdn (reads everything, limits do not
		# apply); "1 +": retry every second for ever.
		cat <<CFG
olcSyncrepl: rid=001 provider=$_SLAPD_PEER_URI bindmethod=simple
  binddn="$SLAPD_ADMIN_DN" credentials="$SLAPD_ADMIN_PW"
  searchbase="$SLAPD_BASE_DN" type=refreshAndPersist retry="1 +"
  timeout=1 network-timeout=1
olcMultiProvider: TRUE
CFG
	fi
	# Numbered in order: slapadd refuses a mix of {N} and plain values.
	{
		printf '%s\n' "${SLAPD_ACCESS:-}" | sed '/^$/d'
		cat <<CFG
to attrs=userPassword by self write by anonymous auth by * none
to attrs=pwdAccountLockedTime by dn.exact="cn=photoguard,ou=services,$SLAPD_BASE_DN" write by * read
to * by * read
CFG
	} | awk '{ printf "olcAccess: {%d}%s\n", NR - 1, $0 }'
	if [ "${SLAPD_PPOLICY:-1}" != 0 ]; then
		cat <<CFG

dn: olcOverlay={0}ppolicy,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcPPolicyConfig
olcOverlay: {0}ppolicy
CFG
	fi
	if [ "${SLAPD_SYNCPROV:-0}" = 1 ]; then
		cat <<CFG

dn: olcOverlay={1}syncprov,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcSyncProvConfig
olcOverlay: {1}syncprov
CFG
		# A provider killed must find its contextCSN current when it
		# comes back: written after every change.
		[ -n "${_SLAPD_PEER_URI:-}" ] && echo "olcSpCheckpoint: 1 1"
	fi
}

# slapd_start [DIR [LDIF]]
slapd_start() {
	local d=${1:-} ldif=${2:-} i listen
	if [ -n "$SLAPD_PID" ]; then
		echo "slapd_start: already running ($SLAPD_PID)" >&2
		return 1
	fi
	if [ -z "$d" ]; then
		d=$(mktemp -d /tmp/pg-slapd.XXXXXX) || return 1
		SLAPD_OWN_DIR=1
	fi
	# A DIR that does not exist yet is made: without it the cd fails,
	# SLAPD_DIR is empty and slapd would live in / (shared by every run).
	mkdir -p "$d" || return 1
	SLAPD_DIR=$(cd "$d" && pwd) && [ -n "$SLAPD_DIR" ] || return 1
	SLAPD_BASE_DN=${SLAPD_SUFFIX:-dc=clinic,dc=example}
	SLAPD_ADMIN_DN="cn=admin,$SLAPD_BASE_DN"
	SLAPD_ADMIN_PW=${SLAPD_ADMIN_PW:-admin-$RANDOM$RANDOM}
	export SLAPD_DIR SLAPD_BASE_DN SLAPD_ADMIN_DN SLAPD_ADMIN_PW
	trap slapd_stop EXIT

	rm -rf "$SLAPD_DIR/slapd.d" "$SLAPD_DIR/db"
	mkdir -p "$SLAPD_DIR/slapd.d" "$SLAPD_DIR/db" || return 1
	if [ "${SLAPD_TLS:-1}" != 0 ]; then
		if [ ! -f "$SLAPD_DIR/tls/server.crt" ]; then
			slapd_gen_certs "$SLAPD_DIR/tls" || {
				echo "slapd_start: certificate generation failed:" >&2
				cat "$SLAPD_DIR/tls/openssl.log" >&2
				return 1
			}
		fi
		export SLAPD_CA="$SLAPD_DIR/tls/ca.crt"
		export SLAPD_WRONG_CA="$SLAPD_DIR/tls/wrong-ca.crt"
	fi
	_slapd_config_ldif "$SLAPD_DIR" >"$SLAPD_DIR/config.ldif"
	if ! slapadd -n0 -F "$SLAPD_DIR/slapd.d" -l "$SLAPD_DIR/config.ldif" \
	    >"$SLAPD_DIR/slapadd.log" 2>&1; then
		echo "slapd_start: slapadd -n0 failed:" >&2
		cat "$SLAPD_DIR/slapadd.log" >&2
		return 1
	fi
	{
		printf 'dn: %s\nobjectClass: dcObject\nobjectClass: organization\n' \
		    "$SLAPD_BASE_DN"
		printf 'o: photoguard test\ndc: %s\n' \
		    "$(echo "$SLAPD_BASE_DN" | sed 's/^dc=\([^,]*\).*/\1/')"
	} >"$SLAPD_DIR/base.ldif"
	if [ -n "$ldif" ]; then
		# The LDIF may carry its own base entry; load it as is then.
		if grep -qi "^dn: *$SLAPD_BASE_DN\$" "$ldif"; then
			: >"$SLAPD_DIR/base.ldif"
		fi
		cat "$ldif" >>"$SLAPD_DIR/base.ldif"
	fi
	if [ -s "$SLAPD_DIR/base.ldif" ] && ! slapadd -q -n1 \
	    -F "$SLAPD_DIR/slapd.d" -l "$SLAPD_DIR/base.ldif" \
	    >>"$SLAPD_DIR/slapadd.log" 2>&1; then
		echo "slapd_start: slapadd of the data failed:" >&2
		cat "$SLAPD_DIR/slapadd.log" >&2
		return 1
	fi

	: >"$SLAPD_DIR/slapd.log"
	for i in 1 2 3 4 5; do
		# A pair chose its ports first: each names the other's.
		if [ -n "${_SLAPD_PRESET_PORT:-}" ]; then
			[ "$i" = 1 ] || break
			SLAPD_PORT=$_SLAPD_PRESET_PORT
			SLAPD_LDAPS_PORT=$_SLAPD_PRESET_LDAPS_PORT
		else
			SLAPD_PORT=$(slapd_free_port) || return 1
			SLAPD_LDAPS_PORT=$(slapd_free_port) || return 1
		fi
		[ "$SLAPD_PORT" != "$SLAPD_LDAPS_PORT" ] || continue
		export SLAPD_PORT SLAPD_LDAPS_PORT
		export SLAPD_URI="ldap://127.0.0.1:$SLAPD_PORT"
		export SLAPD_LDAPS_URI="ldaps://127.0.0.1:$SLAPD_LDAPS_PORT"
		if _slapd_launch; then
			return 0
		fi
	done
	echo "slapd_start: slapd did not come up:" >&2
	cat "$SLAPD_DIR/slapd.log" >&2
	return 1
}

# Starts slapd on SLAPD_URI (and the others) and waits until it answers.
_slapd_launch() {
	local listen="$SLAPD_URI/"
	[ "${SLAPD_TLS:-1}" != 0 ] && listen="$listen $SLAPD_LDAPS_URI/"
	if [ "${SLAPD_LDAPI:-0}" = 1 ]; then
		# The socket path, %-encoded as an ldapi URL wants it.
		SLAPD_LDAPI_URI="ldapi://$(printf '%s' "$SLAPD_DIR/ldapi" | sed 's|/|%2F|g')"
		export SLAPD_LDAPI_URI
		listen="$listen $SLAPD_LDAPI_URI/"
	fi
	# Not fd 9: a slapd left behind must not hold the gateway
	# tests' lock (gateway/tests/lib.sh) for every later run.
	"$SLAPD_BIN" -d "${SLAPD_DEBUG:-0}" -h "$listen" -F "$SLAPD_DIR/slapd.d" \
	    >>"$SLAPD_DIR/slapd.log" 2>&1 9>&- &
	SLAPD_PID=$!
	export SLAPD_PID
	_slapd_wait && return 0
	kill "$SLAPD_PID" 2>/dev/null
	wait "$SLAPD_PID" 2>/dev/null
	SLAPD_PID=
	return 1
}

# slapd_restart: the same server (ports, data, configuration) stopped and
# started again, as a restart by the service manager would.
slapd_restart() {
	local own=$SLAPD_OWN_DIR i
	SLAPD_OWN_DIR=0
	slapd_stop
	SLAPD_OWN_DIR=$own
	# The ports were ours a moment ago; wait for the kernel to let go.
	for i in $(seq 1 50); do
		_slapd_launch && return 0
		sleep 0.1
	done
	echo "slapd_restart: slapd did not come back:" >&2
	tail -20 "$SLAPD_DIR/slapd.log" >&2
	return 1
}

# Waits up to 10 s until slapd answers a root DSE search.
_slapd_wait() {
	local i
	for i in $(seq 1 100); do
		kill -0 "$SLAPD_PID" 2>/dev/null || return 1
		if ldapsearch -x -H "$SLAPD_URI" -b "" -s base \
		    -o nettimeout=1 -l 1 >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

slapd_stop() {
	local i
	if [ -n "$SLAPD_PID" ]; then
		kill -CONT "$SLAPD_PID" 2>/dev/null
		kill "$SLAPD_PID" 2>/dev/null
		wait "$SLAPD_PID" 2>/dev/null
		# Not our child (restarted by a test): wait until it is gone.
		for i in $(seq 1 50); do
			[ -d "/proc/$SLAPD_PID" ] || break
			grep -q '^[^ ]* ([^)]*) Z' "/proc/$SLAPD_PID/stat" \
			    2>/dev/null && break
			sleep 0.1
		done
		SLAPD_PID=
	fi
	if [ "$SLAPD_OWN_DIR" = 1 ] && [ -n "${SLAPD_DIR:-}" ]; then
		rm -rf "$SLAPD_DIR"
		SLAPD_OWN_DIR=0
	fi
}

# SIGSTOP is delivered asynchronously: wait until the kernel reports the
# process stopped, so a request sent next cannot be answered.
slapd_pause() {
	local i
	kill -STOP "$SLAPD_PID"
	for i in $(seq 1 200); do
		[ "$(sed 's/^.*) //' "/proc/$SLAPD_PID/stat" | cut -d' ' -f1)" = T ] &&
		    return 0
		sleep 0.01
	done
	echo "# slapd_pause: slapd $SLAPD_PID is not stopped after 2 s" >&2
	return 1
}

slapd_resume() {
	kill -CONT "$SLAPD_PID"
}

slapd_modify() {
	ldapmodify -a -x -H "$SLAPD_URI" -D "$SLAPD_ADMIN_DN" \
	    -w "$SLAPD_ADMIN_PW" ${1:+-f "$1"} >/dev/null
}

slapd_search() {
	ldapsearch -LLL -x -H "$SLAPD_URI" -D "$SLAPD_ADMIN_DN" \
	    -w "$SLAPD_ADMIN_PW" "$@"
}

slapd_config() {
	ldapmodify -Q -Y EXTERNAL -H "$SLAPD_LDAPI_URI" ${1:+-f "$1"}
}

# --- two providers --------------------------------------------------------

_SLAPD_PAIR_TOP=
_SLAPD_PAIR_OWN=0
_SLAPD_PAIR_PID=()
_SLAPD_PAIR_PORT=()
_SLAPD_PAIR_LPORT=()

# Points the single server's variables at provider N.
slapd_pair_use() {
	local n=$1
	SLAPD_DIR=$_SLAPD_PAIR_TOP/p$n
	SLAPD_PID=${_SLAPD_PAIR_PID[$n]}
	SLAPD_PORT=${_SLAPD_PAIR_PORT[$n]}
	SLAPD_LDAPS_PORT=${_SLAPD_PAIR_LPORT[$n]}
	SLAPD_URI="ldap://127.0.0.1:$SLAPD_PORT"
	SLAPD_LDAPS_URI="ldaps://127.0.0.1:$SLAPD_LDAPS_PORT"
	SLAPD_OWN_DIR=0
	export SLAPD_DIR SLAPD_PID SLAPD_PORT SLAPD_LDAPS_PORT SLAPD_URI \
	    SLAPD_LDAPS_URI
	if [ "${SLAPD_LDAPI:-0}" = 1 ]; then
		SLAPD_LDAPI_URI="ldapi://$(printf '%s' "$SLAPD_DIR/ldapi" | sed 's|/|%2F|g')"
		export SLAPD_LDAPI_URI
	fi
}

_slapd_pair_export() {
	export SLAPD_P1_URI="ldap://127.0.0.1:${_SLAPD_PAIR_PORT[1]}"
	export SLAPD_P2_URI="ldap://127.0.0.1:${_SLAPD_PAIR_PORT[2]}"
	export SLAPD_P1_LDAPS_URI="ldaps://127.0.0.1:${_SLAPD_PAIR_LPORT[1]}"
	export SLAPD_P2_LDAPS_URI="ldaps://127.0.0.1:${_SLAPD_PAIR_LPORT[2]}"
	export SLAPD_PAIR_URIS="$SLAPD_P1_URI $SLAPD_P2_URI"
	export SLAPD_P1_PID=${_SLAPD_PAIR_PID[1]} SLAPD_P2_PID=${_SLAPD_PAIR_PID[2]}
	export SLAPD_P1_DIR=$_SLAPD_PAIR_TOP/p1 SLAPD_P2_DIR=$_SLAPD_PAIR_TOP/p2
}

# Starts provider N (1 or 2) in DIR/pN with LDIF, its peer at PEER-PORT.
_slapd_pair_one() {
	local n=$1 ldif=$2 peer=$3 rc
	SLAPD_PID=
	_SLAPD_SID=$n _SLAPD_PEER_URI="ldap://127.0.0.1:${_SLAPD_PAIR_PORT[$peer]}" \
	_SLAPD_PRESET_PORT=${_SLAPD_PAIR_PORT[$n]} \
	_SLAPD_PRESET_LDAPS_PORT=${_SLAPD_PAIR_LPORT[$n]} \
	SLAPD_SYNCPROV=1 slapd_start "$_SLAPD_PAIR_TOP/p$n" "$ldif"
	rc=$?
	_SLAPD_PAIR_PID[$n]=$SLAPD_PID
	return $rc
}

# Chooses the four ports of the pair, all different.
_slapd_pair_ports() {
	local n p
	for n in 1 2; do
		for p in 1 2 3 4 5 6 7 8 9 10; do
			_SLAPD_PAIR_PORT[$n]=$(slapd_free_port) || return 1
			_SLAPD_PAIR_LPORT[$n]=$(slapd_free_port) || return 1
			[ "${_SLAPD_PAIR_PORT[$n]}" != "${_SLAPD_PAIR_LPORT[$n]}" ] &&
			    [ "$n" = 1 -o "${_SLAPD_PAIR_PORT[2]}" != "${_SLAPD_PAIR_PORT[1]}" -a \
			    "${_SLAPD_PAIR_PORT[2]}" != "${_SLAPD_PAIR_LPORT[1]}" -a \
			    "${_SLAPD_PAIR_LPORT[2]}" != "${_SLAPD_PAIR_PORT[1]}" -a \
			    "${_SLAPD_PAIR_LPORT[2]}" != "${_SLAPD_PAIR_LPORT[1]}" ] && break
		done
	done
}

# Starts provider 1 with LDIF, then provider 2 from provider 1's data.
_slapd_pair_both() {
	local ldif=$1
	_slapd_pair_one 1 "$ldif" 2 || return 1
	# Provider 2 starts from provider 1's data as slapcat writes it
	# (entryUUID, entryCSN and contextCSN kept), as an admin seeds a new
	# provider: nothing to replicate at the start, nothing told twice.
	if ! slapcat -n1 -F "$_SLAPD_PAIR_TOP/p1/slapd.d" \
	    -l "$_SLAPD_PAIR_TOP/p2.ldif" >"$_SLAPD_PAIR_TOP/slapcat.log" 2>&1; then
		echo "slapd_pair_start: slapcat of provider 1 failed:" >&2
		cat "$_SLAPD_PAIR_TOP/slapcat.log" >&2
		return 1
	fi
	if [ "${SLAPD_TLS:-1}" != 0 ]; then
		# One CA for both, so that SLAPD_CA holds for either.
		mkdir -p "$_SLAPD_PAIR_TOP/p2/tls" &&
		    cp -p "$_SLAPD_PAIR_TOP/p1/tls/"* "$_SLAPD_PAIR_TOP/p2/tls/" ||
		    return 1
	fi
	_slapd_pair_one 2 "$_SLAPD_PAIR_TOP/p2.ldif" 1
}

slapd_pair_start() {
	local d=${1:-} ldif=${2:-} try
	if [ -n "${_SLAPD_PAIR_PID[1]:-}${_SLAPD_PAIR_PID[2]:-}" ] ||
	    [ -n "$SLAPD_PID" ]; then
		echo "slapd_pair_start: a slapd of ours is running" >&2
		return 1
	fi
	if [ -z "$d" ]; then
		d=$(mktemp -d /tmp/pg-slapd2.XXXXXX) || return 1
		_SLAPD_PAIR_OWN=1
	fi
	mkdir -p "$d/p1" "$d/p2" || return 1
	_SLAPD_PAIR_TOP=$(cd "$d" && pwd) && [ -n "$_SLAPD_PAIR_TOP" ] || return 1
	# Both must share the admin password: each binds to the other as it.
	SLAPD_ADMIN_PW=${SLAPD_ADMIN_PW:-admin-$RANDOM$RANDOM}
	export SLAPD_ADMIN_PW
	# A port can still be taken between the choice and slapd's bind (by
	# a parallel test); each provider names the other's port, so both
	# are chosen again and both started again.
	for try in 1 2 3; do
		_slapd_pair_ports || return 1
		_slapd_pair_both "$ldif" && break
		slapd_pair_kill 1 TERM
		slapd_pair_kill 2 TERM
		if [ "$try" = 3 ]; then
			slapd_pair_stop
			return 1
		fi
		echo "slapd_pair_start: try $try failed, new ports" >&2
	done
	trap slapd_pair_stop EXIT
	_slapd_pair_export
	slapd_pair_use 1
	slapd_pair_wait_sync 10
}

# slapd_pair_kill N [SIGNAL]
slapd_pair_kill() {
	local n=$1 sig=${2:-KILL} pid=${_SLAPD_PAIR_PID[$1]:-} i
	[ -n "$pid" ] || return 0
	kill -CONT "$pid" 2>/dev/null
	kill -"$sig" "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	for i in $(seq 1 50); do
		[ -d "/proc/$pid" ] || break
		grep -q '^[^ ]* ([^)]*) Z' "/proc/$pid/stat" 2>/dev/null && break
		sleep 0.1
	done
	_SLAPD_PAIR_PID[$n]=
	[ "$SLAPD_PID" = "$pid" ] && SLAPD_PID=
	_slapd_pair_export
}

# slapd_pair_restart N: the same provider on its ports and data.
slapd_pair_restart() {
	local n=$1 i cur=$SLAPD_DIR rc=1
	slapd_pair_kill "$n" TERM
	slapd_pair_use "$n"
	for i in $(seq 1 50); do
		if _slapd_launch; then
			rc=0
			break
		fi
		sleep 0.1
	done
	_SLAPD_PAIR_PID[$n]=$SLAPD_PID
	_slapd_pair_export
	[ "$rc" = 0 ] || {
		echo "slapd_pair_restart: provider $n did not come back:" >&2
		tail -20 "$SLAPD_DIR/slapd.log" >&2
	}
	# Back to the provider the caller had chosen.
	[ "$cur" = "$_SLAPD_PAIR_TOP/p2" ] && slapd_pair_use 2 || slapd_pair_use 1
	return $rc
}

slapd_pair_stop() {
	[ -n "$_SLAPD_PAIR_TOP" ] || return 0
	slapd_pair_kill 1 TERM
	slapd_pair_kill 2 TERM
	SLAPD_PID=
	if [ "$_SLAPD_PAIR_OWN" = 1 ]; then
		rm -rf "$_SLAPD_PAIR_TOP"
		_SLAPD_PAIR_OWN=0
	fi
}

# The contextCSN values of the suffix on URI, one a line, sorted.
_slapd_csn() {
	ldapsearch -LLL -x -H "$1" -D "$SLAPD_ADMIN_DN" -w "$SLAPD_ADMIN_PW" \
	    -o nettimeout=1 -l 2 -b "$SLAPD_BASE_DN" -s base contextCSN 2>/dev/null |
	    sed -n 's/^contextCSN: //p' | sort
}

# slapd_pair_wait_sync [SECONDS]: both answer with the same contextCSN.
slapd_pair_wait_sync() {
	local end a b
	end=$(($(date +%s%N) / 1000000 + ${1:-10} * 1000))
	while :; do
		a=$(_slapd_csn "ldap://127.0.0.1:${_SLAPD_PAIR_PORT[1]}")
		b=$(_slapd_csn "ldap://127.0.0.1:${_SLAPD_PAIR_PORT[2]}")
		[ -n "$a" ] && [ "$a" = "$b" ] && return 0
		[ $(($(date +%s%N) / 1000000)) -ge "$end" ] && break
		sleep 0.02
	done
	echo "slapd_pair_wait_sync: providers differ after ${1:-10} s:" \
	    "p1: $(echo $a) p2: $(echo $b)" >&2
	return 1
}
