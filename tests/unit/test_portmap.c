// SPDX-License-Identifier: Apache-2.0
/* common/hostport batches built in a dry nft handle and parsed back with libnftnl: the
 * elements of ADD (keys, map data, verdicts, intervals, owner comments) with SNAT, masqAll
 * and without; the guarded DEL batch and the mappings it reports; the creation batch (sets,
 * chains, the DNAT, postrouting and hairpin rules with their registers); CHECK's messages. */
#define T_NAME "test_portmap"
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
#include <libnftnl/udata.h>

#include "base/ip.h"
#include "nft/nft.h"
#include "nft/nft_owned.h"
#include "node/hostport.h"
#include "t.h"

#define OWNER "cid1/eth0/889d90f4" /* nft_owner_fmt("net-a", "cid1", "eth0") */

static const struct nlmsghdr *msg(const struct nft *nft, int idx)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)nft->buf;
	int len = (int)nft->len;

	for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len))
		if (idx-- == 0)
			return nlh;
	return NULL;
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

/* The elements of one message, parsed back (item types fixed as in test_nft.c). */
struct seen {
	char set[32];
	int n;
	struct nft_elem e[8];
	char comment[8][NFT_COMMENT_MAX + 1];
	char chain[8][32];
};

static int elem_cb(struct nftnl_set_elem *el, void *data)
{
	struct seen *s = data;
	struct nft_elem *e = &s->e[s->n];
	const void *p;
	uint32_t len = 0;

	if (s->n >= 8)
		return -1;
	p = nftnl_set_elem_get(el, NFTNL_SET_ELEM_KEY, &len);
	nft_data_set(&e->key, p, len);
	if (nftnl_set_elem_is_set(el, NFTNL_SET_ELEM_KEY_END)) {
		p = nftnl_set_elem_get(el, NFTNL_SET_ELEM_KEY_END, &len);
		nft_data_set(&e->key_end, p, len);
		e->flags |= NFT_ELEM_HAS_KEY_END;
	}
	if (nftnl_set_elem_is_set(el, NFTNL_SET_ELEM_DATA)) {
		p = nftnl_set_elem_get(el, NFTNL_SET_ELEM_DATA, &len);
		nft_data_set(&e->data, p, len);
		e->flags |= NFT_ELEM_HAS_DATA;
	}
	if (nftnl_set_elem_is_set(el, NFTNL_SET_ELEM_VERDICT))
		e->verdict = (int32_t)nftnl_set_elem_get_u32(el, NFTNL_SET_ELEM_VERDICT);
	if (nftnl_set_elem_is_set(el, NFTNL_SET_ELEM_CHAIN))
		snprintf(s->chain[s->n], sizeof(s->chain[0]), "%s",
			 nftnl_set_elem_get_str(el, NFTNL_SET_ELEM_CHAIN));
	p = nftnl_set_elem_get(el, NFTNL_SET_ELEM_USERDATA, &len);
	nft_comment_parse(NFTNL_UDATA_SET_ELEM_COMMENT, p, p ? len : 0, s->comment[s->n],
			  sizeof(s->comment[0]));
	s->n++;
	return 0;
}

static int parse_elems(const struct nlmsghdr *nlh, struct seen *seen)
{
	struct nlmsghdr *copy = malloc(nlh->nlmsg_len);
	struct nftnl_set *s = nftnl_set_alloc();
	struct nlattr *a, *item;
	int r = -1;

	memset(seen, 0, sizeof(*seen));
	if (!copy || !s)
		goto out;
	memcpy(copy, nlh, nlh->nlmsg_len);
	mnl_attr_for_each(a, copy, sizeof(struct nfgenmsg))
		if (mnl_attr_get_type(a) == NFTA_SET_ELEM_LIST_ELEMENTS)
			mnl_attr_for_each_nested(item, a)
				item->nla_type = NLA_F_NESTED | NFTA_LIST_ELEM;
	r = nftnl_set_elems_nlmsg_parse(copy, s);
	if (r == 0) {
		snprintf(seen->set, sizeof(seen->set), "%s", nftnl_set_get_str(s, NFTNL_SET_NAME));
		r = nftnl_set_elem_foreach(s, elem_cb, seen);
	}
out:
	free(copy);
	nftnl_set_free(s);
	return r;
}

