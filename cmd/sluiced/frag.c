// SPDX-License-Identifier: Apache-2.0
/* sluiced: an endpoint's fragments of the policy ruleset compared (what went, what came)
 * and the ruleset the agent keeps (what the table holds) patched with the difference, so
 * that a pod, namespace or endpoint change costs its elements, not a render of the whole. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "sluiced.h"

static bool is_map(enum pol_set_kind k)
{
	return k == POL_SET_DISPATCH4 || k == POL_SET_DISPATCH6;
}

/* The same element: a map's value (the class chain) counts too, so that a changed verdict
 * is a delete and an add */
static bool elem_same(const struct pol_elem *x, const struct pol_elem *y, enum pol_set_kind k)
{
	return !pol_elem_cmp(x, y, k) && (!is_map(k) || !strcmp(x->chain, y->chain));
}

static int elem_push(struct pol_set *s, const struct pol_elem *e)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		struct pol_elem *n = realloc(s->e, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		s->e = n;
		s->cap = cap;
	}
	s->e[s->n++] = *e;
	return 0;
}

/* An empty set like `like` appended to rs (rs's sets stay sorted: the caller appends in
 * name order). NULL on ENOMEM. */
static struct pol_set *set_push(struct pol_ruleset *rs, const struct pol_set *like)
{
	struct pol_set *n = realloc(rs->sets, (rs->nsets + 1) * sizeof(*n));

	if (!n)
		return NULL;
	rs->sets = n;
	n = &rs->sets[rs->nsets++];
	memset(n, 0, sizeof(*n));
	memcpy(n->name, like->name, sizeof(n->name));
	n->kind = like->kind;
	return n;
}

/* e into out's set like s (made when it is the first), counted */
static int put(struct pol_ruleset *out, struct pol_set **cur, const struct pol_set *s,
	       const struct pol_elem *e, size_t *count)
{
	if (!*cur && !(*cur = set_push(out, s)))
		return -ENOMEM;
	(*count)++;
	return elem_push(*cur, e);
}

/* One set's difference: b's elements not in a into went, a's not in b into came */
static int set_diff(const struct pol_set *b, const struct pol_set *a, struct pol_ruleset *went,
		    struct pol_ruleset *came, size_t *nw, size_t *nc)
{
	const struct pol_set *s = b ? b : a;
	struct pol_set *w = NULL, *c = NULL;
	size_t i = 0, j = 0, nb = b ? b->n : 0, na = a ? a->n : 0;
	int r = 0;

	while (r == 0 && (i < nb || j < na)) {
		int d = i == nb ? 1 : j == na ? -1 : pol_elem_cmp(&b->e[i], &a->e[j], s->kind);

		if (d < 0) {
			r = put(went, &w, s, &b->e[i++], nw);
		} else if (d > 0) {
			r = put(came, &c, s, &a->e[j++], nc);
		} else {
			if (!elem_same(&b->e[i], &a->e[j], s->kind) &&
			    ((r = put(went, &w, s, &b->e[i], nw)) < 0 ||
			     (r = put(came, &c, s, &a->e[j], nc)) < 0))
				break;
			i++;
			j++;
		}
	}
	return r;
}

int agent_frag_diff(const struct pol_ruleset *before, const struct pol_ruleset *after,
		    struct pol_ruleset *went, struct pol_ruleset *came, size_t *nw, size_t *nc)
{
	size_t i = 0, j = 0;
	int r = 0;

	*nw = *nc = 0;
	while (r == 0 && (i < before->nsets || j < after->nsets)) {
		int d = i == before->nsets  ? 1
			: j == after->nsets ? -1
					    : strcmp(before->sets[i].name, after->sets[j].name);

		if (d < 0)
			r = set_diff(&before->sets[i++], NULL, went, came, nw, nc);
		else if (d > 0)
			r = set_diff(NULL, &after->sets[j++], went, came, nw, nc);
		else
			r = set_diff(&before->sets[i++], &after->sets[j++], went, came, nw, nc);
	}
	return r;
}

/* The index of the set of that name in rs, or -1 (pol_ruleset_set's binary search) */
static ssize_t set_idx(const struct pol_ruleset *rs, const char *name)
{
	const struct pol_set *s = pol_ruleset_set(rs, name);

	return s ? s - rs->sets : -1;
}

static ssize_t class_idx(const struct pol_ruleset *rs, const char *name, size_t *at)
{
	size_t lo = 0, hi = rs->ncchains;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int d = strcmp(rs->cchains[mid].name, name);

		if (!d)
			return (ssize_t)mid;
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (at)
		*at = lo;
	return -1;
}

