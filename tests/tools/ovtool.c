// SPDX-License-Identifier: Apache-2.0
/* ovtool: drives common/overlay/peer.c from tests/netns/overlay-peer.sh.
 *
 *   ovtool [-6] apply DEV UNDERLAY [add|del SPEC]...   program / remove peers (one batch)
 *   ovtool [-6] read DEV UNDERLAY                        the peers found, one line each
 *   ovtool [-6] sync DEV UNDERLAY [SPEC]...              make the kernel hold exactly these
 *   ovtool same-segment UNDERLAY IP                      prints 1 or 0
 *   ovtool gen COUNT SUBNET_BASE PUBLIC_BASE [direct]    prints COUNT peer specs
 *
 * SPEC is SUBNET,PUBLIC_IP,MAC (a VXLAN peer), SUBNET,PUBLIC_IP,direct or
 * SUBNET,PUBLIC_IP,MAC,direct (a direct peer whose lease names its VTEP MAC). An argument "-"
 * reads more arguments from stdin, one per line ("add SPEC" / "del SPEC" for apply, "SPEC"
 * for sync). -6: the IPv6 family. read prints "SUBNET PUBLIC MAC|direct complete|incomplete"
 * ("-" for what is unset); apply prints "changed=N"; sync prints each note, then
 * "changes=N". Errors go to stderr with exit status 1. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/socket.h>

#include "base/err.h"
#include "base/ip.h"
#include "netlink/nl.h"
#include "overlay/peer.h"

struct peers {
	struct overlay_peer *v;
	size_t n, cap;
};

static void __attribute__((format(printf, 1, 2))) die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ovtool: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void push(struct peers *p, const struct overlay_peer *e)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 64;
		p->v = realloc(p->v, p->cap * sizeof(*p->v));
		if (!p->v)
			die("%s", "out of memory");
	}
	p->v[p->n++] = *e;
}

static void parse_spec(const char *spec, struct overlay_peer *p)
{
	char buf[200], *sub, *pub, *mac, *dir;
	unsigned int m[6];

	memset(p, 0, sizeof(*p));
	snprintf(buf, sizeof(buf), "%s", spec);
	sub = strtok(buf, ",");
	pub = strtok(NULL, ",");
	mac = strtok(NULL, ",");
	dir = strtok(NULL, ",");
	if (!sub || !pub || !mac || ip_prefix_parse(sub, &p->subnet) < 0 ||
	    ip_parse(pub, &p->public_ip) < 0 || (dir && strcmp(dir, "direct")))
		die("bad peer spec: %s", spec);
	p->subnet.ip = ip_prefix_network(&p->subnet);
	p->direct = dir || !strcmp(mac, "direct");
	if (!strcmp(mac, "direct"))
		return;
	if (sscanf(mac, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6)
		die("bad MAC in spec: %s", spec);
	for (int i = 0; i < 6; i++)
		p->mac[i] = (uint8_t)m[i];
}

static int ifindex(const char *name)
{
	int i = (int)if_nametoindex(name);

	if (!i)
		die("no such device: %s", name);
	return i;
}

/* Collects "add SPEC" / "del SPEC" (apply) or "SPEC" (sync) from argv, "-" meaning stdin. */
static void collect(char **argv, int argc, bool verbs, struct peers *add, struct peers *del)
{
	char line[256];
	struct overlay_peer p;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "-")) {
			while (fgets(line, sizeof(line), stdin)) {
				char *s = line, *nl = strchr(line, '\n');
				bool is_del = false;

				if (nl)
					*nl = '\0';
				if (!*s)
					continue;
				if (verbs) {
					is_del = !strncmp(s, "del ", 4);
					if (strncmp(s, "add ", 4) && !is_del)
						die("expected add|del SPEC: %s", s);
					s += 4;
				}
				parse_spec(s, &p);
				push(is_del ? del : add, &p);
			}
			continue;
		}
		if (verbs) {
			if (i + 1 >= argc || (strcmp(argv[i], "add") && strcmp(argv[i], "del")))
				die("expected add|del SPEC at: %s", argv[i]);
			parse_spec(argv[i + 1], &p);
			push(!strcmp(argv[i], "del") ? del : add, &p);
			i++;
			continue;
		}
		parse_spec(argv[i], &p);
		push(add, &p);
	}
}

