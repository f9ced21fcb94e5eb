#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Conformance: runs every sluice binary the way a runtime does (env -i, config on stdin) and
# compares the exit status and the jq -S normalised stdout with what is expected, exactly.
# 1. Generic cases every binary must answer identically (bad env, bad JSON, versions...).
# 2. cases/<plugin>.json: a list of {name, env, stdin | stdin_raw, exit, expect} run in order
#    (so a case can depend on an earlier one); "@TMP@" in stdin is a fresh directory, "@BIN@" in
#    env the directory of the binaries, "@FIXTURES@" (env, stdin, expect) the absolute path of
#    fixtures/ here (files cases read, such as a resolv.conf).
set -u
# The case no-lease-default-subnetFile reads the default /run/sluice/subnet.env: an empty
# tmpfs over /run/sluice, in a mount namespace of our own (the script re-runs itself under
# unshare -m; tests/run.sh runs it in one already), so that it never reads the host's lease
# and the mount never lands on the host
if [ -z "${SLUICE_CONF_UNSHARED:-}" ]; then
	SLUICE_CONF_UNSHARED=1 exec unshare -m --propagation private "$0" "$@"
fi
if [ -d /run/sluice ]; then
	if [ "$(readlink /proc/self/ns/mnt)" = "$(readlink /proc/1/ns/mnt)" ]; then
		echo "FAIL conformance:private-run-sluice (not in a mount namespace of its own)"
		exit 1
	fi
	mount -t tmpfs -o mode=0755 sluice-conf /run/sluice || exit 1
fi
cd "$(dirname "$0")"
BIN=${BIN:?BIN must name the directory of the binaries}
TMP=$(mktemp -d /tmp/sluice-conf.XXXXXX)
FIXTURES=$PWD/fixtures
trap 'rm -rf "$TMP"' EXIT

# invoke ENV_ASSIGNMENTS... -- EXE: runs EXE with only the given environment and $IN on stdin
invoke() {
	local envs=()
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	env -i PATH=/usr/bin:/bin "${envs[@]}" "$2" <"$IN"
}

# expect NAME EXIT EXPECTED_JSON ENV... -- EXE
expect() {
	local name=$1 want_rc=$2 want=$3 out rc got
	shift 3
	out=$(invoke "$@" 2>/dev/null)
	rc=$?
	# no output at all (a successful DEL, CHECK, GC, STATUS) compares as null
	got=$(printf '%s' "${out:-null}" | jq -cS . 2>/dev/null || printf 'not JSON: %s' "$out")
	want=$(printf '%s' "$want" | jq -cS .)
	if [ "$rc" = "$want_rc" ] && [ "$got" = "$want" ]; then
		echo "PASS conformance:$name"
	else
		echo "FAIL conformance:$name"
		echo "  exit $rc (want $want_rc)"
		echo "  got:  $got"
		echo "  want: $want"
	fi
}

err() { # CODE MSG [DETAILS] [VERSION]
	jq -cn --argjson c "$1" --arg m "$2" --arg d "${3:-}" --arg v "${4:-1.0.0}" \
		'{cniVersion:$v,code:$c,msg:$m,details:$d}'
}

VERSIONS='["0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]'
E="CNI_CONTAINERID=c1 CNI_NETNS=/run/netns/none CNI_IFNAME=eth0 CNI_PATH=$BIN"

