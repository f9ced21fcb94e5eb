#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# sluicectl's policy verbs on one simulated node (this test's netns, a bridge with pods a
# and b as netns of their own, br_netfilter on). With a hand-built table (pnfttool) that
# isolates b: `policy stats` counters move by exactly the packets sent (3 pings dropped: the
# class's drop counter +3; 3 connections allowed: the rule +3), in another netns with
# --netns, and no table is an error; `drops --listen` reports a dropped packet with its
# class, policies, source, destination, protocol, port and pods (from the store's
# endpoints), and a second listener is refused. Then sluiced renders the same policy from the
# store: `wait --node n1` returns once it has, `policy stats` reads its rules, its collector
# writes drops.json, which `drops` prints and `drops --follow` follows, a burst is held by
# the log rule's limit, and the file is stale once the agent stops; --no-network-policy
# collects nothing. `wait` with agent keys written by hand: at once when every agent is at
# the revision, status 1 naming each node behind and its revision, returns as soon as the
# last key reaches it (a watch: well under a second), a deletion's revision found in the
# history, on dir:// and etcd://; `status` shows the policy view.
set -u
if [ -z "${SLUICE_TEST_UNSHARED:-}" ]; then
	SLUICE_TEST_UNSHARED=1 exec unshare -n -m --propagation private bash "$0" "$@"
fi
unset SLUICE_STORE SLUICE_PREFIX
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

safe_defaults

CTL=$BIN/sluicectl
OUT=$T_TMP/out
ERR=$T_TMP/err
STORE=dir://$T_TMP/store
P=/sluice/network
RC=0

# run NAME WANT ARGS...: sluicectl ARGS, stdout in $OUT, stderr in $ERR, exit status checked
run() {
	local name=$1 want=$2
	shift 2
	RC=0
	"$CTL" "$@" >"$OUT" 2>"$ERR" </dev/null || RC=$?
	if [ "$RC" = "$want" ]; then
		pass "$name"
	else
		fail "$name" "sluicectl $*: status $RC, expected $want" "stdout: $(head -c 600 "$OUT")" \
			"stderr: $(head -c 600 "$ERR")"
	fi
}
ctl() { "$CTL" --store "$STORE" "$@"; }

# --- the node: a bridge, pods a (10.9.0.2) and b (10.9.0.3) ---------------------------------
ip link set lo up
if [ ! -d /proc/sys/net/bridge ]; then
	fail br-netfilter "no /proc/sys/net/bridge: br_netfilter is not available"
	exit 1
fi
sysctl -qw net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1
ip link add br0 type bridge
ip link set br0 up
i=2
for p in a b; do
	mk_netns "ctl-$p"
	ip link add "v$p" type veth peer name eth0 netns "ctl-$p"
	ip link set "v$p" master br0 up
	ip -n "ctl-$p" link set eth0 up
	ip -n "ctl-$p" addr add "10.9.0.$i/24" dev eth0
	ip -n "ctl-$p" addr add "fd00:9::$i/64" dev eth0 nodad
	i=$((i + 1))
done
B=10.9.0.3

# A hand-built ruleset (tests/tools/pnfttool, programmed by common/policy/pnft.c as the agent
# and the plugin program theirs): b is isolated for ingress by policy y/allow-80, which
# allows TCP 80 from a; its class chain ci-t1 logs (NFLOG group 2718) and drops the rest
cat >"$T_TMP/rs.json" <<'EOF'
{"stamp": "s1",
 "sets": [{"name": "a4", "kind": "addr4", "elems": ["10.9.0.2"]},
          {"name": "p", "kind": "ports", "elems": ["tcp 80"]},
          {"name": "ing4", "kind": "dispatch4", "elems": ["10.9.0.3 ci-t1"]},
          {"name": "ing6", "kind": "dispatch6", "elems": ["fd00:9::3 ci-t1"]}],
 "pchains": [{"name": "pi-p1", "dir": "in", "ns": "y", "policy": "allow-80",
              "rules": [{"family": 4, "addr": "a4", "ports": "p", "named": "", "index": 0}]}],
 "cchains": [{"name": "ci-t1", "dir": "in", "targets": ["pi-p1"]}]}
