// SPDX-License-Identifier: Apache-2.0
/* Kubernetes objects: every validation rule refused with its exact message, normalization,
 * JSON/YAML parity, Lists and YAML streams, YAML scalars as kubectl reads them. */
#define T_NAME "test_k8s"
#include <errno.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "k8s/object.h"
#include "k8s/yaml.h"
#include "t.h"

static char out[8192];

/* The first object of in, normalized and printed unformatted, or "error: <msg>" */
static const char *norm(const char *in)
{
	struct err e = {0};
	struct k8s_object o;
	cJSON *items;
	char *s;

	if (k8s_split(in, strlen(in), k8s_yaml_read, &items, &e) < 0) {
		snprintf(out, sizeof(out), "error: %s", e.msg);
		return out;
	}
	if (k8s_object_parse(cJSON_GetArrayItem(items, 0), &o, &e) < 0) {
		snprintf(out, sizeof(out), "error: %s", e.msg);
	} else {
		s = cJSON_PrintUnformatted(o.json);
		snprintf(out, sizeof(out), "%s", s);
		free(s);
		k8s_object_done(&o);
	}
	cJSON_Delete(items);
	return out;
}

#define POD "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n"
#define NP "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: np\nspec:\n"
#define NPI NP "  ingress:\n  - from:\n"
#define NPP NP "  ingress:\n  - ports:\n"
#define CP POD "spec:\n  containers:\n  - name: c\n    ports:\n"
#define SUB \
	"a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com')"
#define LBL \
	"a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name', or '123-abc')"
#define NAMEPART \
	"name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName', or 'my.name', or '123-abc')"
#define VAL \
	"a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue', or 'my_value', or '12345')"
#define RANGE "must be between 1 and 65535, inclusive"

