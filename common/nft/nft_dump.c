// SPDX-License-Identifier: Apache-2.0
/* nftables read-back: whether a table exists, its chains, a chain's rules, a set's elements
 * with their comments. Each is one query parsed with libnftnl. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "nft/nft.h"

static int names_ok(const char *a, const char *b)
{
	return a && *a && strnlen(a, NFT_NAME_MAXLEN) < NFT_NAME_MAXLEN &&
	       (!b || (*b && strnlen(b, NFT_NAME_MAXLEN) < NFT_NAME_MAXLEN));
}

int nft_table_exists(struct nft *nft, int family, const char *table)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *req;
	int r;

	if (!t)
		return -ENOMEM;
	if (!names_ok(table, NULL)) {
		nftnl_table_free(t);
		return -EINVAL;
	}
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, table);
	req = nft_req(nft, NFT_MSG_GETTABLE, (uint16_t)family, 0);
	nftnl_table_nlmsg_build_payload(req, t);
	nftnl_table_free(t);
	r = nft_query(nft, req, NULL, NULL);
	if (r == -ENOENT) {
		nft->errmsg[0] = '\0';
		return 0;
	}
	return r < 0 ? r : 1;
}

struct chain_walk {
	const char *table;
	int (*cb)(const struct nft_chain_info *c, void *data);
	void *data;
};

static int chain_cb(const struct nlmsghdr *nlh, void *data)
{
	struct chain_walk *w = data;
	struct nftnl_chain *c = nftnl_chain_alloc();
	char comment[NFT_USERDATA_MAXLEN + 1];
	struct nft_chain_info info = {0};
	const char *table;
	const void *ud;
	uint32_t len = 0;
	int r = 0;

	if (!c)
		return -ENOMEM;
	if (nftnl_chain_nlmsg_parse(nlh, c) < 0) {
		nftnl_chain_free(c);
		return -EBADMSG;
	}
	table = nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE);
	info.name = nftnl_chain_get_str(c, NFTNL_CHAIN_NAME);
	if (nftnl_chain_is_set(c, NFTNL_CHAIN_TYPE)) {
		info.type = nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE);
		info.hook = nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM);
		info.prio = nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO);
	}
	ud = nftnl_chain_get_data(c, NFTNL_CHAIN_USERDATA, &len);
	nft_comment_parse(NFTNL_UDATA_CHAIN_COMMENT, ud, ud ? len : 0, comment, sizeof(comment));
	info.comment = *comment ? comment : NULL;
	if (table && info.name && !strcmp(table, w->table))
		r = w->cb(&info, w->data);
	nftnl_chain_free(c);
	return r;
}

int nft_chain_dump(struct nft *nft, int family, const char *table,
		   int (*cb)(const struct nft_chain_info *c, void *data), void *data)
{
	struct chain_walk w = {table, cb, data};
	struct nlmsghdr *req;
	int r;

	r = nft_table_exists(nft, family, table);
	if (r <= 0)
		return r < 0 ? r : -ENOENT;
	req = nft_req(nft, NFT_MSG_GETCHAIN, (uint16_t)family, NLM_F_DUMP);
	mnl_attr_put_strz(req, NFTA_CHAIN_TABLE, table);
	return nft_query(nft, req, chain_cb, &w);
}

int nft_chain_get(struct nft *nft, int family, const char *table, const char *chain,
		  int (*cb)(const struct nft_chain_info *c, void *data), void *data)
{
	struct chain_walk w = {table, cb, data};
	struct nftnl_chain *c;
	struct nlmsghdr *req;

	if (!names_ok(table, chain))
		return -EINVAL;
	c = nftnl_chain_alloc();
	if (!c)
		return -ENOMEM;
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, chain);
	req = nft_req(nft, NFT_MSG_GETCHAIN, (uint16_t)family, 0);
	nftnl_chain_nlmsg_build_payload(req, c);
	nftnl_chain_free(c);
	return nft_query(nft, req, chain_cb, &w);
}

struct name_walk {
	int (*cb)(const char *chain, void *data);
	void *data;
};

static int chain_name_cb(const struct nft_chain_info *c, void *data)
{
	struct name_walk *w = data;

	return w->cb(c->name, w->data);
}

int nft_chain_list(struct nft *nft, int family, const char *table,
		   int (*cb)(const char *chain, void *data), void *data)
{
	struct name_walk w = {cb, data};

	return nft_chain_dump(nft, family, table, chain_name_cb, &w);
}

struct set_walk {
	const char *table;
	int (*cb)(const struct nft_set_info *s, void *data);
	void *data;
};

static uint32_t set_u32(struct nftnl_set *s, uint16_t attr)
{
	return nftnl_set_is_set(s, attr) ? nftnl_set_get_u32(s, attr) : 0;
}

static int set_cb(const struct nlmsghdr *nlh, void *data)
{
	struct set_walk *w = data;
	struct nftnl_set *s = nftnl_set_alloc();
	struct nft_set_info info = {0};
	const char *table;
	int r = 0;

	if (!s)
		return -ENOMEM;
	if (nftnl_set_nlmsg_parse(nlh, s) < 0) {
		nftnl_set_free(s);
		return -EBADMSG;
	}
	table = nftnl_set_get_str(s, NFTNL_SET_TABLE);
	info.name = nftnl_set_get_str(s, NFTNL_SET_NAME);
	info.key_type = set_u32(s, NFTNL_SET_KEY_TYPE);
	info.key_len = set_u32(s, NFTNL_SET_KEY_LEN);
	info.flags = set_u32(s, NFTNL_SET_FLAGS);
	info.data_type = set_u32(s, NFTNL_SET_DATA_TYPE);
	if (table && info.name && !strcmp(table, w->table))
		r = w->cb(&info, w->data);
	nftnl_set_free(s);
	return r;
}

int nft_set_exists(struct nft *nft, int family, const char *table, const char *set)
{
	struct nlmsghdr *req;
	int r;

	if (!names_ok(table, set))
		return -EINVAL;
	req = nft_req(nft, NFT_MSG_GETSET, (uint16_t)family, 0);
	mnl_attr_put_strz(req, NFTA_SET_TABLE, table);
	mnl_attr_put_strz(req, NFTA_SET_NAME, set);
	r = nft_query(nft, req, NULL, NULL);
	if (r == -ENOENT) {
		nft->errmsg[0] = '\0';
		return 0;
	}
	return r < 0 ? r : 1;
}

int nft_set_list(struct nft *nft, int family, const char *table,
		 int (*cb)(const struct nft_set_info *s, void *data), void *data)
{
	struct set_walk w = {table, cb, data};
	struct nlmsghdr *req;
	int r;

	if (!names_ok(table, NULL))
		return -EINVAL;
	r = nft_table_exists(nft, family, table);
	if (r <= 0)
		return r < 0 ? r : -ENOENT;
	req = nft_req(nft, NFT_MSG_GETSET, (uint16_t)family, NLM_F_DUMP);
	mnl_attr_put_strz(req, NFTA_SET_TABLE, table);
	return nft_query(nft, req, set_cb, &w);
}

struct rule_walk {
	const char *chain;
	int (*cb)(const struct nft_rule_info *r, void *data);
	void *data;
};

/* Counts the expressions, sums the counters, notes the immediate verdict. */
static int expr_cb(struct nftnl_expr *e, void *data)
{
	struct nft_rule_info *info = data;
	const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);

	info->nexpr++;
	if (!name)
		return 0;
	if (!strcmp(name, "counter")) {
		info->packets += nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
		info->bytes += nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_BYTES);
	} else if (!strcmp(name, "immediate") && nftnl_expr_is_set(e, NFTNL_EXPR_IMM_VERDICT)) {
		info->verdict = (int32_t)nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_VERDICT);
		if (nftnl_expr_is_set(e, NFTNL_EXPR_IMM_CHAIN))
			info->target = nftnl_expr_get_str(e, NFTNL_EXPR_IMM_CHAIN);
	}
	return 0;
}

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct rule_walk *w = data;
	struct nftnl_rule *rule = nftnl_rule_alloc();
	char comment[NFT_USERDATA_MAXLEN + 1];
	struct nft_rule_info info = {0};
	const void *ud;
	uint32_t len = 0;
	int r = 0;

	if (!rule)
		return -ENOMEM;
	if (nftnl_rule_nlmsg_parse(nlh, rule) < 0) {
		nftnl_rule_free(rule);
		return -EBADMSG;
	}
	info.chain = nftnl_rule_get_str(rule, NFTNL_RULE_CHAIN);
	info.handle = nftnl_rule_get_u64(rule, NFTNL_RULE_HANDLE);
	info.verdict = NFT_CONTINUE;
	(void)nftnl_expr_foreach(rule, expr_cb, &info);
	ud = nftnl_rule_get_data(rule, NFTNL_RULE_USERDATA, &len);
	nft_comment_parse(NFTNL_UDATA_RULE_COMMENT, ud, len, comment, sizeof(comment));
	info.comment = *comment ? comment : NULL;
	if (info.chain && (!w->chain || !strcmp(info.chain, w->chain)))
		r = w->cb(&info, w->data);
	nftnl_rule_free(rule);
	return r;
}

