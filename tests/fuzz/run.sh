#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Runs libFuzzer targets: each first over its committed corpus (tests/fuzz/corpus/<name>,
# every input once), then fuzzing for SECONDS from that corpus and the inputs earlier runs
# found ($BUILD/fuzz/corpus/<name>, where new ones are kept). A crash, a leak, undefined
# behaviour, an input slower than 10 s or output that is not valid UTF-8 JSON (the targets
# check every byte printed) fails the target; the input that did it is kept as
# $BUILD/fuzz/crash-<name>-*. Prints PASS/FAIL lines as tests/lib.sh does.
#   tests/fuzz/run.sh BUILD SECONDS [TARGET...]   (default: every target built)
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${1:-build}
SECS=${2:-10}
shift 2 2>/dev/null || shift $#
bin=$BUILD/fuzz/bin
if [ $# -eq 0 ]; then
	for f in tests/fuzz/*.c; do
		f=${f##*/}
		set -- "$@" "${f%.c}"
	done
fi
rc=0

for t in "$@"; do
	if [ ! -x "$bin/$t" ]; then
		echo "FAIL fuzz:$t:built"
		echo "  missing $bin/$t (make fuzz-build)"
		rc=1
		continue
	fi
	work=$BUILD/fuzz/corpus/$t
	log=$BUILD/fuzz/$t.log
	mkdir -p "$work"
	opts=(-timeout=10 -rss_limit_mb=2048 -max_len=65536 -artifact_prefix="$BUILD/fuzz/crash-$t-"
		-print_final_stats=0)
	# every committed input once: a file list runs each and stops
	if timeout -k 10 600 "$bin/$t" "${opts[@]}" tests/fuzz/corpus/"$t"/* >"$log" 2>&1; then
		echo "PASS fuzz:$t:committed corpus ($(find tests/fuzz/corpus/"$t" -type f | wc -l) inputs)"
	else
		echo "FAIL fuzz:$t:committed corpus"
		grep -a -E -A12 '^(==[0-9]+==ERROR|fuzz:|.*runtime error)' "$log" | head -40 | sed 's/^/  /'
		rc=1
		continue
	fi
	if timeout -k 10 $((SECS + 120)) "$bin/$t" "${opts[@]}" -max_total_time="$SECS" \
		"$work" tests/fuzz/corpus/"$t" >"$log" 2>&1; then
		echo "PASS fuzz:$t:${SECS}s of fuzzing ($(grep -o 'Done [0-9]* runs' "$log" | tail -1))"
	else
		echo "FAIL fuzz:$t:${SECS}s of fuzzing"
		grep -a -E -A12 '^(==[0-9]+==ERROR|fuzz:|.*runtime error)' "$log" | head -40 | sed 's/^/  /'
		find "$BUILD/fuzz" -maxdepth 1 -name "crash-$t-*" | sed 's/^/  input: /'
		rc=1
	fi
done
exit $rc
