/* SPDX-License-Identifier: Apache-2.0 */
/* What `wait` and `status` share about policy: the agents' keys (<prefix>/agents/<node>,
 * written by sluiced after each apply) and the store's current relevant revision (the last
 * change, deletions included, to the keys a ruleset is rendered from). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "base/json.h"
#include "policy/policy.h"
#include "store/store.h"
#include "sluicectl.h"

static const char *const kinds[] = {POL_KEY_NAMESPACES, POL_KEY_PODS, POL_KEY_POLICIES,
				    POL_KEY_ENDPOINTS};

static bool relevant(const struct ctl *c, const char *key)
{
	size_t plen = strlen(c->prefix), i;

	if (strncmp(key, c->prefix, plen) || key[plen] != '/')
		return false;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strncmp(key + plen + 1, kinds[i], strlen(kinds[i])))
			return true;
	return false;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A deletion leaves no key behind to read its revision from: the history after the newest
 * key, (from, to], is read back with a watch of the whole store (every revision is some
 * key's change, so the watch reaches to whatever changed there) and the last relevant
 * change in it, a deletion most often, raises *rev. False when it was not read up to `to`
 * (compacted away, longer than HISTORY_REVS or not read within HISTORY_MS). */
#define HISTORY_MS 3000
#define HISTORY_REVS 10000
static bool history(struct ctl *c, int64_t from, int64_t to, int64_t *rev)
{
	int64_t deadline = mono_ms() + HISTORY_MS, left;
	struct store_watch *w;
	struct store_event ev;
	struct err e = {0};
	int r;

	bool done = false;

	w = store_watch_open(c->store, "/", from + 1, &e);
	if (!w)
		return false;
	while ((left = deadline - mono_ms()) > 0) {
		r = store_watch_wait(w, &ev, (int)left, &e);
		if (r < 0)
			break;
		if (r == 0)
			continue;
		if (ev.kv.mod_rev <= to && relevant(c, ev.kv.key) && ev.kv.mod_rev > *rev)
			*rev = ev.kv.mod_rev;
		done = ev.kv.mod_rev >= to;
		store_event_free(&ev);
		if (done)
			break;
	}
	store_watch_close(w);
	return done;
}

int ctl_policy_revision(struct ctl *c, int64_t *ret, struct err *e)
{
	int64_t max = 0, cur = 0;
	char *prefix;
	size_t i, k;
	int r;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		struct store_list l = {0};

		if (asprintf(&prefix, "%s/%s", c->prefix, kinds[i]) < 0)
			return err_fail(e, CNI_ERR_INTERNAL, -ENOMEM, "out of memory");
		r = store_list_all(c->store, prefix, 0, &l, e);
		free(prefix);
		if (r < 0)
			return r;
		for (k = 0; k < l.n; k++)
			if (l.kvs[k].mod_rev > max)
				max = l.kvs[k].mod_rev;
		if (l.rev > cur)
			cur = l.rev;
		store_list_free(&l);
	}
	*ret = max;
	/* a lower revision than a deletion's would be in force at once: never guessed */
	if (cur > max && (cur - max > HISTORY_REVS || !history(c, max, cur, ret)))
		return err_fail(
			e, 2, -ESTALE,
			"the store's history after revision %lld could not be read up to "
			"revision %lld (compacted, too long or too slow): give the revision "
			"with --revision",
			(long long)max, (long long)cur);
	return 0;
}

void ctl_agent_parse(const char *key, size_t plen, const char *value, size_t len,
		     struct ctl_agent *a)
{
	const cJSON *rev, *up;
	cJSON *o = NULL;
	char why[64];

	memset(a, 0, sizeof(*a));
	/* the node is the key's last part: what the agent writes under, whatever its value */
	snprintf(a->node, sizeof(a->node), "%s", key + plen);
	if (!value || json_parse_strict(value, len, &o, why, sizeof(why)) < 0)
		return;
	rev = cJSON_GetObjectItemCaseSensitive(o, "policyRevision");
	up = cJSON_GetObjectItemCaseSensitive(o, "updated");
	if (cJSON_IsNumber(rev) && rev->valuedouble >= 0 && rev->valuedouble < 9.2e18) {
		a->policy_rev = (int64_t)rev->valuedouble;
		a->valid = true;
	}
	if (cJSON_IsNumber(up) && up->valuedouble >= 0 && up->valuedouble < 9.2e18)
		a->updated = (int64_t)up->valuedouble;
	cJSON_Delete(o);
}

char *ctl_agents_prefix(const struct ctl *c)
{
	char *p;

	return asprintf(&p, "%s/%s", c->prefix, POL_KEY_AGENTS) < 0 ? NULL : p;
}

int ctl_agents_list(struct ctl *c, struct ctl_agent **ret, size_t *ret_n, int64_t *rev,
		    struct err *e)
{
	struct store_list l = {0};
	struct ctl_agent *a;
	char *prefix = ctl_agents_prefix(c);
	size_t i, plen;
	int r;

	if (!prefix)
		return err_fail(e, CNI_ERR_INTERNAL, -ENOMEM, "out of memory");
	plen = strlen(prefix);
	r = store_list_all(c->store, prefix, 0, &l, e);
	free(prefix);
	if (r < 0)
		return r;
	a = calloc(l.n + 1, sizeof(*a));
	if (!a) {
		store_list_free(&l);
		return err_fail(e, CNI_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	for (i = 0; i < l.n; i++)
		ctl_agent_parse(l.kvs[i].key, plen, l.kvs[i].value, l.kvs[i].value_len, &a[i]);
	*ret = a;
	*ret_n = l.n;
	if (rev)
		*rev = l.rev;
	store_list_free(&l);
	return 0;
}
