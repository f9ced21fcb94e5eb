// SPDX-License-Identifier: Apache-2.0
/* NFLOG over libmnl: the group bound with one config message, packets read without
 * blocking and parsed from their attributes and the first bytes of their IP header. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <libmnl/libmnl.h>

#include "nft/nflog.h"
#include "base/err.h"
#include "netlink/nl.h"

#define NFLOG_BUFSIZE 65536
#define NFLOG_RCVBUF (1U << 20) /* a burst of drops queued while the reader is busy */

/* --- Parsing ------------------------------------------------------------------------- */

static bool has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_UDPLITE ||
	       proto == IPPROTO_SCTP || proto == IPPROTO_DCCP;
}

/* The transport header at l4 (len bytes of it in the copy): ports or ICMP type/code */
static void parse_l4(const uint8_t *l4, size_t len, struct nflog_pkt *p)
{
	if (has_ports(p->proto) && len >= 4) {
		p->has_ports = true;
		p->sport = (uint16_t)(l4[0] << 8 | l4[1]);
		p->dport = (uint16_t)(l4[2] << 8 | l4[3]);
	} else if ((p->proto == IPPROTO_ICMP || p->proto == IPPROTO_ICMPV6) && len >= 2) {
		p->has_icmp = true;
		p->icmp_type = l4[0];
		p->icmp_code = l4[1];
	}
}

static int parse_ip4(const uint8_t *d, size_t len, struct nflog_pkt *p)
{
	size_t ihl;

	if (len < 20 || (d[0] & 0x0f) < 5)
		return -EINVAL;
	ihl = (size_t)(d[0] & 0x0f) * 4;
	p->src.family = p->dst.family = AF_INET;
	memcpy(p->src.b, d + 12, 4);
	memcpy(p->dst.b, d + 16, 4);
	p->proto = d[9];
	p->len = (uint32_t)(d[2] << 8 | d[3]);
	/* a later fragment carries no transport header */
	if (((d[6] & 0x1f) << 8 | d[7]) == 0 && len > ihl)
		parse_l4(d + ihl, len - ihl, p);
	return 0;
}

/* The extension headers nftables' `meta l4proto` skips too, to the transport header */
static int parse_ip6(const uint8_t *d, size_t len, struct nflog_pkt *p)
{
	uint8_t nh;
	size_t off = 40, hl;
	int n;

	if (len < 40)
		return -EINVAL;
	p->src.family = p->dst.family = AF_INET6;
	memcpy(p->src.b, d + 8, 16);
	memcpy(p->dst.b, d + 24, 16);
	p->len = (uint32_t)(d[4] << 8 | d[5]) + 40;
	nh = d[6];
	for (n = 0; n < 8; n++) {
		if (nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING || nh == IPPROTO_DSTOPTS) {
			if (off + 2 > len)
				break;
			hl = ((size_t)d[off + 1] + 1) * 8;
		} else if (nh == IPPROTO_FRAGMENT) {
			if (off + 8 > len)
				break;
			if ((d[off + 2] << 8 | d[off + 3]) & 0xfff8) {
				p->proto = d[off]; /* a later fragment: no transport header */
				return 0;
			}
			hl = 8;
		} else {
			break;
		}
		nh = d[off];
		off += hl;
	}
	p->proto = nh;
	if (off < len)
		parse_l4(d + off, len - off, p);
	return 0;
}

int nflog_parse_ip(const void *data, size_t len, struct nflog_pkt *p)
{
	const uint8_t *d = data;

	if (len < 1)
		return -EINVAL;
	switch (d[0] >> 4) {
	case 4:
		return parse_ip4(d, len, p);
	case 6:
		return parse_ip6(d, len, p);
	}
	return -EINVAL;
}

/* The minimal length of each attribute we read; 0: not read */
static const uint16_t attr_min[NFULA_MAX + 1] = {
	[NFULA_PACKET_HDR] = sizeof(struct nfulnl_msg_packet_hdr),
	[NFULA_TIMESTAMP] = sizeof(struct nfulnl_msg_packet_timestamp),
	[NFULA_IFINDEX_INDEV] = 4,
	[NFULA_IFINDEX_OUTDEV] = 4,
	[NFULA_IFINDEX_PHYSINDEV] = 4,
	[NFULA_IFINDEX_PHYSOUTDEV] = 4,
};

static int attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(a);

	if (type > NFULA_MAX)
		return MNL_CB_OK; /* a newer kernel's */
	if (mnl_attr_get_payload_len(a) < attr_min[type])
		return MNL_CB_ERROR;
	tb[type] = a;
	return MNL_CB_OK;
}

static uint32_t be32_attr(const struct nlattr *a)
{
	uint32_t v;

	memcpy(&v, mnl_attr_get_payload(a), 4);
	return ntohl(v);
}

static uint64_t be64_at(const uint8_t *b)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}

