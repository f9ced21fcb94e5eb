# SPDX-License-Identifier: Apache-2.0
# The overlay rows of `make bench` (sourced by tests/bench/rows.sh, inside run.sh's own
# network and mount namespace; T, BIN, TOOLS, BUILD, nrow and FAILED are run.sh's):
#
#   overlay-lease  a lease written to etcd (store_put, by tests/tools/ovbench in the node's
#                  netns) -> the peer's route on that node's kernel (RTM_NEWROUTE seen on an
#                  rtnetlink monitor), one lease at a time, BENCH_OVERLAY_LEASES (50) of them;
#                  and the lease deleted -> the route gone
#   overlay-1000   BENCH_OVERLAY_PEERS (1000) fake peer leases in one etcd txn -> all their
#                  routes on the node, then their etcd lease revoked -> all gone, in
#                  BENCH_OVERLAY_ROUNDS (5) rounds; the agent's CPU time over each add (its
#                  threads' schedstat) and its
#                  peak RSS (VmHWM); the floor: tests/tools/peerfloor (as many peers' netlink
#                  messages sent by a minimal program, one request then its ack: the issue's
#                  floor, not batched) on a node of the same shape with the same VXLAN
#                  device; the batched comparison is the "overlay_peers_apply alone" row
#                  (the same peers through the library in one call, pipelined)
#   overlay-tcp    iperf3 pod to pod across two nodes through sluiced + sluice-bridge ->
#                  sluice-vxlan-overlay, against the same topology built by hand with
#                  iproute2 (vxlan, neighbour, FDB, onlink route, as flanneld programs them),
#                  BENCH_TCP_ROUNDS (3) runs of BENCH_TCP_SECS (5) s each, alternated
#
# The simulated nodes are the tests' (ISSUE 11's convention): node N is a netns with a veth
# "eth0" (192.168.100.N/24, default route via .254) into an underlay netns holding a bridge;
# etcd runs in the underlay netns on 192.168.100.254, where every node reaches it.
# shellcheck shell=bash

OV_PIDS=()
OV_ETCD=192.168.100.254:23791
# Fake peers (ovbench) take 10.200.0.0/24 on: the nodes' own leases stay below them
OV_NETCONF='{"Network": "10.192.0.0/10", "SubnetLen": 24, "SubnetMax": "10.199.255.0",
 "Backend": {"Type": "vxlan"}}'

# ov_stop: stops what the rows started (agents, etcd, iperf3 servers), by PID
ov_stop() {
	local p
	for p in "${OV_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${OV_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	OV_PIDS=()
}

# ov_netns_dir: named netns (ip netns) on a tmpfs of the bench's own mount namespace, mounted
# once and always: the host's /run/netns is often a mount point already (ip netns makes it
# one), and a copy of it in our namespace is still the host's directory, where `ip netns add`
# and ov_del would write and delete. Refused outside a mount namespace of our own (run.sh's
# unshare -n -m), so that the mount itself never lands on the host.
OV_NETNS_MOUNTED=
ov_netns_dir() {
	[ -z "$OV_NETNS_MOUNTED" ] || return 0
	if [ "$(readlink /proc/self/ns/mnt)" = "$(readlink /proc/1/ns/mnt)" ]; then
		echo "bench: overlay rows run only in run.sh's own mount namespace" >&2
		return 1
	fi
	mkdir -p /run/netns
	mount -t tmpfs -o mode=0755 sluice-ovbench /run/netns || return 1
	OV_NETNS_MOUNTED=1
}

# ov_underlay NET: the underlay netns NET-u, its bridge at 192.168.100.254/24
ov_underlay() {
	ip netns add "$1-u"
	ip -n "$1-u" link set lo up
	ip -n "$1-u" link add br0 type bridge
	ip -n "$1-u" addr add 192.168.100.254/24 dev br0
	ip -n "$1-u" link set br0 up
}

# ov_node NET N: node N (netns NET-N), eth0 192.168.100.N/24 on the underlay
ov_node() {
	local ns=$1-$2
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	ip -n "$ns" link add eth0 type veth peer name "n$2" netns "$1-u"
	ip -n "$ns" addr add "192.168.100.$2/24" dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$ns" route add default via 192.168.100.254
	ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1
	ip -n "$1-u" link set "n$2" master br0 up
}

# ov_del NET: every netns of NET
ov_del() {
	local ns
	for ns in $(ip netns list | awk '{print $1}'); do
		[[ "$ns" = "$1"-* ]] && ip netns del "$ns"
	done
	return 0
}

