/* SPDX-License-Identifier: Apache-2.0 */
/* The etcd backend's pure part: its URL, the JSON it sends and the JSON it reads back
 * (overlay-and-policy.md §3: bytes as base64, int64 as strings, zero values omitted). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "store/etcd.h"
#include "base/base64.h"
#include "base/err.h"

/* ---- URL ---- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* A query value, %XX decoded (a path may hold '&' or '=') */
static char *unescape(const char *s, size_t len)
{
	char *out = malloc(len + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			*o++ = (char)(hexval(s[i + 1]) << 4 | hexval(s[i + 2]));
			i += 2;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	if (strlen(out) != (size_t)(o - out)) { /* a %00 */
		free(out);
		return NULL;
	}
	return out;
}

static int parse_endpoint(const char *s, size_t len, struct etcd_url *u, struct err *err)
{
	const char *host = s, *colon = NULL;
	size_t hlen;
	long port = ETCD_DEFAULT_PORT;

	if (!len)
		return err_fail(err, CNI_ERR_CONFIG, -EINVAL,
				"store URL: an empty endpoint (etcd://host:port,host:port)");
	if (*s == '[') {
		const char *end = memchr(s, ']', len);

		if (!end)
			return err_fail(err, CNI_ERR_CONFIG, -EINVAL,
					"store URL: an IPv6 endpoint without its closing ']'");
		hlen = (size_t)(end - s) + 1;
		for (size_t i = 1; i + 1 < hlen; i++)
			if (!isxdigit((unsigned char)s[i]) && s[i] != ':' && s[i] != '.')
				return err_fail(err, CNI_ERR_CONFIG, -EINVAL,
						"store URL: a malformed IPv6 endpoint");
		if (hlen == 2)
			return err_fail(err, CNI_ERR_CONFIG, -EINVAL,
					"store URL: an empty IPv6 endpoint");
		if (hlen < len) {
			if (s[hlen] != ':')
				return err_fail(err, CNI_ERR_CONFIG, -EINVAL,
						"store URL: junk after an IPv6 endpoint's ']'");
			colon = s + hlen;
		}
	} else {
		colon = memchr(s, ':', len);
		hlen = colon ? (size_t)(colon - s) : len;
		if (!hlen)
			return err_fail(err, CNI_ERR_CONFIG, -EINVAL,
					"store URL: an endpoint without a host");
		for (size_t i = 0; i < hlen; i++)
			if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '-' &&
			    s[i] != '_')
				return err_fail(
					err, CNI_ERR_CONFIG, -EINVAL,
					"store URL: a host holds a character other than letters, digits, '.', '-', '_'");
	}
	if (colon) {
		size_t plen = len - (size_t)(colon + 1 - s);
		char buf[8];

		if (!plen || plen > 5)
			return err_fail(err, CNI_ERR_CONFIG, -EINVAL,
					"store URL: an endpoint's port must be 1-65535");
		memcpy(buf, colon + 1, plen);
		buf[plen] = '\0';
		for (size_t i = 0; i < plen; i++)
			if (!isdigit((unsigned char)buf[i]))
				return err_fail(err, CNI_ERR_CONFIG, -EINVAL,
						"store URL: an endpoint's port must be 1-65535");
		port = strtol(buf, NULL, 10);
		if (port < 1 || port > 65535)
			return err_fail(err, CNI_ERR_CONFIG, -EINVAL,
					"store URL: an endpoint's port must be 1-65535");
	}
	if (u->n == ETCD_MAX_ENDPOINTS)
		return err_fail(err, CNI_ERR_CONFIG, -E2BIG, "store URL: more than %d endpoints",
				ETCD_MAX_ENDPOINTS);
	if (asprintf(&u->endpoints[u->n], "%.*s:%ld", (int)hlen, host, port) < 0) {
		u->endpoints[u->n] = NULL;
		return err_fail(err, CNI_ERR_IO, -ENOMEM, "store URL: out of memory");
	}
	u->n++;
	return 0;
}

