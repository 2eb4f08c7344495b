#!/bin/sh
# etcd-local.sh: a throwaway single-member etcd on free loopback ports, with
# its data under a fresh /tmp/skiff-etcd.XXXXXX that is removed on stop.
# It never touches an etcd it did not start (every kill checks that the pid's
# command line names the instance's own directory).
#
#   etcd-local.sh start [--owner PID]   start one, wait until healthy, print
#                                       its endpoint (http://127.0.0.1:PORT).
#                                       With --owner, a watchdog stops it and
#                                       removes its files once PID is gone.
#   etcd-local.sh stop ENDPOINT|DIR     stop that instance, remove its files
#   etcd-local.sh cleanup               stop instances whose owner is gone and
#                                       remove directories of dead instances
#   etcd-local.sh list                  print "endpoint dir pid" per instance
#
# Exit status: 0 on success, 1 when etcd did not come up (its log is printed
# on stderr), 2 on usage errors. ETCD=/path/to/etcd overrides the binary.
set -u

ETCD=${ETCD:-/usr/bin/etcd}
ROOT=${TMPDIR:-/tmp}

usage() {
	awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2
	exit 2
}

# Two distinct free TCP ports on 127.0.0.1, held open together so they differ.
free_ports() {
	python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s:
    x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))
'
}

# is_ours DIR PID: PID is alive and is the etcd that owns DIR.
is_ours() {
	[ -n "$2" ] && [ -r "/proc/$2/cmdline" ] &&
		tr '\0' ' ' < "/proc/$2/cmdline" | grep -q -- "--data-dir $1/data "
}

stop_dir() {
	d=$1
	[ -f "$d/endpoint" ] || { echo "etcd-local: $d is not an instance directory" >&2; return 1; }
	pid=$(cat "$d/pid" 2>/dev/null || true)
	if is_ours "$d" "$pid"; then
		kill -TERM "$pid" 2>/dev/null
		i=0
		while is_ours "$d" "$pid" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		is_ours "$d" "$pid" && kill -KILL "$pid" 2>/dev/null
	fi
	# The watchdog, if any, sees the directory gone and exits within 1 s.
	rm -rf "$d"
}

find_dir() {
	case $1 in
	/*) [ -d "$1" ] && { echo "$1"; return 0; } ;;
	esac
	for d in "$ROOT"/skiff-etcd.*; do
		[ -f "$d/endpoint" ] && [ "$(cat "$d/endpoint")" = "$1" ] && { echo "$d"; return 0; }
	done
	return 1
}

# watchdog DIR OWNER: stop the instance once OWNER has exited; return as
# soon as DIR is gone (the instance was stopped by someone else).
watchdog() {
	while kill -0 "$2" 2>/dev/null && [ -d "$1" ]; do sleep 1; done
	[ -d "$1" ] && stop_dir "$1"
}

start() {
	owner=""
	while [ $# -gt 0 ]; do
		case $1 in
		--owner) [ $# -ge 2 ] || usage; owner=$2; shift 2 ;;
		*) usage ;;
		esac
	done
	[ -x "$ETCD" ] || { echo "etcd-local: $ETCD not found (install etcd-server)" >&2; exit 1; }
	d=$(mktemp -d "$ROOT/skiff-etcd.XXXXXX") || exit 1
	# A port can be taken between choosing it and etcd binding it: try again.
	for _ in 1 2 3 4 5; do
		ports=$(free_ports)
		cp=${ports% *} pp=${ports#* }
		ep=http://127.0.0.1:$cp
		rm -rf "$d/data"
		setsid "$ETCD" --name skiff --data-dir "$d/data" \
			--listen-client-urls "$ep" --advertise-client-urls "$ep" \
			--listen-peer-urls "http://127.0.0.1:$pp" \
			--initial-advertise-peer-urls "http://127.0.0.1:$pp" \
			--initial-cluster "skiff=http://127.0.0.1:$pp" \
			--initial-cluster-token "skiff-$cp" --initial-cluster-state new \
			</dev/null >"$d/etcd.log" 2>&1 &
		pid=$!
		echo "$pid" > "$d/pid"
		echo "$ep" > "$d/endpoint"
		i=0
		while [ $i -lt 100 ]; do
			if ! kill -0 "$pid" 2>/dev/null; then break; fi
			if curl -sf -m 1 "$ep/health" 2>/dev/null | grep -q '"health":"true"'; then
				if [ -n "$owner" ]; then
					(trap '' INT HUP; watchdog "$d" "$owner") </dev/null >/dev/null 2>&1 &
					echo $! > "$d/watchdog"
				fi
				echo "$ep"
				return 0
			fi
			sleep 0.1
			i=$((i + 1))
		done
		kill -0 "$pid" 2>/dev/null && break   # running but never healthy
		grep -q "address already in use" "$d/etcd.log" || break
	done
	echo "etcd-local: etcd did not become healthy; its log:" >&2
	sed 's/^/  /' "$d/etcd.log" >&2
	stop_dir "$d"
	exit 1
}

cleanup() {
	for d in "$ROOT"/skiff-etcd.*; do
		[ -d "$d" ] || continue
		pid=$(cat "$d/pid" 2>/dev/null || true)
		if ! is_ours "$d" "$pid"; then
			rm -rf "$d"
			continue
		fi
		# Orphaned: its owner is gone but the watchdog did not stop it.
		wpid=$(cat "$d/watchdog" 2>/dev/null || true)
		if [ -n "$wpid" ] && ! kill -0 "$wpid" 2>/dev/null; then
			stop_dir "$d"
		fi
	done
}

case ${1:-} in
start) shift; start "$@" ;;
stop)
	[ $# -eq 2 ] || usage
	d=$(find_dir "$2") || { echo "etcd-local: no instance $2" >&2; exit 1; }
	stop_dir "$d" ;;
cleanup) cleanup ;;
list)
	for d in "$ROOT"/skiff-etcd.*; do
		[ -f "$d/endpoint" ] && echo "$(cat "$d/endpoint") $d $(cat "$d/pid" 2>/dev/null)"
	done
	exit 0 ;;
*) usage ;;
esac
