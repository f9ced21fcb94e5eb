// SPDX-License-Identifier: Apache-2.0
/* Conntrack deletes over ctnetlink: one filtered flush per (family, protocol, port[, address])
 * with every request in one send; kernels without delete filters get a dump, then a delete
 * per matching entry. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <libmnl/libmnl.h>

#include "netlink/ct.h"
#include "base/vec.h"
#include "netlink/nl.h"

/* CTA_FILTER_ORIG_FLAGS bits: the kernel's nf_internals.h, absent from the uapi headers. */
#define CT_F_IP_DST (1U << 1)
#define CT_F_PROTO_NUM (1U << 3)
#define CT_F_PROTO_DST_PORT (1U << 5)

#define CT_MSG_ROOM 256 /* one request at its largest */
#define CT_SEND_MAX 32768 /* bytes of requests in one send */
#define CT_TUPLE_MAX 128 /* payload of a CTA_TUPLE_ORIG kept from a dump */
#define CT_BUF (MNL_SOCKET_BUFFER_SIZE > CT_SEND_MAX ? MNL_SOCKET_BUFFER_SIZE : CT_SEND_MAX)

struct ct_sock {
	struct mnl_socket *sk;
	unsigned int portid;
	uint32_t seq;
	char *buf; /* requests, then answers */
	char *err;
	size_t errlen;
};

static int ct_open(struct ct_sock *s, char *err, size_t errlen)
{
	int r;

	memset(s, 0, sizeof(*s));
	s->err = err;
	s->errlen = err ? errlen : 0;
	s->buf = calloc(1, CT_BUF);
	r = s->buf ? nl_socket_open(NETLINK_NETFILTER, -1, &s->sk) : -ENOMEM;
	if (r < 0) {
		free(s->buf);
		s->buf = NULL;
		return r;
	}
	s->portid = mnl_socket_get_portid(s->sk);
	s->seq = 1;
	return 0;
}

static void ct_close(struct ct_sock *s)
{
	if (s->sk)
		mnl_socket_close(s->sk);
	free(s->buf);
	s->sk = NULL;
	s->buf = NULL;
}

/* Callers zero the bytes their requests take first: libmnl (1.0.4) leaves the alignment
 * padding after a u8 or u16 attribute unwritten, and the buffer holds the last answers, so
 * a request would send bytes never written, or an answer's. */
static struct nlmsghdr *msg_put(char *at, uint8_t type, int family, uint16_t flags, uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(at);
	struct nfgenmsg *g;

	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = (uint8_t)family;
	g->version = NFNETLINK_V0;
	g->res_id = 0;
	return nlh;
}

/* The error of an NLMSG_ERROR answer (0 for an ack); its extack text goes to s->err. */
static int ack_error(struct ct_sock *s, const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	int r;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e)))
		return -EBADMSG;
	r = e->error < 0 ? e->error : -e->error;
	if (!r || !s->errlen)
		return r;
	snprintf(s->err, s->errlen, "%s", strerror(-r));
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return r;
	mnl_attr_for_each(a, nlh, sizeof(*e)) {
		if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0)
			snprintf(s->err, s->errlen, "%s", mnl_attr_get_str(a));
	}
	return r;
}

/* Sends len bytes of n requests numbered from seq and reads their n acks. Returns the first
 * error (-ENOENT excused with ignore_enoent), or 0. */
static int talk(struct ct_sock *s, size_t len, uint32_t seq, unsigned int n, bool ignore_enoent)
{
	unsigned int acked = 0;
	int first = 0, r, left;
	ssize_t got;

	if (mnl_socket_sendto(s->sk, s->buf, len) < 0)
		return -errno;
	while (acked < n) {
		got = mnl_socket_recvfrom(s->sk, s->buf, MNL_SOCKET_BUFFER_SIZE);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return first ? first : -errno;
		left = (int)got;
		for (const struct nlmsghdr *nlh = (void *)s->buf; mnl_nlmsg_ok(nlh, left);
		     nlh = mnl_nlmsg_next(nlh, &left)) {
			if (nlh->nlmsg_type != NLMSG_ERROR || nlh->nlmsg_seq - seq >= n)
				continue;
			acked++;
			r = ack_error(s, nlh);
			if (r && !(ignore_enoent && r == -ENOENT) && !first)
				first = r;
		}
	}
	return first;
}

