#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# What a plugin is handed from outside its config's values: CNI_NETNS naming something that is
# not a network namespace (a FIFO, a file, a directory, a socket, /dev/zero, another kind of
# namespace, nothing), a resolvConf that never ends or blocks, and an ipam.type that leads
# back to the delegating plugin (by name, by link, through scripts). Each is refused with an
# exact error, at once, and leaves nothing behind. Every plugin call runs under a timeout that
# kills its whole process group, inside a pids cgroup of its own when there is one, so a
# delegation loop cannot take the machine down if the guard fails.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

N=$$
DATA=$T_TMP/ipam
ODD=$T_TMP/odd
mkdir -p "$ODD"
mkfifo "$ODD/fifo"
: >"$ODD/file"
mkdir "$ODD/dir"
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$ODD/sock"

# a pids cgroup (v1 or v2) for the plugin calls: at most 64 processes
CG=
for root in /sys/fs/cgroup/pids /sys/fs/cgroup/unified /sys/fs/cgroup; do
	if [ -w "$root" ] && [ -e "$root/cgroup.procs" ] && mkdir "$root/sluice-test-$N" 2>/dev/null; then
		if echo 64 >"$root/sluice-test-$N/pids.max" 2>/dev/null; then
			CG=$root/sluice-test-$N
			# killed processes leave the cgroup a moment later: rmdir is retried (EBUSY)
			defer "for _ in \$(seq 25); do rmdir $CG && break; sleep 0.2; done"
			break
		fi
		rmdir "$root/sluice-test-$N"
	fi
done
[ -n "$CG" ] || echo "note: no pids cgroup: calls bounded by timeout and process group only"

# kill_cg: ends whatever this test started that is left in the cgroup (by PID)
kill_cg() {
	local p
	[ -n "$CG" ] || return 0
	while read -r p; do kill -9 "$p" 2>/dev/null; done <"$CG/cgroup.procs"
	return 0
}
defer kill_cg

# call PLUGIN VERB CID NETNS_PATH CONF [CNI_PATH]: runs a plugin as a runtime would, CNI_NETNS
# exactly as given; stdout is its JSON, the status its own (124 or 137 when it hung). The
# call is ended, with every process of its group, after 10 s.
call() {
	local exe=$BIN/$1
	[ -x "$exe" ] || exe=$UPSTREAM/$1
	# shellcheck disable=SC2016 # $$ and "$@" belong to the inner shell
	timeout -k 2 10 sh -c '[ -z "$1" ] || echo $$ >"$1/cgroup.procs"; shift; exec "$@"' sh "$CG" \
		env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin CNI_COMMAND="$2" CNI_CONTAINERID="$3" \
		CNI_NETNS="$4" CNI_IFNAME=eth0 CNI_PATH="${6:-$BIN:$UPSTREAM}" "$exe" <"$5"
}
# expect NAME CODE MSG PLUGIN VERB CID NETNS_PATH CONF [CNI_PATH]: the call fails at once with
# exactly {code, msg}
expect() {
	local name=$1 code=$2 msg=$3 out rc
	shift 3
	out=$(call "$@" 2>"$T_TMP/stderr")
	rc=$?
	check_eq "$name: exit status 1 (not a hang)" 1 "$rc"
	check_eq "$name: error JSON" "$(jq -cn --argjson c "$code" --arg m "$msg" '{code:$c,msg:$m}')" \
		"$(jq -c '{code,msg}' <<<"$out" 2>&1)"
	[ -z "$CG" ] || check_eq "$name: no process left" "" "$(cat "$CG/cgroup.procs")"
	kill_cg
}

links() { ip -o link show | awk -F': ' '{print $2}' | sort | xargs; }
pod_links() { ip -n "pod$N" -o link show | awk -F': ' '{print $2}' | sort | xargs; }
reservations() { find "$DATA" -type f ! -name lock ! -name 'last_reserved_ip.*' 2>/dev/null | wc -l; }

