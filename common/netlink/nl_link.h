/* SPDX-License-Identifier: Apache-2.0 */
/* Links over rtnetlink: read, create (bridge, veth, ifb, vxlan), change, delete; bridge
 * port flags and bridge VLANs. Every call takes an open struct nl (nl.h). */
#ifndef NL_LINK_H
#define NL_LINK_H

#include <stdbool.h>
#include <stdint.h>
#include <net/if.h>

#include "base/ip.h"

struct nl;
struct nlmsghdr;

#define NL_ALIAS_MAX 256 /* IFALIASZ, with the NUL */

/* Bridge port settings. Only the fields whose NL_BRPORT_HAS_* bit is set are meaningful
 * (read back) or sent (nl_link_set_brport). */
enum {
	NL_BRPORT_HAS_HAIRPIN = 1U << 0,
	NL_BRPORT_HAS_ISOLATED = 1U << 1,
	NL_BRPORT_HAS_LEARNING = 1U << 2,
	NL_BRPORT_HAS_UNICAST_FLOOD = 1U << 3,
	NL_BRPORT_HAS_STATE = 1U << 4,
};

struct nl_brport {
	unsigned int has; /* NL_BRPORT_HAS_* */
	bool hairpin;
	bool isolated;
	bool learning;
	bool unicast_flood;
	uint8_t state; /* BR_STATE_* */
};

/* A VXLAN device's parameters (the subset sluice creates and checks). */
struct nl_vxlan {
	uint32_t vni;
	struct ip_addr local; /* family 0: none */
	int link; /* underlay ifindex, 0: none */
	uint16_t port; /* UDP destination port, host order; 0: kernel default */
	bool learning;
	bool gbp; /* Group Based Policy extension (IFLA_VXLAN_GBP) */
	/* Read back only: the default remote (IFLA_VXLAN_GROUP/6, family 0: none) and the
	 * miss notifications, which sluice never sets and a compatible device lacks. */
	struct ip_addr group;
	bool l2miss, l3miss;
};

enum {
	NL_LINK_HAS_MAC = 1U << 0,
	NL_LINK_HAS_LINK = 1U << 1, /* link: IFLA_LINK (a veth's peer ifindex) */
	NL_LINK_HAS_NETNSID = 1U << 2, /* link_netnsid: the peer lives in another netns */
	NL_LINK_HAS_BRPORT = 1U << 3, /* brport: the link is a bridge port */
	NL_LINK_HAS_VLAN_FILTERING = 1U << 4, /* vlan_filtering: the link is a bridge */
	NL_LINK_HAS_VXLAN = 1U << 5, /* vxlan: the link is a VXLAN device */
};

struct nl_link {
	unsigned int has; /* NL_LINK_HAS_* */
	int ifindex;
	char name[IFNAMSIZ];
	char kind[16]; /* IFLA_INFO_KIND: "veth", "bridge", ...; "" for none */
	unsigned int mtu;
	unsigned int flags; /* IFF_UP, IFF_PROMISC, ... */
	uint8_t operstate; /* IF_OPER_* */
	uint8_t mac[6];
	int master; /* 0: none */
	int link;
	int link_netnsid;
	unsigned int txqlen;
	char alias[NL_ALIAS_MAX]; /* IFLA_IFALIAS; "" for none */
	bool vlan_filtering;
	struct nl_brport brport;
	struct nl_vxlan vxlan;
};

/* Parses an RTM_NEWLINK message (a reply or a request) into *ret_link. Returns 0 or
 * -EINVAL. */
int nl_link_parse(const struct nlmsghdr *nlh, struct nl_link *ret_link);

/* Reads one link. Returns 0, -ENODEV when there is none, or -errno. */
int nl_link_get_by_name(struct nl *nl, const char *name, struct nl_link *ret_link);
int nl_link_get_by_index(struct nl *nl, int ifindex, struct nl_link *ret_link);

/* Calls cb for each link of nl's netns; cb returns >= 0 to go on or -errno to fail.
 * Returns 0, -EINTR (dump interrupted, retry) or -errno. */
int nl_link_dump(struct nl *nl, int (*cb)(const struct nl_link *link, void *data), void *data);

/* Creates a bridge (NLM_F_EXCL: -EEXIST when name exists). mtu 0 and mac NULL leave the
 * kernel's defaults. Returns 0 or -errno. */
int nl_link_add_bridge(struct nl *nl, const char *name, unsigned int mtu, const uint8_t *mac,
		       bool vlan_filtering);

