/* SPDX-License-Identifier: Apache-2.0 */
/* sluicectl config: the network config at <prefix>/config, Flannel's JSON. set checks it
 * with flanneld's rules before writing (nothing is written when it is refused); get prints
 * it with every default filled in. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "store/store.h"
#include "subnet/netconf.h"
#include "sluicectl.h"

static const char config_usage[] =
	"Usage: sluicectl [GLOBAL FLAGS] config set -f FILE|-\n"
	"       sluicectl [GLOBAL FLAGS] config get\n"
	"\n"
	"The network config at <prefix>/config: Flannel's JSON, for example\n"
	"  {\"Network\": \"10.244.0.0/16\", \"Backend\": {\"Type\": \"vxlan\"}}\n"
	"\n"
	"  set -f FILE|-   checks the config (flanneld's rules; every refusal names the field)\n"
	"                  and writes it as given (prints OK; -o json: {\"key\", \"revision\"});\n"
	"                  nothing is written when it is refused\n"
	"  get             prints the config with its defaults filled in: a FIELD VALUE\n"
	"                  table, or with -o json the JSON flanneld would use\n";

static char *config_key(const struct ctl *c)
{
	char *k;

	return asprintf(&k, "%s/config", c->prefix) < 0 ? NULL : k;
}

static int config_set(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"file", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct subnet_conf conf;
	const char *file = NULL;
	struct err e = {0};
	char *text, *key;
	int64_t rev = 0;
	struct store *s;
	size_t len;
	int o, r;

	while ((o = getopt_long(argc, argv, "+:hf:", opts, NULL)) != -1) {
		if (o == 'h')
			return fputs(config_usage, stdout), CTL_OK;
		if (o == 'f')
			file = optarg;
		else if (o == ':')
			return ctl_usage("config set", "%s needs a value", argv[optind - 1]);
		else
			return ctl_usage("config set", "unknown flag '%s'", argv[optind - 1]);
	}
	if (!file)
		return ctl_usage("config set", "needs -f FILE (or -f - for stdin)");
	if (optind < argc)
		return ctl_usage("config set", "unexpected argument '%s'", argv[optind]);
	text = ctl_read_file(file, &len);
	if (!text)
		return CTL_ERROR;
	if (subnet_conf_parse(text, len, &conf, &e) < 0) {
		free(text);
		return ctl_error(&e);
	}
	subnet_conf_done(&conf);
	s = ctl_store(c);
	key = config_key(c);
	r = s && key ? store_put(s, key, text, len, NULL, &rev, NULL, &e) : -1;
	free(text);
	if (r >= 0 && c->output == CTL_OUT_JSON) {
		cJSON *j = cJSON_CreateObject();

		cJSON_AddStringToObject(j, "key", key);
		cJSON_AddNumberToObject(j, "revision", (double)rev);
		ctl_print_json(j);
		cJSON_Delete(j);
	} else if (r >= 0) {
		puts("OK");
	}
	free(key);
	if (!s)
		return CTL_ERROR;
	if (r < 0)
		return e.code ? ctl_error(&e) : ctl_errorf("out of memory");
	return CTL_OK;
}

/* The stored config, checked. Returns CTL_OK with *ret filled, or prints why. */
int ctl_load_config(struct ctl *c, struct subnet_conf *ret)
{
	struct store_kv kv = {0};
	struct err e = {0};
	char *key = config_key(c);
	struct store *s = ctl_store(c);
	int r;

	if (!s || !key) {
		free(key);
		return s ? ctl_errorf("out of memory") : CTL_ERROR;
	}
	r = store_get(s, key, &kv, NULL, &e);
	if (r < 0) {
		free(key);
		return ctl_error(&e);
	}
	if (!r) {
		ctl_errorf("no network config at %s: write one with 'sluicectl config set -f FILE'",
			   key);
		free(key);
		return CTL_ERROR;
	}
	r = subnet_conf_parse(kv.value, kv.value_len, ret, &e);
	store_kv_free(&kv);
	if (r < 0) {
		ctl_errorf("the network config at %s is invalid: %s", key, e.msg);
		free(key);
		return CTL_ERROR;
	}
	free(key);
	return CTL_OK;
}

static void row(struct ctl_table *t, const char *field, const cJSON *v)
{
	char num[32];

	if (cJSON_IsString(v))
		ctl_table_row(t, field, v->valuestring);
	else if (cJSON_IsBool(v))
		ctl_table_row(t, field, cJSON_IsTrue(v) ? "true" : "false");
	else if (cJSON_IsNumber(v) && snprintf(num, sizeof(num), "%.0f", v->valuedouble) > 0)
		ctl_table_row(t, field, num);
}

static int config_get(struct ctl *c, int argc, char **argv)
{
	static const char *const h[] = {"FIELD", "VALUE"};
	static const char *const top[] = {
		"Network",	 "SubnetLen",	  "SubnetMin",	 "SubnetMax",
		"EnableIPv4",	 "EnableIPv6",	  "IPv6Network", "IPv6SubnetLen",
		"IPv6SubnetMin", "IPv6SubnetMax", NULL};
	static const char *const be[] = {"Type", "VNI",	     "Port",	      "MTU",
					 "GBP",	 "Learning", "DirectRouting", NULL};
	struct subnet_conf conf;
	struct ctl_table *t;
	cJSON *j;
	char f[64];
	int i;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
		return fputs(config_usage, stdout), CTL_OK;
	if (argc > 1)
		return ctl_usage("config get", "takes no arguments, got '%s'", argv[1]);
	if (ctl_load_config(c, &conf) != CTL_OK)
		return CTL_ERROR;
	j = subnet_conf_json(&conf);
	subnet_conf_done(&conf);
	if (c->output == CTL_OUT_JSON) {
		ctl_print_json(j);
		cJSON_Delete(j);
		return CTL_OK;
	}
	t = ctl_table_new(2, h);
	for (i = 0; top[i]; i++)
		row(t, top[i], cJSON_GetObjectItemCaseSensitive(j, top[i]));
	for (i = 0; be[i]; i++) {
		snprintf(f, sizeof(f), "Backend.%s", be[i]);
		row(t, f,
		    cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItem(j, "Backend"), be[i]));
	}
	ctl_table_print(t);
	cJSON_Delete(j);
	return CTL_OK;
}

int ctl_config(struct ctl *c, int argc, char **argv)
{
	optind = 0;
	opterr = 0;
	if (argc < 2)
		return ctl_usage("config", "needs a subverb: set or get");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return fputs(config_usage, stdout), CTL_OK;
	if (!strcmp(argv[1], "set"))
		return config_set(c, argc - 1, argv + 1);
	if (!strcmp(argv[1], "get"))
		return config_get(c, argc - 1, argv + 1);
	return ctl_usage("config", "unknown subverb '%s' (set or get)", argv[1]);
}
