/* SPDX-License-Identifier: Apache-2.0 */
/* What `wait` and `status` share about policy: the agents' keys (<prefix>/agents/<node>,
 * written by sluiced after each apply) and the store's current relevant revision (the
 * highest mod revision of the keys a ruleset is rendered from). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "base/json.h"
#include "policy/policy.h"
#include "store/store.h"
#include "sluicectl.h"

int ctl_policy_revision(struct ctl *c, int64_t *ret, struct err *e)
{
	static const char *const kinds[] = {POL_KEY_NAMESPACES, POL_KEY_PODS, POL_KEY_POLICIES,
					    POL_KEY_ENDPOINTS};
	int64_t max = 0;
	char *prefix;
	size_t i, k;
	int r;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		struct store_list l = {0};

		if (asprintf(&prefix, "%s/%s", c->prefix, kinds[i]) < 0)
			return err_fail(e, CNI_ERR_INTERNAL, -ENOMEM, "out of memory");
		r = store_list_all(c->store, prefix, 0, &l, e);
		free(prefix);
		if (r < 0)
			return r;
		for (k = 0; k < l.n; k++)
			if (l.kvs[k].mod_rev > max)
				max = l.kvs[k].mod_rev;
		store_list_free(&l);
	}
	*ret = max;
	return 0;
}

void ctl_agent_parse(const char *key, size_t plen, const char *value, size_t len,
		     struct ctl_agent *a)
{
	const cJSON *rev, *up;
	cJSON *o = NULL;
	char why[64];

	memset(a, 0, sizeof(*a));
	/* the node is the key's last part: what the agent writes under, whatever its value */
	snprintf(a->node, sizeof(a->node), "%s", key + plen);
	if (!value || json_parse_strict(value, len, &o, why, sizeof(why)) < 0)
		return;
	rev = cJSON_GetObjectItemCaseSensitive(o, "policyRevision");
	up = cJSON_GetObjectItemCaseSensitive(o, "updated");
	if (cJSON_IsNumber(rev) && rev->valuedouble >= 0 && rev->valuedouble < 9.2e18) {
		a->policy_rev = (int64_t)rev->valuedouble;
		a->valid = true;
	}
	if (cJSON_IsNumber(up) && up->valuedouble >= 0 && up->valuedouble < 9.2e18)
		a->updated = (int64_t)up->valuedouble;
	cJSON_Delete(o);
}

char *ctl_agents_prefix(const struct ctl *c)
{
	char *p;

	return asprintf(&p, "%s/%s", c->prefix, POL_KEY_AGENTS) < 0 ? NULL : p;
}

int ctl_agents_list(struct ctl *c, struct ctl_agent **ret, size_t *ret_n, int64_t *rev,
		    struct err *e)
{
	struct store_list l = {0};
	struct ctl_agent *a;
	char *prefix = ctl_agents_prefix(c);
	size_t i, plen;
	int r;

	if (!prefix)
		return err_fail(e, CNI_ERR_INTERNAL, -ENOMEM, "out of memory");
	plen = strlen(prefix);
	r = store_list_all(c->store, prefix, 0, &l, e);
	free(prefix);
	if (r < 0)
		return r;
	a = calloc(l.n + 1, sizeof(*a));
	if (!a) {
		store_list_free(&l);
		return err_fail(e, CNI_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	for (i = 0; i < l.n; i++)
		ctl_agent_parse(l.kvs[i].key, plen, l.kvs[i].value, l.kvs[i].value_len, &a[i]);
	*ret = a;
	*ret_n = l.n;
	if (rev)
		*rev = l.rev;
	store_list_free(&l);
	return 0;
}
