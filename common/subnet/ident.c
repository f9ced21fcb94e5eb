// SPDX-License-Identifier: Apache-2.0
/* The node's underlay interface, MTU and public addresses, read over rtnetlink. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <linux/rtnetlink.h>

#include "subnet/ident.h"
#include "base/err.h"
#include "netlink/nl.h"
#include "netlink/nl_link.h"
#include "netlink/nl_route.h"

struct find {
	int ifindex; /* addresses: of this link (0: any); routes: the best so far */
	int family;
	const struct ip_addr *want; /* addresses: the one to find; NULL: the first global */
	struct ip_addr found;
	unsigned int best_metric;
};

static int default_route_cb(const struct nl_route *rt, void *data)
{
	struct find *f = data;

	if (rt->dst.len || !rt->oif || (rt->type && rt->type != RTN_UNICAST))
		return 0;
	if (!f->ifindex || rt->priority < f->best_metric) {
		f->ifindex = rt->oif;
		f->best_metric = rt->priority;
	}
	return 0;
}

static int addr_cb(const struct nl_addr *a, void *data)
{
	struct find *f = data;

	if (f->found.family || a->prefix.ip.family != f->family)
		return 0;
	if (f->want ? ip_eq(&a->prefix.ip, f->want) : a->scope == RT_SCOPE_UNIVERSE) {
		f->found = a->prefix.ip;
		f->ifindex = a->ifindex;
	}
	return 0;
}

/* The first global address of family on ifindex, or the link holding want (ifindex 0) */
static int find_addr(struct nl *nl, int ifindex, int family, const struct ip_addr *want,
		     struct find *ret)
{
	struct find f = {.ifindex = ifindex, .family = family, .want = want};
	int r = nl_addr_dump(nl, ifindex, family, addr_cb, &f);

	if (r == -EINTR)
		r = nl_addr_dump(nl, ifindex, family, addr_cb, &f);
	*ret = f;
	return r;
}

static int pick_link(struct nl *nl, const char *iface, const struct ip_addr *public_ip,
		     struct nl_link *link, struct err *err)
{
	struct find f = {0};
	int r;

	if (iface) {
		r = nl_link_get_by_name(nl, iface, link);
		if (r == -ENODEV)
			return err_fail(err, CNI_ERR_CONFIG, r, "--iface %s: no such interface",
					iface);
		return r < 0 ? err_kernel(err, r, nl_errmsg(nl), "read link %s", iface) : 0;
	}
	if (public_ip && public_ip->family) {
		r = find_addr(nl, 0, public_ip->family, public_ip, &f);
		if (r < 0)
			return err_kernel(err, r, nl_errmsg(nl), "dump addresses");
	}
	if (!f.found.family) {
		f.ifindex = 0;
		r = nl_route_dump(nl, AF_INET, RT_TABLE_MAIN, default_route_cb, &f);
		if (r < 0)
			return err_kernel(err, r, nl_errmsg(nl), "dump routes");
		if (!f.ifindex)
			return err_fail(
				err, CNI_ERR_CONFIG, -ENOENT,
				"no IPv4 default route to find the node's interface by: give --iface");
	}
	r = nl_link_get_by_index(nl, f.ifindex, link);
	return r < 0 ? err_kernel(err, r, nl_errmsg(nl), "read link %d", f.ifindex) : 0;
}

static int public_addr(struct nl *nl, const struct nl_link *link, int family,
		       const struct ip_addr *given, struct ip_addr *ret, struct err *err)
{
	struct find f;
	int r;

	if (given && given->family) {
		*ret = *given;
		return 0;
	}
	r = find_addr(nl, link->ifindex, family, NULL, &f);
	if (r < 0)
		return err_kernel(err, r, nl_errmsg(nl), "dump addresses of %s", link->name);
	if (!f.found.family)
		return err_fail(err, CNI_ERR_CONFIG, -EADDRNOTAVAIL,
				"interface %s has no global %s address: give %s", link->name,
				family == AF_INET ? "IPv4" : "IPv6",
				family == AF_INET ? "--public-ip" : "--public-ipv6");
	*ret = f.found;
	return 0;
}

int subnet_ident_find(const char *iface, const struct ip_addr *public_ip,
		      const struct ip_addr *public_ipv6, bool want_v6, struct subnet_ident *ret,
		      struct err *err)
{
	struct subnet_ident id = {0};
	struct nl nl = {0};
	struct nl_link link;
	int r = nl_open(&nl, -1);

	if (r < 0)
		return err_fail(err, CNI_ERR_IO, r, "open rtnetlink: %s", strerror(-r));
	r = pick_link(&nl, iface, public_ip, &link, err);
	if (r >= 0)
		r = public_addr(&nl, &link, AF_INET, public_ip, &id.public_ip, err);
	if (r >= 0 && want_v6)
		r = public_addr(&nl, &link, AF_INET6, public_ipv6, &id.public_ipv6, err);
	nl_close(&nl);
	if (r < 0)
		return r;
	snprintf(id.iface, sizeof(id.iface), "%s", link.name);
	id.ifindex = link.ifindex;
	id.mtu = link.mtu;
	*ret = id;
	return 0;
}
