/* SPDX-License-Identifier: Apache-2.0 */
/* The datastore's behavioural suite: `storetest URL [CHECK...]` runs every semantic check of
 * store/store.h against the store at URL (dir:// or etcd://), under a prefix of its own, and
 * prints one "PASS store-<scheme>:<check>" or "FAIL store-<scheme>:<check> <why>" line each.
 * The same checks run against both backends; the "dir" group (storetest_dir.c) only against
 * dir://. Exit status 0: all passed, 1: some failed, 2: usage or the store cannot be opened. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "store/dir.h"
#include "store/store.h"

static int failures;
static const char *scheme = "dir";
static const char *st_url;
static char st_prefix[128];

static void st_dir_checks(struct store *s, const char *path, int argc, char **argv);
static const char *expect_event(struct store_watch *w, int type, const char *key, int64_t rev,
				const char *value);

__attribute__((format(printf, 3, 4))) static void st_report(const char *check, bool ok,
							    const char *fmt, ...)
{
	va_list ap;

	printf("%s store-%s:%s", ok ? "PASS" : "FAIL", scheme, check);
	if (!ok) {
		failures++;
		if (fmt) {
			putchar(' ');
			va_start(ap, fmt);
			vprintf(fmt, ap);
			va_end(ap);
		}
	}
	putchar('\n');
	fflush(stdout);
}

static int64_t st_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Keys under the suite's prefix; each stays valid until the program ends */
static char **st_keys;
static size_t st_nkeys;

__attribute__((format(printf, 1, 2))) static char *st_key(const char *fmt, ...)
{
	char b[STORE_KEY_MAX + 1], **k;
	int n;
	va_list ap;

	n = snprintf(b, sizeof(b), "%s", st_prefix);
	va_start(ap, fmt);
	vsnprintf(b + n, sizeof(b) - n, fmt, ap);
	va_end(ap);
	k = realloc(st_keys, (st_nkeys + 1) * sizeof(*k));
	if (!k || !(k[st_nkeys] = strdup(b))) {
		fprintf(stderr, "storetest: out of memory\n");
		exit(2);
	}
	st_keys = k;
	return st_keys[st_nkeys++];
}

static int st_put(struct store *s, const char *key, const char *value, int64_t if_rev, int64_t ttl,
		  int64_t *rev)
{
	struct store_put o = {.if_rev = if_rev, .ttl = ttl};
	struct err e = {0};
	int r = store_put(s, key, value, strlen(value), &o, rev, NULL, &e);

	if (r < 0)
		fprintf(stderr, "storetest: put: %s\n", e.msg);
	return r;
}

static int64_t st_rev(struct store *s)
{
	struct store_kv kv = {0};
	struct err e = {0};
	int64_t rev = -1;

	if (store_get(s, "/storetest-no-such-key", &kv, &rev, &e) < 0)
		return -1;
	store_kv_free(&kv);
	return rev;
}

static int st_wait_event(struct store_watch *w, struct store_event *ev, int timeout_ms)
{
	struct err e = {0};
	int r = store_watch_wait(w, ev, timeout_ms, &e);

	if (r < 0 && r != -ESTALE)
		fprintf(stderr, "storetest: watch: %s\n", e.msg);
	return r;
}

/* a value to compare: NULL (a backend's bug) fails the check instead of crashing the suite */
static const char *V(const char *v)
{
	return v ? v : "(null)";
}

/* A check fails at its first unmet condition: FAILED(why) reports and returns */
#define FAILED(...)                                  \
	do {                                         \
		st_report(name, false, __VA_ARGS__); \
		goto out;                            \
	} while (0)
#define EXPECT(c, ...)                       \
	do {                                 \
		if (!(c))                    \
			FAILED(__VA_ARGS__); \
	} while (0)
#define PASSED() st_report(name, true, NULL)

static void c_get_absent(struct store *s, const char *name)
{
	struct store_kv kv = {0};
	struct err e = {0};
	int64_t rev = -1;
	int r = store_get(s, st_key("/absent"), &kv, &rev, &e);

	EXPECT(r == 0, "get of an absent key returned %d (%s)", r, e.msg);
	EXPECT(kv.key == NULL && kv.value == NULL, "an absent key filled kv");
	EXPECT(rev >= 1, "store revision %lld", (long long)rev);
	PASSED();
out:
	store_kv_free(&kv);
}

static void c_put_get(struct store *s, const char *name)
{
	struct store_kv kv = {0};
	struct err e = {0};
	int64_t prev, rev = 0, grev = 0;
	const char *key = st_key("/pg/one");
	int r;

	prev = st_rev(s);
	r = st_put(s, key, "{\"a\":1}", STORE_ANY, 0, &rev);
	EXPECT(r == 1, "put returned %d", r);
	EXPECT(rev == prev + 1, "put revision %lld after %lld", (long long)rev, (long long)prev);
	r = store_get(s, key, &kv, &grev, &e);
	EXPECT(r == 1, "get returned %d (%s)", r, e.msg);
	EXPECT(kv.key && !strcmp(kv.key, key), "wrong key read back");
	EXPECT(kv.value_len == 7 && !memcmp(kv.value, "{\"a\":1}", 8), "wrong value read back");
	EXPECT(kv.create_rev == rev && kv.mod_rev == rev && kv.version == 1,
	       "create %lld mod %lld version %lld, put at %lld", (long long)kv.create_rev,
	       (long long)kv.mod_rev, (long long)kv.version, (long long)rev);
	EXPECT(kv.ttl == -1, "ttl %lld without a TTL", (long long)kv.ttl);
	EXPECT(grev == rev, "get's revision %lld, last write %lld", (long long)grev,
	       (long long)rev);
	PASSED();
out:
	store_kv_free(&kv);
}

/* put value[len] at key, read it back byte for byte */
static const char *roundtrip(struct store *s, const char *key, const char *value, size_t len)
{
	static char why[640];
	struct store_kv kv = {0};
	struct err e = {0};
	int r = store_put(s, key, value, len, NULL, NULL, NULL, &e);

	if (r != 1) {
		snprintf(why, sizeof(why), "put returned %d (%s)", r, e.msg);
		return why;
	}
	r = store_get(s, key, &kv, NULL, &e);
	if (r != 1)
		snprintf(why, sizeof(why), "get returned %d (%s)", r, e.msg);
	else if (kv.value_len != len)
		snprintf(why, sizeof(why), "%zu bytes read back, %zu written", kv.value_len, len);
	else if (!kv.value)
		snprintf(why, sizeof(why),
			 "the value read back is NULL (it must be NUL-terminated)");
	else if ((len && memcmp(kv.value, value, len)) || kv.value[len] != '\0')
		snprintf(why, sizeof(why), "the bytes read back differ (or no NUL after them)");
	else
		why[0] = '\0';
	store_kv_free(&kv);
	return why[0] ? why : NULL;
}

static void c_values(struct store *s, const char *name)
{
	char bin[255 * 2], *big = NULL;
	const char *why;
	size_t n = 512 * 1024;

	for (int i = 0; i < 255; i++)
		bin[i] = bin[i + 255] = (char)(i + 1); /* 0x01..0xff, twice */
	why = roundtrip(s, st_key("/v/binary"), bin, sizeof(bin));
	EXPECT(!why, "binary value 0x01..0xff: %s", why);
	why = roundtrip(s, st_key("/v/empty"), "", 0);
	EXPECT(!why, "empty value: %s", why);
	big = malloc(n);
	EXPECT(big, "out of memory");
	for (size_t i = 0; i < n; i++)
		big[i] = (char)(1 + (i * 7 + i / 251) % 255);
	why = roundtrip(s, st_key("/v/big"), big, n);
	EXPECT(!why, "512 KiB value: %s", why);
	PASSED();
out:
	free(big);
}

static void c_revisions(struct store *s, const char *name)
{
	int64_t r0, r1 = 0, r2 = 0, r3 = 0, r4 = 0, r5 = 0;
	const char *a = st_key("/rev/a"), *b = st_key("/rev/b");
	struct err e = {0};

	r0 = st_rev(s);
	EXPECT(r0 > 0, "no store revision");
	EXPECT(st_put(s, a, "1", STORE_ANY, 0, &r1) == 1, "put failed");
	EXPECT(st_put(s, b, "1", STORE_ABSENT, 0, &r2) == 1, "create failed");
	EXPECT(st_put(s, a, "2", r1, 0, &r3) == 1, "compare-and-swap failed");
	EXPECT(store_delete(s, b, STORE_ANY, &r4, &e) == 1, "delete failed: %s", e.msg);
	EXPECT(store_delete(s, a, r3, &r5, &e) == 1, "conditional delete failed: %s", e.msg);
	EXPECT(r1 == r0 + 1 && r2 == r1 + 1 && r3 == r2 + 1 && r4 == r3 + 1 && r5 == r4 + 1,
	       "revisions %lld %lld %lld %lld %lld %lld, each change should add 1", (long long)r0,
	       (long long)r1, (long long)r2, (long long)r3, (long long)r4, (long long)r5);
	EXPECT(st_rev(s) == r5, "store revision %lld after the last change at %lld",
	       (long long)st_rev(s), (long long)r5);
	/* what changes nothing adds no revision */
	EXPECT(store_delete(s, a, STORE_ANY, NULL, &e) == 0, "delete of an absent key");
	EXPECT(st_put(s, a, "x", 12345678, 0, NULL) == 0, "a CAS on an absent key succeeded");
	EXPECT(st_rev(s) == r5, "failed conditions changed the revision (%lld, was %lld)",
	       (long long)st_rev(s), (long long)r5);
	PASSED();
out:;
}

static void c_versions(struct store *s, const char *name)
{
	const char *k = st_key("/ver/k");
	struct store_kv kv = {0};
	struct err e = {0};
	int64_t r1 = 0, r2 = 0, r3 = 0, r4 = 0;

	EXPECT(st_put(s, k, "1", STORE_ANY, 0, &r1) == 1, "put failed");
	EXPECT(st_put(s, k, "2", STORE_ANY, 0, &r2) == 1, "put failed");
	EXPECT(store_get(s, k, &kv, NULL, &e) == 1, "get failed");
	EXPECT(kv.create_rev == r1 && kv.mod_rev == r2 && kv.version == 2,
	       "after two puts: create %lld (want %lld) mod %lld (want %lld) version %lld (want 2)",
	       (long long)kv.create_rev, (long long)r1, (long long)kv.mod_rev, (long long)r2,
	       (long long)kv.version);
	store_kv_free(&kv);
	EXPECT(store_delete(s, k, STORE_ANY, &r3, &e) == 1, "delete failed");
	EXPECT(st_put(s, k, "3", STORE_ABSENT, 0, &r4) == 1, "re-create after delete failed");
	EXPECT(store_get(s, k, &kv, NULL, &e) == 1, "get failed");
	EXPECT(kv.create_rev == r4 && kv.mod_rev == r4 && kv.version == 1 && r4 == r3 + 1,
	       "re-created: create %lld mod %lld version %lld, want %lld %lld 1",
	       (long long)kv.create_rev, (long long)kv.mod_rev, (long long)kv.version,
	       (long long)r4, (long long)r4);
	PASSED();
out:
	store_kv_free(&kv);
}

