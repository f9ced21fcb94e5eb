# SPDX-License-Identifier: Apache-2.0
# The NetworkPolicy rows of `make bench` (sourced by tests/bench/rows.sh after overlay.sh,
# inside run.sh's own network and mount namespace; T, BIN, TOOLS, BUILD, N, W, nrow and
# FAILED are run.sh's, the simulated nodes and etcd overlay.sh's ov_* helpers):
#
#   policy-add     the ADD and DEL latency of sluice-bridge (+ sluice-host-local) ->
#                  sluice-nft-policy, BENCH_N pods, through cnibench like the plugin rows,
#                  three variants pod by pod in turn, each a host netns of its own: "full",
#                  the store holding BENCH_POLICY_PODS (1000) Pods with endpoint records on
#                  four other nodes and BENCH_POLICY_POLICIES (200) NetworkPolicies (and the
#                  row's own pods' Pod objects, so that policies select them), the table
#                  rendered by the first warm-up ADD (the slow path: no stamp in the kernel
#                  yet); "empty", the same chain over an empty store; "none", the chain
#                  without sluice-nft-policy. Goal: full within 1.2x of empty.
#   policy-change  a policy change -> in force on every node: three simulated nodes (netns)
#                  running sluiced on one etcd, each with two pods through the conflist
#                  sluiced rendered, the same background cluster in etcd; BENCH_POLICY_CHANGES
#                  (30) times `sluicectl apply` of a changed policy (its port) then `sluicectl
#                  wait`, while tests/tools/polbench polls the stamp of table inet
#                  sluice_policy in each node's kernel every millisecond (the stamp changes
#                  in the same atomic batch as the rest): apply start -> every node's kernel
#                  holds it, and -> `sluicectl wait` returned. Goal: p95 under 200 ms.
#   policy-tcp     iperf3 between two pods on one node with BENCH_POLICY_TCP_POLICIES (200)
#                  policies selecting both pods and allowing the traffic, against the same
#                  node with no policy (sluice-nft-policy in the chain, its table empty) and
#                  without sluice-nft-policy, three nodes side by side, BENCH_TCP_ROUNDS (3)
#                  runs of BENCH_TCP_SECS (5) s each, alternated. Goal: >= 95% of no policy.
#   policy-render  the whole ruleset of tests/tools/polrender's synthetic cluster (5,000
#                  dual-stack pods, all on the node, 1,000 policies of four shapes):
#                  pol_render + pnft_replace committed in a netns of its own,
#                  BENCH_RENDER_ROUNDS (5) times (tests/tools/polbench render, the model fed
#                  the cluster's store keys as the agent's is); one pod's incremental change:
#                  its fragment rendered and pnft_frag_add committed, 20 pods. Goals: < 1 s,
#                  < 5 ms.
#   policy-render-named  the same on polcluster.jq's 5,000 pods and 1,000 policies, half of
#                  which name a port every pod has in an egress rule
# shellcheck shell=bash

POL_PODS=${BENCH_POLICY_PODS:-1000}
POL_POLICIES=${BENCH_POLICY_POLICIES:-200}

# pol_cluster FILE PODS POLICIES NODES NNODES BENCH: the synthetic cluster as store keys
# (tests/bench/polcluster.jq)
pol_cluster() {
	jq -n -r -f tests/bench/polcluster.jq --argjson pods "$2" --argjson policies "$3" \
		--arg nodes "$4" --argjson nnodes "$5" --argjson bench "$6" >"$1"
}

# pol_begin NAME TOOLS...: the row's directory into POL_DIR; false when BENCH_ONLY leaves it
# out or something it needs is missing
pol_begin() {
	local name=$1 t
	shift
	if [ -n "${BENCH_ONLY:-}" ] && [[ "$name" != *"$BENCH_ONLY"* ]]; then
		return 1
	fi
	for t in "$BIN/sluice-nft-policy" "$TOOLS/polbench" "$@"; do
		if [ ! -x "$t" ]; then
			echo "== $name: skipped, no $t" >&2
			return 1
		fi
	done
	nrow=$((nrow + 1))
	POL_DIR=$T/rows/$(printf %02d "$nrow")
	mkdir -p "$POL_DIR"
	POL_START=$SECONDS
	printf '== %s ... ' "$name" >&2
}

