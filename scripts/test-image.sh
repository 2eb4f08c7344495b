#!/bin/sh
# test-image.sh: import skiff/test-httpd:latest into the local dockerd when
# it is missing: Debian's static busybox and a /www with a placeholder page
# (pods write their own page at start: see manifests/test/). No registry.
set -eu
docker image inspect skiff/test-httpd:latest >/dev/null 2>&1 && exit 0
bb=/bin/busybox
[ -x "$bb" ] || { echo "test-image: $bb is missing (apt-get install busybox-static)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/www"
cp "$bb" "$tmp/bin/busybox"
echo hello > "$tmp/www/index.html"
tar -C "$tmp" -c . | docker import \
	-c 'CMD ["/bin/busybox","httpd","-f","-p","80","-h","/www"]' - skiff/test-httpd:latest >/dev/null
echo "test-image: imported skiff/test-httpd:latest" >&2
