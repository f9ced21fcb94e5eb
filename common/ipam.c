// SPDX-License-Identifier: Apache-2.0
/* IPAM delegation as the spec says: exec <CNI_PATH>/<ipam.type> with the caller's
 * environment (CNI_COMMAND set to the verb) and the same stdin. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include <cjson/cJSON.h>

#include "cni.h"
#include "ipam.h"
#include "result.h"

extern char **environ;

#define IPAM_MAX_OUTPUT (1U << 20)

const char *ipam_type(const struct cni_ctx *ctx)
{
	const cJSON *ipam = cJSON_GetObjectItemCaseSensitive(ctx->conf, "ipam");
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(ipam, "type");

	return cJSON_IsString(t) && *t->valuestring ? t->valuestring : NULL;
}

static int find_plugin(const struct cni_ctx *ctx, const char *type, char *buf, size_t len)
{
	const char *p = ctx->path, *e;

	if (!type || strchr(type, '/') || !strcmp(type, ".") || !strcmp(type, ".."))
		return -EINVAL;
	while (p && *p) {
		e = strchrnul(p, ':');
		if (e > p && snprintf(buf, len, "%.*s/%s", (int)(e - p), p, type) < (int)len &&
		    access(buf, X_OK) == 0)
			return 0;
		p = *e ? e + 1 : e;
	}
	return -ENOENT;
}

/* The caller's environment with the CNI_* variables taken from ctx and the verb replaced. */
static char **build_env(const struct cni_ctx *ctx, const char *verb)
{
	const char *vars[][2] = {
		{"CNI_COMMAND", verb},	   {"CNI_CONTAINERID", ctx->containerid},
		{"CNI_NETNS", ctx->netns}, {"CNI_IFNAME", ctx->ifname},
		{"CNI_ARGS", ctx->args},   {"CNI_PATH", ctx->path},
	};
	size_t n = 0, k = 0, nv = sizeof(vars) / sizeof(vars[0]);
	char **env;

	while (environ && environ[n])
		n++;
	env = calloc(n + nv + 1, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "CNI_", 4) ||
		    !strncmp(environ[i], "CNI_NETNS_OVERRIDE=", 19))
			env[k++] = strdup(environ[i]);
	for (size_t i = 0; i < nv; i++)
		if (vars[i][1] && asprintf(&env[k++], "%s=%s", vars[i][0], vars[i][1]) < 0)
			env[--k] = NULL;
	return env;
}

static void free_env(char **env)
{
	for (size_t i = 0; env && env[i]; i++)
		free(env[i]);
	free(env);
}

/* Feeds the rest of stdin and collects stdout at the same time, so neither pipe can fill
 * up. Closes both fds. */
static int pump(struct ipam_job *job, const char *in, size_t in_len, char **ret_out)
{
	size_t cap = 4096, n = 0;
	char *out = malloc(cap + 1), *nb;
	struct pollfd p[2] = {{.fd = job->out_fd, .events = POLLIN},
			      {.fd = job->in_fd, .events = POLLOUT}};

	while (out && p[0].fd >= 0) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].fd >= 0 && (p[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
			ssize_t w = write(p[1].fd, in + job->off, in_len - job->off);

			if (w > 0)
				job->off += (size_t)w;
			if ((w < 0 && errno != EAGAIN && errno != EINTR) || job->off == in_len) {
				close(p[1].fd);
				p[1].fd = job->in_fd = -1;
			}
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t rd;

			if (n == cap && cap < IPAM_MAX_OUTPUT) {
				nb = realloc(out, cap * 2 + 1);
				if (!nb)
					break;
				out = nb;
				cap *= 2;
			}
			rd = n < cap ? read(p[0].fd, out + n, cap - n) : 0;
			if (rd > 0)
				n += (size_t)rd;
			else if (rd == 0 || errno != EINTR)
				p[0].fd = -1;
		}
	}
	if (job->in_fd >= 0)
		close(job->in_fd);
	/* closing our end makes a child that writes too much fail instead of blocking */
	close(job->out_fd);
	job->in_fd = job->out_fd = -1;
	if (!out)
		return -ENOMEM;
	out[n] = '\0';
	*ret_out = out;
	return 0;
}

/* Starts exe with stdin and stdout on pipes and writes what of stdin fits without
 * blocking, so the child can work while the caller does something else. */
