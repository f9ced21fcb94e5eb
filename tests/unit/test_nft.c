// SPDX-License-Identifier: Apache-2.0
/* nftables messages built by common/nft* and parsed back with libnftnl (its nft-*-test.c
 * way): batch framing and flags, tables, chains, sets and maps with concatenations,
 * elements with comments, rules with concatenated lookups and NAT, sticky build errors;
 * owned tables (common/nft_owned): owners, the batches of masq and spoofchk. */
#define T_NAME "test_nft"
#include <errno.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "base/ip.h"
#include "base/name.h"
#include "nft/nft.h"
#include "nft/nft_owned.h"
#include "node/masq.h"
#include "node/spoofchk.h"
#include "t.h"

/* The idx-th message of the last batch (0 is BATCH_BEGIN), or NULL. */
static const struct nlmsghdr *msg(const struct nft *nft, int idx)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)nft->buf;
	int len = (int)nft->len;

	for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len))
		if (idx-- == 0)
			return nlh;
	return NULL;
}

/* libnftnl numbers the items of an element list 1, 2, 3... when it builds them but parses
 * only NFTA_LIST_ELEM; the kernel ignores item types. Parses a copy with the types fixed. */
static int parse_elems(const struct nlmsghdr *nlh, struct nftnl_set *s)
{
	struct nlmsghdr *copy = malloc(nlh->nlmsg_len);
	struct nlattr *a, *item;
	int r;

	if (!copy)
		return -1;
	memcpy(copy, nlh, nlh->nlmsg_len);
	mnl_attr_for_each(a, copy, sizeof(struct nfgenmsg))
		if (mnl_attr_get_type(a) == NFTA_SET_ELEM_LIST_ELEMENTS)
			mnl_attr_for_each_nested(item, a)
				item->nla_type = NLA_F_NESTED | NFTA_LIST_ELEM;
	r = nftnl_set_elems_nlmsg_parse(copy, s);
	free(copy);
	return r;
}

static int nmsgs(const struct nft *nft)
{
	int n = 0;

	while (msg(nft, n))
		n++;
	return n;
}

static unsigned int mtype(const struct nlmsghdr *nlh)
{
	return NFNL_MSG_TYPE(nlh->nlmsg_type);
}

static void test_batch_framing(void)
{
	const struct nlmsghdr *b, *t, *e;
	struct nft nft;
	struct nftnl_table *tb;

	T_EQ(nft_open_dry(&nft), 0);
	nft_batch_begin(&nft);
	T_EQ(nft_batch_commit(&nft), 0); /* empty: nothing sent, nothing appended */
	T_EQ(nmsgs(&nft), 1);
	nft_batch_begin(&nft);
	T_EQ(nft_table_add(&nft, NFPROTO_INET, "sluice_t", NFT_F_EXCL), 0);
	T_EQ(nft_batch_commit(&nft), 0);
	T_EQ(nmsgs(&nft), 3);
	b = msg(&nft, 0), t = msg(&nft, 1), e = msg(&nft, 2);
	T_EQ(b->nlmsg_type, NFNL_MSG_BATCH_BEGIN);
	T_EQ(ntohs(((const struct nfgenmsg *)mnl_nlmsg_get_payload(b))->res_id),
	     NFNL_SUBSYS_NFTABLES);
	T_EQ(e->nlmsg_type, NFNL_MSG_BATCH_END);
	T_EQ(t->nlmsg_type >> 8, NFNL_SUBSYS_NFTABLES);
	T_EQ(mtype(t), NFT_MSG_NEWTABLE);
	T_EQ(t->nlmsg_seq, b->nlmsg_seq + 1);
	T_EQ(e->nlmsg_seq, t->nlmsg_seq + 1);
	/* Only the last message asks for an ack: the commit's end marker. */
	T_EQ(t->nlmsg_flags, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
	T_EQ(((const struct nfgenmsg *)mnl_nlmsg_get_payload(t))->nfgen_family, NFPROTO_INET);
	tb = nftnl_table_alloc();
	T_ASSERT(tb);
	T_EQ(nftnl_table_nlmsg_parse(t, tb), 0);
	T_STREQ(nftnl_table_get_str(tb, NFTNL_TABLE_NAME), "sluice_t");
	nftnl_table_free(tb);
	T_EQ(nft_batch_commit(&nft), 0); /* committed already: a no-op */
	T_EQ(nmsgs(&nft), 3);
	nft_close(&nft);
}

static void test_table_del_and_acks(void)
{
	struct nft nft;

	T_EQ(nft_open_dry(&nft), 0);
	nft_batch_begin(&nft);
	T_EQ(nft_table_add(&nft, NFPROTO_IPV4, "a", 0), 0);
	T_EQ(nft_table_del(&nft, NFPROTO_IPV6, "b", 0), 0);
	T_EQ(nft_table_del(&nft, NFPROTO_BRIDGE, "c", NFT_F_DESTROY), 0);
	T_EQ(nft_batch_commit(&nft), 0);
	T_EQ(msg(&nft, 1)->nlmsg_flags, NLM_F_REQUEST | NLM_F_CREATE);
	T_EQ(mtype(msg(&nft, 2)), NFT_MSG_DELTABLE);
	T_EQ(msg(&nft, 2)->nlmsg_flags, NLM_F_REQUEST);
	T_EQ(mtype(msg(&nft, 3)), 26); /* NFT_MSG_DESTROYTABLE */
	T_EQ(msg(&nft, 3)->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
	T_EQ(((const struct nfgenmsg *)mnl_nlmsg_get_payload(msg(&nft, 3)))->nfgen_family,
	     NFPROTO_BRIDGE);
	nft_close(&nft);
}

static void test_chains(void)
{
	const struct nft_chain_def base = {.name = "postrouting",
					   .type = "nat",
					   .hook = NF_INET_POST_ROUTING,
					   .prio = 100,
					   .flags = NFT_CHAIN_HAS_POLICY,
					   .policy = NF_ACCEPT,
					   .comment = "hello"};
	const struct nft_chain_def reg = {.name = "pod-in"};
	struct nftnl_chain *c = nftnl_chain_alloc();
	char comment[NFT_COMMENT_MAX + 1];
	const void *ud;
	uint32_t len;
	struct nft nft;

	T_ASSERT(c);
	T_EQ(nft_open_dry(&nft), 0);
	nft_batch_begin(&nft);
	T_EQ(nft_chain_add(&nft, NFPROTO_INET, "t", &base, 0), 0);
	T_EQ(nft_chain_add(&nft, NFPROTO_INET, "t", &reg, NFT_F_EXCL), 0);
	T_EQ(nft_batch_commit(&nft), 0);
	T_EQ(nftnl_chain_nlmsg_parse(msg(&nft, 1), c), 0);
	T_STREQ(nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE), "t");
	T_STREQ(nftnl_chain_get_str(c, NFTNL_CHAIN_NAME), "postrouting");
	T_STREQ(nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE), "nat");
	T_EQ(nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM), NF_INET_POST_ROUTING);
	T_EQ(nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO), 100);
	T_EQ(nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY), NF_ACCEPT);
	ud = nftnl_chain_get_data(c, NFTNL_CHAIN_USERDATA, &len);
	nft_comment_parse(NFTNL_UDATA_CHAIN_COMMENT, ud, len, comment, sizeof(comment));
	T_STREQ(comment, "hello");
	nftnl_chain_free(c);
	c = nftnl_chain_alloc();
	T_EQ(nftnl_chain_nlmsg_parse(msg(&nft, 2), c), 0);
	T_STREQ(nftnl_chain_get_str(c, NFTNL_CHAIN_NAME), "pod-in");
	T_ASSERT(!nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM));
	T_ASSERT(!nftnl_chain_is_set(c, NFTNL_CHAIN_TYPE));
	T_ASSERT(msg(&nft, 2)->nlmsg_flags & NLM_F_EXCL);
	nftnl_chain_free(c);
	nft_close(&nft);
}

