/* SPDX-License-Identifier: Apache-2.0 */
/* Network namespaces by file descriptor: open, enter and leave (setns), compare. */
#ifndef NETNS_H
#define NETNS_H

/* Opens a netns file (/run/netns/x, /proc/PID/ns/net) O_RDONLY|O_CLOEXEC, without blocking
 * and without opening anything that is not on nsfs (a FIFO, a device, a socket). Returns the
 * fd, which the caller closes, -ENOTSUP when the file is not a network namespace, or -errno. */
int netns_open(const char *path);

/* Moves the calling thread into the netns fd. *ret_saved_fd receives an fd of the thread's
 * previous netns, to be handed to netns_leave(). Returns 0 or -errno. */
int netns_enter(int fd, int *ret_saved_fd);

/* Moves the calling thread back into saved_fd's netns and closes saved_fd (always).
 * Returns 0 or -errno; on failure the thread is still in the other netns. */
int netns_leave(int saved_fd);

/* Returns 1 when fd is the calling thread's own netns (same dev and inode), 0 when it is
 * another one, or -errno. */
int netns_is_self(int fd);

#endif
