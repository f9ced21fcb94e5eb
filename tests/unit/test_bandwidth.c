// SPDX-License-Identifier: Apache-2.0
/* common/shaping's pure parts: upstream's tbf math and its limits, the buffer the kernel
 * reports (and CHECK's tolerance), the IFB's derived name and its owner alias. */
#define T_NAME "test_bandwidth"
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "base/name.h"
#include "netlink/nl_tc.h"
#include "node/owner.h"
#include "node/shaping.h"
#include "t.h"

/* ticks per microsecond on today's kernels: 64 ns ticks (/proc/net/psched 3e8 40 f4240) */
#define TICK 15.625

static void test_params(void)
{
	struct shaping_tbf t;

	/* 10 Mbit/s, 1 Mbit burst, 25 ms: 1250000 B/s, 125000 B, 31250 + 125000 B queued */
	T_EQ(shaping_tbf_params(10000000, 1000000, 25, &t), SHAPING_OK);
	T_EQ(t.rate, 1250000);
	T_EQ(t.burst, 125000);
	T_EQ(t.limit, 156250);
	/* latency 0: the queue holds the burst only */
	T_EQ(shaping_tbf_params(10000000, 1000000, 0, &t), SHAPING_OK);
	T_EQ(t.limit, 125000);
	/* bits that do not make whole bytes are dropped, as upstream's integer division does */
	T_EQ(shaping_tbf_params(100000007, 8007, 25, &t), SHAPING_OK);
	T_EQ(t.rate, 12500000);
	T_EQ(t.burst, 1000);
	T_EQ(t.limit, 312500 + 1000);
	/* both zero: no shaping */
	memset(&t, 0xff, sizeof(t));
	T_EQ(shaping_tbf_params(0, 0, 25, &t), SHAPING_OK);
	T_EQ(t.rate, 0);
	T_EQ(t.limit, 0);
}

static void test_params_refused(void)
{
	struct shaping_tbf t = {1, 2, 3};

	T_EQ(shaping_tbf_params(1000, 0, 25, &t), SHAPING_ERR_RATE_ONLY);
	T_EQ(shaping_tbf_params(0, 1000, 25, &t), SHAPING_ERR_BURST_ONLY);
	T_EQ(shaping_tbf_params(7, 1000, 25, &t), SHAPING_ERR_RATE_MIN);
	T_EQ(shaping_tbf_params(8, 1000, 25, &t), SHAPING_OK);
	/* 1-7 bits are 0 bytes: a bucket the kernel refuses */
	T_EQ(shaping_tbf_params(1000, 1, 25, &t), SHAPING_ERR_BURST_MIN);
	T_EQ(shaping_tbf_params(1000, 7, 25, &t), SHAPING_ERR_BURST_MIN);
	T_EQ(shaping_tbf_params(1000, 8, 25, &t), SHAPING_OK);
	T_EQ(t.burst, 1);
	/* upstream: burst/8 >= MaxUint32 is "more than 4GB" */
	T_EQ(shaping_tbf_params(1000, 8ULL * UINT32_MAX - 1, 25, &t), SHAPING_OK);
	T_EQ(t.burst, UINT32_MAX - 1);
	T_EQ(shaping_tbf_params(1000, 8ULL * UINT32_MAX, 25, &t), SHAPING_ERR_BURST_MAX);
	/* refused: *ret untouched from the last success */
	T_EQ(t.burst, UINT32_MAX - 1);
}

static void test_limit_saturates(void)
{
	struct shaping_tbf t;

	/* containerd's capability burst (MaxUint32 bits) at 100 Gbit/s and 10 s of latency */
	T_EQ(shaping_tbf_params(100000000000ULL, UINT32_MAX, 10000, &t), SHAPING_OK);
	T_EQ(t.burst, UINT32_MAX / 8);
	T_EQ(t.limit, UINT32_MAX);
	/* rates beyond 32 bits of bytes stay exact (TCA_TBF_RATE64) */
	T_EQ(shaping_tbf_params(UINT64_MAX, 8000, 25, &t), SHAPING_OK);
	T_EQ(t.rate, UINT64_MAX / 8);
	T_EQ(t.limit, UINT32_MAX);
}

