// SPDX-License-Identifier: Apache-2.0
/* Subnet leases: keys and values as flanneld writes them, listing, and the free-subnet pick.
 * Acquiring, renewing and releasing are in acquire.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <cjson/cJSON.h>

#include "subnet/lease.h"
#include "subnet/netconf.h"
#include "base/err.h"
#include "base/json.h"
#include "base/mac.h"
#include "store/store.h"

int subnet_key_name(const struct ip_prefix *sn, const struct ip_prefix *sn6, char *buf, size_t size)
{
	char a[IP_STRLEN], b[IP_STRLEN];
	int n;

	if (sn6 && sn6->ip.family)
		n = snprintf(buf, size, "%s-%u&%s-%u", ip_fmt(&sn->ip, a), sn->len,
			     ip_fmt(&sn6->ip, b), sn6->len);
	else
		n = snprintf(buf, size, "%s-%u", ip_fmt(&sn->ip, a), sn->len);
	return n < 0 || (size_t)n >= size ? -ENOSPC : n;
}

/* "addr-len" of one family; digits only in len, as Go's strconv.ParseUint */
static int parse_part(const char *s, size_t n, int family, struct ip_prefix *ret)
{
	char buf[IP_STRLEN + 8], *dash, *end;
	unsigned long len;

	if (n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	dash = strrchr(buf, '-');
	if (!dash || dash[1] < '0' || dash[1] > '9' || strlen(dash + 1) > 3)
		return -EINVAL;
	*dash = '\0';
	len = strtoul(dash + 1, &end, 10);
	if (*end || len > ip_bits(family) || ip_parse(buf, &ret->ip) < 0 ||
	    ret->ip.family != family)
		return -EINVAL;
	if (family == AF_INET6 && strspn(buf, "0123456789abcdef:") != strlen(buf))
		return -EINVAL; /* flannel's pattern: [a-f\d:]+ */
	ret->len = (unsigned int)len;
	return 0;
}

int subnet_key_parse(const char *name, struct ip_prefix *ret_sn, struct ip_prefix *ret_sn6)
{
	const char *amp = strchr(name, '&');
	struct ip_prefix sn = {0}, sn6 = {0};

	if (parse_part(name, amp ? (size_t)(amp - name) : strlen(name), AF_INET, &sn) < 0)
		return -EINVAL;
	if (amp && parse_part(amp + 1, strlen(amp + 1), AF_INET6, &sn6) < 0)
		return -EINVAL;
	*ret_sn = sn;
	*ret_sn6 = sn6;
	return 0;
}

static int parse_backend_data(const cJSON *bd, struct subnet_lease *l, struct err *err)
{
	const cJSON *v;

	if (!cJSON_IsObject(bd))
		return err_fail(err, CNI_ERR_DECODE, -EINVAL, "lease: BackendData: not an object");
	v = subnet_json_get(bd, "VNI");
	if (v && (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 16777215))
		return err_fail(err, CNI_ERR_DECODE, -EINVAL, "lease: BackendData.VNI: not a VNI");
	l->vni = v ? (uint32_t)v->valuedouble : 0;
	v = subnet_json_get(bd, "VtepMAC");
	if (v && (!cJSON_IsString(v) || strlen(v->valuestring) >= sizeof(l->vtep_mac)))
		return err_fail(err, CNI_ERR_DECODE, -EINVAL,
				"lease: BackendData.VtepMAC: not a MAC");
	snprintf(l->vtep_mac, sizeof(l->vtep_mac), "%s", v ? v->valuestring : "");
	return 0;
}

static int parse_attrs(const cJSON *o, struct subnet_lease *l, struct err *err)
{
	const cJSON *v;

	if (!cJSON_IsObject(o))
		return err_fail(err, CNI_ERR_DECODE, -EINVAL, "lease: not a JSON object");
	v = subnet_json_get(o, "PublicIP");
	if (!cJSON_IsString(v) || ip_parse(v->valuestring, &l->public_ip) < 0 ||
	    l->public_ip.family != AF_INET)
		return err_fail(err, CNI_ERR_DECODE, -EINVAL,
				"lease: PublicIP: not an IPv4 address");
	v = subnet_json_get(o, "PublicIPv6");
	if (v && (!cJSON_IsString(v) || ip_parse(v->valuestring, &l->public_ipv6) < 0 ||
		  l->public_ipv6.family != AF_INET6))
		return err_fail(err, CNI_ERR_DECODE, -EINVAL,
				"lease: PublicIPv6: not an IPv6 address");
	v = subnet_json_get(o, "BackendType");
	if (v && (!cJSON_IsString(v) || strlen(v->valuestring) >= sizeof(l->backend_type)))
		return err_fail(err, CNI_ERR_DECODE, -EINVAL, "lease: BackendType: not a name");
	snprintf(l->backend_type, sizeof(l->backend_type), "%s", v ? v->valuestring : "");
	v = subnet_json_get(o, "BackendData");
	if (v && parse_backend_data(v, l, err) < 0)
		return -EINVAL;
	v = subnet_json_get(o, "NodeName");
	if (v && (!cJSON_IsString(v) || strlen(v->valuestring) > SUBNET_NODE_NAME_MAX))
		return err_fail(err, CNI_ERR_DECODE, -EINVAL, "lease: NodeName: not a node name");
	snprintf(l->node_name, sizeof(l->node_name), "%s", v ? v->valuestring : "");
	return 0;
}

int subnet_lease_parse_value(const char *value, size_t len, struct subnet_lease *l, struct err *err)
{
	cJSON *o;
	char why[200];

	if (json_parse_strict(value, len, &o, why, sizeof(why)) < 0)
		return err_fail(err, CNI_ERR_DECODE, -EINVAL, "lease: not valid JSON: %s", why);
	if (parse_attrs(o, l, err) < 0) {
		cJSON_Delete(o);
		return -EINVAL;
	}
	cJSON_Delete(l->attrs);
	l->attrs = o;
	l->readable = true;
	return 0;
}

size_t subnet_prefix_len(const char *prefix)
{
	size_t n = strlen(prefix);

	while (n > 1 && prefix[n - 1] == '/')
		n--;
	return n;
}

int subnet_lease_from_kv(const struct store_kv *kv, const char *prefix, struct subnet_lease *l)
{
	size_t plen = subnet_prefix_len(prefix);
	const char *name = kv->key + plen;
	struct subnet_lease n = {0};
	struct err e = {0};

	if (strncmp(kv->key, prefix, plen) || strncmp(name, "/subnets/", 9))
		return 0;
	name += 9;
	if (strchr(name, '/') || subnet_key_parse(name, &n.subnet, &n.subnet6) < 0)
		return 0;
	(void)subnet_lease_parse_value(kv->value, kv->value_len, &n, &e);
	n.key = strdup(kv->key);
	if (!n.key) {
		cJSON_Delete(n.attrs);
		return -ENOMEM;
	}
	n.create_rev = kv->create_rev;
	n.mod_rev = kv->mod_rev;
	n.lease = kv->lease;
	n.ttl = kv->ttl;
	*l = n;
	return 1;
}

int subnet_lease_ttl(struct store *s, struct subnet_lease *l, struct err *err)
{
	struct store_kv kv = {.key = l->key, .lease = l->lease, .ttl = l->ttl};
	int r = store_ttl(s, &kv, err);

	if (r >= 0)
		l->ttl = kv.ttl;
	return r;
}

/* Sets key in o, in place when it is there (in whatever case it was written) */
static void put(cJSON *o, const char *key, cJSON *v)
{
	cJSON *old = cJSON_GetObjectItem(o, key);

	char *name = old ? strdup(key) : NULL;

	if (name) {
		free(v->string); /* a duplicated item comes with its old name */
		v->string = name;
		cJSON_ReplaceItemViaPointer(o, old, v); /* in place, under flanneld's name */
	} else {
		cJSON_AddItemToObject(o, key, v);
	}
}

static cJSON *backend_data(const cJSON *old, const struct subnet_lease *l)
{
	cJSON *bd = cJSON_IsObject(old) ? cJSON_Duplicate(old, true) : cJSON_CreateObject();

	put(bd, "VNI", cJSON_CreateNumber(l->vni));
	put(bd, "VtepMAC", cJSON_CreateString(l->vtep_mac));
	return bd;
}

char *subnet_lease_value(const struct subnet_lease *l)
{
	cJSON *o = l->attrs ? cJSON_Duplicate(l->attrs, true) : cJSON_CreateObject();
	char b[IP_STRLEN], *s;

	put(o, "PublicIP", cJSON_CreateString(ip_fmt(&l->public_ip, b)));
	put(o, "PublicIPv6",
	    l->public_ipv6.family ? cJSON_CreateString(ip_fmt(&l->public_ipv6, b))
				  : cJSON_CreateNull());
	put(o, "BackendType", cJSON_CreateString("vxlan"));
	put(o, "BackendData", backend_data(cJSON_GetObjectItem(o, "BackendData"), l));
	if (l->subnet6.ip.family)
		put(o, "BackendV6Data", backend_data(cJSON_GetObjectItem(o, "BackendV6Data"), l));
	if (l->node_name[0])
		put(o, "NodeName", cJSON_CreateString(l->node_name));
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

void subnet_lease_done(struct subnet_lease *l)
{
	cJSON_Delete(l->attrs);
	free(l->key);
	l->attrs = NULL;
	l->key = NULL;
}

void subnet_leases_free(struct subnet_lease *ls, size_t n)
{
	size_t i;

	for (i = 0; ls && i < n; i++)
		subnet_lease_done(&ls[i]);
	free(ls);
}

static int by_subnet(const void *a, const void *b)
{
	const struct subnet_lease *x = a, *y = b;
	int c = ip_cmp(&x->subnet.ip, &y->subnet.ip);

	return c ? c : strcmp(x->key, y->key);
}

int subnet_list(struct store *s, const char *prefix, struct subnet_lease **ret, int64_t *ret_rev,
		struct err *err)
{
	struct store_list l = {0};
	struct subnet_lease *ls;
	char *dir;
	size_t i, n = 0;
	int r;

	if (asprintf(&dir, "%.*s/subnets/", (int)subnet_prefix_len(prefix), prefix) < 0)
		return -ENOMEM;
	r = store_list_all(s, dir, 0, &l, err);
	free(dir);
	if (r < 0)
		return r;
	ls = calloc(l.n + 1, sizeof(*ls));
	for (i = 0, r = ls ? 0 : -ENOMEM; !r && i < l.n; i++) {
		r = subnet_lease_from_kv(&l.kvs[i], prefix, &ls[n]);
		n += r > 0;
		r = r < 0 ? r : 0;
	}
	if (ret_rev)
		*ret_rev = l.rev;
	store_list_free(&l);
	if (r < 0) {
		subnet_leases_free(ls, n);
		return err_fail(err, CNI_ERR_INTERNAL, r, "list leases: out of memory");
	}
	qsort(ls, n, sizeof(*ls), by_subnet);
	*ret = ls;
	return (int)n;
}

static uint64_t rand_below(uint64_t n, const struct subnet_acquire_opts *o)
{
	uint64_t x = 0;

	if (n <= 1)
		return 0;
	if (o && o->rand)
		return o->rand(n, o->rand_data) % n;
	if (getrandom(&x, sizeof(x), 0) != sizeof(x))
		x = (uint64_t)random() << 32 ^ (uint64_t)random();
	return x % n;
}

static bool taken(const struct ip_prefix *sn, const struct subnet_lease *ls, size_t n, bool v6)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct ip_prefix *p = v6 ? &ls[i].subnet6 : &ls[i].subnet;

		if (p->ip.family == sn->ip.family && ip_prefix_overlaps(sn, p))
			return true;
	}
	return false;
}

