// SPDX-License-Identifier: Apache-2.0
/* Addresses, routes and neighbours over rtnetlink: one builder per operation and one parser
 * per message type, each checked against a static policy table. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>

#include "netlink/nl_route.h"
#include "netlink/nl.h"

static const enum mnl_attr_data_type addr_policy[IFA_MAX + 1] = {
	[IFA_ADDRESS] = MNL_TYPE_BINARY,   [IFA_LOCAL] = MNL_TYPE_BINARY,
	[IFA_BROADCAST] = MNL_TYPE_BINARY, [IFA_LABEL] = MNL_TYPE_NUL_STRING,
	[IFA_FLAGS] = MNL_TYPE_U32,
};

static const enum mnl_attr_data_type route_policy[RTA_MAX + 1] = {
	[RTA_DST] = MNL_TYPE_BINARY,	 [RTA_GATEWAY] = MNL_TYPE_BINARY,
	[RTA_PREFSRC] = MNL_TYPE_BINARY, [RTA_OIF] = MNL_TYPE_U32,
	[RTA_PRIORITY] = MNL_TYPE_U32,	 [RTA_TABLE] = MNL_TYPE_U32,
	[RTA_METRICS] = MNL_TYPE_NESTED,
};

static const enum mnl_attr_data_type metrics_policy[RTAX_MAX + 1] = {
	[RTAX_MTU] = MNL_TYPE_U32,
	[RTAX_ADVMSS] = MNL_TYPE_U32,
};

static const enum mnl_attr_data_type neigh_policy[NDA_MAX + 1] = {
	[NDA_DST] = MNL_TYPE_BINARY,
	[NDA_LLADDR] = MNL_TYPE_BINARY,
	[NDA_MASTER] = MNL_TYPE_U32,
};

static bool family_ok(int family)
{
	return family == AF_INET || family == AF_INET6;
}

/* Copies an address attribute of family (AF_UNSPEC: guessed from its length). */
static int get_ip(const struct nlattr *a, int family, struct ip_addr *ip)
{
	uint16_t len = mnl_attr_get_payload_len(a);

	if (family == AF_UNSPEC || family == AF_BRIDGE)
		family = len == 16 ? AF_INET6 : AF_INET;
	if (!family_ok(family) || len != ip_bytes(family))
		return -EINVAL;
	memset(ip, 0, sizeof(*ip));
	ip->family = family;
	memcpy(ip->b, mnl_attr_get_payload(a), len);
	return 0;
}

static void put_ip(struct nlmsghdr *nlh, uint16_t type, const struct ip_addr *ip)
{
	mnl_attr_put(nlh, type, ip_bytes(ip->family), ip->b);
}

int nl_addr_parse(const struct nlmsghdr *nlh, struct nl_addr *ret_addr)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFA_MAX + 1], *a;
	struct nl_addr addr = {0};

	if (nl_parse(nlh, sizeof(*ifa), addr_policy, IFA_MAX, tb) < 0)
		return -EINVAL;
	/* IFA_LOCAL is the address itself; IFA_ADDRESS is the peer on point-to-point links. */
	a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (!a || get_ip(a, ifa->ifa_family, &addr.prefix.ip) < 0)
		return -EINVAL;
	addr.prefix.len = ifa->ifa_prefixlen;
	addr.ifindex = (int)ifa->ifa_index;
	addr.scope = ifa->ifa_scope;
	addr.flags = tb[IFA_FLAGS] ? mnl_attr_get_u32(tb[IFA_FLAGS]) : ifa->ifa_flags;
	if (tb[IFA_LABEL])
		snprintf(addr.label, sizeof(addr.label), "%s", mnl_attr_get_str(tb[IFA_LABEL]));
	*ret_addr = addr;
	return 0;
}

static struct nlmsghdr *addr_msg(struct nl *nl, uint16_t type, uint16_t flags, int ifindex,
				 const struct ip_prefix *p)
{
	struct nlmsghdr *nlh = nl_msg(nl, type, flags);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));

	ifa->ifa_family = p->ip.family;
	ifa->ifa_prefixlen = p->len;
	ifa->ifa_index = ifindex;
	put_ip(nlh, IFA_LOCAL, &p->ip);
	put_ip(nlh, IFA_ADDRESS, &p->ip);
	return nlh;
}

static bool prefix_ok(int ifindex, const struct ip_prefix *p)
{
	return ifindex > 0 && family_ok(p->ip.family) && p->len <= ip_bits(p->ip.family);
}

