#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# sluice-portmap: a host port is held by one attachment at a time. A second attachment's ADD
# of it is refused (code 102, naming the holder) and changes nothing, its DEL (libcni's after
# the failed ADD) removes nothing of the holder's, even when it has the holder's pod address;
# ADD again of the holder replaces its own; a hostIP-bound mapping and a mapping of every
# address share a port (the bound one wins on its address, as a socket bound to it would);
# a stale holder (its DEL never came) is freed by GC or by a DEL by its container ID; the
# refused attachment's DEL flushes no UDP conntrack entry of the holder's port.
# Traffic is TCP from the node to its own addresses (output hook), so nothing is lost.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

N=$$
DATA=$T_TMP/ipam
NODE4=192.168.98.1 HIP4=192.168.98.10

ip link set lo up
sysctl -qw net.ipv4.ip_forward=1
# the node's addresses, on a veth whose peer waits in a netns of its own
mk_netns "pmhc$N"
ip link add "h$N" type veth peer name eth0 netns "pmhc$N" && defer "ip link del h$N"
ip addr add "$NODE4/24" dev "h$N" && ip addr add "$HIP4/24" dev "h$N"
ip link set "h$N" up && ip -n "pmhc$N" link set eth0 up

BR=$T_TMP/br.json
jq -n --arg d "$DATA" '{cniVersion:"1.0.0",name:"pmh",type:"sluice-bridge",bridge:"spmh0",
	isGateway:true,isDefaultGateway:true,ipam:{type:"sluice-host-local",dataDir:$d,ranges:[[{subnet:"10.98.0.0/24"}]]}}' >"$BR"

# bridge POD: the bridge's ADD of pod$N-POD (its result in POD.br), DEL deferred
bridge() {
	mk_netns "pod$N-$1"
	defer "cni DEL cid-$1 pod$N-$1 eth0 $BR"
	cni ADD "cid-$1" "pod$N-$1" eth0 "$BR" >"$T_TMP/$1.br"
}
# pm VERB CID POD MAPPINGS: sluice-portmap with POD's bridge result as prevResult (the reply
# in $T_TMP/CID.out)
pm() {
	jq -n --argjson m "$4" --slurpfile r "$T_TMP/$3.br" '{cniVersion:"1.0.0",name:"pmh",
		type:"sluice-portmap",capabilities:{portMappings:true},
		runtimeConfig:{portMappings:$m},prevResult:$r[0]}' >"$T_TMP/$2.pm"
	cni "$1" "cid-$2" "pod$N-$3" eth0 "$T_TMP/$2.pm" >"$T_TMP/$2.out"
}
# serve POD: a TCP server on port 80 answering the pod's name
serve() {
	echo_server "pod$N-$1" TCP4 80 "$1"
	listening "pod$N-$1" tcp 80 || fail "server in pod $1 listening"
}
get() { ask "" tcp4 "$1" "$2"; }
owned() { sluice_nft_elems "cid-$1/"; }
err() { jq -r '"\(.code) \(.msg)"' "$T_TMP/$1.out"; }
held() { # PORT HOLDER [ADDRESS:]: the message of a refused ADD
	echo "102 host port ${3:-}$1/tcp (IPv4) is held by container cid-$2, interface eth0; its DEL (or a GC) frees it"
}
P8080='[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]'

for p in a b c; do bridge "$p" || fail "bridge ADD of $p"; done
serve a
serve b
serve c

# --- a second attachment's ADD of a held port is refused -------------------------------------
check "ADD of a with 8080" pm ADD a a "$P8080"
na=$(owned a)
check_eq "a holds 8080: ports4, snat4, local4, owners" 4 "$na"
check_eq "8080 reaches a" a "$(get $NODE4 8080)"
check_fail "ADD of b with 8080 fails" pm ADD b b "$P8080"
check_eq "... code 102, naming a" "$(held 8080 a)" "$(err b)"
check_eq "... and adds nothing of b" 0 "$(owned b)"
check_eq "8080 still reaches a" a "$(get $NODE4 8080)"
check "CHECK of a passes" pm CHECK a a "$P8080"
check "DEL of b (libcni's after its failed ADD) succeeds" pm DEL b b "$P8080"
check_eq "... and leaves a's elements" "$na" "$(owned a)"
check "CHECK of a still passes" pm CHECK a a "$P8080"
# the same pod address as the holder: DNAT elements of the same data
check_fail "ADD of z with a's address and 8080 fails" pm ADD z a "$P8080"
check_eq "... code 102, naming a" "$(held 8080 a)" "$(err z)"
check "DEL of z succeeds" pm DEL z a "$P8080"
check_eq "... and leaves a's elements, the same data as z's" "$na" "$(owned a)"
check "CHECK of a passes after z's DEL" pm CHECK a a "$P8080"
check_eq "8080 reaches a after z's DEL" a "$(get $NODE4 8080)"