# pol_end NAME RC: reports, stops and removes what the row made
pol_end() {
	if [ "$2" = 0 ]; then
		echo "$((SECONDS - POL_START)) s" >&2
	else
		echo FAILED >&2
		FAILED+=("$1")
		tail -n 20 "$POL_DIR"/log "$POL_DIR"/*/agent.log 2>/dev/null | head -c 4000 >&2
		jq -n --arg r "$1" '{row: $r, ok: false}' >"$POL_DIR/result.json"
	fi
	! declare -F ov_stop >/dev/null || ov_stop
	ov_del pol
	return 0
}

# --- policy-add ---------------------------------------------------------------------------

# pol_conf VARIANT: the row's conflist for VARIANT (full, empty: with sluice-nft-policy on
# its own store; none: without)
pol_conf() {
	jq -n --arg d "$POL_DIR" --arg v "$1" '{cniVersion: "1.0.0", name: "bench-pol", plugins: ([
		{type: "sluice-bridge", bridge: "bench0", isGateway: true, ipMasq: false,
		 ipam: {type: "sluice-host-local", ranges: [[{subnet: "10.88.0.0/16"}]],
			dataDir: "\($d)/data/\($v)"}}] +
		if $v == "none" then [] else [{type: "sluice-nft-policy",
			store: "dir://\($d)/store-\($v)", node: "bench", runDir: "\($d)/run-\($v)"}]
		end)}'
}

pol_add() {
	local d=$POL_DIR v args=()
	pol_cluster "$d/cluster.tsv" "$POL_PODS" "$POL_POLICIES" other 4 $((W + N)) || return 1
	"$TOOLS/polbench" fill -s "dir://$d/store-full" "$d/cluster.tsv" >/dev/null 2>>"$d/log" ||
		return 1
	for v in full empty none; do
		mkdir -p "$d/data/$v" "$d/run-$v" "$d/store-$v"
		pol_conf "$v" >"$d/$v.json"
		args+=(-V "$v" -c "$d/$v.json" -x "$BIN:${UPSTREAM:-/usr/lib/cni}")
		# BENCH_POLICY_AGENT=1 (default): sluiced runs beside full and empty, in their
		# host netns, and serves the plugin (policy.sock); 0: the plugin alone
		[ "$v" = none ] || [ "${BENCH_POLICY_AGENT:-1}" = 0 ] ||
			args+=(-H "$PWD/tests/bench/polagent.sh")
	done
	local rc=0
	POL_AGENT_DIR=$d POL_AGENT_BIN=$BIN timeout -k 10 "${BENCH_ROW_TIMEOUT:-3600}" \
		"$TOOLS/cnibench" -t policy-add -d "$T/ns" -o "$d/raw.json" -n "$N" -w "$W" -A \
		"${args[@]}" 2>>"$d/log" || rc=1
	for v in full empty; do
		[ -s "$d/agent-$v.pid" ] || continue
		# its status file counts the requests it served (the per-request line is debug)
		echo "bench: policy-add: the $v agent served $(jq -r '.PolicyServed // "?"' \
			"$d/run-$v/subnet.agent.json" 2>/dev/null) ADDs and DELs" >&2
		kill -TERM "$(cat "$d/agent-$v.pid")" 2>/dev/null
	done
	[ "$rc" = 0 ] || return 1
	# what the DELs left: this node's endpoint records, dispatch elements (other nodes'
	# peers stay in the peer sets: they are the store's)
	local left
	left=$(find "$d/store-full" "$d/store-empty" -path '*endpoints/bench*' -type f | wc -l)
	[ "$left" = 0 ] || echo "bench: policy-add: $left endpoint records of the row's pods left" >&2
	jq --arg r policy-add --argjson pods "$POL_PODS" --argjson pol "$POL_POLICIES" '
		def m($n): [.measures[] | select(.name == $n)][0].stats // {};
		"\($pods)x\($pol)" as $s |
		{row: $r, n: .n, ok: .ok, measures: [
		 {name: "ADD, \($s) vs empty store", unit: "ms",
		  stats: {sluice: m("ADD").full, floor: m("ADD").empty}},
		 {name: "ADD, empty store vs no nft-policy", unit: "ms",
		  stats: {sluice: m("ADD").empty, floor: m("ADD").none}},
		 {name: "ADD nft-policy, \($s) vs empty", unit: "ms",
		  stats: {sluice: m("ADD nft-policy").full, floor: m("ADD nft-policy").empty}},
		 {name: "DEL, \($s) vs empty store", unit: "ms",
		  stats: {sluice: m("DEL").full, floor: m("DEL").empty}},
		 {name: "DEL, empty store vs no nft-policy", unit: "ms",
		  stats: {sluice: m("DEL").empty, floor: m("DEL").none}},
		 {name: "DEL nft-policy, \($s) vs empty", unit: "ms",
		  stats: {sluice: m("DEL nft-policy").full, floor: m("DEL nft-policy").empty}},
		 {name: "peak RSS nft-policy, \($s) vs empty", unit: "KiB",
		  stats: {sluice: m("peak RSS nft-policy").full, floor: m("peak RSS nft-policy").empty}}
		] | map(.stats |= with_entries(select(.value != null)))}' \
		"$d/raw.json" >"$d/result.json"
}

# --- policy-change ------------------------------------------------------------------------

# pol_agent N: sluiced on node N (netns pol-N) on etcd, its local store and files in
# POL_DIR/nodeN; PID in OV_PIDS
pol_agent() {
	local d=$POL_DIR/node$1
	mkdir -p "$d/net.d"
	ip netns exec "pol-$1" "$BIN/sluiced" --store "etcd://$OV_ETCD" \
		--local-store "dir://$d/local" --iface eth0 --subnet-file "$d/subnet.env" \
		--cni-conf-dir "$d/net.d" --node-name "node$1" --log-level warn 2>>"$d/agent.log" &
	OV_PIDS+=($!)
}

# pol_pod NODE NAME: pod bench/NAME (netns pol-NAME) on node NODE through the conflist its
# agent rendered (IPAM data moved into the node's directory), by libcni's cnitool
pol_pod() {
	local d=$POL_DIR/node$1
	[ -f "$d/pods.conflist" ] || jq --arg i "$d/ipam" \
		'.plugins |= map(if .ipam then .ipam.dataDir = $i else . end)' \
		"$d/net.d/10-sluice.conflist" >"$d/pods.conflist" || return 1
	ip netns add "pol-$2"
	ip -n "pol-$2" link set lo up
	ip netns exec "pol-$1" "$BUILD/tests/cnitool" -cachedir "$d/cache" -path "$BIN" \
		-args "IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME=$2" add \
		"$d/pods.conflist" "ctr-$2" "/run/netns/pol-$2" eth0 >/dev/null 2>>"$POL_DIR/log"
}

# pol_ctl ARGS...: sluicectl on the row's etcd, from the underlay
pol_ctl() {
	ip netns exec pol-u "$BIN/sluicectl" --store "etcd://$OV_ETCD" "$@"
}

# pol_change_policy I: the policy change I, a changed port (JSON)
pol_change_policy() {
	jq -n --argjson i "$1" '{apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy",
		metadata: {namespace: "bench", name: "change"},
		spec: {podSelector: {matchLabels: {app: "web"}},
		       ingress: [{from: [{podSelector: {}}], ports: [{protocol: "TCP", port: (1000 + $i)}]}]}}'
}

# pol_cpu_ns PID...: the CPU time of every thread of the PIDs, in ns (schedstat)
pol_cpu_ns() {
	local p
	for p; do cat /proc/"$p"/task/*/schedstat; done | awk '{s += $1} END {printf "%.0f", s}'
}

