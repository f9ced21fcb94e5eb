/* SPDX-License-Identifier: Apache-2.0 */
/* A small driver of the datastore for the shell tests (tests/netns/store-etcd.sh):
 *
 *   etcdtest URL put KEY VALUE       prints the new revision
 *   etcdtest URL get KEY             prints "<mod_rev> <value>", exit 3 when absent
 *   etcdtest URL rev                 prints the store's revision
 *   etcdtest URL compact REV
 *   etcdtest URL fill PREFIX N BYTES puts PREFIX00000 ... PREFIX<N-1>, values of BYTES 'x's,
 *                                    prints the last revision
 *   etcdtest URL list PREFIX         prints "<key> <mod_rev> <value length>" per key
 *   etcdtest URL poll KEY SECONDS    gets KEY every 200 ms for SECONDS with one store,
 *                                    printing "OK <mod_rev> <value>", "ABSENT" or "ERR"
 *   etcdtest URL watch PREFIX REV SECONDS
 *                                    prints "PUT <key> <mod_rev> <value>" or
 *                                    "DELETE <key> <mod_rev>" per event for SECONDS, then
 *                                    "END <store_watch_rev>"; "STALE" and exit 3 on -ESTALE
 *
 * Errors go to stderr as "etcdtest: <message>", exit 1. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "store/store.h"

static int fail(const char *what, const struct err *e)
{
	fprintf(stderr, "etcdtest: %s: %s\n", what, e->msg);
	return 1;
}

static int watch(struct store *s, const char *prefix, int64_t rev, int seconds)
{
	struct err e = {0};
	struct store_watch *w = store_watch_open(s, prefix, rev, &e);
	time_t end = time(NULL) + seconds;

	if (!w)
		return fail("watch", &e);
	while (time(NULL) < end) {
		struct store_event ev;
		int r = store_watch_wait(w, &ev, 200, &e);

		if (r == -ESTALE) {
			printf("STALE\n");
			store_watch_close(w);
			return 3;
		}
		if (r < 0) {
			store_watch_close(w);
			return fail("watch", &e);
		}
		if (r == 0)
			continue;
		if (ev.type == STORE_EV_PUT)
			printf("PUT %s %lld %s\n", ev.kv.key, (long long)ev.kv.mod_rev,
			       ev.kv.value);
		else
			printf("DELETE %s %lld\n", ev.kv.key, (long long)ev.kv.mod_rev);
		fflush(stdout);
		store_event_free(&ev);
	}
	printf("END %lld\n", (long long)store_watch_rev(w));
	store_watch_close(w);
	return 0;
}

static int fill(struct store *s, const char *prefix, int n, size_t bytes)
{
	char *v = malloc(bytes + 1), key[STORE_KEY_MAX + 1];
	struct err e = {0};
	int64_t rev = 0;

	if (!v)
		return 1;
	memset(v, 'x', bytes);
	for (int i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "%s%05d", prefix, i);
		if (store_put(s, key, v, bytes, NULL, &rev, NULL, &e) != 1) {
			free(v);
			return fail("fill", &e);
		}
	}
	free(v);
	printf("%lld\n", (long long)rev);
	return 0;
}

static int list(struct store *s, const char *prefix)
{
	struct store_list l = {0};
	struct err e = {0};

	if (store_list_all(s, prefix, 0, &l, &e) < 0)
		return fail("list", &e);
	for (size_t i = 0; i < l.n; i++)
		printf("%s %lld %zu\n", l.kvs[i].key, (long long)l.kvs[i].mod_rev,
		       l.kvs[i].value_len);
	store_list_free(&l);
	return 0;
}

static int poll_get(struct store *s, const char *key, int seconds)
{
	time_t end = time(NULL) + seconds;

	while (time(NULL) < end) {
		struct store_kv kv = {0};
		struct err e = {0};
		struct timespec t = {0, 200 * 1000000L};
		int r = store_get(s, key, &kv, NULL, &e);

		if (r == 1)
			printf("OK %lld %s\n", (long long)kv.mod_rev, kv.value);
		else
			printf(r == 0 ? "ABSENT\n" : "ERR\n");
		fflush(stdout);
		store_kv_free(&kv);
		nanosleep(&t, NULL);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct store_kv kv = {0};
	struct err e = {0};
	struct store *s;
	int64_t rev = 0;
	int r = 2;

	if (argc < 3) {
		fprintf(stderr, "usage: etcdtest URL put|get|rev|compact|watch ...\n");
		return 2;
	}
	s = store_open(argv[1], &e);
	if (!s)
		return fail("open", &e);
	if (!strcmp(argv[2], "put") && argc == 5) {
		r = store_put(s, argv[3], argv[4], strlen(argv[4]), NULL, &rev, NULL, &e);
		r = r == 1 ? (printf("%lld\n", (long long)rev), 0) : fail("put", &e);
	} else if (!strcmp(argv[2], "get") && argc == 4) {
		r = store_get(s, argv[3], &kv, NULL, &e);
		if (r == 1)
			printf("%lld %s\n", (long long)kv.mod_rev, kv.value);
		r = r == 1 ? 0 : r == 0 ? 3 : fail("get", &e);
		store_kv_free(&kv);
	} else if (!strcmp(argv[2], "rev") && argc == 3) {
		r = store_get(s, "/", &kv, &rev, &e);
		r = r >= 0 ? (printf("%lld\n", (long long)rev), 0) : fail("rev", &e);
		store_kv_free(&kv);
	} else if (!strcmp(argv[2], "compact") && argc == 4) {
		r = store_compact(s, strtoll(argv[3], NULL, 10), &e) == 0 ? 0 : fail("compact", &e);
	} else if (!strcmp(argv[2], "fill") && argc == 6) {
		r = fill(s, argv[3], atoi(argv[4]), strtoul(argv[5], NULL, 10));
	} else if (!strcmp(argv[2], "list") && argc == 4) {
		r = list(s, argv[3]);
	} else if (!strcmp(argv[2], "poll") && argc == 5) {
		r = poll_get(s, argv[3], atoi(argv[4]));
	} else if (!strcmp(argv[2], "watch") && argc == 6) {
		r = watch(s, argv[3], strtoll(argv[4], NULL, 10), atoi(argv[5]));
	} else {
		fprintf(stderr, "etcdtest: unknown command or wrong arguments\n");
	}
	store_close(s);
	return r;
}