EOF
check reach-before-policy ping_retry ctl-a "$B"
"$TOOLS/pnfttool" replace "$T_TMP/rs.json" || {
	fail table "pnfttool could not program the test ruleset"
	exit 1
}

# the pods' endpoint records, as sluice-nft-policy writes them: drops name the pods
ctl store put "$P/endpoints/n1/ca-eth0" \
	'{"containerID":"ca","ifName":"eth0","namespace":"x","pod":"a","node":"n1","ips":["10.9.0.2","fd00:9::2"],"hostVeth":"va"}' >/dev/null
ctl store put "$P/endpoints/n1/cb-eth0" \
	'{"containerID":"cb","ifName":"eth0","namespace":"y","pod":"b","node":"n1","ips":["10.9.0.3","fd00:9::3"],"hostVeth":"vb"}' >/dev/null

# --- policy stats ---------------------------------------------------------------------------
stat_of() { jq -r "$1" "$OUT"; }
rule_pk='.policies[] | select(.namespace == "y" and .name == "allow-80") | .rules[] | select(.rule == "ingress[0]") | .packets'
class_pk='.classes[] | select(.chain == "ci-t1") | .packets'
run stats-json 0 -o json policy stats
r0=$(stat_of "$rule_pk")
c0=$(stat_of "$class_pk")
check_eq stats-class-policies '["y/allow-80"] ingress' \
	"$(jq -c '.classes[] | select(.chain == "ci-t1") | .policies' "$OUT") $(stat_of '.classes[0].direction')"

# 3 pings to b: not allowed, each dropped and counted (never established)
ip netns exec ctl-a ping -c 3 -i 0.2 -W 1 "$B" >/dev/null 2>&1
run stats-after-ping 0 -o json policy stats
check_eq stats-class-drops-3 "$((c0 + 3))" "$(stat_of "$class_pk")"
check_eq stats-rule-unmoved "$r0" "$(stat_of "$rule_pk")"

# 3 connections to b:80, allowed: the rule counts each first packet (the rest are
# established), the policy's total with it
echo_server ctl-b TCP4 80 hello
listening ctl-b tcp 80 || fail server-80 "no server on b:80"
for _ in 1 2 3; do ask ctl-a tcp4 "$B" 80 >/dev/null; done
run stats-after-tcp 0 -o json policy stats
check_eq stats-rule-3 "$((r0 + 3))" "$(stat_of "$rule_pk")"
check_eq stats-total-3 "$((r0 + 3))" \
	"$(stat_of '.policies[] | select(.name == "allow-80") | .packets')"
check_eq stats-class-still-3 "$((c0 + 3))" "$(stat_of "$class_pk")"
run stats-table 0 policy stats
check stats-table-header grep -qE '^POLICY +RULE +PACKETS +BYTES$' "$OUT"
check_eq stats-table-rule "y/allow-80 ingress[0] $((r0 + 3))" \
	"$(awk '$2 == "ingress[0]" {print $1, $2, $3}' "$OUT")"
check_eq stats-table-total "y/allow-80 total $((r0 + 3))" "$(awk '$2 == "total" {print $1, $2, $3}' "$OUT")"
check_eq stats-table-class "ci-t1 ingress $((c0 + 3)) y/allow-80" \
	"$(awk '$1 == "ci-t1" {print $1, $2, $3, $5}' "$OUT")"

# --netns: b's netns holds no table (an error naming it); one given a table of its own is
# read there, not here
run stats-no-table 1 policy stats --netns /run/netns/ctl-b
check_eq stats-no-table-msg "sluicectl: no policy table (inet sluice_policy) in /run/netns/ctl-b: network policy is not programmed there" "$(cat "$ERR")"
ip netns exec ctl-b "$TOOLS/pnfttool" replace "$T_TMP/rs.json"
run stats-netns 0 -o json policy stats --netns /run/netns/ctl-b
check_eq stats-netns-own-counters "0 0" "$(stat_of "$rule_pk") $(stat_of "$class_pk")"
: >"$T_TMP/notns"
run stats-netns-bad 1 policy stats --netns "$T_TMP/notns"
check_eq stats-netns-bad-msg "sluicectl: --netns $T_TMP/notns: not a network namespace" "$(cat "$ERR")"
run stats-bad-subverb 2 policy frob
run policy-help 0 policy --help
check policy-help-usage grep -q '^Usage: sluicectl \[GLOBAL FLAGS\] policy stats' "$OUT"

