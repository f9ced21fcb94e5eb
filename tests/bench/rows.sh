# SPDX-License-Identifier: Apache-2.0
# The rows of `make bench`, in order; sourced by tests/bench/run.sh, which defines row().
# shellcheck shell=bash
#
#   row NAME CONFLIST [key=value ...]
#
# CONFLIST is a conflist template. A type written "@x" becomes "sluice-x" for the sluice
# variant and "x" for upstream (write "tuning" to use upstream's in both); @DATA@ becomes a
# data directory of the variant's own. "-" runs the floor alone. Each variant has a host
# netns of its own, so both may use the same bridge name and subnet. Options:
#   floor=CONFLIST       the kernel's floor for the same work (tests/tools/floor.c: type
#                        "floor", "floor": the plugin whose work it does, which also
#                        names the measures it joins), measured alongside
#   verbs=VERSION        exec only, instead of ADD then DEL (the floor is then timed
#                        from outside: the exec of a small C binary)
#   n=N                  pods (default $BENCH_N)
#   rc=FUNCTION          runtimeConfig: "FUNCTION COUNT WARMUP PREFILL" prints one JSON
#                        object per pod in pod order (WARMUP warm-up pods, PREFILL prefill
#                        pods, then the measured ones); plugins get the keys their
#                        "capabilities" enable, as libcni gives them
#   prefill=K            K pods added before measuring, deleted after: existing state
#   prefill_conf=CONFLIST  the chain of the prefill pods (default: CONFLIST); a first
#                        plugin's literal "prevResult" is kept, so a chained plugin can be
#                        prefilled alone
#   prefill_floor=CONFLIST  the floor's chain for the prefill pods (default: its own)
#   shared_prefill_ns=1  prefill pods share one netns (for chains that make no interface)
#   pod_addrs=CIDR       pod i's IPv4 address in a literal prevResult is CIDR + 2 + i: every
#                        attachment has its own, as real pods do (with one address for all,
#                        each portmap ADD would replace the elements of the one before)
#   sluice_only=1        no upstream variant (a plugin upstream has no counterpart of)
#   host_setup=PROGRAM   run as PROGRAM VARIANT HOST_NETNS_PATH before the first pod (env:
#                        BENCH_ROW_DIR, the row's directory, whose data/VARIANT is @DATA@;
#                        BENCH_BIN): what the node holds before its pods, e.g. a lease
#
# $N is BENCH_N (pods a row), $SCALE the BENCH_SCALE sizes for the scale rows.

conf_bridge='{"cniVersion": "1.0.0", "name": "bench-br", "plugins": [
  {"type": "@bridge", "bridge": "bench0", "isGateway": true, "ipMasq": true,
   "ipam": {"type": "@host-local", "ranges": [[{"subnet": "10.88.0.0/16"}]],
            "dataDir": "@DATA@"}}]}'
floor_bridge='{"cniVersion": "1.0.0", "name": "bench-br", "plugins": [
  {"type": "floor", "floor": "bridge", "bridge": "bench0", "subnet": "10.88.0.0/16",
   "ipMasq": true}]}'
floor_bridge_link_first='{"cniVersion": "1.0.0", "name": "bench-br", "plugins": [
  {"type": "floor", "floor": "bridge", "bridge": "bench0", "subnet": "10.88.0.0/16",
   "ipMasq": true, "order": "link-first"}]}'

# bandwidth chained after the bridge: both directions shaped (100 Mbit/s)
shaping='"ingressRate": 100000000, "ingressBurst": 1000000,
   "egressRate": 100000000, "egressBurst": 1000000'
conf_bridge_bw='{"cniVersion": "1.0.0", "name": "bench-bw", "plugins": [
  {"type": "@bridge", "bridge": "bench0", "isGateway": true, "ipMasq": true,
   "ipam": {"type": "@host-local", "ranges": [[{"subnet": "10.88.0.0/16"}]],
            "dataDir": "@DATA@"}},
  {"type": "@bandwidth", '"$shaping"'}]}'
floor_bridge_bw='{"cniVersion": "1.0.0", "name": "bench-bw", "plugins": [
  {"type": "floor", "floor": "bridge", "bridge": "bench0", "subnet": "10.88.0.0/16",
   "ipMasq": true},
  {"type": "floor", "floor": "bandwidth", '"$shaping"'}]}'

