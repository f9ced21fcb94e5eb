/* SPDX-License-Identifier: Apache-2.0 */
/* storebench: the datastore rows of `make bench` (tests/bench/rows.sh). Each measure times
 * one operation two ways, sample by sample in turn (so that a busy moment hits both), and
 * writes the row as cnibench does: {"row", "n", "ok", "measures": [{"name", "unit",
 * "stats": {"sluice": {...}, "upstream": {...}}}]}.
 *
 *   -t store-etcd  sluice's etcd backend in-process (one HTTP request an operation) and
 *                  `sluicectl store` per exec, each against `etcdctl` per exec: put, get, a
 *                  list of L keys, and put -> watch event (in-process watch, and the
 *                  `sluicectl store watch` process, against the `etcdctl watch` process)
 *   -t store-dir   the same operations on the dir:// store (in-process, sluicectl) in the
 *                  sluice column against the etcd backend's in the upstream one
 *   -t store-rss   peak RSS (wait4's ru_maxrss) of sluicectl against etcdctl per operation,
 *                  and of a watching process over 20 put -> event (its VmHWM)
 *   -t store-lease a list of K keys each with a TTL (leased, as subnets/ keys are) against
 *                  one of K keys without: a list leaves an etcd lease's time left unknown
 *                  (store_ttl), as etcdctl does (it once asked each key's timetolive);
 *                  the dir store's list, which reads each expiry, in the last measure
 *
 * Usage: storebench -t ROW -o OUT.json -e ETCD_URL [-d DIR_URL] -c SLUICECTL -E ETCDCTL
 *                   [-n N] [-l LIST_KEYS] [-L LIST_REPS] [-k LEASED_KEYS] */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <poll.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "base/base64.h"
#include "base/err.h"
#include "store/store.h"

struct sample {
	double ms, cpu_ms, minflt, rss_kib;
};

struct series {
	struct sample *s;
	int n;
	bool exec; /* cpu and page faults are the child's */
};

struct opts {
	const char *row, *out, *etcd_url, *dir_url, *ctl, *etcdctl;
	char etcd_ep[256]; /* host:port for etcdctl */
	int n, list_keys, list_reps, leased_keys;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void die(const char *what, const struct err *e)
{
	fprintf(stderr, "storebench: %s: %s%s%s\n", what, e ? e->msg : strerror(errno),
		e && e->details[0] ? ": " : "", e ? e->details : "");
	exit(1);
}

static void add(struct series *se, struct sample s)
{
	se->s = realloc(se->s, sizeof(*se->s) * (size_t)(se->n + 1));
	if (!se->s)
		die("realloc", NULL);
	se->s[se->n++] = s;
}

/* Runs argv with stdout to /dev/null and times it from fork to wait4 */
static struct sample run(char *const argv[])
{
	struct sample s = {0};
	struct rusage ru;
	int status, fd;
	double t0 = now_ms();
	pid_t pid = fork();

	if (pid < 0)
		die("fork", NULL);
	if (!pid) {
		fd = open("/dev/null", O_WRONLY);
		dup2(fd, STDOUT_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) < 0)
		die("wait4", NULL);
	s.ms = now_ms() - t0;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "storebench: %s %s %s failed (status %d)\n", argv[0], argv[1],
			argv[2] ? argv[2] : "", status);
		exit(1);
	}
	s.cpu_ms = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
		   (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
	s.minflt = (double)ru.ru_minflt;
	s.rss_kib = (double)ru.ru_maxrss;
	return s;
}

static struct sample self_usage(struct rusage *before, double t0)
{
	struct sample s = {.ms = now_ms() - t0};
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	s.cpu_ms = (double)(ru.ru_utime.tv_sec - before->ru_utime.tv_sec + ru.ru_stime.tv_sec -
			    before->ru_stime.tv_sec) *
			   1e3 +
		   (double)(ru.ru_utime.tv_usec - before->ru_utime.tv_usec + ru.ru_stime.tv_usec -
			    before->ru_stime.tv_usec) /
			   1e3;
	s.minflt = (double)(ru.ru_minflt - before->ru_minflt);
	return s;
}

