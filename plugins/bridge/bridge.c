// SPDX-License-Identifier: Apache-2.0
/* sluice-bridge: a Linux bridge and one veth pair per attachment, the peer created
 * directly in the container's netns; IPAM delegated; gateway, ipMasq (nftables), hairpin,
 * VLANs, MTU and MAC spoof check. Every field of upstream bridge. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include <cjson/cJSON.h>

#include "base/log.h"
#include "base/name.h"
#include "cni/cni.h"
#include "cni/conf.h"
#include "cni/ipam.h"
#include "cni/result.h"
#include "netlink/netns.h"
#include "netlink/nl.h"
#include "netlink/nl_link.h"
#include "netlink/nl_route.h"
#include "nft/nft.h"
#include "node/brdev.h"
#include "node/ifcfg.h"
#include "node/masq.h"
#include "node/owner.h"
#include "node/spoofchk.h"

struct br_conf {
	const char *bridge;
	bool is_gw, is_default_gw, force_address, ip_masq, hairpin, promisc, enable_dad;
	bool spoofchk, no_container_if, port_isolation, preserve_default_vlan, l3;
	unsigned int mtu;
	int vlan;
	uint8_t trunk[BRDEV_VLAN_BITMAP]; /* VLAN IDs of vlanTrunk */
	bool has_trunk;
	uint8_t mac[6];
	bool has_mac;
	const cJSON *dns;
};

/* Everything one call works with: sockets in the host and container netns, names. */
struct br_call {
	struct cni_ctx *ctx;
	struct br_conf c;
	struct nl nl; /* host netns */
	struct nl cnl; /* container netns */
	struct nft nft;
	int netns_fd;
	char host_if[IFNAMSIZ];
	char alias[OWNER_ALIAS_MAX];
	struct nl_link br, host, cont;
	struct nl_link vlan_gw; /* <bridge>.<vlan>, when vlan and isGateway */
	bool live; /* this attachment's veth already exists: a repeated ADD */
};

static void parse_trunk(struct conf *cf, struct br_conf *c, const cJSON *list)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, list) {
		int64_t id = conf_int(cf, e, "id", 0, 1, 4094);
		int64_t lo = conf_int(cf, e, "minID", 0, 1, 4094);
		int64_t hi = conf_int(cf, e, "maxID", 0, 1, 4094);

		if (!cJSON_IsObject(e) || (!id && !lo && !hi)) {
			conf_error(cf, CNI_ERR_CONFIG,
				   "vlanTrunk: entries need id or minID and maxID");
			continue;
		}
		if (!lo != !hi) {
			conf_error(
				cf, CNI_ERR_CONFIG,
				"vlanTrunk: minID and maxID should be configured simultaneously");
			continue;
		}
		if (lo > hi)
			conf_error(cf, CNI_ERR_CONFIG, "vlanTrunk: minID is greater than maxID");
		for (int64_t v = lo; lo && v <= hi; v++)
			c->trunk[v / 8] |= (uint8_t)(1U << (v % 8));
		if (id)
			c->trunk[id / 8] |= (uint8_t)(1U << (id % 8));
		c->has_trunk = true;
	}
}

/* The MAC from, by priority, runtimeConfig.mac, args.cni.mac, CNI_ARGS MAC= (as upstream). */
static void parse_mac(struct conf *cf, struct br_conf *c)
{
	const cJSON *rt = cni_runtime(cf->ctx, "mac"), *ac = cni_args_cni(cf->ctx, "mac");
	const char *mac = cni_arg(cf->ctx, "MAC");
	const char *from = "CNI_ARGS MAC";

	if (ac && !cJSON_IsString(ac))
		conf_error(cf, CNI_ERR_CONFIG, "args.cni.mac: must be a string");
	if (rt && !cJSON_IsString(rt))
		conf_error(cf, CNI_ERR_CONFIG, "runtimeConfig.mac: must be a string");
	if (cJSON_IsString(ac) && *ac->valuestring) {
		mac = ac->valuestring;
		from = "args.cni.mac";
	}
	if (cJSON_IsString(rt) && *rt->valuestring) {
		mac = rt->valuestring;
		from = "runtimeConfig.mac";
	}
	if (!mac || !*mac)
		return;
	if (mac_parse(mac, c->mac) < 0 || (c->mac[0] & 1))
		conf_error(cf, CNI_ERR_CONFIG, "%s: invalid unicast MAC address \"%.40s\"", from,
			   mac);
	else
		c->has_mac = true;
}

