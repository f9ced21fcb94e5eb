/* SPDX-License-Identifier: Apache-2.0 */
/* Tables whose static part (sets, chains, rules) is created once, race-free, and whose
 * per-attachment state is set elements commented "<cid>/<ifname>/<network hash>", so ADD,
 * DEL, CHECK and GC work on elements only and find them by owner without state of their own. */
#ifndef NFT_OWNED_H
#define NFT_OWNED_H

#include <stdbool.h>
#include <stddef.h>

struct nft;
struct nft_elem;
struct nft_set_def;

#define NFT_OWNED_SETS_MAX 12
#define NFT_OWNER_MAX 128 /* NFT_COMMENT_MAX: a 103-byte cid, a 15-byte ifname and 8 digits fit */

/* One owned table. Elements of sets[i] travel in el[i] of the calls below. */
struct nft_owned {
	const char *what; /* names the table in messages: "masq" */
	int family; /* NFPROTO_* */
	const char *table;
	const struct nft_set_def *sets;
	unsigned int nsets;
	/* Bit i: set i's elements are added with NFT_F_EXCL, so nft_owned_add() fails with
	 * -EEXIST when one is present; otherwise an element present is replaced (its owner's
	 * DEL never came). */
	unsigned int excl;
	bool check_exact; /* nft_owned_check(): the owner has no elements but those wanted */
	const char *chain; /* the chain whose rules nft_owned_check() counts */
	int nrules;
	/* Appends the chains and rules to a batch that already adds the table and sets. */
	void (*build)(struct nft *nft);
	/* Writes a readable form of element e of set i for messages. */
	void (*describe)(const struct nft_elem *e, unsigned int set, char *out, size_t size);
};

/* A growing list of elements of one set. */
struct nft_owned_elems {
	struct nft_elem *e;
	size_t n, cap;
	bool own_chains; /* the chains are copies that nft_owned_elems_done() frees */
};

/* Appends a copy of e (its strings are not copied: with own_chains, the list frees e->chain).
 * Returns 0 or -ENOMEM. */
int nft_owned_push(struct nft_owned_elems *el, const struct nft_elem *e);

/* Pointers to el's elements sorted by key, those of one key in el's order (malloc'd, the
 * caller frees it); NULL when el is empty or out of memory. For lists of thousands. */
const struct nft_elem **nft_owned_by_key(const struct nft_owned_elems *el);

/* Orders two `const struct nft_elem *` (pointed to by a and b) by key: qsort, bsearch. */
int nft_owned_key_cmp(const void *a, const void *b);

/* Frees the lists el[0..n-1] and empties them. */
void nft_owned_elems_done(struct nft_owned_elems *el, unsigned int n);

/* Writes the owner comment "<cid>/<ifname>/<8 hex digits of FNV-1a 64 of net, folded>" to
 * out; when that would pass NFT_OWNER_MAX, cid's key (name_key(): '~' and its SHA-256) stands
 * for cid. cid must neither hold '/' nor start with '~', ifname must be an interface name.
 * Returns 0 or -EINVAL. */
int nft_owner_fmt(char out[NFT_OWNER_MAX + 1], const char *net, const char *cid,
		  const char *ifname);

/* Starts a batch that destroys old (NULL: nothing) and adds el, each set's elements after a
 * destroy of the same keys unless excl says otherwise; with create, the table (NFT_F_EXCL),
 * its sets and t->build() first. Does not send it. */
void nft_owned_build(struct nft *nft, const struct nft_owned *t, const struct nft_owned_elems *el,
		     const struct nft_owned_elems *old, bool create);

/* Destroys old (NULL: nothing) and adds el in one batch when the table exists. When it does
 * not, the callers race to create it with NFT_F_EXCL and the losers add their elements to
 * the winner's table. Returns 0, -EEXIST when an element of an excl set is present, or
 * -errno (nft_errmsg() says why). */
int nft_owned_add(struct nft *nft, const struct nft_owned *t, const struct nft_owned_elems *el,
		  const struct nft_owned_elems *old);

/* Collects into el[] (emptied first) the elements of every set that match() accepts; their
 * comment is not kept, their chain is a copy (own_chains). Returns 0, -ENOENT when the table
 * is missing, or -errno. */
int nft_owned_collect(struct nft *nft, const struct nft_owned *t, struct nft_owned_elems *el,
		      int (*match)(const struct nft_elem *e, unsigned int set, void *data),
		      void *data);

/* Destroys el in one batch. Returns how many, or -errno; 0 when the table is gone. */
int nft_owned_destroy(struct nft *nft, const struct nft_owned *t, const struct nft_owned_elems *el);

/* Destroys the elements of net's attachment cid/ifname (ifname NULL: every attachment of cid
 * in net) in one batch. Idempotent: 0 when there are none or there is no table. */
int nft_owned_del(struct nft *nft, const struct nft_owned *t, const char *net, const char *cid,
		  const char *ifname);

/* Destroys, in one batch, net's elements whose attachment is not valid and elements without
 * a readable owner; other networks' elements stay. is_valid gets the container ID as the
 * comment holds it, which may be its key (name_key_is() tells). Returns the number removed
 * or -errno. */
int nft_owned_gc(struct nft *nft, const struct nft_owned *t, const char *net,
		 bool (*is_valid)(const char *cid, const char *ifname, void *data), void *data);

/* Returns 0 when t->chain has t->nrules rules and every element of want is present, with
 * the same data or verdict, and owned by net's cid/ifname (and, with t->check_exact,
 * nothing else is); -ENOENT with nft_errmsg() naming what differs, or -errno. */
int nft_owned_check(struct nft *nft, const struct nft_owned *t, const char *net, const char *cid,
		    const char *ifname, const struct nft_owned_elems *want);

#endif
