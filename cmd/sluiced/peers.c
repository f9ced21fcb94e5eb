// SPDX-License-Identifier: Apache-2.0
/* sluiced: the other nodes' leases as peers in the kernel. A listing (at start, after a
 * compacted watch or a lost one, after SIGHUP) rebuilds the table and reconciles the kernel
 * with it, leaving live peers untouched; then the watch events ready at one wake-up go into
 * the table, and the peers they changed into the kernel in one batch per family (a key's
 * later events supersede its earlier ones; one log line per peer changed). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <linux/rtnetlink.h>

#include "base/err.h"
#include "base/log.h"
#include "base/mac.h"
#include "netlink/nl_route.h"
#include "overlay/peer.h"
#include "store/store.h"
#include "subnet/lease.h"
#include "subnet/netconf.h"
#include "sluiced.h"

static int seg_add(const struct nl_addr *ad, void *data)
{
	struct agent_segs *s = data;

	if (ad->scope != RT_SCOPE_UNIVERSE)
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 8;
		struct ip_prefix *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = ad->prefix;
	return 0;
}

/* The underlay's addresses are read again by the next lease that needs them */
static void segs_forget(struct agent *a)
{
	a->segs.n = 0;
	a->segs.read4 = a->segs.read6 = false;
}

/* flannel's ip.DirectRouting: ip lies in a prefix of one of the underlay's global addresses
 * (as overlay_same_segment(), with the addresses dumped once per family until forgotten) */
