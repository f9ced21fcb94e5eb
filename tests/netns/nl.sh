#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The netlink layer (common/netlink, base/sysctl) against the kernel, through tests/tools/nltool:
# each step is done by our C code and read back with iproute2 (`ip -j`, `tc -j`, `bridge -j`).
# Covers a bridge and a veth into a netns, bridge port flags, addresses, routes, a ping,
# neighbours, VXLAN and its FDB, IFB, tbf, ingress + mirred, sysctls, kernel extack messages.
# Runs as root under `unshare -n -m` (tests/run.sh): the "host" here is a private netns.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

NLT=${TOOLS:-build/tests/tools}/nltool
if [ ! -x "$NLT" ]; then
	fail "nltool-built" "missing $NLT (make tools)"
	exit 0
fi

NS=nl-a-$$
NSP=/run/netns/$NS
BR=nlbr0
VH=nlv0
VX=nlvx0
IFB=nlifb0

nlt() { "$NLT" "$@"; }
# kv KEY: the value of KEY in each line of nltool's "key=value ..." output on stdin
kv() { sed -n "s/^\(.* \)\?$1=\([^ ]*\).*/\2/p"; }
# lj DEV JQ / nj DEV JQ: a field of `ip -j -d link show DEV` here / in the netns
lj() { ip -j -d link show "$1" 2>/dev/null | jq -r ".[0]$2"; }
nj() { ip -n "$NS" -j -d link show "$1" 2>/dev/null | jq -r ".[0]$2"; }
# check_err NAME SUBSTRING CMD...: CMD fails and its message contains SUBSTRING
check_err() {
	local name=$1 want=$2 out
	shift 2
	if out=$("$@" 2>&1); then
		fail "$name" "expected failure: $*" "$out"
	elif [[ "$out" != *"$want"* ]]; then
		fail "$name" "expected message containing: $want" "actual: $out"
	else
		pass "$name"
	fi
}

mk_netns "$NS" || { fail netns "cannot create netns $NS"; exit 0; }
ip link set lo up
for l in $BR $VH nlv1 nlv9 $VX $IFB nlifb1 nlifb2 nlbr1; do defer "ip link del $l"; done

# --- bridge
check bridge-add nlt bridge $BR mtu=1400 mac=02:00:00:00:aa:01
check_eq bridge-kind bridge "$(lj $BR .linkinfo.info_kind)"
check_eq bridge-mtu 1400 "$(lj $BR .mtu)"
check_eq bridge-mac 02:00:00:00:aa:01 "$(lj $BR .address)"
check_eq bridge-get-kind bridge "$(nlt link-get $BR | kv kind)"
check_err bridge-exists EEXIST nlt bridge $BR
check_err bridge-bad-name "invalid interface name" nlt bridge bad/name
BR_IDX=$(lj $BR .ifindex)
check_eq bridge-get-index $BR "$(nlt link-get-index "$BR_IDX" | kv name)"

# --- veth, peer created directly in the netns
check veth-add nlt veth $VH eth0 "$NSP" mtu=1400 peer_mac=02:00:00:00:bb:02 mac=02:00:00:00:bb:01
check_eq veth-host-kind veth "$(lj $VH .linkinfo.info_kind)"
check_eq veth-host-mtu 1400 "$(lj $VH .mtu)"
check_eq veth-host-mac 02:00:00:00:bb:01 "$(lj $VH .address)"
check_eq veth-peer-name eth0 "$(nj eth0 .ifname)"
check_eq veth-peer-mtu 1400 "$(nj eth0 .mtu)"
check_eq veth-peer-mac 02:00:00:00:bb:02 "$(nj eth0 .address)"
check_fail veth-peer-not-here ip link show eth0
check_eq veth-peer-index "$(nj eth0 .ifindex)" "$(nlt link-get $VH | kv link)"
check_eq veth-peer-netnsid "$(lj $VH .link_netnsid)" "$(nlt link-get $VH | kv netnsid)"
check_eq veth-peer-link "$(lj $VH .ifindex)" "$(nlt -n "$NSP" link-get eth0 | kv link)"
check_eq veth-dump-ns "lo eth0" "$(nlt -n "$NSP" link-dump | kv name | tr '\n' ' ' | sed 's/ $//')"

