/* SPDX-License-Identifier: Apache-2.0 */
/* A Linux bridge as sluice-bridge uses it: the shared device (created once, racing
 * creators both succeed, never rolled back), its ports' flags and VLANs, and gateway
 * addresses. Failures are recorded on the call with cni_fail(). */
#ifndef BRDEV_H
#define BRDEV_H

#include <stdbool.h>
#include <stdint.h>

struct err;
struct cni_result;
struct nl;
struct nl_link;

#define BRDEV_VLAN_BITMAP (4096 / 8)

struct brdev_port {
	bool hairpin;
	bool isolated;
	int vlan; /* 0: none; else the port's PVID, untagged */
	const uint8_t *trunk; /* NULL or a BRDEV_VLAN_BITMAP bitmap of tagged VLANs */
	bool preserve_default_vlan; /* keep the bridge's default VLAN on the port */
};

/* Reuses or creates the bridge name (mtu 0: default; a fixed random MAC so that it does
 * not follow its ports), enables vlan_filtering / promiscuous mode when asked, and sets it
 * up. ret receives the bridge. Returns 1 when this call created it, 0 or -errno. */
int brdev_ensure(struct err *err, struct nl *nl, const char *name, unsigned int mtu,
		 bool vlan_filtering, bool promisc, struct nl_link *ret);

/* Sets a port's hairpin and isolation flags and VLANs as upstream bridge does. Returns 0
 * or -errno. */
int brdev_port_setup(struct err *err, struct nl *nl, int ifindex, const struct brdev_port *p);

/* Puts each address's gateway (with the address's prefix length) on ifindex (dev names it
 * in messages) the way upstream's ensureAddr does, and turns on forwarding for their
 * families. force: replace a conflicting address instead of failing. Returns the number of
 * addresses added (0 when all were there) or -errno. */
int brdev_gateways(struct err *err, struct nl *nl, int ifindex, const char *dev,
		   const struct cni_result *res, bool force);

/* Reuses or creates "<bridge>.<vlan>", the veth end that holds gateways of a VLAN (its
 * peer is a port with the VLAN as PVID), as upstream does. Returns 1 when this call created
 * it, 0 or -errno. */
int brdev_vlan_gw(struct err *err, struct nl *nl, const struct nl_link *br, int vlan,
		  unsigned int mtu, bool preserve_default_vlan, struct nl_link *ret);

#endif
