// SPDX-License-Identifier: Apache-2.0
/* rtnetlink transport: sockets per netns, acked requests with extack, dumps, and one
 * policy-checked attribute parser for every rtnl module. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>

#include "netlink/nl.h"
#include "netlink/netns.h"

#ifndef MNL_SOCKET_DUMP_SIZE
#define MNL_SOCKET_DUMP_SIZE 32768
#endif
#define NL_BUFSIZE MNL_SOCKET_DUMP_SIZE
#define NL_REQ_ZERO 4096 /* longer than any request built here */

struct nl_batch {
	char *buf; /* the requests, back to back */
	size_t len, cap;
	uint32_t *off; /* each request's offset in buf */
	size_t n, nalloc;
	bool done; /* flushed on a dry handle: kept for nl_batch_data() */
};

struct nl_run {
	struct nl *nl;
	int (*cb)(const struct nlmsghdr *nlh, void *data);
	void *data;
	int err;
};

static struct mnl_socket *socket_here(int bus)
{
	int one = 1;
	struct mnl_socket *sk;

	sk = mnl_socket_open2(bus, SOCK_CLOEXEC);
	if (!sk)
		return NULL;
	if (mnl_socket_bind(sk, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = errno;

		mnl_socket_close(sk);
		errno = e;
		return NULL;
	}
	/* Best effort, as iproute2: old kernels lack them and still work. Errors then carry
	 * only the header; the request is still in our buffer. */
	(void)mnl_socket_setsockopt(sk, NETLINK_EXT_ACK, &one, sizeof(one));
	(void)mnl_socket_setsockopt(sk, NETLINK_CAP_ACK, &one, sizeof(one));
	/* Lets the kernel filter rtnetlink dumps by ifindex and table. */
	if (bus == NETLINK_ROUTE)
		(void)mnl_socket_setsockopt(sk, NETLINK_GET_STRICT_CHK, &one, sizeof(one));
	return sk;
}

int nl_socket_open(int bus, int netns_fd, struct mnl_socket **ret_sk)
{
	struct mnl_socket *sk;
	int saved = -1, r, l;

	if (netns_fd >= 0 && (r = netns_enter(netns_fd, &saved)) < 0)
		return r;
	sk = socket_here(bus);
	r = sk ? 0 : -errno;
	if (saved >= 0 && (l = netns_leave(saved)) < 0) {
		/* still in the other netns: nothing may go on */
		if (sk)
			mnl_socket_close(sk);
		return l;
	}
	if (r == 0)
		*ret_sk = sk;
	return r;
}

int nl_open_dry(struct nl *nl)
{
	memset(nl, 0, sizeof(*nl));
	/* Requests are built at the start of buf and must not carry stale bytes in attribute
	 * padding (libmnl 1.0.4 does not clear it); replies are written by the kernel. Zeroing
	 * only the request area leaves the rest unfaulted, which matters where page faults are
	 * dear (a process's whole life here is a few hundred of them). */
	nl->buf = malloc(NL_BUFSIZE);
	if (nl->buf)
		memset(nl->buf, 0, NL_REQ_ZERO);
	return nl->buf ? 0 : -ENOMEM;
}

int nl_open(struct nl *nl, int netns_fd)
{
	int r = nl_open_dry(nl);

	if (r < 0)
		return r;
	r = nl_socket_open(NETLINK_ROUTE, netns_fd, &nl->sk);
	if (r < 0) {
		nl_close(nl);
		return r;
	}
	nl->portid = mnl_socket_get_portid(nl->sk);
	return 0;
}

void nl_close(struct nl *nl)
{
	if (!nl)
		return;
	nl_batch_abort(nl);
	if (nl->sk)
		mnl_socket_close(nl->sk);
	free(nl->buf);
	memset(nl, 0, sizeof(*nl));
}

struct nlmsghdr *nl_msg(struct nl *nl, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh;

	nlh = mnl_nlmsg_put_header(nl->buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	if (++nl->seq == 0)
		nl->seq = 1;
	nlh->nlmsg_seq = nl->seq;
	return nlh;
}

static int extack_cb(const struct nlattr *attr, void *data)
{
	struct nl *nl = data;

	if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
	    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0)
		snprintf(nl->errmsg, sizeof(nl->errmsg), "%s", mnl_attr_get_str(attr));
	return MNL_CB_OK;
}

/* Records the first error of a request, with the extack text found after offset. */
static void run_fail(struct nl_run *r, const struct nlmsghdr *nlh, size_t offset, int err)
{
	if (r->err < 0)
		return;
	r->err = err;
	if (offset && (nlh->nlmsg_flags & NLM_F_ACK_TLVS) && nlh->nlmsg_len > offset)
		(void)mnl_attr_parse(nlh, offset - sizeof(*nlh), extack_cb, r->nl);
}

static int run_error_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	struct nl_run *r = data;
	size_t offset;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
		run_fail(r, nlh, 0, -EBADMSG);
		return MNL_CB_STOP;
	}
	if (e->error == 0)
		return MNL_CB_STOP;
	/* The request is echoed back unless the kernel honoured NETLINK_CAP_ACK. */
	offset = mnl_nlmsg_size(sizeof(*e));
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		offset += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	run_fail(r, nlh, offset, e->error < 0 ? e->error : -e->error);
	return MNL_CB_STOP;
}

