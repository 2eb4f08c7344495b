#!/bin/sh
# fn-length.sh: no function of the programs is longer than a limit.
#   fn-length.sh [MAX [DIR...]]   default 80 lines over scheduler/,
#                                 controllers/, node-agent/ and cli/
# A function is counted from its opening brace to its closing one, both in
# the first column (the tree's .clang-format puts them there). Prints each
# function over the limit as FILE:LINE: NAME (N lines) and exits 1 if any.
set -eu
cd "$(dirname "$0")/.."
max=${1:-80}
[ $# -gt 0 ] && shift
dirs=${*:-scheduler controllers node-agent cli}
# shellcheck disable=SC2086
files=$(find $dirs -name '*.c' | sort)
# shellcheck disable=SC2086
awk -v max="$max" '
	FNR == 1 { start = 0 }
	/^[A-Za-z_][A-Za-z0-9_]*\(/ { name = $0; sub(/\(.*/, "", name) }
	/^\{/ { start = FNR; fn = name }
	/^\}/ && start {
		n = FNR - start + 1
		if (n > max) { printf "%s:%d: %s (%d lines, limit %d)\n", FILENAME, start, fn, n, max; bad = 1 }
		start = 0
	}
	END { exit bad }
' $files || { echo "fn-length: split the functions above" >&2; exit 1; }
