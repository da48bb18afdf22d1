#!/bin/bash
# test_install.sh - deploy/install.sh and deploy/uninstall.sh, run for real
# into a staged tree (--root): what lands where with which mode, --dry-run
# changes nothing (staged, and on this host), a second install changes
# nothing, an admin's edited configuration survives a reinstall (the
# shipped one goes beside it as .dist), uninstall keeps the store, the log,
# the keys and the secrets; and the sshd snippet is valid for sshd.
# The staged install creates no service user: accounts belong to the target
# host and this test must leave the host's /etc/passwd as it found it.
. "$PG_SOURCE_ROOT/tests/lib/tap.sh"
src=$PG_SOURCE_ROOT
b=$PG_BUILD_ROOT
inst=$src/deploy/install.sh
uninst=$src/deploy/uninstall.sh
t=$(mktemp -d /tmp/pg-deploy.XXXXXX)
trap 'rm -rf "$t"' EXIT
r=$t/root

# listing: every path beneath $1 with mode, owner, size and checksum
listing() {
	(cd "$1" 2>/dev/null && find . -printf '%p %m %u %s\n' | sort &&
	    find . -type f -print0 | sort -z | xargs -0r sha256sum)
}

if [ "$(id -u)" != 0 ]; then
	skip "install.sh and uninstall.sh" "needs root (they set owners and modes)"
	done_testing
	exit 0
fi

# --- bad command lines
sh "$inst" --root "$r" --frobnicate >/dev/null 2>&1
is "unknown option exits 2" "$?" 2
out=$(sh "$inst" --root "$r" --prefix usr/local 2>&1); rc=$?
is "a relative --prefix is refused" "$rc" 1
like "...with a clear error" "$out" "prefix must be an absolute path"
out=$(sh "$inst" --root "$r" --build "$t" 2>&1); rc=$?
is "--build of a directory without a build is refused" "$rc" 1
like "...saying why" "$out" "not a photoguard build directory"
is "...and installs nothing" "$(ls -A "$t" | grep -v '^root$' | wc -l) $([ -e "$r/etc/photoguard" ] && echo yes || echo no)" "0 no"

# --- dry run, staged and on this host
mkdir -p "$r"
before=$(listing "$r")
out=$(sh "$inst" --root "$r" --build "$b" --dry-run 2>&1); rc=$?
is "--dry-run exits 0" "$rc" 0
like "--dry-run says what it would do" "$out" "would run: install -D -m 755 .*/cli/photoguard $r/usr/local/sbin/photoguard"
like "--dry-run would create the store 0700" "$out" "creating: $r/var/lib/photoguard/store \(mode 700\)"
like "--dry-run would make the audit key" "$out" "would run: .*audit keygen $r/etc/photoguard/audit.key"
is "--dry-run changes nothing in the staged tree" "$(listing "$r")" "$before"

host_state() {
	for p in /etc/photoguard /usr/local/sbin/photoguard /var/lib/photoguard \
	    /var/log/photoguard /usr/local/share/photoguard \
	    /lib/x86_64-linux-gnu/security/pam_photoguard.so; do
		stat -c '%n %m %s %Y' "$p" 2>/dev/null || echo "$p absent"
	done
	getent passwd photoguard || echo "no user"
	getent group photoguard || echo "no group"
}
hb=$(host_state)
out=$(sh "$inst" --build "$b" --dry-run 2>&1); rc=$?
is "--dry-run on this host exits 0" "$rc" 0
like "--dry-run on this host names the system PAM directory" "$out" "PAM modules in /(usr/)?lib/[^ ]*security"
if getent passwd photoguard >/dev/null; then
	like "--dry-run on this host: the service user exists" "$out" "unchanged: service user photoguard"
else
	like "--dry-run on this host would create the service user" "$out" "would run: useradd --system .*--shell /usr/sbin/nologin .*photoguard"
fi
is "--dry-run changes nothing on this host" "$(host_state)" "$hb"

