// SPDX-License-Identifier: Apache-2.0
/* Bandwidth shaping of one attachment: tbf math, the IFB's name and owner alias, and the
 * kernel steps (IFB, qdisc look-ups, the redirect check). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>
#include <libmnl/libmnl.h>

#include "node/shaping.h"
#include "base/name.h"
#include "netlink/nl.h"
#include "netlink/nl_link.h"
#include "netlink/nl_tc.h"

enum shaping_err shaping_tbf_params(uint64_t rate_bits, uint64_t burst_bits,
				    unsigned int latency_ms, struct shaping_tbf *ret)
{
	struct shaping_tbf t = {0};
	uint64_t queued;

	if (rate_bits && !burst_bits)
		return SHAPING_ERR_RATE_ONLY;
	if (burst_bits && !rate_bits)
		return SHAPING_ERR_BURST_ONLY;
	if (rate_bits && rate_bits < SHAPING_RATE_MIN)
		return SHAPING_ERR_RATE_MIN;
	if (burst_bits > SHAPING_BURST_MAX)
		return SHAPING_ERR_BURST_MAX;
	if (burst_bits && burst_bits < SHAPING_BURST_MIN)
		return SHAPING_ERR_BURST_MIN;
	if (rate_bits) {
		t.rate = rate_bits / 8;
		t.burst = (uint32_t)(burst_bits / 8);
		/* rate * latency in 128 bits would be exact; saturating is enough here */
		queued = t.rate > UINT64_MAX / 1000 ? UINT64_MAX : t.rate * latency_ms / 1000;
		queued = queued > UINT32_MAX - t.burst ? UINT32_MAX : queued + t.burst;
		t.limit = (uint32_t)queued;
	}
	*ret = t;
	return SHAPING_OK;
}

uint32_t shaping_buffer_ticks(double tick_in_usec, const struct shaping_tbf *t)
{
	double ticks;

	if (!t->rate)
		return 0;
	ticks = (double)t->burst / (double)t->rate * 1e6 * tick_in_usec;
	/* the kernel keeps the time in 64-bit ns and reports it in a u32 of ticks: it wraps */
	return (uint32_t)(uint64_t)ticks;
}

bool shaping_tbf_matches(const struct nl_qdisc *q, const struct shaping_tbf *t, double tick_in_usec)
{
	double exact = (double)t->burst / (double)t->rate * 1e6 * tick_in_usec;
	uint32_t want = shaping_buffer_ticks(tick_in_usec, t);
	int32_t diff = (int32_t)(q->buffer - want);
	double slack = 4 + exact * 1e-5;

	if (strcmp(q->kind, "tbf") || !(q->has & NL_QDISC_HAS_TBF))
		return false;
	return q->rate == t->rate && q->limit == t->limit && diff <= slack && -diff <= slack;
}

char *shaping_ifb_name(char out[16], const char *containerid, const char *ifname)
{
	return name_hash(out, SHAPING_IFB_PREFIX, containerid, ifname);
}

struct qdisc_find {
	uint32_t parent;
	struct nl_qdisc q;
	bool found;
};

static int qdisc_find_cb(const struct nl_qdisc *q, void *data)
{
	struct qdisc_find *f = data;

	/* handle 0 is the kernel's default (noqueue, pfifo_fast, mq...), which anyone may
	 * replace */
	if (q->parent == f->parent && q->handle && !f->found) {
		f->q = *q;
		f->found = true;
	}
	return 0;
}

int shaping_qdisc_at(struct nl *nl, int ifindex, uint32_t parent, struct nl_qdisc *ret_qdisc)
{
	struct qdisc_find f = {.parent = parent};
	int r = nl_qdisc_dump(nl, ifindex, qdisc_find_cb, &f);

	if (r < 0)
		return r;
	if (!f.found)
		return -ENOENT;
	*ret_qdisc = f.q;
	return 0;
}

struct ifb_echo {
	struct nl_link link;
	bool found;
};

