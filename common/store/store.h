/* SPDX-License-Identifier: Apache-2.0 */
/* The datastore: one interface, two backends with the same keys, values and semantics.
 *
 *   dir://PATH   files under PATH (store/dir.c; linked into every program, plugins too)
 *   etcd://h1:2379,h2:2379, etcds://h:2379?cacert=F&cert=F&key=F
 *                etcd v3 through libcurl: its HTTP/JSON gateway, and gRPC over HTTP/2 for
 *                ranges (store/etcd*.c; linked only into sluicectl and sluiced: a plugin
 *                never loads libcurl)
 *
 * Semantics are etcd's: every change bumps one store-wide revision; each key carries the
 * revision that created it, the one that last modified it and a version (writes since
 * creation); a key may carry a TTL after which it is gone (read as absent, and a DELETE
 * event is seen by watchers); a watch delivers every change after a given revision, in
 * order, or says that revision was compacted (the caller lists again and watches from the
 * list's revision + 1).
 *
 * Keys are byte strings without NUL, starting with '/', at most STORE_KEY_MAX bytes; so do
 * the prefixes of lists and watches ("/" for every key; an empty one is refused). Values
 * are byte strings (sluice stores JSON) of at most STORE_VALUE_MAX bytes when written; a
 * value another etcd client wrote is read up to 2 MiB (etcd's own limit is 1.5 MiB). A key
 * or a value never appears in a log line or an error message of this layer (keys may
 * name pods; values may hold secrets): messages name the operation and the backend.
 *
 * Every call reports failure as a negative errno and fills err (codes from base/err.h:
 * CNI_ERR_IO for an unreachable or failing backend, CNI_ERR_CONFIG for a bad URL,
 * CNI_ERR_DECODE for a malformed answer); the expected outcomes of conditional writes are
 * return values, not errors (err untouched). Not thread-safe: one struct store per thread. */
#ifndef STORE_H
#define STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct err;
struct store;
struct store_watch;

#define STORE_KEY_MAX 1024
#define STORE_VALUE_MAX (1U << 20)
#define STORE_DEFAULT_URL "dir:///var/lib/sluice/store"

struct store_kv {
	char *key; /* NUL-terminated */
	char *value; /* NUL-terminated (a NUL is added after value_len bytes) */
	size_t value_len;
	int64_t create_rev; /* revision that created the key */
	int64_t mod_rev; /* revision of the last change */
	int64_t version; /* number of writes since creation, 1 for a new key */
	int64_t lease; /* etcd: the lease ID it is attached to; dir: 0 */
	int64_t ttl; /* -1: no TTL; >= 0: seconds it had left when read; STORE_TTL_UNKNOWN:
		      * it has a TTL (an etcd lease) this read did not look up (store_ttl) */
};

/* kv.ttl of a leased key a list read without asking its lease: store_get fills the TTL
 * (one key, one request); store_list and store_list_all fill it where it costs nothing
 * (dir: the expiry is in the key's file) and leave this for etcd's leased keys, as a
 * timetolive request per key made a list of 1,000 leased keys 100 times slower than one of
 * keys without. store_ttl() looks it up for the keys a caller shows. */
#define STORE_TTL_UNKNOWN (-2)

/* Opens the store a URL names (NULL: STORE_DEFAULT_URL). dir:// creates PATH (mode 0700)
 * when missing. etcd:// checks nothing on the network until the first call. Returns NULL
 * with err filled: CNI_ERR_CONFIG for a malformed URL, or a backend not linked into this
 * program ("etcd:// is only available to sluicectl and sluiced"). */
struct store *store_open(const char *url, struct err *err);
void store_close(struct store *s);

/* The URL it was opened with (for logs and `sluicectl status`; a URL holds no secret:
 * user:password@ is refused, TLS material is named by file path) */
const char *store_url(const struct store *s);

/* Reads key into *kv (free with store_kv_free()). Returns 1 when found, 0 when absent,
 * or -errno. *rev (may be NULL) receives the store's revision at the read. */
int store_get(struct store *s, const char *key, struct store_kv *kv, int64_t *rev, struct err *err);

struct store_list {
	struct store_kv *kvs;
	size_t n;
	int64_t rev; /* the store's revision of this listing */
	bool more; /* the limit cut it short */
};

/* Lists the keys that start with prefix, in byte order, from start (inclusive; NULL: from
 * the prefix), at most limit of them (0: all). out->more says the limit cut the listing
 * short: the next page starts at the last key + "\x01" (keys hold no NUL). Each page is
 * consistent in itself. A leased key's ttl may be STORE_TTL_UNKNOWN (etcd; store_ttl).
 * Free with store_list_free(). Returns the number listed or -errno. */
int store_list(struct store *s, const char *prefix, const char *start, size_t limit,
	       struct store_list *out, struct err *err);

/* Every key under prefix, fetched in pages of page_size (0: one request), appended to
 * out. Returns the number or -errno. */
int store_list_all(struct store *s, const char *prefix, size_t page_size, struct store_list *out,
		   struct err *err);

/* Fills kv->ttl when it is STORE_TTL_UNKNOWN (etcd: one timetolive request of kv->lease;
 * 0 when the lease is gone, the key with it); does nothing otherwise. Returns 0 or -errno
 * (kv->ttl unchanged). */
int store_ttl(struct store *s, struct store_kv *kv, struct err *err);

void store_kv_free(struct store_kv *kv);
void store_list_free(struct store_list *l);

