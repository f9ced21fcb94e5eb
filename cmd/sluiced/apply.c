// SPDX-License-Identifier: Apache-2.0
/* sluiced: the policy model into the table inet sluice_policy, one batch: the whole ruleset
 * rendered and changed by difference (a policy changed, or the table is not the one last
 * applied), else only the touched endpoints' fragments, their elements that went deleted
 * and those that came added; then one log line per change. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "policy/pnft.h"
#include "sluiced.h"

static const struct pnft_opts pnft_o = {.nflog_group = POL_NFLOG_GROUP, .log_rate = PNFT_LOG_RATE};

void agent_nft_failed(const struct agent *a, const char *what, int r)
{
	const char *m = nft_errmsg(&a->nft);

	log_error("policy: %s: %s", what, m && m[0] ? m : strerror(-r));
}

int agent_policy_commit_full(struct agent *a, bool same)
{
	struct agent_policy *p = &a->pol;
	struct pol_ruleset rs = {0};
	struct err e = {0};
	int64_t t0 = agent_now_ms(), t1;
	int r;

	r = pol_render(p->model, &rs, &e);
	t1 = agent_now_ms();
	if (r < 0) {
		log_error("policy: rendering the ruleset: %s", e.msg[0] ? e.msg : strerror(-r));
		return r;
	}
	nft_batch_begin(&a->nft);
	r = same ? pnft_diff(&a->nft, &p->last, &rs, &pnft_o) : pnft_replace(&a->nft, &rs, &pnft_o);
	if (r >= 0)
		r = nft_batch_commit(&a->nft);
	if (r < 0 && same) {
		agent_nft_failed(a, "changing the table by difference (replacing it instead)", r);
		nft_batch_begin(&a->nft);
		r = pnft_replace(&a->nft, &rs, &pnft_o);
		if (r >= 0)
			r = nft_batch_commit(&a->nft);
		same = false;
	}
	if (r < 0) {
		agent_nft_failed(a, "replacing the table", r);
		pol_ruleset_free(&rs);
		return r;
	}
	log_debug("policy: rendered in %lld ms, table %s %s in %lld ms", (long long)(t1 - t0),
		  POL_TABLE, same ? "changed by difference" : "replaced",
		  (long long)(agent_now_ms() - t1));
	pol_ruleset_free(&p->last);
	p->last = rs;
	p->have_last = true;
	return 0;
}

struct frag_change {
	struct pol_ruleset went, came;
	size_t nw, nc;
	bool has; /* the endpoint is in the model now */
};

static void changes_free(struct frag_change *c, size_t n)
{
	for (size_t i = 0; c && i < n; i++) {
		pol_ruleset_free(&c[i].went);
		pol_ruleset_free(&c[i].came);
	}
	free(c);
}

/* Each touched endpoint's difference between its fragment before and now. Returns the
 * array (p->nt entries; entries of touches not rendered are empty) or NULL. */
static struct frag_change *frag_changes(struct agent *a)
{
	struct agent_policy *p = &a->pol;
	struct frag_change *c = calloc(p->nt ? p->nt : 1, sizeof(*c));
	struct pol_ruleset classes = {0};

	for (size_t i = 0; c && i < p->nt; i++) {
		struct pol_ruleset after = {0};
		struct err e = {0};
		int r;

		if (!p->t[i].rendered)
			continue;
		r = pol_render_endpoint(p->model, p->t[i].key, &after, &e);
		c[i].has = r == 0;
		if ((r < 0 && r != -ENOENT) ||
		    agent_frag_diff(&p->t[i].before, &after, &c[i].went, &c[i].came, &c[i].nw,
				    &c[i].nc) < 0 ||
		    (p->have_last && agent_frag_new_classes(&p->last, &after, &c[i].came) < 0)) {
			pol_ruleset_free(&after);
			changes_free(c, p->nt);
			c = NULL;
			break;
		}
		/* a class new to the table is added by the first fragment naming it only */
		agent_frag_drop_classes(&c[i].came, &classes);
		pol_ruleset_free(&after);
	}
	pol_ruleset_free(&classes);
	return c;
}