pol_change() {
	local d=$POL_DIR n i k rounds=${BENCH_POLICY_CHANGES:-30} ns=() cpu0 cpu1
	ov_underlay pol && ov_etcd pol "$d" || return 1
	printf '%s\n' "$OV_NETCONF" >"$d/net.json"
	pol_ctl config set -f "$d/net.json" >/dev/null || return 1
	# the background: the same cluster as policy-add's, in etcd before the agents start
	pol_cluster "$d/cluster.tsv" "$POL_PODS" "$POL_POLICIES" other 4 0 || return 1
	ip netns exec pol-u "$TOOLS/polbench" fill -s "etcd://$OV_ETCD" "$d/cluster.tsv" \
		>/dev/null 2>>"$d/log" || return 1
	for n in 1 2 3; do
		ov_node pol "$n"
		pol_agent "$n"
	done
	for n in 1 2 3; do
		ov_wait_agent "$d/node$n/subnet.agent.json" 2 || return 1
		for k in 1 2; do
			jq -n --arg p "web-$n-$k" '{apiVersion: "v1", kind: "Pod",
				metadata: {namespace: "bench", name: $p, labels: {app: "web"}},
				spec: {containers: [{name: "c", image: "bench"}]}}' >"$d/pod.json"
			pol_ctl apply -f "$d/pod.json" >/dev/null || return 1
			pol_pod "$n" "web-$n-$k" || return 1
		done
		ns+=("/run/netns/pol-$n")
	done
	pol_change_policy 0 >"$d/change.json"
	pol_ctl apply -f "$d/change.json" >/dev/null || return 1
	pol_ctl wait --timeout 60 >/dev/null 2>>"$d/log" || return 1
	: >"$d/raw.jsonl"
	cpu0=$(pol_cpu_ns "${OV_PIDS[@]:1}")
	for i in $(seq 1 "$rounds"); do
		pol_change_policy "$i" >"$d/change.json"
		# apply, the time it returned (wall clock ns), wait, the time wait returned
		# shellcheck disable=SC2016 # sh -c's own arguments
		ip netns exec pol-u "$TOOLS/polbench" watch -t 10000 "${ns[@]}" -- sh -c '
			"$0" --store "$1" apply -f "$2" >/dev/null && date +%s%N &&
			"$0" --store "$1" wait --timeout 10 >/dev/null && date +%s%N' \
			"$BIN/sluicectl" "etcd://$OV_ETCD" "$d/change.json" \
			>>"$d/raw.jsonl" 2>>"$d/log" || return 1
	done
	cpu1=$(pol_cpu_ns "${OV_PIDS[@]:1}")
	jq -s --arg r policy-change --argjson cpu "$(((cpu1 - cpu0) / 3 / rounds))" "$OV_JQ_STATS"'
		map(. + {applied: (.out | split("\n") | map(select(. != "") | tonumber))}) |
		map(. + {apply_ms: ((.applied[0] - .start_ns) / 1e6),
			 wait_ms: ((.applied[1] - .start_ns) / 1e6)}) |
		{row: $r, n: length, ok: true,
		 changes: map({nodes_ms: (.nodes_ms | map(. * 100 | round / 100)),
			       apply_ms: (.apply_ms * 100 | round / 100),
			       wait_ms: (.wait_ms * 100 | round / 100)}),
		 wait_before_kernel: (map(select(.wait_ms + 2 < .all_ms)) | length),
		 measures: [
		 {name: "apply -> in force on all 3 nodes", unit: "ms",
		  stats: {sluice: (map(.all_ms) | stats)}},
		 {name: "apply -> on the first node", unit: "ms",
		  stats: {sluice: (map(.nodes_ms | min) | stats)}},
		 {name: "apply returned -> on all 3 nodes", unit: "ms",
		  stats: {sluice: (map(.all_ms - .apply_ms) | stats)}},
		 {name: "apply -> sluicectl wait returned", unit: "ms",
		  stats: {sluice: (map(.wait_ms) | stats)}},
		 {name: "the apply alone (sluicectl exec)", unit: "ms",
		  stats: {sluice: (map(.apply_ms) | stats)}},
		 {name: "an agent'"'"'s CPU time a change (mean)", unit: "ms",
		  stats: {sluice: ($cpu / 1e6 | one)}}]}' \
		"$d/raw.jsonl" >"$d/result.json" || return 1
	jq -e '.wait_before_kernel == 0' "$d/result.json" >/dev/null ||
		echo "bench: policy-change: sluicectl wait returned before a node's kernel held the change $(jq .wait_before_kernel "$d/result.json") times" >&2
}

