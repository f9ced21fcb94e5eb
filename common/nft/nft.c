// SPDX-License-Identifier: Apache-2.0
/* nftables transport: the NETLINK_NETFILTER socket, batches sent in one sendmsg and committed
 * by the kernel all-or-nothing, answers mapped back to the message that failed, queries. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>

#include "nft/nft.h"
#include "base/log.h"
#include "netlink/nl.h"

#ifndef MNL_SOCKET_DUMP_SIZE
#define MNL_SOCKET_DUMP_SIZE 32768
#endif
#define NFT_RBUF MNL_SOCKET_DUMP_SIZE /* replies; requests go in the NFT_REQ bytes after */
#define NFT_REQ 2048
#define NFT_BUF_MIN 16384
#define NFT_SNDBUF_DEFAULT 65536 /* below any kernel's default wmem */
#define NFT_MSG_DESTROYSETELEM_ 30 /* kernel 6.3; older headers lack the name */

int nft_open_dry(struct nft *nft)
{
	memset(nft, 0, sizeof(*nft));
	nft->buf = calloc(1, NFT_BUF_MIN);
	nft->rbuf = calloc(1, NFT_RBUF + NFT_REQ);
	if (!nft->buf || !nft->rbuf) {
		nft_close(nft);
		return -ENOMEM;
	}
	nft->cap = NFT_BUF_MIN;
	nft->sndbuf = NFT_SNDBUF_DEFAULT;
	return 0;
}

int nft_open(struct nft *nft, int netns_fd)
{
	int r = nft_open_dry(nft);

	if (r < 0)
		return r;
	r = nl_socket_open(NETLINK_NETFILTER, netns_fd, &nft->sk);
	if (r < 0) {
		nft_close(nft);
		return r;
	}
	nft->portid = mnl_socket_get_portid(nft->sk);
	return 0;
}

void nft_close(struct nft *nft)
{
	if (!nft)
		return;
	if (nft->sk)
		mnl_socket_close(nft->sk);
	free(nft->buf);
	free(nft->rbuf);
	memset(nft, 0, sizeof(*nft));
}

const char *nft_errmsg(const struct nft *nft)
{
	return nft->errmsg;
}

/* --- Describing a failed message ------------------------------------------------------ */

enum { K_TABLE, K_CHAIN, K_RULE, K_SET, K_ELEM, K_NONE };

/* Per message kind: the verb per operation (new, get, del, destroy), the attribute holding
 * the object's name (attribute 1 is always the table), and attribute names by type. */
static const struct kind {
	const char *verb[4];
	unsigned int name_attr;
	const char *attr[19];
} kinds[] = {
	[K_TABLE] = {{"add table", "get table", "delete table", "destroy table"},
		     0,
		     {[1] = "name", [2] = "flags", [4] = "handle", [6] = "userdata"}},
	[K_CHAIN] = {{"add chain", "get chain", "delete chain", "destroy chain"},
		     3,
		     {[1] = "table",
		      [2] = "handle",
		      [3] = "name",
		      [4] = "hook",
		      [5] = "policy",
		      [7] = "type",
		      [8] = "counters",
		      [10] = "flags",
		      [12] = "userdata"}},
	[K_RULE] = {{"add rule to chain", "get rules of chain", "delete rule of chain",
		     "destroy rule of chain"},
		    2,
		    {[1] = "table",
		     [2] = "chain",
		     [3] = "handle",
		     [4] = "expressions",
		     [6] = "position",
		     [7] = "userdata"}},
	[K_SET] = {{"add set", "get set", "delete set", "destroy set"},
		   2,
		   {[1] = "table",
		    [2] = "name",
		    [3] = "flags",
		    [4] = "key type",
		    [5] = "key len",
		    [6] = "data type",
		    [7] = "data len",
		    [8] = "policy",
		    [9] = "desc",
		    [11] = "timeout",
		    [13] = "userdata",
		    [18] = "expressions"}},
	[K_ELEM] = {{"add elements to set", "get elements of set", "delete elements of set",
		     "destroy elements of set"},
		    2,
		    {[1] = "table", [2] = "set", [3] = "elements"}},
};