static void put_dst(struct nlmsghdr *nlh, const struct ct_filter *f)
{
	struct nlattr *ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);

	if (f->family == AF_INET)
		mnl_attr_put(nlh, CTA_IP_V4_DST, 4, f->dst.b);
	else
		mnl_attr_put(nlh, CTA_IP_V6_DST, 16, f->dst.b);
	mnl_attr_nest_end(nlh, ip);
}

static bool has_dst(const struct ct_filter *f)
{
	return f->dst.family == f->family && !ip_is_zero(&f->dst);
}

/* A delete whose filter is the original tuple's protocol, destination port and address. */
static void put_flush(char *at, const struct ct_filter *f, uint32_t seq)
{
	struct nlmsghdr *nlh = msg_put(at, IPCTNL_MSG_CT_DELETE, f->family, NLM_F_ACK, seq);
	struct nlattr *tuple, *proto, *filter;
	uint32_t flags = CT_F_PROTO_NUM | CT_F_PROTO_DST_PORT;

	tuple = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
	if (has_dst(f)) {
		put_dst(nlh, f);
		flags |= CT_F_IP_DST;
	}
	proto = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, f->proto);
	mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(f->dport));
	mnl_attr_nest_end(nlh, proto);
	mnl_attr_nest_end(nlh, tuple);
	filter = mnl_attr_nest_start(nlh, CTA_FILTER);
	mnl_attr_put_u32(nlh, CTA_FILTER_ORIG_FLAGS, flags);
	mnl_attr_nest_end(nlh, filter);
}

static int filters_ok(const struct ct_filter *f, size_t n)
{
	if (n > CT_FILTERS_MAX)
		return -E2BIG;
	for (size_t i = 0; i < n; i++)
		if ((f[i].family != AF_INET && f[i].family != AF_INET6) ||
		    (f[i].addr ? !has_dst(&f[i]) : !f[i].proto))
			return -EINVAL;
	return 0;
}

/* The kernel's filter compares IPv6 addresses the wrong way round (its
 * ctnetlink_filter_match_tuple() skips an entry when !ipv6_addr_cmp(), since 5.9, still in
 * 6.18): a flush by IPv6 address would delete every other address's entries and keep its
 * own. Those filters go through the dump. */
static bool kernel_filters(const struct ct_filter *f)
{
	return !f->addr && (f->family == AF_INET || !has_dst(f));
}

int ct_delete(const struct ct_filter *f, size_t n, char *errmsg, size_t errlen)
{
	struct ct_filter v6[CT_FILTERS_MAX];
	size_t len = 0, k = 0, nv6 = 0;
	struct ct_sock s;
	int r;

	r = filters_ok(f, n);
	if (r < 0 || n == 0)
		return r;
	/* each filtered flush walks the whole table (262144 buckets here, ~0.2 ms), once the
	 * netns has an entry: for a port range, one dump of the entries is far cheaper */
	if (n > CT_FLUSH_MAX) {
		r = ct_delete_by_dump(f, n, errmsg, errlen);
		return r < 0 ? r : (int)n;
	}
	r = ct_open(&s, errmsg, errlen);
	if (r < 0)
		return r;
	memset(s.buf, 0, CT_BUF); /* see msg_put() */
	for (size_t i = 0; i < n; i++) {
		if (!kernel_filters(&f[i])) {
			v6[nv6++] = f[i];
			continue;
		}
		put_flush(s.buf + len, &f[i], s.seq + (uint32_t)k++);
		len += NLMSG_ALIGN(((struct nlmsghdr *)(s.buf + len))->nlmsg_len);
	}
	r = k ? talk(&s, len, s.seq, (unsigned int)k, false) : 0;
	ct_close(&s);
	/* A kernel without delete filters reads the tuple as an entry's and finds it partial. */
	if (r == -EINVAL || r == -EOPNOTSUPP)
		r = ct_delete_by_dump(f, n, errmsg, errlen);
	else if (r == 0 && nv6)
		r = ct_delete_by_dump(v6, nv6, errmsg, errlen);
	return r < 0 ? r : (int)n;
}