# --- drops --listen -----------------------------------------------------------------------
# nflog_bound: some socket of this netns has group 2718 (the kernel's list of instances)
nflog_bound() { grep -qE '^ *2718 ' /proc/net/netfilter/nfnetlink_log; }

# until_gone PID TENTHS CMD...: runs CMD every 0.1 s until PID exits (at most TENTHS times)
until_gone() {
	local pid=$1 n=$2 i
	shift 2
	for ((i = 0; i < n; i++)); do
		pid_gone "$pid" && return 0
		"$@" >/dev/null 2>&1
		sleep 0.1
	done
	pid_gone "$pid"
}
syn81() { ip netns exec ctl-a socat -T1 - "TCP4:$B:81,connect-timeout=0.2" </dev/null; }
udp53() { ip netns exec ctl-a socat -T0.2 - "UDP4:$B:53" <<<x; }

"$CTL" --store "$STORE" -o json drops --listen --count 1 --timeout 20 >"$OUT" 2>"$ERR" &
L=$!
defer "kill $L"
until_gone "$L" 150 syn81
wait "$L"
check_eq listen-tcp-status 0 $?
check_eq listen-tcp-drop 'ci-t1 ingress ["y/allow-80"] 10.9.0.2 10.9.0.3 tcp 81 x/a y/b 1' \
	"$(jq -r '"\(.class) \(.direction) \(.policies | tojson) \(.src) \(.dst) \(.proto) \(.dport) \(.srcPod) \(.dstPod) \(.seq)"' "$OUT")"
check listen-tcp-time jq -e '.time | test("^20[0-9-]+T[0-9:.]+Z$")' "$OUT"

"$CTL" --store "$STORE" drops --listen --count 1 --timeout 20 >"$OUT" 2>"$ERR" &
L=$!
defer "kill $L"
until_gone "$L" 150 udp53
wait "$L"
check_eq listen-udp-status 0 $?
check_eq listen-udp-line "ingress udp 10.9.0.2:* (x/a) 10.9.0.3:53 (y/b) y/allow-80 ci-t1" \
	"$(awk '{print $2, $3, "10.9.0.2:*", $5, $6, $7, $8, $9}' "$OUT")"
check listen-udp-src grep -qE ' 10\.9\.0\.2:[0-9]+ \(x/a\) ' "$OUT"

# IPv6: UDP to [fd00:9::3]:53, the address in brackets with its port
udp6() { ip netns exec ctl-a socat -T0.2 - "UDP6:[fd00:9::3]:53" <<<x; }
"$CTL" --store "$STORE" drops --listen --count 1 --timeout 20 >"$OUT" 2>"$ERR" &
L=$!
defer "kill $L"
until_gone "$L" 150 udp6
wait "$L"
check_eq listen-udp6-status 0 $?
check listen-udp6-line grep -qE '^[0-9T:.-]+Z  ingress  udp  \[fd00:9::2\]:[0-9]+ \(x/a\)  \[fd00:9::3\]:53 \(y/b\)  y/allow-80  ci-t1$' "$OUT"

# a second listener of the group in this netns is refused while the first holds it
"$CTL" drops --listen --timeout 20 >/dev/null 2>&1 &
L=$!
defer "kill $L"
for _ in $(seq 100); do nflog_bound && break; sleep 0.1; done
run listen-busy 1 drops --listen --count 1 --timeout 1
check_eq listen-busy-msg "sluicectl: NFLOG group 2718 is bound by another listener in this netns" "$(cat "$ERR")"
stop_pid "$L" TERM 50
# no drop within --timeout with --count: status 1
run listen-timeout 1 drops --listen --count 1 --timeout 0.3 --group 2719
check_eq listen-timeout-msg "sluicectl: timed out after 0.3 s with 0 of 1 drops" "$(cat "$ERR")"