static struct nftnl_set *parse_set(const struct nlmsghdr *nlh)
{
	struct nftnl_set *s = nftnl_set_alloc();

	if (s && nftnl_set_nlmsg_parse(nlh, s) < 0) {
		nftnl_set_free(s);
		return NULL;
	}
	return s;
}

static void test_sets(void)
{
	const struct nft_set_def local = {.name = "local4",
					  .key = {NFT_TYPE_IPV4, NFT_TYPE_IPV4},
					  .flags = NFT_SET_INTERVAL,
					  .comment = "pod . subnet"};
	const struct nft_set_def svc = {
		.name = "svc",
		.key = {NFT_TYPE_IPV4, NFT_TYPE_INET_PROTO, NFT_TYPE_INET_SERVICE},
		.data = {NFT_TYPE_IPV4, NFT_TYPE_INET_SERVICE},
		.flags = NFT_SET_TIMEOUT,
		.timeout_ms = 30000};
	const struct nft_set_def vmap = {.name = "ifs",
					 .key = {NFT_TYPE_IFNAME},
					 .data = {NFT_TYPE_VERDICT},
					 .flags = NFT_SET_CONSTANT};
	const struct nft_set_def port = {.name = "ports", .key = {NFT_TYPE_INET_SERVICE}};
	struct nftnl_set *s;
	struct nft nft;
	uint32_t len, order;
	const uint8_t *fl, *ud;

	T_EQ(nft_open_dry(&nft), 0);
	nft_batch_begin(&nft);
	T_EQ(nft_set_add(&nft, NFPROTO_INET, "t", &local, 0), 0);
	T_EQ(nft_set_add(&nft, NFPROTO_INET, "t", &svc, 0), 0);
	T_EQ(nft_set_add(&nft, NFPROTO_INET, "t", &vmap, 0), 0);
	T_EQ(nft_set_add(&nft, NFPROTO_INET, "t", &port, 0), 0);
	T_EQ(nft_batch_commit(&nft), 0);

	s = parse_set(msg(&nft, 1));
	T_ASSERT(s);
	T_STREQ(nftnl_set_get_str(s, NFTNL_SET_NAME), "local4");
	T_EQ(nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE), 7 << 6 | 7); /* ipv4_addr . ipv4_addr */
	T_EQ(nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN), 8);
	T_EQ(nftnl_set_get_u32(s, NFTNL_SET_FLAGS), NFT_SET_INTERVAL | NFT_SET_CONCAT);
	T_ASSERT(nftnl_set_is_set(s, NFTNL_SET_ID));
	fl = nftnl_set_get_data(s, NFTNL_SET_DESC_CONCAT, &len);
	T_ASSERT(fl && len >= 2);
	T_EQ(fl[0], 4);
	T_EQ(fl[1], 4);
	ud = nftnl_set_get_data(s, NFTNL_SET_USERDATA, &len); /* a comment, no byte order */
	T_ASSERT(ud && len == 3 + strlen("pod . subnet") && ud[0] == NFTNL_UDATA_SET_COMMENT);
	nftnl_set_free(s);

	s = parse_set(msg(&nft, 2)); /* ipv4_addr . inet_proto . inet_service : ipv4 . port */
	T_ASSERT(s);
	T_EQ(nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE), (7 << 6 | 12) << 6 | 13);
	T_EQ(nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN), 12); /* 4 + 4 (1 padded) + 4 (2 padded) */
	T_EQ(nftnl_set_get_u32(s, NFTNL_SET_DATA_TYPE), 7 << 6 | 13);
	T_EQ(nftnl_set_get_u32(s, NFTNL_SET_DATA_LEN), 8);
	T_EQ(nftnl_set_get_u32(s, NFTNL_SET_FLAGS), NFT_SET_TIMEOUT | NFT_SET_MAP | NFT_SET_CONCAT);
	T_EQ(nftnl_set_get_u64(s, NFTNL_SET_TIMEOUT), 30000);
	nftnl_set_free(s);

	s = parse_set(msg(&nft, 3));
	T_ASSERT(s);
	T_EQ(nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE), 41);
	T_EQ(nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN), 16);
	/* interface names are host order: `nft list` needs it said to print them */
	ud = nftnl_set_get_data(s, NFTNL_SET_USERDATA, &len);
	T_ASSERT(ud && len == 6);
	memcpy(&order, ud + 2, sizeof(order));
	T_ASSERT(!memcmp(ud, "\x00\x04", 2) && order == 1);
	T_EQ(nftnl_set_get_u32(s, NFTNL_SET_DATA_TYPE), NFT_DATA_VERDICT);
	T_EQ(nftnl_set_get_u32(s, NFTNL_SET_FLAGS), NFT_SET_CONSTANT | NFT_SET_MAP);
	nftnl_set_free(s);

	s = parse_set(msg(&nft, 4)); /* a single short field is not padded */
	T_ASSERT(s);
	T_EQ(nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN), 2);
	T_ASSERT(!nftnl_set_is_set(s, NFTNL_SET_DESC_CONCAT));
	T_EQ(nftnl_set_get_u32(s, NFTNL_SET_FLAGS), 0);
	nftnl_set_free(s);
	nft_close(&nft);
}

