// SPDX-License-Identifier: Apache-2.0
/* localhost hostPorts: a connection from 127.0.0.1 DNATed to a pod leaves through the device
 * that routes to the pod, which must then accept 127.0.0.0/8 (route_localnet), as upstream
 * portmap sets it. The device comes from a route lookup (RTM_GETROUTE). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <net/if.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>

#include "base/sysctl.h"
#include "netlink/nl.h"
#include "netlink/nl_route.h"
#include "node/hostport.h"

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nl_route rt;

	if (nlh->nlmsg_type == RTM_NEWROUTE && nl_route_parse(nlh, &rt) == 0 && rt.oif > 0)
		*(int *)data = rt.oif;
	return 0;
}

/* The name of the device the host routes dst through, and its route_localnet path. */
static int route_dev(struct nl *nl, const struct ip_addr *dst, char dev[IFNAMSIZ], char *path,
		     size_t size)
{
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	int oif = 0, r;

	if (!dst || dst->family != AF_INET)
		return nl_fail(nl, -EINVAL, "route_localnet: not an IPv4 address");
	nlh = nl_msg(nl, RTM_GETROUTE, 0);
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = 32;
	mnl_attr_put(nlh, RTA_DST, 4, dst->b);
	r = nl_talk(nl, nlh, route_cb, &oif);
	if (r == -ENETUNREACH || r == -EHOSTUNREACH)
		r = -ENODEV;
	if (r < 0)
		return r;
	if (oif <= 0 || !if_indextoname((unsigned int)oif, dev))
		return nl_fail(nl, -ENODEV, "no device routes to the container");
	snprintf(path, size, "net/ipv4/conf/%s/route_localnet", dev);
	return 0;
}

int hostport_localnet(struct nl *nl, const struct ip_addr *dst, char ret_dev[IFNAMSIZ])
{
	char dev[IFNAMSIZ], path[96];
	int r;

	r = route_dev(nl, dst, dev, path, sizeof(path));
	if (r == 0)
		r = sysctl_set(path, "1");
	if (r == 0 && ret_dev)
		memcpy(ret_dev, dev, IFNAMSIZ);
	return r;
}

int hostport_localnet_get(struct nl *nl, const struct ip_addr *dst, char ret_dev[IFNAMSIZ])
{
	char dev[IFNAMSIZ], path[96], v[16];
	int r;

	r = route_dev(nl, dst, dev, path, sizeof(path));
	if (r == 0)
		r = sysctl_get(path, v, sizeof(v));
	if (r < 0)
		return r;
	if (ret_dev)
		memcpy(ret_dev, dev, IFNAMSIZ);
	return strcmp(v, "0") != 0;
}