static void msg_kind(uint16_t type, unsigned int *ret_kind, unsigned int *ret_op)
{
	unsigned int t = NFNL_MSG_TYPE(type);

	if (t <= NFT_MSG_DELSETELEM) {
		*ret_kind = t / 3;
		*ret_op = t % 3;
	} else if (t >= 26 && t <= 30) { /* NFT_MSG_DESTROYTABLE..DESTROYSETELEM */
		*ret_kind = t - 26;
		*ret_op = 3;
	} else {
		*ret_kind = K_NONE;
		*ret_op = 0;
	}
}

static const char *family_name(int f)
{
	switch (f) {
	case NFPROTO_INET:
		return "inet";
	case NFPROTO_IPV4:
		return "ip";
	case NFPROTO_IPV6:
		return "ip6";
	case NFPROTO_BRIDGE:
		return "bridge";
	case NFPROTO_NETDEV:
		return "netdev";
	case NFPROTO_ARP:
		return "arp";
	default:
		return "?";
	}
}

static int contains(const struct nlmsghdr *msg, const struct nlattr *a, uint32_t offs)
{
	uint32_t at = (uint32_t)((const char *)a - (const char *)msg);

	return offs >= at && offs < at + mnl_attr_get_len(a);
}

/* Appends ", #i <detail>" for the i-th item of a list attribute that holds offs: the
 * expression's name for rules, the element's attribute at fault for set elements. */
static void item_name(const struct nlmsghdr *msg, const struct nlattr *list, unsigned int kind,
		      uint32_t offs, char *out, size_t size)
{
	static const char *const elem_attr[] = {[1] = "key",	 [2] = "data",	   [3] = "flags",
						[4] = "timeout", [6] = "userdata", [9] = "key end"};
	const struct nlattr *item, *sub;
	unsigned int i = 0, t;
	size_t l;

	mnl_attr_for_each_nested(item, list) {
		i++;
		if (!contains(msg, item, offs))
			continue;
		l = strlen(out);
		snprintf(out + l, size - l, ", #%u", i);
		mnl_attr_for_each_nested(sub, item) {
			t = mnl_attr_get_type(sub);
			l = strlen(out);
			if (kind == K_RULE && t == NFTA_EXPR_NAME &&
			    mnl_attr_validate(sub, MNL_TYPE_NUL_STRING) >= 0)
				snprintf(out + l, size - l, " %s", mnl_attr_get_str(sub));
			else if (kind == K_ELEM && contains(msg, sub, offs) && t < 10 &&
				 elem_attr[t])
				snprintf(out + l, size - l, " %s", elem_attr[t]);
		}
		return;
	}
}

/* Names the attribute at offs of msg: " (attribute expressions, #2 lookup)". */
static void attr_name(const struct nlmsghdr *msg, unsigned int kind, uint32_t offs, char *out,
		      size_t size)
{
	const struct kind *k = &kinds[kind];
	const struct nlattr *a;
	unsigned int type;
	size_t l;

	mnl_attr_for_each(a, msg, sizeof(struct nfgenmsg)) {
		if (!contains(msg, a, offs))
			continue;
		type = mnl_attr_get_type(a);
		l = strlen(out);
		if (l && out[l - 1] == ')')
			out[--l] = '\0';
		snprintf(out + l, size - l, "%sattribute %s", l ? ", " : " (",
			 type < 19 && k->attr[type] ? k->attr[type] : "?");
		if ((a->nla_type & NLA_F_NESTED) &&
		    offs != (uint32_t)((const char *)a - (const char *)msg))
			item_name(msg, a, kind, offs, out, size);
		snprintf(out + strlen(out), size - strlen(out), ")");
		return;
	}
}

static const char *msg_str(const struct nlmsghdr *msg, unsigned int type)
{
	const struct nlattr *a;

	if (!type)
		return NULL;
	mnl_attr_for_each(a, msg, sizeof(struct nfgenmsg))
		if (mnl_attr_get_type(a) == type && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0)
			return mnl_attr_get_str(a);
	return NULL;
}

