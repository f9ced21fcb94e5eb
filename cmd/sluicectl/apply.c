// SPDX-License-Identifier: Apache-2.0
/* sluicectl apply -f FILE|-: Kubernetes objects (JSON or YAML; single objects, Lists, YAML
 * streams) validated all before any is written, then written one by one, each reported as
 * kubectl does (created, configured, unchanged). Also the input reading delete -f shares. */
#include <errno.h>
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

#define APPLY_TRIES 5 /* conditional writes lost to concurrent writers before giving up */

static const char apply_usage[] =
	"Usage: sluicectl apply -f FILE|- [-f FILE...] [-n NS]\n"
	"\n"
	"Writes Kubernetes Namespaces (v1), Pods (v1) and NetworkPolicies\n"
	"(networking.k8s.io/v1) into the store, as JSON or YAML: single objects, Lists\n"
	"(what `kubectl get -o json|yaml` prints) and YAML streams of documents (---).\n"
	"Every object of every file is validated first; if any is invalid, nothing is written.\n"
	"Each object replaces the stored one of its kind, namespace and name:\n"
	"  namespace/x created | pod/web configured | networkpolicy.networking.k8s.io/deny unchanged\n"
	"-o json: one array of {\"kind\", \"namespace\" (null for a Namespace), \"name\",\n"
	"\"result\": created|configured|unchanged}, printed once every object is written.\n"
	"Nothing is half-applied: when a write fails, the objects written before it are put\n"
	"back as they were.\n"
	"\n"
	"  -f, --filename FILE  the file to read, '-' for stdin\n"
	"  -n, --namespace NS   the namespace of objects that name none (default \"default\");\n"
	"                       an object naming another one is refused\n";

void ctl_objects_free(struct k8s_object *o, size_t n)
{
	while (n--)
		k8s_object_done(&o[n]);
	free(o);
}

void ctl_result_add(struct cJSON *arr, int kind, const char *ns, const char *name,
		    const char *result)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddStringToObject(j, "kind", k8s_kind_name(kind));
	if (kind == K8S_NAMESPACE)
		cJSON_AddNullToObject(j, "namespace");
	else
		cJSON_AddStringToObject(j, "namespace", ns);
	cJSON_AddStringToObject(j, "name", name);
	cJSON_AddStringToObject(j, "result", result);
	cJSON_AddItemToArray(arr, j);
}

/* -n NS: the namespace of a namespaced object that names none */
static void default_ns(cJSON *it, const char *ns)
{
	cJSON *meta = cJSON_GetObjectItemCaseSensitive(it, "metadata"), *cur;
	const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "kind"));

	if (!ns || !cJSON_IsObject(meta) || (kind && !strcmp(kind, "Namespace")))
		return;
	cur = cJSON_GetObjectItemCaseSensitive(meta, "namespace");
	if (cur && !cJSON_IsNull(cur) && !(cJSON_IsString(cur) && !*cur->valuestring))
		return;
	cJSON_DeleteItemFromObjectCaseSensitive(meta, "namespace");
	cJSON_AddStringToObject(meta, "namespace", ns);
}

/* Validates (or identifies) the items of one input, appending to *objs; invalid ones print */
static int read_items(const char *src, cJSON *items, const char *ns, bool full,
		      struct k8s_object **objs, size_t *n)
{
	struct k8s_object *more;
	struct err e = {0};
	cJSON *it;
	char label[320];
	int i = 0, bad = 0;

	more = realloc(*objs, (*n + (size_t)cJSON_GetArraySize(items) + 1) * sizeof(**objs));
	if (!more)
		return ctl_errorf("out of memory"), -1;
	*objs = more;
	cJSON_ArrayForEach(it, items) {
		i++;
		memset(&e, 0, sizeof(e));
		default_ns(it, ns);
		if ((full ? k8s_object_parse(it, &more[*n], &e)
			  : k8s_object_ident(it, &more[*n], &e)) < 0) {
			ctl_errorf("%s: item %d (%s): %s", src, i,
				   k8s_object_label(it, label, sizeof(label)), e.msg);
			bad++;
			continue;
		}
		/* kubectl's rule: -n never moves an object that names its namespace */
		if (ns && more[*n].kind != K8S_NAMESPACE && strcmp(more[*n].ns, ns)) {
			ctl_errorf(
				"%s: item %d (%s): metadata.namespace: \"%s\" does not match -n %s",
				src, i, k8s_object_label(it, label, sizeof(label)), more[*n].ns,
				ns);
			k8s_object_done(&more[*n]);
			bad++;
			continue;
		}
		++*n;
	}
	return bad ? -1 : 0;
}

