#!/bin/bash
# pam_bench.sh - auth+account latency (p50, p99, max) of pam_photoguard.so
# through the real libpam, with its directory a real slapd on loopback,
# beside pam_google_authenticator and pam_oath from Debian in the same run
# and on the same users' secrets.  No human typing: bench/pam_bench.c
# answers each prompt with the current code.  Each user logs in once per
# 30 s step (the modules refuse replays), so USERS users x ROUNDS steps.
# auth+account is pam_authenticate() + pam_acct_mgmt() of each login; the
# whole login, also printed, adds pam_start() (which loads the modules) and
# pam_end().
#
#   PG_BENCH_USERS (200)  PG_BENCH_ROUNDS (5): at least 1,000 logins.
#   PG_BENCH_MODE (fork): every login in a new process, as under sshd;
#   "run": all logins of a round in one process (what a process sets up
#   once is then paid by its first login only).
#   PG_BENCH_TLS=none: plain LDAP, to see what the TLS handshake costs.
#   PG_BENCH_CERT (rsa): slapd's key, "rsa" (2048 bits, as the tests make)
#   or "p256" (ECDSA P-256), to see what the server's signature costs.
#   PG_BENCH_SASL (installed): which Cyrus SASL plugins libldap loads when
#   it starts (every plugin installed, about 1.1 ms per login with
#   libsasl2-modules, though photoguard binds without SASL).  "installed":
#   those of the packages an imaging server installed with deploy/deps.sh
#   has (libsasl2-modules-db; libsasl2-modules is only here because the
#   tests' slapd and ldap-utils pull it in); "host": this machine's.
#   PG_BENCH_WRAP: a command put before the photoguard runs (e.g.
#   "strace -f -c -o FILE" to see where the time goes).
#
# The peers are installed here if missing (apt-get), never as photoguard
# dependencies; without them their rows say why.
set -u
. "$PG_SOURCE_ROOT/tests/lib/slapd.sh"
USERS=${PG_BENCH_USERS:-200}
ROUNDS=${PG_BENCH_ROUNDS:-5}
MODE=${PG_BENCH_MODE:-fork}
CERT=${PG_BENCH_CERT:-rsa}
case $MODE in fork | run) ;; *) echo "pam_bench: PG_BENCH_MODE: fork or run" >&2; exit 2 ;; esac
case $CERT in rsa | p256) ;; *) echo "pam_bench: PG_BENCH_CERT: rsa or p256" >&2; exit 2 ;; esac
SASL=${PG_BENCH_SASL:-installed}
case $SASL in installed | host) ;; *) echo "pam_bench: PG_BENCH_SASL: installed or host" >&2; exit 2 ;; esac
B=$PG_BUILD_ROOT
MOD=$B/pam_module/pam_photoguard.so
DRV=$B/bench/pam_bench
D=$(mktemp -d /tmp/pg-pambench-XXXXXX)
chmod 700 "$D"
# The service user an install creates ([store] user, with a group of its
# own): each phase's configuration looks it up, as on a real server, where
# it is in /etc/passwd.  A user missing from every NSS source costs more.
SVC=pgpambench$$
SVC_MADE=
cleanup() {
	slapd_stop
	rm -rf "$D"
	[ -n "$SVC_MADE" ] && userdel "$SVC" 2>/dev/null
}
trap cleanup EXIT
if [ "$(id -u)" -eq 0 ] && useradd --system -U -M -d /nonexistent \
	-s /usr/sbin/nologin "$SVC" 2>"$D/useradd.log"; then
	SVC_MADE=1
else
	echo "pam_bench: no service user (needs root and useradd): the" \
		"configuration's lookup of one that does not exist is measured" >&2
fi

peer() { # PACKAGE MODULE: installs PACKAGE if MODULE is missing
	local m
	m=$(find /lib /usr/lib -name "$2" -path '*security*' 2>/dev/null | head -1)
	if [ -z "$m" ] && [ "$(id -u)" -eq 0 ]; then
		echo "pam_bench: installing $1 (for comparison only)" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			--no-install-recommends "$1" >"$D/apt-$1.log" 2>&1
		m=$(find /lib /usr/lib -name "$2" -path '*security*' 2>/dev/null | head -1)
	fi
	echo "$m"
}
GA=$(peer libpam-google-authenticator pam_google_authenticator.so)
OATH=$(peer libpam-oath pam_oath.so)