static void test_set_invalid(void)
{
	const struct nft_set_def bad = {.name = "x", .key = {NFT_TYPE_VERDICT}};
	const struct nft_set_def bad2 = {
		.name = "y", .key = {NFT_TYPE_IPV4}, .data = {NFT_TYPE_IPV4, NFT_TYPE_VERDICT}};
	struct nft nft;

	T_EQ(nft_open_dry(&nft), 0);
	nft_batch_begin(&nft);
	T_EQ(nft_set_add(&nft, NFPROTO_INET, "t", &bad, 0), -EINVAL);
	T_EQ(nft_set_add(&nft, NFPROTO_INET, "t", &bad2, 0), -EINVAL);
	T_EQ(nft_batch_commit(&nft), -EINVAL);
	T_ASSERT(strstr(nft_errmsg(&nft), "add set"));
	nft_close(&nft);
}

struct elem_seen {
	int n;
	char comment[4][NFT_COMMENT_MAX + 1];
	struct nft_elem e[4];
};

static int elem_cb(struct nftnl_set_elem *el, void *data)
{
	struct elem_seen *s = data;
	const void *p;
	uint32_t len = 0;

	if (s->n >= 4)
		return -1;
	p = nftnl_set_elem_get(el, NFTNL_SET_ELEM_KEY, &len);
	memcpy(s->e[s->n].key.v, p, len);
	s->e[s->n].key.len = len;
	if (nftnl_set_elem_is_set(el, NFTNL_SET_ELEM_KEY_END)) {
		p = nftnl_set_elem_get(el, NFTNL_SET_ELEM_KEY_END, &len);
		memcpy(s->e[s->n].key_end.v, p, len);
		s->e[s->n].key_end.len = len;
	}
	if (nftnl_set_elem_is_set(el, NFTNL_SET_ELEM_VERDICT))
		s->e[s->n].verdict = (int32_t)nftnl_set_elem_get_u32(el, NFTNL_SET_ELEM_VERDICT);
	if (nftnl_set_elem_is_set(el, NFTNL_SET_ELEM_CHAIN))
		s->e[s->n].chain = "set";
	p = nftnl_set_elem_get(el, NFTNL_SET_ELEM_USERDATA, &len);
	nft_comment_parse(NFTNL_UDATA_SET_ELEM_COMMENT, p, p ? len : 0, s->comment[s->n],
			  sizeof(s->comment[0]));
	s->n++;
	return 0;
}

static void test_elems(void)
{
	static const uint8_t ip[4] = {10, 22, 0, 5}, net[4] = {10, 22, 0, 0},
			     bc[4] = {10, 22, 0, 255};
	struct nft_elem e[2] = {
		{.comment = "0123abcd/eth0"},
		{.flags = NFT_ELEM_HAS_VERDICT, .verdict = NFT_JUMP, .chain = "pod-x"}};
	struct nftnl_set *s = nftnl_set_alloc();
	struct elem_seen seen = {0};
	struct nft nft;
	const struct nlmsghdr *m;

	T_ASSERT(s);
	nft_data_field(&e[0].key, ip, 4);
	nft_data_field(&e[0].key, net, 4);
	nft_data_field(&e[0].key_end, ip, 4);
	nft_data_field(&e[0].key_end, bc, 4);
	e[0].flags = NFT_ELEM_HAS_KEY_END;
	nft_data_set(&e[1].key, "veth1234\0\0\0\0\0\0\0\0", 16);
	T_EQ(e[0].key.len, 8);
	T_EQ(nft_open_dry(&nft), 0);
	nft_batch_begin(&nft);
	T_EQ(nft_elems_add(&nft, NFPROTO_INET, "t", "local4", e, 2, 0), 0);
	T_EQ(nft_elems_del(&nft, NFPROTO_INET, "t", "local4", e, 1, NFT_F_DESTROY), 0);
	T_EQ(nft_elems_del(&nft, NFPROTO_INET, "t", "local4", e, 0, 0), 0); /* no flush */
	T_EQ(nft_batch_commit(&nft), 0);
	T_EQ(nmsgs(&nft), 4);
	m = msg(&nft, 1);
	T_EQ(mtype(m), NFT_MSG_NEWSETELEM);
	T_EQ(mtype(msg(&nft, 2)), 30); /* NFT_MSG_DESTROYSETELEM */
	T_EQ(parse_elems(m, s), 0);
	T_STREQ(nftnl_set_get_str(s, NFTNL_SET_TABLE), "t");
	T_STREQ(nftnl_set_get_str(s, NFTNL_SET_NAME), "local4");
	T_EQ(nftnl_set_elem_foreach(s, elem_cb, &seen), 0);
	T_EQ(seen.n, 2);
	T_EQ(seen.e[0].key.len, 8);
	T_ASSERT(!memcmp(seen.e[0].key.v, "\x0a\x16\x00\x05\x0a\x16\x00\x00", 8));
	T_ASSERT(!memcmp(seen.e[0].key_end.v, "\x0a\x16\x00\x05\x0a\x16\x00\xff", 8));
	T_STREQ(seen.comment[0], "0123abcd/eth0");
	T_EQ(seen.e[1].verdict, NFT_JUMP);
	T_ASSERT(seen.e[1].chain);
	T_STREQ(seen.comment[1], "");
	nftnl_set_free(s);
	nft_close(&nft);
}

static void test_comment_tlv(void)
{
	uint8_t buf[NFT_COMMENT_MAX + 3];
	char big[NFT_COMMENT_MAX + 2], out[32];

	/* nft's layout: type, length with the NUL, the string (nftnl_udata_put_strz). */
	T_EQ(nft_comment_tlv(0, "ab/c", buf, sizeof(buf)), 7);
	T_ASSERT(!memcmp(buf,
			 "\x00\x05"
			 "ab/c\0",
			 7));
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	T_EQ(nft_comment_tlv(0, big, buf, sizeof(buf)), -E2BIG);
	big[NFT_COMMENT_MAX] = '\0';
	T_EQ(nft_comment_tlv(0, big, buf, sizeof(buf)), NFT_COMMENT_MAX + 3);
	T_EQ(nft_comment_tlv(0, "", buf, sizeof(buf)), -EINVAL);
	nft_comment_parse(0, "\x01\x02z\0\x00\x03hi\0", 9, out, sizeof(out));
	T_STREQ(out, "hi");
	nft_comment_parse(0, "\x00\x02hi", 4, out, sizeof(out)); /* no NUL: not a comment */
	T_STREQ(out, "");
}

