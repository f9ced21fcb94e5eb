// SPDX-License-Identifier: Apache-2.0
/* IPAM delegation as the spec says: exec <CNI_PATH>/<ipam.type> with the caller's
 * environment (CNI_COMMAND set to the verb) and the same stdin. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cjson/cJSON.h>

#include "cni/ipam.h"
#include "base/log.h"
#include "cni/cni.h"
#include "cni/conf.h"
#include "cni/result.h"

extern char **environ;

#define IPAM_MAX_OUTPUT (1U << 20)

const char *ipam_type(const struct cni_ctx *ctx)
{
	const cJSON *ipam = cJSON_GetObjectItemCaseSensitive(ctx->conf, "ipam");
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(ipam, "type");

	return cJSON_IsString(t) && *t->valuestring ? t->valuestring : NULL;
}

/* The delegation depth of this process (0 when unset); UINT_MAX when it is not a number. */
static unsigned int depth_of(const char *d)
{
	char *end;
	unsigned long v;

	if (!d || !*d)
		return 0;
	errno = 0;
	v = strtoul(d, &end, 10);
	return *end || errno || v >= UINT_MAX || d[0] == '-' ? UINT_MAX : (unsigned int)v;
}

/* Plugins that are not IPAM plugins, sluice's and the reference ones (plugins/main and
 * plugins/meta): named as ipam.type, each would set up an interface or rules of its own and,
 * a delegating one, exec its own ipam.type again. */
static const char *const not_ipam[] = {
	"sluice-bridge",
	"sluice-portmap",
	"sluice-bandwidth",
	"sluice-vxlan-overlay",
	"sluice-nft-policy",
	"bridge",
	"dummy",
	"host-device",
	"ipvlan",
	"loopback",
	"macvlan",
	"ptp",
	"tap",
	"vlan",
	"bandwidth",
	"firewall",
	"portmap",
	"sbr",
	"tuning",
	"vrf",
};

void ipam_check(struct conf *cf)
{
	const char *type = ipam_type(cf->ctx), *d = cf->ctx->getenv(IPAM_DEPTH_ENV);
	const unsigned int depth = depth_of(d);
	char shown[16] = "not a number"; /* never the raw value: it may be any bytes */

	if (!type)
		return;
	for (size_t i = 0; i < sizeof(not_ipam) / sizeof(not_ipam[0]); i++)
		if (!strcmp(type, not_ipam[i]))
			conf_error(cf, CNI_ERR_CONFIG, "ipam.type: \"%s\" is not an IPAM plugin",
				   type);
	/* A plugin that delegates IPAM is no IPAM plugin itself: run as one, at any depth, it
	 * is a loop (a wrapper script, a link back to this binary) that would exec without end.
	 * A value that is not a depth was not set by us: refused too. */
	if (depth < IPAM_DEPTH_MAX)
		return;
	if (depth != UINT_MAX)
		snprintf(shown, sizeof(shown), "%u", depth);
	conf_error(cf, CNI_ERR_CONFIG,
		   "ipam.type: delegation loop: sluice-%s was itself run as an IPAM plugin (%s=%s)",
		   cf->ctx->plugin ? cf->ctx->plugin->name : "?", IPAM_DEPTH_ENV, shown);
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
	const size_t dlen = strlen(IPAM_DEPTH_ENV);
	unsigned int depth = depth_of(ctx->getenv(IPAM_DEPTH_ENV));
	char **env;

	while (environ && environ[n])
		n++;
	env = calloc(n + nv + 2, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if ((strncmp(environ[i], "CNI_", 4) ||
		     !strncmp(environ[i], "CNI_NETNS_OVERRIDE=", 19)) &&
		    (strncmp(environ[i], IPAM_DEPTH_ENV, dlen) || environ[i][dlen] != '='))
			env[k++] = strdup(environ[i]);
	for (size_t i = 0; i < nv; i++)
		if (vars[i][1] && asprintf(&env[k++], "%s=%s", vars[i][0], vars[i][1]) < 0)
			env[--k] = NULL;
	/* the child's depth: ipam_check() there refuses a loop back to a delegating plugin */
	if (asprintf(&env[k++], "%s=%u", IPAM_DEPTH_ENV, depth < UINT_MAX ? depth + 1 : depth) < 0)
		env[--k] = NULL;
	return env;
}

static void free_env(char **env)
{
	for (size_t i = 0; env && env[i]; i++)
		free(env[i]);
	free(env);
}

/* Does the answer read so far look complete and successful: one JSON object, nothing but
 * white space after it, and no "code" (an error object waits for the exit status)? When it
 * does, the parsed object is kept in job->answer for parse_result(). */
static bool answered(struct ipam_job *job)
{
	const char *end = NULL;
	cJSON *o = cJSON_ParseWithLengthOpts(job->out, job->n, &end, false);
	bool ok = cJSON_IsObject(o) && !cJSON_GetObjectItemCaseSensitive(o, "code");

	while (ok && end < job->out + job->n)
		ok = strchr(" \t\r\n", *end++) != NULL;
	cJSON_Delete(job->answer);
	job->answer = ok ? o : NULL;
	if (!ok)
		cJSON_Delete(o);
	return ok;
}

/* Feeds the rest of stdin and collects stdout at the same time, so neither pipe can fill
 * up, until stdout's end; or, with early, until a complete answer has arrived once all of
 * stdin is written (the child may still be exiting: see ipam_finish()). Closes stdin;
 * stdout is closed at its end. */
static int pump(struct ipam_job *job, const char *in, size_t in_len, bool early)
{
	struct pollfd p[2] = {{.fd = job->out_fd, .events = POLLIN},
			      {.fd = job->in_fd, .events = POLLOUT}};
	char *nb;

	if (!job->out && !(job->out = malloc((job->cap = 4096) + 1)))
		return -ENOMEM;
	while (p[0].fd >= 0 && !(early && p[1].fd < 0 && job->n && answered(job))) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return -errno;
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

			if (job->n == job->cap && job->cap < IPAM_MAX_OUTPUT) {
				nb = realloc(job->out, job->cap * 2 + 1);
				if (!nb)
					return -ENOMEM;
				job->out = nb;
				job->cap *= 2;
			}
			rd = job->n < job->cap ? read(p[0].fd, job->out + job->n, job->cap - job->n)
					       : 0;
			if (rd > 0)
				job->n += (size_t)rd;
			else if (rd == 0 || errno != EINTR)
				p[0].fd = -1;
		}
		job->out[job->n] = '\0';
	}
	if (job->in_fd >= 0)
		close(job->in_fd);
	job->in_fd = -1;
	if (p[0].fd < 0) {
		/* closing our end makes a child that writes too much fail instead of blocking */
		close(job->out_fd);
		job->out_fd = -1;
	}
	return 0;
}

