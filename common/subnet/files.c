// SPDX-License-Identifier: Apache-2.0
/* subnet.env, the lease state file and the node's conflist, each written atomically. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <cjson/cJSON.h>

#include "subnet/files.h"
#include "subnet/lease.h"
#include "subnet/netconf.h"
#include "base/mac.h"
#include "base/err.h"
#include "base/fs.h"
#include "base/json.h"

/* s (cJSON's, freed) with a newline after it, as text files end */
static char *with_newline(char *s)
{
	char *t = NULL;

	if (asprintf(&t, "%s\n", s) < 0)
		t = NULL;
	free(s);
	return t;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int subnet_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
			struct err *err)
{
	const char *slash = strrchr(path, '/');
	char *dir = NULL, *tmp = NULL;
	int fd = -1, r;

	/* the directory and the temporary name are cut from a copy: path is const */
	if (slash)
		dir = slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
	else
		dir = strdup(".");
	if (!dir || asprintf(&tmp, "%s/.%s.XXXXXX", dir, slash ? slash + 1 : path) < 0) {
		free(dir);
		return err_fail(err, CNI_ERR_INTERNAL, -ENOMEM, "write %s: out of memory", path);
	}
	r = fs_mkdir_p(dir, 0755);
	if (r < 0)
		goto out;
	fd = mkstemp(tmp);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	if (fchmod(fd, mode) < 0 || (r = write_all(fd, data, len)) < 0 || fsync(fd) < 0 ||
	    rename(tmp, path) < 0)
		r = r < 0 ? r : -errno;
out:
	if (fd >= 0) {
		close(fd);
		if (r < 0)
			unlink(tmp);
	}
	if (r < 0)
		err_fail(err, CNI_ERR_IO, r, "write %s: %s", path, strerror(-r));
	free(tmp);
	free(dir);
	return r;
}

static struct ip_prefix first_host(const struct ip_prefix *sn)
{
	struct ip_prefix p = *sn;

	ip_next(&p.ip);
	return p;
}

char *subnet_env_text(const struct subnet_conf *c, const struct subnet_lease *l, unsigned int mtu,
		      bool ipmasq)
{
	char n[IP_STRLEN], s[IP_STRLEN], n6[IP_STRLEN], s6[IP_STRLEN], *out;
	struct ip_prefix h = first_host(&l->subnet), h6 = first_host(&l->subnet6);
	int r;

	ip_prefix_fmt(&c->network, n);
	ip_prefix_fmt(&h, s);
	if (c->enable_ipv6 && l->subnet6.ip.family)
		r = asprintf(&out,
			     "FLANNEL_NETWORK=%s\nFLANNEL_SUBNET=%s\nFLANNEL_IPV6_NETWORK=%s\n"
			     "FLANNEL_IPV6_SUBNET=%s\nFLANNEL_MTU=%u\nFLANNEL_IPMASQ=%s\n",
			     n, s, ip_prefix_fmt(&c->ipv6_network, n6), ip_prefix_fmt(&h6, s6), mtu,
			     ipmasq ? "true" : "false");
	else
		r = asprintf(
			&out,
			"FLANNEL_NETWORK=%s\nFLANNEL_SUBNET=%s\nFLANNEL_MTU=%u\nFLANNEL_IPMASQ=%s\n",
			n, s, mtu, ipmasq ? "true" : "false");
	return r < 0 ? NULL : out;
}

static int env_prefix(const char *v, int family, struct ip_prefix *ret)
{
	struct ip_prefix p;

	if (ip_prefix_parse(v, &p) < 0 || p.ip.family != family)
		return -EINVAL;
	p.ip = ip_prefix_network(&p);
	*ret = p;
	return 0;
}