static void c_create(struct store *s, const char *name)
{
	const char *k = st_key("/create/k");
	struct store_put o = {.if_rev = STORE_ABSENT};
	struct store_kv cur = {0}, kv = {0};
	struct err e = {0};
	int64_t r1 = 0, r2 = -7;
	int r;

	r = store_put(s, k, "first", 5, &o, &r1, &cur, &e);
	EXPECT(r == 1 && r1 > 0, "create-if-absent of a new key returned %d (%s)", r, e.msg);
	EXPECT(cur.key == NULL, "a successful create filled cur");
	r = store_put(s, k, "second", 6, &o, &r2, &cur, &e);
	EXPECT(r == 0, "create-if-absent of an existing key returned %d (%s)", r, e.msg);
	EXPECT(e.code == 0, "a failed condition recorded an error: %s", e.msg);
	EXPECT(cur.key && !strcmp(cur.key, k) && cur.value_len == 5 &&
		       !memcmp(cur.value, "first", 5) && cur.mod_rev == r1 &&
		       cur.create_rev == r1 && cur.version == 1,
	       "cur is not the key as it is");
	EXPECT(store_get(s, k, &kv, NULL, &e) == 1 && kv.value_len == 5 &&
		       !memcmp(kv.value, "first", 5),
	       "the conflicting create changed the value");
	PASSED();
out:
	store_kv_free(&cur);
	store_kv_free(&kv);
}

static void c_cas(struct store *s, const char *name)
{
	const char *k = st_key("/cas/k"), *absent = st_key("/cas/absent");
	struct store_put o = {.if_rev = 0};
	struct store_kv cur = {0}, kv = {0};
	struct err e = {0};
	int64_t r1 = 0, r2 = 0;
	int r;

	EXPECT(st_put(s, k, "v1", STORE_ANY, 0, &r1) == 1, "put failed");
	o.if_rev = r1;
	r = store_put(s, k, "v2", 2, &o, &r2, &cur, &e);
	EXPECT(r == 1 && r2 == r1 + 1, "CAS at the current mod_rev returned %d (%s)", r, e.msg);
	r = store_put(s, k, "v3", 2, &o, NULL, &cur, &e); /* r1 is stale now */
	EXPECT(r == 0, "CAS at a stale mod_rev returned %d (%s)", r, e.msg);
	EXPECT(cur.key && cur.mod_rev == r2 && cur.version == 2 && cur.value_len == 2 &&
		       !memcmp(cur.value, "v2", 2),
	       "stale CAS: cur is not the key as it is");
	store_kv_free(&cur);
	EXPECT(store_get(s, k, &kv, NULL, &e) == 1 && !strcmp(V(kv.value), "v2"),
	       "a stale CAS changed the value");
	store_kv_free(&kv);
	o.if_rev = r2;
	r = store_put(s, absent, "x", 1, &o, NULL, &cur, &e);
	EXPECT(r == 0 && cur.key == NULL, "CAS on an absent key returned %d (cur %s)", r,
	       cur.key ? "filled" : "empty");
	EXPECT(store_get(s, absent, &kv, NULL, &e) == 0, "CAS on an absent key created it");
	PASSED();
out:
	store_kv_free(&cur);
	store_kv_free(&kv);
}

static void c_delete(struct store *s, const char *name)
{
	const char *k = st_key("/del/k");
	struct store_kv kv = {0};
	struct err e = {0};
	int64_t r1 = 0, r2 = 0, r3 = 0, rd = 0;
	int r;

	EXPECT(st_put(s, k, "a", STORE_ANY, 0, &r1) == 1, "put failed");
	EXPECT(st_put(s, k, "b", STORE_ANY, 0, &r2) == 1, "put failed");
	r = store_delete(s, k, r1, NULL, &e);
	EXPECT(r == 0, "delete at a stale mod_rev returned %d (%s)", r, e.msg);
	EXPECT(store_get(s, k, &kv, NULL, &e) == 1, "a stale conditional delete deleted");
	r = store_delete(s, k, r2, &rd, &e);
	EXPECT(r == 1 && rd == r2 + 1, "delete at the current mod_rev returned %d (%s)", r, e.msg);
	store_kv_free(&kv);
	EXPECT(store_get(s, k, &kv, NULL, &e) == 0, "deleted key still read");
	r = store_delete(s, k, STORE_ANY, NULL, &e);
	EXPECT(r == 0 && e.code == 0, "delete of an absent key returned %d (%s)", r, e.msg);
	r = store_delete(s, k, r2, NULL, &e);
	EXPECT(r == 0 && e.code == 0, "conditional delete of an absent key returned %d", r);
	EXPECT(st_put(s, k, "c", STORE_ANY, 0, &r3) == 1, "put failed");
	r = store_delete(s, k, STORE_ANY, &rd, &e);
	EXPECT(r == 1 && rd == r3 + 1, "unconditional delete returned %d (%s)", r, e.msg);
	PASSED();
out:
	store_kv_free(&kv);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b); /* strcmp: unsigned bytes */
}

/* keys that escaping must keep apart, and that test byte-prefix order */
static const char *const list_keys[] = {
	"/l/a",	      "/l/a/b",	   "/l/a/b/c",	"/l/a/bc",    "/l/a/b0",    "/l/a/b.",
	"/l/a/b+",    "/l/a/b%2F", "/l/a/b%2f", "/l/a/b\x01", "/l/a/b\x7f", "/l/a/b\xc3\xa9",
	"/l/a/b\xff", "/l/a/b/.",  "/l/a/b/..", "/l/a/b//",   "/l/a/b/ x",  "/l/a/a",
	"/l/a/c",     "/l/a/B",	   "/l/a/b~",	"/l/a/b-",
};
#define N_LIST_KEYS (sizeof(list_keys) / sizeof(list_keys[0]))

static void c_list(struct store *s, const char *name)
{
	char *want[N_LIST_KEYS], pre[STORE_KEY_MAX + 1];
	struct store_list l = {0}, sub = {0};
	struct err e = {0};
	size_t nwant = 0, plen;
	int64_t last = 0;
	int r;

	for (size_t i = 0; i < N_LIST_KEYS; i++) {
		const char *k = st_key("%s", list_keys[i]);

		EXPECT(st_put(s, k, k + strlen(st_prefix), STORE_ANY, 0, &last) == 1,
		       "put %zu failed", i);
	}
	snprintf(pre, sizeof(pre), "%s", st_key("/l/a/b"));
	plen = strlen(pre);
	for (size_t i = 0; i < N_LIST_KEYS; i++)
		if (!strncmp(list_keys[i], "/l/a/b", 6))
			want[nwant++] = (char *)list_keys[i];
	qsort(want, nwant, sizeof(want[0]), cmp_str);
	r = store_list(s, pre, NULL, 0, &l, &e);
	EXPECT(r == (int)nwant && l.n == nwant, "listed %d keys, want %zu (%s)", r, nwant, e.msg);
	EXPECT(!l.more, "more set without a limit");
	EXPECT(l.rev == last, "list revision %lld, last write %lld", (long long)l.rev,
	       (long long)last);
	for (size_t i = 0; i < l.n; i++) {
		const char *k = l.kvs[i].key;

		EXPECT(k && !strncmp(k, pre, plen), "key %zu is outside the prefix", i);
		EXPECT(!strcmp(k + strlen(st_prefix), want[i]),
		       "key %zu out of byte order or not expected", i);
		EXPECT(!strcmp(V(l.kvs[i].value), want[i]), "key %zu: wrong value", i);
		EXPECT(l.kvs[i].mod_rev > 0 && l.kvs[i].version == 1, "key %zu: revisions", i);
	}
	snprintf(pre, sizeof(pre), "%s", st_key("/l/a/b/"));
	r = store_list(s, pre, NULL, 0, &sub, &e);
	EXPECT(r == 5, "prefix ending in '/': %d keys, want 5", r);
	store_list_free(&sub);
	r = store_list(s, st_key("/l/nothing"), NULL, 0, &sub, &e);
	EXPECT(r == 0 && sub.n == 0 && sub.rev == last, "an empty prefix listing: %d keys", r);
	PASSED();
out:
	store_list_free(&l);
	store_list_free(&sub);
}

/* a key of STORE_KEY_MAX bytes, most of them escaped by a file-backed store */
static void c_long_key(struct store *s, const char *name)
{
	char key[STORE_KEY_MAX + 1], key2[STORE_KEY_MAX + 1];
	struct store_watch *w = NULL;
	struct store_list l = {0};
	struct err e = {0};
	int64_t r1 = 0, r2 = 0, r3 = 0;
	const char *why;
	size_t n = (size_t)snprintf(key, sizeof(key), "%s/long/", st_prefix);

	for (size_t i = n; i < STORE_KEY_MAX; i++)
		key[i] = (char)(i % 3 ? 0x80 + i % 100 : ' ');
	key[STORE_KEY_MAX] = '\0';
	memcpy(key2, key, sizeof(key));
	key2[STORE_KEY_MAX - 1] = 'z';
	w = store_watch_open(s, st_key("/long/"), 0, &e);
	EXPECT(w, "watch failed: %s", e.msg);
	EXPECT(st_put(s, key, "one", STORE_ANY, 0, &r1) == 1, "put of a %d-byte key failed",
	       STORE_KEY_MAX);
	EXPECT(st_put(s, key2, "two", STORE_ANY, 0, &r2) == 1, "put failed");
	EXPECT(store_list_all(s, st_key("/long/"), 1, &l, &e) == 2, "list in pages of 1: %zu keys",
	       l.n);
	EXPECT(!strcmp(l.kvs[0].key, key) && !strcmp(V(l.kvs[0].value), "one") &&
		       !strcmp(l.kvs[1].key, key2) && !strcmp(V(l.kvs[1].value), "two"),
	       "long keys listed wrong");
	EXPECT(store_delete(s, key, r1, &r3, &e) == 1, "conditional delete failed");
	why = expect_event(w, STORE_EV_PUT, key, r1, "one");
	EXPECT(!why, "%s", why);
	why = expect_event(w, STORE_EV_PUT, key2, r2, "two");
	EXPECT(!why, "%s", why);
	why = expect_event(w, STORE_EV_DELETE, key, r3, NULL);
	EXPECT(!why, "%s", why);
	PASSED();
out:
	store_list_free(&l);
	store_watch_close(w);
}

static bool same_list(const struct store_list *a, const struct store_list *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->kvs[i].key, b->kvs[i].key) ||
		    strcmp(V(a->kvs[i].value), V(b->kvs[i].value)) ||
		    a->kvs[i].mod_rev != b->kvs[i].mod_rev)
			return false;
	return true;
}

static void c_paging(struct store *s, const char *name)
{
	struct store_list full = {0}, page = {0}, all = {0};
	char pre[STORE_KEY_MAX + 1]; /* st_key's buffers are reused by the puts below */
	struct err e = {0};
	char start[STORE_KEY_MAX + 2];
	size_t sizes[] = {1, 3, 0, 25, 7}, seen = 0;
	int r;

	snprintf(pre, sizeof(pre), "%s", st_key("/page/"));

	for (int i = 0; i < 25; i++) {
		char v[16];

		snprintf(v, sizeof(v), "%d", i);
		EXPECT(st_put(s, st_key("/page/k%02d", (i * 7) % 25), v, STORE_ANY, 0, NULL) == 1,
		       "put failed");
	}
	r = store_list(s, pre, NULL, 0, &full, &e);
	EXPECT(r == 25, "full list: %d keys (%s)", r, e.msg);
	r = store_list(s, pre, NULL, 10, &page, &e);
	EXPECT(r == 10 && page.more, "first page of 10: %d keys, more %d", r, page.more);
	for (size_t i = 0; i < 10; i++)
		EXPECT(!strcmp(page.kvs[i].key, full.kvs[i].key), "first page, key %zu", i);
	snprintf(start, sizeof(start), "%s\x01", page.kvs[9].key);
	store_list_free(&page);
	r = store_list(s, pre, start, 10, &page, &e);
	EXPECT(r == 10 && page.more && !strcmp(page.kvs[0].key, full.kvs[10].key),
	       "second page from last key + \\x01: %d keys", r);
	snprintf(start, sizeof(start), "%s\x01", page.kvs[9].key);
	store_list_free(&page);
	r = store_list(s, pre, start, 10, &page, &e);
	EXPECT(r == 5 && !page.more && !strcmp(page.kvs[0].key, full.kvs[20].key),
	       "last page: %d keys, more %d", r, page.more);
	store_list_free(&page);
	r = store_list(s, pre, full.kvs[3].key, 0, &page, &e);
	EXPECT(r == 22 && !strcmp(page.kvs[0].key, full.kvs[3].key),
	       "from a start key (inclusive): %d keys", r);
	store_list_free(&page);
	r = store_list(s, pre, NULL, 25, &page, &e);
	EXPECT(r == 25 && !page.more, "a limit equal to the count: more %d", page.more);
	store_list_free(&page);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		r = store_list_all(s, pre, sizes[i], &all, &e);
		EXPECT(r == 25 && same_list(&all, &full),
		       "store_list_all in pages of %zu: %d keys, differs from one list", sizes[i],
		       r);
		EXPECT(all.rev == full.rev, "store_list_all revision");
		store_list_free(&all);
		seen++;
	}
	PASSED();
