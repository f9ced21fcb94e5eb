// SPDX-License-Identifier: Apache-2.0
/* cnibench: a minimal CNI runtime that times plugins for tests/bench/run.sh. Each variant
 * (a conflist, its CNI_PATH, its own host netns) ADDs and DELs pods, each in a netns of its
 * own, the variants interleaved pod by pod; each exec's wall time and peak RSS (wait4) are
 * recorded, and medians/p95 written as JSON. Usage: cnibench -h */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <linux/magic.h>

#include <cjson/cJSON.h>

#include "base/ip.h"
#include "netlink/netns.h"
#include "netlink/nl.h"
#include "netlink/nl_link.h"

#define MAX_VARIANTS 4
#define MAX_PLUGINS 8
#define OUT_MAX (4 << 20)
#define MAX_STEPS 16

static const char usage[] =
	"usage: cnibench [options] -V NAME -c CONFLIST [-C CONFLIST] [-x CNI_PATH] [-s] ...\n"
	"  -t TAG      row name (JSON \"row\"; hashed into container IDs)\n"
	"  -d DIR      where netns files are created and kept: DIR/host-<tag hash>-<variant>,\n"
	"              DIR/pod-<variant>-<i> (reused by later runs with the same DIR)\n"
	"  -o FILE     JSON summary (default stdout)\n"
	"  -n N        measured pods per variant (200)\n"
	"  -w W        warm-up pods per variant, added and deleted before measuring (2)\n"
	"  -p K        pods added before measuring and deleted after: existing state (0)\n"
	"  -m VERBS    ADD,DEL (default) or VERSION\n"
	"  -i IFNAME   container interface name (eth0)\n"
	"  -r FILE     runtimeConfig per pod, one JSON object a line in pod order (warm-up,\n"
	"              prefill, measured), given to plugins declaring the capability\n"
	"  -V NAME     starts a variant; the options after it describe it:\n"
	"  -c FILE     its conflist; \"@x\" types are not resolved here (run.sh renders them)\n"
	"  -C FILE     its conflist for prefill pods (default: -c)\n"
	"  -x PATH     its CNI_PATH, where plugin types are looked up\n"
	"  -s          self-timed: the sample is the \"benchNs\" its plugin prints (floor)\n"
	"  -S          prefill pods share one netns (for chains that create no interface)\n"
	"  -a CIDR     pod i's address in a first plugin's literal prevResult: CIDR's network\n"
	"              + 2 + i, CIDR's length (IPv4), so that no two attachments share one\n"
	"  -H PROGRAM  run as PROGRAM VARIANT HOST_NETNS_PATH once the variant's host netns\n"
	"              exists, before any pod (what a node holds before its first pod)\n"
	"  -A          the chain's total of every variant, also of one that lacks a plugin\n"
	"              of another (a chain against the same chain without one plugin)\n";

enum { V_ADD, V_DEL, V_VERSION, V_COUNT };
static const char *const verb_names[V_COUNT] = {"ADD", "DEL", "VERSION"};

/* One exec (or a chain's execs summed; rss_kb their maximum). */
struct sample {
	double us; /* wall time */
	long rss_kb; /* peak RSS */
	double user_us, sys_us; /* CPU time (wait4) */
	long minflt; /* page faults */
};

struct chain {
	cJSON *root; /* the conflist */
	const char *name, *version;
	int n;
	const cJSON *plugin[MAX_PLUGINS];
	char *exe[MAX_PLUGINS];
	char label[MAX_PLUGINS][64];
};

struct variant {
	const char *name, *conf_path, *prefill_path, *cni_path;
	bool self_timed;
	struct chain conf, prefill;
	char host_path[512]; /* the netns its plugins run in, the "host" of its pods */
	const char *host_setup; /* -H: run once host_path exists */
	int n_base_host; /* links in the host netns before the first pod */
	int host_fd;
	cJSON **result; /* the chain's ADD result per pod */
	bool *added;
	/* [verb][0: chain, 1 + k: plugin k][measured pod] */
	struct sample *s[V_COUNT][MAX_PLUGINS + 1];
	/* self-timed: the steps it reports, per verb */
	char step_name[V_COUNT][MAX_STEPS][32];
	struct sample *step[V_COUNT][MAX_STEPS];
	int nsteps[V_COUNT];
	int n_leftover_host, n_leftover_pod;
};

struct bench {
	const char *tag, *dir, *out_path, *ifname, *rc_path;
	int n, warm, prefill, total;
	bool verbs[V_COUNT];
	bool shared_prefill_ns;
	bool all_chains; /* -A */
	struct ip_prefix pod_net; /* -a; family 0 when not given */
	uint32_t tag_hash;
	char **rc;
	int nrc;
	struct variant v[MAX_VARIANTS];
	int nv;
	int in_fd, out_fd, err_fd; /* memfds: the child's stdin, stdout, stderr */
	int sk; /* to the spawner */
	pid_t spawner;
	char *out, *err;
	int failed;
};

struct exec_res {
	int status;
	struct sample s;
	size_t out_len, err_len;
};

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("cnibench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

static char *slurp(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "re");
	char *buf;
	long n;

	if (!f)
		die("%s: %m", path);
	if (fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0)
		die("%s: %m", path);
	buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
		die("%s: read failed", path);
	buf[n] = 0;
	fclose(f);
	if (ret_len)
		*ret_len = (size_t)n;
	return buf;
}

