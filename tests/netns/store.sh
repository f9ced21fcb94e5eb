#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The datastore's dir:// backend: the behavioural suite every backend passes (tests/tools/
# storetest, which prints its own "store-dir:<check>" lines) and its "dir" group (file modes,
# torn reads, a dead writer's leftovers, two stores apart, open errors, log compaction, huge
# TTLs, a full filesystem), on a fresh store under mktemp -d; then the same store reopened, and
# two suites writing one store at once, as simulated nodes on one machine do.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

ST=${TOOLS:-build/tests/tools}/storetest
if [ ! -x "$ST" ]; then
	fail "storetest-built" "missing $ST (make tools)"
	exit 0
fi

# suite NAME ARGS...: runs storetest; its lines are the checks; a crash or a store it cannot
# open (status 2 and up) is a failure of its own
suite() {
	local name=$1 rc
	shift
	"$ST" "$@"
	rc=$?
	[ "$rc" -le 1 ] || fail "$name" "storetest $* exited with status $rc"
}

# a read-only mount of a directory, for the "Read-only file system" error (this test has a
# mount namespace of its own)
mkdir -p "$T_TMP/ro"
if mount --bind "$T_TMP/ro" "$T_TMP/ro" && mount -o remount,bind,ro "$T_TMP/ro"; then
	defer "umount -l '$T_TMP/ro'"
	export STORETEST_RO_DIR=$T_TMP/ro/store
fi

# a small filesystem (512 KiB) for dir-enospc: a 300 KiB value's log record fits, its key
# file then does not
mkdir -p "$T_TMP/small"
if mount -t tmpfs -o size=512k,mode=0700 sluice-store-test "$T_TMP/small"; then
	defer "umount -l '$T_TMP/small'"
	export STORETEST_SMALL_DIR=$T_TMP/small
else
	fail "small-fs" "cannot mount a tmpfs for dir-enospc"
fi

STORE=$T_TMP/store
suite "suite" "dir://$STORE"

# the same store again, from a new process (an existing store is opened, not re-created)
out=$("$ST" "dir://$STORE" put-get revisions watch-history list-paging compact 2>&1)
if ! grep -q '^FAIL' <<<"$out" && [ "$(grep -c '^PASS' <<<"$out")" -eq 5 ]; then
	pass "reopened-store"
else
	fail "reopened-store" "$out"
fi

# two suites at once on one store, each under a prefix of its own: every check of both passes
# (those that count revisions exactly, or compact, are left out: the other's writes land in
# between)
checks=(get-absent values create-if-absent watch-history watch-now watch-other-process
	race-create errors ttl-watch)
"$ST" "dir://$T_TMP/shared" "${checks[@]}" >"$T_TMP/one.out" 2>&1 &
p1=$!
"$ST" "dir://$T_TMP/shared" "${checks[@]}" >"$T_TMP/two.out" 2>&1
rc2=$?
wait "$p1"
rc1=$?
n=$(cat "$T_TMP/one.out" "$T_TMP/two.out" | grep -c '^PASS')
if [ "$rc1" -eq 0 ] && [ "$rc2" -eq 0 ] && [ "$n" -eq $((2 * ${#checks[@]})) ]; then
	pass "two-suites-at-once"
else
	fail "two-suites-at-once" "status $rc1 and $rc2, $n passed" "$(grep -h '^FAIL' "$T_TMP"/*.out)"
fi

# nothing in the store is readable by others, whatever the umask of its writers was
others=$(find "$STORE" "$T_TMP/shared" \( -type d ! -perm 0700 \) -o \( -type f ! -perm 0600 \) | head -3)
check_eq "owner-only-modes" "" "$others"
exit 0
