/* SPDX-License-Identifier: Apache-2.0 */
/* The etcd watch: one streaming POST, driven by libcurl's multi interface so that nothing
 * blocks. The caller polls one epoll descriptor that holds curl's sockets and a timerfd
 * (curl's timeouts, the reconnection backoff, the quorum probe). The stream is etcd's gRPC
 * Watch.Watch on HTTP/2, as ranges are (store/etcd.c): its body is one gRPC frame, a
 * WatchRequest{create_request}, after which the client half-closes (etcd keeps the stream
 * going: grpc-gateway's own watch works so), and the answer a sequence of WatchResponse
 * frames. An endpoint that does not speak gRPC (decided as for ranges) turns the watch, and
 * the store, to the gateway's streaming /v3/watch, a sequence of newline-terminated JSON
 * messages. Either way messages may span reads; events are queued and handed out one at
 * a time. When the stream ends for any reason other than a compaction,
 * the watch reconnects with backoff (100 ms doubling to 5 s), the endpoints in turn, from
 * the revision after the last one it queued: nothing is lost or seen twice, since a
 * revision's events always come in one response (a response etcd split into fragments is
 * put together again before any of it is queued) and only whole responses are read.
 * A response it cannot read (too large, or holding a key or value sluice cannot
 * represent) is read again once from a new stream; when it fails again at the same
 * revision the watch stops with -EBADMSG rather than reconnecting forever. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "store/etcd.h"
#include "store/etcd_pb.h"
#include "base/err.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
/* A member that is alive but has lost its quorum keeps the stream open and silent forever:
 * the gateway cannot ask for WithRequireLeader (the gRPC stream does, with its "hasleader"
 * header, but a member stopped by SIGSTOP or wedged says nothing either way), and etcd 3.4
 * sends progress notifications only every 10 minutes unless the server is told otherwise
 * (--experimental-watch-progress-notify-interval). So after PROBE_AFTER_MS without a
 * message, the watch asks the same member for a linearizable read (a range of one key, no
 * value, over the stream's protocol), which needs the quorum; when that fails or takes
 * over PROBE_TIMEOUT_MS the stream is dropped and the next endpoint tried. A dead host is
 * found by TCP keepalive and a stopped member by the connection closing. */
#define PROBE_AFTER_MS 10000
#define PROBE_TIMEOUT_MS 5000
/* A fragment is at most etcd's request limit (--max-request-bytes, 1.5 MiB by default) of
 * protobuf, or one event larger than that; as the gateway's JSON (base64 and field names)
 * it is about 1.8 times as large: 2.8 MB per part measured at etcd 3.4's default. So
 * limits up to about 4 MiB fit (as gRPC messages, which take the same bound, more). */
#define LINE_MAX_BYTES (4 * (size_t)ETCD_VALUE_READ_MAX)
/* A probe's RangeRequest frame: a key, a limit, keys_only */
#define PROBE_FRAME_MAX (STORE_KEY_MAX + 32)

struct etcd_watch {
	struct store_watch base;
	struct etcd_store *s;
	char *prefix;
	int epfd, tfd;
	CURLM *multi;
	CURL *stream, *probe;
	long status; /* the stream's HTTP status, once known */
	bool grpc; /* the streams speak gRPC (else the gateway's JSON) */
	bool doubtful; /* the JSON stream asks whether a doubtful refusal of gRPC holds */
	struct etcd_grpc_status st, probe_st; /* the stream's and the probe's gRPC status */
	size_t want; /* gRPC: the length of the frame at the front, prefix included (0: unknown) */
	size_t ep; /* the endpoint of the stream (or of the next one) */
	int64_t rev; /* last revision delivered, or known current (progress) */
	int64_t queued_rev; /* last revision read off the stream */
	int64_t progress_rev; /* a progress notification not yet reflected in rev */
	int64_t curl_at, reconnect_at, probe_at; /* deadlines, ms (0: none) */
	int backoff;
	char *line;
	size_t len, cap;
	struct store_event *q;
	size_t qhead, qn, qcap;
	struct store_event *frag; /* the events of a fragmented response so far */
	size_t frag_n;
	int64_t bad_at; /* queued_rev + 1 when a response could not be read (0: none) */
	int fatal; /* sticky: -ESTALE, or an error it will not recover from */
	char fatal_msg[300];
	char errbuf[CURL_ERROR_SIZE];
};

