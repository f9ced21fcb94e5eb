#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The policy table (common/policy/pnft.c through tests/tools/pnfttool) with real traffic and
# hand-written rulesets: a "node" netns holds a bridge with three pod netns on it and
# br_netfilter's sysctls on, so same-node bridged traffic meets the inet forward hook. Proves,
# for IPv4 and IPv6, TCP and UDP: an isolated pod takes only what a policy allows; replies
# to its own connections pass; ipBlock intervals and port ranges match exactly at their
# edges; named ports match the (address, protocol, port) tuple; the class chain counts its
# drops and logs them to NFLOG; `nft -j list` reads back what was asked; a difference
# changes only what changed (counters of unchanged chains survive) and can be applied twice;
# fragments add and delete idempotently; CHECK names what is missing; a bad ruleset leaves
# the old one in force; scrub removes an address from every set; the policy lock waits and
# times out.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

PNFT=${TOOLS:-build/tests/tools}/pnfttool
if [ ! -x "$PNFT" ]; then
	fail "pnfttool-built" "missing $PNFT (make tools)"
	exit 0
fi

N=pn-node-$$
P1=pn-p1-$$
P2=pn-p2-$$
P3=pn-p3-$$
R=$T_TMP/rulesets
mkdir -p "$R"

pt() { ip netns exec "$N" "$PNFT" "$@"; }
nftn() { ip netns exec "$N" nft "$@"; }

setup() {
	local ns i=2 pod
	for ns in $N $P1 $P2 $P3; do mk_netns "$ns" || return 1; done
	ip netns exec "$N" sysctl -qw net.bridge.bridge-nf-call-iptables=1 \
		net.bridge.bridge-nf-call-ip6tables=1 || return 1
	ip -n "$N" link add br0 type bridge && ip -n "$N" link set br0 up || return 1
	for pod in $P1 $P2 $P3; do
		ip -n "$N" link add "v$i" type veth peer name eth0 netns "$pod" &&
			ip -n "$N" link set "v$i" master br0 up &&
			ip -n "$pod" addr add "10.90.0.$i/24" dev eth0 &&
			ip -n "$pod" addr add "fd00:90::$i/64" dev eth0 nodad &&
			ip -n "$pod" link set eth0 up || return 1
		i=$((i + 1))
	done
	# P3's extra sources, at and just outside an ipBlock's edges: deprecated in IPv6 so that
	# P3's own answers still leave from fd00:90::4 (the probes bind them explicitly)
	for i in 9 10 19 20; do
		ip -n "$P3" addr add "10.90.0.$i/24" dev eth0 &&
			ip -n "$P3" addr add "fd00:90::$i/64" dev eth0 nodad preferred_lft 0 || return 1
	done
}

if ! setup; then
	fail "setup" "could not build the namespaces"
	exit 0
fi

# servers: each answers "<pod>-<port>"
for t in TCP4 TCP6; do
	for p in 80 81 82 83; do echo_server "$P2" "$t" "$p" "p2-$p"; done
	for p in 80 81; do echo_server "$P3" "$t" "$p" "p3-$p"; done
	echo_server "$P1" "$t" 80 "p1-80"
done
for t in UDP4 UDP6; do
	for p in 80 81; do
		echo_server "$P2" "$t" "$p" "p2-$p"
		echo_server "$P3" "$t" "$p" "p3-$p"
	done
	echo_server "$P1" "$t" 80 "p1-80"
done
for w in "$P2 tcp 80" "$P2 udp 81" "$P3 tcp 80" "$P3 udp 81" "$P2 tcp 83" "$P1 udp 80"; do
	# shellcheck disable=SC2086 # the words are listening's arguments
	if ! listening $w 2; then
		fail "servers" "not listening: $w"
		exit 0
	fi
done

