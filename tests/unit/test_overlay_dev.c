// SPDX-License-Identifier: Apache-2.0
/* The overlay's VXLAN device and masquerade table without a kernel: device names, the
 * comparison that decides between "fix in place" and "recreate" and the words it says it
 * with, input validation, the creation message (GBP, the explicit port) parsed back; the
 * table's creating batch (sets, chain, the eight rules, the networks as interval elements)
 * parsed back with libnftnl. */
#define T_NAME "test_overlay_dev"
#include <errno.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/if_link.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>

#include "base/err.h"
#include "base/ip.h"
#include "netlink/nl.h"
#include "netlink/nl_link.h"
#include "nft/nft.h"
#include "overlay/omasq.h"
#include "overlay/vxdev.h"
#include "t.h"

static const uint8_t mac1[6] = {0x0e, 0x5c, 0, 0, 0, 1};

static struct ip_prefix pfx(const char *s)
{
	struct ip_prefix p = {0};

	(void)ip_prefix_parse(s, &p);
	return p;
}

static struct ip_addr addr(const char *s)
{
	struct ip_addr a = {0};

	(void)ip_parse(s, &a);
	return a;
}

static struct overlay_dev dev4(void)
{
	struct overlay_dev d = {
		.family = AF_INET,
		.vni = 1,
		.underlay = "eth0",
		.local = addr("192.168.100.1"),
		.mtu = 1450,
		.subnet = pfx("10.244.1.0/24"),
	};

	memcpy(d.mac, mac1, 6);
	return d;
}

/* The link the kernel would report for dev4() over underlay ifindex 2. */
static struct nl_link link4(void)
{
	struct nl_link l = {
		.has = NL_LINK_HAS_VXLAN | NL_LINK_HAS_MAC,
		.ifindex = 7,
		.name = "sluice.1",
		.kind = "vxlan",
		.mtu = 1450,
		.flags = IFF_UP,
		.vxlan = {.vni = 1, .local = addr("192.168.100.1"), .link = 2, .port = 8472},
	};

	memcpy(l.mac, mac1, 6);
	return l;
}

static void test_names(void)
{
	char n[IFNAMSIZ];

	overlay_dev_name(AF_INET, 1, n);
	T_STREQ(n, "sluice.1");
	overlay_dev_name(AF_INET6, 1, n);
	T_STREQ(n, "sluice-v6.1");
	overlay_dev_name(AF_INET, 16777215, n);
	T_STREQ(n, "sluice.16777215"); /* 15 bytes: the largest VNI fits */
	overlay_dev_name(AF_INET6, 99999, n);
	T_STREQ(n, "sluice-v6.99999");
}

