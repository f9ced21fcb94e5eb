// SPDX-License-Identifier: Apache-2.0
/* common/policy/pnft.c without a kernel: batches built with nft_open_dry() and parsed back
 * with libnftnl. A small model of the kernel's table (sets with elements, chains with rules)
 * replays each batch message by message and checks what the kernel would refuse at that
 * step: a rule using a set or jumping to a chain that does not exist, a map element going
 * to a missing chain, a chain or set deleted while still in use, an element added over one
 * with another verdict. A difference applied to replace(old) must give replace(new). */
#define T_NAME "test_pnft"
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/udata.h>

#include "base/ip.h"
#include "nft/nft.h"
#include "policy/pnft.h"
#include "policy/pnft_int.h"
#include "policy/policy.h"
#include "t.h"
#include "policy_t.h"

/* --- Building rulesets by hand -------------------------------------------------------- */

#define CAP 16

static struct pol_ruleset *rs_new(const char *stamp)
{
	struct pol_ruleset *rs = calloc(1, sizeof(*rs));

	rs->sets = calloc(CAP, sizeof(*rs->sets));
	rs->pchains = calloc(CAP, sizeof(*rs->pchains));
	rs->cchains = calloc(CAP, sizeof(*rs->cchains));
	snprintf(rs->stamp, sizeof(rs->stamp), "%s", stamp);
	return rs;
}

static void rs_free(struct pol_ruleset *rs)
{
	for (size_t i = 0; i < rs->nsets; i++)
		free(rs->sets[i].e);
	for (size_t i = 0; i < rs->npchains; i++)
		free(rs->pchains[i].rules);
	for (size_t i = 0; i < rs->ncchains; i++)
		free(rs->cchains[i].targets);
	free(rs->sets);
	free(rs->pchains);
	free(rs->cchains);
	free(rs);
}

static struct pol_set *set(struct pol_ruleset *rs, const char *name, enum pol_set_kind kind)
{
	struct pol_set *s = &rs->sets[rs->nsets++];

	snprintf(s->name, sizeof(s->name), "%s", name);
	s->kind = kind;
	s->e = calloc(CAP, sizeof(*s->e));
	return s;
}

static struct pol_elem *elem(struct pol_set *s, const char *ip)
{
	struct pol_elem *e = &s->e[s->n++];

	if (ip)
		(void)ip_parse(ip, &e->ip);
	return e;
}

static void net(struct pol_set *s, const char *a, const char *b)
{
	(void)ip_parse(b, &elem(s, a)->end);
}

static void ports(struct pol_set *s, uint8_t proto, uint16_t lo, uint16_t hi)
{
	struct pol_elem *e = elem(s, NULL);

	e->proto = proto;
	e->port = lo;
	e->port_end = hi;
}

static void named(struct pol_set *s, const char *ip, uint8_t proto, uint16_t port)
{
	struct pol_elem *e = elem(s, ip);

	e->proto = proto;
	e->port = e->port_end = port;
}

static void dispatch(struct pol_set *s, const char *ip, const char *chain)
{
	snprintf(elem(s, ip)->chain, POL_NAME_MAX, "%s", chain);
}

static struct pol_pchain *pchain(struct pol_ruleset *rs, const char *name, enum pol_dir dir,
				 const char *ns, const char *policy)
{
	struct pol_pchain *c = &rs->pchains[rs->npchains++];

	snprintf(c->name, sizeof(c->name), "%s", name);
	c->dir = dir;
	snprintf(c->ns, sizeof(c->ns), "%s", ns);
	snprintf(c->policy, sizeof(c->policy), "%s", policy);
	c->rules = calloc(CAP, sizeof(*c->rules));
	return c;
}

static void rule(struct pol_pchain *c, uint8_t family, const char *addr, const char *port,
		 const char *named_set, uint16_t index)
{
	struct pol_rule *r = &c->rules[c->nrules++];

	r->family = family;
	snprintf(r->addr_set, sizeof(r->addr_set), "%s", addr);
	snprintf(r->port_set, sizeof(r->port_set), "%s", port);
	snprintf(r->named_set, sizeof(r->named_set), "%s", named_set);
	r->index = index;
}

static void cchain(struct pol_ruleset *rs, const char *name, enum pol_dir dir, const char *t1,
		   const char *t2)
{
	struct pol_cchain *c = &rs->cchains[rs->ncchains++];

	snprintf(c->name, sizeof(c->name), "%s", name);
	c->dir = dir;
	c->targets = calloc(2, sizeof(*c->targets));
	snprintf(c->targets[c->ntargets++], POL_NAME_MAX, "%s", t1);
	if (t2)
		snprintf(c->targets[c->ntargets++], POL_NAME_MAX, "%s", t2);
}

/* Two policies, a class per direction, every kind of set. */
static struct pol_ruleset *rs_one(void)
{
	struct pol_ruleset *rs = rs_new("s1");
	struct pol_pchain *c;
	struct pol_set *s;

	s = set(rs, "a4", POL_SET_ADDR4);
	elem(s, "10.1.0.2");
	elem(s, "10.1.0.3");
	s = set(rs, "a6", POL_SET_ADDR6);
	elem(s, "fd00::2");
	s = set(rs, "b4", POL_SET_NET4);
	net(s, "10.2.0.0", "10.2.0.255");
	net(s, "10.3.0.0", "10.3.255.255");
	s = set(rs, "p", POL_SET_PORTS);
	ports(s, IPPROTO_TCP, 80, 80);
	ports(s, IPPROTO_UDP, 80, 81);
	s = set(rs, "n4", POL_SET_NAMED4);
	named(s, "10.1.0.4", IPPROTO_TCP, 80);
	s = set(rs, "ing4", POL_SET_DISPATCH4);
	dispatch(s, "10.1.0.4", "ci-x");
	s = set(rs, "egr6", POL_SET_DISPATCH6);
	dispatch(s, "fd00::4", "ce-y");
	c = pchain(rs, "pi-1", POL_IN, "x", "allow");
	rule(c, NFPROTO_IPV4, "a4", "p", "", 0);
	rule(c, NFPROTO_IPV4, "b4", "", "n4", 1);
	c = pchain(rs, "pe-1", POL_OUT, "x", "egress");
	rule(c, NFPROTO_IPV6, "a6", "", "", 0);
	rule(c, 0, "", "p", "", 1);
	cchain(rs, "ci-x", POL_IN, "pi-1", NULL);
	cchain(rs, "ce-y", POL_OUT, "pe-1", NULL);
	return rs;
}