/* ---- the operations ---- */

static const char VALUE[] = "{\"PublicIP\":\"192.0.2.10\",\"BackendType\":\"vxlan\","
			    "\"BackendData\":{\"VNI\":1,\"VtepMAC\":\"02:42:c0:a8:00:0a\"}}";

static struct sample api_put(struct store *st, const char *key)
{
	struct err e = {0};
	struct rusage ru;
	double t0;

	getrusage(RUSAGE_SELF, &ru);
	t0 = now_ms();
	if (store_put(st, key, VALUE, strlen(VALUE), NULL, NULL, NULL, &e) != 1)
		die("put", &e);
	return self_usage(&ru, t0);
}

static struct sample api_get(struct store *st, const char *key)
{
	struct store_kv kv = {0};
	struct err e = {0};
	struct rusage ru;
	double t0;

	getrusage(RUSAGE_SELF, &ru);
	t0 = now_ms();
	if (store_get(st, key, &kv, NULL, &e) != 1)
		die("get", &e);
	store_kv_free(&kv);
	return self_usage(&ru, t0);
}

static struct sample api_list(struct store *st, const char *prefix, int want)
{
	struct store_list l = {0};
	struct err e = {0};
	struct rusage ru;
	double t0;

	getrusage(RUSAGE_SELF, &ru);
	t0 = now_ms();
	if (store_list_all(st, prefix, 0, &l, &e) < 0)
		die("list", &e);
	if ((int)l.n != want) {
		fprintf(stderr, "storebench: list found %zu keys, not %d\n", l.n, want);
		exit(1);
	}
	store_list_free(&l);
	return self_usage(&ru, t0);
}

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	*(size_t *)arg += size * n;
	return size * n;
}

/* The gateway's own cost of a list: one POST of a range request to etcd's JSON gateway,
 * the answer read and not parsed (the floor any client of the gateway pays) */
static struct sample gateway_list(CURL *h, const char *ep, const char *prefix)
{
	char url[320], k[128], end[128], *body;
	size_t n = strlen(prefix), got = 0;
	struct sample s = {0};
	struct curl_slist *hd;
	cJSON *req;
	double t0;

	/* range_end: the prefix with its last byte + 1 (a prefix listing, as etcdctl asks) */
	char last[128];

	snprintf(last, sizeof(last), "%s", prefix);
	last[n - 1]++;
	base64_encode(prefix, n, k);
	base64_encode(last, n, end);
	req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "key", k);
	cJSON_AddStringToObject(req, "range_end", end);
	body = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	snprintf(url, sizeof(url), "http://%s/v3/kv/range", ep);
	hd = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &got);
	t0 = now_ms();
	if (curl_easy_perform(h) != CURLE_OK || got < 100) {
		fprintf(stderr, "storebench: the gateway's range failed\n");
		exit(1);
	}
	s.ms = now_ms() - t0;
	curl_slist_free_all(hd);
	free(body);
	return s;
}

/* Fills prefix with count keys once (a later row on the same store finds them there), each
 * with a TTL of ttl seconds (0: none) */
static void fill(struct store *st, const char *prefix, int count, int64_t ttl)
{
	struct store_put o = {.if_rev = STORE_ANY, .ttl = ttl};
	struct store_list l = {0};
	struct err e = {0};
	char key[128];

	if (store_list_all(st, prefix, 0, &l, &e) < 0)
		die("list", &e);
	if ((int)l.n == count) {
		store_list_free(&l);
		return;
	}
	store_list_free(&l);
	for (int i = 0; i < count; i++) {
		snprintf(key, sizeof(key), "%s%05d", prefix, i);
		if (store_put(st, key, VALUE, strlen(VALUE), &o, NULL, NULL, &e) != 1)
			die("fill", &e);
	}
}

/* Time from a put's start to the in-process watch's event for that key. From the put's
 * start, not its return: etcd sends the event before the put's answer, so that the time
 * from the return is about nothing for every watcher. The put is the same for both. */
