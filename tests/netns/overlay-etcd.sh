#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# tests/netns/overlay.sh's cases on a real etcd (Debian's etcd-server) that the test starts in
# the underlay namespace on 192.168.100.254:2379 and stops by PID, plus etcd's outages:
# stopped while pods are added (ADD succeeds on nodes holding a lease), back while the
# nodes are cut off from it and leases change (every agent catches up), restarted after a
# compaction (a watch resuming from a compacted revision recovers).
OV_MODE=etcd exec bash "$(dirname "$0")/overlay.sh" "$@"
