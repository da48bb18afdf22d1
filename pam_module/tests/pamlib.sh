# pamlib.sh - shared by the PAM tests: pam_wrapper preload (with the
# sanitizer runtimes first when the module is built with them), a
# pamtester driver, and enrollment through the real `enroll` verb.
#
#   pam_setup                sets MOD, CLI, PWRAP; returns 1 (after a loud
#                            skip) when a tool is missing
#   pam_run SVCDIR SERVICE USER ANSWER [OPERATION...]
#                            runs pamtester under pam_wrapper with the
#                            service files of SVCDIR (default operation:
#                            authenticate; items such as -I rhost=X from
#                            the array PT_ITEMS); output in $T/out
#   pam_parallel N SVCDIR SERVICE USER ANSWER OUTDIR
#                            N logins at once (see below)
#   pam_enroll USER          enrolls USER in $SEC with $KEY, confirming
#                            with oathtool; sets SECRET
#   pam_code [WHEN]          the TOTP code of $SECRET (oathtool -N WHEN)
#   pam_wrong                a 6-digit code that is none of the current,
#                            previous and next codes of $SECRET
#   pam_fresh_step SECONDS   returns once at least SECONDS of the current
#                            30 s time step remain (sleeping into the next
#                            step when fewer do), for checks that must not
#                            straddle a step boundary

PT_ITEMS=()

pam_setup() {
	MOD=$PG_BUILD_ROOT/pam_module/pam_photoguard.so
	CLI=$PG_BUILD_ROOT/cli/photoguard
	PWRAP=$(ldconfig -p | awk '/libpam_wrapper\.so /{print $NF; exit}')
	local tool lib pre=""
	for tool in pamtester oathtool; do
		if ! command -v $tool >/dev/null; then
			skip "PAM tests" "$tool is not installed"
			return 1
		fi
	done
	if [ -z "$PWRAP" ]; then
		skip "PAM tests" "libpam_wrapper.so is not installed"
		return 1
	fi
	for lib in $(ldd "$MOD" | awk '/libasan\.so|libubsan\.so/{print $3}'); do
		pre="$pre$lib:"
	done
	# Under valgrind, libldap and the TLS library under it stay loaded
	# after pam_end() unloads the module, so their one-time global setup
	# stays reachable instead of "definitely lost", and frames have names.
	if [ -n "${PG_PAM_RUNNER:-}" ]; then
		pre="$pre$(ldd "$MOD" |
			awk '/libldap|liblber|libgnutls|libsasl2/{printf "%s:", $3}')"
	fi
	PWRAP="$pre$PWRAP"
	case $PWRAP in *asan*)
		export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
		diag "sanitizer runtime preloaded: $PWRAP" ;;
	esac
	return 0
}

. "$PG_SOURCE_ROOT/tests/lib/pwrap.sh"