/* Each difference, the answer it gives and the words the agent logs. */
static void test_compare(void)
{
	struct overlay_dev d = dev4();
	struct nl_link l = link4();
	char out[128];

	T_EQ(overlay_dev_compare(&d, 2, 1450, &l, out, sizeof(out)), OVERLAY_DEV_SAME);
	T_STREQ(out, "");

	l.mtu = 1400;
	T_EQ(overlay_dev_compare(&d, 2, 1450, &l, out, sizeof(out)), OVERLAY_DEV_FIX);
	T_STREQ(out, "mtu 1400, not 1450");
	T_EQ(overlay_dev_compare(&d, 2, 0, &l, out, sizeof(out)), OVERLAY_DEV_SAME); /* any */
	l = link4();
	l.mac[5] = 9;
	T_EQ(overlay_dev_compare(&d, 2, 1450, &l, out, sizeof(out)), OVERLAY_DEV_FIX);
	T_STREQ(out, "mac 0e:5c:00:00:00:09, not 0e:5c:00:00:00:01");
	memset(d.mac, 0, 6); /* no MAC asked for: the kernel's is fine */
	T_EQ(overlay_dev_compare(&d, 2, 1450, &l, out, sizeof(out)), OVERLAY_DEV_SAME);
	d = dev4();
	l = link4();
	l.flags = 0;
	T_EQ(overlay_dev_compare(&d, 2, 1450, &l, out, sizeof(out)), OVERLAY_DEV_FIX);
	T_STREQ(out, "down");

	/* Incompatible ones win over fixable ones */
	l.vxlan.vni = 2;
	T_EQ(overlay_dev_compare(&d, 2, 1450, &l, out, sizeof(out)), OVERLAY_DEV_INCOMPAT);
	T_STREQ(out, "vni 2, not 1");
	l = link4();
	T_EQ(overlay_dev_compare(&d, 3, 1450, &l, out, sizeof(out)), OVERLAY_DEV_INCOMPAT);
	T_STREQ(out, "underlay ifindex 2, not 3 (eth0)");
	T_EQ(overlay_dev_compare(&d, 0, 1450, &l, out, sizeof(out)), OVERLAY_DEV_SAME);
	l.vxlan.local = addr("192.168.100.9");
	T_EQ(overlay_dev_compare(&d, 2, 1450, &l, out, sizeof(out)), OVERLAY_DEV_INCOMPAT);
	T_STREQ(out, "local 192.168.100.9, not 192.168.100.1");
	l.vxlan.local.family = 0;
	T_EQ(overlay_dev_compare(&d, 2, 1450, &l, out, sizeof(out)), OVERLAY_DEV_INCOMPAT);
	T_STREQ(out, "local none, not 192.168.100.1");
	l = link4();
	l.vxlan.port = 4789;
	T_EQ(overlay_dev_compare(&d, 2, 1450, &l, out, sizeof(out)), OVERLAY_DEV_INCOMPAT);
	T_STREQ(out, "port 4789, not 8472");
	d.port = 4789;
	T_EQ(overlay_dev_compare(&d, 2, 1450, &l, out, sizeof(out)), OVERLAY_DEV_SAME);
	d = dev4();
	l = link4();
	l.vxlan.learning = true;
	T_EQ(overlay_dev_compare(&d, 2, 1450, &l, out, sizeof(out)), OVERLAY_DEV_INCOMPAT);
	T_STREQ(out, "learning on, not off");
	l = link4();
	d.gbp = true;
	T_EQ(overlay_dev_compare(&d, 2, 1450, &l, out, sizeof(out)), OVERLAY_DEV_INCOMPAT);
	T_STREQ(out, "gbp off, not on");
	d = dev4();
	l.vxlan.group = addr("239.1.1.1");
	T_EQ(overlay_dev_compare(&d, 2, 1450, &l, out, sizeof(out)), OVERLAY_DEV_INCOMPAT);
	T_STREQ(out, "remote/group 239.1.1.1 set");
	l = link4();
	l.vxlan.l2miss = true;
	T_EQ(overlay_dev_compare(&d, 2, 1450, &l, out, sizeof(out)), OVERLAY_DEV_INCOMPAT);
	T_STREQ(out, "l2miss on");
	l = link4();
	snprintf(l.kind, sizeof(l.kind), "dummy");
	l.has = NL_LINK_HAS_MAC;
	T_EQ(overlay_dev_compare(&d, 2, 1450, &l, out, sizeof(out)), OVERLAY_DEV_INCOMPAT);
	T_STREQ(out, "not a VXLAN device (kind \"dummy\")");
}