# --- policy-tcp ---------------------------------------------------------------------------

# pol_tcp_policies K: K policies selecting the pods app=iperf, each allowing TCP 5000+k..6000
# in and out between them (JSON list)
pol_tcp_policies() {
	jq -n --argjson k "$1" '{apiVersion: "v1", kind: "List", items: ([range($k)] | map(
		{apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy",
		 metadata: {namespace: "bench", name: "allow-\(.)"},
		 spec: {podSelector: {matchLabels: {app: "iperf"}}, policyTypes: ["Ingress", "Egress"],
			ingress: [{from: [{podSelector: {matchLabels: {app: "iperf"}}}],
				   ports: [{protocol: "TCP", port: (5000 + .), endPort: 6000}]}],
			egress: [{to: [{podSelector: {matchLabels: {app: "iperf"}}}],
				  ports: [{protocol: "TCP", port: (5000 + .), endPort: 6000}]}]}}) +
		[{apiVersion: "v1", kind: "Pod", metadata: {namespace: "bench", name: "srv",
		   labels: {app: "iperf"}}, spec: {containers: [{name: "c", image: "bench"}]}},
		 {apiVersion: "v1", kind: "Pod", metadata: {namespace: "bench", name: "cli",
		   labels: {app: "iperf"}}, spec: {containers: [{name: "c", image: "bench"}]}}])}'
}

