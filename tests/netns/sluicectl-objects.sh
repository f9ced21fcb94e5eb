#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# sluicectl apply / get / delete of Kubernetes objects on a dir:// store: round trips in both
# output forms, YAML streams, Lists and stdin, kubectl's created/configured/unchanged, an
# invalid item refusing the whole input (the store checked unchanged), every refusal's
# message and exit status, a namespace taking its pods and policies with it.
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
. "$(dirname "$0")/../lib.sh"

safe_defaults

STORE=dir://$T_TMP/store
P=/sluice/network

# ctl ARGS...: runs sluicectl on the test's store; OUT, ERR and RC hold what it did
ctl() {
	OUT=$("$BIN/sluicectl" --store "$STORE" "$@" 2>"$T_TMP/err")
	RC=$?
	ERR=$(cat "$T_TMP/err")
}
# expect NAME RC STDOUT STDERR: the last ctl's outcome, exactly
expect() {
	if [ "$RC" = "$2" ] && [ "$OUT" = "$3" ] && [ "$ERR" = "$4" ]; then
		pass "$1"
	else
		fail "$1" "expected status $2, stdout:" "$3" "stderr:" "$4" \
			"actual status $RC, stdout:" "$OUT" "stderr:" "$ERR"
	fi
}
# keys: the store's keys under the prefix, one line each (the store as it is, not as get
# reads it)
keys() { "$BIN/sluicectl" --store "$STORE" -o json store list "$P/" | jq -r '.kvs[].key'; }

cat >"$T_TMP/objs.yaml" <<'EOF'
# a stream of three documents, the way people write them
apiVersion: v1
kind: Namespace
metadata:
  name: x
  labels:
    team: blue
---
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: x
  labels: {app: web, tier: front, enabled: "true"}
spec:
  containers:
  - name: nginx
    image: nginx
    ports:
    - containerPort: 80
      name: http
    - {containerPort: 53, protocol: UDP}
status:
  podIPs: [{ip: 10.244.1.5}, {ip: "fd00::5"}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-web, namespace: x}
spec:
  podSelector:
    matchLabels: {app: web}
    matchExpressions:
    - {key: tier, operator: In, values: [front, back]}
    - {key: legacy, operator: DoesNotExist}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: "y"}}
      podSelector: {}
    - ipBlock: {cidr: 10.0.0.0/8, except: [10.9.0.0/16]}
    ports: [{port: http}, {port: 8000, endPort: 8080}]
  egress: [{}]
EOF

ctl apply -f "$T_TMP/objs.yaml"
expect apply-created 0 "namespace/x created
pod/web created
networkpolicy.networking.k8s.io/allow-web created" ""
check_eq keys-written "$P/namespaces/x
$P/pods/x/web
$P/policies/x/allow-web" "$(keys)"

ctl apply -f "$T_TMP/objs.yaml"
expect apply-unchanged 0 "namespace/x unchanged
pod/web unchanged
networkpolicy.networking.k8s.io/allow-web unchanged" ""
sed -i 's/team: blue/team: green/' "$T_TMP/objs.yaml"
ctl apply -f - <"$T_TMP/objs.yaml"
expect apply-stdin-configured 0 "namespace/x configured
pod/web unchanged
networkpolicy.networking.k8s.io/allow-web unchanged" ""

# tables
ctl get namespaces
expect get-ns-table 0 "NAME  LABELS
x     kubernetes.io/metadata.name=x,team=green" ""
ctl get pods -n x
expect get-pods-table 0 "NAMESPACE  NAME  IP                  LABELS
x          web   10.244.1.5,fd00::5  app=web,enabled=true,tier=front" ""
ctl get netpol -A
expect get-netpol-table 0 "NAMESPACE  NAME       POD-SELECTOR                          POLICY-TYPES
x          allow-web  app=web,tier in (front,back),!legacy  Ingress,Egress" ""
ctl get pods
expect get-empty-default-ns 0 "" "No resources found in default namespace."
ctl get po x/web
expect get-one-table 0 "NAMESPACE  NAME  IP                  LABELS
x          web   10.244.1.5,fd00::5  app=web,enabled=true,tier=front" ""

