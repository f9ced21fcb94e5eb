// SPDX-License-Identifier: Apache-2.0
/* nftables rules from expressions: a small builder whose helpers read like `nft` syntax
 * (payload, meta, cmp, lookup, ct, fib, counter, verdicts, masquerade, nat). */
#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/udata.h>

#include "nft/nft.h"

#define RULE_ROOM 1600 /* table, chain, userdata, position */
#define EXPR_ROOM 512 /* one expression at its largest (an immediate jump to a long name) */

static int name_ok(const char *s)
{
	return s && *s && strnlen(s, NFT_NAME_MAXLEN) < NFT_NAME_MAXLEN;
}

int nft_rule_begin(struct nft_rule_b *b, int family, const char *table, const char *chain)
{
	memset(b, 0, sizeof(*b));
	if (!name_ok(table) || !name_ok(chain))
		return b->err = -EINVAL;
	b->r = nftnl_rule_alloc();
	if (!b->r)
		return b->err = -ENOMEM;
	nftnl_rule_set_u32(b->r, NFTNL_RULE_FAMILY, (uint32_t)family);
	nftnl_rule_set_str(b->r, NFTNL_RULE_TABLE, table);
	nftnl_rule_set_str(b->r, NFTNL_RULE_CHAIN, chain);
	return 0;
}

void nft_rule_b_done(struct nft_rule_b *b)
{
	if (b->r)
		nftnl_rule_free(b->r);
	b->r = NULL;
}

int nft_rule_add(struct nft *nft, struct nft_rule_b *b, unsigned int flags)
{
	uint16_t nlflags = NLM_F_CREATE | (flags & NFT_F_INSERT ? 0 : NLM_F_APPEND);
	struct nlmsghdr *nlh;
	int r = b->err;

	if (!r && !b->r)
		r = -EINVAL;
	if (r < 0) {
		nft_rule_b_done(b);
		return nft_batch_fail(nft, r, "add rule");
	}
	nlh = nft_batch_msg(nft, NFT_MSG_NEWRULE,
			    (uint16_t)nftnl_rule_get_u32(b->r, NFTNL_RULE_FAMILY), nlflags,
			    RULE_ROOM + b->nexpr * EXPR_ROOM);
	if (nlh) {
		nftnl_rule_nlmsg_build_payload(nlh, b->r);
		nft_batch_msg_end(nft, nlh);
	}
	nft_rule_b_done(b);
	return nlh ? 0 : nft->err;
}

/* A new expression for b, or NULL once b has failed. */
static struct nftnl_expr *expr(struct nft_rule_b *b, const char *name)
{
	struct nftnl_expr *e;

	if (b->err || !b->r)
		return NULL;
	if (b->nexpr >= NFT_RULE_EXPR_MAX) {
		b->err = -E2BIG;
		return NULL;
	}
	e = nftnl_expr_alloc(name);
	if (!e)
		b->err = -ENOMEM;
	return e;
}

static void add(struct nft_rule_b *b, struct nftnl_expr *e)
{
	nftnl_rule_add_expr(b->r, e);
	b->nexpr++;
}

static int len_ok(struct nft_rule_b *b, uint32_t len)
{
	if (len && len <= NFT_DATA_MAX)
		return 1;
	if (!b->err)
		b->err = -EINVAL;
	return 0;
}

void nr_payload(struct nft_rule_b *b, uint32_t base, uint32_t off, uint32_t len, uint32_t dreg)
{
	struct nftnl_expr *e;

	if (!len_ok(b, len) || !(e = expr(b, "payload")))
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
	add(b, e);
}

void nr_payload_ip_daddr(struct nft_rule_b *b, uint32_t dreg)
{
	nr_payload(b, NFT_PAYLOAD_NETWORK_HEADER, 16, 4, dreg);
}

void nr_payload_ip6_saddr(struct nft_rule_b *b, uint32_t dreg)
{
	nr_payload(b, NFT_PAYLOAD_NETWORK_HEADER, 8, 16, dreg);
}

void nr_payload_ip6_daddr(struct nft_rule_b *b, uint32_t dreg)
{
	nr_payload(b, NFT_PAYLOAD_NETWORK_HEADER, 24, 16, dreg);
}

void nr_payload_th_dport(struct nft_rule_b *b, uint32_t dreg)
{
	nr_payload(b, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, dreg);
}

void nr_meta(struct nft_rule_b *b, uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e = expr(b, "meta");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
	add(b, e);
}

void nr_cmp(struct nft_rule_b *b, uint32_t op, uint32_t sreg, const void *data, uint32_t len)
{
	struct nftnl_expr *e;

	if (!len_ok(b, len) || !(e = expr(b, "cmp")))
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, sreg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	add(b, e);
}

void nr_match_nfproto(struct nft_rule_b *b, uint8_t nfproto)
{
	nr_meta(b, NFT_META_NFPROTO, NFT_REG32_00);
	nr_cmp(b, NFT_CMP_EQ, NFT_REG32_00, &nfproto, 1);
}

