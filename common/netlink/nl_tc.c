// SPDX-License-Identifier: Apache-2.0
/* Traffic control over rtnetlink: tbf and ingress qdiscs, a u32 match-all filter with a
 * mirred redirect, and their read-back. Tick math follows iproute2's tc_core.c. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>
#include <libmnl/libmnl.h>

#include "netlink/nl_tc.h"
#include "netlink/nl.h"

#define USEC_PER_SEC 1000000.0

static const enum mnl_attr_data_type tc_policy[TCA_MAX + 1] = {
	[TCA_KIND] = MNL_TYPE_NUL_STRING,
	[TCA_OPTIONS] = MNL_TYPE_NESTED,
};

static const enum mnl_attr_data_type tbf_policy[TCA_TBF_MAX + 1] = {
	[TCA_TBF_PARMS] = MNL_TYPE_BINARY,
	[TCA_TBF_RATE64] = MNL_TYPE_U64,
	[TCA_TBF_BURST] = MNL_TYPE_U32,
};

static const enum mnl_attr_data_type u32_policy[TCA_U32_MAX + 1] = {
	[TCA_U32_SEL] = MNL_TYPE_BINARY,
	[TCA_U32_ACT] = MNL_TYPE_NESTED,
};

static const enum mnl_attr_data_type act_policy[TCA_ACT_MAX + 1] = {
	[TCA_ACT_KIND] = MNL_TYPE_NUL_STRING,
	[TCA_ACT_OPTIONS] = MNL_TYPE_NESTED,
};

static const enum mnl_attr_data_type mirred_policy[TCA_MIRRED_MAX + 1] = {
	[TCA_MIRRED_PARMS] = MNL_TYPE_BINARY,
};

int nl_tc_tick_in_usec(double *ret_tick_in_usec)
{
	static double cached;
	unsigned int t2us, us2t, clock_res;
	FILE *f;
	int n;

	/* the clock does not change while we run: read the file once per process (a CHECK
	 * parses several tbfs, an ADD builds two) */
	if (cached) {
		*ret_tick_in_usec = cached;
		return 0;
	}
	f = fopen("/proc/net/psched", "re");
	if (!f)
		return -errno;
	n = fscanf(f, "%08x%08x%08x", &t2us, &us2t, &clock_res);
	fclose(f);
	if (n != 3 || !us2t || !clock_res)
		return -EIO;
	/* A clock_res of 1 GHz means the kernel reports ns in t2us; iproute2 does the same. */
	if (clock_res == 1000000000)
		t2us = us2t;
	cached = (double)t2us / us2t * (clock_res / USEC_PER_SEC);
	*ret_tick_in_usec = cached;
	return 0;
}