/* rs_one() changed everywhere: elements in and out, an interval changed, a new set, policy
 * chain and class, a dispatch element moved to the new class, the egress policy, its
 * class, set and dispatch element gone, another stamp. pi-1 is unchanged. */
static struct pol_ruleset *rs_two(void)
{
	struct pol_ruleset *rs = rs_new("s2");
	struct pol_pchain *c;
	struct pol_set *s;

	s = set(rs, "a4", POL_SET_ADDR4);
	elem(s, "10.1.0.3");
	elem(s, "10.1.0.9");
	s = set(rs, "b4", POL_SET_NET4);
	net(s, "10.2.0.0", "10.2.0.255");
	s = set(rs, "p", POL_SET_PORTS);
	ports(s, IPPROTO_TCP, 80, 80);
	ports(s, IPPROTO_UDP, 80, 81);
	s = set(rs, "n4", POL_SET_NAMED4);
	named(s, "10.1.0.4", IPPROTO_TCP, 80);
	s = set(rs, "q4", POL_SET_ADDR4);
	elem(s, "10.9.9.9");
	s = set(rs, "ing4", POL_SET_DISPATCH4);
	dispatch(s, "10.1.0.4", "ci-z");
	dispatch(s, "10.1.0.5", "ci-x");
	c = pchain(rs, "pi-1", POL_IN, "x", "allow");
	rule(c, NFPROTO_IPV4, "a4", "p", "", 0);
	rule(c, NFPROTO_IPV4, "b4", "", "n4", 1);
	c = pchain(rs, "pi-2", POL_IN, "y", "new");
	rule(c, NFPROTO_IPV4, "q4", "", "", 0);
	cchain(rs, "ci-x", POL_IN, "pi-1", NULL);
	cchain(rs, "ci-z", POL_IN, "pi-1", "pi-2");
	return rs;
}

/* --- The batch ------------------------------------------------------------------------ */

static const struct nlmsghdr *msg(const struct nft *nft, int idx)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)nft->buf;
	int len = (int)nft->len;

	for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len))
		if (idx-- == 0)
			return nlh;
	return NULL;
}

static unsigned int mtype(const struct nlmsghdr *nlh)
{
	return NFNL_MSG_TYPE(nlh->nlmsg_type);
}

/* libnftnl numbers the items of an element list when it builds them but parses only
 * NFTA_LIST_ELEM: parses a copy with the types fixed (as test_nft does). */
static int parse_elems(const struct nlmsghdr *nlh, struct nftnl_set *s)
{
	struct nlmsghdr *copy = malloc(nlh->nlmsg_len);
	struct nlattr *a, *item;
	int r;

	memcpy(copy, nlh, nlh->nlmsg_len);
	mnl_attr_for_each(a, copy, sizeof(struct nfgenmsg))
		if (mnl_attr_get_type(a) == NFTA_SET_ELEM_LIST_ELEMENTS)
			mnl_attr_for_each_nested(item, a)
				item->nla_type = NLA_F_NESTED | NFTA_LIST_ELEM;
	r = nftnl_set_elems_nlmsg_parse(copy, s);
	free(copy);
	return r;
}

/* "<op> <object>" of each message, one line each: "add set a4", "flush chain pi-1",
 * "add elems ing4 2", "destroy elems a4 1"... */
static void trace(const struct nft *nft, char *out, size_t size)
{
	const struct nlmsghdr *m;
	size_t used = 0;

	out[0] = '\0';
	for (int i = 1; (m = msg(nft, i)) && m->nlmsg_type != NFNL_MSG_BATCH_END; i++) {
		unsigned int t = mtype(m);
		char line[160] = "?";

		if (t == NFT_MSG_NEWCHAIN || t == NFT_MSG_DELCHAIN || t == 27) {
			struct nftnl_chain *c = nftnl_chain_alloc();

			nftnl_chain_nlmsg_parse(m, c);
			snprintf(line, sizeof(line), "%s chain %s",
				 t == NFT_MSG_NEWCHAIN ? "add"
				 : t == 27	       ? "destroy"
						       : "delete",
				 nftnl_chain_get_str(c, NFTNL_CHAIN_NAME));
			nftnl_chain_free(c);
		} else if (t == NFT_MSG_NEWRULE || t == NFT_MSG_DELRULE) {
			struct nftnl_rule *r = nftnl_rule_alloc();

			nftnl_rule_nlmsg_parse(m, r);
			snprintf(line, sizeof(line), "%s %s",
				 t == NFT_MSG_NEWRULE ? "add rule" : "flush chain",
				 nftnl_rule_get_str(r, NFTNL_RULE_CHAIN));
			nftnl_rule_free(r);
		} else if (t == NFT_MSG_NEWSET || t == NFT_MSG_DELSET || t == 29) {
			struct nftnl_set *s = nftnl_set_alloc();

			nftnl_set_nlmsg_parse(m, s);
			snprintf(line, sizeof(line), "%s set %s",
				 t == NFT_MSG_NEWSET ? "add"
				 : t == 29	     ? "destroy"
						     : "delete",
				 nftnl_set_get_str(s, NFTNL_SET_NAME));
			nftnl_set_free(s);
		} else if (t == NFT_MSG_NEWSETELEM || t == NFT_MSG_DELSETELEM || t == 30) {
			struct nftnl_set *s = nftnl_set_alloc();
			struct nftnl_set_elems_iter *it;
			int n = 0;

			parse_elems(m, s);
			it = nftnl_set_elems_iter_create(s);
			while (nftnl_set_elems_iter_next(it))
				n++;
			nftnl_set_elems_iter_destroy(it);
			if (t == NFT_MSG_DELSETELEM && !n)
				snprintf(line, sizeof(line), "flush set %s",
					 nftnl_set_get_str(s, NFTNL_SET_NAME));
			else
				snprintf(line, sizeof(line), "%s elems %s %d",
					 t == NFT_MSG_NEWSETELEM ? "add" : "destroy",
					 nftnl_set_get_str(s, NFTNL_SET_NAME), n);
			nftnl_set_free(s);
		} else if (t == NFT_MSG_NEWTABLE) {
			snprintf(line, sizeof(line), "add table");
		} else if (t == 26) {
			snprintf(line, sizeof(line), "destroy table");
		}
		used += (size_t)snprintf(out + used, size - used, "%s\n", line);
		if (used >= size)
			return;
	}
}