static void parse_attrs(const struct nlattr **tb, struct nflog_pkt *p)
{
	const struct nfulnl_msg_packet_hdr *h = mnl_attr_get_payload(tb[NFULA_PACKET_HDR]);

	p->hook = h->hook;
	if (tb[NFULA_TIMESTAMP]) {
		const uint8_t *t = mnl_attr_get_payload(tb[NFULA_TIMESTAMP]);

		p->sec = (int64_t)be64_at(t);
		p->usec = (int64_t)be64_at(t + 8);
		p->has_ts = true;
	}
	if (tb[NFULA_IFINDEX_INDEV])
		p->indev = be32_attr(tb[NFULA_IFINDEX_INDEV]);
	if (tb[NFULA_IFINDEX_OUTDEV])
		p->outdev = be32_attr(tb[NFULA_IFINDEX_OUTDEV]);
	if (tb[NFULA_IFINDEX_PHYSINDEV])
		p->physindev = be32_attr(tb[NFULA_IFINDEX_PHYSINDEV]);
	if (tb[NFULA_IFINDEX_PHYSOUTDEV])
		p->physoutdev = be32_attr(tb[NFULA_IFINDEX_PHYSOUTDEV]);
	if (tb[NFULA_PREFIX]) {
		/* a string the kernel NUL-terminates; copied up to its NUL or its end */
		const char *s = mnl_attr_get_payload(tb[NFULA_PREFIX]);
		size_t n = strnlen(s, mnl_attr_get_payload_len(tb[NFULA_PREFIX]));

		if (n >= sizeof(p->prefix))
			n = sizeof(p->prefix) - 1;
		memcpy(p->prefix, s, n);
		p->prefix[n] = '\0';
	}
	if (tb[NFULA_PAYLOAD])
		(void)nflog_parse_ip(mnl_attr_get_payload(tb[NFULA_PAYLOAD]),
				     mnl_attr_get_payload_len(tb[NFULA_PAYLOAD]), p);
}

int nflog_parse(const struct nlmsghdr *nlh, struct nflog_pkt *p)
{
	const char *tail = (const char *)nlh + nlh->nlmsg_len;
	const struct nlattr *tb[NFULA_MAX + 1] = {0};
	const struct nfgenmsg *g;
	struct nlattr *a;

	memset(p, 0, sizeof(*p));
	if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(*g) ||
	    nlh->nlmsg_type != (NFNL_SUBSYS_ULOG << 8 | NFULNL_MSG_PACKET))
		return -EINVAL;
	g = mnl_nlmsg_get_payload(nlh);
	p->family = g->nfgen_family == NFPROTO_IPV4 || g->nfgen_family == NFPROTO_IPV6
			    ? g->nfgen_family
			    : 0;
	p->group = ntohs(g->res_id);
	/* the message is nlmsg_len bytes, not that aligned (mnl_attr_for_each's tail), so an
	 * attribute can never reach past what was received; the walk stops at one that runs
	 * past the message, which is malformed too */
	for (a = mnl_nlmsg_get_payload_offset(nlh, sizeof(*g));
	     mnl_attr_ok(a, (int)(tail - (const char *)a)); a = mnl_attr_next(a))
		if (attr_cb(a, tb) != MNL_CB_OK)
			return -EINVAL;
	if ((const char *)a < tail || !tb[NFULA_PACKET_HDR])
		return -EINVAL;
	parse_attrs(tb, p);
	return 0;
}

/* --- The socket ---------------------------------------------------------------------- */

static struct nlmsghdr *config_msg(struct nflog *l, char *buf)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *g;

	nlh->nlmsg_type = NFNL_SUBSYS_ULOG << 8 | NFULNL_MSG_CONFIG;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = ++l->seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = AF_UNSPEC;
	g->version = NFNETLINK_V0;
	g->res_id = htons(l->group);
	return nlh;
}

/* Sends one config message and reads its ack: 0 or -errno */
static int talk(struct nflog *l, struct nlmsghdr *nlh)
{
	int r;

	if (mnl_socket_sendto(l->sk, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		r = (int)mnl_socket_recvfrom(l->sk, l->buf, NFLOG_BUFSIZE);
		if (r < 0)
			return -errno;
		r = mnl_cb_run(l->buf, (size_t)r, nlh->nlmsg_seq, l->portid, NULL, NULL);
		if (r < 0)
			return -errno;
		if (r == MNL_CB_STOP)
			return 0;
	}
}

/* Bind, then the mode: packets copied (NFLOG_COPY_RANGE bytes), each sent as it comes
 * (queue threshold 1: the kernel's default batches up to 100 for a second) */
static int bind_group(struct nflog *l)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nfulnl_msg_config_cmd cmd = {.command = NFULNL_CFG_CMD_BIND};
	struct nfulnl_msg_config_mode mode = {
		.copy_range = htonl(NFLOG_COPY_RANGE),
		.copy_mode = NFULNL_COPY_PACKET,
	};
	struct nlmsghdr *nlh;
	int r;

	memset(buf, 0, sizeof(buf));
	nlh = config_msg(l, buf);
	mnl_attr_put(nlh, NFULA_CFG_CMD, sizeof(cmd), &cmd);
	r = talk(l, nlh);
	if (r < 0)
		return r;
	memset(buf, 0, sizeof(buf));
	nlh = config_msg(l, buf);
	mnl_attr_put(nlh, NFULA_CFG_MODE, sizeof(mode), &mode);
	mnl_attr_put_u32(nlh, NFULA_CFG_QTHRESH, htonl(1));
	mnl_attr_put_u32(nlh, NFULA_CFG_TIMEOUT, htonl(1));
	return talk(l, nlh);
}