static void arm_timer(struct etcd_watch *w)
{
	int64_t at = 0,
		d[] = {w->curl_at, w->reconnect_at, w->stream && !w->probe ? w->probe_at : 0};
	struct itimerspec its = {0};

	for (size_t i = 0; i < sizeof(d) / sizeof(*d); i++)
		if (d[i] && (!at || d[i] < at))
			at = d[i];
	if (at) {
		its.it_value.tv_sec = at / 1000;
		its.it_value.tv_nsec = (at % 1000) * 1000000L;
	}
	timerfd_settime(w->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static int on_socket(CURL *e, curl_socket_t fd, int what, void *arg, void *sockp)
{
	struct etcd_watch *w = arg;
	struct epoll_event ev = {.data.fd = fd};

	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, NULL);
		return 0;
	}
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	if (epoll_ctl(w->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 && errno == ENOENT)
		epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev);
	return 0;
}

static int on_timer(CURLM *m, long ms, void *arg)
{
	struct etcd_watch *w = arg;

	w->curl_at = ms < 0 ? 0 : etcd_now_ms() + ms;
	arm_timer(w);
	return 0;
}

static void set_fatal(struct etcd_watch *w, int r, const char *msg)
{
	if (w->fatal)
		return;
	w->fatal = r;
	snprintf(w->fatal_msg, sizeof(w->fatal_msg), "%s", msg);
}

static int queue_push(struct etcd_watch *w, struct store_event *ev)
{
	if (w->qhead == w->qn) /* empty: start again at the front */
		w->qhead = w->qn = 0;
	if (w->qn == w->qcap) {
		size_t cap = w->qcap ? w->qcap * 2 : 16;
		struct store_event *q;

		if (w->qhead) { /* room at the front first */
			memmove(w->q, w->q + w->qhead, (w->qn - w->qhead) * sizeof(*q));
			w->qn -= w->qhead;
			w->qhead = 0;
			return queue_push(w, ev);
		}
		q = realloc(w->q, cap * sizeof(*q));
		if (!q)
			return -ENOMEM;
		w->q = q;
		w->qcap = cap;
	}
	w->q[w->qn++] = *ev;
	return 0;
}

static void frag_free(struct etcd_watch *w)
{
	for (size_t i = 0; i < w->frag_n; i++)
		store_event_free(&w->frag[i]);
	free(w->frag);
	w->frag = NULL;
	w->frag_n = 0;
}

/* Appends m's events to the fragments so far; m keeps nothing */
static int frag_add(struct etcd_watch *w, struct etcd_watch_msg *m)
{
	struct store_event *f;

	if (!m->n)
		return 0;
	f = realloc(w->frag, (w->frag_n + m->n) * sizeof(*f));
	if (!f)
		return -ENOMEM;
	memcpy(f + w->frag_n, m->events, m->n * sizeof(*f));
	w->frag = f;
	w->frag_n += m->n;
	free(m->events);
	m->events = NULL;
	m->n = 0;
	return 0;
}

/* A response it cannot read. The first time, it is read again from a new stream (the
 * next endpoint); a second failure with nothing queued in between is for good: the same
 * revision would come again forever. The message names no key (it may name a pod). */
static bool unreadable(struct etcd_watch *w, const char *what)
{
	char msg[300];

	if (w->bad_at != w->queued_rev + 1) {
		w->bad_at = w->queued_rev + 1;
		return false;
	}
	snprintf(
		msg, sizeof(msg),
		"etcd watch: %s: cannot read the events after revision %lld, even from a new stream: %s",
		w->s ? etcd_store_url(w->s)->endpoints[w->ep] : "etcd", (long long)w->queued_rev,
		what);
	set_fatal(w, -EBADMSG, msg);
	return false;
}

/* One message of the stream, as parsed (r: what its parser returned). Returns false to end
 * the stream (then reconnect, or stop at w->fatal). */
