// SPDX-License-Identifier: Apache-2.0
/* sluiced: <run_dir>/policy.sock, where sluice-nft-policy asks the agent to put a pod under
 * policy (or take it out) with the model the agent holds compiled, instead of reading,
 * validating and compiling every policy of the store itself on each ADD. One request line
 * and one answer per connection, everything non-blocking in the agent's one loop: a client
 * that has not sent its line within SOCK_READ_MS, or sends more than SOCK_LINE_MAX bytes, is
 * closed (unanswered, or answered with the error); at most AGENT_SOCK_CONNS at once (more are
 * closed at once: the plugin falls back to its own path). The input is checked strictly
 * before anything is done with it. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "base/log.h"
#include "policy/pnft.h"
#include "policy/policy.h"
#include "sluiced.h"

#define SOCK_READ_MS 1000 /* a request line's deadline, from the accept */
#define SOCK_LINE_MAX 16384 /* a record is a few hundred bytes */
#define SOCK_SUFFIX_MAX 300 /* <cid>-<ifname>: a container ID of 256, an ifname of 15 */

/* answers' codes: the plugin falls back on any of them */
enum { SOCK_BAD_REQUEST = 1, SOCK_NOT_READY = 2, SOCK_STALE = 3, SOCK_FAILED = 4 };

struct sock_conn {
	int fd; /* -1: a free slot */
	int64_t deadline; /* monotonic ms */
	size_t n;
	char buf[SOCK_LINE_MAX];
};

struct agent_sock {
	int lfd, tfd;
	uint32_t tag;
	char *path;
	struct sock_conn c[AGENT_SOCK_CONNS];
};

static void conn_close(struct agent *a, struct sock_conn *c)
{
	(void)epoll_ctl(a->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	c->n = 0;
}

/* The deadline timer at the earliest open connection's deadline (disarmed when none) */
static void arm(struct agent *a)
{
	struct agent_sock *s = a->sock;
	int64_t first = 0, now = agent_now_ms();

	for (size_t i = 0; i < AGENT_SOCK_CONNS; i++)
		if (s->c[i].fd >= 0 && (!first || s->c[i].deadline < first))
			first = s->c[i].deadline;
	agent_timer_ms(s->tfd, first ? (first > now ? first - now : 1) : 0);
}

int agent_sock_start(struct agent *a, uint32_t tag)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct epoll_event ev = {.events = EPOLLIN};
	struct agent_sock *s;
	mode_t um;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->lfd = s->tfd = -1;
	s->tag = tag;
	for (size_t i = 0; i < AGENT_SOCK_CONNS; i++)
		s->c[i].fd = -1;
	a->sock = s;
	if (asprintf(&s->path, "%s/%s", a->o.run_dir, POL_SOCK) < 0) {
		s->path = NULL;
		r = -ENOMEM;
		goto fail;
	}
	if (strlen(s->path) >= sizeof(sa.sun_path)) {
		log_warn("policy: %s: longer than a socket path may be: not serving the plugin",
			 s->path);
		r = -ENAMETOOLONG;
		goto fail;
	}
	memcpy(sa.sun_path, s->path, strlen(s->path) + 1);
	s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	s->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (s->lfd < 0 || s->tfd < 0)
		goto sys;
	/* a socket left by an agent before us (killed) */
	if (unlink(s->path) < 0 && errno != ENOENT)
		goto sys;
	/* 0600 from the start: root's plugin and root's agent only */
	um = umask(0177);
	r = bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa));
	umask(um);
	if (r < 0 || chmod(s->path, 0600) < 0 || listen(s->lfd, 64) < 0)
		goto sys;
	ev.data.u32 = tag;
	if (epoll_ctl(a->ep, EPOLL_CTL_ADD, s->lfd, &ev) < 0)
		goto sys;
	ev.data.u32 = tag + 1;
	if (epoll_ctl(a->ep, EPOLL_CTL_ADD, s->tfd, &ev) < 0)
		goto sys;
	log_info("policy: serving sluice-nft-policy on %s", s->path);
	return 0;
sys:
	r = -errno;
	log_warn("policy: %s: %s: not serving the plugin (it falls back to its own path)", s->path,
		 strerror(-r));
fail:
	agent_sock_stop(a);
	return r;
}

