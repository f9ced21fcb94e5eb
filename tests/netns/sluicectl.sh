#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# sluicectl: the global flags (--store, --prefix, -o in all their forms, SLUICE_STORE and
# --store over it), help and version, the exit statuses and exact messages of every refusal,
# every verb's --help, and the store verbs and status in both output forms against a dir://
# store, then against a real etcd started here (on 127.0.0.1 of this test's own netns) when
# this sluicectl has the etcd backend.
set -u
# Host safety: sluicectl's defaults are host paths (dir:///var/lib/sluice/store,
# /run/sluice/subnet.env, /etc/cni/net.d/10-sluice.conflist), so a flag that is not parsed
# would write to this host. Run in a mount namespace of our own (tests/run.sh gives one;
# run directly, this re-executes itself in one) in which each of those three directories is
# a tmpfs: one that exists is mounted over; one that does not is made inside an overlay of
# its nearest existing ancestor whose upper layer is a tmpfs, so nothing is created on the
# host's filesystem and what the ancestor holds stays visible (mounts below it do not: the
# overlay shows its directory, not what is mounted there; these tests need none of them).
# Comparing namespaces with PID 1's cannot tell (a container's shell may already have
# namespaces of its own that are shared with the host's), so it always re-executes once.
if [ -z "${SLUICE_TEST_UNSHARED:-}" ]; then
	SLUICE_TEST_UNSHARED=1 exec unshare -n -m --propagation private bash "$0" "$@"
fi
unset SLUICE_STORE SLUICE_PREFIX
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

safe_defaults

CTL=$BIN/sluicectl
OUT=$T_TMP/out
ERR=$T_TMP/err

# ctl STATUS NAME [ARGS...]: runs sluicectl ARGS (stdout in $OUT, stderr in $ERR) and checks
# its exit status; the caller checks the output
ctl() {
	local want=$1 name=$2 rc=0
	shift 2
	"$CTL" "$@" >"$OUT" 2>"$ERR" </dev/null || rc=$?
	if [ "$rc" = "$want" ]; then
		pass "$name"
	else
		fail "$name" "sluicectl $*: exit status $rc, expected $want" "stdout: $(head -c 600 "$OUT")" \
			"stderr: $(head -c 600 "$ERR")"
	fi
}

# ctl_usage NAME ARGS...: status 2, and the usage refusal's two lines exactly (the first
# one given as $MSG, the hint as $HINT)
usage_is() { # NAME FIRST_LINE HINT
	check_eq "$1" "$2"$'\n'"$3" "$(cat "$ERR")"
}

# ---- global behaviour (no store needed) ----
ctl 2 no-verb
check "no-verb-usage" grep -q '^Usage: sluicectl ' "$ERR"
check_eq no-verb-stdout-empty "" "$(cat "$OUT")"

for h in --help -h help; do
	ctl 0 "help$h" $h
	check "help$h-usage" grep -q '^Usage: sluicectl \[--store URL\]' "$OUT"
	check "help$h-lists-store" grep -qE '^  store +raw keys' "$OUT"
	check "help$h-lists-status" grep -qE '^  status +the store' "$OUT"
done
ctl 0 version --version
check "version-line" grep -qE '^sluicectl [0-9]+\.[0-9]+\.[0-9]+$' "$OUT"

ctl 2 unknown-verb frobnicate
usage_is unknown-verb-msg "sluicectl: unknown verb 'frobnicate'" "Try 'sluicectl --help'."
ctl 2 help-unknown-verb help frobnicate
usage_is help-unknown-verb-msg "sluicectl: unknown verb 'frobnicate'" "Try 'sluicectl --help'."
ctl 2 bad-output -o yaml status
usage_is bad-output-msg "sluicectl: -o: unknown output form 'yaml' (table or json)" \
	"Try 'sluicectl --help'."
ctl 2 bad-output-long --output=xml status
usage_is bad-output-long-msg "sluicectl: -o: unknown output form 'xml' (table or json)" \
	"Try 'sluicectl --help'."
ctl 2 output-no-value status -o
usage_is output-no-value-msg "sluicectl: -o needs table or json" "Try 'sluicectl --help'."
ctl 2 store-no-value --store
usage_is store-no-value-msg "sluicectl: --store needs a URL" "Try 'sluicectl --help'."
ctl 2 prefix-relative --prefix sluice status
usage_is prefix-relative-msg "sluicectl: --prefix must start with '/': 'sluice'" \
	"Try 'sluicectl --help'."

# every verb --help says "Usage:" (the verbs are read from the global help: all of them)
verbs=$("$CTL" --help | sed -n '/^Verbs:/,/^$/{s/^  \([a-z-]*\) .*/\1/p}')
check "verbs-listed" test -n "$verbs"
for v in $verbs; do
	ctl 0 "help-$v" "$v" --help
	check "help-$v-usage" grep -q 'Usage:' "$OUT"
	ctl 0 "help-verb-$v" help "$v"
	check "help-verb-$v-usage" grep -q 'Usage:' "$OUT"
done
for s in get put del list watch compact; do
	ctl 0 "help-store-$s" store "$s" --help
	check "help-store-$s-usage" grep -q '^Usage: sluicectl \[GLOBAL FLAGS\] store' "$OUT"
done

# bad store URLs: exit 1 with the store's own message
ctl 1 bad-url-scheme --store foo://bar status
check_eq bad-url-scheme-msg "sluicectl: store URL must start with dir://, etcd:// or etcds://" \
	"$(cat "$ERR")"
ctl 1 bad-url-relative --store dir://relative/path status
check_eq bad-url-relative-msg \
	"sluicectl: store URL dir://PATH needs an absolute PATH (dir:///var/lib/sluice/store)" \
	"$(cat "$ERR")"
SLUICE_STORE=foo://env ctl 1 bad-url-env status
check_eq bad-url-env-msg "sluicectl: store URL must start with dir://, etcd:// or etcds://" \
	"$(cat "$ERR")"

