#!/bin/sh
# deb-test.sh: install the three packages of "make deb" into a scratch root
# with dpkg --root, check them, purge them, and check that nothing is left.
#
#   tests/packaging/deb-test.sh B      (make deb-test; B is build/deb)
#
# The scratch root (B/scratch) starts as an empty dpkg database holding a
# copy of this machine's package status, so dpkg checks the packages'
# Depends against the Debian packages installed here (scripts/deps.sh
# installs docker.io, iptables, nftables, conntrack, ...) without copying
# their files. Maintainer scripts run outside the root with DPKG_ROOT set
# (--force-script-chrootless), as they do for any install into another
# root; they must touch nothing but that root. The programs run with this
# machine's libraries, the ones the copied status stands for.
#
# What it does not do: boot the units (systemd-analyze verify checks them)
# or reach etcd (check_skiffctl does that). It prints each check it makes;
# exit 0 when all pass, 1 at the first that fails.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
B=${1:?usage: deb-test.sh BUILD_DIR}
./scripts/deps.sh
VERSION=$(sed -n 's/^VERSION[ 	]*:=[ 	]*//p' Makefile)
CONTRACT=$(sed -n 's/^CONTRACT_VERSION[ 	]*:=[ 	]*//p' Makefile)
ARCH=$(dpkg --print-architecture)
root=$top/$B/scratch
PKGS="skiff-node skiff-control-plane skiffctl"
checks=0

fail() {
	echo "deb-test: FAIL: $*" >&2
	exit 1
}
ok() {
	checks=$((checks + 1))
	echo "deb-test: ok: $*"
}
dpkgr() {
	dpkg --root="$root" --force-script-chrootless --log="$root/var/log/dpkg.log" "$@"
}

debs=""
for p in $PKGS; do
	d=$B/${p}_${VERSION}_$ARCH.deb
	[ -f "$d" ] || fail "$d missing (make deb builds it)"
	debs="$debs $d"
done

# lintian (its report from make deb, unless a package is newer): every tag
# it still reports is explained, by name, in packaging/README.md.
for d in $debs; do
	# shellcheck disable=SC2086
	[ -n "$(find "$B/lintian.out" -newer "$d" 2>/dev/null)" ] || { lintian -I $debs > "$B/lintian.out" 2>&1 || true; }
done
for t in $(sed -n 's/^[EWIPX]: [^ ]*: \([^ ]*\).*/\1/p' "$B/lintian.out" | sort -u); do
	grep -q "\`$t\`" packaging/README.md || fail "lintian tag $t is not explained in packaging/README.md:
$(grep -- "$t" "$B/lintian.out")"
done
ok "lintian -I: $(grep -c '^[EW]:' "$B/lintian.out" || true) errors or warnings, $(grep -c '^I:' "$B/lintian.out" || true) infos, each tag explained in packaging/README.md"

# The root is shaped like Debian 12 (/lib a symlink to usr/lib) with this
# machine's units in it, the ones the packages' units name (docker.service,
# network-online.target, ...), for systemd-analyze.
rm -rf "$root"
mkdir -p "$root/usr/lib/systemd/system" "$root/etc" "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" \
	"$root/var/lib/dpkg/triggers" "$root/var/log"
ln -s usr/lib "$root/lib"
cp -a /lib/systemd/system/. "$root/usr/lib/systemd/system/"
grep -v '^Conffiles:\|^ /' /var/lib/dpkg/status > "$root/var/lib/dpkg/status"
touch "$root/var/lib/dpkg/available"
(cd "$root" && find . ! -path './var/lib/dpkg/*' ! -path './var/log*' | LC_ALL=C sort) > "$B/scratch.before"

# shellcheck disable=SC2086
dpkgr -i $debs > "$B/dpkg-install.out" 2>&1 || fail "dpkg -i: $(cat "$B/dpkg-install.out")"
for p in $PKGS; do
	st=$(dpkg-query --root="$root" -W -f='${Status} ${Version}' "$p")
	[ "$st" = "install ok installed $VERSION" ] || fail "$p: status \"$st\""
done
ok "installed $PKGS $VERSION; dpkg found every Depends among this machine's packages"

# Each package's files, as dpkg lists them (directories aside).
want_files() {
	case $1 in
	skiff-node)
		for x in skiff-agent skiff-proxy skiff-dns; do
			echo "/usr/sbin/$x"
			echo "/lib/systemd/system/$x.service"
			echo "/usr/share/man/man8/$x.8.gz"
		done
		echo /usr/share/skiff/pause.tar
		echo /etc/default/skiff-node
		echo /usr/share/lintian/overrides/skiff-node
		;;
	skiff-control-plane)
		for x in skiff-scheduler skiff-replication-controller skiff-node-controller skiff-endpoints-controller \
			skiff-config-controller skiff-deployment-controller; do
			echo "/usr/sbin/$x"
			echo "/lib/systemd/system/$x.service"
			echo "/usr/share/man/man8/$x.8.gz"
		done
		echo /etc/default/skiff-control-plane
		echo /usr/share/lintian/overrides/skiff-control-plane
		;;
	skiffctl)
		echo /usr/bin/skiffctl
		echo /usr/share/man/man1/skiffctl.1.gz
		echo /usr/share/bash-completion/completions/skiffctl
		;;
	esac
	echo "/usr/share/doc/$1/copyright"
	echo "/usr/share/doc/$1/changelog.gz"
}
for p in $PKGS; do
	want_files "$p" | LC_ALL=C sort > "$B/want.$p"
	dpkg-query --root="$root" -L "$p" | while read -r f; do [ -d "$root$f" ] || echo "$f"; done |
		LC_ALL=C sort > "$B/got.$p"
	diff -u "$B/want.$p" "$B/got.$p" >&2 || fail "$p: files differ from the list above"
	while read -r f; do [ -e "$root$f" ] || fail "$p: $f listed but not in the root"; done < "$B/got.$p"
	rm -f "$B/want.$p" "$B/got.$p"
