/* SPDX-License-Identifier: Apache-2.0 */
/* What the policy unit tests share: a model fed from YAML as `sluicectl apply` would store
 * it, endpoints as sluice-nft-policy records them, and the rendered ruleset read back as
 * text (a set's elements, a chain's rules) to compare with what §5 of the reference says. */
#ifndef POLICY_T_H
#define POLICY_T_H

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "k8s/object.h"
#include "k8s/yaml.h"
#include "policy/model.h"
#include "policy/policy.h"

static struct pol_model *M;
static char T_BUF[65536];

static __attribute__((unused)) void m_reset(const char *node)
{
	pol_model_free(M);
	M = pol_model_new(node);
}

/* every object of a YAML stream into the model under its key; returns the last result */
static __attribute__((unused)) int put(const char *yaml)
{
	static const char *const dirs[] = {"namespaces", "pods", "policies"};
	struct k8s_object o;
	struct err e = {0};
	cJSON *items, *it;
	char key[512], *s;
	int r = -EINVAL;

	if (k8s_split(yaml, strlen(yaml), k8s_yaml_read, &items, &e) < 0) {
		printf("  put: %s\n", e.msg);
		return -EINVAL;
	}
	cJSON_ArrayForEach(it, items) {
		if ((r = k8s_object_ident(it, &o, &e)) < 0)
			break;
		if (o.kind == K8S_NAMESPACE)
			snprintf(key, sizeof(key), "%s/%s", dirs[o.kind], o.name);
		else
			snprintf(key, sizeof(key), "%s/%s/%s", dirs[o.kind], o.ns, o.name);
		s = cJSON_PrintUnformatted(it);
		r = pol_model_set(M, key, s, strlen(s), &e);
		free(s);
		if (r < 0)
			break;
	}
	if (r < 0)
		printf("  put: %s\n", e.msg);
	cJSON_Delete(items);
	return r;
}

static __attribute__((unused)) int del(const char *key)
{
	struct err e = {0};

	return pol_model_set(M, key, NULL, 0, &e);
}

/* records endpoint node/cid-eth0 of pod ns/pod with ips ("10.0.0.1 fd00::1") and the
 * labels of its ADD (JSON object text, or NULL) */
