/* SPDX-License-Identifier: Apache-2.0 */
/* sluicectl wait: returns once the policy of a store revision is in force on every node,
 * as the agents' keys (<prefix>/agents/<node>) say, so that scripts and tests need no
 * sleeps. One listing, then a watch on the agents' keys until they all get there. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "store/store.h"
#include "sluicectl.h"

#define WAIT_TIMEOUT_DEFAULT 30
#define WAIT_NODES_MAX 1024

static const char wait_usage[] =
	"Usage: sluicectl [GLOBAL FLAGS] wait [--revision N] [--timeout SECONDS]\n"
	"                                     [--node NAME ...]\n"
	"\n"
	"Waits until the policy of store revision N is in force on every node: until each\n"
	"agent's key <prefix>/agents/<node> (sluiced writes it after it applies policy) says\n"
	"policyRevision >= N. Without --node: every agent with a key, and at least one; with\n"
	"--node (repeatable): those nodes, one without a key being behind. It watches\n"
	"<prefix>/agents/ and returns as soon as the last node gets there.\n"
	"\n"
	"  --revision N       the store revision (default: the last change of a key under\n"
	"                     namespaces/, pods/, policies/ or endpoints/: the highest mod\n"
	"                     revision among them, or a later deletion's, read back from\n"
	"                     the store's history; when that history cannot be read up to\n"
	"                     the store's revision: exit status 2, give --revision)\n"
	"  --timeout SECONDS  give up after this long (default 30; fractions allowed; 0: look\n"
	"                     once)\n"
	"  --node NAME        a node to wait for (repeatable)\n"
	"\n"
	"Prints \"revision N in force on K node(s): NAMES\"; -o json: {\"revision\", \"done\",\n"
	"\"nodes\": [{\"node\", \"policyRevision\", \"updated\"}], \"behind\": [names]}.\n"
	"Exit status: 0 in force; 1 on timeout (stderr names each node behind and its\n"
	"revision) or a store error; 2 bad usage.\n";

struct wait_state {
	struct ctl_agent *a; /* the agents' keys as last seen */
	size_t n, cap;
	char **nodes; /* --node, NULL: every agent */
	size_t nnodes;
	int64_t want;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct ctl_agent *find(struct wait_state *w, const char *node)
{
	for (size_t i = 0; i < w->n; i++)
		if (!strcmp(w->a[i].node, node))
			return &w->a[i];
	return NULL;
}

static bool behind(const struct wait_state *w, const struct ctl_agent *a)
{
	return !a || !a->valid || a->policy_rev < w->want;
}

/* Done when every node waited for is there (and, without --node, one agent at least) */
static bool done(struct wait_state *w)
{
	size_t i;

	if (w->nodes) {
		for (i = 0; i < w->nnodes; i++)
			if (behind(w, find(w, w->nodes[i])))
				return false;
		return true;
	}
	for (i = 0; i < w->n; i++)
		if (behind(w, &w->a[i]))
			return false;
	return w->n > 0;
}

/* A watch event: the agent's key written (added or replaced) or gone */
static int apply_event(struct wait_state *w, const struct store_event *ev, size_t plen)
{
	struct ctl_agent x, *cur;

	if (strlen(ev->kv.key) <= plen)
		return 0;
	ctl_agent_parse(ev->kv.key, plen, ev->type == STORE_EV_PUT ? ev->kv.value : NULL,
			ev->kv.value_len, &x);
	cur = find(w, x.node);
	if (ev->type == STORE_EV_DELETE) {
		if (cur)
			*cur = w->a[--w->n];
		return 0;
	}
	if (cur) {
		*cur = x;
		return 0;
	}
	if (w->n == w->cap) {
		struct ctl_agent *t = realloc(w->a, (w->cap * 2 + 8) * sizeof(*t));

		if (!t)
			return -ENOMEM;
		w->a = t;
		w->cap = w->cap * 2 + 8;
	}
	w->a[w->n++] = x;
	return 0;
}

static int relist(struct ctl *c, struct wait_state *w, int64_t *rev, struct err *e)
{
	struct ctl_agent *a;
	size_t n;
	int r = ctl_agents_list(c, &a, &n, rev, e);

	if (r < 0)
		return r;
	free(w->a);
	w->a = a;
	w->n = w->cap = n;
	return 0;
}

