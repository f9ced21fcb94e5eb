/* SPDX-License-Identifier: Apache-2.0 */
/* The etcd:// and etcds:// backend: etcd v3's HTTP/JSON gateway (/v3/kv/range, txn, lease
 * grant/keepalive/timetolive/revoke, compaction) over one reused libcurl handle, the
 * endpoints tried in turn. Range (get and list) goes over gRPC instead (KV.Range on
 * HTTP/2, a handle of its own), since the gateway's JSON of a large listing costs the
 * server more than the range itself; an endpoint that does not speak gRPC (an HTTP/1.1
 * proxy in front of the gateway) turns the store back to JSON. The watch (gRPC too, with
 * the same fallback) is in store/etcd_watch.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "store/etcd.h"
#include "store/etcd_pb.h"
#include "base/err.h"

#define CONNECT_TIMEOUT_MS 1500
#define REQUEST_TIMEOUT_MS 5000
/* How long a request keeps going round the endpoints while they answer "unavailable" (an
 * election after the leader died takes one to two seconds) */
#define RETRY_BUDGET_MS 8000

struct etcd_store {
	struct store base;
	struct etcd_url u;
	size_t cur; /* the endpoint that answered last: tried first */
	CURL *curl;
	struct curl_slist *headers;
	char errbuf[CURL_ERROR_SIZE];
	char *body;
	size_t len, cap;
	/* gRPC: its handle, headers and the answer's status; want is the message's length
	 * with its prefix once the prefix came, frame_err why the body was refused */
	CURL *grpc;
	struct curl_slist *grpc_headers, *watch_headers;
	struct etcd_grpc_status st;
	size_t want;
	int frame_err;
	bool json_range; /* range over JSON: asked for (api=json) or gRPC refused */
};

int64_t etcd_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

const struct etcd_url *etcd_store_url(const struct etcd_store *s)
{
	return &s->u;
}

size_t etcd_store_current(const struct etcd_store *s)
{
	return s->cur;
}

int etcd_curl_setup(const struct etcd_store *s, void *curl)
{
	CURLcode c = CURLE_OK;

#define SET(opt, v)                                         \
	do {                                                \
		if (c == CURLE_OK)                          \
			c = curl_easy_setopt(curl, opt, v); \
	} while (0)
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	SET(CURLOPT_TCP_KEEPIDLE, 10L);
	SET(CURLOPT_TCP_KEEPINTVL, 5L);
	SET(CURLOPT_PROTOCOLS_STR, s->u.tls ? "https" : "http");
	/* the members are on the cluster's own network: an http_proxy meant for the
	 * outside world must not carry the datastore's traffic */
	SET(CURLOPT_NOPROXY, "*");
	if (s->u.tls) {
		SET(CURLOPT_CAINFO, s->u.cacert);
		SET(CURLOPT_CAPATH, NULL);
		if (s->u.cert) {
			SET(CURLOPT_SSLCERT, s->u.cert);
			SET(CURLOPT_SSLKEY, s->u.key);
		}
	}
	SET(CURLOPT_HTTPHEADER, s->headers);
#undef SET
	return c == CURLE_OK ? 0 : -EINVAL;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct etcd_store *s = arg;
	size_t len = size * n;

	/* the largest answer is a page of values; a runaway one is cut off */
	if (s->len + len > 64 * (size_t)ETCD_VALUE_READ_MAX)
		return 0;
	if (s->len + len + 1 > s->cap) {
		size_t cap = (s->len + len + 1) * 2;
		char *b = realloc(s->body, cap);

		if (!b)
			return 0;
		s->body = b;
		s->cap = cap;
	}
	memcpy(s->body + s->len, data, len);
	s->len += len;
	s->body[s->len] = '\0';
	return len;
}

/* The gateway's error answer: {"error":"...","message":"...","code":N} (gRPC code) */
int etcd_grpc_errno(int code)
{
	switch (code) {
	case 3: /* InvalidArgument */
		return -EINVAL;
	case 5: /* NotFound */
		return -ENOENT;
	case 7: /* PermissionDenied */
	case 16: /* Unauthenticated */
		return -EACCES;
	case 11: /* OutOfRange */
		return -ERANGE;
	default:
		return -EIO;
	}
}

/* True when curl's error text is a TLS alert about certificates from the peer (OpenSSL's
 * "sslv3 alert bad certificate", "tlsv13 alert certificate required", "... unknown ca") */
static bool tls_refused(const char *errbuf)
{
	return strstr(errbuf, "alert") &&
	       (strstr(errbuf, "certificate") || strstr(errbuf, "unknown ca"));
}

static void server_message(const char *body, char *out, size_t len, int *code)
{
	cJSON *j = body ? cJSON_Parse(body) : NULL, *m;
	int64_t c = 0;

	*out = '\0';
	m = cJSON_GetObjectItemCaseSensitive(j, "message");
	etcd_safe_message(cJSON_IsString(m) ? m->valuestring : NULL, out, len);
	etcd_json_i64(j, "code", &c);
	*code = (int)c;
	cJSON_Delete(j);
}

/* TLS 1.3: a member that wants a client certificate ends the connection after the
 * handshake, which curl reports as a failed send or receive */
static const char *cert_hint(const struct etcd_store *s, CURLcode c)
{
	if (s->u.tls && !s->u.cert &&
	    (c == CURLE_SEND_ERROR || c == CURLE_RECV_ERROR || c == CURLE_SSL_CONNECT_ERROR ||
	     c == CURLE_GOT_NOTHING))
		return " (no client certificate was offered: a member run with --client-cert-auth needs cert=FILE&key=FILE)";
	return "";
}

