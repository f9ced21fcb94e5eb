/* SPDX-License-Identifier: Apache-2.0 */
/* sluicectl: what every verb's file shares. One file per verb (config.c, node.c, leases.c,
 * apply.c for apply/delete/get); main.c parses the global flags and dispatches. */
#ifndef SLUICECTL_H
#define SLUICECTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cJSON;
struct err;
struct store;

#define CTL_DEFAULT_PREFIX "/sluice/network"

/* Exit statuses: success, an error (printed on stderr), bad usage (printed with the usage) */
enum { CTL_OK = 0, CTL_ERROR = 1, CTL_USAGE = 2 };

enum ctl_output { CTL_OUT_TABLE, CTL_OUT_JSON, CTL_OUT_YAML /* get only */ };

struct ctl {
	const char *store_url; /* --store URL, else $SLUICE_STORE, else the default dir:// */
	const char *prefix; /* --prefix, default CTL_DEFAULT_PREFIX; never ends in '/' */
	enum ctl_output output; /* -o table|json (get: |yaml) */
	struct store *store; /* opened by ctl_store() on first use */
};

/* The verbs: argv[0] is the verb's name; argv[1..] its own arguments and flags. Each
 * answers --help (usage on stdout, status 0) and returns CTL_OK, CTL_ERROR or CTL_USAGE. */
int ctl_config(struct ctl *c, int argc, char **argv); /* config set -f FILE | config get */
int ctl_node(struct ctl *c, int argc, char **argv); /* node up | node down */
int ctl_leases(struct ctl *c, int argc, char **argv); /* leases */
int ctl_apply(struct ctl *c, int argc, char **argv); /* apply -f FILE|- */
int ctl_delete(struct ctl *c, int argc, char **argv); /* delete -f FILE|- | delete KIND NS/NAME */
int ctl_get(struct ctl *c, int argc, char **argv); /* get KIND [NS/NAME] */
int ctl_store_verb(struct ctl *c, int argc, char **argv); /* store get|put|del|list|watch|compact */
int ctl_status(struct ctl *c, int argc, char **argv); /* status */
int ctl_wait(struct ctl *c, int argc, char **argv); /* wait [--revision N] [--node N] */
int ctl_policy(struct ctl *c, int argc, char **argv); /* policy stats */
int ctl_drops(struct ctl *c, int argc, char **argv); /* drops [--follow | --listen] */
/* status's node view (status_node.c) for the node whose subnet.env is subnet_file: added to
 * out as "node" (-o json), else printed as tables. Without a lease state beside it, nothing
 * unless given (then an error). store_ok: the store answered (peers compared). Returns
 * CTL_OK or CTL_ERROR after printing why. */
int ctl_status_node(struct ctl *c, const char *subnet_file, bool given, bool store_ok,
		    struct cJSON *out);

/* Policy (agents.c): an agent's key <prefix>/agents/<node>, as sluiced writes it after each
 * apply: {"node", "policyRevision", "updated"}. valid: policyRevision was a number. */
struct ctl_agent {
	char node[254];
	int64_t policy_rev, updated;
	bool valid;
};
/* The revision of the last change to a key under namespaces/, pods/, policies/ and
 * endpoints/ (the newest key's mod revision, or a later deletion's from the history): the
 * revision every node's ruleset reflects once it is up to date (0: none). 0 or -errno with
 * e. The store is c->store, opened. */
int ctl_policy_revision(struct ctl *c, int64_t *ret, struct err *e);
/* "<prefix>/agents/" (malloc'd), NULL on ENOMEM */
char *ctl_agents_prefix(const struct ctl *c);
/* An agent's key (plen: the length of its agents/ prefix) and value into *a; an invalid
 * value leaves valid false */
void ctl_agent_parse(const char *key, size_t plen, const char *value, size_t len,
		     struct ctl_agent *a);
/* Every agent key, in key order (malloc'd array), and the listing's revision (may be
 * NULL). 0 or -errno with e. */