/* Bad input is refused before anything is sent, with a message naming the field. */
static void test_validate(void)
{
	struct overlay_dev d;
	struct err err;
	struct nl nl;

	T_EQ(nl_open_dry(&nl), 0);
#define REFUSED(mutate, r, text)                                        \
	do {                                                            \
		d = dev4();                                             \
		mutate;                                                 \
		err = (struct err){0};                                  \
		T_EQ(overlay_dev_ensure(&nl, &d, NULL, NULL, &err), r); \
		T_EQ(err.code, CNI_ERR_CONFIG);                         \
		T_STREQ(err.msg, text);                                 \
		err = (struct err){0};                                  \
		T_EQ(overlay_dev_check(&nl, &d, &err), r);              \
	} while (0)
	REFUSED(d.family = AF_UNSPEC, -EINVAL, "overlay device: invalid family 0");
	REFUSED(d.vni = 1U << 24, -EINVAL,
		"overlay device: VNI 16777216 out of range (0-16777215)");
	REFUSED((d.family = AF_INET6, d.vni = 100000), -ENAMETOOLONG,
		"overlay device: the name for VNI 100000 is longer than 15 bytes");
	REFUSED(d.local = addr("fd00::1"), -EINVAL,
		"overlay device sluice.1: local address fd00::1 is not of its family");
	REFUSED(d.subnet.ip.family = 0, -EINVAL,
		"overlay device sluice.1: invalid or missing lease subnet");
	REFUSED(d.subnet = pfx("fd00::/64"), -EINVAL,
		"overlay device sluice.1: invalid or missing lease subnet");
#undef REFUSED
	err = (struct err){0};
	T_EQ(overlay_dev_del(&nl, AF_INET6, 100000, &err), -EINVAL);
	T_EQ(err.code, CNI_ERR_CONFIG);
	nl_close(&nl);
}

/* A dry handle answers no lookup, so ensure creates in every round and gives up after a
 * bounded number; the last message built is the creation request, parsed back here. */
static void test_create_message(void)
{
	const struct nlattr *a, *info = NULL, *data = NULL;
	struct overlay_dev d = dev4();
	struct nlmsghdr *nlh;
	struct nl_link l;
	struct err err = {0};
	char what[OVERLAY_WHAT_MAX];
	struct nl nl;
	bool gbp = false, port = false;

	d.underlay[0] = '\0'; /* no underlay lookup: the dry handle has none */
	d.gbp = true;
	T_EQ(nl_open_dry(&nl), 0);
	T_EQ(overlay_dev_ensure(&nl, &d, NULL, what, &err), -EAGAIN);
	T_STREQ(err.msg, "sluice.1 keeps changing: 4 rounds of lookup and creation");
	nlh = (struct nlmsghdr *)nl.buf;
	T_EQ(nlh->nlmsg_type, RTM_NEWLINK);
	T_EQ(nlh->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL), NLM_F_CREATE | NLM_F_EXCL);
	T_EQ(nl_link_parse(nlh, &l), 0);
	T_STREQ(l.name, "sluice.1");
	T_STREQ(l.kind, "vxlan");
	T_EQ(l.mtu, 1450);
	T_ASSERT(!memcmp(l.mac, mac1, 6));
	T_EQ(l.vxlan.vni, 1);
	T_EQ(l.vxlan.port, 8472);
	T_ASSERT(!l.vxlan.learning);
	T_ASSERT(l.vxlan.gbp);
	T_ASSERT(ip_eq(&l.vxlan.local, &d.local));
	/* the port is sent even though it is the kernel's default, and GBP as a flag */
	mnl_attr_for_each(a, nlh, sizeof(struct ifinfomsg))
		if (mnl_attr_get_type(a) == IFLA_LINKINFO)
			info = a;
	T_ASSERT(info);
	mnl_attr_for_each_nested(a, info)
		if (mnl_attr_get_type(a) == IFLA_INFO_DATA)
			data = a;
	T_ASSERT(data);
	mnl_attr_for_each_nested(a, data) {
		if (mnl_attr_get_type(a) == IFLA_VXLAN_PORT)
			port = mnl_attr_get_u16(a) == htons(8472);
		if (mnl_attr_get_type(a) == IFLA_VXLAN_GBP)
			gbp = mnl_attr_get_payload_len(a) == 0;
	}
	T_ASSERT(port);
	T_ASSERT(gbp);

	/* IPv6: the local address travels as IFLA_VXLAN_LOCAL6 */
	d.family = AF_INET6;
	d.local = addr("fd00:100::1");
	d.subnet = pfx("fd00:10:0:1::/64");
	d.gbp = false;
	err = (struct err){0};
	T_EQ(overlay_dev_ensure(&nl, &d, NULL, what, &err), -EAGAIN);
	T_EQ(nl_link_parse((struct nlmsghdr *)nl.buf, &l), 0);
	T_STREQ(l.name, "sluice-v6.1");
	T_EQ(l.vxlan.local.family, AF_INET6);
	T_ASSERT(ip_eq(&l.vxlan.local, &d.local));
	T_ASSERT(!l.vxlan.gbp);
	nl_close(&nl);
}

