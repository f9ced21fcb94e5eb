# SPDX-License-Identifier: Apache-2.0
# The Kubernetes e2e NetworkPolicy layout on simulated nodes (tests/netns/netpol-1node.sh,
# netpol-2node.sh): namespaces x, y, z (Namespace objects labelled ns=<name> and
# kubernetes.io/metadata.name=<name>), pods a, b, c in each (Pod objects labelled
# pod=<name>, containers cont-<port>-<proto> with named ports serve-80-tcp, serve-80-udp,
# serve-81-tcp, serve-81-udp), each pod a network namespace "<ns>-<pod>" added through the
# real chain with K8S_POD_NAMESPACE/K8S_POD_NAME and running polserve on 80 and 81 (TCP and
# UDP). Source it after tests/lib.sh and tests/overlay-lib.sh; BIN and TOOLS set (as
# tests/run.sh exports them).
#   one node:  node1's own conflist sluice-bridge + sluice-host-local -> sluice-nft-policy,
#              sluiced running on the same dir:// store for live updates
#   two nodes: sluiced's rendered conflist (bridge -> vxlan-overlay -> nft-policy -> portmap
#              -> bandwidth) on node1 and node2, the pods spread over both
# Policies are applied and deleted with sluicectl, then `sluicectl wait --revision N` before
# probing (no sleeps). The connectivity matrix is probed by polprobe (every probe at once)
# and compared with a truth table written per case (exp_* below), both printed on mismatch.
# shellcheck shell=bash disable=SC2034

TOOLS=${TOOLS:-${BUILD_DIR:-$BIN/..}/tests/tools}
POL_NAMESPACES=(x y z)
POL_PODS=()
for _n in x y z; do for _p in a b c; do POL_PODS+=("$_n/$_p"); done; done
POL_PPS=(80/tcp 81/tcp 80/udp 81/udp) # the matrix's ports and protocols
declare -A POL_IP=() # "x/a" -> IPv4 address
declare -A POL_IP6=() # "x/a" -> IPv6 address (every matrix probes both families)
declare -A POL_NODE=() # "x/a" -> node number
declare -A POL_CONF=() # "x/a" -> the conflist its ADD ran
declare -A POL_SERVER=() # "x/a" -> polserve's PID
declare -A POL_AGENT_FLAGS=() # node number -> its sluiced's flags
declare -A EXP=() # "x/a y/b 80/tcp" -> . or X
POL_APPLIED=() # files applied by the current case, deleted by pol_clear
POL_SPORT=20000 # polprobe's next source port (see polprobe -s)
POL_REV=0 # the revision the last pol_apply/pol_delete waited for
POL_GEN=0
POL_ONE_CONF="" # one node: its conflist (two nodes: each node's rendered one)

# netns name of pod "x/a"
pod_netns() { echo "${1%/*}-${1#*/}"; }

# pctl ARGS...: sluicectl on the suite's store (overlay-lib's ovctl)
pctl() { ovctl "$@"; }

# --- objects -----------------------------------------------------------------------------

# ns_yaml NS [LABEL=VALUE]: a Namespace object (ns label defaults to NS)
ns_yaml() {
	cat <<-EOF
		apiVersion: v1
		kind: Namespace
		metadata:
		  name: "$1"
		  labels: {ns: "${2:-$1}", kubernetes.io/metadata.name: "$1"}
	EOF
}

# pod_yaml NS POD [POD_LABEL [swap]]: a Pod object, labelled pod=POD_LABEL (default POD),
# with the e2e suite's containers and named ports; swap: the TCP names on the other port
# (serve-80-tcp is 81, serve-81-tcp is 80)
pod_yaml() {
	local c n
	cat <<-EOF
		apiVersion: v1
		kind: Pod
		metadata:
		  name: "$2"
		  namespace: "$1"
		  labels: {pod: "${3:-$2}"}
		spec:
		  containers:
	EOF
	for c in 80/TCP 80/UDP 81/TCP 81/UDP; do
		local p=${c%/*} proto=${c#*/}
		n=$p
		[ "${4:-}" != swap ] || [ "$proto" != TCP ] || n=$((161 - p))
		cat <<-EOF
			  - name: cont-$p-${proto,,}
			    image: agnhost
			    ports:
			    - {containerPort: $n, name: serve-$p-${proto,,}, protocol: $proto}
		EOF
	done
}

# revision_of OUTPUT: the store revision that sluicectl apply/delete printed, if it did
revision_of() { grep -oiE 'revision[ :=]*[0-9]+' <<<"$1" | grep -oE '[0-9]+' | sort -n | tail -1; }

# pol_barrier: POL_REV becomes the revision of a write after every earlier one, for when
# apply/delete prints none: the Namespace e2e-sync (no pod, no policy refers to it) gets a
# new label
pol_barrier() {
	POL_GEN=$((POL_GEN + 1))
	printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: e2e-sync, labels: {gen: "%s"}}\n' \
		"$POL_GEN" | pctl apply -f - >/dev/null || return 1
	POL_REV=$(pctl -o json store get "$OV_PREFIX/namespaces/e2e-sync" | jq -er .mod_revision)
}

# pol_wait OUTPUT: waits until every node has the revision OUTPUT (apply/delete's) printed,
# or, when it printed none, that of a barrier. Status 0 when in force within 20 s.
pol_wait() {
	POL_REV=$(revision_of "$1")
	[ -n "$POL_REV" ] || pol_barrier || return 1
	pctl wait --revision "$POL_REV" --timeout 20 >"$T_TMP/wait.out" 2>&1
}

# (the last command of a pipeline runs in this shell: `np ... | pol_apply NAME` records what
# it applied)
shopt -s lastpipe