# pam_run DIR SERVICE USER ANSWER [PAMTESTER-OPS...]: pamtester with the
# service files of DIR, ANSWER typed at every prompt (PAM_ANSWER_DELAY=S:
# S seconds after the start, as a slow typist would); output in $T/out.
pam_run() {
	local dir=$1 svc=$2 user=$3 answer=$4 try rc
	shift 4
	[ $# -eq 0 ] && set -- authenticate
	for try in 1 2 3 4 5; do
		pwrap_sweep
		{
			sleep "${PAM_ANSWER_DELAY:-0}"
			printf '%s\n' "$answer"
		} | env LD_PRELOAD="$PWRAP" PAM_WRAPPER=1 \
			PAM_WRAPPER_SERVICE_DIR="$dir" PAM_WRAPPER_DEBUGLEVEL=2 \
			${PG_PAM_RUNNER:-} pamtester -v "${PT_ITEMS[@]}" "$svc" \
			"$user" "$@" >"$T/out" 2>&1
		rc=$?
		pwrap_failed "$T/out" || break
	done
	cat "$T/out" >>"$T/all.out"
	return $rc
}

# pam_no_sanitizer_reports FILE...: a TAP point that fails on any
# AddressSanitizer/UBSan report in FILE (the output of every pam_run).
pam_no_sanitizer_reports() {
	local hits
	hits=$(cat "$@" 2>/dev/null | grep -aE 'runtime error:|AddressSanitizer|LeakSanitizer' | head -5)
	if [ -z "$hits" ]; then
		ok "no sanitizer report in the module's output"
	else
		not_ok "no sanitizer report in the module's output"
		printf '#   %s\n' "$hits"
	fi
}

# pam_parallel N SVCDIRS SERVICE USER ANSWER OUTDIR: N authentications
# under pam_wrapper that answer at the same moment, login I with the I-th
# of the service directories SVCDIRS (a space-separated list, taken round
# and round; one directory for all is the common case).  pam_wrapper stages the
# service files in a /tmp/pam.X directory as each process starts and can
# race with another starting at the same moment, so the starts are
# staggered; each process then waits at the prompt until all are up.  A
# start that found none of pam_wrapper's staging directories free (other
# tests on the host use them too) never reached the module (no "auth
# user=" line) and is started again.  Output of try T of login I in
# OUTDIR/I.T.out, its exit status in OUTDIR/I.rc.
pam_parallel() {
	local n=$1 svc=$3 user=$4 answer=$5 out=$6 i dir pids=""
	local -a dirs
	read -r -a dirs <<<"$2"
	mkdir -p "$out" && rm -f "$out/go"
	pwrap_sweep
	for i in $(seq "$n"); do
		dir=${dirs[$(((i - 1) % ${#dirs[@]}))]}
		( for try in 1 2 3 4 5 6 7 8 9 10; do
			( while [ ! -e "$out/go" ]; do sleep 0.01; done
			  printf '%s\n' "$answer" ) |
			  env LD_PRELOAD="$PWRAP" PAM_WRAPPER=1 \
				PAM_WRAPPER_SERVICE_DIR="$dir" PAM_WRAPPER_DEBUGLEVEL=2 \
				pamtester -v "$svc" "$user" authenticate \
				>"$out/$i.$try.out" 2>&1
			rc=$?
			grep -aq 'auth user=' "$out/$i.$try.out" && break
			sleep 0.$((RANDOM % 5 + 1))
		  done
		  echo $rc >"$out/$i.rc" ) &
		pids="$pids $!"
		sleep 0.03
	done
	touch "$out/go"
	wait $pids # only these: a slapd may be a child of the caller too
}

pam_enroll() {
	rm -f "$T/in" && mkfifo "$T/in"
	"$CLI" enroll "$1" --secret-to-pipe --secret-dir "$SEC" --host-key "$KEY" \
		<"$T/in" >"$T/enroll.out" 2>"$T/enroll.err" &
	local pid=$! i
	exec 3>"$T/in"
	for i in $(seq 100); do
		grep -q 'secret=' "$T/enroll.out" 2>/dev/null && break
		sleep 0.05
	done
	SECRET=$(grep -o 'secret=[A-Z2-7]*' "$T/enroll.out" | cut -d= -f2)
	oathtool --totp -b "$SECRET" >&3
	exec 3>&-
	wait $pid
}

pam_code() { oathtool --totp -b "$SECRET" ${1:+-N "$1"}; }

pam_fresh_step() {
	local left=$((30 - $(date +%s) % 30))
	if [ "$left" -lt "$1" ]; then
		sleep "$left.1"
	fi
}

pam_wrong() {
	local w
	for w in 000000 111111 222222; do
		case " $(pam_code 'now - 30 seconds') $(pam_code) $(pam_code 'now + 30 seconds') " in
		*" $w "*) ;;
		*) echo $w; return ;;
		esac
	done
}

# --- [totp] store = directory: imaging servers on one directory -----------
# For tests of several servers (A, B, C, ...: a PAM service each, with its
# own configuration, lockout store, tickets and audit log) against a real
# slapd with slapo-otp's schema, photoguard-schema.ldif and the ACL of
# deploy/ldap/photoguard-acl.ldif.  Uses $T, $CLI, $MOD.
#
#   pam_dir_env              the slapd.sh knobs (SLAPD_OTP, SLAPD_ACCESS) to
#                            set before slapd_start / slapd_pair_start
#   pam_dir_keys             host key and audit key in $T; sets BASE, SVC_DN
#   pam_dir_identities       once slapd runs: the service identity's
#                            password ($SVC_PW, $T/bind.pw), a second service
#                            identity the ACL keeps from the secrets
#                            (cn=reader, $T/reader.pw), bjones's password
#   server NAME [BIND-DN BIND-PW-FILE]  a server's configuration and PAM
#                            service; its directory URI list is
#                            $PAM_DIR_URI (default $SLAPD_URI)
#   login S USER ANSWER, acct S USER, line, cli S ARGS..., attr USER ATTR,
#   nvals USER ATTR, tickets S USER, code_at STEP, next_code USER,
#   dir_enroll S USER [CODE], race ANSWER USER OUTDIR, winners OUTDIR,
#   forget_failures USER, admin (ldapmodify as the directory's admin)

# pam_need_otp WHAT: returns 1 after a loud skip of WHAT when slapd's otp
# module (slapo-otp's oath* schema) is not installed.
pam_need_otp() {
	[ -e "${SLAPD_MODULE_DIR:-/usr/lib/ldap}/otp.so" ] ||
		[ -e "${SLAPD_MODULE_DIR:-/usr/lib/ldap}/otp.la" ] && return 0
	skip "$1" "slapd's otp module is not installed"
	return 1
}

pam_dir_env() {
	export SLAPD_OTP=1
	SLAPD_ACCESS=$(sed -n 's/^olcAccess: {[0-9]*}//p' \
		"$PG_SOURCE_ROOT/deploy/ldap/photoguard-acl.ldif")
	export SLAPD_ACCESS
}

pam_dir_keys() {
	"$CLI" totp hostkey --host-key "$T/host.key" >/dev/null
	"$CLI" audit keygen "$T/audit.key" >/dev/null
	BASE=dc=clinic,dc=example
	SVC_DN="cn=photoguard,ou=services,$BASE"
	install -m 0644 "$PG_SOURCE_ROOT/policy/examples/clinic.policy" "$T/clinic.policy"
}

admin() { ldapmodify -x -H "$SLAPD_URI" -D "$SLAPD_ADMIN_DN" -w "$SLAPD_ADMIN_PW" "$@"; }

pam_dir_identities() {
	SVC_PW="svc-$RANDOM$RANDOM"
	ldappasswd -x -H "$SLAPD_URI" -D "$SLAPD_ADMIN_DN" -w "$SLAPD_ADMIN_PW" \
		-s "$SVC_PW" "$SVC_DN" >/dev/null || return 1
	printf '%s' "$SVC_PW" >"$T/bind.pw" && chmod 600 "$T/bind.pw"
	admin >/dev/null <<LDIF || return 1
dn: cn=reader,ou=services,$BASE
changetype: add
objectClass: applicationProcess
objectClass: simpleSecurityObject
cn: reader
userPassword: reader-pw
LDIF
	printf '%s' reader-pw >"$T/reader.pw" && chmod 600 "$T/reader.pw"
	ldappasswd -x -H "$SLAPD_URI" -D "$SLAPD_ADMIN_DN" -w "$SLAPD_ADMIN_PW" \
		-s bjones-pw "uid=bjones,ou=people,$BASE" >/dev/null
}

server() {
	local s=$1
	mkdir -p -m 700 "$T/$s" "$T/$s/tickets" "$T/$s/secrets" "$T/$s/svc"
	cat >"$T/$s.conf" <<CONF
[directory]
backend = ldap
uri = ${PAM_DIR_URI:-$SLAPD_URI}
ca_file = $SLAPD_CA
base_dn = $BASE
bind_dn = ${2:-$SVC_DN}
bind_password_file = ${3:-$T/bind.pw}
lockout_attribute = pwdAccountLockedTime
network_timeout = 1s
timeout = 1s
cache_ttl = 0s
[policy]
file = $T/clinic.policy
[audit]
log = $T/$s/audit.jsonl
key = $T/audit.key
syslog = no
[lockout]
dir = $T/$s/lockout
[totp]
store = directory
secret_dir = $T/$s/secrets
host_key = $T/host.key
ticket_dir = $T/$s/tickets
window = 10
max_failures = 5
max_consecutive_failures = 8
CONF
	printf '%s\n' "auth required $MOD config=$T/$s.conf host=imaging-$s" \
		"account required $MOD config=$T/$s.conf host=imaging-$s" \
		>"$T/$s/svc/sshd"
}

login() { pam_run "$T/$1/svc" sshd "$2" "$3"; } # SERVER USER ANSWER
acct() { pam_run "$T/$1/svc" sshd "$2" "" acct_mgmt; }
line() { grep -a "auth user=" "$T/out" | tail -1; }
cli() { local s=$1; shift; "$CLI" --config "$T/$s.conf" "$@"; }
attr() { # USER ATTR: the values of ATTR in USER's entry, as the admin sees them
	slapd_search -o ldif-wrap=no -b "uid=$1,ou=people,$BASE" -s base "$2" |
		sed -n "s/^$2:: *//p; s/^$2: *//p"
}
nvals() { attr "$1" "$2" | grep -c .; }
tickets() { find "$T/$1/tickets" -type f -name "$2*" | wc -l; }
code_at() { oathtool --totp -b "$SECRET" -N "@$(($1 * 30))"; }
next_code() { code_at $(($(attr "$1" oathTOTPLastTimeStep) + 1)); }

# dir_enroll SERVER USER [CODE]: `photoguard enroll USER` with SERVER's
# configuration, typing CODE (default: the app's current code); sets
# SECRET and SCRATCH (the ten scratch codes), exit status in $?.
dir_enroll() {
	rm -f "$T/in" && mkfifo "$T/in"
	cli "$1" enroll "$2" --secret-to-pipe <"$T/in" >"$T/enroll.out" 2>"$T/enroll.err" &
	local pid=$! i
	exec 3>"$T/in"
	for i in $(seq 200); do
		grep -q 'secret=' "$T/enroll.out" 2>/dev/null && break
		grep -q . "$T/enroll.err" 2>/dev/null && break
		sleep 0.05
	done
	SECRET=$(grep -o 'secret=[A-Z2-7]*' "$T/enroll.out" | cut -d= -f2)
	mapfile -t SCRATCH < <(grep -oE '^  [a-z0-9]{5}-[a-z0-9]{5}$' "$T/enroll.out" | tr -d ' ')
	if [ -n "$SECRET" ]; then
		printf '%s\n' "${3:-$(oathtool --totp -b "$SECRET")}" >&3
	fi
	exec 3>&-
	wait $pid
}

# race ANSWER USER OUTDIR: the three servers authenticate USER with ANSWER
# at the same moment (pam_parallel); exit statuses in OUTDIR/1..3.rc.
race() {
	mkdir -p "$3" && rm -f "$3"/*
	pam_parallel 3 "$T/A/svc $T/B/svc $T/C/svc" sshd "$2" "$1" "$3"
	cat "$3"/*.out >>"$T/all.out"
}
winners() { grep -l '^0$' "$1"/*.rc 2>/dev/null | wc -l; }
# Every attempt is counted before its code is checked (and the count
# cleared by a good code), and a race's losers are refused as replays,
# which count as wrong codes; the count is cleared between rounds so that
# rounds test the race, not the limit (max_failures = 5).
forget_failures() {
	printf '%s\n' "dn: uid=$1,ou=people,$BASE" "changetype: modify" \
		"replace: pgTOTPFailure" | admin >/dev/null
}

# pam_token COMMAND...: runs COMMAND (a `photoguard ... enroll USER`)
# with --token; sets TOKEN to the token it printed, returns its status.
pam_token() {
	"$@" --token --secret-to-pipe >"$T/token.out" 2>&1
	local rc=$?
	TOKEN=$(grep -oE '^  [a-z2-7]{4}(-[a-z2-7]{4}){3}$' "$T/token.out" | tr -d ' ')
	return $rc
}

# pam_converse SERVICE_DIR SERVICE USER ANSWER [converse.py options]: one
# login on a pseudo-terminal that may go through a self-service
# enrollment (converse.py); output in $T/out, exit status returned.
pam_converse() {
	local dir=$1 svc=$2 user=$3 answer=$4 rc
	shift 4
	pwrap_sweep
	env LD_PRELOAD="$PWRAP" PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$dir" \
		PAM_WRAPPER_DEBUGLEVEL=2 \
		python3 "$PG_SOURCE_ROOT/pam_module/tests/converse.py" "$@" "$answer" \
		-- pamtester -v "$svc" "$user" authenticate >"$T/out" 2>&1
	rc=$?
	cat "$T/out" >>"$T/all.out"
	return $rc
}
