// SPDX-License-Identifier: Apache-2.0
/* hostPorts as map elements in `inet sluice_portmap`: the chains are static, each packet
 * costs one hash lookup per family whatever the number of mappings, and ADD and DEL change
 * elements only. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_conntrack_tuple_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/rtnetlink.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>

#include "node/hostport.h"
#include "base/name.h"
#include "nft/nft.h"
#include "nft/nft_owned.h"

enum { S_PORTS4, S_PORTS6, S_HOSTIP4, S_HOSTIP6, S_SNAT4, S_SNAT6, S_LOCAL4, S_LOCAL6, S_OWNERS };
#define S_COUNT (S_OWNERS + 1)

#define T HOSTPORT_TABLE
#define CHAIN_DNAT "hostports"
#define DNAT_RULES 4 /* what rules_dnat() adds to CHAIN_DNAT */
#define FNV_A 0xcbf29ce484222325ULL
#define FNV_B 0x84222325cbf29ce4ULL

static const struct nft_set_def sets[S_COUNT] = {
	[S_PORTS4] = {.name = "ports4",
		      .key = {NFT_TYPE_INET_PROTO, NFT_TYPE_INET_SERVICE},
		      .data = {NFT_TYPE_IPV4, NFT_TYPE_INET_SERVICE}},
	[S_PORTS6] = {.name = "ports6",
		      .key = {NFT_TYPE_INET_PROTO, NFT_TYPE_INET_SERVICE},
		      .data = {NFT_TYPE_IPV6, NFT_TYPE_INET_SERVICE}},
	[S_HOSTIP4] = {.name = "hostip4",
		       .key = {NFT_TYPE_IPV4, NFT_TYPE_INET_PROTO, NFT_TYPE_INET_SERVICE},
		       .data = {NFT_TYPE_IPV4, NFT_TYPE_INET_SERVICE}},
	[S_HOSTIP6] = {.name = "hostip6",
		       .key = {NFT_TYPE_IPV6, NFT_TYPE_INET_PROTO, NFT_TYPE_INET_SERVICE},
		       .data = {NFT_TYPE_IPV6, NFT_TYPE_INET_SERVICE}},
	/* container address . protocol . its port . host port (ct original): whom to masquerade */
	[S_SNAT4] = {.name = "snat4",
		     .key = {NFT_TYPE_IPV4, NFT_TYPE_INET_PROTO, NFT_TYPE_INET_SERVICE,
			     NFT_TYPE_INET_SERVICE},
		     .data = {NFT_TYPE_VERDICT}},
	[S_SNAT6] = {.name = "snat6",
		     .key = {NFT_TYPE_IPV6, NFT_TYPE_INET_PROTO, NFT_TYPE_INET_SERVICE,
			     NFT_TYPE_INET_SERVICE},
		     .data = {NFT_TYPE_VERDICT}},
	/* container address . its subnet: a source there comes back without the host (hairpin) */
	[S_LOCAL4] = {.name = "local4",
		      .key = {NFT_TYPE_IPV4, NFT_TYPE_IPV4},
		      .flags = NFT_SET_INTERVAL},
	[S_LOCAL6] = {.name = "local6",
		      .key = {NFT_TYPE_IPV6, NFT_TYPE_IPV6},
		      .flags = NFT_SET_INTERVAL},
	/* one element per attachment with mappings: DEL without them looks here first */
	[S_OWNERS] = {.name = "owners", .key = {NFT_TYPE_MARK, NFT_TYPE_MARK}},
};

static const char *const hairpin_chain[2] = {"hairpin4", "hairpin6"};

/* --- Rules ------------------------------------------------------------------------------ */

/* ct original proto-dst into dreg (nr_ct() has no direction). */
static void ct_orig_proto_dst(struct nft_rule_b *b, uint32_t dreg)
{
	struct nftnl_expr *e;

	if (b->err || !b->r || b->nexpr >= NFT_RULE_EXPR_MAX) {
		b->err = b->err ? b->err : -E2BIG;
		return;
	}
	e = nftnl_expr_alloc("ct");
	if (!e) {
		b->err = -ENOMEM;
		return;
	}
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_PROTO_DST);
	nftnl_expr_set_u8(e, NFTNL_EXPR_CT_DIR, IP_CT_DIR_ORIGINAL);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, dreg);
	nftnl_rule_add_expr(b->r, e);
	b->nexpr++;
}

