#!/bin/bash
# test_deb.sh - the Debian packages.  Built by dpkg-buildpackage from a
# copy of the source tree (the checkout is left as it is), lintian-clean,
# without any key in them; installed with apt into a fresh copy of a
# cached Debian 12 tree (debian_tree.sh, with the demo's tools) booted
# with systemd-nspawn.  There: the service user, the state directories
# and their modes, the keys made at installation, the pam-auth-update
# profile off until enabled, the tool, and the demo run against the
# packaged programs.  Then purge: it removes the keys and the state and
# keeps a photo in the store and the audit log, with the public key
# beside it.
. "$PG_SOURCE_ROOT/tests/lib/tap.sh"
src=$PG_SOURCE_ROOT

. "$PG_SOURCE_ROOT/tests/deploy/debian_tree.sh"
debian_tree_need "the Debian packages" dpkg-buildpackage dh lintian rsync \
    systemd-nspawn debootstrap nsenter
debian_tree_workdir deb
fail() { # fail: the rest cannot run
	done_testing
	exit 1
}

# --- build, from a copy without build directories or git metadata
excl=(--exclude=/.git --exclude='/build*/' --exclude=/obj-*/)
case $PG_BUILD_ROOT in
"$src"/*) excl+=(--exclude="/${PG_BUILD_ROOT#"$src"/}/") ;;
esac
rsync -a "${excl[@]}" "$src/" "$t/src/"
start=$(date +%s)
(cd "$t/src" && dpkg-buildpackage -b -uc -us) >"$t/build.log" 2>&1
rc=$?
is "dpkg-buildpackage -b -uc -us in a copy of the tree exits 0" "$rc" 0
[ "$rc" = 0 ] || { tail -n 25 "$t/build.log" | sed 's/^/# /'; fail; }
diag "built in $(($(date +%s) - start))s"
debs=$(cd "$t" && ls ./*.deb | grep -v -- -dbgsym_ | sort | tr '\n' ' ')
like "two packages: photoguard and libpam-photoguard (and their -dbgsym)" "$debs" \
    "^\./libpam-photoguard_[^ ]*\.deb \./photoguard_[^ ]*\.deb $"

# --- lintian: no error, no warning
out=$(lintian "$t"/*.changes 2>&1)
is "lintian reports no error and no warning" "$(printf '%s\n' "$out" | grep -cE '^[EW]: ')" 0
printf '%s\n' "$out" | grep -E '^[EW]: ' | head -n 20 | sed 's/^/# /'

# --- what is in the packages
pkg=$(ls "$t"/photoguard_*.deb) lib=$(ls "$t"/libpam-photoguard_*.deb)
list=$(for d in "$t"/*.deb; do dpkg -c "$d"; done | awk '{ print $NF }')
is "no key in any package" "$(printf '%s\n' "$list" | grep -E '\.key(\.pub)?$|/keys?/')" ""
for f in ./usr/sbin/photoguard ./usr/sbin/photoguard-gateway \
    ./lib/systemd/system/photoguard-gateway.service \
    ./usr/lib/sysusers.d/photoguard.conf ./usr/lib/tmpfiles.d/photoguard.conf \
    ./etc/photoguard/photoguard.conf ./etc/photoguard/clinic.policy \
    ./etc/logrotate.d/photoguard ./usr/share/man/man8/photoguard.8.gz \
    ./usr/share/photoguard/pam.d/photoguard-sshd \
    ./usr/share/photoguard/ldap/photoguard-schema.ldif \
    ./usr/share/bash-completion/completions/photoguard \
    ./lib/x86_64-linux-gnu/security/pam_photoguard.so \
    ./usr/share/pam-configs/photoguard; do
	[ "$(dpkg-architecture -qDEB_HOST_MULTIARCH)" = x86_64-linux-gnu ] ||
	    f=${f/x86_64-linux-gnu/$(dpkg-architecture -qDEB_HOST_MULTIARCH)}
	printf '%s\n' "$list" | grep -qxF "$f" || absent="${absent:-} $f"
done
is "the packages hold the programs, the module, the unit, the profile, the configuration" "${absent:-}" ""
conf=$(dpkg-deb -I "$pkg" conffiles | sort | tr '\n' ' ')
is "...the configuration and the logrotate snippet are conffiles" "$conf" \
    "/etc/logrotate.d/photoguard /etc/photoguard/clinic.policy /etc/photoguard/photoguard.conf "
unit=$(dpkg-deb --fsys-tarfile "$pkg" | tar -xO ./lib/systemd/system/photoguard-gateway.service)
is "the unit starts the installed gateway" "$(printf '%s\n' "$unit" | grep '^ExecStart=')" \
    "ExecStart=/usr/sbin/photoguard-gateway -f"
lr=$(dpkg-deb --fsys-tarfile "$pkg" | tar -xO ./etc/logrotate.d/photoguard)
like "the logrotate snippet rotates as the service user's group and calls the installed tool" \
    "$(printf '%s\n' "$lr" | grep -v '^#' | grep -E 'su root|audit rotate' | tr -s ' \t\n' '   ')" \
    "^ su root photoguard /usr/sbin/photoguard audit rotate "
is "...with no placeholder left" "$(printf '%s\n' "$unit" "$lr" | grep -c '@[a-z]*@')" 0

# --- a clean Debian 12 with what the demo starts, booted
pkgs="$DEBIAN_TREE_PKGS,adduser,logrotate,slapd,ldap-utils,openssh-server,openssh-client,oathtool,libjpeg-turbo-progs,python3,file,libpam-wrapper,openssl,iproute2"
debian_tree "$root" "$t" "$pkgs" || fail
# The demo starts slapd and sshd of its own; the tree's are masked (the
# container shares the host's network, for apt).
ln -s /dev/null "$root/etc/systemd/system/slapd.service"
ln -s /dev/null "$root/etc/systemd/system/ssh.service"
mkdir -p "$root/root/debs"
cp "$pkg" "$lib" "$root/root/debs/"
container_boot "$root" --resolv-conf=copy-host --bind-ro="$t/src:/src" || fail
cpkg=/root/debs/${pkg##*/} clib=/root/debs/${lib##*/}

# --- apt-get install of both
ct timeout 120 apt-get update -q >"$t/apt.log" 2>&1 ||
    diag "apt-get update failed (the tree has every dependency; going on)"
ct env DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -q \
    "$cpkg" "$clib" >>"$t/apt.log" 2>&1
rc=$?
is "apt-get install of photoguard and libpam-photoguard exits 0" "$rc" 0
[ "$rc" = 0 ] || { tail -n 25 "$t/apt.log" | sed 's/^/# /'; fail; }

pw=$(ct getent passwd photoguard)
uid=$(printf '%s' "$pw" | cut -d: -f3)
is "the service user exists: home /var/lib/photoguard, no login" \
    "$(printf '%s' "$pw" | cut -d: -f6,7)" "/var/lib/photoguard:/usr/sbin/nologin"
check "...a system user (uid $uid below 1000)" test "${uid:-1000}" -lt 1000
is "...with a group of its own" "$(ct id -gn photoguard)" photoguard
state_dirs="/var/lib/photoguard /var/lib/photoguard/store /var/lib/photoguard/totp /var/lib/photoguard/lockout /var/log/photoguard /run/photoguard"
want_modes="755 root:root /var/lib/photoguard;700 photoguard:photoguard /var/lib/photoguard/store;700 root:root /var/lib/photoguard/totp;2770 root:photoguard /var/lib/photoguard/lockout;2770 root:photoguard /var/log/photoguard;755 root:root /run/photoguard;"
# shellcheck disable=SC2086
is "the state directories have install.sh's owners and modes" \
    "$(ct stat -c '%a %U:%G %n' $state_dirs 2>&1 | tr '\n' ';')" "$want_modes"
is "the audit signing key and the TOTP host key were made, root's, 0600" \
    "$(ct stat -c '%a %U %n' /etc/photoguard/audit.key /etc/photoguard/totp.key 2>&1 | tr '\n' ';')" \
    "600 root /etc/photoguard/audit.key;600 root /etc/photoguard/totp.key;"
pub=$(ct cat /etc/photoguard/audit.key.pub 2>/dev/null)
check "...and the public key for auditors" test -n "$pub"
like "the audit log begins with the record of the new key" \
    "$(ct cat /var/log/photoguard/audit.jsonl 2>&1 | head -n 1)" '"admin\.audit\.keygen"'
like "photoguard --version" "$(ct photoguard --version 2>&1)" "0\.1\.0"
out=$(ct photoguard config check 2>&1); rc=$?
is "photoguard config check exits 0 on the shipped configuration" "$rc" 0
[ "$rc" = 0 ] || printf '%s\n' "$out" | head -n 10 | sed 's/^/# /'
out=$(ct photoguard audit verify 2>&1); rc=$?
is "photoguard audit verify proves the new log" "$rc" 0
[ "$rc" = 0 ] || printf '%s\n' "$out" | head -n 10 | sed 's/^/# /'
is "the gateway is neither enabled nor started before it is configured" \
    "$(ct systemctl is-enabled photoguard-gateway.service 2>&1) $(ct systemctl is-active photoguard-gateway.service 2>&1)" \
    "disabled inactive"

# --- the PAM profile: off until enabled
stacks() { ct grep -l pam_photoguard /etc/pam.d/common-auth \
    /etc/pam.d/common-account /etc/pam.d/common-session \
    /etc/pam.d/common-session-noninteractive 2>/dev/null | tr '\n' ' '; }
check "the pam-auth-update profile is installed" ct test -f /usr/share/pam-configs/photoguard
is "...and off: no common PAM stack names pam_photoguard" "$(stacks)" ""
out=$(ct pam-auth-update --enable photoguard 2>&1)
is "pam-auth-update --enable photoguard puts it in auth, account and interactive sessions" \
    "$(stacks)" "/etc/pam.d/common-auth /etc/pam.d/common-account /etc/pam.d/common-session "
like "...as a required module" "$(ct grep pam_photoguard /etc/pam.d/common-auth)" \
    "^auth[[:space:]]+required[[:space:]]+pam_photoguard\.so"
ct pam-auth-update --disable photoguard >/dev/null 2>&1
is "pam-auth-update --disable photoguard takes it out again" "$(stacks)" ""

# --- the demo, against the packaged programs
# run.sh takes its programs from a build directory's layout.
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
ct mkdir -p /root/pkgbuild/cli /root/pkgbuild/gateway /root/pkgbuild/pam_module
ct ln -s /usr/sbin/photoguard /root/pkgbuild/cli/photoguard
ct ln -s /usr/sbin/photoguard-gateway /root/pkgbuild/gateway/photoguard-gateway
ct ln -s "/lib/$ma/security/pam_photoguard.so" /root/pkgbuild/pam_module/pam_photoguard.so
start=$(date +%s)
ct timeout 420 bash /src/deploy/demo/run.sh --no-deps \
    --build-dir /root/pkgbuild >"$t/demo.log" 2>&1
rc=$?
demo=$(sed 's/\x1b\[[0-9;]*m//g' "$t/demo.log")
is "the demo runs in the container with the packaged programs and exits 0" "$rc" 0
passed=$(printf '%s\n' "$demo" | grep -c '\[ok\] ')
is "...every verdict passed ($passed; none failed)" \
    "$(printf '%s\n' "$demo" | grep '\[FAILED\] ' | head -n 5)" ""
check "...and it told the whole story (at least 20 verdicts)" test "$passed" -ge 20
[ "$rc" = 0 ] || printf '%s\n' "$demo" | tail -n 30 | sed 's/^/# /'
diag "the demo took $(($(date +%s) - start))s"

# --- purge: keys and state go, photos and the audit log stay
photo=/var/lib/photoguard/store/patients/P000001/2026-01-10-preop/IMG_0001.jpg
ct setpriv --reuid=photoguard --regid=photoguard --init-groups \
    sh -c "mkdir -p '${photo%/*}' && echo 'PHOTO P000001' >'$photo'"
ct sh -c 'echo "{\"seq\":1}" >/var/log/photoguard/audit.jsonl.1 &&
    : >/var/lib/photoguard/totp/drsmith && : >/var/lib/photoguard/lockout/drsmith'
ct pam-auth-update --enable photoguard >/dev/null 2>&1
ct env DEBIAN_FRONTEND=noninteractive timeout 300 apt-get purge -y -q \
    photoguard libpam-photoguard >"$t/purge.log" 2>&1
rc=$?
is "apt-get purge photoguard libpam-photoguard exits 0" "$rc" 0
[ "$rc" = 0 ] || tail -n 25 "$t/purge.log" | sed 's/^/# /'
st=
for p in photoguard libpam-photoguard; do
	st="$st$(ct dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || echo absent) "
done
like "both packages are gone" "$st" "^(not-installed|absent) (not-installed|absent) $"
is "the module was taken out of the enabled PAM stacks first" "$(stacks)" ""
gone=
for f in /etc/photoguard /var/lib/photoguard/totp /var/lib/photoguard/lockout \
    /run/photoguard /usr/sbin/photoguard "/lib/$ma/security/pam_photoguard.so"; do
	ct test -e "$f" && gone="$gone $f"
done
is "the keys, the TOTP secrets, the lockout records and the runtime state are gone" "$gone" ""
is "the photo in the store is kept" "$(ct cat "$photo" 2>&1)" "PHOTO P000001"
is "...still the service user's, who stays" "$(ct stat -c %U "$photo" 2>&1) $(ct id -un photoguard 2>&1)" \
    "photoguard photoguard"
is "the audit log is kept, rotated file and all" \
    "$(ct sh -c 'head -n 1 /var/log/photoguard/audit.jsonl | grep -c admin.audit.keygen; cat /var/log/photoguard/audit.jsonl.1' 2>&1 | tr '\n' ' ')" \
    '1 {"seq":1} '
is "...with the public key that verifies it beside it" \
    "$(ct cat /var/log/photoguard/audit.key.pub 2>&1)" "$pub"

# --- where systemd-sysusers and systemd-tmpfiles are missing (a chroot
# of a host without systemd): adduser, and the same modes by hand
container_stop
fb=$t/fallback
if debian_tree "$fb" "$t" "$pkgs"; then
	check "a second copy of the tree, systemd-sysusers and systemd-tmpfiles hidden" \
	    mv "$fb/usr/bin/systemd-sysusers" "$fb/usr/bin/systemd-tmpfiles" "$fb/root/"
	cp "$pkg" "$lib" "$fb/tmp/"
	chroot "$fb" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	    DEBIAN_FRONTEND=noninteractive dpkg -i "/tmp/${pkg##*/}" \
	    "/tmp/${lib##*/}" >"$t/fallback.log" 2>&1
	rc=$?
	is "...dpkg -i of both there exits 0" "$rc" 0
	[ "$rc" = 0 ] || tail -n 15 "$t/fallback.log" | sed 's/^/# /'
	is "...adduser made the service user" \
	    "$(chroot "$fb" getent passwd photoguard | cut -d: -f6,7)" \
	    "/var/lib/photoguard:/usr/sbin/nologin"
	# shellcheck disable=SC2086
	is "...the state directories have the same owners and modes" \
	    "$(chroot "$fb" stat -c '%a %U:%G %n' $state_dirs 2>&1 | tr '\n' ';')" "$want_modes"
	is "...and the keys were made" \
	    "$(chroot "$fb" stat -c '%a %U %n' /etc/photoguard/audit.key /etc/photoguard/totp.key 2>&1 | tr '\n' ';')" \
	    "600 root /etc/photoguard/audit.key;600 root /etc/photoguard/totp.key;"
fi

done_testing
