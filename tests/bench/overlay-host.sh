#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# overlay-host.sh VARIANT HOST_NETNS_PATH: the bridge+vxlan-overlay row's host_setup (cnibench
# -H; tests/bench/rows.sh): the host netns becomes a node holding a lease, as sluiced or
# `sluicectl node up` leaves it: an underlay "eth0" (a veth, its peer beside it: the kernel
# may have no dummy module; 192.168.100.1/24, the default route's), the lease 10.88.0.0/16
# (the row's IPAM range) in a dir:// store in data/VARIANT-node, and subnet.env with the
# lease state beside it.
set -eu
# beside the variant's data directory, not in it: the row counts the files left there
data=$BENCH_ROW_DIR/data/$1-node
mkdir -p "$data"
cat >"$data/net.json" <<'CONF'
{"Network": "10.88.0.0/14", "SubnetLen": 16, "SubnetMin": "10.88.0.0", "SubnetMax": "10.88.0.0",
 "Backend": {"Type": "vxlan"}}
CONF
nsenter --net="$2" bash -eu -c '
	ip link set lo up
	ip link add eth0 type veth peer name underlay0
	ip link set underlay0 up
	ip addr add 192.168.100.1/24 dev eth0
	ip link set eth0 up
	ip route add default via 192.168.100.254
	ctl=("$BENCH_BIN/sluicectl" --store "dir://$0/store")
	"${ctl[@]}" config set -f "$0/net.json" >/dev/null
	"${ctl[@]}" node up --node-name bench --iface eth0 --public-ip 192.168.100.1 \
		--subnet-file "$0/subnet.env" --cni-conf-dir "$0/net.d" >/dev/null' "$data"
