#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# sluice-vxlan-overlay on one simulated node (this test's namespace: an underlay veth with
# 192.168.100.1 and a default route, a lease from `sluicectl node up` on a dir:// store):
# sluice-bridge -> sluice-vxlan-overlay run by hand as libcni would, the VXLAN device made
# from the lease state (read back with ip -d -j link), the MTUs of both veth ends, the
# masquerade table (none when the state's IPMasq is false); code 11 with nothing made
# without a lease, with an expired one and for a pod address outside it; a failure injected
# after each step: the MTUs restored, the node's device and table kept; DEL without netns or
# state; CHECK; STATUS; dual stack; under upstream bridge + host-local; the rendered
# conflist through libcni.
set -u
. "$(dirname "$0")/../lib.sh"

N=$$
NODE=$T_TMP/node
SF=$NODE/subnet.env
STATE=$NODE/subnet.lease.json
CONFLIST=$NODE/net.d/10-sluice.conflist
STORE=dir://$T_TMP/store
ctl() { "$BIN/sluicectl" --store "$STORE" "$@"; }

ip link set lo up
ip link add ul0 mtu 1500 type veth peer name ul0p
ip addr add 192.168.100.1/24 dev ul0
ip addr add fd00:100::1/64 dev ul0 nodad
ip link set ul0 up
ip link set ul0p up
ip route add default via 192.168.100.254 dev ul0
defer "ip link del sluice.1"
defer "ip link del sluice-v6.1"
defer "nft delete table inet sluice_overlay"

echo '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}' >"$T_TMP/net.json"
ctl config set -f "$T_TMP/net.json" >/dev/null
check "node up" ctl node up --iface ul0 --public-ip 192.168.100.1 --subnet-file "$SF" \
	--cni-conf-dir "$NODE/net.d" --node-name n1
SN=$(jq -r .Subnet "$STATE")
BASE=${SN%.0/24}
MAC=$(jq -r .VtepMAC "$STATE")
defer "ctl node down --public-ip 192.168.100.1 --subnet-file $SF --cni-conf-dir $NODE/net.d"

# the rendered chain's first two plugins as libcni hands them over; the bridge without the
# conflist's MTU, so that its veths have 1500 and the overlay has something to lower
jq --arg d "$T_TMP/ipam" '.plugins[0] + {name, cniVersion} | .ipam.dataDir = $d | del(.mtu)' \
	"$CONFLIST" >"$T_TMP/br.json"
jq '.plugins[1] + {name, cniVersion}' "$CONFLIST" >"$T_TMP/ov.json"
check_eq "the overlay's config names the node's subnet.env" "$SF" "$(jq -r .subnetFile "$T_TMP/ov.json")"

inns() { local p=$1; shift; ip netns exec "pod$N-$p" "$@"; }
# bridge POD [CONF]: sluice-bridge's ADD into a new netns, its result in $T_TMP/br.POD
bridge() {
	local p=$1 c=${2:-$T_TMP/br.json}
	mk_netns "pod$N-$p"
	defer "cni DEL c-$p '' eth0 $c"
	cni ADD "c-$p" "pod$N-$p" eth0 "$c" >"$T_TMP/br.$p"
}
# overlay VERB POD [PREV] [CONF]: the overlay with prevResult PREV (default the bridge's);
# its stdout in $T_TMP/ov.out, its status returned
overlay() {
	local v=$1 p=$2 prev=${3:-$T_TMP/br.$2} c=${4:-$T_TMP/ov.json} ns=pod$N-$2
	[ "$v" = DEL ] && [ -n "${NONS:-}" ] && ns=
	jq --slurpfile r "$prev" '. + {prevResult: $r[0]}' "$c" >"$T_TMP/ov.in"
	cni "$v" "c-$p" "$ns" eth0 "$T_TMP/ov.in" >"$T_TMP/ov.out"
}
mtu() { ip ${2:+-n "$2"} -j link show "$1" | jq -r '.[0].mtu'; }
hostveth() { jq -r '.interfaces[1].name' "$T_TMP/br.$1"; }
# nothing node-level made, pod p's MTUs untouched
nothing() {
	check_eq "$1: no VXLAN device" 0 "$(link_exists sluice.1)"
	check_eq "$1: no masquerade table" 0 "$(sluice_nft_tables)"
	check_eq "$1: the MTUs left alone" "1500 1500" \
		"$(mtu eth0 "pod$N-$2") $(mtu "$(hostveth "$2")")"
}
# err_is NAME STATUS CODE MSG: the last call's exit status and error, exactly
err_is() {
	local rc=$2
	check_eq "$1" "$3 $4" "$rc $(jq -r '"\(.code) \(.msg)"' "$T_TMP/ov.out" 2>/dev/null)"
}