# JSON: the normalized objects, a v1 List for listings
ctl get pod web -n x -o json
check_eq get-pod-json '{"apiVersion":"v1","kind":"Pod","metadata":{"labels":{"app":"web","enabled":"true","tier":"front"},"name":"web","namespace":"x"},"spec":{"containers":[{"image":"nginx","name":"nginx","ports":[{"containerPort":80,"name":"http","protocol":"TCP"},{"containerPort":53,"protocol":"UDP"}]}]},"status":{"podIP":"10.244.1.5","podIPs":[{"ip":"10.244.1.5"},{"ip":"fd00::5"}]}}' \
	"$(jq -cS . <<<"$OUT")"
ctl -o json get networkpolicies -A
check_eq get-netpol-json-list '{"apiVersion":"v1","items":[{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"allow-web","namespace":"x"},"spec":{"egress":[{}],"ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"y"}},"podSelector":{}},{"ipBlock":{"cidr":"10.0.0.0/8","except":["10.9.0.0/16"]}}],"ports":[{"port":"http","protocol":"TCP"},{"endPort":8080,"port":8000,"protocol":"TCP"}]}],"podSelector":{"matchExpressions":[{"key":"tier","operator":"In","values":["front","back"]},{"key":"legacy","operator":"DoesNotExist"}],"matchLabels":{"app":"web"}},"policyTypes":["Ingress","Egress"]}}],"kind":"List"}' \
	"$(jq -cS . <<<"$OUT")"
ctl get ns -o json
check_eq get-ns-json-list '["x"]' "$(jq -c '[.items[].metadata.name]' <<<"$OUT")"
ctl get pods -n nowhere -o json
expect get-empty-json 0 '{
  "apiVersion": "v1",
  "kind": "List",
  "items": []
}' ""

# what get -o json prints applies again unchanged (the List form, through stdin)
ctl get pods -A -o json
printf '%s\n' "$OUT" >"$T_TMP/pods.json"
ctl apply -f - <"$T_TMP/pods.json"
expect reapply-get-output 0 "pod/web unchanged" ""

# -o yaml: kubectl's form, which apply reads back unchanged
ctl get netpol x/allow-web -o yaml
expect get-yaml 0 'apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-web
  namespace: x
spec:
  podSelector:
    matchLabels:
      app: web
    matchExpressions:
    - key: tier
      operator: In
      values:
      - front
      - back
    - key: legacy
      operator: DoesNotExist
  ingress:
  - from:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: "y"
      podSelector: {}
    - ipBlock:
        cidr: 10.0.0.0/8
        except:
        - 10.9.0.0/16
    ports:
    - port: http
      protocol: TCP
    - port: 8000
      endPort: 8080
      protocol: TCP
  egress:
  - {}
  policyTypes:
  - Ingress
  - Egress' ""
ctl -oyaml get pods -A
printf '%s\n' "$OUT" >"$T_TMP/pods.yaml"
check_eq get-yaml-list "kind: List enabled: \"true\"" "$(grep -o '^kind: List' "$T_TMP/pods.yaml") $(grep -o 'enabled: .*' "$T_TMP/pods.yaml")"
ctl apply -f "$T_TMP/pods.yaml"
expect reapply-get-yaml 0 "pod/web unchanged" ""
ctl -o yaml apply -f "$T_TMP/pods.yaml"
expect yaml-only-get 2 "" "sluicectl: -o: unknown output form 'yaml' (table or json)
Try 'sluicectl --help'."

# a List with one invalid item: nothing written, every invalid item named
cat >"$T_TMP/list.json" <<'EOF'
{"apiVersion": "v1", "kind": "List", "items": [
 {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "new-pod", "namespace": "x"}},
 {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "bad", "namespace": "x"},
  "spec": {"ingress": [{"from": [{"podSelector": {}}, {"ipBlock": {"cidr": "10.0.0.0/33"}}]}]}},
 {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "Y"}}
]}
EOF
before=$(keys)
ctl apply -f "$T_TMP/list.json"
expect list-invalid-refused 1 "" "sluicectl: $T_TMP/list.json: item 2 (NetworkPolicy x/bad): spec.ingress[0].from[1].ipBlock.cidr: invalid CIDR \"10.0.0.0/33\"
sluicectl: $T_TMP/list.json: item 3 (Namespace Y): metadata.name: invalid value \"Y\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name', or '123-abc')"
check_eq list-invalid-nothing-written "$before" "$(keys)"
# and from stdin, with one good file before it: still nothing
ctl apply -f "$T_TMP/objs.yaml" -f - <"$T_TMP/list.json"
check_eq stdin-invalid-status 1 "$RC"
check_eq stdin-invalid-source "sluicectl: stdin: item 2 (NetworkPolicy x/bad)" "$(head -1 <<<"$ERR" | cut -d: -f1-3)"
check_eq stdin-invalid-nothing-written "$before" "$(keys)"