static int parse_query(const char *q, struct etcd_url *u, struct err *err)
{
	bool api = false;

	while (*q) {
		const char *amp = strchrnul(q, '&'), *eq = memchr(q, '=', (size_t)(amp - q));
		size_t klen = eq ? (size_t)(eq - q) : (size_t)(amp - q);
		char **slot = NULL;

		if (klen == 3 && !strncmp(q, "api", 3)) {
			size_t vlen = eq ? (size_t)(amp - eq - 1) : 0;

			if (api)
				return err_fail(err, CNI_ERR_CONFIG, -EINVAL,
						"store URL: query key api given twice");
			api = true;
			if (vlen == 4 && !strncmp(eq + 1, "json", 4))
				u->api_json = true;
			else if (vlen != 4 || strncmp(eq + 1, "grpc", 4))
				return err_fail(err, CNI_ERR_CONFIG, -EINVAL,
						"store URL: api must be json or grpc");
			q = *amp ? amp + 1 : amp;
			continue;
		}
		if (!u->tls)
			return err_fail(
				err, CNI_ERR_CONFIG, -EINVAL,
				"store URL: etcd:// takes only api=json|grpc (TLS is etcds://...?cacert=FILE&cert=FILE&key=FILE)");
		if (klen == 6 && !strncmp(q, "cacert", 6))
			slot = &u->cacert;
		else if (klen == 4 && !strncmp(q, "cert", 4))
			slot = &u->cert;
		else if (klen == 3 && !strncmp(q, "key", 3))
			slot = &u->key;
		else
			return err_fail(
				err, CNI_ERR_CONFIG, -EINVAL,
				"store URL: unknown query key '%.*s' (etcds:// takes cacert, cert, key, api)",
				(int)(klen > 32 ? 32 : klen), q);
		if (*slot)
			return err_fail(err, CNI_ERR_CONFIG, -EINVAL,
					"store URL: query key %.*s given twice", (int)klen, q);
		if (!eq || eq + 1 == amp)
			return err_fail(err, CNI_ERR_CONFIG, -EINVAL,
					"store URL: query key %.*s needs a file (%.*s=FILE)",
					(int)klen, q, (int)klen, q);
		*slot = unescape(eq + 1, (size_t)(amp - eq - 1));
		if (!*slot)
			return err_fail(err, CNI_ERR_CONFIG, -EINVAL,
					"store URL: query key %.*s: a malformed file name",
					(int)klen, q);
		q = *amp ? amp + 1 : amp;
	}
	return 0;
}

static int check_file(const char *what, const char *path, struct err *err)
{
	if (access(path, R_OK) < 0)
		return err_fail(err, CNI_ERR_CONFIG, -errno, "store URL: %s %s: %s", what, path,
				strerror(errno));
	return 0;
}

int etcd_url_parse(const char *url, struct etcd_url *u, struct err *err)
{
	const char *p, *end, *q;
	int r;

	memset(u, 0, sizeof(*u));
	if (!strncmp(url, "etcd://", 7)) {
		p = url + 7;
	} else if (!strncmp(url, "etcds://", 8)) {
		u->tls = true;
		p = url + 8;
	} else {
		return err_fail(err, CNI_ERR_CONFIG, -EINVAL,
				"store URL must start with etcd:// or etcds://");
	}
	q = strchr(p, '?');
	end = q ? q : p + strlen(p);
	if (end > p && end[-1] == '/')
		end--;
	if (memchr(p, '/', (size_t)(end - p)))
		return err_fail(err, CNI_ERR_CONFIG, -EINVAL,
				"store URL: etcd:// takes no path (etcd://host:port,host:port)");
	if (end == p)
		return err_fail(err, CNI_ERR_CONFIG, -EINVAL,
				"store URL: no endpoint (etcd://host:port,host:port)");
	if (memchr(p, '@', (size_t)(end - p)))
		return err_fail(
			err, CNI_ERR_CONFIG, -EINVAL,
			"store URL: user:password@ is not supported (etcds:// with a client certificate authenticates)");
	while (p <= end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *stop = comma ? comma : end;

		r = parse_endpoint(p, (size_t)(stop - p), u, err);
		if (r < 0)
			goto fail;
		p = stop + 1;
	}
	if (q) {
		r = parse_query(q + 1, u, err);
		if (r < 0)
			goto fail;
	}
	r = -EINVAL;
	if (u->tls && !u->cacert) {
		err_fail(
			err, CNI_ERR_CONFIG, r,
			"store URL: etcds:// needs cacert=FILE (the CA that signed the members' certificates)");
		goto fail;
	}
	if (!u->cert != !u->key) {
		err_fail(
			err, CNI_ERR_CONFIG, r,
			"store URL: cert=FILE and key=FILE go together (the client certificate and its key)");
		goto fail;
	}
	if (u->tls && ((r = check_file("cacert", u->cacert, err)) < 0 ||
		       (u->cert && (r = check_file("cert", u->cert, err)) < 0) ||
		       (u->key && (r = check_file("key", u->key, err)) < 0)))
		goto fail;
	return 0;
fail:
	etcd_url_free(u);
	return r;
}

