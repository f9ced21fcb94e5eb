// SPDX-License-Identifier: Apache-2.0
/* sluiced: the node's side in the kernel. The VXLAN device(s) and the masquerade table made
 * what the lease and the config say, and an rtnetlink monitor that notices when someone
 * else deletes or changes our device, FDB entries, neighbours or routes. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include <linux/filter.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>

#include "base/mac.h"
#include "base/err.h"
#include "base/log.h"
#include "netlink/nl_route.h"
#include "overlay/omasq.h"
#include "overlay/peer.h"
#include "overlay/vxdev.h"
#include "sluiced.h"

static void dev_of(const struct agent *a, int family, struct overlay_dev *d)
{
	memset(d, 0, sizeof(*d));
	d->family = family;
	d->vni = a->conf.vni;
	d->port = a->conf.port;
	snprintf(d->underlay, sizeof(d->underlay), "%s", a->id.iface);
	d->local = family == AF_INET ? a->lease.public_ip : a->lease.public_ipv6;
	(void)mac_parse(a->lease.vtep_mac, d->mac);
	/* both devices the MTU of the state file, as sluice-vxlan-overlay makes them: the two
	 * must agree or each would undo the other's */
	d->mtu = subnet_node_mtu(&a->conf, &a->id);
	d->subnet = family == AF_INET ? a->lease.subnet : a->lease.subnet6;
	d->learning = a->conf.learning;
	d->gbp = a->conf.gbp;
}

static int ensure_dev(struct agent *a, int family, int *ifindex)
{
	char what[OVERLAY_WHAT_MAX] = "", name[IFNAMSIZ];
	struct overlay_dev d;
	struct err e = {0};
	int r;

	dev_of(a, family, &d);
	overlay_dev_name(family, d.vni, name);
	r = overlay_dev_ensure(&a->nl, &d, ifindex, what, &e);
	if (r < 0) {
		log_error("device %s: %s%s%s", name, e.msg, e.details[0] ? ": " : "", e.details);
		return r;
	}
	if (r > 0) {
		log_info("device %s: %s", name, what[0] ? what : "changed");
		a->status_dirty = true;
	}
	return 0;
}

int agent_dataplane(struct agent *a)
{
	struct omasq_nets n = {0};
	struct err e = {0};
	int r, r6 = 0, m;

	r = ensure_dev(a, AF_INET, &a->dev4);
	if (a->conf.enable_ipv6 && a->lease.subnet6.ip.family && a->lease.public_ipv6.family)
		r6 = ensure_dev(a, AF_INET6, &a->dev6);
	else {
		/* IPv6 turned off (SIGHUP): its device goes, and its peers with it */
		char name[IFNAMSIZ];

		overlay_dev_name(AF_INET6, a->conf.vni, name);
		r6 = overlay_dev_del(&a->nl, AF_INET6, a->conf.vni, &e);
		if (r6 < 0)
			log_error("device %s: %s%s%s", name, e.msg, e.details[0] ? ": " : "",
				  e.details);
		else if (r6 > 0)
			log_info("device %s: deleted (IPv6 is off)", name);
		r6 = r6 < 0 ? r6 : 0;
		a->dev6 = 0;
	}
	if (!a->o.ipmasq)
		return r < 0 ? r : r6;
	n.network = a->conf.network;
	n.subnet = a->lease.subnet;
	if (a->conf.enable_ipv6 && a->lease.subnet6.ip.family) {
		n.network6 = a->conf.ipv6_network;
		n.subnet6 = a->lease.subnet6;
	}
	m = omasq_ensure(&a->nft, &n, &e);
	if (m < 0)
		log_error("masquerade table %s: %s%s%s", OMASQ_TABLE, e.msg,
			  e.details[0] ? ": " : "", e.details);
	else if (m > 0)
		log_info("masquerade table %s: set for %s", OMASQ_TABLE,
			 ip_prefix_fmt(&n.subnet, (char[IP_STRLEN]){0}));
	return r < 0 ? r : r6 < 0 ? r6 : m < 0 ? m : 0;
}

