// SPDX-License-Identifier: Apache-2.0
/* The CNI protocol: environment and stdin, version checks, verb dispatch, error JSON. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/uio.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "cni/cni.h"
#include "base/json.h"
#include "base/log.h"
#include "base/name.h"
#include "cni/cni_log.h"
#include "netlink/netns.h"

const char *const cni_versions[] = {"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0", NULL};
#define CNI_LATEST "1.1.0"

/* CNI_ARGS keys of the conventions; anything else needs IgnoreUnknown=1, as in Go's
 * types.LoadArgs. */
static const char *const known_args[] = {
	"IgnoreUnknown",
	"IP",
	"MAC",
	"K8S_POD_NAMESPACE",
	"K8S_POD_NAME",
	"K8S_POD_UID",
	"K8S_POD_INFRA_CONTAINER_ID",
	NULL,
};

static const struct {
	const char *name;
	enum cni_cmd cmd;
	unsigned int min_version;
} verbs[] = {
	{"ADD", CNI_CMD_ADD, 0},
	{"DEL", CNI_CMD_DEL, 0},
	{"CHECK", CNI_CMD_CHECK, CNI_V(0, 4, 0)},
	{"VERSION", CNI_CMD_VERSION, 0},
	{"GC", CNI_CMD_GC, CNI_V(1, 1, 0)},
	{"STATUS", CNI_CMD_STATUS, CNI_V(1, 1, 0)},
};

/* Which variables each verb needs: Go skel's table, so runtimes see the same errors. */
enum { NEED_ID = 1U << 0, NEED_NETNS = 1U << 1, NEED_IFNAME = 1U << 2, NEED_PATH = 1U << 3 };

static unsigned int needs(enum cni_cmd cmd)
{
	switch (cmd) {
	case CNI_CMD_ADD:
	case CNI_CMD_CHECK:
		return NEED_ID | NEED_NETNS | NEED_IFNAME | NEED_PATH;
	case CNI_CMD_DEL:
		return NEED_ID | NEED_IFNAME | NEED_PATH;
	case CNI_CMD_GC:
	case CNI_CMD_STATUS:
		return NEED_PATH;
	default:
		return 0;
	}
}

