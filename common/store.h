/* SPDX-License-Identifier: Apache-2.0 */
/* The host-local store, byte-compatible with upstream's disk backend: <dataDir>/<net>/<ip>
 * holding "cid\r\nifname", last_reserved_ip.<set>, and flock on <dir>/lock. */
#ifndef STORE_H
#define STORE_H

#include <stdbool.h>

#include "ip.h"

#define STORE_DEFAULT_DIR "/var/lib/cni/networks"

struct store {
	int dirfd;
	int lockfd;
	bool locked;
};

/* Opens (creating with mode 0755) <data_dir>/<network>. Returns 0 or -errno. */
int store_open(const char *data_dir, const char *network, struct store *ret);

/* Opens the directory only if it exists (DEL, GC, CHECK). -ENOENT when absent. */
int store_open_existing(const char *data_dir, const char *network, struct store *ret);

void store_close(struct store *s);

/* Takes / drops the exclusive flock on <dir>/lock that upstream host-local also takes. */
int store_lock(struct store *s);
void store_unlock(struct store *s);

/* Reserves ip for (id, ifname). Returns 1 when reserved, 0 when already taken, -errno on
 * failure. */
int store_reserve(struct store *s, const char *id, const char *ifname, const struct ip_addr *ip);

/* Records ip as the set's last reserved address (last_reserved_ip.<set>), where the next
 * search of that set starts. Returns 0 or -errno. */
int store_set_last_reserved(struct store *s, unsigned int set, const struct ip_addr *ip);

/* Reads last_reserved_ip.<set>. Returns 0, -ENOENT, or -EINVAL for an unparsable file. */
int store_last_reserved(struct store *s, unsigned int set, struct ip_addr *ret_ip);

/* Removes the reservation of ip if it belongs to (id, ifname). Returns 1 removed, 0 not. */
int store_release_ip(struct store *s, const struct ip_addr *ip, const char *id, const char *ifname);

/* Releases every address of (id, ifname); when none matches, those recorded by older
 * versions under id alone. Returns the number released or -errno. */
int store_release(struct store *s, const char *id, const char *ifname);

/* Called for each reservation: name is the file name, id/ifname its owner (ifname NULL for
 * legacy cid-only files). Return < 0 to stop, 1 to have the reservation removed. */
typedef int (*store_walk_fn)(const struct ip_addr *ip, const char *id, const char *ifname,
			     void *data);

/* Walks every reservation (not lock or last_reserved_ip.*). Returns 0 or the first error. */
int store_walk(struct store *s, store_walk_fn fn, void *data);

#endif
