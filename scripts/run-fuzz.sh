#!/bin/sh
# run-fuzz.sh: run libFuzzer targets, FUZZ_JOBS (default 2) at a time.
#   run-fuzz.sh SECONDS BIN...
# For each BIN (fuzz_NAME): run it once over its seed corpus fuzz/corpus/NAME/
# (a regression check), then fuzz for SECONDS (0: seeds only), with
# fuzz/NAME.dict when there is one. New inputs go to build/fuzz/corpus/NAME/
# (the committed seeds are never modified), crash reproducers to
# build/fuzz/artifacts/, full logs to build/fuzz/logs/. Prints one line per
# target; on a crash, leak, timeout or sanitizer report it prints the
# reproducer and the end of the log. Exits 1 if any target failed, 2 on
# usage errors.
set -u

if [ $# -lt 1 ] || ! [ "$1" -ge 0 ] 2>/dev/null; then
	echo "usage: run-fuzz.sh SECONDS BIN..." >&2
	exit 2
fi
secs=$1
shift
top=build/fuzz
mkdir -p "$top/artifacts" "$top/logs" "$top/corpus"
# UBSan recovers by default; a fuzzer must stop at the first report.
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export ASAN_OPTIONS="detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"

# Why a run failed, from its log.
reason() {
	if grep -q 'ERROR: LeakSanitizer' "$1"; then echo "memory leak"
	elif grep -q 'ERROR: libFuzzer: timeout' "$1"; then echo "timeout"
	elif grep -q 'out-of-memory' "$1"; then echo "out of memory"
	elif grep -q 'runtime error:' "$1"; then echo "undefined behaviour"
	elif grep -q 'ERROR: AddressSanitizer' "$1"; then echo "memory error"
	elif grep -q 'deadly signal' "$1"; then echo "crash"
	else echo "exit $2"
	fi
}

fail() {
	name=$1 log=$2 rc=$3
	art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
	echo "$name: FAILED: $(reason "$log" "$rc")${art:+, reproducer $art (run: $bin $art)}, log $log"
	report=$(sed -n '/==ERROR\|runtime error\|ERROR: libFuzzer/,$p' "$log" | head -n 40)
	[ -n "$report" ] || report=$(tail -n 10 "$log")
	printf '%s\n' "$report" | sed 's/^/    /'
	status=1
}

# One target: seeds, then SECONDS of fuzzing; prints its line and
# returns non-zero when it failed.
one() {
	bin=$1
	name=$(basename "$bin")
	seeds=fuzz/corpus/$name
	work=$top/corpus/$name
	log=$top/logs/$name.log
	dict=fuzz/$name.dict
	status=0
	if [ ! -x "$bin" ]; then
		echo "$name: FAILED: no such fuzzer $bin (make fuzz-bins)"
		return 1
	fi
	mkdir -p "$work" "$seeds"
	set -- -artifact_prefix="$top/artifacts/$name-" -timeout=10 -rss_limit_mb=2048
	[ -f "$dict" ] && set -- "$@" -dict="$dict"
	nseeds=$(ls "$seeds" | wc -l)

	"$bin" "$@" -runs=0 "$seeds" >"$log" 2>&1
	rc=$?
	if [ $rc -ne 0 ]; then
		fail "$name" "$log" $rc
		return 1
	fi
	runs=0
	if [ "$secs" -gt 0 ]; then
		"$bin" "$@" -max_total_time="$secs" -print_final_stats=1 "$work" "$seeds" >"$log" 2>&1
		rc=$?
		if [ $rc -ne 0 ]; then
			fail "$name" "$log" $rc
			return 1
		fi
		runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -n 1)
	fi
	echo "$name: ok: $nseeds seeds, ${runs:-0} runs in ${secs}s, corpus now $(ls "$work" | wc -l) new inputs"
}

# FUZZ_JOBS targets at a time (default 2, one per core of the machines
# CI runs on); each one's lines are printed when its group ends, in order.
jobs=${FUZZ_JOBS:-2}
status=0
while [ $# -gt 0 ]; do
	group=""
	i=0
	while [ $# -gt 0 ] && [ $i -lt "$jobs" ]; do
		out=$top/logs/$(basename "$1").out
		(one "$1" >"$out" 2>&1) &
		group="$group $! $out"
		shift
		i=$((i + 1))
	done
	rest="$*"
	set -- $group
	while [ $# -gt 0 ]; do
		wait "$1" || status=1
		cat "$2"
		shift 2
	done
	set -- $rest
done
exit $status