/* "[ip daddr .] meta l4proto . th dport" into NFT_REG32_00 on: the DNAT lookup key. */
static uint32_t key_dnat(struct nft_rule_b *b, int v6, int hostip)
{
	uint32_t reg = NFT_REG32_00, alen = v6 ? 16 : 4;

	if (hostip) {
		nr_payload(b, NFT_PAYLOAD_NETWORK_HEADER, v6 ? 24 : 16, alen, reg);
		reg = NR_REG_NEXT(reg, alen);
	}
	nr_meta(b, NFT_META_L4PROTO, reg);
	nr_payload_th_dport(b, reg + 1);
	return reg + 2;
}

/* dnat ip[6] to <key> map @ports|hostip (address . port from the map) */
static void rules_dnat(struct nft *nft)
{
	static const int order[4][2] = {{0, 1}, {0, 0}, {1, 1}, {1, 0}}; /* v6, hostip */
	struct nft_rule_b b;

	for (int i = 0; i < 4; i++) {
		int v6 = order[i][0], hostip = order[i][1];
		/* data lands after the key: address, then the port in the next register */
		uint32_t dreg = v6 ? NFT_REG32_08 : NFT_REG32_04;

		nft_rule_begin(&b, NFPROTO_INET, T, CHAIN_DNAT);
		nr_match_nfproto(&b, v6 ? NFPROTO_IPV6 : NFPROTO_IPV4);
		(void)key_dnat(&b, v6, hostip);
		nr_lookup_map(&b, NFT_REG32_00, sets[(hostip ? S_HOSTIP4 : S_PORTS4) + v6].name,
			      dreg);
		nr_nat(&b, NFT_NAT_DNAT, v6 ? NFPROTO_IPV6 : NFPROTO_IPV4, dreg,
		       NR_REG_NEXT(dreg, v6 ? 16 : 4));
		(void)nft_rule_add(nft, &b, 0);
	}
}

/* postrouting: connections we did not DNAT return at once; the others meet snat4/6 by
 * "daddr . l4proto . th dport . ct original proto-dst". */
static void rules_post(struct nft *nft)
{
	static const uint32_t dnat = IPS_DST_NAT, zero = 0;
	struct nft_rule_b b;
	uint32_t reg;

	nft_rule_begin(&b, NFPROTO_INET, T, "postrouting");
	nr_ct(&b, NFT_CT_STATUS, NFT_REG32_00);
	nr_bitwise(&b, NFT_REG32_00, NFT_REG32_00, &dnat, &zero, 4);
	nr_cmp(&b, NFT_CMP_EQ, NFT_REG32_00, &zero, 4);
	nr_verdict(&b, NFT_RETURN, NULL);
	(void)nft_rule_add(nft, &b, 0);
	for (int v6 = 0; v6 < 2; v6++) {
		nft_rule_begin(&b, NFPROTO_INET, T, "postrouting");
		nr_match_nfproto(&b, v6 ? NFPROTO_IPV6 : NFPROTO_IPV4);
		nr_payload(&b, NFT_PAYLOAD_NETWORK_HEADER, v6 ? 24 : 16, v6 ? 16 : 4, NFT_REG32_00);
		reg = NR_REG_NEXT(NFT_REG32_00, v6 ? 16 : 4);
		nr_meta(&b, NFT_META_L4PROTO, reg);
		nr_payload_th_dport(&b, reg + 1);
		ct_orig_proto_dst(&b, reg + 2);
		nr_lookup_map(&b, NFT_REG32_00, sets[S_SNAT4 + v6].name, NFT_REG_VERDICT);
		(void)nft_rule_add(nft, &b, 0);
	}
}

/* hairpin4/6: localhost sources (IPv4 only, see rule_lo6()), and sources in the container's
 * own subnet. */