/* --- A model of the kernel's table ---------------------------------------------------- */

#define SIM_MAX 64
#define SIM_ITEMS 128

struct sim_rule {
	char text[1024];
	char sets[4][NFT_NAME_MAXLEN];
	int nsets;
	char target[NFT_NAME_MAXLEN];
};

struct sim_obj {
	char name[NFT_NAME_MAXLEN];
	bool used;
	/* a set's elements ("key/key_end/flags:chain"), or a chain's rules */
	char elem[SIM_ITEMS][128];
	struct sim_rule *rule[SIM_ITEMS];
	int n;
};

struct sim {
	struct sim_obj sets[SIM_MAX], chains[SIM_MAX];
	char err[1024];
};

static struct sim_obj *sim_find(struct sim_obj *o, const char *name)
{
	for (int i = 0; i < SIM_MAX; i++)
		if (o[i].used && !strcmp(o[i].name, name))
			return &o[i];
	return NULL;
}

static struct sim_obj *sim_add(struct sim_obj *o, const char *name)
{
	struct sim_obj *x = sim_find(o, name);

	for (int i = 0; !x && i < SIM_MAX; i++)
		if (!o[i].used) {
			x = &o[i];
			memset(x, 0, sizeof(*x));
			x->used = true;
			snprintf(x->name, sizeof(x->name), "%s", name);
		}
	return x;
}

static void sim_clear_chain(struct sim_obj *c)
{
	for (int i = 0; i < c->n; i++)
		free(c->rule[i]);
	c->n = 0;
}

static void sim_done(struct sim *s)
{
	for (int i = 0; i < SIM_MAX; i++)
		if (s->chains[i].used)
			sim_clear_chain(&s->chains[i]);
	memset(s, 0, sizeof(*s));
}

static int __attribute__((format(printf, 2, 3))) sim_fail(struct sim *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	return -1;
}

/* Who uses chain or set name: a rule or (for a chain) a map element. */
static bool sim_in_use(struct sim *s, const char *name, bool chain)
{
	for (int i = 0; i < SIM_MAX; i++) {
		struct sim_obj *c = &s->chains[i];

		for (int k = 0; c->used && k < c->n; k++) {
			if (chain && !strcmp(c->rule[k]->target, name) && strcmp(c->name, name))
				return true;
			for (int j = 0; !chain && j < c->rule[k]->nsets; j++)
				if (!strcmp(c->rule[k]->sets[j], name))
					return true;
		}
		for (int k = 0; chain && s->sets[i].used && k < s->sets[i].n; k++) {
			const char *colon = strchr(s->sets[i].elem[k], ':');

			if (colon && !strcmp(colon + 1, name))
				return true;
		}
	}
	return false;
}

static int expr_cb(struct nftnl_expr *e, void *data)
{
	struct sim_rule *r = data;
	const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);

	if (!strcmp(name, "lookup") && r->nsets < 4)
		snprintf(r->sets[r->nsets++], NFT_NAME_MAXLEN, "%s",
			 nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET));
	if (!strcmp(name, "immediate") && nftnl_expr_is_set(e, NFTNL_EXPR_IMM_CHAIN))
		snprintf(r->target, NFT_NAME_MAXLEN, "%s",
			 nftnl_expr_get_str(e, NFTNL_EXPR_IMM_CHAIN));
	return 0;
}

static void hex(const void *p, uint32_t len, char *out)
{
	for (uint32_t i = 0; i < len; i++)
		sprintf(out + 2 * i, "%02x", ((const uint8_t *)p)[i]);
	out[2 * len] = '\0';
}

struct elem_walk {
	struct sim *s;
	struct sim_obj *set;
	unsigned int type;
	int r;
};