# usage refusals of the store verbs (before any store is opened: an unreachable URL works)
NOSTORE=foo://never-opened
ctl 2 store-no-subverb --store $NOSTORE store
usage_is store-no-subverb-msg \
	"sluicectl store: needs a sub-verb: get, put, del, list, watch, compact" \
	"Try 'sluicectl store --help'."
ctl 2 store-bad-subverb --store $NOSTORE store frob
usage_is store-bad-subverb-msg \
	"sluicectl store: unknown sub-verb 'frob' (get, put, del, list, watch, compact)" \
	"Try 'sluicectl store --help'."
ctl 2 get-no-key --store $NOSTORE store get
usage_is get-no-key-msg "sluicectl store get: needs one KEY" "Try 'sluicectl store get --help'."
ctl 2 get-two-keys --store $NOSTORE store get /a /b
usage_is get-two-keys-msg "sluicectl store get: needs one KEY" \
	"Try 'sluicectl store get --help'."
ctl 2 get-bad-flag --store $NOSTORE store get --frob /a
usage_is get-bad-flag-msg "sluicectl store get: unknown flag '--frob'" \
	"Try 'sluicectl store get --help'."
ctl 2 put-no-value --store $NOSTORE store put /a
usage_is put-no-value-msg "sluicectl store put: needs KEY and VALUE (or -f FILE)" \
	"Try 'sluicectl store put --help'."
ctl 2 put-file-and-value --store $NOSTORE store put /a v -f /dev/null
usage_is put-file-and-value-msg "sluicectl store put: needs KEY and -f FILE, no VALUE" \
	"Try 'sluicectl store put --help'."
ctl 2 put-absent-and-rev --store $NOSTORE store put /a v --if-absent --if-rev 3
usage_is put-absent-and-rev-msg "sluicectl store put: --if-absent and --if-rev exclude each other" \
	"Try 'sluicectl store put --help'."
ctl 2 put-ttl-zero --store $NOSTORE store put /a v --ttl 0
usage_is put-ttl-zero-msg "sluicectl store put: --ttl needs a whole number >= 1, got '0'" \
	"Try 'sluicectl store put --help'."
ctl 2 put-ttl-word --store $NOSTORE store put /a v --ttl=ten
usage_is put-ttl-word-msg "sluicectl store put: --ttl needs a whole number >= 1, got 'ten'" \
	"Try 'sluicectl store put --help'."
ctl 2 put-rev-missing --store $NOSTORE store put /a v --if-rev
usage_is put-rev-missing-msg "sluicectl store put: '--if-rev' needs a value" \
	"Try 'sluicectl store put --help'."
ctl 2 del-no-key --store $NOSTORE store del
usage_is del-no-key-msg "sluicectl store del: needs one KEY" "Try 'sluicectl store del --help'."
ctl 2 list-no-prefix --store $NOSTORE store list
usage_is list-no-prefix-msg "sluicectl store list: needs one PREFIX" \
	"Try 'sluicectl store list --help'."
ctl 2 list-bad-limit --store $NOSTORE store list /a --limit -3
usage_is list-bad-limit-msg "sluicectl store list: --limit needs a whole number >= 1, got '-3'" \
	"Try 'sluicectl store list --help'."
ctl 2 watch-no-prefix --store $NOSTORE store watch
usage_is watch-no-prefix-msg "sluicectl store watch: needs one PREFIX" \
	"Try 'sluicectl store watch --help'."
ctl 2 watch-bad-count --store $NOSTORE store watch /a --count x
usage_is watch-bad-count-msg "sluicectl store watch: --count needs a whole number >= 1, got 'x'" \
	"Try 'sluicectl store watch --help'."
ctl 2 compact-bad-rev --store $NOSTORE store compact 1x
usage_is compact-bad-rev-msg "sluicectl store compact: REV must be a whole number >= 1, got '1x'" \
	"Try 'sluicectl store compact --help'."
ctl 2 status-extra --store $NOSTORE status now
usage_is status-extra-msg "sluicectl status: takes no arguments, got 'now'" \
	"Try 'sluicectl status --help'."

# every other usage refusal: status 2, its message and the hint of its verb, exactly. NAME,
# then the arguments (split on blanks), the message and the verb of the hint, '|' between
while IFS='|' read -r name args msg hint; do
	# shellcheck disable=SC2086 # the arguments are words
	ctl 2 "$name" --store $NOSTORE $args
	usage_is "$name-msg" "$msg" "Try 'sluicectl $hint --help'."