static void rules_hairpin(struct nft *nft, int v6)
{
	static const uint8_t lo4[4] = {127}, mask4[4] = {0xff}, x4[4];
	uint32_t alen = v6 ? 16 : 4;
	struct nft_rule_b b;

	if (!v6) {
		nft_rule_begin(&b, NFPROTO_INET, T, hairpin_chain[0]);
		nr_match_nfproto(&b, NFPROTO_IPV4); /* lets `nft list` say "ip saddr" */
		nr_payload(&b, NFT_PAYLOAD_NETWORK_HEADER, 12, 4, NFT_REG32_00);
		nr_bitwise(&b, NFT_REG32_00, NFT_REG32_00, mask4, x4, 4);
		nr_cmp(&b, NFT_CMP_EQ, NFT_REG32_00, lo4, 4);
		nr_counter(&b);
		nr_masq(&b, 0);
		nr_comment(&b, "localhost (127.0.0.0/8)");
		(void)nft_rule_add(nft, &b, 0);
	}
	nft_rule_begin(&b, NFPROTO_INET, T, hairpin_chain[v6]);
	nr_match_nfproto(&b, v6 ? NFPROTO_IPV6 : NFPROTO_IPV4);
	nr_payload(&b, NFT_PAYLOAD_NETWORK_HEADER, v6 ? 24 : 16, alen, NFT_REG32_00);
	nr_payload(&b, NFT_PAYLOAD_NETWORK_HEADER, v6 ? 8 : 12, alen,
		   NR_REG_NEXT(NFT_REG32_00, alen));
	nr_lookup(&b, NFT_REG32_00, sets[S_LOCAL4 + v6].name, 0);
	nr_counter(&b);
	nr_masq(&b, 0);
	nr_comment(&b, "hairpin: a source in the container's subnet");
	(void)nft_rule_add(nft, &b, 0);
}

static void base_chain(struct nft *nft, const char *name, uint32_t hook, int32_t prio)
{
	const struct nft_chain_def c = {
		.name = name,
		.type = "nat",
		.hook = hook,
		.prio = prio,
		.comment = "sluice portmap: elements are commented "
			   "<container id>/<ifname>/<network>",
	};

	(void)nft_chain_add(nft, NFPROTO_INET, T, &c, 0);
}

/* ip6 daddr ::1 return: IPv6 has no route_localnet, the kernel drops a reply to ::1 that
 * comes in from a pod, so ::1 is left alone (a connection is refused, not left hanging). */
static void rule_lo6(struct nft *nft)
{
	static const uint8_t lo6[16] = {[15] = 1};
	struct nft_rule_b b;

	nft_rule_begin(&b, NFPROTO_INET, T, "output");
	nr_match_nfproto(&b, NFPROTO_IPV6);
	nr_payload(&b, NFT_PAYLOAD_NETWORK_HEADER, 24, 16, NFT_REG32_00);
	nr_cmp(&b, NFT_CMP_EQ, NFT_REG32_00, lo6, 16);
	nr_verdict(&b, NFT_RETURN, NULL);
	(void)nft_rule_add(nft, &b, 0);
}

/* fib daddr type local jump hostports */
static void rule_local(struct nft *nft, const char *chain)
{
	static const uint32_t local = RTN_LOCAL;
	struct nft_rule_b b;

	nft_rule_begin(&b, NFPROTO_INET, T, chain);
	nr_fib_daddr_type(&b, NFT_REG32_00);
	nr_cmp(&b, NFT_CMP_EQ, NFT_REG32_00, &local, 4);
	nr_verdict(&b, NFT_JUMP, CHAIN_DNAT);
	(void)nft_rule_add(nft, &b, 0);
}

/* The chains and rules, in the batch that creates the table. */
static void build(struct nft *nft)
{
	static const char *const regular[] = {CHAIN_DNAT, "hairpin4", "hairpin6", "masqall"};
	struct nft_rule_b b;

	for (size_t i = 0; i < sizeof(regular) / sizeof(regular[0]); i++) {
		const struct nft_chain_def c = {.name = regular[i]};

		(void)nft_chain_add(nft, NFPROTO_INET, T, &c, 0);
	}
	base_chain(nft, "prerouting", NF_INET_PRE_ROUTING, -100); /* dstnat */
	base_chain(nft, "output", NF_INET_LOCAL_OUT, -100);
	base_chain(nft, "postrouting", NF_INET_POST_ROUTING, 100); /* srcnat */
	rule_local(nft, "prerouting");
	rule_lo6(nft);
	rule_local(nft, "output");
	rules_dnat(nft);
	rules_post(nft);
	rules_hairpin(nft, 0);
	rules_hairpin(nft, 1);
	nft_rule_begin(&b, NFPROTO_INET, T, "masqall");
	nr_counter(&b);
	nr_masq(&b, 0);
	(void)nft_rule_add(nft, &b, 0);
}

