/* SPDX-License-Identifier: Apache-2.0 */
/* YAML streams as JSON, through libyaml: only commands (sluicectl, sluiced) and tests link
 * it (k8s/yaml*.c go into libcmd.a); plugins read JSON only. */
#ifndef K8S_YAML_H
#define K8S_YAML_H

#include <stddef.h>

struct cJSON;
struct err;

/* A k8s_yaml_reader (k8s/object.h): every document of buf as a JSON value in the array
 * *ret, as kubectl reads YAML (go-yaml v2's YAML 1.1 scalars: plain 80 a number, true/yes/on
 * a boolean, null/~/empty null, quoted scalars strings; timestamps stay strings). Anchors
 * and aliases are resolved, at most 100000 nodes copied by aliases in all (no "billion
 * laughs"); merge keys (<<), complex keys, duplicate keys, unknown tags, .inf and .nan are
 * refused. Errors say where: "YAML line 3:7: ...". Returns 0 or -errno with err filled. */
int k8s_yaml_read(const char *buf, size_t len, struct cJSON **ret, struct err *err);

/* Writes v as one YAML document, as kubectl prints objects: block style, two-space indent,
 * strings quoted only where a plain scalar would read back as another type ("true", "80",
 * "") or could not be written plainly, multi-line strings as literal blocks; reading the
 * text back with k8s_yaml_read() gives v. *ret is NUL-terminated (the caller frees it).
 * Returns 0 or -errno with err filled. */
int k8s_yaml_write(const struct cJSON *v, char **ret, struct err *err);

#endif