static int load_conf(struct cni_ctx *ctx, struct br_conf *c)
{
	const cJSON *o = ctx->conf, *ipam;
	const char *backend;
	struct conf cf;
	char err[128];

	conf_init(&cf, ctx);
	c->bridge = conf_str(&cf, o, "bridge", "cni0");
	if (!cni_valid_ifname(c->bridge))
		conf_error(&cf, CNI_ERR_CONFIG, "bridge: invalid interface name \"%.40s\"",
			   c->bridge);
	c->is_default_gw = conf_bool(&cf, o, "isDefaultGateway", false);
	c->is_gw = conf_bool(&cf, o, "isGateway", false) || c->is_default_gw;
	c->force_address = conf_bool(&cf, o, "forceAddress", false);
	c->ip_masq = conf_bool(&cf, o, "ipMasq", false);
	backend = conf_str(&cf, o, "ipMasqBackend", "nftables");
	if (strcmp(backend, "nftables"))
		conf_error(&cf, CNI_ERR_UNSUPPORTED_FIELD,
			   "ipMasqBackend: \"%.40s\" is not supported (sluice uses nftables only)",
			   backend);
	c->mtu = (unsigned int)conf_int(&cf, o, "mtu", 0, 0, 65535);
	if (c->mtu && c->mtu < 68)
		conf_error(&cf, CNI_ERR_CONFIG, "mtu: %u is below the minimum of 68", c->mtu);
	c->hairpin = conf_bool(&cf, o, "hairpinMode", false);
	c->promisc = conf_bool(&cf, o, "promiscMode", false);
	if (c->hairpin && c->promisc)
		conf_error(&cf, CNI_ERR_CONFIG,
			   "cannot set hairpin mode and promiscuous mode at the same time");
	c->vlan = (int)conf_int(&cf, o, "vlan", 0, 0, 4094);
	parse_trunk(&cf, c, conf_array(&cf, o, "vlanTrunk"));
	c->preserve_default_vlan = conf_bool(&cf, o, "preserveDefaultVlan", false);
	c->enable_dad = conf_bool(&cf, o, "enabledad", false);
	c->spoofchk = conf_bool(&cf, o, "macspoofchk", false);
	c->no_container_if = conf_bool(&cf, o, "disableContainerInterface", false);
	c->port_isolation = conf_bool(&cf, o, "portIsolation", false);
	ipam = conf_obj(&cf, o, "ipam");
	c->l3 = ipam_type(ctx) != NULL;
	if (ipam && !c->l3 && cJSON_GetObjectItemCaseSensitive(ipam, "type"))
		conf_error(&cf, CNI_ERR_CONFIG, "ipam.type: must be a non-empty string");
	ipam_check(&cf);
	if (c->l3 && c->no_container_if)
		conf_error(&cf, CNI_ERR_CONFIG,
			   "cannot use IPAM when DisableContainerInterface flag is set");
	/* The pod's dns and MAC matter to ADD and CHECK only: DEL and GC go by container ID, and
	 * libcni stops a chain's DEL at its first error, so a field they never use (written by
	 * a runtime, or accepted by an older sluice) must not fail them. */
	if (ctx->cmd != CNI_CMD_ADD && ctx->cmd != CNI_CMD_CHECK)
		return conf_done(&cf);
	/* copied into the result: libcni must be able to read it back */
	c->dns = cJSON_GetObjectItemCaseSensitive(o, "dns");
	if (cni_dns_check(c->dns, "", err, sizeof(err)) < 0)
		conf_error(&cf, CNI_ERR_CONFIG, "%s", err);
	if (cf.n || !cJSON_IsObject(c->dns))
		c->dns = NULL;
	parse_mac(&cf, c);
	return conf_done(&cf);
}

static void call_init(struct br_call *b, struct cni_ctx *ctx)
{
	memset(b, 0, sizeof(*b));
	b->ctx = ctx;
	b->netns_fd = -1;
	name_hash(b->host_if, "veth", ctx->containerid ? ctx->containerid : "",
		  ctx->ifname ? ctx->ifname : "");
	/* fits: a network name or ID too long for it goes in as its key */
	(void)owner_alias(b->alias, sizeof(b->alias), ctx->name,
			  ctx->containerid ? ctx->containerid : "", ctx->ifname ? ctx->ifname : "");
}

