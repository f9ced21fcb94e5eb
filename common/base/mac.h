/* SPDX-License-Identifier: Apache-2.0 */
/* Ethernet MAC addresses as text: "aa:bb:cc:dd:ee:ff". */
#ifndef MAC_H
#define MAC_H

#include <stdint.h>

#define MAC_STRLEN 18 /* "aa:bb:cc:dd:ee:ff" and its NUL */

/* Parses a MAC "aa:bb:cc:dd:ee:ff" (case-insensitive; s may be NULL). Returns 0 or -EINVAL. */
int mac_parse(const char *s, uint8_t ret_mac[6]);

/* Formats a MAC in lower case; buf holds MAC_STRLEN bytes. Returns buf. */
char *mac_fmt(const uint8_t mac[6], char buf[MAC_STRLEN]);

#endif
