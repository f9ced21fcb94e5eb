// SPDX-License-Identifier: Apache-2.0
/* host-local range math: defaults, validation messages, the round-robin iterator. */
#define T_NAME "test_range"
#include "ipam/range.h"
#include "t.h"

static struct range mk(const char *subnet, const char *start, const char *end, const char *gw)
{
	struct range r = {0};

	ip_prefix_parse(subnet, &r.subnet);
	if (start)
		ip_parse(start, &r.start);
	if (end)
		ip_parse(end, &r.end);
	if (gw)
		ip_parse(gw, &r.gw);
	return r;
}

static void test_defaults_v4_v6(void)
{
	struct range r = mk("10.0.0.0/24", NULL, NULL, NULL);
	char e[256], b[IP_STRLEN];

	T_EQ(range_canonicalize(&r, e, sizeof(e)), 0);
	T_STREQ(ip_fmt(&r.gw, b), "10.0.0.1");
	T_STREQ(ip_fmt(&r.start, b), "10.0.0.1");
	T_STREQ(ip_fmt(&r.end, b), "10.0.0.254");
	r = mk("fd00::/120", NULL, NULL, NULL);
	T_EQ(range_canonicalize(&r, e, sizeof(e)), 0);
	/* IPv6 ends at the all-ones address (upstream's lastIP), not ::fe */
	T_STREQ(ip_fmt(&r.end, b), "fd00::ff");
	r = mk("10.0.0.0/30", NULL, NULL, NULL);
	T_EQ(range_canonicalize(&r, e, sizeof(e)), 0);
	T_STREQ(ip_fmt(&r.end, b), "10.0.0.2");
}

static void test_invalid(void)
{
	struct range r = mk("10.0.0.0/31", NULL, NULL, NULL);
	char e[256];

	T_ASSERT(range_canonicalize(&r, e, sizeof(e)) < 0);
	T_STREQ(e, "Network 10.0.0.0/31 too small to allocate from");
	r = mk("fd00::/127", NULL, NULL, NULL);
	T_ASSERT(range_canonicalize(&r, e, sizeof(e)) < 0);
	r = mk("10.0.0.5/24", NULL, NULL, NULL);
	T_ASSERT(range_canonicalize(&r, e, sizeof(e)) < 0);
	T_STREQ(e, "Network has host bits set. For a subnet mask of length 24 the network address "
		   "is 10.0.0.0");
	r = mk("10.0.0.0/24", "10.0.1.5", NULL, NULL);
	T_ASSERT(range_canonicalize(&r, e, sizeof(e)) < 0);
	T_STREQ(e, "RangeStart 10.0.1.5 not in network 10.0.0.0/24");
	r = mk("10.0.0.0/24", "10.0.0.50", "10.0.0.40", NULL);
	T_ASSERT(range_canonicalize(&r, e, sizeof(e)) < 0);
}

static void test_set_overlap_family(void)
{
	struct rangeset s = {.n = 2};
	char e[256];

	s.r[0] = mk("10.0.0.0/24", NULL, "10.0.0.100", NULL);
	s.r[1] = mk("10.0.0.0/24", "10.0.0.101", NULL, NULL);
	T_EQ(rangeset_canonicalize(&s, e, sizeof(e)), 0);
	s.r[0] = mk("10.0.0.0/24", NULL, NULL, NULL);
	s.r[1] = mk("10.0.0.0/25", NULL, NULL, NULL);
	T_ASSERT(rangeset_canonicalize(&s, e, sizeof(e)) < 0);
	T_STREQ(e, "subnets 10.0.0.1-10.0.0.254 and 10.0.0.1-10.0.0.126 overlap");
	s.r[1] = mk("fd00::/64", NULL, NULL, NULL);
	T_ASSERT(rangeset_canonicalize(&s, e, sizeof(e)) < 0);
	T_STREQ(e, "mixed address families");
}

/* The whole walk from last (NULL: from the start) as "a b c ", cut off after ~200 bytes so
 * a walk that never ends fails the comparison instead of hanging the test. */
static const char *walk(const struct rangeset *s, const char *last, char *got, size_t len)
{
	struct range_iter it;
	struct ip_addr ip, l;
	char b[IP_STRLEN];
	size_t ri;

	if (last)
		ip_parse(last, &l);
	range_iter_init(&it, s, last ? &l : NULL);
	got[0] = '\0';
	while (strlen(got) < 200 && range_iter_next(&it, &ip, &ri))
		snprintf(got + strlen(got), len - strlen(got), "%s ", ip_fmt(&ip, b));
	return got;
}

static void test_iter_round_robin(void)
{
	struct rangeset s = {.n = 2};
	struct range_iter it;
	struct ip_addr ip, last;
	char e[256], b[IP_STRLEN], got[256];
	size_t ri;

	s.r[0] = mk("10.0.0.0/29", NULL, NULL, NULL); /* .1 (gw) .. .6 */
	s.r[1] = mk("10.9.0.0/30", NULL, NULL, "10.9.0.2");
	T_EQ(rangeset_canonicalize(&s, e, sizeof(e)), 0);
	T_EQ((int)rangeset_size(&s), 5 + 1);
	T_STREQ(walk(&s, NULL, got, sizeof(got)),
		"10.0.0.2 10.0.0.3 10.0.0.4 10.0.0.5 10.0.0.6 10.9.0.1 ");
	/* after the last reserved address, wrapping around to it last */
	T_STREQ(walk(&s, "10.0.0.5", got, sizeof(got)),
		"10.0.0.6 10.9.0.1 10.0.0.2 10.0.0.3 10.0.0.4 10.0.0.5 ");
	/* last at the end of a range: the walk starts in the next range and still ends (a set
	 * whose addresses are all taken must not loop under the store's lock) */
	T_STREQ(walk(&s, "10.0.0.6", got, sizeof(got)),
		"10.9.0.1 10.0.0.2 10.0.0.3 10.0.0.4 10.0.0.5 10.0.0.6 ");
	T_STREQ(walk(&s, "10.9.0.3", got, sizeof(got)),
		"10.0.0.2 10.0.0.3 10.0.0.4 10.0.0.5 10.0.0.6 10.9.0.1 ");
	/* a last address outside the set restarts at the first range */
	ip_parse("192.0.2.1", &last);
	range_iter_init(&it, &s, &last);
	T_ASSERT(range_iter_next(&it, &ip, &ri));
	T_STREQ(ip_fmt(&ip, b), "10.0.0.2");
	T_EQ(ri, 0);
}

static void test_iter_v6_wrap(void)
{
	struct rangeset s = {.n = 1};
	struct range_iter it;
	struct ip_addr ip, last;
	char e[256], b[IP_STRLEN];
	size_t ri;
	int n = 0;

	s.r[0] = mk("fd00::/126", NULL, NULL, NULL);
	T_EQ(rangeset_canonicalize(&s, e, sizeof(e)), 0);
	ip_parse("fd00::3", &last);
	range_iter_init(&it, &s, &last);
	T_ASSERT(range_iter_next(&it, &ip, &ri));
	T_STREQ(ip_fmt(&ip, b), "fd00::2");
	while (range_iter_next(&it, &ip, &ri))
		n++;
	T_EQ(n, 1); /* ::3; ::1 is the gateway */
}

int main(void)
{
	T_RUN(test_defaults_v4_v6);
	T_RUN(test_invalid);
	T_RUN(test_set_overlap_family);
	T_RUN(test_iter_round_robin);
	T_RUN(test_iter_v6_wrap);
	return T_EXIT();
}
