/* SPDX-License-Identifier: Apache-2.0 */
/* sluicectl leases: every node's subnet lease under <prefix>/subnets/, flanneld's included:
 * subnet, node, public IP, VTEP MAC and the time left. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "store/store.h"
#include "subnet/lease.h"
#include "sluicectl.h"

static const char leases_usage[] =
	"Usage: sluicectl [GLOBAL FLAGS] leases\n"
	"\n"
	"Lists the subnet leases under <prefix>/subnets/ (sluice's and flanneld's alike),\n"
	"sorted by subnet: SUBNET (IPv4[,IPv6]) NODE PUBLIC-IP VTEP-MAC TTL (time left;\n"
	"\"none\" for a reservation, which never expires). A key whose value is not lease JSON\n"
	"is listed with PUBLIC-IP \"(unreadable)\".\n"
	"-o json: an array of objects with key, subnet, ipv6Subnet, node, publicIP,\n"
	"publicIPv6, backendType, vni, vtepMAC and ttl (seconds, -1: none); absent values\n"
	"are null.\n";

const char *const ctl_lease_header[5] = {"SUBNET", "NODE", "PUBLIC-IP", "VTEP-MAC", "TTL"};

static void add_str(cJSON *o, const char *key, const char *v, bool present)
{
	if (present)
		cJSON_AddStringToObject(o, key, v);
	else
		cJSON_AddNullToObject(o, key);
}

struct cJSON *ctl_lease_json(const struct subnet_lease *l)
{
	cJSON *o = cJSON_CreateObject();
	char a[IP_STRLEN], b[IP_STRLEN], p[IP_STRLEN], p6[IP_STRLEN];

	cJSON_AddStringToObject(o, "key", l->key);
	cJSON_AddStringToObject(o, "subnet", ip_prefix_fmt(&l->subnet, a));
	add_str(o, "ipv6Subnet", l->subnet6.ip.family ? ip_prefix_fmt(&l->subnet6, b) : NULL,
		l->subnet6.ip.family);
	add_str(o, "node", l->node_name, l->node_name[0]);
	add_str(o, "publicIP", l->public_ip.family ? ip_fmt(&l->public_ip, p) : NULL,
		l->public_ip.family);
	add_str(o, "publicIPv6", l->public_ipv6.family ? ip_fmt(&l->public_ipv6, p6) : NULL,
		l->public_ipv6.family);
	add_str(o, "backendType", l->backend_type, l->backend_type[0]);
	if (l->readable)
		cJSON_AddNumberToObject(o, "vni", l->vni);
	else
		cJSON_AddNullToObject(o, "vni");
	add_str(o, "vtepMAC", l->vtep_mac, l->vtep_mac[0]);
	/* unknown only in `node down`'s answer: that lease is gone */
	if (l->ttl == STORE_TTL_UNKNOWN)
		cJSON_AddNullToObject(o, "ttl");
	else
		cJSON_AddNumberToObject(o, "ttl", (double)l->ttl);
	return o;
}

void ctl_lease_row(struct ctl_table *t, const struct subnet_lease *l)
{
	char sn[2 * IP_STRLEN + 2], b[IP_STRLEN], pub[IP_STRLEN], ttl[32];

	ip_prefix_fmt(&l->subnet, sn);
	if (l->subnet6.ip.family) {
		strcat(sn, ",");
		strcat(sn, ip_prefix_fmt(&l->subnet6, b));
	}
	if (l->ttl == STORE_TTL_UNKNOWN)
		snprintf(ttl, sizeof(ttl), "lease");
	else if (l->ttl < 0)
		snprintf(ttl, sizeof(ttl), "none");
	else
		snprintf(ttl, sizeof(ttl), "%" PRId64 "h%02" PRId64 "m%02" PRId64 "s",
			 l->ttl / 3600, l->ttl / 60 % 60, l->ttl % 60);
	ctl_table_row(t, sn, l->node_name[0] ? l->node_name : NULL,
		      l->readable ? ip_fmt(&l->public_ip, pub) : "(unreadable)",
		      l->vtep_mac[0] ? l->vtep_mac : NULL, ttl);
}

int ctl_leases(struct ctl *c, int argc, char **argv)
{
	struct subnet_lease *ls = NULL;
	struct err e = {0};
	struct store *s;
	int i, n;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
		return fputs(leases_usage, stdout), CTL_OK;
	if (argc > 1)
		return ctl_usage("leases", "takes no arguments, got '%s'", argv[1]);
	s = ctl_store(c);
	if (!s)
		return CTL_ERROR;
	n = subnet_list(s, c->prefix, &ls, NULL, &e);
	if (n < 0)
		return ctl_error(&e);
	/* the list leaves an etcd lease's time left unknown: asked here, one request a lease,
	 * as the column shows it */
	for (i = 0; i < n; i++)
		if (subnet_lease_ttl(s, &ls[i], &e) < 0) {
			subnet_leases_free(ls, (size_t)n);
			return ctl_error(&e);
		}
	if (c->output == CTL_OUT_JSON) {
		cJSON *a = cJSON_CreateArray();

		for (i = 0; i < n; i++)
			cJSON_AddItemToArray(a, ctl_lease_json(&ls[i]));
		ctl_print_json(a);
		cJSON_Delete(a);
	} else {
		struct ctl_table *t = ctl_table_new(5, ctl_lease_header);

		for (i = 0; i < n; i++)
			ctl_lease_row(t, &ls[i]);
		ctl_table_print(t);
	}
	subnet_leases_free(ls, (size_t)n);
	return CTL_OK;
}
