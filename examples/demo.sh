#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# `make demo`: sluice on two simulated nodes joined by its VXLAN overlay. Every node is a
# network namespace of its own (the script re-runs itself under `unshare -n -m`), joined
# through a veth "eth0" to an underlay namespace holding a bridge (which also plays the
# outside world), so the machine's own links, routes and nftables are never touched and
# everything disappears when the demo ends. Each node runs sluiced, the node agent: it takes
# a lease from the datastore, creates the VXLAN device, renders the node's conflist and
# programs every other node's lease as a peer. Pods are added and removed through Debian's
# libcni (tests/libcni/cnitool), the library podman and containerd use, so the chain
# (sluice-bridge -> sluice-vxlan-overlay -> sluice-nft-policy -> sluice-portmap ->
# sluice-bandwidth) runs exactly as a runtime runs it. The NetworkPolicy part adds the
# Kubernetes e2e suite's pods (namespaces x, y, z with pods a, b, c) over both nodes and
# prints who reaches whom before and after a NetworkPolicy is applied.
#   make demo              the embedded store (dir://, a directory under the demo's temp dir)
#   STORE=etcd make demo   a local etcd the demo starts inside its underlay namespace
set -eu
BUILD=$(cd "${1:-build}" && pwd)
BIN=$BUILD/bin
CNITOOL=$BUILD/tests/cnitool
STORE=${STORE:-dir}
case $STORE in
dir | etcd) ;;
*) echo "demo: STORE=$STORE: dir (the default) or etcd" >&2 && exit 2 ;;
esac
if [ "$STORE" = etcd ] && ! command -v etcd >/dev/null; then
	echo "demo: STORE=etcd needs etcd (Debian's etcd-server; make deps installs it)" >&2
	exit 1
fi
if [ -z "${SLUICE_DEMO_INNER:-}" ]; then
	mkdir -p /run/netns
	# /run/netns on a tmpfs of the demo's own mount namespace: nothing is left even if the
	# demo is interrupted
	exec env SLUICE_DEMO_INNER=1 STORE="$STORE" unshare -n -m --propagation private sh -c \
		'mount -t tmpfs -o mode=0755 sluice-demo /run/netns && exec bash "$0" "$1"' "$0" "$BUILD"
fi
# never the host's /run/netns (SLUICE_DEMO_INNER set by hand, say): the demo's netns live on
# its own tmpfs only
if [ "$(findmnt -n -o SOURCE --mountpoint /run/netns 2>/dev/null | tail -1)" != sluice-demo ]; then
	echo "demo: /run/netns is not the demo's own tmpfs: run examples/demo.sh without SLUICE_DEMO_INNER" >&2
	exit 1
fi

TMP=$(mktemp -d /tmp/sluice-demo.XXXXXX)
PODS=(web api db) # web and api on node1, db on node2 (the policy part adds x-a ... z-c)
declare -A NODE=([web]=1 [api]=1 [db]=2)
PIDS=()   # background servers: process groups
AGENTS=() # sluiced, then etcd: by PID
ETCD_PID=
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -- "-$p" 2>/dev/null || true; done
	for p in "${AGENTS[@]}" $ETCD_PID; do kill "$p" 2>/dev/null || true; done
	for p in "${AGENTS[@]}" $ETCD_PID; do wait "$p" 2>/dev/null || true; done
	for p in "${PODS[@]}"; do
		[ -e "/run/netns/demo-$p" ] || continue
		runtime del "$p" >/dev/null 2>&1 || true
		ip netns del "demo-$p" 2>/dev/null || true
	done
	for p in node1 node2 underlay; do ip netns del "demo-$p" 2>/dev/null || true; done
	# the store (or etcd's data), the leases and the nodes' files are all under $TMP
	rm -rf "$TMP"
}
trap cleanup EXIT

