#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Every plugin under valgrind's memcheck through a whole chain's life: sluice-bridge (ipMasq,
# macspoofchk, sluice-host-local run by it and traced too), sluice-portmap with mappings (TCP,
# UDP, a hostIP, IPv4 and IPv6; 304 for one pod, a batch past its first buffer),
# sluice-bandwidth shaping ingress and egress, sluice-vxlan-overlay on a lease,
# sluice-nft-policy on a dir:// store with policies (its slow and fast path); ADD, CHECK,
# GC (one attachment valid, one removed), DEL, a second DEL, VERSION and STATUS. Each run
# must succeed and valgrind must report nothing: no byte sent to the kernel (sendmsg) or
# used in a branch that was never written, no invalid access, no leak (leak-check=full).
# Uses the dynamic copy of the plugins in $BUILD_DIR/vg/bin (`make vg`, built by `make
# test`): memcheck replaces malloc only in a dynamic program, so in the static-pie plugins
# uninitialised heap bytes would go unseen.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

VGBIN=${VGBIN:-${BUILD_DIR:-build}/vg/bin}
if ! command -v valgrind >/dev/null; then
	fail "valgrind-installed" "no valgrind (make deps installs it)"
	exit 0
fi
for p in bridge host-local portmap bandwidth vxlan-overlay nft-policy; do
	if [ ! -x "$VGBIN/sluice-$p" ]; then
		fail "vg-built" "missing $VGBIN/sluice-$p (make vg)"
		exit 0
	fi
done

N=$$
DATA=$T_TMP/ipam
mkdir -p "$T_TMP/vg"

# vcni VERB CID NETNS CONF: runs the plugin of CONF's type from $VGBIN under memcheck (and
# whatever it executes); stdout is the plugin's, each process's report in $T_TMP/vg/<pid>
vcni() {
	local plugin
	plugin=$(jq -r .type <"$4")
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin CNI_COMMAND="$1" CNI_CONTAINERID="$2" \
		CNI_NETNS="${3:+/run/netns/$3}" CNI_IFNAME=eth0 CNI_PATH="$VGBIN" CNI_ARGS="${VG_CNI_ARGS:-}" \
		valgrind -q --tool=memcheck --error-exitcode=99 --leak-check=full \
		--errors-for-leak-kinds=definite,indirect,possible --track-origins=yes \
		--trace-children=yes --child-silent-after-fork=yes --num-callers=30 \
		--log-file="$T_TMP/vg/%p" "$VGBIN/$plugin" <"$4"
}

