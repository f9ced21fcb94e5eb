/* SPDX-License-Identifier: Apache-2.0 */
/* sluicectl: the operator's tool. main() reads the global flags, wherever they stand before
 * a "--" (as etcdctl's and kubectl's do), and hands the rest to one verb from the table
 * (wg.c's shape). Each verb parses its own arguments and answers --help. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "sluicectl.h"

#define CTL_VERSION "0.1.0"

struct verb {
	const char *name;
	int (*fn)(struct ctl *c, int argc, char **argv);
	const char *summary;
};

/* One line per verb, in the order --help lists them */
static const struct verb verbs[] = {
	{"status", ctl_status, "the store's URL, reachability, revision, config and lease count"},
	{"config", ctl_config, "the network config: set -f FILE|-, get (Flannel's JSON)"},
	{"node", ctl_node, "up: acquire the node's lease, write its files; down: release it"},
	{"leases", ctl_leases, "every node's subnet lease: subnet, node, public IP, VTEP MAC, TTL"},
	{"store", ctl_store_verb, "raw keys: get, put, del, list, watch, compact (as etcdctl)"},
	{"apply", ctl_apply, "write Namespaces, Pods, NetworkPolicies (-f FILE|-, JSON or YAML)"},
	{"get", ctl_get, "show stored Namespaces, Pods, NetworkPolicies (get KIND [NS/NAME])"},
	{"delete", ctl_delete, "remove them (delete -f FILE|- or delete KIND NS/NAME)"},
	{"wait", ctl_wait, "until every node's agent has applied the policy of a revision"},
	{"policy", ctl_policy, "stats: per-policy and per-rule counters of this node's table"},
	{"drops", ctl_drops, "recent packets the policy dropped, with the policies behind"},
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f,
		"Usage: sluicectl [--store URL] [--prefix P] [-o table|json] VERB [ARGS...]\n"
		"\n"
		"The operator's tool for sluice's datastore, network config and leases.\n"
		"\n"
		"Global flags (before or after the verb, never after \"--\"):\n"
		"  --store URL        dir:///PATH, etcd://HOST:PORT[,HOST:PORT...] or\n"
		"                     etcds://HOST:PORT?cacert=F&cert=F&key=F\n"
		"                     (default: $SLUICE_STORE, else %s)\n"
		"  --prefix P         key prefix of the network (default: $SLUICE_PREFIX, else %s;\n"
		"                     trailing '/' ignored: /p/ is /p; not \"/\" alone)\n"
		"  -o, --output FORM  table (default) or json (get: also yaml)\n"
		"  -h, --help         this help; 'sluicectl VERB --help' for a verb's\n"
		"  --version          print the version\n"
		"\n"
		"Verbs:\n",
		STORE_DEFAULT_URL, CTL_DEFAULT_PREFIX);
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(f, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
	fprintf(f, "\nExit status: 0 success, 1 error, 2 bad usage.\n");
}

static const struct verb *find_verb(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(verbs[i].name, name))
			return &verbs[i];
	return NULL;
}

static int bad_global(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad_global(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "sluicectl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'sluicectl --help'.\n");
	return CTL_USAGE;
}

/* A global flag's value: "--flag=V" or the next argument. *i moves past what it used.
 * Returns NULL when a flag that needs a value has none. */
static const char *flag_value(int argc, char **argv, int *i, const char *eq)
{
	if (eq)
		return eq + 1;
	if (*i + 1 >= argc)
		return NULL;
	return argv[++*i];
}

/* Is argv[i] the global flag long (or short)? eq receives its "=value" part */
static bool is_flag(const char *a, const char *lng, const char *shrt, const char **eq)
{
	size_t n = strlen(lng);

	*eq = NULL;
	if (shrt && !strcmp(a, shrt))
		return true;
	if (strncmp(a, lng, n))
		return false;
	if (a[n] == '=') {
		*eq = a + n;
		return true;
	}
	return a[n] == '\0';
}

