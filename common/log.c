// SPDX-License-Identifier: Apache-2.0
/* The one process-wide state: the log level and where logs go (stderr by default). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static enum log_level log_level = LOG_LEVEL_WARN;
static int log_fd = STDERR_FILENO;

void log_setup(const char *level, int fd)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};

	for (unsigned int i = 0; level && i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(level, names[i]))
			log_level = (enum log_level)i;
	if (fd >= 0)
		log_fd = fd;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	if (level > log_level)
		return;
	n = snprintf(buf, sizeof(buf), "sluice: ");
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	(void)!write(log_fd, buf, (size_t)n);
}