# refusals: message and status of each kind of bad input
refuse() { # NAME STATUS STDERR ARGS... (stdin from $T_TMP/in)
	local name=$1 rc=$2 err=$3
	shift 3
	ctl "$@" <"$T_TMP/in"
	expect "$name" "$rc" "" "$err"
}
printf 'apiVersion: v1\nkind: Service\nmetadata: {name: s}\n' >"$T_TMP/in"
refuse refuse-kind 1 'sluicectl: stdin: item 1 (Service default/s): kind: unsupported kind "Service" (apiVersion "v1"): sluice stores v1 Namespace, v1 Pod and networking.k8s.io/v1 NetworkPolicy' apply -f -
printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    ports: [{containerPort: 70000}]\n' >"$T_TMP/in"
refuse refuse-container-port 1 'sluicectl: stdin: item 1 (Pod default/p): spec.containers[0].ports[0].containerPort: invalid value 70000: must be between 1 and 65535, inclusive' apply -f -
printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: {"a b": c}\n' >"$T_TMP/in"
refuse refuse-label-key 1 "sluicectl: stdin: item 1 (Pod default/p): metadata.labels: key \"a b\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName', or 'my.name', or '123-abc')" apply -f -
printf 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: np}\nspec:\n  ingress:\n  - ports: [{port: http, endPort: 90}]\n' >"$T_TMP/in"
refuse refuse-endport 1 'sluicectl: stdin: item 1 (NetworkPolicy default/np): spec.ingress[0].ports[0].endPort: may not be specified when `port` is non-numeric' apply -f -
printf 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: np}\nspec:\n  podSelector:\n    matchExpressions: [{key: a, operator: In}]\n' >"$T_TMP/in"
refuse refuse-selector 1 "sluicectl: stdin: item 1 (NetworkPolicy default/np): spec.podSelector.matchExpressions[0].values: must be specified when \`operator\` is 'In' or 'NotIn'" apply -f -
printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n   labels: {}\n' >"$T_TMP/in"
refuse refuse-yaml-syntax 1 'sluicectl: stdin: YAML line 5:10: mapping values are not allowed in this context' apply -f -
printf '{"apiVersion": "v1", "kind": "Pod",}' >"$T_TMP/in"
refuse refuse-json-syntax 1 'sluicectl: stdin: invalid JSON: at byte 35' apply -f -
printf -- '---\n# nothing\n' >"$T_TMP/in"
refuse refuse-empty 1 'sluicectl: no objects passed to apply' apply -f -
printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: default}\n' >"$T_TMP/in"
refuse refuse-twice 1 'sluicectl: Pod default/p is given twice' apply -f -
refuse refuse-no-file 1 "sluicectl: cannot open $T_TMP/none.yaml: No such file or directory" apply -f "$T_TMP/none.yaml"
check_eq refusals-nothing-written "$before" "$(keys)"
refuse usage-apply-no-f 2 "sluicectl apply: needs -f FILE (or -f - for stdin)
Try 'sluicectl apply --help'." apply
refuse usage-get-kind 2 "sluicectl get: unknown kind 'services' (namespace, pod, networkpolicy)
Try 'sluicectl get --help'." get services
refuse usage-get-name 2 "sluicectl get: invalid name 'Web': a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com')
Try 'sluicectl get --help'." get pod x/Web
refuse usage-get-ns-slash 2 "sluicectl get: a namespace is named alone: get namespace NAME
Try 'sluicectl get --help'." get ns x/y
refuse usage-get-all-and-n 2 "sluicectl get: -A lists every namespace: no -n, no name
Try 'sluicectl get --help'." get pods -A -n x
refuse usage-delete-nothing 2 "sluicectl delete: needs -f FILE or KIND NAME
Try 'sluicectl delete --help'." delete
refuse usage-delete-f-and-name 2 "sluicectl delete: -f names the objects: no KIND or NAME with it
Try 'sluicectl delete --help'." delete -f - pod x
refuse get-notfound 1 'sluicectl: NotFound: pod "x/nope" not found' get pod x/nope
refuse get-ns-notfound 1 'sluicectl: NotFound: namespace "nope" not found' get ns nope
for v in apply get delete; do
	ctl "$v" --help
	check_eq "help-$v" "0 Usage: sluicectl $v" "$RC $(head -1 <<<"$OUT" | cut -c1-$((17 + ${#v})))"
