#!/bin/sh
# run-tests.sh: run Check test binaries one after another, print each one's
# output, and keep a running count in build/test-counts.
#   run-tests.sh BIN...   run them; exit 1 if any failed
#   run-tests.sh --total  print the closing line over every suite run since
#                         build/test-counts was removed; exit 1 on failures
set -u
counts=build/test-counts
mkdir -p build

if [ "${1:-}" = "--total" ]; then
	p=0; f=0
	[ -f "$counts" ] && while read -r a b; do p=$((p + a)); f=$((f + b)); done < "$counts"
	echo "make test: $p passed, $f failed"
	[ "$f" -eq 0 ]
	exit
fi

status=0
for t in "$@"; do
	log=$(mktemp)
	echo "== $t"
	t0=$(date +%s)
	CK_DEFAULT_TIMEOUT=${CK_DEFAULT_TIMEOUT:-120} "$t" >"$log" 2>&1
	rc=$?
	cat "$log"
	# Check's summary: "100%: Checks: 12, Failures: 0, Errors: 0"
	line=$(grep -E '^[0-9]+%: Checks: [0-9]+' "$log" | tail -n 1)
	rm -f "$log"
	if [ -n "$line" ]; then
		n=$(echo "$line" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
		fl=$(echo "$line" | sed -E 's/.*Failures: ([0-9]+).*/\1/')
		er=$(echo "$line" | sed -E 's/.*Errors: ([0-9]+).*/\1/')
		bad=$((fl + er))
	else
		n=1; bad=1
	fi
	[ "$rc" -ne 0 ] && [ "$bad" -eq 0 ] && bad=1
	echo "$((n - bad)) $bad" >> "$counts"
	echo "-- $t: $(($(date +%s) - t0)) s"
	[ "$bad" -ne 0 ] && { echo "FAILED: $t (exit $rc)"; status=1; }
done
exit $status