static int run_done_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nl_run *r = data;
	int e;

	if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int)) {
		memcpy(&e, mnl_nlmsg_get_payload(nlh), sizeof(e));
		if (e < 0)
			run_fail(r, nlh, mnl_nlmsg_size(sizeof(int)), e);
	}
	return MNL_CB_STOP;
}

static int run_data_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nl_run *r = data;
	int e;

	/* After a callback failed the rest is still read, so the socket stays in step. */
	if (r->err >= 0 && r->cb) {
		e = r->cb(nlh, r->data);
		if (e < 0)
			r->err = e;
	}
	return MNL_CB_OK;
}

/* Reads and drops the rest of an interrupted dump, up to its NLMSG_DONE or error. */
static void nl_drain(struct nl *nl, ssize_t n, unsigned int seq)
{
	const struct nlmsghdr *nlh;
	int len;

	for (;;) {
		len = (int)n;
		for (nlh = (const struct nlmsghdr *)nl->buf; mnl_nlmsg_ok(nlh, len);
		     nlh = mnl_nlmsg_next(nlh, &len))
			if (nlh->nlmsg_seq == seq &&
			    (nlh->nlmsg_type == NLMSG_DONE || nlh->nlmsg_type == NLMSG_ERROR))
				return;
		do
			n = mnl_socket_recvfrom(nl->sk, nl->buf, NL_BUFSIZE);
		while (n < 0 && errno == EINTR);
		if (n <= 0)
			return;
	}
}

static int nl_run(struct nl *nl, struct nlmsghdr *nlh,
		  int (*cb)(const struct nlmsghdr *nlh, void *data), void *data)
{
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = {
		[NLMSG_ERROR] = run_error_cb,
		[NLMSG_DONE] = run_done_cb,
	};
	struct nl_run r = {.nl = nl, .cb = cb, .data = data};
	unsigned int seq = nlh->nlmsg_seq;
	ssize_t n;
	int ret;

	nl->errmsg[0] = '\0';
	if (!nl->sk)
		return 0;
	if (mnl_socket_sendto(nl->sk, nlh, nlh->nlmsg_len) < 0)
		return nl_fail(nl, -errno, NULL);
	do {
		n = mnl_socket_recvfrom(nl->sk, nl->buf, NL_BUFSIZE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return nl_fail(nl, -errno, NULL);
		ret = mnl_cb_run2(nl->buf, n, seq, nl->portid, run_data_cb, &r, ctl,
				  NLMSG_MIN_TYPE);
		if (ret < 0 && errno == EINTR) {
			nl_drain(nl, n, seq);
			return nl_fail(nl, -EINTR, "dump interrupted by a concurrent change");
		}
		if (ret < 0)
			return nl_fail(nl, -errno, NULL);
	} while (ret != MNL_CB_STOP);
	if (r.err < 0 && !nl->errmsg[0])
		return nl_fail(nl, r.err, NULL);
	return r.err < 0 ? r.err : 0;
}

static int batch_queue(struct nl *nl, const struct nlmsghdr *nlh);

int nl_talk(struct nl *nl, struct nlmsghdr *nlh, int (*cb)(const struct nlmsghdr *nlh, void *data),
	    void *data)
{
	nlh->nlmsg_flags |= NLM_F_ACK;
	if (nl->batch && !nl->batch->done) {
		if (cb)
			return nl_fail(nl, -EINVAL, "a batched request cannot take replies");
		return batch_queue(nl, nlh);
	}
	return nl_run(nl, nlh, cb, data);
}

int nl_dump(struct nl *nl, struct nlmsghdr *nlh, int (*cb)(const struct nlmsghdr *nlh, void *data),
	    void *data)
{
	nlh->nlmsg_flags |= NLM_F_DUMP;
	return nl_run(nl, nlh, cb, data);
}

int nl_fail(struct nl *nl, int err, const char *msg)
{
	snprintf(nl->errmsg, sizeof(nl->errmsg), "%s", msg ? msg : strerror(-err));
	return err;
}

const char *nl_errmsg(const struct nl *nl)
{
	return nl->errmsg;
}

struct nl_tb {
	const enum mnl_attr_data_type *policy;
	unsigned int max;
	const struct nlattr **tb;
};

static int nl_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nl_tb *t = data;
	unsigned int type = mnl_attr_get_type(attr);

	if (type > t->max)
		return MNL_CB_OK;
	if (t->policy[type] != MNL_TYPE_UNSPEC && mnl_attr_validate(attr, t->policy[type]) < 0)
		return MNL_CB_ERROR;
	t->tb[type] = attr;
	return MNL_CB_OK;
}