/* Whether an element that went names an IP another endpoint of the model holds (a stale
 * record, a reused IP): nft deletes by key, so deleting it would strip that one's too */
static bool went_shared(const struct pol_model *m, const char *key, const struct pol_ruleset *went)
{
	for (size_t i = 0; i < went->nsets; i++) {
		const struct pol_set *s = &went->sets[i];

		if (s->kind == POL_SET_NET4 || s->kind == POL_SET_NET6 || s->kind == POL_SET_PORTS)
			continue;
		for (size_t j = 0; j < s->n; j++)
			if (pol_model_ip_held(m, &s->e[j].ip, key))
				return true;
	}
	return false;
}

/* Only endpoints' fragments changed: their elements out and in, one batch */
static int commit_frags(struct agent *a, struct frag_change *c)
{
	struct agent_policy *p = &a->pol;
	size_t i;
	int r = 0;

	for (i = 0; i < p->nt; i++)
		if (!p->t[i].rendered || !agent_frag_fits(&p->last, &c[i].went) ||
		    !agent_frag_fits(&p->last, &c[i].came) ||
		    went_shared(p->model, p->t[i].key, &c[i].went))
			return -EAGAIN; /* the whole ruleset, then */
	nft_batch_begin(&a->nft);
	/* every element that went before any that came: an IP may move between endpoints */
	for (i = 0; r >= 0 && i < p->nt; i++)
		if (c[i].went.nsets)
			r = pnft_frag_del(&a->nft, &c[i].went);
	for (i = 0; r >= 0 && i < p->nt; i++)
		if (c[i].came.nsets || c[i].came.ncchains)
			r = pnft_frag_add(&a->nft, &c[i].came, &pnft_o);
	if (r >= 0)
		r = nft_batch_commit(&a->nft);
	if (r < 0) {
		agent_nft_failed(
			a, "changing endpoints' elements (rendering the whole ruleset instead)", r);
		return -EAGAIN;
	}
	for (i = 0; i < p->nt; i++)
		agent_frag_remove(&p->last, &c[i].went);
	for (i = 0; i < p->nt; i++)
		if (agent_frag_insert(&p->last, &c[i].came) < 0) {
			/* the table has it; the copy does not: replace next time */
			p->have_last = false;
			return -ENOMEM;
		}
	return 0;
}

static const char *ep_verb(const struct agent_touch *t, const struct frag_change *c)
{
	return !t->had ? "added" : !c->has ? "removed" : "changed";
}

/* A policy's chains in the ruleset and the elements of the sets its rules use */
static void policy_size(const struct pol_ruleset *rs, const char *rel, size_t *nch, size_t *nel)
{
	const char *nsp = rel + strlen(POL_KEY_POLICIES), *slash = strchr(nsp, '/');
	char seen[64][POL_NAME_MAX];
	size_t ns = 0;

	*nch = *nel = 0;
	if (!slash)
		return;
	for (size_t i = 0; i < rs->npchains; i++) {
		const struct pol_pchain *c = &rs->pchains[i];

		if (strlen(c->ns) != (size_t)(slash - nsp) || strncmp(c->ns, nsp, slash - nsp) ||
		    strcmp(c->policy, slash + 1))
			continue;
		(*nch)++;
		for (size_t j = 0; j < c->nrules; j++) {
			const char *names[3] = {c->rules[j].addr_set, c->rules[j].port_set,
						c->rules[j].named_set};

			for (int k = 0; k < 3; k++) {
				const struct pol_set *s =
					names[k][0] ? pol_ruleset_set(rs, names[k]) : NULL;
				size_t m;

				for (m = 0; s && m < ns; m++)
					if (!strcmp(seen[m], s->name))
						break;
				if (!s || m < ns)
					continue;
				if (ns < 64)
					memcpy(seen[ns++], s->name, POL_NAME_MAX);
				*nel += s->n;
			}
		}
	}
}

/* The elements that came and went for the endpoints a pod or a namespace has: false when
 * one of them was not rendered (the whole ruleset was) */
