#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# sluiced's NetworkPolicy side, on one simulated node (this test's own network namespace, a
# veth "eth0" holding the default route), once over a dir:// store and once over etcd with
# a node-local dir:// store the agent mirrors into: started, it renders the table from what
# the store holds (the policies' chains, dispatch elements for this node's endpoints only,
# another node's endpoint in peer sets only) and writes <prefix>/agents/n1 and the status
# file's PolicyRevision; a policy applied shows its chains and the agent's revision reaches
# the apply's; a pod's label change moves its endpoint's dispatch element; a namespace's
# label change takes its endpoints out of a policy's peers; an invalid object is logged once
# and skipped; a policy deleted takes its chains; the table replaced by someone else (its
# stamp changed) is replaced again on the next change; the conflist names
# sluice-nft-policy; with etcd, the mirror (objects into the local store, this node's
# endpoints into etcd, both at start and live); SIGTERM leaves the table. Kernel state and
# store content only: packets are tests/netns/netpol-*.sh's.
set -u
if [ -z "${SLUICE_TEST_UNSHARED:-}" ]; then
	SLUICE_TEST_UNSHARED=1 exec unshare -n -m --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/../lib.sh"
safe_defaults

ip link set lo up
ip link add eth0 mtu 1500 type veth peer name eth0p
ip addr add 192.168.100.1/24 dev eth0
ip link set eth0 up
ip link set eth0p up
ip route add default via 192.168.100.254 dev eth0

P=/sluice/network
PID=
PID2=
# shellcheck disable=SC2016 # (evaluated at exit)
defer '[ -z "$PID" ] || kill -KILL "$PID"; [ -z "$PID2" ] || kill -KILL "$PID2"'

