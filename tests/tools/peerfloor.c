// SPDX-License-Identifier: Apache-2.0
/* peerfloor: the floor for "1,000 peer leases written at once": the kernel's own time for
 * the netlink messages that program COUNT VXLAN peers, sent by the simplest program (per
 * peer: neighbour, FDB entry, onlink route, each one request then wait for its ack, raw
 * libmnl), against overlay_peers_apply() programming the same peers (pipelined batches).
 *
 *   peerfloor [-6] DEV UNDERLAY COUNT SUBNET_BASE PUBLIC_BASE [RUNS]
 *   e.g. peerfloor sluice.1 eth0 1000 10.128.0.0/24 10.200.0.1 5
 *        peerfloor -6 sluice-v6.1 eth0 1000 fd00:128::/64 fd00:200::1 5
 *
 * DEV is an existing VXLAN device, UNDERLAY its underlay link (unused by VXLAN peers, part of
 * struct overlay_where). Peer i gets subnet i after SUBNET_BASE (same length), public IP
 * PUBLIC_BASE + i and VTEP MAC 02:0f:<i>. Each run starts from a device without those
 * peers (removed, untimed), times the floor, removes them again, times the library. Prints
 * one JSON object: {"peers","messages","runs","floor_ns","apply_ns","ratio",
 * "floor_runs_ns":[...],"apply_runs_ns":[...]} with medians, ratio = apply_ns / floor_ns.
 * Leaves the last run's peers programmed (the test reads them back). Root, in a netns. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <net/if.h>
#include <sys/socket.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>
#include <cjson/cJSON.h>

#include "base/err.h"
#include "base/ip.h"
#include "netlink/nl.h"
#include "overlay/peer.h"

static long long now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* The i-th prefix of a's length after a. */
static struct ip_addr nth(const struct ip_addr *a, unsigned int len, unsigned long i)
{
	struct ip_addr r = *a;
	unsigned int shift = ip_bits(a->family) - len;
	unsigned long long v = (unsigned long long)i << (shift % 8), carry = 0;

	for (int by = (int)ip_bytes(a->family) - 1 - (int)(shift / 8); by >= 0; by--) {
		unsigned long long sum = r.b[by] + (v & 0xff) + carry;

		r.b[by] = (uint8_t)sum;
		carry = sum >> 8;
		v >>= 8;
	}
	return r;
}

