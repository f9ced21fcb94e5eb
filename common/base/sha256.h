/* SPDX-License-Identifier: Apache-2.0 */
/* SHA-256 (FIPS 180-4), one call over a buffer: owner keys of IDs too long to keep whole. */
#ifndef SHA256_H
#define SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32

/* Writes the SHA-256 digest of the len bytes at data to out. */
void sha256(const void *data, size_t len, uint8_t out[SHA256_LEN]);

#endif
