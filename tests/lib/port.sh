# port.sh - free_port: print a TCP port on 127.0.0.1 that nothing uses,
# for the private servers of the tests and benchmarks (bash).

free_port() {
	local port i lo=32768 hi=60999 base span
	read -r lo hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || :
	# Outside the kernel's ephemeral range: another test's outgoing
	# connection cannot take the port between this check and the bind.
	if [ "$lo" -gt 21024 ]; then
		base=20000 span=$((lo - 20000))
	else
		base=$((hi + 1)) span=$((65535 - hi))
	fi
	[ "$span" -gt 0 ] || return 1
	for i in $(seq 1 200); do
		port=$((base + (RANDOM * 32768 + RANDOM) % span))
		# Any state: a port still in TIME_WAIT or connected is not free.
		if ! ss -Htan "sport = :$port" 2>/dev/null | grep -q .; then
			echo "$port"
			return 0
		fi
	done
	return 1
}
