// SPDX-License-Identifier: Apache-2.0
/* nftables objects as batch messages: tables, chains, sets and maps, set elements with
 * comments. One function per message; each builds a libnftnl object and serialises it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "nft/nft.h"

/* Kernel >= 6.3: deletes that succeed when the object is absent. The installed uapi
 * headers may predate them. */
enum {
	MSG_DESTROYTABLE = 26,
	MSG_DESTROYCHAIN = 27,
	MSG_DESTROYSET = 29,
	MSG_DESTROYSETELEM = 30,
};

#define NAME_ROOM 520 /* table and object names, NUL and attribute headers */
#define UDATA_ROOM 300 /* NFT_USERDATA_MAXLEN and its attribute */
#define ELEMS_MAX (1 << 20) /* elements in one call */
#define ELEMS_PER_MSG 4096
#define LIST_ROOM 60000 /* an element list's nest, below its 64 KiB (a 16-bit length) */

static const struct {
	enum nft_type type;
	int len;
} types[] = {
	{NFT_TYPE_VERDICT, 0}, {NFT_TYPE_IPV4, 4},	 {NFT_TYPE_IPV6, 16},
	{NFT_TYPE_ETHER, 6},   {NFT_TYPE_INET_PROTO, 1}, {NFT_TYPE_INET_SERVICE, 2},
	{NFT_TYPE_MARK, 4},    {NFT_TYPE_IFNAME, 16},
};

int nft_type_len(enum nft_type t)
{
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].type == t)
			return types[i].len;
	return -1;
}

static int name_ok(const char *s)
{
	return s && *s && strnlen(s, NFT_NAME_MAXLEN) < NFT_NAME_MAXLEN;
}

int nft_comment_tlv(uint8_t type, const char *comment, uint8_t *out, size_t size)
{
	size_t n = comment ? strnlen(comment, NFT_COMMENT_MAX + 1) : 0;

	if (!n)
		return -EINVAL;
	if (n > NFT_COMMENT_MAX || n + 3 > size)
		return -E2BIG;
	/* nft's layout: type, length, then the string with its NUL (nftnl_udata_put_strz). */
	out[0] = type;
	out[1] = (uint8_t)(n + 1);
	memcpy(out + 2, comment, n + 1);
	return (int)n + 3;
}

struct comment_find {
	uint8_t type;
	char *out;
	size_t size;
};

static int comment_cb(const struct nftnl_udata *attr, void *data)
{
	struct comment_find *f = data;
	const char *v = nftnl_udata_get(attr);
	uint8_t len = nftnl_udata_len(attr);

	if (nftnl_udata_type(attr) != f->type || !len || v[len - 1] != '\0')
		return 0;
	snprintf(f->out, f->size, "%s", v);
	return 0;
}

void nft_comment_parse(uint8_t type, const void *udata, size_t len, char *out, size_t size)
{
	struct comment_find f = {type, out, size};

	out[0] = '\0';
	if (udata && len)
		(void)nftnl_udata_parse(udata, (uint32_t)len, comment_cb, &f);
}

/* Appends the message holding the payload that build() serialises from obj. */
static int put_msg(struct nft *nft, uint16_t type, int family, uint16_t nlflags, size_t room,
		   void (*build)(struct nlmsghdr *, void *), void *obj)
{
	struct nlmsghdr *nlh;

	nlh = nft_batch_msg(nft, type, (uint16_t)family, nlflags, room);
	if (!nlh)
		return nft->err;
	build(nlh, obj);
	nft_batch_msg_end(nft, nlh);
	return 0;
}

static void build_table(struct nlmsghdr *nlh, void *t)
{
	nftnl_table_nlmsg_build_payload(nlh, t);
}

static void build_chain(struct nlmsghdr *nlh, void *c)
{
	nftnl_chain_nlmsg_build_payload(nlh, c);
}

static void build_set(struct nlmsghdr *nlh, void *s)
{
	nftnl_set_nlmsg_build_payload(nlh, s);
}

static void build_elems(struct nlmsghdr *nlh, void *s)
{
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
}

static uint16_t add_flags(unsigned int flags)
{
	return NLM_F_CREATE | (flags & NFT_F_EXCL ? NLM_F_EXCL : 0);
}

/* --- Tables and chains ---------------------------------------------------------------- */