static const struct {
	const char *in, *want;
} refusals[] = {
	/* what an object is */
	{"kind: Pod\nmetadata: {name: a}\n", "apiVersion: required"},
	{"apiVersion: v1\nmetadata: {name: a}\n", "kind: required"},
	{"apiVersion: v1\nkind: Service\nmetadata: {name: a}\n",
	 "kind: unsupported kind \"Service\" (apiVersion \"v1\"): sluice stores v1 Namespace, v1 Pod and networking.k8s.io/v1 NetworkPolicy"},
	{"apiVersion: extensions/v1beta1\nkind: NetworkPolicy\nmetadata: {name: a}\n",
	 "apiVersion: unsupported apiVersion \"extensions/v1beta1\" for kind NetworkPolicy (want \"networking.k8s.io/v1\")"},
	{"apiVersion: 1\nkind: Pod\n", "apiVersion: must be a string"},
	{"apiVersion: v1\nkind: Pod\n", "metadata: required"},
	{"apiVersion: v1\nkind: Pod\nmetadata: []\n", "metadata: must be an object"},
	{"apiVersion: v1\nkind: Pod\nmetadata: {generateName: a-}\n", "metadata.name: required"},
	{"apiVersion: v1\nkind: Pod\nmetadata: {name: ''}\n", "metadata.name: required"},
	{"apiVersion: v1\nkind: Pod\nmetadata: {name: Web}\n",
	 "metadata.name: invalid value \"Web\": " SUB},
	{"apiVersion: v1\nkind: Pod\nmetadata: {name: a..b}\n",
	 "metadata.name: invalid value \"a..b\": " SUB},
	{"apiVersion: v1\nkind: Namespace\nmetadata: {name: a.b}\n",
	 "metadata.name: invalid value \"a.b\": " LBL},
	{"apiVersion: v1\nkind: Namespace\nmetadata: {name: "
	 "a234567890123456789012345678901234567890123456789012345678901234}\n",
	 "metadata.name: invalid value \"a234567890123456789012345678901234567890123456789012345678901234\": must be no more than 63 characters"},
	{"apiVersion: v1\nkind: Namespace\nmetadata: {name: x, namespace: z}\n",
	 "metadata.namespace: not allowed on a Namespace (namespaces are cluster-scoped)"},
	{POD "  namespace: Bad_ns\n", "metadata.namespace: invalid value \"Bad_ns\": " LBL},
	{POD "  nme: x\n", "metadata.nme: unknown field"},
	{POD "specs: {}\n", "specs: unknown field"},
	{"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\",\"name\":\"b\"}}",
	 "metadata.name: duplicate field"},
	/* labels and annotations */
	{POD "  labels: {a b: x}\n", "metadata.labels: key \"a b\": " NAMEPART},
	{POD "  labels: {example.com/: x}\n",
	 "metadata.labels: key \"example.com/\": name part must be non-empty"},
	{POD "  labels: {/a: x}\n", "metadata.labels: key \"/a\": prefix part must be non-empty"},
	{POD "  labels: {-x.com/a: x}\n", "metadata.labels: key \"-x.com/a\": prefix part " SUB},
	{POD "  labels: {a/b/c: x}\n",
	 "metadata.labels: key \"a/b/c\": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character, with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"},
	{POD "  labels: {a234567890123456789012345678901234567890123456789012345678901234: x}\n",
	 "metadata.labels: key \"a234567890123456789012345678901234567890123456789012345678901234\": name part must be no more than 63 characters"},
	{POD "  labels: {app: a234567890123456789012345678901234567890123456789012345678901234}\n",
	 "metadata.labels: key \"app\": value \"a234567890123456789012345678901234567890123456789012345678901234\": must be no more than 63 characters"},
	{POD "  labels: {app: x y}\n", "metadata.labels: key \"app\": value \"x y\": " VAL},
	{POD "  labels: {app: -x}\n", "metadata.labels: key \"app\": value \"-x\": " VAL},
	{POD "  labels: {enabled: true}\n",
	 "metadata.labels: key \"enabled\": the value must be a string (quote it in YAML)"},
	/* YAML 1.1 (kubectl's): a plain y, yes or on is a boolean */
	{POD "  labels: {ns: y}\n",
	 "metadata.labels: key \"ns\": the value must be a string (quote it in YAML)"},
	{POD "  labels: {port: 80}\n",
	 "metadata.labels: key \"port\": the value must be a string (quote it in YAML)"},
	{POD "  labels: []\n", "metadata.labels: must be an object"},
	{POD "  annotations: {a b: x}\n", "metadata.annotations: key \"a b\": " NAMEPART},
	{POD "  annotations: {a: 1}\n",
	 "metadata.annotations: key \"a\": the value must be a string"},
	/* a Pod's containers and ports */
	{POD "spec: []\n", "spec: must be an object"},
	{POD "spec: {containers: {}}\n", "spec.containers: must be an array"},
	{POD "spec: {containers: [x]}\n", "spec.containers[0]: must be an object"},
	{POD "spec: {containers: [{image: nginx}]}\n", "spec.containers[0].name: required"},
	{POD "spec: {containers: [{name: C}]}\n",
	 "spec.containers[0].name: invalid value \"C\": " LBL},
	{POD "spec: {containers: [{name: c}, {name: c}]}\n",
	 "spec.containers[1].name: duplicate value \"c\""},
	{CP "    - containerPort: 0\n",
	 "spec.containers[0].ports[0].containerPort: invalid value 0: " RANGE},
	{CP "    - containerPort: 65536\n",
	 "spec.containers[0].ports[0].containerPort: invalid value 65536: " RANGE},
	{CP "    - name: http\n", "spec.containers[0].ports[0].containerPort: required"},
	{CP "    - containerPort: 80.5\n",
	 "spec.containers[0].ports[0].containerPort: must be an integer"},
	{CP "    - containerPort: '80'\n",
	 "spec.containers[0].ports[0].containerPort: must be an integer"},
	{CP "    - {containerPort: 80, name: abcdefghijklmnop}\n",
	 "spec.containers[0].ports[0].name: invalid port name \"abcdefghijklmnop\": must be no more than 15 characters"},
	{CP "    - {containerPort: 80, name: '8080'}\n",
	 "spec.containers[0].ports[0].name: invalid port name \"8080\": must contain at least one letter (a-z)"},
	{CP "    - {containerPort: 80, name: a--b}\n",
	 "spec.containers[0].ports[0].name: invalid port name \"a--b\": must not contain consecutive hyphens"},
	{CP "    - {containerPort: 80, name: Http}\n",
	 "spec.containers[0].ports[0].name: invalid port name \"Http\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"},
	{CP "    - {containerPort: 80, name: -http}\n",
	 "spec.containers[0].ports[0].name: invalid port name \"-http\": must not begin or end with a hyphen"},
	{CP "    - {containerPort: 80, protocol: ICMP}\n",
	 "spec.containers[0].ports[0].protocol: unsupported value \"ICMP\": supported values: \"SCTP\", \"TCP\", \"UDP\""},
	{CP "    - {containerPort: 80, protocol: tcp}\n",
	 "spec.containers[0].ports[0].protocol: unsupported value \"tcp\": supported values: \"SCTP\", \"TCP\", \"UDP\""},
	{CP "    - {containerPort: 80, prot: TCP}\n",
	 "spec.containers[0].ports[0].prot: unknown field"},
	{CP "    - {containerPort: 80, name: http}\n    - {containerPort: 81, name: http}\n",
	 "spec.containers[0].ports[1].name: duplicate value \"http\""},
	/* a Pod's IPs */
	{POD "status: {podIP: 10.0.0.300}\n", "status.podIP: invalid IP address \"10.0.0.300\""},
	{POD "status: {podIPs: [{ip: 10.0.0.1}, {ip: 10.0.0.2}]}\n",
	 "status.podIPs[1]: expected at most one IP for each IP family"},
	{POD "status: {podIPs: [{ip: 10.0.0.1}, {ip: 'fd00::1'}, {ip: 10.0.0.3}]}\n",
	 "status.podIPs[2]: may not have more than two IPs (one of each family)"},
	{POD "status: {podIP: 10.0.0.1, podIPs: [{ip: 10.0.0.2}]}\n",
	 "status.podIPs[0]: must match status.podIP \"10.0.0.1\""},
	{POD "status: {podIPs: [{ip: x}]}\n", "status.podIPs[0].ip: invalid IP address \"x\""},
	{POD "status: {podIPs: [{}]}\n", "status.podIPs[0]: must be an object with an ip"},
	/* NetworkPolicy: selectors */
	{NP "  podselector: {}\n", "spec.podselector: unknown field"},
	{NP "  podSelector: []\n", "spec.podSelector: must be an object"},
	{NP "  podSelector: {matchLabel: {a: b}}\n", "spec.podSelector.matchLabel: unknown field"},
	{NP "  podSelector: {matchLabels: {a b: x}}\n",
	 "spec.podSelector.matchLabels: key \"a b\": " NAMEPART},
	{NP "  podSelector: {matchLabels: {a: x y}}\n",
	 "spec.podSelector.matchLabels: key \"a\": value \"x y\": " VAL},
	{NP "  podSelector:\n    matchExpressions:\n    - {key: a, operator: In}\n",
	 "spec.podSelector.matchExpressions[0].values: must be specified when `operator` is 'In' or 'NotIn'"},
	{NP "  podSelector:\n    matchExpressions:\n    - {key: a, operator: NotIn, values: []}\n",
	 "spec.podSelector.matchExpressions[0].values: must be specified when `operator` is 'In' or 'NotIn'"},
	{NP
	 "  podSelector:\n    matchExpressions:\n    - {key: a, operator: Exists, values: [x]}\n",
	 "spec.podSelector.matchExpressions[0].values: may not be specified when `operator` is 'Exists' or 'DoesNotExist'"},
	{NP
	 "  podSelector:\n    matchExpressions:\n    - {key: a, operator: DoesNotExist, values: [x]}\n",
	 "spec.podSelector.matchExpressions[0].values: may not be specified when `operator` is 'Exists' or 'DoesNotExist'"},
	{NP
	 "  podSelector:\n    matchExpressions:\n    - {key: a, operator: Equals, values: [x]}\n",
	 "spec.podSelector.matchExpressions[0].operator: \"Equals\" is not a valid selector operator (In, NotIn, Exists, DoesNotExist)"},
	{NP "  podSelector:\n    matchExpressions:\n    - {key: a}\n",
	 "spec.podSelector.matchExpressions[0].operator: required"},
	{NP "  podSelector:\n    matchExpressions:\n    - {operator: Exists}\n",
	 "spec.podSelector.matchExpressions[0].key: required"},
	{NP "  podSelector:\n    matchExpressions:\n    - {key: a b, operator: Exists}\n",
	 "spec.podSelector.matchExpressions[0].key: invalid label key \"a b\": " NAMEPART},
	{NP
	 "  podSelector:\n    matchExpressions:\n    - {key: a, operator: In, values: [ok, x y]}\n",
	 "spec.podSelector.matchExpressions[0].values[1]: invalid label value \"x y\": " VAL},
	{NP "  podSelector:\n    matchExpressions:\n    - {key: a, operator: In, values: [1]}\n",
	 "spec.podSelector.matchExpressions[0].values[0]: must be a string"},
	/* policyTypes */
	{NP "  policyTypes: [Ingress, Foo]\n",
	 "spec.policyTypes[1]: unsupported value \"Foo\": supported values: \"Egress\", \"Ingress\""},
	{NP "  policyTypes: [Ingress, Ingress]\n",
	 "spec.policyTypes[1]: duplicate value \"Ingress\""},
	{NP "  policyTypes: Ingress\n", "spec.policyTypes: must be an array"},
	/* rules and peers */
	{NP "  ingress: {}\n", "spec.ingress: must be an array"},
	{NP "  egress: [x]\n", "spec.egress[0]: must be an object"},
	{NP "  ingress: [{form: []}]\n", "spec.ingress[0].form: unknown field"},
	{NP "  egress: [{from: []}]\n", "spec.egress[0].from: unknown field"},
	{NPI "    - {}\n",
	 "spec.ingress[0].from[0]: must specify a peer (podSelector, namespaceSelector or ipBlock)"},
	{NP "  egress:\n  - to:\n    - podSelector: null\n",
	 "spec.egress[0].to[0]: must specify a peer (podSelector, namespaceSelector or ipBlock)"},
	{NPI "    - podSelector: {}\n    - {ipBlock: {cidr: 10.0.0.0/8}, namespaceSelector: {}}\n",
	 "spec.ingress[0].from[1]: may not specify both ipBlock and another peer"},
	{NPI "    - podSelector: {}\n    - ipBlock: {cidr: 10.0.0.0/33}\n",
	 "spec.ingress[0].from[1].ipBlock.cidr: invalid CIDR \"10.0.0.0/33\""},
	{NPI "    - ipBlock: {cidr: 10.0.0.1}\n",
	 "spec.ingress[0].from[0].ipBlock.cidr: invalid CIDR \"10.0.0.1\""},
	{NPI "    - ipBlock: {cidr: 'fd00::/129'}\n",
	 "spec.ingress[0].from[0].ipBlock.cidr: invalid CIDR \"fd00::/129\""},
	{NPI "    - ipBlock: {except: [10.0.0.0/8]}\n",
	 "spec.ingress[0].from[0].ipBlock.cidr: required"},
	{NPI "    - ipBlock: {cidr: 10.0.0.0/8, expect: []}\n",
	 "spec.ingress[0].from[0].ipBlock.expect: unknown field"},
	{NPI "    - ipBlock: {cidr: 10.0.0.0/8, except: [192.168.0.0/24]}\n",
	 "spec.ingress[0].from[0].ipBlock.except[0]: \"192.168.0.0/24\" must be a strict subset of `cidr` (10.0.0.0/8)"},
	{NPI "    - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16, 10.0.0.0/8]}\n",
	 "spec.ingress[0].from[0].ipBlock.except[1]: \"10.0.0.0/8\" must be a strict subset of `cidr` (10.0.0.0/8)"},
	{NPI "    - ipBlock: {cidr: 10.0.0.0/8, except: ['fd00::/64']}\n",
	 "spec.ingress[0].from[0].ipBlock.except[0]: \"fd00::/64\" must be a strict subset of `cidr` (10.0.0.0/8)"},
	{NPI "    - ipBlock: {cidr: 10.0.0.0/8, except: [10.0.0.0/40]}\n",
	 "spec.ingress[0].from[0].ipBlock.except[0]: invalid CIDR \"10.0.0.0/40\""},
	{NPI "    - namespaceSelector: {matchLabels: {a: '-'}}\n",
	 "spec.ingress[0].from[0].namespaceSelector.matchLabels: key \"a\": value \"-\": " VAL},
	/* ports */
	{NPP "    - port: 0\n", "spec.ingress[0].ports[0].port: invalid value 0: " RANGE},
	{NPP "    - port: 70000\n", "spec.ingress[0].ports[0].port: invalid value 70000: " RANGE},
	{NPP "    - port: '80'\n",
	 "spec.ingress[0].ports[0].port: invalid port name \"80\": must contain at least one letter (a-z)"},
	{NPP "    - port: true\n", "spec.ingress[0].ports[0].port: must be an integer"},
	{NPP "    - {port: http, endPort: 90}\n",
	 "spec.ingress[0].ports[0].endPort: may not be specified when `port` is non-numeric"},
	{NPP "    - {endPort: 90}\n",
	 "spec.ingress[0].ports[0].endPort: may not be specified when `port` is not specified"},
	{NPP "    - {port: 90, endPort: 80}\n",
	 "spec.ingress[0].ports[0].endPort: invalid value 80: must be greater than or equal to `port` (90)"},
	{NPP "    - {port: 90, endPort: 70000}\n",
	 "spec.ingress[0].ports[0].endPort: invalid value 70000: " RANGE},
	{NPP "    - {port: 80, protocol: ICMP}\n",
	 "spec.ingress[0].ports[0].protocol: unsupported value \"ICMP\": supported values: \"SCTP\", \"TCP\", \"UDP\""},
	{NPP "    - {port: 80, proto: UDP}\n", "spec.ingress[0].ports[0].proto: unknown field"},
	{NP "  egress:\n  - ports: [{port: 53, protocol: UDP}, {port: x_y}]\n",
	 "spec.egress[0].ports[1].port: invalid port name \"x_y\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"},
	/* inputs */
	{"apiVersion: v1\nkind: List\nitems: {}\n", "document 1: items: must be an array"},
	{"- a\n- b\n", "document 1: not an object (a Kubernetes object or a List)"},
	{"a: [b\n", "YAML line 2:1: did not find expected ',' or ']'"},
	{"a: 1\na: 2\n", "YAML line 2:1: duplicate key \"a\""},
	{"a: &x {b: 1}\nc:\n  <<: *x\n", "YAML line 3:3: merge keys (<<) are not supported"},
	{"a: *nope\n", "YAML line 1:4: unknown anchor \"nope\""},
	{"a: .inf\n", "YAML line 1:4: infinity and NaN have no JSON form: \".inf\""},
	{"a: !foo x\n", "YAML line 1:4: unsupported tag \"!foo\""},
	{"a: !!int x\n", "YAML line 1:4: a scalar that does not match its tag: \"x\""},
	{"? [a]\n: b\n", "YAML line 1:3: a mapping key must be a scalar"},
	{"{\"apiVersion\": \"v1\",}", "invalid JSON: at byte 20"},
};