int subnet_env_read(const char *path, struct ip_prefix *ret_sn, struct ip_prefix *ret_sn6)
{
	struct ip_prefix sn = {0}, sn6 = {0};
	FILE *f = fopen(path, "re");
	char line[512];
	int r = 0;

	if (!f)
		return -errno;
	while (!r && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (!strncmp(line, "FLANNEL_SUBNET=", 15))
			r = env_prefix(line + 15, AF_INET, &sn);
		else if (!strncmp(line, "FLANNEL_IPV6_SUBNET=", 20))
			r = env_prefix(line + 20, AF_INET6, &sn6);
	}
	fclose(f);
	if (r < 0)
		return r;
	if (!sn.ip.family)
		return -ENOENT;
	*ret_sn = sn;
	*ret_sn6 = sn6;
	return 0;
}

static char *beside(const char *subnet_file, const char *suffix)
{
	size_t n = strlen(subnet_file);
	char *p;

	if (n > 4 && !strcmp(subnet_file + n - 4, ".env"))
		n -= 4;
	return asprintf(&p, "%.*s%s", (int)n, subnet_file, suffix) < 0 ? NULL : p;
}

char *subnet_state_path(const char *subnet_file)
{
	return beside(subnet_file, ".lease.json");
}

char *subnet_agent_path(const char *subnet_file)
{
	return beside(subnet_file, ".agent.json");
}

static void add_ip(cJSON *o, const char *key, const struct ip_addr *ip)
{
	char b[IP_STRLEN];

	if (ip->family)
		cJSON_AddStringToObject(o, key, ip_fmt(ip, b));
	else
		cJSON_AddNullToObject(o, key);
}

static void add_prefix(cJSON *o, const char *key, const struct ip_prefix *p)
{
	char b[IP_STRLEN];

	if (p->ip.family)
		cJSON_AddStringToObject(o, key, ip_prefix_fmt(p, b));
	else
		cJSON_AddNullToObject(o, key);
}

struct cJSON *subnet_state_json(const struct subnet_conf *c, const struct subnet_lease *l,
				const char *iface, unsigned int mtu, long long expires,
				bool ip_masq, const char *store_url, const char *prefix)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "Key", l->key);
	add_prefix(o, "Subnet", &l->subnet);
	add_prefix(o, "IPv6Subnet", &l->subnet6);
	add_prefix(o, "Network", &c->network);
	add_prefix(o, "IPv6Network", c->enable_ipv6 ? &c->ipv6_network : &(struct ip_prefix){0});
	add_ip(o, "PublicIP", &l->public_ip);
	add_ip(o, "PublicIPv6", &l->public_ipv6);
	cJSON_AddStringToObject(o, "Iface", iface ? iface : "");
	cJSON_AddNumberToObject(o, "VNI", c->vni);
	cJSON_AddNumberToObject(o, "Port", c->port ? c->port : 8472);
	cJSON_AddStringToObject(o, "VtepMAC", l->vtep_mac);
	cJSON_AddNumberToObject(o, "MTU", mtu);
	cJSON_AddNumberToObject(o, "Expires", (double)expires);
	cJSON_AddBoolToObject(o, "Learning", c->learning);
	cJSON_AddBoolToObject(o, "GBP", c->gbp);
	cJSON_AddBoolToObject(o, "DirectRouting", c->direct_routing);
	cJSON_AddBoolToObject(o, "IPMasq", ip_masq);
	cJSON_AddStringToObject(o, "NodeName", l->node_name);
	cJSON_AddStringToObject(o, "Store", store_url ? store_url : "");
	cJSON_AddStringToObject(o, "Prefix", prefix ? prefix : "");
	return o;
}

int subnet_state_mac(const char *path, char *mac)
{
	char buf[8192], why[64];
	cJSON *o = NULL;
	const cJSON *v;
	FILE *f = fopen(path, "re");
	size_t n;
	int r = -EINVAL;

	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (n < sizeof(buf) && json_parse_strict(buf, n, &o, why, sizeof(why)) == 0) {
		v = cJSON_GetObjectItemCaseSensitive(o, "VtepMAC");
		if (cJSON_IsString(v) && strlen(v->valuestring) == SUBNET_MAC_STRLEN - 1) {
			memcpy(mac, v->valuestring, SUBNET_MAC_STRLEN);
			r = 0;
		}
	}
	cJSON_Delete(o);
	return r;
}

