/* SPDX-License-Identifier: Apache-2.0 */
/* Typed reads of a plugin's JSON config that collect every problem into one error, so a
 * user sees all of them at once (tc's q_tbf.c does the same). */
#ifndef CONF_H
#define CONF_H

#include <stdbool.h>
#include <stdint.h>

#include "base/ip.h"
#include "base/mac.h" /* mac_parse, mac_fmt: the plugins' callers find them here */

struct cJSON;
struct cni_ctx;

struct conf {
	struct cni_ctx *ctx;
	int code; /* code of the first problem */
	unsigned int n;
	char msg[900];
};

void conf_init(struct conf *c, struct cni_ctx *ctx);

/* Records a problem; the first one's code is the one reported. */
void conf_error(struct conf *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* 0 when no problem was recorded; otherwise fails the call with all of them and returns
 * -EINVAL. */
int conf_done(struct conf *c);

/* Getters: a missing or null key gives def; a value of the wrong type is recorded as a
 * problem (code 7, naming the key) and gives def. obj may be NULL. */
const char *conf_str(struct conf *c, const struct cJSON *obj, const char *key, const char *def);
bool conf_bool(struct conf *c, const struct cJSON *obj, const char *key, bool def);
int64_t conf_int(struct conf *c, const struct cJSON *obj, const char *key, int64_t def, int64_t min,
		 int64_t max);
const struct cJSON *conf_obj(struct conf *c, const struct cJSON *obj, const char *key);
const struct cJSON *conf_array(struct conf *c, const struct cJSON *obj, const char *key);

/* Parses an optional address / CIDR field; returns true when present and valid. */
bool conf_ip(struct conf *c, const struct cJSON *obj, const char *key, struct ip_addr *ret);
bool conf_prefix(struct conf *c, const struct cJSON *obj, const char *key, struct ip_prefix *ret);

/* The capability value runtimeConfig.<key>, or NULL. */
const struct cJSON *cni_runtime(const struct cni_ctx *ctx, const char *key);

/* The value args.cni.<key> (CNI conventions), or NULL. */
const struct cJSON *cni_args_cni(const struct cni_ctx *ctx, const char *key);


#endif
