#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# sluice-portmap chained after sluice-bridge and after upstream bridge, with real TCP and UDP
# connections over IPv4 and IPv6 through every hostPort path: a "client" netns to the node's
# addresses, the node itself, localhost, a pod to its own and to another pod's hostPort
# (hairpin, masqueraded), hostIP-bound mappings; SCTP INITs through raw sockets, client to
# node; snat false and masqAll; stale UDP conntrack entries flushed on ADD and on DEL, over
# IPv4, IPv6 and hostIP-bound (a flow that keeps its source port works after the pod is
# re-created); CHECK, down to what each element maps to; a hostPort held by another
# attachment refuses the ADD; DEL twice, without portMappings, without prevResult,
# with snat changed, with iptables-only fields; GC; a failure at each ADD step leaves
# nothing; 16 ADDs racing to create the table; the conntrack dump fallback; nothing left in
# nftables at the end.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

N=$$
CL=pmc$N # the client netns
DATA=$T_TMP/ipam
UPDATA=$T_TMP/upipam
CTTOOL=${TOOLS:-build/tests/tools}/cttool
SCTPRAW=${TOOLS:-build/tests/tools}/sctpraw
# the bridge's own addresses (masquerade picks them) and the node's, as the client sees it
GW4=10.96.0.1 GW6=fd97::1 NODE4=192.168.96.1 NODE6=fd96::1 HIP4=192.168.96.10 HIP6=fd96::10
CLI4=192.168.96.2 CLI6=fd96::2

# The node: lo up (localhost), forwarding, and bridged traffic through conntrack (br_netfilter) so that a
# connection between two pods of one bridge that was not masqueraded still works.
ip link set lo up
sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
sysctl -qw net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1 2>/dev/null

mk_netns "$CL"
ip link add "c$N" type veth peer name eth0 netns "$CL"
defer "ip link del c$N"
ip addr add "$NODE4/24" dev "c$N" && ip addr add "$HIP4/24" dev "c$N"
ip addr add "$NODE6/64" dev "c$N" nodad && ip addr add "$HIP6/64" dev "c$N" nodad
ip link set "c$N" up
ip -n "$CL" addr add "$CLI4/24" dev eth0 && ip -n "$CL" addr add "$CLI6/64" dev eth0 nodad
ip -n "$CL" link set eth0 up

BR=$T_TMP/br.json
jq -n --arg d "$DATA" '{cniVersion:"1.0.0",name:"pm",type:"sluice-bridge",bridge:"spm0",isDefaultGateway:true,hairpinMode:true,
	isGateway:true,ipam:{type:"sluice-host-local",dataDir:$d,
	ranges:[[{subnet:"10.96.0.0/24"}],[{subnet:"fd97::/64"}]]}}' >"$BR"
UPBR=$T_TMP/upbr.json
jq -n --arg d "$UPDATA" '{cniVersion:"1.0.0",name:"pmup",type:"bridge",bridge:"upm0",isDefaultGateway:true,hairpinMode:true,
	isGateway:true,ipam:{type:"host-local",dataDir:$d,ranges:[[{subnet:"10.99.0.0/24"}]]}}' >"$UPBR"