int etcd_post(struct etcd_store *s, const char *path, cJSON *req, enum etcd_call kind, cJSON **resp,
	      const char *what, struct err *err)
{
	char *body = cJSON_PrintUnformatted(req), tried[512] = "", last[512] = "";
	int64_t deadline = etcd_now_ms() + RETRY_BUDGET_MS;
	int backoff = 100, r = -EIO;

	*resp = NULL;
	if (!body)
		return err_fail(err, CNI_ERR_IO, -ENOMEM, "etcd %s: out of memory", what);
	for (;;) {
		bool answered = false;

		tried[0] = '\0';
		for (size_t i = 0; i < s->u.n; i++) {
			size_t ep = (s->cur + i) % s->u.n;
			char url[320], msg[200];
			long status = 0;
			curl_off_t sent = 0;
			CURLcode c;
			int code;

			snprintf(url, sizeof(url), "%s://%s%s", s->u.tls ? "https" : "http",
				 s->u.endpoints[ep], path);
			s->len = 0;
			s->errbuf[0] = '\0';
			curl_easy_setopt(s->curl, CURLOPT_URL, url);
			curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, body);
			curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
			c = curl_easy_perform(s->curl);
			snprintf(tried + strlen(tried), sizeof(tried) - strlen(tried), "%s%s",
				 *tried ? ", " : "", s->u.endpoints[ep]);
			if (c != CURLE_OK) {
				snprintf(last, sizeof(last), "%s: %s%s", s->u.endpoints[ep],
					 *s->errbuf ? s->errbuf : curl_easy_strerror(c),
					 cert_hint(s, c));
				curl_easy_getinfo(s->curl, CURLINFO_PRETRANSFER_TIME_T, &sent);
				/* A write the member may have received is not sent again
				 * elsewhere: it may have been applied (etcd's own client
				 * retries a write only when it never left). A TLS alert about
				 * certificates is the member refusing the session itself: under
				 * TLS 1.3 it can arrive after the request was sent, but no request
				 * of a refused session is ever served. */
				if (kind == ETCD_WRITE && sent > 0 && !tls_refused(s->errbuf)) {
					r = err_fail(
						err, CNI_ERR_IO, -EIO,
						"etcd %s: %s (the write may have been applied)",
						what, last);
					goto out;
				}
				continue;
			}
			answered = true;
			curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
			if (status == 200) {
				s->cur = ep;
				*resp = cJSON_ParseWithLength(s->body ? s->body : "", s->len);
				if (!cJSON_IsObject(*resp)) {
					cJSON_Delete(*resp);
					*resp = NULL;
					r = err_fail(
						err, CNI_ERR_DECODE, -EBADMSG,
						"etcd %s: %s: an answer that is not a JSON object",
						what, s->u.endpoints[ep]);
				} else {
					r = 0;
				}
				goto out;
			}
			server_message(s->len ? s->body : NULL, msg, sizeof(msg), &code);
			snprintf(last, sizeof(last), "%s: HTTP %ld%s%s", s->u.endpoints[ep], status,
				 *msg ? ": " : "", msg);
			/* 5xx: this member cannot serve now (no leader, proposal dropped,
			 * stopping): the next one may. A timeout, or a leader change while
			 * the write was proposed, leaves its fate open: not sent again. */
			if (status >= 500 && kind == ETCD_WRITE &&
			    (!strncmp(msg, "etcdserver: request timed out", 29) ||
			     !strcmp(msg, "etcdserver: leader changed"))) {
				r = err_fail(err, CNI_ERR_IO, -ETIMEDOUT,
					     "etcd %s: %s (the write may have been applied)", what,
					     last);
				goto out;
			}
			if (status >= 500)
				continue;
			r = err_fail(err, CNI_ERR_IO, etcd_grpc_errno(code), "etcd %s: %s", what,
				     last);
			goto out;
		}
		if (!answered) {
			r = err_fail(err, CNI_ERR_IO, -EHOSTUNREACH,
				     "etcd %s: no endpoint answered (tried %s); last: %.300s", what,
				     tried, last);
			goto out;
		}
		if (etcd_now_ms() + backoff > deadline) {
			r = err_fail(err, CNI_ERR_IO, -EAGAIN,
				     "etcd %s: no endpoint could serve it (tried %s); last: %.200s",
				     what, tried, last);
			goto out;
		}
		struct timespec t = {0, backoff * 1000000L};

		nanosleep(&t, NULL);
		backoff = backoff * 2 > 1000 ? 1000 : backoff * 2;
	}
out:
	free(body);
	return r;
}

/* POSTs a request built by the caller (NULL: out of memory), consuming it */
static int call(struct etcd_store *s, const char *path, cJSON *req, enum etcd_call kind,
		cJSON **resp, const char *what, struct err *err)
{
	int r;

	if (!req)
		return err_fail(err, CNI_ERR_IO, -ENOMEM, "etcd %s: out of memory", what);
	r = etcd_post(s, path, req, kind, resp, what, err);
	cJSON_Delete(req);
	return r;
}

