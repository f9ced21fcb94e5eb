/* SPDX-License-Identifier: Apache-2.0 */
/* The one process-wide state: the log level and where logs go (stderr by default, or a file
 * shared by concurrent processes, appended whole lines under a lock and size-bounded). */
#ifndef LOG_H
#define LOG_H

#include <stdbool.h>

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

#define LOG_MAX_SIZE_DEFAULT (10ULL << 20) /* a log file is rotated past 10 MiB */
#define LOG_MAX_SIZE_MIN 4096ULL
#define LOG_LINE_MAX 65536 /* longer messages are cut (a debug dump of a huge config) */

/* The level named "error", "warn", "info" or "debug", or -1. */
int log_level_parse(const char *name);

/* Sets the level from a name (unknown names are ignored). fd >= 0 replaces the
 * destination (not closed when replaced). */
void log_setup(const char *level, int fd);

void log_set_level(enum log_level level);

/* True when level is logged: callers that prepare a message check it first. */
bool log_enabled(enum log_level level);

/* Names the call in every line: the program, the container ID (its first 12 bytes) and the
 * verb; NULL shows "-". The strings must outlive logging. */
void log_set_context(const char *prog, const char *containerid, const char *verb);

/* Logs to path from now on: opened O_APPEND (created 0640, with missing directories 0755),
 * and before a line would take it past max_size bytes it is renamed to "<path>.1" (the
 * previous one is dropped) and a new one begun. A lock on the file keeps concurrent
 * processes' lines whole and their rotations single. Again with the same path, only
 * max_size changes. Returns 0 or -errno; on failure the destination is unchanged. */
int log_open_file(const char *path, unsigned long long max_size);

/* The file logs go to, or NULL for stderr (or a descriptor given to log_setup()). */
const char *log_file(void);

/* Writes one line when level is enabled: "<RFC 3339 UTC time> <level> <prog>[<pid>]
 * <container ID> <verb>: <msg>", control characters of msg shown as '?'. Never touches
 * stdout. Costs one comparison when level is not enabled. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
