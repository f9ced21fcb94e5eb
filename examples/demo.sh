#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# `make demo`: sluice on a simulated node. The node is a network namespace of its own (the
# script re-runs itself under `unshare -n -m`), so the machine's own links, routes and
# nftables are never touched, and everything disappears when the demo ends. Pods are added
# and removed through Debian's libcni (tests/libcni/cnitool), the library podman and
# containerd use, so the chain runs exactly as a runtime runs it.
set -eu
BUILD=$(cd "${1:-build}" && pwd)
BIN=$BUILD/bin
CNITOOL=$BUILD/tests/cnitool
if [ -z "${SLUICE_DEMO_INNER:-}" ]; then
	mkdir -p /run/netns
	# /run/netns on a tmpfs of the demo's own mount namespace: nothing is left even if the
	# demo is interrupted
	exec env SLUICE_DEMO_INNER=1 unshare -n -m --propagation private sh -c \
		'mount -t tmpfs -o mode=0755 sluice-demo /run/netns && exec bash "$0" "$1"' "$0" "$BUILD"
fi

TMP=$(mktemp -d /tmp/sluice-demo.XXXXXX)
PODS=(web api db)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -- "-$p" 2>/dev/null || true; done
	for p in "${PODS[@]}"; do
		[ -e "/run/netns/demo-$p" ] || continue
		runtime del "$p" >/dev/null 2>&1 || true
		ip netns del "demo-$p" 2>/dev/null || true
	done
	ip netns del demo-outside 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() {
	printf '$ %s\n' "$*"
	"$@" 2>&1 | sed 's/^/  /'
}
# the runtime's per-pod arguments: web publishes port 80 as the node's 8080; db is limited
# to 20 Mbit/s each way (what kubelet asks for from the kubernetes.io/*-bandwidth annotations)
caps() {
	case $1 in
	web) echo '{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]}' ;;
	db) echo '{"bandwidth":{"ingressRate":20000000,"ingressBurst":1000000,"egressRate":20000000,"egressBurst":1000000}}' ;;
	*) echo '{}' ;;
	esac
}
runtime() { # VERB POD: what containerd or podman does for one pod
	"$CNITOOL" -cachedir "$TMP/cache" -path "$BIN" -caps "$(caps "$2")" "$1" \
		"$TMP/pods.conflist" "ctr-$2" "/run/netns/demo-$2" eth0
}
listening() { # NETNS PORT: waits (up to 10 s) for a TCP server started in the background
	for _ in $(seq 1 100); do
		ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q . && return 0
		sleep 0.1
	done
}
addr() { # POD FAMILY
	ip -n "demo-$1" -j addr show eth0 |
		jq -r ".[0].addr_info[] | select(.family==\"$2\" and .scope==\"global\") | .local"
}

cat >"$TMP/pods.conflist" <<CONF
{
  "cniVersion": "1.0.0",
  "name": "pods",
  "plugins": [
    { "type": "sluice-bridge", "bridge": "cni0", "isDefaultGateway": true, "ipMasq": true,
      "hairpinMode": true,
      "ipam": { "type": "sluice-host-local", "dataDir": "$TMP/ipam",
                "ranges": [[{ "subnet": "10.88.0.0/24" }], [{ "subnet": "fd88::/64" }]] } },
    { "type": "sluice-portmap", "capabilities": { "portMappings": true } },
    { "type": "sluice-bandwidth", "capabilities": { "bandwidth": true } }
  ]
}
CONF

say "A node (a network namespace of its own), its uplink to an 'outside' network"
ip link set lo up
ip netns add demo-outside
ip link add uplink type veth peer name eth0 netns demo-outside
ip addr add 192.168.200.1/24 dev uplink && ip link set uplink up
ip -n demo-outside addr add 192.168.200.100/24 dev eth0 && ip -n demo-outside link set eth0 up
echo "  node uplink 192.168.200.1/24  <->  outside 192.168.200.100/24"

say "Three pods through libcni: sluice-bridge (+ sluice-host-local) -> sluice-portmap -> sluice-bandwidth"
sed 's/^/    /' "$TMP/pods.conflist"
for p in "${PODS[@]}"; do
	ip netns add "demo-$p"
	ip -n "demo-$p" link set lo up
	printf '  ADD %-4s %s\n       -> ' "$p" "$(caps "$p")"
	runtime add "$p" | jq -c '{ips: [.ips[].address], interfaces: [.interfaces[].name]}'
