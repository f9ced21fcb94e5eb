// SPDX-License-Identifier: Apache-2.0
/* The renderer against the NetworkPolicy semantics of the reference (§5): each rule as the
 * exact sets, elements, chains and rules it renders to. */
#define T_NAME "test_policy_render"
#include <errno.h>
#include <stdio.h>

#include "t.h"
#include "policy_t.h"

#define NS(n) "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: '" n "'\n"
#define POD(ns, n, lbl)                                                                 \
	"---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: '" n "'\n  namespace: '" ns \
	"'\n  labels: " lbl "\n"
#define NP(ns, n)                                                                            \
	"---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: '" n \
	"'\n  namespace: '" ns "'\nspec:\n"

/* namespaces x and y, pods a, b (x) and c (y), a and c on node n1, b on n2 */
static int layout(void)
{
	m_reset("n1");
	return put(NS("x") "  labels: {ns: x}\n" POD("x", "a", "{pod: a}") POD("x", "b", "{pod: b}")
		    POD("y", "c", "{pod: c}")) - 1
	       ?: ep("n1", "ca", "x", "a", "10.0.1.1 fd00::1:1", NULL) - 1
	       ?: ep("n2", "cb", "x", "b", "10.0.2.1 fd00::2:1", NULL) - 1
	       ?: ep("n1", "cc", "y", "c", "10.0.1.2 fd00::1:2", NULL) - 1;
}

static void test_default_deny_ingress(void)
{
	char want[256];

	T_EQ(layout(), 0);
	T_EQ(put(NP("x", "deny") "  podSelector: {}\n"), 1);
	T_EQ(render(), 0);
	/* only pod a is on n1 and in x: isolated for ingress, not for egress */
	snprintf(want, sizeof(want), "chain pi-%s ingress x/deny", pid("x", "deny"));
	T_STREQ(lines("chain "), want);
	T_STREQ(lines("rule "), "");
	T_STREQ(elems("egr4"), "");
	T_STREQ(elems("egr6"), "");
	T_ASSERT(!strncmp(elems("ing4"), "10.0.1.1 : goto ci-", 19));
	T_ASSERT(!strncmp(elems("ing6"), "fd00::1:1 : goto ci-", 20));
	snprintf(want, sizeof(want), "pi-%s", pid("x", "deny"));
	T_EQ(RS.ncchains, 1);
	T_EQ(RS.cchains[0].ntargets, 1);
	T_STREQ(RS.cchains[0].targets[0], want);
}

static void test_scratch(void)
{
	T_EQ(layout(), 0);
	T_EQ(put(NP("x",
		    "web") "  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Ingress, Egress]\n  ingress:\n  - from:\n    - podSelector: {matchLabels: {pod: b}}\n    - namespaceSelector: {matchLabels: {ns: x}}\n      podSelector: {}\n    - ipBlock: {cidr: 10.0.0.0/16, except: [10.0.1.0/24, 10.0.3.0/24]}\n    - ipBlock: {cidr: 'fd00::/64', except: ['fd00::/65']}\n    ports:\n    - port: 80\n    - {port: 81, endPort: 90}\n    - {protocol: UDP}\n    - port: http\n  egress:\n  - {}\n"),
	     1);
	T_EQ(render(), 0);
}

int main(void)
{
	T_RUN(test_default_deny_ingress);
	T_RUN(test_scratch);
	pol_ruleset_free(&RS);
	pol_model_free(M);
	return T_EXIT();
}
