# SPDX-License-Identifier: Apache-2.0
# The synthetic cluster of the NetworkPolicy rows (tests/bench/policy.sh), as store keys:
# one line "KEY<TAB>VALUE" per key, KEY relative to the prefix (polbench fill puts them, and
# polbench render feeds them to a model). jq -n -r -f polcluster.jq with
#   --argjson pods N       Pods p-<i> in namespaces ns-0..ns-9 (i % 10), each with an
#                          endpoint record on node <nodes>-(i % nnodes), IP 10.100.i/256.i%256
#   --argjson policies P   NetworkPolicies pol-<j> in ns-0..ns-9 and bench (j % 11), four
#                          shapes in turn (below): every kind of peer, port and direction
#   --arg nodes NAME --argjson nnodes K   the endpoints' nodes: NAME-0 .. NAME-(K-1), or
#                          NAME itself when K is 0 (every pod on one node)
#   --argjson bench B      Pod objects bench/pod-0 .. pod-(B-1) (no endpoint: the pods a
#                          row adds itself, as cnibench names them) and the namespace bench
# Labels: namespaces team=t(k % 3) (bench: t0); pods app=a(i % 20), role=r(i % 4), named
# container ports http (8080/TCP) and dns (53/UDP), as the e2e suite's pods have theirs.

def labels($i): {app: "a\($i % 20)", role: "r\($i % 4)"};
def pod($ns; $name; $i): {apiVersion: "v1", kind: "Pod",
	metadata: {namespace: $ns, name: $name, labels: labels($i)},
	spec: {containers: [{name: "c", image: "bench", ports: [
		{name: "http", containerPort: 8080, protocol: "TCP"},
		{name: "dns", containerPort: 53, protocol: "UDP"}]}]}};
def ip($i): "10.100.\($i / 256 | floor).\($i % 256)";
def node($i): if $nnodes == 0 then $nodes else "\($nodes)-\($i % $nnodes)" end;
def pns($j): if $j % 11 == 10 then "bench" else "ns-\($j % 11)" end;
def r4($j): "r\(($j / 4 | floor) % 4)";
def spec($j):
	# Each peer selects a few dozen pods (a team's app, a role in one namespace), as
	# policies written per application do; a policy matching every pod of the cluster
	# puts all their IPs in its own sets (sets are per policy rule: nothing is shared).
	if $j % 4 == 0 then
		# ingress from pods of its namespace by label; a numeric and a named port
		{podSelector: {matchLabels: {app: "a\($j % 20)"}},
		 ingress: [{from: [{podSelector: {matchLabels: {app: "a\(($j + 1) % 20)",
				role: r4($j)}}}],
			    ports: [{protocol: "TCP", port: 8080}, {port: "http"}]}]}
	elif $j % 4 == 1 then
		# ingress from pods AND namespaces by expression; a UDP port range
		{podSelector: {matchLabels: {app: "a\($j % 20)"}},
		 ingress: [{from: [{namespaceSelector: {matchLabels: {team: "t\($j % 3)"}},
				    podSelector: {matchExpressions: [{key: "app", operator: "In",
					values: ["a\($j % 20)", "a\(($j + 1) % 20)"]}]}}],
			    ports: [{protocol: "UDP", port: 53, endPort: 60}]}]}
	elif $j % 4 == 2 then
		# both directions: ingress from a CIDR with an except, egress to one app of another
		# namespace (by its name label) on a port and a named port
		{podSelector: {matchExpressions: [{key: "role", operator: "NotIn", values: ["r0"]}],
			       matchLabels: {app: "a\($j % 20)"}},
		 policyTypes: ["Ingress", "Egress"],
		 ingress: [{from: [{ipBlock: {cidr: "10.0.0.0/8", except: ["10.100.\($j % 16).0/24"]}}]}],
		 egress: [{to: [{namespaceSelector: {matchLabels:
				{"kubernetes.io/metadata.name": "ns-\(($j + 3) % 10)"}},
				podSelector: {matchLabels: {app: "a\(($j + 5) % 20)"}}}],
			   ports: [{protocol: "TCP", port: 443}, {protocol: "UDP", port: "dns"}]}]}
	else
		# egress only: to an app of its namespace on a named port, DNS anywhere
		{podSelector: {matchLabels: {role: r4($j)}}, policyTypes: ["Egress"],
		 egress: [{to: [{podSelector: {matchExpressions: [{key: "app", operator: "In",
				values: ["a\(($j + 2) % 20)"]}]}}],
			   ports: [{port: "http"}]},
			  {to: [{ipBlock: {cidr: "0.0.0.0/0"}}], ports: [{protocol: "UDP", port: 53}]}]}
	end;
def line($k; $v): "\($k)\t\($v | tojson)";

([range(10)] | .[] | line("namespaces/ns-\(.)"; {apiVersion: "v1", kind: "Namespace",
	metadata: {name: "ns-\(.)", labels: {team: "t\(. % 3)"}}})),
line("namespaces/bench"; {apiVersion: "v1", kind: "Namespace",
	metadata: {name: "bench", labels: {team: "t0"}}}),
([range($pods)] | .[] | . as $i | line("pods/ns-\($i % 10)/p-\($i)"; pod("ns-\($i % 10)"; "p-\($i)"; $i)),
	line("endpoints/\(node($i))/c\($i)-eth0"; {containerID: "c\($i)", ifName: "eth0",
		namespace: "ns-\($i % 10)", pod: "p-\($i)", node: node($i), ips: [ip($i)],
		hostVeth: "veth\($i)"})),
([range($bench)] | .[] | line("pods/bench/pod-\(.)"; pod("bench"; "pod-\(.)"; .))),
([range($policies)] | .[] | line("policies/\(pns(.))/pol-\(.)"; {apiVersion: "networking.k8s.io/v1",
	kind: "NetworkPolicy", metadata: {namespace: pns(.), name: "pol-\(.)"}, spec: spec(.)}))
