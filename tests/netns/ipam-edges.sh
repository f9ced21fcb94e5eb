#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# sluice-bridge with sluice-host-local, outcomes read back from pods: a range's default end
# (the last address before the IPv4 broadcast address, the subnet's last IPv6 address) by
# filling a /29 and a /125; GC of a container with two interfaces on one network (each
# ifname kept or removed on its own: veth, reservation, masquerade elements); the spec
# 1.1.0 route fields (mtu, advmss, priority, table, scope) in the pod's routes and result
# for cniVersion 1.1.0, and dropped for 0.4.0.
set -u
. "$(dirname "$0")/../lib.sh"

DATA=$T_TMP/ipam
N=$$
# conf NAME BRIDGE RANGES [JQ]
conf() {
	jq -n --arg d "$DATA" --arg n "$1" --arg b "$2" --argjson r "$3" '{cniVersion:"1.0.0",
		name:$n,type:"sluice-bridge",bridge:$b,isGateway:true,ipam:{type:"sluice-host-local",
		dataDir:$d,ranges:$r}}' | jq "${4:-.}" >"$T_TMP/$1.json"
	echo "$T_TMP/$1.json"
}
inns() { local p=$1; shift; ip netns exec "pod$N-$p" "$@"; }
pings() { ping_retry "pod$N-$1" "$2"; } # POD ADDR
# podaddrs POD [IFNAME]: the global addresses on the pod's interface
podaddrs() {
	inns "$1" ip -j addr show "${2:-eth0}" | jq -r '[.[0].addr_info[] | select(.scope=="global") |
		.local] | join(" ")'
}
# add POD CONF [IFNAME]: ADD into netns pod$N-POD (made if needed; DEL deferred)
add() {
	[ -e "/run/netns/pod$N-$1" ] || mk_netns "pod$N-$1"
	defer "cni DEL cid-$1 '' ${3:-eth0} $2"
	cni ADD "cid-$1" "pod$N-$1" "${3:-eth0}" "$2" >"$T_TMP/res.$1.${3:-eth0}"
}

# --- a range's default end ------------------------------------------------------------------
# 10.91.0.0/29: .1 the gateway, .7 the broadcast address: five pods get .2 to .6, a sixth none
C=$(conf v4end rge0 '[[{"subnet":"10.91.0.0/29"}]]')
got=
for i in 1 2 3 4 5; do
	add "e$i" "$C" && got="$got $(podaddrs "e$i")"
done
check_eq "a /29: five pods get .2 to .6" " 10.91.0.2 10.91.0.3 10.91.0.4 10.91.0.5 10.91.0.6" "$got"
mk_netns "pod$N-e6"
check_eq "... and a sixth ADD fails with code 101 (the broadcast address is not handed out)" \
	"101 0" "$(cni ADD cid-e6 "pod$N-e6" eth0 "$C" | jq .code) $(podaddrs e6 2>/dev/null | wc -w)"
check "the last pod reaches the first" pings e5 10.91.0.2
# fd91::/125: ::1 the gateway; IPv6 has no broadcast address, ::7 is handed out
C=$(conf v6end rge1 '[[{"subnet":"fd91::/125"}]]')
got=
for i in 1 2 3 4 5 6; do
	add "s$i" "$C" && got="$got $(podaddrs "s$i")"
done
check_eq "a /125: six pods get ::2 to ::7, the subnet's last address included" \
	" fd91::2 fd91::3 fd91::4 fd91::5 fd91::6 fd91::7" "$got"
mk_netns "pod$N-s7"
check_eq "... and a seventh ADD fails with code 101" 101 \
	"$(cni ADD cid-s7 "pod$N-s7" eth0 "$C" | jq .code)"
check "the pod at ::7 reaches the first" pings s6 fd91::2

# --- GC of a container with two interfaces on one network --------------------------------------
C=$(conf two rge2 '[[{"subnet":"10.92.0.0/24"}]]' '.ipMasq=true')
check "two interfaces: ADD eth0" add t "$C" eth0
check "two interfaces: ADD net1 in the same pod" add t "$C" net1
hostveths() { # the host veths of cid-t on network two, by ifname in their alias
	ip -j -d link show master rge2 | jq -r '[.[] | .ifalias // "" | select(startswith("sluice:two:cid-t:")) |
		split(":")[3]] | sort | join(" ")'
}
owners() { # the ifnames of cid-t's reservations
	for f in "$DATA"/two/10.*; do [ -f "$f" ] && tail -1 "$f" && echo; done | sort | xargs
}
masq() { nft -j list set inet sluice_masq pods4 2>/dev/null | jq '[.nftables[].set.elem // empty | .[]] | length'; }
check_eq "two interfaces: two veths, two reservations, two masquerade owners" \
	"eth0 net1|eth0 net1|2" "$(hostveths)|$(owners)|$(masq)"
