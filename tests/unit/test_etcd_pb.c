// SPDX-License-Identifier: Apache-2.0
/* etcd's KV.Range on the wire: the RangeRequest frame byte for byte (field numbers of
 * rpc.proto), RangeResponse messages built here by hand and read back (unknown fields of
 * every wire type skipped), and hostile input: every truncation, lengths past the end,
 * overlong varints, groups, field 0, a known field of the wrong wire type. Then the gRPC
 * prefix and the status headers; then Watch.Watch's WatchRequest and WatchResponse the
 * same way. */
#define T_NAME "test_etcd_pb"
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "store/etcd_pb.h"
#include "t.h"

/* ---- a tiny writer of the test's own, independent of etcd_pb.c's ---- */

struct msg {
	uint8_t b[4096];
	size_t n;
};

static void raw(struct msg *m, const void *p, size_t n)
{
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void varint(struct msg *m, uint64_t v)
{
	do {
		m->b[m->n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
}

static void f_varint(struct msg *m, unsigned f, uint64_t v)
{
	varint(m, f << 3 | 0);
	varint(m, v);
}

static void f_bytes(struct msg *m, unsigned f, const void *p, size_t n)
{
	varint(m, f << 3 | 2);
	varint(m, n);
	raw(m, p, n);
}

static void f_msg(struct msg *m, unsigned f, const struct msg *sub)
{
	f_bytes(m, f, sub->b, sub->n);
}

/* unknown fields, one of each wire type a newer etcd could add */
static void unknowns(struct msg *m)
{
	static const uint8_t eight[8] = {1, 2, 3, 4, 5, 6, 7, 8};

	f_varint(m, 99, 12345);
	varint(m, 100 << 3 | 1);
	raw(m, eight, 8);
	varint(m, 101 << 3 | 5);
	raw(m, eight, 4);
	f_bytes(m, 102, "\x0a\x02zz", 4); /* looks like a key inside: must not be read */
}

/* a KeyValue as field f of m */
static void kv_f(struct msg *m, unsigned f, const char *key, const char *value, int64_t rev,
		 int64_t lease, bool extra)
{
	struct msg k = {0};

	f_bytes(&k, 1, key, strlen(key));
	f_varint(&k, 2, (uint64_t)rev);
	f_varint(&k, 3, (uint64_t)rev + 1);
	f_varint(&k, 4, 2);
	if (extra)
		unknowns(&k);
	if (value)
		f_bytes(&k, 5, value, strlen(value));
	if (lease)
		f_varint(&k, 6, (uint64_t)lease);
	f_msg(m, f, &k);
}

static void kv(struct msg *m, const char *key, const char *value, int64_t rev, int64_t lease,
	       bool extra)
{
	kv_f(m, 2, key, value, rev, lease, extra);
}

static void response(struct msg *m, bool extra)
{
	struct msg h = {0};

	f_varint(&h, 1, UINT64_MAX); /* a ten-byte varint */
	f_varint(&h, 2, 0x1234567890abcdefULL);
	f_varint(&h, 3, 42);
	if (extra)
		unknowns(&h);
	f_varint(&h, 4, 3);
	f_msg(m, 1, &h);
	kv(m, "/a", "{\"x\":1}", 5, 0, extra);
	if (extra)
		unknowns(m);
	kv(m, "/b", NULL, 7, 0x7fffffffffffffffLL, extra); /* an empty value is omitted */
	f_varint(m, 3, 1);
	f_varint(m, 4, 9);
}

struct seen {
	int n;
	char keys[8][16], values[8][16];
	int64_t create[8], mod[8], version[8], lease[8];
};

static int collect(const struct etcd_pb_kv *kv, void *arg)
{
	struct seen *s = arg;

	if (s->n == 8 || kv->key_len >= 16 || kv->value_len >= 16)
		return -ENOSPC;
	memcpy(s->keys[s->n], kv->key, kv->key_len);
	s->keys[s->n][kv->key_len] = '\0';
	if (kv->value_len)
		memcpy(s->values[s->n], kv->value, kv->value_len);
	s->values[s->n][kv->value_len] = '\0';
	s->create[s->n] = kv->create_rev;
	s->mod[s->n] = kv->mod_rev;
	s->version[s->n] = kv->version;
	s->lease[s->n] = kv->lease;
	s->n++;
	return 0;
}

static int stop_at_second(const struct etcd_pb_kv *kv, void *arg)
{
	return ++*(int *)arg == 2 ? -ECANCELED : 0;
}

static int stop_at_second_ev(const struct etcd_pb_event *ev, void *arg)
{
	return ++*(int *)arg == 2 ? -ECANCELED : 0;
}

static void check_response(bool extra)
{
	struct msg m = {0};
	struct etcd_pb_range_resp r;
	struct seen s = {0};

	response(&m, extra);
	T_EQ(etcd_pb_range_response(m.b, m.n, &r, collect, &s), 0);
	T_ASSERT(r.header.cluster_id == UINT64_MAX);
	T_ASSERT(r.header.member_id == 0x1234567890abcdefULL);
	T_EQ(r.header.revision, 42);
	T_EQ(r.header.raft_term, 3);
	T_ASSERT(r.more);
	T_EQ(r.count, 9);
	T_EQ(r.n, 2);
	T_EQ(s.n, 2);
	T_STREQ(s.keys[0], "/a");
	T_STREQ(s.values[0], "{\"x\":1}");
	T_EQ(s.create[0], 5);
	T_EQ(s.mod[0], 6);
	T_EQ(s.version[0], 2);
	T_EQ(s.lease[0], 0);
	T_STREQ(s.keys[1], "/b");
	T_STREQ(s.values[1], "");
	T_EQ(s.lease[1], 0x7fffffffffffffffLL);
	/* without a callback: checked and counted all the same */
	T_EQ(etcd_pb_range_response(m.b, m.n, &r, NULL, NULL), 0);
	T_EQ(r.n, 2);
}

static void test_response(void)
{
	check_response(false);
}

static void test_unknown_fields(void)
{
	check_response(true);
}

static void test_empty_and_callback(void)
{
	struct etcd_pb_range_resp r;
	struct msg m = {0};
	int calls = 0;

	/* a range that found nothing: etcd sends the header alone; proto3 omits the rest */
	T_EQ(etcd_pb_range_response(m.b, 0, &r, collect, NULL), 0);
	T_EQ(r.n, 0);
	T_EQ(r.header.revision, 0);
	T_ASSERT(!r.more);
	response(&m, false);
	T_EQ(etcd_pb_range_response(m.b, m.n, &r, stop_at_second, &calls), -ECANCELED);
	T_EQ(calls, 2);
}

static void test_truncated(void)
{
	struct msg m = {0};
	struct etcd_pb_range_resp r;

	response(&m, true);
	/* every prefix is either a shorter valid message (cut between top-level fields) or
	 * malformed; the decoder reads nothing past its length (ASan builds check that) */
	for (size_t n = 0; n < m.n; n++) {
		uint8_t *copy = malloc(n ? n : 1);
		int e;

		T_ASSERT(copy);
		memcpy(copy, m.b, n);
		e = etcd_pb_range_response(copy, n, &r, NULL, NULL);
		free(copy);
		T_ASSERT(e == 0 || e == -EBADMSG);
	}
	T_EQ(etcd_pb_range_response(m.b, m.n - 1, &r, NULL, NULL), -EBADMSG);
	/* cut inside the header's message: its declared length runs past the end */
	T_EQ(etcd_pb_range_response(m.b, 3, &r, NULL, NULL), -EBADMSG);
}

static void test_hostile(void)
{
	struct etcd_pb_range_resp r;
	struct msg m;

	/* a kvs field whose length is 2^64-1, 2^32, one past the end */
	m = (struct msg){0};
	varint(&m, 2 << 3 | 2);
	varint(&m, UINT64_MAX);
	T_EQ(etcd_pb_range_response(m.b, m.n, &r, NULL, NULL), -EBADMSG);
	m = (struct msg){0};
	varint(&m, 2 << 3 | 2);
	varint(&m, 1ULL << 32);
	T_EQ(etcd_pb_range_response(m.b, m.n, &r, NULL, NULL), -EBADMSG);
	m = (struct msg){0};
	varint(&m, 2 << 3 | 2);
	varint(&m, 3);
	raw(&m, "\x0a\x00", 2);
	T_EQ(etcd_pb_range_response(m.b, m.n, &r, NULL, NULL), -EBADMSG);
	/* a key whose length runs past its kv (but not past the message) */
	m = (struct msg){0};
	varint(&m, 2 << 3 | 2);
	varint(&m, 2);
	raw(&m, "\x0a\x05/abcd", 7);
	T_EQ(etcd_pb_range_response(m.b, m.n, &r, NULL, NULL), -EBADMSG);
	/* varints: eleven bytes; ten whose last holds more than bit 63; ten that are fine */
	m = (struct msg){0};
	raw(&m, "\x18\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12);
	T_EQ(etcd_pb_range_response(m.b, m.n, &r, NULL, NULL), -EBADMSG);
	m = (struct msg){0};
	raw(&m, "\x20\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 11);
	T_EQ(etcd_pb_range_response(m.b, m.n, &r, NULL, NULL), -EBADMSG);
	m = (struct msg){0};
	raw(&m, "\x20\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11);
	T_EQ(etcd_pb_range_response(m.b, m.n, &r, NULL, NULL), 0);
	T_EQ(r.count, -1);
	/* a tag that never ends */
	m = (struct msg){0};
	raw(&m, "\x80\x80", 2);
	T_EQ(etcd_pb_range_response(m.b, m.n, &r, NULL, NULL), -EBADMSG);
	/* groups (wire types 3 and 4), and the types that do not exist */
	for (unsigned wt = 3; wt <= 7; wt++) {
		if (wt == 5)
			continue;
		m = (struct msg){0};
		varint(&m, 50 << 3 | wt);
		varint(&m, 0);
		T_EQ(etcd_pb_range_response(m.b, m.n, &r, NULL, NULL), -EBADMSG);
	}
	/* field number 0 */
	m = (struct msg){0};
	f_varint(&m, 0, 1);
	T_EQ(etcd_pb_range_response(m.b, m.n, &r, NULL, NULL), -EBADMSG);
	/* fixed-size fields cut short */
	m = (struct msg){0};
	varint(&m, 60 << 3 | 1);
	raw(&m, "1234567", 7);
	T_EQ(etcd_pb_range_response(m.b, m.n, &r, NULL, NULL), -EBADMSG);
	m = (struct msg){0};
	varint(&m, 60 << 3 | 5);
	raw(&m, "123", 3);
	T_EQ(etcd_pb_range_response(m.b, m.n, &r, NULL, NULL), -EBADMSG);
	/* a known field of the wrong wire type: kvs as a varint, a key as a varint */
	m = (struct msg){0};
	f_varint(&m, 2, 1);
	T_EQ(etcd_pb_range_response(m.b, m.n, &r, NULL, NULL), -EBADMSG);
	m = (struct msg){0};
	varint(&m, 2 << 3 | 2);
	varint(&m, 2);
	f_varint(&m, 1, 1);
	T_EQ(etcd_pb_range_response(m.b, m.n, &r, NULL, NULL), -EBADMSG);
}

static void test_request(void)
{
	static const uint8_t get[] = {0, 0, 0, 0, 4, 0x0a, 2, '/', 'a'};
	static const uint8_t list[] = {0,    0,	   0,	 0,   19,   0x0a, 2,	'/',
				       'a',  0x12, 2,	 '/', 'b',  0x18, 0x05, 0x20,
				       0xac, 0x02, 0x38, 1,   0x40, 1,	  0x48, 1};
	uint8_t out[64];
	long n;

	n = etcd_pb_range_request(&(struct etcd_pb_range_req){.key = "/a", .key_len = 2}, out,
				  sizeof(out));
	T_EQ(n, sizeof(get));
	T_ASSERT(!memcmp(out, get, sizeof(get)));
	n = etcd_pb_range_request(&(struct etcd_pb_range_req){.key = "/a",
							      .key_len = 2,
							      .range_end = "/b",
							      .range_end_len = 2,
							      .limit = 5,
							      .revision = 300,
							      .serializable = true,
							      .keys_only = true,
							      .count_only = true},
				  out, sizeof(out));
	T_EQ(n, sizeof(list));
	T_ASSERT(!memcmp(out, list, sizeof(list)));
	/* range_end "\0" (every key from key on) is one byte, not absent */
	n = etcd_pb_range_request(
		&(struct etcd_pb_range_req){
			.key = "/", .key_len = 1, .range_end = "", .range_end_len = 1},
		out, sizeof(out));
	T_EQ(n, 5 + 3 + 3);
	T_ASSERT(!memcmp(out + 8, "\x12\x01\x00", 3));
	/* too small a buffer, at every size */
	for (size_t cap = 0; cap < sizeof(list); cap++)
		T_EQ(etcd_pb_range_request(&(struct etcd_pb_range_req){.key = "/a",
								       .key_len = 2,
								       .range_end = "/b",
								       .range_end_len = 2,
								       .limit = 5,
								       .revision = 300,
								       .serializable = true,
								       .keys_only = true,
								       .count_only = true},
					   out, cap),
		     -E2BIG);
}

static void test_prefix(void)
{
	size_t len;

	T_EQ(etcd_grpc_prefix((const uint8_t *)"\0\0\x01\x02\x03", 1 << 20, &len), 0);
	T_EQ(len, 0x10203);
	T_EQ(etcd_grpc_prefix((const uint8_t *)"\x01\0\0\0\x05", 1 << 20, &len), -EPROTO);
	T_EQ(etcd_grpc_prefix((const uint8_t *)"\0\xff\xff\xff\xff", 1 << 20, &len), -EMSGSIZE);
	T_EQ(etcd_grpc_prefix((const uint8_t *)"\0\0\x10\0\0", 1 << 20, &len), 0);
	T_EQ(etcd_grpc_prefix((const uint8_t *)"\0\0\x10\0\x01", 1 << 20, &len), -EMSGSIZE);
}

static void header(struct etcd_grpc_status *st, const char *line)
{
	etcd_grpc_header(st, line, strlen(line));
}

static void test_status(void)
{
	struct etcd_grpc_status st;
	char big[600];

	etcd_grpc_status_init(&st);
	T_EQ(st.code, -1);
	T_ASSERT(!st.grpc);
	header(&st, "HTTP/2 200\r\n");
	header(&st, "Content-Type: application/grpc\r\n");
	T_ASSERT(st.grpc);
	T_EQ(st.code, -1); /* headers only: the status comes in the trailers */
	header(&st, "grpc-status: 0\r\n");
	T_EQ(st.code, 0);
	header(&st, "grpc-status:11\r\n");
	T_EQ(st.code, 11);
	header(&st,
	       "grpc-message: etcdserver: mvcc%3A required revision%20has%25been compacted\r\n");
	T_STREQ(st.message, "etcdserver: mvcc: required revision has%been compacted");
	header(&st, "grpc-status: 1x\r\n");
	T_EQ(st.code, 2); /* malformed: Unknown, never success */
	header(&st, "grpc-status: 0000\r\n");
	T_EQ(st.code, 2);
	header(&st, "grpc-status: \r\n");
	T_EQ(st.code, 2);
	header(&st, "content-type: application/grpc+proto\r\n");
	T_ASSERT(st.grpc);
	header(&st, "content-type: application/grpcx\r\n");
	T_ASSERT(!st.grpc);
	header(&st, "content-type: application/json\r\n");
	T_ASSERT(!st.grpc);
	header(&st, "content-type: application/grpc; charset=x\r\n");
	T_ASSERT(st.grpc);
	/* a message longer than the buffer is cut, NUL-terminated */
	memcpy(big, "grpc-message: ", 14);
	memset(big + 14, 'x', sizeof(big) - 15);
	big[sizeof(big) - 1] = '\0';
	header(&st, big);
	T_EQ(strlen(st.message), sizeof(st.message) - 1);
	/* a trailing % escape cut short stays as it is */
	header(&st, "grpc-message: a%2\r\n");
	T_STREQ(st.message, "a%2");
	header(&st, "no colon at all");
	T_STREQ(st.message, "a%2");
}

/* ---- Watch ---- */

static void test_watch_request(void)
{
	static const uint8_t want[] = {0,    0,	   0,	 0,    19,   0x0a, 17,	 0x0a,
				       2,    '/',  'a',	 0x12, 2,    '/',  'b',	 0x18,
				       0xac, 0x02, 0x20, 1,    0x30, 1,	   0x40, 1};
	const struct etcd_pb_watch_req req = {.key = "/a",
					      .key_len = 2,
					      .range_end = "/b",
					      .range_end_len = 2,
					      .start_revision = 300,
					      .progress_notify = true,
					      .prev_kv = true,
					      .fragment = true};
	uint8_t out[64], big[400];
	char key[200];
	long n;

	n = etcd_pb_watch_request(&req, out, sizeof(out));
	T_EQ(n, sizeof(want));
	T_ASSERT(!memcmp(out, want, sizeof(want)));
	/* from now, one key: key alone in the create_request */
	n = etcd_pb_watch_request(&(struct etcd_pb_watch_req){.key = "/a", .key_len = 2}, out,
				  sizeof(out));
	T_EQ(n, 5 + 2 + 4);
	T_ASSERT(!memcmp(out, "\0\0\0\0\x06\x0a\x04\x0a\x02/a", 11));
	/* a create_request of over 127 bytes: a two-byte length, moved down into place */
	memset(key, 'k', sizeof(key));
	n = etcd_pb_watch_request(&(struct etcd_pb_watch_req){.key = key, .key_len = sizeof(key)},
				  big, sizeof(big));
	T_EQ(n, 5 + 1 + 2 + 3 + 200);
	T_ASSERT(!memcmp(big, "\0\0\0\0\xce\x0a\xcb\x01\x0a\xc8\x01", 11));
	T_EQ(big[n - 1], 'k');
	/* too small a buffer, at every size */
	for (size_t cap = 0; cap < sizeof(want); cap++)
		T_EQ(etcd_pb_watch_request(&req, out, cap), -E2BIG);
}

/* a WatchResponse: header, watch_id, created, fragment, a reason, two events (a PUT with a
 * prev_kv, a DELETE) */
static void watch_response(struct msg *m, bool extra)
{
	struct msg h = {0}, e1 = {0}, e2 = {0};

	f_varint(&h, 3, 77);
	if (extra)
		unknowns(&h);
	f_msg(m, 1, &h);
	f_varint(m, 2, 0); /* watch_id 0 sent anyway: a zero is read as zero */
	f_varint(m, 3, 1);
	if (extra)
		unknowns(m);
	f_varint(m, 5, 9);
	f_bytes(m, 6, "etcdserver: x", 13);
	f_varint(m, 7, 1);
	kv_f(&e1, 2, "/w/a", "va", 70, 5, extra);
	kv_f(&e1, 3, "/w/a", "old", 60, 5, false);
	if (extra)
		unknowns(&e1);
	f_msg(m, 11, &e1);
	f_varint(&e2, 1, 1);
	kv_f(&e2, 2, "/w/b", NULL, 75, 0, false);
	f_msg(m, 11, &e2);
}

struct evseen {
	int n;
	int64_t type[4];
	bool has_prev[4];
	char keys[4][16], prev_values[4][16];
	int64_t mod[4];
};

static int collect_ev(const struct etcd_pb_event *ev, void *arg)
{
	struct evseen *s = arg;

	if (s->n == 4 || ev->kv.key_len >= 16 || ev->prev_kv.value_len >= 16)
		return -ENOSPC;
	s->type[s->n] = ev->type;
	s->has_prev[s->n] = ev->has_prev_kv;
	memcpy(s->keys[s->n], ev->kv.key, ev->kv.key_len);
	s->keys[s->n][ev->kv.key_len] = '\0';
	if (ev->prev_kv.value_len)
		memcpy(s->prev_values[s->n], ev->prev_kv.value, ev->prev_kv.value_len);
	s->prev_values[s->n][ev->prev_kv.value_len] = '\0';
	s->mod[s->n] = ev->kv.mod_rev;
	s->n++;
	return 0;
}

static void check_watch_response(bool extra)
{
	struct msg m = {0};
	struct etcd_pb_watch_resp r;
	struct evseen s = {0};

	watch_response(&m, extra);
	T_EQ(etcd_pb_watch_response(m.b, m.n, &r, collect_ev, &s), 0);
	T_EQ(r.header.revision, 77);
	T_EQ(r.watch_id, 0);
	T_ASSERT(r.created);
	T_ASSERT(!r.canceled);
	T_EQ(r.compact_revision, 9);
	T_ASSERT(r.fragment);
	T_EQ(r.cancel_reason_len, 13);
	T_ASSERT(!memcmp(r.cancel_reason, "etcdserver: x", 13));
	T_EQ(r.n, 2);
	T_EQ(s.n, 2);
	T_EQ(s.type[0], 0);
	T_STREQ(s.keys[0], "/w/a");
	T_EQ(s.mod[0], 71);
	T_ASSERT(s.has_prev[0]);
	T_STREQ(s.prev_values[0], "old");
	T_EQ(s.type[1], 1);
	T_STREQ(s.keys[1], "/w/b");
	T_EQ(s.mod[1], 76);
	T_ASSERT(!s.has_prev[1]);
	T_EQ(etcd_pb_watch_response(m.b, m.n, &r, NULL, NULL), 0);
	T_EQ(r.n, 2);
}

static void test_watch_response(void)
{
	struct etcd_pb_watch_resp r;
	struct msg m = {0};

	check_watch_response(false);
	check_watch_response(true);
	/* an empty message (a progress notification without a header): all zero */
	T_EQ(etcd_pb_watch_response(m.b, 0, &r, collect_ev, NULL), 0);
	T_EQ(r.n, 0);
	T_ASSERT(!r.created && !r.canceled && !r.fragment);
	T_EQ(r.cancel_reason_len, 0);
	/* canceled, with a negative watch_id (-1: etcd's "no watch") as ten bytes */
	f_varint(&m, 2, UINT64_MAX);
	f_varint(&m, 4, 1);
	T_EQ(etcd_pb_watch_response(m.b, m.n, &r, NULL, NULL), 0);
	T_EQ(r.watch_id, -1);
	T_ASSERT(r.canceled);
}

static void test_watch_truncated(void)
{
	struct msg m = {0};
	struct etcd_pb_watch_resp r;

	watch_response(&m, true);
	for (size_t n = 0; n < m.n; n++) {
		uint8_t *copy = malloc(n ? n : 1);
		int e;

		T_ASSERT(copy);
		memcpy(copy, m.b, n);
		e = etcd_pb_watch_response(copy, n, &r, NULL, NULL);
		free(copy);
		T_ASSERT(e == 0 || e == -EBADMSG);
	}
	T_EQ(etcd_pb_watch_response(m.b, m.n - 1, &r, NULL, NULL), -EBADMSG);
}

static void test_watch_hostile(void)
{
	struct etcd_pb_watch_resp r;
	struct msg m, e;
	int calls = 0;

	/* known fields of the wrong wire type: events, created, cancel_reason, an event's
	 * type, kv and prev_kv */
	m = (struct msg){0};
	f_varint(&m, 11, 1);
	T_EQ(etcd_pb_watch_response(m.b, m.n, &r, NULL, NULL), -EBADMSG);
	m = (struct msg){0};
	f_bytes(&m, 3, "x", 1);
	T_EQ(etcd_pb_watch_response(m.b, m.n, &r, NULL, NULL), -EBADMSG);
	m = (struct msg){0};
	f_varint(&m, 6, 1);
	T_EQ(etcd_pb_watch_response(m.b, m.n, &r, NULL, NULL), -EBADMSG);
	m = (struct msg){0};
	e = (struct msg){0};
	f_bytes(&e, 1, "x", 1);
	f_msg(&m, 11, &e);
	T_EQ(etcd_pb_watch_response(m.b, m.n, &r, NULL, NULL), -EBADMSG);
	m = (struct msg){0};
	e = (struct msg){0};
	f_varint(&e, 2, 1);
	f_msg(&m, 11, &e);
	T_EQ(etcd_pb_watch_response(m.b, m.n, &r, NULL, NULL), -EBADMSG);
	m = (struct msg){0};
	e = (struct msg){0};
	f_varint(&e, 3, 1);
	f_msg(&m, 11, &e);
	T_EQ(etcd_pb_watch_response(m.b, m.n, &r, NULL, NULL), -EBADMSG);
	/* an event with two kvs (a merge etcd never sends) */
	m = (struct msg){0};
	e = (struct msg){0};
	kv_f(&e, 2, "/a", "1", 3, 0, false);
	kv_f(&e, 2, "/b", "2", 3, 0, false);
	f_msg(&m, 11, &e);
	T_EQ(etcd_pb_watch_response(m.b, m.n, &r, NULL, NULL), -EBADMSG);
	/* an event whose kv's key runs past the kv (not past the message) */
	m = (struct msg){0};
	e = (struct msg){0};
	varint(&e, 2 << 3 | 2);
	varint(&e, 2);
	raw(&e, "\x0a\x05/abcd", 7);
	f_msg(&m, 11, &e);
	T_EQ(etcd_pb_watch_response(m.b, m.n, &r, NULL, NULL), -EBADMSG);
	/* an events length past the end */
	m = (struct msg){0};
	varint(&m, 11 << 3 | 2);
	varint(&m, UINT64_MAX);
	T_EQ(etcd_pb_watch_response(m.b, m.n, &r, NULL, NULL), -EBADMSG);
	/* the callback's error stops the walk */
	m = (struct msg){0};
	watch_response(&m, false);
	T_EQ(etcd_pb_watch_response(m.b, m.n, &r, stop_at_second_ev, &calls), -ECANCELED);
	T_EQ(calls, 2);
}

int main(void)
{
	T_RUN(test_request);
	T_RUN(test_response);
	T_RUN(test_unknown_fields);
	T_RUN(test_empty_and_callback);
	T_RUN(test_truncated);
	T_RUN(test_hostile);
	T_RUN(test_prefix);
	T_RUN(test_status);
	T_RUN(test_watch_request);
	T_RUN(test_watch_response);
	T_RUN(test_watch_truncated);
	T_RUN(test_watch_hostile);
	return T_EXIT();
}
