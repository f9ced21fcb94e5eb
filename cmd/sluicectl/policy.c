/* SPDX-License-Identifier: Apache-2.0 */
/* sluicectl policy stats: the node's policy table read back (pnft_counters): per policy its
 * rules' packet and byte counters and their total, per class chain the packets it dropped
 * and the policies it stands for. In another netns with --netns. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "netlink/netns.h"
#include "nft/nft.h"
#include "policy/pnft.h"
#include "policy/policy.h"
#include "sluicectl.h"

static const char policy_usage[] =
	"Usage: sluicectl [GLOBAL FLAGS] policy stats [--netns PATH]\n"
	"\n"
	"The network policy counters of this node's table (nftables inet " POL_TABLE "),\n"
	"read from the kernel:\n"
	"  per policy (NS/NAME), each rule's packets and bytes (ingress[i], egress[i]: the\n"
	"  policy's i-th rule; every nft rule it became is summed) and the total: traffic\n"
	"  that rule allowed;\n"
	"  per class chain (ci-*: ingress, ce-*: egress; the pods isolated by the same\n"
	"  policies share one), the packets it dropped and the policies it stands for.\n"
	"A policy without rules (deny all) shows only in its classes' drops.\n"
	"\n"
	"  --netns PATH   read the table in that network namespace (/run/netns/N,\n"
	"                 /proc/PID/ns/net)\n"
	"\n"
	"-o json: {\"policies\": [{\"namespace\", \"name\", \"rules\": [{\"rule\", \"packets\",\n"
	"\"bytes\"}], \"packets\", \"bytes\"}], \"classes\": [{\"chain\", \"direction\", \"policies\",\n"
	"\"packets\", \"bytes\"}]}. No table: status 1.\n";

/* One policy's rules, summed by rule ("ingress[0]") */
struct prow {
	char policy[320], rule[32];
	uint64_t packets, bytes;
};

static struct prow *find_row(struct prow *rows, size_t n, const char *policy, const char *rule)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(rows[i].policy, policy) && !strcmp(rows[i].rule, rule))
			return &rows[i];
	return NULL;
}

/* "<ns>/<policy> ingress[i]" -> rows; the class rows ("drop: ...") are left to classes */
static size_t policy_rows(const struct pnft_counter *k, size_t n, struct prow *rows)
{
	size_t i, nr = 0;

	for (i = 0; i < n; i++) {
		const char *sp = strrchr(k[i].comment, ' ');
		char policy[320];
		struct prow *r;

		if (!strncmp(k[i].comment, "drop:", 5) || !sp || sp == k[i].comment)
			continue;
		snprintf(policy, sizeof(policy), "%.*s", (int)(sp - k[i].comment), k[i].comment);
		r = find_row(rows, nr, policy, sp + 1);
		if (!r) {
			r = &rows[nr++];
			memset(r, 0, sizeof(*r));
			snprintf(r->policy, sizeof(r->policy), "%s", policy);
			snprintf(r->rule, sizeof(r->rule), "%s", sp + 1);
		}
		r->packets += k[i].packets;
		r->bytes += k[i].bytes;
	}
	return nr;
}

static const char *class_dir(const char *chain)
{
	return !strncmp(chain, "ci-", 3) ? "ingress" : !strncmp(chain, "ce-", 3) ? "egress" : "-";
}

/* The policies of a class's drop comment, "drop: a/p1,a/p2" */
static const char *class_policies(const char *comment)
{
	const char *p = comment + 5;

	while (*p == ' ')
		p++;
	return p;
}

/* Rows by policy, then ingress before egress, then by index */
static int row_cmp(const void *a, const void *b)
{
	const struct prow *x = a, *y = b;
	int r = strcmp(x->policy, y->policy);
	const char *bx = strchr(x->rule, '['), *by = strchr(y->rule, '[');

	if (r)
		return r;
	r = strncmp(x->rule, y->rule, 2); /* "in" before "eg" is reversed: */
	if (r)
		return -r;
	if (bx && by && atoi(bx + 1) != atoi(by + 1))
		return atoi(bx + 1) < atoi(by + 1) ? -1 : 1;
	return strcmp(x->rule, y->rule);
}

static cJSON *string_n(const char *s, size_t n)
{
	char *t = strndup(s, n);
	cJSON *j = cJSON_CreateString(t ? t : "");

	free(t);
	return j;
}

static cJSON *policy_json(const struct prow *rows, size_t nr, size_t *i)
{
	const char *slash = strchr(rows[*i].policy, '/');
	cJSON *p = cJSON_CreateObject(), *rules, *o;
	uint64_t pk = 0, by = 0;
	size_t k;

	cJSON_AddItemToObject(
		p, "namespace",
		string_n(rows[*i].policy, slash ? (size_t)(slash - rows[*i].policy) : 0));
	cJSON_AddStringToObject(p, "name", slash ? slash + 1 : rows[*i].policy);
	rules = cJSON_AddArrayToObject(p, "rules");
	for (k = *i; k < nr && !strcmp(rows[k].policy, rows[*i].policy); k++) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "rule", rows[k].rule);
		cJSON_AddNumberToObject(o, "packets", (double)rows[k].packets);
		cJSON_AddNumberToObject(o, "bytes", (double)rows[k].bytes);
		cJSON_AddItemToArray(rules, o);
		pk += rows[k].packets;
		by += rows[k].bytes;
	}
	cJSON_AddNumberToObject(p, "packets", (double)pk);
	cJSON_AddNumberToObject(p, "bytes", (double)by);
	*i = k;
	return p;
}