/* Fills errmsg from an NLMSG_ERROR answer to msg (NULL when unknown). */
static void describe(struct nft *nft, const struct nlmsghdr *msg, const struct nlmsghdr *ack,
		     int err)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(ack);
	const char *text = NULL, *table, *obj;
	char where[128] = "";
	unsigned int kind, op, off;
	const struct nlattr *a;
	uint32_t offs = 0;

	off = sizeof(*e); /* TLVs follow the error, and the request unless capped */
	if (!(ack->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(*ack);
	if ((ack->nlmsg_flags & NLM_F_ACK_TLVS) && ack->nlmsg_len > off + sizeof(*ack)) {
		mnl_attr_for_each(a, ack, off) {
			if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
			    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0)
				text = mnl_attr_get_str(a);
			else if (mnl_attr_get_type(a) == NLMSGERR_ATTR_OFFS &&
				 mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
				offs = mnl_attr_get_u32(a);
		}
	}
	if (!text)
		text = strerror(-err);
	if (!msg) {
		snprintf(nft->errmsg, sizeof(nft->errmsg), "%s", text);
		return;
	}
	if (msg->nlmsg_type == NFNL_MSG_BATCH_BEGIN) { /* the commit itself failed */
		snprintf(nft->errmsg, sizeof(nft->errmsg), "batch: %s", text);
		return;
	}
	msg_kind(msg->nlmsg_type, &kind, &op);
	if (kind == K_NONE) {
		snprintf(nft->errmsg, sizeof(nft->errmsg), "message %u: %s",
			 NFNL_MSG_TYPE(msg->nlmsg_type), text);
		return;
	}
	/* In a batch, the message's position: seq numbers count up from BATCH_BEGIN. */
	if ((const char *)msg >= nft->buf && (const char *)msg < nft->buf + nft->len)
		snprintf(where, sizeof(where), " (message %u)", msg->nlmsg_seq - nft->begin_seq);
	if (offs >= NLMSG_HDRLEN && offs < msg->nlmsg_len)
		attr_name(msg, kind, offs, where, sizeof(where));
	table = msg_str(msg, 1);
	obj = msg_str(msg, kinds[kind].name_attr);
	snprintf(nft->errmsg, sizeof(nft->errmsg), "%s %s %s%s%s: %s%s", kinds[kind].verb[op],
		 family_name(((const struct nfgenmsg *)mnl_nlmsg_get_payload(msg))->nfgen_family),
		 table ? table : "?", obj ? " " : "", obj ? obj : "", text, where);
}

/* --- Batches -------------------------------------------------------------------------- */

static int buf_reserve(struct nft *nft, size_t room)
{
	size_t cap = nft->cap;
	char *p;

	if (room > (1U << 30) || nft->len + room > (1U << 30))
		return -E2BIG;
	if (nft->len + room <= cap)
		return 0;
	while (cap < nft->len + room)
		cap *= 2;
	p = realloc(nft->buf, cap);
	if (!p)
		return -ENOMEM;
	nft->buf = p;
	nft->cap = cap;
	return 0;
}

int nft_batch_fail(struct nft *nft, int err, const char *what)
{
	if (nft->err >= 0) {
		nft->err = err;
		snprintf(nft->errmsg, sizeof(nft->errmsg), "%s: %s", what, strerror(-err));
	}
	return err;
}

void nft_batch_begin(struct nft *nft)
{
	struct nlmsghdr *nlh;

	nft->len = 0;
	nft->last = 0;
	nft->err = 0;
	nft->errmsg[0] = '\0';
	nft->begin_seq = ++nft->seq;
	memset(&nft->pending, 0, sizeof(nft->pending));
	memset(nft->buf, 0, NLMSG_ALIGN(NLMSG_HDRLEN + sizeof(struct nfgenmsg)));
	nlh = nftnl_batch_begin(nft->buf, nft->begin_seq);
	nft->len = NLMSG_ALIGN(nlh->nlmsg_len);
}

struct nlmsghdr *nft_batch_msg(struct nft *nft, uint16_t type, uint16_t family, uint16_t flags,
			       size_t room)
{
	int r;

	if (nft->err < 0)
		return NULL;
	/* Room for the header and the BATCH_END that follows. */
	room += 2 * NLMSG_ALIGN(NLMSG_HDRLEN + sizeof(struct nfgenmsg));
	r = buf_reserve(nft, room);
	if (r < 0) {
		nft_batch_fail(nft, r, "batch");
		return NULL;
	}
	/* libmnl (1.0.4) leaves an attribute's alignment padding unwritten, and libnftnl some
	 * of its own: zeroed first, the message sends no byte of an earlier batch or of the
	 * heap (valgrind's memcheck checks every sendmsg) */
	memset(nft->buf + nft->len, 0, room);
	return nftnl_nlmsg_build_hdr(nft->buf + nft->len, type, family, flags, ++nft->seq);
}

void nft_batch_msg_end(struct nft *nft, struct nlmsghdr *nlh)
{
	unsigned int t = nlh->nlmsg_type & 0xff;

	/* elements are counted one by one where they are built */
	if (t != NFT_MSG_NEWSETELEM && t != NFT_MSG_DELSETELEM && t != NFT_MSG_DESTROYSETELEM_)
		nft->pending.objects++;
	nft->last = (size_t)((char *)nlh - nft->buf);
	nft->len += NLMSG_ALIGN(nlh->nlmsg_len);
}

static const struct nlmsghdr *batch_find(const struct nft *nft, uint32_t seq)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)nft->buf;
	int len = (int)nft->len;

	for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len))
		if (nlh->nlmsg_seq == seq)
			return nlh;
	return NULL;
}

