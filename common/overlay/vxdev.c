// SPDX-License-Identifier: Apache-2.0
/* The node's VXLAN device, as flanneld's vxlan backend makes it (device.go newVXLANDevice,
 * ensureLink, vxlanLinksIncompat; vxlan.go configureDeviceIPv4IPv6): created when missing,
 * put right in place when only its MTU, MAC, addresses or state differ, deleted and created
 * again when its tunnel parameters differ. The agent and sluice-vxlan-overlay both call
 * this, concurrently at times: every step tolerates the other caller having done it. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <net/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include "overlay/vxdev.h"
#include "base/mac.h"
#include "base/err.h"
#include "base/ip.h"
#include "base/sysctl.h"
#include "netlink/nl.h"
#include "netlink/nl_link.h"
#include "netlink/nl_route.h"

/* Outer IP + UDP + VXLAN + inner Ethernet: the kernel's VXLAN_HEADROOM and VXLAN6_HEADROOM */
#define HEADROOM4 50
#define HEADROOM6 70
/* Lookups and creations before giving up on a device that keeps changing under us: a
 * concurrent creator and a concurrent recreation each cost one round. */
#define ROUNDS 4
#define ADDRS_MAX 16

static int dev_name(int family, uint32_t vni, char name[IFNAMSIZ])
{
	int n = snprintf(name, IFNAMSIZ, family == AF_INET6 ? "sluice-v6.%u" : "sluice.%u", vni);

	return n >= IFNAMSIZ ? -ENAMETOOLONG : 0;
}

void overlay_dev_name(int family, uint32_t vni, char name[IFNAMSIZ])
{
	(void)dev_name(family, vni, name);
}

static uint16_t dev_port(const struct overlay_dev *d)
{
	return d->port ? d->port : OVERLAY_PORT_DEFAULT;
}

static bool mac_zero(const uint8_t mac[6])
{
	static const uint8_t zero[6];

	return !memcmp(mac, zero, 6);
}