check veth-master-up nlt veth nlv1 eth1 "$NSP" master=$BR up
check_eq veth-master-up-ip "$BR UP" "$(lj nlv1 '| "\(.master) \(.flags | map(select(. == "UP")) | .[0])"')"
check_eq veth-master-up-peer-down "DOWN" "$(nj eth1 .operstate)"
check veth-exists-peer nlt -n "$NSP" link-get eth1
check_err veth-exists EEXIST nlt veth nlv1 eth9 "$NSP"
check_err veth-peer-exists EEXIST nlt veth nlv9 eth1 "$NSP"
check veth-del-second nlt del nlv1
check_fail veth-del-second-peer ip -n "$NS" link show eth1

# --- master, up, bridge port flags
check master nlt master $VH $BR
check_eq master-ip $BR "$(lj $VH .master)"
check_eq master-get "$BR_IDX" "$(nlt link-get $VH | kv master)"
check up-host nlt up $VH
check up-bridge nlt up $BR
check up-peer nlt -n "$NSP" up eth0
check_eq up-flag 1 "$(nlt link-get $VH | kv up)"
check brport-set nlt brport $VH hairpin=1 isolated=1 learning=0
check_eq brport-hairpin true "$(lj $VH .linkinfo.info_slave_data.hairpin)"
check_eq brport-isolated true "$(lj $VH .linkinfo.info_slave_data.isolated)"
check_eq brport-learning false "$(lj $VH .linkinfo.info_slave_data.learning)"
check_eq brport-get "1 1 0" "$(nlt link-get $VH | tr ' ' '\n' |
	sed -n 's/^\(hairpin\|isolated\|learning\)=//p' | tr '\n' ' ' | sed 's/ $//')"
check brport-unset nlt brport $VH hairpin=0
check_eq brport-hairpin-off false "$(lj $VH .linkinfo.info_slave_data.hairpin)"
check_eq brport-isolated-kept true "$(lj $VH .linkinfo.info_slave_data.isolated)"

# --- addresses
check addr-add4 nlt addr-add $BR 10.77.0.1/24
check addr-add6 nlt addr-add $BR fd77::1/64 nodad
check_eq addr4-ip "10.77.0.1/24 10.77.0.255" "$(ip -j addr show dev $BR |
	jq -r '.[0].addr_info[] | select(.family == "inet") | "\(.local)/\(.prefixlen) \(.broadcast)"')"
check_eq addr6-nodad true "$(ip -j addr show dev $BR |
	jq -r '.[0].addr_info[] | select(.local == "fd77::1") | .nodad')"
check_err addr-exists EEXIST nlt addr-add $BR 10.77.0.1/24
check addr-replace nlt addr-add $BR 10.77.0.1/24 replace
check addr-add-noprefixroute nlt addr-add $BR 10.78.0.1/24 noprefixroute
check_eq addr-noprefixroute-noroute 0 "$(ip -j route show 10.78.0.0/24 | jq length)"
check addr-del nlt addr-del $BR 10.78.0.1/24
check_eq addr-del-gone 0 "$(ip -j addr show dev $BR | jq '[.[0].addr_info[] | select(.local == "10.78.0.1")] | length')"
check_err addr-del-again EADDRNOTAVAIL nlt addr-del $BR 10.78.0.1/24
check_eq addr-dump "10.77.0.1/24" "$(nlt addr-show $BR 4 | kv addr)"
check_eq addr-dump6 "fd77::1/64" "$(nlt addr-show $BR 6 | grep -v 'fe80' | kv addr)"
check addr-peer4 nlt -n "$NSP" addr-add eth0 10.77.0.2/24
check addr-peer6 nlt -n "$NSP" addr-add eth0 fd77::2/64 nodad
check_eq addr-peer-ip "10.77.0.2/24" "$(ip -n "$NS" -j addr show dev eth0 |
	jq -r '.[0].addr_info[] | select(.family == "inet") | "\(.local)/\(.prefixlen)"')"

