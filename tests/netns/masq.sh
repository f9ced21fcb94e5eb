#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# ipMasq as nftables set elements (common/node/masq through tests/tools/nfttool), with real traffic:
# a "node" netns routes a "pod" netns (bridge) to an "outside" netns and to a "peer" netns in
# the pod's own prefix. Echo servers print the source address they see. Proves: kernel errors
# reach the caller named; 64 concurrent ADDs make one table, one set of rules, 64 elements;
# pod->outside is masqueraded to the node, pod->own prefix is not, and neither after DEL; DEL
# by container ID alone and GC remove exactly their elements; networks sharing the table own
# their elements apart (DEL and GC of one leave the other's alone); a foreign table is
# untouched; thousands of elements in one batch, all-or-nothing; nothing of sluice is left.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

NFTTOOL=${TOOLS:-build/tests/tools}/nfttool
if [ ! -x "$NFTTOOL" ]; then
	fail "nfttool-built" "missing $NFTTOOL (make tools)"
	exit 0
fi

N=msq-node-$$
P=msq-pod-$$
O=msq-out-$$
R=msq-peer-$$
NA="net-a" # the network of most attachments below
NB="net-b" # another network sharing the table

nt() { ip netns exec "$N" "$NFTTOOL" "$@"; }
nftn() { ip netns exec "$N" nft "$@"; }
nelems() { nt elems "$1" | wc -l; }

