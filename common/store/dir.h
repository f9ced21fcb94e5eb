/* SPDX-License-Identifier: Apache-2.0 */
/* The dir:// backend's insides, shared by its files (dir*.c) and its unit test: the on-disk
 * formats (key escaping, the one-line JSON header of a key file and of a log record, the
 * meta file) and the write transaction every change goes through. README ("The datastore:
 * dir://") describes the layout. */
#ifndef STORE_DIR_H
#define STORE_DIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "store/store.h"

/* A key's file name: its escaped form when at most this long, else "~" + SHA-256 hex */
#define DIR_NAME_MAX 200
/* A header line is at most this long (an escaped key is at most 3 * STORE_KEY_MAX) */
#define DIR_HDR_MAX 4096
/* The log is compacted when it holds more events or bytes than these, down to the recent
 * DIR_LOG_KEEP events and at most DIR_LOG_KEEP_BYTES */
#define DIR_LOG_MAX_EVENTS 10000
#define DIR_LOG_MAX_BYTES (8 << 20)
#define DIR_LOG_KEEP 5000
#define DIR_LOG_KEEP_BYTES (4 << 20)

/* Every number on disk is an integer in [0, 2^53] (exact in cJSON's doubles); a TTL is at
 * most DIR_TTL_MAX seconds (the front's limit too), so that now + TTL stays far below */
#define DIR_NUM_MAX 9007199254740992LL
#define DIR_TTL_MAX 9000000000LL

enum dir_op { DIR_PUT = 1, DIR_DELETE };

/* The header of a key file (op 0) or of a log record (op set): JSON on one line, then len
 * bytes of value (a log record: then "\n"). */
struct dir_hdr {
	int op;
	int64_t create_rev, mod_rev, version;
	int64_t ttl; /* seconds, 0: none */
	int64_t expires; /* ms since the epoch (CLOCK_REALTIME), 0: never */
	size_t len;
	/* a ttl or expires read out of range (an older writer's), clamped to the largest */
	bool clamped;
	char key[STORE_KEY_MAX + 1];
};

/* The store's state, PATH/meta: written by rename under the lock after every change */
struct dir_meta {
	int64_t revision; /* the store's revision */
	int64_t first; /* the log's first retained revision (etcd's compact revision) */
	int64_t log_gen; /* the log's generation: each compaction writes a new log file */
	int64_t log_size; /* bytes of PATH/log committed; beyond that, a crashed write */
	int64_t next_expiry; /* ms: no key expires before (0: none has a TTL) */
	/* next_expiry was read out of range: set to 1, so that the next writer reaps and
	 * recomputes it */
	bool clamped;
};

/* Keys start with '/', hold no NUL and are at most STORE_KEY_MAX bytes */
bool dir_key_valid(const char *key);
/* Bytes outside [A-Za-z0-9._-] as %XX, '/' as '+'. Returns the length or -ENAMETOOLONG. */
int dir_key_escape(const char *key, char *out, size_t size);
/* The reverse; -EINVAL for what dir_key_escape never writes */
int dir_key_unescape(const char *in, char *out, size_t size);
/* The file name of key under PATH/keys (out: DIR_NAME_MAX + 1 bytes) */
void dir_key_file(const char *key, char *out);

/* The header line of h, "\n" included, in out (DIR_HDR_MAX bytes). Returns its length or
 * -errno (-ERANGE: a number outside [0, DIR_NUM_MAX]). */
int dir_hdr_format(const struct dir_hdr *h, char *out, size_t size);
/* Parses the header line at buf[0..n). Returns the bytes it took ("\n" included), 0 when no
 * whole line is there yet, or -EBADMSG. A ttl or expires over its range is clamped (see
 * h->clamped): one such record never makes the store unreadable. */
ssize_t dir_hdr_parse(const char *buf, size_t n, struct dir_hdr *h);

int dir_meta_format(const struct dir_meta *m, char *out, size_t size);
int dir_meta_parse(const char *buf, size_t n, struct dir_meta *m);

/* The log file's first line: {"sluice_store_log":1,"gen":G,"first":F} */
int dir_loghdr_format(int64_t gen, int64_t first, char *out, size_t size);
ssize_t dir_loghdr_parse(const char *buf, size_t n, int64_t *gen, int64_t *first);

int64_t dir_now_ms(void);

/* ---- dir.c, dir_txn.c, dir_watch.c ---- */
struct err;

struct dir_store {
	struct store base;
	char *path;
	int dirfd, keysfd, tmpfd, lockfd;
};

/* A write: the lock held exclusively, the store recovered from a crashed writer and its
 * expired keys reaped; dir_txn_event() logs and applies one change, dir_txn_end() commits
 * the meta file and lets go of the lock. */
struct dir_txn {
	struct dir_store *s;
	struct dir_meta m;
	int logfd;
	int64_t now;
	bool dirty;
};

int dir_lock(struct dir_store *s, int how, const char *op, struct err *err);
void dir_unlock(struct dir_store *s);
int dir_txn_begin(struct dir_store *s, struct dir_txn *t, const char *op, struct err *err);
/* Logs and applies h (op PUT or DELETE) with h->len bytes of value; sets h->mod_rev (and a
 * new key's create_rev) to the new revision */
int dir_txn_event(struct dir_txn *t, struct dir_hdr *h, const void *value, const char *op,
		  struct err *err);
/* Commits (meta, after compacting a log grown too large) and unlocks; -errno on failure */
int dir_txn_end(struct dir_txn *t, const char *op, struct err *err);
/* Drops the log's events before rev (0: all but the recent part DIR_LOG_KEEP* allow) */
int dir_txn_compact(struct dir_txn *t, int64_t rev, const char *op, struct err *err);

/* Reads PATH/meta. Returns 0 or -errno (err filled). */
int dir_meta_read(struct dir_store *s, struct dir_meta *m, const char *op, struct err *err);
/* Writes a file under PATH/tmp (mode 0600) and puts it in place as name under dirfd (a
 * reader sees the old file or the new one, never a part) */
int dir_write_file(struct dir_store *s, int dirfd, const char *name, const void *a, size_t alen,
		   const void *b, size_t blen);
/* Reads the key file name (under PATH/keys): 1 with *h and *value (malloc'd, NUL added),
 * 0 when absent, -errno with err filled */
int dir_read_file(struct dir_store *s, const char *name, struct dir_hdr *h, char **value,
		  const char *op, struct err *err);
/* Reads key: 1 (live), 0 (absent or expired at now), -errno */
int dir_read_key(struct dir_store *s, const char *key, int64_t now, struct dir_hdr *h, char **value,
		 const char *op, struct err *err);
/* Fills kv from a header and its value (taking the value) */
int dir_kv_fill(struct store_kv *kv, const struct dir_hdr *h, char *value, int64_t now);
/* Reads the log record at off: 1 with *h, *value (malloc'd) and *next, 0 when the record is
 * not whole before end, -errno */
int dir_log_read(int fd, off_t off, off_t end, struct dir_hdr *h, char **value, off_t *next);

/* Closes each descriptor that is open and marks it closed (-1) */
void dir_close_fds(int *const *fds, size_t n);

extern const struct store_ops dir_ops;
void dir_close(struct store *st);
struct store_watch *dir_watch_open(struct store *st, const char *prefix, int64_t from_rev,
				   struct err *err);
int dir_watch_fd(const struct store_watch *w);
int dir_watch_next(struct store_watch *w, struct store_event *ev, int *timeout_ms, struct err *err);
int64_t dir_watch_rev(const struct store_watch *w);
void dir_watch_close(struct store_watch *w);

#endif
