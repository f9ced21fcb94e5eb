#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# sluicectl config, node up/down and leases on a dir:// store, as simulated nodes on one
# machine (each with its own --public-ip, --subnet-file, --cni-conf-dir): concurrent claims
# get different subnets, a tight network fails the rest cleanly, an expired lease is taken by
# the next node, node up twice keeps its subnet, a lease written by hand in flanneld's format
# is listed and never taken (also dual-stack, and on etcd with an etcd lease of its own),
# subnet.env and the conflist exact (and the conflist accepted by sluice-bridge) and never
# seen half-written, node down releases, every refusal with its status and message; the
# cluster checks again on a real etcd started here. Runs in the test's own network
# namespace: a veth with an address and a default route gives the default-interface
# detection something to find.
set -u
# (before lib.sh, whose temporary directory an exec would leave behind: see below)
if [ -z "${SLUICE_TEST_UNSHARED:-}" ]; then
	SLUICE_TEST_UNSHARED=1 exec unshare -n -m --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/../lib.sh"

# Host safety. This test shares the host's file system (tests/run.sh gives it a network and
# a mount namespace of its own, nothing more), and sluicectl's defaults are host paths:
# /run/sluice/subnet.env, /etc/cni/net.d and the store dir:///var/lib/sluice/store. Every
# call below names its files and store explicitly; should a regression still fall back to a
# default, it must not touch the host. So each default directory that exists gets a tmpfs
# over it, mounted in this test's private mount namespace only (run.sh's unshare -m
# --propagation private: the host never sees it, and it goes with the namespace). One that
# does not exist is not created (a mount point would have to be, on the host): the check
# host-defaults-untouched at the end fails if any of them appeared during the run.
# Outside namespaces of its own the test would mount over the host's directories and add
# links to its network. Comparing namespaces with PID 1's cannot tell (a container's shell
# may have namespaces of its own that are the host's as far as this test is concerned), so
# it always re-executes itself once under unshare -n -m (nested in run.sh's: harmless),
# at the top.
HOST_ABSENT=()
for d in /run/sluice /etc/cni/net.d /var/lib/sluice; do
	if [ -d "$d" ]; then
		mount -t tmpfs -o mode=0755 sluice-leases-guard "$d" ||
			{ fail host-guard "cannot mount a tmpfs over $d"; exit 1; }
	else
		HOST_ABSENT+=("$d")
	fi
done

ip link set lo up
ip link add up0 mtu 1500 type veth peer name up0p
ip addr add 192.168.50.2/24 dev up0
ip link set up0 up
ip link set up0p up
ip route add default via 192.168.50.1 dev up0
ip link add big0 mtu 9000 type veth peer name big0p
ip addr add 192.168.60.2/24 dev big0
ip link set big0 up

STORE=dir://$T_TMP/store
ctl() { "$BIN/sluicectl" --store "$STORE" "$@"; }
# run NAME EXPECTED_STATUS EXPECTED_STDERR CMD...: the exit status and stderr, exactly
run_err() {
	local name=$1 want=$2 msg=$3 rc
	shift 3
	"$@" >"$T_TMP/out" 2>"$T_TMP/err"
	rc=$?
	check_eq "$name:status" "$want" "$rc"
	check_eq "$name:message" "$msg" "$(cat "$T_TMP/err")"
}
# node N [FLAGS...]: node up as simulated node N (files under $T_TMP/nN)
node() {
	local n=$1
	shift
	ctl "$@" --subnet-file "$T_TMP/n$n/subnet.env" --cni-conf-dir "$T_TMP/n$n/net.d"
}
subnet_of() { jq -r .subnet "$1"; }

# --- config set/get, and what is refused before anything is written
echo '{"Network":"10.244.0.0/16","SubnetLen":31,"Backend":{"Type":"vxlan"}}' >"$T_TMP/bad.json"
run_err config-invalid 1 "sluicectl: config: SubnetLen 31: must be at most 30" \
	ctl config set -f "$T_TMP/bad.json"
check_fail config-invalid:nothing-written ctl store get /sluice/network/config
echo '{"Network":"10.244.0.0/16"}' >"$T_TMP/bad.json"
run_err config-no-backend 1 'sluicectl: config: Backend: missing; flanneld would use its "udp" backend, which sluice does not support: write "Backend": {"Type": "vxlan"}' \
	ctl config set -f "$T_TMP/bad.json"
echo '{"Network":"10.244.0.0/16","Backend":{"Type":"host-gw"}}' >"$T_TMP/bad.json"
run_err config-host-gw 1 'sluicectl: config: Backend.Type "host-gw": not supported (sluice supports "vxlan" only)' \
	ctl config set -f - <"$T_TMP/bad.json"
