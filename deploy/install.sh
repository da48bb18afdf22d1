#!/bin/sh
# install.sh - install photoguard on this host (Debian 12): the tool, the
# gateway (if built), the PAM module, man pages, a default configuration
# and the example policy, the logrotate snippet, the systemd units, the
# service user, the store and the state directories, the audit signing
# key and the TOTP host key; the rsyslog snippet that forwards the audit
# trail when the configuration sends it to that snippet's socket.
# Idempotent: a second run changes nothing.  Never overwrites a file the
# admin edited: the shipped version goes beside it as FILE.dist.  Touches
# no PAM stack, sshd setting or running service: it prints those steps.
#
#   deploy/install.sh [--prefix DIR] [--root DIR] [--build DIR]
#                     [--pam-dir DIR] [--dry-run]
set -eu
umask 022
prog=install.sh
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/deploy/install-lib.sh"

usage() {
	cat <<'U'
Usage: deploy/install.sh [--prefix DIR] [--root DIR] [--build DIR]
                         [--pam-dir DIR] [--dry-run]
  --prefix DIR   binaries in DIR/sbin, man pages in DIR/share/man,
                 PAM snippets and examples in DIR/share/photoguard
                 (default /usr/local)
  --root DIR     install into a staged tree beneath DIR (packaging,
                 tests); the service user is not created
  --build DIR    take the binaries from this meson build directory
                 (default: build-release/, a release build of only
                 what is installed: no tests, no benchmarks)
  --pam-dir DIR  where PAM loads modules from (default: the system's,
                 from pkg-config pam or where pam_unix.so lives)
  --dry-run      print every action without doing it
The configuration always goes to /etc/photoguard, the state to
/var/lib/photoguard and /var/log/photoguard (beneath --root).
U
}

# install_file SRC DEST MODE: install SRC as DEST unless it is there already.
install_file() {
	if [ -f "$2" ] && cmp -s "$1" "$2"; then
		fix_mode "$2" "$3"
		say "unchanged: $2"
		return 0
	fi
	say "installing: $2"
	run install -D -m "$3" "$1" "$2"
}

fix_mode() {
	[ "$(stat -c %a "$1")" = "$2" ] && return 0
	say "mode $2: $1"
	run chmod "$2" "$1"
}

# install_conf SRC DEST: an admin's file.  A missing one is installed; an
# edited one is kept and the shipped version goes beside it as DEST.dist.
install_conf() {
	if [ ! -e "$2" ] || cmp -s "$1" "$2"; then
		install_file "$1" "$2" 644
		return 0
	fi
	say "kept your edited $2; the shipped version is $2.dist"
	install_file "$1" "$2.dist" 644
}

# make_dir DIR MODE [OWNER]: create DIR or bring its mode and owner right.
make_dir() {
	if [ ! -d "$1" ]; then
		say "creating: $1 (mode $2${3:+, owner $3})"
		run mkdir -p "$1"
		run chmod "$2" "$1"
		[ -z "${3:-}" ] || run chown "$3:$3" "$1"
		return 0
	fi
	fix_mode "$1" "$2"
	if [ -n "${3:-}" ] && [ "$(stat -c %U "$1")" != "$3" ]; then
		say "owner $3: $1"
		run chown "$3:$3" "$1"
	fi
	say "unchanged: $1"
}

do_build() {
	if [ -n "$build" ]; then
		[ -x "$build/cli/photoguard" ] ||
		    die "$build/cli/photoguard not found: not a photoguard build directory"
		say "using the build in $build"
		return 0
	fi
	build=$top/build-release
	# Only what is installed: the tests and benchmarks are the
	# developers' (tests/run-all.sh builds them), and a release build
	# must not stop on a test that does not compile with its flags.
	if [ ! -f "$build/build.ninja" ]; then
		say "configuring a release build in $build"
		run meson setup --buildtype=release -Dtests=false \
		    -Dbench=false -Dslapd_tests=disabled "$build" "$top"
	else
		# A build-release/ of an earlier version built everything.
		run meson setup --reconfigure -Dtests=false -Dbench=false \
		    "$build" "$top"
	fi
	say "building in $build"
	run ninja -C "$build"
}

