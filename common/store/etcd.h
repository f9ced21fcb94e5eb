/* SPDX-License-Identifier: Apache-2.0 */
/* The etcd backend's insides, shared by store/etcd*.c and tests/unit/test_etcd.c: the URL
 * parser, the JSON request builders and answer readers (pure: no network), and the HTTP
 * transport (store/etcd.c). Field names are checked by the unit tests, because etcd's
 * gateway silently ignores a misspelt one (a misspelt range_end turns a listing into a get). */
#ifndef STORE_ETCD_H
#define STORE_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct cJSON;
struct err;
struct etcd_pb_kv;
struct etcd_grpc_status;

#define ETCD_DEFAULT_PORT 2379
#define ETCD_MAX_ENDPOINTS 16
/* The largest value read back (a listing, a watch event): another client may write up to
 * etcd's own request limit (--max-request-bytes, 1.5 MiB by default), more than sluice
 * writes (STORE_VALUE_MAX), and such a value under a watched prefix must not stop the
 * watch. Keys stay at STORE_KEY_MAX when read: callers rely on it (a listing's next page
 * starts after its last key), so a longer one is a malformed answer, reported as such. */
#define ETCD_VALUE_READ_MAX (2U << 20)

struct etcd_url {
	bool tls;
	size_t n;
	char *endpoints[ETCD_MAX_ENDPOINTS]; /* "host:port" or "[v6]:port" */
	char *cacert, *cert, *key; /* file paths (etcds:// only) */
	bool api_json; /* ?api=json: range over the JSON gateway too, never gRPC */
};

/* Parses etcd://h1:2379,h2:2379 or etcds://h:2379,...?cacert=F&cert=F&key=F, either with
 * ?api=json or api=grpc (the default) among its query keys. A missing port is 2379. Fills err (CNI_ERR_CONFIG) naming what is wrong. Returns 0 or -errno. */
int etcd_url_parse(const char *url, struct etcd_url *u, struct err *err);
void etcd_url_free(struct etcd_url *u);

/* etcd's range end for "every key starting with prefix": the prefix with its last byte that
 * is not 0xff incremented and what follows dropped; "\0" (every key) when there is none.
 * Writes at most len bytes into out, returns the length. */
size_t etcd_prefix_end(const char *prefix, size_t len, char *out);

/* Adds field name = base64(data[len]) */
bool etcd_json_add_bytes(struct cJSON *o, const char *name, const void *data, size_t len);
/* Adds an int64 field as etcd wants it: a JSON string */
bool etcd_json_add_i64(struct cJSON *o, const char *name, int64_t v);
/* Reads an int64 field (a JSON string or number); absent is 0 (the gateway omits zeroes).
 * Returns false for a malformed one. */
bool etcd_json_i64(const struct cJSON *o, const char *name, int64_t *v);

/* Request bodies (NULL when out of memory) */
struct cJSON *etcd_req_range(const char *key, const char *range_end, size_t range_end_len,
			     size_t limit);
struct cJSON *etcd_req_put_txn(const char *key, const void *value, size_t len, int64_t lease,
			       int64_t if_rev);
struct cJSON *etcd_req_delete_txn(const char *key, int64_t if_rev);
struct cJSON *etcd_req_watch(const char *prefix, int64_t start_rev);

/* Reads one kv of an answer into *kv (key and value decoded). Returns 0, or -EBADMSG. */
int etcd_parse_kv(const struct cJSON *j, struct store_kv *kv);

/* One message of the watch stream, as etcd_parse_watch_msg reads it */
struct etcd_watch_msg {
	int64_t header_rev;
	bool created, canceled;
	int64_t compact_rev;
	struct store_event *events;
	size_t n;
	char reason[128]; /* cancel_reason or the stream error's message, when safe to show */
	bool error; /* {"error":{...}}: the gateway ended the stream */
	bool fragment; /* one part of a response split by etcd; the last part has it false */
};

/* Parses one line of the gateway's watch stream. Returns 0 or -EBADMSG. */
int etcd_parse_watch_msg(const char *line, size_t len, struct etcd_watch_msg *m);
/* Reads one WatchResponse message of the gRPC watch (no gRPC prefix) into the same form,
 * checking every kv as a range does (store/etcd_watch.c). Returns 0, -EBADMSG or -ENOMEM. */
