// SPDX-License-Identifier: Apache-2.0
/* Kubernetes objects: inputs split into objects, each validated and normalized (what the
 * apiserver would store, less its own bookkeeping), their kinds and store keys. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "base/ip.h"
#include "base/json.h"
#include "k8s/object.h"
#include "k8s/valid.h"

static const struct kind_info {
	const char *api, *kind, *resource, *dir;
	const char *names[5]; /* kubectl's singular, plural, short names */
} kinds[K8S_KIND_COUNT] = {
	[K8S_NAMESPACE] =
		{"v1", "Namespace", "namespace", "namespaces", {"namespace", "namespaces", "ns"}},
	[K8S_POD] = {"v1", "Pod", "pod", "pods", {"pod", "pods", "po"}},
	[K8S_POLICY] = {"networking.k8s.io/v1",
			"NetworkPolicy",
			"networkpolicy.networking.k8s.io",
			"policies",
			{"networkpolicy", "networkpolicies", "netpol", "netpols",
			 "networkpolicy.networking.k8s.io"}},
};

int k8s_kind_parse(const char *s)
{
	int k, i;

	for (k = 0; k < K8S_KIND_COUNT; k++)
		for (i = 0; i < 5 && kinds[k].names[i]; i++)
			if (!strcmp(s, kinds[k].names[i]))
				return k;
	return -1;
}

const char *k8s_kind_name(enum k8s_kind kind)
{
	return kinds[kind].kind;
}

const char *k8s_kind_resource(enum k8s_kind kind)
{
	return kinds[kind].resource;
}

int k8s_key(const char *prefix, enum k8s_kind kind, const char *ns, const char *name, char *buf,
	    size_t size)
{
	int n;

	if (kind == K8S_NAMESPACE)
		n = snprintf(buf, size, "%s/%s/%s", prefix, kinds[kind].dir, name);
	else
		n = snprintf(buf, size, "%s/%s/%s/%s", prefix, kinds[kind].dir, ns, name);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int k8s_key_prefix(const char *prefix, enum k8s_kind kind, const char *ns, char *buf, size_t size)
{
	int n;

	if (ns && kind != K8S_NAMESPACE)
		n = snprintf(buf, size, "%s/%s/%s/", prefix, kinds[kind].dir, ns);
	else
		n = snprintf(buf, size, "%s/%s/", prefix, kinds[kind].dir);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static const char *str_or(const cJSON *o, const char *key, const char *dflt)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(m) && *m->valuestring ? m->valuestring : dflt;
}

char *k8s_object_label(const cJSON *in, char *buf, size_t size)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(in, "metadata");
	const char *kind = str_or(in, "kind", "?");

	if (!strcmp(kind, "Namespace"))
		snprintf(buf, size, "%s %s", kind, str_or(meta, "name", "?"));
	else
		snprintf(buf, size, "%s %s/%s", kind, str_or(meta, "namespace", K8S_DEFAULT_NS),
			 str_or(meta, "name", "?"));
	return buf;
}

static int cmp_member(const void *a, const void *b)
{
	return strcmp((*(const cJSON *const *)a)->string, (*(const cJSON *const *)b)->string);
}

/* Go's decoder keeps the last of duplicate members, cJSON lookups the first: refused, as
 * the apiserver's strict decoding does. Sorted, not compared pairwise: an input may hold
 * maps of many thousand members. */
