/* SPDX-License-Identifier: Apache-2.0 */
/* sluicectl drops: recent packets the policy dropped, with the policies that dropped them.
 * sluiced collects them from NFLOG into <run-dir>/drops.json (only one listener may bind a
 * group in a netns); this reads that file, follows it with inotify, or, where no agent
 * collects, binds the group itself (--listen). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/inotify.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "base/json.h"
#include "netlink/netns.h"
#include "nft/nft.h"
#include "policy/drop.h"
#include "sluicectl.h"

#define DROPS_RUN_DIR "/run/sluice"
#define STR_(x) #x
#define STR(x) STR_(x)
#define DROPS_FILE_MAX (4U << 20)
#define CELL_MAX 1100 /* a table cell: the policies' list, an address with its pod */

static const char drops_usage[] =
	"Usage: sluicectl [GLOBAL FLAGS] drops [--count N] [--follow] [--timeout SECONDS]\n"
	"                                      [--run-dir D]\n"
	"       sluicectl [GLOBAL FLAGS] drops --listen [--count N] [--timeout SECONDS]\n"
	"                                      [--netns PATH] [--group G]\n"
	"\n"
	"Recent packets the network policy dropped on this node, each with the class chain\n"
	"that logged it, the policies that class stands for (the pod is isolated by them and\n"
	"none allowed the packet), source and destination (address, port, pod when the\n"
	"store's endpoints name it), protocol and time. The drop rules log at most 10 packets\n"
	"a second per class chain: this is a sample, the counters (policy stats) count all.\n"
	"\n"
	"sluiced collects them (NFLOG group "
	"2718"
	", the last 256) into D/drops.json;\n"
	"this prints them (--count N: the last N), or with --follow prints each new one as the\n"
	"file changes (inotify), until N were printed, SECONDS passed or it is interrupted.\n"
	"An absent file, or one whose agent is no longer running, is an error (status 1).\n"
	"\n"
	"--listen binds the NFLOG group itself (where no agent does: a group has one listener\n"
	"per netns) and prints drops as they come, until N, SECONDS, or an interrupt.\n"
	"\n"
	"  --count N          the last N drops; with --follow or --listen: stop after N\n"
	"  --follow           print new drops as the agent records them\n"
	"  --timeout SECONDS  with --follow or --listen: stop after this long (status 1 when\n"
	"                     --count was given and fewer came)\n"
	"  --run-dir D        where sluiced's files are (default " DROPS_RUN_DIR ", the directory\n"
	"                     of its --subnet-file)\n"
	"  --listen           bind the NFLOG group here instead of reading the agent's file\n"
	"  --netns PATH       with --listen: in that network namespace (/run/netns/N,\n"
	"                     /proc/PID/ns/net)\n"
	"  --group G          with --listen: the NFLOG group (default " STR(
		POL_NFLOG_GROUP) ")\n"
				 "\n"
				 "Columns: TIME DIRECTION PROTO SOURCE DESTINATION POLICIES CLASS. -o json: the file's\n"
				 "object ({\"node\", \"pid\", \"group\", \"lost\", \"drops\": [...]}); streams print one\n"
				 "drop object per line: {\"seq\", \"time\", \"class\", \"direction\", \"policies\", \"src\",\n"
				 "\"dst\", \"proto\", \"sport\", \"dport\", \"icmpType\", \"icmpCode\", \"srcPod\", \"dstPod\",\n"
				 "\"indev\", \"outdev\", \"physindev\", \"physoutdev\", \"len\"}.\n";

struct drops_opts {
	int64_t count;
	double timeout; /* 0: none */
	bool follow, listen, has_count;
	const char *run_dir, *netns;
	uint16_t group;
};

static const char *const drop_header[] = {"TIME",	 "DIRECTION", "PROTO", "SOURCE",
					  "DESTINATION", "POLICIES",  "CLASS"};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *str(const cJSON *o, const char *k)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));

	return s ? s : "";
}

