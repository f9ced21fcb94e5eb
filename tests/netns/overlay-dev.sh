#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The overlay's VXLAN device (common/overlay/vxdev) and masquerade table (common/overlay/omasq)
# through tests/tools/vxdevtool, on a "node" netns whose eth0 reaches an "outside" netns.
# Device: created as flanneld makes it (read back with ip -d -j: VNI, port 8472, local, dev,
# nolearning, MTU, MAC, the lease's network address /32 and no route for it); a second
# ensure changes nothing; MTU, MAC and state changed by hand are repaired and named; VNI,
# local, port or kind differing recreate it; concurrent ensures all succeed; check() names
# the difference; a changed lease swaps the address; the IPv6 device (MTU capped by the
# kernel, accept_ra 0). Masquerade: concurrent creation, real traffic (pod -> outside
# masqueraded to the node; pod -> another node's pod kept; outside -> this node's pod kept;
# outside -> another node's pod masqueraded), IPv6 too; a new lease is an element change
# that traffic follows; a tampered chain is rebuilt; del.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

VXT=${TOOLS:-build/tests/tools}/vxdevtool
if [ ! -x "$VXT" ]; then
	fail "vxdevtool-built" "missing $VXT (make tools)"
	exit 0
fi

N=ovd-node-$$ # the node
O=ovd-out-$$  # outside the cluster, on the underlay
P=ovd-pod-$$  # a pod of this node (10.244.1.0/24)
R=ovd-rem-$$  # a pod of another node (10.244.2.0/24), reached through the node
MAC=0e:5c:00:00:00:01
MAC6=0e:5c:00:00:00:02
DEV4=(vni=1 underlay=eth0 local=192.168.100.1 mac=$MAC mtu=1450 subnet=10.244.1.0/24)
DEV6=(family=6 vni=1 underlay=eth0 local=fd00:100::1 mac=$MAC6 mtu=1450 subnet=fd00:10:0:1::/64)
NETS=(network=10.244.0.0/16 subnet=10.244.1.0/24 network6=fd00:10::/48 subnet6=fd00:10:0:1::/64)

vx() { ip netns exec "$N" "$VXT" "$@"; }
nodeip() { ip -n "$N" "$@"; }
# link JQ: a jq filter over `ip -d -j link show sluice.1` (the device's JSON object)
link() { nodeip -d -j link show "${DEV:-sluice.1}" | jq -r ".[0] | $1"; }
# global addresses of the device, "addr/len" joined by commas
addrs() { nodeip -j addr show dev "${DEV:-sluice.1}" scope global | jq -r '[.[0].addr_info[] | select(.local) | "\(.local)/\(.prefixlen)"] | join(",")'; }

setup() {
	local ns
	for ns in $N $O $P $R; do mk_netns "$ns" || return 1; done
	ip -n "$N" link add eth0 type veth peer name eth0 netns "$O" &&
		nodeip addr add 192.168.100.1/24 dev eth0 &&
		nodeip addr add fd00:100::1/64 dev eth0 nodad &&
		nodeip link set eth0 up &&
		ip -n "$O" addr add 192.168.100.254/24 dev eth0 &&
		ip -n "$O" addr add fd00:100::fe/64 dev eth0 nodad &&
		ip -n "$O" link set eth0 up || return 1
	# the outside routes the cluster network to the node: an unmasqueraded source is seen
	# as itself, not lost
	ip -n "$O" route add 10.244.0.0/16 via 192.168.100.1 &&
		ip -n "$O" -6 route add fd00:10::/48 via fd00:100::1 || return 1
	# this node's pod on a bridge
	nodeip link add br0 type bridge &&
		nodeip addr add 10.244.1.1/24 dev br0 &&
		nodeip addr add fd00:10:0:1::1/64 dev br0 nodad &&
		nodeip link set br0 up &&
		nodeip link add vpod type veth peer name eth0 netns "$P" &&
		nodeip link set vpod master br0 up &&
		ip -n "$P" addr add 10.244.1.2/24 dev eth0 &&
		ip -n "$P" addr add fd00:10:0:1::2/64 dev eth0 nodad &&
		ip -n "$P" link set eth0 up &&
		ip -n "$P" route add default via 10.244.1.1 &&
		ip -n "$P" -6 route add default via fd00:10:0:1::1 || return 1
	# another node's pod: a plain veth stands for the overlay's route to it
	nodeip link add vrem type veth peer name eth0 netns "$R" &&
		nodeip addr add 10.244.2.1/24 dev vrem &&
		nodeip addr add fd00:10:0:2::1/64 dev vrem nodad &&
		nodeip link set vrem up &&
		ip -n "$R" addr add 10.244.2.5/24 dev eth0 &&
		ip -n "$R" addr add fd00:10:0:2::5/64 dev eth0 nodad &&
		ip -n "$R" link set eth0 up &&
		ip -n "$R" route add default via 10.244.2.1 &&
		ip -n "$R" -6 route add default via fd00:10:0:2::1 || return 1
	ip netns exec "$N" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
}

