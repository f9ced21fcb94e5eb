// SPDX-License-Identifier: Apache-2.0
/* A normalized NetworkPolicy compiled once, when the model gets it: its id and chain names,
 * its directions, each rule's selector peers, its ipBlocks as merged address ranges (cidr
 * minus excepts) and its ports as merged protocol . port ranges. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "base/ip.h"
#include "base/name.h"
#include "base/vec.h"
#include "policy/model.h"

const char *const pol_rkind_name[RK_COUNT] = {"a4", "a6", "b4", "b6", "p", "n4", "n6"};

void pol_hex_digest(const void *s, size_t len, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t d[SHA256_LEN];
	size_t i;

	sha256(s, len, d);
	for (i = 0; i < n && i < 2 * SHA256_LEN; i++)
		out[i] = hex[(d[i / 2] >> (i % 2 ? 0 : 4)) & 0xf];
	out[i] = '\0';
}

void pol_policy_chain(const struct pol_policy *p, enum pol_dir dir, char out[POL_NAME_MAX])
{
	snprintf(out, POL_NAME_MAX, "p%c-%s", dir == POL_IN ? 'i' : 'e', p->id);
}

void pol_rule_set_name(const struct pol_prule *r, int k, char out[POL_NAME_MAX])
{
	snprintf(out, POL_NAME_MAX, "%s", r->set[k]);
}

/* --- ranges ---------------------------------------------------------------------------- */

static int push(struct pol_elem **arr, size_t *n, size_t *cap, const struct pol_elem *e)
{
	if (vec_room(arr, cap, *n, sizeof(**arr), 4) < 0)
		return -ENOMEM;
	(*arr)[(*n)++] = *e;
	return 0;
}

static int range_cmp(const void *a, const void *b)
{
	const struct pol_elem *x = a, *y = b;
	int c = x->proto - y->proto;

	if (c)
		return c;
	if (x->ip.family) /* address ranges */
		return ip_cmp(&x->ip, &y->ip) ?: ip_cmp(&x->end, &y->end);
	return (int)x->port - (int)y->port ?: (int)x->port_end - (int)y->port_end;
}

static bool all_ones(const struct ip_addr *ip)
{
	unsigned int i;

	for (i = 0; i < ip_bytes(ip->family); i++)
		if (ip->b[i] != 0xff)
			return false;
	return true;
}

/* sorts and merges ranges that overlap or touch (addresses or one protocol's ports) */
static void merge(struct pol_elem *e, size_t *n)
{
	struct ip_addr next;
	size_t i, w = 0;
	bool joins;

	if (!*n)
		return;
	qsort(e, *n, sizeof(*e), range_cmp);
	for (i = 1; i < *n; i++) {
		if (e[i].ip.family) {
			next = e[w].end;
			ip_next(&next);
			joins = all_ones(&e[w].end) || ip_cmp(&e[i].ip, &next) <= 0;
			if (joins && ip_cmp(&e[i].end, &e[w].end) > 0)
				e[w].end = e[i].end;
		} else {
			joins = e[i].proto == e[w].proto && e[i].port <= e[w].port_end + 1u;
			if (joins && e[i].port_end > e[w].port_end)
				e[w].port_end = e[i].port_end;
		}
		if (!joins)
			e[++w] = e[i];
	}
	*n = w + 1;
}

/* [cidr] minus each except, as ranges appended to the family's list */
static int ip_block(struct pol_prule *r, const cJSON *block, size_t cap[2])
{
	const cJSON *cidr = cJSON_GetObjectItemCaseSensitive(block, "cidr");
	const cJSON *ex;
	struct pol_elem whole = {0}, cut, *e;
	struct ip_prefix p;
	size_t i, first;
	int f;

	if (!cJSON_IsString(cidr) || ip_prefix_parse(cidr->valuestring, &p) < 0)
		return -EINVAL;
	f = p.ip.family == AF_INET6;
	whole.ip = ip_prefix_network(&p);
	whole.end = ip_prefix_broadcast(&p);
	first = r->nnet[f];
	if (push(&r->net[f], &r->nnet[f], &cap[f], &whole) < 0)
		return -ENOMEM;
	cJSON_ArrayForEach(ex, cJSON_GetObjectItemCaseSensitive(block, "except")) {
		if (!cJSON_IsString(ex) || ip_prefix_parse(ex->valuestring, &p) < 0)
			return -EINVAL;
		cut.ip = ip_prefix_network(&p);
		cut.end = ip_prefix_broadcast(&p);
		/* cut the except out of each of the block's ranges it meets (excepts may
		 * overlap one another) */
		for (i = first; i < r->nnet[f]; i++) {
			e = &r->net[f][i];
			if (ip_cmp(&cut.end, &e->ip) < 0 || ip_cmp(&cut.ip, &e->end) > 0)
				continue;
			whole = *e; /* the part after the except, if any */
			if (ip_cmp(&cut.ip, &e->ip) > 0) {
				e->end = cut.ip;
				ip_prev(&e->end);
			} else {
				e->ip.family = 0; /* nothing left before the except */
			}
			if (ip_cmp(&cut.end, &whole.end) < 0) {
				whole.ip = cut.end;
				ip_next(&whole.ip);
				if (push(&r->net[f], &r->nnet[f], &cap[f], &whole) < 0)
					return -ENOMEM;
			}
		}
		/* drop the emptied ones */
		for (i = first; i < r->nnet[f];)
			if (!r->net[f][i].ip.family)
				r->net[f][i] = r->net[f][--r->nnet[f]];
			else
				i++;
	}
	return 0;
}