static int no_duplicates(struct kv *v, const cJSON *o)
{
	const cJSON **m = NULL, *c;
	size_t n = 0, i, at;
	int r = 0;

	if (cJSON_IsObject(o) && o->child && o->child->next) {
		m = malloc((size_t)cJSON_GetArraySize(o) * sizeof(*m));
		if (!m)
			return err_fail(v->err, CNI_ERR_INTERNAL, -ENOMEM, "out of memory");
		for (c = o->child; c; c = c->next)
			m[n++] = c;
		qsort(m, n, sizeof(*m), cmp_member);
		for (i = 1; i < n && r == 0; i++)
			if (!strcmp(m[i - 1]->string, m[i]->string))
				r = kv_fail_at(v, m[i]->string, "duplicate field");
		free(m);
	}
	for (c = o->child, i = 0; c && r == 0; c = c->next, i++) {
		if (!cJSON_IsObject(c) && !cJSON_IsArray(c))
			continue;
		at = cJSON_IsObject(o) ? kv_push(v, c->string) : kv_push_idx(v, (int)i);
		r = no_duplicates(v, c);
		kv_pop(v, at);
	}
	return r;
}

/* apiVersion, kind, metadata.name and metadata.namespace: what an object is */
static int ident(struct kv *v, cJSON *o, struct k8s_object *ret)
{
	cJSON *api, *kind, *meta, *name, *ns;
	const char *why;
	int r, k;

	if ((r = no_duplicates(v, o)) < 0)
		return r;
	api = kv_get(v, o, "apiVersion", cJSON_String, &r);
	if (r < 0 || (!api && (r = kv_fail_at(v, "apiVersion", "required")) < 0))
		return r;
	kind = kv_get(v, o, "kind", cJSON_String, &r);
	if (r < 0 || (!kind && (r = kv_fail_at(v, "kind", "required")) < 0))
		return r;
	for (k = 0; k < K8S_KIND_COUNT && strcmp(kinds[k].kind, kind->valuestring); k++)
		;
	if (k == K8S_KIND_COUNT)
		return kv_fail_at(
			v, "kind",
			"unsupported kind \"%s\" (apiVersion \"%s\"): sluice stores v1 Namespace, v1 Pod and networking.k8s.io/v1 NetworkPolicy",
			kind->valuestring, api->valuestring);
	if (strcmp(kinds[k].api, api->valuestring))
		return kv_fail_at(v, "apiVersion",
				  "unsupported apiVersion \"%s\" for kind %s (want \"%s\")",
				  api->valuestring, kinds[k].kind, kinds[k].api);
	ret->kind = k;
	meta = kv_get(v, o, "metadata", cJSON_Object, &r);
	if (r < 0 || (!meta && (r = kv_fail_at(v, "metadata", "required")) < 0))
		return r;
	kv_push(v, "metadata");
	name = kv_get(v, meta, "name", cJSON_String, &r);
	if (r < 0 ||
	    ((!name || !*name->valuestring) && (r = kv_fail_at(v, "name", "required")) < 0))
		return r;
	why = k == K8S_NAMESPACE ? k8s_check_dns_label(name->valuestring)
				 : k8s_check_dns_subdomain(name->valuestring);
	if (why)
		return kv_fail_at(v, "name", "invalid value \"%s\": %s", name->valuestring, why);
	ns = kv_get(v, meta, "namespace", cJSON_String, &r);
	if (r < 0)
		return r;
	if (ns && *ns->valuestring && k == K8S_NAMESPACE)
		return kv_fail_at(v, "namespace",
				  "not allowed on a Namespace (namespaces are cluster-scoped)");
	if (ns && *ns->valuestring && (why = k8s_check_dns_label(ns->valuestring)))
		return kv_fail_at(v, "namespace", "invalid value \"%s\": %s", ns->valuestring, why);
	snprintf(ret->name, sizeof(ret->name), "%s", name->valuestring);
	if (k != K8S_NAMESPACE)
		snprintf(ret->ns, sizeof(ret->ns), "%s",
			 ns && *ns->valuestring ? ns->valuestring : K8S_DEFAULT_NS);
	else
		ret->ns[0] = '\0';
	kv_pop(v, 0);
	return 0;
}

