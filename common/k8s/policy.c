// SPDX-License-Identifier: Apache-2.0
/* networking.k8s.io/v1 NetworkPolicy's spec, validated as the apiserver does
 * (pkg/apis/networking/validation) and defaulted as it does (policyTypes, protocols,
 * podSelector), every field known: a misspelt one would change what the policy allows. */
#include <errno.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/ip.h"
#include "k8s/object.h"
#include "k8s/valid.h"

static int port_num(struct kv *v, const char *key, int n)
{
	if (n < 1 || n > 65535)
		return kv_fail_at(v, key,
				  "invalid value %d: must be between 1 and 65535, inclusive", n);
	return 0;
}

static int policy_port(struct kv *v, cJSON *p)
{
	static const char *const fields[] = {"protocol", "port", "endPort", NULL};
	cJSON *port, *end;
	const char *why;
	int r;

	if ((r = kv_known(v, p, fields)) < 0 || (r = kv_protocol(v, p)) < 0)
		return r;
	port = cJSON_GetObjectItemCaseSensitive(p, "port");
	if (cJSON_IsNull(port)) {
		cJSON_DeleteItemFromObjectCaseSensitive(p, "port");
		port = NULL;
	}
	end = kv_get(v, p, "endPort", cJSON_Number, &r);
	if (r < 0)
		return r;
	if (!port)
		return end ? kv_fail_at(v, "endPort",
					"may not be specified when `port` is not specified")
			   : 0;
	if (cJSON_IsString(port)) {
		if (end)
			return kv_fail_at(v, "endPort",
					  "may not be specified when `port` is non-numeric");
		if ((why = k8s_check_port_name(port->valuestring)))
			return kv_fail_at(v, "port", "invalid port name \"%s\": %s",
					  port->valuestring, why);
		return 0;
	}
	if (!kv_get(v, p, "port", cJSON_Number, &r))
		return r < 0 ? r : kv_fail_at(v, "port", "must be an integer or a port name");
	if ((r = port_num(v, "port", port->valueint)) < 0)
		return r;
	if (end && end->valueint < port->valueint)
		return kv_fail_at(v, "endPort",
				  "invalid value %d: must be greater than or equal to `port` (%d)",
				  end->valueint, port->valueint);
	return end ? port_num(v, "endPort", end->valueint) : 0;
}

static int ip_block(struct kv *v, cJSON *b)
{
	static const char *const fields[] = {"cidr", "except", NULL};
	struct ip_prefix net, ex;
	cJSON *cidr, *except, *e;
	size_t at;
	int r, i = 0;

	if ((r = kv_known(v, b, fields)) < 0)
		return r;
	cidr = kv_get(v, b, "cidr", cJSON_String, &r);
	if (r < 0)
		return r;
	if (!cidr || !*cidr->valuestring)
		return kv_fail_at(v, "cidr", "required");
	if (ip_prefix_parse(cidr->valuestring, &net) < 0)
		return kv_fail_at(v, "cidr", "invalid CIDR \"%s\"", cidr->valuestring);
	except = kv_get(v, b, "except", cJSON_Array, &r);
	cJSON_ArrayForEach(e, except) {
		at = kv_push(v, "except");
		kv_push_idx(v, i++);
		if (!cJSON_IsString(e))
			r = kv_fail(v, "must be a string");
		else if (ip_prefix_parse(e->valuestring, &ex) < 0)
			r = kv_fail(v, "invalid CIDR \"%s\"", e->valuestring);
		else if (ex.ip.family != net.ip.family || ex.len <= net.len ||
			 !ip_prefix_contains(&net, &ex.ip))
			r = kv_fail(v, "\"%s\" must be a strict subset of `cidr` (%s)",
				    e->valuestring, cidr->valuestring);
		kv_pop(v, at);
		if (r < 0)
			return r;
	}
	return r;
}

static int peer(struct kv *v, cJSON *p)
{
	static const char *const fields[] = {"podSelector", "namespaceSelector", "ipBlock", NULL};
	cJSON *block;
	int r, n = 0;

	if ((r = kv_known(v, p, fields)) < 0 || (r = kv_selector(v, p, "podSelector")) < 0 ||
	    (r = kv_selector(v, p, "namespaceSelector")) < 0)
		return r;
	block = kv_get(v, p, "ipBlock", cJSON_Object, &r);
	if (r < 0)
		return r;
	n = !!cJSON_GetObjectItemCaseSensitive(p, "podSelector") +
	    !!cJSON_GetObjectItemCaseSensitive(p, "namespaceSelector");
	if (!n && !block)
		return kv_fail(v,
			       "must specify a peer (podSelector, namespaceSelector or ipBlock)");
	if (n && block)
		return kv_fail(v, "may not specify both ipBlock and another peer");
	if (block) {
		size_t at = kv_push(v, "ipBlock");

		r = ip_block(v, block);
		kv_pop(v, at);
	}
	return r;
}

