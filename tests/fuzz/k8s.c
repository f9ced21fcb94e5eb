// SPDX-License-Identifier: Apache-2.0
/* libFuzzer target: Kubernetes objects as JSON (what a plugin or the agent reads from the
 * store): split, validated, normalized. What validation accepts must normalize to an object
 * that validates again to itself (the store's value is read back by the policy engine). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "k8s/object.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_item(const cJSON *it)
{
	struct k8s_object o, again, id;
	struct err e = {0};
	char key[2048], label[320];

	k8s_object_label(it, label, sizeof(label));
	if (k8s_object_parse(it, &o, &e) < 0) {
		if (!e.msg[0])
			abort(); /* a refusal always says why */
		return;
	}
	if (k8s_object_ident(it, &id, &e) < 0 || id.kind != o.kind || strcmp(id.ns, o.ns) ||
	    strcmp(id.name, o.name))
		abort();
	if (k8s_object_parse(o.json, &again, &e) < 0 || !cJSON_Compare(o.json, again.json, true))
		abort();
	if (k8s_key("/sluice/network", o.kind, o.ns, o.name, key, sizeof(key)) < 0)
		abort();
	k8s_object_done(&again);
	k8s_object_done(&o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct err e = {0};
	cJSON *items, *it;

	if (k8s_split((const char *)data, size, NULL, &items, &e) < 0)
		return 0;
	cJSON_ArrayForEach(it, items)
		check_item(it);
	cJSON_Delete(items);
	return 0;
}
