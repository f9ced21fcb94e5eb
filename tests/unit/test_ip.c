// SPDX-License-Identifier: Apache-2.0
/* IP parsing, Go-compatible formatting and arithmetic at the v4/v6 edges. */
#define T_NAME "test_ip"
#include <arpa/inet.h>

#include "base/ip.h"
#include "t.h"

static const char *roundtrip(const char *in, char *buf)
{
	struct ip_addr ip;

	if (ip_parse(in, &ip) < 0)
		return "(invalid)";
	return ip_fmt(&ip, buf);
}

static void test_format_like_go(void)
{
	char b[IP_STRLEN];

	T_STREQ(roundtrip("10.0.0.1", b), "10.0.0.1");
	T_STREQ(roundtrip("::", b), "::");
	T_STREQ(roundtrip("::1", b), "::1");
	T_STREQ(roundtrip("fd00:0:0:0:0:0:0:10", b), "fd00::10");
	T_STREQ(roundtrip("2001:db8:0:1:0:0:0:1", b), "2001:db8:0:1::1");
	/* a single zero group is not compressed; on equal runs the first one wins */
	T_STREQ(roundtrip("2001:db8:0:1:1:1:1:1", b), "2001:db8:0:1:1:1:1:1");
	T_STREQ(roundtrip("1:0:0:2:0:0:3:4", b), "1::2:0:0:3:4");
	T_STREQ(roundtrip("1:0:0:2:0:0:0:4", b), "1:0:0:2::4");
	T_STREQ(roundtrip("FD00::ABCD", b), "fd00::abcd");
	/* Go prints IPv4-mapped addresses as IPv4; glibc would print ::1.2.3.4 for this one */
	T_STREQ(roundtrip("::ffff:10.1.2.3", b), "10.1.2.3");
	T_STREQ(roundtrip("::102:304", b), "::102:304");
	T_STREQ(roundtrip("10.0.0.256", b), "(invalid)");
	T_STREQ(roundtrip("", b), "(invalid)");
	T_STREQ(roundtrip("10.0.0.1/24", b), "(invalid)");
}

static void test_prefix_parse(void)
{
	struct ip_prefix p;
	char b[IP_STRLEN];

	T_EQ(ip_prefix_parse("10.1.2.3/24", &p), 0);
	T_EQ(p.len, 24);
	T_STREQ(ip_prefix_fmt(&p, b), "10.1.2.3/24");
	T_EQ(ip_prefix_parse("fd00::5/64", &p), 0);
	T_STREQ(ip_prefix_fmt(&p, b), "fd00::5/64");
	T_ASSERT(ip_prefix_parse("10.0.0.0/33", &p) < 0);
	T_ASSERT(ip_prefix_parse("10.0.0.0/-1", &p) < 0);
	T_ASSERT(ip_prefix_parse("10.0.0.0/+8", &p) < 0);
	T_ASSERT(ip_prefix_parse("10.0.0.0/", &p) < 0);
	T_ASSERT(ip_prefix_parse("10.0.0.0", &p) < 0);
	T_ASSERT(ip_prefix_parse("fd00::/129", &p) < 0);
	T_EQ(ip_or_prefix_parse("10.0.0.7", &p), 0);
	T_EQ(p.len, 32);
	T_EQ(ip_or_prefix_parse("fd00::7", &p), 0);
	T_EQ(p.len, 128);
}

static void test_arith_edges(void)
{
	struct ip_addr a;
	char b[IP_STRLEN];

	ip_parse("10.0.0.255", &a);
	ip_next(&a);
	T_STREQ(ip_fmt(&a, b), "10.0.1.0");
	ip_parse("255.255.255.255", &a);
	ip_next(&a);
	T_STREQ(ip_fmt(&a, b), "0.0.0.0");
	ip_prev(&a);
	T_STREQ(ip_fmt(&a, b), "255.255.255.255");
	ip_parse("fd00::ffff:ffff", &a);
	ip_next(&a);
	T_STREQ(ip_fmt(&a, b), "fd00::1:0:0");
	ip_parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", &a);
	ip_next(&a);
	T_STREQ(ip_fmt(&a, b), "::");
}

static void test_network_contains(void)
{
	struct ip_prefix p, q;
	struct ip_addr a, n;
	char b[IP_STRLEN];

	ip_prefix_parse("10.1.2.3/20", &p);
	n = ip_prefix_network(&p);
	T_STREQ(ip_fmt(&n, b), "10.1.0.0");
	n = ip_prefix_broadcast(&p);
	T_STREQ(ip_fmt(&n, b), "10.1.15.255");
	ip_parse("10.1.15.9", &a);
	T_ASSERT(ip_prefix_contains(&p, &a));
	ip_parse("10.1.16.0", &a);
	T_ASSERT(!ip_prefix_contains(&p, &a));
	ip_parse("fd00::1", &a);
	T_ASSERT(!ip_prefix_contains(&p, &a));
	ip_prefix_parse("fd00::/121", &p);
	n = ip_prefix_broadcast(&p);
	T_STREQ(ip_fmt(&n, b), "fd00::7f");
	ip_prefix_parse("0.0.0.0/0", &p);
	ip_parse("192.0.2.1", &a);
	T_ASSERT(ip_prefix_contains(&p, &a));
	ip_prefix_parse("10.0.0.0/8", &p);
	ip_prefix_parse("10.200.0.0/16", &q);
	T_ASSERT(ip_prefix_overlaps(&p, &q));
	T_ASSERT(ip_prefix_overlaps(&q, &p));
	ip_prefix_parse("11.0.0.0/16", &q);
	T_ASSERT(!ip_prefix_overlaps(&p, &q));
}

int main(void)
{
	T_RUN(test_format_like_go);
	T_RUN(test_prefix_parse);
	T_RUN(test_arith_edges);
	T_RUN(test_network_contains);
	return T_EXIT();
}