# --- the staged install
out=$(sh "$inst" --root "$r" --build "$b" 2>&1); rc=$?
is "staged install exits 0" "$rc" 0
[ "$rc" = 0 ] || printf '# %s\n' "$out" | tail -20
mode() { stat -c %a "$r$1" 2>/dev/null || echo absent; }
pamdir=$(printf '%s\n' "$out" | sed -n 's/.*PAM modules in \([^ ]*\)$/\1/p')
is "photoguard in PREFIX/sbin, 0755" "$(mode /usr/local/sbin/photoguard)" 755
is "the PAM module in the system's PAM directory, 0644" "$(mode "$pamdir/pam_photoguard.so")" 644
is "the config, 0644" "$(mode /etc/photoguard/photoguard.conf)" 644
is "the config is the shipped one" "$(cmp -s "$src/deploy/photoguard.conf" "$r/etc/photoguard/photoguard.conf" && echo same)" same
is "the example policy as the policy in force" "$(cmp -s "$src/policy/examples/clinic.policy" "$r/etc/photoguard/clinic.policy" && echo same)" same
is "the store, 0700" "$(mode /var/lib/photoguard/store)" 700
is "the lockout directory, 0700" "$(mode /var/lib/photoguard/lockout)" 700
is "the TOTP secret directory, 0700" "$(mode /var/lib/photoguard/totp)" 700
is "the log directory, 0700 (the gateway shares it with its group at its first start)" "$(mode /var/log/photoguard)" 700
is "the audit signing key, 0600" "$(mode /etc/photoguard/audit.key)" 600
is "its public key, 0644" "$(mode /etc/photoguard/audit.key.pub)" 644
is "the TOTP host key, 0600" "$(mode /etc/photoguard/totp.key)" 600
is "the PAM snippets" "$(ls "$r/usr/local/share/photoguard/pam.d" | tr '\n' ' ')" "photoguard-login photoguard-sshd photoguard-sudo "
is "the example lockout hooks, 0755" \
    "$(mode /usr/local/share/photoguard/examples/hooks/mail-alert) $(mode /usr/local/share/photoguard/examples/hooks/webhook-alert)" "755 755"
is "the logrotate snippet, 0644" "$(mode /etc/logrotate.d/photoguard)" 644
like "...whose postrotate step calls the installed tool to continue the chain" "$(cat "$r/etc/logrotate.d/photoguard")" \
	"/usr/local/sbin/photoguard audit rotate --renamed \"\\\$1.1\" --log \"\\\$1\""
if command -v logrotate >/dev/null; then
	# The service user's group exists only on a real install.
	sed 's/^\(\tsu root\) photoguard$/\1 root/' "$r/etc/logrotate.d/photoguard" >"$r/lr.conf"
	logrotate -d "$r/lr.conf" >"$r/lr.out" 2>&1
	like "...and which logrotate parses" "$(cat "$r/lr.out")" "rotating pattern: /var/log/photoguard/audit.jsonl"
	if grep -qiE "^error" "$r/lr.out"; then not_ok "...without an error: $(grep -iE '^error' "$r/lr.out" | head -3)"; else ok "...without an error"; fi
	rm -f "$r/lr.out" "$r/lr.conf"
else
	not_ok "logrotate is installed (deploy/deps.sh --test installs it)"
fi
is "the sshd snippet" "$(mode /usr/local/share/photoguard/sshd_config.d/photoguard.conf)" 644
is "the bash completion, where bash-completion looks under the prefix" \
    "$(mode /usr/local/share/bash-completion/completions/photoguard)" 644
