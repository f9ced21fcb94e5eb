// SPDX-License-Identifier: Apache-2.0
/* pnfttool: drives common/policy/pnft.c from tests/netns/pnft.sh with rulesets written by
 * hand (no renderer), in the current netns. A ruleset is JSON:
 *   {"stamp": "s1",
 *    "sets": [{"name": "a4", "kind": "addr4", "elems": ["10.1.0.2"]},
 *             {"name": "b4", "kind": "net4", "elems": ["10.1.0.0/25", "10.1.1.1-10.1.1.9"]},
 *             {"name": "p", "kind": "ports", "elems": ["tcp 80", "udp 80-81"]},
 *             {"name": "n4", "kind": "named4", "elems": ["10.1.0.2 tcp 80"]},
 *             {"name": "ing4", "kind": "dispatch4", "elems": ["10.1.0.2 ci-x"]}],
 *    "pchains": [{"name": "pi-1", "dir": "in", "ns": "x", "policy": "allow",
 *                 "rules": [{"family": 4, "addr": "a4", "ports": "p", "named": "",
 *                            "index": 0}]}],
 *    "cchains": [{"name": "ci-x", "dir": "in", "targets": ["pi-1"]}]}
 * Usage: pnfttool -h */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <libmnl/libmnl.h>
#include <cjson/cJSON.h>

#include "base/err.h"
#include "base/ip.h"
#include "nft/nft.h"
#include "policy/pnft.h"
#include "policy/policy.h"

static const char usage[] =
	"usage: pnfttool [-r LOG_RATE] [-g GROUP] COMMAND ARGS   (FILE '-': stdin)\n"
	"  replace FILE          pnft_replace, one batch\n"
	"  diff OLD NEW          pnft_diff from OLD to NEW, one batch\n"
	"  frag-add FILE         pnft_frag_add\n"
	"  frag-del FILE         pnft_frag_del\n"
	"  check FILE            pnft_frag_check: exit 1 and the message when something is missing\n"
	"  scrub IP              pnft_scrub_ip\n"
	"  stamp                 pnft_read_stamp: {\"exists\":bool,\"stamp\":\"...\"}\n"
	"  counters              pnft_counters: [{\"chain\",\"comment\",\"packets\",\"bytes\"}]\n"
	"  class CHAIN           pnft_class_policies\n"
	"  lock DIR MS [HOLD_MS] pol_lock with a timeout of MS, held HOLD_MS, then released\n"
	"  nflog GROUP MS        listen to NFLOG GROUP: \"ready\", then the prefix of the first\n"
	"                        message (exit 0), or exit 1 after MS without one\n";

/* --- The JSON description ------------------------------------------------------------- */

static const char *const kinds[] = {
	[POL_SET_ADDR4] = "addr4",	   [POL_SET_ADDR6] = "addr6",
	[POL_SET_NET4] = "net4",	   [POL_SET_NET6] = "net6",
	[POL_SET_PORTS] = "ports",	   [POL_SET_NAMED4] = "named4",
	[POL_SET_NAMED6] = "named6",	   [POL_SET_DISPATCH4] = "dispatch4",
	[POL_SET_DISPATCH6] = "dispatch6", [POL_SET_STAMP] = "stamp",
};

static void rs_free(struct pol_ruleset *rs)
{
	for (size_t i = 0; i < rs->nsets; i++)
		free(rs->sets[i].e);
	for (size_t i = 0; i < rs->npchains; i++)
		free(rs->pchains[i].rules);
	for (size_t i = 0; i < rs->ncchains; i++)
		free(rs->cchains[i].targets);
	free(rs->sets);
	free(rs->pchains);
	free(rs->cchains);
	memset(rs, 0, sizeof(*rs));
}

static int bad(const char *what, const char *v)
{
	fprintf(stderr, "pnfttool: bad %s: %s\n", what, v ? v : "(none)");
	return -EINVAL;
}

static int proto_parse(const char *s, uint8_t *p)
{
	if (!strcmp(s, "tcp"))
		*p = IPPROTO_TCP;
	else if (!strcmp(s, "udp"))
		*p = IPPROTO_UDP;
	else if (!strcmp(s, "sctp"))
		*p = IPPROTO_SCTP;
	else
		return -EINVAL;
	return 0;
}

