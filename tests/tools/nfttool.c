// SPDX-License-Identifier: Apache-2.0
/* nfttool: drives common/masq, common/spoofchk and common/nft from tests/netns/masq.sh and
 * spoofchk.sh. Each command opens one nft socket and does one library call; failures print
 * the errno and nft_errmsg().
 * Usage: nfttool -h */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "base/ip.h"
#include "netlink/netns.h"
#include "nft/nft.h"
#include "nft/nft_owned.h"
#include "node/masq.h"
#include "node/spoofchk.h"

static const char usage[] =
	"usage: nfttool [-n NETNS_PATH] COMMAND ARGS\n"
	"  add NET CID IFNAME ADDR/LEN...   masq_add\n"
	"  del NET CID [IFNAME]             masq_del\n"
	"  check NET CID IFNAME ADDR/LEN... masq_check\n"
	"  gc NET [CID/IFNAME]...           masq_gc, the arguments being the valid attachments\n"
	"  rules                        nft_rule_count of the masq chain, nft_chain_list\n"
	"  elems SET                    nft_set_elems_dump: one element per line with comment\n"
	"  drop                         delete the masq table (NFT_F_DESTROY)\n"
	"  sc-add NET CID IFNAME HOST_IF MAC    spoofchk_add\n"
	"  sc-del NET CID [IFNAME]              spoofchk_del\n"
	"  sc-check NET CID IFNAME HOST_IF MAC  spoofchk_check\n"
	"  sc-gc NET [CID/IFNAME]...            spoofchk_gc\n"
	"  sc-rules, sc-elems SET, sc-drop      the same for the spoofchk table\n"
	"  owner NET CID IFNAME         print the comment that names the attachment's elements\n"
	"  err-missing                  delete an element from a missing table, print errmsg\n"
	"  err-invalid                  add a malformed element to pods4, print errmsg\n"
	"  big N                        N commented elements in one batch to a table of its\n"
	"                               own, read back; N more with one bad: all rejected\n"
	"  bench N                      N x (open, masq_add, close), then N x masq_del\n"
	"  sc-bench N                   the same for spoofchk_add, spoofchk_add again, _del\n";

static int fail(const struct nft *nft, const char *what, int r)
{
	fprintf(stderr, "nfttool: %s: %s: %s\n", what, strerror(-r), nft_errmsg(nft));
	return 1;
}

static int parse_addrs(int argc, char **argv, struct ip_prefix *p, size_t *ret_n)
{
	int i;

	if (argc > MASQ_ADDRS_MAX)
		return -E2BIG;
	for (i = 0; i < argc; i++)
		if (ip_prefix_parse(argv[i], &p[i]) < 0) {
			fprintf(stderr, "nfttool: bad prefix %s\n", argv[i]);
			return -EINVAL;
		}
	*ret_n = (size_t)i;
	return 0;
}

struct valid {
	int n;
	char **owners; /* "cid/ifname" */
};

static bool is_valid(const char *cid, const char *ifname, void *data)
{
	const struct valid *v = data;
	char buf[512];

	snprintf(buf, sizeof(buf), "%s/%s", cid, ifname);
	for (int i = 0; i < v->n; i++)
		if (!strcmp(v->owners[i], buf))
			return true;
	return false;
}

static int print_chain(const char *chain, void *data)
{
	printf("chain %s\n", chain);
	return 0;
}

static int print_elem(const struct nft_elem *e, void *data)
{
	for (uint32_t i = 0; i < e->key.len; i++)
		printf("%02x", e->key.v[i]);
	if (e->flags & NFT_ELEM_HAS_KEY_END) {
		printf("-");
		for (uint32_t i = 0; i < e->key_end.len; i++)
			printf("%02x", e->key_end.v[i]);
	}
	printf(" %s\n", e->comment ? e->comment : "-");
	return 0;
}

static int cmd_rules(struct nft *nft, const struct nft_owned *t)
{
	int r = nft_rule_count(nft, t->family, t->table, t->chain);

	if (r < 0)
		return fail(nft, "rule count", r);
	printf("rules %d\n", r);
	r = nft_chain_list(nft, t->family, t->table, print_chain, NULL);
	return r < 0 ? fail(nft, "chain list", r) : 0;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char end;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &end) != 6) {
		fprintf(stderr, "nfttool: bad MAC %s\n", s);
		return -EINVAL;
	}
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

/* Errors from the kernel must reach the caller with the failing message named. */
static int cmd_err(struct nft *nft, bool invalid)
{
	struct nft_elem e = {.comment = "probe/eth0"};
	int r;

	nft_data_set(&e.key, "\x0a\x00\x00", 3); /* 3 bytes: pods4 keys have 4 */
	nft_batch_begin(nft);
	if (invalid)
		nft_elems_add(nft, NFPROTO_INET, MASQ_TABLE, "pods4", &e, 1, 0);
	else
		nft_elems_del(nft, NFPROTO_INET, "sluice_missing", "pods4", &e, 1, 0);
	r = nft_batch_commit(nft);
	if (r == 0) {
		fprintf(stderr, "nfttool: the kernel accepted it\n");
		return 1;
	}
	printf("%s: %s\n", strerror(-r), nft_errmsg(nft));
	return 0;
}