static cJSON *class_json(const struct pnft_counter *k)
{
	cJSON *o = cJSON_CreateObject(), *arr;
	const char *s, *e;

	cJSON_AddStringToObject(o, "chain", k->chain);
	cJSON_AddStringToObject(o, "direction", class_dir(k->chain));
	arr = cJSON_AddArrayToObject(o, "policies");
	for (s = class_policies(k->comment); *s; s = *e ? e + 1 : e) {
		e = strchrnul(s, ',');
		if (e > s)
			cJSON_AddItemToArray(arr, string_n(s, (size_t)(e - s)));
	}
	cJSON_AddNumberToObject(o, "packets", (double)k->packets);
	cJSON_AddNumberToObject(o, "bytes", (double)k->bytes);
	return o;
}

static cJSON *stats_json(const struct prow *rows, size_t nr, const struct pnft_counter *k, size_t n)
{
	cJSON *j = cJSON_CreateObject(), *pols = cJSON_AddArrayToObject(j, "policies"),
	      *cls = cJSON_AddArrayToObject(j, "classes");
	size_t i = 0;

	while (i < nr)
		cJSON_AddItemToArray(pols, policy_json(rows, nr, &i));
	for (i = 0; i < n; i++)
		if (!strncmp(k[i].comment, "drop:", 5))
			cJSON_AddItemToArray(cls, class_json(&k[i]));
	return j;
}

static void num(char *b, uint64_t v)
{
	snprintf(b, 24, "%" PRIu64, v);
}

static void stats_table(const cJSON *j)
{
	static const char *const h1[] = {"POLICY", "RULE", "PACKETS", "BYTES"};
	static const char *const h2[] = {"CLASS", "DIRECTION", "DROPPED", "BYTES", "POLICIES"};
	const cJSON *p, *r, *c, *x;
	struct ctl_table *t = ctl_table_new(4, h1);
	char name[320], b1[24], b2[24], list[1024];
	size_t n;

#define U(o, k) ((uint64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, k)))
#define S(o, k) cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k))
	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(j, "policies")) {
		snprintf(name, sizeof(name), "%s/%s", S(p, "namespace"), S(p, "name"));
		cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(p, "rules")) {
			num(b1, U(r, "packets"));
			num(b2, U(r, "bytes"));
			ctl_table_row(t, name, S(r, "rule"), b1, b2);
		}
		num(b1, U(p, "packets"));
		num(b2, U(p, "bytes"));
		ctl_table_row(t, name, "total", b1, b2);
	}
	ctl_table_print(t);
	t = ctl_table_new(5, h2);
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(j, "classes")) {
		n = 0;
		list[0] = '\0';
		cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(c, "policies"))
			if (n + strlen(x->valuestring) + 2 < sizeof(list))
				n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s",
						      n ? "," : "", x->valuestring);
		num(b1, U(c, "packets"));
		num(b2, U(c, "bytes"));
		ctl_table_row(t, S(c, "chain"), S(c, "direction"), b1, b2, n ? list : NULL);
	}
#undef U
#undef S
	putchar('\n');
	ctl_table_print(t);
}

static int stats(struct ctl *c, const char *netns)
{
	struct pnft_counter *k = NULL;
	struct prow *rows = NULL;
	struct nft nft = {0};
	size_t n = 0, nr;
	int fd = -1, r;
	cJSON *j;

	if (netns && (fd = netns_open(netns)) < 0)
		return ctl_errorf("--netns %s: %s", netns,
				  fd == -ENOTSUP ? "not a network namespace" : strerror(-fd));
	r = nft_open(&nft, fd);
	if (fd >= 0)
		close(fd);
	if (r < 0)
		return ctl_errorf("nftables socket: %s", strerror(-r));
	r = pnft_counters(&nft, &k, &n);
	nft_close(&nft);
	if (r == -ENOENT)
		return ctl_errorf("no policy table (inet %s) in %s: network policy is not "
				  "programmed there",
				  POL_TABLE, netns ? netns : "this network namespace");
	if (r < 0)
		return ctl_errorf("reading the policy table's counters: %s", strerror(-r));
	rows = calloc(n + 1, sizeof(*rows));
	if (!rows) {
		free(k);
		return ctl_errorf("out of memory");
	}
	nr = policy_rows(k, n, rows);
	qsort(rows, nr, sizeof(*rows), row_cmp);
	j = stats_json(rows, nr, k, n);
	if (c->output == CTL_OUT_JSON)
		ctl_print_json(j);
	else
		stats_table(j);
	cJSON_Delete(j);
	free(rows);
	free(k);
	return CTL_OK;
}

int ctl_policy(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"netns", required_argument, NULL, 'N'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *netns = NULL;
	int o;

	if (argc < 2)
		return ctl_usage("policy", "needs a sub-verb: stats");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		fputs(policy_usage, stdout);
		return CTL_OK;
	}
	if (strcmp(argv[1], "stats"))
		return ctl_usage("policy", "unknown sub-verb '%s' (stats)", argv[1]);
	argc--, argv++;
	optind = 0;
	opterr = 0;
	while ((o = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (o) {
		case 'h':
			fputs(policy_usage, stdout);
			return CTL_OK;
		case 'N':
			if (!*optarg)
				return ctl_usage("policy stats", "--netns needs a path");
			netns = optarg;
			break;
		case ':':
			return ctl_usage("policy stats", "'%s' needs a value", argv[optind - 1]);
		default:
			return ctl_usage("policy stats", "unknown flag '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return ctl_usage("policy stats", "unexpected argument '%s'", argv[optind]);
	return stats(c, netns);
}