static bool on_message(struct etcd_watch *w, int r, struct etcd_watch_msg *mp)
{
	struct etcd_watch_msg m = *mp;
	struct store_event *evs;
	int64_t before = w->queued_rev;
	size_t n;
	char msg[300];

	if (r == -ENOMEM) {
		set_fatal(w, -ENOMEM, "etcd watch: out of memory");
		return false;
	}
	if (r < 0) {
		char what[160];

		snprintf(
			what, sizeof(what),
			"a malformed event (another client's key of more than %d bytes or holding a NUL, or value of more than %u bytes?)",
			STORE_KEY_MAX, ETCD_VALUE_READ_MAX);
		return unreadable(w, what);
	}
	if (m.error) {
		etcd_watch_msg_free(&m);
		return false; /* the gateway ended the stream (the member stopping, say) */
	}
	w->backoff = BACKOFF_MIN_MS; /* this stream works */
	w->probe_at = etcd_now_ms() + PROBE_AFTER_MS;
	if (m.canceled) {
		if (m.compact_rev) {
			set_fatal(w, -ESTALE, ""); /* the caller lists and watches again */
		} else {
			snprintf(msg, sizeof(msg), "etcd watch: canceled by %s%s%s",
				 w->s ? etcd_store_url(w->s)->endpoints[w->ep] : "etcd",
				 *m.reason ? ": " : "", m.reason);
			set_fatal(w, -EIO, msg);
		}
		etcd_watch_msg_free(&m);
		return false;
	}
	if (m.fragment || w->frag_n) {
		/* a part of a split response: nothing is queued until its last part is in */
		if (frag_add(w, &m) < 0) {
			set_fatal(w, -ENOMEM, "etcd watch: out of memory");
			etcd_watch_msg_free(&m);
			return false;
		}
		if (m.fragment) {
			etcd_watch_msg_free(&m);
			return true;
		}
		evs = w->frag;
		n = w->frag_n;
	} else {
		evs = m.events;
		n = m.n;
	}
	/* Every event of one revision (a transaction, a prefix deleted, a lease revoked with
	 * several keys) carries the same mod_rev: what was seen is what came before this
	 * response, never the event just queued. */
	for (size_t i = 0; i < n; i++) {
		if (evs[i].kv.mod_rev <= before) {
			store_event_free(&evs[i]); /* seen already (cannot happen) */
			continue;
		}
		if (queue_push(w, &evs[i]) < 0) {
			set_fatal(w, -ENOMEM, "etcd watch: out of memory");
			for (; i < n; i++)
				store_event_free(&evs[i]);
			break;
		}
		w->queued_rev = evs[i].kv.mod_rev;
		memset(&evs[i], 0, sizeof(evs[i]));
	}
	if (evs == w->frag) {
		free(w->frag);
		w->frag = NULL;
		w->frag_n = 0;
	}
	if (w->fatal) {
		etcd_watch_msg_free(&m);
		return false;
	}
	/* A message without events other than "created" is a progress notification: every
	 * change up to header.revision has been sent. "created" carries the current revision,
	 * not the one it starts from. */
	if (!n && !m.created && m.header_rev > w->queued_rev) {
		w->queued_rev = m.header_rev;
		w->progress_rev = m.header_rev;
	}
	etcd_watch_msg_free(&m);
	return true;
}

/* Appends a read to w->line; false when out of memory */
static bool keep(struct etcd_watch *w, const char *data, size_t len)
{
	if (w->len + len > w->cap) {
		size_t cap = (w->len + len) * 2;
		char *b = realloc(w->line, cap);

		if (!b)
			return false;
		w->line = b;
		w->cap = cap;
	}
	memcpy(w->line + w->len, data, len);
	w->len += len;
	return true;
}

