// SPDX-License-Identifier: Apache-2.0
/* YAML to JSON over libyaml's event API: a stack of the containers being built, anchors
 * kept per document, scalars resolved as go-yaml v2 resolves them (what kubectl reads). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <yaml.h>

#include "base/err.h"
#include "k8s/yaml.h"

#define DEPTH_MAX 256
#define ALIAS_NODES_MAX 100000
#define ANCHORS_MAX 4096

struct frame {
	cJSON *node;
	char *key; /* a mapping's key waiting for its value */
	char *anchor;
	size_t n; /* members so far */
};

/* Duplicate keys are found here, with their place, in maps up to this size (the lookup is
 * linear); in larger ones, by k8s_object_parse() */
#define DUP_CHECK_MAX 1000

struct anchor {
	char *name;
	cJSON *node; /* borrowed from the document being built */
	size_t nodes;
};

struct builder {
	struct frame stack[DEPTH_MAX];
	int depth;
	cJSON *root;
	struct anchor anchors[ANCHORS_MAX];
	size_t nanchors, alias_nodes;
	struct err *err;
};

static int fail_at(struct builder *b, const yaml_mark_t *m, const char *why, const char *what)
{
	return err_fail(b->err, CNI_ERR_DECODE, -EINVAL, "YAML line %zu:%zu: %s%s%s%s", m->line + 1,
			m->column + 1, why, what ? " \"" : "", what ? what : "", what ? "\"" : "");
}

static size_t count(const cJSON *n)
{
	const cJSON *c;
	size_t k = 1;

	for (c = n->child; c; c = c->next)
		k += count(c);
	return k;
}

static void anchors_clear(struct builder *b)
{
	while (b->nanchors)
		free(b->anchors[--b->nanchors].name);
}

static int remember(struct builder *b, const char *name, cJSON *node, const yaml_mark_t *m)
{
	struct anchor *a;

	if (b->nanchors == ANCHORS_MAX)
		return fail_at(b, m, "too many anchors", NULL);
	a = &b->anchors[b->nanchors];
	a->name = strdup(name);
	if (!a->name)
		return -ENOMEM;
	a->node = node;
	a->nodes = count(node);
	b->nanchors++;
	return 0;
}

/* Adds a finished node to its parent (or makes it the document), then anchors it */
static int add(struct builder *b, cJSON *node, const char *anchor, const yaml_mark_t *m)
{
	struct frame *top = b->depth ? &b->stack[b->depth - 1] : NULL;
	int r;

	if (!node)
		return -ENOMEM;
	if (!top)
		b->root = node;
	else if (cJSON_IsArray(top->node))
		cJSON_AddItemToArray(top->node, node);
	else {
		cJSON_AddItemToObject(top->node, top->key, node);
		free(top->key);
		top->key = NULL;
	}
	if (anchor && (r = remember(b, anchor, node, m)) < 0)
		return r;
	return 0;
}

/* A scalar in a mapping where a key is expected: the key */
static int key(struct builder *b, const yaml_event_t *ev)
{
	struct frame *top = &b->stack[b->depth - 1];
	const char *k = (const char *)ev->data.scalar.value;

	if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !strcmp(k, "<<"))
		return fail_at(b, &ev->start_mark, "merge keys (<<) are not supported", NULL);
	if (top->n++ < DUP_CHECK_MAX && cJSON_GetObjectItemCaseSensitive(top->node, k))
		return fail_at(b, &ev->start_mark, "duplicate key", k);
	top->key = strdup(k);
	return top->key ? 0 : -ENOMEM;
}

static bool one_of(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(s, *list))
			return true;
	return false;
}

static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
static const char *const trues[] = {"y",    "Y",    "yes", "Yes", "YES", "true",
				    "True", "TRUE", "on",  "On",  "ON",	 NULL};
static const char *const falses[] = {"n",     "N",     "no",  "No",  "NO",  "false",
				     "False", "FALSE", "off", "Off", "OFF", NULL};
static const char *const infs[] = {".inf",  ".Inf",  ".INF", "+.inf", "+.Inf", "+.INF", "-.inf",
				   "-.Inf", "-.INF", ".nan", ".NaN",  ".NAN",  NULL};

