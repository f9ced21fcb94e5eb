// SPDX-License-Identifier: Apache-2.0
/* sluice-host-local: IPAM from ranges, on disk exactly as upstream host-local keeps it, so
 * the two can allocate from one dataDir at the same time. Adds GC and STATUS. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "base/log.h"
#include "cni/cni.h"
#include "cni/conf.h"
#include "cni/result.h"
#include "ipam/pool.h"
#include "ipam/range.h"

struct hl_conf {
	const char *data_dir;
	const char *resolv_conf;
	struct rangeset sets[RANGE_MAX];
	size_t n_sets;
	struct ip_addr req[RANGE_MAX];
	bool req_used[RANGE_MAX];
	size_t n_req;
	struct cni_result extra; /* routes (and dns) copied into the result */
	struct ip_addr got[RANGE_MAX]; /* what ADD reserved in each set */
};

static void parse_range(struct conf *c, const cJSON *o, struct range *r, const char *what)
{
	if (!cJSON_IsObject(o)) {
		conf_error(c, CNI_ERR_CONFIG, "%s: ranges must be objects", what);
		return;
	}
	if (!conf_prefix(c, o, "subnet", &r->subnet) && !c->n)
		conf_error(c, CNI_ERR_CONFIG, "%s: subnet is required", what);
	conf_ip(c, o, "rangeStart", &r->start);
	conf_ip(c, o, "rangeEnd", &r->end);
	conf_ip(c, o, "gateway", &r->gw);
}

static void add_set(struct conf *c, struct hl_conf *hc, const cJSON *set, const char *what)
{
	struct rangeset *s;
	const cJSON *e;

	if (hc->n_sets == RANGE_MAX) {
		conf_error(c, CNI_ERR_CONFIG, "more than %d range sets", RANGE_MAX);
		return;
	}
	s = &hc->sets[hc->n_sets++];
	if (cJSON_IsObject(set)) { /* the legacy single range */
		parse_range(c, set, &s->r[s->n++], what);
		return;
	}
	if (!cJSON_IsArray(set)) {
		conf_error(c, CNI_ERR_CONFIG, "%s: each range set must be a list", what);
		return;
	}
	cJSON_ArrayForEach(e, set) {
		if (s->n == RANGE_MAX) {
			conf_error(c, CNI_ERR_CONFIG, "%s: more than %d ranges in a set", what,
				   RANGE_MAX);
			return;
		}
		parse_range(c, e, &s->r[s->n++], what);
	}
}

static void add_req(struct conf *c, struct hl_conf *hc, const char *s, const char *what)
{
	struct ip_prefix p;
	size_t i;

	if (!s || ip_or_prefix_parse(s, &p) < 0) {
		conf_error(c, CNI_ERR_CONFIG, "%s: cannot understand ip \"%.60s\"", what,
			   s ? s : "(not a string)");
		return;
	}
	for (i = 0; i < hc->n_req && !ip_eq(&hc->req[i], &p.ip); i++)
		;
	if (i < hc->n_req)
		return;
	if (hc->n_req == RANGE_MAX)
		conf_error(c, CNI_ERR_CONFIG, "more than %d requested IPs", RANGE_MAX);
	else
		hc->req[hc->n_req++] = p.ip;
}

/* A capability or args list: of another type it is refused, not read as missing. */
/* The list v, or NULL. A v that is no list is refused, but for DEL and GC, which release by
 * container ID and never use the requested addresses or ranges of these lists: libcni stops
 * a chain's DEL at its first error, and the reservation would leak. */
static const cJSON *list_of(struct conf *c, const cJSON *v, const char *what)
{
	if (v && !cJSON_IsArray(v)) {
		if (c->ctx->cmd == CNI_CMD_DEL || c->ctx->cmd == CNI_CMD_GC)
			log_warn("host-local: ignoring %s, not a list", what);
		else
			conf_error(c, CNI_ERR_CONFIG, "%s: must be a list", what);
		return NULL;
	}
	return v;
}

static void parse_requests(struct conf *c, struct hl_conf *hc)
{
	const cJSON *list, *e;
	const char *ip = cni_arg(c->ctx, "IP");

	if (ip)
		add_req(c, hc, ip, "CNI_ARGS IP");
	list = list_of(c, cni_args_cni(c->ctx, "ips"), "args.cni.ips");
	cJSON_ArrayForEach(e, list)
		add_req(c, hc, cJSON_GetStringValue(e), "args.cni.ips");
	list = list_of(c, cni_runtime(c->ctx, "ips"), "runtimeConfig.ips");
	cJSON_ArrayForEach(e, list)
		add_req(c, hc, cJSON_GetStringValue(e), "runtimeConfig.ips");
}