# --- ping across the veth and the bridge
check ping4 ip netns exec "$NS" ping -c 1 -W 2 10.77.0.1
check ping6 ip netns exec "$NS" ping -6 -c 1 -W 2 fd77::1

# --- routes in the container
rq() { ip -n "$NS" -j -d route show "$@" 2>/dev/null; }
check route-default nlt -n "$NSP" route-add default via=10.77.0.1 dev=eth0 metric=50
check_eq route-default-ip "10.77.0.1 50 eth0" "$(rq default | jq -r '.[0] | "\(.gateway) \(.metric) \(.dev)"')"
check route-table nlt -n "$NSP" route-add 10.88.0.0/16 via=10.77.0.1 table=100 metric=7 mtu=1300 advmss=1200
check_eq route-table-ip "10.88.0.0/16 10.77.0.1 7 1300 1200" "$(rq table 100 |
	jq -r '.[0] | "\(.dst) \(.gateway) \(.metric) \(.metrics[0].mtu) \(.metrics[0].advmss)"')"
check route-onlink nlt -n "$NSP" route-add 10.99.0.0/16 via=10.200.0.1 dev=eth0 onlink
check_eq route-onlink-ip "10.200.0.1 onlink" "$(rq 10.99.0.0/16 | jq -r '.[0] | "\(.gateway) \(.flags[0])"')"
check route-scope nlt -n "$NSP" route-add 10.66.0.0/16 dev=eth0 scope=link proto=4
check_eq route-scope-ip "link static" "$(rq 10.66.0.0/16 | jq -r '.[0] | "\(.scope) \(.protocol)"')"
check route-v6 nlt -n "$NSP" route-add fd88::/64 via=fd77::1 dev=eth0 metric=300
check_eq route-v6-ip "fd77::1 300" "$(ip -n "$NS" -6 -j route show fd88::/64 | jq -r '.[0] | "\(.gateway) \(.metric)"')"
check_err route-exists EEXIST nlt -n "$NSP" route-add 10.66.0.0/16 dev=eth0 scope=link proto=4
check route-replace nlt -n "$NSP" route-add 10.66.0.0/16 via=10.77.0.1 dev=eth0 replace
check_eq route-replace-ip "10.77.0.1" "$(rq 10.66.0.0/16 | jq -r '.[0].gateway')"
check_eq route-dump-table "dst=10.88.0.0/16 gw=10.77.0.1" "$(nlt -n "$NSP" route-show table=100 | cut -d' ' -f1-2)"
check_eq route-dump-main "$(rq table main | jq -r '.[].dst' | grep -c .)" "$(nlt -n "$NSP" route-show 4 table=254 | grep -c .)"
out=$(nlt -n "$NSP" route-show table=4242)
check_eq route-dump-empty-table "0 0" "$? $(grep -c . <<<"$out")" # exit status, lines
check route-del nlt -n "$NSP" route-del 10.88.0.0/16 table=100
check_eq route-del-gone 0 "$(rq table 100 | jq length)"
check_err route-del-again ESRCH nlt -n "$NSP" route-del 10.88.0.0/16 table=100
check_err route-bad-gw "invalid route" nlt -n "$NSP" route-add 10.1.0.0/16 via=fd77::1

# --- neighbours
check neigh-add nlt neigh-add $BR 10.77.0.50 02:00:00:00:cc:50
check_eq neigh-ip "02:00:00:00:cc:50 PERMANENT" "$(ip -j neigh show dev $BR 10.77.0.50 | jq -r '.[0] | "\(.lladdr) \(.state[0])"')"
check_eq neigh-dump "02:00:00:00:cc:50" "$(nlt neigh-show $BR 4 | grep 'ip=10.77.0.50 ' | kv mac)"
check_err neigh-exists EEXIST nlt neigh-add $BR 10.77.0.50 02:00:00:00:cc:51
check neigh-replace nlt neigh-add $BR 10.77.0.50 02:00:00:00:cc:51 replace
check_eq neigh-replaced "02:00:00:00:cc:51" "$(ip -j neigh show dev $BR 10.77.0.50 | jq -r '.[0].lladdr')"
check neigh-del nlt neigh-del $BR 10.77.0.50
check_eq neigh-gone 0 "$(ip -j neigh show dev $BR 10.77.0.50 | jq length)"

