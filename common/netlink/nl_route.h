/* SPDX-License-Identifier: Apache-2.0 */
/* Addresses, routes and neighbours (ARP/NDP entries and bridge/VXLAN FDB entries) over
 * rtnetlink. Every call takes an open struct nl (nl.h). */
#ifndef NL_ROUTE_H
#define NL_ROUTE_H

#include <stdbool.h>
#include <stdint.h>
#include <net/if.h>

#include "base/ip.h"

struct nl;
struct nlmsghdr;

/* An interface address, as dumped. */
struct nl_addr {
	int ifindex;
	struct ip_prefix prefix; /* the local address and its prefix length */
	unsigned int flags; /* IFA_F_* (IFA_FLAGS when present) */
	uint8_t scope; /* RT_SCOPE_* */
	char label[IFNAMSIZ];
};

/* Parses an RTM_NEWADDR message (reply or request). Returns 0 or -EINVAL. */
int nl_addr_parse(const struct nlmsghdr *nlh, struct nl_addr *ret_addr);

/* Adds p to ifindex with IFA_F_* flags (IFA_F_NODAD, IFA_F_NOPREFIXROUTE, ...); IPv4 also
 * gets a broadcast address below /31. replace: update an existing address instead of
 * failing with -EEXIST. Returns 0 or -errno. */
int nl_addr_add(struct nl *nl, int ifindex, const struct ip_prefix *p, unsigned int flags,
		bool replace);

/* Removes p from ifindex. Returns 0, -EADDRNOTAVAIL or -errno. */
int nl_addr_del(struct nl *nl, int ifindex, const struct ip_prefix *p);

/* Calls cb for each address of ifindex (0: all links) and family (AF_UNSPEC: both).
 * Returns 0, -EINTR (interrupted dump, retry), -ENODEV or -errno. */
int nl_addr_dump(struct nl *nl, int ifindex, int family,
		 int (*cb)(const struct nl_addr *addr, void *data), void *data);

/* A route. Zero fields mean "unset": table 0 is RT_TABLE_MAIN, protocol 0 is RTPROT_BOOT
 * and type 0 RTN_UNICAST on add; scope 0 is RT_SCOPE_UNIVERSE. */
struct nl_route {
	int family; /* AF_INET or AF_INET6; taken from dst when 0 */
	struct ip_prefix dst; /* dst.len 0: default route */
	struct ip_addr gw; /* family 0: no gateway */
	struct ip_addr prefsrc; /* family 0: none */
	int oif; /* 0: none */
	unsigned int table;
	unsigned int priority; /* metric */
	uint8_t scope; /* RT_SCOPE_* */
	uint8_t protocol; /* RTPROT_* */
	uint8_t type; /* RTN_* */
	unsigned int mtu; /* RTAX_MTU, 0: none */
	unsigned int advmss; /* RTAX_ADVMSS, 0: none */
	unsigned int flags; /* RTNH_F_ONLINK, ... */
};

/* Parses an RTM_NEWROUTE message (reply or request). Returns 0 or -EINVAL. */
int nl_route_parse(const struct nlmsghdr *nlh, struct nl_route *ret_route);

/* Adds a route (NLM_F_EXCL: -EEXIST when it exists) or, with replace, adds or replaces
 * it. Returns 0 or -errno. */
int nl_route_add(struct nl *nl, const struct nl_route *rt, bool replace);

/* Deletes the route matching rt's set fields (dst, table, and gw, oif, priority, protocol,
 * type when non-zero; any scope). Returns 0, -ESRCH or -errno. */
int nl_route_del(struct nl *nl, const struct nl_route *rt);

/* Calls cb for each route of family (AF_UNSPEC: both) in table (0: every table; local and
 * cached routes included as the kernel lists them). Returns 0, -EINTR or -errno. */
int nl_route_dump(struct nl *nl, int family, unsigned int table,
		  int (*cb)(const struct nl_route *rt, void *data), void *data);

enum {
	NL_NEIGH_HAS_MAC = 1U << 0,
};

/* A neighbour entry: family AF_INET/AF_INET6 for ARP/NDP, AF_BRIDGE for FDB entries (mac ->
 * port, or for a VXLAN device mac -> remote ip). */
struct nl_neigh {
	unsigned int has; /* NL_NEIGH_HAS_* */
	int family;
	int ifindex;
	struct ip_addr ip; /* NDA_DST; family 0: none */
	uint8_t mac[6]; /* NDA_LLADDR */
	uint16_t state; /* NUD_* */
	uint8_t flags; /* NTF_* */
	int master; /* NDA_MASTER (bridge FDB), 0: none */
};

/* Parses an RTM_NEWNEIGH message (reply or request). Returns 0 or -EINVAL. */
int nl_neigh_parse(const struct nlmsghdr *nlh, struct nl_neigh *ret_neigh);

/* Adds a neighbour entry (NLM_F_EXCL) or, with replace, adds or replaces it ("ip neigh
 * replace"). state 0 is NUD_PERMANENT. Returns 0 or -errno. */
int nl_neigh_add(struct nl *nl, const struct nl_neigh *n, bool replace);

/* Deletes a neighbour entry (ARP/NDP: by ip; FDB: by mac, and ip when set). Returns 0,
 * -ENOENT or -errno. */
int nl_neigh_del(struct nl *nl, const struct nl_neigh *n);

/* Calls cb for each neighbour of family (AF_UNSPEC: ARP and NDP; AF_BRIDGE: FDB) on
 * ifindex (0: every link). Returns 0, -EINTR or -errno. */
int nl_neigh_dump(struct nl *nl, int family, int ifindex,
		  int (*cb)(const struct nl_neigh *n, void *data), void *data);

/* A VXLAN FDB entry mac -> dst on ifindex (bridge fdb append|replace ... self permanent).
 * Returns 0 or -errno. */
int nl_fdb_add(struct nl *nl, int ifindex, const uint8_t mac[6], const struct ip_addr *dst,
	       bool replace);

/* Deletes the FDB entry mac (-> dst when dst is not NULL) on ifindex. Returns 0, -ENOENT
 * or -errno. */
int nl_fdb_del(struct nl *nl, int ifindex, const uint8_t mac[6], const struct ip_addr *dst);

#endif
