#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Debian's podman 4.3 (CNI backend, runc) on the networks of chains/, installed as they are
# (only their dataDir moves into $T_TMP): what `podman network inspect` shows, a container
# reached from an "outside" namespace through `-p`, a container on each of the three networks
# at once, a bandwidth limit set in the conflist, `podman rm` leaving nothing behind, and what
# `podman network rm` leaves (and the README's commands remove).
# Hermetic: podman's storage, runroot, tmp dir, lock files, CNI config and plugin dir are
# under $T_TMP, and tmpfs mounts in the test's own mount namespace take what podman and runc
# write to fixed paths under /var/lib and /run, so the real host's podman state is never read
# or written. Containers get a cgroup parent of their own, removed at exit. The image is
# built here from busybox-static: no registry.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

N=$$
CHAINS=$(cd "$(dirname "$0")/../../chains" && pwd)
for t in podman runc conmon busybox; do
	if ! command -v "$t" >/dev/null; then
		fail "podman, runc, conmon and busybox are installed" "missing: $t (make deps)"
		exit 1
	fi
done

P=$T_TMP/p
mkdir -p "$P/net.d" "$P/plugins" "$P/tmp" "$P/copytmp" "$P/rootfs/bin" "$P/rootfs/w"
# podman writes to fixed paths whatever its flags say: its blob-info cache to
# /var/lib/containers/cache, libcni's result cache to /var/lib/cni, and the cleanup that conmon
# runs when a container exits calls runc with its default state dir /run/runc. tmpfs mounts
# take them all, in this test's mount namespace only (/run/netns then is a directory of it).
for d in /var/lib /run; do
	mount -t tmpfs -o mode=0755 "sluice-podman${d//\//-}" "$d" || {
		fail "a private $d for podman"
		exit 1
	}
done
mkdir -p /run/netns /var/lib/cni
# runc needs the cgroup hierarchies mounted; a root whose /sys was bound without its submounts
# (a chroot, as tools that build a fresh Debian root make) has none: they are mounted here,
# in this test's mount namespace only, as an init would (v1 controllers that share a
# hierarchy in /proc/cgroups together; cgroup2 when no controller is on v1)
if [ -z "$(findmnt -rn -t cgroup,cgroup2 -o TARGET)" ]; then
	hs=$(awk 'NR > 1 && $2 > 0 && $4 == 1 { print $2 }' /proc/cgroups | sort -u)
	if [ -z "$hs" ]; then
		mount -t cgroup2 cgroup2 /sys/fs/cgroup
	else
		mount -t tmpfs -o mode=0755 sluice-cgroup /sys/fs/cgroup
		for h in $hs; do
			o=$(awk -v h="$h" 'NR > 1 && $2 == h { printf "%s%s", s, $1; s = "," }' /proc/cgroups)
			mkdir -p "/sys/fs/cgroup/$o" && mount -t cgroup -o "$o" cgroup "/sys/fs/cgroup/$o"
		done
	fi
	[ -n "$(findmnt -rn -t cgroup,cgroup2 -o TARGET)" ] || {
		fail "the cgroup hierarchies mounted for runc"
		exit 1
	}
fi
# mounts podman makes (a container's /dev/shm) are this namespace's too; unmounted before
# $T_TMP goes, so that its removal cannot stop at a busy mount point (deferred first: runs last)
defer "findmnt -rn -o TARGET | grep '^$T_TMP/' | sort -r | xargs -r -n1 umount -l"