# --netns: the listener binds in b's netns (a log rule of its own on input, from the node's
# address) and reads the class's policies from b's table (programmed above)
ip addr add 10.9.0.1/24 dev br0
check listen-netns-table ip netns exec ctl-b nft -f - <<'EOF'
table inet ctltest {
	chain in {
		type filter hook input priority 0;
		udp dport 5353 log group 2718 prefix "ci-t1" drop
	}
}
EOF
udp5353() { socat -T0.2 - "UDP4:$B:5353" <<<x; }
"$CTL" --store "$STORE" -o json drops --listen --netns /run/netns/ctl-b --count 1 --timeout 20 \
	>"$OUT" 2>"$ERR" &
L=$!
defer "kill $L"
until_gone "$L" 150 udp5353
wait "$L"
check_eq listen-netns-status 0 $?
check_eq listen-netns-drop 'ci-t1 ["y/allow-80"] 10.9.0.1 10.9.0.3 udp 5353 null y/b' \
	"$(jq -r '"\(.class) \(.policies | tojson) \(.src) \(.dst) \(.proto) \(.dport) \(.srcPod) \(.dstPod)"' "$OUT")"
run listen-netns-bad 1 drops --listen --netns "$T_TMP/notns"
check_eq listen-netns-bad-msg "sluicectl: --netns $T_TMP/notns: not a network namespace" "$(cat "$ERR")"

# --- sluiced: its table from the store, its collector ----------------------------------------
# The agent renders the same policy from the store (every pod of y isolated; TCP 80 from
# any namespace allowed) into its own table, replacing the hand-built one; `wait` returns
# once it has (its key agents/n1), `policy stats` reads the rendered rules
nft delete table inet sluice_policy
ctl apply -f - >/dev/null <<'EOF'
{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"allow-80","namespace":"y"},
 "spec":{"podSelector":{},"ingress":[{"from":[{"namespaceSelector":{}}],"ports":[{"protocol":"TCP","port":80}]}]}}
EOF
ip link add eth0 type veth peer name eth0p
ip addr add 192.168.100.1/24 dev eth0
ip link set eth0 up
ip link set eth0p up
ip route add default via 192.168.100.254 dev eth0
ctl config set -f - <<<'{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}' >/dev/null
N=$T_TMP/node1
mkdir -p "$N"
setsid "$BIN/sluiced" --store "$STORE" --subnet-file "$N/subnet.env" --cni-conf-dir "$N/net.d" \
	--node-name n1 --no-ip-masq 2>"$T_TMP/sluiced.log" &
AGENT=$!
defer "kill -KILL $AGENT"
run agent-wait 0 --store "$STORE" wait --node n1 --timeout 30
check_eq agent-wait-out "revision $(ctl -o json store get "$P/policies/y/allow-80" | jq .mod_revision) in force on 1 node: n1" "$(cat "$OUT")"
run agent-stats 0 -o json policy stats
check_eq agent-stats-rule '"ingress[0]" 0' "$(jq -c '.policies[] | select(.namespace == "y" and .name == "allow-80") | .rules[0] | "\(.rule | tojson) \(.packets)"' -r "$OUT")"
check_eq agent-stats-class '["y/allow-80"]' "$(jq -c '.classes[] | select(.direction == "ingress") | .policies' "$OUT")"
for _ in $(seq 100); do [ -s "$N/drops.json" ] && break; sleep 0.1; done
run agent-drops-empty 0 -o json drops --run-dir "$N"
check_eq agent-drops-file "n1 $AGENT 2718 0" "$(jq -r '"\(.node) \(.pid) \(.group) \(.drops | length)"' "$OUT")"
run agent-listen-busy 1 drops --listen --count 1 --timeout 1
check_eq agent-listen-busy-msg "sluicectl: NFLOG group 2718 is bound by another listener in this netns" "$(cat "$ERR")"

