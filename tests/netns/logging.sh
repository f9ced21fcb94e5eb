#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Logging: a chain bridge (ipMasq, host-local) -> portmap -> bandwidth run ADD, CHECK, DEL
# with the config's "log" block at info and at debug into files under $T_TMP: one line per
# kernel change at info (none for CHECK), request, config and answer at debug (secrets
# redacted), every line's shape; nothing logged by default and nothing on stdout but the
# JSON; the level filter; SLUICE_LOG and SLUICE_LOG_FILE over the config; rotation past
# maxSize with whole lines from concurrent processes; a log file that cannot be opened.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

N=$$
CID=0123456789abcdef0123456789abcdef
SHORT=${CID:0:12}
NS=lg$N
BR=lgbr$N
DATA=$T_TMP/ipam
LOGDIR=$T_TMP/log
LINE_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z (error|warn|info|debug) sluice-(bridge|host-local|portmap|bandwidth)\[[0-9]+\] [^ ]+ [A-Z-]+: '

mk_netns "$NS"
defer "ip link del $BR"

# conf NAME LOG_JSON: the chain's three configs with LOG_JSON as their "log" ("null": none)
conf() {
	jq -n --arg br "$BR" --arg d "$DATA" --argjson log "$2" '{cniVersion:"1.0.0",name:"lgnet",
		type:"sluice-bridge",bridge:$br,isGateway:true,isDefaultGateway:true,ipMasq:true,
		secretKey:"hunter2",ipam:{type:"sluice-host-local",dataDir:$d,
		ranges:[[{subnet:"10.63.0.0/24"}]]}} | if $log then .log=$log else . end' \
		>"$T_TMP/$1.br"
	jq -n --argjson log "$2" '{cniVersion:"1.0.0",name:"lgnet",type:"sluice-portmap",
		runtimeConfig:{portMappings:[{hostPort:8463,containerPort:80,protocol:"tcp"},
		{hostPort:8463,containerPort:80,protocol:"udp"}]}} |
		if $log then .log=$log else . end' >"$T_TMP/$1.pm"
	jq -n --argjson log "$2" '{cniVersion:"1.0.0",name:"lgnet",type:"sluice-bandwidth",
		ingressRate:100000000,ingressBurst:1000000,egressRate:100000000,egressBurst:1000000} |
		if $log then .log=$log else . end' >"$T_TMP/$1.bw"
}

# call VERB NAME PART [ENV...]: runs one plugin of chain NAME as a runtime would, with
# prevResult from the part before (ADD, CHECK) or the final result (CHECK, DEL). Its stdout
# goes to $T_TMP/NAME.PART.out (and .res for an ADD), stderr to .err.
call() {
	local verb=$1 c=$2 part=$3 in=$T_TMP/$2.$3.in prev=
	shift 3
	case $part in
	pm) prev=$T_TMP/$c.br.res ;;
	bw) prev=$T_TMP/$c.pm.res ;;
	esac
	[ "$verb" = ADD ] || prev=$T_TMP/$c.final
	if [ -n "$prev" ] && [ -s "$prev" ]; then
		jq --slurpfile r "$prev" '.prevResult=$r[0]' "$T_TMP/$c.$part" >"$in"
	else
		cp "$T_TMP/$c.$part" "$in"
	fi
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin CNI_COMMAND="$verb" CNI_CONTAINERID="$CID" \
		CNI_NETNS="/run/netns/$NS" CNI_IFNAME=eth0 CNI_PATH="$BIN" \
		CNI_ARGS='IgnoreUnknown=1;K8S_POD_NAME=p1;API_TOKEN=hunter3' "$@" \
		"$BIN/sluice-$(jq -r .type <"$in" | sed 's/^sluice-//')" <"$in" \
		>"$T_TMP/$c.$part.out" 2>"$T_TMP/$c.$part.err"
	local rc=$?
	[ "$verb" = ADD ] && [ $rc -eq 0 ] && cp "$T_TMP/$c.$part.out" "$T_TMP/$c.$part.res"
	[ "$verb" = ADD ] && [ $rc -eq 0 ] && [ "$part" = bw ] && cp "$T_TMP/$c.bw.res" "$T_TMP/$c.final"
	return $rc
}