static void test_refusals(void)
{
	char want[1024];
	size_t i;
	int bad = 0;

	for (i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		snprintf(want, sizeof(want), "error: %s", refusals[i].want);
		norm(refusals[i].in);
		if (strcmp(out, want)) {
			printf("  case %zu: %s\n    want %s\n    got  %s\n", i, refusals[i].in,
			       want, out);
			bad++;
		}
	}
	T_EQ(bad, 0);
}

static const struct {
	const char *in, *want;
} normalized[] = {
	/* a Namespace carries its name as a label, whatever was given for it */
	{"apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n",
	 "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"x\",\"labels\":{\"kubernetes.io/metadata.name\":\"x\"}}}"},
	{"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n  namespace: ''\n  labels: {kubernetes.io/metadata.name: other, team: a}\nspec: {finalizers: [kubernetes]}\nstatus: {phase: Active}\n",
	 "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"x\",\"labels\":{\"team\":\"a\",\"kubernetes.io/metadata.name\":\"x\"}},\"spec\":{\"finalizers\":[\"kubernetes\"]}}"},
	/* a Pod: namespace and protocols defaulted, empty maps dropped, status reduced to IPs */
	{POD
	 "  labels: {}\nspec:\n  containers:\n  - name: c\n    image: nginx\n    ports:\n    - {containerPort: 80, name: http}\n    - {containerPort: 53, protocol: UDP}\nstatus: {phase: Running, hostIP: 192.168.1.1, podIP: 10.1.0.5}\n",
	 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\",\"ports\":[{\"containerPort\":80,\"name\":\"http\",\"protocol\":\"TCP\"},{\"containerPort\":53,\"protocol\":\"UDP\"}]}]},\"status\":{\"podIP\":\"10.1.0.5\",\"podIPs\":[{\"ip\":\"10.1.0.5\"}]}}"},
	{POD "  namespace: x\nstatus:\n  podIPs: [{ip: 'fd00::5'}, {ip: 10.1.0.5}]\n",
	 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\",\"namespace\":\"x\"},\"status\":{\"podIP\":\"fd00::5\",\"podIPs\":[{\"ip\":\"fd00::5\"},{\"ip\":\"10.1.0.5\"}]}}"},
	/* a NetworkPolicy: podSelector and policyTypes defaulted (Egress only with egress
	 * rules), protocols TCP, null members gone */
	{NP "  ingress: [{}]\n",
	 "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\",\"metadata\":{\"name\":\"np\",\"namespace\":\"default\"},\"spec\":{\"ingress\":[{}],\"podSelector\":{},\"policyTypes\":[\"Ingress\"]}}"},
	{"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: np}\n",
	 "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\",\"metadata\":{\"name\":\"np\",\"namespace\":\"default\"},\"spec\":{\"podSelector\":{},\"policyTypes\":[\"Ingress\"]}}"},
	{NP "  podSelector: {matchLabels: {app: db}}\n  egress: []\n",
	 "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\",\"metadata\":{\"name\":\"np\",\"namespace\":\"default\"},\"spec\":{\"podSelector\":{\"matchLabels\":{\"app\":\"db\"}},\"egress\":[],\"policyTypes\":[\"Ingress\"]}}"},
	{NP "  podSelector: {}\n  policyTypes: []\n  egress:\n  - to:\n    - {podSelector: null, namespaceSelector: {}}\n    ports:\n    - {port: 53, protocol: UDP}\n    - {port: 8000, endPort: 8080}\n    - {port: dns}\n    - {}\n", "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\",\"metadata\":{\"name\":\"np\",\"namespace\":\"default\"},\"spec\":{\"podSelector\":{},\"egress\":[{\"to\":[{\"namespaceSelector\":{}}],\"ports\":[{\"port\":53,\"protocol\":\"UDP\"},{\"port\":8000,\"endPort\":8080,\"protocol\":\"TCP\"},{\"port\":\"dns\",\"protocol\":\"TCP\"},{\"protocol\":\"TCP\"}]}],\"policyTypes\":[\"Ingress\",\"Egress\"]}}"},
	{NP
	 "  policyTypes: [Egress]\n  ingress:\n  - from:\n    - ipBlock: {cidr: 'fd00::/48', except: ['fd00::/64', 'fd00:0:0:1::5/128']}\n    - podSelector:\n        matchExpressions:\n        - {key: tier, operator: NotIn, values: [a, b]}\n        - {key: example.com/x, operator: DoesNotExist}\n      namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: \"y\"}}\n",
	 "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\",\"metadata\":{\"name\":\"np\",\"namespace\":\"default\"},\"spec\":{\"policyTypes\":[\"Egress\"],\"ingress\":[{\"from\":[{\"ipBlock\":{\"cidr\":\"fd00::/48\",\"except\":[\"fd00::/64\",\"fd00:0:0:1::5/128\"]}},{\"podSelector\":{\"matchExpressions\":[{\"key\":\"tier\",\"operator\":\"NotIn\",\"values\":[\"a\",\"b\"]},{\"key\":\"example.com/x\",\"operator\":\"DoesNotExist\"}]},\"namespaceSelector\":{\"matchLabels\":{\"kubernetes.io/metadata.name\":\"y\"}}}]}],\"podSelector\":{}}}"},
	/* a port name is unique in its container, not in the pod (as the apiserver has it) */
	{POD
	 "spec:\n  containers:\n  - {name: a, ports: [{containerPort: 80, name: http}]}\n  - {name: b, ports: [{containerPort: 8080, name: http}]}\n",
	 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},\"spec\":{\"containers\":[{\"name\":\"a\",\"ports\":[{\"containerPort\":80,\"name\":\"http\",\"protocol\":\"TCP\"}]},{\"name\":\"b\",\"ports\":[{\"containerPort\":8080,\"name\":\"http\",\"protocol\":\"TCP\"}]}]}}"},
	/* names at their limits, labels of every allowed form */
	{"apiVersion: v1\nkind: Pod\nmetadata:\n  name: a.b-c.0\n  labels: {example.com/A_b.C: '', x: 'true', y: '80', z: A-9}\n",
	 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"a.b-c.0\",\"namespace\":\"default\",\"labels\":{\"example.com/A_b.C\":\"\",\"x\":\"true\",\"y\":\"80\",\"z\":\"A-9\"}}}"},
};

