// SPDX-License-Identifier: Apache-2.0
/* sluicectl status, the node view: this node's lease (its state file and the store), its
 * VXLAN device(s) as the kernel has them, the peers programmed in the kernel against the
 * peer leases in the store, and the agent's status file (is its PID alive, the last store
 * revision it applied, when it last wrote). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "base/mac.h"
#include "base/err.h"
#include "base/json.h"
#include "netlink/nl.h"
#include "netlink/nl_link.h"
#include "overlay/peer.h"
#include "overlay/vxdev.h"
#include "store/store.h"
#include "subnet/files.h"
#include "subnet/lease.h"
#include "sluicectl.h"

struct node_view {
	struct subnet_state st;
	cJSON *agent; /* the agent's status file, NULL when none */
	bool agent_alive;
	int in_store; /* 1 the lease is in the store, 0 not, -1 unknown */
	cJSON *devices, *missing, *extra; /* arrays */
	size_t kernel_peers, store_peers;
};

static cJSON *read_json(const char *path)
{
	char *buf = NULL, why[64];
	cJSON *o = NULL;
	size_t n = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return NULL;
	buf = malloc(1 << 20);
	if (buf)
		n = fread(buf, 1, 1 << 20, f);
	fclose(f);
	if (buf && n < (1 << 20))
		(void)json_parse_strict(buf, n, &o, why, sizeof(why));
	free(buf);
	return o;
}

static void add_dev(struct node_view *v, struct nl *nl, int family, struct overlay_where *w)
{
	char name[IFNAMSIZ], mac[SUBNET_MAC_STRLEN];
	struct nl_link l;
	cJSON *d;

	overlay_dev_name(family, v->st.vni, name);
	w->family = family;
	w->dev = 0;
	if (nl_link_get_by_name(nl, name, &l) < 0)
		return;
	w->dev = l.ifindex;
	d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "name", name);
	cJSON_AddNumberToObject(d, "ifindex", l.ifindex);
	cJSON_AddNumberToObject(d, "mtu", l.mtu);
	cJSON_AddBoolToObject(d, "up", l.flags & IFF_UP);
	cJSON_AddStringToObject(d, "mac", mac_fmt(l.mac, mac));
	cJSON_AddItemToArray(v->devices, d);
}

/* A kernel peer is matched by its network address: one whose route is gone is read back
 * from its neighbour alone, without the prefix length */
static bool has_addr(const struct ip_prefix *list, size_t n, const struct ip_addr *ip)
{
	for (size_t i = 0; i < n; i++)
		if (ip_eq(&list[i].ip, ip))
			return true;
	return false;
}

static bool has_complete(const struct overlay_kpeer *k, size_t n, const struct ip_addr *ip)
{
	for (size_t i = 0; i < n; i++)
		if (k[i].complete && ip_eq(&k[i].p.subnet.ip, ip))
			return true;
	return false;
}

/* The subnets of peer leases in the store that the agent programs (subnet_lease_is_peer; ours
 * excluded; their IPv6 ones only with v6, our IPv6 device there); NULL when unreadable */
static struct ip_prefix *store_peers(struct ctl *c, const char *own, bool v6, size_t *ret_n)
{
	struct subnet_lease *ls = NULL;
	struct ip_prefix *p;
	struct err e = {0};
	int n = subnet_list(c->store, c->prefix, &ls, NULL, &e), i;
	size_t k = 0;

	if (n < 0)
		return NULL;
	p = calloc((size_t)n * 2 + 1, sizeof(*p));
	for (i = 0; p && i < n; i++) {
		if (!strcmp(ls[i].key, own) || subnet_lease_is_peer(&ls[i]) != SUBNET_PEER_OK)
			continue;
		p[k++] = ls[i].subnet;
		if (v6 && ls[i].subnet6.ip.family && ls[i].public_ipv6.family)
			p[k++] = ls[i].subnet6;
	}
	subnet_leases_free(ls, (size_t)n);
	*ret_n = k;
	return p;
}

/* Kernel peers (both families) against the store's: missing, the store's peers without all
 * their entries in the kernel; extra, what the kernel holds for no peer of the store */