static int sim_elem(struct nftnl_set_elem *el, void *data)
{
	struct elem_walk *w = data;
	char k[130] = "", ke[130] = "", text[128];
	const char *chain = "";
	uint32_t len, fl = 0;
	const void *p;
	int i;

	p = nftnl_set_elem_get(el, NFTNL_SET_ELEM_KEY, &len);
	hex(p, len, k);
	if (nftnl_set_elem_is_set(el, NFTNL_SET_ELEM_KEY_END)) {
		p = nftnl_set_elem_get(el, NFTNL_SET_ELEM_KEY_END, &len);
		hex(p, len, ke);
	}
	if (nftnl_set_elem_is_set(el, NFTNL_SET_ELEM_FLAGS))
		fl = nftnl_set_elem_get_u32(el, NFTNL_SET_ELEM_FLAGS);
	if (nftnl_set_elem_is_set(el, NFTNL_SET_ELEM_CHAIN))
		chain = nftnl_set_elem_get_str(el, NFTNL_SET_ELEM_CHAIN);
	snprintf(text, sizeof(text), "%s/%s/%u:", k, ke, fl);
	for (i = 0; i < w->set->n; i++)
		if (!strncmp(w->set->elem[i], text, strlen(text)))
			break;
	if (w->type == NFT_MSG_NEWSETELEM) {
		if (*chain && !sim_find(w->s->chains, chain))
			return w->r = sim_fail(w->s, "element of %s goes to missing chain %s",
					       w->set->name, chain);
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s", chain);
		if (i < w->set->n && strcmp(w->set->elem[i], text))
			return w->r = sim_fail(w->s, "element of %s present with other data: %s",
					       w->set->name, text);
		if (i == w->set->n && w->set->n == SIM_ITEMS)
			return w->r = sim_fail(w->s, "model: set %s full", w->set->name);
		if (i == w->set->n)
			snprintf(w->set->elem[w->set->n++], 128, "%s", text);
		return 0;
	}
	if (i == w->set->n) /* absent: a plain delete fails, a destroy does not */
		return w->type == NFT_MSG_DELSETELEM
			       ? (w->r = sim_fail(w->s, "delete of absent element of %s",
						  w->set->name))
			       : 0;
	memmove(w->set->elem[i], w->set->elem[i + 1], (size_t)(w->set->n - i - 1) * 128);
	w->set->n--;
	return 0;
}

static int elem_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Applies one batch to the model; -1 with s->err at the first message the kernel would
 * refuse. */
static int sim_apply(struct sim *s, const struct nft *nft)
{
	const struct nlmsghdr *m;

	for (int i = 1; (m = msg(nft, i)) && m->nlmsg_type != NFNL_MSG_BATCH_END; i++) {
		unsigned int t = mtype(m);

		if (t == 26 || t == NFT_MSG_DELTABLE) {
			sim_done(s);
		} else if (t == NFT_MSG_NEWCHAIN || t == NFT_MSG_DELCHAIN || t == 27) {
			struct nftnl_chain *c = nftnl_chain_alloc();
			char name[NFT_NAME_MAXLEN];
			struct sim_obj *o;

			nftnl_chain_nlmsg_parse(m, c);
			snprintf(name, sizeof(name), "%s",
				 nftnl_chain_get_str(c, NFTNL_CHAIN_NAME));
			nftnl_chain_free(c);
			o = sim_find(s->chains, name);
			if (t == NFT_MSG_NEWCHAIN) {
				if (!sim_add(s->chains, name))
					return sim_fail(s, "model: too many chains");
				continue;
			}
			if (!o && t == NFT_MSG_DELCHAIN)
				return sim_fail(s, "delete of absent chain %s", name);
			if (o && sim_in_use(s, name, true))
				return sim_fail(s, "chain %s deleted while in use", name);
			if (o) {
				sim_clear_chain(o);
				o->used = false;
			}
		} else if (t == NFT_MSG_NEWRULE || t == NFT_MSG_DELRULE) {
			struct nftnl_rule *r = nftnl_rule_alloc();
			struct sim_rule *sr = calloc(1, sizeof(*sr));
			struct sim_obj *c;

			nftnl_rule_nlmsg_parse(m, r);
			c = sim_find(s->chains, nftnl_rule_get_str(r, NFTNL_RULE_CHAIN));
			if (!c) {
				sim_fail(s, "rule in missing chain %s",
					 nftnl_rule_get_str(r, NFTNL_RULE_CHAIN));
				nftnl_rule_free(r);
				free(sr);
				return -1;
			}
			if (t == NFT_MSG_DELRULE) {
				sim_clear_chain(c);
				free(sr);
				nftnl_rule_free(r);
				continue;
			}
			if (c->n == SIM_ITEMS) {
				nftnl_rule_free(r);
				free(sr);
				return sim_fail(s, "model: chain %s full", c->name);
			}
			nftnl_expr_foreach(r, expr_cb, sr);
			nftnl_rule_snprintf(sr->text, sizeof(sr->text), r, NFTNL_OUTPUT_DEFAULT, 0);
			nftnl_rule_free(r);
			for (int k = 0; k < sr->nsets; k++)
				if (!sim_find(s->sets, sr->sets[k])) {
					sim_fail(s, "rule of %s uses missing set %s", c->name,
						 sr->sets[k]);
					free(sr);
					return -1;
				}
			if (*sr->target && !sim_find(s->chains, sr->target)) {
				sim_fail(s, "rule of %s jumps to missing chain %s", c->name,
					 sr->target);
				free(sr);
				return -1;
			}
			c->rule[c->n++] = sr;
		} else if (t == NFT_MSG_NEWSET || t == NFT_MSG_DELSET || t == 29) {
			struct nftnl_set *st = nftnl_set_alloc();
			char name[NFT_NAME_MAXLEN];
			struct sim_obj *o;

			nftnl_set_nlmsg_parse(m, st);
			snprintf(name, sizeof(name), "%s", nftnl_set_get_str(st, NFTNL_SET_NAME));
			nftnl_set_free(st);
			o = sim_find(s->sets, name);
			if (t == NFT_MSG_NEWSET) {
				if (!sim_add(s->sets, name))
					return sim_fail(s, "model: too many sets");
				continue;
			}
			if (!o && t == NFT_MSG_DELSET)
				return sim_fail(s, "delete of absent set %s", name);
			if (o && sim_in_use(s, name, false))
				return sim_fail(s, "set %s deleted while in use", name);
			if (o)
				o->used = false;
		} else if (t == NFT_MSG_NEWSETELEM || t == NFT_MSG_DELSETELEM || t == 30) {
			struct nftnl_set *st = nftnl_set_alloc();
			struct elem_walk w = {s, NULL, t, 0};
			struct nftnl_set_elems_iter *it;
			int n = 0;

			parse_elems(m, st);
			w.set = sim_find(s->sets, nftnl_set_get_str(st, NFTNL_SET_NAME));
			if (!w.set) {
				sim_fail(s, "elements of missing set %s",
					 nftnl_set_get_str(st, NFTNL_SET_NAME));
				nftnl_set_free(st);
				return -1;
			}
			it = nftnl_set_elems_iter_create(st);
			while (nftnl_set_elems_iter_next(it))
				n++;
			nftnl_set_elems_iter_destroy(it);
			if (t == NFT_MSG_DELSETELEM && !n)
				w.set->n = 0; /* flush */
			else
				nftnl_set_elem_foreach(st, sim_elem, &w);
			nftnl_set_free(st);
			if (w.r < 0)
				return -1;
		}
	}
	return 0;
}

