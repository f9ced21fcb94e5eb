#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# sluice-bridge's gateways and default routes, read back from the kernel for IPv4, IPv6 and
# dual stack: the gateway addresses on the bridge (isGateway, implied by isDefaultGateway; an
# IPAM gateway wins over the subnet's first address), the pod's default routes per family
# and via which gateway (none without isDefaultGateway; none added where IPAM routes
# already hold a default with a gateway), forceAddress for each family, and a new bridge
# forwarding IPv6 to its first pod as soon as the ADD returns (no DAD on the bridge).
set -u
. "$(dirname "$0")/../lib.sh"

DATA=$T_TMP/ipam
N=$$
# conf NAME BRIDGE RANGES [JQ]: a sluice-bridge config with those IPAM ranges, changed by JQ
conf() {
	jq -n --arg d "$DATA" --arg n "$1" --arg b "$2" --argjson r "$3" '{cniVersion:"1.0.0",
		name:$n,type:"sluice-bridge",bridge:$b,ipam:{type:"sluice-host-local",dataDir:$d,
		ranges:$r}}' | jq "${4:-.}" >"$T_TMP/$1.json"
	echo "$T_TMP/$1.json"
}
# add POD CONF: ADD into a new netns pod$N-POD (DEL deferred); result in $T_TMP/res.POD
add() {
	mk_netns "pod$N-$1"
	defer "cni DEL cid-$1 '' eth0 $2"
	cni ADD "cid-$1" "pod$N-$1" eth0 "$2" >"$T_TMP/res.$1"
}
t_add() { # NAME POD CONF
	if add "$2" "$3"; then pass "$1"; else fail "$1" "$(cat "$T_TMP/res.$2")"; fi
}
inns() { local p=$1; shift; ip netns exec "pod$N-$p" "$@"; }
pings() { ping_retry "pod$N-$1" "$2"; } # POD ADDR
# defaults POD: the pod's default routes, "<family> via <gw> dev <dev>" of each, main table
defaults() {
	local f
	for f in 4 6; do
		inns "$1" ip -j -"$f" route show default | jq -r --arg f "$f" \
			'.[] | "v\($f) via \(.gateway // "-") dev \(.dev)"'
	done | xargs
}
# braddrs BRIDGE: the bridge's global addresses
braddrs() {
	ip -j addr show "$1" | jq -r '[.[0].addr_info[] | select(.scope=="global") |
		"\(.local)/\(.prefixlen)"] | sort | join(" ")'
}
resgw() { jq -r '[.ips[] | .gateway // "-"] | join(" ")' "$T_TMP/res.$1"; }
resroutes() { jq -r '[.routes // [] | .[] | "\(.dst) \(.gw // "-")"] | join(", ")' "$T_TMP/res.$1"; }

R46='[[{"subnet":"10.81.0.0/24"}],[{"subnet":"fd81::/64"}]]'
R4='[[{"subnet":"10.82.0.0/24"}]]'
R6='[[{"subnet":"fd83::/64"}]]'

# --- isDefaultGateway alone (it implies isGateway) -----------------------------------------
C=$(conf dual gw0 "$R46" '.isDefaultGateway=true')
t_add "dual stack, isDefaultGateway: ADD" d "$C"
check_eq "dual stack: the bridge holds both gateways" "10.81.0.1/24 fd81::1/64" "$(braddrs gw0)"
check_eq "dual stack: one default route per family, via its gateway" \
	"v4 via 10.81.0.1 dev eth0 v6 via fd81::1 dev eth0" "$(defaults d)"
check_eq "dual stack: the result names both gateways and both routes" \
	"10.81.0.1 fd81::1|0.0.0.0/0 10.81.0.1, ::/0 fd81::1" "$(resgw d)|$(resroutes d)"
check "dual stack: the pod reaches its IPv4 gateway" pings d 10.81.0.1
check "dual stack: the pod reaches its IPv6 gateway" pings d fd81::1

C=$(conf v4 gw1 "$R4" '.isDefaultGateway=true')
t_add "IPv4 only, isDefaultGateway: ADD" f "$C"
check_eq "IPv4 only: the bridge holds the gateway" 10.82.0.1/24 "$(braddrs gw1)"
check_eq "IPv4 only: an IPv4 default route only" "v4 via 10.82.0.1 dev eth0" "$(defaults f)"
check "IPv4 only: the pod reaches its gateway" pings f 10.82.0.1

C=$(conf v6 gw2 "$R6" '.isDefaultGateway=true')
t_add "IPv6 only, isDefaultGateway: ADD" s "$C"
# routed by the node into a bridge created a moment ago: the node's neighbour solicitation for
# s goes out from gw2's link-local address at once (no DAD on the bridge), not 1 to 2 s later.
# Read right after the ADD, before any wait: DAD (1 to 2 s) would still hold them tentative.
check_eq "a new bridge: no DAD, no address of it tentative right after the ADD" "0 " \
	"$(sysctl -n net.ipv6.conf.gw2.accept_dad) $(ip -6 -j addr show dev gw2 tentative | jq -r '.[].ifname')"