out:
	store_list_free(&full);
	store_list_free(&page);
	store_list_free(&all);
}

static int64_t get_ttl(struct store *s, const char *k, int *found)
{
	struct store_kv kv = {0};
	struct err e = {0};
	int64_t ttl;

	*found = store_get(s, k, &kv, NULL, &e);
	ttl = kv.ttl;
	store_kv_free(&kv);
	return ttl;
}

static bool in_list(struct store *s, const char *pre, const char *k)
{
	struct store_list l = {0};
	struct err e = {0};
	bool found = false;

	if (store_list(s, pre, NULL, 0, &l, &e) < 0)
		return true; /* an error is no proof of absence */
	for (size_t i = 0; i < l.n; i++)
		found |= !strcmp(l.kvs[i].key, k);
	store_list_free(&l);
	return found;
}

/* One TTL timeline: k1 (ttl 2) expires; k2 (ttl 4, kept alive each second: a stalled second
 * is no failure) is there past its TTL; k3 (ttl 2, then written again without one) stays. */
static void c_ttl(struct store *s, const char *name)
{
	/* copies: st_rev() in the loop below reuses st_key's buffers */
	char pre[STORE_KEY_MAX + 1], k1[STORE_KEY_MAX + 1], k2[STORE_KEY_MAX + 1],
		k3[STORE_KEY_MAX + 1];
	struct store_kv kv2 = {0}, kv1 = {0};
	struct err e = {0};
	int64_t t0, t, gone = -1, ttl, mod, ver;
	int found, ka = 1;

	snprintf(pre, sizeof(pre), "%s", st_key("/ttl/"));
	snprintf(k1, sizeof(k1), "%s", st_key("/ttl/k1"));
	snprintf(k2, sizeof(k2), "%s", st_key("/ttl/k2"));
	snprintf(k3, sizeof(k3), "%s", st_key("/ttl/k3"));
	EXPECT(st_put(s, k1, "1", STORE_ANY, 2, NULL) == 1, "put with ttl 2 failed");
	t0 = st_now_ms();
	EXPECT(st_put(s, k2, "2", STORE_ANY, 4, NULL) == 1, "put with ttl 4 failed");
	EXPECT(st_put(s, k3, "3", STORE_ANY, 2, NULL) == 1, "put with ttl 2 failed");
	EXPECT(st_put(s, k3, "3", STORE_ANY, 0, NULL) == 1, "put without ttl failed");
	ttl = get_ttl(s, k1, &found);
	EXPECT(found == 1 && ttl >= 1 && ttl <= 2, "ttl-2 key: found %d, ttl %lld", found,
	       (long long)ttl);
	ttl = get_ttl(s, k3, &found);
	EXPECT(found == 1 && ttl == -1, "a key written again without a TTL: ttl %lld",
	       (long long)ttl);
	EXPECT(store_get(s, k1, &kv1, NULL, &e) == 1, "get failed");
	EXPECT(store_get(s, k2, &kv2, NULL, &e) == 1, "get failed");
	for (int64_t last_ka = t0; (t = st_now_ms()) - t0 < 12000;) {
		if (t - last_ka >= 1000) {
			struct store_kv now2 = {0};

			ka = store_keepalive(s, &kv2, &e);
			EXPECT(ka == 1, "keepalive of a live key returned %d (%s)", ka, e.msg);
			EXPECT(store_get(s, k2, &now2, NULL, &e) == 1,
			       "the key kept alive is gone");
			mod = now2.mod_rev;
			ver = now2.version;
			store_kv_free(&now2);
			EXPECT(mod == kv2.mod_rev && ver == kv2.version, "keepalive wrote the key");
			last_ka = t;
		}
		if (gone < 0 && (get_ttl(s, k1, &found), found == 0))
			gone = t - t0;
		if (gone >= 0 && t - t0 >= 6500)
			break;
		usleep(200 * 1000);
	}
	EXPECT(gone >= 1000 && gone <= 10000, "ttl-2 key gone after %lld ms", (long long)gone);
	EXPECT(!in_list(s, pre, k1), "an expired key is listed");
	EXPECT(store_keepalive(s, &kv1, &e) == 0, "keepalive of an expired key did not return 0");
	get_ttl(s, k2, &found);
	EXPECT(found == 1 && in_list(s, pre, k2), "a key kept alive expired (after %lld ms)",
	       (long long)(st_now_ms() - t0));
	get_ttl(s, k3, &found);
	EXPECT(found == 1, "a key written again without a TTL expired");
	/* without keepalives k2 goes too */
	t0 = st_now_ms();
	do {
		usleep(200 * 1000);
		get_ttl(s, k2, &found);
	} while (found == 1 && st_now_ms() - t0 < 10000);
	EXPECT(found == 0, "the key no longer kept alive did not expire");
	PASSED();
out:
	store_kv_free(&kv1);
	store_kv_free(&kv2);
}

/* the next event of w, polling its descriptor alone (timeout_ms not honoured: a caller whose
 * loop only polls descriptors) */
static int fd_only_event(struct store_watch *w, struct store_event *ev, int timeout_ms)
{
	int64_t t0 = st_now_ms();
	struct err e = {0};

	for (;;) {
		struct pollfd p = {.fd = store_watch_fd(w), .events = POLLIN};
		int r = store_watch_next(w, ev, NULL, &e), left;

		if (r != 0)
			return r;
		left = timeout_ms - (int)(st_now_ms() - t0);
		if (left <= 0 || poll(&p, 1, left) == 0)
			return 0; /* never a last call after the timeout: it would reap by itself */
	}
}

/* nothing but watches run: the expiry still reaches them as a DELETE, both the one that is
 * called when it asks (timeout_ms) and the one that only polls its descriptor */
static void c_ttl_watch(struct store *s, const char *name)
{
	const char *k = st_key("/ttlw/k");
	struct store_watch *w = NULL, *w2 = NULL;
	struct store_event ev = {0};
	struct err e = {0};
	int64_t t0, rev = 0, del;
	int r;

	w = store_watch_open(s, st_key("/ttlw/"), 0, &e);
	w2 = store_watch_open(s, st_key("/ttlw/"), 0, &e);
	EXPECT(w && w2, "watch open failed: %s", e.msg);
	EXPECT(st_put(s, k, "x", STORE_ANY, 1, &rev) == 1, "put failed");
	t0 = st_now_ms();
	r = fd_only_event(w2, &ev, 5000);
	EXPECT(r == 1 && ev.type == STORE_EV_PUT && ev.kv.mod_rev == rev, "the PUT event: %d", r);
	store_event_free(&ev);
	r = fd_only_event(w2, &ev, 10000);
	EXPECT(r == 1 && ev.type == STORE_EV_DELETE && ev.kv.key && !strcmp(ev.kv.key, k),
	       "polling the watch's descriptor alone: no DELETE event for an expired key within 10 s (%d)",
	       r);
	EXPECT(ev.kv.mod_rev > rev, "the expiry's DELETE at revision %lld, the put at %lld",
	       (long long)ev.kv.mod_rev, (long long)rev);
	EXPECT(st_now_ms() - t0 >= 500, "the DELETE came after %lld ms of a 1 s TTL",
	       (long long)(st_now_ms() - t0));
	del = ev.kv.mod_rev;
	store_event_free(&ev);
	r = st_wait_event(w, &ev, 5000);
	EXPECT(r == 1 && ev.type == STORE_EV_PUT && ev.kv.mod_rev == rev, "the PUT event: %d", r);
	store_event_free(&ev);
	r = st_wait_event(w, &ev, 10000);
	EXPECT(r == 1 && ev.type == STORE_EV_DELETE && ev.kv.mod_rev == del,
	       "store_watch_wait: no DELETE event for an expired key (%d)", r);
	PASSED();
out:
	store_event_free(&ev);
	store_watch_close(w);
	store_watch_close(w2);
}

/* waits for the next event and checks its type, key (under st_prefix) and mod_rev */
static const char *expect_event(struct store_watch *w, int type, const char *key, int64_t rev,
				const char *value)
{
	static char why[160];
	struct store_event ev = {0};
	int r = st_wait_event(w, &ev, 5000);

	why[0] = '\0';
	if (r != 1)
		snprintf(why, sizeof(why), "no event within 5 s (%d), want the one at %lld", r,
			 (long long)rev);
	else if ((int)ev.type != type || !ev.kv.key || strcmp(ev.kv.key, key))
		snprintf(why, sizeof(why), "event type %d (key %s), want %d at %lld", ev.type,
			 ev.kv.key && !strcmp(ev.kv.key, key) ? "expected" : "other", type,
			 (long long)rev);
	else if (ev.kv.mod_rev != rev)
		snprintf(why, sizeof(why), "event at revision %lld, want %lld",
			 (long long)ev.kv.mod_rev, (long long)rev);
	else if (value && (!ev.kv.value || strcmp(V(ev.kv.value), value)))
		snprintf(why, sizeof(why), "event at %lld: wrong value", (long long)rev);
	else if (store_watch_rev(w) < rev)
		snprintf(why, sizeof(why), "store_watch_rev %lld after the event at %lld",
			 (long long)store_watch_rev(w), (long long)rev);
	store_event_free(&ev);
	return why[0] ? why : NULL;
}

static void c_watch_history(struct store *s, const char *name)
{
	const char *a = st_key("/w/a"), *b = st_key("/w/b"), *other = st_key("/wx");
	struct store_watch *w = NULL;
	struct err e = {0};
	int64_t r1 = 0, r2 = 0, r3 = 0, r4 = 0, r5 = 0, r6 = 0;
	const char *why;
	int fd;

	EXPECT(st_put(s, a, "a1", STORE_ANY, 0, &r1) == 1, "put failed");
	EXPECT(st_put(s, other, "o", STORE_ANY, 0, NULL) == 1, "put failed");
	EXPECT(st_put(s, b, "b1", STORE_ANY, 0, &r2) == 1, "put failed");
	EXPECT(st_put(s, a, "a2", STORE_ANY, 0, &r3) == 1, "put failed");
	w = store_watch_open(s, st_key("/w/"), r1, &e);
	EXPECT(w, "watch open failed: %s", e.msg);
	fd = store_watch_fd(w);
	EXPECT(fd >= 0, "no watch fd");
	why = expect_event(w, STORE_EV_PUT, a, r1, "a1");
	EXPECT(!why, "history 1: %s", why);
	why = expect_event(w, STORE_EV_PUT, b, r2, "b1");
	EXPECT(!why, "history 2: %s", why);
	why = expect_event(w, STORE_EV_PUT, a, r3, "a2");
	EXPECT(!why, "history 3: %s", why);
	EXPECT(st_put(s, other, "o2", STORE_ANY, 0, NULL) == 1, "put failed");
	EXPECT(st_put(s, b, "b2", STORE_ANY, 0, &r4) == 1, "put failed");
	why = expect_event(w, STORE_EV_PUT, b, r4, "b2");
	EXPECT(!why, "live put (after a put under another prefix): %s", why);
	EXPECT(store_delete(s, a, STORE_ANY, &r5, &e) == 1, "delete failed");
	why = expect_event(w, STORE_EV_DELETE, a, r5, NULL);
	EXPECT(!why, "live delete: %s", why);
	EXPECT(st_put(s, a, "a3", STORE_ABSENT, 0, &r6) == 1, "put failed");
	why = expect_event(w, STORE_EV_PUT, a, r6, "a3");
	EXPECT(!why, "re-create: %s", why);
	EXPECT(store_watch_fd(w) == fd, "the watch fd changed");
	PASSED();
out:
	store_watch_close(w);
}