static cJSON *id_req(int64_t id, bool keys)
{
	cJSON *o = cJSON_CreateObject();

	if (!o || !etcd_json_add_i64(o, "ID", id) || (keys && !cJSON_AddTrueToObject(o, "keys"))) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static int check_key(const char *key, const char *what, struct err *err)
{
	if (!key || key[0] != '/' || strlen(key) > STORE_KEY_MAX)
		return err_fail(err, CNI_ERR_CONFIG, -EINVAL,
				"etcd %s: a key must start with '/' and have at most %d bytes",
				what, STORE_KEY_MAX);
	return 0;
}

static int decode_error(struct err *err, const char *what)
{
	return err_fail(err, CNI_ERR_DECODE, -EBADMSG, "etcd %s: a malformed answer", what);
}

/* Seconds the lease has left; 0 when it is gone (timetolive says -1) */
static int lease_ttl(struct etcd_store *s, int64_t lease, int64_t *ttl, struct err *err)
{
	cJSON *resp;
	int r = call(s, "/v3/lease/timetolive", id_req(lease, false), ETCD_READ, &resp,
		     "lease timetolive", err);

	if (r < 0)
		return r;
	if (!etcd_json_i64(resp, "TTL", ttl))
		r = decode_error(err, "lease timetolive");
	if (*ttl < 0)
		*ttl = 0;
	cJSON_Delete(resp);
	return r;
}

/* A key's previous lease, once the key no longer holds it, is revoked when no other key
 * does: the store granted it for that key alone. Best effort (it expires anyway). */
static void release_lease(struct etcd_store *s, int64_t lease)
{
	struct err e = {0};
	cJSON *resp, *keys;

	if (!lease || call(s, "/v3/lease/timetolive", id_req(lease, true), ETCD_READ, &resp,
			   "lease timetolive", &e) < 0)
		return;
	keys = cJSON_GetObjectItemCaseSensitive(resp, "keys");
	if (cJSON_GetArraySize(keys) == 0) {
		cJSON_Delete(resp);
		if (call(s, "/v3/lease/revoke", id_req(lease, false), ETCD_WRITE, &resp,
			 "lease revoke", &e) < 0)
			return;
	}
	cJSON_Delete(resp);
}

/* The kvs[] of a JSON answer into kvs (allocated) */
static int read_kvs(const cJSON *kvs, struct store_kv **out, size_t *n, const char *what,
		    struct err *err)
{
	int count = cJSON_GetArraySize(kvs);
	const cJSON *j;

	*out = NULL;
	*n = 0;
	if (kvs && !cJSON_IsArray(kvs))
		return decode_error(err, what);
	if (!count)
		return 0;
	*out = calloc((size_t)count, sizeof(**out));
	if (!*out)
		return err_fail(err, CNI_ERR_IO, -ENOMEM, "etcd %s: out of memory", what);
	cJSON_ArrayForEach(j, kvs) {
		if (etcd_parse_kv(j, &(*out)[*n]) < 0)
			return decode_error(err, what);
		(*n)++;
	}
	return 0;
}

static void free_kvs(struct store_kv *kvs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		store_kv_free(&kvs[i]);
	free(kvs);
}

/* ---- range over gRPC ---- */

/* The largest answer taken: a page of values, as on the JSON side */
#define GRPC_MSG_MAX (64 * (size_t)ETCD_VALUE_READ_MAX)
/* libcurl's receive buffer for the gRPC handle, as the curl tool sets it: with the default
 * 16 KiB, libcurl 7.88's HTTP/2 reader now and then leaves a large answer's last frames in
 * nghttp2 until its next 200 ms poll timeout (a 10,000-key listing took 30 ms or 220 ms
 * at random; with this, 30 ms every time) */
#define GRPC_BUFFER 102400L

static size_t on_grpc_header(char *line, size_t size, size_t n, void *arg)
{
	struct etcd_store *s = arg;

	etcd_grpc_header(&s->st, line, size * n);
	return size * n;
}

/* Keeps the one message of a unary answer, in a buffer of its exact size once its prefix
 * told the length (no doubling: a 10,000-key listing is a megabyte or more) */
static size_t on_grpc_body(char *data, size_t size, size_t n, void *arg)
{
	struct etcd_store *s = arg;
	size_t len = size * n, left = len;

	if (!s->st.grpc)
		return 0; /* not a gRPC answer: the caller turns to JSON */
	while (left) {
		size_t need = s->len < ETCD_GRPC_PREFIX ? ETCD_GRPC_PREFIX : s->want, take;

		if (s->len == need) {
			s->frame_err = -EBADMSG; /* a second message where one is due */
			return 0;
		}
		if (need + 1 > s->cap) {
			char *b = realloc(s->body, need + 1);

			if (!b) {
				s->frame_err = -ENOMEM;
				return 0;
			}
			s->body = b;
			s->cap = need + 1;
		}
		take = need - s->len < left ? need - s->len : left;
		memcpy(s->body + s->len, data, take);
		s->len += take;
		data += take;
		left -= take;
		if (s->len == ETCD_GRPC_PREFIX && !s->want) {
			size_t mlen;

			s->frame_err = etcd_grpc_prefix((uint8_t *)s->body, GRPC_MSG_MAX, &mlen);
			if (s->frame_err < 0)
				return 0;
			s->want = ETCD_GRPC_PREFIX + mlen;
		}
	}
	return len;
}

/* gRPC codes an HTTP gateway answers with a 5xx: this member cannot serve it now, another
 * may (Unknown, DeadlineExceeded, Unimplemented, Internal, Unavailable, DataLoss) */
bool etcd_grpc_retry(int code)
{
	return code == 2 || code == 4 || code == 12 || code == 13 || code == 14 || code == 15;
}

/* A transport error that may say the endpoint does not speak HTTP/2 (an HTTP/1.1 server
 * read the connection preface and answered in HTTP/1.1, or closed without a word: curl sees
 * a framing error, an empty reply, or a broken pipe or a reset as it sends or reads, by
 * timing), but may as well say that it is down (a member killed or restarting fails the
 * same way; a refused connect is not among them). Over TLS, ALPN settles HTTP/2: an empty
 * reply there is rather a member that wanted a client certificate. */
static bool not_h2(const struct etcd_store *s, CURLcode c)
{
	return c == CURLE_HTTP2 || c == CURLE_HTTP2_STREAM || c == CURLE_WEIRD_SERVER_REPLY ||
	       c == CURLE_UNSUPPORTED_PROTOCOL ||
	       (!s->u.tls &&
		(c == CURLE_GOT_NOTHING || c == CURLE_SEND_ERROR || c == CURLE_RECV_ERROR));
}

/* Whether the endpoint refused gRPC. On positive evidence, for good (ETCD_GRPC_REFUSED):
 * an answer in HTTP/1.x, or an HTTP/2 answer that is not gRPC with a status below 500 (a
 * 5xx that is not gRPC is a proxy's server error while etcd is down: another endpoint, or
 * this one later). A transport error of not_h2 on a connection made for this call (a
 * reused one may have been closed by the server) proves nothing alone
 * (ETCD_GRPC_DOUBTFUL): the caller asks the same endpoint over JSON, and turns the store
 * to JSON only when that succeeds; when it fails too, the endpoint was down and the next
 * call speaks gRPC again. */
int etcd_grpc_refused(const struct etcd_store *s, void *curl, int code,
		      const struct etcd_grpc_status *st)
{
	CURLcode c = (CURLcode)code;
	long version = 0, status = 0, fresh = 0;

	curl_easy_getinfo(curl, CURLINFO_HTTP_VERSION, &version);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (status > 0 && (version == CURL_HTTP_VERSION_1_0 || version == CURL_HTTP_VERSION_1_1))
		return ETCD_GRPC_REFUSED;
	if (c == CURLE_OK || c == CURLE_WRITE_ERROR)
		return status > 0 && status < 500 && !st->grpc ? ETCD_GRPC_REFUSED : 0;
	curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &fresh);
	return !st->grpc && fresh > 0 && not_h2(s, c) ? ETCD_GRPC_DOUBTFUL : 0;
}