install_programs() {
	install_file "$build/cli/photoguard" "$SBIN/photoguard" 755
	if [ -f "$build/gateway/photoguard-gateway" ]; then
		install_file "$build/gateway/photoguard-gateway" \
		    "$SBIN/photoguard-gateway" 755
	else
		say "not built, skipped: photoguard-gateway"
	fi
	if [ -f "$build/pam_module/pam_photoguard.so" ]; then
		install_file "$build/pam_module/pam_photoguard.so" \
		    "$PAMDIR/pam_photoguard.so" 644
	elif [ "$dry" = 1 ]; then
		say "would install: $PAMDIR/pam_photoguard.so (once built)"
	else
		die "$build/pam_module/pam_photoguard.so was not built"
	fi
}

install_shipped() {
	shipped_files | while read -r src dest mode; do
		install_file "$top/$src" "$dest" "$mode"
	done
	units_changed=0
	# The units name the gateway by its installed path (--prefix).
	sbin=$(printf '%s' "$prefix/sbin" | sed 's/[\\|&]/\\&/g')
	for f in $(unit_files); do
		d=$UNITS/${f##*/}
		u=$tmpd/${f##*/}
		sed "s|@sbindir@|$sbin|g" "$f" >"$u"
		[ -f "$d" ] && cmp -s "$u" "$d" || units_changed=1
		install_file "$u" "$d" 644
	done
	[ -n "$(unit_files)" ] || say "no systemd units in deploy/systemd: none installed"
	if [ "$units_changed" = 1 ] && live_systemd; then
		run systemctl daemon-reload
	fi
}

install_config() {
	make_dir "$ETC" 755
	install_conf "$top/deploy/photoguard.conf" "$ETC/photoguard.conf"
	install_conf "$top/policy/examples/clinic.policy" "$ETC/clinic.policy"
	# The audit log's rotation, which must continue its chain.
	logrotate_file >"$tmpd/logrotate"
	install_conf "$tmpd/logrotate" "$root/etc/logrotate.d/photoguard"
}

make_user() {
	if [ -n "$root" ]; then
		say "skipped: the service user '$svc_user' (a staged install" \
		    "creates no account on this host; on the target run:" \
		    "useradd --system --user-group --home-dir /var/lib/photoguard" \
		    "--no-create-home --shell /usr/sbin/nologin $svc_user)"
		owner=
		return 0
	fi
	owner=$svc_user
	if getent passwd "$svc_user" >/dev/null; then
		say "unchanged: service user $svc_user"
		return 0
	fi
	say "creating the service user $svc_user (system, no login)"
	run useradd --system --user-group --home-dir /var/lib/photoguard \
	    --no-create-home --shell /usr/sbin/nologin \
	    --comment "photoguard gateway" "$svc_user"
}

# make_shared DIR: state the gateway, serving as the service user, shares
# with the PAM module and the CLI: root's, of the service user's group,
# 2770, and the files in it the group's (photoguard-gateway(8)).
make_shared() {
	# useradd --user-group names the group after the user (a dry run has
	# not made either yet).
	grp=$(id -gn "$owner" 2>/dev/null) || grp=$owner
	make_dir "$1" 2770
	if [ "$(stat -c %G "$1" 2>/dev/null)" != "$grp" ]; then
		say "group $grp: $1 and its files"
		run chgrp "$grp" "$1"
		run find "$1" -maxdepth 1 -type f -user root \
		    -exec chgrp "$grp" {} + -exec chmod g+rw,o-rwx {} +
	fi
}

make_state() {
	make_dir "$VARLIB" 755
	make_dir "$VARLIB/store" 700 "$owner"
	make_dir "$VARLIB/totp" 700
	# Without the service user (a staged tree) root's alone: the gateway
	# gives them to the group at its first start.
	if [ -n "$owner" ]; then
		make_shared "$VARLIB/lockout"
		make_shared "$LOGDIR"
	else
		make_dir "$VARLIB/lockout" 700
		make_dir "$LOGDIR" 700
	fi
}

# The rsyslog snippet that forwards the audit trail to a collector, when
# the configuration sends it to that snippet's socket (docs/audit-format.md,
# "Syslog").  Kept if the admin edited it, like a configuration file.
install_forwarding() {
	forward=0
	if ! forwarding_configured "$ETC/photoguard.conf"; then
		say "audit forwarding not configured (to send the audit trail" \
		    "to a collector, set [audit] syslog_socket = $FORWARD_SOCKET" \
		    "and run this again)"
		return 0
	fi
	if [ ! -d "$RSYSLOGD" ]; then
		say "[audit] syslog_socket is $FORWARD_SOCKET but $RSYSLOGD" \
		    "does not exist: apt-get install rsyslog rsyslog-relp" \
		    "rsyslog-gnutls, then run this again"
		return 0
	fi
	forward=1
	install_conf "$top/deploy/rsyslog/photoguard-forward.conf" \
	    "$RSYSLOGD/$RSYSLOG_SNIPPET"
}

make_keys() {
	pg=$build/cli/photoguard
	if [ -e "$ETC/audit.key" ]; then
		say "unchanged: $ETC/audit.key (audit signing key)"
	else
		say "creating the audit signing key $ETC/audit.key"
		run env PHOTOGUARD_CONFIG="$ETC/photoguard.conf" \
		    "$pg" audit keygen "$ETC/audit.key"
	fi
	if [ -e "$ETC/totp.key" ]; then
		say "unchanged: $ETC/totp.key (TOTP host key)"
	else
		say "creating the TOTP host key $ETC/totp.key"
		run env PHOTOGUARD_CONFIG="$ETC/photoguard.conf" \
		    "$pg" totp hostkey --host-key "$ETC/totp.key"
	fi
}

next_steps() {
	p=$prefix/share/photoguard
	cat <<N

What you must still do${root:+ (on the host this tree is for; staged in $root)}:
  1. Point /etc/photoguard/photoguard.conf at your directory ([directory]
     backend, uri, base_dn, bind_dn...), then: photoguard config check
  2. Adapt the policy /etc/photoguard/clinic.policy to your clinic's roles and
     store layout, then: photoguard policy check /etc/photoguard/clinic.policy
  3. Enroll every member of staff for codes: photoguard enroll USER
  4. Add the PAM lines of $p/pam.d/photoguard-sshd to
     /etc/pam.d/sshd, of $p/pam.d/photoguard-login to /etc/pam.d/login
     and of $p/pam.d/photoguard-sudo to /etc/pam.d/sudo (keep a root
     shell open while you test a new login).  Console logins of root and
     of the local group photoguard-exempt need no code:
     groupadd -r photoguard-exempt, then add the admins who need it.
  5. Copy $p/sshd_config.d/photoguard.conf to
     /etc/ssh/sshd_config.d/, then: sshd -t && systemctl reload ssh
     (without it a public key alone logs in and no code is asked).
  6. Put the photos in /var/lib/photoguard/store (owned by $svc_user, 0700)
     and start the gateway: systemctl enable --now photoguard-gateway
  7. Give auditors the public key /etc/photoguard/audit.key.pub; check the
     log with: photoguard audit verify
Manual pages: photoguard(8), photoguard.conf(5), photoguard-policy(5)${root:+}.
N
	[ "$forward" = 1 ] || return 0
	cat <<N
Audit forwarding: in /etc/rsyslog.d/$RSYSLOG_SNIPPET replace
collector.example by your collector's name, put ca.pem, host.pem and
host.key (0600) in /etc/photoguard/syslog/, then: rsyslogd -N1 &&
systemctl restart rsyslog.  The collector's side is
$p/rsyslog/photoguard-collector.conf.
N
}

parse_opts "$@"
set_paths
tmpd=$(mktemp -d "${TMPDIR:-/tmp}/pg-install.XXXXXX")
trap 'rm -rf "$tmpd"' EXIT
[ "$dry" = 1 ] && say "dry run: nothing will be changed"
[ "$dry" = 1 ] || [ "$(id -u)" = 0 ] || die "run as root (or use --dry-run)"
say "installing photoguard: prefix $prefix${root:+, staged beneath $root}, PAM modules in $pamdir"
do_build
install_programs
install_shipped
install_config
install_forwarding
make_user
make_state
make_keys
say "done"
next_steps
