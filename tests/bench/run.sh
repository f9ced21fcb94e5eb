#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# make bench: sluice against the upstream reference plugins and the kernel's floor, on the
# same work in the same run, pod by pod in turn. Prints a table (medians, p95, speed-up,
# ratio to the floor) and writes BUILD/bench.json. Never asserts a timing.
# Usage: tests/bench/run.sh BUILD
#   BENCH_N=200 pods per row, BENCH_WARMUP=2, BENCH_ONLY=<part of a row name>,
#   BENCH_SCALE="1000" sizes of the existing state in scale rows ("" for none),
#   UPSTREAM=/usr/lib/cni, BENCH_ROWS=<file of rows> (default tests/bench/rows.sh),
#   BENCH_ROW_TIMEOUT=3600 seconds, BENCH_UPSTREAM=0 to run sluice and the floor only.
#   The overlay rows (tests/bench/overlay.sh) and the NetworkPolicy rows (policy.sh) take
#   settings of their own, named in those files (BENCH_OVERLAY_*, BENCH_POLICY_*, ...).
#   Upstream's scale rows leave the kernel work behind (iptables-restore of ever larger
#   tables, freed later): interleaved with it, sluice and the floor slow down with the
#   size of upstream's state, not their own. BENCH_UPSTREAM=0 measures flatness without it.
# Everything runs in a network and mount namespace of its own (unshare -n -m) on a tmpfs:
# the netns, links, nftables/iptables state and files it makes go away with them.
set -eu
cd "$(dirname "$0")/../.."

if [ "${1:-}" != --inner ]; then
	BUILD=${1:-build}
	if [ "$(id -u)" -ne 0 ]; then
		echo "bench: must run as root (the plugins need CAP_NET_ADMIN)" >&2
		exit 1
	fi
	for t in cnibench floor; do
		if [ ! -x "$BUILD/tests/tools/$t" ]; then
			echo "bench: $BUILD/tests/tools/$t missing: make BUILD=$BUILD all tools" >&2
			exit 1
		fi
	done
	tmp=$(mktemp -d /tmp/sluice-bench.XXXXXX)
	# the tmpfs lives in the inner mount namespace: here it is an empty directory
	trap 'rmdir "$tmp" 2>/dev/null || rm -rf "$tmp"' EXIT
	rc=0
	unshare -n -m --propagation private "$0" --inner "$BUILD" "$tmp" || rc=$?
	exit "$rc"
fi

