/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the libFuzzer targets in tests/fuzz: a whole CNI call in-process over a plugin
 * whose verbs only parse (the real plugins' parsers, never the kernel), and the checks every
 * printed byte must pass. */
#ifndef FUZZ_H
#define FUZZ_H
#include <stddef.h>
#include <stdint.h>

#include "cni/cni.h"

/* The config parsers of the four plugins, each in a file of its own that includes the
 * plugin's source (its static functions are not linkable otherwise). Each parses
 * ctx->conf (and prevResult, CNI_ARGS, runtimeConfig as that plugin does) for ctx->cmd,
 * frees what it made and returns the parser's answer (< 0 with ctx->err set). */
int fz_bridge_parse(struct cni_ctx *ctx);
int fz_host_local_parse(struct cni_ctx *ctx);
int fz_bandwidth_parse(struct cni_ctx *ctx);
int fz_portmap_parse(struct cni_ctx *ctx);

/* A plugin whose every verb runs the four parsers; ADD then prints prevResult (parsed and
 * printed again in the request's version) or an empty result. */
extern const struct cni_plugin fz_plugin;

/* Runs cni_run(&fz_plugin) with CNI_COMMAND=verb, CNI_ARGS=args (NULL: unset) and the len
 * bytes at in as stdin; aborts unless its output is what a runtime may read (fz_check_out).
 * Returns cni_run's exit status. */
int fz_call(const char *verb, const char *args, const void *in, size_t len);

/* Every verb in turn on the same stdin. */
void fz_call_all(const char *args, const void *in, size_t len);

/* Aborts (a crash for libFuzzer) unless out is empty, or exactly one JSON document and a
 * newline, all valid UTF-8; an error (status 1) must be {cniVersion, code, msg, details}. */
void fz_check_out(const char *out, size_t len, int status);

/* True when the len bytes at s are valid UTF-8 (no overlong forms, no surrogates). */
int fz_utf8_ok(const char *s, size_t len);

/* stdin of a call: prefix, the fuzzer's bytes, suffix, in one malloc'd buffer. */
char *fz_wrap(const char *prefix, const uint8_t *data, size_t size, const char *suffix,
	      size_t *ret_len);

#endif
