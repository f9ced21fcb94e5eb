// SPDX-License-Identifier: Apache-2.0
/* JSON read as strictly as Go's encoding/json: cJSON parses, then one pass over the text
 * refuses what cJSON accepts and Go does not. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/json.h"

static int fail(int r, char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(int r, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return r;
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* RFC 8259's number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? (cJSON hands anything
 * made of those characters to strtod, which also takes "+1", ".5", "1." and "01"). Returns
 * the length, or 0 when s does not start with one. */
static size_t number_len(const char *s, size_t len)
{
	size_t i = 0, d;

	if (i < len && s[i] == '-')
		i++;
	if (i < len && s[i] == '0')
		i++;
	else if (i < len && is_digit(s[i]))
		while (i < len && is_digit(s[i]))
			i++;
	else
		return 0;
	if (i < len && s[i] == '.') {
		for (d = ++i; i < len && is_digit(s[i]); i++)
			;
		if (i == d)
			return 0;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		if (++i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		for (d = i; i < len && is_digit(s[i]); i++)
			;
		if (i == d)
			return 0;
	}
	/* "1.5.2" or "1e5e5": strtod would stop early, and cJSON refuses it, but say so here */
	if (i < len && (s[i] == '.' || s[i] == 'e' || s[i] == 'E' || s[i] == '+' || s[i] == '-' ||
			is_digit(s[i])))
		return 0;
	return i;
}

static bool is_nul_escape(const char *s, size_t left)
{
	return left >= 6 && s[0] == '\\' && s[1] == 'u' && !strncmp(s + 2, "0000", 4);
}

/* The text cJSON accepted, token by token. Returns 0, or -EBADMSG with err set; *nul_str is
 * the index (in text order, keys counted) of the first string holding \u0000, or -1. */
static int lex(const char *s, size_t len, long *nul_str, char *err, size_t errlen)
{
	long n_str = 0;
	size_t i = 0, n;

	*nul_str = -1;
	while (i < len) {
		char c = s[i];

		if (is_ws(c) || (c && strchr("{}[]:,", c))) { /* strchr() finds the NUL too */
			i++;
		} else if (c >= 'a' && c <= 'z') { /* true false null: cJSON compared them */
			while (i < len && s[i] >= 'a' && s[i] <= 'z')
				i++;
		} else if (c == '-' || is_digit(c)) {
			n = number_len(s + i, len - i);
			if (!n)
				return fail(-EBADMSG, err, errlen, "at byte %zu: invalid number",
					    i);
			i += n;
		} else if (c == '"') {
			for (i++; i < len && s[i] != '"'; i++) {
				if ((unsigned char)s[i] < 0x20)
					return fail(-EBADMSG, err, errlen,
						    "at byte %zu: control character in a string",
						    i);
				if (s[i] != '\\')
					continue;
				if (*nul_str < 0 && is_nul_escape(s + i, len - i))
					*nul_str = n_str;
				i++; /* the escaped character; cJSON checked the escape */
			}
			i++;
			n_str++;
		} else {
			/* cJSON skips every byte up to 0x20 as white space, and a UTF-8 BOM */
			return fail(-EBADMSG, err, errlen, "at byte %zu: invalid character", i);
		}
	}
	return 0;
}

struct walk {
	long want, seen;
	char *path;
	size_t pathlen;
	bool key;
};

/* Depth first in text order (cJSON keeps an object's members, duplicates too, in order):
 * finds the want-th string token and writes the path of the value it is or names. */
static bool find(const cJSON *o, struct walk *w, size_t at)
{
	const cJSON *e;
	size_t n;
	int i = 0;

	if (cJSON_IsString(o) && w->seen++ == w->want)
		return true;
	if (!cJSON_IsArray(o) && !cJSON_IsObject(o))
		return false;
	for (e = o->child; e; e = e->next, i++) {
		if (cJSON_IsObject(o))
			n = (size_t)snprintf(w->path + at, w->pathlen - at, "%s%s", at ? "." : "",
					     e->string);
		else
			n = (size_t)snprintf(w->path + at, w->pathlen - at, "[%d]", i);
		n = at + n < w->pathlen ? at + n : w->pathlen - 1;
		if (cJSON_IsObject(o) && w->seen++ == w->want) {
			w->key = true;
			return true;
		}
		if (find(e, w, n))
			return true;
		w->path[at] = '\0';
	}
	return false;
}

/* A number too large for a double: cJSON reads it as infinity and prints it as null, so
 * the value would not survive a write and a read back (the store's objects must). */
static bool has_nonfinite(const cJSON *o)
{
	if (cJSON_IsNumber(o))
		return !isfinite(o->valuedouble);
	for (const cJSON *e = o->child; e; e = e->next)
		if (has_nonfinite(e))
			return true;
	return false;
}

int json_parse_strict(const char *s, size_t len, cJSON **ret, char *err, size_t errlen)
{
	const char *end = NULL;
	char path[256] = "";
	struct walk w = {.path = path, .pathlen = sizeof(path)};
	cJSON *o;
	long nul;
	int r;

	*ret = NULL;
	o = cJSON_ParseWithLengthOpts(s, len, &end, false);
	if (!o) {
		end = cJSON_GetErrorPtr();
		if (end && end >= s && end <= s + len)
			return fail(-EBADMSG, err, errlen, "at byte %td", end - s);
		return fail(-EBADMSG, err, errlen, "invalid JSON");
	}
	for (size_t i = (size_t)(end - s); i < len; i++)
		if (!is_ws(s[i])) {
			cJSON_Delete(o);
			return fail(-EBADMSG, err, errlen,
				    "at byte %zu: data after the end of the JSON value", i);
		}
	r = lex(s, (size_t)(end - s), &nul, err, errlen);
	if (r < 0) {
		cJSON_Delete(o);
		return r;
	}
	if (has_nonfinite(o)) {
		cJSON_Delete(o);
		return fail(-EBADMSG, err, errlen, "a number is out of range (beyond 1.8e308)");
	}
	if (nul >= 0) {
		w.want = nul;
		find(o, &w, 0);
		cJSON_Delete(o);
		return fail(-EILSEQ, err, errlen, "%s: a %s must not contain U+0000",
			    path[0] ? path : "the JSON value", w.key ? "key" : "string");
	}
	*ret = o;
	return 0;
}
