// SPDX-License-Identifier: Apache-2.0
/* The endpoint record sluice-nft-policy keeps in the store, to JSON and back (strictly:
 * every field checked and named when wrong, unknown fields refused). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "base/ip.h"
#include "base/json.h"
#include "k8s/object.h"
#include "policy/policy.h"

char *pol_endpoint_json(const struct pol_endpoint *ep)
{
	char buf[IP_STRLEN], *s = NULL;
	cJSON *o, *ips, *v;
	size_t i;

	/* every member checked: a record written without its name or "ips" (ENOMEM) would
	 * never be removed by DEL or GC */
	o = cJSON_CreateObject();
	if (!o)
		return NULL;
	if (!cJSON_AddStringToObject(o, "containerID", ep->cid) ||
	    !cJSON_AddStringToObject(o, "ifName", ep->ifname) ||
	    !cJSON_AddStringToObject(o, "namespace", ep->ns) ||
	    !cJSON_AddStringToObject(o, "pod", ep->pod) ||
	    !cJSON_AddStringToObject(o, "node", ep->node) ||
	    !(ips = cJSON_AddArrayToObject(o, "ips")))
		goto out;
	for (i = 0; i < ep->nips; i++)
		if (!(v = cJSON_CreateString(ip_fmt(&ep->ips[i], buf))) ||
		    !cJSON_AddItemToArray(ips, v)) {
			cJSON_Delete(v);
			goto out;
		}
	if (!cJSON_AddStringToObject(o, "hostVeth", ep->veth))
		goto out;
	if (ep->labels &&
	    (!(v = cJSON_Duplicate(ep->labels, true)) || !cJSON_AddItemToObject(o, "labels", v))) {
		cJSON_Delete(v);
		goto out;
	}
	s = cJSON_PrintUnformatted(o);
out:
	cJSON_Delete(o);
	return s;
}

/* o's string member key into out (size bytes); required ones must be non-empty */
static int field(const cJSON *o, const char *key, char *out, size_t size, bool required,
		 struct err *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	*out = '\0';
	if (!v && !required)
		return 0;
	if (!cJSON_IsString(v))
		return err_fail(err, CNI_ERR_DECODE, -EINVAL, "endpoint: %s: %s", key,
				v ? "must be a string" : "required");
	if (required && !*v->valuestring)
		return err_fail(err, CNI_ERR_DECODE, -EINVAL, "endpoint: %s: required", key);
	if (strlen(v->valuestring) >= size)
		return err_fail(err, CNI_ERR_DECODE, -EINVAL,
				"endpoint: %s: longer than %zu characters", key, size - 1);
	memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
	return 0;
}

static int ips(const cJSON *o, struct pol_endpoint *ep, struct err *err)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, "ips"), *e;

	if (!cJSON_IsArray(arr))
		return err_fail(err, CNI_ERR_DECODE, -EINVAL, "endpoint: ips: %s",
				arr ? "must be an array" : "required");
	cJSON_ArrayForEach(e, arr) {
		if (ep->nips == sizeof(ep->ips) / sizeof(ep->ips[0]))
			return err_fail(err, CNI_ERR_DECODE, -EINVAL,
					"endpoint: ips: more than %zu addresses", ep->nips);
		if (!cJSON_IsString(e) || ip_parse(e->valuestring, &ep->ips[ep->nips]) < 0)
			return err_fail(err, CNI_ERR_DECODE, -EINVAL,
					"endpoint: ips[%zu]: not an IP address", ep->nips);
		ep->nips++;
	}
	return 0;
}

static int labels(const cJSON *o, struct pol_endpoint *ep, struct err *err)
{
	const cJSON *l = cJSON_GetObjectItemCaseSensitive(o, "labels"), *e;
	const char *why;

	if (!l)
		return 0;
	if (!cJSON_IsObject(l))
		return err_fail(err, CNI_ERR_DECODE, -EINVAL,
				"endpoint: labels: must be an object");
	cJSON_ArrayForEach(e, l) {
		why = k8s_check_label_key(e->string);
		if (!why)
			why = !cJSON_IsString(e) ? "the value must be a string"
						 : k8s_check_label_value(e->valuestring);
		if (why)
			return err_fail(err, CNI_ERR_DECODE, -EINVAL,
					"endpoint: labels: key \"%s\": %s", e->string, why);
	}
	ep->labels = cJSON_Duplicate(l, true);
	return ep->labels ? 0 : err_fail(err, CNI_ERR_INTERNAL, -ENOMEM, "out of memory");
}

static int known(const cJSON *o, struct err *err)
{
	static const char *const fields[] = {"containerID", "ifName",	"namespace", "pod", "node",
					     "ips",	    "hostVeth", "labels",    NULL};
	const cJSON *e;
	size_t i;

	cJSON_ArrayForEach(e, o) {
		for (i = 0; fields[i] && strcmp(fields[i], e->string); i++)
			;
		if (!fields[i])
			return err_fail(err, CNI_ERR_DECODE, -EINVAL, "endpoint: %s: unknown field",
					e->string);
	}
	return 0;
}

int pol_endpoint_parse(const char *text, size_t len, struct pol_endpoint *ep, struct err *err)
{
	struct pol_endpoint e = {0};
	char why[256];
	cJSON *o;
	int r;

	if (json_parse_strict(text, len, &o, why, sizeof(why)) < 0)
		return err_fail(err, CNI_ERR_DECODE, -EINVAL, "endpoint: %s", why);
	if (!cJSON_IsObject(o)) {
		r = err_fail(err, CNI_ERR_DECODE, -EINVAL, "endpoint: must be an object");
		goto out;
	}
	if ((r = known(o, err)) < 0 ||
	    (r = field(o, "containerID", e.cid, sizeof(e.cid), true, err)) < 0 ||
	    (r = field(o, "ifName", e.ifname, sizeof(e.ifname), true, err)) < 0 ||
	    (r = field(o, "namespace", e.ns, sizeof(e.ns), true, err)) < 0 ||
	    (r = field(o, "pod", e.pod, sizeof(e.pod), false, err)) < 0 ||
	    (r = field(o, "node", e.node, sizeof(e.node), true, err)) < 0 ||
	    (r = field(o, "hostVeth", e.veth, sizeof(e.veth), false, err)) < 0 ||
	    (r = ips(o, &e, err)) < 0 || (r = labels(o, &e, err)) < 0)
		goto out;
	*ep = e;
	e.labels = NULL;
out:
	cJSON_Delete(e.labels);
	cJSON_Delete(o);
	return r;
}

void pol_endpoint_done(struct pol_endpoint *ep)
{
	cJSON_Delete(ep->labels);
	ep->labels = NULL;
}
