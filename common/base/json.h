/* SPDX-License-Identifier: Apache-2.0 */
/* JSON read as strictly as Go's encoding/json reads a plugin's config: cJSON parses, and
 * what cJSON lets through that Go refuses (trailing data, control characters, loose numbers
 * and white space) is refused here; so is U+0000 in a string, which cJSON's C strings would
 * silently cut short. */
#ifndef JSON_H
#define JSON_H

#include <stddef.h>

struct cJSON;

/* Parses s[0..len) as one JSON value, optionally followed by white space. Returns 0 and
 * *ret; -EBADMSG when it is not such JSON (err says why and where: "at byte N: ..."); or
 * -EILSEQ when it is, but a string in it (a key or a value) holds U+0000 (err names it:
 * "ipam.dataDir: ..."). A number beyond a double's range is -EBADMSG too (cJSON would
 * read it as infinity and print it as null). *ret is NULL on failure. */
int json_parse_strict(const char *s, size_t len, struct cJSON **ret, char *err, size_t errlen);

#endif