static void c_watch_now(struct store *s, const char *name)
{
	const char *k = st_key("/wn/k");
	struct store_watch *w = NULL;
	struct store_event ev = {0};
	struct err e = {0};
	int64_t r1 = 0;
	const char *why;
	int r;

	EXPECT(st_put(s, k, "old", STORE_ANY, 0, NULL) == 1, "put failed");
	w = store_watch_open(s, st_key("/wn/"), 0, &e);
	EXPECT(w, "watch open failed: %s", e.msg);
	r = st_wait_event(w, &ev, 300);
	EXPECT(r == 0, "a watch from now delivered history (%d)", r);
	EXPECT(st_put(s, k, "new", STORE_ANY, 0, &r1) == 1, "put failed");
	why = expect_event(w, STORE_EV_PUT, k, r1, "new");
	EXPECT(!why, "%s", why);
	r = st_wait_event(w, &ev, 300);
	EXPECT(r == 0, "an extra event (%d)", r);
	PASSED();
out:
	store_event_free(&ev);
	store_watch_close(w);
}

static void c_compact(struct store *s, const char *name)
{
	const char *k = st_key("/cmp/k");
	struct store_watch *w = NULL;
	struct store_event ev = {0};
	struct err e = {0};
	int64_t r1 = 0, r2 = 0, r3 = 0;
	const char *why;
	int r;

	EXPECT(st_put(s, k, "1", STORE_ANY, 0, &r1) == 1, "put failed");
	EXPECT(st_put(s, k, "2", STORE_ANY, 0, &r2) == 1, "put failed");
	EXPECT(st_put(s, k, "3", STORE_ANY, 0, &r3) == 1, "put failed");
	r = store_compact(s, r3, &e);
	EXPECT(r == 0, "compact returned %d (%s)", r, e.msg);
	w = store_watch_open(s, st_key("/cmp/"), r1, &e);
	if (w) {
		r = st_wait_event(w, &ev, 5000);
		EXPECT(r == -ESTALE, "a watch from a compacted revision returned %d, want -ESTALE",
		       r);
		store_watch_close(w);
	}
	w = store_watch_open(s, st_key("/cmp/"), r3, &e);
	EXPECT(w, "watch from the compaction revision failed: %s", e.msg);
	why = expect_event(w, STORE_EV_PUT, k, r3, "3");
	EXPECT(!why, "watch from the compaction revision: %s", why);
	PASSED();
out:
	store_event_free(&ev);
	store_watch_close(w);
}

/* children start together: each blocks reading go[0] until the parent closes go[1] */
struct race {
	int go[2], out[2];
	pid_t pids[16];
	int n;
};

static int race_start(struct race *rc, int n, void (*child)(int i, int out))
{
	memset(rc, 0, sizeof(*rc));
	if (pipe(rc->go) < 0 || pipe(rc->out) < 0)
		return -errno;
	fflush(stdout);
	for (rc->n = 0; rc->n < n; rc->n++) {
		pid_t p = fork();
		char c;

		if (p < 0)
			return -errno;
		if (p == 0) {
			close(rc->go[1]);
			close(rc->out[0]);
			if (read(rc->go[0], &c, 1) < 0)
				_exit(3);
			child(rc->n, rc->out[1]);
			_exit(0);
		}
		rc->pids[rc->n] = p;
	}
	close(rc->go[0]);
	close(rc->out[1]);
	close(rc->go[1]); /* go */
	return 0;
}

/* reads every child's lines into buf, reaps them; returns how many exited 0 */
static int race_end(struct race *rc, char *buf, size_t size)
{
	size_t n = 0;
	ssize_t k;
	int ok = 0, st;

	while (n + 1 < size && (k = read(rc->out[0], buf + n, size - 1 - n)) > 0)
		n += (size_t)k;
	buf[n] = '\0';
	close(rc->out[0]);
	for (int i = 0; i < rc->n; i++)
		if (waitpid(rc->pids[i], &st, 0) > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0)
			ok++;
	return ok;
}

static void race_create_child(int i, int out)
{
	struct store_put o = {.if_rev = STORE_ABSENT};
	struct store_kv cur = {0};
	struct err e = {0};
	struct store *s = store_open(st_url, &e);
	char v[32], line[128];
	int r;

	if (!s)
		_exit(1);
	snprintf(v, sizeof(v), "child-%d", i);
	r = store_put(s, st_key("/race/one"), v, strlen(v), &o, NULL, &cur, &e);
	snprintf(line, sizeof(line), "%d %s %s\n", r, v, cur.value ? cur.value : "-");
	if (write(out, line, strlen(line)) < 0)
		_exit(1);
	store_kv_free(&cur);
	store_close(s);
}

static void c_race_create(struct store *s, const char *name)
{
	struct race rc;
	char buf[4096], winner[32] = "", *save = NULL;
	struct store_kv kv = {0};
	struct err e = {0};
	int wins = 0, losses = 0, ok;

	EXPECT(race_start(&rc, 8, race_create_child) == 0, "fork failed");
	ok = race_end(&rc, buf, sizeof(buf));
	EXPECT(ok == 8, "%d of 8 children failed", 8 - ok);
	EXPECT(store_get(s, st_key("/race/one"), &kv, NULL, &e) == 1, "the key is absent");
	snprintf(winner, sizeof(winner), "%s", V(kv.value));
	for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		int r;
		char v[32], cur[32];

		EXPECT(sscanf(l, "%d %31s %31s", &r, v, cur) == 3, "bad child line");
		if (r == 1) {
			wins++;
			EXPECT(!strcmp(v, winner), "the winner's value is not stored");
		} else {
			losses++;
			EXPECT(r == 0, "a loser got %d", r);
			EXPECT(!strcmp(cur, winner), "a loser saw %s, the winner wrote %s", cur,
			       winner);
		}
	}
	EXPECT(wins == 1 && losses == 7, "%d won, %d lost", wins, losses);
	PASSED();
out:
	store_kv_free(&kv);
}

#define RACE_PUTS 20
static void race_puts_child(int i, int out)
{
	struct err e = {0};
	struct store *s = store_open(st_url, &e);
	char line[64];

	if (!s)
		_exit(1);
	for (int j = 0; j < RACE_PUTS; j++) {
		int64_t rev = 0;
		char v[32];

		snprintf(v, sizeof(v), "%d-%d", i, j);
		if (store_put(s, st_key("/racep/%d-%02d", i, j), v, strlen(v), NULL, &rev, NULL,
			      &e) != 1)
			_exit(1);
		snprintf(line, sizeof(line), "%lld\n", (long long)rev);
		if (write(out, line, strlen(line)) < 0)
			_exit(1);
	}
	store_close(s);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static void c_race_puts(struct store *s, const char *name)
{
	enum { N = 6 };
	struct race rc;
	char buf[8192], *save = NULL;
	int64_t revs[N * RACE_PUTS], r0 = st_rev(s);
	struct store_list l = {0};
	struct err e = {0};
	int n = 0, ok;

	EXPECT(race_start(&rc, N, race_puts_child) == 0, "fork failed");
	ok = race_end(&rc, buf, sizeof(buf));
	EXPECT(ok == N, "%d of %d writers failed", N - ok, N);
	for (char *t = strtok_r(buf, "\n", &save); t && n < N * RACE_PUTS;
	     t = strtok_r(NULL, "\n", &save))
		revs[n++] = strtoll(t, NULL, 10);
	EXPECT(n == N * RACE_PUTS, "%d revisions reported", n);
	qsort(revs, n, sizeof(revs[0]), cmp_i64);
	for (int i = 0; i < n; i++)
		EXPECT(revs[i] == r0 + 1 + i, "revisions are not unique and consecutive");
	EXPECT(store_list(s, st_key("/racep/"), NULL, 0, &l, &e) == N * RACE_PUTS,
	       "%zu keys landed", l.n);
	for (size_t i = 0; i < l.n; i++) {
		int a, b;
		char v[32];

		EXPECT(sscanf(l.kvs[i].key + strlen(st_key("/racep/")), "%d-%d", &a, &b) == 2,
		       "bad key");
		snprintf(v, sizeof(v), "%d-%d", a, b);
		EXPECT(!strcmp(V(l.kvs[i].value), v), "a key holds another writer's value");
	}
	PASSED();
out:
	store_list_free(&l);
}

static void watch_child(int i, int out)
{
	struct err e = {0};
	struct store *s = store_open(st_url, &e);

	if (!s || st_put(s, st_key("/wp/from-child"), "hello", STORE_ANY, 0, NULL) != 1)
		_exit(1);
	store_close(s);
}

static void c_watch_process(struct store *s, const char *name)
{
	struct store_watch *w = NULL;
	struct store_event ev = {0};
	struct err e = {0};
	struct race rc;
	char buf[64];
	int r;

	w = store_watch_open(s, st_key("/wp/"), 0, &e);
	EXPECT(w, "watch open failed: %s", e.msg);
	EXPECT(race_start(&rc, 1, watch_child) == 0, "fork failed");
	EXPECT(race_end(&rc, buf, sizeof(buf)) == 1, "the writer failed");
	r = st_wait_event(w, &ev, 5000);
	EXPECT(r == 1 && ev.type == STORE_EV_PUT && !strcmp(ev.kv.key, st_key("/wp/from-child")) &&
		       !strcmp(V(ev.kv.value), "hello"),
	       "another process's put not seen (%d)", r);
	PASSED();
out:
	store_event_free(&ev);
	store_watch_close(w);
}

static bool leaks(const struct err *e, const char *secret)
{
	return strstr(e->msg, secret) || strstr(e->details, secret);
}

static void c_errors(struct store *s, const char *name)
{
	char *big = NULL, longkey[STORE_KEY_MAX + 64];
	const char *k = st_key("/s3cr3t-token");
	struct store_kv kv = {0};
	struct err e = {0};
	size_t n = STORE_VALUE_MAX + 1;
	int r;

	big = malloc(n);
	EXPECT(big, "out of memory");
	memset(big, 'S', n);
	memcpy(big, "s3cr3t-value", 12);
	r = store_put(s, k, big, n, NULL, NULL, NULL, &e);
	EXPECT(r < 0 && e.code, "a value over STORE_VALUE_MAX: %d", r);
	EXPECT(!leaks(&e, "s3cr3t"), "the error names the key or value: %s", e.msg);
	memset(&e, 0, sizeof(e));
	snprintf(longkey, sizeof(longkey), "%s", st_prefix);
	/* 11 letters a step: the NUL each copy ends with is overwritten by the next */
	for (size_t i = strlen(longkey); i < STORE_KEY_MAX + 10; i += 11)
		memcpy(longkey + i, "/s3cr3t-tok", 12);
	r = store_get(s, longkey, &kv, NULL, &e);
	EXPECT(r < 0 && e.code, "a key over STORE_KEY_MAX: get returned %d", r);
	EXPECT(!leaks(&e, "s3cr3t"), "the error names the key: %s", e.msg);
	memset(&e, 0, sizeof(e));
	r = store_put(s, "s3cr3t-relative", "x", 1, NULL, NULL, NULL, &e);
	EXPECT(r < 0 && e.code, "a key without a leading '/': put returned %d", r);
	EXPECT(!leaks(&e, "s3cr3t"), "the error names the key: %s", e.msg);
	memset(&e, 0, sizeof(e));
	r = store_delete(s, "", STORE_ANY, NULL, &e);
	EXPECT(r < 0 && e.code, "an empty key: delete returned %d", r);
	PASSED();
out:
	free(big);
	store_kv_free(&kv);
}

/* Checks of the front (store/store.c), the same for every backend */
static void c_prefix_front(struct store *s, const char *name)
{
	static const char *const bad[] = {"", "s3cr3t/"};
	static const char want_list[] =
		"store list: a prefix must start with '/' (\"/\" for every key)",
			  want_watch[] =
				  "store watch: a prefix must start with '/' (\"/\" for every key)";
	struct store_list l = {0};
	struct store_watch *w;
	struct err e = {0};
	int r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		r = store_list(s, bad[i], NULL, 0, &l, &e);
		EXPECT(r == -EINVAL && e.code == CNI_ERR_CONFIG && !strcmp(e.msg, want_list),
		       "list of prefix #%zu: %d %d '%s'", i, r, e.code, e.msg);
		store_list_free(&l);
		memset(&e, 0, sizeof(e));
		r = store_list_all(s, bad[i], 1, &l, &e);
		EXPECT(r == -EINVAL && e.code == CNI_ERR_CONFIG && !strcmp(e.msg, want_list),
		       "list_all of prefix #%zu: %d %d '%s'", i, r, e.code, e.msg);
		store_list_free(&l);
		memset(&e, 0, sizeof(e));
		w = store_watch_open(s, bad[i], 0, &e);
		if (w)
			store_watch_close(w);
		EXPECT(!w && e.code == CNI_ERR_CONFIG && !strcmp(e.msg, want_watch),
		       "watch of prefix #%zu: %s %d '%s'", i, w ? "opened" : "refused", e.code,
		       e.msg);
		memset(&e, 0, sizeof(e));
		w = store_watch_open(s, bad[i], 1, &e);
		if (w)
			store_watch_close(w);
		EXPECT(!w && e.code == CNI_ERR_CONFIG && !strcmp(e.msg, want_watch),
		       "watch of prefix #%zu from rev 1: %s %d '%s'", i, w ? "opened" : "refused",
		       e.code, e.msg);
		memset(&e, 0, sizeof(e));
	}
	PASSED();
out:
	store_list_free(&l);
}