BUILD=$2
T=$3
[[ "$BUILD" = /* ]] || BUILD=$PWD/$BUILD
mount -t tmpfs -o mode=0700 sluice-bench "$T"
ETCD_PID=
# the overlay rows' agents, etcd and servers (tests/bench/overlay.sh) are stopped by PID too;
# (under set -e, the status 143 of etcd's wait would otherwise be the bench's)
trap 'cd /; [ -z "$ETCD_PID" ] || { kill "$ETCD_PID"; wait "$ETCD_PID" || true; } 2>/dev/null
	! declare -F ov_stop >/dev/null || ov_stop
	umount -R -l "$T" 2>/dev/null || true' EXIT
mkdir -p "$T/ns" "$T/rows" "$T/data"
ip link set lo up

BIN=$BUILD/bin
TOOLS=$BUILD/tests/tools
UPSTREAM=${UPSTREAM:-/usr/lib/cni}
N=${BENCH_N:-200}
SCALE=${BENCH_SCALE-1000}
W=${BENCH_WARMUP:-2}
OUT=$BUILD/bench.json
nrow=0
FAILED=()

# render TEMPLATE VARIANT DATADIR: the template's conflist for sluice or upstream
render() {
	local prefix=''
	[ "$2" = sluice ] && prefix=sluice-
	printf '%s\n' "$1" | sed -e "s|\"@\\([A-Za-z0-9_.-]*\\)\"|\"$prefix\\1\"|g" \
		-e "s|@DATA@|$3|g" | jq -c .
}

# missing CONFLIST CNI_PATH: the plugin types (and IPAM types) not found on CNI_PATH
missing() {
	local t d found
	for t in $(jq -r '.plugins[] | .type, (.ipam.type // empty)' "$1"); do
		found=''
		for d in ${2//:/ }; do
			[ -x "$d/$t" ] && found=1 && break
		done
		[ -n "$found" ] || printf '%s ' "$t"
	done
}

# leftovers RESULT ROWDIR: what the row's DELs left in the kernel and in the data
# directories, merged into RESULT's "leftovers": set elements, upstream's per-container
# iptables chains (CNI-<hash>, CNI-DN-<hash>), reservation files
leftovers() {
	local v ns elems chains files
	for v in $(jq -r '.host_netns | keys[]' "$1"); do
		ns=$(jq -r --arg v "$v" '.host_netns[$v]' "$1")
		# (the overlay's masquerade table holds the node's networks, not pods: not counted)
		read -r elems chains < <(nsenter --net="$ns" nft -j list ruleset 2>/dev/null | jq -r '
			([.nftables[] | select(.set and .set.table != "sluice_overlay") |
			  .set.elem // [] | length] | add // 0),
			([.nftables[] | select(.chain) |
			  select(.chain.name | test("^CNI-([A-Z]+-)?[0-9a-f]{16,}$"))] | length)' |
			paste -sd ' ')
		files=0
		[ -d "$2/data/$v" ] && files=$(find "$2/data/$v" -type f ! -name lock \
			! -name 'last_reserved_ip.*' | wc -l)
		jq --arg v "$v" --argjson e "${elems:-0}" --argjson c "${chains:-0}" \
			--argjson f "$files" '.leftovers[$v] += {nft_elements: $e, cni_chains: $c,
			ipam_files: $f}' "$1" >"$1.new" && mv "$1.new" "$1"
	done
	jq -r '.row as $r | .leftovers | to_entries[] | select([.value[]] | add > 0) |
		"bench: \($r): \(.key) left behind \(.value)"' "$1" >&2
}

# row NAME CONFLIST [key=value...]: measures one row now (see rows.sh)
row() {
	local name=$1 conf=$2 floor='' verbs=ADD,DEL rcfn='' prefill=0 pconf='' pfloor='' shared=''
	local addrs='' only='' hsetup=''
	local n=$N kv
	local dir v path miss start args
	shift 2
	for kv; do
		case $kv in
		floor=*) floor=${kv#floor=} ;;
		verbs=*) verbs=${kv#verbs=} ;;
		rc=*) rcfn=${kv#rc=} ;;
		prefill=*) prefill=${kv#prefill=} ;;
		prefill_conf=*) pconf=${kv#prefill_conf=} ;;
		prefill_floor=*) pfloor=${kv#prefill_floor=} ;;
		shared_prefill_ns=1) shared=-S ;;
		pod_addrs=*) addrs=${kv#pod_addrs=} ;;
		sluice_only=1) only=1 ;;
		host_setup=*) hsetup=${kv#host_setup=} ;;
		n=*) n=${kv#n=} ;;
		*) echo "bench: row $name: unknown option $kv" >&2 && return 1 ;;
		esac
	done
	if [ -n "${BENCH_ONLY:-}" ] && [[ "$name" != *"$BENCH_ONLY"* ]]; then
		return 0
	fi
	nrow=$((nrow + 1))
	dir=$T/rows/$(printf %02d "$nrow")
	mkdir -p "$dir/data"
	args=(-t "$name" -d "$T/ns" -o "$dir/result.json" -n "$n" -w "$W" -p "$prefill" -m "$verbs")
	[ -n "$shared" ] && args+=("$shared")
	[ -n "$addrs" ] && args+=(-a "$addrs")
	for v in sluice $([ "${BENCH_UPSTREAM:-1}" = 0 ] || [ -n "$only" ] || echo upstream); do
		[ "$conf" = - ] && break
		path=$UPSTREAM
		[ "$v" = sluice ] && path=$BIN:$UPSTREAM
		render "$conf" "$v" "$dir/data/$v" >"$dir/$v.json"
		args+=(-V "$v" -c "$dir/$v.json" -x "$path")
		[ -n "$hsetup" ] && args+=(-H "$hsetup")
		if [ -n "$pconf" ]; then
			render "$pconf" "$v" "$dir/data/$v" >"$dir/$v-prefill.json"
			args+=(-C "$dir/$v-prefill.json")
		fi
		miss=$(missing "$dir/$v.json" "$path")
		if [ -n "$miss" ]; then
			echo "== $name: skipped, $v has no $miss" >&2
			return 0
		fi
	done
	if [ -n "$floor" ]; then
		render "$floor" floor "$dir/data/floor" >"$dir/floor.json"
		args+=(-V floor -c "$dir/floor.json" -x "$TOOLS")
		if [ -n "$pfloor" ]; then
			render "$pfloor" floor "$dir/data/floor" >"$dir/floor-prefill.json"
			args+=(-C "$dir/floor-prefill.json")
		fi
		[ "$verbs" = VERSION ] || args+=(-s)
	fi
	if [ -n "$rcfn" ]; then
		"$rcfn" $((W + prefill + n)) "$W" "$prefill" >"$dir/rc.jsonl"
		args+=(-r "$dir/rc.jsonl")
	fi
	# what a host_setup program needs: the row's directory, the binaries
	export BENCH_ROW_DIR=$dir BENCH_BIN=$BIN
	printf '== %s: %d pods%s, %s ... ' "$name" "$n" \
		"$([ "$prefill" -gt 0 ] && echo " over $prefill existing")" "$verbs" >&2
	start=$SECONDS
	# a plugin that hangs must not hang the bench (its namespaces die with ours)
	if timeout -k 10 "${BENCH_ROW_TIMEOUT:-3600}" "$TOOLS/cnibench" "${args[@]}" 2>"$dir/log"
	then
		echo "$((SECONDS - start)) s" >&2
	else
		echo "FAILED" >&2
		FAILED+=("$name")
		head -c 4000 "$dir/log" >&2
	fi
	[ -s "$dir/log" ] && grep -v '^  ' "$dir/log" | head -5 >&2
	[ -f "$dir/result.json" ] && leftovers "$dir/result.json" "$dir"
	return 0
}

# etcd_up: one etcd for the datastore rows, started on first use on 127.0.0.1 of the bench's
# own netns, its data on the bench's tmpfs (as the dir:// store's), stopped by PID at exit
ETCD_URL=etcd://127.0.0.1:23790
etcd_up() {
	[ -n "$ETCD_PID" ] && return 0
	command -v etcd >/dev/null && command -v etcdctl >/dev/null || return 1
	mkdir -p "$T/etcd"
	etcd --name bench --data-dir "$T/etcd" --listen-client-urls http://127.0.0.1:23790 \
		--advertise-client-urls http://127.0.0.1:23790 \
		--listen-peer-urls http://127.0.0.1:23800 \
		--initial-advertise-peer-urls http://127.0.0.1:23800 \
		--initial-cluster bench=http://127.0.0.1:23800 >"$T/etcd.log" 2>&1 &
	ETCD_PID=$!
	for _ in $(seq 150); do
		etcdctl --endpoints=127.0.0.1:23790 endpoint health >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	tail -5 "$T/etcd.log" >&2
	return 1
}

# store_row NAME: a datastore row (store-etcd, store-dir, store-rss, store-lease; tests/tools/
# storebench.c) of BENCH_N operations, the list of BENCH_STORE_KEYS keys (10000)
# BENCH_STORE_LISTS times (5), the leased keys' list of BENCH_STORE_LEASED keys (1000)
store_row() {
	local name=$1 dir start
	if [ -n "${BENCH_ONLY:-}" ] && [[ "$name" != *"$BENCH_ONLY"* ]]; then
		return 0
	fi
	if [ ! -x "$TOOLS/storebench" ] || [ ! -x "$BIN/sluicectl" ]; then
		echo "== $name: skipped, no $TOOLS/storebench or $BIN/sluicectl" >&2
		return 0
	fi
	if ! etcd_up; then
		echo "== $name: skipped, etcd (etcd-server, etcd-client) did not start" >&2
		return 0
	fi
	nrow=$((nrow + 1))
	dir=$T/rows/$(printf %02d "$nrow")
	mkdir -p "$dir"
	printf '== %s: %d operations ... ' "$name" "$N" >&2
	start=$SECONDS
	if timeout -k 10 "${BENCH_ROW_TIMEOUT:-3600}" "$TOOLS/storebench" -t "$name" \
		-o "$dir/result.json" -n "$N" -l "${BENCH_STORE_KEYS:-10000}" \
		-L "${BENCH_STORE_LISTS:-5}" -k "${BENCH_STORE_LEASED:-1000}" -e "$ETCD_URL" \
		-d "dir://$T/store-dir" \
		-c "$BIN/sluicectl" -E "$(command -v etcdctl)" 2>"$dir/log"; then
		echo "$((SECONDS - start)) s" >&2
	else
		echo "FAILED" >&2
		FAILED+=("$name")
		head -c 4000 "$dir/log" >&2
	fi
	return 0
}

# binaries: size and shared libraries of each sluice-x and upstream x; sluice's size is
# that of a stripped copy, as Debian ships upstream's (our build keeps its debug info)
binaries() {
	local f u p
	for f in "$BIN"/sluice-*; do
		[ -x "$f" ] || continue
		p=${f##*/sluice-}
		u=$UPSTREAM/$p
		strip -o "$T/stripped" "$f"
		jq -n --arg p "$p" --argjson s "$(stat -c %s "$T/stripped")" --argjson sl "$(libs "$f")" \
			--argjson u "$([ -f "$u" ] && stat -c %s "$u" || echo null)" \
			--argjson ul "$([ -f "$u" ] && libs "$u" || echo null)" \
			'{plugin: $p, sluice_bytes: $s, upstream_bytes: $u, sluice_libs: $sl,
			  upstream_libs: $ul}'
	done | jq -s .
}