# counted: a step printing FAILED (the demo goes on, to show the rest, then exits 1)
FAILS=0
counted() { [ "$1" != FAILED ] || FAILS=$((FAILS + 1)); }

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
on() { # N COMMAND...: runs COMMAND on node N (in its namespace)
	local n=$1
	shift
	ip netns exec "demo-node$n" "$@"
}
# the runtime's per-pod arguments: web publishes port 80 as its node's 8080; db is limited
# to 20 Mbit/s each way (what kubelet asks for from the kubernetes.io/*-bandwidth annotations)
caps() {
	case $1 in
	web) echo '{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]}' ;;
	db) echo '{"bandwidth":{"ingressRate":20000000,"ingressBurst":1000000,"egressRate":20000000,"egressBurst":1000000}}' ;;
	*) echo '{}' ;;
	esac
}
# the pod's identity, as kubelet passes it: the policy part's pods NS-NAME are Kubernetes
# pods NS/NAME; web, api and db are no Kubernetes pods (namespace default, no labels)
cniargs() {
	case $1 in
	*-*) echo "IgnoreUnknown=1;K8S_POD_NAMESPACE=${1%%-*};K8S_POD_NAME=${1#*-}" ;;
	*) echo "" ;;
	esac
}
runtime() { # VERB POD: what containerd or podman does for one pod, on the pod's node
	on "${NODE[$2]}" "$CNITOOL" -cachedir "$TMP/cache" -path "$BIN" -caps "$(caps "$2")" \
		-args "$(cniargs "$2")" "$1" "$TMP/node${NODE[$2]}/net.d/10-sluice.conflist" \
		"ctr-$2" "/run/netns/demo-$2" eth0
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
agent_ready() { # N PEERS: waits (up to 20 s) for node N's agent to hold PEERS peers
	for _ in $(seq 1 200); do
		jq -e --argjson n "$2" '([.Peers[].Key] | unique | length) == $n' \
			"$TMP/node$1/subnet.agent.json" \
			>/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "  node$1's agent did not come up:" && sed 's/^/    /' "$TMP/node$1/agent.log"
	return 1
}

export PATH="$BIN:$PATH"
cd "$TMP"
mkdir node1 node2

say "Two nodes on an underlay (a bridge in a namespace that also plays the outside world)"
ip link set lo up
ip netns add demo-underlay
ip -n demo-underlay link set lo up
ip -n demo-underlay link add underlay type bridge
ip -n demo-underlay addr add 192.168.100.254/24 dev underlay
ip -n demo-underlay addr add fd00:100::254/64 dev underlay nodad
ip -n demo-underlay link set underlay up
for n in 1 2; do
	ip netns add "demo-node$n"
	ip -n "demo-node$n" link set lo up
	ip -n "demo-node$n" link add eth0 type veth peer name "node$n" netns demo-underlay
	ip -n "demo-node$n" addr add "192.168.100.$n/24" dev eth0
	ip -n "demo-node$n" addr add "fd00:100::$n/64" dev eth0 nodad
	ip -n "demo-node$n" link set eth0 up
	ip -n "demo-node$n" route add default via 192.168.100.254
	ip -n "demo-node$n" route add default via fd00:100::254
	# a node forwards between its pods' bridge and the VXLAN device
	ip netns exec "demo-node$n" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	ip -n demo-underlay link set "node$n" master underlay up
done
echo "  node1 eth0 192.168.100.1, fd00:100::1    node2 eth0 192.168.100.2, fd00:100::2"
echo "  underlay/outside 192.168.100.254, fd00:100::254 (the nodes' default route)"

if [ "$STORE" = etcd ]; then
	say "The datastore: etcd, started in the underlay namespace, where both nodes reach it"
	ip netns exec demo-underlay etcd --name demo --data-dir "$TMP/etcd" \
		--listen-client-urls http://192.168.100.254:2379 \
		--advertise-client-urls http://192.168.100.254:2379 \
		--listen-peer-urls http://127.0.0.1:2380 \
		--initial-advertise-peer-urls http://127.0.0.1:2380 \
		--initial-cluster demo=http://127.0.0.1:2380 >"$TMP/etcd.log" 2>&1 &
	ETCD_PID=$!
	for _ in $(seq 1 150); do
		ip netns exec demo-underlay etcdctl --endpoints=192.168.100.254:2379 endpoint health \
			>/dev/null 2>&1 && break
		sleep 0.2
	done
	show ip netns exec demo-underlay etcdctl --endpoints=192.168.100.254:2379 endpoint health
	export SLUICE_STORE=etcd://192.168.100.254:2379
else
	say "The datastore: the embedded one (dir://, files under the demo's temp dir)"
	export SLUICE_STORE="dir://$TMP/store"
fi
echo "\$ export SLUICE_STORE=$SLUICE_STORE"

say "The network config (dual-stack: a lease holds an IPv4 and an IPv6 subnet)"
cat >net.json <<'CONF'
{"Network": "10.244.0.0/16", "SubnetLen": 24, "EnableIPv6": true, "IPv6Network": "fd00:10:244::/56",
 "Backend": {"Type": "vxlan"}}
CONF
show cat net.json
on 1 sluicectl config set -f net.json >/dev/null && echo "\$ sluicectl config set -f net.json: ok"

# local_store N: the store node N's plugins use (a plugin never talks to etcd): the shared
# dir:// store itself, or with etcd a dir:// store of the node's own that its sluiced
# mirrors to and from etcd (--local-store)
local_store() {
	if [ "$STORE" = etcd ]; then echo "dir://$TMP/node$1/store"; else echo "$SLUICE_STORE"; fi
}

say "sluiced on each node: a lease, the VXLAN device, subnet.env, the conflist, the peers"
for n in 1 2; do
	# the conflist sluiced renders by default, with the IPAM store (dataDir) in the demo's
	# temp dir instead of /var/lib/cni/networks: sluiced fills in ranges, routes and mtu,
	# and sluice-nft-policy's store, node and runDir (this node's)
	cat >"node$n/template.json" <<CONF
{ "cniVersion": "1.0.0", "name": "sluice",
  "plugins": [
    { "type": "sluice-bridge", "bridge": "sluicebr0", "isGateway": true, "isDefaultGateway": true,
      "ipMasq": false, "hairpinMode": true,
      "ipam": { "type": "sluice-host-local", "dataDir": "$TMP/node$n/ipam" } },
    { "type": "sluice-vxlan-overlay", "subnetFile": "$TMP/node$n/subnet.env" },
    { "type": "sluice-nft-policy" },
    { "type": "sluice-portmap", "capabilities": { "portMappings": true }, "snat": true },
    { "type": "sluice-bandwidth", "capabilities": { "bandwidth": true } } ] }
CONF
	printf '$ ip netns exec node%s sluiced --iface eth0 --node-name node%s --subnet-file node%s/subnet.env \\\n' "$n" "$n" "$n"
	printf '      --cni-conf-dir node%s/net.d --cni-conf-template node%s/template.json%s &\n' "$n" "$n" \
		"$([ "$STORE" = etcd ] && echo " --local-store dir://node$n/store")"
	# not through on(): $! must be sluiced's own PID (ip netns exec execs it)
	# (with etcd, each node's local store, which sluice-nft-policy reads, in the temp dir:
	# its default is the host's /var/lib/sluice/store; local_store above)
	ip netns exec "demo-node$n" sluiced --iface eth0 --node-name "node$n" --subnet-file "$TMP/node$n/subnet.env" \
		--cni-conf-dir "$TMP/node$n/net.d" --cni-conf-template "$TMP/node$n/template.json" \
		--local-store "$(local_store "$n")" 2>"node$n/agent.log" &
	AGENTS+=($!)
done
agent_ready 1 1
agent_ready 2 1
echo "  what node1's agent logged (one line per change):"
sed 's/^/    /' node1/agent.log
show on 1 sluicectl leases
show cat node1/subnet.env
echo "  node1's conflist, rendered from its lease:"
showsh "jq -c '{name, plugins: [.plugins[].type]}, (.plugins[0] | {bridge, mtu}), (.plugins[0].ipam | {ranges, routes})' node1/net.d/10-sluice.conflist"

say "Node1's data plane: its VXLAN device and node2 as a peer (neighbour, FDB entry, route), Flannel's way"
show ip -n demo-node1 -d -br link show type vxlan
showsh "ip -n demo-node1 -d link show sluice.1 | grep -o 'vxlan id .*'"
show ip -n demo-node1 neigh show nud permanent
show bridge -n demo-node1 fdb show dev sluice.1
show ip -n demo-node1 route show proto 83
show ip -n demo-node1 -6 route show proto 83
show on 1 sluicectl status --subnet-file node1/subnet.env

say "Pods: web and api on node1, db on node2, through libcni from the conflists sluiced rendered"
for p in "${PODS[@]}"; do
	ip netns add "demo-$p"
	ip -n "demo-$p" link set lo up
	printf '  ADD %-4s on node%s %s\n       -> ' "$p" "${NODE[$p]}" "$(caps "$p")"
	runtime add "$p" | jq -c '{ips: [.ips[].address], interfaces: [.interfaces[].name]}'
done
echo "  the pods' MTU is the overlay's (the underlay's 1500 less VXLAN's 50):"
for p in "${PODS[@]}"; do
	printf '    %-4s eth0 mtu %s\n' "$p" "$(ip -n "demo-$p" -j link show eth0 | jq '.[0].mtu')"
done

say "Pods reach each other across the nodes through VXLAN (IPv4 and IPv6)"
for pair in web:db api:db db:web web:api; do
	from=${pair%:*} to=${pair#*:}
	for fam in inet inet6; do
		a=$(addr "$to" "$fam")
		# (5 tries of 1 s: a first packet can be lost to an IPv6 address still tentative)
		r=FAILED
		for _ in 1 2 3 4 5; do
			ip netns exec "demo-$from" ping -c1 -W1 "$a" >/dev/null && r=ok && break
			sleep 0.3
		done
		counted "$r"
		printf '  %-4s (node%s) -> %-4s (node%s) %-22s %s\n' "$from" "${NODE[$from]}" "$to" \
			"${NODE[$to]}" "$a" "$r"
	done
done
setsid ip netns exec demo-db socat -T5 TCP-LISTEN:5432,fork,reuseaddr \
	SYSTEM:'echo "db on node2 here, you are $SOCAT_PEERADDR"' >/dev/null 2>&1 &
PIDS+=($!)
listening demo-db 5432
seen=$(ip netns exec demo-api socat -T3 - "TCP:$(addr db inet):5432" </dev/null || echo FAILED)
counted "$seen"
printf '  TCP api -> db:5432 answers "%s"\n' "$seen"
echo "  (no masquerade between pods: db sees api's own address)"
printf '  node1 sluice.1 has sent %s packets (each in a VXLAN UDP datagram to 8472 over eth0)\n' \
	"$(ip -n demo-node1 -s -j link show sluice.1 | jq '.[0].stats64.tx.packets')"

say "Pods reach the outside, masqueraded to their node's address (sluiced's nftables table)"
setsid ip netns exec demo-underlay socat -T5 TCP-LISTEN:8080,fork,reuseaddr \
	SYSTEM:'echo "hello $SOCAT_PEERADDR"' >/dev/null 2>&1 &
PIDS+=($!)
listening demo-underlay 8080
for p in "${PODS[@]}"; do
	seen=$(ip netns exec "demo-$p" socat -T3 - TCP:192.168.100.254:8080 </dev/null || echo FAILED)
	counted "$seen"
	printf '  %-4s (%s) -> outside: the outside answers "%s"\n' "$p" "$(addr "$p" inet)" "$seen"
done
showsh "ip netns exec demo-node1 nft list table inet sluice_overlay | grep -E 'masquerade|return' | sed 's/^\s*//'"

say "The outside reaches web through node1's hostPort 8080"
setsid ip netns exec demo-web socat -T5 TCP-LISTEN:80,fork,reuseaddr \
	SYSTEM:'echo "web here, you are $SOCAT_PEERADDR"' >/dev/null 2>&1 &
PIDS+=($!)
listening demo-web 80
seen=$(ip netns exec demo-underlay socat -T3 - TCP:192.168.100.1:8080 </dev/null || echo FAILED)
counted "$seen"
printf '  outside -> 192.168.100.1:8080 -> web:80 answers "%s"\n' "$seen"

say "db is limited to 20 Mbit/s (tbf on its veth), api is not: iperf3 from each to web, across the nodes"
rate() { jq -r '.end.sum_received.bits_per_second / 1e6 | . * 10 | round / 10'; }
port=5201
for p in db api; do
	setsid ip netns exec demo-web iperf3 -s -1 -p $port >/dev/null 2>&1 &
	PIDS+=($!)
	listening demo-web $port
	printf '  %s -> web: %s Mbit/s\n' "$p" \
		"$(ip netns exec "demo-$p" iperf3 -J -t 2 -c "$(addr web inet)" -p $port | rate)"
	port=$((port + 1))
done

say "NetworkPolicy: the Kubernetes e2e suite's pods, namespaces x, y, z with pods a, b, c"
# Namespaces and Pods are Kubernetes objects in the store (kubelet's view of them); each pod
# serves TCP on port 80, a named container port, as the e2e suite's pods do. a and c run on
# node1, b on node2: traffic between them crosses the overlay.
POLPODS=(x-a x-b x-c y-a y-b y-c z-a z-b z-c)
{
	for ns in x y z; do
		# (quoted: YAML reads a bare y as true)
		printf -- '---\napiVersion: v1\nkind: Namespace\nmetadata: {name: "%s", labels: {ns: "%s"}}\n' \
			"$ns" "$ns"
		for p in a b c; do
			printf -- '---\napiVersion: v1\nkind: Pod\nmetadata: {namespace: "%s", name: %s, labels: {pod: %s}}\n' \
				"$ns" "$p" "$p"
			printf 'spec: {containers: [{name: cont-80-tcp, image: agnhost, ports: [{name: serve-80-tcp, containerPort: 80}]}]}\n'
		done
	done
} >pods.yaml
on 1 sluicectl apply -f pods.yaml >/dev/null && echo "\$ sluicectl apply -f pods.yaml: 3 namespaces, 9 pods"
for p in "${POLPODS[@]}"; do
	case $p in *-b) NODE[$p]=2 ;; *) NODE[$p]=1 ;; esac
	ip netns add "demo-$p"
	ip -n "demo-$p" link set lo up
	PODS+=("$p")
	if ! runtime add "$p" >/dev/null; then
		echo "  ADD $p FAILED"
		counted FAILED
		continue
	fi
	setsid ip netns exec "demo-$p" socat -T2 TCP-LISTEN:80,fork,reuseaddr \
		SYSTEM:'echo hi' >/dev/null 2>&1 &
	PIDS+=($!)
