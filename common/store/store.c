/* SPDX-License-Identifier: Apache-2.0 */
/* The datastore's front: picks the backend by URL scheme and forwards; what every backend
 * shares (paging, blocking waits, freeing) lives here once. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store.h"
#include "base/err.h"

/* etcd's maximum lease TTL (MaxLeaseTTL, 9e9 s): the same bound on every backend, so that
 * a TTL a backend cannot represent (the dir backend's expiry in ms overflows) is refused
 * before anything is written. */
#define STORE_TTL_MAX 9000000000LL

/* Keys start with '/', and so does every prefix: an empty prefix would mean "every key" to
 * the dir backend but "no key given" to etcd (its every-key form is a different request),
 * so it is refused on both. The message names no prefix (it may name a pod). */
static int check_prefix(const char *prefix, const char *op, struct err *err)
{
	if (!prefix || prefix[0] != '/')
		return err_fail(err, CNI_ERR_CONFIG, -EINVAL,
				"store %s: a prefix must start with '/' (\"/\" for every key)", op);
	return 0;
}

struct store *store_open(const char *url, struct err *err)
{
	if (!url || !*url)
		url = STORE_DEFAULT_URL;
	if (!strncmp(url, "dir://", 6)) {
		if (url[6] != '/') {
			err_fail(err, CNI_ERR_CONFIG, -EINVAL,
				 "store URL dir://PATH needs an absolute PATH (dir:///var/lib/sluice/store)");
			return NULL;
		}
		return store_dir_open(url + 6, err);
	}
	if (!strncmp(url, "etcd://", 7) || !strncmp(url, "etcds://", 8)) {
		if (!store_etcd_open) {
			err_fail(err, CNI_ERR_CONFIG, -ENOTSUP,
				 "etcd:// stores are only available to sluicectl and sluiced; this program reads node-local state (dir://)");
			return NULL;
		}
		return store_etcd_open(url, err);
	}
	err_fail(err, CNI_ERR_CONFIG, -EINVAL,
		 "store URL must start with dir://, etcd:// or etcds://");
	return NULL;
}

void store_close(struct store *s)
{
	if (s)
		s->ops->close(s);
}

const char *store_url(const struct store *s)
{
	return s->url;
}

int store_get(struct store *s, const char *key, struct store_kv *kv, int64_t *rev,
	      struct err *err)
{
	return s->ops->get(s, key, kv, rev, err);
}

int store_list(struct store *s, const char *prefix, const char *start, size_t limit,
	       struct store_list *out, struct err *err)
{
	int r = check_prefix(prefix, "list", err);

	return r < 0 ? r : s->ops->list(s, prefix, start, limit, out, err);
}

static int list_append(struct store_list *out, struct store_list *page)
{
	struct store_kv *kvs;

	if (!page->n)
		return 0;
	kvs = realloc(out->kvs, (out->n + page->n) * sizeof(*kvs));
	if (!kvs)
		return -ENOMEM;
	memcpy(kvs + out->n, page->kvs, page->n * sizeof(*kvs));
	out->kvs = kvs;
	out->n += page->n;
	free(page->kvs); /* the entries now belong to out */
	page->kvs = NULL;
	page->n = 0;
	return 0;
}

int store_list_all(struct store *s, const char *prefix, size_t page_size, struct store_list *out,
		   struct err *err)
{
	char *start = NULL;
	int r = check_prefix(prefix, "list", err);

	if (r < 0)
		return r;
	for (;;) {
		struct store_list page = {0};

		r = s->ops->list(s, prefix, start, page_size, &page, err);
		free(start);
		start = NULL;
		if (r < 0)
			return r;
		if (!out->rev)
			out->rev = page.rev;
		if (page.more && page.n) {
			const char *last = page.kvs[page.n - 1].key;
			size_t n = strlen(last);

			start = malloc(n + 2);
			if (start) {
				memcpy(start, last, n);
				start[n] = '\x01'; /* the least key after last: keys hold no NUL */
				start[n + 1] = '\0';
			}
		}
		r = list_append(out, &page);
		bool more = page.more;
		store_list_free(&page);
		if (r < 0 || (more && !start)) {
			free(start);
			return err_fail(err, CNI_ERR_IO, -ENOMEM, "store list: out of memory");
		}
		if (!more || !page_size)
			break;
	}
	return (int)out->n;
}