int ctl_agents_list(struct ctl *c, struct ctl_agent **ret, size_t *ret_n, int64_t *rev,
		    struct err *e);
/* status's policy view (status.c): the relevant revision and each agent, added to out as
 * "policy" (-o json), else printed as a table when there is anything to show. */
int ctl_status_policy(struct ctl *c, struct cJSON *out);

/* Kubernetes objects (apply.c): reads each FILE ("-": stdin) of paths[0..n) and returns every
 * object in them, validated and normalized (full) or only identified (delete -f), in *ret
 * (free with ctl_objects_free). Prints why on stderr for each invalid object ("<source>:
 * item N (Kind ns/name): <field>: <why>"), for the same object twice, or for no object at
 * all, and returns -1 then. ns (-n, may be NULL) is the namespace of namespaced objects
 * that name none; one naming another is refused, as kubectl refuses it. */
struct k8s_object;
int ctl_objects_read(struct ctl *c, char **paths, int n, const char *ns, bool full,
		     struct k8s_object **ret, size_t *ret_n);
void ctl_objects_free(struct k8s_object *o, size_t n);
/* Appends {"kind", "namespace" (null for a Namespace), "name", "result"} to arr: what
 * apply and delete print with -o json */
void ctl_result_add(struct cJSON *arr, int kind, const char *ns, const char *name,
		    const char *result);

/* NAME or NS/NAME (a Namespace: NAME) of an object of kind, with -n NS (may be NULL): fills
 * ns ("" for a Namespace, "default" when none is given) and name, checked as names (get.c).
 * Returns CTL_OK, or CTL_USAGE after printing why with the verb's usage hint. */
int ctl_object_name(const char *verb, int kind, const char *arg, const char *nsflag, char *ns,
		    char *name);

/* The store, opened on first use; NULL after printing why (the verb returns CTL_ERROR). */
struct store *ctl_store(struct ctl *c);

/* Prints "sluicectl: <msg>[: <details>]" on stderr and returns CTL_ERROR. */
int ctl_error(const struct err *e);
/* Prints "sluicectl: <formatted>" on stderr and returns CTL_ERROR. */
int ctl_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "sluicectl <verb>: <formatted>", then "Try 'sluicectl <verb> --help'." on stderr
 * and returns CTL_USAGE. */
int ctl_usage(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reads a whole file ("-": stdin) of at most 16 MiB, NUL-terminated. NULL after printing
 * why. */
char *ctl_read_file(const char *path, size_t *len);

/* Output: -o json prints v (stable keys, two-space indent) and a newline; -o table prints
 * rows as aligned columns under their header. A table is built row by row. */
void ctl_print_json(const struct cJSON *v);
struct ctl_table;
/* Text as a table cell shows it (malloc'd): each C0 or C1 control character and each byte
 * that is not UTF-8 as '.', the rest as it is; *width (may be NULL): its characters.
 * ctl_table_row passes every cell through it. */
char *ctl_cell_text(const char *s, size_t n, size_t *width);
struct ctl_table *ctl_table_new(int ncols, const char *const *header);
void ctl_table_row(struct ctl_table *t, ...); /* ncols strings (NULL prints as "-"), escaped */
void ctl_table_print(struct ctl_table *t); /* prints and frees */

/* Shared by config, node and leases (config.c, leases.c) */
struct subnet_conf;
struct subnet_lease;
/* The stored network config, checked; CTL_OK with *ret filled, else CTL_ERROR after
 * printing why (no config, or an invalid one). */
int ctl_load_config(struct ctl *c, struct subnet_conf *ret);
/* A lease as -o json prints it, and as a SUBNET NODE PUBLIC-IP VTEP-MAC TTL row */
struct cJSON *ctl_lease_json(const struct subnet_lease *l);
extern const char *const ctl_lease_header[5];
void ctl_lease_row(struct ctl_table *t, const struct subnet_lease *l);

#endif
