#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# sluice-host-local's store lock (flock of <dataDir>/<net>/lock, as upstream host-local takes
# it): exclusive against a shared and an exclusive holder; held from before the search until
# the reservation is written, so that a GC, an upstream ADD and a DEL beside a slow ADD
# neither remove nor take its half-written reservation. The slow ADD is made slow from
# outside: strace delays each of its write(2) calls by 3 s.
set -u
. "$(dirname "$0")/../lib.sh"

DATA=$T_TMP/data
NET=lk
jq -n --arg d "$DATA" --arg n "$NET" '{cniVersion:"1.1.0",name:$n,
	ipam:{type:"sluice-host-local",dataDir:$d,ranges:[[{subnet:"10.71.0.0/24"}]]}}' >"$T_TMP/sl.json"
jq '.ipam.type="host-local" | .cniVersion="1.0.0"' "$T_TMP/sl.json" >"$T_TMP/up.json"
LOCK=$DATA/$NET/lock

# ipam VERB CID CONF [WRAPPER...]: the IPAM plugin named by CONF's ipam.type, run by WRAPPER
ipam() {
	local verb=$1 cid=$2 conf=$3 exe
	shift 3
	exe=$BIN/$(jq -r .ipam.type "$conf")
	[ -x "$exe" ] || exe=$UPSTREAM/$(jq -r .ipam.type "$conf")
	env -i CNI_COMMAND="$verb" CNI_CONTAINERID="$cid" CNI_NETNS=/run/netns/none \
		CNI_IFNAME=eth0 CNI_PATH="$BIN:$UPSTREAM" "$@" "$exe" <"$conf"
}
# owner ADDR: the first line of ADDR's reservation ("cid\r\nifname" with \r\n as "|"), or
# "none" when there is no such file
owner() {
	if [ -f "$DATA/$NET/$1" ]; then tr '\r\n' '|' <"$DATA/$NET/$1" | sed 's/||/|/'; else echo none; fi
}
addr() { jq -r '.ips[0].address | split("/")[0]' "$1" 2>/dev/null; }
reservations() { find "$DATA/$NET" -maxdepth 1 -name '10.*' -printf '%f\n' | sort | xargs; }
# running PID: 1 while PID has not exited
running() { if kill -0 "$1" 2>/dev/null; then echo 1; else echo 0; fi; }
# waited NAME PID: passes when the background job PID (of this shell) exits 0
waited() { if wait "$2"; then pass "$1"; else fail "$1" "exit status $?"; fi; }

ipam ADD first "$T_TMP/sl.json" >"$T_TMP/first.out"
check_eq "the first ADD creates the store" "first|eth0" "$(owner "$(addr "$T_TMP/first.out")")"

# --- the lock is exclusive: an ADD waits for a shared holder and for an exclusive one ----------
for mode in shared exclusive; do
	rm -f "$T_TMP/held" "$T_TMP/release"
	# holds the lock until told to let go (at most 10 s: it ends even if this test dies)
	flock "--$mode" "$LOCK" sh -c "touch $T_TMP/held; for i in \$(seq 100); do
		[ -e $T_TMP/release ] && break; sleep 0.1; done" &
	holder=$!
	for _ in $(seq 50); do [ -e "$T_TMP/held" ] && break; sleep 0.1; done
	r0=$(reservations)
	ipam ADD "w-$mode" "$T_TMP/sl.json" >"$T_TMP/w-$mode.out" &
	add=$!
	sleep 1
	check_eq "a $mode holder of the lock: the ADD waits, reserving nothing" "1 $r0" \
		"$(running "$add") $(reservations)"
	touch "$T_TMP/release"
	wait "$holder"
	waited "... and succeeds once the $mode holder is gone" "$add"
	check_eq "... with a reservation of its own" "w-$mode|eth0" "$(owner "$(addr "$T_TMP/w-$mode.out")")"
done

# --- a slow ADD holds the lock until its reservation is written ---------------------------------
# The reservation file is created (empty) and then written; strace holds the ADD at that write.
# A GC that keeps every attachment, an upstream ADD and a DEL of another attachment, started
# meanwhile, must wait: unlocked, the GC would read an empty owner and remove the file.
before=$(reservations)
# (detect_leaks=0: a SANITIZE=1 build's LeakSanitizer cannot run under ptrace and would fail)
ipam ADD slow "$T_TMP/sl.json" env ASAN_OPTIONS=detect_leaks=0 strace -f -qq -o /dev/null -e trace=write \
	-e inject=write:delay_enter=3000000 >"$T_TMP/slow.out" &
slow=$!
new=
for _ in $(seq 100); do
	new=$(comm -13 <(tr ' ' '\n' <<<"$before") <(reservations | tr ' ' '\n'))
	[ -n "$new" ] && break
	sleep 0.05
done
check_eq "the slow ADD's reservation file appears while it runs" "1 1" \
	"$(running "$slow") $(wc -w <<<"$new")"
jq '."cni.dev/valid-attachments"=[{containerID:"first",ifname:"eth0"},{containerID:"w-shared",ifname:"eth0"},
	{containerID:"w-exclusive",ifname:"eth0"},{containerID:"slow",ifname:"eth0"},
	{containerID:"up",ifname:"eth0"}]' "$T_TMP/sl.json" >"$T_TMP/gc.json"
ipam GC "" "$T_TMP/gc.json" >"$T_TMP/gc.out" &
gc=$!
ipam ADD up "$T_TMP/up.json" >"$T_TMP/up.out" &
up=$!
ipam DEL w-shared "$T_TMP/sl.json" >"$T_TMP/del.out" &
del=$!
sleep 0.5
check_eq "GC, upstream ADD and DEL wait for the slow ADD" "1 1 1 1" \
	"$(running "$slow") $(running "$gc") $(running "$up") $(running "$del")"
waited "the slow ADD succeeds" "$slow"
waited "the GC succeeds" "$gc"
waited "the upstream ADD succeeds" "$up"
waited "the DEL succeeds" "$del"
sa=$(addr "$T_TMP/slow.out") ua=$(addr "$T_TMP/up.out")
check_eq "the slow ADD answered the address whose file appeared" "$new" "$sa"
check_eq "its reservation survived the GC, whole" "slow|eth0" "$(owner "$sa")"
check_eq "upstream took another address, reserved for it" "1 up|eth0" \
	"$([ "$ua" != "$sa" ] && echo 1 || echo 0) $(owner "$ua")"
check_eq "the DEL released only its own" "none first|eth0 w-exclusive|eth0" \
	"$(owner "$(addr "$T_TMP/w-shared.out")") $(owner "$(addr "$T_TMP/first.out")") $(owner "$(addr "$T_TMP/w-exclusive.out")")"