/* go-yaml v2's integers: strconv.ParseInt(s without '_', 0, 64) and its 0b form */
static bool yaml_int(const char *s, double *ret)
{
	char buf[72], *end, *d = buf;
	const char *digits;
	bool neg = false;
	long long v;
	int base = 0;

	if (strlen(s) >= sizeof(buf))
		return false;
	for (; *s; s++)
		if (*s != '_')
			*d++ = *s;
	*d = '\0';
	digits = buf;
	if (*digits == '+' || *digits == '-')
		neg = *digits++ == '-';
	if (digits[0] == '0' && (digits[1] == 'b' || digits[1] == 'o')) {
		base = digits[1] == 'b' ? 2 : 8;
		digits += 2;
	}
	if (!*digits || *digits == '+' || *digits == '-' || *digits == ' ')
		return false;
	errno = 0;
	v = strtoll(digits, &end, base);
	if (*end || errno)
		return false;
	*ret = neg ? -(double)v : (double)v;
	return true;
}

/* yamlStyleFloat: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static bool yaml_float(const char *s, double *ret)
{
	const char *p = s + (*s == '+' || *s == '-');
	size_t n = strspn(p, "0123456789"), f = 0;
	char *end;

	if (p[n] == '.')
		f = strspn(p + n + 1, "0123456789");
	if (!n && !f)
		return false;
	p += n + (p[n] == '.' ? 1 + f : 0);
	if (*p == 'e' || *p == 'E') {
		p += 1 + (p[1] == '+' || p[1] == '-');
		if (!strspn(p, "0123456789"))
			return false;
		p += strspn(p, "0123456789");
	}
	if (*p)
		return false;
	*ret = strtod(s, &end);
	return !*end;
}

#define TAG(t) "tag:yaml.org,2002:" t

/* A value scalar as JSON: quoted and block scalars and !!str are strings; a plain one is
 * null, a boolean, a number or else a string, as go-yaml v2 resolves it */
static int scalar(struct builder *b, const yaml_event_t *ev, cJSON **ret)
{
	const char *s = (const char *)ev->data.scalar.value;
	const char *tag = (const char *)ev->data.scalar.tag;
	double d;

	*ret = NULL;
	if (tag && strcmp(tag, "!") && strcmp(tag, TAG("str")) && strcmp(tag, TAG("int")) &&
	    strcmp(tag, TAG("float")) && strcmp(tag, TAG("bool")) && strcmp(tag, TAG("null")))
		return fail_at(b, &ev->start_mark, "unsupported tag", tag);
	if (!ev->data.scalar.plain_implicit &&
	    !(tag && strcmp(tag, TAG("str")) && strcmp(tag, "!")))
		*ret = cJSON_CreateString(s);
	else if (one_of(s, nulls))
		*ret = cJSON_CreateNull();
	else if (one_of(s, trues))
		*ret = cJSON_CreateTrue();
	else if (one_of(s, falses))
		*ret = cJSON_CreateFalse();
	else if (one_of(s, infs))
		return fail_at(b, &ev->start_mark, "infinity and NaN have no JSON form:", s);
	else if (yaml_int(s, &d) || yaml_float(s, &d))
		*ret = cJSON_CreateNumber(d);
	else
		*ret = cJSON_CreateString(s);
	if (*ret && tag && strcmp(tag, "!") && strcmp(tag, TAG("str")) && cJSON_IsString(*ret)) {
		cJSON_Delete(*ret);
		*ret = NULL;
		return fail_at(b, &ev->start_mark, "a scalar that does not match its tag:", s);
	}
	return *ret ? 0 : -ENOMEM;
}

static int alias(struct builder *b, const yaml_event_t *ev, cJSON **ret)
{
	const char *name = (const char *)ev->data.alias.anchor;
	size_t i = b->nanchors;

	*ret = NULL;
	while (i-- > 0)
		if (!strcmp(b->anchors[i].name, name))
			break;
	if (i == (size_t)-1)
		return fail_at(b, &ev->start_mark, "unknown anchor", name);
	/* an anchor is remembered once its node is complete: an alias inside its own anchor
	 * (a cycle) is an unknown anchor */
	b->alias_nodes += b->anchors[i].nodes;
	if (b->alias_nodes > ALIAS_NODES_MAX)
		return fail_at(b, &ev->start_mark,
			       "aliases expand to more than 100000 nodes in all", NULL);
	*ret = cJSON_Duplicate(b->anchors[i].node, true);
	return *ret ? 0 : -ENOMEM;
}

static int open_node(struct builder *b, const yaml_event_t *ev, cJSON *node, const char *anchor)
{
	struct frame *f;

	if (!node)
		return -ENOMEM;
	if (b->depth == DEPTH_MAX) {
		cJSON_Delete(node);
		return fail_at(b, &ev->start_mark, "nested too deeply", NULL);
	}
	f = &b->stack[b->depth++];
	f->node = node;
	f->key = NULL;
	f->n = 0;
	f->anchor = anchor ? strdup(anchor) : NULL;
	return anchor && !f->anchor ? -ENOMEM : 0;
}