/* The model as text: sets with their sorted elements, chains with their rules, by name. */
static void sim_text(struct sim *s, char *out, size_t size)
{
	size_t used = 0;

	out[0] = '\0';
	for (int pass = 0; pass < 2; pass++) {
		struct sim_obj *o = pass ? s->chains : s->sets;
		const char *names[SIM_MAX];
		int n = 0;

		for (int i = 0; i < SIM_MAX; i++)
			if (o[i].used)
				names[n++] = o[i].name;
		qsort(names, (size_t)n, sizeof(*names), name_cmp);
		for (int i = 0; i < n; i++) {
			struct sim_obj *x = sim_find(o, names[i]);

			used += (size_t)snprintf(out + used, size - used, "%s %s\n",
						 pass ? "chain" : "set", x->name);
			if (!pass)
				qsort(x->elem, (size_t)x->n, sizeof(x->elem[0]), elem_cmp);
			for (int k = 0; k < x->n && used < size; k++)
				used += (size_t)snprintf(out + used, size - used, "  %s\n",
							 pass ? x->rule[k]->text : x->elem[k]);
			if (used >= size)
				return;
		}
	}
}

/* The model after replace(rs) from an empty table. */
static int sim_replace(struct sim *s, const struct pol_ruleset *rs, char *err, size_t size)
{
	struct nft nft;
	int r;

	nft_open_dry(&nft);
	nft_batch_begin(&nft);
	r = pnft_replace(&nft, rs, NULL);
	if (r >= 0)
		r = nft_batch_commit(&nft);
	if (r >= 0 && sim_apply(s, &nft) < 0)
		r = -EINVAL;
	snprintf(err, size, "%s", r < 0 ? (*s->err ? s->err : nft_errmsg(&nft)) : "");
	nft_close(&nft);
	return r;
}

/* --- Tests ---------------------------------------------------------------------------- */

#define TEXT_MAX 65536

static void test_replace_valid_at_every_step(void)
{
	struct pol_ruleset *rs = rs_one();
	static struct sim s;
	char err[256], *text = malloc(TEXT_MAX);

	memset(&s, 0, sizeof(s));
	T_EQ(sim_replace(&s, rs, err, sizeof(err)), 0);
	T_STREQ(err, "");
	sim_text(&s, text, TEXT_MAX);
	/* fixed maps and stamp, the ruleset's sets; its chains and the two base chains */
	T_ASSERT(strstr(text, "set egr4\nset egr6\n"));
	T_ASSERT(strstr(text, "set ing4\n  0a010004//0:ci-x\nset ing6\n"));
	T_ASSERT(strstr(text, "set stamp\n  01000000//0:\n"));
	T_ASSERT(strstr(text, "chain egress\n"));
	T_ASSERT(strstr(text, "chain ingress\n"));
	T_ASSERT(strstr(text, "chain ci-x\n"));
	/* intervals: a start, and the address after the end flagged as an end (flag 1) */
	T_ASSERT(strstr(text, "set b4\n  0a020000//0:\n  0a020100//1:\n  0a030000//0:\n  "
			      "0a040000//1:\n"));
	/* ports: proto . port, each padded to 4 bytes, with a key end */
	T_ASSERT(strstr(text, "set p\n  0600000000500000/0600000000500000/0:\n  "
			      "1100000000500000/1100000000510000/0:\n"));
	T_ASSERT(strstr(text, "set n4\n  0a01000406000000"
			      "00500000//0:\n"));
	sim_done(&s);
	rs_free(rs);
	free(text);
}

static void test_replace_order_and_rules(void)
{
	struct pol_ruleset *rs = rs_one();
	char *t = malloc(TEXT_MAX);
	struct nft nft;

	T_EQ(nft_open_dry(&nft), 0);
	nft_batch_begin(&nft);
	T_EQ(pnft_replace(&nft, rs, NULL), 0);
	T_EQ(nft_batch_commit(&nft), 0);
	trace(&nft, t, TEXT_MAX);
	/* the old table goes in the same batch: atomic */
	T_ASSERT(!strncmp(t, "destroy table\nadd table\nadd set egr4\n", 37));
	/* class chains: jumps, the log, the counted drop */
	T_ASSERT(strstr(t, "add chain ci-x\nflush chain ci-x\nadd rule ci-x\nadd rule ci-x\n"
			   "add rule ci-x\n"));
	/* dispatch elements after the class chains, base chains after that, stamp last */
	T_ASSERT(strstr(t, "add elems ing4 1\nadd elems egr6 1\nadd chain egress\n"));
	T_ASSERT(strstr(t, "destroy elems stamp 1\nadd elems stamp 1\n"));
	nft_close(&nft);
	free(t);
	rs_free(rs);
}

