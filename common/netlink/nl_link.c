// SPDX-License-Identifier: Apache-2.0
/* Links over rtnetlink: one builder per operation (each opens and closes its own nests) and
 * one parser for RTM_NEWLINK. Bridge ports and VLANs go through AF_BRIDGE messages. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <libmnl/libmnl.h>

#include "netlink/nl_link.h"
#include "netlink/nl.h"

static const enum mnl_attr_data_type link_policy[IFLA_MAX + 1] = {
	[IFLA_IFNAME] = MNL_TYPE_NUL_STRING, [IFLA_MTU] = MNL_TYPE_U32,
	[IFLA_ADDRESS] = MNL_TYPE_BINARY,    [IFLA_MASTER] = MNL_TYPE_U32,
	[IFLA_LINK] = MNL_TYPE_U32,	     [IFLA_LINK_NETNSID] = MNL_TYPE_U32,
	[IFLA_OPERSTATE] = MNL_TYPE_U8,	     [IFLA_TXQLEN] = MNL_TYPE_U32,
	[IFLA_LINKINFO] = MNL_TYPE_NESTED,   [IFLA_NET_NS_FD] = MNL_TYPE_U32,
	[IFLA_PROTINFO] = MNL_TYPE_NESTED,   [IFLA_AF_SPEC] = MNL_TYPE_NESTED,
	[IFLA_IFALIAS] = MNL_TYPE_BINARY,
};

static const enum mnl_attr_data_type info_policy[IFLA_INFO_MAX + 1] = {
	[IFLA_INFO_KIND] = MNL_TYPE_NUL_STRING,
	[IFLA_INFO_DATA] = MNL_TYPE_NESTED,
	[IFLA_INFO_SLAVE_KIND] = MNL_TYPE_NUL_STRING,
	[IFLA_INFO_SLAVE_DATA] = MNL_TYPE_NESTED,
};

static const enum mnl_attr_data_type brport_policy[IFLA_BRPORT_MAX + 1] = {
	[IFLA_BRPORT_STATE] = MNL_TYPE_U8,    [IFLA_BRPORT_MODE] = MNL_TYPE_U8,
	[IFLA_BRPORT_LEARNING] = MNL_TYPE_U8, [IFLA_BRPORT_UNICAST_FLOOD] = MNL_TYPE_U8,
	[IFLA_BRPORT_ISOLATED] = MNL_TYPE_U8,
};

static const enum mnl_attr_data_type bridge_policy[IFLA_BR_MAX + 1] = {
	[IFLA_BR_VLAN_FILTERING] = MNL_TYPE_U8,
};

static const enum mnl_attr_data_type vxlan_policy[IFLA_VXLAN_MAX + 1] = {
	[IFLA_VXLAN_ID] = MNL_TYPE_U32,	       [IFLA_VXLAN_LOCAL] = MNL_TYPE_U32,
	[IFLA_VXLAN_LOCAL6] = MNL_TYPE_BINARY, [IFLA_VXLAN_LINK] = MNL_TYPE_U32,
	[IFLA_VXLAN_PORT] = MNL_TYPE_U16,      [IFLA_VXLAN_LEARNING] = MNL_TYPE_U8,
	[IFLA_VXLAN_GBP] = MNL_TYPE_FLAG,      [IFLA_VXLAN_GROUP] = MNL_TYPE_U32,
	[IFLA_VXLAN_GROUP6] = MNL_TYPE_BINARY, [IFLA_VXLAN_L2MISS] = MNL_TYPE_U8,
	[IFLA_VXLAN_L3MISS] = MNL_TYPE_U8,
};

static bool name_ok(const char *name)
{
	size_t n = name ? strnlen(name, IFNAMSIZ) : 0;

	return n > 0 && n < IFNAMSIZ && !strchr(name, '/') && strcmp(name, ".") &&
	       strcmp(name, "..");
}

static struct nlmsghdr *link_msg(struct nl *nl, uint16_t type, uint16_t flags, uint8_t family,
				 int ifindex)
{
	struct nlmsghdr *nlh = nl_msg(nl, type, flags);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	ifi->ifi_family = family;
	ifi->ifi_index = ifindex;
	return nlh;
}

static void put_mtu_mac(struct nlmsghdr *nlh, unsigned int mtu, const uint8_t *mac)
{
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	if (mac)
		mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
}

static void parse_brport(const struct nlattr *nest, struct nl_brport *bp)
{
	const struct nlattr *tb[IFLA_BRPORT_MAX + 1];

	if (nl_parse_nested(nest, brport_policy, IFLA_BRPORT_MAX, tb) < 0)
		return;
	if (tb[IFLA_BRPORT_MODE]) {
		bp->has |= NL_BRPORT_HAS_HAIRPIN;
		bp->hairpin = mnl_attr_get_u8(tb[IFLA_BRPORT_MODE]) == BRIDGE_MODE_HAIRPIN;
	}
	if (tb[IFLA_BRPORT_ISOLATED]) {
		bp->has |= NL_BRPORT_HAS_ISOLATED;
		bp->isolated = mnl_attr_get_u8(tb[IFLA_BRPORT_ISOLATED]);
	}
	if (tb[IFLA_BRPORT_LEARNING]) {
		bp->has |= NL_BRPORT_HAS_LEARNING;
		bp->learning = mnl_attr_get_u8(tb[IFLA_BRPORT_LEARNING]);
	}
	if (tb[IFLA_BRPORT_UNICAST_FLOOD]) {
		bp->has |= NL_BRPORT_HAS_UNICAST_FLOOD;
		bp->unicast_flood = mnl_attr_get_u8(tb[IFLA_BRPORT_UNICAST_FLOOD]);
	}
	if (tb[IFLA_BRPORT_STATE]) {
		bp->has |= NL_BRPORT_HAS_STATE;
		bp->state = mnl_attr_get_u8(tb[IFLA_BRPORT_STATE]);
	}
}

static int parse_vxlan(const struct nlattr *nest, struct nl_link *l)
{
	const struct nlattr *tb[IFLA_VXLAN_MAX + 1];
	struct nl_vxlan *vx = &l->vxlan;

	if (nl_parse_nested(nest, vxlan_policy, IFLA_VXLAN_MAX, tb) < 0)
		return -EINVAL;
	l->has |= NL_LINK_HAS_VXLAN;
	if (tb[IFLA_VXLAN_ID])
		vx->vni = mnl_attr_get_u32(tb[IFLA_VXLAN_ID]);
	if (tb[IFLA_VXLAN_LOCAL]) {
		vx->local.family = AF_INET;
		memcpy(vx->local.b, mnl_attr_get_payload(tb[IFLA_VXLAN_LOCAL]), 4);
	} else if (tb[IFLA_VXLAN_LOCAL6] && mnl_attr_get_payload_len(tb[IFLA_VXLAN_LOCAL6]) == 16) {
		vx->local.family = AF_INET6;
		memcpy(vx->local.b, mnl_attr_get_payload(tb[IFLA_VXLAN_LOCAL6]), 16);
	}
	if (tb[IFLA_VXLAN_LINK])
		vx->link = (int)mnl_attr_get_u32(tb[IFLA_VXLAN_LINK]);
	if (tb[IFLA_VXLAN_PORT])
		vx->port = ntohs(mnl_attr_get_u16(tb[IFLA_VXLAN_PORT]));
	/* The kernel learns unless told not to. */
	vx->learning = !tb[IFLA_VXLAN_LEARNING] || mnl_attr_get_u8(tb[IFLA_VXLAN_LEARNING]);
	vx->gbp = tb[IFLA_VXLAN_GBP] != NULL; /* a flag: present means on */
	if (tb[IFLA_VXLAN_GROUP]) {
		vx->group.family = AF_INET;
		memcpy(vx->group.b, mnl_attr_get_payload(tb[IFLA_VXLAN_GROUP]), 4);
	} else if (tb[IFLA_VXLAN_GROUP6] && mnl_attr_get_payload_len(tb[IFLA_VXLAN_GROUP6]) == 16) {
		vx->group.family = AF_INET6;
		memcpy(vx->group.b, mnl_attr_get_payload(tb[IFLA_VXLAN_GROUP6]), 16);
	}
	vx->l2miss = tb[IFLA_VXLAN_L2MISS] && mnl_attr_get_u8(tb[IFLA_VXLAN_L2MISS]);
	vx->l3miss = tb[IFLA_VXLAN_L3MISS] && mnl_attr_get_u8(tb[IFLA_VXLAN_L3MISS]);
	return 0;
}