static void parse_routes(struct conf *c, struct hl_conf *hc, const cJSON *ipam)
{
	const cJSON *routes = conf_array(c, ipam, "routes"), *e;
	struct cni_route rt;
	char err[128];

	cJSON_ArrayForEach(e, routes) {
		if (cni_route_parse(e, &rt, err, sizeof(err)) < 0)
			conf_error(c, CNI_ERR_CONFIG, "ipam.%s", err);
		else if (cni_result_add_route(&hc->extra, &rt) < 0)
			conf_error(c, CNI_ERR_CONFIG, "ipam.routes: too many routes");
	}
}

static void check_sets(struct conf *c, struct hl_conf *hc)
{
	char err[256];

	if (!hc->n_sets) {
		conf_error(c, CNI_ERR_CONFIG, "no IP ranges specified");
		return;
	}
	for (size_t i = 0; i < hc->n_sets; i++)
		if (rangeset_canonicalize(&hc->sets[i], err, sizeof(err)) < 0) {
			conf_error(c, CNI_ERR_CONFIG, "invalid range set %zu: %s", i, err);
			return;
		}
	for (size_t i = 0; i < hc->n_sets; i++)
		for (size_t j = i + 1; j < hc->n_sets; j++)
			if (rangeset_overlaps(&hc->sets[i], &hc->sets[j]))
				conf_error(c, CNI_ERR_CONFIG, "range set %zu overlaps with %zu", i,
					   j);
}

/* Order as upstream: runtimeConfig.ipRanges, then the legacy top-level range, then ranges. */
static int load_conf(struct cni_ctx *ctx, struct hl_conf *hc)
{
	const cJSON *ipam, *list, *e;
	struct conf c;

	conf_init(&c, ctx);
	ipam = conf_obj(&c, ctx->conf, "ipam");
	if (!ipam && !c.n)
		conf_error(&c, CNI_ERR_CONFIG, "IPAM config missing 'ipam' key");
	hc->data_dir = conf_str(&c, ipam, "dataDir", NULL);
	hc->resolv_conf = conf_str(&c, ipam, "resolvConf", NULL);
	list = list_of(&c, cni_runtime(ctx, "ipRanges"), "runtimeConfig.ipRanges");
	cJSON_ArrayForEach(e, list)
		add_set(&c, hc, e, "runtimeConfig.ipRanges");
	if (cJSON_GetObjectItemCaseSensitive(ipam, "subnet"))
		add_set(&c, hc, ipam, "ipam");
	list = conf_array(&c, ipam, "ranges");
	cJSON_ArrayForEach(e, list)
		add_set(&c, hc, e, "ipam.ranges");
	parse_routes(&c, hc, ipam);
	parse_requests(&c, hc);
	if (!c.n)
		check_sets(&c, hc);
	return conf_done(&c);
}

/* A resolv.conf is a few hundred bytes (glibc uses 3 nameservers and 6 search domains). */
#define RESOLV_MAX (64 * 1024)

/* The whole of resolvConf into *ret (malloc'ed, NUL-terminated). Only a regular file is
 * opened: /dev/zero never ends, a FIFO blocks its open, a directory has nothing to read. It
 * is looked at through an O_PATH fd first, which opens nothing, then reopened by that fd. */