static char *find_exe(const char *cni_path, const char *type)
{
	char *dirs = strdup(cni_path), *save = NULL, *path = NULL;

	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		if (asprintf(&path, "%s/%s", d, type) < 0)
			die("out of memory");
		if (access(path, X_OK) == 0)
			break;
		free(path);
		path = NULL;
	}
	free(dirs);
	return path;
}

/* A plugin's label in measure names: the plugin a floor stands for ("floor"), else its
 * type without the sluice- prefix, so sluice-bridge, bridge and their floor meet. */
static void plugin_label(const cJSON *p, const char *type, char out[64])
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(p, "floor");

	if (cJSON_IsString(f))
		snprintf(out, 64, "%s", f->valuestring);
	else
		snprintf(out, 64, "%s", strncmp(type, "sluice-", 7) ? type : type + 7);
}

static void chain_load(struct chain *c, const char *path, const char *cni_path)
{
	char *text = slurp(path, NULL);
	const cJSON *plugins, *p;

	c->root = cJSON_Parse(text);
	free(text);
	if (!c->root)
		die("%s: not JSON", path);
	c->name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c->root, "name"));
	c->version = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c->root, "cniVersion"));
	plugins = cJSON_GetObjectItemCaseSensitive(c->root, "plugins");
	if (!c->name || !c->version || !cJSON_IsArray(plugins))
		die("%s: a conflist needs name, cniVersion and plugins", path);
	cJSON_ArrayForEach(p, plugins) {
		const char *type =
			cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "type"));

		if (c->n == MAX_PLUGINS || !type)
			die("%s: too many plugins, or one without a type", path);
		c->exe[c->n] = find_exe(cni_path, type);
		if (!c->exe[c->n])
			die("%s: plugin %s not found in %s", path, type, cni_path);
		plugin_label(p, type, c->label[c->n]);
		c->plugin[c->n++] = p;
	}
	if (!c->n)
		die("%s: no plugins", path);
}

/* -a: the IPv4 addresses of a literal prevResult's ips become addr (a plugin chained alone
 * would otherwise see every pod at one address, each ADD replacing the one before's). */
static void literal_addr(cJSON *o, const char *addr)
{
	cJSON *prev = cJSON_GetObjectItemCaseSensitive(o, "prevResult"), *ip;

	cJSON_ArrayForEach(ip, cJSON_GetObjectItemCaseSensitive(prev, "ips")) {
		const char *a =
			cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ip, "address"));

		if (a && strchr(a, '.') &&
		    !cJSON_ReplaceItemInObjectCaseSensitive(ip, "address",
							    cJSON_CreateString(addr)))
			die("out of memory");
	}
}

/* The stdin of plugin k, as libcni builds it: the plugin's object with the list's name and
 * cniVersion, prevResult, and runtimeConfig for the capabilities it declares. addr: see
 * literal_addr() (NULL: none). */
static char *plugin_conf(const struct chain *c, int k, const cJSON *prev, const cJSON *rc,
			 const char *addr)
{
	cJSON *o = cJSON_Duplicate(c->plugin[k], 1), *rt = NULL;
	const cJSON *caps = cJSON_GetObjectItemCaseSensitive(o, "capabilities"), *cap;
	char *s;

	if (!prev && addr)
		literal_addr(o, addr);

	cJSON_DeleteItemFromObjectCaseSensitive(o, "name");
	cJSON_DeleteItemFromObjectCaseSensitive(o, "cniVersion");
	cJSON_AddStringToObject(o, "name", c->name);
	cJSON_AddStringToObject(o, "cniVersion", c->version);
	if (prev) {
		cJSON_DeleteItemFromObjectCaseSensitive(o, "prevResult");
		cJSON_AddItemToObject(o, "prevResult", cJSON_Duplicate(prev, 1));
	}
	cJSON_ArrayForEach(cap, caps) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(rc, cap->string);

		if (!cJSON_IsTrue(cap) || !v)
			continue;
		if (!rt)
			rt = cJSON_AddObjectToObject(o, "runtimeConfig");
		cJSON_AddItemToObject(rt, cap->string, cJSON_Duplicate(v, 1));
	}
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!s)
		die("out of memory");
	return s;
}

static size_t read_memfd(int fd, char *buf)
{
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) < 0)
		die("fstat: %m");
	if (st.st_size >= OUT_MAX)
		st.st_size = OUT_MAX - 1;
	n = pread(fd, buf, (size_t)st.st_size, 0);
	if (n < 0)
		die("pread: %m");
	buf[n] = 0;
	return (size_t)n;
}

static void reset_memfd(int fd)
{
	if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0)
		die("memfd: %m");
}

/* The spawner's answer to one request. */
struct spawn_reply {
	int status;
	int err; /* errno of a failed setns or vfork */
	struct sample s;
};

/* The spawner: a process forked before this one grows, which runs every plugin for it.
 * A vfork child's ru_maxrss starts at its parent's RSS: this keeps that at a few hundred
 * KiB, below any plugin's, while the exec stays a vfork as in runtimes. A request is
 * "netns\0exe\0env...\0"; stdio are the memfds. No stdio or malloc here. */
