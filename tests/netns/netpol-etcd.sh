#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The two-node NetworkPolicy suite (netpol-2node.sh) with the cluster's store in etcd (in
# the underlay): each node's sluiced mirrors namespaces, pods and policies, and the other
# node's endpoints, into a dir:// store of its own that its sluice-nft-policy reads, and its
# own endpoints back to etcd. The cases that exercise the mirror (isolation, peers on the
# other node, label changes, a pod restarted, a new pod, policy updates) unless NETPOL_ALL=1.
set -u
. "$(dirname "$0")/../lib.sh"
OV_STORE=etcd://192.168.100.254:2379
. "$(dirname "$0")/../overlay-lib.sh"
. "$(dirname "$0")/../policy-lib.sh"

for b in "$BIN/sluiced" "$BIN/sluicectl" "$BIN/sluice-bridge" "$BIN/sluice-host-local" \
	"$BIN/sluice-nft-policy" "$BIN/sluice-vxlan-overlay" "$CNITOOL" "$TOOLS/polserve" \
	"$TOOLS/polprobe" "$TOOLS/sctpinit"; do
	if [ ! -x "$b" ]; then
		fail built "no $b"
		exit 0
	fi
done
command -v etcd >/dev/null || {
	fail built "no etcd"
	exit 0
}
ip link set lo up
t0=$(date +%s%N)
pol_bringup 2node || {
	fail layout "not made (see above)"
	exit 0
}
echo "  layout up in $((($(date +%s%N) - t0) / 1000000)) ms"
[ "${NETPOL_ALL:-}" = 1 ] || POL_ONLY=${POL_ONLY:-"open isolation peers changes labels pod_restart new_pod"}
pol_cases
echo "  all cases in $((($(date +%s%N) - t0) / 1000000)) ms"
exit 0