static void test_normalized(void)
{
	size_t i;
	int bad = 0;

	for (i = 0; i < sizeof(normalized) / sizeof(normalized[0]); i++) {
		norm(normalized[i].in);
		if (strcmp(out, normalized[i].want)) {
			printf("  case %zu: %s\n    want %s\n    got  %s\n", i, normalized[i].in,
			       normalized[i].want, out);
			bad++;
			continue;
		}
		/* what is stored reads back as itself */
		char again[sizeof(out)];

		snprintf(again, sizeof(again), "%s", out);
		if (strcmp(norm(again), again)) {
			printf("  case %zu not idempotent: %s\n", i, out);
			bad++;
		}
	}
	T_EQ(bad, 0);
}

/* `kubectl get -o yaml` of real objects: server fields, managedFields, status */
static const char kubectl_pod_yaml[] =
	"apiVersion: v1\n"
	"kind: Pod\n"
	"metadata:\n"
	"  annotations:\n"
	"    kubectl.kubernetes.io/last-applied-configuration: |\n"
	"      {\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"annotations\":{},\"labels\":{\"app\":\"web\"},\"name\":\"web-0\",\"namespace\":\"x\"}}\n"
	"  creationTimestamp: \"2024-05-02T10:11:12Z\"\n"
	"  generateName: web-\n"
	"  labels:\n"
	"    app: web\n"
	"    pod-template-hash: 7c5ddbdf54\n"
	"    enabled: \"true\"\n"
	"  managedFields:\n"
	"  - apiVersion: v1\n"
	"    fieldsType: FieldsV1\n"
	"    fieldsV1:\n"
	"      f:metadata:\n"
	"        f:labels:\n"
	"          .: {}\n"
	"          f:app: {}\n"
	"    manager: kube-controller-manager\n"
	"    operation: Update\n"
	"    time: \"2024-05-02T10:11:12Z\"\n"
	"  name: web-0\n"
	"  namespace: x\n"
	"  ownerReferences:\n"
	"  - apiVersion: apps/v1\n"
	"    blockOwnerDeletion: true\n"
	"    controller: true\n"
	"    kind: ReplicaSet\n"
	"    name: web-7c5ddbdf54\n"
	"    uid: 0b7e8a4e-3a7c-4f0e-9d6b-6f1d2f6e9a10\n"
	"  resourceVersion: \"48213\"\n"
	"  uid: 5f2c1a7e-1111-4c3b-9a0e-2b7d9f3c4e55\n"
	"spec:\n"
	"  containers:\n"
	"  - image: nginx:1.25\n"
	"    imagePullPolicy: IfNotPresent\n"
	"    name: nginx\n"
	"    ports:\n"
	"    - containerPort: 80\n"
	"      name: http\n"
	"      protocol: TCP\n"
	"    - containerPort: 81\n"
	"      name: alt\n"
	"      protocol: UDP\n"
	"    resources: {}\n"
	"  dnsPolicy: ClusterFirst\n"
	"  nodeName: node-1\n"
	"  restartPolicy: Always\n"
	"status:\n"
	"  conditions:\n"
	"  - lastProbeTime: null\n"
	"    lastTransitionTime: \"2024-05-02T10:11:12Z\"\n"
	"    status: \"True\"\n"
	"    type: Ready\n"
	"  hostIP: 192.168.49.2\n"
	"  phase: Running\n"
	"  podIP: 10.244.1.7\n"
	"  podIPs:\n"
	"  - ip: 10.244.1.7\n"
	"  qosClass: BestEffort\n"
	"  startTime: \"2024-05-02T10:11:12Z\"\n";