/* One request, then its ack: the simplest way. */
static int talk(struct mnl_socket *sk, struct nlmsghdr *nlh, char *buf, size_t len)
{
	const struct nlmsgerr *e;
	ssize_t n;

	if (mnl_socket_sendto(sk, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	n = mnl_socket_recvfrom(sk, buf, len);
	if (n < 0)
		return -errno;
	nlh = (struct nlmsghdr *)buf;
	if (nlh->nlmsg_type != NLMSG_ERROR)
		return -EPROTO;
	e = mnl_nlmsg_get_payload(nlh);
	return e->error;
}

static int floor_run(struct mnl_socket *sk, const struct overlay_where *w,
		     const struct overlay_peer *p, size_t n)
{
	char buf[MNL_SOCKET_BUFFER_SIZE], rbuf[MNL_SOCKET_BUFFER_SIZE];
	unsigned int seq = 1, al = ip_bytes(w->family);
	struct nlmsghdr *nlh;
	struct ndmsg *nd;
	struct rtmsg *rtm;
	int r;

	for (size_t i = 0; i < n; i++) {
		struct ip_addr net = p[i].subnet.ip;

		memset(buf, 0, sizeof(buf));
		nlh = mnl_nlmsg_put_header(buf);
		nlh->nlmsg_type = RTM_NEWNEIGH;
		nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
		nlh->nlmsg_seq = seq++;
		nd = mnl_nlmsg_put_extra_header(nlh, sizeof(*nd));
		nd->ndm_family = (uint8_t)w->family;
		nd->ndm_ifindex = w->dev;
		nd->ndm_state = NUD_PERMANENT;
		mnl_attr_put(nlh, NDA_DST, al, net.b);
		mnl_attr_put(nlh, NDA_LLADDR, 6, p[i].mac);
		if ((r = talk(sk, nlh, rbuf, sizeof(rbuf))) < 0)
			return r;

		memset(buf, 0, sizeof(buf));
		nlh = mnl_nlmsg_put_header(buf);
		nlh->nlmsg_type = RTM_NEWNEIGH;
		nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
		nlh->nlmsg_seq = seq++;
		nd = mnl_nlmsg_put_extra_header(nlh, sizeof(*nd));
		nd->ndm_family = AF_BRIDGE;
		nd->ndm_ifindex = w->dev;
		nd->ndm_state = NUD_PERMANENT;
		nd->ndm_flags = NTF_SELF;
		mnl_attr_put(nlh, NDA_DST, al, p[i].public_ip.b);
		mnl_attr_put(nlh, NDA_LLADDR, 6, p[i].mac);
		if ((r = talk(sk, nlh, rbuf, sizeof(rbuf))) < 0)
			return r;

		memset(buf, 0, sizeof(buf));
		nlh = mnl_nlmsg_put_header(buf);
		nlh->nlmsg_type = RTM_NEWROUTE;
		nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
		nlh->nlmsg_seq = seq++;
		rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
		rtm->rtm_family = (uint8_t)w->family;
		rtm->rtm_dst_len = (uint8_t)p[i].subnet.len;
		rtm->rtm_table = RT_TABLE_MAIN;
		rtm->rtm_protocol = OVERLAY_RTPROT;
		rtm->rtm_scope = RT_SCOPE_UNIVERSE;
		rtm->rtm_type = RTN_UNICAST;
		rtm->rtm_flags = RTNH_F_ONLINK;
		mnl_attr_put_u32(nlh, RTA_TABLE, RT_TABLE_MAIN);
		mnl_attr_put(nlh, RTA_DST, al, net.b);
		mnl_attr_put(nlh, RTA_GATEWAY, al, net.b);
		mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)w->dev);
		if ((r = talk(sk, nlh, rbuf, sizeof(rbuf))) < 0)
			return r;
	}
	return 0;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

static long long median(long long *v, int n)
{
	long long *s = malloc((size_t)n * sizeof(*s));
	long long m;

	if (!s)
		return v[0];
	memcpy(s, v, (size_t)n * sizeof(*s));
	qsort(s, (size_t)n, sizeof(*s), cmp_ll);
	m = s[n / 2];
	free(s);
	return m;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: peerfloor [-6] DEV UNDERLAY COUNT SUBNET_BASE PUBLIC_BASE [RUNS]\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct overlay_where w = {.family = AF_INET};
	struct overlay_peer *p;
	struct ip_prefix base;
	struct ip_addr pub;
	struct mnl_socket *sk;
	long long *fl, *ap;
	struct nl nl;
	struct err err = {0};
	int runs = 3, r;
	unsigned long n;
	cJSON *o, *af, *aa;
	char *s;

	if (argc > 1 && !strcmp(argv[1], "-6")) {
		w.family = AF_INET6;
		argv++;
		argc--;
	}
	if (argc < 6)
		return usage();
	w.dev = (int)if_nametoindex(argv[1]);
	w.underlay = (int)if_nametoindex(argv[2]);
	n = strtoul(argv[3], NULL, 10);
	if (argc > 6)
		runs = atoi(argv[6]);
	if (!w.dev || !w.underlay || !n || runs < 1 || ip_prefix_parse(argv[4], &base) < 0 ||
	    ip_parse(argv[5], &pub) < 0 || base.ip.family != w.family || pub.family != w.family)
		return usage();
	base.ip = ip_prefix_network(&base);
	p = calloc(n, sizeof(*p));
	fl = calloc((size_t)runs, sizeof(*fl));
	ap = calloc((size_t)runs, sizeof(*ap));
	if (!p || !fl || !ap)
		return 1;
	for (unsigned long i = 0; i < n; i++) {
		p[i].subnet.ip = nth(&base.ip, base.len, i);
		p[i].subnet.len = base.len;
		p[i].public_ip = nth(&pub, ip_bits(pub.family), i);
		p[i].mac[0] = 0x02;
		p[i].mac[1] = 0x0f;
		p[i].mac[2] = (uint8_t)(i >> 24);
		p[i].mac[3] = (uint8_t)(i >> 16);
		p[i].mac[4] = (uint8_t)(i >> 8);
		p[i].mac[5] = (uint8_t)i;
	}
	if (nl_open(&nl, -1) < 0 || nl_socket_open(NETLINK_ROUTE, -1, &sk) < 0) {
		fprintf(stderr, "peerfloor: cannot open rtnetlink\n");
		return 1;
	}
	for (int run = 0; run < runs; run++) {
		long long t;

		if (overlay_peers_apply(&nl, &w, NULL, 0, p, n, &err) < 0)
			goto fail;
		t = now_ns();
		r = floor_run(sk, &w, p, n);
		fl[run] = now_ns() - t;
		if (r < 0) {
			fprintf(stderr, "peerfloor: floor: %s\n", strerror(-r));
			return 1;
		}
		if (overlay_peers_apply(&nl, &w, NULL, 0, p, n, &err) < 0)
			goto fail;
		t = now_ns();
		r = overlay_peers_apply(&nl, &w, p, n, NULL, 0, &err);
		ap[run] = now_ns() - t;
		if (r < 0)
			goto fail;
	}
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "peers", (double)n);
	cJSON_AddNumberToObject(o, "messages", (double)n * 3);
	cJSON_AddNumberToObject(o, "runs", runs);
	cJSON_AddNumberToObject(o, "floor_ns", (double)median(fl, runs));
	cJSON_AddNumberToObject(o, "apply_ns", (double)median(ap, runs));
	cJSON_AddNumberToObject(o, "ratio", (double)median(ap, runs) / (double)median(fl, runs));
	af = cJSON_AddArrayToObject(o, "floor_runs_ns");
	aa = cJSON_AddArrayToObject(o, "apply_runs_ns");
	for (int run = 0; run < runs; run++) {
		cJSON_AddItemToArray(af, cJSON_CreateNumber((double)fl[run]));
		cJSON_AddItemToArray(aa, cJSON_CreateNumber((double)ap[run]));
	}
	s = cJSON_PrintUnformatted(o);
	printf("%s\n", s);
	cJSON_free(s);
	cJSON_Delete(o);
	mnl_socket_close(sk);
	nl_close(&nl);
	free(p);
	free(fl);
	free(ap);
	return 0;
fail:
	fprintf(stderr, "peerfloor: %s%s%s\n", err.msg, err.details[0] ? ": " : "", err.details);
	return 1;
}
