// SPDX-License-Identifier: Apache-2.0
/* The skeleton of a ruleset: what the policies alone decide. Every policy rule's sets (its
 * ipBlock ranges and ports filled, its peer and named-port sets empty until endpoints fill
 * them), every policy chain with its rules, the dispatch maps and the stamp. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <linux/netfilter.h>

#include "base/err.h"
#include "base/vec.h"
#include "policy/render.h"

const enum pol_set_kind pol_rkind_set[RK_COUNT] = {
	[RK_A4] = POL_SET_ADDR4,  [RK_A6] = POL_SET_ADDR6, [RK_B4] = POL_SET_NET4,
	[RK_B6] = POL_SET_NET6,	  [RK_P] = POL_SET_PORTS,  [RK_N4] = POL_SET_NAMED4,
	[RK_N6] = POL_SET_NAMED6,
};
static const uint8_t rkind_family[RK_COUNT] = {
	[RK_A4] = NFPROTO_IPV4, [RK_A6] = NFPROTO_IPV6, [RK_B4] = NFPROTO_IPV4,
	[RK_B6] = NFPROTO_IPV6, [RK_N4] = NFPROTO_IPV4, [RK_N6] = NFPROTO_IPV6,
};

int pol_rctx_add_set(struct pol_rctx *c, const char *name, enum pol_set_kind kind)
{
	struct pol_ruleset *o = c->out;
	struct pol_set *s;

	if (vec_room(&o->sets, &c->setcap, o->nsets, sizeof(*o->sets), 8) < 0)
		return -ENOMEM;
	s = &o->sets[o->nsets];
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->kind = kind;
	return (int)o->nsets++;
}

static int copy_elems(struct pol_set *s, const struct pol_elem *e, size_t n)
{
	if (!n)
		return 0;
	s->e = malloc(n * sizeof(*e));
	if (!s->e)
		return -ENOMEM;
	memcpy(s->e, e, n * sizeof(*e));
	s->n = s->cap = n;
	return 0;
}

/* a shared set, with its ranges when it has some (ipBlocks, ports) */
static int slot_set(struct pol_rctx *c, struct pol_slot *sl)
{
	const struct pol_prule *r = c->rules[sl->gid].r;
	struct pol_set *s;
	int i;

	if ((i = pol_rctx_add_set(c, sl->name, sl->kind)) < 0)
		return i;
	sl->set = i;
	s = &c->out->sets[i];
	switch (sl->kind) {
	case POL_SET_NET4:
		return copy_elems(s, r->net[0], r->nnet[0]);
	case POL_SET_NET6:
		return copy_elems(s, r->net[1], r->nnet[1]);
	case POL_SET_PORTS:
		return copy_elems(s, r->ports, r->nports);
	default:
		return 0;
	}
}

/* the address and port forms of a rule: none (-1) or the kinds of its sets */
static size_t forms(const struct pol_prule *r, bool any, int from, int to, int out[4])
{
	size_t n = 0;
	int k;

	if (any) {
		out[n++] = -1;
		return n;
	}
	for (k = from; k <= to; k++)
		if (r->has[k])
			out[n++] = k;
	return n;
}

/* a rule's nft rules: address forms x port forms whose families agree */
static int chain_rules(const struct pol_prule *r, struct pol_pchain *ch, size_t *cap)
{
	int addr[4], port[4];
	size_t na, np, i, j;
	struct pol_rule *x;
	uint8_t fa, fp;

	na = forms(r, r->any_peer, RK_A4, RK_B6, addr);
	np = forms(r, r->any_port, RK_P, RK_N6, port);
	for (i = 0; i < na; i++) {
		for (j = 0; j < np; j++) {
			fa = addr[i] < 0 ? 0 : rkind_family[addr[i]];
			fp = port[j] < 0 ? 0 : rkind_family[port[j]];
			if (fa && fp && fa != fp)
				continue;
			if (vec_room(&ch->rules, cap, ch->nrules, sizeof(*ch->rules), 4) < 0)
				return -ENOMEM;
			x = &ch->rules[ch->nrules++];
			memset(x, 0, sizeof(*x));
			x->family = fa ?: fp;
			x->index = r->idx;
			if (addr[i] >= 0)
				pol_rule_set_name(r, addr[i], x->addr_set);
			if (port[j] == RK_P)
				pol_rule_set_name(r, RK_P, x->port_set);
			else if (port[j] >= 0)
				pol_rule_set_name(r, port[j], x->named_set);
		}
	}
	return 0;
}