/* --- Elements --------------------------------------------------------------------------- */

static const char *proto_name(uint8_t p)
{
	return p == IPPROTO_TCP	   ? "tcp"
	       : p == IPPROTO_UDP  ? "udp"
	       : p == IPPROTO_SCTP ? "sctp"
				   : "?";
}

/* Reads the address of alen bytes at v (a field of 4 or 16 bytes). */
static char *fmt_at(const uint8_t *v, unsigned int alen, char buf[IP_STRLEN])
{
	struct ip_addr a = {.family = alen == 16 ? AF_INET6 : AF_INET};

	memcpy(a.b, v, alen);
	return ip_fmt(&a, buf);
}

/* For CHECK's message: "tcp/8080 -> 10.0.0.5:80", "10.0.0.5 tcp/80 from 8080", ... */
static void describe(const struct nft_elem *e, unsigned int set, char *out, size_t size)
{
	unsigned int alen = set & 1 ? 16 : 4, o = 0;
	const uint8_t *k = e->key.v;
	char a[IP_STRLEN], c[IP_STRLEN], h[IP_STRLEN + 1] = "";

	if (set == S_OWNERS || e->key.len < 8) {
		snprintf(out, size, "of the attachment");
		return;
	}
	if (set == S_LOCAL4 || set == S_LOCAL6) {
		const struct nft_data *end =
			e->flags & NFT_ELEM_HAS_KEY_END ? &e->key_end : &e->key;

		snprintf(out, size, "%s . %s-%s", fmt_at(k, alen, a), fmt_at(k + alen, alen, c),
			 fmt_at(end->v + alen, alen, h));
		return;
	}
	if (set == S_SNAT4 || set == S_SNAT6) {
		snprintf(out, size, "%s %s/%u from host port %u", fmt_at(k, alen, a),
			 proto_name(k[alen]), k[alen + 4] << 8 | k[alen + 5],
			 k[alen + 8] << 8 | k[alen + 9]);
		return;
	}
	if (set == S_HOSTIP4 || set == S_HOSTIP6) {
		snprintf(h, sizeof(h), "%s ", fmt_at(k, alen, a));
		o = alen;
	}
	snprintf(out, size, "%s%s/%u -> %s:%u", h, proto_name(k[o]), k[o + 4] << 8 | k[o + 5],
		 fmt_at(e->data.v, alen, c), e->data.v[alen] << 8 | e->data.v[alen + 1]);
}

const struct nft_owned hostport_owned = {
	.what = "portmap",
	.family = NFPROTO_INET,
	.table = T,
	.sets = sets,
	.nsets = S_COUNT,
	/* a host port is held by one attachment: adding it over another's fails (-EEXIST) */
	.excl = 1U << S_PORTS4 | 1U << S_PORTS6 | 1U << S_HOSTIP4 | 1U << S_HOSTIP6,
	.check_exact = true,
	.chain = CHAIN_DNAT,
	.nrules = DNAT_RULES,
	.build = build,
	.describe = describe,
};

static bool applies(const struct hostport_map *m, int af)
{
	return !m->host_ip.family || m->host_ip.family == af;
}

size_t hostport_expand(const struct hostport_pod *p, struct hostport_map *out)
{
	size_t n = 0;

	for (int v6 = 0; v6 < 2; v6++) {
		int af = v6 ? AF_INET6 : AF_INET;

		for (size_t i = 0; p->ip[v6].ip.family == af && i < p->n; i++) {
			if (!applies(&p->maps[i], af))
				continue;
			out[n] = p->maps[i];
			out[n++].host_ip.family = af;
		}
	}
	return n;
}

