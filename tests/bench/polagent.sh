#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# cnibench's -H program of the policy-add row (tests/bench/policy.sh) with an agent: starts
# sluiced in the variant's host netns (VARIANT HOST_NETNS_PATH), on the variant's store, with
# the variant's runDir as its run directory (policy.lock, policy.sock), and returns once it
# has set the table and listens on policy.sock. Its PID goes to
# $POL_AGENT_DIR/agent-VARIANT.pid (policy.sh stops it by that PID).
set -u
v=$1 ns=$2 d=$POL_AGENT_DIR
setsid nsenter --net="$ns" "$POL_AGENT_BIN/sluiced" --store "dir://$d/store-$v" \
	--subnet-file "$d/run-$v/subnet.env" --cni-conf-dir "$d/net-$v" --node-name bench \
	--log-level info 2>>"$d/agent-$v.log" </dev/null >/dev/null &
echo $! >"$d/agent-$v.pid"
for _ in $(seq 1 1200); do
	if [ -S "$d/run-$v/policy.sock" ] && grep -q 'table sluice_policy set' "$d/agent-$v.log"; then
		exit 0
	fi
	kill -0 "$(cat "$d/agent-$v.pid")" 2>/dev/null || break
	sleep 0.05
done
echo "polagent: sluiced of variant $v not ready" >&2
exit 1
