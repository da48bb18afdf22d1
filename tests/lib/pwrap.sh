# pwrap.sh - living with pam_wrapper's staging directories.
#
# pam_wrapper copies the service files of every process it starts in to
# /tmp/pam.X, one of a few dozen names shared by the whole host, and removes
# its copy at exit.  A process that ends without running destructors (a
# crash, valgrind's helper processes, a kill) leaves its copy behind; once
# the names run out, or when a new process lands on a stale copy, a login
# can run with another test's service file.  pwrap_sweep removes the copies
# whose owner is gone: those naming a dead pid, and those with no pid file
# older than a minute.  Call it before each login.
pwrap_sweep() {
	local d pid
	for d in /tmp/pam.?; do
		[ -d "$d" ] || continue
		pid=$(cat "$d/pid" 2>/dev/null) || pid=
		case $pid in *[!0-9]*) pid= ;; esac
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			rm -rf "$d"
		elif [ -z "$pid" ] &&
		    [ -n "$(find "$d" -maxdepth 0 -mmin +1 2>/dev/null)" ]; then
			rm -rf "$d"
		fi
	done
}

# pwrap_failed FILE: true if pam_wrapper could not stage its copy in the
# run whose output is FILE (the module never ran: worth another try).
pwrap_failed() {
	grep -aq 'PWRAP_ERROR.*pwrap_init' "$1"
}