int nl_parse(const struct nlmsghdr *nlh, size_t offset, const enum mnl_attr_data_type *policy,
	     unsigned int max, const struct nlattr **tb)
{
	struct nl_tb t = {policy, max, tb};

	memset(tb, 0, (max + 1) * sizeof(*tb));
	if (nlh->nlmsg_len < mnl_nlmsg_size(offset))
		return -EINVAL;
	return mnl_attr_parse(nlh, offset, nl_attr_cb, &t) < 0 ? -EINVAL : 0;
}

int nl_parse_nested(const struct nlattr *nest, const enum mnl_attr_data_type *policy,
		    unsigned int max, const struct nlattr **tb)
{
	struct nl_tb t = {policy, max, tb};

	memset(tb, 0, (max + 1) * sizeof(*tb));
	return mnl_attr_parse_nested(nest, nl_attr_cb, &t) < 0 ? -EINVAL : 0;
}

/* Batches. The kernel runs a socket's requests in the sender's sendmsg() call and queues
 * every ack on our receive buffer before sendmsg() returns; an ack that does not fit is
 * dropped (the next recv fails with ENOBUFS). So a chunk sent at once is bounded by the
 * send buffer (its bytes) and by the receive buffer (its acks), and its acks are read
 * before the next chunk goes. */
#define NL_BATCH_BUF_MAX (8U << 20) /* socket buffer asked for at most (the kernel doubles it) */
#define NL_BATCH_ACK_COST 2048U /* receive buffer one ack may take (skb truesize, with extack) */
#define NL_BATCH_SLOTS 32 /* datagrams per recvmmsg() */
#define NL_BATCH_SLOT (NL_BUFSIZE / NL_BATCH_SLOTS)

int nl_batch_begin(struct nl *nl)
{
	if (nl->batch && nl->batch->done)
		nl_batch_abort(nl);
	if (nl->batch)
		return nl_fail(nl, -EBUSY, "a batch is already open");
	nl->batch = calloc(1, sizeof(*nl->batch));
	return nl->batch ? 0 : nl_fail(nl, -ENOMEM, NULL);
}

size_t nl_batch_count(const struct nl *nl)
{
	return nl->batch ? nl->batch->n : 0;
}

const void *nl_batch_data(const struct nl *nl, size_t *ret_len)
{
	*ret_len = nl->batch ? nl->batch->len : 0;
	return nl->batch ? nl->batch->buf : NULL;
}

void nl_batch_abort(struct nl *nl)
{
	if (!nl->batch)
		return;
	free(nl->batch->buf);
	free(nl->batch->off);
	free(nl->batch);
	nl->batch = NULL;
}