static int elem_parse(enum pol_set_kind kind, const char *s, struct pol_elem *e)
{
	char a[128], b[128], c[128];
	struct ip_prefix p;
	unsigned int lo, hi;
	int n;

	memset(e, 0, sizeof(*e));
	n = sscanf(s, "%127s %127s %127s", a, b, c);
	switch (kind) {
	case POL_SET_NET4:
	case POL_SET_NET6:
		if (strchr(a, '-')) {
			*strchr(a, '-') = ' ';
			if (sscanf(a, "%127s %127s", b, c) != 2 || ip_parse(b, &e->ip) < 0 ||
			    ip_parse(c, &e->end) < 0)
				return bad("range", s);
		} else {
			if (ip_or_prefix_parse(a, &p) < 0)
				return bad("prefix", s);
			e->ip = ip_prefix_network(&p);
			e->end = ip_prefix_broadcast(&p);
		}
		return 0;
	case POL_SET_PORTS:
		if (n != 2 || proto_parse(a, &e->proto) < 0)
			return bad("ports", s);
		n = sscanf(b, "%u-%u", &lo, &hi);
		if (n < 1 || lo > 65535 || (n == 2 && (hi > 65535 || hi < lo)))
			return bad("ports", s);
		e->port = (uint16_t)lo;
		e->port_end = (uint16_t)(n == 2 ? hi : lo);
		return 0;
	case POL_SET_NAMED4:
	case POL_SET_NAMED6:
		if (n != 3 || ip_parse(a, &e->ip) < 0 || proto_parse(b, &e->proto) < 0 ||
		    sscanf(c, "%u", &lo) != 1 || lo > 65535)
			return bad("named port", s);
		e->port = e->port_end = (uint16_t)lo;
		return 0;
	case POL_SET_DISPATCH4:
	case POL_SET_DISPATCH6:
		if (n != 2 || ip_parse(a, &e->ip) < 0)
			return bad("dispatch element", s);
		snprintf(e->chain, sizeof(e->chain), "%.*s", POL_NAME_MAX - 1, b);
		return 0;
	default:
		if (n != 1 || ip_parse(a, &e->ip) < 0)
			return bad("address", s);
		return 0;
	}
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : "";
}

static int set_parse(const cJSON *j, struct pol_set *s)
{
	const cJSON *x, *elems = cJSON_GetObjectItemCaseSensitive(j, "elems");
	const char *kind = str(j, "kind");
	size_t k;

	snprintf(s->name, sizeof(s->name), "%s", str(j, "name"));
	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		if (!strcmp(kind, kinds[k]))
			break;
	if (k == sizeof(kinds) / sizeof(kinds[0]))
		return bad("kind", kind);
	s->kind = (enum pol_set_kind)k;
	s->n = (size_t)cJSON_GetArraySize(elems);
	s->e = calloc(s->n ? s->n : 1, sizeof(*s->e));
	if (!s->e)
		return -ENOMEM;
	k = 0;
	cJSON_ArrayForEach(x, elems) {
		if (!cJSON_IsString(x) || elem_parse(s->kind, x->valuestring, &s->e[k++]) < 0)
			return bad("element", cJSON_IsString(x) ? x->valuestring : NULL);
	}
	return 0;
}