void etcd_url_free(struct etcd_url *u)
{
	for (size_t i = 0; i < u->n; i++)
		free(u->endpoints[i]);
	free(u->cacert);
	free(u->cert);
	free(u->key);
	memset(u, 0, sizeof(*u));
}

/* ---- requests ---- */

size_t etcd_prefix_end(const char *prefix, size_t len, char *out)
{
	memcpy(out, prefix, len);
	for (size_t i = len; i > 0; i--) {
		if ((unsigned char)out[i - 1] < 0xff) {
			out[i - 1] = (char)((unsigned char)out[i - 1] + 1);
			return i;
		}
	}
	out[0] = '\0';
	return 1;
}

bool etcd_json_add_bytes(cJSON *o, const char *name, const void *data, size_t len)
{
	char *b = malloc(BASE64_ENCODED_LEN(len) + 1);
	bool ok;

	if (!b)
		return false;
	base64_encode(data, len, b);
	ok = cJSON_AddStringToObject(o, name, b) != NULL;
	free(b);
	return ok;
}

bool etcd_json_add_i64(cJSON *o, const char *name, int64_t v)
{
	char b[24];

	snprintf(b, sizeof(b), "%lld", (long long)v);
	return cJSON_AddStringToObject(o, name, b) != NULL;
}

bool etcd_json_i64(const cJSON *o, const char *name, int64_t *v)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, name);
	char *end;

	*v = 0;
	if (!f || cJSON_IsNull(f))
		return true;
	if (cJSON_IsNumber(f)) {
		if (f->valuedouble != (double)(int64_t)f->valuedouble)
			return false;
		*v = (int64_t)f->valuedouble;
		return true;
	}
	if (!cJSON_IsString(f) || !*f->valuestring)
		return false;
	errno = 0;
	*v = strtoll(f->valuestring, &end, 10);
	return !*end && !errno;
}