/* The CNI wrappers of base/err.h: a plugin's error is its context's */
int cni_fail(struct cni_ctx *ctx, int code, int r, const char *fmt, ...)
{
	char buf[sizeof(ctx->err.msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return err_fail(&ctx->err, code, r, "%s", buf);
}

int cni_fail_kernel(struct cni_ctx *ctx, int r, const char *extack, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return err_kernel(&ctx->err, r, extack, "%s", what);
}

void cni_fail_details(struct cni_ctx *ctx, const char *fmt, ...)
{
	char buf[sizeof(ctx->err.details)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	err_details(&ctx->err, "%s", buf);
}

int netns_open_cni(struct cni_ctx *ctx)
{
	int fd = netns_open(ctx->netns);

	if (fd == -ENOTSUP)
		return cni_fail(ctx, CNI_ERR_ENV, fd,
				"failed to open netns \"%s\": not a network namespace", ctx->netns);
	if (fd < 0)
		return cni_fail(ctx, CNI_ERR_UNKNOWN_CONTAINER, fd,
				"failed to open netns \"%s\": %s", ctx->netns, strerror(-fd));
	return fd;
}

bool cni_valid_attachment_cb(void *ctx, const char *containerid, const char *ifname)
{
	return cni_attachment_valid(ctx, containerid, ifname);
}

unsigned int cni_version_num(const char *v)
{
	unsigned int a, b, c;
	int n = 0;

	if (!v || sscanf(v, "%3u.%3u.%3u%n", &a, &b, &c, &n) != 3 || v[n] || a > 255 || b > 255 ||
	    c > 255)
		return 0;
	return CNI_V(a, b, c);
}

bool cni_version_supported(const char *v)
{
	for (int i = 0; v && cni_versions[i]; i++)
		if (!strcmp(v, cni_versions[i]))
			return true;
	return false;
}

/* The spec's pattern for container IDs and network names: ^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$ */
static bool valid_name(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > max ||
	    !strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789",
		    s[0]))
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

bool cni_valid_id(const char *s)
{
	return valid_name(s, CNI_MAX_ID);
}

bool cni_valid_ifname(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 15 || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '/' || s[i] == ':' || strchr(" \t\n\v\f\r", s[i]))
			return false;
	return true;
}

int cni_fault(struct cni_ctx *ctx, const char *point)
{
	const char *f = ctx->getenv("SLUICE_FAULT");

	if (!f || strcmp(f, point))
		return 0;
	return cni_fail(ctx, CNI_ERR_INTERNAL, -EIO, "injected failure at %s", point);
}

const char *cni_arg(const struct cni_ctx *ctx, const char *key)
{
	for (size_t i = 0; i < ctx->n_kv; i++)
		if (!strcmp(ctx->kv[i].key, key))
			return ctx->kv[i].val;
	return NULL;
}

bool cni_attachment_valid(const struct cni_ctx *ctx, const char *containerid, const char *ifname)
{
	for (size_t i = 0; i < ctx->n_valid; i++)
		if (name_key_is(containerid, ctx->valid[i].containerid) &&
		    (!ifname || !strcmp(ctx->valid[i].ifname, ifname)))
			return true;
	return false;
}

static const char *env(struct cni_ctx *ctx, const char *name)
{
	const char *v = ctx->getenv(name);

	return v && *v ? v : NULL;
}

static int read_env(struct cni_ctx *ctx)
{
	static const char *const names[] = {"CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME",
					    "CNI_PATH"};
	const char *vals[4];
	char missing[128] = "";
	const char *ov;

	ctx->command = env(ctx, "CNI_COMMAND");
	if (!ctx->command)
		return cni_fail(ctx, CNI_ERR_ENV, -EINVAL,
				"required env variables [CNI_COMMAND] missing");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(ctx->command, verbs[i].name))
			ctx->cmd = verbs[i].cmd;
	if (!ctx->cmd)
		return cni_fail(ctx, CNI_ERR_ENV, -EINVAL, "unknown CNI_COMMAND: %s", ctx->command);

	ctx->containerid = vals[0] = env(ctx, names[0]);
	ctx->netns = vals[1] = env(ctx, names[1]);
	ctx->ifname = vals[2] = env(ctx, names[2]);
	ctx->path = vals[3] = env(ctx, names[3]);
	ctx->args = env(ctx, "CNI_ARGS");
	ov = env(ctx, "CNI_NETNS_OVERRIDE");
	ctx->netns_override = ov && (!strcmp(ov, "1") || !strcasecmp(ov, "true"));

	for (unsigned int i = 0; i < 4; i++)
		if ((needs(ctx->cmd) & (1U << i)) && !vals[i])
			snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing),
				 "%s%s", missing[0] ? "," : "", names[i]);
	if (missing[0])
		return cni_fail(ctx, CNI_ERR_ENV, -EINVAL, "required env variables [%s] missing",
				missing);
	return 0;
}

static int validate_env(struct cni_ctx *ctx)
{
	if (ctx->containerid && strlen(ctx->containerid) > CNI_MAX_ID) {
		/* the spec sets no length; 255 keeps every store file name and key bounded */
		cni_fail(ctx, CNI_ERR_ENV, -EINVAL, "containerID is longer than %d bytes",
			 CNI_MAX_ID);
		cni_fail_details(ctx, "%.200s", ctx->containerid);
		return -EINVAL;
	}
	if (ctx->containerid && !cni_valid_id(ctx->containerid)) {
		cni_fail(ctx, CNI_ERR_ENV, -EINVAL, "invalid characters in containerID");
		cni_fail_details(ctx, "%.200s", ctx->containerid);
		return -EINVAL;
	}
	if (ctx->ifname && !cni_valid_ifname(ctx->ifname)) {
		cni_fail(ctx, CNI_ERR_ENV, -EINVAL,
			 "invalid interface name: must be 1-15 bytes, not . or .., without / : or "
			 "whitespace");
		cni_fail_details(ctx, "%.200s", ctx->ifname);
		return -EINVAL;
	}
	if (ctx->netns && (ctx->netns[0] != '/' || strlen(ctx->netns) >= 4096))
		return cni_fail(ctx, CNI_ERR_ENV, -EINVAL,
				"CNI_NETNS must be an absolute path: %.200s", ctx->netns);
	return 0;
}

