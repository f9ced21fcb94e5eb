// SPDX-License-Identifier: Apache-2.0
/* subnet/: Flannel's config rules and every refusal, lease keys and JSON (flanneld's own
 * values kept field for field), the free-subnet pick, subnet.env and the conflist, and the
 * lease lifecycle (reuse, previous subnet, races, renewal, revocation, expiry) against an
 * in-memory store with a clock of its own, then against a dir:// store in a temp dir, and
 * renewal restarting a real TTL (dir://; etcd through SUBNET_TEST_STORE). */
#define T_NAME "test_subnet"
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cjson/cJSON.h>

#include "base/err.h"
#include "store/store.h"
#include "subnet/files.h"
#include "subnet/lease.h"
#include "subnet/netconf.h"
#include "subnet/node.h"
#include "t.h"

#define FLANNELD_LEASE                                                                  \
	"{\"PublicIP\":\"192.168.64.3\",\"PublicIPv6\":null,\"BackendType\":\"vxlan\"," \
	"\"BackendData\":{\"VNI\":1,\"VtepMAC\":\"c6:d2:32:6f:8f:44\"}}"

static int conf(const char *json, struct subnet_conf *c, struct err *e)
{
	memset(e, 0, sizeof(*e));
	return subnet_conf_parse(json, strlen(json), c, e);
}

static const char *fmt(const struct ip_addr *ip)
{
	static char b[4][IP_STRLEN];
	static int i;

	return ip_fmt(ip, b[i++ % 4]);
}

static void test_conf_defaults(void)
{
	static const struct {
		const char *net;
		unsigned int len;
		const char *min, *max;
	} cases[] = {
		{"10.244.0.0/16", 24, "10.244.1.0", "10.244.255.0"},
		{"10.0.0.0/22", 24, "10.0.1.0", "10.0.3.0"},
		{"10.0.0.0/23", 25, "10.0.0.128", "10.0.1.128"},
		{"10.9.0.0/28", 30, "10.9.0.4", "10.9.0.12"},
		{"10.244.3.7/16", 24, "10.244.1.0", "10.244.255.0"}, /* host bits cleared (Go) */
	};
	struct subnet_conf c;
	struct err e;
	char doc[256], b[IP_STRLEN];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(doc, sizeof(doc), "{\"Network\":\"%s\",\"Backend\":{\"Type\":\"vxlan\"}}",
			 cases[i].net);
		T_EQ(conf(doc, &c, &e), 0);
		T_EQ(c.subnet_len, cases[i].len);
		T_STREQ(fmt(&c.subnet_min), cases[i].min);
		T_STREQ(fmt(&c.subnet_max), cases[i].max);
		T_EQ(c.vni, 1);
		T_EQ(c.port, 0);
		T_EQ(c.enable_ipv4, 1);
		T_EQ(c.enable_ipv6, 0);
		subnet_conf_done(&c);
	}
	T_EQ(conf("{\"Network\":\"10.244.0.0/16\",\"Backend\":{\"Type\":\"vxlan\"}}", &c, &e), 0);
	T_STREQ(ip_prefix_fmt(&c.network, b), "10.244.0.0/16");
	subnet_conf_done(&c);
	/* Go's decoding: keys in any case, null as absent, unknown keys ignored */
	T_EQ(conf("{\"network\":\"10.1.0.0/16\",\"SubnetLen\":null,\"EnableNFTables\":true,"
		  "\"backend\":{\"type\":\"vxlan\",\"vni\":7,\"Port\":4789,\"Extra\":1}}",
		  &c, &e),
	     0);
	T_EQ(c.subnet_len, 24);
	T_EQ(c.vni, 7);
	T_EQ(c.port, 4789);
	subnet_conf_done(&c);
	T_EQ(conf("{\"Network\":\"10.1.0.0/16\",\"SubnetLen\":20,\"SubnetMin\":\"10.1.16.0\","
		  "\"SubnetMax\":\"10.1.32.0\",\"Backend\":{\"Type\":\"vxlan\"}}",
		  &c, &e),
	     0);
	T_EQ(c.subnet_len, 20);
	T_STREQ(fmt(&c.subnet_min), "10.1.16.0");
	T_STREQ(fmt(&c.subnet_max), "10.1.32.0");
	subnet_conf_done(&c);
}

static void test_conf_v6(void)
{
	struct subnet_conf c;
	struct err e;

	T_EQ(conf("{\"Network\":\"10.244.0.0/16\",\"EnableIPv6\":true,"
		  "\"IPv6Network\":\"fd00:10:244::/56\",\"Backend\":{\"Type\":\"vxlan\"}}",
		  &c, &e),
	     0);
	/* the IPv6 device's limit (underlay - 70) for both families and the pods */
	{
		struct subnet_ident id = {.mtu = 1500};

		T_EQ(subnet_node_mtu(&c, &id), 1430);
		c.mtu = 9000;
		T_EQ(subnet_node_mtu(&c, &id), 8930);
		c.mtu = 0;
		c.enable_ipv6 = false;
		T_EQ(subnet_node_mtu(&c, &id), 1450);
		c.enable_ipv6 = true;
	}
	T_EQ(c.ipv6_subnet_len, 64);
	T_STREQ(fmt(&c.ipv6_subnet_min), "fd00:10:244:1::");
	T_STREQ(fmt(&c.ipv6_subnet_max), "fd00:10:244:ff::");
	subnet_conf_done(&c);
	T_EQ(conf("{\"Network\":\"10.244.0.0/16\",\"EnableIPv6\":true,"
		  "\"IPv6Network\":\"fd00::/120\",\"Backend\":{\"Type\":\"vxlan\"}}",
		  &c, &e),
	     0);
	T_EQ(c.ipv6_subnet_len, 122);
	T_STREQ(fmt(&c.ipv6_subnet_min), "fd00::40");
	T_STREQ(fmt(&c.ipv6_subnet_max), "fd00::c0");
	subnet_conf_done(&c);
}

