// SPDX-License-Identifier: Apache-2.0
/* sluice-bandwidth: chained after a veth-based plugin, limits a pod's traffic as upstream
 * bandwidth does: a tbf on the host veth for traffic into the pod, and a tbf on an IFB of
 * ours, fed by the veth's ingress qdisc and a u32 + mirred redirect, for traffic out of it.
 * Same configuration and `bandwidth` capability; the tbf latency is configurable. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/pkt_sched.h>

#include <cjson/cJSON.h>

#include "base/log.h"
#include "cni/cni.h"
#include "cni/conf.h"
#include "cni/result.h"
#include "netlink/netns.h"
#include "netlink/nl.h"
#include "netlink/nl_link.h"
#include "netlink/nl_tc.h"
#include "node/owner.h"
#include "node/shaping.h"

struct bw_conf {
	struct shaping_tbf in; /* into the pod: the veth's root; rate 0 when unshaped */
	struct shaping_tbf eg; /* out of the pod: the IFB's root */
	unsigned int latency_ms;
};

/* Everything one call works with. */
struct bw_call {
	struct cni_ctx *ctx;
	struct bw_conf c;
	struct nl nl; /* host netns */
	struct nl cnl; /* container netns */
	int netns_fd;
	char ifb_name[IFNAMSIZ];
	char alias[NL_ALIAS_MAX];
	struct nl_link veth; /* the host end */
	struct nl_link ifb;
};

static const char *const dir_keys[2][2] = {
	{"ingressRate", "ingressBurst"},
	{"egressRate", "egressBurst"},
};

/* A rate or burst; false (recorded) when it is not a non-negative integer. */
static bool read_bits(struct conf *cf, const cJSON *obj, const char *where, const char *key,
		      uint64_t *ret)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	double d;

	*ret = 0;
	if (!v || cJSON_IsNull(v))
		return true;
	d = v->valuedouble;
	if (!cJSON_IsNumber(v) || d != floor(d) || d < 0 || d >= 18446744073709551616.0) {
		conf_error(cf, CNI_ERR_CONFIG, "%s%s: must be a non-negative integer", where, key);
		return false;
	}
	*ret = (uint64_t)d;
	return true;
}

/* One direction's rate and burst, checked as upstream checks them (and a rate of at least
 * one byte per second and a burst of at least one byte, which upstream lets through to a
 * kernel error). */
static void check_dir(struct conf *cf, const char *where, int dir, const uint64_t bits[2],
		      unsigned int latency_ms, struct shaping_tbf *ret)
{
	const char *rk = dir_keys[dir][0], *bk = dir_keys[dir][1];

	switch (shaping_tbf_params(bits[0], bits[1], latency_ms, ret)) {
	case SHAPING_OK:
		return;
	case SHAPING_ERR_RATE_ONLY:
		conf_error(cf, CNI_ERR_CONFIG, "%s%s is set but %s is not: set both, or neither",
			   where, rk, bk);
		break;
	case SHAPING_ERR_BURST_ONLY:
		conf_error(cf, CNI_ERR_CONFIG, "%s%s is set but %s is not: set both, or neither",
			   where, bk, rk);
		break;
	case SHAPING_ERR_RATE_MIN:
		conf_error(cf, CNI_ERR_CONFIG, "%s%s: %llu bit/s is below the minimum of %u", where,
			   rk, (unsigned long long)bits[0], SHAPING_RATE_MIN);
		break;
	case SHAPING_ERR_BURST_MAX:
		conf_error(cf, CNI_ERR_CONFIG,
			   "%s%s: burst cannot be more than 4GB (%llu bits; burst/8 must be below "
			   "4294967295 bytes)",
			   where, bk, (unsigned long long)bits[1]);
		break;
	case SHAPING_ERR_BURST_MIN:
		conf_error(cf, CNI_ERR_CONFIG,
			   "%s%s: %llu is below the minimum of %u bits (burst/8 is the bucket in "
			   "bytes, and the kernel refuses an empty one)",
			   where, bk, (unsigned long long)bits[1], SHAPING_BURST_MIN);
		break;
	}
	memset(ret, 0, sizeof(*ret));
}

