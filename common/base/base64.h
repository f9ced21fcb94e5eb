/* SPDX-License-Identifier: Apache-2.0 */
/* Standard base64 (RFC 4648 §4, with '=' padding), as etcd's JSON gateway sends bytes
 * (keys, values, range ends). Pure: no allocation, no state. */
#ifndef BASE64_H
#define BASE64_H

#include <stddef.h>
#include <sys/types.h>

/* Bytes base64_encode writes for len input bytes, the terminating NUL not counted */
#define BASE64_ENCODED_LEN(len) ((((len) + 2) / 3) * 4)
/* Most bytes base64_decode writes for an input of len characters */
#define BASE64_DECODED_MAX(len) (((len) + 3) / 4 * 3)

/* Encodes in[len] into out, which holds BASE64_ENCODED_LEN(len) + 1 bytes (NUL-terminated).
 * Returns the length written. */
size_t base64_encode(const void *in, size_t len, char *out);

/* Decodes in[len] (padding required, no whitespace) into out, which holds
 * BASE64_DECODED_MAX(len) bytes. Returns the decoded length, or -1 for a malformed input
 * (a length not a multiple of 4, a character outside the alphabet, misplaced padding, or
 * non-zero bits left in the last character). */
ssize_t base64_decode(const char *in, size_t len, void *out);

#endif