/* A list fills a key's TTL where it costs nothing (dir: its file's expiry) and leaves an
 * etcd lease's STORE_TTL_UNKNOWN (a timetolive each made a list of leased keys 100 times
 * slower); store_ttl then looks it up; get is exact */
static void c_list_ttl(struct store *s, const char *name)
{
	const char *pre = st_key("/listttl/"), *lk = st_key("/listttl/leased"),
		   *pk = st_key("/listttl/plain");
	bool etcd = !strncmp(store_url(s), "etcd", 4);
	struct store_list l = {0};
	struct store_kv kv = {0};
	struct err e = {0};
	int r;

	EXPECT(st_put(s, lk, "l", STORE_ANY, 60, NULL) == 1, "put with ttl 60 failed");
	EXPECT(st_put(s, pk, "p", STORE_ANY, 0, NULL) == 1, "put without ttl failed");
	r = store_list(s, pre, NULL, 0, &l, &e);
	EXPECT(r == 2 && !strcmp(l.kvs[0].key, lk) && !strcmp(l.kvs[1].key, pk),
	       "list: %d keys (%s)", r, e.msg);
	EXPECT(etcd ? l.kvs[0].ttl == STORE_TTL_UNKNOWN : l.kvs[0].ttl >= 59 && l.kvs[0].ttl <= 60,
	       "%s list: a leased key's ttl %lld", etcd ? "etcd" : "dir", (long long)l.kvs[0].ttl);
	EXPECT(l.kvs[1].ttl == -1, "list: ttl %lld without a TTL", (long long)l.kvs[1].ttl);
	EXPECT(store_ttl(s, &l.kvs[0], &e) == 0 && l.kvs[0].ttl >= 59 && l.kvs[0].ttl <= 60,
	       "store_ttl after a list: ttl %lld (%s)", (long long)l.kvs[0].ttl, e.msg);
	EXPECT(store_ttl(s, &l.kvs[1], &e) == 0 && l.kvs[1].ttl == -1,
	       "store_ttl of a key without a TTL: %lld", (long long)l.kvs[1].ttl);
	r = store_get(s, lk, &kv, NULL, &e);
	EXPECT(r == 1 && kv.ttl >= 59 && kv.ttl <= 60, "get: %d, ttl %lld (%s)", r,
	       (long long)kv.ttl, e.msg);
	store_kv_free(&kv);
	/* listed, then gone: its lease went with it (etcd revokes a deleted key's lease) */
	store_list_free(&l);
	r = store_list(s, pre, NULL, 0, &l, &e);
	EXPECT(r == 2, "list again: %d (%s)", r, e.msg);
	EXPECT(store_delete(s, lk, STORE_ANY, NULL, &e) == 1, "delete: %s", e.msg);
	r = store_ttl(s, &l.kvs[0], &e);
	EXPECT(r == 0 && (etcd ? l.kvs[0].ttl == 0 : l.kvs[0].ttl >= 59),
	       "store_ttl of a deleted key: %d, ttl %lld (%s)", r, (long long)l.kvs[0].ttl, e.msg);
	PASSED();
out:
	store_list_free(&l);
	store_kv_free(&kv);
}

static void c_ttl_range(struct store *s, const char *name)
{
	static const int64_t bad[] = {-1, 9000000001LL, 10000000000000LL, INT64_MAX};
	const char *k = st_key("/ttlrange");
	struct store_kv kv = {0};
	struct err e = {0};
	char want[128];
	int r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		struct store_put o = {.if_rev = STORE_ANY, .ttl = bad[i]};

		r = store_put(s, k, "x", 1, &o, NULL, NULL, &e);
		snprintf(want, sizeof(want),
			 "store put: ttl %lld out of range (0 to 9000000000 seconds)",
			 (long long)bad[i]);
		EXPECT(r == -EINVAL && e.code == CNI_ERR_CONFIG && !strcmp(e.msg, want),
		       "ttl %lld: %d %d '%s'", (long long)bad[i], r, e.code, e.msg);
		memset(&e, 0, sizeof(e));
	}
	/* nothing was written, and the store still works (a list, a put without TTL) */
	r = store_get(s, k, &kv, NULL, &e);
	EXPECT(r == 0, "a refused put wrote the key: get returned %d %s", r, e.msg);
	EXPECT(st_put(s, k, "ok", STORE_ANY, 0, NULL) == 1, "a put after the refused ones failed");
	r = store_get(s, k, &kv, NULL, &e);
	EXPECT(r == 1 && !strcmp(kv.value, "ok"), "get after: %d %s", r, e.msg);
	store_kv_free(&kv);
	/* the bound itself is a TTL both backends take */
	EXPECT(st_put(s, k, "max", STORE_ANY, 9000000000LL, NULL) == 1, "a put of ttl 9000000000");
	r = store_get(s, k, &kv, NULL, &e);
	EXPECT(r == 1 && !strcmp(kv.value, "max") && kv.ttl > 8999990000LL &&
		       kv.ttl <= 9000000000LL,
	       "get after ttl 9000000000: %d ttl %lld %s", r, (long long)kv.ttl, e.msg);
	PASSED();
out:
	store_kv_free(&kv);
}

static const struct check {
	const char *name;
	void (*fn)(struct store *s, const char *name);
} checks[] = {
	{"get-absent", c_get_absent}, {"put-get", c_put_get},
	{"values", c_values},	      {"revisions", c_revisions},
	{"versions", c_versions},     {"create-if-absent", c_create},
	{"compare-and-swap", c_cas},  {"delete", c_delete},
	{"list-prefix", c_list},      {"list-paging", c_paging},
	{"long-key", c_long_key},     {"watch-history", c_watch_history},
	{"watch-now", c_watch_now},   {"watch-other-process", c_watch_process},
	{"compact", c_compact},	      {"race-create", c_race_create},
	{"race-puts", c_race_puts},   {"errors", c_errors},
	{"ttl-watch", c_ttl_watch},   {"ttl", c_ttl},
	{"prefix-front", c_prefix_front}, {"ttl-range", c_ttl_range},
	{"list-ttl", c_list_ttl},
};

/* removes what the suite wrote, so that a shared etcd keeps nothing of it */
static void cleanup(struct store *s)
{
	struct store_list l = {0};
	struct err e = {0};

	if (store_list(s, st_prefix, NULL, 0, &l, &e) < 0)
		return;
	for (size_t i = 0; i < l.n; i++)
		store_delete(s, l.kvs[i].key, STORE_ANY, NULL, &e);
	store_list_free(&l);
}

static bool wanted(int argc, char **argv, const char *name, const char *group)
{
	if (argc < 3)
		return true;
	for (int i = 2; i < argc; i++)
		if (!strcmp(argv[i], name) || !strcmp(argv[i], group))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	struct err e = {0};
	struct store *s;

	if (argc < 2 || !strcmp(argv[1], "--help")) {
		fprintf(stderr, "usage: storetest URL [CHECK|GROUP...]\n");
		return 2;
	}
	st_url = argv[1];
	scheme = !strncmp(st_url, "dir://", 6) ? "dir" : "etcd";
	snprintf(st_prefix, sizeof(st_prefix), "/storetest/%d-%lld", (int)getpid(),
		 (long long)time(NULL));
	signal(SIGPIPE, SIG_IGN);
	s = store_open(st_url, &e);
	if (!s) {
		printf("FAIL store-%s:open %s\n", scheme, e.msg);
		return 2;
	}
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
		if (wanted(argc, argv, checks[i].name, "all"))
			checks[i].fn(s, checks[i].name);
	if (!strcmp(scheme, "dir"))
		st_dir_checks(s, st_url + 6, argc, argv);
	cleanup(s);
	store_close(s);
	for (size_t i = 0; i < st_nkeys; i++)
		free(st_keys[i]);
	free(st_keys);
	return failures ? 1 : 0;
}

/* ---- the dir group: what only the dir:// backend promises ---- */

static char dir_path[4096];

/* a sibling directory of the store under test: PATH-<what> */
static const char *sibling(const char *what)
{
	static char b[8][4200];
	static int i;
	char *p = b[i++ % 8];

	snprintf(p, sizeof(b[0]), "%s-%s", dir_path, what);
	return p;
}

static struct store *open_path(const char *path)
{
	char url[4200];
	struct err e = {0};
	struct store *s;

	snprintf(url, sizeof(url), "dir://%s", path);
	s = store_open(url, &e);
	if (!s)
		fprintf(stderr, "storetest: %s\n", e.msg);
	return s;
}

static int bad_modes;
static char bad_mode_path[4200];

static int mode_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	mode_t want = S_ISDIR(st->st_mode) ? 0700 : 0600;

	if ((st->st_mode & 07777) != want) {
		bad_modes++;
		snprintf(bad_mode_path, sizeof(bad_mode_path), "%s is %o", p, st->st_mode & 07777);
	}
	return 0;
}