if ! setup; then
	fail "setup" "could not build the namespaces"
	exit 0
fi

# ===== The IPv4 device =====================================================================
out=$(vx dev-check "${DEV4[@]}" 2>&1)
check_eq "check-missing" "103 overlay device sluice.1 is missing" "$out"
check_eq "create" "changed=1 what=created, address 10.244.1.0/32, up" \
	"$(vx dev-ensure "${DEV4[@]}" | sed 's/ ifindex=[0-9]*//')"
check_eq "readback-vxlan" "1 8472 192.168.100.1 eth0 false" \
	"$(link '.linkinfo.info_data | "\(.id) \(.port) \(.local) \(.link) \(.learning)"')"
check_eq "readback-link" "1450 $MAC true" "$(link '"\(.mtu) \(.address) \(.flags | index("UP") != null)"')"
check_eq "readback-no-remote" "null null" "$(link '.linkinfo.info_data | "\(.group) \(.remote)"')"
check_eq "address-32" "10.244.1.0/32" "$(addrs)"
check_eq "address-noprefixroute" "true" \
	"$(nodeip -j addr show dev sluice.1 scope global | jq -r '.[0].addr_info[0].noprefixroute')"
check_eq "no-route-added" "" "$(nodeip -4 route show dev sluice.1)"
check "check-ok" vx dev-check "${DEV4[@]}"
check_eq "ensure-again-nothing" "changed=0 what=" \
	"$(vx dev-ensure "${DEV4[@]}" | sed 's/ ifindex=[0-9]*//')"

# --- Changed by hand: repaired in place (same ifindex) and named
idx=$(link .ifindex)
nodeip link set sluice.1 down && nodeip link set sluice.1 mtu 1400 &&
	nodeip link set sluice.1 address 0e:5c:00:00:00:99
check_eq "check-names-mtu" "103 overlay device sluice.1: mtu 1400, not 1450" \
	"$(vx dev-check "${DEV4[@]}" 2>&1)"
nodeip link set sluice.1 mtu 1450
check_eq "check-names-mac" "103 overlay device sluice.1: mac 0e:5c:00:00:00:99, not $MAC" \
	"$(vx dev-check "${DEV4[@]}" 2>&1)"
nodeip link set sluice.1 mtu 1400
check_eq "repair" "changed=1 ifindex=$idx what=mtu 1450, mac $MAC, up" "$(vx dev-ensure "${DEV4[@]}")"
check_eq "repaired" "1450 $MAC true" "$(link '"\(.mtu) \(.address) \(.flags | index("UP") != null)"')"
nodeip link set sluice.1 down
check_eq "check-names-down" "103 overlay device sluice.1: down" "$(vx dev-check "${DEV4[@]}" 2>&1)"
check_eq "repair-up" "changed=1 ifindex=$idx what=up" "$(vx dev-ensure "${DEV4[@]}")"
nodeip addr add 10.244.1.77/24 dev sluice.1
check_eq "check-names-stray-address" "103 overlay device sluice.1: unexpected address 10.244.1.77/24" \
	"$(vx dev-check "${DEV4[@]}" 2>&1)"
check_eq "repair-address" "changed=1 ifindex=$idx what=removed 10.244.1.77/24" "$(vx dev-ensure "${DEV4[@]}")"
check_eq "repaired-address" "10.244.1.0/32" "$(addrs)"

# --- A new lease: the old address goes, the new one comes; the device stays
check_eq "new-lease" "changed=1 ifindex=$idx what=removed 10.244.1.0/32, address 10.244.7.0/32" \
	"$(vx dev-ensure "${DEV4[@]/subnet=10.244.1.0\/24/subnet=10.244.7.0/24}")"
check_eq "new-lease-address" "10.244.7.0/32" "$(addrs)"
check_eq "check-names-address" "103 overlay device sluice.1: address 10.244.1.0/32 missing" \
	"$(vx dev-check "${DEV4[@]}" 2>&1)"
