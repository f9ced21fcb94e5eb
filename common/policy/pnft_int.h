/* SPDX-License-Identifier: Apache-2.0 */
/* What pnft.c (encoding, building, replacing) shares with pnft_diff.c (differences) and
 * pnft_frag.c (fragments, scrub, stamp, check, counters). */
#ifndef POLICY_PNFT_INT_H
#define POLICY_PNFT_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "nft/nft.h"
#include "policy/pnft.h"

#define PNFT_STAMP_SET "stamp"
#define PNFT_STAMP_KEY 1U

/* The nft elements of one set's ruleset elements: interval sets' ranges merged where they
 * overlap or touch (the kernel refuses overlapping intervals), an interval of a plain
 * interval set as a start and an end element. */
struct pnft_elems {
	struct nft_elem *e;
	size_t n, cap;
};

/* Appends the nft form of s's elements e[0..n-1] to out. Returns 0, -EINVAL (an element
 * that does not fit the set's kind: nft->errmsg says which, via nft_batch_fail) or -ENOMEM. */
int pnft_encode(struct nft *nft, const struct pol_set *s, const struct pol_elem *e, size_t n,
		struct pnft_elems *out);
void pnft_elems_done(struct pnft_elems *el);

/* The nft definition of a set of that kind named name. */
void pnft_set_def(enum pol_set_kind kind, const char *name, struct nft_set_def *d);
bool pnft_kind_interval(enum pol_set_kind kind);
bool pnft_kind_dispatch(enum pol_set_kind kind);

/* Adds elements (dispatch maps: each key destroyed first, since an element that is present
 * with another verdict would make the add fail). */
int pnft_elems_put(struct nft *nft, const struct pol_set *s, const struct pnft_elems *el);
/* Destroys elements by key (absent ones ignored). */
int pnft_elems_destroy(struct nft *nft, const char *set, const struct pnft_elems *el);

/* Adds class chain c (when new: add, flush, fill), its jumps commented with comment(target)
 * (NULL: none), then the rate-limited log and the counted drop. */
void pnft_cchain_build(struct nft *nft, const struct pol_cchain *c, const struct pnft_opts *o,
		       const char *(*comment)(const char *target, void *data), void *data);

/* "<ns>/<policy>", the policy part cut so that suffix still fits NFT_COMMENT_MAX. */
void pnft_policy_comment(const char *ns, const char *policy, const char *suffix, char *out,
			 size_t size);

const struct pnft_opts *pnft_opts_or_default(const struct pnft_opts *o);

/* For pnft_diff.c: the pieces pnft_replace() builds the table from. */
bool pnft_is_fixed(const char *name); /* a map or set every table has (ing4 ... stamp) */
int pnft_check_fixed(struct nft *nft, const struct pol_ruleset *rs);
int pnft_push(struct pnft_elems *out, const struct nft_elem *e);
void pnft_set_declare(struct nft *nft, const char *name, enum pol_set_kind kind);
void pnft_stamp_put(struct nft *nft, const char *stamp);
/* A policy chain added (flushed) and filled, or only filled */
void pnft_pchain_build(struct nft *nft, const struct pol_ruleset *rs, const struct pol_pchain *c);
void pnft_pchain_fill(struct nft *nft, const struct pol_ruleset *rs, const struct pol_pchain *c);
/* A class chain, its jumps commented from rs's policy chains */
void pnft_cchain_build_rs(struct nft *nft, const struct pol_ruleset *rs, const struct pol_cchain *c,
			  const struct pnft_opts *o);

#endif
