#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The VXLAN overlay across simulated nodes (tests/overlay-lib.sh: an underlay namespace with
# a bridge, each node a namespace of its own running sluiced, pods through the node's
# rendered conflist), on the dir:// store; tests/netns/overlay-etcd.sh runs the same on a
# real etcd in the underlay (OV_MODE=etcd), plus etcd's own outages. Checked: pod-to-pod
# ping and TCP across nodes in IPv4 and IPv6 with the pod's own source address; the kernel
# state of each node (device, per-peer neighbour, FDB entry, onlink route); masquerade to
# the outside; a fourth node joining and leaving (node down, lease expiry) seen everywhere
# within 2 s; sluiced SIGKILLed and restarted under a continuous probe; the device and a
# route deleted by hand and put back; a compacted watch; a lease in flanneld's format
# becoming a peer; DirectRouting; ADD without a lease refused with code 11, nothing left.
set -u
. "$(dirname "$0")/../lib.sh"
OV_MODE=${OV_MODE:-dir}
if [ "$OV_MODE" = etcd ]; then
	OV_STORE=etcd://192.168.100.254:2379
fi
. "$(dirname "$0")/../overlay-lib.sh"

for b in sluiced sluicectl sluice-vxlan-overlay sluice-bridge sluice-host-local; do
	if [ ! -x "$BIN/$b" ]; then
		fail "built" "no $BIN/$b"
		exit 0
	fi
done
[ -x "$CNITOOL" ] || {
	fail built "no $CNITOOL"
	exit 0
}

ip link set lo up
make_underlay || {
	fail underlay "cannot make the underlay"
	exit 0
}
make_outside out 192.168.200.2

if [ "$OV_MODE" = etcd ]; then
	if ! ETCD_NETNS=$OV_UNDERLAY etcd_up ov http://192.168.100.254:2379 http://127.0.0.1:2380 \
		--auto-compaction-retention 0; then
		fail etcd-start "$(tail -5 "$T_TMP/etcd-ov.log")"
		exit 0
	fi
	pass etcd-start
fi

jq -n '{Network: "10.244.0.0/16", SubnetLen: 24, EnableIPv6: true,
	IPv6Network: "fd00:244::/56", IPv6SubnetLen: 64, Backend: {Type: "vxlan"}}' >"$T_TMP/net.json"
check config-set ovctl config set -f "$T_TMP/net.json"

# --- a node of flanneld's own (node 5): a VXLAN device made by hand as flanneld makes it,
# its lease written by hand in flanneld's exact format (no NodeName, PublicIPv6 null), an
# address of its subnet on a veth to answer pings
FL_MAC=0e:00:00:00:05:05
FL_SUBNET=10.244.250.0/24
make_node 5
ip -n node5 link add flannel.1 address $FL_MAC type vxlan id 1 local 192.168.100.5 dev eth0 \
	dstport 8472 nolearning
ip -n node5 link set flannel.1 mtu 1450 up
ip -n node5 addr add 10.244.250.0/32 dev flannel.1
ip -n node5 link add fpod type veth peer name fpodp && ip -n node5 link set fpodp up # (no dummy module here)
ip -n node5 addr add 10.244.250.1/24 dev fpod
ip -n node5 link set fpod up
FL_KEY=$OV_PREFIX/subnets/10.244.250.0-24
FL_VALUE='{"PublicIP":"192.168.100.5","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"'$FL_MAC'"}}'
check flanneld-lease-written ovctl store put "$FL_KEY" "$FL_VALUE"

# --- three nodes, dual-stack
for n in 1 2 3; do
	make_node $n dual || fail "node$n-made"
	start_agent $n
done
for n in 1 2 3; do
	# itself up: a lease, both devices; and its peers: the other two and flanneld's
	if wait_status $n '.Subnet != "" and .Subnet6 != "" and ([.Peers[].Key] | unique | length) == 3' 20; then
		pass "node$n-up"
	else
		fail "node$n-up" "$(cat "$(node_file $n subnet.agent.json)" 2>&1)" "$(tail -5 "$(node_file $n agent.log)")"
	fi
