#!/bin/sh
# bench/netpath.sh: where the pod path's cost is, without Docker or the bed
# (root). Two "minions" as network namespaces (fl-n1, fl-n2) on a link
# bridge (namespace fl-h), each with the agent's pod bridge br0, its
# routes (host-gw, or a skiff.1 VXLAN device with the agent's route,
# neighbour and forwarding entries), Docker's and the agent's FORWARD
# rules with conntrack, and one "pod" namespace (fl-p1, fl-p2) at
# 10.98.I.200 with the Docker network's MTU. Transfers are iperf3, 2 s, one
# stream, client on CPU 0 and server on CPU 1. It measures; it changes
# nothing outside its own namespaces, and it is not part of `make bench`.
#
#   bench/netpath.sh ab host-gw|vxlan none|gro|bypass [ROUNDS]
#       the ratio pods/nodes with the tweak off and on, ABBA over both
#       the tweak and the paths (default 2 rounds): gro = GRO (veth NAPI)
#       on the pods' veths; bypass = tc programs that hand pod packets
#       straight to the link and to the pod (bpf_redirect_neigh/_peer,
#       host-gw only, needs clang): the node's stack skipped, firewall too
#   bench/netpath.sh perf host-gw|vxlan   perf record -a -g during a 3-s
#       transfer per path: /tmp/netpath/perf-MODE-{pods,nodes}.data
#   bench/netpath.sh down   remove the namespaces
#
# Take /tmp/skiff-measure.lock, then /tmp/skiff-docker.lock, around it.
# Results and the explanation: docs/operations.md ("What a pod packet costs").
set -eu
W=/tmp/netpath
X() { ip netns exec "$@"; }

down() {
	for n in fl-p1 fl-p2 fl-n1 fl-n2 fl-h; do ip netns del $n 2>/dev/null || true; done
}

# fw NS SUBNET: Docker's FORWARD chains and the agent's SKIFF-FWD (fw_rules).
fw() {
	X "$1" sysctl -qw net.ipv4.ip_forward=1
	X "$1" sysctl -qw net.bridge.bridge-nf-call-iptables=1 2>/dev/null || true
	X "$1" iptables-restore <<R
*filter
:FORWARD DROP [0:0]
:DOCKER-USER - [0:0]
:DOCKER-FORWARD - [0:0]
:SKIFF-FWD - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-FORWARD
-A DOCKER-USER -j SKIFF-FWD
-A DOCKER-USER -j RETURN
-A DOCKER-FORWARD -o br0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A DOCKER-FORWARD -i br0 -j ACCEPT
-A SKIFF-FWD -s 10.98.0.0/16 -m conntrack --ctorigdst 169.254.169.254/32 -j DROP
-A SKIFF-FWD -d $2 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A SKIFF-FWD -m connmark --mark 0x10000/0x10000 -j ACCEPT
-A SKIFF-FWD -s 10.98.0.0/16 -d $2 -j ACCEPT
-A SKIFF-FWD -d $2 -m conntrack --ctstate DNAT -j RETURN
-A SKIFF-FWD -d $2 -j DROP
-A SKIFF-FWD -s $2 -d 10.98.0.0/16 -j ACCEPT
COMMIT
*nat
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -s $2 ! -d 10.98.0.0/16 -j MASQUERADE
COMMIT
R
}