/* The gateway's stream: JSON messages, one a line */
static size_t on_stream(char *data, size_t size, size_t n, void *arg)
{
	struct etcd_watch *w = arg;
	size_t len = size * n, start = 0, from = w->len;
	char *nl;

	if (!w->status)
		curl_easy_getinfo(w->stream, CURLINFO_RESPONSE_CODE, &w->status);
	if (w->len + len > LINE_MAX_BYTES) {
		char what[160];

		snprintf(
			what, sizeof(what),
			"a message of more than %zu bytes (an etcd before 3.4, which does not split responses, or --max-request-bytes over 4 MiB?)",
			LINE_MAX_BYTES);
		unreadable(w, what);
		return 0;
	}
	if (!keep(w, data, len))
		return 0;
	if (w->status != 200)
		return len; /* an error answer: read at the end */
	if (w->doubtful) { /* the endpoint serves JSON: it did refuse gRPC */
		w->doubtful = false;
		etcd_store_no_grpc(w->s);
	}
	/* what was kept holds no newline: only the new bytes are searched (a 1,000-event
	 * response arrives in a few dozen pieces, and rescanning it each time was quadratic) */
	while ((nl = memchr(w->line + from, '\n', w->len - from))) {
		size_t i = (size_t)(nl - w->line);

		if (i > start) {
			struct etcd_watch_msg m;
			int r = etcd_parse_watch_msg(w->line + start, i - start, &m);

			if (!on_message(w, r, &m))
				return 0;
		}
		start = from = i + 1;
	}
	if (start) { /* a large message arrives in many reads: not copied onto itself each time */
		memmove(w->line, w->line + start, w->len - start);
		w->len -= start;
	}
	return len;
}

struct ev_fill {
	struct store_event *evs;
	size_t n, cap;
};

/* What the JSON parser refuses of an event (etcd_json.c parse_event), for a protobuf one */
static int check_event(const struct etcd_pb_event *ev, void *arg)
{
	if (ev->type != 0 && ev->type != 1)
		return -EBADMSG; /* PUT and DELETE are all there is */
	return etcd_pb_kv_check(&ev->kv); /* no kv: an empty key, refused */
}

static int fill_event(const struct etcd_pb_event *ev, void *arg)
{
	struct ev_fill *f = arg;
	struct store_event *o;
	int r;

	if (f->n == f->cap)
		return -EBADMSG; /* more than the counting pass found: cannot be */
	o = &f->evs[f->n];
	r = etcd_kv_from_pb(&ev->kv, &o->kv);
	if (r < 0)
		return r;
	o->type = ev->type == 1 ? STORE_EV_DELETE : STORE_EV_PUT;
	/* a leased key's TTL takes a request of its own (store_ttl): a watch event has none */
	if (o->kv.lease)
		o->kv.ttl = STORE_TTL_UNKNOWN;
	if (o->type == STORE_EV_DELETE) {
		o->kv.create_rev = o->kv.version = o->kv.lease = 0;
		o->kv.value_len = 0;
		o->kv.value[0] = '\0';
		o->kv.ttl = -1;
	}
	f->n++;
	return 0;
}

int etcd_parse_watch_pb(const uint8_t *msg, size_t len, struct etcd_watch_msg *m)
{
	struct etcd_pb_watch_resp resp;
	struct ev_fill f = {0};
	int r;

	memset(m, 0, sizeof(*m));
	/* one pass checks it all and counts, the second copies into an array of that size */
	r = etcd_pb_watch_response(msg, len, &resp, check_event, NULL);
	if (r < 0)
		return r;
	m->header_rev = resp.header.revision;
	m->created = resp.created;
	m->canceled = resp.canceled;
	m->compact_rev = resp.compact_revision;
	m->fragment = resp.fragment;
	if (resp.canceled && resp.cancel_reason_len < sizeof(m->reason)) {
		char reason[sizeof(m->reason)];

		memcpy(reason, resp.cancel_reason, resp.cancel_reason_len);
		reason[resp.cancel_reason_len] = '\0';
		etcd_safe_message(reason, m->reason, sizeof(m->reason));
	}
	if (!resp.n)
		return 0;
	f.evs = calloc(resp.n, sizeof(*f.evs));
	if (!f.evs)
		return -ENOMEM;
	f.cap = resp.n;
	r = etcd_pb_watch_response(msg, len, &resp, fill_event, &f);
	m->events = f.evs;
	m->n = f.n;
	if (r < 0)
		etcd_watch_msg_free(m);
	return r;
}