/* One chunk of stdin: read(2) when it is a file descriptor (a plugin's stdin always is),
 * which spares stdio's buffer and code on every call; stdio for an in-memory FILE. */
static ssize_t read_chunk(FILE *in, int fd, char *buf, size_t len)
{
	ssize_t n;

	if (fd < 0) {
		n = (ssize_t)fread(buf, 1, len, in);
		return n == 0 && ferror(in) ? -1 : n;
	}
	while ((n = read(fd, buf, len)) < 0 && errno == EINTR)
		;
	return n;
}

static int read_input(struct cni_ctx *ctx, FILE *in)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1), *nb;
	int fd = fileno(in);
	ssize_t got;

	if (!buf)
		return -ENOMEM;
	while ((got = read_chunk(in, fd, buf + n, cap - n)) > 0) {
		n += (size_t)got;
		if (n > CNI_MAX_INPUT) {
			free(buf);
			return cni_fail(ctx, CNI_ERR_DECODE, -EFBIG,
					"network config on stdin is larger than %u bytes",
					CNI_MAX_INPUT);
		}
		if (n == cap) {
			cap = cap * 2 > CNI_MAX_INPUT + 1 ? CNI_MAX_INPUT + 1 : cap * 2;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
		}
	}
	if (got < 0) {
		free(buf);
		return cni_fail(ctx, CNI_ERR_IO, -EIO, "error reading from stdin");
	}
	buf[n] = '\0';
	ctx->input = buf;
	ctx->input_len = n;
	return 0;
}

static int parse_args(struct cni_ctx *ctx)
{
	char *s, *save = NULL, *pair, *eq;
	bool ignore = false, unknown = false;
	char bad[256] = "";
	int r = 0;

	if (!ctx->args)
		return 0;
	s = strdup(ctx->args);
	if (!s)
		return -ENOMEM;
	for (pair = strtok_r(s, ";", &save); pair; pair = strtok_r(NULL, ";", &save)) {
		struct cni_kv *kv;

		eq = strchr(pair, '=');
		if (!eq || strchr(eq + 1, '=')) {
			r = cni_fail(ctx, CNI_ERR_ENV, -EINVAL, "ARGS: invalid pair \"%.100s\"",
				     pair);
			goto out;
		}
		kv = realloc(ctx->kv, (ctx->n_kv + 1) * sizeof(*kv));
		if (!kv) {
			r = -ENOMEM;
			goto out;
		}
		ctx->kv = kv;
		*eq = '\0';
		kv[ctx->n_kv].key = strdup(pair);
		kv[ctx->n_kv].val = strdup(eq + 1);
		if (!kv[ctx->n_kv].key || !kv[ctx->n_kv].val) {
			free(kv[ctx->n_kv].key);
			free(kv[ctx->n_kv].val);
			r = -ENOMEM;
			goto out;
		}
		ctx->n_kv++;
	}
	for (size_t i = 0; i < ctx->n_kv; i++) {
		const char *k = ctx->kv[i].key, *v = ctx->kv[i].val;
		bool known = false;

		if (!strcmp(k, "IgnoreUnknown")) {
			if (!strcmp(v, "1") || !strcasecmp(v, "true")) {
				ignore = true;
			} else if (strcmp(v, "0") && strcasecmp(v, "false")) {
				r = cni_fail(ctx, CNI_ERR_ENV, -EINVAL,
					     "ARGS: IgnoreUnknown: invalid boolean \"%.50s\"", v);
				goto out;
			}
		}
		for (int j = 0; known_args[j]; j++)
			known |= !strcmp(k, known_args[j]);
		if (!known) {
			unknown = true;
			snprintf(bad + strlen(bad), sizeof(bad) - strlen(bad), "%s\"%.40s=%.40s\"",
				 bad[0] ? " " : "", k, cni_log_secret_key(k) ? "(redacted)" : v);
		}
	}
	if (unknown && !ignore)
		r = cni_fail(ctx, CNI_ERR_ENV, -EINVAL, "ARGS: unknown args [%s]", bad);
out:
	free(s);
	return r;
}

