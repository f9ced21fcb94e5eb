// SPDX-License-Identifier: Apache-2.0
/* The policy ruleset in nftables: table `inet sluice_policy` built whole (pnft_replace) or
 * changed by difference (pnft_diff), in the caller's batch. The element encoding and the
 * class chains are shared with the fragments (pnft_read.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter_ipv4.h>

#include "policy/pnft.h"
#include "base/ip.h"
#include "base/vec.h"
#include "nft/nft.h"
#include "policy/pnft_int.h"
#include "policy/policy.h"

#define T POL_TABLE
#define F NFPROTO_INET

/* The maps and the stamp set every table has, whatever the ruleset. */
static const struct {
	const char *name;
	enum pol_set_kind kind;
} fixed_sets[] = {
	{"egr4", POL_SET_DISPATCH4}, {"egr6", POL_SET_DISPATCH6},     {"ing4", POL_SET_DISPATCH4},
	{"ing6", POL_SET_DISPATCH6}, {PNFT_STAMP_SET, POL_SET_STAMP},
};
#define NFIXED (sizeof(fixed_sets) / sizeof(fixed_sets[0]))

bool pnft_is_fixed(const char *name)
{
	for (size_t i = 0; i < NFIXED; i++)
		if (!strcmp(fixed_sets[i].name, name))
			return true;
	return false;
}

const struct pnft_opts *pnft_opts_or_default(const struct pnft_opts *o)
{
	static const struct pnft_opts def = {POL_NFLOG_GROUP, PNFT_LOG_RATE};

	return o ? o : &def;
}

/* --- Sets and elements ---------------------------------------------------------------- */

bool pnft_kind_interval(enum pol_set_kind kind)
{
	return kind == POL_SET_NET4 || kind == POL_SET_NET6 || kind == POL_SET_PORTS;
}

bool pnft_kind_dispatch(enum pol_set_kind kind)
{
	return kind == POL_SET_DISPATCH4 || kind == POL_SET_DISPATCH6;
}

void pnft_set_def(enum pol_set_kind kind, const char *name, struct nft_set_def *d)
{
	static const struct nft_set_def defs[] = {
		[POL_SET_ADDR4] = {.key = {NFT_TYPE_IPV4}},
		[POL_SET_ADDR6] = {.key = {NFT_TYPE_IPV6}},
		[POL_SET_NET4] = {.key = {NFT_TYPE_IPV4}, .flags = NFT_SET_INTERVAL},
		[POL_SET_NET6] = {.key = {NFT_TYPE_IPV6}, .flags = NFT_SET_INTERVAL},
		[POL_SET_PORTS] = {.key = {NFT_TYPE_INET_PROTO, NFT_TYPE_INET_SERVICE},
				   .flags = NFT_SET_INTERVAL},
		[POL_SET_NAMED4] = {.key = {NFT_TYPE_IPV4, NFT_TYPE_INET_PROTO,
					    NFT_TYPE_INET_SERVICE}},
		[POL_SET_NAMED6] = {.key = {NFT_TYPE_IPV6, NFT_TYPE_INET_PROTO,
					    NFT_TYPE_INET_SERVICE}},
		[POL_SET_DISPATCH4] = {.key = {NFT_TYPE_IPV4}, .data = {NFT_TYPE_VERDICT}},
		[POL_SET_DISPATCH6] = {.key = {NFT_TYPE_IPV6}, .data = {NFT_TYPE_VERDICT}},
		[POL_SET_STAMP] = {.key = {NFT_TYPE_MARK}},
	};

	*d = defs[kind <= POL_SET_STAMP ? kind : POL_SET_STAMP];
	d->name = name;
}

/* The address family of a kind's addresses, 0 when it has none. */
static int kind_family(enum pol_set_kind kind)
{
	switch (kind) {
	case POL_SET_ADDR4:
	case POL_SET_NET4:
	case POL_SET_NAMED4:
	case POL_SET_DISPATCH4:
		return AF_INET;
	case POL_SET_ADDR6:
	case POL_SET_NET6:
	case POL_SET_NAMED6:
	case POL_SET_DISPATCH6:
		return AF_INET6;
	default:
		return 0;
	}
}

int pnft_push(struct pnft_elems *out, const struct nft_elem *e)
{
	if (vec_room(&out->e, &out->cap, out->n, sizeof(*e), 16) < 0)
		return -ENOMEM;
	out->e[out->n++] = *e;
	return 0;
}