"$CTL" -o json drops --run-dir "$N" --follow --count 2 --timeout 20 >"$T_TMP/follow" 2>"$ERR" &
F=$!
defer "kill $F"
until_gone "$F" 150 syn81
wait "$F"
check_eq follow-status 0 $?
check_eq follow-two-lines 2 "$(wc -l <"$T_TMP/follow")"
check_eq follow-drop 'ci- ingress ["y/allow-80"] 10.9.0.2 10.9.0.3 tcp 81 x/a y/b' \
	"$(head -1 "$T_TMP/follow" | jq -r '"\(.class[0:3]) \(.direction) \(.policies | tojson) \(.src) \(.dst) \(.proto) \(.dport) \(.srcPod) \(.dstPod)"')"
check_eq follow-seq-increasing 1 "$(jq -s '.[1].seq - .[0].seq' "$T_TMP/follow")"
run agent-drops 0 -o json drops --run-dir "$N"
check agent-drops-recorded jq -e '(.drops | length) >= 2 and (.drops[-1].srcPod == "x/a")' "$OUT"
run agent-drops-count 0 -o json drops --run-dir "$N" --count 1
check_eq agent-drops-count-1 1 "$(jq '.drops | length' "$OUT")"
run agent-drops-table 0 drops --run-dir "$N" --count 1
check agent-drops-table-header grep -qE '^TIME +DIRECTION +PROTO +SOURCE +DESTINATION +POLICIES +CLASS$' "$OUT"
check agent-drops-table-row grep -qE 'ingress +tcp +10\.9\.0\.2:[0-9]+ \(x/a\) +10\.9\.0\.3:81 \(y/b\) +y/allow-80 +ci-[0-9a-z]+$' "$OUT"
# a burst of 20 pings in 0.2 s: the log rule's limit (10/s, burst 10) passes about 10 of
# them, all recorded, in at most a few writes of the file (5 a second: one at once, one
# after 200 ms), counted by inotify while it lasts
cat >"$T_TMP/writes.py" <<'EOF'
import ctypes, os, select, struct, sys, time
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.inotify_init1(os.O_NONBLOCK)
libc.inotify_add_watch(fd, sys.argv[1].encode(), 0x80)  # IN_MOVED_TO
open(sys.argv[3], "w").close()  # watching
n, end = 0, time.time() + float(sys.argv[2])
while time.time() < end:
    if select.select([fd], [], [], max(0, end - time.time()))[0]:
        buf = os.read(fd, 4096)
        i = 0
        while i < len(buf):
            _, _, _, ln = struct.unpack_from("iIII", buf, i)
            n += buf[i + 16:i + 16 + ln].rstrip(b"\0") == b"drops.json"
            i += 16 + ln
print(n)
EOF
before=$(jq '.drops[-1].seq' "$N/drops.json")
python3 "$T_TMP/writes.py" "$N" 2 "$T_TMP/watching" >"$T_TMP/writes" &
WP=$!
for _ in $(seq 50); do [ -e "$T_TMP/watching" ] && break; sleep 0.1; done
t0=$(date +%s%N)
ip netns exec ctl-a ping -c 20 -i 0.01 -W 0.1 "$B" >/dev/null 2>&1
ms=$((($(date +%s%N) - t0) / 1000000))
wait "$WP"
logged=$(jq --argjson b "$before" '[.drops[] | select(.seq > $b)] | length' "$N/drops.json")
writes=$(cat "$T_TMP/writes")
echo "  burst of 20 in $ms ms: $logged drops logged, $writes writes of drops.json"
# the limit: its burst of 10, plus 10 a second of the burst's duration
check agent-burst-limited test "$logged" -ge 8 -a "$logged" -le $((10 + ms / 100 + 1))
# the file: once at once, then at most every 200 ms while drops come (and once after)
check agent-burst-debounced test "$writes" -ge 1 -a "$writes" -le $((2 + ms / 200))

