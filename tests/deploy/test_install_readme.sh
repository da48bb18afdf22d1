#!/bin/bash
# test_install_readme.sh - the README's "Installing on an imaging server"
# commands, run exactly as written (no --build, no --root) from a fresh
# copy of the checkout, so install.sh configures and builds its own
# release build as a new admin's would.  They install into this host's
# /etc, /usr, /var and /lib, so they run in a private mount namespace
# where each of those is an overlay whose writes land in a scratch
# tmpfs: the host is left as it was (checked), and what the install
# wrote is there to inspect.
. "$PG_SOURCE_ROOT/tests/lib/tap.sh"
src=$PG_SOURCE_ROOT

can=yes
[ "$(id -u)" = 0 ] && command -v unshare >/dev/null || can=no
{ grep -qw overlay /proc/filesystems || modprobe overlay; } 2>/dev/null || can=no
if [ "$can" = no ]; then
	skip "the README's install commands" "need root, unshare and overlayfs (they install for real)"
	done_testing
	exit 0
fi

t=$(mktemp -d /tmp/pg-readme.XXXXXX)
trap 'rm -rf "$t"' EXIT
chmod 755 "$t"

# The commands of the README's install section, comments stripped.
readme_cmds() {
	awk '/^## Installing on an imaging server/ { s = 1; next }
	    s == 1 && /^```sh/ { s = 2; next }
	    s == 2 && /^```/ { exit }
	    s == 2 { sub(/[ \t]*#.*/, ""); if ($0 != "") print }' "$src/README.md"
}
cmds=$(readme_cmds)
like "the README names the install command" "$cmds" "^\./deploy/install\.sh$"

# A fresh copy: what git tracks (and new files), no build directories.
mkdir "$t/src"
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
	git -C "$src" ls-files -z --cached --others --exclude-standard |
	    tar -C "$src" --null --ignore-failed-read -T - -cf - 2>/dev/null |
	    tar -C "$t/src" -xf -
else
	tar -C "$src" --exclude='./build*' -cf - . | tar -C "$t/src" -xf -
fi
is "the copy has no build directory" "$(ls -d "$t/src"/build* 2>/dev/null)" ""

host_state() {
	for p in /etc/photoguard /usr/local/sbin/photoguard \
	    /usr/local/sbin/photoguard-gateway /var/lib/photoguard \
	    /var/log/photoguard /usr/local/share/photoguard \
	    /etc/systemd/system/photoguard-gateway.service; do
		stat -c '%n %m %s %Y' "$p" 2>/dev/null || echo "$p absent"
	done
	find /lib/ /usr/lib/ -name pam_photoguard.so -printf '%p %s %T@\n' 2>/dev/null
	# Not the whole passwd file: other tests add their users meanwhile.
	getent passwd photoguard || echo "no user"
	getent group photoguard || echo "no group"
}
hb=$(host_state)

# In the namespace: the overlays, a /run/systemd of its own (so the
# install finds no live systemd to reload), the README's commands, then
# what an admin would look at.
cat >"$t/inside.sh" <<'IN'
set -u
t=$1
mount -t tmpfs -o mode=755 pgreadme "$t/ovl" || exit 90
for d in /etc /usr /var /lib /srv /opt; do
	[ -d "$d" ] && [ ! -L "$d" ] || continue
	n=${d#/}
	mkdir -p "$t/ovl/$n.up" "$t/ovl/$n.work"
	mount -t overlay overlay -o \
	    "lowerdir=$d,upperdir=$t/ovl/$n.up,workdir=$t/ovl/$n.work" "$d" ||
	    exit 91
done
[ -d /run/systemd ] && mount -t tmpfs none /run/systemd
cd "$t/src" || exit 92
n=0
while IFS= read -r cmd; do
	n=$((n + 1))
	sh -c "$cmd" </dev/null >"$t/out.$n" 2>&1
	echo $? >"$t/rc.$n"
	echo "$cmd" >"$t/cmd.$n"
done <"$t/cmds"
{
	getent passwd photoguard
	stat -c '%n %a %U' /usr/local/sbin/photoguard \
	    /usr/local/sbin/photoguard-gateway /var/lib/photoguard/store \
	    /etc/photoguard/audit.key /etc/systemd/system/photoguard-gateway.service
	find /lib/ /usr/lib/ -name pam_photoguard.so -path '*/security/*' 2>/dev/null
	/usr/local/sbin/photoguard --version
	/usr/local/sbin/photoguard config check
} >"$t/after" 2>&1
exit 0
IN
mkdir "$t/ovl"
printf '%s\n' "$cmds" >"$t/cmds"
log=$(unshare -m --propagation private bash "$t/inside.sh" "$t" 2>&1); rc=$?
is "the namespace with the overlays was set up" "$rc" 0
[ "$rc" = 0 ] || printf '# %s\n' "$log"

i=1
while [ -f "$t/rc.$i" ]; do
	c=$(cat "$t/cmd.$i")
	is "README: '$c' exits 0" "$(cat "$t/rc.$i")" 0
	[ "$(cat "$t/rc.$i")" = 0 ] ||
	    grep -E 'error|FAILED' "$t/out.$i" | head -n 8 | sed 's/^/# /'
	case $c in
	*install.sh) inst=$t/out.$i ;;
	esac
	i=$((i + 1))
done
is "every README command ran" "$((i - 1))" "$(printf '%s\n' "$cmds" | wc -l)"

b=$t/src/build-release
like "install.sh configured its own release build" "$(cat "${inst:-/dev/null}")" "configuring a release build in $b"
is "...which built the programs" "$(ls "$b/cli/photoguard" "$b/gateway/photoguard-gateway" "$b/pam_module/pam_photoguard.so" 2>&1 | wc -l)" 3
is "...and no test" "$(find "$b" -path '*/tests/*' -type f -perm -u+x 2>/dev/null | head -n 3)" ""
is "...and no benchmark" "$(find "$b/bench" -type f -perm -u+x 2>/dev/null | head -n 3)" ""
after=$(cat "$t/after" 2>/dev/null)
like "the service user was created" "$after" "^photoguard:x:[0-9]+:[0-9]+:photoguard gateway:/var/lib/photoguard:/usr/sbin/nologin"
like "photoguard installed in /usr/local/sbin" "$after" "^/usr/local/sbin/photoguard 755 root"
like "photoguard-gateway installed" "$after" "^/usr/local/sbin/photoguard-gateway 755 root"
like "the store is the service user's, 0700" "$after" "^/var/lib/photoguard/store 700 photoguard"
like "the audit key is root's, 0600" "$after" "^/etc/photoguard/audit.key 600 root"
like "the unit is installed" "$after" "^/etc/systemd/system/photoguard-gateway.service 644 root"
like "the PAM module is in the system's PAM directory" "$after" "/security/pam_photoguard.so"
like "the installed tool runs" "$after" "^photoguard [0-9]"
is "this host is left as it was" "$(host_state)" "$hb"

done_testing