/* "ADDR[:PORT] (ns/pod)" of one side ("src" or "dst") */
static void endpoint_cell(const cJSON *d, const char *side, char *out, size_t size)
{
	char pk[16], podk[16];
	const cJSON *port;
	const char *ip = str(d, side), *pod;
	bool v6 = strchr(ip, ':') != NULL;
	size_t n;

	snprintf(pk, sizeof(pk), "%sport", side[0] == 's' ? "s" : "d");
	snprintf(podk, sizeof(podk), "%sPod", side);
	port = cJSON_GetObjectItemCaseSensitive(d, pk);
	pod = str(d, podk);
	if (cJSON_IsNumber(port))
		n = (size_t)snprintf(out, size, v6 ? "[%s]:%d" : "%s:%d", ip, port->valueint);
	else
		n = (size_t)snprintf(out, size, "%s", *ip ? ip : "-");
	if (*pod && n < size)
		snprintf(out + n, size - n, " (%s)", pod);
}

static void drop_cells(const cJSON *d, char cells[7][CELL_MAX])
{
	const cJSON *p;
	size_t n = 0;

	snprintf(cells[0], CELL_MAX, "%s", str(d, "time"));
	snprintf(cells[1], CELL_MAX, "%s", *str(d, "direction") ? str(d, "direction") : "-");
	snprintf(cells[2], CELL_MAX, "%s", str(d, "proto"));
	endpoint_cell(d, "src", cells[3], CELL_MAX);
	endpoint_cell(d, "dst", cells[4], CELL_MAX);
	cells[5][0] = '\0';
	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(d, "policies"))
		if (cJSON_IsString(p) && n + strlen(p->valuestring) + 2 < CELL_MAX)
			n += (size_t)snprintf(cells[5] + n, CELL_MAX - n, "%s%s", n ? "," : "",
					      p->valuestring);
	if (!n)
		snprintf(cells[5], CELL_MAX, "-");
	snprintf(cells[6], CELL_MAX, "%s", *str(d, "class") ? str(d, "class") : "-");
}

/* One drop of a stream: a compact JSON line, or the table's cells two spaces apart */
static void print_stream(struct ctl *c, const cJSON *d)
{
	static char cells[7][CELL_MAX];
	char *s;
	int i;

	if (c->output == CTL_OUT_JSON) {
		s = cJSON_PrintUnformatted(d);
		if (s)
			puts(s);
		free(s);
	} else {
		drop_cells(d, cells);
		for (i = 0; i < 7; i++) {
			s = ctl_cell_text(cells[i], strlen(cells[i]), NULL);
			printf("%s%s", i ? "  " : "", s);
			free(s);
		}
		putchar('\n');
	}
	fflush(stdout);
}

/* --- The agent's file ------------------------------------------------------------------ */