static void call_done(struct br_call *b)
{
	nl_close(&b->cnl);
	nl_close(&b->nl);
	/* last: closing after an nft delete waits for the kernel's deferred cleanup */
	nft_close(&b->nft);
	if (b->netns_fd >= 0)
		close(b->netns_fd);
}

static int nl_err(struct br_call *b, struct nl *nl, int r, const char *what)
{
	return cni_fail_kernel(b->ctx, r, nl_errmsg(nl), "%s", what);
}

static int nft_err(struct br_call *b, int r, const char *what)
{
	return cni_fail_kernel(b->ctx, r, nft_errmsg(&b->nft), "%s", what);
}

/* What the nft batches since the last call changed, one line. */
static void log_nft(struct br_call *b, const char *what)
{
	struct nft_stats s = nft_stats_take(&b->nft);

	if (s.batches)
		log_info("%s: nft batch committed: %u elements added, %u removed, %u tables, "
			 "chains, sets or rules",
			 what, s.elems_added, s.elems_removed, s.objects);
}

/* The host end: created up and enslaved in one message, the peer directly in the netns. */
static int create_veth(struct br_call *b)
{
	const struct br_conf *c = &b->c;
	struct nl_veth v = {
		.name = b->host_if,
		.peer = b->ctx->ifname,
		.peer_netns_fd = b->netns_fd,
		.mtu = c->mtu,
		.master = b->br.ifindex,
		.up = true,
	};
	uint8_t host_mac[6], peer_mac[6];
	int r;

	if ((r = mac_random(host_mac)) < 0 || (!c->has_mac && (r = mac_random(peer_mac)) < 0))
		return cni_fail(b->ctx, CNI_ERR_INTERNAL, r, "random MAC: %s", strerror(-r));
	v.mac = host_mac;
	v.peer_mac = c->has_mac ? c->mac : peer_mac;
	r = nl_link_add_veth(&b->nl, &v);
	if (r == -EEXIST) {
		if (nl_link_get_by_name(&b->nl, b->host_if, &b->host) == 0) {
			b->live = true;
			return cni_fail(
				b->ctx, CNI_ERR_EXISTS, r,
				"veth %s of this attachment already exists (ADD without DEL?)",
				b->host_if);
		}
		return cni_fail(b->ctx, CNI_ERR_EXISTS, r,
				"container veth name provided (%s) already exists", b->ctx->ifname);
	}
	if (r < 0)
		return nl_err(b, &b->nl, r, "create veth");
	memcpy(b->cont.mac, v.peer_mac, 6);
	log_info("created veth %s on bridge %s, its peer %s in %s", b->host_if, b->c.bridge,
		 b->ctx->ifname, b->ctx->netns);
	r = nl_link_get_by_name(&b->nl, b->host_if, &b->host);
	if (r < 0)
		return nl_err(b, &b->nl, r, "look up host veth");
	return 0;
}

/* The host end's alias names its owner, so GC can tell our veths and their attachments
 * apart from everyone else's; then the port's flags and VLANs. */
static int setup_port(struct br_call *b)
{
	const struct br_conf *c = &b->c;
	struct brdev_port p = {
		.hairpin = c->hairpin,
		.isolated = c->port_isolation,
		.vlan = c->vlan,
		.trunk = c->has_trunk ? c->trunk : NULL,
		.preserve_default_vlan = c->preserve_default_vlan,
	};
	int r;

	if ((r = nl_link_set_alias(&b->nl, b->host.ifindex, b->alias)) < 0)
		return nl_err(b, &b->nl, r, "set veth alias");
	return brdev_port_setup(&b->ctx->err, &b->nl, b->host.ifindex, &p);
}

/* Gateways on the bridge, or on "<bridge>.<vlan>" when a VLAN is set (as upstream). */
static int setup_gateway(struct br_call *b, struct cni_result *res)
{
	const struct nl_link *dev = &b->br;
	char mac[18];
	int r;

	if (!b->c.is_gw || !res->n_ips)
		return 0;
	if (b->c.vlan) {
		r = brdev_vlan_gw(&b->ctx->err, &b->nl, &b->br, b->c.vlan, b->c.mtu,
				  b->c.preserve_default_vlan, &b->vlan_gw);
		if (r < 0)
			return r;
		if (r > 0)
			log_info("created VLAN gateway interface %s", b->vlan_gw.name);
		dev = &b->vlan_gw;
		r = cni_result_add_iface(res, dev->name, mac_fmt(dev->mac, mac), NULL);
		if (r < 0)
			return r;
	}
	r = brdev_gateways(&b->ctx->err, &b->nl, dev->ifindex, dev->name, res, b->c.force_address);
	if (r > 0)
		log_info("added %d gateway address%s to %s", r, r > 1 ? "es" : "", dev->name);
	return r;
}

