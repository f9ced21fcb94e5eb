/* SPDX-License-Identifier: Apache-2.0 */
/* Kubernetes NetworkPolicy as a ruleset: the objects a node needs (Namespaces, Pods,
 * NetworkPolicies, and the endpoints sluice-nft-policy records) in a model fed by store keys,
 * and a pure renderer from that model to a ruleset (sets, elements, chains) that
 * policy/pnft.c turns into nftables batches. No kernel, no store I/O here.
 *
 * The ruleset, one table `inet sluice_policy` (the shape is fixed; only its names and
 * elements vary):
 *
 *   chain egress   forward hook, priority filter - 1: ct state established,related accept;
 *                  ip saddr vmap @egr4; ip6 saddr vmap @egr6
 *   chain ingress  forward hook, priority filter:     ct state established,related accept;
 *                  ip daddr vmap @ing4; ip6 daddr vmap @ing6
 *     (two base chains so that an accept of the source's egress policy ends only the first
 *     and the destination's ingress policy still decides; a drop is final)
 *   maps ing4/ing6/egr4/egr6  IP of a pod ON THIS NODE that some policy isolates in that
 *                  direction -> goto its class chain (no element: not isolated, accepted)
 *   chain ci-<hash>/ce-<hash>  a class: the sorted list of policies selecting a pod in that
 *                  direction: jump pi-<id> / pe-<id> for each, then a rate-limited NFLOG
 *                  (prefix = the class chain's name) and a counted drop. Pods with the same
 *                  policies share one class chain.
 *   chain pi-<id>/pe-<id>  one policy's ingress / egress rules, each `counter accept`
 *                  (an accept ends the base chain: allowed by any one policy is allowed)
 *   rule sets      shared by content: a4/a6 pod peers' IPs (hash), b4/b6 ipBlocks minus
 *                  their excepts (intervals), p protocol . port ranges (intervals), n4/n6
 *                  named ports resolved per destination pod: IP . protocol . port (hash)
 *   set stamp      one element whose comment is the stamp of the policies rendered
 *
 * A policy rule becomes up to (address sets x port forms) nft rules, all with the same
 * rule index. Ingress rules match the source against the peer sets, egress rules the
 * destination; named ports always match the destination (the pod the port belongs to).
 * An endpoint coming or going changes elements only (and may add a class chain the first
 * time a pod has that combination of policies); a policy change re-renders the skeleton. */
#ifndef POLICY_POLICY_H
#define POLICY_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/ip.h"

struct cJSON;
struct err;

#define POL_TABLE "sluice_policy" /* family inet */
#define POL_NFLOG_GROUP 2718 /* default NFLOG group of the drop logs */
#define POL_NAME_MAX 48 /* set and chain names, with their NUL */
#define POL_STAMP_MAX 96

/* Names (pnft, the plugin, the agent and the tests rely on them):
 *   policy id      the first 10 hex digits of sha256("<ns>/<name>")
 *   policy chains  "pi-<id>" (ingress), "pe-<id>" (egress): present iff the policy's
 *                  policyTypes has that direction
 *   class chains   "ci-<h>" / "ce-<h>", h = the first 10 hex digits of sha256 of the sorted
 *                  target chain names joined by ','
 *   rule sets      "<kind>-<h>", kind a4 a6 (pod peers, ADDR4/6), b4 b6 (ipBlocks,
 *                  NET4/6), p (PORTS), n4 n6 (NAMED4/6); a rule has a4+a6 iff it has a
 *                  selector peer, b4/b6 iff ipBlocks of that family, p iff numeric or
 *                  protocol-only ports, n4+n6 iff named ports. h = the first 12 hex digits
 *                  of sha256 of what decides the elements (the selector peers with their
 *                  namespace conditions, the ranges, the named ports and whose they are):
 *                  rules of any policies holding the same elements share one set
 *                  (README "Shared sets"); two identities with one name are refused
 *   dispatch maps  "ing4" "ing6" "egr4" "egr6", one element per IP (two records claiming one
 *                  IP, one of them stale: the class first by name); the stamp set "stamp"
 *                  (one element: port 1)
 * A PORTS element of a protocol-only entry is proto . [0, 65535]. pol_render() refuses
 * (-EEXIST, naming them) two policies whose ids collide. */
