// SPDX-License-Identifier: Apache-2.0
/* The etcd backend's pure part: URL parsing with its exact errors, the request bodies byte
 * for byte (etcd's gateway ignores a misspelt field silently: a wrong "range_end" would turn
 * a listing into a get), and the answers of the reference transcripts read back; the gRPC
 * watch's WatchResponse messages as the watch takes them (etcd_parse_watch_pb). */
#define T_NAME "test_etcd"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/base64.h"
#include "base/err.h"
#include "store/etcd.h"
#include "t.h"

static const char *url_err(const char *url)
{
	static struct err e;
	struct etcd_url u;

	memset(&e, 0, sizeof(e));
	if (etcd_url_parse(url, &u, &e) == 0) {
		etcd_url_free(&u);
		return "(ok)";
	}
	return e.code == CNI_ERR_CONFIG ? e.msg : "(wrong code)";
}

static void test_url_forms(void)
{
	struct etcd_url u;
	struct err e = {0};

	T_EQ(etcd_url_parse("etcd://h1:2379,h2:2479", &u, &e), 0);
	T_ASSERT(!u.tls);
	T_EQ(u.n, 2);
	T_STREQ(u.endpoints[0], "h1:2379");
	T_STREQ(u.endpoints[1], "h2:2479");
	etcd_url_free(&u);
	T_EQ(etcd_url_parse("etcd://10.0.0.1/", &u, &e), 0); /* default port, a trailing '/' */
	T_EQ(u.n, 1);
	T_STREQ(u.endpoints[0], "10.0.0.1:2379");
	etcd_url_free(&u);
	T_EQ(etcd_url_parse("etcd://[fd00::1]:2379,[::1]", &u, &e), 0);
	T_STREQ(u.endpoints[0], "[fd00::1]:2379");
	T_STREQ(u.endpoints[1], "[::1]:2379");
	etcd_url_free(&u);
	T_EQ(etcd_url_parse("etcds://h:2379?cacert=/dev/null&cert=/dev/null&key=/dev/%6eull", &u,
			    &e),
	     0);
	T_ASSERT(u.tls);
	T_STREQ(u.cacert, "/dev/null");
	T_STREQ(u.cert, "/dev/null");
	T_STREQ(u.key, "/dev/null"); /* %XX decoded */
	etcd_url_free(&u);
	T_EQ(etcd_url_parse("etcds://h?cacert=/dev/null", &u, &e), 0); /* no client cert */
	T_ASSERT(!u.cert && !u.key);
	etcd_url_free(&u);
	/* api=json: range over the gateway; api=grpc (the default) */
	T_EQ(etcd_url_parse("etcd://h?api=json", &u, &e), 0);
	T_ASSERT(u.api_json && !u.tls);
	etcd_url_free(&u);
	T_EQ(etcd_url_parse("etcd://h?api=grpc", &u, &e), 0);
	T_ASSERT(!u.api_json);
	etcd_url_free(&u);
	T_EQ(etcd_url_parse("etcds://h?cacert=/dev/null&api=json", &u, &e), 0);
	T_ASSERT(u.api_json && u.tls);
	etcd_url_free(&u);
	T_EQ(e.code, 0);
}