static int parse_linkinfo(const struct nlattr *nest, struct nl_link *l)
{
	const struct nlattr *tb[IFLA_INFO_MAX + 1], *br[IFLA_BR_MAX + 1];

	if (nl_parse_nested(nest, info_policy, IFLA_INFO_MAX, tb) < 0)
		return -EINVAL;
	if (tb[IFLA_INFO_KIND])
		snprintf(l->kind, sizeof(l->kind), "%s", mnl_attr_get_str(tb[IFLA_INFO_KIND]));
	if (tb[IFLA_INFO_SLAVE_KIND] && tb[IFLA_INFO_SLAVE_DATA] &&
	    !strcmp(mnl_attr_get_str(tb[IFLA_INFO_SLAVE_KIND]), "bridge")) {
		l->has |= NL_LINK_HAS_BRPORT;
		parse_brport(tb[IFLA_INFO_SLAVE_DATA], &l->brport);
	}
	if (!tb[IFLA_INFO_DATA])
		return 0;
	if (!strcmp(l->kind, "vxlan"))
		return parse_vxlan(tb[IFLA_INFO_DATA], l);
	if (!strcmp(l->kind, "bridge")) {
		if (nl_parse_nested(tb[IFLA_INFO_DATA], bridge_policy, IFLA_BR_MAX, br) < 0)
			return -EINVAL;
		if (br[IFLA_BR_VLAN_FILTERING]) {
			l->has |= NL_LINK_HAS_VLAN_FILTERING;
			l->vlan_filtering = mnl_attr_get_u8(br[IFLA_BR_VLAN_FILTERING]);
		}
	}
	return 0;
}

