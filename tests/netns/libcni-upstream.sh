#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Proves tests/libcni/cnitool (the real libcni 1.1.2 with its result cache) against the upstream
# reference plugins: bridge + host-local + portmap, cniVersion 1.0.0. Two pods are added in
# their own netns, reach each other and a hostPort, pass CHECK, and are deleted twice without
# leaving veths, host-local leases, portmap rules or cache entries behind.
# Runs as root under `unshare -n -m` (tests/run.sh): the "host" here is a private netns.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

CNITOOL=${BUILD_DIR:-build}/tests/cnitool
UPSTREAM=${UPSTREAM:-/usr/lib/cni}
if [ ! -x "$CNITOOL" ]; then
	fail "cnitool-built" "missing $CNITOOL (make -f Makefile -f tests/libcni/libcni.mk BUILD=... \$(BUILD)/tests/cnitool)"
	exit 0
fi
for p in bridge host-local portmap; do
	if [ ! -x "$UPSTREAM/$p" ]; then
		fail "upstream-plugins" "missing $UPSTREAM/$p (containernetworking-plugins)"
		exit 0
	fi
done

NET=lcu-net
CACHE=$T_TMP/cache
IPAM=$T_TMP/ipam
CONF=$T_TMP/$NET.conflist
CONF_NOPM=$T_TMP/$NET-noportmap.conflist
NS_A=lcu-a-$$
NS_B=lcu-b-$$
CID_A=lcu-cid-a-$$
CID_B=lcu-cid-b-$$
HOSTPORT=18080
CAPS_B='{"portMappings":[{"hostPort":'$HOSTPORT',"containerPort":80,"protocol":"tcp"}]}'

cat >"$CONF" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "$NET",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "lcubr0",
      "isGateway": true,
      "ipMasq": false,
      "ipam": {
        "type": "host-local",
        "dataDir": "$IPAM",
        "ranges": [[{ "subnet": "10.99.0.0/24" }], [{ "subnet": "fd99::/64" }]],
        "routes": [{ "dst": "0.0.0.0/0" }, { "dst": "::/0" }]
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true }, "snat": true }
  ]
}
EOF

ct() { "$CNITOOL" -cachedir "$CACHE" -path "$UPSTREAM" "$@"; }
k8s_args() { echo "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=$1"; }
veths() { ip -o link show type veth 2>/dev/null | wc -l; }
lease_files() { find "$IPAM" -type f \( -name '10.99.0.*' -o -name 'fd99:*' \) 2>/dev/null | wc -l; }
hostport_rules() { { iptables -t nat -S; ip6tables -t nat -S; } 2>/dev/null | grep -c -- "--dport $HOSTPORT"; }

ip link set lo up

# --- the driver itself
check "version-json" bash -c "'$CNITOOL' -path '$UPSTREAM' version bridge | jq -e '.supportedVersions | index(\"1.0.0\")'"
rc=0
ct status "$CONF" >/dev/null 2>&1 || rc=$?
check "status-unsupported-or-ok" test "$rc" -eq 2 -o "$rc" -eq 0
rc=0
ct gc "$CONF" >/dev/null 2>&1 || rc=$?
check "gc-unsupported-or-ok" test "$rc" -eq 2 -o "$rc" -eq 0
rc=0
"$CNITOOL" -path "$UPSTREAM" add "$CONF" x /nonexistent >/dev/null 2>&1 || rc=$?
check_eq "add-requires-cachedir" 3 "$rc"

mk_netns "$NS_A" || { fail "netns"; exit 0; }
mk_netns "$NS_B" || { fail "netns"; exit 0; }
# deferred after mk_netns, so they run first at exit (LIFO): the DELs still find the netns
defer "'$CNITOOL' -cachedir '$CACHE' -path '$UPSTREAM' del '$CONF' $CID_A /run/netns/$NS_A"
defer "'$CNITOOL' -cachedir '$CACHE' -path '$UPSTREAM' del '$CONF' $CID_B /run/netns/$NS_B"

# --- ADD
res_a=$(ct -args "$(k8s_args pod-a)" add "$CONF" "$CID_A" "/run/netns/$NS_A" eth0)
check_eq "add-a" 0 "$?"
res_b=$(ct -args "$(k8s_args pod-b)" -caps "$CAPS_B" add "$CONF" "$CID_B" "/run/netns/$NS_B")
check_eq "add-b" 0 "$?"
v4() { jq -r '[.ips[]? | select(.address | contains(":") | not)][0].address // empty' | cut -d/ -f1; }
v6() { jq -r '[.ips[]? | select(.address | contains(":"))][0].address // empty' | cut -d/ -f1; }
ip_a=$(v4 <<<"$res_a")
ip_b=$(v4 <<<"$res_b")
ip6_a=$(v6 <<<"$res_a")
ip6_b=$(v6 <<<"$res_b")
check_eq "result-version" "1.0.0" "$(jq -r .cniVersion <<<"$res_a")"
check "result-ip-a" bash -c "[[ '$ip_a' == 10.99.0.* ]]"
check "result-ip-b" bash -c "[[ '$ip_b' == 10.99.0.* && '$ip_b' != '$ip_a' ]]"
check "result-ip6" bash -c "[[ '$ip6_a' == fd99::* && '$ip6_b' == fd99::* && '$ip6_a' != '$ip6_b' ]]"
check_eq "result-gateways" "10.99.0.1 fd99::1" "$(jq -r '[.ips[].gateway] | join(" ")' <<<"$res_a")"
check_eq "result-sandbox-if" "eth0 /run/netns/$NS_A" \
	"$(jq -r '.interfaces[] | select(.sandbox != null and .sandbox != "") | "\(.name) \(.sandbox)"' <<<"$res_a")"