# until_true SECONDS CMD...: polls CMD every 0.05 s; status 1 when it never succeeded
until_true() {
	local _i _n=$(($1 * 20))
	shift
	for ((_i = 0; _i < _n; _i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}
gone() { pid_gone "$1"; }

# --- what the table holds (nft -j read-back)
tj() { nft -j list table inet sluice_policy; }
# chains of the table whose name starts with $1, sorted, one line
chains() { tj | jq -r --arg p "$1" '[.nftables[] | .chain? // empty | .name | select(startswith($p))] | sort | join(" ")'; }
nchains() { tj | jq --arg p "$1" '[.nftables[] | .chain? // empty | select(.name | startswith($p))] | length'; }
# the class chain map $1 sends IP $2 to ("" when none)
goto_of() {
	tj | jq -r --arg m "$1" --arg ip "$2" '.nftables[] | .map? // empty | select(.name == $m) |
		.elem // [] | .[] | select(.[0] == $ip) | .[1].goto.target'
}
# the sets (not maps) holding IP $1 as an element, sorted, one line
sets_with() {
	tj | jq -r --arg ip "$1" '[.nftables[] | .set? // empty | select(.elem != null) |
		select([.elem[] | if type == "object" then .elem.val else . end] | index($ip)) | .name] |
		sort | join(" ")'
}
# the table as JSON without handles, its elements sorted (a hash set lists them in no
# order), without the class chains no dispatch element names (an endpoint's change never
# deletes a class chain: the next policy change's difference does)
norm() {
	tj | jq -S -c '[.nftables[] | .map? // empty | .elem // [] | .[] | .[1].goto.target] as $used |
		[.nftables[] | select(has("metainfo") | not) |
		select((.chain.name // .rule.chain // "") as $n |
			($n | test("^c[ie]-") | not) or ($used | index($n) != null)) |
		walk(if type == "object" then del(.handle) | (if (.elem | type) == "array" then .elem |= sort_by(tostring) else . end) else . end)] |
		sort_by(tostring)'
}
stamp() { tj | jq -r '.nftables[] | .set? // empty | select(.name == "stamp") | .elem[0].elem.comment // .elem[0]'; }

# run_suite KIND: KIND dir or etcd; STORE (cluster) and LOCAL set by the caller
run_suite() {
	local k=$1 n=$T_TMP/$1 log=$T_TMP/$1/agent.log r r2 rev pset
	mkdir -p "$n"
	ctl() { "$BIN/sluicectl" --store "$STORE" "$@"; }
	lctl() { "$BIN/sluicectl" --store "$LOCAL" "$@"; }
	mod_rev() { ctl -o json store get "$1" | jq .mod_revision; }
	st() { jq -r "$1" "$n/subnet.agent.json" 2>/dev/null; }
	agent_rev() { ctl store get "$P/agents/n1" --value-only 2>/dev/null | jq .policyRevision; }
	applied() { [ "$(agent_rev)" -ge "$1" ] 2>/dev/null && [ "$(st .PolicyRevision)" -ge "$1" ] 2>/dev/null; }
	# ep KEY NS POD IP: an endpoint record, as sluice-nft-policy writes it, into store $5
	ep() {
		"$BIN/sluicectl" --store "$5" store put "$P/endpoints/$1" -- \
			"{\"containerID\":\"$(basename "$1" -eth0)\",\"ifName\":\"eth0\",\"namespace\":\"$2\",\"pod\":\"$3\",\"node\":\"${1%%/*}\",\"ips\":[\"$4\"],\"hostVeth\":\"veth${3}\"}" >/dev/null
	}

	# restart_check NAME: the agent (stopped) started again replaces the table with its
	# whole ruleset: nothing differs from what it held
	restart_check() {
		local before nset nrep
		before=$(norm)
		nset=$(grep -c 'table sluice_policy set' "$log")
		nrep=$(grep -c 'table sluice_policy replaced' "$log")
		setsid "$BIN/sluiced" --store "$STORE" --local-store "$LOCAL" --subnet-file "$n/subnet.env" \
			--cni-conf-dir "$n/net.d" --node-name n1 --ttl 60 --log-level debug 2>>"$log" &
		PID=$!
		set_again() { [ "$(grep -c 'table sluice_policy set' "$log")" -gt "$nset" ]; }
		if until_true 10 set_again; then pass "$1-restart"; else fail "$1-restart" "$(tail "$log")"; fi
		check_eq "$1-restart-replaced" $((nrep + 1)) "$(grep -c 'table sluice_policy replaced' "$log")"
		check_eq "$1-restart-same-table" "$before" "$(norm)"
		check_eq "$1-restart-table-read" 4 "$(jq '[.[] | .map? // empty] | length' <<<"$before")"
	}

	ctl config set -f - >/dev/null <<<'{"Network":"10.244.0.0/16","SubnetLen":24,"Backend":{"Type":"vxlan"}}'
	ctl apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: Namespace
metadata: {name: x, labels: {ns: x}}
---
apiVersion: v1
kind: Namespace
metadata: {name: "y", labels: {ns: "y"}}
---
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: x, labels: {pod: a}}
spec: {containers: [{name: c, image: i, ports: [{name: serve-80-tcp, containerPort: 80}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: x, labels: {pod: b}}
spec: {containers: [{name: c, image: i}]}
---
apiVersion: v1
kind: Pod
metadata: {name: c, namespace: "y", labels: {pod: c}}
spec: {containers: [{name: c, image: i}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: x}
spec: {podSelector: {}, policyTypes: [Ingress]}
EOF
	# this node's endpoints where the plugin records them (the local store), another
	# node's in the cluster store (with etcd, its agent would have mirrored it there)
	ep n1/ca-eth0 x a 10.244.1.2 "$LOCAL"
	ep n1/cb-eth0 x b 10.244.1.3 "$LOCAL"
	ep n2/cc-eth0 y c 10.244.2.2 "$STORE"
	rev=$(mod_rev "$P/endpoints/n2/cc-eth0")
	if [ "$k" = etcd ]; then
		# a stale copy of one of this node's endpoints in etcd, and an object in the local
		# store that etcd no longer has: the start reconciles both
		ep n1/old-eth0 x a 10.244.1.99 "$STORE"
		lctl store put "$P/policies/x/stale" -- '{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"stale","namespace":"x"},"spec":{"podSelector":{}}}' >/dev/null
		rev=$(mod_rev "$P/endpoints/n1/old-eth0")
	fi

	setsid "$BIN/sluiced" --store "$STORE" --local-store "$LOCAL" --subnet-file "$n/subnet.env" \
		--cni-conf-dir "$n/net.d" --node-name n1 --ttl 60 --log-level debug 2>>"$log" &
	PID=$!
	if until_true 20 applied "$rev"; then pass "$k-start-applied"; else fail "$k-start-applied" "$(cat "$log")"; fi
	# (the status file and the key are written one after the other: equal once settled)
	key_is_status() { [ "$(ctl store get "$P/agents/n1" --value-only | jq -r '"\(.node) \(.policyRevision)"')" = "n1 $(st .PolicyRevision)" ]; }
	if until_true 5 key_is_status; then pass "$k-start-agent-key"; else fail "$k-start-agent-key" "$(ctl store get "$P/agents/n1")" "$(cat "$n/subnet.agent.json")"; fi
	check_eq "$k-start-policy-chains" 1 "$(nchains pi-)"
	check_eq "$k-start-no-egress-chains" 0 "$(nchains pe-)"
	r=$(goto_of ing4 10.244.1.2)
	check_eq "$k-start-dispatch-local" "$r $r" "$(goto_of ing4 10.244.1.2) $(goto_of ing4 10.244.1.3)"
	check_eq "$k-start-dispatch-class" ci- "${r:0:3}"
	check_eq "$k-start-dispatch-not-remote" "" "$(goto_of ing4 10.244.2.2)"
	check_eq "$k-start-logged" 1 "$(grep -c 'policy: 1 policies, 3 endpoints at revision' "$log")"
	check_eq "$k-conflist-policy" "sluice-nft-policy $LOCAL n1 $n" \
		"$(jq -r '.plugins[2] | "\(.type) \(.store) \(.node) \(.runDir)"' "$n/net.d/10-sluice.conflist")"
	check_eq "$k-conflist-order" "sluice-bridge sluice-vxlan-overlay sluice-nft-policy sluice-portmap sluice-bandwidth" \
		"$(jq -r '[.plugins[].type] | join(" ")' "$n/net.d/10-sluice.conflist")"
	check "$k-lock-file" test -e "$n/policy.lock"
	if [ "$k" = etcd ]; then
		check_eq "$k-mirror-start-to-local" deny-all \
			"$(lctl store get "$P/policies/x/deny-all" --value-only | jq -r .metadata.name)"
		check_eq "$k-mirror-start-remote-ep-local" 10.244.2.2 \
			"$(lctl store get "$P/endpoints/n2/cc-eth0" --value-only | jq -r '.ips[0]')"
		check_eq "$k-mirror-start-stale-local-gone" "" "$(lctl store get "$P/policies/x/stale" 2>/dev/null)"
		check_eq "$k-mirror-start-to-etcd" 10.244.1.3 \
			"$(ctl store get "$P/endpoints/n1/cb-eth0" --value-only | jq -r '.ips[0]')"
		check_eq "$k-mirror-start-stale-etcd-gone" "" "$(ctl store get "$P/endpoints/n1/old-eth0" 2>/dev/null)"
		check_eq "$k-start-stale-not-dispatched" "" "$(goto_of ing4 10.244.1.99)"
	fi

	# --- a policy applied: its chains; the agent's revision reaches the apply's; the other
	# node's endpoint (y/c) in its peer set, never in a dispatch map
	ctl apply -f - >/dev/null <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-from-y, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {ns: "y"}}}]}]
EOF
	rev=$(mod_rev "$P/policies/x/allow-from-y")
	# (sluicectl wait: the agent's key is what it reads; no sleeps)
	check "$k-sluicectl-wait" ctl wait --revision "$rev" --timeout 10 --node n1
	check "$k-sluicectl-wait-default" ctl wait --timeout 10
	if until_true 10 applied "$rev"; then pass "$k-policy-applied"; else fail "$k-policy-applied" "$(tail -20 "$log")"; fi
	check_eq "$k-policy-chains" 2 "$(nchains pi-)"
	pset=$(sets_with 10.244.2.2)
	if [[ $pset =~ ^a4-[0-9a-f]{12}$ ]]; then pass "$k-remote-ep-in-peer-set"; else fail "$k-remote-ep-in-peer-set" "sets: $pset"; fi
	check_eq "$k-remote-ep-not-dispatched" "" "$(goto_of ing4 10.244.2.2)"
	check_eq "$k-policy-logged" 1 "$(grep -c 'policy: x/allow-from-y applied (1 chains, 1 elements)' "$log")"
	r=$(goto_of ing4 10.244.1.2)
	r2=$(goto_of ing4 10.244.1.3)
	if [ -n "$r" ] && [ -n "$r2" ] && [ "$r" != "$r2" ]; then pass "$k-classes-differ"; else fail "$k-classes-differ" "a: $r b: $r2"; fi
	if [ "$k" = etcd ]; then
		until_true 5 lctl store get "$P/policies/x/allow-from-y"
		check_eq "$k-mirror-policy-to-local" allow-from-y \
			"$(lctl store get "$P/policies/x/allow-from-y" --value-only | jq -r .metadata.name)"
	fi

	# --- another node's endpoint added: in the peer set only
	ep n2/cd-eth0 y c 10.244.2.3 "$STORE"
	rev=$(mod_rev "$P/endpoints/n2/cd-eth0")
	until_true 10 applied "$rev"
	check_eq "$k-remote-ep-added" "$pset " "$(sets_with 10.244.2.3) $(goto_of ing4 10.244.2.3)"
	check_eq "$k-remote-ep-logged" 1 "$(grep -c 'policy: endpoint n2/cd-eth0 added (1 elements)' "$log")"

	# --- this node's endpoint added where the plugin records it: dispatched; with etcd,
	# copied to etcd, whose copy's revision the agent then reports
	ep n1/ce-eth0 x a 10.244.1.4 "$LOCAL"
	if [ "$k" = etcd ]; then
		if until_true 10 ctl store get "$P/endpoints/n1/ce-eth0"; then pass "$k-mirror-ep-to-etcd"; else fail "$k-mirror-ep-to-etcd" "$(tail "$log")"; fi
	fi
	rev=$(mod_rev "$P/endpoints/n1/ce-eth0")
	until_true 10 applied "$rev"
	check_eq "$k-local-ep-added" "$(goto_of ing4 10.244.1.2)" "$(goto_of ing4 10.244.1.4)"
	check_eq "$k-local-ep-logged" 1 "$(grep -c 'policy: endpoint n1/ce-eth0 added (1 elements)' "$log")"

	# --- endpoints removed: another node's leaves the peer set; this node's its dispatch
	# element (with etcd, its copy in etcd goes too)
	ep n2/cf-eth0 y c 10.244.2.9 "$STORE"
	ep n1/cg-eth0 x a 10.244.1.9 "$LOCAL"
	rev=$(mod_rev "$P/endpoints/n2/cf-eth0")
	until_true 10 applied "$rev"
	check_eq "$k-ep-before-removal" "$pset $(goto_of ing4 10.244.1.2)" "$(sets_with 10.244.2.9) $(goto_of ing4 10.244.1.9)"
	ctl store del "$P/endpoints/n2/cf-eth0" >/dev/null
	"$BIN/sluicectl" --store "$LOCAL" store del "$P/endpoints/n1/cg-eth0" >/dev/null
	if [ "$k" = etcd ]; then
		cg_gone() { ! ctl store get "$P/endpoints/n1/cg-eth0"; }
		if until_true 10 cg_gone; then pass "$k-mirror-ep-del-to-etcd"; else fail "$k-mirror-ep-del-to-etcd" "$(tail "$log")"; fi
	fi
	rev=$(ctl -o json store put "$P/namespaces/z" -- '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"z"}}' | jq .revision)
	until_true 10 applied "$rev"
	check_eq "$k-ep-removed" " " "$(sets_with 10.244.2.9) $(goto_of ing4 10.244.1.9)"
	check_eq "$k-ep-removed-logged" "1 1" "$(grep -c 'policy: endpoint n2/cf-eth0 removed (1 elements)' "$log") $(grep -c 'policy: endpoint n1/cg-eth0 removed (1 elements)' "$log")"

	# --- a stale record sharing another endpoint's IP removed: the other keeps its element
	# (nft deletes by key: the whole ruleset rendered instead)
	ep n2/dup-eth0 y c 10.244.2.2 "$STORE"
	until_true 10 applied "$(mod_rev "$P/endpoints/n2/dup-eth0")"
	rev=$(ctl -o json store del "$P/endpoints/n2/dup-eth0" | jq .revision)
	until_true 10 applied "$rev"
	check_eq "$k-shared-ip-kept" "$pset" "$(sets_with 10.244.2.2)"

	# --- a pod's labels change: its endpoint's dispatch element moves to the other class
	ctl apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: x, labels: {pod: a}}