# --- Probes, in parallel: a dropped TCP SYN costs 3 s, a dropped datagram 3 tries of 1 s
PROBES=()
PROBE_PIDS=()
# probe NAME EXPECTED SRC_NS PROTO DST PORT [SOURCE_ADDR]
probe() {
	local opts="" src=${7:-}
	if [ -n "$src" ]; then
		[[ $4 == *6 ]] && src="[$src]"
		opts=",bind=$src"
	fi
	(ask "$3" "$4" "$5" "$6" "$opts" >"$T_TMP/probe.$1") &
	PROBE_PIDS+=($!)
	PROBES+=("$1|$2")
}
probes_check() {
	local p name
	wait "${PROBE_PIDS[@]}"
	for p in "${PROBES[@]}"; do
		name=${p%%|*}
		check_eq "$name" "${p#*|}" "$(cat "$T_TMP/probe.$name" 2>/dev/null)"
		rm -f "$T_TMP/probe.$name"
	done
	PROBES=()
	PROBE_PIDS=()
}

# --- The read-back: `nft -j list table` against the description, both normalized
cat >"$T_TMP/readback.py" <<'EOF'
import ipaddress, json, sys

desc = json.load(open(sys.argv[1]))
log_rate, group = int(sys.argv[2]), int(sys.argv[3])
nft = json.load(sys.stdin)["nftables"]
FIXED = {"egr4": "dispatch4", "egr6": "dispatch6", "ing4": "dispatch4", "ing6": "dispatch6",
         "stamp": "stamp"}

def rng(a, b):
    return "%s-%s" % (ipaddress.ip_address(a), ipaddress.ip_address(b))

def want_elem(kind, s):
    f = s.split()
    if kind in ("net4", "net6"):
        if "-" in s:
            a, b = s.split("-")
            return rng(a, b)
        n = ipaddress.ip_network(s, strict=False)
        return rng(n[0], n[-1])
    if kind == "ports":
        lo, _, hi = f[1].partition("-")
        return "%s . %d-%d" % (f[0], int(lo), int(hi or lo))
    if kind in ("named4", "named6"):
        return "%s . %s . %d" % (ipaddress.ip_address(f[0]), f[1], int(f[2]))
    if kind in ("dispatch4", "dispatch6"):
        return "%s : goto %s" % (ipaddress.ip_address(f[0]), f[1])
    return str(ipaddress.ip_address(f[0]))

def have_val(v):
    if isinstance(v, dict) and "prefix" in v:
        n = ipaddress.ip_network("%s/%d" % (v["prefix"]["addr"], v["prefix"]["len"]))
        return rng(n[0], n[-1])
    if isinstance(v, dict) and "range" in v:
        a, b = v["range"]
        return "%d-%d" % (a, b) if isinstance(a, int) else rng(a, b)
    return str(v)

def have_elem(kind, e):
    if isinstance(e, list):  # map element
        return "%s : goto %s" % (e[0], e[1]["goto"]["target"])
    if isinstance(e, dict) and "elem" in e:
        return "%s comment %s" % (e["elem"]["val"], e["elem"].get("comment"))
    if isinstance(e, dict) and "concat" in e:
        parts = [have_val(x) for x in e["concat"]]
        if kind == "ports" and "-" not in parts[1]:
            parts[1] = "%s-%s" % (parts[1], parts[1])
        return " . ".join(parts)
    v = have_val(e)
    if kind in ("net4", "net6") and "-" not in v:
        v = rng(v, v)
    return v

want, have = {}, {}
kinds = dict(FIXED)
for s in desc.get("sets", []):
    kinds[s["name"]] = s["kind"]
for name in FIXED:
    want["set " + name] = []
for s in desc.get("sets", []):
    if s["kind"] != "stamp":
        want["set " + s["name"]] = sorted(want_elem(s["kind"], e) for e in s.get("elems", []))
if desc.get("stamp"):
    want["set stamp"] = ["1 comment %s" % desc["stamp"]]
