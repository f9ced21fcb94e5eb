// SPDX-License-Identifier: Apache-2.0
/* sluicectl get KIND [NAME|NS/NAME]: stored Kubernetes objects, one or a listing, as a table
 * or as JSON (one object, or a v1 List of them, what kubectl prints). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "k8s/object.h"
#include "k8s/yaml.h"
#include "store/store.h"
#include "sluicectl.h"

static const char get_usage[] =
	"Usage: sluicectl get KIND [NAME|NS/NAME] [-n NS | -A] [-o table|json|yaml]\n"
	"\n"
	"Shows stored Namespaces, Pods or NetworkPolicies. KIND: namespace (ns), pod (po),\n"
	"networkpolicy (netpol), or their plurals. Without a name, lists the kind's objects of\n"
	"namespace NS (default \"default\"), of all namespaces with -A; a Namespace is named\n"
	"alone. -o json prints the object, or {\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[...]};\n"
	"-o yaml the same as YAML (what apply -f reads back).\n"
	"\n"
	"  -n, --namespace NS     the namespace (default \"default\")\n"
	"  -A, --all-namespaces   list every namespace's objects\n";

/* "k=v,k2=v2" of a label map, keys sorted (kubectl --show-labels); NULL when empty */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *join_sorted(char **v, size_t n)
{
	size_t i, len = 1;
	char *s;

	qsort(v, n, sizeof(*v), cmp_str);
	for (i = 0; i < n; i++)
		len += strlen(v[i]) + 1;
	s = calloc(1, len);
	for (i = 0; s && i < n; i++) {
		if (i)
			strcat(s, ",");
		strcat(s, v[i]);
	}
	return s;
}

static char *labels_cell(const cJSON *labels)
{
	size_t n = 0, cap = (size_t)cJSON_GetArraySize(labels), i;
	char **v, *s = NULL;
	const cJSON *m;

	if (!cap)
		return strdup("<none>");
	v = calloc(cap, sizeof(*v));
	if (!v)
		return NULL;
	cJSON_ArrayForEach(m, labels)
		if (cJSON_IsString(m) && asprintf(&v[n], "%s=%s", m->string, m->valuestring) >= 0)
			n++;
	s = join_sorted(v, n);
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return s;
}

/* metav1.FormatLabelSelector: "a=b,c in (x,y),d notin (z),e,!f"; "<none>" when empty */
static char *selector_cell(const cJSON *sel)
{
	const cJSON *ml = cJSON_GetObjectItemCaseSensitive(sel, "matchLabels");
	const cJSON *me = cJSON_GetObjectItemCaseSensitive(sel, "matchExpressions"), *e, *x;
	char *lab = cJSON_GetArraySize(ml) ? labels_cell(ml) : NULL, *s = lab ? lab : strdup("");
	char *vals, *next;
	const char *op;

	cJSON_ArrayForEach(e, me) {
		op = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "operator"));
		vals = strdup("");
		cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(e, "values")) {
			if (asprintf(&next, "%s%s%s", vals, *vals ? "," : "", x->valuestring) < 0)
				break;
			free(vals);
			vals = next;
		}
		if (asprintf(&next, "%s%s%s%s%s%s%s", s, *s ? "," : "",
			     op && !strcmp(op, "DoesNotExist") ? "!" : "",
			     cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "key")),
			     op && !strcmp(op, "In")	  ? " in ("
			     : op && !strcmp(op, "NotIn") ? " notin ("
							  : "",
			     op && (!strcmp(op, "In") || !strcmp(op, "NotIn")) ? vals : "",
			     op && (!strcmp(op, "In") || !strcmp(op, "NotIn")) ? ")" : "") >= 0) {
			free(s);
			s = next;
		}
		free(vals);
	}
	if (s && !*s) {
		free(s);
		s = strdup("<none>");
	}
	return s;
}

static char *ips_cell(const cJSON *o)
{
	const cJSON *ips = cJSON_GetObjectItemCaseSensitive(
			    cJSON_GetObjectItemCaseSensitive(o, "status"), "podIPs"),
		    *ip;
	char *s = NULL, *next;

	cJSON_ArrayForEach(ip, ips) {
		if (asprintf(&next, "%s%s%s", s ? s : "", s ? "," : "",
			     cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ip, "ip"))) < 0)
			break;
		free(s);
		s = next;
	}
	return s;
}

static const char *const headers[K8S_KIND_COUNT][4] = {
	[K8S_NAMESPACE] = {"NAME", "LABELS"},
	[K8S_POD] = {"NAMESPACE", "NAME", "IP", "LABELS"},
	[K8S_POLICY] = {"NAMESPACE", "NAME", "POD-SELECTOR", "POLICY-TYPES"},
};

