// SPDX-License-Identifier: Apache-2.0
/* sluiced: the node-local store as a mirror of the cluster's (etcd) for sluice-nft-policy,
 * which never talks to etcd: namespaces, pods, policies and the other nodes' endpoints go
 * from the cluster store into the local one; this node's endpoints (which the plugin records
 * locally) from the local store into the cluster's. Each event is copied as it is taken into
 * the model, under the node's policy lock, so that the plugin reads what the table holds;
 * a listing reconciles both ways. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "store/store.h"
#include "sluiced.h"

static bool own_key(const struct agent *a, const char *key)
{
	size_t n = strlen(a->pol.pfx);

	return !strncmp(key, a->pol.pfx, n) && !strncmp(key + n, a->pol.own, strlen(a->pol.own));
}

static void failed(struct agent *a, bool to_cluster, const char *what, const struct err *e)
{
	if (to_cluster)
		agent_store_failed(a, what, e);
	else
		log_error("policy: mirror: %s: %s", what, e->msg);
	/* a listing reconciles what could not be copied */
	agent_schedule_retry(a, AGENT_NEED_POLICY);
}

static int put(struct agent *a, bool to_cluster, const struct store_kv *kv)
{
	struct store *dst = to_cluster ? a->store : a->pol.local;
	struct err e = {0};
	int r = store_put(dst, kv->key, kv->value, kv->value_len, NULL, NULL, NULL, &e);

	if (r < 0)
		failed(a, to_cluster,
		       to_cluster ? "copy an endpoint to the cluster store"
				  : "copy an object to the local store",
		       &e);
	return r < 0 ? r : 0;
}

static int del(struct agent *a, bool to_cluster, const char *key)
{
	struct store *dst = to_cluster ? a->store : a->pol.local;
	struct err e = {0};
	int r = store_delete(dst, key, STORE_ANY, NULL, &e);

	if (r < 0)
		failed(a, to_cluster,
		       to_cluster ? "delete an endpoint in the cluster store"
				  : "delete an object in the local store",
		       &e);
	return r < 0 ? r : 0;
}

int agent_mirror_event(struct agent *a, const struct store_event *ev, bool local)
{
	int r;

	/* the cluster's copies of this node's endpoints are ours: never copied back */
	if (!local && own_key(a, ev->kv.key))
		return 0;
	r = ev->type == STORE_EV_DELETE ? del(a, local, ev->kv.key) : put(a, local, &ev->kv);
	if (r == 0)
		log_debug("policy: mirror: %s %s %s",
			  ev->type == STORE_EV_DELETE ? "deleted" : "copied",
			  ev->kv.key + strlen(a->pol.pfx),
			  local ? "in the cluster store" : "locally");
	return r;
}

static bool same_value(const struct store_kv *x, const struct store_kv *y)
{
	return x->value_len == y->value_len && !memcmp(x->value, y->value, x->value_len);
}

int agent_mirror_reconcile(struct agent *a, const struct store_list *cl,
			   const struct store_list *ll)
{
	size_t i = 0, j = 0, to_local = 0, del_local = 0, to_cl = 0, del_cl = 0;
	int r = 0;

	while (r == 0 && (i < cl->n || j < ll->n)) {
		const struct store_kv *c = i < cl->n ? &cl->kvs[i] : NULL;
		const struct store_kv *l = j < ll->n ? &ll->kvs[j] : NULL;
		int d = !c ? 1 : !l ? -1 : strcmp(c->key, l->key);
		bool own = own_key(a, d <= 0 ? c->key : l->key);

		if (d == 0) {
			i++;
			j++;
			if (same_value(c, l))
				continue;
			r = put(a, own, own ? l : c);
			own ? to_cl++ : to_local++;
		} else if (d < 0) {
			i++;
			/* an endpoint of this node the local store no longer has: gone */
			r = own ? del(a, true, c->key) : put(a, false, c);
			own ? del_cl++ : to_local++;
		} else {
			j++;
			r = own ? put(a, true, l) : del(a, false, l->key);
			own ? to_cl++ : del_local++;
		}
	}
	if (to_local || del_local || to_cl || del_cl)
		log_info("policy: mirror: %zu keys copied and %zu deleted locally, %zu endpoints "
			 "copied and %zu deleted in the cluster store",
			 to_local, del_local, to_cl, del_cl);
	return r;
}
