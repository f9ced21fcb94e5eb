/* SPDX-License-Identifier: Apache-2.0 */
/* Bandwidth shaping of one attachment, as upstream bandwidth does it: a tbf on the host veth
 * (traffic into the pod) and a tbf on an IFB of ours fed by the veth's ingress qdisc and a
 * u32 + mirred redirect (traffic out of the pod). The tbf math, the IFB's derived name and
 * owner alias, and the kernel steps with their undo. */
#ifndef SHAPING_H
#define SHAPING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nl;
struct nl_link;
struct nl_qdisc;

#define SHAPING_LATENCY_MS 25 /* upstream's fixed tbf latency: sluice's default */
#define SHAPING_LATENCY_MS_MAX 10000
#define SHAPING_RATE_MIN 8 /* bit/s: one byte per second */
/* bits: burst/8 is the bucket in bytes, which the kernel refuses when 0 (EINVAL) */
#define SHAPING_BURST_MIN 8
#define SHAPING_BURST_MAX (8ULL * UINT32_MAX - 1) /* bits: burst/8 must stay below 2^32-1 */
#define SHAPING_TBF_HANDLE 0x00010000U /* "1:", upstream's */
#define SHAPING_INGRESS_HANDLE 0xffff0000U /* "ffff:" */
#define SHAPING_IFB_PREFIX "sbw"

/* One tbf in the kernel's units. */
struct shaping_tbf {
	uint64_t rate; /* bytes per second */
	uint32_t burst; /* bucket, bytes */
	uint32_t limit; /* queue, bytes: rate * latency + burst, saturated at 2^32-1 */
};

/* Why shaping_tbf_params() refused a rate or burst. */
enum shaping_err {
	SHAPING_OK = 0,
	SHAPING_ERR_RATE_ONLY, /* a rate without a burst */
	SHAPING_ERR_BURST_ONLY, /* a burst without a rate */
	SHAPING_ERR_RATE_MIN, /* below SHAPING_RATE_MIN */
	SHAPING_ERR_BURST_MAX, /* above SHAPING_BURST_MAX */
	SHAPING_ERR_BURST_MIN, /* below SHAPING_BURST_MIN */
};

/* Converts a rate in bit/s and a burst in bits (both 0: no shaping, *ret zeroed) with a
 * latency in ms into tbf parameters: rate/8 bytes/s, burst/8 bytes, limit = rate/8 *
 * latency + burst/8 (upstream's math). Returns SHAPING_OK or why the pair is refused. */
enum shaping_err shaping_tbf_params(uint64_t rate_bits, uint64_t burst_bits,
				    unsigned int latency_ms, struct shaping_tbf *ret);

/* The tbf buffer in psched ticks as the kernel reports it for t: the time to send the burst
 * at the rate, in the kernel's 32-bit field (which wraps for very long buckets). */
uint32_t shaping_buffer_ticks(double tick_in_usec, const struct shaping_tbf *t);

/* True when the dumped qdisc q is a tbf carrying t: rate and limit exact, the buffer within
 * the kernel's tick rounding. */
bool shaping_tbf_matches(const struct nl_qdisc *q, const struct shaping_tbf *t,
			 double tick_in_usec);

/* The IFB of an attachment: "sbw" + digest of (container ID, ifname). out holds 16 bytes.
 * Returns out. */
char *shaping_ifb_name(char out[16], const char *containerid, const char *ifname);

/* Reads the qdisc attached at parent (TC_H_ROOT or TC_H_INGRESS) of ifindex. Returns 0,
 * -ENOENT when there is none (or only the kernel's default), or -errno. */
int shaping_qdisc_at(struct nl *nl, int ifindex, uint32_t parent, struct nl_qdisc *ret_qdisc);

/* Creates the IFB, down (a qdisc added to a down device costs no RCU grace period), with
 * the given MTU, and reads it back into *ret_link (from the kernel's echo where it sends
 * one). Returns 0, -EEXIST when a link of that name exists (left untouched), or -errno with
 * nothing left behind. */
int shaping_ifb_create(struct nl *nl, const char *name, unsigned int mtu, struct nl_link *ret_link);

/* Sets the IFB's alias, turns off its IPv6 link-local address (nothing uses it), and
 * brings it up. Returns 0 or -errno. */
int shaping_ifb_up(struct nl *nl, int ifindex, const char *alias);

/* True when ifindex's ingress qdisc holds a u32 filter redirecting (mirred egress redirect)
 * to target. Returns 1, 0, or -errno. */
int shaping_redirects_to(struct nl *nl, int ifindex, int target);

#endif