/* A veth pair to create: name, peer and peer_netns_fd (0 is a valid fd) must be set. */
struct nl_veth {
	const char *name; /* this end, in nl's netns */
	const char *peer; /* the other end */
	int peer_netns_fd; /* the peer's netns; < 0: nl's netns */
	unsigned int mtu; /* both ends; 0: default */
	const uint8_t *mac; /* this end's MAC; NULL: random */
	const uint8_t *peer_mac; /* the peer's MAC; NULL: random */
	int master; /* enslave this end at creation; 0: none */
	bool up; /* bring this end up at creation (the peer stays down) */
};

/* Creates a veth pair in one message, the peer directly in its netns (VETH_INFO_PEER +
 * IFLA_NET_NS_FD). NLM_F_EXCL: -EEXIST when either name exists. Returns 0 or -errno. */
int nl_link_add_veth(struct nl *nl, const struct nl_veth *v);

/* Creates an IFB device; mtu and txqlen 0 keep defaults. Returns 0 or -errno. */
int nl_link_add_ifb(struct nl *nl, const char *name, unsigned int mtu, unsigned int txqlen);

/* Creates a VXLAN device (iproute2: ip link add NAME type vxlan id ... local ... dev ...
 * dstport ... [no]learning [gbp]); group, l2miss and l3miss are not sent. mtu 0 and mac NULL
 * keep defaults. Returns 0 or -errno. */
int nl_link_add_vxlan(struct nl *nl, const char *name, const struct nl_vxlan *vx, unsigned int mtu,
		      const uint8_t *mac);

/* Deletes a link (a veth takes its peer along). Returns 0, -ENODEV or -errno. */
int nl_link_del(struct nl *nl, int ifindex);
int nl_link_del_by_name(struct nl *nl, const char *name);

/* Sets IFF_UP / clears it. Returns 0 or -errno. */
int nl_link_set_up(struct nl *nl, int ifindex);
int nl_link_set_down(struct nl *nl, int ifindex);

/* Enslaves ifindex to master (0: releases it). Returns 0 or -errno. */
int nl_link_set_master(struct nl *nl, int ifindex, int master);

/* Sets the interface alias (IFLA_IFALIAS, ip link set DEV alias TEXT; "" clears it).
 * Returns 0 or -errno. */
int nl_link_set_alias(struct nl *nl, int ifindex, const char *alias);

/* Changes MTU, MAC address, name, promiscuity. Returns 0 or -errno. */
int nl_link_set_mtu(struct nl *nl, int ifindex, unsigned int mtu);
int nl_link_set_mac(struct nl *nl, int ifindex, const uint8_t mac[6]);
int nl_link_set_name(struct nl *nl, int ifindex, const char *name);
int nl_link_set_promisc(struct nl *nl, int ifindex, bool on);

/* Moves a link into netns_fd's netns. Returns 0 or -errno. */
int nl_link_set_netns(struct nl *nl, int ifindex, int netns_fd);

/* Sets the bridge port flags whose bit is in bp->has (AF_BRIDGE IFLA_PROTINFO). Returns 0
 * or -errno. */
int nl_link_set_brport(struct nl *nl, int ifindex, const struct nl_brport *bp);

/* Turns VLAN filtering of a bridge on or off. Returns 0 or -errno. */
int nl_link_set_bridge_vlan_filtering(struct nl *nl, int ifindex, bool on);

enum {
	NL_VLAN_PVID = 1U << 0,
	NL_VLAN_UNTAGGED = 1U << 1,
	NL_VLAN_SELF = 1U << 2, /* the bridge device itself (bridge vlan ... self) */
	NL_VLAN_MASTER = 1U << 3, /* a port, through its master (the default) */
};

/* A VLAN range of a bridge or bridge port, as dumped. */
struct nl_vlan {
	int ifindex;
	uint16_t vid_start, vid_end;
	unsigned int flags; /* NL_VLAN_PVID | NL_VLAN_UNTAGGED */
};

/* Adds / removes VLANs vid_start..vid_end (equal for one) on a bridge port or, with
 * NL_VLAN_SELF, on the bridge; NL_VLAN_PVID needs a single VLAN. Returns 0 or -errno. */
int nl_bridge_vlan_add(struct nl *nl, int ifindex, uint16_t vid_start, uint16_t vid_end,
		       unsigned int flags);
int nl_bridge_vlan_del(struct nl *nl, int ifindex, uint16_t vid_start, uint16_t vid_end,
		       unsigned int flags);

/* Calls cb for each VLAN range of ifindex (0: of every bridge and port). Returns 0, -EINTR
 * or -errno. */
int nl_bridge_vlan_dump(struct nl *nl, int ifindex,
			int (*cb)(const struct nl_vlan *vlan, void *data), void *data);

#endif