static struct hostport_map maps[5];

/* 10.0.0.5/24 and fd00::5/64; tcp 8080->80 and udp 5353->53 everywhere, tcp 8443->443 on
 * 192.168.0.10 only. */
static void pod_init(struct hostport_pod *p, unsigned int flags)
{
	maps[0] = (struct hostport_map){.proto = IPPROTO_TCP, .host_port = 8080, .cont_port = 80};
	maps[1] = (struct hostport_map){.proto = IPPROTO_UDP, .host_port = 5353, .cont_port = 53};
	maps[2] = (struct hostport_map){.proto = IPPROTO_TCP, .host_port = 8443, .cont_port = 443};
	(void)ip_parse("192.168.0.10", &maps[2].host_ip);
	*p = (struct hostport_pod){.net = "net-a",
				   .cid = "cid1",
				   .ifname = "eth0",
				   .maps = maps,
				   .n = 3,
				   .flags = flags};
	(void)ip_prefix_parse("10.0.0.5/24", &p->ip[0]);
	(void)ip_prefix_parse("fd00::5/64", &p->ip[1]);
}

static void test_expand(void)
{
	struct hostport_map x[6];
	struct hostport_pod p;

	pod_init(&p, HOSTPORT_SNAT);
	T_EQ(hostport_expand(&p, x), 5); /* the hostIP-bound mapping is IPv4 only */
	T_EQ(x[0].host_ip.family, AF_INET);
	T_EQ(x[2].host_port, 8443);
	T_EQ(x[3].host_ip.family, AF_INET6);
	T_ASSERT(ip_is_zero(&x[3].host_ip));
	p.ip[0].ip.family = 0; /* no IPv4 address */
	T_EQ(hostport_expand(&p, x), 2);
	T_EQ(x[1].proto, IPPROTO_UDP);
	maps[0].host_ip.family = AF_INET; /* 0.0.0.0: every IPv4 address */
	T_EQ(hostport_expand(&p, x), 1);
}

/* ADD: one batch; the DNAT maps' elements added exclusively (a host port held by another
 * attachment fails the batch), the others' destroyed then added (what a pod's address or
 * owner keys is its own). */
static void test_add_elems(void)
{
	static const char *const order[] = {"ports4", "ports6", "hostip4", "snat4",
					    "snat6",  "local4", "local6",  "owners"};
	struct hostport_pod p;
	struct seen s;
	struct nft nft;
	int m = 1, at[8];

	pod_init(&p, HOSTPORT_SNAT);
	T_EQ(nft_open_dry(&nft), 0);
	T_EQ(hostport_add(&nft, &p, NULL), 0);
	T_EQ(nmsgs(&nft), 2 + 3 + 2 * 5);
	for (int i = 0; i < 8; i++) {
		if (i >= 3)
			T_EQ(mtype(msg(&nft, m++)), 30); /* NFT_MSG_DESTROYSETELEM */
		T_EQ(mtype(msg(&nft, m)), NFT_MSG_NEWSETELEM);
		T_EQ(msg(&nft, m)->nlmsg_flags & NLM_F_EXCL, i < 3 ? NLM_F_EXCL : 0);
		T_EQ(parse_elems(msg(&nft, m), &s), 0);
		T_STREQ(s.set, order[i]);
		T_STREQ(s.comment[0], OWNER);
		at[i] = m++;
	}
	T_EQ(parse_elems(msg(&nft, at[0]), &s), 0); /* ports4: proto . port -> address . port */
	T_EQ(s.n, 2);
	T_EQ(s.e[0].key.len, 8);
	T_ASSERT(!memcmp(s.e[0].key.v, "\x06\0\0\0\x1f\x90\0\0", 8));
	T_ASSERT(!memcmp(s.e[0].data.v, "\x0a\0\0\x05\0\x50\0\0", 8));
	T_ASSERT(!memcmp(s.e[1].key.v, "\x11\0\0\0\x14\xe9\0\0", 8));
	T_EQ(parse_elems(msg(&nft, at[1]), &s), 0); /* ports6 */
	T_EQ(s.e[0].data.len, 20);
	T_ASSERT(!memcmp(s.e[0].data.v, "\xfd\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x05\0\x50\0\0", 20));
	T_EQ(parse_elems(msg(&nft, at[2]), &s), 0); /* hostip4: address . proto . port */
	T_EQ(s.n, 1);
	T_ASSERT(!memcmp(s.e[0].key.v, "\xc0\xa8\0\x0a\x06\0\0\0\x20\xfb\0\0", 12));
	T_EQ(parse_elems(msg(&nft, at[3]), &s), 0); /* snat4: address . proto . port . host port */
	T_EQ(s.n, 3);
	T_ASSERT(!memcmp(s.e[0].key.v, "\x0a\0\0\x05\x06\0\0\0\0\x50\0\0\x1f\x90\0\0", 16));
	T_EQ(s.e[0].verdict, NFT_GOTO);
	T_STREQ(s.chain[0], "hairpin4");
	T_EQ(parse_elems(msg(&nft, at[4]), &s), 0);
	T_EQ(s.e[0].key.len, 28);
	T_STREQ(s.chain[1], "hairpin6");
	T_EQ(parse_elems(msg(&nft, at[5]), &s), 0); /* local4: the address . its subnet */
	T_EQ(s.e[0].flags & NFT_ELEM_HAS_KEY_END, NFT_ELEM_HAS_KEY_END);
	T_ASSERT(!memcmp(s.e[0].key.v, "\x0a\0\0\x05\x0a\0\0\0", 8));
	T_ASSERT(!memcmp(s.e[0].key_end.v, "\x0a\0\0\x05\x0a\0\0\xff", 8));
	T_EQ(parse_elems(msg(&nft, at[7]), &s), 0);
	T_EQ(s.e[0].key.len, 8);
	nft_close(&nft);
}

