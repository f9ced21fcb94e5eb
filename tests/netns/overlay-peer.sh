#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# common/overlay/peer.c against the kernel, through tests/tools/ovtool: peers applied in one
# pipelined batch and read back with iproute2 (`ip neigh`, `bridge fdb`, `ip route`) and with
# overlay_peers_read; a changed MAC and PublicIP replaced; DirectRouting; sync removing strays
# and unwanted peers without touching live ones (checked with `ip monitor`); 1,000 peers;
# IPv6 peers on an IPv6 VXLAN device; the floor program. One namespace (the test's own, under
# `unshare -n -m` from tests/run.sh) holds the VXLAN devices and an underlay veth.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

OVT=${TOOLS:-build/tests/tools}/ovtool
FLOOR=${TOOLS:-build/tests/tools}/peerfloor
if [ ! -x "$OVT" ] || [ ! -x "$FLOOR" ]; then
	fail "tools-built" "missing $OVT or $FLOOR (make tools)"
	exit 0
fi

VX=sluice.1
VX6=sluice-v6.1
M2=02:00:00:00:00:02
M3=02:00:00:00:00:03
M33=02:00:00:00:00:33
M4=02:00:00:00:00:04
M9=02:00:00:00:00:09

ip link set lo up
ip link add u0 type veth peer name u1
ip addr add 192.168.100.1/24 dev u0
ip -6 addr add fd00:100::1/64 dev u0 nodad
ip link set u0 up
ip link set u1 up
ip link add $VX type vxlan id 1 dstport 8472 local 192.168.100.1 dev u0 nolearning
ip link add $VX6 type vxlan id 1 dstport 8472 local fd00:100::1 dev u0 nolearning
ip link set $VX up
ip link set $VX6 up

ovt() { "$OVT" "$@"; }
# neigh IP [DEV] [-6]: "LLADDR STATE" of the neighbour IP on DEV
neigh() {
	ip ${3:-} -j neigh show dev "${2:-$VX}" | jq -r --arg ip "$1" \
		'.[] | select(.dst == $ip) | "\(.lladdr) \(.state | join(","))"'
}
# fdb MAC [DEV]: the dst of MAC's FDB entries on DEV, space separated
fdb() {
	bridge -j fdb show dev "${2:-$VX}" | jq -r --arg m "$1" \
		'[.[] | select(.mac == $m and .dst != null) | .dst] | join(" ")'
}
# route PREFIX [-6]: "GATEWAY DEV PROTOCOL FLAGS" of the routes to PREFIX in the main table
route() {
	ip ${2:-} -j route show "$1" | jq -r \
		'.[] | "\(.gateway) \(.dev) \(.protocol // "boot") \(.flags | join(","))"'
}
# sorted read [-6] DEV: overlay_peers_read's peers, one per line
rd() {
	if [ "$1" = -6 ]; then ovt -6 read "$2" u0 | sort; else ovt read "$1" u0 | sort; fi
}

# --- apply three peers: neighbour, FDB, onlink route each -------------------------------
out=$(ovt apply $VX u0 add 10.244.2.0/24,192.168.100.2,$M2 add 10.244.3.0/24,10.9.0.3,$M3 \
	add 10.244.4.0/24,10.9.0.4,$M4 2>&1)
check_eq apply3-changed "changed=3" "$out"
check_eq apply3-neigh "$M2 PERMANENT|$M3 PERMANENT|$M4 PERMANENT" \
	"$(neigh 10.244.2.0)|$(neigh 10.244.3.0)|$(neigh 10.244.4.0)"
check_eq apply3-fdb "192.168.100.2|10.9.0.3|10.9.0.4" "$(fdb $M2)|$(fdb $M3)|$(fdb $M4)"
check_eq apply3-route "10.244.2.0 $VX 83 onlink|10.244.3.0 $VX 83 onlink|10.244.4.0 $VX 83 onlink" \
	"$(route 10.244.2.0/24)|$(route 10.244.3.0/24)|$(route 10.244.4.0/24)"
