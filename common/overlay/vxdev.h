/* SPDX-License-Identifier: Apache-2.0 */
/* The node's VXLAN device, Flannel's way: VNI 1, the kernel's UDP port 8472, no learning,
 * bound to the underlay interface and address, MTU = underlay MTU - 50, a VTEP MAC kept
 * across restarts, the lease's network address alone on it (10.244.1.0/32, so that no
 * broadcast or prefix route appears). One device per family: sluice.<VNI> for IPv4 leases,
 * sluice-v6.<VNI> for IPv6 leases over an IPv6 underlay. The agent and sluice-vxlan-overlay
 * both ensure it; either may come first, and they may race. */
#ifndef OVERLAY_VXDEV_H
#define OVERLAY_VXDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>

#include "base/ip.h"

struct err;
struct nl;
struct nl_link;

#define OVERLAY_PORT_DEFAULT 8472 /* Linux's legacy VXLAN port, which flanneld leaves */
#define OVERLAY_VNI_DEFAULT 1
#define OVERLAY_WHAT_MAX 256

/* What the device should be */
struct overlay_dev {
	int family; /* AF_INET: sluice.<vni>; AF_INET6: sluice-v6.<vni> */
	uint32_t vni;
	uint16_t port; /* 0: OVERLAY_PORT_DEFAULT */
	char underlay[IFNAMSIZ]; /* the underlay interface (VXLAN's dev) */
	struct ip_addr local; /* PublicIP (PublicIPv6): the outer source address */
	uint8_t mac[6]; /* the VTEP MAC */
	unsigned int mtu;
	struct ip_prefix subnet; /* the lease subnet: its network address goes on the device */
	bool learning, gbp;
};

/* "sluice.1" / "sluice-v6.1" into name. */
void overlay_dev_name(int family, uint32_t vni, char name[IFNAMSIZ]);

/* Checks d as overlay_dev_ensure() does before touching the kernel (family, VNI, the name
 * fitting IFNAMSIZ, local address, subnet, underlay name), so that a caller making several
 * devices refuses before it makes the first. Returns 0 or -errno with err filled (code 7). */
int overlay_dev_validate(const struct overlay_dev *d, struct err *err);

/* Makes the device what d says: creates it when missing; when present and compatible (VNI,
 * underlay, local address, port, learning, gbp) sets what differs (MTU, MAC, the address,
 * up) without disturbing its neighbours, FDB entries and routes; when incompatible deletes
 * and recreates it. A concurrent creator (EEXIST) is tolerated. what (may be NULL,
 * OVERLAY_WHAT_MAX bytes) gets a short account of the changes ("created", "mtu 1450",
 * ""), for the agent's log. Returns 1 when something changed, 0 when all was in place, or
 * -errno with err filled. *ret_ifindex (may be NULL): the device. */
int overlay_dev_ensure(struct nl *nl, const struct overlay_dev *d, int *ret_ifindex, char *what,
		       struct err *err);

/* Returns 0 when the device is as d says, or -ENOENT / -EINVAL with err naming the
 * first difference (missing, VNI, MTU, MAC, address, down...). */
int overlay_dev_check(struct nl *nl, const struct overlay_dev *d, struct err *err);

/* What overlay_dev_compare() found. */
enum {
	OVERLAY_DEV_SAME = 0,
	OVERLAY_DEV_FIX = 1, /* MTU, MAC or down: set in place */
	OVERLAY_DEV_INCOMPAT = 2, /* kind, VNI, underlay, local, port, learning, GBP...: recreate */
};

/* Compares link l, as read back, with d, whose underlay has ifindex underlay (0: d names
 * none) and whose MTU is mtu (d->mtu as the kernel caps it: the underlay's MTU less the
 * encapsulation, 0: any). Writes the first difference that decides the answer to out
 * ("vni 2, not 1", "mtu 1400, not 1450", "down"; "" when the same). The addresses are not
 * links' business: overlay_dev_ensure() and overlay_dev_check() look at them. */
int overlay_dev_compare(const struct overlay_dev *d, int underlay, unsigned int mtu,
			const struct nl_link *l, char *out, size_t size);

/* Deletes the device of family and vni. Returns 1, 0 when there was none, or -errno. */
int overlay_dev_del(struct nl *nl, int family, uint32_t vni, struct err *err);

#endif