mk_netns "pod$N"
# conf NAME [JQ]: a sluice-bridge config with sluice-host-local, changed by JQ
conf() {
	jq -n --arg d "$DATA" '{cniVersion:"1.0.0",name:"xe",type:"sluice-bridge",bridge:"xebr0",
		isGateway:true,ipam:{type:"sluice-host-local",dataDir:$d,
		ranges:[[{subnet:"10.94.0.0/24"}]]}}' | jq "${2:-.}" >"$T_TMP/$1.json"
	echo "$T_TMP/$1.json"
}
BASE=$(conf base)
LINKS0=$(links)

# --- CNI_NETNS that is not a network namespace ---------------------------------------------
BWC=$T_TMP/bw.json
jq -n '{cniVersion:"1.0.0",name:"xe",type:"sluice-bandwidth",ingressRate:1000000,
	ingressBurst:100000,prevResult:{cniVersion:"1.0.0",interfaces:[{name:"eth0",
	sandbox:"/x"}],ips:[]}}' >"$BWC"
for kind in fifo file dir sock /dev/zero /proc/self/ns/mnt; do
	path=$ODD/$kind
	[ "${kind:0:1}" = / ] && path=$kind
	for pv in sluice-bridge:ADD:"$BASE" sluice-bridge:CHECK:"$BASE" sluice-bandwidth:ADD:"$BWC" \
		sluice-bandwidth:CHECK:"$BWC"; do
		IFS=: read -r plug verb cf <<<"$pv"
		c=$cf
		if [ "$verb" = CHECK ] && [ "$plug" = sluice-bridge ]; then
			c=$T_TMP/chk.json
			jq '.prevResult={cniVersion:"1.0.0",interfaces:[{name:"eth0",sandbox:"/x"}],
				ips:[]}' "$cf" >"$c"
		fi
		expect "netns $kind: $plug $verb" 4 \
			"failed to open netns \"$path\": not a network namespace" \
			"$plug" "$verb" cid-ns "$path" "$c"
	done
done
expect "netns that does not exist: sluice-bridge ADD" 3 \
	"failed to open netns \"$ODD/none\": No such file or directory" \
	sluice-bridge ADD cid-ns "$ODD/none" "$BASE"
# the verbs that never open CNI_NETNS (DEL needs none; portmap and host-local use none) do
# not touch the FIFO either: they answer at once
PMC=$T_TMP/pm.json
jq -n '{cniVersion:"1.0.0",name:"xe",type:"sluice-portmap",capabilities:{portMappings:true},
	runtimeConfig:{portMappings:[{hostPort:8080,containerPort:80,protocol:"tcp"}]},
	prevResult:{cniVersion:"1.0.0",interfaces:[{name:"eth0",sandbox:"/x"}],
	ips:[{address:"10.94.0.5/24",interface:0}]}}' >"$PMC"
for pv in sluice-bridge:DEL:"$BASE" sluice-bandwidth:DEL:"$BWC" sluice-portmap:ADD:"$PMC" \
	sluice-portmap:DEL:"$PMC" sluice-host-local:ADD:"$BASE" sluice-host-local:DEL:"$BASE"; do
	IFS=: read -r plug verb cf <<<"$pv"
	call "$plug" "$verb" cid-fifo "$ODD/fifo" "$cf" >"$T_TMP/out.fifo"
	check_eq "netns fifo: $plug $verb answers at once, and succeeds" 0 "$?"
done
check_eq "bad netns: no link made on the host" "$LINKS0" "$(links)"
check_eq "bad netns: no address reserved" 0 "$(reservations)"
check_eq "bad netns: the FIFO is still a FIFO, nobody wrote it" "fifo" \
	"$(stat -c %F "$ODD/fifo" | sed 's/.*fifo.*/fifo/')"

