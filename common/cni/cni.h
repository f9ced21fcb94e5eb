/* SPDX-License-Identifier: Apache-2.0 */
/* The CNI protocol: environment and stdin, version checks, verb dispatch, error JSON. */
#ifndef CNI_H
#define CNI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "base/err.h"

struct cJSON;

#define CNI_MAX_INPUT (1U << 20) /* stdin cap: 1 MiB */
#define CNI_MAX_ID 255 /* container ID length cap */

enum cni_cmd {
	CNI_CMD_ADD = 1,
	CNI_CMD_DEL,
	CNI_CMD_CHECK,
	CNI_CMD_VERSION,
	CNI_CMD_GC,
	CNI_CMD_STATUS,
};

#define CNI_V(a, b, c) ((a) << 16 | (b) << 8 | (c))


struct cni_kv {
	char *key;
	char *val;
};

struct cni_attachment {
	const char *containerid;
	const char *ifname;
};

/* One call of a plugin: the parsed environment and stdin. Passed to every callback. */
struct cni_ctx {
	enum cni_cmd cmd;
	const char *command; /* CNI_COMMAND as given */
	const char *containerid;
	const char *netns; /* NULL when unset or empty */
	const char *ifname;
	const char *args; /* raw CNI_ARGS */
	const char *path; /* CNI_PATH */
	bool netns_override;

	char *input; /* stdin, NUL-terminated; delegated plugins get it unchanged */
	size_t input_len;
	struct cJSON *conf; /* parsed stdin */
	const char *version; /* cniVersion of the request (points into conf) */
	unsigned int vnum; /* the same as CNI_V() */
	const char *name; /* network name */
	const struct cJSON *prev; /* prevResult or NULL */

	struct cni_kv *kv; /* CNI_ARGS pairs */
	size_t n_kv;

	bool has_valid_list; /* GC: a valid-attachments key was present */
	struct cni_attachment *valid;
	size_t n_valid;

	struct err err;
	FILE *out;
	const struct cni_plugin *plugin;
	char *(*getenv)(const char *);
};

/* A plugin's verbs. Each returns >= 0 on success or -errno; on failure it records the
 * reason with cni_fail(). A NULL verb succeeds doing nothing. ADD prints its result. */
struct cni_plugin {
	const char *name;
	const char *about;
	int (*add)(struct cni_ctx *ctx);
	int (*del)(struct cni_ctx *ctx);
	int (*check)(struct cni_ctx *ctx);
	int (*gc)(struct cni_ctx *ctx);
	int (*status)(struct cni_ctx *ctx);
};

/* The versions every sluice binary speaks, oldest first, NULL-terminated. */
extern const char *const cni_versions[];

/* Runs one call with injected I/O (unit tests call this directly). Returns the process
 * exit status: 0 on success, 1 after printing error JSON to out. */
int cni_run(const struct cni_plugin *p, char *(*getenv_fn)(const char *), FILE *in, FILE *out,
	    FILE *err);

/* main() of every plugin: cni_run() on the process's environment and stdio. Also answers
 * --help and --version. */
int cni_main(const struct cni_plugin *p, int argc, char **argv);

/* Writes s and a newline to out: the one JSON document a call prints, made valid UTF-8 by
 * cni_utf8_clean(). Returns 0 or -errno. */
int cni_emit(FILE *out, const char *s);

/* A copy of s in valid UTF-8 (free() it), or NULL: each invalid byte becomes U+FFFD, as
 * in Go's JSON encoder, but the beginning of a character cut short (by a byte-counted
 * "%.200s", or an input's last bytes) is left out. */
char *cni_utf8_clean(const char *s);

/* Records the first failure (later ones go to the log) and returns r, or -EINVAL when
 * r >= 0. */
int cni_fail(struct cni_ctx *ctx, int code, int r, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* A request the kernel refused: code 100, msg "<what>: <strerror(-r)>", details the
 * kernel's extended ack text (extack may be NULL or ""). Returns r. */
int cni_fail_kernel(struct cni_ctx *ctx, int r, const char *extack, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Sets the details of the recorded failure when it has none yet. */
void cni_fail_details(struct cni_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Parses "1.0.0" into CNI_V(1,0,0); 0 when malformed. */
unsigned int cni_version_num(const char *v);

/* True when v is one of cni_versions. */
bool cni_version_supported(const char *v);

/* The value of a CNI_ARGS key, or NULL. */
const char *cni_arg(const struct cni_ctx *ctx, const char *key);

/* True when (containerid, ifname) is in the GC valid list. containerid may be the key that
 * stands for a long ID where it was kept (name_key()). */
bool cni_attachment_valid(const struct cni_ctx *ctx, const char *containerid, const char *ifname);

/* netns_open() of CNI_NETNS for a plugin: the fd, or the CNI error already reported (code 4
 * when the file is not a network namespace, 3 when it cannot be opened) as a negative errno. */
int netns_open_cni(struct cni_ctx *ctx);

/* cni_attachment_valid() in the shape of a library callback (ctx as void *) */
bool cni_valid_attachment_cb(void *ctx, const char *containerid, const char *ifname);

/* Test hook: fails (code 999, "injected failure at <point>") when the environment variable
 * SLUICE_FAULT names point, so tests can make an ADD fail at each step. Returns 0 or
 * -EIO. */
int cni_fault(struct cni_ctx *ctx, const char *point);

/* Validation shared by env checks and store code. Return true when acceptable. */
bool cni_valid_id(const char *s);
bool cni_valid_ifname(const char *s);

#endif
