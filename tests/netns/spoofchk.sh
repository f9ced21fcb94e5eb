#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# macspoofchk as nftables set elements (common/node/spoofchk through tests/tools/nfttool), with real
# traffic: a "node" netns holds a bridge with two pod netns on veths. Proves: 32 concurrent
# ADDs make one table, one chain of two rules, 32 elements per set; with A's port under check
# and A's real MAC, A and B ping each other; when A takes another MAC its frames are dropped
# (and counted) while B still works; DEL restores; a re-ADD replaces what the port allowed, so
# it never allows two MACs; CHECK sees a wrong or extra MAC; DEL and GC of one network leave
# another's elements alone; bad input is refused; nothing of sluice is left at the end.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

NFTTOOL=${TOOLS:-build/tests/tools}/nfttool
if [ ! -x "$NFTTOOL" ]; then
	fail "nfttool-built" "missing $NFTTOOL (make tools)"
	exit 0
fi

N=spf-node-$$
A=spf-a-$$
B=spf-b-$$
NA="net-a" # the pods' network
NB="net-b" # another network sharing the table
SPOOF=02:5f:00:00:00:aa

nt() { ip netns exec "$N" "$NFTTOOL" "$@"; }
nftn() { ip netns exec "$N" nft "$@"; }
nelems() { nt sc-elems "$1" | wc -l; }
counts() { echo "$(nelems ports) $(nelems allowed)"; }
mac_of() { ip -n "$1" -j link show eth0 | jq -r '.[0].address'; }

# pings NS IP: succeeds when NS reaches IP (a few tries: ARP may be resolving)
pings() {
	local i
	for i in 1 2 3; do
		ip netns exec "$1" ping -q -c1 -W1 "$2" >/dev/null 2>&1 && return 0
	done
	return 1
}
# no_pings NS IP: succeeds when three pings from NS to IP all go unanswered
no_pings() { ! ip netns exec "$1" ping -q -c3 -i0.2 -W1 "$2" >/dev/null 2>&1; }

setup() {
	local ns
	for ns in $N $A $B; do mk_netns "$ns" || return 1; done
	ip -n "$N" link add br0 type bridge &&
		ip -n "$N" addr add 10.80.0.1/24 dev br0 &&
		ip -n "$N" link set br0 up || return 1
	for ns in A:2 B:3; do
		local pod=${ns%:*} net
		net=${!pod}
		ip -n "$N" link add "v$pod" type veth peer name eth0 netns "$net" &&
			ip -n "$N" link set "v$pod" master br0 up &&
			ip -n "$net" addr add "10.80.0.${ns#*:}/24" dev eth0 &&
			ip -n "$net" link set eth0 up || return 1
	done
}

if ! setup; then
	fail "setup" "could not build the namespaces"
	exit 0
fi
MAC_A=$(mac_of "$A")
MAC_B=$(mac_of "$B")

# --- Before anything: traffic flows, there is no table, DEL and GC have nothing to do
check "before-a-to-b" pings "$A" 10.80.0.3
check "del-no-table" nt sc-del "$NA" pod-a eth0
check_eq "gc-no-table" "removed 0" "$(nt sc-gc "$NA" 2>&1)"
check_fail "check-no-table" nt sc-check "$NA" pod-a eth0 vA "$MAC_A"
check_eq "no-table-yet" 0 "$(sluice_nft_tables "$N")"

# --- Bad input never reaches the kernel
check_fail "refuse-multicast-mac" nt sc-add "$NA" pod-a eth0 vA 01:00:5e:00:00:01
check_fail "refuse-zero-mac" nt sc-add "$NA" pod-a eth0 vA 00:00:00:00:00:00
check_fail "refuse-long-port" nt sc-add "$NA" pod-a eth0 veth0123456789ab "$MAC_A"
check_fail "refuse-slash-cid" nt sc-add "$NA" pod/a eth0 vA "$MAC_A"
check_fail "refuse-key-like-cid" nt sc-add "$NA" "~$(printf 'c%.0s' $(seq 1 64))" eth0 vA "$MAC_A"
check "accept-64-char-cid" nt sc-add "$NA" "$(printf 'c%.0s' $(seq 1 64))" eth0 vlong 02:00:00:00:00:64
check "del-64-char-cid" nt sc-del "$NA" "$(printf 'c%.0s' $(seq 1 64))"
# an ID the comment cannot hold whole goes in as its key, and DEL finds it by that
check "accept-255-char-cid" nt sc-add "$NA" "$(printf 'c%.0s' $(seq 1 255))" eth0 vlong 02:00:00:00:00:ff
check_eq "255-char-cid-keyed" 2 "$(nftn list table bridge sluice_spoofchk |
	grep -c "comment \"~$(printf 'c%.0s' $(seq 1 255) | sha256sum | cut -c1-64)/eth0/")"
