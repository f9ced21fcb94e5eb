#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Every conflist in chains/ run through Debian's libcni (cnitool) as a runtime runs it: two
# pods that reach each other, a hostPort reached from an "outside" namespace, a bandwidth
# limit in place, CHECK, DEL twice, and nothing left. Each file is used as it is installed
# (its own bridge and subnets; tests/netns/podman.sh checks that no two files share them),
# only its dataDir moves into $T_TMP.
set -u
. "$(dirname "$0")/../lib.sh"

CNITOOL=$BUILD_DIR/tests/cnitool
CACHE=$T_TMP/cache
N=$$

mk_netns "out$N"
ip link add "up$N" type veth peer name eth0 netns "out$N"
defer "ip link del up$N"
ip addr add 192.168.61.1/24 dev "up$N" && ip link set "up$N" up
ip -n "out$N" addr add 192.168.61.2/24 dev eth0 && ip -n "out$N" link set eth0 up
ip -n "out$N" route add default via 192.168.61.1

# runtime VERB CONFLIST POD [CAPS]
runtime() {
	timeout 60 "$CNITOOL" -cachedir "$CACHE" -path "$BIN:$UPSTREAM" ${4:+-caps "$4"} \
		"$1" "$2" "ctr-$3" "/run/netns/pod$N-$3" eth0
}
pod_ip() { ip -n "pod$N-$1" -j addr show eth0 | jq -r '.[0].addr_info[] | select(.family=="inet" and .scope=="global") | .local'; }
uses() { jq -e --arg t "$2" '[.plugins[].type] | index($t)' "$1" >/dev/null; }

i=0
for src in "$(dirname "$0")"/../../chains/*.conflist; do
	i=$((i + 1))
	c=$(basename "$src" .conflist)
	conf=$T_TMP/$c.conflist
	jq --arg d "$T_TMP/ipam-$c" '.plugins[0].ipam.dataDir=$d' "$src" >"$conf"
	br=$(jq -r '.plugins[0].bridge' "$conf")
	port=$((8100 + i))
	caps=$(jq -cn --argjson p "$port" '{portMappings:[{hostPort:$p,containerPort:80,protocol:"tcp"}],
		bandwidth:{ingressRate:200000000,ingressBurst:4000000,egressRate:200000000,egressBurst:4000000}}')
	for p in a b; do
		mk_netns "pod$N-$c$p"
		defer "timeout 60 $CNITOOL -cachedir $CACHE -path $BIN:$UPSTREAM del $conf ctr-$c$p /run/netns/pod$N-$c$p eth0"
	done
	check "$c: ADD pod a (with a hostPort and a bandwidth limit)" runtime add "$conf" "${c}a" "$caps"
	check "$c: ADD pod b" runtime add "$conf" "${c}b"
	check "$c: pod a pings pod b" ip netns exec "pod$N-${c}a" ping -c1 -W2 "$(pod_ip "${c}b")"
	echo_server "pod$N-${c}a" TCP 80 pod-a
	listening "pod$N-${c}a" tcp 80 || fail "$c: pod a's server listening"
	check_eq "$c: the outside reaches pod a through hostPort $port" pod-a \
		"$(ask "out$N" tcp4 192.168.61.1 "$port")"
	hv=$(ip -j link show master "$br" | jq -r '.[0].ifname')
	check_eq "$c: pod a's host veth shapes traffic (tbf)" tbf \
		"$(tc -j qdisc show dev "$hv" root | jq -r '.[0].kind')"
	out=$(runtime check "$conf" "${c}a" "$caps" 2>/dev/null)
	rc=$?
	# upstream portmap 1.1.1 fails every CHECK with mappings (its issue #819)
	if [ $rc -ne 0 ] && uses "$conf" portmap && echo "$out" | grep -q "could not check ipv6 dnat"; then
		rc=0
	fi
	check_eq "$c: CHECK of pod a" 0 "$rc"
	out=$(runtime check "$conf" "${c}b" 2>/dev/null)
	rc=$?
	# upstream bandwidth 1.1.1 panics on CHECK when the pod has no bandwidth set
	if [ $rc -ne 0 ] && uses "$conf" bandwidth && echo "$out" | grep -q "panic: runtime error"; then
		rc=0
	fi
	check_eq "$c: CHECK of pod b" 0 "$rc"
	for p in a b; do
		check "$c: DEL pod $p" runtime del "$conf" "$c$p" "$caps"
		check "$c: DEL pod $p again" runtime del "$conf" "$c$p" "$caps"
	done
	check_eq "$c: no port left on the bridge" 0 "$(ip -j link show master "$br" | jq length)"
	check_eq "$c: no address reserved" 0 \
		"$(find "$T_TMP/ipam-$c" -type f ! -name lock ! -name 'last_reserved_ip.*' | wc -l)"
	check_eq "$c: no IFB left" 0 "$(ip -j link show type ifb | jq length)"
	check_eq "$c: no cached result left" 0 "$(find "$CACHE/results" -type f -name "*ctr-$c*" 2>/dev/null | wc -l)"
done
check_eq "no sluice nft element left" 0 "$(sluice_nft_elems)"
