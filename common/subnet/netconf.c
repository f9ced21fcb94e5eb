// SPDX-License-Identifier: Apache-2.0
/* Flannel's network config: parsing, CheckNetworkConfig's rules and defaults (flannel
 * pkg/subnet/config.go), and the config with its defaults filled in. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "subnet/netconf.h"
#include "base/err.h"
#include "base/json.h"

unsigned __int128 subnet_ip_num(const struct ip_addr *ip)
{
	unsigned __int128 n = 0;
	unsigned int i;

	for (i = 0; i < ip_bytes(ip->family); i++)
		n = n << 8 | ip->b[i];
	return n;
}

struct ip_addr subnet_ip_from_num(int family, unsigned __int128 n)
{
	struct ip_addr ip = {.family = family};
	int i;

	for (i = (int)ip_bytes(family) - 1; i >= 0; i--, n >>= 8)
		ip.b[i] = (uint8_t)n;
	return ip;
}

const cJSON *subnet_json_get(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItem(obj, key);

	return v && !cJSON_IsNull(v) ? v : NULL;
}

/* "config: <field>: <what>" */
static int bad(struct err *err, const char *field, const char *what)
{
	return err_fail(err, CNI_ERR_CONFIG, -EINVAL, "config: %s: %s", field, what);
}

/* uint fields: Go refuses a negative or fractional number for a uint */
static int get_uint(const cJSON *obj, const char *field, const char *key, double max,
		    unsigned int *ret, bool *present, struct err *err)
{
	const cJSON *v = subnet_json_get(obj, key);

	*present = v != NULL;
	if (!v)
		return 0;
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble != floor(v->valuedouble))
		return bad(err, field, "must be a non-negative integer");
	if (v->valuedouble > max)
		return err_fail(err, CNI_ERR_CONFIG, -EINVAL,
				"config: %s %.0f: must be at most %.0f", field, v->valuedouble,
				max);
	*ret = (unsigned int)v->valuedouble;
	return 0;
}

static int get_bool(const cJSON *obj, const char *field, const char *key, bool *ret,
		    struct err *err)
{
	const cJSON *v = subnet_json_get(obj, key);

	if (!v)
		return 0;
	if (!cJSON_IsBool(v))
		return bad(err, field, "must be true or false");
	*ret = cJSON_IsTrue(v);
	return 0;
}

static int get_str(const cJSON *obj, const char *field, const char *key, const char **ret,
		   struct err *err)
{
	const cJSON *v = subnet_json_get(obj, key);

	*ret = NULL;
	if (!v)
		return 0;
	if (!cJSON_IsString(v))
		return bad(err, field, "must be a string");
	*ret = v->valuestring;
	return 0;
}

static int get_prefix(const cJSON *obj, const char *field, int family, struct ip_prefix *ret,
		      struct err *err)
{
	const char *s;
	struct ip_prefix p;
	int r = get_str(obj, field, field, &s, err);

	if (r < 0 || !s)
		return r;
	if (ip_prefix_parse(s, &p) < 0 || p.ip.family != family)
		return err_fail(err, CNI_ERR_CONFIG, -EINVAL, "config: %s \"%s\": not an %s prefix",
				field, s,
				family == AF_INET ? "IPv4 (a.b.c.d/len)" : "IPv6 (addr/len)");
	p.ip = ip_prefix_network(&p);
	*ret = p;
	return 0;
}

static int get_addr(const cJSON *obj, const char *field, int family, struct ip_addr *ret,
		    struct err *err)
{
	const char *s;
	struct ip_addr ip;
	int r = get_str(obj, field, field, &s, err);

	if (r < 0 || !s)
		return r;
	if (ip_parse(s, &ip) < 0 || ip.family != family)
		return err_fail(err, CNI_ERR_CONFIG, -EINVAL,
				"config: %s \"%s\": not an %s address", field, s,
				family == AF_INET ? "IPv4" : "IPv6");
	*ret = ip;
	return 0;
}

