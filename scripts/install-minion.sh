#!/bin/sh
# install-minion.sh: install a Skiff release tarball on a minion and start
# skiff-agent, skiff-proxy and skiff-dns. What cloud-init runs (manifests/cloud-init/
# minion.yaml); also fine by hand, as root. Running it again upgrades the
# binaries and restarts the services; it never touches an existing
# /etc/skiff/skiff.env.
#
#   install-minion.sh skiff-VERSION.tar.gz
#
# Environment (for tests, or to install into an image):
#   ROOT       where to unpack (default /). When it is not /, the units are
#              enabled with "systemctl --root=ROOT enable" and nothing is
#              started or reloaded.
#   SYSTEMCTL  the systemctl to run (default systemctl; "true" skips it)
#   UNITS      what to enable and (re)start (default skiff-agent.service
#              skiff-proxy.service skiff-dns.service)
#
# Exit 0 on success, 1 on failure (with a message), 2 on usage errors.
set -eu

ROOT=${ROOT:-/}
SYSTEMCTL=${SYSTEMCTL:-systemctl}
UNITS=${UNITS:-skiff-agent.service skiff-proxy.service skiff-dns.service}

die() { echo "install-minion: $*" >&2; exit 1; }

[ $# -eq 1 ] || { echo "usage: install-minion.sh skiff-VERSION.tar.gz" >&2; exit 2; }
tarball=$1
[ -f "$tarball" ] || die "$tarball: no such file"
[ -d "$ROOT" ] || die "ROOT=$ROOT is not a directory"
gzip -t "$tarball" 2>/dev/null || die "$tarball: not a gzip file (truncated download?)"

# --keep-directory-symlink: /lib is a symlink to usr/lib on Debian; keep it.
# --no-overwrite-dir: leave the modes and owners of existing directories.
tar -xzf "$tarball" -C "$ROOT" --keep-directory-symlink --no-overwrite-dir \
	|| die "cannot unpack $tarball into $ROOT"

etc=${ROOT%/}/etc/skiff
[ -f "$etc/skiff.env.example" ] || die "$tarball holds no etc/skiff/skiff.env.example: not a Skiff release"
if [ ! -e "$etc/skiff.env" ]; then
	(umask 077 && cp "$etc/skiff.env.example" "$etc/skiff.env")
	echo "install-minion: wrote $etc/skiff.env from the example; edit it (etcd endpoints, TLS, node name)" >&2
fi

if [ "$ROOT" = / ]; then
	$SYSTEMCTL daemon-reload
	# shellcheck disable=SC2086
	$SYSTEMCTL enable $UNITS
	# restart, not start: a second run is an upgrade.
	# shellcheck disable=SC2086
	$SYSTEMCTL restart $UNITS
else
	# shellcheck disable=SC2086
	$SYSTEMCTL --root="$ROOT" enable $UNITS
fi
echo "install-minion: installed $(basename "$tarball") into $ROOT; enabled $UNITS" >&2