static void test_url_errors(void)
{
	T_STREQ(url_err("etcds://h:2379"),
		"store URL: etcds:// needs cacert=FILE (the CA that signed the members' certificates)");
	T_STREQ(url_err("etcd://h?api=xml"), "store URL: api must be json or grpc");
	T_STREQ(url_err("etcd://h?api"), "store URL: api must be json or grpc");
	T_STREQ(url_err("etcd://h?api=json&api=grpc"), "store URL: query key api given twice");
	T_STREQ(url_err("etcd://h:2379?cacert=/dev/null"),
		"store URL: etcd:// takes only api=json|grpc (TLS is etcds://...?cacert=FILE&cert=FILE&key=FILE)");
	T_STREQ(url_err("etcds://h?cacert=/dev/null&ca=/x"),
		"store URL: unknown query key 'ca' (etcds:// takes cacert, cert, key, api)");
	T_STREQ(url_err("etcds://h?cacert=/dev/null&cacert=/dev/null"),
		"store URL: query key cacert given twice");
	T_STREQ(url_err("etcds://h?cacert="),
		"store URL: query key cacert needs a file (cacert=FILE)");
	T_STREQ(url_err("etcds://h?cacert=/dev/null&cert=/dev/null"),
		"store URL: cert=FILE and key=FILE go together (the client certificate and its key)");
	T_STREQ(url_err("etcds://h?cacert=/nonexistent/ca.pem"),
		"store URL: cacert /nonexistent/ca.pem: No such file or directory");
	T_STREQ(url_err("etcd://h:0"), "store URL: an endpoint's port must be 1-65535");
	T_STREQ(url_err("etcd://h:65536"), "store URL: an endpoint's port must be 1-65535");
	T_STREQ(url_err("etcd://h:23x"), "store URL: an endpoint's port must be 1-65535");
	T_STREQ(url_err("etcd://h:"), "store URL: an endpoint's port must be 1-65535");
	T_STREQ(url_err("etcd://h1,,h2"),
		"store URL: an empty endpoint (etcd://host:port,host:port)");
	T_STREQ(url_err("etcd://h1,"), "store URL: an empty endpoint (etcd://host:port,host:port)");
	T_STREQ(url_err("etcd://"), "store URL: no endpoint (etcd://host:port,host:port)");
	T_STREQ(url_err("etcd://h/v3"),
		"store URL: etcd:// takes no path (etcd://host:port,host:port)");
	T_STREQ(url_err("etcd://user:pw@h"),
		"store URL: user:password@ is not supported (etcds:// with a client certificate authenticates)");
	T_STREQ(url_err("etcd://h*st"),
		"store URL: a host holds a character other than letters, digits, '.', '-', '_'");
	T_STREQ(url_err("etcd://[fd00::1"), "store URL: an IPv6 endpoint without its closing ']'");
	T_STREQ(url_err("etcd://[fd00::1]x"), "store URL: junk after an IPv6 endpoint's ']'");
	T_STREQ(url_err("http://h:2379"), "store URL must start with etcd:// or etcds://");
	T_STREQ(url_err("etcd://a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q"),
		"store URL: more than 16 endpoints");
}

static void test_prefix_end(void)
{
	char out[64];
	size_t n;

	n = etcd_prefix_end("/coreos.com/network/subnets/", 28, out);
	T_EQ(n, 28);
	T_ASSERT(!memcmp(out, "/coreos.com/network/subnets0", 28));
	n = etcd_prefix_end("/a\xff", 3, out); /* the last byte that can grow, the rest cut */
	T_EQ(n, 2);
	T_ASSERT(!memcmp(out, "/b", 2));
	n = etcd_prefix_end("\xff\xff", 2, out); /* nothing can grow: every key */
	T_EQ(n, 1);
	T_EQ(out[0], 0);
}

static const char *json(cJSON *o)
{
	static char buf[2048];
	char *s = o ? cJSON_PrintUnformatted(o) : NULL;

	snprintf(buf, sizeof(buf), "%s", s ? s : "(null)");
	free(s);
	cJSON_Delete(o);
	return buf;
}

