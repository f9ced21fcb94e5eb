/* SPDX-License-Identifier: Apache-2.0 */
/* What policy/render.c (an endpoint's fragment) and policy/skeleton.c (the policies' sets
 * and chains) share: one rendering's context. The full render and a fragment run the same
 * code, into the full ruleset or into a fragment of its own. */
#ifndef POLICY_RENDER_H
#define POLICY_RENDER_H

#include "policy/model.h"

struct cJSON;

/* A selector peer whose namespace part matches a namespace */
struct pol_pref {
	uint32_t gid; /* the rule's number in the rendering */
	const struct cJSON *pods; /* its podSelector, NULL: every pod of the namespace */
	int32_t sel; /* the podSelector's id in the memo (a full render), else -1 */
};

struct pol_nsinfo {
	char name[64];
	const struct cJSON *labels;
	struct cJSON *own; /* labels made up for a namespace with no Namespace object */
	struct pol_pref *peers;
	size_t npeers;
};

struct pol_rinfo {
	const struct pol_policy *p;
	const struct pol_prule *r;
};

/* A named port an egress rule names (the index of them, sorted by name and protocol), or one
 * a pod has */
struct pol_nport {
	const char *name;
	uint8_t proto;
	uint16_t port; /* a pod's: its number */
	uint32_t gid; /* an egress rule's: the rule (one per shared named-port set) */
};

/* One shared set: the rules naming it agree on its elements */
struct pol_slot {
	const char *name; /* a rule's set[k] */
	uint64_t key, chk;
	enum pol_set_kind kind;
	uint32_t gid; /* the first rule naming it (its ranges: b4, b6, p) */
	int set; /* index in out->sets, -1: none yet */
	uint32_t gen; /* a4 and named sets: the fragment that filled it last */
};

struct pol_rctx {
	const struct pol_model *m;
	struct err *err; /* what pol_skeleton() refuses */
	struct pol_ruleset *out;
	bool full; /* sets made up front (the skeleton), else as a fragment needs them */
	struct pol_rinfo *rules; /* every rule of every policy, numbered (gid) */
	size_t nrules;
	size_t (*first)[2]; /* per policy (table order), its first rule's gid per direction */
	struct pol_nport *named_out; /* the named ports of egress rules, sorted */
	size_t nnamed_out;
	int *sid; /* [gid * RK_COUNT + kind]: the rule's shared set in slots, -1: none */
	struct pol_slot *slots;
	size_t nslots;
	uint32_t gen; /* the fragment being rendered */
	int disp[2][2]; /* [dir][v6] */
	size_t setcap, cchcap;
	struct pol_memo memo;
	struct pol_nsinfo *ns; /* sorted by name, made as endpoints need them */
	size_t nns, nscap;
};

/* refuses (-EEXIST, err says which) two different sets with one name */
int pol_rctx_init(struct pol_rctx *c, const struct pol_model *m, struct pol_ruleset *out, bool full,
		  struct err *err);
void pol_rctx_done(struct pol_rctx *c);
/* policy/skeleton.c: every set (elements of ipBlocks and ports), every chain, the stamp */
int pol_skeleton(struct pol_rctx *c);
/* a new empty set at the end of c->out->sets; its index or -ENOMEM */
int pol_rctx_add_set(struct pol_rctx *c, const char *name, enum pol_set_kind kind);
extern const enum pol_set_kind pol_rkind_set[RK_COUNT];

#endif