cJSON *etcd_req_range(const char *key, const char *range_end, size_t range_end_len, size_t limit)
{
	cJSON *o = cJSON_CreateObject();

	if (!o || !etcd_json_add_bytes(o, "key", key, strlen(key)) ||
	    (range_end && !etcd_json_add_bytes(o, "range_end", range_end, range_end_len)) ||
	    (limit && !etcd_json_add_i64(o, "limit", (int64_t)limit))) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* The compare a conditional write carries: create-if-absent is "the key was never created"
 * (create_revision 0, what Flannel's createSubnet sends), compare-and-swap is "its
 * mod_revision is still if_rev". Unconditional: no compare at all. */
static bool add_compare(cJSON *txn, const char *key, int64_t if_rev)
{
	cJSON *cmp = cJSON_AddArrayToObject(txn, "compare"), *c;

	if (!cmp)
		return false;
	if (if_rev == STORE_ANY)
		return true;
	c = cJSON_CreateObject();
	if (!c || !cJSON_AddItemToArray(cmp, c))
		return cJSON_Delete(c), false;
	if (!etcd_json_add_bytes(c, "key", key, strlen(key)) ||
	    !cJSON_AddStringToObject(c, "result", "EQUAL"))
		return false;
	if (if_rev == STORE_ABSENT)
		return cJSON_AddStringToObject(c, "target", "CREATE") &&
		       etcd_json_add_i64(c, "create_revision", 0);
	return cJSON_AddStringToObject(c, "target", "MOD") &&
	       etcd_json_add_i64(c, "mod_revision", if_rev);
}

/* {"compare":[...],"success":[{op: body}],"failure":[{"request_range":{"key":K}}]} */
static cJSON *txn(const char *key, int64_t if_rev, const char *op, cJSON *body)
{
	cJSON *o = cJSON_CreateObject(), *arr, *item, *range;

	if (!o || !body || !add_compare(o, key, if_rev))
		goto fail;
	if (!(arr = cJSON_AddArrayToObject(o, "success")) || !(item = cJSON_CreateObject()) ||
	    !cJSON_AddItemToArray(arr, item))
		goto fail;
	cJSON_AddItemToObject(item, op, body);
	body = NULL;
	if (!(arr = cJSON_AddArrayToObject(o, "failure")) || !(item = cJSON_CreateObject()) ||
	    !cJSON_AddItemToArray(arr, item) ||
	    !(range = cJSON_AddObjectToObject(item, "request_range")) ||
	    !etcd_json_add_bytes(range, "key", key, strlen(key)))
		goto fail;
	return o;
fail:
	cJSON_Delete(body);
	cJSON_Delete(o);
	return NULL;
}

cJSON *etcd_req_put_txn(const char *key, const void *value, size_t len, int64_t lease,
			int64_t if_rev)
{
	cJSON *put = cJSON_CreateObject();

	/* prev_kv: the lease the key had, to revoke it once nothing holds it */
	if (!put || !etcd_json_add_bytes(put, "key", key, strlen(key)) ||
	    !etcd_json_add_bytes(put, "value", value, len) ||
	    (lease && !etcd_json_add_i64(put, "lease", lease)) ||
	    !cJSON_AddTrueToObject(put, "prev_kv")) {
		cJSON_Delete(put);
		return NULL;
	}
	return txn(key, if_rev, "request_put", put);
}

cJSON *etcd_req_delete_txn(const char *key, int64_t if_rev)
{
	cJSON *del = cJSON_CreateObject();

	if (!del || !etcd_json_add_bytes(del, "key", key, strlen(key)) ||
	    !cJSON_AddTrueToObject(del, "prev_kv")) {
		cJSON_Delete(del);
		return NULL;
	}
	return txn(key, if_rev, "request_delete_range", del);
}

cJSON *etcd_req_watch(const char *prefix, int64_t start_rev)
{
	size_t len = strlen(prefix);
	char *end = malloc(len + 1);
	cJSON *o = cJSON_CreateObject(),
	      *c = o ? cJSON_AddObjectToObject(o, "create_request") : NULL;
	bool ok = end && c;

	/* progress_notify: a silent stream still tells the revision it has reached.
	 * fragment: etcd (3.4 on) splits a response larger than its request limit into parts
	 * ("fragment": true on all but the last), each readable alone; without it a watcher
	 * that fell behind gets up to 1000 revisions in one message of any size. */
	if (ok)
		ok = etcd_json_add_bytes(c, "key", prefix, len) &&
		     etcd_json_add_bytes(c, "range_end", end, etcd_prefix_end(prefix, len, end)) &&
		     (start_rev <= 0 || etcd_json_add_i64(c, "start_revision", start_rev)) &&
		     cJSON_AddTrueToObject(c, "progress_notify") &&
		     cJSON_AddTrueToObject(c, "fragment");
	free(end);
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* ---- answers ---- */

/* Decodes a base64 field into a fresh NUL-terminated buffer; absent is empty */
static int get_bytes(const cJSON *o, const char *name, char **out, size_t *len, size_t max)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, name);
	size_t slen = f && cJSON_IsString(f) ? strlen(f->valuestring) : 0;
	ssize_t n = 0;

	if (f && !cJSON_IsString(f))
		return -EBADMSG;
	if (BASE64_DECODED_MAX(slen) > max + 3)
		return -EBADMSG;
	*out = malloc(BASE64_DECODED_MAX(slen) + 1);
	if (!*out)
		return -ENOMEM;
	if (slen)
		n = base64_decode(f->valuestring, slen, *out);
	if (n < 0 || (size_t)n > max) {
		free(*out);
		*out = NULL;
		return -EBADMSG;
	}
	(*out)[n] = '\0';
	if (len)
		*len = (size_t)n;
	return 0;
}

int etcd_parse_kv(const cJSON *j, struct store_kv *kv)
{
	size_t klen;
	int r;

	memset(kv, 0, sizeof(*kv));
	kv->ttl = -1;
	if (!cJSON_IsObject(j))
		return -EBADMSG;
	r = get_bytes(j, "key", &kv->key, &klen, STORE_KEY_MAX);
	if (r < 0)
		return r;
	if (!klen || strlen(kv->key) != klen)
		r = -EBADMSG; /* sluice's keys are never empty and hold no NUL */
	if (!r)
		r = get_bytes(j, "value", &kv->value, &kv->value_len, ETCD_VALUE_READ_MAX);
	if (!r &&
	    (!etcd_json_i64(j, "create_revision", &kv->create_rev) ||
	     !etcd_json_i64(j, "mod_revision", &kv->mod_rev) ||
	     !etcd_json_i64(j, "version", &kv->version) || !etcd_json_i64(j, "lease", &kv->lease)))
		r = -EBADMSG;
	/* a leased key's TTL takes a request of its own (store_ttl): a watch event has none */
	if (!r && kv->lease)
		kv->ttl = STORE_TTL_UNKNOWN;
	if (r < 0) {
		store_kv_free(kv);
		kv->ttl = -1;
	}
	return r;
}

void etcd_safe_message(const char *msg, char *out, size_t len)
{
	static const char *const known[] = {"etcdserver: ", "mvcc: ", "lease: ", "auth: "};
	size_t run = 0, n = msg ? strlen(msg) : 0;
	bool ok = false;

	*out = '\0';
	for (size_t i = 0; i < sizeof(known) / sizeof(*known) && msg; i++)
		ok |= !strncmp(msg, known[i], strlen(known[i]));
	if (!ok || n >= len || n > 200)
		return;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)msg[i];

		/* a quote or a long run without spaces could be an echoed key or value */
		if (c == '"' || c == '\'' || c == '`' || c < 0x20 || c >= 0x7f)
			return;
		run = c == ' ' ? 0 : run + 1;
		if (run > 40)
			return;
	}
	memcpy(out, msg, n + 1);
}