/* GC: spec 1.1.0 names the key cni.dev/valid-attachments; libcni 1.2.3+ also sends the
 * name the spec first used, cni.dev/attachments. With neither, no attachment is valid. */
static int parse_valid(struct cni_ctx *ctx)
{
	const cJSON *list =
		cJSON_GetObjectItemCaseSensitive(ctx->conf, "cni.dev/valid-attachments");
	const cJSON *a;
	size_t n = 0;

	if (!list)
		list = cJSON_GetObjectItemCaseSensitive(ctx->conf, "cni.dev/attachments");
	ctx->has_valid_list = list != NULL;
	if (!list || cJSON_IsNull(list))
		return 0;
	if (!cJSON_IsArray(list))
		return cni_fail(ctx, CNI_ERR_DECODE, -EINVAL,
				"cni.dev/valid-attachments must be a list");
	ctx->valid = calloc((size_t)cJSON_GetArraySize(list) + 1, sizeof(*ctx->valid));
	if (!ctx->valid)
		return -ENOMEM;
	cJSON_ArrayForEach(a, list) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(a, "containerID");
		const cJSON *ifn = cJSON_GetObjectItemCaseSensitive(a, "ifname");

		if (!cJSON_IsString(id) || !cJSON_IsString(ifn))
			return cni_fail(ctx, CNI_ERR_DECODE, -EINVAL,
					"cni.dev/valid-attachments: each entry needs string "
					"containerID and ifname");
		ctx->valid[n].containerid = id->valuestring;
		ctx->valid[n].ifname = ifn->valuestring;
		n++;
	}
	ctx->n_valid = n;
	return 0;
}

static int n_versions(void)
{
	int n = 0;

	while (cni_versions[n])
		n++;
	return n;
}

/* The plugin's line and the protocol versions, for --help and a run without CNI_COMMAND. */
static void print_about(FILE *f, const struct cni_plugin *p)
{
	fprintf(f, "%s\nCNI protocol versions supported:", p->about);
	for (int i = 0; cni_versions[i]; i++)
		fprintf(f, "%s %s", i ? "," : "", cni_versions[i]);
	fputc('\n', f);
}

static int version_error(struct cni_ctx *ctx, const char *v)
{
	char list[128] = "";

	for (int i = 0; cni_versions[i]; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s\"%s\"",
			 i ? ", " : "", cni_versions[i]);
	cni_fail(ctx, CNI_ERR_VERSION, -EPROTO, "incompatible CNI versions");
	cni_fail_details(ctx, "config is \"%.40s\", plugin supports [%s]", v, list);
	return -EPROTO;
}

/* An object field of the wrong type: refused, but for DEL and GC, which go by container ID
 * and read nothing there that they need (libcni stops a chain's DEL at its first error: the
 * attachment would leak); for them the field is dropped, read as absent. */
static int not_an_object(struct cni_ctx *ctx, cJSON *parent, const char *key, const char *path)
{
	if (ctx->cmd != CNI_CMD_DEL && ctx->cmd != CNI_CMD_GC)
		return cni_fail(ctx, CNI_ERR_CONFIG, -EINVAL, "%s: must be an object", path);
	log_warn("ignoring %s: not an object", path);
	cJSON_DeleteItemFromObjectCaseSensitive(parent, key);
	return 0;
}

/* Fields every plugin reads (through cni_runtime() and cni_args_cni()) or that Go's
 * types.NetConf types: of another type, Go's json.Unmarshal refuses the whole config. */
