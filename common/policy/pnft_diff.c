// SPDX-License-Identifier: Apache-2.0
/* The policy table changed by difference (pnft_diff): from the ruleset in force to the new
 * one in one batch, touching only what changed, every step valid for the kernel. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "policy/pnft.h"
#include "base/ip.h"
#include "nft/nft.h"
#include "policy/pnft_int.h"
#include "policy/policy.h"

#define T POL_TABLE
#define F NFPROTO_INET

/* --- Difference ----------------------------------------------------------------------- */

/* Name-sorted views of a ruleset's sets and chains (the ruleset's own order is not relied
 * on), for merging old and new. */
struct index {
	const void **p;
	size_t n;
};

static int name_cmp(const void *a, const void *b)
{
	/* every indexed struct starts with its name */
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int index_build(struct index *ix, const void *base, size_t n, size_t size)
{
	ix->n = n;
	ix->p = malloc((n ? n : 1) * sizeof(*ix->p));
	if (!ix->p)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		ix->p[i] = (const char *)base + i * size;
	qsort(ix->p, n, sizeof(*ix->p), name_cmp);
	return 0;
}

static const void *index_find(const struct index *ix, const char *name)
{
	const void **hit;
	const char *key = name;
	const void *kp = key;

	/* the struct's first bytes are its name: compare against a pointer to the name */
	hit = bsearch(&kp, ix->p, ix->n, sizeof(*ix->p), name_cmp);
	return hit ? *hit : NULL;
}

static bool elems_eq(const struct nft_elem *a, const struct nft_elem *b)
{
	return a->flags == b->flags && a->key.len == b->key.len &&
	       !memcmp(a->key.v, b->key.v, a->key.len) &&
	       (!(a->flags & NFT_ELEM_HAS_KEY_END) ||
		(a->key_end.len == b->key_end.len &&
		 !memcmp(a->key_end.v, b->key_end.v, a->key_end.len))) &&
	       (!(a->flags & NFT_ELEM_HAS_VERDICT) ||
		(a->verdict == b->verdict && !strcmp(a->chain, b->chain)));
}

static int key_cmp(const void *a, const void *b)
{
	const struct nft_elem *x = a, *y = b;

	if (x->key.len != y->key.len)
		return x->key.len < y->key.len ? -1 : 1;
	return memcmp(x->key.v, y->key.v, x->key.len);
}

/* Element changes of a set in both rulesets. Interval sets that changed are emptied and
 * filled again (their ranges are merged, so one range of the ruleset is not one element);
 * dispatch elements whose chain changed are replaced (in the dispatch phase); the rest by
 * key. Appends the adds (add) or the removals (!add). */
static bool addr_same(const struct ip_addr *a, const struct ip_addr *b)
{
	return a->family == b->family && (!a->family || !memcmp(a->b, b->b, ip_bytes(a->family)));
}

/* The fields of elements of kind that reach the kernel, equal. */
static bool pol_elem_same(enum pol_set_kind kind, const struct pol_elem *a,
			  const struct pol_elem *b)
{
	switch (kind) {
	case POL_SET_NET4:
	case POL_SET_NET6:
		return addr_same(&a->ip, &b->ip) && addr_same(&a->end, &b->end);
	case POL_SET_PORTS:
		return a->proto == b->proto && a->port == b->port && a->port_end == b->port_end;
	case POL_SET_NAMED4:
	case POL_SET_NAMED6:
		return addr_same(&a->ip, &b->ip) && a->proto == b->proto && a->port == b->port;
	case POL_SET_DISPATCH4:
	case POL_SET_DISPATCH6:
		return addr_same(&a->ip, &b->ip) && !strcmp(a->chain, b->chain);
	case POL_SET_STAMP:
		return true;
	default:
		return addr_same(&a->ip, &b->ip);
	}
}

static int set_diff(struct nft *nft, const struct pol_set *os, const struct pol_set *ns, bool add)
{
	struct pnft_elems a = {0}, b = {0}, put = {0}, gone = {0};
	size_t i = 0, k = 0;
	int r, c;

	/* the usual case, a set the change did not touch: the same elements in the same order
	 * (the renderer sorts them), found without encoding and sorting both */
	if (os->kind == ns->kind && os->n == ns->n) {
		while (i < os->n && pol_elem_same(ns->kind, &os->e[i], &ns->e[i]))
			i++;
		if (i == os->n)
			return 0;
		i = 0;
	}
	r = pnft_encode(nft, os, os->e, os->n, &a);
	if (r >= 0)
		r = pnft_encode(nft, ns, ns->e, ns->n, &b);
	if (r < 0)
		goto out;
	if (pnft_kind_interval(ns->kind)) {
		bool same = a.n == b.n;

		for (i = 0; same && i < a.n; i++)
			same = elems_eq(&a.e[i], &b.e[i]);
		if (!same && add) {
			(void)nft_set_flush(nft, F, T, ns->name);
			r = nft_elems_add(nft, F, T, ns->name, b.e, b.n, 0);
		}
		goto out;
	}
	if (a.n) /* qsort() of an empty array: its pointer may be NULL */
		qsort(a.e, a.n, sizeof(*a.e), key_cmp);
	if (b.n)
		qsort(b.e, b.n, sizeof(*b.e), key_cmp);
	while ((i < a.n || k < b.n) && r >= 0) {
		c = i == a.n ? 1 : k == b.n ? -1 : key_cmp(&a.e[i], &b.e[k]);
		if (c < 0)
			r = pnft_push(&gone, &a.e[i++]);
		else if (c > 0)
			r = pnft_push(&put, &b.e[k++]);
		else if (!elems_eq(&a.e[i++], &b.e[k++]))
			r = pnft_push(&put, &b.e[k - 1]);
	}
	if (r < 0)
		r = nft_batch_fail(nft, r, ns->name);
	else if (add)
		r = pnft_elems_put(nft, ns, &put);
	else
		r = pnft_elems_destroy(nft, ns->name, &gone);
out:
	pnft_elems_done(&a);
	pnft_elems_done(&b);
	pnft_elems_done(&put);
	pnft_elems_done(&gone);
	return r;
}

static bool pchain_eq(const struct pol_pchain *a, const struct pol_pchain *b)
{
	if (a->dir != b->dir || a->nrules != b->nrules || strcmp(a->ns, b->ns) ||
	    strcmp(a->policy, b->policy))
		return false;
	for (size_t i = 0; i < a->nrules; i++) {
		const struct pol_rule *x = &a->rules[i], *y = &b->rules[i];

		if (x->family != y->family || x->index != y->index ||
		    strcmp(x->addr_set, y->addr_set) || strcmp(x->port_set, y->port_set) ||
		    strcmp(x->named_set, y->named_set))
			return false;
	}
	return true;
}

static bool cchain_eq(const struct pol_cchain *a, const struct pol_cchain *b)
{
	if (a->ntargets != b->ntargets)
		return false;
	for (size_t i = 0; i < a->ntargets; i++)
		if (strcmp(a->targets[i], b->targets[i]))
			return false;
	return true;
}

/* The comment of a class's target differs when its policy chain's ns/policy changed */
static bool cchain_comments_changed(const struct pol_cchain *c, const struct index *op,
				    const struct index *np)
{
	for (size_t i = 0; i < c->ntargets; i++) {
		const struct pol_pchain *a = index_find(op, c->targets[i]);
		const struct pol_pchain *b = index_find(np, c->targets[i]);

		if (a && b && (strcmp(a->ns, b->ns) || strcmp(a->policy, b->policy)))
			return true;
	}
	return false;
}

struct diff_ix {
	struct index os, ns, op, np, oc, nc;
};

static void diff_ix_done(struct diff_ix *d)
{
	free(d->os.p);
	free(d->ns.p);
	free(d->op.p);
	free(d->np.p);
	free(d->oc.p);
	free(d->nc.p);
}

static int diff_ix_build(struct diff_ix *d, const struct pol_ruleset *old,
			 const struct pol_ruleset *new)
{
	memset(d, 0, sizeof(*d));
	if (index_build(&d->os, old->sets, old->nsets, sizeof(*old->sets)) < 0 ||
	    index_build(&d->ns, new->sets, new->nsets, sizeof(*new->sets)) < 0 ||
	    index_build(&d->op, old->pchains, old->npchains, sizeof(*old->pchains)) < 0 ||
	    index_build(&d->np, new->pchains, new->npchains, sizeof(*new->pchains)) < 0 ||
	    index_build(&d->oc, old->cchains, old->ncchains, sizeof(*old->cchains)) < 0 ||
	    index_build(&d->nc, new->cchains, new->ncchains, sizeof(*new->cchains)) < 0) {
		diff_ix_done(d);
		return -ENOMEM;
	}
	return 0;
}

/* A set in both whose kind changed cannot be changed in place: the whole table is rebuilt. */
static bool kinds_changed(const struct pol_ruleset *new, const struct diff_ix *d)
{
	for (size_t i = 0; i < new->nsets; i++) {
		const struct pol_set *o = index_find(&d->os, new->sets[i].name);

		if (o && o->kind != new->sets[i].kind)
			return true;
	}
	return false;
}

/* An empty set standing for a set absent from one side. */
static const struct pol_set *or_empty(const struct pol_set *s, const struct pol_set *like,
				      struct pol_set *empty)
{
	if (s)
		return s;
	memset(empty, 0, sizeof(*empty));
	snprintf(empty->name, sizeof(empty->name), "%s", like->name);
	empty->kind = like->kind;
	return empty;
}

int pnft_diff(struct nft *nft, const struct pol_ruleset *old, const struct pol_ruleset *new,
	      const struct pnft_opts *o)
{
	struct pol_set empty;
	struct diff_ix d;
	size_t i;

	if (pnft_check_fixed(nft, new) < 0)
		return nft->err;
	if (diff_ix_build(&d, old, new) < 0)
		return nft_batch_fail(nft, -ENOMEM, "policy difference");
	if (kinds_changed(new, &d)) {
		diff_ix_done(&d);
		return pnft_replace(nft, new, o);
	}
	/* 1. new sets, and the element additions of every set but the dispatch maps */
	for (i = 0; i < new->nsets; i++)
		if (!index_find(&d.os, new->sets[i].name) && !pnft_is_fixed(new->sets[i].name))
			pnft_set_declare(nft, new->sets[i].name, new->sets[i].kind);
	for (i = 0; i < new->nsets; i++) {
		const struct pol_set *s = &new->sets[i];

		if (!pnft_kind_dispatch(s->kind) && s->kind != POL_SET_STAMP)
			(void)set_diff(nft, or_empty(index_find(&d.os, s->name), s, &empty), s,
				       true);
	}
	/* 2. policy chains new or changed: (added,) emptied and filled */
	for (i = 0; i < new->npchains; i++) {
		const struct pol_pchain *c = &new->pchains[i], *oc = index_find(&d.op, c->name);

		if (!oc)
			pnft_pchain_build(nft, new, c);
		else if (!pchain_eq(oc, c)) {
			(void)nft_chain_flush(nft, F, T, c->name);
			pnft_pchain_fill(nft, new, c);
		}
	}
	/* 3. class chains new or changed */
	for (i = 0; i < new->ncchains; i++) {
		const struct pol_cchain *c = &new->cchains[i], *oc = index_find(&d.oc, c->name);

		if (!oc || !cchain_eq(oc, c) || cchain_comments_changed(c, &d.op, &d.np))
			pnft_cchain_build_rs(nft, new, c, o);
	}
	/* 4. dispatch elements added or changed, then removed */
	for (i = 0; i < new->nsets; i++) {
		const struct pol_set *s = &new->sets[i];

		if (pnft_kind_dispatch(s->kind))
			(void)set_diff(nft, or_empty(index_find(&d.os, s->name), s, &empty), s,
				       true);
	}
	for (i = 0; i < old->nsets; i++) {
		const struct pol_set *s = &old->sets[i];

		if (pnft_kind_dispatch(s->kind))
			(void)set_diff(nft, s, or_empty(index_find(&d.ns, s->name), s, &empty),
				       false);
	}
	/* 5. what is gone, users before what they use: class chains, policy chains, the
	 * removed elements of remaining sets, sets */
	for (i = 0; i < old->ncchains; i++)
		if (!index_find(&d.nc, old->cchains[i].name))
			(void)nft_chain_del(nft, F, T, old->cchains[i].name, NFT_F_DESTROY);
	for (i = 0; i < old->npchains; i++)
		if (!index_find(&d.np, old->pchains[i].name))
			(void)nft_chain_del(nft, F, T, old->pchains[i].name, NFT_F_DESTROY);
	for (i = 0; i < old->nsets; i++) {
		const struct pol_set *s = &old->sets[i], *ns = index_find(&d.ns, s->name);

		if (ns && !pnft_kind_dispatch(s->kind) && s->kind != POL_SET_STAMP)
			(void)set_diff(nft, s, ns, false);
		else if (!ns && !pnft_is_fixed(s->name))
			(void)nft_set_del(nft, F, T, s->name, NFT_F_DESTROY);
	}
	if (strcmp(old->stamp, new->stamp))
		pnft_stamp_put(nft, new->stamp);
	diff_ix_done(&d);
	return nft->err;
}
