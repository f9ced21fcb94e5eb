// SPDX-License-Identifier: Apache-2.0
/* polprobe: the connectivity matrix of the NetworkPolicy suites (tests/policy-lib.sh), every
 * probe at once. Each probe runs from inside its source's network namespace: the process
 * enters each source's namespace in turn (setns), opens that source's sockets there (a socket
 * stays in the namespace it was made in) and starts them, comes back, and then waits for all
 * of them in one epoll loop. A whole 9x9 matrix of ports and protocols takes about one
 * timeout.
 *   TCP: a non-blocking connect; allowed when the handshake completes (the reply, polserve's
 *        pod name, is read until EOF or the deadline and recorded), blocked on timeout or
 *        on an error (refused, unreachable)
 *   UDP: a connected socket sends a datagram up to TRIES times, evenly over the timeout;
 *        allowed on the first answer, blocked when none came (or an ICMP error)
 * Usage: polprobe [-t MS] [-u TRIES] [-s SPORT] [-j FILE] [-q] < PROBES
 *   PROBES  one per line: FROM NETNS TO ADDR PORT PROTO [EXPECT]
 *           FROM, TO: names in the table (x/a); NETNS: the source's namespace file
 *           (/run/netns/x-a); PROTO tcp or udp; EXPECT '.' (allowed) or 'X' (blocked)
 *   -t MS    per-probe timeout (default 1000)
 *   -u TRIES datagrams of a UDP probe (default 3)
 *   -s SPORT source ports SPORT, SPORT+1, ... one per probe (default: the kernel's): a
 *            caller varying SPORT between runs never meets a conntrack entry of an earlier
 *            run's flow (an allowed UDP flow stays ESTABLISHED for minutes, and would let a
 *            later probe with the same ports through a policy that now blocks it)
 *   -j FILE  every probe's outcome as JSON
 *   -q       print only the tables that differ from the expectation
 * Prints one truth table per protocol, port and address family (rows: from, columns: to, '.' allowed,
 * 'X' blocked, '-' not probed, as cyclonus prints them); when expectations are given and a
 * table differs, the expected one and the differences ('X' where they differ) too.
 * Exit status: 0 as expected (or no expectation), 1 some probe differs, 2 usage or setup. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <cjson/cJSON.h>

#define NAME_LEN 64

enum pstate { P_CONNECTING, P_READING, P_DONE };

struct probe {
	char from[NAME_LEN], netns[256], to[NAME_LEN], addr[INET6_ADDRSTRLEN];
	int port, proto; /* IPPROTO_TCP or IPPROTO_UDP */
	bool v6; /* the destination is IPv6 */
	int expect; /* 1 allowed, 0 blocked, -1 none */
	int fd, tries;
	enum pstate state;
	long t0, next; /* ms: start, next UDP send */
	char reply[NAME_LEN];
	size_t rlen;
	bool allowed;
	const char *result; /* "reply", "connected", "timeout", "refused", ... */
	long ms;
};

static struct probe *pr;
static size_t npr;
static int timeout_ms = 1000, udp_tries = 3;

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void finish(struct probe *p, bool allowed, const char *result)
{
	p->state = P_DONE;
	p->allowed = allowed;
	p->result = result;
	p->ms = now_ms() - p->t0;
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}

static const char *err_result(int e)
{
	switch (e) {
	case ECONNREFUSED:
		return "refused";
	case EHOSTUNREACH:
	case ENETUNREACH:
		return "unreachable";
	case ETIMEDOUT:
		return "timeout";
	default:
		return strerror(e);
	}
}

static int parse_line(char *line, struct probe *p)
{
	char port[16], proto[8], exp[8] = "";
	int n;

	n = sscanf(line, "%63s %255s %63s %45s %15s %7s %7s", p->from, p->netns, p->to, p->addr,
		   port, proto, exp);
	if (n < 6)
		return -1;
	p->port = atoi(port);
	if (p->port < 1 || p->port > 65535)
		return -1;
	if (!strcmp(proto, "tcp"))
		p->proto = IPPROTO_TCP;
	else if (!strcmp(proto, "udp"))
		p->proto = IPPROTO_UDP;
	else
		return -1;
	p->v6 = strchr(p->addr, ':') != NULL;
	p->expect = n < 7 ? -1 : !strcmp(exp, ".") ? 1 : !strcmp(exp, "X") ? 0 : -2;
	if (p->expect == -2)
		return -1;
	p->fd = -1;
	return 0;
}

