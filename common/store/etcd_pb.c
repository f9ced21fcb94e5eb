/* SPDX-License-Identifier: Apache-2.0 */
/* The protobuf and gRPC wire formats that etcd's KV.Range and Watch.Watch need, and no more: varints,
 * length-delimited fields, fixed32/64 skipped, groups refused. The reader never trusts a
 * length: every field is checked against what is left of its message. */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "store/etcd_pb.h"

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

/* ---- writing ---- */

struct wbuf {
	uint8_t *p;
	size_t len, cap;
	bool full;
};

static void put_byte(struct wbuf *w, uint8_t b)
{
	if (w->len < w->cap)
		w->p[w->len++] = b;
	else
		w->full = true;
}

static void put_varint(struct wbuf *w, uint64_t v)
{
	while (v >= 0x80) {
		put_byte(w, (uint8_t)(v | 0x80));
		v >>= 7;
	}
	put_byte(w, (uint8_t)v);
}

static void put_tag(struct wbuf *w, unsigned field, unsigned wt)
{
	put_varint(w, (uint64_t)field << 3 | wt);
}

static void put_bytes(struct wbuf *w, unsigned field, const void *data, size_t len)
{
	put_tag(w, field, WT_LEN);
	put_varint(w, len);
	if (w->len + len > w->cap) {
		w->full = true;
		return;
	}
	if (len)
		memcpy(w->p + w->len, data, len);
	w->len += len;
}

/* proto3: a zero scalar is not sent */
static void put_int(struct wbuf *w, unsigned field, uint64_t v)
{
	if (!v)
		return;
	put_tag(w, field, WT_VARINT);
	put_varint(w, v);
}

/* Writes the gRPC prefix in front of the message written after it */
static long finish(struct wbuf *w)
{
	size_t n;

	if (w->full || w->len - ETCD_GRPC_PREFIX > UINT32_MAX)
		return -E2BIG;
	n = w->len - ETCD_GRPC_PREFIX;
	w->p[0] = 0; /* not compressed */
	w->p[1] = (uint8_t)(n >> 24);
	w->p[2] = (uint8_t)(n >> 16);
	w->p[3] = (uint8_t)(n >> 8);
	w->p[4] = (uint8_t)n;
	return (long)w->len;
}

long etcd_pb_range_request(const struct etcd_pb_range_req *req, uint8_t *out, size_t cap)
{
	struct wbuf w = {out, ETCD_GRPC_PREFIX, cap, cap < ETCD_GRPC_PREFIX};

	/* RangeRequest: key 1, range_end 2, limit 3, revision 4, serializable 7,
	 * keys_only 8, count_only 9 */
	put_bytes(&w, 1, req->key, req->key_len);
	if (req->range_end)
		put_bytes(&w, 2, req->range_end, req->range_end_len);
	put_int(&w, 3, (uint64_t)req->limit);
	put_int(&w, 4, (uint64_t)req->revision);
	put_int(&w, 7, req->serializable);
	put_int(&w, 8, req->keys_only);
	put_int(&w, 9, req->count_only);
	return finish(&w);
}

long etcd_pb_watch_request(const struct etcd_pb_watch_req *req, uint8_t *out, size_t cap)
{
	/* the create_request is written first at the farthest its tag and length could push
	 * it (1 + 10 bytes), then moved down next to them once its length is known */
	const size_t at = ETCD_GRPC_PREFIX + 11;
	struct wbuf cr = {out, at, cap, cap < at}, w = {out, ETCD_GRPC_PREFIX, cap, false};
	size_t n;

	/* WatchCreateRequest: key 1, range_end 2, start_revision 3, progress_notify 4,
	 * prev_kv 6, fragment 8 (etcd 3.4 on; an older one skips it) */
	put_bytes(&cr, 1, req->key, req->key_len);
	if (req->range_end)
		put_bytes(&cr, 2, req->range_end, req->range_end_len);
	put_int(&cr, 3, (uint64_t)req->start_revision);
	put_int(&cr, 4, req->progress_notify);
	put_int(&cr, 6, req->prev_kv);
	put_int(&cr, 8, req->fragment);
	if (cr.full)
		return -E2BIG;
	n = cr.len - at;
	/* WatchRequest: create_request 1 */
	put_tag(&w, 1, WT_LEN);
	put_varint(&w, n);
	memmove(out + w.len, out + at, n);
	w.len += n;
	return finish(&w);
}

/* ---- reading ---- */

struct rbuf {
	const uint8_t *p, *end;
};

/* At most 10 bytes, the tenth holding the 64th bit only */
static int get_varint(struct rbuf *r, uint64_t *v)
{
	*v = 0;
	for (unsigned i = 0; i < 10; i++) {
		uint8_t b;

		if (r->p == r->end)
			return -EBADMSG;
		b = *r->p++;
		if (i == 9 && b > 1)
			return -EBADMSG;
		*v |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80))
			return 0;
	}
	return -EBADMSG;
}