static void test_conf_refusals(void)
{
#define BE ",\"Backend\":{\"Type\":\"vxlan\"}}"
#define NET "{\"Network\":\"10.244.0.0/16\""
#define V6 NET ",\"EnableIPv6\":true"
	static const struct {
		const char *json, *msg;
	} cases[] = {
		{"[]", "config: must be a JSON object"},
		{"{\"Backend\":{\"Type\":\"vxlan\"}}",
		 "config: Network: required (a prefix such as \"10.244.0.0/16\")"},
		{"{\"Network\":5" BE, "config: Network: must be a string"},
		{"{\"Network\":\"10.0.0.0\"" BE,
		 "config: Network \"10.0.0.0\": not an IPv4 (a.b.c.d/len) prefix"},
		{"{\"Network\":\"fd00::/48\"" BE,
		 "config: Network \"fd00::/48\": not an IPv4 (a.b.c.d/len) prefix"},
		{"{\"Network\":\"0.0.0.0/0\"" BE,
		 "config: Network: required (a prefix such as \"10.244.0.0/16\")"},
		{"{\"Network\":\"10.0.0.0/29\"" BE,
		 "config: Network 10.0.0.0/29: too small, the minimum useful prefix is /28"},
		{NET ",\"SubnetLen\":31" BE, "config: SubnetLen 31: must be at most 30"},
		{NET ",\"SubnetLen\":17" BE,
		 "config: SubnetLen 17: must be at least 18 (Network 10.244.0.0/16 must hold at least four subnets)"},
		{NET ",\"SubnetLen\":\"24\"" BE,
		 "config: SubnetLen: must be a non-negative integer"},
		{NET ",\"SubnetLen\":24.5" BE, "config: SubnetLen: must be a non-negative integer"},
		{NET ",\"SubnetLen\":-1" BE, "config: SubnetLen: must be a non-negative integer"},
		{NET ",\"SubnetMin\":\"10.1.0.0\"" BE,
		 "config: SubnetMin 10.1.0.0: not inside Network 10.244.0.0/16"},
		{NET ",\"SubnetMax\":\"10.245.0.0\"" BE,
		 "config: SubnetMax 10.245.0.0: not inside Network 10.244.0.0/16"},
		{NET ",\"SubnetMin\":\"10.244.1.5\"" BE,
		 "config: SubnetMin 10.244.1.5: not on a SubnetLen boundary (/24)"},
		{NET ",\"SubnetMax\":\"10.244.9.128\"" BE,
		 "config: SubnetMax 10.244.9.128: not on a SubnetLen boundary (/24)"},
		{NET ",\"SubnetMax\":\"x\"" BE, "config: SubnetMax \"x\": not an IPv4 address"},
		{NET ",\"SubnetMin\":\"10.244.9.0\",\"SubnetMax\":\"10.244.2.0\"" BE,
		 "config: SubnetMin 10.244.9.0: above SubnetMax 10.244.2.0"},
		{NET "}",
		 "config: Backend: missing; flanneld would use its \"udp\" backend, which sluice does not support: write \"Backend\": {\"Type\": \"vxlan\"}"},
		{NET ",\"Backend\":\"vxlan\"}",
		 "config: Backend: must be an object such as {\"Type\": \"vxlan\"}"},
		{NET ",\"Backend\":{}}",
		 "config: Backend.Type: missing (sluice supports \"vxlan\" only)"},
		{NET ",\"Backend\":{\"Type\":\"host-gw\"}}",
		 "config: Backend.Type \"host-gw\": not supported (sluice supports \"vxlan\" only)"},
		{NET ",\"Backend\":{\"Type\":1}}", "config: Backend.Type: must be a string"},
		{NET ",\"Backend\":{\"Type\":\"vxlan\",\"VNI\":16777216}}",
		 "config: Backend.VNI 16777216: must be at most 16777215"},
		{NET ",\"Backend\":{\"Type\":\"vxlan\",\"VNI\":-1}}",
		 "config: Backend.VNI: must be a non-negative integer"},
		{NET ",\"Backend\":{\"Type\":\"vxlan\",\"Port\":70000}}",
		 "config: Backend.Port 70000: must be at most 65535"},
		{NET ",\"Backend\":{\"Type\":\"vxlan\",\"MTU\":100}}",
		 "config: Backend.MTU 100: must be 0 (the interface's) or at least 118 (68 + 50 of VXLAN overhead)"},
		{NET ",\"Backend\":{\"Type\":\"vxlan\",\"GBP\":\"yes\"}}",
		 "config: Backend.GBP: must be true or false"},
		{NET ",\"Backend\":{\"Type\":\"vxlan\",\"Learning\":1}}",
		 "config: Backend.Learning: must be true or false"},
		{NET ",\"Backend\":{\"Type\":\"vxlan\",\"DirectRouting\":\"\"}}",
		 "config: Backend.DirectRouting: must be true or false"},
		{NET ",\"EnableIPv4\":false" BE,
		 "config: EnableIPv4: must be true (sluice leases, as flanneld's etcd subnet manager, always hold an IPv4 subnet)"},
		{NET ",\"EnableIPv6\":1" BE, "config: EnableIPv6: must be true or false"},
		{V6 BE, "config: IPv6Network: required (a prefix such as \"fd00:10:244::/56\")"},
		{V6 ",\"IPv6Network\":\"10.0.0.0/8\"" BE,
		 "config: IPv6Network \"10.0.0.0/8\": not an IPv6 (addr/len) prefix"},
		{V6 ",\"IPv6Network\":\"fd00::/125\"" BE,
		 "config: IPv6Network fd00::/125: too small, the minimum useful prefix is /124"},
		{V6 ",\"IPv6Network\":\"fd00::/56\",\"IPv6SubnetLen\":127" BE,
		 "config: IPv6SubnetLen 127: must be at most 126"},
		{V6 ",\"IPv6Network\":\"fd00::/56\",\"IPv6SubnetLen\":57" BE,
		 "config: IPv6SubnetLen 57: must be at least 58 (IPv6Network fd00::/56 must hold at least four subnets)"},
		{V6 ",\"IPv6Network\":\"fd00::/56\",\"IPv6SubnetMin\":\"fd01::\"" BE,
		 "config: IPv6SubnetMin fd01::: not inside IPv6Network fd00::/56"},
		{V6 ",\"IPv6Network\":\"fd00::/56\",\"IPv6SubnetMax\":\"fd00:0:0:5::1\"" BE,
		 "config: IPv6SubnetMax fd00:0:0:5::1: not on a IPv6SubnetLen boundary (/64)"},
	};
	struct subnet_conf c;
	struct err e;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		T_EQ(conf(cases[i].json, &c, &e), -EINVAL);
		T_STREQ(e.msg, cases[i].msg);
		T_EQ(e.code, CNI_ERR_CONFIG);
	}
	T_EQ(conf("{\"Network\":", &c, &e), -EINVAL);
	T_ASSERT(!strncmp(e.msg, "config: not valid JSON: ", 24));
	T_EQ(conf("{\"Network\":\"10.244.0.0/16\"" BE " x", &c, &e), -EINVAL);
	T_ASSERT(!strncmp(e.msg, "config: not valid JSON: ", 24));
#undef BE
#undef NET
#undef V6
}

static void test_conf_json(void)
{
	struct subnet_conf c;
	struct err e;
	cJSON *j;
	char *s;

	T_EQ(conf("{\"Network\":\"10.9.3.0/24\",\"Mine\":{\"a\":1},"
		  "\"Backend\":{\"Type\":\"vxlan\",\"Extra\":\"kept\"}}",
		  &c, &e),
	     0);
	j = subnet_conf_json(&c);
	s = cJSON_PrintUnformatted(j);
	T_STREQ(s,
		"{\"Network\":\"10.9.3.0/24\",\"Mine\":{\"a\":1},\"Backend\":{\"Type\":\"vxlan\","
		"\"Extra\":\"kept\",\"VNI\":1,\"Port\":8472,\"GBP\":false,\"Learning\":false,"
		"\"DirectRouting\":false},\"SubnetLen\":26,\"SubnetMin\":\"10.9.3.64\","
		"\"SubnetMax\":\"10.9.3.192\",\"EnableIPv4\":true,\"EnableIPv6\":false}");
	free(s);
	cJSON_Delete(j);
	subnet_conf_done(&c);
}