check_fail config-host-gw:nothing-written ctl store get /sluice/network/config
run_err config-no-file 2 "sluicectl config set: needs -f FILE (or -f - for stdin)
Try 'sluicectl config set --help'." ctl config set
run_err config-missing-file 1 "sluicectl: cannot open $T_TMP/nope.json: No such file or directory" \
	ctl config set -f "$T_TMP/nope.json"
run_err config-subverb 2 "sluicectl config: unknown subverb 'put' (set or get)
Try 'sluicectl config --help'." ctl config put
run_err config-get-none 1 "sluicectl: no network config at /sluice/network/config: write one with 'sluicectl config set -f FILE'" \
	ctl config get
run_err node-up-no-config 1 "sluicectl: no network config at /sluice/network/config: write one with 'sluicectl config set -f FILE'" \
	node 0 node up

echo '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}' >"$T_TMP/net.json"
check_eq config-set "OK" "$(ctl config set -f "$T_TMP/net.json")"
check_eq config-set-json '{"key":"/sluice/network/config","revision":3}' "$(ctl -o json config set -f "$T_TMP/net.json" | jq -c .)"
check_eq config-stored-as-given "$(cat "$T_TMP/net.json")" "$(ctl store get /sluice/network/config --value-only)"
check_eq config-get-json '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":1,"Port":8472,"GBP":false,"Learning":false,"DirectRouting":false},"SubnetLen":24,"SubnetMin":"10.244.1.0","SubnetMax":"10.244.255.0","EnableIPv4":true,"EnableIPv6":false}' \
	"$(ctl -o json config get | jq -c .)"
check_eq config-get-table "FIELD                  VALUE
Network                10.244.0.0/16
SubnetLen              24
SubnetMin              10.244.1.0
SubnetMax              10.244.255.0
EnableIPv4             true
EnableIPv6             false
Backend.Type           vxlan
Backend.VNI            1
Backend.Port           8472
Backend.GBP            false
Backend.Learning       false
Backend.DirectRouting  false" "$(ctl config get)"

# --- node up with the default interface: subnet.env, the state and the conflist, exactly
node 0 -o json node up --node-name n0 >"$T_TMP/l0" 2>"$T_TMP/err"
check_eq node-up:status 0 $?
sn=$(subnet_of "$T_TMP/l0")
base=${sn%.0/24}
check_eq node-up:public-ip-of-default-iface 192.168.50.2 "$(jq -r .publicIP "$T_TMP/l0")"
check_eq node-up:in-range true "$(jq -r '.subnet | test("^10\\.244\\.([1-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-5])\\.0/24$")' "$T_TMP/l0")"
check_eq node-up:ttl 86400 "$(jq -r .ttl "$T_TMP/l0")"
check_eq node-up:subnet.env "FLANNEL_NETWORK=10.244.0.0/16
FLANNEL_SUBNET=$base.1/24
FLANNEL_MTU=1450
FLANNEL_IPMASQ=true" "$(cat "$T_TMP/n0/subnet.env")"
check_eq node-up:conflist "$(jq -n --arg sn "$sn" --arg sf "$T_TMP/n0/subnet.env" '{cniVersion:"1.0.0",name:"sluice",plugins:[
	{type:"sluice-bridge",bridge:"sluicebr0",isGateway:true,isDefaultGateway:true,ipMasq:false,
	 hairpinMode:true,mtu:1450,ipam:{type:"sluice-host-local",ranges:[[{subnet:$sn}]],
	 routes:[{dst:"10.244.0.0/16"}]}},
	{type:"sluice-vxlan-overlay",subnetFile:$sf},
	{type:"sluice-portmap",capabilities:{portMappings:true},snat:true},
	{type:"sluice-bandwidth",capabilities:{bandwidth:true}}]}')" \
	"$(jq . "$T_TMP/n0/net.d/10-sluice.conflist")"
check_eq node-up:state "up0 192.168.50.2 $sn 1450 n0 false false false" \
	"$(jq -r '"\(.Iface) \(.PublicIP) \(.Subnet) \(.MTU) \(.NodeName) \(.Learning) \(.GBP) \(.DirectRouting)"' "$T_TMP/n0/subnet.lease.json")"
mac=$(jq -r .vtepMAC "$T_TMP/l0")
check_eq node-up:vtep-mac-local-unicast true \
	"$(echo "$mac" | grep -qE '^[0-9a-f][26ae](:[0-9a-f]{2}){5}$' && echo true)"
check_eq node-up:lease-value "{\"PublicIP\":\"192.168.50.2\",\"PublicIPv6\":null,\"BackendType\":\"vxlan\",\"BackendData\":{\"VNI\":1,\"VtepMAC\":\"$mac\"},\"NodeName\":\"n0\"}" \
	"$(ctl store get "/sluice/network/subnets/$base.0-24" --value-only)"
