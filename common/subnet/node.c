// SPDX-License-Identifier: Apache-2.0
/* Bringing a node up: identity, a VTEP MAC kept across restarts, the lease, and the files it
 * produces. Shared by `sluicectl node up|down` and sluiced. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "subnet/files.h"
#include "subnet/ident.h"
#include "subnet/lease.h"
#include "subnet/netconf.h"
#include "subnet/node.h"

static const char *subnet_file(const struct subnet_node_opts *o)
{
	return o->subnet_file ? o->subnet_file : SUBNET_ENV_DEFAULT;
}

static char *conflist_path(const struct subnet_node_opts *o)
{
	char *p;

	return asprintf(&p, "%s/%s", o->cni_dir ? o->cni_dir : SUBNET_CNI_DIR_DEFAULT,
			SUBNET_CONFLIST_NAME) < 0
		       ? NULL
		       : p;
}

/* The VTEP MAC the node keeps across restarts: its state file's, else its lease's in the
 * store (the state under /run is gone after a reboot), else a new random one */
static void vtep_mac(struct store *s, const char *prefix, const char *state,
		     const struct ip_addr *pub, char *mac)
{
	struct subnet_lease own = {0};
	struct err e = {0};

	if (state && subnet_state_mac(state, mac) == 0)
		return;
	if (subnet_find_own(s, prefix, pub, &own, &e) > 0 &&
	    strlen(own.vtep_mac) == SUBNET_MAC_STRLEN - 1) {
		memcpy(mac, own.vtep_mac, SUBNET_MAC_STRLEN);
		subnet_lease_done(&own);
		return;
	}
	subnet_lease_done(&own);
	subnet_random_mac(mac);
}

int subnet_node_acquire(struct store *s, const struct subnet_conf *c,
			const struct subnet_node_opts *o, struct subnet_lease *ret,
			struct subnet_ident *ret_id, struct err *err)
{
	struct subnet_acquire_opts ao = {.ttl = o->ttl};
	struct subnet_node node = {.node_name = o->node_name};
	char mac[SUBNET_MAC_STRLEN], *state = subnet_state_path(subnet_file(o));
	struct subnet_ident id;
	int r;

	if (!state)
		return err_fail(err, CNI_ERR_INTERNAL, -ENOMEM, "out of memory");
	r = subnet_ident_find(o->iface, &o->pub, &o->pub6, c->enable_ipv6, &id, err);
	if (r < 0)
		goto out;
	node.public_ip = id.public_ip;
	node.public_ipv6 = id.public_ipv6;
	vtep_mac(s, o->prefix, state, &id.public_ip, mac);
	node.vtep_mac = mac;
	(void)subnet_env_read(subnet_file(o), &ao.prev, &ao.prev6);
	r = subnet_acquire(s, o->prefix, c, &node, &ao, ret, err);
	if (r >= 0)
		*ret_id = id;
out:
	free(state);
	return r;
}

unsigned int subnet_node_mtu(const struct subnet_conf *c, const struct subnet_ident *id)
{
	return (c->mtu ? c->mtu : id->mtu) -
	       (c->enable_ipv6 ? SUBNET_VXLAN_OVERHEAD6 : SUBNET_VXLAN_OVERHEAD);
}

int subnet_node_write_files(const struct subnet_conf *c, const struct subnet_node_opts *o,
			    const struct subnet_lease *l, const struct subnet_ident *id,
			    struct err *err)
{
	unsigned int mtu = subnet_node_mtu(c, id);
	char *env = subnet_env_text(c, l, mtu, !o->no_ip_masq), *st = NULL, *cl = NULL;
	char *state = subnet_state_path(subnet_file(o)), *path = conflist_path(o);
	cJSON *sj;
	int r = -ENOMEM;

	/* acquire or renew wrote l: its TTL is known (-1 for a reservation) */
	sj = subnet_state_json(c, l, id->iface, mtu, l->ttl < 0 ? 0 : time(NULL) + l->ttl,
			       !o->no_ip_masq, o->store_url, o->prefix);
	st = subnet_json_text(sj);
	cJSON_Delete(sj);
	cl = subnet_conflist_text(c, l, mtu, subnet_file(o), o->tmpl, o->tmpl_len, o->policy, err);
	if (!cl) {
		r = -EINVAL;
		goto out;
	}
	if (!env || !st || !state || !path) {
		err_fail(err, CNI_ERR_INTERNAL, r, "out of memory");
		goto out;
	}
	/* the conflist last: once a runtime sees it, subnet.env and the state are there */
	if ((r = subnet_write_atomic(subnet_file(o), env, strlen(env), 0644, err)) < 0 ||
	    (r = subnet_write_atomic(state, st, strlen(st), 0644, err)) < 0 ||
	    (r = subnet_write_atomic(path, cl, strlen(cl), 0644, err)) < 0)
		goto out;
	r = 0;
out:
	free(env);
	free(st);
	free(cl);
	free(state);
	free(path);
	return r;
}

static int remove_file(const char *path, struct err *err)
{
	if (unlink(path) < 0 && errno != ENOENT)
		return err_fail(err, CNI_ERR_IO, -errno, "remove %s: %s", path, strerror(errno));
	return 0;
}

int subnet_node_remove_files(const struct subnet_node_opts *o, struct err *err)
{
	char *state = subnet_state_path(subnet_file(o)), *path = conflist_path(o);
	int r;

	if (!state || !path) {
		r = err_fail(err, CNI_ERR_INTERNAL, -ENOMEM, "out of memory");
		goto out;
	}
	/* the conflist first: no runtime starts a pod on files about to go */
	if ((r = remove_file(path, err)) < 0 || (r = remove_file(state, err)) < 0 ||
	    (r = remove_file(subnet_file(o), err)) < 0)
		goto out;
	r = 0;
out:
	free(state);
	free(path);
	return r;
}
