// SPDX-License-Identifier: Apache-2.0
/* flanneld's --ip-masq rules (pkg/trafficmngr: the FLANNEL-POSTRTG chain) in
 * `inet sluice_overlay`, one nat postrouting chain at srcnat, per family:
 *   saddr @net  daddr @net                  return       pod to pod keeps its address
 *   saddr @net  daddr != multicast          masquerade   pods leaving the cluster network
 *   saddr != @net  daddr @subnet            return       the world to this node's pods
 *   saddr != @net  daddr @net               masquerade   the host to other nodes' pods
 * The networks are elements of interval sets (net4, subnet4, net6, subnet6; a family
 * without a network has empty sets, so its rules match nothing): the table is created once
 * and a changed lease or network is an element change, one batch. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>

#include "overlay/omasq.h"
#include "base/err.h"
#include "base/ip.h"
#include "nft/nft.h"

#define CHAIN "postrouting"
#define RULES 8 /* what build_chain() adds */
#define ROUNDS 4
#define ELEMS_MAX 16 /* per set: one network is two elements; more is someone else's doing */

enum { S_NET4, S_SUBNET4, S_NET6, S_SUBNET6, S_COUNT };

static const struct nft_set_def sets[S_COUNT] = {
	[S_NET4] = {.name = "net4", .key = {NFT_TYPE_IPV4}, .flags = NFT_SET_INTERVAL},
	[S_SUBNET4] = {.name = "subnet4", .key = {NFT_TYPE_IPV4}, .flags = NFT_SET_INTERVAL},
	[S_NET6] = {.name = "net6", .key = {NFT_TYPE_IPV6}, .flags = NFT_SET_INTERVAL},
	[S_SUBNET6] = {.name = "subnet6", .key = {NFT_TYPE_IPV6}, .flags = NFT_SET_INTERVAL},
};

struct elems {
	struct nft_elem e[ELEMS_MAX];
	size_t n;
};

/* --- Elements ------------------------------------------------------------------------ */

/* A prefix as an interval: its network address, and the address after its last one
 * flagged as the interval's end (none when the prefix reaches the top of the space). */
static void prefix_elems(const struct ip_prefix *p, struct elems *out)
{
	struct ip_addr start = ip_prefix_network(p), end = ip_prefix_broadcast(p);
	unsigned int len = ip_bytes(p->ip.family);
	struct nft_elem e = {0};

	nft_data_set(&e.key, start.b, len);
	out->e[out->n++] = e;
	ip_next(&end);
	if (ip_is_zero(&end)) /* wrapped around */
		return;
	nft_data_set(&e.key, end.b, len);
	e.flags = NFT_ELEM_INTERVAL_END;
	out->e[out->n++] = e;
}

static const struct ip_prefix *set_prefix(const struct omasq_nets *n, unsigned int set)
{
	switch (set) {
	case S_NET4:
		return &n->network;
	case S_SUBNET4:
		return &n->subnet;
	case S_NET6:
		return &n->network6;
	default:
		return &n->subnet6;
	}
}

static const char *set_what(unsigned int set)
{
	return set == S_NET4 || set == S_NET6 ? "cluster network" : "node subnet";
}

static int validate(const struct omasq_nets *n, struct err *err)
{
	for (unsigned int i = 0; i < S_COUNT; i++) {
		const struct ip_prefix *p = set_prefix(n, i);
		int fam = i < S_NET6 ? AF_INET : AF_INET6;

		/* a family without a network: its subnet does not matter */
		if (set_prefix(n, i < S_NET6 ? S_NET4 : S_NET6)->ip.family == 0)
			continue;
		if (p->ip.family != fam || p->len > ip_bits(fam))
			return err_fail(err, CNI_ERR_CONFIG, -EINVAL,
					"overlay masquerade: invalid or missing %s %s",
					fam == AF_INET ? "IPv4" : "IPv6", set_what(i));
	}
	return 0;
}

/* The elements n wants in each set. A subnet without its network has no elements: the
 * rules need both. */