/* libcurl before 8.0 fails the second request on a reused prior-knowledge HTTP/2
 * connection ("Error in the HTTP2 framing layer" before anything is sent: curl issue
 * 10634, Debian 12 has 7.88.1): there, each gRPC call of etcd:// takes a new connection
 * (a loopback or LAN connect, ~0.1 ms). etcds:// negotiates HTTP/2 by ALPN and reuses. */
static bool h2c_no_reuse(const struct etcd_store *s)
{
	return !s->u.tls && curl_version_info(CURLVERSION_NOW)->version_num < 0x080000;
}

int etcd_grpc_setup(const struct etcd_store *s, void *curl, bool watch)
{
	CURLcode c = CURLE_OK;

	if (etcd_curl_setup(s, curl) < 0)
		return -EINVAL;
#define SET(opt, v)                                         \
	do {                                                \
		if (c == CURLE_OK)                          \
			c = curl_easy_setopt(curl, opt, v); \
	} while (0)
	SET(CURLOPT_HTTPHEADER, watch ? s->watch_headers : s->grpc_headers);
	/* HTTP/2 from the first byte on etcd:// (etcd's port serves both), by ALPN on
	 * etcds:// */
	SET(CURLOPT_HTTP_VERSION,
	    s->u.tls ? (long)CURL_HTTP_VERSION_2TLS : (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
	SET(CURLOPT_BUFFERSIZE, GRPC_BUFFER);
	SET(CURLOPT_FORBID_REUSE, (long)h2c_no_reuse(s));
	/* and never multiplexed onto a live one there either (a watch's stream) */
	SET(CURLOPT_FRESH_CONNECT, (long)h2c_no_reuse(s));
#undef SET
	return c == CURLE_OK ? 0 : -EINVAL;
}

bool etcd_store_grpc(const struct etcd_store *s)
{
	return !s->json_range;
}

void etcd_store_no_grpc(struct etcd_store *s)
{
	s->json_range = true;
}

/* Posts a RangeRequest frame to the endpoints in turn. Returns 0 with the message in
 * s->body[ETCD_GRPC_PREFIX, s->want), ETCD_GRPC_REFUSED or ETCD_GRPC_DOUBTFUL when an
 * endpoint refused gRPC (etcd_grpc_refused; s->cur is that endpoint), or -errno with err
 * filled. */
static int grpc_call(struct etcd_store *s, const uint8_t *req, size_t req_len, const char *what,
		     struct err *err)
{
	char tried[512] = "", last[512] = "";
	int64_t deadline = etcd_now_ms() + RETRY_BUDGET_MS;
	int backoff = 100;

	for (;;) {
		bool answered = false;

		tried[0] = '\0';
		for (size_t i = 0; i < s->u.n; i++) {
			size_t ep = (s->cur + i) % s->u.n;
			char url[320], msg[200];
			CURLcode c;
			int r;

			snprintf(url, sizeof(url), "%s://%s%s", s->u.tls ? "https" : "http",
				 s->u.endpoints[ep], ETCD_GRPC_RANGE_PATH);
			s->len = s->want = 0;
			s->frame_err = 0;
			s->errbuf[0] = '\0';
			etcd_grpc_status_init(&s->st);
			curl_easy_setopt(s->grpc, CURLOPT_URL, url);
			curl_easy_setopt(s->grpc, CURLOPT_POSTFIELDS, req);
			curl_easy_setopt(s->grpc, CURLOPT_POSTFIELDSIZE, (long)req_len);
			c = curl_easy_perform(s->grpc);
			snprintf(tried + strlen(tried), sizeof(tried) - strlen(tried), "%s%s",
				 *tried ? ", " : "", s->u.endpoints[ep]);
			if (s->frame_err == -ENOMEM)
				return err_fail(err, CNI_ERR_IO, -ENOMEM, "etcd %s: out of memory",
						what);
			if (s->frame_err < 0)
				return err_fail(
					err, CNI_ERR_DECODE, -EBADMSG, "etcd %s: %s: %s", what,
					s->u.endpoints[ep],
					s->frame_err == -EPROTO ? "a compressed gRPC answer"
					: s->frame_err == -EMSGSIZE
						? "a gRPC answer of more than 64 MiB"
						: "more than one gRPC message in a unary answer");
			r = etcd_grpc_refused(s, s->grpc, c, &s->st);
			if (r) {
				s->cur = ep;
				return r;
			}
			if (c != CURLE_OK) {
				snprintf(last, sizeof(last), "%s: %s%s", s->u.endpoints[ep],
					 *s->errbuf ? s->errbuf : curl_easy_strerror(c),
					 cert_hint(s, c));
				continue;
			}
			answered = true;
			if (s->st.code == 0) {
				if (s->len < ETCD_GRPC_PREFIX || s->len != s->want)
					return err_fail(err, CNI_ERR_DECODE, -EBADMSG,
							"etcd %s: %s: a truncated gRPC answer",
							what, s->u.endpoints[ep]);
				s->cur = ep;
				return 0;
			}
			if (s->st.code < 0) {
				snprintf(last, sizeof(last), "%s: a gRPC answer without its status",
					 s->u.endpoints[ep]);
				continue;
			}
			etcd_safe_message(s->st.message, msg, sizeof(msg));
			snprintf(last, sizeof(last), "%s: gRPC status %d%s%s", s->u.endpoints[ep],
				 s->st.code, *msg ? ": " : "", msg);
			if (etcd_grpc_retry(s->st.code))
				continue;
			return err_fail(err, CNI_ERR_IO, etcd_grpc_errno(s->st.code), "etcd %s: %s",
					what, last);
		}
		if (!answered)
			return err_fail(err, CNI_ERR_IO, -EHOSTUNREACH,
					"etcd %s: no endpoint answered (tried %s); last: %.300s",
					what, tried, last);
		if (etcd_now_ms() + backoff > deadline)
			return err_fail(
				err, CNI_ERR_IO, -EAGAIN,
				"etcd %s: no endpoint could serve it (tried %s); last: %.200s",
				what, tried, last);
		struct timespec t = {0, backoff * 1000000L};

		nanosleep(&t, NULL);
		backoff = backoff * 2 > 1000 ? 1000 : backoff * 2;
	}
}

struct kv_fill {
	struct store_kv *kvs;
	size_t n, cap;
};

static char *dup_bytes(const uint8_t *p, size_t len)
{
	char *b = malloc(len + 1);

	if (b) {
		if (len)
			memcpy(b, p, len);
		b[len] = '\0';
	}
	return b;
}

/* What etcd_parse_kv checks of a JSON kv, for a protobuf one: values up to the read limit
 * (etcd.h: another client may write more than sluice's own write cap) */
int etcd_pb_kv_check(const struct etcd_pb_kv *kv)
{
	/* another client's value is read up to ETCD_VALUE_READ_MAX, as the JSON range does */
	if (!kv->key_len || kv->key_len > STORE_KEY_MAX || memchr(kv->key, 0, kv->key_len) ||
	    kv->value_len > ETCD_VALUE_READ_MAX)
		return -EBADMSG;
	return 0;
}

int etcd_kv_from_pb(const struct etcd_pb_kv *kv, struct store_kv *o)
{
	memset(o, 0, sizeof(*o));
	o->ttl = -1;
	if (etcd_pb_kv_check(kv) < 0)
		return -EBADMSG;
	o->key = dup_bytes(kv->key, kv->key_len);
	o->value = dup_bytes(kv->value, kv->value_len);
	if (!o->key || !o->value) {
		free(o->key);
		free(o->value);
		o->key = o->value = NULL;
		return -ENOMEM;
	}
	o->value_len = kv->value_len;
	o->create_rev = kv->create_rev;
	o->mod_rev = kv->mod_rev;
	o->version = kv->version;
	o->lease = kv->lease;
	return 0;
}

static int check_pb_kv(const struct etcd_pb_kv *kv, void *arg)
{
	return etcd_pb_kv_check(kv);
}

static int fill_kv(const struct etcd_pb_kv *kv, void *arg)
{
	struct kv_fill *f = arg;
	int r;

	if (f->n == f->cap)
		return -EBADMSG; /* more than the counting pass found: cannot be */
	r = etcd_kv_from_pb(kv, &f->kvs[f->n]);
	if (r < 0)
		return r;
	f->n++;
	return 0;
}

/* A range over gRPC into kvs (allocated), the key's bytes and values copied out of the
 * answer once. Returns 0, grpc_call's ETCD_GRPC_REFUSED or ETCD_GRPC_DOUBTFUL, or -errno. */
static int grpc_range(struct etcd_store *s, const struct etcd_pb_range_req *req,
		      struct store_kv **kvs, size_t *n, int64_t *rev, bool *more, const char *what,
		      struct err *err)
{
	uint8_t frame[2 * STORE_KEY_MAX + 64];
	struct etcd_pb_range_resp resp;
	struct kv_fill f = {0};
	const uint8_t *msg;
	size_t mlen;
	long flen = etcd_pb_range_request(req, frame, sizeof(frame));
	int r;

	if (flen < 0)
		return err_fail(err, CNI_ERR_CONFIG, -EINVAL, "etcd %s: a key too long", what);
	r = grpc_call(s, frame, (size_t)flen, what, err);
	if (r)
		return r;
	msg = (const uint8_t *)s->body + ETCD_GRPC_PREFIX;
	mlen = s->want - ETCD_GRPC_PREFIX;
	/* one pass checks it all and counts, the second copies into an array of that size */
	r = etcd_pb_range_response(msg, mlen, &resp, check_pb_kv, NULL);
	if (r < 0)
		return decode_error(err, what);
	if (resp.n) {
		f.kvs = calloc(resp.n, sizeof(*f.kvs));
		if (!f.kvs)
			return err_fail(err, CNI_ERR_IO, -ENOMEM, "etcd %s: out of memory", what);
		f.cap = resp.n;
		r = etcd_pb_range_response(msg, mlen, &resp, fill_kv, &f);
		if (r < 0) {
			free_kvs(f.kvs, f.n);
			if (r == -ENOMEM)
				return err_fail(err, CNI_ERR_IO, -ENOMEM, "etcd %s: out of memory",
						what);
			return decode_error(err, what);
		}
	}
	/* a large answer's buffer is not kept for the store's lifetime */
	if (s->cap > 1 << 20) {
		free(s->body);
		s->body = NULL;
		s->cap = s->len = 0;
	}
	*kvs = f.kvs;
	*n = f.n;
	if (rev)
		*rev = resp.header.revision;
	if (more)
		*more = resp.more;
	return 0;
}

/* A range over JSON (the gateway) */
static int json_range(struct etcd_store *s, const struct etcd_pb_range_req *req,
		      struct store_kv **kvs, size_t *n, int64_t *rev, bool *more, const char *what,
		      struct err *err)
{
	cJSON *resp;
	int r;

	cJSON *j = etcd_req_range(req->key, req->range_end, req->range_end_len, (size_t)req->limit);

	if (j && req->keys_only && !cJSON_AddTrueToObject(j, "keys_only")) {
		cJSON_Delete(j);
		j = NULL;
	}
	r = call(s, "/v3/kv/range", j, ETCD_READ, &resp, what, err);
	if (r < 0)
		return r;
	if (rev &&
	    !etcd_json_i64(cJSON_GetObjectItemCaseSensitive(resp, "header"), "revision", rev))
		r = decode_error(err, what);
	if (more)
		*more = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp, "more"));
	if (r >= 0)
		r = read_kvs(cJSON_GetObjectItemCaseSensitive(resp, "kvs"), kvs, n, what, err);
	cJSON_Delete(resp);
	return r;
}