/* The DNAT element of m (expanded: host_ip.family set) and, with SNAT, its snat element. */
static int map_elems(const struct hostport_pod *p, const struct hostport_map *m, const char *owner,
		     struct nft_owned_elems *el)
{
	int v6 = m->host_ip.family == AF_INET6, hostip = !ip_is_zero(&m->host_ip), r;
	unsigned int alen = v6 ? 16 : 4;
	uint16_t hp = htons(m->host_port), cp = htons(m->cont_port);
	const uint8_t *cip = p->ip[v6].ip.b;
	struct nft_elem e = {.comment = owner, .flags = NFT_ELEM_HAS_DATA};

	if (hostip)
		nft_data_field(&e.key, m->host_ip.b, alen);
	nft_data_field(&e.key, &m->proto, 1);
	nft_data_field(&e.key, &hp, 2);
	nft_data_field(&e.data, cip, alen);
	nft_data_field(&e.data, &cp, 2);
	r = nft_owned_push(&el[(hostip ? S_HOSTIP4 : S_PORTS4) + v6], &e);
	if (r < 0 || !(p->flags & HOSTPORT_SNAT))
		return r;
	e = (struct nft_elem){.comment = owner, .flags = NFT_ELEM_HAS_VERDICT};
	e.verdict = NFT_GOTO;
	e.chain = p->flags & HOSTPORT_MASQ_ALL ? "masqall" : hairpin_chain[v6];
	nft_data_field(&e.key, cip, alen);
	nft_data_field(&e.key, &m->proto, 1);
	nft_data_field(&e.key, &cp, 2);
	nft_data_field(&e.key, &hp, 2);
	return nft_owned_push(&el[S_SNAT4 + v6], &e);
}

/* "container address . its subnet" for the hairpin rule. */
static int local_elem(const struct ip_prefix *c, const char *owner, struct nft_owned_elems *el)
{
	struct ip_addr net = ip_prefix_network(c), bcast = ip_prefix_broadcast(c);
	int v6 = c->ip.family == AF_INET6;
	unsigned int alen = ip_bytes(c->ip.family);
	struct nft_elem e = {.comment = owner, .flags = NFT_ELEM_HAS_KEY_END};

	nft_data_field(&e.key, c->ip.b, alen);
	nft_data_field(&e.key, net.b, alen);
	nft_data_field(&e.key_end, c->ip.b, alen);
	nft_data_field(&e.key_end, bcast.b, alen);
	return nft_owned_push(&el[S_LOCAL4 + v6], &e);
}

/* The attachment's entry in owners: 64 bits of hash of its owner comment. */
static void owner_key(const char *owner, struct nft_data *key)
{
	uint32_t a = (uint32_t)name_fnv(FNV_A, owner), b = (uint32_t)name_fnv(FNV_B, owner);

	key->len = 0;
	nft_data_field(key, &a, 4);
	nft_data_field(key, &b, 4);
}

static int pod_ok(const struct hostport_pod *p)
{
	if (p->n > HOSTPORT_MAPS_MAX || (p->n && !p->maps))
		return -EINVAL;
	for (int v6 = 0; v6 < 2; v6++)
		if (p->ip[v6].ip.family && (p->ip[v6].ip.family != (v6 ? AF_INET6 : AF_INET) ||
					    p->ip[v6].len > ip_bits(p->ip[v6].ip.family)))
			return -EINVAL;
	return 0;
}

/* Drops the later of two elements with one key (a mapping given twice, or for "" and
 * "0.0.0.0"; parse_maps() refused those that differ): the kernel would refuse the second
 * add of a key held exclusively. The order of the others is kept. */
static int dedupe(struct nft_owned_elems *el)
{
	const struct nft_elem **v;
	bool *drop;
	size_t n = 0;

	if (el->n < 2)
		return 0;
	v = nft_owned_by_key(el);
	drop = calloc(el->n, sizeof(*drop));
	if (!v || !drop) {
		free(v);
		free(drop);
		return -ENOMEM;
	}
	for (size_t i = 1; i < el->n; i++) /* v[i] comes later in el than v[i - 1] */
		if (!nft_owned_key_cmp(&v[i - 1], &v[i]))
			drop[v[i] - el->e] = true;
	for (size_t i = 0; i < el->n; i++)
		if (!drop[i])
			el->e[n++] = el->e[i];
	el->n = n;
	free(v);
	free(drop);
	return 0;
}

