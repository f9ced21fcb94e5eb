// SPDX-License-Identifier: Apache-2.0
/* libFuzzer target: the policy model fed store keys ("<key> <value>" per line, as the agent
 * and the plugin read them, a line with a key alone deleting it), then rendered in full and
 * endpoint by endpoint. Whatever the store holds: a refusal says why, and the ruleset is
 * consistent (sets sorted and unique, every set a rule names exists, every dispatch element
 * names a class whose targets exist) and every fragment lies inside the full render. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool has_pchain(const struct pol_ruleset *rs, const char *name)
{
	size_t i;

	for (i = 0; i < rs->npchains; i++)
		if (!strcmp(rs->pchains[i].name, name))
			return true;
	return false;
}

static bool has_cchain(const struct pol_ruleset *rs, const char *name)
{
	size_t i;

	for (i = 0; i < rs->ncchains; i++)
		if (!strcmp(rs->cchains[i].name, name))
			return true;
	return false;
}

static bool has_elem(const struct pol_set *s, const struct pol_elem *e)
{
	size_t lo = 0, hi = s->n, mid;
	int c;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		c = pol_elem_cmp(&s->e[mid], e, s->kind);
		if (!c)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static void check_sets(const struct pol_ruleset *rs)
{
	const struct pol_set *s;
	size_t i, j;

	for (i = 0; i < rs->nsets; i++) {
		s = &rs->sets[i];
		if (i && strcmp(rs->sets[i - 1].name, s->name) >= 0)
			abort();
		for (j = 1; j < s->n; j++)
			if (pol_elem_cmp(&s->e[j - 1], &s->e[j], s->kind) >= 0)
				abort();
		for (j = 0; j < s->n; j++)
			if ((s->kind == POL_SET_DISPATCH4 || s->kind == POL_SET_DISPATCH6) &&
			    !has_cchain(rs, s->e[j].chain))
				abort();
	}
}

static void check_full(const struct pol_ruleset *rs)
{
	const struct pol_rule *r;
	size_t i, j;

	check_sets(rs);
	for (i = 0; i < rs->npchains; i++) {
		for (j = 0; j < rs->pchains[i].nrules; j++) {
			r = &rs->pchains[i].rules[j];
			if ((*r->addr_set && !pol_ruleset_set(rs, r->addr_set)) ||
			    (*r->port_set && !pol_ruleset_set(rs, r->port_set)) ||
			    (*r->named_set && !pol_ruleset_set(rs, r->named_set)))
				abort();
		}
	}
	for (i = 0; i < rs->ncchains; i++)
		for (j = 0; j < rs->cchains[i].ntargets; j++)
			if (!has_pchain(rs, rs->cchains[i].targets[j]))
				abort();
	free(pol_ruleset_text(rs));
}

/* every element and class of the fragment is in the full ruleset */
static void check_fragment(const struct pol_ruleset *full, const struct pol_ruleset *frag)
{
	const struct pol_set *s, *in;
	size_t i, j;

	check_sets(frag);
	for (i = 0; i < frag->nsets; i++) {
		s = &frag->sets[i];
		in = pol_ruleset_set(full, s->name);
		if (!in || in->kind != s->kind)
			abort();
		for (j = 0; j < s->n; j++)
			if (!has_elem(in, &s->e[j]) &&
			    !(s->kind == POL_SET_DISPATCH4 || s->kind == POL_SET_DISPATCH6))
				abort(); /* (a shared IP's dispatch: one record's element wins) */
	}
	for (i = 0; i < frag->ncchains; i++)
		if (!has_cchain(full, frag->cchains[i].name))
			abort();
}

/* one line into the model; what it touches into keys */
static void feed(struct pol_model *m, const char *line, size_t len, char ***keys, size_t *nkeys)
{
	const char *sp = memchr(line, ' ', len);
	struct err e = {0};
	char key[512];
	size_t klen = sp ? (size_t)(sp - line) : len;
	int r;

	if (klen >= sizeof(key) || memchr(line, '\0', klen))
		return;
	memcpy(key, line, klen);
	key[klen] = '\0';
	r = pol_model_set(m, key, sp ? sp + 1 : NULL, sp ? len - klen - 1 : 0, &e);
	if (r < 0 && !e.msg[0])
		abort(); /* a refusal always says why */
	if (pol_model_affected(m, key, keys, nkeys) < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *nl;
	struct pol_ruleset full, frag;
	struct pol_model *m;
	struct err e = {0};
	char **keys = NULL;
	size_t nkeys = 0, i;

	m = pol_model_new("n1");
	if (!m)
		return 0;
	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		feed(m, p, (size_t)(nl - p), &keys, &nkeys);
	}
	if (pol_render(m, &full, &e) < 0)
		abort();
	check_full(&full);
	/* the endpoints the lines touched (gone since: -ENOENT) */
	for (i = 0; i < nkeys; i++) {
		if (pol_render_endpoint(m, keys[i], &frag, &e) == 0) {
			check_fragment(&full, &frag);
			pol_ruleset_free(&frag);
		}
		free(keys[i]);
	}
	free(keys);
	pol_ruleset_free(&full);
	pol_model_free(m);
	return 0;
}
