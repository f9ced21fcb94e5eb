// SPDX-License-Identifier: Apache-2.0
/* The renderer against the NetworkPolicy semantics of the reference (§5): each rule as the
 * exact sets, elements, chains and rules it renders to. */
#define T_NAME "test_policy_render"
#include <errno.h>
#include <stdio.h>
#include <netinet/in.h>
#include <linux/netfilter.h>

#include "t.h"
#include "policy_t.h"

#define NS(n) "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: '" n "'\n"
#define POD(ns, n, lbl)                                                                 \
	"---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: '" n "'\n  namespace: '" ns \
	"'\n  labels: " lbl "\n"
#define NP(ns, n)                                                                            \
	"---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: '" n \
	"'\n  namespace: '" ns "'\nspec:\n"
#define PORTS(list) "spec: {containers: [{name: c, ports: [" list "]}]}\n"

/* The cluster every case starts from, node n1's view:
 *   x (labels ns=x):            a (pod=a, n1), b (pod=b, n2)
 *   y (labels ns=y, team=blue): c (pod=c, n1), e (no Pod object, no labels, n1, IPv4 only)
 *   z (no Namespace object):    d (no Pod object, ADD labels pod=d, n1, IPv4 only)
 * named ports: a serve-80-tcp 80/TCP, serve-80-udp 80/UDP, http 8080/TCP; b http 8081/TCP;
 * c http 9090/UDP */
static int layout(void)
{
	m_reset("n1");
	return put(NS("x") "  labels: {ns: x}\n" NS("y") "  labels: {ns: 'y', team: blue}\n" POD(
		       "x", "a", "{pod: a}") PORTS("{name: serve-80-tcp, containerPort: 80}, "
						   "{name: serve-80-udp, containerPort: 80, "
						   "protocol: UDP}, {name: http, containerPort: 8080}")
			   POD("x", "b", "{pod: b}") PORTS("{name: http, containerPort: 8081}")
				   POD("y", "c", "{pod: c}")
					   PORTS("{name: http, containerPort: 9090, protocol: UDP}")) -
		       1
	       ?: ep("n1", "ca", "x", "a", "10.0.1.1 fd00::1:1", NULL) - 1
	       ?: ep("n2", "cb", "x", "b", "10.0.2.1 fd00::2:1", NULL) - 1
	       ?: ep("n1", "cc", "y", "c", "10.0.1.2 fd00::1:2", NULL) - 1
	       ?: ep("n1", "ce", "y", "", "10.0.1.5", NULL) - 1
	       ?: ep("n1", "cd", "z", "", "10.0.1.3", "{\"pod\":\"d\"}") - 1;
}

/* class chain name of the targets, as the renderer names it */
static const char *class_name(const char *prefix, const char *targets)
{
	static char out[POL_NAME_MAX];

	snprintf(out, sizeof(out), "%s", prefix);
	pol_hex_digest(targets, strlen(targets), POL_ID_LEN, out + 3);
	return out;
}

/* the ingress (dir 'i') or egress class of the one policy ns/name */
static const char *class1(char dir, const char *ns, const char *name)
{
	return class_name(dir == 'i' ? "ci-" : "ce-",
			  with_id(dir == 'i' ? "pi-<id>" : "pe-<id>", ns, name));
}

/* the goto of ip's element in set (a static buffer; "" when none) */
static const char *goto_of(const char *set, const char *ip)
{
	static char out[2][POL_NAME_MAX];
	static int at;
	char prefix[64];
	const char *l;

	at = (at + 1) % 2;
	out[at][0] = '\0';
	snprintf(prefix, sizeof(prefix), "%s : goto ", ip);
	l = strstr(elems(set), prefix);
	if (l)
		sscanf(l + strlen(prefix), "%47[^,]", out[at]);
	return out[at];
}

/* two pods each selected by 230 policies, the same 229 and one of their own that sorts last:
 * their class chains differ (the class name hashes every target, not a cut list) */
static void test_class_many_targets(void)
{
	char best[2][POL_ID_LEN + 1] = {"", ""}, bname[2][16], name[16], *yaml;
	size_t len = 0, size = 1 << 16;
	const char *id, *ga, *gc;
	int i, n = 0;

	for (i = 0; i < 400; i++) { /* the two policy names whose ids sort last */
		snprintf(name, sizeof(name), "p%d", i);
		id = pid("x", name);
		if (strcmp(id, best[1]) > 0) {
			memcpy(best[0], best[1], sizeof(best[0]));
			memcpy(bname[0], bname[1], sizeof(bname[0]));
			snprintf(best[1], sizeof(best[1]), "%s", id);
			snprintf(bname[1], sizeof(bname[1]), "%s", name);
		} else if (strcmp(id, best[0]) > 0) {
			snprintf(best[0], sizeof(best[0]), "%s", id);
			snprintf(bname[0], sizeof(bname[0]), "%s", name);
		}
	}
	yaml = malloc(size);
	T_ASSERT(yaml != NULL);
	len += (size_t)snprintf(yaml + len, size - len, "%s",
				NS("x") POD("x", "a", "{pod: a}") POD("x", "c", "{pod: c}"));
	for (i = 0; i < 400 && n < 229; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		if (strcmp(name, bname[0]) && strcmp(name, bname[1])) {
			len += (size_t)snprintf(yaml + len, size - len,
						NP("x", "%s") "  podSelector: {}\n", name);
			n++;
		}
	}
	for (i = 0; i < 2; i++)
		len += (size_t)snprintf(yaml + len, size - len,
					NP("x", "%s") "  podSelector: {matchLabels: {pod: %s}}\n",
					bname[i], i ? "c" : "a");
	T_ASSERT(len < size);
	m_reset("n1");
	T_EQ(put(yaml), 1);
	free(yaml);
	T_EQ(ep("n1", "ca", "x", "a", "10.0.1.1", NULL), 1);
	T_EQ(ep("n1", "cc", "x", "c", "10.0.1.2", NULL), 1);
	T_EQ(render(), 0);
	ga = goto_of("ing4", "10.0.1.1");
	gc = goto_of("ing4", "10.0.1.2");
	T_ASSERT(*ga && *gc);
	T_ASSERT(strcmp(ga, gc) != 0);
}

/* §5.1, §5.2, §5.4: a policy with no ingress rules isolates the pods it selects (every pod
 * of its namespace with {}), those on this node getting a dispatch element, for ingress
 * only */
