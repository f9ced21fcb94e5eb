/* SPDX-License-Identifier: Apache-2.0 */
/* The host-local store, byte-compatible with upstream's disk backend: <dataDir>/<net>/<ip>
 * holding "cid\r\nifname", last_reserved_ip.<set>, and flock on <dir>/lock. */
#ifndef POOL_H
#define POOL_H

#include <stdbool.h>

#include "base/ip.h"

#define STORE_DEFAULT_DIR "/var/lib/cni/networks"

struct pool {
	int dirfd;
	int lockfd;
	bool locked;
};

/* Opens (creating with mode 0755) <data_dir>/<network>. Returns 0 or -errno. */
int pool_open(const char *data_dir, const char *network, struct pool *ret);

/* Opens the directory only if it exists (DEL, GC, CHECK). -ENOENT when absent. */
int pool_open_existing(const char *data_dir, const char *network, struct pool *ret);

void pool_close(struct pool *s);

/* Takes / drops the exclusive flock on <dir>/lock that upstream host-local also takes. */
int pool_lock(struct pool *s);
void pool_unlock(struct pool *s);

/* Reserves ip for (id, ifname). Returns 1 when reserved, 0 when already taken, -errno on
 * failure. */
int pool_reserve(struct pool *s, const char *id, const char *ifname, const struct ip_addr *ip);

/* Records ip as the set's last reserved address (last_reserved_ip.<set>), where the next
 * search of that set starts. Returns 0 or -errno. */
int pool_set_last_reserved(struct pool *s, unsigned int set, const struct ip_addr *ip);

/* Reads last_reserved_ip.<set>. Returns 0, -ENOENT, or -EINVAL for an unparsable file. */
int pool_last_reserved(struct pool *s, unsigned int set, struct ip_addr *ret_ip);

/* Removes the reservation of ip if it belongs to (id, ifname). Returns 1 removed, 0 not. */
int pool_release_ip(struct pool *s, const struct ip_addr *ip, const char *id, const char *ifname);

/* Releases every address of (id, ifname); when none matches, those recorded by older
 * versions under id alone. Returns the number released or -errno. */
int pool_release(struct pool *s, const char *id, const char *ifname);

/* Called for each reservation: name is the file name, id/ifname its owner (ifname NULL for
 * legacy cid-only files). Return < 0 to stop, 1 to have the reservation removed. */
typedef int (*pool_walk_fn)(const struct ip_addr *ip, const char *id, const char *ifname,
			     void *data);

/* Walks every reservation (not lock or last_reserved_ip.*). Returns 0 or the first error. */
int pool_walk(struct pool *s, pool_walk_fn fn, void *data);

#endif
