// SPDX-License-Identifier: Apache-2.0
/* sluiced: the other nodes' leases as peers in the kernel. A listing (at start, after a
 * compacted watch or a lost one, after SIGHUP) rebuilds the table and reconciles the kernel
 * with it, leaving live peers untouched; each watch event then changes one peer's entries. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "base/log.h"
#include "overlay/peer.h"
#include "store/store.h"
#include "subnet/lease.h"
#include "subnet/netconf.h"
#include "sluiced.h"

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char end;
	int i;

	if (!s || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
			 &end) != 6)
		return -EINVAL;
	for (i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

static bool direct(struct agent *a, const struct ip_addr *ip)
{
	return a->conf.direct_routing && overlay_same_segment(&a->nl, a->id.ifindex, ip) > 0;
}

/* flanneld keeps the IPv6 VTEP MAC in BackendV6Data; sluice's leases use one MAC for both */
static const char *v6_mac(const struct subnet_lease *l)
{
	const cJSON *bd = subnet_json_get(l->attrs, "BackendV6Data");
	const cJSON *m = bd ? subnet_json_get(bd, "VtepMAC") : NULL;

	return cJSON_IsString(m) ? m->valuestring : l->vtep_mac;
}

/* l as a peer: 1 with *p filled, 0 when it is not one (logged) */
static int lease_peer(struct agent *a, const struct subnet_lease *l, struct agent_peer *p)
{
	memset(p, 0, sizeof(*p));
	switch (subnet_lease_is_peer(l)) {
	case SUBNET_PEER_OK:
		break;
	case SUBNET_PEER_UNREADABLE:
		log_warn("lease %s: unreadable, skipped", l->key);
		return 0;
	case SUBNET_PEER_BACKEND:
		log_info("lease %s: backend type '%s' is not vxlan, skipped", l->key,
			 l->backend_type);
		return 0;
	case SUBNET_PEER_NO_MAC:
		log_warn("lease %s: no readable VtepMAC, skipped", l->key);
		return 0;
	}
	(void)parse_mac(l->vtep_mac, p->p4.mac); /* subnet_lease_is_peer read it */
	p->p4.subnet = l->subnet;
	p->p4.public_ip = l->public_ip;
	p->p4.direct = direct(a, &l->public_ip);
	p->has4 = true;
	if (a->dev6 && l->subnet6.ip.family && l->public_ipv6.family &&
	    parse_mac(v6_mac(l), p->p6.mac) == 0) {
		p->p6.subnet = l->subnet6;
		p->p6.public_ip = l->public_ipv6;
		p->p6.direct = direct(a, &l->public_ipv6);
		p->has6 = true;
	}
	return 1;
}

static bool peer_eq(const struct overlay_peer *x, const struct overlay_peer *y)
{
	return x->subnet.len == y->subnet.len && ip_eq(&x->subnet.ip, &y->subnet.ip) &&
	       ip_eq(&x->public_ip, &y->public_ip) && x->direct == y->direct &&
	       (x->direct || !memcmp(x->mac, y->mac, 6));
}

static void note(void *data, const char *what)
{
	(void)data;
	/* a peer skipped for a shared VtepMAC: warned once by warn_dup_macs() */
	if (!strncmp(what, "skip ", 5))
		log_debug("peer %s", what);
	else
		log_info("peer %s", what);
}

/* overlay_peers_sync gives a VtepMAC to the last of the peers sharing it (listed in table
 * order) and skips the others: each is warned about once */
static void warn_dup_macs(struct agent *a, int family)
{
	for (size_t i = 0; i < a->npeers; i++) {
		struct agent_peer *p = &a->peers[i];
		const struct overlay_peer *x = family == AF_INET ? &p->p4 : &p->p6;

		if (p->dup_warned || !(family == AF_INET ? p->has4 : p->has6) || x->direct)
			continue;
		for (size_t j = i + 1; j < a->npeers; j++) {
			const struct agent_peer *q = &a->peers[j];
			const struct overlay_peer *y = family == AF_INET ? &q->p4 : &q->p6;

			if ((family == AF_INET ? q->has4 : q->has6) && !y->direct &&
			    !memcmp(x->mac, y->mac, 6)) {
				log_warn(
					"lease %s: its VtepMAC is lease %s's too: skipped (one FDB "
					"entry per MAC)",
					p->key, q->key);
				p->dup_warned = true;
				break;
			}
		}
	}
}