done

# -n: the namespace of objects that name none; an object naming another is refused
printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: nsless}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: z}\n' >"$T_TMP/in"
ctl apply -n x -f - <"$T_TMP/in"
expect apply-n 0 "pod/nsless created
namespace/z created" ""
check_eq apply-n-keys "$P/namespaces/z $P/pods/x/nsless" "$(keys | grep -E 'nsless|/z$' | sort | xargs)"
ctl delete -n x -f - <"$T_TMP/in"
expect delete-n 0 'pod "nsless" deleted from x namespace
namespace "z" deleted' ""
printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: other}\n' >"$T_TMP/in"
refuse refuse-n-mismatch 1 'sluicectl: stdin: item 1 (Pod other/p): metadata.namespace: "other" does not match -n x' apply -n x -f -
refuse usage-apply-bad-n 2 "sluicectl apply: -n: invalid namespace 'X_': a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name', or '123-abc')
Try 'sluicectl apply --help'." apply -n X_ -f -

# kubectl get -o yaml output, server fields and all, applies as its normalized self
cat >"$T_TMP/kubectl.yaml" <<'EOF'
apiVersion: v1
items:
- apiVersion: v1
  kind: Pod
  metadata:
    annotations:
      kubectl.kubernetes.io/last-applied-configuration: |
        {"apiVersion":"v1","kind":"Pod","metadata":{"annotations":{},"labels":{"app":"db"},"name":"db","namespace":"x"}}
    creationTimestamp: "2024-05-02T10:11:12Z"
    labels:
      app: db
    managedFields:
    - apiVersion: v1
      fieldsType: FieldsV1
      fieldsV1:
        f:metadata:
          f:labels:
            .: {}
            f:app: {}
      manager: kubectl-client-side-apply
      operation: Update
      time: "2024-05-02T10:11:12Z"
    name: db
    namespace: x
    resourceVersion: "1234"
    uid: 5f2c1a7e-1111-4c3b-9a0e-2b7d9f3c4e55
  spec:
    containers:
    - image: postgres
      name: db
      ports:
      - containerPort: 5432
        name: pg
        protocol: TCP
    nodeName: node-1
  status:
    hostIP: 192.168.49.2
    phase: Running
    podIP: 10.244.1.9
    podIPs:
    - ip: 10.244.1.9
    qosClass: BestEffort
kind: List
metadata:
  resourceVersion: ""
EOF
ctl apply -f "$T_TMP/kubectl.yaml"
expect apply-kubectl-yaml 0 "pod/db created" ""
ctl get pod x/db -o json
check_eq kubectl-yaml-normalized '{"apiVersion":"v1","kind":"Pod","metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"annotations\":{},\"labels\":{\"app\":\"db\"},\"name\":\"db\",\"namespace\":\"x\"}}\n"},"labels":{"app":"db"},"name":"db","namespace":"x"},"spec":{"containers":[{"image":"postgres","name":"db","ports":[{"containerPort":5432,"name":"pg","protocol":"TCP"}]}],"nodeName":"node-1"},"status":{"podIP":"10.244.1.9","podIPs":[{"ip":"10.244.1.9"}]}}' \
	"$(jq -cS . <<<"$OUT")"

# a value written under an object's key by other means is reported, not shown as an object
"$BIN/sluicectl" --store "$STORE" store put "$P/pods/x/junk" 'not json' >/dev/null
"$BIN/sluicectl" --store "$STORE" store put "$P/pods/x/ns" \
	'{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"x"}}' >/dev/null
ctl get pods -n x -o json
check_eq get-junk "1 [\"db\",\"web\"]" "$RC $(jq -c '[.items[].metadata.name]' <<<"$OUT")"
check_eq get-junk-messages "sluicectl: $P/pods/x/junk: the stored value is not JSON
sluicectl: $P/pods/x/ns: the stored value is a Namespace" "$ERR"
"$BIN/sluicectl" --store "$STORE" store del "$P/pods/x/junk" >/dev/null
"$BIN/sluicectl" --store "$STORE" store del "$P/pods/x/ns" >/dev/null
"$BIN/sluicectl" --store "$STORE" store put "$P/pods/x/other" \
	'{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"x"}}' >/dev/null