static int pchain(struct pol_rctx *c, const struct pol_policy *p, enum pol_dir dir, size_t *cap)
{
	struct pol_ruleset *o = c->out;
	struct pol_pchain *ch;
	size_t i, rcap = 0;
	int r;

	if (vec_room(&o->pchains, cap, o->npchains, sizeof(*o->pchains), 8) < 0)
		return -ENOMEM;
	ch = &o->pchains[o->npchains++];
	memset(ch, 0, sizeof(*ch));
	pol_policy_chain(p, dir, ch->name);
	ch->dir = dir;
	snprintf(ch->ns, sizeof(ch->ns), "%s", p->ns);
	snprintf(ch->policy, sizeof(ch->policy), "%s", p->name);
	for (i = 0; i < p->nrules[dir]; i++)
		if ((r = chain_rules(&p->rules[dir][i], ch, &rcap)) < 0)
			return r;
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	/* sets and chains both start with their name */
	return strcmp(a, b);
}

static int order_cmp(const void *a, const void *b, void *arg)
{
	const struct pol_set *s = arg;

	return strcmp(s[*(const int *)a].name, s[*(const int *)b].name);
}

/* sorts the sets by name, keeping c->slots and c->disp pointing at them */
static int sort_sets(struct pol_rctx *c)
{
	struct pol_ruleset *o = c->out;
	struct pol_set *sorted;
	int *order, *where;
	size_t i;
	int d, f;

	order = malloc(2 * o->nsets * sizeof(*order) + 1);
	sorted = malloc(o->nsets * sizeof(*sorted) + 1);
	if (!order || !sorted) {
		free(order);
		free(sorted);
		return -ENOMEM;
	}
	where = order + o->nsets;
	for (i = 0; i < o->nsets; i++)
		order[i] = (int)i;
	qsort_r(order, o->nsets, sizeof(*order), order_cmp, o->sets);
	for (i = 0; i < o->nsets; i++) {
		sorted[i] = o->sets[order[i]];
		where[order[i]] = (int)i;
	}
	free(o->sets);
	o->sets = sorted;
	c->setcap = o->nsets;
	for (i = 0; i < c->nslots; i++)
		if (c->slots[i].set >= 0)
			c->slots[i].set = where[c->slots[i].set];
	for (d = 0; d < 2; d++)
		for (f = 0; f < 2; f++)
			c->disp[d][f] = where[c->disp[d][f]];
	free(order);
	return 0;
}

/* two policies whose ids collide (40 bits of a hash: about one chance in 2 million with a
 * thousand policies) would share chains and sets: refused, naming them */
static int unique_ids(const struct pol_ruleset *o, struct err *err)
{
	const struct pol_pchain *a, *b;
	size_t i;

	for (i = 1; i < o->npchains; i++) {
		a = &o->pchains[i - 1];
		b = &o->pchains[i];
		if (!strcmp(a->name, b->name))
			return err_fail(err, CNI_ERR_INTERNAL, -EEXIST,
					"policies %s/%s and %s/%s have one id (%s)", a->ns,
					a->policy, b->ns, b->policy, a->name + 3);
	}
	return 0;
}

int pol_skeleton(struct pol_rctx *c)
{
	static const char *const disp[2][2] = {{"ing4", "ing6"}, {"egr4", "egr6"}};
	const struct pol_table *pols = &c->m->t[T_POL];
	const struct pol_policy *p;
	size_t i, cap = 0;
	int d, f, r;

	for (i = 0; i < c->nslots; i++)
		if ((r = slot_set(c, &c->slots[i])) < 0)
			return r;
	for (d = 0; d < 2; d++)
		for (f = 0; f < 2; f++)
			if ((c->disp[d][f] = pol_rctx_add_set(
				     c, disp[d][f], f ? POL_SET_DISPATCH6 : POL_SET_DISPATCH4)) < 0)
				return -ENOMEM;
	if ((r = pol_rctx_add_set(c, "stamp", POL_SET_STAMP)) < 0)
		return r;
	/* the stamp set's one element, key 1; its comment is out->stamp */
	c->out->sets[r].e = calloc(1, sizeof(struct pol_elem));
	if (!c->out->sets[r].e)
		return -ENOMEM;
	c->out->sets[r].e->port = 1;
	c->out->sets[r].n = c->out->sets[r].cap = 1;
	pol_model_stamp(c->m, c->out->stamp);
	if ((r = sort_sets(c)) < 0)
		return r;
	for (i = 0; i < pols->n; i++) {
		p = pols->e[i].val;
		for (d = 0; d < 2; d++)
			if (p->dir[d] && (r = pchain(c, p, d, &cap)) < 0)
				return r;
	}
	if (c->out->npchains)
		qsort(c->out->pchains, c->out->npchains, sizeof(*c->out->pchains), name_cmp);
	return unique_ids(c->out, c->err);
}
