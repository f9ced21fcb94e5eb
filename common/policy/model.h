/* SPDX-License-Identifier: Apache-2.0 */
/* The model's insides, shared by policy/model.c, compile.c and render.c (and their unit
 * tests): objects kept sorted by key, each NetworkPolicy compiled once when it is set into
 * what rendering needs (its selectors, each rule's ipBlock ranges, ports and named ports). */
#ifndef POLICY_MODEL_H
#define POLICY_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/sha256.h"
#include "policy/policy.h"

struct cJSON;

/* Goes into the stamp: a new value whenever the same policies would render differently
 * (names or shapes of sets and chains) */
#define POL_RENDER_FORMAT "sets shared by content\n"

#define POL_SET_ID_LEN 12
#define POL_SET_NAME_LEN 16 /* "a4-" + POL_SET_ID_LEN hex digits + NUL */

/* The kinds of a policy rule's sets, in the order rendering emits their rules */
enum pol_rkind { RK_A4, RK_A6, RK_B4, RK_B6, RK_P, RK_N4, RK_N6, RK_COUNT };
extern const char *const pol_rkind_name[RK_COUNT]; /* "a4", "a6", ... */

struct pol_peer {
	const struct cJSON *pods; /* podSelector, NULL: absent */
	uint64_t pods_hash; /* of its JSON text: which peers repeat one selector */
	const struct cJSON *nss; /* namespaceSelector, NULL: absent (the policy's namespace) */
};

struct pol_named {
	char name[16]; /* an IANA_SVC_NAME is at most 15 characters */
	uint8_t proto;
};

/* One ingress[idx] / egress[idx] of a policy */
struct pol_prule {
	enum pol_dir dir;
	uint16_t idx;
	bool any_peer; /* from/to absent or empty */
	bool any_port; /* ports absent or empty */
	bool named_to_peers; /* egress named ports only of the pods its peers select */
	bool has[RK_COUNT]; /* which of its sets exist */
	struct pol_peer *peers; /* the selector peers */
	size_t npeers;
	struct pol_elem *net[2]; /* b4, b6: merged ranges */
	size_t nnet[2];
	struct pol_elem *ports; /* p: merged ranges */
	size_t nports;
	struct pol_named *named;
	size_t nnamed;
	/* its sets' names, "<kind>-<hex>" (POL_SET_ID_LEN hex digits of sha256 of what the set
	 * holds: rules and policies that would hold the same elements share one set), and a
	 * check of the rest of that digest (two identities with one name are refused) */
	char set[RK_COUNT][POL_SET_NAME_LEN];
	uint64_t set_key[RK_COUNT]; /* a hash of the name, for the renderer's table */
	uint64_t set_chk[RK_COUNT];
};

struct pol_policy {
	char *key; /* "<ns>/<name>" */
	char ns[64], name[254];
	char id[11]; /* POL_ID_LEN hex digits of sha256("<ns>/<name>") */
	struct cJSON *json; /* the normalized object (owned) */
	uint8_t digest[SHA256_LEN]; /* of its unformatted JSON, for the stamp */
	bool dir[2]; /* policyTypes */
	const struct cJSON *podsel; /* spec.podSelector */
	struct pol_prule *rules[2];
	size_t nrules[2];
};

/* An object of the model under its key (relative, less its kind's folder) */
struct pol_entry {
	char *key;
	void *val; /* cJSON (namespaces, pods), struct pol_policy, struct pol_endpoint */
};

struct pol_table {
	struct pol_entry *e;
	size_t n, cap;
};

enum { T_NS, T_POD, T_POL, T_EP, T_COUNT };

struct pol_model {
	char node[254];
	struct pol_table t[T_COUNT];
};

#define POL_ID_LEN 10

/* policy/compile.c: compiles a normalized NetworkPolicy (owned by p on success) */
int pol_policy_compile(struct cJSON *json, const char *ns, const char *name,
		       struct pol_policy **ret, struct err *err);
void pol_policy_free(struct pol_policy *p);
/* the name of set kind k of rule r (its shared set, "<kind>-<hex>") */
void pol_rule_set_name(const struct pol_prule *r, int k, char out[POL_NAME_MAX]);
/* "pi-<id>" / "pe-<id>" */
void pol_policy_chain(const struct pol_policy *p, enum pol_dir dir, char out[POL_NAME_MAX]);
/* the first n hex digits of sha256(s[0..len)) into out (n + 1 bytes) */
void pol_hex_digest(const void *s, size_t len, size_t n, char *out);

/* policy/selector.c: whether a LabelSelector (not NULL) matches labels (an object of
 * strings, NULL: no labels) */
bool pol_sel_match(const struct cJSON *sel, const struct cJSON *labels);

/* Remembers, for one pod at a time, what each distinct selector said: many peers of many
 * policies repeat one selector ("role: monitoring") */
struct pol_memo {
	struct pol_memo_key {
		uint64_t hash;
		uint32_t id; /* 0: free, else id + 1 */
	} * keys; /* open addressing, a power of two long */
	size_t nkeys;
	struct pol_memo_sel {
		const struct cJSON *sel;
		uint32_t gen; /* the pod it was last evaluated for */
		bool match;
	} * sels;
	size_t nsels, cap;
	uint32_t gen;
};
/* the id of a selector (hash: pol_peer.pods_hash), or -ENOMEM */
long pol_memo_id(struct pol_memo *mm, const struct cJSON *sel, uint64_t hash);
/* whether selector id matches labels, the labels of the pod since pol_memo_next() */
bool pol_memo_match(struct pol_memo *mm, uint32_t id, const struct cJSON *labels);
void pol_memo_next(struct pol_memo *mm);
void pol_memo_done(struct pol_memo *mm);

/* policy/model.c: index of key in t, or -(insertion point) - 1 */
long pol_table_find(const struct pol_table *t, const char *key);
/* the first index whose key starts with prefix (may be t->n) */
size_t pol_table_lower(const struct pol_table *t, const char *prefix);

#endif