check_eq "old-lease-back" "changed=1 ifindex=$idx what=removed 10.244.7.0/32, address 10.244.1.0/32" \
	"$(vx dev-ensure "${DEV4[@]}")"

# --- Incompatible: recreated, as flanneld's vxlanLinksIncompat decides
recreate_case() { # NAME EXPECTED-DIFFERENCE IP-LINK-ADD-ARGS...
	local name=$1 diff=$2
	shift 2
	nodeip link del sluice.1 2>/dev/null
	nodeip link add sluice.1 "$@" || {
		fail "$name-setup" "ip link add sluice.1 $*"
		return
	}
	check_eq "$name-check" "103 overlay device sluice.1: $diff" "$(vx dev-check "${DEV4[@]}" 2>&1)"
	check_eq "$name-recreate" "changed=1 what=recreated ($diff), address 10.244.1.0/32, up" \
		"$(vx dev-ensure "${DEV4[@]}" | sed 's/ ifindex=[0-9]*//')"
	check "$name-then-ok" vx dev-check "${DEV4[@]}"
}
recreate_case vni "vni 2, not 1" type vxlan id 2 dstport 8472 local 192.168.100.1 dev eth0 nolearning
recreate_case local "local 192.168.100.9, not 192.168.100.1" \
	type vxlan id 1 dstport 8472 local 192.168.100.9 dev eth0 nolearning
recreate_case port "port 4789, not 8472" type vxlan id 1 dstport 4789 local 192.168.100.1 dev eth0 nolearning
recreate_case learning "learning on, not off" type vxlan id 1 dstport 8472 local 192.168.100.1 dev eth0
recreate_case kind 'not a VXLAN device (kind "bridge")' type bridge
check_eq "recreated-readback" "1 8472 192.168.100.1 eth0 false 1450 $MAC" \
	"$(link '"\(.linkinfo.info_data | "\(.id) \(.port) \(.local) \(.link) \(.learning)") \(.mtu) \(.address)"')"

# --- Concurrent ensures on a missing device: all succeed, one creates, one device. Four
# rounds of eight, released at one instant (start=) after their sockets are open: without
# the EEXIST handling about one in eight fails.
failed=0 created=0 bad=0
for round in 1 2 3 4; do
	nodeip link del sluice.1 2>/dev/null
	st=$(($(date +%s%N) + 300000000))
	pids=()
	for i in 1 2 3 4 5 6 7 8; do
		vx dev-ensure start=$st "${DEV4[@]}" >"$T_TMP/ens-$i.out" 2>&1 &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
	[ "$failed" -eq 0 ] || cat "$T_TMP"/ens-*.out
	created=$((created + $(grep -l 'what=created' "$T_TMP"/ens-*.out | wc -l)))
	vx dev-check "${DEV4[@]}" || bad=$((bad + 1))
done
check_eq "concurrent-all-succeed" "0" "$failed"
check_eq "concurrent-one-created-per-round" "4" "$created"
check_eq "concurrent-result-ok" "0" "$bad"
check_eq "concurrent-one-device" "1" "$(nodeip -j link show type vxlan | jq length)"

# --- Errors name what is wrong
check_eq "underlay-missing" "7 overlay device sluice.1: underlay interface nope0 not found" \
	"$(vx dev-ensure "${DEV4[@]/underlay=eth0/underlay=nope0}" 2>&1)"
nodeip link add other.5 type vxlan id 5 dstport 8472 local 192.168.100.1 dev eth0
out=$(vx dev-ensure "${DEV4[@]/vni=1/vni=5}" 2>&1)
check "vni-taken-by-another" grep -q "^100 create sluice.5: File exists: A VXLAN device with the specified VNI already exists" <<<"$out"
check_eq "vni-taken-nothing-made" "0" "$(link_exists sluice.5 "$N")"
nodeip link del other.5
check_eq "bad-local-family" "7 overlay device sluice.1: local address fd00::1 is not of its family" \
	"$(vx dev-ensure "${DEV4[@]/local=192.168.100.1/local=fd00::1}" 2>&1)"

# ===== The IPv6 device =====================================================================
DEV=sluice-v6.1
check_eq "v6-create" "changed=1 what=created, accept_ra 0, address fd00:10:0:1::/128, up" \
	"$(vx dev-ensure "${DEV6[@]}" | sed 's/ ifindex=[0-9]*//')"
check_eq "v6-readback" "1 8472 fd00:100::1 eth0 false" \
	"$(link '.linkinfo.info_data | "\(.id) \(.port) \(.local6) \(.link) \(.learning)"')"