for c in desc.get("pchains", []):
    rules = []
    for r in c.get("rules", []):
        fam = {4: "ip ", 6: "ip6 "}.get(r.get("family", 0), "")
        m = []
        if r.get("addr"):
            m.append("%s%s @%s" % (fam, "saddr" if c["dir"] == "in" else "daddr", r["addr"]))
        if r.get("ports"):
            m.append("ports @%s" % r["ports"])
        if r.get("named"):
            m.append("%snamed @%s" % (fam, r["named"]))
        m.append("counter accept # %s/%s %s[%d]" % (c["ns"], c["policy"],
                 "ingress" if c["dir"] == "in" else "egress", r.get("index", 0)))
        rules.append(" ".join(m))
    want["chain " + c["name"]] = rules
pols = {c["name"]: "%s/%s" % (c["ns"], c["policy"]) for c in desc.get("pchains", [])}
for c in desc.get("cchains", []):
    rules = ["jump %s # %s" % (t, pols.get(t)) for t in c["targets"]]
    if log_rate:
        rules.append("limit %d/second burst %d log group %d prefix %s" %
                     (log_rate, log_rate, group, c["name"]))
    rules.append("counter drop # drop")
    want["chain " + c["name"]] = rules
for base, hook_dir, prio in (("egress", "saddr", -1), ("ingress", "daddr", 0)):
    want["chain " + base] = ["hook forward %d accept" % prio, "ct established,related accept",
                             "ip6 hoplimit 255 icmpv6 type nd-router-solicit-nd-redirect accept",
                             "ip %s vmap @%s4" % (hook_dir, base[:3]),
                             "ip6 %s vmap @%s6" % (hook_dir, base[:3])]

for o in nft:
    k = list(o)[0]
    v = o[k]
    if k in ("set", "map"):
        have["set " + v["name"]] = sorted(have_elem(kinds.get(v["name"]), e)
                                          for e in v.get("elem", []))
    elif k == "chain":
        have["chain " + v["name"]] = (["hook %s %d %s" % (v["hook"], v["prio"], v["policy"])]
                                      if "hook" in v else [])
    elif k == "rule":
        m, fam = [], ""
        for x in v["expr"]:
            if "match" in x:
                l, r = x["match"]["left"], x["match"]["right"]
                if "ct" in l:
                    m.append("ct " + ",".join(r))
                elif "meta" in l and l["meta"]["key"] == "nfproto":
                    fam = {"ipv4": "ip ", "ipv6": "ip6 "}[r]
                elif "payload" in l:
                    if isinstance(r, dict):
                        r = "-".join(r["range"])
                    m.append("%s %s %s" % (l["payload"]["protocol"], l["payload"]["field"], r))
                elif "concat" in l and len(l["concat"]) == 2:
                    m.append("ports " + r)
                elif "concat" in l:
                    m.append("%s named %s" % (l["concat"][0]["payload"]["protocol"], r))
            elif "vmap" in x:
                p = x["vmap"]["key"]["payload"]
                m.append("%s %s vmap %s" % (p["protocol"], p["field"], x["vmap"]["data"]))
            elif "counter" in x:
                m.append("counter")
            elif "accept" in x or "drop" in x:
                m.append(list(x)[0])
            elif "jump" in x:
                m.append("jump " + x["jump"]["target"])
            elif "limit" in x:
                m.append("limit %d/%s burst %d" % (x["limit"]["rate"], x["limit"]["per"],
                                                   x["limit"]["burst"]))
            elif "log" in x:
                m.append("log group %d prefix %s" % (x["log"]["group"], x["log"]["prefix"]))
            else:
                m.append(json.dumps(x))
        text = " ".join(m)
        if "comment" in v:
            text += " # " + v["comment"]
        have["chain " + v["chain"]].append(text)

bad = 0
for k in sorted(set(want) | set(have)):
    if want.get(k) != have.get(k):
        bad = 1
        print("%s:\n  want %s\n  have %s" % (k, want.get(k), have.get(k)))
sys.exit(bad)
EOF
# readback NAME DESCRIPTION [LOG_RATE]: the table equals the description
readback() {
	check "$1" bash -c "ip netns exec $N nft -j list table inet sluice_policy |
		python3 $T_TMP/readback.py $2 ${3:-10} 2718"
}
counter_of() { # CHAIN COMMENT: the packets of that counters row (the first one)
	pt counters | jq --arg c "$1" --arg m "$2" \
		'[.[] | select(.chain == $c and .comment == $m) | .packets] | first // -1'
}

