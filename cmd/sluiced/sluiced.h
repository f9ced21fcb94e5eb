/* SPDX-License-Identifier: Apache-2.0 */
/* sluiced, the node agent: what its files share. main.c parses the flags and runs the epoll
 * loop; lease.c holds the node's lease (acquire, renew, revocation, files); peers.c keeps
 * the peer leases of the store in the kernel; kernel.c the device, the masquerade table and
 * the rtnetlink monitor; policy.c the NetworkPolicy side (the model fed by the store, its
 * batches, agents/<node>), apply.c its commits to the table, frag.c endpoints' fragments
 * compared and patched in, mirror.c the node-local copy of the cluster store's policy
 * objects; status.c the agent status file. */
#ifndef SLUICED_H
#define SLUICED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "base/ip.h"
#include "netlink/nl.h"
#include "nft/nft.h"
#include "overlay/peer.h"
#include "policy/policy.h"
#include "store/store.h"
#include "subnet/ident.h"
#include "subnet/lease.h"
#include "subnet/netconf.h"
#include "subnet/node.h"

struct agent_drops;
struct agent_sock;
struct cJSON;

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
	bool policy; /* NetworkPolicy: the table, the conflist's sluice-nft-policy */
	const char *local_url; /* the node-local store (NULL: the default, set by main.c) */
	char *run_dir; /* dirname(subnet_file): policy.lock, the plugin's runDir */
};

/* One store event the policy side has not taken yet: of the cluster store or, with a
 * mirror, of the node-local one (this node's endpoints) */
struct agent_pev {
	struct store_event ev;
	bool local;
};

/* An endpoint whose fragment the events of a batch change: its fragment as it was in the
 * ruleset last applied (rendered before the first event that touched it) */
struct agent_touch {
	char *key; /* relative: endpoints/<node>/<cid>-<ifname> */
	struct pol_ruleset before;
	bool had; /* it was in the model then */
	bool rendered;
};

/* A change to log once the batch is in the kernel */
struct agent_plog {
	char *rel;
	bool gone;
	size_t neps; /* pods and namespaces: the endpoints it touched */
};