check "pod-a-addr" bash -c "ip -n '$NS_A' -4 -o addr show dev eth0 | grep -q ' $ip_a/24 '"
check_eq "veths-after-add" 2 "$(veths)"
check_eq "leases-after-add" 4 "$(lease_files)"

# --- the libcni result cache
cache_a=$CACHE/results/$NET-$CID_A-eth0
cache_b=$CACHE/results/$NET-$CID_B-eth0
check "cache-file-a" test -f "$cache_a"
check "cache-file-b" test -f "$cache_b"
check "cache-kind" jq -e '.kind == "cniCacheV1" and .ifName == "eth0" and .networkName == "'$NET'"' "$cache_a"
check "cache-result" jq -e 'any(.result.ips[]; .address == "'"$ip_a"'/24")' "$cache_a"
check "cache-cniargs" jq -e 'any(.cniArgs[]; . == ["K8S_POD_NAME", "pod-b"])' "$cache_b"
check "cache-caps" jq -e ".capabilityArgs.portMappings[0].hostPort == $HOSTPORT" "$cache_b"

# --- traffic: pod to pod, and a hostPort (portmap DNAT) from the host to pod B
check "ping-a-to-b" ip netns exec "$NS_A" ping -c1 -W2 "$ip_b"
check "ping-b-to-a" ip netns exec "$NS_B" ping -c1 -W2 "$ip_a"
check "ping6-a-to-b" ip netns exec "$NS_A" ping -6 -c1 -W2 "$ip6_b"
check "portmap-rules" test "$(hostport_rules)" -gt 0
ip netns exec "$NS_B" socat -T5 -t5 TCP-LISTEN:80,reuseaddr SYSTEM:"read -r _; echo hello-from-b" &
srv=$!
defer "kill $srv"
for _ in $(seq 50); do
	ip netns exec "$NS_B" ss -Hltn 'sport = :80' | grep -q . && break
	sleep 0.1
done
check_eq "hostport-dnat" "hello-from-b" "$(timeout 5 socat -T3 -t3 - TCP:10.99.0.1:$HOSTPORT </dev/null 2>&1)"
kill "$srv" 2>/dev/null
wait "$srv" 2>/dev/null

# --- CHECK (libcni feeds the cached result as prevResult)
check "check-a" ct check "$CONF" "$CID_A" "/run/netns/$NS_A"
# Pod B through the same network name without portmap: bridge + host-local CHECK its cached result.
jq 'del(.plugins[1])' "$CONF" >"$CONF_NOPM"
check "check-b-bridge" ct check "$CONF_NOPM" "$CID_B" "/run/netns/$NS_B"
# Upstream portmap <= v1.1.x checks its IPv4 DNAT chain in ip6tables as well, so CHECK with
# portMappings fails whenever ip6tables works (containernetworking/plugins#819). Accept that
# exact failure (the error must still arrive as CNI error JSON) or a pass, from a fixed portmap.
known_819() { # CNITOOL-ARGS...: passes, or fails only with portmap's ipv6 dnat check error
	local out rc=0
	out=$(ct "$@" 2>/dev/null) || rc=$?
	[ "$rc" -eq 0 ] || { [ "$rc" -eq 1 ] && jq -e '.code == 999 and (.msg | startswith("could not check ipv6 dnat"))' <<<"$out"; }
}
check "check-b-portmap" known_819 -caps "$CAPS_B" check "$CONF" "$CID_B" "/run/netns/$NS_B"
check "check-b-portmap-cached-config" known_819 -cached-config check "$CONF" "$CID_B" "/run/netns/$NS_B"
ip -n "$NS_A" addr del "$ip_a/24" dev eth0
out=$(ct check "$CONF" "$CID_A" "/run/netns/$NS_A" 2>/dev/null)
check_eq "check-broken-fails" 1 "$?"
check "check-broken-error-json" jq -e '(.code | type) == "number" and (.msg | length) > 0' <<<"$out"

# --- DEL, twice each
check "del-a" ct del "$CONF" "$CID_A" "/run/netns/$NS_A"
check "del-a-again" ct del "$CONF" "$CID_A" "/run/netns/$NS_A"
check "del-b-cached-config" ct -cached-config del "$CONF" "$CID_B" "/run/netns/$NS_B"
check "del-b-again" ct -caps "$CAPS_B" del "$CONF" "$CID_B" "/run/netns/$NS_B"

# --- nothing left
check_eq "no-veths" 0 "$(veths)"
check_eq "no-leases" 0 "$(lease_files)"
check_eq "no-portmap-rules" 0 "$(hostport_rules)"
check "no-cache-a" test ! -e "$cache_a"
check "no-cache-b" test ! -e "$cache_b"
check_eq "no-pod-eth0" "" "$(ip -n "$NS_B" -o link show eth0 2>/dev/null)"