static int table_msg(struct nft *nft, uint16_t type, int family, const char *table,
		     uint16_t nlflags, const char *what)
{
	struct nftnl_table *t;
	int r;

	if (!name_ok(table))
		return nft_batch_fail(nft, -EINVAL, what);
	t = nftnl_table_alloc();
	if (!t)
		return nft_batch_fail(nft, -ENOMEM, what);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, table);
	r = put_msg(nft, type, family, nlflags, NAME_ROOM, build_table, t);
	nftnl_table_free(t);
	return r;
}

int nft_table_add(struct nft *nft, int family, const char *table, unsigned int flags)
{
	return table_msg(nft, NFT_MSG_NEWTABLE, family, table, add_flags(flags), "add table");
}

int nft_table_del(struct nft *nft, int family, const char *table, unsigned int flags)
{
	return table_msg(nft, flags & NFT_F_DESTROY ? MSG_DESTROYTABLE : NFT_MSG_DELTABLE, family,
			 table, 0, "delete table");
}

static struct nftnl_chain *chain_obj(const char *table, const char *name)
{
	struct nftnl_chain *c = nftnl_chain_alloc();

	if (!c)
		return NULL;
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	return c;
}

int nft_chain_add(struct nft *nft, int family, const char *table, const struct nft_chain_def *d,
		  unsigned int flags)
{
	uint8_t ud[NFT_COMMENT_MAX + 3];
	struct nftnl_chain *c;
	int r, n;

	if (!name_ok(table) || !name_ok(d->name) || (d->type && !name_ok(d->type)))
		return nft_batch_fail(nft, -EINVAL, "add chain");
	c = chain_obj(table, d->name);
	if (!c)
		return nft_batch_fail(nft, -ENOMEM, "add chain");
	if (d->type) {
		nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, d->type);
		nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, d->hook);
		nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, d->prio);
	}
	if (d->flags & NFT_CHAIN_HAS_POLICY)
		nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, d->policy);
	if (d->comment) {
		n = nft_comment_tlv(NFTNL_UDATA_CHAIN_COMMENT, d->comment, ud, sizeof(ud));
		if (n < 0) {
			nftnl_chain_free(c);
			return nft_batch_fail(nft, n, "add chain: comment");
		}
		nftnl_chain_set_data(c, NFTNL_CHAIN_USERDATA, ud, (uint32_t)n);
	}
	r = put_msg(nft, NFT_MSG_NEWCHAIN, family, add_flags(flags), NAME_ROOM * 2 + UDATA_ROOM,
		    build_chain, c);
	nftnl_chain_free(c);
	return r;
}

int nft_chain_del(struct nft *nft, int family, const char *table, const char *chain,
		  unsigned int flags)
{
	struct nftnl_chain *c;
	int r;

	if (!name_ok(table) || !name_ok(chain))
		return nft_batch_fail(nft, -EINVAL, "delete chain");
	c = chain_obj(table, chain);
	if (!c)
		return nft_batch_fail(nft, -ENOMEM, "delete chain");
	r = put_msg(nft, flags & NFT_F_DESTROY ? MSG_DESTROYCHAIN : NFT_MSG_DELCHAIN, family, 0,
		    NAME_ROOM * 2, build_chain, c);
	nftnl_chain_free(c);
	return r;
}

static void build_rule(struct nlmsghdr *nlh, void *r)
{
	nftnl_rule_nlmsg_build_payload(nlh, r);
}

