// SPDX-License-Identifier: Apache-2.0
/* sluiced: the drop collector. The agent binds the policy's NFLOG group (one listener per
 * group and netns: so `sluicectl drops` needs no privileges of its own and several readers
 * can look), keeps the last POL_DROPS_MAX drops with the policies and pods behind them and
 * writes <run_dir>/drops.json atomically, at most DROPS_WRITE_MS apart. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "base/log.h"
#include "nft/nflog.h"
#include "nft/nft.h"
#include "policy/drop.h"
#include "subnet/files.h"
#include "sluiced.h"

#define DROPS_WRITE_MS 200 /* at most 5 writes a second, whatever the rate of drops */
#define DROPS_PODS_MS 2000 /* an unknown address reloads the endpoints at most this often */

struct agent_drops {
	struct nflog log;
	struct nft nft; /* reads the class chains' policies */
	struct pol_classes classes;
	struct pol_pods pods;
	int64_t pods_ms; /* monotonic: the endpoints last loaded */
	cJSON *ring[POL_DROPS_MAX]; /* each drop's JSON, oldest at head */
	size_t head, n;
	uint64_t seq;
	int tfd;
	bool dirty, armed;
	int64_t written_ms;
	char *path;
};

/* The pod an address belongs to ("<ns>/<pod>"), or NULL: from the endpoint records of the
 * node-local store (every node's: with etcd, the mirror holds the others'), reloaded when an
 * address is unknown. */
static const char *pod_of(struct agent *a, const struct ip_addr *ip)
{
	struct agent_drops *d = a->drops;
	const char *p = pol_pods_find(&d->pods, ip);
	struct err e = {0};

	if (p || !ip->family || agent_now_ms() - d->pods_ms < DROPS_PODS_MS)
		return p;
	d->pods_ms = agent_now_ms();
	if (pol_pods_load(&d->pods, a->pol.local ? a->pol.local : a->store, a->o.prefix, &e) < 0) {
		log_debug("drops: endpoints: %s", e.msg);
		return NULL;
	}
	return pol_pods_find(&d->pods, ip);
}

static cJSON *file_json(struct agent *a)
{
	struct agent_drops *d = a->drops;
	cJSON *o = cJSON_CreateObject(), *arr;
	size_t i;

	cJSON_AddStringToObject(o, "node", a->o.node_name);
	cJSON_AddNumberToObject(o, "pid", getpid());
	cJSON_AddNumberToObject(o, "started", (double)a->started);
	cJSON_AddNumberToObject(o, "updated", (double)time(NULL));
	cJSON_AddNumberToObject(o, "group", d->log.group);
	cJSON_AddNumberToObject(o, "lost", (double)d->log.lost);
	arr = cJSON_AddArrayToObject(o, "drops");
	for (i = 0; i < d->n; i++)
		cJSON_AddItemReferenceToArray(arr, d->ring[(d->head + i) % POL_DROPS_MAX]);
	return o;
}

static void write_file(struct agent *a)
{
	struct agent_drops *d = a->drops;
	cJSON *o = file_json(a);
	char *s = subnet_json_text(o);
	struct err e = {0};

	cJSON_Delete(o); /* the drops are references: the ring keeps them */
	if (!s || subnet_write_atomic(d->path, s, strlen(s), 0644, &e) < 0)
		log_warn("drops: %s", s ? e.msg : "out of memory");
	free(s);
	d->dirty = false;
	d->written_ms = agent_now_ms();
}

/* Writes now when the last write is DROPS_WRITE_MS old, else once the timer says so */
static void schedule_write(struct agent *a)
{
	struct agent_drops *d = a->drops;
	int64_t since = agent_now_ms() - d->written_ms;

	d->dirty = true;
	if (d->armed)
		return;
	if (since >= DROPS_WRITE_MS) {
		write_file(a);
		return;
	}
	agent_timer_ms(d->tfd, DROPS_WRITE_MS - since);
	d->armed = true;
}

