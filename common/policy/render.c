// SPDX-License-Identifier: Apache-2.0
/* Rendering: the full ruleset is the skeleton plus every endpoint's fragment, made by the
 * same code that renders one fragment alone, so the two agree by construction. An
 * endpoint's fragment: its IPs in the peer sets of the rules it matches, and when it is on
 * this node its dispatch elements (-> the class chain of the policies selecting it) and
 * the named ports its policies' ingress rules resolve on it; on any node, its named ports
 * that egress rules name. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "base/vec.h"
#include "k8s/object.h"
#include "policy/render.h"

static int nport_cmp(const void *a, const void *b)
{
	const struct pol_nport *x = a, *y = b;

	return strcmp(x->name, y->name) ?: (int)x->proto - (int)y->proto;
}

/* and then by shared set, so that each set is indexed once per name */
static int nport_set_cmp(const void *a, const void *b, void *sid)
{
	const struct pol_nport *x = a, *y = b;
	const int *s = sid;

	return nport_cmp(a, b) ?: s[x->gid * RK_COUNT + RK_N4] - s[y->gid * RK_COUNT + RK_N4];
}

/* the named ports of egress rule gid into the index */
static int index_named(struct pol_rctx *c, uint32_t gid, size_t *cap)
{
	const struct pol_prule *r = c->rules[gid].r;
	struct pol_nport *x;
	size_t j;

	for (j = 0; j < r->nnamed; j++) {
		if (vec_room(&c->named_out, cap, c->nnamed_out, sizeof(*c->named_out), 8) < 0)
			return -ENOMEM;
		x = &c->named_out[c->nnamed_out++];
		x->name = r->named[j].name;
		x->proto = r->named[j].proto;
		x->port = 0;
		x->gid = gid;
	}
	return 0;
}

/* the index of egress named ports, sorted, each (name, protocol, set) once: rules sharing a
 * set would put the same elements in it */
static int index_all_named(struct pol_rctx *c)
{
	size_t i, w = 0, cap = 0;
	uint32_t g;

	for (g = 0; g < c->nrules; g++)
		if (c->rules[g].r->dir == POL_OUT && index_named(c, g, &cap) < 0)
			return -ENOMEM;
	if (!c->nnamed_out)
		return 0;
	qsort_r(c->named_out, c->nnamed_out, sizeof(*c->named_out), nport_set_cmp, c->sid);
	for (i = 1; i < c->nnamed_out; i++)
		if (nport_set_cmp(&c->named_out[w], &c->named_out[i], c->sid))
			c->named_out[++w] = c->named_out[i];
	c->nnamed_out = w + 1;
	return 0;
}

/* every rule's sets numbered as shared sets (slots), through a hash of their names */
static int number_sets(struct pol_rctx *c, struct err *err)
{
	const struct pol_rinfo *ri, *other;
	size_t nh = 16, h;
	struct pol_slot *sl;
	uint32_t g, *tab;
	int k;

	while (nh < 2 * RK_COUNT * c->nrules) /* at most RK_COUNT slots a rule */
		nh *= 2;
	tab = calloc(nh, sizeof(*tab)); /* slot + 1, 0: free */
	c->slots = malloc((c->nrules * RK_COUNT + 1) * sizeof(*c->slots));
	if (!tab || !c->slots) {
		free(tab);
		return -ENOMEM;
	}
	for (g = 0; g < c->nrules; g++) {
		ri = &c->rules[g];
		for (k = 0; k < RK_COUNT; k++) {
			if (!ri->r->has[k])
				continue;
			for (h = ri->r->set_key[k] & (nh - 1);
			     tab[h] && (c->slots[tab[h] - 1].key != ri->r->set_key[k] ||
					strcmp(c->slots[tab[h] - 1].name, ri->r->set[k]));
			     h = (h + 1) & (nh - 1))
				;
			if (tab[h]) {
				sl = &c->slots[tab[h] - 1];
				c->sid[g * RK_COUNT + k] = (int)(tab[h] - 1);
				if (sl->chk == ri->r->set_chk[k])
					continue;
				/* 48 bits of a hash: about one chance in 10^8 with 5,000 sets */
				other = &c->rules[sl->gid];
				free(tab);
				return err_fail(err, CNI_ERR_INTERNAL, -EEXIST,
						"policies %s and %s have different sets named %s",
						other->p->key, ri->p->key, sl->name);
			}
			sl = &c->slots[c->nslots];
			sl->name = ri->r->set[k];
			sl->key = ri->r->set_key[k];
			sl->chk = ri->r->set_chk[k];
			sl->kind = pol_rkind_set[k];
			sl->gid = g;
			sl->set = -1;
			sl->gen = 0;
			c->sid[g * RK_COUNT + k] = (int)c->nslots;
			tab[h] = (uint32_t)++c->nslots;
		}
	}
	free(tab);
	return 0;
}

