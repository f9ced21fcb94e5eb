// SPDX-License-Identifier: Apache-2.0
/* ipMasq as set elements: `inet sluice_masq` holds sets of pod addresses (pods4/6) and of
 * "pod address . its own subnet" intervals (local4/6); static rules masquerade the first
 * unless the second matches. ADD and DEL change elements only, never the rules. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "node/masq.h"
#include "base/ip.h"
#include "nft/nft.h"
#include "nft/nft_owned.h"

enum { S_PODS4, S_PODS6, S_LOCAL4, S_LOCAL6, S_COUNT };

#define MASQ_RULES 6 /* what build_chain() adds */

static const struct nft_set_def sets[S_COUNT] = {
	[S_PODS4] = {.name = "pods4", .key = {NFT_TYPE_IPV4}},
	[S_PODS6] = {.name = "pods6", .key = {NFT_TYPE_IPV6}},
	[S_LOCAL4] = {.name = "local4",
		      .key = {NFT_TYPE_IPV4, NFT_TYPE_IPV4},
		      .flags = NFT_SET_INTERVAL},
	[S_LOCAL6] = {.name = "local6",
		      .key = {NFT_TYPE_IPV6, NFT_TYPE_IPV6},
		      .flags = NFT_SET_INTERVAL},
};

/* The elements masq_add() adds for one address, into el[]. */
static int addr_elems(const struct ip_prefix *p, const char *owner, struct nft_owned_elems *el)
{
	struct ip_addr net = ip_prefix_network(p), bcast = ip_prefix_broadcast(p);
	unsigned int len = ip_bytes(p->ip.family);
	int v6 = p->ip.family == AF_INET6, r;
	struct nft_elem e = {.comment = owner};

	if ((p->ip.family != AF_INET && !v6) || p->len > ip_bits(p->ip.family))
		return -EINVAL;
	nft_data_set(&e.key, p->ip.b, len);
	r = nft_owned_push(&el[v6 ? S_PODS6 : S_PODS4], &e);
	if (r < 0)
		return r;
	e.key.len = 0;
	nft_data_field(&e.key, p->ip.b, len);
	nft_data_field(&e.key, net.b, len);
	nft_data_field(&e.key_end, p->ip.b, len);
	nft_data_field(&e.key_end, bcast.b, len);
	e.flags = NFT_ELEM_HAS_KEY_END;
	return nft_owned_push(&el[v6 ? S_LOCAL6 : S_LOCAL4], &e);
}

/* Rules 1-2: multicast destinations are never masqueraded. */
static void rules_mcast(struct nft *nft)
{
	static const uint8_t mask[4] = {0xf0}, mcast[4] = {0xe0}, zero[4] = {0}, ff = 0xff;
	struct nft_rule_b b;

	nft_rule_begin(&b, NFPROTO_INET, MASQ_TABLE, MASQ_CHAIN);
	nr_match_nfproto(&b, NFPROTO_IPV4);
	nr_payload_ip_daddr(&b, NFT_REG32_00); /* ip daddr 224.0.0.0/4 */
	nr_bitwise(&b, NFT_REG32_00, NFT_REG32_00, mask, zero, 4);
	nr_cmp(&b, NFT_CMP_EQ, NFT_REG32_00, mcast, 4);
	nr_verdict(&b, NFT_RETURN, NULL);
	(void)nft_rule_add(nft, &b, 0);

	nft_rule_begin(&b, NFPROTO_INET, MASQ_TABLE, MASQ_CHAIN);
	nr_match_nfproto(&b, NFPROTO_IPV6);
	nr_payload(&b, NFT_PAYLOAD_NETWORK_HEADER, 24, 1, NFT_REG32_00); /* ip6 daddr ff00::/8 */
	nr_cmp(&b, NFT_CMP_EQ, NFT_REG32_00, &ff, 1);
	nr_verdict(&b, NFT_RETURN, NULL);
	(void)nft_rule_add(nft, &b, 0);
}

