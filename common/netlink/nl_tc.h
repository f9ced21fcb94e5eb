/* SPDX-License-Identifier: Apache-2.0 */
/* Traffic control over rtnetlink, what the bandwidth plugin needs: a tbf qdisc, an ingress
 * qdisc with a u32 match-all filter redirecting to an IFB (mirred), and read-back. */
#ifndef NL_TC_H
#define NL_TC_H

#include <stdint.h>

struct nl;
struct nlmsghdr;

enum {
	NL_QDISC_HAS_TBF = 1U << 0, /* rate, buffer, burst, limit are set */
};

/* A qdisc, as dumped. Handles and parents are TC_H_* values (0xffff0000 is "ffff:"). */
struct nl_qdisc {
	unsigned int has; /* NL_QDISC_HAS_* */
	int ifindex;
	uint32_t handle;
	uint32_t parent; /* TC_H_ROOT, TC_H_INGRESS or a class */
	char kind[16]; /* "tbf", "ingress", "clsact", "noqueue", ... */
	uint64_t rate; /* tbf: bytes per second */
	uint32_t buffer; /* tbf: bucket size in psched ticks, as the kernel keeps it */
	uint32_t burst; /* tbf: the same in bytes (0 when /proc/net/psched is unreadable) */
	uint32_t limit; /* tbf: queue limit in bytes */
};

enum {
	NL_FILTER_HAS_MIRRED = 1U << 0, /* mirred_* are set */
};

/* A classifier, as dumped. */
struct nl_filter {
	unsigned int has; /* NL_FILTER_HAS_* */
	int ifindex;
	uint32_t parent;
	uint32_t handle;
	uint16_t prio;
	uint16_t protocol; /* ETH_P_*, host order */
	char kind[16]; /* "u32", ... */
	int mirred_eaction; /* TCA_EGRESS_REDIR, ... */
	int mirred_ifindex;
};

/* Reads the kernel's psched ticks per microsecond from /proc/net/psched (iproute2's
 * tc_core_init). Returns 0 or -errno. */
int nl_tc_tick_in_usec(double *ret_tick_in_usec);

/* Time to send size bytes at rate bytes/s, in psched ticks (iproute2's tc_calc_xmittime),
 * saturated at UINT32_MAX. */
uint32_t nl_tc_xmittime(double tick_in_usec, uint64_t rate, uint32_t size);

/* Bytes sent at rate during ticks (iproute2's tc_calc_xmitsize), rounded to nearest. */
uint32_t nl_tc_xmitsize(double tick_in_usec, uint64_t rate, uint32_t ticks);

/* Parses an RTM_NEWQDISC / RTM_NEWTFILTER message (reply or request). Returns 0 or
 * -EINVAL. */
int nl_qdisc_parse(const struct nlmsghdr *nlh, struct nl_qdisc *ret_qdisc);
int nl_filter_parse(const struct nlmsghdr *nlh, struct nl_filter *ret_filter);

/* Adds a tbf qdisc (tc qdisc add dev IF parent P handle H tbf rate R burst B limit L, all in
 * bytes). parent TC_H_ROOT and handle 0 make it the root. Returns 0, -EEXIST or -errno. */
int nl_qdisc_add_tbf(struct nl *nl, int ifindex, uint32_t parent, uint32_t handle,
		     uint64_t rate_bytes_per_s, uint32_t burst_bytes, uint32_t limit_bytes);

/* Adds the ingress qdisc (handle ffff:, parent TC_H_INGRESS). Returns 0, -EEXIST (also
 * when another ingress or clsact qdisc is there) or -errno. */
int nl_qdisc_add_ingress(struct nl *nl, int ifindex);

/* Deletes the qdisc at parent/handle (handle 0: whatever is at parent). Returns 0,
 * -ENOENT/-EINVAL when absent, or -errno. */
int nl_qdisc_del(struct nl *nl, int ifindex, uint32_t parent, uint32_t handle);

/* Calls cb for each qdisc on ifindex (0: every link). Returns 0, -EINTR or -errno. */
int nl_qdisc_dump(struct nl *nl, int ifindex, int (*cb)(const struct nl_qdisc *q, void *data),
		  void *data);

/* Adds a u32 match-all filter, prio 1, protocol all, under parent (0xffff0000 for
 * ingress) whose action is mirred egress redirect to target_ifindex. Returns 0 or -errno. */
int nl_filter_add_u32_mirred_redirect(struct nl *nl, int ifindex, uint32_t parent,
				      int target_ifindex);

/* Deletes the filters of prio and protocol (ETH_P_*, host order) under parent. Returns 0
 * or -errno. */
int nl_filter_del(struct nl *nl, int ifindex, uint32_t parent, uint16_t prio, uint16_t protocol);

/* Calls cb for each filter of ifindex under parent. Returns 0, -EINTR or -errno. */
int nl_filter_dump(struct nl *nl, int ifindex, uint32_t parent,
		   int (*cb)(const struct nl_filter *f, void *data), void *data);

#endif
