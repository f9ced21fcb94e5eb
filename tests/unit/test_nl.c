// SPDX-License-Identifier: Apache-2.0
/* Netlink builders, parsed back (libnftnl's build-and-parse tests): each nl_* call runs on a
 * socket-less handle that keeps the request, which is then checked attribute by attribute.
 * Also: tc tick math, the transport against the kernel (read-only), netns and sysctl. */
#define T_NAME "test_nl"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_bridge.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>
#include <linux/veth.h>
#include <libmnl/libmnl.h>

#include "base/ip.h"
#include "base/sysctl.h"
#include "netlink/netns.h"
#include "netlink/nl.h"
#include "netlink/nl_link.h"
#include "netlink/nl_route.h"
#include "netlink/nl_tc.h"
#include "t.h"

static const uint8_t mac1[6] = {0x02, 0, 0, 0, 0, 0x01};
static const uint8_t mac2[6] = {0x02, 0, 0, 0, 0, 0x02};

static struct nlmsghdr *req(struct nl *nl)
{
	return (struct nlmsghdr *)nl->buf;
}

/* The first attribute of type in a nest, or NULL. */
static const struct nlattr *nested(const struct nlattr *nest, uint16_t type)
{
	const struct nlattr *a;

	if (!nest)
		return NULL;
	mnl_attr_for_each_nested(a, nest) {
		if (mnl_attr_get_type(a) == type)
			return a;
	}
	return NULL;
}

/* The first top-level attribute of type after a family header of offset bytes. */
static const struct nlattr *top(const struct nlmsghdr *nlh, size_t offset, uint16_t type)
{
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, offset) {
		if (mnl_attr_get_type(a) == type)
			return a;
	}
	return NULL;
}

static struct ip_prefix pfx(const char *s)
{
	struct ip_prefix p = {0};

	(void)ip_or_prefix_parse(s, &p);
	return p;
}