int pol_rctx_init(struct pol_rctx *c, const struct pol_model *m, struct pol_ruleset *out, bool full,
		  struct err *err)
{
	const struct pol_table *pols = &m->t[T_POL];
	const struct pol_policy *p;
	size_t i, j, n = 0;
	int d, r;

	memset(c, 0, sizeof(*c));
	memset(out, 0, sizeof(*out));
	c->m = m;
	c->out = out;
	c->full = full;
	c->err = err;
	memset(c->disp, -1, sizeof(c->disp));
	for (i = 0; i < pols->n; i++)
		for (p = pols->e[i].val, d = 0; d < 2; d++)
			n += p->dir[d] ? p->nrules[d] : 0;
	c->rules = malloc((n + 1) * sizeof(*c->rules));
	c->first = malloc((pols->n + 1) * sizeof(*c->first));
	c->sid = malloc((n * RK_COUNT + 1) * sizeof(*c->sid));
	if (!c->rules || !c->first || !c->sid)
		return -ENOMEM;
	memset(c->sid, -1, n * RK_COUNT * sizeof(*c->sid));
	for (i = 0; i < pols->n; i++) {
		for (p = pols->e[i].val, d = 0; d < 2; d++) {
			c->first[i][d] = c->nrules;
			for (j = 0; p->dir[d] && j < p->nrules[d]; j++) {
				c->rules[c->nrules].p = p;
				c->rules[c->nrules++].r = &p->rules[d][j];
			}
		}
	}
	if ((r = number_sets(c, err)) < 0)
		return r;
	return index_all_named(c);
}

void pol_rctx_done(struct pol_rctx *c)
{
	size_t i;

	for (i = 0; i < c->nns; i++) {
		cJSON_Delete(c->ns[i].own);
		free(c->ns[i].peers);
	}
	free(c->ns);
	free(c->rules);
	free(c->first);
	free(c->sid);
	free(c->slots);
	free(c->named_out);
	pol_memo_done(&c->memo);
}

/* --- namespaces ------------------------------------------------------------------------ */

/* the selector peers of every rule whose namespace part matches ns */
static int ns_peers(struct pol_rctx *c, struct pol_nsinfo *ns)
{
	const struct pol_peer *pe;
	size_t i, cap = 0;
	uint32_t g;
	bool match;
	long id;

	for (g = 0; g < c->nrules; g++) {
		for (i = 0; i < c->rules[g].r->npeers; i++) {
			pe = &c->rules[g].r->peers[i];
			match = pe->nss ? pol_sel_match(pe->nss, ns->labels)
					: !strcmp(c->rules[g].p->ns, ns->name);
			if (!match)
				continue;
			if (vec_room(&ns->peers, &cap, ns->npeers, sizeof(*ns->peers), 8) < 0)
				return -ENOMEM;
			/* one fragment evaluates each selector once anyway */
			id = pe->pods && c->full ? pol_memo_id(&c->memo, pe->pods, pe->pods_hash)
						 : -1;
			if (id < -1)
				return (int)id;
			ns->peers[ns->npeers].gid = g;
			ns->peers[ns->npeers].pods = pe->pods;
			ns->peers[ns->npeers++].sel = (int32_t)id;
		}
	}
	return 0;
}

/* the namespace's labels: its object's (which carry its name label), else only that */
static int ns_labels(struct pol_rctx *c, struct pol_nsinfo *ns)
{
	const struct pol_table *t = &c->m->t[T_NS];
	long at = pol_table_find(t, ns->name);

	if (at >= 0) {
		ns->labels = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(t->e[at].val, "metadata"), "labels");
		return 0;
	}
	ns->own = cJSON_CreateObject();
	if (!ns->own || !cJSON_AddStringToObject(ns->own, K8S_NS_LABEL, ns->name))
		return -ENOMEM;
	ns->labels = ns->own;
	return 0;
}