/* Appends ", <text>" (or the first "<text>") to what; what may be NULL. */
static void note(char *what, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(char *what, const char *fmt, ...)
{
	size_t n;
	va_list ap;

	if (!what)
		return;
	n = strnlen(what, OVERLAY_WHAT_MAX);
	if (n && n + 2 < OVERLAY_WHAT_MAX) {
		memcpy(what + n, ", ", 3);
		n += 2;
	}
	if (n + 1 >= OVERLAY_WHAT_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(what + n, OVERLAY_WHAT_MAX - n, fmt, ap);
	va_end(ap);
}

/* The address on the device: the lease's network address alone, /32 or /128. */
static struct ip_prefix dev_addr(const struct overlay_dev *d)
{
	struct ip_prefix p = {ip_prefix_network(&d->subnet), ip_bits(d->family)};

	return p;
}

static int validate(const struct overlay_dev *d, char name[IFNAMSIZ], struct err *err)
{
	char x[IP_STRLEN];

	if (d->family != AF_INET && d->family != AF_INET6)
		return err_fail(err, CNI_ERR_CONFIG, -EINVAL, "overlay device: invalid family %d",
				d->family);
	if (d->vni >= 1U << 24)
		return err_fail(err, CNI_ERR_CONFIG, -EINVAL,
				"overlay device: VNI %u out of range (0-16777215)", d->vni);
	if (dev_name(d->family, d->vni, name) < 0)
		return err_fail(err, CNI_ERR_CONFIG, -ENAMETOOLONG,
				"overlay device: the name for VNI %u is longer than 15 bytes",
				d->vni);
	if (d->local.family && d->local.family != d->family)
		return err_fail(err, CNI_ERR_CONFIG, -EINVAL,
				"overlay device %s: local address %s is not of its family", name,
				ip_fmt(&d->local, x));
	if (d->subnet.ip.family != d->family || d->subnet.len > ip_bits(d->family))
		return err_fail(err, CNI_ERR_CONFIG, -EINVAL,
				"overlay device %s: invalid or missing lease subnet", name);
	if (d->underlay[0] && strnlen(d->underlay, IFNAMSIZ) >= IFNAMSIZ)
		return err_fail(err, CNI_ERR_CONFIG, -EINVAL,
				"overlay device %s: invalid underlay interface name", name);
	return 0;
}

int overlay_dev_validate(const struct overlay_dev *d, struct err *err)
{
	char name[IFNAMSIZ];

	return validate(d, name, err);
}

int overlay_dev_compare(const struct overlay_dev *d, int underlay, unsigned int mtu,
			const struct nl_link *l, char *out, size_t size)
{
	const struct nl_vxlan *vx = &l->vxlan;
	char a[IP_STRLEN], b[IP_STRLEN], ma[18], mb[18];

	out[0] = '\0';
	if (strcmp(l->kind, "vxlan") || !(l->has & NL_LINK_HAS_VXLAN)) {
		snprintf(out, size, "not a VXLAN device (kind \"%s\")", l->kind);
		return OVERLAY_DEV_INCOMPAT;
	}
	if (vx->vni != d->vni) {
		snprintf(out, size, "vni %u, not %u", vx->vni, d->vni);
		return OVERLAY_DEV_INCOMPAT;
	}
	if (underlay && vx->link != underlay) {
		snprintf(out, size, "underlay ifindex %d, not %d (%s)", vx->link, underlay,
			 d->underlay);
		return OVERLAY_DEV_INCOMPAT;
	}
	if (d->local.family && !ip_eq(&vx->local, &d->local)) {
		snprintf(out, size, "local %s, not %s",
			 vx->local.family ? ip_fmt(&vx->local, a) : "none", ip_fmt(&d->local, b));
		return OVERLAY_DEV_INCOMPAT;
	}
	if (vx->port != dev_port(d)) {
		snprintf(out, size, "port %u, not %u", vx->port, dev_port(d));
		return OVERLAY_DEV_INCOMPAT;
	}
	if (vx->learning != d->learning) {
		snprintf(out, size, "learning %s, not %s", vx->learning ? "on" : "off",
			 d->learning ? "on" : "off");
		return OVERLAY_DEV_INCOMPAT;
	}
	if (vx->gbp != d->gbp) {
		snprintf(out, size, "gbp %s, not %s", vx->gbp ? "on" : "off",
			 d->gbp ? "on" : "off");
		return OVERLAY_DEV_INCOMPAT;
	}
	if (vx->group.family) {
		snprintf(out, size, "remote/group %s set", ip_fmt(&vx->group, a));
		return OVERLAY_DEV_INCOMPAT;
	}
	if (vx->l2miss || vx->l3miss) {
		snprintf(out, size, "%s on", vx->l2miss ? "l2miss" : "l3miss");
		return OVERLAY_DEV_INCOMPAT;
	}
	if (mtu && l->mtu != mtu) {
		snprintf(out, size, "mtu %u, not %u", l->mtu, mtu);
		return OVERLAY_DEV_FIX;
	}
	if (!mac_zero(d->mac) && ((l->has & NL_LINK_HAS_MAC) == 0 || memcmp(l->mac, d->mac, 6))) {
		snprintf(out, size, "mac %s, not %s", mac_fmt(l->mac, ma), mac_fmt(d->mac, mb));
		return OVERLAY_DEV_FIX;
	}
	if (!(l->flags & IFF_UP)) {
		snprintf(out, size, "down");
		return OVERLAY_DEV_FIX;
	}
	return OVERLAY_DEV_SAME;
}

/* The underlay's ifindex (0 when d names none) and the MTU the device can have over it:
 * the kernel caps a VXLAN device at its underlay's MTU less the encapsulation (70 over
 * IPv6, where flanneld asks for 50 and silently gets 70), so asking for more would be a
 * difference that never goes away. */
static int underlay(struct nl *nl, const struct overlay_dev *d, const char *name, int *ret_index,
		    unsigned int *ret_mtu, struct err *err)
{
	unsigned int room = d->family == AF_INET6 ? HEADROOM6 : HEADROOM4;
	struct nl_link u;
	int r;

	*ret_index = 0;
	*ret_mtu = d->mtu;
	if (!d->underlay[0])
		return 0;
	r = nl_link_get_by_name(nl, d->underlay, &u);
	if (r == -ENODEV)
		return err_fail(err, CNI_ERR_CONFIG, -ENODEV,
				"overlay device %s: underlay interface %s not found", name,
				d->underlay);
	if (r < 0)
		return err_kernel(err, r, nl_errmsg(nl), "look up underlay interface %s",
				  d->underlay);
	*ret_index = u.ifindex;
	if (d->mtu && u.mtu > room && d->mtu > u.mtu - room)
		*ret_mtu = u.mtu - room;
	return 0;
}

static int create(struct nl *nl, const struct overlay_dev *d, const char *name, int link,
		  unsigned int mtu)
{
	struct nl_vxlan vx = {
		.vni = d->vni,
		.local = d->local,
		.link = link,
		.port = dev_port(d), /* explicit: the kernel's default is not ours to rely on */
		.learning = d->learning,
		.gbp = d->gbp,
	};

	return nl_link_add_vxlan(nl, name, &vx, mtu, mac_zero(d->mac) ? NULL : d->mac);
}

/* Finds the device, compatible with d, creating it or recreating it as needed; what says
 * which. Returns 1 when it created it, 0 when it was there, or -errno. */
static int find_or_create(struct nl *nl, const struct overlay_dev *d, const char *name, int link,
			  unsigned int mtu, struct nl_link *l, char *what, struct err *err)
{
	char diff[128], extack[256] = "", recreated[160] = "";
	bool created = false;
	int r;

	for (int round = 0; round < ROUNDS; round++) {
		r = nl_link_get_by_name(nl, name, l);
		if (r == 0) {
			if (overlay_dev_compare(d, link, mtu, l, diff, sizeof(diff)) !=
			    OVERLAY_DEV_INCOMPAT)
				goto found;
			/* by ifindex: a concurrent caller's new device is never the victim */
			r = nl_link_del(nl, l->ifindex);
			if (r < 0 && r != -ENODEV)
				return err_kernel(err, r, nl_errmsg(nl),
						  "delete incompatible %s (%s)", name, diff);
			snprintf(recreated, sizeof(recreated), "recreated (%s)", diff);
			continue;
		}
		if (r != -ENODEV)
			return err_kernel(err, r, nl_errmsg(nl), "look up %s", name);
		r = create(nl, d, name, link, mtu);
		if (r == 0) {
			created = true;
			continue; /* read it back: its ifindex, and what the kernel made of it */
		}
		if (r != -EEXIST)
			return err_kernel(err, r, nl_errmsg(nl), "create %s", name);
		/* A concurrent creator won (read its device back), or another VXLAN device
		 * holds this VNI and port (the kernel's message says so when rounds run out). */
		snprintf(extack, sizeof(extack), "%s", nl_errmsg(nl));
	}
	if (extack[0])
		return err_kernel(err, -EEXIST, extack, "create %s", name);
	return err_fail(err, CNI_ERR_KERNEL, -EAGAIN,
			"%s keeps changing: %d rounds of lookup and creation", name, ROUNDS);
found:
	if (recreated[0])
		note(what, "%s", recreated);
	else if (created)
		note(what, "created");
	return created || recreated[0];
}

struct addrs {
	struct ip_prefix a[ADDRS_MAX];
	size_t n;
};

/* The device's addresses of its family with global scope: a link-local IPv6 address is
 * the kernel's, not the lease's. */
static int collect_addr(const struct nl_addr *a, void *data)
{
	struct addrs *s = data;

	if (a->scope != RT_SCOPE_UNIVERSE)
		return 0;
	if (s->n == ADDRS_MAX)
		return -E2BIG;
	s->a[s->n++] = a->prefix;
	return 0;
}

static int read_addrs(struct nl *nl, int ifindex, int family, struct addrs *s)
{
	int r;

	for (int i = 0; i < 3; i++) {
		s->n = 0;
		r = nl_addr_dump(nl, ifindex, family, collect_addr, s);
		if (r != -EINTR)
			break;
	}
	return r;
}

static bool prefix_eq(const struct ip_prefix *a, const struct ip_prefix *b)
{
	return a->len == b->len && ip_eq(&a->ip, &b->ip);
}

/* flanneld's EnsureV4AddressOnLink: the lease's address and no other (a changed lease
 * leaves the old one behind otherwise). No prefix route: peers get routes of their own. */
static int ensure_addr(struct nl *nl, const struct overlay_dev *d, const char *name, int ifindex,
		       char *what, struct err *err)
{
	struct ip_prefix want = dev_addr(d);
	unsigned int flags = IFA_F_NOPREFIXROUTE;
	struct addrs have;
	char x[IP_STRLEN];
	bool present = false;
	int r, changed = 0;

	r = read_addrs(nl, ifindex, d->family, &have);
	if (r < 0)
		return err_kernel(err, r, nl_errmsg(nl), "read addresses of %s", name);
	for (size_t i = 0; i < have.n; i++) {
		if (prefix_eq(&have.a[i], &want)) {
			present = true;
			continue;
		}
		r = nl_addr_del(nl, ifindex, &have.a[i]);
		if (r < 0 && r != -EADDRNOTAVAIL)
			return err_kernel(err, r, nl_errmsg(nl), "remove %s from %s",
					  ip_prefix_fmt(&have.a[i], x), name);
		note(what, "removed %s", ip_prefix_fmt(&have.a[i], x));
		changed = 1;
	}
	if (present)
		return changed;
	/* the lease makes the address ours: no duplicate address detection to wait for */
	if (d->family == AF_INET6)
		flags |= IFA_F_NODAD;
	r = nl_addr_add(nl, ifindex, &want, flags, false);
	if (r < 0 && r != -EEXIST) /* EEXIST: a concurrent caller added it */
		return err_kernel(err, r, nl_errmsg(nl), "add %s to %s", ip_prefix_fmt(&want, x),
				  name);
	if (r == 0)
		note(what, "address %s", ip_prefix_fmt(&want, x));
	return r == 0 || changed;
}

static int accept_ra_path(const char *name, char path[64])
{
	int n = snprintf(path, 64, "net/ipv6/conf/%s/accept_ra", name);

	return n >= 64 ? -ENAMETOOLONG : 0;
}

/* flanneld turns router advertisements off on its IPv6 device: its routes are ours. */
static int ensure_accept_ra(const char *name, char *what, struct err *err)
{
	char path[64], v[16];
	int r;

	if ((r = accept_ra_path(name, path)) < 0)
		return err_fail(err, CNI_ERR_INTERNAL, r, "accept_ra path of %s", name);
	if (sysctl_get(path, v, sizeof(v)) >= 0 && !strcmp(v, "0"))
		return 0;
	if ((r = sysctl_set(path, "0")) < 0)
		return err_fail(err, CNI_ERR_IO, r, "set %s to 0: %s", path, strerror(-r));
	note(what, "accept_ra 0");
	return 1;
}

int overlay_dev_ensure(struct nl *nl, const struct overlay_dev *d, int *ret_ifindex, char *what,
		       struct err *err)
{
	char name[IFNAMSIZ], mac[18];
	unsigned int mtu;
	struct nl_link l;
	int r, link, changed;

	if (what)
		what[0] = '\0';
	if ((r = validate(d, name, err)) < 0 || (r = underlay(nl, d, name, &link, &mtu, err)) < 0)
		return r;
	changed = find_or_create(nl, d, name, link, mtu, &l, what, err);
	if (changed < 0)
		return changed;
	if (mtu && l.mtu != mtu) {
		if ((r = nl_link_set_mtu(nl, l.ifindex, mtu)) < 0)
			return err_kernel(err, r, nl_errmsg(nl), "set mtu %u on %s", mtu, name);
		note(what, "mtu %u", mtu);
		changed = 1;
	}
	if (!mac_zero(d->mac) && memcmp(l.mac, d->mac, 6)) {
		if ((r = nl_link_set_mac(nl, l.ifindex, d->mac)) < 0)
			return err_kernel(err, r, nl_errmsg(nl), "set mac %s on %s",
					  mac_fmt(d->mac, mac), name);
		note(what, "mac %s", mac_fmt(d->mac, mac));
		changed = 1;
	}
	if (d->family == AF_INET6 && (r = ensure_accept_ra(name, what, err)) != 0) {
		if (r < 0)
			return r;
		changed = 1;
	}
	if ((r = ensure_addr(nl, d, name, l.ifindex, what, err)) != 0) {
		if (r < 0)
			return r;
		changed = 1;
	}
	if (!(l.flags & IFF_UP)) {
		if ((r = nl_link_set_up(nl, l.ifindex)) < 0)
			return err_kernel(err, r, nl_errmsg(nl), "set %s up", name);
		note(what, "up");
		changed = 1;
	}
	if (ret_ifindex)
		*ret_ifindex = l.ifindex;
	return changed;
}

int overlay_dev_check(struct nl *nl, const struct overlay_dev *d, struct err *err)
{
	char name[IFNAMSIZ], diff[128], path[64], v[16], x[IP_STRLEN];
	struct ip_prefix want = dev_addr(d);
	struct addrs have;
	unsigned int mtu;
	struct nl_link l;
	bool present = false;
	int r, link;

	if ((r = validate(d, name, err)) < 0 || (r = underlay(nl, d, name, &link, &mtu, err)) < 0)
		return r;
	r = nl_link_get_by_name(nl, name, &l);
	if (r == -ENODEV)
		return err_fail(err, CNI_ERR_CHECK, -ENOENT, "overlay device %s is missing", name);
	if (r < 0)
		return err_kernel(err, r, nl_errmsg(nl), "look up %s", name);
	if (overlay_dev_compare(d, link, mtu, &l, diff, sizeof(diff)) != OVERLAY_DEV_SAME)
		return err_fail(err, CNI_ERR_CHECK, -EINVAL, "overlay device %s: %s", name, diff);
	if (d->family == AF_INET6 && accept_ra_path(name, path) == 0 &&
	    sysctl_get(path, v, sizeof(v)) >= 0 && strcmp(v, "0"))
		return err_fail(err, CNI_ERR_CHECK, -EINVAL,
				"overlay device %s: accept_ra %s, not 0", name, v);
	r = read_addrs(nl, l.ifindex, d->family, &have);
	if (r < 0)
		return err_kernel(err, r, nl_errmsg(nl), "read addresses of %s", name);
	for (size_t i = 0; i < have.n; i++)
		present |= prefix_eq(&have.a[i], &want);
	if (!present)
		return err_fail(err, CNI_ERR_CHECK, -EINVAL,
				"overlay device %s: address %s missing", name,
				ip_prefix_fmt(&want, x));
	for (size_t i = 0; i < have.n; i++)
		if (!prefix_eq(&have.a[i], &want))
			return err_fail(err, CNI_ERR_CHECK, -EINVAL,
					"overlay device %s: unexpected address %s", name,
					ip_prefix_fmt(&have.a[i], x));
	return 0;
}

int overlay_dev_del(struct nl *nl, int family, uint32_t vni, struct err *err)
{
	char name[IFNAMSIZ];
	int r;

	if ((family != AF_INET && family != AF_INET6) || dev_name(family, vni, name) < 0)
		return err_fail(err, CNI_ERR_CONFIG, -EINVAL, "overlay device: invalid VNI %u",
				vni);
	r = nl_link_del_by_name(nl, name);
	if (r == -ENODEV)
		return 0;
	if (r < 0)
		return err_kernel(err, r, nl_errmsg(nl), "delete %s", name);
	return 1;
}