static void test_header_seq(void)
{
	struct nl nl;
	struct nlmsghdr *nlh;
	unsigned int seq;

	T_EQ(nl_open_dry(&nl), 0);
	nlh = nl_msg(&nl, RTM_GETLINK, 0);
	seq = nlh->nlmsg_seq;
	T_EQ(nl_talk(&nl, nlh, NULL, NULL), 0);
	T_EQ(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
	nlh = nl_msg(&nl, RTM_GETLINK, 0);
	T_EQ(nlh->nlmsg_seq, seq + 1);
	T_EQ(nl_dump(&nl, nlh, NULL, NULL), 0);
	T_EQ(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
	T_STREQ(nl_errmsg(&nl), "");
	T_EQ(nl_fail(&nl, -ENOENT, NULL), -ENOENT);
	T_STREQ(nl_errmsg(&nl), strerror(ENOENT));
	nl_close(&nl);
	nl_close(&nl);
	T_ASSERT(nl.buf == NULL);
}

static void test_bridge(void)
{
	struct nl_link l;
	struct nl nl;

	T_EQ(nl_open_dry(&nl), 0);
	T_EQ(nl_link_add_bridge(&nl, "br0", 1400, mac1, true), 0);
	T_EQ(req(&nl)->nlmsg_type, RTM_NEWLINK);
	T_EQ(req(&nl)->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
	T_EQ(nl_link_parse(req(&nl), &l), 0);
	T_STREQ(l.name, "br0");
	T_STREQ(l.kind, "bridge");
	T_EQ(l.mtu, 1400);
	T_ASSERT(l.has & NL_LINK_HAS_MAC);
	T_ASSERT(!memcmp(l.mac, mac1, 6));
	T_ASSERT(l.has & NL_LINK_HAS_VLAN_FILTERING);
	T_EQ(l.vlan_filtering, 1);

	/* Defaults: no MTU, MAC or bridge data (kernels without VLAN filtering refuse it). */
	T_EQ(nl_link_add_bridge(&nl, "br1", 0, NULL, false), 0);
	T_EQ(nl_link_parse(req(&nl), &l), 0);
	T_EQ(l.mtu, 0);
	T_EQ(l.has, 0);
	T_ASSERT(!nested(top(req(&nl), sizeof(struct ifinfomsg), IFLA_LINKINFO), IFLA_INFO_DATA));

	T_EQ(nl_link_add_bridge(&nl, "0123456789abcdef", 0, NULL, false), -EINVAL);
	T_STREQ(nl_errmsg(&nl), "invalid interface name");
	T_EQ(nl_link_add_bridge(&nl, "a/b", 0, NULL, false), -EINVAL);
	T_EQ(nl_link_add_bridge(&nl, "", 0, NULL, false), -EINVAL);
	nl_close(&nl);
}

struct tb_peer {
	const struct nlattr *tb[IFLA_MAX + 1];
};

static int peer_cb(const struct nlattr *a, void *data)
{
	struct tb_peer *p = data;

	if (mnl_attr_get_type(a) <= IFLA_MAX)
		p->tb[mnl_attr_get_type(a)] = a;
	return MNL_CB_OK;
}

static void test_veth(void)
{
	const struct nlattr *info, *peer;
	struct nl_veth v = {
		.name = "veth1234",
		.peer = "eth0",
		.peer_netns_fd = 7,
		.mtu = 1450,
		.mac = mac1,
		.peer_mac = mac2,
		.master = 2,
		.up = true,
	};
	struct tb_peer p = {{0}};
	struct nl_link l;
	struct nl nl;
	size_t hdr = NLMSG_ALIGN(sizeof(struct ifinfomsg));

	T_EQ(nl_open_dry(&nl), 0);
	T_EQ(nl_link_add_veth(&nl, &v), 0);
	T_EQ(req(&nl)->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL), NLM_F_CREATE | NLM_F_EXCL);
	T_EQ(nl_link_parse(req(&nl), &l), 0);
	T_STREQ(l.name, "veth1234");
	T_STREQ(l.kind, "veth");
	T_EQ(l.mtu, 1450);
	T_ASSERT(!memcmp(l.mac, mac1, 6));
	/* Enslaved and up in the same message. */
	T_EQ(l.master, 2);
	T_EQ(l.flags, IFF_UP);
	T_EQ(((const struct ifinfomsg *)mnl_nlmsg_get_payload(req(&nl)))->ifi_change, IFF_UP);

	/* IFLA_LINKINFO { KIND "veth", DATA { VETH_INFO_PEER { ifinfomsg, attrs } } } */
	info = top(req(&nl), sizeof(struct ifinfomsg), IFLA_LINKINFO);
	peer = nested(nested(info, IFLA_INFO_DATA), VETH_INFO_PEER);
	T_ASSERT(peer != NULL);
	T_ASSERT(mnl_attr_get_payload_len(peer) > hdr);
	T_EQ(mnl_attr_parse_payload((const char *)mnl_attr_get_payload(peer) + hdr,
				    mnl_attr_get_payload_len(peer) - hdr, peer_cb, &p),
	     MNL_CB_OK);
	T_ASSERT(p.tb[IFLA_IFNAME] && p.tb[IFLA_NET_NS_FD] && p.tb[IFLA_MTU] && p.tb[IFLA_ADDRESS]);
	T_STREQ(mnl_attr_get_str(p.tb[IFLA_IFNAME]), "eth0");
	T_EQ(mnl_attr_get_u32(p.tb[IFLA_NET_NS_FD]), 7);
	T_EQ(mnl_attr_get_u32(p.tb[IFLA_MTU]), 1450);
	T_ASSERT(!memcmp(mnl_attr_get_payload(p.tb[IFLA_ADDRESS]), mac2, 6));

	/* No netns: the peer stays here; no MACs, no master, down. */
	memset(&v, 0, sizeof(v));
	v.name = "a";
	v.peer = "b";
	v.peer_netns_fd = -1;
	T_EQ(nl_link_add_veth(&nl, &v), 0);
	T_EQ(nl_link_parse(req(&nl), &l), 0);
	T_EQ(l.master, 0);
	T_EQ(l.flags, 0);
	T_ASSERT(!top(req(&nl), sizeof(struct ifinfomsg), IFLA_MASTER));
	info = top(req(&nl), sizeof(struct ifinfomsg), IFLA_LINKINFO);
	peer = nested(nested(info, IFLA_INFO_DATA), VETH_INFO_PEER);
	memset(&p, 0, sizeof(p));
	T_EQ(mnl_attr_parse_payload((const char *)mnl_attr_get_payload(peer) + hdr,
				    mnl_attr_get_payload_len(peer) - hdr, peer_cb, &p),
	     MNL_CB_OK);
	T_ASSERT(p.tb[IFLA_IFNAME] && !p.tb[IFLA_NET_NS_FD] && !p.tb[IFLA_ADDRESS]);
	v.peer = "bad/name";
	T_EQ(nl_link_add_veth(&nl, &v), -EINVAL);
	nl_close(&nl);
}

static void test_ifb_vxlan(void)
{
	struct nl_vxlan vx = {.vni = 1, .link = 3, .port = 8472, .learning = false};
	struct nl_link l;
	struct nl nl;

	T_EQ(nl_open_dry(&nl), 0);
	T_EQ(nl_link_add_ifb(&nl, "sbw1", 1400, 32), 0);
	T_EQ(nl_link_parse(req(&nl), &l), 0);
	T_STREQ(l.kind, "ifb");
	T_EQ(l.mtu, 1400);
	T_EQ(l.txqlen, 32);

	T_EQ(ip_parse("192.168.1.10", &vx.local), 0);
	T_EQ(nl_link_add_vxlan(&nl, "flannel.1", &vx, 1450, mac1), 0);
	T_EQ(nl_link_parse(req(&nl), &l), 0);
	T_STREQ(l.kind, "vxlan");
	T_STREQ(l.name, "flannel.1");
	T_ASSERT(l.has & NL_LINK_HAS_VXLAN);
	T_EQ(l.vxlan.vni, 1);
	T_ASSERT(ip_eq(&l.vxlan.local, &vx.local));
	T_EQ(l.vxlan.link, 3);
	T_EQ(l.vxlan.port, 8472);
	T_EQ(l.vxlan.learning, 0);
	/* The port travels in network order. */
	T_EQ(mnl_attr_get_u16(nested(
		     nested(top(req(&nl), sizeof(struct ifinfomsg), IFLA_LINKINFO), IFLA_INFO_DATA),
		     IFLA_VXLAN_PORT)),
	     htons(8472));

	T_EQ(ip_parse("fd00::a", &vx.local), 0);
	vx.learning = true;
	vx.link = 0;
	T_EQ(nl_link_add_vxlan(&nl, "vx6", &vx, 0, NULL), 0);
	T_EQ(nl_link_parse(req(&nl), &l), 0);
	T_EQ(l.vxlan.local.family, AF_INET6);
	T_ASSERT(ip_eq(&l.vxlan.local, &vx.local));
	T_EQ(l.vxlan.learning, 1);
	T_EQ(l.vxlan.link, 0);

	vx.vni = 1U << 24;
	T_EQ(nl_link_add_vxlan(&nl, "vx7", &vx, 0, NULL), -EINVAL);
	T_STREQ(nl_errmsg(&nl), "VXLAN VNI out of range");
	nl_close(&nl);
}

static void test_link_set(void)
{
	const struct ifinfomsg *ifi;
	struct nl_link l;
	struct nl nl;

	T_EQ(nl_open_dry(&nl), 0);
	ifi = mnl_nlmsg_get_payload(req(&nl));
	T_EQ(nl_link_set_up(&nl, 5), 0);
	T_EQ(req(&nl)->nlmsg_type, RTM_SETLINK);
	T_EQ(ifi->ifi_index, 5);
	T_EQ(ifi->ifi_change, IFF_UP);
	T_EQ(ifi->ifi_flags, IFF_UP);
	T_EQ(nl_link_set_down(&nl, 5), 0);
	T_EQ(ifi->ifi_change, IFF_UP);
	T_EQ(ifi->ifi_flags, 0);
	T_EQ(nl_link_set_promisc(&nl, 5, true), 0);
	T_EQ(ifi->ifi_change, IFF_PROMISC);
	T_EQ(ifi->ifi_flags, IFF_PROMISC);

	T_EQ(nl_link_set_master(&nl, 5, 2), 0);
	T_EQ(nl_link_parse(req(&nl), &l), 0);
	T_EQ(l.ifindex, 5);
	T_EQ(l.master, 2);
	T_EQ(nl_link_set_mtu(&nl, 5, 9000), 0);
	T_EQ(nl_link_parse(req(&nl), &l), 0);
	T_EQ(l.mtu, 9000);
	T_EQ(nl_link_set_mac(&nl, 5, mac2), 0);
	T_EQ(nl_link_parse(req(&nl), &l), 0);
	T_ASSERT(!memcmp(l.mac, mac2, 6));
	T_EQ(nl_link_set_name(&nl, 5, "eth1"), 0);
	T_EQ(nl_link_parse(req(&nl), &l), 0);
	T_STREQ(l.name, "eth1");
	T_EQ(nl_link_set_alias(&nl, 5, "sluice:net:cid:eth0"), 0);
	T_EQ(nl_link_parse(req(&nl), &l), 0);
	T_STREQ(l.alias, "sluice:net:cid:eth0");
	/* Sent without its NUL, as iproute2 does; "" clears the alias. */
	T_EQ(mnl_attr_get_payload_len(top(req(&nl), sizeof(*ifi), IFLA_IFALIAS)), 19);
	T_EQ(nl_link_set_alias(&nl, 5, ""), 0);
	T_EQ(nl_link_parse(req(&nl), &l), 0);
	T_STREQ(l.alias, "");
	T_EQ(nl_link_set_netns(&nl, 5, 9), 0);
	T_EQ(mnl_attr_get_u32(top(req(&nl), sizeof(*ifi), IFLA_NET_NS_FD)), 9);

	T_EQ(nl_link_del(&nl, 5), 0);
	T_EQ(req(&nl)->nlmsg_type, RTM_DELLINK);
	T_EQ(ifi->ifi_index, 5);
	T_EQ(nl_link_del_by_name(&nl, "veth0"), 0);
	T_EQ(nl_link_parse(req(&nl), &l), 0);
	T_EQ(l.ifindex, 0);
	T_STREQ(l.name, "veth0");

	T_EQ(nl_link_set_up(&nl, 0), -EINVAL);
	T_EQ(nl_link_set_master(&nl, 5, -1), -EINVAL);
	T_EQ(nl_link_get_by_name(&nl, "lo", &l), -ENODEV); /* dry: no reply */
	T_EQ(req(&nl)->nlmsg_type, RTM_GETLINK);
	T_STREQ(mnl_attr_get_str(top(req(&nl), sizeof(*ifi), IFLA_IFNAME)), "lo");
	nl_close(&nl);
}

static void test_brport_vlan(void)
{
	struct nl_brport bp = {
		.has = NL_BRPORT_HAS_HAIRPIN | NL_BRPORT_HAS_ISOLATED | NL_BRPORT_HAS_LEARNING,
		.hairpin = true,
		.isolated = true,
		.learning = false,
	};
	const struct nlattr *pi, *spec, *a;
	const struct bridge_vlan_info *vi[2];
	const struct ifinfomsg *ifi;
	struct nl_link l;
	struct nl nl;
	int n = 0;

	T_EQ(nl_open_dry(&nl), 0);
	ifi = mnl_nlmsg_get_payload(req(&nl));
	T_EQ(nl_link_set_brport(&nl, 4, &bp), 0);
	T_EQ(req(&nl)->nlmsg_type, RTM_SETLINK);
	T_EQ(ifi->ifi_family, AF_BRIDGE);
	pi = top(req(&nl), sizeof(*ifi), IFLA_PROTINFO);
	T_ASSERT(pi != NULL);
	T_ASSERT(pi->nla_type & NLA_F_NESTED);
	T_EQ(mnl_attr_get_u8(nested(pi, IFLA_BRPORT_MODE)), BRIDGE_MODE_HAIRPIN);
	T_EQ(mnl_attr_get_u8(nested(pi, IFLA_BRPORT_ISOLATED)), 1);
	T_EQ(mnl_attr_get_u8(nested(pi, IFLA_BRPORT_LEARNING)), 0);
	T_ASSERT(!nested(pi, IFLA_BRPORT_UNICAST_FLOOD));
	bp.has = 0;
	T_EQ(nl_link_set_brport(&nl, 4, &bp), -EINVAL);

	T_EQ(nl_link_set_bridge_vlan_filtering(&nl, 2, true), 0);
	T_EQ(req(&nl)->nlmsg_type, RTM_NEWLINK);
	T_EQ(req(&nl)->nlmsg_flags & NLM_F_CREATE, 0);
	T_EQ(nl_link_parse(req(&nl), &l), 0);
	T_EQ(l.ifindex, 2);
	T_EQ(l.vlan_filtering, 1);

	T_EQ(nl_bridge_vlan_add(&nl, 4, 10, 20, NL_VLAN_UNTAGGED | NL_VLAN_SELF), 0);
	T_EQ(req(&nl)->nlmsg_type, RTM_SETLINK);
	spec = top(req(&nl), sizeof(*ifi), IFLA_AF_SPEC);
	T_EQ(mnl_attr_get_u16(nested(spec, IFLA_BRIDGE_FLAGS)), BRIDGE_FLAGS_SELF);
	mnl_attr_for_each_nested(a, spec) {
		if (mnl_attr_get_type(a) == IFLA_BRIDGE_VLAN_INFO && n < 2)
			vi[n++] = mnl_attr_get_payload(a);
	}
	T_EQ(n, 2);
	T_EQ(vi[0]->vid, 10);
	T_EQ(vi[0]->flags, BRIDGE_VLAN_INFO_RANGE_BEGIN | BRIDGE_VLAN_INFO_UNTAGGED);
	T_EQ(vi[1]->vid, 20);
	T_EQ(vi[1]->flags, BRIDGE_VLAN_INFO_RANGE_END | BRIDGE_VLAN_INFO_UNTAGGED);

	T_EQ(nl_bridge_vlan_del(&nl, 4, 30, 30, NL_VLAN_PVID), 0);
	T_EQ(req(&nl)->nlmsg_type, RTM_DELLINK);
	spec = top(req(&nl), sizeof(*ifi), IFLA_AF_SPEC);
	T_ASSERT(!nested(spec, IFLA_BRIDGE_FLAGS));
	vi[0] = mnl_attr_get_payload(nested(spec, IFLA_BRIDGE_VLAN_INFO));
	T_EQ(vi[0]->vid, 30);
	T_EQ(vi[0]->flags, BRIDGE_VLAN_INFO_PVID);

	T_EQ(nl_bridge_vlan_add(&nl, 4, 10, 20, NL_VLAN_PVID), -EINVAL);
	T_EQ(nl_bridge_vlan_add(&nl, 4, 0, 0, 0), -EINVAL);
	T_EQ(nl_bridge_vlan_add(&nl, 4, 4095, 4095, 0), -EINVAL);
	nl_close(&nl);
}

static void test_addr(void)
{
	struct ip_prefix p = pfx("10.1.0.5/24");
	const struct nlattr *brd;
	struct nl_addr a;
	struct ip_addr want;
	struct nl nl;

	T_EQ(nl_open_dry(&nl), 0);
	T_EQ(nl_addr_add(&nl, 3, &p, IFA_F_NODAD | IFA_F_NOPREFIXROUTE, false), 0);
	T_EQ(req(&nl)->nlmsg_type, RTM_NEWADDR);
	T_EQ(req(&nl)->nlmsg_flags & (NLM_F_EXCL | NLM_F_REPLACE), NLM_F_EXCL);
	T_EQ(nl_addr_parse(req(&nl), &a), 0);
	T_EQ(a.ifindex, 3);
	T_ASSERT(ip_eq(&a.prefix.ip, &p.ip));
	T_EQ(a.prefix.len, 24);
	T_EQ(a.flags, IFA_F_NODAD | IFA_F_NOPREFIXROUTE);
	brd = top(req(&nl), sizeof(struct ifaddrmsg), IFA_BROADCAST);
	T_ASSERT(brd != NULL);
	T_EQ(ip_parse("10.1.0.255", &want), 0);
	T_ASSERT(!memcmp(mnl_attr_get_payload(brd), want.b, 4));

	p = pfx("fd00::5/64");
	T_EQ(nl_addr_add(&nl, 3, &p, 0, true), 0);
	T_EQ(req(&nl)->nlmsg_flags & (NLM_F_EXCL | NLM_F_REPLACE), NLM_F_REPLACE);
	T_EQ(nl_addr_parse(req(&nl), &a), 0);
	T_EQ(a.prefix.ip.family, AF_INET6);
	T_ASSERT(ip_eq(&a.prefix.ip, &p.ip));
	T_EQ(a.prefix.len, 64);
	T_ASSERT(!top(req(&nl), sizeof(struct ifaddrmsg), IFA_BROADCAST));
	T_ASSERT(!top(req(&nl), sizeof(struct ifaddrmsg), IFA_FLAGS));

	p = pfx("10.1.0.4/31");
	T_EQ(nl_addr_add(&nl, 3, &p, 0, false), 0);
	T_ASSERT(!top(req(&nl), sizeof(struct ifaddrmsg), IFA_BROADCAST));
	T_EQ(nl_addr_del(&nl, 3, &p), 0);
	T_EQ(req(&nl)->nlmsg_type, RTM_DELADDR);
	T_EQ(nl_addr_parse(req(&nl), &a), 0);
	T_ASSERT(ip_eq(&a.prefix.ip, &p.ip));

	p.len = 33;
	T_EQ(nl_addr_add(&nl, 3, &p, 0, false), -EINVAL);
	p = pfx("10.0.0.1/8");
	T_EQ(nl_addr_add(&nl, 0, &p, 0, false), -EINVAL);
	nl_close(&nl);
}

static void test_route(void)
{
	struct nl_route rt =
				{
					.dst = pfx("10.9.0.0/16"),
					.oif = 4,
					.table = 100,
					.priority = 7,
					.scope = RT_SCOPE_UNIVERSE,
					.mtu = 1300,
					.advmss = 1260,
					.flags = RTNH_F_ONLINK,
				},
			got;
	const struct rtmsg *rtm;
	struct nl nl;

	T_EQ(ip_parse("10.2.2.2", &rt.gw), 0);
	T_EQ(nl_open_dry(&nl), 0);
	rtm = mnl_nlmsg_get_payload(req(&nl));
	T_EQ(nl_route_add(&nl, &rt, false), 0);
	T_EQ(req(&nl)->nlmsg_type, RTM_NEWROUTE);
	T_EQ(req(&nl)->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL), NLM_F_CREATE | NLM_F_EXCL);
	T_EQ(nl_route_parse(req(&nl), &got), 0);
	T_EQ(got.family, AF_INET);
	T_ASSERT(ip_eq(&got.dst.ip, &rt.dst.ip));
	T_EQ(got.dst.len, 16);
	T_ASSERT(ip_eq(&got.gw, &rt.gw));
	T_EQ(got.oif, 4);
	T_EQ(got.table, 100);
	T_EQ(got.priority, 7);
	T_EQ(got.mtu, 1300);
	T_EQ(got.advmss, 1260);
	T_EQ(got.flags, RTNH_F_ONLINK);
	T_EQ(got.protocol, RTPROT_BOOT);
	T_EQ(got.type, RTN_UNICAST);
	T_EQ(rtm->rtm_table, 100);

	/* Tables above 255 only fit RTA_TABLE. */
	rt.table = 1000;
	rt.scope = RT_SCOPE_LINK;
	rt.protocol = RTPROT_STATIC;
	T_EQ(nl_route_add(&nl, &rt, true), 0);
	T_EQ(req(&nl)->nlmsg_flags & (NLM_F_EXCL | NLM_F_REPLACE), NLM_F_REPLACE);
	T_EQ(rtm->rtm_table, RT_TABLE_UNSPEC);
	T_EQ(nl_route_parse(req(&nl), &got), 0);
	T_EQ(got.table, 1000);
	T_EQ(got.scope, RT_SCOPE_LINK);
	T_EQ(got.protocol, RTPROT_STATIC);

	/* A delete matches any scope and leaves protocol and type as wildcards. */
	rt.protocol = 0;
	T_EQ(nl_route_del(&nl, &rt), 0);
	T_EQ(req(&nl)->nlmsg_type, RTM_DELROUTE);
	T_EQ(rtm->rtm_scope, RT_SCOPE_NOWHERE);
	T_EQ(rtm->rtm_protocol, 0);
	T_EQ(rtm->rtm_type, 0);
	T_ASSERT(!top(req(&nl), sizeof(*rtm), RTA_METRICS));

	/* An IPv6 default route: the family comes from the field, no RTA_DST. */
	memset(&rt, 0, sizeof(rt));
	rt.family = AF_INET6;
	T_EQ(ip_parse("fd00::1", &rt.gw), 0);
	T_EQ(nl_route_add(&nl, &rt, false), 0);
	T_EQ(nl_route_parse(req(&nl), &got), 0);
	T_EQ(got.family, AF_INET6);
	T_EQ(got.dst.len, 0);
	T_EQ(got.table, RT_TABLE_MAIN);
	T_ASSERT(ip_eq(&got.gw, &rt.gw));
	T_ASSERT(!top(req(&nl), sizeof(*rtm), RTA_DST));

	rt.family = AF_INET; /* IPv6 gateway on an IPv4 route */
	T_EQ(nl_route_add(&nl, &rt, false), -EINVAL);
	rt.family = 0;
	rt.gw.family = 0;
	T_EQ(nl_route_add(&nl, &rt, false), -EINVAL);
	nl_close(&nl);
}

static void test_neigh(void)
{
	struct nl_neigh n = {.has = NL_NEIGH_HAS_MAC, .family = AF_INET, .ifindex = 6}, got;
	const struct ndmsg *ndm;
	struct ip_addr dst;
	struct nl nl;

	memcpy(n.mac, mac1, 6);
	T_EQ(ip_parse("10.244.1.0", &n.ip), 0);
	T_EQ(nl_open_dry(&nl), 0);
	ndm = mnl_nlmsg_get_payload(req(&nl));
	T_EQ(nl_neigh_add(&nl, &n, true), 0);
	T_EQ(req(&nl)->nlmsg_type, RTM_NEWNEIGH);
	T_EQ(req(&nl)->nlmsg_flags & (NLM_F_CREATE | NLM_F_REPLACE), NLM_F_CREATE | NLM_F_REPLACE);
	T_EQ(nl_neigh_parse(req(&nl), &got), 0);
	T_EQ(got.family, AF_INET);
	T_EQ(got.ifindex, 6);
	T_EQ(got.state, NUD_PERMANENT);
	T_ASSERT(ip_eq(&got.ip, &n.ip));
	T_ASSERT(got.has & NL_NEIGH_HAS_MAC);
	T_ASSERT(!memcmp(got.mac, mac1, 6));

	/* VXLAN FDB: AF_BRIDGE, NTF_SELF, mac -> remote VTEP address. */
	T_EQ(ip_parse("192.168.1.20", &dst), 0);
	T_EQ(nl_fdb_add(&nl, 6, mac2, &dst, false), 0);
	T_EQ(ndm->ndm_family, AF_BRIDGE);
	T_EQ(ndm->ndm_flags, NTF_SELF);
	T_EQ(ndm->ndm_state, NUD_PERMANENT);
	T_EQ(req(&nl)->nlmsg_flags & (NLM_F_EXCL | NLM_F_REPLACE), NLM_F_EXCL);
	T_EQ(nl_neigh_parse(req(&nl), &got), 0);
	T_EQ(got.ip.family, AF_INET);
	T_ASSERT(ip_eq(&got.ip, &dst));
	T_ASSERT(!memcmp(got.mac, mac2, 6));
	T_EQ(nl_fdb_del(&nl, 6, mac2, NULL), 0);
	T_EQ(req(&nl)->nlmsg_type, RTM_DELNEIGH);
	T_ASSERT(!top(req(&nl), sizeof(*ndm), NDA_DST));

	n.has = 0;
	n.family = AF_BRIDGE; /* an FDB entry needs a MAC */
	T_EQ(nl_neigh_add(&nl, &n, false), -EINVAL);
	n.family = AF_INET6; /* family and address disagree */
	T_EQ(nl_neigh_add(&nl, &n, false), -EINVAL);
	nl_close(&nl);
}

static void test_tick_math(void)
{
	double tick = 0;

	/* 10240 bytes at 1 Mbit/s take 81920 us; at 15.625 ticks/us, 1280000 ticks. */
	T_EQ(nl_tc_xmittime(15.625, 125000, 10240), 1280000);
	T_EQ(nl_tc_xmitsize(15.625, 125000, 1280000), 10240);
	T_EQ(nl_tc_xmittime(15.625, 0, 10), UINT32_MAX);
	T_EQ(nl_tc_xmittime(15.625, 1, UINT32_MAX), UINT32_MAX);
	T_EQ(nl_tc_xmitsize(0, 125000, 100), 0);
	T_EQ(nl_tc_tick_in_usec(&tick), 0);
	T_ASSERT(tick > 0);
	T_EQ(nl_tc_xmitsize(tick, 1000000, nl_tc_xmittime(tick, 1000000, 50000)), 50000);
}

static void test_tbf(void)
{
	const struct tc_tbf_qopt *qopt;
	const struct nlattr *opts;
	struct nl_qdisc q;
	struct nl nl;
	double tick;

	T_EQ(nl_tc_tick_in_usec(&tick), 0);
	T_EQ(nl_open_dry(&nl), 0);
	T_EQ(nl_qdisc_add_tbf(&nl, 3, TC_H_ROOT, 0x10000, 125000, 10240, 20480), 0);
	T_EQ(req(&nl)->nlmsg_type, RTM_NEWQDISC);
	T_EQ(req(&nl)->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL), NLM_F_CREATE | NLM_F_EXCL);
	T_EQ(nl_qdisc_parse(req(&nl), &q), 0);
	T_STREQ(q.kind, "tbf");
	T_EQ(q.ifindex, 3);
	T_EQ(q.parent, TC_H_ROOT);
	T_EQ(q.handle, 0x10000);
	T_ASSERT(q.has & NL_QDISC_HAS_TBF);
	T_EQ(q.rate, 125000);
	T_EQ(q.burst, 10240);
	T_EQ(q.limit, 20480);
	T_EQ(q.buffer, nl_tc_xmittime(tick, 125000, 10240));
	opts = top(req(&nl), sizeof(struct tcmsg), TCA_OPTIONS);
	qopt = mnl_attr_get_payload(nested(opts, TCA_TBF_PARMS));
	T_EQ(qopt->rate.rate, 125000);
	T_EQ(qopt->rate.linklayer, TC_LINKLAYER_ETHERNET);
	T_EQ(qopt->peakrate.rate, 0);
	T_ASSERT(!nested(opts, TCA_TBF_RATE64));
	T_EQ(mnl_attr_get_u32(nested(opts, TCA_TBF_BURST)), 10240);

	/* 10 GB/s does not fit the 32-bit rate: RATE64 carries it. */
	T_EQ(nl_qdisc_add_tbf(&nl, 3, TC_H_ROOT, 0, 10000000000ULL, 1000000, 2000000), 0);
	opts = top(req(&nl), sizeof(struct tcmsg), TCA_OPTIONS);
	qopt = mnl_attr_get_payload(nested(opts, TCA_TBF_PARMS));
	T_EQ(qopt->rate.rate, UINT32_MAX);
	T_EQ(mnl_attr_get_u64(nested(opts, TCA_TBF_RATE64)), 10000000000ULL);
	T_EQ(nl_qdisc_parse(req(&nl), &q), 0);
	T_EQ(q.rate, 10000000000ULL);

	T_EQ(nl_qdisc_add_tbf(&nl, 3, TC_H_ROOT, 0, 125000, 0, 100), -EINVAL);
	T_EQ(nl_qdisc_del(&nl, 3, TC_H_ROOT, 0), 0);
	T_EQ(req(&nl)->nlmsg_type, RTM_DELQDISC);
	nl_close(&nl);
}