static int ifb_echo_cb(const struct nlmsghdr *nlh, void *data)
{
	struct ifb_echo *e = data;

	if (nlh->nlmsg_type != RTM_NEWLINK || e->found)
		return 0;
	if (nl_link_parse(nlh, &e->link) < 0)
		return -EBADMSG;
	e->found = true;
	return 0;
}

int shaping_ifb_create(struct nl *nl, const char *name, unsigned int mtu, struct nl_link *ret_link)
{
	struct ifb_echo e = {.found = false};
	char msg[sizeof(nl->errmsg)];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	struct nlattr *info;
	int r;

	if (strlen(name) >= IFNAMSIZ)
		return nl_fail(nl, -EINVAL, "invalid interface name");
	/* NLM_F_ECHO: kernels since 6.3 send the new link back, which spares a look-up */
	nlh = nl_msg(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "ifb");
	mnl_attr_nest_end(nlh, info);
	r = nl_talk(nl, nlh, ifb_echo_cb, &e);
	if (r < 0)
		return r;
	if (e.found && !strcmp(e.link.name, name)) {
		*ret_link = e.link;
		return 0;
	}
	r = nl_link_get_by_name(nl, name, ret_link);
	if (r < 0) {
		/* keep the kernel's reason over the cleanup's */
		snprintf(msg, sizeof(msg), "%s", nl_errmsg(nl));
		(void)nl_link_del_by_name(nl, name);
		(void)nl_fail(nl, r, msg);
	}
	return r;
}

static struct nlmsghdr *setlink_msg(struct nl *nl, int ifindex, unsigned int up)
{
	struct nlmsghdr *nlh = nl_msg(nl, RTM_SETLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	ifi->ifi_flags = up;
	ifi->ifi_change = up;
	return nlh;
}

/* The alias, and no IPv6 link-local address: an IFB never needs one, and generating it
 * is most of what bringing the device up costs. Without IPv6 in the kernel, the alias
 * alone. */
static int ifb_alias(struct nl *nl, int ifindex, const char *alias, bool no_ll)
{
	struct nlmsghdr *nlh = setlink_msg(nl, ifindex, 0);
	struct nlattr *af, *v6;
	int r;

	/* the kernel takes the alias without its NUL */
	mnl_attr_put(nlh, IFLA_IFALIAS, strlen(alias), alias);
	if (no_ll) {
		af = mnl_attr_nest_start(nlh, IFLA_AF_SPEC);
		v6 = mnl_attr_nest_start(nlh, AF_INET6);
		mnl_attr_put_u8(nlh, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
		mnl_attr_nest_end(nlh, v6);
		mnl_attr_nest_end(nlh, af);
	}
	r = nl_talk(nl, nlh, NULL, NULL);
	if (no_ll && (r == -EAFNOSUPPORT || r == -EOPNOTSUPP))
		return ifb_alias(nl, ifindex, alias, false);
	return r;
}

int shaping_ifb_up(struct nl *nl, int ifindex, const char *alias)
{
	int r;

	if (ifindex <= 0 || strlen(alias) >= NL_ALIAS_MAX)
		return nl_fail(nl, -EINVAL, "invalid ifindex or alias");
	/* IFF_UP goes first in the kernel's setlink, before the address generation mode:
	 * two messages */
	r = ifb_alias(nl, ifindex, alias, true);
	return r < 0 ? r : nl_talk(nl, setlink_msg(nl, ifindex, IFF_UP), NULL, NULL);
}

struct redirect_find {
	int target;
	bool found;
};

static int redirect_cb(const struct nl_filter *f, void *data)
{
	struct redirect_find *d = data;

	if (!strcmp(f->kind, "u32") && (f->has & NL_FILTER_HAS_MIRRED) &&
	    f->mirred_eaction == TCA_EGRESS_REDIR && f->mirred_ifindex == d->target)
		d->found = true;
	return 0;
}

int shaping_redirects_to(struct nl *nl, int ifindex, int target)
{
	struct redirect_find d = {.target = target};
	int r = nl_filter_dump(nl, ifindex, SHAPING_INGRESS_HANDLE, redirect_cb, &d);

	return r < 0 ? r : d.found;
}