stop_pid "$AGENT" TERM 50
# (a SANITIZE=1 build reports its findings there, at the latest on exit)
check agent-log-clean bash -c "! grep -E 'Sanitizer|runtime error' '$T_TMP/sluiced.log'"
run agent-stale 1 drops --run-dir "$N"
check_eq agent-stale-msg "sluicectl: $N/drops.json is stale: its agent (PID $AGENT) is not running; 'sluicectl drops --listen' reads NFLOG itself" "$(cat "$ERR")"
# --no-network-policy: no collector (the group stays free, the old file is not rewritten)
setsid "$BIN/sluiced" --store "$STORE" --subnet-file "$N/subnet.env" --cni-conf-dir "$N/net.d" \
	--node-name n1 --no-ip-masq --no-network-policy 2>>"$T_TMP/sluiced.log" &
AGENT2=$!
defer "kill -KILL $AGENT2"
agent2_up() { [ "$(jq .PID "$N/subnet.agent.json" 2>/dev/null)" = "$AGENT2" ]; }
for _ in $(seq 100); do agent2_up && break; sleep 0.1; done
check agent-nopolicy-up agent2_up
run agent-nopolicy-listen 1 drops --listen --count 1 --timeout 0.3
check_eq agent-nopolicy-listen-msg "sluicectl: timed out after 0.3 s with 0 of 1 drops" "$(cat "$ERR")"
check_eq agent-nopolicy-file-kept "$AGENT" "$(jq .pid "$N/drops.json")"
stop_pid "$AGENT2" TERM 50
run drops-absent 1 drops --run-dir "$T_TMP/nowhere"
check drops-absent-msg grep -q "^sluicectl: no drops file $T_TMP/nowhere/drops.json (No such file or directory)" "$ERR"
run drops-help 0 drops --help
check drops-help-usage grep -q '^Usage: sluicectl \[GLOBAL FLAGS\] drops' "$OUT"
run drops-listen-follow 2 drops --listen --follow
run drops-netns-no-listen 2 drops --netns /run/netns/ctl-a