static void spawner(int sk, int in_fd, int out_fd, int err_fd)
{
	static char buf[16384];
	char *argv[2] = {NULL, NULL}, *env[32];
	struct spawn_reply rep;
	struct timespec t0, t1;
	struct rusage ru;
	ssize_t n;

	while ((n = recv(sk, buf, sizeof(buf) - 1, 0)) > 0) {
		char *p = buf, *end = buf + n;
		int ne = 0, fd;

		buf[n] = 0;
		memset(&rep, 0, sizeof(rep));
		fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
			rep.err = errno;
		if (fd >= 0)
			close(fd);
		p += strlen(p) + 1;
		argv[0] = p;
		for (p += strlen(p) + 1; p < end && ne < 31; p += strlen(p) + 1)
			env[ne++] = p;
		env[ne] = NULL;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		pid_t pid = rep.err ? -1 : vfork();
		if (pid == 0) {
			if (dup2(in_fd, 0) == 0 && dup2(out_fd, 1) == 1 && dup2(err_fd, 2) == 2)
				execve(argv[0], argv, env);
			_exit(127);
		}
		if (pid < 0 && !rep.err)
			rep.err = errno;
		while (pid > 0 && wait4(pid, &rep.status, 0, &ru) < 0 && errno == EINTR)
			;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		rep.s.us = (double)(t1.tv_sec - t0.tv_sec) * 1e6 +
			   (double)(t1.tv_nsec - t0.tv_nsec) / 1e3;
		if (pid > 0) {
			rep.s.rss_kb = ru.ru_maxrss;
			rep.s.user_us =
				(double)ru.ru_utime.tv_sec * 1e6 + (double)ru.ru_utime.tv_usec;
			rep.s.sys_us =
				(double)ru.ru_stime.tv_sec * 1e6 + (double)ru.ru_stime.tv_usec;
			rep.s.minflt = ru.ru_minflt;
		}
		if (send(sk, &rep, sizeof(rep), 0) < 0)
			break;
	}
	_exit(0);
}