static int ns_get(struct pol_rctx *c, const char *name, struct pol_nsinfo **ret)
{
	size_t lo = 0, hi = c->nns, mid;
	struct pol_nsinfo *ns;
	int cmp, r;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		cmp = strcmp(c->ns[mid].name, name);
		if (!cmp) {
			*ret = &c->ns[mid];
			return 0;
		}
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (vec_room(&c->ns, &c->nscap, c->nns, sizeof(*c->ns), 8) < 0)
		return -ENOMEM;
	memmove(&c->ns[lo + 1], &c->ns[lo], (c->nns - lo) * sizeof(*c->ns));
	c->nns++;
	ns = &c->ns[lo];
	memset(ns, 0, sizeof(*ns));
	snprintf(ns->name, sizeof(ns->name), "%s", name);
	if ((r = ns_labels(c, ns)) < 0 || (r = ns_peers(c, ns)) < 0)
		return r;
	*ret = ns;
	return 0;
}

/* --- emitting -------------------------------------------------------------------------- */

static int push(struct pol_set *s, const struct pol_elem *e)
{
	if (vec_room(&s->e, &s->cap, s->n, sizeof(*s->e), 4) < 0)
		return -ENOMEM;
	s->e[s->n++] = *e;
	return 0;
}

/* the (shared) set of kind k of rule gid, made now in a fragment */
static int rule_set(struct pol_rctx *c, uint32_t gid, int k)
{
	struct pol_slot *sl = &c->slots[c->sid[gid * RK_COUNT + k]];

	if (sl->set < 0)
		sl->set = pol_rctx_add_set(c, sl->name, sl->kind);
	return sl->set;
}

/* whether this fragment has filled the shared set of kind k of rule gid already (every
 * rule naming it would add the same elements), marking it filled */
static bool filled(struct pol_rctx *c, uint32_t gid, int k)
{
	struct pol_slot *sl = &c->slots[c->sid[gid * RK_COUNT + k]];

	if (sl->gen == c->gen)
		return true;
	sl->gen = c->gen;
	return false;
}

static int disp_set(struct pol_rctx *c, enum pol_dir dir, bool v6)
{
	static const char *const names[2][2] = {{"ing4", "ing6"}, {"egr4", "egr6"}};
	int *at = &c->disp[dir][v6];

	if (*at < 0)
		*at = pol_rctx_add_set(c, names[dir][v6],
				       v6 ? POL_SET_DISPATCH6 : POL_SET_DISPATCH4);
	return *at;
}