static void behind_text(struct wait_state *w, char *out, size_t size)
{
	size_t i, len = 0;
	char one[320];

	out[0] = '\0';
	for (i = 0; i < (w->nodes ? w->nnodes : w->n); i++) {
		const struct ctl_agent *a = w->nodes ? find(w, w->nodes[i]) : &w->a[i];
		const char *name = w->nodes ? w->nodes[i] : a->node;

		if (!behind(w, a))
			continue;
		if (!a)
			snprintf(one, sizeof(one), "%s (no agent key)", name);
		else if (!a->valid)
			snprintf(one, sizeof(one), "%s (agent key without a policyRevision)", name);
		else
			snprintf(one, sizeof(one), "%s at %" PRId64, name, a->policy_rev);
		if (len + strlen(one) + 3 < size)
			len += (size_t)snprintf(out + len, size - len, "%s%s", len ? ", " : "",
						one);
	}
}

static cJSON *state_json(struct wait_state *w, bool ok)
{
	cJSON *j = cJSON_CreateObject(), *nodes, *b;
	size_t i;

	cJSON_AddNumberToObject(j, "revision", (double)w->want);
	cJSON_AddBoolToObject(j, "done", ok);
	nodes = cJSON_AddArrayToObject(j, "nodes");
	b = cJSON_AddArrayToObject(j, "behind");
	for (i = 0; i < w->n; i++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "node", w->a[i].node);
		if (w->a[i].valid)
			cJSON_AddNumberToObject(o, "policyRevision", (double)w->a[i].policy_rev);
		else
			cJSON_AddNullToObject(o, "policyRevision");
		cJSON_AddNumberToObject(o, "updated", (double)w->a[i].updated);
		cJSON_AddItemToArray(nodes, o);
		if (!w->nodes && behind(w, &w->a[i]))
			cJSON_AddItemToArray(b, cJSON_CreateString(w->a[i].node));
	}
	for (i = 0; w->nodes && i < w->nnodes; i++)
		if (behind(w, find(w, w->nodes[i])))
			cJSON_AddItemToArray(b, cJSON_CreateString(w->nodes[i]));
	return j;
}

/* The outcome, printed: CTL_OK when done, else CTL_ERROR naming the nodes behind */
static int report(struct ctl *c, struct wait_state *w, bool ok, double timeout)
{
	char list[4096];
	size_t i, len = 0;

	if (c->output == CTL_OUT_JSON) {
		cJSON *j = state_json(w, ok);

		ctl_print_json(j);
		cJSON_Delete(j);
	} else if (ok) {
		for (i = 0; i < (w->nodes ? w->nnodes : w->n); i++)
			if (len + 300 < sizeof(list))
				len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
							i ? ", " : "",
							w->nodes ? w->nodes[i] : w->a[i].node);
		printf("revision %" PRId64 " in force on %zu node%s: %s\n", w->want,
		       w->nodes ? w->nnodes : w->n, (w->nodes ? w->nnodes : w->n) == 1 ? "" : "s",
		       len ? list : "-");
	}
	if (ok)
		return CTL_OK;
	if (!w->nodes && !w->n)
		return ctl_errorf("timed out after %g s waiting for revision %" PRId64
				  ": no agent has reported under %s/agents/",
				  timeout, w->want, c->prefix);
	behind_text(w, list, sizeof(list));
	return ctl_errorf("timed out after %g s waiting for revision %" PRId64 ": behind: %s",
			  timeout, w->want, list);
}

/* Watches the agents' keys from the listing's revision until done or the deadline */
static int watch_until(struct ctl *c, struct wait_state *w, int64_t rev, int64_t deadline, bool *ok,
		       struct err *e)
{
	char *prefix = ctl_agents_prefix(c);
	struct store_watch *wt = NULL;
	struct store_event ev;
	int64_t left;
	int r = 0;