static int pchain_parse(const cJSON *j, struct pol_pchain *c)
{
	const cJSON *x, *rules = cJSON_GetObjectItemCaseSensitive(j, "rules");
	size_t k = 0;

	snprintf(c->name, sizeof(c->name), "%s", str(j, "name"));
	c->dir = !strcmp(str(j, "dir"), "out") ? POL_OUT : POL_IN;
	snprintf(c->ns, sizeof(c->ns), "%s", str(j, "ns"));
	snprintf(c->policy, sizeof(c->policy), "%s", str(j, "policy"));
	c->nrules = (size_t)cJSON_GetArraySize(rules);
	c->rules = calloc(c->nrules ? c->nrules : 1, sizeof(*c->rules));
	if (!c->rules)
		return -ENOMEM;
	cJSON_ArrayForEach(x, rules) {
		struct pol_rule *r = &c->rules[k++];
		int fam = cJSON_GetObjectItemCaseSensitive(x, "family")
				  ? cJSON_GetObjectItemCaseSensitive(x, "family")->valueint
				  : 0;

		r->family = fam == 4 ? NFPROTO_IPV4 : fam == 6 ? NFPROTO_IPV6 : 0;
		snprintf(r->addr_set, sizeof(r->addr_set), "%s", str(x, "addr"));
		snprintf(r->port_set, sizeof(r->port_set), "%s", str(x, "ports"));
		snprintf(r->named_set, sizeof(r->named_set), "%s", str(x, "named"));
		if (cJSON_GetObjectItemCaseSensitive(x, "index"))
			r->index = (uint16_t)cJSON_GetObjectItemCaseSensitive(x, "index")->valueint;
	}
	return 0;
}

static int cchain_parse(const cJSON *j, struct pol_cchain *c)
{
	const cJSON *x, *t = cJSON_GetObjectItemCaseSensitive(j, "targets");
	size_t k = 0;

	snprintf(c->name, sizeof(c->name), "%s", str(j, "name"));
	c->dir = !strcmp(str(j, "dir"), "out") ? POL_OUT : POL_IN;
	c->ntargets = (size_t)cJSON_GetArraySize(t);
	c->targets = calloc(c->ntargets ? c->ntargets : 1, sizeof(*c->targets));
	if (!c->targets)
		return -ENOMEM;
	cJSON_ArrayForEach(x, t)
		snprintf(c->targets[k++], sizeof(*c->targets), "%s",
			 cJSON_IsString(x) ? x->valuestring : "");
	return 0;
}

static char *slurp(const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	size_t n = 0, cap = 0, got;
	char *buf = NULL, *p;

	if (!f)
		return NULL;
	do {
		if (n + 4096 + 1 > cap) {
			cap = cap * 2 + 8192;
			p = realloc(buf, cap);
			if (!p) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = p;
		}
		got = fread(buf + n, 1, 4096, f);
		n += got;
	} while (got > 0);
	if (buf)
		buf[n] = '\0';
	if (f != stdin)
		fclose(f);
	return buf;
}

static int rs_load(const char *path, struct pol_ruleset *rs)
{
	char *text = slurp(path);
	const cJSON *x;
	cJSON *j;
	size_t k;
	int r = 0;

	memset(rs, 0, sizeof(*rs));
	if (!text)
		return bad("file", path);
	j = cJSON_Parse(text);
	free(text);
	if (!j)
		return bad("JSON in", path);
	snprintf(rs->stamp, sizeof(rs->stamp), "%s", str(j, "stamp"));
	rs->nsets = (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "sets"));
	rs->npchains = (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "pchains"));
	rs->ncchains = (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "cchains"));
	rs->sets = calloc(rs->nsets + 1, sizeof(*rs->sets));
	rs->pchains = calloc(rs->npchains + 1, sizeof(*rs->pchains));
	rs->cchains = calloc(rs->ncchains + 1, sizeof(*rs->cchains));
	if (!rs->sets || !rs->pchains || !rs->cchains)
		r = -ENOMEM;
	k = 0;
	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(j, "sets"))
		if (r >= 0)
			r = set_parse(x, &rs->sets[k++]);
	k = 0;
	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(j, "pchains"))
		if (r >= 0)
			r = pchain_parse(x, &rs->pchains[k++]);
	k = 0;
	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(j, "cchains"))
		if (r >= 0)
			r = cchain_parse(x, &rs->cchains[k++]);
	cJSON_Delete(j);
	if (r < 0)
		rs_free(rs);
	return r;
}

/* --- Commands ------------------------------------------------------------------------- */

static int fail(const struct nft *nft, const char *what, int r)
{
	fprintf(stderr, "pnfttool: %s: %s: %s\n", what, strerror(-r), nft_errmsg(nft));
	return 1;
}

enum op { OP_REPLACE, OP_FRAG_ADD, OP_FRAG_DEL };