done
for p in "${POLPODS[@]}"; do listening "demo-$p" 80; done
printf '  ADD through libcni: %s (a, c on node1; b on node2), each serving TCP 80\n' "${POLPODS[*]}"

# matrix EXPECTED...: probes TCP 80 from every pod to every other (all at once, 2 s each at
# most) and prints the truth table as the e2e suite and cyclonus print it: rows are the
# clients, columns the servers, "." reached, "X" blocked. EXPECTED: the "from>to" pairs
# that must be blocked (every other pair must connect); a difference is marked "!" and
# counted as a failure.
matrix() {
	local f t want got line bad=0 probes=()
	mkdir -p probe
	for f in "${POLPODS[@]}"; do
		for t in "${POLPODS[@]}"; do
			(ip netns exec "demo-$f" socat -T2 - "TCP:${POLIP[$t]}:80,connect-timeout=2" \
				</dev/null 2>/dev/null | grep -q hi && echo . >"probe/$f-$t" ||
				echo X >"probe/$f-$t") &
			probes+=($!)
		done
	done
	wait "${probes[@]}"
	printf '  %-5s' ''
	for t in "${POLPODS[@]}"; do printf ' %s' "${t/-//}"; done # 4 columns each
	echo
	for f in "${POLPODS[@]}"; do
		line=$(printf '  %-5s' "${f/-//}")
		for t in "${POLPODS[@]}"; do
			got=$(cat "probe/$f-$t" 2>/dev/null || echo '?')
			want=.
			[[ " $* " == *" $f>$t "* ]] && want=X
			if [ "$got" != "$want" ]; then
				got='!'
				bad=$((bad + 1))
			fi
			line+="  $got "
		done
		echo "$line"
	done
	rm -rf probe
	if [ "$bad" -gt 0 ]; then
		echo "  ($bad probe(s) marked ! did not get what the policies say)"
		counted FAILED
	fi
}
declare -A POLIP=()
for p in "${POLPODS[@]}"; do POLIP[$p]=$(addr "$p" inet); done