# portmap chained after the bridge: one hostPort per pod; its scale rows add K existing
# mappings first, 10 a pod, through portmap alone (a literal prevResult whose address
# pod_addrs makes each pod's own, from 10.88.128.2 on, away from the bridge's pods; one
# shared netns)
conf_bridge_pm='{"cniVersion": "1.0.0", "name": "bench-pm", "plugins": [
  {"type": "@bridge", "bridge": "bench0", "isGateway": true, "ipMasq": true,
   "ipam": {"type": "@host-local", "ranges": [[{"subnet": "10.88.0.0/16"}]],
            "dataDir": "@DATA@"}},
  {"type": "@portmap", "capabilities": {"portMappings": true}, "snat": true}]}'
conf_pm_alone='{"cniVersion": "1.0.0", "name": "bench-pm", "plugins": [
  {"type": "@portmap", "capabilities": {"portMappings": true}, "snat": true,
   "prevResult": {"cniVersion": "1.0.0", "interfaces": [{"name": "eth0", "sandbox": "/x"}],
     "ips": [{"address": "10.88.255.254/16", "gateway": "10.88.0.1", "interface": 0}]}}]}'
floor_bridge_pm='{"cniVersion": "1.0.0", "name": "bench-pm", "plugins": [
  {"type": "floor", "floor": "bridge", "bridge": "bench0", "subnet": "10.88.0.0/16",
   "ipMasq": true},
  {"type": "floor", "floor": "portmap", "capabilities": {"portMappings": true},
   "subnet": "10.88.0.0/16"}]}'
floor_pm_alone='{"cniVersion": "1.0.0", "name": "bench-pm", "plugins": [
  {"type": "floor", "floor": "portmap", "capabilities": {"portMappings": true},
   "subnet": "10.88.0.0/16"}]}'
ports_rc() { # COUNT WARMUP PREFILL: prefill pods map 10 TCP ports each, others one
	awk -v n="$1" -v w="$2" -v p="$3" 'BEGIN {
		for (i = 0; i < n; i++) {
			k = i >= w && i < w + p ? 10 : 1
			base = k == 10 ? 30000 + 10 * (i - w) : 20000 + i
			s = ""
			for (j = 0; j < k; j++)
				s = s sprintf("%s{\"hostPort\":%d,\"containerPort\":%d,\"protocol\":\"tcp\"}",
					j ? "," : "", base + j, 80 + j)
			printf "{\"portMappings\":[%s]}\n", s
		}
	}'
}

# sluice-portmap's own rows: three mappings a pod (TCP, UDP with its conntrack flush, and one
# bound to the bridge's address), and portmap alone over 10, 100 and 1,000 existing mappings
# (10 a prefill pod), DEL given the pod's portMappings as runtimes give them
ports3_rc() { # COUNT WARMUP PREFILL
	awk -v n="$1" 'BEGIN {
		for (i = 0; i < n; i++)
			printf "{\"portMappings\":[%s,%s,%s]}\n",
				sprintf("{\"hostPort\":%d,\"containerPort\":80,\"protocol\":\"tcp\"}", 20000 + i),
				sprintf("{\"hostPort\":%d,\"containerPort\":53,\"protocol\":\"udp\"}", 30000 + i),
				sprintf("{\"hostPort\":%d,\"containerPort\":443,\"protocol\":\"tcp\",%s}",
					40000 + i, "\"hostIP\":\"10.88.0.1\"")
	}'
}

# host-local called directly, as a runtime would call any plugin: its config is "ipam"
conf_ipam='{"cniVersion": "1.0.0", "name": "bench-ipam", "plugins": [
  {"type": "@host-local",
   "ipam": {"type": "@host-local", "ranges": [[{"subnet": "10.89.0.0/16"}]],
            "dataDir": "@DATA@"}}]}'
floor_ipam='{"cniVersion": "1.0.0", "name": "bench-ipam", "plugins": [
  {"type": "floor", "floor": "host-local", "subnet": "10.89.0.0/16", "dataDir": "@DATA@"}]}'

version_of() { # PLUGIN: a VERSION-only row's conflist
	printf '{"cniVersion": "1.0.0", "name": "bench-v", "plugins": [{"type": "@%s"}]}' "$1"
}
floor_exec_of() { # PLUGIN: the exec floor, labelled as PLUGIN's row
	printf '{"cniVersion": "1.0.0", "name": "bench-v", "plugins": [{"type": "floor", "floor": "%s"}]}' "$1"
}