void agent_sock_stop(struct agent *a)
{
	struct agent_sock *s = a->sock;

	if (!s)
		return;
	for (size_t i = 0; i < AGENT_SOCK_CONNS; i++)
		if (s->c[i].fd >= 0)
			conn_close(a, &s->c[i]);
	if (s->lfd >= 0) {
		close(s->lfd);
		/* gone with the agent: the plugin finds no socket, not one nobody accepts on */
		if (s->path)
			(void)unlink(s->path);
	}
	if (s->tfd >= 0)
		close(s->tfd);
	free(s->path);
	free(s);
	a->sock = NULL;
}

/* --- a request ------------------------------------------------------------------------ */

static cJSON *refuse(struct agent *a, int code, const char *msg)
{
	cJSON *o = cJSON_CreateObject();

	a->refused++;
	a->status_dirty = true;
	cJSON_AddBoolToObject(o, "ok", false);
	cJSON_AddNumberToObject(o, "code", code);
	cJSON_AddStringToObject(o, "msg", msg);
	return o;
}

static cJSON *refusef(struct agent *a, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static cJSON *refusef(struct agent *a, int code, const char *fmt, ...)
{
	char m[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	log_info("policy.sock: request refused: %s", m);
	return refuse(a, code, m);
}

/* Printable ASCII but '/' (a store key's last part), 1 to SOCK_SUFFIX_MAX bytes */
static bool suffix_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > SOCK_SUFFIX_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] >= 0x7f || s[i] == '/' || s[i] == '"' || s[i] == '\\')
			return false;
	return true;
}

/* The record: an endpoint record of this node whose "<cid>-<ifname>" is the key's */
static cJSON *check_record(struct agent *a, const cJSON *rec, const char *suffix)
{
	struct pol_endpoint ep = {0};
	struct err e = {0};
	char *text, want[SOCK_SUFFIX_MAX + 300];
	cJSON *bad = NULL;

	if (!cJSON_IsObject(rec))
		return refusef(a, SOCK_BAD_REQUEST,
			       "record: must be an endpoint record (an object)");
	text = cJSON_PrintUnformatted(rec);
	if (!text)
		return refusef(a, SOCK_FAILED, "out of memory");
	if (pol_endpoint_parse(text, strlen(text), &ep, &e) < 0) {
		bad = refusef(a, SOCK_BAD_REQUEST, "record: %s", e.msg);
	} else if (strcmp(ep.node, a->o.node_name)) {
		bad = refusef(a, SOCK_BAD_REQUEST, "record: node \"%.64s\" is not this node's",
			      ep.node);
	} else {
		snprintf(want, sizeof(want), "%s-%s", ep.cid, ep.ifname);
		if (strcmp(want, suffix))
			bad = refusef(a, SOCK_BAD_REQUEST,
				      "record: containerID and ifName do not make the key's name");
	}
	pol_endpoint_done(&ep);
	free(text);
	return bad;
}

static cJSON *serve(struct agent *a, const char *line, size_t len)
{
	cJSON *req = cJSON_ParseWithLength(line, len), *rec = NULL, *ans = NULL, *f;
	const char *op, *key;
	char stamp[POL_STAMP_MAX], *own = a->pol.own;
	struct err e = {0};
	int64_t t0 = agent_now_ms();
	size_t elems;
	bool add;

	if (!cJSON_IsObject(req)) {
		ans = refusef(a, SOCK_BAD_REQUEST, "the request is not a JSON object");
		goto out;
	}
	cJSON_ArrayForEach(f, req) {
		if (!f->string || (strcmp(f->string, "op") && strcmp(f->string, "key") &&
				   strcmp(f->string, "record"))) {
			ans = refusef(a, SOCK_BAD_REQUEST, "unknown field \"%.32s\"",
				      f->string ? f->string : "");
			goto out;
		}
	}
	op = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(req, "op"));
	key = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(req, "key"));
	rec = cJSON_GetObjectItemCaseSensitive(req, "record");
	if (!op || (strcmp(op, "add") && strcmp(op, "del"))) {
		ans = refusef(a, SOCK_BAD_REQUEST, "op: must be \"add\" or \"del\"");
		goto out;
	}
	add = !strcmp(op, "add");
	if (!key || !own || !agent_has_prefix(key, own) || !suffix_ok(key + strlen(own))) {
		ans = refusef(a, SOCK_BAD_REQUEST, "key: must be %s<containerID>-<ifName>",
			      own ? own : "endpoints/<node>/");
		goto out;
	}
	if (add ? !rec : rec != NULL) {
		ans = refusef(a, SOCK_BAD_REQUEST, "record: %s",
			      add ? "missing (op add)" : "only with op add");
		goto out;
	}
	if (add && (ans = check_record(a, rec, key + strlen(own))))
		goto out;
	if (agent_policy_serve(a, key, rec, &elems, stamp, &e) < 0) {
		ans = refusef(a, e.code ? e.code : SOCK_FAILED, "%s", e.msg);
		goto out;
	}
	log_debug("policy.sock: %s %s: served, %zu elements, in %lld ms", op, key, elems,
		  (long long)(agent_now_ms() - t0));
	a->served++;
	a->status_dirty = true;
	ans = cJSON_CreateObject();
	cJSON_AddBoolToObject(ans, "ok", true);
	cJSON_AddNumberToObject(ans, "elements", (double)elems);
	cJSON_AddStringToObject(ans, "stamp", stamp);
