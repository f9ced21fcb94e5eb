/* SPDX-License-Identifier: Apache-2.0 */
/* nftables over libnftnl + libmnl: one NETLINK_NETFILTER socket per call, atomic batches of
 * tables, chains, sets and maps, elements with comments and rules, dumps and read-back. */
#ifndef NFT_H
#define NFT_H

#include <stddef.h>
#include <stdint.h>

struct mnl_socket;
struct nlmsghdr;
struct nftnl_rule;

#define NFT_DATA_MAX 64 /* NFT_DATA_VALUE_MAXLEN: one key or data value */
#define NFT_COMMENT_MAX 128 /* NFTNL_UDATA_COMMENT_MAXLEN, what `nft` accepts */
#define NFT_CONCAT_MAX 8 /* fields of one concatenation */
#define NFT_RULE_EXPR_MAX 32 /* expressions of one rule */

/* What batches changed: elements added and removed, other objects (tables, chains, sets,
 * rules) added or removed, batches committed. */
struct nft_stats {
	unsigned int batches, elems_added, elems_removed, objects;
};

/* One nftables socket and the batch being built. buf keeps the last batch after a commit
 * (unit tests parse it back, errors are mapped to its messages). */
struct nft {
	struct mnl_socket *sk;
	unsigned int portid;
	uint32_t seq, begin_seq;
	char errmsg[256];
	char *buf; /* the batch: BATCH_BEGIN, messages, BATCH_END */
	size_t len, cap; /* bytes used / allocated in buf */
	size_t last; /* offset of the last object message, 0 when none */
	int err; /* first failure while building; the commit returns it */
	char *rbuf; /* requests outside batches, and replies */
	unsigned int sndbuf; /* the socket send buffer, grown for large batches */
	struct nft_stats pending; /* the batch being built */
	struct nft_stats done; /* the batches committed since nft_stats_take() */
};

/* Opens a NETLINK_NETFILTER socket in the current netns (netns_fd < 0) or in netns_fd's,
 * with NETLINK_EXT_ACK. Returns 0 or -errno. Release with nft_close(). */
int nft_open(struct nft *nft, int netns_fd);

/* A handle without a socket: batches are built and kept in nft->buf but never sent;
 * nft_batch_commit() returns 0 and queries return -ENOTCONN. Returns 0 or -ENOMEM. */
int nft_open_dry(struct nft *nft);

/* Closes the socket and frees the buffers; a zeroed or closed nft is a no-op. After a
 * delete this can wait for the kernel's deferred cleanup, so callers close it last. */
void nft_close(struct nft *nft);

/* The failure text of the last failed call: "<operation>: <kernel extack or strerror>
 * (<offending attribute>)". "" after a success. Owned by nft. */
const char *nft_errmsg(const struct nft *nft);

/* --- Batches ------------------------------------------------------------------------- */

/* What the batches committed since the last call changed (for the caller's log); resets it.
 * Deletions of absent elements with NFT_F_DESTROY count as removed. */
struct nft_stats nft_stats_take(struct nft *nft);

/* Starts an empty batch (drops the previous one). Never fails. */
void nft_batch_begin(struct nft *nft);

/* Sends the batch, which the kernel applies all-or-nothing, and reads every answer.
 * Returns 0, the first build error, or the kernel's first error (-errno; nft_errmsg()
 * names the message that failed). An empty batch is not sent. */
int nft_batch_commit(struct nft *nft);

/* Low level, for objects without a helper: appends a message header to the batch with
 * at least room bytes for its payload. Returns NULL on failure (recorded for the commit).
 * Close it with nft_batch_msg_end() after the payload is in. */
struct nlmsghdr *nft_batch_msg(struct nft *nft, uint16_t type, uint16_t family, uint16_t flags,
			       size_t room);
void nft_batch_msg_end(struct nft *nft, struct nlmsghdr *nlh);

/* Records err (< 0) as the batch's build failure unless one is recorded; returns err. */
int nft_batch_fail(struct nft *nft, int err, const char *what);

/* Low level: writes comment as nft stores comments in userdata (one NUL-terminated TLV of
 * type, e.g. NFTNL_UDATA_RULE_COMMENT) into out. Returns its length or -EINVAL/-E2BIG. */
int nft_comment_tlv(uint8_t type, const char *comment, uint8_t *out, size_t size);

/* Low level: copies the comment TLV of type found in userdata into out ("" if none). */
void nft_comment_parse(uint8_t type, const void *udata, size_t len, char *out, size_t size);

/* Low level: a request outside any batch (GET*), built in nft->rbuf. */
struct nlmsghdr *nft_req(struct nft *nft, uint16_t type, uint16_t family, uint16_t flags);