static void test_default_deny_ingress(void)
{
	char want[256];

	T_EQ(layout(), 0);
	T_EQ(put(NP("x", "deny") "  podSelector: {}\n"), 1);
	T_EQ(render(), 0);
	T_STREQ(lines("chain "), with_id("chain pi-<id> ingress x/deny", "x", "deny"));
	T_STREQ(lines("rule "), "");
	snprintf(want, sizeof(want), "10.0.1.1 : goto %s", class1('i', "x", "deny"));
	T_STREQ(elems("ing4"), want);
	snprintf(want, sizeof(want), "fd00::1:1 : goto %s", class1('i', "x", "deny"));
	T_STREQ(elems("ing6"), want);
	T_STREQ(elems("egr4"), "");
	T_STREQ(elems("egr6"), "");
	snprintf(want, sizeof(want), "class %s ingress %s", class1('i', "x", "deny"),
		 with_id("pi-<id>", "x", "deny"));
	T_STREQ(lines("class "), want);
}

static void test_default_deny_egress(void)
{
	char want[256];

	T_EQ(layout(), 0);
	T_EQ(put(NP("x", "deny") "  podSelector: {}\n  policyTypes: [Egress]\n"), 1);
	T_EQ(render(), 0);
	T_STREQ(lines("chain "), with_id("chain pe-<id> egress x/deny", "x", "deny"));
	T_STREQ(lines("rule "), "");
	T_STREQ(elems("ing4"), "");
	T_STREQ(elems("ing6"), "");
	snprintf(want, sizeof(want), "10.0.1.1 : goto %s", class1('e', "x", "deny"));
	T_STREQ(elems("egr4"), want);
	snprintf(want, sizeof(want), "fd00::1:1 : goto %s", class1('e', "x", "deny"));
	T_STREQ(elems("egr6"), want);
}

static void test_default_deny_both(void)
{
	char want[512];

	T_EQ(layout(), 0);
	T_EQ(put(NP("y", "deny") "  podSelector: {}\n  policyTypes: [Ingress, Egress]\n"), 1);
	T_EQ(render(), 0);
	T_STREQ(lines("chain "), with_id("chain pe-<id> egress y/deny\n"
					 "chain pi-<id> ingress y/deny",
					 "y", "deny"));
	/* c (dual-stack) and e (IPv4 only) in y, both on n1 */
	snprintf(want, sizeof(want), "10.0.1.2 : goto %s, 10.0.1.5 : goto %s",
		 class1('i', "y", "deny"), class1('i', "y", "deny"));
	T_STREQ(elems("ing4"), want);
	snprintf(want, sizeof(want), "fd00::1:2 : goto %s", class1('e', "y", "deny"));
	T_STREQ(elems("egr6"), want);
	T_EQ(RS.ncchains, 2);
}

/* §5.3: without policyTypes, Ingress always, Egress only with egress rules ([] has none);
 * a direction not listed renders nothing of its rules */
static void test_policy_types(void)
{
	T_EQ(layout(), 0);
	T_EQ(put(NP("x", "p1") "  podSelector: {}\n  egress: [{}]\n" NP(
		     "x",
		     "p2") "  podSelector: "
			   "{}\n  egress: []\n" NP(
				   "x",
				   "p3") "  podSelector: {}\n  policyTypes: [Egress]\n  ingress: [{}]\n"),
	     1);
	T_EQ(render(), 0);
	T_ASSERT(strstr(lines("chain "), with_id("chain pe-<id> egress x/p1", "x", "p1")));
	T_ASSERT(strstr(lines("chain "), with_id("chain pi-<id> ingress x/p1", "x", "p1")));
	T_ASSERT(strstr(lines("chain "), with_id("chain pe-<id> egress x/p3", "x", "p3")));
	T_ASSERT(strstr(lines("chain "), with_id("chain pi-<id> ingress x/p2", "x", "p2")));
	T_ASSERT(!strstr(lines("chain "), with_id("chain pi-<id>", "x", "p3")));
	T_ASSERT(!strstr(lines("chain "), with_id("chain pe-<id>", "x", "p2")));
	/* p3's ingress: [{}] would allow all; as Ingress is not its type, no rule says so */
	T_STREQ(lines("rule "), with_id("rule pe-<id> egress[0] inet accept", "x", "p1"));
}

/* §5.7: a podSelector peer picks pods of the policy's namespace only (an endpoint on
 * another node too); one rule per family */
static void test_allow_by_pod(void)
{
	T_EQ(layout(), 0);
	T_EQ(put(NP("x", "web") "  podSelector: {matchLabels: {pod: a}}\n  ingress:\n  - from:\n"
				"    - podSelector: {matchLabels: {pod: b}}\n"
				"    - podSelector: {matchLabels: {pod: c}}\n"),
	     1);
	T_EQ(render(), 0);
	T_STREQ(elems(sname("x", "web", 'i', 0, "a4")), "10.0.2.1");
	T_STREQ(elems(sname("x", "web", 'i', 0, "a6")), "fd00::2:1");
	T_STREQ(lines("rule "), with_id("rule pi-<id> ingress[0] ip saddr @i<id>r0a4 accept\n"
					"rule pi-<id> ingress[0] ip6 saddr @i<id>r0a6 accept",
					"x", "web"));
	T_STREQ(elems(sname("x", "web", 'i', 0, "b4")), "(none)");
	T_STREQ(elems(sname("x", "web", 'i', 0, "p")), "(none)");
}

/* §5.7: a namespaceSelector peer picks every pod of the namespaces it matches; a namespace
 * without a Namespace object still carries its name label */
static void test_allow_by_namespace(void)
{
	T_EQ(layout(), 0);
	T_EQ(put(NP("x", "p") "  podSelector: {}\n  ingress:\n"
			      "  - from: [{namespaceSelector: {matchLabels: {team: blue}}}]\n"
			      "  - from: [{namespaceSelector: {}}]\n"
			      "  - from: [{namespaceSelector: {matchLabels: "
			      "{kubernetes.io/metadata.name: z}}}]\n"
			      "  - from: [{namespaceSelector: {matchLabels: "
			      "{kubernetes.io/metadata.name: x}}}]\n"),
	     1);
	T_EQ(render(), 0);
	T_STREQ(elems(sname("x", "p", 'i', 0, "a4")), "10.0.1.2, 10.0.1.5");
	T_STREQ(elems(sname("x", "p", 'i', 0, "a6")), "fd00::1:2");
	T_STREQ(elems(sname("x", "p", 'i', 1, "a4")),
		"10.0.1.1, 10.0.1.2, 10.0.1.3, 10.0.1.5, 10.0.2.1");
	T_STREQ(elems(sname("x", "p", 'i', 2, "a4")), "10.0.1.3");
	T_STREQ(elems(sname("x", "p", 'i', 3, "a4")), "10.0.1.1, 10.0.2.1");
}

