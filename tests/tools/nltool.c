// SPDX-License-Identifier: Apache-2.0
/* nltool: drives common/nl*, netns and sysctl from tests/netns/nl.sh. Each command does one
 * library call; reads print one "key=value ..." line per object. Usage: nltool -h */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_ether.h>
#include <linux/neighbour.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include "base/ip.h"
#include "base/sysctl.h"
#include "netlink/netns.h"
#include "netlink/nl.h"
#include "netlink/nl_link.h"
#include "netlink/nl_route.h"
#include "netlink/nl_tc.h"

struct tool {
	struct nl nl;
	int netns_fd; /* -n NETNS, or -1 */
	int argc;
	char **argv; /* the command's arguments, after its name */
};

static const char *opt(const struct tool *t, const char *key)
{
	size_t n = strlen(key);

	for (int i = 0; i < t->argc; i++) {
		if (!strncmp(t->argv[i], key, n) && t->argv[i][n] == '=')
			return t->argv[i] + n + 1;
		if (!strcmp(t->argv[i], key))
			return "1";
	}
	return NULL;
}

static unsigned long long opt_num(const struct tool *t, const char *key, unsigned long long def)
{
	const char *v = opt(t, key);

	return v ? strtoull(v, NULL, 0) : def;
}

static const char *arg(const struct tool *t, int i)
{
	if (i >= t->argc) {
		fprintf(stderr, "nltool: missing argument %d\n", i + 1);
		exit(2);
	}
	return t->argv[i];
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

static const uint8_t *opt_mac(const struct tool *t, const char *key, uint8_t mac[6])
{
	const char *v = opt(t, key);

	if (!v)
		return NULL;
	if (parse_mac(v, mac) < 0) {
		fprintf(stderr, "nltool: bad MAC %s\n", v);
		exit(2);
	}
	return mac;
}

static void fmt_mac(const uint8_t mac[6], char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
		 mac[5]);
}

static int ifindex_of(struct tool *t, const char *name)
{
	struct nl_link l;
	int r;

	if (!strcmp(name, "none") || !strcmp(name, "0"))
		return 0;
	r = nl_link_get_by_name(&t->nl, name, &l);
	if (r < 0) {
		fprintf(stderr, "nltool: link %s: %s\n", name, nl_errmsg(&t->nl));
		exit(1);
	}
	return l.ifindex;
}

static struct ip_prefix need_prefix(const char *s)
{
	struct ip_prefix p;

	if (ip_or_prefix_parse(s, &p) < 0) {
		fprintf(stderr, "nltool: bad address %s\n", s);
		exit(2);
	}
	return p;
}

static uint32_t parse_handle(const char *s)
{
	unsigned int maj = 0, min = 0;

	if (!strcmp(s, "root"))
		return TC_H_ROOT;
	if (!strcmp(s, "ingress"))
		return TC_H_INGRESS;
	if (sscanf(s, "%x:%x", &maj, &min) < 1)
		return (uint32_t)strtoul(s, NULL, 0);
	return TC_H_MAKE(maj << 16, min);
}

static int print_link(const struct nl_link *l, void *data)
{
	char mac[18];

	printf("ifindex=%d name=%s kind=%s mtu=%u up=%d promisc=%d master=%d txqlen=%u", l->ifindex,
	       l->name, l->kind[0] ? l->kind : "-", l->mtu, !!(l->flags & IFF_UP),
	       !!(l->flags & IFF_PROMISC), l->master, l->txqlen);
	if (l->has & NL_LINK_HAS_MAC) {
		fmt_mac(l->mac, mac);
		printf(" mac=%s", mac);
	}
	if (l->has & NL_LINK_HAS_LINK)
		printf(" link=%d", l->link);
	if (l->has & NL_LINK_HAS_NETNSID)
		printf(" netnsid=%d", l->link_netnsid);
	if (l->alias[0])
		printf(" alias=%s", l->alias);
	if (l->has & NL_LINK_HAS_VLAN_FILTERING)
		printf(" vlan_filtering=%d", l->vlan_filtering);
	if (l->brport.has & NL_BRPORT_HAS_HAIRPIN)
		printf(" hairpin=%d", l->brport.hairpin);
	if (l->brport.has & NL_BRPORT_HAS_ISOLATED)
		printf(" isolated=%d", l->brport.isolated);
	if (l->brport.has & NL_BRPORT_HAS_LEARNING)
		printf(" learning=%d", l->brport.learning);
	if (l->has & NL_LINK_HAS_VXLAN) {
		char ip[IP_STRLEN];

		printf(" vni=%u local=%s dev=%d port=%u vxlan_learning=%d", l->vxlan.vni,
		       l->vxlan.local.family ? ip_fmt(&l->vxlan.local, ip) : "-", l->vxlan.link,
		       l->vxlan.port, l->vxlan.learning);
	}
	printf("\n");
	return 0;
}