# libs FILE: shared objects loaded, the dynamic loader included (0: static)
libs() {
	ldd "$1" 2>/dev/null | grep -c -e '=> /' -e '^\s*/' || true
}

# shellcheck source=tests/bench/rows.sh
. "${BENCH_ROWS:-tests/bench/rows.sh}"

up_version=$(dpkg-query -W -f '${Version}' containernetworking-plugins 2>/dev/null || echo unknown)
jq -n --slurpfile rows <(cat "$T"/rows/*/result.json 2>/dev/null) \
	--argjson bins "$(binaries)" --argjson n "$N" --argjson w "$W" \
	--arg kernel "$(uname -r)" --arg cpus "$(nproc)" --arg date "$(date -Iseconds)" \
	--arg cpu "$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)" \
	--arg commit "$(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD 2>/dev/null || echo +dirty)" \
	--arg upstream "containernetworking-plugins $up_version ($UPSTREAM)" \
	--arg failed "$(printf '%s\n' "${FAILED[@]+"${FAILED[@]}"}")" \
	'{meta: {date: $date, kernel: $kernel, cpus: ($cpus | tonumber), cpu: $cpu,
	   commit: $commit, upstream: $upstream, pods: $n, warmup: $w,
	   failed: ($failed | split("\n") | map(select(. != "")))},
	  rows: $rows, binaries: $bins}' >"$OUT.new"
mv "$OUT.new" "$OUT"

# The table: one line per measure. Times in ms; speed-up = upstream / sluice; x floor =
# sluice / floor (how far above the kernel's own time).
{
	jq -r '.meta | "sluice bench \(.date): \(.pods) pods a row (+\(.warmup) warm-up), " +
		"kernel \(.kernel), \(.cpus) CPUs \(.cpu)\nsluice \(.commit) vs \(.upstream)"' "$OUT"
	echo "times in ms; speed-up = upstream/sluice median; x floor = sluice/floor median"
if jq -e '[.rows[].row | select(startswith("store-"))] | length > 0' "$OUT" >/dev/null; then
	echo "store rows: each measure is \"A | B\", A in the sluice column and B in the upstream"
	echo "one (etcdctl: Debian's etcd-client, one exec an operation; API: sluice's store called"
	echo "in-process; put->event: from the put's start to the watcher's event, as etcd sends"
	echo "the event before the put's answer; a watch's RSS: its VmHWM over 20 such events)"
fi
if jq -e '[.rows[].row | select(startswith("overlay-"))] | length > 0' "$OUT" >/dev/null; then
	echo "overlay rows (tests/bench/overlay.sh): overlay-tcp's upstream column is the same two-node"
	echo "overlay built by hand with iproute2 (its speed-up: hand/sluice, 1.0x is parity);"
	echo "overlay-1000's floor is peerfloor (the same peers, one request and its ack at a time)"
fi
if jq -e '[.rows[].row | select(startswith("policy-"))] | length > 0' "$OUT" >/dev/null; then
	echo "policy rows (tests/bench/policy.sh): the floor column is the measure's reference, named"
	echo "after \"vs\" (x floor = the ratio to it); policy-change and policy-render have none"
fi
	jq -r 'select([.rows[].spawner_rss_kib // empty] | length > 0) |
		"peak RSS: wait4 ru_maxrss of the plugin and its children (a reading at or " +
		"below \([.rows[].spawner_rss_kib] | max) KiB would be the runner'"'"'s own)"' "$OUT"
	echo
	jq -r '(.rows[] | .row as $r |
		if .ok then .measures[] | [$r + " " + .name, .unit,
			(.stats | [.[].n] | max),
			.stats.sluice.median, .stats.sluice.p95,
			.stats.upstream.median, .stats.upstream.p95,
			.stats.floor.median, .stats.floor.p95] | map(. // "") | @tsv
		else [$r + " FAILED", "", "", "", "", "", "", "", ""] | @tsv end),
		(.binaries[] | ([("size (stripped) " + .plugin), "KiB", "", (.sluice_bytes / 1024 | floor), "",
			(.upstream_bytes // null | if . then ./1024 | floor else null end), "", "", ""],
			[("libs " + .plugin), "ldd", "", .sluice_libs, "", .upstream_libs, "", "", ""])
			| map(. // "") | @tsv)' "$OUT" |
		awk -F '\t' '
		function num(x, u) {
			if (x == "") return "-"
			if (u != "ms") return sprintf("%d", x)
			return sprintf(x < 10 ? "%.3f" : x < 100 ? "%.2f" : "%.1f", x)
		}
		function ratio(a, b) {
			if (a == "" || b == "" || b + 0 == 0) return "-"
			return sprintf("%.1fx", a / b)
		}
		BEGIN {
			printf "%-48s %4s  %8s %8s  %8s %8s  %8s  %8s %8s  %7s\n", "measure", "n",
				"sluice", "p95", "upstream", "p95", "speed-up", "floor", "p95", "x floor"
		}
		{
			name = $1
			if ($2 != "ms" && $2 != "") name = name " (" $2 ")"
			printf "%-48s %4s  %8s %8s  %8s %8s  %8s  %8s %8s  %7s\n", name,
				$3 == "" ? "-" : $3, num($4, $2), num($5, $2), num($6, $2), num($7, $2),
				ratio($6, $4), num($8, $2), num($9, $2), ratio($4, $8)
		}'
}
echo
echo "CPU time and page faults of the execs timed (medians, wait4 of the process tree; the"
echo "floor's are its whole process, exec included, against its in-process time above):"
jq -r '.rows[] | select(.ok) | .row as $r | .measures[] | select(.unit == "ms") |
	select([.stats[].cpu_median // empty] | length > 0) |
	[$r + " " + .name] + ([.stats.sluice, .stats.upstream, .stats.floor] | map(
		if .cpu_median then "\(.cpu_median) ms \(.minflt_median | floor) pf" else "-" end)) |
	@tsv' \
	"$OUT" | awk -F '\t' '
	BEGIN { printf "%-48s  %-18s  %-18s  %-18s\n", "measure", "sluice", "upstream", "floor" }
	{ printf "%-48s  %-18s  %-18s  %-18s\n", $1, $2, $3, $4 }'
echo
echo "floor steps (median ms; tests/tools/floor.c):"
jq -r '.rows[] | select(.steps.floor) | "  \(.row) " + ([.steps.floor | to_entries[] |
	"\(.key): " + ([.value | to_entries[] | "\(.key) \(.value.median * 1000 | round / 1000)"]
	| join(", "))] | join("; "))' "$OUT"
echo
echo "A plugin DEL that removes nftables elements (or an ADD that replaces some) waits one RCU"
echo "grace period as it closes its NETLINK_NETFILTER socket (nf_tables' deferred destroy work):"
echo "10-15 ms of wall time here, little CPU; the floor program's DEL pays it too."
# the overlay's goals (issue 11), from the rows measured
jq -r '[.rows[] | select(.ok and (.row | startswith("overlay-")))] as $o |
	def m($r; $n): [$o[] | select(.row == $r) | .measures[] | select(.name == $n)][0].stats;
	if ($o | length) == 0 then empty else
	"overlay goals:",
	(m("overlay-lease"; "lease put -> route (etcd)") // empty |
	 "  lease -> peer programmed, median \(.sluice.median * 100 | round / 100) ms, p95 " +
	 "\(.sluice.p95 * 100 | round / 100) ms (goal < 50 ms median)"),
	(m("overlay-1000"; "programmed, from the txn answer") // empty |
	 "  1000 peers programmed \(.sluice.median * 100 | round / 100) ms after the txn answer" + (if .floor then
	   ", floor \(.floor.median * 100 | round / 100) ms: \(.sluice.median / .floor.median * 100 | round / 100)x" +
	   " (goal <= 2x)" else " (no floor)" end)),
	(m("overlay-1000"; "agent CPU time") // empty |
	 "  agent CPU time for them \(.sluice.median * 100 | round / 100) ms" + (if .floor then ": " +
	   "\(.sluice.median / .floor.median * 100 | round / 100)x the floor" else "" end)),
	(m("overlay-1000"; "agent peak RSS (VmHWM)") // empty |
	 "  agent peak RSS \(.sluice.median) KiB = \(.sluice.median / 1024 * 100 | round / 100) MiB (goal < 8 MiB)"),
	(m("overlay-1000"; "agent RSS: own (RssAnon)") // empty |
	 "    of which its own memory (RssAnon, at the end) \(.sluice.median / 1024 * 100 | round / 100) MiB," +
	 " the rest mapped files (the executable, and its shared libraries if dynamic)"),
	(m("overlay-tcp"; "pod-to-pod TCP") // empty |
	 "  pod-to-pod TCP \(.sluice.median) Mbit/s against \(.upstream.median) by hand: " +
	 "\(.sluice.median / .upstream.median * 1000 | round / 1000) (goal >= 0.95)"),
	(m("overlay-tcp"; "pod-to-pod TCP, by hand with a masquerade table") // empty |
	 "    against the same by hand with a masquerade table (conntrack on, as on any node that" +
	 " masquerades): \(.upstream.median) Mbit/s, \(.sluice.median / .upstream.median * 1000 | round / 1000)"),
	"" end' "$OUT"
# the NetworkPolicy goals (issue 12), from the rows measured
jq -r '[.rows[] | select(.ok and (.row | startswith("policy-")))] as $o |
	def m($r; $p): [$o[] | select(.row == $r) | .measures[] | select(.name | startswith($p))][0];
	def r2: . * 100 | round / 100;
	if ($o | length) == 0 then empty else
	"policy goals:",
	(m("policy-add"; "ADD, ") // empty | .name as $n | .stats |
	 "  pod ADD (sluice-bridge -> sluice-nft-policy) with \($n | sub("ADD, "; "") | sub(" vs.*"; "") |
	   sub("(?<p>[0-9]+)x(?<q>[0-9]+)"; "\(.p) pods x \(.q) policies"))" +
	 " in the store: median \(.sluice.median | r2) ms (p95 \(.sluice.p95 | r2)) against" +
	 " \(.floor.median | r2) ms (p95 \(.floor.p95 | r2)) over an empty store:" +
	 " \(.sluice.median / .floor.median | r2)x (goal <= 1.2x)"),
	(m("policy-add"; "ADD, empty") // empty | .stats |
	 "    the chain without sluice-nft-policy: \(.floor.median | r2) ms (p95 \(.floor.p95 | r2))"),
	(m("policy-change"; "apply -> in force") // empty | .stats.sluice |
	 "  a policy change in force on all 3 nodes: median \(.median | r2) ms, p95 \(.p95 | r2) ms" +
	 " (goal p95 < 200 ms)"),
	(m("policy-change"; "apply -> sluicectl wait") // empty | .stats.sluice |
	 "    sluicectl wait returned: median \(.median | r2) ms, p95 \(.p95 | r2) ms"),
	(m("policy-tcp"; "TCP, ") // empty | .name as $n | .stats |
	 "  pod-to-pod TCP with \($n | sub("TCP, "; "") | sub(" vs.*"; "")): \(.sluice.median) Mbit/s" +
	 " against \(.floor.median) with none: \(.sluice.median / .floor.median * 1000 | round / 1000)" +
	 " (goal >= 0.95)"),
	(m("policy-tcp"; "TCP, no policy") // empty | .stats |
	 "    without sluice-nft-policy (no table): \(.floor.median) Mbit/s"),
	([$o[] | select(.row == "policy-tcp") | .measures[] |
	  select(.name | endswith("round by round"))][0] // empty | .stats.sluice |
	 "    the same round by round (the runs alternate): median" +
	 " \(.median / 100 * 1000 | round / 1000), min \(.min / 100 * 1000 | round / 1000)," +
	 " max \(.max / 100 * 1000 | round / 1000)"),
	([$o[] | select(.row == "policy-render")][0] // empty | .size.elements as $e |
	 .measures[0] | .name as $n | .stats.sluice |
	 "  \($n) (polrender'"'"'s cluster, \($e) elements): median \(.median | r2) ms," +
	 " p95 \(.p95 | r2) ms (goal < 1000 ms)"),
	(m("policy-render"; "one pod:") // empty | .stats.sluice |
	 "  one pod'"'"'s change (fragment render + pnft_frag_add): median \(.median | r2) ms," +
	 " p95 \(.p95 | r2) ms (goal < 5 ms)"),
	([$o[] | select(.row == "policy-render-named")][0] // empty |
	 "  the same where 500 egress rules name a port every pod has (\(.size.elements)" +
	 " elements): \(.measures[0].stats.sluice.median | r2) ms, one pod" +
	 " \(.measures[3].stats.sluice.median | r2) ms"),
	"" end' "$OUT"
echo "JSON: $OUT"
[ "${#FAILED[@]}" -eq 0 ] || echo "failed rows: ${FAILED[*]}"
[ "${#FAILED[@]}" -eq 0 ]
