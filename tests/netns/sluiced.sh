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
# it is not woken; the lease is renewed and the state file follows; --no-ip-masq recorded in
# the state (IPMasq) and subnet.env; usage errors exit 2 with
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
# one deferred kill, of the agent still running at exit only: PID is cleared once it is gone
# shellcheck disable=SC2016 # (evaluated at exit)
defer '[ -z "$PID" ] || kill -KILL "$PID"'

# agent [FLAGS]: starts sluiced for node1 in the background (log appended to $LOG), PID set
agent() {
	setsid "$BIN/sluiced" --store "$STORE" --subnet-file "$ENV" --cni-conf-dir "$N/net.d" \
		--ttl 60 "$@" 2>>"$LOG" &
	PID=$!
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
waiting_logged() { grep -q "no network config at $P/config yet" "$LOG"; }
if until_true 10 waiting_logged; then pass waits-for-config-logged; else fail waits-for-config-logged "$(cat "$LOG")"; fi
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
check_eq state-ipmasq "true FLANNEL_IPMASQ=true" \
	"$(jq .IPMasq "$N/subnet.lease.json") $(grep FLANNEL_IPMASQ= "$ENV")"
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
# (the time measured from the deletion, asserted under 1000 ms; 5 s of waiting for diagnostics)
ip route del 10.244.77.0/24
MS=$(ms_until 5 entries_are "1 1 1")
check_ms route-restored 1000 "$MS"
ip link del sluice.1
MS=$(ms_until 5 entries_are "1 1 1") || ip -d link
check_ms device-restored 1000 "$MS"
check_eq device-restored-mac "$MAC" "$(jq -r '.[0].address' <<<"$(ip -j link show sluice.1)")"
# a neighbour or an FDB entry deleted by hand: their notifications carry port id 0, as our
# own FDB entries' do (matched against the table by MAC)
ip neigh del 10.244.77.0 dev sluice.1
MS=$(ms_until 5 entries_are "1 1 1")
check_ms neigh-restored 1000 "$MS"
bridge fdb del 82:3e:1c:5a:aa:01 dev sluice.1 dst 192.168.100.7
MS=$(ms_until 5 entries_are "1 1 1")
check_ms fdb-restored 1000 "$MS"
# an entry replaced by hand with another MAC (the notification carries ip's port id: the
# socket filter lets it through)
ip neigh replace 10.244.77.0 lladdr 82:3e:1c:5a:aa:0f dev sluice.1 nud permanent
MS=$(ms_until 5 entries_are "1 1 1")
check_ms neigh-replaced-restored 1000 "$MS"

# --- the peer's lease goes: its entries go
ctl store del "$PEER" >/dev/null
if until_true 5 peers_are 0; then pass peer-removed; else fail peer-removed "$(cat "$STATUS")"; fi
check_eq peer-entries-gone "0 0 0" "$(peer_entries | xargs)"

# the device's address removed by hand is put back (with no peer: no route goes with it)
dev_addr_is() { ip -4 addr show dev sluice.1 | grep -q "inet $1 "; }
ip addr del "${SN%/24}/32" dev sluice.1
if until_true 2 dev_addr_is "${SN%/24}/32"; then pass address-restored; else fail address-restored "$(ip addr show dev sluice.1)"; fi

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
PID=
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
# every neighbour and route change over the restart, on an rtnetlink monitor (subscribed once
# it reports a change made after it started; a marker after the restart flushes it)
MON=$T_TMP/monitor
ip -o monitor neigh route >"$MON" 2>&1 &
MONPID=$!
# shellcheck disable=SC2016 # (evaluated at exit)
defer '[ -z "$MONPID" ] || kill "$MONPID"'
marker() { ip neigh replace "$1" lladdr 02:99:00:00:00:01 dev eth0p nud permanent; grep -q "$1 " "$MON"; }
until_true 5 marker 10.99.0.1
agent
restarted() { [ "$(st .PID)" = "$PID" ] && peers_are 1; }
if until_true 10 restarted; then pass restarted; else fail restarted "$(cat "$LOG")"; fi
until_true 5 marker 10.99.0.2
kill "$MONPID" 2>/dev/null
wait "$MONPID" 2>/dev/null
MONPID=
ip neigh del 10.99.0.1 dev eth0p
ip neigh del 10.99.0.2 dev eth0p
check_eq restart-monitor-saw-marker yes "$(grep -q '10.99.0.2 ' "$MON" && echo yes)"
check_eq restart-peer-no-event "" "$(grep -E '10\.244\.77\.|82:3e:1c:5a:aa:01|192\.168\.100\.7 ' "$MON")"
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

# --- sluicectl status: the node view with the agent running; it counts only what the agent
# programs: not a lease without a VtepMAC, not a peer's IPv6 subnet on this IPv4-only node
ctl store put "$P/subnets/10.244.83.0-24&fd00:244:0:83::-64" -- '{"PublicIP":"192.168.100.9","PublicIPv6":"fd00:100::9","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"82:3e:1c:5a:cc:01"}}' >/dev/null
ctl store put "$P/subnets/10.244.84.0-24" -- '{"PublicIP":"192.168.100.10","BackendType":"vxlan","BackendData":{"VNI":1}}' >/dev/null
until_true 5 rev_at_least "$(mod_rev "$P/subnets/10.244.84.0-24")"
J=$(ctl -o json status --subnet-file "$ENV")
check_eq status-node-peers-as-agent "2 2 0 0" "$(jq -r '.node.peers | "\(.kernel) \(.store) \(.missing | length) \(.extra | length)"' <<<"$J")"
ctl store del "$P/subnets/10.244.83.0-24&fd00:244:0:83::-64" >/dev/null
ctl store del "$P/subnets/10.244.84.0-24" >/dev/null
until_true 5 peers_are 1
J=$(ctl -o json status --subnet-file "$ENV")
check_eq status-node-subnet "$SN" "$(jq -r .node.lease.subnet <<<"$J")"
check_eq status-node-agent true "$(jq .node.agent.running <<<"$J")"
check_eq status-node-device sluice.1 "$(jq -r '.node.devices[0].name' <<<"$J")"
check_eq status-node-peers "1 1 0 0" "$(jq -r '.node.peers | "\(.kernel) \(.store) \(.missing | length) \(.extra | length)"' <<<"$J")"
check_eq status-store-kept true "$(jq .reachable <<<"$J")"
check_eq status-node-revision "$(st .Revision)" "$(jq -r .node.agent.revision <<<"$J")"
repaired() { entries_are "1 1 1" && [ -z "$(ip neigh show dev sluice.1 10.244.99.0)" ]; }
kill -STOP "$PID" # so that it cannot repair anything before status looks
ip route del 10.244.77.0/24
ip neigh add 10.244.99.0 lladdr 02:00:00:00:00:99 dev sluice.1 nud permanent
J=$(ctl -o json status --subnet-file "$ENV")
kill -CONT "$PID"
MS=$(ms_until 5 repaired)
check_eq status-node-missing 10.244.77.0/24 "$(jq -r '.node.peers.missing[0]' <<<"$J")"
check_eq status-node-extra 10.244.99.0/32 "$(jq -r '.node.peers.extra[0]' <<<"$J")"
check_ms stray-removed-route-restored 1000 "$MS"
ctl status --subnet-file "$ENV" >"$T_TMP/out" 2>&1
grep -q "^AGENT" "$T_TMP/out" && pass status-node-table || fail status-node-table "$(cat "$T_TMP/out")"
kill -TERM "$PID"
until_true 10 gone "$PID" && { wait "$PID"; PID=; }

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
until_true 10 gone "$PID" && { wait "$PID"; PID=; }

# --- two leases with one VtepMAC (the kernel holds one FDB entry per MAC): one owner, no
# flip-flop (each resync replacing the other, our own change waking the next resync)
: >"$LOG"
agent --log-level debug
until_true 10 started
D1=$P/subnets/10.244.81.0-24
D2=$P/subnets/10.244.82.0-24
ctl store put "$D1" -- '{"PublicIP":"192.168.100.7","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"82:3e:1c:5a:bb:01"}}' >/dev/null
ctl store put "$D2" -- '{"PublicIP":"192.168.100.8","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"82:3e:1c:5a:bb:01"}}' >/dev/null
until_true 5 rev_at_least "$(mod_rev "$D2")"
ip route del 10.244.77.0/24 # one resync
until_true 2 entries_are "1 1 1"
sleep 1
c0=$(grep -c 'resync after' "$LOG")
sleep 1
check_eq dup-mac-no-flip-flop "$c0" "$(grep -c 'resync after' "$LOG")"
check_eq dup-mac-fdb-once 1 "$(bridge fdb show dev sluice.1 | grep -c '^82:3e:1c:5a:bb:01 dst')"
check_eq dup-mac-warned-once 1 "$(grep -c "lease $D1: its VtepMAC is lease $D2's too: skipped" "$LOG")"

# --- an FDB entry the kernel learned (with Learning) is no stray
bridge fdb add 0a:11:22:33:44:55 dev sluice.1 dst 192.168.100.9 dynamic
ip route del 10.244.77.0/24 # one resync
until_true 2 entries_are "1 1 1"
check_eq learned-fdb-kept 1 "$(bridge fdb show dev sluice.1 | grep -c '^0a:11:22:33:44:55 dst')"

# --- our own burst: the monitor reads its FDB notifications only (port id 0: matched against
# the table), not its routes' and neighbours' (our request socket's port id: the socket filter
# drops them in the kernel), and wakes no resync
monitor_read() { sed -n 's/.*rtnetlink monitor: \([0-9]*\) notifications\{0,1\} read$/\1/p' "$LOG" | awk '{ s += $1 } END { print s + 0 }'; }
fdbs_read() { [ "$(monitor_read)" -ge 20 ]; }
N0=$(st '.Peers | length')
kill -STOP "$PID"
for i in $(seq 1 20); do
	ctl store put "$P/subnets/10.244.$((B + i)).0-24" -- "{\"PublicIP\":\"10.9.0.$i\",\"BackendType\":\"vxlan\",\"BackendData\":{\"VNI\":1,\"VtepMAC\":\"82:3e:1c:5a:cc:$(printf %02x "$i")\"}}" >/dev/null
done
R=$(mod_rev "$P/subnets/10.244.$((B + 20)).0-24")
: >"$LOG"
kill -CONT "$PID"
if until_true 5 rev_at_least "$R"; then pass burst-applied; else fail burst-applied "$(cat "$STATUS")"; fi
until_true 5 fdbs_read
sleep 0.5 # (anything else the burst would make it read)
check_eq burst-monitor-fdb-only 20 "$(monitor_read)"
check_eq burst-no-resync 0 "$(grep -c 'resync after' "$LOG")"
kill -STOP "$PID"
for i in $(seq 1 20); do ctl store del "$P/subnets/10.244.$((B + i)).0-24" >/dev/null; done
kill -CONT "$PID"
if until_true 5 peers_are "$N0"; then pass burst-removed; else fail burst-removed "$(cat "$STATUS")"; fi
kill -TERM "$PID"
until_true 10 gone "$PID" && { wait "$PID"; PID=; }

# --- IPv6 turned off by SIGHUP: sluice-v6.1 goes
ip addr add fd00:100::1/64 dev eth0 nodad
ctl config set -f - >/dev/null <<<'{"Network":"10.244.0.0/16","SubnetLen":24,"EnableIPv6":true,"IPv6Network":"fd00:244::/56","IPv6SubnetLen":64,"Backend":{"Type":"vxlan"}}'
: >"$LOG"
agent --public-ipv6 fd00:100::1
v6_dev() { ip link show sluice-v6.1; }
if until_true 10 v6_dev; then pass v6-device; else fail v6-device "$(cat "$LOG")"; fi
ctl config set -f - >/dev/null <<<'{"Network":"10.244.0.0/16","SubnetLen":24,"Backend":{"Type":"vxlan"}}'
kill -HUP "$PID"
no_v6_dev() { ! ip link show sluice-v6.1; }
if until_true 5 no_v6_dev; then pass v6-off-device-deleted; else fail v6-off-device-deleted "$(cat "$LOG")"; fi
kill -TERM "$PID"
until_true 10 gone "$PID" && { wait "$PID"; PID=; }

# --- --no-ip-masq: the state and subnet.env say so (sluice-vxlan-overlay reads IPMasq and
# leaves the table alone)
: >"$LOG"
agent --no-ip-masq
unmasked() { [ "$(jq .IPMasq "$N/subnet.lease.json")" = false ]; }
if until_true 10 unmasked; then pass no-ip-masq-written; else fail no-ip-masq-written "$(cat "$LOG")"; fi
check_eq no-ip-masq-state "false FLANNEL_IPMASQ=false" \
	"$(jq .IPMasq "$N/subnet.lease.json") $(grep FLANNEL_IPMASQ= "$ENV")"
kill -TERM "$PID"
until_true 10 gone "$PID" && { wait "$PID"; PID=; }