done <<'EOF'
config-no-subverb|config|sluicectl config: needs a subverb: set or get|config
config-get-extra|config get x|sluicectl config get: takes no arguments, got 'x'|config get
config-set-bad-flag|config set --frob|sluicectl config set: unknown flag '--frob'|config set
config-set-extra|config set -f /dev/null extra|sluicectl config set: unexpected argument 'extra'|config set
node-no-subverb|node|sluicectl node: needs a subverb: up or down|node
objget-no-kind|get|sluicectl get: needs a KIND (namespace, pod, networkpolicy)|get
objget-too-many|get pods a b|sluicectl get: takes one KIND and at most one NAME or NS/NAME|get
objget-bad-n|get pods -n X_|sluicectl get: -n: invalid namespace 'X_': a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name', or '123-abc')|get
objget-n-no-value|get pods -n|sluicectl get: '-n' needs a namespace|get
objget-ns-twice|get pods -n x x/a|sluicectl get: give the namespace once: NS/NAME or -n NS NAME|get
objget-bad-ns-name|get pods /a|sluicectl get: invalid NS/NAME '/a'|get
objget-two-slashes|get pods a/b/c|sluicectl get: invalid name 'b/c': more than one '/'|get
objdel-bad-kind|delete frob x|sluicectl delete: unknown kind 'frob' (namespace, pod, networkpolicy)|delete
objdel-no-name|delete pod|sluicectl delete: needs a NAME or NS/NAME after the kind|delete
objdel-bad-n|delete pod x -n X_|sluicectl delete: -n: invalid namespace 'X_': a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name', or '123-abc')|delete
objdel-bad-name|delete pod x/Y|sluicectl delete: invalid name 'Y': a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com')|delete
apply-bad-flag|apply --frob|sluicectl apply: unknown flag '--frob'|apply
apply-extra|apply -f /dev/null extra|sluicectl apply: unexpected argument 'extra'|apply
apply-f-no-value|apply -f|sluicectl apply: '-f' needs a value|apply
compact-no-rev|store compact|sluicectl store compact: needs one REV|store compact
compact-bad-flag|store compact --frob 3|sluicectl store compact: unknown flag '--frob'|store compact
del-bad-flag|store del --frob /a|sluicectl store del: unknown flag '--frob'|store del
del-rev-missing|store del /a --if-rev|sluicectl store del: '--if-rev' needs a value|store del
list-bad-flag|store list --frob /a|sluicectl store list: unknown flag '--frob'|store list
list-limit-missing|store list /a --limit|sluicectl store list: '--limit' needs a value|store list
watch-bad-flag|store watch --frob /a|sluicectl store watch: unknown flag '--frob'|store watch
watch-rev-missing|store watch /a --rev|sluicectl store watch: '--rev' needs a value|store watch
EOF
ctl 2 prefix-root --prefix / status
usage_is prefix-root-msg "sluicectl: --prefix must name a key below '/': '/'" "Try 'sluicectl --help'."
ctl 2 prefix-root-slashes --prefix /// status
usage_is prefix-root-slashes-msg "sluicectl: --prefix must name a key below '/': '///'" \
	"Try 'sluicectl --help'."

# errors (status 1): an input over 16 MiB, a prefix that leaves no room for a key
head -c $((16 * 1024 * 1024 + 1)) /dev/zero >"$T_TMP/big"
ctl 1 input-too-big --store "dir://$T_TMP/unused" apply -f "$T_TMP/big"
check_eq input-too-big-msg "sluicectl: $T_TMP/big: larger than 16 MiB" "$(cat "$ERR")"
ctl 1 config-too-big --store "dir://$T_TMP/unused" config set -f "$T_TMP/big"
check_eq config-too-big-msg "sluicectl: $T_TMP/big: larger than 16 MiB" "$(cat "$ERR")"
rm -f "$T_TMP/big"
LONG=/$(head -c 1100 /dev/zero | tr '\0' p)
ctl 1 prefix-too-long --store "dir://$T_TMP/unused" --prefix "$LONG" get pods
check_eq prefix-too-long-msg "sluicectl: prefix too long" "$(cat "$ERR")"