# minion I MODE: node I, its bridge, pod and firewall.
minion() {
	i=$1 mtu=1500
	ip netns add fl-n"$i"
	ip netns add fl-p"$i"
	X fl-n"$i" ip link set lo up
	X fl-p"$i" ip link set lo up
	X fl-h ip link add v"$i" type veth peer name eth0 netns fl-n"$i"
	X fl-h ip link set v"$i" master cbr0 up
	X fl-n"$i" ip addr add 10.99.0.1"$i"/24 dev eth0
	X fl-n"$i" ip link set eth0 up
	if [ "$2" = vxlan ]; then
		mtu=1450
		X fl-n"$i" ip link add skiff.1 type vxlan id 1 local 10.99.0.1"$i" dstport 4789 nolearning dev eth0
		X fl-n"$i" ip link set skiff.1 mtu 1450 up
		X fl-n"$i" ip addr add 10.98."$i".0/32 dev skiff.1
	fi
	X fl-n"$i" ip link add br0 type bridge
	X fl-n"$i" ip addr add 10.98."$i".1/24 dev br0
	X fl-n"$i" ip link set br0 up
	X fl-n"$i" ip link add pv type veth peer name eth0 netns fl-p"$i"
	X fl-n"$i" ip link set pv mtu $mtu master br0 up
	X fl-p"$i" ip link set eth0 mtu $mtu up
	X fl-p"$i" ip addr add 10.98."$i".200/24 dev eth0
	X fl-p"$i" ip route add default via 10.98."$i".1
	fw fl-n"$i" 10.98."$i".0/24
}

up() {
	down
	ip netns add fl-h
	X fl-h ip link add cbr0 type bridge
	X fl-h ip link set cbr0 up
	minion 1 "$1"
	minion 2 "$1"
	for i in 1 2; do
		o=$((3 - i))
		if [ "$1" = vxlan ]; then
			mac=$(X fl-n$o cat /sys/class/net/skiff.1/address)
			X fl-n$i ip route add 10.98.$o.0/24 via 10.98.$o.0 dev skiff.1 onlink
			X fl-n$i ip neigh add 10.98.$o.0 lladdr "$mac" dev skiff.1 nud permanent
			X fl-n$i bridge fdb append "$mac" dev skiff.1 dst 10.99.0.1$o self permanent
		else
			X fl-n$i ip route add 10.98.$o.0/24 via 10.99.0.1$o
		fi
	done
}

# start SRVNS CLINS IP SECONDS: one iperf3 transfer (its JSON on stdout),
# the client started once the server listens.
start() {
	X "$1" taskset -c 1 iperf3 -s -1 -p 5301 >/dev/null 2>&1 &
	sp=$!
	k=0
	while [ $k -lt 100 ] && ! X "$1" ss -ltn | grep -q ':5301 '; do
		sleep 0.05
		k=$((k + 1))
	done
	X "$2" taskset -c 0 iperf3 -c "$3" -p 5301 -t "$4" -J 2>/dev/null
	wait $sp
}

# xfer pods|nodes: MB/s of one transfer.
xfer() {
	if [ "$1" = pods ]; then set -- fl-p2 fl-p1 10.98.2.200; else set -- fl-n2 fl-n1 10.99.0.12; fi
	start "$@" 2 | sed -n '/"sum_received"/,/}/s/.*"bits_per_second":[[:space:]]*\([0-9.e+]*\).*/\1/p' |
		awk '{ printf "%.0f\n", $1 / 8e6 }'
}

tweak_gro() {
	st=$1
	for d in "fl-n1 pv" "fl-n2 pv" "fl-p1 eth0" "fl-p2 eth0"; do
		# shellcheck disable=SC2086 # "NS DEV" split on purpose
		set -- $d
		X "$1" ethtool -K "$2" gro "$st" >/dev/null
	done
}

