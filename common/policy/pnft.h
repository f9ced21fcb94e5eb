/* SPDX-License-Identifier: Apache-2.0 */
/* The policy ruleset (policy/policy.h) in the kernel: table `inet sluice_policy` built,
 * replaced, changed by difference, read back. Every function appends to the caller's batch
 * (nft_batch_begin() before, nft_batch_commit() after: one atomic batch per change) unless
 * it says it queries. Applying is idempotent, since sluice-nft-policy and sluiced both
 * write the table (serialized by pol_lock(), but either may have done part of the
 * other's work): adds never use EXCL, deletes use NFT_F_DESTROY, and a chain that is new
 * in a difference is added, flushed and filled (so a chain someone else made first is not
 * filled twice).
 *
 * Beyond policy.h's shape, the base chains accept IPv6 neighbour discovery (ICMPv6 types
 * 133-137) after `ct state established,related accept`: conntrack does not track it, and an
 * isolated pod must still resolve its neighbours. Class chains log only with log_rate > 0. */
#ifndef POLICY_PNFT_H
#define POLICY_PNFT_H

#include <stdint.h>

#include "policy/policy.h"

struct nft;
struct err;

struct pnft_opts {
	uint16_t nflog_group; /* POL_NFLOG_GROUP by default */
	uint32_t log_rate; /* drop logs per second per class chain (burst the same), 0: none */
};
#define PNFT_LOG_RATE 10

/* Deletes the table when it exists and creates it anew with all of rs, in the batch: the
 * ruleset is replaced atomically (connections keep their conntrack state). */
int pnft_replace(struct nft *nft, const struct pol_ruleset *rs, const struct pnft_opts *o);

/* Changes the table from old to new in the batch: new sets and chains, changed chains
 * flushed and refilled, element differences, then what is gone (dispatch elements before
 * the class chains they name, class chains before the policy chains they jump to, rules
 * before the sets they use). Both rulesets complete (pol_render()). */
int pnft_diff(struct nft *nft, const struct pol_ruleset *old, const struct pol_ruleset *new,
	      const struct pnft_opts *o);

/* Adds a fragment (pol_render_endpoint()) to a table that exists: its class chains when
 * absent (queries the kernel for which), then its elements; and deletes one: its elements
 * (absent ones ignored), never its class chains (others may use them). Without the table
 * (or one of the fragment's sets) the commit fails with -ENOENT: read the stamp first. */
int pnft_frag_add(struct nft *nft, const struct pol_ruleset *frag, const struct pnft_opts *o);
int pnft_frag_del(struct nft *nft, const struct pol_ruleset *frag);

/* Deletes ip from every address and named-port set of the table (absent ones ignored) and
 * from the dispatch maps: what an endpoint may have left under labels it no longer has.
 * Queries the set names, appends the deletes. */
int pnft_scrub_ip(struct nft *nft, const struct ip_addr *ip);

/* Queries: the stamp of the table in the kernel into out ("" when none): returns 1 when the
 * table exists, 0 when not, -errno. */
int pnft_read_stamp(struct nft *nft, char out[POL_STAMP_MAX]);
/* Queries whether every element and class chain of frag is in the kernel: 0, or -ENOENT
 * with err naming the first one missing (CHECK). */
int pnft_frag_check(struct nft *nft, const struct pol_ruleset *frag, struct err *err);

/* Counters read back (`sluicectl policy stats`): one row per rule of a policy chain and per
 * class chain's drop rule, in table order. */
struct pnft_counter {
	char chain[POL_NAME_MAX];
	char comment[128]; /* "<ns>/<policy> ingress[i]", "<ns>/<policy> egress[i]", or for a
			    * class's drop "drop: <ns>/<p1>,<ns>/<p2>" */
	uint64_t packets, bytes;
};
/* Fills *out (malloc'd array, the caller frees) and *n. Returns 0, -ENOENT (no table), or
 * -errno. */
int pnft_counters(struct nft *nft, struct pnft_counter **out, size_t *n);

/* Which policies a class chain stands for (NFLOG prefix -> "ns/p1,ns/p2"), from the kernel:
 * the comments of the policy chains its jumps name. Returns 0 or -errno. */
int pnft_class_policies(struct nft *nft, const char *class_chain, char *out, size_t size);

/* --- Coordination between the plugin and the agent ----------------------------------- */

/* Takes the node's policy lock, <run_dir>/policy.lock (flock, exclusive, blocking up to
 * timeout_ms). Returns an fd to give to pol_unlock(), or -errno (-ETIMEDOUT) with err. */
int pol_lock(const char *run_dir, int timeout_ms, struct err *err);
void pol_unlock(int fd);

/* <run_dir>/POL_SOCK: sluiced's unix stream socket where sluice-nft-policy asks the agent
 * to put an endpoint under policy (or take it out) with the model the agent holds compiled.
 * One JSON line each way per connection: {"op":"add"|"del","key":"endpoints/<node>/<cid>-
 * <ifname>","record":{..}} (record: add only, the very record the plugin wrote), answered
 * {"ok":true,"elements":N,"stamp":S} once committed, or {"ok":false,"code":C,"msg":M}. */
#define POL_SOCK "policy.sock"

#endif
