/* SPDX-License-Identifier: Apache-2.0 */
/* hostPorts in nftables: one table `inet sluice_portmap` whose static chains DNAT through
 * maps keyed by (protocol . port) and (address . protocol . port), and masquerade hairpin,
 * localhost (and with masqAll every) connections through a verdict map; each attachment's
 * mappings are elements commented "<cid>/<ifname>/<network hash>" (common/nft_owned.h). */
#ifndef HOSTPORT_H
#define HOSTPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>

#include "base/ip.h"

struct nft;
struct nl;
struct nft_owned;

#define HOSTPORT_TABLE "sluice_portmap"
#define HOSTPORT_MAPS_MAX 32768 /* mappings of one attachment: more than 1 MiB of stdin holds */

enum {
	HOSTPORT_SNAT = 1U << 0, /* masquerade hairpin and localhost connections */
	HOSTPORT_MASQ_ALL = 1U << 1, /* with HOSTPORT_SNAT: masquerade every connection */
};

/* One mapping, ports in host order. host_ip.family 0: every local address of both
 * families; an all-zero host_ip (0.0.0.0, ::): every local address of its family. */
struct hostport_map {
	uint8_t proto; /* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP */
	uint16_t host_port, cont_port;
	struct ip_addr host_ip;
};

/* The mappings of one attachment. */
struct hostport_pod {
	const char *net, *cid, *ifname;
	struct ip_prefix ip[2]; /* the container's IPv4 [0] and IPv6 [1] address with its prefix
				   length; family 0 when it has none */
	const struct hostport_map *maps;
	size_t n;
	unsigned int flags; /* HOSTPORT_* */
};

/* The table's description (sets, chains, rules), for tests and tools. */
extern const struct nft_owned hostport_owned;

/* The mappings p gets in the kernel, one per family it applies to and the container has an
 * address of (host_ip.family set), into out (room for 2 * p->n). Returns their number. */
size_t hostport_expand(const struct hostport_pod *p, struct hostport_map *out);

/* Who holds a host port: the mapping (expanded) and its attachment. */
struct hostport_holder {
	struct hostport_map map;
	char cid[256], ifname[IFNAMSIZ]; /* from its element comment (common/nft_owned.h) */
	bool same_net; /* an attachment of the same network */
};

/* Adds p's mappings in one batch (all or nothing); creates the table on first use,
 * race-free. A host port (protocol, port, host address or every address of a family) is
 * held by one attachment at a time: when another holds one, nothing is added and
 * -EADDRINUSE returned with *ret_holder (may be NULL) naming it; p's own are replaced (ADD
 * again). Returns 0 or -errno (nft_errmsg() says why). */
int hostport_add(struct nft *nft, const struct hostport_pod *p, struct hostport_holder *ret_holder);

/* Removes the attachment's elements in one batch. With p->maps and a container address the
 * keys are known (those of either snat setting): each DNAT element is re-added unchanged and
 * destroyed in the same batch with the attachment's owners entry deleted, so a host port
 * that holds other data fails the batch instead of being removed, and then, as without
 * keys, the elements are found by their comments (when the owners set lists the
 * attachment); an attachment without an owners entry (its ADD refused) removes nothing. *ret_removed
 * (malloc'd, caller frees) lists the mappings removed, as hostport_expand() does.
 * Idempotent. Returns 0 or -errno. */
int hostport_del(struct nft *nft, const struct hostport_pod *p, struct hostport_map **ret_removed,
		 size_t *ret_n);

/* Returns 0 when the rules and exactly p's elements, owned by p, are present; -ENOENT with
 * nft_errmsg() naming what differs, or -errno. */
int hostport_check(struct nft *nft, const struct hostport_pod *p);

/* Removes net's elements whose attachment is not valid. Returns how many, or -errno. */
int hostport_gc(struct nft *nft, const char *net,
		bool (*is_valid)(const char *cid, const char *ifname, void *data), void *data);

/* localhost hostPorts: sets net.ipv4.conf.<dev>.route_localnet=1 on the device the host
 * routes dst through, so that 127.0.0.0/8 sources may go there once masqueraded.
 * ret_dev (may be NULL) gets the device's name. Returns 0, -ENODEV when no device routes
 * to dst, or -errno. */
int hostport_localnet(struct nl *nl, const struct ip_addr *dst, char ret_dev[IFNAMSIZ]);

/* 1 when route_localnet is on for the device routing dst, 0 when off, or -errno. */
int hostport_localnet_get(struct nl *nl, const struct ip_addr *dst, char ret_dev[IFNAMSIZ]);

#endif
