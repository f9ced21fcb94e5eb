/* SPDX-License-Identifier: Apache-2.0 */
/* ovbench: the overlay rows of `make bench` (tests/bench/overlay.sh), timed from the kernel's
 * side. Run inside a node's network namespace (ip netns exec nodeN ...), it listens to that
 * namespace's rtnetlink route group and writes fake peer leases into the store; a peer is
 * programmed when the agent's route to its subnet appears (the route is the last of
 * Flannel's three entries, after the neighbour and the FDB entry), so no status file is
 * polled and nothing waits on a timer.
 *
 *   ovbench lease -s STORE [-P PREFIX] [-n N] [-w W] -o OUT.json
 *       N leases (after W warm-up ones), one at a time: store_put of the lease, then the
 *       RTM_NEWROUTE of its subnet; then its delete, then the RTM_DELROUTE. Writes
 *       {"put_route": [ms...], "del_route": [ms...], "put": [ms...]}.
 *   ovbench many -s STORE [-P PREFIX] [-n N] [-r REPS] [-a AGENT_PID] [-e ETCD_HOST:PORT]
 *                -o OUT.json
 *       REPS (5) rounds of: N leases written at once (with -e: one etcd txn of N puts on
 *       one etcd lease through etcd's JSON gateway, so that the agent gets them in one watch
 *       response; without: store_put after store_put), until the N routes are there; then
 *       the N leases gone at once (that etcd lease revoked; without -e: deleted one by one)
 *       until the N routes are gone. Writes {"n", then arrays of a value a round:
 *       "write_ms", "programmed_ms" (from the write's start to the last route),
 *       "first_route_ms", "agent_cpu_ms" (AGENT_PID's CPU time over the add, from its
 *       threads' schedstat), "removed_ms"; then "agent_hwm_kib" (its VmHWM afterwards),
 *       "agent_hwm_before_kib", "agent_rss_anon_kib", "agent_rss_file_kib" (its RSS at the
 *       end: private memory, and mapped files such as its shared libraries)}.
 *
 * The fake peers: subnet 10.200.0.0/24 + i (10.200.0.0/24 ... 10.203.231.0/24 for 1,000),
 * PublicIP 192.168.(110 + i / 250).(1 + i % 250), VtepMAC 0e:5b:00:00:HH:LL (i). The
 * network config must hold them (e.g. Network 10.192.0.0/10) and keep the real nodes'
 * leases away from them (SubnetMax 10.199.255.0). */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <dirent.h>

#include "base/base64.h"
#include "base/err.h"
#include "base/ip.h"
#include "store/store.h"
#include "subnet/lease.h"

#define PEERS_MAX 16384
#define WAIT_MS 10000 /* a peer not programmed within this is a failure, not a sample */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void die(const char *what, const struct err *e)
{
	fprintf(stderr, "ovbench: %s: %s\n", what, e && e->msg[0] ? e->msg : strerror(errno));
	exit(1);
}

/* fake peer i */
static void peer(int i, struct ip_prefix *sn, struct ip_addr *pub, char mac[SUBNET_MAC_STRLEN])
{
	uint32_t a = 0x0ac80000u + ((uint32_t)i << 8); /* 10.200.0.0 + i * 256 */

	memset(sn, 0, sizeof(*sn));
	sn->ip.family = AF_INET;
	sn->ip.v4.s_addr = htonl(a);
	sn->len = 24;
	memset(pub, 0, sizeof(*pub));
	pub->family = AF_INET;
	pub->v4.s_addr =
		htonl(0xc0a80000u | (uint32_t)(110 + i / 250) << 8 | (uint32_t)(1 + i % 250));
	snprintf(mac, SUBNET_MAC_STRLEN, "0e:5b:00:00:%02x:%02x", (i >> 8) & 0xff, i & 0xff);
}