# pol_tcp_node V POLICIES: node pol-V (a netns of its own, no overlay) whose pods pol-V-srv
# and pol-V-cli come from sluice-bridge -> sluice-nft-policy over a store holding POLICIES
# policies (none: the chain without sluice-nft-policy)
pol_tcp_node() {
	local v=$1 d=$POL_DIR/$1 p
	mkdir -p "$d"
	ip netns add "pol-$v"
	ip -n "pol-$v" link set lo up
	if [ "$2" != none ]; then
		pol_tcp_policies "$2" >"$d/objects.json"
		"$BIN/sluicectl" --store "dir://$d/store" apply -f "$d/objects.json" >/dev/null ||
			return 1
	fi
	jq -n --arg d "$d" --arg p "$2" '{cniVersion: "1.0.0", name: "bench-tcp", plugins: ([
		{type: "sluice-bridge", bridge: "bench0", isGateway: true, ipMasq: false,
		 ipam: {type: "sluice-host-local", ranges: [[{subnet: "10.88.0.0/24"}]],
			dataDir: "\($d)/ipam"}}] +
		if $p == "none" then [] else [{type: "sluice-nft-policy", store: "dir://\($d)/store",
			node: "tcp", runDir: $d}] end)}' >"$d/conf.json"
	for p in srv cli; do
		ip netns add "pol-$v-$p"
		ip -n "pol-$v-$p" link set lo up
		ip netns exec "pol-$v" "$BUILD/tests/cnitool" -cachedir "$d/cache" -path "$BIN" \
			-args "IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME=$p" add \
			"$d/conf.json" "ctr-$p" "/run/netns/pol-$v-$p" eth0 >/dev/null \
			2>>"$POL_DIR/log" || return 1
	done
}