void agent_dev_where(const struct agent *a, int family, struct overlay_where *w)
{
	w->family = family;
	w->dev = family == AF_INET ? a->dev4 : a->dev6;
	w->underlay = a->id.ifindex;
}

/* The notifications of our own requests (routes and neighbours carry the requester's port
 * id; FDB entries, link and deleted neighbours carry 0) dropped by the kernel as it
 * broadcasts them, before they are queued: a burst of a thousand peers would otherwise
 * queue two thousand of them for us to read one recv() at a time, and ignore
 * (event_touches() still does, should the filter be missing). */
static void monitor_filter(int fd, uint32_t portid)
{
	struct sock_filter f[] = {
		/* a classic BPF word load is big-endian: compared with portid in network order */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct nlmsghdr, nlmsg_pid)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htonl(portid), 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0),
		BPF_STMT(BPF_RET | BPF_K, 0xffffffff),
	};
	struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};

	if (portid && setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0)
		log_debug("rtnetlink monitor: no socket filter (%s): our own changes are read "
			  "and ignored",
			  strerror(errno));
}

int agent_monitor_open(struct agent *a)
{
	static const int groups[] = {RTNLGRP_LINK,	 RTNLGRP_NEIGH,	      RTNLGRP_IPV4_ROUTE,
				     RTNLGRP_IPV6_ROUTE, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR};
	int r, fd, sz = 4 << 20;
	size_t i;

	r = nl_socket_open(NETLINK_ROUTE, -1, &a->mon);
	if (r < 0)
		return r;
	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		int g = groups[i];

		if (mnl_socket_setsockopt(a->mon, NETLINK_ADD_MEMBERSHIP, &g, sizeof(g)) < 0)
			return -errno;
	}
	fd = mnl_socket_get_fd(a->mon);
	/* a burst of our own changes (1,000 peers) must not overflow it: ENOBUFS only costs
	 * a full resync, but costs it */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
		return -errno;
	monitor_filter(fd, a->nl.portid);
	a->monfd = fd;
	return 0;
}

static bool ours_dev(const struct agent *a, int ifindex)
{
	return ifindex > 0 && (ifindex == a->dev4 || ifindex == a->dev6);
}

static bool link_touches(const struct agent *a, const struct nlmsghdr *nlh)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *at;
	char n4[IFNAMSIZ], n6[IFNAMSIZ];

	if (ours_dev(a, ifi->ifi_index) || ifi->ifi_index == a->id.ifindex)
		return true;
	/* our device made anew by someone else (sluice-vxlan-overlay) has a new index */
	overlay_dev_name(AF_INET, a->conf.vni, n4);
	overlay_dev_name(AF_INET6, a->conf.vni, n6);
	mnl_attr_for_each(at, nlh, sizeof(*ifi)) {
		if (mnl_attr_get_type(at) == IFLA_IFNAME &&
		    mnl_attr_validate(at, MNL_TYPE_NUL_STRING) == 0)
			return !strcmp(mnl_attr_get_str(at), n4) ||
			       (a->conf.enable_ipv6 && !strcmp(mnl_attr_get_str(at), n6));
	}
	return false;
}

static bool route_touches(const struct agent *a, const struct nlmsghdr *nlh)
{
	const struct rtmsg *rt = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *at;

	if (rt->rtm_table != RT_TABLE_MAIN)
		return false;
	if (rt->rtm_protocol == OVERLAY_RTPROT)
		return true;
	mnl_attr_for_each(at, nlh, sizeof(*rt)) {
		if (mnl_attr_get_type(at) == RTA_OIF && mnl_attr_validate(at, MNL_TYPE_U32) == 0)
			return ours_dev(a, (int)mnl_attr_get_u32(at));
	}
	return false;
}

