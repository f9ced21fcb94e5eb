// SPDX-License-Identifier: Apache-2.0
/* sluice-nft-policy: chained after a bridge plugin, puts a pod under Kubernetes NetworkPolicy
 * before ADD returns. ADD records the pod as an endpoint in the node's dir:// store and, under
 * the node's policy lock, programs its part of table inet sluice_policy: only its elements
 * when the table's stamp says the kernel holds the store's policies (the fast path), else the
 * whole ruleset rendered from the store (the slow path: the first pod of a node without an
 * agent, or policies changed while no agent ran). One atomic batch either way, so the pod's
 * first packet already meets its policy. DEL, GC and a failed ADD take the elements and the
 * record away again; prevResult passes on unchanged. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cjson/cJSON.h>

#include "base/fs.h"
#include "base/log.h"
#include "base/sysctl.h"
#include "cni/cni.h"
#include "cni/conf.h"
#include "cni/result.h"
#include "k8s/object.h"
#include "netlink/ct.h"
#include "netlink/nl.h"
#include "netlink/nl_link.h"
#include "nft/nft.h"
#include "policy/pnft.h"
#include "policy/policy.h"
#include "store/store.h"
#include "subnet/files.h"

#define NP_PREFIX "/sluice/network"
#define NP_RUN_DIR "/run/sluice"
#define NP_PREFIX_MAX 256
#define NP_LOCK_MS 5000 /* the agent holds the lock for one render and commit */
#define NP_AGENT_MS 2000 /* policy.sock: the whole exchange with sluiced, then our own path */
#define NP_ANSWER_MAX 4096
#define NP_IPS_MAX (sizeof(((struct pol_endpoint *)0)->ips) / sizeof(struct ip_addr))
#define BR_SYSCTL "net/bridge/bridge-nf-call-iptables"
#define BR_SYSCTL6 "net/bridge/bridge-nf-call-ip6tables"

struct np_conf {
	const char *url; /* dir://PATH */
	const char *path;
	char prefix[NP_PREFIX_MAX];
	char node[SUBNET_NODE_NAME_MAX + 1];
	const char *run_dir;
	struct pnft_opts opts;
};

/* A record of endpoints/<node>/ (DEL and GC) */
struct np_rec {
	char *rel; /* endpoints/<node>/<cid>-<ifname> */
	char *value;
	size_t len;
	struct pol_endpoint ep;
	bool parsed, gone;
};

/* Everything one call works with */
struct np_call {
	struct cni_ctx *ctx;
	struct np_conf c;
	struct cni_result prev;
	struct pol_endpoint ep; /* ADD, CHECK: this attachment's */
	char rel[STORE_KEY_MAX]; /* endpoints/<node>/<cid>-<ifname> */
	char key[STORE_KEY_MAX + NP_PREFIX_MAX];
	struct store *st;
	struct pol_model *m;
	struct nft nft;
	int lock;
	struct np_rec *recs;
	size_t nrecs;
};

/* --- Configuration and identity ------------------------------------------------------ */

/* Letters, digits, '.', '-', '_': what sluiced takes for --node-name */
static bool node_ok(const char *s)
{
	size_t n = strlen(s);

	return n && n <= SUBNET_NODE_NAME_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") == n;
}

/* The node sluiced names when not told: the NodeName of the lease state beside
 * <runDir>/subnet.env, else the hostname (its --node-name default). */
static void default_node(struct conf *cf, struct np_conf *c)
{
	struct subnet_state s;
	struct err e = {0};
	char env[4096], *state;

	snprintf(env, sizeof(env), "%s/subnet.env", c->run_dir);
	state = subnet_state_path(env);
	if (state && subnet_state_read(state, &s, &e) == 0 && s.node_name[0]) {
		snprintf(c->node, sizeof(c->node), "%s", s.node_name);
		free(state);
		return;
	}
	free(state);
	if (gethostname(c->node, sizeof(c->node) - 1) < 0)
		c->node[0] = '\0';
	if (!node_ok(c->node))
		conf_error(cf, CNI_ERR_CONFIG,
			   "node: missing, and the hostname \"%.64s\" is not a node name", c->node);
}

static void parse_store(struct conf *cf, struct np_conf *c)
{
	c->url = conf_str(cf, cf->ctx->conf, "store", STORE_DEFAULT_URL);
	if (!c->url)
		return;
	if (!strncmp(c->url, "etcd://", 7) || !strncmp(c->url, "etcds://", 8))
		conf_error(
			cf, CNI_ERR_CONFIG,
			"store: a plugin never talks to etcd: name the node's local dir:// store "
			"(sluiced --local-store), which sluiced mirrors to etcd");
	else if (strncmp(c->url, "dir://", 6))
		conf_error(cf, CNI_ERR_CONFIG, "store: must be a dir:// URL");
	else if (c->url[6] != '/')
		conf_error(cf, CNI_ERR_CONFIG, "store: dir:// needs an absolute path");
	else
		c->path = c->url + 6;
}

static void parse_prefix(struct conf *cf, struct np_conf *c)
{
	const char *p = conf_str(cf, cf->ctx->conf, "prefix", NP_PREFIX);
	size_t n;

	if (!p)
		return;
	n = strlen(p);
	/* "/p/" names what "/p" names, as for sluicectl --prefix */
	while (n > 1 && p[n - 1] == '/')
		n--;
	if (p[0] != '/')
		conf_error(cf, CNI_ERR_CONFIG, "prefix: must start with '/'");
	else if (n == 1)
		conf_error(cf, CNI_ERR_CONFIG, "prefix: must name a key below '/'");
	else if (n >= sizeof(c->prefix))
		conf_error(cf, CNI_ERR_CONFIG, "prefix: longer than %zu bytes",
			   sizeof(c->prefix) - 1);
	else
		snprintf(c->prefix, sizeof(c->prefix), "%.*s", (int)n, p);
}

