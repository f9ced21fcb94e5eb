/* SPDX-License-Identifier: Apache-2.0 */
/* Drops as sluiced's collector keeps them (<run_dir>/drops.json) and `sluicectl drops`
 * shows them: an NFLOG packet of a class chain's log rule (nft/nflog.h), with the policies
 * that class stands for (pnft_class_policies, cached) and the pods its addresses belong to
 * (the store's endpoint records). */
#ifndef POLICY_DROP_H
#define POLICY_DROP_H

#include <stdint.h>

#include "nft/nflog.h"
#include "policy/policy.h"

struct cJSON;
struct err;
struct nft;
struct store;

#define POL_DROPS_MAX 256 /* drops the collector keeps, newest last */
#define POL_DROPS_FILE "drops.json" /* in the run dir */
#define POL_POD_MAX 320 /* "<ns>/<pod>" */

struct pol_drop {
	struct nflog_pkt pkt;
	char policies[1024]; /* "ns/p1,ns/p2": what the class chain stands for; "" unknown */
	char src_pod[POL_POD_MAX], dst_pod[POL_POD_MAX]; /* "" when not a known endpoint */
};

/* The drop as JSON: {"time" (RFC 3339, UTC, microseconds), "class", "direction"
 * ("ingress" for ci-*, "egress" for ce-*, else null), "policies": [..], "src", "dst",
 * "proto" ("tcp", "udp", "sctp", "icmp", "icmpv6", or the number), "sport" and "dport"
 * (with ports), "icmpType" and "icmpCode" (ICMP), "srcPod" and "dstPod" (null unknown),
 * "indev", "outdev", "physindev", "physoutdev" (ifindex, with them), "len"}. */
struct cJSON *pol_drop_json(const struct pol_drop *d);
/* The protocol's name as pol_drop_json writes it (buf: at least 8 bytes) */
const char *pol_proto_name(uint8_t proto, char *buf);

/* Class chain -> the policies it stands for, looked up in the kernel once per name (a class
 * chain's name is derived from its list of policies, so an entry never goes stale). */
struct pol_classes {
	struct pol_class_entry *e;
	size_t n, cap;
};
/* The policies of chain, "" when the kernel has no such chain (not cached then). nft: a
 * socket in the table's netns. */
const char *pol_classes_get(struct pol_classes *c, struct nft *nft, const char *chain);
void pol_classes_done(struct pol_classes *c);

/* IP -> "<ns>/<pod>" from the store's endpoint records (<prefix>/endpoints/), every node's */
struct pol_pods {
	struct pol_pod_entry *e;
	size_t n;
};
/* (Re)loads the index. Returns the number of addresses, or -errno with err. */
int pol_pods_load(struct pol_pods *p, struct store *s, const char *prefix, struct err *err);
/* The pod of ip, or NULL */
const char *pol_pods_find(const struct pol_pods *p, const struct ip_addr *ip);
void pol_pods_done(struct pol_pods *p);

#endif
