// SPDX-License-Identifier: Apache-2.0
/* Network namespaces by file descriptor. The thread's own netns is named by
 * /proc/thread-self: setns() acts on the calling thread, not on the process. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <linux/nsfs.h>

#include "netlink/netns.h"

#define NETNS_SELF "/proc/thread-self/ns/net"

int netns_open(const char *path)
{
	char self[32];
	struct statfs sfs;
	int pfd, fd;

	if (!path || !*path)
		return -EINVAL;
	/* O_PATH opens nothing: a FIFO would block an O_RDONLY open until a writer came, and a
	 * device's open can act (a watchdog, a tty). Only a namespace file is opened for real,
	 * through the same inode, so the path cannot be swapped in between. */
	pfd = open(path, O_PATH | O_CLOEXEC);
	if (pfd < 0)
		return -errno;
	if (fstatfs(pfd, &sfs) < 0 || sfs.f_type != NSFS_MAGIC) {
		close(pfd);
		return -ENOTSUP;
	}
	snprintf(self, sizeof(self), "/proc/self/fd/%d", pfd);
	fd = open(self, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	close(pfd);
	if (fd < 0)
		return -errno;
	/* another kind of namespace would only fail later, at setns() or in the middle of a
	 * veth creation: refuse it before anything is changed */
	if (ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWNET) {
		close(fd);
		return -ENOTSUP;
	}
	return fd;
}

int netns_enter(int fd, int *ret_saved_fd)
{
	int saved, r;

	if (fd < 0 || !ret_saved_fd)
		return -EBADF;
	saved = netns_open(NETNS_SELF);
	if (saved < 0)
		return saved;
	if (setns(fd, CLONE_NEWNET) < 0) {
		r = -errno;
		close(saved);
		return r;
	}
	*ret_saved_fd = saved;
	return 0;
}

int netns_leave(int saved_fd)
{
	int r = 0;

	if (saved_fd < 0)
		return -EBADF;
	if (setns(saved_fd, CLONE_NEWNET) < 0)
		r = -errno;
	close(saved_fd);
	return r;
}

int netns_is_self(int fd)
{
	struct stat a, b;

	if (fstat(fd, &a) < 0)
		return -errno;
	if (stat(NETNS_SELF, &b) < 0)
		return -errno;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}
