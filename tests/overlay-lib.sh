# SPDX-License-Identifier: Apache-2.0
# Simulated overlay nodes on one machine (tests/netns/overlay*.sh, make demo, make bench).
# Source it after tests/lib.sh (defer, mk_netns, T_TMP; BIN set). The topology, fixed by
# issue 11's plan:
#   - an "underlay" namespace holding bridge br0 (192.168.100.254/24, fd00:100::254/64),
#     also the default gateway of every node and the home of etcd when the store is etcd;
#   - node N: namespace "nodeN" (its host side), veth eth0 into the underlay's bridge,
#     192.168.100.N/24 (and fd00:100::N/64 when dual), default route via .254 (so eth0 is
#     the default-route interface sluiced finds), its files under $OV_DIR/nodeN:
#     subnet.env, subnet.lease.json, subnet.agent.json, net.d/10-sluice.conflist, agent.log;
#   - pods: namespaces of their own, added through node N's rendered conflist
#     (sluice-bridge -> sluice-vxlan-overlay -> sluice-nft-policy -> sluice-portmap ->
#     sluice-bandwidth) by
#     Debian's libcni (tests' cnitool) running inside node N's namespace.
# Everything is removed at exit (defer), by PID and by name, even when the caller fails.
# Settings (before the first call): OV_DIR (default $T_TMP), OV_STORE (default
# dir://$OV_DIR/store), OV_PREFIX (default /sluice/network), CNITOOL (default
# $BUILD_DIR/tests/cnitool).
# shellcheck shell=bash disable=SC2034 # OV_WAITED, OV_* are for the callers

OV_DIR=${OV_DIR:-$T_TMP}
OV_STORE=${OV_STORE:-dir://$OV_DIR/store}
OV_PREFIX=${OV_PREFIX:-/sluice/network}
CNITOOL=${CNITOOL:-${BUILD_DIR:-$BIN/..}/tests/cnitool}
OV_UNDERLAY=underlay
# OV_KEEP=DIR: the agents' logs copied there at exit (debugging a failure)
[ -z "${OV_KEEP:-}" ] || defer "mkdir -p '$OV_KEEP' && for f in '$OV_DIR'/node*/agent.log; do cp \"\$f\" '$OV_KEEP'/\$(basename \$(dirname \"\$f\")).log; done"
declare -A OV_AGENT=() # node number -> sluiced's PID
declare -A OV_POD_NODE=() # pod name -> node number
declare -A OV_POD_CONF=() # pod name -> the conflist its ADD ran

# ovctl ARGS...: sluicectl on the shared store, from the test's own namespace for dir://
# (the files are the same everywhere) and from the underlay's for etcd:// (its 127.0.0.1
# is not where etcd listens: 192.168.100.254 is reachable from the underlay only)
ovctl() {
	case $OV_STORE in
	dir://*) "$BIN/sluicectl" --store "$OV_STORE" --prefix "$OV_PREFIX" "$@" ;;
	*) ip netns exec "$OV_UNDERLAY" "$BIN/sluicectl" --store "$OV_STORE" --prefix "$OV_PREFIX" "$@" ;;
	esac
}

# make_underlay: the underlay namespace and its bridge; forwards between its ports and
# to "outside" namespaces (make_outside)
make_underlay() {
	mk_netns "$OV_UNDERLAY" || return 1
	ip -n "$OV_UNDERLAY" link add br0 type bridge &&
		ip -n "$OV_UNDERLAY" addr add 192.168.100.254/24 dev br0 &&
		ip -n "$OV_UNDERLAY" addr add fd00:100::254/64 dev br0 nodad &&
		ip -n "$OV_UNDERLAY" link set br0 up &&
		ip netns exec "$OV_UNDERLAY" sysctl -qw net.ipv4.ip_forward=1 \
			net.ipv6.conf.all.forwarding=1
}

