#!/bin/sh
# dist.sh: build a release tarball, skiff-VERSION.tar.gz, of an installed
# tree: "make install" into a staging root, plus the systemd units in
# lib/systemd/system, the env example in etc/skiff/ and install-minion.sh
# in PREFIX/share/skiff/. Unpack it with install-minion.sh (which knows the
# tar options that keep /, /lib and /usr/lib as they are).
#
#   scripts/dist.sh            prints the tarball's path on stdout
#
# Environment: OUTDIR (default build/dist), PREFIX (/usr/local), VERSION
# (the Makefile's), MAKE (make), SOURCE_DATE_EPOCH (file times; default
# the last commit's time, so the same tree gives the same bytes).
#
# The archive holds files and symlinks only, no directory entries: an
# archive entry for "lib/" or "./" would let tar replace /lib (a symlink
# to usr/lib on Debian) or reset the mode of / when unpacked into /.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
PREFIX=${PREFIX:-/usr/local}
MAKE=${MAKE:-make}
OUTDIR=${OUTDIR:-$top/build/dist}
VERSION=${VERSION:-$(sed -n 's/^VERSION[ 	]*:=[ 	]*//p' Makefile)}
[ -n "$VERSION" ] || { echo "dist: no VERSION in Makefile" >&2; exit 1; }
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || date +%s)
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/skiff-dist.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
root=$tmp/root

# Messages go to stderr: stdout is the tarball's path only.
$MAKE --no-print-directory install DESTDIR="$root" PREFIX="$PREFIX" >&2

install -d "$root/lib/systemd/system" "$root/etc/skiff" "$root$PREFIX/share/skiff" \
	"$root$PREFIX/share/doc/skiff"
for u in manifests/systemd/*.service; do
	# The units name /usr/local/bin; follow another PREFIX.
	sed "s#/usr/local/bin/#$PREFIX/bin/#g" "$u" > "$root/lib/systemd/system/${u##*/}"
	chmod 644 "$root/lib/systemd/system/${u##*/}"
done
install -m 644 manifests/systemd/skiff.env.example "$root/etc/skiff/skiff.env.example"
install -m 755 scripts/install-minion.sh "$root$PREFIX/share/skiff/install-minion.sh"
for d in docs/operations.md docs/troubleshooting.md docs/keys.md docs/flags.md; do
	[ -f "$d" ] && install -m 644 "$d" "$root$PREFIX/share/doc/skiff/"
done

mkdir -p "$OUTDIR"
out=$OUTDIR/skiff-$VERSION.tar.gz
(cd "$root" && find . ! -type d | LC_ALL=C sort > "$tmp/list")
tar -C "$root" --no-recursion --owner=0 --group=0 --numeric-owner \
	--mtime="@$SOURCE_DATE_EPOCH" -T "$tmp/list" -cf - | gzip -9n > "$out.tmp"
mv "$out.tmp" "$out"
echo "$out"