# store_suite TAG URL: every store verb in both output forms, and status, against URL
store_suite() {
	local t=$1 S=$2 r1 r2 r3 rev start ttl secret=s3cr3t-value-$$
	local P=/t$$/$t

	# put, both forms
	ctl 0 "$t-put" --store "$S" store put "$P/k1" v1
	check "$t-put-out" grep -qE '^OK revision [0-9]+$' "$OUT"
	r1=$(sed -n 's/^OK revision //p' "$OUT")
	ctl 0 "$t-put-json" --store="$S" -o json store put "$P/k2" '{"a": 1}'
	check_eq "$t-put-json-key" "$P/k2" "$(jq -r .key "$OUT")"
	r2=$(jq -r .revision "$OUT")
	check "$t-put-json-rev-grows" test "$r2" -gt "$r1"

	# get, table: header and one aligned row
	ctl 0 "$t-get" --store "$S" store get "$P/k1"
	check_eq "$t-get-lines" 2 "$(wc -l <"$OUT")"
	check "$t-get-header" grep -qE '^KEY +REV +VERSION +TTL +VALUE$' "$OUT"
	check_eq "$t-get-row" "$P/k1 $r1 1 - v1" "$(sed -n 2p "$OUT" | tr -s ' ')"
	check_eq "$t-get-aligned" 1 "$(awk 'NR == 1 {h = index($0, "REV")}
		NR == 2 {s = $0; sub(/^[^ ]+ +/, "", s); print (h == length($0) - length(s) + 1)}' "$OUT")"
	# get, json (flags after the verb, -ojson and --output json forms)
	for o in "-o json" "-ojson" "--output json" "--output=json"; do
		# shellcheck disable=SC2086
		ctl 0 "$t-get-json${o// /}" --store "$S" store get "$P/k2" $o
		check_eq "$t-get-json${o// /}-obj" \
			"$P/k2|{\"a\": 1}|$r2|$r2|1|-1" \
			"$(jq -r '[.key, .value, .create_revision, .mod_revision, .version, .ttl] |
				join("|")' "$OUT")"
	done
	ctl 0 "$t-get-value-only" --store "$S" store get "$P/k2" --value-only
	check_eq "$t-get-value-only-out" '{"a": 1}' "$(cat "$OUT")"
	ctl 1 "$t-get-bad-key" --store "$S" store get relative/key
	check "$t-get-bad-key-msg" grep -q '^sluicectl: .*key' "$ERR"
	ctl 1 "$t-put-empty-key" --store "$S" store put "" v
	check "$t-put-empty-key-msg" grep -q '^sluicectl: .*key' "$ERR"
	ctl 1 "$t-get-absent" --store "$S" store get "$P/nope"
	check_eq "$t-get-absent-msg" "sluicectl: key not found: $P/nope" "$(cat "$ERR")"

	# put from a file and from stdin; a long value is cut in the table, whole in json
	head -c 300 /dev/zero | tr '\0' 'x' >"$T_TMP/long"
	ctl 0 "$t-put-file" --store "$S" store put "$P/long" -f "$T_TMP/long"
	ctl 0 "$t-get-long" --store "$S" store get "$P/long"
	check_eq "$t-get-long-cut" "$(head -c 57 "$T_TMP/long")..." "$(sed -n 2p "$OUT" | awk '{print $5}')"
	ctl 0 "$t-get-long-json" --store "$S" -o json store get "$P/long"
	check_eq "$t-get-long-json-whole" "$(cat "$T_TMP/long")" "$(jq -r .value "$OUT")"
	if printf 'from\nstdin' | "$CTL" --store "$S" store put "$P/stdin" -f - >/dev/null 2>"$ERR"
	then
		check_eq "$t-put-stdin" "from"$'\n'"stdin" \
			"$("$CTL" --store "$S" -o json store get "$P/stdin" | jq -r .value)"
	else
		fail "$t-put-stdin" "$(cat "$ERR")"
	fi
	ctl 0 "$t-get-ctrl-cell" --store "$S" store get "$P/stdin"
	check_eq "$t-get-ctrl-cell-dot" "from.stdin" "$(sed -n 2p "$OUT" | awk '{print $5}')"
	ctl 1 "$t-put-file-missing" --store "$S" store put "$P/x" -f "$T_TMP/none"
	check_eq "$t-put-file-missing-msg" \
		"sluicectl: cannot open $T_TMP/none: No such file or directory" "$(cat "$ERR")"
	ctl 0 "$t-put-dash-value" --store "$S" store put -- "$P/dash" -x-
	check_eq "$t-put-dash-value-read" "-x-" \
		"$("$CTL" --store "$S" store get "$P/dash" --value-only)"

	# conditional writes: the value never in the message
	ctl 0 "$t-put-secret" --store "$S" store put "$P/sec" "$secret"
	rev=$(sed -n 's/^OK revision //p' "$OUT")
	ctl 1 "$t-put-if-absent-exists" --store "$S" store put "$P/sec" "$secret" --if-absent
	check_eq "$t-put-if-absent-msg" "sluicectl: key exists: $P/sec (mod revision $rev)" \
		"$(cat "$ERR")"
	cat "$ERR" >"$T_TMP/errs"
	ctl 1 "$t-put-if-rev-stale" --store "$S" store put "$P/sec" "$secret-2" --if-rev "$r1"
	check_eq "$t-put-if-rev-msg" \
		"sluicectl: revision mismatch: $P/sec is at mod revision $rev, not $r1" "$(cat "$ERR")"
	cat "$ERR" >>"$T_TMP/errs"
	check_fail "$t-no-secret-in-errors" grep -q "$secret" "$T_TMP/errs"
	ctl 1 "$t-put-if-rev-absent" --store "$S" store put "$P/none" v --if-rev 5
	check_eq "$t-put-if-rev-absent-msg" "sluicectl: revision mismatch: $P/none does not exist" \
		"$(cat "$ERR")"
	ctl 0 "$t-put-if-rev" --store "$S" store put "$P/sec" "$secret-2" --if-rev "$rev"
	ctl 0 "$t-put-if-rev-version" --store "$S" -o json store get "$P/sec"
	check_eq "$t-put-if-rev-version-2" "2 $rev" "$(jq -r '"\(.version) \(.create_revision)"' "$OUT")"
	ctl 0 "$t-put-if-absent-new" --store "$S" store put "$P/new" v --if-absent

	# TTL: shown counting down
	ctl 0 "$t-put-ttl" --store "$S" store put "$P/ttl" v --ttl 100
	ctl 0 "$t-get-ttl" --store "$S" -o json store get "$P/ttl"
	check "$t-get-ttl-range" jq -e '.ttl > 0 and .ttl <= 100' "$OUT"
	# a list reads no etcd lease's time left (TTL "lease", ttl null) unless --ttl asks;
	# dir's is in the key's file
	ctl 0 "$t-list-ttl" --store "$S" store list "$P/ttl"
	ttl=$(awk 'NR == 2 {print $4}' "$OUT")
	if [ "$t" = etcd ]; then
		check_eq "$t-list-ttl-lease" lease "$ttl"
	else
		check "$t-list-ttl-exact" test "$ttl" -gt 0 -a "$ttl" -le 100
	fi
	ctl 0 "$t-list-ttl-json" --store "$S" -o json store list "$P/ttl"
	check "$t-list-ttl-json-value" jq -e --arg t "$t" \
		'.kvs[0].ttl | if $t == "etcd" then . == null else . > 0 and . <= 100 end' "$OUT"
	ctl 0 "$t-list-ttl-flag" --store "$S" store list "$P/ttl" --ttl
	ttl=$(awk 'NR == 2 {print $4}' "$OUT")
	check "$t-list-ttl-flag-exact" test "$ttl" -gt 0 -a "$ttl" -le 100
	ctl 0 "$t-list-ttl-flag-json" --store "$S" -o json store list "$P/ttl" --ttl
	check "$t-list-ttl-flag-json-value" jq -e '.kvs[0].ttl > 0 and .kvs[0].ttl <= 100' "$OUT"

	# del
	ctl 0 "$t-get-k1-rev" --store "$S" -o json store get "$P/k1"
	rev=$(jq -r .mod_revision "$OUT")
	ctl 1 "$t-del-if-rev-stale" --store "$S" store del "$P/k1" --if-rev $((rev + 1000))
	check_eq "$t-del-if-rev-msg" \
		"sluicectl: revision mismatch: $P/k1 is at mod revision $rev, not $((rev + 1000))" \
		"$(cat "$ERR")"
	ctl 0 "$t-del-if-rev" --store "$S" store del "$P/k1" --if-rev "$rev"
	check "$t-del-if-rev-out" grep -qE '^deleted, revision [0-9]+$' "$OUT"
	ctl 1 "$t-del-gone" --store "$S" store get "$P/k1"
	ctl 0 "$t-del-absent" --store "$S" store del "$P/k1"
	check_eq "$t-del-absent-out" "not found, nothing deleted" "$(cat "$OUT")"
	ctl 0 "$t-del-json" --store "$S" -o json store del "$P/new"
	# shellcheck disable=SC2016 # jq's $k
	check "$t-del-json-obj" jq -e --arg k "$P/new" '.key == $k and .deleted == 1 and .revision > 0' \
		"$OUT"
	ctl 1 "$t-del-if-rev-absent" --store "$S" store del "$P/new" --if-rev 3
	check_eq "$t-del-if-rev-absent-msg" "sluicectl: revision mismatch: $P/new does not exist" \
		"$(cat "$ERR")"

	# list: byte order, both forms, --keys-only, --limit
	for k in b a c; do
		"$CTL" --store "$S" store put "$P/l/$k" "$k$k" >/dev/null
	done
	ctl 0 "$t-list" --store "$S" store list "$P/l/"
	check_eq "$t-list-rows" "KEY REV VERSION TTL VALUE|$P/l/a|$P/l/b|$P/l/c" \
		"$(awk 'NR == 1 {h = $0; gsub(/ +/, " ", h); printf "%s", h} NR > 1 {printf "|%s", $1}' "$OUT")"
	ctl 0 "$t-list-keys-only" --store "$S" store list "$P/l/" --keys-only
	check_eq "$t-list-keys-only-out" "$P/l/a $P/l/b $P/l/c" "$(paste -sd ' ' "$OUT")"
	ctl 0 "$t-list-json" --store "$S" -o json store list "$P/l/"
	check_eq "$t-list-json-kvs" "aa bb cc false" \
		"$(jq -r '[.kvs[].value] + [.more | tostring] | join(" ")' "$OUT")"
	check "$t-list-json-rev" jq -e '.revision >= ([.kvs[].mod_revision] | max)' "$OUT"
	ctl 0 "$t-list-limit" --store "$S" -o json store list "$P/l/" --limit 2
	check_eq "$t-list-limit-json" "$P/l/a $P/l/b true" \
		"$(jq -r '[.kvs[].key] + [.more | tostring] | join(" ")' "$OUT")"
	ctl 0 "$t-list-limit-table" --store "$S" store list "$P/l/" --limit 1
	check_eq "$t-list-limit-table-rows" 2 "$(wc -l <"$OUT")"
	check_eq "$t-list-limit-note" "sluicectl: more keys past --limit 1" "$(cat "$ERR")"
	ctl 0 "$t-list-keys-json" --store "$S" -o json store list "$P/l/" --keys-only
	check_eq "$t-list-keys-json-obj" '{"key":"'"$P"'/l/a"}' "$(jq -c '.kvs[0]' "$OUT")"
	ctl 0 "$t-list-empty" --store "$S" store list "$P/empty/"
	check_eq "$t-list-empty-header" 1 "$(wc -l <"$OUT")"

	# watch: history from a revision, both forms
	ctl 0 "$t-w-put1" --store "$S" store put "$P/w/x" 1
	r1=$(sed -n 's/^OK revision //p' "$OUT")
	"$CTL" --store "$S" store put "$P/w/x" 2 >/dev/null
	"$CTL" --store "$S" store put "$P/other" 0 >/dev/null
	"$CTL" --store "$S" store del "$P/w/x" >/dev/null
	start=$SECONDS
	ctl 0 "$t-watch-history" --store "$S" store watch "$P/w/" --rev "$r1" --count 3 --timeout 20
	# it ends at the third event, not at the timeout
	check "$t-watch-history-prompt" test $((SECONDS - start)) -lt 15
	r2=$((r1 + 1))
	r3=$((r1 + 3))
	check_eq "$t-watch-history-lines" \
		"PUT $P/w/x $r1 1|PUT $P/w/x $r2 2|DELETE $P/w/x $r3" "$(paste -sd '|' "$OUT")"
	ctl 0 "$t-watch-history-json" --store "$S" -o json store watch "$P/w/" --rev "$r1" \
		--count 3 --timeout 20
	check_eq "$t-watch-history-json-lines" \
		"PUT $P/w/x $r1 1 1|PUT $P/w/x $r2 2 2|DELETE $P/w/x $r3 null null" \
		"$(jq -r '"\(.type) \(.key) \(.mod_revision) \(.value) \(.version)"' "$OUT" | paste -sd '|')"
	check "$t-watch-json-one-line-each" test "$(wc -l <"$OUT")" -eq 3
	# live: a watch started first sees a put made after (from the next revision on: no race)
	ctl 0 "$t-w-cur" --store "$S" store put "$P/w2/start" s
	rev=$(sed -n 's/^OK revision //p' "$OUT")
	"$CTL" --store "$S" store watch "$P/w2/" --rev $((rev + 1)) --count 1 --timeout 20 \
		>"$T_TMP/watch.out" 2>"$T_TMP/watch.err" &
	local wpid=$!
	defer "kill $wpid"
	"$CTL" --store "$S" store put "$P/w2/live" hello >/dev/null
	if wait "$wpid"; then
		check_eq "$t-watch-live" "PUT $P/w2/live $((rev + 1)) hello" "$(cat "$T_TMP/watch.out")"
	else
		fail "$t-watch-live" "$(cat "$T_TMP/watch.err")"
	fi
	ctl 1 "$t-watch-timeout-count" --store "$S" store watch "$P/quiet/" --count 1 --timeout 1
	check_eq "$t-watch-timeout-count-msg" "sluicectl: watch timed out after 1 s with 0 of 1 events" \
		"$(cat "$ERR")"
	ctl 0 "$t-watch-timeout" --store "$S" store watch "$P/quiet/" --timeout 1
	check_eq "$t-watch-timeout-quiet" "" "$(cat "$OUT")"

	# compact: a watch from before it fails
	ctl 0 "$t-compact-rev" --store "$S" store put "$P/c" 1
	rev=$(sed -n 's/^OK revision //p' "$OUT")
	ctl 0 "$t-compact" --store "$S" store compact "$rev"
	check_eq "$t-compact-out" "compacted at revision $rev" "$(cat "$OUT")"
	ctl 1 "$t-watch-compacted" --store "$S" store watch "$P/" --rev "$r1" --timeout 10
	check_eq "$t-watch-compacted-msg" \
		"sluicectl: revision $r1 was compacted: list again and watch from its revision + 1" \
		"$(head -1 "$ERR")"
	ctl 0 "$t-compact-json" --store "$S" -o json store compact "$rev"
	check_eq "$t-compact-json-obj" "$rev" "$(jq -r .compacted "$OUT")"

	# status: no config, then a config and two leases under the prefix
	ctl 0 "$t-status-empty" --store "$S" --prefix "$P/net" -o json status
	check_eq "$t-status-empty-json" "true false 0 $P/net" \
		"$(jq -r '"\(.reachable) \(.config) \(.leases) \(.prefix)"' "$OUT")"
	"$CTL" --store "$S" store put "$P/net/config" '{"Network": "10.5.0.0/16"}' >/dev/null
	"$CTL" --store "$S" store put "$P/net/subnets/10.5.1.0-24" '{"PublicIP": "192.0.2.1"}' >/dev/null
	"$CTL" --store "$S" store put "$P/net/subnets/10.5.2.0-24" '{"PublicIP": "192.0.2.2"}' >/dev/null
	"$CTL" --store "$S" store put "$P/netother/subnets/10.6.2.0-24" '{}' >/dev/null
	ctl 0 "$t-status-json" --store "$S" --prefix "$P/net/" -o json status
	rev=$(jq -r .revision "$OUT")
	check_eq "$t-status-json-obj" "true true 2" "$(jq -r '"\(.reachable) \(.config) \(.leases)"' "$OUT")"
	ctl 0 "$t-status-rev" --store "$S" store put "$P/net/x" x
	check_eq "$t-status-rev-current" "OK revision $((rev + 1))" "$(cat "$OUT")"
	ctl 0 "$t-status-table" --store "$S" --prefix "$P/net" status
	check "$t-status-table-header" grep -qE '^STORE +PREFIX +REACHABLE +REVISION +CONFIG +LEASES$' "$OUT"
	check_eq "$t-status-table-row" "$P/net yes $((rev + 1)) present 2" \
		"$(sed -n 2p "$OUT" | awk '{print $2, $3, $4, $5, $6}')"
	SLUICE_PREFIX=$P/net ctl 0 "$t-status-env-prefix" --store "$S" -o json status
	check_eq "$t-status-env-prefix-leases" 2 "$(jq -r .leases "$OUT")"
}

