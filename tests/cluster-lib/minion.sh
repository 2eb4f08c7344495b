# minion.sh (sourced by tests/cluster): minion I is the network namespace
# skiff-mI, joined to skiff-cbr0 by the veth skiff-vI (eth0 inside, address
# 10.213.0.(10+I)/24, no default route: a stray packet dies), with its own
# dockerd (entered with nsenter --net, which keeps the host's /sys and
# cgroup mounts that dockerd needs; `ip netns exec` would remount /sys),
# skiff-agent, skiff-proxy and skiff-dns. State in $D/mI.

# With --routed, minion I is 10.213.(10+I).2 behind the router instead.
minion_ip() {
	if [ "$(cat "$D/routed" 2>/dev/null)" = 1 ]; then echo "10.213.$((10 + $1)).2"; else echo "$NET.$((10 + $1))"; fi
}
minion_sock() { echo "$D/m$1/docker.sock"; }
in_ns() {
	_ns=$1
	shift
	nsenter --net="/run/netns/skiff-m$_ns" "$@"
}

# minion_net I N: the namespace, its link, a sink for the service CIDR (a
# bridge with no ports: a connection to a cluster IP needs a route before
# the proxy's NAT rewrites it), and in bridge mode the routes to the other
# minions' pods.
minion_net() {
	i=$1 ns=skiff-m$1 ip=$(minion_ip "$1")
	mkdir -p "$D/m$i" &&
		ip netns add "$ns" &&
		minion_link "$i" &&
		in_ns "$i" ip link set lo up &&
		in_ns "$i" ip addr add "$ip/24" dev eth0 &&
		in_ns "$i" ip link set eth0 up &&
		minion_route "$i" &&
		in_ns "$i" ip link add skiff-sink type bridge &&
		in_ns "$i" ip link set skiff-sink up &&
		in_ns "$i" ip route add "$SVC_CIDR" dev skiff-sink src "$ip" ||
		{ echo "tests/cluster: cannot set up the network of minion $i" >&2; return 1; }
	# In agent mode forwarding starts off, as on a fresh machine (a new
	# namespace inherits the host's setting): dockerd turns it on and sets
	# the FORWARD policy to DROP, as it would there, and the agent must
	# open the way for pod traffic itself.
	if [ "$(cat "$D/netmode")" = agent ]; then
		in_ns "$i" sysctl -qw net.ipv4.ip_forward=0
		return
	fi
	in_ns "$i" sysctl -qw net.ipv4.ip_forward=1 || return 1
	j=1
	while [ "$j" -le "$2" ]; do
		if [ "$j" != "$i" ]; then
			in_ns "$i" ip route add "10.244.$j.0/24" via "$(minion_ip "$j")" || return 1
		fi
		j=$((j + 1))
	done
}

# minion_link I: its veth skiff-vI, on the bridge or (--routed) on the router.
minion_link() {
	if [ "$(cat "$D/routed")" = 1 ]; then
		ip link add "skiff-v$1" netns skiff-rt type veth peer name eth0 netns "skiff-m$1" && net_router_leg "$1"
	else
		ip link add "skiff-v$1" type veth peer name eth0 netns "skiff-m$1" && ip link set "skiff-v$1" master "$BR" up
	fi
}

# minion_route I: with --routed, the bed's other /24s via the router.
minion_route() {
	[ "$(cat "$D/routed")" = 1 ] || return 0
	in_ns "$1" ip route add 10.213.0.0/16 via "10.213.$((10 + $1)).1"
}

# minion_docker I: start its dockerd (not waiting for it).
minion_docker() {
	i=$1 m=$D/m$1
	# In agent mode the agent's SKIFF-FWD chain hangs off Docker's
	# DOCKER-USER: Docker's iptables rules stay on.
	if [ "$(cat "$D/netmode")" = bridge ]; then
		net="--bip=10.244.$i.1/24 --iptables=false"
	else
		net="--bridge=none"
	fi
	mkdir -p "$m/data" "$m/exec" || return 1
	# shellcheck disable=SC2086
	spawn "$m/dockerd.pid" "$m/dockerd.log" nsenter --net="/run/netns/skiff-m$i" dockerd \
		--data-root "$m/data" --exec-root "$m/exec" --pidfile "$m/exec/dockerd.pid" \
		-H "unix://$m/docker.sock" --containerd-namespace "skiff-m$i" \
		--containerd-plugins-namespace "skiff-m$i-p" $net \
		${SKIFF_CLUSTER_DOCKERD_ARGS:-}
}