check_eq node-up:modes "644 644 644" "$(stat -c %a "$T_TMP/n0/subnet.env" "$T_TMP/n0/subnet.lease.json" "$T_TMP/n0/net.d/10-sluice.conflist" | xargs)"
check_eq node-up:no-temp-files "" "$(find "$T_TMP/n0" -name '.*' -type f)"

# twice: the same subnet and MAC; and with the files gone (a reboot empties /run), the
# lease in the store still gives them back
node 0 -o json node up --node-name n0 >"$T_TMP/l0b"
check_eq node-up-twice:same-subnet "$sn $mac" "$(jq -r '"\(.subnet) \(.vtepMAC)"' "$T_TMP/l0b")"
rm -rf "$T_TMP/n0"
node 0 -o json node up --node-name n0 >"$T_TMP/l0b"
check_eq node-up-after-reboot:same-subnet "$sn $mac" "$(jq -r '"\(.subnet) \(.vtepMAC)"' "$T_TMP/l0b")"
check_eq node-up-table "SUBNET NODE PUBLIC-IP VTEP-MAC
$sn n0 192.168.50.2 $mac" "$(node 0 node up --node-name n0 | awk '{print $1, $2, $3, $4}')"

# the conflist as sluice-bridge takes it (its first plugin, as libcni hands it over)
ip netns add pod0
defer "ip netns del pod0"
jq --arg d "$T_TMP/ipam" '.plugins[0] + {name, cniVersion} | .ipam.dataDir = $d' \
	"$T_TMP/n0/net.d/10-sluice.conflist" >"$T_TMP/br.json"
out=$(env -i CNI_COMMAND=ADD CNI_CONTAINERID=c0 CNI_NETNS=/run/netns/pod0 CNI_IFNAME=eth0 \
	CNI_PATH="$BIN" "$BIN/sluice-bridge" <"$T_TMP/br.json")
check_eq conflist-bridge-add "$base.2/24" "$(echo "$out" | jq -r '.ips[0].address')"
check_eq conflist-bridge-mtu 1450 "$(ip netns exec pod0 cat /sys/class/net/eth0/mtu)"
check_eq conflist-bridge-route "10.244.0.0/16 via $base.1" \
	"$(ip -n pod0 route show 10.244.0.0/16 | awk '{print $1, $2, $3}')"
check conflist-bridge-del env -i CNI_COMMAND=DEL CNI_CONTAINERID=c0 CNI_NETNS=/run/netns/pod0 \
	CNI_IFNAME=eth0 CNI_PATH="$BIN" "$BIN/sluice-bridge" <"$T_TMP/br.json"

# --- overrides: --iface (its address and MTU), --public-ip on no interface (the default one)
node 1 -o json node up --iface big0 --node-name n1 >"$T_TMP/l1"
check_eq node-up-iface "192.168.60.2 8950 big0" "$(jq -r .publicIP "$T_TMP/l1") $(sed -n 's/^FLANNEL_MTU=//p' "$T_TMP/n1/subnet.env") $(jq -r .Iface "$T_TMP/n1/subnet.lease.json")"
node 2 -o json node up --public-ip 10.1.2.3 --node-name n2 >"$T_TMP/l2"
check_eq node-up-public-ip "10.1.2.3 up0 1450" "$(jq -r .publicIP "$T_TMP/l2") $(jq -r '"\(.Iface) \(.MTU)"' "$T_TMP/n2/subnet.lease.json")"
check_eq three-nodes-three-subnets 3 "$(ctl -o json leases | jq '[.[].subnet] | unique | length')"

# --- dual stack: the IPv6 address of the default interface, both subnets everywhere
ip addr add fd00:50::2/64 dev up0 nodad
echo '{"Network":"10.7.0.0/16","EnableIPv6":true,"IPv6Network":"fd00:7::/56","Backend":{"Type":"vxlan"}}' >"$T_TMP/ds.json"
ctl --prefix /ds config set -f "$T_TMP/ds.json" >/dev/null
node d1 --prefix /ds -o json node up >"$T_TMP/d1"
check_eq dual-stack:public-ipv6 fd00:50::2 "$(jq -r .publicIPv6 "$T_TMP/d1")"
sn=$(jq -r .subnet "$T_TMP/d1")
sn6=$(jq -r .ipv6Subnet "$T_TMP/d1")
check_eq dual-stack:v6-subnet true "$(echo "$sn6" | grep -qE '^fd00:7:0:([1-9a-f]|[1-9a-f][0-9a-f])::/64$' && echo true)"
check_eq dual-stack:key "/ds/subnets/${sn%/24}-24&${sn6%/64}-64" "$(jq -r .key "$T_TMP/d1")"
check_eq dual-stack:subnet.env "FLANNEL_NETWORK=10.7.0.0/16
FLANNEL_SUBNET=${sn%.0/24}.1/24
FLANNEL_IPV6_NETWORK=fd00:7::/56
FLANNEL_IPV6_SUBNET=${sn6%/64}1/64
FLANNEL_MTU=1430
FLANNEL_IPMASQ=true" "$(cat "$T_TMP/nd1/subnet.env")"
check_eq dual-stack:conflist-ipam "[[{\"subnet\":\"$sn\"}],[{\"subnet\":\"$sn6\"}]] [{\"dst\":\"10.7.0.0/16\"},{\"dst\":\"fd00:7::/56\"}]" \
	"$(jq -c '.plugins[0].ipam | .ranges, .routes' "$T_TMP/nd1/net.d/10-sluice.conflist" | paste -sd' ')"