int k8s_object_ident(const cJSON *in, struct k8s_object *ret, struct err *err)
{
	struct kv v = {.err = err};
	struct k8s_object o = {0};
	cJSON *dup;
	int r;

	if (!cJSON_IsObject(in))
		return err_fail(err, CNI_ERR_CONFIG, -EINVAL, "(object): must be an object");
	dup = cJSON_Duplicate(in, true);
	if (!dup)
		return err_fail(err, CNI_ERR_INTERNAL, -ENOMEM, "out of memory");
	r = ident(&v, dup, &o);
	cJSON_Delete(dup);
	if (r == 0)
		*ret = o;
	return r;
}

void k8s_object_done(struct k8s_object *o)
{
	if (o) {
		cJSON_Delete(o->json);
		o->json = NULL;
	}
}

/* The normalized object: apiVersion, kind, metadata, spec, status (a Pod's IPs only) */
static int normalize(struct kv *v, cJSON *o, struct k8s_object *obj)
{
	static const char *const fields[] = {"apiVersion", "kind",   "metadata",
					     "spec",	   "status", NULL};
	cJSON *meta, *spec, *status, *keep = NULL;
	int r;

	if ((r = kv_known(v, o, fields)) < 0)
		return r;
	meta = kv_metadata(v, o, obj, &r);
	if (!meta)
		return r;
	spec = kv_get(v, o, "spec", cJSON_Object, &r);
	status = r < 0 ? NULL : kv_get(v, o, "status", cJSON_Object, &r);
	if (r == 0 && obj->kind == K8S_POD) {
		r = kv_pod(v, spec, status, &keep);
	} else if (r == 0 && obj->kind == K8S_POLICY) {
		/* an absent spec decodes as the empty one, as in Go: deny ingress to every pod */
		if (!spec)
			spec = cJSON_AddObjectToObject(o, "spec");
		kv_push(v, "spec");
		r = kv_policy_spec(v, spec);
		kv_pop(v, 0);
	}
	if (r < 0) {
		cJSON_Delete(meta);
		return r;
	}
	obj->json = cJSON_CreateObject();
	cJSON_AddStringToObject(obj->json, "apiVersion", kinds[obj->kind].api);
	cJSON_AddStringToObject(obj->json, "kind", kinds[obj->kind].kind);
	cJSON_AddItemToObject(obj->json, "metadata", meta);
	if (spec)
		cJSON_AddItemToObject(obj->json, "spec",
				      cJSON_DetachItemFromObjectCaseSensitive(o, "spec"));
	if (keep)
		cJSON_AddItemToObject(obj->json, "status", keep);
	return 0;
}

int k8s_object_parse(const cJSON *in, struct k8s_object *ret, struct err *err)
{
	struct kv v = {.err = err};
	struct k8s_object o = {0};
	cJSON *dup;
	int r;

	if (!cJSON_IsObject(in))
		return err_fail(err, CNI_ERR_CONFIG, -EINVAL, "(object): must be an object");
	dup = cJSON_Duplicate(in, true);
	if (!dup)
		return err_fail(err, CNI_ERR_INTERNAL, -ENOMEM, "out of memory");
	r = ident(&v, dup, &o);
	if (r == 0)
		r = normalize(&v, dup, &o);
	cJSON_Delete(dup);
	if (r == 0 && !cJSON_IsObject(o.json))
		r = err_fail(err, CNI_ERR_INTERNAL, -ENOMEM, "out of memory");
	if (r < 0) {
		k8s_object_done(&o);
		return r;
	}
	*ret = o;
	return 0;
}

/* A List's items, in place of the list in out; an item of "<Kind>List" without kind or
 * apiVersion takes them from the list (the API server's lists leave them out) */