int nl_link_parse(const struct nlmsghdr *nlh, struct nl_link *ret_link)
{
	const struct nlattr *tb[IFLA_MAX + 1];
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct nl_link l = {0};

	if (nl_parse(nlh, sizeof(*ifi), link_policy, IFLA_MAX, tb) < 0)
		return -EINVAL;
	l.ifindex = ifi->ifi_index;
	l.flags = ifi->ifi_flags;
	if (tb[IFLA_IFNAME])
		snprintf(l.name, sizeof(l.name), "%s", mnl_attr_get_str(tb[IFLA_IFNAME]));
	if (tb[IFLA_MTU])
		l.mtu = mnl_attr_get_u32(tb[IFLA_MTU]);
	if (tb[IFLA_TXQLEN])
		l.txqlen = mnl_attr_get_u32(tb[IFLA_TXQLEN]);
	if (tb[IFLA_OPERSTATE])
		l.operstate = mnl_attr_get_u8(tb[IFLA_OPERSTATE]);
	if (tb[IFLA_ADDRESS] && mnl_attr_get_payload_len(tb[IFLA_ADDRESS]) == 6) {
		l.has |= NL_LINK_HAS_MAC;
		memcpy(l.mac, mnl_attr_get_payload(tb[IFLA_ADDRESS]), 6);
	}
	if (tb[IFLA_IFALIAS])
		snprintf(l.alias, sizeof(l.alias), "%.*s",
			 (int)mnl_attr_get_payload_len(tb[IFLA_IFALIAS]),
			 (const char *)mnl_attr_get_payload(tb[IFLA_IFALIAS]));
	if (tb[IFLA_MASTER])
		l.master = (int)mnl_attr_get_u32(tb[IFLA_MASTER]);
	if (tb[IFLA_LINK]) {
		l.has |= NL_LINK_HAS_LINK;
		l.link = (int)mnl_attr_get_u32(tb[IFLA_LINK]);
	}
	if (tb[IFLA_LINK_NETNSID]) {
		l.has |= NL_LINK_HAS_NETNSID;
		l.link_netnsid = (int)mnl_attr_get_u32(tb[IFLA_LINK_NETNSID]);
	}
	if (tb[IFLA_LINKINFO] && parse_linkinfo(tb[IFLA_LINKINFO], &l) < 0)
		return -EINVAL;
	*ret_link = l;
	return 0;
}

struct link_get {
	struct nl_link link;
	bool found;
};

static int link_get_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_get *g = data;

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return 0;
	if (nl_link_parse(nlh, &g->link) < 0)
		return -EBADMSG;
	g->found = true;
	return 0;
}

static int link_get(struct nl *nl, int ifindex, const char *name, struct nl_link *ret_link)
{
	struct nlmsghdr *nlh = link_msg(nl, RTM_GETLINK, 0, AF_UNSPEC, ifindex);
	struct link_get g = {.found = false};
	int r;

	if (name)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	r = nl_talk(nl, nlh, link_get_cb, &g);
	if (r < 0)
		return r;
	if (!g.found)
		return nl_fail(nl, -ENODEV, NULL);
	*ret_link = g.link;
	return 0;
}