/* Every element of p into el[] (emptied by the caller), commented owner. */
static int pod_elems(const struct hostport_pod *p, const char *owner, struct nft_owned_elems *el)
{
	unsigned int hairpin = HOSTPORT_SNAT | HOSTPORT_MASQ_ALL;
	struct nft_elem e = {.comment = owner};
	struct hostport_map *x = NULL;
	bool used[2] = {false, false};
	size_t n;
	int r;

	r = pod_ok(p);
	if (r < 0 || !p->n)
		return r;
	x = malloc(2 * p->n * sizeof(*x));
	if (!x)
		return -ENOMEM;
	n = hostport_expand(p, x);
	for (size_t i = 0; r == 0 && i < n; i++) {
		r = map_elems(p, &x[i], owner, el);
		used[x[i].host_ip.family == AF_INET6] = true;
	}
	free(x);
	for (int v6 = 0; r == 0 && v6 < 2; v6++)
		if (used[v6] && (p->flags & hairpin) == HOSTPORT_SNAT)
			r = local_elem(&p->ip[v6], owner, el);
	if (r == 0 && n) {
		owner_key(owner, &e.key);
		r = nft_owned_push(&el[S_OWNERS], &e);
	}
	for (int i = 0; r == 0 && i < S_COUNT; i++)
		r = dedupe(&el[i]);
	return r;
}

/* The mapping of DNAT element key k of set s (<= S_HOSTIP6), as hostport_expand() has it. */
static void key_map(unsigned int s, const uint8_t *k, struct hostport_map *m)
{
	unsigned int alen = s & 1 ? 16 : 4, o = s >= S_HOSTIP4 ? alen : 0;

	*m = (struct hostport_map){.host_ip.family = s & 1 ? AF_INET6 : AF_INET};
	memcpy(m->host_ip.b, k, o);
	m->proto = k[o];
	m->host_port = (uint16_t)(k[o + 4] << 8 | k[o + 5]);
}

/* Splits an owner comment "<cid>/<ifname>/<network hash>" into h (as far as it goes). */
static void holder_parse(const char *comment, const char *owner, struct hostport_holder *h)
{
	const char *net = strrchr(comment, '/'), *ours = strrchr(owner, '/');
	const char *ifn = net ? memrchr(comment, '/', (size_t)(net - comment)) : NULL;

	if (!ifn) {
		snprintf(h->cid, sizeof(h->cid), "%s", comment);
		return;
	}
	snprintf(h->cid, sizeof(h->cid), "%.*s", (int)(ifn - comment), comment);
	snprintf(h->ifname, sizeof(h->ifname), "%.*s", (int)(net - ifn - 1), ifn + 1);
	h->same_net = ours && !strcmp(net, ours);
}

struct held {
	const struct nft_elem **keys; /* ours in the set dumped, sorted */
	size_t n;
	unsigned int set;
	const char *owner;
	struct nft_owned_elems *ours; /* elements of ours found, per set */
	struct hostport_holder *h;
	bool taken;
};

static int held_cb(const struct nft_elem *e, void *data)
{
	struct held *x = data;
	struct nft_elem copy = *e;

	if (!bsearch(&e, x->keys, x->n, sizeof(*x->keys), nft_owned_key_cmp))
		return 0;
	if (e->comment && !strcmp(e->comment, x->owner)) {
		copy.comment = NULL; /* dumped strings do not outlive the callback */
		copy.chain = NULL;
		return nft_owned_push(&x->ours[x->set], &copy);
	}
	if (!x->taken && e->key.len >= (x->set >= S_HOSTIP4 ? (x->set & 1 ? 16 : 4) : 0) + 8) {
		x->taken = true;
		key_map(x->set, e->key.v, &x->h->map);
		holder_parse(e->comment ? e->comment : "?", x->owner, x->h);
	}
	return 0;
}

/* Who holds el's DNAT keys: -EADDRINUSE with *h filled when another attachment holds one,
 * else 0 with those held by owner itself in ours[] (emptied first). */
static int held_by(struct nft *nft, const char *owner, const struct nft_owned_elems *el,
		   struct nft_owned_elems *ours, struct hostport_holder *h)
{
	struct held x = {.owner = owner, .ours = ours, .h = h};
	int r = 0;

