/* SPDX-License-Identifier: Apache-2.0 */
/* polbench: the NetworkPolicy rows of `make bench` (tests/bench/policy.sh).
 *
 *   polbench fill -s STORE [-P PREFIX] FILE
 *       puts every line "KEY<TAB>VALUE" of FILE (KEY relative to PREFIX, /sluice/network)
 *       into the store, in order, one store_put each, in-process: the synthetic cluster of
 *       the rows (Namespaces, Pods, NetworkPolicies, endpoint records of other nodes), as
 *       sluicectl apply and sluice-nft-policy would leave them, without an exec a key.
 *   polbench watch [-i US] [-t MS] NETNS... -- CMD [ARGS...]
 *       reads the stamp of table inet sluice_policy in each NETNS (a path), runs CMD (its
 *       stdout kept) and, from its start, polls every NETNS's stamp every US microseconds
 *       (1000) until each differs from what it was before CMD: the ruleset of the change is
 *       in that node's kernel (one atomic batch carries the stamp with the rest). Prints one
 *       JSON line: {"start_ns": CMD's start (CLOCK_REALTIME, as `date +%s%N`), "cmd_ms":
 *       CMD's run, "nodes_ms": [from CMD's start, a node each], "all_ms", "stamps": [the new
 *       ones], "out": CMD's stdout}; status 1 when a node did not change (or CMD did not
 *       end) within MS milliseconds (10000), or CMD failed.
 *   polbench render -f FILE -N NODE [-r ROUNDS] [-k PODS] [-o OUT]
 *       feeds FILE's keys (as above) to a pol_model for NODE, then ROUNDS times (5): the
 *       whole ruleset rendered (pol_render) and committed with pnft_replace in the current
 *       network namespace (run it in a netns of its own); then for PODS endpoints of NODE
 *       (20, spread over FILE's) one pod's incremental change: pol_render_endpoint +
 *       pnft_frag_add committed (its elements put back after pnft_frag_del, also timed).
 *       Writes {"render_ms": [..], "commit_ms": [..], "total_ms": [..], "frag_render_ms",
 *       "frag_commit_ms", "frag_total_ms", "frag_del_ms", "sets", "elements", "pchains",
 *       "cchains", "rules", "batch_bytes"}. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <signal.h>
#include <sys/wait.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "netlink/netns.h"
#include "nft/nft.h"
#include "policy/pnft.h"
#include "policy/policy.h"
#include "store/store.h"

#define NETNS_MAX 16

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void usage(void)
{
	fputs("usage: polbench fill -s STORE [-P PREFIX] FILE\n"
	      "       polbench watch [-i US] [-t MS] NETNS... -- CMD [ARGS...]\n"
	      "       polbench render -f FILE -N NODE [-r ROUNDS] [-k PODS] [-o OUT]\n",
	      stderr);
	exit(2);
}

/* One "KEY<TAB>VALUE" line a call: *key and *value point into line (modified). 0 at the
 * end, -1 for a line without a tab. */
static int next_line(FILE *f, char **line, size_t *cap, char **key, char **value)
{
	ssize_t n = getline(line, cap, f);
	char *tab;

	if (n < 0)
		return 0;
	if (n > 0 && (*line)[n - 1] == '\n')
		(*line)[--n] = 0;
	tab = strchr(*line, '\t');
	if (!tab)
		return -1;
	*tab = 0;
	*key = *line;
	*value = tab + 1;
	return 1;
}

static int cmd_fill(int argc, char **argv)
{
	const char *url = NULL, *prefix = "/sluice/network";
	char *line = NULL, *key, *value, full[1024];
	size_t cap = 0, n = 0;
	struct err err = {0};
	struct store *st;
	FILE *f;
	int c, r;

	while ((c = getopt(argc, argv, "s:P:")) != -1) {
		if (c == 's')
			url = optarg;
		else if (c == 'P')
			prefix = optarg;
		else
			usage();
	}
	if (!url || optind != argc - 1)
		usage();
	f = fopen(argv[optind], "re");
	if (!f) {
		fprintf(stderr, "polbench: %s: %m\n", argv[optind]);
		return 1;
	}
	st = store_open(url, &err);
	if (!st) {
		fprintf(stderr, "polbench: %s\n", err.msg);
		fclose(f);
		return 1;
	}
	while ((r = next_line(f, &line, &cap, &key, &value)) > 0) {
		snprintf(full, sizeof(full), "%s/%s", prefix, key);
		if (store_put(st, full, value, strlen(value), NULL, NULL, NULL, &err) < 0) {
			fprintf(stderr, "polbench: put %s: %s\n", full, err.msg);
			r = -1;
			break;
		}
		n++;
	}
	if (r < 0 && !err.code)
		fprintf(stderr, "polbench: %s: a line without KEY<TAB>VALUE\n", argv[optind]);
	free(line);
	fclose(f);
	store_close(st);
	if (r < 0)
		return 1;
	printf("%zu keys\n", n);
	return 0;
}

