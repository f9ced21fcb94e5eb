// SPDX-License-Identifier: Apache-2.0
/* sluice-portmap: hostPorts (the portMappings capability) as nftables map elements, hairpin
 * and localhost masquerade, stale UDP conntrack entries flushed on ADD and on DEL. Chained
 * after an interface plugin, whose result it passes on unchanged. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>

#include <cjson/cJSON.h>

#include "base/log.h"
#include "cni/cni.h"
#include "cni/conf.h"
#include "cni/result.h"
#include "netlink/ct.h"
#include "netlink/nl.h"
#include "nft/nft.h"
#include "node/hostport.h"

struct pm_call {
	struct cni_ctx *ctx;
	bool snat, masq_all;
	struct hostport_map *maps;
	struct cni_result prev;
	bool has_prev;
	struct hostport_pod pod;
	struct nft nft;
	struct nl nl;
};

/* Keys of upstream's iptables backend, each with why it has no meaning here. */
static const struct {
	const char *key, *why;
} iptables_only[] = {
	{"markMasqBit", "masquerading is decided by nftables map lookups, without packet marks"},
	{"externalSetMarkChain", "an iptables chain; sluice-portmap uses nftables only"},
	{"conditionsV4", "iptables or nft match arguments; sluice-portmap has no conditions"},
	{"conditionsV6", "iptables or nft match arguments; sluice-portmap has no conditions"},
};

static void parse_unsupported(struct conf *cf, const cJSON *o)
{
	const char *backend = conf_str(cf, o, "backend", "nftables");
	char *v;

	if (strcmp(backend, "nftables"))
		conf_error(
			cf, CNI_ERR_UNSUPPORTED_FIELD,
			"backend: \"%.40s\" is not supported (sluice-portmap uses nftables only)",
			backend);
	for (size_t i = 0; i < sizeof(iptables_only) / sizeof(iptables_only[0]); i++) {
		const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, iptables_only[i].key);

		if (!f || cJSON_IsNull(f) || (cJSON_IsArray(f) && !f->child))
			continue;
		v = cJSON_PrintUnformatted(f);
		conf_error(cf, CNI_ERR_UNSUPPORTED_FIELD, "%s: %.40s is not supported (%s)",
			   iptables_only[i].key, v ? v : "?", iptables_only[i].why);
		free(v);
	}
}

static int port_of(struct conf *cf, const cJSON *e, size_t i, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, key);
	double d = cJSON_IsNumber(v) ? v->valuedouble : -1;

	if (!cJSON_IsNumber(v) || d < 1 || d > 65535 || d != (double)(int)d) {
		conf_error(cf, CNI_ERR_CONFIG, "portMappings[%zu].%s: %s", i, key,
			   v ? "must be an integer in [1, 65535]" : "missing");
		return 0;
	}
	return (int)d;
}

/* An optional string of an entry: of another type it is refused, not read as missing
 * (`protocol: 6` is not tcp, `hostIP: 5` not every address). */
static const char *str_of(struct conf *cf, const cJSON *e, size_t i, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, key);

	if (v && !cJSON_IsNull(v) && !cJSON_IsString(v))
		conf_error(cf, CNI_ERR_CONFIG, "portMappings[%zu].%s: must be a string", i, key);
	return cJSON_GetStringValue(v);
}

/* One runtimeConfig.portMappings entry; false when it is invalid. */
static bool parse_map(struct conf *cf, const cJSON *e, size_t i, struct hostport_map *m)
{
	const char *proto, *hip;
	unsigned int n = cf->n;

	if (!cJSON_IsObject(e)) {
		conf_error(cf, CNI_ERR_CONFIG, "portMappings[%zu]: must be an object", i);
		return false;
	}
	m->host_port = (uint16_t)port_of(cf, e, i, "hostPort");
	m->cont_port = (uint16_t)port_of(cf, e, i, "containerPort");
	proto = str_of(cf, e, i, "protocol");
	/* Kubernetes' default; containerd lowercases the names */
	if (!proto || !*proto || !strcasecmp(proto, "tcp"))
		m->proto = IPPROTO_TCP;
	else if (!strcasecmp(proto, "udp"))
		m->proto = IPPROTO_UDP;
	else if (!strcasecmp(proto, "sctp"))
		m->proto = IPPROTO_SCTP;
	else
		conf_error(cf, CNI_ERR_CONFIG,
			   "portMappings[%zu].protocol: \"%.20s\" is not tcp, udp or sctp", i,
			   proto);
	hip = str_of(cf, e, i, "hostIP");
	if (hip && *hip && ip_parse(hip, &m->host_ip) < 0)
		conf_error(cf, CNI_ERR_CONFIG,
			   "portMappings[%zu].hostIP: invalid IP address \"%.60s\"", i, hip);
	return cf->n == n;
}

