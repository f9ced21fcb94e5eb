// SPDX-License-Identifier: Apache-2.0
/* The model fed by store keys: objects validated as `sluicectl apply` validates them and
 * matched against their keys (a refused value leaves the model as it was), what counts as a
 * change, keys of other kinds ignored; the endpoint record to JSON and back. */
#define T_NAME "test_policy_model"
#include <errno.h>
#include <stdio.h>

#include "t.h"
#include "policy_t.h"

#define POLICY(ns, name, cidr)                                                              \
	"{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\",\"metadata\":" \
	"{\"name\":\"" name "\",\"namespace\":\"" ns "\"},\"spec\":{\"podSelector\":{},"    \
	"\"ingress\":[{\"from\":[{\"ipBlock\":{\"cidr\":\"" cidr "\"}}]}]}}"

static int set(const char *key, const char *value, struct err *e)
{
	memset(e, 0, sizeof(*e));
	return pol_model_set(M, key, value, value ? strlen(value) : 0, e);
}

static void test_set_policy(void)
{
	struct err e;

	m_reset("n1");
	T_EQ(set("policies/x/p", POLICY("x", "p", "10.0.0.0/8"), &e), 1);
	T_EQ(set("policies/x/p", POLICY("x", "p", "10.0.0.0/8"), &e), 0);
	/* refused, field named; the model keeps the policy it had */
	T_EQ(set("policies/x/p", POLICY("x", "p", "10.0.0.0/33"), &e), -EINVAL);
	T_STREQ(e.msg, "policies/x/p: spec.ingress[0].from[0].ipBlock.cidr: invalid CIDR "
		       "\"10.0.0.0/33\"");
	T_EQ(render(), 0);
	T_STREQ(elems(sname("x", "p", 'i', 0, "b4")), "10.0.0.0-10.255.255.255");
	T_EQ(set("policies/x/p", POLICY("x", "p", "10.0.0.0/9"), &e), 1);
	T_EQ(render(), 0);
	T_STREQ(elems(sname("x", "p", 'i', 0, "b4")), "10.0.0.0-10.127.255.255");
	/* the object must be the key's */
	T_EQ(set("policies/x/q", POLICY("x", "p", "10.0.0.0/8"), &e), -EINVAL);
	T_STREQ(e.msg, "policies/x/q: holds NetworkPolicy x/p");
	T_EQ(set("policies/y/p", POLICY("x", "p", "10.0.0.0/8"), &e), -EINVAL);
	T_STREQ(e.msg, "policies/y/p: holds NetworkPolicy x/p");
	T_EQ(set("pods/x/p", POLICY("x", "p", "10.0.0.0/8"), &e), -EINVAL);
	T_STREQ(e.msg, "pods/x/p: holds NetworkPolicy x/p");
	T_EQ(set("policies/x/p", "{\"apiVersion\":", &e), -EINVAL);
	T_ASSERT(!strncmp(e.msg, "policies/x/p: ", 14));
	T_EQ(set("policies/x/p", NULL, &e), 1);
	T_EQ(set("policies/x/p", NULL, &e), 0);
	T_EQ(render(), 0);
	T_EQ(RS.npchains, 0);
}

