#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# sluice-bridge in network namespaces: pods reach each other and, masqueraded, an
# "outside" namespace; every option read back from the kernel; CHECK; DEL (twice, without
# netns, after the netns is gone); a failure forced at each ADD step leaves nothing; GC;
# parallel ADD/DEL on one bridge.
set -u
. "$(dirname "$0")/../lib.sh"

DATA=$T_TMP/ipam
N=$$
# conf NAME [JQ]: a sluice-bridge config (dual stack, gateway, ipMasq), changed by JQ
conf() {
	jq -n --arg d "$DATA" --arg n "$1" '{cniVersion:"1.0.0",name:$n,type:"sluice-bridge",
		bridge:"sbr0",isGateway:true,isDefaultGateway:true,ipMasq:true,
		ipam:{type:"sluice-host-local",dataDir:$d,
		      ranges:[[{subnet:"10.93.0.0/24"}],[{subnet:"fd93::/64"}]]}}' |
		jq "${2:-.}" >"$T_TMP/$1.json"
	echo "$T_TMP/$1.json"
}
BASE=$(conf base)

# add POD [CONF] [CID]: ADD into a new netns pod$N-POD; the result goes to $T_TMP/res.POD
add() {
	local p=$1 c=${2:-$BASE} cid=${3:-cid-$1}
	[ -e "/run/netns/pod$N-$p" ] || mk_netns "pod$N-$p"
	defer "cni DEL $cid '' eth0 $c"
	cni ADD "$cid" "pod$N-$p" eth0 "$c" >"$T_TMP/res.$p"
}
# t_add NAME POD [CONF] [CID]: add, reported as a check (the cleanup stays in this shell)
t_add() {
	local name=$1
	shift
	if add "$@"; then pass "$name"; else fail "$name" "$(cat "$T_TMP/res.$1")"; fi
}
inns() { local p=$1; shift; ip netns exec "pod$N-$p" "$@"; }
res() { jq -r "$2" "$T_TMP/res.$1"; }
ip4() { res "$1" '.ips[] | select(.address | test("\\.")) | .address | split("/")[0]'; }
ip6() { res "$1" '.ips[] | select(.address | test(":")) | .address | split("/")[0]'; }
hostveth() { res "$1" '.interfaces[1].name'; }
reservations() { find "$DATA" -type f ! -name lock ! -name 'last_reserved_ip.*' 2>/dev/null | wc -l; }
masq_elems() { nft -j list set inet sluice_masq "$1" 2>/dev/null | jq "[.nftables[].set.elem // empty | .[]] | length" 2>/dev/null || echo 0; }
masq_owner_count() { nft list table inet sluice_masq 2>/dev/null | grep -c "\"$1/" || true; }

# --- two pods, dual stack -----------------------------------------------------------------
t_add "ADD pod a" a
t_add "ADD pod b" b
check_eq "result interfaces: bridge, host veth, container" "sbr0 veth eth0 /run/netns/pod$N-a" \
	"$(res a '[.interfaces[0].name, (.interfaces[1].name|.[0:4]), .interfaces[2].name, .interfaces[2].sandbox] | join(" ")')"
check_eq "addresses belong to interface 2, gateways set" "2 10.93.0.1 2 fd93::1" \
	"$(res a '[.ips[] | "\(.interface) \(.gateway)"] | join(" ")')"
check_eq "default routes for both families in the result" "0.0.0.0/0 10.93.0.1 ::/0 fd93::1" \
	"$(res a '[.routes[] | "\(.dst) \(.gw)"] | join(" ")')"
hv=$(hostveth a)
check_eq "host veth is a port of sbr0" sbr0 "$(ip -j link show "$hv" | jq -r '.[0].master')"
check_eq "host veth MAC as in the result" "$(res a '.interfaces[1].mac')" \
	"$(ip -j link show "$hv" | jq -r '.[0].address')"
check_eq "container MAC as in the result" "$(res a '.interfaces[2].mac')" \
	"$(inns a ip -j link show eth0 | jq -r '.[0].address')"
check_eq "host veth alias names the attachment" "sluice:base:cid-a:eth0" \
	"$(ip -j -d link show "$hv" | jq -r '.[0].ifalias')"
