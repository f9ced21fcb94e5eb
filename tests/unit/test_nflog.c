// SPDX-License-Identifier: Apache-2.0
/* NFLOG packet messages (common/nft/nflog.c) built by hand as the kernel sends them and
 * parsed back: prefix, devices, timestamp, IPv4/IPv6 addresses, TCP/UDP/SCTP ports, ICMP,
 * IPv6 extension headers, fragments, truncated copies, malformed attributes. */
#define T_NAME "test_nflog"
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <libmnl/libmnl.h>

#include "base/ip.h"
#include "nft/nflog.h"
#include "t.h"

static char buf[4096];

/* A packet message of group 2718 with the header attribute; the caller adds the rest */
static struct nlmsghdr *pkt_msg(uint8_t family)
{
	struct nfulnl_msg_packet_hdr h = {.hw_protocol = htons(0x0800), .hook = NF_INET_FORWARD};
	struct nlmsghdr *nlh;
	struct nfgenmsg *g;

	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = NFNL_SUBSYS_ULOG << 8 | NFULNL_MSG_PACKET;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = family;
	g->version = NFNETLINK_V0;
	g->res_id = htons(2718);
	mnl_attr_put(nlh, NFULA_PACKET_HDR, sizeof(h), &h);
	return nlh;
}

/* An IPv4 header (20 bytes) with proto, src, dst, then l4 bytes */
static size_t ip4(uint8_t *p, uint8_t proto, const char *src, const char *dst, const uint8_t *l4,
		  size_t l4len, uint16_t frag)
{
	memset(p, 0, 20);
	p[0] = 0x45;
	p[2] = (uint8_t)((20 + l4len + 100) >> 8);
	p[3] = (uint8_t)(20 + l4len + 100);
	p[6] = (uint8_t)(frag >> 8);
	p[7] = (uint8_t)frag;
	p[8] = 64;
	p[9] = proto;
	inet_pton(AF_INET, src, p + 12);
	inet_pton(AF_INET, dst, p + 16);
	memcpy(p + 20, l4, l4len);
	return 20 + l4len;
}

static size_t ip6(uint8_t *p, uint8_t nh, const char *src, const char *dst, const uint8_t *rest,
		  size_t rlen)
{
	memset(p, 0, 40);
	p[0] = 0x60;
	p[4] = (uint8_t)(rlen >> 8);
	p[5] = (uint8_t)rlen;
	p[6] = nh;
	p[7] = 64;
	inet_pton(AF_INET6, src, p + 8);
	inet_pton(AF_INET6, dst, p + 24);
	memcpy(p + 40, rest, rlen);
	return 40 + rlen;
}

static const uint8_t ports_40000_80[] = {0x9c, 0x40, 0x00, 0x50, 0, 0, 0, 0};

static void test_ipv4_tcp_full(void)
{
	struct nfulnl_msg_packet_timestamp ts = {.sec = __builtin_bswap64(1733380000),
						 .usec = __builtin_bswap64(123456)};
	struct nlmsghdr *nlh = pkt_msg(NFPROTO_IPV4);
	uint8_t pl[64];
	size_t n = ip4(pl, IPPROTO_TCP, "10.244.1.2", "10.244.1.3", ports_40000_80, 8, 0x4000);
	struct nflog_pkt p;
	char b[IP_STRLEN];

	mnl_attr_put(nlh, NFULA_TIMESTAMP, sizeof(ts), &ts);
	mnl_attr_put_u32(nlh, NFULA_IFINDEX_INDEV, htonl(7));
	mnl_attr_put_u32(nlh, NFULA_IFINDEX_OUTDEV, htonl(8));
	mnl_attr_put_u32(nlh, NFULA_IFINDEX_PHYSINDEV, htonl(11));
	mnl_attr_put_u32(nlh, NFULA_IFINDEX_PHYSOUTDEV, htonl(12));
	mnl_attr_put(nlh, NFULA_PAYLOAD, n, pl);
	mnl_attr_put_strz(nlh, NFULA_PREFIX, "ci-3f2a9c");
	T_EQ(nflog_parse(nlh, &p), 0);
	T_EQ(p.group, 2718);
	T_EQ(p.family, NFPROTO_IPV4);
	T_EQ(p.hook, NF_INET_FORWARD);
	T_STREQ(p.prefix, "ci-3f2a9c");
	T_ASSERT(p.has_ts);
	T_EQ(p.sec, 1733380000);
	T_EQ(p.usec, 123456);
	T_EQ(p.indev, 7);
	T_EQ(p.outdev, 8);
	T_EQ(p.physindev, 11);
	T_EQ(p.physoutdev, 12);
	T_STREQ(ip_fmt(&p.src, b), "10.244.1.2");
	T_STREQ(ip_fmt(&p.dst, b), "10.244.1.3");
	T_EQ(p.proto, IPPROTO_TCP);
	T_ASSERT(p.has_ports);
	T_EQ(p.sport, 40000);
	T_EQ(p.dport, 80);
	T_ASSERT(!p.has_icmp);
	T_EQ(p.len, 20 + 8 + 100);
}