static void test_keys(void)
{
	struct err e;

	m_reset("n1");
	/* other kinds: ignored */
	T_EQ(set("agents/n1", "{}", &e), 0);
	T_EQ(set("subnets/10.244.1.0-24", "not json", &e), 0);
	T_EQ(set("config", "{}", &e), 0);
	/* ours, of the wrong shape */
	T_EQ(set("pods/x", "{}", &e), -EINVAL);
	T_STREQ(e.msg, "pods/x: not a key of its kind");
	T_EQ(set("pods/x/a/b", "{}", &e), -EINVAL);
	T_EQ(set("namespaces/", "{}", &e), -EINVAL);
	T_EQ(set("namespaces/x/y", "{}", &e), -EINVAL);
	T_EQ(set("endpoints/n1", "{}", &e), -EINVAL);
	T_EQ(set("policies//p", "{}", &e), -EINVAL);
	/* a Namespace and a Pod */
	T_EQ(set("namespaces/x",
		 "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"x\"}}",
		 &e),
	     1);
	T_EQ(set("namespaces/y",
		 "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"x\"}}",
		 &e),
	     -EINVAL);
	T_STREQ(e.msg, "namespaces/y: holds Namespace x");
	T_EQ(set("pods/x/a",
		 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\","
		 "\"namespace\":\"x\",\"labels\":{\"app\":1}}}",
		 &e),
	     -EINVAL);
	T_STREQ(e.msg, "pods/x/a: metadata.labels: key \"app\": the value must be a string (quote "
		       "it in YAML)");
	T_EQ(set("pods/x/a",
		 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\","
		 "\"namespace\":\"x\",\"labels\":{\"app\":\"1\"}}}",
		 &e),
	     1);
	/* only what the apiserver keeps counts: a resourceVersion alone is no change */
	T_EQ(set("pods/x/a",
		 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\","
		 "\"namespace\":\"x\",\"resourceVersion\":\"7\",\"labels\":{\"app\":\"1\"}}}",
		 &e),
	     0);
}

#define EP(extra)                                                                                 \
	"{\"containerID\":\"c1\",\"ifName\":\"eth0\",\"namespace\":\"x\",\"pod\":\"a\",\"node\":" \
	"\"n1\",\"ips\":[\"10.0.0.1\",\"fd00::1\"],\"hostVeth\":\"veth1\"" extra "}"

static void test_endpoints(void)
{
	struct pol_endpoint ep;
	struct err e = {0};
	char *s;

	m_reset("n1");
	T_EQ(pol_endpoint_parse(EP(",\"labels\":{\"app\":\"web\"}"),
				strlen(EP(",\"labels\":{\"app\":\"web\"}")), &ep, &e),
	     0);
	T_STREQ(ep.cid, "c1");
	T_STREQ(ep.node, "n1");
	T_EQ(ep.nips, 2);
	T_EQ(ep.ips[1].family, AF_INET6);
	s = pol_endpoint_json(&ep);
	T_STREQ(s, EP(",\"labels\":{\"app\":\"web\"}"));
	free(s);
	pol_endpoint_done(&ep);
	T_EQ(set("endpoints/n1/c1-eth0", EP(""), &e), 1);
	T_EQ(set("endpoints/n1/c1-eth0", EP(""), &e), 0);
	T_EQ(set("endpoints/n1/c1-eth0", EP(",\"labels\":{}"), &e), 1);
	T_EQ(set("endpoints/n2/c1-eth0", EP(""), &e), -EINVAL);
	T_STREQ(e.msg, "endpoints/n2/c1-eth0: holds the endpoint of n1/c1-eth0");
	T_EQ(set("endpoints/n1/c1-eth1", EP(""), &e), -EINVAL);
	T_EQ(set("endpoints/n1/c1-eth0", EP(",\"extra\":1"), &e), -EINVAL);
	T_STREQ(e.msg, "endpoint: extra: unknown field");
	T_EQ(set("endpoints/n1/c1-eth0", EP(",\"labels\":{\"a b\":\"1\"}"), &e), -EINVAL);
	T_ASSERT(!strncmp(e.msg, "endpoint: labels: key \"a b\": ", 29));
	T_EQ(set("endpoints/n1/c1-eth0", EP(",\"labels\":[]"), &e), -EINVAL);
	T_STREQ(e.msg, "endpoint: labels: must be an object");
	T_EQ(set("endpoints/n1/c1-eth0",
		 "{\"containerID\":\"c1\",\"ifName\":\"eth0\",\"namespace\":\"x\",\"node\":\"n1\","
		 "\"ips\":[\"10.0.0.1\",\"10.0.0.300\"]}",
		 &e),
	     -EINVAL);
	T_STREQ(e.msg, "endpoint: ips[1]: not an IP address");
	T_EQ(set("endpoints/n1/c1-eth0",
		 "{\"containerID\":\"c1\",\"ifName\":\"eth0\",\"node\":\"n1\",\"ips\":[]}", &e),
	     -EINVAL);
	T_STREQ(e.msg, "endpoint: namespace: required");
	T_EQ(set("endpoints/n1/c1-eth0",
		 "{\"containerID\":\"c1\",\"ifName\":\"eth0\",\"namespace\":\"x\",\"node\":\"n1\"}",
		 &e),
	     -EINVAL);
	T_STREQ(e.msg, "endpoint: ips: required");
	T_EQ(set("endpoints/n1/c1-eth0", "[1]", &e), -EINVAL);
	T_STREQ(e.msg, "endpoint: must be an object");
	T_EQ(set("endpoints/n1/c1-eth0", "{", &e), -EINVAL);
	/* still the last good one: the record with labels {} */
	T_EQ(set("endpoints/n1/c1-eth0", EP(",\"labels\":{}"), &e), 0);
	/* a pod-less record (no K8S_POD_NAME): namespace default, pod "" */
	T_EQ(set("endpoints/n1/c2-eth0",
		 "{\"containerID\":\"c2\",\"ifName\":\"eth0\",\"namespace\":\"default\","
		 "\"pod\":\"\",\"node\":\"n1\",\"ips\":[\"10.0.0.2\"]}",
		 &e),
	     1);
}