pol_tcp() {
	local rounds=${BENCH_TCP_ROUNDS:-3} k=${BENCH_POLICY_TCP_POLICIES:-200} i v a port=5301
	local p200=() p0=() pn=()
	local -A addr=()
	pol_tcp_node p "$k" && pol_tcp_node z 0 && pol_tcp_node n none || return 1
	for v in p z n; do
		a=$(ip -n "pol-$v-srv" -j addr show eth0 | jq -r '.[0].addr_info[] |
			select(.family == "inet") | .local')
		addr[$v]=$a
		# (node p's policies allow TCP alone: its iperf3 is its check)
		[ "$v" = p ] || ip netns exec "pol-$v-cli" ping -c1 -W2 "$a" >/dev/null || {
			echo "bench: policy-tcp: node $v's pods do not reach each other" >&2
			return 1
		}
	done
	# the policies are in force: a port none of them allows is dropped
	# (the server stopped and reaped at once: a PID left in OV_PIDS after its process ended
	# could be another process's by the end of the row)
	local srv reached=0
	ip netns exec pol-p-srv socat TCP-LISTEN:7000,reuseaddr - </dev/null >/dev/null 2>&1 &
	srv=$!
	OV_PIDS+=("$srv")
	for _ in $(seq 100); do
		ip netns exec pol-p-srv ss -Hltn "sport = :7000" | grep -q . && break
		sleep 0.1
	done
	ip netns exec pol-p-cli socat -T1 - "TCP:${addr[p]}:7000,connect-timeout=1" \
		</dev/null >/dev/null 2>&1 && reached=1
	kill "$srv" 2>/dev/null
	wait "$srv" 2>/dev/null || true
	unset 'OV_PIDS[-1]'
	if [ "$reached" = 1 ]; then
		echo "bench: policy-tcp: port 7000 is reached although no policy allows it" >&2
		return 1
	fi
	local -A got=()
	for i in $(seq "$rounds"); do
		# the three in turn, starting one further each round (no node always goes first)
		for v in $(printf '%s\n' p z n p z | tail -n +$((1 + (i - 1) % 3)) | head -3); do
			got[$v]=$(ov_iperf "pol-$v-srv" "pol-$v-cli" "${addr[$v]}" "$port")
			port=$((port + 1))
		done
		p200+=("${got[p]}")
		p0+=("${got[z]}")
		pn+=("${got[n]}")
		[[ "${p200[-1]}" =~ ^[0-9]+$ && "${p0[-1]}" =~ ^[0-9]+$ && "${pn[-1]}" =~ ^[0-9]+$ ]] || {
			echo "bench: policy-tcp: iperf3 failed ($k policies: ${p200[-1]}, none: ${p0[-1]}, without the plugin: ${pn[-1]})" >&2
			return 1
		}
	done
	jq -n --arg r policy-tcp --argjson k "$k" --argjson p "[$(IFS=,; echo "${p200[*]}")]" \
		--argjson z "[$(IFS=,; echo "${p0[*]}")]" --argjson n "[$(IFS=,; echo "${pn[*]}")]" \
		"$OV_JQ_STATS"'
		{row: $r, n: ($p | length), ok: true, measures: [
		 {name: "TCP, \($k) policies vs none", unit: "Mbit/s",
		  stats: {sluice: ($p | stats), floor: ($z | stats)}},
		 {name: "TCP, no policy vs no nft-policy", unit: "Mbit/s",
		  stats: {sluice: ($z | stats), floor: ($n | stats)}},
		 {name: "TCP, \($k) policies / none, round by round", unit: "%",
		  stats: {sluice: ([$p, $z] | transpose | map(.[0] / .[1] * 100) | stats)}}]}' \
		>"$POL_DIR/result.json"
}

# --- policy-render ------------------------------------------------------------------------

# pol_render NAME: policy-render, on tests/tools/polrender's synthetic cluster (-d: its keys):
# 50 namespaces of 100 pods (dual-stack, all on the node), 20 policies each; or
# policy-render-named, on polcluster.jq's 5,000 pods and 1,000 policies, where half the
# policies have an egress rule naming a port every pod has (such a rule's named-port set
# holds every pod of the cluster)
pol_render() {
	local d=$POL_DIR node
	if [ "$1" = policy-render ]; then
		"$TOOLS/polrender" -n 50 -p 100 -k 20 -r 1 -f 1 -d "$d/cluster.tsv" \
			>"$d/polrender.json" 2>>"$d/log" || return 1
		node=node0
	else
		pol_cluster "$d/cluster.tsv" 5000 1000 render 0 0 || return 1
		echo '{}' >"$d/polrender.json"
		node=render
	fi
	ip netns add pol-r
	ip netns exec pol-r "$TOOLS/polbench" render -f "$d/cluster.tsv" -N "$node" \
		-r "${BENCH_RENDER_ROUNDS:-5}" -k 20 -o "$d/raw.json" 2>>"$d/log" || return 1
	ip netns del pol-r
	jq --arg r "$1" --slurpfile pr "$d/polrender.json" "$OV_JQ_STATS"'
		{row: $r, n: (.total_ms | length), ok: true, polrender: $pr[0],
		 size: {node_endpoints, sets, elements, elements_by_kind, pchains, cchains, rules,
			batch_bytes},
		 measures: [
		 {name: "5000 pods x 1000 policies: render+commit", unit: "ms",
		  stats: {sluice: (.total_ms | stats)}},
		 {name: "  pol_render", unit: "ms", stats: {sluice: (.render_ms | stats)}},
		 {name: "  pnft_replace committed", unit: "ms", stats: {sluice: (.commit_ms | stats)}},
		 {name: "one pod: fragment render+commit", unit: "ms",
		  stats: {sluice: (.frag_total_ms | stats)}},
		 {name: "  pol_render_endpoint", unit: "ms", stats: {sluice: (.frag_render_ms | stats)}},
		 {name: "  pnft_frag_add committed", unit: "ms", stats: {sluice: (.frag_commit_ms | stats)}},
		 {name: "one pod gone: pnft_frag_del committed", unit: "ms",
		  stats: {sluice: (.frag_del_ms | stats)}},
		 {name: "elements in the table", unit: "", stats: {sluice: (.elements | one)}},
		 {name: "sets in the table", unit: "", stats: {sluice: (.sets | one)}}]}' \
		"$d/raw.json" >"$d/result.json"
}

# policy_row NAME: one of the rows above
policy_row() {
	local rc=0
	case $1 in
	policy-add) pol_begin "$1" "$TOOLS/cnibench" || return 0 ;;
	policy-change)
		pol_begin "$1" "$BIN/sluiced" "$BIN/sluicectl" "$BUILD/tests/cnitool" || return 0
		if ! command -v etcd >/dev/null; then
			echo "skipped, no etcd (etcd-server, etcd-client)" >&2
			return 0
		fi
		ov_netns_dir || rc=1
		;;
	policy-tcp)
		pol_begin "$1" "$BIN/sluicectl" "$BUILD/tests/cnitool" || return 0
		ov_netns_dir || rc=1
		;;
	policy-render*)
		pol_begin "$1" || return 0
		ov_netns_dir || rc=1
		;;
	esac
	if [ "$rc" = 0 ]; then
		case $1 in
		policy-add) pol_add || rc=1 ;;
		policy-change) pol_change || rc=1 ;;
		policy-tcp) pol_tcp || rc=1 ;;
		policy-render*) pol_render "$1" || rc=1 ;;
		esac
	fi
	pol_end "$1" "$rc"
}