/* The stamp of the table in nft's netns ("" without a table); -errno on failure */
static int stamp_of(struct nft *nft, char out[POL_STAMP_MAX])
{
	int r = pnft_read_stamp(nft, out);

	if (r == 0)
		out[0] = 0;
	return r < 0 ? r : 0;
}

static int cmd_watch(int argc, char **argv)
{
	struct nft nft[NETNS_MAX] = {0};
	char before[NETNS_MAX][POL_STAMP_MAX], after[NETNS_MAX][POL_STAMP_MAX];
	double t0, t_cmd, t_node[NETNS_MAX], limit;
	struct timespec wall;
	long interval_us = 1000, timeout_ms = 10000;
	int nns = 0, done = 0, status, pipefd[2], rc = 0, c;
	char out[4096];
	size_t outlen = 0;
	pid_t pid;
	cJSON *j, *a;
	char *s;

	while ((c = getopt(argc, argv, "+i:t:")) != -1) {
		if (c == 'i')
			interval_us = atol(optarg);
		else if (c == 't')
			timeout_ms = atol(optarg);
		else
			usage();
	}
	for (; optind < argc && strcmp(argv[optind], "--"); optind++) {
		int fd;

		if (nns == NETNS_MAX)
			usage();
		fd = netns_open(argv[optind]);
		if (fd < 0 || nft_open(&nft[nns], fd) < 0) {
			fprintf(stderr, "polbench: %s: cannot open nftables there\n", argv[optind]);
			return 1;
		}
		close(fd);
		nns++;
	}
	if (!nns || optind >= argc - 1)
		usage();
	for (int i = 0; i < nns; i++)
		if (stamp_of(&nft[i], before[i]) < 0) {
			fprintf(stderr, "polbench: node %d: stamp: %s\n", i, nft_errmsg(&nft[i]));
			return 1;
		}
	/* the stamps are polled while CMD runs (a `sluicectl apply && sluicectl wait` returns
	 * after the nodes have it): its output is read without blocking in the same loop */
	if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) < 0)
		return 1;
	for (int i = 0; i < nns; i++)
		t_node[i] = -1;
	clock_gettime(CLOCK_REALTIME, &wall);
	t0 = now_ms();
	limit = t0 + (double)timeout_ms;
	pid = fork();
	if (pid == 0) {
		dup2(pipefd[1], 1);
		execvp(argv[optind + 1], argv + optind + 1);
		_exit(127);
	}
	close(pipefd[1]);
	t_cmd = -1;
	while (done < nns || t_cmd < 0) {
		for (ssize_t n; (n = read(pipefd[0], out + outlen, sizeof(out) - 1 - outlen)) > 0;)
			outlen += (size_t)n;
		if (t_cmd < 0 && waitpid(pid, &status, WNOHANG) == pid) {
			t_cmd = now_ms() - t0;
			if (!WIFEXITED(status) || WEXITSTATUS(status)) {
				fprintf(stderr, "polbench: %s failed (status 0x%x)\n",
					argv[optind + 1], status);
				return 1;
			}
		}
		for (int i = 0; i < nns; i++) {
			if (t_node[i] >= 0)
				continue;
			if (stamp_of(&nft[i], after[i]) < 0) {
				fprintf(stderr, "polbench: node %d: stamp: %s\n", i,
					nft_errmsg(&nft[i]));
				return 1;
			}
			if (strcmp(after[i], before[i])) {
				t_node[i] = now_ms() - t0;
				done++;
			}
		}
		if (done < nns || t_cmd < 0) {
			if (now_ms() > limit) {
				rc = 1;
				break;
			}
			usleep((useconds_t)interval_us);
		}
	}
	for (ssize_t n; (n = read(pipefd[0], out + outlen, sizeof(out) - 1 - outlen)) > 0;)
		outlen += (size_t)n;
	out[outlen] = 0;
	close(pipefd[0]);
	if (t_cmd < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "start_ns", (double)wall.tv_sec * 1e9 + (double)wall.tv_nsec);
	cJSON_AddNumberToObject(j, "cmd_ms", t_cmd);
	a = cJSON_AddArrayToObject(j, "nodes_ms");
	for (int i = 0; i < nns; i++)
		cJSON_AddItemToArray(a, t_node[i] >= 0 ? cJSON_CreateNumber(t_node[i])
						       : cJSON_CreateNull());
	if (!rc) {
		double all = 0;

		for (int i = 0; i < nns; i++)
			all = t_node[i] > all ? t_node[i] : all;
		cJSON_AddNumberToObject(j, "all_ms", all);
	}
	a = cJSON_AddArrayToObject(j, "stamps");
	for (int i = 0; i < nns; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(t_node[i] >= 0 ? after[i] : before[i]));
	cJSON_AddStringToObject(j, "out", out);
	s = cJSON_PrintUnformatted(j);
	puts(s);
	free(s);
	cJSON_Delete(j);
	for (int i = 0; i < nns; i++)
		nft_close(&nft[i]);
	if (rc)
		fprintf(stderr,
			"polbench: a node's stamp did not change (or CMD did not end) within %ld ms\n",
			timeout_ms);
	return rc;
}

