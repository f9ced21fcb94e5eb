// SPDX-License-Identifier: Apache-2.0
/* The CNI result: parse (any supported version, unknown fields ignored), build, and print
 * in the version of the request. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cni/result.h"
#include "cni/cni.h"

static int perr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int perr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static char *dupopt(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int grow(void *pp, size_t n, size_t size)
{
	void *p;

	if (n >= CNI_RESULT_MAX)
		return -E2BIG;
	p = realloc(*(void **)pp, (n + 1) * size);
	if (!p)
		return -ENOMEM;
	memset((char *)p + n * size, 0, size);
	*(void **)pp = p;
	return 0;
}

int cni_result_add_iface(struct cni_result *res, const char *name, const char *mac,
			 const char *sandbox)
{
	struct cni_iface *i;
	int r = grow(&res->ifaces, res->n_ifaces, sizeof(*i));

	if (r < 0)
		return r;
	i = &res->ifaces[res->n_ifaces];
	i->name = dupopt(name);
	i->mac = dupopt(mac);
	i->sandbox = dupopt(sandbox);
	if ((name && !i->name) || (mac && !i->mac) || (sandbox && !i->sandbox)) {
		free(i->name);
		free(i->mac);
		free(i->sandbox);
		return -ENOMEM;
	}
	return (int)res->n_ifaces++;
}

int cni_result_add_ip(struct cni_result *res, const struct ip_prefix *addr,
		      const struct ip_addr *gw, int iface)
{
	struct cni_ipconf *c;
	int r = grow(&res->ips, res->n_ips, sizeof(*c));

	if (r < 0)
		return r;
	c = &res->ips[res->n_ips];
	c->address = *addr;
	if (gw)
		c->gateway = *gw;
	c->iface = iface;
	return (int)res->n_ips++;
}

int cni_result_add_route(struct cni_result *res, const struct cni_route *route)
{
	int r = grow(&res->routes, res->n_routes, sizeof(*route));

	if (r < 0)
		return r;
	res->routes[res->n_routes++] = *route;
	return 0;
}

static const char *opt_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The first of the keys (NULL-terminated) that is there, not null and not a string: Go's
 * types100 refuses such a result rather than read the field as missing. */
static const char *not_str(const cJSON *o, ...)
{
	const char *key, *bad = NULL;
	const cJSON *v;
	va_list ap;

	va_start(ap, o);
	while (!bad && (key = va_arg(ap, const char *))) {
		v = cJSON_GetObjectItemCaseSensitive(o, key);
		if (v && !cJSON_IsNull(v) && !cJSON_IsString(v))
			bad = key;
	}
	va_end(ap);
	return bad;
}

static const char *const dns_lists[] = {"nameservers", "search", "options"};

int cni_dns_check(const cJSON *dns, const char *where, char *err, size_t errlen)
{
	const cJSON *v, *e;
	int i;

	if (!dns || cJSON_IsNull(dns))
		return 0;
	if (!cJSON_IsObject(dns))
		return perr(err, errlen, "%sdns: must be an object", where);
	if (not_str(dns, "domain", NULL))
		return perr(err, errlen, "%sdns.domain: must be a string", where);
	for (size_t k = 0; k < sizeof(dns_lists) / sizeof(dns_lists[0]); k++) {
		v = cJSON_GetObjectItemCaseSensitive(dns, dns_lists[k]);
		if (!v || cJSON_IsNull(v))
			continue;
		if (!cJSON_IsArray(v))
			return perr(err, errlen, "%sdns.%s: must be a list of strings", where,
				    dns_lists[k]);
		i = 0;
		cJSON_ArrayForEach(e, v) {
			if (!cJSON_IsString(e))
				return perr(err, errlen, "%sdns.%s[%d]: must be a string", where,
					    dns_lists[k], i);
			i++;
		}
	}
	return 0;
}

static int opt_int(const cJSON *o, const char *key, int *ret, unsigned int bit, unsigned int *has)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!v || cJSON_IsNull(v))
		return 0;
	/* range first: converting a double outside int's range (1e300) is undefined */
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= INT_MIN && v->valuedouble <= INT_MAX) ||
	    v->valuedouble != floor(v->valuedouble))
		return -EINVAL;
	*ret = (int)v->valuedouble;
	*has |= bit;
	return 0;
}

