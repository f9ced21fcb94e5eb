// SPDX-License-Identifier: Apache-2.0
/* A Linux bridge as sluice-bridge uses it: the shared device (created once, racing
 * creators both succeed, never rolled back), its ports' flags and VLANs, and gateway
 * addresses. Failures are recorded on the call with cni_fail(). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include "node/brdev.h"
#include "base/err.h"
#include "base/log.h"
#include "base/name.h"
#include "base/sysctl.h"
#include "base/vec.h"
#include "cni/result.h"
#include "netlink/nl.h"
#include "netlink/nl_link.h"
#include "netlink/nl_route.h"

int brdev_ensure(struct err *err, struct nl *nl, const char *name, unsigned int mtu,
		 bool vlan_filtering, bool promisc, struct nl_link *ret)
{
	struct nl_link br;
	char path[64];
	uint8_t mac[6];
	bool created = false;
	int r;

	r = nl_link_get_by_name(nl, name, &br);
	if (r == -ENODEV) {
		/* a fixed MAC: otherwise the bridge takes the lowest port MAC, which changes
		 * as pods come and go (upstream pins it for the same reason) */
		if ((r = mac_random(mac)) < 0)
			return err_fail(err, CNI_ERR_INTERNAL, r, "random MAC: %s", strerror(-r));
		r = nl_link_add_bridge(nl, name, mtu, mac, vlan_filtering);
		if (r < 0 && r != -EEXIST)
			return err_kernel(err, r, nl_errmsg(nl), "create bridge %s", name);
		created = r == 0;
		r = nl_link_get_by_name(nl, name, &br);
	}
	if (r < 0)
		return err_kernel(err, r, nl_errmsg(nl), "look up bridge %s", name);
	if (strcmp(br.kind, "bridge"))
		return err_fail(err, CNI_ERR_EXISTS, -EEXIST,
				"\"%s\" already exists but is not a bridge", name);
	if (vlan_filtering && !br.vlan_filtering &&
	    (r = nl_link_set_bridge_vlan_filtering(nl, br.ifindex, true)) < 0)
		return err_kernel(err, r, nl_errmsg(nl), "enable vlan_filtering on %s", name);
	if (promisc && !(br.flags & IFF_PROMISC) &&
	    (r = nl_link_set_promisc(nl, br.ifindex, true)) < 0)
		return err_kernel(err, r, nl_errmsg(nl), "set %s promiscuous", name);
	if (!(br.flags & IFF_UP)) {
		/* we own the bridge's routes: no router advertisements */
		snprintf(path, sizeof(path), "net/ipv6/conf/%s/accept_ra", name);
		(void)sysctl_set(path, "0");
		/* nor DAD on its link-local address, the source of the neighbour solicitations
		 * for what the node forwards to pods: while DAD keeps it tentative (1 to 2 s
		 * after the first port comes up) none is sent, and IPv6 from outside reaches no
		 * pod; its gateway addresses are added without DAD for the same reason */
		snprintf(path, sizeof(path), "net/ipv6/conf/%s/accept_dad", name);
		(void)sysctl_set(path, "0");
		if ((r = nl_link_set_up(nl, br.ifindex)) < 0)
			return err_kernel(err, r, nl_errmsg(nl), "set %s up", name);
		br.flags |= IFF_UP;
	}
	*ret = br;
	return created;
}

struct vlans {
	struct nl_vlan *v;
	size_t n, cap;
};

static int collect_vlan(const struct nl_vlan *v, void *data)
{
	struct vlans *l = data;

	if (vec_room(&l->v, &l->cap, l->n, sizeof(*l->v), 8) < 0)
		return -ENOMEM;
	l->v[l->n++] = *v;
	return 0;
}

/* The port's VLANs (the bridge's default VLAN 1 among them) are collected first and
 * deleted after the dump: a request sent from inside the callback would reuse the socket
 * and buffer the dump is still being read from. */
static int del_port_vlans(struct nl *nl, int idx)
{
	struct vlans l = {0};
	int r = nl_bridge_vlan_dump(nl, idx, collect_vlan, &l);

	for (size_t i = 0; r >= 0 && i < l.n; i++)
		r = nl_bridge_vlan_del(nl, l.v[i].ifindex, l.v[i].vid_start, l.v[i].vid_end,
				       NL_VLAN_MASTER);
	free(l.v);
	return r;
}