# ov_etcd NET DIR: etcd in NET-u on OV_ETCD, data in DIR; its PID in OV_PIDS
ov_etcd() {
	ip netns exec "$1-u" etcd --name ovbench --data-dir "$2/etcd" \
		--listen-client-urls "http://$OV_ETCD" --advertise-client-urls "http://$OV_ETCD" \
		--listen-peer-urls http://127.0.0.1:23801 \
		--initial-advertise-peer-urls http://127.0.0.1:23801 \
		--initial-cluster ovbench=http://127.0.0.1:23801 \
		--max-txn-ops 4096 --max-request-bytes 16777216 >"$2/etcd.log" 2>&1 &
	OV_PIDS+=($!)
	for _ in $(seq 150); do
		ip netns exec "$1-u" etcdctl --endpoints="$OV_ETCD" endpoint health >/dev/null 2>&1 &&
			return 0
		sleep 0.2
	done
	tail -5 "$2/etcd.log" >&2
	return 1
}

# ov_agent NET N STORE DIR: sluiced on node N, its files in DIR/nodeN, a conflist template
# keeping IPAM's data in DIR; its PID in OV_PIDS
ov_agent() {
	local d=$4/node$2
	mkdir -p "$d"
	jq -n --arg data "$4/ipam" --arg sf "$d/subnet.env" '{cniVersion: "1.0.0", name: "sluice",
		plugins: [{type: "sluice-bridge", bridge: "sluicebr0", isGateway: true,
			isDefaultGateway: true, ipMasq: false, hairpinMode: true,
			ipam: {type: "sluice-host-local", dataDir: $data}},
		  {type: "sluice-vxlan-overlay", subnetFile: $sf}]}' >"$d/template.json"
	ip netns exec "$1-$2" "$BIN/sluiced" --store "$3" --iface eth0 \
		--subnet-file "$d/subnet.env" --cni-conf-dir "$d/net.d" \
		--cni-conf-template "$d/template.json" --node-name "node$2" \
		--no-network-policy --log-level warn 2>>"$d/agent.log" &
	OV_PIDS+=($!)
}

# ov_wait_agent FILE PEERS: waits (20 s at most) for an agent status file listing PEERS peers
ov_wait_agent() {
	for _ in $(seq 200); do
		[ -f "$1" ] && jq -e --argjson n "$2" '([.Peers[].Key] | unique | length) == $n' "$1" >/dev/null 2>&1 &&
			return 0
		sleep 0.1
	done
	echo "bench: $1: no agent status with $2 peers" >&2
	return 1
}

# ov_stats: a JSON array of numbers -> {n, median, p95, min, max, mean}, as cnibench's
OV_JQ_STATS='def stats: sort as $s | ($s | length) as $n |
	{n: $n, median: (if $n % 2 == 1 then $s[($n / 2 | floor)]
			 else ($s[$n / 2 - 1] + $s[$n / 2]) / 2 end),
	 p95: $s[([((95 * $n + 99) / 100 | floor) - 1, 0] | max)], min: $s[0], max: $s[-1],
	 mean: (add / $n)};
	def one: [.] | stats;'

# ov_begin NAME: the row's directory into OV_DIR; false when BENCH_ONLY leaves it out or
# something it needs is missing
ov_begin() {
	local t
	if [ -n "${BENCH_ONLY:-}" ] && [[ "$1" != *"$BENCH_ONLY"* ]]; then
		return 1
	fi
	for t in "$BIN/sluiced" "$BIN/sluicectl" "$BIN/sluice-vxlan-overlay" "$TOOLS/ovbench"; do
		if [ ! -x "$t" ]; then
			echo "== $1: skipped, no $t" >&2
			return 1
		fi
	done
	if ! command -v etcd >/dev/null || ! command -v etcdctl >/dev/null; then
		echo "== $1: skipped, no etcd (etcd-server, etcd-client)" >&2
		return 1
	fi
	nrow=$((nrow + 1))
	OV_DIR=$T/rows/$(printf %02d "$nrow")
	mkdir -p "$OV_DIR"
	ov_netns_dir || {
		FAILED+=("$1")
		return 1
	}
}

