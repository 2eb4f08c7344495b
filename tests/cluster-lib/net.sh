# net.sh (sourced by tests/cluster): the host side of the bed: the bridge
# skiff-cbr0 with 10.213.0.1/24 and the FORWARD rule that lets the minions
# talk across it (Docker sets the host's FORWARD policy to DROP and
# br_netfilter sends bridged frames through it). Nothing else is routed in
# the host namespace: it has no route to the service or pod CIDRs.

# net_check_free: 0 when 10.213.0.0/24 is unused here; else why, on stderr.
net_check_free() {
	if ip -4 route show | grep -qE '^10\.213\.' || ip -4 addr show | grep -q 'inet 10\.213\.'; then
		echo "tests/cluster: 10.213.0.0/24 is already routed on this machine:" >&2
		ip -4 route show | grep -E '^10\.213\.' >&2
		echo "tests/cluster: refusing to share it (a leftover bed? tests/cluster down)" >&2
		return 1
	fi
	if ip link show "$BR" >/dev/null 2>&1; then
		echo "tests/cluster: $BR exists: run tests/cluster down first" >&2
		return 1
	fi
	return 0
}

# net_mode: "agent" when the agent makes the pod network itself
# (--docker-network, --routing), else "bridge".
net_mode() {
	if "$(bin_dir "$D/bindir")/skiff-agent" --help 2>&1 | grep -q -- '--docker-network'; then
		echo agent
	else
		echo bridge
	fi
}

net_up() {
	ip link add "$BR" type bridge &&
		ip addr add "$NET.1/24" dev "$BR" &&
		ip link set "$BR" up &&
		iptables -I FORWARD -i "$BR" -o "$BR" -m comment --comment "$TAG" -j ACCEPT ||
		{ echo "tests/cluster: cannot set up $BR" >&2; return 1; }
	net_router
}

# net_router: with --routed, the namespace skiff-rt: 10.213.0.254 on the
# bridge, 10.213.(10+I).1/24 towards minion I (net_router_leg), forwarding
# between them; the host reaches the minions through it.
net_router() {
	[ "$(cat "$D/routed")" = 1 ] || return 0
	ip netns add skiff-rt &&
		ip link add skiff-vr type veth peer name eth0 netns skiff-rt &&
		ip link set skiff-vr master "$BR" up &&
		nsenter --net=/run/netns/skiff-rt sh -c "ip link set lo up && ip addr add $NET.254/24 dev eth0 &&
			ip link set eth0 up && sysctl -qw net.ipv4.ip_forward=1" &&
		ip route add 10.213.0.0/16 via "$NET.254" ||
		{ echo "tests/cluster: cannot set up the router namespace" >&2; return 1; }
}

# net_router_leg I: minion I's /24 on the router (its link skiff-vI).
net_router_leg() {
	nsenter --net=/run/netns/skiff-rt sh -c "ip addr add 10.213.$((10 + $1)).1/24 dev skiff-v$1 &&
		ip link set skiff-v$1 up"
}

# net_link I up|down: minion I's link (on the host, or on the router).
net_link() {
	if [ -e /run/netns/skiff-rt ]; then
		nsenter --net=/run/netns/skiff-rt ip link set skiff-v"$1" "$2"
	else
		ip link set skiff-v"$1" "$2"
	fi
}

net_down() {
	k=0
	while [ $k -lt 20 ] &&
		iptables -D FORWARD -i "$BR" -o "$BR" -m comment --comment "$TAG" -j ACCEPT 2>/dev/null; do
		k=$((k + 1))
	done
	ip netns del skiff-rt 2>/dev/null
	if ip link show skiff-vr >/dev/null 2>&1; then ip link del skiff-vr; fi
	if ip link show "$BR" >/dev/null 2>&1; then ip link del "$BR"; fi
}

# umount_under DIR: every mount below DIR, deepest first, lazily.
umount_under() {
	awk -v d="$1/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r | while read -r mp; do
		umount -l "$mp" 2>/dev/null
	done
}
