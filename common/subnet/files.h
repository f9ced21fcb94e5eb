/* SPDX-License-Identifier: Apache-2.0 */
/* The node-local files a lease produces: Flannel's subnet.env, the node's lease state (for
 * sluice-vxlan-overlay and restarts), and the CNI conflist with the lease as its IPAM range.
 * Each is written atomically (a temporary file in the same directory, fsync, rename), so
 * that a runtime or a plugin never reads half of one. */
#ifndef SUBNET_FILES_H
#define SUBNET_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <stdint.h>
#include <net/if.h>

#include "base/ip.h"
#include "subnet/lease.h"

struct cJSON;
struct err;
struct subnet_conf;
struct subnet_lease;

#define SUBNET_ENV_DEFAULT "/run/sluice/subnet.env"
#define SUBNET_CNI_DIR_DEFAULT "/etc/cni/net.d"
#define SUBNET_CONFLIST_NAME "10-sluice.conflist"
#define SUBNET_NETWORK_NAME "sluice"
#define SUBNET_BRIDGE_NAME "sluicebr0" /* the chains in chains/ use sluice0 */
#define SUBNET_OVERLAY_TYPE "sluice-vxlan-overlay"
#define SUBNET_VXLAN_OVERHEAD 50 /* outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14 */
/* outer IPv6 40 + UDP 8 + VXLAN 8 + inner Ethernet 14: what the kernel caps a VXLAN device
 * over an IPv6 underlay at (flanneld subtracts 50 anyway, so its pods' full-size IPv6
 * packets cannot cross) */
#define SUBNET_VXLAN_OVERHEAD6 70

/* Writes data[len] to path atomically with mode, creating missing parent directories
 * (0755). Returns 0 or -errno with err naming the path. */
int subnet_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
			struct err *err);

/* Flannel's subnet.env text for lease l under config c (FLANNEL_NETWORK, FLANNEL_SUBNET =
 * the lease's first address + 1, the IPv6 pair with IPv6, FLANNEL_MTU, FLANNEL_IPMASQ).
 * Caller frees. */
char *subnet_env_text(const struct subnet_conf *c, const struct subnet_lease *l, unsigned int mtu,
		      bool ipmasq);

/* Reads FLANNEL_SUBNET (and FLANNEL_IPV6_SUBNET) of a subnet.env as subnets (host bits
 * cleared). Returns 0, -ENOENT when the file or the key is missing, or -EINVAL. */
int subnet_env_read(const char *path, struct ip_prefix *ret_sn, struct ip_prefix *ret_sn6);

/* The node's lease state file kept beside subnet_file: "<dir>/<name>.lease.json" for
 * "<dir>/<name>.env" (else subnet_file + ".lease.json"). Caller frees. */
char *subnet_state_path(const char *subnet_file);

/* The agent's status file beside subnet_file: "<dir>/<name>.agent.json" for
 * "<dir>/<name>.env" (else subnet_file + ".agent.json"). Caller frees. */
char *subnet_agent_path(const char *subnet_file);

/* The state's JSON: key, subnets, public IPs, interface, VNI, VtepMAC, MTU, the network,
 * the expiry time (unix seconds, 0: none), whether the node masquerades (IPMasq), node
 * name, store URL and prefix. */
struct cJSON *subnet_state_json(const struct subnet_conf *c, const struct subnet_lease *l,
				const char *iface, unsigned int mtu, long long expires,
				bool ip_masq, const char *store_url, const char *prefix);

/* VtepMAC of a state file, into mac (SUBNET_MAC_STRLEN). Returns 0 or -ENOENT/-EINVAL. */
int subnet_state_mac(const char *path, char *mac);

/* NetworkPolicy in the rendered conflist: sluice-nft-policy's fields, all written */
#define SUBNET_POLICY_TYPE "sluice-nft-policy"
struct subnet_policy_conf {
	const char *store_url; /* "store": the node-local dir:// store the plugin reads */
	const char *prefix; /* "prefix" */
	const char *node; /* "node": the node's name, as its endpoints are keyed */
	const char *run_dir; /* "runDir": where policy.lock is, the subnet file's directory */
};

/* The node's conflist for lease l: sluice-bridge (bridge SUBNET_BRIDGE_NAME, isGateway,
 * isDefaultGateway, hairpinMode, mtu; ipMasq false: the overlay's table masquerades) with
 * sluice-host-local ranges = the lease subnets and routes to the cluster networks, then
 * sluice-vxlan-overlay, sluice-nft-policy (when pol is not NULL), sluice-portmap and
 * sluice-bandwidth. subnet_file (NULL: the default): the node's subnet.env, named as the
 * overlay's "subnetFile" when it is not SUBNET_ENV_DEFAULT (also in a template's
 * sluice-vxlan-overlay entries). tmpl (may be NULL): a conflist document whose plugin with
 * an "ipam" gets the ranges and routes and whose "mtu" fields are set, and whose
 * sluice-nft-policy entries get pol's fields (the rest kept; none is added to it). Returns
 * the text (caller frees) or NULL with err filled. */
char *subnet_conflist_text(const struct subnet_conf *c, const struct subnet_lease *l,
			   unsigned int mtu, const char *subnet_file, const char *tmpl,
			   size_t tmpl_len, const struct subnet_policy_conf *pol, struct err *err);

/* o printed (tab-indented, as cJSON does) with a final newline; caller frees. */
char *subnet_json_text(const struct cJSON *o);

/* A random locally administered unicast MAC "xx:xx:xx:xx:xx:xx" into mac. */
void subnet_random_mac(char *mac);

/* The node's lease state as subnet_state_json() wrote it: what sluice-vxlan-overlay needs
 * without the store, and what the agent keeps across restarts. */
struct subnet_state {
	char key[512]; /* the lease's store key */
	struct ip_prefix subnet, subnet6; /* subnet6.ip.family 0: none */
	struct ip_prefix network, network6; /* the cluster networks */
	struct ip_addr public_ip, public_ipv6;
	char iface[IFNAMSIZ];
	uint32_t vni;
	uint16_t port;
	char vtep_mac[SUBNET_MAC_STRLEN];
	unsigned int mtu;
	long long expires; /* unix seconds; 0: never (a reservation) */
	bool learning, gbp, direct_routing;
	bool ip_masq; /* the node masquerades in inet sluice_overlay; absent: true */
	char node_name[SUBNET_NODE_NAME_MAX + 1];
};
/* Reads a state file. Returns 0, -ENOENT when there is none, or -EINVAL with err saying
 * what is wrong in it. */
int subnet_state_read(const char *path, struct subnet_state *ret, struct err *err);

#endif