void subnet_random_mac(char *mac)
{
	uint8_t b[6] = {0};

	if (getrandom(b, sizeof(b), 0) != sizeof(b))
		for (size_t i = 0; i < sizeof(b); i++)
			b[i] = (uint8_t)random();
	b[0] = (b[0] & 0xfe) | 0x02; /* unicast, locally administered */
	mac_fmt(b, mac);
}

char *subnet_json_text(const struct cJSON *o)
{
	char *s = cJSON_Print(o);

	return s ? with_newline(s) : NULL;
}

static cJSON *range_set(const struct ip_prefix *sn)
{
	cJSON *set = cJSON_CreateArray(), *r = cJSON_CreateObject();

	add_prefix(r, "subnet", sn);
	cJSON_AddItemToArray(set, r);
	return set;
}

/* ranges = the lease subnets; routes: the cluster networks added to those already there */
static void fill_ipam(cJSON *ipam, const struct subnet_conf *c, const struct subnet_lease *l)
{
	cJSON *ranges = cJSON_CreateArray(),
	      *routes = cJSON_GetObjectItemCaseSensitive(ipam, "routes");
	const struct ip_prefix *nets[2] = {&c->network, c->enable_ipv6 ? &c->ipv6_network : NULL};
	int i;

	cJSON_AddItemToArray(ranges, range_set(&l->subnet));
	if (l->subnet6.ip.family)
		cJSON_AddItemToArray(ranges, range_set(&l->subnet6));
	cJSON_DeleteItemFromObjectCaseSensitive(ipam, "ranges");
	cJSON_DeleteItemFromObjectCaseSensitive(ipam, "subnet");
	cJSON_AddItemToObject(ipam, "ranges", ranges);
	if (!cJSON_IsArray(routes)) {
		cJSON_DeleteItemFromObjectCaseSensitive(ipam, "routes");
		routes = cJSON_AddArrayToObject(ipam, "routes");
	}
	for (i = 0; i < 2; i++) {
		cJSON *rt;

		if (!nets[i])
			continue;
		rt = cJSON_CreateObject();
		add_prefix(rt, "dst", nets[i]);
		cJSON_AddItemToArray(routes, rt);
	}
}

static cJSON *default_conflist(const struct subnet_policy_conf *pol)
{
	cJSON *o = cJSON_CreateObject(), *plugins, *br, *ipam, *p;

	cJSON_AddStringToObject(o, "cniVersion", "1.0.0");
	cJSON_AddStringToObject(o, "name", SUBNET_NETWORK_NAME);
	plugins = cJSON_AddArrayToObject(o, "plugins");
	br = cJSON_CreateObject();
	cJSON_AddStringToObject(br, "type", "sluice-bridge");
	cJSON_AddStringToObject(br, "bridge", SUBNET_BRIDGE_NAME);
	cJSON_AddBoolToObject(br, "isGateway", true);
	cJSON_AddBoolToObject(br, "isDefaultGateway", true);
	cJSON_AddBoolToObject(br, "ipMasq", false);
	cJSON_AddBoolToObject(br, "hairpinMode", true);
	cJSON_AddNumberToObject(br, "mtu", 0); /* set below */
	ipam = cJSON_AddObjectToObject(br, "ipam");
	cJSON_AddStringToObject(ipam, "type", "sluice-host-local");
	cJSON_AddItemToArray(plugins, br);
	p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "type", SUBNET_OVERLAY_TYPE);
	cJSON_AddItemToArray(plugins, p);
	if (pol) {
		/* its fields are filled by set_policy(), as a template's are */
		p = cJSON_CreateObject();
		cJSON_AddStringToObject(p, "type", SUBNET_POLICY_TYPE);
		cJSON_AddItemToArray(plugins, p);
	}
	p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "type", "sluice-portmap");
	cJSON_AddBoolToObject(cJSON_AddObjectToObject(p, "capabilities"), "portMappings", true);
	cJSON_AddBoolToObject(p, "snat", true);
	cJSON_AddItemToArray(plugins, p);
	p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "type", "sluice-bandwidth");
	cJSON_AddBoolToObject(cJSON_AddObjectToObject(p, "capabilities"), "bandwidth", true);
	cJSON_AddItemToArray(plugins, p);
	return o;
}