/* The config; every problem named at once. */
static int load_conf(struct cni_ctx *ctx, struct np_conf *c)
{
	const char *node;
	struct conf cf;

	memset(c, 0, sizeof(*c));
	conf_init(&cf, ctx);
	parse_store(&cf, c);
	parse_prefix(&cf, c);
	c->run_dir = conf_str(&cf, ctx->conf, "runDir", NP_RUN_DIR);
	if (c->run_dir && c->run_dir[0] != '/')
		conf_error(&cf, CNI_ERR_CONFIG, "runDir: must be an absolute path");
	c->opts.nflog_group =
		(uint16_t)conf_int(&cf, ctx->conf, "nflogGroup", POL_NFLOG_GROUP, 0, 65535);
	c->opts.log_rate = PNFT_LOG_RATE;
	node = conf_str(&cf, ctx->conf, "node", NULL);
	if (node && !node_ok(node))
		conf_error(&cf, CNI_ERR_CONFIG,
			   "node: not a node name (1-253 letters, digits, '.', '-', '_')");
	else if (node)
		snprintf(c->node, sizeof(c->node), "%s", node);
	else if (!cf.n)
		default_node(&cf, c);
	return conf_done(&cf);
}

/* K8S_POD_NAMESPACE and K8S_POD_NAME, checked as the apiserver checks them */
static int load_ident(struct np_call *b)
{
	const char *ns = cni_arg(b->ctx, "K8S_POD_NAMESPACE");
	const char *pod = cni_arg(b->ctx, "K8S_POD_NAME");
	const char *why;

	if (ns && *ns && (why = k8s_check_dns_label(ns)))
		return cni_fail(b->ctx, CNI_ERR_ENV, -EINVAL,
				"ARGS: K8S_POD_NAMESPACE \"%.63s\": %s", ns, why);
	if (pod && *pod && (why = k8s_check_dns_subdomain(pod)))
		return cni_fail(b->ctx, CNI_ERR_ENV, -EINVAL, "ARGS: K8S_POD_NAME \"%.63s\": %s",
				pod, why);
	snprintf(b->ep.ns, sizeof(b->ep.ns), "%s", ns && *ns ? ns : K8S_DEFAULT_NS);
	snprintf(b->ep.pod, sizeof(b->ep.pod), "%s", pod ? pod : "");
	return 0;
}

/* args.cni.labels: [{"key": k, "value": v}, ...] (CNI conventions) into {k: v, ...} */
static int load_labels(struct np_call *b)
{
	const cJSON *l = cni_args_cni(b->ctx, "labels"), *e;
	const char *k, *v, *why;
	int i = 0;

	if (!l || cJSON_IsNull(l))
		return 0;
	if (!cJSON_IsArray(l))
		return cni_fail(b->ctx, CNI_ERR_CONFIG, -EINVAL,
				"args.cni.labels: must be a list of {\"key\", \"value\"}");
	b->ep.labels = cJSON_CreateObject();
	if (!b->ep.labels)
		return -ENOMEM;
	cJSON_ArrayForEach(e, l) {
		k = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "key"));
		v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "value"));
		if (!cJSON_IsObject(e) || !k || !v)
			return cni_fail(b->ctx, CNI_ERR_CONFIG, -EINVAL,
					"args.cni.labels[%d]: must be {\"key\": string, \"value\": "
					"string}",
					i);
		if ((why = k8s_check_label_key(k)))
			return cni_fail(b->ctx, CNI_ERR_CONFIG, -EINVAL,
					"args.cni.labels[%d].key \"%.63s\": %s", i, k, why);
		if ((why = k8s_check_label_value(v)))
			return cni_fail(b->ctx, CNI_ERR_CONFIG, -EINVAL,
					"args.cni.labels[%d].value \"%.63s\": %s", i, v, why);
		if (cJSON_GetObjectItemCaseSensitive(b->ep.labels, k))
			return cni_fail(b->ctx, CNI_ERR_CONFIG, -EINVAL,
					"args.cni.labels[%d].key \"%.63s\": given twice", i, k);
		if (!cJSON_AddStringToObject(b->ep.labels, k, v))
			return -ENOMEM;
		i++;
	}
	return 0;
}

/* The pod's addresses (those on host-side interfaces aside) and its host veth: the
 * host-side interface of prevResult that is a veth (the bridge is host-side too). */
static int load_addrs(struct np_call *b)
{
	const struct cni_result *p = &b->prev;
	struct nl_link l;
	struct nl nl = {0};

	for (size_t i = 0; i < p->n_ips; i++) {
		int k = p->ips[i].iface;

		if (k >= 0 && (size_t)k < p->n_ifaces &&
		    (!p->ifaces[k].sandbox || !*p->ifaces[k].sandbox))
			continue;
		if (b->ep.nips == NP_IPS_MAX)
			return cni_fail(b->ctx, CNI_ERR_CONFIG, -E2BIG,
					"prevResult: more than %zu pod addresses", NP_IPS_MAX);
		b->ep.ips[b->ep.nips++] = p->ips[i].address.ip;
	}
	if (!b->ep.nips)
		return cni_fail(b->ctx, CNI_ERR_CONFIG, -EINVAL,
				"prevResult: no pod address (policy matches pods by address)");
	for (size_t i = 0; i < p->n_ifaces; i++) {
		const char *n = p->ifaces[i].name;

		if ((p->ifaces[i].sandbox && *p->ifaces[i].sandbox) || !n || !*n ||
		    strlen(n) >= sizeof(b->ep.veth))
			continue;
		if (!nl.sk && nl_open(&nl, -1) < 0)
			break;
		if (nl_link_get_by_name(&nl, n, &l) == 0 && !strcmp(l.kind, "veth")) {
			snprintf(b->ep.veth, sizeof(b->ep.veth), "%s", n);
			break;
		}
	}
	nl_close(&nl);
	return 0;
}

static void set_keys(struct np_call *b)
{
	snprintf(b->rel, sizeof(b->rel), "%s%s/%s-%s", POL_KEY_ENDPOINTS, b->c.node,
		 b->ctx->containerid, b->ctx->ifname);
	snprintf(b->key, sizeof(b->key), "%s/%s", b->c.prefix, b->rel);
}

