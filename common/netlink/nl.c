// SPDX-License-Identifier: Apache-2.0
/* rtnetlink transport: sockets per netns, acked requests with extack, dumps, and one
 * policy-checked attribute parser for every rtnl module. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

int nl_talk(struct nl *nl, struct nlmsghdr *nlh, int (*cb)(const struct nlmsghdr *nlh, void *data),
	    void *data)
{
	nlh->nlmsg_flags |= NLM_F_ACK;
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