void pnft_elems_done(struct pnft_elems *el)
{
	free(el->e);
	memset(el, 0, sizeof(*el));
}

static int range_cmp_net(const void *a, const void *b)
{
	const struct pol_elem *x = *(const struct pol_elem *const *)a;
	const struct pol_elem *y = *(const struct pol_elem *const *)b;

	return ip_cmp(&x->ip, &y->ip);
}

static int range_cmp_ports(const void *a, const void *b)
{
	const struct pol_elem *x = *(const struct pol_elem *const *)a;
	const struct pol_elem *y = *(const struct pol_elem *const *)b;

	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	return x->port < y->port ? -1 : x->port > y->port;
}

/* [start, end] of a plain interval set: start, and end + 1 flagged as the end unless the
 * range reaches the top of the address space. */
static int net_elems(const struct ip_addr *start, const struct ip_addr *end, struct pnft_elems *out)
{
	unsigned int len = ip_bytes(start->family);
	struct nft_elem e = {0};
	struct ip_addr after = *end;

	nft_data_set(&e.key, start->b, len);
	if (pnft_push(out, &e) < 0)
		return -ENOMEM;
	ip_next(&after);
	if (ip_is_zero(&after))
		return 0;
	nft_data_set(&e.key, after.b, len);
	e.flags = NFT_ELEM_INTERVAL_END;
	return pnft_push(out, &e);
}

static int ports_elem(uint8_t proto, uint16_t lo, uint16_t hi, struct pnft_elems *out)
{
	struct nft_elem e = {.flags = NFT_ELEM_HAS_KEY_END};
	uint16_t a = htons(lo), b = htons(hi);

	nft_data_field(&e.key, &proto, 1);
	nft_data_field(&e.key, &a, 2);
	nft_data_field(&e.key_end, &proto, 1);
	nft_data_field(&e.key_end, &b, 2);
	return pnft_push(out, &e);
}

/* Interval sets: the ranges sorted, merged where they overlap or touch. */
static int encode_intervals(const struct pol_set *s, const struct pol_elem *e, size_t n,
			    struct pnft_elems *out)
{
	const struct pol_elem **p = malloc((n ? n : 1) * sizeof(*p));
	bool ports = s->kind == POL_SET_PORTS;
	size_t i = 0, k;
	int r = 0;

	if (!p)
		return -ENOMEM;
	for (k = 0; k < n; k++)
		p[k] = &e[k];
	qsort(p, n, sizeof(*p), ports ? range_cmp_ports : range_cmp_net);
	while (i < n && r >= 0) {
		if (ports) {
			uint8_t proto = p[i]->proto;
			uint32_t lo = p[i]->port, hi = p[i]->port_end;

			for (k = i + 1; k < n && p[k]->proto == proto && p[k]->port <= hi + 1; k++)
				hi = p[k]->port_end > hi ? p[k]->port_end : hi;
			r = ports_elem(proto, (uint16_t)lo, (uint16_t)hi, out);
		} else {
			struct ip_addr lo = p[i]->ip, hi = p[i]->end, after;

			for (k = i + 1; k < n; k++) {
				after = hi;
				ip_next(&after);
				/* hi is the top of the space: everything after is inside */
				if (!ip_is_zero(&after) && ip_cmp(&p[k]->ip, &after) > 0)
					break;
				if (ip_cmp(&p[k]->end, &hi) > 0)
					hi = p[k]->end;
			}
			r = net_elems(&lo, &hi, out);
		}
		i = k;
	}
	free(p);
	return r;
}

static int elem_invalid(struct nft *nft, const struct pol_set *s, size_t i, const char *why)
{
	char what[160];

	snprintf(what, sizeof(what), "set %s: element %zu: %s", s->name, i, why);
	return nft_batch_fail(nft, -EINVAL, what);
}

int pnft_encode(struct nft *nft, const struct pol_set *s, const struct pol_elem *e, size_t n,
		struct pnft_elems *out)
{
	int fam = kind_family(s->kind);
	unsigned int alen = fam ? ip_bytes(fam) : 0;
	size_t i;
	int r = 0;

