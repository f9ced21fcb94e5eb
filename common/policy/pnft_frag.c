// SPDX-License-Identifier: Apache-2.0
/* One endpoint's part of the policy table (a fragment) added, deleted, checked; an address
 * scrubbed from every set; the stamp, the counters and the class chains' policies read
 * back. Queries go before the batch's messages, so a query's view is the committed table. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "policy/pnft.h"
#include "base/err.h"
#include "base/ip.h"
#include "base/vec.h"
#include "nft/nft.h"
#include "policy/pnft_int.h"
#include "policy/policy.h"

#define T POL_TABLE
#define F NFPROTO_INET
#define ROUNDS 4 /* dumps interrupted by a concurrent change are tried again */

/* --- The chains of the table, sorted by name ----------------------------------------- */

struct chain_row {
	char *name, *comment;
};

struct chains {
	struct chain_row *c;
	size_t n, cap;
};

static void chains_done(struct chains *cs)
{
	for (size_t i = 0; i < cs->n; i++) {
		free(cs->c[i].name);
		free(cs->c[i].comment);
	}
	free(cs->c);
	memset(cs, 0, sizeof(*cs));
}

static int chain_collect(const struct nft_chain_info *c, void *data)
{
	struct chains *cs = data;
	struct chain_row *row;

	if (vec_room(&cs->c, &cs->cap, cs->n, sizeof(*cs->c), 32) < 0)
		return -ENOMEM;
	row = &cs->c[cs->n];
	row->name = strdup(c->name);
	row->comment = strdup(c->comment ? c->comment : "");
	if (!row->name || !row->comment) {
		free(row->name);
		free(row->comment);
		return -ENOMEM;
	}
	cs->n++;
	return 0;
}

static int row_cmp(const void *a, const void *b)
{
	return strcmp(((const struct chain_row *)a)->name, ((const struct chain_row *)b)->name);
}

/* The chains of the table sorted by name. Returns 0, -ENOENT (no table) or -errno. */
static int chains_read(struct nft *nft, struct chains *cs)
{
	int r = 0;

	for (int k = 0; k < ROUNDS; k++) {
		chains_done(cs);
		r = nft_chain_dump(nft, F, T, chain_collect, cs);
		if (r != -EINTR)
			break;
	}
	if (r < 0) {
		chains_done(cs);
		return r;
	}
	if (cs->n)
		qsort(cs->c, cs->n, sizeof(*cs->c), row_cmp);
	return 0;
}

static const struct chain_row *chains_find(const struct chains *cs, const char *name)
{
	struct chain_row key = {.name = (char *)name};

	return cs->n ? bsearch(&key, cs->c, cs->n, sizeof(*cs->c), row_cmp) : NULL;
}

static int comment_cb(const struct nft_chain_info *c, void *data)
{
	snprintf(data, NFT_COMMENT_MAX + 1, "%s", c->comment ? c->comment : "");
	return 0;
}

static int nop_cb(const struct nft_chain_info *c, void *data)
{
	return 0;
}

/* 1 when chain is in the table, 0 when not (or no table), or -errno. One small query: a
 * node with a thousand policies has thousands of chains, a pod's ADD looks at one or two. */
static int chain_exists(struct nft *nft, const char *chain)
{
	int r = nft_chain_get(nft, F, T, chain, nop_cb, NULL);

	if (r == -ENOENT) {
		nft->errmsg[0] = '\0';
		return 0;
	}
	return r < 0 ? r : 1;
}

struct target_comment {
	struct nft *nft;
	char buf[NFT_COMMENT_MAX + 1];
};

/* A class's jump is commented with its policy chain's comment, read from the kernel. */
static const char *kernel_target_comment(const char *target, void *data)
{
	struct target_comment *tc = data;

	tc->buf[0] = '\0';
	if (nft_chain_get(tc->nft, F, T, target, comment_cb, tc->buf) < 0)
		tc->buf[0] = '\0';
	return tc->buf;
}

