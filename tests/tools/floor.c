// SPDX-License-Identifier: Apache-2.0
/* floor: the kernel's own time for a plugin's work, for tests/bench. Called like a plugin
 * (CNI_* env, config on stdin), it does only the syscalls and netlink messages the work
 * needs and prints {"cniVersion","benchNs","steps"}: their time, without exec or config
 * parsing, and the time of each step (ns).
 * The config's "floor" names the plugin whose work it does:
 *   bridge  ADD: veth with its peer created in the netns, enslaved and up; the peer up,
 *           its address and default route; with "ipMasq", the two set elements
 *           common/masq adds (one batch). DEL: the elements (by key, one batch), then
 *           the veth ("order": "link-first" reverses them), then the sockets closed.
 *           Keys: bridge, subnet (IPv4; pod i gets .2 + i), ipMasq, order.
 *   host-local  its files. ADD: lock, reserve <ip> (O_EXCL), last_reserved_ip.0;
 *           DEL: lock, unlink <ip>. Keys: dataDir, subnet.
 *   bandwidth  chained after bridge's floor, on its veth. ADD: tbf on the veth, an IFB up,
 *           the veth's ingress qdisc with a u32 mirred redirect to it, tbf on the IFB.
 *           DEL: the IFB. Keys: ingressRate, ingressBurst, egressRate, egressBurst (bits).
 *   portmap  one element per runtimeConfig.portMappings entry in a DNAT map (proto . port
 *           -> pod address . port), one batch; DEL deletes them by key. Keys: subnet.
 * Pod i is the number after the container ID's last '-'. VERSION does nothing (exec cost). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <linux/netfilter.h>
#include <linux/pkt_sched.h>
#include <linux/netfilter/nf_tables.h>

#include <cjson/cJSON.h>

#include "base/ip.h"
#include "netlink/netns.h"
#include "netlink/nl.h"
#include "netlink/nl_link.h"
#include "netlink/nl_route.h"
#include "netlink/nl_tc.h"
#include "nft/nft.h"

#define FLOOR_TABLE "sluice_floor"

struct floor {
	const char *cmd, *cid, *netns, *ifname, *version, *net;
	const char *work, *bridge, *data_dir;
	bool masq, link_first;
	struct ip_prefix subnet;
	struct ip_prefix addr; /* the pod's address, in subnet */
	struct ip_addr gw; /* subnet's first address */
	char host_if[IFNAMSIZ], ifb[IFNAMSIZ];
	unsigned long pod;
	double rate[2], burst[2]; /* bandwidth: ingress, egress, in bits */
	const cJSON *maps; /* portmap: runtimeConfig.portMappings */
	long long t0, t_last;
	char steps[512]; /* "name":ns,... */
};

