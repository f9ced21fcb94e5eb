// SPDX-License-Identifier: Apache-2.0
/* The one process-wide state: the log level and where logs go (stderr by default, or a file
 * shared by concurrent processes, appended whole lines under a lock and size-bounded). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "base/log.h"

static const char *const level_names[] = {"error", "warn", "info", "debug"};

/* The single exception to "no global mutable state" (STYLE.md): one sink per process. */
static struct {
	enum log_level level;
	int fd;
	char *path; /* the file fd writes to; NULL: fd is not ours (stderr) */
	unsigned long long max_size;
	char prog[48];
	const char *cid, *verb;
} sink = {.level = LOG_LEVEL_WARN, .fd = STDERR_FILENO};

int log_level_parse(const char *name)
{
	for (unsigned int i = 0; name && i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (!strcmp(name, level_names[i]))
			return (int)i;
	return -1;
}

void log_setup(const char *level, int fd)
{
	int l = log_level_parse(level);

	if (l >= 0)
		sink.level = (enum log_level)l;
	if (fd >= 0) {
		if (sink.path)
			close(sink.fd);
		free(sink.path);
		sink.path = NULL;
		sink.fd = fd;
	}
}

void log_set_level(enum log_level level)
{
	sink.level = level;
}

bool log_enabled(enum log_level level)
{
	return level <= sink.level;
}

void log_set_context(const char *prog, const char *containerid, const char *verb)
{
	snprintf(sink.prog, sizeof(sink.prog), "%s", prog ? prog : "sluice");
	sink.cid = containerid;
	sink.verb = verb;
}

const char *log_file(void)
{
	return sink.path;
}

/* The log file, opened to append: O_NOFOLLOW, as a link planted where the log goes would make
 * root append elsewhere, and O_NONBLOCK, as a FIFO would block the open until a reader came
 * (ENXIO instead). */
static int open_append(const char *path)
{
	return open(path,
		    O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK,
		    0640);
}

/* The file's lock, waited for 1 s at most: a process stopped while it holds the lock
 * (SIGSTOP, a frozen cgroup) must not hang every ADD and DEL that logs. False when it is
 * not had; the line is then written without it. */
static bool lock_bounded(int fd)
{
	const struct timespec ms = {0, 1000000};

	for (int i = 0; i < 1000; i++) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return true;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return false;
		nanosleep(&ms, NULL);
	}
	return false;
}

/* mkdir -p of path's directory. */
static void make_parents(const char *path)
{
	char *dir = strdup(path), *p;

	for (p = dir ? strchr(dir + 1, '/') : NULL; p; p = strchr(p + 1, '/')) {
		*p = '\0';
		(void)mkdir(dir, 0755);
		*p = '/';
	}
	free(dir);
}

int log_open_file(const char *path, unsigned long long max_size)
{
	char *copy;
	int fd;

	if (sink.path && !strcmp(sink.path, path)) {
		sink.max_size = max_size;
		return 0;
	}
	fd = open_append(path);
	if (fd < 0 && errno == ENOENT) {
		make_parents(path);
		fd = open_append(path);
	}
	if (fd < 0)
		return -errno;
	copy = strdup(path);
	if (!copy) {
		close(fd);
		return -ENOMEM;
	}
	log_setup(NULL, fd);
	sink.path = copy;
	sink.max_size = max_size;
	return 0;
}

