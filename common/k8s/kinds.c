// SPDX-License-Identifier: Apache-2.0
/* What each kind keeps: metadata (name, namespace, labels, annotations; the apiserver's
 * bookkeeping dropped), a Pod's containers' ports and its IPs, a Namespace's name label. */
#include <errno.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/ip.h"
#include "k8s/object.h"
#include "k8s/valid.h"

#define ANNOTATIONS_MAX (256 * 1024) /* TotalAnnotationSizeLimitB */

static int annotations(struct kv *v, cJSON *meta)
{
	cJSON *map, *m;
	const char *why;
	size_t at, total = 0;
	int r;

	map = kv_get(v, meta, "annotations", cJSON_Object, &r);
	if (!map)
		return r;
	at = kv_push(v, "annotations");
	cJSON_ArrayForEach(m, map) {
		if ((why = k8s_check_label_key(m->string)))
			r = kv_fail(v, "key \"%s\": %s", m->string, why);
		else if (!cJSON_IsString(m))
			r = kv_fail(v, "key \"%s\": the value must be a string", m->string);
		else if ((total += strlen(m->string) + strlen(m->valuestring)) > ANNOTATIONS_MAX)
			r = kv_fail(v, "may not be more than %d bytes in all", ANNOTATIONS_MAX);
		if (r < 0)
			break;
	}
	kv_pop(v, at);
	return r;
}

/* moves o's member key, if a non-empty object, to out */
static void move_map(cJSON *o, const char *key, cJSON *out)
{
	cJSON *m = cJSON_DetachItemFromObjectCaseSensitive(o, key);

	if (cJSON_GetArraySize(m))
		cJSON_AddItemToObject(out, key, m);
	else
		cJSON_Delete(m);
}

cJSON *kv_metadata(struct kv *v, cJSON *o, const struct k8s_object *obj, int *r)
{
	static const char *const fields[] = {"name",
					     "namespace",
					     "labels",
					     "annotations",
					     "uid",
					     "resourceVersion",
					     "generation",
					     "creationTimestamp",
					     "selfLink",
					     "managedFields",
					     "deletionTimestamp",
					     "deletionGracePeriodSeconds",
					     "finalizers",
					     "ownerReferences",
					     "generateName",
					     NULL};
	cJSON *meta = cJSON_GetObjectItemCaseSensitive(o, "metadata"), *out;
	size_t at = kv_push(v, "metadata");

	if ((*r = kv_known(v, meta, fields)) < 0 || (*r = kv_labels(v, meta, "labels")) < 0 ||
	    (*r = annotations(v, meta)) < 0) {
		kv_pop(v, at);
		return NULL;
	}
	kv_pop(v, at);
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "name", obj->name);
	if (obj->kind != K8S_NAMESPACE)
		cJSON_AddStringToObject(out, "namespace", obj->ns);
	move_map(meta, "labels", out);
	move_map(meta, "annotations", out);
	if (obj->kind == K8S_NAMESPACE) {
		/* the apiserver labels every namespace with its name (immutably), which is how a
		 * namespaceSelector picks one namespace by name */
		cJSON *labels = cJSON_GetObjectItemCaseSensitive(out, "labels");

		if (!labels)
			labels = cJSON_AddObjectToObject(out, "labels");
		cJSON_DeleteItemFromObjectCaseSensitive(labels, K8S_NS_LABEL);
		cJSON_AddStringToObject(labels, K8S_NS_LABEL, obj->name);
	}
	return out;
}

static int container_port(struct kv *v, cJSON *p, cJSON *names)
{
	static const char *const fields[] = {"name",	 "containerPort", "protocol",
					     "hostPort", "hostIP",	  NULL};
	cJSON *name, *port, *seen;
	const char *why;
	int r;

	if ((r = kv_known(v, p, fields)) < 0 || (r = kv_protocol(v, p)) < 0)
		return r;
	port = kv_get(v, p, "containerPort", cJSON_Number, &r);
	if (r < 0)
		return r;
	if (!port)
		return kv_fail_at(v, "containerPort", "required");
	if (port->valueint < 1 || port->valueint > 65535)
		return kv_fail_at(v, "containerPort",
				  "invalid value %d: must be between 1 and 65535, inclusive",
				  port->valueint);
	if (!kv_get(v, p, "hostPort", cJSON_Number, &r) && r < 0)
		return r;
	name = kv_get(v, p, "name", cJSON_String, &r);
	if (!name)
		return r;
	if ((why = k8s_check_port_name(name->valuestring)))
		return kv_fail_at(v, "name", "invalid port name \"%s\": %s", name->valuestring,
				  why);
	cJSON_ArrayForEach(seen, names)
		if (!strcmp(seen->valuestring, name->valuestring))
			return kv_fail_at(v, "name", "duplicate value \"%s\"", name->valuestring);
	cJSON_AddItemToArray(names, cJSON_CreateString(name->valuestring));
	return 0;
}