void store_kv_free(struct store_kv *kv)
{
	if (!kv)
		return;
	free(kv->key);
	free(kv->value);
	memset(kv, 0, sizeof(*kv));
}

void store_list_free(struct store_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		store_kv_free(&l->kvs[i]);
	free(l->kvs);
	memset(l, 0, sizeof(*l));
}

int store_put(struct store *s, const char *key, const void *value, size_t len,
	      const struct store_put *o, int64_t *rev, struct store_kv *cur, struct err *err)
{
	static const struct store_put plain = {.if_rev = STORE_ANY};

	if (o && (o->ttl < 0 || o->ttl > STORE_TTL_MAX))
		return err_fail(err, CNI_ERR_CONFIG, -EINVAL,
				"store put: ttl %lld out of range (0 to %lld seconds)",
				(long long)o->ttl, STORE_TTL_MAX);
	return s->ops->put(s, key, value, len, o ? o : &plain, rev, cur, err);
}

int store_delete(struct store *s, const char *key, int64_t if_rev, int64_t *rev,
		 struct err *err)
{
	return s->ops->del(s, key, if_rev, rev, err);
}

int store_keepalive(struct store *s, const struct store_kv *kv, struct err *err)
{
	return s->ops->keepalive(s, kv, err);
}

int store_ttl(struct store *s, struct store_kv *kv, struct err *err)
{
	if (kv->ttl != STORE_TTL_UNKNOWN)
		return 0;
	return s->ops->ttl(s, kv, err);
}

int store_compact(struct store *s, int64_t rev, struct err *err)
{
	return s->ops->compact(s, rev, err);
}

struct store_watch *store_watch_open(struct store *s, const char *prefix, int64_t from_rev,
				     struct err *err)
{
	if (check_prefix(prefix, "watch", err) < 0)
		return NULL;
	return s->ops->watch_open(s, prefix, from_rev, err);
}

int store_watch_fd(const struct store_watch *w)
{
	return w->store->ops->watch_fd(w);
}

int store_watch_next(struct store_watch *w, struct store_event *ev, int *timeout_ms,
		     struct err *err)
{
	return w->store->ops->watch_next(w, ev, timeout_ms, err);
}

int64_t store_watch_rev(const struct store_watch *w)
{
	return w->store->ops->watch_rev(w);
}

void store_event_free(struct store_event *ev)
{
	if (ev)
		store_kv_free(&ev->kv);
}

void store_watch_close(struct store_watch *w)
{
	if (w)
		w->store->ops->watch_close(w);
}

int store_watch_wait(struct store_watch *w, struct store_event *ev, int timeout_ms,
		     struct err *err)
{
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		int want = -1, r, left = timeout_ms;
		struct pollfd p = {.fd = store_watch_fd(w), .events = POLLIN};
		struct timespec t;

		r = store_watch_next(w, ev, &want, err);
		if (r != 0)
			return r;
		if (timeout_ms >= 0) {
			clock_gettime(CLOCK_MONOTONIC, &t);
			left = timeout_ms - (int)((t.tv_sec - t0.tv_sec) * 1000 +
						  (t.tv_nsec - t0.tv_nsec) / 1000000);
			if (left <= 0)
				return 0;
		}
		if (want >= 0 && (left < 0 || want < left))
			left = want;
		if (poll(&p, 1, left) < 0 && errno != EINTR)
			return err_fail(err, CNI_ERR_IO, -errno, "store watch: poll: %s",
					strerror(errno));
	}
}
