// SPDX-License-Identifier: Apache-2.0
/* common/overlay/peer.c's requests, parsed back from a dry netlink handle's batch: per VXLAN
 * peer neighbour, FDB entry, onlink route (Flannel's order; a batch's VXLAN adds kind by
 * kind), replace semantics, protocol 83; direct routes, whole; deletes in reverse order and
 * before adds; IPv6; bad input; sync's notes; the batch API itself. */
#define T_NAME "test_overlay_peer"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>

#include "base/err.h"
#include "base/ip.h"
#include "netlink/nl.h"
#include "netlink/nl_route.h"
#include "overlay/peer.h"
#include "t.h"

#define DEV 7
#define UNDERLAY 3

static const uint8_t mac2[6] = {0x02, 0, 0, 0, 0, 0x02};
static const uint8_t mac3[6] = {0x02, 0, 0, 0, 0, 0x03};

/* The batch's messages, in order. */
struct msgs {
	const struct nlmsghdr *m[64];
	int n;
};

static void batch_msgs(const struct nl *nl, struct msgs *ms)
{
	size_t len;
	const void *data = nl_batch_data(nl, &len);
	const struct nlmsghdr *nlh = data;
	int rest = (int)len;

	ms->n = 0;
	for (; data && mnl_nlmsg_ok(nlh, rest) && ms->n < 64; nlh = mnl_nlmsg_next(nlh, &rest))
		ms->m[ms->n++] = nlh;
}

static struct overlay_peer peer(const char *subnet, const char *pub, const uint8_t *mac)
{
	struct overlay_peer p = {0};

	ip_prefix_parse(subnet, &p.subnet);
	ip_parse(pub, &p.public_ip);
	if (mac)
		memcpy(p.mac, mac, 6);
	else
		p.direct = true;
	return p;
}

static bool ip_is(const struct ip_addr *ip, const char *s)
{
	struct ip_addr want;

	return ip_parse(s, &want) == 0 && ip_eq(ip, &want);
}

static const uint16_t add_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;

static void test_vxlan_order(void)
{
	struct overlay_where w = {AF_INET, DEV, UNDERLAY};
	struct overlay_peer p[2] = {peer("10.244.2.0/24", "192.168.0.12", mac2),
				    peer("10.244.3.0/24", "192.168.0.13", mac3)};
	struct err err = {0};
	struct nl nl;
	struct msgs ms;
	struct nl_neigh n;
	struct nl_route rt;

	T_EQ(nl_open_dry(&nl), 0);
	T_EQ(overlay_peers_apply(&nl, &w, p, 2, NULL, 0, &err), 2);
	batch_msgs(&nl, &ms);
	T_EQ(ms.n, 6);
	/* the peers' neighbours, then their FDB entries, then their routes */
	for (int i = 0; i < 2; i++) {
		const struct nlmsghdr *ne = ms.m[i], *fdb = ms.m[2 + i], *ro = ms.m[4 + i];
		const char *net = i ? "10.244.3.0" : "10.244.2.0";

		/* 1. neighbour: network address -> VtepMAC, permanent */
		T_EQ(ne->nlmsg_type, RTM_NEWNEIGH);
		T_EQ(ne->nlmsg_flags, add_flags);
		T_EQ(nl_neigh_parse(ne, &n), 0);
		T_EQ(n.family, AF_INET);
		T_EQ(n.ifindex, DEV);
		T_EQ(n.state, NUD_PERMANENT);
		T_ASSERT(ip_is(&n.ip, net));
		T_ASSERT(n.has & NL_NEIGH_HAS_MAC);
		T_ASSERT(!memcmp(n.mac, p[i].mac, 6));
		/* 2. FDB: VtepMAC -> PublicIP, self permanent */
		T_EQ(fdb->nlmsg_type, RTM_NEWNEIGH);
		T_EQ(fdb->nlmsg_flags, add_flags);
		T_EQ(nl_neigh_parse(fdb, &n), 0);
		T_EQ(n.family, AF_BRIDGE);
		T_EQ(n.ifindex, DEV);
		T_EQ(n.flags, NTF_SELF);
		T_EQ(n.state, NUD_PERMANENT);
		T_ASSERT(ip_is(&n.ip, i ? "192.168.0.13" : "192.168.0.12"));
		T_ASSERT(!memcmp(n.mac, p[i].mac, 6));
		/* 3. route: subnet via its network address, onlink, protocol 83 */
		T_EQ(ro->nlmsg_type, RTM_NEWROUTE);
		T_EQ(ro->nlmsg_flags, add_flags);
		T_EQ(nl_route_parse(ro, &rt), 0);
		T_EQ(rt.protocol, OVERLAY_RTPROT);
		T_EQ(rt.protocol, 83);
		T_ASSERT(rt.flags & RTNH_F_ONLINK);
		T_EQ(rt.oif, DEV);
		T_EQ(rt.dst.len, 24);
		T_ASSERT(ip_is(&rt.dst.ip, net));
		T_ASSERT(ip_is(&rt.gw, net));
		T_EQ(rt.table, RT_TABLE_MAIN);
		T_EQ(rt.type, RTN_UNICAST);
		T_EQ(rt.scope, RT_SCOPE_UNIVERSE);
	}
	/* one sequence number each, in order: acks are matched by them */
	for (int i = 1; i < ms.n; i++)
		T_EQ(ms.m[i]->nlmsg_seq, ms.m[i - 1]->nlmsg_seq + 1);
	nl_close(&nl);
}