# pol_apply NAME: applies YAML from stdin (kept as $T_TMP/NAME.yaml, deleted by pol_clear)
# and waits until it is in force everywhere; one check NAME-applied
pol_apply() {
	local f=$T_TMP/$1.yaml out
	cat >"$f"
	POL_APPLIED+=("$f")
	if ! out=$(pctl apply -f "$f" 2>&1); then
		fail "$1-applied" "sluicectl apply: $out"
		return 1
	fi
	if pol_wait "$out"; then pass "$1-applied"; else
		fail "$1-applied" "sluicectl wait --revision $POL_REV: $(cat "$T_TMP/wait.out")" "$(pol_diag)"
		return 1
	fi
}

# pol_object NAME: applies YAML from stdin that stays (pods, namespaces relabelled) and waits
pol_object() {
	local out
	if ! out=$(pctl apply -f - 2>&1); then
		fail "$1-applied" "sluicectl apply: $out"
		return 1
	fi
	if pol_wait "$out"; then pass "$1-applied"; else
		fail "$1-applied" "sluicectl wait --revision $POL_REV: $(cat "$T_TMP/wait.out")"
		return 1
	fi
}

# pol_clear: deletes every policy the current case applied and waits (the next case starts
# from no policy at all)
pol_clear() {
	local f out all=""
	for f in "${POL_APPLIED[@]}"; do
		out=$(pctl delete --ignore-not-found -f "$f" 2>&1) || fail "clear-$(basename "$f" .yaml)" "$out"
		all+="$out"$'\n'
	done
	POL_APPLIED=()
	pol_wait "$all" || fail "clear-wait" "$(cat "$T_TMP/wait.out")"
}

# pol_diag: what a failure report shows of the nodes' state
pol_diag() {
	local n
	for n in $POL_NODES; do
		echo "node$n: $(jq -c '{PolicyRevision, StoreUp}' "$OV_DIR/node$n/subnet.agent.json" 2>&1)"
		tail -3 "$OV_DIR/node$n/agent.log" 2>/dev/null
	done
	pctl -o json store list "$OV_PREFIX/agents/" 2>/dev/null | jq -c '[.kvs[]?.value]' 2>/dev/null
}

# --- topology ----------------------------------------------------------------------------

# pod_cni N VERB POD: the chain's VERB for pod "x/a" on node N, as a kubelet would call it
pod_cni() {
	local n=$1 pod=$3 ns
	ns=$(pod_netns "$pod")
	timeout 60 ip netns exec "node$n" "$CNITOOL" -cachedir "$OV_DIR/node$n/cache" -path "$BIN" \
		-args "K8S_POD_NAMESPACE=${pod%/*};K8S_POD_NAME=${pod#*/}" \
		"$2" "${POL_CONF[$pod]}" "ctr-$ns" "/run/netns/$ns" eth0
}

# start_server POD: polserve in pod "x/a" on 80 and 81, ready when this returns (it says so
# through a FIFO); stopped at exit by PID
start_server() {
	local ns fifo=$T_TMP/ready line
	ns=$(pod_netns "$1")
	rm -f "$fifo"
	mkfifo "$fifo" || return 1
	ip netns exec "$ns" "$TOOLS/polserve" -r "$1" 80 81 >"$fifo" 2>>"$T_TMP/polserve.log" &
	POL_SERVER[$1]=$!
	defer "stop_pid ${POL_SERVER[$1]} TERM 20"
	read -r -t 10 line <"$fifo"
	rm -f "$fifo"
	[ "$line" = ready ]
}

# add_pol_pod N POD [CONFLIST]: pod "x/a" (its Pod object must be in the store first) on
# node N through CONFLIST (default: node N's rendered one), its server started. DEL at
# exit. Status 0 when both worked (the plugin's answer in $T_TMP/<ns>-<pod>.json).
add_pol_pod() {
	local n=$1 pod=$2 ns rc
	ns=$(pod_netns "$pod")
	mk_netns "$ns" || return 1
	POL_NODE[$pod]=$n
	if [ -n "${3:-}" ]; then
		POL_CONF[$pod]=$3
	else
		POL_CONF[$pod]=$OV_DIR/node$n/pod-$ns.conflist
		node_conflist "$n" >"${POL_CONF[$pod]}" || return 1
	fi
	defer "pod_cni $n del $pod"
	pod_cni "$n" add "$pod" >"$T_TMP/$ns.json" 2>&1
	rc=$?
	[ $rc -eq 0 ] || return $rc
	POL_IP[$pod]=$(pod_ip "$ns")
	POL_IP6[$pod]=$(pod_ip "$ns" 6)
	[ -n "${POL_IP[$pod]}" ] && [ -n "${POL_IP6[$pod]}" ] && start_server "$pod"
}

# add_pol_pods_parallel N POD...: the pods' ADDs on node N all at once (their Pod objects in
# the store first), then their servers; status 0 when every one worked
add_pol_pods_parallel() {
	local n=$1 pod ns rc=0 pids=()
	shift
	for pod in "$@"; do
		ns=$(pod_netns "$pod")
		mk_netns "$ns" || return 1
		POL_NODE[$pod]=$n
		if [ -n "$POL_ONE_CONF" ]; then
			POL_CONF[$pod]=$POL_ONE_CONF
		else
			POL_CONF[$pod]=$OV_DIR/node$n/pod-$ns.conflist
			node_conflist "$n" >"${POL_CONF[$pod]}" || return 1
		fi
		defer "pod_cni $n del $pod"
	done
	for pod in "$@"; do
		pod_cni "$n" add "$pod" >"$T_TMP/$(pod_netns "$pod").json" 2>&1 &
		pids+=($!)
	done
	for pod in "${pids[@]}"; do wait "$pod" || rc=1; done
	[ $rc -eq 0 ] || return 1
	for pod in "$@"; do
		ns=$(pod_netns "$pod")
		POL_IP[$pod]=$(pod_ip "$ns")
		POL_IP6[$pod]=$(pod_ip "$ns" 6)
		start_server "$pod" || return 1
	done
}

# del_pol_pod POD: the pod's server stopped, its DEL, its namespace removed (status of DEL)
del_pol_pod() {
	local rc
	stop_pid "${POL_SERVER[$1]}" TERM 20
	pod_cni "${POL_NODE[$1]}" del "$1"
	rc=$?
	ip netns del "$(pod_netns "$1")"
	unset "POL_IP[$1]" "POL_IP6[$1]"
	return $rc
}