static struct sample api_watch(struct store *putter, struct store_watch *w, const char *key)
{
	struct store_event ev;
	struct err e = {0};
	struct sample s = {0};
	double t0;
	int r;

	t0 = now_ms();
	if (store_put(putter, key, VALUE, strlen(VALUE), NULL, NULL, NULL, &e) != 1)
		die("put", &e);
	for (;;) {
		r = store_watch_wait(w, &ev, 10000, &e);
		if (r <= 0)
			die(r ? "watch" : "watch: no event in 10 s", r ? &e : NULL);
		bool mine = !strcmp(ev.kv.key, key);

		store_event_free(&ev);
		if (mine)
			break;
	}
	s.ms = now_ms() - t0;
	return s;
}

/* A watching process (sluicectl store watch, etcdctl watch) whose stdout we read */
struct watcher {
	pid_t pid;
	int fd;
	char buf[65536];
	size_t len;
};

static void watcher_start(struct watcher *wp, char *const argv[])
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		die("pipe", NULL);
	wp->len = 0;
	wp->pid = fork();
	if (wp->pid < 0)
		die("fork", NULL);
	if (!wp->pid) {
		dup2(p[1], STDOUT_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	wp->fd = p[0];
}

/* Reads until a line holding key arrives (within 10 s) */
static bool watcher_wait(struct watcher *wp, const char *key)
{
	struct pollfd pfd = {.fd = wp->fd, .events = POLLIN};
	double deadline = now_ms() + 10000;
	char *nl, *line;
	ssize_t got;

	for (;;) {
		while ((nl = memchr(wp->buf, '\n', wp->len))) {
			*nl = '\0';
			line = wp->buf;
			bool found = strstr(line, key) != NULL;

			wp->len -= (size_t)(nl + 1 - wp->buf);
			memmove(wp->buf, nl + 1, wp->len);
			if (found)
				return true;
		}
		if (now_ms() > deadline)
			return false;
		int pr = poll(&pfd, 1, 1000);

		if (pr < 0 && errno != EINTR)
			return false;
		if (pr <= 0)
			continue;
		if (wp->len == sizeof(wp->buf))
			wp->len = 0; /* a line longer than the buffer: not one we look for */
		got = read(wp->fd, wp->buf + wp->len, sizeof(wp->buf) - wp->len);
		if (got <= 0 && !(got < 0 && errno == EAGAIN))
			return false;
		if (got > 0)
			wp->len += (size_t)got;
	}
}

/* Stops the watching process: its peak RSS in the sample, VmHWM read while it lives (its
 * own, where wait4's ru_maxrss never reads below the forking runner's) */
static struct sample watcher_stop(struct watcher *wp)
{
	struct sample s = {0};
	struct rusage ru;
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)wp->pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %lf", &s.rss_kib) == 1)
			break;
	if (f)
		fclose(f);
	kill(wp->pid, SIGTERM);
	if (wait4(wp->pid, NULL, 0, &ru) == wp->pid && !s.rss_kib)
		s.rss_kib = (double)ru.ru_maxrss;
	close(wp->fd);
	return s;
}

static struct sample proc_watch(struct store *putter, struct watcher *wp, const char *key)
{
	struct err e = {0};
	struct sample s = {0};
	double t0;

	t0 = now_ms();
	if (store_put(putter, key, VALUE, strlen(VALUE), NULL, NULL, NULL, &e) != 1)
		die("put", &e);
	if (!watcher_wait(wp, key)) {
		fprintf(stderr, "storebench: the watching process showed no event for the put\n");
		exit(1);
	}
	s.ms = now_ms() - t0;
	return s;
}

/* ---- statistics and output ---- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double round_to(double v, double q)
{
	return (double)(long long)(v / q + (v < 0 ? -0.5 : 0.5)) * q;
}

/* median, p95 (nearest rank), min, max, mean */
static void stats(double *x, int n, double st[5])
{
	double sum = 0;
	int k;

	qsort(x, (size_t)n, sizeof(*x), cmp_double);
	st[0] = n % 2 ? x[n / 2] : (x[n / 2 - 1] + x[n / 2]) / 2;
	k = (95 * n + 99) / 100;
	st[1] = x[k > 0 ? k - 1 : 0];
	st[2] = x[0];
	st[3] = x[n - 1];
	for (int i = 0; i < n; i++)
		sum += x[i];
	st[4] = sum / n;
}

