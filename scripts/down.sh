#!/bin/sh
# down.sh (make down): stop what make up started (processes with a pid
# file under run/pids/), remove the pods' containers, and leave alone an
# etcd or dockerd that make up did not start. Keeps run/etcd (the data) and
# run/log; `rm -rf run` forgets everything.
set -u
cd "$(dirname "$0")/.." || exit 1
RUN=${SKIFF_RUN_DIR:-$PWD/run}
[ -d "$RUN/pids" ] || exit 0

stop() { # stop NAME: SIGTERM, wait up to 15 s, then SIGKILL
	f=$RUN/pids/$1.pid
	[ -f "$f" ] || return 0
	pid=$(cat "$f")
	if kill -0 "$pid" 2>/dev/null; then
		kill "$pid"
		n=0
		while kill -0 "$pid" 2>/dev/null && [ "$n" -lt 75 ]; do
			sleep 0.2
			n=$((n + 1))
		done
		kill -9 "$pid" 2>/dev/null
		echo "down: stopped $1" >&2
	fi
	rm -f "$f"
}

# Controllers first so that nothing recreates what the agents remove.
for n in deployment-controller replication-controller scheduler endpoints-controller config-controller node-controller proxy dns; do
	stop "$n"
done
for f in "$RUN"/pids/agent-*.pid; do
	[ -e "$f" ] || continue
	name=$(basename "$f" .pid)
	stop "$name"
	# The pods' containers of that node (by the agent's node label); no
	# other container is touched.
	node=${name#agent-}
	if command -v docker >/dev/null 2>&1; then
		docker ps -aq --filter "label=skiff.node=$node" 2>/dev/null | xargs -r docker rm -f >/dev/null 2>&1
	fi
done
stop dockerd
stop etcd
if [ -f "$RUN/sink-route" ]; then
	ip link del skiff-blk0 2>/dev/null
	rm -f "$RUN/sink-route"
fi
exit 0