# pmconf POD MAPPINGS NAME [JQ]: the portmap stdin of POD: runtimeConfig.portMappings, and the
# interface plugin's result as prevResult
pmconf() {
	jq -n --arg n "$3" --argjson m "$2" --slurpfile r "$T_TMP/$1.br" '{cniVersion:"1.0.0",
		name:$n,type:"sluice-portmap",capabilities:{portMappings:true},
		runtimeConfig:{portMappings:$m},prevResult:$r[0]}' | jq "${4:-.}" >"$T_TMP/$1.pm"
}
# up POD MAPPINGS [JQ] [BRIDGE_CONF]: the chain's ADD into netns pod$N-POD; the final result
# in $T_TMP/POD.res; DELs deferred
up() {
	local p=$1 br=${4:-$BR}
	[ -e "/run/netns/pod$N-$p" ] || mk_netns "pod$N-$p"
	defer "down $p $br"
	cni ADD "cid-$p" "pod$N-$p" eth0 "$br" >"$T_TMP/$p.br" || return 1
	settled "$(jq -r .bridge "$br")" || return 1
	pmconf "$p" "$2" "$(jq -r .name "$br")" "${3:-.}"
	cni ADD "cid-$p" "pod$N-$p" eth0 "$T_TMP/$p.pm" >"$T_TMP/$p.res"
}
# down POD [BRIDGE_CONF]: the chain's DEL in reverse, prevResult the final result
down() {
	withres "$1" >"$T_TMP/$1.pmdel"
	cni DEL "cid-$1" "pod$N-$1" eth0 "$T_TMP/$1.pmdel" >/dev/null &&
		cni DEL "cid-$1" "pod$N-$1" eth0 "${2:-$BR}" >/dev/null
}
# withres POD [JQ]: POD's portmap stdin with the final result as prevResult, changed by JQ
withres() {
	if [ -s "$T_TMP/$1.res" ]; then
		jq --slurpfile r "$T_TMP/$1.res" '.prevResult=$r[0]' "$T_TMP/$1.pm"
	else
		cat "$T_TMP/$1.pm"
	fi | jq "${2:-.}"
}
t_up() { # NAME POD MAPPINGS [JQ] [BRIDGE_CONF]
	local name=$1
	shift
	if up "$@"; then pass "$name"; else fail "$name" "$(cat "$T_TMP/$1.br" "$T_TMP/$1.res" 2>/dev/null)"; fi
}
ip4() { jq -r '.ips[] | select(.address | test("\\.")) | .address | split("/")[0]' "$T_TMP/$1.res"; }
ip6() { jq -r '.ips[] | select(.address | test(":")) | .address | split("/")[0]' "$T_TMP/$1.res"; }