/* The container side up to what needs IPAM's answer (its socket, sysctls, the interface
 * up), done while IPAM runs. keep_addr_on_down is set whatever the families: it only
 * concerns IPv6 addresses, and which ones come is known only from IPAM's answer. */
static int prepare_container(struct br_call *b)
{
	unsigned int fl = IFCFG_SYSCTLS | IFCFG_V6 | (b->c.enable_dad ? IFCFG_DAD : 0);
	int r;

	if ((r = ifcfg_open(&b->ctx->err, b->netns_fd, b->ctx->ifname, fl, &b->cnl)) < 0)
		return r;
	/* the host end names its peer's index (IFLA_LINK): no lookup in the container */
	if (b->host.has & NL_LINK_HAS_LINK)
		b->cont.ifindex = b->host.link;
	else if ((r = nl_link_get_by_name(&b->cnl, b->ctx->ifname, &b->cont)) < 0)
		return nl_err(b, &b->cnl, r, "look up container interface");
	if (b->c.no_container_if || (r = nl_link_set_up(&b->cnl, b->cont.ifindex)) == 0)
		return 0;
	return nl_err(b, &b->cnl, r, "set container interface up");
}

/* One line per address and route put on the container interface. */
static void log_container(const struct br_call *b, const struct cni_result *res)
{
	const char *ifn = b->ctx->ifname, *ns = b->ctx->netns;
	char a[IP_STRLEN], g[IP_STRLEN];

	for (size_t i = 0; log_enabled(LOG_LEVEL_INFO) && i < res->n_ips; i++)
		log_info("added address %s to %s in %s", ip_prefix_fmt(&res->ips[i].address, a),
			 ifn, ns);
	for (size_t i = 0; log_enabled(LOG_LEVEL_INFO) && i < res->n_routes; i++) {
		const struct cni_route *rt = &res->routes[i];
		const struct ip_addr *gw = rt->has & CNI_ROUTE_HAS_GW
						   ? &rt->gw
						   : ifcfg_family_gw(res, rt->dst.ip.family);

		log_info("added route %s%s%s dev %s in %s", ip_prefix_fmt(&rt->dst, a),
			 gw ? " via " : "", gw ? ip_fmt(gw, g) : "", ifn, ns);
	}
}

static int setup_container(struct br_call *b, const struct cni_result *res)
{
	int r;

	if (b->c.no_container_if)
		return 0;
	r = ifcfg_apply(&b->ctx->err, &b->cnl, b->cont.ifindex, b->ctx->ifname, res, b->c.enable_dad ? IFCFG_DAD : 0);
	if (r == 0)
		log_container(b, res);
	return r;
}

/* isGateway: a gateway that IPAM left out is the subnet's first address; isDefaultGateway
 * adds a default route per family unless one with a gateway is there (upstream's
 * calcGateways). Every address belongs to the container interface, index 2. */
static int calc_gateways(struct br_call *b, struct cni_result *res)
{
	bool def4 = false, def6 = false;
	int r;

	for (size_t i = 0; i < res->n_ips; i++) {
		struct cni_ipconf *ip = &res->ips[i];

		ip->iface = 2;
		if (!ip->gateway.family && b->c.is_gw) {
			ip->gateway = ip_prefix_network(&ip->address);
			ip_next(&ip->gateway);
		}
	}
	for (size_t i = 0; i < res->n_routes; i++)
		if (res->routes[i].dst.len == 0 && (res->routes[i].has & CNI_ROUTE_HAS_GW)) {
			def4 |= res->routes[i].dst.ip.family == AF_INET;
			def6 |= res->routes[i].dst.ip.family == AF_INET6;
		}
	for (size_t i = 0; b->c.is_default_gw && i < res->n_ips; i++) {
		struct cni_route rt = {.has = CNI_ROUTE_HAS_GW, .gw = res->ips[i].gateway};
		bool *def = res->ips[i].address.ip.family == AF_INET ? &def4 : &def6;

		if (*def)
			continue;
		rt.dst.ip.family = res->ips[i].address.ip.family;
		if ((r = cni_result_add_route(res, &rt)) < 0)
			return r;
		*def = true;
	}
	return 0;
}