minion_docker_wait() {
	# Until it answers, or gives up early when dockerd has exited.
	_p=$(cat "$D/m$1/dockerd.pid")
	_ping="curl -sf -m 2 --unix-socket $(minion_sock "$1") http://d/_ping"
	wait_for 60 sh -c "$_ping || ! kill -0 $_p"
	if ! $_ping >/dev/null 2>&1; then
		echo "tests/cluster: dockerd of minion $1 did not answer; its log:" >&2
		tail -n 20 "$D/m$1/dockerd.log" >&2
		return 1
	fi
}

# minion_image I: the test image and the pause image, as the agent would
# import it (so the first pod does not wait for the import).
minion_image() {
	s=$(minion_sock "$1")
	DOCKER_HOST=unix://$s "$ROOT/scripts/test-image.sh" 2>/dev/null &&
		curl -sf -m 60 --unix-socket "$s" -X POST -H 'Content-Type: application/x-tar' \
			--data-binary @"$(bin_dir "$D/m$1/agent.bin")/pause.tar" \
			'http://d/images/create?fromSrc=-&repo=skiff%2Fpause&tag=0.1' >/dev/null ||
		{ echo "tests/cluster: cannot load the images into minion $1" >&2; return 1; }
}

# minion_agent I: start minion I's agent (labels from $D/mI/labels).
minion_agent() {
	i=$1 m=$D/m$1
	extra=""
	[ -s "$m/labels" ] && extra="--node-labels=$(cat "$m/labels")"
	[ "$(cat "$D/netmode")" = agent ] && extra="$extra --docker-network=skiff0 --routing=host-gw"
	# SKIFF_CLUSTER_AGENT_ARGS at `up` (kept in $D/agentargs for start-agent).
	extra="$extra $(cat "$D/agentargs" 2>/dev/null)"
	# shellcheck disable=SC2086
	spawn_bin "$m/agent.pid" "$m/agent.log" nsenter --net="/run/netns/skiff-m$i" -- "$(bin_dir "$m/agent.bin")/skiff-agent" \
		--etcd-endpoints="$ETCD_MINION" --prefix="$PREFIX" --node-name="m$i" --node-ip="$(minion_ip "$i")" \
		--docker-socket="$m/docker.sock" --lease-ttl="$LEASE_TTL" --restart-backoff-base=1s $extra
}

# minion_skiff I LABELS: its agent, proxy and cluster DNS (skiff-dns on
# the node's DNS address, which the agent adds; IP_FREEBIND lets it bind
# first).
minion_skiff() {
	echo "$2" >"$D/m$1/labels"
	minion_agent "$1" && minion_proxy "$1" && minion_dns "$1"
}

minion_proxy() {
	spawn_bin "$D/m$1/proxy.pid" "$D/m$1/proxy.log" nsenter --net="/run/netns/skiff-m$1" -- \
		"$(bin_dir "$D/m$1/proxy.bin")/skiff-proxy" --etcd-endpoints="$ETCD_MINION" --prefix="$PREFIX" \
		--node-name="m$1" --mode=nftables
}

minion_dns() {
	_b=$(bin_dir "$D/m$1/dns.bin")
	[ -x "$_b/skiff-dns" ] || { echo "tests/cluster: $_b has no skiff-dns: none on m$1" >&2; return 0; }
	spawn_bin "$D/m$1/dns.pid" "$D/m$1/dns.log" nsenter --net="/run/netns/skiff-m$1" -- \
		"$_b/skiff-dns" --etcd-endpoints="$ETCD_MINION" --prefix="$PREFIX" \
		--listen=169.254.20.10:53
}