struct expr_seen {
	int n;
	char names[NFT_RULE_EXPR_MAX][16];
	struct nftnl_expr *e[NFT_RULE_EXPR_MAX];
};

static int expr_cb(struct nftnl_expr *e, void *data)
{
	struct expr_seen *s = data;

	snprintf(s->names[s->n], sizeof(s->names[0]), "%s", nftnl_expr_get_str(e, NFTNL_EXPR_NAME));
	s->e[s->n++] = e;
	return 0;
}

static struct nftnl_rule *parse_rule(const struct nlmsghdr *nlh, struct expr_seen *seen)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (!r)
		return NULL;
	if (nftnl_rule_nlmsg_parse(nlh, r) < 0) {
		nftnl_rule_free(r);
		return NULL;
	}
	memset(seen, 0, sizeof(*seen));
	nftnl_expr_foreach(r, expr_cb, seen);
	return r;
}

/* ip6 saddr . ip6 daddr @local6 return comment "...": 16-byte fields in REG32_00..07. */
static void test_rule_concat_lookup(void)
{
	struct expr_seen x;
	struct nftnl_rule *r;
	struct nft_rule_b b;
	struct nft nft;
	char comment[NFT_COMMENT_MAX + 1];
	const void *ud;
	uint32_t len;

	T_EQ(NR_REG_NEXT(NFT_REG32_00, 16), NFT_REG32_04);
	T_EQ(NR_REG_NEXT(NFT_REG32_00, 4), NFT_REG32_01);
	T_EQ(NR_REG_NEXT(NFT_REG32_00, 2), NFT_REG32_01);
	T_EQ(nft_open_dry(&nft), 0);
	nft_batch_begin(&nft);
	T_EQ(nft_rule_begin(&b, NFPROTO_INET, "t", "postrouting"), 0);
	nr_match_nfproto(&b, NFPROTO_IPV6);
	nr_payload_ip6_saddr(&b, NFT_REG32_00);
	nr_payload_ip6_daddr(&b, NR_REG_NEXT(NFT_REG32_00, 16));
	nr_lookup(&b, NFT_REG32_00, "local6", 0);
	nr_verdict(&b, NFT_RETURN, NULL);
	nr_comment(&b, "pod to its own subnet");
	T_EQ(nft_rule_add(&nft, &b, 0), 0);
	T_ASSERT(!b.r);
	T_EQ(nft_batch_commit(&nft), 0);
	T_EQ(mtype(msg(&nft, 1)), NFT_MSG_NEWRULE);
	T_EQ(msg(&nft, 1)->nlmsg_flags, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_APPEND | NLM_F_ACK);
	r = parse_rule(msg(&nft, 1), &x);
	T_ASSERT(r);
	T_STREQ(nftnl_rule_get_str(r, NFTNL_RULE_CHAIN), "postrouting");
	T_EQ(x.n, 6);
	T_STREQ(x.names[0], "meta");
	T_EQ(nftnl_expr_get_u32(x.e[0], NFTNL_EXPR_META_KEY), NFT_META_NFPROTO);
	T_STREQ(x.names[1], "cmp");
	T_EQ(*(const uint8_t *)nftnl_expr_get(x.e[1], NFTNL_EXPR_CMP_DATA, &len), NFPROTO_IPV6);
	T_EQ(len, 1);
	T_STREQ(x.names[2], "payload");
	T_EQ(nftnl_expr_get_u32(x.e[2], NFTNL_EXPR_PAYLOAD_OFFSET), 8);
	T_EQ(nftnl_expr_get_u32(x.e[2], NFTNL_EXPR_PAYLOAD_LEN), 16);
	T_EQ(nftnl_expr_get_u32(x.e[2], NFTNL_EXPR_PAYLOAD_DREG), NFT_REG32_00);
	T_EQ(nftnl_expr_get_u32(x.e[3], NFTNL_EXPR_PAYLOAD_OFFSET), 24);
	T_EQ(nftnl_expr_get_u32(x.e[3], NFTNL_EXPR_PAYLOAD_DREG), NFT_REG32_04);
	T_STREQ(x.names[4], "lookup");
	T_STREQ(nftnl_expr_get_str(x.e[4], NFTNL_EXPR_LOOKUP_SET), "local6");
	T_EQ(nftnl_expr_get_u32(x.e[4], NFTNL_EXPR_LOOKUP_SREG), NFT_REG32_00);
	T_ASSERT(!nftnl_expr_is_set(x.e[4], NFTNL_EXPR_LOOKUP_DREG));
	T_STREQ(x.names[5], "immediate");
	T_EQ(nftnl_expr_get_u32(x.e[5], NFTNL_EXPR_IMM_DREG), NFT_REG_VERDICT);
	T_EQ((int32_t)nftnl_expr_get_u32(x.e[5], NFTNL_EXPR_IMM_VERDICT), NFT_RETURN);
	ud = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len);
	nft_comment_parse(NFTNL_UDATA_RULE_COMMENT, ud, len, comment, sizeof(comment));
	T_STREQ(comment, "pod to its own subnet");
	nftnl_rule_free(r);
	nft_close(&nft);
}

