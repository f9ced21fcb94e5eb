// SPDX-License-Identifier: Apache-2.0
/* macspoofchk as set elements: `bridge sluice_spoofchk` holds the host veths under check
 * (ports) and each one's pod MAC (allowed: "ifname . ether_addr"); two static rules let a
 * port's frames pass with that MAC and drop the rest. ADD and DEL change elements only. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <net/if.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "node/spoofchk.h"
#include "nft/nft.h"
#include "nft/nft_owned.h"

enum { S_PORTS, S_ALLOWED, S_COUNT };

#define SPOOFCHK_RULES 2 /* what build_chain() adds */
#define BR_PRE_ROUTING 0 /* NF_BR_PRE_ROUTING; <linux/netfilter_bridge.h> clashes with libc */
#define BR_PRI_NAT_DST_BRIDGED (-300) /* before the bridge's own DNAT and filtering */

static const struct nft_set_def sets[S_COUNT] = {
	[S_PORTS] = {.name = "ports", .key = {NFT_TYPE_IFNAME}},
	[S_ALLOWED] = {.name = "allowed", .key = {NFT_TYPE_IFNAME, NFT_TYPE_ETHER}},
};

/* iifname . ether saddr @allowed return; iifname @ports counter drop */
static void build_chain(struct nft *nft)
{
	static const struct nft_chain_def chain = {
		.name = SPOOFCHK_CHAIN,
		.type = "filter",
		.hook = BR_PRE_ROUTING,
		.prio = BR_PRI_NAT_DST_BRIDGED,
		.flags = NFT_CHAIN_HAS_POLICY,
		.policy = NF_ACCEPT,
		.comment = "sluice macspoofchk: elements are commented "
			   "<container id>/<ifname>/<network>",
	};
	struct nft_rule_b b;

	(void)nft_chain_add(nft, NFPROTO_BRIDGE, SPOOFCHK_TABLE, &chain, 0);
	nft_rule_begin(&b, NFPROTO_BRIDGE, SPOOFCHK_TABLE, SPOOFCHK_CHAIN);
	nr_meta(&b, NFT_META_IIFNAME, NFT_REG32_00);
	nr_payload(&b, NFT_PAYLOAD_LL_HEADER, 6, 6, NR_REG_NEXT(NFT_REG32_00, IFNAMSIZ));
	nr_lookup(&b, NFT_REG32_00, sets[S_ALLOWED].name, 0);
	nr_verdict(&b, NFT_RETURN, NULL);
	nr_comment(&b, "the pod's own MAC");
	(void)nft_rule_add(nft, &b, 0);

	nft_rule_begin(&b, NFPROTO_BRIDGE, SPOOFCHK_TABLE, SPOOFCHK_CHAIN);
	nr_meta(&b, NFT_META_IIFNAME, NFT_REG32_00);
	nr_lookup(&b, NFT_REG32_00, sets[S_PORTS].name, 0);
	nr_counter(&b);
	nr_verdict(&b, NF_DROP, NULL);
	nr_comment(&b, "any other source MAC from a pod's port");
	(void)nft_rule_add(nft, &b, 0);
}

/* For CHECK's message: "veth1234" or "veth1234 . 02:00:00:00:00:01". */
static void describe(const struct nft_elem *e, unsigned int set, char *out, size_t size)
{
	const uint8_t *m = e->key.v + IFNAMSIZ;

	if (e->key.len < IFNAMSIZ)
		return;
	if (set == S_PORTS || e->key.len < IFNAMSIZ + 6)
		snprintf(out, size, "%.*s", IFNAMSIZ, (const char *)e->key.v);
	else
		snprintf(out, size, "%.*s . %02x:%02x:%02x:%02x:%02x:%02x", IFNAMSIZ,
			 (const char *)e->key.v, m[0], m[1], m[2], m[3], m[4], m[5]);
}