gc() { # VALID_IFNAME...: GC with cid-t's attachments on those ifnames valid
	local v
	v=$(printf '%s\n' "$@" | jq -R '{containerID:"cid-t",ifname:.}' | jq -s .)
	jq --argjson v "$v" '.cniVersion="1.1.0" | ."cni.dev/valid-attachments"=$v' "$C" >"$T_TMP/gc.json"
	cni GC "" "" "" "$T_TMP/gc.json"
}
check "GC with cid-t/eth0 valid" gc eth0
check_eq "... removed net1's veth, reservation and masquerade elements, kept eth0's" \
	"eth0|eth0|1" "$(hostveths)|$(owners)|$(masq)"
check_eq "... net1 is gone from the pod, eth0 kept its address" "0 10.92.0.2" \
	"$(link_exists net1 "pod$N-t") $(podaddrs t eth0)"
check "... and eth0 still reaches the gateway" pings t 10.92.0.1
check "GC with cid-t/net1 valid (which no longer exists)" gc net1
check_eq "... removes eth0's too" "||0" "$(hostveths)|$(owners)|$(masq)"

# --- spec 1.1.0 route fields ------------------------------------------------------------------
RT='.ipam.routes=[{dst:"10.120.0.0/16",gw:"10.93.0.1",mtu:1300,advmss:1200,priority:50,table:100},
	{dst:"10.121.0.0/16",gw:"10.93.0.1",scope:0,priority:60}]'
C=$(conf rt11 rge3 '[[{"subnet":"10.93.0.0/24"}]]' "$RT | .cniVersion=\"1.1.0\"")
check "1.1.0: ADD with mtu, advmss, priority, table and scope in IPAM routes" add r "$C"
check_eq "1.1.0: the route is in table 100 with its mtu, advmss and metric" \
	"10.120.0.0/16 via 10.93.0.1 mtu 1300 advmss 1200 metric 50" \
	"$(inns r ip -j -d route show table 100 | jq -r '.[] | select(.dst=="10.120.0.0/16") |
		"\(.dst) via \(.gateway) mtu \(.metrics[]? | select(.mtu) | .mtu) advmss \(.metrics[]? | select(.advmss) | .advmss) metric \(.metric)"')"
check_eq "1.1.0: none of it in the main table; the other route there with its metric" \
	"10.121.0.0/16 60" "$(inns r ip -j route show | jq -r '[.[] | select(.dst | startswith("10.12")) |
		"\(.dst) \(.metric)"] | join(",")')"
check_eq "1.1.0: the result carries every field" \
	'{"advmss":1200,"dst":"10.120.0.0/16","gw":"10.93.0.1","mtu":1300,"priority":50,"table":100}|{"dst":"10.121.0.0/16","gw":"10.93.0.1","priority":60,"scope":0}' \
	"$(jq -cS '.routes | map(select(.dst | startswith("10.12"))) | .[0], .[1]' "$T_TMP/res.r.eth0" | paste -sd'|')"
C=$(conf rt04 rge4 '[[{"subnet":"10.94.0.0/24"}]]' "${RT//10.93.0.1/10.94.0.1} | .cniVersion=\"0.4.0\"")
check "0.4.0: the same ADD" add o "$C"
check_eq "0.4.0: the fields are dropped: both routes in the main table, no mtu, advmss or metric" \
	"10.120.0.0/16 - - null,10.121.0.0/16 - - null" \
	"$(inns o ip -j -d route show | jq -r '[.[] | select(.dst | startswith("10.12")) |
		"\(.dst) \([.metrics[]? | .mtu // empty] | first // "-") \([.metrics[]? | .advmss // empty] | first // "-") \(.metric)"] | join(",")')"
check_eq "0.4.0: nothing in table 100" 0 "$(inns o ip route show table 100 2>/dev/null | wc -l)"
check_eq "0.4.0: the result's routes have dst and gw only" \
	'{"dst":"10.120.0.0/16","gw":"10.94.0.1"}|{"dst":"10.121.0.0/16","gw":"10.94.0.1"}' \
	"$(jq -cS '.routes | map(select(.dst | startswith("10.12"))) | .[0], .[1]' "$T_TMP/res.o.eth0" | paste -sd'|')"