uint32_t nl_tc_xmittime(double tick_in_usec, uint64_t rate, uint32_t size)
{
	double t;

	if (!rate)
		return UINT32_MAX;
	t = USEC_PER_SEC * ((double)size / (double)rate) * tick_in_usec;
	return t >= UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

uint32_t nl_tc_xmitsize(double tick_in_usec, uint64_t rate, uint32_t ticks)
{
	double s;

	if (tick_in_usec <= 0)
		return 0;
	s = (double)rate * ((double)ticks / tick_in_usec) / USEC_PER_SEC;
	return s >= UINT32_MAX ? UINT32_MAX : (uint32_t)(s + 0.5);
}

static struct nlmsghdr *tc_msg(struct nl *nl, uint16_t type, uint16_t flags, int ifindex,
			       uint32_t parent, uint32_t handle, uint32_t info)
{
	struct nlmsghdr *nlh = nl_msg(nl, type, flags);
	struct tcmsg *tcm = mnl_nlmsg_put_extra_header(nlh, sizeof(*tcm));

	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = ifindex;
	tcm->tcm_parent = parent;
	tcm->tcm_handle = handle;
	tcm->tcm_info = info;
	return nlh;
}

static int parse_tbf(const struct nlattr *opts, struct nl_qdisc *q)
{
	const struct nlattr *tb[TCA_TBF_MAX + 1];
	struct tc_tbf_qopt qopt;
	double tick;

	if (nl_parse_nested(opts, tbf_policy, TCA_TBF_MAX, tb) < 0 || !tb[TCA_TBF_PARMS] ||
	    mnl_attr_get_payload_len(tb[TCA_TBF_PARMS]) < sizeof(qopt))
		return -EINVAL;
	memcpy(&qopt, mnl_attr_get_payload(tb[TCA_TBF_PARMS]), sizeof(qopt));
	q->has |= NL_QDISC_HAS_TBF;
	q->rate = tb[TCA_TBF_RATE64] ? mnl_attr_get_u64(tb[TCA_TBF_RATE64]) : qopt.rate.rate;
	q->buffer = qopt.buffer;
	q->limit = qopt.limit;
	if (tb[TCA_TBF_BURST])
		q->burst = mnl_attr_get_u32(tb[TCA_TBF_BURST]);
	else if (nl_tc_tick_in_usec(&tick) >= 0)
		q->burst = nl_tc_xmitsize(tick, q->rate, q->buffer);
	return 0;
}

int nl_qdisc_parse(const struct nlmsghdr *nlh, struct nl_qdisc *ret_qdisc)
{
	const struct tcmsg *tcm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[TCA_MAX + 1];
	struct nl_qdisc q = {0};

	if (nl_parse(nlh, sizeof(*tcm), tc_policy, TCA_MAX, tb) < 0)
		return -EINVAL;
	q.ifindex = tcm->tcm_ifindex;
	q.handle = tcm->tcm_handle;
	q.parent = tcm->tcm_parent;
	if (tb[TCA_KIND])
		snprintf(q.kind, sizeof(q.kind), "%s", mnl_attr_get_str(tb[TCA_KIND]));
	if (!strcmp(q.kind, "tbf") && tb[TCA_OPTIONS] && parse_tbf(tb[TCA_OPTIONS], &q) < 0)
		return -EINVAL;
	*ret_qdisc = q;
	return 0;
}

/* Finds a mirred action among the u32 filter's numbered actions. */
static void parse_u32_mirred(const struct nlattr *acts, struct nl_filter *f)
{
	const struct nlattr *tb[TCA_ACT_MAX + 1], *mt[TCA_MIRRED_MAX + 1], *a;
	struct tc_mirred m;

	mnl_attr_for_each_nested(a, acts) {
		if (nl_parse_nested(a, act_policy, TCA_ACT_MAX, tb) < 0 || !tb[TCA_ACT_KIND] ||
		    strcmp(mnl_attr_get_str(tb[TCA_ACT_KIND]), "mirred") || !tb[TCA_ACT_OPTIONS])
			continue;
		if (nl_parse_nested(tb[TCA_ACT_OPTIONS], mirred_policy, TCA_MIRRED_MAX, mt) < 0 ||
		    !mt[TCA_MIRRED_PARMS] ||
		    mnl_attr_get_payload_len(mt[TCA_MIRRED_PARMS]) < sizeof(m))
			continue;
		memcpy(&m, mnl_attr_get_payload(mt[TCA_MIRRED_PARMS]), sizeof(m));
		f->has |= NL_FILTER_HAS_MIRRED;
		f->mirred_eaction = m.eaction;
		f->mirred_ifindex = (int)m.ifindex;
		return;
	}
}

int nl_filter_parse(const struct nlmsghdr *nlh, struct nl_filter *ret_filter)
{
	const struct tcmsg *tcm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[TCA_MAX + 1], *ut[TCA_U32_MAX + 1];
	struct nl_filter f = {0};

	if (nl_parse(nlh, sizeof(*tcm), tc_policy, TCA_MAX, tb) < 0)
		return -EINVAL;
	f.ifindex = tcm->tcm_ifindex;
	f.parent = tcm->tcm_parent;
	f.handle = tcm->tcm_handle;
	f.prio = TC_H_MAJ(tcm->tcm_info) >> 16;
	f.protocol = ntohs(TC_H_MIN(tcm->tcm_info));
	if (tb[TCA_KIND])
		snprintf(f.kind, sizeof(f.kind), "%s", mnl_attr_get_str(tb[TCA_KIND]));
	if (!strcmp(f.kind, "u32") && tb[TCA_OPTIONS]) {
		if (nl_parse_nested(tb[TCA_OPTIONS], u32_policy, TCA_U32_MAX, ut) < 0)
			return -EINVAL;
		if (ut[TCA_U32_ACT])
			parse_u32_mirred(ut[TCA_U32_ACT], &f);
	}
	*ret_filter = f;
	return 0;
}

int nl_qdisc_add_tbf(struct nl *nl, int ifindex, uint32_t parent, uint32_t handle,
		     uint64_t rate_bytes_per_s, uint32_t burst_bytes, uint32_t limit_bytes)
{
	struct tc_tbf_qopt qopt = {0};
	struct nlmsghdr *nlh;
	struct nlattr *opts;
	double tick;
	int r;

	if (ifindex <= 0 || !rate_bytes_per_s || !burst_bytes)
		return nl_fail(nl, -EINVAL, "tbf: invalid ifindex, or zero rate or burst");
	r = nl_tc_tick_in_usec(&tick);
	if (r < 0)
		return nl_fail(nl, r, "tbf: cannot read /proc/net/psched");
	/* Rates of 4 GB/s and more only fit TCA_TBF_RATE64; the legacy field saturates. */
	qopt.rate.rate = rate_bytes_per_s >= 1ULL << 32 ? UINT32_MAX : (uint32_t)rate_bytes_per_s;
	/* An explicit link layer spares the kernel a rate table (TCA_TBF_RTAB). */
	qopt.rate.linklayer = TC_LINKLAYER_ETHERNET;
	qopt.limit = limit_bytes;
	qopt.buffer = nl_tc_xmittime(tick, rate_bytes_per_s, burst_bytes);
	nlh = tc_msg(nl, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, ifindex, parent, handle, 0);
	mnl_attr_put_strz(nlh, TCA_KIND, "tbf");
	opts = mnl_attr_nest_start(nlh, TCA_OPTIONS);
	mnl_attr_put(nlh, TCA_TBF_PARMS, sizeof(qopt), &qopt);
	if (rate_bytes_per_s >= 1ULL << 32)
		mnl_attr_put_u64(nlh, TCA_TBF_RATE64, rate_bytes_per_s);
	/* The bucket in bytes is exact where ticks round, and cannot overflow 32 bits. */
	mnl_attr_put_u32(nlh, TCA_TBF_BURST, burst_bytes);
	mnl_attr_nest_end(nlh, opts);
	return nl_talk(nl, nlh, NULL, NULL);
}

int nl_qdisc_add_ingress(struct nl *nl, int ifindex)
{
	struct nlmsghdr *nlh;

	if (ifindex <= 0)
		return nl_fail(nl, -EINVAL, "invalid ifindex");
	nlh = tc_msg(nl, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, ifindex, TC_H_INGRESS,
		     TC_H_MAKE(TC_H_INGRESS, 0), 0);
	mnl_attr_put_strz(nlh, TCA_KIND, "ingress");
	return nl_talk(nl, nlh, NULL, NULL);
}

int nl_qdisc_del(struct nl *nl, int ifindex, uint32_t parent, uint32_t handle)
{
	if (ifindex <= 0)
		return nl_fail(nl, -EINVAL, "invalid ifindex");
	return nl_talk(nl, tc_msg(nl, RTM_DELQDISC, 0, ifindex, parent, handle, 0), NULL, NULL);
}

struct qdisc_dump {
	int ifindex;
	int (*cb)(const struct nl_qdisc *q, void *data);
	void *data;
};

static int qdisc_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct qdisc_dump *d = data;
	struct nl_qdisc q;

	if (nlh->nlmsg_type != RTM_NEWQDISC)
		return 0;
	if (nl_qdisc_parse(nlh, &q) < 0)
		return -EBADMSG;
	if (d->ifindex && q.ifindex != d->ifindex)
		return 0;
	return d->cb(&q, d->data);
}

