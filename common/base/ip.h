/* SPDX-License-Identifier: Apache-2.0 */
/* IP addresses and prefixes: parsing, Go-compatible formatting, arithmetic. */
#ifndef IP_H
#define IP_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>

/* "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128" plus NUL */
#define IP_STRLEN 64

struct ip_addr {
	int family; /* AF_INET or AF_INET6; 0 when unset */
	union {
		uint8_t b[16];
		struct in_addr v4;
		struct in6_addr v6;
	};
};

struct ip_prefix {
	struct ip_addr ip; /* host bits kept as given ("10.0.0.5/24" is an interface address) */
	unsigned int len;
};

/* Parses a textual IPv4 or IPv6 address. An IPv4-mapped IPv6 address becomes IPv4, as
 * Go's To4() canonicalisation does. Returns 0 or -EINVAL. */
int ip_parse(const char *s, struct ip_addr *ret_ip);

/* Parses "addr/len". Returns 0 or -EINVAL. */
int ip_prefix_parse(const char *s, struct ip_prefix *ret_p);

/* Parses "addr" or "addr/len" (Go's ip.ParseIP in the plugins); a plain address gets the
 * full length. */
int ip_or_prefix_parse(const char *s, struct ip_prefix *ret_p);

/* Formats like Go's net.IP.String() (RFC 5952; longest zero run, first on a tie, runs of
 * at least two groups). Returns buf. */
char *ip_fmt(const struct ip_addr *ip, char buf[IP_STRLEN]);

/* "addr/len" with the address as stored. Returns buf. */
char *ip_prefix_fmt(const struct ip_prefix *p, char buf[IP_STRLEN]);

/* The number of address bytes of the family (4 or 16). */
unsigned int ip_bytes(int family);

/* Maximum prefix length of the family (32 or 128). */
unsigned int ip_bits(int family);

/* Compares within one family; different families order IPv4 first. */
int ip_cmp(const struct ip_addr *a, const struct ip_addr *b);
bool ip_eq(const struct ip_addr *a, const struct ip_addr *b);

/* Adds or subtracts one, wrapping around the family's space. */
void ip_next(struct ip_addr *ip);
void ip_prev(struct ip_addr *ip);

/* The prefix with host bits cleared / set. */
struct ip_addr ip_prefix_network(const struct ip_prefix *p);
struct ip_addr ip_prefix_broadcast(const struct ip_prefix *p);

/* True when ip lies in p (same family, same leading bits). */
bool ip_prefix_contains(const struct ip_prefix *p, const struct ip_addr *ip);

/* True when the two prefixes share an address. */
bool ip_prefix_overlaps(const struct ip_prefix *a, const struct ip_prefix *b);

/* True when ip's bytes are all zero (0.0.0.0 or ::). */
bool ip_is_zero(const struct ip_addr *ip);

#endif