/* Range over gRPC, or JSON when the store was told to or an endpoint refused gRPC; then,
 * with ttls, the TTL of every leased key (a request each); without, a leased key's TTL is
 * STORE_TTL_UNKNOWN (store_ttl looks it up) */
static int range(struct etcd_store *s, const struct etcd_pb_range_req *req, struct store_kv **kvs,
		 size_t *n, int64_t *rev, bool *more, bool ttls, const char *what, struct err *err)
{
	int r = 1;

	*kvs = NULL;
	*n = 0;
	if (!s->json_range) {
		r = grpc_range(s, req, kvs, n, rev, more, what, err);
		if (r == ETCD_GRPC_REFUSED)
			s->json_range = true; /* for the store's lifetime: a proxy stays */
	}
	if (r == ETCD_GRPC_REFUSED || r == ETCD_GRPC_DOUBTFUL) {
		size_t ep = s->cur;
		bool doubtful = r == ETCD_GRPC_DOUBTFUL;

		r = json_range(s, req, kvs, n, rev, more, what, err);
		/* confirmed by the same endpoint answering over JSON (else it was down) */
		if (doubtful && r >= 0 && s->cur == ep)
			s->json_range = true;
	}
	for (size_t i = 0; r >= 0 && i < *n; i++)
		if ((*kvs)[i].lease && ttls)
			r = lease_ttl(s, (*kvs)[i].lease, &(*kvs)[i].ttl, err);
		else if ((*kvs)[i].lease)
			(*kvs)[i].ttl = STORE_TTL_UNKNOWN;
	if (r < 0) {
		free_kvs(*kvs, *n);
		*kvs = NULL;
		*n = 0;
	}
	return r;
}

