/* SPDX-License-Identifier: Apache-2.0 */
/* Kubernetes objects in the store: Namespaces, Pods and networking.k8s.io/v1
 * NetworkPolicies read from JSON or YAML (single objects, Lists, YAML streams), validated
 * as the apiserver validates them (the first problem of an object is reported, its field
 * named: "spec.ingress[0].from[1].ipBlock.cidr: invalid CIDR \"10.0.0.0/33\""), normalized
 * (defaults filled, server-side fields dropped) and keyed. Plain C and cJSON: YAML comes in
 * through a reader the caller passes (k8s/yaml.c, which only commands link). */
#ifndef K8S_OBJECT_H
#define K8S_OBJECT_H

#include <stdbool.h>
#include <stddef.h>

struct cJSON;
struct err;

enum k8s_kind { K8S_NAMESPACE, K8S_POD, K8S_POLICY, K8S_KIND_COUNT };

#define K8S_NAME_MAX 253 /* a DNS-1123 subdomain; a Namespace's name is a label (63) */
#define K8S_NS_MAX 63
#define K8S_DEFAULT_NS "default"
#define K8S_NS_LABEL "kubernetes.io/metadata.name"

struct k8s_object {
	enum k8s_kind kind;
	char ns[K8S_NS_MAX + 1]; /* "" for a Namespace */
	char name[K8S_NAME_MAX + 1];
	struct cJSON *json; /* the normalized object (owned); NULL from k8s_object_ident() */
};

/* Reads a YAML stream: every document as a JSON value, in order, in a JSON array (*ret,
 * the caller frees it); empty documents are null. Returns 0 or -errno with err filled
 * ("line L, column C: ..."). k8s_yaml_read() in k8s/yaml.c is one. */
typedef int (*k8s_yaml_reader)(const char *buf, size_t len, struct cJSON **ret, struct err *err);

/* Splits an input into its objects, unvalidated: JSON when its first non-blank byte is
 * '{' or '[' (one object, a List, or an array of objects), else YAML through yaml (NULL:
 * YAML is refused); a List (kind "List" or "<Kind>List") gives its items, an item of a
 * typed list without kind or apiVersion gets them from the list, empty YAML documents are
 * skipped. *ret is a JSON array of the objects (the caller frees it). Returns 0 or -errno
 * with err filled. */
int k8s_split(const char *buf, size_t len, k8s_yaml_reader yaml, struct cJSON **ret,
	      struct err *err);

/* Validates one object and fills *ret with its normalized form (free with
 * k8s_object_done()). On failure returns -EINVAL with err's message "<field>: <why>" (the
 * first problem found), or -ENOMEM. Normalizing a normalized object gives it back. */
int k8s_object_parse(const struct cJSON *in, struct k8s_object *ret, struct err *err);

/* What an object is (apiVersion and kind, name, namespace), validated as k8s_object_parse()
 * does, the rest unread (delete -f needs no more); ret->json is NULL. */
int k8s_object_ident(const struct cJSON *in, struct k8s_object *ret, struct err *err);

void k8s_object_done(struct k8s_object *o);

/* "Kind ns/name" (a Namespace: "Namespace name") for messages, from an object as given
 * (unvalidated: what it lacks shows as "?"). Returns buf. */
char *k8s_object_label(const struct cJSON *in, char *buf, size_t size);

/* The object's store key: <prefix>/namespaces/<name>, <prefix>/pods/<ns>/<name>,
 * <prefix>/policies/<ns>/<name>. Returns 0, or -ENAMETOOLONG when size is too small. */
int k8s_key(const char *prefix, enum k8s_kind kind, const char *ns, const char *name, char *buf,
	    size_t size);

/* The key prefix of a kind's objects: "<prefix>/pods/", or with ns (not NULL, not for
 * Namespaces) "<prefix>/pods/<ns>/". Returns 0 or -ENAMETOOLONG. */
int k8s_key_prefix(const char *prefix, enum k8s_kind kind, const char *ns, char *buf, size_t size);

/* The kind a kubectl resource name means ("pod", "pods", "po", "ns", "netpol", ...), or -1 */
int k8s_kind_parse(const char *s);

/* "Namespace", "Pod", "NetworkPolicy" */
const char *k8s_kind_name(enum k8s_kind kind);
/* kubectl's resource name for messages: "namespace", "pod", "networkpolicy.networking.k8s.io" */
const char *k8s_kind_resource(enum k8s_kind kind);

/* The checks the validation uses, for other callers (CNI_ARGS labels): NULL when s is valid,
 * else why not (a static string). */
const char *k8s_check_dns_label(const char *s);
const char *k8s_check_dns_subdomain(const char *s);
const char *k8s_check_label_key(const char *s);
const char *k8s_check_label_value(const char *s);
const char *k8s_check_port_name(const char *s);

#endif