/* The file as JSON; NULL after printing why: absent, unreadable, or its agent gone */
static cJSON *read_drops(const char *path, bool quiet)
{
	const cJSON *pid;
	size_t len = 0;
	char *buf, why[128];
	cJSON *o = NULL;
	FILE *f = fopen(path, "re");

	if (!f) {
		if (!quiet)
			ctl_errorf("no drops file %s (%s): no agent collects drops here; "
				   "'sluicectl drops --listen' reads NFLOG itself",
				   path, strerror(errno));
		return NULL;
	}
	buf = malloc(DROPS_FILE_MAX);
	if (buf)
		len = fread(buf, 1, DROPS_FILE_MAX, f);
	fclose(f);
	if (!buf || len == DROPS_FILE_MAX ||
	    json_parse_strict(buf, len, &o, why, sizeof(why)) < 0 ||
	    !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(o, "drops"))) {
		free(buf);
		cJSON_Delete(o);
		if (!quiet)
			ctl_errorf("%s: not a drops file", path);
		return NULL;
	}
	free(buf);
	pid = cJSON_GetObjectItemCaseSensitive(o, "pid");
	if (!cJSON_IsNumber(pid) || pid->valuedouble < 1 ||
	    (kill((pid_t)pid->valuedouble, 0) < 0 && errno == ESRCH)) {
		if (!quiet)
			ctl_errorf("%s is stale: its agent (PID %.0f) is not running; "
				   "'sluicectl drops --listen' reads NFLOG itself",
				   path, cJSON_IsNumber(pid) ? pid->valuedouble : 0);
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static char *drops_path(const struct drops_opts *o)
{
	char *p;

	return asprintf(&p, "%s/%s", o->run_dir, POL_DROPS_FILE) < 0 ? NULL : p;
}

static int print_file(struct ctl *c, const struct drops_opts *o)
{
	char *path = drops_path(o);
	static char cells[7][CELL_MAX];
	cJSON *f, *d, *drops, *out;
	int n, skip;

	if (!path)
		return ctl_errorf("out of memory");
	f = read_drops(path, false);
	free(path);
	if (!f)
		return CTL_ERROR;
	drops = cJSON_GetObjectItemCaseSensitive(f, "drops");
	n = cJSON_GetArraySize(drops);
	skip = o->has_count && o->count < n ? n - (int)o->count : 0;
	if (c->output == CTL_OUT_JSON) {
		out = cJSON_Duplicate(f, true);
		d = cJSON_GetObjectItemCaseSensitive(out, "drops");
		while (skip-- > 0)
			cJSON_DeleteItemFromArray(d, 0);
		ctl_print_json(out);
		cJSON_Delete(out);
	} else {
		struct ctl_table *t = ctl_table_new(7, drop_header);

		cJSON_ArrayForEach(d, drops) {
			if (skip-- > 0)
				continue;
			drop_cells(d, cells);
			ctl_table_row(t, cells[0], cells[1], cells[2], cells[3], cells[4], cells[5],
				      cells[6]);
		}
		ctl_table_print(t);
	}
	cJSON_Delete(f);
	return CTL_OK;
}

/* Prints the drops of f newer than *seq (a new agent, another pid: all of them) */
static int64_t print_new(struct ctl *c, cJSON *f, double *pid, int64_t *seq, int64_t left)
{
	const cJSON *d, *s;
	double p = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(f, "pid"));
	int64_t printed = 0;

	if (p != *pid) {
		*pid = p;
		*seq = 0;
	}
	cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(f, "drops")) {
		s = cJSON_GetObjectItemCaseSensitive(d, "seq");
		if (!cJSON_IsNumber(s) || (int64_t)s->valuedouble <= *seq)
			continue;
		*seq = (int64_t)s->valuedouble;
		if (left >= 0 && printed >= left)
			continue;
		print_stream(c, d);
		printed++;
	}
	return printed;
}