spec: {containers: [{name: c, image: i}]}
EOF
	rev=$(mod_rev "$P/pods/x/b")
	if until_true 10 applied "$rev"; then pass "$k-pod-label-applied"; else fail "$k-pod-label-applied" "$(tail "$log")"; fi
	check_eq "$k-pod-label-moves" "$(goto_of ing4 10.244.1.2)" "$(goto_of ing4 10.244.1.3)"
	check_eq "$k-pod-label-logged" 1 "$(grep -c 'policy: pod x/b changed (1 endpoint, +1 -1 elements)' "$log")"

	# --- a namespace change touching more endpoints than one batch patches (256): the whole
	# ruleset rendered instead; all 300 become peers
	if [ "$k" = dir ]; then
		for i in $(seq 1 300); do
			ep "n2/big$i-eth0" big "" "10.244.$((3 + i / 250)).$((i % 250 + 1))" "$STORE"
		done
		rev=$(ctl -o json store put "$P/namespaces/big" -- '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"big","labels":{"ns":"y"}}}' | jq .revision)
		if until_true 10 applied "$rev"; then pass "$k-big-applied"; else fail "$k-big-applied" "$(tail "$log")"; fi
		check_eq "$k-big-peers" 302 "$(tj | jq --arg s "$pset" '[.nftables[] | .set? // empty | select(.name == $s) | .elem[]] | length')"
		check_eq "$k-big-logged" 1 "$(grep -c 'policy: namespace big changed (300 endpoints)$' "$log")"
		check_eq "$k-big-whole" 1 "$(grep -A3 'policy: namespace big changed' "$log" | grep -c 'events taken, the whole ruleset')"
		for i in $(seq 1 300); do ctl store del "$P/endpoints/n2/big$i-eth0" >/dev/null; done
		rev=$(ctl -o json store del "$P/namespaces/big" | jq .revision)
		until_true 10 applied "$rev"
		check_eq "$k-big-gone" 2 "$(tj | jq --arg s "$pset" '[.nftables[] | .set? // empty | select(.name == $s) | .elem[]] | length')"
	fi

	# --- a namespace's labels change: its endpoints leave the policy's peers
	ctl apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: Namespace
