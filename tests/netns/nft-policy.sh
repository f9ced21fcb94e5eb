#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# sluice-nft-policy on one simulated node (this test's namespace), chained after sluice-bridge +
# sluice-host-local (dual stack) and run through libcni (cnitool), with Namespaces, Pods and
# NetworkPolicies applied to a dir:// store by `sluicectl apply` and no agent running: a
# default-deny ingress applied before the first ADD (the new pod unreachable over IPv4 and IPv6,
# an unselected one reachable; the first ADD creates the table), labels from Pod objects and
# from args.cni.labels, an allow by label; the before-return guarantee (a pod under deny-all
# egress sends UDP the instant its ADD returns and the receiver sees nothing, while a control
# pod's datagram arrives), on the slow and on the fast path; the fast path changes elements only
# (the chains keep their handles), the slow path replaces the table when the store's policies
# changed; the endpoint record read back; prevResult returned in the version asked; DEL
# (elements and record gone), DEL twice, DEL without netns; GC with valid attachments, a stale
# record's address held by a live pod kept; CHECK, and CHECK after an element was removed by
# hand, without the record, or with the table behind the store's policies; STATUS 0, and 50
# without br_netfilter (hidden by a mount) and with a store that cannot be opened; ADD failures
# (an injected failure after the commit, no br_netfilter, a store path that is a file, a bad
# prefix) leave no record and no element; 8 ADDs and 8 DELs at once; DEL without the table;
# chains/policy-only.conflist under upstream bridge + host-local.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

N=$$
CNITOOL=${BUILD_DIR:-build}/tests/cnitool
CACHE=$T_TMP/cache
STORE=$T_TMP/store
RUN=$T_TMP/run
PFX=/sluice/network
EPS=$PFX/endpoints/n1/
CONF=$T_TMP/pol.conflist
ctl() { "$BIN/sluicectl" --store "dir://$STORE" "$@"; }

ip link set lo up
defer "nft delete table inet sluice_policy"

jq -n --arg d "$T_TMP/ipam" --arg st "dir://$STORE" --arg rd "$RUN" '{
	cniVersion: "1.0.0", cniVersions: ["1.0.0", "1.1.0"], name: "pol",
	plugins: [
		{type: "sluice-bridge", bridge: "npbr0", isGateway: true, ipMasq: false,
		 ipam: {type: "sluice-host-local", dataDir: $d, ranges: [[{subnet: "10.250.1.0/24"}], [{subnet: "fd00:250:1::/64"}]]}},
		{type: "sluice-nft-policy", store: $st, runDir: $rd, node: "n1"}]}' >"$CONF"
# the plugin's own config, as libcni hands it over (for direct calls)
jq '.plugins[1] + {name, cniVersion: "1.1.0"}' "$CONF" >"$T_TMP/pol.json"

inns() {
	local p=$1
	shift
	ip netns exec "pod$N-$p" "$@"
}
# run VERB POD [CNI_ARGS] [CONFLIST]: the chain through libcni, its output in $T_TMP/out
run() {
	timeout 60 "$CNITOOL" -cachedir "$CACHE" -path "$BIN:$UPSTREAM" ${3:+-args "$3"} "${1,,}" \
		"${4:-$CONF}" "ctr-$2" "/run/netns/pod$N-$2" eth0 >"$T_TMP/out" 2>"$T_TMP/err"
}
# pod POD NS [LABELS_JSON] [CONFLIST]: a netns and the chain's ADD for it (K8S_POD_* = NS/POD
# when NS is not "-"; LABELS_JSON: args.cni.labels in a copy of the conflist)
pod() {
	local p=$1 ns=$2 c=${4:-$CONF} a=
	mk_netns "pod$N-$p"
	defer "timeout 60 $CNITOOL -cachedir $CACHE -path $BIN:$UPSTREAM del $c ctr-$p /run/netns/pod$N-$p eth0"
	if [ -n "${3:-}" ]; then
		jq --argjson l "$3" '(.plugins[] | select(.type == "sluice-nft-policy")).args.cni.labels = $l' \
			"$c" >"$T_TMP/lab-$p.conflist"
		c=$T_TMP/lab-$p.conflist
	fi
	[ "$ns" = - ] || a="K8S_POD_NAMESPACE=$ns;K8S_POD_NAME=$p"
	run ADD "$p" "$a" "$c"
}
ip4() { inns "$1" ip -j addr show eth0 | jq -r '.[0].addr_info[] | select(.family=="inet") | .local'; }
ip6() { inns "$1" ip -j addr show eth0 | jq -r '.[0].addr_info[] | select(.family=="inet6" and .scope=="global") | .local'; }
reach() { inns "$1" ping -c1 -W1 "$(ip4 "$2")" >/dev/null 2>&1; }
reach6() { inns "$1" ping -6 -c1 -W1 "$(ip6 "$2")" >/dev/null 2>&1; }
reach6_retry() { ping_retry "pod$N-$1" "$(ip6 "$2")" >/dev/null 2>&1; }
reach_retry() { ping_retry "pod$N-$1" "$(ip4 "$2")" >/dev/null 2>&1; }
# ip_elems IP: how many times IP appears in table inet sluice_policy (elements of its sets
# and maps, concatenations included)
ip_elems() {
	nft -j list table inet sluice_policy 2>/dev/null |
		jq --arg ip "$1" '[.. | strings | select(. == $ip)] | length'
}
# handles: the chains of the table and their handles (a replaced table has new ones)
handles() {
	nft -j list table inet sluice_policy | jq -c '[.nftables[].chain // empty | [.name, .handle]]'
}
# kept OLD_HANDLES: every chain of OLD_HANDLES is still there with its handle (the fast path
# may add a class chain: the first pod with that combination of policies)
kept() { jq -en --argjson a "$1" --argjson b "$(handles)" '$a - $b == []' >/dev/null; }
record() { ctl store get "$EPS$1" --value-only 2>/dev/null; }
# elements of the table other than the stamp
elems() {
	nft -j list table inet sluice_policy 2>/dev/null | jq '[.nftables[] | (.set // .map // empty) |
		select(.name != "stamp") | .elem // [] | .[]] | length'
}
apply() { ctl apply -f - >/dev/null; }
k8s_pod() { # NS NAME LABELS_JSON
	jq -n --arg ns "$1" --arg n "$2" --argjson l "$3" '{apiVersion: "v1", kind: "Pod",
		metadata: {name: $n, namespace: $ns, labels: $l},
		spec: {containers: [{name: "c", image: "i"}]}}'
}
netpol() { # NS NAME SPEC_JSON
	jq -n --arg ns "$1" --arg n "$2" --argjson s "$3" '{apiVersion: "networking.k8s.io/v1",
		kind: "NetworkPolicy", metadata: {name: $n, namespace: $ns}, spec: $s}'
}

