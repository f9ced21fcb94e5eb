/* SPDX-License-Identifier: Apache-2.0 */
/* What every verb shares: the store opened once, messages and exit statuses, reading a
 * file or stdin, and the two output forms (aligned tables, indented JSON). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "store/store.h"
#include "sluicectl.h"

#define CTL_FILE_MAX (16U << 20)

struct store *ctl_store(struct ctl *c)
{
	struct err e = {0};

	if (c->store)
		return c->store;
	c->store = store_open(c->store_url, &e);
	if (!c->store)
		ctl_error(&e);
	return c->store;
}

int ctl_error(const struct err *e)
{
	const char *msg = e->msg[0] ? e->msg : "failed (no message recorded)";

	if (e->details[0])
		fprintf(stderr, "sluicectl: %s: %s\n", msg, e->details);
	else
		fprintf(stderr, "sluicectl: %s\n", msg);
	return CTL_ERROR;
}

int ctl_errorf(const char *fmt, ...)
{
	va_list ap;

	fputs("sluicectl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CTL_ERROR;
}

int ctl_usage(const char *verb, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "sluicectl %s: ", verb);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'sluicectl %s --help'.\n", verb);
	return CTL_USAGE;
}

char *ctl_read_file(const char *path, size_t *len)
{
	bool is_stdin = !strcmp(path, "-");
	size_t n = 0, cap = 65536;
	char *buf = NULL, *nb;
	ssize_t got;
	int fd;

	fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ctl_errorf("cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(cap + 1);
	if (!buf)
		goto nomem;
	for (;;) {
		if (n == cap) {
			/* up to one byte past the cap, to tell a file of exactly 16 MiB from a
			 * larger one */
			cap = cap * 2 > CTL_FILE_MAX ? CTL_FILE_MAX + 1 : cap * 2;
			nb = realloc(buf, cap + 1);
			if (!nb)
				goto nomem;
			buf = nb;
		}
		got = read(fd, buf + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			ctl_errorf("cannot read %s: %s", is_stdin ? "stdin" : path,
				   strerror(errno));
			goto fail;
		}
		if (!got)
			break;
		n += (size_t)got;
		if (n > CTL_FILE_MAX) {
			ctl_errorf("%s: larger than %u MiB", is_stdin ? "stdin" : path,
				   CTL_FILE_MAX >> 20);
			goto fail;
		}
	}
	buf[n] = '\0';
	if (len)
		*len = n;
	if (!is_stdin)
		close(fd);
	return buf;
nomem:
	ctl_errorf("out of memory reading %s", is_stdin ? "stdin" : path);
fail:
	free(buf);
	if (!is_stdin)
		close(fd);
	return NULL;
}

/* cJSON indents with tabs and puts one after each colon; a string's own tabs are escaped
 * ("\t"), so every raw tab is layout: two spaces each at the start of a line, one space
 * after a colon (the form jq prints). */
void ctl_print_json(const struct cJSON *v)
{
	char *s = cJSON_Print(v), *p;
	bool bol = true;

	if (!s) {
		ctl_errorf("out of memory printing JSON");
		return;
	}
	for (p = s; *p; p++) {
		if (*p == '\t') {
			fputs(bol ? "  " : " ", stdout);
			continue;
		}
		bol = *p == '\n';
		putchar(*p);
	}
	putchar('\n');
	free(s);
}

struct ctl_table {
	int ncols;
	size_t nrows, cap; /* rows, header included */
	char **cells; /* nrows * ncols, owned, escaped */
	size_t *width; /* in characters */
};

/* The length of the valid UTF-8 sequence at s (at most n bytes), 0 if none starts there:
 * no overlong form, no surrogate, nothing past U+10FFFF */
static size_t utf8_len(const unsigned char *s, size_t n, unsigned *cp)
{
	size_t len, i;
	unsigned v, min;

	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0; /* a continuation byte, an overlong lead (c0, c1), or past U+10FFFF */
	len = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	if (len > n)
		return 0;
	v = s[0] & (0x7fU >> len);
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3fU);
	}
	min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

char *ctl_cell_text(const char *text, size_t n, size_t *width)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0, o = 0, w = 0, len;
	char *out = malloc(n + 1);
	unsigned cp;

	if (!out)
		abort();
	while (i < n) {
		if (s[i] < 0x80) {
			out[o++] = s[i] < 0x20 || s[i] == 0x7f ? '.' : (char)s[i];
			len = 1;
		} else if ((len = utf8_len(s + i, n - i, &cp)) && cp >= 0xa0) {
			memcpy(out + o, s + i, len);
			o += len;
		} else {
			/* C1 controls (U+0080..U+009F: CSI among them) and bytes that are not
			 * UTF-8 are one '.' each, like C0 controls */
			out[o++] = '.';
			len = len ? len : 1;
		}
		i += len;
		w++;
	}
	out[o] = '\0';
	if (width)
		*width = w;
	return out;
}

struct ctl_table *ctl_table_new(int ncols, const char *const *header)
{
	struct ctl_table *t = calloc(1, sizeof(*t));
	char *h;
	int i;

	if (!t)
		abort(); /* out of memory in a short-lived CLI: nothing sensible to print */
	t->ncols = ncols;
	t->width = calloc((size_t)ncols, sizeof(*t->width));
	if (!t->width)
		abort();
	ctl_table_row(t, NULL);
	for (i = 0; i < ncols; i++) {
		h = ctl_cell_text(header[i], strlen(header[i]), &t->width[i]);
		for (char *p = h; *p; p++)
			*p = (char)toupper((unsigned char)*p);
		t->cells[i] = h;
	}
	return t;
}

/* The header row is added by ctl_table_new with its first argument NULL: empty cells it
 * fills itself. Every other call passes ncols strings. */
void ctl_table_row(struct ctl_table *t, ...)
{
	const char *cell;
	size_t base, w;
	va_list ap;
	int i;

	if (t->nrows == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->cells = realloc(t->cells, t->cap * (size_t)t->ncols * sizeof(*t->cells));
		if (!t->cells)
			abort();
	}
	base = t->nrows++ * (size_t)t->ncols;
	if (t->nrows == 1) {
		memset(t->cells, 0, (size_t)t->ncols * sizeof(*t->cells));
		return;
	}
	va_start(ap, t);
	for (i = 0; i < t->ncols; i++) {
		cell = va_arg(ap, const char *);
		if (!cell)
			cell = "-";
		/* a cell is text from the store or another node (a key, a node's name): a
		 * terminal escape in it is shown, never sent to the terminal */
		t->cells[base + i] = ctl_cell_text(cell, strlen(cell), &w);
		if (w > t->width[i])
			t->width[i] = w;
	}
	va_end(ap);
}

void ctl_table_print(struct ctl_table *t)
{
	size_t r;
	int i;

	for (r = 0; r < t->nrows; r++) {
		for (i = 0; i < t->ncols; i++) {
			char *cell = t->cells[r * (size_t)t->ncols + i];
			size_t w;

			fputs(cell, stdout);
			if (i == t->ncols - 1) {
				putchar('\n'); /* the last column is not padded */
			} else {
				/* padded by characters, not bytes: a UTF-8 name stays aligned */
				free(ctl_cell_text(cell, strlen(cell), &w));
				printf("%*s", (int)(t->width[i] - w + 2), "");
			}
			free(cell);
		}
	}
	free(t->cells);
	free(t->width);
	free(t);
}
