/* SPDX-License-Identifier: Apache-2.0 */
/* The dir:// backend's writes: each change is appended to PATH/log, then applied to its key
 * file, then counted in PATH/meta, all under the exclusive lock. A writer that died between
 * those steps is finished by the next one (the log is the truth up to its last whole record);
 * expired keys are deleted, each with its event; the log is compacted when it grows large. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "store/dir.h"
#include "base/err.h"
#include "base/log.h"

static int fail(struct dir_txn *t, struct err *err, int r, const char *op, const char *what)
{
	return err_fail(err, CNI_ERR_IO, r, "dir store %s: %s: %s: %s", t->s->path, op, what,
			strerror(-r));
}

static ssize_t pread_all(int fd, void *buf, size_t n, off_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t k = pread(fd, (char *)buf + got, n - got, off + (off_t)got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			break;
		got += (size_t)k;
	}
	return (ssize_t)got;
}

int dir_log_read(int fd, off_t off, off_t end, struct dir_hdr *h, char **value, off_t *next)
{
	char buf[DIR_HDR_MAX], nl;
	size_t want = end - off < DIR_HDR_MAX ? (size_t)(end - off) : DIR_HDR_MAX;
	ssize_t n, hl;

	if (value)
		*value = NULL;
	if (off >= end)
		return 0;
	n = pread_all(fd, buf, want, off);
	if (n < 0)
		return (int)n;
	hl = dir_hdr_parse(buf, (size_t)n, h);
	if (hl == 0 && (size_t)n == want && want < DIR_HDR_MAX)
		return 0; /* the header line is not whole before end */
	if (hl <= 0 || !h->op)
		return -EBADMSG;
	if (off + hl + (off_t)h->len + 1 > end)
		return 0;
	if (value) {
		*value = malloc(h->len + 1);
		if (!*value)
			return -ENOMEM;
		n = pread_all(fd, *value, h->len, off + hl);
		if (n != (ssize_t)h->len) {
			free(*value);
			*value = NULL;
			return n < 0 ? (int)n : -EBADMSG;
		}
		(*value)[h->len] = '\0';
	}
	if (pread_all(fd, &nl, 1, off + hl + (off_t)h->len) != 1 || nl != '\n') {
		if (value) {
			free(*value);
			*value = NULL;
		}
		return -EBADMSG;
	}
	*next = off + hl + (off_t)h->len + 1;
	return 1;
}