	nft_owned_elems_done(ours, S_COUNT);
	memset(h, 0, sizeof(*h));
	for (x.set = S_PORTS4; r == 0 && !x.taken && x.set <= S_HOSTIP6; x.set++) {
		if (!el[x.set].n)
			continue;
		x.keys = nft_owned_by_key(&el[x.set]);
		x.n = el[x.set].n;
		r = x.keys ? nft_set_elems_dump(nft, NFPROTO_INET, T, sets[x.set].name, held_cb, &x)
			   : -ENOMEM;
		free(x.keys);
	}
	return r < 0 ? r : x.taken ? -EADDRINUSE : 0;
}

int hostport_add(struct nft *nft, const struct hostport_pod *p, struct hostport_holder *ret_holder)
{
	struct nft_owned_elems el[S_COUNT] = {0}, ours[S_COUNT] = {0};
	struct hostport_holder h;
	char owner[NFT_OWNER_MAX + 1];
	int r;

	r = nft_owner_fmt(owner, p->net, p->cid, p->ifname);
	if (r == 0)
		r = pod_elems(p, owner, el);
	/* First as if no key were held (one batch); when one is, what holds it decides: ours
	 * (ADD again) are replaced, another attachment's refuse the ADD. A key taken between
	 * the look and the next batch fails it again, and the look is repeated. */
	for (int i = 0; r == 0 && el[S_OWNERS].n; i++) {
		r = nft_owned_add(nft, &hostport_owned, el, i ? ours : NULL);
		if (r != -EEXIST || i == 4)
			break;
		r = held_by(nft, owner, el, ours, &h);
		if (r == -EINTR) /* the dump met a change: look again */
			r = 0;
		if (r == -EADDRINUSE && ret_holder)
			*ret_holder = h;
	}
	nft_owned_elems_done(el, S_COUNT);
	nft_owned_elems_done(ours, S_COUNT);
	return r;
}

/* --- DEL --------------------------------------------------------------------------------- */

/* 1 when the owners set lists owner, 0 when not (or there is no table), or -errno. */
static int owner_listed(struct nft *nft, const char *owner)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_set_elem *e = nftnl_set_elem_alloc();
	struct nlmsghdr *req;
	struct nft_data key;
	int r;

	if (!s || !e) {
		nftnl_set_free(s);
		nftnl_set_elem_free(e);
		return -ENOMEM;
	}
	owner_key(owner, &key);
	nftnl_set_set_str(s, NFTNL_SET_TABLE, T);
	nftnl_set_set_str(s, NFTNL_SET_NAME, sets[S_OWNERS].name);
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key.v, key.len);
	nftnl_set_elem_add(s, e);
	req = nft_req(nft, NFT_MSG_GETSETELEM, NFPROTO_INET, 0);
	nftnl_set_elems_nlmsg_build_payload(req, s);
	nftnl_set_free(s);
	r = nft_query(nft, req, NULL, NULL);
	if (r == -ENOENT) {
		nft->errmsg[0] = '\0';
		return 0;
	}
	return r < 0 ? r : 1;
}

/* Returns 0, 1 when nothing was removed, or -errno. Host port keys are the only ones two
 * attachments can share: each DNAT element is re-added as it is, then destroyed, so a key
 * that holds other data (another attachment's pod) fails the whole batch with -EEXIST and
 * nothing changes. The other keys hold the pod's own address or owner, and are destroyed as
 * they are, but for the owner's entry, deleted: an attachment whose ADD was refused (or
 * that is gone already) has none, the batch fails with -ENOENT, and nothing changes either
 * (the holder of its host port may have the same pod address, so the same data). */
static int guarded_destroy(struct nft *nft, const struct nft_owned_elems *el)
{
	int r;

	nft_batch_begin(nft);
	for (unsigned int i = 0; i < S_COUNT; i++) {
		if (i <= S_HOSTIP6)
			(void)nft_elems_add(nft, NFPROTO_INET, T, sets[i].name, el[i].e, el[i].n,
					    0);
		(void)nft_elems_del(nft, NFPROTO_INET, T, sets[i].name, el[i].e, el[i].n,
				    i == S_OWNERS ? 0 : NFT_F_DESTROY);
	}
	r = nft_batch_commit(nft);
	if (r == -ENOENT) { /* no table, or not listed in owners: nothing was removed */
		nft->errmsg[0] = '\0';
		r = 1;
	}
	return r;
}

