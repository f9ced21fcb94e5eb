// SPDX-License-Identifier: Apache-2.0
/* sluiced: the agent status file beside subnet.env (<name>.agent.json), rewritten atomically
 * on every change, for `sluicectl status` and for tests that wait on the agent. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/mac.h"
#include "base/err.h"
#include "base/log.h"
#include "overlay/vxdev.h"
#include "subnet/files.h"
#include "sluiced.h"

static void add_prefix(cJSON *o, const char *key, const struct ip_prefix *p)
{
	char b[IP_STRLEN];

	cJSON_AddStringToObject(o, key, p->ip.family ? ip_prefix_fmt(p, b) : "");
}

static cJSON *peer_json(const char *key, const struct overlay_peer *p)
{
	cJSON *o = cJSON_CreateObject();
	char b[IP_STRLEN], m[SUBNET_MAC_STRLEN];

	cJSON_AddStringToObject(o, "Key", key);
	add_prefix(o, "Subnet", &p->subnet);
	cJSON_AddStringToObject(o, "PublicIP", ip_fmt(&p->public_ip, b));
	cJSON_AddStringToObject(o, "VtepMAC", mac_fmt(p->mac, m));
	cJSON_AddBoolToObject(o, "Direct", p->direct);
	return o;
}

static cJSON *status_json(const struct agent *a)
{
	cJSON *o = cJSON_CreateObject(), *peers;
	char dev[IFNAMSIZ] = "", dev6[IFNAMSIZ] = "";
	size_t i;

	cJSON_AddNumberToObject(o, "PID", getpid());
	cJSON_AddNumberToObject(o, "Started", (double)a->started);
	cJSON_AddNumberToObject(o, "Updated", (double)time(NULL));
	cJSON_AddNumberToObject(o, "Revision", (double)a->rev);
	cJSON_AddStringToObject(o, "Lease", a->have_lease ? a->lease.key : "");
	add_prefix(o, "Subnet", a->have_lease ? &a->lease.subnet : &(struct ip_prefix){0});
	add_prefix(o, "Subnet6", a->have_lease ? &a->lease.subnet6 : &(struct ip_prefix){0});
	if (a->dev4)
		overlay_dev_name(AF_INET, a->conf.vni, dev);
	if (a->dev6)
		overlay_dev_name(AF_INET6, a->conf.vni, dev6);
	cJSON_AddStringToObject(o, "Device", dev);
	cJSON_AddStringToObject(o, "Device6", dev6);
	peers = cJSON_AddArrayToObject(o, "Peers");
	for (i = 0; i < a->npeers; i++) {
		if (a->peers[i].has4)
			cJSON_AddItemToArray(peers, peer_json(a->peers[i].key, &a->peers[i].p4));
		if (a->peers[i].has6)
			cJSON_AddItemToArray(peers, peer_json(a->peers[i].key, &a->peers[i].p6));
	}
	cJSON_AddBoolToObject(o, "StoreUp", a->store_up);
	/* the revision of the last policy change (namespace, pod, policy, endpoint) the
	 * table reflects; 0 with --no-network-policy */
	cJSON_AddNumberToObject(o, "PolicyRevision", (double)a->pol.rev);
	/* policy.sock's requests: answered ok (the plugin's ADD or DEL done by the agent), and
	 * refused (the plugin fell back to its own path) */
	cJSON_AddNumberToObject(o, "PolicyServed", (double)a->served);
	cJSON_AddNumberToObject(o, "PolicyRefused", (double)a->refused);
	return o;
}

int agent_status_write(struct agent *a)
{
	char *path = subnet_agent_path(a->o.subnet_file), *s;
	cJSON *o = status_json(a);
	struct err e = {0};
	int r = -ENOMEM;

	s = subnet_json_text(o);
	cJSON_Delete(o);
	if (path && s)
		r = subnet_write_atomic(path, s, strlen(s), 0644, &e);
	if (r < 0)
		log_error("status file: %s", e.code ? e.msg : "out of memory");
	else
		a->status_dirty = false;
	free(path);
	free(s);
	return r;
}