static void test_keys(void)
{
	struct ip_prefix sn, sn6;
	char b[128], p[IP_STRLEN];

	T_EQ(subnet_key_parse("10.244.1.0-24", &sn, &sn6), 0);
	T_STREQ(ip_prefix_fmt(&sn, p), "10.244.1.0/24");
	T_EQ(sn6.ip.family, 0);
	T_EQ(subnet_key_name(&sn, &sn6, b, sizeof(b)), 13);
	T_STREQ(b, "10.244.1.0-24");
	T_EQ(subnet_key_parse("10.244.1.0-24&fd00:10:244:1::-64", &sn, &sn6), 0);
	T_STREQ(ip_prefix_fmt(&sn6, p), "fd00:10:244:1::/64");
	T_ASSERT(subnet_key_name(&sn, &sn6, b, sizeof(b)) > 0);
	T_STREQ(b, "10.244.1.0-24&fd00:10:244:1::-64");
	T_EQ(subnet_key_name(&sn, &sn6, b, 10), -ENOSPC);
	static const char *const bad[] = {
		"10.244.1.0",
		"10.244.1.0-33",
		"10.244.1.0-2x",
		"x-24",
		"10.244.1.0-+24",
		"10.244.1-24",
		"fd00::-64",
		"10.244.1.0-24&fd00::-129",
		"10.244.1.0-24&FD00::-64", /* flannel's pattern is lower case */
		"10.244.1.0-24&",
		"10.244.1.0-24&10.0.0.0-8",
		"010.244.1.0-24",
		"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		T_EQ(subnet_key_parse(bad[i], &sn, &sn6), -EINVAL);
}

static void test_lease_json(void)
{
	static const char extra[] =
		"{\"PublicIP\":\"10.0.0.7\",\"PublicIPv6\":null,"
		"\"BackendType\":\"vxlan\",\"BackendData\":{\"VNI\":1,"
		"\"VtepMAC\":\"c6:d2:32:6f:8f:44\",\"Future\":[1,2]},"
		"\"BackendV6Data\":{\"VNI\":1,\"VtepMAC\":\"aa:aa:aa:aa:aa:aa\"},"
		"\"Unknown\":{\"x\":\"y\"}}";
	struct subnet_lease l = {0};
	struct err e = {0};
	char *v;

	/* flanneld's own value: read, and written back byte for byte */
	T_EQ(subnet_lease_parse_value(FLANNELD_LEASE, strlen(FLANNELD_LEASE), &l, &e), 0);
	T_STREQ(fmt(&l.public_ip), "192.168.64.3");
	T_EQ(l.public_ipv6.family, 0);
	T_STREQ(l.backend_type, "vxlan");
	T_EQ(l.vni, 1);
	T_STREQ(l.vtep_mac, "c6:d2:32:6f:8f:44");
	T_STREQ(l.node_name, "");
	v = subnet_lease_value(&l);
	T_STREQ(v, FLANNELD_LEASE);
	free(v);
	snprintf(l.node_name, sizeof(l.node_name), "n1");
	v = subnet_lease_value(&l);
	T_STREQ(v,
		"{\"PublicIP\":\"192.168.64.3\",\"PublicIPv6\":null,\"BackendType\":\"vxlan\","
		"\"BackendData\":{\"VNI\":1,\"VtepMAC\":\"c6:d2:32:6f:8f:44\"},\"NodeName\":\"n1\"}");
	free(v);
	subnet_lease_done(&l);
	/* fields sluice does not use are kept where they were, also inside BackendData */
	memset(&l, 0, sizeof(l));
	T_EQ(subnet_lease_parse_value(extra, strlen(extra), &l, &e), 0);
	snprintf(l.vtep_mac, sizeof(l.vtep_mac), "02:00:00:00:00:01");
	v = subnet_lease_value(&l);
	T_STREQ(v, "{\"PublicIP\":\"10.0.0.7\",\"PublicIPv6\":null,\"BackendType\":\"vxlan\","
		   "\"BackendData\":{\"VNI\":1,\"VtepMAC\":\"02:00:00:00:00:01\",\"Future\":[1,2]},"
		   "\"BackendV6Data\":{\"VNI\":1,\"VtepMAC\":\"aa:aa:aa:aa:aa:aa\"},"
		   "\"Unknown\":{\"x\":\"y\"}}");
	free(v);
	subnet_lease_done(&l);
	/* a new lease, in flanneld's field order */
	memset(&l, 0, sizeof(l));
	ip_parse("192.168.1.2", &l.public_ip);
	ip_parse("fd00::2", &l.public_ipv6);
	ip_prefix_parse("fd00:0:0:1::/64", &l.subnet6);
	l.vni = 1;
	snprintf(l.vtep_mac, sizeof(l.vtep_mac), "02:11:22:33:44:55");
	v = subnet_lease_value(&l);
	T_STREQ(v, "{\"PublicIP\":\"192.168.1.2\",\"PublicIPv6\":\"fd00::2\",\"BackendType\":"
		   "\"vxlan\",\"BackendData\":{\"VNI\":1,\"VtepMAC\":\"02:11:22:33:44:55\"},"
		   "\"BackendV6Data\":{\"VNI\":1,\"VtepMAC\":\"02:11:22:33:44:55\"}}");
	free(v);
	static const char *const bad[] = {
		"[]",
		"{}",
		"{\"PublicIP\":1}",
		"{\"PublicIP\":\"fd00::1\"}",
		"{\"PublicIP\":\"1.2.3.4\",\"PublicIPv6\":\"1.2.3.4\"}",
		"{\"PublicIP\":\"1.2.3.4\",\"BackendData\":[]}",
		"{\"PublicIP\":\"1.2.3.4\",\"BackendData\":{\"VtepMAC\":5}}",
		"{\"PublicIP\":",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct subnet_lease b = {0};

		memset(&e, 0, sizeof(e));
		T_EQ(subnet_lease_parse_value(bad[i], strlen(bad[i]), &b, &e), -EINVAL);
		T_EQ(b.readable, 0);
		subnet_lease_done(&b);
	}
}

static uint64_t fixed_rand(uint64_t n, void *data)
{
	return *(uint64_t *)data % n;
}

static struct subnet_lease mk_lease(const char *sn, const char *sn6)
{
	struct subnet_lease l = {0};

	ip_prefix_parse(sn, &l.subnet);
	if (sn6)
		ip_prefix_parse(sn6, &l.subnet6);
	return l;
}

static void test_pick_free(void)
{
	struct subnet_conf c;
	struct err e;
	uint64_t rnd = 0;
	struct subnet_acquire_opts o = {.rand = fixed_rand, .rand_data = &rnd};
	struct subnet_lease ls[3] = {mk_lease("10.9.0.4/30", NULL), mk_lease("10.9.0.12/30", NULL),
				     mk_lease("10.9.0.8/30", NULL)};
	struct ip_prefix p;
	bool seen[256] = {0};
	int distinct = 0;
	char b[IP_STRLEN];

	T_EQ(conf("{\"Network\":\"10.9.0.0/28\",\"Backend\":{\"Type\":\"vxlan\"}}", &c, &e), 0);
	for (rnd = 0; rnd < 5; rnd++) {
		T_EQ(subnet_pick_free(AF_INET, &c.subnet_min, &c.subnet_max, 30, ls, 2, false, &o,
				      &p),
		     0);
		T_STREQ(ip_prefix_fmt(&p, b), "10.9.0.8/30");
	}
	T_EQ(subnet_pick_free(AF_INET, &c.subnet_min, &c.subnet_max, 30, ls, 3, false, &o, &p),
	     -ENOSPC);
	/* a lease of another length overlaps two /30s */
	ls[0] = mk_lease("10.9.0.0/29", NULL);
	T_EQ(subnet_pick_free(AF_INET, &c.subnet_min, &c.subnet_max, 30, ls, 1, false, &o, &p), 0);
	T_ASSERT(!strcmp(ip_prefix_fmt(&p, b), "10.9.0.8/30") || !strcmp(b, "10.9.0.12/30"));
	subnet_conf_done(&c);
	/* without a fixed source, picks spread over the range */
	T_EQ(conf("{\"Network\":\"10.10.0.0/16\",\"Backend\":{\"Type\":\"vxlan\"}}", &c, &e), 0);
	for (int i = 0; i < 64; i++) {
		T_EQ(subnet_pick_free(AF_INET, &c.subnet_min, &c.subnet_max, 24, NULL, 0, false,
				      NULL, &p),
		     0);
		T_ASSERT(ip_cmp(&p.ip, &c.subnet_min) >= 0 && ip_cmp(&p.ip, &c.subnet_max) <= 0);
		T_EQ(p.ip.b[3], 0);
		distinct += !seen[p.ip.b[2]];
		seen[p.ip.b[2]] = true;
	}
	T_ASSERT(distinct > 20);
	subnet_conf_done(&c);
	/* IPv6: a /56 of /64s, the ones taken skipped */
	T_EQ(conf("{\"Network\":\"10.10.0.0/16\",\"EnableIPv6\":true,\"IPv6Network\":"
		  "\"fd00::/62\",\"Backend\":{\"Type\":\"vxlan\"}}",
		  &c, &e),
	     0);
	ls[0] = mk_lease("10.10.1.0/24", "fd00:0:0:1::/64");
	ls[1] = mk_lease("10.10.2.0/24", "fd00:0:0:3::/64");
	T_EQ(subnet_pick_free(AF_INET6, &c.ipv6_subnet_min, &c.ipv6_subnet_max, 64, ls, 2, true, &o,
			      &p),
	     0);
	T_STREQ(ip_prefix_fmt(&p, b), "fd00:0:0:2::/64");
	subnet_conf_done(&c);
}

static void test_renew_after(void)
{
	T_EQ(subnet_renew_after(86400, 3600), 82800);
	T_EQ(subnet_renew_after(6, 3600), 4);
	T_EQ(subnet_renew_after(3, 3600), 2);
	T_EQ(subnet_renew_after(1, 3600), 0);
	T_EQ(subnet_renew_after(60, 0), 59);
	T_EQ(subnet_renew_after(2, 0), 1);
}

static void relative_writes(void)
{
	struct err e = {0};

	T_EQ(subnet_write_atomic("plain.env", "x\n", 2, 0600, &e), 0);
	T_EQ(subnet_write_atomic("sub/dir/", "x\n", 2, 0600, &e), -ENOTDIR);
	T_STREQ(e.msg, "write sub/dir/: Not a directory");
}

/* The rendered chain: sluice-bridge without ipMasq (the overlay's table masquerades), then
 * the overlay (with subnetFile when given), portmap and bandwidth */
static void conflist_chain(const cJSON *j, const char *subnet_file)
{
	const cJSON *pl = cJSON_GetObjectItem(j, "plugins"), *ov;
	static const char *const types[] = {"sluice-bridge", "sluice-vxlan-overlay",
					    "sluice-portmap", "sluice-bandwidth"};
	char *s;

	T_EQ(cJSON_GetArraySize(pl), 4);
	for (int i = 0; i < 4; i++)
		T_STREQ(cJSON_GetObjectItem(cJSON_GetArrayItem(pl, i), "type")->valuestring,
			types[i]);
	T_ASSERT(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetArrayItem(pl, 0), "ipMasq")));
	ov = cJSON_GetArrayItem(pl, 1);
	s = cJSON_PrintUnformatted(ov);
	if (subnet_file) {
		char want[300];

		snprintf(want, sizeof(want),
			 "{\"type\":\"sluice-vxlan-overlay\",\"subnetFile\":\"%s\"}", subnet_file);
		T_STREQ(s, want);
	} else {
		T_STREQ(s, "{\"type\":\"sluice-vxlan-overlay\"}");
	}
	free(s);
}

/* subnetFile: named when it is not the default, in the default chain and in a template's
 * overlay entries (replacing theirs), never added to other plugins */
static void conflist_subnet_file(const struct subnet_conf *c, const struct subnet_lease *l)
{
	static const char tmpl[] =
		"{\"cniVersion\":\"1.0.0\",\"name\":\"t\",\"plugins\":[{\"type\":\"sluice-bridge\","
		"\"ipam\":{\"type\":\"sluice-host-local\"}},{\"type\":\"sluice-vxlan-overlay\","
		"\"subnetFile\":\"/old\"},{\"type\":\"sluice-portmap\"}]}";
	struct err e = {0};
	cJSON *j;
	char *s;

	s = subnet_conflist_text(c, l, 1450, "/tmp/n1/subnet.env", NULL, 0, NULL, &e);
	j = cJSON_Parse(s);
	free(s);
	conflist_chain(j, "/tmp/n1/subnet.env");
	cJSON_Delete(j);
	T_ASSERT(!t_failed);
	s = subnet_conflist_text(c, l, 1450, SUBNET_ENV_DEFAULT, NULL, 0, NULL, &e);
	j = cJSON_Parse(s);
	free(s);
	conflist_chain(j, NULL);
	cJSON_Delete(j);
	T_ASSERT(!t_failed);
	s = subnet_conflist_text(c, l, 1450, "/n2/subnet.env", tmpl, strlen(tmpl), NULL, &e);
	j = cJSON_Parse(s);
	free(s);
	s = cJSON_PrintUnformatted(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "plugins"), 1));
	T_STREQ(s, "{\"type\":\"sluice-vxlan-overlay\",\"subnetFile\":\"/n2/subnet.env\"}");
	free(s);
	s = cJSON_PrintUnformatted(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "plugins"), 2));
	T_STREQ(s, "{\"type\":\"sluice-portmap\"}");
	free(s);
	cJSON_Delete(j);
	/* the default path leaves a template's own value alone */
	s = subnet_conflist_text(c, l, 1450, NULL, tmpl, strlen(tmpl), NULL, &e);
	j = cJSON_Parse(s);
	free(s);
	s = cJSON_PrintUnformatted(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "plugins"), 1));
	T_STREQ(s, "{\"type\":\"sluice-vxlan-overlay\",\"subnetFile\":\"/old\"}");
	free(s);
	cJSON_Delete(j);
}