int nl_link_get_by_name(struct nl *nl, const char *name, struct nl_link *ret_link)
{
	if (!name_ok(name))
		return nl_fail(nl, -EINVAL, "invalid interface name");
	return link_get(nl, 0, name, ret_link);
}

int nl_link_get_by_index(struct nl *nl, int ifindex, struct nl_link *ret_link)
{
	if (ifindex <= 0)
		return nl_fail(nl, -EINVAL, "invalid ifindex");
	return link_get(nl, ifindex, NULL, ret_link);
}

struct link_dump {
	int (*cb)(const struct nl_link *link, void *data);
	void *data;
};

static int link_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_dump *d = data;
	struct nl_link l;

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return 0;
	if (nl_link_parse(nlh, &l) < 0)
		return -EBADMSG;
	return d->cb(&l, d->data);
}

int nl_link_dump(struct nl *nl, int (*cb)(const struct nl_link *link, void *data), void *data)
{
	struct nlmsghdr *nlh = link_msg(nl, RTM_GETLINK, 0, AF_UNSPEC, 0);
	struct link_dump d = {cb, data};

	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	return nl_dump(nl, nlh, link_dump_cb, &d);
}

int nl_link_add_bridge(struct nl *nl, const char *name, unsigned int mtu, const uint8_t *mac,
		       bool vlan_filtering)
{
	struct nlattr *info, *data;
	struct nlmsghdr *nlh;

	if (!name_ok(name))
		return nl_fail(nl, -EINVAL, "invalid interface name");
	nlh = link_msg(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, AF_UNSPEC, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	put_mtu_mac(nlh, mtu, mac);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
	/* Only when asked: kernels without CONFIG_BRIDGE_VLAN_FILTERING refuse even a 0. */
	if (vlan_filtering) {
		data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
		mnl_attr_put_u8(nlh, IFLA_BR_VLAN_FILTERING, 1);
		mnl_attr_nest_end(nlh, data);
	}
	mnl_attr_nest_end(nlh, info);
	return nl_talk(nl, nlh, NULL, NULL);
}

int nl_link_add_veth(struct nl *nl, const struct nl_veth *v)
{
	struct nlattr *info, *data, *pinfo;
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh;

	if (!name_ok(v->name) || !name_ok(v->peer))
		return nl_fail(nl, -EINVAL, "invalid interface name");
	if (v->master < 0)
		return nl_fail(nl, -EINVAL, "invalid master ifindex");
	nlh = link_msg(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, AF_UNSPEC, 0);
	if (v->up) {
		ifi = mnl_nlmsg_get_payload(nlh);
		ifi->ifi_change = IFF_UP;
		ifi->ifi_flags = IFF_UP;
	}
	mnl_attr_put_strz(nlh, IFLA_IFNAME, v->name);
	put_mtu_mac(nlh, v->mtu, v->mac);
	if (v->master)
		mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)v->master);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	/* VETH_INFO_PEER carries a whole ifinfomsg, then the peer's own attributes. */
	pinfo = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
	mnl_attr_put_strz(nlh, IFLA_IFNAME, v->peer);
	if (v->peer_netns_fd >= 0)
		mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)v->peer_netns_fd);
	put_mtu_mac(nlh, v->mtu, v->peer_mac);
	mnl_attr_nest_end(nlh, pinfo);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	return nl_talk(nl, nlh, NULL, NULL);
}

int nl_link_add_ifb(struct nl *nl, const char *name, unsigned int mtu, unsigned int txqlen)
{
	struct nlmsghdr *nlh;
	struct nlattr *info;

	if (!name_ok(name))
		return nl_fail(nl, -EINVAL, "invalid interface name");
	nlh = link_msg(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, AF_UNSPEC, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	put_mtu_mac(nlh, mtu, NULL);
	if (txqlen)
		mnl_attr_put_u32(nlh, IFLA_TXQLEN, txqlen);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "ifb");
	mnl_attr_nest_end(nlh, info);
	return nl_talk(nl, nlh, NULL, NULL);
}