static void test_buffer_ticks(void)
{
	struct shaping_tbf t = {.rate = 1250000, .burst = 125000, .limit = 156250};

	/* 100 ms of bucket = 100000 us = 1562500 ticks of 64 ns */
	T_EQ(shaping_buffer_ticks(TICK, &t), 1562500);
	T_EQ(shaping_buffer_ticks(TICK, &t), nl_tc_xmittime(TICK, t.rate, t.burst));
	/* containerd's burst at 10 Mbit/s: 429 s of bucket, more ticks than 32 bits hold; the
	 * kernel's u32 field wraps, and so does the expectation */
	t.burst = UINT32_MAX / 8;
	T_EQ(shaping_buffer_ticks(TICK, &t), 6710886387ULL - (1ULL << 32));
	t.rate = 0;
	T_EQ(shaping_buffer_ticks(TICK, &t), 0);
}

static void test_matches(void)
{
	struct shaping_tbf t = {.rate = 1250000, .burst = 125000, .limit = 156250};
	struct nl_qdisc q = {.has = NL_QDISC_HAS_TBF, .rate = 1250000, .limit = 156250};

	strcpy(q.kind, "tbf");
	q.buffer = 1562500;
	T_ASSERT(shaping_tbf_matches(&q, &t, TICK));
	/* the kernel's mult/shift rounding: a few ticks either way */
	q.buffer = 1562500 - 3;
	T_ASSERT(shaping_tbf_matches(&q, &t, TICK));
	q.buffer = 1562500 + 15;
	T_ASSERT(shaping_tbf_matches(&q, &t, TICK));
	q.buffer = 1562500 + 100;
	T_ASSERT(!shaping_tbf_matches(&q, &t, TICK));
	q.buffer = 1562500;
	q.rate++;
	T_ASSERT(!shaping_tbf_matches(&q, &t, TICK));
	q.rate--;
	q.limit++;
	T_ASSERT(!shaping_tbf_matches(&q, &t, TICK));
	q.limit--;
	strcpy(q.kind, "htb");
	T_ASSERT(!shaping_tbf_matches(&q, &t, TICK));
	/* around the wrap of a very long bucket */
	t.burst = UINT32_MAX / 8;
	strcpy(q.kind, "tbf");
	q.buffer = shaping_buffer_ticks(TICK, &t) + 2;
	T_ASSERT(shaping_tbf_matches(&q, &t, TICK));
}

static void test_names(void)
{
	char name[16], other[16], alias[256], cid[256], ifn[16];

	shaping_ifb_name(name, "abc123", "eth0");
	T_EQ(strlen(name), 15);
	T_EQ(strncmp(name, "sbw", 3), 0);
	T_STREQ(shaping_ifb_name(other, "abc123", "eth0"), name);
	T_ASSERT(strcmp(shaping_ifb_name(other, "abc123", "eth1"), name));
	T_ASSERT(strcmp(shaping_ifb_name(other, "abc124", "eth0"), name));

	T_EQ(owner_alias(alias, sizeof(alias), "pods", "abc123", "eth0"), 0);
	T_STREQ(alias, "sluice:pods:abc123:eth0");
	T_ASSERT(owner_alias_parse(alias, "pods", SHAPING_IFB_PREFIX, name, cid, sizeof(cid), ifn));
	T_STREQ(cid, "abc123");
	T_STREQ(ifn, "eth0");
	/* another network's, or one whose IFB name does not match the attachment */
	T_ASSERT(!owner_alias_parse(alias, "pod", SHAPING_IFB_PREFIX, name, cid, sizeof(cid), ifn));
	T_ASSERT(!owner_alias_parse(alias, "pods2", SHAPING_IFB_PREFIX, name, cid, sizeof(cid),
				    ifn));
	T_ASSERT(!owner_alias_parse(alias, "pods", SHAPING_IFB_PREFIX, other, cid, sizeof(cid),
				    ifn));
	T_ASSERT(!owner_alias_parse("sluice:pods:abc123", "pods", SHAPING_IFB_PREFIX, name, cid,
				    sizeof(cid), ifn));
	T_ASSERT(!owner_alias_parse("", "pods", SHAPING_IFB_PREFIX, name, cid, sizeof(cid), ifn));
	T_ASSERT(!owner_alias_parse(alias, "pods", SHAPING_IFB_PREFIX, name, cid, 4, ifn));
}