static void want_elems(const struct omasq_nets *n, struct elems want[S_COUNT])
{
	for (unsigned int i = 0; i < S_COUNT; i++) {
		const struct ip_prefix *net = set_prefix(n, i < S_NET6 ? S_NET4 : S_NET6);

		want[i].n = 0;
		if (net->ip.family)
			prefix_elems(set_prefix(n, i), &want[i]);
	}
}

static bool elem_eq(const struct nft_elem *a, const struct nft_elem *b)
{
	return a->key.len == b->key.len && !memcmp(a->key.v, b->key.v, a->key.len) &&
	       (a->flags & NFT_ELEM_INTERVAL_END) == (b->flags & NFT_ELEM_INTERVAL_END);
}

static bool has(const struct elems *l, const struct nft_elem *e)
{
	for (size_t i = 0; i < l->n; i++)
		if (elem_eq(&l->e[i], e))
			return true;
	return false;
}

static int collect(const struct nft_elem *e, void *data)
{
	struct elems *l = data;
	struct nft_elem copy = {.flags = e->flags & NFT_ELEM_INTERVAL_END, .key = e->key};

	if (l->n == ELEMS_MAX)
		return -E2BIG;
	l->e[l->n++] = copy;
	return 0;
}

/* The elements of every set. Returns 0, -ENOENT when the table or a set is missing, or
 * -errno. */
static int read_elems(struct nft *nft, struct elems have[S_COUNT])
{
	int r = 0;

	for (int k = 0; k < ROUNDS; k++) {
		for (unsigned int i = 0; i < S_COUNT; i++) {
			have[i].n = 0;
			r = nft_set_elems_dump(nft, NFPROTO_INET, OMASQ_TABLE, sets[i].name,
					       collect, &have[i]);
			if (r < 0)
				break;
		}
		if (r != -EINTR) /* a ruleset change interrupted the dump: again */
			break;
	}
	return r;
}

/* "10.244.0.0/16" for an interval that is a prefix, else "a-b", in address order;
 * "nothing" for none. */
static void describe(const struct elems *in, int family, char *out, size_t size)
{
	unsigned int bytes = ip_bytes(family), bits = ip_bits(family);
	char a[IP_STRLEN], b[IP_STRLEN];
	struct elems sorted = *in, *l = &sorted;
	size_t used = 0;

	for (size_t i = 1; i < l->n; i++) /* a handful: insertion sort */
		for (size_t k = i; k > 0 && memcmp(l->e[k - 1].key.v, l->e[k].key.v, bytes) > 0;
		     k--) {
			struct nft_elem t = l->e[k];

			l->e[k] = l->e[k - 1];
			l->e[k - 1] = t;
		}

	snprintf(out, size, "nothing");
	for (size_t i = 0; i < l->n; i++) {
		struct ip_addr s = {.family = family}, e;
		struct ip_prefix p = {.ip = s};
		bool found = false;

		if (l->e[i].flags & NFT_ELEM_INTERVAL_END)
			continue;
		memcpy(s.b, l->e[i].key.v, bytes);
		memset(e.b, 0xff, sizeof(e.b));
		e.family = family;
		/* the interval's end: the smallest end element above its start */
		for (size_t k = 0; k < l->n; k++) {
			struct ip_addr x = {.family = family};

			if (!(l->e[k].flags & NFT_ELEM_INTERVAL_END))
				continue;
			memcpy(x.b, l->e[k].key.v, bytes);
			if (ip_cmp(&x, &s) > 0 && (!found || ip_cmp(&x, &e) <= 0)) {
				e = x;
				found = true;
			}
		}
		if (found)
			ip_prev(&e);
		p.ip = s;
		for (p.len = 0; p.len <= bits; p.len++) {
			struct ip_addr nw = ip_prefix_network(&p), bc = ip_prefix_broadcast(&p);

			if (ip_eq(&nw, &s) && ip_eq(&bc, &e))
				break;
		}
		if (p.len <= bits)
			used += (size_t)snprintf(out + used, size - used, "%s%s", used ? ", " : "",
						 ip_prefix_fmt(&p, a));
		else
			used += (size_t)snprintf(out + used, size - used, "%s%s-%s",
						 used ? ", " : "", ip_fmt(&s, a), ip_fmt(&e, b));
		if (used >= size)
			break;
	}
}