static int list_items(cJSON *list, const char *kind, int doc, cJSON *out, struct err *err)
{
	size_t n = strlen(kind) - 4;
	cJSON *items, *item, *api;
	int i = 0;

	api = cJSON_GetObjectItemCaseSensitive(list, "apiVersion");
	items = cJSON_GetObjectItemCaseSensitive(list, "items");
	if (items && !cJSON_IsNull(items) && !cJSON_IsArray(items))
		return err_fail(err, CNI_ERR_CONFIG, -EINVAL,
				"document %d: items: must be an array", doc);
	cJSON_ArrayForEach(item, items) {
		if (!cJSON_IsObject(item))
			return err_fail(err, CNI_ERR_CONFIG, -EINVAL,
					"document %d: items[%d]: must be an object", doc, i);
		if (n && !cJSON_GetObjectItemCaseSensitive(item, "kind"))
			cJSON_AddItemToObject(item, "kind", cJSON_CreateString(""));
		if (n && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(item, "kind")) &&
		    !*cJSON_GetObjectItemCaseSensitive(item, "kind")->valuestring) {
			cJSON_ReplaceItemInObjectCaseSensitive(item, "kind",
							       cJSON_CreateString(kind));
			cJSON_GetObjectItemCaseSensitive(item, "kind")->valuestring[n] = '\0';
			if (cJSON_IsString(api) &&
			    !cJSON_GetObjectItemCaseSensitive(item, "apiVersion"))
				cJSON_AddStringToObject(item, "apiVersion", api->valuestring);
		}
		i++;
	}
	while (items && items->child)
		cJSON_AddItemToArray(out, cJSON_DetachItemViaPointer(items, items->child));
	return 0;
}

static int flatten(cJSON *docs, cJSON *out, struct err *err)
{
	const char *kind;
	cJSON *doc;
	size_t n;
	int r, i = 0;

	while ((doc = docs->child)) {
		cJSON_DetachItemViaPointer(docs, doc);
		i++;
		if (cJSON_IsNull(doc)) { /* an empty YAML document */
			cJSON_Delete(doc);
			continue;
		}
		if (!cJSON_IsObject(doc)) {
			cJSON_Delete(doc);
			return err_fail(
				err, CNI_ERR_CONFIG, -EINVAL,
				"document %d: not an object (a Kubernetes object or a List)", i);
		}
		kind = str_or(doc, "kind", "");
		n = strlen(kind);
		if (n >= 4 && !strcmp(kind + n - 4, "List") && cJSON_HasObjectItem(doc, "items")) {
			r = list_items(doc, kind, i, out, err);
			cJSON_Delete(doc);
			if (r < 0)
				return r;
		} else {
			cJSON_AddItemToArray(out, doc);
		}
	}
	return 0;
}

int k8s_split(const char *buf, size_t len, k8s_yaml_reader yaml, cJSON **ret, struct err *err)
{
	char why[256];
	cJSON *docs = NULL, *out;
	size_t i;
	int r;

	for (i = 0; i < len && strchr(" \t\r\n", buf[i]) && buf[i]; i++)
		;
	if (i < len && (buf[i] == '{' || buf[i] == '[')) {
		r = json_parse_strict(buf, len, &docs, why, sizeof(why));
		if (r < 0)
			return err_fail(err, CNI_ERR_DECODE, r, "invalid JSON: %s", why);
		if (!cJSON_IsArray(docs)) {
			out = cJSON_CreateArray();
			cJSON_AddItemToArray(out, docs);
			docs = out;
		}
	} else if (!yaml) {
		return err_fail(
			err, CNI_ERR_DECODE, -ENOTSUP,
			"input is not JSON (it does not start with '{' or '['), and YAML is read only by sluicectl and sluiced");
	} else if ((r = yaml(buf, len, &docs, err)) < 0) {
		return r;
	}
	out = cJSON_CreateArray();
	r = out ? flatten(docs, out, err) : -ENOMEM;
	cJSON_Delete(docs);
	if (r < 0) {
		cJSON_Delete(out);
		return r == -ENOMEM ? err_fail(err, CNI_ERR_INTERNAL, r, "out of memory") : r;
	}
	*ret = out;
	return 0;
}