static void compare_peers(struct ctl *c, struct node_view *v, struct nl *nl,
			  const struct overlay_where *w, size_t nw)
{
	struct overlay_kpeer *have = NULL;
	struct ip_prefix *want;
	size_t nwant = 0, nhave = 0, i, j;
	char b[IP_STRLEN];

	for (i = 0; i < nw; i++) {
		struct overlay_kpeer *kp = NULL, *t;
		struct err e = {0};
		size_t n = 0;

		if (!w[i].dev || overlay_peers_read(nl, &w[i], &kp, &n, &e) < 0)
			continue;
		t = realloc(have, (nhave + n + 1) * sizeof(*t));
		if (t) {
			have = t;
			for (j = 0; j < n; j++)
				have[nhave++] = kp[j];
		}
		free(kp);
	}
	for (i = 0; i < nhave; i++)
		v->kernel_peers += have[i].complete;
	want = store_peers(c, v->st.key, nw > 1 && w[1].dev, &nwant);
	v->store_peers = want ? nwant : (size_t)-1;
	for (i = 0; want && i < nwant; i++)
		if (!has_complete(have, nhave, &want[i].ip))
			cJSON_AddItemToArray(v->missing,
					     cJSON_CreateString(ip_prefix_fmt(&want[i], b)));
	for (i = 0; want && i < nhave; i++)
		if (!has_addr(want, nwant, &have[i].p.subnet.ip))
			cJSON_AddItemToArray(
				v->extra, cJSON_CreateString(ip_prefix_fmt(&have[i].p.subnet, b)));
	free(want);
	free(have);
}

static void gather(struct ctl *c, struct node_view *v, const char *subnet_file, bool store_ok)
{
	struct overlay_where w[2] = {0};
	char *apath = subnet_agent_path(subnet_file);
	struct store_kv kv = {0};
	struct err e = {0};
	const cJSON *pid;
	struct nl nl = {0};
	int r;

	v->devices = cJSON_CreateArray();
	v->missing = cJSON_CreateArray();
	v->extra = cJSON_CreateArray();
	v->in_store = -1;
	if (store_ok && (r = store_get(c->store, v->st.key, &kv, NULL, &e)) >= 0) {
		v->in_store = r;
		store_kv_free(&kv);
	}
	if (nl_open(&nl, -1) == 0) {
		struct nl_link ul;

		add_dev(v, &nl, AF_INET, &w[0]);
		add_dev(v, &nl, AF_INET6, &w[1]);
		w[0].underlay = w[1].underlay =
			nl_link_get_by_name(&nl, v->st.iface, &ul) == 0 ? ul.ifindex : 0;
		if (store_ok)
			compare_peers(c, v, &nl, w, 2);
		nl_close(&nl);
	}
	v->agent = apath ? read_json(apath) : NULL;
	pid = cJSON_GetObjectItemCaseSensitive(v->agent, "PID");
	v->agent_alive = cJSON_IsNumber(pid) && pid->valuedouble > 0 &&
			 (kill((pid_t)pid->valuedouble, 0) == 0 || errno == EPERM);
	free(apath);
}

static double num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static cJSON *view_json(const struct node_view *v, const char *subnet_file)
{
	cJSON *o = cJSON_CreateObject(), *l, *p, *a;
	char b[IP_STRLEN];

	cJSON_AddStringToObject(o, "subnetFile", subnet_file);
	l = cJSON_AddObjectToObject(o, "lease");
	cJSON_AddStringToObject(l, "key", v->st.key);
	cJSON_AddStringToObject(l, "subnet", ip_prefix_fmt(&v->st.subnet, b));
	if (v->st.subnet6.ip.family)
		cJSON_AddStringToObject(l, "subnet6", ip_prefix_fmt(&v->st.subnet6, b));
	cJSON_AddStringToObject(l, "publicIP", ip_fmt(&v->st.public_ip, b));
	cJSON_AddStringToObject(l, "vtepMAC", v->st.vtep_mac);
	cJSON_AddNumberToObject(l, "expires", (double)v->st.expires);
	if (v->in_store >= 0)
		cJSON_AddBoolToObject(l, "inStore", v->in_store);
	else
		cJSON_AddNullToObject(l, "inStore");
	cJSON_AddItemToObject(o, "devices", cJSON_Duplicate(v->devices, true));
	p = cJSON_AddObjectToObject(o, "peers");
	cJSON_AddNumberToObject(p, "kernel", (double)v->kernel_peers);
	if (v->store_peers != (size_t)-1)
		cJSON_AddNumberToObject(p, "store", (double)v->store_peers);
	else
		cJSON_AddNullToObject(p, "store");
	cJSON_AddItemToObject(p, "missing", cJSON_Duplicate(v->missing, true));
	cJSON_AddItemToObject(p, "extra", cJSON_Duplicate(v->extra, true));
	if (!v->agent) {
		cJSON_AddNullToObject(o, "agent");
		return o;
	}
	a = cJSON_AddObjectToObject(o, "agent");
	cJSON_AddBoolToObject(a, "running", v->agent_alive);
	cJSON_AddNumberToObject(a, "pid", num(v->agent, "PID"));
	cJSON_AddItemToObject(
		a, "revision",
		cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(v->agent, "Revision"), true));
	cJSON_AddNumberToObject(a, "started", num(v->agent, "Started"));
	cJSON_AddNumberToObject(a, "updated", num(v->agent, "Updated"));
	cJSON_AddBoolToObject(a, "storeUp",
			      cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v->agent, "StoreUp")));
	cJSON_AddNumberToObject(
		a, "peers",
		cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(v->agent, "Peers")));
	return o;
}

