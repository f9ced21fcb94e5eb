/* SPDX-License-Identifier: Apache-2.0 */
/* Bringing a node up on the network: its identity on the underlay, its VTEP MAC (the state
 * file's, else its own lease's in the store, else a new random one: kept across restarts),
 * its lease (subnet_acquire, the previous subnet from subnet.env), and the files the lease
 * produces (subnet.env, the state, the conflist; the conflist last). `sluicectl node up`
 * does this once; sluiced at start, on revocation, and (files only) after each renewal. */
#ifndef SUBNET_NODE_H
#define SUBNET_NODE_H

#include <stddef.h>
#include <stdint.h>

#include "base/ip.h"
#include "subnet/ident.h"
#include "subnet/lease.h"

struct err;
struct store;
struct subnet_conf;
struct subnet_policy_conf;

struct subnet_node_opts {
	const char *iface; /* NULL: found (subnet_ident_find) */
	struct ip_addr pub, pub6; /* family 0: found */
	const char *subnet_file; /* NULL: SUBNET_ENV_DEFAULT */
	const char *cni_dir; /* NULL: SUBNET_CNI_DIR_DEFAULT */
	const char *tmpl; /* conflist template text, NULL: none */
	size_t tmpl_len;
	int64_t ttl; /* 0: SUBNET_TTL_DEFAULT */
	const char *node_name; /* NULL or "": none */
	const char *store_url, *prefix; /* recorded in the state */
	/* NULL: the conflist has no sluice-nft-policy (subnet_conflist_text) */
	const struct subnet_policy_conf *policy;
	bool no_ip_masq; /* the node does not masquerade (sluiced --no-ip-masq): FLANNEL_IPMASQ
			  * and the state's IPMasq false, so the overlay leaves the table alone */
};

/* Finds the identity, the VTEP MAC, and acquires the lease into *ret (subnet_lease_done),
 * *ret_id filled. Returns SUBNET_REUSED/_PREVIOUS/_NEW or -errno with err filled. */
int subnet_node_acquire(struct store *s, const struct subnet_conf *c,
			const struct subnet_node_opts *o, struct subnet_lease *ret,
			struct subnet_ident *ret_id, struct err *err);

/* Writes subnet.env, the state (expiry from l->ttl) and the conflist for lease l, each
 * atomically, the conflist last. Returns 0 or -errno with err filled. */
int subnet_node_write_files(const struct subnet_conf *c, const struct subnet_node_opts *o,
			    const struct subnet_lease *l, const struct subnet_ident *id,
			    struct err *err);

/* Removes the three files (absent ones are fine). Returns 0 or -errno with err filled. */
int subnet_node_remove_files(const struct subnet_node_opts *o, struct err *err);

/* The MTU the node's pods and VXLAN devices get: the config's MTU, else the underlay's,
 * less SUBNET_VXLAN_OVERHEAD, or less SUBNET_VXLAN_OVERHEAD6 with EnableIPv6 (the IPv6
 * device's limit: pods, both devices and subnet.env agree on the smaller one). */
unsigned int subnet_node_mtu(const struct subnet_conf *c, const struct subnet_ident *id);

#endif