static int fail(const char *what, int r, const char *msg)
{
	fprintf(stderr, "floor: %s: %s%s%s\n", what, strerror(-r), msg && *msg ? ": " : "",
		msg ? msg : "");
	printf("{\"cniVersion\":\"1.0.0\",\"code\":999,\"msg\":\"floor: %s: %s\"}\n", what,
	       strerror(-r));
	return 1;
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Ends a step: its time since the previous one goes into f->steps. */
static void step(struct floor *f, const char *name)
{
	long long t = now_ns();
	size_t n = strlen(f->steps);

	snprintf(f->steps + n, sizeof(f->steps) - n, "%s\"%s\":%lld", n ? "," : "", name,
		 t - f->t_last);
	f->t_last = t;
}

/* The ipMasq elements of the pod's address, in sets shaped as common/masq's: "pods4" (the
 * address) and "local4" (address . its subnet, an interval of a concatenation), one batch,
 * commented with their owner. */
static const struct nft_set_def floor_sets[2] = {
	{.name = "pods4", .key = {NFT_TYPE_IPV4}},
	{.name = "local4", .key = {NFT_TYPE_IPV4, NFT_TYPE_IPV4}, .flags = NFT_SET_INTERVAL},
};

static void pod_elems(const struct floor *f, struct nft_elem e[2], const char *comment)
{
	struct ip_addr net = ip_prefix_network(&f->addr), bcast = ip_prefix_broadcast(&f->addr);

	memset(e, 0, 2 * sizeof(*e));
	nft_data_set(&e[0].key, f->addr.ip.b, 4);
	nft_data_field(&e[1].key, f->addr.ip.b, 4);
	nft_data_field(&e[1].key, net.b, 4);
	nft_data_field(&e[1].key_end, f->addr.ip.b, 4);
	nft_data_field(&e[1].key_end, bcast.b, 4);
	e[1].flags = NFT_ELEM_HAS_KEY_END;
	e[0].comment = e[1].comment = comment;
}

static int masq_add_elems(const struct floor *f, struct nft *nft)
{
	char comment[NFT_COMMENT_MAX];
	struct nft_elem e[2];
	int r;

	snprintf(comment, sizeof(comment), "%s/%s", f->cid, f->ifname);
	pod_elems(f, e, comment);
	for (int create = 0; create < 2; create++) {
		nft_batch_begin(nft);
		/* first pod: the table and sets, then the elements */
		if (create)
			nft_table_add(nft, NFPROTO_INET, FLOOR_TABLE, 0);
		for (int i = 0; i < 2; i++) {
			if (create)
				nft_set_add(nft, NFPROTO_INET, FLOOR_TABLE, &floor_sets[i], 0);
			nft_elems_add(nft, NFPROTO_INET, FLOOR_TABLE, floor_sets[i].name, &e[i], 1,
				      0);
		}
		r = nft_batch_commit(nft);
		if (r != -ENOENT)
			break;
	}
	return r;
}

/* DEL is idempotent, as plugins' are: absent elements are no failure. */
static int masq_del_elems(const struct floor *f, struct nft *nft)
{
	struct nft_elem e[2];
	int r;

	pod_elems(f, e, NULL);
	nft_batch_begin(nft);
	for (int i = 0; i < 2; i++)
		nft_elems_del(nft, NFPROTO_INET, FLOOR_TABLE, floor_sets[i].name, &e[i], 1, 0);
	r = nft_batch_commit(nft);
	return r == -ENOENT ? 0 : r;
}

/* The bridge, up, with the gateway address: once per network, as the plugins do. */
static int ensure_bridge(const struct floor *f, struct nl *nl, int *ret_index)
{
	struct ip_prefix gw = {.ip = f->gw, .len = f->subnet.len};
	struct nl_link l;
	int r;

	*ret_index = (int)if_nametoindex(f->bridge);
	if (*ret_index > 0)
		return 0;
	if ((r = nl_link_add_bridge(nl, f->bridge, 0, NULL, false)) < 0 && r != -EEXIST)
		return r;
	if ((r = nl_link_get_by_name(nl, f->bridge, &l)) < 0 ||
	    (r = nl_link_set_up(nl, l.ifindex)) < 0)
		return r;
	r = nl_addr_add(nl, l.ifindex, &gw, 0, true);
	*ret_index = l.ifindex;
	return r;
}

/* In the netns: the peer up, its address, the default route via the gateway. */
static int setup_container(const struct floor *f, struct nl *cnl)
{
	struct nl_route rt = {.family = AF_INET, .gw = f->gw};
	struct nl_link l;
	int r;

	if ((r = nl_link_get_by_name(cnl, f->ifname, &l)) < 0 ||
	    (r = nl_link_set_up(cnl, l.ifindex)) < 0 ||
	    (r = nl_addr_add(cnl, l.ifindex, &f->addr, 0, false)) < 0)
		return r;
	rt.dst.ip.family = AF_INET;
	rt.oif = l.ifindex;
	return nl_route_add(cnl, &rt, false);
}

static int bridge_add(struct floor *f)
{
	struct nl nl = {0}, cnl = {0};
	struct nft nft = {0};
	struct nl_veth v = {.name = f->host_if, .peer = f->ifname, .up = true};
	const char *what = "netns";
	int r;

	v.peer_netns_fd = netns_open(f->netns);
	if ((r = v.peer_netns_fd) < 0)
		goto out;
	what = "bridge";
	if ((r = nl_open(&nl, -1)) < 0 || (r = ensure_bridge(f, &nl, &v.master)) < 0)
		goto out;
	step(f, "open");
	what = "veth";
	if ((r = nl_link_add_veth(&nl, &v)) < 0)
		goto out;
	step(f, "veth");
	what = "container";
	if ((r = nl_open(&cnl, v.peer_netns_fd)) < 0 || (r = setup_container(f, &cnl)) < 0)
		goto out;
	step(f, "container");
	what = "nft";
	if (f->masq && ((r = nft_open(&nft, -1)) < 0 || (r = masq_add_elems(f, &nft)) < 0))
		goto out;
	step(f, "nft");
out:
	if (r < 0)
		fail(what, r,
		     nft.sk   ? nft_errmsg(&nft)
		     : cnl.sk ? nl_errmsg(&cnl)
			      : nl_errmsg(&nl));
	nl_close(&cnl);
	nl_close(&nl);
	nft_close(&nft);
	if (v.peer_netns_fd >= 0)
		close(v.peer_netns_fd);
	step(f, "close");
	return r;
}

static int bridge_del(struct floor *f)
{
	struct nl nl = {0};
	struct nft nft = {0};
	int r = 0, k;

	if (f->masq && !f->link_first &&
	    ((r = nft_open(&nft, -1)) < 0 || (r = masq_del_elems(f, &nft)) < 0))
		return fail("nft", r, nft_errmsg(&nft));
	if (f->masq && !f->link_first)
		step(f, "nft");
	if ((r = nl_open(&nl, -1)) < 0 ||
	    ((r = nl_link_del_by_name(&nl, f->host_if)) < 0 && r != -ENODEV))
		return fail("veth", r, nl_errmsg(&nl));
	nl_close(&nl);
	step(f, "veth");
	if (f->masq && f->link_first &&
	    ((k = nft_open(&nft, -1)) < 0 || (k = masq_del_elems(f, &nft)) < 0))
		return fail("nft", k, nft_errmsg(&nft));
	if (f->masq && f->link_first)
		step(f, "nft");
	/* last: after a delete this waits for the kernel's deferred cleanup */
	nft_close(&nft);
	step(f, "close");
	return 0;
}

static int ipam_dir(const struct floor *f)
{
	char path[4096];
	int fd;

	if (mkdir(f->data_dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	snprintf(path, sizeof(path), "%s/%s", f->data_dir, f->net);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -errno;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int ipam_lock(int dfd)
{
	int fd = openat(dfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

static int write_file(int dfd, const char *name, int flags, const char *text)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0600), r = 0;
	size_t n = strlen(text);

	if (fd < 0)
		return -errno;
	if (write(fd, text, n) != (ssize_t)n)
		r = -EIO;
	close(fd);
	return r;
}

static int ipam_work(const struct floor *f, bool add)
{
	char ip[IP_STRLEN], owner[512];
	int dfd, lfd, r;

	ip_fmt(&f->addr.ip, ip);
	if ((dfd = ipam_dir(f)) < 0)
		return fail("dataDir", dfd, f->data_dir);
	if ((lfd = ipam_lock(dfd)) < 0) {
		close(dfd);
		return fail("lock", lfd, NULL);
	}
	snprintf(owner, sizeof(owner), "%s\r\n%s", f->cid, f->ifname);
	if (add) {
		r = write_file(dfd, ip, O_EXCL, owner);
		if (r == 0)
			r = write_file(dfd, "last_reserved_ip.0", O_TRUNC, ip);
	} else {
		r = unlinkat(dfd, ip, 0) < 0 && errno != ENOENT ? -errno : 0;
	}
	close(lfd);
	close(dfd);
	return r < 0 ? fail(add ? "reserve" : "release", r, ip) : 0;
}

/* A tbf as upstream sizes it: rate and burst in bytes, limit for 25 ms of queue. */
static int add_tbf(struct nl *nl, int ifindex, double rate_bits, double burst_bits)
{
	uint64_t rate = (uint64_t)(rate_bits / 8);

	return nl_qdisc_add_tbf(nl, ifindex, TC_H_ROOT, 0, rate, (uint32_t)(burst_bits / 8),
				(uint32_t)(rate / 40 + burst_bits / 8));
}

static int bandwidth_add(struct floor *f)
{
	struct nl nl = {0};
	int veth, ifb, r;

	if ((r = nl_open(&nl, -1)) < 0 || (veth = (int)if_nametoindex(f->host_if)) == 0)
		return fail("veth", r < 0 ? r : -ENODEV, f->host_if);
	step(f, "open");
	if ((r = add_tbf(&nl, veth, f->rate[0], f->burst[0])) < 0)
		goto out;
	step(f, "tbf");
	if ((r = nl_link_add_ifb(&nl, f->ifb, 0, 0)) < 0 ||
	    (r = (ifb = (int)if_nametoindex(f->ifb)) ? 0 : -ENODEV) < 0 ||
	    (r = nl_link_set_up(&nl, ifb)) < 0)
		goto out;
	step(f, "ifb");
	if ((r = nl_qdisc_add_ingress(&nl, veth)) < 0 ||
	    (r = nl_filter_add_u32_mirred_redirect(&nl, veth, 0xffff0000, ifb)) < 0)
		goto out;
	step(f, "redirect");
	if ((r = add_tbf(&nl, ifb, f->rate[1], f->burst[1])) < 0)
		goto out;
	step(f, "ifb tbf");
out:
	if (r < 0)
		fail("bandwidth", r, nl_errmsg(&nl));
	nl_close(&nl);
	step(f, "close");
	return r;
}

/* The veth's qdiscs go with it (bridge's DEL); the IFB is ours to delete. */
static int bandwidth_del(struct floor *f)
{
	struct nl nl = {0};
	int r;

	if ((r = nl_open(&nl, -1)) < 0 ||
	    ((r = nl_link_del_by_name(&nl, f->ifb)) < 0 && r != -ENODEV))
		return fail("ifb", r, nl_errmsg(&nl));
	step(f, "ifb");
	nl_close(&nl);
	step(f, "close");
	return 0;
}

/* The DNAT map's elements of the pod's mappings into e[] (room for all); returns how many. */
static size_t pm_elems(const struct floor *f, struct nft_elem *e, const char *comment)
{
	const cJSON *m;
	size_t n = 0;

	cJSON_ArrayForEach(m, f->maps) {
		const cJSON *hp = cJSON_GetObjectItem(m, "hostPort");
		const cJSON *cp = cJSON_GetObjectItem(m, "containerPort");
		const char *proto = cJSON_GetStringValue(cJSON_GetObjectItem(m, "protocol"));
		uint8_t l4 = proto && !strcmp(proto, "udp") ? IPPROTO_UDP : IPPROTO_TCP;
		uint16_t hport = htons((uint16_t)cJSON_GetNumberValue(hp));
		uint16_t cport = htons((uint16_t)cJSON_GetNumberValue(cp));

		if (!cJSON_IsNumber(hp) || !cJSON_IsNumber(cp))
			break;
		memset(&e[n], 0, sizeof(e[n]));
		nft_data_field(&e[n].key, &l4, 1);
		nft_data_field(&e[n].key, &hport, 2);
		nft_data_field(&e[n].data, f->addr.ip.b, 4);
		nft_data_field(&e[n].data, &cport, 2);
		e[n].flags = NFT_ELEM_HAS_DATA;
		e[n++].comment = comment;
	}
	return n;
}

static int portmap_work(struct floor *f, bool add)
{
	static const struct nft_set_def map = {
		.name = "dnat4",
		.key = {NFT_TYPE_INET_PROTO, NFT_TYPE_INET_SERVICE},
		.data = {NFT_TYPE_IPV4, NFT_TYPE_INET_SERVICE},
	};
	int count = cJSON_GetArraySize(f->maps);
	/* a port range's thousands of mappings: on the heap */
	struct nft_elem *e = malloc((count > 0 ? (size_t)count : 1) * sizeof(*e));
	char comment[NFT_COMMENT_MAX];
	struct nft nft = {0};
	size_t n;
	int r;

	if (!e) {
		r = -ENOMEM;
		goto out;
	}
	snprintf(comment, sizeof(comment), "%s/%s", f->cid, f->ifname);
	n = pm_elems(f, e, add ? comment : NULL);
	if ((r = nft_open(&nft, -1)) < 0)
		goto out;
	step(f, "open");
	for (int create = 0; create < 2; create++) {
		nft_batch_begin(&nft);
		if (create) {
			nft_table_add(&nft, NFPROTO_INET, FLOOR_TABLE, 0);
			nft_set_add(&nft, NFPROTO_INET, FLOOR_TABLE, &map, 0);
		}
		if (add)
			nft_elems_add(&nft, NFPROTO_INET, FLOOR_TABLE, map.name, e, n, 0);
		else
			nft_elems_del(&nft, NFPROTO_INET, FLOOR_TABLE, map.name, e, n, 0);
		r = nft_batch_commit(&nft);
		if (r != -ENOENT)
			break;
		if (!add) {
			r = 0;
			break;
		}
	}
	step(f, "nft");
out:
	if (r < 0)
		fail("portmap", r, nft_errmsg(&nft));
	nft_close(&nft);
	step(f, "close");
	free(e);
	return r;
}

static double num(const cJSON *c, const char *key)
{
	const cJSON *v = cJSON_GetObjectItem(c, key);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* Reads the env and config; the pod's address is subnet + 2 + its number. */
static int load(struct floor *f)
{
	static char buf[1 << 20]; /* the plugins' stdin cap: a port range of thousands */
	size_t n = fread(buf, 1, sizeof(buf) - 1, stdin);
	cJSON *c = cJSON_Parse((buf[n] = 0, buf));
	const char *dash, *sub;
	uint32_t a;

	f->cmd = getenv("CNI_COMMAND");
	f->cid = getenv("CNI_CONTAINERID");
	f->netns = getenv("CNI_NETNS");
	f->ifname = getenv("CNI_IFNAME");
	if (!c || !f->cmd)
		return -EINVAL;
	f->version = cJSON_GetStringValue(cJSON_GetObjectItem(c, "cniVersion"));
	f->net = cJSON_GetStringValue(cJSON_GetObjectItem(c, "name"));
	f->work = cJSON_GetStringValue(cJSON_GetObjectItem(c, "floor"));
	f->bridge = cJSON_GetStringValue(cJSON_GetObjectItem(c, "bridge"));
	f->data_dir = cJSON_GetStringValue(cJSON_GetObjectItem(c, "dataDir"));
	f->masq = cJSON_IsTrue(cJSON_GetObjectItem(c, "ipMasq"));
	sub = cJSON_GetStringValue(cJSON_GetObjectItem(c, "order"));
	f->link_first = sub && !strcmp(sub, "link-first");
	f->rate[0] = num(c, "ingressRate");
	f->burst[0] = num(c, "ingressBurst");
	f->rate[1] = num(c, "egressRate");
	f->burst[1] = num(c, "egressBurst");
	f->maps = cJSON_GetObjectItem(cJSON_GetObjectItem(c, "runtimeConfig"), "portMappings");
	sub = cJSON_GetStringValue(cJSON_GetObjectItem(c, "subnet"));
	if (!f->cid || !f->ifname || !f->work || !f->net || !(dash = strrchr(f->cid, '-')))
		return -EINVAL;
	f->pod = strtoul(dash + 1, NULL, 10);
	snprintf(f->host_if, sizeof(f->host_if), "vfl%lu", f->pod);
	snprintf(f->ifb, sizeof(f->ifb), "fbw%lu", f->pod);
	if (!strcmp(f->work, "bandwidth"))
		return 0;
	if (!sub || ip_prefix_parse(sub, &f->subnet) < 0 || f->subnet.ip.family != AF_INET)
		return -EINVAL;
	f->gw = ip_prefix_network(&f->subnet);
	ip_next(&f->gw);
	f->addr = f->subnet;
	a = ntohl(f->gw.v4.s_addr) + 1 + (uint32_t)f->pod;
	f->addr.ip.v4.s_addr = htonl(a);
	return 0;
}

int main(void)
{
	struct floor f = {0};
	long long t1;
	int r;

	f.cmd = getenv("CNI_COMMAND");
	if (f.cmd && !strcmp(f.cmd, "VERSION")) {
		printf("{\"cniVersion\":\"1.0.0\",\"supportedVersions\":[\"1.0.0\"]}\n");
		return 0;
	}
	if (load(&f) < 0)
		return fail("config", -EINVAL, "CNI_* env and {floor, name, [subnet]} needed");
	if (strcmp(f.cmd, "ADD") && strcmp(f.cmd, "DEL"))
		return fail(f.cmd, -EOPNOTSUPP, "only ADD, DEL, VERSION");
	f.t0 = f.t_last = now_ns();
	if (!strcmp(f.work, "bridge"))
		r = !strcmp(f.cmd, "ADD") ? bridge_add(&f) : bridge_del(&f);
	else if (!strcmp(f.work, "host-local") && f.data_dir)
		r = ipam_work(&f, !strcmp(f.cmd, "ADD"));
	else if (!strcmp(f.work, "bandwidth"))
		r = !strcmp(f.cmd, "ADD") ? bandwidth_add(&f) : bandwidth_del(&f);
	else if (!strcmp(f.work, "portmap"))
		r = portmap_work(&f, !strcmp(f.cmd, "ADD"));
	else
		return fail(f.work, -EINVAL, "unknown work");
	t1 = now_ns();
	if (r)
		return 1;
	printf("{\"cniVersion\":\"%s\",\"benchNs\":%lld,\"steps\":{%s}}\n",
	       f.version ? f.version : "1.0.0", t1 - f.t0, f.steps);
	return 0;
}