check "bridge ADD pod a" bridge a
check_eq "pod a got an address of the lease" "$BASE.2/24" "$(jq -r '.ips[0].address' "$T_TMP/br.a")"

# --- refusals: code 11, nothing made ---------------------------------------------------------
mv "$STATE" "$STATE.away"
overlay ADD a
err_is "no lease: code 11" $? "1 11" "no subnet lease on this node: $STATE does not exist"
nothing "no lease" a
mv "$STATE.away" "$STATE"
jq '.Expires = 1000000000' "$STATE" >"$T_TMP/expired" && cp "$STATE" "$T_TMP/state.good"
cp "$T_TMP/expired" "$STATE"
overlay ADD a
err_is "expired lease: code 11" $? "1 11" "the subnet lease $SN of this node expired at 2001-09-09T01:46:40Z ($STATE)"
nothing "expired lease" a
jq --argjson t "$(($(date +%s) - 1))" '.Expires = $t' "$T_TMP/state.good" >"$STATE"
overlay ADD a
check_eq "a lease expired a second ago: code 11" 11 "$(jq .code "$T_TMP/ov.out")"
cp "$T_TMP/state.good" "$STATE"
jq '.ips[0].address = "10.99.0.5/24"' "$T_TMP/br.a" >"$T_TMP/br.outside"
overlay ADD a "$T_TMP/br.outside"
err_is "pod address outside the lease: code 11" $? "1 11" \
	"pod address 10.99.0.5/24 lies outside this node's subnet lease $SN ($STATE)"
nothing "pod address outside the lease" a
jq '.ips += [{address: "fd00:5::5/64", interface: 2}]' "$T_TMP/br.a" >"$T_TMP/br.v6"
overlay ADD a "$T_TMP/br.v6"
err_is "IPv6 pod address on an IPv4 lease: code 11" $? "1 11" \
	"pod address fd00:5::5/64 lies outside this node's subnet lease, which has no IPv6 subnet ($STATE)"
jq 'del(.prevResult)' "$T_TMP/ov.json" >"$T_TMP/ov.noprev"
cni ADD c-a "pod$N-a" eth0 "$T_TMP/ov.noprev" >"$T_TMP/ov.out"
err_is "no prevResult: code 7" $? "1 7" \
	"Required prevResult missing: sluice-vxlan-overlay is chained after a bridge plugin"
jq '.IPv6Network = "fd00:9::/56"' "$T_TMP/state.good" >"$STATE"
overlay ADD a
err_is "an IPv6 network without the node's IPv6 subnet: code 7" $? "1 7" \
	"overlay masquerade: invalid or missing IPv6 node subnet"
check_eq "... refused before the device is made" 0 "$(link_exists sluice.1)"
cp "$T_TMP/state.good" "$STATE"
nothing "refusals" a
# CNI_NETNS naming the plugin's own netns: CNI_IFNAME would be a host interface (here the
# underlay: its MTU must stay 1500)
ip netns attach "self$N" $$
defer "ip netns delete self$N"
jq --slurpfile r "$T_TMP/br.a" '. + {prevResult: $r[0]}' "$T_TMP/ov.json" >"$T_TMP/ov.in"
cni ADD c-a "self$N" ul0 "$T_TMP/ov.in" >"$T_TMP/ov.out"
err_is "CNI_NETNS of the plugin's own netns: code 4" $? "1 4" \
	"plugin's netns and netns from CNI_NETNS should not be the same"
check_eq "the own netns refused: the underlay's MTU untouched, no device" "1500 0" \
	"$(mtu ul0) $(link_exists sluice.1)"

