// SPDX-License-Identifier: Apache-2.0
/* sluiced: the node's own lease. The network config, acquiring (or reusing) the lease, its
 * renewal before expiry, re-acquiring after a revocation, and the files the lease produces. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/log.h"
#include "store/store.h"
#include "subnet/files.h"
#include "subnet/lease.h"
#include "subnet/netconf.h"
#include "subnet/node.h"
#include "sluiced.h"

void agent_store_failed(struct agent *a, const char *what, const struct err *e)
{
	/* a store that stays down would log every retry: once per change of state */
	if (a->store_up || a->last_err_class != 1)
		log_warn("store %s: %s: %s%s%s (retrying)", store_url(a->store), what, e->msg,
			 e->details[0] ? ": " : "", e->details);
	else
		log_debug("store %s: %s: %s", store_url(a->store), what, e->msg);
	a->last_err_class = 1;
	if (a->store_up)
		a->status_dirty = true;
	a->store_up = false;
}

void agent_store_ok(struct agent *a)
{
	if (!a->store_up) {
		if (a->last_err_class)
			log_info("store %s: answering again", store_url(a->store));
		a->status_dirty = true;
	}
	/* what else failed (no config, no subnet) still stands; the backoff is reset by the
	 * work that succeeds as a whole (run_pending) */
	if (a->last_err_class == 1)
		a->last_err_class = 0;
	a->store_up = true;
	a->contact_ms = agent_now_ms();
}

int64_t agent_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void agent_store_probe(struct agent *a)
{
	int64_t now = agent_now_ms();
	struct store_kv kv = {0};
	struct err e = {0};
	char *key = NULL;

	/* store.h takes no per-call timeout: this get blocks the loop up to the backend's own
	 * request timeout (etcd's: 5 s) when the store is unreachable. So it runs at most once
	 * per AGENT_PROBE_MS counted from the end of the last one, never back to back. */
	if (now - a->contact_ms < AGENT_PROBE_MS || now - a->probe_ms < AGENT_PROBE_MS ||
	    asprintf(&key, "%s/config", a->o.prefix) < 0)
		return;
	if (store_get(a->store, key, &kv, NULL, &e) < 0)
		agent_store_failed(a, "check the store", &e);
	else
		agent_store_ok(a);
	a->probe_ms = agent_now_ms();
	store_kv_free(&kv);
	free(key);
}

static void node_opts(const struct agent *a, struct subnet_node_opts *o,
		      struct subnet_policy_conf *pol)
{
	memset(o, 0, sizeof(*o));
	pol->store_url = a->o.local_url;
	pol->prefix = a->o.prefix;
	pol->node = a->o.node_name;
	pol->run_dir = a->o.run_dir;
	o->policy = a->o.policy ? pol : NULL;
	o->iface = a->o.iface;
	o->pub = a->o.pub;
	o->pub6 = a->o.pub6;
	o->subnet_file = a->o.subnet_file;
	o->cni_dir = a->o.cni_dir;
	o->tmpl = a->tmpl;
	o->tmpl_len = a->tmpl_len;
	o->ttl = a->o.ttl;
	o->node_name = a->o.node_name;
	o->store_url = store_url(a->store);
	o->prefix = a->o.prefix;
	o->no_ip_masq = !a->o.ipmasq;
}

/* The config at <prefix>/config. A missing or invalid one is logged (once per state) and
 * the old one, if any, kept. */
int agent_load_config(struct agent *a)
{
	struct store_kv kv = {0};
	struct subnet_conf c;
	struct err e = {0};
	char *key = NULL;
	int r;

	if (asprintf(&key, "%s/config", a->o.prefix) < 0)
		return -ENOMEM;
	r = store_get(a->store, key, &kv, NULL, &e);
	if (r < 0) {
		agent_store_failed(a, "read the network config", &e);
		goto out;
	}
	agent_store_ok(a);
	if (r == 0) {
		if (a->last_err_class != 2)
			log_warn("no network config at %s yet (waiting for it)", key);
		a->last_err_class = 2;
		r = -ENOENT;
		goto out;
	}
	r = subnet_conf_parse(kv.value, kv.value_len, &c, &e);
	if (r < 0) {
		if (a->last_err_class != 3)
			log_error("the network config at %s is invalid: %s", key, e.msg);
		a->last_err_class = 3;
		goto out;
	}
	a->last_err_class = 0;
	if (a->have_conf)
		subnet_conf_done(&a->conf);
	a->conf = c;
	a->have_conf = true;
	log_debug("network config: %s, /%u, VNI %u",
		  ip_prefix_fmt(&c.network, (char[IP_STRLEN]){0}), c.subnet_len, c.vni);
out:
	store_kv_free(&kv);
	free(key);
	return r;
}