# serve POD: echo servers on TCP and UDP 80, 53 and 443, IPv4 and IPv6, each answering
# "<pod> <the source address it sees>"
serve() {
	local ns=pod$N-$1 t port
	for t in TCP4 TCP6; do
		for port in 80 443; do echo_server "$ns" $t $port "$1 \$SOCAT_PEERADDR"; done
	done
	echo_server "$ns" UDP4 53 "$1 \$SOCAT_PEERADDR"
	echo_server "$ns" UDP6 53 "$1 \$SOCAT_PEERADDR"
	listening "$ns" tcp 80 2 && listening "$ns" tcp 443 2 && listening "$ns" udp 53 2 ||
		fail "servers in pod $1 listening"
}
# get FROM PROTO ADDR PORT [SOCAT_OPTS]: the answer through ADDR:PORT from netns FROM (the
# node: "node", a pod: its name, the client: "cl"), or nothing (ask in tests/lib.sh)
get() {
	local ns
	case $1 in
	node) ns= ;;
	cl) ns=$CL ;;
	*) ns=pod$N-$1 ;;
	esac
	ask "$ns" "$2" "$3" "$4" "${5:-}" | norm6
}
# norm6: "<pod> [fd97:0000:...:0001]" as "<pod> fd97::1"
norm6() {
	local who addr
	read -r who addr || return 0
	if [[ $addr == \[* ]]; then
		addr=$(canon6 "${addr//[][]/}")
	fi
	echo "$who $addr"
}
# canon6 ADDR: an IPv6 address of 8 groups in RFC 5952 form (leading zeros dropped, the
# longest run of two or more zero groups as ::, the first on a tie), in bash alone
canon6() {
	local IFS=: g i s='' best=-1 blen=0 run=0 rs=0
	read -ra g <<<"$1"
	for i in "${!g[@]}"; do
		g[i]=$(printf '%x' "$((16#${g[i]:-0}))")
		if [ "${g[i]}" = 0 ]; then
			[ "$run" -eq 0 ] && rs=$i
			run=$((run + 1))
			if [ "$run" -gt "$blen" ]; then
				blen=$run
				best=$rs
			fi
		else
			run=0
		fi
	done
	[ "$blen" -lt 2 ] && best=-1
	for i in "${!g[@]}"; do
		if [ "$i" -eq "$best" ]; then
			s="$s::"
		elif [ "$best" -lt 0 ] || [ "$i" -lt "$best" ] || [ "$i" -ge $((best + blen)) ]; then
			[ -n "$s" ] && [ "${s: -1}" != : ] && s="$s:"
			s="$s${g[i]}"
		fi
	done
	echo "$s"
}
elems() { # [OWNER_PREFIX]: elements of sluice_portmap (of that owner)
	nft -j list table inet sluice_portmap 2>/dev/null | jq --arg o "${1:-}" '[.nftables[] |
		select(.set or .map) | (.set // .map).elem // [] | .[] |
		(if type == "array" then .[0] else . end) | (.elem.comment? // "") |
		select(startswith($o))] | length'
}
owned() { elems "cid-$1/"; }

# --- ADD: pods a (tcp and udp, hostIP-bound on each family) and b, their servers --------
MAPS_A='[{"hostPort":8080,"containerPort":80,"protocol":"tcp"},
	{"hostPort":5353,"containerPort":53,"protocol":"udp"},
	{"hostPort":8443,"containerPort":443,"protocol":"tcp","hostIP":"'$HIP4'"},
	{"hostPort":8444,"containerPort":443,"protocol":"TCP","hostIP":"'$HIP6'"},
	{"hostPort":5355,"containerPort":53,"protocol":"udp","hostIP":"'$HIP4'"},
	{"hostPort":5356,"containerPort":53,"protocol":"udp","hostIP":"'$HIP6'"}]'
t_up "ADD pod a with six mappings" a "$MAPS_A"
t_up "ADD pod b without mappings" b '[]'
check_eq "the result is the bridge's, passed through" "$(jq -cS . "$T_TMP/a.br")" \
	"$(jq -cS . "$T_TMP/a.res")"
check_eq "pod b: nothing in nftables" 0 "$(owned b)"
# ports4 2, ports6 2, hostip4 2, hostip6 2, snat4 4, snat6 4, local4 1, local6 1, owners 1
check_eq "pod a: 19 elements" 19 "$(owned a)"
check_eq "route_localnet on the bridge (localhost hostPorts)" 1 \
	"$(sysctl -n net.ipv4.conf.spm0.route_localnet)"
serve a
serve b
A4=$(ip4 a) A6=$(ip6 a) B4=$(ip4 b) B6=$(ip6 b)

# --- every path -----------------------------------------------------------------------------
check_eq "client -> node:8080 tcp4 (client address kept)" "a $CLI4" "$(get cl tcp4 $NODE4 8080)"
check_eq "client -> node:8080 tcp6" "a $CLI6" "$(get cl tcp6 $NODE6 8080)"
check_eq "client -> node:5353 udp4" "a $CLI4" "$(get cl udp4 $NODE4 5353)"
check_eq "client -> node:5353 udp6" "a $CLI6" "$(get cl udp6 $NODE6 5353)"
check_eq "node -> its address:8080 tcp4" "a $NODE4" "$(get node tcp4 $NODE4 8080)"
check_eq "node -> its address:8080 tcp6" "a $NODE6" "$(get node tcp6 $NODE6 8080)"
check_eq "node -> its address:5353 udp4" "a $NODE4" "$(get node udp4 $NODE4 5353)"
check_eq "node -> its address:5353 udp6" "a $NODE6" "$(get node udp6 $NODE6 5353)"
check_eq "node -> the bridge address:8080 tcp4" "a $GW4" "$(get node tcp4 $GW4 8080)"
check_eq "localhost 127.0.0.1:8080 tcp (masqueraded)" "a $GW4" "$(get node tcp4 127.0.0.1 8080)"
check_eq "localhost 127.0.0.1:5353 udp" "a $GW4" "$(get node udp4 127.0.0.1 5353)"
# IPv6 has no route_localnet: the kernel drops replies to ::1 that come from a pod, so ::1 is
# not mapped and a connection is refused at once
check_eq "localhost [::1]:8080 is not mapped" "" "$(get node tcp6 ::1 8080)"
check_eq "pod b -> node:8080 tcp4 (hairpin, masqueraded)" "a $GW4" "$(get b tcp4 $NODE4 8080)"
check_eq "pod b -> node:8080 tcp6" "a $GW6" "$(get b tcp6 $NODE6 8080)"
check_eq "pod b -> node:5353 udp4" "a $GW4" "$(get b udp4 $NODE4 5353)"
check_eq "pod b -> node:5353 udp6" "a $GW6" "$(get b udp6 $NODE6 5353)"
check_eq "pod a -> its own hostPort tcp4" "a $GW4" "$(get a tcp4 $NODE4 8080)"
check_eq "pod a -> its own hostPort tcp6" "a $GW6" "$(get a tcp6 $NODE6 8080)"
check_eq "pod a -> its own hostPort udp4" "a $GW4" "$(get a udp4 $NODE4 5353)"
check_eq "pod a -> its own hostPort udp6" "a $GW6" "$(get a udp6 $NODE6 5353)"
check_eq "pod b -> pod a directly: not masqueraded" "a $B4" "$(get b tcp4 "$A4" 80)"
check_eq "pod b -> pod a directly over IPv6: not masqueraded" "a $B6" "$(get b tcp6 "$A6" 80)"
check_eq "hostIP $HIP4:8443 reaches a" "a $CLI4" "$(get cl tcp4 $HIP4 8443)"
check_eq "hostIP-bound 8443 not on the node's other address" "" "$(get cl tcp4 $NODE4 8443)"
check_eq "hostIP-bound 8443 not over IPv6" "" "$(get cl tcp6 $HIP6 8443)"
check_eq "hostIP [$HIP6]:8444 reaches a" "a $CLI6" "$(get cl tcp6 $HIP6 8444)"
check_eq "hostIP-bound 8444 not on the node's other address" "" "$(get cl tcp6 $NODE6 8444)"
check_eq "hostIP-bound 8444 not over IPv4" "" "$(get cl tcp4 $HIP4 8444)"
check_eq "hostIP $HIP4:5355 udp reaches a" "a $CLI4" "$(get cl udp4 $HIP4 5355)"
check_eq "hostIP-bound udp 5355 not on the node's other address" "" "$(get cl udp4 $NODE4 5355)"
check_eq "hostIP-bound udp 5355 not over IPv6" "" "$(get cl udp6 $HIP6 5355)"
check_eq "hostIP [$HIP6]:5356 udp reaches a" "a $CLI6" "$(get cl udp6 $HIP6 5356)"
check_eq "hostIP-bound udp 5356 not on the node's other address" "" "$(get cl udp6 $NODE6 5356)"
check_eq "hostIP-bound udp 5356 not over IPv4" "" "$(get cl udp4 $HIP4 5356)"
check_eq "port 80 of the node is not a's" "" "$(get cl tcp4 $NODE4 80)"

# --- snat false, masqAll --------------------------------------------------------------------
t_up "ADD pod d with snat false" d '[{"hostPort":6060,"containerPort":80,"protocol":"tcp"}]' \
	'.snat=false'
t_up "ADD pod c with masqAll" c '[{"hostPort":7070,"containerPort":80,"protocol":"tcp"}]' \
	'.masqAll=true'
serve d
serve c
check_eq "snat false: 2 DNAT elements and the owner, no snat/local elements" 3 "$(owned d)"
check_eq "snat false: client reaches d" "d $CLI4" "$(get cl tcp4 $NODE4 6060)"
check_eq "snat false: pod b -> d's hostPort keeps b's address" "d $B4" "$(get b tcp4 $NODE4 6060)"
check_eq "snat false: localhost fails (not masqueraded)" "" "$(get node tcp4 127.0.0.1 6060)"
check_eq "masqAll: client -> c is masqueraded" "c $GW4" "$(get cl tcp4 $NODE4 7070)"
check_eq "masqAll: over IPv6 too" "c $GW6" "$(get cl tcp6 $NODE6 7070)"
check_eq "masqAll: no hairpin subnet elements" 0 "$(nft -j list set inet sluice_portmap local4 |
	jq '[.nftables[].set.elem // [] | .[] | select(.elem.comment | startswith("cid-c/"))] |
	length')"

# --- CHECK ----------------------------------------------------------------------------------
withres a >"$T_TMP/a.chk"
check "CHECK passes with mappings set" cni CHECK cid-a "pod$N-a" eth0 "$T_TMP/a.chk"
nft delete element inet sluice_portmap ports4 '{ udp . 5353 }'
out=$(cni CHECK cid-a "pod$N-a" eth0 "$T_TMP/a.chk")
check_eq "CHECK fails when a mapping is gone" "103 portmap: no element udp/5353 -> $A4:53 in set ports4" \
	"$(jq -r '"\(.code) \(.msg)"' <<<"$out")"
cni ADD cid-a "pod$N-a" eth0 "$T_TMP/a.pm" >/dev/null
check "CHECK passes after ADD again" cni CHECK cid-a "pod$N-a" eth0 "$T_TMP/a.chk"
# what an element maps to counts: a's tcp/8080 re-added, with its comment, to port 81, and
# a snat element of a re-added to goto masqall instead of hairpin4
cmt=$(nft -j list map inet sluice_portmap ports4 | jq -r '.nftables[].map.elem // [] | .[] |
	select(.[0].elem.val.concat == ["tcp", 8080]) | .[0].elem.comment')
nft delete element inet sluice_portmap ports4 '{ tcp . 8080 }'
nft add element inet sluice_portmap ports4 "{ tcp . 8080 comment \"$cmt\" : $A4 . 81 }"
# tampered WHAT WANT RESTORED: CHECK of a fails with WANT, then passes once ADD has re-added
tampered() {
	local out
	out=$(cni CHECK cid-a "pod$N-a" eth0 "$T_TMP/a.chk")
	check_eq "CHECK fails when $1" "$2" "$(jq -r '"\(.code) \(.msg)"' <<<"$out")"
	cni ADD cid-a "pod$N-a" eth0 "$T_TMP/a.pm" >/dev/null
	check "CHECK passes after ADD again ($3 restored)" cni CHECK cid-a "pod$N-a" eth0 "$T_TMP/a.chk"
}
tampered "a mapping points at another port" \
	"103 portmap: no element tcp/8080 -> $A4:80 in set ports4" port
nft delete element inet sluice_portmap snat4 "{ $A4 . tcp . 80 . 8080 }"
nft add element inet sluice_portmap snat4 "{ $A4 . tcp . 80 . 8080 comment \"$cmt\" : goto masqall }"
tampered "a snat element goes to another chain" \
	"103 portmap: no element $A4 tcp/80 from host port 8080 in set snat4" chain
sysctl -qw net.ipv4.conf.spm0.route_localnet=0
out=$(cni CHECK cid-a "pod$N-a" eth0 "$T_TMP/a.chk")
check_eq "CHECK sees route_localnet turned off" "103 route_localnet is off on spm0" \
	"$(jq -r '"\(.code) \(.msg)"' <<<"$out")"
sysctl -qw net.ipv4.conf.spm0.route_localnet=1
withres a 'del(.prevResult)' >"$T_TMP/a.noprev"
check_eq "CHECK without prevResult is a config error" 7 \
	"$(cni CHECK cid-a "pod$N-a" eth0 "$T_TMP/a.noprev" | jq .code)"

# --- UDP conntrack: flushed on ADD and on DEL -------------------------------------------------
# The client keeps its source port, so that each datagram meets the same conntrack entry.
SP=",sourceport=40001,reuseaddr"
# ctn PORT [ipv6 [DST]]: the UDP entries of that original destination (port, address)
ctn() { conntrack -L -f "${2:-ipv4}" -p udp --orig-port-dst "$1" ${3:+--orig-dst "$3"} 2>/dev/null | grep -c udp; }
check_eq "before any mapping: nothing answers on 5454" "" "$(get cl udp4 $NODE4 5454 "$SP")"
check_eq "a stale entry for 5454 (to the node itself)" 1 "$(ctn 5454)"
check_eq "before any mapping: nothing answers on 5454 over IPv6" "" "$(get cl udp6 $NODE6 5454 "$SP")"
check_eq "a stale IPv6 entry for 5454" 1 "$(ctn 5454 ipv6)"
# hostIP-bound: stale entries to HIP4 and HIP6, and to the node's other addresses (kept:
# the flush is by host address too)
for hp in "udp4 $HIP4" "udp6 $HIP6" "udp4 $NODE4" "udp6 $NODE6"; do
	get cl "${hp% *}" "${hp#* }" 5757 "$SP" >/dev/null
done
check_eq "stale entries for 5757: to HIP4, HIP6, NODE4, NODE6" "1 1 1 1" \
	"$(ctn 5757 ipv4 $HIP4) $(ctn 5757 ipv6 $HIP6) $(ctn 5757 ipv4 $NODE4) $(ctn 5757 ipv6 $NODE6)"
t_up "ADD pod f with udp 5454, and 5757 bound to $HIP4 and $HIP6" f \
	'[{"hostPort":5454,"containerPort":53,"protocol":"udp"},
	{"hostPort":5757,"containerPort":53,"protocol":"udp","hostIP":"'$HIP4'"},
	{"hostPort":5757,"containerPort":53,"protocol":"udp","hostIP":"'$HIP6'"}]'
serve f
check_eq "the same flow reaches f after its ADD (entry flushed)" "f $CLI4" \
	"$(get cl udp4 $NODE4 5454 "$SP")"
check_eq "one entry, DNATed to f" 1 "$(conntrack -L -p udp --orig-port-dst 5454 \
	--reply-src "$(ip4 f)" 2>/dev/null | grep -c udp)"
check_eq "the same IPv6 flow reaches f after its ADD" "f $CLI6" "$(get cl udp6 $NODE6 5454 "$SP")"
check_eq "one IPv6 entry, DNATed to f" 1 "$(conntrack -L -f ipv6 -p udp --orig-port-dst 5454 \
	--reply-src "$(ip6 f)" 2>/dev/null | grep -c udp)"
check_eq "hostIP-bound: the same flow to $HIP4:5757 reaches f" "f $CLI4" "$(get cl udp4 $HIP4 5757 "$SP")"
check_eq "hostIP-bound: the same flow to [$HIP6]:5757 reaches f" "f $CLI6" "$(get cl udp6 $HIP6 5757 "$SP")"
check_eq "hostIP-bound: the entries to the other addresses were left alone" "1 1" \
	"$(ctn 5757 ipv4 $NODE4) $(ctn 5757 ipv6 $NODE6)"
down f
check_eq "DEL of f flushed its entries (IPv4, IPv6, both hostIPs)" "0 0 0 0" \
	"$(ctn 5454) $(ctn 5454 ipv6) $(ctn 5757 ipv4 $HIP4) $(ctn 5757 ipv6 $HIP6)"
t_up "ADD pod g with the same udp 5454 and 5757" g "$(jq -c .runtimeConfig.portMappings "$T_TMP/f.pm")"
serve g
check_eq "the same flow reaches the re-created pod" "g $CLI4" "$(get cl udp4 $NODE4 5454 "$SP")"
check_eq "the same IPv6 flow reaches the re-created pod" "g $CLI6" "$(get cl udp6 $NODE6 5454 "$SP")"
check_eq "hostIP-bound: the same flows reach the re-created pod" "g $CLI4|g $CLI6" \
	"$(get cl udp4 $HIP4 5757 "$SP")|$(get cl udp6 $HIP6 5757 "$SP")"
get cl udp4 $NODE4 5555 "$SP" >/dev/null
check_eq "dump fallback: a stale entry for 5555" 1 "$(ctn 5555)"
check "dump fallback: cttool -d deletes it" "$CTTOOL" -d 4 udp 5555
check_eq "dump fallback: gone" 0 "$(ctn 5555)"

# --- SCTP -------------------------------------------------------------------------------------
# This kernel has no SCTP sockets; tests/tools/sctpraw sends one INIT (CRC32c and all) through
# a raw socket, and a raw socket in the pod prints where it arrived. conntrack keeps an
# association's DNAT after DEL (as TCP's), so the check after DEL starts a new one.
t_up "ADD pod s with sctp 9132 -> 132" s '[{"hostPort":9132,"containerPort":132,"protocol":"sctp"}]'
S4=$(ip4 s) S6=$(ip6 s)
# sctp_to SRC DST SPORT: "SRC DST SPORT DPORT" of the INIT from the client (SRC:SPORT) to
# DST:9132 as pod s sees it on port 132, or nothing within 3 s
sctp_to() {
	local pid i
	ip netns exec "pod$N-s" "$SCTPRAW" recv 132 3000 >"$T_TMP/sctp.out" &
	pid=$!
	# again until the receiver has one (its sockets may not be open yet): the same association
	for i in $(seq 1 10); do
		ip netns exec "$CL" "$SCTPRAW" send "$1" "$2" "$3" 9132
		sleep 0.2
		kill -0 "$pid" 2>/dev/null || break
	done
	wait "$pid"
	cat "$T_TMP/sctp.out"
}
check_eq "sctp: client -> node:9132 arrives in s at its address, port 132" "$CLI4 $S4 40132 132" \
	"$(sctp_to $CLI4 $NODE4 40132)"
check_eq "sctp over IPv6" "$CLI6 $S6 40132 132" "$(sctp_to $CLI6 $NODE6 40132)"
withres s >"$T_TMP/s.pmdel"
check "sctp: DEL of s's mapping" cni DEL cid-s "" eth0 "$T_TMP/s.pmdel"
check_eq "sctp: after DEL a new association no longer arrives" "" "$(sctp_to $CLI4 $NODE4 40133)"
check_eq "sctp: nor over IPv6" "" "$(sctp_to $CLI6 $NODE6 40133)"

# --- a hostPort is held by one attachment (more in portmap-hold.sh) --------------------------
up e '[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]'
check_eq "ADD of pod e on a's 8080 is refused, naming a" \
	"102 host port 8080/tcp (IPv4) is held by container cid-a, interface eth0; its DEL (or a GC) frees it" \
	"$(jq -r '"\(.code) \(.msg)"' "$T_TMP/e.res")"
check_eq "... nothing of e added" 0 "$(owned e)"
check "CHECK of a still passes" cni CHECK cid-a "pod$N-a" eth0 "$T_TMP/a.chk"
down a
check_eq "DEL of a removed a's" 0 "$(owned a)"
if cni ADD cid-e "pod$N-e" eth0 "$T_TMP/e.pm" >"$T_TMP/e.res"; then
	pass "ADD of pod e on 8080 now succeeds"
else
	fail "ADD of pod e on 8080 now succeeds" "$(cat "$T_TMP/e.res")"
fi
serve e
check_eq "8080 now reaches e" "e $CLI4" "$(get cl tcp4 $NODE4 8080)"
check_eq "e has its 7 elements" 7 "$(owned e)"
withres e >"$T_TMP/e.chk"
check "CHECK of e passes" cni CHECK cid-e "pod$N-e" eth0 "$T_TMP/e.chk"
check "DEL again succeeds" down a
check_eq "a's hostIP mapping is gone" "" "$(get cl tcp4 $HIP4 8443)"

# --- DEL without portMappings, without prevResult; GC ------------------------------------------
withres e 'del(.runtimeConfig)' >"$T_TMP/e.nopm"
check "DEL of e without portMappings" cni DEL cid-e "" eth0 "$T_TMP/e.nopm"
check_eq "... removes e's elements by container ID" 0 "$(owned e)"
check_eq "8080 is free" "" "$(get cl tcp4 $NODE4 8080)"
withres d 'del(.prevResult)' >"$T_TMP/d.noprev"
check "DEL of d without prevResult" cni DEL cid-d "" eth0 "$T_TMP/d.noprev"
check_eq "... removes d's elements" 0 "$(owned d)"
jq -n '{cniVersion:"1.1.0",name:"pm",type:"sluice-portmap",
	"cni.dev/valid-attachments":[{containerID:"cid-c",ifname:"eth0"}]}' >"$T_TMP/gc.json"