static void test_requests(void)
{
	/* /a/ .. /a0, limit 10: field names as etcd's proto spells them, int64 as strings */
	T_STREQ(json(etcd_req_range("/a/", "/a0", 3, 10)),
		"{\"key\":\"L2Ev\",\"range_end\":\"L2Ew\",\"limit\":\"10\"}");
	T_STREQ(json(etcd_req_range("/a/b", NULL, 0, 0)), "{\"key\":\"L2EvYg==\"}");
	/* create-if-absent: Flannel's createSubnet compare */
	T_STREQ(json(etcd_req_put_txn("/k", "v", 1, 0, STORE_ABSENT)),
		"{\"compare\":[{\"key\":\"L2s=\",\"result\":\"EQUAL\",\"target\":\"CREATE\",\"create_revision\":\"0\"}],"
		"\"success\":[{\"request_put\":{\"key\":\"L2s=\",\"value\":\"dg==\",\"prev_kv\":true}}],"
		"\"failure\":[{\"request_range\":{\"key\":\"L2s=\"}}]}");
	/* compare-and-swap with a lease */
	T_STREQ(json(etcd_req_put_txn("/k", "", 0, 2324035706776337161LL, 42)),
		"{\"compare\":[{\"key\":\"L2s=\",\"result\":\"EQUAL\",\"target\":\"MOD\",\"mod_revision\":\"42\"}],"
		"\"success\":[{\"request_put\":{\"key\":\"L2s=\",\"value\":\"\",\"lease\":\"2324035706776337161\",\"prev_kv\":true}}],"
		"\"failure\":[{\"request_range\":{\"key\":\"L2s=\"}}]}");
	T_STREQ(json(etcd_req_put_txn("/k", "v", 1, 0, STORE_ANY)),
		"{\"compare\":[],\"success\":[{\"request_put\":{\"key\":\"L2s=\",\"value\":\"dg==\",\"prev_kv\":true}}],"
		"\"failure\":[{\"request_range\":{\"key\":\"L2s=\"}}]}");
	T_STREQ(json(etcd_req_delete_txn("/k", 7)),
		"{\"compare\":[{\"key\":\"L2s=\",\"result\":\"EQUAL\",\"target\":\"MOD\",\"mod_revision\":\"7\"}],"
		"\"success\":[{\"request_delete_range\":{\"key\":\"L2s=\",\"prev_kv\":true}}],"
		"\"failure\":[{\"request_range\":{\"key\":\"L2s=\"}}]}");
	T_STREQ(json(etcd_req_watch("/a/", 5)),
		"{\"create_request\":{\"key\":\"L2Ev\",\"range_end\":\"L2Ew\",\"start_revision\":\"5\",\"progress_notify\":true,\"fragment\":true}}");
	T_STREQ(json(etcd_req_watch("/a/", 0)),
		"{\"create_request\":{\"key\":\"L2Ev\",\"range_end\":\"L2Ew\",\"progress_notify\":true,\"fragment\":true}}");
}

static void test_i64(void)
{
	cJSON *o = cJSON_Parse("{\"s\":\"9223372036854775807\",\"n\":42,\"bad\":\"12x\","
			       "\"big\":\"99999999999999999999\",\"f\":1.5,\"e\":\"\"}");
	int64_t v = -1;

	T_ASSERT(etcd_json_i64(o, "s", &v) && v == INT64_MAX);
	T_ASSERT(etcd_json_i64(o, "n", &v) && v == 42);
	T_ASSERT(etcd_json_i64(o, "absent", &v) && v == 0); /* the gateway omits zeroes */
	T_ASSERT(!etcd_json_i64(o, "bad", &v));
	T_ASSERT(!etcd_json_i64(o, "big", &v));
	T_ASSERT(!etcd_json_i64(o, "f", &v));
	T_ASSERT(!etcd_json_i64(o, "e", &v));
	cJSON_Delete(o);
}