static int parse_iface(const cJSON *o, struct cni_result *res, char *err, size_t errlen)
{
	const char *bad;
	unsigned int has = 0;
	struct cni_iface *i;
	int r;

	if (!cJSON_IsObject(o))
		return perr(err, errlen, "interfaces: entries must be objects");
	if ((bad = not_str(o, "name", "mac", "sandbox", "socketPath", "pciID", NULL)))
		return perr(err, errlen, "interfaces: %s must be a string", bad);
	r = cni_result_add_iface(res, opt_str(o, "name"), opt_str(o, "mac"), opt_str(o, "sandbox"));
	if (r < 0)
		return r == -E2BIG ? perr(err, errlen, "too many interfaces") : r;
	i = &res->ifaces[r];
	i->socket_path = dupopt(opt_str(o, "socketPath"));
	i->pci_id = dupopt(opt_str(o, "pciID"));
	if (opt_int(o, "mtu", &i->mtu, 1, &has) < 0)
		return perr(err, errlen, "interfaces: mtu must be an integer");
	return 0;
}

static int parse_ip(const cJSON *o, struct cni_result *res, char *err, size_t errlen)
{
	struct ip_prefix addr;
	struct ip_addr gw = {0};
	const char *a = opt_str(o, "address"), *g = opt_str(o, "gateway");
	unsigned int has = 0;
	int iface = -1, r;

	if (!cJSON_IsObject(o) || !a)
		return perr(err, errlen, "ips: each entry needs an address");
	if (not_str(o, "gateway", NULL))
		return perr(err, errlen, "ips: gateway must be a string");
	if (ip_prefix_parse(a, &addr) < 0)
		return perr(err, errlen, "ips: invalid address \"%.60s\"", a);
	if (g && *g && ip_parse(g, &gw) < 0)
		return perr(err, errlen, "ips: invalid gateway \"%.60s\"", g);
	if (opt_int(o, "interface", &iface, 1, &has) < 0 || iface < -1)
		return perr(err, errlen, "ips: interface must be an index");
	r = cni_result_add_ip(res, &addr, &gw, has ? iface : -1);
	if (r == -E2BIG)
		return perr(err, errlen, "too many ips");
	return r < 0 ? r : 0;
}

int cni_route_parse(const cJSON *o, struct cni_route *ret, char *err, size_t errlen)
{
	struct cni_route rt = {0};
	const char *d = opt_str(o, "dst"), *g = opt_str(o, "gw");

	if (!cJSON_IsObject(o) || !d)
		return perr(err, errlen, "routes: each entry needs a dst");
	if (not_str(o, "gw", NULL))
		return perr(err, errlen, "routes: gw must be a string");
	if (ip_prefix_parse(d, &rt.dst) < 0)
		return perr(err, errlen, "routes: invalid dst \"%.60s\"", d);
	if (g && *g) {
		if (ip_parse(g, &rt.gw) < 0)
			return perr(err, errlen, "routes: invalid gw \"%.60s\"", g);
		if (rt.gw.family != rt.dst.ip.family)
			return perr(err, errlen, "routes: gw %.60s and dst %.60s differ in family",
				    g, d);
		rt.has |= CNI_ROUTE_HAS_GW;
	}
	if (opt_int(o, "mtu", &rt.mtu, CNI_ROUTE_HAS_MTU, &rt.has) < 0 ||
	    opt_int(o, "advmss", &rt.advmss, CNI_ROUTE_HAS_ADVMSS, &rt.has) < 0 ||
	    opt_int(o, "priority", &rt.priority, CNI_ROUTE_HAS_PRIORITY, &rt.has) < 0 ||
	    opt_int(o, "table", &rt.table, CNI_ROUTE_HAS_TABLE, &rt.has) < 0 ||
	    opt_int(o, "scope", &rt.scope, CNI_ROUTE_HAS_SCOPE, &rt.has) < 0)
		return perr(err, errlen,
			    "routes: mtu, advmss, priority, table and scope must be "
			    "integers");
	*ret = rt;
	return 0;
}