# --- a default-deny ingress before the first ADD (no table yet: the slow path creates it)
jq -n '{apiVersion: "v1", kind: "Namespace", metadata: {name: "x", labels: {team: "x"}}}' | apply
k8s_pod x web '{"app":"web"}' | apply
k8s_pod x cl '{"role":"client"}' | apply
netpol x deny-web '{"podSelector":{"matchLabels":{"app":"web"}},"policyTypes":["Ingress"]}' | apply
check "no policy table before the first ADD" test -z "$(nft list tables | grep sluice_policy)"
check "ADD web (x/web, app=web: isolated for ingress)" pod web x
check_eq "the first ADD created table inet sluice_policy" 1 \
	"$(nft -j list tables | jq '[.nftables[].table.name // empty | select(. == "sluice_policy")] | length')"
check "ADD src (x/src: no labels, no policy)" pod src x
check "ADD other (x/other, no Pod object)" pod other x
WEB=$(ip4 web)
check_fail "src cannot reach web (default deny ingress)" reach src web
check "web reaches src (egress is open)" reach_retry web src
check "src reaches other (selected by no policy)" reach_retry src other
check "IPv6: src reaches other" reach6_retry src other
check_fail "IPv6: src cannot reach web" reach6 src web
check "IPv6: web reaches src" reach6_retry web src
check_eq "web's address is in the table" 1 "$([ "$(ip_elems "$WEB")" -gt 0 ] && echo 1)"

# the endpoint record
r=$(record ctr-web-eth0)
check_eq "web's record: identity, addresses, node" "ctr-web eth0 x web n1 $WEB,$(ip6 web)" \
	"$(jq -r '"\(.containerID) \(.ifName) \(.namespace) \(.pod) \(.node) \(.ips | join(","))"' <<<"$r")"
check_eq "web's record names its host veth" "$(ip -j link show master npbr0 | jq -r \
	--arg p "$(inns web ip -j link show eth0 | jq -r '.[0].link_index')" '.[] | select(.ifindex == ($p | tonumber)) | .ifname')" \
	"$(jq -r .hostVeth <<<"$r")"
check_eq "ADD returned the bridge's result (its pod address)" "$(ip4 other)" \
	"$(jq -r '.ips[0].address | sub("/.*"; "")' "$T_TMP/out")"
# the plugin alone, asked in 0.4.0 and in 1.1.0: prevResult back in that version (0.4.0: its
# ips carry "version"), its interfaces and addresses unchanged
for v in 0.4.0 1.1.0; do
	jq --arg v "$v" --slurpfile r "$T_TMP/out" '.cniVersion = $v | .prevResult = ($r[0] | .cniVersion = $v)' \
		"$T_TMP/pol.json" >"$T_TMP/ver.json"
	want=$(jq -c --arg v "$v" '.prevResult | [$v, .interfaces, [.ips[] | {address, gateway, interface}],
		(if $v == "0.4.0" then "4" else null end)]' "$T_TMP/ver.json")
	check_eq "ADD in $v: prevResult returned in $v" "$want" \
		"$(cni ADD ctr-ver "pod$N-other" eth1 "$T_TMP/ver.json" | jq -c '[.cniVersion, .interfaces,
			[.ips[] | {address, gateway, interface}], .ips[0].version]')"
	check "DEL of it" cni DEL ctr-ver "" eth1 "$T_TMP/ver.json"
done
# without "node": the NodeName of the lease state beside <runDir>/subnet.env (sluiced's)
mkdir -p "$T_TMP/noderun"
jq -n '{Key: "/sluice/network/subnets/10.250.1.0-24", Subnet: "10.250.1.0/24",
	Network: "10.250.0.0/16", PublicIP: "192.168.250.1", Iface: "lo", VNI: 1, Port: 8472,
	VtepMAC: "0a:00:00:00:00:01", MTU: 1450, Expires: 0, NodeName: "lease-node"}' \
	>"$T_TMP/noderun/subnet.lease.json"
jq --arg rd "$T_TMP/noderun" --slurpfile r "$T_TMP/out" 'del(.node) | .runDir = $rd |
	.prevResult = $r[0]' "$T_TMP/pol.json" >"$T_TMP/nn.json"
cni ADD ctr-nn "pod$N-other" eth2 "$T_TMP/nn.json" >/dev/null
check_eq "without node: the record is under the lease state's NodeName" 0 $?
check "... read back" ctl store get "$PFX/endpoints/lease-node/ctr-nn-eth2"
check "... and DEL finds it there" cni DEL ctr-nn "" eth2 "$T_TMP/nn.json"
check_fail "... gone" ctl store get "$PFX/endpoints/lease-node/ctr-nn-eth2"