/* A node whose subnet.env is elsewhere (a simulated node) names it to the overlay */
static void set_subnet_file(cJSON *plugins, const char *subnet_file)
{
	cJSON *p;

	if (!subnet_file || !strcmp(subnet_file, SUBNET_ENV_DEFAULT))
		return;
	cJSON_ArrayForEach(p, plugins) {
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(p, "type");

		if (!cJSON_IsObject(p) || !cJSON_IsString(t) ||
		    strcmp(t->valuestring, SUBNET_OVERLAY_TYPE))
			continue;
		cJSON_DeleteItemFromObjectCaseSensitive(p, "subnetFile");
		cJSON_AddStringToObject(p, "subnetFile", subnet_file);
	}
}

static void set_field(cJSON *p, const char *key, const char *value)
{
	cJSON_DeleteItemFromObjectCaseSensitive(p, key);
	cJSON_AddStringToObject(p, key, value);
}

/* The node's policy settings into each sluice-nft-policy entry (the plugin's own defaults
 * are the host's: a simulated node differs in every one of them) */
static void set_policy(cJSON *plugins, const struct subnet_policy_conf *pol)
{
	cJSON *p;

	if (!pol)
		return;
	cJSON_ArrayForEach(p, plugins) {
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(p, "type");

		if (!cJSON_IsObject(p) || !cJSON_IsString(t) ||
		    strcmp(t->valuestring, SUBNET_POLICY_TYPE))
			continue;
		set_field(p, "store", pol->store_url);
		set_field(p, "prefix", pol->prefix);
		set_field(p, "node", pol->node);
		set_field(p, "runDir", pol->run_dir);
	}
}

char *subnet_conflist_text(const struct subnet_conf *c, const struct subnet_lease *l,
			   unsigned int mtu, const char *subnet_file, const char *tmpl,
			   size_t tmpl_len, const struct subnet_policy_conf *pol, struct err *err)
{
	cJSON *o = NULL, *plugins, *p, *ipam = NULL;
	char why[200], *s;

	if (tmpl && json_parse_strict(tmpl, tmpl_len, &o, why, sizeof(why)) < 0) {
		err_fail(err, CNI_ERR_DECODE, -EINVAL, "CNI config template: not valid JSON: %s",
			 why);
		return NULL;
	}
	if (!o)
		o = default_conflist(pol);
	plugins = cJSON_GetObjectItemCaseSensitive(o, "plugins");
	cJSON_ArrayForEach(p, plugins) {
		ipam = cJSON_GetObjectItemCaseSensitive(p, "ipam");
		if (cJSON_IsObject(ipam))
			break;
	}
	if (!p || !cJSON_IsObject(ipam)) {
		cJSON_Delete(o);
		err_fail(
			err, CNI_ERR_CONFIG, -EINVAL,
			"CNI config template: no plugin in \"plugins\" has an \"ipam\" object to fill with the lease");
		return NULL;
	}
	if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(p, "mtu")))
		cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(p, "mtu"), mtu);
	else
		cJSON_AddNumberToObject(p, "mtu", mtu);
	fill_ipam(ipam, c, l);
	set_subnet_file(plugins, subnet_file);
	set_policy(plugins, pol);
	s = cJSON_Print(o);
	cJSON_Delete(o);
	if (!s || !(s = with_newline(s)))
		err_fail(err, CNI_ERR_INTERNAL, -ENOMEM, "CNI config: out of memory");
	return s;
}

#define STATE_MAX (64 * 1024) /* a state file is a few hundred bytes */

