/* SPDX-License-Identifier: Apache-2.0 */
/* The bridge's ipMasq in nftables: one table `inet sluice_masq`, created once with static
 * rules, and per-attachment set elements whose comment "<cid>/<ifname>/<network hash>"
 * (common/nft_owned.h) names their owner, so networks sharing the table never touch each
 * other's elements. */
#ifndef MASQ_H
#define MASQ_H

#include <stdbool.h>
#include <stddef.h>

struct nft;
struct nft_owned;
struct ip_prefix;

#define MASQ_TABLE "sluice_masq"
#define MASQ_CHAIN "postrouting"
#define MASQ_ADDRS_MAX 16

/* The table's description (sets, rules), for tests and tools. */
extern const struct nft_owned masq_owned;

/* Masquerades traffic from each address to destinations outside its prefix (addrs hold the
 * pod's address and prefix length, "10.22.0.5/24"); multicast never. net is the network's
 * name. Creates the table on first use, race-free against concurrent callers. One batch on
 * the common path. Returns 0 or -errno (nft_errmsg() says why). */
int masq_add(struct nft *nft, const char *net, const char *cid, const char *ifname,
	     const struct ip_prefix *addrs, size_t n);

/* Removes the elements of net's attachment cid/ifname (ifname NULL: every attachment of cid
 * in net), found by their comments, in one batch. Idempotent: 0 when there are none or no
 * table. */
int masq_del(struct nft *nft, const char *net, const char *cid, const char *ifname);

/* Returns 0 when the table, its rules and every element masq_add() would add for this
 * attachment are present, -ENOENT (with nft_errmsg() naming what is missing) or -errno. */
int masq_check(struct nft *nft, const char *net, const char *cid, const char *ifname,
	       const struct ip_prefix *addrs, size_t n);

/* Removes, in one batch, net's elements whose owner is not valid (is_valid returns false)
 * and elements without a readable owner; other networks' elements stay. Returns the number
 * removed or -errno. */
int masq_gc(struct nft *nft, const char *net,
	    bool (*is_valid)(const char *cid, const char *ifname, void *data), void *data);

#endif