/* --- The table ----------------------------------------------------------------------- */

static void nr_saddr(struct nft_rule_b *b, int v6)
{
	nr_payload(b, NFT_PAYLOAD_NETWORK_HEADER, v6 ? 8 : 12, v6 ? 16 : 4, NFT_REG32_00);
}

static void nr_daddr(struct nft_rule_b *b, int v6)
{
	nr_payload(b, NFT_PAYLOAD_NETWORK_HEADER, v6 ? 24 : 16, v6 ? 16 : 4, NFT_REG32_00);
}

static void rule_begin(struct nft_rule_b *b, int v6)
{
	nft_rule_begin(b, NFPROTO_INET, OMASQ_TABLE, CHAIN);
	nr_match_nfproto(b, v6 ? NFPROTO_IPV6 : NFPROTO_IPV4);
}

/* The four rules of one family, in flanneld's order. */
static void rules_family(struct nft *nft, int v6)
{
	static const uint8_t mask[4] = {0xf0}, mcast[4] = {0xe0}, zero[4] = {0}, ff = 0xff;
	const char *net = sets[v6 ? S_NET6 : S_NET4].name;
	const char *subnet = sets[v6 ? S_SUBNET6 : S_SUBNET4].name;
	/* like flanneld's --random-fully: no port guesses colliding across nodes */
	const uint32_t masq = NF_NAT_RANGE_PROTO_RANDOM_FULLY;
	struct nft_rule_b b;

	rule_begin(&b, v6);
	nr_saddr(&b, v6);
	nr_lookup(&b, NFT_REG32_00, net, 0);
	nr_daddr(&b, v6);
	nr_lookup(&b, NFT_REG32_00, net, 0);
	nr_verdict(&b, NFT_RETURN, NULL);
	nr_comment(&b, "pod to pod: not masqueraded");
	(void)nft_rule_add(nft, &b, 0);

	rule_begin(&b, v6);
	nr_saddr(&b, v6);
	nr_lookup(&b, NFT_REG32_00, net, 0);
	if (v6) { /* ip6 daddr != ff00::/8 */
		nr_payload(&b, NFT_PAYLOAD_NETWORK_HEADER, 24, 1, NFT_REG32_00);
		nr_cmp(&b, NFT_CMP_NEQ, NFT_REG32_00, &ff, 1);
	} else { /* ip daddr != 224.0.0.0/4 */
		nr_daddr(&b, v6);
		nr_bitwise(&b, NFT_REG32_00, NFT_REG32_00, mask, zero, 4);
		nr_cmp(&b, NFT_CMP_NEQ, NFT_REG32_00, mcast, 4);
	}
	nr_counter(&b);
	nr_masq(&b, masq);
	nr_comment(&b, "pods leaving the cluster network");
	(void)nft_rule_add(nft, &b, 0);

	rule_begin(&b, v6);
	nr_saddr(&b, v6);
	nr_lookup(&b, NFT_REG32_00, net, NFT_LOOKUP_F_INV);
	nr_daddr(&b, v6);
	nr_lookup(&b, NFT_REG32_00, subnet, 0);
	nr_verdict(&b, NFT_RETURN, NULL);
	nr_comment(&b, "to this node's pods: not masqueraded");
	(void)nft_rule_add(nft, &b, 0);

	rule_begin(&b, v6);
	nr_saddr(&b, v6);
	nr_lookup(&b, NFT_REG32_00, net, NFT_LOOKUP_F_INV);
	nr_daddr(&b, v6);
	nr_lookup(&b, NFT_REG32_00, net, 0);
	nr_counter(&b);
	nr_masq(&b, masq);
	nr_comment(&b, "to other nodes' pods from outside the cluster network");
	(void)nft_rule_add(nft, &b, 0);
}