/* One state file being read: the first problem found ends the reading */
struct state_rd {
	const cJSON *o;
	const char *path;
	struct err *err;
	bool bad;
};

static void state_bad(struct state_rd *rd, const char *key, const char *why)
{
	if (!rd->bad)
		err_fail(rd->err, CNI_ERR_DECODE, -EINVAL, "lease state %s: %s: %s", rd->path, key,
			 why);
	rd->bad = true;
}

/* The member key, NULL when absent or null (and refused then when required) */
static const cJSON *state_get(struct state_rd *rd, const char *key, bool required)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(rd->o, key);

	if (v && cJSON_IsNull(v))
		v = NULL;
	if (!v && required)
		state_bad(rd, key, "missing");
	return v;
}

static void state_str(struct state_rd *rd, const char *key, bool required, char *buf, size_t size)
{
	const cJSON *v = state_get(rd, key, required);

	if (!v)
		return;
	if (!cJSON_IsString(v))
		state_bad(rd, key, "must be a string");
	else if (strlen(v->valuestring) >= size)
		state_bad(rd, key, "too long");
	else
		memcpy(buf, v->valuestring, strlen(v->valuestring) + 1);
}

static void state_addr(struct state_rd *rd, const char *key, int family, bool required,
		       struct ip_addr *ret)
{
	const cJSON *v = state_get(rd, key, required);

	if (!v)
		return;
	if (!cJSON_IsString(v) || ip_parse(v->valuestring, ret) < 0 || ret->family != family)
		state_bad(rd, key,
			  family == AF_INET ? "must be an IPv4 address"
					    : "must be an IPv6 address");
}

/* A subnet or network: a prefix of the family with its host bits clear */
static void state_prefix(struct state_rd *rd, const char *key, int family, bool required,
			 struct ip_prefix *ret)
{
	const cJSON *v = state_get(rd, key, required);
	struct ip_addr net;

	if (!v)
		return;
	if (!cJSON_IsString(v) || ip_prefix_parse(v->valuestring, ret) < 0 ||
	    ret->ip.family != family) {
		state_bad(rd, key,
			  family == AF_INET ? "must be an IPv4 prefix" : "must be an IPv6 prefix");
		return;
	}
	net = ip_prefix_network(ret);
	if (!ip_eq(&net, &ret->ip))
		state_bad(rd, key, "host bits set");
}

static long long state_int(struct state_rd *rd, const char *key, long long min, long long max)
{
	const cJSON *v = state_get(rd, key, true);
	char why[80];

	if (!v)
		return 0;
	if (cJSON_IsNumber(v) && v->valuedouble >= (double)min && v->valuedouble <= (double)max &&
	    v->valuedouble == (double)(long long)v->valuedouble)
		return (long long)v->valuedouble;
	snprintf(why, sizeof(why), "must be an integer in [%lld, %lld]", min, max);
	state_bad(rd, key, why);
	return 0;
}

/* A flag of the backend: absent (a state written before it existed) is false */
static bool state_bool(struct state_rd *rd, const char *key, bool def)
{
	const cJSON *v = state_get(rd, key, false);

	if (v && !cJSON_IsBool(v))
		state_bad(rd, key, "must be true or false");
	return v ? cJSON_IsTrue(v) : def;
}

/* What one field cannot say alone: the subnets inside their networks, an IPv6 lease with its
 * network and address, a usable MAC and interface name */
static void state_consistent(struct state_rd *rd, struct subnet_state *s)
{
	uint8_t mac[6];

	if (!ip_prefix_contains(&s->network, &s->subnet.ip) || s->subnet.len < s->network.len)
		state_bad(rd, "Subnet", "outside Network");
	if (s->subnet6.ip.family && (!s->network6.ip.family || !s->public_ipv6.family))
		state_bad(rd, "IPv6Subnet", "needs IPv6Network and PublicIPv6");
	else if (s->subnet6.ip.family && (!ip_prefix_contains(&s->network6, &s->subnet6.ip) ||
					  s->subnet6.len < s->network6.len))
		state_bad(rd, "IPv6Subnet", "outside IPv6Network");
	if (!s->iface[0] || strchr(s->iface, '/') || !strcmp(s->iface, ".") ||
	    !strcmp(s->iface, ".."))
		state_bad(rd, "Iface", "must be an interface name");
	if (mac_parse(s->vtep_mac, mac) < 0 || (mac[0] & 1))
		state_bad(rd, "VtepMAC", "must be a unicast MAC address");
}