static void test_direct(void)
{
	struct overlay_where w = {AF_INET, DEV, UNDERLAY};
	struct overlay_peer p = peer("10.244.4.0/24", "192.168.0.14", NULL);
	struct err err = {0};
	struct nl nl;
	struct msgs ms;
	struct nl_route rt;
	struct nl_neigh n;

	T_EQ(nl_open_dry(&nl), 0);
	T_EQ(overlay_peers_apply(&nl, &w, &p, 1, NULL, 0, &err), 1);
	batch_msgs(&nl, &ms);
	/* the route via the PublicIP on the underlay, then the neighbour a VXLAN peer had */
	T_EQ(ms.n, 2);
	T_EQ(ms.m[0]->nlmsg_type, RTM_NEWROUTE);
	T_EQ(ms.m[0]->nlmsg_flags, add_flags);
	T_EQ(nl_route_parse(ms.m[0], &rt), 0);
	T_EQ(rt.oif, UNDERLAY);
	T_EQ(rt.protocol, 83);
	T_ASSERT(!(rt.flags & RTNH_F_ONLINK));
	T_ASSERT(ip_is(&rt.gw, "192.168.0.14"));
	T_ASSERT(ip_is(&rt.dst.ip, "10.244.4.0"));
	T_EQ(ms.m[1]->nlmsg_type, RTM_DELNEIGH);
	T_EQ(nl_neigh_parse(ms.m[1], &n), 0);
	T_EQ(n.family, AF_INET);
	T_ASSERT(ip_is(&n.ip, "10.244.4.0"));
	/* with a (former) VtepMAC its FDB entry goes too */
	memcpy(p.mac, mac2, 6);
	T_EQ(overlay_peers_apply(&nl, &w, &p, 1, NULL, 0, &err), 1);
	batch_msgs(&nl, &ms);
	T_EQ(ms.n, 3);
	T_EQ(ms.m[2]->nlmsg_type, RTM_DELNEIGH);
	T_EQ(nl_neigh_parse(ms.m[2], &n), 0);
	T_EQ(n.family, AF_BRIDGE);
	T_ASSERT(!memcmp(n.mac, mac2, 6));
	nl_close(&nl);
}

