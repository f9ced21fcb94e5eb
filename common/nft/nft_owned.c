// SPDX-License-Identifier: Apache-2.0
/* Owned tables: created once with NFT_F_EXCL (the losers of the race add to the winner's
 * table), per-attachment elements found by the owner in their comment for DEL, CHECK, GC. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>

#include "nft/nft_owned.h"
#include "base/name.h"
#include "base/vec.h"
#include "nft/nft.h"

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define NET_HEX 8 /* digits of the network hash */
#define RETRIES 4

int nft_owned_push(struct nft_owned_elems *el, const struct nft_elem *e)
{
	if (vec_room(&el->e, &el->cap, el->n, sizeof(*el->e), 8) < 0)
		return -ENOMEM;
	el->e[el->n++] = *e;
	return 0;
}

void nft_owned_elems_done(struct nft_owned_elems *el, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		for (size_t k = 0; el[i].own_chains && k < el[i].n; k++)
			free((char *)el[i].e[k].chain);
		free(el[i].e);
		el[i] = (struct nft_owned_elems){0};
	}
}

/* --- Owners --------------------------------------------------------------------------- */

/* 32 bits of FNV-1a 64 (both halves folded): two networks on one node collide with a
 * chance of 2^-32, and the comment keeps room for a 103-byte container ID. */
static void net_hex(const char *net, char out[NET_HEX + 1])
{
	uint64_t h = name_fnv(FNV_OFFSET, net);

	snprintf(out, NET_HEX + 1, "%08x", (unsigned int)(uint32_t)(h ^ (h >> 32)));
}

static int owner_ok(const char *net, const char *cid, const char *ifname)
{
	if (!net || !*net || !cid || !*cid || *cid == NAME_KEY_MARK || strchr(cid, '/') ||
	    (ifname && (!*ifname || strchr(ifname, '/') || strlen(ifname) >= IFNAMSIZ)))
		return -EINVAL;
	return 0;
}

int nft_owner_fmt(char out[NFT_OWNER_MAX + 1], const char *net, const char *cid, const char *ifname)
{
	char hex[NET_HEX + 1], key[NAME_KEY_LEN + 1];
	int r;

	r = ifname ? owner_ok(net, cid, ifname) : -EINVAL;
	if (r < 0)
		return r;
	net_hex(net, hex);
	/* an ID the comment cannot hold whole is keyed by its digest (at most 90 bytes then) */
	if (strlen(cid) + 1 + strlen(ifname) + 1 + NET_HEX > NFT_OWNER_MAX)
		cid = name_key(key, cid);
	snprintf(out, NFT_OWNER_MAX + 1, "%s/%s/%s", cid, ifname, hex);
	return 0;
}

struct owner {
	char buf[NFT_OWNER_MAX + 1];
	const char *cid, *ifname, *net;
};

/* Splits "cid/ifname/hash" into o; returns 0 or -EINVAL when comment names no owner. */
static int owner_parse(const char *comment, struct owner *o)
{
	size_t n = comment ? strlen(comment) : 0;
	char *a, *b;

	if (!n || n > NFT_OWNER_MAX)
		return -EINVAL;
	memcpy(o->buf, comment, n + 1);
	b = strrchr(o->buf, '/');
	if (!b || b == o->buf || strlen(b + 1) != NET_HEX ||
	    strspn(b + 1, "0123456789abcdef") != NET_HEX)
		return -EINVAL;
	*b = '\0';
	a = strrchr(o->buf, '/');
	if (!a || a == o->buf || !a[1])
		return -EINVAL;
	*a = '\0';
	o->cid = o->buf;
	o->ifname = a + 1;
	o->net = b + 1;
	return 0;
}

struct owner_match {
	char net[NET_HEX + 1];
	char key[NAME_KEY_LEN + 1]; /* cid's key: the comment names it when cid did not fit */
	const char *cid, *ifname;
	bool (*is_valid)(const char *cid, const char *ifname, void *data);
	void *data;
};