static int check_common_types(struct cni_ctx *ctx)
{
	cJSON *o = ctx->conf, *v;
	int r;

	v = cJSON_GetObjectItemCaseSensitive(o, "type");
	if (v && !cJSON_IsNull(v) && !cJSON_IsString(v))
		return cni_fail(ctx, CNI_ERR_CONFIG, -EINVAL, "type: must be a string");
	v = cJSON_GetObjectItemCaseSensitive(o, "runtimeConfig");
	if (v && !cJSON_IsNull(v) && !cJSON_IsObject(v) &&
	    (r = not_an_object(ctx, o, "runtimeConfig", "runtimeConfig")) < 0)
		return r;
	v = cJSON_GetObjectItemCaseSensitive(o, "args");
	if (v && !cJSON_IsNull(v) && !cJSON_IsObject(v))
		return not_an_object(ctx, o, "args", "args");
	o = v;
	v = cJSON_GetObjectItemCaseSensitive(o, "cni");
	if (v && !cJSON_IsNull(v) && !cJSON_IsObject(v))
		return not_an_object(ctx, o, "cni", "args.cni");
	return 0;
}

static int parse_conf(struct cni_ctx *ctx)
{
	const cJSON *v, *name;
	char err[300];
	int r;

	/* as strict as Go's json.Unmarshal: one value and white space, nothing after it */
	r = json_parse_strict(ctx->input, ctx->input_len, &ctx->conf, err, sizeof(err));
	if (r == -EBADMSG || (r == 0 && !cJSON_IsObject(ctx->conf))) {
		cni_fail(ctx, CNI_ERR_DECODE, -EINVAL, "error unmarshalling network config: %s",
			 r ? "invalid JSON" : "not a JSON object");
		if (r)
			cni_fail_details(ctx, "%s", err);
		return -EINVAL;
	}
	/* valid JSON, but U+0000 would cut a C string short: "ok\u0000/../x" read as "ok" */
	if (r < 0)
		return cni_fail(ctx, CNI_ERR_CONFIG, r, "%s", err);
	v = cJSON_GetObjectItemCaseSensitive(ctx->conf, "cniVersion");
	if (v && !cJSON_IsString(v))
		return cni_fail(ctx, CNI_ERR_DECODE, -EINVAL, "cniVersion must be a string");
	/* a missing cniVersion means 0.1.0 (pkg/version/conf.go), which we do not speak */
	ctx->version = v ? v->valuestring : "0.1.0";
	name = cJSON_GetObjectItemCaseSensitive(ctx->conf, "name");
	if (name && !cJSON_IsString(name))
		return cni_fail(ctx, CNI_ERR_CONFIG, -EINVAL, "name: must be a string");
	if (!name || !*name->valuestring)
		return cni_fail(ctx, CNI_ERR_CONFIG, -EINVAL, "missing network name");
	if (!valid_name(name->valuestring, 255)) {
		cni_fail(ctx, CNI_ERR_CONFIG, -EINVAL, "invalid characters found in network name");
		cni_fail_details(ctx, "%.200s", name->valuestring);
		return -EINVAL;
	}
	ctx->name = name->valuestring;
	if (!cni_version_supported(ctx->version))
		return version_error(ctx, ctx->version);
	ctx->vnum = cni_version_num(ctx->version);
	v = cJSON_GetObjectItemCaseSensitive(ctx->conf, "prevResult");
	if (v && !cJSON_IsNull(v)) {
		if (!cJSON_IsObject(v))
			return cni_fail(ctx, CNI_ERR_DECODE, -EINVAL,
					"prevResult must be an object");
		ctx->prev = v;
	}
	return check_common_types(ctx);
}

/* CNI_NETNS naming our own namespace would put the pod's interface on the host (skel's
 * check; CNI_NETNS_OVERRIDE=1 allows it). */