/* With policy: sluice-nft-policy between the overlay and portmap, every field of the node's
 * written; a template's sluice-nft-policy entries get them (its other fields kept), and a
 * template without one gets none added */
static void conflist_policy(const struct subnet_conf *c, const struct subnet_lease *l)
{
	static const struct subnet_policy_conf pol = {
		.store_url = "dir:///tmp/n1/store",
		.prefix = "/sluice/network",
		.node = "n1",
		.run_dir = "/tmp/n1",
	};
	static const char *const types[] = {"sluice-bridge", "sluice-vxlan-overlay",
					    "sluice-nft-policy", "sluice-portmap",
					    "sluice-bandwidth"};
	static const char tmpl[] =
		"{\"cniVersion\":\"1.0.0\",\"name\":\"t\",\"plugins\":[{\"type\":\"bridge\","
		"\"ipam\":{\"type\":\"host-local\"}},{\"type\":\"sluice-nft-policy\","
		"\"store\":\"dir:///old\",\"nflogGroup\":7}]}";
	static const char want[] =
		"{\"type\":\"sluice-nft-policy\",\"store\":\"dir:///tmp/n1/store\","
		"\"prefix\":\"/sluice/network\",\"node\":\"n1\",\"runDir\":\"/tmp/n1\"}";
	const cJSON *pl;
	struct err e = {0};
	cJSON *j;
	char *s;

	s = subnet_conflist_text(c, l, 1450, NULL, NULL, 0, &pol, &e);
	j = cJSON_Parse(s);
	free(s);
	pl = cJSON_GetObjectItem(j, "plugins");
	T_EQ(cJSON_GetArraySize(pl), 5);
	for (int i = 0; i < 5; i++)
		T_STREQ(cJSON_GetObjectItem(cJSON_GetArrayItem(pl, i), "type")->valuestring,
			types[i]);
	s = cJSON_PrintUnformatted(cJSON_GetArrayItem(pl, 2));
	T_STREQ(s, want);
	free(s);
	cJSON_Delete(j);
	s = subnet_conflist_text(c, l, 1450, NULL, tmpl, strlen(tmpl), &pol, &e);
	j = cJSON_Parse(s);
	free(s);
	pl = cJSON_GetObjectItem(j, "plugins");
	T_EQ(cJSON_GetArraySize(pl), 2);
	s = cJSON_PrintUnformatted(cJSON_GetArrayItem(pl, 1));
	T_STREQ(s, "{\"type\":\"sluice-nft-policy\",\"nflogGroup\":7,\"store\":"
		   "\"dir:///tmp/n1/store\",\"prefix\":\"/sluice/network\",\"node\":\"n1\","
		   "\"runDir\":\"/tmp/n1\"}");
	free(s);
	cJSON_Delete(j);
}

/* The files' checks in dir (test_files makes it and removes it, whatever fails here) */
static void files_in(const char *dir)
{
	struct subnet_conf c;
	struct subnet_lease l = mk_lease("10.244.7.0/24", "fd00:10:244:7::/64");
	struct ip_prefix sn, sn6;
	struct err e;
	char path[256], b[IP_STRLEN], *s;
	struct stat st;
	cJSON *j, *ipam;
	int cwd;

	T_EQ(conf("{\"Network\":\"10.244.0.0/16\",\"EnableIPv6\":true,\"IPv6Network\":"
		  "\"fd00:10:244::/56\",\"Backend\":{\"Type\":\"vxlan\"}}",
		  &c, &e),
	     0);
	s = subnet_env_text(&c, &l, 1450, false);
	T_STREQ(s,
		"FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.7.1/24\n"
		"FLANNEL_IPV6_NETWORK=fd00:10:244::/56\nFLANNEL_IPV6_SUBNET=fd00:10:244:7::1/64\n"
		"FLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n");
	snprintf(path, sizeof(path), "%s/a/b/subnet.env", dir);
	T_EQ(subnet_write_atomic(path, s, strlen(s), 0644, &e), 0);
	free(s);
	T_EQ(stat(path, &st), 0);
	T_EQ(st.st_mode & 0777, 0644);
	T_EQ(subnet_env_read(path, &sn, &sn6), 0);
	T_STREQ(ip_prefix_fmt(&sn, b), "10.244.7.0/24");
	T_STREQ(ip_prefix_fmt(&sn6, b), "fd00:10:244:7::/64");
	/* relative paths given as string constants (read-only memory): the directory and the
	 * name are cut from copies (POSIX basename() writes into a path ending in '/') */
	cwd = open(".", O_RDONLY | O_DIRECTORY);
	T_ASSERT(cwd >= 0);
	T_EQ(chdir(dir), 0);
	relative_writes();
	T_EQ(fchdir(cwd), 0);
	close(cwd);
	T_ASSERT(!t_failed);
	snprintf(path, sizeof(path), "%s/plain.env", dir);
	T_EQ(stat(path, &st), 0);
	T_EQ(st.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "rmdir %s/sub/dir %s/sub", dir, dir); /* nothing left in it */
	T_EQ(system(path), 0);
	snprintf(path, sizeof(path), "%s/missing.env", dir);
	T_EQ(subnet_env_read(path, &sn, &sn6), -ENOENT);
	s = subnet_state_path("/run/sluice/subnet.env");
	T_STREQ(s, "/run/sluice/subnet.lease.json");
	free(s);
	s = subnet_state_path("/x/n1");
	T_STREQ(s, "/x/n1.lease.json");
	free(s);
	s = subnet_agent_path("/run/sluice/subnet.env");
	T_STREQ(s, "/run/sluice/subnet.agent.json");
	free(s);
	s = subnet_agent_path("/x/n1");
	T_STREQ(s, "/x/n1.agent.json");
	free(s);
	/* the conflist: the lease as the ranges, routes to the networks, the MTU */
	s = subnet_conflist_text(&c, &l, 1450, NULL, NULL, 0, NULL, &e);
	T_ASSERT(s);
	j = cJSON_Parse(s);
	free(s);
	T_STREQ(cJSON_GetObjectItem(j, "name")->valuestring, "sluice");
	conflist_chain(j, NULL);
	T_ASSERT(!t_failed);
	T_STREQ(cJSON_GetObjectItem(j, "cniVersion")->valuestring, "1.0.0");
	ipam = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "plugins"), 0),
				   "ipam");
	s = cJSON_PrintUnformatted(ipam);
	T_STREQ(s, "{\"type\":\"sluice-host-local\",\"ranges\":[[{\"subnet\":\"10.244.7.0/24\"}],"
		   "[{\"subnet\":\"fd00:10:244:7::/64\"}]],\"routes\":[{\"dst\":\"10.244.0.0/16\"},"
		   "{\"dst\":\"fd00:10:244::/56\"}]}");
	free(s);
	T_EQ(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "plugins"), 0), "mtu")
		     ->valuedouble,
	     1450);
	cJSON_Delete(j);
	/* a template: its ipam plugin filled, its own routes kept */
	static const char tmpl[] =
		"{\"cniVersion\":\"1.1.0\",\"name\":\"mine\",\"plugins\":[{\"type\":"
		"\"bridge\",\"ipam\":{\"type\":\"host-local\",\"routes\":[{\"dst\":"
		"\"0.0.0.0/0\"}]}}]}";
	s = subnet_conflist_text(&c, &l, 1400, NULL, tmpl, strlen(tmpl), NULL, &e);
	T_STREQ(s,
		"{\n\t\"cniVersion\":\t\"1.1.0\",\n\t\"name\":\t\"mine\",\n\t\"plugins\":\t[{\n"
		"\t\t\t\"type\":\t\"bridge\",\n\t\t\t\"ipam\":\t{\n\t\t\t\t\"type\":\t\"host-local\",\n"
		"\t\t\t\t\"routes\":\t[{\n\t\t\t\t\t\t\"dst\":\t\"0.0.0.0/0\"\n\t\t\t\t\t}, {\n"
		"\t\t\t\t\t\t\"dst\":\t\"10.244.0.0/16\"\n\t\t\t\t\t}, {\n"
		"\t\t\t\t\t\t\"dst\":\t\"fd00:10:244::/56\"\n\t\t\t\t\t}],\n"
		"\t\t\t\t\"ranges\":\t[[{\n\t\t\t\t\t\t\t\"subnet\":\t\"10.244.7.0/24\"\n"
		"\t\t\t\t\t\t}], [{\n\t\t\t\t\t\t\t\"subnet\":\t\"fd00:10:244:7::/64\"\n"
		"\t\t\t\t\t\t}]]\n\t\t\t},\n\t\t\t\"mtu\":\t1400\n\t\t}]\n}\n");
	free(s);
	T_ASSERT(!subnet_conflist_text(&c, &l, 1400, NULL, "{\"plugins\":[{}]}", 16, NULL, &e));
	T_STREQ(e.msg,
		"CNI config template: no plugin in \"plugins\" has an \"ipam\" object to fill with the lease");
	conflist_subnet_file(&c, &l);
	conflist_policy(&c, &l);
	subnet_conf_done(&c);
}