check_eq dual-stack:backend-v6-data "{\"VNI\":1,\"VtepMAC\":\"$(jq -r .vtepMAC "$T_TMP/d1")\"}" \
	"$(ctl store get "$(jq -r .key "$T_TMP/d1")" --value-only | jq -c .BackendV6Data)"
run_err dual-stack:no-v6-address 1 "sluicectl: interface big0 has no global IPv6 address: give --public-ipv6" \
	node d2 --prefix /ds node up --iface big0
node d1 --prefix /ds node down >/dev/null

# --- a conflist template: its ipam plugin gets the lease, the rest is kept
echo '{"cniVersion":"1.1.0","name":"mine","plugins":[{"type":"bridge","bridge":"cni0","ipam":{"type":"host-local","routes":[{"dst":"0.0.0.0/0"}]}},{"type":"portmap"}]}' >"$T_TMP/tmpl.json"
node tp node up --public-ip 10.0.77.1 --cni-conf-template "$T_TMP/tmpl.json" >/dev/null
sn=$(jq -r .Subnet "$T_TMP/ntp/subnet.lease.json")
check_eq template "{\"cniVersion\":\"1.1.0\",\"name\":\"mine\",\"plugins\":[{\"type\":\"bridge\",\"bridge\":\"cni0\",\"ipam\":{\"type\":\"host-local\",\"routes\":[{\"dst\":\"0.0.0.0/0\"},{\"dst\":\"10.244.0.0/16\"}],\"ranges\":[[{\"subnet\":\"$sn\"}]]},\"mtu\":1450},{\"type\":\"portmap\"}]}" \
	"$(jq -c . "$T_TMP/ntp/net.d/10-sluice.conflist")"
echo '{"plugins":[{"type":"x"}]}' >"$T_TMP/tmpl.json"
run_err template-without-ipam 1 'sluicectl: CNI config template: no plugin in "plugins" has an "ipam" object to fill with the lease' \
	node tq node up --public-ip 10.0.77.2 --cni-conf-template "$T_TMP/tmpl.json"
check_eq template-without-ipam:no-lease-taken null "$(ctl -o json leases | jq '.[] | select(.publicIP == "10.0.77.2")' | jq -s '.[0]')"
node tp node down --public-ip 10.0.77.1 >/dev/null

# --- subnet.env and the conflist are replaced whole (a new file renamed over the old): a
# reader running while node up rewrites them (its lease renewed each time), with the
# interface's MTU and the template changing, only ever sees one of the complete versions
echo '{"cniVersion":"1.0.0","name":"alt","plugins":[{"type":"sluice-bridge","bridge":"alt0","ipam":{"type":"sluice-host-local"}}]}' >"$T_TMP/alt.json"
at_up() { # MTU [FLAGS...]
	ip link set up0 mtu "$1"
	shift
	node at node up --public-ip 10.0.79.1 --node-name at "$@" >/dev/null
}
vers_env=() vers_conf=()
for mtu in 1500 1400; do
	for t in "" "$T_TMP/alt.json"; do
		at_up $mtu ${t:+--cni-conf-template "$t"}
		vers_env+=("$(cat "$T_TMP/nat/subnet.env")")
		vers_conf+=("$(cat "$T_TMP/nat/net.d/10-sluice.conflist")")
	done
done
uniq_n() { printf '%s\0' "$@" | sort -zu | tr -cd '\0' | wc -c; }
check_eq atomic:versions "2 4" "$(uniq_n "${vers_env[@]}") $(uniq_n "${vers_conf[@]}")"
known() { # TEXT VERSIONS...: whether TEXT is one of them
	local x=$1 v
	shift
	for v in "$@"; do [ "$x" = "$v" ] && return 0; done
	return 1
}
reader() {
	local n=0 bad=0 e c
	while [ ! -e "$T_TMP/at-stop" ]; do
		e=$(cat "$T_TMP/nat/subnet.env" 2>&1)
		c=$(cat "$T_TMP/nat/net.d/10-sluice.conflist" 2>&1)
		n=$((n + 1))
		if ! known "$e" "${vers_env[@]}" || ! known "$c" "${vers_conf[@]}"; then
			bad=$((bad + 1))
			printf '%s\n---\n%s\n===\n' "$e" "$c" >>"$T_TMP/at-bad"
		fi
	done
	echo "$n $bad" >"$T_TMP/at-reads"
}
reader &
rpid=$!
defer "kill $rpid"
for i in $(seq 40); do
	t=()
	((i % 4 < 2)) && t=(--cni-conf-template "$T_TMP/alt.json")
	at_up $((i % 2 ? 1400 : 1500)) "${t[@]}"
