#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# `make demo`: sluice on a simulated node. The node is a network namespace of its own (the
# script re-runs itself under `unshare -n -m`), so the machine's own links, routes and
# nftables are never touched, and everything disappears when the demo ends.
set -eu
BIN=$(cd "${1:-build/bin}" && pwd)
UPSTREAM=${UPSTREAM:-/usr/lib/cni}
if [ -z "${SLUICE_DEMO_INNER:-}" ]; then
	exec env SLUICE_DEMO_INNER=1 unshare -n -m --propagation private bash "$0" "$BIN"
fi

TMP=$(mktemp -d /tmp/sluice-demo.XXXXXX)
PODS=(web api db)
cleanup() {
	for p in "${PODS[@]}"; do
		[ -e "/run/netns/demo-$p" ] || continue
		run_cni DEL "$p" >/dev/null 2>&1 || true
		ip netns del "demo-$p" 2>/dev/null || true
	done
	ip link del demo0 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@" 2>&1 | sed 's/^/  /'; }

cat >"$TMP/net.conflist" <<CONF
{
  "cniVersion": "1.0.0",
  "name": "demo",
  "plugins": [
    { "type": "bridge", "bridge": "demo0", "isGateway": true,
      "ipam": { "type": "sluice-host-local", "dataDir": "$TMP/ipam",
                "ranges": [[{ "subnet": "10.88.0.0/24" }], [{ "subnet": "fd88::/64" }]] } }
  ]
}
CONF

# run_cni VERB POD: what a runtime does for the list's one plugin
run_cni() {
	jq '.plugins[0] + {cniVersion, name}' "$TMP/net.conflist" |
		env -i CNI_COMMAND="$1" CNI_CONTAINERID="ctr-$2" CNI_NETNS="/run/netns/demo-$2" \
			CNI_IFNAME=eth0 CNI_PATH="$BIN:$UPSTREAM" "$UPSTREAM/bridge"
}

say "A node (its own network namespace) and three pods, addressed by sluice-host-local"
echo "  plugins: upstream bridge -> sluice-host-local (IPAM), config:"
sed 's/^/    /' "$TMP/net.conflist"
for p in "${PODS[@]}"; do
	ip netns add "demo-$p"
	ip -n "demo-$p" link set lo up
	printf '  ADD %-4s -> ' "$p"
	run_cni ADD "$p" | jq -c '[.ips[].address]'
done

say "What sluice-host-local wrote (the same files upstream host-local writes)"
show ls "$TMP/ipam/demo"
printf '  %s holds: %s\n' "$(ls "$TMP/ipam/demo" | head -1)" \
	"$(tr '\r\n' '  ' <"$TMP/ipam/demo/$(ls "$TMP/ipam/demo" | head -1)")"

say "Pods reach each other"
addr() { ip -n "demo-$1" -j addr show eth0 | jq -r ".[0].addr_info[] | select(.family==\"$2\" and .scope==\"global\") | .local"; }
for from in web api; do
	for to in api db; do
		[ "$from" = "$to" ] && continue
		a=$(addr "$to" inet)
		ip netns exec "demo-$from" ping -c1 -W2 "$a" >/dev/null && r=ok || r=FAILED
		printf '  %-4s -> %-4s %-12s %s\n' "$from" "$to" "$a" "$r"
	done
done
a=$(addr db inet6)
ip netns exec demo-web ping -6 -c1 -W3 "$a" >/dev/null && r=ok || r=FAILED
printf '  %-4s -> %-4s %-12s %s\n' web db "$a" "$r"

say "DEL every pod: addresses go back to the pool"
for p in "${PODS[@]}"; do
	run_cni DEL "$p"
	ip netns del "demo-$p"
	echo "  DEL $p"
done
show ls "$TMP/ipam/demo"
echo
echo "Done: everything the demo created is gone (the node namespace ends with this script)."