/* How a write is conditioned */
#define STORE_ANY (-1) /* unconditional */
#define STORE_ABSENT 0 /* create-if-absent: only when the key does not exist */
/* any value > 0: compare-and-swap, only when the key's mod_rev is that value */

struct store_put {
	int64_t if_rev; /* STORE_ANY, STORE_ABSENT, or a mod_rev */
	int64_t ttl; /* seconds, at most 9000000000 (etcd's limit); 0: none (the key lives
		      * until deleted) */
};

/* Writes key = value[len] under the condition o (NULL: unconditional, no TTL). A TTL
 * starts afresh with each write (etcd: a new lease is granted and the key's previous
 * lease, if sluice granted it, revoked; Flannel renews its leases the same way). Returns
 * 1 when written (*rev, may be NULL: the new revision), 0 when the condition failed
 * (*cur, may be NULL, receives the key as it is, if it exists; free it), or -errno. */
int store_put(struct store *s, const char *key, const void *value, size_t len,
	      const struct store_put *o, int64_t *rev, struct store_kv *cur, struct err *err);

/* Deletes key, when if_rev is STORE_ANY or the key's mod_rev. Returns 1 when deleted, 0
 * when absent or modified since, or -errno. */
int store_delete(struct store *s, const char *key, int64_t if_rev, int64_t *rev, struct err *err);

/* Extends a leased key's TTL to its full length again without writing it (etcd: one
 * keepalive of its lease; dir: a new expiry, no new revision). Returns 1, 0 when the key or
 * its lease is gone, or -errno. */
int store_keepalive(struct store *s, const struct store_kv *kv, struct err *err);

/* Watches: every change to a key under prefix with mod_rev >= from_rev (0: from now on),
 * in revision order, expiries included (as deletes). */
struct store_event {
	enum { STORE_EV_PUT = 1, STORE_EV_DELETE } type;
	struct store_kv kv; /* for a delete: key and mod_rev (the deleting revision) only */
};

/* Starts a watch. The returned watch has a file descriptor (store_watch_fd) that becomes
 * readable when store_watch_next may have something; the caller polls it (epoll) and
 * never blocks otherwise. NULL with err filled on failure. */
struct store_watch *store_watch_open(struct store *s, const char *prefix, int64_t from_rev,
				     struct err *err);

/* Pollable (EPOLLIN) descriptor of the watch; stays the same for the watch's life, across
 * reconnections. */
int store_watch_fd(const struct store_watch *w);

/* Next event without blocking. Returns 1 with *ev filled (free with store_event_free), 0
 * when none is ready (poll the fd again; *timeout_ms, may be NULL, says within how many
 * milliseconds the watch wants to be called even without readiness, -1 for never), -ESTALE
 * when from_rev (or the last revision seen) was compacted away (the caller lists and opens
 * a new watch from the listing's rev + 1), or another -errno for an error it will not
 * recover from by itself. A backend that loses its connection reconnects by itself with
 * backoff and resumes after the last revision it delivered. */
int store_watch_next(struct store_watch *w, struct store_event *ev, int *timeout_ms,
		     struct err *err);

/* The last revision the watch delivered or knew to be current (progress) */
int64_t store_watch_rev(const struct store_watch *w);

void store_event_free(struct store_event *ev);
void store_watch_close(struct store_watch *w);

/* Blocks up to timeout_ms (-1: forever) for the next event: store_watch_next over poll(2),
 * for callers without a loop of their own (sluicectl, tests). Returns as store_watch_next,
 * or 0 at the timeout. */
int store_watch_wait(struct store_watch *w, struct store_event *ev, int timeout_ms,
		     struct err *err);

/* Compacts history up to rev (events before it can no longer be watched). For tests and
 * for the dir backend's bounded log. Returns 0 or -errno. */
int store_compact(struct store *s, int64_t rev, struct err *err);

/* The backends' entry points (store/store.c dispatches on the URL scheme). etcd's is weak:
 * a program that does not link store/etcd.c gets a clear error for etcd:// URLs. */
struct store_ops {
	void (*close)(struct store *s);
	int (*get)(struct store *s, const char *key, struct store_kv *kv, int64_t *rev,
		   struct err *err);
	int (*list)(struct store *s, const char *prefix, const char *start, size_t limit,
		    struct store_list *out, struct err *err);
	int (*put)(struct store *s, const char *key, const void *value, size_t len,
		   const struct store_put *o, int64_t *rev, struct store_kv *cur, struct err *err);
	int (*del)(struct store *s, const char *key, int64_t if_rev, int64_t *rev, struct err *err);
	int (*keepalive)(struct store *s, const struct store_kv *kv, struct err *err);
	int (*ttl)(struct store *s, struct store_kv *kv, struct err *err); /* kv->ttl unknown */
	int (*compact)(struct store *s, int64_t rev, struct err *err);
	struct store_watch *(*watch_open)(struct store *s, const char *prefix, int64_t from_rev,
					  struct err *err);
	int (*watch_fd)(const struct store_watch *w);
	int (*watch_next)(struct store_watch *w, struct store_event *ev, int *timeout_ms,
			  struct err *err);
	int64_t (*watch_rev)(const struct store_watch *w);
	void (*watch_close)(struct store_watch *w);
};

/* Every backend's struct store begins with this */
struct store {
	const struct store_ops *ops;
	char *url; /* credentials elided */
};

/* Every backend's struct store_watch begins with this */
struct store_watch {
	struct store *store;
};

struct store *store_dir_open(const char *path, struct err *err);
struct store *store_etcd_open(const char *url, struct err *err) __attribute__((weak));

#endif