/* The next field: its number and wire type, and for WT_LEN its bytes in *sub */
static int get_field(struct rbuf *r, unsigned *field, unsigned *wt, uint64_t *v, struct rbuf *sub)
{
	uint64_t tag;
	int e = get_varint(r, &tag);

	if (e < 0)
		return e;
	*wt = tag & 7;
	if (tag >> 3 == 0 || tag >> 3 > 0x1fffffff)
		return -EBADMSG;
	*field = (unsigned)(tag >> 3);
	switch (*wt) {
	case WT_VARINT:
		return get_varint(r, v);
	case WT_I64:
	case WT_I32: {
		size_t n = *wt == WT_I64 ? 8 : 4;

		if ((size_t)(r->end - r->p) < n)
			return -EBADMSG;
		r->p += n; /* no field etcd_pb reads is fixed-size: skipped */
		*v = 0;
		return 0;
	}
	case WT_LEN:
		e = get_varint(r, v);
		if (e < 0)
			return e;
		if (*v > (uint64_t)(r->end - r->p))
			return -EBADMSG;
		sub->p = r->p;
		sub->end = r->p + *v;
		r->p = sub->end;
		return 0;
	default: /* groups (3, 4) are long deprecated; 6 and 7 do not exist */
		return -EBADMSG;
	}
}

/* A field etcd_pb knows, of another wire type than its own */
#define WANT(wt, want)                   \
	do {                             \
		if ((wt) != (want))      \
			return -EBADMSG; \
	} while (0)

static int read_header(struct rbuf r, struct etcd_pb_header *resp)
{
	while (r.p < r.end) {
		struct rbuf sub;
		unsigned f, wt;
		uint64_t v;
		int e = get_field(&r, &f, &wt, &v, &sub);

		if (e < 0)
			return e;
		switch (f) {
		case 1:
			WANT(wt, WT_VARINT);
			resp->cluster_id = v;
			break;
		case 2:
			WANT(wt, WT_VARINT);
			resp->member_id = v;
			break;
		case 3:
			WANT(wt, WT_VARINT);
			resp->revision = (int64_t)v;
			break;
		case 4:
			WANT(wt, WT_VARINT);
			resp->raft_term = v;
			break;
		}
	}
	return 0;
}

static int read_kv(struct rbuf r, struct etcd_pb_kv *kv)
{
	memset(kv, 0, sizeof(*kv));
	while (r.p < r.end) {
		struct rbuf sub;
		unsigned f, wt;
		uint64_t v;
		int e = get_field(&r, &f, &wt, &v, &sub);

		if (e < 0)
			return e;
		switch (f) {
		case 1:
			WANT(wt, WT_LEN);
			kv->key = sub.p;
			kv->key_len = (size_t)(sub.end - sub.p);
			break;
		case 2:
			WANT(wt, WT_VARINT);
			kv->create_rev = (int64_t)v;
			break;
		case 3:
			WANT(wt, WT_VARINT);
			kv->mod_rev = (int64_t)v;
			break;
		case 4:
			WANT(wt, WT_VARINT);
			kv->version = (int64_t)v;
			break;
		case 5:
			WANT(wt, WT_LEN);
			kv->value = sub.p;
			kv->value_len = (size_t)(sub.end - sub.p);
			break;
		case 6:
			WANT(wt, WT_VARINT);
			kv->lease = (int64_t)v;
			break;
		}
	}
	return 0;
}

int etcd_pb_range_response(const uint8_t *msg, size_t len, struct etcd_pb_range_resp *resp,
			   etcd_pb_kv_fn fn, void *arg)
{
	struct rbuf r = {msg, msg + len};

	memset(resp, 0, sizeof(*resp));
	/* RangeResponse: header 1, kvs 2 (repeated), more 3, count 4 */
	while (r.p < r.end) {
		struct etcd_pb_kv kv;
		struct rbuf sub;
		unsigned f, wt;
		uint64_t v;
		int e = get_field(&r, &f, &wt, &v, &sub);

		if (e < 0)
			return e;
		switch (f) {
		case 1:
			WANT(wt, WT_LEN);
			e = read_header(sub, &resp->header); /* a repeated message field merges */
			break;
		case 2:
			WANT(wt, WT_LEN);
			e = read_kv(sub, &kv);
			if (e >= 0 && fn)
				e = fn(&kv, arg);
			resp->n++;
			break;
		case 3:
			WANT(wt, WT_VARINT);
			resp->more = v != 0;
			break;
		case 4:
			WANT(wt, WT_VARINT);
			resp->count = (int64_t)v;
			break;
		}
		if (e < 0)
			return e;
	}
	return 0;
}