static void note(void *data, const char *what)
{
	(void)data;
	printf("%s\n", what);
}

/* Adds i << (bits - len) to a: the i-th prefix of a's length after a. */
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

static int gen(int argc, char **argv)
{
	struct ip_prefix base;
	struct ip_addr pub;
	unsigned long n, i;

	if (argc < 3 || ip_prefix_parse(argv[1], &base) < 0 || ip_parse(argv[2], &pub) < 0)
		die("%s", "usage: gen COUNT SUBNET_BASE PUBLIC_BASE [direct]");
	n = strtoul(argv[0], NULL, 10);
	base.ip = ip_prefix_network(&base);
	for (i = 0; i < n; i++) {
		struct ip_prefix s = {nth(&base.ip, base.len, i), base.len};
		struct ip_addr p = nth(&pub, ip_bits(pub.family), i);
		char a[IP_STRLEN], b[IP_STRLEN];

		printf("%s,%s,", ip_prefix_fmt(&s, a), ip_fmt(&p, b));
		if (argc > 3 && !strcmp(argv[3], "direct"))
			printf("direct\n");
		else
			printf("02:0f:%02lx:%02lx:%02lx:%02lx\n", (i >> 24) & 0xff,
			       (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct overlay_where w = {.family = AF_INET};
	struct peers add = {0}, del = {0};
	struct err err = {0};
	struct nl nl;
	int r = 0;

	if (argc > 1 && !strcmp(argv[1], "-6")) {
		w.family = AF_INET6;
		argv++;
		argc--;
	}
	if (argc < 2)
		die("%s", "usage: see the top of tests/tools/ovtool.c");
	if (!strcmp(argv[1], "gen"))
		return gen(argc - 2, argv + 2);
	if (nl_open(&nl, -1) < 0)
		die("%s", "cannot open rtnetlink");
	if (!strcmp(argv[1], "same-segment")) {
		struct ip_addr ip;

		if (argc < 4 || ip_parse(argv[3], &ip) < 0)
			die("%s", "usage: same-segment UNDERLAY IP");
		r = overlay_same_segment(&nl, ifindex(argv[2]), &ip);
		if (r < 0)
			die("same-segment: %s", strerror(-r));
		printf("%d\n", r);
		nl_close(&nl);
		return 0;
	}
	if (argc < 4)
		die("%s", "usage: see the top of tests/tools/ovtool.c");
	w.dev = ifindex(argv[2]);
	w.underlay = ifindex(argv[3]);
	if (!strcmp(argv[1], "apply")) {
		collect(argv + 4, argc - 4, true, &add, &del);
		r = overlay_peers_apply(&nl, &w, add.v, add.n, del.v, del.n, &err);
		if (r >= 0)
			printf("changed=%d\n", r);
	} else if (!strcmp(argv[1], "sync")) {
		collect(argv + 4, argc - 4, false, &add, &del);
		r = overlay_peers_sync(&nl, &w, add.v, add.n, note, NULL, &err);
		if (r >= 0)
			printf("changes=%d\n", r);
	} else if (!strcmp(argv[1], "read")) {
		struct overlay_kpeer *k;
		size_t n;

		r = overlay_peers_read(&nl, &w, &k, &n, &err);
		for (size_t i = 0; r >= 0 && i < n; i++) {
			char s[IP_STRLEN] = "-", p[IP_STRLEN] = "-", m[18];
			const uint8_t *x = k[i].p.mac;

			if (k[i].p.subnet.ip.family)
				ip_prefix_fmt(&k[i].p.subnet, s);
			if (k[i].p.public_ip.family)
				ip_fmt(&k[i].p.public_ip, p);
			snprintf(m, sizeof(m), "%02x:%02x:%02x:%02x:%02x:%02x", x[0], x[1], x[2],
				 x[3], x[4], x[5]);
			printf("%s %s %s %s\n", s, p, k[i].p.direct ? "direct" : m,
			       k[i].complete ? "complete" : "incomplete");
		}
		if (r >= 0)
			free(k);
	} else {
		die("unknown command: %s", argv[1]);
	}
	nl_close(&nl);
	free(add.v);
	free(del.v);
	if (r < 0) {
		fprintf(stderr, "ovtool: %s%s%s\n", err.msg, err.details[0] ? ": " : "",
			err.details);
		return 1;
	}
	return 0;
}
