// SPDX-License-Identifier: Apache-2.0
/* A node's lease: acquire (flanneld's AcquireLease and tryAcquireLease), renew, release and
 * revocation, each write conditioned on the store's revisions. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "subnet/lease.h"
#include "subnet/netconf.h"
#include "base/err.h"
#include "store/store.h"

/* Writes l (value from l and its attrs) under cond if_rev with ttl (0: none). Returns as
 * store_put; on success l->mod_rev, create_rev and ttl follow. */
static int write_lease(struct store *s, struct subnet_lease *l, int64_t if_rev, int64_t ttl,
		       struct err *err)
{
	struct store_put o = {.if_rev = if_rev, .ttl = ttl};
	char *v = subnet_lease_value(l);
	int64_t rev = 0;
	int r;

	if (!v)
		return err_fail(err, CNI_ERR_INTERNAL, -ENOMEM, "lease: out of memory");
	r = store_put(s, l->key, v, strlen(v), &o, &rev, NULL, err);
	free(v);
	if (r > 0) {
		l->mod_rev = rev;
		if (if_rev == STORE_ABSENT)
			l->create_rev = rev;
		l->ttl = ttl ? ttl : -1;
		l->lease = 0; /* a new one on etcd, its ID not in put's answer; ttl is known */
	}
	return r;
}

static void set_node(struct subnet_lease *l, const struct subnet_node *n, uint32_t vni)
{
	l->public_ip = n->public_ip;
	l->public_ipv6 = n->public_ipv6;
	l->vni = vni;
	l->readable = true;
	snprintf(l->backend_type, sizeof(l->backend_type), "vxlan");
	if (n->vtep_mac && n->vtep_mac[0])
		snprintf(l->vtep_mac, sizeof(l->vtep_mac), "%s", n->vtep_mac);
	if (n->node_name && n->node_name[0])
		snprintf(l->node_name, sizeof(l->node_name), "%s", n->node_name);
}

static int move_out(struct subnet_lease *from, struct subnet_lease *ret)
{
	*ret = *from;
	from->attrs = NULL;
	from->key = NULL;
	return 0;
}

/* Another lease, created before ours, overlapping it: two nodes claimed overlapping keys
 * at once (dual-stack keys differ in their IPv6 half; a changed SubnetLen), and create-if-
 * absent on different keys cannot tell. The earlier creation wins. */
static int lost_overlap(struct store *s, const char *prefix, const struct subnet_lease *mine,
			struct err *err)
{
	struct subnet_lease *ls = NULL;
	int n = subnet_list(s, prefix, &ls, NULL, err), i, lost = 0;

	for (i = 0; i < n && !lost; i++) {
		const struct subnet_lease *o = &ls[i];

		if (!strcmp(o->key, mine->key) || o->create_rev >= mine->create_rev)
			continue;
		lost = ip_prefix_overlaps(&o->subnet, &mine->subnet) ||
		       (o->subnet6.ip.family && mine->subnet6.ip.family &&
			ip_prefix_overlaps(&o->subnet6, &mine->subnet6));
	}
	subnet_leases_free(ls, n > 0 ? (size_t)n : 0);
	return n < 0 ? n : lost;
}

static int reuse_own(struct store *s, const struct subnet_conf *c, const struct subnet_node *n,
		     int64_t ttl, struct subnet_lease *own, struct subnet_lease *ret,
		     struct err *err)
{
	int r;

	set_node(own, n, c->vni);
	/* a reservation (a key without a TTL) stays one, as in flanneld */
	r = write_lease(s, own, own->mod_rev, subnet_lease_reserved(own) ? 0 : ttl, err);
	if (r <= 0)
		return r;
	move_out(own, ret);
	return SUBNET_REUSED;
}

static int claim(struct store *s, const char *prefix, const struct subnet_conf *c,
		 const struct subnet_node *n, int64_t ttl, struct subnet_lease *l,
		 struct subnet_lease *ret, struct err *err)
{
	char name[2 * IP_STRLEN + 16];
	int r;