# both forms of a real one work: /run/netns/NAME and /proc/PID/ns/net
out=$(call sluice-bridge ADD cid-run "/run/netns/pod$N" "$BASE")
check_eq "netns /run/netns/pod: ADD succeeds" 0 "$?"
defer "call sluice-bridge DEL cid-run '' $BASE"
setsid ip netns exec "pod$N" sleep 60 >/dev/null 2>&1 &
holder=$!
defer "kill $holder"
for _ in $(seq 1 50); do
	[ "$(readlink "/proc/$holder/ns/net")" = "$(ip netns exec "pod$N" readlink /proc/self/ns/net)" ] && break
	sleep 0.1
done
out2=$(timeout -k 2 10 env -i CNI_COMMAND=ADD CNI_CONTAINERID=cid-proc CNI_NETNS="/proc/$holder/ns/net" \
	CNI_IFNAME=eth1 CNI_PATH="$BIN" "$BIN/sluice-bridge" <"$BASE")
check_eq "netns /proc/PID/ns/net: ADD succeeds" 0 "$?"
defer "env -i CNI_COMMAND=DEL CNI_CONTAINERID=cid-proc CNI_IFNAME=eth1 CNI_PATH=$BIN $BIN/sluice-bridge <$BASE"
check_eq "both ADDs put their interface in the pod" "eth0 eth1 lo" \
	"$(pod_links | sed 's/@[^ ]*//g')"
check_eq "the /proc form's result names it as the sandbox" "/proc/$holder/ns/net" \
	"$(jq -r '.interfaces[2].sandbox' <<<"$out2")"
check "DEL of the /proc form" env -i CNI_COMMAND=DEL CNI_CONTAINERID=cid-proc \
	CNI_NETNS="/proc/$holder/ns/net" CNI_IFNAME=eth1 CNI_PATH="$BIN" "$BIN/sluice-bridge" <"$BASE"
check "DEL of the /run form" call sluice-bridge DEL cid-run "/run/netns/pod$N" "$BASE"
check_eq "both DELs: one reservation fewer each" 0 "$(reservations)"

# --- resolvConf that is not a regular file, or too big -------------------------------------
hl() { # NAME CODE MSG RESOLVCONF: sluice-host-local alone, then under sluice-bridge
	local f
	f=$(conf "rc-$1" ".ipam.resolvConf=\"$4\"")
	expect "resolvConf $1: sluice-host-local ADD" "$2" "$3" sluice-host-local ADD cid-rc /none "$f"
	expect "resolvConf $1: sluice-bridge ADD" "$2" "$3" sluice-bridge ADD cid-rc "/run/netns/pod$N" "$f"
	check_eq "resolvConf $1: no address reserved" 0 "$(reservations)"
	check_eq "resolvConf $1: no interface left in the pod" "lo" "$(pod_links)"
	check_eq "resolvConf $1: no veth left on the host" "" "$(links | tr ' ' '\n' | grep '^veth')"
}
hl zero 7 "ipam.resolvConf: /dev/zero is not a regular file" /dev/zero
hl fifo 7 "ipam.resolvConf: $ODD/fifo is not a regular file" "$ODD/fifo"
hl dir 7 "ipam.resolvConf: $ODD/dir is not a regular file" "$ODD/dir"
hl sock 7 "ipam.resolvConf: $ODD/sock is not a regular file" "$ODD/sock"
head -c 65537 /dev/zero | tr '\0' '#' >"$ODD/big"
hl big 7 "ipam.resolvConf: $ODD/big is larger than 65536 bytes" "$ODD/big"
hl missing 5 "resolvConf $ODD/none: No such file or directory" "$ODD/none"
{
	echo "nameserver 192.0.2.53"
	echo "search a.example b.example"
	head -c 65000 /dev/zero | tr '\0' '#' # a comment
	echo
	echo "options ndots:2"
} | head -c 65536 >"$ODD/max"
echo >>"$ODD/max"
truncate -s 65536 "$ODD/max"
out=$(call sluice-host-local ADD cid-rc /none "$(conf rc-max ".ipam.resolvConf=\"$ODD/max\"")")
check_eq "resolvConf of exactly 65536 bytes: read to its end" \
	'{"nameservers":["192.0.2.53"],"search":["a.example","b.example"],"options":["ndots:2"]}' \
	"$(jq -c .dns <<<"$out" 2>&1)"
