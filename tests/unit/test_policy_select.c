// SPDX-License-Identifier: Apache-2.0
/* Label selectors as the apiserver evaluates them, case by case, and the memo a full render
 * evaluates them through (one answer per distinct selector and pod). */
#define T_NAME "test_policy_select"
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "base/name.h"
#include "t.h"
#include "policy/model.h"

static const struct {
	const char *sel, *labels;
	bool match;
} cases[] = {
	/* empty: everything, labels or none */
	{"{}", "{}", true},
	{"{}", NULL, true},
	{"{}", "{\"a\":\"1\"}", true},
	/* matchLabels: each key present with that value */
	{"{\"matchLabels\":{\"a\":\"1\"}}", "{\"a\":\"1\",\"b\":\"2\"}", true},
	{"{\"matchLabels\":{\"a\":\"1\"}}", "{\"a\":\"2\"}", false},
	{"{\"matchLabels\":{\"a\":\"1\"}}", "{\"b\":\"1\"}", false},
	{"{\"matchLabels\":{\"a\":\"1\"}}", NULL, false},
	{"{\"matchLabels\":{\"a\":\"1\",\"b\":\"2\"}}", "{\"a\":\"1\"}", false},
	{"{\"matchLabels\":{\"a\":\"\"}}", "{\"a\":\"\"}", true},
	{"{\"matchLabels\":{\"A\":\"1\"}}", "{\"a\":\"1\"}", false}, /* keys are case-sensitive */
	/* In */
	{"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":[\"1\",\"2\"]}]}",
	 "{\"a\":\"2\"}", true},
	{"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":[\"1\",\"2\"]}]}",
	 "{\"a\":\"3\"}", false},
	{"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":[\"1\"]}]}", "{}",
	 false},
	/* NotIn: a pod without the key matches */
	{"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"NotIn\",\"values\":[\"1\"]}]}",
	 "{\"a\":\"1\"}", false},
	{"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"NotIn\",\"values\":[\"1\"]}]}",
	 "{\"a\":\"2\"}", true},
	{"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"NotIn\",\"values\":[\"1\"]}]}", "{}",
	 true},
	{"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"NotIn\",\"values\":[\"1\"]}]}", NULL,
	 true},
	/* Exists, DoesNotExist */
	{"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\"}]}", "{\"a\":\"\"}", true},
	{"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\"}]}", "{\"b\":\"1\"}",
	 false},
	{"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"DoesNotExist\"}]}", "{\"b\":\"1\"}",
	 true},
	{"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"DoesNotExist\"}]}", NULL, true},
	{"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"DoesNotExist\"}]}", "{\"a\":\"1\"}",
	 false},
	/* all of them ANDed */
	{"{\"matchLabels\":{\"a\":\"1\"},\"matchExpressions\":[{\"key\":\"b\",\"operator\":"
	 "\"Exists\"},{\"key\":\"c\",\"operator\":\"DoesNotExist\"}]}",
	 "{\"a\":\"1\",\"b\":\"x\"}", true},
	{"{\"matchLabels\":{\"a\":\"1\"},\"matchExpressions\":[{\"key\":\"b\",\"operator\":"
	 "\"Exists\"},{\"key\":\"c\",\"operator\":\"DoesNotExist\"}]}",
	 "{\"a\":\"1\",\"b\":\"x\",\"c\":\"y\"}", false},
	{"{\"matchLabels\":{\"a\":\"1\"},\"matchExpressions\":[{\"key\":\"b\",\"operator\":"
	 "\"Exists\"}]}",
	 "{\"a\":\"2\",\"b\":\"x\"}", false},
};

static void test_cases(void)
{
	cJSON *sel, *labels;
	size_t i;
	bool got;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sel = cJSON_Parse(cases[i].sel);
		labels = cases[i].labels ? cJSON_Parse(cases[i].labels) : NULL;
		T_ASSERT(sel && (labels || !cases[i].labels));
		got = pol_sel_match(sel, labels);
		cJSON_Delete(sel);
		cJSON_Delete(labels);
		if (got != cases[i].match)
			printf("  case %zu: %s on %s\n", i, cases[i].sel,
			       cases[i].labels ? cases[i].labels : "(none)");
		T_EQ(got, cases[i].match);
	}
}

static uint64_t hash(const cJSON *sel)
{
	char *s = cJSON_PrintUnformatted(sel);
	uint64_t h = name_fnv(0xcbf29ce484222325ULL, s);

	free(s);
	return h;
}

/* equal selectors share an id, even forced onto one hash; different ones never do */
static void test_memo(void)
{
	cJSON *a = cJSON_Parse("{\"matchLabels\":{\"a\":\"1\"}}");
	cJSON *a2 = cJSON_Parse("{\"matchLabels\":{\"a\":\"1\"}}");
	cJSON *b = cJSON_Parse("{\"matchLabels\":{\"a\":\"2\"}}");
	cJSON *l1 = cJSON_Parse("{\"a\":\"1\"}"), *l2 = cJSON_Parse("{\"a\":\"2\"}");
	cJSON *keep = cJSON_CreateArray();
	struct pol_memo mm = {0};
	long ia, ia2, ib, ic;
	int i;

	ia = pol_memo_id(&mm, a, hash(a));
	ia2 = pol_memo_id(&mm, a2, hash(a2));
	ib = pol_memo_id(&mm, b, hash(a)); /* a collision: the same hash */
	T_EQ(ia, 0);
	T_EQ(ia2, 0);
	T_EQ(ib, 1);
	pol_memo_next(&mm);
	T_EQ(pol_memo_match(&mm, 0, l1), true);
	T_EQ(pol_memo_match(&mm, 1, l1), false);
	pol_memo_next(&mm); /* the next pod: asked again */
	T_EQ(pol_memo_match(&mm, 0, l2), false);
	T_EQ(pol_memo_match(&mm, 1, l2), true);
	/* many: the table grows, ids stay */
	for (i = 0; i < 300; i++) {
		cJSON *s = cJSON_CreateObject();

		cJSON_AddNumberToObject(s, "n", i);
		ic = pol_memo_id(&mm, s, (uint64_t)i * 7);
		T_EQ(ic, i + 2);
		/* the memo keeps pointers: the selectors live on in keep */
		cJSON_AddItemToArray(keep, s);
	}
	T_EQ(pol_memo_id(&mm, a2, hash(a2)), 0);
	pol_memo_done(&mm);
	cJSON_Delete(a);
	cJSON_Delete(a2);
	cJSON_Delete(b);
	cJSON_Delete(l1);
	cJSON_Delete(l2);
	cJSON_Delete(keep);
}

int main(void)
{
	T_RUN(test_cases);
	T_RUN(test_memo);
	return T_EXIT();
}