	subnet_key_name(&l->subnet, &l->subnet6, name, sizeof(name));
	if (asprintf(&l->key, "%.*s/subnets/%s", (int)subnet_prefix_len(prefix), prefix, name) <
	    0) {
		l->key = NULL;
		return err_fail(err, CNI_ERR_INTERNAL, -ENOMEM, "lease: out of memory");
	}
	set_node(l, n, c->vni);
	r = write_lease(s, l, STORE_ABSENT, ttl, err);
	if (r <= 0)
		return r;
	r = lost_overlap(s, prefix, l, err);
	if (r != 0) {
		(void)store_delete(s, l->key, l->mod_rev, NULL, err);
		return r < 0 ? r : 0;
	}
	move_out(l, ret);
	return 1;
}

static int no_free(const struct subnet_conf *c, bool v6, size_t nleases, struct err *err)
{
	char a[IP_STRLEN], b[IP_STRLEN];

	return err_fail(err, CNI_ERR_NO_ADDRESS, -ENOSPC,
			"no free subnet: every /%u between %s and %s is leased (%zu leases)",
			v6 ? c->ipv6_subnet_len : c->subnet_len,
			ip_fmt(v6 ? &c->ipv6_subnet_min : &c->subnet_min, a),
			ip_fmt(v6 ? &c->ipv6_subnet_max : &c->subnet_max, b), nleases);
}

/* The previous subnet (subnet.env) when it is compatible and nobody holds it */
static bool prev_free(const struct subnet_conf *c, const struct subnet_acquire_opts *o,
		      const struct subnet_lease *ls, size_t n)
{
	size_t i;

	if (!o || !o->prev.ip.family || !subnet_conf_compat(c, &o->prev, &o->prev6))
		return false;
	for (i = 0; i < n; i++)
		if (ip_prefix_overlaps(&ls[i].subnet, &o->prev) ||
		    (o->prev6.ip.family && ls[i].subnet6.ip.family &&
		     ip_prefix_overlaps(&ls[i].subnet6, &o->prev6)))
			return false;
	return true;
}

static int try_acquire(struct store *s, const char *prefix, const struct subnet_conf *c,
		       const struct subnet_node *n, const struct subnet_acquire_opts *o,
		       int64_t ttl, struct subnet_lease *ls, size_t nls, struct subnet_lease *ret,
		       struct err *err)
{
	struct subnet_lease l = {0};
	int how = SUBNET_NEW, r;
	size_t i;

	for (i = 0; i < nls; i++) {
		if (!ls[i].readable || !ip_eq(&ls[i].public_ip, &n->public_ip))
			continue;
		if (subnet_conf_compat(c, &ls[i].subnet, &ls[i].subnet6))
			return reuse_own(s, c, n, ttl, &ls[i], ret, err);
		/* the node's lease from another config: flanneld deletes it and allocates */
		r = store_delete(s, ls[i].key, ls[i].mod_rev, NULL, err);
		if (r <= 0)
			return r;
		if (!n->vtep_mac || !n->vtep_mac[0])
			snprintf(l.vtep_mac, sizeof(l.vtep_mac), "%s", ls[i].vtep_mac);
		/* its subnet is free now (flanneld's stale list would still count it) */
		ls[i].subnet.ip.family = 0;
		ls[i].subnet6.ip.family = 0;
		break;
	}
	if (prev_free(c, o, ls, nls)) {
		l.subnet = o->prev;
		l.subnet6 = c->enable_ipv6 ? o->prev6 : (struct ip_prefix){0};
		how = SUBNET_PREVIOUS;
	} else {
		r = subnet_pick_free(AF_INET, &c->subnet_min, &c->subnet_max, c->subnet_len, ls,
				     nls, false, o, &l.subnet);
		if (r < 0)
			return no_free(c, false, nls, err);
		if (c->enable_ipv6 &&
		    subnet_pick_free(AF_INET6, &c->ipv6_subnet_min, &c->ipv6_subnet_max,
				     c->ipv6_subnet_len, ls, nls, true, o, &l.subnet6) < 0)
			return no_free(c, true, nls, err);
	}
	r = claim(s, prefix, c, n, ttl, &l, ret, err);
	subnet_lease_done(&l);
	return r > 0 ? how : r;
}