static void test_ipv4_udp_sctp_icmp(void)
{
	static const uint8_t udp[] = {0x00, 0x35, 0x1f, 0x90};
	static const uint8_t icmp[] = {8, 0, 0, 0};
	static const uint8_t protos[] = {IPPROTO_UDP, IPPROTO_SCTP};
	struct nflog_pkt p;
	uint8_t pl[64];
	size_t n;

	for (size_t i = 0; i < 2; i++) {
		struct nlmsghdr *nlh = pkt_msg(NFPROTO_IPV4);

		n = ip4(pl, protos[i], "10.0.0.1", "10.0.0.2", udp, sizeof(udp), 0);
		mnl_attr_put(nlh, NFULA_PAYLOAD, n, pl);
		T_EQ(nflog_parse(nlh, &p), 0);
		T_EQ(p.proto, protos[i]);
		T_ASSERT(p.has_ports);
		T_EQ(p.sport, 53);
		T_EQ(p.dport, 8080);
		T_ASSERT(!p.has_ts);
		T_STREQ(p.prefix, "");
		T_EQ(p.indev, 0);
	}
	struct nlmsghdr *nlh = pkt_msg(NFPROTO_IPV4);

	n = ip4(pl, IPPROTO_ICMP, "10.0.0.1", "10.0.0.2", icmp, sizeof(icmp), 0);
	mnl_attr_put(nlh, NFULA_PAYLOAD, n, pl);
	T_EQ(nflog_parse(nlh, &p), 0);
	T_EQ(p.proto, IPPROTO_ICMP);
	T_ASSERT(!p.has_ports);
	T_ASSERT(p.has_icmp);
	T_EQ(p.icmp_type, 8);
	T_EQ(p.icmp_code, 0);
}

/* A later fragment has no transport header; a copy cut inside the ports has no ports */
static void test_ipv4_fragment_and_truncated(void)
{
	struct nflog_pkt p;
	uint8_t pl[64];
	struct nlmsghdr *nlh = pkt_msg(NFPROTO_IPV4);
	size_t n = ip4(pl, IPPROTO_TCP, "10.0.0.1", "10.0.0.2", ports_40000_80, 8, 0x0010);

	mnl_attr_put(nlh, NFULA_PAYLOAD, n, pl);
	T_EQ(nflog_parse(nlh, &p), 0);
	T_EQ(p.proto, IPPROTO_TCP);
	T_ASSERT(!p.has_ports);
	nlh = pkt_msg(NFPROTO_IPV4);
	n = ip4(pl, IPPROTO_TCP, "10.0.0.1", "10.0.0.2", ports_40000_80, 8, 0);
	mnl_attr_put(nlh, NFULA_PAYLOAD, 23, pl); /* 3 bytes of the TCP header */
	T_EQ(nflog_parse(nlh, &p), 0);
	T_EQ(p.src.family, AF_INET);
	T_ASSERT(!p.has_ports);
	nlh = pkt_msg(NFPROTO_IPV4);
	mnl_attr_put(nlh, NFULA_PAYLOAD, 12, pl); /* not even the addresses */
	T_EQ(nflog_parse(nlh, &p), 0);
	T_EQ(p.src.family, 0);
	T_EQ(p.proto, 0);
	(void)n;
}