	for (i = 0; i < n; i++) {
		if (fam && e[i].ip.family != fam)
			return elem_invalid(nft, s, i, "address of the wrong family");
		if ((s->kind == POL_SET_NET4 || s->kind == POL_SET_NET6) &&
		    (e[i].end.family != fam || ip_cmp(&e[i].end, &e[i].ip) < 0))
			return elem_invalid(nft, s, i, "range end missing or below its start");
		if (s->kind == POL_SET_PORTS && e[i].port_end < e[i].port)
			return elem_invalid(nft, s, i, "port range end below its start");
		if (pnft_kind_dispatch(s->kind) && !e[i].chain[0])
			return elem_invalid(nft, s, i, "no chain");
	}
	if (pnft_kind_interval(s->kind))
		return encode_intervals(s, e, n, out) < 0 ? nft_batch_fail(nft, -ENOMEM, s->name)
							  : 0;
	for (i = 0; i < n && r >= 0; i++) {
		struct nft_elem x = {0};
		uint16_t port = htons(e[i].port);
		uint32_t mark = PNFT_STAMP_KEY;

		switch (s->kind) {
		case POL_SET_NAMED4:
		case POL_SET_NAMED6:
			nft_data_field(&x.key, e[i].ip.b, alen);
			nft_data_field(&x.key, &e[i].proto, 1);
			nft_data_field(&x.key, &port, 2);
			break;
		case POL_SET_DISPATCH4:
		case POL_SET_DISPATCH6:
			nft_data_set(&x.key, e[i].ip.b, alen);
			x.flags = NFT_ELEM_HAS_VERDICT;
			x.verdict = NFT_GOTO;
			x.chain = e[i].chain;
			break;
		case POL_SET_STAMP:
			nft_data_set(&x.key, &mark, sizeof(mark));
			break;
		default:
			nft_data_set(&x.key, e[i].ip.b, alen);
			break;
		}
		r = pnft_push(out, &x);
	}
	return r < 0 ? nft_batch_fail(nft, r, s->name) : 0;
}

int pnft_elems_put(struct nft *nft, const struct pol_set *s, const struct pnft_elems *el)
{
	if (pnft_kind_dispatch(s->kind))
		(void)pnft_elems_destroy(nft, s->name, el);
	return nft_elems_add(nft, F, T, s->name, el->e, el->n, 0);
}

int pnft_elems_destroy(struct nft *nft, const char *set, const struct pnft_elems *el)
{
	struct nft_elem *keys;
	size_t i;
	int r;

	if (!el->n)
		return 0;
	keys = malloc(el->n * sizeof(*keys));
	if (!keys)
		return nft_batch_fail(nft, -ENOMEM, set);
	/* by key: a verdict or a comment in a delete is not compared */
	for (i = 0; i < el->n; i++) {
		memset(&keys[i], 0, sizeof(keys[i]));
		keys[i].key = el->e[i].key;
		keys[i].key_end = el->e[i].key_end;
		keys[i].flags = el->e[i].flags & (NFT_ELEM_HAS_KEY_END | NFT_ELEM_INTERVAL_END);
	}
	r = nft_elems_del(nft, F, T, set, keys, el->n, NFT_F_DESTROY);
	free(keys);
	return r;
}

static int set_elems_put(struct nft *nft, const struct pol_set *s)
{
	struct pnft_elems el = {0};
	int r;

	r = pnft_encode(nft, s, s->e, s->n, &el);
	if (r >= 0)
		r = nft_elems_add(nft, F, T, s->name, el.e, el.n, 0);
	pnft_elems_done(&el);
	return r;
}

void pnft_stamp_put(struct nft *nft, const char *stamp)
{
	uint32_t mark = PNFT_STAMP_KEY;
	struct nft_elem e = {.comment = stamp};

	nft_data_set(&e.key, &mark, sizeof(mark));
	/* the comment of a present element is not replaced by an add */
	(void)nft_elems_del(nft, F, T, PNFT_STAMP_SET, &e, 1, NFT_F_DESTROY);
	if (stamp && *stamp)
		(void)nft_elems_add(nft, F, T, PNFT_STAMP_SET, &e, 1, 0);
}

void pnft_set_declare(struct nft *nft, const char *name, enum pol_set_kind kind)
{
	struct nft_set_def d;

	pnft_set_def(kind, name, &d);
	(void)nft_set_add(nft, F, T, &d, 0);
}

/* --- Chains and rules ----------------------------------------------------------------- */

