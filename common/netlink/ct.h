/* SPDX-License-Identifier: Apache-2.0 */
/* Connection tracking over ctnetlink (libmnl): deleting the entries of one destination
 * port, so that a stale UDP flow does not outlive the mapping it was made for. */
#ifndef CT_H
#define CT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/ip.h"

#define CT_FILTERS_MAX 256 /* filters of one call */
#define CT_FLUSH_MAX 32 /* more filters go through one dump (see ct_delete()) */

/* Entries whose original tuple is family, proto and dport (host order), and dst unless
 * dst.family is 0 or dst is all zero. With addr: entries of any protocol and port whose
 * original source or destination is dst (a pod's address; proto and dport unused; always
 * through the dump). */
struct ct_filter {
	int family; /* AF_INET or AF_INET6 */
	uint8_t proto; /* IPPROTO_UDP ... */
	uint16_t dport;
	struct ip_addr dst;
	bool addr;
};

/* Deletes, in the current netns, every entry that matches one of f[0..n-1]: one filtered
 * flush per filter (CTA_FILTER on a delete), all in one send; kernels that refuse that
 * filter, IPv6 filters with an address (the kernel's IPv6 address match is inverted), and
 * more than CT_FLUSH_MAX filters (each flush walks the whole table) get a dump and a delete
 * per entry instead. errmsg (may be NULL) gets the kernel's reason on failure. Returns the number of
 * filters sent, or -errno. */
int ct_delete(const struct ct_filter *f, size_t n, char *errmsg, size_t errlen);

/* The same through the dump and per-entry deletes only (the fallback; tests). Returns
 * the number of entries deleted, or -errno. */
int ct_delete_by_dump(const struct ct_filter *f, size_t n, char *errmsg, size_t errlen);

#endif
