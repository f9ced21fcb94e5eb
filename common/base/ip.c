// SPDX-License-Identifier: Apache-2.0
/* IP addresses and prefixes: parsing, Go-compatible formatting, arithmetic. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "base/ip.h"

static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

unsigned int ip_bytes(int family)
{
	return family == AF_INET ? 4 : 16;
}

unsigned int ip_bits(int family)
{
	return family == AF_INET ? 32 : 128;
}

int ip_parse(const char *s, struct ip_addr *ret_ip)
{
	struct ip_addr ip = {0};

	if (!s || !*s || strlen(s) >= IP_STRLEN)
		return -EINVAL;
	if (inet_pton(AF_INET, s, &ip.v4) == 1) {
		ip.family = AF_INET;
	} else if (inet_pton(AF_INET6, s, &ip.v6) == 1) {
		ip.family = AF_INET6;
		if (!memcmp(ip.b, v4mapped, sizeof(v4mapped))) {
			memmove(ip.b, ip.b + 12, 4);
			memset(ip.b + 4, 0, 12);
			ip.family = AF_INET;
		}
	} else {
		return -EINVAL;
	}
	*ret_ip = ip;
	return 0;
}

static int parse_len(const char *s, unsigned int max, unsigned int *ret)
{
	char *end;
	unsigned long v;

	/* Go's ParseCIDR takes decimal digits only, no sign, no leading '+' or spaces */
	if (*s < '0' || *s > '9' || strlen(s) > 3)
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*ret = (unsigned int)v;
	return 0;
}

int ip_prefix_parse(const char *s, struct ip_prefix *ret_p)
{
	char buf[IP_STRLEN];
	const char *slash;
	struct ip_prefix p;
	size_t n;
	bool mapped;

	if (!s)
		return -EINVAL;
	slash = strchr(s, '/');
	if (!slash)
		return -EINVAL;
	n = (size_t)(slash - s);
	if (n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (ip_parse(buf, &p.ip) < 0)
		return -EINVAL;
	/* "::ffff:10.0.0.0/104" is an IPv6 prefix whose address Go prints as IPv4; keep the
	 * length meaningful by mapping it onto the IPv4 space */
	mapped = p.ip.family == AF_INET && strchr(buf, ':');
	if (parse_len(slash + 1, mapped ? 128 : ip_bits(p.ip.family), &p.len) < 0)
		return -EINVAL;
	if (mapped) {
		if (p.len < 96)
			return -EINVAL;
		p.len -= 96;
	}
	*ret_p = p;
	return 0;
}

int ip_or_prefix_parse(const char *s, struct ip_prefix *ret_p)
{
	struct ip_prefix p;

	if (s && strchr(s, '/'))
		return ip_prefix_parse(s, ret_p);
	if (ip_parse(s, &p.ip) < 0)
		return -EINVAL;
	p.len = ip_bits(p.ip.family);
	*ret_p = p;
	return 0;
}

static char *fmt_v6(const uint8_t *b, char *buf)
{
	int best = -1, best_len = 0, i, j;
	char *o = buf;

	for (i = 0; i < 8; i = j + 1) {
		for (j = i; j < 8 && !b[2 * j] && !b[2 * j + 1]; j++)
			;
		if (j - i > best_len && j - i >= 2) {
			best = i;
			best_len = j - i;
		}
	}
	for (i = 0; i < 8; i++) {
		if (i == best) {
			o += sprintf(o, "::");
			i += best_len - 1;
			continue;
		}
		if (i > 0 && o[-1] != ':')
			*o++ = ':';
		o += sprintf(o, "%x", (unsigned int)(b[2 * i] << 8 | b[2 * i + 1]));
	}
	*o = '\0';
	return buf;
}

char *ip_fmt(const struct ip_addr *ip, char buf[IP_STRLEN])
{
	if (ip->family == AF_INET)
		snprintf(buf, IP_STRLEN, "%u.%u.%u.%u", ip->b[0], ip->b[1], ip->b[2], ip->b[3]);
	else if (ip->family == AF_INET6)
		fmt_v6(ip->b, buf);
	else
		snprintf(buf, IP_STRLEN, "<nil>");
	return buf;
}

char *ip_prefix_fmt(const struct ip_prefix *p, char buf[IP_STRLEN])
{
	size_t n;

	ip_fmt(&p->ip, buf);
	n = strlen(buf);
	snprintf(buf + n, IP_STRLEN - n, "/%u", p->len);
	return buf;
}

int ip_cmp(const struct ip_addr *a, const struct ip_addr *b)
{
	if (a->family != b->family)
		return a->family == AF_INET ? -1 : 1;
	return memcmp(a->b, b->b, ip_bytes(a->family));
}

bool ip_eq(const struct ip_addr *a, const struct ip_addr *b)
{
	return a->family == b->family && ip_cmp(a, b) == 0;
}

void ip_next(struct ip_addr *ip)
{
	for (int i = (int)ip_bytes(ip->family) - 1; i >= 0; i--)
		if (++ip->b[i])
			break;
}

void ip_prev(struct ip_addr *ip)
{
	for (int i = (int)ip_bytes(ip->family) - 1; i >= 0; i--)
		if (ip->b[i]--)
			break;
}

static uint8_t mask_byte(unsigned int len, unsigned int i)
{
	if (len >= 8 * (i + 1))
		return 0xff;
	if (len <= 8 * i)
		return 0;
	return (uint8_t)(0xff << (8 - (len - 8 * i)));
}

struct ip_addr ip_prefix_network(const struct ip_prefix *p)
{
	struct ip_addr r = p->ip;

	for (unsigned int i = 0; i < ip_bytes(r.family); i++)
		r.b[i] &= mask_byte(p->len, i);
	return r;
}

struct ip_addr ip_prefix_broadcast(const struct ip_prefix *p)
{
	struct ip_addr r = p->ip;

	for (unsigned int i = 0; i < ip_bytes(r.family); i++)
		r.b[i] |= (uint8_t)~mask_byte(p->len, i);
	return r;
}

bool ip_prefix_contains(const struct ip_prefix *p, const struct ip_addr *ip)
{
	if (p->ip.family != ip->family)
		return false;
	for (unsigned int i = 0; i < ip_bytes(ip->family); i++)
		if ((p->ip.b[i] ^ ip->b[i]) & mask_byte(p->len, i))
			return false;
	return true;
}

bool ip_prefix_overlaps(const struct ip_prefix *a, const struct ip_prefix *b)
{
	if (a->ip.family != b->ip.family)
		return false;
	return a->len <= b->len ? ip_prefix_contains(a, &b->ip) : ip_prefix_contains(b, &a->ip);
}

bool ip_is_zero(const struct ip_addr *ip)
{
	for (unsigned int i = 0; i < ip_bytes(ip->family); i++)
		if (ip->b[i])
			return false;
	return true;
}
