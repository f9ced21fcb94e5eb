/* SPDX-License-Identifier: Apache-2.0 */
/* The dir:// backend's on-disk formats, pure functions: key escaping, and the one-line JSON
 * headers of key files, log records, the log and the meta file. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "store/dir.h"
#include "base/sha256.h"

bool dir_key_valid(const char *key)
{
	return key && key[0] == '/' && strnlen(key, STORE_KEY_MAX + 1) <= STORE_KEY_MAX;
}

static bool plain(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

int dir_key_escape(const char *key, char *out, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
		if (n + 4 > size)
			return -ENAMETOOLONG;
		if (plain(*p)) {
			out[n++] = (char)*p;
		} else if (*p == '/') {
			out[n++] = '+';
		} else {
			out[n++] = '%';
			out[n++] = hex[*p >> 4];
			out[n++] = hex[*p & 15];
		}
	}
	if (n >= size)
		return -ENAMETOOLONG;
	out[n] = '\0';
	return (int)n;
}

static int unhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1; /* lower case is never written: one key, one name */
}

int dir_key_unescape(const char *in, char *out, size_t size)
{
	size_t n = 0;

	for (const char *p = in; *p; p++) {
		int c;

		if (n + 1 >= size)
			return -EINVAL;
		if (plain((unsigned char)*p)) {
			c = *p;
		} else if (*p == '+') {
			c = '/';
		} else if (*p == '%' && unhex(p[1]) >= 0 && unhex(p[2]) >= 0) {
			c = unhex(p[1]) << 4 | unhex(p[2]);
			if (c == 0 || plain((unsigned char)c) || c == '/')
				return -EINVAL;
			p += 2;
		} else {
			return -EINVAL;
		}
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return (int)n;
}

void dir_key_file(const char *key, char *out)
{
	uint8_t d[SHA256_LEN];

	if (dir_key_escape(key, out, DIR_NAME_MAX + 1) >= 0)
		return;
	/* '~' is never part of an escaped name: a long key's hashed name meets no other */
	sha256(key, strlen(key), d);
	out[0] = '~';
	for (int i = 0; i < SHA256_LEN; i++)
		snprintf(out + 1 + 2 * i, 3, "%02x", d[i]);
}

static const char *const ops[] = {[DIR_PUT] = "PUT", [DIR_DELETE] = "DELETE"};

/* The fields are integers up to 2^53 (exact in cJSON's doubles): ms since 1970 and counters */
static int add_num(cJSON *o, const char *name, int64_t v)
{
	return cJSON_AddNumberToObject(o, name, (double)v) ? 0 : -ENOMEM;
}

static bool in_range(int64_t v)
{
	return v >= 0 && v <= DIR_NUM_MAX;
}

static int print_line(cJSON *o, char *out, size_t size)
{
	char *s = cJSON_PrintUnformatted(o);
	size_t n;

	if (!s)
		return -ENOMEM;
	n = strlen(s);
	if (n + 2 > size) {
		cJSON_free(s);
		return -ENAMETOOLONG;
	}
	memcpy(out, s, n);
	out[n++] = '\n';
	out[n] = '\0';
	cJSON_free(s);
	return (int)n;
}

int dir_hdr_format(const struct dir_hdr *h, char *out, size_t size)
{
	char esc[3 * STORE_KEY_MAX + 1];
	cJSON *o = cJSON_CreateObject();
	int r = -ENOMEM;

	if (!o)
		return -ENOMEM;
	/* what get_num would refuse is never written: it would make the file unreadable */
	if (!in_range(h->create_rev) || !in_range(h->mod_rev) || !in_range(h->version) ||
	    !in_range(h->ttl) || !in_range(h->expires) || h->len > STORE_VALUE_MAX) {
		r = -ERANGE;
		goto out;
	}
	if (dir_key_escape(h->key, esc, sizeof(esc)) < 0) {
		r = -ENAMETOOLONG;
		goto out;
	}
	if ((h->op && !cJSON_AddStringToObject(o, "op", ops[h->op])) ||
	    !cJSON_AddStringToObject(o, "key", esc) ||
	    add_num(o, "create_revision", h->create_rev) ||
	    add_num(o, "mod_revision", h->mod_rev) || add_num(o, "version", h->version) ||
	    add_num(o, "ttl", h->ttl) || add_num(o, "expires", h->expires) ||
	    add_num(o, "len", (int64_t)h->len))
		goto out;
	r = print_line(o, out, size);
out:
	cJSON_Delete(o);
	return r;
}

static int get_num(const cJSON *o, const char *name, int64_t *v)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!cJSON_IsNumber(n) || n->valuedouble < 0 || n->valuedouble > 9007199254740992.0 ||
	    n->valuedouble != (double)(int64_t)n->valuedouble)
		return -EBADMSG;
	*v = (int64_t)n->valuedouble;
	return 0;
}

/* get_num(), but a number over max (up to any double) reads as max and sets *clamped */
static int get_num_clamped(const cJSON *o, const char *name, int64_t max, int64_t *v, bool *clamped)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, name);

	if (cJSON_IsNumber(n) && n->valuedouble > (double)max) {
		*v = max;
		*clamped = true;
		return 0;
	}
	return get_num(o, name, v);
}

