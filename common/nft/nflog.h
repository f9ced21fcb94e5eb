/* SPDX-License-Identifier: Apache-2.0 */
/* NFLOG (nfnetlink_log) over libmnl: bind one log group in a netns, receive the packets
 * nftables `log group G prefix P` rules send to it, parsed into what a drop report needs
 * (the prefix, addresses, protocol and ports, devices, time). Only one socket per group and
 * netns may bind it (the kernel refuses a second with EPERM: -EBUSY here). */
#ifndef NFLOG_H
#define NFLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/ip.h"

struct err;
struct mnl_socket;
struct nlmsghdr;

#define NFLOG_PREFIX_MAX 64 /* NFTA_LOG_PREFIX: nft accepts at most 127, ours are short */
#define NFLOG_COPY_RANGE 128 /* bytes of each packet copied: IPv6 header, extensions, ports */

/* One logged packet */
struct nflog_pkt {
	uint16_t group;
	uint8_t family; /* NFPROTO_IPV4 / NFPROTO_IPV6 (nfgenmsg), 0: other */
	uint8_t hook; /* NF_INET_* */
	char prefix[NFLOG_PREFIX_MAX]; /* "" when the rule gave none */
	int64_t sec, usec; /* the packet's timestamp (realtime); has_ts false: none sent */
	bool has_ts;
	uint32_t indev, outdev; /* ifindex, 0: none */
	uint32_t physindev, physoutdev; /* bridge ports (br_netfilter), 0: none */
	struct ip_addr src, dst; /* family 0: no IP header in the payload */
	uint8_t proto; /* IPPROTO_*, the transport header's (IPv6: past extension headers) */
	bool has_ports; /* TCP, UDP, UDP-Lite, SCTP, DCCP with the ports in the copy */
	uint16_t sport, dport;
	bool has_icmp; /* ICMP / ICMPv6 with type and code in the copy */
	uint8_t icmp_type, icmp_code;
	uint32_t len; /* the IP packet's length as its header says (0: unknown) */
};

/* Parses one NFULNL_MSG_PACKET message (nlh->nlmsg_len bytes of it readable, aligned or
 * not). Returns 0, or -EINVAL when nlh is not one or is malformed (an attribute too short
 * or running past the message, no NFULA_PACKET_HDR). A payload too short for a header
 * leaves the fields it would fill empty. Pure: unit-tested on hand-built messages. */
int nflog_parse(const struct nlmsghdr *nlh, struct nflog_pkt *p);

/* Parses an IPv4 or IPv6 packet (no link-layer header) into p's address, protocol, port
 * and ICMP fields. Returns 0, or -EINVAL when it is no IP packet. */
int nflog_parse_ip(const void *data, size_t len, struct nflog_pkt *p);

struct nflog {
	struct mnl_socket *sk;
	unsigned int portid;
	uint16_t group;
	uint32_t seq;
	char *buf;
	uint64_t lost; /* messages the kernel could not queue to us (ENOBUFS) */
};

/* Opens a NETLINK_NETFILTER socket in netns_fd's netns (< 0: the current one), binds group
 * (copy mode packet, NFLOG_COPY_RANGE bytes, each packet sent at once) and makes it
 * non-blocking. Returns 0 or -errno with err (-EBUSY: "NFLOG group G is bound by another
 * listener", when another socket holds it). */
int nflog_open(struct nflog *l, uint16_t group, int netns_fd, struct err *err);

/* The socket's fd, to poll for EPOLLIN */
int nflog_fd(const struct nflog *l);

/* Reads what is queued without blocking: cb for each packet (returns >= 0 to go on, < 0 to
 * stop with that value). A packet without a timestamp gets the time it was read. Returns
 * the number of packets, 0 when none was ready, or -errno with err. */
int nflog_read(struct nflog *l, int (*cb)(const struct nflog_pkt *p, void *data), void *data,
	       struct err *err);

/* Unbinds and closes; a zeroed or closed one is a no-op */
void nflog_close(struct nflog *l);

#endif
