/* SPDX-License-Identifier: Apache-2.0 */
/* host-local ranges and range sets: validation, membership and the round-robin iterator,
 * with upstream host-local's semantics and messages. */
#ifndef RANGE_H
#define RANGE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/ip.h"

#define RANGE_MAX 64 /* ranges per set, and sets per config */

struct range {
	struct ip_prefix subnet;
	struct ip_addr start, end, gw; /* family 0 until set or defaulted */
};

struct rangeset {
	struct range r[RANGE_MAX];
	size_t n;
};

/* Fills the defaults (gateway = network+1, start = network+1, end = broadcast-1 for IPv4 or
 * the last address for IPv6) and validates. Returns 0 or -EINVAL with a reason in err. */
int range_canonicalize(struct range *r, char *err, size_t errlen);

/* True when ip is in r's subnet and between its start and end. */
bool range_contains(const struct range *r, const struct ip_addr *ip);

/* Canonicalises every range, then checks one family and no overlap inside the set. */
int rangeset_canonicalize(struct rangeset *s, char *err, size_t errlen);

/* The index of the range holding ip, or -1. */
int rangeset_find(const struct rangeset *s, const struct ip_addr *ip);

bool rangeset_overlaps(const struct rangeset *a, const struct rangeset *b);

/* "start-end,start-end" as upstream prints a set. Returns buf. */
char *rangeset_fmt(const struct rangeset *s, char *buf, size_t len);

/* Number of allocatable addresses (gateways inside the ranges excluded), saturating. */
unsigned __int128 rangeset_size(const struct rangeset *s);

struct range_iter {
	const struct rangeset *set;
	size_t idx, start_range;
	struct ip_addr cur, start; /* family 0 = not yet set; start_range is start's range */
};

/* Starts after last when last lies in the set (round-robin), else at the first range's
 * start. last may be NULL. */
void range_iter_init(struct range_iter *it, const struct rangeset *s, const struct ip_addr *last);

/* The next candidate, skipping gateways; false once the iterator is back where it began. */
bool range_iter_next(struct range_iter *it, struct ip_addr *ret_ip, size_t *ret_range);

#endif