/* Appends the table (NFT_F_EXCL), its sets and chain, the rules and want's elements. */
static void build_table(struct nft *nft, const struct elems want[S_COUNT])
{
	static const struct nft_chain_def chain = {
		.name = CHAIN,
		.type = "nat",
		.hook = NF_INET_POST_ROUTING,
		.prio = 100, /* srcnat */
		.comment = "sluice overlay masquerade (flanneld --ip-masq)",
	};

	(void)nft_table_add(nft, NFPROTO_INET, OMASQ_TABLE, NFT_F_EXCL);
	for (unsigned int i = 0; i < S_COUNT; i++)
		(void)nft_set_add(nft, NFPROTO_INET, OMASQ_TABLE, &sets[i], 0);
	(void)nft_chain_add(nft, NFPROTO_INET, OMASQ_TABLE, &chain, 0);
	rules_family(nft, 0);
	rules_family(nft, 1);
	for (unsigned int i = 0; i < S_COUNT; i++)
		(void)nft_elems_add(nft, NFPROTO_INET, OMASQ_TABLE, sets[i].name, want[i].e,
				    want[i].n, 0);
}

int omasq_validate(const struct omasq_nets *n, struct err *err)
{
	return validate(n, err);
}

int omasq_build(struct nft *nft, const struct omasq_nets *n, struct err *err)
{
	struct elems want[S_COUNT];
	int r;

	if ((r = validate(n, err)) < 0)
		return r;
	want_elems(n, want);
	nft_batch_begin(nft);
	build_table(nft, want);
	return 0;
}

/* Creates the table; replace: deletes a broken one first, in the same batch. Returns 1,
 * -EEXIST when a concurrent caller created it first, or -errno. */
static int create(struct nft *nft, const struct elems want[S_COUNT], bool replace, struct err *err)
{
	int r;

	nft_batch_begin(nft);
	if (replace)
		(void)nft_table_del(nft, NFPROTO_INET, OMASQ_TABLE, NFT_F_DESTROY);
	build_table(nft, want);
	r = nft_batch_commit(nft);
	if (r == -EEXIST)
		return r;
	if (r < 0)
		return err_kernel(err, r, nft_errmsg(nft), "create table inet %s", OMASQ_TABLE);
	return 1;
}

/* One batch: the elements in have but not in want go, those missing come. Returns 1, 0
 * when nothing differs, or -errno (-ENOENT: the table went away meanwhile). */
static int fix_elems(struct nft *nft, const struct elems want[S_COUNT],
		     const struct elems have[S_COUNT], struct err *err)
{
	bool changed = false;
	int r;

	nft_batch_begin(nft);
	for (unsigned int i = 0; i < S_COUNT; i++)
		for (size_t k = 0; k < have[i].n; k++)
			if (!has(&want[i], &have[i].e[k])) {
				(void)nft_elems_del(nft, NFPROTO_INET, OMASQ_TABLE, sets[i].name,
						    &have[i].e[k], 1, NFT_F_DESTROY);
				changed = true;
			}
	for (unsigned int i = 0; i < S_COUNT; i++)
		for (size_t k = 0; k < want[i].n; k++)
			if (!has(&have[i], &want[i].e[k])) {
				(void)nft_elems_add(nft, NFPROTO_INET, OMASQ_TABLE, sets[i].name,
						    &want[i].e[k], 1, 0);
				changed = true;
			}
	if (!changed)
		return 0;
	r = nft_batch_commit(nft);
	if (r == -ENOENT)
		return r;
	if (r < 0)
		return err_kernel(err, r, nft_errmsg(nft), "update the networks in table inet %s",
				  OMASQ_TABLE);
	return 1;
}

