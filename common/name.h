/* SPDX-License-Identifier: Apache-2.0 */
/* Names derived from an attachment, so DEL and GC can find what ADD created without any
 * state: "<prefix><hex digest of (container ID, ifname)>". */
#ifndef NAME_H
#define NAME_H

#include <stdint.h>

/* FNV-1a 64 over s. */
uint64_t name_fnv(uint64_t h, const char *s);

/* Writes prefix followed by hex digits of the digest of "a/b", cut to 15 bytes (an
 * interface name). out holds 16 bytes. Returns out. */
char *name_hash(char out[16], const char *prefix, const char *a, const char *b);

/* Fills mac with a random locally administered unicast address. Returns 0 or -errno. */
int mac_random(uint8_t mac[6]);

#endif
