#!/bin/sh
# guestbook-images.sh: import the guestbook's two images into the dockerd of
# $DOCKER_HOST (or the local one) when they are missing. No registry: both
# are made from this machine's Debian packages.
#
#   skiff/redis:test      /usr/bin/redis-server and redis-cli (redis-server,
#                         redis-tools), every library `ldd` names and the
#                         dynamic loader, /etc/nsswitch.conf ("hosts: files
#                         dns": glibc resolves service names through the
#                         pod's resolv.conf) and static busybox (sh and its
#                         applets, for probes and `nslookup`).
#   skiff/guestbook:test  the same, plus busybox httpd serving /www on port
#                         80 with the CGI /cgi-bin/guestbook: Kubernetes'
#                         v1.0 guestbook frontend (its index.php) in sh.
#
#   guestbook-images.sh [--rootfs DIR]   DIR: only build the guestbook's
#                                        root file system there (tests)
# It does not pull, tag anything else, or rebuild an image that exists.
set -eu
have() { docker image inspect "$1" >/dev/null 2>&1; }

# rootfs DIR: the redis binaries, their libraries, busybox and the CGI.
rootfs() {
	r=$1
	for b in /usr/bin/redis-server /usr/bin/redis-cli /bin/busybox; do
		[ -x "$b" ] || { echo "guestbook-images: $b is missing (apt-get install redis-server redis-tools busybox-static)" >&2; exit 1; }
	done
	mkdir -p "$r/usr/bin" "$r/bin" "$r/etc" "$r/tmp" "$r/data" "$r/www/cgi-bin"
	chmod 1777 "$r/tmp"
	# redis-server is a link to redis-check-rdb (which looks at argv[0]).
	cp -L /usr/bin/redis-server /usr/bin/redis-cli "$r/usr/bin/"
	cp /bin/busybox "$r/bin/busybox"
	for a in $(/bin/busybox --list); do
		[ -e "$r/bin/$a" ] || ln -s busybox "$r/bin/$a"
	done
	ldd /usr/bin/redis-server /usr/bin/redis-cli |
		awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// && $1 !~ /:$/ { print $1 }' | sort -u |
		while read -r lib; do
			mkdir -p "$r$(dirname "$lib")"
			cp -L "$lib" "$r$lib"
		done
	printf 'hosts: files dns\n' >"$r/etc/nsswitch.conf"
	printf 'root:x:0:0:root:/data:/bin/sh\n' >"$r/etc/passwd"
	printf 'root:x:0:\n' >"$r/etc/group"
	cp "$(dirname "$0")/../manifests/guestbook/www/index.html" "$r/www/index.html"
	cp "$(dirname "$0")/../manifests/guestbook/www/guestbook.cgi" "$r/www/cgi-bin/guestbook"
	chmod 755 "$r/www/cgi-bin/guestbook"
}

if [ "${1:-}" = --rootfs ]; then
	[ $# -eq 2 ] || { echo "usage: guestbook-images.sh [--rootfs DIR]" >&2; exit 2; }
	rootfs "$2"
	exit 0
fi
have skiff/redis:test && have skiff/guestbook:test && exit 0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rootfs "$tmp"
env='ENV PATH=/usr/bin:/bin'
have skiff/redis:test ||
	tar -C "$tmp" --exclude ./www -c . | docker import -c "$env" -c 'WORKDIR /data' \
		-c 'CMD ["/usr/bin/redis-server","--protected-mode","no"]' - skiff/redis:test >/dev/null
have skiff/guestbook:test ||
	tar -C "$tmp" -c . | docker import -c "$env" \
		-c 'CMD ["/bin/busybox","httpd","-f","-p","80","-h","/www"]' - skiff/guestbook:test >/dev/null
echo "guestbook-images: skiff/redis:test and skiff/guestbook:test present" >&2