static int build_result(struct br_call *b, struct cni_result *res, const struct cni_result *ipam)
{
	char mac[18];
	int r;

	if ((r = cni_result_add_iface(res, b->c.bridge, mac_fmt(b->br.mac, mac), NULL)) < 0 ||
	    (r = cni_result_add_iface(res, b->host_if, mac_fmt(b->host.mac, mac), NULL)) < 0 ||
	    (r = cni_result_add_iface(res, b->ctx->ifname, mac_fmt(b->cont.mac, mac),
				      b->ctx->netns)) < 0)
		return r;
	if (b->c.mtu)
		res->ifaces[0].mtu = res->ifaces[1].mtu = res->ifaces[2].mtu = (int)b->c.mtu;
	for (size_t i = 0; i < ipam->n_ips; i++)
		if ((r = cni_result_add_ip(res, &ipam->ips[i].address, &ipam->ips[i].gateway, 2)) <
		    0)
			return r;
	for (size_t i = 0; i < ipam->n_routes; i++)
		if ((r = cni_result_add_route(res, &ipam->routes[i])) < 0)
			return r;
	/* the config's dns wins over the one IPAM returned */
	if (b->c.dns && b->c.dns->child)
		res->dns = cJSON_Duplicate(b->c.dns, 1);
	else if (ipam->dns)
		res->dns = cJSON_Duplicate(ipam->dns, 1);
	return 0;
}

/* Waits briefly for the host end to be oper-up, i.e. a forwarding bridge port: frames sent
 * before would be dropped. The kernel usually reports it at once. */
static int wait_port_up(struct br_call *b)
{
	static const int delays_us[] = {0, 200, 1000, 5000, 20000, 50000, 200000, 500000, 1000000};
	int r = 0;

	if (b->c.no_container_if)
		return 0;
	for (unsigned int i = 0; i < sizeof(delays_us) / sizeof(delays_us[0]); i++) {
		if (delays_us[i])
			usleep((useconds_t)delays_us[i]);
		r = nl_link_get_by_name(&b->nl, b->host_if, &b->host);
		if (r < 0)
			return nl_err(b, &b->nl, r, "look up host veth");
		if (b->host.operstate == IF_OPER_UP)
			return 0;
	}
	return cni_fail(b->ctx, CNI_ERR_KERNEL, -EIO, "bridge port in error state: operstate %u",
			b->host.operstate);
}

static int open_nft(struct br_call *b)
{
	int r = b->nft.sk ? 0 : nft_open(&b->nft, -1);

	return r < 0 ? cni_fail(b->ctx, CNI_ERR_KERNEL, r, "nftables: %s", strerror(-r)) : 0;
}

/* The part of DEL that ADD's unwinding shares: nftables first (the socket's deferred
 * cleanup then overlaps the link delete), then the veth, by its derived name. */
static int teardown_kernel(struct br_call *b)
{
	int r = 0, k;

	if ((b->c.ip_masq && b->c.l3) || b->c.spoofchk) {
		r = open_nft(b);
		if (r == 0 && b->c.ip_masq && b->c.l3 &&
		    (k = masq_del(&b->nft, b->ctx->name, b->ctx->containerid, b->ctx->ifname)) < 0)
			r = nft_err(b, k, "remove ipMasq entries");
		log_nft(b, "ipMasq");
		if (r == 0 && b->c.spoofchk &&
		    (k = spoofchk_del(&b->nft, b->ctx->name, b->ctx->containerid, b->ctx->ifname)) <
			    0)
			r = nft_err(b, k, "remove spoof check entries");
		log_nft(b, "macspoofchk");
	}
	if (!b->nl.sk && (k = nl_open(&b->nl, -1)) < 0)
		return cni_fail(b->ctx, CNI_ERR_KERNEL, k, "netlink: %s", strerror(-k));
	k = nl_link_del_by_name(&b->nl, b->host_if);
	if (k < 0 && k != -ENODEV)
		r = nl_err(b, &b->nl, k, "delete veth");
	if (k == 0)
		log_info("deleted veth %s and its peer %s", b->host_if, b->ctx->ifname);
	else if (k == -ENODEV)
		log_debug("veth %s was already gone", b->host_if);
	return r;
}

static int open_netns(struct br_call *b)
{
	b->netns_fd = netns_open_cni(b->ctx);
	return b->netns_fd < 0 ? b->netns_fd : 0;
}