static char *join(const cJSON *arr)
{
	size_t len = 1;
	const cJSON *x;
	char *s;

	cJSON_ArrayForEach(x, arr)
		len += strlen(x->valuestring) + 1;
	s = calloc(1, len);
	cJSON_ArrayForEach(x, arr) {
		if (s && *s)
			strcat(s, ",");
		if (s)
			strcat(s, x->valuestring);
	}
	return s;
}

static void view_table(const cJSON *j)
{
	static const char *const h1[] = {"NODE-LEASE", "SUBNET", "PUBLIC-IP", "VTEP-MAC",
					 "IN-STORE"};
	static const char *const h2[] = {"DEVICE", "MTU", "UP", "MAC"};
	static const char *const h3[] = {"PEERS-KERNEL", "PEERS-STORE", "MISSING", "EXTRA"};
	static const char *const h4[] = {"AGENT", "PID", "REVISION", "UPDATED", "STORE-UP"};
	const cJSON *l = cJSON_GetObjectItem(j, "lease"), *p = cJSON_GetObjectItem(j, "peers"),
		    *a = cJSON_GetObjectItem(j, "agent"), *d;
	struct ctl_table *t = ctl_table_new(5, h1);
	char *s1, *s2, *s3, *s4;

#define S(o, k) cJSON_PrintUnformatted(cJSON_GetObjectItem(o, k))
	s1 = S(l, "inStore");
	ctl_table_row(t, cJSON_GetStringValue(cJSON_GetObjectItem(l, "key")),
		      cJSON_GetStringValue(cJSON_GetObjectItem(l, "subnet")),
		      cJSON_GetStringValue(cJSON_GetObjectItem(l, "publicIP")),
		      cJSON_GetStringValue(cJSON_GetObjectItem(l, "vtepMAC")), s1);
	free(s1);
	putchar('\n');
	ctl_table_print(t);
	t = ctl_table_new(4, h2);
	cJSON_ArrayForEach(d, cJSON_GetObjectItem(j, "devices")) {
		s1 = S(d, "mtu");
		s2 = S(d, "up");
		ctl_table_row(t, cJSON_GetStringValue(cJSON_GetObjectItem(d, "name")), s1, s2,
			      cJSON_GetStringValue(cJSON_GetObjectItem(d, "mac")));
		free(s1);
		free(s2);
	}
	putchar('\n');
	ctl_table_print(t);
	t = ctl_table_new(4, h3);
	s1 = S(p, "kernel");
	s2 = S(p, "store");
	s3 = join(cJSON_GetObjectItem(p, "missing"));
	s4 = join(cJSON_GetObjectItem(p, "extra"));
	ctl_table_row(t, s1, s2, s3 && *s3 ? s3 : NULL, s4 && *s4 ? s4 : NULL);
	free(s1);
	free(s2);
	free(s3);
	free(s4);
	putchar('\n');
	ctl_table_print(t);
	t = ctl_table_new(5, h4);
	if (cJSON_IsObject(a)) {
		time_t up = (time_t)cJSON_GetNumberValue(cJSON_GetObjectItem(a, "updated"));
		char when[32] = "-";

		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&up));
		s1 = S(a, "pid");
		s2 = S(a, "revision");
		s3 = S(a, "storeUp");
		ctl_table_row(t,
			      cJSON_IsTrue(cJSON_GetObjectItem(a, "running")) ? "running"
									      : "not running",
			      s1, s2, when, s3);
		free(s1);
		free(s2);
		free(s3);
	} else {
		ctl_table_row(t, "no status file", NULL, NULL, NULL, NULL);
	}
#undef S
	putchar('\n');
	ctl_table_print(t);
}

int ctl_status_node(struct ctl *c, const char *subnet_file, bool given, bool store_ok, cJSON *out)
{
	struct node_view v = {0};
	char *state = subnet_state_path(subnet_file);
	struct err e = {0};
	cJSON *j;
	int r;

	if (!state)
		return ctl_errorf("out of memory");
	r = subnet_state_read(state, &v.st, &e);
	free(state);
	if (r == -ENOENT && !given)
		return CTL_OK; /* not a node (or not up): the store view alone */
	if (r < 0) {
		if (r == -ENOENT)
			return ctl_errorf("no lease state beside %s: is the node up?", subnet_file);
		return ctl_error(&e);
	}
	gather(c, &v, subnet_file, store_ok);
	j = view_json(&v, subnet_file);
	if (out)
		cJSON_AddItemToObject(out, "node", j);
	else {
		view_table(j);
		cJSON_Delete(j);
	}
	cJSON_Delete(v.agent);
	cJSON_Delete(v.devices);
	cJSON_Delete(v.missing);
	cJSON_Delete(v.extra);
	return CTL_OK;
}