# ov_end NAME RC: reports, stops and removes what the row made
ov_end() {
	if [ "$2" = 0 ]; then
		echo "$((SECONDS - OV_START)) s" >&2
	else
		echo FAILED >&2
		FAILED+=("$1")
		tail -n 20 "$OV_DIR"/log "$OV_DIR"/*/agent.log 2>/dev/null | head -c 4000 >&2
		jq -n --arg r "$1" '{row: $r, ok: false}' >"$OV_DIR/result.json"
	fi
	ov_stop
	ov_del ov
	ov_del ovh
}

# ov_store_up: underlay, etcd, the network config (the nodes are the caller's)
ov_store_up() {
	ov_underlay ov && ov_etcd ov "$OV_DIR" || return 1
	printf '%s\n' "$OV_NETCONF" >"$OV_DIR/net.json"
	ip netns exec ov-u "$BIN/sluicectl" --store "etcd://$OV_ETCD" config set -f "$OV_DIR/net.json" \
		>/dev/null
}

# overlay-lease: one node with its agent; ovbench in its netns writes leases as another
# node's agent would and times each until the node's kernel holds the route
ov_lease() {
	local n=${BENCH_OVERLAY_LEASES:-50}
	ov_store_up && ov_node ov 1 || return 1
	ov_agent ov 1 "etcd://$OV_ETCD" "$OV_DIR"
	ov_wait_agent "$OV_DIR/node1/subnet.agent.json" 0 || return 1
	ip netns exec ov-1 "$TOOLS/ovbench" lease -s "etcd://$OV_ETCD" -n "$n" -w 3 \
		-o "$OV_DIR/raw.json" 2>>"$OV_DIR/log" || return 1
	jq --arg r overlay-lease "$OV_JQ_STATS"'
		{row: $r, n: (.put_route | length), ok: true, measures: [
		 {name: "lease put -> route (etcd)", unit: "ms", stats: {sluice: (.put_route | stats)}},
		 {name: "lease delete -> route gone", unit: "ms", stats: {sluice: (.del_route | stats)}},
		 {name: "the put alone", unit: "ms", stats: {sluice: (.put | stats)}}]}' \
		"$OV_DIR/raw.json" >"$OV_DIR/result.json"
}

# the floor of overlay-1000: tests/tools/peerfloor (helper ovpeer's) programs as many peers
# (neighbour, FDB entry, onlink route each, one request then its ack) on a VXLAN device made
# by hand on a node of the same shape without an agent, then overlay_peers_apply() the same
# peers in-process; prints its JSON (floor_runs_ns, apply_runs_ns: BENCH_OVERLAY_ROUNDS
# runs) or nothing
ov_floor() {
	[ -x "$TOOLS/peerfloor" ] || return 0
	ov_node ov 9
	ip -n ov-9 link add sluice.1 type vxlan id 1 dstport 8472 dev eth0 \
		local 192.168.100.9 nolearning
	ip -n ov-9 link set sluice.1 mtu 1450 up
	ip netns exec ov-9 "$TOOLS/peerfloor" sluice.1 eth0 "$1" 10.200.0.0/24 192.168.110.1 \
		"${BENCH_OVERLAY_ROUNDS:-5}" \
		2>>"$OV_DIR/log" || true
}

# overlay-1000: BENCH_OVERLAY_PEERS leases in one txn; the floor
ov_many() {
	local n=${BENCH_OVERLAY_PEERS:-1000} pid floor
	ov_store_up && ov_node ov 1 || return 1
	ov_agent ov 1 "etcd://$OV_ETCD" "$OV_DIR"
	pid=${OV_PIDS[-1]}
	ov_wait_agent "$OV_DIR/node1/subnet.agent.json" 0 || return 1
	ip netns exec ov-1 "$TOOLS/ovbench" many -s "etcd://$OV_ETCD" -n "$n" -a "$pid" \
		-e "$OV_ETCD" -r "${BENCH_OVERLAY_ROUNDS:-5}" -o "$OV_DIR/raw.json" 2>>"$OV_DIR/log" || return 1
	floor=$(ov_floor "$n")
	jq --arg r overlay-1000 --argjson f "${floor:-null}" "$OV_JQ_STATS"'
		($f.floor_runs_ns // null | if . then map(. / 1e6) | stats else null end) as $fl |
		{row: $r, n: .n, ok: true, measures: [
		 {name: "programmed, from the txn start", unit: "ms",
		  stats: {sluice: (.programmed_ms | stats), floor: $fl}},
		 {name: "programmed, from the txn answer", unit: "ms",
		  stats: {sluice: ([.programmed_ms, .write_ms] | transpose | map(.[0] - .[1]) | stats),
			  floor: $fl}},
		 {name: "first route -> last route", unit: "ms",
		  stats: {sluice: ([.programmed_ms, .first_route_ms] | transpose | map(.[0] - .[1]) |
			  stats), floor: $fl}},
		 {name: "overlay_peers_apply alone", unit: "ms",
		  stats: {sluice: ($f.apply_runs_ns // null | if . then map(. / 1e6) | stats
			  else null end)}},
		 {name: "the txn alone", unit: "ms", stats: {sluice: (.write_ms | stats)}},
		 {name: "agent CPU time", unit: "ms", stats: {sluice: (.agent_cpu_ms | stats),
		  floor: $fl}},
		 {name: "all removed (lease revoked)", unit: "ms", stats: {sluice: (.removed_ms | stats)}},
		 {name: "agent peak RSS (VmHWM)", unit: "KiB", stats: {sluice: (.agent_hwm_kib | one)}},
		 {name: "agent peak RSS before", unit: "KiB", stats: {sluice: (.agent_hwm_before_kib | one)}},
		 {name: "agent RSS: own (RssAnon)", unit: "KiB",
		  stats: {sluice: (.agent_rss_anon_kib | one)}},
		 {name: "agent RSS: files (RssFile)", unit: "KiB",
		  stats: {sluice: (.agent_rss_file_kib | one)}}]}
		| .measures |= map(.stats |= with_entries(select(.value != null)))
		| .measures |= map(select(.stats != {}))' \
		"$OV_DIR/raw.json" >"$OV_DIR/result.json"
}

# ov_hand NET: the two-node overlay of overlay-tcp built by hand, as flanneld programs it:
# on node N a VXLAN device (VNI 1, port 8472, no learning, MTU 1450, MAC 0e:5b:ff:00:00:0N,
# 10.10.N.0/32), a bridge 10.10.N.1/24 and a pod 10.10.N.2; per peer M the neighbour
# 10.10.M.0 -> its MAC, the FDB entry MAC -> 192.168.100.M, the route onlink
ov_hand() {
	local n m
	ov_underlay "$1"
	for n in 1 2; do
		ov_node "$1" "$n"
		ip -n "$1-$n" link add vx0 type vxlan id 1 dstport 8472 dev eth0 \
			local "192.168.100.$n" nolearning
		ip -n "$1-$n" link set vx0 address "0e:5b:ff:00:00:0$n" mtu 1450 up
		ip -n "$1-$n" addr add "10.10.$n.0/32" dev vx0
		ip -n "$1-$n" link add br0 type bridge
		ip -n "$1-$n" link set br0 mtu 1450 up
		ip -n "$1-$n" addr add "10.10.$n.1/24" dev br0
		ip netns add "$1-p$n"
		ip -n "$1-p$n" link set lo up
		ip -n "$1-$n" link add "veth$n" mtu 1450 type veth peer name eth0 mtu 1450 \
			netns "$1-p$n"
		ip -n "$1-$n" link set "veth$n" master br0 up
		ip -n "$1-p$n" addr add "10.10.$n.2/24" dev eth0
		ip -n "$1-p$n" link set eth0 up
		ip -n "$1-p$n" route add default via "10.10.$n.1"
	done
	for n in 1 2; do
		m=$((3 - n))
		ip -n "$1-$n" neigh add "10.10.$m.0" lladdr "0e:5b:ff:00:00:0$m" dev vx0 nud permanent
		bridge -n "$1-$n" fdb append "0e:5b:ff:00:00:0$m" dev vx0 dst "192.168.100.$m" \
			self permanent
		ip -n "$1-$n" route add "10.10.$m.0/24" via "10.10.$m.0" dev vx0 onlink
	done
}

# ov_hand_masq NET add|delete: flanneld's --ip-masq rules on both hand-built nodes, in a nat
# table like the overlay's. Any nat chain turns conntrack on in its netns, and then every
# packet, pod-to-pod too, takes a conntrack lookup: the by-hand pair with this table is the
# same data path as a node that masquerades (sluice's, or flanneld's with --ip-masq).
ov_hand_masq() {
	local n
	for n in 1 2; do
		if [ "$2" = add ]; then
			ip netns exec "$1-$n" nft -f - <<-EOF
				table inet hand_masq {
					chain postrouting {
						type nat hook postrouting priority srcnat;
						ip saddr 10.10.0.0/16 ip daddr 10.10.0.0/16 return
						ip saddr 10.10.0.0/16 ip daddr != 224.0.0.0/4 masquerade fully-random
					}
				}
			EOF
		else
			ip netns exec "$1-$n" nft delete table inet hand_masq
		fi
	done
}

# ov_pod NODE-NETNS POD-NETNS CONFLIST: a pod through the node's conflist (libcni's cnitool)
ov_pod() {
	ip netns add "$2"
	ip -n "$2" link set lo up
	ip netns exec "$1" "$BUILD/tests/cnitool" -cachedir "$OV_DIR/cache" -path "$BIN" add \
		"$3" "ctr-$2" "/run/netns/$2" eth0 >/dev/null
}

# ov_iperf SERVER-NETNS CLIENT-NETNS ADDRESS PORT: Mbit/s received
ov_iperf() {
	local pid r
	ip netns exec "$1" iperf3 -s -1 -p "$4" >/dev/null 2>&1 &
	pid=$!
	OV_PIDS+=("$pid")
	for _ in $(seq 100); do
		ip netns exec "$1" ss -Hltn "sport = :$4" | grep -q . && break
		sleep 0.1
	done
	r=$(ip netns exec "$2" iperf3 -J -t "${BENCH_TCP_SECS:-5}" -O 1 -c "$3" -p "$4" |
		jq '.end.sum_received.bits_per_second / 1e6 | round')
	kill "$pid" 2>/dev/null || true # -1: gone after the client, unless the client failed
	wait "$pid" 2>/dev/null || true
	printf '%s\n' "$r"
}

# overlay-tcp: sluice's two nodes (etcd, agents, pods through the rendered conflist) and the
# hand-built pair side by side, measured in turn
ov_tcp() {
	local rounds=${BENCH_TCP_ROUNDS:-3} i a b port=5301 s=() h=() hm=()
	ov_store_up || return 1
	for i in 1 2; do
		ov_node ov "$i"
		ov_agent ov "$i" "etcd://$OV_ETCD" "$OV_DIR"
	done
	for i in 1 2; do
		ov_wait_agent "$OV_DIR/node$i/subnet.agent.json" 1 || return 1
		ov_pod "ov-$i" "ov-p$i" "$OV_DIR/node$i/net.d/10-sluice.conflist" || return 1
	done
	ov_hand ovh
	a=$(ip -n ov-p2 -j addr show eth0 | jq -r '.[0].addr_info[] | select(.family == "inet") |
		.local')
	ip netns exec ov-p1 ping -c1 -W2 "$a" >/dev/null || {
		echo "bench: overlay-tcp: sluice's pods do not reach each other" >&2
		return 1
	}
	ip netns exec ovh-p1 ping -c1 -W2 10.10.2.2 >/dev/null || {
		echo "bench: overlay-tcp: the hand-built pods do not reach each other" >&2
		return 1
	}
	for i in $(seq "$rounds"); do
		b=$(ov_iperf ovh-p2 ovh-p1 10.10.2.2 "$port")
		h+=("$b")
		ov_hand_masq ovh add
		b=$(ov_iperf ovh-p2 ovh-p1 10.10.2.2 $((port + 2)))
		ov_hand_masq ovh delete
		hm+=("$b")
		b=$(ov_iperf ov-p2 ov-p1 "$a" $((port + 1)))
		s+=("$b")
		port=$((port + 3))
		[[ "${h[-1]}" =~ ^[0-9]+$ && "${hm[-1]}" =~ ^[0-9]+$ && "${s[-1]}" =~ ^[0-9]+$ ]] || {
			echo "bench: overlay-tcp: iperf3 failed (by hand: ${h[-1]}, with masquerade: ${hm[-1]}, sluice: ${s[-1]})" >&2
			return 1
		}
	done
	jq -n --arg r overlay-tcp --argjson s "[$(IFS=,; echo "${s[*]}")]" \
		--argjson h "[$(IFS=,; echo "${h[*]}")]" \
		--argjson hm "[$(IFS=,; echo "${hm[*]}")]" "$OV_JQ_STATS"'
		{row: $r, n: ($s | length), ok: true, measures: [
		 {name: "pod-to-pod TCP", unit: "Mbit/s",
		  stats: {sluice: ($s | stats), upstream: ($h | stats)}},
		 {name: "pod-to-pod TCP, by hand with a masquerade table", unit: "Mbit/s",
		  stats: {sluice: ($s | stats), upstream: ($hm | stats)}}]}' >"$OV_DIR/result.json" ||
		return 1
	ov_del ovh
}

# overlay_row NAME: one of the rows above
overlay_row() {
	local rc=0
	ov_begin "$1" || return 0
	printf '== %s ... ' "$1" >&2
	OV_START=$SECONDS
	case $1 in
	overlay-lease) ov_lease || rc=1 ;;
	overlay-1000) ov_many || rc=1 ;;
	overlay-tcp) ov_tcp || rc=1 ;;
	esac
	ov_end "$1" "$rc"
	return 0
}