static void peer_log(const char *verb, const struct overlay_peer *p)
{
	char sn[IP_STRLEN], ip[IP_STRLEN];
	const uint8_t *m = p->mac;

	if (p->direct)
		log_info("peer %s %s via %s (direct)", verb, ip_prefix_fmt(&p->subnet, sn),
			 ip_fmt(&p->public_ip, ip));
	else
		log_info("peer %s %s via %s vtep %02x:%02x:%02x:%02x:%02x:%02x", verb,
			 ip_prefix_fmt(&p->subnet, sn), ip_fmt(&p->public_ip, ip), m[0], m[1], m[2],
			 m[3], m[4], m[5]);
}

/* Programs one family's change: old (may be NULL) replaced by new (may be NULL) */
static void apply_family(struct agent *a, int family, const struct overlay_peer *old,
			 const struct overlay_peer *new)
{
	struct overlay_where w;
	struct err e = {0};
	int r;

	agent_dev_where(a, family, &w);
	if (!w.dev || (old && new &&peer_eq(old, new)) || (!old && !new))
		return;
	/* a peer whose subnet changed is another peer: the old one goes */
	if (old && new &&
	    (old->subnet.len != new->subnet.len || !ip_eq(&old->subnet.ip, &new->subnet.ip)))
		r = overlay_peers_apply(&a->nl, &w, new, 1, old, 1, &e);
	else
		r = overlay_peers_apply(&a->nl, &w, new, new ? 1 : 0, new ? NULL : old, new ? 0 : 1,
					&e);
	if (r < 0) {
		log_error("peer %s: %s%s%s",
			  ip_prefix_fmt(new ? &new->subnet : &old->subnet, (char[IP_STRLEN]){0}),
			  e.msg, e.details[0] ? ": " : "", e.details);
		agent_schedule_resync(a); /* the monitor's resync tries again */
		return;
	}
	peer_log(new ? (old ? "replace" : "add") : "del", new ? new : old);
	a->status_dirty = true;
}

static ssize_t find(const struct agent *a, const char *key)
{
	for (size_t i = 0; i < a->npeers; i++)
		if (!strcmp(a->peers[i].key, key))
			return (ssize_t)i;
	return -1;
}

/* The table's peer of key becomes p (NULL: none) */
static void table_set(struct agent *a, const char *key, const struct agent_peer *p)
{
	ssize_t i = find(a, key);
	struct agent_peer *old = i >= 0 ? &a->peers[i] : NULL;

	if (old && p) {
		char *k = old->key;

		*old = *p;
		old->key = k;
		return;
	}
	if (old) {
		free(old->key);
		a->peers[i] = a->peers[--a->npeers];
		return;
	}
	if (!p)
		return;
	if (a->npeers == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		struct agent_peer *n = realloc(a->peers, cap * sizeof(*n));

		if (!n) {
			log_error("out of memory");
			return;
		}
		a->peers = n;
		a->cap = cap;
	}
	a->peers[a->npeers] = *p;
	a->peers[a->npeers].key = strdup(key);
	if (a->peers[a->npeers].key)
		a->npeers++;
}

/* The peer of key becomes p (NULL: none), in the kernel and in the table */
static void set_peer(struct agent *a, const char *key, const struct agent_peer *p)
{
	ssize_t i = find(a, key);
	struct agent_peer *old = i >= 0 ? &a->peers[i] : NULL;

	apply_family(a, AF_INET, old && old->has4 ? &old->p4 : NULL, p && p->has4 ? &p->p4 : NULL);
	apply_family(a, AF_INET6, old && old->has6 ? &old->p6 : NULL, p && p->has6 ? &p->p6 : NULL);
	table_set(a, key, p);
}

void agent_peers_free(struct agent *a)
{
	for (size_t i = 0; i < a->npeers; i++)
		free(a->peers[i].key);
	free(a->peers);
	a->peers = NULL;
	a->npeers = a->cap = 0;
}

static int sync_family(struct agent *a, int family)
{
	struct overlay_peer *want = calloc(a->npeers + 1, sizeof(*want));
	struct overlay_where w;
	struct err e = {0};
	size_t n = 0, i;
	int r;

	agent_dev_where(a, family, &w);
	if (!want)
		return -ENOMEM;
	for (i = 0; i < a->npeers; i++) {
		if (family == AF_INET && a->peers[i].has4)
			want[n++] = a->peers[i].p4;
		else if (family == AF_INET6 && a->peers[i].has6)
			want[n++] = a->peers[i].p6;
	}
	if (w.dev)
		warn_dup_macs(a, family);
	r = w.dev ? overlay_peers_sync(&a->nl, &w, want, n, note, a, &e) : 0;
	free(want);
	if (r < 0)
		log_error("syncing %s peers: %s%s%s", family == AF_INET ? "IPv4" : "IPv6", e.msg,
			  e.details[0] ? ": " : "", e.details);
	if (r > 0)
		a->status_dirty = true;
	return r;
}

