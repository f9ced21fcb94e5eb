/* SPDX-License-Identifier: Apache-2.0 */
/* polrender: times the policy renderer on a synthetic cluster (the rendering row of
 * `make bench`): N namespaces of P pods each (labelled app, tier, pod; containers with the
 * named ports http/TCP and metrics/TCP and dns/UDP), K policies per namespace mixing pod,
 * namespace and pod+namespace peers, ipBlocks with excepts, numeric, ranged and named
 * ports, ingress and egress. Prints one JSON line:
 *   {"render_ms", "fragment_ms", "elements", "chains", "sets", "model_ms", "endpoints",
 *    "policies"}
 * render_ms: the best of R full renders; fragment_ms: the mean over F endpoints' fragments.
 *
 * Usage: polrender [-n NAMESPACES] [-p PODS_PER_NS] [-k POLICIES_PER_NS] [-N NODES]
 *                  [-r REPEATS] [-f FRAGMENTS] [-c] [-d FILE] (-c: check that the union of
 *                  every endpoint's fragment equals the full render; exit 1 when not;
 *                  -d: also write the cluster's keys to FILE, a "KEY<TAB>VALUE" line each,
 *                  for `polbench render` to commit the same ruleset) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "policy/policy.h"

struct opts {
	int ns, pods, pols, nodes, reps, frags;
	bool check;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static FILE *dump; /* -d */

static int set(struct pol_model *m, const char *key, const char *json)
{
	struct err e = {0};
	int r = pol_model_set(m, key, json, strlen(json), &e);

	if (r < 0)
		fprintf(stderr, "polrender: %s: %s\n", key, e.msg);
	else if (dump && fprintf(dump, "%s\t%s\n", key, json) < 0)
		r = -EIO;
	return r;
}

static int add_namespace(struct pol_model *m, int n)
{
	char key[64], json[256];

	snprintf(key, sizeof(key), "namespaces/ns%d", n);
	snprintf(json, sizeof(json),
		 "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"ns%d\","
		 "\"labels\":{\"team\":\"team%d\",\"env\":\"%s\"}}}",
		 n, n % 5, n % 2 ? "prod" : "dev");
	return set(m, key, json);
}

static int add_pod(struct pol_model *m, const struct opts *o, int n, int i)
{
	char key[128], json[1024];
	int k = n * o->pods + i;

	snprintf(key, sizeof(key), "pods/ns%d/pod%d", n, i);
	/* every pod serves http; one in 50 is a monitoring pod with a metrics port, the first
	 * of each namespace serves DNS */
	snprintf(json, sizeof(json),
		 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"pod%d\","
		 "\"namespace\":\"ns%d\",\"labels\":{\"app\":\"app%d\",\"tier\":\"t%d\","
		 "\"pod\":\"pod%d\"%s}},\"spec\":{\"containers\":[{\"name\":\"c\",\"ports\":["
		 "{\"name\":\"http\",\"containerPort\":%d}%s%s]}]}}",
		 i, n, i % 10, i % 3, i, i % 50 == 1 ? ",\"role\":\"monitoring\"" : "",
		 8080 + i % 4, i % 50 == 1 ? ",{\"name\":\"metrics\",\"containerPort\":9090}" : "",
		 i ? "" : ",{\"name\":\"dns\",\"containerPort\":53,\"protocol\":\"UDP\"}");
	if (set(m, key, json) < 0)
		return -1;
	snprintf(key, sizeof(key), "endpoints/node%d/c%d-eth0", k % o->nodes, k);
	snprintf(json, sizeof(json),
		 "{\"containerID\":\"c%d\",\"ifName\":\"eth0\",\"namespace\":\"ns%d\","
		 "\"pod\":\"pod%d\",\"node\":\"node%d\",\"ips\":[\"10.%d.%d.%d\","
		 "\"fd00::%x:%x\"],\"hostVeth\":\"veth%d\"}",
		 k, n, i, k % o->nodes, 128 + k / 65536, k / 256 % 256, k % 256, k / 65536 + 1,
		 k % 65536, k);
	return set(m, key, json);
}

/* four shapes of policy, in turn; each admits about a hundred pods */
/* pods of one app from pods of another app in the namespace, TCP 80 and 8000-8100 */
#define SHAPE0                                                                           \
	"\"podSelector\":{\"matchLabels\":{\"app\":\"app%d\"}},\"ingress\":[{\"from\":[" \
	"{\"podSelector\":{\"matchLabels\":{\"app\":\"app%d\"}}}],\"ports\":["           \
	"{\"port\":80},{\"port\":8000,\"endPort\":8100}]}]"