int etcd_store_rev(struct etcd_store *s, const char *key, int64_t *rev, const char *what,
		   struct err *err)
{
	struct store_kv *kvs;
	size_t n;
	int r = range(s,
		      &(struct etcd_pb_range_req){
			      .key = key, .key_len = strlen(key), .limit = 1, .keys_only = true},
		      &kvs, &n, rev, NULL, false, what, err);

	if (r >= 0)
		free_kvs(kvs, n);
	return r;
}

static int etcd_get(struct store *st, const char *key, struct store_kv *kv, int64_t *rev,
		    struct err *err)
{
	struct etcd_store *s = (struct etcd_store *)st;
	struct store_kv *kvs;
	size_t n;
	int r;

	memset(kv, 0, sizeof(*kv));
	r = check_key(key, "get", err);
	if (r < 0)
		return r;
	r = range(s, &(struct etcd_pb_range_req){.key = key, .key_len = strlen(key)}, &kvs, &n, rev,
		  NULL, true, "get", err);
	if (r < 0)
		return r;
	if (n > 1 || (n == 1 && strcmp(kvs[0].key, key))) {
		free_kvs(kvs, n);
		return decode_error(err, "get");
	}
	if (n == 1)
		*kv = kvs[0];
	free(kvs);
	return (int)n;
}

static int etcd_list(struct store *st, const char *prefix, const char *start, size_t limit,
		     struct store_list *out, struct err *err)
{
	struct etcd_store *s = (struct etcd_store *)st;
	size_t plen = strlen(prefix);
	char end[STORE_KEY_MAX + 1];
	int r;

	memset(out, 0, sizeof(*out));
	if (plen > STORE_KEY_MAX || (start && strlen(start) > STORE_KEY_MAX + 1))
		return err_fail(err, CNI_ERR_CONFIG, -EINVAL,
				"etcd list: a prefix of more than %d bytes", STORE_KEY_MAX);
	/* starting before the prefix would list keys outside it */
	if (!start || strcmp(start, prefix) < 0)
		start = prefix;
	r = range(s,
		  &(struct etcd_pb_range_req){.key = start,
					      .key_len = strlen(start),
					      .range_end = end,
					      .range_end_len = etcd_prefix_end(prefix, plen, end),
					      .limit = (int64_t)limit},
		  &out->kvs, &out->n, &out->rev, &out->more, false, "list", err);
	if (r < 0)
		return r;
	return (int)out->n;
}