/* --- rules ----------------------------------------------------------------------------- */

static uint8_t proto_num(const cJSON *o)
{
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "protocol");

	if (!cJSON_IsString(p) || !strcmp(p->valuestring, "TCP"))
		return IPPROTO_TCP;
	return !strcmp(p->valuestring, "UDP") ? IPPROTO_UDP : IPPROTO_SCTP;
}

static int ports(struct pol_prule *r, const cJSON *list)
{
	const cJSON *e, *port, *end;
	struct pol_elem x;
	size_t cap = 0, ncap = 0;

	cJSON_ArrayForEach(e, list) {
		memset(&x, 0, sizeof(x));
		x.proto = proto_num(e);
		port = cJSON_GetObjectItemCaseSensitive(e, "port");
		end = cJSON_GetObjectItemCaseSensitive(e, "endPort");
		if (cJSON_IsString(port)) {
			if (vec_room(&r->named, &ncap, r->nnamed, sizeof(*r->named), 2) < 0)
				return -ENOMEM;
			snprintf(r->named[r->nnamed].name, sizeof(r->named->name), "%s",
				 port->valuestring);
			r->named[r->nnamed++].proto = x.proto;
			continue;
		}
		x.port = cJSON_IsNumber(port) ? (uint16_t)port->valueint : 0;
		x.port_end = cJSON_IsNumber(end)    ? (uint16_t)end->valueint
			     : cJSON_IsNumber(port) ? x.port
						    : 65535;
		if (push(&r->ports, &r->nports, &cap, &x) < 0)
			return -ENOMEM;
	}
	merge(r->ports, &r->nports);
	r->has[RK_P] = cap > 0;
	r->has[RK_N4] = r->has[RK_N6] = r->nnamed > 0;
	r->any_port = !cJSON_GetArraySize(list);
	return 0;
}

static int selector_hash(const cJSON *sel, uint64_t *ret)
{
	char *text;

	*ret = 0;
	if (!sel)
		return 0;
	text = cJSON_PrintUnformatted(sel);
	if (!text)
		return -ENOMEM;
	*ret = name_fnv(0xcbf29ce484222325ULL, text);
	free(text);
	return 0;
}

static int peers(struct pol_prule *r, const cJSON *list)
{
	size_t cap = 0, ncap[2] = {0, 0};
	const cJSON *e, *block;
	int ret;

	r->any_peer = !cJSON_GetArraySize(list);
	cJSON_ArrayForEach(e, list) {
		block = cJSON_GetObjectItemCaseSensitive(e, "ipBlock");
		if (block) {
			if ((ret = ip_block(r, block, ncap)) < 0)
				return ret;
			r->has[RK_B4] |= ncap[0] > 0;
			r->has[RK_B6] |= ncap[1] > 0;
			continue;
		}
		if (vec_room(&r->peers, &cap, r->npeers, sizeof(*r->peers), 2) < 0)
			return -ENOMEM;
		r->peers[r->npeers].pods = cJSON_GetObjectItemCaseSensitive(e, "podSelector");
		if ((ret = selector_hash(r->peers[r->npeers].pods,
					 &r->peers[r->npeers].pods_hash)) < 0)
			return ret;
		r->peers[r->npeers++].nss =
			cJSON_GetObjectItemCaseSensitive(e, "namespaceSelector");
	}
	merge(r->net[0], &r->nnet[0]);
	merge(r->net[1], &r->nnet[1]);
	r->has[RK_A4] = r->has[RK_A6] = r->npeers > 0;
	return 0;
}

/* --- shared sets ----------------------------------------------------------------------- */

/* A set's identity is a canonical text of what decides its elements; its name is a hash of
 * that text, so that every rule (of any policy, in any namespace) whose set would hold the
 * same elements names one set: fewer sets for the kernel to walk on each lookup by name,
 * and fewer elements. */

