#!/bin/sh
# tests/upgrade/old-build.sh B: build the programs of the commit named in
# tests/upgrade/OLD_COMMIT (its first word) in a detached git worktree,
# B/upgrade-old, for check_upgrade. Cached by commit: B/upgrade-old/.built
# names the commit built there, and a second run with the same commit does
# nothing; another commit replaces the worktree. `make clean` removes it
# (and `git worktree prune` its registration). Outside a git checkout (a
# release tarball) it says so and builds nothing; check_upgrade then fails
# with that reason. Exit 0, or 1 with the reason on stderr.
set -u
cd "$(dirname "$0")/../.." || exit 1
B=${1:-build}
W=$B/upgrade-old
c=$(awk 'NR == 1 { print $1 }' tests/upgrade/OLD_COMMIT)
if ! git rev-parse --git-dir >/dev/null 2>&1; then
	echo "old-build: not a git checkout: cannot build $c for the upgrade test" >&2
	exit 0
fi
[ "$(cat "$W/.built" 2>/dev/null)" = "$c" ] && [ -x "$W/build/bin/skiff-agent" ] && exit 0
git rev-parse --verify -q "$c^{commit}" >/dev/null || { echo "old-build: no commit $c here" >&2; exit 1; }
git worktree remove --force "$W" >/dev/null 2>&1
rm -rf "$W"
git worktree prune
git worktree add --detach "$W" "$c" >/dev/null || { echo "old-build: git worktree add $W $c failed" >&2; exit 1; }
echo "old-build: building $c in $W (once per commit)" >&2
# Only the programs and the pause image, not its tests; MAKEFLAGS is not
# passed on (the old tree's own make, with its own jobs).
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$W" -j2 -s build/bin/skiff-agent build/bin/skiff-proxy build/bin/skiff-scheduler \
	build/bin/skiff-replication-controller build/bin/skiff-node-controller \
	build/bin/skiff-endpoints-controller build/bin/skiffctl >"$W.log" 2>&1 ||
	{ echo "old-build: the build of $c failed; the end of $W.log:" >&2; tail -n 20 "$W.log" >&2; exit 1; }
# Its dependency files would be read by this tree's Makefile (which
# includes every .d under build/) and name the old tree's headers.
find "$W/build" -name '*.d' -delete
echo "$c" >"$W/.built"