static const char kubectl_policy_yaml[] = "apiVersion: networking.k8s.io/v1\n"
					  "kind: NetworkPolicy\n"
					  "metadata:\n"
					  "  creationTimestamp: \"2024-05-02T10:11:12Z\"\n"
					  "  generation: 1\n"
					  "  name: allow-db\n"
					  "  namespace: x\n"
					  "  resourceVersion: \"48300\"\n"
					  "  uid: 9d1c7a55-2222-4aa1-8c3e-7c2f5e1d0b99\n"
					  "spec:\n"
					  "  ingress:\n"
					  "  - from:\n"
					  "    - namespaceSelector:\n"
					  "        matchLabels:\n"
					  "          kubernetes.io/metadata.name: \"y\"\n"
					  "      podSelector:\n"
					  "        matchLabels:\n"
					  "          app: web\n"
					  "    ports:\n"
					  "    - port: 5432\n"
					  "      protocol: TCP\n"
					  "  podSelector:\n"
					  "    matchLabels:\n"
					  "      app: db\n"
					  "  policyTypes:\n"
					  "  - Ingress\n"
					  "status: {}\n";

static void test_kubectl_yaml(void)
{
	T_STREQ(norm(kubectl_pod_yaml),
		"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web-0\",\"namespace\":\"x\",\"labels\":{\"app\":\"web\",\"pod-template-hash\":\"7c5ddbdf54\",\"enabled\":\"true\"},\"annotations\":{\"kubectl.kubernetes.io/last-applied-configuration\":\"{\\\"apiVersion\\\":\\\"v1\\\",\\\"kind\\\":\\\"Pod\\\",\\\"metadata\\\":{\\\"annotations\\\":{},\\\"labels\\\":{\\\"app\\\":\\\"web\\\"},\\\"name\\\":\\\"web-0\\\",\\\"namespace\\\":\\\"x\\\"}}\\n\"}},\"spec\":{\"containers\":[{\"image\":\"nginx:1.25\",\"imagePullPolicy\":\"IfNotPresent\",\"name\":\"nginx\",\"ports\":[{\"containerPort\":80,\"name\":\"http\",\"protocol\":\"TCP\"},{\"containerPort\":81,\"name\":\"alt\",\"protocol\":\"UDP\"}],\"resources\":{}}],\"dnsPolicy\":\"ClusterFirst\",\"nodeName\":\"node-1\",\"restartPolicy\":\"Always\"},\"status\":{\"podIP\":\"10.244.1.7\",\"podIPs\":[{\"ip\":\"10.244.1.7\"}]}}");
	T_STREQ(norm(kubectl_policy_yaml),
		"{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\",\"metadata\":{\"name\":\"allow-db\",\"namespace\":\"x\"},\"spec\":{\"ingress\":[{\"from\":[{\"namespaceSelector\":{\"matchLabels\":{\"kubernetes.io/metadata.name\":\"y\"}},\"podSelector\":{\"matchLabels\":{\"app\":\"web\"}}}],\"ports\":[{\"port\":5432,\"protocol\":\"TCP\"}]}],\"podSelector\":{\"matchLabels\":{\"app\":\"db\"}},\"policyTypes\":[\"Ingress\"]}}");
}