/* What ADD and CHECK need: config, prevResult, identity, labels, addresses */
static int load_chained(struct np_call *b)
{
	struct cni_ctx *ctx = b->ctx;
	char err[256];
	int r;

	if ((r = load_conf(ctx, &b->c)) < 0)
		return r;
	if (!ctx->prev)
		return cni_fail(ctx, CNI_ERR_CONFIG, -EINVAL,
				"Required prevResult missing: sluice-nft-policy is chained after "
				"a bridge plugin");
	if (cni_result_parse(ctx->prev, &b->prev, err, sizeof(err)) < 0)
		return cni_fail(ctx, CNI_ERR_DECODE, -EINVAL, "prevResult: %s", err);
	if ((r = load_ident(b)) < 0 || (r = load_labels(b)) < 0 || (r = load_addrs(b)) < 0)
		return r;
	snprintf(b->ep.cid, sizeof(b->ep.cid), "%s", ctx->containerid);
	snprintf(b->ep.ifname, sizeof(b->ep.ifname), "%s", ctx->ifname);
	snprintf(b->ep.node, sizeof(b->ep.node), "%s", b->c.node);
	set_keys(b);
	return 0;
}

static void call_init(struct np_call *b, struct cni_ctx *ctx)
{
	memset(b, 0, sizeof(*b));
	b->ctx = ctx;
	b->lock = -1;
}

static void free_recs(struct np_call *b)
{
	for (size_t i = 0; i < b->nrecs; i++) {
		free(b->recs[i].rel);
		free(b->recs[i].value);
		pol_endpoint_done(&b->recs[i].ep);
	}
	free(b->recs);
	b->recs = NULL;
	b->nrecs = 0;
}

static void call_done(struct np_call *b)
{
	free_recs(b);
	if (b->lock >= 0)
		pol_unlock(b->lock);
	pol_model_free(b->m);
	store_close(b->st);
	pol_endpoint_done(&b->ep);
	cni_result_done(&b->prev);
	/* last, the lock released: after a delete it waits for the kernel's deferred cleanup */
	nft_close(&b->nft);
}

/* --- The node: br_netfilter, store, lock, nftables ----------------------------------- */

/* Bridged pod-to-pod traffic reaches the inet forward hook only through br_netfilter.
 * BR_SET (ADD) turns it on in this netns, BR_ON (CHECK) wants it on, BR_LOADED (STATUS) only
 * loaded: ADD turns it on. */
enum br_mode { BR_LOADED, BR_SET, BR_ON };

static int br_netfilter(struct np_call *b, int code, enum br_mode mode)
{
	const char *p[] = {BR_SYSCTL, BR_SYSCTL6};
	char v[16], f[128];
	struct stat s;
	int r;

	for (int i = 0; i < 2; i++) {
		snprintf(f, sizeof(f), "/proc/sys/%s", p[i]);
		if (stat(f, &s) < 0)
			return cni_fail(b->ctx, code, -errno,
					"br_netfilter is not loaded (%s is missing): bridged pod "
					"traffic would bypass policy; load it (modprobe "
					"br_netfilter)",
					f);
		if (mode == BR_SET && (r = sysctl_set(p[i], "1")) < 0)
			return cni_fail(b->ctx, CNI_ERR_KERNEL, r, "br_netfilter: set %s to 1: %s",
					f, strerror(-r));
		if (mode == BR_ON && ((r = sysctl_get(p[i], v, sizeof(v))) < 0 || strcmp(v, "1")))
			return cni_fail(
				b->ctx, code, r < 0 ? r : -EINVAL,
				"br_netfilter: %s is %s, not 1: bridged pod traffic bypasses "
				"policy",
				f, r < 0 ? strerror(-r) : v);
	}
	return 0;
}

/* 1 when the store's directory exists, 0 when there is none (nothing was ever recorded
 * there: DEL, GC and CHECK never create it), or -errno */
static int store_exists(struct np_call *b)
{
	struct stat s;
	int r = stat(b->c.path, &s) < 0 ? -errno : 0;

	if (r == 0 && S_ISDIR(s.st_mode))
		return 1;
	if (r == 0 || r == -ENOENT || r == -ENOTDIR) {
		log_info("no store at %s: nothing recorded", b->c.path);
		return 0;
	}
	return cni_fail(b->ctx, CNI_ERR_IO, r, "store: %s: %s", b->c.path, strerror(-r));
}

static int open_store(struct np_call *b)
{
	b->st = store_open(b->c.url, &b->ctx->err);
	return b->st ? 0 : -EIO;
}

static int lock(struct np_call *b)
{
	char *d = strdup(b->c.run_dir);
	int r = d ? fs_mkdir_p(d, 0755) : -ENOMEM;

	free(d);
	if (r < 0)
		return cni_fail(b->ctx, CNI_ERR_IO, r, "runDir: create %s: %s", b->c.run_dir,
				strerror(-r));
	b->lock = pol_lock(b->c.run_dir, NP_LOCK_MS, &b->ctx->err);
	return b->lock < 0 ? b->lock : 0;
}

static int open_nft(struct np_call *b)
{
	int r = b->nft.sk ? 0 : nft_open(&b->nft, -1);

	return r < 0 ? cni_fail(b->ctx, CNI_ERR_KERNEL, r, "nftables: %s", strerror(-r)) : 0;
}

static int nft_err(struct np_call *b, int r, const char *what)
{
	return cni_fail_kernel(b->ctx, r, nft_errmsg(&b->nft), "%s", what);
}

/* The table's stamp: 1 when it exists, 0 when not, or -errno */
static int kernel_stamp(struct np_call *b, char out[POL_STAMP_MAX])
{
	int r;

	if ((r = open_nft(b)) < 0)
		return r;
	r = pnft_read_stamp(&b->nft, out);
	return r < 0 ? nft_err(b, r, "read the stamp of table inet " POL_TABLE) : r;
}

static void log_nft(struct np_call *b, const char *what)
{
	struct nft_stats s = nft_stats_take(&b->nft);

	if (s.batches)
		log_info("%s: nft batch committed: %u elements added, %u removed, %u tables, "
			 "chains, sets or rules",
			 what, s.elems_added, s.elems_removed, s.objects);
}

/* --- The model from the store -------------------------------------------------------- */

/* One store key into the model; an object the model refuses is skipped (sluicectl apply
 * validated it: only a foreign writer puts one there), a store or memory failure is not. */