done
touch "$T_TMP/at-stop"
wait $rpid
read -r nreads nbad <"$T_TMP/at-reads"
check_eq atomic:reads-enough true "$([ "$nreads" -ge 20 ] && echo true)"
check_eq atomic:never-partial 0 "$nbad"
[ "$nbad" = 0 ] || head -c 600 "$T_TMP/at-bad"
check_eq atomic:same-lease-throughout 1 "$(ctl -o json leases | jq '[.[] | select(.publicIP == "10.0.79.1")] | length')"
ip link set up0 mtu 1500
node at node down --public-ip 10.0.79.1 >/dev/null

# --- node down: released, files gone; again: nothing to release, still status 0
node 2 node down --public-ip 10.1.2.3 >/dev/null
check_eq node-down:released 2 "$(ctl -o json leases | jq length)"
check_eq node-down:files-removed "" "$(find "$T_TMP/n2" -type f)"
run_err node-down-again 0 "sluicectl: no lease held by 10.1.2.3 (files removed)" \
	node 2 node down --public-ip 10.1.2.3

# The checks every backend must pass, on $STORE, named "$B:..."
cluster_checks() {
B=$1
# --- two nodes at once get different subnets, five rounds
for round in 1 2 3 4 5; do
	P=/r$round
	ctl --prefix $P config set -f "$T_TMP/net.json" >/dev/null
	node "$B-a$round" --prefix $P -o json node up --public-ip 10.0.$round.1 >"$T_TMP/a" 2>"$T_TMP/a.err" &
	pa=$!
	node "$B-b$round" --prefix $P -o json node up --public-ip 10.0.$round.2 >"$T_TMP/b" 2>"$T_TMP/b.err" &
	pb=$!
	# each waited for on its own: a failed first one must not leave the second unreaped
	wait $pa
	ra=$?
	wait $pb
	check_eq "$B:two-at-once-$round:both-up" "0 0" "$ra $?"
	check_eq "$B:two-at-once-$round:different" true "$([ "$(subnet_of "$T_TMP/a")" != "$(subnet_of "$T_TMP/b")" ] && echo true)"
	check_eq "$B:two-at-once-$round:stored" 2 "$(ctl --prefix $P -o json leases | jq '[.[].subnet] | unique | length')"
done

# --- eight at once on a /28 that holds three /30s: three up, five refused cleanly
echo '{"Network":"10.9.0.0/28","Backend":{"Type":"vxlan"}}' >"$T_TMP/tight.json"
ctl --prefix /tight config set -f "$T_TMP/tight.json" >/dev/null
pids=()
for i in 1 2 3 4 5 6 7 8; do
	node "$B-t$i" --prefix /tight -o json node up --public-ip 10.0.9.$i >"$T_TMP/t$i" 2>"$T_TMP/t$i.err" &
	pids+=($!)
done
ok=0 refused=0
for i in 1 2 3 4 5 6 7 8; do
	if wait "${pids[$((i - 1))]}"; then
		ok=$((ok + 1))
	elif [ "$(cat "$T_TMP/t$i.err")" = "sluicectl: no free subnet: every /30 between 10.9.0.4 and 10.9.0.12 is leased (3 leases)" ]; then
		refused=$((refused + 1))
	else
		cat "$T_TMP/t$i.err"
	fi
done
check_eq "$B:eight-at-once:three-up" 3 $ok
check_eq "$B:eight-at-once:five-refused" 5 $refused
check_eq "$B:eight-at-once:distinct" "10.9.0.12/30 10.9.0.4/30 10.9.0.8/30" \
	"$(ctl --prefix /tight -o json leases | jq -r '[.[].subnet] | sort | join(" ")')"
check_eq "$B:eight-at-once:refused-wrote-nothing" 5 \
	"$(for i in 1 2 3 4 5 6 7 8; do [ -e "$T_TMP/n$B-t$i/subnet.env" ] || echo; done | wc -l)"

# --- expiry: a one-subnet network; a lease left to expire is taken by the next node
echo '{"Network":"10.8.0.0/16","SubnetMin":"10.8.3.0","SubnetMax":"10.8.3.0","Backend":{"Type":"vxlan"}}' >"$T_TMP/one.json"
ctl --prefix /one config set -f "$T_TMP/one.json" >/dev/null
# (5 s: "still held" is checked right after, and must survive a stall of the machine)
node "$B-e1" --prefix /one node up --public-ip 10.0.8.1 --ttl 5 >/dev/null
run_err "$B:expiry:held" 1 "sluicectl: no free subnet: every /24 between 10.8.3.0 and 10.8.3.0 is leased (1 leases)" \
	node "$B-e2" --prefix /one node up --public-ip 10.0.8.2
for _ in $(seq 1 100); do
	[ "$(ctl --prefix /one -o json leases | jq length)" = 0 ] && break
	sleep 0.2
done
node "$B-e2" --prefix /one -o json node up --public-ip 10.0.8.2 >"$T_TMP/e2"
check_eq "$B:expiry:taken-by-next" "10.8.3.0/24 10.0.8.2" "$(jq -r '"\(.subnet) \(.publicIP)"' "$T_TMP/e2")"

# --- flanneld's lease, written by hand in its exact format: listed, never taken
F=/coreos.com/network
FL='{"PublicIP":"192.168.64.3","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"c6:d2:32:6f:8f:44"}}'
echo '{"Network":"10.5.0.0/16","SubnetMin":"10.5.1.0","SubnetMax":"10.5.2.0","Backend":{"Type":"vxlan"}}' >"$T_TMP/fl.json"
ctl --prefix $F config set -f "$T_TMP/fl.json" >/dev/null
ctl store put $F/subnets/10.5.1.0-24 "$FL" >/dev/null
check_eq "$B:flanneld:listed" "SUBNET       NODE  PUBLIC-IP     VTEP-MAC           TTL
10.5.1.0/24  -     192.168.64.3  c6:d2:32:6f:8f:44  none" "$(ctl --prefix $F leases)"
check_eq "$B:flanneld:listed-json" '[{"key":"/coreos.com/network/subnets/10.5.1.0-24","subnet":"10.5.1.0/24","ipv6Subnet":null,"node":null,"publicIP":"192.168.64.3","publicIPv6":null,"backendType":"vxlan","vni":1,"vtepMAC":"c6:d2:32:6f:8f:44","ttl":-1}]' \
	"$(ctl --prefix $F -o json leases | jq -c .)"
for i in 1 2 3; do
	node "$B-f$i" --prefix $F -o json node up --public-ip 10.0.5.1 >"$T_TMP/f"
	check_eq "$B:flanneld:not-taken-$i" 10.5.2.0/24 "$(subnet_of "$T_TMP/f")"
done
run_err "$B:flanneld:full" 1 "sluicectl: no free subnet: every /24 between 10.5.1.0 and 10.5.2.0 is leased (2 leases)" \
	node "$B-f9" --prefix $F node up --public-ip 10.0.5.9
check_eq "$B:flanneld:untouched" "$FL" "$(ctl store get $F/subnets/10.5.1.0-24 --value-only)"

# --- flanneld's dual-stack lease: key <v4>-<len>&<v6>-<len>, PublicIPv6 and BackendV6Data
# (flannel-v6.1's own MAC) as flanneld writes them: parsed, listed, never taken
F6=/fl6
K6="10.6.1.0-24&fd00:6:0:1::-64"
FL6='{"PublicIP":"192.168.64.4","PublicIPv6":"fd00:64::4","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"c6:d2:32:6f:8f:45"},"BackendV6Data":{"VNI":1,"VtepMAC":"c6:d2:32:6f:8f:46"}}'
echo '{"Network":"10.6.0.0/16","SubnetMin":"10.6.1.0","SubnetMax":"10.6.2.0","EnableIPv6":true,"IPv6Network":"fd00:6::/56","IPv6SubnetMin":"fd00:6:0:1::","IPv6SubnetMax":"fd00:6:0:2::","Backend":{"Type":"vxlan"}}' >"$T_TMP/fl6.json"
ctl --prefix $F6 config set -f "$T_TMP/fl6.json" >/dev/null
ctl store put "$F6/subnets/$K6" "$FL6" >/dev/null
check_eq "$B:flanneld-dual:listed" "SUBNET                       NODE  PUBLIC-IP     VTEP-MAC           TTL
10.6.1.0/24,fd00:6:0:1::/64  -     192.168.64.4  c6:d2:32:6f:8f:45  none" "$(ctl --prefix $F6 leases)"
check_eq "$B:flanneld-dual:listed-json" "[{\"key\":\"$F6/subnets/$K6\",\"subnet\":\"10.6.1.0/24\",\"ipv6Subnet\":\"fd00:6:0:1::/64\",\"node\":null,\"publicIP\":\"192.168.64.4\",\"publicIPv6\":\"fd00:64::4\",\"backendType\":\"vxlan\",\"vni\":1,\"vtepMAC\":\"c6:d2:32:6f:8f:45\",\"ttl\":-1}]" \
	"$(ctl --prefix $F6 -o json leases | jq -c .)"
node "$B-g1" --prefix $F6 -o json node up --public-ip 10.0.6.1 --public-ipv6 fd00:60::1 >"$T_TMP/g1"
check_eq "$B:flanneld-dual:not-taken" "10.6.2.0/24 fd00:6:0:2::/64" "$(jq -r '"\(.subnet) \(.ipv6Subnet)"' "$T_TMP/g1")"
run_err "$B:flanneld-dual:full" 1 "sluicectl: no free subnet: every /24 between 10.6.1.0 and 10.6.2.0 is leased (2 leases)" \
	node "$B-g9" --prefix $F6 node up --public-ip 10.0.6.9 --public-ipv6 fd00:60::9
check_eq "$B:flanneld-dual:untouched" "$FL6" "$(ctl store get "$F6/subnets/$K6" --value-only)"

}
cluster_checks dir