/* A difference is valid at every step, and replace(old) + diff(old, new) == replace(new). */
static void diff_case(struct pol_ruleset *old, struct pol_ruleset *new, char *trace_out)
{
	static struct sim a, b;
	char *ta = malloc(TEXT_MAX), *tb = malloc(TEXT_MAX);
	char err[1024];
	struct nft nft;
	int r;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	T_EQ(sim_replace(&a, old, err, sizeof(err)), 0);
	T_EQ(sim_replace(&b, new, err, sizeof(err)), 0);
	T_EQ(nft_open_dry(&nft), 0);
	nft_batch_begin(&nft);
	T_EQ(pnft_diff(&nft, old, new, NULL), 0);
	T_EQ(nft_batch_commit(&nft), 0);
	if (trace_out)
		trace(&nft, trace_out, TEXT_MAX);
	r = sim_apply(&a, &nft);
	if (r < 0)
		printf("  step refused: %s\n", a.err);
	T_EQ(r, 0);
	sim_text(&a, ta, TEXT_MAX);
	sim_text(&b, tb, TEXT_MAX);
	T_STREQ(ta, tb);
	/* applied twice (the other writer did it first): still valid, same table */
	r = sim_apply(&a, &nft);
	if (r < 0)
		printf("  step refused the second time: %s\n", a.err);
	T_EQ(r, 0);
	sim_text(&a, ta, TEXT_MAX);
	T_STREQ(ta, tb);
	nft_close(&nft);
	sim_done(&a);
	sim_done(&b);
	free(ta);
	free(tb);
}

static void test_diff_valid_and_equal(void)
{
	struct pol_ruleset *one = rs_one(), *two = rs_two();
	char *t = malloc(TEXT_MAX);

	t[0] = '\0';
	diff_case(one, two, t);
	T_ASSERT(!t_failed);
	/* only what changed: pi-1 and ci-x are neither flushed nor refilled */
	T_ASSERT(!strstr(t, "pi-1\n"));
	T_ASSERT(!strstr(t, "ci-x\n"));
	T_ASSERT(!strstr(t, "destroy table"));
	/* the order: new sets, element changes, new policy chains, new classes, dispatch
	 * elements (moved ones destroyed and added), then removals users first */
	T_STREQ(t, "add set q4\n"
		   "add elems a4 1\n"
		   "flush set b4\n"
		   "add elems b4 2\n"
		   "add elems q4 1\n"
		   "add chain pi-2\n"
		   "flush chain pi-2\n"
		   "add rule pi-2\n"
		   "add chain ci-z\n"
		   "flush chain ci-z\n"
		   "add rule ci-z\n"
		   "add rule ci-z\n"
		   "add rule ci-z\n"
		   "add rule ci-z\n"
		   "destroy elems ing4 2\n"
		   "add elems ing4 2\n"
		   "destroy elems egr6 1\n"
		   "destroy chain ce-y\n"
		   "destroy chain pe-1\n"
		   "destroy elems a4 1\n"
		   "destroy set a6\n"
		   "destroy elems stamp 1\n"
		   "add elems stamp 1\n");
	diff_case(two, one, NULL);
	T_ASSERT(!t_failed);
	diff_case(one, one, t);
	T_STREQ(t, ""); /* nothing changed: an empty batch */
	free(t);
	rs_free(one);
	rs_free(two);
}

static void test_diff_changed_chain(void)
{
	struct pol_ruleset *one = rs_one(), *two = rs_one();
	char *t = malloc(TEXT_MAX);

	/* a rule of pi-1 changes: pi-1 is emptied and filled, nothing else */
	snprintf(two->pchains[0].rules[0].port_set, POL_NAME_MAX, "%s", "");
	diff_case(one, two, t);
	T_ASSERT(!t_failed);
	T_STREQ(t, "flush chain pi-1\nadd rule pi-1\nadd rule pi-1\n");
	/* a set's kind changes: the table is rebuilt */
	two->sets[0].kind = POL_SET_NET4;
	two->sets[0].e[0].end = two->sets[0].e[0].ip;
	two->sets[0].e[1].end = two->sets[0].e[1].ip;
	snprintf(two->pchains[0].rules[0].addr_set, POL_NAME_MAX, "%s", "a4");
	diff_case(one, two, t);
	T_ASSERT(!t_failed);
	T_ASSERT(!strncmp(t, "destroy table\nadd table\n", 24));
	free(t);
	rs_free(one);
	rs_free(two);
}

static void test_frag_batches(void)
{
	struct pol_ruleset *f = rs_new("");
	char *t = malloc(TEXT_MAX);
	struct pol_set *s;
	struct nft nft;

	s = set(f, "a4", POL_SET_ADDR4);
	elem(s, "10.1.0.7");
	s = set(f, "n4", POL_SET_NAMED4);
	named(s, "10.1.0.7", IPPROTO_TCP, 8080);
	s = set(f, "ing4", POL_SET_DISPATCH4);
	dispatch(s, "10.1.0.7", "ci-x");
	T_EQ(nft_open_dry(&nft), 0);
	nft_batch_begin(&nft);
	T_EQ(pnft_frag_add(&nft, f, NULL), 0);
	T_EQ(nft_batch_commit(&nft), 0);
	trace(&nft, t, TEXT_MAX);
	/* a dispatch element is destroyed first: one left with another verdict would make
	 * the add fail */
	T_STREQ(t, "add elems a4 1\nadd elems n4 1\ndestroy elems ing4 1\nadd elems ing4 1\n");
	T_ASSERT(!(msg(&nft, 1)->nlmsg_flags & NLM_F_EXCL));
	nft_batch_begin(&nft);
	T_EQ(pnft_frag_del(&nft, f), 0);
	T_EQ(nft_batch_commit(&nft), 0);
	trace(&nft, t, TEXT_MAX);
	T_STREQ(t, "destroy elems a4 1\ndestroy elems n4 1\ndestroy elems ing4 1\n");
	/* its class chains need the kernel's list: a dry handle has none */
	cchain(f, "ci-x", POL_IN, "pi-1", NULL);
	nft_batch_begin(&nft);
	T_EQ(pnft_frag_add(&nft, f, NULL), -ENOTCONN);
	nft_close(&nft);
	free(t);
	rs_free(f);
}

