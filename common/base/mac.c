/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/mac.h"

int mac_parse(const char *s, uint8_t ret_mac[6])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t mac[6];

	if (!s || strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		const char *hi = strchr(hex, s[3 * i] | 0x20),
			   *lo = strchr(hex, s[3 * i + 1] | 0x20);

		if (!s[3 * i] || !s[3 * i + 1] || !hi || !lo || (i < 5 && s[3 * i + 2] != ':'))
			return -EINVAL;
		mac[i] = (uint8_t)((hi - hex) << 4 | (lo - hex));
	}
	memcpy(ret_mac, mac, 6);
	return 0;
}

char *mac_fmt(const uint8_t mac[6], char buf[MAC_STRLEN])
{
	snprintf(buf, MAC_STRLEN, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
		 mac[4], mac[5]);
	return buf;
}
