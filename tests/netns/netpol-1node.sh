#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Kubernetes NetworkPolicy, e2e-suite style, all pods on one node (tests/policy-lib.sh):
# namespaces x, y, z with pods a, b, c each through sluice-bridge + sluice-host-local ->
# sluice-nft-policy, sluiced keeping the node's table in step with the dir:// store. Each
# case applies its policies with sluicectl, waits with `sluicectl wait --revision N`, probes
# the 9x9 matrix on ports 80 and 81 over TCP and UDP at once (polprobe) and compares it with
# the truth table written for it; SCTP by raw INITs (sctpinit) and the rendered ruleset.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../overlay-lib.sh"
. "$(dirname "$0")/../policy-lib.sh"

for b in "$BIN/sluiced" "$BIN/sluicectl" "$BIN/sluice-bridge" "$BIN/sluice-host-local" \
	"$BIN/sluice-nft-policy" "$CNITOOL" "$TOOLS/polserve" "$TOOLS/polprobe" "$TOOLS/sctpinit"; do
	if [ ! -x "$b" ]; then
		fail built "no $b"
		exit 0
	fi
done
ip link set lo up
t0=$(date +%s%N)
pol_bringup 1node || {
	fail layout "not made (see above)"
	exit 0
}
echo "  layout up in $((($(date +%s%N) - t0) / 1000000)) ms"
pol_cases
echo "  all cases in $((($(date +%s%N) - t0) / 1000000)) ms"
exit 0