static cJSON *stats_json(const struct series *se, bool rss, bool cpu)
{
	static const char *const keys[5] = {"median", "p95", "min", "max", "mean"};
	double *x = malloc(sizeof(double) * (size_t)se->n), st[5];
	cJSON *o = cJSON_CreateObject();

	for (int i = 0; i < se->n; i++)
		x[i] = rss ? se->s[i].rss_kib : se->s[i].ms;
	stats(x, se->n, st);
	cJSON_AddNumberToObject(o, "n", se->n);
	for (int i = 0; i < 5; i++)
		cJSON_AddNumberToObject(o, keys[i], round_to(st[i], rss ? 1 : 1e-4));
	if (cpu && !rss) {
		for (int i = 0; i < se->n; i++)
			x[i] = se->s[i].cpu_ms;
		stats(x, se->n, st);
		cJSON_AddNumberToObject(o, "cpu_median", round_to(st[0], 1e-3));
		for (int i = 0; i < se->n; i++)
			x[i] = se->s[i].minflt;
		stats(x, se->n, st);
		cJSON_AddNumberToObject(o, "minflt_median", st[0]);
	}
	free(x);
	return o;
}

static void measure(cJSON *ms, const char *name, bool rss, struct series *a, bool a_cpu,
		    struct series *b, bool b_cpu)
{
	cJSON *m = cJSON_CreateObject(), *st = cJSON_CreateObject();

	cJSON_AddStringToObject(m, "name", name);
	cJSON_AddStringToObject(m, "unit", rss ? "KiB" : "ms");
	cJSON_AddItemToObject(st, "sluice", stats_json(a, rss, a_cpu));
	cJSON_AddItemToObject(st, "upstream", stats_json(b, rss, b_cpu));
	cJSON_AddItemToObject(m, "stats", st);
	cJSON_AddItemToArray(ms, m);
	fprintf(stderr, "  %-44s %9.3f %9.3f\n", name,
		cJSON_GetObjectItem(cJSON_GetObjectItem(st, "sluice"), "median")->valuedouble,
		cJSON_GetObjectItem(cJSON_GetObjectItem(st, "upstream"), "median")->valuedouble);
	free(a->s);
	free(b->s);
	*a = (struct series){0};
	*b = (struct series){0};
}

static struct store *open_store(const char *url)
{
	struct err e = {0};
	struct store *st = store_open(url, &e);

	if (!st)
		die("open", &e);
	return st;
}

/* ---- the argument vectors of the commands ---- */

struct cmds {
	char *ctl_put[9], *ctl_get[9], *ctl_list[9], *ctl_watch[9], *ctl_lease[9];
	char *ec_put[6], *ec_get[6], *ec_list[7], *ec_watch[7], *ec_lease[7];
	char ep[300];
};

