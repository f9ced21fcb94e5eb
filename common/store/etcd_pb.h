/* SPDX-License-Identifier: Apache-2.0 */
/* etcd's KV.Range and Watch.Watch over gRPC, the wire side only (pure: no network, no
 * allocation): the protobuf RangeRequest and WatchRequest sent, the RangeResponse and
 * WatchResponse read, gRPC's length-prefixed
 * framing and the grpc-status / grpc-message headers (or trailers). Field numbers are
 * etcd's api/etcdserverpb/rpc.proto and api/mvccpb/kv.proto (the same since 3.0). */
#ifndef STORE_ETCD_PB_H
#define STORE_ETCD_PB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* gRPC's message prefix: a compressed-flag byte and a big-endian uint32 length */
#define ETCD_GRPC_PREFIX 5
/* The methods' paths (package etcdserverpb, services KV and Watch) */
#define ETCD_GRPC_RANGE_PATH "/etcdserverpb.KV/Range"
#define ETCD_GRPC_WATCH_PATH "/etcdserverpb.Watch/Watch"

struct etcd_pb_range_req {
	const void *key;
	size_t key_len;
	const void *range_end; /* NULL: the one key */
	size_t range_end_len;
	int64_t limit, revision; /* 0: none, the newest */
	bool serializable, keys_only, count_only;
};

/* Writes the gRPC frame of a RangeRequest (prefix included) into out. Returns its length,
 * or -E2BIG when it does not fit in cap bytes. */
long etcd_pb_range_request(const struct etcd_pb_range_req *req, uint8_t *out, size_t cap);

/* One mvccpb.KeyValue, pointing into the message it was read from */
struct etcd_pb_kv {
	const uint8_t *key, *value;
	size_t key_len, value_len;
	int64_t create_rev, mod_rev, version, lease;
};

/* etcdserverpb.ResponseHeader, as every response carries it */
struct etcd_pb_header {
	uint64_t cluster_id, member_id, raft_term;
	int64_t revision;
};

struct etcd_pb_range_resp {
	struct etcd_pb_header header;
	int64_t count;
	bool more;
	size_t n; /* kvs in the message */
};

/* Called for each kv in order; a negative return stops the walk and is returned */
typedef int (*etcd_pb_kv_fn)(const struct etcd_pb_kv *kv, void *arg);

/* Reads a RangeResponse message (no gRPC prefix) of len bytes, calling fn (when not NULL)
 * on each kv. Fields it does not know are skipped by their wire type. Returns 0, -EBADMSG
 * for a malformed message, or what fn returned. */
int etcd_pb_range_response(const uint8_t *msg, size_t len, struct etcd_pb_range_resp *resp,
			   etcd_pb_kv_fn fn, void *arg);

/* A WatchRequest holding a WatchCreateRequest */
struct etcd_pb_watch_req {
	const void *key;
	size_t key_len;
	const void *range_end; /* NULL: the one key */
	size_t range_end_len;
	int64_t start_revision; /* 0: from now */
	bool progress_notify, prev_kv, fragment;
};

/* Writes the gRPC frame of a WatchRequest{create_request} (prefix included) into out.
 * Returns its length, or -E2BIG when it does not fit in cap bytes. */
long etcd_pb_watch_request(const struct etcd_pb_watch_req *req, uint8_t *out, size_t cap);

/* One mvccpb.Event: its type (0 PUT, 1 DELETE; another value is passed on as it is) */
struct etcd_pb_event {
	int64_t type;
	bool has_kv, has_prev_kv;
	struct etcd_pb_kv kv, prev_kv;
};

struct etcd_pb_watch_resp {
	struct etcd_pb_header header;
	int64_t watch_id, compact_revision;
	bool created, canceled, fragment;
	const uint8_t *cancel_reason; /* into the message; not terminated */
	size_t cancel_reason_len;
	size_t n; /* events in the message */
};

/* Called for each event in order; a negative return stops the walk and is returned */
typedef int (*etcd_pb_event_fn)(const struct etcd_pb_event *ev, void *arg);

/* Reads a WatchResponse message (no gRPC prefix) of len bytes, calling fn (when not NULL)
 * on each event, as etcd_pb_range_response does its kvs. Returns 0, -EBADMSG for a
 * malformed message, or what fn returned. */
int etcd_pb_watch_response(const uint8_t *msg, size_t len, struct etcd_pb_watch_resp *resp,
			   etcd_pb_event_fn fn, void *arg);

/* Reads a gRPC message prefix: *len is the message length that follows. Returns 0, -EPROTO
 * for a compressed message (never asked for), -EMSGSIZE when it is longer than max. */
int etcd_grpc_prefix(const uint8_t p[ETCD_GRPC_PREFIX], size_t max, size_t *len);

/* The status of a gRPC call, read from its headers and trailers */
struct etcd_grpc_status {
	bool grpc; /* content-type application/grpc[+proto] */
	int code; /* grpc-status; -1 while none came */
	char message[256]; /* grpc-message, percent-decoded (unfiltered: may echo a key) */
};

void etcd_grpc_status_init(struct etcd_grpc_status *st);
/* Takes one header line as libcurl hands it ("name: value\r\n", trailers too) */
void etcd_grpc_header(struct etcd_grpc_status *st, const char *line, size_t len);

#endif