/* The gRPC stream: length-prefixed WatchResponse messages */
static size_t on_grpc_stream(char *data, size_t size, size_t n, void *arg)
{
	struct etcd_watch *w = arg;
	size_t len = size * n, start = 0;

	if (!w->st.grpc)
		return 0; /* not a gRPC answer: stream_ended turns the watch to JSON */
	if (!keep(w, data, len))
		return 0;
	for (;;) {
		struct etcd_watch_msg m;
		size_t mlen;
		int r;

		if (w->len - start < ETCD_GRPC_PREFIX)
			break;
		if (!w->want) {
			r = etcd_grpc_prefix((const uint8_t *)w->line + start, LINE_MAX_BYTES,
					     &mlen);
			if (r == -EPROTO) {
				unreadable(w, "a compressed gRPC message (never asked for)");
				return 0;
			}
			if (r < 0) {
				char what[160];

				snprintf(
					what, sizeof(what),
					"a gRPC message of more than %zu bytes (--max-request-bytes over 8 MiB?)",
					LINE_MAX_BYTES);
				unreadable(w, what);
				return 0;
			}
			w->want = ETCD_GRPC_PREFIX + mlen;
		}
		if (w->len - start < w->want)
			break;
		r = etcd_parse_watch_pb((const uint8_t *)w->line + start + ETCD_GRPC_PREFIX,
					w->want - ETCD_GRPC_PREFIX, &m);
		start += w->want;
		w->want = 0;
		if (!on_message(w, r, &m))
			return 0;
	}
	if (start) { /* a large message arrives in many reads: not copied onto itself each time */
		memmove(w->line, w->line + start, w->len - start);
		w->len -= start;
	}
	return len;
}

static size_t on_header(char *line, size_t size, size_t n, void *arg)
{
	etcd_grpc_header(arg, line, size * n);
	return size * n;
}

static size_t on_probe_body(char *data, size_t size, size_t n, void *arg)
{
	return size * n; /* only its status matters */
}

/* The URL of path on the watch's endpoint */
static void ep_url(const struct etcd_watch *w, const char *path, char *url, size_t len)
{
	const struct etcd_url *u = etcd_store_url(w->s);

	snprintf(url, len, "%s://%s%s", u->tls ? "https" : "http", u->endpoints[w->ep], path);
}

/* The request body of a stream: a WatchRequest frame, or the gateway's JSON */
static int stream_body(struct etcd_watch *w, CURL *e)
{
	if (w->grpc) {
		size_t plen = strlen(w->prefix);
		uint8_t frame[2 * STORE_KEY_MAX + 64];
		char end[STORE_KEY_MAX + 1];
		long flen = etcd_pb_watch_request(
			&(struct etcd_pb_watch_req){
				.key = w->prefix,
				.key_len = plen,
				.range_end = end,
				.range_end_len = etcd_prefix_end(w->prefix, plen, end),
				.start_revision = w->queued_rev + 1,
				/* as the JSON request (etcd_req_watch) says why */
				.progress_notify = true,
				.fragment = true,
			},
			frame, sizeof(frame));

		if (flen < 0 || curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, flen) ||
		    curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, frame))
			return -ENOMEM;
		return 0;
	}
	cJSON *req = etcd_req_watch(w->prefix, w->queued_rev + 1);
	char *body = req ? cJSON_PrintUnformatted(req) : NULL;
	int r = body && !curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, body) ? 0 : -ENOMEM;

	cJSON_Delete(req);
	free(body);
	return r;
}

static int start_stream(struct etcd_watch *w)
{
	char url[320];
	CURL *e = curl_easy_init();

	ep_url(w, w->grpc ? ETCD_GRPC_WATCH_PATH : "/v3/watch", url, sizeof(url));
	etcd_grpc_status_init(&w->st);
	if (!e || (w->grpc ? etcd_grpc_setup(w->s, e, true) : etcd_curl_setup(w->s, e)) < 0 ||
	    curl_easy_setopt(e, CURLOPT_URL, url) || stream_body(w, e) < 0 ||
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, w->grpc ? on_grpc_stream : on_stream) ||
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, w) ||
	    (w->grpc && (curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header) ||
			 curl_easy_setopt(e, CURLOPT_HEADERDATA, &w->st))) ||
	    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, w->errbuf) ||
	    curl_multi_add_handle(w->multi, e)) {
		curl_easy_cleanup(e);
		return -ENOMEM;
	}
	w->stream = e;
	w->status = 0;
	w->len = w->want = 0;
	w->errbuf[0] = '\0';
	w->probe_at = etcd_now_ms() + PROBE_AFTER_MS;
	return 0;
}