void pnft_policy_comment(const char *ns, const char *policy, const char *suffix, char *out,
			 size_t size)
{
	size_t room = size > NFT_COMMENT_MAX + 1 ? NFT_COMMENT_MAX + 1 : size;
	size_t fixed = strlen(ns) + 1 + strlen(suffix);
	int keep = fixed + 1 < room ? (int)(room - 1 - fixed) : 0;

	snprintf(out, room, "%s/%.*s%s", ns, keep, policy, suffix);
}

static void chain_new(struct nft *nft, const char *name, const char *comment)
{
	struct nft_chain_def c = {.name = name, .comment = comment && *comment ? comment : NULL};

	/* present already (the other writer was first): emptied and filled again */
	(void)nft_chain_add(nft, F, T, &c, 0);
	(void)nft_chain_flush(nft, F, T, name);
}

/* The kind of the set name in rs, or -1. */
static int set_kind(const struct pol_ruleset *rs, const char *name)
{
	for (size_t i = 0; i < rs->nsets; i++)
		if (!strcmp(rs->sets[i].name, name))
			return (int)rs->sets[i].kind;
	return -1;
}

static void addr(struct nft_rule_b *b, int v6, bool dst, uint32_t dreg)
{
	nr_payload(b, NFT_PAYLOAD_NETWORK_HEADER, v6 ? (dst ? 24 : 8) : (dst ? 16 : 12),
		   v6 ? 16 : 4, dreg);
}

static int rule_invalid(struct nft *nft, const struct pol_pchain *c, size_t i, const char *why)
{
	char what[160];

	snprintf(what, sizeof(what), "chain %s: rule %zu: %s", c->name, i, why);
	return nft_batch_fail(nft, -EINVAL, what);
}

/* Checks a rule's sets against the ruleset (when rs has sets: a complete one). */
static int rule_check(struct nft *nft, const struct pol_ruleset *rs, const struct pol_pchain *c,
		      size_t i)
{
	const struct pol_rule *r = &c->rules[i];
	int v6 = r->family == NFPROTO_IPV6, k;

	if (r->family && r->family != NFPROTO_IPV4 && r->family != NFPROTO_IPV6)
		return rule_invalid(nft, c, i, "family neither IPv4 nor IPv6");
	if (!r->family && (r->addr_set[0] || r->named_set[0]))
		return rule_invalid(nft, c, i, "an address match needs a family");
	if (r->addr_set[0]) {
		k = set_kind(rs, r->addr_set);
		if (k >= 0 && k != (v6 ? POL_SET_ADDR6 : POL_SET_ADDR4) &&
		    k != (v6 ? POL_SET_NET6 : POL_SET_NET4))
			return rule_invalid(nft, c, i, "address set of another kind");
	}
	if (r->port_set[0] && (k = set_kind(rs, r->port_set)) >= 0 && k != POL_SET_PORTS)
		return rule_invalid(nft, c, i, "port set of another kind");
	if (r->named_set[0] && (k = set_kind(rs, r->named_set)) >= 0 &&
	    k != (v6 ? POL_SET_NAMED6 : POL_SET_NAMED4))
		return rule_invalid(nft, c, i, "named-port set of another kind");
	return 0;
}

/* [meta nfproto] [saddr|daddr @addr] [meta l4proto . th dport @ports]
 * [daddr . meta l4proto . th dport @named] counter accept */
void pnft_pchain_fill(struct nft *nft, const struct pol_ruleset *rs, const struct pol_pchain *c)
{
	const char *dir = c->dir == POL_IN ? "ingress" : "egress";
	char suffix[32], comment[NFT_COMMENT_MAX + 1];
	struct nft_rule_b b;

	for (size_t i = 0; i < c->nrules; i++) {
		const struct pol_rule *r = &c->rules[i];
		int v6 = r->family == NFPROTO_IPV6;
		uint32_t alen = v6 ? 16 : 4, reg;

		if (rule_check(nft, rs, c, i) < 0)
			return;
		nft_rule_begin(&b, F, T, c->name);
		if (r->family)
			nr_match_nfproto(&b, r->family);
		if (r->addr_set[0]) {
			addr(&b, v6, c->dir == POL_OUT, NFT_REG32_00);
			nr_lookup(&b, NFT_REG32_00, r->addr_set, 0);
		}
		if (r->port_set[0]) {
			nr_meta(&b, NFT_META_L4PROTO, NFT_REG32_00);
			nr_payload_th_dport(&b, NFT_REG32_01);
			nr_lookup(&b, NFT_REG32_00, r->port_set, 0);
		}
		if (r->named_set[0]) {
			addr(&b, v6, true, NFT_REG32_00);
			reg = NR_REG_NEXT(NFT_REG32_00, alen);
			nr_meta(&b, NFT_META_L4PROTO, reg);
			nr_payload_th_dport(&b, reg + 1);
			nr_lookup(&b, NFT_REG32_00, r->named_set, 0);
		}
		nr_counter(&b);
		nr_verdict(&b, NF_ACCEPT, NULL);
		snprintf(suffix, sizeof(suffix), " %s[%u]", dir, r->index);
		pnft_policy_comment(c->ns, c->policy, suffix, comment, sizeof(comment));
		nr_comment(&b, comment);
		(void)nft_rule_add(nft, &b, 0);
	}
}