	if (!prefix)
		return err_fail(e, CNI_ERR_INTERNAL, -ENOMEM, "out of memory");
	while (!(*ok = done(w)) && (left = deadline - now_ms()) > 0) {
		if (!wt && !(wt = store_watch_open(c->store, prefix, rev + 1, e))) {
			r = -EIO;
			break;
		}
		r = store_watch_wait(wt, &ev, left > INT32_MAX ? INT32_MAX : (int)left, e);
		if (r == -ESTALE) {
			/* compacted past what we listed: list again, watch after that */
			store_watch_close(wt);
			wt = NULL;
			memset(e, 0, sizeof(*e));
			if ((r = relist(c, w, &rev, e)) < 0)
				break;
			continue;
		}
		if (r < 0)
			break;
		if (r > 0) {
			r = apply_event(w, &ev, strlen(prefix));
			store_event_free(&ev);
			if (r < 0) {
				err_fail(e, CNI_ERR_INTERNAL, r, "out of memory");
				break;
			}
		}
		r = 0;
	}
	if (wt)
		store_watch_close(wt);
	free(prefix);
	return r;
}

static int parse_flags(int argc, char **argv, struct wait_state *w, bool *given, double *timeout)
{
	static const struct option opts[] = {
		{"revision", required_argument, NULL, 'r'},
		{"timeout", required_argument, NULL, 't'},
		{"node", required_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	char *end;
	int o;

	optind = 0;
	opterr = 0;
	while ((o = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (o) {
		case 'h':
			fputs(wait_usage, stdout);
			return -1;
		case 'r':
			errno = 0;
			w->want = strtoll(optarg, &end, 10);
			if (errno || end == optarg || *end || w->want < 0 || *optarg == '-')
				return ctl_usage("wait",
						 "--revision needs a whole number >= 0, got '%s'",
						 optarg);
			*given = true;
			break;
		case 't':
			errno = 0;
			*timeout = strtod(optarg, &end);
			if (errno || end == optarg || *end || !isfinite(*timeout) || *timeout < 0 ||
			    *timeout > 1e6)
				return ctl_usage("wait",
						 "--timeout needs a number of seconds from 0 to "
						 "1000000, got '%s'",
						 optarg);
			break;
		case 'n':
			if (!*optarg || strchr(optarg, '/') || strlen(optarg) >= 254)
				return ctl_usage("wait", "--node: invalid node name '%s'", optarg);
			if (w->nnodes == WAIT_NODES_MAX)
				return ctl_usage("wait", "--node: at most %d nodes",
						 WAIT_NODES_MAX);
			w->nodes[w->nnodes++] = optarg;
			break;
		case ':':
			return ctl_usage("wait", "'%s' needs a value", argv[optind - 1]);
		default:
			return ctl_usage("wait", "unknown flag '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return ctl_usage("wait", "unexpected argument '%s'", argv[optind]);
	return CTL_OK;
}

int ctl_wait(struct ctl *c, int argc, char **argv)
{
	struct wait_state w = {0};
	double timeout = WAIT_TIMEOUT_DEFAULT;
	bool given = false, ok = false;
	struct err e = {0};
	int64_t rev, deadline;
	int r;

	w.nodes = calloc(WAIT_NODES_MAX, sizeof(*w.nodes));
	if (!w.nodes)
		return ctl_errorf("out of memory");
	r = parse_flags(argc, argv, &w, &given, &timeout);
	if (r) {
		free(w.nodes);
		return r < 0 ? CTL_OK : r;
	}
	if (!w.nnodes) {
		free(w.nodes);
		w.nodes = NULL;
	}
	deadline = now_ms() + (int64_t)(timeout * 1000);
	if (!ctl_store(c)) {
		free(w.nodes);
		return CTL_ERROR;
	}
	r = given ? 0 : ctl_policy_revision(c, &w.want, &e);
	if (r == -ESTALE) {
		free(w.a);
		free(w.nodes);
		return ctl_usage("wait", "%s", e.msg);
	}
	if (r < 0 || relist(c, &w, &rev, &e) < 0 || watch_until(c, &w, rev, deadline, &ok, &e) < 0)
		r = ctl_error(&e);
	else
		r = report(c, &w, ok, timeout);
	free(w.a);
	free(w.nodes);
	return r;
}