static bool elems_of(struct agent *a, const struct frag_change *c, const char *rel, size_t *nc,
		     size_t *nw)
{
	struct agent_policy *p = &a->pol;
	char **keys = NULL, key[512];
	size_t n = 0, i;
	bool ok = pol_model_affected(p->model, rel, &keys, &n) == 0;

	*nc = *nw = 0;
	for (i = 0; i < n; i++) {
		struct agent_touch *t;

		snprintf(key, sizeof(key), "%s%s",
			 agent_has_prefix(keys[i], POL_KEY_ENDPOINTS) ? "" : POL_KEY_ENDPOINTS,
			 keys[i]);
		t = agent_touch_find(p, key);
		if (!t || !t->rendered || !agent_policy_tracking(p)) {
			ok = false;
		} else {
			*nc += c[t - p->t].nc;
			*nw += c[t - p->t].nw;
		}
		free(keys[i]);
	}
	free(keys);
	return ok;
}

static void log_changes(struct agent *a, const struct frag_change *c)
{
	struct agent_policy *p = &a->pol;

	for (size_t i = 0; i < p->nlog; i++) {
		const struct agent_plog *l = &p->log[i];
		const char *rel = l->rel;

		if (agent_has_prefix(rel, POL_KEY_POLICIES)) {
			size_t nch, nel;

			if (l->gone) {
				log_info("policy: %s deleted", rel + strlen(POL_KEY_POLICIES));
				continue;
			}
			policy_size(&p->last, rel, &nch, &nel);
			log_info("policy: %s applied (%zu chains, %zu elements)",
				 rel + strlen(POL_KEY_POLICIES), nch, nel);
		} else if (agent_has_prefix(rel, POL_KEY_ENDPOINTS)) {
			struct agent_touch *t = agent_touch_find(p, rel);
			const struct frag_change *fc = t && c ? &c[t - p->t] : NULL;
			const char *name = rel + strlen(POL_KEY_ENDPOINTS);

			if (!fc || !t->rendered)
				log_info("policy: endpoint %s %s", name,
					 l->gone ? "removed" : "changed");
			else if (!t->had || !fc->has)
				log_info("policy: endpoint %s %s (%zu elements)", name,
					 ep_verb(t, fc), t->had ? fc->nw : fc->nc);
			else
				log_info("policy: endpoint %s changed (+%zu -%zu elements)", name,
					 fc->nc, fc->nw);
		} else {
			bool pod = agent_has_prefix(rel, POL_KEY_PODS);
			char el[64] = "";
			size_t nc, nw;

			if (c && elems_of(a, c, rel, &nc, &nw))
				snprintf(el, sizeof(el), ", +%zu -%zu elements", nc, nw);
			log_info("policy: %s %s %s (%zu endpoint%s%s)", pod ? "pod" : "namespace",
				 strchr(rel, '/') + 1, l->gone ? "deleted" : "changed", l->neps,
				 l->neps == 1 ? "" : "s", el);
		}
	}
	agent_plogs_free(p);
}

int agent_policy_commit(struct agent *a)
{
	struct agent_policy *p = &a->pol;
	char kst[POL_STAMP_MAX] = "";
	struct frag_change *c = NULL;
	bool same;
	int r;

	r = pnft_read_stamp(&a->nft, kst);
	if (r < 0) {
		agent_nft_failed(a, "reading the table's stamp", r);
		return r;
	}
	same = p->have_last && r == 1 && !strcmp(kst, p->last.stamp);
	/* someone replaced it: by hand, or sluice-nft-policy's ADD that found policies the
	 * table did not have yet (which the agent, under the lock, now has too) */
	if (p->have_last && !same && r)
		log_info("policy: table %s holds another ruleset (stamp %.12s, not %.12s): "
			 "replacing it",
			 POL_TABLE, kst, p->last.stamp);
	else if (p->have_last && !same)
		log_info("policy: table %s is gone: making it again", POL_TABLE);
	if (p->nt && !(c = frag_changes(a)))
		p->need_full = true;
	r = -EAGAIN;
	if (same && agent_policy_tracking(p))
		r = commit_frags(a, c);
	if (r == -EAGAIN)
		r = agent_policy_commit_full(a, same);
	if (r == 0)
		log_changes(a, c);
	changes_free(c, p->nt);
	return r;
}
