/* SPDX-License-Identifier: Apache-2.0 */
/* A peer node in the kernel, Flannel's way: per peer lease a neighbour (peer subnet's
 * network address -> VtepMAC, permanent) on the VXLAN device, an FDB entry (VtepMAC ->
 * PublicIP, self permanent), and the onlink route (subnet via its network address dev the
 * VXLAN device), in that order so that the route never resolves through ARP; or, with
 * DirectRouting to a peer on the underlay's own segment, one plain route via its PublicIP
 * instead. Every route sluice adds carries protocol OVERLAY_RTPROT, so sluice finds its
 * own routes again (after a restart) and never touches anyone else's.
 *
 * Requests are pipelined: many peers' messages go to the kernel in few sendmsg() calls and
 * their acks are read afterwards, in order, since one socket's requests are handled in
 * the order sent. A batch's consecutive VXLAN adds go kind by kind (their neighbours, their
 * FDB entries, then their routes) and its deletes likewise (routes first): an rtnetlink
 * monitor of routes is then woken for runs of routes, not once per peer (each wake-up is
 * paid by the sender: 1,000 peers programmed ~1 ms, 7%, sooner with one listener). */
#ifndef OVERLAY_PEER_H
#define OVERLAY_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/ip.h"

struct err;
struct nl;

#define OVERLAY_RTPROT \
	83 /* rtnetlink protocol of sluice's overlay routes ("ip route ... proto 83") */

struct overlay_peer {
	struct ip_prefix subnet; /* the peer's lease subnet (network address, length) */
	struct ip_addr public_ip; /* its underlay address, of subnet's family's underlay */
	uint8_t mac[6]; /* its VtepMAC (unused when direct) */
	bool direct; /* DirectRouting: subnet via public_ip on the underlay, no VXLAN */
};

/* Where peers of one family go */
struct overlay_where {
	int family; /* AF_INET or AF_INET6: the subnets' family */
	int dev; /* the VXLAN device's ifindex */
	int underlay; /* the underlay's ifindex (direct routes) */
};

/* Notes one change for the caller's log: "add 10.244.2.0/24 via 192.168.0.12 vtep
 * 02:..." */
typedef void (*overlay_note_fn)(void *data, const char *what);

/* Programs peers add[0..nadd) (replacing what differs: neighbour, FDB entry and route are
 * replaced in place) and removes peers del[0..ndel) (absent entries are not an error),
 * pipelined in one batch. A del with the same subnet as an add is that peer's old state:
 * nothing the add replaces is deleted (a live peer has no gap), and what the add cannot
 * reach goes after it: the old MAC's FDB entry when the VtepMAC changed or the peer turned
 * direct (a VXLAN peer turned direct loses its neighbour; a direct one turned VXLAN has its
 * route replaced). Without the old state, an old MAC's FDB entry stays until a sync. Other
 * dels go first. Keeps going past a failed peer and records the first failure in err.
 * Returns the number of peers changed (adds and unpaired dels), or that first error. */
int overlay_peers_apply(struct nl *nl, const struct overlay_where *w,
			const struct overlay_peer *add, size_t nadd, const struct overlay_peer *del,
			size_t ndel, struct err *err);

/* The peers found in the kernel: on w->dev, neighbours that are permanent with a lladdr,
 * FDB entries with a dst, routes via the device; on w->underlay, routes of protocol
 * OVERLAY_RTPROT in w->family. A peer whose three entries are not all there is still
 * returned (complete = false) so that sync repairs it. *ret (free()) and *ret_n. Returns 0
 * or -errno. */
struct overlay_kpeer {
	struct overlay_peer p;
	bool complete;
};
int overlay_peers_read(struct nl *nl, const struct overlay_where *w, struct overlay_kpeer **ret,
		       size_t *ret_n, struct err *err);

/* Makes the kernel hold exactly want[0..n) for w: adds missing or wrong peers, removes
 * peers (and stray entries on the device, or OVERLAY_RTPROT routes) nobody wants, leaves
 * correct peers untouched (no packet of a live peer is disturbed), note() called once per
 * change. Returns the number of changes or -errno (err: the first failure). */
int overlay_peers_sync(struct nl *nl, const struct overlay_where *w,
		       const struct overlay_peer *want, size_t n, overlay_note_fn note, void *data,
		       struct err *err);

/* True when ip lies in a prefix of a global address of the underlay (flannel's
 * ip.DirectRouting: the peer shares our L2 segment). Returns 1, 0 or -errno. */
int overlay_same_segment(struct nl *nl, int underlay, const struct ip_addr *ip);

#endif