/* --- The masquerade table ---------------------------------------------------------- */

static const struct nlmsghdr *msg(const struct nft *nft, int idx)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)nft->buf;
	int len = (int)nft->len;

	for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len))
		if (idx-- == 0)
			return nlh;
	return NULL;
}

static unsigned int mtype(const struct nlmsghdr *nlh)
{
	return NFNL_MSG_TYPE(nlh->nlmsg_type);
}

struct exprs {
	int n;
	char names[NFT_RULE_EXPR_MAX][16];
	struct nftnl_expr *e[NFT_RULE_EXPR_MAX];
};

static int expr_cb(struct nftnl_expr *e, void *data)
{
	struct exprs *s = data;

	snprintf(s->names[s->n], sizeof(s->names[0]), "%s", nftnl_expr_get_str(e, NFTNL_EXPR_NAME));
	s->e[s->n++] = e;
	return 0;
}

/* "meta cmp payload lookup ..." for a rule message; the lookups' sets (with "!" when
 * inverted) and the masquerade's flags into sets/masq. */
static void rule_shape(const struct nlmsghdr *nlh, char *shape, size_t size, char *sets,
		       size_t ssize, uint32_t *masq)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct exprs x = {0};
	size_t used = 0, sused = 0;

	shape[0] = sets[0] = '\0';
	*masq = 0;
	if (!r || nftnl_rule_nlmsg_parse(nlh, r) < 0) {
		nftnl_rule_free(r);
		return;
	}
	nftnl_expr_foreach(r, expr_cb, &x);
	for (int i = 0; i < x.n; i++) {
		used += (size_t)snprintf(shape + used, size - used, "%s%s", i ? " " : "",
					 x.names[i]);
		if (!strcmp(x.names[i], "lookup"))
			sused += (size_t)snprintf(
				sets + sused, ssize - sused, "%s%s%s", sused ? " " : "",
				nftnl_expr_is_set(x.e[i], NFTNL_EXPR_LOOKUP_FLAGS) &&
						nftnl_expr_get_u32(x.e[i], NFTNL_EXPR_LOOKUP_FLAGS)
					? "!"
					: "",
				nftnl_expr_get_str(x.e[i], NFTNL_EXPR_LOOKUP_SET));
		if (!strcmp(x.names[i], "masq"))
			*masq = nftnl_expr_get_u32(x.e[i], NFTNL_EXPR_MASQ_FLAGS);
	}
	nftnl_rule_free(r);
}

struct elem_list {
	int n;
	uint8_t key[4][16];
	uint32_t len[4];
	bool end[4];
};

static int elem_cb(struct nftnl_set_elem *el, void *data)
{
	struct elem_list *s = data;
	const void *p;
	uint32_t len = 0;

	if (s->n >= 4)
		return -1;
	p = nftnl_set_elem_get(el, NFTNL_SET_ELEM_KEY, &len);
	memcpy(s->key[s->n], p, len);
	s->len[s->n] = len;
	s->end[s->n] =
		nftnl_set_elem_is_set(el, NFTNL_SET_ELEM_FLAGS) &&
		(nftnl_set_elem_get_u32(el, NFTNL_SET_ELEM_FLAGS) & NFT_SET_ELEM_INTERVAL_END);
	s->n++;
	return 0;
}

/* libnftnl numbers the items of an element list when it builds them but parses only
 * NFTA_LIST_ELEM (test_nft.c's parse_elems): parses a copy with the types fixed. */