check "GC with c valid" cni GC "" "" "" "$T_TMP/gc.json"
check_eq "GC removed g's elements" 0 "$(owned g)"
check_eq "GC kept c's" 5 "$(owned c)"
check_eq "c still answers" "c $GW4" "$(get cl tcp4 $NODE4 7070)"

# --- DEL of an upstream config with iptables-only fields ---------------------------------------
# ADD and CHECK refuse them; DEL goes by container ID, so that the chain's DEL goes on to the
# bridge (libcni stops at the first error: the veth and the address would leak)
t_up "ADD pod h with udp 5656 and tcp 5657" h \
	'[{"hostPort":5656,"containerPort":53,"protocol":"udp"},{"hostPort":5657,"containerPort":80,"protocol":"tcp"}]'
serve h
IPT='.markMasqBit=13 | .externalSetMarkChain="KUBE-MARK-MASQ" | .conditionsV4=["-s","10.0.0.0/8"] |
	.conditionsV6=["ip6","saddr","::1"]'
withres h "$IPT" >"$T_TMP/h.ipt"
nh=$(owned h)
check_eq "ADD with markMasqBit, externalSetMarkChain, conditionsV4/V6: 2, h's mappings kept" \
	"2 $nh" "$(cni ADD cid-h "pod$N-h" eth0 "$T_TMP/h.ipt" | jq .code) $(owned h)"