/* One family's rules: SubnetLen, SubnetMin, SubnetMax (names given by the caller) */
struct fam_rules {
	const char *net, *len, *min, *max;
	unsigned int max_len, min_net_len, def_len, big_net_len;
};

static const struct fam_rules v4_rules = {"Network", "SubnetLen", "SubnetMin", "SubnetMax",
					  30,	     28,	  24,	       22};
static const struct fam_rules v6_rules = {
	"IPv6Network", "IPv6SubnetLen", "IPv6SubnetMin", "IPv6SubnetMax", 126, 124, 64, 62};

static int check_len(const struct fam_rules *fr, const struct ip_prefix *net, unsigned int *len,
		     bool given, struct err *err)
{
	char b[IP_STRLEN];

	if (given && *len) {
		/* room for a tunnel and a bridge address per node, and at least four subnets */
		if (*len > fr->max_len)
			return err_fail(err, CNI_ERR_CONFIG, -EINVAL,
					"config: %s %u: must be at most %u", fr->len, *len,
					fr->max_len);
		if (*len < net->len + 2)
			return err_fail(
				err, CNI_ERR_CONFIG, -EINVAL,
				"config: %s %u: must be at least %u (%s %s must hold at least four subnets)",
				fr->len, *len, net->len + 2, fr->net, ip_prefix_fmt(net, b));
		return 0;
	}
	if (net->len > fr->min_net_len)
		return err_fail(err, CNI_ERR_CONFIG, -EINVAL,
				"config: %s %s: too small, the minimum useful prefix is /%u",
				fr->net, ip_prefix_fmt(net, b), fr->min_net_len);
	*len = net->len <= fr->big_net_len ? fr->def_len : net->len + 2;
	return 0;
}

static int check_bound(const struct fam_rules *fr, const char *field, const struct ip_prefix *net,
		       unsigned int len, struct ip_addr *ip, bool is_min, struct err *err)
{
	unsigned int bits = ip_bits(net->ip.family);
	unsigned __int128 size = (unsigned __int128)1 << (bits - len);
	unsigned __int128 n = subnet_ip_num(&net->ip);
	char b[IP_STRLEN], nb[IP_STRLEN];

	if (!ip->family || ip_is_zero(ip)) {
		/* the first subnet is skipped: its first address is the Network's own */
		n = is_min ? n + size : n + ((unsigned __int128)1 << (bits - net->len)) - size;
		*ip = subnet_ip_from_num(net->ip.family, n);
		return 0;
	}
	if (!ip_prefix_contains(net, ip))
		return err_fail(err, CNI_ERR_CONFIG, -EINVAL, "config: %s %s: not inside %s %s",
				field, ip_fmt(ip, b), fr->net, ip_prefix_fmt(net, nb));
	if (subnet_ip_num(ip) & (size - 1))
		return err_fail(err, CNI_ERR_CONFIG, -EINVAL,
				"config: %s %s: not on a %s boundary (/%u)", field, ip_fmt(ip, b),
				fr->len, len);
	return 0;
}

static int check_family(const cJSON *doc, const struct fam_rules *fr, int family,
			struct ip_prefix *net, unsigned int *len, struct ip_addr *min,
			struct ip_addr *max, struct err *err)
{
	bool given;
	char b[IP_STRLEN], b2[IP_STRLEN];
	int r;

	if ((r = get_prefix(doc, fr->net, family, net, err)) < 0 ||
	    (r = get_uint(doc, fr->len, fr->len, 4294967295.0, len, &given, err)) < 0 ||
	    (r = get_addr(doc, fr->min, family, min, err)) < 0 ||
	    (r = get_addr(doc, fr->max, family, max, err)) < 0)
		return r;
	if (!net->ip.family || !net->len)
		return err_fail(err, CNI_ERR_CONFIG, -EINVAL,
				"config: %s: required (a prefix such as \"%s\")", fr->net,
				family == AF_INET ? "10.244.0.0/16" : "fd00:10:244::/56");
	if ((r = check_len(fr, net, len, given, err)) < 0 ||
	    (r = check_bound(fr, fr->min, net, *len, min, true, err)) < 0 ||
	    (r = check_bound(fr, fr->max, net, *len, max, false, err)) < 0)
		return r;
	if (ip_cmp(min, max) > 0)
		return err_fail(err, CNI_ERR_CONFIG, -EINVAL, "config: %s %s: above %s %s", fr->min,
				ip_fmt(min, b), fr->max, ip_fmt(max, b2));
	return 0;
}