# --- the slow path: a policy added to the store with no agent running; the next ADD renders
# the whole ruleset again (new chains, new handles)
h0=$(handles)
netpol x allow-cl '{"podSelector":{"matchLabels":{"app":"web"}},"ingress":[{"from":[{"podSelector":{"matchLabels":{"role":"client"}}}]}]}' | apply
netpol default deny-web '{"podSelector":{"matchLabels":{"app":"web"}},"policyTypes":["Ingress"]}' | apply
check "ADD cl (x/cl, role=client: a policy changed in the store)" pod cl x
h1=$(handles)
check_fail "slow path: the table was replaced (new chain handles)" kept "$h0"
check "cl reaches web (allowed by label)" reach_retry cl web
check_fail "src still cannot reach web" reach src web

# --- the fast path: nothing changed in the policies, only elements
check "ADD lab (labels app=web from args.cni.labels, no K8S_POD_*)" pod lab - \
	'[{"key":"app","value":"web"}]'
check "fast path: the chains kept their handles" kept "$h1"
r=$(record ctr-lab-eth0)
check_eq "lab's record: namespace default, no pod name, its labels" 'default  {"app":"web"}' \
	"$(jq -rc '"\(.namespace) \(.pod) \(.labels)"' <<<"$r")"
check_fail "src cannot reach lab (default/deny-web selects it by its args.cni.labels)" reach src lab
check "lab reaches src" reach_retry lab src

# --- the before-return guarantee: deny-all egress for app=mute; a receiver rx, and pods that
# send the instant their ADD returns: mute1 (a Pod object) on the slow path (the policy is
# new to the kernel), mute2 (args.cni.labels) on the fast path, a control pod after each
check "ADD rx (the receiver)" pod rx x
RX=$(ip4 rx)
spawn ip netns exec "pod$N-rx" socat -u UDP4-RECV:9000 "OPEN:$T_TMP/rx.log,creat,append"
listening "pod$N-rx" udp 9000 || fail "rx listening"
send() { inns "$1" socat -u - "UDP4-SENDTO:$RX:9000" <<<"$1"; }
# burst POD: three datagrams, the first right after the ADD returned
burst() { send "$1" && sleep 0.1 && send "$1" && sleep 0.1 && send "$1"; }
for p in mute1 ctl1 mute2 ctl2; do
	mk_netns "pod$N-$p"
	defer "timeout 60 $CNITOOL -cachedir $CACHE -path $BIN:$UPSTREAM del $CONF ctr-$p /run/netns/pod$N-$p eth0"
done
k8s_pod x mute1 '{"app":"mute"}' | apply
netpol x mute '{"podSelector":{"matchLabels":{"app":"mute"}},"policyTypes":["Egress"]}' | apply
h=$(handles)
run ADD mute1 "K8S_POD_NAMESPACE=x;K8S_POD_NAME=mute1" && burst mute1
check_eq "ADD mute1 (deny-all egress), sending the instant it returns" 0 $?
check_fail "mute1's ADD took the slow path (new chain handles)" kept "$h"
run ADD ctl1 "K8S_POD_NAMESPACE=x;K8S_POD_NAME=ctl1" && burst ctl1
check_eq "ADD ctl1 (no policy), sending the instant it returns" 0 $?
jq '(.plugins[] | select(.type == "sluice-nft-policy")).args.cni.labels = [{key: "app", value: "mute"}]' \
	"$CONF" >"$T_TMP/mute.conflist"
h=$(handles)
run ADD mute2 "K8S_POD_NAMESPACE=x;K8S_POD_NAME=mute2" "$T_TMP/mute.conflist" && burst mute2
check_eq "ADD mute2 (app=mute from args.cni.labels), sending the instant it returns" 0 $?
check "mute2's ADD took the fast path (the chains kept their handles)" kept "$h"
run ADD ctl2 "K8S_POD_NAMESPACE=x;K8S_POD_NAME=ctl2" && burst ctl2
check_eq "ADD ctl2, sending the instant it returns" 0 $?
got() { grep -q ctl1 "$T_TMP/rx.log" && grep -q ctl2 "$T_TMP/rx.log"; }
check "the control pods' datagrams arrived" ms_until 10 got
check_eq "no datagram of mute1 (slow path) arrived, not even the first" 0 \
	"$(grep -c mute1 "$T_TMP/rx.log")"
check_eq "no datagram of mute2 (fast path) arrived, not even the first" 0 \
	"$(grep -c mute2 "$T_TMP/rx.log")"

# --- CHECK
check "CHECK web" run CHECK web "K8S_POD_NAMESPACE=x;K8S_POD_NAME=web"
nft delete element inet sluice_policy ing4 "{ $WEB }"
run CHECK web "K8S_POD_NAMESPACE=x;K8S_POD_NAME=web"
check_eq "CHECK after web's dispatch element was removed by hand: fails" 1 $?
check_eq "... with code 103 naming what is missing" "103 true" \
	"$(jq -r '"\(.code) \(.msg | test("ing4"))"' "$T_TMP/out" 2>/dev/null)"
ctl store del "$EPS"ctr-other-eth0 >/dev/null
run CHECK other "K8S_POD_NAMESPACE=x;K8S_POD_NAME=other"
check_eq "CHECK without the record: 103" "1 103" "$? $(jq -r .code "$T_TMP/out" 2>/dev/null)"

# --- a DEL that finds no record (removed by hand) scrubs prevResult's addresses
check "ADD nr (app=web from args.cni.labels: isolated)" pod nr - '[{"key":"app","value":"web"}]'
NR=$(ip4 nr)
check "nr is in the table" test "$(ip_elems "$NR")" -gt 0
ctl store del "$EPS"ctr-nr-eth0 >/dev/null
check "DEL nr without its record" run DEL nr "" "$T_TMP/lab-nr.conflist"
check_eq "DEL nr without its record: its address left the table" 0 "$(ip_elems "$NR")"