int pnft_frag_add(struct nft *nft, const struct pol_ruleset *frag, const struct pnft_opts *o)
{
	struct target_comment tc = {.nft = nft};
	int r;

	if (nft->err < 0) /* a query would clear the batch's error message */
		return nft->err;
	for (size_t i = 0; i < frag->ncchains && nft->err >= 0; i++) {
		r = chain_exists(nft, frag->cchains[i].name);
		if (r < 0)
			return nft_batch_fail(nft, r, "read the policy chains");
		if (!r)
			pnft_cchain_build(nft, &frag->cchains[i], o, kernel_target_comment, &tc);
	}
	for (size_t i = 0; i < frag->nsets && nft->err >= 0; i++) {
		const struct pol_set *s = &frag->sets[i];
		struct pnft_elems el = {0};

		if (s->kind == POL_SET_STAMP)
			continue;
		if (pnft_encode(nft, s, s->e, s->n, &el) >= 0)
			(void)pnft_elems_put(nft, s, &el);
		pnft_elems_done(&el);
	}
	return nft->err;
}

int pnft_frag_del(struct nft *nft, const struct pol_ruleset *frag)
{
	for (size_t i = 0; i < frag->nsets && nft->err >= 0; i++) {
		const struct pol_set *s = &frag->sets[i];
		struct pnft_elems el = {0};

		if (s->kind == POL_SET_STAMP)
			continue;
		if (pnft_encode(nft, s, s->e, s->n, &el) >= 0)
			(void)pnft_elems_destroy(nft, s->name, &el);
		pnft_elems_done(&el);
	}
	return nft->err;
}

/* --- Reading elements ----------------------------------------------------------------- */

/* The elements of one set, keys only (and the chain of a dispatch element). */
struct kelems {
	struct nft_elem *e;
	char (*chain)[NFT_NAME_MAXLEN];
	size_t n, cap, ccap;
	char comment[NFT_COMMENT_MAX + 1]; /* of the first element */
};

static void kelems_done(struct kelems *k)
{
	free(k->e);
	free(k->chain);
	memset(k, 0, sizeof(*k));
}

static int kelem_collect(const struct nft_elem *e, void *data)
{
	struct kelems *k = data;

	if (vec_room(&k->e, &k->cap, k->n, sizeof(*k->e), 32) < 0 ||
	    vec_room(&k->chain, &k->ccap, k->n, sizeof(*k->chain), 32) < 0)
		return -ENOMEM;
	if (!k->n && e->comment)
		snprintf(k->comment, sizeof(k->comment), "%s", e->comment);
	k->e[k->n] = *e;
	k->e[k->n].comment = NULL;
	snprintf(k->chain[k->n], sizeof(k->chain[k->n]), "%s", e->chain ? e->chain : "");
	k->e[k->n].chain = NULL;
	k->n++;
	return 0;
}

static int kelems_read(struct nft *nft, const char *set, struct kelems *k)
{
	int r = 0;

	for (int i = 0; i < ROUNDS; i++) {
		kelems_done(k);
		r = nft_set_elems_dump(nft, F, T, set, kelem_collect, k);
		if (r != -EINTR)
			break;
	}
	if (r < 0)
		kelems_done(k);
	return r;
}

static bool kelems_has(const struct kelems *k, const struct nft_elem *e)
{
	unsigned int fl = NFT_ELEM_HAS_KEY_END | NFT_ELEM_INTERVAL_END;

	for (size_t i = 0; i < k->n; i++) {
		const struct nft_elem *x = &k->e[i];

		if (x->key.len != e->key.len || memcmp(x->key.v, e->key.v, e->key.len) ||
		    (x->flags & fl) != (e->flags & fl))
			continue;
		if ((e->flags & NFT_ELEM_HAS_KEY_END) &&
		    (x->key_end.len != e->key_end.len ||
		     memcmp(x->key_end.v, e->key_end.v, e->key_end.len)))
			continue;
		if ((e->flags & NFT_ELEM_HAS_VERDICT) &&
		    (x->verdict != e->verdict || strcmp(k->chain[i], e->chain)))
			continue;
		return true;
	}
	return false;
}

/* "10.0.0.5", "10.0.0.5 . tcp . 80", "tcp . 80-81", "10.0.0.5 : goto ci-x" */
static void elem_fmt(const struct pol_set *s, const struct pol_elem *e, char *out, size_t size)
{
	char a[IP_STRLEN], b[IP_STRLEN];
	const char *proto = e->proto == IPPROTO_TCP    ? "tcp"
			    : e->proto == IPPROTO_UDP  ? "udp"
			    : e->proto == IPPROTO_SCTP ? "sctp"
						       : "?";

	switch (s->kind) {
	case POL_SET_NET4:
	case POL_SET_NET6:
		snprintf(out, size, "%s-%s", ip_fmt(&e->ip, a), ip_fmt(&e->end, b));
		break;
	case POL_SET_PORTS:
		snprintf(out, size, "%s . %u-%u", proto, e->port, e->port_end);
		break;
	case POL_SET_NAMED4:
	case POL_SET_NAMED6:
		snprintf(out, size, "%s . %s . %u", ip_fmt(&e->ip, a), proto, e->port);
		break;
	case POL_SET_DISPATCH4:
	case POL_SET_DISPATCH6:
		snprintf(out, size, "%s : goto %s", ip_fmt(&e->ip, a), e->chain);
		break;
	case POL_SET_STAMP:
		snprintf(out, size, "stamp");
		break;
	default:
		snprintf(out, size, "%s", ip_fmt(&e->ip, a));
	}
}