# --- Rulesets ------------------------------------------------------------------------------
# r1: P2 (10.90.0.3) isolated on ingress by two policies (P1 on port 80 TCP+UDP; the ipBlock
# .10-.19 / ::10-::19 on TCP 81-82), P3 (10.90.0.4) by one of named ports (TCP 80, UDP 81
# only). P1 is open. P2 has a harmless SCTP named port to be scrubbed later.
cat >"$R/r1.json" <<'EOF'
{"stamp": "r1",
 "sets": [{"name": "a4", "kind": "addr4", "elems": ["10.90.0.2"]},
	  {"name": "a6", "kind": "addr6", "elems": ["fd00:90::2"]},
	  {"name": "p80", "kind": "ports", "elems": ["tcp 80", "udp 80"]},
	  {"name": "b4", "kind": "net4", "elems": ["10.90.0.10-10.90.0.19"]},
	  {"name": "b6", "kind": "net6", "elems": ["fd00:90::10-fd00:90::19"]},
	  {"name": "pr", "kind": "ports", "elems": ["tcp 81-82"]},
	  {"name": "n4", "kind": "named4",
	   "elems": ["10.90.0.4 tcp 80", "10.90.0.4 udp 81", "10.90.0.3 sctp 80"]},
	  {"name": "n6", "kind": "named6", "elems": ["fd00:90::4 tcp 80", "fd00:90::4 udp 81"]},
	  {"name": "ing4", "kind": "dispatch4", "elems": ["10.90.0.3 ci-a", "10.90.0.4 ci-b"]},
	  {"name": "ing6", "kind": "dispatch6", "elems": ["fd00:90::3 ci-a", "fd00:90::4 ci-b"]}],
 "pchains": [{"name": "pi-blk", "dir": "in", "ns": "x", "policy": "blocks",
	      "rules": [{"family": 4, "addr": "b4", "ports": "pr", "index": 0},
			{"family": 6, "addr": "b6", "ports": "pr", "index": 0}]},
	     {"name": "pi-nam", "dir": "in", "ns": "y", "policy": "named",
	      "rules": [{"family": 4, "named": "n4", "index": 0},
			{"family": 6, "named": "n6", "index": 0}]},
	     {"name": "pi-p1", "dir": "in", "ns": "x", "policy": "allow-p1",
	      "rules": [{"family": 4, "addr": "a4", "ports": "p80", "index": 0},
			{"family": 6, "addr": "a6", "ports": "p80", "index": 0}]}],
 "cchains": [{"name": "ci-a", "dir": "in", "targets": ["pi-blk", "pi-p1"]},
	     {"name": "ci-b", "dir": "in", "targets": ["pi-nam"]}]}
EOF
# r2: r1 changed: P1 isolated on egress (to P2 only), the port range now 81-83, P3's named
# UDP 81 gone. pi-p1, pi-blk and ci-a are unchanged.
jq '.stamp = "r2"
  | .sets |= map(if .name == "pr" then .elems = ["tcp 81-83"]
		 elif .name == "n4" then .elems -= ["10.90.0.4 udp 81"]
		 elif .name == "n6" then .elems -= ["fd00:90::4 udp 81"] else . end)
  | .sets += [{"name": "e4", "kind": "addr4", "elems": ["10.90.0.3"]},
	      {"name": "e6", "kind": "addr6", "elems": ["fd00:90::3"]},
	      {"name": "egr4", "kind": "dispatch4", "elems": ["10.90.0.2 ce-p1"]},
	      {"name": "egr6", "kind": "dispatch6", "elems": ["fd00:90::2 ce-p1"]}]
  | .pchains += [{"name": "pe-p1", "dir": "out", "ns": "z", "policy": "egress",
		  "rules": [{"family": 4, "addr": "e4", "index": 0},
			    {"family": 6, "addr": "e6", "index": 1}]}]
  | .cchains += [{"name": "ce-p1", "dir": "out", "targets": ["pe-p1"]}]' \
	"$R/r1.json" >"$R/r2.json"