void nr_bitwise(struct nft_rule_b *b, uint32_t sreg, uint32_t dreg, const void *mask,
		const void * xor, uint32_t len)
{
	struct nftnl_expr *e;

	if (!len_ok(b, len) || !(e = expr(b, "bitwise")))
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, sreg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, dreg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, xor, len);
	add(b, e);
}

static void lookup(struct nft_rule_b *b, uint32_t sreg, const char *set, uint32_t flags,
		   const uint32_t *dreg)
{
	struct nftnl_expr *e;

	if (!name_ok(set)) {
		b->err = b->err ? b->err : -EINVAL;
		return;
	}
	e = expr(b, "lookup");
	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, sreg);
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
	if (dreg)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, *dreg);
	if (flags)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, flags);
	add(b, e);
}

void nr_lookup(struct nft_rule_b *b, uint32_t sreg, const char *set, uint32_t flags)
{
	lookup(b, sreg, set, flags, NULL);
}

void nr_lookup_map(struct nft_rule_b *b, uint32_t sreg, const char *set, uint32_t dreg)
{
	lookup(b, sreg, set, 0, &dreg);
}

void nr_ct(struct nft_rule_b *b, uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e = expr(b, "ct");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, dreg);
	add(b, e);
}

void nr_ct_state(struct nft_rule_b *b, uint32_t mask)
{
	const uint32_t zero = 0;

	nr_ct(b, NFT_CT_STATE, NFT_REG32_00);
	nr_bitwise(b, NFT_REG32_00, NFT_REG32_00, &mask, &zero, 4);
	nr_cmp(b, NFT_CMP_NEQ, NFT_REG32_00, &zero, 4);
}

void nr_fib_daddr_type(struct nft_rule_b *b, uint32_t dreg)
{
	struct nftnl_expr *e = expr(b, "fib");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_DADDR);
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, dreg);
	add(b, e);
}

void nr_counter(struct nft_rule_b *b)
{
	struct nftnl_expr *e = expr(b, "counter");

	if (e)
		add(b, e);
}

void nr_verdict(struct nft_rule_b *b, int32_t verdict, const char *chain)
{
	struct nftnl_expr *e;

	if ((verdict == NFT_JUMP || verdict == NFT_GOTO) != name_ok(chain)) {
		b->err = b->err ? b->err : -EINVAL;
		return;
	}
	e = expr(b, "immediate");
	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
	if (chain)
		nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain);
	add(b, e);
}

void nr_masq(struct nft_rule_b *b, uint32_t flags)
{
	struct nftnl_expr *e = expr(b, "masq");

	if (!e)
		return;
	if (flags)
		nftnl_expr_set_u32(e, NFTNL_EXPR_MASQ_FLAGS, flags);
	add(b, e);
}

void nr_nat(struct nft_rule_b *b, uint32_t type, uint32_t family, uint32_t reg_addr,
	    uint32_t reg_proto)
{
	struct nftnl_expr *e = expr(b, "nat");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, type);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, family);
	if (reg_addr)
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, reg_addr);
	if (reg_proto)
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, reg_proto);
	add(b, e);
}

void nr_comment(struct nft_rule_b *b, const char *comment)
{
	uint8_t ud[NFT_COMMENT_MAX + 3];
	int n;

	if (b->err || !b->r)
		return;
	n = nft_comment_tlv(NFTNL_UDATA_RULE_COMMENT, comment, ud, sizeof(ud));
	if (n < 0)
		b->err = n;
	else
		nftnl_rule_set_data(b->r, NFTNL_RULE_USERDATA, ud, (uint32_t)n);
}

void nr_limit(struct nft_rule_b *b, uint64_t rate, uint32_t burst)
{
	struct nftnl_expr *e = expr(b, "limit");

	if (!e)
		return;
	nftnl_expr_set_u64(e, NFTNL_EXPR_LIMIT_RATE, rate);
	nftnl_expr_set_u64(e, NFTNL_EXPR_LIMIT_UNIT, 1); /* seconds */
	nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_BURST, burst);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_TYPE, NFT_LIMIT_PKTS);
	add(b, e);
}

void nr_log(struct nft_rule_b *b, uint16_t group, const char *prefix)
{
	struct nftnl_expr *e;

	/* the kernel's limit (NF_LOG_PREFIXLEN, with the NUL) */
	if (prefix && strlen(prefix) >= 128) {
		b->err = b->err ? b->err : -E2BIG;
		return;
	}
	e = expr(b, "log");
	if (!e)
		return;
	nftnl_expr_set_u16(e, NFTNL_EXPR_LOG_GROUP, group);
	if (prefix && *prefix)
		nftnl_expr_set_str(e, NFTNL_EXPR_LOG_PREFIX, prefix);
	add(b, e);
}