static void stop_probe(struct etcd_watch *w)
{
	if (!w->probe)
		return;
	curl_multi_remove_handle(w->multi, w->probe);
	curl_easy_cleanup(w->probe);
	w->probe = NULL;
}

/* The stream is over (c: how; dropped: the watch ended it itself, its probe having
 * failed): reconnect later to the next endpoint, unless it ended for good; at once to the
 * same one over JSON when it showed that the endpoint does not speak gRPC (never once a
 * gRPC answer began: a member that stops mid-stream fails the same way an HTTP/1.1 server
 * does; nor when it was dropped: a member that took the connection and never answered, as
 * a stopped one does, showed nothing either way) */
static void stream_ended(struct etcd_watch *w, CURLcode c, bool dropped)
{
	const struct etcd_url *u = etcd_store_url(w->s);
	int64_t now = etcd_now_ms();
	int refused = 0;
	char msg[300], reason[200] = "";

	if (w->grpc && !w->st.grpc && !w->fatal && !dropped)
		refused = etcd_grpc_refused(w->s, w->stream, c, &w->st);
	if (w->grpc && w->st.code > 0 && etcd_grpc_errno(w->st.code) != -EIO) {
		/* a status the gateway answers with a 4xx: asking again cannot help */
		etcd_safe_message(w->st.message, reason, sizeof(reason));
		snprintf(msg, sizeof(msg), "etcd watch: %s: gRPC status %d%s%s",
			 u->endpoints[w->ep], w->st.code, *reason ? ": " : "", reason);
		set_fatal(w, etcd_grpc_errno(w->st.code), msg);
	} else if (!w->grpc && !w->doubtful && w->status && w->status != 200 && w->status < 500) {
		cJSON *j, *m;

		j = w->len ? cJSON_ParseWithLength(w->line, w->len) : NULL;
		m = cJSON_GetObjectItemCaseSensitive(j, "message");
		etcd_safe_message(cJSON_IsString(m) ? m->valuestring : NULL, reason,
				  sizeof(reason));
		cJSON_Delete(j);
		snprintf(msg, sizeof(msg), "etcd watch: %s: HTTP %ld%s%s", u->endpoints[w->ep],
			 w->status, *reason ? ": " : "", reason);
		set_fatal(w, -EIO, msg);
	}
	curl_multi_remove_handle(w->multi, w->stream);
	curl_easy_cleanup(w->stream);
	w->stream = NULL;
	stop_probe(w);
	w->len = w->want = 0; /* a message cut in half is read again from the new stream */
	frag_free(w); /* and so is a split response */
	w->probe_at = 0;
	if (w->fatal)
		return;
	if (w->doubtful) { /* not confirmed: the endpoint was down, not refusing gRPC */
		w->doubtful = false;
		w->grpc = etcd_store_grpc(w->s);
	}
	if (refused) {
		/* at once to the same endpoint over JSON; when the refusal was doubtful, that
		 * stream confirms it (on_stream) or, failing, turns the watch back to gRPC */
		w->grpc = false;
		w->doubtful = refused == ETCD_GRPC_DOUBTFUL;
		if (!w->doubtful)
			etcd_store_no_grpc(w->s); /* ranges too, as a range's own finding does */
		w->reconnect_at = now;
		return;
	}
	w->ep = (w->ep + 1) % u->n;
	w->reconnect_at = now + w->backoff;
	w->backoff = w->backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : w->backoff * 2;
}

/* The probe's body: a range of one key under the prefix, no value */
static int probe_body(struct etcd_watch *w, CURL *e)
{
	if (w->grpc) {
		uint8_t frame[PROBE_FRAME_MAX];
		long flen = etcd_pb_range_request(
			&(struct etcd_pb_range_req){.key = w->prefix,
						    .key_len = strlen(w->prefix),
						    .limit = 1,
						    .keys_only = true},
			frame, sizeof(frame));

		if (flen < 0 || curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, flen) ||
		    curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, frame))
			return -ENOMEM;
		return 0;
	}
	cJSON *req = etcd_req_range(w->prefix, NULL, 0, 1);
	char *body = NULL;
	int r;

	if (req && cJSON_AddTrueToObject(req, "keys_only"))
		body = cJSON_PrintUnformatted(req);
	r = body && !curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, body) ? 0 : -ENOMEM;
	cJSON_Delete(req);
	free(body);
	return r;
}