/* Runs exe in a vfork child with in_fd as its stdin and out_fd as its stdout. The child
 * shares our memory until execve: it stores its errno in *child_err when it cannot exec. */
static pid_t vfork_exec(const char *exe, char **env, int in_fd, int out_fd, volatile int *child_err)
{
	struct sigaction old = {0}, dfl = {.sa_handler = SIG_DFL};
	char *argv[] = {(char *)exe, NULL};
	/* a runtime that ignores SIGPIPE must not hand that on to the plugin */
	const bool reset_pipe = sigaction(SIGPIPE, NULL, &old) == 0 && old.sa_handler == SIG_IGN;
	pid_t pid = vfork();

	if (pid != 0)
		return pid;
	if ((reset_pipe && sigaction(SIGPIPE, &dfl, NULL) < 0) || dup2(in_fd, STDIN_FILENO) < 0 ||
	    dup2(out_fd, STDOUT_FILENO) < 0 ||
	    /* dup2 onto the same fd keeps O_CLOEXEC */
	    (in_fd == STDIN_FILENO && fcntl(STDIN_FILENO, F_SETFD, 0) < 0) ||
	    (out_fd == STDOUT_FILENO && fcntl(STDOUT_FILENO, F_SETFD, 0) < 0)) {
		*child_err = errno;
		_exit(127);
	}
	execve(exe, argv, env);
	*child_err = errno;
	_exit(127);
}

/* Starts exe with stdin and stdout on pipes and writes what of stdin fits without
 * blocking, so the child can work while the caller does something else.
 *
 * vfork() rather than posix_spawn(): the IPAM exec is on ADD's critical path, and glibc's
 * posix_spawn child maps a stack of its own and walks every signal disposition before its
 * exec while the parent waits (0.6 ms against vfork's 0.3 ms here). This process installs
 * no signal handlers, so the child, which borrows our memory until execve, runs only
 * dup2/fcntl/sigaction/execve/_exit. */