/* --- Fallback: dump, then delete each match by its original tuple ----------------------- */

struct ct_entry {
	int family;
	uint16_t len;
	uint8_t tuple[CT_TUPLE_MAX]; /* payload of CTA_TUPLE_ORIG */
};

struct ct_dump {
	const struct ct_filter *f;
	size_t n;
	struct ct_entry *e;
	size_t ne, cap;
};

static int nested(const struct nlattr *nest, unsigned int max, const struct nlattr **tb)
{
	const struct nlattr *a;

	memset(tb, 0, (max + 1) * sizeof(*tb));
	mnl_attr_for_each_nested(a, nest)
		if (mnl_attr_get_type(a) <= max)
			tb[mnl_attr_get_type(a)] = a;
	return 0;
}

/* What the filters compare of an entry's original tuple, read once per entry (a port
 * range's hundreds of filters each look at it). */
struct ct_orig {
	bool has_port, has_dst, has_src;
	uint8_t proto;
	uint16_t dport;
	uint8_t dst[16], src[16];
};

static void orig_parse(const struct nlattr *orig, int family, struct ct_orig *o)
{
	const struct nlattr *t[CTA_TUPLE_MAX + 1], *ip[CTA_IP_MAX + 1], *p[CTA_PROTO_MAX + 1];
	const struct nlattr *dst, *src;

	memset(o, 0, sizeof(*o));
	nested(orig, CTA_TUPLE_MAX, t);
	if (t[CTA_TUPLE_IP]) {
		nested(t[CTA_TUPLE_IP], CTA_IP_MAX, ip);
		dst = ip[family == AF_INET ? CTA_IP_V4_DST : CTA_IP_V6_DST];
		src = ip[family == AF_INET ? CTA_IP_V4_SRC : CTA_IP_V6_SRC];
		if (dst && mnl_attr_get_payload_len(dst) == ip_bytes(family)) {
			o->has_dst = true;
			memcpy(o->dst, mnl_attr_get_payload(dst), ip_bytes(family));
		}
		if (src && mnl_attr_get_payload_len(src) == ip_bytes(family)) {
			o->has_src = true;
			memcpy(o->src, mnl_attr_get_payload(src), ip_bytes(family));
		}
	}
	if (!t[CTA_TUPLE_PROTO])
		return;
	nested(t[CTA_TUPLE_PROTO], CTA_PROTO_MAX, p);
	if (!p[CTA_PROTO_NUM] || !p[CTA_PROTO_DST_PORT] ||
	    mnl_attr_get_payload_len(p[CTA_PROTO_DST_PORT]) != 2)
		return;
	o->has_port = true;
	o->proto = mnl_attr_get_u8(p[CTA_PROTO_NUM]);
	o->dport = ntohs(mnl_attr_get_u16(p[CTA_PROTO_DST_PORT]));
}

/* True when the original tuple o (of family) matches filter f. */
static bool orig_match(const struct ct_orig *o, int family, const struct ct_filter *f)
{
	if (f->addr)
		return family == f->family &&
		       ((o->has_src && !memcmp(o->src, f->dst.b, ip_bytes(family))) ||
			(o->has_dst && !memcmp(o->dst, f->dst.b, ip_bytes(family))));
	if (family != f->family || !o->has_port || o->proto != f->proto || o->dport != f->dport)
		return false;
	return !has_dst(f) || (o->has_dst && !memcmp(o->dst, f->dst.b, ip_bytes(family)));
}

static int dump_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);
	struct ct_dump *d = data;
	const struct nlattr *a, *orig = NULL;
	struct ct_orig o;
	struct ct_entry *e;
	size_t i;

	mnl_attr_for_each(a, nlh, sizeof(*g))
		if (mnl_attr_get_type(a) == CTA_TUPLE_ORIG)
			orig = a;
	if (!orig || mnl_attr_get_payload_len(orig) > CT_TUPLE_MAX)
		return MNL_CB_OK;
	orig_parse(orig, g->nfgen_family, &o);
	for (i = 0; i < d->n && !orig_match(&o, g->nfgen_family, &d->f[i]); i++)
		;
	if (i == d->n)
		return MNL_CB_OK;
	if (vec_room(&d->e, &d->cap, d->ne, sizeof(*d->e), 16) < 0)
		return MNL_CB_ERROR;
	e = &d->e[d->ne++];
	e->family = g->nfgen_family;
	e->len = mnl_attr_get_payload_len(orig);
	memcpy(e->tuple, mnl_attr_get_payload(orig), e->len);
	return MNL_CB_OK;
}

