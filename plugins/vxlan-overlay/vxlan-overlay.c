// SPDX-License-Identifier: Apache-2.0
/* sluice-vxlan-overlay: chained after a bridge plugin, admits a pod to the VXLAN overlay. It
 * reads the node's lease from the state file beside subnet.env (never the store), refuses
 * (code 11, touching nothing) while there is no valid lease or when the pod's address lies
 * outside it, makes sure the node's VXLAN device and (when the state's IPMasq says the node
 * masquerades) its masquerade table exist (so a node can start pods before its agent runs),
 * lowers the pod's MTU to the overlay's, and passes prevResult on unchanged. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <netinet/in.h>

#include <cjson/cJSON.h>

#include "base/log.h"
#include "cni/cni.h"
#include "cni/conf.h"
#include "cni/result.h"
#include "netlink/nl.h"
#include "netlink/nl_link.h"
#include "nft/nft.h"
#include "overlay/omasq.h"
#include "overlay/vxdev.h"
#include "subnet/files.h"

struct ov_conf {
	const char *subnet_file;
};

/* An interface whose MTU ADD lowered, for the undo */
struct ov_mtu {
	struct nl *nl;
	int ifindex;
	unsigned int old;
	bool set;
};

/* Everything one call works with. */
struct ov_call {
	struct cni_ctx *ctx;
	struct ov_conf c;
	char *state_path;
	struct subnet_state st;
	struct cni_result prev;
	struct nl nl; /* host netns */
	struct nl cnl; /* container netns */
	struct nft nft;
	int netns_fd;
	struct nl_link cont; /* CNI_IFNAME in the container */
	struct nl_link veth; /* its host end, when it is a veth listed in prevResult */
	bool has_veth;
	struct ov_mtu mtu[2]; /* the pod's interface and the host veth */
};

static int load_conf(struct cni_ctx *ctx, struct ov_conf *c)
{
	struct conf cf;

	conf_init(&cf, ctx);
	c->subnet_file = conf_str(&cf, ctx->conf, "subnetFile", SUBNET_ENV_DEFAULT);
	/* relative to what? A runtime's working directory is no place for node state */
	if (c->subnet_file && c->subnet_file[0] != '/')
		conf_error(&cf, CNI_ERR_CONFIG, "subnetFile: must be an absolute path");
	return conf_done(&cf);
}

static void call_init(struct ov_call *b, struct cni_ctx *ctx)
{
	memset(b, 0, sizeof(*b));
	b->ctx = ctx;
	b->netns_fd = -1;
}

static void call_done(struct ov_call *b)
{
	nl_close(&b->cnl);
	nl_close(&b->nl);
	nft_close(&b->nft);
	if (b->netns_fd >= 0)
		close(b->netns_fd);
	cni_result_done(&b->prev);
	free(b->state_path);
}

/* The configuration and prevResult, which ADD and CHECK need */
static int load_chained(struct ov_call *b)
{
	struct cni_ctx *ctx = b->ctx;
	char err[256];
	int r;

	if ((r = load_conf(ctx, &b->c)) < 0)
		return r;
	if (!ctx->prev)
		return cni_fail(
			ctx, CNI_ERR_CONFIG, -EINVAL,
			"Required prevResult missing: sluice-vxlan-overlay is chained after "
			"a bridge plugin");
	if (cni_result_parse(ctx->prev, &b->prev, err, sizeof(err)) < 0)
		return cni_fail(ctx, CNI_ERR_DECODE, -EINVAL, "prevResult: %s", err);
	return 0;
}

/* The node's lease: code (11, or 50 for STATUS) when there is none or it expired. A state
 * file that cannot be read is its own error (its code says why). */
static int load_state(struct ov_call *b, int code)
{
	struct cni_ctx *ctx = b->ctx;
	char when[32], sn[IP_STRLEN];
	time_t t;
	int r;

	b->state_path = subnet_state_path(b->c.subnet_file);
	if (!b->state_path)
		return -ENOMEM;
	r = subnet_state_read(b->state_path, &b->st, &ctx->err);
	if (r == -ENOENT) {
		cni_fail(ctx, code, r, "no subnet lease on this node: %s does not exist",
			 b->state_path);
		cni_fail_details(ctx, "sluiced (or `sluicectl node up`) writes it once the node "
				      "holds a lease");
		return r;
	}
	if (r < 0)
		return r;
	if (b->st.expires && b->st.expires <= (long long)time(NULL)) {
		t = (time_t)b->st.expires;
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
		return cni_fail(ctx, code, -ETIME,
				"the subnet lease %s of this node expired at %s (%s)",
				ip_prefix_fmt(&b->st.subnet, sn), when, b->state_path);
	}
	return 0;
}