nman=$(ls "$src"/docs/*.[1-8] 2>/dev/null | wc -l)
is "every man page of docs/ installed" "$(ls "$r"/usr/local/share/man/man*/ 2>/dev/null | grep -c '\.[1-8]$')" "$nman"
unit=$r/etc/systemd/system/photoguard-gateway.service
like "the unit starts the gateway installed in PREFIX/sbin" "$(grep '^ExecStart=' "$unit" 2>&1)" "^ExecStart=/usr/local/sbin/photoguard-gateway -f$"
is "...with nothing left to fill in" "$(grep -c '@[a-z]*dir@' "$unit" 2>&1)" 0
like "...and waits for the mount to answer (Type=notify, a watchdog)" "$(grep -E '^(Type|NotifyAccess|WatchdogSec)=' "$unit" | tr '\n' ' ')" "^Type=notify NotifyAccess=all WatchdogSec=[0-9]+s $"
is "...and names no mount point (the gateway takes it from the config)" "$(grep -c '/srv/photos' "$unit")" 0
like "the man pages include photoguard(8)" "$(mode /usr/local/share/man/man8/photoguard.8)" "^644$"
like "the staged install says it created no user" "$out" "skipped: the service user 'photoguard'"
like "it prints what the admin must still do" "$out" "What you must still do"
like "...the PAM lines" "$out" "PAM lines of /usr/local/share/photoguard/pam.d/photoguard-sshd"
like "...the gateway service" "$out" "systemctl enable --now photoguard-gateway"
like "...enrollment" "$out" "photoguard enroll USER"
out2=$("$r/usr/local/sbin/photoguard" --version); rc=$?
like "the installed tool runs" "$out2" "^photoguard [0-9]"
out2=$("$r/usr/local/sbin/photoguard" config check "$r/etc/photoguard/photoguard.conf" 2>&1); rc=$?
is "the installed config passes config check" "$rc" 0
[ "$rc" = 0 ] || printf '# %s\n' "$out2"
out2=$("$r/usr/local/sbin/photoguard" policy check "$r/etc/photoguard/clinic.policy" 2>&1); rc=$?
is "the installed policy passes policy check" "$rc" 0
echo "keep me" > "$r/var/lib/photoguard/store/P1.jpg"
"$r/usr/local/sbin/photoguard" audit keygen "$t/unused.key" >/dev/null
echo '{}' > "$r/var/log/photoguard/audit.jsonl"
keysum=$(sha256sum "$r/etc/photoguard/audit.key" "$r/etc/photoguard/totp.key")

# --- a second install changes nothing
before=$(listing "$r")
out=$(sh "$inst" --root "$r" --build "$b" 2>&1); rc=$?
is "second install exits 0" "$rc" 0
is "second install changes nothing (modes, owners, checksums)" "$(listing "$r")" "$before"
if printf '%s\n' "$out" | grep -Eq 'installing:|creating'; then
	not_ok "second install installs and creates nothing"
else
	ok "second install installs and creates nothing"
fi
like "...and says what it left" "$out" "unchanged: $r/etc/photoguard/audit.key"

# --- an admin's edited config survives a reinstall
printf '\n[directory]\nbackend = ldap\n' >> "$r/etc/photoguard/photoguard.conf"
edited=$(sha256sum < "$r/etc/photoguard/photoguard.conf")
out=$(sh "$inst" --root "$r" --build "$b" 2>&1); rc=$?
is "reinstall over an edited config exits 0" "$rc" 0
is "the edited config is untouched" "$(sha256sum < "$r/etc/photoguard/photoguard.conf")" "$edited"
is "the shipped config is beside it as .dist" "$(cmp -s "$src/deploy/photoguard.conf" "$r/etc/photoguard/photoguard.conf.dist" && echo same)" same
like "...and the admin is told" "$out" "kept your edited $r/etc/photoguard/photoguard.conf; the shipped version is $r/etc/photoguard/photoguard.conf.dist"
before=$(listing "$r")
sh "$inst" --root "$r" --build "$b" >/dev/null 2>&1
is "a third install with the .dist in place changes nothing" "$(listing "$r")" "$before"
is "the keys were never replaced" "$(sha256sum "$r/etc/photoguard/audit.key" "$r/etc/photoguard/totp.key")" "$keysum"

# --- another prefix
sh "$inst" --root "$t/opt" --prefix /opt/pg --build "$b" >/dev/null 2>&1
is "--prefix puts the tool in PREFIX/sbin" "$(stat -c %a "$t/opt/opt/pg/sbin/photoguard" 2>&1)" 755
is "--prefix puts the snippets in PREFIX/share/photoguard" "$(ls "$t/opt/opt/pg/share/photoguard/pam.d" | wc -l)" 3
is "--prefix is the unit's path to the gateway" "$(grep '^ExecStart=' "$t/opt/etc/systemd/system/photoguard-gateway.service" 2>&1)" "ExecStart=/opt/pg/sbin/photoguard-gateway -f"
is "...but the config stays in /etc/photoguard" "$(ls "$t/opt/etc/photoguard/photoguard.conf" 2>&1)" "$t/opt/etc/photoguard/photoguard.conf"