/* The first response of a txn answer: responses[0].<name> */
static const cJSON *txn_response(const cJSON *resp, const char *name)
{
	const cJSON *rs = cJSON_GetObjectItemCaseSensitive(resp, "responses");

	return cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(rs, 0), name);
}

static int etcd_put(struct store *st, const char *key, const void *value, size_t len,
		    const struct store_put *o, int64_t *rev, struct store_kv *cur, struct err *err)
{
	struct etcd_store *s = (struct etcd_store *)st;
	int64_t lease = 0, prev = 0;
	cJSON *resp;
	int r;

	if (cur)
		memset(cur, 0, sizeof(*cur));
	r = check_key(key, "put", err);
	if (r < 0)
		return r;
	if (len > STORE_VALUE_MAX)
		return err_fail(err, CNI_ERR_CONFIG, -E2BIG,
				"etcd put: a value of more than %u bytes", STORE_VALUE_MAX);
	if (o->if_rev < STORE_ANY || o->ttl < 0)
		return err_fail(err, CNI_ERR_CONFIG, -EINVAL,
				"etcd put: a negative condition revision or TTL");
	if (o->ttl > 0) {
		cJSON *g = cJSON_CreateObject();

		if (g && !etcd_json_add_i64(g, "TTL", o->ttl)) {
			cJSON_Delete(g);
			g = NULL;
		}
		r = call(s, "/v3/lease/grant", g, ETCD_WRITE, &resp, "lease grant", err);
		if (r < 0)
			return r;
		if (!etcd_json_i64(resp, "ID", &lease) || !lease)
			r = decode_error(err, "lease grant");
		cJSON_Delete(resp);
		if (r < 0)
			return r;
	}
	r = call(s, "/v3/kv/txn", etcd_req_put_txn(key, value, len, lease, o->if_rev), ETCD_WRITE,
		 &resp, "put", err);
	if (r < 0)
		goto fail;
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp, "succeeded"))) {
		/* the condition failed: the failure branch read the key as it is */
		const cJSON *kvs = cJSON_GetObjectItemCaseSensitive(
			txn_response(resp, "response_range"), "kvs");
		struct store_kv *got;
		size_t n;

		r = 0;
		if (cur) {
			r = read_kvs(kvs, &got, &n, "put", err);
			if (r >= 0 && n && got[0].lease)
				r = lease_ttl(s, got[0].lease, &got[0].ttl, err);
			if (r >= 0 && n) {
				*cur = got[0];
				memset(&got[0], 0, sizeof(got[0]));
			}
			free_kvs(got, n);
		}
		cJSON_Delete(resp);
		if (r < 0)
			goto fail;
		release_lease(s, lease);
		return 0;
	}
	if ((rev &&
	     !etcd_json_i64(cJSON_GetObjectItemCaseSensitive(resp, "header"), "revision", rev)) ||
	    !etcd_json_i64(
		    cJSON_GetObjectItemCaseSensitive(txn_response(resp, "response_put"), "prev_kv"),
		    "lease", &prev)) {
		cJSON_Delete(resp);
		return decode_error(err, "put"); /* written, though */
	}
	cJSON_Delete(resp);
	if (prev != lease)
		release_lease(s, prev);
	return 1;
fail:
	release_lease(s, lease);
	return r;
}

static int etcd_delete(struct store *st, const char *key, int64_t if_rev, int64_t *rev,
		       struct err *err)
{
	struct etcd_store *s = (struct etcd_store *)st;
	const cJSON *dr;
	int64_t deleted = 0, lease = 0;
	cJSON *resp;
	int r;

	r = check_key(key, "delete", err);
	if (r < 0)
		return r;
	if (if_rev < STORE_ANY)
		return err_fail(err, CNI_ERR_CONFIG, -EINVAL,
				"etcd delete: a negative condition revision");
	r = call(s, "/v3/kv/txn", etcd_req_delete_txn(key, if_rev), ETCD_WRITE, &resp, "delete",
		 err);
	if (r < 0)
		return r;
	dr = txn_response(resp, "response_delete_range");
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp, "succeeded")) &&
	    (!etcd_json_i64(dr, "deleted", &deleted) ||
	     !etcd_json_i64(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(dr, "prev_kvs"), 0),
			    "lease", &lease) ||
	     (rev &&
	      !etcd_json_i64(cJSON_GetObjectItemCaseSensitive(resp, "header"), "revision", rev))))
		r = decode_error(err, "delete");
	cJSON_Delete(resp);
	if (r < 0)
		return r;
	release_lease(s, lease);
	return deleted > 0;
}

static int etcd_keepalive(struct store *st, const struct store_kv *kv, struct err *err)
{
	struct etcd_store *s = (struct etcd_store *)st;
	int64_t ttl = 0;
	cJSON *resp;
	int r;

	/* a key written without a TTL has no lease to keep alive (the dir backend says 0 too) */
	if (!kv->lease)
		return 0;
	/* one POST, one answer in "result" (the stream ends with the request body) */
	r = call(s, "/v3/lease/keepalive", id_req(kv->lease, false), ETCD_WRITE, &resp, "keepalive",
		 err);
	if (r < 0)
		return r;
	if (cJSON_GetObjectItemCaseSensitive(resp, "error"))
		r = err_fail(err, CNI_ERR_IO, -EIO, "etcd keepalive: the stream ended in an error");
	else if (!etcd_json_i64(cJSON_GetObjectItemCaseSensitive(resp, "result"), "TTL", &ttl))
		r = decode_error(err, "keepalive");
	cJSON_Delete(resp);
	if (r < 0)
		return r;
	return ttl > 0; /* TTL omitted: the lease is gone */
}