# --- ADD again of the holder ---------------------------------------------------------------
check "ADD of a again" pm ADD a a "$P8080"
check_eq "... the same elements" "$na" "$(owned a)"
check "... CHECK passes" pm CHECK a a "$P8080"
P2='[{"hostPort":8080,"containerPort":80,"protocol":"tcp"},{"hostPort":8081,"containerPort":80,"protocol":"tcp"}]'
check "ADD of a again with 8081 too" pm ADD a a "$P2"
check_eq "... 8081 reaches a" a "$(get $NODE4 8081)"
check "... CHECK passes" pm CHECK a a "$P2"

# --- hostIP-bound and every address share a port ------------------------------------------------
PH='[{"hostPort":8080,"containerPort":80,"protocol":"tcp","hostIP":"'$HIP4'"}]'
check "ADD of b with 8080 bound to $HIP4 (a has 8080 on every address)" pm ADD b b "$PH"
check_eq "$HIP4:8080 reaches b" b "$(get $HIP4 8080)"
check_eq "$NODE4:8080 still reaches a" a "$(get $NODE4 8080)"
check "CHECK of a passes" pm CHECK a a "$P2"
check_fail "ADD of c with 8080 bound to $HIP4 fails" pm ADD c c "$PH"
check_eq "... code 102, naming b" "$(held 8080 b "$HIP4:")" "$(err c)"
check "DEL of c" pm DEL c c "$PH"
check_eq "$HIP4:8080 still reaches b" b "$(get $HIP4 8080)"
check "DEL of b" pm DEL b b "$PH"
check_eq "$HIP4:8080 reaches a again" a "$(get $HIP4 8080)"

# --- a stale holder: freed by GC, or by a DEL by its container ID --------------------------------
check "ADD of c with 9090 (its DEL will never come)" pm ADD c c '[{"hostPort":9090,"containerPort":80,"protocol":"tcp"}]'
check_fail "ADD of b with 9090 fails" pm ADD b b '[{"hostPort":9090,"containerPort":80,"protocol":"tcp"}]'
check_eq "... naming c" "$(held 9090 c)" "$(err b)"
jq -n '{cniVersion:"1.1.0",name:"pmh",type:"sluice-portmap",
	"cni.dev/valid-attachments":[{containerID:"cid-a",ifname:"eth0"},{containerID:"cid-b",ifname:"eth0"}]}' >"$T_TMP/gc.json"
check "GC with a and b valid" cni GC "" "" "" "$T_TMP/gc.json"
check_eq "... removed c's elements" 0 "$(owned c)"
check "ADD of b with 9090 now succeeds" pm ADD b b '[{"hostPort":9090,"containerPort":80,"protocol":"tcp"}]'
check_eq "9090 reaches b" b "$(get $NODE4 9090)"
check_fail "ADD of c with 9090 fails" pm ADD c c '[{"hostPort":9090,"containerPort":80,"protocol":"tcp"}]'
jq -n '{cniVersion:"1.0.0",name:"pmh",type:"sluice-portmap"}' >"$T_TMP/bycid.json"
check "DEL of b by container ID (no mappings, no prevResult)" cni DEL cid-b "" eth0 "$T_TMP/bycid.json"
check "ADD of c with 9090 now succeeds" pm ADD c c '[{"hostPort":9090,"containerPort":80,"protocol":"tcp"}]'
check_eq "9090 reaches c" c "$(get $NODE4 9090)"

# --- the refused attachment's DEL flushes no conntrack entry of the holder's ------------------
P3='[{"hostPort":8080,"containerPort":80,"protocol":"tcp"},{"hostPort":8081,"containerPort":80,"protocol":"tcp"},
	{"hostPort":5353,"containerPort":53,"protocol":"udp"}]'
PU='[{"hostPort":5353,"containerPort":53,"protocol":"udp"}]'
check "ADD of a again with udp 5353 too" pm ADD a a "$P3"
conntrack -I -s 192.168.98.2 -d $NODE4 -p udp --sport 40000 --dport 5353 -t 100 >/dev/null 2>&1
ctn() { conntrack -L -p udp --orig-port-dst 5353 2>/dev/null | grep -c udp; }
check_eq "a UDP entry of a's 5353" 1 "$(ctn)"
check_fail "ADD of b with udp 5353 fails" pm ADD b b "$PU"
check "DEL of b" pm DEL b b "$PU"
check_eq "... leaves the entry of a's 5353" 1 "$(ctn)"
check_fail "ADD of z (a's address) with udp 5353 fails" pm ADD z a "$PU"
check "DEL of z" pm DEL z a "$PU"
check_eq "... leaves the entry of a's 5353" 1 "$(ctn)"

# --- nothing left -------------------------------------------------------------------------------
check "DEL of a" pm DEL a a "$P3"
check "DEL of c" pm DEL c c '[{"hostPort":9090,"containerPort":80,"protocol":"tcp"}]'
check_eq "no element left" 0 "$(sluice_nft_elems)"