/* peer i's key (under prefix) and value (flanneld's LeaseAttrs); value: free() */
static char *lease_kv(const char *prefix, int i, char *key, size_t ksize)
{
	struct subnet_lease l = {0};
	char name[128];

	peer(i, &l.subnet, &l.public_ip, l.vtep_mac);
	l.vni = 1;
	snprintf(l.backend_type, sizeof(l.backend_type), "vxlan");
	snprintf(l.node_name, sizeof(l.node_name), "fake%d", i);
	subnet_key_name(&l.subnet, NULL, name, sizeof(name));
	snprintf(key, ksize, "%s/subnets/%s", prefix, name);
	return subnet_lease_value(&l);
}

/* ---- the route monitor ---- */

struct mon {
	int fd;
	char buf[1 << 16];
};

static void mon_open(struct mon *m)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = RTMGRP_IPV4_ROUTE};
	int sz = 8 << 20;

	m->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (m->fd < 0)
		die("netlink socket", NULL);
	/* 1,000 routes at once must not overflow it (root: FORCE passes rmem_max) */
	if (setsockopt(m->fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(m->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (bind(m->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("netlink bind", NULL);
}

/* Index of the fake peer whose /24 route msg is, or -1 */
static int route_peer(const struct nlmsghdr *h)
{
	const struct rtmsg *r = NLMSG_DATA(h);
	const struct rtattr *a;
	int len = (int)RTM_PAYLOAD(h);
	uint32_t d;

	if (r->rtm_family != AF_INET || r->rtm_dst_len != 24 || r->rtm_table != RT_TABLE_MAIN)
		return -1;
	for (a = RTM_RTA(r); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type != RTA_DST || RTA_PAYLOAD(a) != 4)
			continue;
		memcpy(&d, RTA_DATA(a), 4);
		d = ntohl(d);
		if (d < 0x0ac80000u || ((d - 0x0ac80000u) >> 8) >= PEERS_MAX)
			return -1;
		return (int)((d - 0x0ac80000u) >> 8);
	}
	return -1;
}

/* Reads route events until deadline (ms, monotonic); calls seen(peer, new, data) for each
 * fake peer's route; returns when seen() returns true, or -1 at the deadline */
static int mon_wait(struct mon *m, double deadline, bool (*seen)(int, bool, void *), void *data)
{
	for (;;) {
		struct pollfd p = {.fd = m->fd, .events = POLLIN};
		double left = deadline - now_ms();
		ssize_t n;

		if (left <= 0)
			return -1;
		if (poll(&p, 1, (int)left + 1) <= 0)
			continue;
		n = recv(m->fd, m->buf, sizeof(m->buf), 0);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			die("netlink recv (ENOBUFS: events lost)", NULL);
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)m->buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			int i;

			if (h->nlmsg_type != RTM_NEWROUTE && h->nlmsg_type != RTM_DELROUTE)
				continue;
			i = route_peer(h);
			if (i >= 0 && seen(i, h->nlmsg_type == RTM_NEWROUTE, data))
				return 0;
		}
	}
}

struct want {
	int peer;
	bool add;
};

static bool seen_one(int i, bool add, void *data)
{
	const struct want *w = data;

	return i == w->peer && add == w->add;
}

struct many {
	unsigned char *got;
	int left;
	double first; /* when the first route came (ms, monotonic) */
};

static bool seen_gone(int i, bool add, void *data)
{
	struct many *m = data;

	if (!add && !m->got[i]) {
		m->got[i] = 1;
		m->left--;
	}
	return m->left == 0;
}

static bool seen_many(int i, bool add, void *data)
{
	struct many *m = data;

	if (add && !m->got[i]) {
		if (!m->first)
			m->first = now_ms();
		m->got[i] = 1;
		m->left--;
	}
	return m->left == 0;
}

/* ---- output ---- */

static cJSON *array_of(const double *x, int n)
{
	cJSON *a = cJSON_CreateArray();

	for (int i = 0; i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateNumber((double)(int64_t)(x[i] * 1e4) / 1e4));
	return a;
}

static void write_json(const char *path, cJSON *o)
{
	char *s = cJSON_Print(o);
	FILE *f = fopen(path, "w");

	if (!f || fputs(s, f) < 0 || fclose(f) != 0)
		die(path, NULL);
	free(s);
	cJSON_Delete(o);
}

/* ---- lease: one lease at a time ---- */

static int lease_mode(struct store *st, const char *prefix, int n, int w, const char *out)
{
	double *put_route = calloc((size_t)n, sizeof(double));
	double *del_route = calloc((size_t)n, sizeof(double));
	double *put = calloc((size_t)n, sizeof(double));
	struct store_put o = {.if_rev = STORE_ANY, .ttl = 600};
	struct mon m;
	struct err e = {0};
	char key[256];
	cJSON *r;

	mon_open(&m);
	for (int i = 0; i < w + n; i++) {
		char *v = lease_kv(prefix, i, key, sizeof(key));
		struct want want = {.peer = i, .add = true};
		double t0, t1, t2;

		t0 = now_ms();
		if (store_put(st, key, v, strlen(v), &o, NULL, NULL, &e) < 0)
			die("put", &e);
		t1 = now_ms();
		if (mon_wait(&m, t0 + WAIT_MS, seen_one, &want) < 0) {
			fprintf(stderr, "ovbench: peer %d not programmed within %d ms\n", i,
				WAIT_MS);
			return 1;
		}
		t2 = now_ms();
		free(v);
		if (i >= w) {
			put_route[i - w] = t2 - t0;
			put[i - w] = t1 - t0;
		}
		want.add = false;
		t0 = now_ms();
		if (store_delete(st, key, STORE_ANY, NULL, &e) < 0)
			die("delete", &e);
		if (mon_wait(&m, t0 + WAIT_MS, seen_one, &want) < 0) {
			fprintf(stderr, "ovbench: peer %d not removed within %d ms\n", i, WAIT_MS);
			return 1;
		}
		if (i >= w)
			del_route[i - w] = now_ms() - t0;
	}
	r = cJSON_CreateObject();
	cJSON_AddItemToObject(r, "put_route", array_of(put_route, n));
	cJSON_AddItemToObject(r, "del_route", array_of(del_route, n));
	cJSON_AddItemToObject(r, "put", array_of(put, n));
	write_json(out, r);
	free(put_route);
	free(del_route);
	free(put);
	return 0;
}

/* ---- many: N leases at once ---- */

static size_t sink(char *p, size_t size, size_t n, void *arg)
{
	FILE *f = arg;

	return fwrite(p, size, n, f);
}

/* POSTs body to etcd's JSON gateway; returns the answer (free()) */
static char *gateway(const char *ep, const char *path, const char *body)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/json");
	char url[320], *ans = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&ans, &len);
	long code = 0;

	snprintf(url, sizeof(url), "http://%s%s", ep, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
	if (curl_easy_perform(h) != CURLE_OK)
		die("etcd gateway request", NULL);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	fclose(f);
	if (code != 200) {
		fprintf(stderr, "ovbench: etcd %s: HTTP %ld: %.300s\n", path, code, ans);
		exit(1);
	}
	curl_slist_free_all(hd);
	curl_easy_cleanup(h);
	return ans;
}