static int add_masq(struct br_call *b, const struct cni_result *res)
{
	struct ip_prefix addrs[MASQ_ADDRS_MAX];
	size_t n = 0;
	int r;

	for (size_t i = 0; i < res->n_ips && n < MASQ_ADDRS_MAX; i++)
		addrs[n++] = res->ips[i].address;
	if ((r = open_nft(b)) < 0)
		return r;
	r = masq_add(&b->nft, b->ctx->name, b->ctx->containerid, b->ctx->ifname, addrs, n);
	log_nft(b, "ipMasq");
	return r < 0 ? nft_err(b, r, "set up ipMasq") : 0;
}

/* IPAM runs in its own process while this one does the kernel work that does not need its
 * answer (bridge, veth, port), so the two overlap. */
static int br_add(struct cni_ctx *ctx)
{
	struct cni_result ipres = {0}, res = {0};
	struct ipam_job job = {.running = false};
	struct br_call b;
	int r;

	call_init(&b, ctx);
	/* IPAM as early as can be: its exec is the long pole */
	if ((r = load_conf(ctx, &b.c)) < 0 || (b.c.l3 && (r = ipam_find(ctx)) < 0) ||
	    (r = open_netns(&b)) < 0 || (b.c.l3 && (r = ipam_start(ctx, "ADD", &job)) < 0))
		goto out;
	if ((r = nl_open(&b.nl, -1)) < 0) {
		r = cni_fail(ctx, CNI_ERR_KERNEL, r, "netlink: %s", strerror(-r));
		goto err_ipam;
	}
	r = brdev_ensure(&ctx->err, &b.nl, b.c.bridge, b.c.mtu, b.c.vlan || b.c.has_trunk, b.c.promisc,
			 &b.br);
	if (r > 0)
		log_info("created bridge %s", b.c.bridge);
	if (r < 0 || (r = cni_fault(ctx, "bridge")) < 0 || (r = create_veth(&b)) < 0)
		goto err_ipam;
	if ((r = setup_port(&b)) < 0 || (r = cni_fault(ctx, "port")) < 0)
		goto err_veth;
	if (b.c.spoofchk && ((r = open_nft(&b)) < 0 ||
			     (r = spoofchk_add(&b.nft, ctx->name, ctx->containerid, ctx->ifname,
					       b.host_if, b.cont.mac)) < 0)) {
		r = b.ctx->err.code ? r : nft_err(&b, r, "set up spoof check");
		goto err_veth;
	}
	log_nft(&b, "macspoofchk");
	if ((r = cni_fault(ctx, "spoofchk")) < 0 || (r = prepare_container(&b)) < 0)
		goto err_veth;
	if (b.c.l3 && (r = ipam_finish(ctx, &job, &ipres)) < 0)
		goto err_veth;
	if (b.c.l3 && !ipres.n_ips) {
		r = cni_fail(ctx, CNI_ERR_DELEGATE, -EINVAL,
			     "IPAM plugin returned missing IP config");
		goto err_veth;
	}
	if ((r = cni_fault(ctx, "ipam")) < 0 || (r = build_result(&b, &res, &ipres)) < 0)
		goto err_veth;
	if ((r = calc_gateways(&b, &res)) < 0 || (r = setup_container(&b, &res)) < 0 ||
	    (r = cni_fault(ctx, "container")) < 0)
		goto err_veth;
	if ((r = setup_gateway(&b, &res)) < 0 || (r = cni_fault(ctx, "gateway")) < 0)
		goto err_veth;
	if (b.c.ip_masq && b.c.l3 && (r = add_masq(&b, &res)) < 0)
		goto err_veth;
	if ((r = cni_fault(ctx, "masq")) < 0 || (r = wait_port_up(&b)) < 0)
		goto err_veth;
	/* IPAM's exit status, when its answer came before its exit */
	if (b.c.l3 && (r = ipam_finish(ctx, &job, NULL)) < 0)
		goto err_veth;
	if ((r = cni_fault(ctx, "result")) < 0 || (r = cni_result_print(ctx, &res)) < 0)
		goto err_veth;
	goto out;
err_veth:
	log_info("ADD failed: undoing it");
	(void)teardown_kernel(&b);
err_ipam:
	/* the spec: when a delegated plugin fails ADD, call its DEL before failing; but not
	 * on a repeated ADD of a live attachment, whose address IPAM DEL would release (IPAM
	 * knows attachments by container ID and ifname only) while its pod still uses it */
	if (b.c.l3) {
		(void)ipam_finish(ctx, &job, NULL);
		if (!b.live)
			(void)ipam_exec(ctx, "DEL", NULL);
	}
out:
	cni_result_done(&res);
	cni_result_done(&ipres);
	call_done(&b);
	return r;
}