static void test_parse_kv(void)
{
	/* from the reference transcript (3.4.23) */
	cJSON *j = cJSON_Parse(
		"{\"key\":\"L2NvcmVvcy5jb20vbmV0d29yay9jb25maWc=\",\"create_revision\":\"2\","
		"\"mod_revision\":\"3\",\"version\":\"2\",\"value\":\"eyJhIjoxfQ==\","
		"\"lease\":\"2324035706776337165\"}");
	struct store_kv kv;

	T_EQ(etcd_parse_kv(j, &kv), 0);
	T_STREQ(kv.key, "/coreos.com/network/config");
	T_STREQ(kv.value, "{\"a\":1}");
	T_EQ(kv.value_len, 7);
	T_EQ(kv.create_rev, 2);
	T_EQ(kv.mod_rev, 3);
	T_EQ(kv.version, 2);
	T_EQ(kv.lease, 2324035706776337165LL);
	T_EQ(kv.ttl, STORE_TTL_UNKNOWN); /* a leased key's TTL is not in its kv */
	store_kv_free(&kv);
	cJSON_Delete(j);
	/* an empty value is omitted */
	j = cJSON_Parse("{\"key\":\"L2s=\",\"create_revision\":\"5\",\"mod_revision\":\"5\","
			"\"version\":\"1\"}");
	T_EQ(etcd_parse_kv(j, &kv), 0);
	T_STREQ(kv.value, "");
	T_EQ(kv.value_len, 0);
	T_EQ(kv.lease, 0);
	store_kv_free(&kv);
	cJSON_Delete(j);
	j = cJSON_Parse("{\"key\":\"L2s\"}"); /* not base64 */
	T_EQ(etcd_parse_kv(j, &kv), -EBADMSG);
	T_ASSERT(!kv.key);
	cJSON_Delete(j);
	j = cJSON_Parse("{\"key\":\"L2sAeA==\"}"); /* a NUL in a key */
	T_EQ(etcd_parse_kv(j, &kv), -EBADMSG);
	cJSON_Delete(j);
	j = cJSON_Parse("{\"value\":\"eA==\"}"); /* no key */
	T_EQ(etcd_parse_kv(j, &kv), -EBADMSG);
	cJSON_Delete(j);
	j = cJSON_Parse("{\"key\":\"L2s=\",\"mod_revision\":\"x\"}");
	T_EQ(etcd_parse_kv(j, &kv), -EBADMSG);
	cJSON_Delete(j);
}

static int watch_msg(const char *line, struct etcd_watch_msg *m)
{
	return etcd_parse_watch_msg(line, strlen(line), m);
}