done
ok "files: $(for p in $PKGS; do dpkg-query --root="$root" -L "$p" | wc -l; done | awk '{s += $1} END {print s}') paths (directories included), exactly the expected ones"

for c in skiff-node:/etc/default/skiff-node skiff-control-plane:/etc/default/skiff-control-plane; do
	p=${c%%:*} f=${c#*:}
	dpkg-query --root="$root" -W -f='${Conffiles}\n' "$p" | grep -q "^ $f [0-9a-f]\{32\}\$" ||
		fail "$p: $f is not a conffile"
	[ "$(stat -c '%a %U' "$root$f")" = "600 root" ] || fail "$f: mode $(stat -c '%a %U' "$root$f")"
done
[ -z "$(dpkg-query --root="$root" -W -f='${Conffiles}' skiffctl)" ] || fail "skiffctl has conffiles"
ok "conffiles: /etc/default/skiff-node and /etc/default/skiff-control-plane, mode 600 root"

grep -q '^DynamicUser=yes' "$root/lib/systemd/system/skiff-scheduler.service" || fail "scheduler unit without DynamicUser"
for u in skiff-agent skiff-proxy skiff-dns; do
	! grep -q '^DynamicUser=' "$root/lib/systemd/system/$u.service" || fail "$u: DynamicUser set"
	grep -q "^EnvironmentFile=-/etc/default/skiff-node" "$root/lib/systemd/system/$u.service" ||
		fail "$u: does not read /etc/default/skiff-node"
	grep -q "^ExecStart=/usr/sbin/$u " "$root/lib/systemd/system/$u.service" || fail "$u: ExecStart not /usr/sbin/$u"
done
ok "units: node units read /etc/default/skiff-node and run /usr/sbin programs; control plane DynamicUser"

# systemd-analyze verify, on the units as installed, with the programs and
# man pages of the root.
units=$(cd "$root/lib/systemd/system" && ls skiff-*.service)
for u in $units; do
	out=$(cd "$B" && systemd-analyze verify --root="$root" --man=no "$u" 2>&1) ||
		fail "systemd-analyze verify $u: $out"
	[ -z "$out" ] || fail "systemd-analyze verify $u says: $out"
done
ok "systemd-analyze verify: $(echo "$units" | wc -w) units, no complaint"

for x in usr/bin/skiffctl usr/sbin/skiff-agent usr/sbin/skiff-scheduler usr/sbin/skiff-dns; do
	got=$("$root/$x" --version)
	[ "$got" = "${x##*/} $VERSION (contract $CONTRACT)" ] || fail "$x --version printed \"$got\""
done
ok "skiffctl, skiff-agent, skiff-scheduler, skiff-dns --version: \"NAME $VERSION (contract $CONTRACT)\""

out=$(dpkgr --verify $PKGS 2>&1) || fail "dpkg --verify: $out"
[ -z "$out" ] || fail "dpkg --verify: $out"
ok "dpkg --verify: every file matches its md5sum"

# A conffile the admin edited survives the package's reinstall (upgrade
# path of the maintainer scripts) and only a purge removes it.
echo "SKIFF_NODE_NAME=edited-by-deb-test" >> "$root/etc/default/skiff-node"
dpkgr --force-confold -i "$B/skiff-node_${VERSION}_$ARCH.deb" > "$B/dpkg-reinstall.out" 2>&1 ||
	fail "dpkg -i again: $(cat "$B/dpkg-reinstall.out")"
grep -q '^SKIFF_NODE_NAME=edited-by-deb-test$' "$root/etc/default/skiff-node" || fail "reinstall lost the edited conffile"
dpkgr -r skiff-node > "$B/dpkg-remove.out" 2>&1 || fail "dpkg -r: $(cat "$B/dpkg-remove.out")"
[ -f "$root/etc/default/skiff-node" ] && [ ! -e "$root/usr/sbin/skiff-agent" ] ||
	fail "dpkg -r: expected the conffile kept and the programs gone"
ok "an edited /etc/default/skiff-node survives a reinstall and a remove (not a purge)"

dpkgr --purge skiffctl skiff-control-plane skiff-node > "$B/dpkg-purge.out" 2>&1 ||
	fail "dpkg --purge: $(cat "$B/dpkg-purge.out")"
(cd "$root" && find . ! -path './var/lib/dpkg/*' ! -path './var/log*' | LC_ALL=C sort) > "$B/scratch.after"
left=$(comm -13 "$B/scratch.before" "$B/scratch.after")
[ -z "$left" ] || fail "left after purge: $left"
for p in $PKGS; do
	! ls "$root/var/lib/dpkg/info/$p".* >/dev/null 2>&1 || fail "dpkg still has $root/var/lib/dpkg/info/$p.*"
	st=$(dpkg-query --root="$root" -W -f='${Status}' "$p" 2>/dev/null || true)
	[ -z "$st" ] || [ "$st" = "unknown ok not-installed" ] || fail "$p after purge: \"$st\""
done
ok "purged: no file, conffile or dpkg record of the three packages is left"

rm -rf "$root"
echo "deb-test: $checks checks passed"
