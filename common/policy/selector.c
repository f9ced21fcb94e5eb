// SPDX-License-Identifier: Apache-2.0
/* Label selectors as the apiserver evaluates them (k8s.io/apimachinery labels.Selector):
 * matchLabels and matchExpressions ANDed, an empty selector matching everything; NotIn and
 * DoesNotExist match a pod that lacks the key. */
#include <errno.h>
#include <stdlib.h>
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

static int memo_grow(struct pol_memo *mm)
{
	size_t n = mm->nkeys ? 2 * mm->nkeys : 64, i, at;
	struct pol_memo_key *k = calloc(n, sizeof(*k));

	if (!k)
		return -ENOMEM;
	for (i = 0; i < mm->nkeys; i++) {
		if (!mm->keys[i].id)
			continue;
		for (at = mm->keys[i].hash & (n - 1); k[at].id; at = (at + 1) & (n - 1))
			;
		k[at] = mm->keys[i];
	}
	free(mm->keys);
	mm->keys = k;
	mm->nkeys = n;
	return 0;
}

long pol_memo_id(struct pol_memo *mm, const cJSON *sel, uint64_t hash)
{
	struct pol_memo_sel *s;
	size_t at;

	if (2 * (mm->nsels + 1) > mm->nkeys && memo_grow(mm) < 0)
		return -ENOMEM;
	for (at = hash & (mm->nkeys - 1); mm->keys[at].id; at = (at + 1) & (mm->nkeys - 1)) {
		s = &mm->sels[mm->keys[at].id - 1];
		/* a hash is a hint; only the same selector shares an id */
		if (mm->keys[at].hash == hash &&
		    (s->sel == sel || cJSON_Compare(s->sel, sel, true)))
			return mm->keys[at].id - 1;
	}
	if (mm->nsels == mm->cap) {
		s = realloc(mm->sels, (2 * mm->cap + 16) * sizeof(*s));
		if (!s)
			return -ENOMEM;
		mm->sels = s;
		mm->cap = 2 * mm->cap + 16;
	}
	mm->sels[mm->nsels] = (struct pol_memo_sel){.sel = sel, .gen = 0};
	mm->keys[at].hash = hash;
	mm->keys[at].id = (uint32_t)++mm->nsels;
	return (long)mm->nsels - 1;
}

bool pol_memo_match(struct pol_memo *mm, uint32_t id, const cJSON *labels)
{
	struct pol_memo_sel *s = &mm->sels[id];

	if (s->gen != mm->gen) {
		s->gen = mm->gen;
		s->match = pol_sel_match(s->sel, labels);
	}
	return s->match;
}

void pol_memo_next(struct pol_memo *mm)
{
	mm->gen++;
}

void pol_memo_done(struct pol_memo *mm)
{
	free(mm->keys);
	free(mm->sels);
	memset(mm, 0, sizeof(*mm));
}
