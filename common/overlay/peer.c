// SPDX-License-Identifier: Apache-2.0
/* Peers in the kernel, Flannel's way (peer.h): per VXLAN peer a neighbour, an FDB entry and
 * an onlink route, queued into one netlink batch so that a thousand peers cost a few
 * sendmsg() calls; read back and joined into peers; synced by diffing against the wanted
 * set so that a correct peer is never touched. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include "overlay/peer.h"
#include "base/err.h"
#include "base/ip.h"
#include "base/mac.h"
#include "netlink/nl.h"
#include "netlink/nl_route.h"

/* What one operation does to the kernel. */
enum op_kind {
	OP_ADD, /* program a peer (replace semantics) */
	OP_DEL, /* remove the entries of a peer named in has */
};

/* Entries a peer has in the kernel (or that an OP_DEL removes). */
enum {
	HAS_NEIGH = 1U << 0,
	HAS_FDB = 1U << 1,
	HAS_ROUTE = 1U << 2, /* on the VXLAN device */
	HAS_DIRECT = 1U << 3, /* OVERLAY_RTPROT route on the underlay */
};

/* One request of an op. An op's requests are of increasing kinds, in the order they go to
 * the kernel when the op is alone. */
enum req_kind {
	RQ_NEIGH, /* a VXLAN add: neighbour, FDB entry, route (Flannel's order) */
	RQ_FDB,
	RQ_ROUTE,
	RQ_DIRECT, /* a direct add: its route, then what a VXLAN peer had */
	RQ_DIRECT_NEIGH_DEL,
	RQ_DIRECT_FDB_DEL,
	RQ_DEL_DIRECT, /* a del: the reverse order */
	RQ_DEL_ROUTE,
	RQ_DEL_FDB,
	RQ_DEL_NEIGH,
	RQ_KINDS,
};

struct op {
	enum op_kind kind;
	unsigned int has; /* OP_DEL: which entries */
	struct overlay_peer p;
	size_t req[4]; /* its requests' places in the batch, in the op's order */
	unsigned int nreq;
	const char *verb; /* for the note: "add", "replace", "remove", "remove stray" */
};

static bool mac_zero(const uint8_t mac[6])
{
	static const uint8_t zero[6];

	return !memcmp(mac, zero, 6);
}

static struct ip_addr net_of(const struct ip_prefix *p)
{
	return ip_prefix_network(p);
}

/* "10.244.2.0/24 via 192.168.0.12 vtep 02:..." or "... direct" */
static void peer_fmt(const struct overlay_peer *p, char *buf, size_t len)
{
	char s[IP_STRLEN] = "?", ip[IP_STRLEN] = "?", m[MAC_STRLEN];

	if (p->subnet.ip.family)
		ip_prefix_fmt(&p->subnet, s);
	if (p->public_ip.family)
		ip_fmt(&p->public_ip, ip);
	if (p->direct)
		snprintf(buf, len, "%s via %s direct", s, ip);
	else
		snprintf(buf, len, "%s via %s vtep %s", s, ip, mac_fmt(p->mac, m));
}

static int peer_check(const struct overlay_where *w, const struct overlay_peer *p, bool add,
		      struct err *err)
{
	char s[160];

	if (p->subnet.ip.family == w->family && p->subnet.len <= ip_bits(w->family) &&
	    (p->public_ip.family == w->family || (!add && !p->public_ip.family)) &&
	    (!add || p->direct || !mac_zero(p->mac)))
		return 0;
	peer_fmt(p, s, sizeof(s));
	return err_fail(err, CNI_ERR_CONFIG, -EINVAL, "peer %s: subnet and public IP must be %s%s",
			s, w->family == AF_INET ? "IPv4" : "IPv6",
			add && !p->direct ? ", with a VTEP MAC" : "");
}

static struct nl_route vxlan_route(const struct overlay_where *w, const struct overlay_peer *p)
{
	struct nl_route rt = {
		.family = w->family,
		.dst = {.ip = net_of(&p->subnet), .len = p->subnet.len},
		.gw = net_of(&p->subnet),
		.oif = w->dev,
		.protocol = OVERLAY_RTPROT,
		.flags = RTNH_F_ONLINK,
	};

	return rt;
}