/* path holding text; subnet_state_read's result and message */
static int state_of(const char *path, const char *text, struct subnet_state *st, struct err *e)
{
	FILE *f = fopen(path, "w");

	memset(e, 0, sizeof(*e));
	if (!f)
		return -errno;
	fputs(text, f);
	fclose(f);
	return subnet_state_read(path, st, e);
}

/* A valid state with one field replaced by jq-like surgery: key's value becomes val (NULL:
 * the key goes) */
static char *state_with(const char *key, const char *val)
{
	cJSON *o = cJSON_Parse(
		"{\"Key\":\"/sluice/network/subnets/10.244.7.0-24\","
		"\"Subnet\":\"10.244.7.0/24\",\"IPv6Subnet\":null,"
		"\"Network\":\"10.244.0.0/16\",\"IPv6Network\":null,"
		"\"PublicIP\":\"192.168.100.1\",\"PublicIPv6\":null,\"Iface\":\"eth0\","
		"\"VNI\":1,\"Port\":8472,\"VtepMAC\":\"0a:00:00:00:00:01\",\"MTU\":1450,"
		"\"Expires\":0,\"Learning\":false,\"GBP\":false,"
		"\"DirectRouting\":false,\"NodeName\":\"n1\",\"Store\":\"\","
		"\"Prefix\":\"\"}");
	char *s;

	cJSON_DeleteItemFromObjectCaseSensitive(o, key);
	if (val)
		cJSON_AddItemToObject(o, key, cJSON_Parse(val));
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

/* The state file: what subnet_state_json() writes reads back field for field; every
 * malformed field is refused naming the file and the field */
static void state_in(const char *dir)
{
	static const struct {
		const char *key, *val, *msg;
	} bad[] = {
		{"Key", NULL, "Key: missing"},
		{"Key", "5", "Key: must be a string"},
		{"Subnet", "\"10.244.7.1/24\"", "Subnet: host bits set"},
		{"Subnet", "\"fd00::/64\"", "Subnet: must be an IPv4 prefix"},
		{"Subnet", "\"10.245.7.0/24\"", "Subnet: outside Network"},
		{"Network", NULL, "Network: missing"},
		{"PublicIP", "\"x\"", "PublicIP: must be an IPv4 address"},
		{"PublicIPv6", "\"10.0.0.1\"", "PublicIPv6: must be an IPv6 address"},
		{"IPv6Subnet", "\"fd00:1:0:7::/64\"",
		 "IPv6Subnet: needs IPv6Network and PublicIPv6"},
		{"Iface", "\"\"", "Iface: must be an interface name"},
		{"Iface", "\"0123456789abcdef\"", "Iface: too long"},
		{"VNI", "16777216", "VNI: must be an integer in [0, 16777215]"},
		{"VNI", "1.5", "VNI: must be an integer in [0, 16777215]"},
		{"Port", "\"8472\"", "Port: must be an integer in [0, 65535]"},
		{"MTU", "60", "MTU: must be an integer in [68, 65535]"},
		{"Expires", "-1", "Expires: must be an integer in [0, 4503599627370496]"},
		{"VtepMAC", "\"0a:00:00:00:00\"", "VtepMAC: must be a unicast MAC address"},
		{"VtepMAC", "\"0a:00:00:00:00:01:02\"", "VtepMAC: too long"},
		{"VtepMAC", "\"0b:00:00:00:00:01\"", "VtepMAC: must be a unicast MAC address"},
		{"VtepMAC", "\"0a:00:00:00:00:0g\"", "VtepMAC: must be a unicast MAC address"},
		{"Learning", "\"yes\"", "Learning: must be true or false"},
		{"IPMasq", "1", "IPMasq: must be true or false"},
	};
	struct subnet_conf c;
	struct subnet_lease l = mk_lease("10.244.7.0/24", "fd00:10:244:7::/64");
	struct subnet_state st;
	struct err e;
	char path[256], want[512], b[IP_STRLEN], *s;
	cJSON *j;

	T_EQ(conf("{\"Network\":\"10.244.0.0/16\",\"EnableIPv6\":true,\"IPv6Network\":"
		  "\"fd00:10:244::/56\",\"Backend\":{\"Type\":\"vxlan\",\"VNI\":7,\"Port\":4789,"
		  "\"GBP\":true,\"DirectRouting\":true}}",
		  &c, &e),
	     0);
	l.key = "/p/subnets/10.244.7.0-24&fd00:10:244:7::-64";
	ip_parse("192.168.100.7", &l.public_ip);
	ip_parse("fd00:100::7", &l.public_ipv6);
	snprintf(l.vtep_mac, sizeof(l.vtep_mac), "0a:1b:2c:3d:4e:5f");
	snprintf(l.node_name, sizeof(l.node_name), "n7");
	j = subnet_state_json(&c, &l, "eth0", 1450, 1700000000, false, "dir:///s", "/p");
	l.key = NULL;
	subnet_conf_done(&c);
	s = subnet_json_text(j);
	cJSON_Delete(j);
	snprintf(path, sizeof(path), "%s/subnet.lease.json", dir);
	T_EQ(subnet_write_atomic(path, s, strlen(s), 0644, &e), 0);
	free(s);
	memset(&st, 0, sizeof(st));
	T_EQ(subnet_state_read(path, &st, &e), 0);
	T_STREQ(st.key, "/p/subnets/10.244.7.0-24&fd00:10:244:7::-64");
	T_STREQ(ip_prefix_fmt(&st.subnet, b), "10.244.7.0/24");
	T_STREQ(ip_prefix_fmt(&st.subnet6, b), "fd00:10:244:7::/64");
	T_STREQ(ip_prefix_fmt(&st.network, b), "10.244.0.0/16");
	T_STREQ(ip_prefix_fmt(&st.network6, b), "fd00:10:244::/56");
	T_STREQ(ip_fmt(&st.public_ip, b), "192.168.100.7");
	T_STREQ(ip_fmt(&st.public_ipv6, b), "fd00:100::7");
	T_STREQ(st.iface, "eth0");
	T_EQ(st.vni, 7);
	T_EQ(st.port, 4789);
	T_STREQ(st.vtep_mac, "0a:1b:2c:3d:4e:5f");
	T_EQ(st.mtu, 1450);
	T_EQ(st.expires, 1700000000);
	T_ASSERT(!st.learning && st.gbp && st.direct_routing);
	T_ASSERT(!st.ip_masq);
	T_STREQ(st.node_name, "n7");

	/* each refusal: -EINVAL, code 6, the file and the field named; *ret untouched */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s = state_with(bad[i].key, bad[i].val);
		memset(&st, 0x55, sizeof(st));
		T_EQ(state_of(path, s, &st, &e), -EINVAL);
		free(s);
		snprintf(want, sizeof(want), "lease state %s: %s", path, bad[i].msg);
		T_STREQ(e.msg, want);
		T_EQ(e.code, 6);
		T_EQ(st.mtu, 0x55555555);
	}
	/* flags absent (a state from before they were written) are false; null is absent */
	s = state_with("GBP", NULL);
	T_EQ(state_of(path, s, &st, &e), 0);
	free(s);
	T_ASSERT(!st.gbp);
	/* but IPMasq absent is the agent's default: the node masquerades */
	s = state_with("IPMasq", NULL);
	T_EQ(state_of(path, s, &st, &e), 0);
	free(s);
	T_ASSERT(st.ip_masq);
	s = state_with("IPMasq", "true");
	T_EQ(state_of(path, s, &st, &e), 0);
	free(s);
	T_ASSERT(st.ip_masq);
	s = state_with("NodeName", "null");
	T_EQ(state_of(path, s, &st, &e), 0);
	free(s);
	T_STREQ(st.node_name, "");
	T_EQ(state_of(path, "{\"Key\":", &st, &e), -EINVAL);
	snprintf(want, sizeof(want), "lease state %s: not valid JSON: ", path);
	T_ASSERT(!strncmp(e.msg, want, strlen(want)));
	T_EQ(state_of(path, "[]", &st, &e), -EINVAL);
	snprintf(want, sizeof(want), "lease state %s: not a JSON object", path);
	T_STREQ(e.msg, want);
	unlink(path);
	memset(&e, 0, sizeof(e));
	T_EQ(subnet_state_read(path, &st, &e), -ENOENT);
	T_EQ(e.code, 0); /* no state is no error: the caller says what it means */
	snprintf(path, sizeof(path), "%s", dir);
	T_EQ(subnet_state_read(path, &st, &e), -EISDIR);
	snprintf(want, sizeof(want), "lease state %s: Is a directory", dir);
	T_STREQ(e.msg, want);
}