static void row(struct ctl_table *t, enum k8s_kind kind, const cJSON *o)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(o, "metadata");
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(o, "spec"), *ty;
	const char *ns = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(meta, "namespace"));
	const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(meta, "name"));
	char *a = NULL, *b = NULL, *next;

	if (kind == K8S_NAMESPACE) {
		a = labels_cell(cJSON_GetObjectItemCaseSensitive(meta, "labels"));
		ctl_table_row(t, name, a);
	} else if (kind == K8S_POD) {
		a = ips_cell(o);
		b = labels_cell(cJSON_GetObjectItemCaseSensitive(meta, "labels"));
		ctl_table_row(t, ns, name, a, b);
	} else {
		a = selector_cell(cJSON_GetObjectItemCaseSensitive(spec, "podSelector"));
		cJSON_ArrayForEach(ty, cJSON_GetObjectItemCaseSensitive(spec, "policyTypes")) {
			if (asprintf(&next, "%s%s%s", b ? b : "", b ? "," : "", ty->valuestring) <
			    0)
				break;
			free(b);
			b = next;
		}
		ctl_table_row(t, ns, name, a, b);
	}
	free(a);
	free(b);
}

/* A stored value as the object it is (validated again: a raw `store put` may have written
 * anything there); NULL after printing why */
static cJSON *stored(const char *prefix, const struct store_kv *kv, enum k8s_kind kind)
{
	char key[STORE_KEY_MAX + 1];
	struct k8s_object o;
	struct err e = {0};
	cJSON *in = cJSON_ParseWithLength(kv->value, kv->value_len);
	int r;

	if (!in) {
		ctl_errorf("%s: the stored value is not JSON", kv->key);
		return NULL;
	}
	r = k8s_object_parse(in, &o, &e);
	cJSON_Delete(in);
	if (r < 0) {
		ctl_errorf("%s: the stored value is not a valid %s: %s", kv->key,
			   k8s_kind_name(kind), e.msg);
		return NULL;
	}
	if (o.kind != kind) {
		ctl_errorf("%s: the stored value is a %s", kv->key, k8s_kind_name(o.kind));
		k8s_object_done(&o);
		return NULL;
	}
	if (k8s_key(prefix, o.kind, o.ns, o.name, key, sizeof(key)) < 0 || strcmp(key, kv->key)) {
		ctl_errorf("%s: the stored value is %s %s/%s, which belongs elsewhere", kv->key,
			   k8s_kind_name(o.kind), o.ns, o.name);
		k8s_object_done(&o);
		return NULL;
	}
	return o.json;
}

/* -o json or -o yaml of an object or List; CTL_OK or CTL_ERROR */
static int print_doc(const struct ctl *c, const cJSON *o)
{
	struct err e = {0};
	char *y;

	if (c->output == CTL_OUT_JSON) {
		ctl_print_json(o);
		return CTL_OK;
	}
	if (k8s_yaml_write(o, &y, &e) < 0)
		return ctl_error(&e);
	fputs(y, stdout);
	free(y);
	return CTL_OK;
}

static int get_one(struct ctl *c, struct store *s, enum k8s_kind kind, const char *ns,
		   const char *name)
{
	char key[STORE_KEY_MAX + 1];
	struct store_kv kv = {0};
	struct err e = {0};
	cJSON *o;
	int r;

	if (k8s_key(c->prefix, kind, ns, name, key, sizeof(key)) < 0)
		return ctl_errorf("name too long");
	r = store_get(s, key, &kv, NULL, &e);
	if (r < 0)
		return ctl_error(&e);
	if (r == 0)
		return ctl_errorf("NotFound: %s \"%s%s%s\" not found", k8s_kind_resource(kind), ns,
				  *ns ? "/" : "", name);
	o = stored(c->prefix, &kv, kind);
	store_kv_free(&kv);
	if (!o)
		return CTL_ERROR;
	if (c->output != CTL_OUT_TABLE) {
		r = print_doc(c, o);
	} else {
		struct ctl_table *t = ctl_table_new(kind == K8S_NAMESPACE ? 2 : 4, headers[kind]);

		row(t, kind, o);
		ctl_table_print(t);
		r = CTL_OK;
	}
	cJSON_Delete(o);
	return r;
}