static void test_add_variants(void)
{
	struct hostport_pod p;
	struct seen s;
	struct nft nft;

	T_EQ(nft_open_dry(&nft), 0);
	pod_init(&p, HOSTPORT_SNAT | HOSTPORT_MASQ_ALL); /* every source: no local elements */
	T_EQ(hostport_add(&nft, &p, NULL), 0);
	T_EQ(nmsgs(&nft), 2 + 3 + 2 * 3);
	T_EQ(parse_elems(msg(&nft, 5), &s), 0);
	T_STREQ(s.set, "snat4");
	T_STREQ(s.chain[2], "masqall");
	T_EQ(parse_elems(msg(&nft, 9), &s), 0);
	T_STREQ(s.set, "owners");
	pod_init(&p, 0); /* snat false: DNAT and the owner only */
	T_EQ(hostport_add(&nft, &p, NULL), 0);
	T_EQ(nmsgs(&nft), 2 + 3 + 2);
	T_EQ(parse_elems(msg(&nft, 3), &s), 0);
	T_STREQ(s.set, "hostip4");
	pod_init(&p, HOSTPORT_SNAT);
	p.ip[0].ip.family = p.ip[1].ip.family = 0; /* no address: nothing to do */
	nft_batch_begin(&nft);
	T_EQ(hostport_add(&nft, &p, NULL), 0);
	T_EQ(nmsgs(&nft), 1);
	pod_init(&p, HOSTPORT_SNAT);
	p.n = HOSTPORT_MAPS_MAX + 1;
	T_EQ(hostport_add(&nft, &p, NULL), -EINVAL);
	pod_init(&p, HOSTPORT_SNAT);
	p.ip[1].len = 129;
	T_EQ(hostport_add(&nft, &p, NULL), -EINVAL);
	pod_init(&p, HOSTPORT_SNAT);
	p.cid = "a/b";
	T_EQ(hostport_add(&nft, &p, NULL), -EINVAL);
	nft_close(&nft);
}

/* A mapping given twice, or once for every address ("") and once for 0.0.0.0, is one
 * element: an exclusive add of the second would fail the batch. */