static void test_watch_messages(void)
{
	struct etcd_watch_msg m;

	T_EQ(watch_msg("{\"result\":{\"header\":{\"revision\":\"4\"},\"created\":true}}", &m), 0);
	T_ASSERT(m.created && !m.canceled && !m.error);
	T_EQ(m.header_rev, 4);
	T_EQ(m.n, 0);
	etcd_watch_msg_free(&m);
	/* a PUT has no "type"; a DELETE's kv has the key and the deleting revision only */
	T_EQ(watch_msg("{\"result\":{\"header\":{\"revision\":\"6\"},\"events\":["
		       "{\"kv\":{\"key\":\"L2E=\",\"create_revision\":\"5\",\"mod_revision\":\"5\","
		       "\"version\":\"1\",\"value\":\"eA==\"}},"
		       "{\"type\":\"DELETE\",\"kv\":{\"key\":\"L2E=\",\"mod_revision\":\"6\"},"
		       "\"prev_kv\":{\"key\":\"L2E=\",\"value\":\"eA==\"}}]}}",
		       &m),
	     0);
	T_EQ(m.n, 2);
	T_EQ(m.events[0].type, STORE_EV_PUT);
	T_STREQ(m.events[0].kv.key, "/a");
	T_STREQ(m.events[0].kv.value, "x");
	T_EQ(m.events[0].kv.mod_rev, 5);
	T_EQ(m.events[1].type, STORE_EV_DELETE);
	T_STREQ(m.events[1].kv.key, "/a");
	T_EQ(m.events[1].kv.mod_rev, 6);
	T_EQ(m.events[1].kv.value_len, 0);
	etcd_watch_msg_free(&m);
	T_EQ(watch_msg("{\"result\":{\"header\":{\"revision\":\"9\"},\"canceled\":true,"
		       "\"compact_revision\":\"5\"}}",
		       &m),
	     0);
	T_ASSERT(m.canceled);
	T_EQ(m.compact_rev, 5);
	etcd_watch_msg_free(&m);
	/* a part of a split response: the others follow, the last without "fragment" */
	T_EQ(watch_msg("{\"result\":{\"header\":{\"revision\":\"9\"},\"fragment\":true,"
		       "\"events\":[{\"kv\":{\"key\":\"L2E=\",\"mod_revision\":\"7\"}}]}}",
		       &m),
	     0);
	T_ASSERT(m.fragment);
	T_EQ(m.n, 1);
	etcd_watch_msg_free(&m);
	/* a value larger than sluice writes, as another client may write it, is read */
	{
		size_t vlen = (3U << 19) + 1000, blen = (vlen + 2) / 3 * 4;
		char *v = malloc(vlen), *b64 = malloc(blen + 1), *line = malloc(blen + 200);

		T_ASSERT(v && b64 && line);
		memset(v, 'x', vlen);
		base64_encode(v, vlen, b64);
		snprintf(line, blen + 200,
			 "{\"result\":{\"header\":{\"revision\":\"9\"},\"events\":[{\"kv\":"
			 "{\"key\":\"L2E=\",\"mod_revision\":\"9\",\"value\":\"%s\"}}]}}",
			 b64);
		T_EQ(watch_msg(line, &m), 0);
		T_ASSERT(!m.fragment);
		T_EQ(m.n, 1);
		T_EQ(m.events[0].kv.value_len, vlen);
		etcd_watch_msg_free(&m);
		free(v);
		free(b64);
		free(line);
	}
	/* a progress notification: a header alone */
	T_EQ(watch_msg("{\"result\":{\"header\":{\"revision\":\"12\"}}}", &m), 0);
	T_ASSERT(!m.created && !m.canceled && m.n == 0);
	T_EQ(m.header_rev, 12);
	T_EQ(watch_msg(
		     "{\"error\":{\"grpc_code\":14,\"http_code\":503,"
		     "\"message\":\"etcdserver: no leader\",\"http_status\":\"Service Unavailable\"}}",
		     &m),
	     0);
	T_ASSERT(m.error);
	T_STREQ(m.reason, "etcdserver: no leader");
	T_EQ(watch_msg("{\"result\":{\"header\":{},\"canceled\":true,"
		       "\"cancel_reason\":\"etcdserver: bad key \\\"/s3cr3t\\\"\"}}",
		       &m),
	     0);
	T_STREQ(m.reason, ""); /* quotes: it could echo a key */
	T_EQ(watch_msg("{\"result\":{\"events\":[{\"type\":\"BOGUS\",\"kv\":{\"key\":\"L2E=\"}}]}}",
		       &m),
	     -EBADMSG);
	T_EQ(watch_msg("{\"result\":{\"events\":[{\"kv\":{\"key\":\"!!\"}}]}}", &m), -EBADMSG);
	T_EQ(watch_msg("{\"result\":", &m), -EBADMSG);
	T_EQ(watch_msg("[]", &m), -EBADMSG);
}

/* ---- the gRPC watch's messages (etcd_parse_watch_pb): a protobuf writer of the test's own */

struct pb {
	uint8_t *b;
	size_t n, cap;
};

static void pb_raw(struct pb *m, const void *p, size_t n)
{
	if (m->n + n > m->cap) {
		m->cap = (m->n + n) * 2 + 64;
		m->b = realloc(m->b, m->cap);
		T_ASSERT(m->b);
	}
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void pb_varint(struct pb *m, uint64_t v)
{
	do {
		uint8_t b = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));

		pb_raw(m, &b, 1);
		v >>= 7;
	} while (v);
}

static void pb_int(struct pb *m, unsigned f, uint64_t v)
{
	pb_varint(m, f << 3 | 0);
	pb_varint(m, v);
}

static void pb_bytes(struct pb *m, unsigned f, const void *p, size_t n)
{
	pb_varint(m, f << 3 | 2);
	pb_varint(m, n);
	pb_raw(m, p, n);
}

/* pb_bytes of a sub-message, which it frees */
static void pb_msg(struct pb *m, unsigned f, struct pb *sub)
{
	pb_bytes(m, f, sub->b, sub->n);
	free(sub->b);
	*sub = (struct pb){0};
}