ctl get pod x/other
expect get-misplaced 1 "" "sluicectl: $P/pods/x/other: the stored value is Pod x/web, which belongs elsewhere"
"$BIN/sluicectl" --store "$STORE" store del "$P/pods/x/other" >/dev/null

# delete: by name, not found, --ignore-not-found, by file
ctl delete pod x/db
expect delete-by-name 0 'pod "db" deleted from x namespace' ""
ctl delete pod db -n x
expect delete-notfound 1 "" 'sluicectl: NotFound: pod "x/db" not found'
ctl delete po x/db x/web --ignore-not-found
expect delete-ignore-not-found 0 'pod "web" deleted from x namespace' ""
check_eq delete-keys "$P/namespaces/x
$P/policies/x/allow-web" "$(keys)"
ctl apply -f "$T_TMP/objs.yaml"
ctl delete -f "$T_TMP/objs.yaml"
expect delete-by-file 0 'pod "web" deleted from x namespace
networkpolicy.networking.k8s.io "allow-web" deleted from x namespace
namespace "x" deleted' ""
check_eq delete-by-file-keys "" "$(keys)"
ctl delete -f - <"$T_TMP/objs.yaml"
check_eq delete-file-notfound "1 3" "$RC $(grep -c '^sluicectl: NotFound: ' <<<"$ERR")"
ctl delete -f - --ignore-not-found <"$T_TMP/objs.yaml"
expect delete-file-ignore 0 "" ""
# a namespace takes its pods and policies with it, and nothing of another namespace
sed 's/namespace: x/namespace: other/; s/^  name: x$/  name: other/' "$T_TMP/objs.yaml" >"$T_TMP/other.yaml"
ctl apply -f "$T_TMP/objs.yaml" -f "$T_TMP/other.yaml"
check_eq cascade-setup 0 "$RC"
ctl delete ns x
expect delete-ns-cascade 0 'namespace "x" deleted' ""
check_eq cascade-keys "$P/namespaces/other
$P/pods/other/web
$P/policies/other/allow-web" "$(keys)"

# objects_roundtrip TAG: on $STORE, under --prefix /o/ (the keys /o gives: no "//"), apply,
# get and delete in both output forms; -o json of apply and delete is an array of
# {kind, namespace, name, result}
cat >"$T_TMP/rt.yaml" <<'EOF'
apiVersion: v1
kind: Namespace
metadata: {name: x}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: x, labels: {app: web}}
status: {podIP: 10.244.1.5}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-web, namespace: x}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{}]
EOF
objects_roundtrip() {
	local t=$1 rt=$T_TMP/rt.yaml
	okeys() { "$BIN/sluicectl" --store "$STORE" -o json store list /o | jq -r '.kvs[].key'; }

	ctl --prefix /o/ apply -f "$rt"
	expect "$t-apply-prefix-slash" 0 "namespace/x created
pod/web created
networkpolicy.networking.k8s.io/allow-web created" ""
	check_eq "$t-prefix-slash-keys" "/o/namespaces/x
/o/pods/x/web
/o/policies/x/allow-web" "$(okeys)"
	ctl --prefix /o -o json apply -f "$rt"
	check_eq "$t-apply-json-unchanged" '0 [{"kind":"Namespace","namespace":null,"name":"x","result":"unchanged"},{"kind":"Pod","namespace":"x","name":"web","result":"unchanged"},{"kind":"NetworkPolicy","namespace":"x","name":"allow-web","result":"unchanged"}]' \
		"$RC $(jq -c . <<<"$OUT")"
	sed 's/, labels: {app: web}}/, labels: {app: web, v: "2"}}/' "$rt" >"$T_TMP/rt2.yaml"
	ctl --prefix /o// apply -f "$T_TMP/rt2.yaml" -o json
	check_eq "$t-apply-json-configured" "0 unchanged configured unchanged" \
		"$RC $(jq -r '[.[].result] | join(" ")' <<<"$OUT")"
	ctl --prefix /o/ get pods -n x
	expect "$t-get-table" 0 "NAMESPACE  NAME  IP          LABELS
x          web   10.244.1.5  app=web,v=2" ""
	ctl --prefix /o get pod x/web -o json
	check_eq "$t-get-json" '{"apiVersion":"v1","kind":"Pod","metadata":{"labels":{"app":"web","v":"2"},"name":"web","namespace":"x"},"status":{"podIP":"10.244.1.5","podIPs":[{"ip":"10.244.1.5"}]}}' \
		"$(jq -cS . <<<"$OUT")"
	ctl --prefix /o/ get netpol -A -o yaml
	check_eq "$t-get-yaml" "0 kind: List" "$RC $(grep -m1 '^kind:' <<<"$OUT")"
	ctl --prefix /o/ -o json delete pod x/web
	check_eq "$t-delete-json" '0 [{"kind":"Pod","namespace":"x","name":"web","result":"deleted"}]' \
		"$RC $(jq -c . <<<"$OUT")"
	ctl --prefix /o/ -o json delete pod x/web
	check_eq "$t-delete-json-notfound" '1 [] sluicectl: NotFound: pod "x/web" not found' \
		"$RC $(jq -c . <<<"$OUT") $ERR"
	ctl --prefix /o/ -o json delete pod x/web --ignore-not-found
	expect "$t-delete-json-ignored" 0 "[]" ""
	ctl --prefix /o/ -o json delete -f "$rt" --ignore-not-found
	check_eq "$t-delete-json-file" '0 [{"kind":"NetworkPolicy","namespace":"x","name":"allow-web","result":"deleted"},{"kind":"Namespace","namespace":null,"name":"x","result":"deleted"}]' \
		"$RC $(jq -c . <<<"$OUT")"
	check_eq "$t-delete-keys" "" "$(okeys)"
	# a refusal before the store prints no array
	ctl -o json delete pod x/Y
	check_eq "$t-delete-json-usage" "2 " "$RC $OUT"
	ctl -o json apply -f "$T_TMP/none.yaml"
	check_eq "$t-apply-json-error" "1 " "$RC $OUT"
}
objects_roundtrip dir