/* DEL works from the container ID and ifname alone: no netns or prevResult needed. IPAM
 * DEL runs while the veth is deleted (the kernel's rcu_barrier makes that the long part). */
static int br_del(struct cni_ctx *ctx)
{
	struct ipam_job job = {.running = false};
	struct br_call b;
	int r, k = 0;

	call_init(&b, ctx);
	r = load_conf(ctx, &b.c);
	if (r < 0)
		goto out;
	if (b.c.l3)
		k = ipam_start(ctx, "DEL", &job);
	r = teardown_kernel(&b);
	if (b.c.l3 && k == 0)
		k = ipam_finish(ctx, &job, NULL);
	r = r < 0 ? r : k;
out:
	call_done(&b);
	return r;
}

/* A link CHECK looks up: 0, -ENODEV for the caller to report as missing (code 103), or the
 * kernel's refusal, reported (code 100). */
static int check_get(struct br_call *b, struct nl *nl, const char *name, struct nl_link *l)
{
	int r = nl_link_get_by_name(nl, name, l);

	if (r < 0 && r != -ENODEV)
		return cni_fail_kernel(b->ctx, r, nl_errmsg(nl), "look up %s", name);
	return r;
}

static int check_links(struct br_call *b, const struct cni_result *prev)
{
	const struct cni_result *p = prev;
	int bi = cni_result_find_iface(p, b->c.bridge, ""), ci, r;
	char mac[18];

	ci = cni_result_find_iface(p, b->ctx->ifname, b->ctx->netns);
	if (ci < 0)
		return cni_fail(b->ctx, CNI_ERR_CHECK, -ENOENT,
				"prevResult has no interface %s in sandbox %s", b->ctx->ifname,
				b->ctx->netns);
	if ((r = check_get(b, &b->nl, b->c.bridge, &b->br)) < 0 && r != -ENODEV)
		return r;
	if (r < 0 || strcmp(b->br.kind, "bridge"))
		return cni_fail(b->ctx, CNI_ERR_CHECK, -ENOENT,
				"CNI created bridge %s in host namespace was not found",
				b->c.bridge);
	if (bi >= 0 && p->ifaces[bi].mac && strcasecmp(p->ifaces[bi].mac, mac_fmt(b->br.mac, mac)))
		return cni_fail(b->ctx, CNI_ERR_CHECK, -ENOENT,
				"bridge %s MAC %s differs from prevResult", b->c.bridge, mac);
	if ((r = check_get(b, &b->cnl, b->ctx->ifname, &b->cont)) < 0 && r != -ENODEV)
		return r;
	if (r < 0 || strcmp(b->cont.kind, "veth"))
		return cni_fail(b->ctx, CNI_ERR_CHECK, -ENOENT,
				"CNI created interface in container %s not found (or not a veth)",
				b->ctx->ifname);
	if (p->ifaces[ci].mac && strcasecmp(p->ifaces[ci].mac, mac_fmt(b->cont.mac, mac)))
		return cni_fail(b->ctx, CNI_ERR_CHECK, -ENOENT,
				"interface %s MAC %s differs from prevResult", b->ctx->ifname, mac);
	if ((r = check_get(b, &b->nl, b->host_if, &b->host)) < 0 && r != -ENODEV)
		return r;
	if (r < 0 || strcmp(b->host.kind, "veth"))
		return cni_fail(b->ctx, CNI_ERR_CHECK, -ENOENT,
				"CNI veth %s created for bridge %s was not found", b->host_if,
				b->c.bridge);
	if (b->host.master != b->br.ifindex)
		return cni_fail(b->ctx, CNI_ERR_CHECK, -ENOENT,
				"veth %s is not a port of bridge %s", b->host_if, b->c.bridge);
	if (b->host.link != b->cont.ifindex || b->cont.link != b->host.ifindex)
		return cni_fail(b->ctx, CNI_ERR_CHECK, -ENOENT,
				"veth %s is not the peer of %s in the container", b->host_if,
				b->ctx->ifname);
	return 0;
}