/* §5.7: both selectors in one peer AND, two peers OR */
static void test_allow_by_both(void)
{
	T_EQ(layout(), 0);
	T_EQ(put(NP("y", "p") "  podSelector: {}\n  ingress:\n"
			      "  - from: [{namespaceSelector: {matchLabels: {ns: x}}, "
			      "podSelector: {matchLabels: {pod: b}}}]\n"
			      "  - from: [{namespaceSelector: {matchLabels: {ns: x}}}, "
			      "{podSelector: {matchLabels: {pod: c}}}]\n"
			      "  - from: [{namespaceSelector: {matchLabels: {ns: x}}, "
			      "podSelector: {matchLabels: {pod: c}}}]\n"),
	     1);
	T_EQ(render(), 0);
	T_STREQ(elems(sname("y", "p", 'i', 0, "a4")), "10.0.2.1");
	T_STREQ(elems(sname("y", "p", 'i', 1, "a4")), "10.0.1.1, 10.0.1.2, 10.0.2.1");
	T_STREQ(elems(sname("y", "p", 'i', 2, "a4")), "");
}

/* matchExpressions, each operator; NotIn and DoesNotExist match a pod without the key */
static void test_match_expressions(void)
{
	T_EQ(layout(), 0);
	T_EQ(put(NP("x", "p") "  podSelector: {}\n  ingress:\n"
			      "  - from: [{namespaceSelector: {}, podSelector: {matchExpressions: "
			      "[{key: pod, operator: In, values: [a, c]}]}}]\n"
			      "  - from: [{namespaceSelector: {}, podSelector: {matchExpressions: "
			      "[{key: pod, operator: NotIn, values: [a]}]}}]\n"
			      "  - from: [{namespaceSelector: {}, podSelector: {matchExpressions: "
			      "[{key: pod, operator: Exists}]}}]\n"
			      "  - from: [{namespaceSelector: {}, podSelector: {matchExpressions: "
			      "[{key: pod, operator: DoesNotExist}]}}]\n"
			      "  - from: [{namespaceSelector: {matchExpressions: [{key: team, "
			      "operator: NotIn, values: [blue]}]}}]\n"
			      "  - from: [{namespaceSelector: {matchExpressions: [{key: team, "
			      "operator: Exists}], matchLabels: {ns: 'y'}}, podSelector: "
			      "{matchExpressions: [{key: pod, operator: In, values: [c]}]}}]\n"),
	     1);
	T_EQ(render(), 0);
	T_STREQ(elems(sname("x", "p", 'i', 0, "a4")), "10.0.1.1, 10.0.1.2");
	T_STREQ(elems(sname("x", "p", 'i', 1, "a4")), "10.0.1.2, 10.0.1.3, 10.0.1.5, 10.0.2.1");
	T_STREQ(elems(sname("x", "p", 'i', 2, "a4")), "10.0.1.1, 10.0.1.2, 10.0.1.3, 10.0.2.1");
	T_STREQ(elems(sname("x", "p", 'i', 3, "a4")), "10.0.1.5");
	T_STREQ(elems(sname("x", "p", 'i', 4, "a4")), "10.0.1.1, 10.0.1.3, 10.0.2.1");
	T_STREQ(elems(sname("x", "p", 'i', 5, "a4")), "10.0.1.2");
}

/* §5.7, §5.9: ipBlocks as cidr minus excepts, merged over the rule's blocks (overlapping
 * and touching ranges joined), per family */
