/* SPDX-License-Identifier: Apache-2.0 */
/* Where a call's logs go: SLUICE_LOG and SLUICE_LOG_FILE, then the config's "log" block
 * (the environment wins); and the debug lines of the request and its answer. */
#ifndef CNI_LOG_H
#define CNI_LOG_H

#include <stdbool.h>

struct cni_ctx;

/* At the start of a call: back to the default (warnings to stderr), names the call in log
 * lines, and applies SLUICE_LOG (a level) and SLUICE_LOG_FILE (a file). */
void cni_log_env(struct cni_ctx *ctx);

/* After the config is parsed: applies its "log" block, then logs the request at debug. An
 * invalid block fails the call (code 7), except DEL and GC, which warn and go on as libcni
 * stops a chain's DEL at its first error. A file that cannot be opened is a warning: logs
 * go to stderr instead. Returns 0 or -EINVAL. */
int cni_log_conf(struct cni_ctx *ctx);

/* Whether a key names a secret (password, token, ...): its value is never logged, nor
 * echoed in an error message (which the log file keeps too), whatever adds it. */
bool cni_log_secret_key(const char *k);

/* At the end of a call: a failure (r < 0) with its code, msg and details, at error level,
 * when logging was configured (by default stderr keeps only warnings). */
void cni_log_done(const struct cni_ctx *ctx, int r);

#endif