# one_json FILE: FILE is exactly one line of JSON
one_json() { [ "$(wc -l <"$1")" = 1 ] && jq -e . "$1" >/dev/null; }

# chain NAME VERB [ENV...]: VERB through the chain (DEL in reverse), each stdout checked
chain() {
	local c=$1 verb=$2 parts=(br pm bw) p ok=0
	shift 2
	[ "$verb" = DEL ] && parts=(bw pm br)
	for p in "${parts[@]}"; do
		if ! call "$verb" "$c" "$p" "$@"; then
			fail "$c: $verb $p" "$(cat "$T_TMP/$c.$p.out" "$T_TMP/$c.$p.err")"
			ok=1
			continue
		fi
		if [ "$verb" = ADD ]; then
			one_json "$T_TMP/$c.$p.out" || { fail "$c: $verb $p: stdout is only the JSON" "$(cat "$T_TMP/$c.$p.out")"; ok=1; }
		else
			[ -s "$T_TMP/$c.$p.out" ] && { fail "$c: $verb $p: nothing on stdout" "$(cat "$T_TMP/$c.$p.out")"; ok=1; }
		fi
	done
	[ $ok = 0 ] && pass "$c: $verb through the chain, stdout only the JSON"
	return $ok
}

# has NAME FILE ERE: FILE has a line matching ERE
has() {
	if grep -Eq -- "$3" "$2" 2>/dev/null; then pass "$1"; else fail "$1" "no line matching: $3" "$(cat "$2" 2>/dev/null)"; fi
}
hasnt() {
	if grep -Eq -- "$3" "$2" 2>/dev/null; then fail "$1" "a line matches: $3" "$(grep -E -- "$3" "$2")"; else pass "$1"; fi
}
# well_formed NAME FILE...: each FILE has lines, and every line has the documented shape
well_formed() {
	local name=$1 f bad
	shift
	for f in "$@"; do
		[ -s "$f" ] || { fail "$name" "$f is missing or empty"; return; }
	done
	bad=$(cat "$@" | grep -Evc "$LINE_RE")
	check_eq "$name" 0 "$bad"
}

# --- nothing by default: no file, nothing on stderr -------------------------------------
conf quiet null
defer "chain quiet DEL"
chain quiet ADD
for p in br pm bw; do
	check_eq "default: nothing on stderr from $p ADD" "" "$(cat "$T_TMP/quiet.$p.err")"
done
chain quiet CHECK
chain quiet DEL
for p in br pm bw; do
	check_eq "default: nothing on stderr from $p DEL" "" "$(cat "$T_TMP/quiet.$p.err")"
done
ip link del "$BR" # so that the info chain creates it
check_eq "default: no log file anywhere under the test's directory" "" \
	"$(find "$T_TMP" -name '*.log*')"

# --- info -----------------------------------------------------------------------------
L=$LOGDIR/info/cni.log
conf info "$(jq -cn --arg f "$L" '{file:$f,level:"info"}')"
defer "chain info DEL"
chain info ADD
for p in br pm bw; do
	check_eq "info: nothing on stderr from $p ADD" "" "$(cat "$T_TMP/info.$p.err")"