static void test_state(void)
{
	char dir[] = "/tmp/sluice-state.XXXXXX", cmd[64];

	T_ASSERT(mkdtemp(dir));
	state_in(dir);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	T_EQ(system(cmd), 0);
}

static void test_files(void)
{
	char dir[] = "/tmp/sluice-subnet.XXXXXX", cmd[64];

	T_ASSERT(mkdtemp(dir));
	files_in(dir);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	T_EQ(system(cmd), 0);
}

/* An in-memory store with a clock of its own: TTLs expire when the test says so, and a hook
 * lets another "node" write just before a put (a lost race). */
struct mem_kv {
	char *key, *val;
	size_t len;
	int64_t create, mod, ver, expires, ttl;
};

struct mem {
	struct store base;
	struct mem_kv kv[64];
	int n;
	int64_t rev, now;
	void (*before_put)(struct mem *m, const char *key);
	int hook_left;
};

static struct mem_kv *mem_find(struct mem *m, const char *key)
{
	for (int i = 0; i < m->n; i++)
		if (!strcmp(m->kv[i].key, key)) {
			if (m->kv[i].expires && m->kv[i].expires <= m->now) {
				free(m->kv[i].key), free(m->kv[i].val);
				m->kv[i] = m->kv[--m->n];
				return NULL;
			}
			return &m->kv[i];
		}
	return NULL;
}

static void mem_copy(const struct mem *m, const struct mem_kv *k, struct store_kv *kv)
{
	kv->key = strdup(k->key);
	kv->value = strndup(k->val, k->len);
	kv->value_len = k->len;
	kv->create_rev = k->create;
	kv->mod_rev = k->mod;
	kv->version = k->ver;
	kv->ttl = k->expires ? k->expires - m->now : -1;
	kv->lease = k->expires ? 1 : 0;
}

static int mem_get(struct store *s, const char *key, struct store_kv *kv, int64_t *rev,
		   struct err *err)
{
	struct mem *m = (struct mem *)s;
	struct mem_kv *k = mem_find(m, key);

	if (rev)
		*rev = m->rev;
	if (!k)
		return 0;
	mem_copy(m, k, kv);
	return 1;
}

static int by_key(const void *a, const void *b)
{
	return strcmp(((const struct store_kv *)a)->key, ((const struct store_kv *)b)->key);
}

static int mem_list(struct store *s, const char *prefix, const char *start, size_t limit,
		    struct store_list *out, struct err *err)
{
	struct mem *m = (struct mem *)s;

	for (int i = m->n - 1; i >= 0; i--)
		mem_find(m, m->kv[i].key); /* drops the expired */
	out->kvs = calloc((size_t)m->n + 1, sizeof(*out->kvs));
	for (int i = 0; i < m->n; i++)
		if (!strncmp(m->kv[i].key, prefix, strlen(prefix))) {
			mem_copy(m, &m->kv[i], &out->kvs[out->n]);
			/* as etcd's list: a leased key's TTL is not looked up */
			if (out->kvs[out->n].lease)
				out->kvs[out->n].ttl = STORE_TTL_UNKNOWN;
			out->n++;
		}
	qsort(out->kvs, out->n, sizeof(*out->kvs), by_key);
	out->rev = m->rev;
	return (int)out->n;
}

static int mem_put(struct store *s, const char *key, const void *value, size_t len,
		   const struct store_put *o, int64_t *rev, struct store_kv *cur, struct err *err)
{
	struct mem *m = (struct mem *)s;
	struct mem_kv *k;

	if (m->before_put && m->hook_left > 0) {
		void (*hook)(struct mem * m, const char *key) = m->before_put;

		m->hook_left--;
		m->before_put = NULL; /* the rival's own put runs no hook */
		hook(m, key);
		m->before_put = hook;
	}
	k = mem_find(m, key);
	if ((o->if_rev == STORE_ABSENT && k) || (o->if_rev > 0 && (!k || k->mod != o->if_rev)))
		return 0;
	if (!k) {
		k = &m->kv[m->n++];
		*k = (struct mem_kv){.key = strdup(key), .create = m->rev + 1};
	}
	free(k->val);
	k->val = strndup(value, len);
	k->len = len;
	k->mod = ++m->rev;
	k->ver++;
	k->expires = o->ttl ? m->now + o->ttl : 0;
	if (rev)
		*rev = m->rev;
	return 1;
}

static int mem_del(struct store *s, const char *key, int64_t if_rev, int64_t *rev, struct err *err)
{
	struct mem *m = (struct mem *)s;
	struct mem_kv *k = mem_find(m, key);

	if (!k || (if_rev > 0 && k->mod != if_rev))
		return 0;
	free(k->key), free(k->val);
	*k = m->kv[--m->n];
	if (rev)
		*rev = ++m->rev;
	return 1;
}

static int mem_ttl(struct store *s, struct store_kv *kv, struct err *err)
{
	struct mem *m = (struct mem *)s;
	struct mem_kv *k = mem_find(m, kv->key);

	kv->ttl = k && k->expires ? k->expires - m->now : 0;
	return 0;
}

static const struct store_ops mem_ops = {
	.get = mem_get, .list = mem_list, .put = mem_put, .del = mem_del, .ttl = mem_ttl};

static void mem_free(struct mem *m)
{
	for (int i = 0; i < m->n; i++)
		free(m->kv[i].key), free(m->kv[i].val);
}

static struct subnet_node node(const char *ip, const char *name)
{
	static struct subnet_node n;

	memset(&n, 0, sizeof(n));
	ip_parse(ip, &n.public_ip);
	n.node_name = name;
	n.vtep_mac = "02:00:00:00:00:aa";
	return n;
}

#define PFX "/coreos.com/network"

/* Every key the lifecycle writes starts with t_base: a store shared with other tests keeps
 * them apart */
static const char *t_base = "";

static const char *K(const char *path)
{
	static char b[4][256];
	static int i;
	char *p = b[i++ % 4];

	snprintf(p, sizeof(b[0]), "%s%s", t_base, path);
	return p;
}

/* The lease lifecycle on store s; advance lets time pass (a second of the in-memory
 * store's clock, or a fifth of a real one) */