static int sockaddr_of(const char *s, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		*len = sizeof(*a4);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		*len = sizeof(*a6);
		return 0;
	}
	return -1;
}

/* Opens and starts probe p in the current namespace; sport 0: the kernel's */
static void start(struct probe *p, int ep, size_t idx, int sport)
{
	struct sockaddr_storage dst, src;
	socklen_t dlen, slen;
	struct epoll_event ev = {.data.u64 = idx};
	int on = 1;

	p->t0 = now_ms();
	if (sockaddr_of(p->addr, p->port, &dst, &dlen) < 0) {
		finish(p, false, "bad address");
		return;
	}
	p->fd = socket(dst.ss_family,
		       (p->proto == IPPROTO_TCP ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK |
			       SOCK_CLOEXEC,
		       0);
	if (p->fd < 0) {
		finish(p, false, strerror(errno));
		return;
	}
	if (sport) {
		sockaddr_of(dst.ss_family == AF_INET ? "0.0.0.0" : "::", sport, &src, &slen);
		setsockopt(p->fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
		/* (in use: the kernel's port then) */
		bind(p->fd, (struct sockaddr *)&src, slen);
	}
	if (connect(p->fd, (struct sockaddr *)&dst, dlen) < 0 && errno != EINPROGRESS) {
		finish(p, false, err_result(errno));
		return;
	}
	if (p->proto == IPPROTO_TCP) {
		p->state = P_CONNECTING;
		ev.events = EPOLLOUT;
	} else {
		p->state = P_READING;
		ev.events = EPOLLIN;
		p->tries = 1;
		p->next = p->t0 + timeout_ms / udp_tries;
		if (send(p->fd, "x", 1, 0) < 0) {
			finish(p, false, err_result(errno));
			return;
		}
	}
	if (epoll_ctl(ep, EPOLL_CTL_ADD, p->fd, &ev) < 0)
		finish(p, false, strerror(errno));
}

static void on_event(struct probe *p, int ep, uint32_t events)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (size_t)(p - pr)};
	int e = 0;
	socklen_t el = sizeof(e);
	ssize_t n;

	if (p->state == P_CONNECTING) {
		getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &e, &el);
		if (e) {
			finish(p, false, err_result(e));
			return;
		}
		p->state = P_READING;
		epoll_ctl(ep, EPOLL_CTL_MOD, p->fd, &ev);
		return;
	}
	(void)events;
	for (;;) {
		n = recv(p->fd, p->reply + p->rlen, sizeof(p->reply) - 1 - p->rlen, 0);
		if (n < 0) {
			if (errno == EAGAIN)
				return;
			/* TCP: connected, so allowed (the reply lost to a reset); UDP: an ICMP
			 * error for a datagram */
			finish(p, p->proto == IPPROTO_TCP, err_result(errno));
			return;
		}
		p->rlen += (size_t)n;
		p->reply[p->rlen] = 0;
		if (p->proto == IPPROTO_UDP || n == 0 || p->rlen == sizeof(p->reply) - 1) {
			char *nl = strchr(p->reply, '\n');

			if (nl)
				*nl = 0;
			finish(p, true, p->rlen ? "reply" : "connected");
			return;
		}
	}
}

/* The next moment something is due (a UDP resend or a deadline), ms from now; -1: none */
static int next_due(long now)
{
	long due = -1;

	for (size_t i = 0; i < npr; i++) {
		struct probe *p = &pr[i];
		long d;

		if (p->state == P_DONE)
			continue;
		d = p->t0 + timeout_ms;
		if (p->proto == IPPROTO_UDP && p->tries < udp_tries && p->next < d)
			d = p->next;
		if (due < 0 || d < due)
			due = d;
	}
	return due < 0 ? -1 : due <= now ? 0 : (int)(due - now);
}