# ---- nothing half-applied: a write that fails puts back the ones before it. The store
# fails at the third object because a directory stands where its key's file goes
# (dir:// keeps PATH/keys/<key with / as +>).
printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: u1, labels: {v: "1"}}\n' >"$T_TMP/u0.yaml"
cat >"$T_TMP/u.yaml" <<'EOF'
apiVersion: v1
kind: Namespace
metadata: {name: u1, labels: {v: "2"}}
---
apiVersion: v1
kind: Namespace
metadata: {name: u2}
---
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: u2}
spec: {containers: [{name: c, image: i}]}
EOF
ctl apply -f "$T_TMP/u0.yaml"
expect undo-setup 0 "namespace/u1 created" ""
mkdir "$T_TMP/store/keys/+sluice+network+pods+u2+p"
ctl -o json apply -f "$T_TMP/u.yaml"
check_eq undo-status 1 "$RC"
check_eq undo-nothing-printed "" "$OUT"
case $ERR in
*"nothing applied: the objects written before it were put back as they were") pass undo-message ;;
*) fail undo-message "$ERR" ;;
esac
rmdir "$T_TMP/store/keys/+sluice+network+pods+u2+p"
ctl get ns u1 -o json
check_eq undo-configured-put-back '{"v":"1"}' "$(jq -c '.metadata.labels | del(."kubernetes.io/metadata.name")' <<<"$OUT")"
ctl get ns u2
check_eq undo-created-deleted 1 "$RC"
ctl apply -f "$T_TMP/u.yaml"
expect undo-applied-after 0 "namespace/u1 configured
namespace/u2 created
pod/p created" ""
ctl delete ns u1 u2
check_eq undo-cleanup 0 "$RC"

# ---- the same on etcd, started here (on 127.0.0.1 of this test's own netns)
ip link set lo up
if ! etcd_up objs http://127.0.0.1:23781 http://127.0.0.1:23782; then
	fail etcd-start "$(tail -5 "$T_TMP/etcd-objs.log")"
	exit 0
fi
pass etcd-start
STORE=etcd://127.0.0.1:23781
objects_roundtrip etcd
# the cascade on etcd: a namespace takes its pods and policies, not another namespace's
ctl apply -f "$T_TMP/objs.yaml" -f "$T_TMP/other.yaml"
check_eq etcd-cascade-setup 0 "$RC"
ctl -o json delete ns x
check_eq etcd-delete-ns-cascade '0 [{"kind":"Namespace","namespace":null,"name":"x","result":"deleted"}]' \
	"$RC $(jq -c . <<<"$OUT")"
check_eq etcd-cascade-keys "$P/namespaces/other
$P/pods/other/web
$P/policies/other/allow-web" "$(keys)"