done
well_formed "info: every line has the documented shape" "$L"
has "info: lines name the short container ID and the verb" "$L" " sluice-bridge\[[0-9]+\] $SHORT ADD: "
hasnt "info: the line's container ID field is never the whole ID" "$L" "\] $CID "
has "info: bridge created" "$L" "info sluice-bridge.* ADD: created bridge $BR\$"
has "info: veth created" "$L" "info sluice-bridge.* ADD: created veth veth[0-9a-f]+ on bridge $BR, its peer eth0 in /run/netns/$NS\$"
has "info: host-local reservation" "$L" "info sluice-host-local\[[0-9]+\] $SHORT ADD: reserved 10\.63\.0\.[0-9]+ for $CID/eth0 in $DATA/lgnet\$"
has "info: container address" "$L" "ADD: added address 10\.63\.0\.[0-9]+/24 to eth0 in /run/netns/$NS\$"
has "info: default route" "$L" "ADD: added route 0\.0\.0\.0/0 via 10\.63\.0\.1 dev eth0 in /run/netns/$NS\$"
has "info: gateway address" "$L" "ADD: added 1 gateway address to $BR\$"
has "info: ipMasq nft commit" "$L" "sluice-bridge.* ADD: ipMasq: nft batch committed: [1-9][0-9]* elements added"
has "info: hostPorts nft commit" "$L" "sluice-portmap.* ADD: hostPorts: nft batch committed: [1-9][0-9]* elements added"
has "info: conntrack flush" "$L" "sluice-portmap.* ADD: flushed the UDP conntrack entries of [1-9][0-9]* host ports\$"
has "info: veth tbf" "$L" "sluice-bandwidth.* ADD: added tbf qdisc on veth[0-9a-f]+: rate 12500000 bytes/s, burst 125000 bytes"
has "info: IFB created" "$L" "sluice-bandwidth.* ADD: created IFB "
has "info: redirect" "$L" "sluice-bandwidth.* ADD: added u32 filter redirecting veth[0-9a-f]+ to "
hasnt "info: no debug lines" "$L" " debug sluice-"
n=$(wc -l <"$L")
chain info CHECK
check_eq "info: CHECK changes nothing, logs nothing" "$n" "$(wc -l <"$L")"
chain info DEL
has "info: IFB deleted" "$L" "sluice-bandwidth.* DEL: deleted IFB "
has "info: hostPorts removed" "$L" "sluice-portmap.* DEL: hostPorts: nft batch committed: [0-9]+ elements added, [1-9][0-9]* removed"
has "info: ipMasq removed" "$L" "sluice-bridge.* DEL: ipMasq: nft batch committed: [0-9]+ elements added, [1-9][0-9]* removed"
has "info: veth deleted" "$L" "sluice-bridge.* DEL: deleted veth veth[0-9a-f]+ and its peer eth0\$"
has "info: reservation released" "$L" "sluice-host-local.* DEL: released 1 address of $CID/eth0\$"
n=$(wc -l <"$L")
chain info DEL
tail -n +$((n + 1)) "$L" >"$T_TMP/del2.log"
hasnt "info: a DEL with nothing left deletes and releases nothing" "$T_TMP/del2.log" "deleted|released"
rm -f "$T_TMP"/info.*.res "$T_TMP/info.final"

# --- GC of a leaked attachment: what it removed, at info ----------------------------------
L=$LOGDIR/gc/cni.log
conf gc "$(jq -cn --arg f "$L" '{file:$f,level:"info"}')"
defer "chain gc DEL"
call ADD gc br || fail "gc: bridge ADD" "$(cat "$T_TMP/gc.br.out")"
jq '.cniVersion="1.1.0" | .["cni.dev/valid-attachments"]=[]' "$T_TMP/gc.br" >"$T_TMP/gc.gc"
env -i PATH=/usr/bin:/bin CNI_COMMAND=GC CNI_PATH="$BIN" "$BIN/sluice-bridge" <"$T_TMP/gc.gc" >"$T_TMP/gc.out" 2>&1
check_eq "gc: GC succeeds, prints nothing" "0 " "$? $(cat "$T_TMP/gc.out")"
has "gc: the stale veth deleted" "$L" "info sluice-bridge\[[0-9]+\] - GC: GC deleted 1 stale veth\$"
has "gc: its ipMasq elements removed" "$L" "info sluice-bridge\[[0-9]+\] - GC: ipMasq GC: nft batch committed: 0 elements added, [1-9][0-9]* removed"
has "gc: its address released" "$L" "info sluice-host-local\[[0-9]+\] - GC: GC releases 10\.63\.0\.[0-9]+ of $CID/eth0\$"
check_eq "gc: the veth is gone" 0 "$(ip -j link show master "$BR" | jq length)"