#define POL_SET_ING4 "ing4"
#define POL_SET_ING6 "ing6"
#define POL_SET_EGR4 "egr4"
#define POL_SET_EGR6 "egr6"
#define POL_SET_STAMP_NAME "stamp"

/* Store keys, relative to the prefix ("<prefix>/" + these) */
#define POL_KEY_NAMESPACES "namespaces/"
#define POL_KEY_PODS "pods/"
#define POL_KEY_POLICIES "policies/"
#define POL_KEY_ENDPOINTS "endpoints/" /* endpoints/<node>/<containerID>-<ifName> */
#define POL_KEY_AGENTS "agents/" /* agents/<node>: {"node","policyRevision","updated"} */

enum pol_dir { POL_IN = 0, POL_OUT = 1 };

/* --- The ruleset ---------------------------------------------------------------------- */

enum pol_set_kind {
	POL_SET_ADDR4, /* ipv4_addr, hash */
	POL_SET_ADDR6, /* ipv6_addr, hash */
	POL_SET_NET4, /* ipv4_addr, interval: elements are [ip, end] ranges */
	POL_SET_NET6,
	POL_SET_PORTS, /* inet_proto . inet_service, interval: proto . [port, port_end] */
	POL_SET_NAMED4, /* ipv4_addr . inet_proto . inet_service, hash */
	POL_SET_NAMED6,
	POL_SET_DISPATCH4, /* ipv4_addr : verdict (goto chain) */
	POL_SET_DISPATCH6,
	POL_SET_STAMP, /* mark, one element (key 1) carrying the stamp as its comment */
};

struct pol_elem {
	struct ip_addr ip, end; /* end: NET sets (inclusive); ip unused in PORTS */
	uint8_t proto; /* IPPROTO_TCP/UDP/SCTP: PORTS and NAMED */
	uint16_t port, port_end; /* PORTS: inclusive range; NAMED: port_end == port */
	char chain[POL_NAME_MAX]; /* DISPATCH: the class chain */
};

struct pol_set {
	char name[POL_NAME_MAX];
	enum pol_set_kind kind;
	struct pol_elem *e; /* sorted by pol_elem_cmp(), no duplicates */
	size_t n, cap;
};

/* One nft rule of a policy chain; compared field by field (pol_rule_eq) */
struct pol_rule {
	uint8_t family; /* NFPROTO_IPV4, NFPROTO_IPV6, or 0: no address match (both) */
	char addr_set[POL_NAME_MAX]; /* "": any peer; else IN: saddr, OUT: daddr in @set */
	char port_set[POL_NAME_MAX]; /* "": any; else meta l4proto . th dport in @set */
	char named_set[POL_NAME_MAX]; /* "": none; else daddr . l4proto . th dport in @set */
	uint16_t index; /* the policy's ingress[index] / egress[index] */
};

/* A policy's chain pi-<id> (IN) or pe-<id> (OUT) */
struct pol_pchain {
	char name[POL_NAME_MAX];
	enum pol_dir dir;
	char ns[64], policy[254]; /* for comments "<ns>/<policy> ingress[i]" and stats */
	struct pol_rule *rules;
	size_t nrules;
};

/* A class chain ci-<hash> / ce-<hash>: jumps to each policy chain in order, then log+drop */
struct pol_cchain {
	char name[POL_NAME_MAX];
	enum pol_dir dir;
	char (*targets)[POL_NAME_MAX]; /* policy chain names, sorted */
	size_t ntargets;
};

/* Everything in the table but its fixed base chains and maps' declarations. Sets, chains
 * and classes are sorted by name. A fragment (one endpoint's part) uses the same struct:
 * only the sets it puts elements in, with only those elements, and the classes it needs. */
struct pol_ruleset {
	struct pol_set *sets;
	size_t nsets;
	struct pol_pchain *pchains;
	size_t npchains;
	struct pol_cchain *cchains;
	size_t ncchains;
	char stamp[POL_STAMP_MAX]; /* the policies' stamp ("" in a fragment) */
};