int subnet_acquire(struct store *s, const char *prefix, const struct subnet_conf *c,
		   const struct subnet_node *n, const struct subnet_acquire_opts *o,
		   struct subnet_lease *ret, struct err *err)
{
	int64_t ttl = o && o->ttl > 0 ? o->ttl : SUBNET_TTL_DEFAULT;
	struct subnet_lease *ls = NULL;
	int i, r = 0, nls;

	if (n->public_ip.family != AF_INET)
		return err_fail(err, CNI_ERR_CONFIG, -EINVAL,
				"lease: the node needs an IPv4 PublicIP");
	if (c->enable_ipv6 && n->public_ipv6.family != AF_INET6)
		return err_fail(err, CNI_ERR_CONFIG, -EINVAL,
				"lease: EnableIPv6 is set: the node needs an IPv6 PublicIPv6");
	for (i = 0; i < SUBNET_RACE_RETRIES; i++) {
		nls = subnet_list(s, prefix, &ls, NULL, err);
		if (nls < 0)
			return nls;
		r = try_acquire(s, prefix, c, n, o, ttl, ls, (size_t)nls, ret, err);
		subnet_leases_free(ls, (size_t)nls);
		if (r != 0)
			return r;
	}
	return err_fail(err, CNI_ERR_TRY_AGAIN, -EAGAIN,
			"lost the race for a subnet %d times to other nodes; try again",
			SUBNET_RACE_RETRIES);
}

int subnet_find_own(struct store *s, const char *prefix, const struct ip_addr *public_ip,
		    struct subnet_lease *ret, struct err *err)
{
	struct subnet_lease *ls = NULL;
	int n = subnet_list(s, prefix, &ls, NULL, err), i, found = 0;

	for (i = 0; i < n && !found; i++)
		if (ls[i].readable && ip_eq(&ls[i].public_ip, public_ip))
			found = !move_out(&ls[i], ret);
	subnet_leases_free(ls, n > 0 ? (size_t)n : 0);
	return n < 0 ? n : found;
}

int subnet_renew(struct store *s, struct subnet_lease *l, int64_t ttl, struct err *err)
{
	if (ttl <= 0)
		ttl = SUBNET_TTL_DEFAULT;
	return write_lease(s, l, l->mod_rev, subnet_lease_reserved(l) ? 0 : ttl, err);
}

int64_t subnet_renew_after(int64_t ttl, int64_t margin)
{
	if (margin > ttl / 3)
		margin = ttl / 3;
	/* a margin of 0 (or a TTL under 3 s) would renew at the expiry itself */
	if (margin < 1)
		margin = 1;
	return ttl > margin ? ttl - margin : 0;
}

int subnet_release(struct store *s, const struct subnet_lease *l, struct err *err)
{
	return store_delete(s, l->key, l->mod_rev, NULL, err);
}

int subnet_lease_check(struct store *s, const struct subnet_lease *l, struct err *err)
{
	struct store_kv kv = {0};
	struct subnet_lease cur = {0};
	struct err e = {0};
	int r = store_get(s, l->key, &kv, NULL, err);

	if (r <= 0)
		return r;
	r = subnet_lease_parse_value(kv.value, kv.value_len, &cur, &e) == 0 &&
	    ip_eq(&cur.public_ip, &l->public_ip);
	subnet_lease_done(&cur);
	store_kv_free(&kv);
	return r;
}

bool subnet_event_revokes(const struct subnet_lease *l, const struct store_event *ev)
{
	struct subnet_lease cur = {0};
	struct err e = {0};
	bool revoked;

	if (!ev->kv.key || strcmp(ev->kv.key, l->key))
		return false;
	if (ev->type == STORE_EV_DELETE)
		return true;
	revoked = subnet_lease_parse_value(ev->kv.value, ev->kv.value_len, &cur, &e) < 0 ||
		  !ip_eq(&cur.public_ip, &l->public_ip);
	subnet_lease_done(&cur);
	return revoked;
}