static int spawn(const char *exe, char **env, const char *in, size_t in_len, struct ipam_job *job)
{
	int in_p[2] = {-1, -1}, out_p[2] = {-1, -1}, r;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t def;
	ssize_t w;
	char *argv[] = {(char *)exe, NULL};

	if (pipe2(in_p, O_CLOEXEC) < 0 || pipe2(out_p, O_CLOEXEC) < 0) {
		r = -errno;
		goto fail;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in_p[0], STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, out_p[1], STDOUT_FILENO);
	posix_spawnattr_init(&attr);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	posix_spawnattr_setsigdefault(&attr, &def);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
	r = -posix_spawn(&job->pid, exe, &fa, &attr, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (r < 0)
		goto fail;
	close(in_p[0]);
	close(out_p[1]);
	job->in_fd = in_p[1];
	job->out_fd = out_p[0];
	job->off = 0;
	/* the child may exit without reading: EPIPE, not SIGPIPE */
	(void)fcntl(job->in_fd, F_SETFL, O_NONBLOCK);
	w = in_len ? write(job->in_fd, in, in_len) : 0;
	if (w > 0)
		job->off = (size_t)w;
	/* the child reads stdin to its end before it does anything: close it now when all of
	 * it fit in the pipe (the usual case), or the child would wait for ipam_finish() */
	if (job->off == in_len) {
		close(job->in_fd);
		job->in_fd = -1;
	}
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		if (in_p[i] >= 0)
			close(in_p[i]);
		if (out_p[i] >= 0)
			close(out_p[i]);
	}
	return r;
}

/* A failed delegate's own error JSON becomes ours unchanged (code, msg, details). */
static int take_error(struct cni_ctx *ctx, const char *type, const char *out)
{
	cJSON *o = cJSON_Parse(out);
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(o, "code");
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(o, "msg");
	const cJSON *det = cJSON_GetObjectItemCaseSensitive(o, "details");
	int r;

	if (cJSON_IsNumber(code) && cJSON_IsString(msg)) {
		r = cni_fail(ctx, (int)code->valuedouble, -EIO, "%s", msg->valuestring);
		if (cJSON_IsString(det) && *det->valuestring)
			cni_fail_details(ctx, "%s", det->valuestring);
	} else {
		r = cni_fail(ctx, CNI_ERR_DELEGATE, -EIO, "netplugin %s failed: %.300s", type, out);
	}
	cJSON_Delete(o);
	return r;
}

static int find_or_fail(struct cni_ctx *ctx, const char *type, char *exe, size_t len)
{
	if (find_plugin(ctx, type, exe, len) < 0)
		return cni_fail(ctx, CNI_ERR_DELEGATE, -ENOENT,
				"failed to find plugin \"%s\" in path [%s]", type ? type : "",
				ctx->path ? ctx->path : "");
	return 0;
}

int ipam_find(struct cni_ctx *ctx)
{
	char exe[PATH_MAX];

	return find_or_fail(ctx, ipam_type(ctx), exe, sizeof(exe));
}

int ipam_start(struct cni_ctx *ctx, const char *verb, struct ipam_job *job)
{
	char exe[PATH_MAX], **env;
	int r;

	memset(job, 0, sizeof(*job));
	job->in_fd = job->out_fd = -1;
	job->verb = verb;
	if ((r = find_or_fail(ctx, ipam_type(ctx), exe, sizeof(exe))) < 0)
		return r;
	env = build_env(ctx, verb);
	if (!env)
		return -ENOMEM;
	r = spawn(exe, env, ctx->input, ctx->input_len, job);
	free_env(env);
	if (r < 0)
		return cni_fail(ctx, CNI_ERR_DELEGATE, r, "exec %s: %s", exe, strerror(-r));
	job->running = true;
	return 0;
}

int ipam_finish(struct cni_ctx *ctx, struct ipam_job *job, struct cni_result *ret_res)
{
	const char *type = ipam_type(ctx);
	char err[256], *out = NULL;
	int status = 0, r;
	cJSON *o;

	if (!job->running)
		return 0;
	job->running = false;
	r = pump(job, ctx->input, ctx->input_len, &out);
	while (waitpid(job->pid, &status, 0) < 0)
		if (errno != EINTR) {
			r = r < 0 ? r : -errno;
			break;
		}
	if (r < 0) {
		free(out);
		return cni_fail(ctx, CNI_ERR_DELEGATE, r, "run %s: %s", type, strerror(-r));
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		r = take_error(ctx, type, out);
	} else if (ret_res && !strcmp(job->verb, "ADD")) {
		o = cJSON_Parse(out);
		r = cni_result_parse(o, ret_res, err, sizeof(err));
		cJSON_Delete(o);
		if (r < 0)
			r = cni_fail(ctx, CNI_ERR_DELEGATE, r, "invalid result from %s: %s", type,
				     err);
	}
	free(out);
	return r;
}

int ipam_exec(struct cni_ctx *ctx, const char *verb, struct cni_result *ret_res)
{
	struct ipam_job job;
	int r = ipam_start(ctx, verb, &job);

	return r < 0 ? r : ipam_finish(ctx, &job, ret_res);
}