# --- VXLAN, its FDB, neighbour and onlink route (Flannel's per-peer triple)
check vxlan-add nlt vxlan $VX vni=42 local=10.77.0.1 dev=$BR port=8472 learning=0 mtu=1350 mac=02:00:00:00:dd:01
check_eq vxlan-ip "vxlan 42 10.77.0.1 $BR 8472 false 1350 02:00:00:00:dd:01" "$(lj $VX '|
	"\(.linkinfo.info_kind) \(.linkinfo.info_data.id) \(.linkinfo.info_data.local) \(.linkinfo.info_data.link) \(.linkinfo.info_data.port) \(.linkinfo.info_data.learning) \(.mtu) \(.address)"')"
check_eq vxlan-get "42 10.77.0.1 $BR_IDX 8472 0" "$(nlt link-get $VX | tr ' ' '\n' |
	sed -n 's/^\(vni\|local\|dev\|port\|vxlan_learning\)=//p' | tr '\n' ' ' | sed 's/ $//')"
check fdb-add nlt fdb-add $VX 02:00:00:00:ee:01 10.77.0.2
check_eq fdb-ip "10.77.0.2 self permanent" "$(bridge -j fdb show dev $VX |
	jq -r '.[] | select(.mac == "02:00:00:00:ee:01") | "\(.dst) \(.flags[0]) \(.state)"')"
check_eq fdb-dump "10.77.0.2" "$(nlt neigh-show $VX bridge | grep 'mac=02:00:00:00:ee:01' | kv ip)"
check_err fdb-exists EEXIST nlt fdb-add $VX 02:00:00:00:ee:01 10.77.0.2
check fdb-replace nlt fdb-add $VX 02:00:00:00:ee:01 10.77.0.3 replace
check_eq fdb-replaced "10.77.0.3" "$(bridge -j fdb show dev $VX | jq -r '.[] | select(.mac == "02:00:00:00:ee:01") | .dst')"
check vxlan-neigh nlt neigh-add $VX 10.66.1.0 02:00:00:00:ee:01 replace
check_eq vxlan-neigh-ip "02:00:00:00:ee:01" "$(ip -j neigh show dev $VX 10.66.1.0 | jq -r '.[0].lladdr')"
check_err vxlan-route-down "Nexthop device is not up" nlt route-add 10.66.1.0/24 via=10.66.1.0 dev=$VX onlink
check vxlan-up nlt up $VX
check vxlan-route nlt route-add 10.66.1.0/24 via=10.66.1.0 dev=$VX onlink
check_eq vxlan-route-ip "10.66.1.0 $VX onlink" "$(ip -j route show 10.66.1.0/24 | jq -r '.[0] | "\(.gateway) \(.dev) \(.flags[0])"')"
check fdb-del nlt fdb-del $VX 02:00:00:00:ee:01 10.77.0.3
check_eq fdb-gone 0 "$(bridge -j fdb show dev $VX | jq '[.[] | select(.mac == "02:00:00:00:ee:01")] | length')"

# --- IFB, tbf, ingress + mirred redirect (the bandwidth plugin's layout)
check ifb-add nlt ifb $IFB mtu=1400 txqlen=32
check_eq ifb-ip "ifb 1400 32" "$(lj $IFB '| "\(.linkinfo.info_kind) \(.mtu) \(.txqlen)"')"
check ifb-up nlt up $IFB
check tbf-add nlt tbf $VH rate=125000 burst=10240 limit=20480
check_eq tbf-tc "tbf 125000 10240 20480" "$(tc -j -raw qdisc show dev $VH root |
	jq -r '.[0] | "\(.kind) \(.options.rate) \(.options.burst) \(.options.limit)"')"
check_eq tbf-dump "tbf 125000 10240 20480" "$(nlt qdisc-show $VH | grep kind=tbf | tr ' ' '\n' |
	sed -n 's/^\(kind\|rate\|burst\|limit\)=//p' | tr '\n' ' ' | sed 's/ $//')"