static void cmds_init(struct cmds *c, const struct opts *o, const char *url)
{
	char *ctl = (char *)o->ctl, *ec = (char *)o->etcdctl, *u = (char *)url;

	snprintf(c->ep, sizeof(c->ep), "--endpoints=%s", o->etcd_ep);
	memcpy(c->ctl_put,
	       (char *[]){ctl, "--store", u, "store", "put", "/bench/cput", (char *)VALUE, NULL},
	       sizeof(char *) * 8);
	memcpy(c->ctl_get, (char *[]){ctl, "--store", u, "store", "get", "/bench/get", NULL},
	       sizeof(char *) * 7);
	memcpy(c->ctl_list, (char *[]){ctl, "--store", u, "store", "list", "/bench/list/", NULL},
	       sizeof(char *) * 7);
	memcpy(c->ctl_watch, (char *[]){ctl, "--store", u, "store", "watch", "/bench/pw/", NULL},
	       sizeof(char *) * 7);
	memcpy(c->ec_put, (char *[]){ec, c->ep, "put", "/bench/eput", (char *)VALUE, NULL},
	       sizeof(char *) * 6);
	memcpy(c->ec_get, (char *[]){ec, c->ep, "get", "/bench/get", NULL}, sizeof(char *) * 5);
	memcpy(c->ec_list, (char *[]){ec, c->ep, "get", "--prefix", "/bench/list/", NULL},
	       sizeof(char *) * 6);
	memcpy(c->ec_watch, (char *[]){ec, c->ep, "watch", "--prefix", "/bench/ew/", NULL},
	       sizeof(char *) * 6);
	memcpy(c->ctl_lease, (char *[]){ctl, "--store", u, "store", "list", "/bench/leased/", NULL},
	       sizeof(char *) * 7);
	memcpy(c->ec_lease, (char *[]){ec, c->ep, "get", "--prefix", "/bench/leased/", NULL},
	       sizeof(char *) * 6);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: storebench -t store-etcd|store-dir|store-rss|store-lease -o OUT.json "
		"-e ETCD_URL [-d DIR_URL] -c SLUICECTL -E ETCDCTL [-n N] [-l KEYS] "
		"[-L REPS] [-k LEASED_KEYS]\n");
	exit(2);
}

/* A process watch is ready when it shows the event of a put made after it started */
static void watcher_ready(struct watcher *wp, struct store *putter, const char *prefix)
{
	struct pollfd pfd = {.fd = wp->fd, .events = POLLIN};
	struct err e = {0};
	char key[128];

	/* puts until one shows: those made before the watch began are never seen */
	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "%sready-%d", prefix, i);
		if (store_put(putter, key, VALUE, strlen(VALUE), NULL, NULL, NULL, &e) != 1)
			die("put", &e);
		if (poll(&pfd, 1, 200) > 0 && watcher_wait(wp, key))
			return;
	}
	fprintf(stderr, "storebench: the watching process never showed an event\n");
	exit(1);
}