int nl_link_add_vxlan(struct nl *nl, const char *name, const struct nl_vxlan *vx, unsigned int mtu,
		      const uint8_t *mac)
{
	struct nlattr *info, *data;
	struct nlmsghdr *nlh;

	if (!name_ok(name))
		return nl_fail(nl, -EINVAL, "invalid interface name");
	if (vx->vni >= 1U << 24)
		return nl_fail(nl, -EINVAL, "VXLAN VNI out of range");
	if (vx->local.family != 0 && vx->local.family != AF_INET && vx->local.family != AF_INET6)
		return nl_fail(nl, -EINVAL, "invalid VXLAN local address");
	nlh = link_msg(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, AF_UNSPEC, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	put_mtu_mac(nlh, mtu, mac);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "vxlan");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	mnl_attr_put_u32(nlh, IFLA_VXLAN_ID, vx->vni);
	if (vx->local.family == AF_INET)
		mnl_attr_put(nlh, IFLA_VXLAN_LOCAL, 4, vx->local.b);
	else if (vx->local.family == AF_INET6)
		mnl_attr_put(nlh, IFLA_VXLAN_LOCAL6, 16, vx->local.b);
	if (vx->link > 0)
		mnl_attr_put_u32(nlh, IFLA_VXLAN_LINK, (uint32_t)vx->link);
	if (vx->port)
		mnl_attr_put_u16(nlh, IFLA_VXLAN_PORT, htons(vx->port));
	mnl_attr_put_u8(nlh, IFLA_VXLAN_LEARNING, vx->learning);
	if (vx->gbp)
		mnl_attr_put(nlh, IFLA_VXLAN_GBP, 0, NULL);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	return nl_talk(nl, nlh, NULL, NULL);
}

int nl_link_del(struct nl *nl, int ifindex)
{
	if (ifindex <= 0)
		return nl_fail(nl, -EINVAL, "invalid ifindex");
	return nl_talk(nl, link_msg(nl, RTM_DELLINK, 0, AF_UNSPEC, ifindex), NULL, NULL);
}