int nl_addr_add(struct nl *nl, int ifindex, const struct ip_prefix *p, unsigned int flags,
		bool replace)
{
	struct nlmsghdr *nlh;
	struct ip_addr brd;

	if (!prefix_ok(ifindex, p))
		return nl_fail(nl, -EINVAL, "invalid ifindex or address");
	nlh = addr_msg(nl, RTM_NEWADDR, NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL),
		       ifindex, p);
	((struct ifaddrmsg *)mnl_nlmsg_get_payload(nlh))->ifa_flags = flags & 0xff;
	/* ifa_flags has 8 bits; IFA_F_NOPREFIXROUTE and later flags need IFA_FLAGS. */
	if (flags)
		mnl_attr_put_u32(nlh, IFA_FLAGS, flags);
	if (p->ip.family == AF_INET && p->len < 31) {
		brd = ip_prefix_broadcast(p);
		put_ip(nlh, IFA_BROADCAST, &brd);
	}
	return nl_talk(nl, nlh, NULL, NULL);
}

int nl_addr_del(struct nl *nl, int ifindex, const struct ip_prefix *p)
{
	if (!prefix_ok(ifindex, p))
		return nl_fail(nl, -EINVAL, "invalid ifindex or address");
	return nl_talk(nl, addr_msg(nl, RTM_DELADDR, 0, ifindex, p), NULL, NULL);
}

struct addr_dump {
	int ifindex;
	int (*cb)(const struct nl_addr *addr, void *data);
	void *data;
};

static int addr_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct addr_dump *d = data;
	struct nl_addr a;

	if (nlh->nlmsg_type != RTM_NEWADDR)
		return 0;
	if (nl_addr_parse(nlh, &a) < 0)
		return -EBADMSG;
	/* Kernels without strict checking ignore the ifindex filter. */
	if (d->ifindex && a.ifindex != d->ifindex)
		return 0;
	return d->cb(&a, d->data);
}

int nl_addr_dump(struct nl *nl, int ifindex, int family,
		 int (*cb)(const struct nl_addr *addr, void *data), void *data)
{
	struct addr_dump d = {ifindex, cb, data};
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;

	if (ifindex < 0 || (family != AF_UNSPEC && !family_ok(family)))
		return nl_fail(nl, -EINVAL, "invalid ifindex or family");
	nlh = nl_msg(nl, RTM_GETADDR, 0);
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = family;
	ifa->ifa_index = ifindex;
	return nl_dump(nl, nlh, addr_dump_cb, &d);
}

int nl_route_parse(const struct nlmsghdr *nlh, struct nl_route *ret_route)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[RTA_MAX + 1], *mx[RTAX_MAX + 1];
	struct nl_route rt = {0};

	if (nl_parse(nlh, sizeof(*rtm), route_policy, RTA_MAX, tb) < 0 ||
	    !family_ok(rtm->rtm_family))
		return -EINVAL;
	rt.family = rtm->rtm_family;
	rt.dst.ip.family = rt.family;
	rt.dst.len = rtm->rtm_dst_len;
	rt.table = tb[RTA_TABLE] ? mnl_attr_get_u32(tb[RTA_TABLE]) : rtm->rtm_table;
	rt.scope = rtm->rtm_scope;
	rt.protocol = rtm->rtm_protocol;
	rt.type = rtm->rtm_type;
	rt.flags = rtm->rtm_flags;
	if ((tb[RTA_DST] && get_ip(tb[RTA_DST], rt.family, &rt.dst.ip) < 0) ||
	    (tb[RTA_GATEWAY] && get_ip(tb[RTA_GATEWAY], rt.family, &rt.gw) < 0) ||
	    (tb[RTA_PREFSRC] && get_ip(tb[RTA_PREFSRC], rt.family, &rt.prefsrc) < 0))
		return -EINVAL;
	if (tb[RTA_OIF])
		rt.oif = (int)mnl_attr_get_u32(tb[RTA_OIF]);
	if (tb[RTA_PRIORITY])
		rt.priority = mnl_attr_get_u32(tb[RTA_PRIORITY]);
	if (tb[RTA_METRICS]) {
		if (nl_parse_nested(tb[RTA_METRICS], metrics_policy, RTAX_MAX, mx) < 0)
			return -EINVAL;
		rt.mtu = mx[RTAX_MTU] ? mnl_attr_get_u32(mx[RTAX_MTU]) : 0;
		rt.advmss = mx[RTAX_ADVMSS] ? mnl_attr_get_u32(mx[RTAX_ADVMSS]) : 0;
	}
	*ret_route = rt;
	return 0;
}

static int route_family(struct nl *nl, const struct nl_route *rt)
{
	int f = rt->family ? rt->family : rt->dst.ip.family;

	if (!family_ok(f) || rt->dst.len > ip_bits(f) ||
	    (rt->dst.ip.family && rt->dst.ip.family != f) ||
	    (rt->gw.family && rt->gw.family != f) ||
	    (rt->prefsrc.family && rt->prefsrc.family != f))
		return nl_fail(nl, -EINVAL, "invalid route: family, prefix or gateway mismatch");
	return f;
}

