#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# sluice-host-local under load and beside upstream: parallel ADD/DEL on one range, upstream
# and sluice interleaved on one dataDir, upstream bridge using sluice-host-local as IPAM
# with pods pinging each other, GC with and without a valid list.
set -u
. "$(dirname "$0")/../lib.sh"

DATA=$T_TMP/data
conf() { # NAME TYPE [CNIVERSION]
	jq -n --arg n "$1" --arg t "$2" --arg v "${3:-1.0.0}" --arg d "$DATA" \
		'{cniVersion:$v,name:$n,ipam:{type:$t,dataDir:$d,ranges:[[{subnet:"10.66.0.0/24"}]]}}'
}
conf par sluice-host-local >"$T_TMP/sluice.json"
conf par host-local >"$T_TMP/upstream.json"

# ipam VERB CID CONF_FILE: runs the IPAM plugin named by the config's ipam.type
ipam() {
	local exe
	exe=$BIN/$(jq -r .ipam.type "$3")
	[ -x "$exe" ] || exe=$UPSTREAM/$(jq -r .ipam.type "$3")
	env -i CNI_COMMAND="$1" CNI_CONTAINERID="$2" CNI_NETNS=/run/netns/none CNI_IFNAME=eth0 \
		CNI_PATH="$BIN:$UPSTREAM" "$exe" <"$3"
}

store_ips() { find "$DATA/par" -maxdepth 1 -type f ! -name lock ! -name 'last_reserved_ip.*' -printf '%f\n' | sort; }

parallel() { # VERB: 64 calls at once; odd ones through $ODD_CONF
	local i pids=()
	for i in $(seq 1 64); do
		local c=$T_TMP/sluice.json
		[ $((i % 2)) -eq 1 ] && c=${ODD_CONF:-$c}
		ipam "$1" "ctr$i" "$c" >"$T_TMP/out.$i" 2>&1 &
		pids+=($!)
	done
	local rc=0
	for p in "${pids[@]}"; do wait "$p" || rc=1; done
	return $rc
}

run_round() { # LABEL
	local label=$1
	check "$label: 64 parallel ADDs succeed" parallel ADD
	check_eq "$label: 64 distinct addresses in the results" 64 \
		"$(cat "$T_TMP"/out.* | jq -r '.ips[0].address' | sort -u | wc -l)"
	check_eq "$label: 64 reservation files" 64 "$(store_ips | wc -l)"
	check_eq "$label: results match the store" "$(store_ips)" \
		"$(cat "$T_TMP"/out.* | jq -r '.ips[0].address | sub("/24$"; "")' | sort)"
	check "$label: 64 parallel DELs succeed" parallel DEL
	check_eq "$label: store empty after DELs" "" "$(store_ips)"
	check "$label: lock and last_reserved_ip kept" test -f "$DATA/par/lock" -a -f "$DATA/par/last_reserved_ip.0"
	rm -f "$T_TMP"/out.*
}

run_round sluice
ODD_CONF=$T_TMP/upstream.json run_round "upstream+sluice interleaved"

# one allocation by each, released by the other
check "upstream ADD up1" ipam ADD up1 "$T_TMP/upstream.json"
check "sluice ADD sl1" ipam ADD sl1 "$T_TMP/sluice.json"
check_eq "one reservation by each before the cross DELs" 2 "$(store_ips | wc -l)"
check_eq "... owned by up1 and sl1" "sl1 up1" \
	"$(for f in $(store_ips); do head -1 "$DATA/par/$f" | tr -d '\r'; echo; done | sort | xargs)"
check "sluice DEL releases upstream's reservation" ipam DEL up1 "$T_TMP/sluice.json"
check "upstream DEL releases sluice's reservation" ipam DEL sl1 "$T_TMP/upstream.json"
check_eq "store empty after cross DELs" "" "$(store_ips)"
printf 'legacy1' >"$DATA/par/10.66.0.200"
check "a legacy cid-only file is released by DEL" ipam DEL legacy1 "$T_TMP/sluice.json"
check_eq "legacy file gone" "" "$(store_ips)"

# a full set of two ranges whose last reservation ends the second range: the next ADD walks
# round to the first range and must stop there with "no addresses", not walk forever under
# the lock (and so block every call on the network)
jq -n --arg d "$DATA" '{cniVersion:"1.0.0",name:"two",ipam:{type:"sluice-host-local",dataDir:$d,
	ranges:[[{subnet:"10.68.0.0/24",rangeStart:"10.68.0.10",rangeEnd:"10.68.0.11"},
	{subnet:"10.68.1.0/24",rangeStart:"10.68.1.10",rangeEnd:"10.68.1.10"}]]}}' >"$T_TMP/two.json"
for c in f1 f2 f3; do check "two ranges: ADD $c" ipam ADD "$c" "$T_TMP/two.json"; done
check_eq "two ranges: last reservation at the end of the second range" 10.68.1.10 \
	"$(cat "$DATA/two/last_reserved_ip.0")"
check_eq "two ranges: a fourth ADD fails at once with code 101" 101 \
	"$(env -i CNI_COMMAND=ADD CNI_CONTAINERID=f4 CNI_NETNS=/run/netns/none CNI_IFNAME=eth0 CNI_PATH="$BIN" \
		timeout 10 "$BIN/sluice-host-local" <"$T_TMP/two.json" | jq .code)"