check_eq apply3-read "10.244.2.0/24 192.168.100.2 $M2 complete
10.244.3.0/24 10.9.0.3 $M3 complete
10.244.4.0/24 10.9.0.4 $M4 complete" "$(rd $VX)"

# the same again: replace semantics, no error, same state
check_eq apply-again "changed=3" "$(ovt apply $VX u0 add 10.244.2.0/24,192.168.100.2,$M2 \
	add 10.244.3.0/24,10.9.0.3,$M3 add 10.244.4.0/24,10.9.0.4,$M4 2>&1)"
check_eq apply-again-one "1" "$(ip -j neigh show dev $VX | jq '[.[] | select(.dst == "10.244.2.0")] | length')"

# deleting what is not there is no error
check_eq del-absent "changed=1" "$(ovt apply $VX u0 del 10.244.7.0/24,10.9.0.7,02:00:00:00:00:07 2>&1)"

# --- a peer's MAC and PublicIP change: replaced ------------------------------------------
check_eq change-apply "changed=1" "$(ovt apply $VX u0 add 10.244.3.0/24,10.9.0.33,$M33 2>&1)"
check_eq change-neigh "$M33 PERMANENT" "$(neigh 10.244.3.0)"
check_eq change-fdb "10.9.0.33" "$(fdb $M33)"
check_eq change-route "10.244.3.0 $VX 83 onlink" "$(route 10.244.3.0/24)"
check_eq change-read "10.244.3.0/24 10.9.0.33 $M33 complete" "$(rd $VX | grep ^10.244.3.0/)"

# --- the old state passed in del[]: the old MAC's FDB entry goes, the peer has no gap ------
O1=0e:00:00:00:01:07
O2=0e:00:00:00:02:07
ovt apply $VX u0 add 10.244.17.0/24,192.168.100.7,$O1 >/dev/null 2>&1
MON0=$T_TMP/monitor0
ip -o monitor neigh route >"$MON0" 2>&1 &
MON0PID=$!
defer "kill $MON0PID"
for i in $(seq 1 50); do
	ip neigh replace 10.97.0.$((i % 250 + 1)) lladdr 02:97:00:00:00:01 dev u1 nud permanent
	grep -q 10.97.0. "$MON0" && break
	sleep 0.1
done
check_eq old-mac-apply "changed=1" "$(ovt apply $VX u0 add 10.244.17.0/24,192.168.100.7,$O2 \
	del 10.244.17.0/24,192.168.100.7,$O1 2>&1)"
check_eq old-mac-state "|192.168.100.7|$O2 PERMANENT|10.244.17.0 $VX 83 onlink" \
	"$(fdb $O1)|$(fdb $O2)|$(neigh 10.244.17.0)|$(route 10.244.17.0/24)"
# the same MAC at a new PublicIP: one dst, the new one
check_eq old-ip-apply "changed=1" "$(ovt apply $VX u0 add 10.244.17.0/24,192.168.100.8,$O2 \
	del 10.244.17.0/24,192.168.100.7,$O2 2>&1)"
check_eq old-ip-state "192.168.100.8|$O2 PERMANENT" "$(fdb $O2)|$(neigh 10.244.17.0)"
# the live peer's neighbour and route were replaced, never deleted: only the old FDB entry
sleep 0.2
check_eq old-no-gap "Deleted 192.168.100.7 dev $VX lladdr $O1 PERMANENT" \
	"$(grep '^Deleted' "$MON0" | grep -v '^Deleted 10.97.' | sed 's/ *$//')"
# sync replacing a peer whose MAC changed: the old MAC's FDB entry goes after the new one
# (on a device of its own, so that the sync leaves the peers above alone)
ip link add sluice.2 type vxlan id 2 dstport 8473 local 192.168.100.1 dev u0 nolearning
ip link set sluice.2 up
ovt apply sluice.2 u0 add 10.244.27.0/24,192.168.100.7,$O1 >/dev/null 2>&1
check_eq old-sync "replace 10.244.27.0/24 via 192.168.100.7 vtep $O2
changes=1" "$(ovt sync sluice.2 u0 10.244.27.0/24,192.168.100.7,$O2 2>&1)"
ip neigh replace 10.97.0.254 lladdr 02:97:00:00:00:02 dev u1 nud permanent
for i in $(seq 1 50); do
	grep -q '^10.97.0.254 ' "$MON0" && break
	sleep 0.1
