/* SPDX-License-Identifier: Apache-2.0 */
/* A container interface configured from a result: sysctls, addresses, routes, DAD; and
 * CHECK's read-back of the same. Failures are recorded on the call with cni_fail(). */
#ifndef IFCFG_H
#define IFCFG_H

#include <stdbool.h>

struct err;
struct cni_result;
struct nl;
struct ip_addr;

enum {
	IFCFG_SYSCTLS = 1U << 0, /* write the interface's sysctls while inside */
	IFCFG_DAD = 1U << 1, /* keep IPv6 duplicate address detection (enabledad) */
	IFCFG_V6 = 1U << 2, /* the interface gets IPv6 addresses */
};

/* Opens ret (a netlink socket) inside netns_fd and, with IFCFG_SYSCTLS, sets ifname's
 * accept_dad (0 unless IFCFG_DAD; then enhanced_dad too), arp_notify and, with IFCFG_V6,
 * keep_addr_on_down: /proc/sys shows the netns of the thread that opens it, so both happen
 * in one brief visit. Returns 0 or -errno. */
int ifcfg_open(struct err *err, int netns_fd, const char *ifname, unsigned int flags,
	       struct nl *ret);

/* Adds every address of res (IFA_F_NODAD unless IFCFG_DAD; then waits
 * up to 5 s for DAD to finish, as upstream) and every route (a route without gw uses the
 * family's gateway from ips, as the spec says). Returns 0 or -errno. */
int ifcfg_apply(struct err *err, struct nl *nl, int ifindex, const char *ifname,
		const struct cni_result *res,
		unsigned int flags);

/* CHECK: every address of res is on ifindex and every route is there. Returns 0 or -errno
 * (code 103 naming what is missing). */
int ifcfg_check(struct err *err, struct nl *nl, int ifindex, const char *ifname,
		const struct cni_result *res);

/* The gateway of res's first address of family that has one, or NULL. */
const struct ip_addr *ifcfg_family_gw(const struct cni_result *res, int family);

#endif