static char *b64(const char *s)
{
	size_t n = strlen(s);
	char *o = malloc(4 * (n / 3 + 2) + 1);

	base64_encode(s, n, o);
	return o;
}

/* One txn of n puts on one fresh etcd lease (TTL 600 s); returns that lease's ID (free()) */
static char *etcd_txn(const char *ep, const char *prefix, int n)
{
	cJSON *req, *ans, *id, *ops;
	char *s, *lease, key[256];

	ans = cJSON_Parse(s = gateway(ep, "/v3/lease/grant", "{\"TTL\":600}"));
	id = cJSON_GetObjectItem(ans, "ID");
	if (!cJSON_IsString(id))
		die("lease grant: no ID", NULL);
	free(s);
	lease = strdup(id->valuestring);
	req = cJSON_CreateObject();
	ops = cJSON_AddArrayToObject(req, "success");
	for (int i = 0; i < n; i++) {
		char *v = lease_kv(prefix, i, key, sizeof(key));
		cJSON *op = cJSON_CreateObject(), *put = cJSON_AddObjectToObject(op, "requestPut");
		char *k64 = b64(key), *v64 = b64(v);

		cJSON_AddStringToObject(put, "key", k64);
		cJSON_AddStringToObject(put, "value", v64);
		cJSON_AddStringToObject(put, "lease", lease);
		cJSON_AddItemToArray(ops, op);
		free(k64);
		free(v64);
		free(v);
	}
	cJSON_Delete(ans);
	s = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	free(gateway(ep, "/v3/kv/txn", s));
	free(s);
	return lease;
}