check_eq "the veth pairs with eth0 in the pod" "$(inns a ip -j link show eth0 | jq -r '.[0].ifindex')" \
	"$(ip -j link show "$hv" | jq -r '.[0].link_index')"
check_eq "pod addresses on eth0" "$(ip4 a)/24 $(ip6 a)/64" \
	"$(inns a ip -j addr show eth0 | jq -r '[.[0].addr_info[] | select(.scope=="global") | "\(.local)/\(.prefixlen)"] | join(" ")')"
check_eq "no IPv6 address left tentative (DAD off): global ones, tentative ones" "1 0" \
	"$(inns a ip -j -6 addr show eth0 | jq -r '.[0].addr_info |
		"\([.[] | select(.scope == "global")] | length) \([.[] | select(.tentative)] | length)"')"
check_eq "default route via the gateway" "10.93.0.1" \
	"$(inns a ip -j route show default | jq -r '.[0].gateway')"
check_eq "bridge holds both gateways" "10.93.0.1/24 fd93::1/64" \
	"$(ip -j addr show sbr0 | jq -r '[.[0].addr_info[] | select(.scope=="global") | "\(.local)/\(.prefixlen)"] | join(" ")')"
check_eq "IPv4 forwarding on" 1 "$(sysctl -n net.ipv4.ip_forward)"
check "pod a pings pod b (IPv4)" inns a ping -c1 -W2 "$(ip4 b)"
check "pod a pings pod b (IPv6)" inns a ping -6 -c1 -W2 "$(ip6 b)"
check "pod b pings its gateway" inns b ping -c1 -W2 10.93.0.1
check_eq "ipMasq elements for both pods" 4 "$(( $(masq_elems pods4) + $(masq_elems pods6) ))"

# --- CHECK --------------------------------------------------------------------------------
jq --slurpfile r "$T_TMP/res.a" '.prevResult=$r[0]' "$BASE" >"$T_TMP/chk-a.json"
check "CHECK passes after ADD" cni CHECK cid-a "pod$N-a" eth0 "$T_TMP/chk-a.json"
inns a ip -6 addr del "$(ip6 a)/64" dev eth0
out=$(cni CHECK cid-a "pod$N-a" eth0 "$T_TMP/chk-a.json")
check_eq "CHECK fails when an address is gone" "103 address $(ip6 a)/64 is not on eth0" \
	"$(echo "$out" | jq -r '"\(.code) \(.msg)"')"
inns a ip -6 addr add "$(ip6 a)/64" dev eth0 nodad
ip link set "$hv" nomaster
out=$(cni CHECK cid-a "pod$N-a" eth0 "$T_TMP/chk-a.json")
check_eq "CHECK fails when the veth left the bridge" "103" "$(echo "$out" | jq -r .code)"
ip link set "$hv" master sbr0
inns a ip route del default via 10.93.0.1
check_eq "CHECK fails when a route is gone" 103 \
	"$(cni CHECK cid-a "pod$N-a" eth0 "$T_TMP/chk-a.json" | jq -r .code)"
inns a ip route add default via 10.93.0.1
inns a ip link set eth0 address 02:00:00:00:93:99
check_eq "CHECK fails when the pod's MAC changed" 103 \
	"$(cni CHECK cid-a "pod$N-a" eth0 "$T_TMP/chk-a.json" | jq -r .code)"
inns a ip link set eth0 address "$(res a '.interfaces[2].mac')"
jq '.bridge="sbrnone"' "$T_TMP/chk-a.json" >"$T_TMP/chk-a-nobr.json"
check_eq "CHECK fails when the bridge is not there" 103 \
	"$(cni CHECK cid-a "pod$N-a" eth0 "$T_TMP/chk-a-nobr.json" | jq -r .code)"
check "CHECK passes again once repaired" cni CHECK cid-a "pod$N-a" eth0 "$T_TMP/chk-a.json"
out=$(cni ADD cid-a "pod$N-a" eth0 "$BASE")
check_eq "ADD again without DEL fails: the attachment exists" \
	"102 veth $hv of this attachment already exists (ADD without DEL?)" \
	"$(echo "$out" | jq -r '"\(.code) \(.msg)"')"
