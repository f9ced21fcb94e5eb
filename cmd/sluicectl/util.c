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
	char **cells; /* nrows * ncols, owned */
	size_t *width;
};

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
		h = strdup(header[i]);
		if (!h)
			abort();
		for (char *p = h; *p; p++)
			*p = (char)toupper((unsigned char)*p);
		t->cells[i] = h;
		if (strlen(h) > t->width[i])
			t->width[i] = strlen(h);
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
		t->cells[base + i] = strdup(cell ? cell : "-");
		if (!t->cells[base + i])
			abort();
		w = strlen(t->cells[base + i]);
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
			const char *cell = t->cells[r * (size_t)t->ncols + i];

			if (i == t->ncols - 1)
				printf("%s\n", cell); /* the last column is not padded */
			else
				printf("%-*s  ", (int)t->width[i], cell);
			free(t->cells[r * (size_t)t->ncols + i]);
		}
	}
	free(t->cells);
	free(t->width);
	free(t);
}