static int feed(struct np_call *b, const char *rel, const char *value, size_t len)
{
	struct err e = {0};
	int r = pol_model_set(b->m, rel, value, len, &e);

	if (r == -EINVAL) {
		log_warn("%s: skipped, invalid: %s", rel, e.msg);
		return 0;
	}
	return r < 0 ? cni_fail(b->ctx, CNI_ERR_INTERNAL, r, "policy model: %s: %s", rel,
				e.msg[0] ? e.msg : strerror(-r))
		     : 0;
}

static int feed_key(struct np_call *b, const char *rel)
{
	char key[STORE_KEY_MAX + NP_PREFIX_MAX];
	struct store_kv kv = {0};
	int r;

	snprintf(key, sizeof(key), "%s/%s", b->c.prefix, rel);
	r = store_get(b->st, key, &kv, NULL, &b->ctx->err);
	if (r > 0)
		r = feed(b, rel, kv.value, kv.value_len);
	store_kv_free(&kv);
	return r < 0 ? r : 0;
}

/* Every key under <prefix>/<sub> */
static int feed_list(struct np_call *b, const char *sub)
{
	char key[STORE_KEY_MAX + NP_PREFIX_MAX];
	size_t skip = strlen(b->c.prefix) + 1;
	struct store_list l = {0};
	int r;

	snprintf(key, sizeof(key), "%s/%s", b->c.prefix, sub);
	r = store_list_all(b->st, key, 0, &l, &b->ctx->err);
	for (size_t i = 0; r >= 0 && i < l.n; i++)
		r = feed(b, l.kvs[i].key + skip, l.kvs[i].value, l.kvs[i].value_len);
	store_list_free(&l);
	return r < 0 ? r : 0;
}

static int new_model(struct np_call *b)
{
	b->m = pol_model_new(b->c.node);
	return b->m ? feed_list(b, POL_KEY_POLICIES) : -ENOMEM;
}

/* What an endpoint's fragment depends on besides the policies: its namespace and Pod */
static int feed_endpoint(struct np_call *b, const struct pol_endpoint *ep, const char *rel,
			 const char *value, size_t len)
{
	char k[STORE_KEY_MAX];
	int r;

	snprintf(k, sizeof(k), "%s%s", POL_KEY_NAMESPACES, ep->ns);
	if ((r = feed_key(b, k)) < 0)
		return r;
	if (ep->pod[0]) {
		snprintf(k, sizeof(k), "%s%s/%s", POL_KEY_PODS, ep->ns, ep->pod);
		if ((r = feed_key(b, k)) < 0)
			return r;
	}
	return feed(b, rel, value, len);
}

/* --- sluiced's policy.sock ------------------------------------------------------------ */

static int64_t mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Waits for ev on fd until deadline: 0, or -ETIMEDOUT / -errno */
static int wait_fd(int fd, short ev, int64_t deadline)
{
	struct pollfd p = {.fd = fd, .events = ev};
	int64_t left;
	int r;

	for (;;) {
		left = deadline - mono_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, (int)left);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

/* One request line out and one answer line in, within NP_AGENT_MS: the answer (malloc'd,
 * NUL-terminated) or NULL with *r = -errno */
static char *exchange(const char *path, const char *req, int *r)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int64_t deadline = mono_ms() + NP_AGENT_MS;
	size_t len = strlen(req), off = 0, n = 0;
	char *ans = NULL;
	ssize_t k;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		*r = -ENAMETOOLONG;
		return NULL;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 ||
	    (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS)) {
		/* no agent (ENOENT, ECONNREFUSED), or its backlog full (EAGAIN) */
		*r = -errno;
		goto out;
	}
	while (off < len) {
		if ((*r = wait_fd(fd, POLLOUT, deadline)) < 0)
			goto out;
		k = send(fd, req + off, len - off, MSG_NOSIGNAL);
		if (k < 0 && errno != EAGAIN && errno != EINTR) {
			*r = -errno;
			goto out;
		}
		off += k > 0 ? (size_t)k : 0;
	}
	if (!(ans = malloc(NP_ANSWER_MAX + 1))) {
		*r = -ENOMEM;
		goto out;
	}
	while (!memchr(ans, '\n', n)) {
		if (n == NP_ANSWER_MAX) {
			*r = -E2BIG;
			goto out;
		}
		if ((*r = wait_fd(fd, POLLIN, deadline)) < 0)
			goto out;
		k = recv(fd, ans + n, NP_ANSWER_MAX - n, 0);
		if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR)) {
			*r = k == 0 ? -ECONNRESET : -errno;
			goto out;
		}
		n += k > 0 ? (size_t)k : 0;
	}
	ans[n] = '\0';
	close(fd);
	return ans;
out:
	free(ans);
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* Asks sluiced to do op ("add": the record as written, "del": the record deleted) for this
 * attachment with the model it holds compiled. 0 once it answered that its elements are
 * committed and the kernel's table carries the stamp the agent's ruleset has (pre: the
 * stamp the caller read before asking, NULL: read after the answer); else -errno (logged,
 * never an error of the call): the caller does it on its own. */
static int ask_agent(struct np_call *b, const char *op, const char *rel, const char *record,
		     const char *pre)
{
	char path[4096], ks[POL_STAMP_MAX], *req = NULL, *ans = NULL, *line;
	const char *stamp, *msg;
	cJSON *o = cJSON_CreateObject(), *a = NULL;
	int r = -ENOMEM;

	snprintf(path, sizeof(path), "%s/%s", b->c.run_dir, POL_SOCK);
	if (!o || !cJSON_AddStringToObject(o, "op", op) ||
	    !cJSON_AddStringToObject(o, "key", rel) ||
	    (record && !cJSON_AddItemToObject(o, "record", cJSON_Parse(record))))
		goto out;
	req = cJSON_PrintUnformatted(o);
	if (!req || !(line = realloc(req, strlen(req) + 2)))
		goto out;
	req = line;
	strcat(req, "\n");
	ans = exchange(path, req, &r);
	if (!ans) {
		log_info("sluiced's %s: %s: doing it ourselves", path, strerror(-r));
		goto out;
	}
	a = cJSON_Parse(ans);
	msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "msg"));
	stamp = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "stamp"));
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "ok")) || !stamp) {
		log_info("sluiced refused the %s: %s: doing it ourselves", op,
			 msg ? msg : "no answer");
		r = -EAGAIN;
		goto out;
	}
	/* the agent committed before answering; the table in force is its ruleset (not one
	 * someone replaced since, or of another netns). A del compares the stamp read before
	 * asking: our netlink socket closed after the agent's deletes would wait for the
	 * kernel's deferred destroy work (an RCU grace period, 10-15 ms) */
	if (pre)
		r = snprintf(ks, sizeof(ks), "%s", pre) > 0;
	else if ((r = b->nft.sk ? 0 : nft_open(&b->nft, -1)) == 0)
		r = pnft_read_stamp(&b->nft, ks);
	if (r <= 0 || strcmp(ks, stamp)) {
		log_info("sluiced did the %s, but the table's stamp is not its ruleset's: doing it "
			 "ourselves",
			 op);
		r = -ESTALE;
		goto out;
	}
	log_info("sluiced did the %s (%d elements)", op,
		 (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(a, "elements")));
	r = 0;