/* Builds RTM_NEWROUTE / RTM_DELROUTE; a delete leaves unset fields as wildcards. */
static struct nlmsghdr *route_msg(struct nl *nl, uint16_t type, uint16_t flags,
				  const struct nl_route *rt, int family)
{
	struct nlmsghdr *nlh = nl_msg(nl, type, flags);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	unsigned int table = rt->table ? rt->table : RT_TABLE_MAIN;
	bool add = type == RTM_NEWROUTE;

	rtm->rtm_family = family;
	rtm->rtm_dst_len = rt->dst.len;
	rtm->rtm_table = table < 256 ? table : RT_TABLE_UNSPEC;
	rtm->rtm_protocol = rt->protocol || !add ? rt->protocol : RTPROT_BOOT;
	rtm->rtm_scope = add ? rt->scope : RT_SCOPE_NOWHERE;
	rtm->rtm_type = rt->type || !add ? rt->type : RTN_UNICAST;
	rtm->rtm_flags = rt->flags;
	mnl_attr_put_u32(nlh, RTA_TABLE, table);
	if (rt->dst.len)
		put_ip(nlh, RTA_DST, &rt->dst.ip);
	if (rt->gw.family)
		put_ip(nlh, RTA_GATEWAY, &rt->gw);
	if (rt->prefsrc.family)
		put_ip(nlh, RTA_PREFSRC, &rt->prefsrc);
	if (rt->oif)
		mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)rt->oif);
	if (rt->priority)
		mnl_attr_put_u32(nlh, RTA_PRIORITY, rt->priority);
	return nlh;
}

int nl_route_add(struct nl *nl, const struct nl_route *rt, bool replace)
{
	int family = route_family(nl, rt);
	struct nlmsghdr *nlh;
	struct nlattr *mx;

	if (family < 0)
		return family;
	nlh = route_msg(nl, RTM_NEWROUTE, NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL), rt,
			family);
	if (rt->mtu || rt->advmss) {
		mx = mnl_attr_nest_start(nlh, RTA_METRICS);
		if (rt->mtu)
			mnl_attr_put_u32(nlh, RTAX_MTU, rt->mtu);
		if (rt->advmss)
			mnl_attr_put_u32(nlh, RTAX_ADVMSS, rt->advmss);
		mnl_attr_nest_end(nlh, mx);
	}
	return nl_talk(nl, nlh, NULL, NULL);
}

int nl_route_del(struct nl *nl, const struct nl_route *rt)
{
	int family = route_family(nl, rt);

	if (family < 0)
		return family;
	return nl_talk(nl, route_msg(nl, RTM_DELROUTE, 0, rt, family), NULL, NULL);
}

struct route_dump {
	unsigned int table;
	int (*cb)(const struct nl_route *rt, void *data);
	void *data;
};

static int route_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct route_dump *d = data;
	struct nl_route rt;

	if (nlh->nlmsg_type != RTM_NEWROUTE)
		return 0;
	/* Other families (MPLS, IPMR...) share the message type; skip them. */
	if (nl_route_parse(nlh, &rt) < 0)
		return 0;
	if (d->table && rt.table != d->table)
		return 0;
	return d->cb(&rt, d->data);
}

int nl_route_dump(struct nl *nl, int family, unsigned int table,
		  int (*cb)(const struct nl_route *rt, void *data), void *data)
{
	struct route_dump d = {table, cb, data};
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	int r;

	if (family != AF_UNSPEC && !family_ok(family))
		return nl_fail(nl, -EINVAL, "invalid family");
	nlh = nl_msg(nl, RTM_GETROUTE, 0);
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = family;
	if (table)
		mnl_attr_put_u32(nlh, RTA_TABLE, table);
	r = nl_dump(nl, nlh, route_dump_cb, &d);
	/* A table that was never created has no routes: "FIB table does not exist". */
	if (r == -ENOENT && table) {
		nl->errmsg[0] = '\0';
		return 0;
	}
	return r;
}