/* DEL and CHECK: the comment names net's cid (and ifname unless NULL). */
static int match_owner(const struct nft_elem *e, unsigned int set, void *data)
{
	const struct owner_match *m = data;
	struct owner o;

	return owner_parse(e->comment, &o) == 0 && !strcmp(o.net, m->net) &&
	       (!strcmp(o.cid, m->cid) || !strcmp(o.cid, m->key)) &&
	       (!m->ifname || !strcmp(o.ifname, m->ifname));
}

/* GC: the comment names no owner, or an attachment of net that is not valid (is_valid gets
 * the ID or its key as the comment holds it). */
static int match_invalid(const struct nft_elem *e, unsigned int set, void *data)
{
	const struct owner_match *m = data;
	struct owner o;

	if (owner_parse(e->comment, &o) < 0)
		return 1;
	return !strcmp(o.net, m->net) && !m->is_valid(o.cid, o.ifname, m->data);
}

/* --- ADD ------------------------------------------------------------------------------ */

void nft_owned_build(struct nft *nft, const struct nft_owned *t, const struct nft_owned_elems *el,
		     const struct nft_owned_elems *old, bool create)
{
	unsigned int i, excl;

	nft_batch_begin(nft);
	if (create) {
		(void)nft_table_add(nft, t->family, t->table, NFT_F_EXCL);
		for (i = 0; i < t->nsets; i++)
			(void)nft_set_add(nft, t->family, t->table, &t->sets[i], 0);
		t->build(nft);
	}
	for (i = 0; old && i < t->nsets; i++)
		(void)nft_elems_del(nft, t->family, t->table, t->sets[i].name, old[i].e, old[i].n,
				    NFT_F_DESTROY);
	for (i = 0; i < t->nsets; i++) {
		excl = t->excl & (1U << i);
		/* Replaces an element left by an attachment whose DEL never came. */
		if (!excl)
			(void)nft_elems_del(nft, t->family, t->table, t->sets[i].name, el[i].e,
					    el[i].n, NFT_F_DESTROY);
		(void)nft_elems_add(nft, t->family, t->table, t->sets[i].name, el[i].e, el[i].n,
				    excl ? NFT_F_EXCL : 0);
	}
}

int nft_owned_add(struct nft *nft, const struct nft_owned *t, const struct nft_owned_elems *el,
		  const struct nft_owned_elems *old)
{
	int r;

	/* Common path: the table exists and one batch adds the elements. An -EEXIST of the
	 * creation batch is the table (a new table holds no elements): retry the elements. */
	for (int i = 0;; i++) {
		nft_owned_build(nft, t, el, old, false);
		r = nft_batch_commit(nft);
		if (r != -ENOENT || i == RETRIES)
			break;
		nft_owned_build(nft, t, el, old, true);
		r = nft_batch_commit(nft);
		if (r != -EEXIST)
			break;
	}
	return r;
}

/* --- Finding elements ----------------------------------------------------------------- */

struct sweep {
	struct nft_owned_elems *el; /* the set being dumped */
	unsigned int set;
	int (*match)(const struct nft_elem *e, unsigned int set, void *data);
	void *data;
};

static int sweep_cb(const struct nft_elem *e, void *data)
{
	struct sweep *s = data;
	struct nft_elem copy = *e;
	int r;

	if (!s->match(e, s->set, s->data))
		return 0;
	copy.comment = NULL; /* dumped strings do not outlive the callback */
	if (e->chain) { /* a verdict's chain: CHECK compares it */
		copy.chain = strdup(e->chain);
		if (!copy.chain)
			return -ENOMEM;
	}
	r = nft_owned_push(s->el, &copy);
	if (r < 0)
		free((char *)copy.chain);
	return r;
}