static int apply(struct nft *nft, enum op op, const char *path, const struct pnft_opts *o)
{
	struct pol_ruleset rs;
	int r;

	if (rs_load(path, &rs) < 0)
		return 2;
	nft_batch_begin(nft);
	r = op == OP_REPLACE	? pnft_replace(nft, &rs, o)
	    : op == OP_FRAG_ADD ? pnft_frag_add(nft, &rs, o)
				: pnft_frag_del(nft, &rs);
	if (r >= 0)
		r = nft_batch_commit(nft);
	rs_free(&rs);
	return r < 0 ? fail(nft, "commit", r) : 0;
}

static int cmd_diff(struct nft *nft, const char *a, const char *b, const struct pnft_opts *o)
{
	struct pol_ruleset old, new;
	int r;

	if (rs_load(a, &old) < 0)
		return 2;
	if (rs_load(b, &new) < 0) {
		rs_free(&old);
		return 2;
	}
	nft_batch_begin(nft);
	r = pnft_diff(nft, &old, &new, o);
	if (r >= 0)
		r = nft_batch_commit(nft);
	rs_free(&old);
	rs_free(&new);
	return r < 0 ? fail(nft, "commit", r) : 0;
}

static int cmd_check(struct nft *nft, const char *path)
{
	struct pol_ruleset rs;
	struct err err = {0};
	int r;

	if (rs_load(path, &rs) < 0)
		return 2;
	r = pnft_frag_check(nft, &rs, &err);
	rs_free(&rs);
	if (r < 0) {
		printf("%s\n", err.msg);
		return 1;
	}
	return 0;
}

static int cmd_scrub(struct nft *nft, const char *s)
{
	struct ip_addr ip;
	int r;

	if (ip_parse(s, &ip) < 0) {
		(void)bad("address", s);
		return 2;
	}
	nft_batch_begin(nft);
	r = pnft_scrub_ip(nft, &ip);
	if (r >= 0)
		r = nft_batch_commit(nft);
	return r < 0 ? fail(nft, "scrub", r) : 0;
}

static int cmd_stamp(struct nft *nft)
{
	char stamp[POL_STAMP_MAX];
	cJSON *j;
	char *t;
	int r = pnft_read_stamp(nft, stamp);

	if (r < 0)
		return fail(nft, "stamp", r);
	j = cJSON_CreateObject();
	cJSON_AddBoolToObject(j, "exists", r == 1);
	cJSON_AddStringToObject(j, "stamp", stamp);
	t = cJSON_PrintUnformatted(j);
	printf("%s\n", t);
	free(t);
	cJSON_Delete(j);
	return 0;
}

static int cmd_counters(struct nft *nft)
{
	struct pnft_counter *c;
	cJSON *a, *o;
	size_t n;
	char *t;
	int r = pnft_counters(nft, &c, &n);

	if (r < 0)
		return fail(nft, "counters", r);
	a = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "chain", c[i].chain);
		cJSON_AddStringToObject(o, "comment", c[i].comment);
		cJSON_AddNumberToObject(o, "packets", (double)c[i].packets);
		cJSON_AddNumberToObject(o, "bytes", (double)c[i].bytes);
		cJSON_AddItemToArray(a, o);
	}
	t = cJSON_PrintUnformatted(a);
	printf("%s\n", t);
	free(t);
	cJSON_Delete(a);
	free(c);
	return 0;
}

static int cmd_class(struct nft *nft, const char *chain)
{
	char out[1024];
	int r = pnft_class_policies(nft, chain, out, sizeof(out));

	if (r < 0)
		return fail(nft, "class", r);
	printf("%s\n", out);
	return 0;
}

static int cmd_lock(const char *dir, int ms, int hold_ms)
{
	struct err err = {0};
	int fd = pol_lock(dir, ms, &err);

	if (fd < 0) {
		printf("%s\n", err.msg);
		return 1;
	}
	printf("locked\n");
	fflush(stdout);
	usleep((useconds_t)hold_ms * 1000);
	pol_unlock(fd);
	return 0;
}

/* --- NFLOG: the class chains' drop logs, without tcpdump --------------------------------- */