done

say "What is on the node"
show ip -br link show master cni0
show ip -br addr show cni0
echo "  ipMasq is set elements in one nftables table, one per pod address:"
nft list set inet sluice_masq pods4 | sed 's/^/    /'

say "Pods reach each other (IPv4 and IPv6)"
for from in web api; do
	for to in api db; do
		[ "$from" = "$to" ] && continue
		for fam in inet inet6; do
			a=$(addr "$to" "$fam")
			ip netns exec "demo-$from" ping -c1 -W2 "$a" >/dev/null && r=ok || r=FAILED
			printf '  %-4s -> %-4s %-10s %s\n' "$from" "$to" "$a" "$r"
		done
	done
done

say "Pods reach the outside, masqueraded to the node's address"
setsid ip netns exec demo-outside socat -T5 TCP-LISTEN:8080,fork,reuseaddr \
	SYSTEM:'echo "hello $SOCAT_PEERADDR"' >/dev/null 2>&1 &
PIDS+=($!)
listening demo-outside 8080
for p in "${PODS[@]}"; do
	seen=$(ip netns exec "demo-$p" socat -T3 - TCP:192.168.200.100:8080 </dev/null || echo FAILED)
	printf '  %-4s (%s) -> outside: the outside answers "%s"\n' "$p" "$(addr "$p" inet)" "$seen"
done

say "The outside reaches web through the node's hostPort 8080"
setsid ip netns exec demo-web socat -T5 TCP-LISTEN:80,fork,reuseaddr \
	SYSTEM:'echo "web here, you are $SOCAT_PEERADDR"' >/dev/null 2>&1 &
PIDS+=($!)
listening demo-web 80
printf '  outside -> 192.168.200.1:8080 -> web:80 answers "%s"\n' \
	"$(ip netns exec demo-outside socat -T3 - TCP:192.168.200.1:8080 </dev/null || echo FAILED)"
echo "  the map behind it (one element per hostPort, whatever the number of pods):"
nft list map inet sluice_portmap ports4 | sed 's/^/    /'

say "db is limited to 20 Mbit/s each way (tbf on its veth and on an IFB), measured by iperf3"
setsid ip netns exec demo-outside iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
PIDS+=($!)
listening demo-outside 5201
rate() { jq -r '.end.sum_received.bits_per_second / 1e6 | . * 10 | round / 10'; }
printf '  db -> outside: %s Mbit/s\n' "$(ip netns exec demo-db iperf3 -J -t 3 -O 1 -c 192.168.200.100 -p 5201 | rate)"
setsid ip netns exec demo-outside iperf3 -s -1 -p 5202 >/dev/null 2>&1 &
PIDS+=($!)
listening demo-outside 5202
printf '  outside -> db: %s Mbit/s\n' "$(ip netns exec demo-db iperf3 -J -R -t 3 -O 1 -c 192.168.200.100 -p 5202 | rate)"
setsid ip netns exec demo-outside iperf3 -s -1 -p 5203 >/dev/null 2>&1 &
PIDS+=($!)
listening demo-outside 5203
printf '  api -> outside (no limit): %s Mbit/s\n' "$(ip netns exec demo-api iperf3 -J -t 2 -c 192.168.200.100 -p 5203 | rate)"

say "CHECK every pod, then DEL them (DEL again is fine too)"
for p in "${PODS[@]}"; do
	runtime check "$p" && echo "  CHECK $p: ok"
done
for p in "${PODS[@]}"; do
	runtime del "$p" && runtime del "$p" && echo "  DEL $p twice: ok"
	ip netns del "demo-$p"
done

say "Nothing left behind"
show ip -br link show master cni0
printf '  ipMasq elements left: %s\n' "$(nft -j list set inet sluice_masq pods4 |
	jq '[.nftables[].set.elem // empty | .[]] | length')"
printf '  address reservations left: %s\n' "$(find "$TMP/ipam/pods" -name '10.*' -o -name 'fd*' | wc -l)"
printf '  hostPort elements left: %s\n' "$(nft -j list map inet sluice_portmap ports4 |
	jq '[.nftables[].map.elem // empty | .[]] | length')"
printf '  IFBs left: %s\n' "$(ip -j link show type ifb | jq length)"
echo
echo "Done: the node namespace and all it held end with this script."
