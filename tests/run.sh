#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Runs every test layer and prints "N passed, N failed" last. Usage: tests/run.sh BUILD
# The conformance layer and each shell test in tests/netns run under `unshare -n -m`, so the "host" they
# see is a fresh network namespace of their own and the real host is never touched.
set -u
cd "$(dirname "$0")/.."
BUILD=${1:-build}
export BIN=$PWD/$BUILD/bin TOOLS=$PWD/$BUILD/tests/tools BUILD_DIR=$PWD/$BUILD
export UPSTREAM=${UPSTREAM:-/usr/lib/cni}
log=$(mktemp /tmp/sluice-tests.XXXXXX)
# the tests' temporary directories (tests/lib.sh), so that one left behind is seen
export SLUICE_TEST_TMPROOT
SLUICE_TEST_TMPROOT=$(mktemp -d /tmp/slt.XXXXXX) # short: see tests/lib.sh
mkdir -p /run/netns
trap 'rm -f "$log"; rm -rf "$SLUICE_TEST_TMPROOT"' EXIT

declare -A LAYER_PASS=()
run() { # LAYER NAME CMD...
	local layer=$1 name=$2 rc before
	shift 2
	before=$(grep -c '^PASS ' "$log")
	echo "== $layer: $name"
	"$@" 2>&1 | tee -a "$log" | grep -v '^PASS ' 
	rc=${PIPESTATUS[0]}
	# timeout(1) ends a hung test with 124 (TERM), or 137 (KILL, -k seconds later); either is
	# reported even after other failures of the test: the checks after the hang never ran
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		echo "FAIL $name:timed-out-or-killed (exit status $rc)" | tee -a "$log"
	elif [ "$rc" -ne 0 ] && ! grep -q "^FAIL $name:" "$log"; then
		echo "FAIL $name:exit-status-$rc" | tee -a "$log"
	fi
	LAYER_PASS[$layer]=$((${LAYER_PASS[$layer]:-0} + $(grep -c '^PASS ' "$log") - before))
}

run unit layers tests/layers.sh
for t in "$BUILD"/tests/unit/test_*; do
	[ -x "$t" ] && run unit "$(basename "$t")" timeout 300 "$t"
done
# in a netns of its own too: its DEL, GC and STATUS cases really run (and find nothing)
run conformance run unshare -n -m --propagation private tests/conformance/run.sh
# libFuzzer targets (tests/fuzz): each over its committed corpus, then fuzzing for
# FUZZ_TEST_TIME seconds (10); in a netns of its own, though they parse only. ONLY=fuzz
# runs them alone; any other ONLY skips them.
if [ -z "${ONLY:-}" ] || [[ fuzz == *${ONLY}* ]]; then
	for t in tests/fuzz/*.c; do
		n=$(basename "$t" .c)
		run fuzz "fuzz:$n" unshare -n tests/fuzz/run.sh "$BUILD" "${FUZZ_TEST_TIME:-10}" "$n"
	done
fi
for t in tests/netns/*.sh; do
	[ -f "$t" ] || continue
	n=$(basename "$t" .sh)
	[ -n "${ONLY:-}" ] && [[ "$n" != *${ONLY}* ]] && continue
	# /run/netns on a tmpfs of the test's own mount namespace: the netns files a test
	# makes vanish with it, even when it is killed before its cleanup runs. A test that hangs
	# is stopped after 15 minutes (TERM: its EXIT trap still cleans up; KILL 10 s later).
	run netns "$n" env T_FILE="$n" timeout -k 10 900 unshare -n -m --propagation private \
		sh -c 'mount -t tmpfs -o mode=0755 sluice-netns /run/netns && exec bash "$0"' "$t"
	# a test removes what it made, even when it fails
	if [ -n "$(ls -A "$SLUICE_TEST_TMPROOT")" ]; then
		echo "FAIL $n:left-temporary-files $(ls -A "$SLUICE_TEST_TMPROOT" | paste -sd ' ')" |
			tee -a "$log"
		rm -rf "${SLUICE_TEST_TMPROOT:?}"/*
	fi
done

p=$(grep -c '^PASS ' "$log")
f=$(grep -c '^FAIL ' "$log")
if [ "$f" -gt 0 ]; then
	echo "failed:"
	grep '^FAIL ' "$log"
fi
echo "passed by layer: unit ${LAYER_PASS[unit]:-0}, conformance ${LAYER_PASS[conformance]:-0}, fuzz ${LAYER_PASS[fuzz]:-0}, netns ${LAYER_PASS[netns]:-0}"
echo "$p passed, $f failed"
[ "$f" -eq 0 ]