# --- uninstall
mkdir -p "$r/etc/pam.d"
printf '# pam_photoguard.so in a comment does not count\n' > "$r/etc/pam.d/login"
printf 'auth required pam_photoguard.so\n' > "$r/etc/pam.d/sshd"
before=$(listing "$r")
out=$(sh "$uninst" --root "$r" 2>&1); rc=$?
is "uninstall refuses while a PAM stack names the module" "$rc" 1
like "...naming the stack" "$out" "still use pam_photoguard.so: $r/etc/pam.d/sshd\$"
is "...and removes nothing" "$(listing "$r")" "$before"
rm "$r/etc/pam.d/sshd"
before=$(listing "$r")
out=$(sh "$uninst" --root "$r" --dry-run 2>&1); rc=$?
is "uninstall --dry-run exits 0" "$rc" 0
like "uninstall --dry-run says what it would do" "$out" "would run: rm -f $r/usr/local/sbin/photoguard"
is "uninstall --dry-run changes nothing" "$(listing "$r")" "$before"
out=$(sh "$uninst" --root "$r" 2>&1); rc=$?
is "uninstall exits 0" "$rc" 0
gone() { [ ! -e "$r$1" ] && echo gone || echo present; }
is "the tool is gone" "$(gone /usr/local/sbin/photoguard)" gone
is "the PAM module is gone" "$(gone "$pamdir/pam_photoguard.so")" gone
is "the man pages are gone" "$(ls "$r"/usr/local/share/man/man*/ 2>/dev/null | grep -c '\.[1-8]$')" 0
is "the shared snippets are gone" "$(gone /usr/local/share/photoguard)" gone
is "the bash completion is gone" "$(gone /usr/local/share/bash-completion/completions/photoguard)" gone
is "the unedited policy is gone" "$(gone /etc/photoguard/clinic.policy)" gone
is "the logrotate snippet is gone" "$(gone /etc/logrotate.d/photoguard)" gone
is "the .dist is gone" "$(gone /etc/photoguard/photoguard.conf.dist)" gone
is "the edited config is kept" "$(sha256sum < "$r/etc/photoguard/photoguard.conf")" "$edited"
is "the keys are kept" "$(sha256sum "$r/etc/photoguard/audit.key" "$r/etc/photoguard/totp.key")" "$keysum"
is "the public key is kept" "$(gone /etc/photoguard/audit.key.pub)" present
is "the store and its photos are kept" "$(cat "$r/var/lib/photoguard/store/P1.jpg")" "keep me"
is "the audit log is kept" "$(cat "$r/var/log/photoguard/audit.jsonl")" "{}"
is "the TOTP secrets are kept" "$(mode /var/lib/photoguard/totp)" 700
like "uninstall says what it kept" "$out" "kept: $r/var/lib/photoguard/store \(the photo store\)"
like "...the log" "$out" "kept: $r/var/log/photoguard \(the audit log\)"
like "...the keys" "$out" "kept: $r/etc/photoguard/audit.key, .pub"
like "...the edited config" "$out" "kept \(edited\): $r/etc/photoguard/photoguard.conf"
before=$(listing "$r")
out=$(sh "$uninst" --root "$r" 2>&1); rc=$?
is "a second uninstall exits 0" "$rc" 0
is "...changes nothing" "$(listing "$r")" "$before"
like "...and says what is absent" "$out" "absent: $r/usr/local/sbin/photoguard"
out=$(sh "$inst" --root "$r" --build "$b" 2>&1); rc=$?
is "reinstall after uninstall exits 0" "$rc" 0
is "...keeps the kept keys" "$(sha256sum "$r/etc/photoguard/audit.key" "$r/etc/photoguard/totp.key")" "$keysum"