/* Every pod address of prevResult (those on a host-side interface aside) in the lease. */
static int check_ips(struct ov_call *b)
{
	const struct cni_result *p = &b->prev;
	char a[IP_STRLEN], sn[IP_STRLEN];

	for (size_t i = 0; i < p->n_ips; i++) {
		const struct ip_prefix *ip = &p->ips[i].address;
		const struct ip_prefix *lease =
			ip->ip.family == AF_INET6 ? &b->st.subnet6 : &b->st.subnet;
		int k = p->ips[i].iface;

		if (k >= 0 && (size_t)k < p->n_ifaces &&
		    (!p->ifaces[k].sandbox || !*p->ifaces[k].sandbox))
			continue;
		if (!lease->ip.family)
			return cni_fail(
				b->ctx, CNI_ERR_TRY_AGAIN, -EADDRNOTAVAIL,
				"pod address %s lies outside this node's subnet lease, which "
				"has no IPv6 subnet (%s)",
				ip_prefix_fmt(ip, a), b->state_path);
		if (!ip_prefix_contains(lease, &ip->ip))
			return cni_fail(
				b->ctx, CNI_ERR_TRY_AGAIN, -EADDRNOTAVAIL,
				"pod address %s lies outside this node's subnet lease %s (%s)",
				ip_prefix_fmt(ip, a), ip_prefix_fmt(lease, sn), b->state_path);
	}
	return 0;
}

static int open_host(struct ov_call *b)
{
	int r = b->nl.sk ? 0 : nl_open(&b->nl, -1);

	return r < 0 ? cni_fail(b->ctx, CNI_ERR_KERNEL, r, "netlink: %s", strerror(-r)) : 0;
}

/* The pod's interface and, when it is one end of a veth whose other end prevResult lists
 * on the host side, that end. code: what a missing pod interface gets (7 on ADD, 103 on
 * CHECK). */
static int find_ifaces(struct ov_call *b, int code)
{
	const char *ifn = b->ctx->ifname;
	int r;

	b->netns_fd = netns_open_cni(b->ctx);
	if (b->netns_fd < 0)
		return b->netns_fd;
	if ((r = nl_open(&b->cnl, b->netns_fd)) < 0)
		return cni_fail(b->ctx, CNI_ERR_KERNEL, r, "netlink in netns: %s", strerror(-r));
	if ((r = open_host(b)) < 0)
		return r;
	r = nl_link_get_by_name(&b->cnl, ifn, &b->cont);
	if (r == -ENODEV)
		return cni_fail(b->ctx, code, r, "container interface %s not found in %s", ifn,
				b->ctx->netns);
	if (r < 0)
		return cni_fail_kernel(b->ctx, r, nl_errmsg(&b->cnl), "look up %s in the container",
				       ifn);
	if (strcmp(b->cont.kind, "veth") || !(b->cont.has & NL_LINK_HAS_LINK))
		return 0;
	r = nl_link_get_by_index(&b->nl, b->cont.link, &b->veth);
	if (r < 0 && r != -ENODEV)
		return cni_fail_kernel(b->ctx, r, nl_errmsg(&b->nl), "look up the peer of %s", ifn);
	b->has_veth = r == 0 && !strcmp(b->veth.kind, "veth") && b->veth.link == b->cont.ifindex &&
		      cni_result_find_iface(&b->prev, b->veth.name, "") >= 0;
	if (!b->has_veth)
		log_info("the peer of %s is not a host interface of prevResult: only %s's MTU is "
			 "the overlay's business",
			 ifn, ifn);
	return 0;
}

/* The device the state asks for, per family */
static void dev_of(const struct subnet_state *s, int family, struct overlay_dev *d)
{
	memset(d, 0, sizeof(*d));
	d->family = family;
	d->vni = s->vni;
	d->port = s->port;
	snprintf(d->underlay, sizeof(d->underlay), "%s", s->iface);
	d->local = family == AF_INET ? s->public_ip : s->public_ipv6;
	(void)mac_parse(s->vtep_mac, d->mac); /* subnet_state_read checked it */
	d->mtu = s->mtu;
	d->subnet = family == AF_INET ? s->subnet : s->subnet6;
	d->learning = s->learning;
	d->gbp = s->gbp;
}