out:
	cJSON_Delete(o);
	cJSON_Delete(a);
	free(req);
	free(ans);
	return r;
}

/* --- ADD ------------------------------------------------------------------------------- */

static int put_record(struct np_call *b, char **json)
{
	int r;

	*json = pol_endpoint_json(&b->ep);
	if (!*json)
		return -ENOMEM;
	r = store_put(b->st, b->key, *json, strlen(*json), NULL, NULL, NULL, &b->ctx->err);
	return r < 0 ? r : 0;
}

/* The fast path: the kernel holds the store's policies, only this pod's elements change */
static int program_fast(struct np_call *b)
{
	struct pol_ruleset frag = {0};
	int r;

	r = pol_render_endpoint(b->m, b->rel, &frag, &b->ctx->err);
	if (r < 0) {
		pol_ruleset_free(&frag);
		return r;
	}
	nft_batch_begin(&b->nft);
	r = pnft_frag_add(&b->nft, &frag, &b->c.opts);
	if (r >= 0)
		r = nft_batch_commit(&b->nft);
	pol_ruleset_free(&frag);
	log_nft(b, "the pod's elements");
	return r < 0 ? nft_err(b, r, "add the pod's policy elements") : 0;
}

/* The slow path: the whole ruleset from everything in the store, replacing the table */
static int program_slow(struct np_call *b, const char *why)
{
	struct pol_ruleset rs = {0};
	int r;

	log_info("policy ruleset rendered from the store: %s", why);
	if ((r = feed_list(b, POL_KEY_NAMESPACES)) < 0 || (r = feed_list(b, POL_KEY_PODS)) < 0 ||
	    (r = feed_list(b, POL_KEY_ENDPOINTS)) < 0)
		return r;
	r = pol_render(b->m, &rs, &b->ctx->err);
	if (r >= 0) {
		nft_batch_begin(&b->nft);
		r = pnft_replace(&b->nft, &rs, &b->c.opts);
		if (r >= 0)
			r = nft_batch_commit(&b->nft);
		log_nft(b, "the policy table");
		if (r < 0)
			r = nft_err(b, r, "replace table inet " POL_TABLE);
	}
	pol_ruleset_free(&rs);
	return r;
}

static int program(struct np_call *b, bool *committed)
{
	char ks[POL_STAMP_MAX], ms[POL_STAMP_MAX];
	int r;

	if ((r = kernel_stamp(b, ks)) < 0)
		return r;
	pol_model_stamp(b->m, ms);
	if (r == 0)
		r = program_slow(b, "no table yet");
	else if (strcmp(ks, ms))
		r = program_slow(b, "the table's policies are not the store's");
	else
		r = program_fast(b);
	if (r >= 0)
		*committed = true;
	return r;
}

static bool ip_in(const struct ip_addr *ip, const struct ip_addr *ips, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ip_eq(ip, &ips[i]))
			return true;
	return false;
}

/* True when an address of recs[i] is also one of a record that stays */
static bool held_elsewhere(const struct np_rec *recs, size_t n, size_t i)
{
	const struct pol_endpoint *ep = &recs[i].ep;

	for (size_t j = 0; j < n; j++) {
		if (j == i || recs[j].gone || !recs[j].parsed)
			continue;
		for (size_t a = 0; a < ep->nips; a++)
			if (ip_in(&ep->ips[a], recs[j].ep.ips, recs[j].ep.nips))
				return true;
	}
	return false;
}

/* Takes the elements of recs' gone endpoints out of the table (one batch): their fragments
 * when the table holds the model's policies, and their addresses from every set (what they
 * may have left under labels they no longer have), but never an address another record of
 * this node still holds (a stale record's address given to a new pod). */
static int retire(struct np_call *b, struct np_rec *recs, size_t n)
{
	char ks[POL_STAMP_MAX], ms[POL_STAMP_MAX];
	struct pol_ruleset frag;
	bool fresh, any = false;
	int r;

	if ((r = kernel_stamp(b, ks)) <= 0)
		return r;
	pol_model_stamp(b->m, ms);
	fresh = !strcmp(ks, ms);
	nft_batch_begin(&b->nft);
	for (size_t i = 0; i < n; i++) {
		const struct pol_endpoint *ep = &recs[i].ep;

		if (!recs[i].gone || !recs[i].parsed)
			continue;
		if (held_elsewhere(recs, n, i)) {
			log_warn("%s: an address of it belongs to another endpoint now: its "
				 "elements stay",
				 recs[i].rel);
			continue;
		}
		any = true;
		memset(&frag, 0, sizeof(frag));
		if (fresh && (r = pol_render_endpoint(b->m, recs[i].rel, &frag, &b->ctx->err)) == 0)
			r = pnft_frag_del(&b->nft, &frag);
		pol_ruleset_free(&frag);
		if (r == -ENOENT)
			r = 0;
		for (size_t a = 0; r >= 0 && a < ep->nips; a++)
			r = pnft_scrub_ip(&b->nft, &ep->ips[a]);
		if (r < 0)
			return nft_err(b, r, "remove the pod's policy elements");
	}
	if (any && (r = nft_batch_commit(&b->nft)) < 0)
		return nft_err(b, r, "remove the pod's policy elements");
	log_nft(b, "retired endpoints");
	return 0;
}