static int container(struct kv *v, cJSON *c)
{
	cJSON *names; /* its ports' names, unique within the container (as the apiserver has
		       * it: two containers may each name a port "http") */
	cJSON *name, *ports, *p;
	const char *why;
	size_t at;
	int r, i = 0;

	name = kv_get(v, c, "name", cJSON_String, &r);
	if (r < 0 || (!name && (r = kv_fail_at(v, "name", "required")) < 0))
		return r;
	if ((why = k8s_check_dns_label(name->valuestring)))
		return kv_fail_at(v, "name", "invalid value \"%s\": %s", name->valuestring, why);
	ports = kv_get(v, c, "ports", cJSON_Array, &r);
	names = cJSON_CreateArray();
	if (!names)
		return -ENOMEM;
	cJSON_ArrayForEach(p, ports) {
		at = kv_push(v, "ports");
		kv_push_idx(v, i++);
		r = cJSON_IsObject(p) ? container_port(v, p, names)
				      : kv_fail(v, "must be an object");
		kv_pop(v, at);
		if (r < 0)
			break;
	}
	cJSON_Delete(names);
	return r;
}

/* containers' names unique */
static int containers(struct kv *v, cJSON *spec)
{
	cJSON *list, *c, *cnames, *seen;
	const char *name;
	size_t at;
	int r, i = 0;

	list = kv_get(v, spec, "containers", cJSON_Array, &r);
	if (!list)
		return r;
	cnames = cJSON_CreateArray();
	if (!cnames)
		return -ENOMEM;
	cJSON_ArrayForEach(c, list) {
		at = kv_push(v, "containers");
		kv_push_idx(v, i++);
		r = cJSON_IsObject(c) ? container(v, c) : kv_fail(v, "must be an object");
		name = r < 0 ? NULL : cJSON_GetObjectItemCaseSensitive(c, "name")->valuestring;
		for (seen = name ? cnames->child : NULL; seen; seen = seen->next) {
			if (!strcmp(seen->valuestring, name)) {
				r = kv_fail_at(v, "name", "duplicate value \"%s\"", name);
				break;
			}
		}
		if (r == 0)
			cJSON_AddItemToArray(cnames, cJSON_CreateString(name));
		kv_pop(v, at);
		if (r < 0)
			break;
	}
	cJSON_Delete(cnames);
	return r;
}

/* status.podIPs (and podIP, its first, as the apiserver keeps the two): valid, at most one
 * of each family; the rest of status is the kubelet's and dropped */
static int pod_ips(struct kv *v, cJSON *status, cJSON **ret)
{
	struct ip_addr ip, seen[2];
	cJSON *ips, *one, *e, *a;
	size_t at;
	int r, i = 0;

	*ret = NULL;
	at = kv_push(v, "status");
	one = kv_get(v, status, "podIP", cJSON_String, &r);
	if (r < 0 ||
	    (one && ip_parse(one->valuestring, &ip) < 0 &&
	     (r = kv_fail_at(v, "podIP", "invalid IP address \"%s\"", one->valuestring)) < 0))
		goto out;
	ips = kv_get(v, status, "podIPs", cJSON_Array, &r);
	cJSON_ArrayForEach(e, ips) {
		size_t at2 = kv_push(v, "podIPs");

		kv_push_idx(v, i);
		a = cJSON_IsObject(e) ? kv_get(v, e, "ip", cJSON_String, &r) : NULL;
		if (r == 0 && !a)
			r = kv_fail(v, "must be an object with an ip");
		else if (r == 0 && ip_parse(a->valuestring, &ip) < 0)
			r = kv_fail_at(v, "ip", "invalid IP address \"%s\"", a->valuestring);
		else if (r == 0 && i >= 2)
			r = kv_fail(v, "may not have more than two IPs (one of each family)");
		else if (r == 0 && i == 1 && seen[0].family == ip.family)
			r = kv_fail(v, "expected at most one IP for each IP family");
		else if (r == 0 && i == 0 && one && strcmp(one->valuestring, a->valuestring))
			r = kv_fail(v, "must match status.podIP \"%s\"", one->valuestring);
		kv_pop(v, at2);
		if (r < 0)
			goto out;
		seen[i++] = ip;
	}
	if (!one && !i)
		goto out;
	*ret = cJSON_CreateObject();
	if (!i) {
		cJSON_AddStringToObject(*ret, "podIP", one->valuestring);
		ips = cJSON_AddArrayToObject(*ret, "podIPs");
		a = cJSON_CreateObject();
		cJSON_AddStringToObject(a, "ip", one->valuestring);
		cJSON_AddItemToArray(ips, a);
	} else {
		ips = cJSON_DetachItemFromObjectCaseSensitive(status, "podIPs");
		cJSON_AddStringToObject(
			*ret, "podIP",
			cJSON_GetObjectItemCaseSensitive(ips->child, "ip")->valuestring);
		cJSON_AddItemToObject(*ret, "podIPs", ips);
		cJSON_ArrayForEach(e, ips) {
			/* {"ip": ...} alone: other members would be the kubelet's */
			a = cJSON_DetachItemFromObjectCaseSensitive(e, "ip");
			while (e->child)
				cJSON_Delete(cJSON_DetachItemViaPointer(e, e->child));
			cJSON_AddItemToObject(e, "ip", a);
		}
	}
out:
	kv_pop(v, at);
	return r;
}

int kv_pod(struct kv *v, cJSON *spec, cJSON *status, cJSON **ret_status)
{
	size_t at;
	int r = 0;

	*ret_status = NULL;
	if (spec) {
		at = kv_push(v, "spec");
		r = containers(v, spec);
		kv_pop(v, at);
	}
	if (r == 0 && status)
		r = pod_ips(v, status, ret_status);
	return r;
}
