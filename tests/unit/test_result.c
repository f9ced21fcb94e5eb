// SPDX-License-Identifier: Apache-2.0
/* The result model: parsing, printing in every version, round trips between versions. */
#define T_NAME "test_result"
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cni/cni.h"
#include "cni/result.h"
#include "t.h"

static const char full[] =
	"{\"cniVersion\":\"1.1.0\",\"interfaces\":[{\"name\":\"cni0\",\"mac\":\"aa:bb:cc:dd:ee:01\","
	"\"mtu\":1450},{\"name\":\"veth1\",\"mac\":\"aa:bb:cc:dd:ee:02\"},{\"name\":\"eth0\","
	"\"mac\":\"aa:bb:cc:dd:ee:03\",\"sandbox\":\"/run/netns/p\",\"socketPath\":\"/s\","
	"\"pciID\":\"0000:00:01.0\"}],\"ips\":[{\"address\":\"10.1.0.5/24\",\"gateway\":"
	"\"10.1.0.1\",\"interface\":2},{\"address\":\"fd00::5/64\",\"interface\":2}],\"routes\":"
	"[{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.1.0.1\",\"mtu\":1400,\"advmss\":1360,\"priority\":5,"
	"\"table\":100,\"scope\":0},{\"dst\":\"fd00:1::/64\"}],\"dns\":{\"nameservers\":"
	"[\"10.1.0.10\"],\"domain\":\"\",\"search\":[],\"options\":[\"ndots:5\"]},\"unknown\":1}";

static char *emit(const struct cni_result *res, const char *v)
{
	cJSON *o = cni_result_to_json(res, v);
	char *s = cJSON_PrintUnformatted(o);

	cJSON_Delete(o);
	return s;
}

static int parse(const char *s, struct cni_result *res)
{
	cJSON *o = cJSON_Parse(s);
	char err[128];
	int r = cni_result_parse(o, res, err, sizeof(err));

	cJSON_Delete(o);
	return r;
}

static void test_parse_full(void)
{
	struct cni_result res;

	T_EQ(parse(full, &res), 0);
	T_EQ(res.n_ifaces, 3);
	T_EQ(res.n_ips, 2);
	T_EQ(res.n_routes, 2);
	T_EQ(res.ifaces[0].mtu, 1450);
	T_STREQ(res.ifaces[2].sandbox, "/run/netns/p");
	T_EQ(res.ips[0].iface, 2);
	T_EQ(res.ips[1].gateway.family, 0);
	T_EQ(res.routes[0].table, 100);
	T_ASSERT(res.routes[0].has & CNI_ROUTE_HAS_SCOPE);
	T_ASSERT(!(res.routes[1].has & CNI_ROUTE_HAS_GW));
	T_EQ(cni_result_find_iface(&res, "eth0", "/run/netns/p"), 2);
	T_EQ(cni_result_find_iface(&res, "veth1", ""), 1);
	T_EQ(cni_result_find_iface(&res, "eth0", ""), -1);
	cni_result_done(&res);
}

static void test_emit_versions(void)
{
	struct cni_result res;
	char *s;

	T_EQ(parse(full, &res), 0);
	s = emit(&res, "1.1.0");
	T_STREQ(s,
		"{\"cniVersion\":\"1.1.0\",\"interfaces\":[{\"name\":\"cni0\",\"mac\":"
		"\"aa:bb:cc:dd:ee:01\",\"mtu\":1450},{\"name\":\"veth1\",\"mac\":"
		"\"aa:bb:cc:dd:ee:02\"},{\"name\":\"eth0\",\"mac\":\"aa:bb:cc:dd:ee:03\","
		"\"sandbox\":\"/run/netns/p\",\"socketPath\":\"/s\",\"pciID\":\"0000:00:01.0\"}],"
		"\"ips\":[{\"interface\":2,\"address\":\"10.1.0.5/24\",\"gateway\":\"10.1.0.1\"},"
		"{\"interface\":2,\"address\":\"fd00::5/64\"}],\"routes\":[{\"dst\":\"0.0.0.0/0\","
		"\"gw\":\"10.1.0.1\",\"mtu\":1400,\"advmss\":1360,\"priority\":5,\"table\":100,"
		"\"scope\":0},{\"dst\":\"fd00:1::/64\"}],\"dns\":{\"nameservers\":[\"10.1.0.10\"],"
		"\"options\":[\"ndots:5\"]}}");
	free(s);
	/* below 1.0.0: ips carry version; 1.1.0-only interface and route fields go */
	s = emit(&res, "0.4.0");
	T_STREQ(s,
		"{\"cniVersion\":\"0.4.0\",\"interfaces\":[{\"name\":\"cni0\",\"mac\":"
		"\"aa:bb:cc:dd:ee:01\"},{\"name\":\"veth1\",\"mac\":\"aa:bb:cc:dd:ee:02\"},"
		"{\"name\":\"eth0\",\"mac\":\"aa:bb:cc:dd:ee:03\",\"sandbox\":\"/run/netns/p\"}],"
		"\"ips\":[{\"version\":\"4\",\"interface\":2,\"address\":\"10.1.0.5/24\","
		"\"gateway\":\"10.1.0.1\"},{\"version\":\"6\",\"interface\":2,\"address\":"
		"\"fd00::5/64\"}],\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.1.0.1\"},"
		"{\"dst\":\"fd00:1::/64\"}],\"dns\":{\"nameservers\":[\"10.1.0.10\"],"
		"\"options\":[\"ndots:5\"]}}");
	free(s);
	cni_result_done(&res);
}