int agent_write_files(struct agent *a)
{
	struct subnet_node_opts o;
	struct subnet_policy_conf pol;
	struct err e = {0};
	int r;

	node_opts(a, &o, &pol);
	r = subnet_node_write_files(&a->conf, &o, &a->lease, &a->id, &e);
	if (r < 0)
		log_error("writing the node's files: %s", e.msg);
	return r;
}

void agent_arm_renew(struct agent *a)
{
	int64_t s;

	if (!a->have_lease || subnet_lease_reserved(&a->lease)) {
		agent_timer_ms(a->renew_tfd, 0);
		return;
	}
	s = subnet_renew_after(a->o.ttl, a->o.margin);
	agent_timer_ms(a->renew_tfd, s > 0 ? s * 1000 : 500); /* s 0: a TTL of 1 s */
	log_debug("lease renewal in %lld s", (long long)s);
}

static const char *how_name(int how)
{
	return how == SUBNET_REUSED ? "reused" : how == SUBNET_PREVIOUS ? "previous" : "new";
}

int agent_acquire(struct agent *a)
{
	struct subnet_node_opts o;
	struct subnet_policy_conf pol;
	struct subnet_lease l = {0};
	struct subnet_ident id;
	struct err e = {0};
	char sn[IP_STRLEN], sn6[IP_STRLEN];
	int r;

	node_opts(a, &o, &pol);
	r = subnet_node_acquire(a->store, &a->conf, &o, &l, &id, &e);
	if (r < 0) {
		if (e.code == CNI_ERR_IO)
			agent_store_failed(a, "acquire the lease", &e);
		else if (a->last_err_class != 4) /* e.g. no free subnet: once, then retried */
			log_error("acquiring the lease: %s%s%s (retrying)", e.msg,
				  e.details[0] ? ": " : "", e.details);
		if (e.code != CNI_ERR_IO)
			a->last_err_class = 4;
		subnet_lease_done(&l);
		return r;
	}
	agent_store_ok(a);
	if (a->last_err_class == 4)
		a->last_err_class = 0;
	log_info("lease %s (%s) public IP %s vtep %s", ip_prefix_fmt(&l.subnet, sn), how_name(r),
		 ip_fmt(&id.public_ip, sn6), l.vtep_mac);
	if (l.subnet6.ip.family)
		log_info("lease IPv6 %s", ip_prefix_fmt(&l.subnet6, sn6));
	if (a->have_lease)
		subnet_lease_done(&a->lease);
	a->lease = l;
	a->id = id;
	a->have_lease = true;
	a->status_dirty = true;
	r = agent_dataplane(a);
	if (r >= 0)
		r = agent_write_files(a);
	agent_arm_renew(a);
	return r;
}

int agent_renew(struct agent *a)
{
	struct err e = {0};
	int r = subnet_renew(a->store, &a->lease, a->o.ttl, &e);

	if (r < 0) {
		agent_store_failed(a, "renew the lease", &e);
		return r;
	}
	agent_store_ok(a);
	if (r == 0) {
		log_warn("lease %s was revoked: acquiring again", a->lease.key);
		r = agent_acquire(a);
		return r < 0 ? r : 0;
	}
	log_info("lease %s renewed for %lld s", a->lease.key, (long long)a->o.ttl);
	a->status_dirty = true;
	agent_arm_renew(a);
	/* the state file carries the new expiry */
	return agent_write_files(a) < 0 ? -EIO : 1;
}