static void test_add_twice(void)
{
	struct hostport_pod p;
	struct seen s;
	struct nft nft;

	pod_init(&p, HOSTPORT_SNAT);
	maps[2] = maps[0];
	maps[3] = maps[0];
	maps[3].host_ip.family = AF_INET; /* 0.0.0.0 */
	maps[4] = maps[1];
	p.n = 5;
	T_EQ(nft_open_dry(&nft), 0);
	T_EQ(hostport_add(&nft, &p, NULL), 0);
	T_EQ(parse_elems(msg(&nft, 1), &s), 0);
	T_STREQ(s.set, "ports4");
	T_EQ(s.n, 2);
	T_ASSERT(!memcmp(s.e[0].key.v, "\x06\0\0\0\x1f\x90\0\0", 8)); /* the order kept */
	T_ASSERT(!memcmp(s.e[1].key.v, "\x11\0\0\0\x14\xe9\0\0", 8));
	T_EQ(parse_elems(msg(&nft, 2), &s), 0);
	T_STREQ(s.set, "ports6");
	T_EQ(s.n, 2);
	T_EQ(parse_elems(msg(&nft, 4), &s), 0);
	T_STREQ(s.set, "snat4");
	T_EQ(s.n, 2);
	nft_close(&nft);
}

/* DEL with keys: each set's elements re-added unchanged, then destroyed, in one batch; the
 * mappings removed come back for the conntrack flush. Without keys it asks the kernel. */
static void test_del(void)
{
	struct hostport_map *gone = NULL;
	struct hostport_pod p;
	struct seen s;
	struct nft nft;
	size_t n = 0;

	pod_init(&p, 0); /* snat false now: the keys of both settings all the same */
	T_EQ(nft_open_dry(&nft), 0);
	T_EQ(hostport_del(&nft, &p, &gone, &n), 0);
	T_EQ(nmsgs(&nft), 2 + 2 * 3 + 5);
	for (int i = 0; i < 3; i++) { /* ports4, ports6, hostip4: guarded */
		T_EQ(mtype(msg(&nft, 1 + 2 * i)), NFT_MSG_NEWSETELEM);
		T_EQ(msg(&nft, 1 + 2 * i)->nlmsg_flags & NLM_F_EXCL, 0);
		T_EQ(mtype(msg(&nft, 2 + 2 * i)), 30);
	}
	for (int i = 7; i < 11; i++) /* snat4/6, local4/6: destroyed */
		T_EQ(mtype(msg(&nft, i)), 30);
	/* owners: deleted, so that an attachment without elements (its ADD refused) fails the
	 * batch and removes nothing, not even DNAT elements of the same data */
	T_EQ(mtype(msg(&nft, 11)), NFT_MSG_DELSETELEM);
	T_EQ(parse_elems(msg(&nft, 1), &s), 0);
	T_STREQ(s.set, "ports4");
	T_EQ(s.e[0].flags & NFT_ELEM_HAS_DATA, NFT_ELEM_HAS_DATA); /* compared by the kernel */
	T_EQ(parse_elems(msg(&nft, 7), &s), 0);
	T_STREQ(s.set, "snat4");
	T_EQ(parse_elems(msg(&nft, 9), &s), 0);
	T_STREQ(s.set, "local4");
	T_EQ(n, 5);
	T_EQ(gone[0].host_ip.family, AF_INET);
	T_EQ(gone[1].proto, IPPROTO_UDP);
	T_EQ(gone[1].host_port, 5353);
	T_EQ(gone[1].cont_port, 53);
	T_EQ(gone[2].host_ip.family, AF_INET6);
	T_EQ(gone[4].host_port, 8443);
	T_ASSERT(!memcmp(gone[4].host_ip.b, "\xc0\xa8\0\x0a", 4));
	free(gone);
	p.n = 0;
	T_EQ(hostport_del(&nft, &p, &gone, &n), -ENOTCONN); /* looks the owner up */
	T_ASSERT(!gone && !n);
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

struct exprs {
	int n;
	char names[NFT_RULE_EXPR_MAX][16];
	struct nftnl_expr *e[NFT_RULE_EXPR_MAX];
};

static int expr_cb(struct nftnl_expr *e, void *data)
{
	struct exprs *x = data;

	snprintf(x->names[x->n], sizeof(x->names[0]), "%s", nftnl_expr_get_str(e, NFTNL_EXPR_NAME));
	x->e[x->n++] = e;
	return 0;
}

static struct nftnl_rule *parse_rule(const struct nlmsghdr *nlh, struct exprs *x, const char *chain)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	memset(x, 0, sizeof(*x));
	if (r && (mtype(nlh) != NFT_MSG_NEWRULE || nftnl_rule_nlmsg_parse(nlh, r) < 0 ||
		  strcmp(nftnl_rule_get_str(r, NFTNL_RULE_CHAIN), chain))) {
		nftnl_rule_free(r);
		return NULL;
	}
	if (r)
		nftnl_expr_foreach(r, expr_cb, x);
	return r;
}

