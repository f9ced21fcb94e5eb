// SPDX-License-Identifier: Apache-2.0
/* The model: Namespaces, Pods, NetworkPolicies and endpoints fed by store keys, each
 * validated as `sluicectl apply` validates it, kept sorted by key; what a key's change
 * touches; the stamp of the policies. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "base/json.h"
#include "base/vec.h"
#include "k8s/object.h"
#include "policy/model.h"

static const struct {
	const char *dir;
	int kind; /* enum k8s_kind, -1: an endpoint */
	int parts; /* of the key after dir */
} kinds[T_COUNT] = {
	[T_NS] = {POL_KEY_NAMESPACES, K8S_NAMESPACE, 1},
	[T_POD] = {POL_KEY_PODS, K8S_POD, 2},
	[T_POL] = {POL_KEY_POLICIES, K8S_POLICY, 2},
	[T_EP] = {POL_KEY_ENDPOINTS, -1, 2},
};

long pol_table_find(const struct pol_table *t, const char *key)
{
	size_t lo = 0, hi = t->n, mid;
	int c;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		c = strcmp(t->e[mid].key, key);
		if (!c)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(long)lo - 1;
}

size_t pol_table_lower(const struct pol_table *t, const char *prefix)
{
	size_t lo = 0, hi = t->n, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (strcmp(t->e[mid].key, prefix) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct pol_model *pol_model_new(const char *node)
{
	struct pol_model *m = calloc(1, sizeof(*m));

	if (m)
		snprintf(m->node, sizeof(m->node), "%s", node ? node : "");
	return m;
}

static void val_free(int t, void *val)
{
	if (t == T_POL) {
		pol_policy_free(val);
	} else if (t == T_EP) {
		pol_endpoint_done(val);
		free(val);
	} else {
		cJSON_Delete(val);
	}
}

void pol_model_free(struct pol_model *m)
{
	size_t i;
	int t;

	if (!m)
		return;
	for (t = 0; t < T_COUNT; t++) {
		for (i = 0; i < m->t[t].n; i++) {
			val_free(t, m->t[t].e[i].val);
			free(m->t[t].e[i].key);
		}
		free(m->t[t].e);
	}
	free(m);
}

/* the table a relative key belongs to and the rest of the key (its parts checked), -1 for
 * keys of other kinds, -2 for a key of ours of the wrong shape */
static int key_kind(const char *rel, const char **rest)
{
	const char *s, *slash;
	int t, n;

	for (t = 0; t < T_COUNT; t++) {
		if (strncmp(rel, kinds[t].dir, strlen(kinds[t].dir)))
			continue;
		*rest = rel + strlen(kinds[t].dir);
		for (n = 1, s = *rest; (slash = strchr(s, '/')); s = slash + 1, n++)
			if (slash == s)
				return -2;
		return n == kinds[t].parts && *s ? t : -2;
	}
	return -1;
}

/* "<dir><rest>: " before err's message (cut at its end when too long) */
static void prefix_msg(struct err *err, const char *dir, const char *rest)
{
	char prefix[400];
	size_t n, len = strlen(err->msg);

	snprintf(prefix, sizeof(prefix), "%s%s: ", dir, rest);
	n = strlen(prefix);
	if (len + n >= sizeof(err->msg))
		len = sizeof(err->msg) - n - 1;
	memmove(err->msg + n, err->msg, len);
	memcpy(err->msg, prefix, n);
	err->msg[n + len] = '\0';
}

/* the value of a Kubernetes key, validated and matching its key */
static int parse_object(int t, const char *rest, const char *value, size_t len, cJSON **ret,
			struct err *err)
{
	struct k8s_object o = {0};
	char why[256], want[K8S_NS_MAX + K8S_NAME_MAX + 2];
	cJSON *in;
	int r, had;

	if (json_parse_strict(value, len, &in, why, sizeof(why)) < 0)
		return err_fail(err, CNI_ERR_DECODE, -EINVAL, "%s%s: %s", kinds[t].dir, rest, why);
	had = err->code;
	r = k8s_object_parse(in, &o, err);
	cJSON_Delete(in);
	if (r < 0 && !had)
		prefix_msg(err, kinds[t].dir, rest); /* which key held it */
	if (r < 0)
		return r;
	if (t == T_NS)
		snprintf(want, sizeof(want), "%s", o.name);
	else
		snprintf(want, sizeof(want), "%s/%s", o.ns, o.name);
	if ((int)o.kind != kinds[t].kind || strcmp(want, rest)) {
		r = err_fail(err, CNI_ERR_DECODE, -EINVAL, "%s%s: holds %s %s", kinds[t].dir, rest,
			     k8s_kind_name(o.kind), want);
		k8s_object_done(&o);
		return r;
	}
	*ret = o.json;
	return 0;
}

static int parse_endpoint(const char *rest, const char *value, size_t len, void **ret,
			  struct err *err)
{
	struct pol_endpoint *ep = calloc(1, sizeof(*ep));
	char want[sizeof(ep->node) + sizeof(ep->cid) + sizeof(ep->ifname) + 2];
	int r;

	if (!ep)
		return err_fail(err, CNI_ERR_INTERNAL, -ENOMEM, "out of memory");
	r = pol_endpoint_parse(value, len, ep, err);
	if (r == 0) {
		snprintf(want, sizeof(want), "%s/%s-%s", ep->node, ep->cid, ep->ifname);
		if (strcmp(want, rest))
			r = err_fail(err, CNI_ERR_DECODE, -EINVAL, "%s%s: holds the endpoint of %s",
				     POL_KEY_ENDPOINTS, rest, want);
	}
	if (r < 0) {
		pol_endpoint_done(ep);
		free(ep);
		return r;
	}
	*ret = ep;
	return 0;
}

static int parse_value(int t, const char *rest, const char *value, size_t len, void **ret,
		       struct err *err)
{
	const cJSON *meta;
	cJSON *json = NULL;
	int r;

	if (t == T_EP)
		return parse_endpoint(rest, value, len, ret, err);
	if ((r = parse_object(t, rest, value, len, &json, err)) < 0)
		return r;
	if (t != T_POL) {
		*ret = json;
		return 0;
	}
	meta = cJSON_GetObjectItemCaseSensitive(json, "metadata");
	r = pol_policy_compile(json,
			       cJSON_GetObjectItemCaseSensitive(meta, "namespace")->valuestring,
			       cJSON_GetObjectItemCaseSensitive(meta, "name")->valuestring,
			       (struct pol_policy **)ret, err);
	if (r < 0)
		cJSON_Delete(json);
	return r;
}

/* whether two values of table t say the same */
static bool same(int t, const void *a, const void *b)
{
	char *x, *y;
	bool eq;

	if (t == T_NS || t == T_POD)
		return cJSON_Compare(a, b, true);
	if (t == T_POL)
		return !memcmp(((const struct pol_policy *)a)->digest,
			       ((const struct pol_policy *)b)->digest, SHA256_LEN);
	x = pol_endpoint_json(a);
	y = pol_endpoint_json(b);
	eq = x && y && !strcmp(x, y);
	free(x);
	free(y);
	return eq;
}

static int table_put(struct pol_table *tb, long at, const char *key, void *val)
{
	char *k = strdup(key);

	if (!k || vec_room(&tb->e, &tb->cap, tb->n, sizeof(*tb->e), 16) < 0) {
		free(k);
		return -ENOMEM;
	}
	memmove(&tb->e[at + 1], &tb->e[at], (tb->n - (size_t)at) * sizeof(*tb->e));
	tb->e[at].key = k;
	tb->e[at].val = val;
	tb->n++;
	return 0;
}

int pol_model_set(struct pol_model *m, const char *rel_key, const char *value, size_t len,
		  struct err *err)
{
	const char *rest;
	struct pol_table *tb;
	void *val;
	long at;
	int t, r;

	t = key_kind(rel_key, &rest);
	if (t == -1)
		return 0;
	if (t == -2)
		return err_fail(err, CNI_ERR_DECODE, -EINVAL, "%s: not a key of its kind", rel_key);
	tb = &m->t[t];
	at = pol_table_find(tb, rest);
	if (!value) {
		if (at < 0)
			return 0;
		val_free(t, tb->e[at].val);
		free(tb->e[at].key);
		memmove(&tb->e[at], &tb->e[at + 1], (tb->n - (size_t)at - 1) * sizeof(*tb->e));
		tb->n--;
		return 1;
	}
	if ((r = parse_value(t, rest, value, len, &val, err)) < 0)
		return r;
	if (at >= 0) {
		r = !same(t, tb->e[at].val, val);
		val_free(t, r ? tb->e[at].val : val);
		if (r)
			tb->e[at].val = val;
		return r;
	}
	if (table_put(tb, -at - 1, rest, val) < 0) {
		val_free(t, val);
		return err_fail(err, CNI_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	return 1;
}

static int add_key(char ***keys, size_t *nkeys, const char *ep_key)
{
	char **k = realloc(*keys, (*nkeys + 1) * sizeof(**keys));

	if (!k)
		return -ENOMEM;
	*keys = k;
	if (asprintf(&k[*nkeys], "%s%s", POL_KEY_ENDPOINTS, ep_key) < 0)
		return -ENOMEM;
	(*nkeys)++;
	return 0;
}

int pol_model_affected(const struct pol_model *m, const char *rel_key, char ***keys, size_t *nkeys)
{
	const struct pol_table *eps = &m->t[T_EP];
	const struct pol_endpoint *ep;
	const char *rest, *slash;
	size_t i, nslen;
	int t, r;

	t = key_kind(rel_key, &rest);
	if (t == T_POL)
		return POL_AFFECT_POLICIES;
	if (t < 0)
		return 0;
	if (t == T_EP)
		return pol_table_find(eps, rest) >= 0 ? add_key(keys, nkeys, rest) : 0;
	slash = strchr(rest, '/');
	nslen = slash ? (size_t)(slash - rest) : strlen(rest);
	for (i = 0; i < eps->n; i++) {
		ep = eps->e[i].val;
		if (strlen(ep->ns) != nslen || strncmp(ep->ns, rest, nslen))
			continue;
		if (t == T_POD && strcmp(ep->pod, slash + 1))
			continue;
		if ((r = add_key(keys, nkeys, eps->e[i].key)) < 0)
			return r;
	}
	return 0;
}

bool pol_model_ip_held(const struct pol_model *m, const struct ip_addr *ip, const char *rel_key)
{
	const struct pol_table *eps = &m->t[T_EP];
	const char *rest = rel_key;

	if (!strncmp(rest, POL_KEY_ENDPOINTS, strlen(POL_KEY_ENDPOINTS)))
		rest += strlen(POL_KEY_ENDPOINTS);
	for (size_t i = 0; i < eps->n; i++) {
		const struct pol_endpoint *ep = eps->e[i].val;

		if (!strcmp(eps->e[i].key, rest))
			continue;
		for (size_t j = 0; j < ep->nips; j++)
			if (ip_eq(&ep->ips[j], ip))
				return true;
	}
	return false;
}

void pol_model_stamp(const struct pol_model *m, char out[POL_STAMP_MAX])
{
	const struct pol_table *pols = &m->t[T_POL];
	const struct pol_policy *p;
	size_t i, j, size = 1, len = 0;
	char *buf;

	/* the policies' digests in key order; each digest covers the normalized object. First
	 * the renderer's format: a table that an older renderer made (other set names, shared
	 * or not) never matches, so the first ADD after an upgrade replaces it whole rather
	 * than adding a fragment's elements to sets it does not have */
	size += sizeof(POL_RENDER_FORMAT);
	for (i = 0; i < pols->n; i++)
		size += strlen(pols->e[i].key) + 2 * SHA256_LEN + 2;
	buf = malloc(size);
	if (!buf) {
		*out = '\0'; /* no stamp matches: the caller renders in full */
		return;
	}
	len = (size_t)snprintf(buf, size, "%s", POL_RENDER_FORMAT);
	for (i = 0; i < pols->n; i++) {
		p = pols->e[i].val;
		len += (size_t)snprintf(buf + len, size - len, "%s ", p->key);
		for (j = 0; j < SHA256_LEN; j++)
			len += (size_t)snprintf(buf + len, size - len, "%02x", p->digest[j]);
		buf[len++] = '\n';
	}
	pol_hex_digest(buf, len, 64, out);
	free(buf);
}
