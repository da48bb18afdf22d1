#!/bin/bash
# audit_forward_bench.sh - records/s of the audit log with the syslog copy
# off and on: the batched runs of audit_bench, then the same with every
# record and head sent to a private rsyslogd configured with the shipped
# sender snippet, which forwards over RELP with TLS to a private collector
# rsyslogd on loopback.  Prints both figures, their ratio, and whether
# every message reached the collector (and how long after the writers it
# had them all).  Fails loudly if rsyslogd cannot be started.
# usage: bench/audit_forward_bench.sh BUILD_DIR   (PG_BENCH_RECORDS: 100000)
set -u
build=${1:?usage: audit_forward_bench.sh BUILD_DIR}
src=$(cd "$(dirname "$0")/.." && pwd)
export PG_SOURCE_ROOT=$src
. "$src/tests/lib/rsyslog.sh"
bench=$build/bench/audit_bench
n=${PG_BENCH_RECORDS:-100000}

die() {
	echo "audit_forward_bench: FAILED: $*" >&2
	exit 1
}

[ -x "$bench" ] || die "$bench not built"
rsyslog_available ||
    die "rsyslogd with imrelp, omrelp and gnutls is not installed (deploy/deps.sh --test)"
command -v openssl >/dev/null || die "openssl is not installed"
dir=$(mktemp -d "${PG_BENCH_DIR:-/var/tmp}/pg-fwd-bench.XXXXXX") || die "mktemp"
trap 'rsyslog_stop_all; rm -rf "$dir"' EXIT
rsyslog_certs "$dir/certs" collector.example bench.clinic.example ||
    die "could not make test certificates"
port=$(rsyslog_free_port) || die "no free port"
rsyslog_collector "$dir/coll" "$port" "$dir/certs" ||
    die "could not start the collector rsyslogd (see above)"
rsyslog_sender "$dir/send" bench.clinic.example "$port" "$dir/certs" ||
    die "could not start the sender rsyslogd (see above)"

# rate OUTPUT NAME: the rec/s figure of run NAME; checkpoints the same.
rate() { grep "^$2 " <<<"$1" | sed 's/.*= *\([0-9]*\) rec\/s.*/\1/'; }
ckpts() { grep "^$2 " <<<"$1" | sed 's/.*(\([0-9]*\) checkpoints.*/\1/'; }

echo "audit log with the syslog copy off and on ($n records per run, batched)"
off=$(PG_BENCH_ONLY=batched PG_BENCH_RECORDS=$n "$bench") ||
    die "audit_bench without forwarding: $off"
on=$(PG_BENCH_SYSLOG=$dir/send/audit.sock PG_BENCH_ONLY=batched \
    PG_BENCH_RECORDS=$n "$bench") || die "audit_bench with forwarding: $on"
t_end=$(date +%s.%N)

want=0
printf '%-30s %10s %10s %7s\n' run "off rec/s" "on rec/s" "on/off"
for run in "batched, 1 writer" "batched, 4 writer processes"; do
	a=$(rate "$off" "$run")
	b=$(rate "$on" "$run")
	[ -n "$a" ] && [ -n "$b" ] || die "no figure for '$run'"
	printf '%-30s %10s %10s %7.2f\n' "$run" "$a" "$b" \
	    "$(awk -v a="$a" -v b="$b" 'BEGIN { print b / a }')"
	want=$((want + n + $(ckpts "$on" "$run")))
done

# Every record (checkpoints included) must reach the collector.
got=0 last=-1 still=0
while [ "$got" -lt "$want" ] && [ "$still" -lt 20 ]; do
	sleep 0.5
	got=$(grep -c 'kind="record"' "$dir/coll/audit.log" 2>/dev/null)
	if [ "$got" = "$last" ]; then still=$((still + 1)); else still=0; fi
	last=$got
done
drain=$(awk -v a="$t_end" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
printf 'collector: %s of %s record messages, all in %.1f s after the writers\n' \
    "$got" "$want" "$drain"
[ "$got" = "$want" ] || die "the collector got $got of $want record messages"