generic() { # PLUGIN
	local p=$1 exe=$BIN/sluice-$1 n
	# a dataDir of its own: a case that got as far as IPAM would not write to /var/lib/cni
	local conf='{"cniVersion":"1.0.0","name":"conf","type":"sluice-'"$p"'","ipam":{"type":"sluice-host-local","subnet":"10.250.0.0/24","dataDir":"'"$TMP/generic-data"'"}}'
	IN=$TMP/in.json
	printf '' >"$IN"
	expect "$p/version" 0 "{\"cniVersion\":\"1.1.0\",\"supportedVersions\":$VERSIONS}" CNI_COMMAND=VERSION -- "$exe"
	echo '{"cniVersion":"0.4.0"}' >"$IN"
	expect "$p/version-0.4.0" 0 "{\"cniVersion\":\"0.4.0\",\"supportedVersions\":$VERSIONS}" CNI_COMMAND=VERSION -- "$exe"
	printf '%s' "$conf" >"$IN"
	# shellcheck disable=SC2086
	for n in CNI_COMMAND CNI_CONTAINERID CNI_NETNS CNI_IFNAME CNI_PATH; do
		local envs=()
		for kv in CNI_COMMAND=ADD $E; do [ "${kv%%=*}" = "$n" ] || envs+=("$kv"); done
		expect "$p/missing-$n" 1 "$(err 4 "required env variables [$n] missing" "" 1.1.0)" "${envs[@]}" -- "$exe"
	done
	# shellcheck disable=SC2086
	expect "$p/missing-several" 1 "$(err 4 'required env variables [CNI_CONTAINERID,CNI_IFNAME] missing' '' 1.1.0)" CNI_COMMAND=DEL CNI_PATH=/x -- "$exe"
	# shellcheck disable=SC2086
	expect "$p/unknown-command" 1 "$(err 4 'unknown CNI_COMMAND: ADDD' '' 1.1.0)" CNI_COMMAND=ADDD $E -- "$exe"
	for id in ../../etc/passwd a/b -x 'a b'; do
		expect "$p/bad-containerid-${id//\//_}" 1 "$(err 4 'invalid characters in containerID' "$id" 1.1.0)" \
			CNI_COMMAND=ADD CNI_CONTAINERID="$id" CNI_NETNS=/run/netns/x CNI_IFNAME=eth0 CNI_PATH=/x -- "$exe"
	done
	id=$(printf 'a%.0s' $(seq 256))
	expect "$p/containerid-256-bytes" 1 "$(err 4 'containerID is longer than 255 bytes' "${id:0:200}" 1.1.0)" \
		CNI_COMMAND=ADD CNI_CONTAINERID="$id" CNI_NETNS=/run/netns/x CNI_IFNAME=eth0 CNI_PATH=/x -- "$exe"
	for ifn in eth0/x ../x . .. a:b 'a b' 0123456789abcdef; do
		expect "$p/bad-ifname-${ifn//\//_}" 1 "$(err 4 'invalid interface name: must be 1-15 bytes, not . or .., without / : or whitespace' "$ifn" 1.1.0)" \
			CNI_COMMAND=ADD CNI_CONTAINERID=c1 CNI_NETNS=/run/netns/x CNI_IFNAME="$ifn" CNI_PATH=/x -- "$exe"
	done
	expect "$p/relative-netns" 1 "$(err 4 'CNI_NETNS must be an absolute path: netns/x' '' 1.1.0)" \
		CNI_COMMAND=ADD CNI_CONTAINERID=c1 CNI_NETNS=netns/x CNI_IFNAME=eth0 CNI_PATH=/x -- "$exe"
	printf '{"cniVersion":"1.0.0",' >"$IN"
	# shellcheck disable=SC2086
	expect "$p/malformed-json" 1 "$(err 6 'error unmarshalling network config: invalid JSON' 'at byte 21' 1.1.0)" CNI_COMMAND=ADD $E -- "$exe"
	printf '["not an object"]' >"$IN"
	# shellcheck disable=SC2086
	expect "$p/not-an-object" 1 "$(err 6 'error unmarshalling network config: not a JSON object' '' 1.1.0)" CNI_COMMAND=ADD $E -- "$exe"
	printf '%s' "$conf" | jq -c '.cniVersion="0.2.0"' >"$IN"
	# shellcheck disable=SC2086
	expect "$p/unsupported-version" 1 "$(err 1 'incompatible CNI versions' 'config is "0.2.0", plugin supports ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]' 1.1.0)" CNI_COMMAND=ADD $E -- "$exe"
	printf '%s' "$conf" | jq -c 'del(.name)' >"$IN"
	# shellcheck disable=SC2086
	expect "$p/missing-name" 1 "$(err 7 'missing network name')" CNI_COMMAND=ADD $E -- "$exe"
	printf '%s' "$conf" | jq -c '.name="../etc"' >"$IN"
	# shellcheck disable=SC2086
	expect "$p/path-like-name" 1 "$(err 7 'invalid characters found in network name' '../etc')" CNI_COMMAND=ADD $E -- "$exe"
	printf '%s' "$conf" | jq -c '.cniVersion="0.3.1"' >"$IN"
	# shellcheck disable=SC2086
	expect "$p/check-below-0.4.0" 1 "$(err 1 'config version does not allow CHECK' '' 0.3.1)" CNI_COMMAND=CHECK $E -- "$exe"
	printf '%s' "$conf" >"$IN"
	expect "$p/gc-below-1.1.0" 1 "$(err 1 'config version does not allow GC')" CNI_COMMAND=GC CNI_PATH=/x -- "$exe"
	expect "$p/status-below-1.1.0" 1 "$(err 1 'config version does not allow STATUS')" CNI_COMMAND=STATUS CNI_PATH=/x -- "$exe"
	# shellcheck disable=SC2086
	expect "$p/unknown-cni-args" 1 "$(err 4 'ARGS: unknown args ["FOO=bar"]')" CNI_COMMAND=ADD $E CNI_ARGS='K8S_POD_NAME=p;FOO=bar' -- "$exe"
	# shellcheck disable=SC2086
	expect "$p/bad-cni-args" 1 "$(err 4 'ARGS: invalid pair "junk"')" CNI_COMMAND=ADD $E CNI_ARGS='IgnoreUnknown=1;junk' -- "$exe"
	# the "log" block (README, Logging): wrong types are code 7 naming each field; DEL goes on
	printf '%s' "$conf" | jq -c '.log="/var/log/x"' >"$IN"
	# shellcheck disable=SC2086
	expect "$p/log-not-an-object" 1 "$(err 7 'log: must be an object')" CNI_COMMAND=ADD $E -- "$exe"
	printf '%s' "$conf" | jq -c '.log={file:5,level:"trace",maxSize:1.5}' >"$IN"
	# shellcheck disable=SC2086
	expect "$p/log-bad-fields" 1 "$(err 7 'log.file: must be an absolute path; log.level: must be error, warn, info or debug; log.maxSize: must be an integer in [4096, 1099511627776]')" CNI_COMMAND=ADD $E -- "$exe"
	printf '%s' "$conf" | jq -c '.cniVersion="1.1.0" | .log={maxSize:100}' >"$IN"
	# shellcheck disable=SC2086
	expect "$p/log-small-maxsize" 1 "$(err 7 'log.maxSize: must be an integer in [4096, 1099511627776]' '' 1.1.0)" CNI_COMMAND=STATUS $E -- "$exe"
	printf '%s' "$conf" | jq -c '.log={file:"relative.log"}' >"$IN"
	# shellcheck disable=SC2086
	expect "$p/log-bad-del-goes-on" 0 null CNI_COMMAND=DEL $E -- "$exe"
	{ printf '%s' "$conf"; head -c $((1024 * 1024)) /dev/zero | tr '\0' ' '; } >"$IN"
	# shellcheck disable=SC2086
	expect "$p/oversized-stdin" 1 "$(err 6 'network config on stdin is larger than 1048576 bytes' '' 1.1.0)" CNI_COMMAND=ADD $E -- "$exe"
}