int nft_chain_flush(struct nft *nft, int family, const char *table, const char *chain)
{
	struct nftnl_rule *rule;
	int r;

	if (!name_ok(table) || !name_ok(chain))
		return nft_batch_fail(nft, -EINVAL, "flush chain");
	rule = nftnl_rule_alloc();
	if (!rule)
		return nft_batch_fail(nft, -ENOMEM, "flush chain");
	/* A rule delete naming no handle deletes every rule of the chain. */
	nftnl_rule_set_str(rule, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(rule, NFTNL_RULE_CHAIN, chain);
	r = put_msg(nft, NFT_MSG_DELRULE, family, 0, NAME_ROOM * 2, build_rule, rule);
	nftnl_rule_free(rule);
	return r;
}

/* --- Sets and maps -------------------------------------------------------------------- */

/* nft's type of a concatenation (6 bits per field, the first highest) and its length,
 * each field padded to 32 bits when there are several. Returns the field count or -EINVAL. */
static int concat_type(const enum nft_type *t, uint32_t *ret_type, uint32_t *ret_len,
		       uint8_t *field_len)
{
	uint32_t type = 0, len = 0;
	int i, l;

	for (i = 0; i < NFT_CONCAT_MAX && t[i]; i++) {
		l = nft_type_len(t[i]);
		if (l < 0 || (l == 0 && (i > 0 || t[1])))
			return -EINVAL;
		type = type << 6 | t[i];
		field_len[i] = (uint8_t)l;
		len += (uint32_t)(l + 3) / 4 * 4;
	}
	if (i == NFT_CONCAT_MAX && t[i])
		return -EINVAL;
	*ret_type = type;
	*ret_len = i == 1 ? (uint32_t)field_len[0] : len;
	return i;
}

static int set_types(struct nftnl_set *s, const struct nft_set_def *d)
{
	uint8_t field_len[NFT_CONCAT_MAX + 1] = {0}, dlen[NFT_CONCAT_MAX + 1];
	uint32_t type, len, flags = d->flags;
	int n;

	n = concat_type(d->key, &type, &len, field_len);
	if (n <= 0 || d->key[0] == NFT_TYPE_VERDICT)
		return -EINVAL;
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, type);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, len);
	if (n > 1) {
		/* Interval concatenations (pipapo) need each field's length. */
		nftnl_set_set_data(s, NFTNL_SET_DESC_CONCAT, field_len, (uint32_t)n);
		flags |= NFT_SET_CONCAT;
	}
	if (d->data[0]) {
		if (concat_type(d->data, &type, &len, dlen) <= 0)
			return -EINVAL;
		flags |= NFT_SET_MAP;
		if (d->data[0] == NFT_TYPE_VERDICT) {
			nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
		} else {
			nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, type);
			nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, len);
		}
	}
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, flags);
	return 0;
}

/* Byte orders `nft list` reads to print a key or data value of one host-order field (an
 * interface name, a mark); without them it prints names reversed. Returns the bytes written. */
static size_t set_byteorder(const struct nft_set_def *d, uint8_t *out)
{
	static const uint32_t host = 1; /* nft's BYTEORDER_HOST_ENDIAN */
	size_t n = 0;

	for (int i = 0; i < 2; i++) {
		const enum nft_type *t = i ? d->data : d->key;

		if ((t[0] != NFT_TYPE_IFNAME && t[0] != NFT_TYPE_MARK) || t[1])
			continue;
		out[n] = i ? NFTNL_UDATA_SET_DATABYTEORDER : NFTNL_UDATA_SET_KEYBYTEORDER;
		out[n + 1] = sizeof(host);
		memcpy(out + n + 2, &host, sizeof(host));
		n += 2 + sizeof(host);
	}
	return n;
}

int nft_set_add(struct nft *nft, int family, const char *table, const struct nft_set_def *d,
		unsigned int flags)
{
	uint8_t ud[2 * 6 + NFT_COMMENT_MAX + 3];
	struct nftnl_set *s;
	size_t n;
	int r;

	if (!name_ok(table) || !name_ok(d->name))
		return nft_batch_fail(nft, -EINVAL, "add set");
	s = nftnl_set_alloc();
	if (!s)
		return nft_batch_fail(nft, -ENOMEM, "add set");
	nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, d->name);
	/* The kernel requires an ID, unique in the transaction: the message's sequence number. */
	nftnl_set_set_u32(s, NFTNL_SET_ID, nft->seq + 1);
	r = set_types(s, d);
	if (r >= 0 && (d->flags & NFT_SET_TIMEOUT) && d->timeout_ms)
		nftnl_set_set_u64(s, NFTNL_SET_TIMEOUT, d->timeout_ms);
	n = set_byteorder(d, ud);
	if (r >= 0 && d->comment) {
		r = nft_comment_tlv(NFTNL_UDATA_SET_COMMENT, d->comment, ud + n, sizeof(ud) - n);
		n += r >= 0 ? (size_t)r : 0;
	}
	if (r >= 0 && n)
		nftnl_set_set_data(s, NFTNL_SET_USERDATA, ud, (uint32_t)n);
	if (r >= 0)
		r = put_msg(nft, NFT_MSG_NEWSET, family, add_flags(flags),
			    NAME_ROOM + UDATA_ROOM + 512, build_set, s);
	else
		r = nft_batch_fail(nft, r, "add set");
	nftnl_set_free(s);
	return r;
}