static struct nl_route direct_route(const struct overlay_where *w, const struct overlay_peer *p)
{
	struct nl_route rt = {
		.family = w->family,
		.dst = {.ip = net_of(&p->subnet), .len = p->subnet.len},
		.gw = p->public_ip,
		.oif = w->underlay,
		.protocol = OVERLAY_RTPROT,
	};

	return rt;
}

static struct nl_neigh vxlan_neigh(const struct overlay_where *w, const struct overlay_peer *p)
{
	struct nl_neigh n = {
		.has = NL_NEIGH_HAS_MAC,
		.family = w->family,
		.ifindex = w->dev,
		.ip = net_of(&p->subnet),
		.state = NUD_PERMANENT,
	};

	memcpy(n.mac, p->mac, 6);
	return n;
}

/* The kinds of op's requests, in order; returns how many. Adds: Flannel's order, neighbour,
 * FDB, then the route, so that the route never resolves its gateway through ARP; a direct
 * peer gets its route (replacing a VXLAN route to the same subnet) and loses a neighbour
 * and, when its MAC is given (a lease names it even with DirectRouting), the FDB entry it
 * may have had. Deletes: the reverse order. */
static unsigned int op_kinds(const struct op *o, enum req_kind k[4])
{
	unsigned int n = 0;

	if (o->kind == OP_ADD && !o->p.direct) {
		k[n++] = RQ_NEIGH;
		k[n++] = RQ_FDB;
		k[n++] = RQ_ROUTE;
	} else if (o->kind == OP_ADD) {
		k[n++] = RQ_DIRECT;
		k[n++] = RQ_DIRECT_NEIGH_DEL;
		if (!mac_zero(o->p.mac))
			k[n++] = RQ_DIRECT_FDB_DEL;
	} else {
		if (o->has & HAS_DIRECT)
			k[n++] = RQ_DEL_DIRECT;
		if (o->has & HAS_ROUTE)
			k[n++] = RQ_DEL_ROUTE;
		if (o->has & HAS_FDB)
			k[n++] = RQ_DEL_FDB;
		if (o->has & HAS_NEIGH)
			k[n++] = RQ_DEL_NEIGH;
	}
	return n;
}

/* Queues op's request of kind k, its place recorded. Returns 0 or -errno (nothing sent yet:
 * the batch is lost). */
static int req_queue(struct nl *nl, const struct overlay_where *w, struct op *o, enum req_kind k)
{
	const struct overlay_peer *p = &o->p;
	struct nl_neigh n = vxlan_neigh(w, p);
	struct nl_route rt;

	o->req[o->nreq++] = nl_batch_count(nl);
	switch (k) {
	case RQ_NEIGH:
		return nl_neigh_add(nl, &n, true);
	case RQ_FDB:
		return nl_fdb_add(nl, w->dev, p->mac, &p->public_ip, true);
	case RQ_ROUTE:
		rt = vxlan_route(w, p);
		return nl_route_add(nl, &rt, true);
	case RQ_DIRECT:
		rt = direct_route(w, p);
		return nl_route_add(nl, &rt, true);
	case RQ_DIRECT_NEIGH_DEL:
	case RQ_DEL_NEIGH:
		n.has = 0;
		return nl_neigh_del(nl, &n);
	case RQ_DIRECT_FDB_DEL:
		return nl_fdb_del(nl, w->dev, p->mac, NULL);
	case RQ_DEL_DIRECT:
		rt = direct_route(w, p);
		return nl_route_del(nl, &rt);
	case RQ_DEL_ROUTE:
		/* any protocol: Flannel's own routes (protocol boot) on the device go too */
		rt = vxlan_route(w, p);
		rt.gw.family = 0;
		rt.protocol = 0;
		rt.flags = 0;
		return nl_route_del(nl, &rt);
	case RQ_DEL_FDB:
		return nl_fdb_del(nl, w->dev, p->mac, p->public_ip.family ? &p->public_ip : NULL);
	case RQ_KINDS:
		break;
	}
	return -EINVAL;
}

/* Ops whose requests may go kind by kind: VXLAN adds (all neighbours, all FDB entries, then
 * all routes: each route still after its own neighbour and FDB entry) and deletes (of
 * different peers: independent). A direct add stays whole: its FDB delete must come
 * where it was, before or after a VXLAN add of the same MAC. */