/* each member of o's array key checked by fn */
static int each(struct kv *v, cJSON *o, const char *key, int (*fn)(struct kv *, cJSON *))
{
	cJSON *arr, *e;
	size_t at;
	int r, i = 0;

	arr = kv_get(v, o, key, cJSON_Array, &r);
	cJSON_ArrayForEach(e, arr) {
		at = kv_push(v, key);
		kv_push_idx(v, i++);
		r = cJSON_IsObject(e) ? fn(v, e) : kv_fail(v, "must be an object");
		kv_pop(v, at);
		if (r < 0)
			return r;
	}
	return r;
}

static int ingress_rule(struct kv *v, cJSON *rule)
{
	static const char *const fields[] = {"from", "ports", NULL};
	int r;

	if ((r = kv_known(v, rule, fields)) < 0 || (r = each(v, rule, "from", peer)) < 0)
		return r;
	return each(v, rule, "ports", policy_port);
}

static int egress_rule(struct kv *v, cJSON *rule)
{
	static const char *const fields[] = {"to", "ports", NULL};
	int r;

	if ((r = kv_known(v, rule, fields)) < 0 || (r = each(v, rule, "to", peer)) < 0)
		return r;
	return each(v, rule, "ports", policy_port);
}

/* policyTypes: Ingress and Egress at most once each; when absent or empty, Ingress and, if
 * there are egress rules, Egress (the apiserver's SetDefaults_NetworkPolicySpec) */
static int policy_types(struct kv *v, cJSON *spec)
{
	bool seen[2] = {false, false};
	cJSON *types, *t, *egress;
	size_t at;
	int r, i = 0, k;

	types = kv_get(v, spec, "policyTypes", cJSON_Array, &r);
	if (r < 0)
		return r;
	cJSON_ArrayForEach(t, types) {
		at = kv_push(v, "policyTypes");
		kv_push_idx(v, i++);
		k = !cJSON_IsString(t)			 ? -1
		    : !strcmp(t->valuestring, "Ingress") ? 0
		    : !strcmp(t->valuestring, "Egress")	 ? 1
							 : -1;
		if (k < 0)
			r = kv_fail(
				v,
				"unsupported value %s%s%s: supported values: \"Egress\", \"Ingress\"",
				cJSON_IsString(t) ? "\"" : "",
				cJSON_IsString(t) ? t->valuestring : "(not a string)",
				cJSON_IsString(t) ? "\"" : "");
		else if (seen[k])
			r = kv_fail(v, "duplicate value \"%s\"", t->valuestring);
		kv_pop(v, at);
		if (r < 0)
			return r;
		seen[k] = true;
	}
	if (i)
		return 0;
	cJSON_DeleteItemFromObjectCaseSensitive(spec, "policyTypes");
	types = cJSON_AddArrayToObject(spec, "policyTypes");
	egress = cJSON_GetObjectItemCaseSensitive(spec, "egress");
	if (!types || !cJSON_AddItemToArray(types, cJSON_CreateString("Ingress")))
		return -ENOMEM;
	if (cJSON_GetArraySize(egress) &&
	    !cJSON_AddItemToArray(types, cJSON_CreateString("Egress")))
		return -ENOMEM;
	return 0;
}

int kv_policy_spec(struct kv *v, cJSON *spec)
{
	static const char *const fields[] = {"podSelector", "ingress", "egress", "policyTypes",
					     NULL};
	int r;

	if ((r = kv_known(v, spec, fields)) < 0 || (r = kv_selector(v, spec, "podSelector")) < 0)
		return r;
	/* a required field that Go decodes from its absence as {}: every pod of the
	 * namespace, which is what the apiserver then stores */
	if (!cJSON_GetObjectItemCaseSensitive(spec, "podSelector") &&
	    !cJSON_AddObjectToObject(spec, "podSelector"))
		return -ENOMEM;
	if ((r = each(v, spec, "ingress", ingress_rule)) < 0 ||
	    (r = each(v, spec, "egress", egress_rule)) < 0)
		return r;
	return policy_types(v, spec);
}