int nl_neigh_parse(const struct nlmsghdr *nlh, struct nl_neigh *ret_neigh)
{
	const struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[NDA_MAX + 1];
	struct nl_neigh n = {0};

	if (nl_parse(nlh, sizeof(*ndm), neigh_policy, NDA_MAX, tb) < 0)
		return -EINVAL;
	n.family = ndm->ndm_family;
	n.ifindex = ndm->ndm_ifindex;
	n.state = ndm->ndm_state;
	n.flags = ndm->ndm_flags;
	if (tb[NDA_DST] && get_ip(tb[NDA_DST], n.family, &n.ip) < 0)
		return -EINVAL;
	if (tb[NDA_LLADDR] && mnl_attr_get_payload_len(tb[NDA_LLADDR]) == 6) {
		n.has |= NL_NEIGH_HAS_MAC;
		memcpy(n.mac, mnl_attr_get_payload(tb[NDA_LLADDR]), 6);
	}
	if (tb[NDA_MASTER])
		n.master = (int)mnl_attr_get_u32(tb[NDA_MASTER]);
	*ret_neigh = n;
	return 0;
}

static int neigh_msg(struct nl *nl, uint16_t type, uint16_t flags, const struct nl_neigh *n)
{
	struct nlmsghdr *nlh;
	struct ndmsg *ndm;

	if (n->ifindex <= 0 || (n->ip.family && !family_ok(n->ip.family)))
		return nl_fail(nl, -EINVAL, "invalid ifindex or address");
	if (n->family == AF_BRIDGE ? !(n->has & NL_NEIGH_HAS_MAC)
				   : !family_ok(n->family) || n->ip.family != n->family)
		return nl_fail(nl, -EINVAL, "invalid neighbour: family, address or MAC");
	nlh = nl_msg(nl, type, flags);
	ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
	ndm->ndm_family = n->family;
	ndm->ndm_ifindex = n->ifindex;
	ndm->ndm_state = n->state ? n->state : NUD_PERMANENT;
	ndm->ndm_flags = n->flags;
	if (n->ip.family)
		put_ip(nlh, NDA_DST, &n->ip);
	if (n->has & NL_NEIGH_HAS_MAC)
		mnl_attr_put(nlh, NDA_LLADDR, 6, n->mac);
	return nl_talk(nl, nlh, NULL, NULL);
}

int nl_neigh_add(struct nl *nl, const struct nl_neigh *n, bool replace)
{
	return neigh_msg(nl, RTM_NEWNEIGH, NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL),
			 n);
}

int nl_neigh_del(struct nl *nl, const struct nl_neigh *n)
{
	return neigh_msg(nl, RTM_DELNEIGH, 0, n);
}

static struct nl_neigh fdb_entry(int ifindex, const uint8_t mac[6], const struct ip_addr *dst)
{
	struct nl_neigh n = {
		.has = NL_NEIGH_HAS_MAC,
		.family = AF_BRIDGE,
		.ifindex = ifindex,
		.state = NUD_PERMANENT,
		.flags = NTF_SELF,
	};

	memcpy(n.mac, mac, 6);
	if (dst)
		n.ip = *dst;
	return n;
}

int nl_fdb_add(struct nl *nl, int ifindex, const uint8_t mac[6], const struct ip_addr *dst,
	       bool replace)
{
	struct nl_neigh n = fdb_entry(ifindex, mac, dst);

	return nl_neigh_add(nl, &n, replace);
}

int nl_fdb_del(struct nl *nl, int ifindex, const uint8_t mac[6], const struct ip_addr *dst)
{
	struct nl_neigh n = fdb_entry(ifindex, mac, dst);

	return nl_neigh_del(nl, &n);
}

struct neigh_dump {
	int ifindex;
	int (*cb)(const struct nl_neigh *n, void *data);
	void *data;
};

static int neigh_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct neigh_dump *d = data;
	struct nl_neigh n;

	if (nlh->nlmsg_type != RTM_NEWNEIGH)
		return 0;
	if (nl_neigh_parse(nlh, &n) < 0)
		return -EBADMSG;
	if (d->ifindex && n.ifindex != d->ifindex)
		return 0;
	return d->cb(&n, d->data);
}

int nl_neigh_dump(struct nl *nl, int family, int ifindex,
		  int (*cb)(const struct nl_neigh *n, void *data), void *data)
{
	struct neigh_dump d = {ifindex, cb, data};
	struct nlmsghdr *nlh;
	struct ndmsg *ndm;

	if (ifindex < 0 || (family != AF_UNSPEC && family != AF_BRIDGE && !family_ok(family)))
		return nl_fail(nl, -EINVAL, "invalid ifindex or family");
	nlh = nl_msg(nl, RTM_GETNEIGH, 0);
	ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
	ndm->ndm_family = family;
	/* FDB dumps filter on the header's ifindex; ARP/NDP dumps on NDA_IFINDEX. */
	if (family == AF_BRIDGE)
		ndm->ndm_ifindex = ifindex;
	else if (ifindex)
		mnl_attr_put_u32(nlh, NDA_IFINDEX, (uint32_t)ifindex);
	return nl_dump(nl, nlh, neigh_dump_cb, &d);
}
