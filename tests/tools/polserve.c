// SPDX-License-Identifier: Apache-2.0
/* polserve: the server of a pod in the NetworkPolicy suites (tests/policy-lib.sh), what
 * agnhost serve-hostname is to the Kubernetes e2e suite: TCP and UDP on each port given, both
 * address families, one process, one epoll loop. Each TCP connection is answered with NAME
 * and a newline and closed; each UDP datagram with the same, to its sender.
 * Usage: polserve [-r] NAME PORT...
 *   -r  once every socket listens, print "ready" and close stdout: a caller reading it (a
 *       FIFO) knows the server is up without polling, and the server stays its child (a
 *       server that forked into the background would be reaped by nobody here)
 * Runs in the network namespace it is started in (ip netns exec). SIGTERM or SIGINT: exits 0. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#define MAX_PORTS 16

static const char *name;
static size_t name_len;

/* A socket on port of type (SOCK_STREAM or SOCK_DGRAM), IPv6 with IPv4-mapped addresses
 * when the namespace has IPv6, else IPv4 only. -1 on failure (perror'd). */
static int serve_socket(int type, int port)
{
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
	struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons(port)};
	int fd, off = 0, on = 1;

	fd = socket(AF_INET6, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) < 0 ||
		    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0 ||
		    bind(fd, (struct sockaddr *)&a6, sizeof(a6)) < 0)
			goto fail;
	} else {
		fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0 ||
		    bind(fd, (struct sockaddr *)&a4, sizeof(a4)) < 0)
			goto fail;
	}
	if (type == SOCK_STREAM && listen(fd, 512) < 0)
		goto fail;
	return fd;
fail:
	fprintf(stderr, "polserve: %s port %d: %s\n", type == SOCK_STREAM ? "tcp" : "udp", port,
		strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

/* Accepts every pending connection and answers each at once: the answer fits in the new
 * socket's buffer, and closing after it is the end of the exchange (the prober sends
 * nothing, so no unread data turns the close into a reset). */
static void serve_tcp(int lfd)
{
	int c;

	while ((c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		if (write(c, name, name_len) < 0) {
			/* the peer went away: nothing to do */
		}
		close(c);
	}
}

static void serve_udp(int fd)
{
	struct sockaddr_storage from;
	char buf[2048];
	socklen_t fl;

	for (;;) {
		fl = sizeof(from);
		if (recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl) < 0)
			return;
		sendto(fd, name, name_len, 0, (struct sockaddr *)&from, fl);
	}
}

int main(int argc, char **argv)
{
	int ep, sfd, opt;
	bool ready = false;
	struct epoll_event ev, evs[32];
	char *reply;
	sigset_t ss;

	while ((opt = getopt(argc, argv, "r")) != -1) {
		if (opt != 'r')
			goto usage;
		ready = true;
	}
	if (argc - optind < 2 || argc - optind - 1 > MAX_PORTS)
		goto usage;
	/* the answer: NAME and a newline */
	name_len = strlen(argv[optind]) + 1;
	reply = malloc(name_len + 1);
	if (!reply)
		return 1;
	snprintf(reply, name_len + 1, "%s\n", argv[optind]);
	name = reply;

	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	signal(SIGPIPE, SIG_IGN);
	ep = epoll_create1(EPOLL_CLOEXEC);
	sfd = signalfd(-1, &ss, SFD_CLOEXEC);
	if (ep < 0 || sfd < 0) {
		perror("polserve");
		return 1;
	}
	ev.events = EPOLLIN;
	ev.data.fd = sfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
	for (int i = optind + 1; i < argc; i++) {
		char *end;
		long port = strtol(argv[i], &end, 10);

		if (*end || port < 1 || port > 65535)
			goto usage;
		for (int t = 0; t < 2; t++) {
			int fd = serve_socket(t ? SOCK_DGRAM : SOCK_STREAM, (int)port);

			if (fd < 0)
				return 1;
			ev.data.fd = fd;
			epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
		}
	}
	if (ready) {
		int nul = open("/dev/null", O_WRONLY | O_CLOEXEC);

		if (printf("ready\n") < 0 || fflush(stdout) != 0 || nul < 0 || dup2(nul, 1) < 0) {
			perror("polserve: -r");
			return 1;
		}
		close(nul);
	}
	for (;;) {
		int n = epoll_wait(ep, evs, 32, -1);

		if (n < 0 && errno != EINTR)
			return 1;
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd, type;
			socklen_t tl = sizeof(type);

			if (fd == sfd)
				return 0;
			if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0)
				continue;
			if (type == SOCK_STREAM)
				serve_tcp(fd);
			else
				serve_udp(fd);
		}
	}
usage:
	fprintf(stderr, "usage: polserve [-r] NAME PORT...\n");
	return 2;
}