# --- a failure after each step: the MTUs go back, the node's device and table stay ------------
# (another pod's ADD may be using a device this ADD created: shared objects are never undone)
for f in device masq mtu; do
	SLUICE_FAULT=$f overlay ADD a
	err_is "fault at $f: the error" $? "1 999" "injected failure at $f"
	check_eq "fault at $f: the device this ADD created is still there" 1 "$(link_exists sluice.1)"
	check_eq "fault at $f: the MTUs restored" "1500 1500" \
		"$(mtu eth0 "pod$N-a") $(mtu "$(hostveth a)")"
	[ $f = device ] || check_eq "fault at $f: the table this ADD created is still there" 1 \
		"$(sluice_nft_tables)"
	ip link del sluice.1
	nft delete table inet sluice_overlay 2>/dev/null
done

# --- a node whose agent does not masquerade (sluiced --no-ip-masq: the state's IPMasq false):
# ADD and CHECK leave the table alone; "ipMasq" in the config is no overlay key (ignored)
jq '.IPMasq = false' "$T_TMP/state.good" >"$STATE"
jq '.ipMasq = true' "$T_TMP/ov.json" >"$T_TMP/ov.masq.json"
overlay ADD a "" "$T_TMP/ov.masq.json"
check_eq "IPMasq false: ADD makes the device, no table" "0 1 0" \
	"$? $(link_exists sluice.1) $(sluice_nft_tables)"
overlay CHECK a "" "$T_TMP/ov.masq.json"
check_eq "IPMasq false: CHECK does not ask for the table" "0 0" "$? $(sluice_nft_tables)"
NONS=1 overlay DEL a
ip link set "$(hostveth a)" mtu 1500
ip -n "pod$N-a" link set eth0 mtu 1500
ip link del sluice.1
cp "$T_TMP/state.good" "$STATE"
check_eq "the state of sluicectl node up says the node masquerades" true "$(jq .IPMasq "$STATE")"

# --- ADD: the device from the state, both MTUs, the table; prevResult passed on ---------------
overlay ADD a
check_eq "ADD pod a" 0 $?
check_eq "ADD passes prevResult on unchanged" "$(jq -cS . "$T_TMP/br.a")" "$(jq -cS . "$T_TMP/ov.out")"
check_eq "device sluice.1 from the state: vxlan id 1, local, port 8472, dev ul0, nolearning" \
	"vxlan 1 192.168.100.1 8472 false ul0" \
	"$(ip -d -j link show sluice.1 | jq -r '.[0] | .linkinfo.info_data as $d |
		"\(.linkinfo.info_kind) \($d.id) \($d.local) \($d.port) \($d.learning) \($d.link)"')"
