// SPDX-License-Identifier: Apache-2.0
/* sctpinit: is an SCTP INIT from one network namespace delivered to another? The SCTP checks
 * of the NetworkPolicy suites (tests/policy-lib.sh) on a kernel without SCTP sockets: the
 * INIT goes out of a raw IPPROTO_SCTP socket made in the source's namespace (its CRC32c
 * computed here, a random source port and initiate tag), and a raw IPPROTO_SCTP socket made
 * in the destination's namespace sees it arrive, or not (the ruleset dropped it). The
 * destination has no SCTP stack and answers nothing; anything that does come back to the
 * source (an ABORT, an INIT-ACK) is reported too.
 * Usage: sctpinit [-t MS] [-c COUNT] SRC_NETNS DST_NETNS DST_ADDR PORT
 *   SRC_NETNS, DST_NETNS  namespace files (/run/netns/x-a)
 *   -t MS     how long to wait for the INIT to arrive (default 1000)
 *   -c COUNT  INITs sent, evenly over that time, until one arrives (default 3)
 * Prints "delivered" or "dropped", then " answered" when something came back.
 * Exit status: 0 delivered, 1 dropped, 2 usage or setup. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <sys/socket.h>

#include "sctp.h"

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Enters the namespace of file path: 0 or -1 (perror'd) */
static int enter(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
		fprintf(stderr, "sctpinit: %s: %s\n", path, strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

/* The SCTP header of a packet a raw socket of family af read (IPv4's comes with its IP
 * header, IPv6's without), or NULL when too short */
static const uint8_t *sctp_of(const uint8_t *buf, ssize_t n, int af)
{
	const struct iphdr *ip = (const struct iphdr *)buf;

	if (af == AF_INET) {
		if (n < 20 || n < ip->ihl * 4 + 12)
			return NULL;
		return buf + ip->ihl * 4;
	}
	return n >= 12 ? buf : NULL;
}

int main(int argc, char **argv)
{
	int timeout = 1000, count = 3, opt, af, port, sport, rx, tx, answered = 0;
	struct sockaddr_storage dst = {0};
	socklen_t dlen;
	uint8_t pkt[32] = {0};
	uint32_t tag, crc;
	long t0, next;
	int sent = 0;
	bool delivered = false;

	while ((opt = getopt(argc, argv, "t:c:")) != -1) {
		if (opt == 't')
			timeout = atoi(optarg);
		else if (opt == 'c')
			count = atoi(optarg);
		else
			goto usage;
	}
	if (argc - optind != 4 || timeout < 1 || count < 1)
		goto usage;
	port = atoi(argv[optind + 3]);
	if (port < 1 || port > 65535)
		goto usage;
	if (inet_pton(AF_INET, argv[optind + 2], &((struct sockaddr_in *)&dst)->sin_addr) == 1) {
		af = AF_INET;
		dlen = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, argv[optind + 2],
			     &((struct sockaddr_in6 *)&dst)->sin6_addr) == 1) {
		af = AF_INET6;
		dlen = sizeof(struct sockaddr_in6);
	} else {
		goto usage;
	}
	dst.ss_family = (sa_family_t)af;

	/* the receiving socket made in the destination's namespace, the sending one in the
	 * source's: each stays in its namespace */
	if (enter(argv[optind + 1]) < 0)
		return 2;
	rx = socket(af, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_SCTP);
	if (enter(argv[optind]) < 0)
		return 2;
	tx = socket(af, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_SCTP);
	if (rx < 0 || tx < 0) {
		perror("sctpinit: raw socket");
		return 2;
	}

	/* a fresh source port and tag each run: no conntrack entry of an earlier run matches */
	srandom((unsigned int)(getpid() ^ now_ms()));
	sport = 20000 + (int)(random() % 40000);
	tag = (uint32_t)random() | 1;
	put16(pkt, (unsigned int)sport); /* common header: ports, vtag 0 for INIT */
	put16(pkt + 2, (unsigned int)port);
	pkt[12] = 1; /* INIT: type, flags, length 20 */
	put16(pkt + 14, 20);
	put32(pkt + 16, tag); /* initiate tag */
	put32(pkt + 20, 65536); /* a_rwnd */
	put16(pkt + 24, 1); /* outbound and inbound streams */
	put16(pkt + 26, 1);
	put32(pkt + 28, 1); /* initial TSN */
	crc = crc32c(pkt, sizeof(pkt)); /* stored least significant byte first */
	for (int k = 0; k < 4; k++)
		pkt[8 + k] = (uint8_t)(crc >> (8 * k));

	t0 = now_ms();
	next = t0;
	while (!delivered) {
		struct pollfd pf[2] = {{.fd = rx, .events = POLLIN}, {.fd = tx, .events = POLLIN}};
		long now = now_ms(), wait;
		uint8_t buf[2048];
		const uint8_t *s;
		ssize_t n;

		if (now >= t0 + timeout)
			break;
		if (sent < count && now >= next) {
			if (sendto(tx, pkt, sizeof(pkt), 0, (struct sockaddr *)&dst, dlen) < 0 &&
			    errno != EPERM) { /* EPERM: an output rule dropped it */
				perror("sctpinit: send");
				return 2;
			}
			sent++;
			next = t0 + (long)sent * timeout / count;
		}
		wait = (sent < count ? next : t0 + timeout) - now;
		if (poll(pf, 2, wait > 0 ? (int)wait : 0) <= 0)
			continue;
		if (pf[0].revents & POLLIN) {
			n = recv(rx, buf, sizeof(buf), 0);
			s = sctp_of(buf, n, af);
			/* our INIT: our ports, chunk INIT, our initiate tag */
			if (s && n >= (s - buf) + 32 && (s[0] << 8 | s[1]) == sport &&
			    (s[2] << 8 | s[3]) == port && s[12] == 1 && get32(s + 16) == tag)
				delivered = true;
		}
		if (pf[1].revents & POLLIN) {
			n = recv(tx, buf, sizeof(buf), 0);
			s = sctp_of(buf, n, af);
			if (s && (s[0] << 8 | s[1]) == port && (s[2] << 8 | s[3]) == sport)
				answered = 1;
		}
	}
	printf("%s%s\n", delivered ? "delivered" : "dropped", answered ? " answered" : "");
	return delivered ? 0 : 1;
usage:
	fprintf(stderr, "usage: sctpinit [-t MS] [-c COUNT] SRC_NETNS DST_NETNS DST_ADDR PORT\n");
	return 2;
}