static void test_ingress_mirred(void)
{
	const struct nlattr *opts, *act;
	const struct tc_u32_sel *sel;
	const struct tcmsg *tcm;
	struct nl_filter f;
	struct nl_qdisc q;
	struct nl nl;

	T_EQ(nl_open_dry(&nl), 0);
	tcm = mnl_nlmsg_get_payload(req(&nl));
	T_EQ(nl_qdisc_add_ingress(&nl, 3), 0);
	T_EQ(nl_qdisc_parse(req(&nl), &q), 0);
	T_STREQ(q.kind, "ingress");
	T_EQ(q.parent, TC_H_INGRESS);
	T_EQ(q.handle, 0xffff0000);
	T_EQ(q.has, 0);

	T_EQ(nl_filter_add_u32_mirred_redirect(&nl, 3, 0xffff0000, 9), 0);
	T_EQ(req(&nl)->nlmsg_type, RTM_NEWTFILTER);
	T_EQ(tcm->tcm_parent, 0xffff0000);
	T_EQ(nl_filter_parse(req(&nl), &f), 0);
	T_STREQ(f.kind, "u32");
	T_EQ(f.prio, 1);
	T_EQ(f.protocol, ETH_P_ALL);
	T_ASSERT(f.has & NL_FILTER_HAS_MIRRED);
	T_EQ(f.mirred_eaction, TCA_EGRESS_REDIR);
	T_EQ(f.mirred_ifindex, 9);
	opts = top(req(&nl), sizeof(*tcm), TCA_OPTIONS);
	sel = mnl_attr_get_payload(nested(opts, TCA_U32_SEL));
	T_EQ(mnl_attr_get_payload_len(nested(opts, TCA_U32_SEL)),
	     sizeof(*sel) + sizeof(struct tc_u32_key));
	T_EQ(sel->nkeys, 1);
	T_EQ(sel->flags, TC_U32_TERMINAL);
	T_EQ(sel->keys[0].mask, 0);
	act = nested(nested(opts, TCA_U32_ACT), 1);
	T_STREQ(mnl_attr_get_str(nested(act, TCA_ACT_KIND)), "mirred");
	T_EQ(((const struct tc_mirred *)mnl_attr_get_payload(
		      nested(nested(act, TCA_ACT_OPTIONS), TCA_MIRRED_PARMS)))
		     ->action,
	     TC_ACT_STOLEN);

	T_EQ(nl_filter_del(&nl, 3, 0xffff0000, 1, ETH_P_ALL), 0);
	T_EQ(tcm->tcm_info, TC_H_MAKE(1U << 16, htons(ETH_P_ALL)));
	nl_close(&nl);
}

