#!/bin/sh
# up.sh (make up): a whole Skiff on this machine, idempotently.
#   - packages (scripts/deps.sh) and the build;
#   - etcd: $SKIFF_ETCD_ENDPOINTS if given, else a single member on
#     127.0.0.1:2379 with its data under run/etcd (started here, once);
#   - dockerd answering on /var/run/docker.sock (started when it does not);
#   - the test image, the control plane (scheduler, replication, endpoints
#     and node controllers), $NODES agents (default 1), a proxy and skiff-dns;
#   - manifests/test/ (four httpd pods behind service "apache"), then it
#     waits until the four pods run and prints how to reach the service.
# Logs go to run/log/, pids to run/pids/ ($SKIFF_RUN_DIR instead of run/ when
# set). make down stops what this started.
set -eu
cd "$(dirname "$0")/.."
NODES=${NODES:-1}
RUN=${SKIFF_RUN_DIR:-$PWD/run}
BIN=$PWD/build/bin
mkdir -p "$RUN/log" "$RUN/pids"

say() { printf 'up: %s\n' "$*" >&2; }
die() { printf 'up: %s\n' "$*" >&2; exit 1; }

alive() { [ -f "$RUN/pids/$1.pid" ] && kill -0 "$(cat "$RUN/pids/$1.pid")" 2>/dev/null; }

# start NAME CMD...: run CMD in the background unless NAME already runs.
start() {
	name=$1
	shift
	if alive "$name"; then
		return 0
	fi
	nohup "$@" >>"$RUN/log/$name.log" 2>&1 &
	echo $! >"$RUN/pids/$name.pid"
	say "started $name (pid $!, log run/log/$name.log)"
}

wait_for() { # wait_for SECONDS DESCRIPTION CMD...
	secs=$1 what=$2
	shift 2
	end=$(($(date +%s) + secs))
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$end" ] || die "$what did not happen within ${secs}s (see run/log/)"
		sleep 0.2
	done
}

./scripts/deps.sh
make -s all

# etcd
if [ -n "${SKIFF_ETCD_ENDPOINTS:-}" ]; then
	EP=$SKIFF_ETCD_ENDPOINTS
	say "using etcd at $EP"
else
	EP=http://127.0.0.1:2379
	if ! alive etcd && curl -fsS -m 2 "$EP/health" >/dev/null 2>&1; then
		die "an etcd not started by make up answers on $EP; set SKIFF_ETCD_ENDPOINTS=$EP to use it"
	fi
	start etcd etcd --name skiff-up --data-dir "$RUN/etcd" \
		--listen-client-urls "$EP" --advertise-client-urls "$EP" \
		--listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
		--initial-cluster skiff-up=http://127.0.0.1:2380
fi
wait_for 30 "etcd answering at ${EP%%,*}" curl -fsS -m 2 "${EP%%,*}/health"
export SKIFF_ETCD_ENDPOINTS="$EP"

# dockerd
if ! curl -fsS -m 2 --unix-socket /var/run/docker.sock http://docker/_ping >/dev/null 2>&1; then
	start dockerd dockerd
	wait_for 60 "dockerd answering" curl -fsS -m 2 --unix-socket /var/run/docker.sock http://docker/_ping
fi
./scripts/test-image.sh

# Service addresses are private; route the default service CIDR into a
# bridge with no ports while it is not routed, so that a packet the proxy
# fails to catch dies here instead of leaving the machine.
if [ "$(id -u)" = 0 ] && ! ip route show | grep -q '^10\.0\.0\.'; then
	ip link add skiff-blk0 type bridge && ip link set skiff-blk0 up &&
		ip route add 10.0.0.0/24 dev skiff-blk0 && touch "$RUN/sink-route"
fi

# control plane, nodes, proxy
start scheduler "$BIN/skiff-scheduler"
start replication-controller "$BIN/skiff-replication-controller"
start endpoints-controller "$BIN/skiff-endpoints-controller"
start config-controller "$BIN/skiff-config-controller"
start deployment-controller "$BIN/skiff-deployment-controller"
# The agents use Docker's default bridge (one host): no pod subnets, or the
# endpoints controller would refuse pod addresses outside them.
start node-controller "$BIN/skiff-node-controller" --allocate-node-cidrs=false
i=1
while [ "$i" -le "$NODES" ]; do
	start "agent-node-$i" "$BIN/skiff-agent" --node-name "node-$i"
	i=$((i + 1))
done
start proxy "$BIN/skiff-proxy" --node-name node-1
# The cluster DNS on the node's DNS address (bound before the address
# exists; the agent adds it). docs/dns.md.
start dns "$BIN/skiff-dns" --listen 169.254.20.10:53

# the example
"$BIN/skiffctl" apply -f manifests/test/
say "waiting for 4 apache pods to run"
running() { [ "$("$BIN/skiffctl" get pods -l app=apache 2>/dev/null | grep -c ' Running ')" -ge 4 ]; }
wait_for 120 "4 Running apache pods" running
wait_for 30 "the apache service endpoints" sh -c "'$BIN/skiffctl' get services apache | grep -q '10\\.'"
"$BIN/skiffctl" get pods,svc
ip=$("$BIN/skiffctl" get services apache | awk 'NR == 2 { print $2 }')
echo
echo "Skiff is up. Reach the service with:"
echo "  curl http://$ip/"
echo "Stop everything with: make down"
