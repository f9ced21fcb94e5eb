/* SPDX-License-Identifier: Apache-2.0 */
/* Node subnet leases, Flannel's way: keys <prefix>/subnets/<a.b.c.d>-<len>[&<v6>-<len>],
 * values flanneld's LeaseAttrs JSON (plus sluice's "NodeName", which Go's json.Unmarshal
 * ignores), a TTL of 24 h renewed before expiry. Acquire follows flanneld's
 * tryAcquireLease (own lease by PublicIP, then the previous subnet, then a random free one
 * claimed with create-if-absent, retried on a lost race); renew and release are
 * compare-and-swap on the lease's mod_rev so that a revoked or stolen lease is noticed. */
#ifndef SUBNET_LEASE_H
#define SUBNET_LEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/ip.h"

struct cJSON;
struct err;
struct store;
struct store_kv;
struct store_event;
struct subnet_conf;

#define SUBNET_TTL_DEFAULT (24 * 3600) /* flanneld's subnetTTL */
#define SUBNET_RENEW_MARGIN_DEFAULT 3600 /* flanneld's --subnet-lease-renew-margin */
#define SUBNET_RACE_RETRIES 10 /* flanneld's raceRetries */
#define SUBNET_CANDIDATES 100 /* free subnets collected before the random pick, as flanneld */
#define SUBNET_MAC_STRLEN 18
#define SUBNET_NODE_NAME_MAX 253

struct subnet_lease {
	struct ip_prefix subnet; /* IPv4 */
	struct ip_prefix subnet6; /* ip.family 0: none */
	struct ip_addr public_ip; /* family 0: unreadable */
	struct ip_addr public_ipv6; /* family 0: null */
	char backend_type[32];
	uint32_t vni; /* BackendData.VNI */
	char vtep_mac[SUBNET_MAC_STRLEN]; /* BackendData.VtepMAC, "" when none */
	char node_name[SUBNET_NODE_NAME_MAX + 1]; /* sluice's "NodeName", "" when none */
	bool readable; /* the value parsed as lease JSON (a lease that did not still holds its key) */
	struct cJSON *attrs; /* the value as read, every field kept; NULL for a new lease */
	char *key; /* the full store key */
	int64_t create_rev, mod_rev;
	int64_t lease; /* the store's lease ID of its key (etcd), 0 when none is known */
	int64_t ttl; /* seconds left when read; -1: none (a reservation, never expires);
		      * STORE_TTL_UNKNOWN: it has a TTL a list did not look up (subnet_lease_ttl) */
};

/* A reservation: a key without a TTL (flanneld's reserved subnets), never expiring. A lease
 * whose TTL a list left unknown is not one. */
static inline bool subnet_lease_reserved(const struct subnet_lease *l)
{
	return l->ttl == -1;
}

/* Why a lease is no VXLAN peer (subnet_lease_is_peer) */
enum subnet_peer_why {
	SUBNET_PEER_OK = 0,
	SUBNET_PEER_UNREADABLE, /* not lease JSON, or no PublicIP */
	SUBNET_PEER_BACKEND, /* BackendType is not "vxlan" */
	SUBNET_PEER_NO_MAC, /* no readable BackendData.VtepMAC */
};

/* Is l a lease the agent programs as a VXLAN peer (sluiced and `sluicectl status` share the
 * rule)? Returns SUBNET_PEER_OK, or why not. */
enum subnet_peer_why subnet_lease_is_peer(const struct subnet_lease *l);

/* Length of prefix without trailing slashes: "/p/" names the network "/p" does */
size_t subnet_prefix_len(const char *prefix);

/* "10.244.1.0-24" or "10.244.1.0-24&fd00:0:0:1::-64" (flannel's MakeSubnetKey) into buf.
 * Returns the length or -ENOSPC. */
int subnet_key_name(const struct ip_prefix *sn, const struct ip_prefix *sn6, char *buf,
		    size_t size);

/* Parses a key's last component as flannel's ParseSubnetKey does (sn6 family 0 without
 * the IPv6 part). Returns 0 or -EINVAL. */
int subnet_key_parse(const char *name, struct ip_prefix *ret_sn, struct ip_prefix *ret_sn6);

/* Parses a value of flanneld's LeaseAttrs JSON into l's attribute fields (l->attrs takes the
 * document). Returns 0 or -EINVAL with err saying why. */
int subnet_lease_parse_value(const char *value, size_t len, struct subnet_lease *l,
			     struct err *err);

/* A store entry as a lease: 1 when kv's key is a subnet key under prefix (l filled; its
 * value may still be unreadable: l->readable), 0 when it is not a subnet key. */
int subnet_lease_from_kv(const struct store_kv *kv, const char *prefix, struct subnet_lease *l);