static int set_name_msg(struct nft *nft, uint16_t type, int family, const char *table,
			const char *set, uint16_t table_attr, uint16_t set_attr, const char *what)
{
	struct nlmsghdr *nlh;

	if (!name_ok(table) || !name_ok(set))
		return nft_batch_fail(nft, -EINVAL, what);
	nlh = nft_batch_msg(nft, type, (uint16_t)family, 0, NAME_ROOM * 2);
	if (!nlh)
		return nft->err;
	mnl_attr_put_strz(nlh, table_attr, table);
	mnl_attr_put_strz(nlh, set_attr, set);
	nft_batch_msg_end(nft, nlh);
	return 0;
}

int nft_set_del(struct nft *nft, int family, const char *table, const char *set, unsigned int flags)
{
	return set_name_msg(nft, flags & NFT_F_DESTROY ? MSG_DESTROYSET : NFT_MSG_DELSET, family,
			    table, set, NFTA_SET_TABLE, NFTA_SET_NAME, "delete set");
}

int nft_set_flush(struct nft *nft, int family, const char *table, const char *set)
{
	/* An element delete without an element list empties the set. */
	return set_name_msg(nft, NFT_MSG_DELSETELEM, family, table, set, NFTA_SET_ELEM_LIST_TABLE,
			    NFTA_SET_ELEM_LIST_SET, "flush set");
}

/* --- Elements ------------------------------------------------------------------------- */

void nft_data_set(struct nft_data *d, const void *p, size_t n)
{
	d->len = n <= NFT_DATA_MAX ? (uint32_t)n : NFT_DATA_MAX + 1;
	if (n <= NFT_DATA_MAX)
		memcpy(d->v, p, n);
}

void nft_data_field(struct nft_data *d, const void *p, size_t n)
{
	size_t padded = (n + 3) / 4 * 4;

	if (d->len > NFT_DATA_MAX || padded > NFT_DATA_MAX - d->len) {
		d->len = NFT_DATA_MAX + 1;
		return;
	}
	memcpy(d->v + d->len, p, n);
	memset(d->v + d->len + n, 0, padded - n);
	d->len += (uint32_t)padded;
}

static int data_ok(const struct nft_data *d)
{
	return d->len > 0 && d->len <= NFT_DATA_MAX;
}

static int elem_fill(struct nftnl_set_elem *el, const struct nft_elem *e)
{
	uint8_t ud[NFT_COMMENT_MAX + 3];
	int n;

	if (!data_ok(&e->key) || ((e->flags & NFT_ELEM_HAS_KEY_END) && !data_ok(&e->key_end)) ||
	    ((e->flags & NFT_ELEM_HAS_DATA) && !data_ok(&e->data)))
		return -EINVAL;
	nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY, e->key.v, e->key.len);
	if (e->flags & NFT_ELEM_HAS_KEY_END)
		nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY_END, e->key_end.v, e->key_end.len);
	if (e->flags & NFT_ELEM_HAS_DATA)
		nftnl_set_elem_set(el, NFTNL_SET_ELEM_DATA, e->data.v, e->data.len);
	if (e->flags & NFT_ELEM_HAS_VERDICT) {
		nftnl_set_elem_set_u32(el, NFTNL_SET_ELEM_VERDICT, (uint32_t)e->verdict);
		if (e->chain && !name_ok(e->chain))
			return -EINVAL;
		if (e->chain)
			nftnl_set_elem_set_str(el, NFTNL_SET_ELEM_CHAIN, e->chain);
	}
	if (e->flags & NFT_ELEM_HAS_TIMEOUT)
		nftnl_set_elem_set_u64(el, NFTNL_SET_ELEM_TIMEOUT, e->timeout_ms);
	if (e->flags & NFT_ELEM_INTERVAL_END)
		nftnl_set_elem_set_u32(el, NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
	if (e->comment) {
		n = nft_comment_tlv(NFTNL_UDATA_SET_ELEM_COMMENT, e->comment, ud, sizeof(ud));
		if (n < 0)
			return n;
		nftnl_set_elem_set(el, NFTNL_SET_ELEM_USERDATA, ud, (uint32_t)n);
	}
	return 0;
}