# The bypass: node I's "out" program on pv (pod packets to the other
# minion's subnet go to eth0's neighbour), "in" on eth0 (packets to its
# pod get the pod's and the bridge's MACs and go into the pod's veth).
bypass_src() {
	cat <<'C'
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#define SEC(n) __attribute__((section(n), used))
static long (*redirect_peer)(__u32, __u64) = (void *)BPF_FUNC_redirect_peer;
static long (*redirect_neigh)(__u32, void *, int, __u64) = (void *)BPF_FUNC_redirect_neigh;
SEC("tc") int prog(struct __sk_buff *skb)
{
	void *d = (void *)(long)skb->data, *e = (void *)(long)skb->data_end;
	struct ethhdr *eth = d;
	struct iphdr *ip = d + sizeof(*eth);
	unsigned char *a = (unsigned char *)&ip->daddr;
	if ((void *)(ip + 1) > e || eth->h_proto != 0x0008 || a[0] != 10 || a[1] != 98)
		return TC_ACT_OK;
#ifdef OUT
	if (a[2] == REMOTE)
		return redirect_neigh(OUT_IF, 0, 0, 0);
#else
	unsigned char pm[6] = {POD_MAC}, bm[6] = {BR_MAC};
	if (a[2] == LOCAL && a[3] == 200) {
		__builtin_memcpy(eth->h_dest, pm, 6);
		__builtin_memcpy(eth->h_source, bm, 6);
		return redirect_peer(PV_IF, 0);
	}
#endif
	return TC_ACT_OK;
}
char _license[] SEC("license") = "GPL";
C
}

mac() { X "$1" cat /sys/class/net/"$2"/address | sed 's/^/0x/; s/:/,0x/g'; }

tweak_bypass() {
	for i in 1 2; do
		X fl-n$i tc qdisc del dev pv clsact 2>/dev/null || true
		X fl-n$i tc qdisc del dev eth0 clsact 2>/dev/null || true
		[ "$1" = on ] || continue
		f="-O2 -target bpf -I/usr/include/$(gcc -print-multiarch) -DREMOTE=$((3 - i)) -DLOCAL=$i
		   -DOUT_IF=$(X fl-n$i cat /sys/class/net/eth0/ifindex) -DPV_IF=$(X fl-n$i cat /sys/class/net/pv/ifindex)"
		# shellcheck disable=SC2086 # the flags split on purpose
		bypass_src | clang $f -DOUT -x c -c - -o $W/out$i.o
		# shellcheck disable=SC2086
		bypass_src | clang $f -DPOD_MAC="$(mac fl-p$i eth0)" -DBR_MAC="$(mac fl-n$i br0)" -x c -c - -o $W/in$i.o
		X fl-n$i tc qdisc add dev pv clsact
		X fl-n$i tc filter add dev pv ingress bpf da obj $W/out$i.o sec tc
		X fl-n$i tc qdisc add dev eth0 clsact
		X fl-n$i tc filter add dev eth0 ingress bpf da obj $W/in$i.o sec tc
	done
}

tweak_none() { :; }

# measure LABEL: pods, nodes, nodes, pods; the ratio of the sums.
measure() {
	p=$(xfer pods) n=$(xfer nodes) n2=$(xfer nodes) p2=$(xfer pods)
	echo "$1 pods $p $p2 nodes $n $n2 MB/s ratio=$(echo "$p $p2 $n $n2" | awk '{ printf "%.2f", ($1 + $2) / ($3 + $4) }')"
}

ab() {
	up "$1"
	xfer pods >/dev/null
	xfer nodes >/dev/null
	k=0
	while [ $k -lt "$3" ]; do
		for s in off on on off; do
			tweak_"$2" $s
			measure "$2=$s"
		done
		k=$((k + 1))
	done
	echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
}

perfrun() {
	up "$1"
	for what in pods nodes; do
		if [ $what = pods ]; then set -- "$1" fl-p2 fl-p1 10.98.2.200; else set -- "$1" fl-n2 fl-n1 10.99.0.12; fi
		start "$2" "$3" "$4" 4 >$W/iperf-"$1"-$what.json &
		sleep 0.5
		perf record -q -a -g -C 0,1 -o $W/perf-"$1"-$what.data -- sleep 3
		wait
	done
	echo "load: $(cut -d' ' -f1-3 /proc/loadavg); $W/perf-$1-{pods,nodes}.data"
}

mkdir -p $W
trap down EXIT
case "${1:-}" in
ab) ab "$2" "$3" "${4:-2}" ;;
perf) perfrun "$2" ;;
down) ;;
*)
	sed -n '12,22p' "$0" >&2
	exit 2
	;;
esac