/* The same objects written as JSON and as YAML normalize to the same bytes */
static void test_parity(void)
{
	static const char *const pairs[][2] = {
		{"{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\",\"metadata\":{\"name\":\"allow-db\",\"namespace\":\"x\",\"creationTimestamp\":\"2024-05-02T10:11:12Z\",\"generation\":1,\"resourceVersion\":\"48300\",\"uid\":\"9d1c7a55-2222-4aa1-8c3e-7c2f5e1d0b99\"},\"spec\":{\"ingress\":[{\"from\":[{\"namespaceSelector\":{\"matchLabels\":{\"kubernetes.io/metadata.name\":\"y\"}},\"podSelector\":{\"matchLabels\":{\"app\":\"web\"}}}],\"ports\":[{\"port\":5432,\"protocol\":\"TCP\"}]}],\"podSelector\":{\"matchLabels\":{\"app\":\"db\"}},\"policyTypes\":[\"Ingress\"]},\"status\":{}}",
		 kubectl_policy_yaml},
		{"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"labels\":{\"on\":\"yes\",\"n\":\"1\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"ports\":[{\"containerPort\":8080,\"name\":\"web\"}]}]},\"status\":{\"podIP\":\"10.0.0.1\"}}",
		 "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels:\n    on: \"yes\"\n    n: '1'\nspec:\n  containers:\n  - name: c\n    ports:\n    - containerPort: 8080\n      name: web\nstatus:\n  podIP: 10.0.0.1\n"},
	};
	char json[sizeof(out)];
	size_t i;

	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		snprintf(json, sizeof(json), "%s", norm(pairs[i][0]));
		T_ASSERT(strncmp(json, "error", 5));
		T_STREQ(norm(pairs[i][1]), json);
	}
}

/* Lists, typed lists, JSON arrays and YAML streams: each gives its objects in order */
static const char *names(const char *in)
{
	struct err e = {0};
	struct k8s_object o;
	cJSON *items, *it;
	size_t n = 0;

	out[0] = '\0';
	if (k8s_split(in, strlen(in), k8s_yaml_read, &items, &e) < 0) {
		snprintf(out, sizeof(out), "error: %s", e.msg);
		return out;
	}
	cJSON_ArrayForEach(it, items) {
		if (k8s_object_parse(it, &o, &e) < 0) {
			n += snprintf(out + n, sizeof(out) - n, "[%s]", e.msg);
			memset(&e, 0, sizeof(e));
			continue;
		}
		n += snprintf(out + n, sizeof(out) - n, "%s%s %s/%s", n ? "," : "",
			      k8s_kind_name(o.kind), o.ns, o.name);
		k8s_object_done(&o);
	}
	cJSON_Delete(items);
	return out;
}