static void start_probe(struct etcd_watch *w)
{
	char url[320];
	CURL *e = curl_easy_init();

	w->probe_at = 0;
	ep_url(w, w->grpc ? ETCD_GRPC_RANGE_PATH : "/v3/kv/range", url, sizeof(url));
	etcd_grpc_status_init(&w->probe_st);
	if (!e || (w->grpc ? etcd_grpc_setup(w->s, e, false) : etcd_curl_setup(w->s, e)) < 0 ||
	    curl_easy_setopt(e, CURLOPT_URL, url) || probe_body(w, e) < 0 ||
	    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)PROBE_TIMEOUT_MS) ||
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_probe_body) ||
	    (w->grpc && (curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header) ||
			 curl_easy_setopt(e, CURLOPT_HEADERDATA, &w->probe_st))) ||
	    curl_multi_add_handle(w->multi, e)) {
		curl_easy_cleanup(e);
		w->probe_at = etcd_now_ms() + PROBE_AFTER_MS; /* try again later */
	} else {
		w->probe = e;
	}
}

static void probe_done(struct etcd_watch *w, CURLcode c)
{
	long status = 0;

	curl_easy_getinfo(w->probe, CURLINFO_RESPONSE_CODE, &status);
	stop_probe(w);
	if (c == CURLE_OK && status == 200 && (!w->grpc || w->probe_st.code == 0)) {
		w->probe_at = etcd_now_ms() + PROBE_AFTER_MS;
		return;
	}
	/* the member cannot serve a linearizable read: its stream may never say more */
	if (w->stream)
		stream_ended(w, CURLE_OK, true);
}

