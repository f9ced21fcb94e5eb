#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# sluiced, the node agent, on one simulated node (this test's own network namespace, a veth
# "eth0" holding the default route) over a dir:// store: it starts, writes subnet.env, the
# lease state, the conflist and its status file, creates sluice.1 and the masquerade table;
# a peer lease written by hand in flanneld's format becomes a neighbour, an FDB entry and an
# onlink route, and goes with its lease; a lease of another backend is skipped; its device or
# a peer route deleted by hand is put back; its own lease deleted is acquired again (same
# subnet); SIGHUP reads the config again (a new MTU); SIGTERM exits 0 leaving device,
# entries, table and lease; a restart keeps subnet and VTEP MAC and disturbs no peer; idle,
# it is not woken; the lease is renewed and the state file follows; usage errors exit 2 with
# a message; `sluicectl status` shows the node (lease, device, missing and extra peers, the
# agent). The multi-node overlay (pods, etcd) is tests/netns/overlay*.sh's.
set -u
# (before lib.sh, whose temporary directory an exec would leave behind)
if [ -z "${SLUICE_TEST_UNSHARED:-}" ]; then
	SLUICE_TEST_UNSHARED=1 exec unshare -n -m --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/../lib.sh"

# sluiced's defaults are host paths: every run below names its own, and a tmpfs over each
# default directory that exists (in this private mount namespace only) keeps a regression
# off the host
for d in /run/sluice /etc/cni/net.d /var/lib/sluice; do
	[ -d "$d" ] && { mount -t tmpfs -o mode=0755 sluiced-guard "$d" || exit 1; }
done

ip link set lo up
ip link add eth0 mtu 1500 type veth peer name eth0p
ip addr add 192.168.100.1/24 dev eth0
ip link set eth0 up
ip link set eth0p up
ip route add default via 192.168.100.254 dev eth0

STORE=dir://$T_TMP/store
P=/sluice/network
N=$T_TMP/node1
ENV=$N/subnet.env
STATUS=$N/subnet.agent.json
ctl() { "$BIN/sluicectl" --store "$STORE" "$@"; }
LOG=$T_TMP/sluiced.log
PID=

# agent [FLAGS]: starts sluiced for node1 in the background (log appended to $LOG), PID set
agent() {
	setsid "$BIN/sluiced" --store "$STORE" --subnet-file "$ENV" --cni-conf-dir "$N/net.d" \
		--ttl 60 "$@" 2>>"$LOG" &
	PID=$!
	defer "kill -KILL $PID"
}

