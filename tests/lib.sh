# SPDX-License-Identifier: Apache-2.0
# Shared helpers for shell tests. Each check prints "PASS <name>" or "FAIL <name>";
# tests/run.sh counts those lines. Source it with BIN set to the directory of the binaries.
# shellcheck shell=bash

T_FILE=${T_FILE:-$(basename "$0" .sh)}
# under tests/run.sh's own directory when it gives one (it checks that each test leaves it
# empty); short either way: podman refuses a runroot path over 50 bytes (podman.sh)
if [ -n "${SLUICE_TEST_TMPROOT:-}" ]; then
	T_TMP=$(mktemp -d "$SLUICE_TEST_TMPROOT/t.XXXXXX")
else
	T_TMP=$(mktemp -d /tmp/sluice-test.XXXXXX)
fi
T_CLEANUP=()

# defer CMD...: run CMD at exit (last deferred first), even when the test fails
defer() { T_CLEANUP+=("$*"); }

t_cleanup() {
	local _k
	# timeout(1) sends its TERM to the test and then to the test's process group: the second
	# one must not end the cleanup the first one started
	trap '' INT TERM HUP
	# each in a subshell: a deferred command can neither clobber the loop's variables nor,
	# failing under set -u or -e, end the cleanup early
	for ((_k = ${#T_CLEANUP[@]} - 1; _k >= 0; _k--)); do
		(eval "${T_CLEANUP[$_k]}") >/dev/null 2>&1 || true
	done
	rm -rf "$T_TMP"
}
trap t_cleanup EXIT

pass() { echo "PASS $T_FILE:$1"; }
fail() {
	echo "FAIL $T_FILE:$1"
	shift
	[ $# -eq 0 ] || printf '  %s\n' "$@"
}

# check NAME CMD...: passes when CMD exits 0
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then pass "$name"; else fail "$name" "command: $*" "$out"; fi
}

# check_fail NAME CMD...: passes when CMD exits non-zero
check_fail() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then fail "$name" "expected failure: $*" "$out"; else pass "$name"; fi
}

# check_eq NAME EXPECTED ACTUAL
check_eq() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "expected: $2" "actual:   $3"; fi
}

# spawn CMD...: runs CMD in the background in a process group of its own (stdout and stderr
# to /dev/null), killed with its children at exit
spawn() {
	setsid "$@" >/dev/null 2>&1 &
	defer "kill -- -$!"
}

# listening NETNS PROTO PORT [COUNT]: waits up to 10 s until COUNT (default 1) sockets listen
# on PORT (PROTO tcp or udp) in NETNS ("" for the test's own); a fixed sleep after starting a
# server is too short on a busy machine. Fails (status 1) when they never appear.
listening() {
	local pre=() i
	[ -n "$1" ] && pre=(ip netns exec "$1")
	for i in $(seq 1 100); do
		[ "$("${pre[@]}" ss -Hln"${2:0:1}" "sport = :$3" | wc -l)" -ge "${4:-1}" ] && return 0
		sleep 0.1
	done
	return 1
}

# echo_server NETNS TYPE PORT TEXT: a socat server on PORT in NETNS ("" for the test's own)
# that answers each TCP connection or UDP datagram with one line, TEXT as sh expands it
# ($SOCAT_PEERADDR is the peer); TYPE is TCP, TCP4, TCP6 (IPv6 only), UDP, UDP4 or UDP6.
# Killed at exit. The answering shell reads the request first: one that exits with the
# request unread resets socat's socketpair (the answer is lost: "read: Connection reset by
# peer") or, gone before the request is written, makes socat's child die of EPIPE and its UDP
# parent stall for a second and drop the next datagram. -t5: after the request's end (EOF, or
# its one datagram) socat waits that long for the answer, not the default 0.5 s that a busy
# machine overruns; the shell's exit ends the wait at once.
echo_server() {
	local pre=() a
	[ -n "$1" ] && pre=(ip netns exec "$1")
	case $2 in
	TCP*) a="$2-LISTEN:$3,fork,reuseaddr" ;;
	UDP*) a="$2-RECVFROM:$3,fork" ;;
	esac
	[[ $2 == *6 ]] && a="$a,ipv6only=1"
	spawn "${pre[@]}" socat -t5 "$a" "SYSTEM:read -r _; echo $4"
}