/* The policy side of the agent (policy.c, mirror.c) */
struct agent_policy {
	struct pol_model *model;
	struct pol_ruleset last; /* what the table holds, as far as the agent knows */
	bool have_last, listed;
	struct store *local; /* the node-local store when it is not the cluster store: mirror */
	struct store_watch *watch; /* the cluster store's <prefix>/ */
	struct store_watch *lwatch; /* the local store's <prefix>/endpoints/<node>/ (mirror) */
	unsigned int gen; /* bumped with each pair of watches opened */
	struct agent_pev *q;
	size_t nq, qcap;
	/* this node's endpoints' events to copy to the cluster store once the lock is let go
	 * (a hanging etcd never holds up a plugin's ADD) */
	struct store_event *out;
	size_t nout, outcap;
	struct agent_touch *t;
	size_t nt, tcap;
	struct agent_plog *log;
	size_t nlog, logcap;
	char **bad; /* keys whose invalid value was logged (once each) */
	size_t nbad;
	/* the model is ahead of the table: a policy changed (the whole ruleset rendered), or
	 * only endpoints' fragments (need_full: too many, or something unexpected) */
	bool pending, policies_changed, need_full;
	int64_t rev; /* R: the revision of the last relevant change the table reflects */
	int64_t seen; /* the highest relevant revision taken into the model */
	int64_t written; /* R as agents/<node> last holds it */
	char *pfx; /* "<prefix>/" */
	char *own; /* "endpoints/<node>/", relative */
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

/* MAC -> the table's peers (IPv4 and IPv6 ones) with that VtepMAC: the monitor checks each
 * FDB or neighbour notification against the table (a thousand after a burst of a thousand
 * peers) with one chain walk, not a scan of the table. Built again on the first notification
 * after the table changed (gen). */
struct agent_macidx {
	uint32_t *head; /* hcap chains' first slot, UINT32_MAX: empty */
	uint32_t *next; /* per slot: peer i's IPv4 entry is slot 2i, its IPv6 one 2i + 1 */
	size_t hcap, nslots;
	unsigned int gen; /* the table's gen it was built from */
	bool built;
};

/* The underlay's global prefixes per family (DirectRouting: a peer whose PublicIP lies in
 * one shares our segment), read once per listing or drain of the watch, when a lease first
 * needs them, not once per lease: a burst of 1,000 leases was 1,000 address dumps. */
struct agent_segs {
	struct ip_prefix *v;
	size_t n, cap;
	bool read4, read6, ok4, ok6; /* dumped; the dump succeeded */
};

/* What the retry timer has to do again (after a failure talking to the store) */
enum {
	AGENT_NEED_START = 1U << 0, /* config, lease, data plane, list, watch */
	AGENT_NEED_RELIST = 1U << 1, /* list, diff, apply, watch again */
	AGENT_NEED_RENEW = 1U << 2,
	AGENT_NEED_REACQUIRE = 1U << 3,
	AGENT_NEED_CONFIG = 1U << 4, /* SIGHUP */
	AGENT_NEED_POLICY = 1U << 5, /* policy: list, mirror, render, apply, watch */
	AGENT_NEED_POLICY_APPLY = 1U << 6, /* policy: the model into the table again */
	AGENT_NEED_POLICY_STATUS = 1U << 7, /* policy: agents/<node> written again */
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
	unsigned int peers_gen; /* bumped with each change to peers[] */
	struct agent_segs segs; /* peers.c */
	struct agent_macidx macidx; /* kernel.c */
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
	struct agent_policy pol;
	struct agent_drops *drops; /* drops.c, NULL: not collecting */
	struct agent_sock *sock; /* sock.c, NULL: not serving */
	uint64_t served, refused; /* policy.sock's requests answered ok / refused */
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
void agent_macidx_free(struct agent_macidx *x);

static inline bool agent_has_prefix(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

/* policy.c */
int agent_policy_init(struct agent *a); /* 0 or -errno (logged) */
void agent_policy_done(struct agent *a);
/* Lists the cluster store (and the local one), reconciles the mirror, renders the whole
 * ruleset, replaces the table (or changes it by difference when it is the one last
 * applied), opens the watches. 0 or -errno (logged; retried by the caller). */
int agent_policy_start(struct agent *a);
/* The events ready into the model and the model into the table, one batch, under the
 * node's policy lock. *timeout_ms: within how many ms the watches want to be called
 * (-1: never). Returns 0 or -errno (logged, retried through the retry timer). */
int agent_policy_sync(struct agent *a, int *timeout_ms);
/* policy.sock's request, in the loop: the pending events taken, then, under the lock, the
 * endpoint rel set from the store (record: what the client says the store holds, NULL: a
 * delete, the key must be gone) and its fragment committed. 0 with *elems (its elements:
 * after an add, before a delete) and the table's stamp, or -errno with e. */
int agent_policy_serve(struct agent *a, const char *rel, const struct cJSON *record, size_t *elems,
		       char stamp[POL_STAMP_MAX], struct err *e);
/* agents/<node> written when R advanced: 0 or -errno (logged) */
int agent_policy_status(struct agent *a);
bool agent_policy_rel_relevant(const char *rel);
/* Whether the batch still patches fragments (else the whole ruleset is rendered) */
bool agent_policy_tracking(const struct agent_policy *p);
struct agent_touch *agent_touch_find(struct agent_policy *p, const char *key);
void agent_plogs_free(struct agent_policy *p);

/* apply.c */
/* The model into the table: the fragments when only they changed, else the whole; one log
 * line per change. 0 or -errno (logged). */
int agent_policy_commit(struct agent *a);
/* The whole ruleset rendered; the table changed by difference when it holds the ruleset
 * last applied (same: the kernel's stamp is its), else replaced */
int agent_policy_commit_full(struct agent *a, bool same);
void agent_nft_failed(const struct agent *a, const char *what, int r);

/* frag.c: an endpoint's fragments before and after: the elements that went (before's not
 * in after) and came (after's not in before), appended to went and came (sets made as
 * needed), counted */
int agent_frag_diff(const struct pol_ruleset *before, const struct pol_ruleset *after,
		    struct pol_ruleset *went, struct pol_ruleset *came, size_t *nw, size_t *nc);
/* after's class chains that rs lacks, copied into came (once each) */
int agent_frag_new_classes(const struct pol_ruleset *rs, const struct pol_ruleset *after,
			   struct pol_ruleset *came);
/* came's class chains that seen has dropped from it, the others added to seen: a class
 * new to the table is added by the first fragment of a batch that names it */
void agent_frag_drop_classes(struct pol_ruleset *came, struct pol_ruleset *seen);
/* Whether every set frag puts elements in is in rs (a fragment fits the skeleton) */
bool agent_frag_fits(const struct pol_ruleset *rs, const struct pol_ruleset *frag);
/* rs patched: went's elements out; came's elements and class chains in */
void agent_frag_remove(struct pol_ruleset *rs, const struct pol_ruleset *went);
int agent_frag_insert(struct pol_ruleset *rs, const struct pol_ruleset *came);
size_t agent_frag_elems(const struct pol_ruleset *rs);

/* mirror.c: only with a local store other than the cluster store */
/* A cluster event into the local store (namespaces, pods, policies, other nodes'
 * endpoints) or a local one (this node's endpoints) into the cluster store */
int agent_mirror_event(struct agent *a, const struct store_event *ev, bool local);
/* After the listings (kvs of the cluster and of the local store, relevant keys only, in
 * byte order): each side made to hold what the other is authoritative for */
int agent_mirror_reconcile(struct agent *a, const struct store_list *cluster,
			   const struct store_list *local);

/* status.c */
int agent_status_write(struct agent *a);

/* drops.c: the policy's NFLOG group read into <run_dir>/drops.json; its fds go into the
 * epoll set with tag. Failing to bind is logged, not fatal (0 or -errno). */
int agent_drops_start(struct agent *a, uint32_t tag);
void agent_drops_event(struct agent *a); /* on the tag's EPOLLIN */
void agent_drops_stop(struct agent *a);

/* sock.c: <run_dir>/policy.sock bound (the path removed first) and listened on; its fds go
 * into the epoll set: tag for the listener, tag + 1 for the read deadlines, tag + 2 + i for
 * connection i. Failing is logged, not fatal: the plugin falls back to its own path. */
#define AGENT_SOCK_CONNS 16
int agent_sock_start(struct agent *a, uint32_t tag);
void agent_sock_event(struct agent *a, uint32_t tag);
void agent_sock_stop(struct agent *a); /* closes everything and removes the path */

/* main.c: timers */
void agent_timer_ms(int tfd, int64_t ms); /* one-shot; 0 disarms */
void agent_schedule_retry(struct agent *a, unsigned int need);
void agent_need_now(struct agent *a, unsigned int need); /* done on the next loop turn */
void agent_schedule_resync(struct agent *a);

#endif