/* Fills l->ttl when a list left it unknown (store_ttl: one request on etcd); does nothing
 * otherwise. Returns 0 or -errno. */
int subnet_lease_ttl(struct store *s, struct subnet_lease *l, struct err *err);

/* The value to store: l->attrs (fields sluice does not use kept in place) with PublicIP,
 * PublicIPv6, BackendType, BackendData {VNI, VtepMAC} (and BackendV6Data with IPv6) and
 * NodeName set from l, in flanneld's field order for a new lease. Caller frees. */
char *subnet_lease_value(const struct subnet_lease *l);

void subnet_lease_done(struct subnet_lease *l);
void subnet_leases_free(struct subnet_lease *ls, size_t n);

/* Every lease under <prefix>/subnets/, sorted by subnet (keys that are not subnet keys
 * skipped). *ret_rev (may be NULL): the listing's revision. Returns the count or -errno. */
int subnet_list(struct store *s, const char *prefix, struct subnet_lease **ret, int64_t *ret_rev,
		struct err *err);

/* The node that asks for a lease */
struct subnet_node {
	struct ip_addr public_ip;
	struct ip_addr public_ipv6; /* family 0: none */
	const char *node_name; /* may be NULL */
	const char *vtep_mac; /* may be NULL or "": the own lease's MAC is kept, else none */
};

struct subnet_acquire_opts {
	int64_t ttl; /* seconds; 0: SUBNET_TTL_DEFAULT */
	struct ip_prefix prev, prev6; /* the previous subnet (subnet.env); family 0: none */
	/* random numbers in [0, n) for the pick (tests); NULL: getrandom() */
	uint64_t (*rand)(uint64_t n, void *data);
	void *rand_data;
};

/* How a lease was obtained */
enum subnet_how { SUBNET_REUSED = 1, SUBNET_PREVIOUS, SUBNET_NEW };

/* Picks a free subnet as allocateSubnet: up to SUBNET_CANDIDATES free subnets (overlapping
 * no lease in ls) from a random starting subnet between min and max, wrapping around, and
 * one of them at random. Returns 0 with *ret, or -ENOSPC when none is free. */
int subnet_pick_free(int family, const struct ip_addr *min, const struct ip_addr *max,
		     unsigned int len, const struct subnet_lease *ls, size_t n, bool v6,
		     const struct subnet_acquire_opts *o, struct ip_prefix *ret);

/* Acquires this node's lease under prefix for config c (flanneld's AcquireLease). Fills
 * *ret (subnet_lease_done) and returns SUBNET_REUSED, _PREVIOUS or _NEW; -ENOSPC ("no free
 * subnet"), -EAGAIN (lost the race SUBNET_RACE_RETRIES times) or -errno, err filled. */
int subnet_acquire(struct store *s, const char *prefix, const struct subnet_conf *c,
		   const struct subnet_node *n, const struct subnet_acquire_opts *o,
		   struct subnet_lease *ret, struct err *err);

/* This node's lease (PublicIP equal to public_ip) among the leases under prefix. Returns 1
 * with *ret filled, 0 when there is none, or -errno. */
int subnet_find_own(struct store *s, const char *prefix, const struct ip_addr *public_ip,
		    struct subnet_lease *ret, struct err *err);

/* Writes l again with a fresh TTL (ttl seconds; 0: SUBNET_TTL_DEFAULT; a reservation stays
 * without one) if it was not changed since l->mod_rev; l->mod_rev and l->ttl follow. Returns
 * 1 when renewed, 0 when revoked (gone, or changed by someone else), or -errno. */
int subnet_renew(struct store *s, struct subnet_lease *l, int64_t ttl, struct err *err);

/* Seconds after a (re)write of a lease with ttl seconds at which to renew it: ttl - margin,
 * the margin capped to a third of ttl for short TTLs (tests) and at least 1 s (0 for a TTL
 * of 1 s: renew at once). */
int64_t subnet_renew_after(int64_t ttl, int64_t margin);

/* Deletes l if it is unchanged since l->mod_rev. Returns 1 when deleted, 0 when it was gone
 * or not ours any more, or -errno. */
int subnet_release(struct store *s, const struct subnet_lease *l, struct err *err);

/* Whether l is still this node's: 1 yes, 0 revoked (key missing, or its PublicIP another's),
 * or -errno. */
int subnet_lease_check(struct store *s, const struct subnet_lease *l, struct err *err);

/* Whether a watch event on l's key revokes it: a delete (or expiry) of the key, or a put
 * whose PublicIP is not l's. */
bool subnet_event_revokes(const struct subnet_lease *l, const struct store_event *ev);

#endif
