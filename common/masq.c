// SPDX-License-Identifier: Apache-2.0
/* ipMasq as set elements: `inet sluice_masq` holds sets of pod addresses (pods4/6) and of
 * "pod address . its own subnet" intervals (local4/6); static rules masquerade the first
 * unless the second matches. ADD and DEL change elements only, never the rules. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "ip.h"
#include "masq.h"
#include "nft.h"

enum { S_PODS4, S_PODS6, S_LOCAL4, S_LOCAL6, S_COUNT };

#define MASQ_RULES 6 /* what build_rules() adds */
#define OWNER_MAX NFT_COMMENT_MAX
#define RETRIES 4

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

/* Elements per set: to add, or found by a dump. */
struct elems {
	struct nft_elem *e;
	size_t n, cap;
};

static void elems_done(struct elems *el)
{
	for (int i = 0; i < S_COUNT; i++) {
		free(el[i].e);
		el[i] = (struct elems){0};
	}
}

static int elems_push(struct elems *el, const struct nft_elem *e)
{
	struct nft_elem *p;
	size_t cap;

	if (el->n == el->cap) {
		cap = el->cap ? el->cap * 2 : 8;
		p = realloc(el->e, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		el->e = p;
		el->cap = cap;
	}
	el->e[el->n++] = *e;
	return 0;
}

static int owner_fmt(const char *cid, const char *ifname, char out[OWNER_MAX + 1])
{
	int n;

	if (!cid || !*cid || strchr(cid, '/') ||
	    (ifname && (!*ifname || strchr(ifname, '/') || strlen(ifname) >= IFNAMSIZ)))
		return -EINVAL;
	n = snprintf(out, OWNER_MAX + 1, "%s/%s", cid, ifname ? ifname : "");
	return n > OWNER_MAX ? -ENAMETOOLONG : 0;
}

/* Splits "cid/ifname" in place; returns 0 or -EINVAL when s is not an owner. */
static int owner_parse(char *s, const char **ret_cid, const char **ret_ifname)
{
	char *slash = s ? strrchr(s, '/') : NULL;

	if (!slash || slash == s || !slash[1])
		return -EINVAL;
	*slash = '\0';
	*ret_cid = s;
	*ret_ifname = slash + 1;
	return 0;
}

/* The elements masq_add() adds for one address, into el[]. */
static int addr_elems(const struct ip_prefix *p, const char *owner, struct elems *el)
{
	struct ip_addr net = ip_prefix_network(p), bcast = ip_prefix_broadcast(p);
	unsigned int len = ip_bytes(p->ip.family);
	int v6 = p->ip.family == AF_INET6, r;
	struct nft_elem e = {.comment = owner};

	if ((p->ip.family != AF_INET && !v6) || p->len > ip_bits(p->ip.family))
		return -EINVAL;
	nft_data_set(&e.key, p->ip.b, len);
	r = elems_push(&el[v6 ? S_PODS6 : S_PODS4], &e);
	if (r < 0)
		return r;
	e.key.len = 0;
	nft_data_field(&e.key, p->ip.b, len);
	nft_data_field(&e.key, net.b, len);
	nft_data_field(&e.key_end, p->ip.b, len);
	nft_data_field(&e.key_end, bcast.b, len);
	e.flags = NFT_ELEM_HAS_KEY_END;
	return elems_push(&el[v6 ? S_LOCAL6 : S_LOCAL4], &e);
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

/* The table with its sets, chain and rules; NFT_F_EXCL makes concurrent creators lose
 * with -EEXIST instead of adding a second copy of the rules. */
static void build_table(struct nft *nft)
{
	static const struct nft_chain_def chain = {
		.name = MASQ_CHAIN,
		.type = "nat",
		.hook = NF_INET_POST_ROUTING,
		.prio = 100, /* srcnat */
		.comment = "sluice ipMasq: elements are commented <container id>/<ifname>",
	};

	(void)nft_table_add(nft, NFPROTO_INET, MASQ_TABLE, NFT_F_EXCL);
	for (int i = 0; i < S_COUNT; i++)
		(void)nft_set_add(nft, NFPROTO_INET, MASQ_TABLE, &sets[i], 0);
	(void)nft_chain_add(nft, NFPROTO_INET, MASQ_TABLE, &chain, 0);
	rules_mcast(nft);
	rules_family(nft, 0);
	rules_family(nft, 1);
}

static int send_add(struct nft *nft, struct elems *el, int create)
{
	int i;

	nft_batch_begin(nft);
	if (create)
		build_table(nft);
	for (i = 0; i < S_COUNT; i++) {
		/* Replaces an element left by an attachment whose DEL never came. */
		(void)nft_elems_del(nft, NFPROTO_INET, MASQ_TABLE, sets[i].name, el[i].e, el[i].n,
				    NFT_F_DESTROY);
		(void)nft_elems_add(nft, NFPROTO_INET, MASQ_TABLE, sets[i].name, el[i].e, el[i].n,
				    0);
	}
	return nft_batch_commit(nft);
}

int masq_add(struct nft *nft, const char *cid, const char *ifname, const struct ip_prefix *addrs,
	     size_t n)
{
	struct elems el[S_COUNT] = {0};
	char owner[OWNER_MAX + 1];
	int r, i;

	r = ifname ? owner_fmt(cid, ifname, owner) : -EINVAL;
	if (r == 0 && (n == 0 || n > MASQ_ADDRS_MAX))
		r = -EINVAL;
	for (size_t k = 0; r == 0 && k < n; k++)
		r = addr_elems(&addrs[k], owner, el);
	if (r < 0)
		goto out;
	/* Common path: the table exists and one batch adds the elements. When it does not,
	 * the creators race with NFT_F_EXCL; the losers add their elements to the winner's. */
	for (i = 0; i < RETRIES; i++) {
		r = send_add(nft, el, 0);
		if (r != -ENOENT)
			break;
		r = send_add(nft, el, 1);
		if (r != -EEXIST)
			break;
	}
out:
	elems_done(el);
	return r;
}

/* --- Finding elements by owner -------------------------------------------------------- */

struct sweep {
	struct elems *el; /* the set being dumped */
	int (*match)(const char *comment, void *data);
	void *data;
};

static int sweep_cb(const struct nft_elem *e, void *data)
{
	struct sweep *s = data;
	struct nft_elem copy = *e;

	if (!s->match(e->comment, s->data))
		return 0;
	copy.comment = NULL; /* dumped strings do not outlive the callback */
	copy.chain = NULL;
	return elems_push(s->el, &copy);
}

/* Collects the elements of every set whose comment match() accepts. Returns 0, or -ENOENT
 * when the table is missing, or -errno. */
static int collect(struct nft *nft, struct elems *el, int (*match)(const char *, void *),
		   void *data)
{
	struct sweep s = {NULL, match, data};
	int r = 0, i, t;

	for (t = 0; t < RETRIES; t++) {
		elems_done(el);
		for (i = 0; i < S_COUNT; i++) {
			s.el = &el[i];
			r = nft_set_elems_dump(nft, NFPROTO_INET, MASQ_TABLE, sets[i].name,
					       sweep_cb, &s);
			if (r == -ENOENT && nft_table_exists(nft, NFPROTO_INET, MASQ_TABLE) == 1)
				r = 0; /* the table is there, that set is not: nothing to find */
			if (r < 0)
				break;
		}
		if (r != -EINTR) /* a ruleset change interrupted the dump: start again */
			break;
	}
	return r;
}

/* Destroys the collected elements in one batch; returns how many or -errno. */
static int destroy(struct nft *nft, struct elems *el)
{
	size_t total = 0;
	int i, r;

	nft_batch_begin(nft);
	for (i = 0; i < S_COUNT; i++) {
		(void)nft_elems_del(nft, NFPROTO_INET, MASQ_TABLE, sets[i].name, el[i].e, el[i].n,
				    NFT_F_DESTROY);
		total += el[i].n;
	}
	r = nft_batch_commit(nft);
	if (r == -ENOENT) /* the table went away meanwhile */
		r = 0;
	return r < 0 ? r : (int)total;
}

struct owner_match {
	const char *cid, *ifname;
	bool (*is_valid)(const char *cid, const char *ifname, void *data);
	void *data;
};

/* DEL: the comment names cid (and ifname unless NULL). */
static int match_owner(const char *comment, void *data)
{
	const struct owner_match *m = data;
	char buf[OWNER_MAX + 1];
	const char *cid, *ifname;

	if (!comment || strlen(comment) > OWNER_MAX)
		return 0;
	memcpy(buf, comment, strlen(comment) + 1);
	if (owner_parse(buf, &cid, &ifname) < 0)
		return 0;
	return !strcmp(cid, m->cid) && (!m->ifname || !strcmp(ifname, m->ifname));
}

/* GC: the comment names no valid attachment. */
static int match_invalid(const char *comment, void *data)
{
	const struct owner_match *m = data;
	char buf[OWNER_MAX + 1];
	const char *cid, *ifname;

	if (!comment || strlen(comment) > OWNER_MAX)
		return 1;
	memcpy(buf, comment, strlen(comment) + 1);
	if (owner_parse(buf, &cid, &ifname) < 0)
		return 1;
	return !m->is_valid(cid, ifname, m->data);
}

int masq_del(struct nft *nft, const char *cid, const char *ifname)
{
	struct owner_match m = {.cid = cid, .ifname = ifname};
	struct elems el[S_COUNT] = {0};
	char owner[OWNER_MAX + 1];
	int r;

	r = owner_fmt(cid, ifname, owner);
	if (r < 0)
		return r;
	r = collect(nft, el, match_owner, &m);
	if (r == -ENOENT) {
		nft->errmsg[0] = '\0';
		r = 0;
	} else if (r == 0) {
		r = destroy(nft, el);
	}
	elems_done(el);
	return r < 0 ? r : 0;
}

int masq_gc(struct nft *nft, bool (*is_valid)(const char *cid, const char *ifname, void *data),
	    void *data)
{
	struct owner_match m = {.is_valid = is_valid, .data = data};
	struct elems el[S_COUNT] = {0};
	int r;

	r = collect(nft, el, match_invalid, &m);
	if (r == -ENOENT) {
		nft->errmsg[0] = '\0';
		r = 0;
	} else if (r == 0) {
		r = destroy(nft, el);
	}
	elems_done(el);
	return r;
}

/* --- CHECK ---------------------------------------------------------------------------- */

static int has_elem(const struct elems *have, const struct nft_elem *want)
{
	for (size_t i = 0; i < have->n; i++) {
		const struct nft_elem *e = &have->e[i];

		if (e->key.len == want->key.len && !memcmp(e->key.v, want->key.v, e->key.len) &&
		    (e->flags & NFT_ELEM_HAS_KEY_END) == (want->flags & NFT_ELEM_HAS_KEY_END) &&
		    (!(e->flags & NFT_ELEM_HAS_KEY_END) ||
		     (e->key_end.len == want->key_end.len &&
		      !memcmp(e->key_end.v, want->key_end.v, e->key_end.len))))
			return 1;
	}
	return 0;
}

static int check_elems(struct nft *nft, const struct elems *want, const struct elems *have)
{
	struct ip_addr ip = {0};
	char buf[IP_STRLEN];

	for (int i = 0; i < S_COUNT; i++)
		for (size_t k = 0; k < want[i].n; k++) {
			if (has_elem(&have[i], &want[i].e[k]))
				continue;
			ip.family = i == S_PODS4 || i == S_LOCAL4 ? AF_INET : AF_INET6;
			memcpy(ip.b, want[i].e[k].key.v, ip_bytes(ip.family));
			snprintf(nft->errmsg, sizeof(nft->errmsg),
				 "masq: no element for %s in set %s", ip_fmt(&ip, buf),
				 sets[i].name);
			return -ENOENT;
		}
	return 0;
}

int masq_check(struct nft *nft, const char *cid, const char *ifname, const struct ip_prefix *addrs,
	       size_t n)
{
	struct elems want[S_COUNT] = {0}, have[S_COUNT] = {0};
	struct owner_match m = {.cid = cid, .ifname = ifname};
	char owner[OWNER_MAX + 1];
	int r;

	r = ifname ? owner_fmt(cid, ifname, owner) : -EINVAL;
	for (size_t k = 0; r == 0 && k < n; k++)
		r = addr_elems(&addrs[k], owner, want);
	if (r == 0)
		r = nft_rule_count(nft, NFPROTO_INET, MASQ_TABLE, MASQ_CHAIN);
	if (r >= 0 && r != MASQ_RULES) {
		snprintf(nft->errmsg, sizeof(nft->errmsg), "masq: chain %s has %d rules, not %d",
			 MASQ_CHAIN, r, MASQ_RULES);
		r = -ENOENT;
	}
	if (r >= 0)
		r = collect(nft, have, match_owner, &m);
	if (r == 0)
		r = check_elems(nft, want, have);
	elems_done(want);
	elems_done(have);
	return r;
}
