// SPDX-License-Identifier: Apache-2.0
/* libFuzzer target: NFLOG packet messages as the kernel sends them, one buffer of netlink
 * messages as nflog_read() receives it (nft/nflog.c: attributes, the IP header, IPv6
 * extension headers, ports), and the bytes alone as an IP packet. Parsing the same twice
 * gives the same, and the prefix is a C string within its field. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <libmnl/libmnl.h>

#include "nft/nflog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct nflog_pkt *p)
{
	if (strnlen(p->prefix, sizeof(p->prefix)) == sizeof(p->prefix))
		abort();
	if ((p->has_ports && p->has_icmp) || (p->src.family != p->dst.family))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nflog_pkt p, again;
	const struct nlmsghdr *nlh;
	int len = (int)size;
	void *buf;

	if (size > 65536)
		return -1;
	/* netlink messages are 4-byte aligned in the kernel's buffer: so in ours */
	buf = malloc(size ? size : 1);
	if (!buf)
		abort();
	memcpy(buf, data, size);
	/* walked as mnl_cb_run() walks the kernel's buffer, with a length that libmnl would
	 * take for a negative int refused (the kernel sends none: mnl_nlmsg_ok() trusts it) */
	for (nlh = buf; mnl_nlmsg_ok(nlh, len) && nlh->nlmsg_len <= (uint32_t)len;
	     nlh = mnl_nlmsg_next(nlh, &len)) {
		if (nflog_parse(nlh, &p) < 0)
			continue;
		check(&p);
		if (nflog_parse(nlh, &again) < 0 || memcmp(&p, &again, sizeof(p)))
			abort();
	}
	memset(&p, 0, sizeof(p));
	if (nflog_parse_ip(buf, size, &p) == 0)
		check(&p);
	free(buf);
	return 0;
}