static void test_del_reverse_first(void)
{
	struct overlay_where w = {AF_INET, DEV, UNDERLAY};
	struct overlay_peer add = peer("10.244.3.0/24", "192.168.0.13", mac3);
	struct overlay_peer del[2] = {peer("10.244.2.0/24", "192.168.0.12", mac2),
				      peer("10.244.5.0/24", "192.168.0.15", NULL)};
	struct err err = {0};
	struct nl nl;
	struct msgs ms;
	struct nl_route rt;
	struct nl_neigh n;

	T_EQ(nl_open_dry(&nl), 0);
	T_EQ(overlay_peers_apply(&nl, &w, &add, 1, del, 2, &err), 3);
	batch_msgs(&nl, &ms);
	T_EQ(ms.n, 1 + 3 + 3);
	/* the deletes kind by kind: the direct peer's route (its only entry, ours by
	 * protocol), the VXLAN peer's route, FDB entry, neighbour */
	T_EQ(ms.m[0]->nlmsg_type, RTM_DELROUTE);
	T_EQ(nl_route_parse(ms.m[0], &rt), 0);
	T_EQ(rt.oif, UNDERLAY);
	T_EQ(rt.protocol, 83);
	T_ASSERT(ip_is(&rt.gw, "192.168.0.15"));
	T_EQ(ms.m[1]->nlmsg_type, RTM_DELROUTE);
	T_EQ(nl_route_parse(ms.m[1], &rt), 0);
	T_EQ(rt.oif, DEV);
	T_ASSERT(ip_is(&rt.dst.ip, "10.244.2.0"));
	T_EQ(ms.m[2]->nlmsg_type, RTM_DELNEIGH);
	T_EQ(nl_neigh_parse(ms.m[2], &n), 0);
	T_EQ(n.family, AF_BRIDGE);
	T_ASSERT(ip_is(&n.ip, "192.168.0.12"));
	T_EQ(ms.m[3]->nlmsg_type, RTM_DELNEIGH);
	T_EQ(nl_neigh_parse(ms.m[3], &n), 0);
	T_EQ(n.family, AF_INET);
	T_ASSERT(ip_is(&n.ip, "10.244.2.0"));
	/* then the add */
	T_EQ(ms.m[4]->nlmsg_type, RTM_NEWNEIGH);
	T_EQ(ms.m[5]->nlmsg_type, RTM_NEWNEIGH);
	T_EQ(ms.m[6]->nlmsg_type, RTM_NEWROUTE);
	nl_close(&nl);
}

/* A direct add among VXLAN adds stays whole and in its place: the runs of VXLAN adds
 * around it go kind by kind (its FDB delete of a MAC a VXLAN add of the batch may
 * program keeps its order against that add). */
static void test_mixed_runs(void)
{
	struct overlay_where w = {AF_INET, DEV, UNDERLAY};
	struct overlay_peer p[4] = {peer("10.244.2.0/24", "192.168.0.12", mac2),
				    peer("10.244.3.0/24", "192.168.0.13", mac3),
				    peer("10.244.4.0/24", "192.168.0.14", NULL),
				    peer("10.244.5.0/24", "192.168.0.15", mac3)};
	static const struct {
		uint16_t type;
		uint8_t family; /* of a neighbour */
		const char *ip; /* neighbour, FDB dst or route dst */
	} want[] = {
		{RTM_NEWNEIGH, AF_INET, "10.244.2.0"},
		{RTM_NEWNEIGH, AF_INET, "10.244.3.0"},
		{RTM_NEWNEIGH, AF_BRIDGE, "192.168.0.12"},
		{RTM_NEWNEIGH, AF_BRIDGE, "192.168.0.13"},
		{RTM_NEWROUTE, 0, "10.244.2.0"},
		{RTM_NEWROUTE, 0, "10.244.3.0"},
		{RTM_NEWROUTE, 0, "10.244.4.0"},
		{RTM_DELNEIGH, AF_INET, "10.244.4.0"},
		{RTM_DELNEIGH, AF_BRIDGE, NULL},
		{RTM_NEWNEIGH, AF_INET, "10.244.5.0"},
		{RTM_NEWNEIGH, AF_BRIDGE, "192.168.0.15"},
		{RTM_NEWROUTE, 0, "10.244.5.0"},
	};
	struct err err = {0};
	struct nl nl;
	struct msgs ms;
	struct nl_neigh n;
	struct nl_route rt;

	memcpy(p[2].mac, mac3, 6); /* the direct peer names a MAC a VXLAN add programs */
	T_EQ(nl_open_dry(&nl), 0);
	T_EQ(overlay_peers_apply(&nl, &w, p, 4, NULL, 0, &err), 4);
	batch_msgs(&nl, &ms);
	T_EQ(ms.n, (int)(sizeof(want) / sizeof(want[0])));
	for (int i = 0; i < ms.n && i < (int)(sizeof(want) / sizeof(want[0])); i++) {
		T_EQ(ms.m[i]->nlmsg_type, want[i].type);
		if (want[i].type == RTM_NEWROUTE) {
			T_EQ(nl_route_parse(ms.m[i], &rt), 0);
			T_ASSERT(ip_is(&rt.dst.ip, want[i].ip));
			continue;
		}
		T_EQ(nl_neigh_parse(ms.m[i], &n), 0);
		T_EQ(n.family, want[i].family);
		if (want[i].ip)
			T_ASSERT(ip_is(&n.ip, want[i].ip));
		else
			T_ASSERT(!memcmp(n.mac, mac3, 6));
	}
	nl_close(&nl);
}

/* A del and an add of the same subnet: the peer's old and new state. The add replaces the
 * neighbour and the route in place (never deleted: no gap), then only the old MAC's FDB
 * entry goes; the same MAC at a new PublicIP is replaced with nothing left to remove. */