static int match_comment(const struct nft_elem *e, unsigned int set, void *owner)
{
	return e->comment && !strcmp(e->comment, owner);
}

/* The mappings of the DNAT elements in el, for the caller's conntrack flush. */
static int removed(const struct nft_owned_elems *el, struct hostport_map **ret, size_t *ret_n)
{
	size_t n = 0, total = el[S_PORTS4].n + el[S_PORTS6].n + el[S_HOSTIP4].n + el[S_HOSTIP6].n;
	struct hostport_map *x = calloc(total ? total : 1, sizeof(*x));

	if (!x)
		return -ENOMEM;
	for (unsigned int s = S_PORTS4; s <= S_HOSTIP6; s++) {
		unsigned int alen = s & 1 ? 16 : 4, o = s >= S_HOSTIP4 ? alen : 0;

		for (size_t i = 0; i < el[s].n; i++) {
			const uint8_t *k = el[s].e[i].key.v, *d = el[s].e[i].data.v;
			struct hostport_map *m = &x[n];

			if (el[s].e[i].key.len < o + 8 || el[s].e[i].data.len < alen + 4)
				continue;
			m->host_ip.family = s & 1 ? AF_INET6 : AF_INET;
			memcpy(m->host_ip.b, k, o);
			m->proto = k[o];
			m->host_port = (uint16_t)(k[o + 4] << 8 | k[o + 5]);
			m->cont_port = (uint16_t)(d[alen] << 8 | d[alen + 1]);
			n++;
		}
	}
	*ret = x;
	*ret_n = n;
	return 0;
}

/* By comments: every element of the attachment, from a dump of each set. */
static int destroy_owned(struct nft *nft, const char *owner, struct nft_owned_elems *el)
{
	int r;

	nft->errmsg[0] = '\0';
	r = nft_owned_collect(nft, &hostport_owned, el, match_comment, (void *)owner);
	if (r == -ENOENT) {
		nft->errmsg[0] = '\0';
		return 0;
	}
	if (r == 0)
		r = nft_owned_destroy(nft, &hostport_owned, el);
	return r < 0 ? r : 0;
}

int hostport_del(struct nft *nft, const struct hostport_pod *p, struct hostport_map **ret_removed,
		 size_t *ret_n)
{
	struct nft_owned_elems el[S_COUNT] = {0};
	struct hostport_pod all = *p;
	char owner[NFT_OWNER_MAX + 1];
	int r;

	*ret_removed = NULL;
	*ret_n = 0;
	/* every key ADD may have added, whatever snat and masqAll say now */
	all.flags = HOSTPORT_SNAT;
	r = nft_owner_fmt(owner, p->net, p->cid, p->ifname);
	if (r == 0)
		r = pod_elems(&all, owner, el);
	if (r < 0)
		goto out;
	if (el[S_OWNERS].n) {
		r = guarded_destroy(nft, el);
		if (r == -EEXIST || r == -ENOTEMPTY) /* a key holds other data: go by owner */
			r = destroy_owned(nft, owner, el);
		if (r == 1) { /* its host ports are not its own: no conntrack flush either */
			nft_owned_elems_done(el, S_COUNT);
			r = 0;
		}
	} else {
		r = owner_listed(nft, owner);
		if (r > 0)
			r = destroy_owned(nft, owner, el);
	}
	if (r == 0)
		r = removed(el, ret_removed, ret_n);
out:
	nft_owned_elems_done(el, S_COUNT);
	return r;
}

int hostport_check(struct nft *nft, const struct hostport_pod *p)
{
	struct nft_owned_elems want[S_COUNT] = {0};
	char owner[NFT_OWNER_MAX + 1];
	int r;

	r = nft_owner_fmt(owner, p->net, p->cid, p->ifname);
	if (r == 0)
		r = pod_elems(p, owner, want);
	if (r == 0)
		r = nft_owned_check(nft, &hostport_owned, p->net, p->cid, p->ifname, want);
	nft_owned_elems_done(want, S_COUNT);
	return r;
}

int hostport_gc(struct nft *nft, const char *net,
		bool (*is_valid)(const char *cid, const char *ifname, void *data), void *data)
{
	return nft_owned_gc(nft, &hostport_owned, net, is_valid, data);
}