metadata: {name: "y", labels: {ns: z}}
EOF
	rev=$(mod_rev "$P/namespaces/y")
	if until_true 10 applied "$rev"; then pass "$k-ns-label-applied"; else fail "$k-ns-label-applied" "$(tail "$log")"; fi
	check_eq "$k-ns-label-peers-gone" "" "$(sets_with 10.244.2.2)$(sets_with 10.244.2.3)"
	check_eq "$k-ns-label-logged" 1 "$(grep -c 'policy: namespace y changed (2 endpoints, +0 -2 elements)' "$log")"

	# --- what the changes above patched in piece by piece is what a whole render gives
	stop_pid "$PID" TERM 50
	PID=
	restart_check "$k-patched"

	# --- a valid policy overwritten by an invalid one: its chains go, as a fresh listing
	# (which skips the key) would have it
	ctl store put "$P/policies/x/was-valid" -- '{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"was-valid","namespace":"x"},"spec":{"podSelector":{},"egress":[{}]}}' >/dev/null
	until_true 10 applied "$(mod_rev "$P/policies/x/was-valid")"
	check_eq "$k-was-valid-chains" 1 "$(nchains pe-)"
	ctl store put "$P/policies/x/was-valid" -- '{"not":"a policy"}' >/dev/null
	until_true 10 applied "$(mod_rev "$P/policies/x/was-valid")"
	check_eq "$k-invalid-drops-previous" 0 "$(nchains pe-)"
	ctl store del "$P/policies/x/was-valid" >/dev/null

	# --- an invalid object: logged once, skipped, the agent goes on
	ctl store put "$P/policies/x/bad" -- '{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"bad","namespace":"x"},"spec":{"podSelector":{},"policyTypes":["Sideways"]}}' >/dev/null
	ctl store put "$P/policies/x/bad" -- '{"not":"a policy"}' >/dev/null
	rev=$(mod_rev "$P/policies/x/bad")
	if until_true 10 applied "$rev"; then pass "$k-invalid-skipped"; else fail "$k-invalid-skipped" "$(tail "$log")"; fi
	check_eq "$k-invalid-logged-once" 1 "$(grep -c 'policy: policies/x/bad: invalid, skipped' "$log")"
	check "$k-invalid-alive" kill -0 "$PID"
	ctl store del "$P/policies/x/bad" >/dev/null

	# --- the table replaced by someone else (another stamp), an element removed by hand:
	# the next change replaces the table, the element is back
	nft delete element inet sluice_policy ing4 '{ 10.244.1.3 }'
	local st0
	st0=$(stamp)
	nft flush set inet sluice_policy stamp
	nft add element inet sluice_policy stamp '{ 0x00000001 comment "someone-else" }'
	check_eq "$k-stamp-changed-by-hand" someone-else "$(stamp)"
	ctl apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: Pod