void pnft_pchain_build(struct nft *nft, const struct pol_ruleset *rs, const struct pol_pchain *c)
{
	char comment[NFT_COMMENT_MAX + 1];

	pnft_policy_comment(c->ns, c->policy, "", comment, sizeof(comment));
	chain_new(nft, c->name, comment);
	pnft_pchain_fill(nft, rs, c);
}

void pnft_cchain_build(struct nft *nft, const struct pol_cchain *c, const struct pnft_opts *o,
		       const char *(*comment)(const char *target, void *data), void *data)
{
	struct nft_rule_b b;
	const char *cm;

	o = pnft_opts_or_default(o);
	chain_new(nft, c->name, NULL);
	for (size_t i = 0; i < c->ntargets; i++) {
		nft_rule_begin(&b, F, T, c->name);
		nr_verdict(&b, NFT_JUMP, c->targets[i]);
		cm = comment ? comment(c->targets[i], data) : NULL;
		if (cm && *cm)
			nr_comment(&b, cm);
		(void)nft_rule_add(nft, &b, 0);
	}
	if (o->log_rate) {
		nft_rule_begin(&b, F, T, c->name);
		nr_limit(&b, o->log_rate, o->log_rate);
		nr_log(&b, o->nflog_group, c->name);
		(void)nft_rule_add(nft, &b, 0);
	}
	nft_rule_begin(&b, F, T, c->name);
	nr_counter(&b);
	nr_verdict(&b, NF_DROP, NULL);
	nr_comment(&b, "drop");
	(void)nft_rule_add(nft, &b, 0);
}

/* The jump's comment from the ruleset's policy chain. */
struct target_comment {
	const struct pol_ruleset *rs;
	char buf[NFT_COMMENT_MAX + 1];
};

static const char *rs_target_comment(const char *target, void *data)
{
	struct target_comment *tc = data;

	for (size_t i = 0; i < tc->rs->npchains; i++) {
		const struct pol_pchain *p = &tc->rs->pchains[i];

		if (!strcmp(p->name, target)) {
			pnft_policy_comment(p->ns, p->policy, "", tc->buf, sizeof(tc->buf));
			return tc->buf;
		}
	}
	return NULL;
}

void pnft_cchain_build_rs(struct nft *nft, const struct pol_ruleset *rs, const struct pol_cchain *c,
			  const struct pnft_opts *o)
{
	struct target_comment tc = {.rs = rs};

	pnft_cchain_build(nft, c, o, rs_target_comment, &tc);
}

/* ct state established,related accept; ip6 hoplimit 255 icmpv6 type 133-137 accept;
 * meta nfproto ipvX <addr> vmap @<map>X */