# until_true SECONDS CMD...: polls CMD every 0.1 s; status 1 when it never succeeded (CMD is
# run anew each time: a function, never a "$(...)" that the caller expands once)
until_true() {
	local i n=$(($1 * 10))
	shift
	for ((i = 0; i < n; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
st() { jq -r "$1" "$STATUS" 2>/dev/null; }
rev_at_least() { [ "$(st .Revision)" -ge "$1" ] 2>/dev/null; }
peers_are() { [ "$(st '.Peers | length')" = "$1" ]; }
mod_rev() { ctl -o json store get "$1" | jq .mod_revision; }
gone() { ! kill -0 "$1" 2>/dev/null; }

# --- usage errors: status 2, the message, nothing started
usage() {
	local name=$1 want=$2 rc
	shift 2
	"$BIN/sluiced" "$@" >"$T_TMP/out" 2>"$T_TMP/err"
	rc=$?
	check_eq "usage-$name-status" 2 "$rc"
	check_eq "usage-$name-msg" "$want" "$(head -1 "$T_TMP/err")"
}
usage flag "sluiced: unknown flag '--bogus'" --bogus
usage ttl "sluiced: --ttl '0': needs a whole number between 1 and 315360000" --ttl 0
usage level "sluiced: --log-level 'loud': one of error, warn, info, debug" --log-level loud
usage ip "sluiced: --public-ip 'fd00::1': not an IPv4 address" --public-ip fd00::1
usage arg "sluiced: unexpected argument 'now'" now
usage value "sluiced: --store needs a value" --store
usage prefix "sluiced: --prefix must start with '/': 'p'" --prefix p
usage prefix-root "sluiced: --prefix must name a key below '/': '//'" --prefix //
check_eq usage-try "Try 'sluiced --help'." "$(sed -n 2p "$T_TMP/err")"
check help "$BIN/sluiced" --help
check_eq help-usage "Usage: sluiced [FLAGS]" "$("$BIN/sluiced" --help | head -1)"

# --- start before the network config exists: it waits (backoff), then starts
agent --log-level debug
sleep 0.3
check_eq waits-for-config "" "$(st .Lease)"
ctl config set -f - >/dev/null <<<'{"Network":"10.244.0.0/16","SubnetLen":24,"Backend":{"Type":"vxlan"}}'
has_lease() { [ -n "$(st .Lease)" ]; }
if until_true 10 has_lease; then pass started; else fail started "$(cat "$LOG")"; fi
check_eq config-wait-logged-once 1 "$(grep -c "no network config at $P/config yet (waiting for it)" "$LOG")"
KEY=$(st .Lease)
SN=$(st .Subnet)
check_eq status-pid "$PID" "$(st .PID)"
check_eq status-device sluice.1 "$(st .Device)"
check_eq status-store-up true "$(st .StoreUp)"
check_eq status-key-in-store "$SN" "$(ctl -o json leases | jq -r --arg k "$KEY" '.[] | select(.key == $k) | .subnet')"
check_eq env-subnet "FLANNEL_SUBNET=${SN%.0/24}.1/24" "$(grep FLANNEL_SUBNET= "$ENV")"
check_eq env-mtu "FLANNEL_MTU=1450" "$(grep FLANNEL_MTU= "$ENV")"
check_eq state-key "$KEY" "$(jq -r .Key "$N/subnet.lease.json")"
check_eq conflist-range "$SN" "$(jq -r '.plugins[0].ipam.ranges[0][0].subnet' "$N/net.d/10-sluice.conflist")"
check_eq device-mtu 1450 "$(jq '.[0].mtu' <<<"$(ip -j link show sluice.1)")"
MAC=$(jq -r '.[0].address' <<<"$(ip -j link show sluice.1)")
check_eq device-mac "$MAC" "$(jq -r .VtepMAC "$N/subnet.lease.json")"
check_eq device-addr "${SN%/24}/32" "$(ip -j addr show sluice.1 | jq -r '.[0].addr_info[] | select(.family == "inet") | "\(.local)/\(.prefixlen)"')"
check masq-table nft list table inet sluice_overlay

# --- a peer lease written by hand in flanneld's exact format
PEER=$P/subnets/10.244.77.0-24
ctl store put "$PEER" --ttl 600 -- '{"PublicIP":"192.168.100.7","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"82:3e:1c:5a:aa:01"}}' >/dev/null
R=$(mod_rev "$PEER")
if until_true 5 rev_at_least "$R"; then pass peer-applied; else fail peer-applied "$(cat "$STATUS")"; fi
check_eq peer-status "10.244.77.0/24 192.168.100.7 82:3e:1c:5a:aa:01 false" \
	"$(st '.Peers[0] | "\(.Subnet) \(.PublicIP) \(.VtepMAC) \(.Direct)"')"
peer_entries() {
	ip neigh show dev sluice.1 10.244.77.0 | grep -c '82:3e:1c:5a:aa:01 PERMANENT'
	bridge fdb show dev sluice.1 | grep -c '^82:3e:1c:5a:aa:01 dst 192.168.100.7 self permanent'
	ip route show 10.244.77.0/24 | grep -c 'via 10.244.77.0 dev sluice.1 proto 83 onlink'
}
entries_are() { [ "$(peer_entries | xargs)" = "$1" ]; }
check_eq peer-entries "1 1 1" "$(peer_entries | xargs)"

# --- the events ready at one wake-up: one batch; a later event on a key supersedes an
# earlier one; a changed VtepMAC leaves no FDB entry of the old MAC for a resync to remove.
# 20 peers at 10.244.(B + 1..20).0/24, one added and deleted at B + 25, away from our own
OWN=$(cut -d. -f3 <<<"$SN")
B=150
[ "$OWN" -ge $B ] && [ "$OWN" -le $((B + 25)) ] && B=200
# batch_n: how many lines of stdin name a 10.244.X.0/24 with X in B + 1..20
batch_n() { grep -oE '10\.244\.[0-9]+\.0/24' | awk -F. -v b=$B '$3 > b && $3 <= b + 20' | wc -l; }
kill -STOP "$PID"
for i in $(seq 1 20); do
	ctl store put "$P/subnets/10.244.$((B + i)).0-24" -- "{\"PublicIP\":\"10.9.0.$i\",\"BackendType\":\"vxlan\",\"BackendData\":{\"VNI\":1,\"VtepMAC\":\"82:3e:1c:5a:bb:$(printf %02x "$i")\"}}" >/dev/null
done
ctl store put "$P/subnets/10.244.$((B + 25)).0-24" -- '{"PublicIP":"10.9.0.99","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"82:3e:1c:5a:bb:99"}}' >/dev/null
ctl store del "$P/subnets/10.244.$((B + 25)).0-24" >/dev/null
ctl store put "$PEER" --ttl 600 -- '{"PublicIP":"192.168.100.7","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"82:3e:1c:5a:aa:02"}}' >/dev/null
R=$(mod_rev "$PEER")
: >"$LOG"
kill -CONT "$PID"
if until_true 5 rev_at_least "$R"; then pass batch-applied; else fail batch-applied "$(cat "$STATUS")"; fi
check_eq batch-peers 21 "$(st '.Peers | length')"
check_eq batch-one "1|21 IPv4 peer changes programmed in one batch" \
	"$(grep -c 'programmed in one batch' "$LOG")|$(grep -o '[0-9]* IPv4 peer changes programmed in one batch' "$LOG")"
check_eq batch-log-lines "20 1 0" "$(grep ' peer add ' "$LOG" | batch_n) \
$(grep -c ' peer replace 10.244.77.0/24 via 192.168.100.7 vtep 82:3e:1c:5a:aa:02' "$LOG") \
$(grep -c "10.244.$((B + 25)).0" "$LOG")"
check_eq batch-routes 20 "$(ip route show proto 83 | grep ' via ' | batch_n)"
check_eq mac-change-fdb "|192.168.100.7" "$(bridge fdb show dev sluice.1 | grep -c '^82:3e:1c:5a:aa:01' | sed 's/^0$//')|$(bridge fdb show dev sluice.1 | awk '/^82:3e:1c:5a:aa:02/ {print $3}')"
# a resync (the monitor's, after our own changes) finds nothing to fix: no stray was left
sleep 0.5
check_eq mac-change-no-stray "" "$(grep 'stray' "$LOG")"
# back as it was, all in one batch again
kill -STOP "$PID"
for i in $(seq 1 20); do ctl store del "$P/subnets/10.244.$((B + i)).0-24" >/dev/null; done
ctl store put "$PEER" --ttl 600 -- '{"PublicIP":"192.168.100.7","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"82:3e:1c:5a:aa:01"}}' >/dev/null
R=$(mod_rev "$PEER")
kill -CONT "$PID"
if until_true 5 rev_at_least "$R"; then pass batch-del-applied; else fail batch-del-applied "$(cat "$STATUS")"; fi
check_eq batch-del "1|0|1 1 1" "$(st '.Peers | length')|$(ip route show proto 83 | batch_n)|$(peer_entries | xargs)"

# a lease of another backend is no peer
ctl store put "$P/subnets/10.244.78.0-24" -- '{"PublicIP":"192.168.100.8","BackendType":"host-gw","BackendData":null}' >/dev/null
R=$(mod_rev "$P/subnets/10.244.78.0-24")
until_true 5 rev_at_least "$R"
check_eq other-backend-skipped 1 "$(st '.Peers | length')"
check_eq other-backend-no-route "" "$(ip route show 10.244.78.0/24)"
grep -q "lease $P/subnets/10.244.78.0-24: backend type 'host-gw' is not vxlan, skipped" "$LOG" &&
	pass other-backend-logged || fail other-backend-logged

# --- what someone deletes by hand is put back within a second
ip route del 10.244.77.0/24
if until_true 2 entries_are "1 1 1"; then pass route-restored; else fail route-restored "$(ip route)"; fi
ip link del sluice.1
if until_true 2 entries_are "1 1 1"; then pass device-restored; else fail device-restored "$(ip -d link)"; fi
check_eq device-restored-mac "$MAC" "$(jq -r '.[0].address' <<<"$(ip -j link show sluice.1)")"

# --- the peer's lease goes: its entries go
ctl store del "$PEER" >/dev/null
if until_true 5 peers_are 0; then pass peer-removed; else fail peer-removed "$(cat "$STATUS")"; fi
check_eq peer-entries-gone "0 0 0" "$(peer_entries | xargs)"

# --- our own lease deleted (revoked): acquired again, the same subnet
own_lease() { ctl -o json leases | jq -r --arg k "$KEY" ".[] | select(.key == \$k) | .$1"; }
own_subnet_is() { [ "$(own_lease subnet)" = "$1" ]; }
ctl store del "$KEY" >/dev/null
if until_true 5 own_subnet_is "$SN"; then
	pass reacquired-same-subnet
else
	fail reacquired-same-subnet "$(ctl leases)" "$(tail -5 "$LOG")"
fi
check_eq reacquired-mac "$MAC" "$(own_lease vtepMAC)"
grep -q "lease $SN (previous) public IP 192.168.100.1 vtep $MAC" "$LOG" && pass reacquired-logged ||
	fail reacquired-logged "$(tail -5 "$LOG")"

# --- SIGHUP: the config read again and applied (a new MTU)
ctl config set -f - >/dev/null <<<'{"Network":"10.244.0.0/16","SubnetLen":24,"Backend":{"Type":"vxlan","MTU":1400}}'
kill -HUP "$PID"
mtu_is() { [ "$(jq '.[0].mtu' <<<"$(ip -j link show sluice.1)")" = "$1" ]; }
if until_true 5 mtu_is 1350; then pass sighup-mtu; else fail sighup-mtu "$(tail -5 "$LOG")"; fi
until_true 2 grep -q FLANNEL_MTU=1350 "$ENV" && pass sighup-env || fail sighup-env "$(cat "$ENV")"

# --- SIGTERM: exits 0 leaving the device, the peer, the table and the lease
ctl store put "$PEER" -- '{"PublicIP":"192.168.100.7","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"82:3e:1c:5a:aa:01"}}' >/dev/null
until_true 5 peers_are 1
kill -TERM "$PID"
until_true 10 gone "$PID"
wait "$PID"
check_eq sigterm-status 0 "$?"
check sigterm-device-left ip link show sluice.1
check_eq sigterm-peer-left "1 1 1" "$(peer_entries | xargs)"
check sigterm-table-left nft list table inet sluice_overlay
check_eq sigterm-lease-left "$SN" "$(own_lease subnet)"

# --- sluicectl status: the node view (agent not running)
ctl status --subnet-file "$ENV" >"$T_TMP/out" 2>&1
check_eq status-node-dead-exit 0 "$?"
check_eq status-node-json-agent false "$(ctl -o json status --subnet-file "$ENV" | jq .node.agent.running)"

# --- a restart: same subnet, same VTEP MAC, the live peer untouched
: >"$LOG"
agent
restarted() { [ "$(st .PID)" = "$PID" ] && peers_are 1; }
if until_true 10 restarted; then pass restarted; else fail restarted "$(cat "$LOG")"; fi
check_eq restart-subnet "$SN" "$(st .Subnet)"
check_eq restart-mac "$MAC" "$(jq -r '.[0].address' <<<"$(ip -j link show sluice.1)")"
check_eq restart-peer-untouched "" "$(grep ' peer ' "$LOG")"

# --- idle, it sleeps in epoll_wait: no context switch and no CPU time over a second (three
# tries, in case the kernel itself had something to say on the node then)
switches() {
	awk '/ctxt_switches/ {printf "%s ", $2}' "/proc/$PID/status"
	cut -d' ' -f14,15 "/proc/$PID/stat"
}
idle=no
for i in 1 2 3; do
	s0=$(switches)
	sleep 1
	[ "$(switches)" = "$s0" ] && { idle=yes; break; }
done
check_eq idle-no-wakeups yes "$idle"

# --- sluicectl status: the node view with the agent running
J=$(ctl -o json status --subnet-file "$ENV")
check_eq status-node-subnet "$SN" "$(jq -r .node.lease.subnet <<<"$J")"
check_eq status-node-agent true "$(jq .node.agent.running <<<"$J")"
check_eq status-node-device sluice.1 "$(jq -r '.node.devices[0].name' <<<"$J")"
check_eq status-node-peers "1 1 0 0" "$(jq -r '.node.peers | "\(.kernel) \(.store) \(.missing | length) \(.extra | length)"' <<<"$J")"
check_eq status-store-kept true "$(jq .reachable <<<"$J")"
kill -STOP "$PID" # so that it cannot repair anything before status looks
ip route del 10.244.77.0/24
ip neigh add 10.244.99.0 lladdr 02:00:00:00:00:99 dev sluice.1 nud permanent
J=$(ctl -o json status --subnet-file "$ENV")
kill -CONT "$PID"
check_eq status-node-missing 10.244.77.0/24 "$(jq -r '.node.peers.missing[0]' <<<"$J")"
check_eq status-node-extra 10.244.99.0/32 "$(jq -r '.node.peers.extra[0]' <<<"$J")"
repaired() { entries_are "1 1 1" && [ -z "$(ip neigh show dev sluice.1 10.244.99.0)" ]; }
if until_true 2 repaired; then pass stray-removed-route-restored; else fail stray-removed-route-restored "$(ip neigh show dev sluice.1)"; fi
ctl status --subnet-file "$ENV" >"$T_TMP/out" 2>&1
grep -q "^AGENT" "$T_TMP/out" && pass status-node-table || fail status-node-table "$(cat "$T_TMP/out")"
kill -TERM "$PID"
until_true 10 gone "$PID"

# --- renewal: with a 6 s TTL it renews after 4 s (the margin capped to a third), the lease
# keeps its key and the state file gets the new expiry
: >"$LOG"
agent --ttl 6
started() { [ "$(st .PID)" = "$PID" ]; }
until_true 10 started
E0=$(jq .Expires "$N/subnet.lease.json")
expiry_moved() { [ "$(jq .Expires "$N/subnet.lease.json")" -gt "$E0" ]; }
if until_true 10 expiry_moved; then pass renewed-state-expiry; else fail renewed-state-expiry "$(cat "$LOG")"; fi
grep -q "lease $KEY renewed for 6 s" "$LOG" && pass renewed-logged || fail renewed-logged "$(cat "$LOG")"
check_eq renewed-same-subnet "$SN" "$(own_lease subnet)"
kill -TERM "$PID"
until_true 10 gone "$PID"
