/* SPDX-License-Identifier: Apache-2.0 */
/* The dir:// backend's watches: PATH/log read from a revision, woken by inotify on PATH
 * (every change appends to the log and renames meta). A watch also reaps expired keys when
 * their time comes, so that their DELETE events reach it though nobody else writes: its
 * descriptor is an epoll one over the inotify one and a timer set to the next expiry. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "store/dir.h"
#include "base/err.h"

struct dir_watch {
	struct store_watch base;
	char *prefix;
	size_t plen;
	int epfd, ifd, tfd, logfd;
	int64_t gen; /* of logfd */
	off_t off; /* of the next record in logfd */
	int64_t from; /* the first revision to deliver */
	int64_t rev; /* the last revision delivered or passed */
	bool stale;
};

#define DW(w) ((struct dir_watch *)(w))
#define WS(w) ((struct dir_store *)(w)->base.store)

/* (Re)opens PATH/log under the shared lock: the log meta names, read from its start */
static int open_log(struct dir_watch *w, struct dir_meta *m, struct err *err)
{
	struct dir_store *s = WS(w);
	char buf[DIR_HDR_MAX];
	int64_t gen, first;
	ssize_t n;
	int fd, r;

	r = dir_lock(s, LOCK_SH, "watch", err);
	if (r < 0)
		return r;
	r = dir_meta_read(s, m, "watch", err);
	if (r < 0)
		goto out;
	fd = openat(s->dirfd, "log", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	n = fd < 0 ? -errno : pread(fd, buf, sizeof(buf), 0);
	if (n >= 0)
		n = dir_loghdr_parse(buf, (size_t)n, &gen, &first);
	if (n < 0 || gen != m->log_gen) {
		if (fd >= 0)
			close(fd);
		r = err_fail(err, CNI_ERR_IO, n < 0 ? (int)n : -EIO,
			     "dir store %s: watch: cannot read the log", s->path);
		goto out;
	}
	if (w->logfd >= 0)
		close(w->logfd);
	w->logfd = fd;
	w->gen = gen;
	w->off = (off_t)n;
	/* what was compacted away is lost to this watch: it must list again */
	if (w->rev != INT64_MAX && first > w->rev + 1)
		w->stale = true;
out:
	dir_unlock(s);
	return r;
}

struct store_watch *dir_watch_open(struct store *st, const char *prefix, int64_t from_rev,
				   struct err *err)
{
	struct dir_store *s = (struct dir_store *)st;
	struct dir_watch *w;
	struct dir_meta m;

	if (!prefix)
		prefix = "";
	if ((*prefix && !dir_key_valid(prefix)) || from_rev < 0) {
		err_fail(err, CNI_ERR_CONFIG, -EINVAL,
			 "dir store %s: watch: invalid prefix or revision", s->path);
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w || !(w->prefix = strdup(prefix))) {
		free(w);
		err_fail(err, CNI_ERR_IO, -ENOMEM, "dir store %s: watch: out of memory", s->path);
		return NULL;
	}
	w->base.store = st;
	w->plen = strlen(prefix);
	w->logfd = -1;
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	w->tfd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
	/* every change ends with meta renamed into PATH; the log beyond meta's log_size is not
	 * read, so its appends need not wake anyone */
	if (w->epfd < 0 || w->ifd < 0 || w->tfd < 0 ||
	    inotify_add_watch(w->ifd, s->path, IN_MOVED_TO) < 0 ||
	    epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->ifd,
		      &(struct epoll_event){.events = EPOLLIN, .data.fd = w->ifd}) < 0 ||
	    epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->tfd,
		      &(struct epoll_event){.events = EPOLLIN, .data.fd = w->tfd}) < 0) {
		err_fail(err, CNI_ERR_IO, -errno, "dir store %s: watch: inotify: %s", s->path,
			 strerror(errno));
		goto fail;
	}
	w->rev = from_rev ? from_rev - 1 : INT64_MAX; /* INT64_MAX: set below, from meta */
	if (open_log(w, &m, err) < 0)
		goto fail;
	if (!from_rev) {
		/* from now on: what meta counts is history */
		w->rev = m.revision;
		w->off = (off_t)m.log_size;
	}
	w->from = w->rev + 1;
	return &w->base;
fail:
	dir_watch_close(&w->base);
	return NULL;
}

int dir_watch_fd(const struct store_watch *w)
{
	return DW(w)->epfd;
}

int64_t dir_watch_rev(const struct store_watch *w)
{
	return DW(w)->rev;
}

