// SPDX-License-Identifier: Apache-2.0
/* host-local ranges and range sets: validation, membership and the round-robin iterator,
 * with upstream host-local's semantics and messages. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ipam/range.h"

int range_canonicalize(struct range *r, char *err, size_t errlen)
{
	char a[IP_STRLEN], b[IP_STRLEN];
	struct ip_addr net;
	int fam = r->subnet.ip.family;

	/* a /31 or /32 (/127, /128) leaves nothing to allocate once gateway and ends go */
	if (r->subnet.len > ip_bits(fam) - 2) {
		snprintf(err, errlen, "Network %s too small to allocate from",
			 ip_prefix_fmt(&r->subnet, a));
		return -EINVAL;
	}
	net = ip_prefix_network(&r->subnet);
	if (!ip_eq(&net, &r->subnet.ip)) {
		snprintf(err, errlen,
			 "Network has host bits set. For a subnet mask of length %u the network "
			 "address is %s",
			 r->subnet.len, ip_fmt(&net, a));
		return -EINVAL;
	}
	if (!r->gw.family) {
		r->gw = net;
		ip_next(&r->gw);
	}
	if (r->start.family) {
		if (!range_contains(r, &r->start)) {
			snprintf(err, errlen, "RangeStart %s not in network %s",
				 ip_fmt(&r->start, a), ip_prefix_fmt(&r->subnet, b));
			return -EINVAL;
		}
	} else {
		r->start = net;
		ip_next(&r->start);
	}
	if (r->end.family) {
		if (!range_contains(r, &r->end)) {
			snprintf(err, errlen, "RangeEnd %s not in network %s", ip_fmt(&r->end, a),
				 ip_prefix_fmt(&r->subnet, b));
			return -EINVAL;
		}
	} else {
		r->end = ip_prefix_broadcast(&r->subnet);
		if (fam == AF_INET)
			ip_prev(&r->end);
	}
	return 0;
}

bool range_contains(const struct range *r, const struct ip_addr *ip)
{
	if (!ip_prefix_contains(&r->subnet, ip))
		return false;
	if (r->start.family && ip_cmp(ip, &r->start) < 0)
		return false;
	if (r->end.family && ip_cmp(ip, &r->end) > 0)
		return false;
	return true;
}

static bool range_overlaps(const struct range *a, const struct range *b)
{
	if (a->start.family != b->start.family)
		return false;
	return range_contains(a, &b->start) || range_contains(a, &b->end) ||
	       range_contains(b, &a->start) || range_contains(b, &a->end);
}

static char *range_fmt(const struct range *r, char *buf, size_t len)
{
	char a[IP_STRLEN], b[IP_STRLEN];

	snprintf(buf, len, "%s-%s", ip_fmt(&r->start, a), ip_fmt(&r->end, b));
	return buf;
}

int rangeset_canonicalize(struct rangeset *s, char *err, size_t errlen)
{
	char a[2 * IP_STRLEN], b[2 * IP_STRLEN];
	int r;

	if (!s->n) {
		snprintf(err, errlen, "empty range set");
		return -EINVAL;
	}
	for (size_t i = 0; i < s->n; i++) {
		r = range_canonicalize(&s->r[i], err, errlen);
		if (r < 0)
			return r;
		if (s->r[i].start.family != s->r[0].start.family) {
			snprintf(err, errlen, "mixed address families");
			return -EINVAL;
		}
	}
	for (size_t i = 0; i < s->n; i++)
		for (size_t j = i + 1; j < s->n; j++)
			if (range_overlaps(&s->r[i], &s->r[j])) {
				snprintf(err, errlen, "subnets %s and %s overlap",
					 range_fmt(&s->r[i], a, sizeof(a)),
					 range_fmt(&s->r[j], b, sizeof(b)));
				return -EINVAL;
			}
	return 0;
}

int rangeset_find(const struct rangeset *s, const struct ip_addr *ip)
{
	for (size_t i = 0; i < s->n; i++)
		if (range_contains(&s->r[i], ip))
			return (int)i;
	return -1;
}

bool rangeset_overlaps(const struct rangeset *a, const struct rangeset *b)
{
	for (size_t i = 0; i < a->n; i++)
		for (size_t j = 0; j < b->n; j++)
			if (range_overlaps(&a->r[i], &b->r[j]))
				return true;
	return false;
}

char *rangeset_fmt(const struct rangeset *s, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < s->n && o + 1 < len; i++) {
		if (i)
			buf[o++] = ',';
		range_fmt(&s->r[i], buf + o, len - o);
		o += strlen(buf + o);
	}
	return buf;
}

static unsigned __int128 to_u128(const struct ip_addr *ip)
{
	unsigned __int128 v = 0;

	for (unsigned int i = 0; i < ip_bytes(ip->family); i++)
		v = v << 8 | ip->b[i];
	return v;
}

unsigned __int128 rangeset_size(const struct rangeset *s)
{
	const unsigned __int128 max = ~(unsigned __int128)0;
	unsigned __int128 total = 0, n;

	for (size_t i = 0; i < s->n; i++) {
		const struct range *r = &s->r[i];

		n = to_u128(&r->end) - to_u128(&r->start);
		/* n + 1 addresses; saturate rather than wrap on a whole /0 */
		n = n == max ? max : n + 1;
		if (range_contains(r, &r->gw))
			n--;
		total = total > max - n ? max : total + n;
	}
	return total;
}

void range_iter_init(struct range_iter *it, const struct rangeset *s, const struct ip_addr *last)
{
	int i = last ? rangeset_find(s, last) : -1;

	memset(it, 0, sizeof(*it));
	it->set = s;
	if (i >= 0) {
		/* the first next() returns last + 1 */
		it->idx = (size_t)i;
		it->cur = *last;
	}
}

bool range_iter_next(struct range_iter *it, struct ip_addr *ret_ip, size_t *ret_range)
{
	const struct range *r;

	for (;;) {
		r = &it->set->r[it->idx];
		if (!it->cur.family) {
			it->cur = r->start;
			it->start = it->cur;
		} else {
			if (ip_eq(&it->cur, &r->end)) {
				it->idx = (it->idx + 1) % it->set->n;
				r = &it->set->r[it->idx];
				it->cur = r->start;
			} else {
				ip_next(&it->cur);
			}
			/* the first candidate marks where the walk ends: its range too, which is
			 * not last's when last was the end of its range */
			if (!it->start.family) {
				it->start = it->cur;
				it->start_range = it->idx;
			} else if (it->idx == it->start_range && ip_eq(&it->cur, &it->start))
				return false;
		}
		if (ip_eq(&it->cur, &r->gw))
			continue;
		*ret_ip = it->cur;
		*ret_range = it->idx;
		return true;
	}
}