static int nflog_prefix_cb(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == NFULA_PREFIX && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0)
		*(const char **)data = mnl_attr_get_str(a);
	return MNL_CB_OK;
}

static int cmd_nflog(uint16_t group, int ms)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nfulnl_msg_config_cmd cmd = {NFULNL_CFG_CMD_BIND};
	struct nfulnl_msg_config_mode mode = {.copy_mode = NFULNL_COPY_META};
	struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
	struct nlmsghdr *nlh;
	struct nfgenmsg *g;
	const char *prefix;
	struct pollfd p;
	ssize_t n;

	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		perror("pnfttool: nflog socket");
		return 1;
	}
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = AF_UNSPEC;
	g->version = NFNETLINK_V0;
	g->res_id = htons(group);
	mnl_attr_put(nlh, NFULA_CFG_CMD, sizeof(cmd), &cmd);
	mnl_attr_put(nlh, NFULA_CFG_MODE, sizeof(mode), &mode);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		perror("pnfttool: nflog bind");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	p.fd = mnl_socket_get_fd(nl);
	p.events = POLLIN;
	while (poll(&p, 1, ms) > 0) {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (nlh = (struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, (int)n);
		     nlh = mnl_nlmsg_next(nlh, (int *)&n)) {
			if ((nlh->nlmsg_type & 0xff) != NFULNL_MSG_PACKET)
				continue;
			prefix = NULL;
			mnl_attr_parse(nlh, sizeof(struct nfgenmsg), nflog_prefix_cb, &prefix);
			printf("%s\n", prefix ? prefix : "");
			mnl_socket_close(nl);
			return 0;
		}
	}
	mnl_socket_close(nl);
	return 1;
}

int main(int argc, char **argv)
{
	struct pnft_opts o = {POL_NFLOG_GROUP, PNFT_LOG_RATE};
	struct nft nft;
	int opt, r;

	while ((opt = getopt(argc, argv, "hr:g:")) != -1) {
		switch (opt) {
		case 'r':
			o.log_rate = (uint32_t)atoi(optarg);
			break;
		case 'g':
			o.nflog_group = (uint16_t)atoi(optarg);
			break;
		default:
			fputs(usage, opt == 'h' ? stdout : stderr);
			return opt == 'h' ? 0 : 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		fputs(usage, stderr);
		return 2;
	}
	if (!strcmp(argv[0], "nflog") && argc == 3)
		return cmd_nflog((uint16_t)atoi(argv[1]), atoi(argv[2]));
	if (!strcmp(argv[0], "lock") && argc >= 3)
		return cmd_lock(argv[1], atoi(argv[2]), argc > 3 ? atoi(argv[3]) : 0);
	r = nft_open(&nft, -1);
	if (r < 0) {
		fprintf(stderr, "pnfttool: nft_open: %s\n", strerror(-r));
		return 1;
	}
	if (!strcmp(argv[0], "replace") && argc == 2)
		r = apply(&nft, OP_REPLACE, argv[1], &o);
	else if (!strcmp(argv[0], "frag-add") && argc == 2)
		r = apply(&nft, OP_FRAG_ADD, argv[1], &o);
	else if (!strcmp(argv[0], "frag-del") && argc == 2)
		r = apply(&nft, OP_FRAG_DEL, argv[1], &o);
	else if (!strcmp(argv[0], "diff") && argc == 3)
		r = cmd_diff(&nft, argv[1], argv[2], &o);
	else if (!strcmp(argv[0], "check") && argc == 2)
		r = cmd_check(&nft, argv[1]);
	else if (!strcmp(argv[0], "scrub") && argc == 2)
		r = cmd_scrub(&nft, argv[1]);
	else if (!strcmp(argv[0], "stamp") && argc == 1)
		r = cmd_stamp(&nft);
	else if (!strcmp(argv[0], "counters") && argc == 1)
		r = cmd_counters(&nft);
	else if (!strcmp(argv[0], "class") && argc == 2)
		r = cmd_class(&nft, argv[1]);
	else {
		fputs(usage, stderr);
		r = 2;
	}
	nft_close(&nft);
	return r;
}