# --- refusals: bad flags (2), bad identity or state (1)
U="Try 'sluicectl node up --help'."
run_err bad-public-ip 2 "sluicectl node up: --public-ip '300.1.1.1': not an IPv4 address
$U" node 9 node up --public-ip 300.1.1.1
run_err bad-public-ip-v6 2 "sluicectl node up: --public-ip 'fd00::1': not an IPv4 address
$U" node 9 node up --public-ip fd00::1
run_err bad-public-ipv6 2 "sluicectl node up: --public-ipv6 '10.0.0.1': not an IPv6 address
$U" node 9 node up --public-ipv6 10.0.0.1
run_err bad-ttl 2 "sluicectl node up: --ttl '0': needs seconds between 1 and 315360000
$U" node 9 node up --ttl 0
run_err bad-ttl-text 2 "sluicectl node up: --ttl '1h': needs seconds between 1 and 315360000
$U" node 9 node up --ttl 1h
run_err ttl-no-value 2 "sluicectl node up: --ttl needs a value
$U" ctl node up --subnet-file "$T_TMP/n9/subnet.env" --cni-conf-dir "$T_TMP/n9/net.d" --ttl
run_err bad-iface-name 2 "sluicectl node up: --iface 'a/b': not an interface name
$U" node 9 node up --iface a/b
run_err bad-node-name 2 "sluicectl node up: --node-name 'a b': not a node name (letters, digits, '.', '-', '_')
$U" node 9 node up --node-name 'a b'
run_err unknown-flag 2 "sluicectl node up: unknown flag '--bogus'
$U" node 9 node up --bogus
run_err extra-arg 2 "sluicectl node up: unexpected argument 'now'
$U" node 9 node up now
run_err down-no-ttl 2 "sluicectl node down: unknown flag '--ttl'
Try 'sluicectl node down --help'." node 9 node down --ttl 5
run_err node-subverb 2 "sluicectl node: unknown subverb 'sideways' (up or down)
Try 'sluicectl node --help'." ctl node sideways
run_err leases-arg 2 "sluicectl leases: takes no arguments, got 'all'
Try 'sluicectl leases --help'." ctl leases all
run_err no-such-iface 1 "sluicectl: --iface nosuch0: no such interface" node 9 node up --iface nosuch0
ip link add bare0 type veth peer name bare0p
run_err iface-without-address 1 "sluicectl: interface bare0 has no global IPv4 address: give --public-ip" \
	node 9 node up --iface bare0
