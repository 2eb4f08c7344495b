#!/bin/sh
# deps.sh: install the Debian packages Skiff builds and tests with.
# Idempotent and silent when everything is present. Only acts as root;
# otherwise it names what is missing and exits 1.
set -eu

PKGS="build-essential pkg-config clang clang-format libclang-rt-14-dev
libcurl4-openssl-dev libssl-dev libjansson-dev libev-dev check libyaml-dev
uthash-dev libmicrohttpd-dev
etcd-server etcd-client docker.io busybox-static
openssl python3 iproute2 nftables iptables conntrack procps curl cloud-init
libldns-dev bind9-dnsutils dnsperf nsd redis-server redis-tools
wrk
dpkg-dev lintian systemd
nginx-light"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing (run as root: apt-get install -y$missing)" >&2
	exit 1
fi
echo "deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# Don't let the package start daemons at install time: our scripts start
# etcd and dockerd themselves, on our terms.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
	chmod +x /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -qq >/dev/null || apt-get update
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