# --- the SASL plugins an imaging server has (see PG_BENCH_SASL) ------------
PG_ENV=()
SASL_DB=$(dpkg -L libsasl2-modules-db 2>/dev/null | grep '/sasl2/')
if [ -z "$SASL_DB" ]; then # libsasl2-2 depends on it: not Debian's libldap?
	echo "pam_bench: libsasl2-modules-db's plugin not found (dpkg -L)" >&2
	exit 1
fi
SASL_DIR=$(dirname "$(echo "$SASL_DB" | head -1)")
if [ "$SASL" = installed ]; then
	SASL_DIR=$D/sasl2
	mkdir -m 700 "$SASL_DIR"
	for f in $SASL_DB; do
		ln -s "$f" "$SASL_DIR/"
	done
	PG_ENV=(env SASL_PATH="$SASL_DIR")
fi

# --- users: one secret each, shared by the three modules -------------------
mkdir -m 700 "$D/secrets" "$D/audit" "$D/tickets" "$D/ga" "$D/pg" "$D/gasvc" "$D/oathsvc"
"$B/cli/photoguard" totp hostkey --host-key "$D/host.key" >/dev/null
"$B/cli/photoguard" audit keygen "$D/audit.key" >/dev/null
echo "pam_bench: enrolling $USERS users" >&2
"$DRV"_enroll "$D/secrets" "$D/host.key" bench "$USERS" >"$D/users.txt" || exit 1
while read -r u b32 hex; do
	printf '%s\n' "$b32" '" TOTP_AUTH' '" DISALLOW_REUSE' '" WINDOW_SIZE 3' >"$D/ga/$u"
	chmod 600 "$D/ga/$u"
	printf 'HOTP/T30/6\t%s\t-\t%s\n' "$u" "$hex" >>"$D/users.oath"
done <"$D/users.txt"
chmod 600 "$D/users.oath"

