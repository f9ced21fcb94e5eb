// SPDX-License-Identifier: Apache-2.0
/* cttool: drives common/ct from tests/netns/portmap.sh: deletes the conntrack entries of one
 * original destination port, through the filtered flush or (-d) the dump fallback.
 * Usage: cttool [-d] 4|6 tcp|udp|sctp PORT [DST] */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>

#include "base/ip.h"
#include "netlink/ct.h"

int main(int argc, char **argv)
{
	struct ct_filter f = {0};
	char err[256] = "";
	int dump = 0, o, r;

	while ((o = getopt(argc, argv, "dh")) != -1) {
		if (o != 'd')
			goto usage;
		dump = 1;
	}
	argc -= optind;
	argv += optind;
	if (argc < 3 || argc > 4)
		goto usage;
	f.family = !strcmp(argv[0], "6") ? AF_INET6 : AF_INET;
	f.proto = !strcmp(argv[1], "tcp")    ? IPPROTO_TCP
		  : !strcmp(argv[1], "sctp") ? IPPROTO_SCTP
					     : IPPROTO_UDP;
	f.dport = (uint16_t)atoi(argv[2]);
	if (argc == 4 && ip_parse(argv[3], &f.dst) < 0)
		goto usage;
	r = dump ? ct_delete_by_dump(&f, 1, err, sizeof(err)) : ct_delete(&f, 1, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "cttool: %s: %s\n", strerror(-r), err);
		return 1;
	}
	printf("%d\n", r);
	return 0;
usage:
	fprintf(stderr, "usage: cttool [-d] 4|6 tcp|udp|sctp PORT [DST]\n");
	return 2;
}