/* An alias that would pass 255 bytes names the network and the ID by their keys when they
 * are longer than 64 bytes; GC reads either form back. */
static void test_alias_long(void)
{
	char alias[256], cid[256], ifn[16], name[16], other[16], net[241], key[NAME_KEY_LEN + 1];
	char want[300], got[256];

	memset(cid, 'c', 200);
	cid[200] = '\0';
	memset(net, 'n', 200);
	net[200] = '\0';
	T_EQ(owner_alias(alias, sizeof(alias), "pods", cid, "eth0"), 0); /* 216 bytes: whole */
	snprintf(want, sizeof(want), "sluice:pods:%s:eth0", cid);
	T_STREQ(alias, want);
	T_EQ(owner_alias(alias, sizeof(alias), net, cid, "eth0"), 0);
	snprintf(want, sizeof(want), "sluice:~%s:~%s:eth0",
		 "1be63cc0bde6bd45dcbb205b96a7e699159348fd1b1360e13c27e12775618ac4",
		 "5e39abe881f543e1215902fe6309ea58521e6911e3af4fd241aea8a95322ae09");
	T_STREQ(alias, want);
	/* the key's link has the derived form; a foreign one named otherwise is not taken */
	shaping_ifb_name(name, cid, "eth0");
	T_ASSERT(owner_alias_parse(alias, net, SHAPING_IFB_PREFIX, name, got, sizeof(got), ifn));
	T_STREQ(got, name_key(key, cid));
	T_STREQ(ifn, "eth0");
	T_ASSERT(!owner_alias_parse(alias, net, SHAPING_IFB_PREFIX, "sbwforeign", got, sizeof(got),
				    ifn));
	T_ASSERT(!owner_alias_parse(alias, net, SHAPING_IFB_PREFIX, "sbw0123456789ag", got,
				    sizeof(got), ifn));
	T_ASSERT(!owner_alias_parse(alias, net, "veth", name, got, sizeof(got), ifn));
	net[199] = 'm'; /* another network */
	T_ASSERT(!owner_alias_parse(alias, net, SHAPING_IFB_PREFIX, name, got, sizeof(got), ifn));
	/* a long network and a short ID: the ID stays whole and the name is checked in full */
	memset(net, 'n', 240);
	net[240] = '\0';
	T_EQ(owner_alias(alias, sizeof(alias), net, "abc123", "eth0"), 0);
	snprintf(want, sizeof(want), "sluice:%s:abc123:eth0", name_key(key, net));
	T_STREQ(alias, want);
	shaping_ifb_name(name, "abc123", "eth0");
	shaping_ifb_name(other, "abc124", "eth0");
	T_ASSERT(owner_alias_parse(alias, net, SHAPING_IFB_PREFIX, name, got, sizeof(got), ifn));
	T_STREQ(got, "abc123");
	T_ASSERT(!owner_alias_parse(alias, net, SHAPING_IFB_PREFIX, other, got, sizeof(got), ifn));
	/* a 255-byte ID on a 240-byte network: 7 + 65 + 1 + 65 + 1 + 15 bytes at most */
	memset(cid, 'c', 255);
	cid[255] = '\0';
	T_EQ(owner_alias(alias, sizeof(alias), net, cid, "0123456789abcde"), 0);
	T_EQ(strlen(alias), 7 + 65 + 1 + 65 + 1 + 15);
	T_EQ(owner_alias(alias, 150, net, cid, "0123456789abcde"), -ENAMETOOLONG);
}

int main(void)
{
	T_RUN(test_params);
	T_RUN(test_params_refused);
	T_RUN(test_limit_saturates);
	T_RUN(test_buffer_ticks);
	T_RUN(test_matches);
	T_RUN(test_names);
	T_RUN(test_alias_long);
	return T_EXIT();
}
