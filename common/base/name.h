/* SPDX-License-Identifier: Apache-2.0 */
/* Names derived from an attachment, so DEL and GC can find what ADD created without any
 * state: "<prefix><hex digest of (container ID, ifname)>", and the keys that stand for IDs
 * too long to be kept whole. */
#ifndef NAME_H
#define NAME_H

#include <stdbool.h>
#include <stdint.h>

#define NAME_KEY_MARK '~'
#define NAME_KEY_LEN 65 /* the mark and 64 hex digits */

/* FNV-1a 64 over s. */
uint64_t name_fnv(uint64_t h, const char *s);

/* Writes prefix followed by hex digits of the digest of "a/b", cut to 15 bytes (an
 * interface name). out holds 16 bytes. Returns out. */
char *name_hash(char out[16], const char *prefix, const char *a, const char *b);

/* Writes the key that stands for s where s is too long to be kept whole (an nft element's
 * comment, a link alias): '~' and the SHA-256 of s in hex. The spec's pattern starts a
 * container ID or network name with a letter or digit, so a key never reads as one. Returns
 * out. */
char *name_key(char out[NAME_KEY_LEN + 1], const char *s);

/* True when key names s: key is s itself, or s's key. */
bool name_key_is(const char *key, const char *s);

/* Fills mac with a random locally administered unicast address. Returns 0 or -errno. */
int mac_random(uint8_t mac[6]);

#endif
