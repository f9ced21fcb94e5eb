// SPDX-License-Identifier: Apache-2.0
/* Network sysctls through /proc/sys/net, with the path checked so that a caller-supplied
 * interface name cannot reach outside net/. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/sysctl.h"

static bool path_ok(const char *path)
{
	const char *p, *end;
	size_t n;

	if (!path || strncmp(path, "net/", 4) || strlen(path) > 255)
		return false;
	for (p = path; *p; p = end + (*end == '/')) {
		end = strchrnul(p, '/');
		n = (size_t)(end - p);
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		if (!*end)
			break;
	}
	return path[strlen(path) - 1] != '/';
}

static int sysctl_open(const char *path, int flags)
{
	char full[PATH_MAX];
	int fd;

	if (!path_ok(path))
		return -EINVAL;
	snprintf(full, sizeof(full), "/proc/sys/%s", path);
	fd = open(full, flags | O_CLOEXEC | O_NOFOLLOW);
	return fd < 0 ? -errno : fd;
}

int sysctl_set(const char *path, const char *value)
{
	size_t len = value ? strlen(value) : 0;
	ssize_t n;
	int fd, r = 0;

	if (!value)
		return -EINVAL;
	fd = sysctl_open(path, O_WRONLY);
	if (fd < 0)
		return fd;
	/* One write(): proc sysctl handlers parse each write on its own. */
	n = write(fd, value, len);
	if (n < 0)
		r = -errno;
	else if ((size_t)n != len)
		r = -EIO;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

int sysctl_get(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd, r;

	if (!buf || size < 2)
		return -EINVAL;
	fd = sysctl_open(path, O_RDONLY);
	if (fd < 0)
		return fd;
	n = read(fd, buf, size);
	r = n < 0 ? -errno : 0;
	close(fd);
	if (r < 0)
		return r;
	if ((size_t)n >= size)
		return -ENOBUFS;
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	return (int)n;
}