# --- DEL: elements and record gone; twice; without netns
CL=$(ip4 cl)
check_eq "cl is in the table (a peer of allow-cl)" 1 "$([ "$(ip_elems "$CL")" -gt 0 ] && echo 1)"
# its flows (an established one to it, one from it) and one of others, in conntrack
conntrack -I -s 10.250.1.200 -d "$CL" -p tcp --sport 40000 --dport 80 --state ESTABLISHED -t 100 >/dev/null 2>&1
conntrack -I -s "$CL" -d 10.250.1.201 -p udp --sport 40001 --dport 53 -t 100 >/dev/null 2>&1
conntrack -I -s 10.250.1.202 -d 10.250.1.203 -p udp --sport 40002 --dport 53 -t 100 >/dev/null 2>&1
# ctn: the original tuples in conntrack: to cl, from cl, the others'
ctn() {
	local l
	l=$(conntrack -L 2>/dev/null)
	echo "$(grep -c "src=10.250.1.200 dst=$CL " <<<"$l") $(grep -c "src=$CL dst=10.250.1.201 " <<<"$l")" \
		"$(grep -c "src=10.250.1.202 dst=10.250.1.203 " <<<"$l")"
}
check_eq "cl's flows and another in conntrack" "1 1 1" "$(ctn)"
check "DEL cl" run DEL cl
check_eq "DEL cl: its conntrack entries gone (to and from it), the other's kept" "0 0 1" "$(ctn)"
check_eq "DEL cl: its address left the table" 0 "$(ip_elems "$CL")"
check_eq "DEL cl: its record is gone" "" "$(record ctr-cl-eth0)"
check "DEL cl again" run DEL cl
LAB=$(ip4 lab)
check "lab is in the table (isolated)" test "$(ip_elems "$LAB")" -gt 0
check "DEL lab without netns (the plugin alone)" cni DEL ctr-lab '' eth0 "$T_TMP/pol.json"
check_eq "DEL without netns: lab's address left the table, its record is gone" "0 " \
	"$(ip_elems "$LAB") $(record ctr-lab-eth0)"
check "DEL lab through the chain after that" run DEL lab

# --- GC: every record of n1 but those of valid attachments
valid=$(ctl store list "$EPS" -o json | jq -c '[.kvs[].value | fromjson |
	select(.containerID != "ctr-mute1") | {containerID, ifname: .ifName}]')
M1=$(ip4 mute1)
# a stale record (its DEL never came) whose address the node gave to mute2 since
ctl store put "${EPS}ctr-stale-eth0" "$(jq -nc --arg ip "$(ip4 mute2)" '{containerID: "ctr-stale",
	ifName: "eth0", namespace: "x", pod: "old", node: "n1", ips: [$ip]}')" >/dev/null
check "mute1 is in the table (isolated)" test "$(ip_elems "$M1")" -gt 0
jq --argjson v "$valid" '. + {"cni.dev/valid-attachments": $v}' "$T_TMP/pol.json" >"$T_TMP/gc.json"
check "GC with every attachment valid but mute1's and the stale one" cni GC '' '' '' "$T_TMP/gc.json"
check_eq "GC: mute1's and the stale record are gone, src's stays" "0 0 1" \
	"$(record ctr-mute1-eth0 | wc -l) $(record ctr-stale-eth0 | wc -l) $(record ctr-src-eth0 | wc -l)"
check_eq "GC: mute1's address left the table" 0 "$(ip_elems "$M1")"
check "GC: mute2's elements stay (a valid attachment, the stale record's address)" test "$(ip_elems "$(ip4 mute2)")" -gt 0

# --- STATUS
out=$(cni STATUS '' '' '' "$T_TMP/pol.json")
check_eq "STATUS: 0, nothing printed" "0 " "$? $out"
echo x >"$T_TMP/afile"
jq --arg s "dir://$T_TMP/afile" '.store = $s' "$T_TMP/pol.json" >"$T_TMP/badstore.json"
out=$(cni STATUS '' '' '' "$T_TMP/badstore.json")
check_eq "STATUS with a store that cannot be opened: 50" "1 50" "$? $(jq -r .code <<<"$out")"
# no br_netfilter: its sysctls hidden under an empty tmpfs, in this test's own mount namespace
if [ "$(readlink /proc/self/ns/mnt)" != "$(readlink /proc/1/ns/mnt)" ] &&
	mount -t tmpfs sluice-nobr /proc/sys/net/bridge; then
	defer "umount /proc/sys/net/bridge"
	out=$(cni STATUS '' '' '' "$T_TMP/pol.json")
	check_eq "STATUS without br_netfilter: 50, naming it" "1 50 true" \
		"$? $(jq -r '"\(.code) \(.msg | test("br_netfilter is not loaded"))"' <<<"$out")"
	mk_netns "pod$N-nobr"
	run ADD nobr "K8S_POD_NAMESPACE=x;K8S_POD_NAME=nobr"
	check_eq "ADD without br_netfilter: code 100, naming it" "1 100 true" \
		"$? $(jq -r '"\(.code) \(.msg | test("br_netfilter"))"' "$T_TMP/out")"
	check_eq "ADD without br_netfilter: no record" "" "$(record ctr-nobr-eth0)"
	check "DEL nobr" run DEL nobr
	umount /proc/sys/net/bridge
else
	fail "br_netfilter hidden in the test's own mount namespace (run it through tests/run.sh)"
fi

# --- a failed ADD leaves no record and no element
k8s_pod x f1 '{"app":"web"}' | apply
before=$(elems)
mk_netns "pod$N-f1"
SLUICE_FAULT=commit run ADD f1 "K8S_POD_NAMESPACE=x;K8S_POD_NAME=f1"
check_eq "a failure injected after the commit: ADD fails (999)" "1 999" \
	"$? $(jq -r .code "$T_TMP/out" 2>/dev/null)"