/* Parsers must refuse what the policy forbids, not read past it. */
static void test_parse_policy(void)
{
	char buf[256] = {0};
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nl_link l = {.mtu = 42};
	uint16_t two = 2;

	nlh->nlmsg_type = RTM_NEWLINK;
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "x");
	T_EQ(nl_link_parse(nlh, &l), 0);
	T_STREQ(l.name, "x");
	mnl_attr_put(nlh, IFLA_MTU, sizeof(two), &two); /* a u32 attribute of 2 bytes */
	l.mtu = 42;
	T_EQ(nl_link_parse(nlh, &l), -EINVAL);
	T_EQ(l.mtu, 42); /* ret_ untouched on failure */
	nlh->nlmsg_len = mnl_nlmsg_size(2); /* shorter than ifinfomsg */
	T_EQ(nl_link_parse(nlh, &l), -EINVAL);
}

static int count_cb(const struct nl_link *l, void *data)
{
	(*(int *)data)++;
	return 0;
}

static int fail_cb(const struct nl_link *l, void *data)
{
	(*(int *)data)++;
	return -ECANCELED;
}

/* Read-only requests to the kernel, in whatever netns the test runs in. */
static void test_kernel(void)
{
	struct nl_link lo;
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	struct nl nl;
	int n = 0;

	T_EQ(nl_open(&nl, -1), 0);
	T_EQ(nl_link_get_by_name(&nl, "lo", &lo), 0);
	T_STREQ(lo.name, "lo");
	T_ASSERT(lo.ifindex > 0);
	T_EQ(nl_link_get_by_index(&nl, lo.ifindex, &lo), 0);
	T_STREQ(lo.name, "lo");
	T_EQ(nl_link_get_by_name(&nl, "nosuchlink0", &lo), -ENODEV);
	T_STREQ(lo.name, "lo");
	T_EQ(nl_link_dump(&nl, count_cb, &n), 0);
	T_ASSERT(n >= 1);
	/* A failing callback fails the dump, which is still read to its end. */
	n = 0;
	T_EQ(nl_link_dump(&nl, fail_cb, &n), -ECANCELED);
	T_EQ(n, 1);
	T_EQ(nl_link_get_by_name(&nl, "lo", &lo), 0);

	/* A malformed dump request: the kernel's extended ack must reach nl_errmsg(). */
	nlh = nl_msg(&nl, RTM_GETROUTE, 0);
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = 8;
	T_EQ(nl_dump(&nl, nlh, NULL, NULL), -EINVAL);
	T_ASSERT(strstr(nl_errmsg(&nl), "header") != NULL);
	T_EQ(nl_link_get_by_name(&nl, "lo", &lo), 0);
	T_STREQ(nl_errmsg(&nl), "");
	nl_close(&nl);
}