/* hostPort DNAT through a map: ip daddr . meta l4proto . th dport -> ip . port. */
static void test_rule_nat_map(void)
{
	const uint32_t local = 2; /* RTN_LOCAL */
	struct expr_seen x;
	struct nftnl_rule *r;
	struct nft_rule_b b;
	struct nft nft;

	T_EQ(nft_open_dry(&nft), 0);
	nft_batch_begin(&nft);
	T_EQ(nft_rule_begin(&b, NFPROTO_IPV4, "sluice_pm", "prerouting"), 0);
	nr_fib_daddr_type(&b, NFT_REG32_00);
	nr_cmp(&b, NFT_CMP_EQ, NFT_REG32_00, &local, 4);
	nr_payload_ip_daddr(&b, NFT_REG32_00);
	nr_meta(&b, NFT_META_L4PROTO, NFT_REG32_01);
	nr_payload_th_dport(&b, NFT_REG32_02);
	nr_lookup_map(&b, NFT_REG32_00, "hostports", NFT_REG32_00);
	nr_counter(&b);
	nr_nat(&b, NFT_NAT_DNAT, NFPROTO_IPV4, NFT_REG32_00, NFT_REG32_01);
	T_EQ(nft_rule_add(&nft, &b, NFT_F_INSERT), 0);
	T_EQ(nft_rule_begin(&b, NFPROTO_IPV4, "sluice_pm", "input"), 0);
	nr_ct_state(&b, 1U << 1 | 1U << 2);
	nr_lookup_map(&b, NFT_REG32_00, "vm", NFT_REG_VERDICT);
	nr_masq(&b, 0);
	T_EQ(nft_rule_add(&nft, &b, 0), 0);
	T_EQ(nft_batch_commit(&nft), 0);
	T_ASSERT(!(msg(&nft, 1)->nlmsg_flags & NLM_F_APPEND));
	r = parse_rule(msg(&nft, 1), &x);
	T_ASSERT(r);
	T_EQ(x.n, 8);
	T_STREQ(x.names[0], "fib");
	T_EQ(nftnl_expr_get_u32(x.e[0], NFTNL_EXPR_FIB_FLAGS), NFTA_FIB_F_DADDR);
	T_EQ(nftnl_expr_get_u32(x.e[0], NFTNL_EXPR_FIB_RESULT), NFT_FIB_RESULT_ADDRTYPE);
	T_EQ(nftnl_expr_get_u32(x.e[4], NFTNL_EXPR_PAYLOAD_BASE), NFT_PAYLOAD_TRANSPORT_HEADER);
	T_EQ(nftnl_expr_get_u32(x.e[4], NFTNL_EXPR_PAYLOAD_OFFSET), 2);
	T_EQ(nftnl_expr_get_u32(x.e[5], NFTNL_EXPR_LOOKUP_DREG), NFT_REG32_00);
	T_STREQ(x.names[6], "counter");
	T_STREQ(x.names[7], "nat");
	T_EQ(nftnl_expr_get_u32(x.e[7], NFTNL_EXPR_NAT_TYPE), NFT_NAT_DNAT);
	T_EQ(nftnl_expr_get_u32(x.e[7], NFTNL_EXPR_NAT_REG_ADDR_MIN), NFT_REG32_00);
	T_EQ(nftnl_expr_get_u32(x.e[7], NFTNL_EXPR_NAT_REG_PROTO_MIN), NFT_REG32_01);
	nftnl_rule_free(r);
	r = parse_rule(msg(&nft, 2), &x);
	T_ASSERT(r);
	T_EQ(x.n, 5);
	T_STREQ(x.names[0], "ct");
	T_STREQ(x.names[1], "bitwise");
	T_EQ(nftnl_expr_get_u32(x.e[2], NFTNL_EXPR_CMP_OP), NFT_CMP_NEQ);
	T_EQ(nftnl_expr_get_u32(x.e[3], NFTNL_EXPR_LOOKUP_DREG), NFT_REG_VERDICT);
	T_STREQ(x.names[4], "masq");
	nftnl_rule_free(r);
	nft_close(&nft);
}

/* Build errors stick: the commit returns the first and sends nothing. */
static void test_sticky_errors(void)
{
	struct nft_elem e = {0};
	struct nft_rule_b b;
	struct nft nft;
	int i;

	T_EQ(nft_open_dry(&nft), 0);
	nft_batch_begin(&nft);
	T_EQ(nft_rule_begin(&b, NFPROTO_INET, "t", "c"), 0);
	nr_verdict(&b, NFT_JUMP, NULL); /* a jump needs a chain */
	nr_counter(&b);
	T_EQ(b.err, -EINVAL);
	T_EQ(b.nexpr, 0);
	T_EQ(nft_rule_add(&nft, &b, 0), -EINVAL);
	T_EQ(nft_table_add(&nft, NFPROTO_INET, "t", 0), -EINVAL); /* the batch has failed */
	T_EQ(nft_batch_commit(&nft), -EINVAL);
	T_ASSERT(strstr(nft_errmsg(&nft), "add rule"));

	nft_batch_begin(&nft);
	T_EQ(nft_rule_begin(&b, NFPROTO_INET, "t", "c"), 0);
	for (i = 0; i <= NFT_RULE_EXPR_MAX; i++)
		nr_counter(&b);
	T_EQ(b.err, -E2BIG);
	nft_rule_b_done(&b);
	for (i = 0; i < 17; i++) /* 17 x 4 bytes: beyond NFT_DATA_MAX */
		nft_data_field(&e.key, "abcd", 4);
	T_EQ(e.key.len, NFT_DATA_MAX + 1);
	T_EQ(nft_elems_add(&nft, NFPROTO_INET, "t", "s", &e, 1, 0), -EINVAL);
	T_EQ(nft_batch_commit(&nft), -EINVAL);

	nft_batch_begin(&nft);
	T_EQ(nft_table_add(&nft, NFPROTO_INET, "", 0), -EINVAL);
	nft_batch_begin(&nft); /* a new batch forgets the failure */
	T_EQ(nft_table_add(&nft, NFPROTO_INET, "ok", 0), 0);
	T_EQ(nft_batch_commit(&nft), 0);
	T_EQ(nft_query(&nft, nft_req(&nft, NFT_MSG_GETTABLE, NFPROTO_INET, 0), NULL, NULL),
	     -ENOTCONN);
	nft_close(&nft);
	nft_close(&nft); /* closed: a no-op */
}

static int count_elems(struct nftnl_set_elem *el, void *data)
{
	(*(int *)data)++;
	return 0;
}