check_err tbf-exists "EEXIST" nlt tbf $VH rate=125000 burst=10240 limit=20480
check_err tbf-zero-burst "zero rate or burst" nlt tbf $VH rate=125000 burst=0 limit=20480
check tbf-ifb nlt tbf $IFB rate=250000 burst=20480 limit=40960
check_eq tbf-ifb-tc "250000 20480" "$(tc -j qdisc show dev $IFB root | jq -r '.[0] | "\(.options.rate) \(.options.burst)"')"
check ingress-add nlt ingress $VH
check_eq ingress-tc "ingress ffff: ffff:fff1" "$(tc -j qdisc show dev $VH ingress | jq -r '.[0] | "\(.kind) \(.handle) \(.parent)"')"
check_eq ingress-dump "ffff:0 ffff:fff1" "$(nlt qdisc-show $VH | grep kind=ingress | tr ' ' '\n' | sed -n 's/^\(handle\|parent\)=//p' | tr '\n' ' ' | sed 's/ $//')"
check_err ingress-exists EEXIST nlt ingress $VH
check mirred-add nlt mirred $VH $IFB
check_eq mirred-tc "all 1 mirred redirect egress $IFB" "$(tc -j filter show dev $VH parent ffff: |
	jq -r '.[] | select(.options.actions) | "\(.protocol) \(.pref) \(.options.actions[0].kind) \(.options.actions[0].mirred_action) \(.options.actions[0].direction) \(.options.actions[0].to_dev)"')"
check_eq mirred-dump "$(lj $IFB .ifindex)" "$(nlt filter-show $VH | grep mirred | kv mirred_ifindex)"
tx0=$(ip -s -j link show $IFB | jq -r '.[0].stats64.tx.packets')
check ping-redirected ip netns exec "$NS" ping -c 2 -W 2 10.77.0.1
tx1=$(ip -s -j link show $IFB | jq -r '.[0].stats64.tx.packets')
check ifb-sees-traffic test "$tx1" -gt "$tx0"
check filter-del nlt filter-del $VH ffff: 1
check_eq filter-gone 0 "$(tc -j filter show dev $VH parent ffff: | jq length)"
check ingress-del nlt qdisc-del $VH ingress
check_eq ingress-gone 0 "$(tc -j qdisc show dev $VH ingress | jq length)"
check tbf-del nlt qdisc-del $VH root
check_eq tbf-gone 0 "$(tc -j qdisc show dev $VH root | jq '[.[] | select(.kind == "tbf")] | length')"

# --- other link changes
check_err mtu-extack "mtu greater than device maximum" nlt mtu $VH 100000
check mtu-set nlt mtu $IFB 1300
check_eq mtu-ip 1300 "$(lj $IFB .mtu)"
check mac-set nlt mac $VH 02:00:00:00:bb:11
check_eq mac-ip 02:00:00:00:bb:11 "$(lj $VH .address)"
check_err mac-unsupported EOPNOTSUPP nlt mac $IFB 02:00:00:00:ff:01
check promisc-on nlt promisc $IFB 1
check_eq promisc-ip 1 "$(lj $IFB .promiscuity)"
check promisc-off nlt promisc $IFB 0
check_eq promisc-off-ip 0 "$(lj $IFB .promiscuity)"
check down nlt down $IFB
check_eq down-flag 0 "$(nlt link-get $IFB | kv up)"
check ifb-add2 nlt ifb nlifb1
check alias nlt alias nlifb1 "sluice:net:cid:eth0"
check_eq alias-ip "sluice:net:cid:eth0" "$(lj nlifb1 .ifalias)"
check_eq alias-get "sluice:net:cid:eth0" "$(nlt link-get nlifb1 | kv alias)"
check alias-clear nlt alias nlifb1 ""
out=$(nlt link-get nlifb1)
check_eq alias-cleared "0 nlifb1 0" "$? $(kv name <<<"$out") $(grep -c " alias=" <<<"$out")" # exit status, name, aliases
check rename nlt rename nlifb1 nlifb2
check_eq rename-ip nlifb2 "$(lj nlifb2 .ifname)"
check setns nlt setns nlifb2 "$NSP"
check_fail setns-gone ip link show nlifb2
check_eq setns-ip nlifb2 "$(nj nlifb2 .ifname)"
check del-in-ns nlt -n "$NSP" del nlifb2
check nomaster nlt master $VH none
check_eq nomaster-ip null "$(lj $VH .master)"