metadata: {name: c, namespace: "y", labels: {pod: c, v: "2"}}
spec: {containers: [{name: c, image: i}]}
EOF
	rev=$(mod_rev "$P/pods/y/c")
	until_true 10 applied "$rev"
	check_eq "$k-stamp-replaced" "$st0" "$(stamp)"
	check_eq "$k-stamp-element-back" "$(goto_of ing4 10.244.1.2)" "$(goto_of ing4 10.244.1.3)"
	check_eq "$k-stamp-logged" 1 "$(grep -c "policy: table sluice_policy holds another ruleset (stamp someone-else, not ${st0:0:12}): replacing it" "$log")"

	# --- etcd away and back: the table stays as it is meanwhile; the watch resumes and
	# what changed is applied
	if [ "$k" = etcd ]; then
		etcd_down e1
		sleep 1
		check_eq "$k-outage-table-stays" 2 "$(nchains pi-)"
		if etcd_up e1 "$ETCD" http://127.0.0.1:23801; then pass "$k-outage-etcd-back"; else fail "$k-outage-etcd-back"; fi
		ctl apply -f - >/dev/null <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: after-outage, namespace: x}
spec: {podSelector: {matchLabels: {pod: a}}, policyTypes: [Egress]}
EOF
		rev=$(mod_rev "$P/policies/x/after-outage")
		if until_true 20 applied "$rev"; then pass "$k-outage-resumed"; else fail "$k-outage-resumed" "$(tail "$log")"; fi
		check_eq "$k-outage-egress-chain" 1 "$(nchains pe-)"
		rev=$(ctl -o json store del "$P/policies/x/after-outage" | jq .revision)
		until_true 10 applied "$rev"
	fi

	# --- a policy deleted: its chains go
	rev=$(ctl -o json store del "$P/policies/x/allow-from-y" | jq .revision)
	if until_true 10 applied "$rev"; then pass "$k-policy-deleted-applied"; else fail "$k-policy-deleted-applied" "$(tail "$log")"; fi
	check_eq "$k-policy-deleted-chains" 1 "$(nchains pi-)"
	check_eq "$k-policy-deleted-logged" 1 "$(grep -c 'policy: x/allow-from-y deleted' "$log")"
	if [ "$k" = etcd ]; then
		check_eq "$k-mirror-delete-to-local" "" "$(lctl store get "$P/policies/x/allow-from-y" 2>/dev/null)"
	fi

	# --- a second node's agent (dir: the same store) dispatches its own endpoints only
	if [ "$k" = dir ]; then
		mk_netns node2
		ip link add n2e type veth peer name eth0 netns node2
		ip link set n2e up
		ip -n node2 addr add 192.168.100.2/24 dev eth0
		ip -n node2 link set eth0 up
		ip -n node2 route add default via 192.168.100.254
		ip netns exec node2 "$BIN/sluiced" --store "$STORE" --subnet-file "$n/n2/subnet.env" \
			--cni-conf-dir "$n/n2/net.d" --node-name n2 --ttl 60 2>>"$n/n2.log" &
		PID2=$!
		rev=$(mod_rev "$P/agents/n1")
		n2_applied() { [ "$(ctl store get "$P/agents/n2" --value-only | jq .policyRevision)" -ge "$rev" ] 2>/dev/null; }
		if until_true 10 n2_applied; then pass "$k-n2-applied"; else fail "$k-n2-applied" "$(cat "$n/n2.log")"; fi
		ing4_n() { ${1:+ip netns exec "$1"} nft -j list map inet sluice_policy ing4 | jq '[.nftables[] | .map? // empty | .elem // [] | .[]] | length'; }
		check_eq "$k-n2-own-only" "3 0" "$(ing4_n) $(ing4_n node2)"
		check_eq "$k-n2-same-stamp" "$(stamp)" "$(ip netns exec node2 nft -j list set inet sluice_policy stamp | jq -r '.nftables[] | .set? // empty | .elem[0].elem.comment')"
	fi

	# --- no ping-pong: idle, the agents' keys stay as they are
	r=$(ctl -o json store get "$P/agents/n1" | jq .mod_revision)
	r2=$(ctl -o json store get "$P/agents/n2" 2>/dev/null | jq .mod_revision)
	sleep 1
	check_eq "$k-agent-key-idle" "$r $r2" "$(ctl -o json store get "$P/agents/n1" | jq .mod_revision) $(ctl -o json store get "$P/agents/n2" 2>/dev/null | jq .mod_revision)"
	if [ -n "$PID2" ]; then
		stop_pid "$PID2" TERM 50
		PID2=
	fi

	# --- SIGTERM: exits, the table stays
	r=$(tj | jq -c '[.nftables[] | (.chain? // .set? // .map? // empty) | .name] | sort')
	kill -TERM "$PID"
	if until_true 5 gone "$PID"; then pass "$k-sigterm-exits"; else fail "$k-sigterm-exits"; fi
	PID=
	check_eq "$k-sigterm-table-stays" "$r" "$(tj | jq -c '[.nftables[] | (.chain? // .set? // .map? // empty) | .name] | sort')"
	check_eq "$k-sigterm-logged" 2 "$(grep -c 'the policy table and the lease in place' "$log")"

	restart_check "$k-end"
	stop_pid "$PID" TERM 50
	PID=
	nft delete table inet sluice_policy
	nft delete table inet sluice_overlay 2>/dev/null
	ip link del sluice.1 2>/dev/null
}