static void test_ip_block(void)
{
	T_EQ(layout(), 0);
	T_EQ(put(NP("x",
		    "p") "  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n"
			 "  - to:\n"
			 "    - ipBlock: {cidr: 10.0.0.0/16, except: [10.0.1.0/24, 10.0.3.0/24]}\n"
			 "    - ipBlock: {cidr: 10.0.2.128/25}\n"
			 "    - ipBlock: {cidr: 10.0.1.0/25}\n"
			 "    - ipBlock: {cidr: 192.168.0.7/24}\n"
			 "    - ipBlock: {cidr: 'fd00::/64', except: ['fd00::/65']}\n"
			 "  - to:\n"
			 "    - ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8, "
			 "255.255.255.255/32]}\n"
			 "  - to: [{ipBlock: {cidr: '::/0', except: ['::/1']}}]\n"
			 "  - to: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.0.1.0/24, "
			 "10.0.0.0/23, 10.0.0.128/25, 10.0.255.255/32]}}]\n"),
	     1);
	T_EQ(render(), 0);
	T_STREQ(elems(sname("x", "p", 'e', 0, "b4")),
		"10.0.0.0-10.0.1.127, 10.0.2.0-10.0.2.255, 10.0.4.0-10.0.255.255, "
		"192.168.0.0-192.168.0.255");
	T_STREQ(elems(sname("x", "p", 'e', 0, "b6")), "fd00::8000:0:0:0-fd00::ffff:ffff:ffff:ffff");
	T_STREQ(elems(sname("x", "p", 'e', 1, "b4")),
		"0.0.0.0-9.255.255.255, 11.0.0.0-255.255.255.254");
	T_STREQ(elems(sname("x", "p", 'e', 1, "b6")), "(none)");
	T_STREQ(elems(sname("x", "p", 'e', 2, "b6")),
		"8000::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	/* excepts overlapping one another */
	T_STREQ(elems(sname("x", "p", 'e', 3, "b4")), "10.0.2.0-10.0.255.254");
	T_STREQ(elems(sname("x", "p", 'e', 0, "a4")), "(none)");
	T_STREQ(lines("rule "), with_id("rule pe-<id> egress[0] ip daddr @e<id>r0b4 accept\n"
					"rule pe-<id> egress[0] ip6 daddr @e<id>r0b6 accept\n"
					"rule pe-<id> egress[1] ip daddr @e<id>r1b4 accept\n"
					"rule pe-<id> egress[2] ip6 daddr @e<id>r2b6 accept\n"
					"rule pe-<id> egress[3] ip daddr @e<id>r3b4 accept",
					"x", "p"));
}

/* §5.8: TCP (the default), UDP, SCTP, endPort ranges, a protocol alone (every port),
 * overlapping and touching ranges merged per protocol */
static void test_ports(void)
{
	T_EQ(layout(), 0);
	T_EQ(put(NP("x",
		    "p") "  podSelector: {}\n  ingress:\n  - ports:\n"
			 "    - port: 80\n    - {port: 81, protocol: UDP}\n"
			 "    - {port: 80, protocol: SCTP}\n"
			 "    - {port: 8000, endPort: 8080}\n    - {port: 8080, endPort: 9000}\n"
			 "    - {protocol: UDP}\n    - {port: 79}\n    - {port: 9002}\n"
			 "  - ports: [{port: 53, protocol: UDP}]\n"),
	     1);
	T_EQ(render(), 0);
	T_STREQ(elems(sname("x", "p", 'i', 0, "p")),
		"tcp . 79-80, tcp . 8000-9000, tcp . 9002, udp . 0-65535, sctp . 80");
	T_STREQ(elems(sname("x", "p", 'i', 1, "p")), "udp . 53");
	T_STREQ(lines("rule "),
		with_id("rule pi-<id> ingress[0] inet l4proto.dport @i<id>r0p "
			"accept\n"
			"rule pi-<id> ingress[1] inet l4proto.dport @i<id>r1p accept",
			"x", "p"));
	T_STREQ(elems(sname("x", "p", 'i', 0, "n4")), "(none)");
}

/* §5.8: a named port resolves on the destination pod, name and protocol both matching:
 * ingress on the selected pods of this node, egress on every endpoint */
static void test_named_ports(void)
{
	T_EQ(layout(), 0);
	T_EQ(put(NP("x",
		    "in") "  podSelector: {}\n  ingress:\n  - ports:\n"
			  "    - port: http\n    - {port: serve-80-udp, protocol: UDP}\n"
			  "    - {port: serve-80-tcp, protocol: UDP}\n" NP(
				  "y",
				  "out") "  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n"
					 "  - to: [{namespaceSelector: {}}]\n    ports: [{port: http}]\n"
					 "  - ports: [{port: http, protocol: UDP}, {port: 53}]\n"),
	     1);
	/* a3 on n1 names its port http too, another number */
	T_EQ(put(POD("x", "a3", "{pod: a3}") PORTS("{name: http, containerPort: 8082}")), 1);
	T_EQ(ep("n1", "ca3", "x", "a3", "10.0.1.9", NULL), 1);
	T_EQ(render(), 0);
	/* a's and a3's (b is on n2: its ingress is its own node's business) */
	T_STREQ(elems(sname("x", "in", 'i', 0, "n4")),
		"10.0.1.1 . tcp . 8080, 10.0.1.1 . udp . 80, 10.0.1.9 . tcp . 8082");
	T_STREQ(elems(sname("x", "in", 'i', 0, "n6")),
		"fd00::1:1 . tcp . 8080, fd00::1:1 . udp . 80");
	T_STREQ(lines(with_id("rule pi-<id>", "x", "in")),
		with_id("rule pi-<id> ingress[0] ip daddr.l4proto.dport @i<id>r0n4 accept\n"
			"rule pi-<id> ingress[0] ip6 daddr.l4proto.dport @i<id>r0n6 accept",
			"x", "in"));
	/* every pod with http/TCP, whatever its node; c's http is UDP */
	T_STREQ(elems(sname("y", "out", 'e', 0, "n4")),
		"10.0.1.1 . tcp . 8080, 10.0.1.9 . tcp . 8082, 10.0.2.1 . tcp . 8081");
	T_STREQ(elems(sname("y", "out", 'e', 1, "n4")), "10.0.1.2 . udp . 9090");
	T_STREQ(elems(sname("y", "out", 'e', 1, "p")), "tcp . 53");
	T_STREQ(lines(with_id("rule pe-<id>", "y", "out")),
		with_id("rule pe-<id> egress[0] ip daddr @e<id>r0a4 daddr.l4proto.dport @e<id>r0n4 "
			"accept\n"
			"rule pe-<id> egress[0] ip6 daddr @e<id>r0a6 daddr.l4proto.dport @e<id>r0n6 "
			"accept\n"
			"rule pe-<id> egress[1] inet l4proto.dport @e<id>r1p accept\n"
			"rule pe-<id> egress[1] ip daddr.l4proto.dport @e<id>r1n4 accept\n"
			"rule pe-<id> egress[1] ip6 daddr.l4proto.dport @e<id>r1n6 accept",
			"y", "out"));
}

/* address forms x port forms, families agreeing, in a fixed order */
static void test_rule_forms(void)
{
	T_EQ(layout(), 0);
	T_EQ(put(NP("x", "p") "  podSelector: {}\n  ingress:\n  - from:\n"
			      "    - podSelector: {}\n    - ipBlock: {cidr: 10.0.0.0/8}\n"
			      "    - ipBlock: {cidr: 'fd00::/8'}\n"
			      "    ports: [{port: 80}, {port: http}]\n"),
	     1);
	T_EQ(render(), 0);
	T_STREQ(lines("rule "),
		with_id("rule pi-<id> ingress[0] ip saddr @i<id>r0a4 l4proto.dport @i<id>r0p accept\n"
			"rule pi-<id> ingress[0] ip saddr @i<id>r0a4 daddr.l4proto.dport @i<id>r0n4 "
			"accept\n"
			"rule pi-<id> ingress[0] ip6 saddr @i<id>r0a6 l4proto.dport @i<id>r0p accept\n"
			"rule pi-<id> ingress[0] ip6 saddr @i<id>r0a6 daddr.l4proto.dport @i<id>r0n6 "
			"accept\n"
			"rule pi-<id> ingress[0] ip saddr @i<id>r0b4 l4proto.dport @i<id>r0p accept\n"
			"rule pi-<id> ingress[0] ip saddr @i<id>r0b4 daddr.l4proto.dport @i<id>r0n4 "
			"accept\n"
			"rule pi-<id> ingress[0] ip6 saddr @i<id>r0b6 l4proto.dport @i<id>r0p accept\n"
			"rule pi-<id> ingress[0] ip6 saddr @i<id>r0b6 daddr.l4proto.dport @i<id>r0n6 "
			"accept",
			"x", "p"));
	T_EQ(RS.pchains[0].rules[0].family, NFPROTO_IPV4);
	T_EQ(RS.pchains[0].rules[2].family, NFPROTO_IPV6);
}

/* §5.4, §5.6: ingress [] and absent both deny; from [] / ports [] / {} allow everything */
static void test_empty_and_absent(void)
{
	T_EQ(layout(), 0);
	T_EQ(put(NP("x", "empty") "  podSelector: {}\n  ingress: []\n" NP("x", "absent") "  podSelector: {}\n" NP(
		     "y",
		     "all") "  podSelector: {}\n  ingress: [{}]\n" NP("y",
								      "lists") "  podSelector: {}\n  ingress: [{from: [], ports: []}]\n"),
	     1);
	T_EQ(render(), 0);
	T_STREQ(lines(with_id("rule pi-<id>", "x", "empty")), "");
	T_STREQ(lines(with_id("rule pi-<id>", "x", "absent")), "");
	T_STREQ(lines(with_id("chain pi-<id>", "x", "empty")),
		with_id("chain pi-<id> ingress x/empty", "x", "empty"));
	T_STREQ(lines(with_id("rule pi-<id>", "y", "all")),
		with_id("rule pi-<id> ingress[0] inet accept", "y", "all"));
	T_STREQ(lines(with_id("rule pi-<id>", "y", "lists")),
		with_id("rule pi-<id> ingress[0] inet accept", "y", "lists"));
	/* no set at all but the dispatch maps and the stamp */
	T_EQ(RS.nsets, 5);
}

/* §5.4: policies add up: a pod's class jumps to each policy selecting it (sorted); pods
 * with the same policies share one class chain */
static void test_policies_add_up(void)
{
	char targets[128], want[512];

	T_EQ(layout(), 0);
	T_EQ(put(POD("x", "a2", "{pod: a}")
			 NP("x", "p1") "  podSelector: {}\n" NP("x", "p2") "  podSelector: {matchLabels: {pod: a}}\n  ingress: [{}]\n" NP(
				 "x", "p3") "  podSelector: {matchLabels: {pod: b}}\n"),
	     1);
	T_EQ(ep("n1", "ca2", "x", "a2", "10.0.1.7", NULL), 1);
	T_EQ(ep("n1", "cb2", "x", "nopod", "10.0.1.8", "{\"pod\":\"b\"}"), 1);
	T_EQ(render(), 0);
	if (strcmp(pid("x", "p1"), pid("x", "p2")) < 0)
		snprintf(targets, sizeof(targets), "pi-%s,pi-%s", pid("x", "p1"), pid("x", "p2"));
	else
		snprintf(targets, sizeof(targets), "pi-%s,pi-%s", pid("x", "p2"), pid("x", "p1"));
	snprintf(want, sizeof(want), "%s", class_name("ci-", targets));
	T_STREQ(class_of("ing4", "10.0.1.1"), want);
	T_STREQ(class_of("ing4", "10.0.1.7"), want); /* a2: the same policies, the same class */
	T_STREQ(targets_of(want), targets);
	/* the record of a pod with no Pod object: its ADD's labels (pod=b): p1 and p3 */
	if (strcmp(pid("x", "p1"), pid("x", "p3")) < 0)
		snprintf(targets, sizeof(targets), "pi-%s,pi-%s", pid("x", "p1"), pid("x", "p3"));
	else
		snprintf(targets, sizeof(targets), "pi-%s,pi-%s", pid("x", "p3"), pid("x", "p1"));
	T_STREQ(class_of("ing4", "10.0.1.8"), class_name("ci-", targets));
	T_EQ(RS.ncchains, 2);
}

/* §5.1: pods no policy selects (other namespaces, other labels) get no dispatch element;
 * endpoints on other nodes only ever fill peer sets */
static void test_unselected_and_other_nodes(void)
{
	char want[256];

	T_EQ(layout(), 0);
	T_EQ(put(NP("x", "p") "  podSelector: {matchLabels: {pod: c}}\n" NP("x", "q") "  podSelector: {matchLabels: {pod: b}}\n  policyTypes: [Egress]\n" NP(
		     "y",
		     "r") "  podSelector: {}\n  ingress: [{from: [{namespaceSelector: {}}]}]\n"),
	     1);
	T_EQ(render(), 0);
	/* p selects nothing in x (c is in y), q selects b on n2 */
	T_STREQ(elems("egr4"), "");
	T_STREQ(elems("egr6"), "");
	/* r isolates c and e on n1; the peers include b (n2) */
	snprintf(want, sizeof(want), "10.0.1.2 : goto %s, 10.0.1.5 : goto %s",
		 class1('i', "y", "r"), class1('i', "y", "r"));
	T_STREQ(elems("ing4"), want);
	T_STREQ(elems(sname("y", "r", 'i', 0, "a4")),
		"10.0.1.1, 10.0.1.2, 10.0.1.3, 10.0.1.5, 10.0.2.1");
	T_ASSERT(!strstr(lines("elem ing"), "10.0.2.1"));
}

/* two records claiming one IP (a stale one left behind): one dispatch element, the class
 * first by name, so that the map can be written at all; both in the peer sets */
static void test_shared_ip(void)
{
	const char *ci_a, *ci_c;
	char want[256];

	T_EQ(layout(), 0);
	T_EQ(put(NP("x", "p") "  podSelector: {}\n" NP("y", "q") "  podSelector: {}\n" NP(
		     "x",
		     "r") "  podSelector: {}\n  ingress: [{from: [{namespaceSelector: {}}]}]\n"),
	     1);
	T_EQ(ep("n1", "cstale", "y", "c", "10.0.1.1", NULL), 1);
	T_EQ(render(), 0);
	ci_a = class_of("ing4", "10.0.1.1");
	T_ASSERT(*ci_a);
	T_STREQ(lines("elem ing4 10.0.1.1 "), lines("elem ing4 10.0.1.1 :"));
	T_ASSERT(!strchr(lines("elem ing4 10.0.1.1 "), '\n'));
	ci_c = class_of("ing4", "10.0.1.2");
	snprintf(want, sizeof(want), "%s", strcmp(ci_a, ci_c) < 0 ? ci_a : ci_c);
	T_STREQ(ci_a, want);
	T_STREQ(elems(sname("x", "r", 'i', 0, "a4")),
		"10.0.1.1, 10.0.1.2, 10.0.1.3, 10.0.1.5, 10.0.2.1");
}

/* labels: the Pod object's win over the ADD's; without a Pod object the ADD's count */
static void test_label_precedence(void)
{
	T_EQ(layout(), 0);
	/* a's record carries pod=zzz from its ADD; its Pod object says pod=a */
	T_EQ(ep("n1", "ca", "x", "a", "10.0.1.1 fd00::1:1", "{\"pod\":\"zzz\"}"), 1);
	T_EQ(put(NP("x", "p") "  podSelector: {}\n  ingress:\n"
			      "  - from: [{namespaceSelector: {}, podSelector: {matchLabels: "
			      "{pod: zzz}}}]\n"
			      "  - from: [{namespaceSelector: {}, podSelector: {matchLabels: "
			      "{pod: a}}}]\n"
			      "  - from: [{namespaceSelector: {}, podSelector: {matchLabels: "
			      "{pod: d}}}]\n"
			      "  - from: [{namespaceSelector: {}, podSelector: {matchLabels: "
			      "{pod: dd}}}]\n"),
	     1);
	T_EQ(render(), 0);
	T_STREQ(elems(sname("x", "p", 'i', 0, "a4")), "");
	T_STREQ(elems(sname("x", "p", 'i', 1, "a4")), "10.0.1.1");
	T_STREQ(elems(sname("x", "p", 'i', 2, "a4")), "10.0.1.3");
	/* a Pod object for d appears: its labels replace the ADD's */
	T_EQ(put(POD("z", "d", "{pod: dd}")), 0 + 1);
	T_EQ(ep("n1", "cd", "z", "d", "10.0.1.3", "{\"pod\":\"d\"}"), 1);
	T_EQ(render(), 0);
	T_STREQ(elems(sname("x", "p", 'i', 2, "a4")), "");
	T_STREQ(elems(sname("x", "p", 'i', 3, "a4")), "10.0.1.3");
}

/* a Namespace object always carries its name label, whatever its labels say */
static void test_namespace_name_label(void)
{
	T_EQ(layout(), 0);
	T_EQ(put(NS("x") "  labels: {kubernetes.io/metadata.name: other}\n"), 1);
	T_EQ(put(NP("y", "p") "  podSelector: {}\n  ingress:\n"
			      "  - from: [{namespaceSelector: {matchLabels: "
			      "{kubernetes.io/metadata.name: x}}}]\n"
			      "  - from: [{namespaceSelector: {matchLabels: {ns: x}}}]\n"),
	     1);
	T_EQ(render(), 0);
	T_STREQ(elems(sname("y", "p", 'i', 0, "a4")), "10.0.1.1, 10.0.2.1");
	T_STREQ(elems(sname("y", "p", 'i', 1, "a4")), ""); /* x lost its label ns=x */
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* the lines of text, sorted and unique, into arr (at most max); returns how many */
static size_t split_lines(char *text, char **arr, size_t n, size_t max)
{
	char *line, *save;
	size_t i, w = 0;

	for (line = strtok_r(text, "\n", &save); line && n < max;
	     line = strtok_r(NULL, "\n", &save))
		arr[n++] = line;
	qsort(arr, n, sizeof(*arr), str_cmp);
	for (i = 1; i < n; i++)
		if (strcmp(arr[w], arr[i]))
			arr[++w] = arr[i];
	return n ? w + 1 : 0;
}

static const char *const endpoint_keys[] = {"endpoints/n1/ca-eth0", "endpoints/n2/cb-eth0",
					    "endpoints/n1/cc-eth0", "endpoints/n1/ce-eth0",
					    "endpoints/n1/cd-eth0"};

#define MIXED                                                                                 \
	NP("x", "m1")                                                                         \
	"  podSelector: {}\n  policyTypes: [Ingress, Egress]\n  ingress:\n"                   \
	"  - from: [{podSelector: {matchLabels: {pod: b}}}, {ipBlock: {cidr: "                \
	"10.0.0.0/8, except: [10.0.1.0/24]}}]\n    ports: [{port: http}, "                    \
	"{port: 80}]\n  egress:\n  - to: [{namespaceSelector: {matchLabels: "                 \
	"{team: blue}}}]\n    ports: [{port: http, protocol: UDP}]\n" NP(                     \
		"y",                                                                          \
		"m2") "  podSelector: {matchExpressions: [{key: pod, operator: "              \
		      "DoesNotExist}]}\n  ingress: [{from: [{namespaceSelector: {}}]}]\n" NP( \
			      "y",                                                            \
			      "m3") "  podSelector: {}\n  policyTypes: [Egress]\n" NP("z",    \
										      "m4") "  podSelector: {}\n  ingress: [{ports: [{port: serve-80-tcp}]}]\n"

/* policies whose rules share sets: x/s1 and z/s2 alike but for their namespaces, y/s3
 * with its peers in another order and a named-port egress rule to any pod */
#define SHARED                                                                                                           \
	NP("x", "s1")                                                                                                    \
	"  podSelector: {}\n  policyTypes: [Ingress, Egress]\n  ingress:\n"                                              \
	"  - from: [{podSelector: {matchLabels: {pod: b}}}, {namespaceSelector: {matchLabels: "                          \
	"{team: blue}}}]\n    ports: [{port: http}, {port: 80}]\n  egress:\n"                                            \
	"  - to: [{namespaceSelector: {matchLabels: {team: blue}}}, {namespaceSelector: {}, "                            \
	"podSelector: {matchLabels: {pod: a}}}]\n    ports: [{port: http, protocol: UDP}, "                              \
	"{port: http}]\n" NP(                                                                                            \
		"z",                                                                                                     \
		"s2") "  podSelector: {}\n  policyTypes: [Ingress, Egress]\n  ingress:\n"                                \
		      "  - from: [{podSelector: {matchLabels: {pod: b}}}, {namespaceSelector: {matchLabels: "            \
		      "{team: blue}}}]\n    ports: [{port: http}, {port: 80}]\n  egress:\n"                              \
		      "  - to: [{namespaceSelector: {}, podSelector: {matchLabels: {pod: a}}}, "                         \
		      "{namespaceSelector: {matchLabels: {team: blue}}}]\n    ports: [{port: http}, "                    \
		      "{port: http, protocol: UDP}]\n" NP(                                                               \
			      "y",                                                                                       \
			      "s3") "  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n"                            \
				    "  - to: [{namespaceSelector: {}, podSelector: {matchLabels: {pod: a}}}, "           \
				    "{namespaceSelector: {matchLabels: {team: blue}}}, {ipBlock: {cidr: 10.0.0.0/8}}]\n" \
				    "    ports: [{port: http}, {port: http, protocol: UDP}]\n"

/* the full render is the skeleton plus every endpoint's fragment, line for line */
static void check_union(const char *yaml)
{
	static char *full_l[4096], *union_l[4096];
	char *full, *skel, *texts[8];
	struct pol_ruleset frag;
	struct err e = {0};
	size_t nf, nu = 0, i, j;

	T_EQ(layout(), 0);
	T_EQ(put(yaml), 1);
	T_EQ(render(), 0);
	full = pol_ruleset_text(&RS);
	for (i = 0; i < 5; i++) {
		T_EQ(pol_render_endpoint(M, endpoint_keys[i], &frag, &e), 0);
		T_STREQ(frag.stamp, "");
		/* a fragment puts each element once in a set, however many rules share it */
		for (j = 0; j < frag.nsets; j++)
			for (nu = 1; nu < frag.sets[j].n; nu++)
				T_ASSERT(pol_elem_cmp(&frag.sets[j].e[nu - 1], &frag.sets[j].e[nu],
						      frag.sets[j].kind) < 0);
		nu = 0;
		texts[i] = pol_ruleset_text(&frag);
		pol_ruleset_free(&frag);
	}
	for (i = 0; i < 5; i++)
		T_EQ(del(endpoint_keys[i]), 1);
	T_EQ(render(), 0);
	skel = pol_ruleset_text(&RS);
	nf = split_lines(full, full_l, 0, 4096);
	nu = split_lines(skel, union_l, 0, 4096);
	for (i = 0; i < 5; i++)
		nu = split_lines(texts[i], union_l, nu, 4096);
	T_EQ(nf, nu);
	for (i = 0; i < nf; i++)
		T_STREQ(full_l[i], union_l[i]);
	/* and the fragments are not trivially empty */
	T_ASSERT(nf > 60);
	T_EQ(pol_render_endpoint(M, "endpoints/n1/ca-eth0", &frag, &e), -ENOENT);
	for (i = 0; i < 5; i++)
		free(texts[i]);
	free(full);
	free(skel);
}

static void test_fragments_union(void)
{
	check_union(MIXED);
	check_union(SHARED);
}

/* a rule's set is shared by every rule (of any policy, in any namespace) that would hold
 * the same elements, named by a hash of what decides them */
static void test_shared_sets(void)
{
	const char *a;

	T_EQ(layout(), 0);
	T_EQ(put(SHARED), 1);
	T_EQ(render(), 0);
	/* "<kind>-<12 hex>": the a4 and a6 of one peer list share their digits */
	a = sname("x", "s1", 'i', 0, "a4");
	T_EQ(strlen(a), 15);
	T_ASSERT(!strncmp(a, "a4-", 3) && strspn(a + 3, "0123456789abcdef") == 12);
	T_STREQ(sname("x", "s1", 'i', 0, "a6") + 3, a + 3);
	T_ASSERT(!strncmp(sname("x", "s1", 'i', 0, "a6"), "a6-", 3));
	T_ASSERT(!strncmp(sname("x", "s1", 'i', 0, "p"), "p-", 2));
	T_ASSERT(!strncmp(sname("x", "s1", 'i', 0, "n4"), "n4-", 3));
	T_ASSERT(!strncmp(sname("y", "s3", 'e', 0, "b4"), "b4-", 3));
	/* a podSelector-only peer means the policy's namespace: x/s1's and z/s2's ingress
	 * peers differ (b in x; nobody in z); their ports are one set */
	T_ASSERT(strcmp(sname("x", "s1", 'i', 0, "a4"), sname("z", "s2", 'i', 0, "a4")));
	T_STREQ(elems(sname("x", "s1", 'i', 0, "a4")), "10.0.1.2, 10.0.1.5, 10.0.2.1");
	T_STREQ(elems(sname("z", "s2", 'i', 0, "a4")), "10.0.1.2, 10.0.1.5");
	T_STREQ(sname("x", "s1", 'i', 0, "p"), sname("z", "s2", 'i', 0, "p"));
	/* namespaceSelector peers, listed in another order, with named ports in another
	 * order: one address set, one named-port set across x, y and z */
	T_STREQ(sname("x", "s1", 'e', 0, "a4"), sname("z", "s2", 'e', 0, "a4"));
	T_STREQ(sname("x", "s1", 'e', 0, "a4"), sname("y", "s3", 'e', 0, "a4"));
	T_STREQ(sname("x", "s1", 'e', 0, "n4"), sname("z", "s2", 'e', 0, "n4"));
	T_STREQ(sname("x", "s1", 'e', 0, "n6"), sname("z", "s2", 'e', 0, "n6"));
	/* each IP once in the shared set */
	T_STREQ(elems(sname("x", "s1", 'e', 0, "a4")), "10.0.1.1, 10.0.1.2, 10.0.1.5");
	/* ingress named ports: of the pods the policy selects, so its namespace decides */
	T_ASSERT(strcmp(sname("x", "s1", 'i', 0, "n4"), sname("z", "s2", 'i', 0, "n4")));
	/* the rules name the shared sets */
	T_ASSERT(strstr(lines(with_id("rule pe-<id>", "z", "s2")), sname("x", "s1", 'e', 0, "n4")));
	T_ASSERT(strstr(lines(with_id("rule pi-<id>", "z", "s2")), sname("x", "s1", 'i', 0, "p")));
	/* x/s1 x2, z/s2 x2, y/s3: 15 rule sets; shared: a4 a6 (x in, z in, egress) p n4 n6
	 * (x in, z in, egress to peers, egress to any) b4 */
	T_EQ(RS.nsets, 6 + 1 + 8 + 1 + 5);
}

/* two different sets with one name (48 bits of a hash) are refused by name rather than
 * shared: made here by giving a rule another's name */
static void test_set_name_clash(void)
{
	struct pol_policy *p;
	const struct pol_policy *q;
	struct err e = {0};

	T_EQ(layout(), 0);
	T_EQ(put(NP("x", "p1") "  podSelector: {}\n  ingress: [{ports: [{port: 80}]}]\n" NP(
		     "x", "p2") "  podSelector: {}\n  ingress: [{ports: [{port: 81}]}]\n"),
	     1);
	T_EQ(render(), 0);
	T_ASSERT(strcmp(sname("x", "p1", 'i', 0, "p"), sname("x", "p2", 'i', 0, "p")));
	p = M->t[T_POL].e[pol_table_find(&M->t[T_POL], "x/p2")].val;
	q = M->t[T_POL].e[pol_table_find(&M->t[T_POL], "x/p1")].val;
	memcpy(p->rules[POL_IN][0].set[RK_P], q->rules[POL_IN][0].set[RK_P], POL_SET_NAME_LEN);
	p->rules[POL_IN][0].set_key[RK_P] = q->rules[POL_IN][0].set_key[RK_P];
	pol_ruleset_free(&RS);
	T_EQ(pol_render(M, &RS, &e), -EEXIST);
	T_ASSERT(strstr(e.msg, "policies x/p1 and x/p2 have different sets named p-"));
	e = (struct err){0};
	T_EQ(pol_render_endpoint(M, "endpoints/n1/ca-eth0", &RS, &e), -EEXIST);
	T_ASSERT(strstr(e.msg, "policies x/p1 and x/p2 have different sets named p-"));
	/* the same content is one set */
	p->rules[POL_IN][0].set_chk[RK_P] = q->rules[POL_IN][0].set_chk[RK_P];
	T_EQ(render(), 0);
}

/* an egress rule whose peers are all selectors reaches only the pods they select: its
 * named-port set holds only theirs; with no peer, or an ipBlock among them, every pod's */
static void test_egress_named_peers(void)
{
	T_EQ(layout(), 0);
	T_EQ(put(SHARED), 1);
	T_EQ(render(), 0);
	/* a (pod=a, any namespace) and y's pods (team blue): a's http/TCP, c's http/UDP; not
	 * b's http/TCP 8081 */
	T_STREQ(elems(sname("x", "s1", 'e', 0, "n4")),
		"10.0.1.1 . tcp . 8080, 10.0.1.2 . udp . 9090");
	T_STREQ(elems(sname("x", "s1", 'e', 0, "n6")),
		"fd00::1:1 . tcp . 8080, fd00::1:2 . udp . 9090");
	/* the same peers with an ipBlock: the destination may be any pod */
	T_ASSERT(strcmp(sname("x", "s1", 'e', 0, "n4"), sname("y", "s3", 'e', 0, "n4")));
	T_STREQ(elems(sname("y", "s3", 'e', 0, "n4")),
		"10.0.1.1 . tcp . 8080, 10.0.1.2 . udp . 9090, 10.0.2.1 . tcp . 8081");
	/* b leaving, then a new pod matching the peers: elements follow */
	T_EQ(put(POD("x", "b", "{pod: a}") PORTS("{name: http, containerPort: 8081}")), 1);
	T_EQ(render(), 0);
	T_STREQ(elems(sname("x", "s1", 'e', 0, "n4")),
		"10.0.1.1 . tcp . 8080, 10.0.1.2 . udp . 9090, 10.0.2.1 . tcp . 8081");
}

static bool has_key(char **keys, size_t n, const char *key)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(keys[i], key))
			return true;
	return false;
}

