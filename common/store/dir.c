/* SPDX-License-Identifier: Apache-2.0 */
/* The dir:// backend: one file per key under PATH/keys, replaced by rename; a store-wide
 * revision in PATH/meta and an event log in PATH/log, both written under flock(PATH/lock).
 * Reads take no lock (a rename never shows half a file), except a listing, which takes it
 * shared so that its page is one revision's. README ("The datastore: dir://"). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "store/dir.h"
#include "base/err.h"
#include "base/log.h"

#define DS(st) ((struct dir_store *)(st))

static int fail_io(struct dir_store *s, struct err *err, int r, const char *op, const char *what)
{
	return err_fail(err, CNI_ERR_IO, r, "dir store %s: %s: %s: %s", s->path, op, what,
			strerror(-r));
}

static int bad_key(struct dir_store *s, struct err *err, const char *op)
{
	return err_fail(
		err, CNI_ERR_CONFIG, -EINVAL,
		"dir store %s: %s: invalid key (it must start with '/' and hold at most %d bytes)",
		s->path, op, STORE_KEY_MAX);
}

int dir_lock(struct dir_store *s, int how, const char *op, struct err *err)
{
	/* blocking: the kernel queues the waiters, where polling with LOCK_NB let a busy writer
	 * starve everyone else */
	while (flock(s->lockfd, how) < 0)
		if (errno != EINTR)
			return fail_io(s, err, -errno, op, "lock");
	return 0;
}

void dir_unlock(struct dir_store *s)
{
	flock(s->lockfd, LOCK_UN);
}