# make_outside NAME ADDR: a namespace NAME outside the cluster, reached through the
# underlay (its veth "o-NAME" there with 192.168.200.254/24, NAME's eth0 ADDR/24 with a
# default route back), e.g. the internet a pod's masqueraded traffic goes to
make_outside() {
	mk_netns "$1" || return 1
	ip -n "$OV_UNDERLAY" link add "o-$1" type veth peer name eth0 netns "$1" &&
		ip -n "$OV_UNDERLAY" addr add 192.168.200.254/24 dev "o-$1" &&
		ip -n "$OV_UNDERLAY" link set "o-$1" up &&
		ip -n "$1" addr add "$2/24" dev eth0 &&
		ip -n "$1" link set eth0 up &&
		ip -n "$1" route add default via 192.168.200.254
}

# make_node N [dual]: node N's namespace, its veth into the underlay bridge with
# 192.168.100.N/24 (and fd00:100::N/64 with dual), forwarding on, its directory
make_node() {
	local n=$1 ns=node$1
	mk_netns "$ns" || return 1
	mkdir -p "$OV_DIR/$ns/net.d"
	ip -n "$OV_UNDERLAY" link add "n$n" type veth peer name eth0 netns "$ns" &&
		ip -n "$OV_UNDERLAY" link set "n$n" master br0 up &&
		ip -n "$ns" addr add "192.168.100.$n/24" dev eth0 &&
		ip -n "$ns" link set eth0 up &&
		ip -n "$ns" route add default via 192.168.100.254 &&
		ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1 || return 1
	if [ "${2:-}" = dual ]; then
		ip -n "$ns" addr add "fd00:100::$n/64" dev eth0 nodad &&
			ip -n "$ns" route add default via fd00:100::254 &&
			ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.forwarding=1 || return 1
	fi
}

# node_file N NAME: the path of node N's file NAME (subnet.env, subnet.agent.json...)
node_file() { echo "$OV_DIR/node$1/$2"; }

# start_agent N [FLAGS...]: sluiced in node N's namespace on the shared store, its files
# in node N's directory, its log appended to agent.log there; PID in OV_AGENT[N]; stopped
# at exit. FLAGS go last (--ttl 5, --no-ip-masq...). NetworkPolicy is on (sluiced's
# default): on etcd, each node's local store (what its sluice-nft-policy reads, the agent's
# mirror) is dir://<node's directory>/store; on dir://, the shared store itself.
start_agent() {
	local n=$1 d=$OV_DIR/node$1 local=()
	shift
	[ -n "${OV_AGENT[$n]+x}" ] || defer "stop_agent $n KILL"
	case $OV_STORE in
	dir://*) ;;
	*) local=(--local-store "dir://$d/store") ;;
	esac
	ip netns exec "node$n" "$BIN/sluiced" --store "$OV_STORE" --prefix "$OV_PREFIX" \
		--subnet-file "$d/subnet.env" --cni-conf-dir "$d/net.d" --node-name "node$n" \
		--log-level debug "${local[@]}" "$@" >>"$d/agent.log" 2>&1 &
	OV_AGENT[$n]=$!
	disown $! # bash would report a SIGKILL on the test's output
}

# stop_agent N [SIGNAL]: sends SIGNAL (TERM) to node N's sluiced, waits up to 5 s for it
# to exit (then KILL). Status 0.
stop_agent() {
	local pid=${OV_AGENT[$1]:-}
	[ -n "$pid" ] || return 0
	stop_pid "$pid" "${2:-TERM}" 50
	OV_AGENT[$1]=
	return 0
}

# ms_of SECONDS: "1.5" -> 1500 (awk's %d stops at 2^31: nanoseconds would not fit)
ms_of() { awk -v t="$1" 'BEGIN { printf "%d", t * 1000 }'; }

# wait_status N JQ TIMEOUT: polls node N's agent status file until `jq -e JQ` holds, for up
# to TIMEOUT seconds (fractions allowed). Status 0 when it did; OV_WAITED is the time
# waited in milliseconds.
wait_status() {
	local f=$OV_DIR/node$1/subnet.agent.json t0 now end
	t0=$(date +%s%N)
	end=$((t0 + $(ms_of "$3") * 1000000))
	while :; do
		if jq -e "$2" "$f" >/dev/null 2>&1; then
			OV_WAITED=$((($(date +%s%N) - t0) / 1000000))
			return 0
		fi
		now=$(date +%s%N)
		if [ "$now" -ge "$end" ]; then
			OV_WAITED=$(((now - t0) / 1000000))
			return 1
		fi
		sleep 0.05
	done
}