/* 0.3.0 -> 1.1.0 -> 0.3.1 -> 1.0.0 keeps every field those versions share */
static void test_roundtrip(void)
{
	const char *versions[] = {"0.3.0", "1.1.0", "0.3.1", "1.0.0", "0.4.0", "1.1.0"};
	struct cni_result res, next;
	char *s = NULL, *first = NULL;

	T_EQ(parse(full, &res), 0);
	for (unsigned int i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		free(s);
		s = emit(&res, versions[i]);
		cni_result_done(&res);
		T_EQ(parse(s, &next), 0);
		res = next;
		if (i == 1)
			first = strdup(s);
	}
	/* the 1.1.0-only fields dropped at 0.3.0 stay dropped; the rest is identical */
	T_STREQ(s, first);
	free(s);
	free(first);
	cni_result_done(&res);
}

static void test_parse_errors(void)
{
	struct cni_result res;

	T_ASSERT(parse("{\"ips\":[{\"address\":\"10.0.0.1\"}]}", &res) < 0);
	T_ASSERT(parse("{\"ips\":[{\"address\":\"10.0.0.1/24\",\"interface\":3}]}", &res) < 0);
	T_ASSERT(parse("{\"routes\":[{\"dst\":\"10.0.0.0/8\",\"gw\":\"fd00::1\"}]}", &res) < 0);
	T_ASSERT(parse("{\"routes\":[{\"gw\":\"10.0.0.1\"}]}", &res) < 0);
	T_ASSERT(parse("{\"interfaces\":{}}", &res) < 0);
	T_ASSERT(parse("[]", &res) < 0);
	T_EQ(parse("{}", &res), 0);
	cni_result_done(&res);
}

/* Every JSON number that becomes an int is range-checked first: converting 1e300 is
 * undefined behaviour (UBSan's float-cast-overflow, fatal in this test by the hook below). */
static void test_parse_int_ranges(void)
{
	static const char *const bad[] = {"1e300", "-1e300", "2147483648", "-2147483649",
					  "1e999", "1.5",    "1e-300",	   "-2"};
	static const char *const fields[][2] = {
		{"\"ips\":[{\"address\":\"10.0.0.1/24\",\"interface\":", "}]"},
		{"\"interfaces\":[{\"name\":\"a\",\"mtu\":", "}]"},
		{"\"routes\":[{\"dst\":\"0.0.0.0/0\",\"priority\":", "}]"},
		{"\"routes\":[{\"dst\":\"0.0.0.0/0\",\"table\":", "}]"},
	};
	struct cni_result res;
	char s[200];

	for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			/* -2 is an int, but no interface index (-1 is "none") */
			if (!strcmp(bad[i], "-2") && f)
				continue;
			snprintf(s, sizeof(s), "{%s%s%s}", fields[f][0], bad[i], fields[f][1]);
			T_ASSERT(parse(s, &res) < 0);
		}
	}
	T_EQ(parse("{\"routes\":[{\"dst\":\"0.0.0.0/0\",\"table\":2147483647}]}", &res), 0);
	T_EQ(res.routes[0].table, 2147483647);
	cni_result_done(&res);
	T_EQ(parse("{\"routes\":[{\"dst\":\"0.0.0.0/0\",\"priority\":-2147483648}]}", &res), 0);
	T_EQ(res.routes[0].priority, -2147483648LL);
	cni_result_done(&res);
}

/* In a SANITIZE=1 build, undefined behaviour ends this test instead of a warning. */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
	return "halt_on_error=1:print_stacktrace=1";
}

/* Parses s and returns the error text ("" when it parsed). */
static const char *parse_err(const char *s)
{
	static char err[128];
	struct cni_result res = {0};
	cJSON *o = cJSON_Parse(s);

	err[0] = '\0';
	if (cni_result_parse(o, &res, err, sizeof(err)) == 0)
		cni_result_done(&res);
	cJSON_Delete(o);
	return err;
}