like "an install whose configuration does not forward the audit trail says how to" \
    "$out" "audit forwarding not configured .*syslog_socket = /run/photoguard-audit.sock"
is "...and installs no rsyslog snippet" "$(gone /etc/rsyslog.d/60-photoguard-forward.conf)" gone

# --- the audit trail's forwarding snippet
fw=$t/fwd
mkdir -p "$fw/etc/photoguard" "$fw/etc/rsyslog.d"
printf '[gateway]\nsyslog_socket = /run/photoguard-audit.sock\n[audit]\n#syslog_socket = /run/photoguard-audit.sock\n' \
    > "$fw/etc/photoguard/photoguard.conf"
sh "$inst" --root "$fw" --build "$b" >/dev/null 2>&1
is "the socket named outside [audit], or in a comment, is not forwarding" \
    "$(ls -A "$fw/etc/rsyslog.d")" ""
printf '[audit]\n  syslog_socket =  /run/photoguard-audit.sock \n' \
    > "$fw/etc/photoguard/photoguard.conf"
out=$(sh "$inst" --root "$fw" --build "$b" 2>&1); rc=$?
is "an install that forwards the audit trail exits 0" "$rc" 0
is "...installs the rsyslog sender snippet, 0644" \
    "$(cmp -s "$src/deploy/rsyslog/photoguard-forward.conf" "$fw/etc/rsyslog.d/60-photoguard-forward.conf" && stat -c %a "$fw/etc/rsyslog.d/60-photoguard-forward.conf")" 644
like "...says what is left to do" "$out" \
    "Audit forwarding: in /etc/rsyslog.d/60-photoguard-forward.conf replace"
is "...and ships the collector's snippet" \
    "$(stat -c %a "$fw/usr/local/share/photoguard/rsyslog/photoguard-collector.conf")" 644
printf '# edited\n' >> "$fw/etc/rsyslog.d/60-photoguard-forward.conf"
out=$(sh "$inst" --root "$fw" --build "$b" 2>&1)
like "an edited snippet is kept on reinstall" "$out" \
    "kept your edited $fw/etc/rsyslog.d/60-photoguard-forward.conf"
out=$(sh "$uninst" --root "$fw" 2>&1)
like "uninstall keeps the edited snippet" "$out" \
    "kept \(edited\): $fw/etc/rsyslog.d/60-photoguard-forward.conf"
is "...removes its .dist and the shipped ones" \
    "$(ls "$fw/etc/rsyslog.d"; [ -e "$fw/usr/local/share/photoguard" ] && echo share)" \
    60-photoguard-forward.conf

# --- the snippets
for f in photoguard-sshd photoguard-login; do
	lines=$(grep -v '^#' "$src/deploy/pam.d/$f" | grep -v '^$' | grep -v pam_succeed_if | awk '{print $1, $2, $3}' | tr '\n' ';')
	is "$f: auth, account and session lines" "$lines" "auth required pam_photoguard.so;account required pam_photoguard.so;session required pam_photoguard.so;"
done
cf=$src/deploy/sshd_config.d/photoguard.conf
like "sshd snippet warns what happens without it" "$(cat "$cf")" "WARNING: without these three settings"
if [ -x /usr/sbin/sshd ] && command -v unshare >/dev/null; then
	ssh-keygen -q -t ed25519 -N '' -f "$t/hk"
	printf 'Include %s\nHostKey %s\n' "$cf" "$t/hk" > "$t/sshd_config"
	# sshd -T wants /run/sshd: give it a private /run, not the host's.
	eff=$(unshare -m sh -c 'mount -t tmpfs none /run && mkdir /run/sshd &&
	    /usr/sbin/sshd -T -f "$1"' sh "$t/sshd_config" 2>&1); rc=$?
	is "sshd accepts the snippet" "$rc" 0
	like "...UsePAM yes" "$eff" "^usepam yes$"
	like "...keyboard-interactive on" "$eff" "kbdinteractiveauthentication yes"
	like "...key then code for every login" "$eff" "authenticationmethods publickey,keyboard-interactive"
else
	skip "sshd accepts the snippet" "no /usr/sbin/sshd or unshare on this host"
fi

done_testing