# --- wait -----------------------------------------------------------------------------------
# wait_suite TAG URL: against one store
agent_key() { "$CTL" --store "$2" store put "$P/agents/$1" "{\"node\":\"$1\",\"policyRevision\":$3,\"updated\":$(date +%s)}" >/dev/null; }
wait_suite() {
	local t=$1 S=$2 r1 r2 t0 t1
	"$CTL" --store "$S" apply -f - >/dev/null <<'EOF'
{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"allow-80","namespace":"y"},"spec":{"podSelector":{},"ingress":[{"ports":[{"port":80}]}]}}
EOF
	r1=$("$CTL" --store "$S" -o json store get "$P/policies/y/allow-80" | jq .mod_revision)
	# no agent yet: status 1 saying so
	run "$t-no-agent" 1 --store "$S" wait --timeout 0.2
	check_eq "$t-no-agent-msg" "sluicectl: timed out after 0.2 s waiting for revision $r1: no agent has reported under $P/agents/" "$(cat "$ERR")"
	agent_key n1 "$S" "$r1"
	agent_key n2 "$S" "$r1"
	t0=$(date +%s%N)
	run "$t-at-once" 0 --store "$S" wait
	t1=$(date +%s%N)
	check_eq "$t-at-once-out" "revision $r1 in force on 2 nodes: n1, n2" "$(cat "$OUT")"
	check_ms "$t-at-once-fast" 2000 $(((t1 - t0) / 1000000))
	# a new policy: both behind, then n1 catches up
	"$CTL" --store "$S" apply -f - >/dev/null <<'EOF'
{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"deny","namespace":"y"},"spec":{"podSelector":{}}}
EOF
	r2=$("$CTL" --store "$S" -o json store get "$P/policies/y/deny" | jq .mod_revision)
	run "$t-behind" 1 --store "$S" wait --timeout 0.3
	check_eq "$t-behind-msg" "sluicectl: timed out after 0.3 s waiting for revision $r2: behind: n1 at $r1, n2 at $r1" "$(cat "$ERR")"
	agent_key n1 "$S" "$r2"
	run "$t-one-behind" 1 --store "$S" -o json wait --timeout 0.3
	check_eq "$t-one-behind-msg" "sluicectl: timed out after 0.3 s waiting for revision $r2: behind: n2 at $r1" "$(cat "$ERR")"
	check_eq "$t-one-behind-json" 'false ["n2"]' "$(jq -c '"\(.done) \(.behind)"' -r "$OUT")"
	run "$t-node-n1" 0 --store "$S" wait --node n1 --timeout 0.3
	run "$t-node-absent" 1 --store "$S" wait --node n1 --node n3 --timeout 0.3
	check_eq "$t-node-absent-msg" "sluicectl: timed out after 0.3 s waiting for revision $r2: behind: n3 (no agent key)" "$(cat "$ERR")"
	run "$t-revision-given" 0 --store "$S" wait --revision "$r1" --timeout 0.3
	# the watch: wait returns as soon as n2's key reaches the revision
	"$CTL" --store "$S" wait --timeout 20 >"$T_TMP/wait.out" 2>&1 &
	local W=$!
	defer "kill $W"
	sleep 0.5 # (only so that the key comes after wait has listed: either order must pass)
	t0=$(date +%s%N)
	agent_key n2 "$S" "$r2"
	for _ in $(seq 500); do pid_gone "$W" && break; sleep 0.01; done
	t1=$(date +%s%N)
	wait "$W"
	check_eq "$t-watch-status" 0 $?
	check_eq "$t-watch-out" "revision $r2 in force on 2 nodes: n1, n2" "$(cat "$T_TMP/wait.out")"
	check_ms "$t-watch-fast" 1000 $(((t1 - t0) / 1000000))
	# a deletion leaves no key: its revision is read back from the history (a later
	# write outside the policy's keys does not count)
	"$CTL" --store "$S" delete networkpolicy y/deny >/dev/null
	local rdel
	rdel=$("$CTL" --store "$S" -o json status | jq .revision)
	"$CTL" --store "$S" store put "$P/subnets/10.5.9.0-24" '{}' >/dev/null
	run "$t-delete-behind" 1 --store "$S" wait --timeout 0.3
	check_eq "$t-delete-behind-msg" "sluicectl: timed out after 0.3 s waiting for revision $rdel: behind: n1 at $r2, n2 at $r2" "$(cat "$ERR")"
	agent_key n1 "$S" "$rdel"
	agent_key n2 "$S" "$rdel"
	run "$t-delete-done" 0 --store "$S" wait --timeout 5
	check_eq "$t-delete-done-out" "revision $rdel in force on 2 nodes: n1, n2" "$(cat "$OUT")"
	# status: the policy view
	run "$t-status-json" 0 --store "$S" -o json status
	check_eq "$t-status-policy" "$rdel n1:$rdel:true n2:$rdel:true" \
		"$(jq -r '"\(.policy.revision) " + ([.policy.agents[] | "\(.node):\(.policyRevision):\(.inForce)"] | join(" "))' "$OUT")"
	agent_key n2 "$S" "$r1"
	run "$t-status-table" 0 --store "$S" status
	check "$t-status-table-head" grep -qE '^POLICY-REVISION +AGENTS +BEHIND$' "$OUT"
	check_eq "$t-status-table-summary" "$rdel 2 1" "$(awk '/^POLICY-REVISION/ {getline; print $1, $2, $3}' "$OUT")"
	check_eq "$t-status-table-n2" "n2 $r1 no" "$(awk '$1 == "n2" {print $1, $2, $4}' "$OUT")"
}

wait_suite dir "dir://$T_TMP/store2"
run wait-bad-revision 2 --store "dir://$T_TMP/store2" wait --revision x
check_eq wait-bad-revision-msg "sluicectl wait: --revision needs a whole number >= 0, got 'x'" "$(head -1 "$ERR")"
run wait-bad-timeout 2 --store "$STORE" wait --timeout -1
run wait-extra 2 --store "$STORE" wait now
run wait-help 0 wait --help
check wait-help-usage grep -q '^Usage: sluicectl \[GLOBAL FLAGS\] wait' "$OUT"
run help-lists 0 --help
check help-lists-verbs grep -qE '^  wait ' "$OUT"

if etcd_up ctlpol http://127.0.0.1:23891 http://127.0.0.1:23892; then
	wait_suite etcd etcd://127.0.0.1:23891
else
	fail etcd-up "etcd did not start" "$(tail -5 "$T_TMP/etcd-ctlpol.log")"
fi
