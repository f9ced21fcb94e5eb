/* SPDX-License-Identifier: Apache-2.0 */
/* Flannel's network config (<prefix>/config): parsed with Go's leniency where flanneld is
 * lenient (key case, null as absent, unknown keys ignored) and checked with its
 * CheckNetworkConfig rules and defaults, so a config flanneld takes means the same here. */
#ifndef SUBNET_NETCONF_H
#define SUBNET_NETCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/ip.h"

struct cJSON;
struct err;

struct subnet_conf {
	bool enable_ipv4; /* always true: sluice leases need an IPv4 subnet */
	bool enable_ipv6;
	struct ip_prefix network; /* host bits cleared, as Go's ParseCIDR */
	unsigned int subnet_len;
	struct ip_addr subnet_min, subnet_max; /* first addresses of the first and last subnet */
	struct ip_prefix ipv6_network; /* family 0 unless enable_ipv6 */
	unsigned int ipv6_subnet_len;
	struct ip_addr ipv6_subnet_min, ipv6_subnet_max;
	/* Backend: Type "vxlan" only */
	uint32_t vni; /* default 1 */
	uint16_t port; /* 0: the kernel's default (8472) */
	unsigned int mtu; /* 0: the underlay interface's */
	bool gbp, learning, direct_routing;
	struct cJSON *doc; /* the document as given, unknown keys kept (owned) */
};

/* Parses and checks a config document s[0..len). Fills *ret (release with
 * subnet_conf_done()) and returns 0, or returns -EINVAL with err naming the field
 * ("config: SubnetLen 31: must be at most 30"). */
int subnet_conf_parse(const char *s, size_t len, struct subnet_conf *ret, struct err *err);

void subnet_conf_done(struct subnet_conf *c);

/* The config as flanneld would use it: the document with every default filled in and the
 * prefixes normalised (unknown keys kept). Caller frees with cJSON_Delete. */
struct cJSON *subnet_conf_json(const struct subnet_conf *c);

/* A member of flanneld's JSON documents: Go decodes keys case-insensitively and treats
 * null as absent (cJSON_GetObjectItem ignores case too). NULL when absent or null. */
const struct cJSON *subnet_json_get(const struct cJSON *obj, const char *key);

/* Subnet arithmetic on 128-bit integers (IPv4 addresses in the low 32 bits). */
unsigned __int128 subnet_ip_num(const struct ip_addr *ip);
struct ip_addr subnet_ip_from_num(int family, unsigned __int128 n);

/* True when sn has the config's length and lies between SubnetMin and SubnetMax (v6: the
 * IPv6 analogues; a family-0 sn6 is compatible only without IPv6), as flanneld's
 * isSubnetConfigCompat. */
bool subnet_conf_compat(const struct subnet_conf *c, const struct ip_prefix *sn,
			const struct ip_prefix *sn6);

#endif