bool agent_frag_fits(const struct pol_ruleset *rs, const struct pol_ruleset *frag)
{
	for (size_t i = 0; i < frag->nsets; i++)
		if (set_idx(rs, frag->sets[i].name) < 0)
			return false;
	return true;
}

/* The first index of s whose element is not below e */
static size_t lower(const struct pol_set *s, const struct pol_elem *e)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (pol_elem_cmp(&s->e[mid], e, s->kind) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int class_copy(struct pol_cchain *dst, const struct pol_cchain *src)
{
	*dst = *src;
	dst->targets = NULL;
	if (!src->ntargets)
		return 0;
	dst->targets = malloc(src->ntargets * sizeof(*dst->targets));
	if (!dst->targets)
		return -ENOMEM;
	memcpy(dst->targets, src->targets, src->ntargets * sizeof(*dst->targets));
	return 0;
}

/* A copy of c into rs at its sorted place, unless rs has one of that name */
static int class_insert(struct pol_ruleset *rs, const struct pol_cchain *c)
{
	struct pol_cchain *n;
	size_t at = 0;

	if (class_idx(rs, c->name, &at) >= 0)
		return 0;
	n = realloc(rs->cchains, (rs->ncchains + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	rs->cchains = n;
	memmove(&n[at + 1], &n[at], (rs->ncchains - at) * sizeof(*n));
	if (class_copy(&n[at], c) < 0) {
		memmove(&n[at], &n[at + 1], (rs->ncchains - at) * sizeof(*n));
		return -ENOMEM;
	}
	rs->ncchains++;
	return 0;
}

int agent_frag_new_classes(const struct pol_ruleset *rs, const struct pol_ruleset *after,
			   struct pol_ruleset *came)
{
	for (size_t i = 0; i < after->ncchains; i++) {
		int r;

		if (class_idx(rs, after->cchains[i].name, NULL) >= 0)
			continue;
		if ((r = class_insert(came, &after->cchains[i])) < 0)
			return r;
	}
	return 0;
}

void agent_frag_remove(struct pol_ruleset *rs, const struct pol_ruleset *went)
{
	for (size_t i = 0; i < went->nsets; i++) {
		ssize_t k = set_idx(rs, went->sets[i].name);
		struct pol_set *s = k >= 0 ? &rs->sets[k] : NULL;

		for (size_t j = 0; s && j < went->sets[i].n; j++) {
			size_t p = lower(s, &went->sets[i].e[j]);

			if (p < s->n && elem_same(&s->e[p], &went->sets[i].e[j], s->kind)) {
				memmove(&s->e[p], &s->e[p + 1], (s->n - p - 1) * sizeof(*s->e));
				s->n--;
			}
		}
	}
}

int agent_frag_insert(struct pol_ruleset *rs, const struct pol_ruleset *came)
{
	for (size_t i = 0; i < came->nsets; i++) {
		ssize_t k = set_idx(rs, came->sets[i].name);
		struct pol_set *s = k >= 0 ? &rs->sets[k] : NULL;

		for (size_t j = 0; s && j < came->sets[i].n; j++) {
			const struct pol_elem *e = &came->sets[i].e[j];
			size_t p = lower(s, e);

			if (p < s->n && !pol_elem_cmp(&s->e[p], e, s->kind)) {
				s->e[p] = *e; /* a map's new value */
				continue;
			}
			if (elem_push(s, e) < 0)
				return -ENOMEM;
			memmove(&s->e[p + 1], &s->e[p], (s->n - 1 - p) * sizeof(*s->e));
			s->e[p] = *e;
		}
	}
	for (size_t i = 0; i < came->ncchains; i++) {
		int r = class_insert(rs, &came->cchains[i]);

		if (r < 0)
			return r;
	}
	return 0;
}

size_t agent_frag_elems(const struct pol_ruleset *rs)
{
	size_t n = 0;

	for (size_t i = 0; i < rs->nsets; i++)
		n += rs->sets[i].n;
	return n;
}

void agent_frag_drop_classes(struct pol_ruleset *came, struct pol_ruleset *seen)
{
	size_t n = 0;

	for (size_t i = 0; i < came->ncchains; i++) {
		if (class_idx(seen, came->cchains[i].name, NULL) >= 0 ||
		    class_insert(seen, &came->cchains[i]) < 0) {
			free(came->cchains[i].targets);
			continue;
		}
		came->cchains[n++] = came->cchains[i];
	}
	came->ncchains = n;
}
