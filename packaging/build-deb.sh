#!/bin/sh
# build-deb.sh: build the Debian packages skiff-node, skiff-control-plane
# and skiffctl from programs already built into B (make deb does that, with
# PREFIX=/usr and Debian's hardening flags), with dpkg-deb on staged trees:
# no debian/ source folder, no debhelper. Then run lintian on them when it
# is there (make deb installs it through scripts/deps.sh).
#
#   packaging/build-deb.sh B       writes B/skiff-node_VERSION_ARCH.deb, ...
#
# Environment: VERSION (the Makefile's), SOURCE_DATE_EPOCH (file times and
# the changelog's date; default the last commit's time, so the same tree
# gives the same bytes).
#
# The units are the ones of manifests/systemd/, rewritten for the packages'
# paths (programs in /usr/sbin, options in /etc/default/PACKAGE); Depends
# come from dpkg-shlibdeps plus what the programs run (docker.io, iptables,
# nftables, conntrack for the node).
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
B=${1:?usage: build-deb.sh BUILD_DIR}
VERSION=${VERSION:-$(sed -n 's/^VERSION[ 	]*:=[ 	]*//p' Makefile)}
ARCH=$(dpkg --print-architecture)
MAINT="Skiff maintainers <maintainers@users.noreply.r-seed-617b5595.example>"
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || date +%s)
fi
export SOURCE_DATE_EPOCH
work=$B/pkg
rm -rf "$work"
mkdir -p "$work"

NODE_UNITS="skiff-agent.service skiff-proxy.service skiff-dns.service"
CP_UNITS="skiff-scheduler.service skiff-replication-controller.service skiff-node-controller.service"
CP_UNITS="$CP_UNITS skiff-endpoints-controller.service skiff-config-controller.service skiff-deployment-controller.service"

# unit PACKAGE NAME: manifests/systemd/NAME for the package's root.
unit() {
	d=$work/$1/lib/systemd/system
	mkdir -p "$d"
	sed -e "s#/usr/local/bin/#/usr/sbin/#g" \
	    -e "s#^EnvironmentFile=-/etc/skiff/skiff.env#EnvironmentFile=-/etc/default/$1\n&#" \
	    -e "s#Options come from /etc/skiff/skiff.env#Options come from /etc/default/$1 (then /etc/skiff/skiff.env)#" \
	    "manifests/systemd/$2" > "$d/$2"
	# The agent writes pod volumes under /var/lib/skiff/pods: systemd
	# makes that directory (and lets the agent write it) at start.
	if [ "$2" = skiff-agent.service ]; then
		sed -i 's#^UMask=0077#&\nStateDirectory=skiff\nStateDirectoryMode=0755#' "$d/$2"
	fi
	chmod 644 "$d/$2"
}

# common PACKAGE: copyright, changelog, man pages compressed, and
# packaging/PACKAGE.lintian-overrides when there is one (each override
# with its reason).
common() {
	doc=$work/$1/usr/share/doc/$1
	mkdir -p "$doc"
	install -m 644 packaging/copyright "$doc/copyright"
	if [ -f "packaging/$1.lintian-overrides" ]; then
		mkdir -p "$work/$1/usr/share/lintian/overrides"
		install -m 644 "packaging/$1.lintian-overrides" "$work/$1/usr/share/lintian/overrides/$1"
	fi
	printf '%s (%s) unstable; urgency=medium\n\n  * Release %s (contract %s).\n\n -- %s  %s\n' \
		skiff "$VERSION" "$VERSION" "$(sed -n 's/^CONTRACT_VERSION[ 	]*:=[ 	]*//p' Makefile)" \
		"$MAINT" "$(date -R -u -d "@$SOURCE_DATE_EPOCH")" | gzip -9n > "$doc/changelog.gz"
	find "$work/$1/usr/share/man" -type f ! -name '*.gz' -exec gzip -9n {} + 2>/dev/null || true
}

# bin PACKAGE DIR PROGRAM...: stripped programs into /usr/DIR.
bin() {
	p=$1 d=$2
	shift 2
	mkdir -p "$work/$p/usr/$d"
	for x in "$@"; do
		install -m 755 "$B/bin/$x" "$work/$p/usr/$d/$x"
		strip --strip-unneeded --remove-section=.comment --remove-section=.note "$work/$p/usr/$d/$x"
	done
}

# man PACKAGE SECTION FILE...
man() {
	p=$1 s=$2
	shift 2
	mkdir -p "$work/$p/usr/share/man/man$s"
	for m in "$@"; do install -m 644 "$m" "$work/$p/usr/share/man/man$s/"; done
}

# maint PACKAGE UNITS STATEDIRS: the maintainer scripts, filled in.
maint() {
	mkdir -p "$work/$1/DEBIAN"
	for s in postinst prerm postrm; do
		sed -e "s#@PACKAGE@#$1#g" -e "s#@UNITS@#$2#g" -e "s#@STATEDIRS@#$3#g" \
			"packaging/maint/$s" > "$work/$1/DEBIAN/$s"
		chmod 755 "$work/$1/DEBIAN/$s"
	done
}