static int parse_elems(const struct nlmsghdr *nlh, struct elem_list *l, char *set, size_t size)
{
	struct nlmsghdr *copy = malloc(nlh->nlmsg_len);
	struct nftnl_set *s = nftnl_set_alloc();
	struct nlattr *a, *item;
	int r = -1;

	if (copy && s) {
		memcpy(copy, nlh, nlh->nlmsg_len);
		mnl_attr_for_each(a, copy, sizeof(struct nfgenmsg))
			if (mnl_attr_get_type(a) == NFTA_SET_ELEM_LIST_ELEMENTS)
				mnl_attr_for_each_nested(item, a)
					item->nla_type = NLA_F_NESTED | NFTA_LIST_ELEM;
		r = nftnl_set_elems_nlmsg_parse(copy, s);
		if (r == 0) {
			snprintf(set, size, "%s", nftnl_set_get_str(s, NFTNL_SET_NAME));
			memset(l, 0, sizeof(*l));
			r = nftnl_set_elem_foreach(s, elem_cb, l);
		}
	}
	nftnl_set_free(s);
	free(copy);
	return r;
}

static void test_masq_table(void)
{
	static const char *const v4[4] = {
		"payload lookup payload lookup immediate",
		"payload lookup payload bitwise cmp counter masq",
		"payload lookup payload lookup immediate",
		"payload lookup payload lookup counter masq",
	};
	static const char *const sets4[4] = {"net4 net4", "net4", "!net4 subnet4", "!net4 net4"};
	static const uint8_t net[4] = {10, 244, 0, 0}, end[4] = {10, 245, 0, 0};
	struct omasq_nets n = {.network = pfx("10.244.0.0/16"), .subnet = pfx("10.244.1.0/24")};
	char shape[256], sets[64], name[32], want[256];
	struct nftnl_chain *c;
	struct nftnl_set *s;
	struct elem_list el;
	struct err err = {0};
	struct nft nft;
	uint32_t masq;

	T_EQ(nft_open_dry(&nft), 0);
	T_EQ(omasq_build(&nft, &n, &err), 0);
	T_EQ(nft_batch_commit(&nft), 0);
	/* begin, table, 4 sets, chain, 8 rules, net4 and subnet4 elements, end */
	T_EQ(mtype(msg(&nft, 1)), NFT_MSG_NEWTABLE);
	T_EQ(msg(&nft, 1)->nlmsg_flags & NLM_F_EXCL, NLM_F_EXCL); /* the race's referee */
	for (int i = 0; i < 4; i++) {
		T_EQ(mtype(msg(&nft, 2 + i)), NFT_MSG_NEWSET);
		s = nftnl_set_alloc();
		T_ASSERT(s);
		T_EQ(nftnl_set_nlmsg_parse(msg(&nft, 2 + i), s), 0);
		T_EQ(nftnl_set_get_u32(s, NFTNL_SET_FLAGS), NFT_SET_INTERVAL);
		T_EQ(nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN), i < 2 ? 4 : 16);
		nftnl_set_free(s);
	}
	T_EQ(mtype(msg(&nft, 6)), NFT_MSG_NEWCHAIN);
	c = nftnl_chain_alloc();
	T_ASSERT(c);
	T_EQ(nftnl_chain_nlmsg_parse(msg(&nft, 6), c), 0);
	T_STREQ(nftnl_chain_get_str(c, NFTNL_CHAIN_NAME), "postrouting");
	T_STREQ(nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE), "nat");
	T_EQ(nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM), NF_INET_POST_ROUTING);
	T_EQ((int32_t)nftnl_chain_get_u32(c, NFTNL_CHAIN_PRIO), 100);
	nftnl_chain_free(c);
	for (int i = 0; i < 8; i++) {
		T_EQ(mtype(msg(&nft, 7 + i)), NFT_MSG_NEWRULE);
		rule_shape(msg(&nft, 7 + i), shape, sizeof(shape), sets, sizeof(sets), &masq);
		snprintf(want, sizeof(want), "meta cmp %s", v4[i % 4]);
		if (i >= 4 && i % 4 == 1) /* ip6 daddr != ff00::/8: its first byte */
			snprintf(want, sizeof(want), "meta cmp %s",
				 "payload lookup payload cmp counter masq");
		T_STREQ(shape, want);
		snprintf(want, sizeof(want), "%s", sets4[i % 4]);
		if (i >= 4) /* the same with the IPv6 sets */
			for (char *p = want; (p = strchr(p, '4')); p++)
				*p = '6';
		T_STREQ(sets, want);
		T_EQ(masq, i % 2 ? NF_NAT_RANGE_PROTO_RANDOM_FULLY : 0);
	}
	/* a prefix is an interval: its start, and the address after its end flagged */
	T_EQ(mtype(msg(&nft, 15)), NFT_MSG_NEWSETELEM);
	T_EQ(parse_elems(msg(&nft, 15), &el, name, sizeof(name)), 0);
	T_STREQ(name, "net4");
	T_EQ(el.n, 2);
	T_ASSERT(!memcmp(el.key[0], net, 4) && !el.end[0]);
	T_ASSERT(!memcmp(el.key[1], end, 4) && el.end[1]);
	T_EQ(parse_elems(msg(&nft, 16), &el, name, sizeof(name)), 0);
	T_STREQ(name, "subnet4");
	T_EQ(el.n, 2);
	T_EQ(el.key[1][2], 2); /* 10.244.2.0 ends 10.244.1.0/24 */
	T_EQ(msg(&nft, 17)->nlmsg_type, NFNL_MSG_BATCH_END);
	T_ASSERT(msg(&nft, 18) == NULL);

	/* dual-stack: the IPv6 sets get their elements too */
	n.network6 = pfx("fd00:10::/48");
	n.subnet6 = pfx("fd00:10:0:1::/64");
	T_EQ(omasq_build(&nft, &n, &err), 0);
	T_EQ(nft_batch_commit(&nft), 0);
	T_EQ(parse_elems(msg(&nft, 17), &el, name, sizeof(name)), 0);
	T_STREQ(name, "net6");
	T_EQ(el.n, 2);
	T_EQ(el.key[1][5], 1); /* fd00:10:1:: ends fd00:10::/48 */
	T_EQ(parse_elems(msg(&nft, 18), &el, name, sizeof(name)), 0);
	T_STREQ(name, "subnet6");

	/* a network reaching the top of the space has no end element */
	n = (struct omasq_nets){.network = pfx("240.0.0.0/4"), .subnet = pfx("255.255.255.0/24")};
	T_EQ(omasq_build(&nft, &n, &err), 0);
	T_EQ(nft_batch_commit(&nft), 0);
	T_EQ(parse_elems(msg(&nft, 15), &el, name, sizeof(name)), 0);
	T_EQ(el.n, 1);
	nft_close(&nft);
}

