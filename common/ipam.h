/* SPDX-License-Identifier: Apache-2.0 */
/* IPAM delegation as the spec says: exec <CNI_PATH>/<ipam.type> with the caller's
 * environment (CNI_COMMAND set to the verb) and the same stdin. */
#ifndef IPAM_H
#define IPAM_H

struct cni_ctx;
struct cni_result;

/* The ipam.type of the config, or NULL when there is none (or "ipam": {}). */
const char *ipam_type(const struct cni_ctx *ctx);

/* Fails (code 104) unless the IPAM plugin can be found on CNI_PATH: lets ADD refuse a
 * missing plugin before it changes anything. Returns 0 or -ENOENT. */
int ipam_find(struct cni_ctx *ctx);

/* Runs the IPAM plugin for verb ("ADD", "DEL", "CHECK", "GC", "STATUS"). For ADD,
 * ret_res (may be NULL otherwise) receives the parsed result. When the plugin fails, its
 * code, msg and details become ctx's error unchanged. Returns 0 or -errno. */
int ipam_exec(struct cni_ctx *ctx, const char *verb, struct cni_result *ret_res);

#endif