/* Is p (a peer of our table) the one this neighbour or FDB entry belongs to? */
static bool neigh_is(const struct overlay_peer *p, const struct nl_neigh *n)
{
	if (p->direct || !(n->has & NL_NEIGH_HAS_MAC) || memcmp(p->mac, n->mac, 6))
		return false;
	if (n->family == AF_BRIDGE)
		return ip_eq(&p->public_ip, &n->ip);
	return ip_eq(&p->subnet.ip, &n->ip);
}

static bool route_is(const struct overlay_peer *p, const struct nl_route *rt)
{
	return rt->dst.len == p->subnet.len && ip_eq(&rt->dst.ip, &p->subnet.ip) &&
	       rt->protocol == OVERLAY_RTPROT &&
	       ip_eq(&rt->gw, p->direct ? &p->public_ip : &p->subnet.ip);
}

#define MACIDX_NONE UINT32_MAX

void agent_macidx_free(struct agent_macidx *x)
{
	free(x->head);
	free(x->next);
	memset(x, 0, sizeof(*x));
}

static size_t mac_hash(const struct agent_macidx *x, const uint8_t mac[6])
{
	uint32_t h = 2166136261U; /* FNV-1a */

	for (int i = 0; i < 6; i++)
		h = (h ^ mac[i]) * 16777619U;
	return h & (x->hcap - 1);
}

static const struct overlay_peer *slot_peer(const struct agent *a, uint32_t s)
{
	const struct agent_peer *p = &a->peers[s / 2];

	return s % 2 ? &p->p6 : &p->p4;
}

/* The index made to match the table: false when it cannot be (no memory) */
static bool macidx_update(struct agent *a)
{
	struct agent_macidx *x = &a->macidx;
	size_t hcap = 64, nslots = 2 * a->npeers;

	if (x->built && x->gen == a->peers_gen)
		return true;
	while (hcap < nslots)
		hcap *= 2;
	if (hcap != x->hcap || nslots > x->nslots) {
		agent_macidx_free(x);
		x->head = malloc(hcap * sizeof(*x->head));
		x->next = malloc((nslots ? nslots : 1) * sizeof(*x->next));
		if (!x->head || !x->next) {
			agent_macidx_free(x);
			return false;
		}
		x->hcap = hcap;
		x->nslots = nslots;
	}
	memset(x->head, 0xff, hcap * sizeof(*x->head));
	for (uint32_t s = 0; s < nslots; s++) {
		const struct agent_peer *p = &a->peers[s / 2];
		size_t h;

		if (!(s % 2 ? p->has6 : p->has4) || slot_peer(a, s)->direct)
			continue;
		h = mac_hash(x, slot_peer(a, s)->mac);
		x->next[s] = x->head[h];
		x->head[h] = s;
	}
	x->gen = a->peers_gen;
	x->built = true;
	return true;
}

/* Does the table hold what this neighbour, FDB entry or route says (the one our own change
 * made)? Route and neighbour notifications of our requests carry our request socket's port
 * id (dropped: monitor_filter(), event_touches()), but FDB ones and a neighbour's deletion
 * carry 0: a notification of ours is known by matching what we programmed, or each change
 * would wake another resync. Neighbours and FDB entries are looked up by MAC; a route,
 * rarely someone else's, is matched against the whole table. */
static bool programmed(struct agent *a, const struct nlmsghdr *nlh, bool neigh)
{
	struct nl_neigh n;
	struct nl_route rt;

	if (neigh ? nl_neigh_parse(nlh, &n) < 0 : nl_route_parse(nlh, &rt) < 0)
		return false;
	if (neigh && !(n.has & NL_NEIGH_HAS_MAC))
		return false;
	if (neigh && macidx_update(a)) {
		for (uint32_t s = a->macidx.head[mac_hash(&a->macidx, n.mac)]; s != MACIDX_NONE;
		     s = a->macidx.next[s])
			if (neigh_is(slot_peer(a, s), &n))
				return true;
		return false;
	}
	for (size_t i = 0; i < a->npeers; i++) {
		const struct agent_peer *p = &a->peers[i];

		if (p->has4 && (neigh ? neigh_is(&p->p4, &n) : route_is(&p->p4, &rt)))
			return true;
		if (p->has6 && (neigh ? neigh_is(&p->p6, &n) : route_is(&p->p6, &rt)))
			return true;
	}
	return false;
}

