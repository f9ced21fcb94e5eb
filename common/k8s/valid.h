/* SPDX-License-Identifier: Apache-2.0 */
/* Inside k8s/: the walk that validates and normalizes an object, keeping the path of the
 * field it is at ("spec.ingress[0].from[1]") for the message of the first problem. */
#ifndef K8S_VALID_H
#define K8S_VALID_H

#include <stdbool.h>
#include <stddef.h>

struct cJSON;
struct err;

struct kv {
	char path[512];
	size_t len;
	struct err *err;
};

/* Appends ".key" ("key" at the root) or, with idx >= 0, "[idx]" to the path; returns the
 * length to give kv_pop() to come back. */
size_t kv_push(struct kv *v, const char *key);
size_t kv_push_idx(struct kv *v, int idx);
void kv_pop(struct kv *v, size_t at);

/* Fails with "<path>: <why>"; returns -EINVAL. */
int kv_fail(struct kv *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Fails with "<path>.<key>: <why>". */
int kv_fail_at(struct kv *v, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The member key of o: NULL when absent or null (a null member is removed, as Go decodes it
 * to the zero value), else checked to be of the type (cJSON_Object, cJSON_Array,
 * cJSON_String, cJSON_Number: an integer); *r is -EINVAL after a failure. */
struct cJSON *kv_get(struct kv *v, struct cJSON *o, const char *key, int type, int *r);

/* Fails naming the first member of o not in the NULL-terminated list (strict field
 * validation: a misspelt field would silently change what a policy means). */
int kv_known(struct kv *v, const struct cJSON *o, const char *const *fields);

/* A map of label keys to label values (metadata.labels, matchLabels), key may be absent. */
int kv_labels(struct kv *v, struct cJSON *o, const char *key);

/* A label selector (metav1.LabelSelector) at o's member key; absent is fine. */
int kv_selector(struct kv *v, struct cJSON *o, const char *key);

/* A protocol member (TCP, UDP or SCTP), TCP filled in when absent. */
int kv_protocol(struct kv *v, struct cJSON *o);

/* metadata, validated, as it is stored (k8s/kinds.c); NULL with *r < 0 on failure */
struct k8s_object;
struct cJSON *kv_metadata(struct kv *v, struct cJSON *o, const struct k8s_object *obj, int *r);

/* A Pod's spec (may be NULL) and status (may be NULL); *ret_status is the status to keep
 * (podIP and podIPs), or NULL */
int kv_pod(struct kv *v, struct cJSON *spec, struct cJSON *status, struct cJSON **ret_status);

/* NetworkPolicy's spec (k8s/policy.c) */
int kv_policy_spec(struct kv *v, struct cJSON *spec);

#endif