static int write_buf(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int write_all(int fd, const void *a, size_t alen, const void *b, size_t blen)
{
	struct iovec iov[2] = {{(void *)a, alen}, {(void *)b, blen}};
	ssize_t k = writev(fd, iov, 2);

	/* one call almost always; a short one is finished piece by piece */
	if (k < 0)
		return -errno;
	if ((size_t)k < alen)
		return write_buf(fd, (const char *)a + k, alen - (size_t)k)
			       ?: write_buf(fd, b, blen);
	return write_buf(fd, (const char *)b + (k - (ssize_t)alen),
			 blen - (size_t)(k - (ssize_t)alen));
}

int dir_write_file(struct dir_store *s, int dirfd, const char *name, const void *a, size_t alen,
		   const void *b, size_t blen)
{
	char tmp[64];
	int fd, r;

	/* under the lock: one writer at a time, so one name per process is enough */
	snprintf(tmp, sizeof(tmp), "w.%d", (int)getpid());
	fd = openat(s->tmpfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	r = fchmod(fd, 0600) < 0 ? -errno : write_all(fd, a, alen, b, blen);
	if (close(fd) < 0 && !r)
		r = -errno;
	/* exchanged, then the old file unlinked: ext4 starts writing a file back, at ~0.3 ms a
	 * call on our VM, when a rename replaces another file (auto_da_alloc), not when two
	 * are exchanged; a reader sees the old file or the new one all the same. A new name,
	 * or a filesystem without RENAME_EXCHANGE, gets a plain rename. */
	if (!r && renameat2(s->tmpfd, tmp, dirfd, name, RENAME_EXCHANGE) == 0) {
		unlinkat(s->tmpfd, tmp, 0);
		return 0;
	}
	if (!r && renameat(s->tmpfd, tmp, dirfd, name) < 0)
		r = -errno;
	if (r)
		unlinkat(s->tmpfd, tmp, 0);
	return r;
}

/* Reads a whole small file (at most max bytes) into *buf (NUL added); *len its size */
static int read_whole(int dirfd, const char *name, size_t max, char **buf, size_t *len)
{
	struct stat st;
	size_t n = 0;
	int fd, r = 0;

	*buf = NULL;
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
		r = !S_ISREG(st.st_mode) ? -EBADMSG : -EFBIG;
		goto out;
	}
	*buf = malloc((size_t)st.st_size + 1);
	if (!*buf) {
		r = -ENOMEM;
		goto out;
	}
	while (n < (size_t)st.st_size) {
		ssize_t k = read(fd, *buf + n, (size_t)st.st_size - n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			r = k < 0 ? -errno : -EBADMSG;
			goto out;
		}
		n += (size_t)k;
	}
	(*buf)[n] = '\0';
	*len = n;
out:
	if (r) {
		free(*buf);
		*buf = NULL;
	}
	close(fd);
	return r;
}

int dir_meta_read(struct dir_store *s, struct dir_meta *m, const char *op, struct err *err)
{
	static bool warned;
	char *buf;
	size_t n;
	int r = read_whole(s->dirfd, "meta", DIR_HDR_MAX, &buf, &n);

	if (r < 0)
		return fail_io(s, err, r, op, "read meta");
	r = dir_meta_parse(buf, n, m);
	free(buf);
	if (r < 0)
		return err_fail(err, CNI_ERR_DECODE, r, "dir store %s: %s: meta is malformed",
				s->path, op);
	if (m->clamped && !warned) {
		warned = true;
		log_warn("dir store %s: meta's next expiry is out of range: the next write "
			 "recomputes it",
			 s->path);
	}
	return 0;
}

int dir_read_file(struct dir_store *s, const char *name, struct dir_hdr *h, char **value,
		  const char *op, struct err *err)
{
	static bool warned;
	char *buf;
	size_t n;
	ssize_t hl;
	int r = read_whole(s->keysfd, name, DIR_HDR_MAX + STORE_VALUE_MAX, &buf, &n);

	*value = NULL;
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return fail_io(s, err, r, op, "read a key file");
	hl = dir_hdr_parse(buf, n, h);
	if (hl <= 0 || h->op || h->len != n - (size_t)hl) {
		free(buf);
		return err_fail(err, CNI_ERR_DECODE, -EBADMSG,
				"dir store %s: %s: a key file is malformed", s->path, op);
	}
	memmove(buf, buf + hl, h->len + 1); /* the value, and the NUL read_whole added */
	*value = buf;
	if (h->clamped && !warned) {
		/* once a process: a get loop would flood the log; the key is not named */
		warned = true;
		log_warn("dir store %s: a key file's ttl or expiry is out of range: read as the "
			 "largest (%lld s, %lld ms), rewritten at the key's next write",
			 s->path, (long long)h->ttl, (long long)h->expires);
	}
	return 1;
}

int dir_read_key(struct dir_store *s, const char *key, int64_t now, struct dir_hdr *h, char **value,
		 const char *op, struct err *err)
{
	char name[DIR_NAME_MAX + 1];
	int r;

	dir_key_file(key, name);
	r = dir_read_file(s, name, h, value, op, err);
	if (r == 1 && strcmp(h->key, key))
		r = 0; /* a hashed name's other key: SHA-256 makes it never happen */
	if (r == 1 && h->expires && now >= h->expires)
		r = 0; /* expired: absent, whether reaped yet or not */
	if (r != 1) {
		free(*value);
		*value = NULL;
	}
	return r;
}

int dir_kv_fill(struct store_kv *kv, const struct dir_hdr *h, char *value, int64_t now)
{
	memset(kv, 0, sizeof(*kv));
	kv->key = strdup(h->key);
	if (!kv->key) {
		free(value);
		return -ENOMEM;
	}
	kv->value = value;
	kv->value_len = h->len;
	kv->create_rev = h->create_rev;
	kv->mod_rev = h->mod_rev;
	kv->version = h->version;
	kv->ttl = h->expires ? (h->expires - now + 999) / 1000 : -1;
	if (h->expires && kv->ttl < 0)
		kv->ttl = 0;
	/* never more than was granted: an expiry read clamped is far past now + ttl */
	if (h->expires && h->ttl && kv->ttl > h->ttl)
		kv->ttl = h->ttl;
	return 0;
}

static int dir_get(struct store *st, const char *key, struct store_kv *kv, int64_t *rev,
		   struct err *err)
{
	struct dir_store *s = DS(st);
	struct dir_hdr h;
	struct dir_meta m;
	int64_t now = dir_now_ms();
	char *value;
	int r;

	if (!dir_key_valid(key))
		return bad_key(s, err, "get");
	r = dir_read_key(s, key, now, &h, &value, "get", err);
	if (r == 1 && dir_kv_fill(kv, &h, value, now) < 0)
		return err_fail(err, CNI_ERR_IO, -ENOMEM, "dir store %s: get: out of memory",
				s->path);
	/* read after the key: the revision is at least the key's */
	if (r >= 0 && rev) {
		int q = dir_meta_read(s, &m, "get", err);

		if (q < 0) {
			if (r == 1)
				store_kv_free(kv);
			return q;
		}
		*rev = m.revision;
	}
	return r;
}

struct cand {
	char *key;
	char name[DIR_NAME_MAX + 1];
};

static int cand_cmp(const void *a, const void *b)
{
	return strcmp(((const struct cand *)a)->key, ((const struct cand *)b)->key);
}

/* The keys under prefix from start, by their file names (a hashed name: by its header) */
static int list_names(struct dir_store *s, const char *prefix, const char *start, struct cand **ret,
		      size_t *ret_n, struct err *err)
{
	size_t plen = strlen(prefix), n = 0, cap = 0;
	struct cand *c = NULL;
	struct dirent *de;
	DIR *d;
	int fd = dup(s->keysfd), r = 0;

	if (fd < 0 || !(d = fdopendir(fd))) {
		r = -errno;
		if (fd >= 0)
			close(fd);
		return fail_io(s, err, r, "list", "open keys");
	}
	rewinddir(d);
	while ((de = readdir(d))) {
		char key[STORE_KEY_MAX + 1];
		struct dir_hdr h;
		char *v;

		if (de->d_name[0] == '.' || strlen(de->d_name) > DIR_NAME_MAX)
			continue; /* not a key's file: its name starts with '+' or '~' */
		if (de->d_name[0] == '~') {
			/* a file that cannot be read is skipped: its error is not the caller's */
			struct err skip = {0};

			if (dir_read_file(s, de->d_name, &h, &v, "list", &skip) != 1) {
				log_debug("%s (skipped)", skip.msg);
				continue;
			}
			free(v);
			snprintf(key, sizeof(key), "%s", h.key);
		} else if (dir_key_unescape(de->d_name, key, sizeof(key)) < 0 ||
			   !dir_key_valid(key)) {
			continue; /* not a key's file: never written by this backend */
		}
		if (strncmp(key, prefix, plen) || (start && strcmp(key, start) < 0))
			continue;
		if (n == cap) {
			struct cand *nc = realloc(c, (cap = cap ? 2 * cap : 64) * sizeof(*c));

			if (!nc) {
				r = -ENOMEM;
				break;
			}
			c = nc;
		}
		c[n].key = strdup(key);
		if (!c[n].key) {
			r = -ENOMEM;
			break;
		}
		memcpy(c[n].name, de->d_name, strlen(de->d_name) + 1);
		n++;
	}
	closedir(d);
	if (r < 0) {
		while (n)
			free(c[--n].key);
		free(c);
		return fail_io(s, err, r, "list", "read keys");
	}
	if (n)
		qsort(c, n, sizeof(*c), cand_cmp);
	*ret = c;
	*ret_n = n;
	return 0;
}

static int list_read(struct dir_store *s, struct cand *c, size_t nc, size_t limit,
		     struct store_list *out, struct err *err)
{
	int64_t now = dir_now_ms();
	size_t cap = 0;

	for (size_t i = 0; i < nc; i++) {
		struct dir_hdr h;
		char *v;
		int r = dir_read_file(s, c[i].name, &h, &v, "list", err);

		if (r < 0)
			return r;
		if (r == 0 || strcmp(h.key, c[i].key) || (h.expires && now >= h.expires)) {
			free(v);
			continue;
		}
		if (limit && out->n == limit) {
			free(v);
			out->more = true;
			break;
		}
		if (out->n == cap) {
			struct store_kv *kvs =
				realloc(out->kvs, (cap = cap ? 2 * cap : 16) * sizeof(*kvs));

			if (!kvs) {
				free(v);
				return fail_io(s, err, -ENOMEM, "list", "read keys");
			}
			out->kvs = kvs;
		}
		if (dir_kv_fill(&out->kvs[out->n], &h, v, now) < 0)
			return fail_io(s, err, -ENOMEM, "list", "read keys");
		out->n++;
	}
	return 0;
}

static int dir_list(struct store *st, const char *prefix, const char *start, size_t limit,
		    struct store_list *out, struct err *err)
{
	struct dir_store *s = DS(st);
	struct cand *c = NULL;
	struct dir_meta m;
	size_t nc = 0;
	int r;

	memset(out, 0, sizeof(*out));
	if (!prefix)
		prefix = "";
	/* start is only compared with: a page's last key + "\x01" may be one byte over */
	if (*prefix && !dir_key_valid(prefix))
		return bad_key(s, err, "list");
	r = dir_lock(s, LOCK_SH, "list", err);
	if (r < 0)
		return r;
	r = dir_meta_read(s, &m, "list", err);
	if (r == 0)
		r = list_names(s, prefix, start, &c, &nc, err);
	if (r == 0)
		r = list_read(s, c, nc, limit, out, err);
	dir_unlock(s);
	for (size_t i = 0; i < nc; i++)
		free(c[i].key);
	free(c);
	if (r < 0) {
		store_list_free(out);
		return r;
	}
	out->rev = m.revision;
	return (int)out->n;
}

static int dir_put(struct store *st, const char *key, const void *value, size_t len,
		   const struct store_put *o, int64_t *rev, struct store_kv *cur, struct err *err)
{
	struct dir_store *s = DS(st);
	struct dir_hdr h, old;
	struct dir_txn t;
	char *ov = NULL;
	int r, found;

	if (!dir_key_valid(key))
		return bad_key(s, err, "put");
	if (len > STORE_VALUE_MAX)
		return err_fail(err, CNI_ERR_CONFIG, -EMSGSIZE,
				"dir store %s: put: the value is over %u bytes", s->path,
				STORE_VALUE_MAX);
	if (o->ttl < 0 || o->if_rev < STORE_ANY)
		return err_fail(err, CNI_ERR_CONFIG, -EINVAL,
				"dir store %s: put: negative ttl or revision", s->path);
	/* now + ttl * 1000 must stay a number the files can hold */
	if (o->ttl > DIR_TTL_MAX)
		return err_fail(err, CNI_ERR_CONFIG, -EINVAL,
				"dir store %s: put: ttl %lld is over %lld seconds", s->path,
				(long long)o->ttl, DIR_TTL_MAX);
	r = dir_txn_begin(s, &t, "put", err);
	if (r < 0)
		return r;
	found = r = dir_read_key(s, key, t.now, &old, &ov, "put", err);
	if (r < 0)
		goto out;
	if ((o->if_rev == STORE_ABSENT && found) ||
	    (o->if_rev > 0 && (!found || old.mod_rev != o->if_rev))) {
		/* dir_kv_fill takes ov whether it succeeds or not */
		if (found && cur) {
			dir_kv_fill(cur, &old, ov, t.now);
			ov = NULL;
		}
		r = 0;
		goto out;
	}
	memset(&h, 0, sizeof(h));
	h.op = DIR_PUT;
	snprintf(h.key, sizeof(h.key), "%s", key);
	h.version = found ? old.version + 1 : 1;
	h.create_rev = found ? old.create_rev : 0; /* 0: the new revision, set by the txn */
	h.ttl = o->ttl;
	h.expires = o->ttl ? t.now + o->ttl * 1000 : 0;
	h.len = len;
	r = dir_txn_event(&t, &h, value, "put", err);
	if (r == 0) {
		r = 1;
		if (rev)
			*rev = h.mod_rev;
	}
out:
	free(ov);
	if (dir_txn_end(&t, "put", err) < 0)
		r = r < 0 ? r : -EIO;
	return r;
}

static int dir_del(struct store *st, const char *key, int64_t if_rev, int64_t *rev, struct err *err)
{
	struct dir_store *s = DS(st);
	struct dir_hdr h;
	struct dir_txn t;
	char *v = NULL;
	int r;

	if (!dir_key_valid(key))
		return bad_key(s, err, "delete");
	r = dir_txn_begin(s, &t, "delete", err);
	if (r < 0)
		return r;
	r = dir_read_key(s, key, t.now, &h, &v, "delete", err);
	free(v);
	if (r == 1 && (if_rev == STORE_ANY || if_rev == h.mod_rev)) {
		h.op = DIR_DELETE;
		h.len = 0;
		r = dir_txn_event(&t, &h, "", "delete", err);
		if (r == 0) {
			r = 1;
			if (rev)
				*rev = h.mod_rev;
		}
	} else if (r == 1) {
		r = 0;
	}
	if (dir_txn_end(&t, "delete", err) < 0)
		r = r < 0 ? r : -EIO;
	return r;
}

static int dir_keepalive(struct store *st, const struct store_kv *kv, struct err *err)
{
	struct dir_store *s = DS(st);
	char name[DIR_NAME_MAX + 1], line[DIR_HDR_MAX];
	struct dir_hdr h;
	struct dir_txn t;
	char *v = NULL;
	int r;

	if (!kv || !dir_key_valid(kv->key))
		return bad_key(s, err, "keepalive");
	r = dir_txn_begin(s, &t, "keepalive", err);
	if (r < 0)
		return r;
	r = dir_read_key(s, kv->key, t.now, &h, &v, "keepalive", err);
	/* the lease is the write's: a later write took a new one (etcd: revoked the old) */
	if (r == 1 && (h.mod_rev != kv->mod_rev || !h.ttl))
		r = 0;
	if (r == 1) {
		h.expires = t.now + h.ttl * 1000;
		dir_key_file(kv->key, name);
		r = dir_hdr_format(&h, line, sizeof(line));
		if (r >= 0)
			r = dir_write_file(s, s->keysfd, name, line, (size_t)r, v, h.len);
		r = r < 0 ? fail_io(s, err, r, "keepalive", "write a key file") : 1;
	}
	free(v);
	if (dir_txn_end(&t, "keepalive", err) < 0)
		r = r < 0 ? r : -EIO;
	return r;
}

static int dir_compact(struct store *st, int64_t rev, struct err *err)
{
	struct dir_store *s = DS(st);
	struct dir_txn t;
	int r;

	r = dir_txn_begin(s, &t, "compact", err);
	if (r < 0)
		return r;
	if (rev > t.m.revision)
		r = err_fail(err, CNI_ERR_CONFIG, -EINVAL,
			     "dir store %s: compact: revision %lld is in the future (now %lld)",
			     s->path, (long long)rev, (long long)t.m.revision);
	else if (rev > t.m.first)
		r = dir_txn_compact(&t, rev, "compact", err);
	if (dir_txn_end(&t, "compact", err) < 0)
		r = r < 0 ? r : -EIO;
	return r;
}

void dir_close_fds(int *const *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (*fds[i] >= 0) {
			close(*fds[i]);
			*fds[i] = -1;
		}
}

void dir_close(struct store *st)
{
	struct dir_store *s = DS(st);

	if (!s)
		return;
	dir_close_fds((int *const[]){&s->dirfd, &s->keysfd, &s->tmpfd, &s->lockfd}, 4);
	free(s->path);
	free(s->base.url);
	free(s);
}

/* A list reads each key's expiry from its file: its TTL is never left unknown */
static int dir_ttl(struct store *st, struct store_kv *kv, struct err *err)
{
	(void)st;
	(void)kv;
	(void)err;
	return 0;
}

const struct store_ops dir_ops = {
	.close = dir_close,
	.get = dir_get,
	.list = dir_list,
	.put = dir_put,
	.del = dir_del,
	.keepalive = dir_keepalive,
	.ttl = dir_ttl,
	.compact = dir_compact,
	.watch_open = dir_watch_open,
	.watch_fd = dir_watch_fd,
	.watch_next = dir_watch_next,
	.watch_rev = dir_watch_rev,
	.watch_close = dir_watch_close,
};

/* mkdir -p, each directory it creates 0700 whatever the umask */
static int mkdirs(char *path)
{
	struct stat st;

	if (stat(path, &st) == 0)
		return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) == 0)
			chmod(path, 0700);
		else if (errno != EEXIST) {
			*p = '/';
			return -errno;
		}
		*p = '/';
	}
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	return chmod(path, 0700) < 0 && errno != EPERM ? -errno : 0;
}