ctl --prefix /broken store put /broken/config '{"Network":"10.0.0.0/8","SubnetLen":33,"Backend":{"Type":"vxlan"}}' >/dev/null
run_err invalid-stored-config 1 "sluicectl: the network config at /broken/config is invalid: config: SubnetLen 33: must be at most 30" \
	node 9 --prefix /broken node up
ip route del default
run_err no-default-route 1 "sluicectl: no IPv4 default route to find the node's interface by: give --iface" \
	node 9 node up
check_eq refusals:wrote-nothing "" "$(find "$T_TMP/n9" -type f 2>/dev/null)"
check_eq help-status 0 "$(ctl node up --help >/dev/null; echo $?)"

# --- the same on a real etcd (Debian's etcd-server), started here on 127.0.0.1 (lib.sh's
# etcd_up; stopped by PID)
# host_check: the host's default directories that did not exist still do not
host_check() {
	local d made=()
	for d in "${HOST_ABSENT[@]}"; do [ -e "$d" ] && made+=("$d"); done
	check_eq host-defaults-untouched "" "${made[*]}"
}
if ! command -v etcd >/dev/null; then
	fail etcd-present "etcd is not installed (make deps installs etcd-server)"
	host_check
	exit 0
fi
ip route add default via 192.168.50.1 dev up0
if ! etcd_up leases http://127.0.0.1:23891 http://127.0.0.1:23892; then
	fail etcd-start "$(tail -5 "$T_TMP/etcd-leases.log")"
	host_check
	exit 0
