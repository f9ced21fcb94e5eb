// SPDX-License-Identifier: Apache-2.0
/* sluiced: the node's NetworkPolicy table (inet sluice_policy) kept in step with the store.
 * Namespaces, pods, policies and every node's endpoints feed one model; the events ready at
 * a wake-up are taken together, under the node's policy lock (which sluice-nft-policy takes
 * around its own changes): a policy changed renders the whole ruleset and changes the table
 * by difference against the one last applied; only endpoints, pods or namespaces changed
 * patch the elements of the endpoints they touch. The revision applied goes into
 * <prefix>/agents/<node> and the status file, for `sluicectl wait`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "base/fs.h"
#include "base/log.h"
#include "policy/pnft.h"
#include "store/store.h"
#include "subnet/files.h"
#include "sluiced.h"

#define POL_LOCK_MS 5000
/* more endpoints touched by one batch: the whole ruleset rendered rather than each one's
 * fragment twice */
#define POL_FRAG_MAX 256

static const struct pnft_opts pnft_o = {.nflog_group = POL_NFLOG_GROUP, .log_rate = PNFT_LOG_RATE};

static bool has_prefix(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

bool agent_policy_rel_relevant(const char *rel)
{
	return has_prefix(rel, POL_KEY_NAMESPACES) || has_prefix(rel, POL_KEY_PODS) ||
	       has_prefix(rel, POL_KEY_POLICIES) || has_prefix(rel, POL_KEY_ENDPOINTS);
}

static const char *rel_of(const struct agent *a, const char *key)
{
	return has_prefix(key, a->pol.pfx) ? key + strlen(a->pol.pfx) : NULL;
}

static bool mirror(const struct agent *a)
{
	return a->pol.local != NULL;
}

/* --- keys whose invalid value was logged ---------------------------------------------- */

static ssize_t bad_find(const struct agent_policy *p, const char *rel)
{
	for (size_t i = 0; i < p->nbad; i++)
		if (!strcmp(p->bad[i], rel))
			return (ssize_t)i;
	return -1;
}

static void bad_set(struct agent_policy *p, const char *rel, bool bad)
{
	ssize_t i = bad_find(p, rel);
	char **n;

	if (!bad && i >= 0) {
		free(p->bad[i]);
		p->bad[i] = p->bad[--p->nbad];
	} else if (bad && i < 0 && (n = realloc(p->bad, (p->nbad + 1) * sizeof(*n)))) {
		p->bad = n;
		if ((n[p->nbad] = strdup(rel)))
			p->nbad++;
	}
}

/* --- the endpoints a batch touches ----------------------------------------------------- */

static struct agent_touch *touch_find(struct agent_policy *p, const char *key)
{
	for (size_t i = 0; i < p->nt; i++)
		if (!strcmp(p->t[i].key, key))
			return &p->t[i];
	return NULL;
}

static void touches_free(struct agent_policy *p)
{
	for (size_t i = 0; i < p->nt; i++) {
		free(p->t[i].key);
		pol_ruleset_free(&p->t[i].before);
	}
	free(p->t);
	p->t = NULL;
	p->nt = p->tcap = 0;
}

/* key's fragment as the model has it now, noted once per batch. -E2BIG past POL_FRAG_MAX. */
static int touch_note(struct agent *a, const char *key)
{
	struct agent_policy *p = &a->pol;
	struct agent_touch *t;
	struct err e = {0};
	int r;

	if (touch_find(p, key))
		return 0;
	if (p->nt == POL_FRAG_MAX)
		return -E2BIG;
	if (p->nt == p->tcap) {
		size_t cap = p->tcap ? p->tcap * 2 : 16;
		struct agent_touch *n = realloc(p->t, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		p->t = n;
		p->tcap = cap;
	}
	t = &p->t[p->nt];
	memset(t, 0, sizeof(*t));
	if (!(t->key = strdup(key)))
		return -ENOMEM;
	r = pol_render_endpoint(p->model, key, &t->before, &e);
	if (r < 0 && r != -ENOENT) {
		log_error("policy: rendering endpoint %s: %s", key, e.msg);
		free(t->key);
		return r;
	}
	t->had = r == 0;
	t->rendered = true;
	p->nt++;
	return 0;
}

/* Whether the batch still patches fragments (else the whole ruleset is rendered) */
static bool tracking(const struct agent_policy *p)
{
	return p->have_last && !p->policies_changed && !p->need_full;
}

static void plog_add(struct agent_policy *p, const char *rel, bool gone, size_t neps)
{
	struct agent_plog *n;

	if (p->nlog == p->logcap) {
		size_t cap = p->logcap ? p->logcap * 2 : 16;

		if (!(n = realloc(p->log, cap * sizeof(*n))))
			return;
		p->log = n;
		p->logcap = cap;
	}
	n = &p->log[p->nlog];
	n->rel = strdup(rel);
	n->gone = gone;
	n->neps = neps;
	if (n->rel)
		p->nlog++;
}

static void plogs_free(struct agent_policy *p)
{
	for (size_t i = 0; i < p->nlog; i++)
		free(p->log[i].rel);
	p->nlog = 0;
}

/* The endpoints a change of rel touches noted (before: as they are now). Returns how many,
 * or -1 for a policy. */
static ssize_t note_affected(struct agent *a, const char *rel, bool before)
{
	struct agent_policy *p = &a->pol;
	char **keys = NULL, *key;
	size_t n = 0, i;
	int r;

	/* an endpoint's own event is always noted, also when it is new (its log line counts
	 * its elements) */
	if (has_prefix(rel, POL_KEY_ENDPOINTS)) {
		if (before && touch_note(a, rel) < 0)
			p->need_full = true;
		return 1;
	}
	r = pol_model_affected(p->model, rel, &keys, &n);
	if (r == POL_AFFECT_POLICIES)
		return -1;
	if (r < 0)
		p->need_full = true;
	for (i = 0; i < n; i++) {
		/* endpoint keys, with or without their "endpoints/" */
		key = keys[i];
		if (!has_prefix(key, POL_KEY_ENDPOINTS) &&
		    asprintf(&key, "%s%s", POL_KEY_ENDPOINTS, keys[i]) < 0) {
			p->need_full = true;
			break;
		}
		if (!tracking(p)) {
			/* the whole ruleset will be rendered */
		} else if (!before && !touch_find(p, key)) {
			/* touched only after the change: its fragment before is unknown */
			p->need_full = true;
		} else if (before && touch_note(a, key) < 0) {
			p->need_full = true;
		}
		if (key != keys[i])
			free(key);
	}
	for (i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
	return (ssize_t)n;
}

/* One key's value (NULL: deleted) into the model. Returns 1 changed, 0 not, -errno. */
static int feed(struct agent *a, const char *rel, const char *value, size_t len, bool quiet)
{
	struct agent_policy *p = &a->pol;
	struct err e = {0};
	ssize_t n = 0;
	int r;

	if (!quiet && !has_prefix(rel, POL_KEY_POLICIES))
		n = note_affected(a, rel, true);
	r = pol_model_set(p->model, rel, value, len, &e);
	if (r == -EINVAL) {
		if (bad_find(p, rel) < 0)
			log_warn("policy: %s: invalid, skipped: %s", rel, e.msg);
		bad_set(p, rel, true);
		return 0;
	}
	if (r < 0) {
		log_error("policy: %s: %s", rel, e.msg[0] ? e.msg : strerror(-r));
		p->need_full = true;
		return r;
	}
	bad_set(p, rel, false);
	if (r == 0 || quiet)
		return r;
	p->pending = true;
	if (has_prefix(rel, POL_KEY_POLICIES)) {
		p->policies_changed = true;
		n = 0;
	} else if (n >= 0) {
		(void)note_affected(a, rel, false);
	}
	plog_add(p, rel, !value, n < 0 ? 0 : (size_t)n);
	return 1;
}

/* --- the queue of events -------------------------------------------------------------- */

static void queue_free(struct agent_policy *p)
{
	for (size_t i = 0; i < p->nq; i++)
		store_event_free(&p->q[i].ev);
	free(p->q);
	p->q = NULL;
	p->nq = p->qcap = 0;
}

static void watches_close(struct agent_policy *p)
{
	if (p->watch)
		store_watch_close(p->watch);
	if (p->lwatch)
		store_watch_close(p->lwatch);
	p->watch = p->lwatch = NULL;
	p->gen++;
}

/* The watch failed (logged): everything listed again, with backoff */
static void watch_lost(struct agent *a)
{
	watches_close(&a->pol);
	queue_free(&a->pol);
	a->pol.listed = false;
	agent_schedule_retry(a, AGENT_NEED_POLICY);
}

static int drain_watch(struct agent *a, struct store_watch *w, bool local, int *timeout_ms)
{
	struct agent_policy *p = &a->pol;
	struct store_event ev;
	struct err e = {0};
	int t = -1, r;

	for (;;) {
		memset(&ev, 0, sizeof(ev));
		r = store_watch_next(w, &ev, &t, &e);
		if (r == 0)
			break;
		if (r < 0) {
			if (r == -ESTALE)
				log_warn(
					"policy: the watch's revision was compacted: listing again");
			else if (local)
				log_error("policy: watching the local store: %s", e.msg);
			else
				agent_store_failed(a, "watch the policy objects", &e);
			watch_lost(a);
			return r;
		}
		const char *rel = rel_of(a, ev.kv.key);

		if (!rel || !agent_policy_rel_relevant(rel)) {
			store_event_free(&ev);
			continue;
		}
		if (p->nq == p->qcap) {
			size_t cap = p->qcap ? p->qcap * 2 : 32;
			struct agent_pev *n = realloc(p->q, cap * sizeof(*n));

			if (!n) {
				store_event_free(&ev);
				log_error("out of memory");
				watch_lost(a);
				return -ENOMEM;
			}
			p->q = n;
			p->qcap = cap;
		}
		p->q[p->nq].ev = ev;
		p->q[p->nq++].local = local;
	}
	if (t >= 0 && (*timeout_ms < 0 || t < *timeout_ms))
		*timeout_ms = t;
	return 0;
}

static int drain(struct agent *a, int *timeout_ms)
{
	int r = 0;

	if (a->pol.watch)
		r = drain_watch(a, a->pol.watch, false, timeout_ms);
	if (r == 0 && a->pol.lwatch)
		r = drain_watch(a, a->pol.lwatch, true, timeout_ms);
	return r;
}

/* The queued events into the model (and the mirror), in order */
static void take_queue(struct agent *a)
{
	struct agent_policy *p = &a->pol;

	for (size_t i = 0; i < p->nq; i++) {
		const struct store_event *ev = &p->q[i].ev;
		const char *rel = rel_of(a, ev->kv.key);
		bool del = ev->type == STORE_EV_DELETE;

		if (!p->q[i].local && ev->kv.mod_rev > p->seen)
			p->seen = ev->kv.mod_rev;
		/* with a mirror, this node's endpoints are the local store's (the cluster's are
		 * their copies: the event only moves the revision) */
		if (mirror(a) && !p->q[i].local && has_prefix(rel, p->own))
			continue;
		if (mirror(a))
			(void)agent_mirror_event(a, ev, p->q[i].local);
		(void)feed(a, rel, del ? NULL : ev->kv.value, del ? 0 : ev->kv.value_len, false);
	}
	queue_free(p);
}

/* --- into the kernel ------------------------------------------------------------------ */

static void nft_failed(const struct agent *a, const char *what, int r)
{
	const char *m = nft_errmsg(&a->nft);

	log_error("policy: %s: %s", what, m && m[0] ? m : strerror(-r));
}

/* The whole ruleset rendered; the table changed by difference when it holds the ruleset
 * last applied (same: the kernel's stamp is its), else replaced */
static int commit_full(struct agent *a, bool same)
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
		nft_failed(a, "changing the table by difference (replacing it instead)", r);
		nft_batch_begin(&a->nft);
		r = pnft_replace(&a->nft, &rs, &pnft_o);
		if (r >= 0)
			r = nft_batch_commit(&a->nft);
		same = false;
	}
	if (r < 0) {
		nft_failed(a, "replacing the table", r);
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

/* Only endpoints' fragments changed: their elements out and in, one batch */
static int commit_frags(struct agent *a, struct frag_change *c)
{
	struct agent_policy *p = &a->pol;
	size_t i;
	int r = 0;

	for (i = 0; i < p->nt; i++)
		if (!p->t[i].rendered || !agent_frag_fits(&p->last, &c[i].went) ||
		    !agent_frag_fits(&p->last, &c[i].came))
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
		nft_failed(a, "changing endpoints' elements (rendering the whole ruleset instead)",
			   r);
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
			 has_prefix(keys[i], POL_KEY_ENDPOINTS) ? "" : POL_KEY_ENDPOINTS, keys[i]);
		t = touch_find(p, key);
		if (!t || !t->rendered || !tracking(p)) {
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

		if (has_prefix(rel, POL_KEY_POLICIES)) {
			size_t nch, nel;

			if (l->gone) {
				log_info("policy: %s deleted", rel + strlen(POL_KEY_POLICIES));
				continue;
			}
			policy_size(&p->last, rel, &nch, &nel);
			log_info("policy: %s applied (%zu chains, %zu elements)",
				 rel + strlen(POL_KEY_POLICIES), nch, nel);
		} else if (has_prefix(rel, POL_KEY_ENDPOINTS)) {
			struct agent_touch *t = touch_find(p, rel);
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
			bool pod = has_prefix(rel, POL_KEY_PODS);
			char el[64] = "";
			size_t nc, nw;

			if (c && elems_of(a, c, rel, &nc, &nw))
				snprintf(el, sizeof(el), ", +%zu -%zu elements", nc, nw);
			log_info("policy: %s %s %s (%zu endpoint%s%s)", pod ? "pod" : "namespace",
				 strchr(rel, '/') + 1, l->gone ? "deleted" : "changed", l->neps,
				 l->neps == 1 ? "" : "s", el);
		}
	}
	plogs_free(p);
}

/* The model into the table: the fragments when only they changed, else the whole */
static int commit(struct agent *a)
{
	struct agent_policy *p = &a->pol;
	char kst[POL_STAMP_MAX] = "";
	struct frag_change *c = NULL;
	bool same;
	int r;

	r = pnft_read_stamp(&a->nft, kst);
	if (r < 0) {
		nft_failed(a, "reading the table's stamp", r);
		return r;
	}
	same = p->have_last && r == 1 && !strcmp(kst, p->last.stamp);
	if (p->have_last && !same)
		log_info("policy: table %s %s: replacing it", POL_TABLE,
			 r ? "was replaced by someone else" : "is gone");
	if (p->nt && !(c = frag_changes(a)))
		p->need_full = true;
	r = -EAGAIN;
	if (same && tracking(p))
		r = commit_frags(a, c);
	if (r == -EAGAIN)
		r = commit_full(a, same);
	if (r == 0)
		log_changes(a, c);
	changes_free(c, p->nt);
	return r;
}

/* --- the sync ------------------------------------------------------------------------ */

static int lock(struct agent *a)
{
	struct err e = {0};
	int fd;

	fd = pol_lock(a->o.run_dir, POL_LOCK_MS, &e);
	if (fd < 0)
		log_error("policy: %s", e.msg[0] ? e.msg : strerror(-fd));
	return fd;
}

static void batch_reset(struct agent_policy *p)
{
	touches_free(p);
	plogs_free(p);
	p->policies_changed = p->need_full = p->pending = false;
}

int agent_policy_sync(struct agent *a, int *timeout_ms)
{
	struct agent_policy *p = &a->pol;
	int fd, r = 0, t = -1;
	int64_t t0;
	size_t n;
	bool full;

	*timeout_ms = -1;
	if (!a->o.policy || !p->listed)
		return 0;
	if (drain(a, timeout_ms) < 0)
		return -EIO;
	if (!p->nq && !p->pending && p->seen <= p->rev)
		return 0;
	fd = lock(a);
	if (fd < 0) {
		agent_schedule_retry(a, AGENT_NEED_POLICY_APPLY);
		return fd;
	}
	/* what the plugin recorded until it let go of the lock is in the model */
	if (drain(a, &t) < 0) {
		pol_unlock(fd);
		return -EIO;
	}
	n = p->nq;
	t0 = agent_now_ms();
	take_queue(a);
	full = !tracking(p);
	if (p->pending)
		r = commit(a);
	pol_unlock(fd);
	log_debug("policy: %zu events taken, %s in %lld ms", n,
		  !p->pending		  ? "nothing to change"
		  : full || !p->have_last ? "the whole ruleset"
					  : "fragments",
		  (long long)(agent_now_ms() - t0));
	if (r < 0) {
		touches_free(p);
		plogs_free(p);
		p->need_full = true;
		agent_schedule_retry(a, AGENT_NEED_POLICY_APPLY);
		return r;
	}
	batch_reset(p);
	if (p->seen > p->rev) {
		p->rev = p->seen;
		a->status_dirty = true;
	}
	(void)agent_policy_status(a);
	return 0;
}

int agent_policy_status(struct agent *a)
{
	struct agent_policy *p = &a->pol;
	struct err e = {0};
	char *key = NULL, *s = NULL;
	cJSON *o;
	int r = -ENOMEM;

	if (!a->o.policy || !p->listed || p->rev <= p->written)
		return 0;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "node", a->o.node_name);
	cJSON_AddNumberToObject(o, "policyRevision", (double)p->rev);
	cJSON_AddNumberToObject(o, "updated", (double)time(NULL));
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (s && asprintf(&key, "%s%s%s", p->pfx, POL_KEY_AGENTS, a->o.node_name) >= 0)
		r = store_put(a->store, key, s, strlen(s), NULL, NULL, NULL, &e);
	if (r < 0) {
		if (e.code)
			agent_store_failed(a, "write the agent's policy revision", &e);
		agent_schedule_retry(a, AGENT_NEED_POLICY_STATUS);
	} else {
		p->written = p->rev;
		log_debug("policy: revision %lld in force", (long long)p->rev);
		r = 0;
	}
	free(key);
	free(s);
	return r;
}

/* --- listing ------------------------------------------------------------------------- */

/* The relevant keys of a listing, kept in order (the others freed) */
static void keep_relevant(struct agent *a, struct store_list *l)
{
	size_t n = 0;

	for (size_t i = 0; i < l->n; i++) {
		const char *rel = rel_of(a, l->kvs[i].key);

		if (rel && agent_policy_rel_relevant(rel))
			l->kvs[n++] = l->kvs[i];
		else
			store_kv_free(&l->kvs[i]);
	}
	l->n = n;
}

static int list(struct agent *a, struct store *s, struct store_list *l, bool local)
{
	struct err e = {0};
	int r;

	memset(l, 0, sizeof(*l));
	r = store_list_all(s, a->pol.pfx, 0, l, &e);
	if (r < 0) {
		if (local)
			log_error("policy: listing the local store: %s", e.msg);
		else
			agent_store_failed(a, "list the policy objects", &e);
		store_list_free(l);
		return r;
	}
	keep_relevant(a, l);
	return 0;
}

/* A new model from the listings (with a mirror, this node's endpoints from the local one) */
static int build_model(struct agent *a, const struct store_list *cl, const struct store_list *ll,
		       size_t *npol, size_t *neps)
{
	struct agent_policy *p = &a->pol;
	struct pol_model *m = pol_model_new(a->o.node_name);
	size_t i;

	if (!m)
		return -ENOMEM;
	pol_model_free(p->model);
	p->model = m;
	*npol = *neps = 0;
	for (i = 0; i < cl->n; i++) {
		const char *rel = rel_of(a, cl->kvs[i].key);

		if (mirror(a) && has_prefix(rel, p->own))
			continue;
		if (feed(a, rel, cl->kvs[i].value, cl->kvs[i].value_len, true) > 0) {
			*npol += has_prefix(rel, POL_KEY_POLICIES);
			*neps += has_prefix(rel, POL_KEY_ENDPOINTS);
		}
	}
	for (i = 0; ll && i < ll->n; i++) {
		const char *rel = rel_of(a, ll->kvs[i].key);

		if (has_prefix(rel, p->own) &&
		    feed(a, rel, ll->kvs[i].value, ll->kvs[i].value_len, true) > 0)
			(*neps)++;
	}
	return 0;
}

static int open_watches(struct agent *a, int64_t rev, int64_t lrev)
{
	struct agent_policy *p = &a->pol;
	struct err e = {0};
	char *own = NULL;

	p->watch = store_watch_open(a->store, p->pfx, rev + 1, &e);
	if (!p->watch) {
		agent_store_failed(a, "watch the policy objects", &e);
		return -EIO;
	}
	if (mirror(a)) {
		if (asprintf(&own, "%s%s", p->pfx, p->own) < 0)
			return -ENOMEM;
		p->lwatch = store_watch_open(p->local, own, lrev + 1, &e);
		free(own);
		if (!p->lwatch) {
			log_error("policy: watching the local store: %s", e.msg);
			return -EIO;
		}
	}
	p->gen++;
	return 0;
}

/* Under the lock: the local listing, the model, the mirror, the table */
static int start_locked(struct agent *a, struct store_list *cl, int64_t *lrev)
{
	struct agent_policy *p = &a->pol;
	struct store_list ll = {0};
	char kst[POL_STAMP_MAX] = "";
	size_t npol, neps;
	int r;

	if (mirror(a) && (r = list(a, p->local, &ll, true)) < 0)
		return r;
	*lrev = ll.rev;
	batch_reset(p);
	r = build_model(a, cl, mirror(a) ? &ll : NULL, &npol, &neps);
	if (r == 0 && mirror(a))
		r = agent_mirror_reconcile(a, cl, &ll);
	store_list_free(&ll);
	if (r < 0)
		return r;
	r = pnft_read_stamp(&a->nft, kst);
	if (r < 0) {
		nft_failed(a, "reading the table's stamp", r);
		return r;
	}
	r = commit_full(a, p->have_last && r == 1 && !strcmp(kst, p->last.stamp));
	if (r == 0)
		log_info("policy: %zu policies, %zu endpoints at revision %lld: table %s set "
			 "(%zu chains, %zu class chains, %zu elements)",
			 npol, neps, (long long)cl->rev, POL_TABLE, p->last.npchains,
			 p->last.ncchains, agent_frag_elems(&p->last));
	return r;
}

int agent_policy_start(struct agent *a)
{
	struct agent_policy *p = &a->pol;
	struct store_list cl;
	int64_t lrev = 0;
	int fd, r;

	watches_close(p);
	queue_free(p);
	p->listed = false;
	if ((r = list(a, a->store, &cl, false)) < 0)
		return r;
	agent_store_ok(a);
	fd = lock(a);
	if (fd < 0) {
		store_list_free(&cl);
		return fd;
	}
	r = start_locked(a, &cl, &lrev);
	pol_unlock(fd);
	if (r == 0)
		r = open_watches(a, cl.rev, lrev);
	if (r == 0) {
		p->listed = true;
		if (cl.rev > p->seen)
			p->seen = cl.rev;
		if (p->seen > p->rev)
			p->rev = p->seen;
		a->status_dirty = true;
		(void)agent_policy_status(a);
	} else {
		watches_close(p);
	}
	store_list_free(&cl);
	return r;
}

int agent_policy_init(struct agent *a)
{
	struct agent_policy *p = &a->pol;
	struct err e = {0};
	char *dir;

	if (!a->o.policy)
		return 0;
	if (asprintf(&p->pfx, "%s/", a->o.prefix) < 0 ||
	    asprintf(&p->own, "%s%s/", POL_KEY_ENDPOINTS, a->o.node_name) < 0)
		return -ENOMEM;
	if (strcmp(a->o.local_url, store_url(a->store))) {
		p->local = store_open(a->o.local_url, &e);
		if (!p->local) {
			log_error("--local-store: %s", e.msg);
			return -EINVAL;
		}
	}
	/* policy.lock lives there; the lease's files make it too, but later */
	if (!(dir = strdup(a->o.run_dir)))
		return -ENOMEM;
	if (fs_mkdir_p(dir, 0755) < 0)
		log_warn("policy: making %s: %s", a->o.run_dir, strerror(errno));
	free(dir);
	return 0;
}

void agent_policy_done(struct agent *a)
{
	struct agent_policy *p = &a->pol;

	watches_close(p);
	queue_free(p);
	batch_reset(p);
	free(p->log);
	for (size_t i = 0; i < p->nbad; i++)
		free(p->bad[i]);
	free(p->bad);
	pol_ruleset_free(&p->last);
	pol_model_free(p->model);
	if (p->local)
		store_close(p->local);
	free(p->pfx);
	free(p->own);
}