# --- debug: request, config, answer; secrets redacted -------------------------------------
L=$LOGDIR/debug/cni.log
conf debug "$(jq -cn --arg f "$L" '{file:$f,level:"debug"}')"
defer "chain debug DEL"
chain debug ADD
well_formed "debug: every line has the documented shape" "$L"
has "debug: the request's environment" "$L" "debug sluice-bridge\[[0-9]+\] $SHORT ADD: request: CNI_COMMAND=ADD CNI_CONTAINERID=$CID CNI_NETNS=/run/netns/$NS CNI_IFNAME=eth0 CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAME=p1;API_TOKEN=\(redacted\) CNI_PATH=$BIN\$"
has "debug: the request's config" "$L" "debug sluice-bridge.* ADD: request config: \{\"cniVersion\":\"1.0.0\",\"name\":\"lgnet\",\"type\":\"sluice-bridge\""
has "debug: the delegated IPAM's request" "$L" "debug sluice-host-local\[[0-9]+\] $SHORT ADD: request config: \{"
has "debug: secrets redacted" "$L" '"secretKey":"\(redacted\)"'
hasnt "debug: no secret value" "$L" "hunter[23]"
for p in br pm bw; do
	t=$(jq -r .type "$T_TMP/debug.$p")
	ans=$(grep -E "debug $t\[[0-9]+\] $SHORT ADD: answer: " "$L" | sed 's/.* ADD: answer: //')
	check_eq "debug: $t's answer is its stdout" "$(cat "$T_TMP/debug.$p.out")" "$ans"
done
has "debug: the kernel changes at info too" "$L" "info sluice-bridge.* ADD: created veth "
chain debug DEL
has "debug: DEL's request" "$L" "debug sluice-portmap\[[0-9]+\] $SHORT DEL: request: CNI_COMMAND=DEL "
rm -f "$T_TMP"/debug.*.res "$T_TMP/debug.final"

# --- level filter: warn logs no success, but a failure ------------------------------------
L=$LOGDIR/warn/cni.log
conf warn "$(jq -cn --arg f "$L" '{file:$f,level:"warn"}')"
defer "chain warn DEL"
chain warn ADD
chain warn DEL
check_eq "warn: a successful chain logs nothing at warn (the file is opened, empty)" 0 "$(wc -l <"$L")"
rm -f "$T_TMP/warn.br.res" # no prevResult for portmap
check_fail "warn: portmap ADD without prevResult fails" call ADD warn pm
has "warn: the failure is logged with its code" "$L" "error sluice-portmap\[[0-9]+\] $SHORT ADD: failed: code 7: must be called as chained plugin\$"
check "warn: its stdout is only the error JSON" one_json "$T_TMP/warn.pm.out"

# --- the environment wins: SLUICE_LOG over the level, SLUICE_LOG_FILE over the file ------
L=$LOGDIR/env/cni.log
conf envc "$(jq -cn --arg f "$LOGDIR/env/unused.log" '{file:$f,level:"warn"}')"
defer "chain envc DEL"
chain envc ADD SLUICE_LOG=debug SLUICE_LOG_FILE="$L"
has "env: SLUICE_LOG=debug over the config's warn" "$L" " debug sluice-bridge.* ADD: request: "
check_eq "env: SLUICE_LOG_FILE over the config's file" 0 "$(find "$LOGDIR/env" -name 'unused.log*' | wc -l)"
chain envc DEL SLUICE_LOG=info SLUICE_LOG_FILE="$L"
has "env: SLUICE_LOG=info" "$L" "info sluice-bridge.* DEL: deleted veth "
hasnt "env: no debug at info" "$L" " debug sluice-bridge.* DEL: "

# --- rotation past maxSize, whole lines from concurrent processes ------------------------
L=$LOGDIR/rot/cni.log
jq -n --arg d "$T_TMP/rot-ipam" --arg f "$L" '{cniVersion:"1.0.0",name:"rot",type:"sluice-host-local",
	log:{file:$f,level:"debug",maxSize:4096},ipam:{type:"sluice-host-local",dataDir:$d,
	ranges:[[{subnet:"10.64.0.0/16"}]]}}' >"$T_TMP/rot.json"
