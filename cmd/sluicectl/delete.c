// SPDX-License-Identifier: Apache-2.0
/* sluicectl delete -f FILE|- | delete KIND NAME|NS/NAME...: removes stored Kubernetes
 * objects; a Namespace takes its Pods and NetworkPolicies with it, as in Kubernetes. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "k8s/object.h"
#include "store/store.h"
#include "sluicectl.h"

static const char delete_usage[] =
	"Usage: sluicectl delete -f FILE|- [-f FILE...] [-n NS] [--ignore-not-found]\n"
	"       sluicectl delete KIND NAME|NS/NAME... [-n NS] [--ignore-not-found]\n"
	"\n"
	"Removes stored Namespaces, Pods and NetworkPolicies: those a file names (JSON or YAML,\n"
	"as for apply; only kind, name and namespace are read), or those named on the command\n"
	"line. KIND: namespace (ns), pod (po), networkpolicy (netpol), or their plurals; a\n"
	"Namespace is named alone, and its Pods and NetworkPolicies go with it. An object that\n"
	"is not there is an error (status 1, the others are still deleted) unless\n"
	"--ignore-not-found.\n"
	"\n"
	"  -f, --filename FILE    the file naming the objects, '-' for stdin\n"
	"  -n, --namespace NS     the namespace of NAMEs, or of a file's objects, given without\n"
	"                         one (default \"default\")\n"
	"      --ignore-not-found an absent object is no error\n"
	"-o json: one array of {\"kind\", \"namespace\" (null for a Namespace), \"name\",\n"
	"\"result\": \"deleted\"} for the objects deleted (not those absent).\n";

/* The Pods and NetworkPolicies of namespace ns */
static int delete_contents(struct ctl *c, struct store *s, const char *ns, struct err *e)
{
	static const enum k8s_kind kinds[] = {K8S_POD, K8S_POLICY};
	char prefix[STORE_KEY_MAX + 1];
	struct store_list l = {0};
	size_t k, i;
	int r = 0;

	for (k = 0; k < 2 && r >= 0; k++) {
		if (k8s_key_prefix(c->prefix, kinds[k], ns, prefix, sizeof(prefix)) < 0)
			return err_fail(e, CNI_ERR_CONFIG, -ENAMETOOLONG, "prefix too long");
		r = store_list_all(s, prefix, 500, &l, e);
		for (i = 0; r >= 0 && i < l.n; i++)
			r = store_delete(s, l.kvs[i].key, STORE_ANY, NULL, e);
		store_list_free(&l);
		memset(&l, 0, sizeof(l));
	}
	return r < 0 ? r : 0;
}

/* Returns CTL_OK or CTL_ERROR (printed) */
static int delete_one(struct ctl *c, struct store *s, enum k8s_kind kind, const char *ns,
		      const char *name, bool ignore, cJSON *out)
{
	char key[STORE_KEY_MAX + 1];
	struct err e = {0};
	int r;

	if (k8s_key(c->prefix, kind, ns, name, key, sizeof(key)) < 0)
		return ctl_errorf("%s \"%s\": name too long for the store", k8s_kind_resource(kind),
				  name);
	if (kind == K8S_NAMESPACE && delete_contents(c, s, name, &e) < 0)
		return ctl_error(&e);
	r = store_delete(s, key, STORE_ANY, NULL, &e);
	if (r < 0)
		return ctl_error(&e);
	if (r == 0)
		return ignore ? CTL_OK
			      : ctl_errorf("NotFound: %s \"%s%s%s\" not found",
					   k8s_kind_resource(kind), ns, *ns ? "/" : "", name);
	if (out)
		ctl_result_add(out, kind, ns, name, "deleted");
	else if (*ns)
		printf("%s \"%s\" deleted from %s namespace\n", k8s_kind_resource(kind), name, ns);
	else
		printf("%s \"%s\" deleted\n", k8s_kind_resource(kind), name);
	return CTL_OK;
}

