/* SPDX-License-Identifier: Apache-2.0 */
/* Links an attachment owns (sluice-bridge's host veth, sluice-bandwidth's IFB) are named
 * <prefix><digest of (container ID, ifname)>, so DEL finds them without state, and carry the
 * alias "sluice:<network>:<container ID>:<ifname>" (a network name or ID that does not fit
 * as its key), so GC can tell which are whose. */
#ifndef OWNER_H
#define OWNER_H

#include <stdbool.h>
#include <stddef.h>

struct err;
struct nl;

#define OWNER_ALIAS_MAX 256 /* IFALIASZ */
#define OWNER_ID_MAX 255 /* the longest container ID an alias carries */

/* Writes the alias of net's attachment (containerid, ifname): "sluice:<net>:<cid>:<ifname>"
 * when that fits n bytes, else the same with each of net and cid longer than 64 bytes
 * replaced by its key (name_key()), which fits OWNER_ALIAS_MAX. Returns 0, or -ENAMETOOLONG
 * when n is smaller still. */
int owner_alias(char *out, size_t n, const char *net, const char *containerid, const char *ifname);

/* Parses an alias written by owner_alias() for network net into the attachment it names
 * (cid[cid_n]: the ID, or its key; ifname[16]). True when it belongs to net and name is the
 * attachment's link name derived with prefix (so a truncated alias or a look-alike never
 * matches); for a key, which does not give back the ID, when name has the derived form. */
bool owner_alias_parse(const char *alias, const char *net, const char *prefix, const char *name,
		       char *cid, size_t cid_n, char ifname[16]);

/* GC: deletes the links of kind ("veth", "ifb") that belong, by alias and derived name, to
 * an attachment of network net for which valid(arg, containerid or its key, ifname) says
 * false. Keeps going past errors and records the first in err. Returns the number deleted
 * or that error. */
int owner_links_gc(struct err *err, struct nl *nl, const char *net, const char *kind,
		   const char *prefix, bool (*valid)(void *arg, const char *containerid, const char *ifname),
		   void *arg);

#endif