static void base_chain(struct nft *nft, const char *name, int32_t prio, bool src, const char *map4,
		       const char *map6)
{
	static const uint8_t icmpv6 = IPPROTO_ICMPV6, nd_first = 133, nd_last = 137, nd_hops = 255;
	const struct nft_chain_def c = {
		.name = name,
		.type = "filter",
		.hook = NF_INET_FORWARD,
		.prio = prio,
		.flags = NFT_CHAIN_HAS_POLICY,
		.policy = NF_ACCEPT,
		.comment = src ? "sluice policy: the source pod's egress policies"
			       : "sluice policy: the destination pod's ingress policies",
	};
	struct nft_rule_b b;

	(void)nft_chain_add(nft, F, T, &c, 0);
	nft_rule_begin(&b, F, T, name);
	nr_ct_state(&b, NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED));
	nr_verdict(&b, NF_ACCEPT, NULL);
	(void)nft_rule_add(nft, &b, 0);
	/* IPv6 neighbour discovery (router solicitation .. redirect): conntrack does not track
	 * it, and an isolated pod that cannot resolve its peers' addresses has no IPv6 at all
	 * (Calico lets it through too). IPv4's ARP never reaches an inet hook. Only with hop
	 * limit 255, as valid ND always has (RFC 4861): anything else (a redirect from an
	 * egress-isolated pod to any address) is not ND and goes through the maps. */
	nft_rule_begin(&b, F, T, name);
	nr_match_nfproto(&b, NFPROTO_IPV6);
	nr_payload(&b, NFT_PAYLOAD_NETWORK_HEADER, 7, 1, NFT_REG32_00); /* ip6 hoplimit */
	nr_cmp(&b, NFT_CMP_EQ, NFT_REG32_00, &nd_hops, 1);
	nr_meta(&b, NFT_META_L4PROTO, NFT_REG32_00);
	nr_cmp(&b, NFT_CMP_EQ, NFT_REG32_00, &icmpv6, 1);
	nr_payload(&b, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1, NFT_REG32_00);
	nr_cmp(&b, NFT_CMP_GTE, NFT_REG32_00, &nd_first, 1);
	nr_cmp(&b, NFT_CMP_LTE, NFT_REG32_00, &nd_last, 1);
	nr_verdict(&b, NF_ACCEPT, NULL);
	(void)nft_rule_add(nft, &b, 0);
	for (int v6 = 0; v6 < 2; v6++) {
		nft_rule_begin(&b, F, T, name);
		nr_match_nfproto(&b, v6 ? NFPROTO_IPV6 : NFPROTO_IPV4);
		addr(&b, v6, !src, NFT_REG32_00);
		nr_lookup_map(&b, NFT_REG32_00, v6 ? map6 : map4, NFT_REG_VERDICT);
		(void)nft_rule_add(nft, &b, 0);
	}
}

/* --- Replace -------------------------------------------------------------------------- */

static int set_fixed_kind(const char *name)
{
	for (size_t i = 0; i < NFIXED; i++)
		if (!strcmp(fixed_sets[i].name, name))
			return (int)fixed_sets[i].kind;
	return -1;
}

/* A ruleset set that redeclares a fixed one with another kind. */
int pnft_check_fixed(struct nft *nft, const struct pol_ruleset *rs)
{
	char what[96];
	int k;

	for (size_t i = 0; i < rs->nsets; i++) {
		k = set_fixed_kind(rs->sets[i].name);
		if (k >= 0 && k != (int)rs->sets[i].kind) {
			snprintf(what, sizeof(what), "set %s: not of its fixed kind",
				 rs->sets[i].name);
			return nft_batch_fail(nft, -EINVAL, what);
		}
	}
	return 0;
}

int pnft_replace(struct nft *nft, const struct pol_ruleset *rs, const struct pnft_opts *o)
{
	size_t i;

	if (pnft_check_fixed(nft, rs) < 0)
		return nft->err;
	(void)nft_table_del(nft, F, T, NFT_F_DESTROY);
	(void)nft_table_add(nft, F, T, 0);
	for (i = 0; i < NFIXED; i++)
		pnft_set_declare(nft, fixed_sets[i].name, fixed_sets[i].kind);
	for (i = 0; i < rs->nsets; i++)
		if (!pnft_is_fixed(rs->sets[i].name))
			pnft_set_declare(nft, rs->sets[i].name, rs->sets[i].kind);
	for (i = 0; i < rs->nsets; i++)
		if (!pnft_kind_dispatch(rs->sets[i].kind) && rs->sets[i].kind != POL_SET_STAMP)
			(void)set_elems_put(nft, &rs->sets[i]);
	for (i = 0; i < rs->npchains; i++)
		pnft_pchain_build(nft, rs, &rs->pchains[i]);
	for (i = 0; i < rs->ncchains; i++)
		pnft_cchain_build_rs(nft, rs, &rs->cchains[i], o);
	for (i = 0; i < rs->nsets; i++)
		if (pnft_kind_dispatch(rs->sets[i].kind))
			(void)set_elems_put(nft, &rs->sets[i]);
	/* the hooks last: in one transaction it makes no difference, but reads in order */
	base_chain(nft, "egress", NF_IP_PRI_FILTER - 1, true, "egr4", "egr6");
	base_chain(nft, "ingress", NF_IP_PRI_FILTER, false, "ing4", "ing6");
	pnft_stamp_put(nft, rs->stamp);
	return nft->err;
}
