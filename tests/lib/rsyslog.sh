# rsyslog.sh - private rsyslogd instances for the tests and benchmarks of
# the audit trail's syslog copy: a collector on a loopback RELP port and
# senders, each configured with the snippets deploy/ ships (only their
# paths, port and target rewritten), each with its own configuration,
# work directory and pid file, so the system's rsyslog (if any) and
# /dev/log are never touched.  Source it after tap.sh (bash).
#
#   rsyslog_available           0 if rsyslogd with omrelp/imrelp exists
#   rsyslog_certs DIR NAME...   a test CA in DIR/ca.pem and NAME.pem/.key
#                               for each NAME (its CN and DNS name)
#   rsyslog_collector DIR PORT CERTS  start a collector writing DIR/audit.log
#   rsyslog_sender DIR NAME PORT CERTS  start a sender for host NAME; its
#                               socket is DIR/audit.sock
#   rsyslog_stop_all            stop every instance started here
# Every instance is named collector.example / NAME in its certificate.

. "$(dirname "${BASH_SOURCE[0]}")/port.sh"

rsyslog_pids=()
rsyslog_src=${PG_SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}

rsyslog_available() {
	local m
	command -v rsyslogd >/dev/null 2>&1 || return 1
	m=$(find /usr/lib -name omrelp.so -path '*rsyslog*' 2>/dev/null | head -1)
	[ -n "$m" ] && [ -f "${m%/*}/imrelp.so" ] && [ -f "${m%/*}/lmnsd_gtls.so" ]
}

rsyslog_free_port() {
	free_port
}

rsyslog_certs() {
	local d=$1 n
	shift
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$d/ca.key" -out "$d/ca.pem" -days 2 \
	    -subj /CN=photoguard-test-ca 2>/dev/null || return 1
	for n in "$@"; do
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		    -keyout "$d/$n.key" -out "$d/$n.csr" -subj "/CN=$n" \
		    2>/dev/null || return 1
		printf 'subjectAltName=DNS:%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\n' \
		    "$n" >"$d/$n.ext"
		openssl x509 -req -in "$d/$n.csr" -CA "$d/ca.pem" \
		    -CAkey "$d/ca.key" -CAcreateserial -out "$d/$n.pem" \
		    -days 2 -extfile "$d/$n.ext" 2>/dev/null || return 1
	done
}

# rsyslog_run DIR WAITFOR: checks and starts rsyslogd on DIR/rsyslog.conf,
# then waits for WAITFOR (a socket path, or tcp:PORT) to appear.
rsyslog_run() {
	local d=$1 what=$2 i
	rsyslogd -N1 -f "$d/rsyslog.conf" >"$d/check.log" 2>&1 || {
		cat "$d/check.log" >&2
		return 1
	}
	rsyslogd -n -f "$d/rsyslog.conf" -i "$d/rsyslogd.pid" \
	    >"$d/rsyslogd.log" 2>&1 &
	rsyslog_pids+=($!)
	for i in $(seq 100); do
		case $what in
		tcp:*) ss -Htln "sport = :${what#tcp:}" | grep -q . && return 0 ;;
		*) [ -S "$what" ] && return 0 ;;
		esac
		sleep 0.1
	done
	cat "$d/rsyslogd.log" >&2
	return 1
}

rsyslog_collector() {
	local d=$1 port=$2 certs=$3
	mkdir -p "$d/work" "$d/tls"
	cp "$certs/ca.pem" "$d/tls/ca.pem"
	cp "$certs/collector.example.pem" "$d/tls/collector.pem"
	cp "$certs/collector.example.key" "$d/tls/collector.key"
	{
		printf 'global(workDirectory="%s/work")\n' "$d"
		sed -e "s|port=\"2514\"|port=\"$port\"|" \
		    -e "s|/etc/photoguard/syslog|$d/tls|g" \
		    -e "s|/var/log/photoguard-collector/audit.log|$d/audit.log|" \
		    "$rsyslog_src/deploy/rsyslog/photoguard-collector.conf"
	} >"$d/rsyslog.conf"
	rsyslog_run "$d" "tcp:$port"
}

rsyslog_sender() {
	local d=$1 name=$2 port=$3 certs=$4
	mkdir -p "$d/work" "$d/tls"
	cp "$certs/ca.pem" "$d/tls/ca.pem"
	cp "$certs/$name.pem" "$d/tls/host.pem"
	cp "$certs/$name.key" "$d/tls/host.key"
	{
		printf 'global(workDirectory="%s/work")\n' "$d"
		# The system socket stays the system's.
		printf 'module(load="imuxsock" SysSock.Use="off")\n'
		sed -e "s|port=\"2514\"|port=\"$port\"|" \
		    -e "s|target=\"collector.example\"|target=\"127.0.0.1\"|" \
		    -e "s|/etc/photoguard/syslog|$d/tls|g" \
		    -e "s|/run/photoguard-audit.sock|$d/audit.sock|" \
		    "$rsyslog_src/deploy/rsyslog/photoguard-forward.conf"
	} >"$d/rsyslog.conf"
	rsyslog_run "$d" "$d/audit.sock"
}

rsyslog_stop_all() {
	local p
	for p in "${rsyslog_pids[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${rsyslog_pids[@]}"; do
		wait "$p" 2>/dev/null
	done
	rsyslog_pids=()
}
