// SPDX-License-Identifier: Apache-2.0
/* policy/drop.c: a drop as JSON (time, class and direction, policies, addresses, protocol
 * names, ports or ICMP, pods, devices), the endpoints' IPs indexed by pod from a dir://
 * store, the class cache without a kernel. */
#define T_NAME "test_policy_drop"
#include <stdlib.h>
#include <unistd.h>
#include <netinet/in.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "base/ip.h"
#include "policy/drop.h"
#include "store/store.h"
#include "t.h"

static char *json_of(const struct pol_drop *d)
{
	cJSON *j = pol_drop_json(d);
	char *s = cJSON_PrintUnformatted(j);

	cJSON_Delete(j);
	return s;
}

static void test_json_tcp(void)
{
	struct pol_drop d = {0};
	char *s;

	d.pkt.sec = 1764921600; /* 2025-12-05T08:00:00Z */
	d.pkt.usec = 42;
	snprintf(d.pkt.prefix, sizeof(d.pkt.prefix), "ci-4e0b1");
	ip_parse("10.9.0.2", &d.pkt.src);
	ip_parse("10.9.0.3", &d.pkt.dst);
	d.pkt.proto = IPPROTO_TCP;
	d.pkt.has_ports = true;
	d.pkt.sport = 43712;
	d.pkt.dport = 81;
	d.pkt.indev = 4;
	d.pkt.physindev = 5;
	d.pkt.len = 60;
	snprintf(d.policies, sizeof(d.policies), "y/allow-80,y/deny");
	snprintf(d.src_pod, sizeof(d.src_pod), "x/a");
	s = json_of(&d);
	T_STREQ(s, "{\"time\":\"2025-12-05T08:00:00.000042Z\",\"class\":\"ci-4e0b1\","
		   "\"direction\":\"ingress\",\"policies\":[\"y/allow-80\",\"y/deny\"],"
		   "\"src\":\"10.9.0.2\",\"dst\":\"10.9.0.3\",\"proto\":\"tcp\",\"sport\":43712,"
		   "\"dport\":81,\"srcPod\":\"x/a\",\"dstPod\":null,\"indev\":4,\"physindev\":5,"
		   "\"len\":60}");
	free(s);
}

/* egress, ICMPv6 with type and code, no pods, no policies known, no devices */
static void test_json_icmp6_egress(void)
{
	struct pol_drop d = {0};
	char *s;

	snprintf(d.pkt.prefix, sizeof(d.pkt.prefix), "ce-77");
	ip_parse("fd00:9::2", &d.pkt.src);
	ip_parse("fd00:9::3", &d.pkt.dst);
	d.pkt.proto = IPPROTO_ICMPV6;
	d.pkt.has_icmp = true;
	d.pkt.icmp_type = 128;
	s = json_of(&d);
	T_STREQ(s, "{\"time\":\"1970-01-01T00:00:00.000000Z\",\"class\":\"ce-77\","
		   "\"direction\":\"egress\",\"policies\":[],\"src\":\"fd00:9::2\","
		   "\"dst\":\"fd00:9::3\",\"proto\":\"icmpv6\",\"icmpType\":128,\"icmpCode\":0,"
		   "\"srcPod\":null,\"dstPod\":null,\"len\":0}");
	free(s);
}

/* a prefix that is no class chain of ours, an unknown protocol, no IP header */
static void test_json_foreign(void)
{
	struct pol_drop d = {0};
	char pb[8], *s;

	snprintf(d.pkt.prefix, sizeof(d.pkt.prefix), "other");
	d.pkt.proto = 47;
	s = json_of(&d);
	T_STREQ(s, "{\"time\":\"1970-01-01T00:00:00.000000Z\",\"class\":\"other\","
		   "\"direction\":null,\"policies\":[],\"src\":null,\"dst\":null,\"proto\":\"47\","
		   "\"srcPod\":null,\"dstPod\":null,\"len\":0}");
	free(s);
	T_STREQ(pol_proto_name(IPPROTO_SCTP, pb), "sctp");
	T_STREQ(pol_proto_name(IPPROTO_UDP, pb), "udp");
	T_STREQ(pol_proto_name(IPPROTO_ICMP, pb), "icmp");
}

/* endpoint records of two nodes, one without a pod name, one invalid, one of another kind */
static void test_pods_from_store(void)
{
	char dir[] = "/tmp/test_policy_drop.XXXXXX", url[64], cmd[96];
	struct pol_pods pods = {0};
	struct ip_addr ip;
	struct err e = {0};
	struct store *s;

	T_ASSERT(mkdtemp(dir));
	snprintf(url, sizeof(url), "dir://%s", dir);
	s = store_open(url, &e);
	T_ASSERT(s);
#define PUT(k, v) T_EQ(store_put(s, "/p/endpoints/" k, v, strlen(v), NULL, NULL, NULL, &e), 1)
	PUT("n1/ca-eth0", "{\"containerID\":\"ca\",\"ifName\":\"eth0\",\"namespace\":\"x\","
			  "\"pod\":\"a\",\"node\":\"n1\",\"ips\":[\"10.9.0.2\",\"fd00:9::2\"],"
			  "\"hostVeth\":\"va\"}");
	PUT("n2/cb-eth0", "{\"containerID\":\"cb\",\"ifName\":\"eth0\",\"namespace\":\"default\","
			  "\"node\":\"n2\",\"ips\":[\"10.9.1.7\"],\"hostVeth\":\"vb\"}");
	PUT("n2/bad-eth0", "{\"containerID\":\"bad\",\"ips\":\"10.9.1.8\"}");
#undef PUT
	T_EQ(store_put(s, "/p/pods/x/a", "{}", 2, NULL, NULL, NULL, &e), 1);
	T_EQ(pol_pods_load(&pods, s, "/p", &e), 3);
	ip_parse("10.9.0.2", &ip);
	T_STREQ(pol_pods_find(&pods, &ip), "x/a");
	ip_parse("fd00:9::2", &ip);
	T_STREQ(pol_pods_find(&pods, &ip), "x/a");
	ip_parse("10.9.1.7", &ip);
	T_STREQ(pol_pods_find(&pods, &ip), "default/cb-eth0");
	ip_parse("10.9.1.8", &ip);
	T_ASSERT(!pol_pods_find(&pods, &ip));
	pol_pods_done(&pods);
	store_close(s);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	T_EQ(system(cmd), 0);
}

/* without a kernel to ask, nothing is known and nothing cached */
static void test_classes_without_kernel(void)
{
	struct pol_classes c = {0};

	T_STREQ(pol_classes_get(&c, NULL, "ci-x"), "");
	T_STREQ(pol_classes_get(&c, NULL, ""), "");
	T_EQ(c.n, 0);
	pol_classes_done(&c);
}

int main(void)
{
	T_RUN(test_json_tcp);
	T_RUN(test_json_icmp6_egress);
	T_RUN(test_json_foreign);
	T_RUN(test_pods_from_store);
	T_RUN(test_classes_without_kernel);
	return T_EXIT();
}