done
check_eq status-fields "sluice.1 sluice-v6.1 true" \
	"$(jq -r '"\(.Device) \(.Device6) \(.StoreUp)"' "$(node_file 1 subnet.agent.json)")"
check_eq status-pid "${OV_AGENT[1]}" "$(jq -r .PID "$(node_file 1 subnet.agent.json)")"
declare -A SN SN6 MAC
for n in 1 2 3; do
	SN[$n]=$(node_subnet $n)
	SN6[$n]=$(node_subnet $n 6)
	MAC[$n]=$(ip -n node$n -j link show sluice.1 | jq -r '.[0].address')
done
check_eq subnets-distinct 3 "$(printf '%s\n' "${SN[@]}" | sort -u | wc -l)"
check_eq lease-files "${SN[1]} ${MAC[1]}" \
	"$(jq -r '"\(.Subnet // .subnet) \(.VtepMAC // .vtepMAC)"' "$(node_file 1 subnet.lease.json)")"

# net ADDR: the network address of a prefix ("10.244.3.0/24" -> 10.244.3.0)
net() { echo "${1%/*}"; }

# --- the kernel state on every node
# vxlan_of N DEV: "vni port local mtu learning" of node N's device
vxlan_of() {
	ip -n "node$1" -d -j link show "$2" 2>/dev/null | jq -r '.[0] | "\(.linkinfo.info_data.id) \(.linkinfo.info_data.port) \(.linkinfo.info_data.local // .linkinfo.info_data.local6) \(.mtu) \(.linkinfo.info_data.learning)"'
}
# peer_state N PEER [6]: node N's entries for node PEER's lease, one word each:
# "neigh fdb route" when all three are as they should be
peer_state() {
	local n=$1 p=$2 dev=sluice.1 sn=${SN[$2]} pub=192.168.100.$2 out="" fam=-4
	if [ "${3:-}" = 6 ]; then
		dev=sluice-v6.1 sn=${SN6[$2]} pub=fd00:100::$2 fam=-6
	fi
	local mac=$FL_MAC
	[ "$p" = 5 ] || mac=$(ip -n "node$p" -j link show "$dev" 2>/dev/null | jq -r '.[0].address')
	ip -n "node$n" -j neigh show dev "$dev" | jq -e --arg d "$(net "$sn")" --arg m "$mac" \
		'any(.[]; .dst == $d and .lladdr == $m and (.state | index("PERMANENT")))' \
		>/dev/null && out+="neigh "
	bridge -n "node$n" -j fdb show dev "$dev" | jq -e --arg d "$pub" --arg m "$mac" \
		'any(.[]; .mac == $m and .dst == $d)' >/dev/null && out+="fdb "
	ip -n "node$n" $fam -j route show "$sn" | jq -e --arg g "$(net "$sn")" --arg dev "$dev" \
		'any(.[]; .gateway == $g and .dev == $dev and (.flags | index("onlink")) and
		    (.protocol | tostring) == "83")' >/dev/null && out+="route"
	echo "$out"
}
# with EnableIPv6 both devices and the pods take the IPv6 device's limit, underlay - 70
check_eq device-v4 "1 8472 192.168.100.1 1430 false" "$(vxlan_of 1 sluice.1)"
check_eq device-v6 "1 8472 fd00:100::1 1430 false" "$(vxlan_of 1 sluice-v6.1)"
check_eq device-address "$(net "${SN[1]}")/32" \
	"$(ip -n node1 -j addr show sluice.1 | jq -r '.[0].addr_info[] | select(.family == "inet") | "\(.local)/\(.prefixlen)"')"
for n in 1 2 3; do
	for p in 1 2 3; do
		[ $n = $p ] && continue
		check_eq "node$n-peer$p-v4" "neigh fdb route" "$(peer_state $n $p)"
		check_eq "node$n-peer$p-v6" "neigh fdb route" "$(peer_state $n $p 6)"
	done
done
check_eq node1-own-subnet-not-a-peer "" "$(ip -n node1 -j route show "${SN[1]}" dev sluice.1 | jq -r '.[].dst')"