# vg NAME VERB CID NETNS CONF [OUT]: one checked run: exit status 0 and no report
vg() {
	local name=$1 out=${6:-$T_TMP/stdout} rc rep
	shift
	rm -f "$T_TMP"/vg/*
	vcni "$1" "$2" "$3" "$4" >"$out" 2>"$T_TMP/stderr"
	rc=$?
	# everything but valgrind's note on NS_GET_NSTYPE (an ioctl it has no wrapper for,
	# whose answer is an int return value, not memory)
	rep=$(cat "$T_TMP"/vg/* 2>/dev/null | grep -v -e 'Warning: noted but unhandled ioctl 0xb703 ' \
		-e '==    This could cause spurious value errors' -e '==    See README_MISSING_SYSCALL')
	if [ "$rc" -eq 0 ] && [ -z "$rep" ]; then
		pass "$name"
	else
		fail "$name" "exit status $rc" "$(cat "$out" "$T_TMP/stderr")" "$rep"
	fi
}

BR=$T_TMP/br.json
jq -n --arg d "$DATA" '{cniVersion:"1.1.0",name:"vgnet",type:"sluice-bridge",bridge:"vgbr0",
	isGateway:true,ipMasq:true,macspoofchk:true,
	ipam:{type:"sluice-host-local",dataDir:$d,
	ranges:[[{subnet:"10.71.0.0/24"}],[{subnet:"fd71::/64"}]]}}' >"$BR"

# chain P PORT_BASE [EXTRA]: the portmap and bandwidth configs of pod P on the bridge's
# result; EXTRA more TCP mappings from port 20000 (a batch that outgrows its first buffer)
chain() {
	jq --slurpfile r "$T_TMP/$1.br.out" --argjson b "$2" --argjson x "${3:-0}" '{cniVersion:"1.1.0",name:"vgnet",type:"sluice-portmap",
		snat:true,capabilities:{portMappings:true},prevResult:$r[0],
		runtimeConfig:{portMappings:([{hostPort:$b,containerPort:80,protocol:"tcp"},
		{hostPort:($b+1),containerPort:53,protocol:"udp"},
		{hostPort:($b+2),containerPort:81,protocol:"tcp",hostIP:"127.0.0.1"},
		{hostPort:($b+3),containerPort:82,protocol:"tcp",hostIP:"::1"}] +
		[range($x) | {hostPort:(20000+.),containerPort:(1000+.),protocol:"tcp"}])}}' \
		"$BR" >"$T_TMP/$1.pm.json"
	jq -n '{cniVersion:"1.1.0",name:"vgnet",type:"sluice-bandwidth",ingressRate:10000000,
		ingressBurst:100000,egressRate:20000000,egressBurst:200000}' >"$T_TMP/$1.bw.json"
}
# with PREV_OUT CONF: CONF with prevResult PREV_OUT (for the next plugin, or CHECK)
with() {
	jq --slurpfile r "$1" '.prevResult=$r[0]' "$2" >"$2.with"
	echo "$2.with"
}

for c in a b; do
	mk_netns "vgpod$N-$c" || exit 1
	defer "cni DEL vgcid-$c '' eth0 $BR sluice-bridge"
	defer "[ -f $T_TMP/$c.pm.json ] && cni DEL vgcid-$c '' eth0 $T_TMP/$c.pm.json"
	defer "[ -f $T_TMP/$c.bw.json ] && cni DEL vgcid-$c '' eth0 $T_TMP/$c.bw.json"
	vg "bridge ADD $c" ADD "vgcid-$c" "vgpod$N-$c" "$BR" "$T_TMP/$c.br.out"
	if [ "$c" = a ]; then chain a 18080; else chain b 18090 300; fi
	vg "portmap ADD $c" ADD "vgcid-$c" "vgpod$N-$c" "$(with "$T_TMP/$c.br.out" "$T_TMP/$c.pm.json")" \
		"$T_TMP/$c.pm.out"
	vg "bandwidth ADD $c" ADD "vgcid-$c" "vgpod$N-$c" \
		"$(with "$T_TMP/$c.pm.out" "$T_TMP/$c.bw.json")" "$T_TMP/$c.bw.out"
done
# the chain's work is really there (else the runs above proved little)
check_eq "ADD made the masq, spoofchk and portmap elements" 1 \
	"$([ "$(sluice_nft_elems)" -gt 0 ] && [ "$(sluice_nft_tables)" -ge 3 ] && echo 1)"
check "ADD made the tbf" sh -c "tc qdisc show | grep -q tbf"
check_eq "pod b's 304 mappings are in (elements owned by vgcid-b)" 1 \
	"$([ "$(sluice_nft_elems vgcid-b)" -ge 304 ] && echo 1)"

vg "bridge CHECK" CHECK vgcid-a "vgpod$N-a" "$(with "$T_TMP/a.bw.out" "$BR")"
vg "portmap CHECK" CHECK vgcid-a "vgpod$N-a" "$(with "$T_TMP/a.bw.out" "$T_TMP/a.pm.json")"
vg "bandwidth CHECK" CHECK vgcid-a "vgpod$N-a" "$(with "$T_TMP/a.bw.out" "$T_TMP/a.bw.json")"

for f in "$BR" "$T_TMP/a.pm.json" "$T_TMP/a.bw.json"; do
	jq '."cni.dev/valid-attachments"=[{containerID:"vgcid-a",ifname:"eth0"}]' "$f" >"$f.gc"
done
vg "bridge GC" GC "" "" "$BR.gc"
vg "portmap GC" GC "" "" "$T_TMP/a.pm.json.gc"
vg "bandwidth GC" GC "" "" "$T_TMP/a.bw.json.gc"
check_eq "GC left attachment a only (veths on the bridge)" 1 \
	"$(ip -j link show master vgbr0 | jq length)"

for c in a b; do
	vg "bandwidth DEL $c" DEL "vgcid-$c" "vgpod$N-$c" "$T_TMP/$c.bw.json"
	vg "portmap DEL $c" DEL "vgcid-$c" "vgpod$N-$c" "$T_TMP/$c.pm.json"
	vg "bridge DEL $c" DEL "vgcid-$c" "vgpod$N-$c" "$BR"
done
vg "bridge DEL again, without netns" DEL vgcid-a "" "$BR"
vg "portmap DEL again" DEL vgcid-a "" "$T_TMP/a.pm.json"
check_eq "DEL left no sluice element" 0 "$(sluice_nft_elems)"

for f in "$BR" "$T_TMP/a.pm.json" "$T_TMP/a.bw.json" "$T_TMP/hl.json"; do
	[ "$f" = "$T_TMP/hl.json" ] && jq '.type="sluice-host-local"' "$BR" >"$f"
	t=$(jq -r .type "$f")
	vg "$t VERSION" VERSION "" "" "$f"
	vg "$t STATUS" STATUS "" "" "$f"
done

# sluice-vxlan-overlay on a pod of its own and a node lease of its own (the state file that
# sluiced writes, by hand; dual stack): ADD (the devices, the table, the MTUs), CHECK,
# STATUS, GC, DEL
ip link add vgul0 type veth peer name vgul0p
defer "ip link del vgul0"
ip addr add 192.168.72.1/24 dev vgul0 && ip addr add fd00:72::1/64 dev vgul0 nodad
ip link set vgul0 up && ip link set vgul0p up
defer "ip link del sluice.1"
defer "ip link del sluice-v6.1"
defer "nft delete table inet sluice_overlay"
mkdir -p "$T_TMP/ov"
jq -n '{Key: "/sluice/network/subnets/10.71.0.0-24", Subnet: "10.71.0.0/24",
	Network: "10.71.0.0/16", PublicIP: "192.168.72.1", IPv6Subnet: "fd71::/64",
	IPv6Network: "fd71::/48", PublicIPv6: "fd00:72::1", Iface: "vgul0", VNI: 1, Port: 8472,
	VtepMAC: "0a:00:00:00:00:72", MTU: 1450, Expires: 0}' >"$T_TMP/ov/subnet.lease.json"
jq -n --arg sf "$T_TMP/ov/subnet.env" '{cniVersion: "1.1.0", name: "vgnet",
	type: "sluice-vxlan-overlay", subnetFile: $sf}' >"$T_TMP/ov.json"
mk_netns "vgpod$N-o" || exit 1
defer "cni DEL vgcid-o '' eth0 $BR sluice-bridge"
cni ADD vgcid-o "vgpod$N-o" eth0 "$BR" >"$T_TMP/o.br.out"
vg "vxlan-overlay ADD" ADD vgcid-o "vgpod$N-o" "$(with "$T_TMP/o.br.out" "$T_TMP/ov.json")"
check_eq "vxlan-overlay ADD made the devices and lowered the pod's MTU" "1 1 1450" \
	"$(link_exists sluice.1) $(link_exists sluice-v6.1) $(ip -n "vgpod$N-o" -j link show eth0 | jq '.[0].mtu')"
vg "vxlan-overlay CHECK" CHECK vgcid-o "vgpod$N-o" "$(with "$T_TMP/o.br.out" "$T_TMP/ov.json")"
vg "vxlan-overlay STATUS" STATUS "" "" "$T_TMP/ov.json"
vg "vxlan-overlay GC" GC "" "" "$T_TMP/ov.json"
vg "vxlan-overlay DEL, without netns" DEL vgcid-o "" "$T_TMP/ov.json"
vg "vxlan-overlay VERSION" VERSION "" "" "$T_TMP/ov.json"

# sluice-nft-policy: a store with a Pod object and policies (sluicectl), two pods on the bridge:
# the first ADD renders the whole table (slow path), the second adds elements (fast path),
# with labels from args.cni.labels; CHECK, GC (one attachment valid), DEL twice, STATUS
ST=$T_TMP/polstore
pctl() { "$BIN/sluicectl" --store "dir://$ST" apply -f - >/dev/null; }
jq -n '{apiVersion: "v1", kind: "Pod", metadata: {name: "p", namespace: "default",
	labels: {app: "web"}}, spec: {containers: [{name: "c", image: "i",
	ports: [{name: "http", containerPort: 80}]}]}}' | pctl
jq -n '{apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: {name: "web",
	namespace: "default"}, spec: {podSelector: {matchLabels: {app: "web"}},
	ingress: [{from: [{podSelector: {matchLabels: {role: "client"}}}],
	ports: [{port: "http"}]}], egress: [{to: [{ipBlock: {cidr: "10.0.0.0/8",
	except: ["10.9.0.0/16"]}}]}]}}' | pctl
jq -n --arg st "dir://$ST" --arg rd "$T_TMP/polrun" '{cniVersion: "1.1.0", name: "vgnet",
	type: "sluice-nft-policy", store: $st, runDir: $rd, node: "vg"}' >"$T_TMP/pol.json"
defer "nft delete table inet sluice_policy"
for c in p q; do
	mk_netns "vgpod$N-$c" || exit 1
	defer "cni DEL vgcid-$c '' eth0 $BR sluice-bridge"
	cni ADD "vgcid-$c" "vgpod$N-$c" eth0 "$BR" >"$T_TMP/$c.br.out"
done
jq '.args.cni.labels = [{key: "role", value: "client"}]' "$T_TMP/pol.json" >"$T_TMP/polq.json"
VG_CNI_ARGS="K8S_POD_NAMESPACE=default;K8S_POD_NAME=p" vg "nft-policy ADD (slow path)" ADD vgcid-p "vgpod$N-p" "$(with "$T_TMP/p.br.out" "$T_TMP/pol.json")"
vg "nft-policy ADD (fast path, args.cni.labels)" ADD vgcid-q "vgpod$N-q" \
	"$(with "$T_TMP/q.br.out" "$T_TMP/polq.json")"
check_eq "nft-policy ADD put both pods in the table" 1 \
	"$([ "$(sluice_nft_elems)" -ge 3 ] && echo 1)"
vg "nft-policy CHECK" CHECK vgcid-q "vgpod$N-q" "$(with "$T_TMP/q.br.out" "$T_TMP/polq.json")"
jq '."cni.dev/valid-attachments" = [{containerID: "vgcid-p", ifname: "eth0"}]' "$T_TMP/pol.json" \
	>"$T_TMP/pol.json.gc"
vg "nft-policy GC" GC "" "" "$T_TMP/pol.json.gc"
vg "nft-policy DEL" DEL vgcid-p "vgpod$N-p" "$T_TMP/pol.json"
vg "nft-policy DEL again, without netns" DEL vgcid-p "" "$T_TMP/pol.json"
check_eq "nft-policy: no endpoint record left" 0 "$(find "$ST/keys" -name '*+endpoints+*' | wc -l)"
vg "nft-policy STATUS" STATUS "" "" "$T_TMP/pol.json"
vg "nft-policy VERSION" VERSION "" "" "$T_TMP/pol.json"