static int families(const struct ov_call *b)
{
	return b->st.subnet6.ip.family ? 2 : 1;
}

static void omasq_nets_of(const struct subnet_state *s, struct omasq_nets *n)
{
	*n = (struct omasq_nets){.network = s->network,
				 .subnet = s->subnet,
				 .network6 = s->network6,
				 .subnet6 = s->subnet6};
}

/* Every device and the table the state asks for can be made: an IPv6 device whose name does
 * not fit (sluice-v6.<VNI> from VNI 100000 on), or an IPv6 network without the node's IPv6
 * subnet for the table, is refused before the IPv4 device is created. */
static int validate_state(struct ov_call *b)
{
	struct overlay_dev d;
	struct omasq_nets n;
	int r;

	for (int i = 0; i < families(b); i++) {
		dev_of(&b->st, i ? AF_INET6 : AF_INET, &d);
		if ((r = overlay_dev_validate(&d, &b->ctx->err)) < 0)
			return r;
	}
	omasq_nets_of(&b->st, &n);
	return b->st.ip_masq ? omasq_validate(&n, &b->ctx->err) : 0;
}

static int ensure_dev(struct ov_call *b, int i)
{
	char name[IFNAMSIZ], what[OVERLAY_WHAT_MAX];
	struct overlay_dev d;
	int r;

	dev_of(&b->st, i ? AF_INET6 : AF_INET, &d);
	overlay_dev_name(d.family, d.vni, name);
	r = overlay_dev_ensure(&b->nl, &d, NULL, what, &b->ctx->err);
	if (r < 0)
		return r;
	if (r > 0)
		log_info("overlay device %s: %s", name, what);
	return 0;
}

static int ensure_masq(struct ov_call *b)
{
	struct omasq_nets n;
	int r;

	/* whether the node masquerades is the agent's choice (--no-ip-masq), not the chain's */
	if (!b->st.ip_masq)
		return 0;
	if ((r = nft_open(&b->nft, -1)) < 0)
		return cni_fail(b->ctx, CNI_ERR_KERNEL, r, "nftables: %s", strerror(-r));
	omasq_nets_of(&b->st, &n);
	r = omasq_ensure(&b->nft, &n, &b->ctx->err);
	if (r < 0)
		return r;
	if (r > 0)
		log_info("masquerade table inet %s set for %s", OMASQ_TABLE, b->state_path);
	return 0;
}

/* Lowers l's MTU to the overlay's when it is larger, noting the old one in m */
static int lower_mtu(struct ov_call *b, struct nl *nl, const struct nl_link *l, struct ov_mtu *m)
{
	int r;

	if (l->mtu <= b->st.mtu)
		return 0;
	r = nl_link_set_mtu(nl, l->ifindex, b->st.mtu);
	if (r < 0)
		return cni_fail_kernel(b->ctx, r, nl_errmsg(nl), "set the MTU of %s to %u", l->name,
				       b->st.mtu);
	*m = (struct ov_mtu){.nl = nl, .ifindex = l->ifindex, .old = l->mtu, .set = true};
	log_info("set the MTU of %s from %u to %u", l->name, l->mtu, b->st.mtu);
	return 0;
}

/* ADD's undo: the MTUs it lowered, the attachment's own state. The device and the table stay
 * even when this ADD created them: they are the node's, shared with its other pods (an ADD
 * running beside this one may already use them) and with the agent, so never rolled back,
 * as the bridge leaves its bridge. Failures are logged; the first error stays recorded. */
static void undo(struct ov_call *b)
{
	int r;

	for (int i = 1; i >= 0; i--) {
		if (!b->mtu[i].set)
			continue;
		r = nl_link_set_mtu(b->mtu[i].nl, b->mtu[i].ifindex, b->mtu[i].old);
		if (r < 0 && r != -ENODEV)
			(void)cni_fail_kernel(b->ctx, r, nl_errmsg(b->mtu[i].nl),
					      "undo: restore MTU %u", b->mtu[i].old);
		else if (r == 0)
			log_info("undo: restored MTU %u", b->mtu[i].old);
	}
}

