/* SPDX-License-Identifier: Apache-2.0 */
/* sluicectl node up|down: the one-shot form of the agent's lease work. up acquires (or
 * reuses) this node's subnet lease, writes subnet.env, the lease state and the conflist,
 * prints the lease and exits; down releases the lease and removes those files. The flags
 * are flanneld's where it has one, so several simulated nodes on one machine keep apart. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "store/store.h"
#include "subnet/files.h"
#include "subnet/ident.h"
#include "subnet/lease.h"
#include "subnet/netconf.h"
#include "subnet/node.h"
#include "sluicectl.h"

static const char node_usage[] =
	"Usage: sluicectl [GLOBAL FLAGS] node up [FLAGS]\n"
	"       sluicectl [GLOBAL FLAGS] node down [FLAGS]\n"
	"\n"
	"up: acquires this node's subnet lease (its own lease when one holds its public IP,\n"
	"else the previous subnet of --subnet-file when free, else a random free subnet),\n"
	"writes subnet.env, the lease state (<subnet-file without .env>.lease.json) and the\n"
	"conflist <cni-conf-dir>/" SUBNET_CONFLIST_NAME ", prints the lease and exits.\n"
	"down: releases the lease that holds this node's public IP and removes those files.\n"
	"\n"
	"  --iface IF            the underlay interface (default: the one holding\n"
	"                        --public-ip, else the one of the IPv4 default route)\n"
	"  --public-ip IP        the node's IPv4 address (default: IF's first global one)\n"
	"  --public-ipv6 IP      the node's IPv6 address, with EnableIPv6 (default: IF's)\n"
	"  --subnet-file F       default " SUBNET_ENV_DEFAULT "\n"
	"  --cni-conf-dir D      default " SUBNET_CNI_DIR_DEFAULT "\n"
	"  --cni-conf-template T a conflist whose plugin with \"ipam\" gets the lease (up)\n"
	"  --ttl S               the lease's time to live in seconds (up; default 86400)\n"
	"  --node-name N         recorded in the lease as NodeName (default: the hostname)\n";

struct node_opts {
	const char *iface, *subnet_file, *cni_dir, *tmpl;
	char node_name[SUBNET_NODE_NAME_MAX + 1];
	struct ip_addr pub, pub6;
	int64_t ttl;
};

static bool name_ok(const char *s, size_t max)
{
	return *s && strlen(s) <= max &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") ==
		       strlen(s);
}

static int parse_ip_flag(const char *verb, const char *flag, const char *arg, int family,
			 struct ip_addr *ret)
{
	if (ip_parse(arg, ret) < 0 || ret->family != family)
		return ctl_usage(verb, "%s '%s': not an %s address", flag, arg,
				 family == AF_INET ? "IPv4" : "IPv6");
	return CTL_OK;
}

static int parse_opt(const char *verb, int o, const char *arg, struct node_opts *n)
{
	char *end;
	long long v;

	switch (o) {
	case 'i':
		if (!name_ok(arg, IFNAMSIZ - 1))
			return ctl_usage(verb, "--iface '%s': not an interface name", arg);
		n->iface = arg;
		return CTL_OK;
	case 'p':
		return parse_ip_flag(verb, "--public-ip", arg, AF_INET, &n->pub);
	case '6':
		return parse_ip_flag(verb, "--public-ipv6", arg, AF_INET6, &n->pub6);
	case 's':
	case 'c':
		if (!*arg)
			return ctl_usage(verb, "%s needs a path",
					 o == 's' ? "--subnet-file" : "--cni-conf-dir");
		*(o == 's' ? &n->subnet_file : &n->cni_dir) = arg;
		return CTL_OK;
	case 'T':
		n->tmpl = arg;
		return CTL_OK;
	case 't':
		v = strtoll(arg, &end, 10);
		if (*arg < '0' || *arg > '9' || *end || v < 1 || v > 315360000)
			return ctl_usage(verb, "--ttl '%s': needs seconds between 1 and 315360000",
					 arg);
		n->ttl = v;
		return CTL_OK;
	case 'n':
		if (!name_ok(arg, SUBNET_NODE_NAME_MAX))
			return ctl_usage(
				verb,
				"--node-name '%s': not a node name (letters, digits, '.', '-', '_')",
				arg);
		snprintf(n->node_name, sizeof(n->node_name), "%s", arg);
		return CTL_OK;
	}
	return CTL_USAGE;
}

/* Returns CTL_OK, CTL_USAGE, or -1 after printing the help */
static int parse_flags(const char *verb, int argc, char **argv, struct node_opts *n)
{
	static const struct option opts[] = {
		{"iface", required_argument, NULL, 'i'},
		{"public-ip", required_argument, NULL, 'p'},
		{"public-ipv6", required_argument, NULL, '6'},
		{"subnet-file", required_argument, NULL, 's'},
		{"cni-conf-dir", required_argument, NULL, 'c'},
		{"cni-conf-template", required_argument, NULL, 'T'},
		{"ttl", required_argument, NULL, 't'},
		{"node-name", required_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int o, r;

	n->subnet_file = SUBNET_ENV_DEFAULT;
	n->cni_dir = SUBNET_CNI_DIR_DEFAULT;
	while ((o = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		if (o == 'h')
			return fputs(node_usage, stdout), -1;
		if (o == ':')
			return ctl_usage(verb, "%s needs a value", argv[optind - 1]);
		if (o == '?')
			return ctl_usage(verb, "unknown flag '%s'", argv[optind - 1]);
		if ((o == 'T' || o == 't') && !strcmp(verb, "node down"))
			return ctl_usage(verb, "unknown flag '%s'",
					 o == 't' ? "--ttl" : "--cni-conf-template");
		r = parse_opt(verb, o, optarg, n);
		if (r != CTL_OK)
			return r;
	}
	if (optind < argc)
		return ctl_usage(verb, "unexpected argument '%s'", argv[optind]);
	if (!n->node_name[0] && gethostname(n->node_name, sizeof(n->node_name) - 1) < 0)
		n->node_name[0] = '\0';
	return CTL_OK;
}

static int print_lease(const struct ctl *c, const struct subnet_lease *l)
{
	if (c->output == CTL_OUT_JSON) {
		cJSON *j = ctl_lease_json(l);

		ctl_print_json(j);
		cJSON_Delete(j);
	} else {
		struct ctl_table *t = ctl_table_new(5, ctl_lease_header);

		ctl_lease_row(t, l);
		ctl_table_print(t);
	}
	return CTL_OK;
}

static void node_opts(const struct ctl *c, const struct node_opts *n, struct subnet_node_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->iface = n->iface;
	o->pub = n->pub;
	o->pub6 = n->pub6;
	o->subnet_file = n->subnet_file;
	o->cni_dir = n->cni_dir;
	o->ttl = n->ttl;
	o->node_name = n->node_name;
	o->store_url = store_url(c->store);
	o->prefix = c->prefix;
}

static int node_up(struct ctl *c, const struct node_opts *n)
{
	struct subnet_node_opts o;
	struct subnet_conf conf;
	struct subnet_lease l = {0};
	struct subnet_ident id;
	char *tmpl = NULL, *check = NULL;
	struct err e = {0};
	size_t tlen = 0;
	int r;

	if (ctl_load_config(c, &conf) != CTL_OK)
		return CTL_ERROR;
	/* a template that cannot take the lease is refused before the lease is taken */
	if (n->tmpl &&
	    (!(tmpl = ctl_read_file(n->tmpl, &tlen)) ||
	     !(check = subnet_conflist_text(&conf, &l, 0, n->subnet_file, tmpl, tlen, NULL, &e)))) {
		bool read = tmpl; /* when it was read, the template itself was refused */

		subnet_conf_done(&conf);
		free(tmpl);
		return read ? ctl_error(&e) : CTL_ERROR;
	}
	free(check);
	node_opts(c, n, &o);
	o.tmpl = tmpl;
	o.tmpl_len = tlen;
	r = subnet_node_acquire(c->store, &conf, &o, &l, &id, &e);
	if (r >= 0)
		r = subnet_node_write_files(&conf, &o, &l, &id, &e);
	subnet_conf_done(&conf);
	free(tmpl);
	if (r >= 0)
		print_lease(c, &l);
	subnet_lease_done(&l);
	return r < 0 ? ctl_error(&e) : CTL_OK;
}

static int node_down(struct ctl *c, const struct node_opts *n)
{
	struct subnet_node_opts o;
	struct subnet_lease l = {0};
	struct subnet_ident id;
	struct err e = {0}, fe = {0};
	int r, st = CTL_OK;

	/* ctl_node() opened the store. Releasing needs only the public IP: given, it is used
	 * as it is (the node may have lost its interface or default route by now). */
	if (n->pub.family && !n->iface) {
		memset(&id, 0, sizeof(id));
		id.public_ip = n->pub;
		r = 0;
	} else {
		r = subnet_ident_find(n->iface, &n->pub, NULL, false, &id, &e);
	}
	if (r >= 0)
		r = subnet_find_own(c->store, c->prefix, &id.public_ip, &l, &e);
	/* the list left an etcd lease's time left unknown: shown as up showed it */
	if (r > 0 && (r = subnet_lease_ttl(c->store, &l, &e)) == 0)
		r = subnet_release(c->store, &l, &e);
	if (r < 0)
		st = ctl_error(&e);
	/* the files go even when the store had no lease any more (down is idempotent) */
	node_opts(c, n, &o);
	if (st == CTL_OK) {
		if (subnet_node_remove_files(&o, &fe) < 0)
			st = ctl_error(&fe);
		else if (r > 0)
			print_lease(c, &l);
		else
			fprintf(stderr, "sluicectl: no lease held by %s (files removed)\n",
				ip_fmt(&id.public_ip, (char[IP_STRLEN]){0}));
	}
	subnet_lease_done(&l);
	return st;
}

int ctl_node(struct ctl *c, int argc, char **argv)
{
	struct node_opts n = {0};
	const char *verb;
	int r;

	optind = 0;
	opterr = 0;
	if (argc < 2)
		return ctl_usage("node", "needs a subverb: up or down");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return fputs(node_usage, stdout), CTL_OK;
	if (strcmp(argv[1], "up") && strcmp(argv[1], "down"))
		return ctl_usage("node", "unknown subverb '%s' (up or down)", argv[1]);
	verb = argv[1][0] == 'u' ? "node up" : "node down";
	r = parse_flags(verb, argc - 1, argv + 1, &n);
	if (r < 0)
		return CTL_OK;
	if (r != CTL_OK)
		return r;
	if (!ctl_store(c))
		return CTL_ERROR;
	return argv[1][0] == 'u' ? node_up(c, &n) : node_down(c, &n);
}
