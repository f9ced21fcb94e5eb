// SPDX-License-Identifier: Apache-2.0
/* The CNI core in-process: env validation, version checks, CNI_ARGS, GC input, error JSON. */
#define T_NAME "test_cni"
#include <errno.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "base/name.h"
#include "cni/cni.h"
#include "t.h"

static const char *fake_env[16][2];
static int calls;
static struct cni_ctx seen;
static char seen_args[256];

static char *fake_getenv(const char *name)
{
	for (int i = 0; fake_env[i][0]; i++)
		if (!strcmp(fake_env[i][0], name))
			return (char *)fake_env[i][1];
	return NULL;
}

static void set_env(const char *cmd, const char *cid, const char *netns, const char *ifname,
		    const char *args)
{
	const char *v[][2] = {{"CNI_COMMAND", cmd},	    {"CNI_CONTAINERID", cid},
			      {"CNI_NETNS", netns},	    {"CNI_IFNAME", ifname},
			      {"CNI_PATH", "/opt/cni/bin"}, {"CNI_ARGS", args}};
	int n = 0;

	memset(fake_env, 0, sizeof(fake_env));
	for (unsigned int i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (v[i][1]) {
			fake_env[n][0] = v[i][0];
			fake_env[n++][1] = v[i][1];
		}
}

static int rec(struct cni_ctx *ctx)
{
	calls++;
	seen = *ctx;
	seen_args[0] = '\0';
	for (size_t i = 0; i < ctx->n_kv; i++)
		snprintf(seen_args + strlen(seen_args), sizeof(seen_args) - strlen(seen_args),
			 "%s=%s;", ctx->kv[i].key, ctx->kv[i].val);
	return 0;
}

static int gc_rec(struct cni_ctx *ctx)
{
	calls++;
	snprintf(seen_args, sizeof(seen_args), "%d:%zu:%d:%d", ctx->has_valid_list, ctx->n_valid,
		 cni_attachment_valid(ctx, "c1", "eth0"), cni_attachment_valid(ctx, "c1", "eth1"));
	return 0;
}

static int failing(struct cni_ctx *ctx)
{
	return -ENOTTY; /* no code recorded: the 999 fallback */
}

static int failing_coded(struct cni_ctx *ctx)
{
	int r = cni_fail(ctx, CNI_ERR_TRY_AGAIN, -EAGAIN, "first %d", 1);

	cni_fail(ctx, CNI_ERR_IO, -EIO, "second"); /* must not overwrite the first */
	cni_fail_details(ctx, "why");
	return r;
}

static const struct cni_plugin plug = {
	.name = "t",
	.about = "t",
	.add = rec,
	.del = rec,
	.check = rec,
	.gc = gc_rec,
	.status = failing_coded,
};
static const struct cni_plugin plug_fail = {.name = "f", .about = "f", .add = failing};

/* Runs the plugin on stdin of len bytes (NUL bytes too); returns the exit status and the
 * output, its trailing newline cut. */
static int run_n(const struct cni_plugin *p, const char *in, size_t len, char *out, size_t outlen)
{
	FILE *fi = fmemopen((void *)in, len, "r");
	FILE *fo = fmemopen(out, outlen, "w");
	int rc;

	calls = 0;
	memset(out, 0, outlen);
	rc = cni_run(p, fake_getenv, fi, fo, NULL);
	fclose(fi);
	fclose(fo);
	out[strcspn(out, "\n")] = '\0';
	return rc;
}

/* run_n() on stdin text */
static int run(const struct cni_plugin *p, const char *in, char *out, size_t outlen)
{
	return run_n(p, in, strlen(in), out, outlen);
}

static const char conf[] = "{\"cniVersion\":\"1.0.0\",\"name\":\"net\",\"type\":\"t\"}";

static void test_version(void)
{
	char out[512];

	set_env("VERSION", NULL, NULL, NULL, NULL);
	T_EQ(run(&plug, "", out, sizeof(out)), 0);
	T_STREQ(out, "{\"cniVersion\":\"1.1.0\",\"supportedVersions\":[\"0.3.0\",\"0.3.1\","
		     "\"0.4.0\",\"1.0.0\",\"1.1.0\"]}");
	T_EQ(run(&plug, "{\"cniVersion\":\"0.4.0\"}", out, sizeof(out)), 0);
	T_STREQ(out, "{\"cniVersion\":\"0.4.0\",\"supportedVersions\":[\"0.3.0\",\"0.3.1\","
		     "\"0.4.0\",\"1.0.0\",\"1.1.0\"]}");
	T_EQ(calls, 0);
}

static void test_missing_env(void)
{
	char out[512];

	set_env("ADD", NULL, NULL, "eth0", NULL);
	T_EQ(run(&plug, conf, out, sizeof(out)), 1);
	T_STREQ(out, "{\"cniVersion\":\"1.1.0\",\"code\":4,\"msg\":\"required env variables "
		     "[CNI_CONTAINERID,CNI_NETNS] missing\",\"details\":\"\"}");
	set_env(NULL, NULL, NULL, NULL, NULL);
	T_EQ(run(&plug, conf, out, sizeof(out)), 1);
	T_ASSERT(
		strstr(out, "\"code\":4,\"msg\":\"required env variables [CNI_COMMAND] missing\""));
	set_env("FROB", "c", "/run/netns/x", "eth0", NULL);
	T_EQ(run(&plug, conf, out, sizeof(out)), 1);
	T_ASSERT(strstr(out, "\"code\":4,\"msg\":\"unknown CNI_COMMAND: FROB\""));
	/* DEL needs no netns */
	set_env("DEL", "c1", NULL, "eth0", NULL);
	T_EQ(run(&plug, conf, out, sizeof(out)), 0);
	T_EQ(calls, 1);
	T_ASSERT(seen.netns == NULL);
}

static void test_bad_names(void)
{
	const char *bad_ids[] = {"../x", "-x", "a/b", "a b", "", NULL};
	const char *bad_ifs[] = {"eth/0", "eth:0", "a b", ".", "..", "1234567890123456", NULL};
	char out[512];

	for (int i = 0; bad_ids[i]; i++) {
		set_env("ADD", bad_ids[i], "/run/netns/x", "eth0", NULL);
		T_EQ(run(&plug, conf, out, sizeof(out)), 1);
		T_ASSERT(strstr(out, "\"code\":4"));
		T_EQ(calls, 0);
	}
	for (int i = 0; bad_ifs[i]; i++) {
		set_env("ADD", "c1", "/run/netns/x", bad_ifs[i], NULL);
		T_EQ(run(&plug, conf, out, sizeof(out)), 1);
		T_ASSERT(strstr(out, "\"code\":4,\"msg\":\"invalid interface name"));
	}
	set_env("ADD", "c1", "/run/netns/x", "123456789012345", NULL);
	T_EQ(run(&plug, conf, out, sizeof(out)), 0);
	set_env("ADD", "c1", "relative/netns", "eth0", NULL);
	T_EQ(run(&plug, conf, out, sizeof(out)), 1);
	T_ASSERT(strstr(out, "\"code\":4"));
}

static void test_bad_config(void)
{
	char out[512];

	set_env("ADD", "c1", "/run/netns/x", "eth0", NULL);
	T_EQ(run(&plug, "{\"cniVersion\":", out, sizeof(out)), 1);
	T_ASSERT(strstr(out, "\"code\":6"));
	T_EQ(run(&plug, "[1]", out, sizeof(out)), 1);
	T_ASSERT(strstr(out, "\"code\":6"));
	T_EQ(run(&plug, "{\"cniVersion\":\"1.0.0\"}", out, sizeof(out)), 1);
	T_ASSERT(strstr(out, "\"code\":7,\"msg\":\"missing network name\""));
	T_EQ(run(&plug, "{\"cniVersion\":\"1.0.0\",\"name\":\"a/b\"}", out, sizeof(out)), 1);
	T_ASSERT(strstr(out, "\"code\":7"));
	T_EQ(run(&plug, "{\"cniVersion\":\"0.2.0\",\"name\":\"n\"}", out, sizeof(out)), 1);
	T_STREQ(out, "{\"cniVersion\":\"1.1.0\",\"code\":1,\"msg\":\"incompatible CNI versions\","
		     "\"details\":\"config is \\\"0.2.0\\\", plugin supports [\\\"0.3.0\\\", "
		     "\\\"0.3.1\\\", \\\"0.4.0\\\", \\\"1.0.0\\\", \\\"1.1.0\\\"]\"}");
	T_EQ(run(&plug, "{\"name\":\"n\"}", out, sizeof(out)), 1);
	T_ASSERT(strstr(out, "\"code\":1"));
	T_EQ(calls, 0);
}

static void test_oversized_stdin(void)
{
	size_t n = CNI_MAX_INPUT + 100;
	char *big = malloc(n + 1), out[512];

	T_ASSERT(big);
	memset(big, ' ', n);
	memcpy(big, conf, sizeof(conf) - 1);
	big[n] = '\0';
	set_env("ADD", "c1", "/run/netns/x", "eth0", NULL);
	T_EQ(run(&plug, big, out, sizeof(out)), 1);
	T_ASSERT(strstr(out, "\"code\":6,\"msg\":\"network config on stdin is larger than"));
	T_EQ(calls, 0);
	big[CNI_MAX_INPUT - 1] = '\0'; /* just under the cap is accepted */
	T_EQ(run(&plug, big, out, sizeof(out)), 0);
	free(big);
}

static void test_verb_versions(void)
{
	char out[512];

	set_env("CHECK", "c1", "/run/netns/x", "eth0", NULL);
	T_EQ(run(&plug, "{\"cniVersion\":\"0.3.1\",\"name\":\"n\"}", out, sizeof(out)), 1);
	T_ASSERT(strstr(out, "\"code\":1,\"msg\":\"config version does not allow CHECK\""));
	T_EQ(run(&plug, "{\"cniVersion\":\"0.4.0\",\"name\":\"n\"}", out, sizeof(out)), 0);
	set_env("GC", NULL, NULL, NULL, NULL);
	T_EQ(run(&plug, conf, out, sizeof(out)), 1);
	T_ASSERT(strstr(out, "\"code\":1,\"msg\":\"config version does not allow GC\""));
}

static void test_cni_args(void)
{
	char out[512];

	set_env("ADD", "c1", "/run/netns/x", "eth0", "IP=10.0.0.5;K8S_POD_NAME=p");
	T_EQ(run(&plug, conf, out, sizeof(out)), 0);
	T_STREQ(seen_args, "IP=10.0.0.5;K8S_POD_NAME=p;");
	/* the value of a key that names a secret is not echoed (the log file keeps the message) */
	set_env("ADD", "c1", "/run/netns/x", "eth0", "API_TOKEN=s3cr3t;FOO=1");
	T_EQ(run(&plug, conf, out, sizeof(out)), 1);
	T_ASSERT(strstr(out, "unknown args [\\\"API_TOKEN=(redacted)\\\" \\\"FOO=1\\\"]"));
	T_ASSERT(!strstr(out, "s3cr3t"));
	set_env("ADD", "c1", "/run/netns/x", "eth0", "FOO=1;IP=10.0.0.5");
	T_EQ(run(&plug, conf, out, sizeof(out)), 1);
	T_STREQ(out, "{\"cniVersion\":\"1.0.0\",\"code\":4,\"msg\":\"ARGS: unknown args "
		     "[\\\"FOO=1\\\"]\",\"details\":\"\"}");
	set_env("ADD", "c1", "/run/netns/x", "eth0", "IgnoreUnknown=1;FOO=1");
	T_EQ(run(&plug, conf, out, sizeof(out)), 0);
	set_env("ADD", "c1", "/run/netns/x", "eth0", "IgnoreUnknown=true;novalue");
	T_EQ(run(&plug, conf, out, sizeof(out)), 1);
	T_ASSERT(strstr(out, "\"code\":4,\"msg\":\"ARGS: invalid pair \\\"novalue\\\"\""));
}

static void test_gc_lists(void)
{
	char out[512];

	set_env("GC", NULL, NULL, NULL, NULL);
	T_EQ(run(&plug,
		 "{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"cni.dev/valid-attachments\":"
		 "[{\"containerID\":\"c1\",\"ifname\":\"eth0\"}]}",
		 out, sizeof(out)),
	     0);
	T_STREQ(seen_args, "1:1:1:0");
	T_EQ(run(&plug,
		 "{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"cni.dev/attachments\":"
		 "[{\"containerID\":\"c1\",\"ifname\":\"eth1\"}]}",
		 out, sizeof(out)),
	     0);
	T_STREQ(seen_args, "1:1:0:1");
	T_EQ(run(&plug, "{\"cniVersion\":\"1.1.0\",\"name\":\"n\"}", out, sizeof(out)), 0);
	T_STREQ(seen_args, "0:0:0:0");
	T_EQ(run(&plug,
		 "{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"cni.dev/valid-attachments\":"
		 "[{\"containerID\":1}]}",
		 out, sizeof(out)),
	     1);
	T_ASSERT(strstr(out, "\"code\":6"));
}

/* GC compares a long ID kept as its key (an nft comment, a link alias) by that key. */
static void test_gc_valid_keys(void)
{
	char id[256], other[256], key[NAME_KEY_LEN + 1];
	struct cni_attachment valid[2] = {{"c1", "eth0"}, {id, "eth0"}};
	struct cni_ctx ctx = {.valid = valid, .n_valid = 2, .has_valid_list = true};

	memset(id, 'a', 255);
	id[255] = '\0';
	memcpy(other, id, sizeof(id));
	other[254] = 'b';
	T_ASSERT(cni_attachment_valid(&ctx, id, "eth0"));
	T_ASSERT(cni_attachment_valid(&ctx, name_key(key, id), "eth0"));
	T_ASSERT(cni_attachment_valid(&ctx, name_key(key, id), NULL));
	T_ASSERT(!cni_attachment_valid(&ctx, name_key(key, id), "eth1"));
	T_ASSERT(!cni_attachment_valid(&ctx, name_key(key, other), "eth0"));
	T_ASSERT(!cni_attachment_valid(&ctx, other, "eth0"));
	T_ASSERT(cni_attachment_valid(&ctx, name_key(key, "c1"), "eth0"));
	T_ASSERT(!cni_attachment_valid(&ctx, "~c1", "eth0"));
}

static void test_error_json(void)
{
	char out[512];

	set_env("ADD", "c1", "/run/netns/x", "eth0", NULL);
	T_EQ(run(&plug_fail, conf, out, sizeof(out)), 1);
	T_STREQ(out, "{\"cniVersion\":\"1.0.0\",\"code\":999,\"msg\":\"Inappropriate ioctl for "
		     "device\",\"details\":\"\"}");
	set_env("STATUS", NULL, NULL, NULL, NULL);
	T_EQ(run(&plug, "{\"cniVersion\":\"1.1.0\",\"name\":\"n\"}", out, sizeof(out)), 1);
	T_STREQ(out, "{\"cniVersion\":\"1.1.0\",\"code\":11,\"msg\":\"first 1\",\"details\":"
		     "\"why\"}");
}

/* What Go's json.Unmarshal refuses is refused (code 6), white space after the object is not. */
static void test_strict_json(void)
{
	static const char *const bad[][2] = {
		{"{\"cniVersion\":\"1.0.0\",\"name\":\"n\"} x", "at byte 34: data after the end"},
		{"{\"cniVersion\":\"1.0.0\",\"name\":\"n\"}{}", "at byte 33: data after the end"},
		{"{\"cniVersion\":\"1.0.0\",\"name\":\"n\"}\n{\"name\":\"m\"}", "at byte 34: data"},
		{"{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"x\":\"a\tb\"}", "control character"},
		{"{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"mtu\":01}",
		 "at byte 39: invalid number"},
		{"{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"mtu\":1.}",
		 "at byte 39: invalid number"},
		{"{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"mtu\":-.5}", "invalid number"},
		{"{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"mtu\":1e}", "invalid"},
		{"{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\v\"x\":1}",
		 "at byte 33: invalid character"},
		{"\xef\xbb\xbf{\"cniVersion\":\"1.0.0\",\"name\":\"n\"}",
		 "at byte 0: invalid character"},
		/* infinity to cJSON, null once printed: would not survive a store round trip */
		{"{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"x\":[5e333]}",
		 "a number is out of range"},
	};
	static const char nul_byte[] = "{\"cniVersion\":\"1.0.0\",\"name\":\"ok\0/x\"}";
	static const char nul_out[] = "{\"cniVersion\":\"1.0.0\",\"name\":\"n\"}\0";
	static const char nul_lead[] = "\0{\"cniVersion\":\"1.0.0\",\"name\":\"n\"}";
	static const char nul_mid[] = "{\"cniVersion\":\"1.0.0\",\0\"name\":\"n\"}";
	char out[512];

	set_env("ADD", "c1", "/run/netns/x", "eth0", NULL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		T_EQ(run(&plug, bad[i][0], out, sizeof(out)), 1);
		T_ASSERT(strstr(out, "\"code\":6,\"msg\":\"error unmarshalling network config: "
				     "invalid JSON\""));
		if (!strstr(out, bad[i][1]))
			printf("  case %zu: %s\n", i, out);
		T_ASSERT(strstr(out, bad[i][1]));
	}
	/* a raw NUL byte, in a string and after the object */
	T_EQ(run_n(&plug, nul_byte, sizeof(nul_byte) - 1, out, sizeof(out)), 1);
	T_ASSERT(strstr(out, "\"code\":6,") && strstr(out, "control character in a string"));
	T_EQ(run_n(&plug, nul_out, sizeof(nul_out) - 1, out, sizeof(out)), 1);
	T_ASSERT(strstr(out, "\"code\":6,") && strstr(out, "at byte 33: data after the end"));
	/* a NUL byte before or between tokens, which cJSON skips as white space and Go refuses */
	T_EQ(run_n(&plug, nul_lead, sizeof(nul_lead) - 1, out, sizeof(out)), 1);
	T_ASSERT(strstr(out, "\"code\":6,") && strstr(out, "at byte 0: invalid character"));
	T_EQ(run_n(&plug, nul_mid, sizeof(nul_mid) - 1, out, sizeof(out)), 1);
	T_ASSERT(strstr(out, "\"code\":6,") && strstr(out, "at byte 22: invalid character"));
	T_EQ(calls, 0);
	/* white space after the object is fine */
	T_EQ(run(&plug, "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"mtu\":-0.5e+3} \r\n\t", out,
		 sizeof(out)),
	     0);
	T_EQ(calls, 1);
}

/* U+0000 would cut a C string short ("ok\u0000/../x" read as "ok"): refused, the field
 * named, wherever it is. */
static void test_nul_in_string(void)
{
	char out[512];

	set_env("ADD", "c1", "/run/netns/x", "eth0", NULL);
	T_EQ(run(&plug, "{\"cniVersion\":\"1.0.0\",\"name\":\"ok\\u0000/../x\"}", out, sizeof(out)),
	     1);
	T_STREQ(out, "{\"cniVersion\":\"1.1.0\",\"code\":7,\"msg\":\"name: a string must not "
		     "contain U+0000\",\"details\":\"\"}");
	T_EQ(run(&plug,
		 "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"ipam\":{\"a\":[1,\"x\"],\"b\":"
		 "{\"c\":\"\\\\u0000\"},\"ranges\":[[{\"subnet\":\"10.0.0.0/8\"}],[{\"dataDir\":"
		 "\"\\u0000..\"}]]}}",
		 out, sizeof(out)),
	     1);
	T_ASSERT(strstr(out, "\"code\":7,\"msg\":\"ipam.ranges[1][0].dataDir: a string must not "
			     "contain U+0000\""));
	/* in a key, and in an unknown field: still refused */
	T_EQ(run(&plug, "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"x\":{\"k\\u0000\":1}}", out,
		 sizeof(out)),
	     1);
	T_ASSERT(strstr(out, "\"code\":7,\"msg\":\"x.k: a key must not contain U+0000\""));
	T_EQ(run(&plug, "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"x\":\"\\u0000\"}", out,
		 sizeof(out)),
	     1);
	T_ASSERT(strstr(out, "\"code\":7,\"msg\":\"x: a string must not contain U+0000\""));
	T_EQ(calls, 0);
	/* an escaped backslash before u0000 is no NUL, nor is U+0001 */
	T_EQ(run(&plug, "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"x\":\"\\\\u0000\\u0001\"}", out,
		 sizeof(out)),
	     0);
}

/* Fields every plugin reads, of the wrong type: refused (7, the field named), not ignored. */
static void test_common_types(void)
{
	static const char *const bad[][2] = {
		{"\"runtimeConfig\":[]", "runtimeConfig: must be an object"},
		{"\"runtimeConfig\":\"x\"", "runtimeConfig: must be an object"},
		{"\"args\":[1]", "args: must be an object"},
		{"\"args\":{\"cni\":5}", "args.cni: must be an object"},
		{"\"type\":5", "type: must be a string"},
		{"\"name\":5", "name: must be a string"},
	};
	char in[256], out[512];

	set_env("ADD", "c1", "/run/netns/x", "eth0", NULL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(in, sizeof(in), "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",%s}", bad[i][0]);
		if (!strncmp(bad[i][0], "\"name\"", 6))
			snprintf(in, sizeof(in), "{\"cniVersion\":\"1.0.0\",%s}", bad[i][0]);
		T_EQ(run(&plug, in, out, sizeof(out)), 1);
		snprintf(in, sizeof(in), "\"code\":7,\"msg\":\"%s\"", bad[i][1]);
		T_ASSERT(strstr(out, in));
	}
	T_EQ(calls, 0);
	T_EQ(run(&plug,
		 "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"runtimeConfig\":null,\"args\":{\"cni\":"
		 "null},\"type\":\"t\"}",
		 out, sizeof(out)),
	     0);
	/* DEL and GC go by container ID and read nothing they need there: the field is read as
	 * absent (libcni stops a chain's DEL at its first error: the attachment would leak) */
	for (size_t i = 0; i < 4; i++) {
		snprintf(in, sizeof(in), "{\"cniVersion\":\"1.1.0\",\"name\":\"n\",%s}", bad[i][0]);
		set_env("DEL", "c1", "/run/netns/x", "eth0", NULL);
		T_EQ(run(&plug, in, out, sizeof(out)), 0);
		T_EQ(calls, 1);
		set_env("GC", NULL, NULL, NULL, NULL);
		T_EQ(run(&plug, in, out, sizeof(out)), 0);
		T_EQ(calls, 1);
	}
}

static int fail_cut(struct cni_ctx *ctx)
{
	/* 9 bytes: "aaaaaaa" and the first two bytes of U+20AC */
	cni_fail(ctx, CNI_ERR_CONFIG, -EINVAL, "x %.9s y", "aaaaaaa\xe2\x82\xac");
	cni_fail_details(ctx, "%s", "\xff|\xc0\xaf|\xed\xa0\x80|\xe2\x82\xac");
	return -EINVAL;
}

static int print_raw(struct cni_ctx *ctx)
{
	return cni_emit(ctx->out, "{\"sandbox\":\"/run/netns/a\xfe\"}");
}

static const struct cni_plugin plug_cut = {.name = "c", .about = "c", .add = fail_cut};
static const struct cni_plugin plug_raw = {.name = "r", .about = "r", .add = print_raw};

/* Everything on stdout is valid UTF-8: a message cut by bytes inside a character ends
 * before it; invalid bytes from the input become U+FFFD. */
static void test_utf8_output(void)
{
	char out[512];
	char *s;

	set_env("ADD", "c1", "/run/netns/x", "eth0", NULL);
	T_EQ(run(&plug_cut, conf, out, sizeof(out)), 1);
	T_STREQ(out, "{\"cniVersion\":\"1.0.0\",\"code\":7,\"msg\":\"x aaaaaaa y\",\"details\":"
		     "\"\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|"
		     "\xe2\x82\xac\"}");
	/* an invalid containerID echoed in details */
	set_env("ADD", "a\xff\xe2\x82", "/run/netns/x", "eth0", NULL);
	T_EQ(run(&plug, conf, out, sizeof(out)), 1);
	T_STREQ(out, "{\"cniVersion\":\"1.1.0\",\"code\":4,\"msg\":\"invalid characters in "
		     "containerID\",\"details\":\"a\xef\xbf\xbd\"}");
	/* a result taken from input goes through the same place */
	set_env("ADD", "c1", "/run/netns/x", "eth0", NULL);
	T_EQ(run(&plug_raw, conf, out, sizeof(out)), 0);
	T_STREQ(out, "{\"sandbox\":\"/run/netns/a\xef\xbf\xbd\"}");
	s = cni_utf8_clean("\xf0\x9f\x98\x80\xf4\x90\x80\x80\xf0\x9f\x98");
	T_STREQ(s, "\xf0\x9f\x98\x80\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	free(s);
}

int main(void)
{
	T_RUN(test_version);
	T_RUN(test_missing_env);
	T_RUN(test_bad_names);
	T_RUN(test_bad_config);
	T_RUN(test_oversized_stdin);
	T_RUN(test_verb_versions);
	T_RUN(test_cni_args);
	T_RUN(test_gc_lists);
	T_RUN(test_gc_valid_keys);
	T_RUN(test_error_json);
	T_RUN(test_strict_json);
	T_RUN(test_nul_in_string);
	T_RUN(test_common_types);
	T_RUN(test_utf8_output);
	return T_EXIT();
}