# bad: r1 with a rule using a set that does not exist
jq '.stamp = "bad" | .pchains[0].rules[0].addr = "nosuch"' "$R/r1.json" >"$R/bad.json"
# frag: a peer 10.90.0.9 allowed into P2 on port 80 (a4/a6), and P1 isolated on ingress by a
# class of its own (to P1, only what pi-nam allows: nothing)
cat >"$R/frag.json" <<'EOF'
{"sets": [{"name": "a4", "kind": "addr4", "elems": ["10.90.0.9"]},
	  {"name": "a6", "kind": "addr6", "elems": ["fd00:90::9"]},
	  {"name": "ing4", "kind": "dispatch4", "elems": ["10.90.0.2 ci-new"]},
	  {"name": "ing6", "kind": "dispatch6", "elems": ["fd00:90::2 ci-new"]}],
 "cchains": [{"name": "ci-new", "dir": "in", "targets": ["pi-nam"]}]}
EOF

# --- No table: everything passes; queries say so ----------------------------------------
check_eq "stamp-no-table" '{"exists":false,"stamp":""}' "$(pt stamp)"
check_eq "check-no-table" "table inet sluice_policy missing" "$(pt check "$R/frag.json")"
check "scrub-no-table" pt scrub 10.90.0.3
probe open-p1-p2-tcp4-81 p2-81 "$P1" tcp4 10.90.0.3 81
probe open-p1-p3-udp6-80 p3-80 "$P1" udp6 fd00:90::4 80
probes_check

# --- r1 ---------------------------------------------------------------------------------
check "replace-r1" pt replace "$R/r1.json"
check_eq "stamp-r1" '{"exists":true,"stamp":"r1"}' "$(pt stamp)"
readback "readback-r1" "$R/r1.json"
# P1 -> P2: port 80 TCP and UDP allowed, 81 not (P1 is outside the ipBlock)
probe r1-p1-p2-tcp4-80 p2-80 "$P1" tcp4 10.90.0.3 80
probe r1-p1-p2-tcp6-80 p2-80 "$P1" tcp6 fd00:90::3 80
probe r1-p1-p2-udp4-80 p2-80 "$P1" udp4 10.90.0.3 80
probe r1-p1-p2-udp6-80 p2-80 "$P1" udp6 fd00:90::3 80
probe r1-p1-p2-tcp4-81-dropped "" "$P1" tcp4 10.90.0.3 81
probe r1-p1-p2-udp4-81-dropped "" "$P1" udp4 10.90.0.3 81
probe r1-p3-p2-tcp4-80-dropped "" "$P3" tcp4 10.90.0.3 80 10.90.0.4
# the ipBlock .10-.19 on TCP 81-82: both edges of both ranges, and just outside each
probe r1-edge4-first-addr-first-port p2-81 "$P3" tcp4 10.90.0.3 81 10.90.0.10
probe r1-edge4-last-addr-last-port p2-82 "$P3" tcp4 10.90.0.3 82 10.90.0.19
probe r1-edge4-addr-below-dropped "" "$P3" tcp4 10.90.0.3 81 10.90.0.9
probe r1-edge4-addr-above-dropped "" "$P3" tcp4 10.90.0.3 82 10.90.0.20
probe r1-edge4-port-below-dropped "" "$P3" tcp4 10.90.0.3 80 10.90.0.10
probe r1-edge4-port-above-dropped "" "$P3" tcp4 10.90.0.3 83 10.90.0.19
probe r1-edge4-udp-dropped "" "$P3" udp4 10.90.0.3 81 10.90.0.10
probe r1-edge6-first-addr-first-port p2-81 "$P3" tcp6 fd00:90::3 81 fd00:90::10
probe r1-edge6-last-addr-last-port p2-82 "$P3" tcp6 fd00:90::3 82 fd00:90::19
probe r1-edge6-addr-below-dropped "" "$P3" tcp6 fd00:90::3 81 fd00:90::9
probe r1-edge6-addr-above-dropped "" "$P3" tcp6 fd00:90::3 82 fd00:90::20
probe r1-edge6-port-above-dropped "" "$P3" tcp6 fd00:90::3 83 fd00:90::10
# named ports of P3: (address, protocol, port) all match or nothing
probe r1-named-tcp4-80 p3-80 "$P1" tcp4 10.90.0.4 80
probe r1-named-udp4-81 p3-81 "$P1" udp4 10.90.0.4 81
probe r1-named-tcp4-81-dropped "" "$P1" tcp4 10.90.0.4 81
probe r1-named-udp4-80-dropped "" "$P1" udp4 10.90.0.4 80
probe r1-named-tcp6-80 p3-80 "$P1" tcp6 fd00:90::4 80
probe r1-named-udp6-81 p3-81 "$P1" udp6 fd00:90::4 81
probe r1-named-tcp6-81-dropped "" "$P1" tcp6 fd00:90::4 81
probe r1-named-udp6-80-dropped "" "$P1" udp6 fd00:90::4 80
# replies to the isolated P2's own connections come back in
probe r1-reply-tcp4 p1-80 "$P2" tcp4 10.90.0.2 80
probe r1-reply-udp4 p1-80 "$P2" udp4 10.90.0.2 80
probe r1-reply-tcp6 p1-80 "$P2" tcp6 fd00:90::2 80
probe r1-reply-udp6 p1-80 "$P2" udp6 fd00:90::2 80
probes_check