/* Sends req and reads until its ack, or its NLMSG_DONE with NLM_F_DUMP. cb (may be NULL)
 * sees each reply and returns >= 0 to go on or -errno to fail. Returns 0, -EINTR when a
 * dump was interrupted by a ruleset change (retry), or -errno. */
int nft_query(struct nft *nft, struct nlmsghdr *req,
	      int (*cb)(const struct nlmsghdr *nlh, void *data), void *data);

/* --- Objects: each appends one message to the batch, returns 0 or -errno --------------- */

enum {
	NFT_F_EXCL = 1U << 0, /* add: fail with -EEXIST when present */
	NFT_F_DESTROY = 1U << 1, /* delete: succeed when absent (kernel >= 6.3) */
	NFT_F_INSERT = 1U << 2, /* rule: prepend instead of append */
};

/* family: NFPROTO_INET, _IPV4, _IPV6, _BRIDGE, _NETDEV, _ARP. */
int nft_table_add(struct nft *nft, int family, const char *table, unsigned int flags);
int nft_table_del(struct nft *nft, int family, const char *table, unsigned int flags);

enum {
	NFT_CHAIN_HAS_POLICY = 1U << 0,
};

/* A base chain when type is set ("filter", "nat", "route"), else a regular chain. */
struct nft_chain_def {
	const char *name;
	const char *type;
	uint32_t hook; /* NF_INET_PRE_ROUTING ... */
	int32_t prio; /* NF_IP_PRI_NAT_SRC (srcnat) ... */
	unsigned int flags;
	uint32_t policy; /* NF_ACCEPT or NF_DROP, with NFT_CHAIN_HAS_POLICY */
	const char *comment;
};

int nft_chain_add(struct nft *nft, int family, const char *table, const struct nft_chain_def *c,
		  unsigned int flags);
/* Deletes a chain and its rules (NFT_F_DESTROY: succeeds when it is absent); fails with
 * -EBUSY at the commit while a rule or map element elsewhere still jumps to it. */
int nft_chain_del(struct nft *nft, int family, const char *table, const char *chain,
		  unsigned int flags);
/* Deletes every rule of chain (`nft flush chain`). */
int nft_chain_flush(struct nft *nft, int family, const char *table, const char *chain);

/* Key and data types, numbered as nft numbers them so `nft list` prints their names. */
enum nft_type {
	NFT_TYPE_VERDICT = 1,
	NFT_TYPE_IPV4 = 7,
	NFT_TYPE_IPV6 = 8,
	NFT_TYPE_ETHER = 9,
	NFT_TYPE_INET_PROTO = 12,
	NFT_TYPE_INET_SERVICE = 13,
	NFT_TYPE_MARK = 19,
	NFT_TYPE_IFNAME = 41,
};

/* The value size of a type (0 for a verdict, -1 unknown). */
int nft_type_len(enum nft_type t);

/* A set (data[0] == 0) or map. key/data list the fields of a concatenation, ended by 0;
 * data = { NFT_TYPE_VERDICT } makes a verdict map. NFT_SET_MAP and NFT_SET_CONCAT are
 * added as needed; the caller may pass NFT_SET_INTERVAL, NFT_SET_CONSTANT, NFT_SET_TIMEOUT. */
struct nft_set_def {
	const char *name;
	enum nft_type key[NFT_CONCAT_MAX + 1];
	enum nft_type data[NFT_CONCAT_MAX + 1];
	uint32_t flags;
	uint64_t timeout_ms; /* default element timeout, with NFT_SET_TIMEOUT */
	const char *comment;
};

int nft_set_add(struct nft *nft, int family, const char *table, const struct nft_set_def *s,
		unsigned int flags);
/* Deletes a set (NFT_F_DESTROY: succeeds when it is absent); -EBUSY at the commit while a
 * rule still uses it. */
int nft_set_del(struct nft *nft, int family, const char *table, const char *set,
		unsigned int flags);
/* Deletes every element of set (`nft flush set`). */
int nft_set_flush(struct nft *nft, int family, const char *table, const char *set);

/* A key or data value. Concatenated fields each start on a 32-bit boundary, the layout of
 * the kernel's registers and of concatenated set keys. */
struct nft_data {
	uint32_t len;
	uint8_t v[NFT_DATA_MAX];
};

/* Sets d to one value of n bytes (a single-field key or data). */
void nft_data_set(struct nft_data *d, const void *p, size_t n);
/* Appends one field of a concatenation, zero-padded to 4 bytes. Overflow makes d invalid
 * (rejected with -EINVAL when used). */
void nft_data_field(struct nft_data *d, const void *p, size_t n);