int subnet_pick_free(int family, const struct ip_addr *min, const struct ip_addr *max,
		     unsigned int len, const struct subnet_lease *ls, size_t n, bool v6,
		     const struct subnet_acquire_opts *o, struct ip_prefix *ret)
{
	unsigned int shift = ip_bits(family) - len;
	unsigned __int128 base = subnet_ip_num(min), count, start, i;
	unsigned __int128 cand[SUBNET_CANDIDATES];
	size_t nc = 0;
	struct ip_prefix sn = {.len = len};

	if (ip_cmp(min, max) > 0)
		return -ENOSPC;
	count = ((subnet_ip_num(max) - base) >> shift) + 1;
	/* a random start spreads simultaneous claimers over the whole range, where flanneld's
	 * walk from SubnetMin makes them all draw from the same first hundred */
	start = rand_below(count > UINT64_MAX ? UINT64_MAX : (uint64_t)count, o);
	for (i = 0; i < count && nc < SUBNET_CANDIDATES; i++) {
		unsigned __int128 idx = (start + i) % count;

		sn.ip = subnet_ip_from_num(family, base + (idx << shift));
		if (!taken(&sn, ls, n, v6))
			cand[nc++] = idx;
	}
	if (!nc)
		return -ENOSPC;
	sn.ip = subnet_ip_from_num(family, base + (cand[rand_below(nc, o)] << shift));
	*ret = sn;
	return 0;
}

enum subnet_peer_why subnet_lease_is_peer(const struct subnet_lease *l)
{
	uint8_t mac[6];

	if (!l->readable || !l->public_ip.family)
		return SUBNET_PEER_UNREADABLE;
	if (strcmp(l->backend_type, "vxlan"))
		return SUBNET_PEER_BACKEND;
	if (mac_parse(l->vtep_mac, mac) < 0)
		return SUBNET_PEER_NO_MAC;
	return SUBNET_PEER_OK;
}