static int parse_list(const cJSON *obj, const char *key, struct cni_result *res, char *err,
		      size_t errlen, int (*fn)(const cJSON *, struct cni_result *, char *, size_t))
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(obj, key), *e;
	int r;

	if (!list || cJSON_IsNull(list))
		return 0;
	if (!cJSON_IsArray(list))
		return perr(err, errlen, "%s must be a list", key);
	cJSON_ArrayForEach(e, list) {
		r = fn(e, res, err, errlen);
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_route(const cJSON *o, struct cni_result *res, char *err, size_t errlen)
{
	struct cni_route rt;
	int r = cni_route_parse(o, &rt, err, errlen);

	if (r < 0)
		return r;
	r = cni_result_add_route(res, &rt);
	return r == -E2BIG ? perr(err, errlen, "too many routes") : r;
}

int cni_result_parse(const cJSON *obj, struct cni_result *ret, char *err, size_t errlen)
{
	struct cni_result res = {0};
	const cJSON *dns;
	int r;

	*ret = res; /* zeroed, as promised, even when parsing fails */
	if (!cJSON_IsObject(obj))
		return perr(err, errlen, "result must be an object");
	r = parse_list(obj, "interfaces", &res, err, errlen, parse_iface);
	if (r >= 0)
		r = parse_list(obj, "ips", &res, err, errlen, parse_ip);
	if (r >= 0)
		r = parse_list(obj, "routes", &res, err, errlen, parse_route);
	for (size_t i = 0; r >= 0 && i < res.n_ips; i++)
		if (res.ips[i].iface >= (int)res.n_ifaces)
			r = perr(err, errlen, "ips: interface index %d out of range",
				 res.ips[i].iface);
	dns = cJSON_GetObjectItemCaseSensitive(obj, "dns");
	if (r >= 0)
		r = cni_dns_check(dns, "", err, errlen);
	if (r >= 0 && cJSON_IsObject(dns)) {
		res.dns = cJSON_Duplicate(dns, 1);
		if (!res.dns)
			r = -ENOMEM;
	}
	if (r < 0) {
		cni_result_done(&res);
		return r;
	}
	*ret = res;
	return 0;
}

static void add_str(cJSON *o, const char *key, const char *s)
{
	if (s && *s)
		cJSON_AddStringToObject(o, key, s);
}

static cJSON *iface_json(const struct cni_iface *i, unsigned int v)
{
	cJSON *o = cJSON_CreateObject();

	add_str(o, "name", i->name);
	add_str(o, "mac", i->mac);
	/* mtu, socketPath and pciID are spec 1.1.0 fields; Go's types100 emits them for
	 * 1.0.0 as well, and older libcni simply drops them */
	if (v >= CNI_V(1, 0, 0) && i->mtu)
		cJSON_AddNumberToObject(o, "mtu", i->mtu);
	add_str(o, "sandbox", i->sandbox);
	if (v >= CNI_V(1, 0, 0)) {
		add_str(o, "socketPath", i->socket_path);
		add_str(o, "pciID", i->pci_id);
	}
	return o;
}

static cJSON *ip_json(const struct cni_ipconf *c, unsigned int v)
{
	cJSON *o = cJSON_CreateObject();
	char buf[IP_STRLEN];

	/* below 1.0.0 every address says its family */
	if (v < CNI_V(1, 0, 0))
		cJSON_AddStringToObject(o, "version", c->address.ip.family == AF_INET ? "4" : "6");
	if (c->iface >= 0)
		cJSON_AddNumberToObject(o, "interface", c->iface);
	cJSON_AddStringToObject(o, "address", ip_prefix_fmt(&c->address, buf));
	if (c->gateway.family)
		cJSON_AddStringToObject(o, "gateway", ip_fmt(&c->gateway, buf));
	return o;
}

static cJSON *route_json(const struct cni_route *rt, unsigned int v)
{
	cJSON *o = cJSON_CreateObject();
	char buf[IP_STRLEN];

	cJSON_AddStringToObject(o, "dst", ip_prefix_fmt(&rt->dst, buf));
	if (rt->has & CNI_ROUTE_HAS_GW)
		cJSON_AddStringToObject(o, "gw", ip_fmt(&rt->gw, buf));
	if (v < CNI_V(1, 0, 0))
		return o;
	if ((rt->has & CNI_ROUTE_HAS_MTU) && rt->mtu)
		cJSON_AddNumberToObject(o, "mtu", rt->mtu);
	if ((rt->has & CNI_ROUTE_HAS_ADVMSS) && rt->advmss)
		cJSON_AddNumberToObject(o, "advmss", rt->advmss);
	if ((rt->has & CNI_ROUTE_HAS_PRIORITY) && rt->priority)
		cJSON_AddNumberToObject(o, "priority", rt->priority);
	if (rt->has & CNI_ROUTE_HAS_TABLE)
		cJSON_AddNumberToObject(o, "table", rt->table);
	if (rt->has & CNI_ROUTE_HAS_SCOPE)
		cJSON_AddNumberToObject(o, "scope", rt->scope);
	return o;
}

/* Go omits empty dns fields, and the whole dns object when nothing is left; it knows only
 * its four fields. */
static cJSON *dns_json(const cJSON *dns)
{
	static const char *const keys[] = {"nameservers", "domain", "search", "options"};
	cJSON *o = cJSON_CreateObject();
	const cJSON *e;

	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		e = cJSON_GetObjectItemCaseSensitive(dns, keys[k]);
		if ((cJSON_IsString(e) && *e->valuestring) ||
		    (cJSON_IsArray(e) && cJSON_GetArraySize(e) > 0))
			cJSON_AddItemToObject(o, keys[k], cJSON_Duplicate(e, 1));
	}
	if (o && !o->child) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

cJSON *cni_result_to_json(const struct cni_result *res, const char *version)
{
	unsigned int v = cni_version_num(version);
	cJSON *o = cJSON_CreateObject(), *a;

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "cniVersion", version);
	if (res->n_ifaces) {
		a = cJSON_AddArrayToObject(o, "interfaces");
		for (size_t i = 0; a && i < res->n_ifaces; i++)
			cJSON_AddItemToArray(a, iface_json(&res->ifaces[i], v));
	}
	if (res->n_ips) {
		a = cJSON_AddArrayToObject(o, "ips");
		for (size_t i = 0; a && i < res->n_ips; i++)
			cJSON_AddItemToArray(a, ip_json(&res->ips[i], v));
	}
	if (res->n_routes) {
		a = cJSON_AddArrayToObject(o, "routes");
		for (size_t i = 0; a && i < res->n_routes; i++)
			cJSON_AddItemToArray(a, route_json(&res->routes[i], v));
	}
	if (res->dns && (a = dns_json(res->dns)))
		cJSON_AddItemToObject(o, "dns", a);
	return o;
}