struct strs {
	char **s;
	size_t n, cap;
};

static int strs_add(struct strs *l, char *s)
{
	if (!s || vec_room(&l->s, &l->cap, l->n, sizeof(*l->s), 4) < 0) {
		free(s);
		return -ENOMEM;
	}
	l->s[l->n++] = s;
	return 0;
}

static void strs_free(struct strs *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->s[i]);
	free(l->s);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* the items sorted, each once, each followed by '\n', into f */
static void strs_put(struct strs *l, FILE *f)
{
	size_t i;

	if (l->n)
		qsort(l->s, l->n, sizeof(*l->s), str_cmp);
	for (i = 0; i < l->n; i++)
		if (!i || strcmp(l->s[i - 1], l->s[i]))
			fprintf(f, "%s\n", l->s[i]);
}

/* a selector's JSON text, "*" when absent (every pod / the policy's namespace decides) */
static char *sel_text(const cJSON *sel)
{
	return sel ? cJSON_PrintUnformatted(sel) : strdup("*");
}

/* the rule's selector peers, each with its effective namespace condition: the policy's
 * namespace for a podSelector-only peer, else the namespaceSelector */
static int peers_ident(const struct pol_policy *p, const struct pol_prule *r, FILE *f)
{
	struct strs l = {0};
	char *pods, *nss, *one;
	size_t i;
	int ret = 0;

	for (i = 0; ret == 0 && i < r->npeers; i++) {
		pods = sel_text(r->peers[i].pods);
		nss = r->peers[i].nss ? cJSON_PrintUnformatted(r->peers[i].nss) : NULL;
		one = NULL;
		if (pods && (nss || !r->peers[i].nss) &&
		    asprintf(&one, "pods %s in %s %s", pods, nss ? "nss" : "ns",
			     nss ? nss : p->ns) < 0)
			one = NULL;
		free(pods);
		free(nss);
		ret = strs_add(&l, one);
	}
	if (ret == 0)
		strs_put(&l, f);
	strs_free(&l);
	return ret;
}

static int named_ident(const struct pol_prule *r, FILE *f)
{
	struct strs l = {0};
	char *one;
	size_t i;
	int ret = 0;

	for (i = 0; ret == 0 && i < r->nnamed; i++) {
		if (asprintf(&one, "%s/%u", r->named[i].name, r->named[i].proto) < 0)
			one = NULL;
		ret = strs_add(&l, one);
	}
	if (ret == 0)
		strs_put(&l, f);
	strs_free(&l);
	return ret;
}

static void ranges_ident(const struct pol_elem *e, size_t n, FILE *f)
{
	char a[IP_STRLEN], b[IP_STRLEN];
	size_t i;

	for (i = 0; i < n; i++) {
		if (e[i].ip.family)
			fprintf(f, "%s-%s\n", ip_fmt(&e[i].ip, a), ip_fmt(&e[i].end, b));
		else
			fprintf(f, "%u %u-%u\n", e[i].proto, e[i].port, e[i].port_end);
	}
}

/* An egress rule whose peers are all selector peers (at least one) reaches only the pods
 * they select: its named-port sets hold only those (the address set restricts to them
 * anyway, so this is exact). With no peers or an ipBlock the destination may be any pod:
 * every pod having the port. An ingress rule's named ports are those of the pods its policy
 * selects (on this node): its namespace and podSelector decide. */
static int ident(const struct pol_policy *p, const struct pol_prule *r, int k, char **text,
		 size_t *len)
{
	FILE *f = open_memstream(text, len);
	char *sel;
	int ret = 0;

	if (!f)
		return -ENOMEM;
	fprintf(f, "%s\n", pol_rkind_name[k]);
	switch (k) {
	case RK_A4:
	case RK_A6:
		ret = peers_ident(p, r, f);
		break;
	case RK_B4:
	case RK_B6:
		ranges_ident(r->net[k == RK_B6], r->nnet[k == RK_B6], f);
		break;
	case RK_P:
		ranges_ident(r->ports, r->nports, f);
		break;
	default:
		ret = named_ident(r, f);
		if (ret == 0 && r->dir == POL_IN) {
			sel = sel_text(p->podsel);
			fprintf(f, "ingress %s %s\n", p->ns, sel ? sel : "");
			ret = sel ? 0 : -ENOMEM;
			free(sel);
		} else if (ret == 0 && !r->named_to_peers) {
			fprintf(f, "egress any\n");
		} else if (ret == 0) {
			fprintf(f, "egress to\n");
			ret = peers_ident(p, r, f);
		}
	}
	if (fclose(f) != 0 && ret == 0)
		ret = -ENOMEM;
	return ret;
}