# counters: the allowing rule and the class's drop; the class's policies
c_allow=$(counter_of pi-p1 "x/allow-p1 ingress[0]")
c_drop=$(counter_of ci-a "drop: x/blocks,x/allow-p1")
check "counter-allow-counted" test "$c_allow" -gt 0
check "counter-drop-counted" test "$c_drop" -gt 0
check_eq "counters-rows" "pi-blk pi-blk pi-nam pi-nam pi-p1 pi-p1 ci-a ci-b" \
	"$(pt counters | jq -r '[.[].chain] | join(" ")')"
check_eq "class-policies" "x/blocks,x/allow-p1" "$(pt class ci-a)"
# the drop log: NFLOG group 2718, prefix the class chain's name
pt nflog 2718 10000 >"$T_TMP/nflog" &
NFLOG=$!
for _ in $(seq 1 100); do
	[ -s "$T_TMP/nflog" ] && break
	sleep 0.1
done
for _ in 1 2 3 4 5 6 7 8 9 10; do
	ip netns exec "$P1" socat -u - UDP4:10.90.0.3:81 <<<x 2>/dev/null
	sleep 0.3
	kill -0 $NFLOG 2>/dev/null || break
done
wait $NFLOG
check_eq "nflog-prefix" "ready ci-a" "$(paste -sd ' ' "$T_TMP/nflog")"

# --- The hook: with br_netfilter's sysctl off, bridged IPv4 bypasses the table ----------
ip netns exec "$N" sysctl -qw net.bridge.bridge-nf-call-iptables=0
probe hook-off-bypasses p2-81 "$P1" tcp4 10.90.0.3 81
probes_check
ip netns exec "$N" sysctl -qw net.bridge.bridge-nf-call-iptables=1