/* CPU time of pid in ms: the sum of its threads' run time in /proc/PID/task/TID/schedstat
 * (nanoseconds; /proc/PID/stat's utime + stime count 10 ms ticks, as coarse as the span
 * measured) */
static double cpu_ms(int pid)
{
	char path[300];
	unsigned long long ns, sum = 0;
	struct dirent *d;
	DIR *dir;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		die(path, NULL);
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/schedstat", pid, d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue; /* a thread gone meanwhile */
		if (fscanf(f, "%llu", &ns) == 1)
			sum += ns;
		fclose(f);
	}
	closedir(dir);
	return (double)sum / 1e6;
}

/* A "Field:  N kB" line of /proc/PID/status (VmHWM, RssAnon, RssFile), -1 when absent */
static long status_kib(int pid, const char *field)
{
	char path[64], line[256];
	size_t n = strlen(field);
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		die(path, NULL);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, n) && line[n] == ':' &&
		    sscanf(line + n + 1, "%ld", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

struct many_run {
	double write, programmed, first, cpu, removed;
};

/* One round: n leases written at once, until all n routes are there; then they go at once
 * (the etcd lease revoked, as when leases expire together; or deleted one by one), until
 * all n routes are gone */
static void many_round(struct store *st, struct mon *m, const char *prefix, int n, int pid,
		       const char *ep, struct many_run *ret)
{
	struct many mm = {.got = calloc(PEERS_MAX, 1), .left = n};
	struct store_put o = {.if_rev = STORE_ANY, .ttl = 600};
	char key[256], body[128], *lease = NULL;
	double c0 = pid > 0 ? cpu_ms(pid) : 0, t0, t1, t2;
	struct err e = {0};

	t0 = now_ms();
	if (ep) {
		lease = etcd_txn(ep, prefix, n);
	} else {
		for (int i = 0; i < n; i++) {
			char *v = lease_kv(prefix, i, key, sizeof(key));

			if (store_put(st, key, v, strlen(v), &o, NULL, NULL, &e) < 0)
				die("put", &e);
			free(v);
		}
	}
	t1 = now_ms();
	if (mon_wait(m, t0 + 60000, seen_many, &mm) < 0) {
		fprintf(stderr, "ovbench: %d of %d peers not programmed within 60 s\n", mm.left, n);
		exit(1);
	}
	t2 = now_ms();
	ret->write = t1 - t0;
	ret->programmed = t2 - t0;
	ret->first = mm.first - t0;
	ret->cpu = pid > 0 ? cpu_ms(pid) - c0 : 0;
	/* the same bitmap, counted down */
	mm.left = n;
	mm.first = 0;
	memset(mm.got, 0, PEERS_MAX);
	t0 = now_ms();
	if (ep) {
		snprintf(body, sizeof(body), "{\"ID\":\"%s\"}", lease);
		free(gateway(ep, "/v3/lease/revoke", body));
		free(lease);
	} else {
		for (int i = 0; i < n; i++) {
			free(lease_kv(prefix, i, key, sizeof(key)));
			if (store_delete(st, key, STORE_ANY, NULL, &e) < 0)
				die("delete", &e);
		}
	}
	if (mon_wait(m, t0 + 60000, seen_gone, &mm) < 0) {
		fprintf(stderr, "ovbench: %d of %d peers not removed within 60 s\n", mm.left, n);
		exit(1);
	}
	ret->removed = now_ms() - t0;
	free(mm.got);
}

static int many_mode(struct store *st, const char *prefix, int n, int reps, int pid, const char *ep,
		     const char *out)
{
	struct many_run *runs = calloc((size_t)reps, sizeof(*runs));
	double x[5][64];
	long h0 = pid > 0 ? status_kib(pid, "VmHWM") : 0;
	static const char *const keys[5] = {"write_ms", "programmed_ms", "first_route_ms",
					    "agent_cpu_ms", "removed_ms"};
	struct mon m;
	cJSON *r;

	mon_open(&m);
	for (int k = 0; k < reps; k++) {
		many_round(st, &m, prefix, n, pid, ep, &runs[k]);
		x[0][k] = runs[k].write;
		x[1][k] = runs[k].programmed;
		x[2][k] = runs[k].first;
		x[3][k] = runs[k].cpu;
		x[4][k] = runs[k].removed;
	}
	r = cJSON_CreateObject();
	cJSON_AddNumberToObject(r, "n", n);
	for (int i = 0; i < 5; i++)
		if (i != 3 || pid > 0)
			cJSON_AddItemToObject(r, keys[i], array_of(x[i], reps));
	if (pid > 0) {
		cJSON_AddNumberToObject(r, "agent_hwm_kib", (double)status_kib(pid, "VmHWM"));
		/* what of it is the agent's own memory, and what the pages of its libraries */
		cJSON_AddNumberToObject(r, "agent_rss_anon_kib",
					(double)status_kib(pid, "RssAnon"));
		cJSON_AddNumberToObject(r, "agent_rss_file_kib",
					(double)status_kib(pid, "RssFile"));
		cJSON_AddNumberToObject(r, "agent_hwm_before_kib", (double)h0);
	}
	write_json(out, r);
	free(runs);
	return 0;
}

static const char usage[] =
	"usage: ovbench lease -s STORE [-P PREFIX] [-n N] [-w W] -o OUT.json\n"
	"       ovbench many -s STORE [-P PREFIX] [-n N] [-r REPS] [-a AGENT_PID] [-e ETCD_HOST:PORT] "
	"-o OUT.json\n";

int main(int argc, char **argv)
{
	const char *url = NULL, *prefix = "/sluice/network", *out = NULL, *ep = NULL, *mode;
	int n = 50, w = 3, reps = 5, pid = 0, c, rc;
	struct store *st = NULL;
	struct err e = {0};

	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	mode = argv[1];
	optind = 2;
	while ((c = getopt(argc, argv, "s:P:n:w:o:a:e:r:")) != -1) {
		switch (c) {
		case 's':
			url = optarg;
			break;
		case 'P':
			prefix = optarg;
			break;
		case 'n':
			n = atoi(optarg);
			break;
		case 'w':
			w = atoi(optarg);
			break;
		case 'o':
			out = optarg;
			break;
		case 'a':
			pid = atoi(optarg);
			break;
		case 'e':
			ep = optarg;
			break;
		case 'r':
			reps = atoi(optarg);
			break;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (!out || n <= 0 || n + w > PEERS_MAX || w < 0 || reps < 1 || reps > 64) {
		fputs(usage, stderr);
		return 2;
	}
	if (!url) {
		fputs(usage, stderr);
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	st = store_open(url, &e);
	if (!st)
		die("store", &e);
	if (!strcmp(mode, "lease"))
		rc = lease_mode(st, prefix, n, w, out);
	else if (!strcmp(mode, "many"))
		rc = many_mode(st, prefix, n, reps, pid, ep, out);
	else {
		fputs(usage, stderr);
		rc = 2;
	}
	store_close(st);
	curl_global_cleanup();
	return rc;
}