static int port_vlans(struct nl *nl, int idx, const struct brdev_port *p)
{
	const unsigned int pvid = NL_VLAN_PVID | NL_VLAN_UNTAGGED | NL_VLAN_MASTER;
	int r = 0;

	if (!p->preserve_default_vlan && (r = del_port_vlans(nl, idx)) < 0)
		return r;
	if (p->vlan &&
	    (r = nl_bridge_vlan_add(nl, idx, (uint16_t)p->vlan, (uint16_t)p->vlan, pvid)) < 0)
		return r;
	for (int v = 1; p->trunk && v <= 4094; v++) {
		int end = v;

		if (!(p->trunk[v / 8] & (1U << (v % 8))))
			continue;
		/* one message per run of consecutive IDs */
		while (end < 4094 && (p->trunk[(end + 1) / 8] & (1U << ((end + 1) % 8))))
			end++;
		r = nl_bridge_vlan_add(nl, idx, (uint16_t)v, (uint16_t)end, NL_VLAN_MASTER);
		if (r < 0)
			return r;
		v = end;
	}
	/* upstream's compatibility rule: a trunk without vlan keeps VLAN 1 as native VLAN */
	if (!p->vlan && p->trunk)
		r = nl_bridge_vlan_add(nl, idx, 1, 1, pvid);
	return r;
}

int brdev_port_setup(struct err *err, struct nl *nl, int ifindex, const struct brdev_port *p)
{
	struct nl_brport bp = {.has = 0};
	int r;

	if (p->hairpin || p->isolated) {
		bp.has = NL_BRPORT_HAS_HAIRPIN | NL_BRPORT_HAS_ISOLATED;
		bp.hairpin = p->hairpin;
		bp.isolated = p->isolated;
		if ((r = nl_link_set_brport(nl, ifindex, &bp)) < 0)
			return err_kernel(err, r, nl_errmsg(nl), "set hairpin/isolation");
	}
	if ((p->vlan || p->trunk) && (r = port_vlans(nl, ifindex, p)) < 0)
		return err_kernel(err, r, nl_errmsg(nl), "set port VLANs");
	return 0;
}

struct addrs {
	struct ip_prefix a[32];
	size_t n;
};

static int collect_addr(const struct nl_addr *a, void *data)
{
	struct addrs *s = data;

	if (s->n < sizeof(s->a) / sizeof(s->a[0]) && a->scope == RT_SCOPE_UNIVERSE)
		s->a[s->n++] = a->prefix;
	return 0;
}

/* Upstream's ensureAddr: one IPv4 address (a different one fails unless force replaces
 * it); IPv6 addresses side by side unless their prefixes overlap. */
static int ensure_addr(struct err *err, struct nl *nl, int idx, const char *dev,
		       const struct addrs *have, const struct ip_prefix *gw, bool force)
{
	char x[IP_STRLEN];
	int r;

	for (size_t i = 0; i < have->n; i++) {
		const struct ip_prefix *h = &have->a[i];

		if (h->ip.family != gw->ip.family)
			continue;
		if (ip_eq(&h->ip, &gw->ip) && h->len == gw->len)
			return 0;
		if (gw->ip.family == AF_INET6 && !ip_prefix_contains(h, &gw->ip) &&
		    !ip_prefix_contains(gw, &h->ip))
			continue;
		if (!force)
			return err_fail(err, CNI_ERR_CONFIG, -EEXIST,
					"\"%s\" already has an IP address different from %s", dev,
					ip_prefix_fmt(gw, x));
		r = nl_addr_del(nl, idx, h);
		if (r < 0 && r != -EADDRNOTAVAIL)
			return err_kernel(err, r, nl_errmsg(nl), "remove %s from %s",
					       ip_prefix_fmt(h, x), dev);
	}
	r = nl_addr_add(nl, idx, gw, IFA_F_NODAD, false);
	if (r < 0 && r != -EEXIST) /* EEXIST: a concurrent ADD put it there first */
		return err_kernel(err, r, nl_errmsg(nl), "add %s to %s", ip_prefix_fmt(gw, x),
				       dev);
	if (r == 0)
		log_debug("added %s to %s", ip_prefix_fmt(gw, x), dev);
	return r == 0;
}