static int parse_event(const cJSON *e, struct store_event *ev)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(e, "type");
	int r;

	memset(ev, 0, sizeof(*ev));
	/* a PUT has no "type": the gateway omits the enum's zero */
	if (!type || (cJSON_IsString(type) && !strcmp(type->valuestring, "PUT")))
		ev->type = STORE_EV_PUT;
	else if (cJSON_IsString(type) && !strcmp(type->valuestring, "DELETE"))
		ev->type = STORE_EV_DELETE;
	else
		return -EBADMSG;
	r = etcd_parse_kv(cJSON_GetObjectItemCaseSensitive(e, "kv"), &ev->kv);
	if (r < 0)
		return r;
	if (ev->type == STORE_EV_DELETE) {
		ev->kv.create_rev = ev->kv.version = ev->kv.lease = 0;
		ev->kv.value_len = 0;
	}
	return 0;
}

int etcd_parse_watch_msg(const char *line, size_t len, struct etcd_watch_msg *m)
{
	cJSON *j = cJSON_ParseWithLength(line, len), *res, *evs, *e;
	int r = -EBADMSG;

	memset(m, 0, sizeof(*m));
	if (!cJSON_IsObject(j))
		goto out;
	res = cJSON_GetObjectItemCaseSensitive(j, "error");
	if (res) {
		cJSON *msg = cJSON_GetObjectItemCaseSensitive(res, "message");

		m->error = true;
		etcd_safe_message(cJSON_IsString(msg) ? msg->valuestring : NULL, m->reason,
				  sizeof(m->reason));
		r = 0;
		goto out;
	}
	res = cJSON_GetObjectItemCaseSensitive(j, "result");
	if (!cJSON_IsObject(res))
		goto out;
	if (!etcd_json_i64(cJSON_GetObjectItemCaseSensitive(res, "header"), "revision",
			   &m->header_rev) ||
	    !etcd_json_i64(res, "compact_revision", &m->compact_rev))
		goto out;
	m->created = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res, "created"));
	m->canceled = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res, "canceled"));
	m->fragment = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res, "fragment"));
	if (m->canceled) {
		cJSON *reason = cJSON_GetObjectItemCaseSensitive(res, "cancel_reason");

		etcd_safe_message(cJSON_IsString(reason) ? reason->valuestring : NULL, m->reason,
				  sizeof(m->reason));
	}
	evs = cJSON_GetObjectItemCaseSensitive(res, "events");
	if (evs && !cJSON_IsArray(evs))
		goto out;
	if (cJSON_GetArraySize(evs) > 0) {
		m->events = calloc((size_t)cJSON_GetArraySize(evs), sizeof(*m->events));
		if (!m->events) {
			r = -ENOMEM;
			goto out;
		}
	}
	cJSON_ArrayForEach(e, evs) {
		r = parse_event(e, &m->events[m->n]);
		if (r < 0)
			goto out;
		m->n++;
	}
	r = 0;
out:
	cJSON_Delete(j);
	if (r < 0)
		etcd_watch_msg_free(m);
	return r;
}

void etcd_watch_msg_free(struct etcd_watch_msg *m)
{
	for (size_t i = 0; i < m->n; i++)
		store_event_free(&m->events[i]);
	free(m->events);
	m->events = NULL;
	m->n = 0;
}