check "resolvConf of 65536 bytes: DEL" call sluice-host-local DEL cid-rc /none "$T_TMP/rc-max.json"
lnk=$ODD/link-to-zero
ln -s /dev/zero "$lnk"
hl symlink 7 "ipam.resolvConf: $lnk is not a regular file" "$lnk"

# --- ipam.type that is not an IPAM plugin, or leads back -----------------------------------
for t in sluice-bridge sluice-portmap sluice-bandwidth bridge portmap tuning macvlan; do
	expect "ipam.type $t: ADD refused" 7 "ipam.type: \"$t\" is not an IPAM plugin" \
		sluice-bridge ADD cid-loop "/run/netns/pod$N" "$(conf "it-$t" ".ipam.type=\"$t\"")"
	expect "ipam.type $t: DEL refused too" 7 "ipam.type: \"$t\" is not an IPAM plugin" \
		sluice-bridge DEL cid-loop "/run/netns/pod$N" "$T_TMP/it-$t.json"
done

# a private CNI_PATH with ways back to sluice-bridge under other names
LOOP=$T_TMP/loop
mkdir "$LOOP"
ln -s "$BIN/sluice-bridge" "$LOOP/self-link"
cp "$BIN/sluice-host-local" "$LOOP/" # a real IPAM plugin too
# loop-a and loop-b: each execs sluice-bridge with ipam.type the other one
for ab in a:b b:a; do
	printf '#!/bin/sh\njq -c ".ipam.type=\\"loop-%s\\"" | exec %s/sluice-bridge\n' \
		"${ab#*:}" "$BIN" >"$LOOP/loop-${ab%:*}"
	chmod +x "$LOOP/loop-${ab%:*}"
done
# wrap: execs sluice-bridge as it is, the same config
printf '#!/bin/sh\nexec %s/sluice-bridge\n' "$BIN" >"$LOOP/wrap"
chmod +x "$LOOP/wrap"

expect "ipam.type a link to sluice-bridge: refused before it runs" 7 \
	"ipam.type: delegation loop: \"self-link\" ($LOOP/self-link) is this plugin itself" \
	sluice-bridge ADD cid-loop "/run/netns/pod$N" "$(conf it-link '.ipam.type="self-link"')" "$LOOP"
for t in wrap loop-a; do
	expect "ipam.type $t (a script back to sluice-bridge): ADD refused" 7 \
		"ipam.type: delegation loop: sluice-bridge was itself run as an IPAM plugin (SLUICE_IPAM_DEPTH=1)" \
		sluice-bridge ADD cid-loop "/run/netns/pod$N" "$(conf "it-$t" ".ipam.type=\"$t\"")" "$LOOP"
	expect "ipam.type $t: DEL refused" 7 \
		"ipam.type: delegation loop: sluice-bridge was itself run as an IPAM plugin (SLUICE_IPAM_DEPTH=1)" \
		sluice-bridge DEL cid-loop "/run/netns/pod$N" "$T_TMP/it-$t.json" "$LOOP"
done
# the depth as a runtime would never set it: 0 is the top, anything else not a depth
depth_call() { # VALUE: sluice-bridge DEL with SLUICE_IPAM_DEPTH=VALUE
	timeout -k 2 10 env -i SLUICE_IPAM_DEPTH="$1" CNI_COMMAND=DEL CNI_CONTAINERID=cid-depth \
		CNI_IFNAME=eth0 CNI_PATH="$BIN" "$BIN/sluice-bridge" <"$BASE"
}
check "SLUICE_IPAM_DEPTH=0: a top-level call" depth_call 0
check_eq "SLUICE_IPAM_DEPTH=abc: refused, the value not echoed" \
	'{"code":7,"msg":"ipam.type: delegation loop: sluice-bridge was itself run as an IPAM plugin (SLUICE_IPAM_DEPTH=not a number)"}' \
	"$(depth_call abc | jq -c '{code,msg}')"
