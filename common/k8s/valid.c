// SPDX-License-Identifier: Apache-2.0
/* The validating walk's path and typed reads, and the checks every kind shares: labels,
 * label selectors, protocols, unknown and duplicate fields. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "k8s/object.h"
#include "k8s/valid.h"

static size_t push_fmt(struct kv *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static size_t push_fmt(struct kv *v, const char *fmt, ...)
{
	size_t at = v->len;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(v->path + at, sizeof(v->path) - at, fmt, ap);
	va_end(ap);
	v->len = n < 0 || at + n >= sizeof(v->path) ? sizeof(v->path) - 1 : at + n;
	return at;
}

size_t kv_push(struct kv *v, const char *key)
{
	return push_fmt(v, "%s%s", v->len ? "." : "", key);
}

size_t kv_push_idx(struct kv *v, int idx)
{
	return push_fmt(v, "[%d]", idx);
}

void kv_pop(struct kv *v, size_t at)
{
	v->len = at;
	v->path[at] = '\0';
}

int kv_fail(struct kv *v, const char *fmt, ...)
{
	char why[sizeof(v->err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return err_fail(v->err, CNI_ERR_CONFIG, -EINVAL, "%s: %s", v->len ? v->path : "(object)",
			why);
}

int kv_fail_at(struct kv *v, const char *key, const char *fmt, ...)
{
	char why[sizeof(v->err->msg)];
	size_t at = kv_push(v, key);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	kv_fail(v, "%s", why);
	kv_pop(v, at);
	return -EINVAL;
}

static const char *type_name(int type)
{
	switch (type) {
	case cJSON_Object:
		return "an object";
	case cJSON_Array:
		return "an array";
	case cJSON_String:
		return "a string";
	case cJSON_Number:
		return "an integer";
	default:
		return "a value of another type";
	}
}

cJSON *kv_get(struct kv *v, cJSON *o, const char *key, int type, int *r)
{
	cJSON *m = cJSON_GetObjectItemCaseSensitive(o, key);

	*r = 0;
	if (!m)
		return NULL;
	if (cJSON_IsNull(m)) {
		cJSON_DeleteItemFromObjectCaseSensitive(o, key);
		return NULL;
	}
	if (type == cJSON_Number && cJSON_IsNumber(m) &&
	    (m->valuedouble > 2147483647.0 || m->valuedouble < -2147483648.0 ||
	     m->valuedouble != (double)(long long)m->valuedouble)) {
		*r = kv_fail_at(v, key, "must be an integer");
		return NULL;
	}
	if ((m->type & 0xff) != type) {
		*r = kv_fail_at(v, key, "must be %s", type_name(type));
		return NULL;
	}
	return m;
}

int kv_known(struct kv *v, const cJSON *o, const char *const *fields)
{
	const cJSON *m;
	size_t i;

	cJSON_ArrayForEach(m, o) {
		for (i = 0; fields[i] && strcmp(fields[i], m->string); i++)
			;
		if (!fields[i])
			return kv_fail_at(v, m->string, "unknown field");
	}
	return 0;
}

int kv_labels(struct kv *v, cJSON *o, const char *key)
{
	const char *why;
	cJSON *map, *m;
	size_t at;
	int r;

	map = kv_get(v, o, key, cJSON_Object, &r);
	if (!map)
		return r;
	at = kv_push(v, key);
	cJSON_ArrayForEach(m, map) {
		why = k8s_check_label_key(m->string);
		if (why)
			r = kv_fail(v, "key \"%s\": %s", m->string, why);
		else if (!cJSON_IsString(m))
			r = kv_fail(v, "key \"%s\": the value must be a string (quote it in YAML)",
				    m->string);
		else if ((why = k8s_check_label_value(m->valuestring)))
			r = kv_fail(v, "key \"%s\": value \"%s\": %s", m->string, m->valuestring,
				    why);
		if (r < 0)
			break;
	}
	kv_pop(v, at);
	return r;
}

static int requirement(struct kv *v, cJSON *req)
{
	static const char *const fields[] = {"key", "operator", "values", NULL};
	cJSON *key, *op, *vals, *val;
	const char *why;
	int r, i = 0;

	if ((r = kv_known(v, req, fields)) < 0)
		return r;
	key = kv_get(v, req, "key", cJSON_String, &r);
	if (r < 0 || (!key && (r = kv_fail_at(v, "key", "required")) < 0))
		return r;
	if ((why = k8s_check_label_key(key->valuestring)))
		return kv_fail_at(v, "key", "invalid label key \"%s\": %s", key->valuestring, why);
	op = kv_get(v, req, "operator", cJSON_String, &r);
	if (r < 0 || (!op && (r = kv_fail_at(v, "operator", "required")) < 0))
		return r;
	vals = kv_get(v, req, "values", cJSON_Array, &r);
	if (r < 0)
		return r;
	if (!strcmp(op->valuestring, "In") || !strcmp(op->valuestring, "NotIn")) {
		if (!cJSON_GetArraySize(vals))
			return kv_fail_at(v, "values",
					  "must be specified when `operator` is 'In' or 'NotIn'");
	} else if (!strcmp(op->valuestring, "Exists") || !strcmp(op->valuestring, "DoesNotExist")) {
		if (cJSON_GetArraySize(vals))
			return kv_fail_at(
				v, "values",
				"may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
	} else {
		return kv_fail_at(
			v, "operator",
			"\"%s\" is not a valid selector operator (In, NotIn, Exists, DoesNotExist)",
			op->valuestring);
	}
	cJSON_ArrayForEach(val, vals) {
		size_t at = kv_push(v, "values");

		kv_push_idx(v, i++);
		if (!cJSON_IsString(val))
			r = kv_fail(v, "must be a string");
		else if ((why = k8s_check_label_value(val->valuestring)))
			r = kv_fail(v, "invalid label value \"%s\": %s", val->valuestring, why);
		kv_pop(v, at);
		if (r < 0)
			return r;
	}
	return 0;
}

int kv_selector(struct kv *v, cJSON *o, const char *key)
{
	static const char *const fields[] = {"matchLabels", "matchExpressions", NULL};
	cJSON *sel, *exprs, *e;
	size_t at, at2;
	int r, i = 0;

	sel = kv_get(v, o, key, cJSON_Object, &r);
	if (!sel)
		return r;
	at = kv_push(v, key);
	if ((r = kv_known(v, sel, fields)) < 0 || (r = kv_labels(v, sel, "matchLabels")) < 0)
		goto out;
	exprs = kv_get(v, sel, "matchExpressions", cJSON_Array, &r);
	cJSON_ArrayForEach(e, exprs) {
		at2 = kv_push(v, "matchExpressions");
		kv_push_idx(v, i++);
		r = cJSON_IsObject(e) ? requirement(v, e) : kv_fail(v, "must be an object");
		kv_pop(v, at2);
		if (r < 0)
			break;
	}
out:
	kv_pop(v, at);
	return r;
}

int kv_protocol(struct kv *v, cJSON *o)
{
	cJSON *p;
	int r;

	p = kv_get(v, o, "protocol", cJSON_String, &r);
	if (r < 0)
		return r;
	if (!p)
		return cJSON_AddStringToObject(o, "protocol", "TCP") ? 0 : -ENOMEM;
	if (strcmp(p->valuestring, "TCP") && strcmp(p->valuestring, "UDP") &&
	    strcmp(p->valuestring, "SCTP"))
		return kv_fail_at(
			v, "protocol",
			"unsupported value \"%s\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
			p->valuestring);
	return 0;
}