static void test_replace_old(void)
{
	struct overlay_where w = {AF_INET, DEV, UNDERLAY};
	struct overlay_peer add = peer("10.244.2.0/24", "192.168.0.13", mac3);
	struct overlay_peer old = peer("10.244.2.0/24", "192.168.0.12", mac2);
	struct overlay_peer same_mac = peer("10.244.2.0/24", "192.168.0.12", mac3);
	struct overlay_peer dir = peer("10.244.2.0/24", "192.168.0.13", NULL);
	struct err err = {0};
	struct nl nl;
	struct msgs ms;
	struct nl_neigh n;

	T_EQ(nl_open_dry(&nl), 0);
	T_EQ(overlay_peers_apply(&nl, &w, &add, 1, &old, 1, &err), 1);
	batch_msgs(&nl, &ms);
	T_EQ(ms.n, 3 + 1);
	T_EQ(ms.m[0]->nlmsg_type, RTM_NEWNEIGH);
	T_EQ(ms.m[1]->nlmsg_type, RTM_NEWNEIGH);
	T_EQ(ms.m[2]->nlmsg_type, RTM_NEWROUTE);
	T_EQ(ms.m[3]->nlmsg_type, RTM_DELNEIGH);
	T_EQ(nl_neigh_parse(ms.m[3], &n), 0);
	T_EQ(n.family, AF_BRIDGE);
	T_ASSERT(!memcmp(n.mac, mac2, 6));
	T_ASSERT(ip_is(&n.ip, "192.168.0.12"));

	T_EQ(overlay_peers_apply(&nl, &w, &add, 1, &same_mac, 1, &err), 1);
	batch_msgs(&nl, &ms);
	T_EQ(ms.n, 3);
	T_EQ(ms.m[2]->nlmsg_type, RTM_NEWROUTE);

	/* to direct: the route replaced, the add removes the neighbour, then the old FDB */
	T_EQ(overlay_peers_apply(&nl, &w, &dir, 1, &old, 1, &err), 1);
	batch_msgs(&nl, &ms);
	T_EQ(ms.n, 2 + 1);
	T_EQ(ms.m[0]->nlmsg_type, RTM_NEWROUTE);
	T_EQ(ms.m[1]->nlmsg_type, RTM_DELNEIGH);
	T_EQ(ms.m[2]->nlmsg_type, RTM_DELNEIGH);
	T_EQ(nl_neigh_parse(ms.m[2], &n), 0);
	T_EQ(n.family, AF_BRIDGE);
	T_ASSERT(!memcmp(n.mac, mac2, 6));
	nl_close(&nl);
}

static void test_ipv6(void)
{
	struct overlay_where w = {AF_INET6, DEV, UNDERLAY};
	struct overlay_peer p = peer("fd00:244:2::/64", "fd00:100::12", mac2);
	struct err err = {0};
	struct nl nl;
	struct msgs ms;
	struct nl_neigh n;
	struct nl_route rt;

	T_EQ(nl_open_dry(&nl), 0);
	T_EQ(overlay_peers_apply(&nl, &w, &p, 1, NULL, 0, &err), 1);
	batch_msgs(&nl, &ms);
	T_EQ(ms.n, 3);
	T_EQ(nl_neigh_parse(ms.m[0], &n), 0);
	T_EQ(n.family, AF_INET6);
	T_ASSERT(ip_is(&n.ip, "fd00:244:2::"));
	T_EQ(nl_neigh_parse(ms.m[1], &n), 0);
	T_EQ(n.family, AF_BRIDGE);
	T_ASSERT(ip_is(&n.ip, "fd00:100::12"));
	T_EQ(nl_route_parse(ms.m[2], &rt), 0);
	T_EQ(rt.family, AF_INET6);
	T_EQ(rt.dst.len, 64);
	T_ASSERT(ip_is(&rt.gw, "fd00:244:2::"));
	T_ASSERT(rt.flags & RTNH_F_ONLINK);
	T_EQ(rt.protocol, 83);
	nl_close(&nl);
}