static int slurp_resolv(struct cni_ctx *ctx, const char *path, char **ret)
{
	int pfd = open(path, O_PATH | O_CLOEXEC), fd = -1, r = 0;
	char self[32], *buf = NULL;
	struct stat st;
	size_t n = 0;
	ssize_t rd;

	if (pfd < 0 || fstat(pfd, &st) < 0) {
		r = -errno;
	} else if (!S_ISREG(st.st_mode)) {
		close(pfd);
		return cni_fail(ctx, CNI_ERR_CONFIG, -EINVAL,
				"ipam.resolvConf: %s is not a regular file", path);
	} else {
		snprintf(self, sizeof(self), "/proc/self/fd/%d", pfd);
		fd = open(self, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
		r = fd < 0 ? -errno : (buf = malloc(RESOLV_MAX + 1)) ? 0 : -ENOMEM;
	}
	/* st_size is no bound: a file can grow, and /proc files show 0 */
	while (r == 0 && n <= RESOLV_MAX && (rd = read(fd, buf + n, RESOLV_MAX + 1 - n)) != 0) {
		if (rd > 0)
			n += (size_t)rd;
		else if (errno != EINTR)
			r = -errno;
	}
	if (pfd >= 0)
		close(pfd);
	if (fd >= 0)
		close(fd);
	if (r == 0 && n > RESOLV_MAX)
		r = cni_fail(ctx, CNI_ERR_CONFIG, -EFBIG,
			     "ipam.resolvConf: %s is larger than %d bytes", path, RESOLV_MAX);
	else if (r < 0)
		r = cni_fail(ctx, CNI_ERR_IO, r, "resolvConf %s: %s", path, strerror(-r));
	if (r < 0) {
		free(buf);
		return r;
	}
	buf[n] = '\0';
	*ret = buf;
	return 0;
}

/* resolv.conf into the result's dns, as upstream's parseResolvConf reads it. */
static int read_resolv(struct cni_ctx *ctx, const char *path, cJSON **ret)
{
	cJSON *dns, *ns, *se, *op;
	char *text = NULL, *line, *next, *save, *w, *key;
	int r = slurp_resolv(ctx, path, &text);

	if (r < 0)
		return r;
	dns = cJSON_CreateObject(), ns = cJSON_CreateArray(), se = cJSON_CreateArray(),
	op = cJSON_CreateArray();
	for (line = text; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		key = strtok_r(line, " \t\r", &save);
		if (!key || key[0] == '#' || key[0] == ';' || !(w = strtok_r(NULL, " \t\r", &save)))
			continue;
		if (!strcmp(key, "nameserver")) {
			cJSON_AddItemToArray(ns, cJSON_CreateString(w));
		} else if (!strcmp(key, "domain")) {
			cJSON_DeleteItemFromObject(dns, "domain");
			cJSON_AddStringToObject(dns, "domain", w);
		} else if (!strcmp(key, "search") || !strcmp(key, "options")) {
			for (; w; w = strtok_r(NULL, " \t\r", &save))
				cJSON_AddItemToArray(key[0] == 's' ? se : op,
						     cJSON_CreateString(w));
		}
	}
	free(text);
	cJSON_AddItemToObject(dns, "nameservers", ns);
	cJSON_AddItemToObject(dns, "search", se);
	cJSON_AddItemToObject(dns, "options", op);
	*ret = dns;
	return 0;
}

struct owner_match {
	const char *id, *ifname;
	const struct rangeset *set; /* NULL: any */
	const struct ip_addr *ip; /* NULL: any */
	struct ip_addr found;
	int count;
};

/* Matches (id, ifname), and id alone for files written before ifname was recorded. */
static int owner_cb(const struct ip_addr *ip, const char *id, const char *ifname, void *data)
{
	struct owner_match *m = data;

	if (strcmp(id, m->id) || (ifname && strcmp(ifname, m->ifname)))
		return 0;
	if ((m->set && rangeset_find(m->set, ip) < 0) || (m->ip && !ip_eq(m->ip, ip)))
		return 0;
	m->found = *ip;
	m->count++;
	return 0;
}

static int alloc_one(struct cni_ctx *ctx, struct pool *st, struct hl_conf *hc, size_t set,
		     struct ip_addr *ret)
{
	const struct rangeset *s = &hc->sets[set];
	struct owner_match m = {.id = ctx->containerid, .ifname = ctx->ifname, .set = s};
	char buf[IP_STRLEN], rs[1024];
	struct range_iter it;
	struct ip_addr ip, last;
	size_t ri;
	int r;

	rangeset_fmt(s, rs, sizeof(rs));
	for (size_t i = 0; i < hc->n_req; i++) {
		int k = rangeset_find(s, &hc->req[i]);

		if (hc->req_used[i] || k < 0)
			continue;
		hc->req_used[i] = true;
		if (ip_eq(&hc->req[i], &s->r[k].gw))
			return cni_fail(
				ctx, CNI_ERR_NO_ADDRESS, -EADDRINUSE,
				"failed to allocate for range %zu: requested ip %s is subnet's gateway",
				set, ip_fmt(&hc->req[i], buf));
		r = pool_reserve(st, ctx->containerid, ctx->ifname, &hc->req[i]);
		if (r == 0)
			return cni_fail(
				ctx, CNI_ERR_NO_ADDRESS, -EADDRINUSE,
				"failed to allocate for range %zu: requested IP address %s is not available in range set %s",
				set, ip_fmt(&hc->req[i], buf), rs);
		if (r < 0)
			return cni_fail(ctx, CNI_ERR_IO, r, "reserve %s: %s",
					ip_fmt(&hc->req[i], buf), strerror(-r));
		*ret = hc->req[i];
		return 0;
	}
	/* the spec forbids two ADDs for one attachment; upstream refuses the same way */
	r = pool_walk(st, owner_cb, &m);
	if (r < 0)
		return cni_fail(ctx, CNI_ERR_IO, r, "read store: %s", strerror(-r));
	if (m.count)
		return cni_fail(
			ctx, CNI_ERR_NO_ADDRESS, -EEXIST,
			"failed to allocate for range %zu: %s has been allocated to %s, duplicate allocation is not allowed",
			set, ip_fmt(&m.found, buf), ctx->containerid);
	range_iter_init(&it, s, pool_last_reserved(st, (unsigned)set, &last) == 0 ? &last : NULL);
	while (range_iter_next(&it, &ip, &ri)) {
		r = pool_reserve(st, ctx->containerid, ctx->ifname, &ip);
		if (r < 0)
			return cni_fail(ctx, CNI_ERR_IO, r, "reserve %s: %s", ip_fmt(&ip, buf),
					strerror(-r));
		if (r == 1) {
			*ret = ip;
			return 0;
		}
	}
	return cni_fail(
		ctx, CNI_ERR_NO_ADDRESS, -ENOSPC,
		"failed to allocate for range %zu: no IP addresses available in range set: %s", set,
		rs);
}

static int allocate(struct cni_ctx *ctx, struct pool *st, struct hl_conf *hc,
		    struct cni_result *res)
{
	char buf[IP_STRLEN], list[512] = "";
	struct ip_prefix p;
	size_t i;
	int r = 0;

	for (i = 0; i < hc->n_sets && r >= 0; i++) {
		const struct range *rg;

		r = alloc_one(ctx, st, hc, i, &p.ip);
		if (r < 0)
			break;
		hc->got[i] = p.ip;
		rg = &hc->sets[i].r[rangeset_find(&hc->sets[i], &p.ip)];
		p.len = rg->subnet.len;
		/* not in res yet: the release below would miss it */
		if ((r = cni_result_add_ip(res, &p, &rg->gw, -1)) < 0)
			(void)pool_release_ip(st, &p.ip, ctx->containerid, ctx->ifname);
	}
	for (size_t k = 0; r >= 0 && k < hc->n_req; k++)
		if (!hc->req_used[k])
			snprintf(list + strlen(list), sizeof(list) - strlen(list), " %s",
				 ip_fmt(&hc->req[k], buf));
	if (r >= 0 && list[0])
		r = cni_fail(ctx, CNI_ERR_NO_ADDRESS, -EADDRNOTAVAIL,
			     "failed to allocate all requested IPs:%s", list);
	if (r < 0) /* release exactly what this call reserved */
		for (size_t k = 0; k < res->n_ips; k++)
			(void)pool_release_ip(st, &res->ips[k].address.ip, ctx->containerid,
					       ctx->ifname);
	return r;
}

static void log_reservation(struct cni_ctx *ctx, const struct hl_conf *hc, const char *what,
			    const struct ip_addr *ip)
{
	char buf[IP_STRLEN];

	log_info("%s %s for %s/%s in %s/%s", what, ip_fmt(ip, buf), ctx->containerid, ctx->ifname,
		 hc->data_dir ? hc->data_dir : STORE_DEFAULT_DIR, ctx->name);
}

static int hl_add(struct cni_ctx *ctx)
{
	struct hl_conf *hc = calloc(1, sizeof(*hc));
	struct cni_result res = {0};
	struct pool st = {.dirfd = -1, .lockfd = -1};
	int r;

	if (!hc)
		return -ENOMEM;
	r = load_conf(ctx, hc);
	if (r >= 0 && hc->resolv_conf && *hc->resolv_conf)
		r = read_resolv(ctx, hc->resolv_conf, &res.dns);
	if (r >= 0 && (r = pool_open(hc->data_dir, ctx->name, &st)) < 0)
		r = cni_fail(ctx, CNI_ERR_IO, r, "open dataDir: %s", strerror(-r));
	if (r >= 0 && (r = pool_lock(&st)) < 0)
		r = cni_fail(ctx, CNI_ERR_IO, r, "lock dataDir: %s", strerror(-r));
	if (r >= 0)
		r = allocate(ctx, &st, hc, &res);
	for (size_t i = 0; r >= 0 && i < hc->extra.n_routes; i++)
		r = cni_result_add_route(&res, &hc->extra.routes[i]);
	if (r >= 0 && (r = cni_result_print(ctx, &res)) >= 0)
		fflush(ctx->out);
	for (size_t i = 0; r >= 0 && log_enabled(LOG_LEVEL_INFO) && i < res.n_ips; i++)
		log_reservation(ctx, hc, "reserved", &res.ips[i].address.ip);
	/* After the answer, still under the lock: where each set's next search starts. It is
	 * only a hint, so a failure is logged rather than failing the ADD, and writing it after
	 * the answer takes it off the path of a caller that uses the answer before we exit. */
	for (size_t i = 0; r >= 0 && i < hc->n_sets; i++) {
		int k = pool_set_last_reserved(&st, (unsigned)i, &hc->got[i]);

		if (k < 0)
			log_warn("record last reserved address of range set %zu: %s", i,
				 strerror(-k));
	}
	pool_close(&st);
	cni_result_done(&res);
	cni_result_done(&hc->extra);
	free(hc);
	return r;
}

/* Opens the store of an existing network for DEL, CHECK and GC; -ENOENT means nothing was
 * ever allocated. */
static int open_existing(struct cni_ctx *ctx, struct hl_conf *hc, struct pool *st)
{
	int r = load_conf(ctx, hc);

	if (r < 0)
		return r;
	r = pool_open_existing(hc->data_dir, ctx->name, st);
	if (r < 0 && r != -ENOENT)
		return cni_fail(ctx, CNI_ERR_IO, r, "open dataDir: %s", strerror(-r));
	if (r == 0 && (r = pool_lock(st)) < 0)
		return cni_fail(ctx, CNI_ERR_IO, r, "lock dataDir: %s", strerror(-r));
	return r;
}

static int hl_del(struct cni_ctx *ctx)
{
	struct hl_conf *hc = calloc(1, sizeof(*hc));
	struct pool st = {.dirfd = -1, .lockfd = -1};
	int r;

	if (!hc)
		return -ENOMEM;
	r = open_existing(ctx, hc, &st);
	if (r == 0 && (r = pool_release(&st, ctx->containerid, ctx->ifname)) < 0)
		r = cni_fail(ctx, CNI_ERR_IO, r, "release: %s", strerror(-r));
	if (r > 0)
		log_info("released %d address%s of %s/%s", r, r > 1 ? "es" : "", ctx->containerid,
			 ctx->ifname);
	pool_close(&st);
	cni_result_done(&hc->extra);
	free(hc);
	return r == -ENOENT ? 0 : r;
}

/* Every range set must hold one address of this attachment, and every address of the
 * prevResult that lies in our ranges must be this attachment's. */
static int check_store(struct cni_ctx *ctx, struct hl_conf *hc, struct pool *st)
{
	struct cni_result prev = {0};
	char err[128], buf[IP_STRLEN];
	int r = 0;

	for (size_t i = 0; i < hc->n_sets && r >= 0; i++) {
		struct owner_match m = {
			.id = ctx->containerid, .ifname = ctx->ifname, .set = &hc->sets[i]};

		r = pool_walk(st, owner_cb, &m);
		if (r >= 0 && !m.count)
			r = cni_fail(
				ctx, CNI_ERR_CHECK, -ENOENT,
				"host-local: Failed to find address added by container %s in range set %zu",
				ctx->containerid, i);
	}
	if (r < 0 || !ctx->prev)
		return r;
	if (cni_result_parse(ctx->prev, &prev, err, sizeof(err)) < 0) {
		cni_result_done(&prev);
		return cni_fail(ctx, CNI_ERR_DECODE, -EINVAL, "prevResult: %s", err);
	}
	for (size_t i = 0; r >= 0 && i < prev.n_ips; i++) {
		const struct ip_addr *ip = &prev.ips[i].address.ip;
		struct owner_match m = {.id = ctx->containerid, .ifname = ctx->ifname, .ip = ip};
		bool ours = false;

		for (size_t s = 0; s < hc->n_sets; s++)
			ours |= rangeset_find(&hc->sets[s], ip) >= 0;
		if (!ours)
			continue;
		r = pool_walk(st, owner_cb, &m);
		if (r >= 0 && !m.count)
			r = cni_fail(
				ctx, CNI_ERR_CHECK, -ENOENT,
				"host-local: address %s of prevResult is not reserved for container %s",
				ip_fmt(ip, buf), ctx->containerid);
	}
	cni_result_done(&prev);
	return r;
}

static int hl_check(struct cni_ctx *ctx)
{
	struct hl_conf *hc = calloc(1, sizeof(*hc));
	struct pool st = {.dirfd = -1, .lockfd = -1};
	int r;

	if (!hc)
		return -ENOMEM;
	r = open_existing(ctx, hc, &st);
	if (r == -ENOENT)
		r = cni_fail(ctx, CNI_ERR_CHECK, r,
			     "host-local: Failed to find address added by container %s",
			     ctx->containerid);
	else if (r == 0)
		r = check_store(ctx, hc, &st);
	pool_close(&st);
	cni_result_done(&hc->extra);
	free(hc);
	return r;
}

static int gc_cb(const struct ip_addr *ip, const char *id, const char *ifname, void *data)
{
	char buf[IP_STRLEN];

	if (cni_attachment_valid(data, id, ifname))
		return 0;
	log_info("GC releases %s of %s/%s", ip_fmt(ip, buf), id, ifname ? ifname : "");
	return 1;
}

static int hl_gc(struct cni_ctx *ctx)
{
	struct hl_conf *hc = calloc(1, sizeof(*hc));
	struct pool st = {.dirfd = -1, .lockfd = -1};
	int r;

	if (!hc)
		return -ENOMEM;
	r = open_existing(ctx, hc, &st);
	if (r == 0 && (r = pool_walk(&st, gc_cb, ctx)) < 0)
		r = cni_fail(ctx, CNI_ERR_IO, r, "gc: %s", strerror(-r));
	pool_close(&st);
	cni_result_done(&hc->extra);
	free(hc);
	return r == -ENOENT ? 0 : r;
}

struct usage {
	const struct hl_conf *hc;
	unsigned __int128 used[RANGE_MAX];
};

static int usage_cb(const struct ip_addr *ip, const char *id, const char *ifname, void *data)
{
	struct usage *u = data;

	for (size_t i = 0; i < u->hc->n_sets; i++)
		if (rangeset_find(&u->hc->sets[i], ip) >= 0)
			u->used[i]++;
	return 0;
}

/* Ready for ADD when the dataDir is writable and no range set is full. */
static int hl_status(struct cni_ctx *ctx)
{
	struct hl_conf *hc = calloc(1, sizeof(*hc));
	struct pool st = {.dirfd = -1, .lockfd = -1};
	struct usage *u = calloc(1, sizeof(*u));
	char rs[1024];
	int r;

	if (!hc || !u) {
		free(hc);
		free(u);
		return -ENOMEM;
	}
	r = load_conf(ctx, hc);
	if (r >= 0 && (r = pool_open(hc->data_dir, ctx->name, &st)) < 0)
		r = cni_fail(
			ctx, CNI_ERR_UNAVAILABLE, r, "host-local: dataDir %s/%s is unusable: %s",
			hc->data_dir ? hc->data_dir : STORE_DEFAULT_DIR, ctx->name, strerror(-r));
	if (r >= 0 && faccessat(st.dirfd, ".", W_OK, AT_EACCESS) < 0)
		r = cni_fail(ctx, CNI_ERR_UNAVAILABLE, -errno,
			     "host-local: dataDir is not writable: %s", strerror(errno));
	u->hc = hc;
	if (r >= 0)
		r = pool_walk(&st, usage_cb, u);
	for (size_t i = 0; r >= 0 && i < hc->n_sets; i++)
		if (u->used[i] >= rangeset_size(&hc->sets[i]))
			r = cni_fail(ctx, CNI_ERR_UNAVAILABLE, -ENOSPC,
				     "host-local: no IP addresses available in range set: %s",
				     rangeset_fmt(&hc->sets[i], rs, sizeof(rs)));
	pool_close(&st);
	cni_result_done(&hc->extra);
	free(hc);
	free(u);
	return r;
}

static const struct cni_plugin host_local = {
	.name = "host-local",
	.about = "sluice-host-local: IPAM from address ranges, compatible with host-local's store",
	.add = hl_add,
	.del = hl_del,
	.check = hl_check,
	.gc = hl_gc,
	.status = hl_status,
};

int main(int argc, char **argv)
{
	return cni_main(&host_local, argc, argv);
}
