// SPDX-License-Identifier: Apache-2.0
/* A container interface configured from a result: sysctls, addresses, routes, DAD; and
 * CHECK's read-back of the same. Failures are recorded on the call with cni_fail(). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_addr.h>

#include "node/ifcfg.h"
#include "base/err.h"
#include "base/sysctl.h"
#include "base/vec.h"
#include "cni/result.h"
#include "netlink/netns.h"
#include "netlink/nl.h"
#include "netlink/nl_link.h"
#include "netlink/nl_route.h"

#define DAD_WAIT_MS 5000

static void set_sysctls(const char *ifn, unsigned int flags)
{
	char path[96];

	/* failures are ignored, as upstream does: IPv6 may be disabled in the netns */
	snprintf(path, sizeof(path), "net/ipv6/conf/%s/accept_dad", ifn);
	(void)sysctl_set(path, (flags & IFCFG_DAD) ? "1" : "0");
	if (flags & IFCFG_DAD) {
		snprintf(path, sizeof(path), "net/ipv6/conf/%s/enhanced_dad", ifn);
		(void)sysctl_set(path, "1");
	}
	snprintf(path, sizeof(path), "net/ipv4/conf/%s/arp_notify", ifn);
	(void)sysctl_set(path, "1");
	if (flags & IFCFG_V6) {
		snprintf(path, sizeof(path), "net/ipv6/conf/%s/keep_addr_on_down", ifn);
		(void)sysctl_set(path, "1");
	}
}

int ifcfg_open(struct err *err, int netns_fd, const char *ifname, unsigned int flags,
	       struct nl *ret)
{
	int saved, r, r2;

	if ((r = netns_enter(netns_fd, &saved)) < 0)
		return err_fail(err, CNI_ERR_INTERNAL, r, "enter netns: %s", strerror(-r));
	r = nl_open(ret, -1);
	if (r >= 0 && (flags & IFCFG_SYSCTLS))
		set_sysctls(ifname, flags);
	r2 = netns_leave(saved);
	if (r2 < 0) /* still in the container's netns: nothing may go on */
		return err_fail(err, CNI_ERR_INTERNAL, r2, "leave netns: %s", strerror(-r2));
	if (r < 0)
		return err_fail(err, CNI_ERR_INTERNAL, r, "netlink in netns: %s", strerror(-r));
	return 0;
}

const struct ip_addr *ifcfg_family_gw(const struct cni_result *res, int family)
{
	for (size_t i = 0; i < res->n_ips; i++)
		if (res->ips[i].address.ip.family == family && res->ips[i].gateway.family)
			return &res->ips[i].gateway;
	return NULL;
}

static void to_nl_route(const struct cni_result *res, const struct cni_route *cr, int ifindex,
			struct nl_route *rt)
{
	const struct ip_addr *gw =
		(cr->has & CNI_ROUTE_HAS_GW) ? &cr->gw : ifcfg_family_gw(res, cr->dst.ip.family);

	memset(rt, 0, sizeof(*rt));
	rt->dst = cr->dst;
	rt->dst.ip = ip_prefix_network(&cr->dst);
	rt->oif = ifindex;
	if (gw)
		rt->gw = *gw;
	if (cr->has & CNI_ROUTE_HAS_PRIORITY)
		rt->priority = (unsigned int)cr->priority;
	if (cr->has & CNI_ROUTE_HAS_TABLE)
		rt->table = (unsigned int)cr->table;
	if (cr->has & CNI_ROUTE_HAS_SCOPE)
		rt->scope = (uint8_t)cr->scope;
	if (cr->has & CNI_ROUTE_HAS_MTU)
		rt->mtu = (unsigned int)cr->mtu;
	if (cr->has & CNI_ROUTE_HAS_ADVMSS)
		rt->advmss = (unsigned int)cr->advmss;
}

struct tentative {
	int count;
	bool failed;
};

static int tentative_cb(const struct nl_addr *a, void *data)
{
	struct tentative *t = data;

	t->count += !!(a->flags & IFA_F_TENTATIVE);
	t->failed |= !!(a->flags & IFA_F_DADFAILED);
	return 0;
}

/* enabledad: the addresses are usable only once duplicate address detection is over. */
static int settle_dad(struct err *err, struct nl *nl, int ifindex, const char *ifname)
{
	for (int ms = 0; ms < DAD_WAIT_MS; ms += 20) {
		struct tentative t = {0};
		int r = nl_addr_dump(nl, ifindex, AF_INET6, tentative_cb, &t);

		if (r < 0 && r != -EINTR)
			return err_kernel(err, r, nl_errmsg(nl), "read addresses");
		if (t.failed)
			return err_fail(err, CNI_ERR_EXISTS, -EADDRINUSE,
					"duplicate address detection failed on %s", ifname);
		if (r == 0 && !t.count)
			return 0;
		usleep(20000);
	}
	return err_fail(err, CNI_ERR_TRY_AGAIN, -ETIMEDOUT,
			"IPv6 addresses of %s still tentative after 5 s", ifname);
}