int omasq_ensure(struct nft *nft, const struct omasq_nets *n, struct err *err)
{
	struct elems want[S_COUNT], have[S_COUNT];
	int r;

	if ((r = validate(n, err)) < 0)
		return r;
	want_elems(n, want);
	for (int round = 0; round < ROUNDS; round++) {
		r = read_elems(nft, have);
		if (r == -E2BIG) /* a set filled by someone else: the table is ours */
			return create(nft, want, true, err);
		if (r == 0) {
			r = nft_rule_count(nft, NFPROTO_INET, OMASQ_TABLE, CHAIN);
			if (r == RULES) {
				r = fix_elems(nft, want, have, err);
				if (r == -ENOENT)
					continue; /* deleted meanwhile: create it */
				return r;
			}
			if (r >= 0 || r == -ENOENT) /* rules or chain gone: the table is ours */
				return create(nft, want, true, err);
		}
		if (r != -ENOENT)
			return err_kernel(err, r, nft_errmsg(nft), "read table inet %s",
					  OMASQ_TABLE);
		r = nft_table_exists(nft, NFPROTO_INET, OMASQ_TABLE);
		if (r < 0)
			return err_kernel(err, r, nft_errmsg(nft), "look up table inet %s",
					  OMASQ_TABLE);
		/* no table: race to create it (the loser reads the winner's); a table
		 * without one of its sets is broken: replaced */
		r = create(nft, want, r == 1, err);
		if (r != -EEXIST)
			return r;
	}
	return err_fail(err, CNI_ERR_KERNEL, -EAGAIN,
			"table inet %s keeps changing: %d rounds of reading and creating",
			OMASQ_TABLE, ROUNDS);
}

int omasq_check(struct nft *nft, const struct omasq_nets *n, struct err *err)
{
	struct elems want[S_COUNT], have[S_COUNT];
	char w[160], h[160];
	int r;

	if ((r = validate(n, err)) < 0)
		return r;
	want_elems(n, want);
	r = nft_table_exists(nft, NFPROTO_INET, OMASQ_TABLE);
	if (r == 0)
		return err_fail(err, CNI_ERR_CHECK, -ENOENT, "table inet %s is missing",
				OMASQ_TABLE);
	if (r > 0)
		r = nft_rule_count(nft, NFPROTO_INET, OMASQ_TABLE, CHAIN);
	if (r == -ENOENT)
		return err_fail(err, CNI_ERR_CHECK, -EINVAL, "table inet %s: chain %s is missing",
				OMASQ_TABLE, CHAIN);
	if (r >= 0 && r != RULES)
		return err_fail(err, CNI_ERR_CHECK, -EINVAL,
				"table inet %s: chain %s has %d rules, not %d", OMASQ_TABLE, CHAIN,
				r, RULES);
	if (r >= 0)
		r = read_elems(nft, have);
	if (r == -ENOENT)
		return err_fail(err, CNI_ERR_CHECK, -EINVAL, "table inet %s: a set is missing",
				OMASQ_TABLE);
	if (r == -E2BIG)
		return err_fail(err, CNI_ERR_CHECK, -EINVAL,
				"table inet %s: a set holds more than %d elements", OMASQ_TABLE,
				ELEMS_MAX);
	if (r < 0)
		return err_kernel(err, r, nft_errmsg(nft), "read table inet %s", OMASQ_TABLE);
	for (unsigned int i = 0; i < S_COUNT; i++) {
		bool same = want[i].n == have[i].n;
		int fam = i < S_NET6 ? AF_INET : AF_INET6;

		for (size_t k = 0; same && k < want[i].n; k++)
			same = has(&have[i], &want[i].e[k]);
		if (same)
			continue;
		describe(&have[i], fam, h, sizeof(h));
		describe(&want[i], fam, w, sizeof(w));
		return err_fail(err, CNI_ERR_CHECK, -EINVAL,
				"table inet %s: set %s (%s) holds %s, not %s", OMASQ_TABLE,
				sets[i].name, set_what(i), h, w);
	}
	return 0;
}

int omasq_del(struct nft *nft, struct err *err)
{
	int r = nft_table_exists(nft, NFPROTO_INET, OMASQ_TABLE);

	if (r <= 0) {
		if (r < 0)
			return err_kernel(err, r, nft_errmsg(nft), "look up table inet %s",
					  OMASQ_TABLE);
		return 0;
	}
	nft_batch_begin(nft);
	(void)nft_table_del(nft, NFPROTO_INET, OMASQ_TABLE, NFT_F_DESTROY);
	r = nft_batch_commit(nft);
	if (r < 0)
		return err_kernel(err, r, nft_errmsg(nft), "delete table inet %s", OMASQ_TABLE);
	return 1;
}
