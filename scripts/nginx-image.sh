#!/bin/sh
# nginx-image.sh: import skiff/test-nginx:latest into the dockerd of
# $DOCKER_HOST (or the local one) when it is missing: a test HTTP server
# with a real listen backlog, for bench/rollout. No registry: Debian's
# nginx-light (/usr/sbin/nginx), every library `ldd` names and the dynamic
# loader, and a small configuration:
#   listen 80 backlog=4096 (the pod's net.core.somaxconn caps it), one
#   worker, no access log, errors on stderr; every path answers 200
#   "pod=HOSTNAME" (the pod's name), so a client can tell pods apart.
#   STOPSIGNAL SIGQUIT, as Docker's own nginx image: `docker stop` (the
#   agent's stop) asks for nginx's graceful shutdown (close the listening
#   socket, finish the requests in flight, exit); SIGTERM would be its
#   fast shutdown, which drops them.
# The image archive (10 MB) is built once into build/images/ and reused
# by later loads.
#
#   nginx-image.sh [--rootfs DIR]   DIR: only build the root file system
#                                   there (to look at it)
# It does not pull, tag anything else, or rebuild an image that exists; the
# other tests keep the busybox image of scripts/test-image.sh.
set -eu
IMAGE=skiff/test-nginx:latest
top=$(cd "$(dirname "$0")/.." && pwd)

rootfs() {
	r=$1
	[ -x /usr/sbin/nginx ] || { echo "nginx-image: /usr/sbin/nginx is missing (apt-get install nginx-light)" >&2; exit 1; }
	mkdir -p "$r/usr/sbin" "$r/etc/nginx" "$r/run" "$r/tmp" "$r/var/log/nginx" "$r/var/lib/nginx"
	chmod 1777 "$r/tmp"
	cp /usr/sbin/nginx "$r/usr/sbin/nginx"
	ldd /usr/sbin/nginx |
		awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// && $1 !~ /:$/ { print $1 }' | sort -u |
		while read -r lib; do
			mkdir -p "$r$(dirname "$lib")"
			cp -L "$lib" "$r$lib"
		done
	printf 'root:x:0:0:root:/:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/:/usr/sbin/nologin\n' >"$r/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$r/etc/group"
	printf 'hosts: files dns\n' >"$r/etc/nsswitch.conf"
	cat >"$r/etc/nginx/nginx.conf" <<'EOF'
daemon off;
user root;
worker_processes 1;
pid /run/nginx.pid;
error_log stderr warn;
events { worker_connections 4096; }
http {
	access_log off;
	server {
		listen 80 backlog=4096;
		location / {
			default_type text/plain;
			return 200 "pod=$hostname\n";
		}
	}
}
EOF
}

if [ "${1:-}" = --rootfs ]; then
	[ $# -eq 2 ] || { echo "usage: nginx-image.sh [--rootfs DIR]" >&2; exit 2; }
	rootfs "$2"
	exit 0
fi
docker image inspect "$IMAGE" >/dev/null 2>&1 && exit 0
# An image archive as `docker save` writes it, loaded with `docker load`:
# `docker import --change` (Docker 20.10) refuses STOPSIGNAL.
tar=$top/build/images/test-nginx.tar
if [ ! -s "$tar" ] || [ -n "$(find /usr/sbin/nginx "$0" -newer "$tar")" ]; then
	mkdir -p "$top/build/images"
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	mkdir "$tmp/rootfs" "$tmp/img" "$tmp/img/layer"
	rootfs "$tmp/rootfs"
	tar -C "$tmp/rootfs" --numeric-owner -cf "$tmp/img/layer/layer.tar" .
	diff=$(sha256sum "$tmp/img/layer/layer.tar" | cut -d' ' -f1)
	printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/sbin:/usr/bin:/bin"],%s%s%s},%s}\n' \
		'"Cmd":["/usr/sbin/nginx"],' '"ExposedPorts":{"80/tcp":{}},' '"StopSignal":"SIGQUIT"' \
		"\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:$diff\"]}" >"$tmp/img/config.json"
	cfg=$(sha256sum "$tmp/img/config.json" | cut -d' ' -f1)
	mv "$tmp/img/config.json" "$tmp/img/$cfg.json"
	printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["layer/layer.tar"]}]\n' "$cfg" "$IMAGE" \
		>"$tmp/img/manifest.json"
	tar -C "$tmp/img" -cf "$tar.$$" . && mv "$tar.$$" "$tar"
fi
docker load -q -i "$tar" >/dev/null
echo "nginx-image: loaded $IMAGE" >&2
