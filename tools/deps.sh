#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian packages sluice's build, tests and demo need, only those missing.
# Run by `make deps` (and so by `make test` and `make demo`); needs root for apt-get.
set -eu

# podman, runc, busybox-static: tests/netns/podman.sh; valgrind: tests/netns/valgrind.sh;
# strace: tests/netns/hl-lock.sh (an ADD slowed down while it holds the lock); python3:
# execenv.sh (binds a UNIX socket to give as CNI_NETNS);
# clang and libclang-rt-14-dev (libFuzzer's runtime, Debian
# 12's clang 14): the fuzz targets in tests/fuzz; libcurl4-openssl-dev and libyaml-dev:
# sluicectl and sluiced (the etcd backend, Kubernetes YAML); etcd-server, etcd-client and
# openssl and curl: the store tests (a real etcd, a cluster, TLS; curl asks etcd for its
# health and leader) and the etcdctl benchmark rows; libssl-dev and libnghttp2-dev: the
# archives of OpenSSL and nghttp2 the commands' static libcurl links (tools/archives.sh)
PKGS="gcc make libc6-dev pkg-config libmnl-dev libnftnl-dev libcjson-dev patch xz-utils
jq iproute2 iputils-ping nftables iptables conntrack procps util-linux socat
containernetworking-plugins golang-go golang-github-appc-cni-dev iperf3 valgrind clang
libclang-rt-14-dev podman runc busybox-static strace python3 libcurl4-openssl-dev
libyaml-dev etcd-server etcd-client openssl curl libssl-dev libnghttp2-dev"

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing="$missing $p"
done

if [ "$(id -u)" -ne 0 ]; then
	echo "sluice: this must run as root: the plugins need CAP_NET_ADMIN and the tests" >&2
	echo "sluice: create network namespaces${missing:+, and these packages are missing:$missing}" >&2
	exit 1
fi
[ -n "$missing" ] || exit 0

echo "sluice: installing missing packages:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null
# Debian's etcd-server starts and enables a system etcd (etcd.service on 127.0.0.1:2379)
# when installed. The tests and benchmarks only need the binary (they run their own
# members in network namespaces of their own), so an etcd this script installed is
# stopped and disabled again; one that was installed before is left as it was.
case " $missing " in
*" etcd-server "*)
	if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
		systemctl disable --now etcd.service >/dev/null 2>&1 &&
			echo "sluice: stopped and disabled the etcd.service that etcd-server started"
	fi
	;;
esac