# ask NETNS PROTO ADDR PORT [SOCAT_OPTS]: the first line that the server at ADDR:PORT answers
# to a connection (PROTO tcp4 or tcp6) or to a datagram "x" (udp4 or udp6) from NETNS ("" for
# the test's own), or nothing. SOCAT_OPTS (",sourceport=...") go to the client's address. TCP
# retries a lost SYN itself (3 s; -t3: the answer may take longer than socat's default 0.5 s
# after the request's end); a datagram is sent up to ASK_TRIES (3) times from one socket (so
# one conntrack entry), 1 s apart, and the first answer ends the wait.
ask() {
	local pre=() a=$3 x=${5:-}
	[ -n "$1" ] && pre=(ip netns exec "$1")
	[[ $2 == *6 ]] && a="[$a]"
	case $2 in
	tcp4 | tcp6) "${pre[@]}" socat -T3 -t3 - "${2^^}:$a:$4,connect-timeout=3$x" </dev/null ;;
	udp4 | udp6)
		"${pre[@]}" socat -T$((${ASK_TRIES:-3} + 1)) -t0 "${2^^}:$a:$4$x" \
			"EXEC:bash $T_TMP/udp-ask ${ASK_TRIES:-3}" 3>&1
		;;
	esac 2>/dev/null | head -1
}
# the client side of a UDP ask: stdin and stdout are the socket (through socat), fd 3 the
# caller's stdout; socat ends as soon as this does (-t0)
cat >"$T_TMP/udp-ask" <<'EOF'
for _ in $(seq "$1"); do
	echo x
	if read -r -t 1 line; then
		echo "$line" >&3
		exit 0
	fi
done
exit 1
EOF

# settled DEV [NETNS]: waits up to 5 s until DEV has a link-local IPv6 address and no
# tentative one. A bridge routes IPv6 to its ports only then: the neighbour solicitations
# for forwarded packets go out from its link-local address, and none is sent while DAD
# holds it (1 to 2 s after its first port comes up; sluice-bridge's bridges skip DAD,
# upstream's do not). Fails (status 1) when DAD never ends.
settled() {
	local pre=(ip)
	[ -n "${2:-}" ] && pre=(ip -n "$2")
	for _ in $(seq 1 50); do
		[ -n "$("${pre[@]}" -6 addr show dev "$1" scope link 2>/dev/null)" ] &&
			[ -z "$("${pre[@]}" -6 addr show dev "$1" tentative 2>/dev/null)" ] && return 0
		sleep 0.1
	done
	return 1
}

# ping_retry NETNS ADDR: one echo answered, within 5 tries of 1 s: a first packet can be lost
# (an IPv6 address still tentative: upstream's bridge keeps DAD on its gateway addresses; a
# busy machine), and a test concludes nothing from one loss
ping_retry() {
	local i
	for i in 1 2 3 4 5; do
		ip netns exec "$1" ping -c1 -W1 "$2" && return 0
		sleep 0.3
	done
	return 1
}

# link_exists NAME [NETNS]: prints 1 or 0
link_exists() {
	if ip ${2:+-n "$2"} link show "$1" >/dev/null 2>&1; then echo 1; else echo 0; fi
}

# mk_netns NAME: creates a network namespace (removed at exit) with lo up
mk_netns() {
	ip netns add "$1" && defer "ip netns del $1" && ip -n "$1" link set lo up
}

# cni VERB CONTAINERID NETNS IFNAME CONF [PLUGIN]: runs a plugin as a runtime would; stdout is
# the plugin's JSON, the exit status the plugin's. CNI_ARGS, CNI_PATH may be set by callers.
cni() {
	local verb=$1 cid=$2 ns=$3 ifn=$4 conf=$5 plugin=${6:-}
	[ -n "$plugin" ] || plugin=$(jq -r .type <"$conf")
	local exe=$BIN/$plugin
	[ -x "$exe" ] || exe=${UPSTREAM:-/usr/lib/cni}/$plugin
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin CNI_COMMAND="$verb" CNI_CONTAINERID="$cid" \
		CNI_NETNS="${ns:+/run/netns/$ns}" CNI_IFNAME="$ifn" \
		CNI_PATH="${CNI_PATH:-$BIN:${UPSTREAM:-/usr/lib/cni}}" CNI_ARGS="${CNI_ARGS:-}" \
		SLUICE_FAULT="${SLUICE_FAULT:-}" \
		"$exe" <"$conf"
}