# ---- dir:// ----
D1=dir://$T_TMP/store1
D2=dir://$T_TMP/store2
store_suite dir "$D1"
check_eq dir-store-owner-only 700 "$(stat -c %a "$T_TMP/store1")"

# SLUICE_STORE is the default; --store wins over it
SLUICE_STORE=$D2 ctl 0 env-store-put store put /env/k from-env
check_eq env-store-wrote-there "from-env" "$("$CTL" --store "$D2" store get /env/k --value-only)"
SLUICE_STORE=$D2 ctl 1 env-store-overridden --store "$D1" store get /env/k
check_eq env-store-overridden-msg "sluicectl: key not found: /env/k" "$(cat "$ERR")"
SLUICE_STORE=$D2 ctl 0 env-store-status -o json status
check_eq env-store-status-url "$D2" "$(jq -r .store "$OUT")"

# ---- every table cell escaped: a key or a node's name with a terminal escape, a newline, a
# C1 control or bytes that are not UTF-8 shows them as '.', never sends them
ESC=$'\e'
ctl 0 esc-put --store "$D1" store put "/esc/a${ESC}[2Jb"$'\n'"c" "v${ESC}[31m"
ctl 0 esc-put-bad-utf8 --store "$D1" store put "/esc/d"$'\xff\xc2\x9b'"é" w
ctl 0 esc-list --store "$D1" store list /esc/
check_eq esc-list-keys "KEY|/esc/a.[2Jb.c|/esc/d..é" "$(awk '{print $1}' "$OUT" | paste -sd '|')"
check_eq esc-list-values "VALUE|v.[31m|w" "$(awk '{print $5}' "$OUT" | paste -sd '|')"
check_fail esc-list-no-raw grep -q "$ESC" "$OUT"
# 'é' is one character (two bytes): the columns stay aligned by characters
check_eq esc-list-aligned "$(sed -n 1p "$OUT" | awk '{print index($0, "REV")}')" \
	"$(sed -n 3p "$OUT" | sed 's/é/e/' | awk '{print index($0, $2)}')"