static int batch_send(struct nft *nft)
{
	int fd = mnl_socket_get_fd(nft->sk);
	unsigned int v;
	ssize_t n;

	/* The kernel takes a batch only whole, in one skb: the send buffer must hold it. */
	if (nft->len > nft->sndbuf) {
		v = (unsigned int)nft->len + 4096;
		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)) < 0 &&
		    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)) < 0)
			return -errno;
		nft->sndbuf = v;
	}
	do
		n = mnl_socket_sendto(nft->sk, nft->buf, nft->len);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		snprintf(nft->errmsg, sizeof(nft->errmsg), "send batch: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

/* The kernel answers a batch while handling sendmsg(): an error per failed message, an ack
 * for the last one (the only one with NLM_F_ACK), and an error on BATCH_BEGIN when the
 * commit itself fails. Once BATCH_BEGIN was answered, the rest is already queued. A failed
 * batch of thousands of messages (no table yet: each fails) overflows the receive buffer;
 * the answers kept are the first ones, in order, so the first error is still known. */
static int batch_recv(struct nft *nft, uint32_t last_seq)
{
	int fd = mnl_socket_get_fd(nft->sk), first = 0, len, err;
	bool seen_last = false, drain = false, lost = false;
	const struct nlmsghdr *nlh;
	const struct nlmsgerr *e;
	ssize_t n;

	while (!seen_last) {
		n = recv(fd, nft->rbuf, NFT_RBUF, drain ? MSG_DONTWAIT : 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && drain)
			break;
		if (n < 0 && errno == ENOBUFS) { /* answers were lost: read what is left */
			lost = drain = true;
			continue;
		}
		if (n < 0)
			return first ? first : -errno;
		len = (int)n;
		for (nlh = (const struct nlmsghdr *)nft->rbuf; mnl_nlmsg_ok(nlh, len);
		     nlh = mnl_nlmsg_next(nlh, &len)) {
			if (nlh->nlmsg_type != NLMSG_ERROR ||
			    nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e)))
				continue;
			e = mnl_nlmsg_get_payload(nlh);
			seen_last |= nlh->nlmsg_seq == last_seq;
			drain |= nlh->nlmsg_seq == nft->begin_seq;
			err = e->error < 0 ? e->error : -e->error;
			if (err && !first) {
				first = err;
				describe(nft, batch_find(nft, nlh->nlmsg_seq), nlh, err);
			}
		}
	}
	if (!first && lost) {
		first = -ENOBUFS;
		snprintf(nft->errmsg, sizeof(nft->errmsg), "batch: answers lost (ENOBUFS)");
	}
	return first;
}