static int op_class(const struct op *o)
{
	return o->kind == OP_DEL ? 1 : o->p.direct ? 0 : 2;
}

/* Queues ops[0..n): each run of consecutive ops of one class (but direct adds) kind by
 * kind, so that a listener on route notifications (an rtnetlink monitor) is woken for a
 * run of routes rather than once per peer. Returns 0 or -errno (the batch is lost). */
static int ops_queue(struct nl *nl, const struct overlay_where *w, struct op *ops, size_t n)
{
	size_t i, j, m;
	int r;

	for (i = 0; i < n; i = j) {
		int c = op_class(&ops[i]);

		for (j = i + 1; c && j < n && op_class(&ops[j]) == c; j++)
			;
		for (m = i; m < j; m++)
			ops[m].nreq = 0;
		for (int k = 0; k < RQ_KINDS; k++) {
			for (m = i; m < j; m++) {
				enum req_kind kinds[4];
				unsigned int nk = op_kinds(&ops[m], kinds);

				for (unsigned int q = 0; q < nk; q++)
					if (kinds[q] == (enum req_kind)k &&
					    (r = req_queue(nl, w, &ops[m], kinds[q])) < 0)
						return r;
			}
		}
	}
	return 0;
}

/* An absent entry is what a delete wants (q: the request's place in the op's order). */
static bool ignorable(const struct op *o, unsigned int q, int e)
{
	if (e >= 0)
		return true;
	if (e != -ENOENT && e != -ESRCH)
		return false;
	/* a direct add's cleanup deletes: everything after its route */
	return o->kind == OP_DEL || (o->p.direct && q > 0);
}

/* Runs ops[0..n) in one batch; res[i] gets op i's result (0 or -errno); the first failure
 * goes to err. Failed adds are rolled back (their entries removed, as Flannel does).
 * Returns 0 or the first failure. */
static int ops_run(struct nl *nl, const struct overlay_where *w, struct op *ops, size_t n, int *res,
		   struct err *err)
{
	size_t i, k, total, first_failed = (size_t)-1, nundo = 0;
	int *errs = NULL, r, first = 0;
	unsigned int q;
	struct op *undo;
	char s[160];

	for (i = 0; i < n; i++)
		res[i] = 0;
	if (!n)
		return 0;
	r = nl_batch_begin(nl);
	if (r == 0)
		r = ops_queue(nl, w, ops, n);
	total = nl_batch_count(nl);
	if (r == 0 && !(errs = calloc(total ? total : 1, sizeof(*errs))))
		r = nl_fail(nl, -ENOMEM, NULL);
	if (r < 0) {
		nl_batch_abort(nl);
		for (i = 0; i < n; i++)
			res[i] = r;
		return err_kernel(err, r, nl_errmsg(nl), "netlink batch");
	}
	r = nl_batch_flush(nl, errs, total);
	/* a transport failure is in errs too: every request without an ack carries it */
	for (k = 0; k < total && first_failed == (size_t)-1; k++)
		if (errs[k] < 0)
			first_failed = k;
	for (i = 0; i < n; i++) {
		for (q = 0; q < ops[i].nreq; q++) {
			k = ops[i].req[q];
			if (ignorable(&ops[i], q, errs[k]))
				continue;
			res[i] = errs[k];
			/* the first failure only: sync's notes name every failed peer */
			if (!first) {
				peer_fmt(&ops[i].p, s, sizeof(s));
				err_kernel(err, errs[k], k == first_failed ? nl_errmsg(nl) : NULL,
					   "%s peer %s",
					   ops[i].kind == OP_ADD ? "programming" : "removing", s);
				first = errs[k];
			}
			break;
		}
		if (res[i] < 0 && ops[i].kind == OP_ADD)
			nundo++;
	}
	free(errs);
	if (r < 0 && !first)
		return err_kernel(err, r, nl_errmsg(nl), "netlink batch");
	if (!nundo || !(undo = calloc(nundo, sizeof(*undo))))
		return first;
	/* Best effort, as Flannel: a half-programmed peer must not route through ARP. */
	for (i = 0, k = 0; i < n; i++) {
		if (res[i] >= 0 || ops[i].kind != OP_ADD)
			continue;
		undo[k].kind = OP_DEL;
		undo[k].p = ops[i].p;
		undo[k].has = ops[i].p.direct ? HAS_DIRECT : HAS_NEIGH | HAS_FDB | HAS_ROUTE;
		k++;
	}
	if (nl_batch_begin(nl) == 0) {
		if (ops_queue(nl, w, undo, k) == 0)
			(void)nl_batch_flush(nl, NULL, 0);
		else
			nl_batch_abort(nl);
	}
	free(undo);
	return first;
}

