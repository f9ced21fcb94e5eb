#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# `make demo`: sluice on a simulated node. The node is a network namespace of its own (the
# script re-runs itself under `unshare -n -m`), so the machine's own links, routes and
# nftables are never touched, and everything disappears when the demo ends. Pods are added
# and removed through Debian's libcni (tests/libcni/cnitool), the library podman and
# containerd use, so the chain runs exactly as a runtime runs it. The node takes its subnet
# from a lease in a datastore (a dir:// store under the demo's temp dir) with `sluicectl node
# up`, which also renders the conflist the pods are made from; a second node (a namespace of
# its own on the same underlay) takes another subnet from the same store.
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
BRIDGE=sluicebr0 # the bridge of the conflist `node up` renders
CONFLIST=$TMP/node1/net.d/10-sluice.conflist
cleanup() {
	for p in "${PIDS[@]}"; do kill -- "-$p" 2>/dev/null || true; done
	for p in "${PODS[@]}"; do
		[ -e "/run/netns/demo-$p" ] || continue
		runtime del "$p" >/dev/null 2>&1 || true
		ip netns del "demo-$p" 2>/dev/null || true
	done
	ip netns del demo-node2 2>/dev/null || true
	ip netns del demo-outside 2>/dev/null || true
	# the store, the leases and the nodes' files are all under $TMP
	rm -rf "$TMP"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() {
	printf '$ %s\n' "$*"
	"$@" 2>&1 | sed 's/^/  /'
	return "${PIPESTATUS[0]}"
}
showsh() { # 'COMMAND LINE': show for a pipeline, printed as written
	printf '$ %s\n' "$1"
	bash -o pipefail -c "$1" 2>&1 | sed 's/^/  /'
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
		"$CONFLIST" "ctr-$2" "/run/netns/demo-$2" eth0
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

# sluicectl as an operator runs it: on the PATH, the store in the environment, the nodes'
# files given relative to the demo's directory
export PATH="$BIN:$PATH" SLUICE_STORE="dir://$TMP/store"
cd "$TMP"
mkdir node1 node2

say "Two nodes, node1 (this network namespace, where the pods run) and node2 (another), on an underlay with an 'outside' host"
ip link set lo up
ip netns add demo-outside
ip netns add demo-node2
ip -n demo-outside link add underlay type bridge
ip -n demo-outside addr add 192.168.200.100/24 dev underlay
ip -n demo-outside addr add fd00:200::100/64 dev underlay nodad
ip -n demo-outside link set underlay up
uplink() { # NETNS ADDRESS-SUFFIX PEER-NAME: the node's uplink, a port of the underlay
	ip ${1:+-n "$1"} link add uplink type veth peer name "$3" netns demo-outside
	ip ${1:+-n "$1"} addr add "192.168.200.$2/24" dev uplink
	ip ${1:+-n "$1"} addr add "fd00:200::$2/64" dev uplink nodad
	ip ${1:+-n "$1"} link set uplink up
	ip -n demo-outside link set "$3" master underlay up
}
uplink "" 1 node1
uplink demo-node2 2 node2
echo "  node1 uplink 192.168.200.1, fd00:200::1   node2 uplink 192.168.200.2, fd00:200::2"
echo "  outside 192.168.200.100, fd00:200::100 (the underlay: a bridge in the outside namespace)"

say "The datastore and the network config (dual-stack: a lease holds an IPv4 and an IPv6 subnet)"
echo "\$ export SLUICE_STORE=dir://$TMP/store    # etcd://host:2379 in a real cluster"
cat >net.json <<'CONF'
{"Network": "10.244.0.0/16", "SubnetLen": 24, "EnableIPv6": true, "IPv6Network": "fd00:10:244::/56",
 "Backend": {"Type": "vxlan"}}
CONF
show cat net.json
show sluicectl config set -f net.json

say "node1 takes a lease: sluicectl node up writes subnet.env and the node's conflist"
# the conflist node up renders by default, but with the IPAM store (dataDir) in the demo's
# temp dir instead of /var/lib/cni/networks: node up fills in ranges, routes and mtu
cat >template.json <<CONF
{ "cniVersion": "1.0.0", "name": "sluice",
  "plugins": [
    { "type": "sluice-bridge", "bridge": "$BRIDGE", "isGateway": true, "isDefaultGateway": true,
      "ipMasq": true, "hairpinMode": true,
      "ipam": { "type": "sluice-host-local", "dataDir": "$TMP/ipam" } },
    { "type": "sluice-portmap", "capabilities": { "portMappings": true }, "snat": true },
    { "type": "sluice-bandwidth", "capabilities": { "bandwidth": true } } ] }
CONF
show sluicectl node up --node-name node1 --iface uplink --public-ip 192.168.200.1 \
	--subnet-file node1/subnet.env --cni-conf-dir node1/net.d --cni-conf-template template.json
show cat node1/subnet.env
echo "  the conflist, rendered from the lease (template.json: the default one with its dataDir here):"
showsh "jq -c '{name, plugins: [.plugins[].type]}, (.plugins[0] | {bridge, mtu}), (.plugins[0].ipam | {ranges, routes})' node1/net.d/10-sluice.conflist"

say "node2 runs the same command in its namespace, on the same store: another subnet"
show ip netns exec demo-node2 sluicectl node up --node-name node2 --iface uplink \
	--subnet-file node2/subnet.env --cni-conf-dir node2/net.d
show sluicectl leases
showsh "sluicectl -o json leases | jq -c '.[] | {node, subnet, ipv6Subnet, publicIP, ttl}'"
echo "  (routing between the nodes' pod subnets is the VXLAN overlay's, which comes with a later issue)"

say "Three pods on node1 through libcni, from the conflist node up rendered: sluice-bridge (+ sluice-host-local) -> sluice-portmap -> sluice-bandwidth"
for p in "${PODS[@]}"; do
	ip netns add "demo-$p"
	ip -n "demo-$p" link set lo up
	printf '  ADD %-4s %s\n       -> ' "$p" "$(caps "$p")"
	runtime add "$p" | jq -c '{ips: [.ips[].address], interfaces: [.interfaces[].name]}'
done

say "What is on the node"
show ip -br link show master "$BRIDGE"
show ip -br addr show "$BRIDGE"
echo "  ipMasq is set elements in one nftables table, one per pod address:"
nft list set inet sluice_masq pods4 | sed 's/^/    /'

say "Pods reach each other (IPv4 and IPv6)"
for from in web api; do
	for to in api db; do
		[ "$from" = "$to" ] && continue
		for fam in inet inet6; do
			a=$(addr "$to" "$fam")
			ip netns exec "demo-$from" ping -c1 -W2 "$a" >/dev/null && r=ok || r=FAILED
			printf '  %-4s -> %-4s %-18s %s\n' "$from" "$to" "$a" "$r"
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

say "Kubernetes objects: a Namespace and a NetworkPolicy, applied as YAML"
cat >policy.yaml <<'YAML'
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: db-from-api
  namespace: shop
spec:
  podSelector:
    matchLabels: {app: db}
  ingress:
  - from:
    - podSelector:
        matchLabels: {app: api}
    ports:
    - {protocol: TCP, port: 5432}
YAML
show cat policy.yaml
show sluicectl apply -f policy.yaml
show sluicectl get ns
show sluicectl get netpol -A
echo "  (the policy is stored for the policy engine; enforcing it comes with a later issue)"

say "CHECK every pod, then DEL them (DEL again is fine too)"
for p in "${PODS[@]}"; do
	runtime check "$p" && echo "  CHECK $p: ok"
done
for p in "${PODS[@]}"; do
	runtime del "$p" && runtime del "$p" && echo "  DEL $p twice: ok"
	ip netns del "demo-$p"
done

say "Both nodes leave: sluicectl node down releases the lease and removes the node's files"
show sluicectl node down --iface uplink --public-ip 192.168.200.1 \
	--subnet-file node1/subnet.env --cni-conf-dir node1/net.d
show ip netns exec demo-node2 sluicectl node down --iface uplink \
	--subnet-file node2/subnet.env --cni-conf-dir node2/net.d

say "Nothing left behind"
show ip -br link show master "$BRIDGE"
printf '  ipMasq elements left: %s\n' "$(nft -j list set inet sluice_masq pods4 |
	jq '[.nftables[].set.elem // empty | .[]] | length')"
printf '  address reservations left: %s\n' "$(find "$TMP/ipam/sluice" -name '10.*' -o -name 'fd*' | wc -l)"
printf '  hostPort elements left: %s\n' "$(nft -j list map inet sluice_portmap ports4 |
	jq '[.nftables[].map.elem // empty | .[]] | length')"
printf '  IFBs left: %s\n' "$(ip -j link show type ifb | jq length)"
printf '  leases left in the store: %s\n' "$(sluicectl -o json leases | jq length)"
printf '  node files left (subnet.env, lease state, conflist): %s\n' "$(find node1 node2 -type f | wc -l)"
echo
echo "Done: the node namespaces, the store and all they held end with this script."