# upstream plugins, and sluice's binaries in front of any upstream of the same name
ln -s "$UPSTREAM"/* "$P/plugins/"
ln -sf "$BIN"/sluice-* "$P/plugins/"

# runc cannot raise a limit without CAP_SYS_RESOURCE (absent in some containers this test
# runs in) and podman 4.3 gives a root container RLIMIT_NOFILE and RLIMIT_NPROC of 2^20:
# ask for less than any host allows. lock_type "file": no shm segment in the host's /dev/shm.
cat >"$P/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[network]
network_backend = "cni"
network_config_dir = "$P/net.d"
cni_plugin_dirs = ["$P/plugins"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$P/tmp/events.log"
image_copy_tmp_dir = "$P/copytmp"
lock_type = "file"
runtime = "runc"
static_dir = "$P/static"
tmp_dir = "$P/tmp"
volume_path = "$P/volumes"
EOF
cat >"$P/storage.conf" <<EOF
[storage]
driver = "vfs"
graphroot = "$P/root"
runroot = "$P/runroot"
EOF
export CONTAINERS_CONF=$P/containers.conf CONTAINERS_STORAGE_CONF=$P/storage.conf TMPDIR=$P/copytmp
CG=sluice-podman-$N
# pm ARGS...: podman on the private state. Each call is recorded: timeout(1) gives it a
# process group of its own, so a TERM to the test does not stop it, and the cleanup waits for
# the calls still running before it removes their containers (else a `podman run` that ends
# after `rm -a` leaves a container running).
pm() {
	timeout 60 podman --root "$P/root" --runroot "$P/runroot" --storage-driver vfs \
		--tmpdir "$P/tmp" --network-config-dir "$P/net.d" --cgroup-manager cgroupfs \
		--events-backend file --runtime runc "$@" &
	echo $! >>"$P/calls"
	wait $!
}
# pm_wait: waits (up to the calls' own 60 s) until no recorded call runs
pm_wait() {
	local pid _
	while read -r pid; do
		for _ in $(seq 1 650); do
			grep -qF "$P/root" "/proc/$pid/cmdline" 2>/dev/null || break
			sleep 0.1
		done
	done <"$P/calls"
}
# prun NAME NETWORK [ARGS...]: a detached container NAME on NETWORK serving "NAME" over HTTP
# on port 80 (httpd as PID 1 ignores SIGTERM: rm with -t 0), in a cgroup parent of the test's
# own, unconfined by AppArmor (Debian enables it; podman would load a profile into the kernel)
prun() {
	local name=$1 net=$2
	shift 2
	pm run -d --name "$name" --network "$net" --cgroup-parent "/$CG" \
		--security-opt apparmor=unconfined "$@" localhost/sluice-bb:1 \
		sh -c "echo $name >/w/index.html && exec httpd -f -p 80 -h /w"
}
# cg_clean: kills what a killed `podman run` or `rm` may have left in this test's cgroups
# (containers and their conmon, by PID), then removes the cgroups, children first
cg_clean() {
	local d _ left
	for d in "/sys/fs/cgroup/$CG" /sys/fs/cgroup/*/"$CG"; do
		[ -d "$d" ] && cat "$d"/*/cgroup.procs 2>/dev/null | xargs -r kill -KILL
	done
	for _ in $(seq 1 50); do
		left=0
		for d in "/sys/fs/cgroup/$CG" /sys/fs/cgroup/*/"$CG"; do
			[ -d "$d" ] || continue
			rmdir "$d"/*/ "$d" 2>/dev/null
			[ -d "$d" ] && left=1
		done
		[ $left -eq 0 ] && return 0
		sleep 0.1
	done
	return 1
}
# containers first (their DEL runs then), then anything left in their cgroups
defer cg_clean
defer "pm_wait; pm rm -a -f -t 0"

# the image: busybox-static's one binary, the applets the containers run as links to it
cp "$(command -v busybox)" "$P/rootfs/bin/busybox"
for a in sh httpd ping ip; do ln -s busybox "$P/rootfs/bin/$a"; done
tar -C "$P/rootfs" -cf "$P/rootfs.tar" .
check "podman import of a busybox image (no registry)" pm import "$P/rootfs.tar" localhost/sluice-bb:1

# the chains as an operator installs them; only their dataDir moves into $T_TMP
IPAM=$T_TMP/ipam
for f in "$CHAINS"/*.conflist; do
	jq --arg d "$IPAM" '.plugins[0].ipam.dataDir = $d' "$f" >"$P/net.d/$(basename "$f")"
done
nf=$(find "$CHAINS" -name '*.conflist' | wc -l)
check_eq "chains: every file names its own network" "$nf" \
	"$(jq -s '[.[].name] | unique | length' "$CHAINS"/*.conflist)"
check_eq "chains: every file names its own bridge" "$nf" \
	"$(jq -s '[.[].plugins[0].bridge // "cni0"] | unique | length' "$CHAINS"/*.conflist)"
check_eq "chains: no two files share a subnet" \
	"$(jq -s '[.[].plugins[0].ipam.ranges[][].subnet] | length' "$CHAINS"/*.conflist)" \
	"$(jq -s '[.[].plugins[0].ipam.ranges[][].subnet] | unique | length' "$CHAINS"/*.conflist)"
check_eq "podman network ls lists every chain" \
	"$(jq -r .name "$CHAINS"/*.conflist | sort | xargs)" \
	"$(pm network ls --format '{{.Name}}' | grep -vx podman | sort | xargs)"
for f in "$CHAINS"/*.conflist; do
	check_eq "network inspect $(jq -r .name "$f"): not internal" false \
		"$(pm network inspect "$(jq -r .name "$f")" | jq '.[0].internal')"
done
# what the README says inspect shows: podman reads upstream bridge's fields but not
# sluice-host-local's, and nothing of sluice-bridge's
check_eq "network inspect sluice-on-upstream: the bridge, no subnets" \
	'["bridge","sluice-up0",null,"sluice-host-local"]' \
	"$(pm network inspect sluice-on-upstream |
		jq -c '.[0] | [.driver, .network_interface, .subnets, .ipam_options.driver]')"
check_eq "network inspect sluice: the driver only, no bridge or subnets" \
	'["sluice-bridge",null,null,null]' \
	"$(pm network inspect sluice |
		jq -c '.[0] | [.driver, .network_interface, .subnets, .ipam_options.driver]')"

# "outside": a client namespace behind this one (the host), with no route to the pods
mk_netns "out$N"
ip link add "up$N" type veth peer name eth0 netns "out$N"
defer "ip link del up$N"
ip addr add 192.168.63.1/24 dev "up$N" && ip addr add fd63::1/64 dev "up$N" nodad
ip link set "up$N" up
ip -n "out$N" addr add 192.168.63.2/24 dev eth0 && ip -n "out$N" addr add fd63::2/64 dev eth0 nodad
ip -n "out$N" link set eth0 up

# netns NAME: the name under /run/netns of container NAME's network namespace
netns() { basename "$(pm inspect "$1" | jq -r '.[0].NetworkSettings.SandboxKey')"; }
# get ADDR PORT: the body the outside client gets from http://ADDR:PORT/ (TCP retransmits the
# SYN a neighbour lookup may cost; -t5: the reply may come later than socat's default 0.5 s
# after the request is sent; up to 3 tries)
get() {
	local i out
	for i in 1 2 3; do
		out=$(printf 'GET / HTTP/1.0\r\n\r\n' |
			ip netns exec "out$N" socat -T5 -t5 - "TCP:$1:$2,connect-timeout=3" 2>/dev/null |
			tr -d '\r' | sed '1,/^$/d')
		[ -n "$out" ] && break
		sleep 0.3
	done
	echo "$out"
}
addr4() { pm inspect "$1" | jq -r ".[0].NetworkSettings.Networks[\"$2\"].IPAddress"; }

check "podman run --network sluice -p 8080:80" prun web sluice -p 8080:80
listening "$(netns web)" tcp 80 || fail "web's server listening"
check_eq "the outside reaches web through -p 8080:80 (IPv4)" web "$(get 192.168.63.1 8080)"
check_eq "the outside reaches web through -p 8080:80 (IPv6)" web "$(get '[fd63::1]' 8080)"
check "web reaches the outside (ipMasq)" pm exec web ping -c1 -W3 192.168.63.2

# all three chains at once: each on its own bridge, subnet and hostPort
check "podman run --network sluice-on-upstream -p 8082:80" prun up sluice-on-upstream -p 8082:80
check "podman run --network sluice-mix -p 8083:80" prun mix sluice-mix -p 8083:80
listening "$(netns up)" tcp 80 || fail "up's server listening"
listening "$(netns mix)" tcp 80 || fail "mix's server listening"
check_eq "three networks at once: three distinct addresses" 3 \
	"$(printf '%s\n' "$(addr4 web sluice)" "$(addr4 up sluice-on-upstream)" \
		"$(addr4 mix sluice-mix)" | sort -u | grep -c .)"
# (the chains with sluice-vxlan-overlay need a node lease, those with sluice-nft-policy are
# tests/netns/nft-policy.sh's: podman lists them, runs nothing on them)
for br in $(jq -r 'select([.plugins[].type] | (index("sluice-vxlan-overlay") or
	index("sluice-nft-policy")) | not) |
	.plugins[0].bridge' "$CHAINS"/*.conflist); do
	check_eq "three networks at once: bridge $br holds one container" 1 \
		"$(ip -j link show master "$br" | jq length)"
done
check_eq "three networks at once: web still answers on 8080" web "$(get 192.168.63.1 8080)"
check_eq "three networks at once: up answers on 8082" up "$(get 192.168.63.1 8082)"
check_eq "three networks at once: mix answers on 8083" mix "$(get 192.168.63.1 8083)"

# bandwidth: podman 4.3 passes no bandwidth capability; the rates go into the conflist
jq --arg d "$IPAM" '.name = "sluice-slow" | .plugins[0].bridge = "sluice-slow0" |
	.plugins[0].ipam = {type: "sluice-host-local", dataDir: $d, ranges: [[{subnet: "10.244.4.0/24"}]]} |
	(.plugins[] | select(.type == "sluice-bandwidth")) += {ingressRate: 10000000,
		ingressBurst: 200000, egressRate: 10000000, egressBurst: 200000}' \
	"$CHAINS/bridge.conflist" >"$P/net.d/slow.conflist"
check "podman run --network sluice-slow (rates in the conflist)" prun slow sluice-slow
hv=$(ip -j link show master sluice-slow0 | jq -r '.[0].ifname')
check_eq "sluice-slow: the host veth has a tbf of 10 Mbit/s" "tbf 1250000" \
	"$(tc -j qdisc show dev "$hv" root | jq -r '.[0] | "\(.kind) \(.options.rate)"')"
check_eq "sluice-slow: an IFB shapes the egress" 1 "$(ip -j link show type ifb | jq length)"

for c in web up mix slow; do
	check "podman rm $c" pm rm -f -t 0 "$c"
done
check_eq "after podman rm: no container" 0 "$(pm ps -aq | wc -l)"
check_eq "after podman rm: no veth but the outside's" 0 \
	"$(ip -j link show type veth | jq --arg u "up$N" '[.[] | select(.ifname != $u)] | length')"
check_eq "after podman rm: no IFB" 0 "$(ip -j link show type ifb | jq length)"
check_eq "after podman rm: no sluice nft element" 0 "$(sluice_nft_elems)"
check_eq "after podman rm: no address reserved" 0 \
	"$(find "$IPAM" -type f ! -name lock ! -name 'last_reserved_ip.*' | wc -l)"
check_eq "after podman rm: no container netns" "out$N" \
	"$(find /run/netns -mindepth 1 -printf '%f\n' | xargs)"
check_eq "after podman rm: no libcni cache entry" 0 "$(find /var/lib/cni -type f | wc -l)"

# podman network rm removes the file and, for an upstream bridge only, the bridge; the
# README's commands remove the rest
br=$(jq -r '.plugins[0].bridge' "$CHAINS/bridge.conflist")
check "podman network rm sluice" pm network rm sluice
check_eq "podman network rm sluice: the conflist is gone" 0 \
	"$(find "$P/net.d" -name bridge.conflist | wc -l)"
check_eq "podman network rm sluice: bridge $br stays" 1 "$(link_exists "$br")"
check_eq "podman network rm sluice: its dataDir stays" 1 \
	"$(find "$IPAM" -maxdepth 1 -name sluice | wc -l)"
check "README: ip link del $br" ip link del "$br"
check "README: rm -rf <dataDir>/sluice" rm -rf "$IPAM/sluice"
check_eq "after the README's commands: no bridge $br" 0 "$(link_exists "$br")"
br=$(jq -r '.plugins[0].bridge' "$CHAINS/upstream-bridge.conflist")
check "podman network rm sluice-on-upstream" pm network rm sluice-on-upstream
check_eq "podman network rm sluice-on-upstream: podman removed bridge $br" 0 "$(link_exists "$br")"