done
rt_line=$(grep -n "^192.168.100.7 dev sluice.2 lladdr $O2" "$MON0" | cut -d: -f1)
del_line=$(grep -n "^Deleted 192.168.100.7 dev sluice.2 lladdr $O1" "$MON0" | cut -d: -f1)
check_eq old-sync-order "new fdb entry first" \
	"$([ -n "$rt_line" ] && [ -n "$del_line" ] && [ "$del_line" -gt "$rt_line" ] &&
		echo "new fdb entry first" || echo "new at ${rt_line:-?}, old deleted at ${del_line:-?}")"
check_eq old-sync-state "|192.168.100.7" "$(fdb $O1 sluice.2)|$(fdb $O2 sluice.2)"
ip link del sluice.2
kill $MON0PID 2>/dev/null
# to direct and back, with the old state: nothing of the other kind left
ovt apply $VX u0 add 10.244.17.0/24,192.168.100.7,direct del 10.244.17.0/24,192.168.100.8,$O2 \
	>/dev/null 2>&1
check_eq old-to-direct "192.168.100.7 u0 83 ||" \
	"$(route 10.244.17.0/24)|$(neigh 10.244.17.0)|$(fdb $O2)"
ovt apply $VX u0 add 10.244.17.0/24,192.168.100.7,$O1 del 10.244.17.0/24,192.168.100.7,direct \
	>/dev/null 2>&1
check_eq old-from-direct "10.244.17.0 $VX 83 onlink|$O1 PERMANENT|192.168.100.7" \
	"$(route 10.244.17.0/24)|$(neigh 10.244.17.0)|$(fdb $O1)"
ovt apply $VX u0 del 10.244.17.0/24,192.168.100.7,$O1 >/dev/null 2>&1

# --- DirectRouting -----------------------------------------------------------------------
check_eq same-segment-yes "1" "$(ovt same-segment u0 192.168.100.5 2>&1)"
check_eq same-segment-no "0" "$(ovt same-segment u0 10.9.0.3 2>&1)"
check_eq same-segment-v6 "1" "$(ovt same-segment u0 fd00:100::5 2>&1)"
check_eq direct-apply "changed=1" "$(ovt apply $VX u0 add 10.244.5.0/24,192.168.100.5,direct 2>&1)"
check_eq direct-route "192.168.100.5 u0 83 " "$(route 10.244.5.0/24)"
check_eq direct-no-neigh "" "$(neigh 10.244.5.0)"
check_eq direct-read "10.244.5.0/24 192.168.100.5 direct complete" "$(rd $VX | grep ^10.244.5.0/)"
# a VXLAN peer switched to direct loses its neighbour and FDB entry, and back again
check_eq switch-direct "changed=1" "$(ovt apply $VX u0 add 10.244.2.0/24,192.168.100.2,$M2 2>&1 >/dev/null;
	ovt apply $VX u0 add 10.244.2.0/24,192.168.100.2,$M2,direct 2>&1)"
check_eq switch-direct-state "192.168.100.2 u0 83 ||" \
	"$(route 10.244.2.0/24)|$(neigh 10.244.2.0)|$(fdb $M2)"
check_eq switch-back "changed=1" "$(ovt apply $VX u0 add 10.244.2.0/24,192.168.100.2,$M2 2>&1)"
check_eq switch-back-state "10.244.2.0 $VX 83 onlink|$M2 PERMANENT|192.168.100.2" \
	"$(route 10.244.2.0/24)|$(neigh 10.244.2.0)|$(fdb $M2)"
# a direct route sluice did not add (another protocol) is not ours
ip route add 10.250.0.0/24 via 192.168.100.7 dev u0