static int cmp_object(const void *a, const void *b)
{
	const struct k8s_object *x = *(const struct k8s_object *const *)a;
	const struct k8s_object *y = *(const struct k8s_object *const *)b;
	int r = (int)x->kind - (int)y->kind;

	if (!r)
		r = strcmp(x->ns, y->ns);
	return r ? r : strcmp(x->name, y->name);
}

/* The same object twice in one input: which should win is anyone's guess */
static int duplicates(struct k8s_object *o, size_t n)
{
	struct k8s_object **v;
	size_t i;
	int r = 0;

	if (n < 2)
		return 0;
	v = malloc(n * sizeof(*v));
	if (!v)
		return ctl_errorf("out of memory"), -1;
	for (i = 0; i < n; i++)
		v[i] = &o[i];
	qsort(v, n, sizeof(*v), cmp_object);
	for (i = 1; i < n && !r; i++)
		if (!cmp_object(&v[i - 1], &v[i]))
			r = ctl_errorf("%s %s%s%s is given twice", k8s_kind_name(v[i]->kind),
				       v[i]->ns, *v[i]->ns ? "/" : "", v[i]->name),
			r = -1;
	free(v);
	return r;
}

int ctl_objects_read(struct ctl *c, char **paths, int npaths, const char *ns, bool full,
		     struct k8s_object **ret, size_t *ret_n)
{
	struct k8s_object *objs = NULL;
	struct err e = {0};
	int i, bad = 0;
	size_t n = 0, len;
	cJSON *items;
	char *buf;
	const char *src;

	for (i = 0; i < npaths; i++) {
		src = strcmp(paths[i], "-") ? paths[i] : "stdin";
		buf = ctl_read_file(paths[i], &len);
		if (!buf) {
			bad++;
			continue;
		}
		memset(&e, 0, sizeof(e));
		if (k8s_split(buf, len, k8s_yaml_read, &items, &e) < 0) {
			ctl_errorf("%s: %s", src, e.msg);
			bad++;
		} else {
			bad += read_items(src, items, ns, full, &objs, &n) < 0;
			cJSON_Delete(items);
		}
		free(buf);
	}
	if (!bad && !n)
		bad = ctl_errorf("no objects passed to %s", full ? "apply" : "delete");
	if (bad || duplicates(objs, n) < 0) {
		ctl_objects_free(objs, n);
		return -1;
	}
	*ret = objs;
	*ret_n = n;
	return 0;
}

/* What an object's write replaced, to put it back if a later write fails */
struct undo {
	char key[STORE_KEY_MAX + 1];
	char *old; /* the value it replaced; NULL: the key was created */
	size_t old_len;
	int64_t rev; /* the key's mod_rev after the write; 0: nothing written */
};

/* Writes one object: created when absent, unchanged when stored as it is, else configured;
 * conditional on what was read, so a concurrent writer is never overwritten unseen */
static int apply_one(struct store *s, const char *prefix, const struct k8s_object *o,
		     const char **ret_what, struct undo *u, struct err *e)
{
	struct store_put p = {.if_rev = STORE_ABSENT};
	struct store_kv kv = {0};
	char *val;
	cJSON *cur;
	int r, tries;

	if (k8s_key(prefix, o->kind, o->ns, o->name, u->key, sizeof(u->key)) < 0)
		return err_fail(e, CNI_ERR_CONFIG, -ENAMETOOLONG, "key too long for the store");
	val = cJSON_PrintUnformatted(o->json);
	if (!val)
		return err_fail(e, CNI_ERR_INTERNAL, -ENOMEM, "out of memory");
	for (tries = 0, r = 0; tries < APPLY_TRIES && r == 0; tries++) {
		r = store_get(s, u->key, &kv, NULL, e);
		if (r < 0)
			break;
		p.if_rev = r ? kv.mod_rev : STORE_ABSENT;
		*ret_what = r ? "configured" : "created";
		cur = r ? cJSON_ParseWithLength(kv.value, kv.value_len) : NULL;
		if (cur && cJSON_Compare(cur, o->json, true)) {
			cJSON_Delete(cur);
			store_kv_free(&kv);
			*ret_what = "unchanged";
			r = 1;
			break;
		}
		cJSON_Delete(cur);
		free(u->old);
		u->old = kv.value; /* kept for the undo */
		u->old_len = kv.value_len;
		kv.value = NULL;
		store_kv_free(&kv);
		r = store_put(s, u->key, val, strlen(val), &p, &u->rev, NULL, e);
	}
	free(val);
	if (r == 0)
		r = err_fail(e, CNI_ERR_TRY_AGAIN, -EAGAIN,
			     "%s %s%s%s: changed by another writer %d times in a row",
			     k8s_kind_name(o->kind), o->ns, *o->ns ? "/" : "", o->name,
			     APPLY_TRIES);
	if (r < 0 || !u->rev) { /* failed, or unchanged: nothing to undo */
		free(u->old);
		u->old = NULL;
		u->rev = 0;
	}
	return r < 0 ? r : 0;
}

