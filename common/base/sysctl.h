/* SPDX-License-Identifier: Apache-2.0 */
/* Network sysctls through /proc/sys/net. /proc/sys/net shows the netns of the thread that
 * opens the file, so call these inside netns_enter()/netns_leave() for a container. */
#ifndef SYSCTL_H
#define SYSCTL_H

#include <stddef.h>

/* Writes value to /proc/sys/<path>; path is relative and under net/ (e.g.
 * "net/ipv6/conf/eth0/accept_dad"), without "." or ".." components. Returns 0 or -errno
 * (-EINVAL for a bad path). */
int sysctl_set(const char *path, const char *value);

/* Reads /proc/sys/<path> into buf (NUL-terminated, trailing newline removed). Returns the
 * length, -ENOBUFS when it does not fit, or -errno. */
int sysctl_get(const char *path, char *buf, size_t size);

#endif