/* Thousands of elements: the buffer grows; every message parses back. */
static void test_large_batch(void)
{
	enum { N = 5000 };
	struct nft_elem *e = calloc(N, sizeof(*e));
	struct nftnl_set *s;
	struct nft nft;
	int i, n = 0;
	uint32_t v;

	T_ASSERT(e);
	for (i = 0; i < N; i++) {
		v = htonl(0x0a000000u + (uint32_t)i);
		nft_data_set(&e[i].key, &v, 4);
		e[i].comment = "c0ffee0123456789c0ffee0123456789c0ffee0123456789/eth0";
	}
	T_EQ(nft_open_dry(&nft), 0);
	nft_batch_begin(&nft);
	for (i = 0; i < N; i++)
		T_EQ(nft_elems_add(&nft, NFPROTO_INET, "t", "pods4", &e[i], 1, 0), 0);
	T_EQ(nft_elems_add(&nft, NFPROTO_INET, "t", "pods4", e, 600, 0), 0);
	T_EQ(nft_batch_commit(&nft), 0);
	T_ASSERT(nft.cap > 16384);
	T_EQ(nmsgs(&nft), N + 1 + 2); /* 600 elements: one message */
	for (i = 1; i <= N + 1; i++) {
		s = nftnl_set_alloc();
		T_ASSERT(s);
		T_EQ(parse_elems(msg(&nft, i), s), 0);
		nftnl_set_elem_foreach(s, count_elems, &n);
		nftnl_set_free(s);
	}
	T_EQ(n, N + 600);
	T_ASSERT(msg(&nft, N + 1)->nlmsg_flags & NLM_F_ACK);
	T_ASSERT(!(msg(&nft, N)->nlmsg_flags & NLM_F_ACK));
	/* 5,000 with comments in one call: as many per message as the list's 16-bit length
	 * allows, each message full but the last */
	nft_batch_begin(&nft);
	T_EQ(nft_elems_add(&nft, NFPROTO_INET, "t", "pods4", e, N, 0), 0);
	T_EQ(nft_batch_commit(&nft), 0);
	T_ASSERT(nmsgs(&nft) > 2 + 6 && nmsgs(&nft) < 2 + 12);
	for (i = 1, n = 0; i < nmsgs(&nft) - 1; i++) {
		T_ASSERT(msg(&nft, i)->nlmsg_len < 65536);
		T_ASSERT(i == nmsgs(&nft) - 2 || msg(&nft, i)->nlmsg_len > 50000);
		s = nftnl_set_alloc();
		T_ASSERT(s);
		T_EQ(parse_elems(msg(&nft, i), s), 0);
		nftnl_set_elem_foreach(s, count_elems, &n);
		nftnl_set_free(s);
	}
	T_EQ(n, N);
	/* small elements without comments: up to 4,096 per message */
	for (i = 0; i < N; i++)
		e[i].comment = NULL;
	nft_batch_begin(&nft);
	T_EQ(nft_elems_add(&nft, NFPROTO_INET, "t", "pods4", e, N, 0), 0);
	T_EQ(nft_batch_commit(&nft), 0);
	T_EQ(nmsgs(&nft), 2 + 2);
	for (i = 1, n = 0; i <= 2; i++) {
		s = nftnl_set_alloc();
		T_ASSERT(s);
		T_EQ(parse_elems(msg(&nft, i), s), 0);
		nftnl_set_elem_foreach(s, count_elems, &n);
		nftnl_set_free(s);
	}
	T_EQ(n, N);
	nft_close(&nft);
	free(e);
}

/* --- Owned tables (common/nft_owned, masq, spoofchk) ------------------------------------ */

static void test_owner(void)
{
	char o[NFT_OWNER_MAX + 1], a[NFT_OWNER_MAX + 1], cid[256];

	/* FNV-1a 64 of "net-a", its halves xor-folded (tests/netns/masq.sh computes it too) */
	T_EQ(nft_owner_fmt(o, "net-a", "cid1", "eth0"), 0);
	T_STREQ(o, "cid1/eth0/889d90f4");
	T_EQ(nft_owner_fmt(a, "net-b", "cid1", "eth0"), 0);
	T_ASSERT(strcmp(o, a) && !strncmp(a, "cid1/eth0/", 10) && strlen(a) == strlen(o));
	memset(cid, 'c', 64);
	cid[64] = '\0';
	T_EQ(nft_owner_fmt(o, "net-a", cid, "0123456789abcde"), 0); /* a 64-byte ID fits */
	T_EQ(strlen(o), 64 + 1 + 15 + 1 + 8);
	T_EQ(strncmp(o, cid, 64), 0);
	T_EQ(nft_owner_fmt(o, "net-a", "a/b", "eth0"), -EINVAL);
	T_EQ(nft_owner_fmt(o, "", "cid", "eth0"), -EINVAL);
	T_EQ(nft_owner_fmt(o, "net-a", "", "eth0"), -EINVAL);
	T_EQ(nft_owner_fmt(o, "net-a", "cid", "0123456789abcdef"), -EINVAL);
	T_EQ(nft_owner_fmt(o, "net-a", "cid", "a/b"), -EINVAL);
	T_EQ(nft_owner_fmt(o, "net-a", "cid", NULL), -EINVAL);
	/* what reads as a key is no ID */
	T_EQ(nft_owner_fmt(o, "net-a", "~c", "eth0"), -EINVAL);
}

/* An ID the comment cannot hold whole is keyed "~<SHA-256 hex>"; exactly at 128 bytes the
 * ID itself stays (elements written before keys existed are found as they were). */
static void test_owner_long_id(void)
{
	char o[NFT_OWNER_MAX + 1], p[NFT_OWNER_MAX + 1], cid[256];

	memset(cid, 'c', 104);
	cid[104] = '\0';
	T_EQ(nft_owner_fmt(o, "net-a", cid, "eth0"), 0);
	T_EQ(strlen(o), 104 + 1 + 4 + 1 + 8);
	T_EQ(strncmp(o, cid, 104), 0);
	T_EQ(nft_owner_fmt(o, "net-a", cid, "0123456789abcd"), 0); /* 128 bytes */
	T_EQ(strlen(o), NFT_OWNER_MAX);
	T_EQ(nft_owner_fmt(o, "net-a", cid, "0123456789abcde"), 0); /* 129: keyed */
	T_STREQ(o, "~512c5f2724fa87c3bd5562e6c47185dfe75c307b287f18b921475cbda89fb0be"
		   "/0123456789abcde/889d90f4");
	memset(cid, 'c', 255);
	cid[255] = '\0';
	T_EQ(nft_owner_fmt(o, "net-a", cid, "eth0"), 0);
	T_EQ(strlen(o), NAME_KEY_LEN + 1 + 4 + 1 + 8);
	T_EQ(o[0], '~');
	/* IDs that differ in the last byte only have different keys */
	cid[254] = 'd';
	T_EQ(nft_owner_fmt(p, "net-a", cid, "eth0"), 0);
	T_ASSERT(strncmp(o, p, NAME_KEY_LEN));
	T_STREQ(o + NAME_KEY_LEN, p + NAME_KEY_LEN);
}

