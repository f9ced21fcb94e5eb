/* SPDX-License-Identifier: Apache-2.0 */
/* rtnetlink transport over libmnl: one socket per netns, requests with acks and kernel
 * extack messages, dumps, and attribute parsing against a policy table. */
#ifndef NL_H
#define NL_H

#include <stddef.h>
#include <stdint.h>
#include <libmnl/libmnl.h>

struct nl_batch;

/* One rtnetlink socket, bound to the netns it was opened in. buf holds the request being
 * built and then the replies; callbacks must not reuse the same struct nl. batch, while
 * set (nl_batch_begin()), collects acked requests instead of sending them. */
struct nl {
	struct mnl_socket *sk;
	unsigned int portid, seq;
	char errmsg[256];
	char *buf;
	struct nl_batch *batch;
};

/* Opens a NETLINK_ROUTE socket in the current netns (netns_fd < 0) or in netns_fd's (the
 * thread enters it just for socket(), then leaves). Returns 0 or -errno. */
int nl_open(struct nl *nl, int netns_fd);

/* Opens and binds a netlink socket of bus (NETLINK_ROUTE, NETLINK_NETFILTER...) in the
 * current netns (netns_fd < 0) or in netns_fd's, with extended acks. Returns 0 or -errno. */
int nl_socket_open(int bus, int netns_fd, struct mnl_socket **ret_sk);

/* Sets up a handle without a socket: requests are built in nl->buf and not sent, so unit
 * tests can parse them back. nl_talk()/nl_dump() return 0. Returns 0 or -ENOMEM. */
int nl_open_dry(struct nl *nl);

/* Closes the socket and frees the buffer; a zeroed or closed nl is a no-op. */
void nl_close(struct nl *nl);

/* Starts a request of the given type in nl->buf with NLM_F_REQUEST | flags and the next
 * sequence number. Never fails. */
struct nlmsghdr *nl_msg(struct nl *nl, uint16_t type, uint16_t flags);

/* Sends nlh (built by nl_msg()) with NLM_F_ACK and reads until the ack. In a batch
 * (nl_batch_begin()) it queues nlh instead and returns 0 (cb must be NULL: a batch reads
 * only acks) or -ENOMEM. cb (may be NULL)
 * sees each reply and returns >= 0 to go on or -errno to fail the call. Returns 0 or
 * -errno (the kernel's error: see nl_errmsg()). */
int nl_talk(struct nl *nl, struct nlmsghdr *nlh, int (*cb)(const struct nlmsghdr *nlh, void *data),
	    void *data);

/* Sends nlh with NLM_F_DUMP and calls cb for each message until NLMSG_DONE. Returns 0,
 * -EINTR when the kernel flagged the dump inconsistent (NLM_F_DUMP_INTR; the caller may
 * retry), or -errno. */
int nl_dump(struct nl *nl, struct nlmsghdr *nlh, int (*cb)(const struct nlmsghdr *nlh, void *data),
	    void *data);

/* Batches: many acked requests sent back to back in as few sendmsg() calls as the socket's
 * buffers allow (they are grown for it), their acks read afterwards and matched by
 * sequence number. The kernel handles one socket's requests in the order sent and goes on
 * past a failed one, so each request gets its own result. Only the last request of each
 * sendmsg() asks for an ack (NLM_F_ACK): the kernel answers a failed request whatever its
 * flags, so the ones before that ack that are not answered succeeded (an ack each cost the
 * kernel an skb and us its read: a fifth of a 1,000-peer batch's time). Between nl_batch_begin() and
 * nl_batch_flush()/nl_batch_abort(), every nl_talk() (so every builder of nl_route.h,
 * nl_link.h...) queues its request; dumps still go out at once. */

/* Starts queuing. Returns 0, -EBUSY (a batch is open) or -ENOMEM. */
int nl_batch_begin(struct nl *nl);

/* The number of requests queued so far: the index the next one will have. */
size_t nl_batch_count(const struct nl *nl);

/* The queued requests, back to back (unit tests parse them on a dry handle, where they
 * stay readable after nl_batch_flush() until the next nl_batch_begin() or nl_close()). */
const void *nl_batch_data(const struct nl *nl, size_t *ret_len);

/* Sends every queued request, reads all acks, and ends the batch. errs (may be NULL;
 * nerrs entries) gets each request's result in queue order: 0 or -errno. nl_errmsg() is
 * the message of the first failed request. On a dry handle every result is 0. Returns the
 * number of failed requests, or -errno when the transport itself failed (requests without
 * an ack then carry that error). */
int nl_batch_flush(struct nl *nl, int *errs, size_t nerrs);

/* Drops the queued requests and ends the batch; no batch open is a no-op. */
void nl_batch_abort(struct nl *nl);

/* The kernel's extended ack text of the last failed request, or strerror() of its error
 * when the kernel sent none; "" after a success. Owned by nl. */
const char *nl_errmsg(const struct nl *nl);

/* Records msg (NULL: strerror(-err)) as the text nl_errmsg() returns, and returns err: for
 * failures found before anything is sent, so that every failed call has a message. */
int nl_fail(struct nl *nl, int err, const char *msg);

/* Fills tb[0..max] (zeroed first) with the attributes of nlh after offset bytes of family
 * header, checking each against policy[type] (MNL_TYPE_UNSPEC accepts any). Types above max
 * are skipped. Returns 0 or -EINVAL. */
int nl_parse(const struct nlmsghdr *nlh, size_t offset, const enum mnl_attr_data_type *policy,
	     unsigned int max, const struct nlattr **tb);

/* The same for the attributes nested in nest. */
int nl_parse_nested(const struct nlattr *nest, const enum mnl_attr_data_type *policy,
		    unsigned int max, const struct nlattr **tb);

#endif