static int print_addr(const struct nl_addr *a, void *data)
{
	char p[IP_STRLEN];

	printf("ifindex=%d addr=%s flags=0x%x scope=%u label=%s\n", a->ifindex,
	       ip_prefix_fmt(&a->prefix, p), a->flags, a->scope, a->label[0] ? a->label : "-");
	return 0;
}

static int print_route(const struct nl_route *rt, void *data)
{
	char d[IP_STRLEN], g[IP_STRLEN];

	printf("dst=%s gw=%s oif=%d table=%u metric=%u scope=%u proto=%u type=%u flags=0x%x "
	       "mtu=%u advmss=%u\n",
	       ip_prefix_fmt(&rt->dst, d), rt->gw.family ? ip_fmt(&rt->gw, g) : "-", rt->oif,
	       rt->table, rt->priority, rt->scope, rt->protocol, rt->type, rt->flags, rt->mtu,
	       rt->advmss);
	return 0;
}

static int print_neigh(const struct nl_neigh *n, void *data)
{
	char ip[IP_STRLEN], mac[18] = "-";

	if (n->has & NL_NEIGH_HAS_MAC)
		fmt_mac(n->mac, mac);
	printf("family=%d ifindex=%d ip=%s mac=%s state=0x%x flags=0x%x master=%d\n", n->family,
	       n->ifindex, n->ip.family ? ip_fmt(&n->ip, ip) : "-", mac, n->state, n->flags,
	       n->master);
	return 0;
}

static int print_qdisc(const struct nl_qdisc *q, void *data)
{
	printf("ifindex=%d kind=%s handle=%x:%x parent=%x:%x", q->ifindex, q->kind,
	       TC_H_MAJ(q->handle) >> 16, TC_H_MIN(q->handle), TC_H_MAJ(q->parent) >> 16,
	       TC_H_MIN(q->parent));
	if (q->has & NL_QDISC_HAS_TBF)
		printf(" rate=%llu burst=%u buffer=%u limit=%u", (unsigned long long)q->rate,
		       q->burst, q->buffer, q->limit);
	printf("\n");
	return 0;
}

static int print_filter(const struct nl_filter *f, void *data)
{
	printf("ifindex=%d kind=%s prio=%u protocol=0x%x handle=0x%x", f->ifindex, f->kind, f->prio,
	       f->protocol, f->handle);
	if (f->has & NL_FILTER_HAS_MIRRED)
		printf(" mirred_eaction=%d mirred_ifindex=%d", f->mirred_eaction,
		       f->mirred_ifindex);
	printf("\n");
	return 0;
}

static int print_vlan(const struct nl_vlan *v, void *data)
{
	printf("ifindex=%d vid=%u-%u pvid=%d untagged=%d\n", v->ifindex, v->vid_start, v->vid_end,
	       !!(v->flags & NL_VLAN_PVID), !!(v->flags & NL_VLAN_UNTAGGED));
	return 0;
}

static int cmd_link_get(struct tool *t)
{
	struct nl_link l;
	int r = nl_link_get_by_name(&t->nl, arg(t, 0), &l);

	return r < 0 ? r : print_link(&l, NULL);
}

static int cmd_link_get_index(struct tool *t)
{
	struct nl_link l;
	int r = nl_link_get_by_index(&t->nl, atoi(arg(t, 0)), &l);

	return r < 0 ? r : print_link(&l, NULL);
}

static int cmd_link_dump(struct tool *t)
{
	return nl_link_dump(&t->nl, print_link, NULL);
}

static int cmd_bridge(struct tool *t)
{
	uint8_t mac[6];

	return nl_link_add_bridge(&t->nl, arg(t, 0), opt_num(t, "mtu", 0), opt_mac(t, "mac", mac),
				  opt_num(t, "vlan_filtering", 0));
}