int nft_owned_collect(struct nft *nft, const struct nft_owned *t, struct nft_owned_elems *el,
		      int (*match)(const struct nft_elem *e, unsigned int set, void *data),
		      void *data)
{
	struct sweep s = {.match = match, .data = data};
	int r = 0;

	if (t->nsets > NFT_OWNED_SETS_MAX) /* callers size their lists by it */
		return -EINVAL;
	for (int k = 0; k < RETRIES; k++) {
		nft_owned_elems_done(el, t->nsets);
		for (s.set = 0; s.set < t->nsets; s.set++) {
			s.el = &el[s.set];
			s.el->own_chains = true;
			r = nft_set_elems_dump(nft, t->family, t->table, t->sets[s.set].name,
					       sweep_cb, &s);
			if (r == -ENOENT && nft_table_exists(nft, t->family, t->table) == 1)
				r = 0; /* the table is there, that set is not: nothing to find */
			if (r < 0)
				break;
		}
		if (r != -EINTR) /* a ruleset change interrupted the dump: start again */
			break;
	}
	return r;
}

int nft_owned_destroy(struct nft *nft, const struct nft_owned *t, const struct nft_owned_elems *el)
{
	size_t total = 0;
	int r;

	nft_batch_begin(nft);
	for (unsigned int i = 0; i < t->nsets; i++) {
		(void)nft_elems_del(nft, t->family, t->table, t->sets[i].name, el[i].e, el[i].n,
				    NFT_F_DESTROY);
		total += el[i].n;
	}
	r = nft_batch_commit(nft);
	if (r == -ENOENT) /* the table went away meanwhile */
		r = 0;
	return r < 0 ? r : (int)total;
}

/* Collects what match() accepts and destroys it; no table counts as nothing found. */
static int sweep(struct nft *nft, const struct nft_owned *t,
		 int (*match)(const struct nft_elem *e, unsigned int set, void *data),
		 struct owner_match *m)
{
	struct nft_owned_elems el[NFT_OWNED_SETS_MAX] = {0};
	int r;

	r = nft_owned_collect(nft, t, el, match, m);
	if (r == -ENOENT) {
		nft->errmsg[0] = '\0';
		r = 0;
	} else if (r == 0) {
		r = nft_owned_destroy(nft, t, el);
	}
	nft_owned_elems_done(el, t->nsets);
	return r;
}

int nft_owned_del(struct nft *nft, const struct nft_owned *t, const char *net, const char *cid,
		  const char *ifname)
{
	struct owner_match m = {.cid = cid, .ifname = ifname};
	int r;

	r = owner_ok(net, cid, ifname);
	if (r < 0)
		return r;
	net_hex(net, m.net);
	name_key(m.key, cid);
	r = sweep(nft, t, match_owner, &m);
	return r < 0 ? r : 0;
}

int nft_owned_gc(struct nft *nft, const struct nft_owned *t, const char *net,
		 bool (*is_valid)(const char *cid, const char *ifname, void *data), void *data)
{
	struct owner_match m = {.is_valid = is_valid, .data = data};

	if (!net || !*net || !is_valid)
		return -EINVAL;
	net_hex(net, m.net);
	return sweep(nft, t, match_invalid, &m);
}

/* --- CHECK ---------------------------------------------------------------------------- */

static bool data_eq(const struct nft_data *a, const struct nft_data *b)
{
	return a->len == b->len && !memcmp(a->v, b->v, a->len);
}

/* The same key (and key end) and, for a map element, what it maps to: the same data, or the
 * same verdict and chain. */
static bool elem_eq(const struct nft_elem *a, const struct nft_elem *b)
{
	unsigned int f = NFT_ELEM_HAS_KEY_END | NFT_ELEM_HAS_DATA | NFT_ELEM_HAS_VERDICT;

	if ((a->flags & f) != (b->flags & f) || !data_eq(&a->key, &b->key))
		return false;
	if ((a->flags & NFT_ELEM_HAS_KEY_END) && !data_eq(&a->key_end, &b->key_end))
		return false;
	if ((a->flags & NFT_ELEM_HAS_DATA) && !data_eq(&a->data, &b->data))
		return false;
	return !(a->flags & NFT_ELEM_HAS_VERDICT) ||
	       (a->verdict == b->verdict && !a->chain == !b->chain &&
		(!a->chain || !strcmp(a->chain, b->chain)));
}