void pol_ruleset_free(struct pol_ruleset *rs); /* and zeroes it */
int pol_elem_cmp(const struct pol_elem *a, const struct pol_elem *b, enum pol_set_kind kind);
bool pol_rule_eq(const struct pol_rule *a, const struct pol_rule *b);
/* The set of that name, or NULL (binary search) */
const struct pol_set *pol_ruleset_set(const struct pol_ruleset *rs, const char *name);
/* Human-readable nft-like text of the whole ruleset, for tests and `--dry-run` (malloc'd) */
char *pol_ruleset_text(const struct pol_ruleset *rs);

/* --- The model ------------------------------------------------------------------------ */

struct pol_model;

/* The endpoint sluice-nft-policy records at <prefix>/endpoints/<node>/<cid>-<ifname>:
 * {"containerID","ifName","namespace","pod","node","ips":[..],"hostVeth","labels":{..}}
 * labels (from args.cni.labels) only when the ADD carried them; a Pod object in the store
 * takes precedence over them. */
struct pol_endpoint {
	char cid[256], ifname[16], ns[64], pod[254], node[254], veth[16];
	struct ip_addr ips[8];
	size_t nips;
	struct cJSON *labels; /* NULL: none given */
};
/* JSON of an endpoint record (malloc'd text), and back (ep->labels owned by ep). */
char *pol_endpoint_json(const struct pol_endpoint *ep);
int pol_endpoint_parse(const char *text, size_t len, struct pol_endpoint *ep, struct err *err);
void pol_endpoint_done(struct pol_endpoint *ep);

/* A model for node (the node whose pods get dispatch elements; others' endpoints only
 * fill peer sets). NULL on ENOMEM. */
struct pol_model *pol_model_new(const char *node);
void pol_model_free(struct pol_model *m);

/* Feeds one store key, relative to the prefix ("policies/x/deny", "pods/x/a",
 * "namespaces/x", "endpoints/n1/<cid>-eth0") with its value, or removes it (value NULL).
 * Keys of other kinds are ignored (returns 0). Objects are validated and normalized as
 * `sluicectl apply` does (k8s_object_parse); an invalid one is refused (-EINVAL, err says
 * why) and the model keeps its previous state for that key. Returns 1 when the model
 * changed, 0 when not, or -errno. */
int pol_model_set(struct pol_model *m, const char *rel_key, const char *value, size_t len,
		  struct err *err);

/* What a change of rel_key would touch: POL_AFFECT_POLICIES when the skeleton depends on it
 * (a policy), else the endpoints whose fragments depend on it (an endpoint: itself; a pod:
 * its endpoints; a namespace: the endpoints in it), appended to *keys (relative endpoint
 * keys, malloc'd, the caller frees each and the array). Call before and after
 * pol_model_set() and re-render the union. */
#define POL_AFFECT_POLICIES 1
int pol_model_affected(const struct pol_model *m, const char *rel_key, char ***keys,
		       size_t *nkeys);

/* Whether an endpoint other than rel_key (relative endpoint key) holds ip: removing
 * rel_key's elements by key would strip that one's too */
bool pol_model_ip_held(const struct pol_model *m, const struct ip_addr *ip, const char *rel_key);

/* The stamp of the model's policies: a hash of their normalized content (never of store
 * revisions, which differ between etcd and a node's mirror of it). */
void pol_model_stamp(const struct pol_model *m, char out[POL_STAMP_MAX]);

/* Renders the whole ruleset. Returns 0 or -errno (ENOMEM). */
int pol_render(const struct pol_model *m, struct pol_ruleset *out, struct err *err);
/* Renders one endpoint's fragment (its dispatch elements when it is on the model's node,
 * its IPs in the peer and named-port sets of every policy rule it matches, and the class
 * chains its dispatch elements name), as it is inside pol_render()'s output: the full
 * ruleset is the skeleton plus every endpoint's fragment. rel_key names the endpoint;
 * -ENOENT when the model has none. */
int pol_render_endpoint(const struct pol_model *m, const char *rel_key, struct pol_ruleset *out,
			struct err *err);

#endif