row bridge+host-local "$conf_bridge" floor="$floor_bridge"
row bridge+bandwidth "$conf_bridge_bw" floor="$floor_bridge_bw"
row host-local "$conf_ipam" floor="$floor_ipam"
row "exec bridge" "$(version_of bridge)" verbs=VERSION floor="$(floor_exec_of bridge)"
row "exec host-local" "$(version_of host-local)" verbs=VERSION floor="$(floor_exec_of host-local)"
row bridge+portmap "$conf_bridge_pm" rc=ports_rc floor="$floor_bridge_pm"
# scale: the same work over existing state (a quarter of the pods, to keep the time down)
for k in $SCALE; do
	row "host-local, $k reserved" "$conf_ipam" floor="$floor_ipam" prefill="$k" \
		shared_prefill_ns=1 n=$(((N + 3) / 4))
	row "bridge+portmap, $k mappings" "$conf_bridge_pm" rc=ports_rc floor="$floor_bridge_pm" \
		prefill=$((k / 10)) prefill_conf="$conf_pm_alone" prefill_floor="$floor_pm_alone" \
		shared_prefill_ns=1 n=$(((N + 3) / 4)) pod_addrs=10.88.128.0/16
done
row "bridge+portmap, 3 ports" "$conf_bridge_pm" rc=ports3_rc
for k in 10 100 1000; do
	row "portmap alone, $k mappings" "$conf_pm_alone" rc=ports_rc floor="$floor_pm_alone" \
		prefill=$((k / 10)) shared_prefill_ns=1 n=$(((N + 3) / 4)) pod_addrs=10.88.128.0/16
done
# a port range in one pod (podman -p 10000-11999 for TCP and UDP: 4,000 mappings), one batch;
# pods hold ranges of their own (a host port is held by one attachment), 22 pods at most;
# 10 measured: upstream's iptables take seconds a pod
ports4k_rc() { # COUNT WARMUP PREFILL
	awk -v n="$1" 'BEGIN {
		for (i = 0; i < n; i++) {
			s = ""
			for (j = 0; j < 2000; j++)
				s = s sprintf("%s{\"hostPort\":%d,\"containerPort\":80,\"protocol\":\"tcp\"}," \
					"{\"hostPort\":%d,\"containerPort\":53,\"protocol\":\"udp\"}",
					j ? "," : "", 10000 + 2000 * i + j, 10000 + 2000 * i + j)
			printf "{\"portMappings\":[%s]}\n", s
		}
	}'
}
row "bridge+portmap, 4000 ports a pod" "$conf_bridge_pm" rc=ports4k_rc floor="$floor_bridge_pm" \
	n=$((N < 10 ? N : 10))
# DESIGN.md: closing an nft socket after a link delete waits for the deferred cleanup
row "floor, nft after veth" - floor="$floor_bridge_link_first"

# the datastore (tests/tools/storebench.c; one etcd started by run.sh, data on its tmpfs):
# sluice's etcd backend in-process and sluicectl per exec against etcdctl per exec; the
# dir:// store against the etcd backend; sluicectl's peak RSS against etcdctl's; a list of
# leased keys (as subnets/ keys are) against one of keys without
store_row store-etcd
store_row store-dir
store_row store-rss
store_row store-lease

# sluice-vxlan-overlay chained after the bridge, as the conflist sluiced renders: its ADD,
# DEL and RSS beside the bridge's in the same row (upstream has no VXLAN plugin: flannel's
# CNI plugin only delegates to bridge; the bridge+host-local row above is the chain without
# it). The host netns holds a node's lease first (tests/bench/overlay-host.sh: a veth
# underlay, sluicectl node up on a dir:// store); the first warm-up ADD creates the device.
conf_bridge_ov='{"cniVersion": "1.0.0", "name": "bench-ov", "plugins": [
  {"type": "@bridge", "bridge": "bench0", "isGateway": true, "ipMasq": false,
   "ipam": {"type": "@host-local", "ranges": [[{"subnet": "10.88.0.0/16"}]],
            "dataDir": "@DATA@"}},
  {"type": "@vxlan-overlay", "subnetFile": "@DATA@/../sluice-node/subnet.env"}]}'
row bridge+vxlan-overlay "$conf_bridge_ov" sluice_only=1 host_setup=tests/bench/overlay-host.sh

# the VXLAN overlay across simulated nodes (tests/bench/overlay.sh): a lease -> the peer on a
# node's kernel, 1,000 leases at once against the floor, pod-to-pod TCP against iproute2
# shellcheck source=tests/bench/overlay.sh
. tests/bench/overlay.sh
overlay_row overlay-lease
overlay_row overlay-1000
overlay_row overlay-tcp

# NetworkPolicy (tests/bench/policy.sh): sluice-nft-policy's ADD over an empty store and over
# 1,000 pods x 200 policies, a policy change -> in force on three nodes (etcd, sluiced),
# pod-to-pod TCP with 200 policies in force, the whole ruleset of 5,000 pods x 1,000 policies
# rendered and committed and one pod's incremental change
# shellcheck source=tests/bench/policy.sh
. tests/bench/policy.sh
policy_row policy-add
policy_row policy-change
policy_row policy-tcp
policy_row policy-render
policy_row policy-render-named