/* The rates and bursts: top-level ones win over the `bandwidth` capability as a whole, as
 * upstream's do. */
static const cJSON *rates_source(struct conf *cf, const char **ret_where)
{
	const cJSON *o = cf->ctx->conf, *rc;

	*ret_where = "";
	for (int d = 0; d < 2; d++)
		for (int k = 0; k < 2; k++) {
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, dir_keys[d][k]);

			if (v && !cJSON_IsNull(v))
				return o;
		}
	*ret_where = "runtimeConfig.bandwidth.";
	rc = cni_runtime(cf->ctx, "bandwidth");
	if (rc && !cJSON_IsObject(rc)) {
		conf_error(cf, CNI_ERR_CONFIG, "runtimeConfig.bandwidth: must be an object");
		return NULL;
	}
	return rc;
}

static int load_conf(struct cni_ctx *ctx, struct bw_conf *c)
{
	uint64_t bits[2][2];
	bool ok[2] = {true, true};
	const char *where;
	const cJSON *src;
	struct conf cf;

	memset(c, 0, sizeof(*c));
	conf_init(&cf, ctx);
	src = rates_source(&cf, &where);
	for (int d = 0; d < 2; d++)
		for (int k = 0; k < 2; k++)
			ok[d] &= read_bits(&cf, src, where, dir_keys[d][k], &bits[d][k]);
	c->latency_ms = (unsigned int)conf_int(&cf, ctx->conf, "latencyMs", SHAPING_LATENCY_MS, 0,
					       SHAPING_LATENCY_MS_MAX);
	if (ok[0])
		check_dir(&cf, where, 0, bits[0], c->latency_ms, &c->in);
	if (ok[1])
		check_dir(&cf, where, 1, bits[1], c->latency_ms, &c->eg);
	return conf_done(&cf);
}

static void call_init(struct bw_call *b, struct cni_ctx *ctx)
{
	const char *cid = ctx->containerid ? ctx->containerid : "";
	const char *ifn = ctx->ifname ? ctx->ifname : "";

	memset(b, 0, sizeof(*b));
	b->ctx = ctx;
	b->netns_fd = -1;
	shaping_ifb_name(b->ifb_name, cid, ifn);
	/* fits: a network name or ID too long for it goes in as its key */
	(void)owner_alias(b->alias, sizeof(b->alias), ctx->name, cid, ifn);
}

static void call_done(struct bw_call *b)
{
	nl_close(&b->cnl);
	nl_close(&b->nl);
	if (b->netns_fd >= 0)
		close(b->netns_fd);
}

