// SPDX-License-Identifier: Apache-2.0
/* Label selectors as the apiserver evaluates them (k8s.io/apimachinery labels.Selector):
 * matchLabels and matchExpressions ANDed, an empty selector matching everything; NotIn and
 * DoesNotExist match a pod that lacks the key. */
#include <string.h>

#include <cjson/cJSON.h>

#include "policy/model.h"

static const char *label(const cJSON *labels, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(labels, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool in_values(const cJSON *values, const char *v)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, values)
		if (cJSON_IsString(e) && !strcmp(e->valuestring, v))
			return true;
	return false;
}

static bool requirement(const cJSON *req, const cJSON *labels)
{
	const cJSON *key = cJSON_GetObjectItemCaseSensitive(req, "key");
	const cJSON *op = cJSON_GetObjectItemCaseSensitive(req, "operator");
	const cJSON *values = cJSON_GetObjectItemCaseSensitive(req, "values");
	const char *v;

	if (!cJSON_IsString(key) || !cJSON_IsString(op))
		return false; /* validation refuses such a selector */
	v = label(labels, key->valuestring);
	if (!strcmp(op->valuestring, "In"))
		return v && in_values(values, v);
	if (!strcmp(op->valuestring, "NotIn"))
		return !v || !in_values(values, v);
	if (!strcmp(op->valuestring, "Exists"))
		return v != NULL;
	if (!strcmp(op->valuestring, "DoesNotExist"))
		return v == NULL;
	return false;
}

bool pol_sel_match(const cJSON *sel, const cJSON *labels)
{
	const cJSON *want = cJSON_GetObjectItemCaseSensitive(sel, "matchLabels");
	const cJSON *exprs = cJSON_GetObjectItemCaseSensitive(sel, "matchExpressions");
	const cJSON *e;
	const char *v;

	cJSON_ArrayForEach(e, want) {
		v = label(labels, e->string);
		if (!v || !cJSON_IsString(e) || strcmp(v, e->valuestring))
			return false;
	}
	cJSON_ArrayForEach(e, exprs)
		if (!requirement(e, labels))
			return false;
	return true;
}