static void test_intervals_merged_and_edges(void)
{
	struct pol_ruleset *rs = rs_new("s");
	static struct sim s;
	char err[256], *text = malloc(TEXT_MAX);
	struct pol_set *x;

	x = set(rs, "b4", POL_SET_NET4);
	net(x, "10.0.0.0", "10.0.0.9");
	net(x, "10.0.0.10", "10.0.0.20"); /* touches: merged */
	net(x, "10.0.0.15", "10.0.0.30"); /* overlaps: merged */
	net(x, "255.255.255.0", "255.255.255.255"); /* the top: no end element */
	x = set(rs, "b6", POL_SET_NET6);
	net(x, "::", "::"); /* one address */
	x = set(rs, "p", POL_SET_PORTS);
	ports(x, IPPROTO_TCP, 1000, 2000);
	ports(x, IPPROTO_TCP, 80, 80);
	ports(x, IPPROTO_TCP, 81, 90);
	ports(x, IPPROTO_TCP, 1500, 65535);
	ports(x, IPPROTO_SCTP, 80, 80);
	memset(&s, 0, sizeof(s));
	T_EQ(sim_replace(&s, rs, err, sizeof(err)), 0);
	sim_text(&s, text, TEXT_MAX);
	T_ASSERT(strstr(text, "set b4\n  0a000000//0:\n  0a00001f//1:\n  ffffff00//0:\nset b6\n"
			      "  00000000000000000000000000000000//0:\n"
			      "  00000000000000000000000000000001//1:\n"));
	T_ASSERT(strstr(text, "set p\n  0600000000500000/06000000005a0000/0:\n"
			      "  0600000003e80000/06000000ffff0000/0:\n"
			      "  8400000000500000/8400000000500000/0:\n"));
	sim_done(&s);
	rs_free(rs);
	free(text);
}

static void test_invalid_named(void)
{
	struct pol_ruleset *rs = rs_one();
	struct nft nft;

	T_EQ(nft_open_dry(&nft), 0);
	/* an IPv6 address in an IPv4 set */
	(void)ip_parse("fd00::9", &rs->sets[0].e[1].ip);
	nft_batch_begin(&nft);
	T_EQ(pnft_replace(&nft, rs, NULL), -EINVAL);
	T_STREQ(nft_errmsg(&nft),
		"set a4: element 1: address of the wrong family: Invalid argument");
	(void)ip_parse("10.1.0.3", &rs->sets[0].e[1].ip);
	/* a rule whose address set is a named-port set */
	snprintf(rs->pchains[0].rules[0].addr_set, POL_NAME_MAX, "%s", "n4");
	nft_batch_begin(&nft);
	T_EQ(pnft_replace(&nft, rs, NULL), -EINVAL);
	T_STREQ(nft_errmsg(&nft),
		"chain pi-1: rule 0: address set of another kind: Invalid argument");
	snprintf(rs->pchains[0].rules[0].addr_set, POL_NAME_MAX, "%s", "a4");
	/* a fixed map redeclared as something else */
	rs->sets[5].kind = POL_SET_ADDR4;
	nft_batch_begin(&nft);
	T_EQ(pnft_replace(&nft, rs, NULL), -EINVAL);
	T_STREQ(nft_errmsg(&nft), "set ing4: not of its fixed kind: Invalid argument");
	nft_close(&nft);
	rs_free(rs);
}

static void test_comments(void)
{
	char out[NFT_COMMENT_MAX + 1], policy[254];

	pnft_policy_comment("x", "allow", " ingress[3]", out, sizeof(out));
	T_STREQ(out, "x/allow ingress[3]");
	/* a long policy name is cut, the rule's index kept: at most NFT_COMMENT_MAX bytes */
	memset(policy, 'a', sizeof(policy) - 1);
	policy[sizeof(policy) - 1] = '\0';
	pnft_policy_comment("ns", policy, " egress[12]", out, sizeof(out));
	T_EQ(strlen(out), NFT_COMMENT_MAX);
	T_ASSERT(!strncmp(out, "ns/aaaa", 7));
	T_STREQ(out + NFT_COMMENT_MAX - 11, " egress[12]");
}

/* --- Rendered rulesets ---------------------------------------------------------------- */

#define NS(n) "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: '" n "'\n"
#define POD(ns, n, lbl)                                                                 \
	"---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: '" n "'\n  namespace: '" ns \
	"'\n  labels: " lbl "\n"
#define NP(ns, n)                                                                            \
	"---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: '" n \
	"'\n  namespace: '" ns "'\nspec:\n"
#define PORTS(list) "spec: {containers: [{name: c, ports: [" list "]}]}\n"

