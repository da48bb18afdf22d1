#!/bin/sh
# uninstall.sh - remove what deploy/install.sh installed: the programs, the
# PAM module, the man pages, the shipped examples and snippets, the systemd
# units, and the configuration files the admin never edited.  Keeps, and
# says so: the photo store, the audit log, the audit signing key, the TOTP
# host key and secrets, the lockout records, edited configuration and the
# service user (it owns the store).  Refuses to remove the PAM module while a
# PAM stack still names it (that would lock everyone out) unless --force.
#
#   deploy/uninstall.sh [--prefix DIR] [--root DIR] [--pam-dir DIR]
#                       [--dry-run] [--force]
# Give the same --prefix, --root and --pam-dir as to install.sh.
set -eu
umask 022
prog=uninstall.sh
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/deploy/install-lib.sh"

usage() {
	cat <<'U'
Usage: deploy/uninstall.sh [--prefix DIR] [--root DIR] [--pam-dir DIR]
                           [--dry-run] [--force]
  The same --prefix, --root and --pam-dir as given to install.sh.
  --dry-run  print every action without doing it
  --force    remove the PAM module even though a PAM stack names it
Keeps the store, the audit log, the keys, the TOTP secrets, the lockout
records, edited configuration and the service user.
U
}

remove() {
	if [ -e "$1" ] || [ -L "$1" ]; then
		say "removing: $1"
		run rm -f "$1"
	else
		say "absent: $1"
	fi
}

# Removes DIR if it is empty (what is left in it was not ours).
remove_dir() {
	[ -d "$1" ] || return 0
	if [ -z "$(ls -A "$1")" ]; then
		say "removing empty directory: $1"
		run rmdir "$1"
	else
		say "kept (not empty): $1"
	fi
}

# An admin's file: removed only if it is still the shipped one.
remove_conf() {
	if [ -f "$2" ] && ! cmp -s "$1" "$2"; then
		say "kept (edited): $2"
	else
		remove "$2"
	fi
	remove "$2.dist"
}

stop_units() {
	for f in $(unit_files); do
		u=${f##*/}
		[ -f "$UNITS/$u" ] || continue
		if live_systemd; then
			say "stopping and disabling $u"
			run systemctl disable --now "$u" || true
		fi
		remove "$UNITS/$u"
	done
	live_systemd && [ -n "$(unit_files)" ] && run systemctl daemon-reload
	return 0
}

remove_pam_module() {
	stacks=$(grep -l '^[^#]*pam_photoguard' "$root"/etc/pam.d/* 2>/dev/null || true)
	if [ -n "$stacks" ] && [ -e "$PAMDIR/pam_photoguard.so" ]; then
		if [ "$force" != 1 ]; then
			say "these PAM stacks still use pam_photoguard.so:" $stacks
			die "remove those lines first (a stack naming a missing required module refuses every login), or give --force"
		fi
		say "WARNING: --force: removing the module although" $stacks "still name it"
	fi
	remove "$PAMDIR/pam_photoguard.so"
}

remove_shipped() {
	shipped_files | while read -r src dest mode; do
		remove "$dest"
	done
	for d in "$SHARE/pam.d" "$SHARE/sshd_config.d" \
	    "$SHARE/examples/hooks" "$SHARE/examples" \
	    "$SHARE/ldap" "$SHARE/rsyslog" "$SHARE"; do
		remove_dir "$d"
	done
}

kept() {
	say "kept: $1 ($2)"
}

parse_opts "$@"
set_paths
[ "$dry" = 1 ] && say "dry run: nothing will be changed"
[ "$dry" = 1 ] || [ "$(id -u)" = 0 ] || die "run as root (or use --dry-run)"
say "removing photoguard: prefix $prefix${root:+, staged beneath $root}"
remove_pam_module
stop_units
remove "$SBIN/photoguard-gateway"
remove "$SBIN/photoguard"
remove_shipped
remove_conf "$top/deploy/photoguard.conf" "$ETC/photoguard.conf"
remove_conf "$top/policy/examples/clinic.policy" "$ETC/clinic.policy"
tmpd=$(mktemp -d "${TMPDIR:-/tmp}/pg-uninstall.XXXXXX")
trap 'rm -rf "$tmpd"' EXIT
logrotate_file >"$tmpd/logrotate"
remove_conf "$tmpd/logrotate" "$root/etc/logrotate.d/photoguard"
if [ -e "$RSYSLOGD/$RSYSLOG_SNIPPET" ]; then
	remove_conf "$top/deploy/rsyslog/photoguard-forward.conf" \
	    "$RSYSLOGD/$RSYSLOG_SNIPPET"
	[ -e "$RSYSLOGD/$RSYSLOG_SNIPPET" ] ||
	    say "restart rsyslog to stop forwarding: systemctl restart rsyslog"
fi
[ -e "$ETC/audit.key" ] && kept "$ETC/audit.key, .pub" "audit signing key: the log's proof"
[ -e "$ETC/totp.key" ] && kept "$ETC/totp.key" "TOTP host key: without it the secrets cannot be read"
[ -d "$VARLIB/store" ] && kept "$VARLIB/store" "the photo store"
[ -d "$VARLIB/totp" ] && kept "$VARLIB/totp" "the TOTP secrets of enrolled users"
[ -d "$VARLIB/lockout" ] && kept "$VARLIB/lockout" "lockout records: locked accounts stay locked"
[ -d "$LOGDIR" ] && kept "$LOGDIR" "the audit log"
if [ -z "$root" ] && getent passwd "$svc_user" >/dev/null; then
	kept "service user $svc_user" "it owns the store; userdel $svc_user once the store is gone"
fi
remove_dir "$ETC"
say "done"
