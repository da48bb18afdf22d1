# install-lib.sh - what install.sh and uninstall.sh share: their options,
# the paths they work on, and actions that print what they do (and, with
# --dry-run, only print it).  Sourced, not run.  POSIX sh.

# Defaults; the options below change them.
prefix=/usr/local
root=
build=
pamdir=
dry=0
force=0

# The service user the store belongs to.
svc_user=photoguard

say() {
	printf '%s: %s\n' "$prog" "$*"
}

die() {
	printf '%s: error: %s\n' "$prog" "$*" >&2
	exit 1
}

# run CMD...: does CMD, or with --dry-run says what it would do.
run() {
	if [ "$dry" = 1 ]; then
		printf '%s: would run: %s\n' "$prog" "$*"
	else
		"$@"
	fi
}

# parse_opts "$@": the options both scripts take.  Sets $extra to the
# options of the calling script it did not know (only --build, --force).
parse_opts() {
	while [ $# -gt 0 ]; do
		case $1 in
		--prefix) [ $# -ge 2 ] || die "--prefix needs a directory"; prefix=$2; shift ;;
		--prefix=*) prefix=${1#*=} ;;
		--root) [ $# -ge 2 ] || die "--root needs a directory"; root=$2; shift ;;
		--root=*) root=${1#*=} ;;
		--pam-dir) [ $# -ge 2 ] || die "--pam-dir needs a directory"; pamdir=$2; shift ;;
		--pam-dir=*) pamdir=${1#*=} ;;
		--build) [ $# -ge 2 ] || die "--build needs a directory"; build=$2; shift ;;
		--build=*) build=${1#*=} ;;
		--dry-run|-n) dry=1 ;;
		--force) force=1 ;;
		-h|--help) usage; exit 0 ;;
		*) usage >&2; exit 2 ;;
		esac
		shift
	done
	case $prefix in /*) ;; *) die "--prefix must be an absolute path" ;; esac
	case $root in ''|/*) ;; *) die "--root must be an absolute path" ;; esac
	case $pamdir in ''|/*) ;; *) die "--pam-dir must be an absolute path" ;; esac
	[ "$root" = / ] && root=
	root=${root%/}
	prefix=${prefix%/}
	return 0
}

# The directory PAM loads modules from: pkg-config's libdir of pam, else
# the directory that holds pam_unix.so, else the multiarch default.
system_pam_dir() {
	d=$(pkg-config --variable=libdir pam 2>/dev/null || true)
	if [ -n "$d" ] && [ -d "$d/security" ]; then
		echo "$d/security"
		return
	fi
	for d in /lib/*/security /usr/lib/*/security /lib/security \
	    /usr/lib/security; do
		if [ -e "$d/pam_unix.so" ]; then
			echo "$d"
			return
		fi
	done
	a=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || true)
	[ -n "$a" ] && echo "/lib/$a/security" || echo /lib/security
}

# set_paths: every place the scripts touch, beneath --root.  Binaries,
# man pages and shared examples follow --prefix; the configuration, the
# state and the units are where the programs look for them, always.
set_paths() {
	[ -n "$pamdir" ] || pamdir=$(system_pam_dir)
	SBIN=$root$prefix/sbin
	MAN=$root$prefix/share/man
	SHARE=$root$prefix/share/photoguard
	COMPLETIONS=$root$prefix/share/bash-completion/completions
	PAMDIR=$root$pamdir
	ETC=$root/etc/photoguard
	RSYSLOGD=$root/etc/rsyslog.d
	UNITS=$root/etc/systemd/system
	VARLIB=$root/var/lib/photoguard
	LOGDIR=$root/var/log/photoguard
}

# The files install.sh ships beside the binaries: "SOURCE DEST MODE"
# lines, SOURCE relative to the checkout.
shipped_files() {
	for f in "$top"/docs/*.[1-8]; do
		[ -f "$f" ] || continue
		n=${f##*/}
		echo "docs/$n $MAN/man${n##*.}/$n 644"
	done
	for f in "$top"/deploy/pam.d/* "$top"/deploy/sshd_config.d/* \
	    "$top"/deploy/rsyslog/*; do
		[ -f "$f" ] || continue
		d=${f%/*}
		echo "${f#"$top"/} $SHARE/${d##*/}/${f##*/} 644"
	done
	echo "policy/examples/clinic.policy $SHARE/examples/clinic.policy 644"
	for f in "$top"/deploy/hooks/*; do
		[ -f "$f" ] || continue
		echo "${f#"$top"/} $SHARE/examples/hooks/${f##*/} 755"
	done
	echo "deploy/ldap/photoguard.schema.md $SHARE/ldap/photoguard.schema.md 644"
	echo "deploy/ldap/clinic-sample.ldif $SHARE/ldap/clinic-sample.ldif 644"
	echo "deploy/ldap/syncprov.ldif $SHARE/ldap/syncprov.ldif 644"
	echo "deploy/bash-completion/photoguard $COMPLETIONS/photoguard 644"
}

# The logrotate snippet as installed: it calls the installed tool, and
# rotates as the group that shares the log's directory.
logrotate_file() {
	sed -e "s|@sbindir@|$prefix/sbin|g" \
	    -e "s|^\(\tsu root \).*|\1$svc_user|" \
	    "$top/deploy/logrotate/photoguard"
}

# The audit trail's forwarding: the rsyslog snippet's place, and whether
# CONF's [audit] syslog_socket names the socket that snippet listens on
# (only then is the snippet installed: an rsyslog told to forward to
# collector.example helps nobody).
RSYSLOG_SNIPPET=60-photoguard-forward.conf
FORWARD_SOCKET=/run/photoguard-audit.sock
forwarding_configured() {
	[ -f "$1" ] && awk -v want="$FORWARD_SOCKET" '
		/^[ \t]*\[/ { sec = $0; gsub(/[][ \t]/, "", sec); next }
		sec == "audit" && /^[ \t]*syslog_socket[ \t]*=/ {
			v = $0; sub(/^[^=]*=[ \t]*/, "", v); sub(/[ \t]+$/, "", v)
			if (v == want) found = 1
		}
		END { exit !found }' "$1"
}

# The systemd units of deploy/systemd/, if that folder has any.
unit_files() {
	for f in "$top"/deploy/systemd/*.service "$top"/deploy/systemd/*.socket \
	    "$top"/deploy/systemd/*.timer "$top"/deploy/systemd/*.path; do
		[ -f "$f" ] && echo "$f"
	done
	return 0
}

# True when this host runs systemd and we install on it, not a stage.
live_systemd() {
	[ -z "$root" ] && [ -d /run/systemd/system ] &&
	    command -v systemctl >/dev/null 2>&1
}