/* True when the len bytes at buf hold the end (NLMSG_DONE or an error) of dump seq. */
static bool dump_end(const char *buf, ssize_t len, uint32_t seq)
{
	int left = (int)len;

	for (const struct nlmsghdr *nlh = (const void *)buf; mnl_nlmsg_ok(nlh, left);
	     nlh = mnl_nlmsg_next(nlh, &left))
		if (nlh->nlmsg_seq == seq &&
		    (nlh->nlmsg_type == NLMSG_DONE || nlh->nlmsg_type == NLMSG_ERROR))
			return true;
	return false;
}

/* Returns 0, -EINTR when a change interrupted the dump (read to its end: the caller can send
 * another), or -errno. */
static int dump(struct ct_sock *s, struct ct_dump *d)
{
	uint32_t seq = ++s->seq;
	bool intr = false;
	ssize_t got;
	int r = MNL_CB_OK;

	memset(s->buf, 0, CT_MSG_ROOM); /* see msg_put() */
	msg_put(s->buf, IPCTNL_MSG_CT_GET, AF_UNSPEC, NLM_F_DUMP, seq);
	if (mnl_socket_sendto(s->sk, s->buf, ((struct nlmsghdr *)s->buf)->nlmsg_len) < 0)
		return -errno;
	do {
		got = mnl_socket_recvfrom(s->sk, s->buf, MNL_SOCKET_BUFFER_SIZE);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		if (!intr) {
			r = mnl_cb_run(s->buf, (size_t)got, seq, s->portid, dump_cb, d);
			/* NLM_F_DUMP_INTR: the rest of this dump is still to come */
			intr = r == MNL_CB_ERROR && errno == EINTR;
		}
		if (intr && dump_end(s->buf, got, seq))
			return -EINTR;
	} while (intr || r > MNL_CB_STOP);
	return r < 0 ? -errno : 0;
}

/* Deletes the collected entries, CT_SEND_MAX bytes of requests at a time. */
static int delete_entries(struct ct_sock *s, const struct ct_dump *d)
{
	size_t i = 0, len;
	unsigned int k;
	uint32_t first;
	int r = 0;

	while (i < d->ne && r == 0) {
		first = s->seq + 1;
		memset(s->buf, 0, CT_SEND_MAX); /* see msg_put() */
		for (len = 0, k = 0; i < d->ne && len + CT_MSG_ROOM <= CT_SEND_MAX; i++, k++) {
			struct nlmsghdr *nlh = msg_put(s->buf + len, IPCTNL_MSG_CT_DELETE,
						       d->e[i].family, NLM_F_ACK, ++s->seq);

			mnl_attr_put(nlh, CTA_TUPLE_ORIG | NLA_F_NESTED, d->e[i].len,
				     d->e[i].tuple);
			len += NLMSG_ALIGN(nlh->nlmsg_len);
		}
		/* an entry that expired since the dump is already gone */
		r = talk(s, len, first, k, true);
	}
	return r;
}

int ct_delete_by_dump(const struct ct_filter *f, size_t n, char *errmsg, size_t errlen)
{
	struct ct_dump d = {.f = f, .n = n};
	struct ct_sock s;
	int r, tries = 0;

	r = filters_ok(f, n);
	if (r < 0 || n == 0)
		return r;
	r = ct_open(&s, errmsg, errlen);
	if (r < 0)
		return r;
	do {
		d.ne = 0;
		r = dump(&s, &d);
	} while (r == -EINTR && ++tries < 4);
	if (r == 0)
		r = delete_entries(&s, &d);
	ct_close(&s);
	free(d.e);
	return r < 0 ? r : (int)d.ne;
}