fi
pass etcd-start
STORE=etcd://127.0.0.1:23891
ctl config set -f "$T_TMP/net.json" >/dev/null
node etcd0 -o json node up --node-name n0 >"$T_TMP/l0"
node etcd0 -o json node up --node-name n0 >"$T_TMP/l0b"
check_eq etcd:node-up-twice "$(jq -r .subnet "$T_TMP/l0") 86400" "$(jq -r '"\(.subnet) \(.ttl)"' "$T_TMP/l0b")"
# an etcd lease holds the key: its time left, as etcd tells it, is about a day
ttl=$(ctl -o json leases | jq '.[0].ttl')
check_eq etcd:lease-ttl true "$([ "$ttl" -gt 86000 ] && [ "$ttl" -le 86400 ] && echo true)"
check_eq etcd:key-has-lease true \
	"$(ETCDCTL_API=3 etcdctl --endpoints 127.0.0.1:23891 get "$(jq -r .key "$T_TMP/l0")" -w json | jq '.kvs[0].lease > 0')"
check_eq etcd:value-for-flanneld "192.168.50.2 vxlan 1" \
	"$(ETCDCTL_API=3 etcdctl --endpoints 127.0.0.1:23891 get "$(jq -r .key "$T_TMP/l0")" --print-value-only | jq -r '"\(.PublicIP) \(.BackendType) \(.BackendData.VNI)"')"
node etcd0 node down >/dev/null
check_eq etcd:node-down 0 "$(ctl -o json leases | jq length)"
cluster_checks etcd

# --- flanneld's normal lease carries an etcd lease (its 24 h TTL): written so, with
# etcdctl, it is listed with its time left and never taken
E() { ETCDCTL_API=3 etcdctl --endpoints 127.0.0.1:23891 "$@"; }
FT=/flttl
echo '{"Network":"10.4.0.0/16","SubnetMin":"10.4.1.0","SubnetMax":"10.4.2.0","Backend":{"Type":"vxlan"}}' >"$T_TMP/flt.json"
ctl --prefix $FT config set -f "$T_TMP/flt.json" >/dev/null
lid=$(E lease grant 600 | awk '/granted/ {print $2}')
check_eq etcd:flanneld-ttl:granted true "$([ -n "$lid" ] && echo true)"
E put --lease="$lid" $FT/subnets/10.4.1.0-24 "$FL" >/dev/null
ctl --prefix $FT -o json leases >"$T_TMP/flt"
check_eq etcd:flanneld-ttl:listed "$FT/subnets/10.4.1.0-24 192.168.64.3 c6:d2:32:6f:8f:44" \
	"$(jq -r '.[0] | "\(.key) \(.publicIP) \(.vtepMAC)"' "$T_TMP/flt")"
ttl=$(jq '.[0].ttl' "$T_TMP/flt")
check_eq etcd:flanneld-ttl:time-left true "$([ "$ttl" -gt 500 ] && [ "$ttl" -le 600 ] && echo true)"
check_eq etcd:flanneld-ttl:table true \
	"$(ctl --prefix $FT leases | grep -qE '^10\.4\.1\.0/24 +- +192\.168\.64\.3 +c6:d2:32:6f:8f:44 +0h(0[89]|10)m[0-5][0-9]s$' && echo true)"
for i in 1 2; do
	node "etcd-h$i" --prefix $FT -o json node up --public-ip 10.0.4.1 >"$T_TMP/h"
	check_eq "etcd:flanneld-ttl:not-taken-$i" 10.4.2.0/24 "$(subnet_of "$T_TMP/h")"
done
run_err etcd:flanneld-ttl:full 1 "sluicectl: no free subnet: every /24 between 10.4.1.0 and 10.4.2.0 is leased (2 leases)" \
	node etcd-h9 --prefix $FT node up --public-ip 10.0.4.9
check_eq etcd:flanneld-ttl:untouched "$FL" "$(E get $FT/subnets/10.4.1.0-24 --print-value-only)"
check_eq etcd:flanneld-ttl:still-on-its-lease true \
	"$(E lease timetolive "$lid" --keys | grep -qF "attached keys([$FT/subnets/10.4.1.0-24])" && echo true)"

# the unit tests' lease lifecycle (reuse, previous subnet, renewal, revocation, release,
# expiry, reservations) and renewal restarting the TTL, on this etcd too
UNIT=${BUILD_DIR:-$BIN/..}/tests/unit/test_subnet
if [ -x "$UNIT" ]; then
	SUBNET_TEST_STORE=$STORE "$UNIT" 2>&1 | sed 's/^\(PASS\|FAIL\) test_subnet:/\1 leases:etcd-unit:/'
	# the unit's own status, not sed's: a crash (no FAIL line printed) fails too
	rc=${PIPESTATUS[0]}
	check_eq etcd-unit:status 0 "$rc"
else
	fail etcd-unit "no $UNIT (make units)"
fi
EPID=${ETCD_PID[leases]}
etcd_down leases
check_eq etcd-stopped true "$(pid_gone "$EPID" && echo true)"
host_check