static int check_own_netns(struct cni_ctx *ctx)
{
	struct stat a, b;

	if (!ctx->netns || ctx->netns_override || ctx->cmd == CNI_CMD_CHECK)
		return 0;
	if (stat(ctx->netns, &a) < 0 || stat("/proc/self/ns/net", &b) < 0)
		return 0;
	if (a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		return cni_fail(ctx, CNI_ERR_ENV, -EINVAL,
				"plugin's netns and netns from CNI_NETNS should not be the same");
	return 0;
}

/* The length of the UTF-8 sequence at s (RFC 3629: no overlongs, surrogates or code points
 * above U+10FFFF), 0 when s does not start with a whole one; *part is how many bytes of it
 * are a valid beginning cut short. */
static size_t utf8_len(const unsigned char *s, size_t *part)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, i;

	*part = 0;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	for (i = 1; i < n; i++, lo = 0x80, hi = 0xbf)
		if (s[i] < lo || s[i] > hi) {
			*part = i;
			return 0;
		}
	return n;
}

char *cni_utf8_clean(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), o = 0, n, part;
	char *out = malloc(len * 3 + 1);

	if (!out)
		return NULL;
	while (*p) {
		n = utf8_len(p, &part);
		if (n) {
			memcpy(out + o, p, n);
			o += n;
			p += n;
		} else if (part && (p[part] < 0x80 || p[part] > 0xbf)) {
			/* the start of a character cut short, by a "%.200s" most likely: left out,
			 * so that a cut message ends on a character boundary */
			p += part;
		} else {
			memcpy(out + o, "\xef\xbf\xbd", 3); /* U+FFFD, as Go's encoder writes */
			o += 3;
			p += part ? part : 1;
		}
	}
	out[o] = '\0';
	return out;
}

int cni_emit(FILE *out, const char *text)
{
	/* all that stdout carries goes through here: valid UTF-8 whatever the input held */
	char *s = cni_utf8_clean(text);
	struct iovec iov[2] = {{(void *)s, s ? strlen(s) : 0}, {(void *)"\n", 1}};
	int fd = fileno(out), i = 0, r = 0;
	ssize_t w;

	if (!s)
		return -ENOMEM;
	log_debug("answer: %s", s);
	if (fd < 0 || fflush(out) != 0) {
		r = fputs(s, out) < 0 || fputc('\n', out) == EOF ? -EIO : 0;
		free(s);
		return r;
	}
	/* one writev(2), without stdio's buffer: stdout carries nothing else */
	while (i < 2) {
		w = writev(fd, iov + i, 2 - i);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			r = -errno;
			break;
		}
		for (; i < 2 && (size_t)w >= iov[i].iov_len; i++)
			w -= (ssize_t)iov[i].iov_len;
		if (i < 2) {
			iov[i].iov_base = (char *)iov[i].iov_base + w;
			iov[i].iov_len -= (size_t)w;
		}
	}
	free(s);
	return r;
}

static void print_json(FILE *out, cJSON *obj)
{
	char *s = obj ? cJSON_PrintUnformatted(obj) : NULL;

	if (s)
		(void)cni_emit(out, s);
	free(s);
	cJSON_Delete(obj);
}

static void print_version(struct cni_ctx *ctx)
{
	cJSON *o = cJSON_CreateObject(), *v = cJSON_CreateStringArray(cni_versions, n_versions());
	const cJSON *req = NULL;

	/* answer in the version asked for when we speak it; libcni reads supportedVersions */
	if (ctx->conf)
		req = cJSON_GetObjectItemCaseSensitive(ctx->conf, "cniVersion");
	cJSON_AddStringToObject(o, "cniVersion",
				cJSON_IsString(req) && cni_version_supported(req->valuestring)
					? req->valuestring
					: CNI_LATEST);
	cJSON_AddItemToObject(o, "supportedVersions", v);
	print_json(ctx->out, o);
}