out:
	cJSON_Delete(req);
	return ans;
}

/* The answer, one line; a client whose socket is full (it sent and does not read) loses it */
static void answer(struct agent *a, struct sock_conn *c, cJSON *ans)
{
	char *s = ans ? cJSON_PrintUnformatted(ans) : NULL;
	size_t n = s ? strlen(s) : 0;

	if (s) {
		s[n] = '\n'; /* over the NUL: the length is known */
		if (send(c->fd, s, n + 1, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)(n + 1))
			log_debug("policy.sock: the answer was not taken: %s", strerror(errno));
	}
	free(s);
	cJSON_Delete(ans);
	conn_close(a, c);
}

static void on_conn(struct agent *a, struct sock_conn *c)
{
	ssize_t r;
	char *nl;

	for (;;) {
		if (c->n == sizeof(c->buf)) {
			answer(a, c,
			       refusef(a, SOCK_BAD_REQUEST, "the request is longer than %d bytes",
				       SOCK_LINE_MAX));
			return;
		}
		r = recv(c->fd, c->buf + c->n, sizeof(c->buf) - c->n, MSG_DONTWAIT);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return; /* the rest later, within the deadline */
		if (r <= 0) {
			/* the client is gone, or closed its side: a line without its newline is
			 * taken as the line */
			if (r == 0 && c->n && !memchr(c->buf, '\n', c->n))
				answer(a, c, serve(a, c->buf, c->n));
			else
				conn_close(a, c);
			return;
		}
		nl = memchr(c->buf + c->n, '\n', (size_t)r);
		c->n += (size_t)r;
		if (nl) {
			answer(a, c, serve(a, c->buf, (size_t)(nl - c->buf)));
			return;
		}
	}
}

static void on_accept(struct agent *a)
{
	struct agent_sock *s = a->sock;
	struct epoll_event ev = {.events = EPOLLIN};
	size_t i;
	int fd;

	while ((fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		for (i = 0; i < AGENT_SOCK_CONNS && s->c[i].fd >= 0; i++)
			;
		ev.data.u32 = s->tag + 2 + (uint32_t)i;
		if (i == AGENT_SOCK_CONNS || epoll_ctl(a->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			log_debug("policy.sock: %d connections open: one closed unanswered",
				  AGENT_SOCK_CONNS);
			close(fd);
			continue;
		}
		s->c[i].fd = fd;
		s->c[i].n = 0;
		s->c[i].deadline = agent_now_ms() + SOCK_READ_MS;
	}
	if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
		log_warn("policy.sock: accept: %s", strerror(errno));
}

static void on_deadline(struct agent *a)
{
	struct agent_sock *s = a->sock;
	int64_t now = agent_now_ms();
	uint64_t n;

	(void)!read(s->tfd, &n, sizeof(n));
	for (size_t i = 0; i < AGENT_SOCK_CONNS; i++)
		if (s->c[i].fd >= 0 && s->c[i].deadline <= now) {
			log_info("policy.sock: no request within %d ms: connection closed",
				 SOCK_READ_MS);
			conn_close(a, &s->c[i]);
		}
}

void agent_sock_event(struct agent *a, uint32_t tag)
{
	struct agent_sock *s = a->sock;

	if (!s)
		return;
	if (tag == s->tag)
		on_accept(a);
	else if (tag == s->tag + 1)
		on_deadline(a);
	else if (tag >= s->tag + 2 && tag < s->tag + 2 + AGENT_SOCK_CONNS &&
		 s->c[tag - s->tag - 2].fd >= 0)
		on_conn(a, &s->c[tag - s->tag - 2]);
	if (a->sock)
		arm(a);
}
