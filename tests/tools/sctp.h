/* SPDX-License-Identifier: Apache-2.0 */
/* What the raw-SCTP test tools (sctpraw, sctpinit) share: the packet's checksum and its
 * big-endian fields. */
#ifndef TESTS_TOOLS_SCTP_H
#define TESTS_TOOLS_SCTP_H

#include <stddef.h>
#include <stdint.h>

/* CRC32c (Castagnoli, reflected), bit by bit: a packet is 32 bytes */
static inline uint32_t crc32c(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffff;

	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82f63b78 & -(c & 1));
	}
	return ~c;
}

static inline void put16(uint8_t *p, unsigned int v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

#endif
