// SPDX-License-Identifier: Apache-2.0
/* Where a call's logs go: SLUICE_LOG and SLUICE_LOG_FILE, then the config's "log" block
 * (the environment wins); and the debug lines of the request and its answer. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cni/cni_log.h"
#include "base/log.h"
#include "cni/cni.h"
#include "cni/conf.h"

#define LOG_MAX_SIZE_MAX (1ULL << 40)

static const char *env(const struct cni_ctx *ctx, const char *name)
{
	const char *v = ctx->getenv(name);

	return v && *v ? v : NULL;
}

static void open_file(const char *path, unsigned long long max)
{
	int r = log_open_file(path, max);

	if (r < 0)
		log_warn("log file %s: %s; logging to stderr instead", path, strerror(-r));
}

void cni_log_env(struct cni_ctx *ctx)
{
	const char *file = env(ctx, "SLUICE_LOG_FILE");
	char prog[48];

	log_setup("warn", STDERR_FILENO);
	snprintf(prog, sizeof(prog), "sluice-%s", ctx->plugin->name);
	log_set_context(prog, env(ctx, "CNI_CONTAINERID"), env(ctx, "CNI_COMMAND"));
	if (file) {
		log_set_level(LOG_LEVEL_INFO);
		open_file(file, LOG_MAX_SIZE_DEFAULT);
	}
	log_setup(env(ctx, "SLUICE_LOG"), -1);
}

/* {"file": absolute path, "level": name, "maxSize": bytes}, every field optional. */
static void parse_block(struct conf *cf, const cJSON *o, const char **ret_file, int *ret_level,
			unsigned long long *ret_max)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, "file");
	const cJSON *l = cJSON_GetObjectItemCaseSensitive(o, "level");
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "maxSize");

	if (!cJSON_IsObject(o)) {
		conf_error(cf, CNI_ERR_CONFIG, "log: must be an object");
		return;
	}
	if (f && !cJSON_IsNull(f) &&
	    (!cJSON_IsString(f) || (*f->valuestring && *f->valuestring != '/')))
		conf_error(cf, CNI_ERR_CONFIG, "log.file: must be an absolute path");
	else if (cJSON_IsString(f) && *f->valuestring)
		*ret_file = f->valuestring;
	if (l && !cJSON_IsNull(l) &&
	    (!cJSON_IsString(l) || (*ret_level = log_level_parse(l->valuestring)) < 0))
		conf_error(cf, CNI_ERR_CONFIG, "log.level: must be error, warn, info or debug");
	if (m && !cJSON_IsNull(m) &&
	    (!cJSON_IsNumber(m) || m->valuedouble != floor(m->valuedouble) ||
	     m->valuedouble < (double)LOG_MAX_SIZE_MIN ||
	     m->valuedouble > (double)LOG_MAX_SIZE_MAX))
		conf_error(cf, CNI_ERR_CONFIG, "log.maxSize: must be an integer in [%llu, %llu]",
			   LOG_MAX_SIZE_MIN, LOG_MAX_SIZE_MAX);
	else if (m && cJSON_IsNumber(m))
		*ret_max = (unsigned long long)m->valuedouble;
}

bool cni_log_secret_key(const char *k)
{
	static const char *const words[] = {"password",	   "passwd",	 "secret",
					    "token",	   "credential", "privatekey",
					    "private_key", "apikey",	 "api_key"};

	for (size_t i = 0; k && i < sizeof(words) / sizeof(words[0]); i++)
		if (strcasestr(k, words[i]))
			return true;
	return false;
}

static void redact(cJSON *o)
{
	cJSON *e, *next, *r;

	for (e = o ? o->child : NULL; e; e = next) {
		next = e->next;
		if (!cJSON_IsObject(o) || !cni_log_secret_key(e->string)) {
			redact(e);
			continue;
		}
		r = cJSON_CreateString("(redacted)");
		if (!r) {
			cJSON_DetachItemViaPointer(o, e);
			cJSON_Delete(e);
			continue;
		}
		/* the key moves over: by name, a duplicate key's second value would be missed */
		r->string = e->string;
		e->string = NULL;
		cJSON_ReplaceItemViaPointer(o, e, r);
	}
}