int nft_batch_commit(struct nft *nft)
{
	struct nlmsghdr *nlh, *last;
	int r;

	if (nft->err < 0)
		return nft->err;
	if (!nft->last)
		return 0;
	last = (struct nlmsghdr *)(nft->buf + nft->last);
	last->nlmsg_flags |= NLM_F_ACK;
	nlh = nftnl_batch_end(nft->buf + nft->len, ++nft->seq);
	nft->len += NLMSG_ALIGN(nlh->nlmsg_len);
	nft->last = 0; /* committed: a second commit is a no-op */
	if (!nft->sk)
		return 0;
	r = batch_send(nft);
	if (r < 0 || (r = batch_recv(nft, last->nlmsg_seq)) < 0)
		return r;
	log_debug("nft: batch committed: %u elements added, %u removed, %u other objects",
		  nft->pending.elems_added, nft->pending.elems_removed, nft->pending.objects);
	nft->done.batches++;
	nft->done.elems_added += nft->pending.elems_added;
	nft->done.elems_removed += nft->pending.elems_removed;
	nft->done.objects += nft->pending.objects;
	memset(&nft->pending, 0, sizeof(nft->pending));
	return 0;
}

struct nft_stats nft_stats_take(struct nft *nft)
{
	struct nft_stats s = nft->done;

	memset(&nft->done, 0, sizeof(nft->done));
	return s;
}

/* --- Queries -------------------------------------------------------------------------- */

struct nlmsghdr *nft_req(struct nft *nft, uint16_t type, uint16_t family, uint16_t flags)
{
	memset(nft->rbuf + NFT_RBUF, 0, NFT_REQ); /* padding included: see nft_batch_msg() */
	return nftnl_nlmsg_build_hdr(nft->rbuf + NFT_RBUF, type, family, flags, ++nft->seq);
}

/* Handles one answer to a query: returns 1 when the query is over, else 0. */
static int query_one(struct nft *nft, const struct nlmsghdr *req, const struct nlmsghdr *nlh,
		     int (*cb)(const struct nlmsghdr *nlh, void *data), void *data, int *err)
{
	const struct nlmsgerr *e;
	int r;

	if (nlh->nlmsg_type == NLMSG_ERROR) {
		if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
			*err = *err ? *err : -EBADMSG;
			return 1;
		}
		e = mnl_nlmsg_get_payload(nlh);
		r = e->error < 0 ? e->error : -e->error;
		if (r && !*err) {
			*err = r;
			describe(nft, req, nlh, r);
		}
		return 1;
	}
	if (nlh->nlmsg_type == NLMSG_DONE)
		return 1;
	if (cb && !*err) {
		r = cb(nlh, data);
		if (r < 0)
			*err = r;
	}
	return 0;
}

int nft_query(struct nft *nft, struct nlmsghdr *req,
	      int (*cb)(const struct nlmsghdr *nlh, void *data), void *data)
{
	int err = 0, done = 0, len, fd;
	const struct nlmsghdr *nlh;
	bool intr = false;
	ssize_t n;

	nft->errmsg[0] = '\0';
	if (!nft->sk)
		return -ENOTCONN;
	if (!(req->nlmsg_flags & NLM_F_DUMP))
		req->nlmsg_flags |= NLM_F_ACK;
	fd = mnl_socket_get_fd(nft->sk);
	if (mnl_socket_sendto(nft->sk, req, req->nlmsg_len) < 0)
		return -errno;
	while (!done) {
		n = recv(fd, nft->rbuf, NFT_RBUF, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err ? err : -errno;
		len = (int)n;
		for (nlh = (const struct nlmsghdr *)nft->rbuf; mnl_nlmsg_ok(nlh, len) && !done;
		     nlh = mnl_nlmsg_next(nlh, &len)) {
			if (nlh->nlmsg_seq != req->nlmsg_seq || nlh->nlmsg_pid != nft->portid)
				continue;
			intr |= !!(nlh->nlmsg_flags & NLM_F_DUMP_INTR);
			done = query_one(nft, req, nlh, cb, data, &err);
		}
	}
	if (!err && intr)
		return -EINTR;
	return err;
}