# --- diff r1 -> r2 ----------------------------------------------------------------------
c_allow=$(counter_of pi-p1 "x/allow-p1 ingress[0]")
c_drop=$(counter_of ci-a "drop: x/blocks,x/allow-p1")
check "diff-r1-r2" pt diff "$R/r1.json" "$R/r2.json"
readback "readback-r2" "$R/r2.json"
check_eq "stamp-r2" '{"exists":true,"stamp":"r2"}' "$(pt stamp)"
# unchanged chains keep their counters (a refilled chain would start again from 0; a stray
# packet may add one)
check "diff-keeps-allow-counter" test "$(counter_of pi-p1 "x/allow-p1 ingress[0]")" -ge "$c_allow"
check "diff-keeps-drop-counter" test "$(counter_of ci-a "drop: x/blocks,x/allow-p1")" -ge "$c_drop"
check "diff-r1-r2-again" pt diff "$R/r1.json" "$R/r2.json"
readback "readback-r2-again" "$R/r2.json"
check "diff-r2-r2-nothing" pt diff "$R/r2.json" "$R/r2.json"
probe r2-p1-p2-tcp4-80 p2-80 "$P1" tcp4 10.90.0.3 80
probe r2-p1-p2-udp6-80 p2-80 "$P1" udp6 fd00:90::3 80
probe r2-p1-egress-p3-tcp4-dropped "" "$P1" tcp4 10.90.0.4 80
probe r2-p1-egress-p3-tcp6-dropped "" "$P1" tcp6 fd00:90::4 80
probe r2-range-now-83 p2-83 "$P3" tcp4 10.90.0.3 83 10.90.0.19
probe r2-range-now-83-v6 p2-83 "$P3" tcp6 fd00:90::3 83 fd00:90::10
probe r2-named-udp-gone "" "$P2" udp4 10.90.0.4 81
probe r2-named-tcp-kept p3-80 "$P2" tcp4 10.90.0.4 80
probes_check
# neighbour discovery passes the maps only as valid ND does, with hop limit 255: the
# egress-isolated P1 cannot send a redirect (type 137) with another hop limit to P3
cat >"$T_TMP/nd.py" <<'EOF'
import select, socket, sys, time

s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
if sys.argv[1] == "send":  # send DST HOPS: three redirects (the kernel fills the checksum)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, int(sys.argv[3]))
    dst = socket.inet_pton(socket.AF_INET6, sys.argv[2])
    for _ in range(3):
        s.sendto(bytes([137, 0, 0, 0, 0, 0, 0, 0]) + dst + dst, (sys.argv[2], 0))
        time.sleep(0.2)
    sys.exit(0)
# recv SRC SECONDS READY: "got" once a redirect from SRC arrives, else "none"
open(sys.argv[4], "w").close()
end = time.time() + float(sys.argv[3])
while time.time() < end:
    if select.select([s], [], [], max(0, end - time.time()))[0]:
        data, addr = s.recvfrom(2048)
        if addr[0] == sys.argv[2] and data[0] == 137:
            print("got")
            sys.exit(0)
print("none")
EOF
nd_probe() { # HOPS: what P3 receives of P1's redirects with that hop limit
	rm -f "$T_TMP/nd.ready"
	ip netns exec "$P3" python3 "$T_TMP/nd.py" recv fd00:90::2 3 "$T_TMP/nd.ready" \
		>"$T_TMP/nd.out" &
	local rx=$!
	for _ in $(seq 1 50); do
		[ -e "$T_TMP/nd.ready" ] && break
		sleep 0.1
	done
	ip netns exec "$P1" python3 "$T_TMP/nd.py" send fd00:90::4 "$1"
	wait $rx
	cat "$T_TMP/nd.out"
}
check_eq "r2-nd-hoplimit-255-passes" "got" "$(nd_probe 255)"
check_eq "r2-nd-hoplimit-64-dropped" "none" "$(nd_probe 64)"
check "diff-r2-r1" pt diff "$R/r2.json" "$R/r1.json"
readback "readback-r1-back" "$R/r1.json"
probe back-p1-p3-tcp4 p3-80 "$P1" tcp4 10.90.0.4 80
probe back-range-83-dropped "" "$P3" tcp4 10.90.0.3 83 10.90.0.19
probes_check

# --- without drop logs (log_rate 0): no limit+log rule ------------------------------------
check "replace-no-log" pt -r 0 replace "$R/r1.json"
readback "readback-no-log" "$R/r1.json" 0
check "replace-log-again" pt replace "$R/r1.json"

# --- replace is atomic: a bad ruleset leaves the old one whole --------------------------
before=$(nftn list table inet sluice_policy)
check_fail "replace-bad-refused" pt replace "$R/bad.json"
check_eq "replace-bad-left-old" "$before" "$(nftn list table inet sluice_policy)"
check_eq "replace-bad-stamp" '{"exists":true,"stamp":"r1"}' "$(pt stamp)"
check_fail "diff-bad-refused" pt diff "$R/r1.json" "$R/bad.json"
check_eq "diff-bad-left-old" "$before" "$(nftn list table inet sluice_policy)"

