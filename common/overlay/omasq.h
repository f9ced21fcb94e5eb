/* SPDX-License-Identifier: Apache-2.0 */
/* The overlay's masquerade, flanneld's --ip-masq rules in one nftables table of our own
 * (`inet sluice_overlay`, chain postrouting, nat hook): traffic between pods of the
 * cluster network keeps its addresses; pod traffic leaving the cluster network is
 * masqueraded (multicast never); traffic from outside the cluster network to another
 * node's pods is masqueraded; traffic to this node's pods is left alone. IPv4 and IPv6
 * (with an IPv6 network). The rules name the networks as set elements, so a changed lease
 * or network is an element change. */
#ifndef OVERLAY_OMASQ_H
#define OVERLAY_OMASQ_H

#include <stdbool.h>

#include "base/ip.h"

struct err;
struct nft;

#define OMASQ_TABLE "sluice_overlay"

struct omasq_nets {
	struct ip_prefix network, subnet; /* the cluster network and this node's lease */
	struct ip_prefix network6, subnet6; /* ip.family 0: no IPv6 */
};

/* Checks n as omasq_ensure() does before touching the kernel (each family with a network
 * has its node subnet), for a caller that makes other things first. Returns 0 or -EINVAL
 * with err filled (code 7). */
int omasq_validate(const struct omasq_nets *n, struct err *err);

/* Creates the table or corrects its elements (race-free against a concurrent creator).
 * Returns 1 when it changed something, 0 when all was in place, -errno with err filled. */
int omasq_ensure(struct nft *nft, const struct omasq_nets *n, struct err *err);
/* Returns 0 when the table is there with n's networks, -ENOENT / -EINVAL saying what
 * differs in err. */
int omasq_check(struct nft *nft, const struct omasq_nets *n, struct err *err);
/* Starts the batch that omasq_ensure() commits when there is no table (the table, sets,
 * chain, rules and n's elements) without sending it: for tests and tools. Returns 0 or
 * -EINVAL with err filled. */
int omasq_build(struct nft *nft, const struct omasq_nets *n, struct err *err);
/* Deletes the table. Returns 1, 0 when absent, -errno. */
int omasq_del(struct nft *nft, struct err *err);

#endif