check_eq "device sluice.1: the VTEP MAC of the state, MTU 1450, up" "$MAC 1450 UP" \
	"$(ip -j link show sluice.1 | jq -r '.[0] | "\(.address) \(.mtu) \(.flags | index("UP") // -1 | if . >= 0 then "UP" else "DOWN" end)"')"
check_eq "device sluice.1 holds the lease's network address alone" "$BASE.0/32" \
	"$(ip -j addr show dev sluice.1 | jq -r '[.[0].addr_info[] | select(.family == "inet") | "\(.local)/\(.prefixlen)"] | join(" ")')"
check_eq "pod a's interface MTU lowered to 1450" 1450 "$(mtu eth0 "pod$N-a")"
check_eq "pod a's host veth MTU lowered to 1450" 1450 "$(mtu "$(hostveth a)")"
check_eq "the masquerade table is there" 1 "$(sluice_nft_tables)"
check "the table masquerades the cluster network" sh -c \
	"nft list table inet sluice_overlay | grep -q masquerade"
ifx=$(ip -j link show sluice.1 | jq '.[0].ifindex')
check "bridge ADD pod b" bridge b
overlay ADD b
check_eq "ADD pod b" 0 $?
check_eq "pod b: the same device, untouched" "$ifx" "$(ip -j link show sluice.1 | jq '.[0].ifindex')"
jq '.cniVersion = "0.3.1"' "$T_TMP/ov.json" >"$T_TMP/ov031.json"
overlay ADD b "" "$T_TMP/ov031.json"
check_eq "ADD in 0.3.1 (again): prevResult answered in 0.3.1" "0 0.3.1 4 $BASE.3/24" \
	"$? $(jq -r '"\(.cniVersion) \(.ips[0].version) \(.ips[0].address)"' "$T_TMP/ov.out")"
SLUICE_FAULT=mtu overlay ADD b
check_eq "a failed ADD leaves a device it did not create" "$ifx" \
	"$(ip -j link show sluice.1 | jq '.[0].ifindex')"
check "pod a and b reach each other" ping_retry "pod$N-a" "$BASE.3"

# --- CHECK ----------------------------------------------------------------------------------
overlay CHECK a
check_eq "CHECK pod a" "0 " "$? $(cat "$T_TMP/ov.out")"
ip -n "pod$N-a" link set eth0 mtu 1500
overlay CHECK a
err_is "CHECK after the pod's MTU was raised: code 103" $? "1 103" \
	"container interface eth0 has MTU 1500, above the overlay's 1450"
ip -n "pod$N-a" link set eth0 mtu 1450
ip link set sluice.1 mtu 1400
overlay CHECK a
err_is "CHECK with the device's MTU changed: code 103" $? "1 103" \
	"overlay device sluice.1: mtu 1400, not 1450"
ip link set sluice.1 mtu 1450
cp "$T_TMP/expired" "$STATE"
overlay CHECK a
check_eq "CHECK with the lease expired: code 11" 11 "$(jq .code "$T_TMP/ov.out")"
cp "$T_TMP/state.good" "$STATE"

# --- STATUS ---------------------------------------------------------------------------------
status() { jq '.cniVersion = "1.1.0"' "$T_TMP/ov.json" >"$T_TMP/st.json"
	cni STATUS "" "" "" "$T_TMP/st.json" >"$T_TMP/ov.out"; }
status
check_eq "STATUS with lease and device" "0 " "$? $(cat "$T_TMP/ov.out")"
ip link del sluice.1
status
err_is "STATUS without the device: code 50" $? "1 50" "overlay device sluice.1 is missing"
mv "$STATE" "$STATE.away"
status
err_is "STATUS without a lease: code 50" $? "1 50" "no subnet lease on this node: $STATE does not exist"
cp "$T_TMP/expired" "$STATE"
status
check_eq "STATUS with an expired lease: code 50" 50 "$(jq .code "$T_TMP/ov.out")"
cp "$T_TMP/state.good" "$STATE"
rm -f "$STATE.away"

# --- the node starts a pod before its agent: ADD makes the device again ------------------------
overlay ADD a
check_eq "ADD without the device: made again" "0 1" "$? $(link_exists sluice.1)"

# --- DEL: nothing to remove, without netns, without state, twice -----------------------------
NONS=1 overlay DEL a
check_eq "DEL without netns" "0 " "$? $(cat "$T_TMP/ov.out")"
mv "$STATE" "$STATE.away"
NONS=1 overlay DEL a
check_eq "DEL without state" 0 $?
mv "$STATE.away" "$STATE"
overlay DEL a
check_eq "DEL again" 0 $?
check_eq "DEL leaves the device and the table (the node's)" "1 1" \
	"$(link_exists sluice.1) $(sluice_nft_tables)"
check_eq "GC" 0 "$(jq '.cniVersion = "1.1.0"' "$T_TMP/ov.json" >"$T_TMP/gc.json"
	cni GC "" "" "" "$T_TMP/gc.json" >/dev/null; echo $?)"

# --- under upstream bridge + host-local --------------------------------------------------------
if [ -x "$UPSTREAM/bridge" ] && [ -x "$UPSTREAM/host-local" ]; then
	jq -n --arg sn "$SN" --arg d "$T_TMP/ipam-up" '{cniVersion:"1.0.0",name:"sluice",
		type:"bridge",bridge:"upbr0",isGateway:true,ipMasq:false,
		ipam:{type:"host-local",dataDir:$d,ranges:[[{subnet:$sn}]]}}' >"$T_TMP/up.json"
	defer "ip link del upbr0"
	check "upstream bridge ADD pod u" bridge u "$T_TMP/up.json"
	overlay ADD u
	check_eq "overlay ADD after upstream bridge" 0 $?
	check_eq "upstream: both veth ends lowered to 1450" "1450 1450" \
		"$(mtu eth0 "pod$N-u") $(mtu "$(jq -r '.interfaces[] | select(.sandbox == null and .name != "upbr0") | .name' "$T_TMP/br.u")")"
	overlay CHECK u
	check_eq "upstream: CHECK" 0 $?
	NONS=1 overlay DEL u
	check_eq "upstream: DEL" 0 $?
else
	fail "upstream bridge" "no $UPSTREAM/bridge and host-local (containernetworking-plugins)"
fi