static void on_time(long now)
{
	for (size_t i = 0; i < npr; i++) {
		struct probe *p = &pr[i];

		if (p->state == P_DONE)
			continue;
		if (now >= p->t0 + timeout_ms) {
			/* connected TCP without its reply yet: the policy let it through */
			if (p->proto == IPPROTO_TCP && p->state == P_READING)
				finish(p, true, "connected");
			else
				finish(p, false, "timeout");
		} else if (p->proto == IPPROTO_UDP && p->tries < udp_tries && now >= p->next) {
			p->tries++;
			p->next = p->t0 + (long)p->tries * timeout_ms / udp_tries;
			if (send(p->fd, "x", 1, 0) < 0 && errno != EAGAIN)
				finish(p, false, err_result(errno));
		}
	}
}

/* --- the tables --------------------------------------------------------------------- */

static char (*names)[NAME_LEN];
static size_t nnames;

static size_t name_index(const char *s)
{
	for (size_t i = 0; i < nnames; i++)
		if (!strcmp(names[i], s))
			return i;
	strcpy(names[nnames], s);
	return nnames++;
}

/* Whether two probes go in one table: the same protocol, port and address family */
static bool same_table(const struct probe *a, const struct probe *b)
{
	return a->proto == b->proto && a->port == b->port && a->v6 == b->v6;
}

/* One table of the probes like t: what = 0 observed, 1 expected, 2 differences */
static void table(const struct probe *t, int what, const char *title)
{
	size_t w = 4;
	char *cells = malloc(nnames * nnames);

	memset(cells, '-', nnames * nnames);
	for (size_t i = 0; i < npr; i++) {
		const struct probe *p = &pr[i];
		char c;

		if (!same_table(p, t))
			continue;
		if (what == 0)
			c = p->allowed ? '.' : 'X';
		else if (what == 1)
			c = p->expect < 0 ? '?' : p->expect ? '.' : 'X';
		else
			c = p->expect < 0 || p->expect == p->allowed ? '.' : 'X';
		cells[name_index(p->from) * nnames + name_index(p->to)] = c;
	}
	for (size_t i = 0; i < nnames; i++)
		if (strlen(names[i]) + 1 > w)
			w = strlen(names[i]) + 1;
	printf("%s/%d%s %s:\n%-*s", t->proto == IPPROTO_TCP ? "TCP" : "UDP", t->port,
	       t->v6 ? " IPv6" : "", title, (int)w, "");
	for (size_t j = 0; j < nnames; j++)
		printf("%-*s", (int)w, names[j]);
	putchar('\n');
	for (size_t i = 0; i < nnames; i++) {
		printf("%-*s", (int)w, names[i]);
		for (size_t j = 0; j < nnames; j++)
			printf("%-*c", (int)w, cells[i * nnames + j]);
		putchar('\n');
	}
	free(cells);
}

static int write_json(const char *path, long total)
{
	cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "probes");
	char *text;
	FILE *f;
	int r = 0;

	for (size_t i = 0; i < npr; i++) {
		const struct probe *p = &pr[i];
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "from", p->from);
		cJSON_AddStringToObject(o, "to", p->to);
		cJSON_AddStringToObject(o, "addr", p->addr);
		cJSON_AddNumberToObject(o, "port", p->port);
		cJSON_AddStringToObject(o, "proto", p->proto == IPPROTO_TCP ? "tcp" : "udp");
		cJSON_AddBoolToObject(o, "allowed", p->allowed);
		if (p->expect >= 0)
			cJSON_AddBoolToObject(o, "expected", p->expect);
		cJSON_AddStringToObject(o, "result", p->result);
		cJSON_AddStringToObject(o, "reply", p->reply);
		cJSON_AddNumberToObject(o, "ms", (double)p->ms);
		cJSON_AddItemToArray(arr, o);
	}
	cJSON_AddNumberToObject(root, "ms", (double)total);
	text = cJSON_Print(root);
	f = fopen(path, "w");
	if (!text || !f || fprintf(f, "%s\n", text) < 0)
		r = -1;
	if (f && fclose(f) != 0)
		r = -1;
	free(text);
	cJSON_Delete(root);
	return r;
}