# sluice_nft_elems [COMMENT_PREFIX]: the number of elements in the sets and maps of every
# nftables table whose name starts with "sluice" (only those whose comment starts with
# COMMENT_PREFIX when given). Elements live in each set's or map's "elem" array of
# `nft -j list ruleset`; a map's are [key, value] pairs, an element with a comment is
# {"elem": {"val", "comment"}}. Prints nothing (so matches no count) when nft or jq fails.
sluice_nft_elems() {
	local j
	j=$(nft -j list ruleset) || return 1
	jq --arg o "${1:-}" '[.nftables[] | (.set // .map // empty) |
		select(.table | startswith("sluice")) | .elem // [] | .[] |
		(if type == "array" then .[0] else . end) |
		select($o == "" or ((if type == "object" then .elem.comment? else null end) // "" |
			startswith($o)))] | length' <<<"$j"
}

# sluice_nft_tables [NETNS]: the number of nftables tables whose name starts with "sluice" (in
# NETNS, or here). Prints nothing (so matches no count) when nft or jq fails.
sluice_nft_tables() {
	local j pre=()
	[ -n "${1:-}" ] && pre=(ip netns exec "$1")
	j=$("${pre[@]}" nft -j list tables) || return 1
	jq '[.nftables[] | .table // empty | select(.name | startswith("sluice"))] | length' <<<"$j"
}

# --- etcd members (Debian's etcd-server), each started and stopped by PID
declare -A ETCD_PID=()

# etcd_up NAME CLIENT_URL PEER_URL [FLAGS...]: starts member NAME listening on CLIENT_URL
# and PEER_URL, its data in $T_TMP/etcd-NAME (kept by etcd_down: etcd_up NAME again is a
# restart of the same member), its log appended to $T_TMP/etcd-NAME.log; inside network
# namespace $ETCD_NETNS when set. Its cluster is itself unless FLAGS say otherwise (FLAGS
# come last and win: --initial-cluster ... for a member of several). Then waits up to 30 s
# until it answers healthy (ETCD_WAIT=0: not, e.g. a member whose cluster is still forming,
# or one on TLS: etcd_healthy with curl's TLS arguments). Status 1 when it never does.
# Stopped at exit (etcd_down) unless stopped before.
etcd_up() {
	local name=$1 curl=$2 purl=$3 pre=()
	shift 3
	[ -n "${ETCD_NETNS:-}" ] && pre=(ip netns exec "$ETCD_NETNS")
	[ -n "${ETCD_PID[$name]+x}" ] || defer "etcd_down $name KILL"
	"${pre[@]}" etcd --name "$name" --data-dir "$T_TMP/etcd-$name" \
		--listen-client-urls "$curl" --advertise-client-urls "$curl" \
		--listen-peer-urls "$purl" --initial-advertise-peer-urls "$purl" \
		--initial-cluster "$name=$purl" --initial-cluster-state new "$@" \
		>>"$T_TMP/etcd-$name.log" 2>&1 &
	ETCD_PID[$name]=$!
	# bash would report a member's SIGKILL on the test's output
	disown $!
	[ "${ETCD_WAIT:-1}" = 0 ] && return 0
	etcd_healthy "${curl%%,*}"
}

# etcd_healthy URL [CURL ARGS...]: waits up to 30 s until the member at URL answers /health
# with a leader (from $ETCD_NETNS when set); status 1 when it never does
etcd_healthy() {
	local url=$1 pre=() i
	shift
	[ -n "${ETCD_NETNS:-}" ] && pre=(ip netns exec "$ETCD_NETNS")
	for ((i = 0; i < 150; i++)); do
		"${pre[@]}" curl -s --max-time 1 "$@" "$url/health" 2>/dev/null |
			grep -q '"health":"true"' && return 0
		sleep 0.2
	done
	return 1
}

# pid_gone PID: status 0 when PID has exited. An exited process the test has not reaped (a
# disowned job; a deferred command runs in a subshell, whose wait cannot reap the test's
# child) is a zombie ("Z"), which kill -0 still finds.
pid_gone() {
	! kill -0 "$1" 2>/dev/null || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]
}