# cases/<plugin>.json, in order
cases() { # PLUGIN FILE
	local p=$1 f=$2 n i name rc want envs
	n=$(jq length "$f")
	mkdir -p "$TMP/$p"
	for ((i = 0; i < n; i++)); do
		name=$(jq -r ".[$i].name" "$f")
		rc=$(jq -r ".[$i].exit" "$f")
		want=$(jq -c ".[$i].expect // empty" "$f")
		mapfile -t envs < <(jq -r ".[$i].env | to_entries[] | \"\(.key)=\(.value)\"" "$f" |
			sed "s|@BIN@|$BIN|g; s|@TMP@|$TMP/$p|g; s|@FIXTURES@|$FIXTURES|g")
		IN=$TMP/in.json
		if jq -e ".[$i] | has(\"stdin_raw\")" "$f" >/dev/null; then
			jq -j ".[$i].stdin_raw" "$f" >"$IN"
		else
			jq -c ".[$i].stdin" "$f" | sed "s|@TMP@|$TMP/$p|g; s|@FIXTURES@|$FIXTURES|g" >"$IN"
		fi
		want=$(printf '%s' "$want" | sed "s|@TMP@|$TMP/$p|g; s|@BIN@|$BIN|g; s|@FIXTURES@|$FIXTURES|g")
		[ -n "$want" ] || want=null
		expect "$p/$name" "$rc" "$want" "${envs[@]}" -- "$BIN/sluice-$p"
	done
}

for exe in "$BIN"/sluice-*; do
	[ -x "$exe" ] || continue
	p=${exe##*/sluice-}
	generic "$p"
	[ -f "cases/$p.json" ] && cases "$p" "cases/$p.json"
done
# a cases file whose binary is missing fails (each of its cases too), rather than being skipped
for f in cases/*.json; do
	p=$(basename "$f" .json)
	[ -x "$BIN/sluice-$p" ] && continue
	echo "FAIL conformance:$p/binary"
	echo "  missing $BIN/sluice-$p, needed by tests/conformance/$f"
	cases "$p" "$f"
done
# the README's table of bad input, every row against every plugin
BIN=$BIN TMP=$TMP ./bad-input.sh
exit 0