STORE=dir://$T_TMP/store
LOCAL=$STORE
run_suite dir

# --- etcd: its client port on 127.0.0.1, the node-local store apart
ETCD=http://127.0.0.1:23791
if etcd_up e1 "$ETCD" http://127.0.0.1:23801; then
	STORE=etcd://127.0.0.1:23791
	LOCAL=dir://$T_TMP/local
	run_suite etcd
	etcd_down e1
else
	fail etcd-up "$(tail -5 "$T_TMP/etcd-e1.log")"
fi

# --- --no-network-policy: no table, no sluice-nft-policy in the conflist
n=$T_TMP/off
STORE=dir://$T_TMP/store-off
"$BIN/sluicectl" --store "$STORE" config set -f - >/dev/null <<<'{"Network":"10.244.0.0/16","SubnetLen":24,"Backend":{"Type":"vxlan"}}'
setsid "$BIN/sluiced" --store "$STORE" --subnet-file "$n/subnet.env" --cni-conf-dir "$n/net.d" \
	--node-name n1 --no-network-policy 2>>"$T_TMP/off.log" &
PID=$!
has_conflist() { [ -s "$n/net.d/10-sluice.conflist" ]; }
until_true 10 has_conflist
check_eq off-conflist "sluice-bridge sluice-vxlan-overlay sluice-portmap sluice-bandwidth" \
	"$(jq -r '[.plugins[].type] | join(" ")' "$n/net.d/10-sluice.conflist")"