check_eq "... and leaves the live pod's addresses reserved" 4 "$(reservations)"
check "... and the pod working" inns a ping -c1 -W2 "$(ip4 b)"
check_eq "DAD off without enabledad: accept_dad 0 in the pod" 0 \
	"$(inns a sysctl -n net.ipv6.conf.eth0.accept_dad)"
check_eq "CHECK without prevResult is a config error" 7 \
	"$(cni CHECK cid-a "pod$N-a" eth0 "$BASE" | jq -r .code)"

# --- ipMasq: the outside sees the node's address ------------------------------------------
mk_netns "out$N"
ip link add "o$N" type veth peer name eth0 netns "out$N"
defer "ip link del o$N"
ip addr add 192.168.93.1/24 dev "o$N" && ip link set "o$N" up
ip -n "out$N" addr add 192.168.93.2/24 dev eth0 && ip -n "out$N" link set eth0 up
# shellcheck disable=SC2016 # the server's shell expands it
echo_server "out$N" TCP 7000 '$SOCAT_PEERADDR'
# shellcheck disable=SC2016
echo_server "pod$N-b" TCP 7000 '$SOCAT_PEERADDR'
listening "out$N" tcp 7000 && listening "pod$N-b" tcp 7000 || fail "servers listening"
check_eq "pod to outside is masqueraded to the node" 192.168.93.1 \
	"$(ask "pod$N-a" tcp4 192.168.93.2 7000)"
check_eq "pod to pod keeps the pod's address" "$(ip4 a)" \
	"$(ask "pod$N-a" tcp4 "$(ip4 b)" 7000)"

# --- DEL ----------------------------------------------------------------------------------
check "DEL pod a" cni DEL cid-a "pod$N-a" eth0 "$BASE"
check_fail "host veth of a is gone" ip link show "$hv"
check_fail "eth0 of a is gone" inns a ip link show eth0
check_eq "a's addresses released" 2 "$(reservations)"
check_eq "a's masq elements removed, b's kept" "0 2" "$(masq_owner_count cid-a) $(( $(masq_elems pods4) + $(masq_elems pods6) ))"
check "DEL again succeeds" cni DEL cid-a "pod$N-a" eth0 "$BASE"
check "DEL without CNI_NETNS succeeds" cni DEL cid-a "" eth0 "$BASE"
check_eq "after pod a's DEL, pod b is still masqueraded" 192.168.93.1 \
	"$(ask "pod$N-b" tcp4 192.168.93.2 7000)"
hvb=$(hostveth b)
ip netns del "pod$N-b"
check "DEL after the netns is gone" cni DEL cid-b "" eth0 "$BASE"
check_fail "b's veth is gone" ip link show "$hvb"
check_eq "every address released" 0 "$(reservations)"
check_eq "no masq element left" 0 "$(( $(masq_elems pods4) + $(masq_elems pods6) ))"