# stop_pid PID SIGNAL TENTHS: sends SIGNAL to PID (one the test started), waits up to
# TENTHS tenths of a second for it to exit, then KILL and up to 5 s more. Status 0.
stop_pid() {
	local i
	kill -"$2" "$1" 2>/dev/null
	for ((i = 0; i < $3; i++)); do
		pid_gone "$1" && break
		sleep 0.1
	done
	pid_gone "$1" || kill -KILL "$1" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		pid_gone "$1" && break
		sleep 0.1
	done
	return 0
}

# etcd_down NAME [SIGNAL]: sends SIGNAL (TERM) to member NAME by PID, waits up to 10 s for
# it to exit, then KILL. Its data dir stays (removed with $T_TMP at exit, after every
# member is down). Nothing when NAME is not running.
etcd_down() {
	local pid=${ETCD_PID[$1]:-}
	[ -n "$pid" ] || return 0
	stop_pid "$pid" "${2:-TERM}" 100
	ETCD_PID[$1]=
	return 0
}

# ms_until SECONDS CMD...: polls CMD every 20 ms from now, for SECONDS at most; prints the
# milliseconds until it first succeeded (status 0), or those waited in vain (status 1). A
# check then asserts its own limit on the number, the longer wait only serving diagnostics.
ms_until() {
	local t0 end now
	t0=$(date +%s%N)
	end=$((t0 + $1 * 1000000000))
	shift
	while :; do
		"$@" >/dev/null 2>&1 && {
			echo $((($(date +%s%N) - t0) / 1000000))
			return 0
		}
		now=$(date +%s%N)
		[ "$now" -lt "$end" ] || {
			echo $(((now - t0) / 1000000))
			return 1
		}
		sleep 0.02
	done
}

# check_ms NAME LIMIT MS: passes when MS (from ms_until) is a number below LIMIT; MS echoed
check_ms() {
	echo "  $1: $3 ms (limit $2 ms)"
	if [[ "$3" =~ ^[0-9]+$ ]] && [ "$3" -lt "$2" ]; then pass "$1"; else fail "$1" "took $3 ms, limit $2 ms"; fi
}

# safe_defaults: for tests of commands whose defaults are host paths (sluicectl, sluiced):
# /etc/cni/net.d, /run/sluice and /var/lib/sluice become tmpfs in the test's own mount
# namespace (the caller re-executes itself under unshare -m first). One that exists is
# mounted over; one that does not is made inside an overlay of its nearest existing ancestor
# whose upper layer is a tmpfs, so nothing is created on the host's filesystem. Exits when
# one cannot be made so: no check may then run against the host's.
safe_defaults() {
	local d a up overlays=" "
	mkdir "$T_TMP/ov"
	mount -t tmpfs -o mode=0700 ctl-ov "$T_TMP/ov" || exit 1
	defer "umount -l $T_TMP/ov"
	for d in /etc/cni/net.d /run/sluice /var/lib/sluice; do
		if [ ! -d "$d" ]; then
			a=$d
			while [ ! -e "$(dirname "$a")" ]; do a=$(dirname "$a"); done
			a=$(dirname "$a")
			if [[ $overlays != *" $a "* ]]; then
				up=$T_TMP/ov/${a//\//_}
				mkdir -p "$up/u" "$up/w"
				mount -t overlay -o "lowerdir=$a,upperdir=$up/u,workdir=$up/w" ctl-ov \
					"$a" || exit 1
				defer "umount -l $a"
				overlays+="$a "
			fi
			mkdir -p "$d" || exit 1
		fi
		mount -t tmpfs -o mode=0755 ctl-safe "$d" || exit 1
		defer "umount -l $d"
	done
	for d in /etc/cni/net.d /run/sluice /var/lib/sluice; do
		if [ "$(findmnt -n -o FSTYPE,SOURCE --mountpoint "$d" | tail -1 | tr -s ' ')" != \
			"tmpfs ctl-safe" ]; then
			fail host-safety "$d is not this test's tmpfs: $(findmnt -n --mountpoint "$d")"
			exit 1
		fi
	done
	pass host-safety
}