static bool direct(struct agent *a, const struct ip_addr *ip)
{
	struct agent_segs *s = &a->segs;
	bool *read = ip->family == AF_INET ? &s->read4 : &s->read6;
	bool *ok = ip->family == AF_INET ? &s->ok4 : &s->ok6;

	if (!a->conf.direct_routing || a->id.ifindex <= 0 ||
	    (ip->family != AF_INET && ip->family != AF_INET6))
		return false;
	if (!*read) {
		size_t n0 = s->n;
		int r, tries = 0;

		do {
			s->n = n0;
			r = nl_addr_dump(&a->nl, a->id.ifindex, ip->family, seg_add, s);
		} while (r == -EINTR && ++tries < 5);
		/* a failed dump is tried again by the next lease, rather than every lease of
		 * this drain taken as off the segment */
		if (r < 0)
			s->n = n0;
		*read = r >= 0;
		*ok = r >= 0;
	}
	for (size_t i = 0; *ok && i < s->n; i++)
		if (s->v[i].ip.family == ip->family && ip_prefix_contains(&s->v[i], ip))
			return true;
	return false;
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
	(void)mac_parse(l->vtep_mac, p->p4.mac); /* subnet_lease_is_peer read it */
	p->p4.subnet = l->subnet;
	p->p4.public_ip = l->public_ip;
	p->p4.direct = direct(a, &l->public_ip);
	p->has4 = true;
	if (a->dev6 && l->subnet6.ip.family && l->public_ipv6.family &&
	    mac_parse(v6_mac(l), p->p6.mac) == 0) {
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
	char sn[IP_STRLEN], ip[IP_STRLEN], m[MAC_STRLEN];

	if (p->direct)
		log_info("peer %s %s via %s (direct)", verb, ip_prefix_fmt(&p->subnet, sn),
			 ip_fmt(&p->public_ip, ip));
	else
		log_info("peer %s %s via %s vtep %s", verb, ip_prefix_fmt(&p->subnet, sn),
			 ip_fmt(&p->public_ip, ip), mac_fmt(p->mac, m));
}

#define KX_NONE UINT32_MAX

static const char *kx_key(const void *base, size_t stride, size_t i)
{
	return *(char *const *)((const char *)base + i * stride);
}

static size_t kx_hash(const struct agent_keyidx *x, const char *key)
{
	uint32_t h = 2166136261U; /* FNV-1a */

	for (; *key; key++)
		h = (h ^ (uint8_t)*key) * 16777619U;
	return h & (x->hcap - 1);
}

static void kx_free(struct agent_keyidx *x)
{
	free(x->head);
	free(x->next);
	memset(x, 0, sizeof(*x));
}

static void kx_link(struct agent_keyidx *x, const void *base, size_t stride, size_t i)
{
	size_t h = kx_hash(x, kx_key(base, stride, i));

	x->next[i] = x->head[h];
	x->head[h] = (uint32_t)i;
}

static void kx_unlink(struct agent_keyidx *x, const void *base, size_t stride, size_t i)
{
	uint32_t *p = &x->head[kx_hash(x, kx_key(base, stride, i))];

	while (*p != KX_NONE && *p != i)
		p = &x->next[*p];
	if (*p == i)
		*p = x->next[i];
}

/* Makes room for n elements base[0..n) (all indexed again when the chains grow) */
static int kx_reserve(struct agent_keyidx *x, const void *base, size_t stride, size_t n)
{
	size_t hcap = x->hcap ? x->hcap : 64, i;
	uint32_t *head, *next;

	if (n <= x->ncap && n <= x->hcap / 2)
		return 0;
	while (hcap < 2 * n)
		hcap *= 2;
	if (n > x->ncap) {
		size_t ncap = hcap / 2;

		if (!(next = realloc(x->next, ncap * sizeof(*next))))
			return -ENOMEM;
		x->next = next;
		x->ncap = ncap;
	}
	if (hcap == x->hcap)
		return 0;
	if (!(head = malloc(hcap * sizeof(*head))))
		return -ENOMEM;
	free(x->head);
	x->head = head;
	x->hcap = hcap;
	memset(head, 0xff, hcap * sizeof(*head));
	for (i = 0; i + 1 < n; i++) /* element n - 1 is the caller's to link */
		kx_link(x, base, stride, i);
	return 0;
}

static ssize_t kx_find(const struct agent_keyidx *x, const void *base, size_t stride,
		       const char *key)
{
	uint32_t i;

	if (!x->hcap)
		return -1;
	for (i = x->head[kx_hash(x, key)]; i != KX_NONE; i = x->next[i])
		if (!strcmp(kx_key(base, stride, i), key))
			return (ssize_t)i;
	return -1;
}

static ssize_t find(const struct agent *a, const char *key)
{
	return kx_find(&a->pidx, a->peers, sizeof(*a->peers), key);
}

/* The table's peer of key becomes p (NULL: none) */
static void table_set(struct agent *a, const char *key, const struct agent_peer *p)
{
	const size_t st = sizeof(*a->peers);
	ssize_t i = find(a, key);
	struct agent_peer *old = i >= 0 ? &a->peers[i] : NULL;
	size_t last = a->npeers - 1;

	a->peers_gen++;

	if (old && p) {
		char *k = old->key;

		*old = *p;
		old->key = k;
		return;
	}
	if (old) {
		/* the last peer moves into the hole */
		kx_unlink(&a->pidx, a->peers, st, (size_t)i);
		if ((size_t)i != last)
			kx_unlink(&a->pidx, a->peers, st, last);
		free(old->key);
		a->peers[i] = a->peers[last];
		a->npeers--;
		if ((size_t)i != last)
			kx_link(&a->pidx, a->peers, st, (size_t)i);
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
	if (!a->peers[a->npeers].key || kx_reserve(&a->pidx, a->peers, st, a->npeers + 1) < 0) {
		free(a->peers[a->npeers].key);
		log_error("out of memory");
		return;
	}
	kx_link(&a->pidx, a->peers, st, a->npeers);
	a->npeers++;
}

/* The peers changed by the events of one drain: each key's state before the first of them,
 * so that later events on a key supersede earlier ones and the kernel gets one batch. */
struct batch_old {
	char *key;
	struct agent_peer old; /* key unused */
	bool had;
};

struct batch {
	struct batch_old *v;
	size_t n, cap;
	struct agent_keyidx idx;
};

static void batch_free(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->v[i].key);
	free(b->v);
	kx_free(&b->idx);
	memset(b, 0, sizeof(*b));
}

/* Notes key's table state before it changes (once per drain). -ENOMEM when it cannot. */
static int batch_note(struct batch *b, const struct agent *a, const char *key)
{
	ssize_t i;

	if (kx_find(&b->idx, b->v, sizeof(*b->v), key) >= 0)
		return 0;
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		struct batch_old *n = realloc(b->v, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		b->v = n;
		b->cap = cap;
	}
	memset(&b->v[b->n], 0, sizeof(b->v[b->n]));
	if (!(b->v[b->n].key = strdup(key)))
		return -ENOMEM;
	if (kx_reserve(&b->idx, b->v, sizeof(*b->v), b->n + 1) < 0) {
		free(b->v[b->n].key);
		return -ENOMEM;
	}
	kx_link(&b->idx, b->v, sizeof(*b->v), b->n);
	i = find(a, key);
	if (i >= 0) {
		b->v[b->n].old = a->peers[i];
		b->v[b->n].old.key = NULL;
		b->v[b->n].had = true;
	}
	b->n++;
	return 0;
}

/* One family's changes of the batch in one overlay_peers_apply: each changed peer's new
 * state in add[], its old one in del[] (the same subnet: only what the new one does not
 * replace goes, without a gap; another subnet: the old peer goes). */
static void batch_apply_family(struct agent *a, const struct batch *b, int family)
{
	struct overlay_peer *add, *del;
	const struct overlay_peer **logp;
	const char **verb;
	struct overlay_where w;
	struct err e = {0};
	size_t na = 0, nd = 0, nl = 0, i;
	int r;

	agent_dev_where(a, family, &w);
	if (!w.dev || !b->n)
		return;
	add = calloc(b->n, sizeof(*add));
	del = calloc(b->n, sizeof(*del));
	logp = calloc(b->n, sizeof(*logp));
	verb = calloc(b->n, sizeof(*verb));
	if (!add || !del || !logp || !verb) {
		log_error("out of memory programming peers");
		agent_schedule_resync(a);
		goto out;
	}
	for (i = 0; i < b->n; i++) {
		ssize_t k = find(a, b->v[i].key);
		const struct agent_peer *o = b->v[i].had ? &b->v[i].old : NULL;
		const struct agent_peer *c = k >= 0 ? &a->peers[k] : NULL;
		const struct overlay_peer *op = NULL, *np = NULL;

		if (o && (family == AF_INET ? o->has4 : o->has6))
			op = family == AF_INET ? &o->p4 : &o->p6;
		if (c && (family == AF_INET ? c->has4 : c->has6))
			np = family == AF_INET ? &c->p4 : &c->p6;
		if ((!op && !np) || (op && np && peer_eq(op, np)))
			continue;
		if (np)
			add[na++] = *np;
		if (op)
			del[nd++] = *op;
		logp[nl] = np ? np : op;
		verb[nl++] = np ? (op ? "replace" : "add") : "del";
	}
	if (!na && !nd)
		goto out;
	r = overlay_peers_apply(&a->nl, &w, add, na, del, nd, &e);
	if (r < 0) {
		log_error("programming %zu %s peer change%s: %s%s%s", nl,
			  family == AF_INET ? "IPv4" : "IPv6", nl == 1 ? "" : "s", e.msg,
			  e.details[0] ? ": " : "", e.details);
		agent_schedule_resync(a); /* the monitor's resync tries again */
		goto out;
	}
	log_debug("%zu %s peer change%s programmed in one batch", nl,
		  family == AF_INET ? "IPv4" : "IPv6", nl == 1 ? "" : "s");
	/* (formatting a thousand lines that are not logged costs half a millisecond) */
	for (i = 0; i < nl && log_enabled(LOG_LEVEL_INFO); i++)
		peer_log(verb[i], logp[i]);
	a->status_dirty = true;
out:
	free(add);
	free(del);
	free(logp);
	free(verb);
}

/* Changes from this many peers on, what the burst freed goes back to the system (main.c,
 * once the status file is written) */
#define AGENT_TRIM_AFTER 64

static void batch_apply(struct agent *a, struct batch *b)
{
	size_t n = b->n;

	batch_apply_family(a, b, AF_INET);
	batch_apply_family(a, b, AF_INET6);
	batch_free(b);
	if (n >= AGENT_TRIM_AFTER)
		a->trim = true;
}

void agent_peers_free(struct agent *a)
{
	for (size_t i = 0; i < a->npeers; i++)
		free(a->peers[i].key);
	free(a->peers);
	a->peers = NULL;
	a->npeers = a->cap = 0;
	a->peers_gen++;
	kx_free(&a->pidx);
	agent_macidx_free(&a->macidx);
	free(a->segs.v);
	memset(&a->segs, 0, sizeof(a->segs));
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

	segs_forget(a);
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
	if (n >= AGENT_TRIM_AFTER)
		a->trim = true; /* the listing's leases and the kernel's dump are freed */
	if (a->watch)
		store_watch_close(a->watch);
	a->watch_gen++; /* closed: main.c's follow() never DELs its fd number */
	a->watch = store_watch_open(a->store, a->subnets, rev + 1, &e);
	if (!a->watch) {
		agent_store_failed(a, "watch the leases", &e);
		return -EIO;
	}
	a->rev = rev;
	a->status_dirty = true;
	log_debug("listed %d leases at revision %lld, watching from %lld", n, (long long)rev,
		  (long long)rev + 1);
	return 0;
}

/* The event's change goes into the table, and the key's old state into b */
static void on_event(struct agent *a, const struct store_event *ev, struct batch *b)
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
	if (ev->type == STORE_EV_PUT && lease_peer(a, &l, &p) > 0) {
		if (batch_note(b, a, l.key) < 0) {
			log_error("out of memory");
			agent_schedule_resync(a); /* the table is right: the resync programs it */
		}
		table_set(a, l.key, &p);
	} else if (find(a, l.key) >= 0) {
		if (batch_note(b, a, l.key) < 0) {
			log_error("out of memory");
			agent_schedule_resync(a);
		}
		table_set(a, l.key, NULL);
	}
out:
	subnet_lease_done(&l);
}

int agent_watch_drain(struct agent *a, int *timeout_ms)
{
	struct batch b = {0};
	struct store_event ev;
	struct err e = {0};
	int r, n = 0;

	*timeout_ms = -1;
	segs_forget(a);
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
			a->watch_gen++;
			/* the listing rebuilds the table and syncs the kernel with it */
			batch_free(&b);
			if (agent_relist(a) < 0)
				agent_schedule_retry(a, AGENT_NEED_RELIST);
			continue;
		}
		if (r < 0) {
			agent_store_failed(a, "watch the leases", &e);
			store_watch_close(a->watch);
			a->watch = NULL;
			a->watch_gen++;
			agent_schedule_retry(a, AGENT_NEED_RELIST);
			batch_apply(a, &b);
			return r;
		}
		n++;
		on_event(a, &ev, &b);
		if (ev.kv.mod_rev > a->rev)
			a->rev = ev.kv.mod_rev;
		a->status_dirty = true;
		store_event_free(&ev);
	}
	/* every event ready is in: one batch per family for all of them */
	batch_apply(a, &b);
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
