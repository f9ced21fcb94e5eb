// SPDX-License-Identifier: Apache-2.0
/* sctpraw: SCTP through raw sockets, for tests/netns/portmap.sh on kernels without SCTP
 * sockets (nftables and conntrack still NAT SCTP).
 * Usage: sctpraw send SRC DST SPORT DPORT   one INIT chunk from SRC to DST (IPv4 or IPv6)
 *        sctpraw recv PORT TIMEOUT_MS       prints "SRC DST SPORT DPORT" of the first SCTP
 *                                           packet to PORT (either family); 1 on timeout */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <sys/socket.h>

#include "sctp.h"

/* One address of either family with a port; 0 or -1. */
static int sockaddr_of(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		*len = sizeof(*a4);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		*len = sizeof(*a6);
		return 0;
	}
	return -1;
}

static int do_send(char **argv)
{
	struct sockaddr_storage src, dst;
	socklen_t slen, dlen;
	uint8_t pkt[32] = {0};
	uint32_t crc;
	int fd;

	if (sockaddr_of(argv[0], &src, &slen) < 0 || sockaddr_of(argv[1], &dst, &dlen) < 0 ||
	    src.ss_family != dst.ss_family)
		return 2;
	put16(pkt, (unsigned int)atoi(argv[2])); /* common header: ports, vtag 0 for INIT */
	put16(pkt + 2, (unsigned int)atoi(argv[3]));
	pkt[12] = 1; /* INIT: type, flags, length 20 */
	put16(pkt + 14, 20);
	put32(pkt + 16, 0x51c3a7e5); /* initiate tag */
	put32(pkt + 20, 65536); /* a_rwnd */
	put16(pkt + 24, 1); /* outbound and inbound streams */
	put16(pkt + 26, 1);
	put32(pkt + 28, 1); /* initial TSN */
	crc = crc32c(pkt, sizeof(pkt)); /* stored least significant byte first */
	for (int k = 0; k < 4; k++)
		pkt[8 + k] = (uint8_t)(crc >> (8 * k));
	fd = socket(dst.ss_family, SOCK_RAW, IPPROTO_SCTP);
	if (fd < 0 || bind(fd, (struct sockaddr *)&src, slen) < 0 ||
	    sendto(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&dst, dlen) != sizeof(pkt)) {
		perror("sctpraw: send");
		return 1;
	}
	close(fd);
	return 0;
}

/* Reads one packet from fd and prints it when it goes to port: IPv4's comes with its IP
 * header, IPv6's without (the destination from IPV6_PKTINFO). 0 when printed. */
static int show(int fd, bool v6, int port)
{
	uint8_t buf[2048], cbuf[256];
	struct sockaddr_in6 from;
	struct iovec iov = {buf, sizeof(buf)};
	struct msghdr m = {.msg_name = &from,
			   .msg_namelen = sizeof(from),
			   .msg_iov = &iov,
			   .msg_iovlen = 1,
			   .msg_control = cbuf,
			   .msg_controllen = sizeof(cbuf)};
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN] = "?";
	const struct iphdr *ip = (const struct iphdr *)buf;
	const uint8_t *sctp = buf;
	struct cmsghdr *c;
	ssize_t n = recvmsg(fd, &m, 0);

	if (!v6) {
		if (n < 20 || n < ip->ihl * 4 + 4)
			return 1;
		sctp = buf + ip->ihl * 4;
		inet_ntop(AF_INET, &ip->saddr, s, sizeof(s));
		inet_ntop(AF_INET, &ip->daddr, d, sizeof(d));
	} else {
		if (n < 4)
			return 1;
		inet_ntop(AF_INET6, &from.sin6_addr, s, sizeof(s));
		for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
			if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO)
				inet_ntop(AF_INET6,
					  &((struct in6_pktinfo *)CMSG_DATA(c))->ipi6_addr, d,
					  sizeof(d));
	}
	if ((sctp[2] << 8 | sctp[3]) != port)
		return 1;
	printf("%s %s %d %d\n", s, d, sctp[0] << 8 | sctp[1], port);
	return 0;
}

static int do_recv(char **argv)
{
	struct pollfd pf[2] = {{.events = POLLIN}, {.events = POLLIN}};
	int port = atoi(argv[0]), timeout = atoi(argv[1]), on = 1;

	pf[0].fd = socket(AF_INET, SOCK_RAW, IPPROTO_SCTP);
	pf[1].fd = socket(AF_INET6, SOCK_RAW, IPPROTO_SCTP);
	if (pf[0].fd < 0 || pf[1].fd < 0 ||
	    setsockopt(pf[1].fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on)) < 0) {
		perror("sctpraw: recv");
		return 2;
	}
	while (poll(pf, 2, timeout) > 0)
		for (int i = 0; i < 2; i++)
			if ((pf[i].revents & POLLIN) && show(pf[i].fd, i, port) == 0)
				return 0;
	return 1;
}

int main(int argc, char **argv)
{
	if (argc == 6 && !strcmp(argv[1], "send"))
		return do_send(argv + 2);
	if (argc == 4 && !strcmp(argv[1], "recv"))
		return do_recv(argv + 2);
	fprintf(stderr, "usage: sctpraw send SRC DST SPORT DPORT | sctpraw recv PORT TIMEOUT_MS\n");
	return 2;
}