const struct nft_owned spoofchk_owned = {
	.what = "spoofchk",
	.family = NFPROTO_BRIDGE,
	.table = SPOOFCHK_TABLE,
	.sets = sets,
	.nsets = S_COUNT,
	/* A port present means a re-ADD or a lost DEL: spoofchk_add() then clears every MAC
	 * the port allowed, so it never allows two. */
	.excl = 1U << S_PORTS,
	.check_exact = true,
	.chain = SPOOFCHK_CHAIN,
	.nrules = SPOOFCHK_RULES,
	.build = build_chain,
	.describe = describe,
};

/* The attachment's two elements, commented with owner. */
static int port_elems(const char *net, const char *cid, const char *ifname, const char *host_if,
		      const uint8_t mac[6], char owner[NFT_OWNER_MAX + 1],
		      struct nft_owned_elems *el)
{
	static const uint8_t zero[6];
	char name[IFNAMSIZ] = {0};
	struct nft_elem e = {.comment = owner};
	int r;

	r = nft_owner_fmt(owner, net, cid, ifname);
	if (r < 0)
		return r;
	if (!host_if || !*host_if || strlen(host_if) >= IFNAMSIZ || strchr(host_if, '/') || !mac ||
	    (mac[0] & 1) || !memcmp(mac, zero, 6))
		return -EINVAL;
	memcpy(name, host_if, strlen(host_if));
	nft_data_set(&e.key, name, IFNAMSIZ);
	r = nft_owned_push(&el[S_PORTS], &e);
	if (r < 0)
		return r;
	e.key.len = 0;
	nft_data_field(&e.key, name, IFNAMSIZ);
	nft_data_field(&e.key, mac, 6);
	return nft_owned_push(&el[S_ALLOWED], &e);
}

/* Every element of the port (data: its 16-byte name), whoever owns it. */
static int match_port(const struct nft_elem *e, unsigned int set, void *data)
{
	return e->key.len >= IFNAMSIZ && !memcmp(e->key.v, data, IFNAMSIZ);
}

int spoofchk_add(struct nft *nft, const char *net, const char *cid, const char *ifname,
		 const char *host_if, const uint8_t mac[6])
{
	struct nft_owned_elems el[S_COUNT] = {0}, old[S_COUNT] = {0};
	char owner[NFT_OWNER_MAX + 1];
	int r;

	r = port_elems(net, cid, ifname, host_if, mac, owner, el);
	if (r == 0)
		r = nft_owned_add(nft, &spoofchk_owned, el, NULL);
	if (r == -EEXIST) {
		/* Replaced in the same batch: the port is never left unchecked. */
		r = nft_owned_collect(nft, &spoofchk_owned, old, match_port,
				      el[S_PORTS].e[0].key.v);
		if (r == 0)
			r = nft_owned_add(nft, &spoofchk_owned, el, old);
	}
	nft_owned_elems_done(el, S_COUNT);
	nft_owned_elems_done(old, S_COUNT);
	return r;
}

int spoofchk_del(struct nft *nft, const char *net, const char *cid, const char *ifname)
{
	return nft_owned_del(nft, &spoofchk_owned, net, cid, ifname);
}

int spoofchk_check(struct nft *nft, const char *net, const char *cid, const char *ifname,
		   const char *host_if, const uint8_t mac[6])
{
	struct nft_owned_elems want[S_COUNT] = {0};
	char owner[NFT_OWNER_MAX + 1];
	int r;

	r = port_elems(net, cid, ifname, host_if, mac, owner, want);
	if (r == 0)
		r = nft_owned_check(nft, &spoofchk_owned, net, cid, ifname, want);
	nft_owned_elems_done(want, S_COUNT);
	return r;
}

int spoofchk_gc(struct nft *nft, const char *net,
		bool (*is_valid)(const char *cid, const char *ifname, void *data), void *data)
{
	return nft_owned_gc(nft, &spoofchk_owned, net, is_valid, data);
}