# --- a failure forced at each ADD step leaves nothing ---------------------------------------
SPOOF=$(conf spoof '.macspoofchk=true')
for step in bridge ipam port spoofchk container gateway masq result; do
	mk_netns "pod$N-f$step" >/dev/null 2>&1
	out=$(SLUICE_FAULT=$step cni ADD "cid-f$step" "pod$N-f$step" eth0 "$SPOOF")
	rc=$?
	check_eq "fault at $step: ADD fails with the injected error" "1 999 injected failure at $step" \
		"$rc $(echo "$out" | jq -r '"\(.code) \(.msg)"')"
	check_eq "fault at $step: nothing left (veth, eth0, addresses, nft elements)" "0 0 0 0" \
		"$(ip -j -d link | jq "[.[] | select(.ifalias == \"sluice:spoof:cid-f$step:eth0\")] | length") \
$(inns "f$step" ip -j link | jq '[.[] | select(.ifname=="eth0")] | length') $(reservations) \
$(nft list ruleset | grep -c "cid-f$step/")"
done
# IPAM's answer is used before IPAM has exited; its exit status still decides. Wrappers
# around sluice-host-local that answer ADD, wait, then exit 1 or print more after it.
mkdir -p "$T_TMP/lying"
for how in exit1 trailing; do
	printf '#!/bin/sh\nout=$(%s/sluice-host-local); rc=$?\nprintf "%%s\\n" "$out"\n[ "$CNI_COMMAND" = ADD ] || exit $rc\nsleep 0.3\n%s\n' \
		"$BIN" "$([ $how = exit1 ] && echo 'exit 1' || echo 'echo "{}"')" >"$T_TMP/lying/ipam-$how"
	chmod +x "$T_TMP/lying/ipam-$how"
	LIE=$(conf "lie-$how" ".ipam.type=\"ipam-$how\"")
	mk_netns "pod$N-l$how" >/dev/null 2>&1
	out=$(CNI_PATH=$BIN:$T_TMP/lying cni ADD "cid-l$how" "pod$N-l$how" eth0 "$LIE")
	rc=$?
	want="netplugin ipam-$how failed: {"
	[ $how = trailing ] && want="invalid result from ipam-$how: output after the result"
	msg=$(echo "$out" | jq -r .msg)
	check_eq "IPAM that answers then $how: ADD fails" "1 104 $want" \
		"$rc $(echo "$out" | jq -r .code) ${msg:0:${#want}}"
	check_eq "IPAM that answers then $how: nothing left (veth, eth0, addresses, nft elements)" \
		"0 0 0 0" "$(ip -j -d link | jq "[.[] | select(.ifalias == \"sluice:lie-$how:cid-l$how:eth0\")] | length") \
$(inns "l$how" ip -j link | jq '[.[] | select(.ifname=="eth0")] | length') $(reservations) \
$(nft list ruleset | grep -c "cid-l$how/")"
done

# an IPAM plugin that cannot be exec'd: found on CNI_PATH, but the kernel refuses it
printf 'not a program\n' >"$T_TMP/lying/ipam-noexec"
chmod +x "$T_TMP/lying/ipam-noexec"
NOEXEC=$(conf lie-noexec '.ipam.type="ipam-noexec"')
mk_netns "pod$N-lnoexec" >/dev/null 2>&1
out=$(CNI_PATH=$BIN:$T_TMP/lying cni ADD cid-lnoexec "pod$N-lnoexec" eth0 "$NOEXEC")
rc=$?
check_eq "IPAM that cannot be exec'd: ADD fails with 104 and the kernel's reason" \
	"1 104 exec $T_TMP/lying/ipam-noexec: Exec format error" \
	"$rc $(echo "$out" | jq -r '"\(.code) \(.msg)"')"
check_eq "IPAM that cannot be exec'd: nothing left (veth, eth0, addresses, nft elements)" \
	"0 0 0 0" "$(ip -j -d link | jq '[.[] | select(.ifalias == "sluice:lie-noexec:cid-lnoexec:eth0")] | length') \
$(inns lnoexec ip -j link | jq '[.[] | select(.ifname=="eth0")] | length') $(reservations) \
$(nft list ruleset | grep -c "cid-lnoexec/")"

# an IPAM result whose dns libcni could not read is refused, not copied into the bridge's
printf '#!/bin/sh\nout=$(%s/sluice-host-local); rc=$?\n[ "$CNI_COMMAND" = ADD ] && [ $rc = 0 ] && out=$(printf "%%s" "$out" | jq -c ".dns={\\"nameservers\\":\\"10.1.0.10\\"}")\nprintf "%%s\\n" "$out"\nexit $rc\n' \
	"$BIN" >"$T_TMP/lying/ipam-baddns"
chmod +x "$T_TMP/lying/ipam-baddns"
BADDNS=$(conf lie-baddns '.ipam.type="ipam-baddns"')
mk_netns "pod$N-lbaddns" >/dev/null 2>&1
out=$(CNI_PATH=$BIN:$T_TMP/lying cni ADD cid-lbaddns "pod$N-lbaddns" eth0 "$BADDNS")
rc=$?
check_eq "IPAM result with a dns of the wrong type: ADD fails with 104 naming the field" \
	"1 104 invalid result from ipam-baddns: dns.nameservers: must be a list of strings" \
	"$rc $(echo "$out" | jq -r '"\(.code) \(.msg)"')"
check_eq "IPAM result with a dns of the wrong type: nothing left (veth, eth0, addresses)" \
	"0 0 0" "$(ip -j -d link | jq '[.[] | select(.ifalias == "sluice:lie-baddns:cid-lbaddns:eth0")] | length') \
$(inns lbaddns ip -j link | jq '[.[] | select(.ifname=="eth0")] | length') $(reservations)"

t_add "ADD with no fault after all that" ok "$SPOOF" cid-ok
check "cleanup of that pod" cni DEL cid-ok "pod$N-ok" eth0 "$SPOOF"

# --- macspoofchk --------------------------------------------------------------------------
t_add "ADD pod s1 with macspoofchk" s1 "$SPOOF" cid-s1
t_add "ADD pod s2 with macspoofchk" s2 "$SPOOF" cid-s2
check "spoof-checked pod pings its neighbour" inns s1 ping -c1 -W2 "$(ip4 s2)"
inns s1 ip link set eth0 address 02:de:ad:be:ef:01
check_fail "a pod that changes its MAC is cut off" inns s1 ping -c1 -W1 "$(ip4 s2)"
inns s1 ip link set eth0 address "$(res s1 '.interfaces[2].mac')"
inns s1 ip neigh flush all
check "its own MAC works again" inns s1 ping -c1 -W2 "$(ip4 s2)"
jq --slurpfile r "$T_TMP/res.s1" '.prevResult=$r[0]' "$SPOOF" >"$T_TMP/chk-s1.json"
check "CHECK with macspoofchk" cni CHECK cid-s1 "pod$N-s1" eth0 "$T_TMP/chk-s1.json"
cni DEL cid-s1 "pod$N-s1" eth0 "$SPOOF"
cni DEL cid-s2 "pod$N-s2" eth0 "$SPOOF"
check_eq "spoof check elements gone after DEL" 0 "$(nft list table bridge sluice_spoofchk 2>/dev/null | grep -c 'cid-s')"

# --- options read back from the kernel ------------------------------------------------------
OPT=$(conf opt '.bridge="sbr1" | .mtu=1400 | .hairpinMode=true | .portIsolation=true |
	.ipMasq=false | .isDefaultGateway=false | .ipam.ranges=[[{subnet:"10.94.0.0/24"}]] |
	.dns={nameservers:["10.94.0.53"],search:["svc.local"]} | .runtimeConfig={mac:"02:00:00:aa:bb:01"} |
	.args={cni:{mac:"02:00:00:aa:bb:02"}}')
CNI_ARGS="IgnoreUnknown=1;MAC=02:00:00:aa:bb:03"
t_add "ADD with mtu, hairpin, isolation, MAC and dns" o "$OPT" cid-o
CNI_ARGS=
hv=$(hostveth o)
check_eq "mtu on bridge, host veth and eth0" "1400 1400 1400" \
	"$(ip -j link show sbr1 | jq '.[0].mtu') $(ip -j link show "$hv" | jq '.[0].mtu') $(inns o ip -j link show eth0 | jq '.[0].mtu')"
check_eq "hairpin and isolation on the port" "true true" \
	"$(bridge -j -d link show dev "$hv" | jq -r '.[0] | "\(.hairpin) \(.isolated)"')"
check_eq "runtimeConfig.mac wins over args and CNI_ARGS" 02:00:00:aa:bb:01 \
	"$(inns o ip -j link show eth0 | jq -r '.[0].address')"
check_eq "config dns in the result" "10.94.0.53 svc.local" "$(res o '"\(.dns.nameservers[0]) \(.dns.search[0])"')"
check_eq "no default route without isDefaultGateway" 0 "$(inns o ip -j route show default | jq length)"
cni DEL cid-o "pod$N-o" eth0 "$OPT"
MA=$(conf mac-args "$(jq -c 'del(.runtimeConfig)' "$OPT")")
CNI_ARGS="IgnoreUnknown=1;MAC=02:00:00:aa:bb:03"
t_add "ADD with args.cni.mac and CNI_ARGS MAC=" ma "$MA" cid-ma
check_eq "args.cni.mac wins over CNI_ARGS" 02:00:00:aa:bb:02 \
	"$(inns ma ip -j link show eth0 | jq -r '.[0].address')"
cni DEL cid-ma "pod$N-ma" eth0 "$MA"
ME=$(conf mac-env "$(jq -c 'del(.runtimeConfig, .args)' "$OPT")")
t_add "ADD with CNI_ARGS MAC= only" me "$ME" cid-me
CNI_ARGS=
check_eq "CNI_ARGS MAC= sets the pod's MAC" 02:00:00:aa:bb:03 \
	"$(inns me ip -j link show eth0 | jq -r '.[0].address')"
check_eq "... and the result says so" 02:00:00:aa:bb:03 "$(res me '.interfaces[2].mac')"
cni DEL cid-me "pod$N-me" eth0 "$ME"

PROMISC=$(conf promisc '.bridge="sbr2" | .promiscMode=true | .ipam={}')
t_add "L2-only ADD (ipam {}) with promiscMode" l2 "$PROMISC" cid-l2
check_eq "bridge is promiscuous" 1 "$(ip -j -d link show sbr2 | jq '.[0].promiscuity')"
check_eq "L2 only: eth0 up, no addresses, none in the result" "UP 0 null" \
	"$(inns l2 ip -j addr show eth0 | jq -r '"\(.[0].operstate) \([.[0].addr_info[] | select(.scope=="global")] | length)"') $(res l2 .ips)"
cni DEL cid-l2 "pod$N-l2" eth0 "$PROMISC"
mk_netns "pod$N-hp"
HP=$(conf hp '.hairpinMode=true|.promiscMode=true')
check_eq "hairpin and promiscuous together are refused" \
	"7 cannot set hairpin mode and promiscuous mode at the same time" \
	"$(cni ADD cid-hp "pod$N-hp" eth0 "$HP" | jq -r '"\(.code) \(.msg)"')"
NOIF=$(conf noif '.bridge="sbr2" | .disableContainerInterface=true | .ipam={}')
t_add "disableContainerInterface" noif "$NOIF" cid-noif
check_eq "container end left down" DOWN "$(inns noif ip -j link show eth0 | jq -r '.[0].operstate')"
cni DEL cid-noif "pod$N-noif" eth0 "$NOIF"
mk_netns "pod$N-noif2"
NOIF2=$(conf noif2 '.disableContainerInterface=true')
check_eq "disableContainerInterface with IPAM is refused" 7 \
	"$(cni ADD cid-noif2 "pod$N-noif2" eth0 "$NOIF2" | jq -r .code)"

# forceAddress: another address on the bridge
ip link add sbr3 type bridge && ip addr add 10.95.0.99/24 dev sbr3 && ip link set sbr3 up
defer "ip link del sbr3"
F=$(conf force '.bridge="sbr3" | .ipam.ranges=[[{subnet:"10.95.0.0/24"}]]')
mk_netns "pod$N-fa"
check_eq "a different bridge address is refused without forceAddress" \
	'7 "sbr3" already has an IP address different from 10.95.0.1/24' \
	"$(cni ADD cid-fa "pod$N-fa" eth0 "$F" | jq -r '"\(.code) \(.msg)"')"
check_eq "... and that ADD released its address" 0 "$(find "$DATA/force" -type f -name '10.*' | wc -l)"
F=$(conf force '.bridge="sbr3" | .forceAddress=true | .ipam.ranges=[[{subnet:"10.95.0.0/24"}]]')
t_add "forceAddress replaces it" fa "$F" cid-fa
check_eq "bridge now holds the gateway only" 10.95.0.1/24 \
	"$(ip -j addr show sbr3 | jq -r '[.[0].addr_info[] | select(.family=="inet") | "\(.local)/\(.prefixlen)"] | join(" ")')"
cni DEL cid-fa "pod$N-fa" eth0 "$F"

# enabledad: ADD returns once DAD is over
D=$(conf dad '.bridge="sbr4" | .enabledad=true | .ipMasq=false | .ipam.ranges=[[{subnet:"fd96::/64"}]]')
t_add "ADD with enabledad" dad "$D" cid-dad
check_eq "address usable (not tentative) when ADD returns: global ones, tentative or failed ones" "1 0" \
	"$(inns dad ip -j -6 addr show eth0 | jq -r '.[0].addr_info |
		"\([.[] | select(.scope == "global")] | length) \([.[] | select(.tentative or .dadfailed)] | length)"')"
check_eq "accept_dad on in the pod" 1 "$(inns dad sysctl -n net.ipv6.conf.eth0.accept_dad)"
cni DEL cid-dad "pod$N-dad" eth0 "$D"

# a step the kernel refuses: its extended ack ends up in the error's details
RT=$(conf rt '.bridge="sbr4" | .ipMasq=false | .isDefaultGateway=false |
	.ipam.ranges=[[{subnet:"10.92.0.0/24"}]] | .ipam.routes=[{dst:"192.168.50.0/24",gw:"172.16.9.1"}]')
mk_netns "pod$N-rt"
out=$(cni ADD cid-rt "pod$N-rt" eth0 "$RT")
check_eq "a route via an unreachable gateway: code 100, the kernel's extack in details" \
	"100 add route to 192.168.50.0/24 via eth0: Network is unreachable | Nexthop has invalid gateway" \
	"$(echo "$out" | jq -r '"\(.code) \(.msg) | \(.details)"')"
check_eq "... leaving no veth, eth0 or address behind" "0 0 0" \
	"$(ip -j -d link | jq '[.[] | select(.ifalias == "sluice:rt:cid-rt:eth0")] | length') $(inns rt ip -j link | jq '[.[] | select(.ifname=="eth0")] | length') $(find "$DATA/rt" -type f -name '10.*' 2>/dev/null | wc -l)"

# VLANs need CONFIG_BRIDGE_VLAN_FILTERING; without it the ADD must fail cleanly
V=$(conf vlan '.bridge="sbr5" | .vlan=100 | .ipMasq=false')
mk_netns "pod$N-v"
if ip link add vftest type bridge vlan_filtering 1 2>/dev/null; then
	ip link del vftest
	t_add "ADD with vlan 100" v "$V" cid-v
	check_eq "port has PVID 100 untagged only" "100 PVID,Egress Untagged" \
		"$(bridge -j vlan show dev "$(hostveth v)" | jq -r '.[0].vlans[] | "\(.vlan) \(.flags | join(","))"')"
	cni DEL cid-v "pod$N-v" eth0 "$V"
else
	out=$(cni ADD cid-v "pod$N-v" eth0 "$V")
	check_eq "vlan on a kernel without VLAN filtering: a kernel error" 100 "$(echo "$out" | jq -r .code)"
	check_eq "... leaving no veth or address behind" "0 0" \
		"$(ip -j -d link | jq '[.[] | select(.ifalias == "sluice:vlan:cid-v:eth0")] | length') $(find "$DATA/vlan" -type f -name '10.*' 2>/dev/null | wc -l)"
fi

# --- existing interface, missing netns, STATUS ------------------------------------------------
mk_netns "pod$N-ex"
ip -n "pod$N-ex" link add eth0 type veth peer name x0
check_eq "an existing eth0 is refused (102), its address released" "102 0" \
	"$(cni ADD cid-ex "pod$N-ex" eth0 "$BASE" | jq -r .code) $(reservations)"
check_eq "a netns that does not exist: code 3" 3 \
	"$(cni ADD cid-nx "nonexistent$N" eth0 "$BASE" | jq -r .code)"
out=$(env -i CNI_COMMAND=ADD CNI_CONTAINERID=cid-nn CNI_NETNS=/proc/self/ns/mnt CNI_IFNAME=eth0 \
	CNI_PATH="$BIN" "$BIN/sluice-bridge" <"$BASE")
check_eq "a file that is not a network namespace: code 4, before anything is made" \
	"4 failed to open netns \"/proc/self/ns/mnt\": not a network namespace 0" \
	"$(echo "$out" | jq -r '"\(.code) \(.msg)"') $(reservations)"
FULL=$(conf full '.cniVersion="1.1.0" | .bridge="sbr8" | .ipam.ranges=[[{subnet:"10.97.0.0/30"}]]')
check "STATUS ready" cni STATUS "" "" "" "$FULL"
add full "$FULL" cid-full
check_eq "STATUS passes IPAM's 50 on when the range is full" 50 "$(cni STATUS "" "" "" "$FULL" | jq -r .code)"
cni DEL cid-full "pod$N-full" eth0 "$FULL"

# --- GC -------------------------------------------------------------------------------------
G=$(conf gc '.cniVersion="1.1.0"')
OTHER=$(conf other '.cniVersion="1.1.0" | .bridge="sbr7" | .ipam.ranges=[[{subnet:"10.98.0.0/24"}]]')
for p in g1 g2 g3; do t_add "GC: ADD pod $p" "$p" "$G" "cid-$p"; done
t_add "GC: ADD pod g4 (another network)" g4 "$OTHER" cid-g4
gc_veths() { for p in g1 g2 g3 g4; do link_exists "$(hostveth $p)"; done | xargs; }
gc_addrs() { for p in g1 g2 g3; do grep -rl "^cid-$p" "$DATA/gc" 2>/dev/null | wc -l; done | xargs; }
gc_masq() { for p in g1 g2 g3 g4; do masq_owner_count "cid-$p"; done | xargs; }
check_eq "before GC: the veths of g1..g4" "1 1 1 1" "$(gc_veths)"
check_eq "before GC: the addresses of g1..g3" "2 2 2" "$(gc_addrs)"
check_eq "before GC: the masq elements of g1..g4" "4 4 4 2" "$(gc_masq)"
jq '."cni.dev/valid-attachments"=[{containerID:"cid-g1",ifname:"eth0"}]' "$G" >"$T_TMP/gcv.json"
check "GC with a valid list" cni GC "" "" "" "$T_TMP/gcv.json"
check_eq "GC removed the veths of g2 and g3 only" "1 0 0 1" "$(gc_veths)"
check_eq "GC released g2 and g3's addresses" "2 0 0" "$(gc_addrs)"
check_eq "GC removed g2 and g3's masq elements, kept g1's and the other network's" "4 0 0 2" \
	"$(gc_masq)"
check "the valid pod still reaches its gateway" inns g1 ping -c1 -W2 10.93.0.1
check "GC without a list" cni GC "" "" "" "$G"
check_eq "nothing of network gc left; the other network untouched" "0 1" \
	"$(ip -j -d link | jq '[.[] | select(.ifalias // "" | startswith("sluice:gc:"))] | length') $(link_exists "$(hostveth g4)")"
cni DEL cid-g4 "pod$N-g4" eth0 "$OTHER"

# --- parallel ADD and DEL on one (new) bridge -------------------------------------------------
P=$(conf par '.bridge="sbr6" | .ipam.ranges=[[{subnet:"10.99.0.0/24"}]]')
par() {
	local i pids=() rc=0
	for i in $(seq 1 32); do
		[ "$1" = ADD ] && ip netns add "pod$N-p$i"
		cni "$1" "cid-p$i" "pod$N-p$i" eth0 "$P" >"$T_TMP/out-par.$i" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || rc=1; done
	return $rc
}
defer "for i in \$(seq 1 32); do ip netns del pod$N-p\$i; done"
check "32 parallel ADDs on a new bridge" par ADD
check_eq "32 distinct addresses" 32 "$(cat "$T_TMP"/out-par.* | jq -r '.ips[0].address' | sort -u | wc -l)"
check_eq "one bridge, one gateway address" "1 10.99.0.1/24" \
	"$(ip -j link show type bridge | jq '[.[] | select(.ifname=="sbr6")] | length') $(ip -j addr show sbr6 | jq -r '[.[0].addr_info[] | select(.family=="inet") | "\(.local)/\(.prefixlen)"] | join(" ")')"
check "32 parallel DELs" par DEL
check_eq "no port left on the bridge" 0 "$(ip -j link show master sbr6 | jq length)"
check_eq "no reservation left" 0 "$(find "$DATA/par" -type f -name '10.*' | wc -l)"
