/* SPDX-License-Identifier: Apache-2.0 */
/* sluiced, the node agent: what its files share. main.c parses the flags and runs the epoll
 * loop; lease.c holds the node's lease (acquire, renew, revocation, files); peers.c keeps
 * the peer leases of the store in the kernel; kernel.c the device, the masquerade table and
 * the rtnetlink monitor; status.c the agent status file. */
#ifndef SLUICED_H
#define SLUICED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/ip.h"
#include "netlink/nl.h"
#include "nft/nft.h"
#include "overlay/peer.h"
#include "subnet/ident.h"
#include "subnet/lease.h"
#include "subnet/netconf.h"
#include "subnet/node.h"

struct store;
struct store_watch;
struct store_event;
struct agent_drops;

#define AGENT_DEFAULT_PREFIX "/sluice/network"
#define AGENT_BACKOFF_MIN_MS 100
#define AGENT_BACKOFF_MAX_MS 5000
#define AGENT_DEBOUNCE_MS 100
#define AGENT_PROBE_MS 2000 /* the store checked at most this often, on the watch's wake-ups */

struct agent_opts {
	const char *store_url, *prefix, *iface, *subnet_file, *cni_dir, *tmpl_path;
	char node_name[SUBNET_NODE_NAME_MAX + 1];
	char prefix_buf[1024]; /* the prefix without trailing slashes */
	struct ip_addr pub, pub6;
	int64_t ttl, margin; /* seconds */
	bool ipmasq;
};

/* A peer lease as programmed: its store key and its IPv4 and IPv6 peers */
struct agent_peer {
	char *key;
	struct overlay_peer p4, p6;
	bool has4, has6;
	bool dup_warned; /* its VtepMAC is another's too: warned (once per version of it) */
};

/* Key -> index of an array whose elements start with their key (char *): hash chains, so
 * that a thousand leases in one watch response cost no quadratic string compares. */
struct agent_keyidx {
	uint32_t *head; /* hcap chains' first index, UINT32_MAX: empty */
	uint32_t *next; /* per element */
	size_t hcap, ncap;
};

/* What the retry timer has to do again (after a failure talking to the store) */
enum {
	AGENT_NEED_START = 1U << 0, /* config, lease, data plane, list, watch */
	AGENT_NEED_RELIST = 1U << 1, /* list, diff, apply, watch again */
	AGENT_NEED_RENEW = 1U << 2,
	AGENT_NEED_REACQUIRE = 1U << 3,
	AGENT_NEED_CONFIG = 1U << 4, /* SIGHUP */
};

struct agent {
	struct agent_opts o;
	struct store *store;
	char *subnets; /* "<prefix>/subnets/" */
	char *tmpl;
	size_t tmpl_len;
	struct subnet_conf conf;
	bool have_conf, have_lease;
	struct subnet_lease lease;
	struct subnet_ident id;
	struct nl nl;
	struct nft nft;
	int dev4, dev6; /* ifindex of our devices, 0: none */
	struct store_watch *watch;
	unsigned int watch_gen; /* bumped with each watch opened (its fd may be reused) */
	int64_t rev; /* the last store revision applied */
	struct agent_peer *peers;
	size_t npeers, cap;
	struct agent_keyidx pidx; /* peers' keys */
	unsigned int need;
	int backoff_ms;
	int resync_backoff_ms; /* the next wait after a failed resync */
	bool store_up, status_dirty;
	/* a listing succeeded: until then the table is no picture of the store, and a resync
	 * against it would remove every peer the kernel holds */
	bool listed;
	bool trim; /* a burst of changes is over: malloc_trim() on the next loop turn */
	/* what was last logged as failing, so that a retry logs nothing new: 0 none, 1 the
	 * store, 2 no config, 3 an invalid config, 4 the lease */
	int last_err_class;
	time_t started;
	int64_t contact_ms, probe_ms; /* monotonic: the store last answered; last checked */
	int ep, sigfd, monfd, renew_tfd, retry_tfd, debounce_tfd;
	struct mnl_socket *mon;
	struct agent_drops *drops; /* drops.c, NULL: not collecting */
};

/* lease.c */
int agent_load_config(struct agent *a); /* 0, or -errno logged */
int agent_acquire(struct agent *a); /* the lease, the data plane, the files */
int agent_renew(struct agent *a); /* 1 renewed, 0 revoked (re-acquired), -errno */
void agent_arm_renew(struct agent *a);
int agent_write_files(struct agent *a);
/* Logs a store failure once per state change (up/down) and marks the store down */
void agent_store_failed(struct agent *a, const char *what, const struct err *e);
void agent_store_ok(struct agent *a);
/* The watch woke the loop and said nothing: is the store there? (a watch reconnects by
 * itself, silently; this is how a store that went away shows in the status file) */
void agent_store_probe(struct agent *a);
int64_t agent_now_ms(void);

/* peers.c */
int agent_relist(struct agent *a); /* list, diff, apply, (re)open the watch */
/* Events until none is ready; returns how many, or -errno */
int agent_watch_drain(struct agent *a, int *timeout_ms);
int agent_resync(struct agent *a); /* device(s) ensured, peers synced from the table */
void agent_peers_free(struct agent *a);

/* kernel.c */
int agent_dataplane(struct agent *a); /* devices, masquerade table */
int agent_monitor_open(struct agent *a);
/* Reads the monitor's events; true when one touches our device or entries */
bool agent_monitor_read(struct agent *a);
void agent_dev_where(const struct agent *a, int family, struct overlay_where *w);

/* status.c */
int agent_status_write(struct agent *a);

/* drops.c: the policy's NFLOG group read into <run_dir>/drops.json; its fds go into the
 * epoll set with tag. Failing to bind is logged, not fatal (0 or -errno). */
int agent_drops_start(struct agent *a, uint32_t tag);
void agent_drops_event(struct agent *a); /* on the tag's EPOLLIN */
void agent_drops_stop(struct agent *a);

/* main.c: timers */
void agent_timer_ms(int tfd, int64_t ms); /* one-shot; 0 disarms */
void agent_schedule_retry(struct agent *a, unsigned int need);
void agent_need_now(struct agent *a, unsigned int need); /* done on the next loop turn */
void agent_schedule_resync(struct agent *a);

#endif