/* CNI_ARGS with the values of secret keys replaced; malloc'd. */
static char *redact_args(const char *args)
{
	size_t n = strlen(args);
	char *out = calloc(1, 3 * n + 16), *s = strdup(args), *save = NULL, *pair, *eq;
	bool secret;

	if (!out || !s) {
		free(out);
		free(s);
		return NULL;
	}
	for (pair = strtok_r(s, ";", &save); pair; pair = strtok_r(NULL, ";", &save)) {
		eq = strchr(pair, '=');
		if (*out)
			strcat(out, ";");
		secret = false;
		if (eq) {
			*eq = '\0';
			secret = cni_log_secret_key(pair);
			*eq = '=';
		}
		/* "k=(redacted);" for "k=;", k at least "token": at most 17 bytes for 7 */
		if (secret)
			strcat(strncat(out, pair, (size_t)(eq - pair) + 1), "(redacted)");
		else
			strcat(out, pair);
	}
	free(s);
	return out;
}

static void log_request(const struct cni_ctx *ctx)
{
	cJSON *c = cJSON_Duplicate(ctx->conf, true);
	char *args = ctx->args ? redact_args(ctx->args) : NULL, *s;

	log_debug("request: CNI_COMMAND=%s CNI_CONTAINERID=%s CNI_NETNS=%s CNI_IFNAME=%s "
		  "CNI_ARGS=%s CNI_PATH=%s",
		  ctx->command, ctx->containerid ? ctx->containerid : "",
		  ctx->netns ? ctx->netns : "", ctx->ifname ? ctx->ifname : "", args ? args : "",
		  ctx->path ? ctx->path : "");
	redact(c);
	s = c ? cJSON_PrintUnformatted(c) : NULL;
	log_debug("request config: %s", s ? s : "(out of memory)");
	free(s);
	free(args);
	cJSON_Delete(c);
}

int cni_log_conf(struct cni_ctx *ctx)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(ctx->conf, "log");
	const char *file = NULL, *env_file = env(ctx, "SLUICE_LOG_FILE");
	unsigned long long max = LOG_MAX_SIZE_DEFAULT;
	int level = -1;
	struct conf cf;

	conf_init(&cf, ctx);
	if (o && !cJSON_IsNull(o))
		parse_block(&cf, o, &file, &level, &max);
	if (cf.n && ctx->cmd != CNI_CMD_DEL && ctx->cmd != CNI_CMD_GC)
		return conf_done(&cf);
	if (cf.n) {
		log_warn("%s goes on without the log config: %s", ctx->command, cf.msg);
		file = NULL;
		level = -1;
		max = LOG_MAX_SIZE_DEFAULT;
	}
	if (env_file || file)
		open_file(env_file ? env_file : file, max);
	/* a file without a level logs what was done; SLUICE_LOG wins over both */
	if (log_level_parse(env(ctx, "SLUICE_LOG")) < 0 && (level >= 0 || file))
		log_set_level(level >= 0 ? (enum log_level)level : LOG_LEVEL_INFO);
	if (log_enabled(LOG_LEVEL_DEBUG))
		log_request(ctx);
	return 0;
}

void cni_log_done(const struct cni_ctx *ctx, int r)
{
	if (r >= 0) {
		log_debug("done");
		return;
	}
	/* nothing configured: stderr keeps only warnings, as it always did (the error is on
	 * stdout anyway) */
	if (!log_file() && !env(ctx, "SLUICE_LOG") &&
	    !(ctx->conf && cJSON_GetObjectItemCaseSensitive(ctx->conf, "log")))
		return;
	log_error("failed: code %d: %s%s%s%s", ctx->err.code, ctx->err.msg,
		  ctx->err.details[0] ? " (" : "", ctx->err.details,
		  ctx->err.details[0] ? ")" : "");
}
