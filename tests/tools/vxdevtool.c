// SPDX-License-Identifier: Apache-2.0
/* vxdevtool: drives common/overlay/vxdev and omasq from tests/netns/overlay-dev.sh, in the
 * netns it runs in. One library call per command, options as key=value:
 *   dev-ensure|dev-check  family=4|6 vni=N [port=N] [underlay=IF] [local=IP] [mac=M]
 *                         [mtu=N] subnet=PREFIX [learning] [gbp]
 *   dev-del               family=4|6 vni=N
 *   masq-ensure|masq-check [network=P subnet=P] [network6=P subnet6=P]
 *   masq-del
 * Any command takes start=NS (nanoseconds since the epoch): it opens its socket, then waits
 * for that instant, so that concurrent callers really race.
 * ensure and del print "changed=0|1 [ifindex=N] what=<text>"; a failure prints the error
 * ("<code> <message>") on stderr and exits 1. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/prctl.h>

#include "base/err.h"
#include "base/ip.h"
#include "netlink/nl.h"
#include "nft/nft.h"
#include "overlay/omasq.h"
#include "overlay/vxdev.h"

/* The value of key=value among a (NULL-terminated), "1" for a bare key, or NULL. */
static const char *opt(char **a, const char *key)
{
	size_t n = strlen(key);

	for (; *a; a++) {
		if (!strncmp(*a, key, n) && (*a)[n] == '=')
			return *a + n + 1;
		if (!strcmp(*a, key))
			return "1";
	}
	return NULL;
}

static void usage(const char *why)
{
	fprintf(stderr, "vxdevtool: %s (see the comment at the top of tests/tools/vxdevtool.c)\n",
		why);
	exit(2);
}

static void prefix_opt(char **a, const char *key, struct ip_prefix *p)
{
	const char *v = opt(a, key);

	if (v && ip_prefix_parse(v, p) < 0)
		usage("bad prefix");
}

static int dev_opts(char **a, struct overlay_dev *d)
{
	const char *v;

	memset(d, 0, sizeof(*d));
	d->family = (v = opt(a, "family")) && !strcmp(v, "6") ? AF_INET6 : AF_INET;
	d->vni = (v = opt(a, "vni")) ? (uint32_t)strtoul(v, NULL, 0) : OVERLAY_VNI_DEFAULT;
	d->port = (v = opt(a, "port")) ? (uint16_t)strtoul(v, NULL, 0) : 0;
	d->mtu = (v = opt(a, "mtu")) ? (unsigned int)strtoul(v, NULL, 0) : 0;
	if ((v = opt(a, "underlay")))
		snprintf(d->underlay, sizeof(d->underlay), "%s", v);
	if ((v = opt(a, "local")) && ip_parse(v, &d->local) < 0)
		usage("bad local");
	if ((v = opt(a, "mac")) &&
	    sscanf(v, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &d->mac[0], &d->mac[1], &d->mac[2],
		   &d->mac[3], &d->mac[4], &d->mac[5]) != 6)
		usage("bad mac");
	prefix_opt(a, "subnet", &d->subnet);
	d->learning = opt(a, "learning") != NULL;
	d->gbp = opt(a, "gbp") != NULL;
	return 0;
}

/* start=NS: sleeps until then (a barrier for concurrent runs). */
static void wait_start(char **a)
{
	const char *v = opt(a, "start");
	unsigned long long ns = v ? strtoull(v, NULL, 10) : 0;
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000ULL),
			      .tv_nsec = (long)(ns % 1000000000ULL)};

	if (ns) /* wake within a microsecond of the others, not the default 50 */
		(void)prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	while (ns && clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static int failed(const struct err *err, int r)
{
	fprintf(stderr, "%d %s%s%s\n", err->code, err->msg[0] ? err->msg : strerror(-r),
		err->details[0] ? ": " : "", err->details);
	return 1;
}

static int dev(const char *cmd, char **a)
{
	char what[OVERLAY_WHAT_MAX] = "";
	struct overlay_dev d;
	struct err err = {0};
	struct nl nl;
	int r, ifindex = 0;

	dev_opts(a, &d);
	if ((r = nl_open(&nl, -1)) < 0)
		return failed(&err, r);
	wait_start(a);
	if (!strcmp(cmd, "dev-ensure"))
		r = overlay_dev_ensure(&nl, &d, &ifindex, what, &err);
	else if (!strcmp(cmd, "dev-check"))
		r = overlay_dev_check(&nl, &d, &err);
	else
		r = overlay_dev_del(&nl, d.family, d.vni, &err);
	nl_close(&nl);
	if (r < 0)
		return failed(&err, r);
	if (!strcmp(cmd, "dev-ensure"))
		printf("changed=%d ifindex=%d what=%s\n", r, ifindex, what);
	else if (!strcmp(cmd, "dev-del"))
		printf("changed=%d\n", r);
	return 0;
}

static int masq(const char *cmd, char **a)
{
	struct omasq_nets n = {0};
	struct err err = {0};
	struct nft nft;
	int r;

	prefix_opt(a, "network", &n.network);
	prefix_opt(a, "subnet", &n.subnet);
	prefix_opt(a, "network6", &n.network6);
	prefix_opt(a, "subnet6", &n.subnet6);
	if ((r = nft_open(&nft, -1)) < 0)
		return failed(&err, r);
	wait_start(a);
	if (!strcmp(cmd, "masq-ensure"))
		r = omasq_ensure(&nft, &n, &err);
	else if (!strcmp(cmd, "masq-check"))
		r = omasq_check(&nft, &n, &err);
	else
		r = omasq_del(&nft, &err);
	nft_close(&nft);
	if (r < 0)
		return failed(&err, r);
	if (strcmp(cmd, "masq-check"))
		printf("changed=%d\n", r);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage("no command");
	if (!strcmp(argv[1], "dev-ensure") || !strcmp(argv[1], "dev-check") ||
	    !strcmp(argv[1], "dev-del"))
		return dev(argv[1], argv + 2);
	if (!strcmp(argv[1], "masq-ensure") || !strcmp(argv[1], "masq-check") ||
	    !strcmp(argv[1], "masq-del"))
		return masq(argv[1], argv + 2);
	usage("unknown command");
	return 2;
}