static void row_etcd(const struct opts *o, cJSON *ms)
{
	struct store *st = open_store(o->etcd_url);
	struct series a = {0}, b = {0};
	struct watcher wa, wb;
	struct store_watch *w;
	struct err e = {0};
	struct cmds c;
	char key[64], name[96];

	cmds_init(&c, o, o->etcd_url);
	/* warm-up: the first request of each kind pays the connection and the page faults */
	api_put(st, "/bench/get");
	api_get(st, "/bench/get");
	for (int i = 0; i < o->n; i++) {
		snprintf(key, sizeof(key), "/bench/put/%d", i);
		add(&a, api_put(st, key));
		add(&b, run(c.ec_put));
	}
	measure(ms, "put: API | etcdctl", false, &a, true, &b, true);
	for (int i = 0; i < o->n; i++) {
		add(&a, run(c.ctl_put));
		add(&b, run(c.ec_put));
	}
	measure(ms, "put: sluicectl | etcdctl", false, &a, true, &b, true);
	for (int i = 0; i < o->n; i++) {
		add(&a, api_get(st, "/bench/get"));
		add(&b, run(c.ec_get));
	}
	measure(ms, "get: API | etcdctl", false, &a, true, &b, true);
	for (int i = 0; i < o->n; i++) {
		add(&a, run(c.ctl_get));
		add(&b, run(c.ec_get));
	}
	measure(ms, "get: sluicectl | etcdctl", false, &a, true, &b, true);

	fill(st, "/bench/list/", o->list_keys, 0);
	snprintf(name, sizeof(name), "list %d: API | etcdctl", o->list_keys);
	for (int i = 0; i < o->list_reps; i++) {
		add(&a, api_list(st, "/bench/list/", o->list_keys));
		add(&b, run(c.ec_list));
	}
	measure(ms, name, false, &a, true, &b, true);
	snprintf(name, sizeof(name), "list %d: sluicectl | etcdctl", o->list_keys);
	for (int i = 0; i < o->list_reps; i++) {
		add(&a, run(c.ctl_list));
		add(&b, run(c.ec_list));
	}
	measure(ms, name, false, &a, true, &b, true);
	/* what the gateway costs by itself, against etcdctl's gRPC */
	CURL *h = curl_easy_init();

	if (!h)
		die("curl", NULL);
	gateway_list(h, o->etcd_ep, "/bench/list/");
	snprintf(name, sizeof(name), "list %d: bare gateway POST | etcdctl", o->list_keys);
	for (int i = 0; i < o->list_reps; i++) {
		add(&a, gateway_list(h, o->etcd_ep, "/bench/list/"));
		add(&b, run(c.ec_list));
	}
	measure(ms, name, false, &a, false, &b, true);
	curl_easy_cleanup(h);

	/* put -> watch event: the puts through the API; the watches in-process and by process */
	w = store_watch_open(st, "/bench/w/", 0, &e);
	if (!w)
		die("watch", &e);
	struct store *putter = open_store(o->etcd_url);

	watcher_start(&wb, c.ec_watch);
	watcher_ready(&wb, putter, "/bench/ew/");
	for (int i = 0; i < o->n; i++) {
		snprintf(key, sizeof(key), "/bench/w/%d", i);
		add(&a, api_watch(putter, w, key));
		snprintf(key, sizeof(key), "/bench/ew/%d", i);
		add(&b, proc_watch(putter, &wb, key));
	}
	measure(ms, "put->event: API | etcdctl watch", false, &a, false, &b, false);
	watcher_start(&wa, c.ctl_watch);
	watcher_ready(&wa, putter, "/bench/pw/");
	for (int i = 0; i < o->n; i++) {
		snprintf(key, sizeof(key), "/bench/pw/%d", i);
		add(&a, proc_watch(putter, &wa, key));
		snprintf(key, sizeof(key), "/bench/ew/x%d", i);
		add(&b, proc_watch(putter, &wb, key));
	}
	measure(ms, "put->event: sluicectl | etcdctl watch", false, &a, false, &b, false);
	(void)watcher_stop(&wa);
	(void)watcher_stop(&wb);
	store_watch_close(w);
	store_close(putter);
	store_close(st);
}

/* The dir store in the sluice column, the etcd backend in the upstream one */
static void row_dir(const struct opts *o, cJSON *ms)
{
	struct store *d = open_store(o->dir_url), *et = open_store(o->etcd_url);
	struct store *dp = open_store(o->dir_url), *ep = open_store(o->etcd_url);
	struct series a = {0}, b = {0};
	struct store_watch *wd, *we;
	struct cmds cd, ce;
	struct err e = {0};
	char key[64], name[96];

	cmds_init(&cd, o, o->dir_url);
	cmds_init(&ce, o, o->etcd_url);
	api_put(d, "/bench/get");
	api_put(et, "/bench/get");
	for (int i = 0; i < o->n; i++) {
		snprintf(key, sizeof(key), "/bench/put/%d", i);
		add(&a, api_put(d, key));
		add(&b, api_put(et, key));
	}
	measure(ms, "put: dir API | etcd API", false, &a, true, &b, true);
	for (int i = 0; i < o->n; i++) {
		add(&a, run(cd.ctl_put));
		add(&b, run(ce.ctl_put));
	}
	measure(ms, "put: sluicectl dir | etcd", false, &a, true, &b, true);
	for (int i = 0; i < o->n; i++) {
		add(&a, api_get(d, "/bench/get"));
		add(&b, api_get(et, "/bench/get"));
	}
	measure(ms, "get: dir API | etcd API", false, &a, true, &b, true);
	for (int i = 0; i < o->n; i++) {
		add(&a, run(cd.ctl_get));
		add(&b, run(ce.ctl_get));
	}
	measure(ms, "get: sluicectl dir | etcd", false, &a, true, &b, true);
	fill(d, "/bench/list/", o->list_keys, 0);
	fill(et, "/bench/list/", o->list_keys, 0);
	snprintf(name, sizeof(name), "list %d: dir API | etcd API", o->list_keys);
	for (int i = 0; i < o->list_reps; i++) {
		add(&a, api_list(d, "/bench/list/", o->list_keys));
		add(&b, api_list(et, "/bench/list/", o->list_keys));
	}
	measure(ms, name, false, &a, true, &b, true);
	snprintf(name, sizeof(name), "list %d: sluicectl dir | etcd", o->list_keys);
	for (int i = 0; i < o->list_reps; i++) {
		add(&a, run(cd.ctl_list));
		add(&b, run(ce.ctl_list));
	}
	measure(ms, name, false, &a, true, &b, true);
	wd = store_watch_open(d, "/bench/dw/", 0, &e);
	we = store_watch_open(et, "/bench/dw/", 0, &e);
	if (!wd || !we)
		die("watch", &e);
	for (int i = 0; i < o->n; i++) {
		snprintf(key, sizeof(key), "/bench/dw/%d", i);
		add(&a, api_watch(dp, wd, key));
		add(&b, api_watch(ep, we, key));
	}
	measure(ms, "put->event: dir API | etcd API", false, &a, false, &b, false);
	store_watch_close(wd);
	store_watch_close(we);
	store_close(dp);
	store_close(ep);
	store_close(d);
	store_close(et);
}