static void print_error(struct cni_ctx *ctx, int r)
{
	cJSON *o = cJSON_CreateObject();
	const char *v =
		ctx->version && cni_version_supported(ctx->version) ? ctx->version : CNI_LATEST;

	if (!ctx->err.code) {
		ctx->err.code = CNI_ERR_INTERNAL;
		snprintf(ctx->err.msg, sizeof(ctx->err.msg), "%s", strerror(r < 0 ? -r : EIO));
	}
	cJSON_AddStringToObject(o, "cniVersion", v);
	cJSON_AddNumberToObject(o, "code", ctx->err.code);
	cJSON_AddStringToObject(o, "msg", ctx->err.msg);
	cJSON_AddStringToObject(o, "details", ctx->err.details);
	print_json(ctx->out, o);
}

static int call_verb(struct cni_ctx *ctx)
{
	const struct cni_plugin *p = ctx->plugin;
	unsigned int min = 0;

	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (verbs[i].cmd == ctx->cmd)
			min = verbs[i].min_version;
	if (ctx->vnum < min)
		return cni_fail(ctx, CNI_ERR_VERSION, -EPROTO, "config version does not allow %s",
				ctx->command);
	switch (ctx->cmd) {
	case CNI_CMD_ADD:
		return p->add ? p->add(ctx) : 0;
	case CNI_CMD_DEL:
		return p->del ? p->del(ctx) : 0;
	case CNI_CMD_CHECK:
		return p->check ? p->check(ctx) : 0;
	case CNI_CMD_GC:
		return p->gc ? p->gc(ctx) : 0;
	case CNI_CMD_STATUS:
		return p->status ? p->status(ctx) : 0;
	default:
		return -EINVAL;
	}
}

static int dispatch(struct cni_ctx *ctx, FILE *in)
{
	int r;

	r = read_env(ctx);
	if (r < 0)
		return r;
	if (ctx->cmd == CNI_CMD_VERSION) {
		/* stdin is optional here; a bad one still gets an answer */
		if (read_input(ctx, in) == 0)
			ctx->conf = cJSON_ParseWithLength(ctx->input, ctx->input_len);
		ctx->err.code = 0;
		print_version(ctx);
		return 0;
	}
	r = validate_env(ctx);
	if (r < 0)
		return r;
	r = read_input(ctx, in);
	if (r < 0)
		return r;
	r = parse_conf(ctx);
	if (r < 0 || (r = cni_log_conf(ctx)) < 0)
		return r;
	r = parse_args(ctx);
	if (r < 0)
		return r;
	if (ctx->cmd == CNI_CMD_GC) {
		r = parse_valid(ctx);
		if (r < 0)
			return r;
	}
	r = check_own_netns(ctx);
	if (r < 0)
		return r;
	return call_verb(ctx);
}

static void ctx_done(struct cni_ctx *ctx)
{
	for (size_t i = 0; i < ctx->n_kv; i++) {
		free(ctx->kv[i].key);
		free(ctx->kv[i].val);
	}
	free(ctx->kv);
	free(ctx->valid);
	cJSON_Delete(ctx->conf);
	free(ctx->input);
}

int cni_run(const struct cni_plugin *p, char *(*getenv_fn)(const char *), FILE *in, FILE *out,
	    FILE *err)
{
	struct cni_ctx ctx = {.out = out, .plugin = p, .getenv = getenv_fn};
	int r;

	cni_log_env(&ctx);
	r = dispatch(&ctx, in);
	if (r < 0) {
		if (!ctx.command && err)
			print_about(err, p);
		print_error(&ctx, r);
	}
	cni_log_done(&ctx, r);
	fflush(out);
	ctx_done(&ctx);
	return r < 0 ? 1 : 0;
}

static char *process_getenv(const char *name)
{
	return secure_getenv(name);
}

int cni_main(const struct cni_plugin *p, int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
			 !strcmp(argv[1], "--version"))) {
		print_about(stdout, p);
		printf("Run by a container runtime with CNI_COMMAND=ADD|DEL|CHECK|GC|STATUS|VERSION "
		       "in the environment\nand the network config on stdin; see the README.\n");
		return 0;
	}
	return cni_run(p, process_getenv, stdin, stdout, stderr);
}