static void test_sets(const struct nft *nft)
{
	static const struct {
		const char *name;
		uint32_t ktype, klen, dtype, dlen, flags;
	} want[9] = {
		{"ports4", 12 << 6 | 13, 8, 7 << 6 | 13, 8, NFT_SET_MAP | NFT_SET_CONCAT},
		{"ports6", 12 << 6 | 13, 8, 8 << 6 | 13, 20, NFT_SET_MAP | NFT_SET_CONCAT},
		{"hostip4", (7 << 6 | 12) << 6 | 13, 12, 7 << 6 | 13, 8,
		 NFT_SET_MAP | NFT_SET_CONCAT},
		{"hostip6", (8 << 6 | 12) << 6 | 13, 24, 8 << 6 | 13, 20,
		 NFT_SET_MAP | NFT_SET_CONCAT},
		{"snat4", ((7 << 6 | 12) << 6 | 13) << 6 | 13, 16, NFT_DATA_VERDICT, 0,
		 NFT_SET_MAP | NFT_SET_CONCAT},
		{"snat6", ((8 << 6 | 12) << 6 | 13) << 6 | 13, 28, NFT_DATA_VERDICT, 0,
		 NFT_SET_MAP | NFT_SET_CONCAT},
		{"local4", 7 << 6 | 7, 8, 0, 0, NFT_SET_INTERVAL | NFT_SET_CONCAT},
		{"local6", 8 << 6 | 8, 32, 0, 0, NFT_SET_INTERVAL | NFT_SET_CONCAT},
		{"owners", 19 << 6 | 19, 8, 0, 0, NFT_SET_CONCAT},
	};

	for (int i = 0; i < 9; i++) {
		struct nftnl_set *s = parse_set(msg(nft, 2 + i));

		T_ASSERT(s);
		T_STREQ(nftnl_set_get_str(s, NFTNL_SET_NAME), want[i].name);
		T_EQ(nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE), want[i].ktype);
		T_EQ(nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN), want[i].klen);
		T_EQ(nftnl_set_get_u32(s, NFTNL_SET_FLAGS), want[i].flags);
		if (want[i].dtype)
			T_EQ(nftnl_set_get_u32(s, NFTNL_SET_DATA_TYPE), want[i].dtype);
		if (want[i].dlen)
			T_EQ(nftnl_set_get_u32(s, NFTNL_SET_DATA_LEN), want[i].dlen);
		nftnl_set_free(s);
	}
}

static void test_chains(const struct nft *nft)
{
	static const struct {
		const char *name;
		int base;
		uint32_t hook;
		int32_t prio;
	} want[7] = {
		{"hostports", 0, 0, 0},
		{"hairpin4", 0, 0, 0},
		{"hairpin6", 0, 0, 0},
		{"masqall", 0, 0, 0},
		{"prerouting", 1, NF_INET_PRE_ROUTING, -100},
		{"output", 1, NF_INET_LOCAL_OUT, -100},
		{"postrouting", 1, NF_INET_POST_ROUTING, 100},
	};

	for (int i = 0; i < 7; i++) {
		struct nftnl_chain *c = nftnl_chain_alloc();

		T_ASSERT(c && nftnl_chain_nlmsg_parse(msg(nft, 11 + i), c) == 0);
		T_STREQ(nftnl_chain_get_str(c, NFTNL_CHAIN_NAME), want[i].name);
		T_EQ(nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM), want[i].base);
		if (want[i].base) {
			T_STREQ(nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE), "nat");
			T_EQ(nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM), want[i].hook);
			T_EQ(nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO), want[i].prio);
		}
		nftnl_chain_free(c);
	}
}

/* The DNAT rules: "[daddr .] l4proto . th dport" looked up, the map's address . port feeding
 * the NAT expression from the registers after the key. */