static int close_node(struct builder *b, const yaml_event_t *ev)
{
	struct frame *f = &b->stack[--b->depth];
	int r = add(b, f->node, f->anchor, &ev->start_mark);

	free(f->anchor);
	free(f->key);
	return r;
}

static int event(struct builder *b, const yaml_event_t *ev, cJSON *docs)
{
	struct frame *top = b->depth ? &b->stack[b->depth - 1] : NULL;
	bool want_key = top && cJSON_IsObject(top->node) && !top->key;
	cJSON *node;
	int r;

	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		b->root = NULL;
		return 0;
	case YAML_DOCUMENT_END_EVENT:
		cJSON_AddItemToArray(docs, b->root ? b->root : cJSON_CreateNull());
		b->root = NULL;
		anchors_clear(b);
		return 0;
	case YAML_MAPPING_START_EVENT:
	case YAML_SEQUENCE_START_EVENT:
		if (want_key)
			return fail_at(b, &ev->start_mark, "a mapping key must be a scalar", NULL);
		node = ev->type == YAML_MAPPING_START_EVENT ? cJSON_CreateObject()
							    : cJSON_CreateArray();
		return open_node(b, ev, node,
				 (const char *)(ev->type == YAML_MAPPING_START_EVENT
							? ev->data.mapping_start.anchor
							: ev->data.sequence_start.anchor));
	case YAML_MAPPING_END_EVENT:
	case YAML_SEQUENCE_END_EVENT:
		return close_node(b, ev);
	case YAML_SCALAR_EVENT:
		if (want_key)
			return key(b, ev);
		if ((r = scalar(b, ev, &node)) < 0)
			return r;
		return add(b, node, (const char *)ev->data.scalar.anchor, &ev->start_mark);
	case YAML_ALIAS_EVENT:
		if (want_key)
			return fail_at(b, &ev->start_mark, "an alias as a mapping key", NULL);
		if ((r = alias(b, ev, &node)) < 0)
			return r;
		return add(b, node, NULL, &ev->start_mark);
	default:
		return 0;
	}
}

static void builder_done(struct builder *b)
{
	while (b->depth) {
		struct frame *f = &b->stack[--b->depth];

		cJSON_Delete(f->node); /* its parent never got it */
		free(f->anchor);
		free(f->key);
	}
	cJSON_Delete(b->root);
	anchors_clear(b);
}