# last_reserved_ip is only where the next search starts: it is rewritten after the answer,
# a longer address by a shorter one leaves no trailing digits, and an unwritable one does
# not fail the ADD (upstream host-local ignores a bad file when it reads it)
jq -n --arg d "$DATA" '{cniVersion:"1.0.0",name:"hint",ipam:{type:"sluice-host-local",
	dataDir:$d,ranges:[[{subnet:"10.69.0.0/24",rangeStart:"10.69.0.99",rangeEnd:"10.69.0.100"}]]}}' \
	>"$T_TMP/hint.json"
check "hint: ADD h1" ipam ADD h1 "$T_TMP/hint.json"
check "hint: ADD h2" ipam ADD h2 "$T_TMP/hint.json"
check "hint: DEL h1" ipam DEL h1 "$T_TMP/hint.json"
check "hint: ADD h3 wraps round to the freed first address" ipam ADD h3 "$T_TMP/hint.json"
check_eq "hint: 10.69.0.100 rewritten as 10.69.0.99, nothing left of the longer one" \
	10.69.0.99 "$(cat "$DATA/hint/last_reserved_ip.0")"
check "hint: DEL h3" ipam DEL h3 "$T_TMP/hint.json"
rm -f "$DATA/hint/last_reserved_ip.0"
mkdir "$DATA/hint/last_reserved_ip.0"
check_eq "hint: ADD with an unwritable last_reserved_ip still answers" 10.69.0.99/24 \
	"$(ipam ADD h4 "$T_TMP/hint.json" 2>/dev/null | jq -r '.ips[0].address')"
check_eq "hint: and keeps its reservation" h4 "$(head -1 "$DATA/hint/10.69.0.99" | tr -d '\r')"

# upstream bridge with sluice-host-local as its IPAM; three pods reach each other
jq -n --arg d "$DATA" '{cniVersion:"1.0.0",name:"brnet",type:"bridge",bridge:"cnitest0",
	isGateway:true,ipam:{type:"sluice-host-local",dataDir:$d,
	ranges:[[{subnet:"10.67.0.0/24"}],[{subnet:"fd67::/64"}]]}}' >"$T_TMP/bridge.json"
for i in 1 2 3; do
	mk_netns "pod$$-$i"
	defer "cni DEL c$i pod$$-$i eth0 $T_TMP/bridge.json"
	add_pod() { cni ADD "c$1" "pod$$-$1" eth0 "$T_TMP/bridge.json" >"$T_TMP/res.$1"; }
	check "upstream bridge + sluice-host-local ADD pod$i" add_pod "$i"
done
defer "ip link del cnitest0"
a2=$(jq -r '.ips[] | select(.address|test("\\.")) | .address' "$T_TMP/res.2" | cut -d/ -f1)
a3v6=$(jq -r '.ips[] | select(.address|test(":")) | .address' "$T_TMP/res.3" | cut -d/ -f1)
check_eq "pod1 got the first address, with interface index" "10.67.0.2/24 2" \
	"$(jq -r '.ips[0] | "\(.address) \(.interface)"' "$T_TMP/res.1")"
check "pod1 pings pod2 over IPv4" ip netns exec "pod$$-1" ping -c1 -W2 "$a2"
check "pod1 pings pod3 over IPv6" ip netns exec "pod$$-1" ping -6 -c1 -W3 "$a3v6"
check "pod3 pings its gateway" ip netns exec "pod$$-3" ping -c1 -W2 10.67.0.1
jq --slurpfile r "$T_TMP/res.1" '.prevResult=$r[0]' "$T_TMP/bridge.json" >"$T_TMP/chk.json"
check "CHECK through upstream bridge" cni CHECK c1 "pod$$-1" eth0 "$T_TMP/chk.json"
check_eq "6 reservations for 3 dual-stack pods" 6 \
	"$(find "$DATA/brnet" -maxdepth 1 -type f ! -name lock ! -name 'last_*' | wc -l)"

# GC: with a valid list only pod1's addresses stay; without one nothing is valid
# (upstream bridge 1.1.1 has no GC verb, so the IPAM plugin gets GC directly)
jq '.cniVersion="1.1.0" | ."cni.dev/valid-attachments"=[{containerID:"c1",ifname:"eth0"}]' \
	"$T_TMP/bridge.json" >"$T_TMP/gc.json"
check "GC with a valid list" ipam GC "" "$T_TMP/gc.json"
check_eq "GC kept exactly pod1's two addresses" "c1 c1" \
	"$(for f in $(find "$DATA/brnet" -maxdepth 1 -type f ! -name lock ! -name 'last_*'); do head -1 "$f" | tr -d '\r'; echo; done | sort | xargs)"
jq 'del(."cni.dev/valid-attachments")' "$T_TMP/gc.json" >"$T_TMP/gc-none.json"
check "GC without a list" ipam GC "" "$T_TMP/gc-none.json"
check_eq "GC without a list released everything" 0 \
	"$(find "$DATA/brnet" -maxdepth 1 -type f ! -name lock ! -name 'last_*' | wc -l)"
check "lock file untouched by GC" test -f "$DATA/brnet/lock"
