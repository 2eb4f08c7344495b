# plane.sh (sourced by tests/cluster): etcd and the control plane in the
# host namespace. etcd listens on 127.0.0.1 (for the control plane and the
# tests) and on 10.213.0.1 (for the minions), same port, data in $D/etcd.

free_ports() {
	python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s:
    x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))
'
}

plane_etcd() {
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
EOT
}

# plane_backend TYPE: P/network/config with that backend (host-gw: the
# default, no key).
plane_backend() {
	[ "$1" = host-gw ] && return 0
	ectl put "$PREFIX/network/config" "{\"backend\": {\"type\": \"$1\"}}" >/dev/null ||
		{ echo "tests/cluster: cannot write $PREFIX/network/config" >&2; return 1; }
}

PLANE="skiff-scheduler skiff-replication-controller skiff-endpoints-controller skiff-node-controller skiff-config-controller skiff-deployment-controller"

plane_start() {
	for p in $PLANE; do
		extra=""
		[ "$p" = skiff-node-controller ] && extra="--eviction-timeout=$EVICTION"
		spawn "$D/$p.pid" "$D/$p.log" "$ROOT/build/bin/$p" --etcd-endpoints="$ETCD" \
			--prefix="$PREFIX" $extra || return 1
	done
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
	spawn "$D/$1.pid" "$D/$1.log" "$ROOT/build/bin/$1" --etcd-endpoints="$ETCD" --prefix="$PREFIX"
}

plane_down() {
	# shellcheck disable=SC2046
	stop 10 $(for p in $PLANE; do echo "$D/$p.pid"; done)
	stop 10 "$D/etcd.pid"
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