# --- fragments ------------------------------------------------------------------------
check "frag-del-absent" pt frag-del "$R/frag.json"
check_eq "check-before-add" "policy chain ci-new missing from table inet sluice_policy" \
	"$(pt check "$R/frag.json")"
check "frag-add" pt frag-add "$R/frag.json"
check "frag-add-twice" pt frag-add "$R/frag.json"
check "frag-check" pt check "$R/frag.json"
jq '.sets[2].elems = ["10.90.0.2 ci-b"]' "$R/frag.json" >"$R/frag-other-class.json"
check_eq "check-other-class" "element 10.90.0.2 : goto ci-b missing from policy set ing4" \
	"$(pt check "$R/frag-other-class.json")"
jq '.sets[0].name = "nosuch"' "$R/frag.json" >"$R/frag-no-set.json"
check_eq "check-no-set" "policy set nosuch missing from table inet sluice_policy" \
	"$(pt check "$R/frag-no-set.json")"
check_eq "frag-class-rules" "3" "$(nftn -j list chain inet sluice_policy ci-new |
	jq '[.nftables[] | .rule // empty] | length')"
probe frag-peer-allowed p2-80 "$P3" tcp4 10.90.0.3 80 10.90.0.9
probe frag-peer-allowed-v6 p2-80 "$P3" tcp6 fd00:90::3 80 fd00:90::9
probe frag-p1-isolated "" "$P2" tcp4 10.90.0.2 80
probes_check
check "frag-del" pt frag-del "$R/frag.json"
check "frag-del-twice" pt frag-del "$R/frag.json"
check_eq "check-after-del" "element 10.90.0.9 missing from policy set a4" \
	"$(pt check "$R/frag.json")"
check "frag-del-keeps-class" nftn list chain inet sluice_policy ci-new
jq '.cchains += [{"name": "ci-new", "dir": "in", "targets": ["pi-nam"]}]' "$R/r1.json" \
	>"$R/r1-new.json"
readback "readback-after-frags" "$R/r1-new.json"
probe frag-gone-peer-dropped "" "$P3" tcp4 10.90.0.3 80 10.90.0.9
probe frag-gone-p1-open p1-80 "$P2" tcp4 10.90.0.2 80
probes_check

# --- scrub: P2's address leaves every set and map -----------------------------------------
check "scrub" pt scrub 10.90.0.3
check "scrub6" pt scrub fd00:90::3
check "scrub-twice" pt scrub 10.90.0.3
check_eq "scrub-none-left" "0" "$(nftn -j list table inet sluice_policy |
	grep -o '10\.90\.0\.3"\|fd00:90::3"' | wc -l)"
check_eq "scrub-others-kept" "2" "$(nftn -j list set inet sluice_policy n4 |
	jq '[.nftables[] | .set // empty | .elem[]] | length')"
probe scrub-p2-open p2-81 "$P1" tcp4 10.90.0.3 81
probes_check

# --- the policy lock --------------------------------------------------------------------
L=$T_TMP/run/sluice
check_eq "lock-free" "locked" "$("$PNFT" lock "$L" 0)"
check_eq "lock-file-mode" "600" "$(stat -c %a "$L/policy.lock")"
"$PNFT" lock "$L" 1000 3000 >"$T_TMP/holder" &
HOLDER=$!
for _ in $(seq 1 50); do
	[ -s "$T_TMP/holder" ] && break
	sleep 0.1
done
t0=$(date +%s%N)
out=$("$PNFT" lock "$L" 300)
rc=$?
t1=$(date +%s%N)
check_eq "lock-timeout" "1 policy lock: $L/policy.lock still held after 300 ms" "$rc $out"
check "lock-timeout-bounded" test $(((t1 - t0) / 1000000)) -lt 2000
check_eq "lock-waits" "locked" "$("$PNFT" lock "$L" 10000)"
wait $HOLDER
