// SPDX-License-Identifier: Apache-2.0
/* Names derived from an attachment, so DEL and GC can find what ADD created without any
 * state: "<prefix><hex digest of (container ID, ifname)>", and the keys that stand for IDs
 * too long to be kept whole. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "base/name.h"
#include "base/sha256.h"

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

uint64_t name_fnv(uint64_t h, const char *s)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= FNV_PRIME;
	}
	return h;
}

char *name_hash(char out[16], const char *prefix, const char *a, const char *b)
{
	uint64_t h = name_fnv(name_fnv(name_fnv(FNV_OFFSET, a), "/"), b);

	/* a final avalanche so that nearby IDs differ in the leading digits too */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	char full[64];

	snprintf(full, sizeof(full), "%s%016llx", prefix, (unsigned long long)h);
	memcpy(out, full, 15);
	out[15] = '\0';
	return out;
}

char *name_key(char out[NAME_KEY_LEN + 1], const char *s)
{
	uint8_t d[SHA256_LEN];

	sha256(s, strlen(s), d);
	out[0] = NAME_KEY_MARK;
	for (int i = 0; i < SHA256_LEN; i++)
		snprintf(out + 1 + 2 * i, 3, "%02x", d[i]);
	return out;
}

bool name_key_is(const char *key, const char *s)
{
	char k[NAME_KEY_LEN + 1];

	if (key[0] != NAME_KEY_MARK)
		return !strcmp(key, s);
	return !strcmp(key, name_key(k, s));
}

int mac_random(uint8_t mac[6])
{
	if (getrandom(mac, 6, 0) != 6)
		return -errno;
	mac[0] = (uint8_t)((mac[0] & 0xfe) | 0x02); /* unicast, locally administered */
	return 0;
}
