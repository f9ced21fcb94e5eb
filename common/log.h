/* SPDX-License-Identifier: Apache-2.0 */
/* The one process-wide state: the log level and where logs go (stderr by default). */
#ifndef LOG_H
#define LOG_H

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/* Sets the level from a name ("error", "warn", "info", "debug"); unknown names are ignored.
 * fd >= 0 replaces the destination. */
void log_setup(const char *level, int fd);

/* Writes "sluice: <msg>\n" when level is enabled. Never touches stdout. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