static void test_dnat_rules(const struct nft *nft)
{
	static const struct {
		const char *set;
		int nkey;
		uint32_t dreg, proto_reg, family;
	} want[4] = {
		{"hostip4", 3, NFT_REG32_04, NFT_REG32_05, NFPROTO_IPV4},
		{"ports4", 2, NFT_REG32_04, NFT_REG32_05, NFPROTO_IPV4},
		{"hostip6", 3, NFT_REG32_08, NFT_REG32_12, NFPROTO_IPV6},
		{"ports6", 2, NFT_REG32_08, NFT_REG32_12, NFPROTO_IPV6},
	};
	struct nftnl_rule *r;
	struct exprs x;

	for (int i = 0; i < 4; i++) {
		int k = 2 + want[i].nkey; /* after meta nfproto, cmp and the key */

		r = parse_rule(msg(nft, 21 + i), &x, "hostports");
		T_ASSERT(r && x.n == k + 2);
		T_EQ(nftnl_expr_get_u32(x.e[k - 1], NFTNL_EXPR_PAYLOAD_OFFSET), 2); /* th dport */
		T_STREQ(x.names[k], "lookup");
		T_STREQ(nftnl_expr_get_str(x.e[k], NFTNL_EXPR_LOOKUP_SET), want[i].set);
		T_EQ(nftnl_expr_get_u32(x.e[k], NFTNL_EXPR_LOOKUP_SREG), NFT_REG32_00);
		T_EQ(nftnl_expr_get_u32(x.e[k], NFTNL_EXPR_LOOKUP_DREG), want[i].dreg);
		T_STREQ(x.names[k + 1], "nat");
		T_EQ(nftnl_expr_get_u32(x.e[k + 1], NFTNL_EXPR_NAT_TYPE), NFT_NAT_DNAT);
		T_EQ(nftnl_expr_get_u32(x.e[k + 1], NFTNL_EXPR_NAT_FAMILY), want[i].family);
		T_EQ(nftnl_expr_get_u32(x.e[k + 1], NFTNL_EXPR_NAT_REG_ADDR_MIN), want[i].dreg);
		T_EQ(nftnl_expr_get_u32(x.e[k + 1], NFTNL_EXPR_NAT_REG_PROTO_MIN),
		     want[i].proto_reg);
		nftnl_rule_free(r);
	}
}

static void test_other_rules(const struct nft *nft)
{
	struct nftnl_rule *r;
	struct exprs x;

	r = parse_rule(msg(nft, 18), &x, "prerouting"); /* fib daddr type local jump */
	T_ASSERT(r && x.n == 3);
	T_STREQ(x.names[0], "fib");
	T_STREQ(nftnl_expr_get_str(x.e[2], NFTNL_EXPR_IMM_CHAIN), "hostports");
	nftnl_rule_free(r);
	r = parse_rule(msg(nft, 19), &x, "output"); /* ip6 daddr ::1 return, first */
	T_ASSERT(r && x.n == 5);
	T_EQ(nftnl_expr_get_u32(x.e[2], NFTNL_EXPR_PAYLOAD_OFFSET), 24);
	T_EQ((int32_t)nftnl_expr_get_u32(x.e[4], NFTNL_EXPR_IMM_VERDICT), NFT_RETURN);
	nftnl_rule_free(r);
	r = parse_rule(msg(nft, 25), &x, "postrouting"); /* ct status & dnat == 0 return */
	T_ASSERT(r && x.n == 4);
	T_EQ(nftnl_expr_get_u32(x.e[0], NFTNL_EXPR_CT_KEY), NFT_CT_STATUS);
	nftnl_rule_free(r);
	r = parse_rule(msg(nft, 26), &x, "postrouting"); /* ... . ct original proto-dst vmap */
	T_ASSERT(r && x.n == 7);
	T_EQ(nftnl_expr_get_u32(x.e[5], NFTNL_EXPR_CT_KEY), NFT_CT_PROTO_DST);
	T_EQ(nftnl_expr_get_u8(x.e[5], NFTNL_EXPR_CT_DIR), 0);
	T_EQ(nftnl_expr_get_u32(x.e[5], NFTNL_EXPR_CT_DREG), NFT_REG32_03);
	T_STREQ(nftnl_expr_get_str(x.e[6], NFTNL_EXPR_LOOKUP_SET), "snat4");
	T_EQ(nftnl_expr_get_u32(x.e[6], NFTNL_EXPR_LOOKUP_DREG), NFT_REG_VERDICT);
	nftnl_rule_free(r);
	r = parse_rule(msg(nft, 27), &x, "postrouting");
	T_ASSERT(r && x.n == 7);
	T_EQ(nftnl_expr_get_u32(x.e[5], NFTNL_EXPR_CT_DREG), NFT_REG32_06);
	nftnl_rule_free(r);
	r = parse_rule(msg(nft, 28), &x, "hairpin4"); /* ip saddr 127.0.0.0/8 masquerade */
	T_ASSERT(r && x.n == 7);
	T_STREQ(x.names[6], "masq");
	nftnl_rule_free(r);
	r = parse_rule(msg(nft, 29), &x, "hairpin4"); /* ip daddr . ip saddr @local4 */
	T_ASSERT(r && x.n == 7);
	T_STREQ(nftnl_expr_get_str(x.e[4], NFTNL_EXPR_LOOKUP_SET), "local4");
	nftnl_rule_free(r);
	r = parse_rule(msg(nft, 30), &x, "hairpin6");
	T_ASSERT(r && x.n == 7);
	T_STREQ(nftnl_expr_get_str(x.e[4], NFTNL_EXPR_LOOKUP_SET), "local6");
	nftnl_rule_free(r);
	r = parse_rule(msg(nft, 31), &x, "masqall");
	T_ASSERT(r && x.n == 2);
	nftnl_rule_free(r);
}