static int cmd_veth(struct tool *t)
{
	uint8_t mac[6], pmac[6];
	struct nl_veth v = {
		.name = arg(t, 0),
		.peer = arg(t, 1),
		.peer_netns_fd = -1,
		.mtu = opt_num(t, "mtu", 0),
		.mac = opt_mac(t, "mac", mac),
		.peer_mac = opt_mac(t, "peer_mac", pmac),
		.up = opt(t, "up"),
	};
	const char *ns = arg(t, 2), *master = opt(t, "master");
	int r;

	if (master)
		v.master = ifindex_of(t, master);
	if (strcmp(ns, "-")) {
		v.peer_netns_fd = netns_open(ns);
		if (v.peer_netns_fd < 0)
			return v.peer_netns_fd;
	}
	r = nl_link_add_veth(&t->nl, &v);
	if (v.peer_netns_fd >= 0)
		close(v.peer_netns_fd);
	return r;
}

static int cmd_ifb(struct tool *t)
{
	return nl_link_add_ifb(&t->nl, arg(t, 0), opt_num(t, "mtu", 0), opt_num(t, "txqlen", 0));
}

static int cmd_vxlan(struct tool *t)
{
	struct nl_vxlan vx = {.vni = opt_num(t, "vni", 0), .learning = opt_num(t, "learning", 1)};
	const char *v;
	uint8_t mac[6];

	if ((v = opt(t, "local")))
		vx.local = need_prefix(v).ip;
	if ((v = opt(t, "dev")))
		vx.link = ifindex_of(t, v);
	vx.port = opt_num(t, "port", 0);
	return nl_link_add_vxlan(&t->nl, arg(t, 0), &vx, opt_num(t, "mtu", 0),
				 opt_mac(t, "mac", mac));
}

static int cmd_del(struct tool *t)
{
	return nl_link_del_by_name(&t->nl, arg(t, 0));
}

static int cmd_del_index(struct tool *t)
{
	return nl_link_del(&t->nl, ifindex_of(t, arg(t, 0)));
}

static int cmd_up(struct tool *t)
{
	return nl_link_set_up(&t->nl, ifindex_of(t, arg(t, 0)));
}

static int cmd_down(struct tool *t)
{
	return nl_link_set_down(&t->nl, ifindex_of(t, arg(t, 0)));
}

static int cmd_master(struct tool *t)
{
	return nl_link_set_master(&t->nl, ifindex_of(t, arg(t, 0)), ifindex_of(t, arg(t, 1)));
}

static int cmd_mtu(struct tool *t)
{
	return nl_link_set_mtu(&t->nl, ifindex_of(t, arg(t, 0)), strtoul(arg(t, 1), NULL, 0));
}

static int cmd_mac(struct tool *t)
{
	uint8_t mac[6];

	if (parse_mac(arg(t, 1), mac) < 0)
		return -EINVAL;
	return nl_link_set_mac(&t->nl, ifindex_of(t, arg(t, 0)), mac);
}

static int cmd_rename(struct tool *t)
{
	return nl_link_set_name(&t->nl, ifindex_of(t, arg(t, 0)), arg(t, 1));
}

static int cmd_alias(struct tool *t)
{
	return nl_link_set_alias(&t->nl, ifindex_of(t, arg(t, 0)), arg(t, 1));
}

static int cmd_promisc(struct tool *t)
{
	return nl_link_set_promisc(&t->nl, ifindex_of(t, arg(t, 0)), atoi(arg(t, 1)));
}

static int cmd_setns(struct tool *t)
{
	int fd = netns_open(arg(t, 1)), r;

	if (fd < 0)
		return fd;
	r = nl_link_set_netns(&t->nl, ifindex_of(t, arg(t, 0)), fd);
	close(fd);
	return r;
}

static int cmd_brport(struct tool *t)
{
	struct nl_brport bp = {0};
	const char *v;

	if ((v = opt(t, "hairpin")) && (bp.has |= NL_BRPORT_HAS_HAIRPIN))
		bp.hairpin = atoi(v);
	if ((v = opt(t, "isolated")) && (bp.has |= NL_BRPORT_HAS_ISOLATED))
		bp.isolated = atoi(v);
	if ((v = opt(t, "learning")) && (bp.has |= NL_BRPORT_HAS_LEARNING))
		bp.learning = atoi(v);
	if ((v = opt(t, "flood")) && (bp.has |= NL_BRPORT_HAS_UNICAST_FLOOD))
		bp.unicast_flood = atoi(v);
	return nl_link_set_brport(&t->nl, ifindex_of(t, arg(t, 0)), &bp);
}