check "... and pod d (gw0) pings pod s (gw2) through it" \
	pings d "$(jq -r '.ips[0].address | split("/")[0]' "$T_TMP/res.s")"
check_eq "IPv6 only: the bridge holds the gateway" fd83::1/64 "$(braddrs gw2)"
check_eq "IPv6 only: an IPv6 default route only" "v6 via fd83::1 dev eth0" "$(defaults s)"
check "IPv6 only: the pod reaches its gateway" pings s fd83::1

# --- isGateway without isDefaultGateway; neither ----------------------------------------------
C=$(conf gwonly gw3 '[[{"subnet":"10.84.0.0/24"}],[{"subnet":"fd84::/64"}]]' '.isGateway=true')
t_add "isGateway only: ADD" g "$C"
check_eq "isGateway only: the bridge holds both gateways" "10.84.0.1/24 fd84::1/64" "$(braddrs gw3)"
check_eq "isGateway only: no default route in the pod" "" "$(defaults g)"
check_eq "isGateway only: gateways in the result, no routes" "10.84.0.1 fd84::1|" \
	"$(resgw g)|$(resroutes g)"
check "isGateway only: the pod reaches its IPv4 gateway" pings g 10.84.0.1
check "isGateway only: the pod reaches its IPv6 gateway" pings g fd84::1

C=$(conf nogw gw4 '[[{"subnet":"10.85.0.0/24"}],[{"subnet":"fd85::/64"}]]')
t_add "neither: ADD" n "$C"
check_eq "neither: no address on the bridge" "" "$(braddrs gw4)"
check_eq "neither: no default route" "" "$(defaults n)"
check_eq "neither: the result's gateways are IPAM's (the subnets' first addresses)" \
	"10.85.0.1 fd85::1" "$(resgw n)"

# --- the gateway IPAM names; a default route IPAM already gives -------------------------------
C=$(conf ipamgw gw5 '[[{"subnet":"10.86.0.0/24","gateway":"10.86.0.254"}],
	[{"subnet":"fd86::/64","gateway":"fd86::fe"}]]' '.isDefaultGateway=true')
t_add "IPAM gateways: ADD" i "$C"
check_eq "IPAM gateways: on the bridge" "10.86.0.254/24 fd86::fe/64" "$(braddrs gw5)"
check_eq "IPAM gateways: the default routes go through them" \
	"v4 via 10.86.0.254 dev eth0 v6 via fd86::fe dev eth0" "$(defaults i)"

C=$(conf ipamdef gw6 '[[{"subnet":"10.87.0.0/24"}],[{"subnet":"fd87::/64"}]]' \
	'.isDefaultGateway=true | .ipam.routes=[{dst:"0.0.0.0/0",gw:"10.87.0.9"}]')
t_add "an IPAM default route with a gateway: ADD" r "$C"
check_eq "IPAM's IPv4 default stays the only one; IPv6 gets the gateway's" \
	"v4 via 10.87.0.9 dev eth0 v6 via fd87::1 dev eth0" "$(defaults r)"
check_eq "... and the result says so" "0.0.0.0/0 10.87.0.9, ::/0 fd87::1" "$(resroutes r)"

# --- forceAddress, per family ---------------------------------------------------------------
ip link add gw7 type bridge && ip link set gw7 up
defer "ip link del gw7"
ip addr add 10.88.0.99/24 dev gw7 && ip addr add fd88::99/64 dev gw7 nodad
ip addr add fd89::5/64 dev gw7 nodad
RF='[[{"subnet":"10.88.0.0/24"}],[{"subnet":"fd88::/64"}]]'
C=$(conf force6 gw7 '[[{"subnet":"fd88::/64"}]]' '.isGateway=true')
mk_netns "pod$N-x6"
check_eq "an overlapping IPv6 address on the bridge is refused without forceAddress" \
	'7 "gw7" already has an IP address different from fd88::1/64' \
	"$(cni ADD cid-x6 "pod$N-x6" eth0 "$C" | jq -r '"\(.code) \(.msg)"')"
C=$(conf force gw7 "$RF" '.isGateway=true | .forceAddress=true')
t_add "forceAddress, dual stack: ADD" fo "$C"
check_eq "forceAddress replaced each family's address; the unrelated IPv6 prefix stays" \
	"10.88.0.1/24 fd88::1/64 fd89::5/64" "$(braddrs gw7)"
check "forceAddress: the pod reaches its IPv6 gateway" pings fo fd88::1