check_fail off-no-table nft list table inet sluice_policy
check_eq off-status-revision 0 "$(jq .PolicyRevision "$n/subnet.agent.json")"
kill -TERM "$PID"
until_true 5 gone "$PID"
PID=
check_eq usage-local-store "sluiced: --local-store 'etcd://x:1': must be a dir:// store (sluice-nft-policy reads it)" \
	"$("$BIN/sluiced" --local-store etcd://x:1 2>&1 | head -1)"

# --- the same directory named twice (a trailing slash): no mirror of a store into itself
n=$T_TMP/twice
STORE=dir://$T_TMP/store-off
# (and a relative --subnet-file: the conflist's runDir is absolute, the plugin runs elsewhere)
(cd "$T_TMP" && exec setsid "$BIN/sluiced" --store "$STORE" --local-store "$STORE/" \
	--subnet-file twice/subnet.env --cni-conf-dir "$n/net.d" --node-name n1 2>>"$T_TMP/twice.log") &
PID=$!
policy_set() { grep -q 'table sluice_policy set' "$T_TMP/twice.log"; }
until_true 10 policy_set
check_eq same-dir-no-mirror "1 0" "$(grep -c "local store $STORE/\$" "$T_TMP/twice.log") $(grep -c mirror "$T_TMP/twice.log")"
until_true 10 test -s "$n/net.d/10-sluice.conflist"
check_eq relative-run-dir "$(realpath "$n")" "$(jq -r '.plugins[2].runDir' "$n/net.d/10-sluice.conflist")"
check relative-lock-file test -e "$n/policy.lock"
kill -TERM "$PID"
until_true 5 gone "$PID"
PID=