int k8s_yaml_read(const char *buf, size_t len, cJSON **ret, struct err *err)
{
	struct builder *b = calloc(1, sizeof(*b));
	cJSON *docs = cJSON_CreateArray();
	yaml_parser_t p;
	yaml_event_t ev;
	bool done = false;
	int r = 0;

	if (!b || !docs || !yaml_parser_initialize(&p)) {
		free(b);
		cJSON_Delete(docs);
		return err_fail(err, CNI_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	b->err = err;
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	while (!done && r == 0) {
		if (!yaml_parser_parse(&p, &ev)) {
			r = fail_at(b, &p.problem_mark, p.problem ? p.problem : "invalid YAML",
				    NULL);
			break;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		r = event(b, &ev, docs);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	builder_done(b);
	free(b);
	if (r < 0) {
		cJSON_Delete(docs);
		return r == -ENOMEM ? err_fail(err, CNI_ERR_INTERNAL, r, "out of memory") : r;
	}
	*ret = docs;
	return 0;
}

/* What a plain scalar s reads back as: true when a string (else it must be quoted) */
static bool plain_is_string(const char *s)
{
	double d;

	return !one_of(s, nulls) && !one_of(s, trues) && !one_of(s, falses) && !one_of(s, infs) &&
	       !yaml_int(s, &d) && !yaml_float(s, &d);
}

struct out {
	char *buf;
	size_t len, cap;
};

static int out_write(void *data, unsigned char *b, size_t n)
{
	struct out *o = data;
	char *nb;

	if (o->len + n + 1 > o->cap) {
		o->cap = (o->len + n + 1) * 2;
		nb = realloc(o->buf, o->cap);
		if (!nb)
			return 0;
		o->buf = nb;
	}
	memcpy(o->buf + o->len, b, n);
	o->len += n;
	o->buf[o->len] = '\0';
	return 1;
}

static int emit_scalar(yaml_emitter_t *em, const char *s, bool is_string)
{
	yaml_scalar_style_t style = YAML_ANY_SCALAR_STYLE;
	yaml_event_t ev;

	/* a string that would read back as something else is quoted, as kubectl quotes
	 * "true" and "80"; a multi-line one is a literal block */
	if (is_string && !plain_is_string(s))
		style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
	else if (is_string && strchr(s, '\n'))
		style = YAML_LITERAL_SCALAR_STYLE;
	if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s),
					  !is_string || style != YAML_DOUBLE_QUOTED_SCALAR_STYLE,
					  true, style))
		return -ENOMEM;
	return yaml_emitter_emit(em, &ev) ? 0 : -EIO;
}

/* integers as integers; others as cJSON prints them, the shortest that reads back */
static void fmt_number(double d, char *buf, size_t size)
{
	if (d < 9007199254740992.0 && d > -9007199254740992.0 && d == (double)(long long)d) {
		snprintf(buf, size, "%lld", (long long)d);
		return;
	}
	snprintf(buf, size, "%.15g", d);
	if (strtod(buf, NULL) != d)
		snprintf(buf, size, "%.17g", d);
}

static int emit(yaml_emitter_t *em, const cJSON *v, int depth)
{
	yaml_event_t ev;
	const cJSON *c;
	char num[32];
	int r = 0;

	if (depth > DEPTH_MAX)
		return -ELOOP;
	if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
		if (cJSON_IsObject(v) ? !yaml_mapping_start_event_initialize(
						&ev, NULL, NULL, true, YAML_BLOCK_MAPPING_STYLE)
				      : !yaml_sequence_start_event_initialize(
						&ev, NULL, NULL, true, YAML_BLOCK_SEQUENCE_STYLE))
			return -ENOMEM;
		if (!yaml_emitter_emit(em, &ev))
			return -EIO;
		for (c = v->child; c && r == 0; c = c->next) {
			if (cJSON_IsObject(v))
				r = emit_scalar(em, c->string, true);
			if (r == 0)
				r = emit(em, c, depth + 1);
		}
		if (r < 0)
			return r;
		if (cJSON_IsObject(v) ? !yaml_mapping_end_event_initialize(&ev)
				      : !yaml_sequence_end_event_initialize(&ev))
			return -ENOMEM;
		return yaml_emitter_emit(em, &ev) ? 0 : -EIO;
	}
	if (cJSON_IsString(v))
		return emit_scalar(em, v->valuestring, true);
	if (cJSON_IsNumber(v))
		fmt_number(v->valuedouble, num, sizeof(num));
	else
		snprintf(num, sizeof(num), "%s",
			 cJSON_IsTrue(v)    ? "true"
			 : cJSON_IsFalse(v) ? "false"
					    : "null");
	return emit_scalar(em, num, false);
}

static int emit_doc(yaml_emitter_t *em, const cJSON *v)
{
	yaml_event_t ev;
	int r;

	if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) ||
	    !yaml_emitter_emit(em, &ev) ||
	    !yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, true) ||
	    !yaml_emitter_emit(em, &ev))
		return -EIO;
	if ((r = emit(em, v, 0)) < 0)
		return r;
	if (!yaml_document_end_event_initialize(&ev, true) || !yaml_emitter_emit(em, &ev) ||
	    !yaml_stream_end_event_initialize(&ev) || !yaml_emitter_emit(em, &ev))
		return -EIO;
	return 0;
}

int k8s_yaml_write(const cJSON *v, char **ret, struct err *err)
{
	struct out o = {0};
	yaml_emitter_t em;
	int r;

	if (!yaml_emitter_initialize(&em))
		return err_fail(err, CNI_ERR_INTERNAL, -ENOMEM, "out of memory");
	yaml_emitter_set_output(&em, out_write, &o);
	yaml_emitter_set_unicode(&em, 1);
	yaml_emitter_set_indent(&em, 2);
	yaml_emitter_set_width(&em, -1);
	r = emit_doc(&em, v);
	if (r == -EIO && em.problem)
		r = err_fail(err, CNI_ERR_INTERNAL, r, "writing YAML: %s", em.problem);
	else if (r < 0)
		r = err_fail(err, CNI_ERR_INTERNAL, r, "writing YAML: %s", strerror(-r));
	yaml_emitter_delete(&em);
	if (r < 0) {
		free(o.buf);
		return r;
	}
	*ret = o.buf ? o.buf : strdup("");
	return *ret ? 0 : err_fail(err, CNI_ERR_INTERNAL, -ENOMEM, "out of memory");
}