# --- a lease in flanneld's format is a peer: entries for it, and a ping through it
SN[5]=$FL_SUBNET
check_eq flanneld-peer-state "neigh fdb route" "$(peer_state 1 5)"
check_eq flanneld-peer-status "192.168.100.5 $FL_MAC false" "$(jq -r --arg s $FL_SUBNET \
	'.Peers[] | select(.Subnet == $s) | "\(.PublicIP) \(.VtepMAC) \(.Direct)"' "$(node_file 1 subnet.agent.json)")"

# --- pods: a and d on node 1, b on node 2, c on node 3
# addp NODE NAME: add_pod, checked (not in check's subshell: add_pod defers the pod's DEL)
addp() {
	add_pod "$1" "$2"
	local rc=$?
	if [ $rc -eq 0 ]; then pass "add-pod-$2"; else
		fail "add-pod-$2" "status $rc" "$(cat "$(node_file "$1" "$2.json")" "$(node_file "$1" "$2.err")")"
	fi
}
for p in a:1 b:2 c:3 d:1; do
	addp "${p#*:}" "${p%:*}"
done
declare -A IP4 IP6
for p in a b c d; do
	IP4[$p]=$(pod_ip $p)
	IP6[$p]=$(pod_ip $p 6)
done
check_eq pod-a-in-lease true "$(python3 -c "import ipaddress,sys; print(str(ipaddress.ip_address('${IP4[a]}') in ipaddress.ip_network('${SN[1]}')).lower())")"
check_eq pod-mtu 1430 "$(ip -n a -j link show eth0 | jq -r '.[0].mtu')"
check_eq env-mtu FLANNEL_MTU=1430 "$(grep FLANNEL_MTU= "$(node_file 1 subnet.env)")"
for pair in a:b a:c b:c c:a c:d b:d; do
	s=${pair%:*} d=${pair#*:}
	check "ping4-$s-$d" ping_within $s "${IP4[$d]}" 5
	check "ping6-$s-$d" ping_within $s "${IP6[$d]}" 5
done
# a packet of the pod's full MTU crosses in both families, unfragmented (the MTU less the
# IPv6 header 40 and ICMPv6 8; less the IPv4 header 20 and ICMP 8): with -50 for IPv6 the
# IPv6 device (underlay - 70) could not carry it
PMTU=$(ip -n a -j link show eth0 | jq -r '.[0].mtu')
check ping6-full-size wait_for 5 ip netns exec a ping -6 -c1 -W1 -M do -s $((PMTU - 48)) "${IP6[c]}"
check ping4-full-size wait_for 5 ip netns exec a ping -c1 -W1 -M do -s $((PMTU - 28)) "${IP4[c]}"
# the flanneld node answers too: pod a's packets go through its VXLAN device (its own
# neighbour, FDB and route back to node 1, programmed here by hand as flanneld would)
ip -n node5 neigh add "$(net "${SN[1]}")" lladdr "${MAC[1]}" dev flannel.1 nud permanent
bridge -n node5 fdb append "${MAC[1]}" dev flannel.1 dst 192.168.100.1 self permanent
ip -n node5 route add "${SN[1]}" via "$(net "${SN[1]}")" dev flannel.1 onlink
check flanneld-peer-ping ping_within a 10.244.250.1 5

# TCP with the pod's own source address seen by the server (no masquerade between pods)
echo_server b TCP4 80 '$SOCAT_PEERADDR'
echo_server b TCP6 81 '$SOCAT_PEERADDR'
echo_server out TCP4 80 '$SOCAT_PEERADDR'
listening b tcp 80 && listening b tcp 81 && listening out tcp 80 || fail servers-listening
check_eq tcp4-a-b-source "${IP4[a]}" "$(ask a tcp4 "${IP4[b]}" 80)"
# (socat gives an IPv6 peer in brackets, every group written out)
canon() { python3 -c 'import ipaddress, sys; print(ipaddress.ip_address(sys.argv[1].strip("[]")))' "$1" 2>/dev/null; }
check_eq tcp6-a-b-source "${IP6[a]}" "$(canon "$(ask a tcp6 "${IP6[b]}" 81)")"
check_eq tcp4-c-b-source "${IP4[c]}" "$(ask c tcp4 "${IP4[b]}" 80)"
# to the outside: masqueraded to node 1's address, by the overlay's table
check_eq masq-outside 192.168.100.1 "$(ask a tcp4 192.168.200.2 80)"
check_eq masq-table 1 "$(ip netns exec node1 nft -j list tables | jq '[.nftables[] | .table? // empty | select(.family == "inet" and .name == "sluice_overlay")] | length')"

# --- a fourth node joins
make_node 4 dual
t0=$(date +%s%N)
start_agent 4
if wait_status 4 ".PID == ${OV_AGENT[4]} and .Subnet != \"\"" 10; then
	SN[4]=$(node_subnet 4)
	SN6[4]=$(node_subnet 4 6)
	t_lease=$(date +%s%N)
	# routes_everywhere P: nodes 1-3 have a route to node P's subnets (one quick look each,
	# for timing: peer_everywhere then checks all three entries)
	routes_everywhere() {
		for n in 1 2 3; do
			[ -n "$(ip -n node$n route show "${SN[$1]}")" ] &&
				[ -n "$(ip -n node$n -6 route show "${SN6[$1]}")" ] || return 1
		done
	}
	# peer_everywhere P: nodes 1-3 hold node P's three entries
	peer_everywhere() { for n in 1 2 3; do [ "$(peer_state $n "$1")" = "neigh fdb route" ] || return 1; done; }
	# the bound asserted: from before node 4's agent started to every node holding all
	# of its entries (an upper bound of the join: lease taken, status written, watches
	# fired, peers programmed); the finer time from its status showing the lease, echoed
	if wait_for 5 routes_everywhere 4 && wait_for 1 peer_everywhere 4; then
		now=$(date +%s%N)
		echo "  join: all programmed $(((now - t_lease) / 1000000)) ms after node 4's status showed its lease"
		check_ms join-programmed-within-2s 2000 $(((now - t0) / 1000000))
	else
		fail join-programmed-within-2s "$(for n in 1 2 3; do echo "node$n: $(peer_state $n 4)"; done)"
	fi
	addp 4 e
	IP4[e]=$(pod_ip e)
	# (from the pod's ADD, pings of 1 s each retried for 5 s: no join time is measured here)
	for p in a b c; do
		check "join-ping-$p-e" ping_within $p "${IP4[e]}" 5
	done
else
	fail node4-up "$(tail -5 "$(node_file 4 agent.log)")"
fi
echo "  (node 4 up $((($(date +%s%N) - t0) / 1000000)) ms after its agent started)"

# routes_gone P: no route to node P's subnets on nodes 1-3 (a quick look, for timing)
routes_gone() {
	for n in 1 2 3; do
		[ -z "$(ip -n node$n route show "${SN[$1]}")" ] &&
			[ -z "$(ip -n node$n -6 route show "${SN6[$1]}")" ] || return 1
	done
}
# peer_gone_everywhere P: no entry for node P's lease on nodes 1-3 (neither family)
peer_gone_everywhere() {
	for n in 1 2 3; do
		[ -z "$(peer_state $n "$1")" ] && [ -z "$(peer_state $n "$1" 6)" ] || return 1
	done
}
# --- node 4 leaves with `sluicectl node down` (its agent stopped first: it would take a
# lease again)
stop_agent 4
t0=$(date +%s%N)
check node4-down ip netns exec node4 "$BIN/sluicectl" --store "$OV_STORE" --prefix "$OV_PREFIX" \
	node down --subnet-file "$(node_file 4 subnet.env)" --cni-conf-dir "$(node_file 4 net.d)"
if wait_for 5 routes_gone 4; then
	# (from the start of node down)
	check_ms leave-node-down-within-2s 2000 $((($(date +%s%N) - t0) / 1000000))
	check leave-node-down-all-entries wait_for 1 peer_gone_everywhere 4
else
	fail leave-node-down "$(for n in 1 2 3; do echo "node$n: $(peer_state $n 4)"; done)"
fi
ov_cni 4 del e >/dev/null 2>&1

# --- node 4 again with a 6 s lease, its agent then stopped (SIGTERM: lease kept, not
# renewed): the lease expires and its entries go everywhere within 2 s of the expiry
t_start=$(date +%s%N)
start_agent 4 --ttl 6
if wait_status 4 ".PID == ${OV_AGENT[4]} and .Subnet != \"\"" 10 && SN[4]=$(node_subnet 4) &&
	SN6[4]=$(node_subnet 4 6) && wait_for 5 peer_everywhere 4; then
	key4=$(jq -r .Lease "$(node_file 4 subnet.agent.json)")
	rev4=$(ovctl -o json store get "$key4" | jq -r .mod_revision)
	stop_agent 4 TERM
	# the lease was written after t_start, so it expires after t_start + 6 s: the time
	# measured from there is at least the real delay, as long as the agent never renewed
	# it (it renews 2 s before the end): its lease is the same write after the stop
	# (a revision that could not be read is no match)
	check_eq expiry-not-renewed "rev $rev4" \
		"$([[ "$rev4" =~ ^[0-9]+$ ]] && echo rev) $(ovctl -o json store get "$key4" | jq -r .mod_revision)"
	left=$(ovctl -o json leases | jq -r --arg s "${SN[4]}" '.[] | select(.subnet == $s) | .ttl')
	t_exp=$((t_start + 6000000000))
	if wait_for 15 routes_gone 4; then
		ms=$((($(date +%s%N) - t_exp) / 1000000))
		# (not before it either: SIGTERM leaves the lease in place)
		echo "  leave-expiry: $ms ms after the expiry"
		check_eq leave-expiry-within-2s true "$([ $ms -ge 0 ] && [ $ms -lt 2000 ] && echo true)"
		check leave-expiry-all-entries wait_for 1 peer_gone_everywhere 4
	else
		fail leave-expiry "ttl left ${left}" "$(for n in 1 2 3; do echo "node$n: $(peer_state $n 4)"; done)" \
			"$(ovctl store list "$OV_PREFIX/subnets/")" "$(tail -4 "$(node_file 2 agent.log)")" \
			"$(tail -8 "$(node_file 4 agent.log)")"
	fi
else
	fail node4-again "$(for n in 1 2 3; do echo "node$n: $(peer_state $n 4)"; done)" \
		"$(tail -5 "$(node_file 4 agent.log)")"
fi

# --- sluiced SIGKILLed on node 2 and restarted under a continuous probe from pod a to b
mac_before=$(ip -n node2 -j link show sluice.1 | jq -r '.[0].address')
# (the probe runs until stopped: SIGINT about a second after the restarted agent is up, its
# summary then parsed; 60 s is only a bound should the test die before)
ip netns exec a ping -q -i 0.1 -w 60 "${IP4[b]}" >"$T_TMP/probe" 2>&1 &
PROBE=$!
# shellcheck disable=SC2016 # (evaluated at exit)
defer '[ -z "$PROBE" ] || kill "$PROBE"'
sleep 1 # the probe under way before the kill (not a wait for anything)
stop_agent 2 KILL
start_agent 2
if wait_status 2 ".PID == ${OV_AGENT[2]} and .Subnet != \"\" and ([.Peers[].Key] | unique | length) >= 3" 10; then
	pass restart-up
else
	fail restart-up "$(tail -5 "$(node_file 2 agent.log)")"
fi
check_eq restart-probe-running-when-back true "$(kill -0 "$PROBE" 2>/dev/null && echo true)"
sleep 1 # the probe still running a second after the agent came back
check_eq restart-same-subnet "${SN[2]} ${SN6[2]}" "$(node_subnet 2) $(node_subnet 2 6)"
check_eq restart-same-mac "$mac_before" "$(ip -n node2 -j link show sluice.1 | jq -r '.[0].address')"
check_eq restart-lease-mac "$mac_before" "$(ovctl -o json leases | jq -r --arg s "${SN[2]}" '.[] | select(.subnet == $s) | .vtepMAC')"
kill -INT "$PROBE" 2>/dev/null
wait "$PROBE"
PROBE=
read -r sent got < <(sed -n 's/^\([0-9]*\) packets transmitted, \([0-9]*\) received.*/\1 \2/p' "$T_TMP/probe")
echo "  restart-probe: sent ${sent:-?} received ${got:-?} (every 0.1 s)"
# (a second's worth of packets lost at most; and the probe ran the whole time: at least the
# 2 s before and after, less a start-up margin)
check_eq restart-probe-lost-at-most-1s true \
	"$([ -n "${got:-}" ] && [ "$sent" -ge 15 ] && [ $((sent - got)) -le 10 ] && echo true)"
for p in 1 3; do check_eq "restart-node2-peer$p" "neigh fdb route" "$(peer_state 2 $p)"; done

# --- node 2's device deleted by hand: recreated, peers programmed again, pods reachable
ip -n node2 link del sluice.1
t0=$(date +%s%N)
peers_of_2() { [ "$(peer_state 2 1)" = "neigh fdb route" ] && [ "$(peer_state 2 3)" = "neigh fdb route" ]; }
# (put back within a second of the deletion, asserted on the time measured; 5 s of waiting
# for diagnostics)
if wait_for 5 peers_of_2; then
	check_ms device-recreated-within-1s 1000 $((($(date +%s%N) - t0) / 1000000))
else
	fail device-recreated-within-1s "$(ip -n node2 -d link show sluice.1 2>&1)" "$(tail -5 "$(node_file 2 agent.log)")"
fi
check_eq device-recreated-same-mac "$mac_before" "$(ip -n node2 -j link show sluice.1 | jq -r '.[0].address')"
check device-recreated-ping ping_within a "${IP4[b]}" 3
# --- a peer route deleted by hand on node 1: put back
ip -n node1 route del "${SN[3]}"
if wait_for 5 bash -c "ip -n node1 route show ${SN[3]} | grep -q sluice.1"; then
	check_ms route-restored-within-1s 1000 "$OV_WAITED"
else
	fail route-restored-within-1s "$(ip -n node1 route)"
fi
check route-restored-ping ping_within a "${IP4[c]}" 3

# free_subnet: a /24 of the network no lease holds
free_subnet() {
	local used i
	used=$(ovctl -o json leases | jq -r '.[].subnet')
	for i in 240 241 242 243 244 245; do
		grep -qx "10.244.$i.0/24" <<<"$used" || {
			echo "10.244.$i.0/24"
			return
		}
	done
}
# fake_lease SUBNET IP MAC: a lease in flanneld's format for a node that is not there
fake_lease() {
	local k=$OV_PREFIX/subnets/${1%/*}-24
	ovctl store put "$k" '{"PublicIP":"'"$2"'","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"'"$3"'"}}' >/dev/null
}
has_peer() { jq -e --arg s "$2" 'any(.Peers[]; .Subnet == $s)' "$(node_file "$1" subnet.agent.json)" >/dev/null 2>&1; }
all_have() { for n in 1 2 3; do has_peer $n "$1" || return 1; done; }
none_has() { for n in 1 2 3; do ! has_peer $n "$1" || return 1; done; }

# --- a peer's lease changes its VTEP MAC (flanneld restarted without its state): on every
# node the neighbour and the FDB entry follow, and no FDB entry of the old MAC is left
Y=$(free_subnet)
fake_lease "$Y" 192.168.100.79 0e:00:00:00:01:79
wait_for 5 all_have "$Y" || fail mac-change-setup "$(jq -c .Peers "$(node_file 1 subnet.agent.json)")"
fake_lease "$Y" 192.168.100.79 0e:00:00:00:02:79
# mac_now N: "neighbour MAC / FDB MACs to 192.168.100.79" on node N
mac_now() {
	echo "$(ip -n "node$1" -j neigh show dev sluice.1 | jq -r --arg d "$(net "$Y")" '.[] | select(.dst == $d) | .lladdr') /" \
		"$(bridge -n "node$1" -j fdb show dev sluice.1 | jq -r '[.[] | select(.dst == "192.168.100.79") | .mac] | join(" ")')"
}
mac_followed() { for n in 1 2 3; do [ "$(mac_now $n)" = "0e:00:00:00:02:79 / 0e:00:00:00:02:79" ] || return 1; done; }
if wait_for 5 mac_followed; then
	check_ms mac-change-followed-within-2s 2000 "$OV_WAITED"
else
	fail mac-change-followed "$(for n in 1 2 3; do echo "node$n: $(mac_now $n)"; done)"
fi
ovctl store del "$OV_PREFIX/subnets/${Y%/*}-24" >/dev/null
check mac-change-lease-gone wait_for 5 none_has "$Y"
check_eq mac-change-no-fdb-left "" "$(bridge -n node1 -j fdb show dev sluice.1 | jq -r '.[] | select(.dst == "192.168.100.79") | .mac')"

# --- etcd stopped while pods are added; agents catch up when it is back
if [ "$OV_MODE" = etcd ]; then
	etcd_down ov
	check_eq etcd-down-store-down true "$(wait_status 1 '.StoreUp == false' 15 && echo true)"
	addp 3 f
	IP4[f]=$(pod_ip f)
	check etcd-down-ping-a-f ping_within a "${IP4[f]}" 3
	# back, but the nodes cut off from it (their connections dropped in the underlay) while
	# a lease comes and another goes
	ip netns exec "$OV_UNDERLAY" nft -f - <<-'EOF'
		table inet cut { chain input { type filter hook input priority 0; iifname "br0" tcp dport 2379 drop; }; }
	EOF
	ETCD_NETNS=$OV_UNDERLAY etcd_up ov http://192.168.100.254:2379 http://127.0.0.1:2380 \
		--auto-compaction-retention 0 || fail etcd-restart "$(tail -5 "$T_TMP/etcd-ov.log")"
	X=$(free_subnet)
	fake_lease "$X" 192.168.100.77 0e:00:00:00:00:77
	ovctl store del "$FL_KEY" >/dev/null
	ip netns exec "$OV_UNDERLAY" nft delete table inet cut
	if wait_for 15 all_have "$X" && wait_for 5 none_has "$FL_SUBNET"; then
		pass etcd-back-caught-up
	else
		fail etcd-back-caught-up "$(jq -c . "$(node_file 1 subnet.agent.json)")"
	fi
	check_eq etcd-back-store-up true "$(wait_status 1 '.StoreUp == true' 10 && echo true)"
	check_eq etcd-back-peer-gone-from-kernel "" "$(peer_state 1 5)"
	fake_lease "$FL_SUBNET" 192.168.100.5 $FL_MAC
	wait_for 5 all_have "$FL_SUBNET" || fail flanneld-lease-back
fi

# --- a watch whose revision was compacted: node 1's agent stopped (SIGSTOP) while leases
# change and the history is compacted, then continued: it catches up. On etcd, etcd is
# restarted first, while the agent is stopped: its watch connection is gone with the events
# not yet sent, so the agent must watch again from a revision compacted since.
X=$(free_subnet)
kill -STOP "${OV_AGENT[1]}"
defer "kill -CONT ${OV_AGENT[1]}"
if [ "$OV_MODE" = etcd ]; then
	etcd_down ov
	ETCD_NETNS=$OV_UNDERLAY etcd_up ov http://192.168.100.254:2379 http://127.0.0.1:2380 \
		--auto-compaction-retention 0 || fail etcd-restart-2 "$(tail -5 "$T_TMP/etcd-ov.log")"
fi
fake_lease "$X" 192.168.100.78 0e:00:00:00:00:78
for i in 1 2 3; do fake_lease "$X" 192.168.100.78 "0e:00:00:00:0$i:78"; done
ovctl store del "$FL_KEY" >/dev/null
rev=$(ovctl -o json status | jq -r '.revision')
check compact ovctl store compact "$rev"
listed=$(grep -c 'was compacted: listing again' "$(node_file 1 agent.log)")
kill -CONT "${OV_AGENT[1]}"
if wait_for 10 has_peer 1 "$X" && wait_for 5 bash -c "! jq -e --arg s $FL_SUBNET 'any(.Peers[]; .Subnet == \$s)' $(node_file 1 subnet.agent.json)"; then
	pass compacted-watch-recovered
else
	fail compacted-watch-recovered "$(jq -c . "$(node_file 1 subnet.agent.json)")" "$(tail -5 "$(node_file 1 agent.log)")"
fi
check_eq compacted-watch-mac 0e:00:00:00:03:78 "$(jq -r --arg s "$X" '.Peers[] | select(.Subnet == $s) | .VtepMAC' "$(node_file 1 subnet.agent.json)")"
check_eq compacted-watch-kernel "" "$(peer_state 1 5)"
# it listed again (its log says so): the events it had missed were no longer there to watch
check_eq compacted-watch-relisted true "$([ "$(grep -c 'was compacted: listing again' "$(node_file 1 agent.log)")" -gt "$listed" ] && echo true)"
# and node 1 still follows later changes
ovctl store del "$OV_PREFIX/subnets/${X%/*}-24" >/dev/null
check compacted-watch-follows wait_for 5 bash -c "! jq -e --arg s $X 'any(.Peers[]; .Subnet == \$s)' $(node_file 1 subnet.agent.json)"

# --- DirectRouting: nodes on one segment route to each other's subnets via their
# underlay address, with no FDB entry or neighbour, and no packet through the device
jq '.Backend.DirectRouting = true' "$T_TMP/net.json" >"$T_TMP/net-direct.json"
check config-direct ovctl config set -f "$T_TMP/net-direct.json"
for n in 1 2 3; do kill -HUP "${OV_AGENT[$n]}"; done
direct_on_1() {
	ip -n node1 -j route show "${SN[2]}" | jq -e 'any(.[]; .gateway == "192.168.100.2" and .dev == "eth0")'
}
if wait_for 5 direct_on_1; then pass direct-route; else fail direct-route "$(ip -n node1 route)"; fi
check_eq direct-no-vxlan-entries "" "$(peer_state 1 2)"
check_eq direct-status true "$(jq -r --arg s "${SN[2]}" '.Peers[] | select(.Subnet == $s) | .Direct' "$(node_file 1 subnet.agent.json)")"
tx() { ip -n node1 -s -j link show sluice.1 | jq '.[0].stats64.tx.packets'; }
before=$(tx)
check direct-ping ping_within a "${IP4[b]}" 5
check_eq direct-tcp "${IP4[a]}" "$(ask a tcp4 "${IP4[b]}" 80)"
check_eq direct-no-vxlan-packets "$before" "$(tx)"
check_eq "direct-via-underlay" 1 "$(ip -n node1 -j route get "${IP4[b]}" | jq -r '[.[] | select(.dev == "eth0" and .gateway == "192.168.100.2")] | length')"

# --- ADD on a node without a lease: code 11, nothing left
make_node 6
jq --arg f "$(node_file 6 subnet.env)" --arg d "$(node_file 6 ipam)" \
	'.plugins |= map(if .type == "sluice-vxlan-overlay" then .subnetFile = $f else . end |
		if .ipam then .ipam.dataDir = $d else . end)' \
	"$(node_file 1 net.d/10-sluice.conflist)" >"$T_TMP/nolease.conflist"
add_pod 6 g "$T_TMP/nolease.conflist"
rc=$?
check_eq nolease-exit 1 "$rc"
check_eq nolease-code 11 "$(jq -r .code "$(node_file 6 g.json)" 2>/dev/null)"
check_eq nolease-no-device 0 "$(link_exists sluice.1 node6)"
# a runtime DELs a pod whose ADD failed (libcni itself does not): the bridge takes back its
# veth and address; the overlay's DEL without a lease succeeds
check nolease-del del_pod g
check_eq nolease-no-veth "eth0" "$(ip -n node6 -j link show type veth | jq -r '[.[].ifname] | join(" ")')"
check_eq nolease-pod-has-no-eth0 0 "$(link_exists eth0 g)"
check_eq nolease-no-ip-reserved 0 "$(find "$(node_file 6 ipam)" -type f ! -name lock ! -name 'last_reserved_ip.*' 2>/dev/null | wc -l)"
check_eq nolease-no-masq-table 0 "$(sluice_nft_tables node6)"

# --- the agents' logs carry no error for what went right (a reader's check)
for n in 1 2 3; do
	[ -s "$(node_file $n agent.log)" ] || fail "node$n-log" "empty agent log"
done
exit 0