static void test_bad_input(void)
{
	struct overlay_where w = {AF_INET, DEV, UNDERLAY};
	struct overlay_peer p[2] = {peer("10.244.2.0/24", "192.168.0.12", mac2),
				    peer("fd00:244:2::/64", "192.168.0.13", mac3)};
	struct overlay_peer nomac = peer("10.244.2.0/24", "192.168.0.12", mac2);
	struct err err = {0};
	struct nl nl;
	size_t len;

	T_EQ(nl_open_dry(&nl), 0);
	T_EQ(overlay_peers_apply(&nl, &w, p, 2, NULL, 0, &err), -EINVAL);
	T_STREQ(err.msg, "peer fd00:244:2::/64 via 192.168.0.13 vtep 02:00:00:00:00:03: subnet "
			 "and public IP must be IPv4, with a VTEP MAC");
	/* nothing half-done: no request was built */
	T_ASSERT(nl_batch_data(&nl, &len) == NULL);
	memset(nomac.mac, 0, 6);
	memset(&err, 0, sizeof(err));
	T_EQ(overlay_peers_apply(&nl, &w, &nomac, 1, NULL, 0, &err), -EINVAL);
	T_ASSERT(strstr(err.msg, "with a VTEP MAC") != NULL);
	nl_close(&nl);
}

struct notes {
	char line[4][200];
	int n;
};

static void note(void *data, const char *what)
{
	struct notes *ns = data;

	if (ns->n < 4)
		snprintf(ns->line[ns->n], sizeof(ns->line[0]), "%s", what);
	ns->n++;
}

static void test_sync_notes(void)
{
	struct overlay_where w = {AF_INET, DEV, UNDERLAY};
	struct overlay_peer p[2] = {peer("10.244.2.0/24", "192.168.0.12", mac2),
				    peer("10.244.4.0/24", "192.168.0.14", NULL)};
	struct notes ns = {0};
	struct err err = {0};
	struct nl nl;
	struct msgs ms;

	/* a dry handle dumps nothing: both peers are new */
	T_EQ(nl_open_dry(&nl), 0);
	T_EQ(overlay_peers_sync(&nl, &w, p, 2, note, &ns, &err), 2);
	T_EQ(ns.n, 2);
	T_STREQ(ns.line[0], "add 10.244.2.0/24 via 192.168.0.12 vtep 02:00:00:00:00:02");
	T_STREQ(ns.line[1], "add 10.244.4.0/24 via 192.168.0.14 direct");
	batch_msgs(&nl, &ms);
	T_EQ(ms.n, 3 + 2);
	nl_close(&nl);
}

static void test_batch_api(void)
{
	struct nl nl;
	struct nl_neigh n = {.family = AF_INET, .ifindex = 2, .has = NL_NEIGH_HAS_MAC};
	int errs[3] = {9, 9, 9};
	struct msgs ms;
	struct nlmsghdr *nlh;

	T_EQ(nl_open_dry(&nl), 0);
	ip_parse("10.0.0.1", &n.ip);
	T_EQ(nl_batch_flush(&nl, errs, 3), -EINVAL); /* none open */
	T_EQ(nl_batch_begin(&nl), 0);
	T_EQ(nl_batch_begin(&nl), -EBUSY);
	T_EQ(nl_neigh_add(&nl, &n, true), 0);
	ip_parse("10.0.0.2", &n.ip);
	T_EQ(nl_neigh_add(&nl, &n, false), 0);
	T_EQ(nl_batch_count(&nl), 2);
	/* replies cannot be batched */
	nlh = nl_msg(&nl, RTM_GETLINK, 0);
	T_EQ(nl_talk(&nl, nlh, (int (*)(const struct nlmsghdr *, void *))1, NULL), -EINVAL);
	T_EQ(nl_batch_flush(&nl, errs, 3), 0);
	T_EQ(errs[0], 0);
	T_EQ(errs[1], 0);
	T_EQ(errs[2], 0);
	batch_msgs(&nl, &ms);
	T_EQ(ms.n, 2);
	T_EQ(ms.m[0]->nlmsg_flags, add_flags);
	T_EQ(ms.m[1]->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
	/* after the batch, requests go out at once again (dry: nothing queued) */
	T_EQ(nl_neigh_add(&nl, &n, true), 0);
	batch_msgs(&nl, &ms);
	T_EQ(ms.n, 2);
	nl_close(&nl);
}

int main(void)
{
	T_RUN(test_vxlan_order);
	T_RUN(test_mixed_runs);
	T_RUN(test_direct);
	T_RUN(test_del_reverse_first);
	T_RUN(test_replace_old);
	T_RUN(test_ipv6);
	T_RUN(test_bad_input);
	T_RUN(test_sync_notes);
	T_RUN(test_batch_api);
	return T_EXIT();
}