static void test_lists(void)
{
	T_STREQ(names("{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":["
		      "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"x\"}},"
		      "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\",\"namespace\":\"x\"}}],"
		      "\"metadata\":{\"resourceVersion\":\"\"}}"),
		"Namespace /x,Pod x/a");
	/* the API server's typed lists leave kind and apiVersion out of their items */
	T_STREQ(names("{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicyList\",\"items\":["
		      "{\"metadata\":{\"name\":\"a\"}},{\"metadata\":{\"name\":\"b\",\"namespace\":\"y\"}}]}"),
		"NetworkPolicy default/a,NetworkPolicy y/b");
	T_STREQ(names("[{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"}},"
		      "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"b\"}}]"),
		"Pod default/a,Pod default/b");
	/* YAML streams: empty documents skipped, a List among objects */
	T_STREQ(names("---\napiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n---\n---\n"
		      "# only a comment\n---\napiVersion: v1\nkind: List\nitems:\n"
		      "- {apiVersion: v1, kind: Pod, metadata: {name: a, namespace: x}}\n"
		      "- {apiVersion: v1, kind: Pod, metadata: {name: b, namespace: x}}\n"
		      "...\n---\napiVersion: v1\nkind: PodList\nitems: []\n"),
		"Namespace /x,Pod x/a,Pod x/b");
	T_STREQ(names("apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Pod, metadata: {name: A}}\n"
		      "- {apiVersion: v1, kind: Pod, metadata: {name: b}}\n"),
		"[metadata.name: invalid value \"A\": " SUB "],Pod default/b");
	T_STREQ(names(""), "");
	T_STREQ(names("{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[1]}"),
		"error: document 1: items[0]: must be an object");
	/* JSON is read without the YAML reader; YAML needs it */
	{
		struct err e = {0};
		cJSON *items = NULL;

		T_EQ(k8s_split(" [] ", 4, NULL, &items, &e), 0);
		T_EQ(cJSON_GetArraySize(items), 0);
		cJSON_Delete(items);
		T_ASSERT(k8s_split("a: b", 4, NULL, &items, &e) < 0);
		T_STREQ(e.msg,
			"input is not JSON (it does not start with '{' or '['), and YAML is read only by sluicectl and sluiced");
	}
}

/* YAML scalars as go-yaml v2 (kubectl) resolves them */
static void test_yaml_scalars(void)
{
	struct err e = {0};
	cJSON *docs;
	char *s;
	static const char in[] =
		"a: 80\nb: '80'\nc: \"80\"\nd: true\ne: yes\nf: off\ng: ~\nh: null\ni:\nj: 0x1F\n"
		"k: 0o17\nl: 017\nm: 1_000\nn: -2.5e1\no: 2024-05-02T10:11:12Z\np: 'true'\n"
		"q: !!str 12\nr: |\n  x\n  y\ns: >-\n  x\n  y\nt: 1.2.3\nu: +12\nv: 0b101\nw: 089\n"
		"80: port\n";

	T_EQ(k8s_yaml_read(in, strlen(in), &docs, &e), 0);
	s = cJSON_PrintUnformatted(docs);
	T_STREQ(s,
		"[{\"a\":80,\"b\":\"80\",\"c\":\"80\",\"d\":true,\"e\":true,\"f\":false,\"g\":null,"
		"\"h\":null,\"i\":null,\"j\":31,\"k\":15,\"l\":15,\"m\":1000,\"n\":-25,"
		"\"o\":\"2024-05-02T10:11:12Z\",\"p\":\"true\",\"q\":\"12\",\"r\":\"x\\ny\\n\","
		"\"s\":\"x y\",\"t\":\"1.2.3\",\"u\":12,\"v\":5,\"w\":89,\"80\":\"port\"}]");
	free(s);
	cJSON_Delete(docs);
}

/* Anchors and aliases resolve; what they expand to is bounded */
static void test_yaml_aliases(void)
{
	struct err e = {0};
	char laughs[2048];
	cJSON *docs;
	size_t n = 0;
	char *s;
	int i;

	static const char al[] = "a: &l {x: 1}\nb: *l\nc: &s v\nd: [*s, *s]\n";

	T_EQ(k8s_yaml_read(al, strlen(al), &docs, &e), 0);
	s = cJSON_PrintUnformatted(docs);
	T_STREQ(s, "[{\"a\":{\"x\":1},\"b\":{\"x\":1},\"c\":\"v\",\"d\":[\"v\",\"v\"]}]");
	free(s);
	cJSON_Delete(docs);
	/* anchors do not cross documents */
	T_ASSERT(k8s_yaml_read("a: &x 1\n---\nb: *x\n", 18, &docs, &e) < 0);
	T_STREQ(e.msg, "YAML line 3:4: unknown anchor \"x\"");
	/* billion laughs: 10 levels of 10 aliases each */
	n += snprintf(laughs + n, sizeof(laughs) - n, "a0: &a0 [lol]\n");
	for (i = 1; i < 10; i++)
		n += snprintf(
			laughs + n, sizeof(laughs) - n,
			"a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n",
			i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
	memset(&e, 0, sizeof(e));
	T_ASSERT(k8s_yaml_read(laughs, n, &docs, &e) < 0);
	T_ASSERT(strstr(e.msg, "aliases expand to more than 100000 nodes in all") != NULL);
}

/* Duplicate keys of a map too large for the YAML reader's own check are still found */
static void test_large_maps(void)
{
	size_t cap = 64 * 1024, n = 0;
	char *in = malloc(cap);
	int i;

	T_ASSERT(in);
	n += snprintf(in + n, cap - n,
		      "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels:\n");
	for (i = 0; i < 3000; i++)
		n += snprintf(in + n, cap - n, "    k%d: v\n", i);
	T_ASSERT(!strncmp(norm(in), "{\"apiVersion\":\"v1\"", 16));
	snprintf(in + n, cap - n, "    k5: w\n");
	T_STREQ(norm(in), "error: metadata.labels.k5: duplicate field");
	free(in);
}

/* YAML written as kubectl prints it, and read back as the same JSON */
static void test_yaml_write(void)
{
	static const char *const docs[] = {
		"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"labels\":{\"a\":\"true\",\"b\":\"80\",\"c\":\"\",\"d\":\"y\",\"e\":\"1e3\",\"f\":\"0x10\",\"g\":\"null\",\"h\":\"x: y\",\"i\":\"- z\",\"j\":\"line1\\nline2\\n\",\"k\":\"~\",\"l\":\"#c\",\"m\":\"2024-05-02T10:11:12Z\",\"n\":\" lead\"}},\"spec\":{\"a\":[],\"b\":{},\"c\":[1,-2.5,true,false,null,[[]]],\"d\":1e300}}",
		"{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[]}",
		"{\"80\":\"true\",\"\":1}",
	};
	struct err e = {0};
	cJSON *in, *back;
	char *y, *s;
	size_t i;

	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		in = cJSON_Parse(docs[i]);
		T_ASSERT(in);
		T_EQ(k8s_yaml_write(in, &y, &e), 0);
		T_EQ(k8s_yaml_read(y, strlen(y), &back, &e), 0);
		s = cJSON_PrintUnformatted(cJSON_GetArrayItem(back, 0));
		if (!cJSON_Compare(in, cJSON_GetArrayItem(back, 0), true))
			printf("  yaml:\n%s  read back: %s\n", y, s);
		T_ASSERT(cJSON_Compare(in, cJSON_GetArrayItem(back, 0), true));
		free(s);
		free(y);
		cJSON_Delete(back);
		cJSON_Delete(in);
	}
	in = cJSON_Parse(
		"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"labels\":{\"on\":\"true\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"ports\":[{\"containerPort\":80}]}]},\"status\":{}}");
	T_EQ(k8s_yaml_write(in, &y, &e), 0);
	T_STREQ(y,
		"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels:\n    \"on\": \"true\"\nspec:\n  containers:\n  - name: c\n    ports:\n    - containerPort: 80\nstatus: {}\n");
	free(y);
	cJSON_Delete(in);
}