/* Every set element of ips out of the table, when it exists (one batch, under the lock
 * when the caller holds it): what remains when no record says which elements are there */
static int scrub_ips(struct np_call *b, const struct ip_addr *ips, size_t n)
{
	char ks[POL_STAMP_MAX];
	int r;

	if (!n || (r = kernel_stamp(b, ks)) <= 0)
		return n ? r : 0;
	nft_batch_begin(&b->nft);
	for (size_t i = 0; i < n; i++)
		if ((r = pnft_scrub_ip(&b->nft, &ips[i])) < 0)
			return nft_err(b, r, "remove the pod's addresses from the policy sets");
	if ((r = nft_batch_commit(&b->nft)) < 0)
		return nft_err(b, r, "remove the pod's addresses from the policy sets");
	log_nft(b, "the pod's addresses");
	return 0;
}

/* ADD's undo: its elements out (by the agent when it added them, which wants the record
 * gone first: put back when it cannot), then its record. The record stays when the
 * elements may remain, for the runtime's DEL to find. Failures logged, the cause kept. */
static void undo(struct np_call *b, bool committed, bool recorded, const char *json)
{
	struct np_rec rec = {.rel = b->rel, .ep = b->ep, .parsed = true, .gone = true};
	struct err keep = b->ctx->err;
	bool out = !committed;

	if (committed && recorded && !b->m &&
	    store_delete(b->st, b->key, STORE_ANY, NULL, &b->ctx->err) >= 0) {
		out = ask_agent(b, "del", b->rel, NULL, NULL) == 0;
		if (!out)
			(void)store_put(b->st, b->key, json, strlen(json), NULL, NULL, NULL,
					&b->ctx->err);
	}
	if (!out && !b->m && (b->lock >= 0 || lock(b) == 0) && new_model(b) == 0)
		(void)feed_endpoint(b, &b->ep, b->rel, json, strlen(json));
	if (!out && b->m)
		out = retire(b, &rec, 1) == 0;
	/* no lock, no model, no batch of ours: the pod's addresses out of every set all the same */
	if (!out)
		out = scrub_ips(b, b->ep.ips, b->ep.nips) == 0;
	if (out && recorded && store_delete(b->st, b->key, STORE_ANY, NULL, &b->ctx->err) >= 0)
		log_info("undo: removed the endpoint record %s", b->rel);
	b->ctx->err = keep;
}

/* Our own path: under the lock, the policies of the store compiled, the table programmed */
static int add_locally(struct np_call *b, const char *json, bool *committed)
{
	int r;

	if ((r = lock(b)) < 0 || (r = cni_fault(b->ctx, "local")) < 0 || (r = new_model(b)) < 0 ||
	    (r = feed_endpoint(b, &b->ep, b->rel, json, strlen(json))) < 0)
		return r;
	return program(b, committed);
}

static int np_add(struct cni_ctx *ctx)
{
	bool recorded = false, committed = false;
	struct np_call b;
	char *json = NULL;
	int r;

	call_init(&b, ctx);
	/* every refusal first: until the record is written, there is nothing to undo */
	if ((r = load_chained(&b)) < 0 || (r = br_netfilter(&b, CNI_ERR_KERNEL, BR_SET)) < 0 ||
	    (r = open_store(&b)) < 0 || (r = put_record(&b, &json)) < 0)
		goto out;
	recorded = true;
	if ((r = cni_fault(ctx, "record")) < 0)
		goto undo;
	/* sluiced, when it runs, with the model it holds compiled (it commits before it
	 * answers); else, or when it cannot, ours */
	r = ask_agent(&b, "add", b.rel, json, NULL);
	/* an answer "ok" with a stamp not the table's (-ESTALE), or none in time (-ETIMEDOUT):
	 * the agent may well have committed, and the undo must take its elements out */
	committed = r == 0 || r == -ESTALE || r == -ETIMEDOUT;
	if (r < 0 && (r = add_locally(&b, json, &committed)) < 0)
		goto undo;
	if ((r = cni_fault(ctx, "commit")) < 0 || (r = cni_result_print(ctx, &b.prev)) < 0)
		goto undo;
	goto out;
undo:
	undo(&b, committed, recorded, json);
out:
	free(json);
	call_done(&b);
	return r;
}

/* --- DEL and GC ------------------------------------------------------------------------ */

/* Every record of this node, parsed */
static int load_records(struct np_call *b)
{
	char key[STORE_KEY_MAX + NP_PREFIX_MAX];
	size_t skip = strlen(b->c.prefix) + 1;
	struct store_list l = {0};
	struct err e;
	int r;

	snprintf(key, sizeof(key), "%s/%s%s/", b->c.prefix, POL_KEY_ENDPOINTS, b->c.node);
	r = store_list_all(b->st, key, 0, &l, &b->ctx->err);
	if (r > 0 && !(b->recs = calloc(l.n, sizeof(*b->recs))))
		r = -ENOMEM;
	for (size_t i = 0; r > 0 && i < l.n; i++) {
		struct np_rec *x = &b->recs[b->nrecs++];

		x->rel = strdup(l.kvs[i].key + skip);
		x->value = l.kvs[i].value;
		x->len = l.kvs[i].value_len;
		l.kvs[i].value = NULL;
		if (!x->rel)
			r = -ENOMEM;
		memset(&e, 0, sizeof(e));
		x->parsed = x->rel && pol_endpoint_parse(x->value, x->len, &x->ep, &e) == 0;
		if (x->rel && !x->parsed)
			log_warn("%s: not an endpoint record (%s): left alone", x->rel, e.msg);
	}
	store_list_free(&l);
	return r < 0 ? r : 0;
}

/* The conntrack entries from or to a retired pod's addresses: the base chains accept
 * established flows first, so they would carry on to a pod given the address later, past
 * its policy. Logged, never an error of the call. */