static void add_series(cJSON *o, const char *name, const double *v, int n)
{
	cJSON *a = cJSON_AddArrayToObject(o, name);

	for (int i = 0; i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i]));
}

/* One batch: replace (frag NULL) or frag add/del; its commit time into *ms */
static int commit_timed(struct nft *nft, const struct pol_ruleset *rs, int how, double *ms,
			size_t *bytes)
{
	const struct pnft_opts o = {.nflog_group = POL_NFLOG_GROUP, .log_rate = PNFT_LOG_RATE};
	double t = now_ms();
	int r;

	nft_batch_begin(nft);
	if (how == 0)
		r = pnft_replace(nft, rs, &o);
	else if (how == 1)
		r = pnft_frag_add(nft, rs, &o);
	else
		r = pnft_frag_del(nft, rs);
	if (bytes)
		*bytes = nft->len;
	if (r >= 0)
		r = nft_batch_commit(nft);
	*ms = now_ms() - t;
	if (r < 0)
		fprintf(stderr, "polbench: commit: %s\n", nft_errmsg(nft));
	return r;
}

static int cmd_render(int argc, char **argv)
{
	const char *file = NULL, *node = NULL, *outp = NULL;
	int rounds = 5, pods = 20, c, r, rc = 1, nkeys = 0;
	char *line = NULL, *key, *value, **eps = NULL;
	size_t cap = 0, neps = 0, nelems = 0, nrules = 0, bytes = 0;
	double *ren = NULL, *com, *tot, *fren, *fcom, *ftot, *fdel;
	struct pol_ruleset rs = {0};
	struct err err = {0};
	struct nft nft = {0};
	struct pol_model *m;
	cJSON *o;
	FILE *f;

	while ((c = getopt(argc, argv, "f:N:r:k:o:")) != -1) {
		if (c == 'f')
			file = optarg;
		else if (c == 'N')
			node = optarg;
		else if (c == 'r')
			rounds = atoi(optarg);
		else if (c == 'k')
			pods = atoi(optarg);
		else if (c == 'o')
			outp = optarg;
		else
			usage();
	}
	if (!file || !node || rounds < 1 || pods < 1)
		usage();
	f = fopen(file, "re");
	m = pol_model_new(node);
	if (!f || !m) {
		fprintf(stderr, "polbench: %s: %m\n", file);
		return 1;
	}
	/* the endpoints of NODE, for the fragments */
	while ((r = next_line(f, &line, &cap, &key, &value)) > 0) {
		char prefix[300];

		if (pol_model_set(m, key, value, strlen(value), &err) < 0) {
			fprintf(stderr, "polbench: %s: %s\n", key, err.msg);
			goto out;
		}
		nkeys++;
		snprintf(prefix, sizeof(prefix), "%s%s/", POL_KEY_ENDPOINTS, node);
		if (!strncmp(key, prefix, strlen(prefix))) {
			eps = realloc(eps, (neps + 1) * sizeof(*eps));
			eps[neps++] = strdup(key);
		}
	}
	fclose(f);
	f = NULL;
	if (r < 0 || !neps) {
		fprintf(stderr, "polbench: %s: %s\n", file,
			r < 0 ? "a line without KEY<TAB>VALUE" : "no endpoint of the node");
		goto out;
	}
	if (nft_open(&nft, -1) < 0) {
		fprintf(stderr, "polbench: nft_open: %m\n");
		goto out;
	}
	ren = calloc((size_t)rounds * 3 + (size_t)pods * 4, sizeof(double));
	if (!ren)
		goto out;
	com = ren + rounds;
	tot = com + rounds;
	fren = tot + rounds;
	fcom = fren + pods;
	ftot = fcom + pods;
	fdel = ftot + pods;
	for (int i = 0; i < rounds; i++) {
		double t = now_ms();

		pol_ruleset_free(&rs);
		if (pol_render(m, &rs, &err) < 0) {
			fprintf(stderr, "polbench: pol_render: %s\n", err.msg);
			goto out;
		}
		ren[i] = now_ms() - t;
		if (commit_timed(&nft, &rs, 0, &com[i], &bytes) < 0)
			goto out;
		tot[i] = ren[i] + com[i];
	}
	for (size_t i = 0; i < rs.nsets; i++)
		nelems += rs.sets[i].n;
	for (size_t i = 0; i < rs.npchains; i++)
		nrules += rs.pchains[i].nrules;
	if ((size_t)pods > neps)
		pods = (int)neps;
	for (int i = 0; i < pods; i++) {
		const char *ep = eps[(size_t)i * neps / (size_t)pods];
		struct pol_ruleset fr = {0};
		double t = now_ms();

		if (pol_render_endpoint(m, ep, &fr, &err) < 0) {
			fprintf(stderr, "polbench: %s: %s\n", ep, err.msg);
			goto out;
		}
		fren[i] = now_ms() - t;
		/* out, then back in: the add is what an ADD of that pod commits */
		if (commit_timed(&nft, &fr, 2, &fdel[i], NULL) < 0 ||
		    commit_timed(&nft, &fr, 1, &fcom[i], NULL) < 0) {
			pol_ruleset_free(&fr);
			goto out;
		}
		ftot[i] = fren[i] + fcom[i];
		pol_ruleset_free(&fr);
	}
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "keys", nkeys);
	cJSON_AddNumberToObject(o, "node_endpoints", (double)neps);
	add_series(o, "render_ms", ren, rounds);
	add_series(o, "commit_ms", com, rounds);
	add_series(o, "total_ms", tot, rounds);
	add_series(o, "frag_render_ms", fren, pods);
	add_series(o, "frag_commit_ms", fcom, pods);
	add_series(o, "frag_total_ms", ftot, pods);
	add_series(o, "frag_del_ms", fdel, pods);
	cJSON_AddNumberToObject(o, "sets", (double)rs.nsets);
	cJSON_AddNumberToObject(o, "elements", (double)nelems);
	cJSON_AddNumberToObject(o, "pchains", (double)rs.npchains);
	cJSON_AddNumberToObject(o, "cchains", (double)rs.ncchains);
	cJSON_AddNumberToObject(o, "rules", (double)nrules);
	cJSON_AddNumberToObject(o, "batch_bytes", (double)bytes);
	{
		/* the elements by set kind (the name's suffix: a4, b4, p, n4, ...) */
		cJSON *k = cJSON_AddObjectToObject(o, "elements_by_kind");

		for (size_t i = 0; i < rs.nsets; i++) {
			const char *nm = rs.sets[i].name, *e = nm + strlen(nm);
			cJSON *sum;

			while (e > nm &&
			       (e[-1] == '4' || e[-1] == '6' || (e[-1] >= 'a' && e[-1] <= 'z')))
				e--;
			sum = cJSON_GetObjectItemCaseSensitive(k, e);
			if (sum)
				cJSON_SetNumberValue(sum, sum->valuedouble + (double)rs.sets[i].n);
			else
				cJSON_AddNumberToObject(k, e, (double)rs.sets[i].n);
		}
	}
	{
		char *s = cJSON_Print(o);
		FILE *of = outp ? fopen(outp, "we") : stdout;

		if (!s || !of || fprintf(of, "%s\n", s) < 0 || (of != stdout && fclose(of)))
			fprintf(stderr, "polbench: %s: %m\n", outp ? outp : "stdout");
		else
			rc = 0;
		free(s);
	}
	cJSON_Delete(o);
out:
	free(ren);
	if (f)
		fclose(f);
	pol_ruleset_free(&rs);
	pol_model_free(m);
	nft_close(&nft);
	for (size_t i = 0; i < neps; i++)
		free(eps[i]);
	free(eps);
	free(line);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	argv++;
	argc--;
	optind = 1;
	if (!strcmp(argv[0], "fill"))
		return cmd_fill(argc, argv);
	if (!strcmp(argv[0], "watch"))
		return cmd_watch(argc, argv);
	if (!strcmp(argv[0], "render"))
		return cmd_render(argc, argv);
	usage();
}