static void lifecycle(struct store *s, void (*advance)(struct store *s))
{
	struct subnet_conf c, tight;
	struct subnet_lease a = {0}, b = {0}, a2 = {0}, fl = {0}, own = {0};
	struct subnet_node n;
	struct subnet_acquire_opts o = {.ttl = 60};
	struct store_kv kv = {0};
	struct store_event ev = {0};
	struct err e = {0};
	char b1[IP_STRLEN];
	const char *prev;

	T_EQ(conf("{\"Network\":\"10.244.0.0/16\",\"Backend\":{\"Type\":\"vxlan\"}}", &c, &e), 0);
	/* a flanneld lease, written by hand in its format: listed, never taken */
	T_EQ(store_put(s, K(PFX "/subnets/10.244.5.0-24"), FLANNELD_LEASE, strlen(FLANNELD_LEASE),
		       NULL, NULL, NULL, &e),
	     1);
	n = node("192.168.1.10", "n1");
	T_EQ(subnet_acquire(s, K(PFX), &c, &n, &o, &a, &e), SUBNET_NEW);
	T_ASSERT(subnet_conf_compat(&c, &a.subnet, &a.subnet6));
	T_ASSERT(strcmp(ip_prefix_fmt(&a.subnet, b1), "10.244.5.0/24"));
	T_EQ(a.ttl, 60);
	T_EQ(store_get(s, a.key, &kv, NULL, &e), 1);
	T_ASSERT(strstr(kv.value, "\"NodeName\":\"n1\""));
	T_ASSERT(strstr(kv.value, "\"VtepMAC\":\"02:00:00:00:00:aa\""));
	store_kv_free(&kv);
	/* the same node again: the same subnet, rewritten (a new mod_rev) */
	n = node("192.168.1.10", "n1");
	n.vtep_mac = NULL;
	T_EQ(subnet_acquire(s, K(PFX), &c, &n, &o, &a2, &e), SUBNET_REUSED);
	T_ASSERT(ip_eq(&a2.subnet.ip, &a.subnet.ip));
	T_ASSERT(a2.mod_rev > a.mod_rev);
	T_STREQ(a2.vtep_mac, "02:00:00:00:00:aa"); /* kept from the lease */
	/* a lease, not a reservation, though the list left its TTL unknown (etcd) */
	T_EQ(a2.ttl, 60);
	T_EQ(store_get(s, a2.key, &kv, NULL, &e), 1);
	T_ASSERT(kv.ttl > 0 && kv.ttl <= 60);
	store_kv_free(&kv);
	/* a's revision is stale now: renewing through it is a revocation */
	T_EQ(subnet_renew(s, &a, 60, &e), 0);
	T_EQ(subnet_renew(s, &a2, 60, &e), 1);
	T_EQ(subnet_lease_check(s, &a2, &e), 1);
	/* read back by a list: exact (dir) or left to subnet_lease_ttl (etcd), never none */
	T_EQ(subnet_find_own(s, K(PFX), &a2.public_ip, &own, &e), 1);
	T_ASSERT(own.ttl == STORE_TTL_UNKNOWN || (own.ttl > 0 && own.ttl <= 60));
	T_ASSERT(!subnet_lease_reserved(&own));
	T_EQ(subnet_lease_ttl(s, &own, &e), 0);
	T_ASSERT(own.ttl > 0 && own.ttl <= 60);
	subnet_lease_done(&own);
	/* another node: another subnet, the previous subnet when it is free */
	n = node("192.168.1.11", "n2");
	/* n1's subnet is random: 10.244.9.0/24 unless n1 drew it (1 run in 254 did) */
	prev = strcmp(ip_prefix_fmt(&a2.subnet, b1), "10.244.9.0/24") ? "10.244.9.0/24"
								      : "10.244.10.0/24";
	ip_prefix_parse(prev, &o.prev);
	T_EQ(subnet_acquire(s, K(PFX), &c, &n, &o, &b, &e), SUBNET_PREVIOUS);
	T_STREQ(ip_prefix_fmt(&b.subnet, b1), prev);
	subnet_lease_done(&b);
	n = node("192.168.1.12", "n3");
	o.prev = a2.subnet; /* held by n1: not taken */
	T_EQ(subnet_acquire(s, K(PFX), &c, &n, &o, &b, &e), SUBNET_NEW);
	T_ASSERT(!ip_eq(&b.subnet.ip, &a2.subnet.ip));
	T_ASSERT(strcmp(ip_prefix_fmt(&b.subnet, b1), "10.244.5.0/24"));
	memset(&o.prev, 0, sizeof(o.prev));
	/* n3's lease stolen (rewritten with another PublicIP): noticed */
	T_EQ(store_put(s, b.key, FLANNELD_LEASE, strlen(FLANNELD_LEASE), NULL, NULL, NULL, &e), 1);
	T_EQ(subnet_lease_check(s, &b, &e), 0);
	T_EQ(subnet_renew(s, &b, 60, &e), 0);
	ev.type = STORE_EV_PUT;
	ev.kv.key = b.key;
	ev.kv.value = (char *)FLANNELD_LEASE;
	ev.kv.value_len = strlen(FLANNELD_LEASE);
	T_EQ(subnet_event_revokes(&b, &ev), 1);
	ev.kv.value = (char *)"{\"PublicIP\":\"192.168.1.12\"}";
	ev.kv.value_len = strlen(ev.kv.value);
	T_EQ(subnet_event_revokes(&b, &ev), 0);
	ev.type = STORE_EV_DELETE;
	T_EQ(subnet_event_revokes(&b, &ev), 1);
	ev.kv.key = a2.key;
	T_EQ(subnet_event_revokes(&b, &ev), 0);
	/* the stolen copy goes: it holds flanneld's PublicIP too, and would be found below in
	 * place of the flanneld lease whenever n3's random subnet sorts before 10.244.5.0 */
	T_EQ(store_delete(s, b.key, STORE_ANY, NULL, &e), 1);
	subnet_lease_done(&b);
	/* release: gone, and a second release finds nothing */
	T_EQ(subnet_release(s, &a2, &e), 1);
	T_EQ(subnet_lease_check(s, &a2, &e), 0);
	T_EQ(subnet_release(s, &a2, &e), 0);
	T_EQ(subnet_find_own(s, K(PFX), &a2.public_ip, &a, &e), 0);
	/* the flanneld lease is still there, untouched */
	T_EQ(store_get(s, K(PFX "/subnets/10.244.5.0-24"), &kv, NULL, &e), 1);
	T_STREQ(kv.value, FLANNELD_LEASE);
	store_kv_free(&kv);
	T_EQ(subnet_find_own(s, K(PFX), &(struct ip_addr){0}, &fl, &e), 0);
	ip_parse("192.168.64.3", &fl.public_ip);
	T_EQ(subnet_find_own(s, K(PFX), &fl.public_ip, &fl, &e), 1);
	T_STREQ(ip_prefix_fmt(&fl.subnet, b1), "10.244.5.0/24");
	T_EQ(fl.ttl, -1); /* a reservation: known without a lookup */
	T_EQ(subnet_lease_ttl(s, &fl, &e), 0);
	T_EQ(fl.ttl, -1);
	subnet_lease_done(&fl);
	/* flanneld's node itself: its reservation (no TTL) is reused and stays one */
	n = node("192.168.64.3", NULL);
	n.vtep_mac = NULL;
	T_EQ(subnet_acquire(s, K(PFX), &c, &n, &o, &fl, &e), SUBNET_REUSED);
	T_STREQ(fl.key, K(PFX "/subnets/10.244.5.0-24"));
	T_EQ(fl.ttl, -1);
	T_EQ(subnet_renew(s, &fl, 60, &e), 1);
	T_EQ(store_get(s, fl.key, &kv, NULL, &e), 1);
	T_EQ(kv.ttl, -1);
	T_STREQ(kv.value, FLANNELD_LEASE);
	store_kv_free(&kv);
	subnet_lease_done(&fl);
	subnet_lease_done(&a);
	subnet_lease_done(&a2);
	/* expiry: a tight network (SubnetMin = SubnetMax) holds one subnet */
	T_EQ(conf("{\"Network\":\"10.8.0.0/16\",\"SubnetMin\":\"10.8.3.0\",\"SubnetMax\":"
		  "\"10.8.3.0\",\"Backend\":{\"Type\":\"vxlan\"}}",
		  &tight, &e),
	     0);
	o.ttl = 1;
	n = node("192.168.1.20", "n4");
	T_EQ(subnet_acquire(s, K("/tight"), &tight, &n, &o, &a, &e), SUBNET_NEW);
	n = node("192.168.1.21", "n5");
	memset(&e, 0, sizeof(e));
	T_EQ(subnet_acquire(s, K("/tight"), &tight, &n, &o, &b, &e), -ENOSPC);
	T_STREQ(e.msg,
		"no free subnet: every /24 between 10.8.3.0 and 10.8.3.0 is leased (1 leases)");
	T_EQ(e.code, CNI_ERR_NO_ADDRESS);
	/* expiry is read, not timed: a second at a time until the lease is gone (etcd rounds
	 * a TTL up to its minimum and revokes expired leases on its leader's next check) */
	for (int i = 0; i < 60 && subnet_lease_check(s, &a, &e) != 0; i++)
		advance(s);
	T_EQ(subnet_lease_check(s, &a, &e), 0);
	T_EQ(subnet_acquire(s, K("/tight"), &tight, &n, &o, &b, &e), SUBNET_NEW);
	T_STREQ(ip_prefix_fmt(&b.subnet, b1), "10.8.3.0/24");
	T_EQ(subnet_release(s, &b, &e), 1);
	subnet_lease_done(&a);
	subnet_lease_done(&b);
	/* the node's own lease from another config (another length): deleted, reallocated */
	T_EQ(store_put(s, K("/tight/subnets/10.8.3.0-25"), "{\"PublicIP\":\"192.168.1.21\"}", 27,
		       NULL, NULL, NULL, &e),
	     1);
	o.ttl = 60;
	T_EQ(subnet_acquire(s, K("/tight"), &tight, &n, &o, &b, &e), SUBNET_NEW);
	T_STREQ(b.key, K("/tight/subnets/10.8.3.0-24"));
	T_EQ(store_get(s, K("/tight/subnets/10.8.3.0-25"), &kv, NULL, &e), 0);
	/* an unreadable value still holds its subnet */
	n = node("192.168.1.22", "n6");
	T_EQ(subnet_release(s, &b, &e), 1);
	T_EQ(store_put(s, K("/tight/subnets/10.8.3.0-24"), "garbage", 7, NULL, NULL, NULL, &e), 1);
	memset(&e, 0, sizeof(e));
	T_EQ(subnet_acquire(s, K("/tight"), &tight, &n, &o, &a, &e), -ENOSPC);
	subnet_lease_done(&b);
	subnet_conf_done(&tight);
	subnet_conf_done(&c);
}

static void mem_advance(struct store *s)
{
	((struct mem *)s)->now++;
}

static void test_lifecycle_mem(void)
{
	struct mem m = {.base = {.ops = &mem_ops}, .now = 1000};

	lifecycle(&m.base, mem_advance);
	mem_free(&m);
}

/* the rival takes whatever key the next create aims at */
static void steal(struct mem *m, const char *key)
{
	struct store_put o = {.if_rev = STORE_ABSENT};

	mem_put(&m->base, key, "{\"PublicIP\":\"192.168.9.9\"}", 26, &o, NULL, NULL, NULL);
}

