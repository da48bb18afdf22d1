#!/bin/sh
# deps.sh - install the Debian 12 packages photoguard needs.
#   deploy/deps.sh          build and run-time packages
#   deploy/deps.sh --test   plus what the tests and the demo start for real
#                           (slapd, pam_wrapper, pamtester, sshd, oathtool,
#                           rsyslogd with RELP and TLS...)
# Idempotent: installs only what is missing.
set -eu

build="meson ninja-build pkg-config gcc libc6-dev libpam0g-dev liboath-dev
libldap2-dev libsodium-dev libinotifytools0-dev libfuse3-dev fuse3
libjansson-dev libinih-dev libqrencode-dev zlib1g-dev python3"
test="libcmocka-dev slapd ldap-utils libpam-wrapper libpamtest0-dev pamtester
oathtool openssl openssh-server openssh-client valgrind clang-format util-linux
debootstrap systemd-container debhelper lintian dpkg-dev
procps psmisc man-db groff-base rsync libjpeg-turbo-progs file logrotate
time libxml2-utils rsyslog rsyslog-relp rsyslog-gnutls zbar-tools
bash-completion chromium tesseract-ocr poppler-utils"

want=$build
[ "${1:-}" = "--test" ] && want="$build $test"

missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "deps: all needed Debian packages are installed"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages:$missing" >&2
	echo "deps: run as root (or with sudo) to install them" >&2
	exit 1
fi
echo "deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# Keep Debian's slapd package from starting a system directory we never use.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing

# slapd, sshd and rsyslogd are started by the tests and the demo as private
# instances.  Installed here only for that, they must not come up as host
# services at the next boot either (policy-rc.d above kept them from
# starting now).
for pair in slapd:slapd openssh-server:ssh rsyslog:rsyslog; do
	pkg=${pair%%:*} unit=${pair#*:}
	case " $missing " in
	*" $pkg "*)
		if command -v systemctl >/dev/null &&
		    systemctl disable "$unit.service" >/dev/null 2>&1; then
			echo "deps: $pkg was installed for the tests and the demo only: $unit.service left disabled"
		fi ;;
	esac
done