int brdev_gateways(struct err *err, struct nl *nl, int ifindex, const char *dev,
		   const struct cni_result *res, bool force)
{
	struct addrs have = {.n = 0};
	bool fam4 = false, fam6 = false;
	int r, added = 0;

	if ((r = nl_addr_dump(nl, ifindex, AF_UNSPEC, collect_addr, &have)) < 0)
		return err_kernel(err, r, nl_errmsg(nl), "read addresses of %s", dev);
	for (size_t i = 0; i < res->n_ips; i++) {
		struct ip_prefix gw = {res->ips[i].gateway, res->ips[i].address.len};

		if (!gw.ip.family)
			continue;
		if ((r = ensure_addr(err, nl, ifindex, dev, &have, &gw, force)) < 0)
			return r;
		added += r;
		fam4 |= gw.ip.family == AF_INET;
		fam6 |= gw.ip.family == AF_INET6;
	}
	if (fam4 && (r = sysctl_set("net/ipv4/ip_forward", "1")) < 0)
		return err_fail(err, CNI_ERR_IO, r, "enable IPv4 forwarding: %s", strerror(-r));
	if (fam6 && (r = sysctl_set("net/ipv6/conf/all/forwarding", "1")) < 0)
		return err_fail(err, CNI_ERR_IO, r, "enable IPv6 forwarding: %s", strerror(-r));
	return added;
}

int brdev_vlan_gw(struct err *err, struct nl *nl, const struct nl_link *br, int vlan,
		  unsigned int mtu, bool preserve_default_vlan, struct nl_link *ret)
{
	struct brdev_port port = {.vlan = vlan, .preserve_default_vlan = preserve_default_vlan};
	struct nl_veth v = {.peer_netns_fd = -1, .mtu = mtu, .master = br->ifindex, .up = true};
	char name[32], pname[IFNAMSIZ], vid[8];
	struct nl_link l;
	uint8_t mac[6], pmac[6];
	bool created;
	int r;

	if (snprintf(name, sizeof(name), "%s.%d", br->name, vlan) >= IFNAMSIZ)
		return err_fail(err, CNI_ERR_CONFIG, -ENAMETOOLONG,
				"vlan gateway interface name %s is longer than 15 bytes", name);
	r = nl_link_get_by_name(nl, name, ret);
	if (r != -ENODEV)
		return r < 0 ? err_kernel(err, r, nl_errmsg(nl), "look up %s", name) : 0;
	snprintf(vid, sizeof(vid), "%d", vlan);
	name_hash(pname, "veth", br->name, vid);
	if ((r = mac_random(mac)) < 0 || (r = mac_random(pmac)) < 0)
		return err_fail(err, CNI_ERR_INTERNAL, r, "random MAC: %s", strerror(-r));
	v.name = pname;
	v.mac = pmac;
	v.peer = name;
	v.peer_mac = mac;
	r = nl_link_add_veth(nl, &v);
	if (r == 0 && ((r = nl_link_get_by_name(nl, pname, &l)) < 0 ||
		       (r = brdev_port_setup(err, nl, l.ifindex, &port)) < 0)) {
		/* half set up, a later ADD would take it as it is: remove the pair */
		if (!err->code)
			r = err_kernel(err, r, nl_errmsg(nl), "look up %s", pname);
		(void)nl_link_del_by_name(nl, pname);
		return r;
	}
	if (r < 0 && r != -EEXIST) /* EEXIST: a concurrent ADD made it */
		return err_kernel(err, r, nl_errmsg(nl), "create %s", name);
	created = r == 0;
	if ((r = nl_link_get_by_name(nl, name, ret)) < 0 ||
	    (!(ret->flags & IFF_UP) && (r = nl_link_set_up(nl, ret->ifindex)) < 0))
		return err_kernel(err, r, nl_errmsg(nl), "set %s up", name);
	return created;
}