static void test_races(void)
{
	struct mem m = {.base = {.ops = &mem_ops}, .now = 1000};
	struct subnet_conf c;
	struct subnet_lease l = {0};
	struct subnet_node n = node("192.168.1.10", "n1");
	struct subnet_acquire_opts o = {.ttl = 60};
	struct err e = {0};
	struct store_list all = {0};

	T_EQ(conf("{\"Network\":\"10.244.0.0/16\",\"Backend\":{\"Type\":\"vxlan\"}}", &c, &e), 0);
	/* lost three times: the fourth try wins, on a subnet nobody else holds */
	m.before_put = steal;
	m.hook_left = 3;
	T_EQ(subnet_acquire(&m.base, PFX, &c, &n, &o, &l, &e), SUBNET_NEW);
	T_EQ(store_list_all(&m.base, PFX "/subnets/", 0, &all, &e), 4);
	store_list_free(&all);
	subnet_lease_done(&l);
	/* lost every time: flanneld's ten tries, then a clear error */
	n = node("192.168.1.11", "n2");
	m.hook_left = 100;
	T_EQ(subnet_acquire(&m.base, PFX, &c, &n, &o, &l, &e), -EAGAIN);
	T_STREQ(e.msg, "lost the race for a subnet 10 times to other nodes; try again");
	T_EQ(m.hook_left, 90);
	subnet_conf_done(&c);
	mem_free(&m);
}

/* Two nodes claim overlapping dual-stack keys (same IPv4 half) at once: the later
 * creation gives way */
static void rival_dual(struct mem *m, const char *key)
{
	struct store_put o = {.if_rev = STORE_ABSENT};
	char k[256];

	snprintf(k, sizeof(k), "%.*s&fd00:0:0:ff::-64", (int)(strchr(key, '&') - key), key);
	mem_put(&m->base, k, "{\"PublicIP\":\"192.168.9.9\"}", 26, &o, NULL, NULL, NULL);
}

static void test_dual_stack_overlap(void)
{
	struct mem m = {.base = {.ops = &mem_ops}, .now = 1000};
	struct subnet_conf c;
	struct subnet_lease l = {0};
	struct subnet_node n = node("192.168.1.10", "n1");
	struct subnet_acquire_opts o = {.ttl = 60};
	struct err e = {0};
	struct subnet_lease *ls = NULL;
	int cnt;

	T_EQ(conf("{\"Network\":\"10.244.0.0/16\",\"EnableIPv6\":true,\"IPv6Network\":"
		  "\"fd00::/56\",\"Backend\":{\"Type\":\"vxlan\"}}",
		  &c, &e),
	     0);
	T_EQ(subnet_acquire(&m.base, PFX, &c, &n, &o, &l, &e), -EINVAL);
	T_STREQ(e.msg, "lease: EnableIPv6 is set: the node needs an IPv6 PublicIPv6");
	ip_parse("fd00::10", &n.public_ipv6);
	m.before_put = rival_dual;
	m.hook_left = 1;
	T_EQ(subnet_acquire(&m.base, PFX, &c, &n, &o, &l, &e), SUBNET_NEW);
	cnt = subnet_list(&m.base, PFX, &ls, NULL, &e);
	T_EQ(cnt, 2);
	T_ASSERT(!ip_prefix_overlaps(&ls[0].subnet, &ls[1].subnet));
	T_ASSERT(!ip_prefix_overlaps(&ls[0].subnet6, &ls[1].subnet6));
	T_ASSERT(strchr(l.key, '&'));
	T_EQ(l.subnet6.len, 64);
	subnet_leases_free(ls, (size_t)cnt);
	subnet_lease_done(&l);
	subnet_conf_done(&c);
	mem_free(&m);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* sleeps until t (CLOCK_MONOTONIC seconds): deadlines, not sleeps that add up their delays */
static void sleep_until(double t)
{
	double d;

	while ((d = t - now_s()) > 0)
		usleep(d > 0.1 ? 100000 : (useconds_t)(d * 1e6) + 1);
}

/* Renewal restarts the TTL, on a real store: a lease of 3 s renewed at 1.5 s with 6 s is
 * still there at 4.5 s (past the first expiry; etcd's least TTL, ~2 s, counts from the grant)
 * with more than a second left, and then, not renewed, expires. Every wait is bounded. */
static void renewal(struct store *s)
{
	struct subnet_conf c;
	struct subnet_lease a = {0};
	struct subnet_node n = node("192.168.2.10", "r1");
	struct subnet_acquire_opts o = {.ttl = 3};
	struct store_kv kv = {0};
	struct err e = {0};
	double t0, gone = 0;
	int r;

	T_EQ(conf("{\"Network\":\"10.246.0.0/16\",\"Backend\":{\"Type\":\"vxlan\"}}", &c, &e), 0);
	subnet_conf_done(&c);
	t0 = now_s();
	T_EQ(subnet_acquire(s, K("/renew"), &c, &n, &o, &a, &e), SUBNET_NEW);
	T_EQ(store_get(s, a.key, &kv, NULL, &e), 1);
	T_ASSERT(kv.ttl >= 1 && kv.ttl <= 3);
	store_kv_free(&kv);
	sleep_until(t0 + 1.5);
	T_EQ(subnet_renew(s, &a, 6, &e), 1);
	T_EQ(a.ttl, 6);
	sleep_until(t0 + 4.5);
	r = store_get(s, a.key, &kv, NULL, &e);
	if (r == 1 && kv.ttl <= 1)
		printf("  ttl left %lld at %.1f s\n", (long long)kv.ttl, now_s() - t0);
	T_EQ(r, 1);
	T_ASSERT(kv.ttl > 1);
	store_kv_free(&kv);
	T_EQ(subnet_lease_check(s, &a, &e), 1);
	/* not renewed: gone, not before its 6 s (less a second for rounding) and within 20 s
	 * more (etcd revokes on its leader's next check) */
	while (!gone && now_s() < t0 + 30) {
		r = store_get(s, a.key, &kv, NULL, &e);
		T_ASSERT(r >= 0);
		store_kv_free(&kv);
		if (!r)
			gone = now_s() - t0;
		else
			usleep(100000);
	}
	if (gone < 6.5)
		printf("  gone after %.1f s\n", gone);
	T_ASSERT(gone >= 1.5 + 6 - 1);
	T_EQ(subnet_lease_check(s, &a, &e), 0);
	T_EQ(subnet_renew(s, &a, 6, &e), 0); /* expired: revoked, not written again */
	subnet_lease_done(&a);
	subnet_conf_done(&c);
}

static void real_advance(struct store *s)
{
	usleep(200 * 1000);
}

static void test_lifecycle_dir(void)
{
	char dir[] = "/tmp/sluice-subnet-store.XXXXXX", url[64], cmd[80];
	struct err e = {0};
	struct store *s;

	T_ASSERT(mkdtemp(dir));
	snprintf(url, sizeof(url), "dir://%s/s", dir);
	s = store_open(url, &e);
	if (!s) {
		printf("  %s\n", e.msg);
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		T_EQ(system(cmd), 0);
		T_ASSERT(s);
	}
	lifecycle(s, real_advance);
	store_close(s);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	T_EQ(system(cmd), 0);
}

static void test_renewal_dir(void)
{
	char dir[] = "/tmp/sluice-subnet-store.XXXXXX", url[64], cmd[80];
	struct err e = {0};
	struct store *s;

	T_ASSERT(mkdtemp(dir));
	snprintf(url, sizeof(url), "dir://%s/s", dir);
	s = store_open(url, &e);
	if (s) {
		renewal(s);
		store_close(s);
	} else {
		printf("  %s\n", e.msg);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	T_EQ(system(cmd), 0);
}

/* SUBNET_TEST_STORE=URL: the lifecycle and the renewal alone, on that store
 * (tests/netns/leases.sh runs them on the etcd it starts), their keys under /unit */
static void test_lifecycle_env(void)
{
	struct err e = {0};
	struct store *s = store_open(secure_getenv("SUBNET_TEST_STORE"), &e);

	if (!s)
		printf("  %s\n", e.msg);
	T_ASSERT(s);
	t_base = "/unit";
	lifecycle(s, real_advance);
	store_close(s);
}

static void test_renewal_env(void)
{
	struct err e = {0};
	struct store *s = store_open(secure_getenv("SUBNET_TEST_STORE"), &e);

	if (!s)
		printf("  %s\n", e.msg);
	T_ASSERT(s);
	t_base = "/unit";
	renewal(s);
	store_close(s);
}

int main(void)
{
	if (secure_getenv("SUBNET_TEST_STORE")) {
		T_RUN(test_lifecycle_env);
		T_RUN(test_renewal_env);
		return T_EXIT();
	}
	T_RUN(test_conf_defaults);
	T_RUN(test_conf_v6);
	T_RUN(test_conf_refusals);
	T_RUN(test_conf_json);
	T_RUN(test_keys);
	T_RUN(test_lease_json);
	T_RUN(test_pick_free);
	T_RUN(test_renew_after);
	T_RUN(test_files);
	T_RUN(test_state);
	T_RUN(test_lifecycle_mem);
	T_RUN(test_races);
	T_RUN(test_dual_stack_overlap);
	T_RUN(test_lifecycle_dir);
	T_RUN(test_renewal_dir);
	return T_EXIT();
}