/* The creation batch: table, 9 sets, 4 regular and 3 base chains, 14 rules. */
static void test_table(void)
{
	struct nft_owned_elems none[NFT_OWNED_SETS_MAX] = {0};
	struct nft nft;

	T_EQ(nft_open_dry(&nft), 0);
	nft_owned_build(&nft, &hostport_owned, none, NULL, true);
	T_EQ(nft_batch_commit(&nft), 0);
	T_EQ(nmsgs(&nft), 1 + 1 + 9 + 7 + 14 + 1);
	T_EQ(mtype(msg(&nft, 1)), NFT_MSG_NEWTABLE);
	T_ASSERT(msg(&nft, 1)->nlmsg_flags & NLM_F_EXCL);
	T_EQ(((const struct nfgenmsg *)mnl_nlmsg_get_payload(msg(&nft, 1)))->nfgen_family,
	     NFPROTO_INET);
	test_sets(&nft);
	test_chains(&nft);
	test_dnat_rules(&nft);
	test_other_rules(&nft);
	T_EQ(hostport_owned.nrules, 4);
	nft_close(&nft);
}

/* CHECK's messages name the element in words (set numbers as in hostport_owned.sets). */
static void test_describe(void)
{
	struct hostport_pod p;
	char out[128];
	struct nft nft;
	struct seen s;

	pod_init(&p, HOSTPORT_SNAT);
	T_EQ(nft_open_dry(&nft), 0);
	T_EQ(hostport_add(&nft, &p, NULL), 0);
	T_EQ(parse_elems(msg(&nft, 1), &s), 0);
	hostport_owned.describe(&s.e[1], 0, out, sizeof(out));
	T_STREQ(out, "udp/5353 -> 10.0.0.5:53");
	T_EQ(parse_elems(msg(&nft, 3), &s), 0);
	hostport_owned.describe(&s.e[0], 2, out, sizeof(out));
	T_STREQ(out, "192.168.0.10 tcp/8443 -> 10.0.0.5:443");
	T_EQ(parse_elems(msg(&nft, 7), &s), 0);
	hostport_owned.describe(&s.e[0], 5, out, sizeof(out));
	T_STREQ(out, "fd00::5 tcp/80 from host port 8080");
	T_EQ(parse_elems(msg(&nft, 9), &s), 0);
	hostport_owned.describe(&s.e[0], 6, out, sizeof(out));
	T_STREQ(out, "10.0.0.5 . 10.0.0.0-10.0.0.255");
	T_STREQ(hostport_owned.sets[6].name, "local4");
	nft_close(&nft);
}

int main(void)
{
	T_RUN(test_expand);
	T_RUN(test_add_elems);
	T_RUN(test_add_variants);
	T_RUN(test_add_twice);
	T_RUN(test_del);
	T_RUN(test_table);
	T_RUN(test_describe);
	return T_EXIT();
}