static int set_names(const struct pol_policy *p, struct pol_prule *r)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t d[SHA256_LEN];
	char *text = NULL, *w;
	size_t len, i;
	int k, ret;

	for (k = 0; k < RK_COUNT; k++) {
		if (!r->has[k])
			continue;
		if ((ret = ident(p, r, k, &text, &len)) < 0) {
			free(text);
			return ret;
		}
		/* the family is in the name, not in the hash: a4 and a6 of one peer list
		 * share their hex digits (and so do n4, n6) */
		w = strchr(text, '\n') + 1;
		sha256(w, len - (size_t)(w - text), d);
		free(text);
		text = NULL;
		w = r->set[k] + sprintf(r->set[k], "%s-", pol_rkind_name[k]);
		for (i = 0; i < POL_SET_ID_LEN; i++)
			w[i] = hex[(d[i / 2] >> (i % 2 ? 0 : 4)) & 0xf];
		w[i] = '\0';
		memcpy(&r->set_key[k], d, sizeof(r->set_key[k]));
		r->set_key[k] ^= (uint64_t)(k + 1) * 0x9e3779b97f4a7c15ULL;
		memcpy(&r->set_chk[k], d + 16, sizeof(r->set_chk[k]));
	}
	return 0;
}

static int rules(struct pol_policy *p, enum pol_dir dir, const cJSON *spec)
{
	const cJSON *list, *e;
	struct pol_prule *r;
	int ret;

	list = cJSON_GetObjectItemCaseSensitive(spec, dir == POL_IN ? "ingress" : "egress");
	p->rules[dir] = calloc(cJSON_GetArraySize(list) + 1, sizeof(*r));
	if (!p->rules[dir])
		return -ENOMEM;
	cJSON_ArrayForEach(e, list) {
		r = &p->rules[dir][p->nrules[dir]];
		r->dir = dir;
		r->idx = (uint16_t)p->nrules[dir]++;
		ret = peers(r, cJSON_GetObjectItemCaseSensitive(e, dir == POL_IN ? "from" : "to"));
		if (ret < 0 || (ret = ports(r, cJSON_GetObjectItemCaseSensitive(e, "ports"))) < 0)
			return ret;
		r->named_to_peers = dir == POL_OUT && r->npeers && !r->has[RK_B4] && !r->has[RK_B6];
		if ((ret = set_names(p, r)) < 0)
			return ret;
	}
	return 0;
}

static void rules_free(struct pol_prule *r, size_t n)
{
	size_t i;

	for (i = 0; r && i < n; i++) {
		free(r[i].peers);
		free(r[i].net[0]);
		free(r[i].net[1]);
		free(r[i].ports);
		free(r[i].named);
	}
	free(r);
}

void pol_policy_free(struct pol_policy *p)
{
	if (!p)
		return;
	rules_free(p->rules[POL_IN], p->nrules[POL_IN]);
	rules_free(p->rules[POL_OUT], p->nrules[POL_OUT]);
	cJSON_Delete(p->json);
	free(p->key);
	free(p);
}

static void types(struct pol_policy *p, const cJSON *spec)
{
	const cJSON *t;

	cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(spec, "policyTypes")) {
		if (cJSON_IsString(t) && !strcmp(t->valuestring, "Ingress"))
			p->dir[POL_IN] = true;
		if (cJSON_IsString(t) && !strcmp(t->valuestring, "Egress"))
			p->dir[POL_OUT] = true;
	}
}

int pol_policy_compile(cJSON *json, const char *ns, const char *name, struct pol_policy **ret,
		       struct err *err)
{
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(json, "spec");
	struct pol_policy *p;
	char *text;
	int r;

	p = calloc(1, sizeof(*p));
	if (!p || asprintf(&p->key, "%s/%s", ns, name) < 0) {
		free(p);
		return err_fail(err, CNI_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	snprintf(p->ns, sizeof(p->ns), "%s", ns);
	snprintf(p->name, sizeof(p->name), "%s", name);
	pol_hex_digest(p->key, strlen(p->key), POL_ID_LEN, p->id);
	p->podsel = cJSON_GetObjectItemCaseSensitive(spec, "podSelector");
	types(p, spec);
	text = cJSON_PrintUnformatted(json);
	r = text ? 0 : -ENOMEM;
	if (text)
		sha256(text, strlen(text), p->digest);
	free(text);
	if (r == 0 && (r = rules(p, POL_IN, spec)) == 0)
		r = rules(p, POL_OUT, spec);
	if (r < 0) {
		pol_policy_free(p);
		return err_fail(err, CNI_ERR_INTERNAL, r, "policy %s/%s: %s", ns, name,
				r == -ENOMEM ? "out of memory" : "invalid after validation");
	}
	p->json = json;
	*ret = p;
	return 0;
}