static void free_keys(char **keys, size_t n)
{
	while (n)
		free(keys[--n]);
	free(keys);
}

/* what a change touches: a policy the skeleton, a pod its endpoints, a namespace the
 * endpoints in it; a pod's label change moves its elements and nothing else */
static void test_affected(void)
{
	struct pol_ruleset before, after;
	char **keys = NULL, *t1, *t2;
	struct err e = {0};
	size_t n = 0;

	T_EQ(layout(), 0);
	T_EQ(put(NP("y", "p") "  podSelector: {}\n  ingress:\n"
			      "  - from: [{namespaceSelector: {}, podSelector: {matchLabels: "
			      "{pod: a}}}]\n"),
	     1);
	T_EQ(pol_model_affected(M, "policies/y/p", &keys, &n), POL_AFFECT_POLICIES);
	T_EQ(n, 0);
	T_EQ(pol_model_affected(M, "pods/x/a", &keys, &n), 0);
	T_EQ(n, 1);
	T_STREQ(keys[0], "endpoints/n1/ca-eth0");
	T_EQ(pol_model_affected(M, "namespaces/x", &keys, &n), 0);
	T_EQ(n, 3);
	T_ASSERT(has_key(keys, n, "endpoints/n2/cb-eth0"));
	T_EQ(pol_model_affected(M, "endpoints/n1/cd-eth0", &keys, &n), 0);
	T_EQ(pol_model_affected(M, "endpoints/n1/nothere-eth0", &keys, &n), 0);
	T_EQ(pol_model_affected(M, "agents/n1", &keys, &n), 0);
	T_EQ(pol_model_affected(M, "namespaces/zz", &keys, &n), 0);
	T_EQ(n, 4);
	T_STREQ(keys[3], "endpoints/n1/cd-eth0");
	free_keys(keys, n);

	/* a's label changes: its fragment before has it in the peer set, after not */
	T_EQ(pol_render_endpoint(M, "endpoints/n1/ca-eth0", &before, &e), 0);
	T_EQ(put(POD("x", "a", "{pod: aa}")), 1);
	T_EQ(pol_render_endpoint(M, "endpoints/n1/ca-eth0", &after, &e), 0);
	t1 = pol_ruleset_text(&before);
	t2 = pol_ruleset_text(&after);
	T_ASSERT(strstr(t1, "10.0.1.1"));
	T_ASSERT(strstr(t1, sname("y", "p", 'i', 0, "a4")));
	T_ASSERT(!strstr(t2, sname("y", "p", 'i', 0, "a4")));
	free(t1);
	free(t2);
	pol_ruleset_free(&before);
	pol_ruleset_free(&after);
	T_EQ(render(), 0);
	T_STREQ(elems(sname("y", "p", 'i', 0, "a4")), "");
	/* the same Pod again: no change */
	T_EQ(put(POD("x", "a", "{pod: aa}")), 0);
}