# pol_objects: the Namespace and Pod objects of the layout, applied
pol_objects() {
	local n p
	{
		for n in "${POL_NAMESPACES[@]}"; do
			ns_yaml "$n"
			for p in a b c; do
				echo ---
				pod_yaml "$n" "$p"
			done
			[ "$n" = z ] || echo ---
		done
	} | pctl apply -f - >"$T_TMP/objects.out" 2>&1
}

# pol_bringup MODE: the nodes (MODE 1node or 2node), their agents, the objects, the nine
# pods and their servers, and every agent caught up; each step a check. Status 1 when the
# layout could not be made (the caller stops: nothing else could mean anything)
pol_bringup() {
	local n pod i=0 local_store=()
	make_underlay || return 1
	if [[ $OV_STORE == etcd://* ]]; then
		# etcd in the underlay; each node's agent mirrors it into a dir:// store of the
		# node's own, which its sluice-nft-policy reads
		if ! ETCD_NETNS=$OV_UNDERLAY etcd_up pol http://192.168.100.254:2379 \
			http://127.0.0.1:2380; then
			fail etcd-start "$(tail -5 "$T_TMP/etcd-pol.log")"
			return 1
		fi
	fi
	jq -n '{Network: "10.244.0.0/16", SubnetLen: 24, EnableIPv6: true,
		IPv6Network: "fd00:244::/56", IPv6SubnetLen: 64, Backend: {Type: "vxlan"}}' \
		>"$T_TMP/net.json"
	pctl config set -f "$T_TMP/net.json" >/dev/null || return 1
	if [ "$1" = 1node ]; then POL_NODES=1; else POL_NODES="1 2"; fi
	for n in $POL_NODES; do
		make_node "$n" dual || return 1
		[[ $OV_STORE != etcd://* ]] || local_store=(--local-store "dir://$OV_DIR/node$n/local")
		POL_AGENT_FLAGS[$n]="--no-ip-masq ${local_store[*]}"
		# shellcheck disable=SC2086 # (flags without spaces)
		start_agent "$n" ${POL_AGENT_FLAGS[$n]}
	done
	for n in $POL_NODES; do
		if ! wait_status "$n" '.Subnet != ""' 20; then
			fail "node$n-up" "$(tail -5 "$OV_DIR/node$n/agent.log")"
			return 1
		fi
	done
	for n in $POL_NODES; do
		[ "$1" = 2node ] || break
		# each node has the other as its one peer (both families)
		if ! wait_status "$n" '[.Peers[].Key] | unique | length == 1' 10; then
			fail "node$n-peer" "$(jq -c .Peers "$OV_DIR/node$n/subnet.agent.json")"
			return 1
		fi
	done
	if [ "$1" = 1node ]; then
		# node1's own chain: sluice-bridge + sluice-host-local -> sluice-nft-policy, on the
		# agent's store, node name and run directory (its policy lock)
		jq -n --arg st "$OV_STORE" --arg pre "$OV_PREFIX" --arg run "$OV_DIR/node1" \
			--arg d "$OV_DIR/node1/ipam" '{cniVersion: "1.0.0", name: "netpol", plugins: [
			{type: "sluice-bridge", bridge: "pol0", isGateway: true, isDefaultGateway: true,
			 ipam: {type: "sluice-host-local", dataDir: $d,
			        ranges: [[{subnet: "10.250.1.0/24"}], [{subnet: "fd00:250:1::/64"}]]}},
			{type: "sluice-nft-policy", store: $st, prefix: $pre, node: "node1", runDir: $run}]}' \
			>"$T_TMP/1node.conflist"
		POL_ONE_CONF=$T_TMP/1node.conflist
	fi
	if pol_objects; then pass objects-applied; else
		fail objects-applied "$(cat "$T_TMP/objects.out")"
		return 1
	fi
	for pod in "${POL_PODS[@]}"; do
		if [ "$1" = 1node ]; then
			n=1
			add_pol_pod 1 "$pod" "$POL_ONE_CONF"
		else
			n=$((i % 2 + 1))
			add_pol_pod "$n" "$pod"
		fi
		# shellcheck disable=SC2181
		if [ $? -ne 0 ]; then
			fail "add-$(pod_netns "$pod")" "$(cat "$T_TMP/$(pod_netns "$pod").json")"
			return 1
		fi
		i=$((i + 1))
	done
	pass pods-added
	if pol_wait ""; then pass agents-caught-up; else
		fail agents-caught-up "$(cat "$T_TMP/wait.out")" "$(pol_diag)"
		return 1
	fi
}

# --- expectations and probes -------------------------------------------------------------

# exp_reset: every pair of pods, port and protocol allowed ('.')
exp_reset() {
	local f t pp
	EXP=()
	for f in "${POL_PODS[@]}"; do
		for t in "${POL_PODS[@]}"; do
			[ "$f" = "$t" ] && continue
			for pp in "${POL_PPS[@]}"; do EXP["$f $t $pp"]=.; done
		done
	done
}

# exp FROM TO VALUE [PORT/PROTO...]: FROM and TO are patterns ("x/a", "x/*", "*/b", "*");
# the pairs they match get VALUE ('.' or 'X') for those ports and protocols (default all)
exp() {
	local from=$1 to=$2 v=$3 k f t pp
	shift 3
	local pps=("$@")
	[ ${#pps[@]} -gt 0 ] || pps=("${POL_PPS[@]}")
	for k in "${!EXP[@]}"; do
		read -r f t pp <<<"$k"
		# shellcheck disable=SC2053 # (patterns)
		[[ $f == $from && $t == $to ]] || continue
		for p in "${pps[@]}"; do
			[ "$pp" = "$p" ] && EXP[$k]=$v
		done
	done
}

# probe_lines [PODS...]: polprobe's input: every pair of the pods (default the nine), each
# port and protocol of the matrix, to the destination's IPv4 and IPv6 address, with the
# expectation (the same for both families)
probe_lines() {
	local pods=("$@") f t pp
	[ ${#pods[@]} -gt 0 ] || pods=("${POL_PODS[@]}")
	for f in "${pods[@]}"; do
		for t in "${pods[@]}"; do
			[ "$f" = "$t" ] && continue
			for pp in "${POL_PPS[@]}"; do
				# (pod_netns inlined: a subshell per line costs seconds per run)
				echo "$f /run/netns/${f/\//-} $t ${POL_IP[$t]} ${pp%/*} ${pp#*/} ${EXP["$f $t $pp"]:-.}"
				echo "$f /run/netns/${f/\//-} $t ${POL_IP6[$t]} ${pp%/*} ${pp#*/} ${EXP["$f $t $pp"]:-.}"
			done
		done
	done
}

# polprobe_run FILE JSON MS: polprobe on the probes of FILE, each with a timeout of MS,
# outcomes in JSON; its output in POL_OUT, its status returned. Source ports never used
# before in this test (polprobe -s).
polprobe_run() {
	local n rc
	n=$(wc -l <"$1")
	[ $((POL_SPORT + n)) -lt 60000 ] || POL_SPORT=20000
	POL_OUT=$("$TOOLS/polprobe" -q -t "$3" -s "$POL_SPORT" -j "$2" <"$1" 2>&1)
	rc=$?
	POL_SPORT=$((POL_SPORT + n))
	return $rc
}

# probe NAME [PODS...]: probes the matrix and checks it against EXP: check NAME. As the e2e
# suite does, probes found blocked where allowed was expected are tried again once (with 3 s
# each: a busy machine), and said so; a probe allowed where blocked was expected is never
# tried again (a policy not in force would pass on a second try).
probe() {
	local name=$1 rc lines first
	shift
	probe_lines "$@" >"$T_TMP/probes"
	polprobe_run "$T_TMP/probes" "$T_TMP/probe.json" "${POL_PROBE_MS:-700}"
	rc=$?
	echo "  $name: $(tail -1 <<<"$POL_OUT")"
	if [ $rc -eq 1 ] && jq -e '[.probes[] | select(.expected == false and .allowed)] |
		length == 0' "$T_TMP/probe.json" >/dev/null; then
		lines=$(jq -r '.probes | to_entries[] |
			select(.value.expected and (.value.allowed | not)) | "\(.key + 1)p"' \
			"$T_TMP/probe.json")
		sed -n "$lines" "$T_TMP/probes" >"$T_TMP/probes.again"
		first=$POL_OUT
		if polprobe_run "$T_TMP/probes.again" "$T_TMP/probe-again.json" 3000; then
			echo "  $name: $(wc -l <"$T_TMP/probes.again") probe(s) allowed only when tried again"
			rc=0
		else
			POL_OUT="$first"$'\n'"tried again (3 s):"$'\n'"$POL_OUT"
		fi
	fi
	if [ $rc -eq 0 ]; then pass "$name"; else
		fail "$name" "$POL_OUT" "$(pol_diag)"
		[ -z "${POL_KEEP:-}" ] || cp "$T_TMP/probe.json" "$POL_KEEP/$name.json"
	fi
}

# sctp_to FROM TO PORT [6]: "delivered" or "dropped" for a raw SCTP INIT from pod FROM to
# TO's IPv4 (or IPv6) address
sctp_to() {
	local ip=${POL_IP[$2]}
	[ "${4:-}" = 6 ] && ip=${POL_IP6[$2]}
	"$TOOLS/sctpinit" -t "${POL_PROBE_MS:-700}" "/run/netns/$(pod_netns "$1")" \
		"/run/netns/$(pod_netns "$2")" "$ip" "$3" 2>&1
}

# nft_sctp_ports N: how many port-set elements of node N's policy table name sctp
nft_sctp_ports() {
	ip netns exec "node$1" nft -j list table inet sluice_policy 2>/dev/null |
		jq '[.nftables[] | .set? // empty | select(.type | tostring | contains("inet_proto")) |
			.elem // [] | .. | strings | select(. == "sctp")] | length'
}

# --- the cases ---------------------------------------------------------------------------

# np NS NAME: a NetworkPolicy's head; its spec (indented two spaces) follows from stdin
np() {
	printf 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: %s, namespace: "%s"}\nspec:\n' \
		"$2" "$1"
	cat
}

# Each case_* function starts from no policy and leaves none. (Values such as "y" are
# quoted: YAML 1.1 reads a plain y as a boolean.)

# case_open: the layout as made: every pair connects
case_open() {
	exp_reset
	probe no-policy-all-open
}

# case_isolation: default deny ingress, egress, both
case_isolation() {
	np x deny-ingress <<-'EOF' | pol_apply default-deny-ingress
		  podSelector: {}
		  policyTypes: [Ingress]
	EOF
	exp_reset
	exp '*' 'x/*' X
	probe default-deny-ingress
	pol_clear

	np x deny-egress <<-'EOF' | pol_apply default-deny-egress
		  podSelector: {}
		  policyTypes: [Egress]
	EOF
	exp_reset
	exp 'x/*' '*' X
	probe default-deny-egress
	# the servers in x answered (TCP: polserve's reply read back; UDP: the answer) although
	# their own egress is denied: reply traffic of allowed connections passes
	check_eq reply-under-deny-egress-server-side 0 "$(jq '[.probes[] |
		select((.to | startswith("x/")) and (.from | startswith("x/") | not)) |
		select(.allowed != true or .result != "reply" or .reply != .to)] | length' \
		"$T_TMP/probe.json")"
	pol_clear

	np x deny-all <<-'EOF' | pol_apply default-deny-all
		  podSelector: {}
		  policyTypes: [Ingress, Egress]
	EOF
	exp_reset
	exp 'x/*' '*' X
	exp '*' 'x/*' X
	probe default-deny-all
	pol_clear
}

# case_peers: ingress peers by pod label, namespace label, both, either; matchExpressions
case_peers() {
	np x allow-from-b <<-'EOF' | pol_apply allow-by-pod-label
		  podSelector: {matchLabels: {pod: a}}
		  ingress:
		  - from:
		    - podSelector: {matchLabels: {pod: b}}
	EOF
	exp_reset
	exp '*' x/a X
	exp x/b x/a .
	probe allow-by-pod-label
	pol_clear

	np x allow-from-ns-y <<-'EOF' | pol_apply allow-by-namespace-label
		  podSelector: {matchLabels: {pod: a}}
		  ingress:
		  - from:
		    - namespaceSelector: {matchLabels: {ns: "y"}}
	EOF
	exp_reset
	exp '*' x/a X
	exp 'y/*' x/a .
	probe allow-by-namespace-label
	pol_clear

	np x allow-yb <<-'EOF' | pol_apply pod-and-namespace
		  podSelector: {matchLabels: {pod: a}}
		  ingress:
		  - from:
		    - namespaceSelector: {matchLabels: {ns: "y"}}
		      podSelector: {matchLabels: {pod: b}}
	EOF
	exp_reset
	exp '*' x/a X
	exp y/b x/a .
	probe pod-and-namespace-one-peer
	pol_clear

	np x allow-b-or-z <<-'EOF' | pol_apply pod-or-namespace
		  podSelector: {matchLabels: {pod: a}}
		  ingress:
		  - from:
		    - podSelector: {matchLabels: {pod: b}}
		    - namespaceSelector: {matchLabels: {ns: z}}
	EOF
	exp_reset
	exp '*' x/a X
	exp x/b x/a .
	exp 'z/*' x/a .
	probe pod-or-namespace-two-peers
	pol_clear

	np x expr-in-notin <<-'EOF' | pol_apply match-expressions-in-notin
		  podSelector:
		    matchExpressions: [{key: pod, operator: In, values: [a, b]}]
		  ingress:
		  - from:
		    - namespaceSelector:
		        matchExpressions: [{key: ns, operator: NotIn, values: ["y"]}]
	EOF
	exp_reset
	exp 'y/*' x/a X
	exp 'y/*' x/b X
	probe match-expressions-in-notin
	pol_clear

	np x expr-exists <<-'EOF' | pol_apply match-expressions-exists
		  podSelector:
		    matchExpressions: [{key: pod, operator: Exists}]
		  ingress:
		  - from:
		    - namespaceSelector:
		        matchExpressions: [{key: ns, operator: DoesNotExist}]
		    - podSelector:
		        matchExpressions: [{key: pod, operator: Exists}, {key: pod, operator: NotIn, values: [c]}]
	EOF
	exp_reset
	exp '*' 'x/*' X
	exp x/a 'x/*' .
	exp x/b 'x/*' .
	probe match-expressions-exists-doesnotexist
	pol_clear
}

# case_ipblock: egress to a CIDR with one pod excepted, then that pod allowed by another
# policy; ingress from a CIDR with one pod excepted
case_ipblock() {
	local ip_yb=${POL_IP[y/b]} ip6_yb=${POL_IP6[y/b]}
	np x egress-cidr <<-EOF | pol_apply ipblock-except
		  podSelector: {matchLabels: {pod: a}}
		  policyTypes: [Egress]
		  egress:
		  - to:
		    - ipBlock: {cidr: 10.0.0.0/8, except: ["$ip_yb/32"]}
		    - ipBlock: {cidr: "fd00::/8", except: ["$ip6_yb/128"]}
	EOF
	exp_reset
	exp x/a y/b X
	probe ipblock-egress-cidr-except
	np x egress-yb <<-EOF | pol_apply ipblock-other-policy
		  podSelector: {matchLabels: {pod: a}}
		  policyTypes: [Egress]
		  egress:
		  - to:
		    - ipBlock: {cidr: "$ip_yb/32"}
		    - ipBlock: {cidr: "$ip6_yb/128"}
	EOF
	exp_reset
	probe ipblock-in-cidr-and-except-allowed-by-another
	pol_clear
	np x ingress-cidr <<-EOF | pol_apply ipblock-ingress
		  podSelector: {matchLabels: {pod: a}}
		  ingress:
		  - from:
		    - ipBlock: {cidr: 10.0.0.0/8, except: ["$ip_yb/32"]}
		    - ipBlock: {cidr: "fd00::/8", except: ["$ip6_yb/128"]}
	EOF
	exp_reset
	exp y/b x/a X
	probe ipblock-ingress-cidr-except
	pol_clear
}

# case_ports: named ports (ingress, egress), endPort, one protocol, one port
case_ports() {
	np x named-80 <<-'EOF' | pol_apply named-port-ingress
		  podSelector: {}
		  ingress:
		  - ports: [{port: serve-80-tcp}]
	EOF
	exp_reset
	exp '*' 'x/*' X 81/tcp 80/udp 81/udp
	probe named-port-ingress
	pol_clear

	np x named-81-udp <<-'EOF' | pol_apply named-port-egress
		  podSelector: {}
		  policyTypes: [Egress]
		  egress:
		  - ports: [{port: serve-81-udp, protocol: UDP}]
	EOF
	exp_reset
	exp 'x/*' '*' X 80/tcp 81/tcp 80/udp
	probe named-port-egress
	pol_clear

	np x end-port <<-'EOF' | pol_apply end-port-80-81
		  podSelector: {}
		  ingress:
		  - ports: [{port: 80, endPort: 81, protocol: TCP}]
	EOF
	exp_reset
	exp '*' 'x/*' X 80/udp 81/udp
	probe end-port-80-81
	np x end-port <<-'EOF' | pol_apply end-port-80-80
		  podSelector: {}
		  ingress:
		  - ports: [{port: 80, endPort: 80, protocol: TCP}]
	EOF
	exp '*' 'x/*' X 81/tcp
	probe end-port-80-80
	pol_clear

	np x udp-80 <<-'EOF' | pol_apply udp-only
		  podSelector: {}
		  ingress:
		  - ports: [{port: 80, protocol: UDP}]
	EOF
	exp_reset
	exp '*' 'x/*' X 80/tcp 81/tcp 81/udp
	probe udp-only-policy-does-not-open-tcp
	pol_clear

	np x tcp-80 <<-'EOF' | pol_apply tcp-80-only
		  podSelector: {}
		  ingress:
		  - ports: [{port: 80, protocol: TCP}]
	EOF
	exp_reset
	exp '*' 'x/*' X 81/tcp 80/udp 81/udp
	probe ports-tcp-80-only
	pol_clear
}

# case_egress_peers: egress to pods by namespace AND pod label on one port (the
# destination's IP and port matched, across nodes too)
case_egress_peers() {
	np x to-yb-80 <<-'EOF' | pol_apply egress-peers
		  podSelector: {}
		  policyTypes: [Egress]
		  egress:
		  - to:
		    - namespaceSelector: {matchLabels: {ns: "y"}}
		      podSelector: {matchLabels: {pod: b}}
		    ports: [{port: 80, protocol: TCP}]
	EOF
	exp_reset
	exp 'x/*' '*' X
	exp 'x/*' y/b . 80/tcp
	probe egress-to-pod-and-namespace-port-80
	pol_clear
}

# case_both_directions: one policy with Ingress and Egress rules on x/a: in from x/b only,
# out to x/c only; the replies to x/b's connections leave x/a all the same
case_both_directions() {
	np x in-b-out-c <<-'EOF' | pol_apply ingress-and-egress
		  podSelector: {matchLabels: {pod: a}}
		  policyTypes: [Ingress, Egress]
		  ingress:
		  - from:
		    - podSelector: {matchLabels: {pod: b}}
		  egress:
		  - to:
		    - podSelector: {matchLabels: {pod: c}}
	EOF
	exp_reset
	exp '*' x/a X
	exp x/b x/a .
	exp x/a '*' X
	exp x/a x/c .
	probe ingress-and-egress-together
	pol_clear
}

# case_allow_all: a default deny and an allow-all (ingress: [{}]) for x/a: x/a open again,
# the rest of x still closed
case_allow_all() {
	np x deny-ingress <<-'EOF' | pol_apply allow-all-deny
		  podSelector: {}
		  policyTypes: [Ingress]
	EOF
	np x allow-all-a <<-'EOF' | pol_apply allow-all
		  podSelector: {matchLabels: {pod: a}}
		  ingress: [{}]
	EOF
	exp_reset
	exp '*' 'x/*' X
	exp '*' x/a .
	probe allow-all-precedence
	pol_clear
}

# case_named_port_per_pod: a named port resolved per destination pod: x/b's serve-80-tcp
# moved to 81 (its Pod object changed), the policy that opens serve-80-tcp opens 81 on x/b
# and 80 on the others; and back
case_named_port_per_pod() {
	np x named-80 <<-'EOF' | pol_apply named-port-per-pod
		  podSelector: {}
		  ingress:
		  - ports: [{port: serve-80-tcp}]
	EOF
	pod_yaml x b b swap | pol_object named-port-moved
	exp_reset
	exp '*' 'x/*' X 81/tcp 80/udp 81/udp
	exp '*' x/b X 80/tcp
	exp '*' x/b . 81/tcp
	probe named-port-resolved-per-pod
	pod_yaml x b | pol_object named-port-moved-back
	exp_reset
	exp '*' 'x/*' X 81/tcp 80/udp 81/udp
	probe named-port-moved-back
	pol_clear
}

# case_stacked: several policies on one pod add up
case_stacked() {
	np x deny-ingress <<-'EOF' | pol_apply stacked-deny
		  podSelector: {}
		  policyTypes: [Ingress]
	EOF
	np x allow-from-b <<-'EOF' | pol_apply stacked-from-b
		  podSelector: {matchLabels: {pod: a}}
		  ingress:
		  - from:
		    - podSelector: {matchLabels: {pod: b}}
	EOF
	np x allow-from-z <<-'EOF' | pol_apply stacked-from-z
		  podSelector: {matchLabels: {pod: a}}
		  ingress:
		  - from:
		    - namespaceSelector: {matchLabels: {ns: z}}
		    ports: [{port: 81, protocol: TCP}]
	EOF
	exp_reset
	exp '*' 'x/*' X
	exp x/b x/a .
	exp 'z/*' x/a . 81/tcp
	probe several-policies-add-up
	pol_clear
}

# case_changes: a policy updated, then deleted (and `sluicectl wait` without a revision
# waiting for the deletion)
case_changes() {
	np x allow-from-b <<-'EOF' | pol_apply update-before
		  podSelector: {matchLabels: {pod: a}}
		  ingress:
		  - from:
		    - podSelector: {matchLabels: {pod: b}}
	EOF
	exp_reset
	exp '*' x/a X
	exp x/b x/a .
	probe update-before
	np x allow-from-b <<-'EOF' | pol_apply update-after
		  podSelector: {matchLabels: {pod: a}}
		  ingress:
		  - from:
		    - podSelector: {matchLabels: {pod: c}}
	EOF
	exp_reset
	exp '*' x/a X
	exp x/c x/a .
	probe policy-updated-selector
	# deleted with the agents stopped: `sluicectl wait` without --revision must count the
	# deletion (no key is left to read its revision from) and time out until they are back
	local n out
	for n in $POL_NODES; do kill -STOP "${OV_AGENT[$n]}"; done
	out=$(pctl delete networkpolicy x/allow-from-b 2>&1) || fail policy-delete "$out"
	pctl wait --timeout 1 >"$T_TMP/wait.out" 2>&1
	# (a timeout naming node1 behind, not any other failure)
	check_eq wait-default-counts-deletion "1 node1" \
		"$? $(grep -o node1 "$T_TMP/wait.out" | head -1)"
	for n in $POL_NODES; do kill -CONT "${OV_AGENT[$n]}"; done
	check wait-default-after-deletion pctl wait --timeout 20
	POL_APPLIED=()
	exp_reset
	probe policy-deleted-open-again
}

# case_labels: a pod's labels changed, then a namespace's
case_labels() {
	np x allow-from-b <<-'EOF' | pol_apply pod-relabel-policy
		  podSelector: {matchLabels: {pod: a}}
		  ingress:
		  - from:
		    - podSelector: {matchLabels: {pod: b}}
	EOF
	pod_yaml x c b | pol_object pod-relabel
	exp_reset
	exp '*' x/a X
	exp x/b x/a .
	exp x/c x/a .
	probe pod-label-changed
	pod_yaml x c | pol_object pod-relabel-back
	exp x/c x/a X
	probe pod-label-changed-back
	pol_clear

	np x allow-from-ns-y <<-'EOF' | pol_apply ns-relabel-policy
		  podSelector: {matchLabels: {pod: a}}
		  ingress:
		  - from:
		    - namespaceSelector: {matchLabels: {ns: "y"}}
	EOF
	ns_yaml z y | pol_object ns-relabel
	exp_reset
	exp '*' x/a X
	exp 'y/*' x/a .
	exp 'z/*' x/a .
	probe namespace-label-changed
	ns_yaml z | pol_object ns-relabel-back
	exp 'z/*' x/a X
	probe namespace-label-changed-back
	pol_clear
}

# case_pod_restart: a peer pod deleted and added again (another IP): the policy that names
# it follows, on its node and the other, and its old IP is left in no set of the table
case_pod_restart() {
	local old=${POL_IP[x/b]} old6=${POL_IP6[x/b]} node_xa=${POL_NODE[x/a]} left
	np x allow-from-b <<-'EOF' | pol_apply pod-restart-policy
		  podSelector: {matchLabels: {pod: a}}
		  ingress:
		  - from:
		    - podSelector: {matchLabels: {pod: b}}
	EOF
	check pod-restart-del del_pol_pod x/b
	if ! add_pol_pod "${POL_NODE[x/b]}" x/b "${POL_ONE_CONF:-}"; then
		fail pod-restart-add "$(cat "$T_TMP/x-b.json")"
		return
	fi
	check_eq pod-restart-new-ip true "$([ "${POL_IP[x/b]}" != "$old" ] && echo true)"
	pol_wait "" || fail pod-restart-wait "$(cat "$T_TMP/wait.out")"
	exp_reset
	exp '*' x/a X
	exp x/b x/a .
	probe pod-restarted-peer-followed
	left=$(ip netns exec "node$node_xa" nft -j list table inet sluice_policy |
		jq --arg a "$old" --arg b "$old6" '[.. | strings | select(. == $a or . == $b)] | length')
	check_eq pod-restart-old-ip-gone 0 "$left"
	pol_clear
}

# case_agent_down: node1's agent killed, a policy applied meanwhile: the next pod added on
# node1 finds the table's stamp behind the store's policies and puts the whole ruleset in
# force itself (the plugin's slow path), for every pod of the node, before its ADD returns;
# the agent restarted catches up. Not on etcd: there a node learns of policies only through
# its agent's mirror.
case_agent_down() {
	local n others=()
	[[ $OV_STORE != etcd://* ]] || return 0
	for n in $POL_NODES; do [ "$n" = 1 ] || others+=(--node "node$n"); done
	stop_agent 1 KILL
	np x deny-ingress <<-'EOF' >"$T_TMP/agent-down.yaml"
		  podSelector: {}
		  policyTypes: [Ingress]
	EOF
	POL_APPLIED+=("$T_TMP/agent-down.yaml")
	pctl apply -f "$T_TMP/agent-down.yaml" >/dev/null || fail agent-down-apply
	pol_barrier
	# (the other node's agent, running, has it in force)
	[ ${#others[@]} -eq 0 ] || pctl wait --revision "$POL_REV" --timeout 20 "${others[@]}" \
		>"$T_TMP/wait.out" 2>&1 || fail agent-down-other-node "$(cat "$T_TMP/wait.out")"
	exp_reset
	exp '*' 'x/*' X
	if pod_yaml x e | pctl apply -f - >/dev/null && add_pol_pod 1 x/e "${POL_ONE_CONF:-}"; then
		local saved=("${POL_PODS[@]}")
		POL_PODS+=(x/e)
		exp_reset
		exp '*' 'x/*' X
		probe agent-down-slow-path-at-once
		POL_PODS=("${saved[@]}")
	else
		fail agent-down-slow-path-at-once "$(cat "$T_TMP/x-e.json")"
	fi
	# one more change while it is down, which no ADD saw: the restarted agent brings it in
	np x allow-from-b <<-'EOF' >"$T_TMP/agent-down-2.yaml"
		  podSelector: {matchLabels: {pod: a}}
		  ingress:
		  - from:
		    - podSelector: {matchLabels: {pod: b}}
	EOF
	POL_APPLIED+=("$T_TMP/agent-down-2.yaml")
	pctl apply -f "$T_TMP/agent-down-2.yaml" >/dev/null || fail agent-down-apply-2
	# shellcheck disable=SC2086 # (flags without spaces)
	start_agent 1 ${POL_AGENT_FLAGS[1]}
	pol_wait "" || fail agent-restarted-wait "$(cat "$T_TMP/wait.out")" "$(pol_diag)"
	exp x/b x/a .
	probe agent-restarted-caught-up
	pol_clear
	exp_reset
	probe agent-down-policies-deleted
	[ -z "${POL_IP[x/e]:-}" ] || check agent-down-del del_pol_pod x/e
	pctl delete pod x/e >/dev/null
}

# case_parallel_adds: four pods added to x at once on node1 under a default deny (the
# plugins and the agent serialized by the node's policy lock): every one isolated when the
# ADDs return; then deleted at once: none of their IPs left in the table
case_parallel_adds() {
	local p pods=(x/p1 x/p2 x/p3 x/p4) saved pids=() rc=0 ips="" left
	np x deny-ingress <<-'EOF' | pol_apply parallel-deny
		  podSelector: {}
		  policyTypes: [Ingress]
	EOF
	for p in "${pods[@]}"; do pod_yaml x "${p#*/}"; echo ---; done | sed '$d' |
		pctl apply -f - >/dev/null || fail parallel-objects
	if add_pol_pods_parallel 1 "${pods[@]}"; then
		pass parallel-adds
		saved=("${POL_PODS[@]}")
		POL_PODS=(x/a y/a z/b "${pods[@]}")
		exp_reset
		exp '*' 'x/*' X
		probe parallel-adds-isolated-at-once
		POL_PODS=("${saved[@]}")
	else
		fail parallel-adds "$(for p in "${pods[@]}"; do cat "$T_TMP/$(pod_netns "$p").json"; done)"
	fi
	for p in "${pods[@]}"; do
		ips+=" ${POL_IP[$p]:-} ${POL_IP6[$p]:-}"
		[ -z "${POL_SERVER[$p]:-}" ] || stop_pid "${POL_SERVER[$p]}" TERM 20
		pod_cni 1 del "$p" >/dev/null 2>&1 &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || rc=1; done
	check_eq parallel-dels 0 "$rc"
	for p in "${pods[@]}"; do
		ip netns del "$(pod_netns "$p")"
		unset "POL_IP[$p]" "POL_IP6[$p]"
	done
	left=$(ip netns exec node1 nft -j list table inet sluice_policy |
		jq --arg ips "$ips" '($ips | split(" ") | map(select(. != ""))) as $l |
			[.. | strings | select(. as $s | $l | index($s))] | length')
	check_eq parallel-dels-no-ip-left 0 "$left"
	pctl delete -f - >/dev/null <<-EOF
		$(for p in "${pods[@]}"; do pod_yaml x "${p#*/}"; echo ---; done | sed '$d')
	EOF
	pol_clear
}

# case_new_pod: a pod added after the policy is under it when its ADD returns: probed at
# once, with the node's agent stopped (SIGSTOP) from before the ADD until after the probe,
# so that only the plugin can have programmed it; on the node of x/a, whose policy names it
# as a peer
case_new_pod() {
	local node_xa=${POL_NODE[x/a]} agent saved
	np x deny-ingress <<-'EOF' | pol_apply new-pod-deny
		  podSelector: {}
		  policyTypes: [Ingress]
	EOF
	np x allow-from-d <<-'EOF' | pol_apply new-pod-peer
		  podSelector: {matchLabels: {pod: a}}
		  ingress:
		  - from:
		    - podSelector: {matchLabels: {pod: d}}
	EOF
	pod_yaml x d | pctl apply -f - >/dev/null || fail new-pod-object
	pol_wait "" || fail new-pod-object-wait "$(cat "$T_TMP/wait.out")"
	agent=${OV_AGENT[$node_xa]}
	kill -STOP "$agent"
	defer "kill -CONT $agent"
	if add_pol_pod "$node_xa" x/d "${POL_ONE_CONF:-}"; then
		saved=("${POL_PODS[@]}")
		POL_PODS+=(x/d)
		exp_reset
		exp '*' 'x/*' X
		exp x/d x/a .
		probe pod-added-after-policy-at-once
		POL_PODS=("${saved[@]}")
		kill -CONT "$agent"
		check pod-added-after-policy-del del_pol_pod x/d
		pctl delete pod x/d >/dev/null
	else
		kill -CONT "$agent"
		fail pod-added-after-policy-at-once "$(cat "$T_TMP/x-d.json")"
	fi
	pol_clear
}

# case_sctp: raw SCTP INITs to x/a, and the protocol in the rendered port set
case_sctp() {
	local node_xa=${POL_NODE[x/a]}
	check_eq sctp-no-policy-delivered delivered "$(sctp_to y/a x/a 80)"
	check_eq sctp-no-policy-delivered-v6 delivered "$(sctp_to y/a x/a 80 6)"
	np x sctp <<-'EOF' | pol_apply sctp-tcp-policy
		  podSelector: {matchLabels: {pod: a}}
		  ingress:
		  - ports: [{port: 80, protocol: TCP}]
	EOF
	check_eq sctp-tcp-80-policy-drops-init dropped "$(sctp_to y/a x/a 80)"
	check_eq sctp-tcp-80-policy-drops-init-v6 dropped "$(sctp_to y/a x/a 80 6)"
	check_eq sctp-not-in-tcp-port-set 0 "$(nft_sctp_ports "$node_xa")"
	np x sctp <<-'EOF' | pol_apply sctp-sctp-policy
		  podSelector: {matchLabels: {pod: a}}
		  ingress:
		  - ports: [{port: 80, protocol: SCTP}]
	EOF
	check_eq sctp-80-policy-delivers-init delivered "$(sctp_to y/a x/a 80)"
	check_eq sctp-80-policy-delivers-init-v6 delivered "$(sctp_to y/a x/a 80 6)"
	check_eq sctp-80-policy-drops-81 dropped "$(sctp_to y/a x/a 81)"
	check_eq sctp-in-rendered-port-set true \
		"$(n=$(nft_sctp_ports "$node_xa"); [ "${n:-0}" -gt 0 ] && echo true)"
	pol_clear
	check_eq sctp-deleted-delivered delivered "$(sctp_to y/a x/a 81)"
}

# pol_cases: every case on the layout pol_bringup made, one after the other; POL_ONLY (words)
# runs only the cases named (the words after case_)
pol_cases() {
	local c
	for c in open isolation peers egress_peers both_directions allow_all ipblock ports \
		named_port_per_pod stacked changes labels pod_restart parallel_adds agent_down new_pod \
		sctp; do
		[ -z "${POL_ONLY:-}" ] || [[ " $POL_ONLY " == *" $c "* ]] || continue
		"case_$c"
	done
}