static int batch_queue(struct nl *nl, const struct nlmsghdr *nlh)
{
	struct nl_batch *b = nl->batch;
	size_t len = NLMSG_ALIGN(nlh->nlmsg_len);
	void *p;

	if (b->len + len > UINT32_MAX)
		return nl_fail(nl, -E2BIG, "batch too large");
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16384;

		while (cap < b->len + len)
			cap *= 2;
		p = realloc(b->buf, cap);
		if (!p)
			return nl_fail(nl, -ENOMEM, NULL);
		b->buf = p;
		b->cap = cap;
	}
	if (b->n == b->nalloc) {
		size_t na = b->nalloc ? b->nalloc * 2 : 256;

		p = realloc(b->off, na * sizeof(*b->off));
		if (!p)
			return nl_fail(nl, -ENOMEM, NULL);
		b->off = p;
		b->nalloc = na;
	}
	memcpy(b->buf + b->len, nlh, nlh->nlmsg_len);
	memset(b->buf + b->len + nlh->nlmsg_len, 0, len - nlh->nlmsg_len);
	b->off[b->n++] = (uint32_t)b->len;
	b->len += len;
	return 0;
}

/* Makes the socket buffer opt at least want bytes (the kernel doubles what it is given;
 * the FORCE variant passes rmem_max/wmem_max with CAP_NET_ADMIN). Returns what it is. */
static unsigned int grow_buf(int fd, int opt, int force, unsigned int want)
{
	int v = 0;
	socklen_t l = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, opt, &v, &l) == 0 && v > 0 && (unsigned int)v >= want)
		return (unsigned int)v;
	v = (int)(want / 2 + 1);
	if (setsockopt(fd, SOL_SOCKET, force, &v, sizeof(v)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, opt, &v, sizeof(v));
	l = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, opt, &v, &l) < 0 || v <= 0)
		return 0;
	return (unsigned int)v;
}

static uint32_t batch_seq(const struct nl_batch *b, size_t i)
{
	return ((const struct nlmsghdr *)(b->buf + b->off[i]))->nlmsg_seq;
}

static struct nlmsghdr *batch_msg(const struct nl_batch *b, size_t i)
{
	return (struct nlmsghdr *)(b->buf + b->off[i]);
}

static size_t batch_end(const struct nl_batch *b, size_t i)
{
	return i + 1 < b->n ? b->off[i + 1] : b->len;
}

/* The result an ack carries; the first failure's extack text goes to nl->errmsg. */
static int batch_ack_error(struct nl *nl, const struct nlmsghdr *nlh, size_t avail, bool first)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	struct nl_run r = {.nl = nl};

	if (avail < sizeof(*nlh) + sizeof(int))
		return -EBADMSG;
	if (e->error == 0)
		return 0;
	if (!first || avail < nlh->nlmsg_len)
		return e->error < 0 ? e->error : -e->error;
	(void)run_error_cb(nlh, &r);
	if (!nl->errmsg[0])
		nl_fail(nl, r.err, NULL);
	return r.err;
}

/* Reads the acks of requests [i, end) into res[]. Returns 0 or -errno (transport). */
static int batch_read(struct nl *nl, size_t i, size_t end, int *res, size_t *nfailed)
{
	struct nl_batch *b = nl->batch;
	struct mmsghdr mm[NL_BATCH_SLOTS];
	struct iovec iov[NL_BATCH_SLOTS];
	int fd = mnl_socket_get_fd(nl->sk), k, got;

	while (i < end) {
		memset(mm, 0, sizeof(mm));
		for (k = 0; k < NL_BATCH_SLOTS; k++) {
			iov[k].iov_base = nl->buf + (size_t)k * NL_BATCH_SLOT;
			iov[k].iov_len = NL_BATCH_SLOT;
			mm[k].msg_hdr.msg_iov = &iov[k];
			mm[k].msg_hdr.msg_iovlen = 1;
		}
		got = recvmmsg(fd, mm, NL_BATCH_SLOTS, MSG_WAITFORONE, NULL);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		for (k = 0; k < got && i < end; k++) {
			const struct nlmsghdr *nlh = iov[k].iov_base;
			size_t avail =
				mm[k].msg_len < NL_BATCH_SLOT ? mm[k].msg_len : NL_BATCH_SLOT;
			size_t j;

			/* An ack is alone in its datagram: the kernel sends each one by itself. A
			 * truncated one still has its header and error code. */
			if (avail < sizeof(*nlh) || nlh->nlmsg_type != NLMSG_ERROR)
				continue;
			/* In order; anything else (a late reply of an earlier call) is skipped. */
			for (j = i; j < end && batch_seq(b, j) != nlh->nlmsg_seq; j++)
				;
			if (j == end)
				continue;
			res[j] = batch_ack_error(nl, nlh, avail, *nfailed == 0);
			if (res[j] < 0)
				++*nfailed;
			/* the requests before it that were sent without NLM_F_ACK and are not
			 * answered succeeded (the kernel answers a failed request whatever its
			 * flags, in order); one with NLM_F_ACK but no ack cannot happen in order */
			for (; i < j; i++) {
				if (res[i] != 1)
					continue;
				if (!(batch_msg(b, i)->nlmsg_flags & NLM_F_ACK)) {
					res[i] = 0;
					continue;
				}
				res[i] = -EPROTO;
				++*nfailed;
			}
			i = j + 1;
		}
	}
	return 0;
}