/* an Event {type, kv {key, create, mod, version, value, lease}} appended as events (11) */
static void pb_event(struct pb *m, int type, const void *key, size_t klen, int64_t rev,
		     const void *value, size_t vlen, int64_t lease)
{
	struct pb e = {0}, kv = {0};

	if (type)
		pb_int(&e, 1, (uint64_t)type);
	pb_bytes(&kv, 1, key, klen);
	if (type == 0) {
		pb_int(&kv, 2, (uint64_t)rev);
		pb_int(&kv, 4, 1);
		pb_bytes(&kv, 5, value, vlen);
		if (lease)
			pb_int(&kv, 6, (uint64_t)lease);
	}
	pb_int(&kv, 3, (uint64_t)rev);
	pb_msg(&e, 2, &kv);
	if (type == 1) { /* a prev_kv, as etcd sends when asked: not read */
		pb_bytes(&kv, 1, key, klen);
		pb_bytes(&kv, 5, "old", 3);
		pb_msg(&e, 3, &kv);
	}
	pb_msg(m, 11, &e);
}

static void pb_header(struct pb *m, int64_t rev)
{
	struct pb h = {0};

	pb_int(&h, 3, (uint64_t)rev);
	pb_msg(m, 1, &h);
}

static int watch_pb(struct pb *m, struct etcd_watch_msg *out)
{
	int r = etcd_parse_watch_pb(m->b, m->n, out);

	free(m->b);
	*m = (struct pb){0};
	return r;
}