/* Makes the key file say what the log record h says */
static int apply(struct dir_txn *t, const struct dir_hdr *h, const void *value)
{
	char name[DIR_NAME_MAX + 1], line[DIR_HDR_MAX];
	struct dir_hdr f = *h;
	int n;

	dir_key_file(h->key, name);
	if (h->op == DIR_DELETE)
		return unlinkat(t->s->keysfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
	f.op = 0;
	n = dir_hdr_format(&f, line, sizeof(line));
	if (n < 0)
		return n;
	if (h->expires && (!t->m.next_expiry || h->expires < t->m.next_expiry))
		t->m.next_expiry = h->expires;
	return dir_write_file(t->s, t->s->keysfd, name, line, (size_t)n, value, h->len);
}

/* The log's first line: its generation, first revision and length */
static int log_header(int fd, int64_t *gen, int64_t *first)
{
	char buf[DIR_HDR_MAX];
	ssize_t n = pread_all(fd, buf, sizeof(buf), 0);

	if (n < 0)
		return (int)n;
	n = dir_loghdr_parse(buf, (size_t)n, gen, first);
	return n < 0 ? (int)n : (int)n;
}

/* Finishes what a writer that died left: whole records past meta's log_size are replayed
 * onto the key files, a torn one at the end is cut off. */
static int recover(struct dir_txn *t, const char *op, struct err *err)
{
	struct stat st;
	int64_t gen, first;
	off_t off = (off_t)t->m.log_size;
	int hl = log_header(t->logfd, &gen, &first), r;

	if (hl < 0 || fstat(t->logfd, &st) < 0)
		return err_fail(err, CNI_ERR_DECODE, hl < 0 ? hl : -errno,
				"dir store %s: %s: the log is unreadable or malformed", t->s->path,
				op);
	if (gen == t->m.log_gen && st.st_size == off)
		return 0;
	if (gen == t->m.log_gen && st.st_size < off)
		return err_fail(err, CNI_ERR_DECODE, -EBADMSG,
				"dir store %s: %s: the log is shorter than meta says", t->s->path,
				op);
	if (gen != t->m.log_gen) {
		/* a compaction renamed its new log in, then died before writing meta */
		t->m.log_gen = gen;
		t->m.first = first;
		off = hl;
	}
	for (;;) {
		struct dir_hdr h;
		char *v;
		off_t next;

		r = dir_log_read(t->logfd, off, st.st_size, &h, &v, &next);
		if (r <= 0)
			break;
		if (h.mod_rev > t->m.revision) {
			if (h.mod_rev != t->m.revision + 1) {
				free(v);
				break; /* not the next revision: a torn tail, not history */
			}
			r = apply(t, &h, v);
			if (r < 0) {
				free(v);
				return fail(t, err, r, op, "replay the log");
			}
			t->m.revision = h.mod_rev;
		}
		free(v);
		off = next;
	}
	if (off < st.st_size && ftruncate(t->logfd, off) < 0)
		return fail(t, err, -errno, op, "cut the log's torn tail");
	t->m.log_size = off;
	t->dirty = true;
	return 0;
}

int dir_txn_event(struct dir_txn *t, struct dir_hdr *h, const void *value, const char *op,
		  struct err *err)
{
	char line[DIR_HDR_MAX];
	struct dir_meta before = t->m;
	bool dirty = t->dirty;
	struct iovec iov[3];
	ssize_t k, total;
	int n, r;

	h->mod_rev = t->m.revision + 1;
	if (h->op == DIR_PUT && !h->create_rev)
		h->create_rev = h->mod_rev;
	n = dir_hdr_format(h, line, sizeof(line));
	if (n < 0)
		return fail(t, err, n, op, "format a log record");
	iov[0] = (struct iovec){line, (size_t)n};
	iov[1] = (struct iovec){(void *)value, h->len};
	iov[2] = (struct iovec){"\n", 1};
	total = n + (ssize_t)h->len + 1;
	/* one write: a reader never goes past meta's log_size, which counts whole records */
	k = pwritev(t->logfd, iov, 3, (off_t)t->m.log_size);
	if (k != total) {
		r = k < 0 ? -errno : -ENOSPC;
		if (ftruncate(t->logfd, (off_t)t->m.log_size) < 0)
			r = -errno;
		return fail(t, err, r, op, "append to the log");
	}
	t->m.log_size += total;
	t->m.revision = h->mod_rev;
	t->dirty = true;
	r = apply(t, h, value);
	if (r == 0)
		return 0;
	/* the key file is unchanged (a rename is its only change): the change did not happen,
	 * so neither does its record, which meta would otherwise count (watchers would see it,
	 * get would not) */
	t->m = before;
	t->dirty = dirty;
	if (ftruncate(t->logfd, (off_t)before.log_size) == 0)
		return fail(t, err, r, op, "write a key file");
	/* the record stays past meta's log_size: the next writer replays it */
	return err_fail(err, CNI_ERR_IO, r,
			"dir store %s: %s: write a key file: %s (logged: the next write applies "
			"it; cut the log: %s)",
			t->s->path, op, strerror(-r), strerror(errno));
}

/* Deletes every expired key, each with a DELETE event, and finds the next expiry */
static int reap(struct dir_txn *t, const char *op, struct err *err)
{
	struct dirent *de;
	int64_t next = 0;
	DIR *d;
	int fd = dup(t->s->keysfd), r = 0;

	if (fd < 0 || !(d = fdopendir(fd))) {
		r = -errno;
		if (fd >= 0)
			close(fd);
		return fail(t, err, r, op, "read keys");
	}
	rewinddir(d);
	while ((de = readdir(d)) && r == 0) {
		struct dir_hdr h;
		char *v;

		if (de->d_name[0] == '.')
			continue;
		/* a malformed file: get reports it; it blocks nobody here, and its error is not
		 * the caller's */
		struct err skip = {0};

		if (dir_read_file(t->s, de->d_name, &h, &v, op, &skip) != 1) {
			log_debug("%s (skipped)", skip.msg);
			continue;
		}
		free(v);
		if (h.expires && t->now >= h.expires) {
			h.op = DIR_DELETE;
			h.len = 0;
			r = dir_txn_event(t, &h, "", op, err);
		} else if (h.expires && (!next || h.expires < next)) {
			next = h.expires;
		}
	}
	closedir(d);
	t->m.next_expiry = next;
	t->dirty = true;
	return r;
}

int dir_txn_begin(struct dir_store *s, struct dir_txn *t, const char *op, struct err *err)
{
	int r;

	memset(t, 0, sizeof(*t));
	t->s = s;
	t->logfd = -1;
	r = dir_lock(s, LOCK_EX, op, err);
	if (r < 0)
		return r;
	r = dir_meta_read(s, &t->m, op, err);
	if (r < 0)
		goto fail;
	t->logfd = openat(s->dirfd, "log", O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (t->logfd < 0) {
		r = fail(t, err, -errno, op, "open the log");
		goto fail;
	}
	r = recover(t, op, err);
	t->now = dir_now_ms();
	if (r == 0 && t->m.next_expiry && t->now >= t->m.next_expiry)
		r = reap(t, op, err);
	if (r < 0)
		goto fail;
	return 0;
fail:
	if (t->logfd >= 0)
		close(t->logfd);
	t->logfd = -1;
	t->dirty = false;
	dir_unlock(s);
	return r;
}

/* Removes what writers that died left in PATH/tmp (under the lock: nobody is writing) */
static void clean_tmp(struct dir_store *s)
{
	struct dirent *de;
	DIR *d;
	int fd = dup(s->tmpfd);

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return;
	}
	rewinddir(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			unlinkat(s->tmpfd, de->d_name, 0);
	closedir(d);
}

/* Writes a new log from the first record at or after rev (or, with rev 0, the recent part
 * that DIR_LOG_KEEP and DIR_LOG_KEEP_BYTES allow) and renames it over PATH/log */
int dir_txn_compact(struct dir_txn *t, int64_t rev, const char *op, struct err *err)
{
	int64_t gen, first, keep = rev ? rev : t->m.revision - DIR_LOG_KEEP + 1;
	off_t off, next, end = (off_t)t->m.log_size, min_off = 0;
	char line[DIR_HDR_MAX], *buf = NULL;
	struct dir_hdr h;
	int hl = log_header(t->logfd, &gen, &first), n, r = 0;

	if (hl < 0)
		return fail(t, err, hl, op, "read the log");
	if (!rev && end > DIR_LOG_KEEP_BYTES)
		min_off = end - DIR_LOG_KEEP_BYTES;
	for (off = hl; (r = dir_log_read(t->logfd, off, end, &h, NULL, &next)) == 1; off = next)
		if (h.mod_rev >= keep && off >= min_off)
			break;
	if (r < 0)
		return fail(t, err, r, op, "read the log");
	if (r == 0)
		h.mod_rev = t->m.revision + 1; /* nothing kept */
	if (rev)
		h.mod_rev = rev; /* etcd's compact revision, even where no event is */
	n = dir_loghdr_format(t->m.log_gen + 1, h.mod_rev, line, sizeof(line));
	buf = malloc((size_t)(end - off) + 1);
	if (n < 0 || !buf) {
		free(buf);
		return fail(t, err, -ENOMEM, op, "compact the log");
	}
	r = (int)pread_all(t->logfd, buf, (size_t)(end - off), off);
	if (r == (int)(end - off))
		r = dir_write_file(t->s, t->s->dirfd, "log", line, (size_t)n, buf,
				   (size_t)(end - off));
	else
		r = r < 0 ? r : -EIO;
	free(buf);
	if (r < 0)
		return fail(t, err, r, op, "compact the log");
	close(t->logfd);
	t->logfd = -1;
	t->m.log_gen++;
	t->m.first = h.mod_rev;
	t->m.log_size = n + (end - off);
	t->dirty = true;
	clean_tmp(t->s);
	return 0;
}

int dir_txn_end(struct dir_txn *t, const char *op, struct err *err)
{
	char line[DIR_HDR_MAX];
	int n, r = 0;

	/* logfd is closed once this transaction compacted (store_compact): never twice */
	if (t->dirty && t->logfd >= 0 &&
	    (t->m.revision - t->m.first + 1 > DIR_LOG_MAX_EVENTS ||
	     t->m.log_size > DIR_LOG_MAX_BYTES))
		r = dir_txn_compact(t, 0, op, err);
	if (t->dirty && r == 0) {
		n = dir_meta_format(&t->m, line, sizeof(line));
		r = n < 0 ? n : dir_write_file(t->s, t->s->dirfd, "meta", line, (size_t)n, NULL, 0);
		if (r < 0)
			r = fail(t, err, r, op, "write meta");
	}
	if (t->logfd >= 0)
		close(t->logfd);
	t->logfd = -1;
	dir_unlock(t->s);
	return r;
}