static void test_ipv6_udp_and_extensions(void)
{
	/* hop-by-hop (8 bytes) then a first fragment (offset 0) then UDP */
	static const uint8_t ext[] = {
		IPPROTO_FRAGMENT,
		0,
		1,
		4,
		0,
		0,
		0,
		0, /* hop-by-hop, 8 bytes */
		IPPROTO_UDP,
		0,
		0,
		1,
		0,
		0,
		0,
		9, /* fragment, offset 0, M */
		0x13,
		0x88,
		0x00,
		0x51,
		0,
		8,
		0,
		0, /* UDP 5000 -> 81 */
	};
	static const uint8_t later[] = {IPPROTO_UDP, 0, 0x01, 0x00, 0, 0, 0, 9};
	struct nflog_pkt p;
	uint8_t pl[128];
	char b[IP_STRLEN];
	struct nlmsghdr *nlh = pkt_msg(NFPROTO_IPV6);
	size_t n = ip6(pl, IPPROTO_UDP, "fd00::2", "fd00::3", ports_40000_80, 8);

	mnl_attr_put(nlh, NFULA_PAYLOAD, n, pl);
	T_EQ(nflog_parse(nlh, &p), 0);
	T_EQ(p.family, NFPROTO_IPV6);
	T_STREQ(ip_fmt(&p.src, b), "fd00::2");
	T_STREQ(ip_fmt(&p.dst, b), "fd00::3");
	T_EQ(p.proto, IPPROTO_UDP);
	T_ASSERT(p.has_ports);
	T_EQ(p.dport, 80);
	T_EQ(p.len, 48);

	nlh = pkt_msg(NFPROTO_IPV6);
	n = ip6(pl, IPPROTO_HOPOPTS, "fd00::2", "fd00::3", ext, sizeof(ext));
	mnl_attr_put(nlh, NFULA_PAYLOAD, n, pl);
	T_EQ(nflog_parse(nlh, &p), 0);
	T_EQ(p.proto, IPPROTO_UDP);
	T_ASSERT(p.has_ports);
	T_EQ(p.sport, 5000);
	T_EQ(p.dport, 81);

	nlh = pkt_msg(NFPROTO_IPV6);
	n = ip6(pl, IPPROTO_FRAGMENT, "fd00::2", "fd00::3", later, sizeof(later));
	mnl_attr_put(nlh, NFULA_PAYLOAD, n, pl);
	T_EQ(nflog_parse(nlh, &p), 0);
	T_EQ(p.proto, IPPROTO_UDP);
	T_ASSERT(!p.has_ports);

	static const uint8_t icmp6[] = {128, 0, 0, 0};

	nlh = pkt_msg(NFPROTO_IPV6);
	n = ip6(pl, IPPROTO_ICMPV6, "fd00::2", "fd00::3", icmp6, sizeof(icmp6));
	mnl_attr_put(nlh, NFULA_PAYLOAD, n, pl);
	T_EQ(nflog_parse(nlh, &p), 0);
	T_ASSERT(p.has_icmp);
	T_EQ(p.icmp_type, 128);
}

/* A prefix longer than ours is cut, one without its NUL is read to its end */
static void test_prefix_edges(void)
{
	char longp[200];
	struct nflog_pkt p;
	struct nlmsghdr *nlh = pkt_msg(NFPROTO_IPV4);

	memset(longp, 'x', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	mnl_attr_put_strz(nlh, NFULA_PREFIX, longp);
	T_EQ(nflog_parse(nlh, &p), 0);
	T_EQ(strlen(p.prefix), NFLOG_PREFIX_MAX - 1);
	nlh = pkt_msg(NFPROTO_IPV4);
	mnl_attr_put(nlh, NFULA_PREFIX, 5, "ce-ab");
	T_EQ(nflog_parse(nlh, &p), 0);
	T_STREQ(p.prefix, "ce-ab");
}

static void test_malformed(void)
{
	struct nflog_pkt p;
	struct nlmsghdr *nlh = pkt_msg(NFPROTO_IPV4);
	uint16_t two = 0;

	/* an interface index of 2 bytes */
	mnl_attr_put(nlh, NFULA_IFINDEX_INDEV, sizeof(two), &two);
	T_EQ(nflog_parse(nlh, &p), -EINVAL);
	/* no packet header */
	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = NFNL_SUBSYS_ULOG << 8 | NFULNL_MSG_PACKET;
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct nfgenmsg));
	mnl_attr_put_strz(nlh, NFULA_PREFIX, "ci-x");
	T_EQ(nflog_parse(nlh, &p), -EINVAL);
	/* a config message, and one too short for its nfgenmsg */
	nlh = pkt_msg(NFPROTO_IPV4);
	nlh->nlmsg_type = NFNL_SUBSYS_ULOG << 8 | NFULNL_MSG_CONFIG;
	T_EQ(nflog_parse(nlh, &p), -EINVAL);
	nlh->nlmsg_type = NFNL_SUBSYS_ULOG << 8 | NFULNL_MSG_PACKET;
	nlh->nlmsg_len = NLMSG_HDRLEN + 2;
	T_EQ(nflog_parse(nlh, &p), -EINVAL);
	/* an attribute running past the message */
	nlh = pkt_msg(NFPROTO_IPV4);
	mnl_attr_put_strz(nlh, NFULA_PREFIX, "ci-abc");
	nlh->nlmsg_len -= 4;
	T_EQ(nflog_parse(nlh, &p), -EINVAL);
	/* no IP packet in the payload: parsed, addresses empty */
	nlh = pkt_msg(NFPROTO_IPV4);
	mnl_attr_put(nlh, NFULA_PAYLOAD, 4, "\x20\x00\x00\x00");
	T_EQ(nflog_parse(nlh, &p), 0);
	T_EQ(p.src.family, 0);
	T_EQ(nflog_parse_ip("", 0, &p), -EINVAL);
}

int main(void)
{
	T_RUN(test_ipv4_tcp_full);
	T_RUN(test_ipv4_udp_sctp_icmp);
	T_RUN(test_ipv4_fragment_and_truncated);
	T_RUN(test_ipv6_udp_and_extensions);
	T_RUN(test_prefix_edges);
	T_RUN(test_malformed);
	return T_EXIT();
}