int agent_resync(struct agent *a)
{
	int r, r4, r6 = 0;

	if (!a->have_lease)
		return 0;
	r = agent_dataplane(a);
	if (!a->listed)
		return r;
	r4 = sync_family(a, AF_INET);
	if (a->dev6)
		r6 = sync_family(a, AF_INET6);
	return r < 0 ? r : r4 < 0 ? r4 : r6 < 0 ? r6 : 0;
}

/* Our own lease in a listing: still ours? (renewals move its mod_rev) */
static void check_own(struct agent *a, const struct subnet_lease *ls, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(ls[i].key, a->lease.key)) {
			if (ls[i].readable && ip_eq(&ls[i].public_ip, &a->lease.public_ip))
				return;
			break;
		}
	log_warn("lease %s is gone or taken: acquiring again", a->lease.key);
	agent_need_now(a, AGENT_NEED_REACQUIRE);
}

int agent_relist(struct agent *a)
{
	struct subnet_lease *ls = NULL;
	struct agent_peer p;
	struct err e = {0};
	int64_t rev = 0;
	int n, i;

	n = subnet_list(a->store, a->o.prefix, &ls, &rev, &e);
	if (n < 0) {
		agent_store_failed(a, "list the leases", &e);
		return n;
	}
	agent_store_ok(a);
	agent_peers_free(a);
	a->listed = true;
	for (i = 0; i < n; i++) {
		if (!strcmp(ls[i].key, a->lease.key))
			continue;
		/* the table only: the sync below programs what differs */
		if (lease_peer(a, &ls[i], &p) > 0)
			table_set(a, ls[i].key, &p);
	}
	check_own(a, ls, (size_t)n);
	subnet_leases_free(ls, (size_t)n);
	if (agent_resync(a) < 0)
		agent_schedule_resync(a); /* retried with backoff (main.c) */
	if (a->watch)
		store_watch_close(a->watch);
	a->watch = store_watch_open(a->store, a->subnets, rev + 1, &e);
	if (!a->watch) {
		agent_store_failed(a, "watch the leases", &e);
		return -EIO;
	}
	a->watch_gen++;
	a->rev = rev;
	a->status_dirty = true;
	log_debug("listed %d leases at revision %lld, watching from %lld", n, (long long)rev,
		  (long long)rev + 1);
	return 0;
}

static void on_event(struct agent *a, const struct store_event *ev)
{
	struct subnet_lease l = {0};
	struct agent_peer p;

	if (subnet_lease_from_kv(&ev->kv, a->o.prefix, &l) <= 0)
		goto out;
	if (a->have_lease && !strcmp(l.key, a->lease.key)) {
		if (subnet_event_revokes(&a->lease, ev)) {
			log_warn("lease %s was %s: acquiring again", l.key,
				 ev->type == STORE_EV_DELETE ? "deleted or expired" : "taken");
			agent_need_now(a, AGENT_NEED_REACQUIRE);
		}
		goto out;
	}
	if (ev->type == STORE_EV_PUT && lease_peer(a, &l, &p) > 0)
		set_peer(a, l.key, &p);
	else if (find(a, l.key) >= 0)
		set_peer(a, l.key, NULL);
out:
	subnet_lease_done(&l);
}

int agent_watch_drain(struct agent *a, int *timeout_ms)
{
	struct store_event ev;
	struct err e = {0};
	int r, n = 0;

	*timeout_ms = -1;
	while (a->watch) {
		memset(&ev, 0, sizeof(ev));
		r = store_watch_next(a->watch, &ev, timeout_ms, &e);
		if (r == 0)
			break;
		if (r == -ESTALE) {
			log_warn("watch from revision %lld was compacted: listing again",
				 (long long)a->rev + 1);
			store_watch_close(a->watch);
			a->watch = NULL;
			if (agent_relist(a) < 0)
				agent_schedule_retry(a, AGENT_NEED_RELIST);
			continue;
		}
		if (r < 0) {
			agent_store_failed(a, "watch the leases", &e);
			store_watch_close(a->watch);
			a->watch = NULL;
			agent_schedule_retry(a, AGENT_NEED_RELIST);
			return r;
		}
		n++;
		on_event(a, &ev);
		if (ev.kv.mod_rev > a->rev)
			a->rev = ev.kv.mod_rev;
		a->status_dirty = true;
		store_event_free(&ev);
	}
	if (a->watch && store_watch_rev(a->watch) > a->rev) {
		a->rev = store_watch_rev(a->watch);
		a->status_dirty = true;
	}
	/* events came: the store is there */
	if (n && (!a->store_up || a->last_err_class == 1))
		agent_store_ok(a);
	else if (n)
		a->contact_ms = agent_now_ms();
	return n;
}