/* FIPS 180-4 examples and lengths around the padding boundary (55/56, 63/64/65 bytes). */
static void test_sha256(void)
{
	static const struct {
		const char *in;
		size_t n;
		const char *hex;
	} v[] = {
		{"", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
		 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
		{NULL, 55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
		{NULL, 56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
		{NULL, 63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"},
		{NULL, 64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
		{NULL, 65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"},
		{NULL, 119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"},
	};
	char a[128], key[NAME_KEY_LEN + 1];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		const char *in = v[i].in;

		if (!in) { /* that many 'a' */
			memset(a, 'a', v[i].n);
			a[v[i].n] = '\0';
			in = a;
		}
		T_EQ(strlen(in), v[i].n);
		name_key(key, in);
		T_EQ(key[0], '~');
		T_STREQ(key + 1, v[i].hex);
	}
}

/* A key names its ID and no other; anything else compares as it is. */
static void test_name_key_is(void)
{
	char key[NAME_KEY_LEN + 1];

	name_key(key, "abc");
	T_ASSERT(name_key_is(key, "abc"));
	T_ASSERT(!name_key_is(key, "abd"));
	T_ASSERT(!name_key_is(key, key)); /* a key is not the key of itself */
	T_ASSERT(name_key_is("abc", "abc"));
	T_ASSERT(!name_key_is("abc", "abcd"));
	T_ASSERT(!name_key_is("~", "abc"));
}

static const uint8_t mac_a[6] = {0x02, 0xaa, 0, 0, 0, 0x01};

/* The common path: one batch of elements, the port added with NLM_F_EXCL. */
static void test_spoofchk_elems(void)
{
	static const uint8_t mcast[6] = {0x01, 0, 0x5e, 0, 0, 1};
	struct nftnl_set *s = nftnl_set_alloc(), *s2 = nftnl_set_alloc();
	struct elem_seen seen = {0}, seen2 = {0};
	struct nft nft;

	T_ASSERT(s && s2);
	T_EQ(nft_open_dry(&nft), 0);
	T_EQ(spoofchk_add(&nft, "net-a", "cid1", "eth0", "vethA", mac_a), 0);
	T_EQ(nmsgs(&nft), 5);
	T_EQ(mtype(msg(&nft, 1)), NFT_MSG_NEWSETELEM);
	T_EQ(msg(&nft, 1)->nlmsg_flags, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL);
	T_EQ(((const struct nfgenmsg *)mnl_nlmsg_get_payload(msg(&nft, 1)))->nfgen_family,
	     NFPROTO_BRIDGE);
	T_EQ(mtype(msg(&nft, 2)), 30); /* NFT_MSG_DESTROYSETELEM: replaces, keeps the owner */
	T_EQ(mtype(msg(&nft, 3)), NFT_MSG_NEWSETELEM);
	T_EQ(msg(&nft, 3)->nlmsg_flags, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_ACK);
	T_EQ(parse_elems(msg(&nft, 1), s), 0);
	T_STREQ(nftnl_set_get_str(s, NFTNL_SET_TABLE), SPOOFCHK_TABLE);
	T_STREQ(nftnl_set_get_str(s, NFTNL_SET_NAME), "ports");
	T_EQ(nftnl_set_elem_foreach(s, elem_cb, &seen), 0);
	T_EQ(seen.n, 1);
	T_EQ(seen.e[0].key.len, 16);
	T_ASSERT(!memcmp(seen.e[0].key.v, "vethA\0\0\0\0\0\0\0\0\0\0\0", 16));
	T_STREQ(seen.comment[0], "cid1/eth0/889d90f4");
	T_EQ(parse_elems(msg(&nft, 3), s2), 0);
	T_STREQ(nftnl_set_get_str(s2, NFTNL_SET_NAME), "allowed");
	T_EQ(nftnl_set_elem_foreach(s2, elem_cb, &seen2), 0);
	T_EQ(seen2.e[0].key.len, 24); /* ifname . ether_addr, padded to 32 bits */
	T_ASSERT(
		!memcmp(seen2.e[0].key.v, "vethA\0\0\0\0\0\0\0\0\0\0\0\x02\xaa\0\0\0\x01\0\0", 24));
	T_STREQ(seen2.comment[0], "cid1/eth0/889d90f4");
	T_EQ(spoofchk_add(&nft, "net-a", "cid1", "eth0", "vethA", mcast), -EINVAL);
	T_EQ(spoofchk_add(&nft, "net-a", "cid1", "eth0", "", mac_a), -EINVAL);
	T_EQ(spoofchk_add(&nft, "net-a", "cid1", "eth0", "veth0123456789ab", mac_a), -EINVAL);
	T_EQ(spoofchk_add(&nft, "net-a", "cid/1", "eth0", "vethA", mac_a), -EINVAL);
	T_EQ(spoofchk_check(&nft, "net-a", "cid1", "eth0", "vethA", mac_a), -ENOTCONN);
	nftnl_set_free(s);
	nftnl_set_free(s2);
	nft_close(&nft);
}

/* The creation batch: table (NLM_F_EXCL), two sets, the base chain, two rules. */
static void test_spoofchk_table(void)
{
	struct nft_owned_elems none[NFT_OWNED_SETS_MAX] = {0};
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nftnl_set *s;
	struct expr_seen x;
	struct nftnl_rule *r;
	struct nft nft;
	const uint8_t *fl;
	uint32_t len;

	T_ASSERT(c);
	T_EQ(nft_open_dry(&nft), 0);
	nft_owned_build(&nft, &spoofchk_owned, none, NULL, true);
	T_EQ(nft_batch_commit(&nft), 0);
	T_EQ(nmsgs(&nft), 8);
	T_EQ(mtype(msg(&nft, 1)), NFT_MSG_NEWTABLE);
	T_ASSERT(msg(&nft, 1)->nlmsg_flags & NLM_F_EXCL);
	T_EQ(((const struct nfgenmsg *)mnl_nlmsg_get_payload(msg(&nft, 1)))->nfgen_family,
	     NFPROTO_BRIDGE);
	s = parse_set(msg(&nft, 3));
	T_ASSERT(s);
	T_STREQ(nftnl_set_get_str(s, NFTNL_SET_NAME), "allowed");
	T_EQ(nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE), 41 << 6 | 9); /* ifname . ether_addr */
	T_EQ(nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN), 24);
	fl = nftnl_set_get_data(s, NFTNL_SET_DESC_CONCAT, &len);
	T_ASSERT(fl && len >= 2 && fl[0] == 16 && fl[1] == 6);
	nftnl_set_free(s);
	T_EQ(nftnl_chain_nlmsg_parse(msg(&nft, 4), c), 0);
	T_STREQ(nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE), "filter");
	T_EQ(nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM), 0); /* NF_BR_PRE_ROUTING */
	T_EQ(nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO), -300);
	T_EQ(nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY), NF_ACCEPT);
	nftnl_chain_free(c);
	/* iifname . ether saddr @allowed return */
	r = parse_rule(msg(&nft, 5), &x);
	T_ASSERT(r && x.n == 4);
	T_EQ(nftnl_expr_get_u32(x.e[0], NFTNL_EXPR_META_KEY), NFT_META_IIFNAME);
	T_EQ(nftnl_expr_get_u32(x.e[1], NFTNL_EXPR_PAYLOAD_BASE), NFT_PAYLOAD_LL_HEADER);
	T_EQ(nftnl_expr_get_u32(x.e[1], NFTNL_EXPR_PAYLOAD_OFFSET), 6);
	T_EQ(nftnl_expr_get_u32(x.e[1], NFTNL_EXPR_PAYLOAD_LEN), 6);
	T_EQ(nftnl_expr_get_u32(x.e[1], NFTNL_EXPR_PAYLOAD_DREG), NFT_REG32_04);
	T_STREQ(nftnl_expr_get_str(x.e[2], NFTNL_EXPR_LOOKUP_SET), "allowed");
	T_EQ((int32_t)nftnl_expr_get_u32(x.e[3], NFTNL_EXPR_IMM_VERDICT), NFT_RETURN);
	nftnl_rule_free(r);
	/* iifname @ports counter drop */
	r = parse_rule(msg(&nft, 6), &x);
	T_ASSERT(r && x.n == 4);
	T_STREQ(nftnl_expr_get_str(x.e[1], NFTNL_EXPR_LOOKUP_SET), "ports");
	T_STREQ(x.names[2], "counter");
	T_EQ((int32_t)nftnl_expr_get_u32(x.e[3], NFTNL_EXPR_IMM_VERDICT), NF_DROP);
	nftnl_rule_free(r);
	nft_close(&nft);
}