/* one store made under umask u, its modes checked */
static const char *modes_under(mode_t u)
{
	static char why[4400];
	struct store_watch *w = NULL;
	struct store *s = NULL;
	struct err e = {0};
	mode_t old = umask(u);
	char top[64], sub[80];
	int64_t rev = 0;

	snprintf(top, sizeof(top), "modes-%03o", (unsigned)u);
	snprintf(sub, sizeof(sub), "%s/a/b", top);
	why[0] = '\0';
	s = open_path(sibling(sub));
	if (!s || st_put(s, "/k", "v", STORE_ANY, 1, &rev) != 1 ||
	    st_put(s, "/k", "v2", STORE_ANY, 0, NULL) != 1 || store_compact(s, rev + 1, &e) ||
	    !(w = store_watch_open(s, "/", 0, &e)))
		snprintf(why, sizeof(why), "umask %03o: open, put, compact or watch failed",
			 (unsigned)u);
	umask(old);
	bad_modes = 0;
	if (!why[0])
		nftw(sibling(top), mode_cb, 16, FTW_PHYS);
	if (bad_modes)
		snprintf(why, sizeof(why), "umask %03o: %d wrong modes (%s)", (unsigned)u,
			 bad_modes, bad_mode_path);
	store_watch_close(w);
	store_close(s);
	return why[0] ? why : NULL;
}

static void d_modes(struct store *s0, const char *name)
{
	const char *why;

	why = modes_under(0);
	EXPECT(!why, "%s", why);
	why = modes_under(0277);
	EXPECT(!why, "%s", why);
	bad_modes = 0;
	nftw(dir_path, mode_cb, 16, FTW_PHYS);
	EXPECT(!bad_modes, "the store under test: %d wrong modes (%s)", bad_modes, bad_mode_path);
	PASSED();
out:;
}

