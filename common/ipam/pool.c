// SPDX-License-Identifier: Apache-2.0
/* The host-local store, byte-compatible with upstream's disk backend: <dataDir>/<net>/<ip>
 * holding "cid\r\nifname", last_reserved_ip.<set>, and flock on <dir>/lock. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "ipam/pool.h"
#include "base/log.h"

#define STORE_LINEBREAK "\r\n"
#define STORE_LAST "last_reserved_ip."

static int mkdir_p(char *path, mode_t mode)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, mode) < 0 && errno != EEXIST) {
			*p = '/';
			return -errno;
		}
		*p = '/';
	}
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int open_dir(const char *data_dir, const char *network, bool create, struct pool *ret)
{
	char path[PATH_MAX];
	struct pool s = {.dirfd = -1, .lockfd = -1};
	int r;

	if (!data_dir || !*data_dir)
		data_dir = STORE_DEFAULT_DIR;
	if (snprintf(path, sizeof(path), "%s/%s", data_dir, network) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	if (create) {
		r = mkdir_p(path, 0755);
		if (r < 0)
			return r;
	}
	s.dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s.dirfd < 0)
		return -errno;
	s.lockfd = openat(s.dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (s.lockfd < 0) {
		r = -errno;
		close(s.dirfd);
		return r;
	}
	*ret = s;
	return 0;
}

int pool_open(const char *data_dir, const char *network, struct pool *ret)
{
	return open_dir(data_dir, network, true, ret);
}

int pool_open_existing(const char *data_dir, const char *network, struct pool *ret)
{
	return open_dir(data_dir, network, false, ret);
}

void pool_close(struct pool *s)
{
	pool_unlock(s);
	if (s->lockfd >= 0)
		close(s->lockfd);
	if (s->dirfd >= 0)
		close(s->dirfd);
	s->lockfd = s->dirfd = -1;
}

int pool_lock(struct pool *s)
{
	while (flock(s->lockfd, LOCK_EX) < 0)
		if (errno != EINTR)
			return -errno;
	s->locked = true;
	return 0;
}

void pool_unlock(struct pool *s)
{
	if (s->locked)
		(void)flock(s->lockfd, LOCK_UN);
	s->locked = false;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int pool_reserve(struct pool *s, const char *id, const char *ifname, const struct ip_addr *ip)
{
	char name[IP_STRLEN], data[512];
	int fd, r;

	ip_fmt(ip, name);
	if (snprintf(data, sizeof(data), "%s" STORE_LINEBREAK "%s", id, ifname) >=
	    (int)sizeof(data))
		return -ENAMETOOLONG;
	fd = openat(s->dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno == EEXIST ? 0 : -errno;
	r = write_all(fd, data, strlen(data));
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0) {
		(void)unlinkat(s->dirfd, name, 0);
		return r;
	}
	return 1;
}

/* Rewritten in place, not replaced by rename(2) or truncated to zero: on ext4 both make
 * the kernel start writeback of the file (auto_da_alloc), up to half a millisecond here.
 * The file is only where the next search starts: a crash mid-write leaves at worst another
 * valid start, or an unparsable file that is ignored, as upstream does. */
int pool_set_last_reserved(struct pool *s, unsigned int set, const struct ip_addr *ip)
{
	char name[32], data[IP_STRLEN];
	size_t len = strlen(ip_fmt(ip, data));
	ssize_t w;
	int fd, r;

	snprintf(name, sizeof(name), STORE_LAST "%u", set);
	fd = openat(s->dirfd, name, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	w = pwrite(fd, data, len, 0);
	r = w == (ssize_t)len ? 0 : w < 0 ? -errno : -EIO;
	if (r == 0 && ftruncate(fd, (off_t)len) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

static int read_small(int dirfd, const char *name, char *buf, size_t len)
{
	ssize_t n;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return (int)n;
}

/* Go's strings.TrimSpace, for ASCII */
static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int pool_last_reserved(struct pool *s, unsigned int set, struct ip_addr *ret_ip)
{
	char name[32], buf[IP_STRLEN + 8];
	int r;

	snprintf(name, sizeof(name), STORE_LAST "%u", set);
	r = read_small(s->dirfd, name, buf, sizeof(buf));
	if (r < 0)
		return r;
	return ip_parse(trim(buf), ret_ip);
}

/* Splits trimmed file content into id and ifname (NULL for a legacy cid-only file). */
static void split_owner(char *data, const char **ret_id, const char **ret_ifname)
{
	char *lb = strstr(data, STORE_LINEBREAK);

	*ret_id = data;
	*ret_ifname = NULL;
	if (lb) {
		*lb = '\0';
		*ret_ifname = lb + 2;
	}
}

int pool_release_ip(struct pool *s, const struct ip_addr *ip, const char *id, const char *ifname)
{
	char name[IP_STRLEN], buf[512];
	const char *fid, *fif;

	ip_fmt(ip, name);
	if (read_small(s->dirfd, name, buf, sizeof(buf)) < 0)
		return 0;
	split_owner(trim(buf), &fid, &fif);
	if (strcmp(fid, id) || !fif || strcmp(fif, ifname))
		return 0;
	return unlinkat(s->dirfd, name, 0) < 0 ? -errno : 1;
}

int pool_walk(struct pool *s, pool_walk_fn fn, void *data)
{
	struct dirent *de;
	struct ip_addr ip;
	char buf[512];
	const char *id, *ifname;
	DIR *d;
	int fd = dup(s->dirfd), r = 0;

	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	rewinddir(d);
	while (r >= 0 && (de = readdir(d))) {
		/* every reservation is named by its address; lock, last_reserved_ip.* and
		 * temporary files are not addresses */
		if (ip_parse(de->d_name, &ip) < 0)
			continue;
		if (read_small(s->dirfd, de->d_name, buf, sizeof(buf)) < 0)
			continue;
		split_owner(trim(buf), &id, &ifname);
		r = fn(&ip, id, ifname, data);
		if (r == 1) {
			r = unlinkat(s->dirfd, de->d_name, 0) < 0 && errno != ENOENT ? -errno : 0;
		}
	}
	closedir(d);
	return r < 0 ? r : 0;
}

struct release_match {
	const char *id, *ifname;
	bool legacy;
	int count;
};

static int release_cb(const struct ip_addr *ip, const char *id, const char *ifname, void *data)
{
	struct release_match *m = data;
	char buf[IP_STRLEN];

	if (strcmp(id, m->id))
		return 0;
	if (m->legacy ? ifname != NULL : (!ifname || strcmp(ifname, m->ifname)))
		return 0;
	log_debug("store: releasing %s", ip_fmt(ip, buf));
	m->count++;
	return 1;
}

int pool_release(struct pool *s, const char *id, const char *ifname)
{
	struct release_match m = {.id = id, .ifname = ifname};
	int r = pool_walk(s, release_cb, &m);

	if (r < 0 || m.count)
		return r < 0 ? r : m.count;
	/* nothing under (id, ifname): files written before ifname was recorded hold id only */
	m.legacy = true;
	r = pool_walk(s, release_cb, &m);
	return r < 0 ? r : m.count;
}