check_eq "... its record removed" "" "$(record ctr-f1-eth0)"
check_eq "... its elements removed (it was isolated: it had some)" "$before 0" \
	"$(elems) $(ip_elems "$(ip4 f1)")"
check "DEL f1 (the runtime's cleanup)" run DEL f1
jq --arg s "dir://$T_TMP/afile" '(.plugins[] | select(.type == "sluice-nft-policy")).store = $s' \
	"$CONF" >"$T_TMP/filestore.conflist"
run ADD f1 "K8S_POD_NAMESPACE=x;K8S_POD_NAME=f1" "$T_TMP/filestore.conflist"
check_eq "a store path that is a file: ADD fails" 1 $?
check_eq "... no element added" "$before" "$(elems)"
check "DEL under a store path that is a file (nothing can be recorded there)" \
	run DEL f1 "" "$T_TMP/filestore.conflist"
jq '(.plugins[] | select(.type == "sluice-nft-policy")).prefix = "x"' "$CONF" >"$T_TMP/badprefix.conflist"
run ADD f1 "K8S_POD_NAMESPACE=x;K8S_POD_NAME=f1" "$T_TMP/badprefix.conflist"
check_eq "a bad prefix: ADD fails with code 7" "1 7" "$? $(jq -r .code "$T_TMP/out" 2>/dev/null)"
check_eq "... no element added" "$before" "$(elems)"
run DEL f1 "" "$T_TMP/badprefix.conflist"
check_eq "no endpoint record of f1" 0 "$(ctl store list "$EPS" --keys-only | grep -c f1)"

# --- CHECK when the store's policies changed and no agent brought the table up to date
netpol x none '{"podSelector":{"matchLabels":{"app":"none"}},"policyTypes":["Ingress"]}' | apply
run CHECK mute2 "K8S_POD_NAMESPACE=x;K8S_POD_NAME=mute2" "$T_TMP/mute.conflist"
check_eq "CHECK after a policy changed in the store (no agent): 103, the table is stale" \
	"1 103 true" "$? $(jq -r '"\(.code) \(.msg | test("other policies than the store"))"' "$T_TMP/out")"

# --- everything away: no record, no element of a pod left
for p in web src other rx mute1 ctl1 mute2 ctl2; do
	run DEL "$p" || fail "DEL $p" "$(cat "$T_TMP/out")"
done
check_eq "after every DEL: no endpoint record" 0 "$(ctl store list "$EPS" --keys-only | grep -c .)"
check_eq "after every DEL: no element but the stamp" 0 "$(elems)"
nft delete table inet sluice_policy

# --- 8 ADDs at once on a node without the table: the lock serializes them (the first renders
# the table, the others add their elements), every pod ends up in it; then 8 DELs at once
jq '(.plugins[] | select(.type == "sluice-nft-policy")).args.cni.labels = [{key: "app", value: "web"}]' \
	"$CONF" >"$T_TMP/race.conflist"
race() { # VERB POD
	timeout 60 "$CNITOOL" -cachedir "$CACHE" -path "$BIN:$UPSTREAM" "$1" "$T_TMP/race.conflist" \
		"ctr-$2" "/run/netns/pod$N-$2" eth0 >"$T_TMP/race-$2.out" 2>&1
}
pids=()
for i in 1 2 3 4 5 6 7 8; do
	mk_netns "pod$N-r$i"
	defer "timeout 60 $CNITOOL -cachedir $CACHE -path $BIN:$UPSTREAM del $T_TMP/race.conflist ctr-r$i /run/netns/pod$N-r$i eth0"
done
for i in 1 2 3 4 5 6 7 8; do
	race add "r$i" &
	pids+=($!)
done
ok=0
for p in "${pids[@]}"; do wait "$p" && ok=$((ok + 1)); done
check_eq "8 ADDs at once: all succeed" 8 "$ok"
check_eq "8 ADDs at once: 8 records" 8 "$(ctl store list "$EPS" --keys-only | grep -c .)"
n=0
for i in 1 2 3 4 5 6 7 8; do [ "$(ip_elems "$(ip4 "r$i")")" -gt 0 ] && n=$((n + 1)); done
check_eq "8 ADDs at once: every pod is in the table (default/deny-web isolates it)" 8 "$n"
pids=()
for i in 1 2 3 4 5 6 7 8; do
	race del "r$i" &
	pids+=($!)
done
ok=0
for p in "${pids[@]}"; do wait "$p" && ok=$((ok + 1)); done
check_eq "8 DELs at once: all succeed, no record, no element left" "8 0 0" \
	"$ok $(ctl store list "$EPS" --keys-only | grep -c .) $(elems)"
# DEL when the table is gone (removed by hand): only the record goes
race add r1
nft delete table inet sluice_policy
check "DEL without the table" race del r1
check_eq "DEL without the table: the record is gone, no table made" "0 0" \
	"$(ctl store list "$EPS" --keys-only | grep -c .) $(sluice_nft_tables)"