static bool same_subnet(const struct overlay_peer *a, const struct overlay_peer *b)
{
	return a->subnet.len == b->subnet.len && ip_eq(&a->subnet.ip, &b->subnet.ip);
}

/* The entries of old (a del) that new (an add of the same subnet) does not replace: the
 * add's neighbour and route replace old's (same address, same destination), and a direct
 * add removes the neighbour itself; what stays is old's FDB entry when its MAC is not the
 * one any VXLAN add programs. */
static unsigned int replaced_leftover(const struct overlay_peer *old,
				      const struct overlay_peer *add, size_t nadd)
{
	if (old->direct || mac_zero(old->mac))
		return 0;
	for (size_t i = 0; i < nadd; i++)
		if (!add[i].direct && !memcmp(add[i].mac, old->mac, 6))
			return 0;
	/* a direct add removes the FDB entry of the MAC it names */
	for (size_t i = 0; i < nadd; i++)
		if (add[i].direct && same_subnet(&add[i], old) && !memcmp(add[i].mac, old->mac, 6))
			return 0;
	return HAS_FDB;
}

int overlay_peers_apply(struct nl *nl, const struct overlay_where *w,
			const struct overlay_peer *add, size_t nadd, const struct overlay_peer *del,
			size_t ndel, struct err *err)
{
	struct op *ops;
	int *res, r;
	size_t i, j, n = 0, changed = 0;
	bool *paired;

	if (w->family != AF_INET && w->family != AF_INET6)
		return err_fail(err, CNI_ERR_INTERNAL, -EINVAL, "overlay peers: bad family");
	for (i = 0; i < ndel; i++)
		if ((r = peer_check(w, &del[i], false, err)) < 0)
			return r;
	for (i = 0; i < nadd; i++)
		if ((r = peer_check(w, &add[i], true, err)) < 0)
			return r;
	if (!nadd && !ndel)
		return 0;
	ops = calloc(nadd + ndel, sizeof(*ops));
	res = calloc(nadd + ndel, sizeof(*res));
	paired = calloc(ndel + 1, sizeof(*paired));
	if (!ops || !res || !paired) {
		free(ops);
		free(res);
		free(paired);
		return err_fail(err, CNI_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	/* A del with an add of the same subnet is that peer's old state: the add replaces it
	 * in place and only the leftovers go, after the add, so a live peer has no gap. */
	for (i = 0; i < ndel; i++)
		for (j = 0; j < nadd && !paired[i]; j++)
			paired[i] = same_subnet(&del[i], &add[j]);
	for (i = 0; i < ndel; i++) {
		if (paired[i])
			continue;
		ops[n].kind = OP_DEL;
		ops[n].p = del[i];
		ops[n].has = del[i].direct
				     ? HAS_DIRECT
				     : HAS_NEIGH | HAS_ROUTE | (mac_zero(del[i].mac) ? 0 : HAS_FDB);
		n++;
	}
	for (i = 0; i < nadd; i++, n++) {
		ops[n].kind = OP_ADD;
		ops[n].p = add[i];
	}
	/* the peers changed: one per add and per unpaired del */
	for (i = 0; i < ndel; i++) {
		if (!paired[i] || !(ops[n].has = replaced_leftover(&del[i], add, nadd)))
			continue;
		ops[n].kind = OP_DEL;
		ops[n].p = del[i];
		ops[n].verb = "leftover";
		n++;
	}
	r = ops_run(nl, w, ops, n, res, err);
	for (i = 0; i < n; i++)
		changed += res[i] == 0 && !ops[i].verb;
	free(ops);
	free(res);
	free(paired);
	return r < 0 ? r : (int)changed;
}

/* The kernel's entries for one device and family, before they are joined into peers. */
struct kneigh {
	struct ip_addr ip;
	uint8_t mac[6];
	bool used;
};

struct kfdb {
	uint8_t mac[6];
	struct ip_addr dst;
	bool used;
};

struct kroute {
	struct nl_route rt;
	bool direct;
};

struct kstate {
	const struct overlay_where *w;
	struct kneigh *neigh;
	size_t nneigh;
	struct kfdb *fdb;
	size_t nfdb;
	struct kroute *route;
	size_t nroute;
	int err;
};

/* Capacity doubles at each power of two from 8: amortised appends without a count. */
static void *grow(void *p, size_t n, size_t size)
{
	if (n == 0)
		return malloc(size * 8);
	if (n < 8 || (n & (n - 1)))
		return p;
	return realloc(p, size * n * 2);
}

#define APPEND(arr, n, val)                                  \
	do {                                                 \
		void *p_ = grow((arr), (n), sizeof(*(arr))); \
		if (!p_)                                     \
			return -ENOMEM;                      \
		(arr) = p_;                                  \
		(arr)[(n)++] = (val);                        \
	} while (0)

static int neigh_cb(const struct nl_neigh *n, void *data)
{
	struct kstate *k = data;
	struct kneigh e = {0};

	if (n->ifindex != k->w->dev || n->ip.family != k->w->family ||
	    !(n->state & NUD_PERMANENT) || !(n->has & NL_NEIGH_HAS_MAC))
		return 0;
	e.ip = n->ip;
	memcpy(e.mac, n->mac, 6);
	APPEND(k->neigh, k->nneigh, e);
	return 0;
}

static int fdb_cb(const struct nl_neigh *n, void *data)
{
	struct kstate *k = data;
	struct kfdb e = {0};

	/* the all-zeros entry is the device's own default remote, not a peer; an entry the
	 * kernel learned (Learning) is not ours either */
	if (n->ifindex != k->w->dev || !n->ip.family || !(n->has & NL_NEIGH_HAS_MAC) ||
	    mac_zero(n->mac) || n->master || !(n->state & NUD_PERMANENT))
		return 0;
	memcpy(e.mac, n->mac, 6);
	e.dst = n->ip;
	APPEND(k->fdb, k->nfdb, e);
	return 0;
}

static int route_cb(const struct nl_route *rt, void *data)
{
	struct kstate *k = data;
	struct kroute e = {.rt = *rt};

	if (rt->family != k->w->family || rt->table != RT_TABLE_MAIN || !rt->dst.len ||
	    rt->type != RTN_UNICAST)
		return 0;
	if (rt->oif == k->w->dev && rt->protocol != RTPROT_KERNEL)
		e.direct = false;
	else if (rt->oif == k->w->underlay && rt->protocol == OVERLAY_RTPROT && rt->gw.family)
		e.direct = true;
	else
		return 0;
	APPEND(k->route, k->nroute, e);
	return 0;
}

static void kstate_free(struct kstate *k)
{
	free(k->neigh);
	free(k->fdb);
	free(k->route);
}

static int kstate_read(struct nl *nl, const struct overlay_where *w, struct kstate *k,
		       struct err *err)
{
	int r, tries;

	for (tries = 0; tries < 5; tries++) {
		kstate_free(k);
		memset(k, 0, sizeof(*k));
		k->w = w;
		if ((r = nl_neigh_dump(nl, w->family, w->dev, neigh_cb, k)) == 0 &&
		    (r = nl_neigh_dump(nl, AF_BRIDGE, w->dev, fdb_cb, k)) == 0 &&
		    (r = nl_route_dump(nl, w->family, RT_TABLE_MAIN, route_cb, k)) == 0)
			return 0;
		if (r != -EINTR)
			break;
	}
	kstate_free(k);
	memset(k, 0, sizeof(*k));
	return err_kernel(err, r, nl_errmsg(nl), "reading the overlay's peers");
}

/* A peer as found, with which entries it has. */
struct kp {
	struct overlay_kpeer k;
	unsigned int has;
	bool matched;
};

static struct kneigh *find_neigh(struct kstate *k, const struct ip_addr *ip)
{
	for (size_t i = 0; i < k->nneigh; i++)
		if (ip_eq(&k->neigh[i].ip, ip))
			return &k->neigh[i];
	return NULL;
}

static struct kfdb *find_fdb(struct kstate *k, const uint8_t mac[6])
{
	for (size_t i = 0; i < k->nfdb; i++)
		if (!memcmp(k->fdb[i].mac, mac, 6))
			return &k->fdb[i];
	return NULL;
}

/* Joins entries into peers: a route on the device with the neighbour of its gateway and
 * that MAC's FDB entry; a direct route; then what is left over (a neighbour, with its FDB
 * entry when there is one; an FDB entry alone, subnet unset). */
static int push_kp(struct kp **v, size_t *n, const struct kp *e)
{
	void *p = grow(*v, *n, sizeof(**v));

	if (!p)
		return -ENOMEM;
	*v = p;
	(*v)[(*n)++] = *e;
	return 0;
}

static int kstate_join(struct kstate *k, struct kp **ret, size_t *ret_n)
{
	const struct overlay_where *w = k->w;
	struct kp *v = NULL, e;
	struct kneigh *n;
	struct kfdb *f;
	size_t i, nv = 0;

	for (i = 0; i < k->nroute; i++) {
		const struct nl_route *rt = &k->route[i].rt;
		struct ip_addr net = net_of(&rt->dst);

		memset(&e, 0, sizeof(e));
		e.k.p.subnet.ip = net;
		e.k.p.subnet.len = rt->dst.len;
		if (k->route[i].direct) {
			e.k.p.direct = true;
			e.k.p.public_ip = rt->gw;
			e.has = HAS_DIRECT;
			e.k.complete = true;
			if (push_kp(&v, &nv, &e) < 0)
				goto nomem;
			continue;
		}
		e.has = HAS_ROUTE;
		n = find_neigh(k, &net);
		f = n ? find_fdb(k, n->mac) : NULL;
		if (n) {
			n->used = true;
			e.has |= HAS_NEIGH;
			memcpy(e.k.p.mac, n->mac, 6);
		}
		if (f) {
			f->used = true;
			e.has |= HAS_FDB;
			e.k.p.public_ip = f->dst;
		}
		e.k.complete = n && f && f->dst.family == w->family && ip_eq(&rt->gw, &net) &&
			       (rt->flags & RTNH_F_ONLINK);
		if (push_kp(&v, &nv, &e) < 0)
			goto nomem;
	}
	for (i = 0; i < k->nneigh; i++) {
		if (k->neigh[i].used)
			continue;
		memset(&e, 0, sizeof(e));
		e.k.p.subnet.ip = k->neigh[i].ip;
		e.k.p.subnet.len = ip_bits(w->family);
		memcpy(e.k.p.mac, k->neigh[i].mac, 6);
		e.has = HAS_NEIGH;
		f = find_fdb(k, k->neigh[i].mac);
		if (f && !f->used) {
			f->used = true;
			e.has |= HAS_FDB;
			e.k.p.public_ip = f->dst;
		}
		if (push_kp(&v, &nv, &e) < 0)
			goto nomem;
	}
	for (i = 0; i < k->nfdb; i++) {
		if (k->fdb[i].used)
			continue;
		memset(&e, 0, sizeof(e));
		memcpy(e.k.p.mac, k->fdb[i].mac, 6);
		e.k.p.public_ip = k->fdb[i].dst;
		e.has = HAS_FDB;
		if (push_kp(&v, &nv, &e) < 0)
			goto nomem;
	}
	*ret = v;
	*ret_n = nv;
	return 0;
nomem:
	free(v);
	return -ENOMEM;
}

static int kpeers_read(struct nl *nl, const struct overlay_where *w, struct kp **ret, size_t *ret_n,
		       struct err *err)
{
	struct kstate k = {0};
	int r;

	*ret = NULL;
	*ret_n = 0;
	if (w->family != AF_INET && w->family != AF_INET6)
		return err_fail(err, CNI_ERR_INTERNAL, -EINVAL, "overlay peers: bad family");
	r = kstate_read(nl, w, &k, err);
	if (r < 0)
		return r;
	r = kstate_join(&k, ret, ret_n);
	kstate_free(&k);
	if (r < 0) {
		free(*ret);
		*ret = NULL;
		*ret_n = 0;
		return err_fail(err, CNI_ERR_INTERNAL, r, "out of memory");
	}
	return 0;
}

int overlay_peers_read(struct nl *nl, const struct overlay_where *w, struct overlay_kpeer **ret,
		       size_t *ret_n, struct err *err)
{
	struct overlay_kpeer *out;
	struct kp *v;
	size_t n, i;
	int r;

	*ret = NULL;
	*ret_n = 0;
	r = kpeers_read(nl, w, &v, &n, err);
	if (r < 0)
		return r;
	out = calloc(n ? n : 1, sizeof(*out));
	if (!out) {
		free(v);
		return err_fail(err, CNI_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	for (i = 0; i < n; i++)
		out[i] = v[i].k;
	free(v);
	*ret = out;
	*ret_n = n;
	return 0;
}

static bool same_peer(const struct overlay_peer *a, const struct overlay_peer *b)
{
	return a->direct == b->direct && ip_eq(&a->public_ip, &b->public_ip) &&
	       (a->direct || !memcmp(a->mac, b->mac, 6));
}

/* The wanted peer a kernel peer is a version of: same network address, and the same length
 * when the kernel peer has a route (a lone neighbour knows no length). nets[i] is want[i]'s
 * network address. Returns its index or -1. */
static long find_want(const struct overlay_peer *want, const struct ip_addr *nets, size_t n,
		      const struct kp *k)
{
	if (!k->k.p.subnet.ip.family)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (ip_eq(&nets[i], &k->k.p.subnet.ip) && (!(k->has & (HAS_ROUTE | HAS_DIRECT)) ||
							   k->k.p.subnet.len == want[i].subnet.len))
			return (long)i;
	return -1;
}

static bool mac_wanted(const struct overlay_peer *want, size_t n, const uint8_t mac[6])
{
	for (size_t i = 0; i < n; i++)
		if (!want[i].direct && !memcmp(want[i].mac, mac, 6))
			return true;
	return false;
}

/* The note's words for an op: a peer, or the stray entries it removes. */
static void op_fmt(const struct op *o, char *buf, size_t len)
{
	char ip[IP_STRLEN], d[IP_STRLEN] = "?", m[MAC_STRLEN];

	if (o->kind == OP_ADD || (o->has & (HAS_ROUTE | HAS_DIRECT))) {
		peer_fmt(&o->p, buf, len);
		return;
	}
	mac_fmt(o->p.mac, m);
	if (o->p.public_ip.family)
		ip_fmt(&o->p.public_ip, d);
	if (!(o->has & HAS_NEIGH))
		snprintf(buf, len, "fdb entry %s dst %s", m, d);
	else if (o->has & HAS_FDB)
		snprintf(buf, len, "neighbour %s lladdr %s and fdb entry %s dst %s",
			 ip_fmt(&o->p.subnet.ip, ip), m, m, d);
	else
		snprintf(buf, len, "neighbour %s lladdr %s", ip_fmt(&o->p.subnet.ip, ip), m);
}

enum { WANT_NEW, WANT_WRONG, WANT_LIVE };

int overlay_peers_sync(struct nl *nl, const struct overlay_where *w,
		       const struct overlay_peer *want, size_t n, overlay_note_fn note, void *data,
		       struct err *err)
{
	struct overlay_peer *owners = NULL;
	struct ip_addr *nets = NULL;
	struct kp *kv = NULL;
	size_t nk = 0, i, nops = 0, nlate = 0, changed = 0, no;
	struct op *ops = NULL, *late = NULL;
	char *state = NULL, s[200], line[300];
	int *res = NULL, r;
	long j;

	for (i = 0; i < n; i++)
		if ((r = peer_check(w, &want[i], true, err)) < 0)
			return r;
	/* The kernel holds one FDB entry per MAC: of the wanted peers sharing a VtepMAC, the one
	 * listed last owns it and the others are skipped (noted), or each sync would replace
	 * the other's entries and none would ever settle. */
	owners = calloc(n + 1, sizeof(*owners));
	if (!owners)
		return err_fail(err, CNI_ERR_INTERNAL, -ENOMEM, "out of memory");
	for (i = 0, no = 0; i < n; i++) {
		size_t d = i + 1;

		while (d < n &&
		       (want[i].direct || want[d].direct || memcmp(want[i].mac, want[d].mac, 6)))
			d++;
		if (d == n) {
			owners[no++] = want[i];
			continue;
		}
		peer_fmt(&want[i], s, sizeof(s));
		snprintf(line, sizeof(line), "skip %s: its VtepMAC is also %s's, listed later", s,
			 ip_prefix_fmt(&want[d].subnet, (char[IP_STRLEN]){0}));
		if (note)
			note(data, line);
	}
	want = owners;
	n = no;
	r = kpeers_read(nl, w, &kv, &nk, err);
	if (r < 0)
		goto out;
	/* at most one op per kernel peer and one per wanted peer */
	ops = calloc(nk + n + 1, sizeof(*ops));
	res = calloc(nk + n + 1, sizeof(*res));
	late = calloc(nk + 1, sizeof(*late)); /* leftovers of replaced peers, after the adds */
	state = calloc(n + 1, 1);
	nets = calloc(n + 1, sizeof(*nets));
	if (!ops || !res || !late || !state || !nets) {
		r = err_fail(err, CNI_ERR_INTERNAL, -ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++)
		nets[i] = net_of(&want[i].subnet);
	for (i = 0; i < nk; i++) {
		struct kp *k = &kv[i];
		struct op *o = &ops[nops];

		j = find_want(want, nets, n, k);
		if (j >= 0 && k->k.complete && same_peer(&k->k.p, &want[j]) &&
		    state[j] != WANT_WRONG) {
			state[j] = WANT_LIVE; /* right: untouched */
			continue;
		}
		if (j >= 0) {
			/* The add of want[j] replaces it; what the replace cannot reach (the old
			 * MAC's FDB entry) is removed after the adds (no gap), quietly: one change,
			 * one note. */
			state[j] = WANT_WRONG;
			if (!(k->has & HAS_FDB) || mac_wanted(want, n, k->k.p.mac))
				continue;
			late[nlate].kind = OP_DEL;
			late[nlate].has = HAS_FDB;
			late[nlate++].p = k->k.p;
			continue;
		} else {
			o->has = k->has;
			/* an FDB entry a wanted peer uses stays */
			if ((k->has & HAS_FDB) && mac_wanted(want, n, k->k.p.mac))
				o->has &= ~HAS_FDB;
			if (!o->has)
				continue;
			o->verb = (o->has & (HAS_ROUTE | HAS_DIRECT)) ? "remove" : "remove stray";
		}
		o->kind = OP_DEL;
		o->p = k->k.p;
		nops++;
	}
	for (i = 0; i < n; i++) {
		if (state[i] == WANT_LIVE)
			continue;
		ops[nops].kind = OP_ADD;
		ops[nops].p = want[i];
		ops[nops].verb = state[i] == WANT_WRONG ? "replace" : "add";
		nops++;
	}
	for (i = 0; i < nlate; i++)
		ops[nops++] = late[i];
	r = ops_run(nl, w, ops, nops, res, err);
	for (i = 0; i < nops; i++) {
		if (!ops[i].verb)
			continue;
		op_fmt(&ops[i], s, sizeof(s));
		if (res[i] < 0)
			snprintf(line, sizeof(line), "%s %s failed: %s", ops[i].verb, s,
				 strerror(-res[i]));
		else
			snprintf(line, sizeof(line), "%s %s", ops[i].verb, s);
		if (note)
			note(data, line);
		changed += res[i] == 0;
	}
	if (r == 0)
		r = (int)changed;
out:
	free(owners);
	free(kv);
	free(ops);
	free(late);
	free(res);
	free(state);
	free(nets);
	return r;
}

struct seg {
	const struct ip_addr *ip;
	bool found;
};

static int seg_cb(const struct nl_addr *a, void *data)
{
	struct seg *s = data;

	if (a->scope == RT_SCOPE_UNIVERSE && ip_prefix_contains(&a->prefix, s->ip))
		s->found = true;
	return 0;
}

int overlay_same_segment(struct nl *nl, int underlay, const struct ip_addr *ip)
{
	struct seg s = {ip, false};
	int r, tries = 0;

	if (underlay <= 0 || (ip->family != AF_INET && ip->family != AF_INET6))
		return nl_fail(nl, -EINVAL, "invalid underlay or address");
	do
		r = nl_addr_dump(nl, underlay, ip->family, seg_cb, &s);
	while (r == -EINTR && ++tries < 5);
	return r < 0 ? r : s.found;
}
