#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# sluice-portmap with 4,000 portMappings, as a runtime publishing a port range gives them
# (podman -p 20000-21999 for TCP and UDP): one all-or-nothing ADD (one held port among them
# refuses the whole ADD), TCP traffic over IPv4 and IPv6 to the first and the last port,
# CHECK (and CHECK finding one missing element among 16,000), ADD again, DEL leaving nothing.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

N=$$
DATA=$T_TMP/ipam
NODE4=192.168.95.1 NODE6=fd95::1
FIRST=20000 LAST=21999

ip link set lo up
sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
mk_netns "pmsc$N" # the client
ip link add "h$N" type veth peer name eth0 netns "pmsc$N" && defer "ip link del h$N"
ip addr add "$NODE4/24" dev "h$N" && ip addr add "$NODE6/64" dev "h$N" nodad
ip -n "pmsc$N" addr add 192.168.95.2/24 dev eth0 && ip -n "pmsc$N" addr add fd95::2/64 dev eth0 nodad
ip link set "h$N" up && ip -n "pmsc$N" link set eth0 up

BR=$T_TMP/br.json
jq -n --arg d "$DATA" '{cniVersion:"1.0.0",name:"pms",type:"sluice-bridge",bridge:"spms0",
	isGateway:true,isDefaultGateway:true,ipam:{type:"sluice-host-local",dataDir:$d,
	ranges:[[{subnet:"10.95.0.0/24"}],[{subnet:"fd98::/64"}]]}}' >"$BR"
mk_netns "pod$N"
defer "cni DEL cid-big pod$N eth0 $BR"
cni ADD cid-big "pod$N" eth0 "$BR" >"$T_TMP/big.br" || fail "bridge ADD"
P6=$(jq -r '.ips[] | select(.address | test(":")) | .address | split("/")[0]' "$T_TMP/big.br")

# pm VERB CID MAPPINGS_FILE: sluice-portmap with the pod's bridge result as prevResult
pm() {
	jq -n --slurpfile m "$3" --slurpfile r "$T_TMP/big.br" '{cniVersion:"1.0.0",name:"pms",
		type:"sluice-portmap",capabilities:{portMappings:true},
		runtimeConfig:{portMappings:$m[0]},prevResult:$r[0]}' >"$T_TMP/$2.pm"
	cni "$1" "$2" "pod$N" eth0 "$T_TMP/$2.pm" >"$T_TMP/$2.out"
}
jq -n --argjson f $FIRST --argjson l $LAST '[range($f; $l + 1) |
	{hostPort:., containerPort:80, protocol:"tcp"}, {hostPort:., containerPort:53, protocol:"udp"}]' \
	>"$T_TMP/maps.json"
elems() { sluice_nft_elems "$1/"; }

check_eq "4,000 mappings" 4000 "$(jq length "$T_TMP/maps.json")"
echo_server "pod$N" TCP4 80 big
echo_server "pod$N" TCP6 80 big
listening "pod$N" tcp 80 2 || fail "servers in the pod listening"

# no table yet: every message of the first batch of a DEL, and of an ADD, fails (thousands
# of answers, more than the socket's receive buffer holds)
check "DEL of 4,000 before any ADD succeeds" pm DEL cid-big "$T_TMP/maps.json"
# stale UDP conntrack entries of host ports in the range (and one outside, kept): ADD flushes
# those of its 2,000 UDP host ports per family (through one dump of the table per 256: a
# filtered flush per port walks the whole table, 2,000 times)
ct_add() { conntrack -I -s 192.168.95.2 -d "$NODE4" -p udp --sport 40000 --dport "$1" -t 100 >/dev/null 2>&1; }
ctn() { conntrack -L -p udp --orig-port-dst "$1" 2>/dev/null | grep -c udp; }
for p in $FIRST 21000 $LAST $((LAST + 1)); do ct_add "$p"; done
check_eq "stale UDP entries for $FIRST, 21000, $LAST and $((LAST + 1))" "1 1 1 1" \
	"$(ctn $FIRST) $(ctn 21000) $(ctn $LAST) $(ctn $((LAST + 1)))"
check "ADD of 4,000 mappings" pm ADD cid-big "$T_TMP/maps.json"
# per family: 4,000 DNAT and 4,000 snat elements, the local one; and the owner
check_eq "... 16,003 elements" 16003 "$(elems cid-big)"
check_eq "ADD flushed the entries of its UDP host ports, not the other" "0 0 0 1" \
	"$(ctn $FIRST) $(ctn 21000) $(ctn $LAST) $(ctn $((LAST + 1)))"
check_eq "tcp4 to the first port reaches the pod" big "$(ask "pmsc$N" tcp4 "$NODE4" "$FIRST")"
check_eq "tcp4 to the last port reaches the pod" big "$(ask "pmsc$N" tcp4 "$NODE4" "$LAST")"
check_eq "tcp6 to the last port reaches the pod" big "$(ask "pmsc$N" tcp6 "$NODE6" "$LAST")"
check_eq "a port outside the range does not" "" "$(ask "pmsc$N" tcp4 "$NODE4" "$((LAST + 1))")"
check "CHECK passes" pm CHECK cid-big "$T_TMP/maps.json"
nft delete element inet sluice_portmap ports6 "{ udp . 21234 }"
pm CHECK cid-big "$T_TMP/maps.json"
check_eq "CHECK finds the one element missing" \
	"103 portmap: no element udp/21234 -> $P6:53 in set ports6" \
	"$(jq -r '"\(.code) \(.msg)"' "$T_TMP/cid-big.out")"
check "ADD again" pm ADD cid-big "$T_TMP/maps.json"
check "CHECK passes again" pm CHECK cid-big "$T_TMP/maps.json"
check_eq "... 16,003 elements" 16003 "$(elems cid-big)"
ct_add 21001
check "DEL" pm DEL cid-big "$T_TMP/maps.json"
check_eq "DEL leaves nothing" 0 "$(sluice_nft_elems)"
check_eq "DEL flushed the entry of its UDP host port 21001" 0 "$(ctn 21001)"
check "DEL again succeeds" pm DEL cid-big "$T_TMP/maps.json"
check_eq "tcp4 to the first port no longer reaches the pod" "" "$(ask "pmsc$N" tcp4 "$NODE4" "$FIRST")"
# all or nothing: the last of the 4,000 is held by another attachment
jq -n --argjson l $LAST '[{hostPort:$l, containerPort:53, protocol:"udp"}]' >"$T_TMP/last.json"
check "another attachment holds udp $LAST" pm ADD cid-other "$T_TMP/last.json"
check_fail "ADD of 4,000 with the last one held fails" pm ADD cid-big "$T_TMP/maps.json"
check_eq "... with code 102" 102 "$(jq .code "$T_TMP/cid-big.out")"
check_eq "... and adds none of them" 0 "$(elems cid-big)"
check "DEL of the other attachment" pm DEL cid-other "$T_TMP/last.json"

check "ADD of 4,000 again, for a DEL without mappings" pm ADD cid-big "$T_TMP/maps.json"
jq -n '{cniVersion:"1.0.0",name:"pms",type:"sluice-portmap"}' >"$T_TMP/bycid.json"
check "DEL by container ID" cni DEL cid-big "" eth0 "$T_TMP/bycid.json"
check_eq "... leaves nothing" 0 "$(sluice_nft_elems)"