/* the stamp: the policies' content, not their order of arrival, nor endpoints or pods */
static void test_stamp(void)
{
	char s1[POL_STAMP_MAX], s2[POL_STAMP_MAX], s3[POL_STAMP_MAX];

	T_EQ(layout(), 0);
	T_EQ(put(NP("x", "p1") "  podSelector: {}\n" NP("x", "p2") "  podSelector: {}\n"), 1);
	pol_model_stamp(M, s1);
	T_EQ(strlen(s1), 64);
	T_EQ(render(), 0);
	T_STREQ(RS.stamp, s1);
	T_STREQ(elems("stamp"), "1");
	m_reset("n1");
	T_EQ(put(NP("x", "p2") "  podSelector: {}\n" NP("x", "p1") "  podSelector: {}\n"), 1);
	pol_model_stamp(M, s2);
	T_STREQ(s1, s2);
	T_EQ(ep("n1", "ca", "x", "a", "10.0.1.1", NULL), 1);
	T_EQ(put(POD("x", "a", "{pod: a}")), 1);
	pol_model_stamp(M, s2);
	T_STREQ(s1, s2);
	T_EQ(put(NP("x", "p2") "  podSelector: {matchLabels: {pod: a}}\n"), 1);
	pol_model_stamp(M, s3);
	T_ASSERT(strcmp(s1, s3));
	T_EQ(del("policies/x/p2"), 1);
	T_EQ(del("policies/x/p2"), 0);
	pol_model_stamp(M, s3);
	T_ASSERT(strcmp(s1, s3));
	/* the renderer's format is in it: a table an older renderer made (no format, other
	 * set names) never matches, and the first ADD after an upgrade replaces it whole */
	m_reset("n1");
	pol_model_stamp(M, s1);
	pol_hex_digest(POL_RENDER_FORMAT, strlen(POL_RENDER_FORMAT), 64, s2);
	T_STREQ(s1, s2);
	pol_hex_digest("", 0, 64, s2);
	T_ASSERT(strcmp(s1, s2));
}

int main(void)
{
	T_RUN(test_default_deny_ingress);
	T_RUN(test_default_deny_egress);
	T_RUN(test_default_deny_both);
	T_RUN(test_policy_types);
	T_RUN(test_allow_by_pod);
	T_RUN(test_allow_by_namespace);
	T_RUN(test_allow_by_both);
	T_RUN(test_match_expressions);
	T_RUN(test_ip_block);
	T_RUN(test_ports);
	T_RUN(test_named_ports);
	T_RUN(test_rule_forms);
	T_RUN(test_empty_and_absent);
	T_RUN(test_policies_add_up);
	T_RUN(test_unselected_and_other_nodes);
	T_RUN(test_shared_ip);
	T_RUN(test_label_precedence);
	T_RUN(test_namespace_name_label);
	T_RUN(test_fragments_union);
	T_RUN(test_shared_sets);
	T_RUN(test_egress_named_peers);
	T_RUN(test_set_name_clash);
	T_RUN(test_affected);
	T_RUN(test_stamp);
	T_RUN(test_class_many_targets);
	pol_ruleset_free(&RS);
	pol_model_free(M);
	return T_EXIT();
}