static int check_backend(const cJSON *doc, struct subnet_conf *c, struct err *err)
{
	const cJSON *be = subnet_json_get(doc, "Backend");
	const char *type;
	unsigned int v = 0;
	bool given;
	int r;

	/* flanneld takes a missing Backend as "udp" (parseBackendType); a sluice node sharing
	 * the config with flanneld nodes must not read it as vxlan and split the cluster */
	if (!be)
		return bad(
			err, "Backend",
			"missing; flanneld would use its \"udp\" backend, which sluice does not support: write \"Backend\": {\"Type\": \"vxlan\"}");
	if (!cJSON_IsObject(be))
		return bad(err, "Backend", "must be an object such as {\"Type\": \"vxlan\"}");
	if ((r = get_str(be, "Backend.Type", "Type", &type, err)) < 0)
		return r;
	if (!type)
		return bad(err, "Backend.Type", "missing (sluice supports \"vxlan\" only)");
	if (strcmp(type, "vxlan"))
		return err_fail(
			err, CNI_ERR_CONFIG, -EINVAL,
			"config: Backend.Type \"%s\": not supported (sluice supports \"vxlan\" only)",
			type);
	c->vni = 1;
	if ((r = get_uint(be, "Backend.VNI", "VNI", 16777215, &v, &given, err)) < 0)
		return r;
	if (given)
		c->vni = v;
	if ((r = get_uint(be, "Backend.Port", "Port", 65535, &v, &given, err)) < 0)
		return r;
	c->port = (uint16_t)v * given;
	if ((r = get_uint(be, "Backend.MTU", "MTU", 65535, &v, &given, err)) < 0)
		return r;
	if (given && v && v < 118)
		return err_fail(
			err, CNI_ERR_CONFIG, -EINVAL,
			"config: Backend.MTU %u: must be 0 (the interface's) or at least 118 (68 + 50 of VXLAN overhead)",
			v);
	c->mtu = given ? v : 0;
	if ((r = get_bool(be, "Backend.GBP", "GBP", &c->gbp, err)) < 0 ||
	    (r = get_bool(be, "Backend.Learning", "Learning", &c->learning, err)) < 0 ||
	    (r = get_bool(be, "Backend.DirectRouting", "DirectRouting", &c->direct_routing, err)) <
		    0)
		return r;
	return 0;
}

static int check_doc(const cJSON *doc, struct subnet_conf *c, struct err *err)
{
	int r;

	if (!cJSON_IsObject(doc))
		return err_fail(err, CNI_ERR_CONFIG, -EINVAL, "config: must be a JSON object");
	c->enable_ipv4 = true;
	if ((r = get_bool(doc, "EnableIPv4", "EnableIPv4", &c->enable_ipv4, err)) < 0 ||
	    (r = get_bool(doc, "EnableIPv6", "EnableIPv6", &c->enable_ipv6, err)) < 0)
		return r;
	/* flanneld's etcd subnet manager always allocates an IPv4 subnet (allocateSubnet) */
	if (!c->enable_ipv4)
		return bad(
			err, "EnableIPv4",
			"must be true (sluice leases, as flanneld's etcd subnet manager, always hold an IPv4 subnet)");
	r = check_family(doc, &v4_rules, AF_INET, &c->network, &c->subnet_len, &c->subnet_min,
			 &c->subnet_max, err);
	if (r < 0)
		return r;
	if (c->enable_ipv6) {
		r = check_family(doc, &v6_rules, AF_INET6, &c->ipv6_network, &c->ipv6_subnet_len,
				 &c->ipv6_subnet_min, &c->ipv6_subnet_max, err);
		if (r < 0)
			return r;
	}
	return check_backend(doc, c, err);
}