hl() { # VERB CID
	env -i CNI_COMMAND="$1" CNI_CONTAINERID="$2" CNI_NETNS="/run/netns/$NS" CNI_IFNAME=eth0 \
		CNI_PATH="$BIN" "$BIN/sluice-host-local" <"$T_TMP/rot.json" >/dev/null 2>&1
}
for i in $(seq 1 6); do hl ADD "rot-$i" && hl DEL "rot-$i"; done
check_eq "rotation: the old file is kept as cni.log.1" 1 "$(find "$LOGDIR/rot" -name cni.log.1 | wc -l)"
check "rotation: cni.log is at most maxSize" test "$(stat -c %s "$L")" -le 4096
check "rotation: cni.log.1 is at most maxSize" test "$(stat -c %s "$L.1")" -le 4096
check_eq "rotation: no other file" 2 "$(find "$LOGDIR/rot" -type f | wc -l)"
pids=()
for i in $(seq 1 16); do
	(hl ADD "par-$i" && hl DEL "par-$i") &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
well_formed "rotation: 16 concurrent processes leave only whole lines" "$L" "$L.1"
check "rotation: still at most maxSize after them" test "$(stat -c %s "$L")" -le 4096
check "rotation: cni.log.1 too" test "$(stat -c %s "$L.1")" -le 4096
check_eq "rotation: every reservation released" 0 \
	"$(find "$T_TMP/rot-ipam" -type f ! -name lock ! -name 'last_reserved_ip.*' | wc -l)"

# --- a log file that cannot be opened: a warning on stderr, the ADD goes on ---------------
touch "$T_TMP/not-a-dir"
conf bad "$(jq -cn --arg f "$T_TMP/not-a-dir/cni.log" '{file:$f,level:"info"}')"
defer "chain bad DEL"
call ADD bad br
check_eq "unopenable log file: bridge ADD succeeds" 0 $?
check "unopenable log file: stdout is only the JSON" one_json "$T_TMP/bad.br.out"
has "unopenable log file: a warning on stderr" "$T_TMP/bad.br.err" "warn sluice-bridge\[[0-9]+\] $SHORT ADD: log file $T_TMP/not-a-dir/cni.log: Not a directory; logging to stderr instead\$"
has "unopenable log file: then its lines on stderr" "$T_TMP/bad.br.err" "info sluice-bridge.* ADD: created veth "
check_eq "unopenable log file: the pod has its address" "$(jq -r '.ips[0].address' "$T_TMP/bad.br.out")" \
	"$(ip -n "$NS" -j addr show eth0 | jq -r '.[0].addr_info[] | select(.family=="inet") | "\(.local)/\(.prefixlen)"')"
call DEL bad br
check_eq "unopenable log file: DEL succeeds" 0 $?

# --- an invalid log block: ADD refuses it (code 7), DEL goes on with a warning -------------
conf inval '{"file":"relative.log","level":"loud","maxSize":"big"}'
check_fail "invalid log block: ADD fails" call ADD inval br
check_eq "invalid log block: code 7 naming each field" \
	'7 log.file: must be an absolute path; log.level: must be error, warn, info or debug; log.maxSize: must be an integer in [4096, 1099511627776]' \
	"$(jq -r '"\(.code) \(.msg)"' "$T_TMP/inval.br.out")"
check_eq "invalid log block: the ADD changed nothing" 0 "$(link_exists eth0 "$NS")"
call DEL inval br
check_eq "invalid log block: DEL succeeds" 0 $?
has "invalid log block: DEL warns" "$T_TMP/inval.br.err" "warn sluice-bridge.* DEL: DEL goes on without the log config: log.file: must be an absolute path"

# --- nothing left --------------------------------------------------------------------------
check_eq "no veth left on the bridge" 0 "$(ip -j link show master "$BR" | jq length)"
check_eq "no IFB left" 0 "$(ip -j link show type ifb | jq length)"
check_eq "no sluice nft element left" 0 "$(sluice_nft_elems)"
check_eq "no address reserved" 0 \
	"$(find "$DATA" -type f ! -name lock ! -name 'last_reserved_ip.*' | wc -l)"
ip link del "$BR" 2>/dev/null