check_eq "SLUICE_IPAM_DEPTH=7: refused" \
	'{"code":7,"msg":"ipam.type: delegation loop: sluice-bridge was itself run as an IPAM plugin (SLUICE_IPAM_DEPTH=7)"}' \
	"$(depth_call 7 | jq -c '{code,msg}')"
check_eq "delegation loops: no interface left in the pod" "lo" "$(pod_links)"
check_eq "delegation loops: no veth left on the host" "" "$(links | tr ' ' '\n' | grep '^veth')"
check_eq "delegation loops: no address reserved" 0 "$(reservations)"
# and the guard does not stop a real delegation from a CNI_PATH with those scripts in it
out=$(call sluice-bridge ADD cid-ok "/run/netns/pod$N" "$BASE" "$LOOP")
check_eq "a real IPAM plugin beside the loops still works" 0 "$?"
check "DEL of it" call sluice-bridge DEL cid-ok "/run/netns/pod$N" "$BASE" "$LOOP"
check_eq "nothing reserved at the end" 0 "$(reservations)"
check_eq "only lo in the pod at the end" "lo" "$(pod_links)"

# --- numbers from outside that become ints -------------------------------------------------
# a delegate's error code that is no positive int (1e300 is undefined behaviour to convert):
# its whole output is reported as a failed delegation instead
for code in 1e300 -1 2.5; do
	printf '#!/bin/sh\ncat >/dev/null\nprintf %s\nexit 1\n' "'{\"code\": $code, \"msg\": \"boom\"}'" \
		>"$LOOP/badcode"
	chmod +x "$LOOP/badcode"
	expect "IPAM error code $code: reported as a failed delegation" 104 \
		"netplugin badcode failed: {\"code\": $code, \"msg\": \"boom\"}" \
		sluice-bridge ADD cid-code "/run/netns/pod$N" "$(conf it-code '.ipam.type="badcode"')" "$LOOP"
done
check_eq "bad IPAM error codes: no interface left in the pod" "lo" "$(pod_links)"

# bursts: 1-7 bits are 0 bytes, which the kernel refuses; 8 bits (1 byte) is the minimum it takes
out=$(call sluice-bridge ADD cid-bw "/run/netns/pod$N" "$BASE")
check_eq "burst: the pod for it is attached" 0 "$?"
defer "call sluice-bridge DEL cid-bw '' $BASE"
for burst in 1 7 8; do
	jq --argjson r "$out" --argjson b "$burst" '{cniVersion:"1.0.0",name:"xe",
		type:"sluice-bandwidth",ingressRate:1000000,ingressBurst:$b,egressRate:1000000,
		egressBurst:$b,prevResult:$r}' -n >"$T_TMP/bw$burst.json"
done
for burst in 1 7; do
	m="is below the minimum of 8 bits (burst/8 is the bucket in bytes, and the kernel refuses an empty one)"
	expect "burst of $burst bits: refused as config" 7 "ingressBurst: $burst $m; egressBurst: $burst $m" \
		sluice-bandwidth ADD cid-bw "/run/netns/pod$N" "$T_TMP/bw$burst.json"
done
hv=$(jq -r '.interfaces[1].name' <<<"$out")
check_eq "refused bursts: no qdisc on the host veth" "" "$(tc -j qdisc show dev "$hv" | jq -r '.[] | select(.kind == "tbf") | .kind')"
check "burst of 8 bits: the kernel takes it" call sluice-bandwidth ADD cid-bw "/run/netns/pod$N" "$T_TMP/bw8.json"
check_eq "burst of 8 bits: tbf with a 1-byte bucket on the host veth" "tbf 1" \
	"$(tc -j qdisc show dev "$hv" | jq -r '.[] | select(.kind == "tbf") | "\(.kind) \(.options.burst)"')"
check "burst of 8 bits: DEL" call sluice-bandwidth DEL cid-bw "/run/netns/pod$N" "$T_TMP/bw8.json"