static int br_check(struct cni_ctx *ctx)
{
	struct cni_result prev = {0};
	struct ip_prefix addrs[MASQ_ADDRS_MAX];
	struct br_call b;
	char err[256];
	size_t n = 0;
	int r;

	call_init(&b, ctx);
	if ((r = load_conf(ctx, &b.c)) < 0)
		goto out;
	if (!ctx->prev) {
		r = cni_fail(ctx, CNI_ERR_CONFIG, -EINVAL, "Required prevResult missing");
		goto out;
	}
	if (cni_result_parse(ctx->prev, &prev, err, sizeof(err)) < 0) {
		r = cni_fail(ctx, CNI_ERR_DECODE, -EINVAL, "prevResult: %s", err);
		goto out;
	}
	if ((r = open_netns(&b)) < 0 ||
	    (r = ifcfg_open(&ctx->err, b.netns_fd, ctx->ifname, 0, &b.cnl)) < 0)
		goto out;
	if ((r = nl_open(&b.nl, -1)) < 0) {
		r = cni_fail(ctx, CNI_ERR_KERNEL, r, "netlink: %s", strerror(-r));
		goto out;
	}
	if ((r = check_links(&b, &prev)) < 0 ||
	    (r = ifcfg_check(&ctx->err, &b.cnl, b.cont.ifindex, ctx->ifname, &prev)) < 0)
		goto out;
	for (size_t i = 0; i < prev.n_ips && n < MASQ_ADDRS_MAX; i++)
		addrs[n++] = prev.ips[i].address;
	if ((b.c.ip_masq && b.c.l3) || b.c.spoofchk) {
		if ((r = open_nft(&b)) < 0)
			goto out;
		if (b.c.ip_masq && b.c.l3 &&
		    (r = masq_check(&b.nft, ctx->name, ctx->containerid, ctx->ifname, addrs, n)) <
			    0) {
			r = cni_fail(ctx, CNI_ERR_CHECK, r, "ipMasq: %s", nft_errmsg(&b.nft));
			goto out;
		}
		if (b.c.spoofchk && (r = spoofchk_check(&b.nft, ctx->name, ctx->containerid,
							ctx->ifname, b.host_if, b.cont.mac)) < 0) {
			r = cni_fail(ctx, CNI_ERR_CHECK, r, "macspoofchk: %s", nft_errmsg(&b.nft));
			goto out;
		}
	}
	if (b.c.l3)
		r = ipam_exec(ctx, "CHECK", NULL);
out:
	cni_result_done(&prev);
	call_done(&b);
	return r;
}

static bool gc_valid(const char *cid, const char *ifname, void *data)
{
	return cni_attachment_valid(data, cid, ifname);
}

/* GC keeps going past errors and reports the first, as the spec asks. */
static int br_gc(struct cni_ctx *ctx)
{
	struct br_call b;
	int r, k;

	call_init(&b, ctx);
	if ((r = load_conf(ctx, &b.c)) < 0)
		goto out;
	if ((r = open_nft(&b)) == 0) {
		if ((k = masq_gc(&b.nft, ctx->name, gc_valid, ctx)) < 0)
			r = nft_err(&b, k, "ipMasq GC");
		log_nft(&b, "ipMasq GC");
		if ((k = spoofchk_gc(&b.nft, ctx->name, gc_valid, ctx)) < 0 && r == 0)
			r = nft_err(&b, k, "spoof check GC");
		log_nft(&b, "macspoofchk GC");
	}
	if ((k = nl_open(&b.nl, -1)) < 0)
		k = cni_fail_kernel(ctx, k, NULL, "netlink");
	else if ((k = owner_links_gc(&ctx->err, &b.nl, ctx->name, "veth", "veth", cni_valid_attachment_cb,
					 (void *)ctx)) > 0)
		log_info("GC deleted %d stale veth%s", k, k > 1 ? "s" : "");
	r = r < 0 ? r : k < 0 ? k : 0;
	if (b.c.l3 && (k = ipam_exec(ctx, "GC", NULL)) < 0 && r == 0)
		r = k;
out:
	call_done(&b);
	return r;
}

static int br_status(struct cni_ctx *ctx)
{
	struct br_conf c = {0};
	int r = load_conf(ctx, &c);

	if (r < 0)
		return r;
	return c.l3 ? ipam_exec(ctx, "STATUS", NULL) : 0;
}

static const struct cni_plugin bridge_plugin = {
	.name = "bridge",
	.about = "sluice-bridge: a Linux bridge and a veth pair per container",
	.add = br_add,
	.del = br_del,
	.check = br_check,
	.gc = br_gc,
	.status = br_status,
};

int main(int argc, char **argv)
{
	return cni_main(&bridge_plugin, argc, argv);
}