/* Wakes the watch at the next expiry (ms of the wall clock, 0: none): the timer makes its
 * descriptor readable then, and *timeout_ms says it too */
static void set_timer(struct dir_watch *w, int64_t expiry, int *timeout_ms)
{
	struct itimerspec its = {0};
	int64_t d = expiry - dir_now_ms();
	int flags = TFD_TIMER_ABSTIME;

	if (expiry && d <= 0) {
		/* a reap that could not run (a read-only watcher) is retried each second */
		d = 1000;
		flags = 0;
		its.it_value.tv_sec = 1;
	} else if (expiry) {
		expiry += 5;
		its.it_value.tv_sec = expiry / 1000;
		its.it_value.tv_nsec = expiry % 1000 * 1000000;
		d += 5;
	}
	timerfd_settime(w->tfd, flags, &its, NULL);
	if (timeout_ms)
		*timeout_ms = !expiry ? -1 : d > 3600000 ? 3600000 : (int)d;
}

/* Deletes expired keys (their events go to the log like any other) */
static void reap(struct dir_watch *w)
{
	struct err e = {0};
	struct dir_txn t;

	if (dir_txn_begin(WS(w), &t, "watch", &e) == 0)
		dir_txn_end(&t, "watch", &e);
}

static int fill_event(struct dir_watch *w, struct dir_hdr *h, char *v, struct store_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->type = h->op == DIR_PUT ? STORE_EV_PUT : STORE_EV_DELETE;
	if (h->op == DIR_DELETE) {
		free(v);
		v = NULL;
		ev->kv.key = strdup(h->key);
		ev->kv.mod_rev = h->mod_rev;
		return ev->kv.key ? 0 : -ENOMEM;
	}
	return dir_kv_fill(&ev->kv, h, v, dir_now_ms());
}

int dir_watch_next(struct store_watch *wb, struct store_event *ev, int *timeout_ms, struct err *err)
{
	struct dir_watch *w = DW(wb);
	char ibuf[4096];
	struct dir_meta m;
	int64_t now;
	int r;

	if (timeout_ms)
		*timeout_ms = -1;
	if (w->stale)
		return -ESTALE;
	/* drained before meta is read: a change after this read wakes the fd again */
	while (read(w->ifd, ibuf, sizeof(ibuf)) > 0)
		;
	while (read(w->tfd, ibuf, sizeof(uint64_t)) > 0)
		;
	r = dir_meta_read(WS(w), &m, "watch", err);
	if (r < 0)
		return r;
	now = dir_now_ms();
	if (m.next_expiry && now >= m.next_expiry) {
		reap(w);
		r = dir_meta_read(WS(w), &m, "watch", err);
		if (r < 0)
			return r;
	}
	if (m.log_gen != w->gen) {
		r = open_log(w, &m, err);
		if (r < 0)
			return r;
		if (w->stale)
			return -ESTALE;
	}
	while (w->off < (off_t)m.log_size) {
		struct dir_hdr h;
		char *v = NULL;
		off_t next;

		/* the header first: what is skipped is never read whole */
		r = dir_log_read(w->logfd, w->off, (off_t)m.log_size, &h, NULL, &next);
		if (r == 1 && h.mod_rev > w->rev && h.mod_rev >= w->from &&
		    !strncmp(h.key, w->prefix, w->plen))
			r = dir_log_read(w->logfd, w->off, (off_t)m.log_size, &h, &v, &next);
		else if (r == 1) {
			w->off = next;
			if (h.mod_rev > w->rev)
				w->rev = h.mod_rev;
			continue;
		}
		if (r <= 0)
			return err_fail(err, CNI_ERR_DECODE, r < 0 ? r : -EBADMSG,
					"dir store %s: watch: the log is malformed", WS(w)->path);
		w->off = next;
		w->rev = h.mod_rev;
		r = fill_event(w, &h, v, ev);
		return r < 0 ? err_fail(err, CNI_ERR_IO, r, "dir store %s: watch: out of memory",
					WS(w)->path)
			     : 1;
	}
	if (m.revision > w->rev)
		w->rev = m.revision;
	set_timer(w, m.next_expiry, timeout_ms);
	return 0;
}

void dir_watch_close(struct store_watch *wb)
{
	struct dir_watch *w = DW(wb);

	if (!w)
		return;
	dir_close_fds((int *const[]){&w->epfd, &w->ifd, &w->tfd, &w->logfd}, 4);
	free(w->prefix);
	free(w);
}