int main(int argc, char **argv)
{
	struct ctl c = {
		.store_url = secure_getenv("SLUICE_STORE"),
		.prefix = secure_getenv("SLUICE_PREFIX"),
		.output = CTL_OUT_TABLE,
	};
	const char *output = NULL, *eq, *v;
	bool help = false, dashdash = false;
	const struct verb *verb;
	char **rest, *prefix = NULL;
	size_t plen;
	int i, n = 0, r;

	/* The verb's own arguments, in order, without the global flags */
	rest = calloc((size_t)argc + 1, sizeof(*rest));
	if (!rest)
		return ctl_errorf("out of memory");
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (dashdash || a[0] != '-' || !a[1]) {
			rest[n++] = argv[i];
			continue;
		}
		if (!strcmp(a, "--")) {
			dashdash = true;
			rest[n++] =
				argv[i]; /* the verb sees it too: its values may start with '-' */
			continue;
		}
		if (is_flag(a, "--store", NULL, &eq)) {
			v = flag_value(argc, argv, &i, eq);
			if (!v || !*v)
				return free(rest), bad_global("--store needs a URL");
			c.store_url = v;
		} else if (is_flag(a, "--prefix", NULL, &eq)) {
			v = flag_value(argc, argv, &i, eq);
			if (!v || !*v)
				return free(rest), bad_global("--prefix needs a key prefix");
			c.prefix = v;
		} else if (is_flag(a, "--output", "-o", &eq)) {
			v = flag_value(argc, argv, &i, eq);
			if (!v)
				return free(rest), bad_global("%s needs table or json", a);
			output = v;
		} else if (!strncmp(a, "-o", 2) && a[2] != '-') {
			output = a + 2; /* -ojson, as kubectl takes it */
		} else if (!strcmp(a, "--version")) {
			printf("sluicectl %s\n", CTL_VERSION);
			free(rest);
			return CTL_OK;
		} else if ((!strcmp(a, "-h") || !strcmp(a, "--help")) && !n) {
			help = true; /* after the verb, the verb's own --help */
		} else {
			rest[n++] = argv[i]; /* the verb's flag */
		}
	}
	if (output) {
		if (!strcmp(output, "table")) {
			c.output = CTL_OUT_TABLE;
		} else if (!strcmp(output, "json")) {
			c.output = CTL_OUT_JSON;
		} else if (!strcmp(output, "yaml")) {
			c.output = CTL_OUT_YAML; /* get only: checked once the verb is known */
		} else {
			free(rest);
			return bad_global("-o: unknown output form '%s' (table or json)", output);
		}
	}
	if (!c.prefix || !*c.prefix)
		c.prefix = CTL_DEFAULT_PREFIX;
	if (c.prefix[0] != '/') {
		free(rest);
		return bad_global("--prefix must start with '/': '%s'", c.prefix);
	}
	/* "/p/" names the network "/p" names: every key is built as "<prefix>/..." (the
	 * config, leases and objects alike), so the trailing slashes go here, once. "/" alone
	 * would leave nothing: keys as "//config", which no other tool would find. */
	plen = strlen(c.prefix);
	while (plen > 1 && c.prefix[plen - 1] == '/')
		plen--;
	if (plen == 1) {
		free(rest);
		return bad_global("--prefix must name a key below '/': '%s'", c.prefix);
	}
	prefix = strndup(c.prefix, plen);
	if (!prefix) {
		free(rest);
		return ctl_errorf("out of memory");
	}
	c.prefix = prefix;
	if (!c.store_url || !*c.store_url)
		c.store_url = STORE_DEFAULT_URL;

	if (help || !n) {
		usage(help ? stdout : stderr);
		free(rest);
		free(prefix);
		return help ? CTL_OK : CTL_USAGE;
	}
	if (!strcmp(rest[0], "help")) {
		if (n == 1) {
			usage(stdout);
			r = CTL_OK;
		} else if (n > 2) {
			r = bad_global("help takes one verb");
		} else if (!(verb = find_verb(rest[1]))) {
			r = bad_global("unknown verb '%s'", rest[1]);
		} else {
			char *hargv[] = {rest[1], (char *)"--help", NULL};

			r = verb->fn(&c, 2, hargv);
		}
		free(rest);
		free(prefix);
		return r;
	}
	verb = find_verb(rest[0]);
	if (!verb) {
		r = bad_global("unknown verb '%s'", rest[0]);
		free(rest);
		free(prefix);
		return r;
	}
	if (c.output == CTL_OUT_YAML && verb->fn != ctl_get) {
		free(rest);
		free(prefix);
		/* the message it had before get printed YAML: for this verb it is still true */
		return bad_global("-o: unknown output form 'yaml' (table or json)");
	}
	r = verb->fn(&c, n, rest);
	store_close(c.store);
	free(rest);
	free(prefix);
	fflush(stdout);
	if (ferror(stdout) && r == CTL_OK)
		r = ctl_errorf("writing the output failed");
	return r;
}
