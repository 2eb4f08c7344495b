# plane.sh (sourced by tests/cluster): etcd and the control plane in the
# host namespace. etcd listens on 127.0.0.1 (for the control plane and the
# tests) and on 10.213.0.1 (for the minions), same port, data in $D/etcd.

# free_ports [N]: N (default 2) free loopback ports, space-separated.
free_ports() {
	python3 -c '
import socket, sys
s = [socket.socket() for _ in range(int(sys.argv[1]))]
for x in s:
    x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))
' "${1:-2}"
}

plane_etcd() {
	[ "$(cat "$D/etcd-members" 2>/dev/null || echo 1)" = 3 ] && { plane_etcd3; return; }
	ports=$(free_ports) || return 1
	cp=${ports% *} pp=${ports#* }
	ETCD=http://127.0.0.1:$cp
	ETCD_MINION=http://$NET.1:$cp
	spawn "$D/etcd.pid" "$D/etcd.log" etcd --name skiff-cluster --data-dir "$D/etcd" \
		--listen-client-urls "$ETCD,$ETCD_MINION" --advertise-client-urls "$ETCD_MINION" \
		--listen-peer-urls "http://127.0.0.1:$pp" --initial-advertise-peer-urls "http://127.0.0.1:$pp" \
		--initial-cluster "skiff-cluster=http://127.0.0.1:$pp" --initial-cluster-state new
	if ! wait_for 20 sh -c "curl -sf -m 1 $ETCD/health | grep -q '\"health\":\"true\"'"; then
		echo "tests/cluster: etcd did not become healthy; its log:" >&2
		tail -n 20 "$D/etcd.log" >&2
		return 1
	fi
}

plane_write_env() {
	cat >"$D/env" <<EOT
SKIFF_CLUSTER_DIR=$D
ETCD=$ETCD
ETCD_MINION=$ETCD_MINION
PREFIX=$PREFIX
MINIONS=$(cat "$D/minions")
NETMODE=$(cat "$D/netmode")
BACKEND=$(cat "$D/backend")
ROUTED=$(cat "$D/routed")
ETCD_MEMBERS=$(cat "$D/etcd-members")
EOT
}

# plane_backend TYPE: P/network/config with that backend (host-gw: the
# default, no key).
plane_backend() {
	[ "$1" = host-gw ] && return 0
	ectl put "$PREFIX/network/config" "{\"backend\": {\"type\": \"$1\"}}" >/dev/null ||
		{ echo "tests/cluster: cannot write $PREFIX/network/config" >&2; return 1; }
}

# plane_etcd3: three members skiff-cluster-K (K = 1..3), each on its own
# client port on 127.0.0.1 and $NET.1 and a peer port on 127.0.0.1, data in
# $D/etcdK; ports in $D/etcd-ports ("client peer" per line K). ETCD and
# ETCD_MINION list all three client URLs, comma-separated.
plane_etcd3() {
	ports=$(free_ports 6) || return 1
	# shellcheck disable=SC2086
	set -- $ports
	printf '%s %s\n%s %s\n%s %s\n' "$1" "$2" "$3" "$4" "$5" "$6" >"$D/etcd-ports"
	ETCD="http://127.0.0.1:$1,http://127.0.0.1:$3,http://127.0.0.1:$5"
	ETCD_MINION="http://$NET.1:$1,http://$NET.1:$3,http://$NET.1:$5"
	for k in 1 2 3; do plane_etcd_member "$k" || return 1; done
	for k in 1 2 3; do
		cp=$(sed -n "${k}p" "$D/etcd-ports" | cut -d' ' -f1)
		if ! wait_for 30 sh -c "curl -sf -m 1 http://127.0.0.1:$cp/health | grep -q '\"health\":\"true\"'"; then
			echo "tests/cluster: etcd member $k did not become healthy; its log:" >&2
			tail -n 20 "$D/etcd$k.log" >&2
			return 1
		fi
	done
}

# plane_etcd_member K: start member K (again: same ports, same data dir;
# --initial-cluster* are ignored once the data dir exists). Not waiting.
plane_etcd_member() {
	cl=""
	for k in 1 2 3; do
		cl="$cl${cl:+,}skiff-cluster-$k=http://127.0.0.1:$(sed -n "${k}p" "$D/etcd-ports" | cut -d' ' -f2)"
	done
	cp=$(sed -n "${1}p" "$D/etcd-ports" | cut -d' ' -f1)
	pp=$(sed -n "${1}p" "$D/etcd-ports" | cut -d' ' -f2)
	spawn "$D/etcd$1.pid" "$D/etcd$1.log" etcd --name "skiff-cluster-$1" --data-dir "$D/etcd$1" \
		--listen-client-urls "http://127.0.0.1:$cp,http://$NET.1:$cp" \
		--advertise-client-urls "http://$NET.1:$cp" \
		--listen-peer-urls "http://127.0.0.1:$pp" --initial-advertise-peer-urls "http://127.0.0.1:$pp" \
		--initial-cluster "$cl" --initial-cluster-token skiff-cluster --initial-cluster-state new
}

# plane_etcd_kill K: SIGKILL member K (its data dir stays).
plane_etcd_kill() {
	case $1 in 1 | 2 | 3) ;; *) die "etcd member $1: must be 1..3 (up --etcd-members 3)" ;; esac
	is_ours "$D/etcd$1.pid" || die "etcd member $1 does not run"
	kill -KILL "$(cat "$D/etcd$1.pid")"
	rm -f "$D/etcd$1.pid"
}

