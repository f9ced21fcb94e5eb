// SPDX-License-Identifier: Apache-2.0
/* Drops: a logged packet as JSON, the class chains' policies cached, the endpoints' IPs
 * indexed by pod. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "policy/drop.h"
#include "base/err.h"
#include "policy/pnft.h"
#include "store/store.h"

#define CLASSES_MAX 4096 /* beyond: the cache starts over */

struct pol_class_entry {
	char chain[POL_NAME_MAX];
	char policies[1024];
};

struct pol_pod_entry {
	struct ip_addr ip;
	char pod[POL_POD_MAX];
};

const char *pol_proto_name(uint8_t proto, char *buf)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_SCTP:
		return "sctp";
	case IPPROTO_ICMP:
		return "icmp";
	case IPPROTO_ICMPV6:
		return "icmpv6";
	}
	snprintf(buf, 8, "%u", proto);
	return buf;
}

static void add_time(cJSON *o, int64_t sec, int64_t usec)
{
	time_t t = (time_t)sec;
	char b[48], z[24];
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(z, sizeof(z), ".%06lldZ", (long long)usec % 1000000);
	strcat(b, z);
	cJSON_AddStringToObject(o, "time", b);
}

static void add_str_or_null(cJSON *o, const char *k, const char *v)
{
	if (v && *v)
		cJSON_AddStringToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

static void add_policies(cJSON *o, const char *list)
{
	cJSON *arr = cJSON_AddArrayToObject(o, "policies");
	const char *p = list, *comma;

	while (p && *p) {
		comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		char *one = strndup(p, n);

		if (one && *one)
			cJSON_AddItemToArray(arr, cJSON_CreateString(one));
		free(one);
		p = comma ? comma + 1 : NULL;
	}
}

cJSON *pol_drop_json(const struct pol_drop *d)
{
	const struct nflog_pkt *p = &d->pkt;
	cJSON *o = cJSON_CreateObject();
	char b[IP_STRLEN], pb[8];

	add_time(o, p->sec, p->usec);
	add_str_or_null(o, "class", p->prefix);
	add_str_or_null(o, "direction",
			!strncmp(p->prefix, "ci-", 3)	? "ingress"
			: !strncmp(p->prefix, "ce-", 3) ? "egress"
							: NULL);
	add_policies(o, d->policies);
	add_str_or_null(o, "src", p->src.family ? ip_fmt(&p->src, b) : NULL);
	add_str_or_null(o, "dst", p->dst.family ? ip_fmt(&p->dst, b) : NULL);
	cJSON_AddStringToObject(o, "proto", pol_proto_name(p->proto, pb));
	if (p->has_ports) {
		cJSON_AddNumberToObject(o, "sport", p->sport);
		cJSON_AddNumberToObject(o, "dport", p->dport);
	}
	if (p->has_icmp) {
		cJSON_AddNumberToObject(o, "icmpType", p->icmp_type);
		cJSON_AddNumberToObject(o, "icmpCode", p->icmp_code);
	}
	add_str_or_null(o, "srcPod", d->src_pod);
	add_str_or_null(o, "dstPod", d->dst_pod);
	if (p->indev)
		cJSON_AddNumberToObject(o, "indev", p->indev);
	if (p->outdev)
		cJSON_AddNumberToObject(o, "outdev", p->outdev);
	if (p->physindev)
		cJSON_AddNumberToObject(o, "physindev", p->physindev);
	if (p->physoutdev)
		cJSON_AddNumberToObject(o, "physoutdev", p->physoutdev);
	cJSON_AddNumberToObject(o, "len", p->len);
	return o;
}

const char *pol_classes_get(struct pol_classes *c, struct nft *nft, const char *chain)
{
	struct pol_class_entry *e;
	char out[1024];
	size_t i;

	if (!chain || !*chain)
		return "";
	for (i = 0; i < c->n; i++)
		if (!strcmp(c->e[i].chain, chain))
			return c->e[i].policies;
	/* nothing is cached for a chain not (or no longer, or not yet) in the kernel */
	if (!nft || pnft_class_policies(nft, chain, out, sizeof(out)) < 0 || !*out)
		return "";
	if (c->n == CLASSES_MAX)
		c->n = 0;
	if (c->n == c->cap) {
		e = realloc(c->e, (c->cap * 2 + 16) * sizeof(*e));
		if (!e)
			return "";
		c->e = e;
		c->cap = c->cap * 2 + 16;
	}
	e = &c->e[c->n++];
	snprintf(e->chain, sizeof(e->chain), "%s", chain);
	snprintf(e->policies, sizeof(e->policies), "%s", out);
	return e->policies;
}

void pol_classes_done(struct pol_classes *c)
{
	free(c->e);
	memset(c, 0, sizeof(*c));
}

/* One endpoint record's IPs, as "<ns>/<pod>" (its key's last part when it names no pod:
 * CNI without Kubernetes) */
static void add_endpoint(struct pol_pod_entry **e, size_t *n, size_t *cap,
			 const struct store_kv *kv)
{
	const char *last = strrchr(kv->key, '/');
	struct pol_endpoint ep = {0};
	struct err err = {0};
	struct pol_pod_entry *t;
	size_t i;

	if (pol_endpoint_parse(kv->value, kv->value_len, &ep, &err) < 0)
		return; /* the agent and the plugin log invalid records; here they name nothing */
	for (i = 0; i < ep.nips; i++) {
		if (*n == *cap) {
			t = realloc(*e, (*cap * 2 + 32) * sizeof(*t));
			if (!t)
				break;
			*e = t;
			*cap = *cap * 2 + 32;
		}
		(*e)[*n].ip = ep.ips[i];
		snprintf((*e)[*n].pod, sizeof((*e)[*n].pod), "%s/%s", ep.ns,
			 *ep.pod ? ep.pod : (last ? last + 1 : kv->key));
		(*n)++;
	}
	pol_endpoint_done(&ep);
}

int pol_pods_load(struct pol_pods *p, struct store *s, const char *prefix, struct err *err)
{
	struct store_list l = {0};
	struct pol_pod_entry *e = NULL;
	size_t n = 0, cap = 0, i;
	char *key;
	int r;

	if (asprintf(&key, "%s/%s", prefix, POL_KEY_ENDPOINTS) < 0)
		return err_fail(err, CNI_ERR_INTERNAL, -ENOMEM, "out of memory");
	r = store_list_all(s, key, 0, &l, err);
	free(key);
	if (r < 0)
		return r;
	for (i = 0; i < l.n; i++)
		add_endpoint(&e, &n, &cap, &l.kvs[i]);
	store_list_free(&l);
	free(p->e);
	p->e = e;
	p->n = n;
	return (int)n;
}

const char *pol_pods_find(const struct pol_pods *p, const struct ip_addr *ip)
{
	for (size_t i = 0; i < p->n; i++)
		if (ip_eq(&p->e[i].ip, ip))
			return p->e[i].pod;
	return NULL;
}

void pol_pods_done(struct pol_pods *p)
{
	free(p->e);
	memset(p, 0, sizeof(*p));
}
