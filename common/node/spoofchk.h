/* SPDX-License-Identifier: Apache-2.0 */
/* The bridge's macspoofchk in nftables: one table `bridge sluice_spoofchk`, created once with
 * static rules, drops frames entering the bridge from a pod's host veth with a source MAC
 * other than the pod's. Per attachment: set elements commented "<cid>/<ifname>/<network
 * hash>" (common/nft_owned.h). */
#ifndef SPOOFCHK_H
#define SPOOFCHK_H

#include <stdbool.h>
#include <stdint.h>

struct nft;
struct nft_owned;

#define SPOOFCHK_TABLE "sluice_spoofchk"
#define SPOOFCHK_CHAIN "prerouting"

/* The table's description (sets, rules), for tests and tools. */
extern const struct nft_owned spoofchk_owned;

/* Puts host_if, the host end of net's attachment cid/ifname, under check: frames from it
 * pass only with source mac. Replaces what host_if had (a re-ADD, a lost DEL), so the port
 * allows exactly one MAC. Creates the table on first use, race-free; one batch on the
 * common path. Returns 0 or -errno (nft_errmsg() says why). */
int spoofchk_add(struct nft *nft, const char *net, const char *cid, const char *ifname,
		 const char *host_if, const uint8_t mac[6]);

/* Removes the elements of net's attachment cid/ifname (ifname NULL: every attachment of cid
 * in net), found by their comments, in one batch. Idempotent: 0 when there are none. */
int spoofchk_del(struct nft *nft, const char *net, const char *cid, const char *ifname);

/* Returns 0 when the rules are in place and the attachment's elements are exactly those
 * spoofchk_add() adds; -ENOENT with nft_errmsg() naming the difference, or -errno. */
int spoofchk_check(struct nft *nft, const char *net, const char *cid, const char *ifname,
		   const char *host_if, const uint8_t mac[6]);

/* Removes, in one batch, net's elements whose owner is not valid (is_valid returns false)
 * and elements without a readable owner; other networks' elements stay. Returns the number
 * removed or -errno. */
int spoofchk_gc(struct nft *nft, const char *net,
		bool (*is_valid)(const char *cid, const char *ifname, void *data), void *data);

#endif
