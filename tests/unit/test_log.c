// SPDX-License-Identifier: Apache-2.0
/* The log sink in-process: line shape, level filter, one line per entry, long lines, rotation;
 * and a call's log settings from the environment and the "log" block, secrets redacted. */
#define T_NAME "test_log"
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>

#include "base/log.h"
#include "cni/cni.h"
#include "t.h"

static char dir[] = "/tmp/sluice-test-log.XXXXXX";
static const char *fake_env[10][2]; /* NULL-terminated */

static char *fake_getenv(const char *name)
{
	for (int i = 0; fake_env[i][0]; i++)
		if (!strcmp(fake_env[i][0], name))
			return (char *)fake_env[i][1];
	return NULL;
}

/* The file's content (static buffer) and its number of lines. */
static const char *slurp(const char *path, int *ret_lines)
{
	static char buf[1 << 18];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = '\0';
	*ret_lines = 0;
	for (size_t i = 0; i < n; i++)
		*ret_lines += buf[i] == '\n';
	return buf;
}

static long long size_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static void test_line_and_level(void)
{
	char path[128];
	const char *s;
	int n;

	snprintf(path, sizeof(path), "%s/a/b/one.log", dir);
	log_setup("warn", STDERR_FILENO);
	log_set_context("sluice-t", "0123456789abcdef", "ADD");
	T_EQ(log_open_file(path, LOG_MAX_SIZE_DEFAULT), 0); /* directories made */
	T_STREQ(log_file(), path);
	log_info("not at warn");
	log_warn("two\nlines %d", 2);
	s = slurp(path, &n);
	T_EQ(n, 1);
	/* 2026-12-04T23:48:23.373694Z warn sluice-t[pid] 0123456789ab ADD: two?lines 2 */
	T_ASSERT(strlen(s) > 28 && s[4] == '-' && s[10] == 'T' && s[19] == '.' && s[26] == 'Z');
	T_ASSERT(strstr(s, "Z warn sluice-t["));
	T_ASSERT(strstr(s, "] 0123456789ab ADD: two?lines 2\n"));
	log_set_level(LOG_LEVEL_DEBUG);
	T_ASSERT(log_enabled(LOG_LEVEL_DEBUG));
	log_debug("now");
	s = slurp(path, &n);
	T_EQ(n, 2);
	T_ASSERT(strstr(s, " debug sluice-t["));
	log_setup("warn", STDERR_FILENO);
	T_ASSERT(!log_file());
}

static void test_long_lines(void)
{
	char path[128], *big = malloc(100000);
	const char *s;
	int n;

	T_ASSERT(big);
	memset(big, 'x', 99999);
	big[99999] = '\0';
	snprintf(path, sizeof(path), "%s/long.log", dir);
	log_setup("info", STDERR_FILENO);
	T_EQ(log_open_file(path, LOG_MAX_SIZE_DEFAULT), 0);
	log_info("%.3000s", big); /* past the stack buffer */
	log_info("%s", big); /* past LOG_LINE_MAX: cut */
	free(big);
	s = slurp(path, &n);
	T_EQ(n, 2);
	T_ASSERT(strstr(s, ": xxx") && strstr(s, "xxx\n") - strstr(s, ": xxx") == 2999);
	T_EQ(size_of(path) - (long long)(strchr(s, '\n') + 1 - s), LOG_LINE_MAX - 1);
	log_setup("warn", STDERR_FILENO);
}

