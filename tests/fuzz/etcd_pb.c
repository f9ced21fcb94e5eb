// SPDX-License-Identifier: Apache-2.0
/* libFuzzer target: etcd's RangeResponse as the gRPC range reads it and its WatchResponse as
 * the gRPC watch does (store/etcd_pb.c), and the status headers. Every kv (an event's kv and
 * prev_kv, a cancel reason) handed out must lie inside the input (each byte is read, so ASan
 * sees a pointer past it), and a message that reads must read the same again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/etcd_pb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct span {
	const uint8_t *p;
	size_t n;
	unsigned sum;
};

static int visit(const struct etcd_pb_kv *kv, void *arg)
{
	struct span *s = arg;

	if ((kv->key_len && (kv->key < s->p || kv->key + kv->key_len > s->p + s->n)) ||
	    (kv->value_len && (kv->value < s->p || kv->value + kv->value_len > s->p + s->n)))
		abort();
	for (size_t i = 0; i < kv->key_len; i++)
		s->sum += kv->key[i];
	for (size_t i = 0; i < kv->value_len; i++)
		s->sum += kv->value[i];
	return 0;
}

static int visit_event(const struct etcd_pb_event *ev, void *arg)
{
	if (!ev->has_kv && (ev->kv.key_len || ev->kv.value_len))
		abort();
	visit(&ev->kv, arg);
	return visit(&ev->prev_kv, arg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct etcd_pb_watch_resp wr, wagain;
	struct etcd_pb_range_resp r, again;
	struct etcd_grpc_status st;
	struct span s = {data, size, 0};
	size_t len;

	if (etcd_pb_range_response(data, size, &r, visit, &s) == 0) {
		if (etcd_pb_range_response(data, size, &again, NULL, NULL) != 0 ||
		    memcmp(&r, &again, sizeof(r)))
			abort();
	}
	if (etcd_pb_watch_response(data, size, &wr, visit_event, &s) == 0) {
		struct etcd_pb_kv reason = {.key = wr.cancel_reason,
					    .key_len = wr.cancel_reason_len};

		visit(&reason, &s);
		if (etcd_pb_watch_response(data, size, &wagain, NULL, NULL) != 0 ||
		    memcmp(&wr, &wagain, sizeof(wr)))
			abort();
	}
	if (size >= ETCD_GRPC_PREFIX && etcd_grpc_prefix(data, 1 << 20, &len) == 0 && len > 1 << 20)
		abort();
	/* the same bytes as header lines, split at each '\n' as libcurl hands them */
	etcd_grpc_status_init(&st);
	for (size_t i = 0, start = 0; i <= size; i++) {
		if (i == size || data[i] == '\n') {
			etcd_grpc_header(&st, (const char *)data + start, i - start);
			if (strnlen(st.message, sizeof(st.message)) == sizeof(st.message))
				abort(); /* always terminated */
			start = i + 1;
		}
	}
	return 0;
}
