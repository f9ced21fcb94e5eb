// SPDX-License-Identifier: Apache-2.0
/* Links an attachment owns (sluice-bridge's host veth, sluice-bandwidth's IFB) are named
 * <prefix><digest of (container ID, ifname)>, so DEL finds them without state, and carry the
 * alias "sluice:<network>:<container ID>:<ifname>" (a network name or ID that does not fit
 * as its key), so GC can tell which are whose. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>

#include "node/owner.h"
#include "base/err.h"
#include "base/log.h"
#include "base/name.h"
#include "base/vec.h"
#include "netlink/nl.h"
#include "netlink/nl_link.h"

/* A network name or container ID of the alias's compact form: itself up to this length,
 * its key beyond; the form then takes at most 7 + 65 + 1 + 65 + 1 + 15 bytes. */
#define ALIAS_PART_MAX 64

static const char *alias_part(const char *s, char key[NAME_KEY_LEN + 1])
{
	return strlen(s) <= ALIAS_PART_MAX ? s : name_key(key, s);
}

int owner_alias(char *out, size_t n, const char *net, const char *containerid, const char *ifname)
{
	char knet[NAME_KEY_LEN + 1], kcid[NAME_KEY_LEN + 1];
	int len = snprintf(out, n, "sluice:%s:%s:%s", net, containerid, ifname);

	if (len >= 0 && (size_t)len < n)
		return 0;
	len = snprintf(out, n, "sluice:%s:%s:%s", alias_part(net, knet),
		       alias_part(containerid, kcid), ifname);
	return len < 0 || (size_t)len >= n ? -ENAMETOOLONG : 0;
}

/* The name name_hash() derives with prefix: prefix, then hex digits up to 15 bytes. */
static bool derived_shape(const char *name, const char *prefix)
{
	size_t p = strlen(prefix);

	return strlen(name) == IFNAMSIZ - 1 && !strncmp(name, prefix, p) &&
	       strspn(name + p, "0123456789abcdef") == IFNAMSIZ - 1 - p;
}

/* The rest of alias after "sluice:<net>:" or "sluice:<net's key>:", or NULL. */
static const char *alias_owner(const char *alias, const char *net)
{
	char key[NAME_KEY_LEN + 1];
	const char *n[2] = {net, name_key(key, net)};

	if (strncmp(alias, "sluice:", 7))
		return NULL;
	for (int i = 0; i < 2; i++) {
		size_t len = strlen(n[i]);

		if (!strncmp(alias + 7, n[i], len) && alias[7 + len] == ':')
			return alias + 7 + len + 1;
	}
	return NULL;
}

bool owner_alias_parse(const char *alias, const char *net, const char *prefix, const char *name,
		       char *cid, size_t cid_n, char ifname[16])
{
	const char *owner = alias_owner(alias, net), *colon;
	char want[16];

	/* neither a container ID, its key nor an interface name holds ':' */
	colon = owner ? strchr(owner, ':') : NULL;
	if (!colon || colon == owner || (size_t)(colon - owner) >= cid_n ||
	    strlen(colon + 1) >= 16 || !colon[1] || strchr(colon + 1, ':'))
		return false;
	memcpy(cid, owner, (size_t)(colon - owner));
	cid[colon - owner] = '\0';
	strcpy(ifname, colon + 1);
	/* a key does not give back the ID the name was derived from: the name's form must do */
	if (cid[0] == NAME_KEY_MARK)
		return strlen(cid) == NAME_KEY_LEN && derived_shape(name, prefix);
	return !strcmp(name_hash(want, prefix, cid, ifname), name);
}

struct gc_scan {
	const char *net;
	bool (*valid)(void *arg, const char *containerid, const char *ifname);
	void *arg;
	const char *kind, *prefix;
	char (*names)[IFNAMSIZ];
	size_t n, cap;
};

/* Collects during the dump; the links are deleted after it. */
static int gc_link(const struct nl_link *l, void *data)
{
	struct gc_scan *g = data;
	char cid[OWNER_ID_MAX + 1], ifn[IFNAMSIZ];

	if (strcmp(l->kind, g->kind) ||
	    !owner_alias_parse(l->alias, g->net, g->prefix, l->name, cid, sizeof(cid), ifn) ||
	    g->valid(g->arg, cid, ifn)) /* cid may be a key: it compares by it */
		return 0;
	if (vec_room(&g->names, &g->cap, g->n, sizeof(*g->names), 16) < 0)
		return -ENOMEM;
	snprintf(g->names[g->n++], IFNAMSIZ, "%s", l->name);
	return 0;
}

int owner_links_gc(struct err *err, struct nl *nl, const char *net, const char *kind,
		   const char *prefix, bool (*valid)(void *arg, const char *containerid, const char *ifname),
		   void *arg)
{
	struct gc_scan g = {.net = net, .valid = valid, .arg = arg, .kind = kind, .prefix = prefix};
	int r, k, gone = 0;

	r = nl_link_dump(nl, gc_link, &g);
	if (r < 0)
		r = err_kernel(err, r, nl_errmsg(nl), "list links");
	for (size_t i = 0; i < g.n; i++)
		if ((k = nl_link_del_by_name(nl, g.names[i])) == 0) {
			log_debug("deleted stale %s %s", kind, g.names[i]);
			gone++;
		} else if (k != -ENODEV) {
			r = err_kernel(err, k, nl_errmsg(nl), "delete stale %s %s", kind,
					    g.names[i]);
		}
	free(g.names);
	return r < 0 ? r : gone;
}