static void flush_ct(const struct pol_endpoint *ep)
{
	struct ct_filter f[NP_IPS_MAX];
	char err[256] = "";
	int r;

	for (size_t i = 0; i < ep->nips; i++)
		f[i] = (struct ct_filter){
			.family = ep->ips[i].family, .dst = ep->ips[i], .addr = true};
	r = ep->nips ? ct_delete_by_dump(f, ep->nips, err, sizeof(err)) : 0;
	if (r < 0)
		log_warn("flush the conntrack entries of the pod's addresses: %s%s%s", strerror(-r),
			 *err ? ": " : "", err);
	else if (r > 0)
		log_info("flushed %d conntrack entries of the pod's addresses", r);
}

/* DEL's treatment of every record marked gone: elements out, then the records */
static int retire_marked(struct np_call *b)
{
	char key[STORE_KEY_MAX + NP_PREFIX_MAX];
	size_t n = 0;
	int r;

	for (size_t i = 0; i < b->nrecs; i++)
		n += b->recs[i].gone && b->recs[i].parsed;
	if (!n)
		return 0;
	if ((r = new_model(b)) < 0)
		return r;
	for (size_t i = 0; i < b->nrecs; i++)
		if (b->recs[i].gone && b->recs[i].parsed &&
		    (r = feed_endpoint(b, &b->recs[i].ep, b->recs[i].rel, b->recs[i].value,
				       b->recs[i].len)) < 0)
			return r;
	if ((r = retire(b, b->recs, b->nrecs)) < 0)
		return r;
	for (size_t i = 0; i < b->nrecs; i++)
		if (b->recs[i].gone && b->recs[i].parsed && !held_elsewhere(b->recs, b->nrecs, i))
			flush_ct(&b->recs[i].ep);
	for (size_t i = 0; i < b->nrecs; i++) {
		if (!b->recs[i].gone || !b->recs[i].parsed)
			continue;
		snprintf(key, sizeof(key), "%s/%s", b->c.prefix, b->recs[i].rel);
		if ((r = store_delete(b->st, key, STORE_ANY, NULL, &b->ctx->err)) < 0)
			return r;
		log_info("removed the endpoint record %s", b->recs[i].rel);
	}
	return 0;
}

/* The store, locked, when it holds something to look at: 1, 0 (no store: nothing was ever
 * recorded), or -errno */
static int open_locked(struct np_call *b)
{
	int r = store_exists(b);

	if (r <= 0)
		return r;
	if ((r = open_store(b)) < 0 || (r = lock(b)) < 0)
		return r;
	return 1;
}

/* DEL through sluiced: the record deleted, then the agent takes the elements out with its
 * model. 0 done (or nothing recorded), 1 to do it ourselves (by the records read: one
 * already deleted is deleted again, a no-op), or -errno. An address another record of this
 * node holds too is left to our own path, which keeps its elements. */
static int del_by_agent(struct np_call *b)
{
	char ks[POL_STAMP_MAX];
	struct np_rec *x = NULL;
	struct nft nft = {0};
	int r;

	for (size_t i = 0; i < b->nrecs; i++) {
		if (!b->recs[i].gone || !b->recs[i].parsed)
			continue;
		if (held_elsewhere(b->recs, b->nrecs, i))
			return 1;
		x = &b->recs[i];
	}
	if (!x)
		return 0;
	/* the stamp first, the socket closed before the agent deletes anything (ask_agent) */
	if (nft_open(&nft, -1) < 0 || pnft_read_stamp(&nft, ks) <= 0) {
		nft_close(&nft);
		return 1; /* no table: our own path (only the record goes) */
	}
	nft_close(&nft);
	if ((r = store_delete(b->st, b->key, STORE_ANY, NULL, &b->ctx->err)) < 0)
		return r;
	if (ask_agent(b, "del", x->rel, NULL, ks) < 0) {
		/* the record back before our own path: should that fail too, the runtime's
		 * retried DEL must still find what to take out (GC walks records only) */
		if ((r = store_put(b->st, b->key, x->value, x->len, NULL, NULL, NULL,
				   &b->ctx->err)) < 0)
			return r;
		return 1;
	}
	flush_ct(&x->ep);
	log_info("removed the endpoint record %s", x->rel);
	return 0;
}

/* DEL of an attachment with no record: prevResult's addresses out of every set, unless a
 * record of this node holds them (insurance against a record lost before its elements:
 * nothing else would ever take them out, and a pod given the address later would inherit
 * them). Failures are logged only: there may well be nothing to do. */
static int del_unrecorded(struct np_call *b)
{
	struct ip_addr ips[NP_IPS_MAX];
	char err[256];
	size_t n = 0;

	/* the records read again under the lock: a pod given one of these addresses since has
	 * its record written before any element of it is committed */
	if (!b->ctx->prev || cni_result_parse(b->ctx->prev, &b->prev, err, sizeof(err)) < 0 ||
	    load_addrs(b) < 0 || lock(b) < 0)
		goto warn;
	free_recs(b);
	if (load_records(b) < 0)
		goto warn;
	for (size_t i = 0; i < b->ep.nips; i++) {
		bool held = false;

		for (size_t j = 0; j < b->nrecs; j++)
			held |= b->recs[j].parsed &&
				ip_in(&b->ep.ips[i], b->recs[j].ep.ips, b->recs[j].ep.nips);
		if (!held)
			ips[n++] = b->ep.ips[i];
	}
	if (scrub_ips(b, ips, n) == 0)
		goto out;
warn:
	if (b->ctx->err.msg[0])
		log_warn("no endpoint record; prevResult's addresses: %s", b->ctx->err.msg);
out:
	memset(&b->ctx->err, 0, sizeof(b->ctx->err));
	return 0;
}

/* DEL needs neither netns nor prevResult: it goes by the record. A config ADD would refuse
 * recorded nothing, so DEL under one has nothing to do (and libcni stops a chain's DEL at
 * its first error: the bridge's DEL would never run). */
static int np_del(struct cni_ctx *ctx)
{
	bool found = false;
	struct np_call b;
	int r;

	call_init(&b, ctx);
	if (load_conf(ctx, &b.c) < 0) {
		log_warn("nothing was recorded under this config: %s", ctx->err.msg);
		memset(&ctx->err, 0, sizeof(ctx->err));
		r = 0;
		goto out;
	}
	set_keys(&b);
	if ((r = store_exists(&b)) <= 0 || (r = open_store(&b)) < 0 || (r = load_records(&b)) < 0)
		goto out;
	for (size_t i = 0; i < b.nrecs; i++)
		found |= b.recs[i].gone = !strcmp(b.recs[i].rel, b.rel);
	if (!found) {
		r = del_unrecorded(&b);
		goto out;
	}
	if ((r = del_by_agent(&b)) <= 0 || (r = lock(&b)) < 0)
		goto out;
	r = retire_marked(&b);
out:
	call_done(&b);
	return r < 0 ? r : 0;
}