# --- sync: strays and unwanted peers go, live peers are not touched ----------------------
# strays on our device (a whole peer added by hand, as Flannel would), our protocol on the
# underlay, and the old MAC's FDB entry left by the change above
ip neigh add 10.244.9.0 lladdr $M9 dev $VX nud permanent
bridge fdb append $M9 dev $VX dst 192.168.100.9 self permanent
ip route add 10.244.9.0/24 via 10.244.9.0 dev $VX onlink
ip route add 10.244.8.0/24 via 192.168.100.8 dev u0 proto 83
check_eq sync-before-old-fdb "10.9.0.3" "$(fdb $M3)"
# marks on live peers that sync does not compare and any re-add would erase (a replace of an
# identical entry sends no notification, so `ip monitor` alone cannot see one)
ip neigh replace 10.244.3.0 lladdr $M33 dev $VX nud permanent extern_learn
ip route change 10.244.3.0/24 via 10.244.3.0 dev $VX onlink proto 83 mtu 1400
ip route change 10.244.5.0/24 via 192.168.100.5 dev u0 proto 83 mtu 1400
marks() {
	echo "$(ip -d neigh show 10.244.3.0 dev $VX | grep -c extern_learn)" \
		"$(ip route show 10.244.3.0/24 | grep -c 'mtu 1400')" \
		"$(ip route show 10.244.5.0/24 | grep -c 'mtu 1400')"
}
check_eq sync-marks-set "1 1 1" "$(marks)"

MON=$T_TMP/monitor
ip -o monitor neigh route >"$MON" 2>&1 &
MONPID=$!
# shellcheck disable=SC2016 # (evaluated at exit)
defer '[ -z "$MONPID" ] || kill "$MONPID"'
# the monitor is subscribed once it reports a change made after it started
for i in $(seq 1 50); do
	ip neigh replace 10.99.0.$((i % 250 + 1)) lladdr 02:99:00:00:00:01 dev u1 nud permanent
	grep -q 10.99.0. "$MON" && break
	sleep 0.1
done
WANT="10.244.2.0/24,192.168.100.2,$M2 10.244.3.0/24,10.9.0.33,$M33 10.244.5.0/24,192.168.100.5,direct"
# shellcheck disable=SC2086
out=$(ovt sync $VX u0 $WANT 2>&1)
check_eq sync-notes "changes=4
remove 10.244.4.0/24 via 10.9.0.4 vtep $M4
remove 10.244.8.0/24 via 192.168.100.8 direct
remove 10.244.9.0/24 via 192.168.100.9 vtep $M9
remove stray fdb entry $M3 dst 10.9.0.3" "$(sort <<<"$out")"
# a marker after the sync: every event of the sync is in the file once it shows
ip neigh replace 10.98.0.1 lladdr 02:98:00:00:00:01 dev u1 nud permanent
for i in $(seq 1 50); do
	grep -q 10.98.0.1 "$MON" && break
	sleep 0.1
done
kill $MONPID 2>/dev/null
wait $MONPID 2>/dev/null
MONPID=
check_eq sync-live-untouched "" \
	"$(grep -E '10\.244\.(2|3|5)\.0|192\.168\.100\.2 |'"$M2|$M33" "$MON")"
check_eq sync-live-marks-kept "1 1 1" "$(marks)"
check_eq sync-removed-seen "yes" "$(grep -q '10.244.4.0' "$MON" && echo yes)"
check_eq sync-after-read "10.244.2.0/24 192.168.100.2 $M2 complete
10.244.3.0/24 10.9.0.33 $M33 complete
10.244.5.0/24 192.168.100.5 direct complete" "$(rd $VX)"
check_eq sync-after-kernel "|||||" \
	"$(neigh 10.244.4.0)|$(neigh 10.244.9.0)|$(fdb $M4)|$(fdb $M9)|$(fdb $M3)|$(route 10.244.8.0/24)"