static __attribute__((unused)) int ep(const char *node, const char *cid, const char *ns,
				      const char *pod, const char *ips, const char *labels)
{
	struct pol_endpoint x = {0};
	char key[600], list[256], *tok, *save, *s;
	struct err e = {0};
	int r;

	snprintf(x.cid, sizeof(x.cid), "%s", cid);
	snprintf(x.ifname, sizeof(x.ifname), "eth0");
	snprintf(x.ns, sizeof(x.ns), "%s", ns);
	snprintf(x.pod, sizeof(x.pod), "%s", pod);
	snprintf(x.node, sizeof(x.node), "%s", node);
	snprintf(x.veth, sizeof(x.veth), "veth%s", cid);
	snprintf(list, sizeof(list), "%s", ips);
	for (tok = strtok_r(list, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		ip_parse(tok, &x.ips[x.nips++]);
	x.labels = labels ? cJSON_Parse(labels) : NULL;
	s = pol_endpoint_json(&x);
	pol_endpoint_done(&x);
	snprintf(key, sizeof(key), "endpoints/%s/%s-eth0", node, cid);
	r = pol_model_set(M, key, s, strlen(s), &e);
	if (r < 0)
		printf("  ep: %s\n", e.msg);
	free(s);
	return r;
}

/* the id of policy ns/name */
static __attribute__((unused)) const char *pid(const char *ns, const char *name)
{
	static char id[4][POL_ID_LEN + 1];
	static int at;
	char key[256];

	at = (at + 1) % 4;
	snprintf(key, sizeof(key), "%s/%s", ns, name);
	pol_hex_digest(key, strlen(key), POL_ID_LEN, id[at]);
	return id[at];
}

/* the name of a rule's set: dir 'i' or 'e', kind "a4", "b6", "p", ... (sets are shared by
 * content and named by a hash of it: the model's compiled rule says which; "?..." when the
 * model has no such rule) */
static __attribute__((unused)) const char *sname(const char *ns, const char *name, char dir,
						 int idx, const char *kind)
{
	static char out[4][POL_NAME_MAX];
	static int at;
	const struct pol_policy *p;
	char key[320];
	long i;
	int k;

	at = (at + 1) % 4;
	snprintf(out[at], POL_NAME_MAX, "?%c%s/%sr%d%s", dir, ns, name, idx, kind);
	snprintf(key, sizeof(key), "%s/%s", ns, name);
	i = pol_table_find(&M->t[T_POL], key);
	if (i < 0)
		return out[at];
	p = M->t[T_POL].e[i].val;
	for (k = 0; k < RK_COUNT && strcmp(pol_rkind_name[k], kind); k++)
		;
	if (k == RK_COUNT || idx < 0 || (size_t)idx >= p->nrules[dir == 'e'] ||
	    !p->rules[dir == 'e'][idx].has[k])
		return out[at];
	snprintf(out[at], POL_NAME_MAX, "%s", p->rules[dir == 'e'][idx].set[k]);
	return out[at];
}

static struct pol_ruleset RS;

static __attribute__((unused)) int render(void)
{
	struct err e = {0};
	int r;

	pol_ruleset_free(&RS);
	r = pol_render(M, &RS, &e);
	if (r < 0)
		printf("  render: %s\n", e.msg);
	if (r == 0 && getenv("POL_DUMP")) { /* to see a case's whole ruleset */
		char *text = pol_ruleset_text(&RS);

		printf("%s", text);
		free(text);
	}
	return r;
}

/* a set's elements as text, space separated ("(none)" when the set does not exist) */
static __attribute__((unused)) const char *elems(const char *set)
{
	const struct pol_set *s = pol_ruleset_set(&RS, set);
	char *text, *line, *save, prefix[POL_NAME_MAX + 8];
	size_t len = 0;

	if (!s)
		return "(none)";
	T_BUF[0] = '\0';
	text = pol_ruleset_text(&RS);
	snprintf(prefix, sizeof(prefix), "elem %s ", set);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (!strncmp(line, prefix, strlen(prefix)))
			len += (size_t)snprintf(T_BUF + len, sizeof(T_BUF) - len, "%s%s",
						len ? ", " : "", line + strlen(prefix));
	free(text);
	return T_BUF;
}

/* the lines of the rendered text starting with prefix, joined by "\n" */
static __attribute__((unused)) const char *lines(const char *prefix)
{
	char *text, *line, *save;
	size_t len = 0;

	T_BUF[0] = '\0';
	text = pol_ruleset_text(&RS);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (!strncmp(line, prefix, strlen(prefix)))
			len += (size_t)snprintf(T_BUF + len, sizeof(T_BUF) - len, "%s%s",
						len ? "\n" : "", line);
	free(text);
	return T_BUF;
}

/* tmpl with each "<id>" replaced by the id of policy ns/name, and each "@i<id>r<idx><kind>"
 * (or "@e...") by "@" and the name of that rule's set (sname()) (a static buffer) */
static __attribute__((unused)) const char *with_id(const char *tmpl, const char *ns,
						   const char *name)
{
	static char out[8192];
	const char *id = pid(ns, name), *at;
	char kind[3];
	size_t len = 0;
	int idx, n;

	while ((at = strstr(tmpl, "<id>"))) {
		if (at - tmpl >= 2 && at[-2] == '@' && (at[-1] == 'i' || at[-1] == 'e') &&
		    sscanf(at + 4, "r%d%n", &idx, &n) == 1) {
			kind[0] = at[4 + n];
			kind[1] = kind[0] == 'p' ? '\0' : at[5 + n];
			kind[2] = '\0';
			len += (size_t)snprintf(out + len, sizeof(out) - len, "%.*s%s",
						(int)(at - 1 - tmpl), tmpl,
						sname(ns, name, at[-1], idx, kind));
			tmpl = at + 4 + n + strlen(kind);
			continue;
		}
		len += (size_t)snprintf(out + len, sizeof(out) - len, "%.*s%s", (int)(at - tmpl),
					tmpl, id);
		tmpl = at + 4;
	}
	snprintf(out + len, sizeof(out) - len, "%s", tmpl);
	return out;
}

/* the class chain name of the dispatch element of ip in map ("ing4"...), or "" */
static __attribute__((unused)) const char *class_of(const char *map, const char *ip)
{
	const struct pol_set *s = pol_ruleset_set(&RS, map);
	struct ip_addr a;
	size_t i;

	ip_parse(ip, &a);
	for (i = 0; s && i < s->n; i++)
		if (ip_eq(&s->e[i].ip, &a))
			return s->e[i].chain;
	return "";
}

/* the targets of class chain name joined by ',', or "(none)" */
static __attribute__((unused)) const char *targets_of(const char *name)
{
	static char out[1024];
	size_t i, j, len = 0;

	for (i = 0; i < RS.ncchains; i++) {
		if (strcmp(RS.cchains[i].name, name))
			continue;
		out[0] = '\0';
		for (j = 0; j < RS.cchains[i].ntargets; j++)
			len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%s", j ? "," : "",
						RS.cchains[i].targets[j]);
		return out;
	}
	return "(none)";
}

#endif