int nl_qdisc_dump(struct nl *nl, int ifindex, int (*cb)(const struct nl_qdisc *q, void *data),
		  void *data)
{
	struct qdisc_dump d = {ifindex, cb, data};

	if (ifindex < 0)
		return nl_fail(nl, -EINVAL, "invalid ifindex");
	return nl_dump(nl, tc_msg(nl, RTM_GETQDISC, 0, ifindex, 0, 0, 0), qdisc_dump_cb, &d);
}

int nl_filter_add_u32_mirred_redirect(struct nl *nl, int ifindex, uint32_t parent,
				      int target_ifindex)
{
	uint8_t sel[sizeof(struct tc_u32_sel) + sizeof(struct tc_u32_key)] = {0};
	struct tc_mirred m = {.action = TC_ACT_STOLEN, .eaction = TCA_EGRESS_REDIR};
	struct nlattr *opts, *acts, *act, *aopts;
	struct nlmsghdr *nlh;

	if (ifindex <= 0 || target_ifindex <= 0)
		return nl_fail(nl, -EINVAL, "invalid ifindex");
	m.ifindex = (uint32_t)target_ifindex;
	/* One key with mask 0 matches every packet ("match u32 0 0"). */
	((struct tc_u32_sel *)sel)->flags = TC_U32_TERMINAL;
	((struct tc_u32_sel *)sel)->nkeys = 1;
	nlh = tc_msg(nl, RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL, ifindex, parent, 0,
		     TC_H_MAKE(1U << 16, htons(ETH_P_ALL)));
	mnl_attr_put_strz(nlh, TCA_KIND, "u32");
	opts = mnl_attr_nest_start(nlh, TCA_OPTIONS);
	mnl_attr_put(nlh, TCA_U32_SEL, sizeof(sel), sel);
	acts = mnl_attr_nest_start(nlh, TCA_U32_ACT);
	act = mnl_attr_nest_start(nlh, 1); /* actions are numbered by their order */
	mnl_attr_put_strz(nlh, TCA_ACT_KIND, "mirred");
	aopts = mnl_attr_nest_start(nlh, TCA_ACT_OPTIONS);
	mnl_attr_put(nlh, TCA_MIRRED_PARMS, sizeof(m), &m);
	mnl_attr_nest_end(nlh, aopts);
	mnl_attr_nest_end(nlh, act);
	mnl_attr_nest_end(nlh, acts);
	mnl_attr_nest_end(nlh, opts);
	return nl_talk(nl, nlh, NULL, NULL);
}