static int nl_err(struct bw_call *b, struct nl *nl, int r, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int nl_err(struct bw_call *b, struct nl *nl, int r, const char *fmt, ...)
{
	char what[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return cni_fail_kernel(b->ctx, r, nl_errmsg(nl), "%s", what);
}

static int open_host(struct bw_call *b)
{
	int r = b->nl.sk ? 0 : nl_open(&b->nl, -1);

	return r < 0 ? cni_fail(b->ctx, CNI_ERR_KERNEL, r, "netlink: %s", strerror(-r)) : 0;
}

static int open_netns(struct bw_call *b)
{
	int r;

	b->netns_fd = netns_open_cni(b->ctx);
	if (b->netns_fd < 0)
		return b->netns_fd;
	r = nl_open(&b->cnl, b->netns_fd);
	return r < 0 ? cni_fail(b->ctx, CNI_ERR_KERNEL, r, "netlink in netns: %s", strerror(-r))
		     : 0;
}

/* The host end of the pod's veth, as upstream finds it: CNI_IFNAME in the netns is a veth,
 * its peer's ifindex names the host end, which prevResult must list on the host side. So
 * any veth-based plugin before us works, whatever it calls the host end. code is what a
 * chain that does not fit gets: 7 on ADD, 103 on CHECK. */
static int find_veth(struct bw_call *b, const struct cni_result *prev, int code)
{
	const char *ifn = b->ctx->ifname;
	struct nl_link cont;
	int r;

	if ((r = open_netns(b)) < 0 || (r = open_host(b)) < 0)
		return r;
	r = nl_link_get_by_name(&b->cnl, ifn, &cont);
	if (r == -ENODEV)
		return cni_fail(b->ctx, code, r, "container interface %s not found in %s", ifn,
				b->ctx->netns);
	if (r < 0)
		return nl_err(b, &b->cnl, r, "look up %s in the container", ifn);
	if (strcmp(cont.kind, "veth") || !(cont.has & NL_LINK_HAS_LINK))
		return cni_fail(b->ctx, code, -EINVAL,
				"container interface %s is %s%s, not a veth: sluice-bandwidth "
				"shapes the host end of a veth pair",
				ifn, *cont.kind ? "a " : "a device without a kind", cont.kind);
	r = nl_link_get_by_index(&b->nl, cont.link, &b->veth);
	if (r < 0 && r != -ENODEV)
		return nl_err(b, &b->nl, r, "look up the peer of %s", ifn);
	if (r < 0 || strcmp(b->veth.kind, "veth") || b->veth.link != cont.ifindex)
		return cni_fail(b->ctx, code, -ENODEV,
				"the peer of container interface %s is not in the host netns", ifn);
	if (cni_result_find_iface(prev, b->veth.name, "") < 0)
		return cni_fail(b->ctx, code, -ENOENT,
				"%s, the host end of container interface %s, is not among the host "
				"interfaces of prevResult",
				b->veth.name, ifn);
	return 0;
}

/* After -EEXIST: somebody else's qdisc sits where ours must go, or ours does (an ADD again
 * without DEL). It is never replaced. */
static int refuse_foreign(struct bw_call *b, uint32_t parent, int r)
{
	bool root = parent == TC_H_ROOT;
	struct nl_link l;
	struct nl_qdisc q;

	if (nl_link_get_by_name(&b->nl, b->ifb_name, &l) == 0)
		return cni_fail(b->ctx, CNI_ERR_EXISTS, r,
				"IFB %s of this attachment already exists (ADD without DEL?)",
				b->ifb_name);
	if (shaping_qdisc_at(&b->nl, b->veth.ifindex, parent, &q) < 0)
		return nl_err(b, &b->nl, r, "add %s qdisc on %s", root ? "tbf" : "ingress",
			      b->veth.name);
	/* ingress-only shaping has no IFB to tell: our root tbf is kind and handle */
	if (root && !strcmp(q.kind, "tbf") && q.handle == SHAPING_TBF_HANDLE)
		return cni_fail(b->ctx, CNI_ERR_EXISTS, r,
				"host veth %s of this attachment already has sluice-bandwidth's "
				"root tbf qdisc (handle 1:) (ADD without DEL?)",
				b->veth.name);
	return cni_fail(b->ctx, CNI_ERR_EXISTS, r,
			"host veth %s already has %s qdisc \"%s\" (handle %x:) that "
			"sluice-bandwidth does not own and will not replace: %s shaping needs it "
			"(remove that qdisc, or leave %s unset)",
			b->veth.name, root ? "a root" : "an ingress-side", q.kind, q.handle >> 16,
			root ? "ingress" : "egress", root ? "ingressRate" : "egressRate");
}

static int add_tbf(struct bw_call *b, const struct nl_link *dev, const struct shaping_tbf *t)
{
	int r = nl_qdisc_add_tbf(&b->nl, dev->ifindex, TC_H_ROOT, SHAPING_TBF_HANDLE, t->rate,
				 t->burst, t->limit);

	if (r == -EEXIST && dev == &b->veth)
		return refuse_foreign(b, TC_H_ROOT, r);
	if (r < 0)
		return nl_err(b, &b->nl, r, "add tbf qdisc on %s", dev->name);
	log_info("added tbf qdisc on %s: rate %llu bytes/s, burst %u bytes, limit %u bytes",
		 dev->name, (unsigned long long)t->rate, t->burst, t->limit);
	return 0;
}

static int add_ingress(struct bw_call *b)
{
	int r = nl_qdisc_add_ingress(&b->nl, b->veth.ifindex);

	if (r == -EEXIST)
		return refuse_foreign(b, TC_H_INGRESS, r);
	if (r < 0)
		return nl_err(b, &b->nl, r, "add ingress qdisc on %s", b->veth.name);
	log_info("added ingress qdisc on %s", b->veth.name);
	return 0;
}

static int create_ifb(struct bw_call *b)
{
	int r = shaping_ifb_create(&b->nl, b->ifb_name, b->veth.mtu, &b->ifb);

	if (r == -EEXIST)
		return cni_fail(b->ctx, CNI_ERR_EXISTS, r,
				"IFB %s of this attachment already exists (ADD without DEL?)",
				b->ifb_name);
	if (r < 0)
		return nl_err(b, &b->nl, r, "create IFB %s", b->ifb_name);
	log_info("created IFB %s", b->ifb_name);
	return 0;
}

static int ifb_up(struct bw_call *b)
{
	int r = shaping_ifb_up(&b->nl, b->ifb.ifindex, b->alias);

	if (r == 0)
		log_info("set IFB %s up", b->ifb_name);
	return r < 0 ? nl_err(b, &b->nl, r, "set IFB %s up", b->ifb_name) : 0;
}

static int add_redirect(struct bw_call *b)
{
	int r = nl_filter_add_u32_mirred_redirect(&b->nl, b->veth.ifindex, SHAPING_INGRESS_HANDLE,
						  b->ifb.ifindex);

	if (r == 0)
		log_info("added u32 filter redirecting %s to %s", b->veth.name, b->ifb_name);
	return r < 0 ? nl_err(b, &b->nl, r, "redirect %s to %s", b->veth.name, b->ifb_name) : 0;
}

/* Undo steps: failures are logged (the first error is already recorded). */
static void undo(struct bw_call *b, int r, const char *what)
{
	if (r == 0)
		log_info("undo: %s", what);
	if (r < 0 && r != -ENOENT && r != -ENODEV && r != -EINVAL)
		(void)nl_err(b, &b->nl, r, "undo: %s", what);
}

static int parse_prev(struct bw_call *b, struct cni_result *res)
{
	char err[256];

	if (!b->ctx->prev)
		return 0;
	if (cni_result_parse(b->ctx->prev, res, err, sizeof(err)) < 0)
		return cni_fail(b->ctx, CNI_ERR_DECODE, -EINVAL, "prevResult: %s", err);
	return 0;
}

static int add_egress(struct bw_call *b, struct cni_result *res)
{
	struct cni_ctx *ctx = b->ctx;
	char mac[18];
	int r;

	if ((r = add_ingress(b)) < 0)
		return r;
	if ((r = cni_fault(ctx, "ingress")) < 0 || (r = create_ifb(b)) < 0)
		goto err_ingress;
	/* the IFB's tbf goes on while it is down, its alias and IFF_UP after */
	if ((r = cni_fault(ctx, "ifb")) < 0 || (r = add_tbf(b, &b->ifb, &b->c.eg)) < 0 ||
	    (r = cni_fault(ctx, "ifb-tbf")) < 0 || (r = ifb_up(b)) < 0 ||
	    (r = cni_fault(ctx, "ifb-up")) < 0 || (r = add_redirect(b)) < 0 ||
	    (r = cni_fault(ctx, "redirect")) < 0 ||
	    (r = cni_result_add_iface(res, b->ifb_name, mac_fmt(b->ifb.mac, mac), NULL)) < 0)
		goto err_ifb;
	return 0;
err_ifb:
	undo(b, nl_link_del_by_name(&b->nl, b->ifb_name), "delete IFB");
err_ingress:
	undo(b, nl_qdisc_del(&b->nl, b->veth.ifindex, TC_H_INGRESS, SHAPING_INGRESS_HANDLE),
	     "delete ingress qdisc");
	return r;
}

static int bw_add(struct cni_ctx *ctx)
{
	struct cni_result res = {0};
	struct bw_call b;
	int r;

	call_init(&b, ctx);
	if ((r = load_conf(ctx, &b.c)) < 0 || (r = parse_prev(&b, &res)) < 0)
		goto out;
	/* nothing to shape: pass prevResult on and touch nothing */
	if (!b.c.in.rate && !b.c.eg.rate) {
		r = cni_result_print(ctx, &res);
		goto out;
	}
	if (!ctx->prev) {
		r = cni_fail(ctx, CNI_ERR_CONFIG, -EINVAL,
			     "Required prevResult missing: sluice-bandwidth is chained after a "
			     "plugin that creates a veth pair");
		goto out;
	}
	if ((r = find_veth(&b, &res, CNI_ERR_CONFIG)) < 0)
		goto out;
	if (b.c.in.rate && (r = add_tbf(&b, &b.veth, &b.c.in)) < 0)
		goto out;
	if ((r = cni_fault(ctx, "veth-tbf")) < 0 || (b.c.eg.rate && (r = add_egress(&b, &res)) < 0))
		goto err_tbf;
	if ((r = cni_fault(ctx, "result")) < 0 || (r = cni_result_print(ctx, &res)) < 0)
		goto err_egress;
	goto out;
err_egress:
	if (b.c.eg.rate) {
		undo(&b, nl_link_del_by_name(&b.nl, b.ifb_name), "delete IFB");
		undo(&b, nl_qdisc_del(&b.nl, b.veth.ifindex, TC_H_INGRESS, SHAPING_INGRESS_HANDLE),
		     "delete ingress qdisc");
	}
err_tbf:
	/* the tbf this call added, matched by its handle */
	if (b.c.in.rate)
		undo(&b, nl_qdisc_del(&b.nl, b.veth.ifindex, TC_H_ROOT, SHAPING_TBF_HANDLE),
		     "delete tbf qdisc");
out:
	cni_result_done(&res);
	call_done(&b);
	return r;
}

/* DEL removes the IFB by its derived name: no netns, prevResult or rates needed (a config
 * ADD would reject must not fail it: libcni stops a chain's DEL at its first error, and the
 * bridge's DEL would never run), and nothing but the kernel's own link delete on the path.
 * The veth's qdiscs go with the veth. */
static int bw_del(struct cni_ctx *ctx)
{
	struct bw_call b;
	int r;

	call_init(&b, ctx);
	if ((r = open_host(&b)) < 0)
		goto out;
	r = nl_link_del_by_name(&b.nl, b.ifb_name);
	if (r == 0)
		log_info("deleted IFB %s", b.ifb_name);
	if (r == -ENODEV)
		r = 0;
	else if (r < 0)
		r = nl_err(&b, &b.nl, r, "delete IFB %s", b.ifb_name);
out:
	call_done(&b);
	return r;
}

/* The root tbf of dev against want, within the kernel's tick rounding of the buffer. */
static int check_tbf(struct bw_call *b, const struct nl_link *dev, const struct shaping_tbf *want,
		     double tick)
{
	struct nl_qdisc q;
	int r = shaping_qdisc_at(&b->nl, dev->ifindex, TC_H_ROOT, &q);

	if (r == -ENOENT)
		return cni_fail(b->ctx, CNI_ERR_CHECK, -ENOENT, "%s has no tbf qdisc", dev->name);
	if (r < 0)
		return nl_err(b, &b->nl, r, "list qdiscs of %s", dev->name);
	if (!shaping_tbf_matches(&q, want, tick))
		return cni_fail(b->ctx, CNI_ERR_CHECK, -ENOENT,
				"%s: qdisc %s rate %llu limit %u buffer %u differs from the "
				"config's tbf rate %llu limit %u buffer %u",
				dev->name, q.kind, (unsigned long long)q.rate, q.limit, q.buffer,
				(unsigned long long)want->rate, want->limit,
				shaping_buffer_ticks(tick, want));
	return 0;
}

static int check_egress(struct bw_call *b, const struct cni_result *prev, double tick)
{
	struct nl_qdisc q;
	int r;

	r = nl_link_get_by_name(&b->nl, b->ifb_name, &b->ifb);
	if (r == -ENODEV || (r == 0 && strcmp(b->ifb.kind, "ifb")))
		return cni_fail(b->ctx, CNI_ERR_CHECK, -ENOENT, "IFB %s not found", b->ifb_name);
	if (r < 0)
		return nl_err(b, &b->nl, r, "look up IFB %s", b->ifb_name);
	if (strcmp(b->ifb.alias, b->alias))
		return cni_fail(b->ctx, CNI_ERR_CHECK, -ENOENT,
				"IFB %s is not owned by this attachment (alias \"%s\")",
				b->ifb_name, b->ifb.alias);
	if (cni_result_find_iface(prev, b->ifb_name, "") < 0)
		return cni_fail(b->ctx, CNI_ERR_CHECK, -ENOENT,
				"IFB %s is not among the interfaces of prevResult", b->ifb_name);
	if ((r = check_tbf(b, &b->ifb, &b->c.eg, tick)) < 0)
		return r;
	r = shaping_qdisc_at(&b->nl, b->veth.ifindex, TC_H_INGRESS, &q);
	if (r < 0 && r != -ENOENT)
		return nl_err(b, &b->nl, r, "list qdiscs of %s", b->veth.name);
	if (r == -ENOENT || strcmp(q.kind, "ingress"))
		return cni_fail(b->ctx, CNI_ERR_CHECK, -ENOENT, "%s has no ingress qdisc",
				b->veth.name);
	r = shaping_redirects_to(&b->nl, b->veth.ifindex, b->ifb.ifindex);
	if (r < 0)
		return nl_err(b, &b->nl, r, "list filters of %s", b->veth.name);
	return r ? 0
		 : cni_fail(b->ctx, CNI_ERR_CHECK, -ENOENT, "%s does not redirect to %s",
			    b->veth.name, b->ifb_name);
}

/* CHECK with no bandwidth configured has nothing to check (upstream 1.1.1 panics here). */
static int bw_check(struct cni_ctx *ctx)
{
	struct cni_result prev = {0};
	struct bw_call b;
	double tick;
	int r;

	call_init(&b, ctx);
	if ((r = load_conf(ctx, &b.c)) < 0 || (!b.c.in.rate && !b.c.eg.rate))
		goto out;
	if (!ctx->prev) {
		r = cni_fail(ctx, CNI_ERR_CONFIG, -EINVAL, "Required prevResult missing");
		goto out;
	}
	if ((r = parse_prev(&b, &prev)) < 0 || (r = find_veth(&b, &prev, CNI_ERR_CHECK)) < 0)
		goto out;
	if ((r = nl_tc_tick_in_usec(&tick)) < 0) {
		r = cni_fail(ctx, CNI_ERR_IO, r, "read /proc/net/psched: %s", strerror(-r));
		goto out;
	}
	if (b.c.in.rate && (r = check_tbf(&b, &b.veth, &b.c.in, tick)) < 0)
		goto out;
	if (b.c.eg.rate)
		r = check_egress(&b, &prev, tick);
out:
	cni_result_done(&prev);
	call_done(&b);
	return r;
}

/* GC keeps going past errors and reports the first, as the spec asks; like DEL it goes by
 * IFB alias and never reads the rates. */
static int bw_gc(struct cni_ctx *ctx)
{
	struct bw_call b;
	int r;

	call_init(&b, ctx);
	if ((r = open_host(&b)) == 0 &&
	    (r = owner_links_gc(&ctx->err, &b.nl, ctx->name, "ifb", SHAPING_IFB_PREFIX,
					 cni_valid_attachment_cb, ctx)) > 0)
		log_info("GC deleted %d stale IFB%s", r, r > 1 ? "s" : "");
	call_done(&b);
	return r;
}

static int bw_status(struct cni_ctx *ctx)
{
	struct bw_conf c;

	return load_conf(ctx, &c);
}

static const struct cni_plugin bandwidth_plugin = {
	.name = "bandwidth",
	.about = "sluice-bandwidth: tbf shaping of a pod's veth, both directions",
	.add = bw_add,
	.del = bw_del,
	.check = bw_check,
	.gc = bw_gc,
	.status = bw_status,
};

int main(int argc, char **argv)
{
	return cni_main(&bandwidth_plugin, argc, argv);
}