#define A4(n) (((size_t)(n) + 3) / 4 * 4)

/* An upper bound of the bytes element e takes in a message: each attribute libnftnl may
 * write, with its header and padding, and the list item's nest. Invalid parts are counted
 * at their largest (elem_fill() refuses them). */
static size_t data_room(const struct nft_data *d)
{
	return 8 + A4(d->len <= NFT_DATA_MAX ? d->len : NFT_DATA_MAX); /* nest, value */
}

static size_t elem_room(const struct nft_elem *e)
{
	size_t n = 4 + 8 + data_room(&e->key); /* item nest, flags, key */

	if (e->flags & NFT_ELEM_HAS_KEY_END)
		n += data_room(&e->key_end);
	if (e->flags & NFT_ELEM_HAS_DATA)
		n += data_room(&e->data);
	if (e->flags & NFT_ELEM_HAS_VERDICT) /* data nest, verdict nest, code, chain */
		n += 8 + 8 + 4 + A4(e->chain ? strnlen(e->chain, NFT_NAME_MAXLEN) + 1 : 0);
	if (e->flags & NFT_ELEM_HAS_TIMEOUT)
		n += 12;
	if (e->comment) /* userdata: the comment's TLV */
		n += 4 + A4(strnlen(e->comment, NFT_COMMENT_MAX + 1) + 3);
	return n;
}

/* One message for n elements (whose rooms add up to at most LIST_ROOM). */
static int elems_chunk(struct nft *nft, uint16_t type, int family, const char *table,
		       const char *set, const struct nft_elem *e, size_t n, size_t room,
		       uint16_t nlflags)
{
	struct nftnl_set_elem *el;
	struct nftnl_set *s;
	int r = 0;
	size_t i;

	s = nftnl_set_alloc();
	if (!s)
		return -ENOMEM;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, set);
	for (i = 0; i < n && r >= 0; i++) {
		el = nftnl_set_elem_alloc();
		if (!el) {
			r = -ENOMEM;
			break;
		}
		nftnl_set_elem_add(s, el);
		r = elem_fill(el, &e[i]);
	}
	if (r >= 0)
		r = put_msg(nft, type, family, nlflags, NAME_ROOM + room, build_elems, s);
	nftnl_set_free(s);
	return r;
}

static int elems_msg(struct nft *nft, uint16_t type, int family, const char *table, const char *set,
		     const struct nft_elem *e, size_t n, uint16_t nlflags)
{
	const char *what = type == NFT_MSG_NEWSETELEM ? "add elements" : "delete elements";
	size_t i, k, room, one;
	int r = 0;

	if (!name_ok(table) || !name_ok(set) || n > ELEMS_MAX)
		return nft_batch_fail(nft, -EINVAL, what);
	/* No message for no elements: an empty list would flush the set. As many elements per
	 * message as the list's nest holds: the kernel looks the set up by name (a scan of the
	 * table's sets) once per message. */
	for (i = 0; i < n && r >= 0; i += k) {
		for (k = 0, room = 0; i + k < n && k < ELEMS_PER_MSG; k++) {
			one = elem_room(&e[i + k]);
			if (k && room + one > LIST_ROOM)
				break;
			room += one;
		}
		r = elems_chunk(nft, type, family, table, set, e + i, k, room, nlflags);
	}
	if (r >= 0)
		*(type == NFT_MSG_NEWSETELEM ? &nft->pending.elems_added
					     : &nft->pending.elems_removed) += (unsigned int)n;
	return r < 0 && nft->err >= 0 ? nft_batch_fail(nft, r, what) : r;
}

int nft_elems_add(struct nft *nft, int family, const char *table, const char *set,
		  const struct nft_elem *e, size_t n, unsigned int flags)
{
	return elems_msg(nft, NFT_MSG_NEWSETELEM, family, table, set, e, n, add_flags(flags));
}

int nft_elems_del(struct nft *nft, int family, const char *table, const char *set,
		  const struct nft_elem *e, size_t n, unsigned int flags)
{
	return elems_msg(nft, flags & NFT_F_DESTROY ? MSG_DESTROYSETELEM : NFT_MSG_DELSETELEM,
			 family, table, set, e, n, 0);
}