static int cmd_vlan_filtering(struct tool *t)
{
	return nl_link_set_bridge_vlan_filtering(&t->nl, ifindex_of(t, arg(t, 0)), atoi(arg(t, 1)));
}

static int vlan_common(struct tool *t, bool add)
{
	unsigned int flags = 0;
	uint16_t start = atoi(arg(t, 1));
	uint16_t end = t->argc > 2 && atoi(t->argv[2]) ? atoi(t->argv[2]) : start;
	int ifindex = ifindex_of(t, arg(t, 0));

	flags |= opt(t, "pvid") ? NL_VLAN_PVID : 0;
	flags |= opt(t, "untagged") ? NL_VLAN_UNTAGGED : 0;
	flags |= opt(t, "self") ? NL_VLAN_SELF : 0;
	flags |= opt(t, "master") ? NL_VLAN_MASTER : 0;
	return add ? nl_bridge_vlan_add(&t->nl, ifindex, start, end, flags)
		   : nl_bridge_vlan_del(&t->nl, ifindex, start, end, flags);
}

static int cmd_vlan_add(struct tool *t)
{
	return vlan_common(t, true);
}

static int cmd_vlan_del(struct tool *t)
{
	return vlan_common(t, false);
}

static int cmd_vlan_show(struct tool *t)
{
	return nl_bridge_vlan_dump(&t->nl, t->argc ? ifindex_of(t, t->argv[0]) : 0, print_vlan,
				   NULL);
}

static int cmd_addr_add(struct tool *t)
{
	struct ip_prefix p = need_prefix(arg(t, 1));
	unsigned int flags = 0;

	flags |= opt(t, "nodad") ? IFA_F_NODAD : 0;
	flags |= opt(t, "noprefixroute") ? IFA_F_NOPREFIXROUTE : 0;
	return nl_addr_add(&t->nl, ifindex_of(t, arg(t, 0)), &p, flags, opt(t, "replace"));
}

static int cmd_addr_del(struct tool *t)
{
	struct ip_prefix p = need_prefix(arg(t, 1));

	return nl_addr_del(&t->nl, ifindex_of(t, arg(t, 0)), &p);
}

static bool is_family(const char *s)
{
	return !strcmp(s, "4") || !strcmp(s, "6") || !strcmp(s, "bridge");
}

static int family_arg(const struct tool *t)
{
	if (opt(t, "4"))
		return AF_INET;
	if (opt(t, "6"))
		return AF_INET6;
	if (opt(t, "bridge"))
		return AF_BRIDGE;
	return AF_UNSPEC;
}

static int cmd_addr_show(struct tool *t)
{
	int ifindex = t->argc && !is_family(t->argv[0]) ? ifindex_of(t, t->argv[0]) : 0;

	return nl_addr_dump(&t->nl, ifindex, family_arg(t), print_addr, NULL);
}

static int scope_of(const char *s)
{
	if (!strcmp(s, "link"))
		return RT_SCOPE_LINK;
	if (!strcmp(s, "host"))
		return RT_SCOPE_HOST;
	if (!strcmp(s, "global"))
		return RT_SCOPE_UNIVERSE;
	return atoi(s);
}

static struct nl_route route_args(struct tool *t)
{
	struct nl_route rt = {0};
	const char *v;

	if (strcmp(arg(t, 0), "default"))
		rt.dst = need_prefix(arg(t, 0));
	else
		rt.family = opt(t, "6") ? AF_INET6 : AF_INET;
	if ((v = opt(t, "via")))
		rt.gw = need_prefix(v).ip;
	if ((v = opt(t, "src")))
		rt.prefsrc = need_prefix(v).ip;
	if ((v = opt(t, "dev")))
		rt.oif = ifindex_of(t, v);
	if ((v = opt(t, "scope")))
		rt.scope = scope_of(v);
	rt.table = opt_num(t, "table", 0);
	rt.priority = opt_num(t, "metric", 0);
	rt.protocol = opt_num(t, "proto", 0);
	rt.mtu = opt_num(t, "mtu", 0);
	rt.advmss = opt_num(t, "advmss", 0);
	rt.flags = opt(t, "onlink") ? RTNH_F_ONLINK : 0;
	return rt;
}

static int cmd_route_add(struct tool *t)
{
	struct nl_route rt = route_args(t);

	return nl_route_add(&t->nl, &rt, opt(t, "replace"));
}