static void test_netns(void)
{
	struct nl_link lo;
	struct nl nl;
	int fd, saved = -1;

	T_EQ(netns_open(""), -EINVAL);
	T_EQ(netns_open("/nonexistent/ns"), -ENOENT);
	fd = netns_open("/proc/thread-self/ns/net");
	T_ASSERT(fd >= 0);
	T_EQ(netns_is_self(fd), 1);
	T_ASSERT(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	if (geteuid() == 0) {
		T_EQ(netns_enter(fd, &saved), 0);
		T_ASSERT(saved >= 0);
		T_EQ(netns_leave(saved), 0);
		T_EQ(nl_open(&nl, fd), 0);
		T_EQ(nl_link_get_by_name(&nl, "lo", &lo), 0);
		nl_close(&nl);
	}
	close(fd);
	T_EQ(netns_enter(-1, &saved), -EBADF);
}

static void test_sysctl(void)
{
	char buf[64];

	T_EQ(sysctl_get("kernel/hostname", buf, sizeof(buf)), -EINVAL);
	T_EQ(sysctl_get("net/../kernel/hostname", buf, sizeof(buf)), -EINVAL);
	T_EQ(sysctl_get("net/ipv4/./ip_forward", buf, sizeof(buf)), -EINVAL);
	T_EQ(sysctl_get("net//ipv4/ip_forward", buf, sizeof(buf)), -EINVAL);
	T_EQ(sysctl_get("/proc/sys/net/ipv4/ip_forward", buf, sizeof(buf)), -EINVAL);
	T_EQ(sysctl_set("net/ipv4/", "1"), -EINVAL);
	T_EQ(sysctl_get("net/ipv4/conf/nosuchlink0/forwarding", buf, sizeof(buf)), -ENOENT);
	T_EQ(sysctl_get("net/ipv4/ip_forward", buf, sizeof(buf)), 1);
	T_ASSERT(buf[0] == '0' || buf[0] == '1');
	T_EQ(sysctl_get("net/ipv4/ip_forward", buf, 1), -EINVAL);
}

int main(void)
{
	T_RUN(test_header_seq);
	T_RUN(test_bridge);
	T_RUN(test_veth);
	T_RUN(test_ifb_vxlan);
	T_RUN(test_link_set);
	T_RUN(test_brport_vlan);
	T_RUN(test_addr);
	T_RUN(test_route);
	T_RUN(test_neigh);
	T_RUN(test_tick_math);
	T_RUN(test_tbf);
	T_RUN(test_ingress_mirred);
	T_RUN(test_parse_policy);
	T_RUN(test_kernel);
	T_RUN(test_netns);
	T_RUN(test_sysctl);
	return T_EXIT();
}
