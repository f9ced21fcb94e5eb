// SPDX-License-Identifier: Apache-2.0
/* Links an attachment owns (sluice-bridge's host veth, sluice-bandwidth's IFB) are named
 * <prefix><digest of (container ID, ifname)>, so DEL finds them without state, and carry the
 * alias "sluice:<network>:<container ID>:<ifname>", so GC can tell which are whose. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>

#include "cni.h"
#include "log.h"
#include "name.h"
#include "nl.h"
#include "nl_link.h"
#include "owner.h"
#include "vec.h"

int owner_alias(char *out, size_t n, const char *net, const char *containerid, const char *ifname)
{
	int len = snprintf(out, n, "sluice:%s:%s:%s", net, containerid, ifname);

	return len < 0 || (size_t)len >= n ? -ENAMETOOLONG : 0;
}

bool owner_alias_parse(const char *alias, const char *net, const char *prefix, const char *name,
		       char *cid, size_t cid_n, char ifname[16])
{
	size_t nlen = strlen(net);
	const char *owner, *colon;
	char want[16];

	if (strncmp(alias, "sluice:", 7) || strncmp(alias + 7, net, nlen) || alias[7 + nlen] != ':')
		return false;
	owner = alias + 7 + nlen + 1;
	/* neither a container ID nor an interface name holds ':' */
	colon = strchr(owner, ':');
	if (!colon || (size_t)(colon - owner) >= cid_n || strlen(colon + 1) >= 16 ||
	    strchr(colon + 1, ':'))
		return false;
	memcpy(cid, owner, (size_t)(colon - owner));
	cid[colon - owner] = '\0';
	strcpy(ifname, colon + 1);
	return !strcmp(name_hash(want, prefix, cid, ifname), name);
}

struct gc_scan {
	struct cni_ctx *ctx;
	const char *kind, *prefix;
	char (*names)[IFNAMSIZ];
	size_t n, cap;
};

/* Collects during the dump; the links are deleted after it. */
static int gc_link(const struct nl_link *l, void *data)
{
	struct gc_scan *g = data;
	char cid[CNI_MAX_ID + 1], ifn[IFNAMSIZ];

	if (strcmp(l->kind, g->kind) ||
	    !owner_alias_parse(l->alias, g->ctx->name, g->prefix, l->name, cid, sizeof(cid), ifn) ||
	    cni_attachment_valid(g->ctx, cid, ifn))
		return 0;
	if (vec_room(&g->names, &g->cap, g->n, sizeof(*g->names), 16) < 0)
		return -ENOMEM;
	snprintf(g->names[g->n++], IFNAMSIZ, "%s", l->name);
	return 0;
}

int owner_links_gc(struct cni_ctx *ctx, struct nl *nl, const char *kind, const char *prefix)
{
	struct gc_scan g = {.ctx = ctx, .kind = kind, .prefix = prefix};
	int r, k, gone = 0;

	r = nl_link_dump(nl, gc_link, &g);
	if (r < 0)
		r = cni_fail_kernel(ctx, r, nl_errmsg(nl), "list links");
	for (size_t i = 0; i < g.n; i++)
		if ((k = nl_link_del_by_name(nl, g.names[i])) == 0) {
			log_debug("deleted stale %s %s", kind, g.names[i]);
			gone++;
		} else if (k != -ENODEV) {
			r = cni_fail_kernel(ctx, k, nl_errmsg(nl), "delete stale %s %s", kind,
					    g.names[i]);
		}
	free(g.names);
	return r < 0 ? r : gone;
}