int ifcfg_apply(struct err *err, struct nl *nl, int ifindex, const char *ifname,
		const struct cni_result *res,
		unsigned int flags)
{
	char a[IP_STRLEN];
	struct nl_route rt;
	bool v6 = false;
	int r;

	for (size_t i = 0; i < res->n_ips; i++) {
		const struct ip_prefix *p = &res->ips[i].address;

		v6 |= p->ip.family == AF_INET6;
		r = nl_addr_add(nl, ifindex, p, (flags & IFCFG_DAD) ? 0 : IFA_F_NODAD, false);
		if (r < 0 && r != -EEXIST)
			return err_kernel(err, r, nl_errmsg(nl), "add address %s to %s",
					       ip_prefix_fmt(p, a), ifname);
	}
	if ((flags & IFCFG_DAD) && v6 && (r = settle_dad(err, nl, ifindex, ifname)) < 0)
		return r;
	for (size_t i = 0; i < res->n_routes; i++) {
		to_nl_route(res, &res->routes[i], ifindex, &rt);
		r = nl_route_add(nl, &rt, false);
		if (r < 0 && r != -EEXIST)
			return err_kernel(err, r, nl_errmsg(nl), "add route to %s via %s",
					       ip_prefix_fmt(&res->routes[i].dst, a), ifname);
	}
	return 0;
}

struct seen {
	struct ip_prefix addrs[64];
	size_t n_addrs;
	struct nl_route *routes;
	size_t n_routes, cap;
};

static int seen_addr(const struct nl_addr *a, void *data)
{
	struct seen *s = data;

	if (s->n_addrs < sizeof(s->addrs) / sizeof(s->addrs[0]))
		s->addrs[s->n_addrs++] = a->prefix;
	return 0;
}

static int seen_route(const struct nl_route *rt, void *data)
{
	struct seen *s = data;

	if (vec_room(&s->routes, &s->cap, s->n_routes, sizeof(*s->routes), 32) < 0)
		return -ENOMEM;
	s->routes[s->n_routes++] = *rt;
	return 0;
}

static bool has_addr(const struct seen *s, const struct ip_prefix *p)
{
	for (size_t k = 0; k < s->n_addrs; k++)
		if (ip_eq(&s->addrs[k].ip, &p->ip) && s->addrs[k].len == p->len)
			return true;
	return false;
}

static bool has_route(const struct seen *s, const struct nl_route *want, bool any_table)
{
	for (size_t k = 0; k < s->n_routes; k++) {
		const struct nl_route *rt = &s->routes[k];

		if (rt->oif == want->oif && rt->dst.len == want->dst.len &&
		    ip_eq(&rt->dst.ip, &want->dst.ip) &&
		    (!want->gw.family || ip_eq(&rt->gw, &want->gw)) &&
		    (any_table || rt->table == want->table))
			return true;
	}
	return false;
}

int ifcfg_check(struct err *err, struct nl *nl, int ifindex, const char *ifname,
		const struct cni_result *res)
{
	struct seen s = {.n_addrs = 0};
	struct nl_route want;
	char a[IP_STRLEN];
	int r;

	r = nl_addr_dump(nl, ifindex, AF_UNSPEC, seen_addr, &s);
	if (r >= 0)
		r = nl_route_dump(nl, AF_UNSPEC, 0, seen_route, &s);
	if (r < 0) {
		free(s.routes);
		return err_kernel(err, r, nl_errmsg(nl), "read addresses and routes of %s",
				       ifname);
	}
	for (size_t i = 0; r >= 0 && i < res->n_ips; i++)
		if (!has_addr(&s, &res->ips[i].address))
			r = err_fail(err, CNI_ERR_CHECK, -ENOENT, "address %s is not on %s",
				     ip_prefix_fmt(&res->ips[i].address, a), ifname);
	for (size_t i = 0; r >= 0 && i < res->n_routes; i++) {
		to_nl_route(res, &res->routes[i], ifindex, &want);
		if (!has_route(&s, &want, !(res->routes[i].has & CNI_ROUTE_HAS_TABLE)))
			r = err_fail(err, CNI_ERR_CHECK, -ENOENT, "route to %s is missing on %s",
				     ip_prefix_fmt(&res->routes[i].dst, a), ifname);
	}
	free(s.routes);
	return r;
}