/* A field of the wrong type is refused (Go's types100 cannot read it), not read as missing:
 * a result carrying it would be copied on, and libcni could not parse ours either. */
static void test_parse_types(void)
{
	T_STREQ(parse_err("{\"dns\":5}"), "dns: must be an object");
	T_STREQ(parse_err("{\"dns\":{\"nameservers\":\"x\"}}"),
		"dns.nameservers: must be a list of strings");
	T_STREQ(parse_err("{\"dns\":{\"nameservers\":[\"10.0.0.1\",1]}}"),
		"dns.nameservers[1]: must be a string");
	T_STREQ(parse_err("{\"dns\":{\"search\":{}}}"), "dns.search: must be a list of strings");
	T_STREQ(parse_err("{\"dns\":{\"options\":[null]}}"), "dns.options[0]: must be a string");
	T_STREQ(parse_err("{\"dns\":{\"domain\":[]}}"), "dns.domain: must be a string");
	T_STREQ(parse_err("{\"interfaces\":[{\"name\":5}]}"), "interfaces: name must be a string");
	T_STREQ(parse_err("{\"interfaces\":[{\"name\":\"e\",\"sandbox\":true}]}"),
		"interfaces: sandbox must be a string");
	T_STREQ(parse_err("{\"ips\":[{\"address\":\"10.0.0.1/24\",\"gateway\":5}]}"),
		"ips: gateway must be a string");
	T_STREQ(parse_err("{\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":[]}]}"),
		"routes: gw must be a string");
	T_STREQ(parse_err("{\"dns\":{\"nameservers\":null,\"domain\":null,\"x\":5},"
			  "\"interfaces\":[{\"name\":null}]}"),
		"");
	T_STREQ(cni_dns_check(NULL, "", NULL, 0) == 0 ? "ok" : "bad", "ok");
}

/* Only Go's four dns fields are printed; an unknown one is not copied on. */
static void test_dns_known_fields(void)
{
	struct cni_result res;
	char *s;

	T_EQ(parse("{\"dns\":{\"x\":[\"y\"],\"options\":[\"ndots:5\"],\"domain\":\"d\","
		   "\"nameservers\":[\"10.0.0.1\"]}}",
		   &res),
	     0);
	s = emit(&res, "1.0.0");
	T_STREQ(s, "{\"cniVersion\":\"1.0.0\",\"dns\":{\"nameservers\":[\"10.0.0.1\"],\"domain\":"
		   "\"d\",\"options\":[\"ndots:5\"]}}");
	free(s);
	cni_result_done(&res);
}

/* A failed parse leaves its result zeroed, as result.h says: a caller may release it (the
 * fuzz target does) without having zeroed it first. */
static void test_parse_error_zeroes(void)
{
	struct cni_result res;

	memset(&res, 0xa5, sizeof(res));
	T_ASSERT(parse("{\"interfaces\":\"veth0\"}", &res) < 0);
	T_EQ(res.n_ifaces, 0);
	T_ASSERT(!res.ifaces && !res.ips && !res.routes && !res.dns);
	memset(&res, 0xa5, sizeof(res));
	T_ASSERT(parse("[]", &res) < 0);
	T_EQ(res.n_ips, 0);
	cni_result_done(&res);
}

static void test_build(void)
{
	struct cni_result res = {0};
	struct ip_prefix p;
	struct ip_addr gw;
	char *s;

	T_EQ(cni_result_add_iface(&res, "br0", "02:00:00:00:00:01", NULL), 0);
	T_EQ(cni_result_add_iface(&res, "eth0", NULL, "/run/netns/x"), 1);
	ip_prefix_parse("10.0.0.2/24", &p);
	ip_parse("10.0.0.1", &gw);
	T_EQ(cni_result_add_ip(&res, &p, &gw, 1), 0);
	s = emit(&res, "1.0.0");
	T_STREQ(s,
		"{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"br0\",\"mac\":"
		"\"02:00:00:00:00:01\"},{\"name\":\"eth0\",\"sandbox\":\"/run/netns/x\"}],"
		"\"ips\":[{\"interface\":1,\"address\":\"10.0.0.2/24\",\"gateway\":\"10.0.0.1\"}]}");
	free(s);
	cni_result_done(&res);
}

int main(void)
{
	T_RUN(test_parse_full);
	T_RUN(test_emit_versions);
	T_RUN(test_roundtrip);
	T_RUN(test_parse_errors);
	T_RUN(test_parse_int_ranges);
	T_RUN(test_parse_error_zeroes);
	T_RUN(test_build);
	T_RUN(test_parse_types);
	T_RUN(test_dns_known_fields);
	return T_EXIT();
}