/* Peak RSS of each exec: sluicectl against etcdctl */
static void row_rss(const struct opts *o, cJSON *ms)
{
	struct store *st = open_store(o->etcd_url);
	struct series a = {0}, b = {0};
	int reps = o->n / 10 < 5 ? 5 : o->n / 10;
	struct cmds c;
	char name[96];

	cmds_init(&c, o, o->etcd_url);
	api_put(st, "/bench/get");
	for (int i = 0; i < reps; i++) {
		add(&a, run(c.ctl_put));
		add(&b, run(c.ec_put));
	}
	measure(ms, "put: sluicectl | etcdctl", true, &a, true, &b, true);
	for (int i = 0; i < reps; i++) {
		add(&a, run(c.ctl_get));
		add(&b, run(c.ec_get));
	}
	measure(ms, "get: sluicectl | etcdctl", true, &a, true, &b, true);
	fill(st, "/bench/list/", o->list_keys, 0);
	snprintf(name, sizeof(name), "list %d: sluicectl | etcdctl", o->list_keys);
	for (int i = 0; i < o->list_reps; i++) {
		add(&a, run(c.ctl_list));
		add(&b, run(c.ec_list));
	}
	measure(ms, name, true, &a, true, &b, true);
	/* a watching process over the put -> event measure: started, made ready, shown 20
	 * events, stopped; its peak over all of it */
	struct store *putter = open_store(o->etcd_url);
	struct watcher wa, wb;
	char key[64];

	for (int i = 0; i < reps; i++) {
		watcher_start(&wa, c.ctl_watch);
		watcher_start(&wb, c.ec_watch);
		watcher_ready(&wa, putter, "/bench/pw/");
		watcher_ready(&wb, putter, "/bench/ew/");
		for (int j = 0; j < 20; j++) {
			snprintf(key, sizeof(key), "/bench/pw/r%d-%d", i, j);
			proc_watch(putter, &wa, key);
			snprintf(key, sizeof(key), "/bench/ew/r%d-%d", i, j);
			proc_watch(putter, &wb, key);
		}
		add(&a, watcher_stop(&wa));
		add(&b, watcher_stop(&wb));
	}
	measure(ms, "watch, 20 events: sluicectl | etcdctl", true, &a, false, &b, false);
	store_close(putter);
	store_close(st);
}