# --- the rendered conflist through libcni: bridge -> overlay -> portmap -> bandwidth ----------
CNITOOL=$BUILD_DIR/tests/cnitool
jq --arg d "$T_TMP/ipam-l" '.plugins[0].ipam.dataDir = $d' "$CONFLIST" >"$T_TMP/full.conflist"
lib() { timeout 60 "$CNITOOL" -cachedir "$T_TMP/cache" -path "$BIN" "$1" "$T_TMP/full.conflist" \
	"ctr-$2" "/run/netns/pod$N-$2" eth0; }
mk_netns "pod$N-l"
defer "timeout 60 $CNITOOL -cachedir $T_TMP/cache -path $BIN del $T_TMP/full.conflist ctr-l /run/netns/pod$N-l eth0"
check "libcni: ADD of the rendered chain" lib add l
check_eq "libcni: the pod's MTU is the overlay's" 1450 "$(mtu eth0 "pod$N-l")"
check "libcni: CHECK" lib check l
check "libcni: DEL" lib del l
check "libcni: DEL again" lib del l

# --- dual stack: sluice-v6.1 over the IPv6 underlay -----------------------------------------
echo '{"Network":"10.8.0.0/16","EnableIPv6":true,"IPv6Network":"fd00:8::/56","Backend":{"Type":"vxlan"}}' >"$T_TMP/ds.json"
ctl --prefix /ds config set -f "$T_TMP/ds.json" >/dev/null
check "dual stack: node up" ctl --prefix /ds node up --iface ul0 --public-ip 192.168.100.1 \
	--public-ipv6 fd00:100::1 --subnet-file "$T_TMP/ds/subnet.env" --cni-conf-dir "$T_TMP/ds/net.d"
defer "ctl --prefix /ds node down --public-ip 192.168.100.1 --subnet-file $T_TMP/ds/subnet.env --cni-conf-dir $T_TMP/ds/net.d"
ip link del sluice.1
jq --arg d "$T_TMP/ipam-ds" '.plugins[0] + {name: "ds", cniVersion} | .ipam.dataDir = $d |
	.bridge = "dsbr0" | del(.mtu)' "$T_TMP/ds/net.d/10-sluice.conflist" >"$T_TMP/ds-br.json"
jq '.plugins[1] + {name: "ds", cniVersion}' "$T_TMP/ds/net.d/10-sluice.conflist" >"$T_TMP/ds-ov.json"
defer "ip link del dsbr0"
check "dual stack: bridge ADD pod d" bridge d "$T_TMP/ds-br.json"
overlay ADD d "" "$T_TMP/ds-ov.json"
check_eq "dual stack: overlay ADD" "0" "$?"
SN6=$(jq -r .IPv6Subnet "$T_TMP/ds/subnet.lease.json")
check_eq "dual stack: sluice-v6.1, local fd00:100::1, dev ul0, the lease's IPv6 network address" \
	"vxlan 1 fd00:100::1 ul0 ${SN6%/64}/128" \
	"$(ip -d -j link show sluice-v6.1 | jq -r '.[0] | "\(.linkinfo.info_kind) \(.linkinfo.info_data.id) \(.linkinfo.info_data.local6 // .linkinfo.info_data.local) \(.linkinfo.info_data.link)"') $(ip -j -6 addr show dev sluice-v6.1 scope global | jq -r '.[0].addr_info[0] | "\(.local)/\(.prefixlen)"')"
overlay CHECK d "" "$T_TMP/ds-ov.json"
check_eq "dual stack: CHECK" 0 $?

# a dual-stack state whose IPv6 device name cannot fit (sluice-v6.100000 is 16 bytes): refused
# before the IPv4 device sluice.100000 is made
DSST=$T_TMP/ds/subnet.lease.json
cp "$DSST" "$T_TMP/ds-state.good"
jq '.VNI = 100000' "$T_TMP/ds-state.good" >"$DSST"
defer "ip link del sluice.100000"
overlay ADD d "" "$T_TMP/ds-ov.json"
err_is "dual stack, VNI 100000: code 7 before anything is made" $? "1 7" \
	"overlay device: the name for VNI 100000 is longer than 15 bytes"
check_eq "dual stack, VNI 100000: no sluice.100000" 0 "$(link_exists sluice.100000)"
cp "$T_TMP/ds-state.good" "$DSST"