static void state_fields(struct state_rd *rd, struct subnet_state *s)
{
	state_str(rd, "Key", true, s->key, sizeof(s->key));
	state_prefix(rd, "Subnet", AF_INET, true, &s->subnet);
	state_prefix(rd, "IPv6Subnet", AF_INET6, false, &s->subnet6);
	state_prefix(rd, "Network", AF_INET, true, &s->network);
	state_prefix(rd, "IPv6Network", AF_INET6, false, &s->network6);
	state_addr(rd, "PublicIP", AF_INET, true, &s->public_ip);
	state_addr(rd, "PublicIPv6", AF_INET6, false, &s->public_ipv6);
	state_str(rd, "Iface", true, s->iface, sizeof(s->iface));
	s->vni = (uint32_t)state_int(rd, "VNI", 0, (1 << 24) - 1);
	s->port = (uint16_t)state_int(rd, "Port", 0, 65535);
	state_str(rd, "VtepMAC", true, s->vtep_mac, sizeof(s->vtep_mac));
	s->mtu = (unsigned int)state_int(rd, "MTU", 68, 65535);
	s->expires = state_int(rd, "Expires", 0, 1LL << 52);
	s->learning = state_bool(rd, "Learning", false);
	s->gbp = state_bool(rd, "GBP", false);
	s->direct_routing = state_bool(rd, "DirectRouting", false);
	/* a state written before the field: the agent's default, masquerading */
	s->ip_masq = state_bool(rd, "IPMasq", true);
	state_str(rd, "NodeName", false, s->node_name, sizeof(s->node_name));
	if (!rd->bad)
		state_consistent(rd, s);
}

int subnet_state_read(const char *path, struct subnet_state *ret, struct err *err)
{
	struct state_rd rd = {.path = path, .err = err};
	struct subnet_state s = {0};
	char *buf = NULL, why[200];
	cJSON *o = NULL;
	FILE *f;
	size_t n;
	int r;

	f = fopen(path, "re");
	if (!f) {
		r = -errno;
		return r == -ENOENT ? r
				    : err_fail(err, CNI_ERR_IO, r, "lease state %s: %s", path,
					       strerror(-r));
	}
	buf = malloc(STATE_MAX + 1);
	errno = 0;
	n = buf ? fread(buf, 1, STATE_MAX + 1, f) : 0;
	/* a directory opens, and its read fails with EISDIR */
	r = !buf ? -ENOMEM : ferror(f) ? -(errno ? errno : EIO) : 0;
	fclose(f);
	if (r < 0) {
		free(buf);
		return err_fail(err, CNI_ERR_IO, r, "lease state %s: %s", path, strerror(-r));
	}
	if (n > STATE_MAX)
		r = err_fail(err, CNI_ERR_DECODE, -EINVAL, "lease state %s: larger than %d bytes",
			     path, STATE_MAX);
	else if (json_parse_strict(buf, n, &o, why, sizeof(why)) < 0)
		r = err_fail(err, CNI_ERR_DECODE, -EINVAL, "lease state %s: not valid JSON: %s",
			     path, why);
	else if (!cJSON_IsObject(o))
		r = err_fail(err, CNI_ERR_DECODE, -EINVAL, "lease state %s: not a JSON object",
			     path);
	free(buf);
	if (r < 0) {
		cJSON_Delete(o);
		return r;
	}
	rd.o = o;
	state_fields(&rd, &s);
	cJSON_Delete(o);
	if (rd.bad)
		return -EINVAL;
	*ret = s;
	return 0;
}