check_eq "CHECK with them: 2" 2 "$(cni CHECK cid-h "pod$N-h" eth0 "$T_TMP/h.ipt" | jq .code)"
check "DEL with them succeeds" cni DEL cid-h "pod$N-h" eth0 "$T_TMP/h.ipt"
check_eq "... and removed h's elements by container ID" 0 "$(owned h)"
check_eq "... 5657 no longer reaches h" "" "$(get cl tcp4 $NODE4 5657)"
check "the bridge's DEL after it" cni DEL cid-h "pod$N-h" eth0 "$BR"
check_eq "... h's address released, nothing of h in nftables" "0 0" \
	"$(grep -rl '^cid-h' "$DATA" 2>/dev/null | wc -l) $(owned h)"

# --- a failure at each ADD step leaves nothing ----------------------------------------------
jq '.runtimeConfig.portMappings=[{hostPort:7171,containerPort:53,protocol:"udp"}]' \
	"$T_TMP/c.pm" >"$T_TMP/x.pm"
for step in localnet nft conntrack; do
	out=$(SLUICE_FAULT=$step cni ADD cid-x "pod$N-c" eth0 "$T_TMP/x.pm")
	check_eq "fault at $step: ADD fails" "999 injected failure at $step" \
		"$(jq -r '"\(.code) \(.msg)"' <<<"$out")"
	check_eq "fault at $step: nothing of cid-x" 0 "$(owned x)"