int nft_owned_key_cmp(const void *a, const void *b)
{
	const struct nft_elem *x = *(const struct nft_elem *const *)a,
			      *y = *(const struct nft_elem *const *)b;

	if (x->key.len != y->key.len)
		return x->key.len < y->key.len ? -1 : 1;
	return memcmp(x->key.v, y->key.v, x->key.len);
}

/* By key, then in the list's order. */
static int key_pos_cmp(const void *a, const void *b)
{
	const struct nft_elem *x = *(const struct nft_elem *const *)a,
			      *y = *(const struct nft_elem *const *)b;
	int c = nft_owned_key_cmp(a, b);

	return c ? c : x < y ? -1 : x > y;
}

const struct nft_elem **nft_owned_by_key(const struct nft_owned_elems *el)
{
	const struct nft_elem **v = el->n ? malloc(el->n * sizeof(*v)) : NULL;

	for (size_t i = 0; v && i < el->n; i++)
		v[i] = &el->e[i];
	if (v)
		qsort(v, el->n, sizeof(*v), key_pos_cmp);
	return v;
}

/* Whether sorted v[0..n-1] holds an element equal to want (keys may repeat in a list). */
static int has_elem(const struct nft_elem **v, size_t n, const struct nft_elem *want)
{
	size_t lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (nft_owned_key_cmp(&v[mid], &want) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < n && nft_owned_key_cmp(&v[lo], &want) == 0; lo++)
		if (elem_eq(v[lo], want))
			return 1;
	return 0;
}

/* -ENOENT with the message when e of set i is missing (or, !missing, unexpected). */
static int elem_differs(struct nft *nft, const struct nft_owned *t, unsigned int i,
			const struct nft_elem *e, bool missing)
{
	char desc[128] = "?";

	if (t->describe)
		t->describe(e, i, desc, sizeof(desc));
	snprintf(nft->errmsg, sizeof(nft->errmsg), "%s: %s element %s in set %s", t->what,
		 missing ? "no" : "unexpected", desc, t->sets[i].name);
	return -ENOENT;
}

static int compare(struct nft *nft, const struct nft_owned *t, const struct nft_owned_elems *want,
		   const struct nft_owned_elems *have)
{
	const struct nft_elem **w = NULL, **h = NULL;
	int r = 0;

	for (unsigned int i = 0; r == 0 && i < t->nsets; i++) {
		w = nft_owned_by_key(&want[i]);
		h = nft_owned_by_key(&have[i]);
		if ((want[i].n && !w) || (have[i].n && !h))
			r = -ENOMEM;
		for (size_t k = 0; r == 0 && k < want[i].n; k++)
			if (!has_elem(h, have[i].n, &want[i].e[k]))
				r = elem_differs(nft, t, i, &want[i].e[k], true);
		for (size_t k = 0; r == 0 && t->check_exact && k < have[i].n; k++)
			if (!has_elem(w, want[i].n, &have[i].e[k]))
				r = elem_differs(nft, t, i, &have[i].e[k], false);
		free(w);
		free(h);
	}
	return r;
}

int nft_owned_check(struct nft *nft, const struct nft_owned *t, const char *net, const char *cid,
		    const char *ifname, const struct nft_owned_elems *want)
{
	struct nft_owned_elems have[NFT_OWNED_SETS_MAX] = {0};
	struct owner_match m = {.cid = cid, .ifname = ifname};
	int r;

	r = ifname ? owner_ok(net, cid, ifname) : -EINVAL;
	if (r < 0)
		return r;
	net_hex(net, m.net);
	name_key(m.key, cid);
	r = nft_rule_count(nft, t->family, t->table, t->chain);
	if (r >= 0 && r != t->nrules) {
		snprintf(nft->errmsg, sizeof(nft->errmsg), "%s: chain %s has %d rules, not %d",
			 t->what, t->chain, r, t->nrules);
		return -ENOENT;
	}
	if (r >= 0)
		r = nft_owned_collect(nft, t, have, match_owner, &m);
	if (r == 0)
		r = compare(nft, t, want, have);
	nft_owned_elems_done(have, t->nsets);
	return r;
}