# the kernel caps a VXLAN device over IPv6 at the underlay's MTU - 70 (flanneld asks -50)
check_eq "v6-mtu-mac" "1430 $MAC6" "$(link '"\(.mtu) \(.address)"')"
check_eq "v6-address-128" "fd00:10:0:1::/128" "$(addrs)"
check_eq "v6-accept-ra" "0" "$(ip netns exec "$N" cat /proc/sys/net/ipv6/conf/sluice-v6.1/accept_ra)"
check_eq "v6-no-route-added" "" "$(nodeip -6 route show dev sluice-v6.1 | grep -v '^fe80::/64')"
check_eq "v6-again-nothing" "changed=0 what=" "$(vx dev-ensure "${DEV6[@]}" | sed 's/ ifindex=[0-9]*//')"
check "v6-check-ok" vx dev-check "${DEV6[@]}"
ip netns exec "$N" sh -c "echo 1 >/proc/sys/net/ipv6/conf/sluice-v6.1/accept_ra"
check_eq "v6-check-names-accept-ra" "103 overlay device sluice-v6.1: accept_ra 1, not 0" \
	"$(vx dev-check "${DEV6[@]}" 2>&1)"
check_eq "v6-repair-accept-ra" "changed=1 what=accept_ra 0" \
	"$(vx dev-ensure "${DEV6[@]}" | sed 's/ ifindex=[0-9]*//')"
check_eq "v4-untouched" "1450 10.244.1.0/32" "$(DEV=sluice.1 link .mtu) $(DEV=sluice.1 addrs)"
unset DEV

check_eq "del" "changed=1" "$(vx dev-del family=6 vni=1)"
check_eq "del-again" "changed=0" "$(vx dev-del family=6 vni=1)"
check_eq "del-gone" "0" "$(link_exists sluice-v6.1 "$N")"

# ===== The masquerade table ================================================================
serve() { # NS: echo servers printing the peer address, v4 on 7777, v6 on 7778
	# shellcheck disable=SC2016 # the server's shell expands it
	echo_server "$1" TCP4 7777 '$SOCAT_PEERADDR' && echo_server "$1" TCP6 7778 '$SOCAT_PEERADDR'
}
# seen FROM DST PORT: the source address the server at DST saw for a connection from FROM
seen() {
	local out i a=$2
	[[ $a == *:* ]] && a="[$a]"
	for i in 1 2 3 4 5; do
		out=$(ip netns exec "$1" socat -T3 -t3 - "TCP:$a:$3,connect-timeout=3" </dev/null 2>/dev/null) &&
			[ -n "$out" ] && break
		sleep 0.2
	done
	echo "$out"
}
for ns in $O $P $R; do serve "$ns"; done
for ns in $O $P $R; do
	listening "$ns" tcp 7777 && listening "$ns" tcp 7778 || fail "servers-$ns" "not listening"
done
V6() { python3 -c "import ipaddress,sys; print('[' + ipaddress.ip_address(sys.argv[1]).exploded + ']')" "$1"; }

check_eq "before-pod-out-kept" "10.244.1.2" "$(seen "$P" 192.168.100.254 7777)"

# --- Concurrent creation: one table, one chain of 8 rules (released at one instant, as above;
# deleted between rounds)
failed=0
for round in 1 2 3; do
	ip netns exec "$N" nft delete table inet sluice_overlay 2>/dev/null
	st=$(($(date +%s%N) + 300000000))
	pids=()
	for i in 1 2 3 4 5 6; do
		vx masq-ensure start=$st "${NETS[@]}" >"$T_TMP/masq-$i.out" 2>&1 &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
	[ "$failed" -eq 0 ] || cat "$T_TMP"/masq-*.out
done
check_eq "masq-concurrent-all-succeed" "0" "$failed"
check_eq "masq-one-table" "1" "$(sluice_nft_tables "$N")"
check_eq "masq-8-rules" "8" "$(ip netns exec "$N" nft -j list chain inet sluice_overlay postrouting | jq '[.nftables[] | select(.rule)] | length')"
check_eq "masq-fully-random" "4" "$(ip netns exec "$N" nft list chain inet sluice_overlay postrouting | grep -c 'masquerade fully-random')"
check "masq-check-ok" vx masq-check "${NETS[@]}"
check_eq "masq-again-nothing" "changed=0" "$(vx masq-ensure "${NETS[@]}")"
check_eq "masq-sets" "10.244.0.0/16 10.244.1.0/24 fd00:10::/48 fd00:10:0:1::/64" \
	"$(for s in net4 subnet4 net6 subnet6; do ip netns exec "$N" nft -j list set inet sluice_overlay $s |
		jq -r '.nftables[] | select(.set) | .set.elem[0].prefix | "\(.addr)/\(.len)"'; done | paste -sd' ')"