echo "  before any NetworkPolicy every pod reaches every other (\".\": connected, \"X\": blocked):"
matrix

cat >policy.yaml <<'YAML'
# x/a takes connections on its serve-80-tcp port from x/b and from any pod of namespace y
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-x-a, namespace: x}
spec:
  podSelector:
    matchLabels: {pod: a}
  ingress:
  - from:
    - podSelector:
        matchLabels: {pod: b}
    - namespaceSelector:
        matchLabels: {ns: "y"}
    ports:
    - port: serve-80-tcp
---
# the pods of z may open no connection at all (default deny egress)
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-egress, namespace: z}
spec:
  podSelector: {}
  policyTypes: [Egress]
YAML
show cat policy.yaml
show on 1 sluicectl apply -f policy.yaml
t0=$(date +%s%N)
show on 1 sluicectl wait --timeout 10 || counted FAILED
printf '  (sluicectl wait returned %s ms after the apply: every node has it in its kernel)\n' \
	$((($(date +%s%N) - t0) / 1000000))
show on 1 sluicectl status
blocked=()
for f in "${POLPODS[@]}"; do
	for t in "${POLPODS[@]}"; do
		[ "$f" = "$t" ] && continue # a pod always reaches itself (loopback)
		case $t in x-a) [[ $f = x-b || $f = y-* ]] || blocked+=("$f>$t") ;; esac
		case $f in z-*) [[ " ${blocked[*]} " == *" $f>$t "* ]] || blocked+=("$f>$t") ;; esac
	done
