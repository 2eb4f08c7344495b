# bin.sh (sourced by tests/cluster): which build each program of the bed
# runs from, for the upgrade test (tests/upgrade). `up --bin-dir DIR` sets
# the bed's directory ($D/bindir; default build/bin); `replace` and
# `replace-plane` set another one for one program ($D/P.bin for
# control-plane program P, $D/mI/PROG.bin for minion I's agent, proxy or
# dns). A program of another build may not know every flag this script
# passes, nor exist there at all: spawn_bin passes only the flags the
# program's --help names, and the callers skip a program the directory
# lacks (an old build has no skiff-dns). It does not check versions or
# decide an upgrade's order: tests/upgrade and docs/operations.md do.

# bin_dir FILE: the directory named in FILE, else the bed's.
bin_dir() {
	cat "$1" 2>/dev/null || cat "$D/bindir" 2>/dev/null || echo "$ROOT/build/bin"
}

# bin_knows PROG FLAG: PROG's --help names FLAG (--name); the help text
# is kept in $D/help/ per program path.
bin_knows() {
	mkdir -p "$D/help" || return 1
	_h=$D/help/$(echo "$1" | tr '/' '_')
	[ -f "$_h" ] || "$1" --help >"$_h" 2>&1
	grep -qE -e "(^|[^a-z-])$2([^a-z-]|\$)" "$_h"
}

# spawn_bin PIDFILE LOG CMD... -- PROG ARG...: spawn CMD PROG ARG..., each
# ARG of the form --name[=value] only when PROG knows --name (those left
# out are said on stderr).
spawn_bin() {
	_pf=$1 _log=$2 _n=$(($# - 2)) _prog=""
	shift 2
	while [ "$_n" -gt 0 ]; do
		_a=$1
		shift
		_n=$((_n - 1))
		if [ -z "$_prog" ]; then
			[ "$_a" = -- ] && { _prog=$1; set -- "$@" "$1"; shift; _n=$((_n - 1)); continue; }
		else
			case $_a in
			--*) bin_knows "$_prog" "${_a%%=*}" ||
				{ echo "tests/cluster: $_prog does not know ${_a%%=*}: left out" >&2; continue; } ;;
			esac
		fi
		set -- "$@" "$_a"
	done
	spawn "$_pf" "$_log" "$@"
}

# bin_replace FILE PIDFILE SIGNAL DIR: stop the program of PIDFILE with
# SIGNAL (TERM: its clean stop; KILL: as a crash, leaving what it set up in
# the kernel), wait for it to go, and name DIR in FILE for the next start.
bin_replace() {
	[ -d "$4" ] || die "replace: $4 is not a directory"
	case $3 in
	TERM) stop 10 "$2" ;;
	KILL)
		if is_ours "$2"; then
			_p=$(cat "$2")
			kill -KILL "$_p"
			wait_for 10 sh -c "! kill -0 $_p"
		fi
		rm -f "$2" ;;
	*) usage ;;
	esac
	(cd "$4" && pwd) >"$1"
}