int nl_link_del_by_name(struct nl *nl, const char *name)
{
	struct nlmsghdr *nlh;

	if (!name_ok(name))
		return nl_fail(nl, -EINVAL, "invalid interface name");
	nlh = link_msg(nl, RTM_DELLINK, 0, AF_UNSPEC, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return nl_talk(nl, nlh, NULL, NULL);
}

static int link_set_flag(struct nl *nl, int ifindex, unsigned int flag, bool on)
{
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;

	if (ifindex <= 0)
		return nl_fail(nl, -EINVAL, "invalid ifindex");
	nlh = link_msg(nl, RTM_SETLINK, 0, AF_UNSPEC, ifindex);
	ifi = mnl_nlmsg_get_payload(nlh);
	ifi->ifi_change = flag;
	ifi->ifi_flags = on ? flag : 0;
	return nl_talk(nl, nlh, NULL, NULL);
}

int nl_link_set_up(struct nl *nl, int ifindex)
{
	return link_set_flag(nl, ifindex, IFF_UP, true);
}

int nl_link_set_down(struct nl *nl, int ifindex)
{
	return link_set_flag(nl, ifindex, IFF_UP, false);
}

int nl_link_set_promisc(struct nl *nl, int ifindex, bool on)
{
	return link_set_flag(nl, ifindex, IFF_PROMISC, on);
}

/* RTM_SETLINK on ifindex carrying one u32 attribute. */
static int link_set_u32(struct nl *nl, int ifindex, uint16_t type, uint32_t val)
{
	struct nlmsghdr *nlh;

	if (ifindex <= 0)
		return nl_fail(nl, -EINVAL, "invalid ifindex");
	nlh = link_msg(nl, RTM_SETLINK, 0, AF_UNSPEC, ifindex);
	mnl_attr_put_u32(nlh, type, val);
	return nl_talk(nl, nlh, NULL, NULL);
}

int nl_link_set_master(struct nl *nl, int ifindex, int master)
{
	if (master < 0)
		return nl_fail(nl, -EINVAL, "invalid master ifindex");
	return link_set_u32(nl, ifindex, IFLA_MASTER, (uint32_t)master);
}

int nl_link_set_mtu(struct nl *nl, int ifindex, unsigned int mtu)
{
	return link_set_u32(nl, ifindex, IFLA_MTU, mtu);
}

int nl_link_set_netns(struct nl *nl, int ifindex, int netns_fd)
{
	if (netns_fd < 0)
		return nl_fail(nl, -EBADF, "invalid netns fd");
	return link_set_u32(nl, ifindex, IFLA_NET_NS_FD, (uint32_t)netns_fd);
}

int nl_link_set_mac(struct nl *nl, int ifindex, const uint8_t mac[6])
{
	struct nlmsghdr *nlh;

	if (ifindex <= 0)
		return nl_fail(nl, -EINVAL, "invalid ifindex");
	nlh = link_msg(nl, RTM_SETLINK, 0, AF_UNSPEC, ifindex);
	mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
	return nl_talk(nl, nlh, NULL, NULL);
}

int nl_link_set_name(struct nl *nl, int ifindex, const char *name)
{
	struct nlmsghdr *nlh;

	if (ifindex <= 0 || !name_ok(name))
		return nl_fail(nl, -EINVAL, "invalid ifindex or interface name");
	nlh = link_msg(nl, RTM_SETLINK, 0, AF_UNSPEC, ifindex);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return nl_talk(nl, nlh, NULL, NULL);
}

int nl_link_set_alias(struct nl *nl, int ifindex, const char *alias)
{
	struct nlmsghdr *nlh;

	if (ifindex <= 0 || !alias || strlen(alias) >= NL_ALIAS_MAX)
		return nl_fail(nl, -EINVAL, "invalid ifindex or alias");
	nlh = link_msg(nl, RTM_SETLINK, 0, AF_UNSPEC, ifindex);
	/* The kernel takes the alias without its NUL; an empty one clears it. */
	mnl_attr_put(nlh, IFLA_IFALIAS, strlen(alias), alias);
	return nl_talk(nl, nlh, NULL, NULL);
}

int nl_link_set_brport(struct nl *nl, int ifindex, const struct nl_brport *bp)
{
	struct nlmsghdr *nlh;
	struct nlattr *pi;

	if (ifindex <= 0 || !bp->has)
		return nl_fail(nl, -EINVAL, "invalid ifindex or no bridge port setting");
	nlh = link_msg(nl, RTM_SETLINK, 0, AF_BRIDGE, ifindex);
	/* mnl_attr_nest_start() sets NLA_F_NESTED, without which the bridge would read
	 * IFLA_PROTINFO as a bare STP state byte. */
	pi = mnl_attr_nest_start(nlh, IFLA_PROTINFO);
	if (bp->has & NL_BRPORT_HAS_HAIRPIN)
		mnl_attr_put_u8(nlh, IFLA_BRPORT_MODE,
				bp->hairpin ? BRIDGE_MODE_HAIRPIN : BRIDGE_MODE_VEB);
	if (bp->has & NL_BRPORT_HAS_ISOLATED)
		mnl_attr_put_u8(nlh, IFLA_BRPORT_ISOLATED, bp->isolated);
	if (bp->has & NL_BRPORT_HAS_LEARNING)
		mnl_attr_put_u8(nlh, IFLA_BRPORT_LEARNING, bp->learning);
	if (bp->has & NL_BRPORT_HAS_UNICAST_FLOOD)
		mnl_attr_put_u8(nlh, IFLA_BRPORT_UNICAST_FLOOD, bp->unicast_flood);
	if (bp->has & NL_BRPORT_HAS_STATE)
		mnl_attr_put_u8(nlh, IFLA_BRPORT_STATE, bp->state);
	mnl_attr_nest_end(nlh, pi);
	return nl_talk(nl, nlh, NULL, NULL);
}

int nl_link_set_bridge_vlan_filtering(struct nl *nl, int ifindex, bool on)
{
	struct nlattr *info, *data;
	struct nlmsghdr *nlh;

	if (ifindex <= 0)
		return nl_fail(nl, -EINVAL, "invalid ifindex");
	/* IFLA_INFO_DATA changes go through RTM_NEWLINK (changelink), not RTM_SETLINK. */
	nlh = link_msg(nl, RTM_NEWLINK, 0, AF_UNSPEC, ifindex);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	mnl_attr_put_u8(nlh, IFLA_BR_VLAN_FILTERING, on);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	return nl_talk(nl, nlh, NULL, NULL);
}

static int bridge_vlan(struct nl *nl, uint16_t type, int ifindex, uint16_t vid_start,
		       uint16_t vid_end, unsigned int flags)
{
	struct bridge_vlan_info vi = {0};
	struct nlmsghdr *nlh;
	struct nlattr *spec;
	uint16_t bflags = 0;

	if (ifindex <= 0 || vid_start < 1 || vid_end < vid_start || vid_end > 4094 ||
	    ((flags & NL_VLAN_PVID) && vid_end != vid_start))
		return nl_fail(nl, -EINVAL, "invalid ifindex or VLAN range");
	nlh = link_msg(nl, type, 0, AF_BRIDGE, ifindex);
	spec = mnl_attr_nest_start(nlh, IFLA_AF_SPEC);
	bflags |= flags & NL_VLAN_SELF ? BRIDGE_FLAGS_SELF : 0;
	bflags |= flags & NL_VLAN_MASTER ? BRIDGE_FLAGS_MASTER : 0;
	if (bflags)
		mnl_attr_put_u16(nlh, IFLA_BRIDGE_FLAGS, bflags);
	vi.flags |= flags & NL_VLAN_PVID ? BRIDGE_VLAN_INFO_PVID : 0;
	vi.flags |= flags & NL_VLAN_UNTAGGED ? BRIDGE_VLAN_INFO_UNTAGGED : 0;
	vi.vid = vid_start;
	if (vid_end != vid_start) {
		vi.flags |= BRIDGE_VLAN_INFO_RANGE_BEGIN;
		mnl_attr_put(nlh, IFLA_BRIDGE_VLAN_INFO, sizeof(vi), &vi);
		vi.flags &= ~BRIDGE_VLAN_INFO_RANGE_BEGIN;
		vi.flags |= BRIDGE_VLAN_INFO_RANGE_END;
		vi.vid = vid_end;
	}
	mnl_attr_put(nlh, IFLA_BRIDGE_VLAN_INFO, sizeof(vi), &vi);
	mnl_attr_nest_end(nlh, spec);
	return nl_talk(nl, nlh, NULL, NULL);
}

int nl_bridge_vlan_add(struct nl *nl, int ifindex, uint16_t vid_start, uint16_t vid_end,
		       unsigned int flags)
{
	return bridge_vlan(nl, RTM_SETLINK, ifindex, vid_start, vid_end, flags);
}

int nl_bridge_vlan_del(struct nl *nl, int ifindex, uint16_t vid_start, uint16_t vid_end,
		       unsigned int flags)
{
	return bridge_vlan(nl, RTM_DELLINK, ifindex, vid_start, vid_end, flags);
}

struct vlan_dump {
	int ifindex;
	int (*cb)(const struct nl_vlan *vlan, void *data);
	void *data;
};

static int vlan_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFLA_MAX + 1], *a;
	const struct bridge_vlan_info *vi;
	struct vlan_dump *d = data;
	struct nl_vlan v = {0};
	int r;

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return 0;
	if (nl_parse(nlh, sizeof(*ifi), link_policy, IFLA_MAX, tb) < 0)
		return -EBADMSG;
	if (!tb[IFLA_AF_SPEC] || (d->ifindex && ifi->ifi_index != d->ifindex))
		return 0;
	v.ifindex = ifi->ifi_index;
	mnl_attr_for_each_nested(a, tb[IFLA_AF_SPEC]) {
		if (mnl_attr_get_type(a) != IFLA_BRIDGE_VLAN_INFO ||
		    mnl_attr_get_payload_len(a) < sizeof(*vi))
			continue;
		vi = mnl_attr_get_payload(a);
		if (vi->flags & BRIDGE_VLAN_INFO_RANGE_BEGIN) {
			v.vid_start = vi->vid;
			continue;
		}
		if (!(vi->flags & BRIDGE_VLAN_INFO_RANGE_END))
			v.vid_start = vi->vid;
		v.vid_end = vi->vid;
		v.flags = (vi->flags & BRIDGE_VLAN_INFO_PVID ? NL_VLAN_PVID : 0) |
			  (vi->flags & BRIDGE_VLAN_INFO_UNTAGGED ? NL_VLAN_UNTAGGED : 0);
		r = d->cb(&v, d->data);
		if (r < 0)
			return r;
	}
	return 0;
}

int nl_bridge_vlan_dump(struct nl *nl, int ifindex,
			int (*cb)(const struct nl_vlan *vlan, void *data), void *data)
{
	struct nlmsghdr *nlh = link_msg(nl, RTM_GETLINK, 0, AF_BRIDGE, 0);
	struct vlan_dump d = {ifindex, cb, data};

	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_BRVLAN_COMPRESSED);
	return nl_dump(nl, nlh, vlan_dump_cb, &d);
}