/* Two mappings of one host port (and address) to different container ports would make one
 * map key with two values. */
static bool clash(const struct hostport_map *a, const struct hostport_map *b)
{
	if (a->proto != b->proto || a->host_port != b->host_port || a->cont_port == b->cont_port)
		return false;
	if (a->host_ip.family && b->host_ip.family && a->host_ip.family != b->host_ip.family)
		return false;
	if (ip_is_zero(&a->host_ip) || ip_is_zero(&b->host_ip))
		return ip_is_zero(&a->host_ip) == ip_is_zero(&b->host_ip);
	return ip_eq(&a->host_ip, &b->host_ip);
}

static const char *proto_name(uint8_t proto)
{
	return proto == IPPROTO_TCP ? "tcp" : proto == IPPROTO_UDP ? "udp" : "sctp";
}

static int by_port(const void *a, const void *b, void *maps)
{
	const struct hostport_map *m = maps, *x = &m[*(const size_t *)a],
				  *y = &m[*(const size_t *)b];

	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	if (x->host_port != y->host_port)
		return x->host_port < y->host_port ? -1 : 1;
	if (*(const size_t *)a == *(const size_t *)b)
		return 0;
	return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

/* Refuses two entries that clash; sorted by protocol and host port first, so that a port
 * range of thousands of entries costs O(n log n) and not O(n^2). */
static void find_clash(struct conf *cf, const struct hostport_map *m, size_t n)
{
	size_t *ix, a, b;

	if (n < 2)
		return;
	ix = malloc(n * sizeof(*ix));
	if (!ix) {
		conf_error(cf, CNI_ERR_INTERNAL, "out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++)
		ix[i] = i;
	qsort_r(ix, n, sizeof(*ix), by_port, (void *)m);
	for (size_t i = 0; i + 1 < n; i++)
		for (size_t k = i + 1; k < n && m[ix[k]].proto == m[ix[i]].proto &&
				       m[ix[k]].host_port == m[ix[i]].host_port;
		     k++) {
			if (!clash(&m[ix[i]], &m[ix[k]]))
				continue;
			a = ix[i] < ix[k] ? ix[i] : ix[k];
			b = ix[i] < ix[k] ? ix[k] : ix[i];
			conf_error(
				cf, CNI_ERR_CONFIG,
				"portMappings[%zu] and [%zu]: host port %u/%s goes to two container "
				"ports",
				a, b, m[a].host_port, proto_name(m[a].proto));
			free(ix);
			return;
		}
	free(ix);
}

static void parse_maps(struct conf *cf, struct pm_call *p)
{
	const cJSON *list = cni_runtime(cf->ctx, "portMappings"), *e;
	size_t i = 0, n;

	if (list && !cJSON_IsArray(list))
		conf_error(cf, CNI_ERR_CONFIG, "runtimeConfig.portMappings: must be a list");
	n = cJSON_IsArray(list) ? (size_t)cJSON_GetArraySize(list) : 0;
	if (n > HOSTPORT_MAPS_MAX) {
		conf_error(cf, CNI_ERR_CONFIG, "runtimeConfig.portMappings: more than %d entries",
			   HOSTPORT_MAPS_MAX);
		return;
	}
	p->maps = n ? calloc(n, sizeof(*p->maps)) : NULL;
	if (n && !p->maps) {
		conf_error(cf, CNI_ERR_INTERNAL, "out of memory");
		return;
	}
	for (e = n ? list->child : NULL; e; e = e->next)
		if (parse_map(cf, e, i++, &p->maps[p->pod.n]))
			p->pod.n++;
	if (!cf->n)
		find_clash(cf, p->maps, p->pod.n);
	p->pod.maps = p->maps;
}

/* The container's addresses as upstream picks them: the first IPv4 and IPv6 address of an
 * interface named CNI_IFNAME inside a sandbox. */
static void pod_addrs(struct pm_call *p)
{
	const struct cni_result *r = &p->prev;

	for (size_t i = 0; i < r->n_ips; i++) {
		int k = r->ips[i].iface, v6 = r->ips[i].address.ip.family == AF_INET6;

		if (k < 0 || ((size_t)k < r->n_ifaces &&
			      (strcmp(r->ifaces[k].name ? r->ifaces[k].name : "", p->ctx->ifname) ||
			       !r->ifaces[k].sandbox || !*r->ifaces[k].sandbox)))
			continue;
		if (!p->pod.ip[v6].ip.family)
			p->pod.ip[v6] = r->ips[i].address;
	}
}

static int load(struct pm_call *p, struct cni_ctx *ctx)
{
	struct conf cf;
	char err[256];
	int r;

	memset(p, 0, sizeof(*p));
	p->ctx = ctx;
	p->pod = (struct hostport_pod){
		.net = ctx->name, .cid = ctx->containerid, .ifname = ctx->ifname};
	conf_init(&cf, ctx);
	parse_unsupported(&cf, ctx->conf);
	p->snat = conf_bool(&cf, ctx->conf, "snat", true);
	p->masq_all = conf_bool(&cf, ctx->conf, "masqAll", false);
	p->pod.flags = (p->snat ? HOSTPORT_SNAT : 0) | (p->masq_all ? HOSTPORT_MASQ_ALL : 0);
	if (ctx->cmd != CNI_CMD_GC)
		parse_maps(&cf, p);
	if (ctx->cmd == CNI_CMD_ADD && !ctx->prev)
		conf_error(&cf, CNI_ERR_CONFIG, "must be called as chained plugin");
	/* DEL and GC go by container ID, and libcni stops a chain's DEL at its first error (the
	 * bridge's DEL would never run): what only ADD needs must not fail them */
	if (cf.n && (ctx->cmd == CNI_CMD_DEL || ctx->cmd == CNI_CMD_GC)) {
		log_warn("portmap: %s by container ID, ignoring: %s",
			 ctx->cmd == CNI_CMD_DEL ? "DEL" : "GC", cf.msg);
		cf.n = 0;
		p->pod.n = 0;
	}
	if ((r = conf_done(&cf)) < 0 || !ctx->prev)
		return r;
	if (cni_result_parse(ctx->prev, &p->prev, err, sizeof(err)) < 0) {
		if (ctx->cmd == CNI_CMD_DEL) { /* DEL goes on by container ID */
			log_warn("portmap: DEL ignores its prevResult: %s", err);
			return 0;
		}
		return cni_fail(ctx, CNI_ERR_DECODE, -EINVAL, "prevResult: %s", err);
	}
	p->has_prev = true;
	pod_addrs(p);
	return 0;
}

static void call_done(struct pm_call *p)
{
	nl_close(&p->nl);
	nft_close(&p->nft); /* last: after a delete it waits for the kernel's deferred cleanup */
	cni_result_done(&p->prev);
	free(p->maps);
}

static int nft_err(struct pm_call *p, int r, const char *what)
{
	return cni_fail_kernel(p->ctx, r, nft_errmsg(&p->nft), "%s", what);
}

/* What the nft batches since the last call changed, one line. */
static void log_nft(struct pm_call *p, const char *what)
{
	struct nft_stats s = nft_stats_take(&p->nft);

	if (s.batches)
		log_info("%s: nft batch committed: %u elements added, %u removed, %u tables, "
			 "chains, sets or rules",
			 what, s.elems_added, s.elems_removed, s.objects);
}

static int open_nft(struct pm_call *p)
{
	int r = p->nft.sk ? 0 : nft_open(&p->nft, -1);

	return r < 0 ? cni_fail(p->ctx, CNI_ERR_KERNEL, r, "nftables: %s", strerror(-r)) : 0;
}

static int open_nl(struct pm_call *p)
{
	int r = p->nl.sk ? 0 : nl_open(&p->nl, -1);

	return r < 0 ? cni_fail(p->ctx, CNI_ERR_KERNEL, r, "netlink: %s", strerror(-r)) : 0;
}

/* True when some mapping reaches the container over IPv4 (localhost needs route_localnet). */
static bool uses_v4(const struct pm_call *p)
{
	for (size_t i = 0; p->pod.ip[0].ip.family && i < p->pod.n; i++)
		if (p->maps[i].host_ip.family != AF_INET6)
			return true;
	return false;
}

/* Flushes the UDP conntrack entries of the host ports of m[0..n-1] (expanded). */
static int flush_udp(struct pm_call *p, const struct hostport_map *m, size_t n)
{
	struct ct_filter f[CT_FILTERS_MAX];
	char err[256] = "";
	size_t k = 0, ports = 0;
	int r = 0;

	for (size_t i = 0; r >= 0 && i < n; i++) {
		if (m[i].proto == IPPROTO_UDP)
			f[k++] = (struct ct_filter){.family = m[i].host_ip.family,
						    .proto = IPPROTO_UDP,
						    .dport = m[i].host_port,
						    .dst = m[i].host_ip};
		if (k == CT_FILTERS_MAX || (i + 1 == n && k)) {
			r = ct_delete(f, k, err, sizeof(err));
			ports += k;
			k = 0;
		}
	}
	if (r >= 0 && ports)
		log_info("flushed the UDP conntrack entries of %zu host ports", ports);
	return r < 0 ? cni_fail_kernel(p->ctx, r, err, "flush conntrack entries of the host ports")
		     : 0;
}

static int del_mappings(struct pm_call *p)
{
	struct hostport_map *gone = NULL;
	size_t n = 0;
	int r;

	if ((r = open_nft(p)) < 0)
		return r;
	r = hostport_del(&p->nft, &p->pod, &gone, &n);
	log_nft(p, "hostPorts");
	if (r < 0)
		r = nft_err(p, r, "remove hostPort mappings");
	else
		r = flush_udp(p, gone, n);
	free(gone);
	return r;
}

/* A host port another attachment holds: refused, naming the holder (upstream's iptables
 * rules would both exist, the older winning, and the newer silently get nothing). */
static int held(struct pm_call *p, const struct hostport_holder *h)
{
	bool v6 = h->map.host_ip.family == AF_INET6;
	char a[IP_STRLEN + 4] = "", ip[IP_STRLEN];

	if (!ip_is_zero(&h->map.host_ip))
		snprintf(a, sizeof(a), v6 ? "[%s]:" : "%s:", ip_fmt(&h->map.host_ip, ip));
	return cni_fail(
		p->ctx, CNI_ERR_EXISTS, -EADDRINUSE,
		"host port %s%u/%s (IPv%d) is held by container %s, interface %s%s; its DEL "
		"(or a GC) frees it",
		a, h->map.host_port, proto_name(h->map.proto), v6 ? 6 : 4, h->cid,
		h->ifname[0] ? h->ifname : "?", h->same_net ? "" : " of another network");
}

static int add_mappings(struct pm_call *p)
{
	struct hostport_holder h;
	struct hostport_map *x;
	char dev[IFNAMSIZ];
	int r;

	if (p->snat && uses_v4(p)) {
		if ((r = open_nl(p)) < 0)
			return r;
		/* as upstream: no route to the container, nothing to set (and no localhost) */
		r = hostport_localnet(&p->nl, &p->pod.ip[0].ip, dev);
		if (r < 0 && r != -ENODEV)
			return cni_fail_kernel(p->ctx, r, nl_errmsg(&p->nl), "set route_localnet");
		if (r == 0)
			log_info("set route_localnet on %s", dev);
	}
	if ((r = cni_fault(p->ctx, "localnet")) < 0 || (r = open_nft(p)) < 0)
		return r;
	r = hostport_add(&p->nft, &p->pod, &h);
	if (r == -EADDRINUSE)
		return held(p, &h);
	log_nft(p, "hostPorts");
	if (r < 0)
		return nft_err(p, r, "add hostPort mappings");
	x = malloc(2 * p->pod.n * sizeof(*x));
	if (!x)
		r = -ENOMEM;
	else if ((r = cni_fault(p->ctx, "nft")) == 0)
		r = flush_udp(p, x, hostport_expand(&p->pod, x));
	free(x);
	return r;
}

static bool has_work(const struct pm_call *p)
{
	return p->pod.n && (p->pod.ip[0].ip.family || p->pod.ip[1].ip.family);
}

static int pm_add(struct cni_ctx *ctx)
{
	struct pm_call p;
	int r;

	if ((r = load(&p, ctx)) < 0)
		goto out;
	if (has_work(&p) && (r = add_mappings(&p)) < 0)
		goto err_del;
	if ((r = cni_fault(ctx, "conntrack")) < 0 || (r = cni_result_print(ctx, &p.prev)) < 0)
		goto err_del;
	goto out;
err_del:
	if (has_work(&p))
		(void)del_mappings(&p);
out:
	call_done(&p);
	return r;
}

/* DEL needs neither a netns nor portMappings: without them it goes by container ID. */
static int pm_del(struct cni_ctx *ctx)
{
	struct pm_call p;
	int r;

	r = load(&p, ctx);
	if (r == 0)
		r = del_mappings(&p);
	call_done(&p);
	return r;
}

static int pm_check(struct cni_ctx *ctx)
{
	struct pm_call p;
	char dev[IFNAMSIZ];
	int r;

	if ((r = load(&p, ctx)) < 0)
		goto out;
	if (!p.has_prev) {
		r = cni_fail(ctx, CNI_ERR_CONFIG, -EINVAL, "Required prevResult missing");
		goto out;
	}
	if (!has_work(&p) || (r = open_nft(&p)) < 0)
		goto out;
	r = hostport_check(&p.nft, &p.pod);
	if (r == -ENOENT)
		r = cni_fail(ctx, CNI_ERR_CHECK, r, "%s", nft_errmsg(&p.nft));
	else if (r < 0)
		r = nft_err(&p, r, "read hostPort mappings");
	if (r < 0 || !p.snat || !uses_v4(&p) || (r = open_nl(&p)) < 0)
		goto out;
	r = hostport_localnet_get(&p.nl, &p.pod.ip[0].ip, dev);
	if (r == -ENODEV)
		r = 0;
	else if (r == 0)
		r = cni_fail(ctx, CNI_ERR_CHECK, -ENOENT, "route_localnet is off on %s", dev);
	else if (r < 0)
		r = cni_fail_kernel(ctx, r, nl_errmsg(&p.nl), "read route_localnet");
out:
	call_done(&p);
	return r < 0 ? r : 0;
}

static bool gc_valid(const char *cid, const char *ifname, void *data)
{
	return cni_attachment_valid(data, cid, ifname);
}

static int pm_gc(struct cni_ctx *ctx)
{
	struct pm_call p;
	int r;

	if ((r = load(&p, ctx)) == 0 && (r = open_nft(&p)) == 0 &&
	    (r = hostport_gc(&p.nft, ctx->name, gc_valid, ctx)) < 0)
		r = nft_err(&p, r, "hostPort GC");
	log_nft(&p, "hostPorts GC");
	call_done(&p);
	return r < 0 ? r : 0;
}

/* STATUS: ready whenever the configuration is valid. */
static int pm_status(struct cni_ctx *ctx)
{
	struct pm_call p;
	int r = load(&p, ctx);

	call_done(&p);
	return r;
}

static const struct cni_plugin portmap_plugin = {
	.name = "portmap",
	.about = "sluice-portmap: hostPorts as nftables map elements",
	.add = pm_add,
	.del = pm_del,
	.check = pm_check,
	.gc = pm_gc,
	.status = pm_status,
};

int main(int argc, char **argv)
{
	return cni_main(&portmap_plugin, argc, argv);
}