/* Starts the spawner; b->sk talks to it. Called first thing in main(). */
static void spawner_start(struct bench *b)
{
	int sv[2];

	b->in_fd = memfd_create("cnibench-in", MFD_CLOEXEC);
	b->out_fd = memfd_create("cnibench-out", MFD_CLOEXEC);
	b->err_fd = memfd_create("cnibench-err", MFD_CLOEXEC);
	if (b->in_fd < 0 || b->out_fd < 0 || b->err_fd < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		die("memfd, socketpair: %m");
	b->spawner = fork();
	if (b->spawner < 0)
		die("fork: %m");
	if (b->spawner == 0) {
		close(sv[0]);
		spawner(sv[1], b->in_fd, b->out_fd, b->err_fd);
	}
	close(sv[1]);
	b->sk = sv[0];
}

/* Runs exe in netns with env and conf on stdin, as a runtime does; the wall time is vfork
 * to reap, the peak RSS that of the exe and its children (wait4). */
static void run_exe(struct bench *b, const char *netns, const char *exe, char *const env[],
		    const char *conf, struct exec_res *r)
{
	static char req[16384];
	size_t len = strlen(conf), n = 0;
	struct spawn_reply rep;

	reset_memfd(b->in_fd);
	reset_memfd(b->out_fd);
	reset_memfd(b->err_fd);
	if (write(b->in_fd, conf, len) != (ssize_t)len || lseek(b->in_fd, 0, SEEK_SET) < 0)
		die("memfd write: %m");
	n += (size_t)snprintf(req, sizeof(req), "%s", netns) + 1;
	n += (size_t)snprintf(req + n, sizeof(req) - n, "%s", exe) + 1;
	for (int i = 0; env[i] && n < sizeof(req); i++)
		n += (size_t)snprintf(req + n, sizeof(req) - n, "%s", env[i]) + 1;
	if (n >= sizeof(req))
		die("request too long");
	if (send(b->sk, req, n, 0) < 0 || recv(b->sk, &rep, sizeof(rep), 0) != sizeof(rep))
		die("spawner: %m");
	if (rep.err)
		die("spawn %s in %s: %s", exe, netns, strerror(rep.err));
	r->status = rep.status;
	r->s = rep.s;
	r->out_len = read_memfd(b->out_fd, b->out);
	r->err_len = read_memfd(b->err_fd, b->err);
}

static void pod_cid(const struct bench *b, const struct variant *v, int pod, char *out, size_t n)
{
	snprintf(out, n, "b%08x-%s-%06d", b->tag_hash, v->name, pod);
}

static void pod_netns(const struct bench *b, const struct variant *v, int pod, char *out, size_t n)
{
	bool shared = b->shared_prefill_ns && pod >= b->warm && pod < b->warm + b->prefill;

	if (shared)
		snprintf(out, n, "%s/pod-%s-shared", b->dir, v->name);
	else
		snprintf(out, n, "%s/pod-%s-%d", b->dir, v->name, pod);
}

/* One plugin exec of pod's chain. Returns 0 or -1 (reported). */
static int run_plugin(struct bench *b, struct variant *v, const struct chain *c, int k, int verb,
		      int pod, const cJSON *prev, struct exec_res *r)
{
	char cid[128], ns[512], e_cmd[32], e_cid[160], e_ns[530], e_if[64], e_path[4200],
		e_args[512], addr[IP_STRLEN];
	char *env[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
		       e_cmd,
		       e_cid,
		       e_ns,
		       e_if,
		       e_path,
		       e_args,
		       NULL};
	const cJSON *rc = pod < b->nrc ? cJSON_Parse(b->rc[pod]) : NULL;
	char *conf;

	pod_cid(b, v, pod, cid, sizeof(cid));
	pod_netns(b, v, pod, ns, sizeof(ns));
	snprintf(e_cmd, sizeof(e_cmd), "CNI_COMMAND=%s", verb_names[verb]);
	snprintf(e_cid, sizeof(e_cid), "CNI_CONTAINERID=%s", cid);
	snprintf(e_ns, sizeof(e_ns), "CNI_NETNS=%s", ns);
	snprintf(e_if, sizeof(e_if), "CNI_IFNAME=%s", b->ifname);
	snprintf(e_path, sizeof(e_path), "CNI_PATH=%s", v->cni_path);
	/* what containerd passes */
	snprintf(e_args, sizeof(e_args),
		 "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME=pod-%d;"
		 "K8S_POD_INFRA_CONTAINER_ID=%s",
		 pod, cid);
	if (b->pod_net.ip.family) {
		struct ip_prefix a = {.ip = ip_prefix_network(&b->pod_net), .len = b->pod_net.len};

		a.ip.v4.s_addr = htonl(ntohl(a.ip.v4.s_addr) + 2 + (uint32_t)pod);
		ip_prefix_fmt(&a, addr);
	}
	conf = plugin_conf(c, k, prev, rc, b->pod_net.ip.family ? addr : NULL);
	cJSON_Delete((cJSON *)rc);
	run_exe(b, v->host_path, c->exe[k], env, conf, r);
	if (!WIFEXITED(r->status) || WEXITSTATUS(r->status) != 0) {
		fprintf(stderr, "cnibench: %s %s: %s %s pod %d failed (status 0x%x)\n", b->tag,
			v->name, c->exe[k], verb_names[verb], pod, r->status);
		fprintf(stderr, "  stdin:  %s\n  stdout: %s\n  stderr: %s\n", conf, b->out, b->err);
		b->failed = 1;
	}
	free(conf);
	return b->failed ? -1 : 0;
}

/* Records the "steps" a self-timed plugin reports (floor: ns per step) for measured pod m;
 * in a chain, each named after its plugin ("bridge veth"). */
static void record_steps(struct bench *b, struct variant *v, int verb, int m, const char *label,
			 const cJSON *steps)
{
	const cJSON *st;
	char name[sizeof(v->step_name[0][0])];

	cJSON_ArrayForEach(st, steps) {
		int i = 0;

		snprintf(name, sizeof(name), "%s%s%s", label ? label : "", label ? " " : "",
			 st->string);
		while (i < v->nsteps[verb] && strcmp(v->step_name[verb][i], name))
			i++;
		if (i == MAX_STEPS || !cJSON_IsNumber(st))
			continue;
		if (i == v->nsteps[verb]) {
			snprintf(v->step_name[verb][i], sizeof(v->step_name[verb][i]), "%s", name);
			v->step[verb][i] = calloc((size_t)b->n, sizeof(struct sample));
			if (!v->step[verb][i])
				die("out of memory");
			v->nsteps[verb]++;
		}
		v->step[verb][i][m].us = st->valuedouble / 1e3;
	}
}

/* The sample of an exec: its wall time, or the "benchNs" a self-timed plugin printed. */
static double sample_us(struct bench *b, struct variant *v, const struct exec_res *r, int verb,
			int m, int k)
{
	cJSON *o;
	const cJSON *ns;
	double us = r->s.us;

	if (!v->self_timed)
		return us;
	o = cJSON_Parse(b->out);
	ns = cJSON_GetObjectItemCaseSensitive(o, "benchNs");
	if (cJSON_IsNumber(ns))
		us = ns->valuedouble / 1e3;
	else
		fprintf(stderr, "cnibench: %s: no benchNs in %s\n", v->name, b->out);
	record_steps(b, v, verb, m, v->conf.n > 1 ? v->conf.label[k] : NULL,
		     cJSON_GetObjectItemCaseSensitive(o, "steps"));
	cJSON_Delete(o);
	return us;
}

/* Adds an exec's sample to a chain's: times and faults summed, RSS the largest. */
static void sample_add(struct sample *sum, const struct sample *x)
{
	sum->us += x->us;
	sum->user_us += x->user_us;
	sum->sys_us += x->sys_us;
	sum->minflt += x->minflt;
	if (x->rss_kb > sum->rss_kb)
		sum->rss_kb = x->rss_kb;
}

/* ADD of pod's chain; m >= 0 records it as measured pod m. Returns 0 or -1. */
static int pod_add(struct bench *b, struct variant *v, const struct chain *c, int pod, int m)
{
	struct sample sum = {0};
	cJSON *prev = NULL;
	struct exec_res r;

	v->added[pod] = true;
	for (int k = 0; k < c->n; k++) {
		if (run_plugin(b, v, c, k, V_ADD, pod, prev, &r) < 0) {
			cJSON_Delete(prev);
			return -1;
		}
		cJSON_Delete(prev);
		prev = cJSON_Parse(b->out);
		if (!prev) {
			fprintf(stderr, "cnibench: %s: ADD output is not JSON: %s\n", v->name,
				b->out);
			b->failed = 1;
			return -1;
		}
		if (m >= 0) {
			r.s.us = sample_us(b, v, &r, V_ADD, m, k);
			v->s[V_ADD][1 + k][m] = r.s;
			sample_add(&sum, &r.s);
		}
	}
	if (m >= 0)
		v->s[V_ADD][0][m] = sum;
	v->result[pod] = prev;
	return 0;
}

/* DEL in reverse order with the ADD result as prevResult, as libcni does. Returns 0 or -1;
 * an unmeasured DEL (cleanup) goes on past failures. */
static int pod_del(struct bench *b, struct variant *v, const struct chain *c, int pod, int m)
{
	struct sample sum = {0};
	struct exec_res r;
	int ret = 0;

	for (int k = c->n - 1; k >= 0; k--) {
		if (run_plugin(b, v, c, k, V_DEL, pod, v->result[pod], &r) < 0) {
			ret = -1;
			if (m >= 0)
				break;
			continue;
		}
		if (m >= 0) {
			r.s.us = sample_us(b, v, &r, V_DEL, m, k);
			v->s[V_DEL][1 + k][m] = r.s;
			sample_add(&sum, &r.s);
		}
	}
	if (m >= 0)
		v->s[V_DEL][0][m] = sum;
	cJSON_Delete(v->result[pod]);
	v->result[pod] = NULL;
	v->added[pod] = ret < 0;
	return ret;
}

static int pod_version(struct bench *b, struct variant *v, int pod, int m)
{
	struct sample sum = {0};
	struct exec_res r;

	for (int k = 0; k < v->conf.n; k++) {
		if (run_plugin(b, v, &v->conf, k, V_VERSION, pod, NULL, &r) < 0)
			return -1;
		v->s[V_VERSION][1 + k][m] = r.s;
		sample_add(&sum, &r.s);
	}
	v->s[V_VERSION][0][m] = sum;
	return 0;
}

/* Creates a persistent netns bound at path (as `ip netns add` does), unless one is there. */
static void mk_netns(const char *path)
{
	struct statfs sf;
	int fd, self;

	if (statfs(path, &sf) == 0 && sf.f_type == NSFS_MAGIC)
		return;
	fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0444);
	if (fd < 0)
		die("%s: %m", path);
	close(fd);
	self = netns_open("/proc/thread-self/ns/net");
	if (self < 0 || unshare(CLONE_NEWNET) < 0)
		die("unshare: %m");
	if (mount("/proc/thread-self/ns/net", path, "none", MS_BIND, NULL) < 0)
		die("bind %s: %m", path);
	if (setns(self, CLONE_NEWNET) < 0)
		die("setns: %m");
	close(self);
}