static int get_list(struct ctl *c, struct store *s, enum k8s_kind kind, const char *ns)
{
	cJSON *list = cJSON_CreateObject(), *items, *o;
	struct ctl_table *t = NULL;
	struct store_list l = {0};
	char prefix[STORE_KEY_MAX + 1];
	struct err e = {0};
	int r = CTL_OK;
	size_t i;

	if (k8s_key_prefix(c->prefix, kind, ns, prefix, sizeof(prefix)) < 0)
		return cJSON_Delete(list), ctl_errorf("prefix too long");
	if (store_list_all(s, prefix, 500, &l, &e) < 0)
		return cJSON_Delete(list), ctl_error(&e);
	cJSON_AddStringToObject(list, "apiVersion", "v1");
	cJSON_AddStringToObject(list, "kind", "List");
	items = cJSON_AddArrayToObject(list, "items");
	if (c->output == CTL_OUT_TABLE && l.n)
		t = ctl_table_new(kind == K8S_NAMESPACE ? 2 : 4, headers[kind]);
	for (i = 0; i < l.n; i++) {
		o = stored(c->prefix, &l.kvs[i], kind);
		if (!o) {
			r = CTL_ERROR;
			continue;
		}
		if (t)
			row(t, kind, o);
		cJSON_AddItemToArray(items, o);
	}
	if (c->output != CTL_OUT_TABLE)
		r = print_doc(c, list) == CTL_OK ? r : CTL_ERROR;
	else if (t)
		ctl_table_print(t);
	else if (ns && kind != K8S_NAMESPACE)
		fprintf(stderr, "No resources found in %s namespace.\n", ns);
	else
		fprintf(stderr, "No resources found\n");
	store_list_free(&l);
	cJSON_Delete(list);
	return r;
}

int ctl_get(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"namespace", required_argument, NULL, 'n'},
		{"all-namespaces", no_argument, NULL, 'A'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	char nsbuf[K8S_NS_MAX + 1], name[K8S_NAME_MAX + 1];
	const char *ns = NULL;
	bool all = false;
	struct store *s;
	int o, kind;

	while ((o = getopt_long(argc, argv, ":hn:A", opts, NULL)) != -1) {
		if (o == 'h')
			return fputs(get_usage, stdout), CTL_OK;
		if (o == 'n')
			ns = optarg;
		else if (o == 'A')
			all = true;
		else if (o == ':')
			return ctl_usage("get", "'%s' needs a namespace", argv[optind - 1]);
		else
			return ctl_usage("get", "unknown flag '%s'", argv[optind - 1]);
	}
	if (optind >= argc)
		return ctl_usage("get", "needs a KIND (namespace, pod, networkpolicy)");
	if ((kind = k8s_kind_parse(argv[optind])) < 0)
		return ctl_usage("get", "unknown kind '%s' (namespace, pod, networkpolicy)",
				 argv[optind]);
	if (argc - optind > 2)
		return ctl_usage("get", "takes one KIND and at most one NAME or NS/NAME");
	if (all && (ns || argc - optind == 2))
		return ctl_usage("get", "-A lists every namespace: no -n, no name");
	if (ns && k8s_check_dns_label(ns))
		return ctl_usage("get", "-n: invalid namespace '%s': %s", ns,
				 k8s_check_dns_label(ns));
	/* a bad name is bad usage whatever the store: checked before it is opened */
	if (argc - optind == 2 &&
	    ctl_object_name("get", kind, argv[optind + 1], ns, nsbuf, name) != CTL_OK)
		return CTL_USAGE;
	s = ctl_store(c);
	if (!s)
		return CTL_ERROR;
	if (argc - optind == 1)
		return get_list(c, s, kind,
				all || kind == K8S_NAMESPACE ? NULL
				: ns			     ? ns
							     : K8S_DEFAULT_NS);
	return get_one(c, s, kind, nsbuf, name);
}

int ctl_object_name(const char *verb, int kind, const char *arg, const char *nsflag, char *ns,
		    char *name)
{
	const char *slash = strchr(arg, '/'), *n = slash ? slash + 1 : arg;
	const char *why;

	if (kind == K8S_NAMESPACE && (slash || nsflag))
		return ctl_usage(verb, "a namespace is named alone: %s namespace NAME", verb);
	if (slash && nsflag)
		return ctl_usage(verb, "give the namespace once: NS/NAME or -n NS NAME");
	if (slash) {
		if (slash == arg || (size_t)(slash - arg) > K8S_NS_MAX)
			return ctl_usage(verb, "invalid NS/NAME '%s'", arg);
		snprintf(ns, K8S_NS_MAX + 1, "%.*s", (int)(slash - arg), arg);
	} else {
		snprintf(ns, K8S_NS_MAX + 1, "%s",
			 kind == K8S_NAMESPACE ? ""
			 : nsflag	       ? nsflag
					       : K8S_DEFAULT_NS);
	}
	if (*ns && (why = k8s_check_dns_label(ns)))
		return ctl_usage(verb, "invalid namespace '%s': %s", ns, why);
	why = !*n		      ? "empty"
	      : strchr(n, '/')	      ? "more than one '/'"
	      : kind == K8S_NAMESPACE ? k8s_check_dns_label(n)
				      : k8s_check_dns_subdomain(n);
	if (why)
		return ctl_usage(verb, "invalid name '%s': %s", n, why);
	snprintf(name, K8S_NAME_MAX + 1, "%s", n);
	return CTL_OK;
}