/* An entry of ours added as we programmed it, or one we do not want deleted: nothing to do */
static bool as_programmed(struct agent *a, const struct nlmsghdr *nlh, bool neigh)
{
	bool del = nlh->nlmsg_type == RTM_DELNEIGH || nlh->nlmsg_type == RTM_DELROUTE;

	return programmed(a, nlh, neigh) != del;
}

/* Our device's address removed, or another global one added (the device holds only the
 * lease's address; the kernel's own link-local ones are left alone) */
static bool addr_touches(const struct agent *a, const struct nlmsghdr *nlh)
{
	const struct ip_prefix *own;
	struct nl_addr ad;
	bool is_own;

	if (nl_addr_parse(nlh, &ad) < 0 || !ours_dev(a, ad.ifindex))
		return false;
	own = ad.prefix.ip.family == AF_INET ? &a->lease.subnet : &a->lease.subnet6;
	is_own = ip_eq(&ad.prefix.ip, &own->ip);
	if (nlh->nlmsg_type == RTM_DELADDR)
		return is_own;
	return !is_own && ad.scope == RT_SCOPE_UNIVERSE;
}

static bool event_touches(struct agent *a, const struct nlmsghdr *nlh)
{
	const struct ndmsg *nd;

	/* our own route and neighbour requests come back carrying our socket's port id (should
	 * monitor_filter() have failed; the others do not: see programmed()) */
	if (nlh->nlmsg_pid && nlh->nlmsg_pid == a->nl.portid)
		return false;
	switch (nlh->nlmsg_type) {
	case RTM_NEWLINK:
	case RTM_DELLINK:
		return nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(struct ifinfomsg)) &&
		       link_touches(a, nlh);
	case RTM_NEWNEIGH:
	case RTM_DELNEIGH:
		if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*nd)))
			return false;
		nd = mnl_nlmsg_get_payload(nlh);
		/* the kernel's own neighbour state changes and learned FDB entries are not ours
		 * to follow */
		return ours_dev(a, nd->ndm_ifindex) &&
		       (nlh->nlmsg_type == RTM_DELNEIGH || (nd->ndm_state & NUD_PERMANENT)) &&
		       !as_programmed(a, nlh, true);
	case RTM_NEWADDR:
	case RTM_DELADDR:
		return addr_touches(a, nlh);
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
		return nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(struct rtmsg)) &&
		       route_touches(a, nlh) && !as_programmed(a, nlh, false);
	}
	return false;
}

bool agent_monitor_read(struct agent *a)
{
	char buf[65536];
	bool touched = false;
	size_t count = 0;

	for (;;) {
		ssize_t n = recv(a->monfd, buf, sizeof(buf), 0);
		const struct nlmsghdr *nlh;
		int len;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ENOBUFS) {
			log_debug("rtnetlink monitor overflowed: resyncing");
			touched = true;
			continue;
		}
		if (n <= 0)
			break;
		len = (int)n;
		for (nlh = (const struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, len);
		     nlh = mnl_nlmsg_next(nlh, &len)) {
			count++;
			if (!touched && event_touches(a, nlh))
				touched = true;
		}
	}
	/* (tests count them: our own burst's routes and neighbours are not among them) */
	if (count)
		log_debug("rtnetlink monitor: %zu notification%s read", count,
			  count == 1 ? "" : "s");
	return touched;
}
