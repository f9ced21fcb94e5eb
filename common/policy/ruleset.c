// SPDX-License-Identifier: Apache-2.0
/* The rendered ruleset as data: order of elements, equality of rules, lookups, freeing, and
 * its nft-like text (one line per set, element, chain and rule) that tests compare. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <linux/netfilter.h>

#include "base/ip.h"
#include "policy/policy.h"

void pol_ruleset_free(struct pol_ruleset *rs)
{
	size_t i;

	for (i = 0; i < rs->nsets; i++)
		free(rs->sets[i].e);
	for (i = 0; i < rs->npchains; i++)
		free(rs->pchains[i].rules);
	for (i = 0; i < rs->ncchains; i++)
		free(rs->cchains[i].targets);
	free(rs->sets);
	free(rs->pchains);
	free(rs->cchains);
	memset(rs, 0, sizeof(*rs));
}

static int num_cmp(long a, long b)
{
	return (a > b) - (a < b);
}

int pol_elem_cmp(const struct pol_elem *a, const struct pol_elem *b, enum pol_set_kind kind)
{
	int c;

	switch (kind) {
	case POL_SET_PORTS:
		return num_cmp(a->proto, b->proto) ?: num_cmp(a->port, b->port)
						       ?: num_cmp(a->port_end, b->port_end);
	case POL_SET_NET4:
	case POL_SET_NET6:
		return ip_cmp(&a->ip, &b->ip) ?: ip_cmp(&a->end, &b->end);
	case POL_SET_NAMED4:
	case POL_SET_NAMED6:
		return ip_cmp(&a->ip, &b->ip) ?: num_cmp(a->proto, b->proto)
						 ?: num_cmp(a->port, b->port);
	case POL_SET_DISPATCH4:
	case POL_SET_DISPATCH6:
		c = ip_cmp(&a->ip, &b->ip);
		return c ?: strcmp(a->chain, b->chain);
	case POL_SET_STAMP:
		return num_cmp(a->port, b->port);
	default:
		return ip_cmp(&a->ip, &b->ip);
	}
}

bool pol_rule_eq(const struct pol_rule *a, const struct pol_rule *b)
{
	return a->family == b->family && a->index == b->index &&
	       !strcmp(a->addr_set, b->addr_set) && !strcmp(a->port_set, b->port_set) &&
	       !strcmp(a->named_set, b->named_set);
}

const struct pol_set *pol_ruleset_set(const struct pol_ruleset *rs, const char *name)
{
	size_t lo = 0, hi = rs->nsets, mid;
	int c;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		c = strcmp(rs->sets[mid].name, name);
		if (!c)
			return &rs->sets[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* --- text ------------------------------------------------------------------------------ */

static const char *const kind_names[] = {
	[POL_SET_ADDR4] = "addr4",   [POL_SET_ADDR6] = "addr6",	    [POL_SET_NET4] = "net4",
	[POL_SET_NET6] = "net6",     [POL_SET_PORTS] = "ports",	    [POL_SET_NAMED4] = "named4",
	[POL_SET_NAMED6] = "named6", [POL_SET_DISPATCH4] = "vmap4", [POL_SET_DISPATCH6] = "vmap6",
	[POL_SET_STAMP] = "stamp",
};

static const char *proto_name(uint8_t p)
{
	return p == IPPROTO_TCP	   ? "tcp"
	       : p == IPPROTO_UDP  ? "udp"
	       : p == IPPROTO_SCTP ? "sctp"
				   : "?";
}

static void elem_text(FILE *f, const struct pol_elem *e, enum pol_set_kind kind)
{
	char a[IP_STRLEN], b[IP_STRLEN];

	switch (kind) {
	case POL_SET_NET4:
	case POL_SET_NET6:
		fprintf(f, "%s-%s", ip_fmt(&e->ip, a), ip_fmt(&e->end, b));
		break;
	case POL_SET_PORTS:
		fprintf(f, "%s . %u", proto_name(e->proto), e->port);
		if (e->port_end != e->port)
			fprintf(f, "-%u", e->port_end);
		break;
	case POL_SET_NAMED4:
	case POL_SET_NAMED6:
		fprintf(f, "%s . %s . %u", ip_fmt(&e->ip, a), proto_name(e->proto), e->port);
		break;
	case POL_SET_DISPATCH4:
	case POL_SET_DISPATCH6:
		fprintf(f, "%s : goto %s", ip_fmt(&e->ip, a), e->chain);
		break;
	case POL_SET_STAMP:
		fprintf(f, "%u", e->port);
		break;
	default:
		fprintf(f, "%s", ip_fmt(&e->ip, a));
	}
}

static void rule_text(FILE *f, const struct pol_pchain *c, const struct pol_rule *r)
{
	fprintf(f, "rule %s %s[%u] %s", c->name, c->dir == POL_IN ? "ingress" : "egress", r->index,
		r->family == NFPROTO_IPV4   ? "ip"
		: r->family == NFPROTO_IPV6 ? "ip6"
					    : "inet");
	if (*r->addr_set)
		fprintf(f, " %s @%s", c->dir == POL_IN ? "saddr" : "daddr", r->addr_set);
	if (*r->port_set)
		fprintf(f, " l4proto.dport @%s", r->port_set);
	if (*r->named_set)
		fprintf(f, " daddr.l4proto.dport @%s", r->named_set);
	fprintf(f, " accept\n");
}

char *pol_ruleset_text(const struct pol_ruleset *rs)
{
	const struct pol_set *s;
	char *buf = NULL;
	size_t i, j, len;
	FILE *f;

	f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	if (*rs->stamp)
		fprintf(f, "stamp %s\n", rs->stamp);
	for (i = 0; i < rs->nsets; i++) {
		s = &rs->sets[i];
		fprintf(f, "set %s %s\n", s->name, kind_names[s->kind]);
		for (j = 0; j < s->n; j++) {
			fprintf(f, "elem %s ", s->name);
			elem_text(f, &s->e[j], s->kind);
			fputc('\n', f);
		}
	}
	for (i = 0; i < rs->npchains; i++) {
		fprintf(f, "chain %s %s %s/%s\n", rs->pchains[i].name,
			rs->pchains[i].dir == POL_IN ? "ingress" : "egress", rs->pchains[i].ns,
			rs->pchains[i].policy);
		for (j = 0; j < rs->pchains[i].nrules; j++)
			rule_text(f, &rs->pchains[i], &rs->pchains[i].rules[j]);
	}
	for (i = 0; i < rs->ncchains; i++) {
		fprintf(f, "class %s %s", rs->cchains[i].name,
			rs->cchains[i].dir == POL_IN ? "ingress" : "egress");
		for (j = 0; j < rs->cchains[i].ntargets; j++)
			fprintf(f, "%s%s", j ? "," : " ", rs->cchains[i].targets[j]);
		fputc('\n', f);
	}
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}