/* a tier from the next namespace (by its name label) on the named port http */
#define SHAPE1                                                                          \
	"\"podSelector\":{\"matchLabels\":{\"tier\":\"t%d\"}},\"ingress\":[{\"from\":[" \
	"{\"namespaceSelector\":{\"matchLabels\":{\"kubernetes.io/metadata.name\":"     \
	"\"ns%d\"}}}],\"ports\":[{\"port\":\"http\"}]}]"

/* pods of an app in the namespaces of a team (both in one peer), egress to CIDRs */
#define SHAPE2                                                                                     \
	"\"podSelector\":{\"matchExpressions\":[{\"key\":\"app\",\"operator\":\"In\","             \
	"\"values\":[\"app%d\",\"app%d\"]}]},\"policyTypes\":[\"Ingress\",\"Egress\"],"            \
	"\"ingress\":[{\"from\":[{\"namespaceSelector\":{\"matchLabels\":{\"team\":"               \
	"\"team%d\"}},\"podSelector\":{\"matchLabels\":{\"app\":\"app%d\"}}}]}],"                  \
	"\"egress\":[{\"to\":[{\"ipBlock\":{\"cidr\":\"10.0.0.0/8\",\"except\":"                   \
	"[\"10.%d.0.0/16\"]}},{\"ipBlock\":{\"cidr\":\"fd00::/16\",\"except\":[\"fd00::/64\"]}}]," \
	"\"ports\":[{\"port\":443},{\"protocol\":\"UDP\"}]}]"

/* egress to the named port metrics of monitoring pods of any namespace, and DNS */
#define SHAPE3                                                                                \
	"\"podSelector\":{\"matchLabels\":{\"app\":\"app%d\"}},\"policyTypes\":[\"Egress\"]," \
	"\"egress\":[{\"to\":[{\"podSelector\":{\"matchLabels\":{\"role\":\"monitoring\"}},"  \
	"\"namespaceSelector\":{}}],\"ports\":[{\"port\":\"metrics\"}]},{\"ports\":["         \
	"{\"port\":\"dns\",\"protocol\":\"UDP\"},{\"port\":53}]}]"

static int add_policy(struct pol_model *m, const struct opts *o, int n, int k)
{
	char key[128], spec[2048], json[3072];
	int a = k % 10, b = (k + 3) % 10;

	snprintf(key, sizeof(key), "policies/ns%d/pol%d", n, k);
	switch (k % 4) {
	case 0:
		snprintf(spec, sizeof(spec), SHAPE0, a, b);
		break;
	case 1:
		snprintf(spec, sizeof(spec), SHAPE1, k % 3, (n + 1) % o->ns);
		break;
	case 2:
		snprintf(spec, sizeof(spec), SHAPE2, a, b, k % 5, a, k % 256);
		break;
	default:
		snprintf(spec, sizeof(spec), SHAPE3, a);
		break;
	}
	snprintf(json, sizeof(json),
		 "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\","
		 "\"metadata\":{\"name\":\"pol%d\",\"namespace\":\"ns%d\"},\"spec\":{%s}}",
		 k, n, spec);
	return set(m, key, json);
}

static size_t elements(const struct pol_ruleset *rs)
{
	size_t i, n = 0;

	for (i = 0; i < rs->nsets; i++)
		n += rs->sets[i].n;
	return n;
}

/* the lines of text into a sorted array of unique lines (added to *arr) */
static int add_lines(char *text, char ***arr, size_t *n)
{
	char *line, *save, **a;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		a = realloc(*arr, (*n + 1) * sizeof(**arr));
		if (!a)
			return -ENOMEM;
		*arr = a;
		a[(*n)++] = strdup(line);
	}
	return 0;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t uniq(char **a, size_t n)
{
	size_t i, w = 0;

	qsort(a, n, sizeof(*a), str_cmp);
	for (i = 1; i < n; i++) {
		if (strcmp(a[w], a[i]))
			a[++w] = a[i];
		else
			free(a[i]);
	}
	return n ? w + 1 : 0;
}