check "del-255-char-cid" nt sc-del "$NA" "$(printf 'c%.0s' $(seq 1 255))"
check_eq "refused-left-nothing" "0 0" "$(counts)"

# --- 32 concurrent ADDs from separate processes, on a table that is gone again
check "drop-before-race" nt sc-drop
pids=()
for i in $(seq 1 32); do
	nt sc-add "$NA" "cid-$i" eth0 "vx$i" "$(printf '02:00:00:00:01:%02x' "$i")" \
		2>"$T_TMP/add-$i.err" &
	pids+=($!)
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
if [ "$failed" -eq 0 ]; then
	pass "concurrent-adds-succeed"
else
	fail "concurrent-adds-succeed" "$failed of 32 failed" "$(cat "$T_TMP"/add-*.err)"
fi
check_eq "one-table" "1" "$(nftn list tables | grep -c sluice_spoofchk)"
check_eq "one-chain-two-rules" "rules 2,chain prerouting" "$(nt sc-rules | paste -sd,)"
check_eq "32-elements" "32 32" "$(counts)"
bad=0
for i in $(seq 1 32); do
	nt sc-check "$NA" "cid-$i" eth0 "vx$i" "$(printf '02:00:00:00:01:%02x' "$i")" ||
		bad=$((bad + 1))
done
check_eq "32-checks" "0" "$bad"
chain=$(nftn list chain bridge sluice_spoofchk prerouting)
check "hook-prerouting" grep -q 'type filter hook prerouting priority dstnat; policy accept;' <<<"$chain"
check "rule-allowed" grep -q 'iifname . ether saddr @allowed return' <<<"$chain"
check "rule-ports" grep -q 'iifname @ports counter packets 0 bytes 0 drop' <<<"$chain"

# --- A's and B's ports under check with their real MACs: traffic still flows
check "add-a" nt sc-add "$NA" pod-a eth0 vA "$MAC_A"
check "add-b" nt sc-add "$NA" pod-b eth0 vB "$MAC_B"
check "check-a" nt sc-check "$NA" pod-a eth0 vA "$MAC_A"
check "check-b" nt sc-check "$NA" pod-b eth0 vB "$MAC_B"
check "listed" grep -q "\"vA\" . $MAC_A comment \"$(nt owner "$NA" pod-a eth0)\"" \
	<<<"$(nftn list set bridge sluice_spoofchk allowed)"
check_fail "check-wrong-mac" nt sc-check "$NA" pod-a eth0 vA "$SPOOF"
check_fail "check-wrong-port" nt sc-check "$NA" pod-a eth0 vB "$MAC_A"
check_fail "check-other-network" nt sc-check "$NB" pod-a eth0 vA "$MAC_A"
check "checked-a-to-b" pings "$A" 10.80.0.3
check "checked-b-to-a" pings "$B" 10.80.0.2
check "checked-b-to-node" pings "$B" 10.80.0.1

# --- A takes another MAC: its frames are dropped at the bridge, B is unaffected
ip -n "$A" link set dev eth0 address "$SPOOF"
ip -n "$A" neigh flush all
check "spoofed-a-to-b-dropped" no_pings "$A" 10.80.0.3
check "spoofed-a-to-node-dropped" no_pings "$A" 10.80.0.1
check "spoofed-b-to-node" pings "$B" 10.80.0.1
check "drops-counted" grep -qE 'iifname @ports counter packets [1-9]' \
	<<<"$(nftn list chain bridge sluice_spoofchk prerouting)"

# --- DEL lifts the check: the spoofed MAC passes; DEL again is a no-op
check "del-a" nt sc-del "$NA" pod-a eth0
check "del-a-again" nt sc-del "$NA" pod-a eth0
check_fail "check-after-del" nt sc-check "$NA" pod-a eth0 vA "$MAC_A"
check "check-b-after-del-a" nt sc-check "$NA" pod-b eth0 vB "$MAC_B"
check "after-del-a-to-b" pings "$A" 10.80.0.3