/* Does this process have CAP_NET_ADMIN (CapEff bit 12)? */
static bool net_admin(void)
{
	unsigned long long eff = 0;
	char line[128];
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	return eff & (1ULL << 12);
}

int nflog_open(struct nflog *l, uint16_t group, int netns_fd, struct err *err)
{
	int r, fl;
	int rcv = NFLOG_RCVBUF;

	memset(l, 0, sizeof(*l));
	l->group = group;
	l->buf = malloc(NFLOG_BUFSIZE);
	if (!l->buf)
		return err_fail(err, CNI_ERR_INTERNAL, -ENOMEM, "out of memory");
	r = nl_socket_open(NETLINK_NETFILTER, netns_fd, &l->sk);
	if (r < 0) {
		nflog_close(l);
		return err_kernel(err, r, NULL, "NFLOG group %u: netlink socket", group);
	}
	l->portid = mnl_socket_get_portid(l->sk);
	(void)setsockopt(mnl_socket_get_fd(l->sk), SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	r = bind_group(l);
	/* the kernel answers EPERM to a port binding a group another port holds (EBUSY to
	 * the same port binding it twice); EPERM without CAP_NET_ADMIN too */
	if (r == -EBUSY || (r == -EPERM && net_admin())) {
		nflog_close(l);
		return err_fail(err, CNI_ERR_KERNEL, -EBUSY,
				"NFLOG group %u is bound by another listener in this netns", group);
	}
	if (r < 0) {
		nflog_close(l);
		return err_kernel(err, r, NULL, "NFLOG group %u: bind", group);
	}
	fl = fcntl(mnl_socket_get_fd(l->sk), F_GETFL);
	if (fl < 0 || fcntl(mnl_socket_get_fd(l->sk), F_SETFL, fl | O_NONBLOCK) < 0) {
		r = -errno;
		nflog_close(l);
		return err_kernel(err, r, NULL, "NFLOG group %u: non-blocking", group);
	}
	return 0;
}

int nflog_fd(const struct nflog *l)
{
	return l->sk ? mnl_socket_get_fd(l->sk) : -1;
}

struct read_ctx {
	int (*cb)(const struct nflog_pkt *p, void *data);
	void *data;
	int n, stop;
};

static int msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct read_ctx *x = data;
	struct nflog_pkt p;
	struct timespec ts;
	int r;

	if (nflog_parse(nlh, &p) < 0)
		return MNL_CB_OK; /* not a packet (or a malformed one): skipped */
	if (!p.has_ts) {
		clock_gettime(CLOCK_REALTIME, &ts);
		p.sec = ts.tv_sec;
		p.usec = ts.tv_nsec / 1000;
	}
	x->n++;
	r = x->cb(&p, x->data);
	if (r < 0) {
		x->stop = r;
		return MNL_CB_STOP;
	}
	return MNL_CB_OK;
}

int nflog_read(struct nflog *l, int (*cb)(const struct nflog_pkt *p, void *data), void *data,
	       struct err *err)
{
	struct read_ctx x = {.cb = cb, .data = data};
	ssize_t got;

	while (!x.stop) {
		got = recv(mnl_socket_get_fd(l->sk), l->buf, NFLOG_BUFSIZE, MSG_DONTWAIT);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0 && errno == ENOBUFS) {
			l->lost++; /* the queue overflowed: what was lost is lost, go on */
			continue;
		}
		if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (got < 0)
			return err_kernel(err, -errno, NULL, "NFLOG group %u: receive", l->group);
		/* packets carry sequence 0 and port 0: neither is checked */
		(void)mnl_cb_run(l->buf, (size_t)got, 0, 0, msg_cb, &x);
	}
	return x.stop ? x.stop : x.n;
}

void nflog_close(struct nflog *l)
{
	if (!l)
		return;
	/* closing the socket releases the group: the kernel drops the instances of a port
	 * that goes away */
	if (l->sk)
		mnl_socket_close(l->sk);
	free(l->buf);
	memset(l, 0, sizeof(*l));
}
