#!/bin/sh
# run-bench.sh: run benchmark binaries, each against its own throwaway etcd
# (scripts/etcd-local.sh: free loopback ports, data under /tmp), stopped and
# removed afterwards even when a bench fails or is interrupted.
#   run-bench.sh BIN...
# Each BIN gets the endpoint in $ETCD_ENDPOINT, runs from the repository
# root, and prints its own result lines. $BENCH_ARGS is passed to every BIN
# (e.g. BENCH_ARGS=-v for details); $BENCH_TIMEOUT bounds each (default
# 1500 s: the agent and cluster benches run 4 rounds of each side, and
# take 5-10 minutes each on a busy 2-CPU machine). Exit 1 if any BIN failed or etcd did not start.
set -u
cd "$(dirname "$0")/.." || exit 1
helper=scripts/etcd-local.sh
ep=""

stop() {
	[ -n "$ep" ] && $helper stop "$ep"
	ep=""
}
trap 'stop' EXIT
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM

status=0
for b in "$@"; do
	ep=$($helper start --owner $$) || { status=1; break; }
	echo "== $b (etcd $(/usr/bin/etcd --version 2>/dev/null | sed -n 's/^etcd Version: //p') at $ep)"
	# shellcheck disable=SC2086
	ETCD_ENDPOINT=$ep timeout --foreground "${BENCH_TIMEOUT:-1500}" "$b" ${BENCH_ARGS:-}
	rc=$?
	[ "$rc" -ne 0 ] && { echo "FAILED: $b (exit $rc)"; status=1; }
	stop
done
exit $status