static void test_masq_validate(void)
{
	struct omasq_nets n = {.network = pfx("10.244.0.0/16")};
	struct err err = {0};
	struct nft nft;

	T_EQ(nft_open_dry(&nft), 0);
	T_EQ(omasq_build(&nft, &n, &err), -EINVAL);
	T_EQ(err.code, CNI_ERR_CONFIG);
	T_STREQ(err.msg, "overlay masquerade: invalid or missing IPv4 node subnet");
	err = (struct err){0};
	n.subnet = pfx("fd00::/64");
	T_EQ(omasq_ensure(&nft, &n, &err), -EINVAL);
	T_STREQ(err.msg, "overlay masquerade: invalid or missing IPv4 node subnet");
	err = (struct err){0};
	n.subnet = pfx("10.244.1.0/24");
	n.network6 = pfx("fd00:10::/48");
	T_EQ(omasq_check(&nft, &n, &err), -EINVAL);
	T_STREQ(err.msg, "overlay masquerade: invalid or missing IPv6 node subnet");
	/* IPv6 only: no IPv4 network, so no IPv4 subnet needed */
	err = (struct err){0};
	n = (struct omasq_nets){.network6 = pfx("fd00:10::/48"),
				.subnet6 = pfx("fd00:10:0:1::/64")};
	T_EQ(omasq_build(&nft, &n, &err), 0);
	nft_close(&nft);
}

int main(void)
{
	T_RUN(test_names);
	T_RUN(test_compare);
	T_RUN(test_validate);
	T_RUN(test_create_message);
	T_RUN(test_masq_table);
	T_RUN(test_masq_validate);
	return T_EXIT();
}