int nl_filter_del(struct nl *nl, int ifindex, uint32_t parent, uint16_t prio, uint16_t protocol)
{
	if (ifindex <= 0)
		return nl_fail(nl, -EINVAL, "invalid ifindex");
	return nl_talk(nl,
		       tc_msg(nl, RTM_DELTFILTER, 0, ifindex, parent, 0,
			      TC_H_MAKE((uint32_t)prio << 16, htons(protocol))),
		       NULL, NULL);
}

struct filter_dump {
	int (*cb)(const struct nl_filter *f, void *data);
	void *data;
};

static int filter_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct filter_dump *d = data;
	struct nl_filter f;

	if (nlh->nlmsg_type != RTM_NEWTFILTER)
		return 0;
	if (nl_filter_parse(nlh, &f) < 0)
		return -EBADMSG;
	return d->cb(&f, d->data);
}

int nl_filter_dump(struct nl *nl, int ifindex, uint32_t parent,
		   int (*cb)(const struct nl_filter *f, void *data), void *data)
{
	struct filter_dump d = {cb, data};

	if (ifindex <= 0)
		return nl_fail(nl, -EINVAL, "invalid ifindex");
	return nl_dump(nl, tc_msg(nl, RTM_GETTFILTER, 0, ifindex, parent, 0, 0), filter_dump_cb,
		       &d);
}