int nft_rule_list(struct nft *nft, int family, const char *table, const char *chain,
		  int (*cb)(const struct nft_rule_info *r, void *data), void *data)
{
	struct rule_walk w = {chain, cb, data};
	struct nftnl_chain *c;
	struct nlmsghdr *req;
	int r;

	if (!names_ok(table, NULL) || (chain && !names_ok(chain, NULL)))
		return -EINVAL;
	if (!chain) {
		r = nft_table_exists(nft, family, table);
		if (r <= 0)
			return r < 0 ? r : -ENOENT;
		req = nft_req(nft, NFT_MSG_GETRULE, (uint16_t)family, NLM_F_DUMP);
		mnl_attr_put_strz(req, NFTA_RULE_TABLE, table);
		return nft_query(nft, req, rule_cb, &w);
	}
	c = nftnl_chain_alloc();
	if (!c)
		return -ENOMEM;
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, chain);
	/* A rule dump of a missing chain is empty, not an error: ask for the chain first. */
	req = nft_req(nft, NFT_MSG_GETCHAIN, (uint16_t)family, 0);
	nftnl_chain_nlmsg_build_payload(req, c);
	nftnl_chain_free(c);
	r = nft_query(nft, req, NULL, NULL);
	if (r < 0)
		return r;
	req = nft_req(nft, NFT_MSG_GETRULE, (uint16_t)family, NLM_F_DUMP);
	mnl_attr_put_strz(req, NFTA_RULE_TABLE, table);
	mnl_attr_put_strz(req, NFTA_RULE_CHAIN, chain);
	return nft_query(nft, req, rule_cb, &w);
}