int cni_result_print(struct cni_ctx *ctx, const struct cni_result *res)
{
	cJSON *o = cni_result_to_json(res, ctx->version);
	char *s = o ? cJSON_PrintUnformatted(o) : NULL;
	int r;

	cJSON_Delete(o);
	if (!s)
		return -ENOMEM;
	r = cni_emit(ctx->out, s);
	free(s);
	return r;
}

int cni_result_find_iface(const struct cni_result *res, const char *name, const char *sandbox)
{
	for (size_t i = 0; i < res->n_ifaces; i++) {
		const struct cni_iface *f = &res->ifaces[i];
		const char *sb = f->sandbox ? f->sandbox : "";

		if (!f->name || strcmp(f->name, name))
			continue;
		if (!sandbox || (!*sandbox && !*sb) || (*sandbox && !strcmp(sb, sandbox)))
			return (int)i;
	}
	return -1;
}

void cni_result_done(struct cni_result *res)
{
	for (size_t i = 0; i < res->n_ifaces; i++) {
		free(res->ifaces[i].name);
		free(res->ifaces[i].mac);
		free(res->ifaces[i].sandbox);
		free(res->ifaces[i].socket_path);
		free(res->ifaces[i].pci_id);
	}
	free(res->ifaces);
	free(res->ips);
	free(res->routes);
	cJSON_Delete(res->dns);
	memset(res, 0, sizeof(*res));
}