# plane_etcd_leader: the number K of the member that is the leader now,
# from each member's POST /v3/maintenance/status (the one whose own
# member_id is the leader it reports); 1 when none says so.
plane_etcd_leader() {
	[ -f "$D/etcd-ports" ] || die "etcd-leader: the bed has one etcd (up --etcd-members 3)"
	for k in 1 2 3; do
		cp=$(sed -n "${k}p" "$D/etcd-ports" | cut -d' ' -f1)
		curl -sf -m 2 -X POST -d '{}' "http://127.0.0.1:$cp/v3/maintenance/status" 2>/dev/null |
			python3 -c 'import json,sys
s=json.load(sys.stdin); sys.exit(0 if s.get("leader") and s["leader"]==s["header"]["member_id"] else 1)' &&
			{ echo "$k"; return 0; }
	done
	echo "tests/cluster: no member says it leads" >&2
	return 1
}

PLANE="skiff-scheduler skiff-replication-controller skiff-endpoints-controller skiff-node-controller skiff-config-controller skiff-deployment-controller"

plane_start() {
	for p in $PLANE; do
		# an older build may lack some (bin.sh)
		[ -x "$(bin_dir "$D/$p.bin")/$p" ] || { echo "tests/cluster: no $p in $(bin_dir "$D/$p.bin")" >&2; continue; }
		plane_spawn "$p" || return 1
	done
}

# plane_spawn P: start control-plane program P with the bed's flags.
plane_spawn() {
	extra=""
	[ "$1" = skiff-node-controller ] && extra="--eviction-timeout=$EVICTION"
	spawn_bin "$D/$1.pid" "$D/$1.log" -- "$(bin_dir "$D/$1.bin")/$1" --etcd-endpoints="$ETCD" \
		--prefix="$PREFIX" $extra
}

# plane_kill P | plane_restart P: SIGKILL control-plane program P (one of
# $PLANE) / start it again; for tests that kill a controller mid-work.
plane_kill() {
	case " $PLANE " in *" $1 "*) ;; *) die "$1 is not a control-plane program" ;; esac
	is_ours "$D/$1.pid" || die "$1 does not run"
	kill -KILL "$(cat "$D/$1.pid")"
	rm -f "$D/$1.pid"
}

plane_restart() {
	case " $PLANE " in *" $1 "*) ;; *) die "$1 is not a control-plane program" ;; esac
	is_ours "$D/$1.pid" && die "$1 runs already"
	plane_spawn "$1"
}

plane_down() {
	# shellcheck disable=SC2046
	stop 10 $(for p in $PLANE; do echo "$D/$p.pid"; done)
	stop 10 "$D/etcd.pid" "$D/etcd1.pid" "$D/etcd2.pid" "$D/etcd3.pid"
}

ectl() {
	ETCDCTL_API=3 etcdctl --endpoints="$ETCD" --dial-timeout=2s --command-timeout=5s "$@"
}

# plane_wait_nodes N: every minion has its lease (is Ready) and its node
# (made by the node controller from the agent's P/nodestatus) within 60 s.
plane_wait_nodes() {
	for dir in nodeleases nodes; do
		# (get's flags after get: before it etcdctl prints its usage, whose
		# lines would count)
		if ! wait_for 60 sh -c "[ \$(ETCDCTL_API=3 etcdctl --endpoints=$ETCD get --prefix --keys-only \
			$PREFIX/$dir/ 2>/dev/null | grep -c .) -ge $1 ]"; then
			echo "tests/cluster: not all $1 minions registered; keys under $PREFIX/$dir/:" >&2
			ectl get --prefix --keys-only "$PREFIX/$dir/" >&2
			return 1
		fi
	done
}

plane_status() {
	[ -f "$D/env" ] || die "no bed in $D"
	. "$D/env"
	echo "nodes (Ready = lease present):"
	for k in $(ectl get --prefix --keys-only "$PREFIX/nodes/"); do
		n=${k##*/}
		r=NotReady
		[ -n "$(ectl get --keys-only "$PREFIX/nodeleases/$n")" ] && r=Ready
		echo "  $n $r"
	done
	echo "pods (binding -> phase, pod IP):"
	for k in $(ectl get --prefix --keys-only "$PREFIX/bindings/"); do
		rest=${k#"$PREFIX"/bindings/}
		st=$(ectl get --print-value-only "$PREFIX/podstatus/$rest" |
			python3 -c 'import json,sys
try: s=json.load(sys.stdin); print(s.get("phase","?"), s.get("podIP",""))
except Exception: print("-")')
		echo "  ${rest#*/} on ${rest%%/*}: $st"
	done
}