static void write_all(int fd, const char *buf, size_t len)
{
	ssize_t w;

	while (len) {
		w = write(fd, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		buf += w;
		len -= (size_t)w;
	}
}

/* Our descriptor still names the file at path (nobody rotated it away under us). */
static bool is_current(struct stat *ret_st)
{
	struct stat p;

	return fstat(sink.fd, ret_st) == 0 && stat(sink.path, &p) == 0 &&
	       p.st_dev == ret_st->st_dev && p.st_ino == ret_st->st_ino;
}

static bool reopen(void)
{
	int fd = open_append(sink.path);

	if (fd < 0)
		return false;
	close(sink.fd); /* drops our lock on the old file */
	sink.fd = fd;
	return true;
}

/* Under the file's lock, a process that finds its file rotated away reopens the new one, and
 * only the holder of the current file's lock renames it: lines stay whole, no rotation is
 * repeated by a process that still held the old file. */
static void write_file(const char *buf, size_t len)
{
	char old[4096];
	struct stat st;

	for (int tries = 0; tries < 8; tries++) {
		if (!lock_bounded(sink.fd))
			break;
		if (!is_current(&st)) {
			if (reopen())
				continue;
			break;
		}
		if (st.st_size > 0 && (unsigned long long)st.st_size + len > sink.max_size &&
		    snprintf(old, sizeof(old), "%s.1", sink.path) < (int)sizeof(old) &&
		    rename(sink.path, old) == 0) {
			if (reopen())
				continue;
			break;
		}
		write_all(sink.fd, buf, len);
		(void)flock(sink.fd, LOCK_UN);
		return;
	}
	write_all(sink.fd, buf, len);
	(void)flock(sink.fd, LOCK_UN);
}

/* UTC date from days since 1970-01-01 (proleptic Gregorian, eras of 400 years): gmtime_r()
 * would read the zone file on its first call, for nothing. */
static void civil(long long days, int *y, unsigned int *m, unsigned int *d)
{
	long long z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned int doe = (unsigned int)(z - era * 146097);
	unsigned int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned int doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;

	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

static size_t header(char *buf, size_t size, enum log_level level)
{
	struct timespec ts;
	unsigned int mo, d;
	long long sec;
	int y, k;

	clock_gettime(CLOCK_REALTIME, &ts);
	sec = (long long)ts.tv_sec;
	civil(sec / 86400 - (sec % 86400 < 0), &y, &mo, &d);
	sec = (sec % 86400 + 86400) % 86400;
	k = snprintf(buf, size,
		     "%04d-%02u-%02uT%02lld:%02lld:%02lld.%06ldZ %s %.40s[%ld] %.12s %.16s: ", y,
		     mo, d, sec / 3600, sec / 60 % 60, sec % 60, ts.tv_nsec / 1000,
		     level_names[level], sink.prog[0] ? sink.prog : "sluice", (long)getpid(),
		     sink.cid && *sink.cid ? sink.cid : "-", sink.verb ? sink.verb : "-");
	return k < 0 ? 0 : (size_t)k < size ? (size_t)k : size - 1;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char stack[1024], *buf = stack;
	size_t h, n, size = sizeof(stack);
	va_list ap, ap2;
	int k;

	if (level > sink.level)
		return;
	h = header(stack, sizeof(stack) - 2, level);
	va_start(ap, fmt);
	va_copy(ap2, ap);
	k = vsnprintf(stack + h, size - h - 1, fmt, ap);
	n = k < 0 ? 0 : (size_t)k;
	if (h + n + 2 > size) { /* too long for the stack buffer: once more, on the heap */
		size = h + n + 2 > LOG_LINE_MAX ? LOG_LINE_MAX : h + n + 2;
		buf = malloc(size);
		if (buf) {
			memcpy(buf, stack, h);
			(void)vsnprintf(buf + h, size - h - 1, fmt, ap2);
		} else {
			buf = stack;
			size = sizeof(stack);
		}
		if (h + n + 2 > size)
			n = size - h - 2;
	}
	va_end(ap2);
	va_end(ap);
	/* one entry, one line: a newline in a path or a name must not start a forged one */
	for (size_t i = 0; i < h + n; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			buf[i] = '?';
	buf[h + n] = '\n';
	if (sink.path)
		write_file(buf, h + n + 1);
	else
		write_all(sink.fd, buf, h + n + 1);
	if (buf != stack)
		free(buf);
}