# minion_prog_kill I PROG | minion_prog_start I PROG: SIGKILL minion I's
# agent, proxy or dns (its containers keep running) / start it again.
minion_prog_kill() {
	case $2 in agent | proxy | dns) ;; *) die "$2: must be agent, proxy or dns" ;; esac
	is_ours "$D/m$1/$2.pid" || die "no $2 runs on m$1"
	kill -KILL "$(cat "$D/m$1/$2.pid")"
	rm -f "$D/m$1/$2.pid"
}

minion_prog_start() {
	case $2 in agent | proxy | dns) ;; *) die "$2: must be agent, proxy or dns" ;; esac
	is_ours "$D/m$1/$2.pid" && die "the $2 of m$1 runs already"
	"minion_$2" "$1"
}

# minion_dockerd_pid I: the pid of minion I's dockerd (its own pid file).
minion_dockerd_pid() {
	p=$(cat "$D/m$1/exec/dockerd.pid" 2>/dev/null) && [ -n "$p" ] && [ -d "/proc/$p" ] && echo "$p"
}

# minion_freeze I STOP|CONT: SIGSTOP / SIGCONT minion I's dockerd (its
# containerd and containers keep running: a wedged Docker, not a dead one).
# $D/mI/frozen marks it, for `down`.
minion_freeze() {
	p=$(minion_dockerd_pid "$1") || die "no dockerd runs on m$1"
	kill -"$2" "$p" || return 1
	if [ "$2" = STOP ]; then : >"$D/m$1/frozen"; else rm -f "$D/m$1/frozen"; fi
}

# minion_isolate I -I|-D: add / remove, in minion I's namespace, rules
# that drop its traffic to etcd's client ports (the agent, proxy and dns
# lose etcd; pods, Docker and the other minions stay reachable).
minion_isolate() {
	for u in $(echo "$ETCD_MINION" | tr ',' ' '); do
		hp=${u#http://}
		in_ns "$1" iptables -w "$2" OUTPUT -p tcp -d "${hp%:*}" --dport "${hp##*:}" \
			-m comment --comment "$TAG-isolate" -j DROP || { [ "$2" = -D ] || return 1; }
	done
	if [ "$2" = -I ]; then : >"$D/m$1/isolated"; else rm -f "$D/m$1/isolated"; fi
}

# minion_kill_leftovers I: whatever still runs in the namespace or inside
# one of its dockerd's containers (after a dockerd that died uncleanly).
minion_kill_leftovers() {
	for p in $(ip netns pids "skiff-m$1" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
	# A container's processes sit in its cgroup (their /proc/PID/root
	# reads "/" from outside their mount namespace, so it cannot tell).
	for c in "$D/m$1"/data/containers/*; do
		[ -d "$c" ] || continue
		for f in /sys/fs/cgroup/*/docker/"${c##*/}"/cgroup.procs; do
			[ -f "$f" ] && while read -r p; do kill -KILL "$p" 2>/dev/null; done < "$f"
		done
	done
}

# minion_down I: containers, agent, proxy, dns, dockerd, namespace, link, files.
minion_down() {
	i=$1 m=$D/m$1
	# A frozen dockerd would neither answer nor handle SIGTERM.
	[ -f "$m/frozen" ] && { p=$(minion_dockerd_pid "$i") && kill -CONT "$p"; }
	stop 10 "$m/agent.pid" "$m/proxy.pid" "$m/dns.pid"
	if curl -sf -m 2 --unix-socket "$m/docker.sock" http://d/_ping >/dev/null 2>&1; then
		ids=$(DOCKER_HOST=unix://$m/docker.sock docker ps -aq 2>/dev/null)
		# shellcheck disable=SC2086
		[ -n "$ids" ] && DOCKER_HOST=unix://$m/docker.sock docker rm -f $ids >/dev/null 2>&1
	fi
	stop 30 "$m/dockerd.pid"
	minion_kill_leftovers "$i"
	for c in "$m"/data/containers/*; do
		[ -d "$c" ] && rmdir /sys/fs/cgroup/*/docker/"${c##*/}" 2>/dev/null
	done
	umount_under "$m"
	ip netns del "skiff-m$i" 2>/dev/null
	ip link del "skiff-v$i" 2>/dev/null
	rm -rf "$m"
	return 0
}
