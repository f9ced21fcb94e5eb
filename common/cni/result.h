/* SPDX-License-Identifier: Apache-2.0 */
/* The CNI result: parse (any supported version, unknown fields ignored), build, and print
 * in the version of the request. */
#ifndef RESULT_H
#define RESULT_H

#include <stddef.h>

#include "base/ip.h"

struct cJSON;
struct cni_ctx;

#define CNI_RESULT_MAX 256 /* cap on interfaces, ips and routes in one result */

struct cni_iface {
	char *name;
	char *mac;
	char *sandbox;
	char *socket_path;
	char *pci_id;
	int mtu;
};

struct cni_ipconf {
	struct ip_prefix address;
	struct ip_addr gateway; /* family 0 when absent */
	int iface; /* index into interfaces, -1 when absent */
};

enum {
	CNI_ROUTE_HAS_GW = 1U << 0,
	CNI_ROUTE_HAS_MTU = 1U << 1,
	CNI_ROUTE_HAS_ADVMSS = 1U << 2,
	CNI_ROUTE_HAS_PRIORITY = 1U << 3,
	CNI_ROUTE_HAS_TABLE = 1U << 4,
	CNI_ROUTE_HAS_SCOPE = 1U << 5,
};

struct cni_route {
	struct ip_prefix dst;
	struct ip_addr gw;
	int mtu, advmss, priority, table, scope;
	unsigned int has;
};

struct cni_result {
	struct cni_iface *ifaces;
	size_t n_ifaces;
	struct cni_ipconf *ips;
	size_t n_ips;
	struct cni_route *routes;
	size_t n_routes;
	struct cJSON *dns; /* owned; {nameservers, domain, search, options} or NULL */
};

/* Parses a result object of spec 0.3.0 to 1.1.0 into ret (zeroed first). On failure
 * returns -EINVAL with a reason in err. */
int cni_result_parse(const struct cJSON *obj, struct cni_result *ret, char *err, size_t errlen);

/* Checks a dns object as Go's types.DNS reads it: {nameservers, search, options: lists of
 * strings; domain: a string}; missing or null passes. On failure returns -EINVAL with a
 * reason in err, the field named after where ("" or "prevResult." ...). */
int cni_dns_check(const struct cJSON *dns, const char *where, char *err, size_t errlen);

/* Parses one route object {dst, gw, mtu, advmss, priority, table, scope}. */
int cni_route_parse(const struct cJSON *obj, struct cni_route *ret, char *err, size_t errlen);

/* Builds the JSON of res for spec version v ("0.3.0" ... "1.1.0"). Caller frees. */
struct cJSON *cni_result_to_json(const struct cni_result *res, const char *v);

/* Appends an interface (strings copied, NULL allowed); returns its index or -ENOMEM. */
int cni_result_add_iface(struct cni_result *res, const char *name, const char *mac,
			 const char *sandbox);

/* Appends an address; returns its index or -ENOMEM. */
int cni_result_add_ip(struct cni_result *res, const struct ip_prefix *addr,
		      const struct ip_addr *gw, int iface);

/* Appends a copy of route. */
int cni_result_add_route(struct cni_result *res, const struct cni_route *route);

/* Prints res to ctx->out in the request's version. Returns 0 or -ENOMEM. */
int cni_result_print(struct cni_ctx *ctx, const struct cni_result *res);

/* The index of the interface called name with the given sandbox (NULL: any, "": host
 * side), or -1. */
int cni_result_find_iface(const struct cni_result *res, const char *name, const char *sandbox);

/* Releases what res holds; res may then be reused. */
void cni_result_done(struct cni_result *res);

#endif