static int count_cb(const struct nft_rule_info *r, void *data)
{
	(*(int *)data)++;
	return 0;
}

int nft_rule_count(struct nft *nft, int family, const char *table, const char *chain)
{
	int n = 0, r;

	r = nft_rule_list(nft, family, table, chain, count_cb, &n);
	return r < 0 ? r : n;
}

struct elem_walk {
	int (*cb)(const struct nft_elem *e, void *data);
	void *data;
};

static void data_get(struct nftnl_set_elem *el, uint16_t attr, struct nft_data *d,
		     unsigned int *flags, unsigned int flag)
{
	uint32_t len = 0;
	const void *p;

	if (!nftnl_set_elem_is_set(el, attr))
		return;
	p = nftnl_set_elem_get(el, attr, &len);
	if (!p || !len || len > NFT_DATA_MAX)
		return;
	memcpy(d->v, p, len);
	d->len = len;
	*flags |= flag;
}

/* Calls the walker's callback with one parsed element. */
static int elem_one(struct nftnl_set_elem *el, void *data)
{
	struct elem_walk *w = data;
	char comment[NFT_USERDATA_MAXLEN + 1];
	struct nft_elem e = {0};
	uint32_t len = 0;
	const void *ud;

	data_get(el, NFTNL_SET_ELEM_KEY, &e.key, &e.flags, 0);
	data_get(el, NFTNL_SET_ELEM_KEY_END, &e.key_end, &e.flags, NFT_ELEM_HAS_KEY_END);
	data_get(el, NFTNL_SET_ELEM_DATA, &e.data, &e.flags, NFT_ELEM_HAS_DATA);
	if (nftnl_set_elem_is_set(el, NFTNL_SET_ELEM_VERDICT)) {
		e.flags |= NFT_ELEM_HAS_VERDICT;
		e.verdict = (int32_t)nftnl_set_elem_get_u32(el, NFTNL_SET_ELEM_VERDICT);
		if (nftnl_set_elem_is_set(el, NFTNL_SET_ELEM_CHAIN))
			e.chain = nftnl_set_elem_get_str(el, NFTNL_SET_ELEM_CHAIN);
	}
	if (nftnl_set_elem_is_set(el, NFTNL_SET_ELEM_TIMEOUT)) {
		e.flags |= NFT_ELEM_HAS_TIMEOUT;
		e.timeout_ms = nftnl_set_elem_get_u64(el, NFTNL_SET_ELEM_TIMEOUT);
	}
	if (nftnl_set_elem_is_set(el, NFTNL_SET_ELEM_FLAGS) &&
	    (nftnl_set_elem_get_u32(el, NFTNL_SET_ELEM_FLAGS) & NFT_SET_ELEM_INTERVAL_END))
		e.flags |= NFT_ELEM_INTERVAL_END;
	ud = nftnl_set_elem_get(el, NFTNL_SET_ELEM_USERDATA, &len);
	nft_comment_parse(NFTNL_UDATA_SET_ELEM_COMMENT, ud, ud ? len : 0, comment, sizeof(comment));
	e.comment = *comment ? comment : NULL;
	return w->cb(&e, w->data);
}