static void test_rotation(void)
{
	char path[128], old[140];
	int n, m;

	snprintf(path, sizeof(path), "%s/rot.log", dir);
	snprintf(old, sizeof(old), "%s.1", path);
	log_setup("info", STDERR_FILENO);
	T_EQ(log_open_file(path, 4096), 0);
	for (int i = 0; i < 100; i++)
		log_info("line %03d %s", i, "................................................");
	T_ASSERT(size_of(path) > 0 && size_of(path) <= 4096);
	T_ASSERT(size_of(old) > 3000 && size_of(old) <= 4096);
	slurp(path, &n);
	T_ASSERT(strstr(slurp(old, &m), "line"));
	T_ASSERT(strstr(slurp(path, &n), "line 099"));
	/* another process rotated under us: we write to the new file, not into the old one */
	T_EQ(rename(path, old), 0);
	log_info("after someone else's rotation");
	T_ASSERT(strstr(slurp(path, &n), "after someone else's rotation") && n == 1);
	T_ASSERT(!strstr(slurp(old, &m), "after someone"));
	log_setup("warn", STDERR_FILENO);
}

static int add_ok(struct cni_ctx *ctx)
{
	log_info("did it");
	return 0;
}

static const struct cni_plugin plug = {.name = "t", .about = "t", .add = add_ok};

static int run(const char *in, char *out, size_t outlen)
{
	FILE *fi = fmemopen((void *)in, strlen(in), "r");
	FILE *fo = fmemopen(out, outlen, "w");
	int rc = cni_run(&plug, fake_getenv, fi, fo, NULL);

	fclose(fi);
	fclose(fo);
	return rc;
}

static void test_call(void)
{
	char path[128], env_path[128], conf[512], out[512];
	const char *s;
	int n;

	snprintf(path, sizeof(path), "%s/call.log", dir);
	snprintf(env_path, sizeof(env_path), "%s/env.log", dir);
	snprintf(conf, sizeof(conf),
		 "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"log\":{\"file\":\"%s\"},"
		 "\"x\":{\"myPassword\":\"hunter2\"}}",
		 path);
	fake_env[0][0] = "CNI_COMMAND", fake_env[0][1] = "ADD";
	fake_env[1][0] = "CNI_CONTAINERID", fake_env[1][1] = "c1";
	fake_env[2][0] = "CNI_IFNAME", fake_env[2][1] = "eth0";
	fake_env[3][0] = "CNI_NETNS", fake_env[3][1] = "/run/netns/x";
	fake_env[4][0] = "CNI_PATH", fake_env[4][1] = "/x";
	fake_env[5][0] = "CNI_ARGS", fake_env[5][1] = "IgnoreUnknown=1;DB_SECRET=hunter3;A=b";
	T_EQ(run(conf, out, sizeof(out)), 0);
	s = slurp(path, &n);
	T_EQ(n, 1); /* info by default with a file */
	T_ASSERT(strstr(s, " info sluice-t[") && strstr(s, "] c1 ADD: did it\n"));
	fake_env[6][0] = "SLUICE_LOG", fake_env[6][1] = "debug";
	T_EQ(run(conf, out, sizeof(out)), 0);
	s = slurp(path, &n);
	T_ASSERT(strstr(s, "CNI_ARGS=IgnoreUnknown=1;DB_SECRET=(redacted);A=b CNI_PATH=/x\n"));
	T_ASSERT(strstr(s, "\"x\":{\"myPassword\":\"(redacted)\"}"));
	T_ASSERT(!strstr(s, "hunter"));
	fake_env[7][0] = "SLUICE_LOG_FILE", fake_env[7][1] = env_path;
	T_EQ(run(conf, out, sizeof(out)), 0);
	T_ASSERT(strstr(slurp(env_path, &n), "] c1 ADD: request config: {"));
	memset(fake_env, 0, sizeof(fake_env));
	log_setup("warn", STDERR_FILENO);
}

int main(void)
{
	static const char *const files[] = {"a/b/one.log", "a/b",	"a",	    "long.log",
					    "rot.log",	   "rot.log.1", "call.log", "env.log"};
	char path[160];

	if (!mkdtemp(dir))
		return 1;
	T_RUN(test_line_and_level);
	T_RUN(test_long_lines);
	T_RUN(test_rotation);
	T_RUN(test_call);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		(void)remove(path);
	}
	(void)rmdir(dir);
	return T_EXIT();
}