/* Puts back what the first n writes replaced, newest first, each only if nobody changed
 * the key since (its mod_rev is still ours). Returns how many could not be put back. */
static size_t undo_writes(struct store *s, struct undo *u, size_t n)
{
	size_t left = 0;

	while (n--) {
		struct store_put p = {.if_rev = u[n].rev};
		struct err e = {0};
		int r;

		if (!u[n].rev)
			continue;
		if (u[n].old)
			r = store_put(s, u[n].key, u[n].old, u[n].old_len, &p, NULL, NULL, &e);
		else
			r = store_delete(s, u[n].key, u[n].rev, NULL, &e);
		if (r <= 0) {
			fprintf(stderr, "sluicectl: could not undo the write of %s: %s\n", u[n].key,
				r < 0 ? e.msg : "changed by another writer since");
			left++;
		}
	}
	return left;
}

int ctl_apply(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"filename", required_argument, NULL, 'f'},
		{"namespace", required_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct k8s_object *objs;
	const char **whats = NULL, *ns = NULL;
	struct undo *undo = NULL;
	cJSON *out;
	struct store *s;
	char **files;
	size_t n, i;
	int o, nf = 0, r = CTL_OK;

	files = calloc((size_t)argc, sizeof(*files));
	if (!files)
		return ctl_errorf("out of memory");
	while ((o = getopt_long(argc, argv, ":hf:n:", opts, NULL)) != -1) {
		if (o == 'h') {
			free(files);
			return fputs(apply_usage, stdout), CTL_OK;
		}
		if (o == 'f' || o == 'n') {
			if (o == 'f')
				files[nf++] = optarg;
			else
				ns = optarg;
			continue;
		}
		free(files);
		if (o == ':')
			return ctl_usage("apply", "'%s' needs a value", argv[optind - 1]);
		return ctl_usage("apply", "unknown flag '%s'", argv[optind - 1]);
	}
	if (optind < argc || !nf) {
		free(files);
		if (optind < argc)
			return ctl_usage("apply", "unexpected argument '%s'", argv[optind]);
		return ctl_usage("apply", "needs -f FILE (or -f - for stdin)");
	}
	if (ns && k8s_check_dns_label(ns)) {
		free(files);
		return ctl_usage("apply", "-n: invalid namespace '%s': %s", ns,
				 k8s_check_dns_label(ns));
	}
	r = ctl_objects_read(c, files, nf, ns, true, &objs, &n);
	free(files);
	if (r < 0)
		return CTL_ERROR;
	s = ctl_store(c);
	undo = calloc(n ? n : 1, sizeof(*undo));
	whats = calloc(n ? n : 1, sizeof(*whats));
	if (!undo || !whats)
		s = NULL, ctl_errorf("out of memory");
	/* Nothing half-applied: the writes are one per object (neither backend has a
	 * multi-key transaction behind store.h), so when one fails, those before it are
	 * put back, and the results are printed only once every write has landed. */
	for (i = 0, r = s ? CTL_OK : CTL_ERROR; s && i < n; i++) {
		struct err e = {0};

		if (apply_one(s, c->prefix, &objs[i], &whats[i], &undo[i], &e) < 0) {
			size_t left = undo_writes(s, undo, i);

			r = ctl_error(&e);
			if (left)
				fprintf(stderr,
					"sluicectl: %zu of the objects written before it could not be put back: apply again to complete it\n",
					left);
			else if (i)
				fprintf(stderr,
					"sluicectl: nothing applied: the objects written before it were put back as they were\n");
			break;
		}
	}
	out = r == CTL_OK && c->output == CTL_OUT_JSON ? cJSON_CreateArray() : NULL;
	for (size_t k = 0; r == CTL_OK && k < n; k++) {
		if (out)
			ctl_result_add(out, objs[k].kind, objs[k].ns, objs[k].name, whats[k]);
		else
			printf("%s/%s %s\n", k8s_kind_resource(objs[k].kind), objs[k].name,
			       whats[k]);
	}
	if (out)
		ctl_print_json(out);
	cJSON_Delete(out);
	for (size_t k = 0; undo && k < n; k++)
		free(undo[k].old);
	free(undo);
	free(whats);
	ctl_objects_free(objs, n);
	return r;
}
