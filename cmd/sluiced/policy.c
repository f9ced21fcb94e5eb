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
#include "base/log.h"
#include "policy/pnft.h"
#include "store/store.h"
#include "subnet/files.h"
#include "sluiced.h"

/* the lock tried in the loop: held (a plugin's commit), the events stay queued and the
 * retry timer (with backoff) comes back rather than the loop blocking */
#define POL_LOCK_MS 5
#define POL_SERVE_LOCK_MS 500 /* policy.sock: the lock waited for in the loop */
/* more endpoints touched by one batch: the whole ruleset rendered rather than each one's
 * fragment twice */
#define POL_FRAG_MAX 256

bool agent_policy_rel_relevant(const char *rel)
{
	return agent_has_prefix(rel, POL_KEY_NAMESPACES) || agent_has_prefix(rel, POL_KEY_PODS) ||
	       agent_has_prefix(rel, POL_KEY_POLICIES) || agent_has_prefix(rel, POL_KEY_ENDPOINTS);
}

static const char *rel_of(const struct agent *a, const char *key)
{
	return agent_has_prefix(key, a->pol.pfx) ? key + strlen(a->pol.pfx) : NULL;
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

struct agent_touch *agent_touch_find(struct agent_policy *p, const char *key)
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

	if (agent_touch_find(p, key))
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

bool agent_policy_tracking(const struct agent_policy *p)
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

void agent_plogs_free(struct agent_policy *p)
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
	if (agent_has_prefix(rel, POL_KEY_ENDPOINTS)) {
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
		if (!agent_has_prefix(key, POL_KEY_ENDPOINTS) &&
		    asprintf(&key, "%s%s", POL_KEY_ENDPOINTS, keys[i]) < 0) {
			p->need_full = true;
			break;
		}
		if (!agent_policy_tracking(p)) {
			/* the whole ruleset will be rendered */
		} else if (!before && !agent_touch_find(p, key)) {
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
	bool bad = false;
	ssize_t n = 0;
	int r;

	if (!quiet && !agent_has_prefix(rel, POL_KEY_POLICIES))
		n = note_affected(a, rel, true);
	r = pol_model_set(p->model, rel, value, len, &e);
	if (r == -EINVAL) {
		if (bad_find(p, rel) < 0)
			log_warn("policy: %s: invalid, skipped: %s", rel, e.msg);
		bad_set(p, rel, true);
		/* without the key, as a fresh listing has it: the ruleset (and its stamp, which
		 * the plugin computes from a listing) never depends on what came before */
		bad = true;
		value = NULL;
		r = pol_model_set(p->model, rel, NULL, 0, &e);
		if (r == -EINVAL)
			r = 0; /* a key of no valid shape: never in the model */
	}
	if (r < 0) {
		log_error("policy: %s: %s", rel, e.msg[0] ? e.msg : strerror(-r));
		p->need_full = true;
		return r;
	}
	if (!bad)
		bad_set(p, rel, false);
	if (r == 0 || quiet)
		return r;
	p->pending = true;
	if (agent_has_prefix(rel, POL_KEY_POLICIES)) {
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

/* Moves ev (zeroed) to the copies for the cluster store; -ENOMEM: left as it is */
static int out_push(struct agent_policy *p, struct store_event *ev)
{
	if (p->nout == p->outcap) {
		size_t cap = p->outcap ? 2 * p->outcap : 8;
		struct store_event *n = realloc(p->out, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		p->out = n;
		p->outcap = cap;
	}
	p->out[p->nout++] = *ev;
	memset(ev, 0, sizeof(*ev));
	return 0;
}

static void out_free(struct agent_policy *p)
{
	for (size_t i = 0; i < p->nout; i++)
		store_event_free(&p->out[i]);
	free(p->out);
	p->out = NULL;
	p->nout = p->outcap = 0;
}

/* The copies to the cluster store, the lock let go: the first failure stops them (logged,
 * a listing then reconciles the rest) */
static void out_flush(struct agent *a)
{
	struct agent_policy *p = &a->pol;

	for (size_t i = 0; i < p->nout; i++)
		if (agent_mirror_event(a, &p->out[i], true) < 0)
			break;
	out_free(p);
}

/* The queued events into the model (and the mirror), in order */
static void take_queue(struct agent *a)
{
	struct agent_policy *p = &a->pol;

	for (size_t i = 0; i < p->nq; i++) {
		const struct store_event *ev = &p->q[i].ev;
		const char *rel = rel_of(a, ev->kv.key);
		bool del = ev->type == STORE_EV_DELETE, moved;
		int64_t rev = ev->kv.mod_rev;

		/* with a mirror, this node's endpoints are the local store's (the cluster's are
		 * their copies: the event only moves the revision) */
		if (mirror(a) && !p->q[i].local && agent_has_prefix(rel, p->own)) {
			if (rev > p->seen)
				p->seen = rev;
			continue;
		}
		/* into the cluster store after the lock is let go (out_flush) */
		moved = mirror(a) && p->q[i].local && out_push(p, &p->q[i].ev) == 0;
		if (moved)
			ev = &p->out[p->nout - 1];
		else if (mirror(a))
			(void)agent_mirror_event(a, ev, p->q[i].local);
		if (feed(a, rel, del ? NULL : ev->kv.value, del ? 0 : ev->kv.value_len, false) <
		    0) {
			/* the event is lost (logged): its revision is never claimed; everything
			 * is listed again (with backoff) */
			watch_lost(a);
			return;
		}
		if (!p->q[i].local && rev > p->seen)
			p->seen = rev;
	}
	queue_free(p);
}

/* --- the sync ------------------------------------------------------------------------ */

static int lock(struct agent *a)
{
	struct err e = {0};
	int fd;

	fd = pol_lock(a->o.run_dir, POL_LOCK_MS, &e);
	if (fd == -ETIMEDOUT)
		log_debug("policy: %s (retried)", e.msg);
	else if (fd < 0)
		log_error("policy: %s", e.msg[0] ? e.msg : strerror(-fd));
	return fd;
}

static void batch_reset(struct agent_policy *p)
{
	touches_free(p);
	agent_plogs_free(p);
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
	/* a retry is due (the lock was held, a commit failed): its timer comes back */
	if (a->need & AGENT_NEED_POLICY_APPLY)
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
	full = !agent_policy_tracking(p);
	if (p->pending)
		r = agent_policy_commit(a);
	pol_unlock(fd);
	out_flush(a);
	log_debug("policy: %zu events taken, %s in %lld ms", n,
		  !p->pending		  ? "nothing to change"
		  : full || !p->have_last ? "the whole ruleset"
					  : "fragments",
		  (long long)(agent_now_ms() - t0));
	if (r < 0) {
		/* the changes' log lines wait for the commit that succeeds */
		touches_free(p);
		p->need_full = true;
		agent_schedule_retry(a, AGENT_NEED_POLICY_APPLY);
		return r;
	}
	batch_reset(p);
	if (p->seen > p->rev) {
		p->rev = p->seen;
		a->status_dirty = true;
	}
	/* after a failed put, only its retry puts again */
	if (!(a->need & AGENT_NEED_POLICY_STATUS))
		(void)agent_policy_status(a);
	return 0;
}

/* The store's value of rel (the node-local store: where the plugin writes) as the client
 * says: present and the same as record, or absent for a delete. Guards against a request
 * that waited in the backlog while its pod came and went (a stopped agent resumed). */
static int serve_check(struct agent *a, const char *rel, const cJSON *record, struct store_kv *kv,
		       struct err *e)
{
	struct store *s = a->pol.local ? a->pol.local : a->store;
	char *key = NULL;
	cJSON *v;
	int r;

	if (asprintf(&key, "%s%s", a->pol.pfx, rel) < 0)
		return -ENOMEM;
	r = store_get(s, key, kv, NULL, e);
	free(key);
	if (r < 0)
		return r;
	if (!record && r > 0)
		return err_fail(e, 3, -EEXIST, "%s: the record is still in the store", rel);
	if (!record)
		return 0;
	if (r == 0)
		return err_fail(e, 3, -ENOENT, "%s: no such record in the store", rel);
	v = cJSON_ParseWithLength(kv->value, kv->value_len);
	r = v && cJSON_Compare(v, record, true) ? 0 : -ESTALE;
	cJSON_Delete(v);
	return r < 0 ? err_fail(e, 3, r, "%s: the record differs from the store's", rel) : 0;
}

/* The elements of rel's fragment as the model renders it, or -errno (-ENOENT: none) */
static ssize_t frag_elems(struct agent *a, const char *rel)
{
	struct pol_ruleset f = {0};
	struct err e = {0};
	ssize_t n;

	n = pol_render_endpoint(a->pol.model, rel, &f, &e);
	if (n == 0)
		n = (ssize_t)agent_frag_elems(&f);
	pol_ruleset_free(&f);
	return n;
}

int agent_policy_serve(struct agent *a, const char *rel, const cJSON *record, size_t *elems,
		       char stamp[POL_STAMP_MAX], struct err *e)
{
	struct agent_policy *p = &a->pol;
	struct agent_touch *tc;
	struct store_kv kv = {0};
	int fd, r, c = 0, t = -1;
	ssize_t n = 0;

	*elems = 0;
	if (!a->o.policy || !p->listed)
		return err_fail(e, 2, -EAGAIN, "the agent has not listed the store yet");
	if (drain(a, &t) < 0)
		return err_fail(e, 2, -EAGAIN, "the agent lost its watch");
	/* short: the plugin waits for the answer, and falls back to the lock itself */
	fd = pol_lock(a->o.run_dir, POL_SERVE_LOCK_MS, e);
	if (fd < 0) {
		e->code = 2;
		return fd;
	}
	/* what was recorded until now is in the model, as in a sync */
	if (drain(a, &t) < 0) {
		pol_unlock(fd);
		return err_fail(e, 2, -EAGAIN, "the agent lost its watch");
	}
	take_queue(a);
	r = serve_check(a, rel, record, &kv, e);
	/* a delete's elements: as they were before this batch (the watch's event of the
	 * record's deletion may have just taken it out of the model) */
	if (r == 0 && !record && (tc = agent_touch_find(p, rel)))
		n = (ssize_t)agent_frag_elems(&tc->before);
	else if (r == 0 && !record && (n = frag_elems(a, rel)) < 0)
		n = 0; /* not in the model: nothing to take out */
	/* the same value the watch brings later: that is then a no-op */
	if (r == 0 && feed(a, rel, record ? kv.value : NULL, record ? kv.value_len : 0, false) < 0)
		r = err_fail(e, 4, -EINVAL, "%s: the model refused it", rel);
	store_kv_free(&kv);
	/* the events taken go into the table whatever the request's fate, as a sync's */
	if (p->pending)
		c = agent_policy_commit(a);
	if (c < 0) {
		/* the changes' log lines wait for the commit that succeeds */
		touches_free(p);
		p->need_full = true;
		agent_schedule_retry(a, AGENT_NEED_POLICY_APPLY);
		if (r == 0)
			r = err_fail(e, 4, c, "committing failed (see the agent's log)");
	} else {
		batch_reset(p);
	}
	pol_unlock(fd);
	out_flush(a);
	if (r == 0 && record && (n = frag_elems(a, rel)) < 0)
		r = err_fail(e, 4, (int)n, "%s: the model has no such endpoint", rel);
	if (r < 0)
		return r;
	*elems = (size_t)n;
	snprintf(stamp, POL_STAMP_MAX, "%s", p->last.stamp);
	if (p->seen > p->rev) {
		p->rev = p->seen;
		a->status_dirty = true;
	}
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

		if (mirror(a) && agent_has_prefix(rel, p->own))
			continue;
		if (feed(a, rel, cl->kvs[i].value, cl->kvs[i].value_len, true) > 0) {
			*npol += agent_has_prefix(rel, POL_KEY_POLICIES);
			*neps += agent_has_prefix(rel, POL_KEY_ENDPOINTS);
		}
	}
	for (i = 0; ll && i < ll->n; i++) {
		const char *rel = rel_of(a, ll->kvs[i].key);

		if (agent_has_prefix(rel, p->own) &&
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
		agent_nft_failed(a, "reading the table's stamp", r);
		return r;
	}
	r = agent_policy_commit_full(a, p->have_last && r == 1 && !strcmp(kst, p->last.stamp));
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

static bool same_dir(const char *u1, const char *u2)
{
	char *r1, *r2;
	bool same;

	if (strncmp(u1, "dir://", 6) || strncmp(u2, "dir://", 6))
		return false;
	r1 = realpath(u1 + 6, NULL);
	r2 = realpath(u2 + 6, NULL);
	same = r1 && r2 && !strcmp(r1, r2);
	free(r1);
	free(r2);
	return same;
}

int agent_policy_init(struct agent *a)
{
	struct agent_policy *p = &a->pol;
	struct err e = {0};

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
		/* the same directory named twice: a mirror into itself would copy each event
		 * back as a new one, forever */
		if (same_dir(a->o.local_url, store_url(a->store))) {
			store_close(p->local);
			p->local = NULL;
		}
	}
	return 0;
}

void agent_policy_done(struct agent *a)
{
	struct agent_policy *p = &a->pol;

	watches_close(p);
	queue_free(p);
	out_free(p);
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