ctl 0 esc-get --store "$D1" store get "/esc/a${ESC}[2Jb"$'\n'"c"
check_eq esc-get-row "/esc/a.[2Jb.c 1 - v.[31m" "$(sed -n 2p "$OUT" | awk '{print $1, $3, $4, $5}')"
ctl 0 esc-watch-rev --store "$D1" -o json store get "/esc/a${ESC}[2Jb"$'\n'"c"
ctl 0 esc-watch --store "$D1" store watch /esc/ --rev "$(jq -r .mod_revision "$OUT")" --count 2 \
	--timeout 20
check_eq esc-watch-keys "/esc/a.[2Jb.c /esc/d..é" "$(awk '{print $2}' "$OUT" | paste -sd ' ')"
check_fail esc-watch-no-raw grep -q "$ESC" "$OUT"
"$CTL" --store "$D1" store put /escnet/subnets/10.5.9.0-24 \
	'{"PublicIP":"192.0.2.9","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"02:00:00:00:00:09"},"NodeName":"n\u001b]0;pwned\u0007x\ny"}' >/dev/null
ctl 0 esc-leases --store "$D1" --prefix /escnet leases
check_eq esc-leases-row "10.5.9.0/24 n.]0;pwned.x.y 192.0.2.9 02:00:00:00:00:09 none" \
	"$(sed -n 2p "$OUT" | tr -s ' ')"
