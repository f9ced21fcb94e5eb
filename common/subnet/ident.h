/* SPDX-License-Identifier: Apache-2.0 */
/* The node's identity on the underlay, as flanneld finds it: the interface (--iface, else
 * the one holding the given --public-ip, else the one of the IPv4 default route), its MTU,
 * and the public addresses (--public-ip, else the interface's first global address; IPv6
 * likewise when asked for). */
#ifndef SUBNET_IDENT_H
#define SUBNET_IDENT_H

#include <stdbool.h>
#include <net/if.h>

#include "base/ip.h"

struct err;

struct subnet_ident {
	char iface[IFNAMSIZ];
	int ifindex;
	unsigned int mtu;
	struct ip_addr public_ip;
	struct ip_addr public_ipv6; /* family 0 unless want_v6 */
};

/* Finds the identity in the current network namespace. iface, public_ip and public_ipv6
 * may be NULL (or family 0) to be found. Returns 0, or -errno with err saying what is
 * missing and which flag to give. */
int subnet_ident_find(const char *iface, const struct ip_addr *public_ip,
		      const struct ip_addr *public_ipv6, bool want_v6, struct subnet_ident *ret,
		      struct err *err);

#endif
