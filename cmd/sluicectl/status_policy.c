/* SPDX-License-Identifier: Apache-2.0 */
/* sluicectl status, the policy view: the store's current relevant revision (what a node's
 * ruleset reflects once up to date) and, per node, the revision its agent last applied
 * (<prefix>/agents/<node>) and when. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "sluicectl.h"

static cJSON *policy_json(int64_t rev, const struct ctl_agent *a, size_t n)
{
	cJSON *j = cJSON_CreateObject(), *arr;
	size_t i;

	cJSON_AddNumberToObject(j, "revision", (double)rev);
	arr = cJSON_AddArrayToObject(j, "agents");
	for (i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "node", a[i].node);
		if (a[i].valid)
			cJSON_AddNumberToObject(o, "policyRevision", (double)a[i].policy_rev);
		else
			cJSON_AddNullToObject(o, "policyRevision");
		cJSON_AddNumberToObject(o, "updated", (double)a[i].updated);
		cJSON_AddBoolToObject(o, "inForce", a[i].valid && a[i].policy_rev >= rev);
		cJSON_AddItemToArray(arr, o);
	}
	return j;
}

static void policy_table(int64_t rev, const struct ctl_agent *a, size_t n)
{
	static const char *const h1[] = {"POLICY-REVISION", "AGENTS", "BEHIND"};
	static const char *const h2[] = {"NODE", "APPLIED", "UPDATED", "IN-FORCE"};
	struct ctl_table *t = ctl_table_new(3, h1);
	char b1[24], b2[24], b3[24], when[32];
	size_t i, nb = 0;

	for (i = 0; i < n; i++)
		nb += !a[i].valid || a[i].policy_rev < rev;
	snprintf(b1, sizeof(b1), "%" PRId64, rev);
	snprintf(b2, sizeof(b2), "%zu", n);
	snprintf(b3, sizeof(b3), "%zu", nb);
	ctl_table_row(t, b1, b2, b3);
	putchar('\n');
	ctl_table_print(t);
	if (!n)
		return;
	t = ctl_table_new(4, h2);
	for (i = 0; i < n; i++) {
		time_t up = (time_t)a[i].updated;

		snprintf(b1, sizeof(b1), "%" PRId64, a[i].policy_rev);
		when[0] = '\0';
		if (a[i].updated)
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&up));
		ctl_table_row(t, a[i].node, a[i].valid ? b1 : NULL, when[0] ? when : NULL,
			      a[i].valid && a[i].policy_rev >= rev ? "yes" : "no");
	}
	putchar('\n');
	ctl_table_print(t);
}

int ctl_status_policy(struct ctl *c, cJSON *out)
{
	struct ctl_agent *a = NULL;
	struct err e = {0};
	int64_t rev = 0;
	size_t n = 0;
	/* -ESTALE: the newest key's revision (a column shown, not a wait) */
	int r = ctl_policy_revision(c, &rev, &e);

	if (r == -ESTALE)
		e = (struct err){0};
	if ((r < 0 && r != -ESTALE) || ctl_agents_list(c, &a, &n, NULL, &e) < 0)
		return ctl_error(&e);
	if (out)
		cJSON_AddItemToObject(out, "policy", policy_json(rev, a, n));
	else if (rev || n)
		policy_table(rev, a, n); /* nothing about policy in the store: nothing shown */
	free(a);
	return CTL_OK;
}