int nl_batch_flush(struct nl *nl, int *errs, size_t nerrs)
{
	struct nl_batch *b = nl->batch;
	unsigned int sndbuf, rcvbuf;
	size_t i = 0, j, k, nfailed = 0, per;
	int *res = NULL, r = 0, fd;

	if (!b || b->done)
		return nl_fail(nl, -EINVAL, "no batch open");
	nl->errmsg[0] = '\0';
	for (k = 0; errs && k < nerrs; k++)
		errs[k] = 0;
	if (!nl->sk || !b->n)
		goto out;
	res = malloc(b->n * sizeof(*res));
	if (!res) {
		r = nl_fail(nl, -ENOMEM, NULL);
		goto out;
	}
	for (k = 0; k < b->n; k++)
		res[k] = 1; /* no ack yet */
	fd = mnl_socket_get_fd(nl->sk);
	sndbuf = grow_buf(fd, SO_SNDBUF, SO_SNDBUFFORCE,
			  b->len + 4096 < NL_BATCH_BUF_MAX ? (unsigned int)b->len + 4096
							   : NL_BATCH_BUF_MAX);
	rcvbuf = grow_buf(fd, SO_RCVBUF, SO_RCVBUFFORCE,
			  b->n < NL_BATCH_BUF_MAX / NL_BATCH_ACK_COST
				  ? (unsigned int)b->n * NL_BATCH_ACK_COST + 65536
				  : NL_BATCH_BUF_MAX);
	/* acks a chunk may leave waiting; half the buffer is slack for anything else queued */
	per = rcvbuf / 2 / NL_BATCH_ACK_COST;
	if (per < 1)
		per = 1;
	while (i < b->n) {
		/* the largest chunk from i that both buffers hold (at least one request) */
		for (j = i + 1;
		     j < b->n && j - i < per && batch_end(b, j) - b->off[i] + 32 <= sndbuf; j++)
			;
		/* only the chunk's last request asks for an ack: a failed one is answered
		 * anyway, so the ack of the last says the silent ones before it succeeded */
		for (k = i; k + 1 < j; k++)
			batch_msg(b, k)->nlmsg_flags &= (uint16_t)~NLM_F_ACK;
		do
			r = (int)mnl_socket_sendto(nl->sk, b->buf + b->off[i],
						   batch_end(b, j - 1) - b->off[i]);
		while (r < 0 && errno == EINTR);
		if (r < 0) {
			r = -errno;
			break;
		}
		r = batch_read(nl, i, j, res, &nfailed);
		if (r < 0)
			break;
		i = j;
	}
	for (k = 0; k < b->n; k++) {
		if (res[k] == 1) {
			res[k] = r < 0 ? r : -EPROTO;
			nfailed++;
		}
		if (errs && k < nerrs)
			errs[k] = res[k];
	}
	if (r < 0) {
		/* Acks of this batch may still be queued (or lost: ENOBUFS); the next request on
		 * the socket must not read them as its own. */
		while (recv(fd, nl->buf, NL_BUFSIZE, MSG_DONTWAIT) > 0 || errno == EINTR ||
		       errno == ENOBUFS)
			;
		nl_fail(nl, r, NULL);
	} else {
		r = (int)nfailed;
	}
out:
	free(res);
	if (nl->sk)
		nl_batch_abort(nl);
	else
		b->done = true;
	return r;
}