/* ep's IPs in the peer sets of rule gid (marking them filled) */
static int emit_ips(struct pol_rctx *c, uint32_t gid, const struct pol_endpoint *ep)
{
	struct pol_elem e;
	size_t i;
	int s;

	filled(c, gid, RK_A4);
	for (i = 0; i < ep->nips; i++) {
		memset(&e, 0, sizeof(e));
		e.ip = ep->ips[i];
		s = rule_set(c, gid, e.ip.family == AF_INET6 ? RK_A6 : RK_A4);
		if (s < 0 || push(&c->out->sets[s], &e) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* the named ports of a pod's containers (*ret malloc'd), protocol included */
static int pod_ports(const cJSON *pod, struct pol_nport **ret, size_t *n)
{
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(pod, "spec"), *ct, *p, *name, *v;
	size_t cap = 0;

	*ret = NULL;
	*n = 0;
	cJSON_ArrayForEach(ct, cJSON_GetObjectItemCaseSensitive(spec, "containers")) {
		cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(ct, "ports")) {
			name = cJSON_GetObjectItemCaseSensitive(p, "name");
			if (!cJSON_IsString(name))
				continue;
			if (vec_room(ret, &cap, *n, sizeof(**ret), 4) < 0)
				return -ENOMEM;
			(*ret)[*n].name = name->valuestring;
			v = cJSON_GetObjectItemCaseSensitive(p, "protocol");
			(*ret)[*n].proto = !cJSON_IsString(v) || !strcmp(v->valuestring, "TCP")
						   ? IPPROTO_TCP
					   : !strcmp(v->valuestring, "UDP") ? IPPROTO_UDP
									    : IPPROTO_SCTP;
			v = cJSON_GetObjectItemCaseSensitive(p, "containerPort");
			(*ret)[*n].port = cJSON_IsNumber(v) ? (uint16_t)v->valueint : 0;
			(*ret)[(*n)++].gid = 0;
		}
	}
	return 0;
}

/* ep's IP . protocol . port in rule gid's named-port sets for a port of its pod */
static int emit_named(struct pol_rctx *c, uint32_t gid, const struct pol_endpoint *ep,
		      const struct pol_nport *port)
{
	struct pol_elem e;
	size_t i;
	int s;

	memset(&e, 0, sizeof(e));
	e.proto = port->proto;
	e.port = e.port_end = port->port;
	for (i = 0; i < ep->nips; i++) {
		e.ip = ep->ips[i];
		s = rule_set(c, gid, e.ip.family == AF_INET6 ? RK_N6 : RK_N4);
		if (s < 0 || push(&c->out->sets[s], &e) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* the ports of the pod that ingress rule gid names */
static int ingress_named(struct pol_rctx *c, uint32_t gid, const struct pol_endpoint *ep,
			 const struct pol_nport *ports, size_t nports)
{
	const struct pol_prule *r = c->rules[gid].r;
	size_t i, j;
	int ret;

	if (!r->nnamed || filled(c, gid, RK_N4))
		return 0;
	for (j = 0; j < r->nnamed; j++)
		for (i = 0; i < nports; i++)
			if (ports[i].proto == r->named[j].proto &&
			    !strcmp(ports[i].name, r->named[j].name) &&
			    (ret = emit_named(c, gid, ep, &ports[i])) < 0)
				return ret;
	return 0;
}

/* the ports of the pod that egress rules name, through the index */
static int egress_named(struct pol_rctx *c, const struct pol_endpoint *ep,
			const struct pol_nport *ports, size_t nports)
{
	size_t lo, hi, mid, i;
	uint32_t g;
	int r;

	for (i = 0; i < nports; i++) {
		for (lo = 0, hi = c->nnamed_out; lo < hi;) {
			mid = (lo + hi) / 2;
			if (nport_cmp(&c->named_out[mid], &ports[i]) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (; lo < c->nnamed_out && !nport_cmp(&c->named_out[lo], &ports[i]); lo++) {
			g = c->named_out[lo].gid;
			/* a rule whose peers are all selectors: only the pods they select (the
			 * peer loop has marked the rule's peer set when ep is one of them) */
			if (c->rules[g].r->named_to_peers &&
			    c->slots[c->sid[g * RK_COUNT + RK_A4]].gen != c->gen)
				continue;
			if ((r = emit_named(c, g, ep, &ports[i])) < 0)
				return r;
		}
	}
	return 0;
}

/* --- classes --------------------------------------------------------------------------- */

static int target_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* the class chain of targets (sorted here) in the output, unless there already; its name */
static int add_class(struct pol_rctx *c, enum pol_dir dir, char (*targets)[POL_NAME_MAX], size_t n,
		     char name[POL_NAME_MAX])
{
	struct pol_ruleset *o = c->out;
	struct pol_cchain *cc;
	char *joined, *w;
	size_t i;

	/* the name hashes every target: sized from the count, never cut (two classes that
	 * differ only past a cut would share one chain, one pod judged by the other's policies) */
	joined = malloc(n * (POL_NAME_MAX + 1) + 1);
	if (!joined)
		return -ENOMEM;
	qsort(targets, n, sizeof(*targets), target_cmp);
	for (i = 0, w = joined, *w = '\0'; i < n; i++)
		w += sprintf(w, "%s%s", i ? "," : "", targets[i]);
	strcpy(name, dir == POL_IN ? "ci-" : "ce-");
	pol_hex_digest(joined, (size_t)(w - joined), POL_ID_LEN, name + 3);
	free(joined);
	/* a fragment keeps its (at most two) classes unique; the full render merges later */
	for (i = 0; !c->full && i < o->ncchains; i++)
		if (!strcmp(o->cchains[i].name, name))
			return 0;
	if (vec_room(&o->cchains, &c->cchcap, o->ncchains, sizeof(*o->cchains), 8) < 0)
		return -ENOMEM;
	cc = &o->cchains[o->ncchains];
	memset(cc, 0, sizeof(*cc));
	snprintf(cc->name, sizeof(cc->name), "%s", name);
	cc->dir = dir;
	cc->targets = malloc(n * sizeof(*targets));
	if (!cc->targets)
		return -ENOMEM;
	memcpy(cc->targets, targets, n * sizeof(*targets));
	cc->ntargets = n;
	o->ncchains++;
	return 0;
}

static int emit_dispatch(struct pol_rctx *c, enum pol_dir dir, const struct pol_endpoint *ep,
			 char (*targets)[POL_NAME_MAX], size_t n)
{
	struct pol_elem e;
	size_t i;
	int s, r;

	if (!n)
		return 0; /* selected by no policy in that direction: not isolated */
	memset(&e, 0, sizeof(e));
	if ((r = add_class(c, dir, targets, n, e.chain)) < 0)
		return r;
	for (i = 0; i < ep->nips; i++) {
		e.ip = ep->ips[i];
		s = disp_set(c, dir, e.ip.family == AF_INET6);
		if (s < 0 || push(&c->out->sets[s], &e) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* a local endpoint's own policies: its classes and the named ports of their ingress rules */
static int own_policies(struct pol_rctx *c, const struct pol_endpoint *ep, const cJSON *labels,
			const struct pol_nport *ports, size_t nports)
{
	const struct pol_table *pols = &c->m->t[T_POL];
	char prefix[80], (*targets[2])[POL_NAME_MAX] = {NULL, NULL};
	size_t i, j, n[2] = {0, 0}, cap[2] = {0, 0};
	const struct pol_policy *p;
	int d, r = 0;

	snprintf(prefix, sizeof(prefix), "%s/", ep->ns);
	for (i = pol_table_lower(pols, prefix);
	     r == 0 && i < pols->n && !strncmp(pols->e[i].key, prefix, strlen(prefix)); i++) {
		p = pols->e[i].val;
		if (p->podsel && !pol_sel_match(p->podsel, labels))
			continue;
		for (d = 0; r == 0 && d < 2; d++) {
			if (!p->dir[d])
				continue;
			r = vec_room(&targets[d], &cap[d], n[d], sizeof(*targets[d]), 4);
			if (r == 0)
				pol_policy_chain(p, d, targets[d][n[d]++]);
		}
		for (j = 0; r == 0 && p->dir[POL_IN] && j < p->nrules[POL_IN]; j++)
			r = ingress_named(c, (uint32_t)(c->first[i][POL_IN] + j), ep, ports,
					  nports);
	}
	for (d = 0; r == 0 && d < 2; d++)
		r = emit_dispatch(c, d, ep, targets[d], n[d]);
	free(targets[0]);
	free(targets[1]);
	return r;
}

/* the Pod object of ep, or NULL */
static const cJSON *ep_pod(const struct pol_model *m, const struct pol_endpoint *ep)
{
	char key[sizeof(ep->ns) + sizeof(ep->pod) + 1];
	long at;

	if (!*ep->pod)
		return NULL;
	snprintf(key, sizeof(key), "%s/%s", ep->ns, ep->pod);
	at = pol_table_find(&m->t[T_POD], key);
	return at >= 0 ? m->t[T_POD].e[at].val : NULL;
}

static bool peer_match(struct pol_rctx *c, const struct pol_pref *pr, const cJSON *labels)
{
	if (!pr->pods)
		return true;
	if (pr->sel >= 0)
		return pol_memo_match(&c->memo, (uint32_t)pr->sel, labels);
	return pol_sel_match(pr->pods, labels);
}

static int fragment(struct pol_rctx *c, const struct pol_endpoint *ep)
{
	const cJSON *pod = ep_pod(c->m, ep), *labels;
	struct pol_nport *ports = NULL;
	const struct pol_pref *pr;
	struct pol_nsinfo *ns;
	size_t i, nports = 0;
	int r;

	/* the Pod object's labels win over those the ADD carried */
	labels = pod ? cJSON_GetObjectItemCaseSensitive(
			       cJSON_GetObjectItemCaseSensitive(pod, "metadata"), "labels")
		     : ep->labels;
	if ((r = ns_get(c, ep->ns, &ns)) < 0)
		return r;
	pol_memo_next(&c->memo);
	c->gen++;
	for (i = 0; i < ns->npeers; i++) {
		pr = &ns->peers[i];
		/* a set already filled by another peer or rule naming it: the same IPs */
		if (c->slots[c->sid[pr->gid * RK_COUNT + RK_A4]].gen == c->gen ||
		    !peer_match(c, pr, labels))
			continue;
		if ((r = emit_ips(c, pr->gid, ep)) < 0)
			return r;
	}
	if ((r = pod_ports(pod, &ports, &nports)) < 0)
		goto out;
	if (!strcmp(ep->node, c->m->node) && (r = own_policies(c, ep, labels, ports, nports)) < 0)
		goto out;
	r = egress_named(c, ep, ports, nports);
out:
	free(ports);
	return r;
}

/* --- the results ----------------------------------------------------------------------- */

static int elem_cmp(const void *a, const void *b, void *kind)
{
	return pol_elem_cmp(a, b, *(enum pol_set_kind *)kind);
}

static void sort_elems(struct pol_set *s)
{
	bool dispatch = s->kind == POL_SET_DISPATCH4 || s->kind == POL_SET_DISPATCH6;
	size_t i, w = 0;

	if (s->n < 2)
		return;
	for (i = 1; i < s->n && pol_elem_cmp(&s->e[i - 1], &s->e[i], s->kind) < 0; i++)
		;
	if (i < s->n) /* (endpoints come in address order: most sets are sorted already) */
		qsort_r(s->e, s->n, sizeof(*s->e), elem_cmp, &s->kind);
	for (i = 1; i < s->n; i++) {
		/* a map holds one verdict per IP: when two records claim one IP (one of them
		 * stale), the class first by name wins rather than the whole batch failing */
		if (dispatch ? !ip_eq(&s->e[w].ip, &s->e[i].ip)
			     : pol_elem_cmp(&s->e[w], &s->e[i], s->kind))
			s->e[++w] = s->e[i];
	}
	s->n = w + 1;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* sorts everything; classes by name, each once */
static void finish(struct pol_ruleset *o)
{
	size_t i, w = 0;

	for (i = 0; i < o->nsets; i++)
		sort_elems(&o->sets[i]);
	if (o->nsets)
		qsort(o->sets, o->nsets, sizeof(*o->sets), name_cmp);
	if (o->ncchains)
		qsort(o->cchains, o->ncchains, sizeof(*o->cchains), name_cmp);
	for (i = 1; i < o->ncchains; i++) {
		if (!strcmp(o->cchains[w].name, o->cchains[i].name))
			free(o->cchains[i].targets);
		else
			o->cchains[++w] = o->cchains[i];
	}
	o->ncchains = o->ncchains ? w + 1 : 0;
}

/* endpoints by their first address (so that most sets fill in order), then by record */
static int ep_addr_cmp(const void *a, const void *b)
{
	const struct pol_endpoint *x = *(const struct pol_endpoint *const *)a;
	const struct pol_endpoint *y = *(const struct pol_endpoint *const *)b;

	if (x->nips && y->nips && !ip_eq(&x->ips[0], &y->ips[0]))
		return ip_cmp(&x->ips[0], &y->ips[0]);
	return (int)!!x->nips - (int)!!y->nips ?: strcmp(x->cid, y->cid) ?: strcmp(x->ifname, y->ifname);
}

int pol_render(const struct pol_model *m, struct pol_ruleset *out, struct err *err)
{
	const struct pol_table *eps = &m->t[T_EP];
	const struct pol_endpoint **order;
	struct pol_rctx c;
	size_t i;
	int r;

	order = malloc((eps->n + 1) * sizeof(*order));
	r = pol_rctx_init(&c, m, out, true, err);
	if (r == 0 && !order)
		r = -ENOMEM;
	if (r == 0)
		r = pol_skeleton(&c);
	for (i = 0; r == 0 && i < eps->n; i++)
		order[i] = eps->e[i].val;
	if (r == 0 && eps->n)
		qsort(order, eps->n, sizeof(*order), ep_addr_cmp);
	for (i = 0; r == 0 && i < eps->n; i++)
		r = fragment(&c, order[i]);
	pol_rctx_done(&c);
	free(order);
	if (r < 0) {
		pol_ruleset_free(out);
		/* the skeleton may have said why already */
		return err->code ? r
				 : err_fail(err, CNI_ERR_INTERNAL, r,
					    "render the policy ruleset: %s", strerror(-r));
	}
	finish(out);
	return 0;
}

int pol_render_endpoint(const struct pol_model *m, const char *rel_key, struct pol_ruleset *out,
			struct err *err)
{
	const struct pol_table *eps = &m->t[T_EP];
	const char *rest = rel_key + strlen(POL_KEY_ENDPOINTS);
	struct pol_rctx c;
	long at = -1;
	int r;

	memset(out, 0, sizeof(*out));
	if (!strncmp(rel_key, POL_KEY_ENDPOINTS, strlen(POL_KEY_ENDPOINTS)))
		at = pol_table_find(eps, rest);
	if (at < 0)
		return err_fail(err, CNI_ERR_INTERNAL, -ENOENT, "%s: no such endpoint", rel_key);
	r = pol_rctx_init(&c, m, out, false, err);
	if (r == 0)
		r = fragment(&c, eps->e[at].val);
	pol_rctx_done(&c);
	if (r < 0) {
		pol_ruleset_free(out);
		return err->code ? r
				 : err_fail(err, CNI_ERR_INTERNAL, r, "render %s: %s", rel_key,
					    strerror(-r));
	}
	finish(out);
	return 0;
}