/* A list of leased keys against one of as many keys without a lease */
static void row_lease(const struct opts *o, cJSON *ms)
{
	struct store *et = open_store(o->etcd_url), *d = NULL;
	struct series a = {0}, b = {0};
	int k = o->leased_keys;
	struct cmds c;
	char name[96];

	cmds_init(&c, o, o->etcd_url);
	/* an hour: no key expires during the row */
	fill(et, "/bench/leased/", k, 3600);
	fill(et, "/bench/unleased/", k, 0);
	api_list(et, "/bench/leased/", k);
	snprintf(name, sizeof(name), "list %d leased | not: etcd API", k);
	for (int i = 0; i < o->list_reps; i++) {
		add(&a, api_list(et, "/bench/leased/", k));
		add(&b, api_list(et, "/bench/unleased/", k));
	}
	measure(ms, name, false, &a, true, &b, true);
	snprintf(name, sizeof(name), "list %d leased: etcd API | etcdctl", k);
	for (int i = 0; i < o->list_reps; i++) {
		add(&a, api_list(et, "/bench/leased/", k));
		add(&b, run(c.ec_lease));
	}
	measure(ms, name, false, &a, true, &b, true);
	snprintf(name, sizeof(name), "list %d leased: sluicectl | etcdctl", k);
	for (int i = 0; i < o->list_reps; i++) {
		add(&a, run(c.ctl_lease));
		add(&b, run(c.ec_lease));
	}
	measure(ms, name, false, &a, true, &b, true);
	if (o->dir_url) {
		d = open_store(o->dir_url);
		fill(d, "/bench/leased/", k, 3600);
		snprintf(name, sizeof(name), "list %d leased: dir API | etcd API", k);
		for (int i = 0; i < o->list_reps; i++) {
			add(&a, api_list(d, "/bench/leased/", k));
			add(&b, api_list(et, "/bench/leased/", k));
		}
		measure(ms, name, false, &a, true, &b, true);
		store_close(d);
	}
	store_close(et);
}

int main(int argc, char **argv)
{
	struct opts o = {.n = 200, .list_keys = 10000, .list_reps = 5, .leased_keys = 1000};
	cJSON *root, *ms;
	const char *hp;
	char *s;
	FILE *f;
	int c;

	while ((c = getopt(argc, argv, "t:o:e:d:c:E:n:l:L:k:")) != -1) {
		switch (c) {
		case 't':
			o.row = optarg;
			break;
		case 'o':
			o.out = optarg;
			break;
		case 'e':
			o.etcd_url = optarg;
			break;
		case 'd':
			o.dir_url = optarg;
			break;
		case 'c':
			o.ctl = optarg;
			break;
		case 'E':
			o.etcdctl = optarg;
			break;
		case 'n':
			o.n = atoi(optarg);
			break;
		case 'l':
			o.list_keys = atoi(optarg);
			break;
		case 'L':
			o.list_reps = atoi(optarg);
			break;
		case 'k':
			o.leased_keys = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (!o.row || !o.out || !o.etcd_url || !o.ctl || !o.etcdctl || o.n < 1 || o.list_keys < 1 ||
	    o.list_reps < 1 || o.leased_keys < 1 || strncmp(o.etcd_url, "etcd://", 7))
		usage();
	hp = o.etcd_url + 7;
	snprintf(o.etcd_ep, sizeof(o.etcd_ep), "%.*s", (int)strcspn(hp, ",/?"), hp);
	signal(SIGPIPE, SIG_IGN);

	root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "row", o.row);
	cJSON_AddNumberToObject(root, "n", o.n);
	ms = cJSON_CreateArray();
	if (!strcmp(o.row, "store-etcd"))
		row_etcd(&o, ms);
	else if (!strcmp(o.row, "store-dir") && o.dir_url)
		row_dir(&o, ms);
	else if (!strcmp(o.row, "store-rss"))
		row_rss(&o, ms);
	else if (!strcmp(o.row, "store-lease"))
		row_lease(&o, ms);
	else
		usage();
	cJSON_AddBoolToObject(root, "ok", true);
	{
		struct rusage ru;

		/* the runner's own peak: what a child's reading can never be below */
		getrusage(RUSAGE_SELF, &ru);
		cJSON_AddNumberToObject(root, "spawner_rss_kib", (double)ru.ru_maxrss);
	}
	cJSON_AddItemToObject(root, "measures", ms);
	s = cJSON_Print(root);
	f = fopen(o.out, "w");
	if (!f || fputs(s, f) < 0 || fclose(f))
		die(o.out, NULL);
	free(s);
	cJSON_Delete(root);
	return 0;
}
