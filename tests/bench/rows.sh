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
#   rc=FUNCTION          runtimeConfig: FUNCTION COUNT prints one JSON object per pod, in
#                        pod order (warm-up, prefill, measured); plugins get the keys
#                        their "capabilities" enable, as libcni gives them
#   prefill=K            K pods added before measuring, deleted after: existing state
#   prefill_conf=CONFLIST  the chain of the prefill pods (default: CONFLIST); a first
#                        plugin's literal "prevResult" is kept, so a chained plugin can be
#                        prefilled alone
#   shared_prefill_ns=1  prefill pods share one netns (for chains that make no interface)
#
# Rows to come look like:
#   row portmap "$conf_bridge_portmap" rc=ports_rc floor="$floor_bridge_portmap"
#   for k in 10 100 1000; do
#   	row "portmap, $k mappings" "$conf_bridge_portmap" rc=ports_rc prefill=$k \
#   		prefill_conf="$conf_portmap_alone" shared_prefill_ns=1
#   done
# with ports_rc() { seq 0 $(($1 - 1)) | awk '{ printf "{\"portMappings\":[{\"hostPort\":%d,
#   \"containerPort\":80,\"protocol\":\"tcp\"}]}\n", 20000 + $1 }'; }

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
row host-local "$conf_ipam" floor="$floor_ipam"
row "exec bridge" "$(version_of bridge)" verbs=VERSION floor="$(floor_exec_of bridge)"
row "exec host-local" "$(version_of host-local)" verbs=VERSION floor="$(floor_exec_of host-local)"
# scale: the same ADD/DEL with 1000 addresses already reserved (upstream's DEL walks them all)
row "host-local over 1000" "$conf_ipam" floor="$floor_ipam" prefill=1000 shared_prefill_ns=1 \
	n=$((N / 2 > 0 ? N / 2 : 1))
# DESIGN.md: closing an nft socket after a link delete waits for the deferred cleanup
row "floor, nft after veth" - floor="$floor_bridge_link_first"