/* skeleton + every fragment == the full render, as sets of text lines */
static int check_union(const struct pol_model *m, char *skeleton, const struct pol_ruleset *full,
		       char **keys, size_t nkeys)
{
	char **want = NULL, **got = NULL, *text;
	size_t nw = 0, ng = 0, i;
	struct pol_ruleset frag;
	struct err e = {0};
	int bad = 0;

	text = pol_ruleset_text(full);
	add_lines(text, &want, &nw);
	free(text);
	add_lines(skeleton, &got, &ng);
	for (i = 0; i < nkeys; i++) {
		if (pol_render_endpoint(m, keys[i], &frag, &e) < 0) {
			fprintf(stderr, "polrender: %s\n", e.msg);
			return 1;
		}
		text = pol_ruleset_text(&frag);
		add_lines(text, &got, &ng);
		free(text);
		pol_ruleset_free(&frag);
	}
	nw = uniq(want, nw);
	ng = uniq(got, ng);
	for (i = 0; i < nw || i < ng; i++) {
		if (i < nw && i < ng && !strcmp(want[i], got[i]))
			continue;
		fprintf(stderr,
			"polrender: union of fragments differs: full \"%s\", union \"%s\"\n",
			i < nw ? want[i] : "(end)", i < ng ? got[i] : "(end)");
		bad = 1;
		break;
	}
	for (i = 0; i < nw; i++)
		free(want[i]);
	for (i = 0; i < ng; i++)
		free(got[i]);
	free(want);
	free(got);
	return bad;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	int c;

	*o = (struct opts){.ns = 50, .pods = 100, .pols = 20, .nodes = 1, .reps = 3, .frags = 100};
	while ((c = getopt(argc, argv, "n:p:k:N:r:f:cd:")) != -1) {
		switch (c) {
		case 'n':
			o->ns = atoi(optarg);
			break;
		case 'p':
			o->pods = atoi(optarg);
			break;
		case 'k':
			o->pols = atoi(optarg);
			break;
		case 'N':
			o->nodes = atoi(optarg);
			break;
		case 'r':
			o->reps = atoi(optarg);
			break;
		case 'f':
			o->frags = atoi(optarg);
			break;
		case 'd':
			dump = fopen(optarg, "we");
			if (!dump) {
				fprintf(stderr, "polrender: %s: %m\n", optarg);
				return -1;
			}
			break;
		case 'c':
			o->check = true;
			break;
		default:
			return -1;
		}
	}
	if (o->ns < 1 || o->pods < 1 || o->pols < 0 || o->nodes < 1 || o->reps < 1 ||
	    o->frags < 1 || o->ns * o->pods > 65536 * 100)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	double t0, best = 1e9, frag_ms = 0, model_ms;
	char key[128], *skeleton = NULL, **keys;
	struct pol_ruleset rs = {0}, frag;
	struct err e = {0};
	struct pol_model *m;
	struct opts o;
	int n, i, r = 0, total;

	if (parse_opts(argc, argv, &o) < 0) {
		fprintf(stderr, "usage: polrender [-n NS] [-p PODS] [-k POLICIES] [-N NODES] "
				"[-r REPEATS] [-f FRAGMENTS] [-c] [-d FILE]\n");
		return 2;
	}
	m = pol_model_new("node0");
	t0 = now_ms();
	for (n = 0; r >= 0 && n < o.ns; n++) {
		r = add_namespace(m, n);
		for (i = 0; r >= 0 && i < o.pols; i++)
			r = add_policy(m, &o, n, i);
	}
	if (r >= 0 && o.check) {
		r = pol_render(m, &rs, &e);
		skeleton = r < 0 ? NULL : pol_ruleset_text(&rs);
		pol_ruleset_free(&rs);
	}
	for (n = 0; r >= 0 && n < o.ns; n++)
		for (i = 0; r >= 0 && i < o.pods; i++)
			r = add_pod(m, &o, n, i);
	model_ms = now_ms() - t0;
	if (dump && fclose(dump) != 0 && r >= 0)
		r = -EIO;
	dump = NULL;
	for (i = 0; r >= 0 && i < o.reps; i++) {
		pol_ruleset_free(&rs);
		t0 = now_ms();
		r = pol_render(m, &rs, &e);
		if (now_ms() - t0 < best)
			best = now_ms() - t0;
	}
	total = o.ns * o.pods;
	keys = calloc((size_t)total, sizeof(*keys));
	for (i = 0; keys && i < total; i++) {
		snprintf(key, sizeof(key), "endpoints/node%d/c%d-eth0", i % o.nodes, i);
		keys[i] = strdup(key);
	}
	for (i = 0; r >= 0 && keys && i < o.frags; i++) {
		t0 = now_ms();
		r = pol_render_endpoint(m, keys[(long)i * total / o.frags], &frag, &e);
		frag_ms += now_ms() - t0;
		pol_ruleset_free(&frag);
	}
	if (r < 0 || !keys) {
		fprintf(stderr, "polrender: %s\n", r < 0 ? e.msg : "out of memory");
		return 1;
	}
	printf("{\"render_ms\":%.2f,\"fragment_ms\":%.4f,\"elements\":%zu,\"chains\":%zu,"
	       "\"sets\":%zu,\"model_ms\":%.1f,\"endpoints\":%d,\"policies\":%d}\n",
	       best, frag_ms / o.frags, elements(&rs), rs.npchains + rs.ncchains, rs.nsets,
	       model_ms, total, o.ns * o.pols);
	r = o.check ? check_union(m, skeleton, &rs, keys, (size_t)total) : 0;
	for (i = 0; i < total; i++)
		free(keys[i]);
	free(keys);
	free(skeleton);
	pol_ruleset_free(&rs);
	pol_model_free(m);
	return r;
}