/* A re-ADD: what the port had is destroyed in the batch that adds the new elements. */
static void test_owned_replace(void)
{
	struct nft_owned_elems el[NFT_OWNED_SETS_MAX] = {0}, old[NFT_OWNED_SETS_MAX] = {0};
	struct nft_elem e = {.comment = "c/eth0/00000000"};
	static const unsigned int want[] = {30, 30, NFT_MSG_NEWSETELEM, 30, NFT_MSG_NEWSETELEM};
	struct nft nft;

	nft_data_set(&e.key, "vethA\0\0\0\0\0\0\0\0\0\0\0", 16);
	T_EQ(nft_owned_push(&el[0], &e), 0);
	T_EQ(nft_owned_push(&old[0], &e), 0);
	e.key.len = 0;
	nft_data_field(&e.key, "vethA\0\0\0\0\0\0\0\0\0\0\0", 16);
	nft_data_field(&e.key, mac_a, 6);
	T_EQ(nft_owned_push(&el[1], &e), 0);
	T_EQ(nft_owned_push(&old[1], &e), 0);
	T_EQ(nft_open_dry(&nft), 0);
	nft_owned_build(&nft, &spoofchk_owned, el, old, false);
	T_EQ(nft_batch_commit(&nft), 0);
	T_EQ(nmsgs(&nft), 7);
	for (int i = 0; i < 5; i++)
		T_EQ(mtype(msg(&nft, i + 1)), want[i]);
	nft_owned_elems_done(el, 2);
	nft_owned_elems_done(old, 2);
	T_ASSERT(!el[0].e && !el[0].n);
	nft_close(&nft);
}

/* masq: elements commented with their network; the creation batch holds six rules. */
static void test_masq_batches(void)
{
	struct nft_owned_elems none[NFT_OWNED_SETS_MAX] = {0};
	struct nftnl_set *s = nftnl_set_alloc();
	struct elem_seen seen = {0};
	struct ip_prefix p;
	struct nft nft;

	T_ASSERT(s);
	T_EQ(ip_prefix_parse("10.22.0.5/24", &p), 0);
	T_EQ(nft_open_dry(&nft), 0);
	T_EQ(masq_add(&nft, "net-a", "cid1", "eth0", &p, 1), 0);
	T_EQ(nmsgs(&nft), 6); /* pods4 and local4: destroy, add */
	T_EQ(parse_elems(msg(&nft, 2), s), 0);
	T_STREQ(nftnl_set_get_str(s, NFTNL_SET_NAME), "pods4");
	T_EQ(nftnl_set_elem_foreach(s, elem_cb, &seen), 0);
	T_STREQ(seen.comment[0], "cid1/eth0/889d90f4");
	T_EQ(masq_add(&nft, "net-a", "cid1", "eth0", &p, 0), -EINVAL);
	T_EQ(masq_add(&nft, "", "cid1", "eth0", &p, 1), -EINVAL);
	nft_owned_build(&nft, &masq_owned, none, NULL, true);
	T_EQ(nft_batch_commit(&nft), 0);
	T_EQ(nmsgs(&nft), 2 + 1 + 4 + 1 + 6);
	T_EQ(mtype(msg(&nft, 7)), NFT_MSG_NEWRULE);
	nftnl_set_free(s);
	nft_close(&nft);
}

int main(void)
{
	T_RUN(test_batch_framing);
	T_RUN(test_table_del_and_acks);
	T_RUN(test_chains);
	T_RUN(test_sets);
	T_RUN(test_set_invalid);
	T_RUN(test_elems);
	T_RUN(test_comment_tlv);
	T_RUN(test_rule_concat_lookup);
	T_RUN(test_rule_nat_map);
	T_RUN(test_sticky_errors);
	T_RUN(test_large_batch);
	T_RUN(test_owner);
	T_RUN(test_owner_long_id);
	T_RUN(test_sha256);
	T_RUN(test_name_key_is);
	T_RUN(test_spoofchk_elems);
	T_RUN(test_spoofchk_table);
	T_RUN(test_owned_replace);
	T_RUN(test_masq_batches);
	return T_EXIT();
}