# --- Real traffic
check_eq "pod-to-outside-masqueraded" "192.168.100.1" "$(seen "$P" 192.168.100.254 7777)"
check_eq "pod-to-pod-kept" "10.244.1.2" "$(seen "$P" 10.244.2.5 7777)"
check_eq "outside-to-this-node-pod-kept" "192.168.100.254" "$(seen "$O" 10.244.1.2 7777)"
check_eq "outside-to-other-node-pod-masqueraded" "10.244.2.1" "$(seen "$O" 10.244.2.5 7777)"
check_eq "v6-pod-to-outside-masqueraded" "$(V6 fd00:100::1)" "$(seen "$P" fd00:100::fe 7778)"
check_eq "v6-pod-to-pod-kept" "$(V6 fd00:10:0:1::2)" "$(seen "$P" fd00:10:0:2::5 7778)"
check_eq "v6-outside-to-this-node-pod-kept" "$(V6 fd00:100::fe)" "$(seen "$O" fd00:10:0:1::2 7778)"

# --- A new lease: the element changes, in one batch, and traffic follows it
NEW=("${NETS[@]/subnet=10.244.1.0\/24/subnet=10.244.3.0/24}")
out=$(vx masq-check "${NEW[@]}" 2>&1)
check_eq "masq-check-names-subnet" "103 table inet sluice_overlay: set subnet4 (node subnet) holds 10.244.1.0/24, not 10.244.3.0/24" "$out"
check_eq "masq-new-lease" "changed=1" "$(vx masq-ensure "${NEW[@]}")"
check "masq-new-lease-check" vx masq-check "${NEW[@]}"
check_eq "masq-new-lease-same-rules" "8" "$(ip netns exec "$N" nft -j list chain inet sluice_overlay postrouting | jq '[.nftables[] | select(.rule)] | length')"
# 10.244.1.2 is now "another node's pod": from outside, masqueraded to the node's bridge address
check_eq "new-lease-outside-to-old-subnet-masqueraded" "10.244.1.1" "$(seen "$O" 10.244.1.2 7777)"
check_eq "masq-lease-back" "changed=1" "$(vx masq-ensure "${NETS[@]}")"
check_eq "lease-back-outside-to-pod-kept" "192.168.100.254" "$(seen "$O" 10.244.1.2 7777)"
out=$(vx masq-check "${NETS[@]/network=10.244.0.0\/16/network=10.244.0.0/15}" 2>&1)
check_eq "masq-check-names-network" "103 table inet sluice_overlay: set net4 (cluster network) holds 10.244.0.0/16, not 10.244.0.0/15" "$out"

# --- Tampered with: the chain rebuilt
ip netns exec "$N" nft flush chain inet sluice_overlay postrouting
check_eq "masq-check-names-rules" "103 table inet sluice_overlay: chain postrouting has 0 rules, not 8" \
	"$(vx masq-check "${NETS[@]}" 2>&1)"
check_eq "masq-rebuilt" "changed=1" "$(vx masq-ensure "${NETS[@]}")"
check "masq-rebuilt-check" vx masq-check "${NETS[@]}"
check_eq "rebuilt-pod-to-outside-masqueraded" "192.168.100.1" "$(seen "$P" 192.168.100.254 7777)"

# --- IPv4 only: the IPv6 sets empty, IPv6 left alone
check_eq "masq-v4-only" "changed=1" "$(vx masq-ensure network=10.244.0.0/16 subnet=10.244.1.0/24)"
check "masq-v4-only-check" vx masq-check network=10.244.0.0/16 subnet=10.244.1.0/24
check_eq "v4-only-v6-pod-to-outside-kept" "$(V6 fd00:10:0:1::2)" "$(seen "$P" fd00:100::fe 7778)"

# --- Deleted
check_eq "masq-del" "changed=1" "$(vx masq-del)"
check_eq "masq-del-again" "changed=0" "$(vx masq-del)"
check_eq "masq-gone" "0" "$(sluice_nft_tables "$N")"
check_eq "masq-check-missing" "103 table inet sluice_overlay is missing" "$(vx masq-check "${NETS[@]}" 2>&1)"
check_eq "after-del-pod-out-kept" "10.244.1.2" "$(seen "$P" 192.168.100.254 7777)"