static int etcd_ttl(struct store *st, struct store_kv *kv, struct err *err)
{
	int64_t ttl = 0;
	int r;

	/* a key without a lease has none to ask about: as a list reads it, -1 */
	if (!kv->lease) {
		kv->ttl = -1;
		return 0;
	}
	r = lease_ttl((struct etcd_store *)st, kv->lease, &ttl, err);
	if (r < 0)
		return r;
	kv->ttl = ttl;
	return 0;
}

static int etcd_compact(struct store *st, int64_t rev, struct err *err)
{
	struct etcd_store *s = (struct etcd_store *)st;
	struct err e = {0};
	cJSON *req = cJSON_CreateObject(), *resp;
	int r;

	if (req &&
	    (!etcd_json_add_i64(req, "revision", rev) || !cJSON_AddTrueToObject(req, "physical"))) {
		cJSON_Delete(req);
		req = NULL;
	}
	r = call(s, "/v3/kv/compaction", req, ETCD_WRITE, &resp, "compact", &e);
	if (r == -ERANGE && strstr(e.msg, "has been compacted"))
		return 0; /* already compacted that far */
	if (r < 0)
		return err_fail(err, e.code, r, "%s", e.msg);
	cJSON_Delete(resp);
	return 0;
}

static void etcd_close(struct store *st)
{
	struct etcd_store *s = (struct etcd_store *)st;

	curl_easy_cleanup(s->curl);
	curl_easy_cleanup(s->grpc);
	curl_slist_free_all(s->headers);
	curl_slist_free_all(s->grpc_headers);
	curl_slist_free_all(s->watch_headers);
	etcd_url_free(&s->u);
	free(s->body);
	free(s->base.url);
	free(s);
}

static const struct store_ops etcd_ops = {
	.close = etcd_close,
	.get = etcd_get,
	.list = etcd_list,
	.put = etcd_put,
	.del = etcd_delete,
	.keepalive = etcd_keepalive,
	.ttl = etcd_ttl,
	.compact = etcd_compact,
	.watch_open = etcd_watch_open,
	.watch_fd = etcd_watch_fd,
	.watch_next = etcd_watch_next,
	.watch_rev = etcd_watch_rev,
	.watch_close = etcd_watch_close,
};

/* The headers of a gRPC call, and one more when extra is not NULL */
static struct curl_slist *grpc_headers(const char *extra)
{
	static const char *const h[] = {"Content-Type: application/grpc", "TE: trailers",
					"Expect:"};
	struct curl_slist *l = NULL, *n;

	for (size_t i = 0; i <= sizeof(h) / sizeof(*h); i++) {
		const char *v = i < sizeof(h) / sizeof(*h) ? h[i] : extra;

		if (!v)
			break;
		n = curl_slist_append(l, v);
		if (!n) {
			curl_slist_free_all(l);
			return NULL;
		}
		l = n;
	}
	return l;
}

struct store *store_etcd_open(const char *url, struct err *err)
{
	struct etcd_store *s = calloc(1, sizeof(*s));

	if (!s) {
		err_fail(err, CNI_ERR_IO, -ENOMEM, "etcd store: out of memory");
		return NULL;
	}
	s->base.ops = &etcd_ops;
	if (etcd_url_parse(url, &s->u, err) < 0) {
		free(s);
		return NULL;
	}
	/* libcurl >= 7.84 initialises itself thread-safely on first use; this is a no-op then */
	curl_global_init(CURL_GLOBAL_DEFAULT);
	s->base.url = strdup(url);
	s->curl = curl_easy_init();
	s->headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (s->headers) /* no "Expect: 100-continue" round trip before a large value */
		s->headers = curl_slist_append(s->headers, "Expect:");
	if (!s->base.url || !s->curl || !s->headers || etcd_curl_setup(s, s->curl) < 0 ||
	    curl_easy_setopt(s->curl, CURLOPT_TIMEOUT_MS, (long)REQUEST_TIMEOUT_MS) ||
	    curl_easy_setopt(s->curl, CURLOPT_ERRORBUFFER, s->errbuf) ||
	    curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, on_body) ||
	    curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, s)) {
		err_fail(err, CNI_ERR_IO, -ENOMEM, "etcd store: cannot set up libcurl");
		etcd_close(&s->base);
		return NULL;
	}
	s->json_range = s->u.api_json;
	if (s->json_range)
		return &s->base;
	/* gRPC: its trailers come to the header callback. A watch asks for a member with a
	 * leader (etcd's WithRequireLeader): etcd ends its stream when the member loses it. */
	s->grpc = curl_easy_init();
	s->grpc_headers = grpc_headers(NULL);
	s->watch_headers = grpc_headers("hasleader: true");
	if (!s->grpc || !s->grpc_headers || !s->watch_headers ||
	    etcd_grpc_setup(s, s->grpc, false) < 0 ||
	    curl_easy_setopt(s->grpc, CURLOPT_TIMEOUT_MS, (long)REQUEST_TIMEOUT_MS) ||
	    curl_easy_setopt(s->grpc, CURLOPT_ERRORBUFFER, s->errbuf) ||
	    curl_easy_setopt(s->grpc, CURLOPT_HEADERFUNCTION, on_grpc_header) ||
	    curl_easy_setopt(s->grpc, CURLOPT_HEADERDATA, s) ||
	    curl_easy_setopt(s->grpc, CURLOPT_WRITEFUNCTION, on_grpc_body) ||
	    curl_easy_setopt(s->grpc, CURLOPT_WRITEDATA, s)) {
		err_fail(err, CNI_ERR_IO, -ENOMEM, "etcd store: cannot set up libcurl");
		etcd_close(&s->base);
		return NULL;
	}
	return &s->base;
}