# wait_for TIMEOUT CMD...: runs CMD until it succeeds, for up to TIMEOUT seconds; status 0
# when it did; OV_WAITED in milliseconds
wait_for() {
	local t0 now end
	t0=$(date +%s%N)
	end=$((t0 + $(ms_of "$1") * 1000000))
	shift
	while :; do
		if "$@" >/dev/null 2>&1; then
			OV_WAITED=$((($(date +%s%N) - t0) / 1000000))
			return 0
		fi
		now=$(date +%s%N)
		if [ "$now" -ge "$end" ]; then
			OV_WAITED=$(((now - t0) / 1000000))
			return 1
		fi
		sleep 0.05
	done
}

# node_conflist N: node N's rendered conflist with the IPAM data dir moved into its
# directory (sluice-host-local's default is the host's /var/lib/cni/networks), printed
node_conflist() {
	jq --arg d "$OV_DIR/node$1/ipam" \
		'.plugins |= map(if .ipam then .ipam.dataDir = $d else . end)' \
		"$OV_DIR/node$1/net.d/10-sluice.conflist"
}

# ov_cni N VERB NAME [CONFLIST]: libcni runs VERB of node N's conflist (CONFLIST, else the
# rendered one as pod NAME's first call found it, kept for its later calls) for pod NAME (container ctr-NAME, namespace NAME, eth0) inside node N's
# namespace; stdout libcni's result or the plugin's error JSON, the status cnitool's
ov_cni() {
	local n=$1 conf=${4:-$OV_DIR/node$1/pod-$3.conflist}
	[ -n "${4:-}" ] || [ -e "$conf" ] || node_conflist "$n" >"$conf" || return 1
	timeout 60 ip netns exec "node$n" "$CNITOOL" -cachedir "$OV_DIR/node$n/cache" \
		-path "$BIN" "$2" "$conf" "ctr-$3" "/run/netns/$3" eth0
}

# add_pod N NAME [CONFLIST]: pod NAME (a namespace) on node N through its conflist; the
# result in $OV_DIR/nodeN/NAME.json, the plugin's error there too; status cnitool's. DEL at
# exit, and the namespace removed.
add_pod() {
	local n=$1 name=$2 rc
	mk_netns "$name" || return 1
	OV_POD_NODE[$name]=$n
	OV_POD_CONF[$name]=${3:-$OV_DIR/node$n/pod-$name.conflist}
	defer "del_pod $name"
	ov_cni "$n" add "$name" "${3:-}" >"$OV_DIR/node$n/$name.json" 2>"$OV_DIR/node$n/$name.err"
	rc=$?
	return $rc
}

# del_pod NAME: DEL of pod NAME on its node (status cnitool's)
del_pod() {
	local n=${OV_POD_NODE[$1]:-}
	[ -n "$n" ] || return 1
	ov_cni "$n" del "$1" "${OV_POD_CONF[$1]}"
}

# pod_ip NAME [4|6]: the pod's global address of that family on eth0
pod_ip() {
	local fam=inet
	[ "${2:-4}" = 6 ] && fam=inet6
	ip -n "$1" -j addr show eth0 2>/dev/null |
		jq -r --arg f "$fam" '.[0].addr_info[]? | select(.family==$f and .scope=="global") | .local' |
		head -1
}

# node_subnet N [6]: node N's lease subnet as its agent status says
node_subnet() {
	jq -r "if \"${2:-4}\" == \"6\" then .Subnet6 else .Subnet end" \
		"$OV_DIR/node$1/subnet.agent.json" 2>/dev/null
}

# ping_within NETNS ADDR SECONDS: one echo answered within SECONDS (each try waits 1 s)
ping_within() {
	wait_for "$3" ip netns exec "$1" ping -c1 -W1 "$2"
}
