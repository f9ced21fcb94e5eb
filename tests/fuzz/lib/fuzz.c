// SPDX-License-Identifier: Apache-2.0
/* See fuzz.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cni/result.h"
#include "fuzz.h"

/* Says why and shows the output (bytes outside printable ASCII as \xNN), then crashes. */
static void die(const char *why, const char *out, size_t len)
{
	fprintf(stderr, "fuzz: %s; output (%zu bytes): ", why, len);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)out[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			fputc(c, stderr);
		else
			fprintf(stderr, "\\x%02x", c);
	}
	fputc('\n', stderr);
	abort();
}

int fz_utf8_ok(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		unsigned int cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (n >= len - i)
			return 0;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

void fz_check_out(const char *out, size_t len, int status)
{
	const cJSON *code, *msg, *details, *v;
	const char *end = NULL;
	cJSON *o;

	if (status != 0 && status != 1)
		die("exit status neither 0 nor 1", out, len);
	if (len == 0) {
		if (status)
			die("an error without error JSON", out, len);
		return;
	}
	if (!fz_utf8_ok(out, len))
		die("output is not valid UTF-8", out, len);
	if (out[len - 1] != '\n' || memchr(out, '\0', len))
		die("output is not one line of text", out, len);
	o = cJSON_ParseWithLengthOpts(out, len - 1, &end, 0);
	if (!o || end != out + len - 1)
		die("output is not exactly one JSON document", out, len);
	if (!cJSON_IsObject(o))
		die("output is not a JSON object", out, len);
	v = cJSON_GetObjectItemCaseSensitive(o, "cniVersion");
	if (!cJSON_IsString(v) || !cni_version_supported(v->valuestring))
		die("output has no cniVersion sluice speaks", out, len);
	if (status) {
		code = cJSON_GetObjectItemCaseSensitive(o, "code");
		msg = cJSON_GetObjectItemCaseSensitive(o, "msg");
		details = cJSON_GetObjectItemCaseSensitive(o, "details");
		if (!cJSON_IsNumber(code) || code->valuedouble < 1 || !cJSON_IsString(msg) ||
		    !*msg->valuestring || !cJSON_IsString(details))
			die("error JSON lacks code, msg or details", out, len);
	}
	cJSON_Delete(o);
}

/* --- The plugin ----------------------------------------------------------------------- */

static int parse_all(struct cni_ctx *ctx)
{
	int r = fz_bridge_parse(ctx);

	/* each on its own: a failure of one must not hide another's crash */
	ctx->err.code = 0;
	(void)fz_host_local_parse(ctx);
	ctx->err.code = 0;
	(void)fz_bandwidth_parse(ctx);
	ctx->err.code = 0;
	(void)fz_portmap_parse(ctx);
	/* the answer (and its error JSON) is the first parser's, as a real plugin's is */
	if (r < 0) {
		ctx->err.code = 0;
		r = fz_bridge_parse(ctx);
	}
	return r;
}

static int fz_add(struct cni_ctx *ctx)
{
	struct cni_result res = {0};
	char err[256];
	int r = parse_all(ctx);

	if (r < 0)
		return r;
	if (ctx->prev && cni_result_parse(ctx->prev, &res, err, sizeof(err)) < 0)
		return cni_fail(ctx, CNI_ERR_DECODE, -EINVAL, "prevResult: %s", err);
	r = cni_result_print(ctx, &res);
	cni_result_done(&res);
	return r;
}

const struct cni_plugin fz_plugin = {
	.name = "fuzz",
	.about = "sluice fuzz target",
	.add = fz_add,
	.del = parse_all,
	.check = parse_all,
	.gc = parse_all,
	.status = parse_all,
};

/* --- Calls ---------------------------------------------------------------------------- */

static const char *env_verb, *env_args;

static char *fz_getenv(const char *name)
{
	static const struct {
		const char *k, *v;
	} fixed[] = {
		{"CNI_CONTAINERID", "fuzz-ctr"},
		/* a path that is a network namespace, never entered: no verb here touches it */
		{"CNI_NETNS", "/proc/self/ns/net"},
		{"CNI_NETNS_OVERRIDE", "1"},
		{"CNI_IFNAME", "eth0"},
		{"CNI_PATH", "/nonexistent"},
		{"SLUICE_LOG", "error"}, /* the parsers' warnings would flood the fuzzer's log */
		/* wins over an input's "log" block, which is still parsed and checked: a fuzzed
		 * "file" would otherwise be created (with its directories) anywhere */
		{"SLUICE_LOG_FILE", "/dev/null"},
	};

	if (!strcmp(name, "CNI_COMMAND"))
		return (char *)env_verb;
	if (!strcmp(name, "CNI_ARGS"))
		return (char *)env_args;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (!strcmp(name, fixed[i].k))
			return (char *)fixed[i].v;
	return NULL;
}

int fz_call(const char *verb, const char *args, const void *in, size_t len)
{
	char *out = NULL;
	size_t out_len = 0;
	FILE *fin, *fout, *ferr;
	int st;

	env_verb = verb;
	env_args = args;
	/* fmemopen of 0 bytes fails: an empty stdin is /dev/null's */
	fin = len ? fmemopen((void *)in, len, "r") : fopen("/dev/null", "r");
	fout = open_memstream(&out, &out_len);
	ferr = fopen("/dev/null", "w");
	if (!fin || !fout || !ferr)
		abort();
	st = cni_run(&fz_plugin, fz_getenv, fin, fout, ferr);
	fclose(fin);
	fclose(fout);
	fclose(ferr);
	fz_check_out(out, out_len, st);
	free(out);
	return st;
}

void fz_call_all(const char *args, const void *in, size_t len)
{
	static const char *const verbs[] = {"ADD", "DEL", "CHECK", "GC", "STATUS", "VERSION"};

	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fz_call(verbs[i], args, in, len);
}

char *fz_wrap(const char *prefix, const uint8_t *data, size_t size, const char *suffix,
	      size_t *ret_len)
{
	size_t a = strlen(prefix), c = strlen(suffix);
	char *s = malloc(a + size + c + 1);

	if (!s)
		abort();
	memcpy(s, prefix, a);
	if (size)
		memcpy(s + a, data, size);
	memcpy(s + a + size, suffix, c + 1);
	*ret_len = a + size + c;
	return s;
}