done
echo "  after: column x/a takes only x/b, y/*; row z/* reaches nobody (but itself, over loopback):"
matrix "${blocked[@]}"

echo "  the counters of each policy rule and each drop, read back from node1's kernel:"
show on 1 sluicectl policy stats || counted FAILED
echo "  the connections the policies dropped, with the policy that caused it (NFLOG):"
show on 1 sluicectl drops --count 5 --run-dir node1 || counted FAILED

say "The policy goes: every pod reaches every other again"
show on 1 sluicectl delete -f policy.yaml || counted FAILED
show on 1 sluicectl wait --timeout 10 || counted FAILED
matrix

say "CHECK every pod, then DEL them (DEL again is fine too)"
for p in "${PODS[@]}"; do
	runtime check "$p" && echo "  CHECK $p: ok"
done
for p in "${PODS[@]}"; do
	runtime del "$p" && runtime del "$p" && echo "  DEL $p twice: ok"
	ip netns del "demo-$p"
done

say "The agents stop (SIGTERM: the data plane stays up), the nodes leave (node down)"
for p in "${AGENTS[@]}"; do kill "$p"; done
for p in "${AGENTS[@]}"; do wait "$p" && echo "  sluiced (pid $p) exited 0" || echo "  sluiced (pid $p) exited $?"; done
AGENTS=()
echo "  node1 still holds its peer (no pod loses its path while an agent restarts):"
show ip -n demo-node1 route show proto 83
for n in 1 2; do
	show on "$n" sluicectl node down --iface eth0 --subnet-file "node$n/subnet.env" \
		--cni-conf-dir "node$n/net.d"
done
printf '  leases left in the store: %s\n' "$(on 1 sluicectl -o json leases | jq length)"
echo "  node files left (the demo's own template.json and agent.log aside; a stopped agent's"
echo "  status file stays, for sluicectl status to tell a stopped agent from a missing one):"
find node1 node2 -type f ! -name template.json ! -name agent.log ! -path '*/ipam/*' |
	sed 's/^/    /'
printf '  address reservations left: %s\n' "$(find node1/ipam node2/ipam -name '10.*' -o \
	-name 'fd*' 2>/dev/null | wc -l)"
if [ -n "$ETCD_PID" ]; then
	kill "$ETCD_PID"
	wait "$ETCD_PID" 2>/dev/null || true
	echo "  etcd (pid $ETCD_PID) stopped"
	ETCD_PID=
fi
if [ "$FAILS" -gt 0 ]; then
	echo
	echo "demo: $FAILS step(s) FAILED (above)" >&2
	exit 1
fi
echo
echo "Done: the nodes' namespaces (their VXLAN devices, peers and tables with them), the store"
echo "and everything else the demo made end with this script."