ctl 0 esc-leases-json --store "$D1" --prefix /escnet -o json leases
check_eq esc-leases-json-node $'n\e]0;pwned\ax\ny' "$(jq -r '.[0].node' "$OUT")"

# ---- --prefix /p/ is /p: the same keys for the config and the leases (objects:
# sluicectl-objects.sh)
echo '{"Network":"10.9.0.0/16","Backend":{"Type":"vxlan"}}' >"$T_TMP/pnet.json"
ctl 0 prefix-slash-config --store "$D1" --prefix /pp/ config set -f "$T_TMP/pnet.json"
ctl 0 prefix-slash-config-json --store "$D1" --prefix /pp// -o json config set -f "$T_TMP/pnet.json"
check_eq prefix-slash-config-key /pp/config "$(jq -r .key "$OUT")"
ctl 0 prefix-slash-config-get --store "$D1" --prefix /pp -o json config get
check_eq prefix-slash-config-get-network 10.9.0.0/16 "$(jq -r .Network "$OUT")"
ctl 0 prefix-slash-status --store "$D1" --prefix /pp/ -o json status
check_eq prefix-slash-status-obj "/pp true" "$(jq -r '"\(.prefix) \(.config)"' "$OUT")"

# ---- node up / node down in both forms, leases' TTL and dual-stack SUBNET cells, on an
# underlay in this test's netns: a veth with a default route and an IPv6 address
ip link set lo up
ip link add up0 type veth peer name up0p
ip addr add 192.168.50.2/24 dev up0
ip addr add fd00:50::2/64 dev up0 nodad
ip link set up0 up
ip link set up0p up
ip route add default via 192.168.50.1 dev up0
echo '{"Network":"10.7.0.0/16","EnableIPv6":true,"IPv6Network":"fd00:7::/56","Backend":{"Type":"vxlan"}}' \
	>"$T_TMP/ds.json"
N=(--store "$D1" --prefix /ds/)
NF=(--subnet-file "$T_TMP/n1/subnet.env" --cni-conf-dir "$T_TMP/n1/net.d")
ctl 0 node-config "${N[@]}" config set -f "$T_TMP/ds.json"
ctl 0 node-up "${N[@]}" node up "${NF[@]}" --node-name n1 --ttl 3700
check "node-up-header" grep -qE '^SUBNET +NODE +PUBLIC-IP +VTEP-MAC +TTL$' "$OUT"
check_eq node-up-lines 2 "$(wc -l <"$OUT")"
read -r sn node pub mac ttl <<<"$(sed -n 2p "$OUT")"
check "node-up-dual-stack-subnet" grep -qE '^10\.7\.[0-9]+\.0/24,fd00:7:0:[0-9a-f]+::/64$' <<<"$sn"
check_eq node-up-row "n1 192.168.50.2" "$node $pub"
check "node-up-mac" grep -qE '^([0-9a-f]{2}:){5}[0-9a-f]{2}$' <<<"$mac"
# TTL: hours, then two-digit minutes and seconds, counting down from 3700 s (1h01m40s)
check "node-up-ttl-form" grep -qE '^[0-9]+h[0-5][0-9]m[0-5][0-9]s$' <<<"$ttl"
check "node-up-ttl-value" test "$(awk -F'[hms]' '{print $1 * 3600 + $2 * 60 + $3}' <<<"$ttl")" \
	-gt 3600
ctl 0 node-leases "${N[@]}" leases
check_eq node-leases-row "$sn n1 192.168.50.2 $mac" "$(sed -n 2p "$OUT" | awk '{print $1, $2, $3, $4}')"
check "node-leases-ttl-form" grep -qE '^[0-9]+h[0-5][0-9]m[0-5][0-9]s$' \
	<<<"$(sed -n 2p "$OUT" | awk '{print $5}')"