# --- bridge VLANs (kernels built without CONFIG_BRIDGE_VLAN_FILTERING refuse them)
if ip link add nlvf-probe type bridge vlan_filtering 1 2>/dev/null; then
	ip link del nlvf-probe
	check vlan-bridge nlt bridge nlbr1 vlan_filtering=1
	check_eq vlan-filtering 1 "$(lj nlbr1 .linkinfo.info_data.vlan_filtering)"
	check vlan-master nlt master $VH nlbr1
	check vlan-add-range nlt vlan-add $VH 10 20
	check vlan-add-pvid nlt vlan-add $VH 30 0 pvid untagged
	check_eq vlan-ip "10-20 30" "$(bridge -j -c vlan show dev $VH | jq -r '[.[0].vlans[] |
		select(.vlan != 1) | if .vlanEnd then "\(.vlan)-\(.vlanEnd)" else "\(.vlan)" end] | join(" ")')"
	check_eq vlan-dump "10-20 30-30" "$(nlt vlan-show $VH | kv vid | grep -v '^1-1$' | tr '\n' ' ' | sed 's/ $//')"
	check_eq vlan-pvid 1 "$(nlt vlan-show $VH | grep 'vid=30-30' | kv pvid)"
	check vlan-del nlt vlan-del $VH 10 20
	check_eq vlan-del-ip "30" "$(bridge -j vlan show dev $VH | jq -r '[.[0].vlans[] | select(.vlan != 1) | .vlan] | join(" ")')"
	check vlan-filtering-off nlt vlan-filtering nlbr1 0
	check_eq vlan-filtering-off-ip 0 "$(lj nlbr1 .linkinfo.info_data.vlan_filtering)"
	check vlan-bridge-del nlt del nlbr1
else
	check_err vlan-unsupported EOPNOTSUPP nlt bridge nlbr1 vlan_filtering=1
	check_err vlan-filtering-unsupported EOPNOTSUPP nlt vlan-filtering $BR 1
fi

# --- sysctl and netns helpers
check sysctl-set-ns nlt -n "$NSP" sysctl-set net/ipv6/conf/eth0/accept_dad 0
check_eq sysctl-ns-value 0 "$(ip netns exec "$NS" cat /proc/sys/net/ipv6/conf/eth0/accept_dad)"
check_eq sysctl-get-ns 0 "$(nlt -n "$NSP" sysctl-get net/ipv6/conf/eth0/accept_dad)"
check sysctl-set-host nlt sysctl-set net/ipv4/conf/$BR/forwarding 1
check_eq sysctl-host-value 1 "$(cat /proc/sys/net/ipv4/conf/$BR/forwarding)"
check_fail sysctl-not-here cat /proc/sys/net/ipv6/conf/eth0/accept_dad
check_err sysctl-bad-path EINVAL nlt sysctl-set net/../kernel/hostname x
check_err sysctl-outside-net EINVAL nlt sysctl-get kernel/hostname
check_eq netns-self 1 "$(nlt netns-is-self /proc/self/ns/net)"
check_eq netns-other 0 "$(nlt netns-is-self "$NSP")"
check_eq netns-self-inside 1 "$(nlt -n "$NSP" netns-is-self "$NSP")"

# --- teardown: deleting the host veth takes the peer along; nothing is left
check del-veth nlt del-index $VH
check_fail del-veth-peer-gone ip -n "$NS" link show eth0
check del-vxlan nlt del $VX
check del-ifb nlt del-index $IFB
check del-bridge nlt del $BR
check_err del-again ENODEV nlt del $BR
check_eq nothing-left "lo" "$(ip -j link show | jq -r '.[].ifname' | tr '\n' ' ' | sed 's/ $//')"
check_eq nothing-left-ns "lo" "$(ip -n "$NS" -j link show | jq -r '.[].ifname' | tr '\n' ' ' | sed 's/ $//')"