static int open_dir(struct dir_store *s, const char *name, int *fd)
{
	if (mkdirat(s->dirfd, name, 0700) == 0)
		fchmodat(s->dirfd, name, 0700, 0);
	else if (errno != EEXIST)
		return -errno;
	*fd = openat(s->dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	return *fd < 0 ? -errno : 0;
}

/* A new store: its log (revision 1 is the empty store, as etcd's), then its meta */
static int init_store(struct dir_store *s, struct err *err)
{
	struct dir_meta m = {.revision = 1, .first = 1, .log_gen = 1};
	char line[DIR_HDR_MAX];
	int r, n;

	r = dir_lock(s, LOCK_EX, "open", err);
	if (r < 0)
		return r;
	if (faccessat(s->dirfd, "meta", F_OK, 0) == 0)
		goto out; /* another process was first */
	n = dir_loghdr_format(m.log_gen, m.first, line, sizeof(line));
	r = n < 0 ? n : dir_write_file(s, s->dirfd, "log", line, (size_t)n, NULL, 0);
	m.log_size = n;
	if (r == 0)
		r = n = dir_meta_format(&m, line, sizeof(line));
	if (r >= 0)
		r = dir_write_file(s, s->dirfd, "meta", line, (size_t)n, NULL, 0);
	if (r < 0)
		r = fail_io(s, err, r, "open", "create the store");
out:
	dir_unlock(s);
	return r;
}

struct store *store_dir_open(const char *path, struct err *err)
{
	struct dir_store *s = calloc(1, sizeof(*s));
	int r;

	if (!s || !(s->path = strdup(path)) || asprintf(&s->base.url, "dir://%s", path) < 0) {
		err_fail(err, CNI_ERR_IO, -ENOMEM, "dir store: open: out of memory");
		if (s)
			free(s->path);
		free(s);
		return NULL;
	}
	s->base.ops = &dir_ops;
	s->dirfd = s->keysfd = s->tmpfd = s->lockfd = -1;
	r = mkdirs(s->path);
	if (r < 0) {
		fail_io(s, err, r, "open", "create the directory");
		goto fail;
	}
	s->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0) {
		fail_io(s, err, -errno, "open", "open the directory");
		goto fail;
	}
	/* opened for writing even by readers: a store this process cannot write is an error now,
	 * not at its first write */
	s->lockfd = openat(s->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (s->lockfd < 0) {
		fail_io(s, err, -errno, "open", "open the lock file");
		goto fail;
	}
	fchmod(s->lockfd, 0600);
	r = open_dir(s, "keys", &s->keysfd);
	if (r == 0)
		r = open_dir(s, "tmp", &s->tmpfd);
	if (r < 0) {
		fail_io(s, err, r, "open", "create keys/ and tmp/");
		goto fail;
	}
	if (faccessat(s->dirfd, "meta", F_OK, 0) < 0 && init_store(s, err) < 0)
		goto fail;
	return &s->base;
fail:
	dir_close(&s->base);
	return NULL;
}