/* two policies with one id (found by search: sha256 "x/p338083" and "x/p1057839" share
 * their first 10 hex digits) cannot be rendered: refused, naming both */
static void test_id_collision(void)
{
	struct err e = {0};

	m_reset("n1");
	T_STREQ(pid("x", "p338083"), pid("x", "p1057839"));
	T_EQ(set("policies/x/p338083", POLICY("x", "p338083", "10.0.0.0/8"), &e), 1);
	T_EQ(render(), 0);
	T_EQ(set("policies/x/p1057839", POLICY("x", "p1057839", "10.0.0.0/8"), &e), 1);
	pol_ruleset_free(&RS);
	T_EQ(pol_render(M, &RS, &e), -EEXIST);
	T_STREQ(e.msg, "policies x/p1057839 and x/p338083 have one id (5524c4b021)");
	T_EQ(RS.nsets, 0);
}

static int fail_at; /* the allocation (counting from 1) that fails; 0: none */

static void *failing_malloc(size_t size)
{
	return fail_at && !--fail_at ? NULL : malloc(size);
}

/* ENOMEM at any allocation: no text, or the whole record (never one missing its name or
 * "ips", which DEL and GC could not find to remove) */
static void test_endpoint_json_enomem(void)
{
	const char *want = EP(",\"labels\":{\"app\":\"web\"}");
	cJSON_Hooks hooks = {.malloc_fn = failing_malloc, .free_fn = free};
	struct pol_endpoint ep;
	struct err e = {0};
	int k, nulls = 0;
	char *s;

	T_EQ(pol_endpoint_parse(want, strlen(want), &ep, &e), 0);
	cJSON_InitHooks(&hooks);
	for (k = 1; k < 200; k++) {
		fail_at = k;
		s = pol_endpoint_json(&ep);
		fail_at = 0;
		if (s && strcmp(s, want)) {
			printf("  allocation %d failing: %s\n", k, s);
			free(s);
			break;
		}
		nulls += !s;
		free(s);
		if (s)
			break; /* k past the last allocation: the whole record */
	}
	cJSON_InitHooks(NULL);
	pol_endpoint_done(&ep);
	T_ASSERT(k < 200);
	T_ASSERT(nulls > 10);
	T_EQ(nulls, k - 1);
}

int main(void)
{
	T_RUN(test_set_policy);
	T_RUN(test_keys);
	T_RUN(test_endpoints);
	T_RUN(test_endpoint_json_enomem);
	T_RUN(test_id_collision);
	pol_ruleset_free(&RS);
	pol_model_free(M);
	return T_EXIT();
}