enum {
	NFT_ELEM_HAS_KEY_END = 1U << 0, /* interval [key, key_end] of a concatenated set */
	NFT_ELEM_HAS_DATA = 1U << 1, /* map value */
	NFT_ELEM_HAS_VERDICT = 1U << 2, /* verdict map value: verdict (+ chain) */
	NFT_ELEM_HAS_TIMEOUT = 1U << 3,
	NFT_ELEM_INTERVAL_END = 1U << 4, /* ends an interval of a plain interval set */
};

struct nft_elem {
	unsigned int flags;
	struct nft_data key, key_end, data;
	int32_t verdict; /* NF_ACCEPT, NF_DROP, NFT_RETURN, NFT_JUMP, NFT_GOTO */
	const char *chain; /* for NFT_JUMP / NFT_GOTO */
	uint64_t timeout_ms;
	const char *comment; /* stored as nft stores comments; NULL for none */
};

/* Adds / deletes n elements of one set, in messages of as many elements as fit in an
 * attribute (at most 64 KiB; up to 4,096 small ones). NFT_F_DESTROY deletes ignore absent elements. n == 0 adds nothing. */
int nft_elems_add(struct nft *nft, int family, const char *table, const char *set,
		  const struct nft_elem *e, size_t n, unsigned int flags);
int nft_elems_del(struct nft *nft, int family, const char *table, const char *set,
		  const struct nft_elem *e, size_t n, unsigned int flags);

/* --- Rules --------------------------------------------------------------------------- */

/* Builds one rule. Expression helpers never fail: the first error sticks in b->err and is
 * returned by nft_rule_add(). Registers: NFT_REG32_00..15, or NFT_REG_VERDICT. */
struct nft_rule_b {
	struct nftnl_rule *r;
	int err;
	unsigned int nexpr;
};

/* The register after a value of len bytes stored from reg (NFT_REG32_* numbering). */
#define NR_REG_NEXT(reg, len) ((reg) + ((len) + 3) / 4)

int nft_rule_begin(struct nft_rule_b *b, int family, const char *table, const char *chain);
/* Appends the rule to the batch (NFT_F_INSERT prepends) and frees b's contents, always. */
int nft_rule_add(struct nft *nft, struct nft_rule_b *b, unsigned int flags);
/* Frees b's contents without adding the rule; a no-op after nft_rule_add(). */
void nft_rule_b_done(struct nft_rule_b *b);

void nr_payload(struct nft_rule_b *b, uint32_t base, uint32_t off, uint32_t len, uint32_t dreg);
void nr_payload_ip_daddr(struct nft_rule_b *b, uint32_t dreg);
void nr_payload_ip6_saddr(struct nft_rule_b *b, uint32_t dreg); /* 16 bytes */
void nr_payload_ip6_daddr(struct nft_rule_b *b, uint32_t dreg);
void nr_payload_th_dport(struct nft_rule_b *b, uint32_t dreg);
void nr_meta(struct nft_rule_b *b, uint32_t key, uint32_t dreg); /* NFT_META_* */
void nr_cmp(struct nft_rule_b *b, uint32_t op, uint32_t sreg, const void *data, uint32_t len);
/* meta nfproto == nfproto, in NFT_REG32_00 */
void nr_match_nfproto(struct nft_rule_b *b, uint8_t nfproto);
void nr_bitwise(struct nft_rule_b *b, uint32_t sreg, uint32_t dreg, const void *mask,
		const void * xor, uint32_t len);
/* Set membership; NFT_LOOKUP_F_INV in flags negates it. */
void nr_lookup(struct nft_rule_b *b, uint32_t sreg, const char *set, uint32_t flags);
/* Map lookup into dreg; NFT_REG_VERDICT for a verdict map. */
void nr_lookup_map(struct nft_rule_b *b, uint32_t sreg, const char *set, uint32_t dreg);
void nr_ct(struct nft_rule_b *b, uint32_t key, uint32_t dreg); /* NFT_CT_* */
/* ct state & mask != 0 (NF_CT_STATE_BIT(IP_CT_ESTABLISHED) ...), in NFT_REG32_00 */
void nr_ct_state(struct nft_rule_b *b, uint32_t mask);
/* fib daddr type (RTN_LOCAL ...) into dreg, 4 bytes */
void nr_fib_daddr_type(struct nft_rule_b *b, uint32_t dreg);
void nr_counter(struct nft_rule_b *b);
/* NF_ACCEPT, NF_DROP, NFT_RETURN, NFT_CONTINUE, or NFT_JUMP / NFT_GOTO with chain. */
void nr_verdict(struct nft_rule_b *b, int32_t verdict, const char *chain);
void nr_masq(struct nft_rule_b *b, uint32_t flags); /* NF_NAT_RANGE_* flags, or 0 */
/* type NFT_NAT_SNAT / NFT_NAT_DNAT, family NFPROTO_IPV4/6; registers 0 when absent. */
void nr_nat(struct nft_rule_b *b, uint32_t type, uint32_t family, uint32_t reg_addr,
	    uint32_t reg_proto);