static int check_missing(const struct pol_set *s, const struct pol_elem *e, struct err *err)
{
	char what[160];

	elem_fmt(s, e, what, sizeof(what));
	return err_fail(err, CNI_ERR_CHECK, -ENOENT, "element %s missing from policy set %s", what,
			s->name);
}

static int check_set_missing(const struct pol_set *s, struct err *err)
{
	return err_fail(err, CNI_ERR_CHECK, -ENOENT, "policy set %s missing from table inet %s",
			s->name, T);
}

/* Interval sets: one dump, each element's start and end looked for in it. */
static int check_dump(struct nft *nft, const struct pol_set *s, struct err *err)
{
	struct kelems k = {0};
	int r = kelems_read(nft, s->name, &k);

	if (r == -ENOENT)
		return check_set_missing(s, err);
	if (r < 0)
		return err_kernel(err, r, nft_errmsg(nft), "read set %s", s->name);
	for (size_t e = 0; e < s->n && r >= 0; e++) {
		struct pnft_elems el = {0};
		bool ok = true;

		r = pnft_encode(nft, s, &s->e[e], 1, &el);
		for (size_t x = 0; r >= 0 && x < el.n && ok; x++)
			ok = kelems_has(&k, &el.e[x]);
		pnft_elems_done(&el);
		if (r < 0)
			r = err_fail(err, CNI_ERR_CHECK, -EINVAL, "%s", nft_errmsg(nft));
		else if (!ok)
			r = check_missing(s, &s->e[e], err);
	}
	kelems_done(&k);
	return r < 0 ? r : 0;
}

static int chain_of(const struct nft_elem *e, void *data)
{
	snprintf(data, NFT_NAME_MAXLEN, "%s", e->chain ? e->chain : "");
	return 0;
}

/* Hash sets and maps: each element looked up by its key. */
static int check_get(struct nft *nft, const struct pol_set *s, struct err *err)
{
	char chain[NFT_NAME_MAXLEN];
	int r = 0;

	for (size_t e = 0; e < s->n && r >= 0; e++) {
		struct pnft_elems el = {0};

		r = pnft_encode(nft, s, &s->e[e], 1, &el);
		if (r < 0) {
			pnft_elems_done(&el);
			return err_fail(err, CNI_ERR_CHECK, -EINVAL, "%s", nft_errmsg(nft));
		}
		chain[0] = '\0';
		r = nft_set_elem_get(nft, F, T, s->name, &el.e[0], chain_of, chain);
		if (r == -ENOENT) {
			pnft_elems_done(&el);
			/* the set itself, or only the element? */
			if (nft_set_exists(nft, F, T, s->name) == 0)
				return check_set_missing(s, err);
			return check_missing(s, &s->e[e], err);
		}
		if (r < 0)
			r = err_kernel(err, r, nft_errmsg(nft), "read set %s", s->name);
		else if (pnft_kind_dispatch(s->kind) && strcmp(chain, s->e[e].chain)) {
			r = check_missing(s, &s->e[e], err);
			err_details(err, "the kernel's element goes to %s", chain);
		}
		pnft_elems_done(&el);
	}
	return r < 0 ? r : 0;
}