int etcd_parse_watch_pb(const uint8_t *msg, size_t len, struct etcd_watch_msg *m);
void etcd_watch_msg_free(struct etcd_watch_msg *m);

/* Copies the server's message into out when it can be shown: etcd's fixed texts
 * ("etcdserver: ...", "mvcc: ...", "lease: ...", "auth: ..."), without a quote, a
 * newline or a base64-looking run that could be an echoed key or value. Else "" . */
void etcd_safe_message(const char *msg, char *out, size_t len);

/* The HTTP side (store/etcd.c) */
struct etcd_store;
enum etcd_call { ETCD_READ, ETCD_WRITE };
/* POSTs req to path on the endpoints in turn; *resp is the parsed answer of a 200.
 * Returns 0 or -errno with err filled (what names the operation). */
int etcd_post(struct etcd_store *s, const char *path, struct cJSON *req, enum etcd_call kind,
	      struct cJSON **resp, const char *what, struct err *err);

/* A protobuf kv as a range or watch reads it: etcd_pb_kv_check refuses (-EBADMSG) an
 * empty key, one over STORE_KEY_MAX or holding a NUL, a value over ETCD_VALUE_READ_MAX;
 * etcd_kv_from_pb copies one out (ttl -1), or returns -EBADMSG or -ENOMEM. */
int etcd_pb_kv_check(const struct etcd_pb_kv *kv);
int etcd_kv_from_pb(const struct etcd_pb_kv *kv, struct store_kv *o);

/* gRPC as ranges and the watch share it (store/etcd.c) */
/* Sets up a handle for a gRPC call: etcd_curl_setup's options, HTTP/2 (prior knowledge on
 * etcd://, ALPN on etcds://), the gRPC headers (with watch, "hasleader: true" too). */
int etcd_grpc_setup(const struct etcd_store *s, void *curl, bool watch);
/* What a call that ended with curl code code and status st shows of the endpoint: 0 that
 * it speaks gRPC or is down; ETCD_GRPC_REFUSED that it does not speak gRPC (an answer in
 * HTTP/1.x, or one over HTTP/2 that is not gRPC and not a 5xx); ETCD_GRPC_DOUBTFUL that a
 * fresh connection failed as an HTTP/1.1-only server makes HTTP/2 fail, and as a member
 * being killed does: only a JSON call to it that succeeds confirms the refusal. */
#define ETCD_GRPC_REFUSED 1
#define ETCD_GRPC_DOUBTFUL 2
int etcd_grpc_refused(const struct etcd_store *s, void *curl, int code,
		      const struct etcd_grpc_status *st);
/* False once the store was told (api=json) or found (an endpoint refused gRPC) to speak
 * JSON only; etcd_store_no_grpc turns it so for the store's lifetime */
bool etcd_store_grpc(const struct etcd_store *s);
void etcd_store_no_grpc(struct etcd_store *s);
/* A gRPC status code as an errno (-EIO for most) */
int etcd_grpc_errno(int code);
/* A gRPC status code that says this member cannot serve now, another may */
bool etcd_grpc_retry(int code);
/* The store's revision now (a range of key, no value) */
int etcd_store_rev(struct etcd_store *s, const char *key, int64_t *rev, const char *what,
		   struct err *err);

/* What etcd_watch.c needs of the store */
const struct etcd_url *etcd_store_url(const struct etcd_store *s);
size_t etcd_store_current(const struct etcd_store *s);
/* Sets the TLS and timeout options every handle of the store shares */
int etcd_curl_setup(const struct etcd_store *s, void *curl);
int64_t etcd_now_ms(void);

struct store_watch *etcd_watch_open(struct store *s, const char *prefix, int64_t from_rev,
				    struct err *err);
int etcd_watch_fd(const struct store_watch *w);
int etcd_watch_next(struct store_watch *w, struct store_event *ev, int *timeout_ms,
		    struct err *err);
int64_t etcd_watch_rev(const struct store_watch *w);
void etcd_watch_close(struct store_watch *w);

#endif