/* A comment `nft list` shows, at most NFT_COMMENT_MAX bytes. */
void nr_comment(struct nft_rule_b *b, const char *comment);
/* limit rate <rate>/second burst <burst> packets */
void nr_limit(struct nft_rule_b *b, uint64_t rate, uint32_t burst);
/* log group <group> prefix "<prefix>" (NFLOG; prefix NULL or "": none) */
void nr_log(struct nft_rule_b *b, uint16_t group, const char *prefix);

/* --- Read-back ----------------------------------------------------------------------- */

/* Returns 1 when the table exists, 0 when it does not, or -errno. */
int nft_table_exists(struct nft *nft, int family, const char *table);

/* Calls cb with the name of each chain of table. Returns 0, a failing cb's value, or
 * -errno (-ENOENT: no such table). */
int nft_chain_list(struct nft *nft, int family, const char *table,
		   int (*cb)(const char *chain, void *data), void *data);

struct nft_chain_info {
	const char *name;
	const char *type; /* NULL: a regular chain */
	uint32_t hook;
	int32_t prio;
	const char *comment; /* NULL for none */
};

/* nft_chain_list() with each chain's details (strings live during the call), in the
 * kernel's order (the order of creation). */
int nft_chain_dump(struct nft *nft, int family, const char *table,
		   int (*cb)(const struct nft_chain_info *c, void *data), void *data);

/* One chain's details: cb is called once. Returns 0, -ENOENT (no such table or chain), a
 * failing cb's value or -errno. */
int nft_chain_get(struct nft *nft, int family, const char *table, const char *chain,
		  int (*cb)(const struct nft_chain_info *c, void *data), void *data);

struct nft_set_info {
	const char *name;
	uint32_t key_type, key_len; /* key_type: nft's type numbers, 6 bits per field */
	uint32_t flags; /* NFT_SET_* */
	uint32_t data_type; /* maps: NFT_DATA_VERDICT or nft's type; 0 for a plain set */
};

/* Returns 1 when set exists in table, 0 when it (or the table) does not, or -errno. */
int nft_set_exists(struct nft *nft, int family, const char *table, const char *set);

/* Calls cb for each set and map of table. Returns 0, a failing cb's value, or -errno
 * (-ENOENT: no such table; -EINTR: interrupted by a change, retry). */
int nft_set_list(struct nft *nft, int family, const char *table,
		 int (*cb)(const struct nft_set_info *s, void *data), void *data);

struct nft_rule_info {
	const char *chain;
	uint64_t handle;
	unsigned int nexpr;
	const char *comment; /* NULL for none */
	uint64_t packets, bytes; /* the rule's counter expressions, summed (0 without) */
	int32_t verdict; /* its immediate verdict (NFT_JUMP ...), or NFT_CONTINUE if none */
	const char *target; /* the chain of a jump or goto, else NULL */
};

/* Calls cb for each rule of chain in order (strings live during the call); chain NULL: of
 * every chain of table, chain by chain in the kernel's order. Returns 0, a failing cb's
 * value, or -errno (-ENOENT: no such table or chain). */
int nft_rule_list(struct nft *nft, int family, const char *table, const char *chain,
		  int (*cb)(const struct nft_rule_info *r, void *data), void *data);

/* The number of rules of chain, or -errno (-ENOENT: no such table or chain). */
int nft_rule_count(struct nft *nft, int family, const char *table, const char *chain);

/* Calls cb for each element of set with key, key_end, data or verdict and comment filled
 * in (pointers live during the call). Returns 0, a failing cb's value, or -errno
 * (-ENOENT: no such table or set; -EINTR: interrupted by a change, retry). */
int nft_set_elems_dump(struct nft *nft, int family, const char *table, const char *set,
		       int (*cb)(const struct nft_elem *e, void *data), void *data);

/* Looks up the element of set with e's key (and key_end, NFT_ELEM_HAS_KEY_END) and calls cb
 * with it as the kernel holds it. Returns 0, -ENOENT (no such element, set or table), a
 * failing cb's value or -errno. */
int nft_set_elem_get(struct nft *nft, int family, const char *table, const char *set,
		     const struct nft_elem *e, int (*cb)(const struct nft_elem *e, void *data),
		     void *data);

#endif