/* a writer rewrites a large value while readers check every one they read is whole */
static void d_torn(struct store *s, const char *name)
{
	const char *k = st_key("/torn/k"), *pre = st_key("/torn/");
	size_t sizes[2] = {300 * 1024, 200 * 1024 + 7};
	char *buf = malloc(sizes[0]);
	int reads = 0, torn = 0, st = 0;
	int64_t t0;
	pid_t p;

	EXPECT(buf, "out of memory");
	memset(buf, 'a', sizes[0]);
	EXPECT(store_put(s, k, buf, sizes[0], NULL, NULL, NULL, &(struct err){0}) == 1,
	       "put failed");
	fflush(stdout);
	t0 = st_now_ms();
	p = fork();
	EXPECT(p >= 0, "fork failed");
	if (p == 0) {
		struct store *ws = store_open(st_url, &(struct err){0});

		for (int i = 0; ws && st_now_ms() - t0 < 2000; i++) {
			memset(buf, i % 2 ? 'b' : 'a', sizes[i % 2]);
			if (store_put(ws, k, buf, sizes[i % 2], NULL, NULL, NULL,
				      &(struct err){0}) != 1)
				_exit(1);
		}
		_exit(ws ? 0 : 1);
	}
	while (waitpid(p, &st, WNOHANG) == 0 && st_now_ms() - t0 < 20000) {
		struct store_kv kv = {0};
		struct store_list l = {0};
		struct err e = {0};

		if (store_get(s, k, &kv, NULL, &e) == 1) {
			char c = kv.value[0];
			size_t want = c == 'a' ? sizes[0] : sizes[1];

			reads++;
			if (kv.value_len != want || memchr(kv.value, c == 'a' ? 'b' : 'a', want))
				torn++;
		} else {
			torn++;
		}
		store_kv_free(&kv);
		if (store_list(s, pre, NULL, 0, &l, &e) == 1) {
			char c = l.kvs[0].value[0];
			size_t want = c == 'a' ? sizes[0] : sizes[1];

			reads++;
			if (l.kvs[0].value_len != want ||
			    memchr(l.kvs[0].value, c == 'a' ? 'b' : 'a', want))
				torn++;
		} else {
			torn++;
		}
		store_list_free(&l);
	}
	EXPECT(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the writer failed");
	EXPECT(reads >= 20 && !torn, "%d of %d reads saw a torn or missing value", torn, reads);
	fprintf(stderr, "storetest: dir-torn: %d reads\n", reads);
	PASSED();
out:
	free(buf);
}

/* the suite's own writes, bypassing the backend: what a writer that died leaves */
static int append_file(const char *path, const void *b, size_t n)
{
	int fd = open(path, O_WRONLY | O_APPEND);
	int r = fd >= 0 && write(fd, b, n) == (ssize_t)n ? 0 : -1;

	if (fd >= 0)
		close(fd);
	return r;
}

static int write_file(const char *path, const void *b, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int r = fd >= 0 && write(fd, b, n) == (ssize_t)n ? 0 : -1;

	if (fd >= 0)
		close(fd);
	return r;
}

static void d_leftovers(struct store *s0, const char *name)
{
	struct store *s = open_path(sibling("crash"));
	struct store_watch *w = NULL;
	struct store_list l = {0};
	struct dir_hdr h = {.op = DIR_PUT, .version = 1, .len = 8};
	char p[4300], line[DIR_HDR_MAX];
	int64_t r1 = 0, r2 = 0, r3 = 0;
	const char *why;
	struct err e = {0};
	int n;

	EXPECT(s, "open failed");
	EXPECT(st_put(s, "/a", "a1", STORE_ANY, 0, &r1) == 1, "put failed");
	/* a temporary file, stray names, a record logged but never applied (the writer died
	 * after its append), then half a record (it died in the middle of the next) */
	snprintf(p, sizeof(p), "%s/tmp/w.99999", sibling("crash"));
	EXPECT(!write_file(p, "junk", 4), "cannot write %s", p);
	snprintf(p, sizeof(p), "%s/keys/.w.123", sibling("crash"));
	EXPECT(!write_file(p, "junk", 4), "cannot write %s", p);
	snprintf(p, sizeof(p), "%s/keys/notakey", sibling("crash"));
	EXPECT(!write_file(p, "junk", 4), "cannot write %s", p);
	snprintf(h.key, sizeof(h.key), "/replayed");
	h.create_rev = h.mod_rev = r1 + 1;
	n = dir_hdr_format(&h, line, sizeof(line));
	snprintf(p, sizeof(p), "%s/log", sibling("crash"));
	EXPECT(n > 0 && !append_file(p, line, n) && !append_file(p, "replayed\n", 9),
	       "cannot append to the log");
	EXPECT(!append_file(p, line, n / 2), "cannot append to the log");
	EXPECT(store_list(s, "/", NULL, 0, &l, &e) == 1 && !strcmp(l.kvs[0].key, "/a"),
	       "leftovers listed (%zu keys)", l.n);
	EXPECT(st_put(s, "/b", "b1", STORE_ANY, 0, &r3) == 1, "the next put failed");
	EXPECT(r3 == r1 + 2, "the next put at %lld, the logged record at %lld", (long long)r3,
	       (long long)(r1 + 1));
	store_list_free(&l);
	EXPECT(store_list(s, "/", NULL, 0, &l, &e) == 3 && !strcmp(l.kvs[2].key, "/replayed") &&
		       !strcmp(V(l.kvs[2].value), "replayed") && l.kvs[2].mod_rev == r1 + 1,
	       "the logged record was not replayed (%zu keys)", l.n);
	w = store_watch_open(s, "/", r1, &e);
	EXPECT(w, "watch failed: %s", e.msg);
	why = expect_event(w, STORE_EV_PUT, "/a", r1, "a1");
	EXPECT(!why, "%s", why);
	why = expect_event(w, STORE_EV_PUT, "/replayed", r1 + 1, "replayed");
	EXPECT(!why, "%s", why);
	why = expect_event(w, STORE_EV_PUT, "/b", r3, "b1");
	EXPECT(!why, "after the torn record: %s", why);
	EXPECT(st_put(s, "/b", "b2", STORE_ANY, 0, &r2) == 1 && r2 == r3 + 1, "put failed");
	why = expect_event(w, STORE_EV_PUT, "/b", r2, "b2");
	EXPECT(!why, "%s", why);
	snprintf(p, sizeof(p), "%s/tmp/w.99999", sibling("crash"));
	EXPECT(store_compact(s, r2, &e) == 0 && access(p, F_OK) < 0,
	       "a compaction left the dead writer's temporary file");
	PASSED();
out:
	store_list_free(&l);
	store_watch_close(w);
	store_close(s);
}

static void d_two(struct store *sa, const char *name)
{
	struct store *a = open_path(sibling("two-a")), *b = open_path(sibling("two-b"));
	struct store_watch *w = NULL;
	struct store_event ev = {0};
	struct store_kv kv = {0};
	struct err e = {0};
	int64_t ra = 0, rb = 0;
	int r;

	EXPECT(a && b, "open failed");
	w = store_watch_open(b, "/", 0, &e);
	EXPECT(w, "watch failed");
	EXPECT(st_put(a, "/k", "in a", STORE_ANY, 0, &ra) == 1, "put failed");
	EXPECT(st_put(a, "/only-a", "x", STORE_ANY, 0, NULL) == 1, "put failed");
	EXPECT(st_put(b, "/k", "in b", STORE_ANY, 0, &rb) == 1, "put failed");
	EXPECT(ra == rb, "revisions are not per store: %lld and %lld", (long long)ra,
	       (long long)rb);
	EXPECT(store_get(b, "/k", &kv, NULL, &e) == 1 && !strcmp(V(kv.value), "in b"), "b's value");
	store_kv_free(&kv);
	EXPECT(store_get(a, "/k", &kv, NULL, &e) == 1 && !strcmp(V(kv.value), "in a"), "a's value");
	EXPECT(store_get(b, "/only-a", &kv, NULL, &e) == 0, "a's key seen in b");
	r = st_wait_event(w, &ev, 2000);
	EXPECT(r == 1 && !strcmp(V(ev.kv.value), "in b"), "b's watch: %d", r);
	store_event_free(&ev);
	r = st_wait_event(w, &ev, 300);
	EXPECT(r == 0, "b's watch saw a's writes");
	PASSED();
out:
	store_kv_free(&kv);
	store_event_free(&ev);
	store_watch_close(w);
	store_close(a);
	store_close(b);
}

static const char *open_error(const char *url)
{
	static struct err e;
	struct store *s;

	memset(&e, 0, sizeof(e));
	s = store_open(url, &e);
	if (s) {
		store_close(s);
		return "(opened)";
	}
	return e.msg;
}

static void d_open_errors(struct store *s0, const char *name)
{
	char url[4300], msg[512] = "";
	const char *m, *ro = getenv("STORETEST_RO_DIR");
	int fd[2], st;
	ssize_t k;
	pid_t p;

	m = open_error("dir://relative/store");
	EXPECT(strstr(m, "absolute"), "a relative PATH: %s", m);
	snprintf(url, sizeof(url), "dir://%s/meta/sub", dir_path);
	m = open_error(url);
	EXPECT(strstr(m, "dir store") && strstr(m, "Not a directory"), "PATH under a file: %s", m);
	if (ro) {
		snprintf(url, sizeof(url), "dir://%s", ro);
		m = open_error(url);
		EXPECT(strstr(m, "dir store") && strstr(m, "Read-only file system"),
		       "a store on a read-only mount: %s", m);
	}
	/* a PATH this user may not write: as nobody when root (root writes anywhere) */
	EXPECT(mkdir(sibling("ro"), 0500) == 0 || errno == EEXIST, "mkdir failed");
	EXPECT(pipe(fd) == 0, "pipe failed");
	fflush(stdout);
	p = fork();
	if (p == 0) {
		close(fd[0]);
		if (getuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
			_exit(1);
		snprintf(url, sizeof(url), "dir://%s/store", sibling("ro"));
		m = open_error(url);
		if (write(fd[1], m, strlen(m)) < 0)
			_exit(1);
		_exit(0);
	}
	close(fd[1]);
	EXPECT(p > 0, "fork failed");
	k = read(fd[0], msg, sizeof(msg) - 1);
	msg[k > 0 ? k : 0] = '\0';
	close(fd[0]);
	waitpid(p, &st, 0);
	EXPECT(strstr(msg, "dir store") && strstr(msg, "Permission denied"),
	       "an unwritable PATH: %s", msg);
	PASSED();
out:;
}

static void d_corrupt(struct store *s, const char *name)
{
	const char *k = st_key("/corrupt/s3cr3t-token");
	char fname[DIR_NAME_MAX + 1], p[4400];
	struct store_kv kv = {0};
	struct err e = {0};
	int r;

	EXPECT(st_put(s, k, "x", STORE_ANY, 0, NULL) == 1, "put failed");
	dir_key_file(k, fname);
	snprintf(p, sizeof(p), "%s/keys/%s", dir_path, fname);
	EXPECT(!write_file(p, "{\"key\":", 7), "cannot write %s", p);
	r = store_get(s, k, &kv, NULL, &e);
	EXPECT(r < 0 && e.code == CNI_ERR_DECODE, "get of a malformed key file: %d (%s)", r, e.msg);
	EXPECT(!strstr(e.msg, "s3cr3t") && !strstr(e.msg, fname), "the error names the key: %s",
	       e.msg);
	EXPECT(unlink(p) == 0, "unlink failed");
	PASSED();
out:
	store_kv_free(&kv);
}

/* no watch: the next writer deletes the expired key, its DELETE logged before its own put */
static void d_reap_by_writer(struct store *s, const char *name)
{
	const char *k = st_key("/reap/k"), *o = st_key("/reap/other");
	struct store_watch *w = NULL;
	struct err e = {0};
	struct store_event ev = {0};
	int64_t r1 = 0, r2 = 0;
	const char *why;
	int r;

	EXPECT(st_put(s, k, "x", STORE_ANY, 1, &r1) == 1, "put failed");
	usleep(1300 * 1000);
	EXPECT(st_put(s, o, "y", STORE_ANY, 0, &r2) == 1, "put failed");
	EXPECT(r2 == r1 + 2, "the put after the expiry at %lld, the TTL put at %lld", (long long)r2,
	       (long long)r1);
	w = store_watch_open(s, st_key("/reap/"), r1, &e);
	EXPECT(w, "watch failed");
	why = expect_event(w, STORE_EV_PUT, k, r1, "x");
	EXPECT(!why, "%s", why);
	why = expect_event(w, STORE_EV_DELETE, k, r1 + 1, NULL);
	EXPECT(!why, "the expiry: %s", why);
	why = expect_event(w, STORE_EV_PUT, o, r2, "y");
	EXPECT(!why, "%s", why);
	r = st_wait_event(w, &ev, 100);
	EXPECT(r == 0, "an extra event");
	PASSED();
out:
	store_event_free(&ev);
	store_watch_close(w);
}

/* past DIR_LOG_MAX_EVENTS the log is compacted; a watch reading across it loses nothing */
static void d_log_compaction(struct store *s0, const char *name)
{
	struct store *s = open_path(sibling("compaction"));
	struct store_watch *w = NULL, *old = NULL;
	struct store_event ev = {0};
	struct dir_meta m;
	struct err e = {0};
	char v[32], *buf = NULL;
	size_t n;
	int64_t r1 = 0, rev = 0;
	const char *why;
	int r, fd;

	EXPECT(s, "open failed");
	EXPECT(st_put(s, "/k", "first", STORE_ANY, 0, &r1) == 1, "put failed");
	for (int i = 0; i < DIR_LOG_MAX_EVENTS - 10; i++)
		EXPECT(st_put(s, "/k", "0123456789", STORE_ANY, 0, NULL) == 1, "put %d failed", i);
	w = store_watch_open(s, "/", 0, &e);
	EXPECT(w, "watch failed");
	for (int i = 0; i < 100; i++) {
		snprintf(v, sizeof(v), "%d", i);
		EXPECT(st_put(s, i % 2 ? "/k" : "/j", v, STORE_ANY, 0, &rev) == 1, "put failed");
	}
	buf = malloc(DIR_HDR_MAX);
	snprintf(buf, DIR_HDR_MAX, "%s/meta", sibling("compaction"));
	fd = open(buf, O_RDONLY);
	n = fd >= 0 ? (size_t)read(fd, buf, DIR_HDR_MAX) : 0;
	if (fd >= 0)
		close(fd);
	EXPECT(n > 0 && dir_meta_parse(buf, n, &m) == 0, "meta unreadable");
	EXPECT(m.log_gen > 1 && m.revision - m.first + 1 <= DIR_LOG_KEEP + 100 &&
		       m.log_size < DIR_LOG_MAX_BYTES,
	       "log not compacted: generation %lld, first %lld of %lld", (long long)m.log_gen,
	       (long long)m.first, (long long)m.revision);
	for (int i = 0; i < 100; i++) {
		snprintf(v, sizeof(v), "%d", i);
		why = expect_event(w, STORE_EV_PUT, i % 2 ? "/k" : "/j", rev - 99 + i, v);
		EXPECT(!why, "across the compaction, event %d: %s", i, why);
	}
	old = store_watch_open(s, "/", r1, &e);
	EXPECT(old, "watch failed");
	r = st_wait_event(old, &ev, 2000);
	EXPECT(r == -ESTALE, "a watch from a compacted revision: %d", r);
	PASSED();
out:
	free(buf);
	store_event_free(&ev);
	store_watch_close(w);
	store_watch_close(old);
	store_close(s);
}

/* writers killed (SIGKILL) at random points, large values half-written among them: the next
 * writer finishes or cuts what they left, and the history a watch replays from revision 1
 * ends in exactly what a listing shows */
static void d_kill(struct store *s0, const char *name)
{
	struct store *s = open_path(sibling("kill"));
	struct store_watch *w = NULL;
	struct store_list l = {0};
	struct store_event ev = {0};
	struct err e = {0};
	char *vals[16] = {0}, *big = malloc(600 * 1024);
	int64_t revs[16] = {0}, last = 1, end = 0;
	bool seen[16] = {0};
	struct dir_meta m;
	char p[4300];
	ssize_t n;
	int r, fd, events = 0;

	EXPECT(s && big, "open failed");
	srand((unsigned)getpid());
	for (int round = 0; round < 6; round++) {
		pid_t pid[3];

		fflush(stdout);
		for (int i = 0; i < 3; i++) {
			pid[i] = fork();
			if (pid[i] == 0) {
				struct store *ws = open_path(sibling("kill"));

				for (int j = 0; ws; j++) {
					size_t sz = (size_t)(j % 3 ? 1 + rand() % 64
								   : 200000 + rand() % 300000);
					char k[16];

					memset(big, 'a' + (i * 7 + j) % 26, sz);
					snprintf(k, sizeof(k), "/k%d", rand() % 16);
					if (rand() % 5 == 0)
						store_delete(ws, k, STORE_ANY, NULL,
							     &(struct err){0});
					else
						store_put(ws, k, big, sz, NULL, NULL, NULL,
							  &(struct err){0});
				}
				_exit(1);
			}
		}
		usleep((useconds_t)(30000 + rand() % 200000));
		for (int i = 0; i < 3; i++) {
			kill(pid[i], SIGKILL);
			waitpid(pid[i], NULL, 0);
		}
	}
	EXPECT(st_put(s, "/after", "x", STORE_ANY, 0, &end) == 1, "the put after the kills failed");
	EXPECT(store_list(s, "/k", NULL, 0, &l, &e) >= 0, "list failed: %s", e.msg);
	/* from the log's first revision: large values made it compact */
	snprintf(p, sizeof(p), "%s/meta", sibling("kill"));
	fd = open(p, O_RDONLY);
	n = fd >= 0 ? read(fd, p, sizeof(p)) : -1;
	if (fd >= 0)
		close(fd);
	EXPECT(n > 0 && dir_meta_parse(p, (size_t)n, &m) == 0, "meta unreadable");
	last = m.first - 1;
	w = store_watch_open(s, "/", m.first, &e);
	EXPECT(w, "watch failed");
	while (last < end) {
		int i;

		r = st_wait_event(w, &ev, 5000);
		EXPECT(r == 1, "the history stops at %lld of %lld (%d)", (long long)last,
		       (long long)end, r);
		EXPECT(ev.kv.mod_rev == last + 1, "revision %lld after %lld",
		       (long long)ev.kv.mod_rev, (long long)last);
		last = ev.kv.mod_rev;
		events++;
		if (ev.kv.key[1] == 'k' && sscanf(ev.kv.key, "/k%d", &i) == 1 && i >= 0 && i < 16) {
			free(vals[i]);
			vals[i] = ev.type == STORE_EV_PUT ? ev.kv.value : NULL;
			revs[i] = ev.kv.mod_rev;
			if (ev.type == STORE_EV_PUT) {
				size_t vn = ev.kv.value_len;

				EXPECT(vn && strspn(ev.kv.value, (char[]){ev.kv.value[0], 0}) == vn,
				       "a logged value is mixed");
				ev.kv.value = NULL;
			}
		}
		store_event_free(&ev);
	}
	for (size_t j = 0; j < l.n; j++) {
		int i = atoi(l.kvs[j].key + 2);

		EXPECT(i >= 0 && i < 16, "a stray key listed");
		seen[i] = true;
		EXPECT(revs[i] ? vals[i] && l.kvs[j].mod_rev == revs[i] &&
					 !strcmp(V(l.kvs[j].value), vals[i])
			       : l.kvs[j].mod_rev < m.first,
		       "/k%d: the listing is not the history's last change", i);
	}
	for (int i = 0; i < 16; i++)
		EXPECT(seen[i] || !vals[i], "/k%d: put last, not listed", i);
	fprintf(stderr, "storetest: dir-kill: %d events\n", events);
	PASSED();
out:
	for (int i = 0; i < 16; i++)
		free(vals[i]);
	free(big);
	store_event_free(&ev);
	store_list_free(&l);
	store_watch_close(w);
	store_close(s);
}

/* a compaction that renamed its new log in and died before writing meta: the next writer
 * takes the new log's generation and first revision */
static void d_compaction_crash(struct store *s0, const char *name)
{
	struct store *s = open_path(sibling("ccrash"));
	struct store_watch *w = NULL;
	struct store_event ev = {0};
	struct err e = {0};
	char p[4300], q[4300], hdr[DIR_HDR_MAX], *buf = NULL;
	int64_t r1 = 0, r2 = 0, r3 = 0, r4 = 0, gen, first;
	size_t len = 0, off;
	ssize_t k;
	struct dir_hdr h;
	const char *why;
	FILE *f;
	int n;

	EXPECT(s, "open failed");
	EXPECT(st_put(s, "/a", "1", STORE_ANY, 0, &r1) == 1 &&
		       st_put(s, "/b", "2", STORE_ANY, 0, &r2) == 1 &&
		       st_put(s, "/c", "3", STORE_ANY, 0, &r3) == 1,
	       "put failed");
	snprintf(p, sizeof(p), "%s/log", sibling("ccrash"));
	f = fopen(p, "r");
	EXPECT(f, "cannot read the log");
	buf = malloc(1 << 20);
	len = buf ? fread(buf, 1, 1 << 20, f) : 0;
	fclose(f);
	k = dir_loghdr_parse(buf, len, &gen, &first);
	EXPECT(k > 0, "the log's header is malformed");
	/* the records from r2 on: skip r1's */
	off = (size_t)k;
	k = dir_hdr_parse(buf + off, len - off, &h);
	EXPECT(k > 0 && h.mod_rev == r1, "the first record is not r1's");
	off += (size_t)k + h.len + 1;
	n = dir_loghdr_format(gen + 1, r2, hdr, sizeof(hdr));
	snprintf(q, sizeof(q), "%s/tmp/log.new", sibling("ccrash"));
	f = fopen(q, "w");
	EXPECT(f && n > 0, "cannot write the new log");
	fwrite(hdr, 1, (size_t)n, f);
	fwrite(buf + off, 1, len - off, f);
	fclose(f);
	EXPECT(rename(q, p) == 0, "rename failed");
	EXPECT(st_put(s, "/d", "4", STORE_ANY, 0, &r4) == 1 && r4 == r3 + 1,
	       "the put after the crashed compaction: %lld after %lld", (long long)r4,
	       (long long)r3);
	w = store_watch_open(s, "/", r2, &e);
	EXPECT(w, "watch failed: %s", e.msg);
	why = expect_event(w, STORE_EV_PUT, "/b", r2, "2");
	EXPECT(!why, "%s", why);
	why = expect_event(w, STORE_EV_PUT, "/c", r3, "3");
	EXPECT(!why, "%s", why);
	why = expect_event(w, STORE_EV_PUT, "/d", r4, "4");
	EXPECT(!why, "%s", why);
	store_watch_close(w);
	w = store_watch_open(s, "/", r1, &e);
	EXPECT(w && st_wait_event(w, &ev, 2000) == -ESTALE,
	       "a watch from before the new log's first revision");
	PASSED();
out:
	free(buf);
	store_event_free(&ev);
	store_watch_close(w);
	store_close(s);
}

static int read_meta(const char *store, struct dir_meta *m)
{
	char p[4300];
	ssize_t n;
	int fd;

	snprintf(p, sizeof(p), "%s/meta", store);
	fd = open(p, O_RDONLY);
	n = fd >= 0 ? read(fd, p, sizeof(p)) : -1;
	if (fd >= 0)
		close(fd);
	return n > 0 ? dir_meta_parse(p, (size_t)n, m) : -1;
}

/* A TTL so large that now + TTL is past 2^53 ms: refused; and the files an older writer made
 * with one (meta, a key file, a log record not yet applied) leave the store usable */
static void d_huge_ttl(struct store *s0, const char *name)
{
	const char *dir = sibling("hugettl");
	struct store *s = open_path(dir);
	struct store_put o = {.if_rev = STORE_ANY, .ttl = 10000000000000LL};
	struct store_watch *w = NULL;
	struct store_list l = {0};
	struct store_kv kv = {0};
	struct dir_meta m;
	struct err e = {0};
	char p[4300], line[1024];
	int64_t r1 = 0, r2 = 0;
	const char *why;
	int r, n;

	EXPECT(s, "open failed");
	r = store_put(s, "/h", "x", 1, &o, NULL, NULL, &e);
	EXPECT(r < 0 && e.code == CNI_ERR_CONFIG && strstr(e.msg, "ttl"),
	       "a put with a 1e13 s TTL: %d (%s)", r, e.msg);
	e = (struct err){0};
	/* the backend's own check, whether the front refused first or not */
	r = dir_ops.put(s, "/h", "x", 1, &o, NULL, NULL, &e);
	EXPECT(r < 0 && e.code == CNI_ERR_CONFIG && strstr(e.msg, "ttl"),
	       "the backend's put with a 1e13 s TTL: %d (%s)", r, e.msg);
	e = (struct err){0};
	EXPECT(st_put(s, "/a", "1", STORE_ANY, 0, &r1) == 1, "put failed");
	/* what such a put wrote before the range checks: numbers past 2^53 */
	EXPECT(read_meta(dir, &m) == 0, "meta unreadable");
	n = snprintf(line, sizeof(line),
		     "{\"revision\":%lld,\"first\":%lld,\"log_gen\":%lld,\"log_size\":%lld,"
		     "\"next_expiry\":1.0000001733e+16}\n",
		     (long long)m.revision, (long long)m.first, (long long)m.log_gen,
		     (long long)m.log_size);
	snprintf(p, sizeof(p), "%s/meta", dir);
	EXPECT(!write_file(p, line, (size_t)n), "cannot write %s", p);
	n = snprintf(line, sizeof(line),
		     "{\"key\":\"+j\",\"create_revision\":%lld,\"mod_revision\":%lld,\"version\":1,"
		     "\"ttl\":10000000000000,\"expires\":1.0000001733e+16,\"len\":1}\nj",
		     (long long)r1, (long long)r1);
	snprintf(p, sizeof(p), "%s/keys/+j", dir);
	EXPECT(!write_file(p, line, (size_t)n), "cannot write %s", p);
	n = snprintf(
		line, sizeof(line),
		"{\"op\":\"PUT\",\"key\":\"+k\",\"create_revision\":%lld,\"mod_revision\":%lld,"
		"\"version\":1,\"ttl\":10000000000000,\"expires\":1.0000001733e+16,\"len\":1}"
		"\nk\n",
		(long long)r1 + 1, (long long)r1 + 1);
	snprintf(p, sizeof(p), "%s/log", dir);
	EXPECT(!append_file(p, line, (size_t)n), "cannot append to %s", p);

	r = store_get(s, "/j", &kv, NULL, &e);
	EXPECT(r == 1 && !strcmp(V(kv.value), "j") && kv.ttl > 0 && kv.ttl <= DIR_TTL_MAX,
	       "get of a key file with a huge expiry: %d, ttl %lld (%s)", r, (long long)kv.ttl,
	       e.msg);
	EXPECT(store_list(s, "/", NULL, 0, &l, &e) == 2, "list: %zu keys (%s)", l.n, e.msg);
	EXPECT(st_put(s, "/b", "2", STORE_ANY, 0, &r2) == 1 && r2 == r1 + 2,
	       "the put after: %lld, the logged record at %lld", (long long)r2, (long long)r1 + 1);
	store_kv_free(&kv);
	r = store_get(s, "/k", &kv, NULL, &e);
	EXPECT(r == 1 && !strcmp(V(kv.value), "k") && kv.mod_rev == r1 + 1,
	       "the replayed record with a huge expiry: %d (%s)", r, e.msg);
	EXPECT(store_keepalive(s, &kv, &e) == 1, "keepalive: %s", e.msg);
	EXPECT(read_meta(dir, &m) == 0 && m.next_expiry > 0 && m.next_expiry <= DIR_NUM_MAX,
	       "meta was not repaired");
	w = store_watch_open(s, "/", r1, &e);
	EXPECT(w, "watch failed: %s", e.msg);
	why = expect_event(w, STORE_EV_PUT, "/a", r1, "1");
	EXPECT(!why, "%s", why);
	why = expect_event(w, STORE_EV_PUT, "/k", r1 + 1, "k");
	EXPECT(!why, "%s", why);
	why = expect_event(w, STORE_EV_PUT, "/b", r2, "2");
	EXPECT(!why, "%s", why);
	PASSED();
out:
	store_kv_free(&kv);
	store_list_free(&l);
	store_watch_close(w);
	store_close(s);
}

/* A put whose log record fits and whose key file does not (a full filesystem): it did not
 * happen, for get, for the revision and for watchers alike */
static void d_enospc(struct store *s0, const char *name)
{
	const char *small = getenv("STORETEST_SMALL_DIR");
	size_t big = 300 * 1024;
	char *v = malloc(big), p[4300];
	struct store *s = NULL;
	struct store_watch *w = NULL;
	struct store_kv kv = {0};
	struct err e = {0};
	int64_t r1 = 0, r2 = 0;
	const char *why;
	int r;

	if (!small) {
		fprintf(stderr, "storetest: dir-enospc: no STORETEST_SMALL_DIR: skipped\n");
		PASSED();
		goto out;
	}
	snprintf(p, sizeof(p), "%s/store", small);
	s = open_path(p);
	EXPECT(s && v, "open failed");
	EXPECT(st_put(s, "/a", "1", STORE_ANY, 0, &r1) == 1, "put failed");
	memset(v, 'b', big);
	r = store_put(s, "/big", v, big, NULL, NULL, NULL, &e);
	EXPECT(r < 0 && strstr(e.msg, "write a key file: No space left"),
	       "a put too big for the filesystem: %d (%s)", r, e.msg);
	r = store_get(s, "/big", &kv, NULL, &e);
	EXPECT(r == 0, "the failed put is read back: %d", r);
	EXPECT(st_rev(s) == r1, "the revision moved from %lld to %lld", (long long)r1,
	       (long long)st_rev(s));
	EXPECT(st_put(s, "/a", "2", STORE_ANY, 0, &r2) == 1 && r2 == r1 + 1,
	       "the next put: %lld after %lld", (long long)r2, (long long)r1);
	w = store_watch_open(s, "/", r1, &e);
	EXPECT(w, "watch failed: %s", e.msg);
	why = expect_event(w, STORE_EV_PUT, "/a", r1, "1");
	EXPECT(!why, "%s", why);
	why = expect_event(w, STORE_EV_PUT, "/a", r2, "2");
	EXPECT(!why, "after the failed put: %s", why);
	PASSED();
out:
	free(v);
	store_kv_free(&kv);
	store_watch_close(w);
	store_close(s);
}

/* Files a listing or a reap skip (not the caller's business) leave the caller's err empty:
 * a later failure sharing it reports itself */
static void d_ignored_errors(struct store *s0, const char *name)
{
	const char *dir = sibling("ignored");
	struct store *s = open_path(dir);
	struct store_list l = {0};
	struct store_kv kv = {0};
	struct err e = {0};
	char p[4300];
	int r;

	EXPECT(s, "open failed");
	snprintf(p, sizeof(p), "%s/keys/~0123", dir);
	EXPECT(!write_file(p, "junk", 4), "cannot write %s", p);
	snprintf(p, sizeof(p), "%s/keys/notakey", dir);
	EXPECT(!write_file(p, "junk", 4), "cannot write %s", p);
	r = store_list(s, "/", NULL, 0, &l, &e);
	EXPECT(r == 0 && !e.code, "a list past a hashed name's junk: %d (%s)", r, e.msg);
	EXPECT(st_put(s, "/t", "x", STORE_ANY, 1, NULL) == 1, "put failed");
	usleep(1100 * 1000);
	/* this put reaps /t, reading every file under keys/ */
	r = store_put(s, "/o", "y", 1, NULL, NULL, NULL, &e);
	EXPECT(r == 1 && !e.code, "a put that reaped past junk: %d (%s)", r, e.msg);
	r = store_get(s, "no-slash", &kv, NULL, &e);
	EXPECT(r < 0 && strstr(e.msg, "invalid key"), "the later failure reads: %s", e.msg);
	PASSED();
out:
	store_kv_free(&kv);
	store_list_free(&l);
	store_close(s);
}

static const struct check dir_checks[] = {
	{"dir-modes", d_modes},
	{"dir-torn", d_torn},
	{"dir-leftovers", d_leftovers},
	{"dir-two-stores", d_two},
	{"dir-open-errors", d_open_errors},
	{"dir-corrupt", d_corrupt},
	{"dir-reap-by-writer", d_reap_by_writer},
	{"dir-log-compaction", d_log_compaction},
	{"dir-kill", d_kill},
	{"dir-compaction-crash", d_compaction_crash},
	{"dir-huge-ttl", d_huge_ttl},
	{"dir-enospc", d_enospc},
	{"dir-ignored-errors", d_ignored_errors},
};

static void st_dir_checks(struct store *s, const char *path, int argc, char **argv)
{
	snprintf(dir_path, sizeof(dir_path), "%s", path);
	for (size_t i = 0; i < sizeof(dir_checks) / sizeof(dir_checks[0]); i++)
		if (wanted(argc, argv, dir_checks[i].name, "dir"))
			dir_checks[i].fn(s, dir_checks[i].name);
}