static int spawn(const char *exe, char **env, const char *in, size_t in_len, struct ipam_job *job)
{
	int in_p[2] = {-1, -1}, out_p[2] = {-1, -1}, r;
	volatile int child_err = 0;
	ssize_t w;
	pid_t pid;

	if (pipe2(in_p, O_CLOEXEC) < 0 || pipe2(out_p, O_CLOEXEC) < 0) {
		r = -errno;
		goto fail;
	}
	pid = vfork_exec(exe, env, in_p[0], out_p[1], &child_err);
	if (pid < 0 || child_err) {
		r = pid < 0 ? -errno : -child_err;
		if (pid > 0)
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
		goto fail;
	}
	job->pid = pid;
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

	/* a code that is no positive int (1e300, -1, 2.5) is not a CNI error: the whole output
	 * is reported below, and nothing out of int's range is converted */
	if (cJSON_IsNumber(code) && code->valuedouble >= 1 && code->valuedouble <= INT_MAX &&
	    code->valuedouble == floor(code->valuedouble) && cJSON_IsString(msg)) {
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
	struct stat a, b;

	if (find_plugin(ctx, type, exe, len) < 0)
		return cni_fail(ctx, CNI_ERR_DELEGATE, -ENOENT,
				"failed to find plugin \"%s\" in path [%s]", type ? type : "",
				ctx->path ? ctx->path : "");
	/* this very binary under another name (a symlink, a hard link): refused before it runs,
	 * where ipam_check() in the child would refuse it only after it started */
	if (stat(exe, &a) == 0 && stat("/proc/self/exe", &b) == 0 && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino)
		return cni_fail(ctx, CNI_ERR_CONFIG, -ELOOP,
				"ipam.type: delegation loop: \"%s\" (%s) is this plugin itself",
				type, exe);
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
	log_debug("ipam: started %s %s, pid %d", exe, verb, (int)job->pid);
	job->running = true;
	return 0;
}

/* Waits for the child and releases what the job holds. */
static int reap(struct ipam_job *job, int *status)
{
	int r = 0;

	if (job->in_fd >= 0)
		close(job->in_fd);
	if (job->out_fd >= 0)
		close(job->out_fd);
	job->in_fd = job->out_fd = -1;
	while (waitpid(job->pid, status, 0) < 0)
		if (errno != EINTR) {
			r = -errno;
			break;
		}
	job->running = false;
	return r;
}

static int parse_result(struct cni_ctx *ctx, struct ipam_job *job, struct cni_result *res)
{
	char err[256];
	cJSON *o = job->answer ? job->answer : cJSON_Parse(job->out);
	int r = cni_result_parse(o, res, err, sizeof(err));

	cJSON_Delete(o);
	job->answer = NULL;
	return r < 0 ? cni_fail(ctx, CNI_ERR_DELEGATE, r, "invalid result from %s: %s",
				ipam_type(ctx), err)
		     : 0;
}

/* An ADD's answer is used as soon as it is complete: the plugin's exit (its memory torn
 * down, ~0.3 ms here) then overlaps the caller's next steps, and ipam_finish() must be
 * called once more, before the caller commits, to collect the exit status. */
int ipam_finish(struct cni_ctx *ctx, struct ipam_job *job, struct cni_result *ret_res)
{
	const char *type = ipam_type(ctx);
	bool early = ret_res && !strcmp(job->verb, "ADD") && !job->early;
	int status = 0, r, k;

	if (!job->running)
		return 0;
	r = pump(job, ctx->input, ctx->input_len, early);
	if (r == 0 && early && job->out_fd >= 0) {
		job->early = true;
		if ((r = parse_result(ctx, job, ret_res)) == 0)
			return 0;
		(void)reap(job, &status);
		goto out;
	}
	if (r == 0 && job->out_fd >= 0)
		r = pump(job, ctx->input, ctx->input_len, false);
	k = reap(job, &status);
	r = r < 0 ? r : k;
	log_debug("ipam: %s %s exited with status 0x%x", type, job->verb, (unsigned int)status);
	if (r < 0) {
		r = cni_fail(ctx, CNI_ERR_DELEGATE, r, "run %s: %s", type, strerror(-r));
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		r = take_error(ctx, type, job->out);
	} else if (job->early) {
		/* the answer used must have been all of it */
		if (!answered(job))
			r = cni_fail(ctx, CNI_ERR_DELEGATE, -EINVAL,
				     "invalid result from %s: output after the result", type);
	} else if (ret_res && !strcmp(job->verb, "ADD")) {
		r = parse_result(ctx, job, ret_res);
	}
out:
	free(job->out);
	job->out = NULL;
	cJSON_Delete(job->answer);
	job->answer = NULL;
	return r;
}

int ipam_exec(struct cni_ctx *ctx, const char *verb, struct cni_result *ret_res)
{
	struct ipam_job job;
	int r = ipam_start(ctx, verb, &job);

	if (r == 0)
		r = ipam_finish(ctx, &job, ret_res);
	/* an ADD answered early: its exit status still decides */
	if (job.running) {
		int k = ipam_finish(ctx, &job, NULL);

		r = r < 0 ? r : k;
	}
	return r;
}