# --- the directory: the sample clinic plus the bench users as nurses -------
# p256: the same layout slapd_gen_certs makes, with ECDSA P-256 keys.
p256_certs() { # DIR
	mkdir -p "$1" && (
		set -e
		cd "$1"
		for ca in ca wrong-ca; do
			openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
			    -nodes -days 2 -subj "/CN=photoguard bench $ca" \
			    -keyout $ca.key -out $ca.crt
		done
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		    -subj "/CN=localhost" -keyout server.key -out server.csr
		printf '%s\n' 'subjectAltName=IP:127.0.0.1,DNS:localhost' \
		    'basicConstraints=CA:FALSE' \
		    'extendedKeyUsage=serverAuth' >server.ext
		openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key \
		    -CAcreateserial -days 2 -extfile server.ext -out server.crt
		chmod 600 ./*.key
	) >"$1/openssl.log" 2>&1
}
if [ "$CERT" = p256 ] && ! p256_certs "$D/slapd/tls"; then
	echo "pam_bench: P-256 certificates not made" >&2
	cat "$D/slapd/tls/openssl.log" >&2
	exit 1
fi
{
	cat "$PG_SOURCE_ROOT/deploy/ldap/clinic-sample.ldif"
	awk -v base=dc=clinic,dc=example '{ printf "\ndn: uid=%s,ou=people,%s\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\nuid: %s\ncn: %s\nsn: Bench\nuidNumber: %d\ngidNumber: 3000\nhomeDirectory: /nonexistent\n", $1, base, $1, $1, 10000 + NR }' "$D/users.txt"
} >"$D/clinic.ldif"
slapd_start "$D/slapd" "$D/clinic.ldif" >"$D/slapd.log" 2>&1 || {
	echo "pam_bench: slapd did not start" >&2; cat "$D/slapd.log" >&2; exit 1; }
trap cleanup EXIT
{
	printf 'dn: cn=nurses,ou=groups,%s\nchangetype: modify\nadd: member\n' "$SLAPD_BASE_DN"
	awk -v base="$SLAPD_BASE_DN" '{ printf "member: uid=%s,ou=people,%s\n", $1, base }' "$D/users.txt"
} | slapd_modify >/dev/null
install -m 0644 "$PG_SOURCE_ROOT/policy/examples/clinic.policy" "$D/clinic.policy"
cat >"$D/pg.conf" <<CONF
[store]
user = $SVC
[directory]
backend = ldap
uri = $SLAPD_URI
ca_file = $SLAPD_CA
tls = ${PG_BENCH_TLS:-starttls}
base_dn = $SLAPD_BASE_DN
[policy]
file = $D/clinic.policy
[audit]
log = $D/audit/audit.jsonl
key = $D/audit.key
syslog = no
[lockout]
dir = $D/lockout
[totp]
secret_dir = $D/secrets
host_key = $D/host.key
ticket_dir = $D/tickets
CONF
A="config=$D/pg.conf host=imaging-01"
printf '%s\n' "auth required $MOD $A" "account required $MOD $A" >"$D/pg/sshd"
printf '%s\n' "auth required $GA secret=$D/ga/\${USER} user=root" \
	"account required pam_permit.so" >"$D/gasvc/sshd"
printf '%s\n' "auth required $OATH usersfile=$D/users.oath window=1" \
	"account required pam_permit.so" >"$D/oathsvc/sshd"

next_step() { # sleeps until a new 30 s step has begun
	local now=$(date +%s)
	sleep $(( 30 - now % 30 )).1
}
for r in $(seq "$ROUNDS"); do
	next_step
	echo "pam_bench: round $r of $ROUNDS" >&2
	"${PG_ENV[@]}" ${PG_BENCH_WRAP:-} "$DRV" "$MODE" "$D/pg" sshd \
		"$D/users.txt" >>"$D/pg.lat"
	[ -n "$GA" ] && "$DRV" "$MODE" "$D/gasvc" sshd "$D/users.txt" >>"$D/ga.lat"
	[ -n "$OATH" ] && "$DRV" "$MODE" "$D/oathsvc" sshd "$D/users.txt" >>"$D/oath.lat"
done

stats() { # NAME FILE
	if [ ! -s "$2" ]; then
		printf '%-34s %s\n' "$1" "not measured (module not installed)"
		return
	fi
	python3 - "$1" "$2" <<'PY'
import sys
name, path = sys.argv[1], sys.argv[2]
rows = [l.split() for l in open(path)]
good = [r for r in rows if r[0] == "ok" and len(r) == 6]
fail = len(rows) - len(good)
def pct(v, p):
    return v[min(len(v) - 1, int(round(p / 100 * len(v) + 0.5)) - 1)] / 1000
if good:
    # auth+account: pam_authenticate() + pam_acct_mgmt() of each login.
    ok = sorted(int(r[3]) + int(r[4]) for r in good)
    print(f"{name:34s} {len(ok):5d} ok {fail:4d} failed   p50 {pct(ok, 50):7.2f} ms"
          f"   p99 {pct(ok, 99):7.2f} ms   max {ok[-1]/1000:7.2f} ms")
    whole = sorted(int(r[1]) for r in good)
    print(f"{'':34s} whole login, pam_start to pam_end: p50 {pct(whole, 50):.2f} ms,"
          f" p99 {pct(whole, 99):.2f} ms, max {whole[-1]/1000:.2f} ms")
    parts = []
    for i, what in enumerate(("pam_start", "auth", "account", "pam_end")):
        v = sorted(int(r[2 + i]) for r in good)
        parts.append(f"{what} {pct(v, 50):.2f}/{pct(v, 99):.2f}")
    print(f"{'':34s} p50/p99 ms: " + ", ".join(parts))
else:
    print(f"{name:34s} {fail:4d} failed, none succeeded")
PY
}
echo "auth+account latency (pam_authenticate + pam_acct_mgmt of each login), $USERS users x $ROUNDS rounds, one login each per 30 s step"
echo "mode $MODE (fork: a new process per login), slapd key $CERT, directory TLS ${PG_BENCH_TLS:-starttls}, SASL plugins $SASL: $(ls "$SASL_DIR" 2>/dev/null | sed -n 's/^lib\(.*\)\.so$/\1/p' | paste -sd ' ')"
stats "pam_photoguard (TOTP+LDAP+audit)" "$D/pg.lat"
stats "pam_google_authenticator" "$D/ga.lat"
stats "pam_oath" "$D/oath.lat"
echo "target for pam_photoguard: auth+account p99 <= 15 ms"
grep -c '"event":"pam.auth"' "$D/audit/audit.jsonl" | sed 's/^/pam.auth audit records: /'