sn4=${sn%%,*}
sn6=${sn#*,}
ctl 0 node-leases-json --store "$D1" --prefix /ds -o json leases
check_eq node-leases-json-key "/ds/subnets/${sn4%/24}-24&${sn6%/64}-64" "$(jq -r '.[0].key' "$OUT")"
check "node-leases-json-ttl" jq -e '.[0].ttl > 3600 and .[0].ttl <= 3700' "$OUT"
check_eq node-up-files "10-sluice.conflist subnet.env subnet.lease.json" \
	"$(cd "$T_TMP/n1" && find . -type f -printf '%f\n' | sort | paste -sd ' ')"
# a subnet.env elsewhere is named to the overlay
check_eq node-up-overlay-subnet-file "$T_TMP/n1/subnet.env" \
	"$(jq -r '.plugins[] | select(.type == "sluice-vxlan-overlay") | .subnetFile' "$T_TMP/n1/net.d/10-sluice.conflist")"
# down prints the lease it released, as a table; its files go
ctl 0 node-down "${N[@]}" node down "${NF[@]}"
check_eq node-down-out "SUBNET NODE PUBLIC-IP VTEP-MAC|$sn n1 192.168.50.2 $mac" \
	"$(awk '{print $1, $2, $3, $4}' "$OUT" | paste -sd '|')"
check_eq node-down-files "" "$(find "$T_TMP/n1" -type f)"
ctl 0 node-down-released "${N[@]}" -o json leases
check_eq node-down-released-none "[]" "$(jq -c . "$OUT")"
ctl 0 node-down-again "${N[@]}" node down "${NF[@]}"
check_eq node-down-again-out "" "$(cat "$OUT")"
check_eq node-down-again-msg "sluicectl: no lease held by 192.168.50.2 (files removed)" \
	"$(cat "$ERR")"
# -o json: down prints the object up printed
ctl 0 node-up-json "${N[@]}" -o json node up "${NF[@]}" --node-name n1
cp "$OUT" "$T_TMP/up.json"
check "node-up-json-obj" jq -e '.node == "n1" and .publicIP == "192.168.50.2" and
	.publicIPv6 == "fd00:50::2" and .ttl == 86400 and (.ipv6Subnet | test("^fd00:7:"))' \
	"$T_TMP/up.json"
ctl 0 node-down-json "${N[@]}" -o json node down "${NF[@]}"
check_eq node-down-json-same "$(jq -c 'del(.ttl)' "$T_TMP/up.json")" "$(jq -c 'del(.ttl)' "$OUT")"
ctl 0 node-down-json-again "${N[@]}" -o json node down "${NF[@]}"
check_eq node-down-json-again-out "" "$(cat "$OUT")"
# down needs only the public IP: it works after the node lost its default route
ctl 0 node-up-noroute "${N[@]}" node up "${NF[@]}" --node-name n1
cp "$OUT" "$T_TMP/up-noroute.out"
ip route del default via 192.168.50.1 dev up0
ctl 0 node-down-noroute "${N[@]}" node down "${NF[@]}" --public-ip 192.168.50.2
# the lease it released, as up printed it (the TTL column has ticked)
check_eq node-down-noroute-out "$(awk '{print $1, $2, $3, $4}' "$T_TMP/up-noroute.out")" \
	"$(awk '{print $1, $2, $3, $4}' "$OUT")"
ctl 0 node-down-noroute-released "${N[@]}" -o json leases
check_eq node-down-noroute-none "[]" "$(jq -c . "$OUT")"
ip route add default via 192.168.50.1 dev up0

# ---- the defaults, on this test's tmpfs (see the top): the store
# dir:///var/lib/sluice/store, /run/sluice/subnet.env, /etc/cni/net.d/10-sluice.conflist
ctl 0 default-store-put store put /d/k from-default
check default-store-made test -d /var/lib/sluice/store
ctl 0 default-store-read --store dir:///var/lib/sluice/store store get /d/k --value-only
check_eq default-store-read-value from-default "$(cat "$OUT")"
ctl 0 default-store-status -o json status
check_eq default-store-status-url dir:///var/lib/sluice/store "$(jq -r .store "$OUT")"
ctl 0 default-config config set -f "$T_TMP/ds.json"
ctl 0 default-node-up -o json node up --node-name nd
check_eq default-node-up-prefix /sluice/network/subnets/ "$(jq -r .key "$OUT" | cut -c1-24)"
sn=$(jq -r .subnet "$OUT")
check_eq default-subnet-env "FLANNEL_SUBNET=${sn%.0/24}.1/24" \
	"$(grep '^FLANNEL_SUBNET=' /run/sluice/subnet.env)"
# shellcheck disable=SC2016 # jq's $s
check default-conflist jq -e --arg s "$sn" '.plugins[0].ipam.ranges[0][0].subnet == $s' \
	/etc/cni/net.d/10-sluice.conflist
# the default subnet.env: the overlay finds it without being told
check default-conflist-overlay jq -e '.plugins[1] == {type: "sluice-vxlan-overlay"}' \
	/etc/cni/net.d/10-sluice.conflist
ctl 0 default-node-down node down
check_eq default-node-down-files "" "$(find /run/sluice /etc/cni/net.d -type f)"

# ---- etcd:// ----
ctl 1 etcd-unreachable --store etcd://127.0.0.1:1 status
check "etcd-unreachable-msg" grep -q '^sluicectl: ' "$ERR"
if grep -q 'only available' "$ERR"; then
	fail etcd-backend "this sluicectl has no etcd backend: $(cat "$ERR")"
	exit 0
fi
check_eq etcd-unreachable-status-row "etcd://127.0.0.1:1 /sluice/network no - - -" \
	"$(sed -n 2p "$OUT" | tr -s ' ')"
ctl 1 etcd-unreachable-get --store etcd://127.0.0.1:1 store get /a
check "etcd-unreachable-get-msg" grep -q '^sluicectl: ' "$ERR"

ip link set lo up
if ! etcd_up ctl http://127.0.0.1:23791 http://127.0.0.1:23792; then
	fail etcd-start "$(tail -5 "$T_TMP/etcd-ctl.log")"
	exit 0
fi
pass etcd-start
store_suite etcd etcd://127.0.0.1:23791
# what sluicectl wrote, etcdctl reads (the same keys and bytes)
"$CTL" --store etcd://127.0.0.1:23791 store put /x/interop 'v a l' >/dev/null
check_eq etcd-interop-etcdctl "v a l" \
	"$(ETCDCTL_API=3 etcdctl --endpoints 127.0.0.1:23791 get /x/interop --print-value-only)"
ETCDCTL_API=3 etcdctl --endpoints 127.0.0.1:23791 put /x/from-etcdctl w >/dev/null
check_eq etcd-interop-sluicectl "w" \
	"$("$CTL" --store etcd://127.0.0.1:23791 store get /x/from-etcdctl --value-only)"

# status prints an etcds:// URL as given: no secret is in it (user:password@ is refused; the
# TLS files are named by their paths and never read into the output)
: >"$T_TMP/ca.pem"
: >"$T_TMP/c.pem"
: >"$T_TMP/k.pem"
TLSURL="etcds://127.0.0.1:1?cacert=$T_TMP/ca.pem&cert=$T_TMP/c.pem&key=$T_TMP/k.pem"
ctl 1 status-etcds --store "$TLSURL" -o json status
check_eq status-etcds-url "$TLSURL false" "$(jq -r '"\(.store) \(.reachable)"' "$OUT")"
ctl 1 status-userinfo --store etcd://user:pw@127.0.0.1:1 status
check_eq status-userinfo-msg \
	"sluicectl: store URL: user:password@ is not supported (etcds:// with a client certificate authenticates)" \
	"$(cat "$ERR")"