/* Annotations: 256 KiB in all; SCTP accepted like TCP and UDP */
static void test_sizes_and_sctp(void)
{
	size_t n = 300 * 1024, k;
	char *in = malloc(n + 256);

	T_ASSERT(in);
	k = (size_t)snprintf(
		in, 256,
		"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    a: ");
	memset(in + k, 'x', n);
	strcpy(in + k + n, "\n");
	T_STREQ(norm(in), "error: metadata.annotations: may not be more than 262144 bytes in all");
	free(in);
	T_STREQ(norm(NP "  egress:\n  - ports: [{port: 36412, protocol: SCTP}]\n"),
		"{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\",\"metadata\":{\"name\":\"np\",\"namespace\":\"default\"},\"spec\":{\"egress\":[{\"ports\":[{\"port\":36412,\"protocol\":\"SCTP\"}]}],\"podSelector\":{},\"policyTypes\":[\"Ingress\",\"Egress\"]}}");
	T_STREQ(norm(CP "    - {containerPort: 36412, protocol: SCTP, name: s1ap}\n"),
		"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"ports\":[{\"containerPort\":36412,\"protocol\":\"SCTP\",\"name\":\"s1ap\"}]}]}}");
}

static void test_keys_and_kinds(void)
{
	char k[128];

	T_EQ(k8s_key("/sluice/network", K8S_NAMESPACE, "", "x", k, sizeof(k)), 0);
	T_STREQ(k, "/sluice/network/namespaces/x");
	T_EQ(k8s_key("/p", K8S_POD, "x", "a.b", k, sizeof(k)), 0);
	T_STREQ(k, "/p/pods/x/a.b");
	T_EQ(k8s_key("/p", K8S_POLICY, "x", "deny", k, sizeof(k)), 0);
	T_STREQ(k, "/p/policies/x/deny");
	T_EQ(k8s_key("/p", K8S_POLICY, "x", "deny", k, 10), -ENAMETOOLONG);
	T_EQ(k8s_key_prefix("/p", K8S_POD, "x", k, sizeof(k)), 0);
	T_STREQ(k, "/p/pods/x/");
	T_EQ(k8s_key_prefix("/p", K8S_POLICY, NULL, k, sizeof(k)), 0);
	T_STREQ(k, "/p/policies/");
	T_EQ(k8s_key_prefix("/p", K8S_NAMESPACE, "x", k, sizeof(k)), 0);
	T_STREQ(k, "/p/namespaces/");
	T_EQ(k8s_kind_parse("ns"), K8S_NAMESPACE);
	T_EQ(k8s_kind_parse("namespaces"), K8S_NAMESPACE);
	T_EQ(k8s_kind_parse("po"), K8S_POD);
	T_EQ(k8s_kind_parse("pod"), K8S_POD);
	T_EQ(k8s_kind_parse("netpol"), K8S_POLICY);
	T_EQ(k8s_kind_parse("networkpolicies"), K8S_POLICY);
	T_EQ(k8s_kind_parse("service"), -1);
	T_EQ(k8s_kind_parse("Pod"), -1);
	T_STREQ(k8s_kind_resource(K8S_POLICY), "networkpolicy.networking.k8s.io");
}

static void test_ident_and_label(void)
{
	struct err e = {0};
	struct k8s_object o;
	cJSON *in;
	char l[128];

	/* delete -f reads only what an object is */
	in = cJSON_Parse(
		"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"},\"spec\":{\"containers\":7}}");
	T_EQ(k8s_object_ident(in, &o, &e), 0);
	T_EQ(o.kind, K8S_POD);
	T_STREQ(o.ns, "default");
	T_STREQ(o.name, "a");
	T_ASSERT(o.json == NULL);
	T_ASSERT(k8s_object_parse(in, &o, &e) < 0);
	T_STREQ(e.msg, "spec.containers: must be an array");
	T_STREQ(k8s_object_label(in, l, sizeof(l)), "Pod default/a");
	cJSON_Delete(in);
	in = cJSON_Parse("{\"kind\":\"Namespace\",\"metadata\":{}}");
	T_STREQ(k8s_object_label(in, l, sizeof(l)), "Namespace ?");
	cJSON_Delete(in);
	in = cJSON_Parse("[1]");
	T_STREQ(k8s_object_label(in, l, sizeof(l)), "? default/?");
	cJSON_Delete(in);
}

int main(void)
{
	T_RUN(test_refusals);
	T_RUN(test_normalized);
	T_RUN(test_kubectl_yaml);
	T_RUN(test_parity);
	T_RUN(test_lists);
	T_RUN(test_yaml_scalars);
	T_RUN(test_yaml_aliases);
	T_RUN(test_large_maps);
	T_RUN(test_yaml_write);
	T_RUN(test_sizes_and_sctp);
	T_RUN(test_keys_and_kinds);
	T_RUN(test_ident_and_label);
	return T_EXIT();
}