/* Rules 3-6 for one family: "saddr . daddr @local return; saddr @pods masquerade". */
static void rules_family(struct nft *nft, int v6)
{
	uint32_t alen = v6 ? 16 : 4;
	struct nft_rule_b b;

	nft_rule_begin(&b, NFPROTO_INET, MASQ_TABLE, MASQ_CHAIN);
	nr_match_nfproto(&b, v6 ? NFPROTO_IPV6 : NFPROTO_IPV4);
	nr_payload(&b, NFT_PAYLOAD_NETWORK_HEADER, v6 ? 8 : 12, alen, NFT_REG32_00);
	nr_payload(&b, NFT_PAYLOAD_NETWORK_HEADER, v6 ? 24 : 16, alen,
		   NR_REG_NEXT(NFT_REG32_00, alen));
	nr_lookup(&b, NFT_REG32_00, sets[v6 ? S_LOCAL6 : S_LOCAL4].name, 0);
	nr_verdict(&b, NFT_RETURN, NULL);
	nr_comment(&b, "pod to its own subnet");
	(void)nft_rule_add(nft, &b, 0);

	nft_rule_begin(&b, NFPROTO_INET, MASQ_TABLE, MASQ_CHAIN);
	nr_match_nfproto(&b, v6 ? NFPROTO_IPV6 : NFPROTO_IPV4);
	nr_payload(&b, NFT_PAYLOAD_NETWORK_HEADER, v6 ? 8 : 12, alen, NFT_REG32_00);
	nr_lookup(&b, NFT_REG32_00, sets[v6 ? S_PODS6 : S_PODS4].name, 0);
	nr_counter(&b);
	nr_masq(&b, 0);
	(void)nft_rule_add(nft, &b, 0);
}

/* The chain and its rules, in the batch that creates the table. */
static void build_chain(struct nft *nft)
{
	static const struct nft_chain_def chain = {
		.name = MASQ_CHAIN,
		.type = "nat",
		.hook = NF_INET_POST_ROUTING,
		.prio = 100, /* srcnat */
		.comment =
			"sluice ipMasq: elements are commented <container id>/<ifname>/<network>",
	};

	(void)nft_chain_add(nft, NFPROTO_INET, MASQ_TABLE, &chain, 0);
	rules_mcast(nft);
	rules_family(nft, 0);
	rules_family(nft, 1);
}

/* For CHECK's message: the pod address the element is keyed by. */
static void describe(const struct nft_elem *e, unsigned int set, char *out, size_t size)
{
	struct ip_addr ip = {.family = set == S_PODS4 || set == S_LOCAL4 ? AF_INET : AF_INET6};
	char buf[IP_STRLEN];

	memcpy(ip.b, e->key.v, ip_bytes(ip.family));
	snprintf(out, size, "%s", ip_fmt(&ip, buf));
}

const struct nft_owned masq_owned = {
	.what = "masq",
	.family = NFPROTO_INET,
	.table = MASQ_TABLE,
	.sets = sets,
	.nsets = S_COUNT,
	.chain = MASQ_CHAIN,
	.nrules = MASQ_RULES,
	.build = build_chain,
	.describe = describe,
};

/* The elements of one attachment, with their owner comment in owner. */
static int attachment_elems(const char *net, const char *cid, const char *ifname,
			    const struct ip_prefix *addrs, size_t n, char owner[NFT_OWNER_MAX + 1],
			    struct nft_owned_elems *el)
{
	int r;

	r = nft_owner_fmt(owner, net, cid, ifname);
	if (r == 0 && n > MASQ_ADDRS_MAX)
		r = -EINVAL;
	for (size_t k = 0; r == 0 && k < n; k++)
		r = addr_elems(&addrs[k], owner, el);
	return r;
}

int masq_add(struct nft *nft, const char *net, const char *cid, const char *ifname,
	     const struct ip_prefix *addrs, size_t n)
{
	struct nft_owned_elems el[S_COUNT] = {0};
	char owner[NFT_OWNER_MAX + 1];
	int r;

	r = n ? attachment_elems(net, cid, ifname, addrs, n, owner, el) : -EINVAL;
	if (r == 0)
		r = nft_owned_add(nft, &masq_owned, el, NULL);
	nft_owned_elems_done(el, S_COUNT);
	return r;
}

int masq_del(struct nft *nft, const char *net, const char *cid, const char *ifname)
{
	return nft_owned_del(nft, &masq_owned, net, cid, ifname);
}

int masq_gc(struct nft *nft, const char *net,
	    bool (*is_valid)(const char *cid, const char *ifname, void *data), void *data)
{
	return nft_owned_gc(nft, &masq_owned, net, is_valid, data);
}

int masq_check(struct nft *nft, const char *net, const char *cid, const char *ifname,
	       const struct ip_prefix *addrs, size_t n)
{
	struct nft_owned_elems want[S_COUNT] = {0};
	char owner[NFT_OWNER_MAX + 1];
	int r;

	r = attachment_elems(net, cid, ifname, addrs, n, owner, want);
	if (r == 0)
		r = nft_owned_check(nft, &masq_owned, net, cid, ifname, want);
	nft_owned_elems_done(want, S_COUNT);
	return r;
}