static int ov_add(struct cni_ctx *ctx)
{
	struct ov_call b;
	int r;

	call_init(&b, ctx);
	/* every refusal first: until the kernel is touched, there is nothing to undo */
	if ((r = load_chained(&b)) < 0 || (r = load_state(&b, CNI_ERR_TRY_AGAIN)) < 0 ||
	    (r = check_ips(&b)) < 0 || (r = validate_state(&b)) < 0 ||
	    (r = find_ifaces(&b, CNI_ERR_CONFIG)) < 0)
		goto out;
	for (int i = 0; i < families(&b); i++)
		if ((r = ensure_dev(&b, i)) < 0)
			goto err_undo;
	if ((r = cni_fault(ctx, "device")) < 0 || (r = ensure_masq(&b)) < 0 ||
	    (r = cni_fault(ctx, "masq")) < 0 || (r = lower_mtu(&b, &b.cnl, &b.cont, &b.mtu[0])) < 0)
		goto err_undo;
	if ((b.has_veth && (r = lower_mtu(&b, &b.nl, &b.veth, &b.mtu[1])) < 0) ||
	    (r = cni_fault(ctx, "mtu")) < 0 || (r = cni_result_print(ctx, &b.prev)) < 0)
		goto err_undo;
	goto out;
err_undo:
	undo(&b);
out:
	call_done(&b);
	return r;
}

/* DEL removes nothing: the device and the table serve the node's other pods, and the pod's
 * interfaces go with the bridge's DEL. No netns, state or valid config needed (libcni stops
 * a chain's DEL at its first error: the bridge's DEL would never run). */
static int ov_del(struct cni_ctx *ctx)
{
	return 0;
}

static int check_mtu(struct ov_call *b, const struct nl_link *l, const char *what)
{
	if (l->mtu <= b->st.mtu)
		return 0;
	return cni_fail(b->ctx, CNI_ERR_CHECK, -EINVAL, "%s %s has MTU %u, above the overlay's %u",
			what, l->name, l->mtu, b->st.mtu);
}

static int check_masq(struct ov_call *b)
{
	struct omasq_nets n;
	int r;

	/* whether the node masquerades is the agent's choice (--no-ip-masq), not the chain's */
	if (!b->st.ip_masq)
		return 0;
	if ((r = nft_open(&b->nft, -1)) < 0)
		return cni_fail(b->ctx, CNI_ERR_KERNEL, r, "nftables: %s", strerror(-r));
	omasq_nets_of(&b->st, &n);
	return omasq_check(&b->nft, &n, &b->ctx->err);
}

static int check_devs(struct ov_call *b)
{
	struct overlay_dev d;
	int r;

	if ((r = open_host(b)) < 0)
		return r;
	for (int i = 0; i < families(b); i++) {
		dev_of(&b->st, i ? AF_INET6 : AF_INET, &d);
		if ((r = overlay_dev_check(&b->nl, &d, &b->ctx->err)) < 0)
			return r;
	}
	return 0;
}

static int ov_check(struct cni_ctx *ctx)
{
	struct ov_call b;
	int r;

	call_init(&b, ctx);
	if ((r = load_chained(&b)) < 0 || (r = load_state(&b, CNI_ERR_TRY_AGAIN)) < 0 ||
	    (r = check_ips(&b)) < 0 || (r = find_ifaces(&b, CNI_ERR_CHECK)) < 0 ||
	    (r = check_devs(&b)) < 0 || (r = check_masq(&b)) < 0 ||
	    (r = check_mtu(&b, &b.cont, "container interface")) < 0)
		goto out;
	if (b.has_veth)
		r = check_mtu(&b, &b.veth, "host veth");
out:
	call_done(&b);
	return r;
}

/* Nothing is kept per attachment: nothing to collect */
static int ov_gc(struct cni_ctx *ctx)
{
	return 0;
}

/* Ready when the node holds a valid lease and its devices are in place; any other answer
 * is 50, with the reason. */
static int ov_status(struct cni_ctx *ctx)
{
	struct ov_call b;
	int r;

	call_init(&b, ctx);
	if ((r = load_conf(ctx, &b.c)) < 0)
		goto out;
	r = load_state(&b, CNI_ERR_UNAVAILABLE);
	if (r == 0)
		r = check_devs(&b);
	if (r < 0 && ctx->err.code)
		ctx->err.code = CNI_ERR_UNAVAILABLE;
out:
	call_done(&b);
	return r;
}

static const struct cni_plugin overlay_plugin = {
	.name = "vxlan-overlay",
	.about = "sluice-vxlan-overlay: admits a pod to the node's VXLAN overlay (lease, device, "
		 "MTU)",
	.add = ov_add,
	.del = ov_del,
	.check = ov_check,
	.gc = ov_gc,
	.status = ov_status,
};

int main(int argc, char **argv)
{
	return cni_main(&overlay_plugin, argc, argv);
}