# --- A re-ADD replaces every MAC the port allowed, in one batch: never two at once
check "readd-old-mac" nt sc-add "$NA" pod-a eth0 vA "$MAC_A"
check "readd-old-mac-drops" no_pings "$A" 10.80.0.3
check "readd-new-mac" nt sc-add "$NA" pod-a eth0 vA "$SPOOF"
check_eq "readd-one-mac" "1" "$(nftn list set bridge sluice_spoofchk allowed | grep -c '"vA" \.')"
check "readd-new-mac-passes" pings "$A" 10.80.0.3
check "readd-check-new" nt sc-check "$NA" pod-a eth0 vA "$SPOOF"
check_fail "readd-check-old" nt sc-check "$NA" pod-a eth0 vA "$MAC_A"
# a port left by another owner (a lost DEL) is taken over the same way
check "takeover" nt sc-add "$NA" pod-a2 eth0 vA "$SPOOF"
check_fail "takeover-old-owner" nt sc-check "$NA" pod-a eth0 vA "$SPOOF"
check "takeover-new-owner" nt sc-check "$NA" pod-a2 eth0 vA "$SPOOF"
check "takeover-back" nt sc-add "$NA" pod-a eth0 vA "$SPOOF"
check_eq "takeover-counts" "34 34" "$(counts)"
# an extra MAC of the same owner (not something spoofchk_add makes) fails CHECK
nftn add element bridge sluice_spoofchk allowed "{ \"vA\" . $MAC_A comment \"$(nt owner "$NA" pod-a eth0)\" }"
check_fail "check-extra-mac" nt sc-check "$NA" pod-a eth0 vA "$SPOOF"
out=$(nt sc-check "$NA" pod-a eth0 vA "$SPOOF" 2>&1)
check "check-extra-named" grep -q "spoofchk: unexpected element vA . $MAC_A in set allowed" <<<"$out"
check "extra-cleared-by-readd" nt sc-add "$NA" pod-a eth0 vA "$SPOOF"
check "extra-cleared" nt sc-check "$NA" pod-a eth0 vA "$SPOOF"

# --- Network B shares the table, with a cid/ifname that is also a valid one of A's
check "netb-add-1" nt sc-add "$NB" cid-1 eth0 vy1 02:00:00:00:02:01
check "netb-add-2" nt sc-add "$NB" cid-b2 eth0 vy2 02:00:00:00:02:02
check_eq "netb-counts" "36 36" "$(counts)"
valid=(pod-a/eth0 pod-b/eth0)
for i in $(seq 1 16); do valid+=("cid-$i/eth0"); done
check_eq "gc-a" "removed 32" "$(nt sc-gc "$NA" "${valid[@]}")"
check_eq "gc-a-counts" "20 20" "$(counts)"
check_fail "gc-a-removed-17" nt sc-check "$NA" cid-17 eth0 vx17 02:00:00:00:01:11
check "gc-a-kept-16" nt sc-check "$NA" cid-16 eth0 vx16 02:00:00:00:01:10
check "gc-a-left-b1" nt sc-check "$NB" cid-1 eth0 vy1 02:00:00:00:02:01
check "gc-a-left-b2" nt sc-check "$NB" cid-b2 eth0 vy2 02:00:00:00:02:02
check "gc-a-kept-pods" pings "$B" 10.80.0.2
check "del-a-leaves-b" nt sc-del "$NA" cid-b2
check "del-a-left-b2" nt sc-check "$NB" cid-b2 eth0 vy2 02:00:00:00:02:02
check "del-b-1" nt sc-del "$NB" cid-1 eth0
check "del-b-left-a-1" nt sc-check "$NA" cid-1 eth0 vx1 02:00:00:00:01:01
check_eq "gc-b" "removed 2" "$(nt sc-gc "$NB")"
check_eq "gc-b-counts" "18 18" "$(counts)"

# --- GC in A's network with B's pod no longer valid: B's port is no longer checked
check_eq "gc-pod-b" "removed 2" "$(nt sc-gc "$NA" "${valid[@]:0:1}" "${valid[@]:2}")"
check_fail "gc-pod-b-gone" nt sc-check "$NA" pod-b eth0 vB "$MAC_B"
check "gc-pod-a-kept" nt sc-check "$NA" pod-a eth0 vA "$SPOOF"

# --- Nothing of ours is left
check "del-pod-a" nt sc-del "$NA" pod-a
check_eq "gc-all" "removed 32" "$(nt sc-gc "$NA")"
check_eq "gc-all-empty" "0 0" "$(counts)"
check "end-a-to-b" pings "$A" 10.80.0.3
check "drop-table" nt sc-drop
check "drop-table-again" nt sc-drop
check_eq "no-sluice-tables" 0 "$(sluice_nft_tables "$N")"
check "del-after-drop" nt sc-del "$NA" pod-b eth0
