/* SPDX-License-Identifier: Apache-2.0 */
/* sluicectl status: is the store there, at which revision, and does it hold a network
 * (its config and how many node leases). Unreachable is an answer too: printed, and the
 * exit status is 1 so that scripts can wait on it. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "store/store.h"
#include "subnet/files.h"
#include "sluicectl.h"

static const char status_usage[] =
	"Usage: sluicectl [GLOBAL FLAGS] status [--subnet-file F]\n"
	"\n"
	"Prints the store's URL (as given: it holds no secret, as user:password@ is refused\n"
	"and TLS files are named by their paths), whether it answers, its current\n"
	"revision, whether <prefix>/config exists and how many leases <prefix>/subnets/\n"
	"holds. Exits 1 when the store does not answer.\n"
	"\n"
	"Policy: the store's relevant revision (its last change under namespaces/, pods/,\n"
	"policies/, endpoints/, deletions included) and each node's agent key\n"
	"(<prefix>/agents/<node>): the revision it last applied, when, and whether that is\n"
	"in force (-o json: \"policy\": {\"revision\", \"agents\": [{\"node\",\n"
	"\"policyRevision\", \"updated\", \"inForce\"}]}). The table is shown when the store\n"
	"holds any of them.\n"
	"\n"
	"On a node (a lease state beside F, default " SUBNET_ENV_DEFAULT "), also its view:\n"
	"the lease (state file, and whether the store still holds it), the VXLAN device(s)\n"
	"in the kernel, the peers programmed in the kernel against the peer leases in the\n"
	"store (counts, and the subnets missing or extra), and sluiced's status file (is it\n"
	"running, the last store revision it applied, when it last wrote). -o json: \"node\".\n"
	"With --subnet-file given, a node without a lease state is an error.\n";

int ctl_status(struct ctl *c, int argc, char **argv)
{
	struct store_list l = {0};
	struct store_kv kv = {0};
	char *config = NULL, *subnets = NULL;
	const char *sfile = SUBNET_ENV_DEFAULT;
	int found = 0, r = CTL_OK, rn, rp;
	bool given = false;
	struct err e = {0};
	int64_t rev = 0;
	struct store *s;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(status_usage, stdout);
		return CTL_OK;
	}
	if (argc > 1 && !strncmp(argv[1], "--subnet-file=", 14)) {
		sfile = argv[1] + 14;
		given = true;
		argc--, argv++;
	} else if (argc > 1 && !strcmp(argv[1], "--subnet-file")) {
		if (argc < 3)
			return ctl_usage("status", "--subnet-file needs a value");
		sfile = argv[2];
		given = true;
		argc -= 2, argv += 2;
	}
	if (given && !*sfile)
		return ctl_usage("status", "--subnet-file needs a path");
	if (argc != 1)
		return ctl_usage("status", "takes no arguments, got '%s'", argv[1]);
	s = ctl_store(c);
	if (!s)
		return CTL_ERROR;
	if (asprintf(&config, "%s/config", c->prefix) < 0 ||
	    asprintf(&subnets, "%s/subnets/", c->prefix) < 0) {
		free(config);
		return ctl_errorf("out of memory");
	}
	found = store_get(s, config, &kv, &rev, &e);
	if (found >= 0) {
		store_kv_free(&kv);
		if (store_list_all(s, subnets, 0, &l, &e) < 0)
			found = -1;
	}
	if (c->output == CTL_OUT_JSON) {
		cJSON *j = cJSON_CreateObject();

		cJSON_AddStringToObject(j, "store", store_url(s));
		cJSON_AddStringToObject(j, "prefix", c->prefix);
		cJSON_AddBoolToObject(j, "reachable", found >= 0);
		if (found >= 0) {
			cJSON_AddNumberToObject(j, "revision", (double)rev);
			cJSON_AddBoolToObject(j, "config", found > 0);
			cJSON_AddNumberToObject(j, "leases", (double)l.n);
		} else {
			cJSON_AddStringToObject(j, "error", e.msg);
		}
		rp = found >= 0 ? ctl_status_policy(c, j) : CTL_OK;
		rn = ctl_status_node(c, sfile, given, found >= 0, j);
		ctl_print_json(j);
		cJSON_Delete(j);
	} else {
		static const char *const h[] = {"STORE",    "PREFIX", "REACHABLE",
						"REVISION", "CONFIG", "LEASES"};
		struct ctl_table *t = ctl_table_new(6, h);
		char revs[24], leases[24];

		snprintf(revs, sizeof(revs), "%" PRId64, rev);
		snprintf(leases, sizeof(leases), "%zu", l.n);
		if (found >= 0)
			ctl_table_row(t, store_url(s), c->prefix, "yes", revs,
				      found ? "present" : "absent", leases);
		else
			ctl_table_row(t, store_url(s), c->prefix, "no", NULL, NULL, NULL);
		ctl_table_print(t);
		rp = found >= 0 ? ctl_status_policy(c, NULL) : CTL_OK;
		rn = ctl_status_node(c, sfile, given, found >= 0, NULL);
	}
	if (found >= 0 && rn != CTL_OK)
		r = rn;
	if (found >= 0 && rp != CTL_OK)
		r = rp;
	if (found < 0)
		r = ctl_error(&e);
	store_list_free(&l);
	free(config);
	free(subnets);
	return r;
}