static int cmd_route_del(struct tool *t)
{
	struct nl_route rt = route_args(t);

	return nl_route_del(&t->nl, &rt);
}

static int cmd_route_show(struct tool *t)
{
	return nl_route_dump(&t->nl, family_arg(t), opt_num(t, "table", 0), print_route, NULL);
}

static int neigh_args(struct tool *t, struct nl_neigh *n, bool fdb)
{
	const char *ip = fdb ? (t->argc > 2 ? t->argv[2] : NULL) : arg(t, 1);
	const char *mac = fdb ? arg(t, 1) : (t->argc > 2 ? t->argv[2] : NULL);

	memset(n, 0, sizeof(*n));
	n->ifindex = ifindex_of(t, arg(t, 0));
	if (ip)
		n->ip = need_prefix(ip).ip;
	n->family = n->ip.family;
	if (mac && parse_mac(mac, n->mac) < 0)
		return -EINVAL;
	n->has = mac ? NL_NEIGH_HAS_MAC : 0;
	return 0;
}

static int cmd_neigh_add(struct tool *t)
{
	struct nl_neigh n;

	return neigh_args(t, &n, false) ?: nl_neigh_add(&t->nl, &n, opt(t, "replace"));
}

static int cmd_neigh_del(struct tool *t)
{
	struct nl_neigh n;

	return neigh_args(t, &n, false) ?: nl_neigh_del(&t->nl, &n);
}

static int cmd_neigh_show(struct tool *t)
{
	int ifindex = t->argc && !is_family(t->argv[0]) ? ifindex_of(t, t->argv[0]) : 0;

	return nl_neigh_dump(&t->nl, family_arg(t), ifindex, print_neigh, NULL);
}

static int cmd_fdb_add(struct tool *t)
{
	struct nl_neigh n;

	return neigh_args(t, &n, true)
		       ?: nl_fdb_add(&t->nl, n.ifindex, n.mac, n.ip.family ? &n.ip : NULL,
				     opt(t, "replace"));
}

static int cmd_fdb_del(struct tool *t)
{
	struct nl_neigh n;

	return neigh_args(t, &n, true)
		       ?: nl_fdb_del(&t->nl, n.ifindex, n.mac, n.ip.family ? &n.ip : NULL);
}

static int cmd_tbf(struct tool *t)
{
	const char *parent = opt(t, "parent"), *handle = opt(t, "handle");

	return nl_qdisc_add_tbf(&t->nl, ifindex_of(t, arg(t, 0)),
				parent ? parse_handle(parent) : TC_H_ROOT,
				handle ? parse_handle(handle) : 0, opt_num(t, "rate", 0),
				opt_num(t, "burst", 0), opt_num(t, "limit", 0));
}

static int cmd_ingress(struct tool *t)
{
	return nl_qdisc_add_ingress(&t->nl, ifindex_of(t, arg(t, 0)));
}

static int cmd_mirred(struct tool *t)
{
	return nl_filter_add_u32_mirred_redirect(&t->nl, ifindex_of(t, arg(t, 0)),
						 TC_H_MAKE(TC_H_INGRESS, 0),
						 ifindex_of(t, arg(t, 1)));
}

static int cmd_qdisc_del(struct tool *t)
{
	return nl_qdisc_del(&t->nl, ifindex_of(t, arg(t, 0)), parse_handle(arg(t, 1)),
			    t->argc > 2 ? parse_handle(t->argv[2]) : 0);
}

static int cmd_qdisc_show(struct tool *t)
{
	return nl_qdisc_dump(&t->nl, t->argc ? ifindex_of(t, t->argv[0]) : 0, print_qdisc, NULL);
}

static int cmd_filter_show(struct tool *t)
{
	return nl_filter_dump(&t->nl, ifindex_of(t, arg(t, 0)),
			      t->argc > 1 ? parse_handle(t->argv[1]) : TC_H_MAKE(TC_H_INGRESS, 0),
			      print_filter, NULL);
}

static int cmd_filter_del(struct tool *t)
{
	return nl_filter_del(&t->nl, ifindex_of(t, arg(t, 0)), parse_handle(arg(t, 1)),
			     atoi(arg(t, 2)), ETH_P_ALL);
}

/* sysctl and netns commands run in the -n netns by entering it. */
static int in_netns(struct tool *t, int (*fn)(struct tool *t))
{
	int saved, r, l;

	if (t->netns_fd < 0)
		return fn(t);
	r = netns_enter(t->netns_fd, &saved);
	if (r < 0)
		return r;
	r = fn(t);
	l = netns_leave(saved);
	return r < 0 ? r : l;
}