# --- sluiced serves the plugin (<runDir>/policy.sock): an agent on this node, on the same store
# and run directory. An ADD done by the agent (its log and the plugin's say so) puts a
# deny-all-egress pod under policy before it returns (its first datagram dropped); a DEL done
# by it takes the elements out; what the agent kept is exactly what a fresh render makes (a
# restart replaces the table with the same elements); the socket is 0600 and removed on
# SIGTERM; an agent stopped (SIGSTOP): the ADD falls back after the plugin's 2 s and still
# programs before it returns; no agent: the plugin's own path; junk, fuzzed requests,
# oversized lines, idle and surplus connections leave the agent serving.
AG=$T_TMP/agent.log
PLOG=$T_TMP/plugin.log
SOCK=$RUN/policy.sock
APID=
# shellcheck disable=SC2016 # (evaluated at exit)
defer '[ -z "$APID" ] || kill -KILL "$APID" 2>/dev/null; kill -CONT "$APID" 2>/dev/null'
start_agent() {
	local n
	n=$(grep -c 'table sluice_policy set' "$AG" 2>/dev/null)
	setsid "$BIN/sluiced" --store "dir://$STORE" --subnet-file "$RUN/subnet.env" \
		--cni-conf-dir "$T_TMP/net.d" --node-name n1 --log-level debug 2>>"$AG" &
	APID=$!
	agent_set() { [ "$(grep -c 'table sluice_policy set' "$AG")" -gt "${n:-0}" ] && [ -S "$SOCK" ]; }
	ms_until 20 agent_set >/dev/null
}
served() { grep -c "policy.sock: $1 endpoints/n1/ctr-$2-eth0: served" "$AG"; }
# arun: run with the plugin's log in $PLOG
arun() { SLUICE_LOG_FILE=$PLOG run "$@"; }
# the table's sets and maps with their elements sorted (no handles)
tset() {
	nft -j list table inet sluice_policy | jq -c '[.nftables[] | (.set // .map // empty) |
		select(.name != "stamp") | {name, e: ((.elem // []) | map(tojson) | sort)}] | sort_by(.name)'
}
# sockreq LINE...: each LINE to policy.sock on a connection of its own, each answer printed
# (one line each, "-" for none)
# sockcli.py: conn(path), a connection to policy.sock; answer(s), its one answer line (or
# what came before the close or a 5 s silence), the connection closed
cat >"$T_TMP/sockcli.py" <<'PY'
import socket
def conn(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    return s
def answer(s):
    buf = b""
    try:
        while not buf.endswith(b"\n"):
            d = s.recv(4096)
            if not d:
                break
            buf += d
    except (socket.timeout, ConnectionResetError):
        pass
    s.close()
    return buf
PY
sockreq() {
	PYTHONPATH=$T_TMP python3 - "$SOCK" "$@" <<'PY'
import sys
from sockcli import conn, answer
for line in sys.argv[2:]:
    s = conn(sys.argv[1])
    s.sendall(line.encode() + b"\n")
    print(answer(s).decode(errors="replace").strip() or "-")
PY
}

k8s_pod x sa '{"app":"mute"}' | apply
k8s_pod x sb '{"app":"mute"}' | apply
k8s_pod x sd '{"app":"mute"}' | apply
start_agent
check "agent: started, its socket bound" test -S "$SOCK"
check_eq "agent: the socket is 0600" 600 "$(stat -c %a "$SOCK")"
for p in srx sa sc sb sd sj; do
	mk_netns "pod$N-$p"
	defer "timeout 60 $CNITOOL -cachedir $CACHE -path $BIN:$UPSTREAM del $CONF ctr-$p /run/netns/pod$N-$p eth0"
done
check "agent: ADD srx (the receiver)" arun ADD srx "K8S_POD_NAMESPACE=x;K8S_POD_NAME=srx"
check_eq "agent: srx's ADD served by the agent (its log, the plugin's)" "1 1" \
	"$(served add srx) $(grep -c 'sluiced did the add' "$PLOG")"
SRX=$(ip4 srx)
spawn ip netns exec "pod$N-srx" socat -u UDP4-RECV:9001 "OPEN:$T_TMP/srx.log,creat,append"
listening "pod$N-srx" udp 9001 || fail "srx listening"
ssend() { inns "$1" socat -u - "UDP4-SENDTO:$SRX:9001" <<<"$1"; }
sburst() { ssend "$1" && sleep 0.1 && ssend "$1" && sleep 0.1 && ssend "$1"; }
arun ADD sa "K8S_POD_NAMESPACE=x;K8S_POD_NAME=sa" && sburst sa
check_eq "agent: ADD sa (deny-all egress), sending the instant it returns" 0 $?
check_eq "agent: sa's ADD served by the agent" 1 "$(served add sa)"
check_eq "agent: ... the plugin compiled no policy (no ruleset rendered, no fallback)" "0 0" \
	"$(grep -c 'rendered from the store' "$PLOG") $(grep -c 'doing it ourselves' "$PLOG")"
arun ADD sc "K8S_POD_NAMESPACE=x;K8S_POD_NAME=sc" && sburst sc
check_eq "agent: ADD sc (no policy), sending the instant it returns" 0 $?
sgot() { grep -q sc "$T_TMP/srx.log"; }
check "agent: sc's datagrams arrived" ms_until 10 sgot
check_eq "agent: no datagram of sa arrived, not even the first" 0 "$(grep -c sa "$T_TMP/srx.log")"
check "agent: sa is in the table" test "$(ip_elems "$(ip4 sa)")" -gt 0
check "agent: CHECK sa" run CHECK sa "K8S_POD_NAMESPACE=x;K8S_POD_NAME=sa"

# what the agent kept is exact (the records' watch events came after it, no-ops): a
# restart renders the whole ruleset from the store: the same elements
before=$(tset)
stop_pid "$APID" TERM 100
check_fail "agent: SIGTERM removed the socket" test -e "$SOCK"
start_agent
check_eq "agent: restarted, the table's elements are what the agent had patched in" "$before" "$(tset)"

# stopped: the plugin waits 2 s for an answer, then does it itself, before returning
kill -STOP "$APID"
t0=$(date +%s%N)
arun ADD sb "K8S_POD_NAMESPACE=x;K8S_POD_NAME=sb" && sburst sb
rc=$?
t=$((($(date +%s%N) - t0) / 1000000))
check_eq "agent stopped: ADD sb succeeds" 0 "$rc"
check "agent stopped: ADD sb fell back after the plugin's timeout (${t} ms)" test "$t" -ge 2000 -a "$t" -lt 15000
check "agent stopped: the plugin says so" grep -q 'sluiced.*Connection timed out: doing it ourselves\|policy.sock: Connection timed out' "$PLOG"
check "agent stopped: sb is in the table" test "$(ip_elems "$(ip4 sb)")" -gt 0
kill -CONT "$APID"
check_eq "agent stopped: no datagram of sb arrived" 0 "$(grep -c sb "$T_TMP/srx.log")"
# resumed, it takes the stale request (the record is there: the same endpoint, a no-op)
check "agent resumed: its table is still right (CHECK sb)" run CHECK sb "K8S_POD_NAMESPACE=x;K8S_POD_NAME=sb"

# junk: every answer a refusal naming the problem, the agent alive and serving after
REC=$(record ctr-sa-eth0)
k="endpoints/n1/ctr-sa-eth0"
mapfile -t ans < <(sockreq 'garbage' '[1,2]' '{"op":"add"}' '{"op":"nuke","key":"'$k'"}' \
	'{"op":"add","key":"endpoints/n2/ctr-sa-eth0","record":'"$REC"'}' \
	'{"op":"add","key":"endpoints/n1/../x","record":'"$REC"'}' \
	'{"op":"add","key":"'$k'"}' '{"op":"del","key":"'$k'","record":{}}' \
	'{"op":"add","key":"'$k'","record":{"containerID":7}}' \
	'{"op":"add","key":"endpoints/n1/ctr-zz-eth0","record":'"$REC"'}' \
	'{"op":"add","key":"'$k'","record":'"$(jq -c '.ips = ["10.9.9.9"]' <<<"$REC")"'}' \
	'{"op":"del","key":"'$k'"}' '{"op":"add","key":"'$k'","record":'"$REC"',"x":1}')
check_eq "junk: 13 refusals" "13" "$(printf '%s\n' "${ans[@]}" | jq -s '[.[] | select(.ok == false and .code > 0 and (.msg | length) > 0)] | length')"
check_eq "junk: the codes (1 bad request, 3 not the store's record)" "1 1 1 1 1 1 1 1 1 1 3 3 1" \
	"$(printf '%s\n' "${ans[@]}" | jq -rs 'map(.code) | join(" ")')"
check_eq "junk: the refusals name the field" "true true true" \
	"$(printf '%s\n' "${ans[@]}" | jq -rs '[(.[2].msg | test("key")), (.[3].msg | test("op")), (.[12].msg | test("unknown field"))] | join(" ")')"
check "junk: sa is still in the table (a refused del did nothing)" test "$(ip_elems "$(ip4 sa)")" -gt 0
# a line longer than 16 KiB, one without its newline then closed, idle and surplus
# connections, and 300 fuzzed requests (random bytes, mutated valid ones)
PYTHONPATH=$T_TMP python3 - "$SOCK" "$REC" >"$T_TMP/fuzz.out" 2>&1 <<'PY'
import functools, json, random, socket, sys, time
import sockcli
path, rec = sys.argv[1], sys.argv[2]
conn = functools.partial(sockcli.conn, path)
answer = sockcli.answer
s = conn(); s.sendall(b"x" * 20000)
a = answer(s); print("long", json.loads(a)["msg"] if a else "-")
s = conn(); s.sendall(b'{"op":"del","key":"endpoints/n1/nothing-eth0"}'); s.shutdown(socket.SHUT_WR)
a = answer(s); print("noeol", json.loads(a)["ok"] if a else "-")
idle = [conn() for _ in range(20)]
time.sleep(1.5)
for s in idle:
    s.close()
random.seed(12)
base = '{"op":"add","key":"endpoints/n1/ctr-sa-eth0","record":%s}' % rec
bad = 0
for i in range(300):
    if i % 3 == 0:
        line = bytes(random.randrange(256) for _ in range(random.randrange(1, 200)))
    else:
        b = bytearray(base.encode())
        for _ in range(random.randrange(1, 6)):
            b[random.randrange(len(b))] = random.randrange(32, 127)
        line = bytes(b)
    line = line.replace(b"\n", b" ") + b"\n"
    s = conn(); s.sendall(line)
    a = answer(s)
    try:
        o = json.loads(a)
        assert isinstance(o.get("ok"), bool)
    except Exception:
        bad += 1
print("fuzz", bad)
PY
check_eq "junk: an over-long line refused, a request without its newline answered" \
	"long the request is longer than 16384 bytes
noeol True" "$(head -2 "$T_TMP/fuzz.out")"
check_eq "junk: 300 fuzzed requests, each answered with a JSON answer" "fuzz 0" "$(tail -1 "$T_TMP/fuzz.out")"
check "junk: idle connections closed at their deadline" grep -q 'no request within 1000 ms' "$AG"
check "junk: the agent is alive" kill -0 "$APID"
arun ADD sd "K8S_POD_NAMESPACE=x;K8S_POD_NAME=sd" && sburst sd
check_eq "junk: then ADD sd, served by the agent, its first datagram dropped" "0 1 0" \
	"$? $(served add sd) $(grep -c sd "$T_TMP/srx.log")"

# DEL by the agent
SA=$(ip4 sa)
check "agent: DEL sa" arun DEL sa
check_eq "agent: DEL sa served by the agent: elements and record gone" "1 0 " \
	"$(served del sa) $(ip_elems "$SA") $(record ctr-sa-eth0)"
# an injected failure after the agent's commit: the undo goes through the agent too
before=$(elems)
SLUICE_FAULT=commit arun ADD sj "K8S_POD_NAMESPACE=x;K8S_POD_NAME=sj"
check_eq "agent: a failure after the agent's commit: ADD fails, record and elements gone" \
	"1 999  $before" "$? $(jq -r .code "$T_TMP/out" 2>/dev/null) $(record ctr-sj-eth0) $(elems)"
check_eq "agent: ... added and taken away by the agent" "1 1" "$(served add sj) $(served del sj)"
run DEL sj

# the agent's answer carries a stamp that is not the table's (it committed, but the plugin
# cannot count on it) and the plugin's own path then fails (an injected fault): the undo
# takes the agent's elements out all the same, and the record
k8s_pod x sk '{"app":"mute"}' | apply
mk_netns "pod$N-sk"
defer "timeout 60 $CNITOOL -cachedir $CACHE -path $BIN:$UPSTREAM del $CONF ctr-sk /run/netns/pod$N-sk eth0"
# a proxy in front of the agent's socket: each answer's stamp replaced, the agent stopped
# once it answered the add (it cannot take its elements out on its own: only the undo can)
mv "$SOCK" "$RUN/real.sock"
python3 - "$SOCK" "$RUN/real.sock" "$APID" <<'PY' &
import json, os, signal, socket, sys
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(sys.argv[1]); srv.listen(8)
while True:
    c, _ = srv.accept()
    buf = b""
    while not buf.endswith(b"\n"):
        d = c.recv(4096)
        if not d:
            break
        buf += d
    a = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    a.connect(sys.argv[2]); a.sendall(buf)
    ans = b""
    while not ans.endswith(b"\n"):
        d = a.recv(4096)
        if not d:
            break
        ans += d
    a.close()
    o = json.loads(ans)
    if json.loads(buf).get("op") == "add":
        os.kill(int(sys.argv[3]), signal.SIGSTOP)
    if "stamp" in o:
        o["stamp"] = "bogus"
    try:
        c.sendall(json.dumps(o).encode() + b"\n")
    except OSError:
        pass
    c.close()
PY
PPID_=$!
defer "kill $PPID_ 2>/dev/null"
ms_until 10 test -S "$SOCK" >/dev/null
SLUICE_FAULT=local arun ADD sk "K8S_POD_NAMESPACE=x;K8S_POD_NAME=sk"
rc=$?
check_eq "agent, stale stamp, own path failing: ADD sk fails (999), no record, no element" \
	"1 999  0" "$rc $(jq -r .code "$T_TMP/out" 2>/dev/null) $(record ctr-sk-eth0) $(ip_elems "$(ip4 sk)")"
check_eq "... the agent had added them" 1 "$(served add sk)"
kill "$PPID_" 2>/dev/null
wait "$PPID_" 2>/dev/null
kill -CONT "$APID"
rm -f "$SOCK"
mv "$RUN/real.sock" "$SOCK"
run DEL sk

# no agent: the plugin's own path at once
stop_pid "$APID" TERM 100
APID=
SB=$(ip4 sb)
check "no agent: DEL sb (own path)" arun DEL sb
check_eq "no agent: sb's record and elements gone" " 0" "$(record ctr-sb-eth0) $(ip_elems "$SB")"
check "no agent: the plugin found no socket" grep -q 'No such file or directory: doing it ourselves' "$PLOG"
# a DEL whose own path fails (the lock held elsewhere: no agent either) keeps the record, so
# that the runtime's retried DEL finds the elements to take out
SD=$(ip4 sd)
exec {lk}>"$RUN/policy.lock"
flock "$lk"
run DEL sd
check_eq "lock held: DEL sd fails, sd's record and elements stay" "1 true true" \
	"$? $([ -n "$(record ctr-sd-eth0)" ] && echo true) $([ "$(ip_elems "$SD")" -gt 0 ] && echo true)"
flock -u "$lk"
exec {lk}>&-
check "lock free: DEL sd again" run DEL sd
check_eq "lock free: sd's record and elements gone" " 0" "$(record ctr-sd-eth0) $(ip_elems "$SD")"
for p in srx sc; do run DEL "$p" || fail "DEL $p" "$(cat "$T_TMP/out")"; done
check_eq "agent section: no record left" 0 "$(ctl store list "$EPS" --keys-only | grep -c .)"

# --- chains/policy-only.conflist: upstream bridge + host-local, then sluice-nft-policy (its
# node: the hostname; a store of its own)
UP=$(dirname "$0")/../../chains/policy-only.conflist
if [ -x "$UPSTREAM/bridge" ] && [ -x "$UPSTREAM/host-local" ]; then
	jq --arg d "$T_TMP/upipam" --arg st "dir://$T_TMP/upstore" --arg rd "$T_TMP/uprun" \
		'.plugins[0].ipam.dataDir = $d | .plugins[1] += {store: $st, runDir: $rd}' "$UP" >"$T_TMP/up.conflist"
	STORE=$T_TMP/upstore
	netpol default deny-web '{"podSelector":{"matchLabels":{"app":"web"}},"policyTypes":["Ingress"]}' | apply
	check "upstream: ADD ua (app=web from args.cni.labels)" pod ua - '[{"key":"app","value":"web"}]' "$T_TMP/up.conflist"
	check "upstream: ADD ub" pod ub - "" "$T_TMP/up.conflist"
	check_fail "upstream: ub cannot reach ua" reach ub ua
	check "upstream: ua reaches ub" reach_retry ua ub
	check_eq "upstream: ua's record names the node by its hostname and the veth" \
		"$(hostname) true" "$(ctl store list "$PFX/endpoints/" -o json | jq -r '.kvs[0].value | fromjson |
			"\(.node) \(.hostVeth | startswith("veth"))"')"
	check "upstream: CHECK ua" run CHECK ua "" "$T_TMP/lab-ua.conflist"
	check "upstream: DEL ua" run DEL ua "" "$T_TMP/lab-ua.conflist"
	check "upstream: DEL ub" run DEL ub "" "$T_TMP/up.conflist"
	check_eq "upstream: no record, no element left" "0 0" \
		"$(ctl store list "$PFX/endpoints/" --keys-only | grep -c .) $(elems)"
else
	fail "upstream bridge and host-local present" "missing $UPSTREAM/bridge or host-local"
fi