int pnft_frag_check(struct nft *nft, const struct pol_ruleset *frag, struct err *err)
{
	int r;

	if (nft_table_exists(nft, F, T) == 0)
		return err_fail(err, CNI_ERR_CHECK, -ENOENT, "table inet %s missing", T);
	for (size_t i = 0; i < frag->ncchains; i++) {
		r = chain_exists(nft, frag->cchains[i].name);
		if (r < 0)
			return err_kernel(err, r, nft_errmsg(nft), "read table inet %s", T);
		if (!r)
			return err_fail(err, CNI_ERR_CHECK, -ENOENT,
					"policy chain %s missing from table inet %s",
					frag->cchains[i].name, T);
	}
	for (size_t i = 0; i < frag->nsets; i++) {
		const struct pol_set *s = &frag->sets[i];

		if (s->kind == POL_SET_STAMP || !s->n)
			continue;
		r = pnft_kind_interval(s->kind) ? check_dump(nft, s, err) : check_get(nft, s, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* --- Scrub ------------------------------------------------------------------------------ */

struct scrub {
	const struct ip_addr *ip;
	struct nft *nft;
	char (*sets)[NFT_NAME_MAXLEN];
	bool *named;
	size_t n, cap, ncap;
};

static int scrub_set_cb(const struct nft_set_info *s, void *data)
{
	struct scrub *sc = data;
	uint32_t at = sc->ip->family == AF_INET ? NFT_TYPE_IPV4 : NFT_TYPE_IPV6;
	uint32_t named = at << 12 | NFT_TYPE_INET_PROTO << 6 | NFT_TYPE_INET_SERVICE;
	bool is_named = s->key_type == named;

	/* address sets and dispatch maps of ip's family (not the ipBlock intervals), and the
	 * named-port sets whose first field is an address of that family */
	if (!is_named && (s->key_type != at || (s->flags & NFT_SET_INTERVAL)))
		return 0;
	if (vec_room(&sc->sets, &sc->cap, sc->n, sizeof(*sc->sets), 16) < 0 ||
	    vec_room(&sc->named, &sc->ncap, sc->n, sizeof(*sc->named), 16) < 0)
		return -ENOMEM;
	snprintf(sc->sets[sc->n], sizeof(sc->sets[sc->n]), "%s", s->name);
	sc->named[sc->n++] = is_named;
	return 0;
}

static int scrub_sets(struct nft *nft, struct scrub *sc)
{
	int r = 0;

	for (int k = 0; k < ROUNDS; k++) {
		sc->n = 0;
		r = nft_set_list(nft, F, T, scrub_set_cb, sc);
		if (r != -EINTR)
			break;
	}
	return r;
}

/* Collects the keys of the elements that start with an address (a named-port set's
 * elements are read whole; only these are kept: such a set may hold every pod's). */
struct ip_match {
	const struct ip_addr *ip;
	unsigned int alen;
	struct pnft_elems *gone;
};

static int ip_match_cb(const struct nft_elem *e, void *data)
{
	struct ip_match *m = data;
	struct nft_elem key = {0};

	if (e->key.len < m->alen || memcmp(e->key.v, m->ip->b, m->alen))
		return 0;
	if (vec_room(&m->gone->e, &m->gone->cap, m->gone->n, sizeof(*m->gone->e), 4) < 0)
		return -ENOMEM;
	key.key = e->key;
	m->gone->e[m->gone->n++] = key;
	return 0;
}

int pnft_scrub_ip(struct nft *nft, const struct ip_addr *ip)
{
	unsigned int alen = ip_bytes(ip->family);
	struct scrub sc = {.ip = ip, .nft = nft};
	struct nft_elem e = {0};
	int r;

	if (nft->err < 0) /* a query would clear the batch's error message */
		return nft->err;
	if (ip->family != AF_INET && ip->family != AF_INET6)
		return nft_batch_fail(nft, -EINVAL, "scrub: no address");
	r = scrub_sets(nft, &sc);
	if (r == -ENOENT) /* no table: nothing to scrub */
		r = 0;
	else if (r < 0)
		r = nft_batch_fail(nft, r, "scrub: list the policy sets");
	nft_data_set(&e.key, ip->b, alen);
	for (size_t i = 0; i < sc.n && r >= 0; i++) {
		struct pnft_elems gone = {0};
		struct ip_match m = {ip, alen, &gone};

		if (!sc.named[i]) {
			r = nft_elems_del(nft, F, T, sc.sets[i], &e, 1, NFT_F_DESTROY);
			continue;
		}
		for (int k = 0; k < ROUNDS; k++) {
			gone.n = 0;
			r = nft_set_elems_dump(nft, F, T, sc.sets[i], ip_match_cb, &m);
			if (r != -EINTR)
				break;
		}
		if (r == -ENOENT) /* deleted since the listing */
			r = 0;
		else if (r >= 0)
			r = pnft_elems_destroy(nft, sc.sets[i], &gone);
		else
			r = nft_batch_fail(nft, r, "scrub: read a named-port set");
		pnft_elems_done(&gone);
	}
	free(sc.sets);
	free(sc.named);
	return r < 0 ? r : nft->err;
}

/* --- Stamp, counters, classes --------------------------------------------------------- */

int pnft_read_stamp(struct nft *nft, char out[POL_STAMP_MAX])
{
	struct kelems k = {0};
	int r;

	out[0] = '\0';
	r = kelems_read(nft, PNFT_STAMP_SET, &k);
	if (r == -ENOENT) { /* no table, or a table without the set */
		r = nft_table_exists(nft, F, T);
		return r;
	}
	if (r < 0)
		return r;
	snprintf(out, POL_STAMP_MAX, "%.*s", POL_STAMP_MAX - 1, k.comment);
	kelems_done(&k);
	return 1;
}

struct counters {
	const struct chains *cs;
	struct pnft_counter *c;
	size_t n, cap;
	char cur[NFT_NAME_MAXLEN]; /* the class chain whose jumps are in policies */
	char policies[1024];
};

static bool chain_is(const char *name, const char *a, const char *b)
{
	return !strncmp(name, a, 3) || !strncmp(name, b, 3);
}

/* Appends the policy of a class chain's jump to c->policies. */
static void class_jump(struct counters *c, const char *target)
{
	const struct chain_row *row = chains_find(c->cs, target);
	size_t l = strlen(c->policies);

	snprintf(c->policies + l, sizeof(c->policies) - l, "%s%s", l ? "," : "",
		 row && *row->comment ? row->comment : target);
}

static int counter_cb(const struct nft_rule_info *r, void *data)
{
	struct counters *c = data;
	struct pnft_counter *row;

	if (strcmp(c->cur, r->chain)) {
		snprintf(c->cur, sizeof(c->cur), "%s", r->chain);
		c->policies[0] = '\0';
	}
	if (chain_is(r->chain, "ci-", "ce-") && r->verdict == NFT_JUMP && r->target) {
		class_jump(c, r->target);
		return 0;
	}
	if (!chain_is(r->chain, "pi-", "pe-") &&
	    !(chain_is(r->chain, "ci-", "ce-") && r->verdict == NF_DROP))
		return 0;
	if (vec_room(&c->c, &c->cap, c->n, sizeof(*c->c), 64) < 0)
		return -ENOMEM;
	row = &c->c[c->n++];
	memset(row, 0, sizeof(*row));
	snprintf(row->chain, sizeof(row->chain), "%s", r->chain);
	if (r->verdict == NF_DROP)
		snprintf(row->comment, sizeof(row->comment), "drop: %.*s",
			 (int)sizeof(row->comment) - 7, c->policies);
	else
		snprintf(row->comment, sizeof(row->comment), "%s", r->comment ? r->comment : "");
	row->packets = r->packets;
	row->bytes = r->bytes;
	return 0;
}

/* Reads the counter rows of chain (NULL: the whole table) into c, again when a ruleset
 * change interrupted the dump. */
static int counters_walk(struct nft *nft, const struct chains *cs, const char *chain,
			 struct counters *c)
{
	int r = -EINTR;

	c->cs = cs;
	for (int k = 0; k < ROUNDS && r == -EINTR; k++) {
		c->n = 0;
		c->cur[0] = '\0';
		r = nft_rule_list(nft, F, T, chain, counter_cb, c);
	}
	return r;
}

int pnft_counters(struct nft *nft, struct pnft_counter **out, size_t *n)
{
	struct chains cs = {0};
	struct counters c = {0};
	int r;

	*out = NULL;
	*n = 0;
	r = chains_read(nft, &cs);
	if (r < 0)
		return r;
	r = counters_walk(nft, &cs, NULL, &c);
	chains_done(&cs);
	if (r < 0) {
		free(c.c);
		return r;
	}
	*out = c.c;
	*n = c.n;
	return 0;
}

int pnft_class_policies(struct nft *nft, const char *class_chain, char *out, size_t size)
{
	struct chains cs = {0};
	struct counters c = {0};
	int r;

	if (size)
		out[0] = '\0';
	r = chains_read(nft, &cs);
	if (r < 0)
		return r;
	r = counters_walk(nft, &cs, class_chain, &c);
	chains_done(&cs);
	free(c.c);
	if (r < 0)
		return r;
	if (size)
		snprintf(out, size, "%s", c.policies);
	return 0;
}