static int drive(struct etcd_watch *w)
{
	struct epoll_event evs[16];
	int n, running;
	CURLMsg *msg;
	int64_t now;

	n = epoll_wait(w->epfd, evs, 16, 0);
	for (int i = 0; i < n; i++) {
		int flags = 0;

		if (evs[i].data.fd == w->tfd) {
			uint64_t ticks;

			if (read(w->tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
				return -errno;
			continue;
		}
		flags |= evs[i].events & EPOLLIN ? CURL_CSELECT_IN : 0;
		flags |= evs[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0;
		flags |= evs[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0;
		curl_multi_socket_action(w->multi, evs[i].data.fd, flags, &running);
	}
	now = etcd_now_ms();
	if (w->curl_at && now >= w->curl_at) {
		w->curl_at = 0;
		curl_multi_socket_action(w->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	}
	while ((msg = curl_multi_info_read(w->multi, &n))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		if (msg->easy_handle == w->stream)
			stream_ended(w, msg->data.result, false);
		else if (msg->easy_handle == w->probe)
			probe_done(w, msg->data.result);
	}
	now = etcd_now_ms();
	if (!w->stream && !w->fatal && w->reconnect_at && now >= w->reconnect_at) {
		w->reconnect_at = 0;
		if (start_stream(w) < 0)
			set_fatal(w, -ENOMEM, "etcd watch: cannot set up libcurl");
	}
	if (w->stream && !w->probe && w->probe_at && now >= w->probe_at)
		start_probe(w);
	arm_timer(w);
	return 0;
}

int etcd_watch_next(struct store_watch *base, struct store_event *ev, int *timeout_ms,
		    struct err *err)
{
	struct etcd_watch *w = (struct etcd_watch *)base;
	int64_t at = 0, d[3];
	int r;

	memset(ev, 0, sizeof(*ev));
	if (w->qhead == w->qn && !w->fatal) {
		r = drive(w);
		if (r < 0)
			return err_fail(err, CNI_ERR_IO, r, "etcd watch: %s", strerror(-r));
	}
	if (w->qhead < w->qn) {
		*ev = w->q[w->qhead++];
		w->rev = ev->kv.mod_rev;
		if (w->qhead == w->qn && w->progress_rev > w->rev)
			w->rev = w->progress_rev;
		return 1;
	}
	/* a compaction is an expected outcome (the caller lists again), not an error */
	if (w->fatal == -ESTALE)
		return -ESTALE;
	if (w->fatal)
		return err_fail(err, CNI_ERR_IO, w->fatal, "%s", w->fatal_msg);
	if (w->progress_rev > w->rev)
		w->rev = w->progress_rev;
	if (timeout_ms) {
		d[0] = w->curl_at;
		d[1] = w->reconnect_at;
		d[2] = w->stream && !w->probe ? w->probe_at : 0;
		for (size_t i = 0; i < 3; i++)
			if (d[i] && (!at || d[i] < at))
				at = d[i];
		*timeout_ms = !at ? -1 : at <= etcd_now_ms() ? 0 : (int)(at - etcd_now_ms());
	}
	return 0;
}

int etcd_watch_fd(const struct store_watch *base)
{
	return ((const struct etcd_watch *)base)->epfd;
}

int64_t etcd_watch_rev(const struct store_watch *base)
{
	return ((const struct etcd_watch *)base)->rev;
}

void etcd_watch_close(struct store_watch *base)
{
	struct etcd_watch *w = (struct etcd_watch *)base;

	if (!w)
		return;
	stop_probe(w);
	if (w->stream) {
		curl_multi_remove_handle(w->multi, w->stream);
		curl_easy_cleanup(w->stream);
	}
	if (w->multi)
		curl_multi_cleanup(w->multi);
	if (w->epfd >= 0)
		close(w->epfd);
	if (w->tfd >= 0)
		close(w->tfd);
	for (size_t i = w->qhead; i < w->qn; i++)
		store_event_free(&w->q[i]);
	free(w->q);
	frag_free(w);
	free(w->line);
	free(w->prefix);
	free(w);
}

struct store_watch *etcd_watch_open(struct store *st, const char *prefix, int64_t from_rev,
				    struct err *err)
{
	struct etcd_store *s = (struct etcd_store *)st;
	struct etcd_watch *w;
	struct epoll_event ev = {.events = EPOLLIN};
	int64_t now_rev;

	if (strlen(prefix) > STORE_KEY_MAX || from_rev < 0) {
		err_fail(err, CNI_ERR_CONFIG, -EINVAL,
			 "etcd watch: a prefix of at most %d bytes and a revision >= 0",
			 STORE_KEY_MAX);
		return NULL;
	}
	/* "From now on" is made a revision here, so that a reconnection before the first
	 * event still resumes exactly where the watch began. */
	if (!from_rev) {
		if (etcd_store_rev(s, prefix, &now_rev, "watch", err) < 0)
			return NULL;
		from_rev = now_rev + 1;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		err_fail(err, CNI_ERR_IO, -ENOMEM, "etcd watch: out of memory");
		return NULL;
	}
	w->base.store = st;
	w->s = s;
	w->epfd = w->tfd = -1;
	w->rev = w->queued_rev = from_rev - 1;
	w->backoff = BACKOFF_MIN_MS;
	w->grpc = etcd_store_grpc(s);
	w->ep = etcd_store_current(s);
	w->prefix = strdup(prefix);
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	w->multi = curl_multi_init();
	ev.data.fd = w->tfd;
	if (!w->prefix || w->epfd < 0 || w->tfd < 0 || !w->multi ||
	    epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->tfd, &ev) < 0 ||
	    curl_multi_setopt(w->multi, CURLMOPT_SOCKETFUNCTION, on_socket) ||
	    curl_multi_setopt(w->multi, CURLMOPT_SOCKETDATA, w) ||
	    curl_multi_setopt(w->multi, CURLMOPT_TIMERFUNCTION, on_timer) ||
	    curl_multi_setopt(w->multi, CURLMOPT_TIMERDATA, w) || start_stream(w) < 0) {
		err_fail(err, CNI_ERR_IO, -errno ? -errno : -ENOMEM,
			 "etcd watch: cannot set up its descriptors or libcurl");
		etcd_watch_close(&w->base);
		return NULL;
	}
	arm_timer(w);
	return &w->base;
}