/* Node n1's view of x (a, b, f on n1; g on n2) and y (c on n1), a policy of each shape */
static int cluster(void)
{
	m_reset("n1");
	return put(NS("x") "  labels: {ns: x}\n" NS("y") "  labels: {ns: 'y'}\n" POD(
		       "x", "a", "{app: web}") PORTS("{name: http, containerPort: 8080}")
			   POD("x", "b", "{app: web}") PORTS("{name: http, containerPort: 8080}")
				   POD("x", "f", "{app: db}") POD("x", "g", "{app: web}")
					   POD("y", "c", "{app: cli}")
						   NP("x", "web") "  podSelector: {matchLabels: {app: web}}\n"
		       "  ingress:\n"
		       "  - from: [{namespaceSelector: {matchLabels: {ns: 'y'}}}]\n"
		       "    ports: [{port: http}, {port: 80, endPort: 90}]\n"
		       "  - from: [{ipBlock: {cidr: 10.9.0.0/16, except: [10.9.1.0/24]}}]\n" NP(
			       "x", "deny") "  podSelector: {}\n  policyTypes: [Ingress, Egress]\n"
		       "  egress:\n"
		       "  - to: [{podSelector: {matchLabels: {app: db}}}]\n"
		       "    ports: [{protocol: UDP, port: 53}]\n") -
		       1
	       ?: ep("n1", "ca", "x", "a", "10.0.1.1 fd00::1:1", NULL) - 1
	       ?: ep("n1", "cb", "x", "b", "10.0.1.2 fd00::1:2", NULL) - 1
	       ?: ep("n1", "cf", "x", "f", "10.0.1.3 fd00::1:3", NULL) - 1
	       ?: ep("n2", "cg", "x", "g", "10.0.2.1 fd00::2:1", NULL) - 1
	       ?: ep("n1", "cc", "y", "c", "10.0.1.4 fd00::1:4", NULL) - 1;
}

static int render_into(struct pol_ruleset *out)
{
	struct err e = {0};
	int r = pol_render(M, out, &e);

	if (r < 0)
		printf("  render: %s\n", e.msg);
	return r;
}

/* What the renderer makes goes through the same checks as the hand-made rulesets: every
 * step valid, the difference equal to a replace, both ways, after every kind of change. */
static void test_rendered_diffs(void)
{
	struct pol_ruleset a = {0}, b = {0};

	T_EQ(cluster(), 0);
	T_EQ(render_into(&a), 0);
	T_ASSERT(a.npchains >= 3 && a.ncchains >= 2);
	/* a pod relabelled, a pod added, a policy changed, one deleted, one added */
	T_EQ(put(POD("x", "f", "{app: web}") POD("x", "h", "{app: db}")), 1);
	T_EQ(ep("n1", "ch", "x", "h", "10.0.1.9 fd00::1:9", NULL), 1);
	T_EQ(put(NP("x", "web") "  podSelector: {matchLabels: {app: web}}\n"
				"  ingress:\n"
				"  - from: [{namespaceSelector: {matchLabels: {ns: 'y'}}}]\n"
				"    ports: [{port: 80, endPort: 99}]\n"),
	     1);
	T_EQ(del("policies/x/deny"), 1);
	T_EQ(put(NP("y", "iso") "  podSelector: {}\n"), 1);
	T_EQ(render_into(&b), 0);
	diff_case(&a, &b, NULL);
	T_ASSERT(!t_failed);
	diff_case(&b, &a, NULL);
	T_ASSERT(!t_failed);
	pol_ruleset_free(&a);
	pol_ruleset_free(&b);
}

/* replace(without E) + frag_add(E) == replace(with E), and frag_del(E) takes it back (E
 * shares its class with another pod, so the class chains are the same on both sides) */
static void test_rendered_fragments(void)
{
	struct pol_ruleset with = {0}, without = {0}, frag = {0};
	char *ta = malloc(TEXT_MAX), *tb = malloc(TEXT_MAX), err[256];
	static struct sim s, want;
	struct err e = {0};
	struct nft nft;
	size_t nc;

	T_EQ(cluster(), 0);
	T_EQ(render_into(&with), 0);
	T_EQ(pol_render_endpoint(M, "endpoints/n1/cb-eth0", &frag, &e), 0);
	T_ASSERT(frag.ncchains > 0 && frag.nsets > 0);
	T_EQ(del("endpoints/n1/cb-eth0"), 1);
	T_EQ(render_into(&without), 0);
	memset(&s, 0, sizeof(s));
	memset(&want, 0, sizeof(want));
	T_EQ(sim_replace(&s, &without, err, sizeof(err)), 0);
	T_EQ(sim_replace(&want, &with, err, sizeof(err)), 0);
	for (size_t i = 0; i < frag.ncchains; i++) /* what frag_add would find in the kernel */
		T_ASSERT(sim_find(s.chains, frag.cchains[i].name));
	nc = frag.ncchains;
	frag.ncchains = 0;
	T_EQ(nft_open_dry(&nft), 0);
	nft_batch_begin(&nft);
	T_EQ(pnft_frag_add(&nft, &frag, NULL), 0);
	T_EQ(nft_batch_commit(&nft), 0);
	T_EQ(sim_apply(&s, &nft), 0);
	sim_text(&s, ta, TEXT_MAX);
	sim_text(&want, tb, TEXT_MAX);
	T_STREQ(ta, tb);
	nft_batch_begin(&nft);
	T_EQ(pnft_frag_del(&nft, &frag), 0);
	T_EQ(nft_batch_commit(&nft), 0);
	T_EQ(sim_apply(&s, &nft), 0);
	sim_done(&want);
	T_EQ(sim_replace(&want, &without, err, sizeof(err)), 0);
	sim_text(&s, ta, TEXT_MAX);
	sim_text(&want, tb, TEXT_MAX);
	T_STREQ(ta, tb);
	frag.ncchains = nc;
	nft_close(&nft);
	sim_done(&s);
	sim_done(&want);
	pol_ruleset_free(&with);
	pol_ruleset_free(&without);
	pol_ruleset_free(&frag);
	free(ta);
	free(tb);
}

int main(void)
{
	T_RUN(test_replace_valid_at_every_step);
	T_RUN(test_replace_order_and_rules);
	T_RUN(test_diff_valid_and_equal);
	T_RUN(test_diff_changed_chain);
	T_RUN(test_frag_batches);
	T_RUN(test_intervals_merged_and_edges);
	T_RUN(test_invalid_named);
	T_RUN(test_comments);
	T_RUN(test_rendered_diffs);
	T_RUN(test_rendered_fragments);
	pol_model_free(M);
	pol_ruleset_free(&RS);
	return T_EXIT();
}
