// SPDX-License-Identifier: Apache-2.0
/* The node's policy lock: sluice-nft-policy and sluiced each hold it around "read what they
 * need, compute, commit" so that neither commits a ruleset computed before the other's
 * change. flock(2) on <run_dir>/policy.lock: released by the kernel when its holder dies. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>

#include "policy/pnft.h"
#include "base/err.h"
#include "base/fs.h"

#define LOCK_FILE "policy.lock"

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int pol_lock(const char *run_dir, int timeout_ms, struct err *err)
{
	char dir[PATH_MAX], path[PATH_MAX];
	long long deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	/* short sleeps: the holder's critical section is a few milliseconds, and a pod's ADD
	 * waiting behind it should not wait much longer (no signal, no blocking flock: the
	 * timeout must hold) */
	struct timespec nap = {0, 250000};
	int fd, r;

	if (!run_dir || !*run_dir ||
	    snprintf(path, sizeof(path), "%s/" LOCK_FILE, run_dir) >= (int)sizeof(path))
		return err_fail(err, CNI_ERR_CONFIG, -EINVAL, "policy lock: invalid runDir \"%s\"",
				run_dir ? run_dir : "");
	snprintf(dir, sizeof(dir), "%s", run_dir);
	r = fs_mkdir_p(dir, 0755);
	if (r < 0)
		return err_fail(err, CNI_ERR_IO, r, "policy lock: create %s: %s", run_dir,
				strerror(-r));
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return err_fail(err, CNI_ERR_IO, -errno, "policy lock: open %s: %s", path,
				strerror(errno));
	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			r = -errno;
			close(fd);
			return err_fail(err, CNI_ERR_IO, r, "policy lock: flock %s: %s", path,
					strerror(-r));
		}
		if (now_ms() >= deadline) {
			close(fd);
			return err_fail(err, CNI_ERR_TRY_AGAIN, -ETIMEDOUT,
					"policy lock: %s still held after %d ms", path, timeout_ms);
		}
		nanosleep(&nap, NULL);
		if (nap.tv_nsec < 4000000)
			nap.tv_nsec *= 2;
	}
}

void pol_unlock(int fd)
{
	if (fd < 0)
		return;
	(void)flock(fd, LOCK_UN);
	close(fd);
}