check_eq sync-foreign-kept "192.168.100.7 u0 boot " "$(route 10.250.0.0/24)"
# shellcheck disable=SC2086
check_eq sync-idempotent "changes=0" "$(ovt sync $VX u0 $WANT 2>&1)"
# an incomplete peer (its neighbour deleted by hand) is repaired, the others left alone
ip neigh del 10.244.2.0 dev $VX
check_eq sync-repair "changes=1
replace 10.244.2.0/24 via 192.168.100.2 vtep $M2" "$(ovt sync $VX u0 $WANT 2>&1 | sort)"
check_eq sync-repair-neigh "$M2 PERMANENT" "$(neigh 10.244.2.0)"
# an FDB entry the kernel learned (not permanent) is no stray
bridge fdb add 0a:11:22:33:44:55 dev $VX dst 192.168.100.9 dynamic
# shellcheck disable=SC2086
check_eq sync-learned-fdb "changes=0" "$(ovt sync $VX u0 $WANT 2>&1)"
check_eq sync-learned-fdb-kept "192.168.100.9" "$(fdb 0a:11:22:33:44:55)"
bridge fdb del 0a:11:22:33:44:55 dev $VX
# two wanted peers with one VtepMAC (one FDB entry per MAC): the later owns it, the earlier
# is skipped, and a second sync changes nothing (no flip-flop)
# shellcheck disable=SC2086
out=$(ovt sync $VX u0 $WANT 10.244.6.0/24,192.168.100.6,$M2 2>&1)
check_eq sync-dup-mac "skip 10.244.2.0/24 via 192.168.100.2 vtep $M2: its VtepMAC is also 10.244.6.0/24's, listed later
remove 10.244.2.0/24 via 192.168.100.2 vtep $M2
add 10.244.6.0/24 via 192.168.100.6 vtep $M2
changes=2" "$out"
# shellcheck disable=SC2086
check_eq sync-dup-mac-settled "changes=0" "$(ovt sync $VX u0 $WANT 10.244.6.0/24,192.168.100.6,$M2 2>&1 | grep changes)"
check_eq sync-dup-mac-fdb "192.168.100.6" "$(fdb $M2)"
# shellcheck disable=SC2086
ovt sync $VX u0 $WANT >/dev/null

# --- 1,000 peers --------------------------------------------------------------------------
check_eq sync-empty "changes=3" "$(ovt sync $VX u0 2>&1 | tail -1)"
ovt gen 1000 10.128.0.0/24 10.200.0.1 >"$T_TMP/peers"
sed 's/^/add /' "$T_TMP/peers" >"$T_TMP/adds"
# pipelined: 3,000 requests in a few sendmsg() calls, not one each (strace: tools/deps.sh
# installs it; without it the check fails, never skips)
if command -v strace >/dev/null; then
	out=$(strace -qq -e trace=sendto,sendmsg -o "$T_TMP/strace" "$OVT" apply $VX u0 - <"$T_TMP/adds" 2>&1)
	n=$(grep -c 'RTM_NEWNEIGH\|RTM_NEWROUTE' "$T_TMP/strace")
	if [ "$n" -ge 1 ] && [ "$n" -le 8 ]; then pass 1000-pipelined; else
		fail 1000-pipelined "sendto/sendmsg calls carrying requests: $n (want 1..8)"; fi
else
	fail 1000-pipelined "no strace (tools/deps.sh installs it)"
	out=$(ovt apply $VX u0 - <"$T_TMP/adds" 2>&1)
fi
check_eq 1000-apply "changed=1000" "$out"
check_eq 1000-kernel "1000 1000 1000" "$(ip -j route show dev $VX proto 83 | jq length) \
$(ip -j neigh show dev $VX nud permanent | jq length) \
$(bridge -j fdb show dev $VX | jq '[.[] | select(.dst != null and .mac != "00:00:00:00:00:00")] | length')"
check_eq 1000-last "10.131.231.0 $VX 83 onlink|02:0f:00:00:03:e7 PERMANENT|10.200.3.232" \
	"$(route 10.131.231.0/24)|$(neigh 10.131.231.0)|$(fdb 02:0f:00:00:03:e7)"
check_eq 1000-read "1000 complete" "$(ovt read $VX u0 | grep -c ' complete$') complete"
check_eq 1000-sync-none "changes=0" "$(ovt sync $VX u0 - <"$T_TMP/peers" 2>&1)"
check_eq 1000-sync-empty "changes=1000" "$(ovt sync $VX u0 2>&1 | tail -1)"
check_eq 1000-gone "0" "$(ip -j route show dev $VX proto 83 | jq length)"