static int read_event(struct rbuf r, struct etcd_pb_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	/* mvccpb.Event: type 1, kv 2, prev_kv 3 */
	while (r.p < r.end) {
		struct rbuf sub;
		unsigned f, wt;
		uint64_t v;
		int e = get_field(&r, &f, &wt, &v, &sub);

		if (e < 0)
			return e;
		switch (f) {
		case 1:
			WANT(wt, WT_VARINT);
			ev->type = (int64_t)v;
			break;
		case 2:
			WANT(wt, WT_LEN);
			if (ev->has_kv)
				return -EBADMSG; /* a merge of two kvs: not what etcd sends */
			e = read_kv(sub, &ev->kv);
			ev->has_kv = true;
			break;
		case 3:
			WANT(wt, WT_LEN);
			if (ev->has_prev_kv)
				return -EBADMSG;
			e = read_kv(sub, &ev->prev_kv);
			ev->has_prev_kv = true;
			break;
		}
		if (e < 0)
			return e;
	}
	return 0;
}

int etcd_pb_watch_response(const uint8_t *msg, size_t len, struct etcd_pb_watch_resp *resp,
			   etcd_pb_event_fn fn, void *arg)
{
	struct rbuf r = {msg, msg + len};

	memset(resp, 0, sizeof(*resp));
	/* WatchResponse: header 1, watch_id 2, created 3, canceled 4, compact_revision 5,
	 * cancel_reason 6, fragment 7, events 11 (repeated) */
	while (r.p < r.end) {
		struct etcd_pb_event ev;
		struct rbuf sub;
		unsigned f, wt;
		uint64_t v;
		int e = get_field(&r, &f, &wt, &v, &sub);

		if (e < 0)
			return e;
		switch (f) {
		case 1:
			WANT(wt, WT_LEN);
			e = read_header(sub, &resp->header); /* a repeated message field merges */
			break;
		case 2:
			WANT(wt, WT_VARINT);
			resp->watch_id = (int64_t)v;
			break;
		case 3:
			WANT(wt, WT_VARINT);
			resp->created = v != 0;
			break;
		case 4:
			WANT(wt, WT_VARINT);
			resp->canceled = v != 0;
			break;
		case 5:
			WANT(wt, WT_VARINT);
			resp->compact_revision = (int64_t)v;
			break;
		case 6:
			WANT(wt, WT_LEN);
			resp->cancel_reason = sub.p;
			resp->cancel_reason_len = (size_t)(sub.end - sub.p);
			break;
		case 7:
			WANT(wt, WT_VARINT);
			resp->fragment = v != 0;
			break;
		case 11:
			WANT(wt, WT_LEN);
			e = read_event(sub, &ev);
			if (e >= 0 && fn)
				e = fn(&ev, arg);
			resp->n++;
			break;
		}
		if (e < 0)
			return e;
	}
	return 0;
}

int etcd_grpc_prefix(const uint8_t p[ETCD_GRPC_PREFIX], size_t max, size_t *len)
{
	*len = (size_t)p[1] << 24 | (size_t)p[2] << 16 | (size_t)p[3] << 8 | p[4];
	if (p[0] != 0)
		return -EPROTO;
	if (*len > max)
		return -EMSGSIZE;
	return 0;
}

/* ---- status ---- */

void etcd_grpc_status_init(struct etcd_grpc_status *st)
{
	st->grpc = false;
	st->code = -1;
	st->message[0] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void etcd_grpc_header(struct etcd_grpc_status *st, const char *line, size_t len)
{
	const char *colon = memchr(line, ':', len), *v;
	size_t nlen, vlen;

	if (!colon)
		return;
	nlen = (size_t)(colon - line);
	v = colon + 1;
	vlen = len - nlen - 1;
	while (vlen && (*v == ' ' || *v == '\t'))
		v++, vlen--;
	while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
		vlen--;
	if (nlen == 12 && !strncasecmp(line, "content-type", 12)) {
		/* application/grpc, application/grpc+proto, application/grpc;... */
		st->grpc = vlen >= 16 && !strncasecmp(v, "application/grpc", 16) &&
			   (vlen == 16 || v[16] == '+' || v[16] == ';');
	} else if (nlen == 11 && !strncasecmp(line, "grpc-status", 11)) {
		int code = 0;

		if (!vlen || vlen > 3)
			code = 2; /* Unknown: a malformed status is no success */
		for (size_t i = 0; i < vlen && code != 2; i++) {
			if (v[i] < '0' || v[i] > '9')
				code = 2;
			else
				code = code * 10 + (v[i] - '0');
		}
		st->code = code;
	} else if (nlen == 12 && !strncasecmp(line, "grpc-message", 12)) {
		size_t o = 0;

		/* percent-encoded (gRPC's HTTP/2 protocol), cut to the buffer */
		for (size_t i = 0; i < vlen && o + 1 < sizeof(st->message); i++) {
			if (v[i] == '%' && i + 2 < vlen && hexval(v[i + 1]) >= 0 &&
			    hexval(v[i + 2]) >= 0) {
				st->message[o++] = (char)(hexval(v[i + 1]) << 4 | hexval(v[i + 2]));
				i += 2;
			} else {
				st->message[o++] = v[i];
			}
		}
		st->message[o] = '\0';
	}
}