int main(int argc, char **argv)
{
	const char *json = NULL;
	int opt, ep, self, sport = 0, wrong = 0;
	bool quiet = false;
	size_t cap = 0;
	char line[1024];
	long t0;

	while ((opt = getopt(argc, argv, "t:u:s:j:q")) != -1) {
		switch (opt) {
		case 't':
			timeout_ms = atoi(optarg);
			break;
		case 'u':
			udp_tries = atoi(optarg);
			break;
		case 's':
			sport = atoi(optarg);
			break;
		case 'j':
			json = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc || timeout_ms < 10 || udp_tries < 1 || sport < 0 || sport > 65535)
		goto usage;
	while (fgets(line, sizeof(line), stdin)) {
		if (line[strspn(line, " \t\n")] == 0 || line[0] == '#')
			continue;
		if (npr == cap) {
			cap = cap ? 2 * cap : 256;
			pr = realloc(pr, cap * sizeof(*pr));
			if (!pr)
				return 2;
		}
		memset(&pr[npr], 0, sizeof(*pr));
		if (parse_line(line, &pr[npr]) < 0) {
			fprintf(stderr, "polprobe: bad probe line: %s", line);
			return 2;
		}
		npr++;
	}
	if (sport && sport + npr > 65536) {
		fprintf(stderr, "polprobe: -s %d: %zu probes do not fit below 65536\n", sport, npr);
		return 2;
	}
	/* every probe's socket open at once */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < npr + 64) {
		rl.rlim_cur = rl.rlim_max < npr + 64 ? rl.rlim_max : npr + 64;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (self < 0 || ep < 0) {
		perror("polprobe");
		return 2;
	}
	/* each source's namespace once, its probes started there, in the order given */
	t0 = now_ms();
	for (size_t i = 0; i < npr; i++) {
		int nfd;

		if (pr[i].state == P_DONE || pr[i].fd >= 0 || pr[i].t0)
			continue;
		nfd = open(pr[i].netns, O_RDONLY | O_CLOEXEC);
		if (nfd < 0 || setns(nfd, CLONE_NEWNET) < 0) {
			fprintf(stderr, "polprobe: %s: %s\n", pr[i].netns, strerror(errno));
			return 2;
		}
		close(nfd);
		for (size_t j = i; j < npr; j++)
			if (!pr[j].t0 && !strcmp(pr[j].netns, pr[i].netns))
				start(&pr[j], ep, j, sport ? sport + (int)j : 0);
	}
	if (setns(self, CLONE_NEWNET) < 0) {
		perror("polprobe: back to its own namespace");
		return 2;
	}
	for (;;) {
		struct epoll_event evs[64];
		int due = next_due(now_ms()), n;

		if (due < 0)
			break;
		n = epoll_wait(ep, evs, 64, due);
		if (n < 0 && errno != EINTR) {
			perror("polprobe: epoll_wait");
			return 2;
		}
		for (int i = 0; i < n; i++) {
			struct probe *p = &pr[evs[i].data.u64];

			if (p->state != P_DONE)
				on_event(p, ep, evs[i].events);
		}
		on_time(now_ms());
	}

	names = calloc(2 * npr + 1, NAME_LEN);
	if (!names)
		return 2;
	for (size_t i = 0; i < npr; i++) {
		name_index(pr[i].from);
		name_index(pr[i].to);
		if (pr[i].expect >= 0 && pr[i].expect != pr[i].allowed)
			wrong++;
	}
	/* one table per protocol and port, in the order they first appear */
	for (size_t i = 0; i < npr; i++) {
		bool seen = false, differs = false;

		for (size_t j = 0; j < i && !seen; j++)
			seen = same_table(&pr[j], &pr[i]);
		if (seen)
			continue;
		for (size_t j = i; j < npr; j++)
			if (same_table(&pr[j], &pr[i]) && pr[j].expect >= 0 &&
			    pr[j].expect != pr[j].allowed)
				differs = true;
		if (quiet && !differs)
			continue;
		table(&pr[i], 0, differs ? "observed" : "observed (as expected)");
		if (differs) {
			table(&pr[i], 1, "expected");
			table(&pr[i], 2, "differences");
		}
	}
	printf("%zu probes, %d not as expected, %ld ms\n", npr, wrong, now_ms() - t0);
	if (json && write_json(json, now_ms() - t0) < 0) {
		fprintf(stderr, "polprobe: %s: %s\n", json, strerror(errno));
		return 2;
	}
	return wrong ? 1 : 0;
usage:
	fprintf(stderr, "usage: polprobe [-t MS] [-u TRIES] [-s SPORT] [-j FILE] [-q] < PROBES\n"
			"  PROBES: FROM NETNS TO ADDR PORT PROTO [EXPECT] per line\n");
	return 2;
}