/* Every record of this node whose attachment is not in cni.dev/valid-attachments */
static int np_gc(struct cni_ctx *ctx)
{
	struct np_call b;
	int r;

	call_init(&b, ctx);
	if ((r = load_conf(ctx, &b.c)) < 0 || (r = open_locked(&b)) <= 0 ||
	    (r = load_records(&b)) < 0)
		goto out;
	for (size_t i = 0; i < b.nrecs; i++)
		b.recs[i].gone = b.recs[i].parsed &&
				 !cni_attachment_valid(ctx, b.recs[i].ep.cid, b.recs[i].ep.ifname);
	r = retire_marked(&b);
out:
	call_done(&b);
	return r < 0 ? r : 0;
}

/* --- CHECK, STATUS --------------------------------------------------------------------- */

/* The record exists and holds prevResult's addresses */
static int check_record(struct np_call *b, struct store_kv *kv)
{
	struct pol_endpoint rec = {0};
	char a[IP_STRLEN];
	int r;

	r = store_exists(b);
	if (r > 0 && (r = open_store(b)) == 0)
		r = store_get(b->st, b->key, kv, NULL, &b->ctx->err);
	if (r < 0)
		return r;
	if (r == 0)
		return cni_fail(b->ctx, CNI_ERR_CHECK, -ENOENT, "endpoint record %s is missing",
				b->key);
	if ((r = pol_endpoint_parse(kv->value, kv->value_len, &rec, &b->ctx->err)) < 0) {
		b->ctx->err.code = CNI_ERR_CHECK;
		return r;
	}
	for (size_t i = 0; r == 0 && i < b->ep.nips; i++)
		if (!ip_in(&b->ep.ips[i], rec.ips, rec.nips))
			r = cni_fail(b->ctx, CNI_ERR_CHECK, -ENOENT,
				     "endpoint record %s lacks the pod address %s", b->key,
				     ip_fmt(&b->ep.ips[i], a));
	for (size_t i = 0; r == 0 && i < rec.nips; i++)
		if (!ip_in(&rec.ips[i], b->ep.ips, b->ep.nips))
			r = cni_fail(b->ctx, CNI_ERR_CHECK, -EINVAL,
				     "endpoint record %s holds %s, not an address of the pod",
				     b->key, ip_fmt(&rec.ips[i], a));
	pol_endpoint_done(&rec);
	return r;
}

/* The pod's fragment, as the store's policies render it, is in the kernel */
static int check_elems(struct np_call *b, const struct store_kv *kv)
{
	char ks[POL_STAMP_MAX], ms[POL_STAMP_MAX];
	struct pol_ruleset frag = {0};
	struct pol_endpoint rec = {0};
	int r;

	if ((r = pol_endpoint_parse(kv->value, kv->value_len, &rec, &b->ctx->err)) < 0 ||
	    (r = new_model(b)) < 0 ||
	    (r = feed_endpoint(b, &rec, b->rel, kv->value, kv->value_len)) < 0 ||
	    (r = kernel_stamp(b, ks)) < 0)
		goto out;
	pol_model_stamp(b->m, ms);
	if (r == 0) {
		r = cni_fail(b->ctx, CNI_ERR_CHECK, -ENOENT, "table inet %s is missing", POL_TABLE);
		goto out;
	}
	if (strcmp(ks, ms)) {
		r = cni_fail(b->ctx, CNI_ERR_CHECK, -ESTALE,
			     "table inet %s holds other policies than the store's (stamp %s, the "
			     "store's %s)",
			     POL_TABLE, ks, ms);
		goto out;
	}
	if ((r = pol_render_endpoint(b->m, b->rel, &frag, &b->ctx->err)) < 0)
		goto out;
	r = pnft_frag_check(&b->nft, &frag, &b->ctx->err);
	if (r == -ENOENT)
		b->ctx->err.code = CNI_ERR_CHECK;
	else if (r < 0)
		r = nft_err(b, r, "read the pod's policy elements");
out:
	pol_ruleset_free(&frag);
	pol_endpoint_done(&rec);
	return r;
}

static int np_check(struct cni_ctx *ctx)
{
	struct store_kv kv = {0};
	struct np_call b;
	int r;

	call_init(&b, ctx);
	if ((r = load_chained(&b)) == 0 && (r = check_record(&b, &kv)) == 0 &&
	    (r = br_netfilter(&b, CNI_ERR_CHECK, BR_ON)) == 0)
		r = check_elems(&b, &kv);
	store_kv_free(&kv);
	call_done(&b);
	return r < 0 ? r : 0;
}

/* Ready when the table can be programmed (br_netfilter, nftables) and the store opened;
 * any other answer is 50, with the reason. */
static int np_status(struct cni_ctx *ctx)
{
	char ks[POL_STAMP_MAX];
	struct np_call b;
	int r;

	call_init(&b, ctx);
	if ((r = load_conf(ctx, &b.c)) < 0)
		goto out;
	if ((r = br_netfilter(&b, CNI_ERR_UNAVAILABLE, BR_LOADED)) < 0 ||
	    (r = open_store(&b)) < 0 || (r = kernel_stamp(&b, ks)) < 0)
		ctx->err.code = CNI_ERR_UNAVAILABLE;
out:
	call_done(&b);
	return r < 0 ? r : 0;
}

static const struct cni_plugin policy_plugin = {
	.name = "nft-policy",
	.about = "sluice-nft-policy: Kubernetes NetworkPolicy in nftables, in force before ADD "
		 "returns",
	.add = np_add,
	.del = np_del,
	.check = np_check,
	.gc = np_gc,
	.status = np_status,
};

int main(int argc, char **argv)
{
	return cni_main(&policy_plugin, argc, argv);
}