static int delete_files(struct ctl *c, char **files, int nf, const char *ns, bool ignore,
			cJSON *out)
{
	struct k8s_object *objs;
	struct store *s;
	size_t n, i;
	int r = CTL_OK, pass;

	if (ctl_objects_read(c, files, nf, ns, false, &objs, &n) < 0)
		return CTL_ERROR;
	s = ctl_store(c);
	/* namespaces last: deleting one first would take the file's pods and policies with
	 * it, and then report them not found */
	for (pass = 0; s && pass < 2; pass++)
		for (i = 0; i < n; i++)
			if ((objs[i].kind == K8S_NAMESPACE) == pass &&
			    delete_one(c, s, objs[i].kind, objs[i].ns, objs[i].name, ignore, out) !=
				    CTL_OK)
				r = CTL_ERROR;
	ctl_objects_free(objs, n);
	return s ? r : CTL_ERROR;
}

static int delete_names(struct ctl *c, int argc, char **argv, const char *nsflag, bool ignore,
			cJSON *out)
{
	char ns[K8S_NS_MAX + 1], name[K8S_NAME_MAX + 1];
	struct store *s;
	int kind, i, r = CTL_OK;

	if ((kind = k8s_kind_parse(argv[0])) < 0)
		return ctl_usage("delete", "unknown kind '%s' (namespace, pod, networkpolicy)",
				 argv[0]);
	if (argc < 2)
		return ctl_usage("delete", "needs a NAME or NS/NAME after the kind");
	for (i = 1; i < argc; i++)
		if (ctl_object_name("delete", kind, argv[i], nsflag, ns, name) != CTL_OK)
			return CTL_USAGE;
	s = ctl_store(c);
	if (!s)
		return CTL_ERROR;
	for (i = 1; i < argc; i++) {
		ctl_object_name("delete", kind, argv[i], nsflag, ns, name);
		if (delete_one(c, s, kind, ns, name, ignore, out) != CTL_OK)
			r = CTL_ERROR;
	}
	return r;
}

int ctl_delete(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"filename", required_argument, NULL, 'f'},
		{"namespace", required_argument, NULL, 'n'},
		{"ignore-not-found", no_argument, NULL, 'i'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *ns = NULL;
	bool ignore = false;
	cJSON *out = NULL;
	char **files;
	int o, nf = 0, r;

	files = calloc((size_t)argc, sizeof(*files));
	if (!files)
		return ctl_errorf("out of memory");
	while ((o = getopt_long(argc, argv, ":hf:n:", opts, NULL)) != -1) {
		if (o == 'h' || o == ':' || o == '?') {
			free(files);
			if (o == 'h')
				return fputs(delete_usage, stdout), CTL_OK;
			if (o == ':')
				return ctl_usage("delete", "'%s' needs a value", argv[optind - 1]);
			return ctl_usage("delete", "unknown flag '%s'", argv[optind - 1]);
		}
		if (o == 'f')
			files[nf++] = optarg;
		else if (o == 'n')
			ns = optarg;
		else
			ignore = true;
	}
	if (nf && optind < argc)
		r = ctl_usage("delete", "-f names the objects: no KIND or NAME with it");
	else if (ns && k8s_check_dns_label(ns))
		r = ctl_usage("delete", "-n: invalid namespace '%s': %s", ns,
			      k8s_check_dns_label(ns));
	else if (!nf && optind >= argc)
		r = ctl_usage("delete", "needs -f FILE or KIND NAME");
	else {
		out = c->output == CTL_OUT_JSON ? cJSON_CreateArray() : NULL;
		if (nf)
			r = delete_files(c, files, nf, ns, ignore, out);
		else
			r = delete_names(c, argc - optind, argv + optind, ns, ignore, out);
		/* printed unless nothing was tried: a refusal before the store (usage, an
		 * invalid file) prints no array, as the table form prints no line */
		if (out && (c->store || cJSON_GetArraySize(out)))
			ctl_print_json(out);
		cJSON_Delete(out);
	}
	free(files);
	return r;
}