static int count_links(int fd);

/* -H: PROGRAM VARIANT HOST_NETNS_PATH, which must succeed */
static void host_setup(const struct variant *v)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		die("fork: %m");
	if (pid == 0) {
		execl(v->host_setup, v->host_setup, v->name, v->host_path, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("%s %s %s failed", v->host_setup, v->name, v->host_path);
}

static void setup(struct bench *b)
{
	char path[512];

	for (int i = 0; i < b->nv; i++) {
		struct variant *v = &b->v[i];

		snprintf(v->host_path, sizeof(v->host_path), "%s/host-%08x-%s", b->dir, b->tag_hash,
			 v->name);
		mk_netns(v->host_path);
		v->host_fd = netns_open(v->host_path);
		if (v->host_fd < 0)
			die("%s: %s", v->host_path, strerror(-v->host_fd));
		if (v->host_setup)
			host_setup(v);
		/* what the host held before the first pod is not a leftover */
		v->n_base_host = count_links(v->host_fd);
		for (int p = 0; p < b->total; p++) {
			pod_netns(b, v, p, path, sizeof(path));
			mk_netns(path);
		}
		v->result = calloc((size_t)b->total, sizeof(*v->result));
		v->added = calloc((size_t)b->total, sizeof(*v->added));
		for (int verb = 0; verb < V_COUNT; verb++)
			for (int k = 0; k <= MAX_PLUGINS; k++)
				v->s[verb][k] = calloc((size_t)b->n, sizeof(struct sample));
		if (!v->result || !v->added)
			die("out of memory");
	}
}

/* Each measured pod runs the variants in turn, starting one further each pod, so that
 * noise and ordering effects fall on all of them alike. */
static int phase(struct bench *b, int verb, int first, int count, bool measure, bool prefill)
{
	for (int j = 0; j < count; j++) {
		int pod = first + j, m = measure ? j : -1;

		for (int i = 0; i < b->nv; i++) {
			struct variant *v = &b->v[(j + i) % b->nv];
			const struct chain *c = prefill ? &v->prefill : &v->conf;
			int r;

			if (verb == V_ADD)
				r = pod_add(b, v, c, pod, m);
			else if (verb == V_DEL)
				r = pod_del(b, v, c, pod, m);
			else
				r = pod_version(b, v, pod, m);
			if (r < 0)
				return -1;
		}
	}
	return 0;
}

/* Deletes every pod still added, whatever happened before: a failed run leaves nothing. */
static void cleanup_pods(struct bench *b)
{
	int failed = b->failed;

	for (int i = 0; i < b->nv; i++)
		for (int p = 0; p < b->total; p++)
			if (b->v[i].added[p]) {
				bool pre = p >= b->warm && p < b->warm + b->prefill;

				(void)pod_del(b, &b->v[i], pre ? &b->v[i].prefill : &b->v[i].conf,
					      p, -1);
			}
	b->failed |= failed;
}

/* Counts links but lo and bridges (shared objects that plugins keep). */
static int count_cb(const struct nl_link *l, void *data)
{
	int *n = data;

	/* the node's shared devices (a bridge, the overlay's VXLAN device) stay by design */
	if (strcmp(l->name, "lo") && strcmp(l->kind, "bridge") && strcmp(l->kind, "vxlan"))
		(*n)++;
	return 0;
}

static int count_links(int fd)
{
	struct nl nl = {0};
	int n = 0;

	if (fd < 0 || nl_open(&nl, fd) < 0 || nl_link_dump(&nl, count_cb, &n) < 0)
		n = -1;
	nl_close(&nl);
	return n;
}

/* Links left behind in the variants' host and pod netns: none when every DEL did its job. */
static void check_leftovers(struct bench *b)
{
	char path[512];

	for (int i = 0; i < b->nv; i++) {
		struct variant *v = &b->v[i];

		v->n_leftover_host = count_links(v->host_fd) - v->n_base_host;
		for (int p = 0; p < b->total; p++) {
			int fd, n;

			pod_netns(b, v, p, path, sizeof(path));
			fd = netns_open(path);
			n = count_links(fd);
			if (fd >= 0)
				close(fd);
			v->n_leftover_pod += n < 0 ? 1 : n;
		}
		if (v->n_leftover_host || v->n_leftover_pod)
			fprintf(stderr,
				"cnibench: %s %s: left behind %d host links, %d pod links\n",
				b->tag, v->name, v->n_leftover_host, v->n_leftover_pod);
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median, p95 (nearest rank), min, max, mean of n values, in that order. */
static void stats(double *x, int n, double out[5])
{
	double sum = 0;

	qsort(x, (size_t)n, sizeof(*x), cmp_double);
	for (int i = 0; i < n; i++)
		sum += x[i];
	out[0] = n % 2 ? x[n / 2] : (x[n / 2 - 1] + x[n / 2]) / 2;
	out[1] = x[(95 * n + 99) / 100 - 1];
	out[2] = x[0];
	out[3] = x[n - 1];
	out[4] = sum / n;
}

static double round_to(double x, double unit)
{
	return (double)(long long)(x / unit + 0.5) * unit;
}

/* Medians of the CPU time and page faults of the execs timed (x: scratch for n values).
 * The user/sys split is sampled at ticks; their sum (cpu) is exact. */
static void cpu_stats(const struct sample *s, int n, double *x, cJSON *o)
{
	double st[5];

	for (int i = 0; i < n; i++)
		x[i] = s[i].user_us / 1e3;
	stats(x, n, st);
	cJSON_AddNumberToObject(o, "user_median", round_to(st[0], 1e-3));
	for (int i = 0; i < n; i++)
		x[i] = s[i].sys_us / 1e3;
	stats(x, n, st);
	cJSON_AddNumberToObject(o, "sys_median", round_to(st[0], 1e-3));
	for (int i = 0; i < n; i++)
		x[i] = (s[i].user_us + s[i].sys_us) / 1e3;
	stats(x, n, st);
	cJSON_AddNumberToObject(o, "cpu_median", round_to(st[0], 1e-3));
	for (int i = 0; i < n; i++)
		x[i] = (double)s[i].minflt;
	stats(x, n, st);
	cJSON_AddNumberToObject(o, "minflt_median", st[0]);
}

/* {"n","median","p95","min","max","mean"} of one variant's samples (with the CPU time and
 * page faults of time measures), and the samples. */
static cJSON *stats_json(const struct sample *s, int n, bool rss, cJSON *samples)
{
	double *x = malloc(sizeof(double) * (size_t)n), st[5];
	static const char *const keys[5] = {"median", "p95", "min", "max", "mean"};
	cJSON *o = cJSON_CreateObject();

	for (int i = 0; i < n; i++) {
		x[i] = rss ? (double)s[i].rss_kb : s[i].us / 1e3;
		cJSON_AddItemToArray(samples,
				     cJSON_CreateNumber(rss ? x[i] : round_to(x[i], 1e-4)));
	}
	stats(x, n, st);
	cJSON_AddNumberToObject(o, "n", n);
	for (int i = 0; i < 5; i++)
		cJSON_AddNumberToObject(o, keys[i], round_to(st[i], rss ? 1 : 1e-4));
	if (!rss)
		cpu_stats(s, n, x, o);
	free(x);
	return o;
}

/* True when v's chain has a plugin of every label of the row. */
static bool covers(const struct bench *b, const struct variant *v)
{
	for (int i = 0; i < b->nv; i++)
		for (int k = 0; k < b->v[i].conf.n; k++) {
			bool found = false;

			for (int j = 0; j < v->conf.n && !found; j++)
				found = !strcmp(v->conf.label[j], b->v[i].conf.label[k]);
			if (!found)
				return false;
		}
	return true;
}

/* One measure: the chain (label NULL) or one plugin, its time or its peak RSS. */
static void add_measure(struct bench *b, cJSON *measures, int verb, const char *label, bool rss)
{
	cJSON *m = cJSON_CreateObject(), *st = cJSON_CreateObject(), *sa = cJSON_CreateObject();
	char name[128];
	int any = 0;

	if (rss)
		snprintf(name, sizeof(name), "peak RSS %s", label);
	else
		snprintf(name, sizeof(name), "%s%s%s", verb_names[verb], label ? " " : "",
			 label ? label : "");
	for (int i = 0; i < b->nv; i++) {
		struct variant *v = &b->v[i];
		int col = -1;

		for (int k = 0; label && k < v->conf.n && col < 0; k++)
			if (!strcmp(v->conf.label[k], label))
				col = 1 + k;
		/* a chain's total only from variants that have every plugin of the row, unless
		 * the row compares chains (-A) */
		if (!label && (b->all_chains || covers(b, v)))
			col = 0;
		if (col < 0)
			continue;
		cJSON *samples = cJSON_AddArrayToObject(sa, v->name);
		cJSON_AddItemToObject(st, v->name, stats_json(v->s[verb][col], b->n, rss, samples));
		any++;
	}
	cJSON_AddStringToObject(m, "name", name);
	cJSON_AddStringToObject(m, "unit", rss ? "KiB" : "ms");
	cJSON_AddItemToObject(m, "stats", st);
	cJSON_AddItemToObject(m, rss ? "samples" : "samples_ms", sa);
	if (any)
		cJSON_AddItemToArray(measures, m);
	else
		cJSON_Delete(m);
}

static int labels(const struct bench *b, const char *out[MAX_VARIANTS * MAX_PLUGINS])
{
	int n = 0;

	for (int i = 0; i < b->nv; i++)
		for (int k = 0; k < b->v[i].conf.n; k++) {
			int j = 0;

			while (j < n && strcmp(out[j], b->v[i].conf.label[k]))
				j++;
			if (j == n)
				out[n++] = b->v[i].conf.label[k];
		}
	return n;
}

/* "steps": {variant: {verb: {step: {n, median, p95, ...}}}} of the self-timed variants. */
static void report_steps(struct bench *b, cJSON *root)
{
	cJSON *all = NULL;

	for (int i = 0; !b->failed && i < b->nv; i++) {
		struct variant *v = &b->v[i];
		cJSON *vo = NULL;

		for (int verb = 0; verb < V_COUNT; verb++) {
			cJSON *vb = NULL;

			for (int k = 0; k < v->nsteps[verb]; k++) {
				cJSON *samples = cJSON_CreateArray();

				if (!all)
					all = cJSON_AddObjectToObject(root, "steps");
				if (!vo)
					vo = cJSON_AddObjectToObject(all, v->name);
				if (!vb)
					vb = cJSON_AddObjectToObject(vo, verb_names[verb]);
				cJSON_AddItemToObject(
					vb, v->step_name[verb][k],
					stats_json(v->step[verb][k], b->n, false, samples));
				cJSON_Delete(samples);
			}
		}
	}
}

/* The spawner's peak RSS: the least a child's ru_maxrss can show (see spawner()). */
static long spawner_hwm_kb(const struct bench *b)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)b->spawner);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

static void report(struct bench *b)
{
	cJSON *root = cJSON_CreateObject(), *ms, *lo, *hn;
	const char *lab[MAX_VARIANTS * MAX_PLUGINS];
	int nl = labels(b, lab), rss_verb = b->verbs[V_VERSION] ? V_VERSION : V_ADD;
	char *s;
	FILE *f;

	cJSON_AddStringToObject(root, "row", b->tag);
	cJSON_AddNumberToObject(root, "n", b->n);
	cJSON_AddNumberToObject(root, "warmup", b->warm);
	cJSON_AddNumberToObject(root, "prefill", b->prefill);
	cJSON_AddBoolToObject(root, "ok", !b->failed);
	cJSON_AddNumberToObject(root, "spawner_rss_kib", (double)spawner_hwm_kb(b));
	ms = cJSON_AddArrayToObject(root, "measures");
	lo = cJSON_AddObjectToObject(root, "leftovers");
	hn = cJSON_AddObjectToObject(root, "host_netns");
	for (int verb = 0; !b->failed && verb < V_COUNT; verb++) {
		if (!b->verbs[verb])
			continue;
		add_measure(b, ms, verb, NULL, false);
		for (int j = 0; nl > 1 && j < nl; j++)
			add_measure(b, ms, verb, lab[j], false);
	}
	for (int j = 0; !b->failed && j < nl; j++)
		add_measure(b, ms, rss_verb, lab[j], true);
	report_steps(b, root);
	for (int i = 0; i < b->nv; i++) {
		cJSON *v = cJSON_AddObjectToObject(lo, b->v[i].name);

		cJSON_AddNumberToObject(v, "host_links", b->v[i].n_leftover_host);
		cJSON_AddNumberToObject(v, "pod_links", b->v[i].n_leftover_pod);
		cJSON_AddStringToObject(hn, b->v[i].name, b->v[i].host_path);
	}
	s = cJSON_Print(root);
	f = b->out_path ? fopen(b->out_path, "we") : stdout;
	if (!f || !s || fprintf(f, "%s\n", s) < 0 || (f != stdout && fclose(f) != 0))
		die("%s: %m", b->out_path ? b->out_path : "stdout");
	free(s);
	cJSON_Delete(root);
}

static void load_rc(struct bench *b)
{
	char *text, *save = NULL;

	if (!b->rc_path)
		return;
	text = slurp(b->rc_path, NULL);
	b->rc = calloc((size_t)b->total, sizeof(char *));
	for (char *l = strtok_r(text, "\n", &save); l && b->nrc < b->total;
	     l = strtok_r(NULL, "\n", &save))
		b->rc[b->nrc++] = l;
}

static uint32_t fnv1a(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

static void parse_args(struct bench *b, int argc, char **argv)
{
	struct variant *v = NULL;
	int c;

	while ((c = getopt(argc, argv, "t:d:o:n:w:p:m:i:r:a:V:c:C:x:H:sSAh")) != -1) {
		if (strchr("cCxsH", c) && !v)
			die("-%c before -V", c);
		switch (c) {
		case 't':
			b->tag = optarg;
			break;
		case 'd':
			b->dir = optarg;
			break;
		case 'o':
			b->out_path = optarg;
			break;
		case 'n':
			b->n = atoi(optarg);
			break;
		case 'w':
			b->warm = atoi(optarg);
			break;
		case 'p':
			b->prefill = atoi(optarg);
			break;
		case 'i':
			b->ifname = optarg;
			break;
		case 'r':
			b->rc_path = optarg;
			break;
		case 'S':
			b->shared_prefill_ns = true;
			break;
		case 'A':
			b->all_chains = true;
			break;
		case 'a':
			if (ip_prefix_parse(optarg, &b->pod_net) < 0 ||
			    b->pod_net.ip.family != AF_INET)
				die("-a %s: not an IPv4 CIDR", optarg);
			break;
		case 'm':
			for (int i = 0; i < V_COUNT; i++)
				b->verbs[i] = strstr(optarg, verb_names[i]) != NULL;
			break;
		case 'V':
			if (b->nv == MAX_VARIANTS)
				die("at most %d variants", MAX_VARIANTS);
			v = &b->v[b->nv++];
			v->name = optarg;
			v->cni_path = "/opt/cni/bin";
			break;
		case 'c':
			v->conf_path = optarg;
			break;
		case 'C':
			v->prefill_path = optarg;
			break;
		case 'x':
			v->cni_path = optarg;
			break;
		case 's':
			v->self_timed = true;
			break;
		case 'H':
			v->host_setup = optarg;
			break;
		default:
			fputs(usage, c == 'h' ? stdout : stderr);
			exit(c == 'h' ? 0 : 2);
		}
	}
	if (!b->tag || !b->dir || !b->nv || b->n < 1 || b->warm < 0 || b->prefill < 0)
		die("-t, -d, -n >= 1 and at least one -V are needed (-h for help)");
}

int main(int argc, char **argv)
{
	struct bench b = {.n = 200, .warm = 2, .ifname = "eth0", .verbs = {true, true, false}};

	spawner_start(&b);
	parse_args(&b, argc, argv);
	b.total = b.warm + b.prefill + b.n;
	b.tag_hash = fnv1a(b.tag);
	for (int i = 0; i < b.nv; i++) {
		struct variant *v = &b.v[i];

		if (!v->conf_path)
			die("variant %s: no -c", v->name);
		chain_load(&v->conf, v->conf_path, v->cni_path);
		chain_load(&v->prefill, v->prefill_path ? v->prefill_path : v->conf_path,
			   v->cni_path);
	}
	load_rc(&b);
	b.out = malloc(OUT_MAX);
	b.err = malloc(OUT_MAX);
	if (!b.out || !b.err)
		die("out of memory");
	setup(&b);
	if (b.verbs[V_VERSION]) {
		(void)(phase(&b, V_VERSION, 0, b.warm, false, false) == 0 &&
		       phase(&b, V_VERSION, b.warm + b.prefill, b.n, true, false) == 0);
	} else if (phase(&b, V_ADD, 0, b.warm, false, false) == 0 &&
		   phase(&b, V_DEL, 0, b.warm, false, false) == 0 &&
		   phase(&b, V_ADD, b.warm, b.prefill, false, true) == 0 &&
		   phase(&b, V_ADD, b.warm + b.prefill, b.n, true, false) == 0) {
		(void)phase(&b, V_DEL, b.warm + b.prefill, b.n, true, false);
	}
	cleanup_pods(&b);
	check_leftovers(&b);
	report(&b);
	close(b.sk);
	waitpid(b.spawner, NULL, 0);
	return b.failed ? 1 : 0;
}