# shlibs PACKAGE: the Depends dpkg-shlibdeps finds for its ELF files.
shlibs() {
	t=$work/shlibs.$1
	mkdir -p "$t/debian"
	printf 'Source: skiff\n\nPackage: %s\nArchitecture: any\n' "$1" > "$t/debian/control"
	files=$(find "$top/$work/$1/usr" -type f -perm -u+x)
	# shellcheck disable=SC2086
	(cd "$t" && dpkg-shlibdeps -O $files 2>/dev/null) | sed -n 's/^shlibs:Depends=//p'
	rm -rf "$t"
}

# control PACKAGE SECTION "EXTRA DEPENDS" "SYNOPSIS" "DESCRIPTION" [FIELDS]
control() {
	p=$1
	mkdir -p "$work/$p/DEBIAN"
	deps=$(shlibs "$p")
	[ -n "$3" ] && deps="$deps, $3"
	size=$(du -sk --exclude=DEBIAN "$work/$p" | cut -f1)
	{
		printf 'Package: %s\nSource: skiff\nVersion: %s\nArchitecture: %s\n' "$p" "$VERSION" "$ARCH"
		printf 'Maintainer: %s\nInstalled-Size: %s\nDepends: %s\n' "$MAINT" "$size" "$deps"
		[ -n "${6:-}" ] && printf '%s\n' "$6"
		printf 'Section: %s\nPriority: optional\nDescription: %s\n' "$2" "$4"
		printf '%s\n' "$5" | fold -s -w 72 | sed 's/ *$//; s/^/ /'
	} > "$work/$p/DEBIAN/control"
	(cd "$work/$p" && find . -path ./DEBIAN -prune -o -type f -print | sed 's#^\./##' | LC_ALL=C sort |
		xargs md5sum) > "$work/$p/DEBIAN/md5sums"
	find "$work/$p" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
	dpkg-deb --root-owner-group -Zxz --build "$work/$p" "$B/${p}_${VERSION}_$ARCH.deb" >/dev/null
	echo "$B/${p}_${VERSION}_$ARCH.deb"
}

# skiff-node
p=skiff-node
bin "$p" sbin skiff-agent skiff-proxy skiff-dns
install -d "$work/$p/usr/share/skiff" "$work/$p/etc/default"
install -m 644 "$B/bin/pause.tar" "$work/$p/usr/share/skiff/pause.tar"
install -m 600 packaging/skiff-node.default "$work/$p/etc/default/skiff-node"
for u in $NODE_UNITS; do unit "$p" "$u"; done
man "$p" 8 node-agent/skiff-agent.8 node-agent/proxy/skiff-proxy.8 node-agent/dns/skiff-dns.8
common "$p"
maint "$p" "$NODE_UNITS" skiff
echo /etc/default/skiff-node > "$work/$p/DEBIAN/conffiles"
control "$p" admin "docker.io | docker-ce, iptables, nftables, conntrack" \
	"Skiff node: agent, service proxy and cluster DNS" \
	"The programs of a Skiff minion: skiff-agent runs the pods bound to this node in Docker and keeps the node's lease and status in etcd; skiff-proxy forwards service cluster IPs to their endpoints through nftables; skiff-dns answers the services' names. With the pause image's tarball, their systemd units and /etc/default/skiff-node." \
	"Suggests: skiffctl"

# skiff-control-plane
p=skiff-control-plane
bin "$p" sbin skiff-scheduler skiff-replication-controller skiff-node-controller skiff-endpoints-controller \
	skiff-config-controller skiff-deployment-controller
install -d "$work/$p/etc/default"
install -m 600 packaging/skiff-control-plane.default "$work/$p/etc/default/skiff-control-plane"
for u in $CP_UNITS; do unit "$p" "$u"; done
man "$p" 8 scheduler/skiff-scheduler.8 controllers/replication/skiff-replication-controller.8 \
	controllers/node/skiff-node-controller.8 controllers/endpoints/skiff-endpoints-controller.8 \
	controllers/config/skiff-config-controller.8 controllers/deployment/skiff-deployment-controller.8
common "$p"
maint "$p" "$CP_UNITS" ""
echo /etc/default/skiff-control-plane > "$work/$p/DEBIAN/conffiles"
control "$p" admin "" \
	"Skiff control plane: scheduler and controllers" \
	"The control plane of Skiff, a container orchestrator whose components coordinate only through etcd: skiff-scheduler binds pods to nodes; the replication, node, endpoints, config and deployment controllers keep replicas, evict pods of lost nodes, keep services' endpoints, copy ConfigMaps and Secrets to nodes and roll deployments. Each runs as a dynamic user with no capabilities, one active instance at a time by leader election in etcd." \
	"Suggests: etcd-server, skiffctl"

# skiffctl
p=skiffctl
bin "$p" bin skiffctl
man "$p" 1 cli/skiffctl.1
install -d "$work/$p/usr/share/bash-completion/completions"
install -m 644 cli/skiffctl.bash-completion "$work/$p/usr/share/bash-completion/completions/skiffctl"
common "$p"
control "$p" admin "" \
	"command-line client of the Skiff container orchestrator" \
	"skiffctl reads and writes Skiff's objects in etcd as kubectl does Kubernetes': get, describe, apply, delete, scale, cordon, drain, rollout, set image, validate, version. With its man page and bash completion."

# lintian's report goes to B/lintian.out too: make deb-test judges it.
if command -v lintian >/dev/null; then
	lintian -I "$B"/*_"$VERSION"_"$ARCH".deb > "$B/lintian.out" 2>&1 || true
	grep -v '^running with root privileges' "$B/lintian.out" >&2 || true
fi