static int count_elem(const struct nft_elem *e, void *data)
{
	if (e->comment && !strncmp(e->comment, "big/", 4))
		(*(int *)data)++;
	return 0;
}

static int big_batch(struct nft *nft, int from, int n, int bad)
{
	static const struct nft_set_def set = {.name = "big", .key = {NFT_TYPE_IPV4}};
	struct nft_elem e = {0};
	char comment[32];
	uint32_t v;

	nft_batch_begin(nft);
	if (from == 0) {
		nft_table_add(nft, NFPROTO_INET, "sluice_nfttest", NFT_F_EXCL);
		nft_set_add(nft, NFPROTO_INET, "sluice_nfttest", &set, 0);
	}
	for (int i = from; i < from + n; i++) {
		v = htonl(0x0a000000u + (uint32_t)i);
		nft_data_set(&e.key, &v, i == bad ? 3 : 4);
		snprintf(comment, sizeof(comment), "big/%d", i);
		e.comment = comment;
		nft_elems_add(nft, NFPROTO_INET, "sluice_nfttest", "big", &e, 1, 0);
	}
	return nft_batch_commit(nft);
}

/* Thousands of elements in one batch; a batch with one bad element changes nothing. */
static int cmd_big(struct nft *nft, int n)
{
	int r, count = 0;

	r = big_batch(nft, 0, n, -1);
	if (r < 0)
		return fail(nft, "big batch", r);
	r = nft_set_elems_dump(nft, NFPROTO_INET, "sluice_nfttest", "big", count_elem, &count);
	if (r < 0 || count != n)
		return fprintf(stderr, "nfttool: read back %d of %d\n", count, n), 1;
	r = big_batch(nft, n, n, n + n / 2);
	printf("rejected: %s: %s\n", strerror(-r), nft_errmsg(nft));
	count = 0;
	(void)nft_set_elems_dump(nft, NFPROTO_INET, "sluice_nfttest", "big", count_elem, &count);
	printf("elements %d\n", count);
	nft_batch_begin(nft);
	nft_table_del(nft, NFPROTO_INET, "sluice_nfttest", 0);
	r = nft_batch_commit(nft);
	return r < 0 ? fail(nft, "delete table", r) : 0;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

enum { B_MASQ_ADD, B_MASQ_DEL, B_SC_ADD, B_SC_READD, B_SC_DEL };

static const char *const bench_names[] = {"masq_add", "masq_del", "spoofchk_add",
					  "spoofchk_add again (replace)", "spoofchk_del"};

/* One library call for attachment i of the bench. */
static int bench_call(struct nft *nft, int op, int i)
{
	struct ip_prefix p = {
		.ip.family = AF_INET, .len = 16, .ip.b = {10, 123, (uint8_t)(i >> 8), (uint8_t)i}};
	uint8_t mac[6] = {2, 0, 0, 0, (uint8_t)(i >> 8), (uint8_t)i};
	char cid[32], port[16];

	snprintf(cid, sizeof(cid), "bench%d", i);
	snprintf(port, sizeof(port), "vb%d", i);
	switch (op) {
	case B_MASQ_ADD:
		return masq_add(nft, "bench", cid, "eth0", &p, 1);
	case B_MASQ_DEL:
		return masq_del(nft, "bench", cid, "eth0");
	case B_SC_ADD:
	case B_SC_READD:
		return spoofchk_add(nft, "bench", cid, "eth0", port, mac);
	default:
		return spoofchk_del(nft, "bench", cid, "eth0");
	}
}

/* N x (open, call, close) per pass: masq add, del; or spoofchk add, add again, del. */
static int cmd_bench(int n, bool sc)
{
	int first = sc ? B_SC_ADD : B_MASQ_ADD, last = sc ? B_SC_DEL : B_MASQ_DEL, r = 0;
	struct nft nft;
	double t0, ms;

	for (int op = first; op <= last && r == 0; op++) {
		t0 = now_ms();
		for (int i = 0; i < n && r == 0; i++) {
			r = nft_open(&nft, -1);
			if (r == 0)
				r = bench_call(&nft, op, i);
			if (r < 0)
				fail(&nft, bench_names[op], r);
			nft_close(&nft);
		}
		ms = now_ms() - t0;
		printf("%s: %d calls in %.1f ms (%.1f us per open+call+close)\n", bench_names[op],
		       n, ms, ms * 1e3 / n);
	}
	return r < 0;
}

/* The commands common to both tables; 2 when cmd is none of them. */
static int run_table(struct nft *nft, const struct nft_owned *t, int argc, char **argv)
{
	const char *cmd = argv[0];
	int r;

	if (!strcmp(cmd, "gc") && argc >= 2) {
		struct valid v = {argc - 2, argv + 2};

		r = t == &masq_owned ? masq_gc(nft, argv[1], is_valid, &v)
				     : spoofchk_gc(nft, argv[1], is_valid, &v);
		if (r >= 0)
			printf("removed %d\n", r);
	} else if (!strcmp(cmd, "rules")) {
		return cmd_rules(nft, t);
	} else if (!strcmp(cmd, "elems") && argc == 2) {
		r = nft_set_elems_dump(nft, t->family, t->table, argv[1], print_elem, NULL);
	} else if (!strcmp(cmd, "drop")) {
		nft_batch_begin(nft);
		nft_table_del(nft, t->family, t->table, NFT_F_DESTROY);
		r = nft_batch_commit(nft);
	} else {
		return 2;
	}
	return r < 0 ? fail(nft, cmd, r) : 0;
}

static int run_spoofchk(struct nft *nft, int argc, char **argv)
{
	const char *cmd = argv[0];
	uint8_t mac[6];
	int r;

	if ((!strcmp(cmd, "add") || !strcmp(cmd, "check")) && argc == 6) {
		r = parse_mac(argv[5], mac);
		if (r == 0 && cmd[0] == 'a')
			r = spoofchk_add(nft, argv[1], argv[2], argv[3], argv[4], mac);
		else if (r == 0)
			r = spoofchk_check(nft, argv[1], argv[2], argv[3], argv[4], mac);
	} else if (!strcmp(cmd, "del") && (argc == 3 || argc == 4)) {
		r = spoofchk_del(nft, argv[1], argv[2], argc == 4 ? argv[3] : NULL);
	} else {
		return run_table(nft, &spoofchk_owned, argc, argv);
	}
	return r < 0 ? fail(nft, cmd, r) : 0;
}

static int run(struct nft *nft, int argc, char **argv)
{
	struct ip_prefix p[MASQ_ADDRS_MAX];
	char owner[NFT_OWNER_MAX + 1];
	const char *cmd = argv[0];
	size_t n = 0;
	int r;

	if (!strncmp(cmd, "sc-", 3)) {
		argv[0] += 3;
		return run_spoofchk(nft, argc, argv);
	}
	if (!strcmp(cmd, "add") && argc >= 5) {
		r = parse_addrs(argc - 4, argv + 4, p, &n);
		r = r < 0 ? r : masq_add(nft, argv[1], argv[2], argv[3], p, n);
	} else if (!strcmp(cmd, "check") && argc >= 4) {
		r = parse_addrs(argc - 4, argv + 4, p, &n);
		r = r < 0 ? r : masq_check(nft, argv[1], argv[2], argv[3], p, n);
	} else if (!strcmp(cmd, "del") && (argc == 3 || argc == 4)) {
		r = masq_del(nft, argv[1], argv[2], argc == 4 ? argv[3] : NULL);
	} else if (!strcmp(cmd, "owner") && argc == 4) {
		r = nft_owner_fmt(owner, argv[1], argv[2], argv[3]);
		if (r == 0)
			printf("%s\n", owner);
	} else if (!strcmp(cmd, "big") && argc == 2) {
		return cmd_big(nft, atoi(argv[1]));
	} else if (!strcmp(cmd, "err-missing") || !strcmp(cmd, "err-invalid")) {
		return cmd_err(nft, !strcmp(cmd, "err-invalid"));
	} else {
		return run_table(nft, &masq_owned, argc, argv);
	}
	return r < 0 ? fail(nft, cmd, r) : 0;
}

int main(int argc, char **argv)
{
	int r, netns_fd = -1;
	struct nft nft;

	if (argc > 3 && !strcmp(argv[1], "-n")) {
		netns_fd = netns_open(argv[2]);
		if (netns_fd < 0) {
			fprintf(stderr, "nfttool: %s: %s\n", argv[2], strerror(-netns_fd));
			return 1;
		}
		argc -= 2, argv += 2;
	}
	if (argc < 2 || !strcmp(argv[1], "-h")) {
		fputs(usage, stderr);
		return 2;
	}
	if ((!strcmp(argv[1], "bench") || !strcmp(argv[1], "sc-bench")) && argc == 3)
		return cmd_bench(atoi(argv[2]), argv[1][0] == 's');
	r = nft_open(&nft, netns_fd);
	if (netns_fd >= 0)
		close(netns_fd);
	if (r < 0)
		return fail(&nft, "nft_open", r);
	r = run(&nft, argc - 1, argv + 1);
	nft_close(&nft);
	if (r == 2)
		fputs(usage, stderr);
	return r;
}