static int elems_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_set *s = nftnl_set_alloc();
	int r;

	if (!s)
		return -ENOMEM;
	r = nftnl_set_elems_nlmsg_parse(nlh, s) < 0 ? -EBADMSG : 0;
	if (r == 0)
		r = nftnl_set_elem_foreach(s, elem_one, data);
	nftnl_set_free(s);
	return r;
}

int nft_set_elems_dump(struct nft *nft, int family, const char *table, const char *set,
		       int (*cb)(const struct nft_elem *e, void *data), void *data)
{
	struct elem_walk w = {cb, data};
	struct nlmsghdr *req;

	if (!names_ok(table, set))
		return -EINVAL;
	req = nft_req(nft, NFT_MSG_GETSETELEM, (uint16_t)family, NLM_F_DUMP);
	mnl_attr_put_strz(req, NFTA_SET_ELEM_LIST_TABLE, table);
	mnl_attr_put_strz(req, NFTA_SET_ELEM_LIST_SET, set);
	return nft_query(nft, req, elems_cb, &w);
}

static void put_key(struct nlmsghdr *req, uint16_t type, const struct nft_data *d)
{
	struct nlattr *nest = mnl_attr_nest_start(req, type);

	mnl_attr_put(req, NFTA_DATA_VALUE, d->len, d->v);
	mnl_attr_nest_end(req, nest);
}

int nft_set_elem_get(struct nft *nft, int family, const char *table, const char *set,
		     const struct nft_elem *e, int (*cb)(const struct nft_elem *e, void *data),
		     void *data)
{
	struct elem_walk w = {cb, data};
	struct nlattr *list, *item;
	struct nlmsghdr *req;

	if (!names_ok(table, set) || !e->key.len || e->key.len > NFT_DATA_MAX ||
	    ((e->flags & NFT_ELEM_HAS_KEY_END) &&
	     (!e->key_end.len || e->key_end.len > NFT_DATA_MAX)))
		return -EINVAL;
	req = nft_req(nft, NFT_MSG_GETSETELEM, (uint16_t)family, 0);
	mnl_attr_put_strz(req, NFTA_SET_ELEM_LIST_TABLE, table);
	mnl_attr_put_strz(req, NFTA_SET_ELEM_LIST_SET, set);
	list = mnl_attr_nest_start(req, NFTA_SET_ELEM_LIST_ELEMENTS);
	item = mnl_attr_nest_start(req, NFTA_LIST_ELEM);
	put_key(req, NFTA_SET_ELEM_KEY, &e->key);
	if (e->flags & NFT_ELEM_HAS_KEY_END)
		put_key(req, NFTA_SET_ELEM_KEY_END, &e->key_end);
	if (e->flags & NFT_ELEM_INTERVAL_END)
		mnl_attr_put_u32(req, NFTA_SET_ELEM_FLAGS, htonl(NFT_SET_ELEM_INTERVAL_END));
	mnl_attr_nest_end(req, item);
	mnl_attr_nest_end(req, list);
	return nft_query(nft, req, elems_cb, &w);
}