done

# --- 16 ADDs racing to create the table in a fresh netns, then 16 DELs -----------------------
RACE=pmr$N
mk_netns "$RACE"
race() { # VERB I: sluice-portmap alone in $RACE, pod address 10.97.0.I, host port 9000+I
	jq -n --argjson i "$2" '{cniVersion:"1.0.0",name:"race",type:"sluice-portmap",
		runtimeConfig:{portMappings:[{hostPort:(9000+$i),containerPort:80,protocol:"udp"}]},
		prevResult:{cniVersion:"1.0.0",interfaces:[{name:"eth0",sandbox:"/x"}],
		ips:[{address:"10.97.0.\($i + 2)/24",interface:0}]}}' |
		ip netns exec "$RACE" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin CNI_COMMAND="$1" \
			CNI_CONTAINERID="race-$2" CNI_NETNS="/run/netns/$CL" CNI_IFNAME=eth0 CNI_PATH="$BIN" "$BIN/sluice-portmap" \
			>"$T_TMP/race.$1.$2"
}
relems() { ip netns exec "$RACE" nft -j list table inet sluice_portmap 2>/dev/null | jq '[
	.nftables[] | select(.set or .map) | (.set // .map).elem // [] | .[]] | length'; }
pids=()
for i in $(seq 1 16); do race ADD "$i" & pids+=($!); done
wait "${pids[@]}"
check_eq "16 racing ADDs all succeed" "" "$(for i in $(seq 1 16); do jq -e .ips >/dev/null \
	<"$T_TMP/race.ADD.$i" || echo "$i"; done)"
check_eq "one table, 4 DNAT rules, 16 x 4 elements" "4 64" "$(ip netns exec "$RACE" nft -j list \
	chain inet sluice_portmap hostports | jq '[.nftables[] | select(.rule)] | length') $(relems)"
pids=()
for i in $(seq 1 16); do race DEL "$i" & pids+=($!); done
wait "${pids[@]}"
check_eq "16 parallel DELs leave nothing" 0 "$(relems)"

# --- chained after upstream bridge ------------------------------------------------------------
t_up "ADD pod u: upstream bridge, then sluice-portmap" u \
	'[{"hostPort":8181,"containerPort":80,"protocol":"tcp"},{"hostPort":8182,"containerPort":53,"protocol":"udp"}]' \
	. "$UPBR"
serve u
check_eq "upstream bridge: client -> 8181 tcp" "u $CLI4" "$(get cl tcp4 $NODE4 8181)"
check_eq "upstream bridge: client -> 8182 udp" "u $CLI4" "$(get cl udp4 $NODE4 8182)"
check_eq "upstream bridge: localhost" "u 10.99.0.1" "$(get node tcp4 127.0.0.1 8181)"
check_eq "upstream bridge: route_localnet on its bridge" 1 \
	"$(sysctl -n net.ipv4.conf.upm0.route_localnet)"
withres u >"$T_TMP/u.chk"
check "upstream bridge: CHECK" cni CHECK cid-u "pod$N-u" eth0 "$T_TMP/u.chk"
check "upstream bridge: DEL" down u "$UPBR"
check_eq "upstream bridge: u's elements gone" 0 "$(owned u)"

# --- nothing left -------------------------------------------------------------------------------
withres c '.snat=false | .masqAll=false' >"$T_TMP/c.nosnat"
check "DEL of c (masqAll at ADD) with snat false now" cni DEL cid-c "" eth0 "$T_TMP/c.nosnat"
check_eq "... still removes every element of c" 0 "$(owned c)"
for p in b c d g; do down "$p"; done
check_eq "no element left in sluice_portmap" 0 "$(elems)"
check_eq "no iptables rule of a portmap" 0 "$({ iptables -t nat -S; ip6tables -t nat -S; } 2>/dev/null |
	grep -c -e CNI- -e dport)"
check_eq "the static chains stay: 4 DNAT rules" 4 \
	"$(nft -j list chain inet sluice_portmap hostports | jq '[.nftables[] | select(.rule)] | length')"