static void test_watch_pb(void)
{
	struct etcd_watch_msg m;
	struct pb p = {0};
	char key[STORE_KEY_MAX + 1];
	char *big;

	pb_header(&p, 4);
	pb_int(&p, 3, 1);
	T_EQ(watch_pb(&p, &m), 0);
	T_ASSERT(m.created && !m.canceled && !m.fragment && !m.error);
	T_EQ(m.header_rev, 4);
	T_EQ(m.n, 0);
	etcd_watch_msg_free(&m);
	/* a PUT of a leased key (its TTL unknown) and a DELETE (key and revision only) */
	pb_header(&p, 6);
	pb_event(&p, 0, "/a", 2, 5, "x", 1, 7);
	pb_event(&p, 1, "/a", 2, 6, NULL, 0, 0);
	T_EQ(watch_pb(&p, &m), 0);
	T_EQ(m.header_rev, 6);
	T_EQ(m.n, 2);
	T_EQ(m.events[0].type, STORE_EV_PUT);
	T_STREQ(m.events[0].kv.key, "/a");
	T_STREQ(m.events[0].kv.value, "x");
	T_EQ(m.events[0].kv.value_len, 1);
	T_EQ(m.events[0].kv.create_rev, 5);
	T_EQ(m.events[0].kv.mod_rev, 5);
	T_EQ(m.events[0].kv.version, 1);
	T_EQ(m.events[0].kv.lease, 7);
	T_EQ(m.events[0].kv.ttl, STORE_TTL_UNKNOWN);
	T_EQ(m.events[1].type, STORE_EV_DELETE);
	T_STREQ(m.events[1].kv.key, "/a");
	T_EQ(m.events[1].kv.mod_rev, 6);
	T_EQ(m.events[1].kv.value_len, 0);
	T_STREQ(m.events[1].kv.value, "");
	T_EQ(m.events[1].kv.create_rev, 0);
	T_EQ(m.events[1].kv.ttl, -1);
	etcd_watch_msg_free(&m);
	/* compacted; a cancel reason shown when it is one of etcd's fixed texts, not when it
	 * could echo a key */
	pb_header(&p, 9);
	pb_int(&p, 4, 1);
	pb_int(&p, 5, 5);
	pb_bytes(&p, 6, "mvcc: required revision has been compacted", 42);
	T_EQ(watch_pb(&p, &m), 0);
	T_ASSERT(m.canceled);
	T_EQ(m.compact_rev, 5);
	T_STREQ(m.reason, "mvcc: required revision has been compacted");
	pb_int(&p, 4, 1);
	pb_bytes(&p, 6, "etcdserver: bad key \"/s3cr3t\"", 29);
	T_EQ(watch_pb(&p, &m), 0);
	T_STREQ(m.reason, "");
	/* a part of a split response */
	pb_header(&p, 9);
	pb_int(&p, 7, 1);
	pb_event(&p, 0, "/a", 2, 7, "y", 1, 0);
	T_EQ(watch_pb(&p, &m), 0);
	T_ASSERT(m.fragment);
	T_EQ(m.n, 1);
	T_EQ(m.events[0].kv.ttl, -1);
	etcd_watch_msg_free(&m);
	/* a value larger than sluice writes (another client's) is read; one over the read
	 * limit is not */
	big = malloc(ETCD_VALUE_READ_MAX + 1);
	T_ASSERT(big);
	memset(big, 'v', ETCD_VALUE_READ_MAX + 1);
	pb_event(&p, 0, "/a", 2, 9, big, ETCD_VALUE_READ_MAX, 0);
	T_EQ(watch_pb(&p, &m), 0);
	T_EQ(m.events[0].kv.value_len, ETCD_VALUE_READ_MAX);
	etcd_watch_msg_free(&m);
	pb_event(&p, 0, "/a", 2, 9, big, ETCD_VALUE_READ_MAX + 1, 0);
	T_EQ(watch_pb(&p, &m), -EBADMSG);
	T_ASSERT(!m.events && !m.n);
	free(big);
	/* keys sluice cannot take: a NUL in it, one over STORE_KEY_MAX, none (an event
	 * without its kv); an event type that is neither PUT nor DELETE; the second of two
	 * events bad (the first is freed, nothing kept) */
	pb_event(&p, 0, "/a\0b", 4, 9, "x", 1, 0);
	T_EQ(watch_pb(&p, &m), -EBADMSG);
	memset(key, 'k', sizeof(key));
	key[0] = '/';
	pb_event(&p, 0, key, sizeof(key), 9, "x", 1, 0);
	T_EQ(watch_pb(&p, &m), -EBADMSG);
	pb_event(&p, 0, key, sizeof(key) - 1, 9, "x", 1, 0);
	T_EQ(watch_pb(&p, &m), 0);
	T_EQ(strlen(m.events[0].kv.key), STORE_KEY_MAX);
	etcd_watch_msg_free(&m);
	pb_bytes(&p, 11, "\x08\x00", 2);
	T_EQ(watch_pb(&p, &m), -EBADMSG);
	pb_event(&p, 2, "/a", 2, 9, "x", 1, 0);
	T_EQ(watch_pb(&p, &m), -EBADMSG);
	pb_event(&p, 0, "/a", 2, 9, "x", 1, 0);
	pb_event(&p, 0, "/b\0", 3, 9, "x", 1, 0);
	T_EQ(watch_pb(&p, &m), -EBADMSG);
	T_ASSERT(!m.events && !m.n);
	/* a truncated message */
	pb_header(&p, 9);
	pb_event(&p, 0, "/a", 2, 9, "x", 1, 0);
	p.n--;
	T_EQ(watch_pb(&p, &m), -EBADMSG);
}

static const char *safe(const char *msg)
{
	static char out[200];

	etcd_safe_message(msg, out, sizeof(out));
	return out;
}

static void test_safe_message(void)
{
	T_STREQ(safe("etcdserver: requested lease not found"),
		"etcdserver: requested lease not found");
	T_STREQ(safe("mvcc: required revision has been compacted"),
		"mvcc: required revision has been compacted");
	T_STREQ(safe("illegal base64 data at input byte 4"), ""); /* not one of etcd's texts */
	T_STREQ(safe("etcdserver: key \"/pods/x\" is bad"), "");
	T_STREQ(safe("etcdserver: L2NvcmVvcy5jb20vbmV0d29yay9jb25maWMvc2VjcmV0LXRva2Vu"), "");
	T_STREQ(safe("etcdserver: a\nb"), "");
	T_STREQ(safe(NULL), "");
}

int main(void)
{
	T_RUN(test_url_forms);
	T_RUN(test_url_errors);
	T_RUN(test_prefix_end);
	T_RUN(test_requests);
	T_RUN(test_i64);
	T_RUN(test_parse_kv);
	T_RUN(test_watch_messages);
	T_RUN(test_watch_pb);
	T_RUN(test_safe_message);
	return T_EXIT();
}
