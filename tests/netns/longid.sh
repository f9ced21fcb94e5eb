#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Container IDs of 64, 115, 128, 200 and 255 bytes (every character the spec allows) through
# every plugin: the chain sluice-bridge (ipMasq, macspoofchk, sluice-host-local) ->
# sluice-portmap (mappings) -> sluice-bandwidth, and sluice-host-local alone. After each ADD,
# CHECK, DEL (twice, and without netns) and GC the nft element comments, the link aliases
# and the store files are read back: an ID too long for an nft comment or an alias is keyed
# "~<SHA-256 of it>", and a network name too long for an alias likewise. GC with a valid
# list keeps one long-ID attachment and drops another that differs in its last byte only.
# The chain through libcni 1.1.2 too: ADD, CHECK, DEL twice.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

N=$$
DATA=$T_TMP/ipam
NET=lid
LONGNET=$(printf 'n%.0s' $(seq 1 240)) # a network name of 240 bytes
ip link set lo up

# mkid LEN [LAST]: a container ID of LEN bytes (LAST its last byte)
mkid() {
	local s="$1a.b_c-D9" pad="0123456789abcdefABCDEF._-"
	while [ "${#s}" -lt "$1" ]; do s+=$pad; done
	s=${s:0:$1}
	[ -z "${2:-}" ] || s=${s:0:$(($1 - 1))}$2
	echo "$s"
}
sha() { printf '%s' "$1" | sha256sum | cut -c1-64; }
# comment_key CID: the owner key of CID in the comment "<key>/eth0/<8 hex>" (128 bytes at most)
comment_key() { if [ $((${#1} + 14)) -le 128 ]; then echo "$1"; else echo "~$(sha "$1")"; fi; }
# alias NET CID: the alias of (NET, CID, eth0): raw when it fits 255 bytes, else each of NET
# and CID longer than 64 bytes as its key
alias_of() {
	local n=$1 c=$2
	if [ $((7 + ${#n} + 1 + ${#c} + 5)) -le 255 ]; then
		echo "sluice:$n:$c:eth0"
		return
	fi
	[ "${#n}" -le 64 ] || n="~$(sha "$n")"
	[ "${#c}" -le 64 ] || c="~$(sha "$c")"
	echo "sluice:$n:$c:eth0"
}

# bridge conf FILE NAME BRIDGE SUBNET
brconf() {
	jq -n --arg n "$2" --arg br "$3" --arg s "$4" --arg d "$DATA" '{cniVersion:"1.1.0",name:$n,
		type:"sluice-bridge",bridge:$br,isGateway:true,ipMasq:true,macspoofchk:true,
		ipam:{type:"sluice-host-local",dataDir:$d,ranges:[[{subnet:$s}]]}}' >"$T_TMP/$1"
	echo "$T_TMP/$1"
}
BR=$(brconf br.json "$NET" slid0 10.97.0.0/24)
LBR=$(brconf lbr.json "$LONGNET" slid1 10.98.0.0/24)

# up TAG CID PORT [BRCONF]: the chain's ADD for CID into netns ns$N-TAG; results in
# $T_TMP/TAG.{br,pm,bw} and the configs of portmap and bandwidth in $T_TMP/TAG.{pmc,bwc}
up() {
	local t=$1 cid=$2 port=$3 br=${4:-$BR} net
	net=$(jq -r .name "$br")
	[ -e "/run/netns/ns$N-$t" ] || mk_netns "ns$N-$t"
	cni ADD "$cid" "ns$N-$t" eth0 "$br" >"$T_TMP/$t.br" || return 1
	jq -n --arg n "$net" --argjson p "$port" --slurpfile r "$T_TMP/$t.br" '{cniVersion:"1.1.0",
		name:$n,type:"sluice-portmap",capabilities:{portMappings:true},
		runtimeConfig:{portMappings:[{hostPort:$p,containerPort:80,protocol:"tcp"},
			{hostPort:$p,containerPort:53,protocol:"udp"}]},prevResult:$r[0]}' >"$T_TMP/$t.pmc"
	cni ADD "$cid" "ns$N-$t" eth0 "$T_TMP/$t.pmc" >"$T_TMP/$t.pm" || return 1
	jq -n --arg n "$net" --slurpfile r "$T_TMP/$t.pm" '{cniVersion:"1.1.0",name:$n,
		type:"sluice-bandwidth",ingressRate:10000000,ingressBurst:1000000,
		egressRate:10000000,egressBurst:1000000,prevResult:$r[0]}' >"$T_TMP/$t.bwc"
	cni ADD "$cid" "ns$N-$t" eth0 "$T_TMP/$t.bwc" >"$T_TMP/$t.bw"
}
# t_up NAME TAG CID PORT [BRCONF]: up, reported as a check
t_up() {
	local name=$1
	shift
	if up "$@"; then pass "$name"; else fail "$name" "$(cat "$T_TMP/$1".{br,pm,bw} 2>/dev/null)"; fi
}
# final TAG CONF: CONF with the chain's final result as prevResult (what CHECK and DEL get),
# or as it is when the chain's ADD failed
final() {
	if jq -e .cniVersion "$T_TMP/$1.bw" >/dev/null 2>&1; then
		jq --slurpfile r "$T_TMP/$1.bw" '.prevResult=$r[0]' "$2"
	else
		jq 'del(.prevResult)' "$2"
	fi
}
# verb VERB TAG CID NETNS: VERB of each plugin of the chain (DEL in reverse), every one of
# them must succeed; prints the failures
verb() {
	local v=$1 t=$2 cid=$3 ns=$4 br=${5:-$BR} p out order="br pmc bwc"
	[ "$v" = DEL ] && order="bwc pmc br"
	for p in $order; do
		if [ "$p" = br ]; then final "$t" "$br" >"$T_TMP/$t.v"; else final "$t" "$T_TMP/$t.$p" >"$T_TMP/$t.v"; fi
		out=$(cni "$v" "$cid" "$ns" eth0 "$T_TMP/$t.v") || echo "$v $p: $out"
	done
	return 0
}
# down TAG CID [BRCONF]: the chain's DEL without netns, as cleanup
down() {
	local t=$1 cid=$2 br=${3:-$BR}
	cni DEL "$cid" "" eth0 "$T_TMP/$t.bwc"
	cni DEL "$cid" "" eth0 "$T_TMP/$t.pmc"
	cni DEL "$cid" "" eth0 "$br"
}

# elems TABLE PREFIX: the number of elements of the sluice table TABLE (any family) whose
# comment starts with PREFIX ("" counts every element)
elems() {
	nft -j list ruleset | jq --arg t "$1" --arg o "$2" '[.nftables[] | (.set // .map // empty) |
		select(.table == $t) | .elem // [] | .[] |
		(if type == "array" then .[0] else . end) |
		select($o == "" or ((if type == "object" then .elem.comment? else null end) // "" |
			startswith($o)))] | length'
}
# owned CID: the number of elements in sluice_masq, sluice_spoofchk, sluice_portmap owned by
# (CID, eth0) of any network
owned() {
	local k
	k="$(comment_key "$1")/eth0/"
	echo "$(elems sluice_masq "$k") $(elems sluice_spoofchk "$k") $(elems sluice_portmap "$k")"
}
all_elems() { echo "$(elems sluice_masq "") $(elems sluice_spoofchk "") $(elems sluice_portmap "")"; }
# links ALIAS: the kinds of the links that carry ALIAS
links() {
	ip -j -d link show | jq -r --arg a "$1" '[.[] | select(.ifalias == $a) |
		.linkinfo.info_kind] | sort | join(" ")'
}
# stored NET CID: the number of store files of NET that hold "CID\r\neth0"
stored() {
	local f n=0
	for f in "$DATA/$1"/*; do
		[ -f "$f" ] && [ "$(cat "$f")" = "$2"$'\r\n'"eth0" ] && n=$((n + 1))
	done
	echo "$n"
}
# state NET CID: "<owned elements> | <link kinds> | <store files>"
state() { echo "$(owned "$2") | $(links "$(alias_of "$1" "$2")") | $(stored "$1" "$2")"; }
# the elements of one attachment (one IPv4 address, two mappings) in masq (its address; its
# address and subnet), spoofchk (its veth; veth and MAC), portmap (two DNAT, two hairpin, its
# address and subnet, its owner)
ELEMS="2 2 6"
GONE="0 0 0 |  | 0"

PMNO=$T_TMP/pmno.json # portmap without portMappings or prevResult
jq -n --arg n "$NET" '{cniVersion:"1.1.0",name:$n,type:"sluice-portmap"}' >"$PMNO"

# --- ADD, CHECK, DEL of the chain ------------------------------------------------------------
port=8100
for len in 64 115 128 200 255; do
	cid=$(mkid "$len")
	t=c$len
	port=$((port + 1))
	defer "down $t $cid"
	t_up "$len-byte ID: the chain's ADD succeeds" "$t" "$cid" "$port"
	check_eq "$len-byte ID: ADD's elements (masq spoofchk portmap), veth and IFB, store file" \
		"$ELEMS | ifb veth | 1" "$(state "$NET" "$cid")"
	check_eq "$len-byte ID: no element without this owner" "$ELEMS" "$(all_elems)"
	check_eq "$len-byte ID: CHECK of every plugin" "" "$(verb CHECK "$t" "$cid" "ns$N-$t")"
	check_eq "$len-byte ID: DEL of every plugin" "" "$(verb DEL "$t" "$cid" "ns$N-$t")"
	check_eq "$len-byte ID: DEL leaves nothing" "$GONE" "$(state "$NET" "$cid")"
	check_eq "$len-byte ID: a second DEL of every plugin succeeds" "" "$(verb DEL "$t" "$cid" "ns$N-$t")"
	check "$len-byte ID: portmap DEL without portMappings or prevResult" \
		cni DEL "$cid" "ns$N-$t" eth0 "$PMNO"

	# again, and DEL without a netns
	t_up "$len-byte ID: ADD again" "$t" "$cid" "$port"
	check_eq "$len-byte ID: ... and its elements, links, store file" \
		"$ELEMS | ifb veth | 1" "$(state "$NET" "$cid")"
	check_eq "$len-byte ID: DEL of every plugin without netns" "" "$(verb DEL "$t" "$cid" "")"
	check_eq "$len-byte ID: DEL without netns leaves nothing" "$GONE" "$(state "$NET" "$cid")"
	check_eq "$len-byte ID: DEL without netns again" "" "$(verb DEL "$t" "$cid" "")"
done

# --- GC: keep one long-ID attachment, drop another ------------------------------------------
# on network lid, and on a network whose 240-byte name makes every alias its keyed form
for net in "$NET" "$LONGNET"; do
	br=$BR w=lid
	[ "$net" = "$NET" ] || br=$LBR w=long
	keep=$(mkid 255 K) drop=$(mkid 255 X)
	port=$((port + 10))
	defer "down gk$w $keep $br"
	defer "down gd$w $drop $br"
	t_up "GC ($w): ADD of a 255-byte ID" "gk$w" "$keep" "$port" "$br"
	t_up "GC ($w): ADD of one that differs in its last byte" "gd$w" "$drop" "$((port + 1))" "$br"
	check_eq "GC ($w): before GC, the one to keep" "$ELEMS | ifb veth | 1" "$(state "$net" "$keep")"
	check_eq "GC ($w): before GC, the one to drop" "$ELEMS | ifb veth | 1" "$(state "$net" "$drop")"
	# a foreign IFB carrying the keyed alias of the one to drop, not a name sluice derives
	ip link add "sbwxf$N" type ifb && defer "ip link del sbwxf$N"
	ip link set "sbwxf$N" alias "$(alias_of "$net" "$drop")"
	errs=""
	for p in bwc pmc br; do
		if [ "$p" = br ]; then c=$br; else c=$T_TMP/gk$w.$p; fi
		jq --arg k "$keep" '."cni.dev/valid-attachments"=[{containerID:$k,ifname:"eth0"}] |
			del(.prevResult, .runtimeConfig)' "$c" >"$T_TMP/gc.json"
		out=$(cni GC "" "" "" "$T_TMP/gc.json") || errs+="GC $p: $out "
	done
	check_eq "GC ($w): GC of every plugin with the valid list" "" "$errs"
	check_eq "GC ($w): the valid attachment is untouched" "$ELEMS | ifb veth | 1" \
		"$(state "$net" "$keep")"
	check_eq "GC ($w): the foreign IFB with a look-alike alias stays" 1 "$(link_exists "sbwxf$N")"
	ip link del "sbwxf$N"
	check_eq "GC ($w): the other is gone (elements, veth, IFB, address)" "$GONE" \
		"$(state "$net" "$drop")"
	check_eq "GC ($w): CHECK of the valid attachment passes" "" \
		"$(verb CHECK "gk$w" "$keep" "ns$N-gk$w" "$br")"
	check_eq "GC ($w): DEL of the one GC took" "" "$(verb DEL "gd$w" "$drop" "" "$br")"
	check_eq "GC ($w): DEL of the valid attachment" "" "$(verb DEL "gk$w" "$keep" "ns$N-gk$w" "$br")"
	check_eq "GC ($w): ... leaves nothing of it" "$GONE" "$(state "$net" "$keep")"
done

# --- sluice-host-local alone ------------------------------------------------------------------
HL=$T_TMP/hl.json
jq -n --arg d "$DATA" '{cniVersion:"1.1.0",name:"lidhl",ipam:{type:"sluice-host-local",
	dataDir:$d,ranges:[[{subnet:"10.99.0.0/24"}]]}}' >"$HL"
mk_netns "ns$N-hl"
# hl VERB CID: VERB of sluice-host-local for CID (netns ns$N-hl)
hl() { cni "$1" "$2" "ns$N-hl" eth0 "${3:-$HL}" sluice-host-local; }
hlres() { jq --slurpfile r "$T_TMP/hl.$1" '.prevResult=$r[0]' "$HL" >"$T_TMP/hlc.$1"; }
for len in 64 115 128 200 255; do
	cid=$(mkid "$len")
	defer "hl DEL $cid"
	hl ADD "$cid" >"$T_TMP/hl.$len"
	check_eq "host-local, $len-byte ID: ADD, one store file" "0 1" "$? $(stored lidhl "$cid")"
	hlres "$len"
	check "host-local, $len-byte ID: CHECK" hl CHECK "$cid" "$T_TMP/hlc.$len"
	check "host-local, $len-byte ID: DEL" hl DEL "$cid"
	check_eq "host-local, $len-byte ID: no store file left" 0 "$(stored lidhl "$cid")"
	check "host-local, $len-byte ID: DEL again" hl DEL "$cid"
done
keep=$(mkid 255 K) drop=$(mkid 255 X)
hl ADD "$keep" >/dev/null && hl ADD "$drop" >/dev/null
check_eq "host-local GC: two 255-byte IDs stored" "1 1" "$(stored lidhl "$keep") $(stored lidhl "$drop")"
jq --arg k "$keep" '."cni.dev/valid-attachments"=[{containerID:$k,ifname:"eth0"}]' "$HL" >"$T_TMP/hlgc.json"
check "host-local GC with the valid list" cni GC "" "" "" "$T_TMP/hlgc.json" sluice-host-local
check_eq "host-local GC kept one, released the other" "1 0" \
	"$(stored lidhl "$keep") $(stored lidhl "$drop")"
hl DEL "$keep"

# --- through libcni 1.1.2 (what podman and containerd run) ------------------------------------
# its cache file is named "<network>-<ID>-<ifname>", so IDs of up to 246 bytes fit it here
CNITOOL=${BUILD_DIR:-build}/tests/cnitool
if [ -x "$CNITOOL" ]; then
	CF=$T_TMP/lid.conflist
	jq -n --arg d "$DATA" '{cniVersion:"1.0.0",name:"lid",plugins:[
		{type:"sluice-bridge",bridge:"slid0",isGateway:true,ipMasq:true,macspoofchk:true,
		 ipam:{type:"sluice-host-local",dataDir:$d,ranges:[[{subnet:"10.97.0.0/24"}]]}},
		{type:"sluice-portmap",capabilities:{portMappings:true}},
		{type:"sluice-bandwidth",ingressRate:10000000,ingressBurst:1000000,
		 egressRate:10000000,egressBurst:1000000}]}' >"$CF"
	CAPS='{"portMappings":[{"hostPort":8200,"containerPort":80,"protocol":"tcp"},
		{"hostPort":8200,"containerPort":53,"protocol":"udp"}]}'
	ct() { "$CNITOOL" -cachedir "$T_TMP/cache" -path "$BIN" -timeout 30s -caps "$CAPS" "$@"; }
	for len in 128 200 246; do
		cid=$(mkid "$len")
		mk_netns "ns$N-lc$len"
		defer "ct del $CF $cid /run/netns/ns$N-lc$len"
		check "libcni, $len-byte ID: ADD of the chain" ct add "$CF" "$cid" "/run/netns/ns$N-lc$len"
		check_eq "libcni, $len-byte ID: its elements, links, store file" \
			"$ELEMS | ifb veth | 1" "$(state "$NET" "$cid")"
		check "libcni, $len-byte ID: CHECK" ct check "$CF" "$cid" "/run/netns/ns$N-lc$len"
		check "libcni, $len-byte ID: DEL" ct del "$CF" "$cid" "/run/netns/ns$N-lc$len"
		check_eq "libcni, $len-byte ID: DEL leaves nothing" "$GONE" "$(state "$NET" "$cid")"
		check "libcni, $len-byte ID: DEL again" ct del "$CF" "$cid" "/run/netns/ns$N-lc$len"
	done
else
	fail "cnitool-built" "missing $CNITOOL"
fi

# --- nothing left ---------------------------------------------------------------------------
check_eq "no sluice element, veth or IFB left" "0 0 0 0" \
	"$(all_elems) $(ip -j -d link show | jq '[.[] | select((.ifalias // "") | startswith("sluice:"))] | length')"
check_eq "no store file left" "" "$(find "$DATA" -type f ! -name lock ! -name 'last_reserved_ip.*')"