static int on_packet(const struct nflog_pkt *p, void *data)
{
	struct agent *a = data;
	struct agent_drops *d = a->drops;
	struct pol_drop x = {.pkt = *p};
	const char *s;
	cJSON *j;

	snprintf(x.policies, sizeof(x.policies), "%s",
		 pol_classes_get(&d->classes, &d->nft, p->prefix));
	if ((s = pod_of(a, &p->src)))
		snprintf(x.src_pod, sizeof(x.src_pod), "%s", s);
	if ((s = pod_of(a, &p->dst)))
		snprintf(x.dst_pod, sizeof(x.dst_pod), "%s", s);
	j = pol_drop_json(&x);
	cJSON_AddNumberToObject(j, "seq", (double)++d->seq);
	if (d->n == POL_DROPS_MAX) {
		cJSON_Delete(d->ring[d->head]);
		d->ring[d->head] = j;
		d->head = (d->head + 1) % POL_DROPS_MAX;
	} else {
		d->ring[(d->head + d->n++) % POL_DROPS_MAX] = j;
	}
	return 0;
}

void agent_drops_event(struct agent *a)
{
	struct agent_drops *d = a->drops;
	struct err e = {0};
	uint64_t n;
	int r;

	if (!d)
		return;
	if (read(d->tfd, &n, sizeof(n)) == sizeof(n)) {
		d->armed = false;
		if (d->dirty)
			write_file(a);
	}
	r = nflog_read(&d->log, on_packet, a, &e);
	if (r < 0)
		log_warn("drops: %s", e.msg);
	if (r > 0)
		schedule_write(a);
}

static int ep_add(int ep, int fd, uint32_t tag)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = tag};

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

/* <run_dir>/drops.json, run_dir the directory of --subnet-file */
static char *drops_path(const char *run_dir)
{
	char *p;

	return asprintf(&p, "%s/%s", run_dir, POL_DROPS_FILE) < 0 ? NULL : p;
}

int agent_drops_start(struct agent *a, uint32_t tag)
{
	struct agent_drops *d = calloc(1, sizeof(*d));
	struct err e = {0};
	int r;

	if (!d)
		return -ENOMEM;
	d->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	d->path = drops_path(a->o.run_dir);
	a->drops = d;
	if (d->tfd < 0 || !d->path) {
		r = d->tfd < 0 ? -errno : -ENOMEM;
		goto fail;
	}
	/* without NFLOG (another listener has the group) the agent goes on without drops */
	r = nflog_open(&d->log, POL_NFLOG_GROUP, -1, &e);
	if (r < 0) {
		log_warn("drops: not collected: %s", e.msg);
		goto fail;
	}
	if ((r = nft_open(&d->nft, -1)) < 0 || (r = ep_add(a->ep, nflog_fd(&d->log), tag)) < 0 ||
	    (r = ep_add(a->ep, d->tfd, tag)) < 0) {
		log_warn("drops: not collected: %s", strerror(-r));
		goto fail;
	}
	write_file(a); /* an empty file: the agent collects, `sluicectl drops` can tell */
	return 0;
fail:
	agent_drops_stop(a);
	return r;
}

void agent_drops_stop(struct agent *a)
{
	struct agent_drops *d = a->drops;

	if (!d)
		return;
	/* a drop that came within the last DROPS_WRITE_MS is not lost */
	if (d->dirty)
		write_file(a);
	nflog_close(&d->log);
	nft_close(&d->nft);
	pol_classes_done(&d->classes);
	pol_pods_done(&d->pods);
	for (size_t i = 0; i < d->n; i++)
		cJSON_Delete(d->ring[(d->head + i) % POL_DROPS_MAX]);
	if (d->tfd >= 0)
		close(d->tfd);
	free(d->path);
	free(d);
	a->drops = NULL;
}