int subnet_conf_parse(const char *s, size_t len, struct subnet_conf *ret, struct err *err)
{
	struct subnet_conf c = {0};
	char why[256];
	int r;

	if (json_parse_strict(s, len, &c.doc, why, sizeof(why)) < 0)
		return err_fail(err, CNI_ERR_DECODE, -EINVAL, "config: not valid JSON: %s", why);
	r = check_doc(c.doc, &c, err);
	if (r < 0) {
		cJSON_Delete(c.doc);
		return r;
	}
	*ret = c;
	return 0;
}

void subnet_conf_done(struct subnet_conf *c)
{
	cJSON_Delete(c->doc);
	c->doc = NULL;
}

bool subnet_conf_compat(const struct subnet_conf *c, const struct ip_prefix *sn,
			const struct ip_prefix *sn6)
{
	if (sn->ip.family != AF_INET || sn->len != c->subnet_len ||
	    ip_cmp(&sn->ip, &c->subnet_min) < 0 || ip_cmp(&sn->ip, &c->subnet_max) > 0)
		return false;
	if (!c->enable_ipv6)
		return !sn6->ip.family;
	return sn6->ip.family == AF_INET6 && sn6->len == c->ipv6_subnet_len &&
	       ip_cmp(&sn6->ip, &c->ipv6_subnet_min) >= 0 &&
	       ip_cmp(&sn6->ip, &c->ipv6_subnet_max) <= 0;
}

/* Sets key in obj (replacing the item of that name in any case, where it was) */
static void set(cJSON *obj, const char *key, cJSON *v)
{
	cJSON *old = cJSON_GetObjectItem(obj, key);

	if (old && strcmp(old->string, key))
		cJSON_Delete(cJSON_DetachItemViaPointer(obj, old));
	else if (old && (v->string = strdup(key))) {
		cJSON_ReplaceItemViaPointer(obj, old, v);
		return;
	}
	cJSON_AddItemToObject(obj, key, v);
}

static void set_ip(cJSON *obj, const char *key, const struct ip_addr *ip)
{
	char b[IP_STRLEN];

	set(obj, key, cJSON_CreateString(ip_fmt(ip, b)));
}

static void set_prefix(cJSON *obj, const char *key, const struct ip_prefix *p)
{
	char b[IP_STRLEN];

	set(obj, key, cJSON_CreateString(ip_prefix_fmt(p, b)));
}

struct cJSON *subnet_conf_json(const struct subnet_conf *c)
{
	cJSON *o = cJSON_Duplicate(c->doc, true), *be;

	if (!o)
		return NULL;
	set_prefix(o, "Network", &c->network);
	set(o, "SubnetLen", cJSON_CreateNumber(c->subnet_len));
	set_ip(o, "SubnetMin", &c->subnet_min);
	set_ip(o, "SubnetMax", &c->subnet_max);
	set(o, "EnableIPv4", cJSON_CreateBool(c->enable_ipv4));
	set(o, "EnableIPv6", cJSON_CreateBool(c->enable_ipv6));
	if (c->enable_ipv6) {
		set_prefix(o, "IPv6Network", &c->ipv6_network);
		set(o, "IPv6SubnetLen", cJSON_CreateNumber(c->ipv6_subnet_len));
		set_ip(o, "IPv6SubnetMin", &c->ipv6_subnet_min);
		set_ip(o, "IPv6SubnetMax", &c->ipv6_subnet_max);
	}
	be = cJSON_GetObjectItem(o, "Backend");
	set(be, "Type", cJSON_CreateString("vxlan"));
	set(be, "VNI", cJSON_CreateNumber(c->vni));
	set(be, "Port", cJSON_CreateNumber(c->port ? c->port : 8472));
	if (c->mtu)
		set(be, "MTU", cJSON_CreateNumber(c->mtu));
	set(be, "GBP", cJSON_CreateBool(c->gbp));
	set(be, "Learning", cJSON_CreateBool(c->learning));
	set(be, "DirectRouting", cJSON_CreateBool(c->direct_routing));
	return o;
}