static int follow(struct ctl *c, const struct drops_opts *o)
{
	char *path = drops_path(o), ev[4096];
	int64_t seq = 0, got = 0,
		deadline = o->timeout > 0 ? now_ms() + (int64_t)(o->timeout * 1000) : 0;
	struct pollfd pfd = {.events = POLLIN};
	double pid = -1;
	cJSON *f;
	int r = CTL_OK;

	if (!path)
		return ctl_errorf("out of memory");
	pfd.fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	/* the agent renames a new file over the old one: the directory is watched */
	if (pfd.fd < 0 || inotify_add_watch(pfd.fd, o->run_dir, IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
		r = ctl_errorf("inotify on %s: %s", o->run_dir, strerror(errno));
		goto out;
	}
	f = read_drops(path, false);
	if (!f) {
		r = CTL_ERROR;
		goto out;
	}
	(void)print_new(c, f, &pid, &seq, 0); /* what is there already is history */
	cJSON_Delete(f);
	while (!o->has_count || got < o->count) {
		int64_t left = deadline ? deadline - now_ms() : -1;

		if (deadline && left <= 0)
			break;
		if (poll(&pfd, 1,
			 left < 0	    ? -1
			 : left > INT32_MAX ? INT32_MAX
					    : (int)left) < 0 &&
		    errno != EINTR) {
			r = ctl_errorf("poll: %s", strerror(errno));
			goto out;
		}
		while (read(pfd.fd, ev, sizeof(ev)) > 0)
			; /* which event does not matter: the file is read again */
		f = read_drops(path, true);
		if (f)
			got += print_new(c, f, &pid, &seq, o->has_count ? o->count - got : -1);
		cJSON_Delete(f);
	}
	if (o->has_count && got < o->count)
		r = ctl_errorf("timed out after %g s with %" PRId64 " of %" PRId64 " drops",
			       o->timeout, got, o->count);
out:
	if (pfd.fd >= 0)
		close(pfd.fd);
	free(path);
	return r;
}

/* --- --listen ------------------------------------------------------------------------ */

struct listen_ctx {
	struct ctl *c;
	struct nft *nft;
	struct pol_classes classes;
	struct pol_pods pods;
	bool pods_ok;
	int64_t pods_ms, seq, got, max;
};

/* Endpoints appear as pods start: an unknown address reloads the index, at most once a
 * second, from a store that answered the first time (one that did not would stall the
 * stream at each drop) */
static const char *pod_of(struct listen_ctx *x, const struct ip_addr *ip)
{
	const char *p = pol_pods_find(&x->pods, ip);
	struct err e = {0};

	if (p || !ip->family || !x->pods_ok || now_ms() - x->pods_ms < 1000)
		return p;
	x->pods_ms = now_ms();
	if (pol_pods_load(&x->pods, x->c->store, x->c->prefix, &e) < 0)
		return NULL;
	return pol_pods_find(&x->pods, ip);
}

static int on_packet(const struct nflog_pkt *p, void *data)
{
	struct listen_ctx *x = data;
	struct pol_drop d = {.pkt = *p};
	const char *s;
	cJSON *j;

	if (x->max >= 0 && x->got >= x->max)
		return -ECANCELED;
	snprintf(d.policies, sizeof(d.policies), "%s",
		 pol_classes_get(&x->classes, x->nft, p->prefix));
	if ((s = pod_of(x, &p->src)))
		snprintf(d.src_pod, sizeof(d.src_pod), "%s", s);
	if ((s = pod_of(x, &p->dst)))
		snprintf(d.dst_pod, sizeof(d.dst_pod), "%s", s);
	j = pol_drop_json(&d);
	cJSON_AddNumberToObject(j, "seq", (double)++x->seq);
	print_stream(x->c, j);
	cJSON_Delete(j);
	x->got++;
	return 0;
}

static int listen_loop(struct listen_ctx *x, struct nflog *l, const struct drops_opts *o)
{
	int64_t deadline = o->timeout > 0 ? now_ms() + (int64_t)(o->timeout * 1000) : 0, left;
	struct pollfd pfd = {.fd = nflog_fd(l), .events = POLLIN};
	struct err e = {0};
	int r;

	while (x->max < 0 || x->got < x->max) {
		left = deadline ? deadline - now_ms() : -1;
		if (deadline && left <= 0)
			break;
		if (poll(&pfd, 1,
			 left < 0	    ? -1
			 : left > INT32_MAX ? INT32_MAX
					    : (int)left) < 0 &&
		    errno != EINTR)
			return ctl_errorf("poll: %s", strerror(errno));
		r = nflog_read(l, on_packet, x, &e);
		if (r < 0 && r != -ECANCELED)
			return ctl_error(&e);
	}
	if (l->lost)
		fprintf(stderr, "sluicectl: %" PRIu64 " NFLOG messages lost (socket queue full)\n",
			l->lost);
	if (x->max >= 0 && x->got < x->max)
		return ctl_errorf("timed out after %g s with %" PRId64 " of %" PRId64 " drops",
				  o->timeout, x->got, x->max);
	return CTL_OK;
}

static int listen_drops(struct ctl *c, const struct drops_opts *o)
{
	struct listen_ctx x = {.c = c, .max = o->has_count ? o->count : -1};
	struct nflog l = {0};
	struct nft nft = {0};
	struct err e = {0};
	int fd = -1, r;

	if (o->netns && (fd = netns_open(o->netns)) < 0)
		return ctl_errorf("--netns %s: %s", o->netns,
				  fd == -ENOTSUP ? "not a network namespace" : strerror(-fd));
	/* the class chains are read from the table in the same netns */
	if ((r = nft_open(&nft, fd)) < 0) {
		r = ctl_errorf("nftables socket: %s", strerror(-r));
		goto out;
	}
	x.nft = &nft;
	if (nflog_open(&l, o->group, fd, &e) < 0) {
		r = ctl_error(&e);
		goto out;
	}
	/* pods are named when a store answers; drops print without them otherwise */
	if (ctl_store(c) && pol_pods_load(&x.pods, c->store, c->prefix, &e) >= 0) {
		x.pods_ok = true;
		x.pods_ms = now_ms();
	}
	r = listen_loop(&x, &l, o);
out:
	nflog_close(&l);
	nft_close(&nft);
	pol_classes_done(&x.classes);
	pol_pods_done(&x.pods);
	if (fd >= 0)
		close(fd);
	return r;
}

static int parse_flags(int argc, char **argv, struct drops_opts *o)
{
	static const struct option opts[] = {
		{"count", required_argument, NULL, 'n'},
		{"follow", no_argument, NULL, 'f'},
		{"timeout", required_argument, NULL, 't'},
		{"run-dir", required_argument, NULL, 'd'},
		{"listen", no_argument, NULL, 'l'},
		{"netns", required_argument, NULL, 'N'},
		{"group", required_argument, NULL, 'g'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	char *end;
	long long v;
	int k;

	optind = 0;
	opterr = 0;
	while ((k = getopt_long(argc, argv, ":hf", opts, NULL)) != -1) {
		errno = 0;
		switch (k) {
		case 'h':
			fputs(drops_usage, stdout);
			return -1;
		case 'n':
			v = strtoll(optarg, &end, 10);
			if (errno || end == optarg || *end || v < 1)
				return ctl_usage("drops",
						 "--count needs a whole number >= 1, got '%s'",
						 optarg);
			o->count = v;
			o->has_count = true;
			break;
		case 'f':
			o->follow = true;
			break;
		case 't':
			o->timeout = strtod(optarg, &end);
			if (errno || end == optarg || *end || !isfinite(o->timeout) ||
			    o->timeout <= 0 || o->timeout > 1e6)
				return ctl_usage(
					"drops",
					"--timeout needs a number of seconds above 0, got '%s'",
					optarg);
			break;
		case 'd':
			if (!*optarg)
				return ctl_usage("drops", "--run-dir needs a directory");
			o->run_dir = optarg;
			break;
		case 'l':
			o->listen = true;
			break;
		case 'N':
			if (!*optarg)
				return ctl_usage("drops", "--netns needs a path");
			o->netns = optarg;
			break;
		case 'g':
			v = strtoll(optarg, &end, 10);
			if (errno || end == optarg || *end || v < 0 || v > 65535)
				return ctl_usage("drops",
						 "--group needs a number from 0 to 65535, got '%s'",
						 optarg);
			o->group = (uint16_t)v;
			break;
		case ':':
			return ctl_usage("drops", "'%s' needs a value", argv[optind - 1]);
		default:
			return ctl_usage("drops", "unknown flag '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return ctl_usage("drops", "unexpected argument '%s'", argv[optind]);
	return CTL_OK;
}

int ctl_drops(struct ctl *c, int argc, char **argv)
{
	struct drops_opts o = {.run_dir = DROPS_RUN_DIR, .group = POL_NFLOG_GROUP};
	int r = parse_flags(argc, argv, &o);

	if (r)
		return r < 0 ? CTL_OK : r;
	if (o.listen && o.follow)
		return ctl_usage("drops", "--listen and --follow exclude each other");
	if (!o.listen && (o.netns || o.group != POL_NFLOG_GROUP))
		return ctl_usage("drops", "--netns and --group go with --listen");
	if (o.timeout > 0 && !o.listen && !o.follow)
		return ctl_usage("drops", "--timeout goes with --follow or --listen");
	if (o.listen)
		return listen_drops(c, &o);
	return o.follow ? follow(c, &o) : print_file(c, &o);
}
