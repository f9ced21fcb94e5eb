// SPDX-License-Identifier: Apache-2.0
/* Typed reads of a plugin's JSON config that collect every problem into one error, so a
 * user sees all of them at once (tc's q_tbf.c does the same). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cni/conf.h"
#include "cni/cni.h"

void conf_init(struct conf *c, struct cni_ctx *ctx)
{
	memset(c, 0, sizeof(*c));
	c->ctx = ctx;
}

void conf_error(struct conf *c, int code, const char *fmt, ...)
{
	size_t len = strlen(c->msg);
	va_list ap;

	if (!c->n++)
		c->code = code;
	else if (len + 3 < sizeof(c->msg))
		len += (size_t)snprintf(c->msg + len, sizeof(c->msg) - len, "; ");
	va_start(ap, fmt);
	vsnprintf(c->msg + len, sizeof(c->msg) - len, fmt, ap);
	va_end(ap);
}

int conf_done(struct conf *c)
{
	if (!c->n)
		return 0;
	return cni_fail(c->ctx, c->code, -EINVAL, "%s", c->msg);
}

static const cJSON *get(const cJSON *obj, const char *key)
{
	const cJSON *v = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;

	return v && !cJSON_IsNull(v) ? v : NULL;
}

const char *conf_str(struct conf *c, const cJSON *obj, const char *key, const char *def)
{
	const cJSON *v = get(obj, key);

	if (!v)
		return def;
	if (!cJSON_IsString(v)) {
		conf_error(c, CNI_ERR_CONFIG, "%s: must be a string", key);
		return def;
	}
	return v->valuestring;
}

bool conf_bool(struct conf *c, const cJSON *obj, const char *key, bool def)
{
	const cJSON *v = get(obj, key);

	if (!v)
		return def;
	if (!cJSON_IsBool(v)) {
		conf_error(c, CNI_ERR_CONFIG, "%s: must be true or false", key);
		return def;
	}
	return cJSON_IsTrue(v);
}

int64_t conf_int(struct conf *c, const cJSON *obj, const char *key, int64_t def, int64_t min,
		 int64_t max)
{
	const cJSON *v = get(obj, key);
	double d;

	if (!v)
		return def;
	d = v->valuedouble;
	if (!cJSON_IsNumber(v) || d != floor(d)) {
		conf_error(c, CNI_ERR_CONFIG, "%s: must be an integer", key);
		return def;
	}
	/* NaN fails both; (double)INT64_MAX rounds up to 2^63, which does not fit: compare the
	 * bound with < on max + 1, which is exact for every max up to 2^53 */
	if (!(d >= (double)min) || !(d < (double)max + 1.0)) {
		conf_error(c, CNI_ERR_CONFIG, "%s: %.15g is out of range [%lld, %lld]", key, d,
			   (long long)min, (long long)max);
		return def;
	}
	return (int64_t)d;
}

const cJSON *conf_obj(struct conf *c, const cJSON *obj, const char *key)
{
	const cJSON *v = get(obj, key);

	if (v && !cJSON_IsObject(v)) {
		conf_error(c, CNI_ERR_CONFIG, "%s: must be an object", key);
		return NULL;
	}
	return v;
}

const cJSON *conf_array(struct conf *c, const cJSON *obj, const char *key)
{
	const cJSON *v = get(obj, key);

	if (v && !cJSON_IsArray(v)) {
		conf_error(c, CNI_ERR_CONFIG, "%s: must be a list", key);
		return NULL;
	}
	return v;
}

bool conf_ip(struct conf *c, const cJSON *obj, const char *key, struct ip_addr *ret)
{
	const char *s = conf_str(c, obj, key, NULL);

	if (!s || !*s)
		return false;
	if (ip_parse(s, ret) < 0) {
		conf_error(c, CNI_ERR_CONFIG, "%s: invalid IP address \"%.60s\"", key, s);
		return false;
	}
	return true;
}

bool conf_prefix(struct conf *c, const cJSON *obj, const char *key, struct ip_prefix *ret)
{
	const char *s = conf_str(c, obj, key, NULL);

	if (!s || !*s)
		return false;
	if (ip_prefix_parse(s, ret) < 0) {
		conf_error(c, CNI_ERR_CONFIG, "%s: invalid CIDR \"%.60s\"", key, s);
		return false;
	}
	return true;
}

const cJSON *cni_runtime(const struct cni_ctx *ctx, const char *key)
{
	const cJSON *rc = cJSON_GetObjectItemCaseSensitive(ctx->conf, "runtimeConfig");

	return get(cJSON_IsObject(rc) ? rc : NULL, key);
}

const cJSON *cni_args_cni(const struct cni_ctx *ctx, const char *key)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(ctx->conf, "args");

	a = cJSON_IsObject(a) ? cJSON_GetObjectItemCaseSensitive(a, "cni") : NULL;
	return get(cJSON_IsObject(a) ? a : NULL, key);
}
