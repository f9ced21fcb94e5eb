/* SPDX-License-Identifier: Apache-2.0 */
/* IPAM delegation as the spec says: exec <CNI_PATH>/<ipam.type> with the caller's
 * environment (CNI_COMMAND set to the verb) and the same stdin. */
#ifndef IPAM_H
#define IPAM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct cni_ctx;
struct cni_result;

/* A delegated plugin started but not yet waited for. */
struct ipam_job {
	pid_t pid;
	int in_fd, out_fd;
	size_t off; /* bytes of stdin written */
	const char *verb;
	bool running;
	bool early; /* answer taken before the exit: ipam_finish() again for the status */
	char *out; /* its stdout so far */
	struct cJSON *answer; /* out parsed, once it is a complete answer */
	size_t n, cap;
};

/* The environment variable that carries the delegation depth to a delegated plugin: 1 in
 * the IPAM plugin of a plugin run by the runtime, one more at each nested delegation. */
#define IPAM_DEPTH_ENV "SLUICE_IPAM_DEPTH"
/* A plugin that delegates IPAM refuses to run at this depth or deeper. */
#define IPAM_DEPTH_MAX 1

struct conf;
/* Config checks of a delegating plugin's ipam.type (none when there is no ipam.type):
 * records on cf (code 7) a type that names a plugin which is not an IPAM plugin, and a call
 * at IPAM_DEPTH_MAX or deeper (this plugin run, directly or not, as an IPAM plugin). */
void ipam_check(struct conf *cf);

/* The ipam.type of the config, or NULL when there is none (or "ipam": {}). */
const char *ipam_type(const struct cni_ctx *ctx);

/* Fails (code 104) unless the IPAM plugin can be found on CNI_PATH, or (code 7) when it is
 * this plugin's own binary: lets ADD refuse either before it changes anything. Returns 0,
 * -ENOENT or -ELOOP. */
int ipam_find(struct cni_ctx *ctx);

/* Runs the IPAM plugin for verb ("ADD", "DEL", "CHECK", "GC", "STATUS"). For ADD,
 * ret_res (may be NULL otherwise) receives the parsed result. When the plugin fails, its
 * code, msg and details become ctx's error unchanged. Returns 0 or -errno. */
int ipam_exec(struct cni_ctx *ctx, const char *verb, struct cni_result *ret_res);

/* The same in two halves, so the caller can do its own work while the plugin runs:
 * ipam_start() execs it and hands it stdin; ipam_finish() collects its answer (a no-op on a
 * job that is not running). Every started job must be finished. Returns 0 or -errno.
 *
 * For an ADD with ret_res, ipam_finish() returns as soon as a complete result has arrived,
 * possibly before the plugin has exited (job->running then stays true): the caller goes on
 * with its work and calls ipam_finish(ctx, job, NULL) before it commits; that waits for the
 * exit and fails, with the plugin's own error, unless it exited 0 having printed only that
 * result. */
int ipam_start(struct cni_ctx *ctx, const char *verb, struct ipam_job *job);
int ipam_finish(struct cni_ctx *ctx, struct ipam_job *job, struct cni_result *ret_res);

#endif