# fnv32: FNV-1a 64 of stdin (ASCII), both halves xor-folded: an owner's network part
fnv32() {
	local s h=$((0xcbf29ce484222325)) c i
	s=$(cat)
	for ((i = 0; i < ${#s}; i++)); do
		printf -v c '%d' "'${s:i:1}"
		h=$(((h ^ c) * 0x100000001b3))
	done
	printf '%08x\n' $(((h ^ (h >> 32)) & 0xffffffff))
}

setup() {
	local ns
	for ns in $N $P $O $R; do mk_netns "$ns" || return 1; done
	ip -n "$N" link add br0 type bridge &&
		ip -n "$N" addr add 10.50.0.1/24 dev br0 &&
		ip -n "$N" addr add fd50::1/64 dev br0 nodad &&
		ip -n "$N" link set br0 up &&
		ip -n "$N" link add vpod type veth peer name eth0 netns "$P" &&
		ip -n "$N" link set vpod master br0 up &&
		ip -n "$P" addr add 10.50.0.2/24 dev eth0 &&
		ip -n "$P" addr add fd50::2/64 dev eth0 nodad &&
		ip -n "$P" link set eth0 up &&
		ip -n "$P" route add default via 10.50.0.1 &&
		ip -n "$P" -6 route add default via fd50::1 || return 1
	# outside: another subnet; it routes the pod network back, so an unmasqueraded source
	# is seen as itself rather than lost
	ip -n "$N" link add vout type veth peer name eth0 netns "$O" &&
		ip -n "$N" addr add 192.168.77.1/24 dev vout &&
		ip -n "$N" addr add fd77::1/64 dev vout nodad &&
		ip -n "$N" link set vout up &&
		ip -n "$O" addr add 192.168.77.2/24 dev eth0 &&
		ip -n "$O" addr add fd77::2/64 dev eth0 nodad &&
		ip -n "$O" link set eth0 up &&
		ip -n "$O" route add 10.50.0.0/16 via 192.168.77.1 &&
		ip -n "$O" -6 route add fd50::/16 via fd77::1 || return 1
	# peer: routed through the node but inside the pod's prefix (10.50.0.0/16, fd50::/16)
	ip -n "$N" link add vpeer type veth peer name eth0 netns "$R" &&
		ip -n "$N" addr add 10.50.1.1/24 dev vpeer &&
		ip -n "$N" addr add fd50:1::1/64 dev vpeer nodad &&
		ip -n "$N" link set vpeer up &&
		ip -n "$R" addr add 10.50.1.9/24 dev eth0 &&
		ip -n "$R" addr add fd50:1::9/64 dev eth0 nodad &&
		ip -n "$R" link set eth0 up &&
		ip -n "$R" route add default via 10.50.1.1 &&
		ip -n "$R" -6 route add default via fd50:1::1 || return 1
	ip netns exec "$N" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
}

# serve NS: echo servers printing the peer address, v4 on 7777 and v6 on 7778 (echo_server in
# tests/lib.sh: killed at exit with their forked children)
serve() {
	# shellcheck disable=SC2016 # the server's shell expands it
	echo_server "$1" TCP4 7777 '$SOCAT_PEERADDR' && echo_server "$1" TCP6 7778 '$SOCAT_PEERADDR'
}

# seen DST PORT: the source address the server at DST saw for a connection from the pod
seen() {
	local i out
	for i in 1 2 3 4 5 6 7 8 9 10; do
		out=$(ip netns exec "$P" socat -T3 -t3 - "TCP:$1:$2" </dev/null 2>/dev/null) &&
			[ -n "$out" ] && break
		sleep 0.2
	done
	echo "$out"
}

if ! setup; then
	fail "setup" "could not build the namespaces"
	exit 0
fi
serve "$O"
serve "$R"

V6_POD='[fd50:0000:0000:0000:0000:0000:0000:0002]'
V6_NODE='[fd77:0000:0000:0000:0000:0000:0000:0001]'

# --- Kernel errors come back with the failing message and the attribute the kernel named
out=$(nt err-missing 2>&1)
check "extack-missing-table" grep -q "delete elements of set inet sluice_missing pods4: No such file or directory (message 1, attribute table)" <<<"$out"
check "del-no-table" nt del "$NA" some-cid
check_eq "gc-no-table" "removed 0" "$(nt gc "$NA" 2>&1)"
check_eq "no-table-yet" 0 "$(sluice_nft_tables "$N")"

# A table that is not ours: listed before, compared at the end
nftn add table inet other &&
	nftn add chain inet other filt '{ type filter hook forward priority 0; }' &&
	nftn add rule inet other filt counter accept
foreign=$(nftn -s list table inet other)

# --- 64 concurrent ADDs from separate processes, starting without the table
pids=()
for i in $(seq 1 64); do
	nt add "$NA" "cid-$i" eth0 "10.60.$i.2/24" "fd60:$i::2/64" 2>"$T_TMP/add-$i.err" &
	pids+=($!)
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
if [ "$failed" -eq 0 ]; then
	pass "concurrent-adds-succeed"
else
	fail "concurrent-adds-succeed" "$failed of 64 failed" "$(cat "$T_TMP"/add-*.err)"
fi
check_eq "one-table" "1" "$(nftn list tables | grep -c sluice_masq)"
check_eq "one-chain-six-rules" "rules 6,chain postrouting" "$(nt rules | paste -sd,)"
check_eq "socket-opened-in-netns" "rules 6,chain postrouting" "$("$NFTTOOL" -n "/run/netns/$N" rules | paste -sd,)"
check_eq "two-masquerade-rules" "2" "$(nftn list chain inet sluice_masq postrouting | grep -c masquerade)"
check_eq "multicast-excluded" "2" "$(nftn list chain inet sluice_masq postrouting | grep -cE 'ip daddr 224.0.0.0/4 return|ip6 daddr ff00::/8 return')"
check_eq "64-elements" "64 64 64 64" "$(nelems pods4) $(nelems pods6) $(nelems local4) $(nelems local6)"
bad=0
for i in $(seq 1 64); do
	nt check "$NA" "cid-$i" eth0 "10.60.$i.2/24" "fd60:$i::2/64" || bad=$((bad + 1))
done
check_eq "64-checks" "0" "$bad"
check_eq "owner-comment" "cid-64/eth0/$(printf %s "$NA" | fnv32)" "$(nt owner "$NA" cid-64 eth0)"
check "comments-listed" grep -q "comment \"$(nt owner "$NA" cid-64 eth0)\"" <<<"$(nftn list set inet sluice_masq pods6)"
check "interval-listed" grep -q "10.60.5.2 . 10.60.5.0/24 comment \"$(nt owner "$NA" cid-5 eth0)\"" <<<"$(nftn list set inet sluice_masq local4)"
check_fail "check-wrong-prefix" nt check "$NA" cid-3 eth0 10.60.3.2/25
out=$(nt err-invalid 2>&1)
check "extack-invalid-element" grep -q "add elements to set inet sluice_masq pods4: Invalid argument (message 1, attribute elements, #1" <<<"$out"

# --- DEL by container ID alone removes exactly that attachment's four elements
check "del-by-cid" nt del "$NA" cid-7
check_eq "del-removed-4" "63 63 63 63" "$(nelems pods4) $(nelems pods6) $(nelems local4) $(nelems local6)"
check_eq "del-no-cid-7-left" "0" "$(nftn list table inet sluice_masq | grep -c '"cid-7/')"
check_fail "check-after-del" nt check "$NA" cid-7 eth0 10.60.7.2/24 fd60:7::2/64
check "check-neighbour-intact" nt check "$NA" cid-8 eth0 10.60.8.2/24 fd60:8::2/64
check "del-again" nt del "$NA" cid-7
check "del-other-ifname" nt del "$NA" cid-8 eth1
check_eq "del-other-ifname-keeps" "63" "$(nelems pods4)"

# --- An address left by an attachment whose DEL never came is taken over by the new owner
check "stale-add" nt add "$NA" cid-12 eth0 10.60.13.2/24 fd60:13::2/64
check "stale-new-owner" nt check "$NA" cid-12 eth0 10.60.13.2/24 fd60:13::2/64
check_fail "stale-old-owner" nt check "$NA" cid-13 eth0 10.60.13.2/24 fd60:13::2/64
check "stale-old-del" nt del "$NA" cid-13
check "stale-new-kept" nt check "$NA" cid-12 eth0 10.60.13.2/24 fd60:13::2/64
check "stale-restore" nt add "$NA" cid-13 eth0 10.60.13.2/24 fd60:13::2/64
check_eq "stale-count" "63 63 63 63" "$(nelems pods4) $(nelems pods6) $(nelems local4) $(nelems local6)"

# --- GC: cid-11..64 are valid, so cid-1..10 (without 7) go: 9 attachments x 4 elements
valid=()
for i in $(seq 11 64); do valid+=("cid-$i/eth0"); done
check_eq "gc-removed" "removed 36" "$(nt gc "$NA" "${valid[@]}")"
check_eq "gc-left" "54 54 54 54" "$(nelems pods4) $(nelems pods6) $(nelems local4) $(nelems local6)"
check_fail "gc-removed-cid-1" nt check "$NA" cid-1 eth0 10.60.1.2/24 fd60:1::2/64
check "gc-kept-cid-11" nt check "$NA" cid-11 eth0 10.60.11.2/24 fd60:11::2/64

# --- Network B shares the table: one cid and ifname the same as a valid one of A's
check "netb-add-1" nt add "$NB" cid-b1 eth0 10.61.1.2/24
check "netb-add-2" nt add "$NB" cid-b2 eth0 10.61.2.2/24
check "netb-add-11" nt add "$NB" cid-11 eth0 10.61.11.2/24
check_eq "netb-added" "57 54 57 54" "$(nelems pods4) $(nelems pods6) $(nelems local4) $(nelems local6)"
check_fail "netb-not-in-neta" nt check "$NA" cid-b1 eth0 10.61.1.2/24
check_eq "gc-a-leaves-b" "removed 0" "$(nt gc "$NA" "${valid[@]}")"
check "gc-a-left-b1" nt check "$NB" cid-b1 eth0 10.61.1.2/24
check "gc-a-left-b2" nt check "$NB" cid-b2 eth0 10.61.2.2/24
check "del-a-leaves-b" nt del "$NA" cid-b1
check "del-a-left-b1" nt check "$NB" cid-b1 eth0 10.61.1.2/24
check "del-b-11" nt del "$NB" cid-11 eth0
check_fail "del-b-11-gone" nt check "$NB" cid-11 eth0 10.61.11.2/24
check "del-b-left-a-11" nt check "$NA" cid-11 eth0 10.60.11.2/24 fd60:11::2/64
check_eq "gc-b" "removed 2" "$(nt gc "$NB" cid-b1/eth0 cid-11/eth0)"
check_fail "gc-b-removed-b2" nt check "$NB" cid-b2 eth0 10.61.2.2/24
check "gc-b-kept-b1" nt check "$NB" cid-b1 eth0 10.61.1.2/24
check_eq "gc-b-left-a" "55 54 55 54" "$(nelems pods4) $(nelems pods6) $(nelems local4) $(nelems local6)"

# --- Real traffic from the pod
check_eq "before-add-v4-not-masqueraded" "10.50.0.2" "$(seen 192.168.77.2 7777)"
check "pod-add" nt add "$NA" pod-cid eth0 10.50.0.2/16 fd50::2/16
check "pod-check" nt check "$NA" pod-cid eth0 10.50.0.2/16 fd50::2/16
check_eq "outside-v4-masqueraded" "192.168.77.1" "$(seen 192.168.77.2 7777)"
check_eq "outside-v6-masqueraded" "$V6_NODE" "$(seen '[fd77::2]' 7778)"
check_eq "own-prefix-v4-not-masqueraded" "10.50.0.2" "$(seen 10.50.1.9 7777)"
check_eq "own-prefix-v6-not-masqueraded" "$V6_POD" "$(seen '[fd50:1::9]' 7778)"
check "masquerade-counted" grep -qE 'ip saddr @pods4 counter packets [1-9]' <<<"$(nftn list chain inet sluice_masq postrouting)"
check "pod-del-by-cid" nt del "$NA" pod-cid
check_fail "pod-check-after-del" nt check "$NA" pod-cid eth0 10.50.0.2/16 fd50::2/16
check_eq "after-del-v4-not-masqueraded" "10.50.0.2" "$(seen 192.168.77.2 7777)"
check_eq "after-del-v6-not-masqueraded" "$V6_POD" "$(seen '[fd77::2]' 7778)"

# --- Thousands of elements in one batch; one bad element rejects a whole batch
out=$(nt big 3000 2>&1)
check "big-batch" test $? -eq 0
check "big-batch-atomic" grep -q "^elements 3000$" <<<"$out"
check "big-batch-error-named" grep -q "message 1501, attribute elements" <<<"$out"

# --- Nothing of ours is left; what is not ours is unchanged
check_eq "gc-all" "removed 216" "$(nt gc "$NA")"
check "gc-all-left-b1" nt check "$NB" cid-b1 eth0 10.61.1.2/24
check_eq "gc-all-b" "removed 2" "$(nt gc "$NB")"
check_eq "gc-all-empty" "0 0 0 0" "$(nelems pods4) $(nelems pods6) $(nelems local4) $(nelems local6)"
check "drop-table" nt drop
check "drop-table-again" nt drop
check_eq "no-sluice-tables" 0 "$(sluice_nft_tables "$N")"
check_eq "foreign-table-untouched" "$foreign" "$(nftn -s list table inet other)"
check "del-after-drop" nt del "$NA" cid-11