# the floor program: prints its JSON and leaves the peers programmed
out=$("$FLOOR" $VX u0 200 10.128.0.0/24 10.200.0.1 1 2>&1)
check_eq floor-json "200 600 true true" "$(jq -r '"\(.peers) \(.messages) \(.floor_ns > 0) \(.apply_ns > 0)"' <<<"$out" 2>&1)"
check_eq floor-left "200" "$(ip -j route show dev $VX proto 83 | jq length)"
ovt sync $VX u0 >/dev/null

# --- IPv6 peers on the IPv6 device --------------------------------------------------------
out=$(ovt -6 apply $VX6 u0 add fd00:244:2::/64,fd00:100::2,$M2 add fd00:244:3::/64,fd00:9::3,$M3 \
	add fd00:244:5::/64,fd00:100::5,direct 2>&1)
check_eq v6-apply "changed=3" "$out"
check_eq v6-neigh "$M2 PERMANENT|$M3 PERMANENT" \
	"$(neigh fd00:244:2:: $VX6 -6)|$(neigh fd00:244:3:: $VX6 -6)"
check_eq v6-fdb "fd00:100::2|fd00:9::3" "$(fdb $M2 $VX6)|$(fdb $M3 $VX6)"
check_eq v6-route "fd00:244:2:: $VX6 83 onlink|fd00:100::5 u0 83 " \
	"$(route fd00:244:2::/64 -6)|$(route fd00:244:5::/64 -6)"
check_eq v6-read "fd00:244:2::/64 fd00:100::2 $M2 complete
fd00:244:3::/64 fd00:9::3 $M3 complete
fd00:244:5::/64 fd00:100::5 direct complete" "$(rd -6 $VX6)"
# the IPv4 device's peers are another family's: untouched by an IPv6 sync and vice versa
check_eq v6-sync "changes=2
remove fd00:244:3::/64 via fd00:9::3 vtep $M3
remove fd00:244:5::/64 via fd00:100::5 direct" \
	"$(ovt -6 sync $VX6 u0 fd00:244:2::/64,fd00:100::2,$M2 2>&1 | sort)"
check_eq v6-after "fd00:244:2::/64 fd00:100::2 $M2 complete" "$(rd -6 $VX6)"
check_eq v6-kernel-after "||" "$(neigh fd00:244:3:: $VX6 -6)|$(fdb $M3 $VX6)|$(route fd00:244:5::/64 -6)"

# a peer the kernel refuses (its PublicIP is off every route): the others are programmed, the
# error names the first failed peer with the kernel's message, a half-added peer is removed
out=$(ovt apply $VX u0 add 10.244.2.0/24,192.168.100.2,$M2 add 10.244.6.0/24,10.9.9.9,direct \
	add 10.244.7.0/24,10.9.9.7,$M4 add 224.0.0.0/24,10.9.9.8,$M9 2>&1)
check_eq kernel-refuses "ovtool: programming peer 10.244.6.0/24 via 10.9.9.9 direct: Network is unreachable: Nexthop has invalid gateway" "$out"
check_eq kernel-refuses-others "10.244.2.0 $VX 83 onlink|10.244.7.0 $VX 83 onlink|$M4 PERMANENT|10.9.9.7" \
	"$(route 10.244.2.0/24)|$(route 10.244.7.0/24)|$(neigh 10.244.7.0)|$(fdb $M4)"
check_eq kernel-refuses-rolled-back "||" "$(route 10.244.6.0/24)|$(route 224.0.0.0/24)|$(fdb $M9)"

# bad input: a clear error naming the peer, nothing done
out=$(ovt apply $VX u0 add 10.244.6.0/24,fd00:100::6,$M2 2>&1)
check_eq bad-peer "ovtool: peer 10.244.6.0/24 via fd00:100::6 vtep $M2: subnet and public IP must be IPv4, with a VTEP MAC|" \
	"$out|$(route 10.244.6.0/24)"