static int do_sysctl_set(struct tool *t)
{
	return sysctl_set(arg(t, 0), arg(t, 1));
}

static int do_sysctl_get(struct tool *t)
{
	char buf[256];
	int r = sysctl_get(arg(t, 0), buf, sizeof(buf));

	if (r >= 0)
		printf("%s\n", buf);
	return r;
}

static int cmd_sysctl_set(struct tool *t)
{
	return in_netns(t, do_sysctl_set);
}

static int cmd_sysctl_get(struct tool *t)
{
	return in_netns(t, do_sysctl_get);
}

static int do_is_self(struct tool *t)
{
	int fd = netns_open(arg(t, 0)), r;

	if (fd < 0)
		return fd;
	r = netns_is_self(fd);
	close(fd);
	if (r >= 0)
		printf("%d\n", r);
	return r;
}

static int cmd_netns_is_self(struct tool *t)
{
	return in_netns(t, do_is_self);
}

static const struct {
	const char *name;
	int (*fn)(struct tool *t);
} commands[] = {
	{"link-get", cmd_link_get},
	{"link-get-index", cmd_link_get_index},
	{"link-dump", cmd_link_dump},
	{"bridge", cmd_bridge},
	{"veth", cmd_veth},
	{"ifb", cmd_ifb},
	{"vxlan", cmd_vxlan},
	{"del", cmd_del},
	{"del-index", cmd_del_index},
	{"up", cmd_up},
	{"down", cmd_down},
	{"master", cmd_master},
	{"mtu", cmd_mtu},
	{"mac", cmd_mac},
	{"rename", cmd_rename},
	{"alias", cmd_alias},
	{"promisc", cmd_promisc},
	{"setns", cmd_setns},
	{"brport", cmd_brport},
	{"vlan-filtering", cmd_vlan_filtering},
	{"vlan-add", cmd_vlan_add},
	{"vlan-del", cmd_vlan_del},
	{"vlan-show", cmd_vlan_show},
	{"addr-add", cmd_addr_add},
	{"addr-del", cmd_addr_del},
	{"addr-show", cmd_addr_show},
	{"route-add", cmd_route_add},
	{"route-del", cmd_route_del},
	{"route-show", cmd_route_show},
	{"neigh-add", cmd_neigh_add},
	{"neigh-del", cmd_neigh_del},
	{"neigh-show", cmd_neigh_show},
	{"fdb-add", cmd_fdb_add},
	{"fdb-del", cmd_fdb_del},
	{"tbf", cmd_tbf},
	{"ingress", cmd_ingress},
	{"mirred", cmd_mirred},
	{"qdisc-del", cmd_qdisc_del},
	{"qdisc-show", cmd_qdisc_show},
	{"filter-show", cmd_filter_show},
	{"filter-del", cmd_filter_del},
	{"sysctl-set", cmd_sysctl_set},
	{"sysctl-get", cmd_sysctl_get},
	{"netns-is-self", cmd_netns_is_self},
};

static int usage(void)
{
	fprintf(stderr, "usage: nltool [-n NETNS_PATH] COMMAND ARGS... (key=value options)\n"
			"commands:");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(stderr, " %s", commands[i].name);
	fprintf(stderr, "\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct tool t = {.netns_fd = -1};
	int i = 1, r;

	if (argc > 2 && !strcmp(argv[1], "-n")) {
		t.netns_fd = netns_open(argv[2]);
		if (t.netns_fd < 0) {
			fprintf(stderr, "nltool: %s: %s\n", argv[2], strerror(-t.netns_fd));
			return 1;
		}
		i = 3;
	}
	if (i >= argc)
		return usage();
	for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++) {
		if (strcmp(argv[i], commands[c].name))
			continue;
		t.argc = argc - i - 1;
		t.argv = argv + i + 1;
		r = nl_open(&t.nl, t.netns_fd);
		if (r >= 0)
			r = commands[c].fn(&t);
		if (r < 0)
			fprintf(stderr, "nltool: %s: %s (%s): %s\n", argv[i], strerrorname_np(-r),
				strerror(-r), t.nl.buf ? nl_errmsg(&t.nl) : "");
		nl_close(&t.nl);
		if (t.netns_fd >= 0)
			close(t.netns_fd);
		return r < 0 ? 1 : 0;
	}
	return usage();
}