/* The JSON line at buf[0..n): its length with "\n", 0 when not whole, -EBADMSG */
static ssize_t parse_line(const char *buf, size_t n, cJSON **ret)
{
	const char *nl = memchr(buf, '\n', n < DIR_HDR_MAX ? n : DIR_HDR_MAX);

	*ret = NULL;
	if (!nl)
		return n < DIR_HDR_MAX ? 0 : -EBADMSG;
	*ret = cJSON_ParseWithLength(buf, (size_t)(nl - buf));
	if (!cJSON_IsObject(*ret)) {
		cJSON_Delete(*ret);
		*ret = NULL;
		return -EBADMSG;
	}
	return nl - buf + 1;
}

ssize_t dir_hdr_parse(const char *buf, size_t n, struct dir_hdr *h)
{
	const cJSON *op, *key;
	int64_t len;
	cJSON *o;
	ssize_t r = parse_line(buf, n, &o);

	if (r <= 0)
		return r;
	memset(h, 0, sizeof(*h));
	op = cJSON_GetObjectItemCaseSensitive(o, "op");
	key = cJSON_GetObjectItemCaseSensitive(o, "key");
	if (op) {
		if (!cJSON_IsString(op))
			goto bad;
		if (!strcmp(op->valuestring, "PUT"))
			h->op = DIR_PUT;
		else if (!strcmp(op->valuestring, "DELETE"))
			h->op = DIR_DELETE;
		else
			goto bad;
	}
	if (!cJSON_IsString(key) ||
	    dir_key_unescape(key->valuestring, h->key, sizeof(h->key)) < 0 ||
	    !dir_key_valid(h->key) || get_num(o, "create_revision", &h->create_rev) ||
	    get_num(o, "mod_revision", &h->mod_rev) || get_num(o, "version", &h->version) ||
	    get_num_clamped(o, "ttl", DIR_TTL_MAX, &h->ttl, &h->clamped) ||
	    get_num_clamped(o, "expires", DIR_NUM_MAX, &h->expires, &h->clamped) ||
	    get_num(o, "len", &len) || len > STORE_VALUE_MAX)
		goto bad;
	h->len = (size_t)len;
	cJSON_Delete(o);
	return r;
bad:
	cJSON_Delete(o);
	return -EBADMSG;
}

int dir_meta_format(const struct dir_meta *m, char *out, size_t size)
{
	cJSON *o = cJSON_CreateObject();
	int r = -ENOMEM;

	if (o && (!in_range(m->revision) || !in_range(m->first) || !in_range(m->log_gen) ||
		  !in_range(m->log_size) || !in_range(m->next_expiry)))
		r = -ERANGE;
	else if (o && !add_num(o, "revision", m->revision) && !add_num(o, "first", m->first) &&
		 !add_num(o, "log_gen", m->log_gen) && !add_num(o, "log_size", m->log_size) &&
		 !add_num(o, "next_expiry", m->next_expiry))
		r = print_line(o, out, size);
	cJSON_Delete(o);
	return r;
}

int dir_meta_parse(const char *buf, size_t n, struct dir_meta *m)
{
	cJSON *o;
	ssize_t r = parse_line(buf, n, &o);

	if (r <= 0)
		return -EBADMSG;
	m->clamped = false;
	/* a next expiry out of range (an older writer's huge TTL) is only a hint: 1 makes the
	 * next writer reap, which recomputes it from the key files */
	if (get_num(o, "next_expiry", &m->next_expiry) < 0) {
		m->next_expiry = 1;
		m->clamped = true;
	}
	if (get_num(o, "revision", &m->revision) || get_num(o, "first", &m->first) ||
	    get_num(o, "log_gen", &m->log_gen) || get_num(o, "log_size", &m->log_size) ||
	    m->revision < 1 || m->first < 1 || m->first > m->revision + 1)
		r = -EBADMSG;
	cJSON_Delete(o);
	return r < 0 ? (int)r : 0;
}

int dir_loghdr_format(int64_t gen, int64_t first, char *out, size_t size)
{
	cJSON *o = cJSON_CreateObject();
	int r = -ENOMEM;

	if (o && !add_num(o, "sluice_store_log", 1) && !add_num(o, "gen", gen) &&
	    !add_num(o, "first", first))
		r = print_line(o, out, size);
	cJSON_Delete(o);
	return r;
}

ssize_t dir_loghdr_parse(const char *buf, size_t n, int64_t *gen, int64_t *first)
{
	int64_t v;
	cJSON *o;
	ssize_t r = parse_line(buf, n, &o);

	if (r <= 0)
		return r ? r : -EBADMSG;
	if (get_num(o, "sluice_store_log", &v) || v != 1 || get_num(o, "gen", gen) ||
	    get_num(o, "first", first))
		r = -EBADMSG;
	cJSON_Delete(o);
	return r;
}

int64_t dir_now_ms(void)
{
	struct timespec t;

	/* the wall clock: expiries outlive a reboot with the store */
	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}
