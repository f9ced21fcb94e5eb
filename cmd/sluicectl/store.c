/* SPDX-License-Identifier: Apache-2.0 */
/* sluicectl store: raw keys, as etcdctl gives them, for operators, scripts and the
 * benchmarks. One function per sub-verb; each parses its own flags with getopt_long. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "store/store.h"
#include "sluicectl.h"

/* A value longer than this is cut in a table (-o json and --value-only print it whole) */
#define VALUE_COLUMN_MAX 60

static const char store_usage[] =
	"Usage: sluicectl [GLOBAL FLAGS] store SUBVERB ...\n"
	"\n"
	"Raw access to the datastore's keys, in the manner of etcdctl.\n"
	"\n"
	"  store get KEY [--value-only]\n"
	"      prints the key (KEY REV VERSION TTL VALUE); --value-only: the bare value\n"
	"  store put KEY VALUE | store put KEY -f FILE|-\n"
	"        [--ttl SECONDS] [--if-absent | --if-rev N]\n"
	"      writes the key; --if-absent only when it does not exist, --if-rev only when\n"
	"      its mod revision is N; --ttl: it expires SECONDS after the write\n"
	"  store del KEY [--if-rev N]\n"
	"      deletes the key (an absent key is not an error without --if-rev)\n"
	"  store list PREFIX [--limit N] [--keys-only] [--ttl]\n"
	"      every key starting with PREFIX, in byte order; an etcd lease's time left is\n"
	"      not read by a list (TTL \"lease\", ttl null) unless --ttl asks (a request\n"
	"      per leased key)\n"
	"  store watch PREFIX [--rev N] [--count N] [--timeout SECONDS]\n"
	"      one line per change under PREFIX (from revision N; stops after N events or\n"
	"      SECONDS): TYPE KEY MOD_REV [VALUE]\n"
	"  store compact REV\n"
	"      forgets the history before REV (watches from before it fail)\n"
	"\n"
	"A VALUE or KEY that starts with '-' goes after \"--\". A conditional write that\n"
	"fails exits 1 (\"key exists\", \"revision mismatch\").\n"
	"-o json prints objects with key, value (a string), create_revision, mod_revision,\n"
	"version and ttl (seconds left; -1: none; null: a lease not looked up); watch prints\n"
	"one object per line.\n";

/* Parses a whole decimal number in [min, max] */
static bool parse_num(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static int num_flag(const char *verb, const char *flag, const char *arg, int64_t min, int64_t *out)
{
	if (!parse_num(arg, min, INT64_MAX, out))
		return ctl_usage(verb, "%s needs a whole number >= %" PRId64 ", got '%s'", flag,
				 min, arg);
	return CTL_OK;
}

static cJSON *kv_json(const struct store_kv *kv, bool keys_only)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "key", kv->key);
	if (keys_only)
		return o;
	cJSON_AddStringToObject(o, "value", kv->value ? kv->value : "");
	cJSON_AddNumberToObject(o, "create_revision", (double)kv->create_rev);
	cJSON_AddNumberToObject(o, "mod_revision", (double)kv->mod_rev);
	cJSON_AddNumberToObject(o, "version", (double)kv->version);
	if (kv->ttl == STORE_TTL_UNKNOWN)
		cJSON_AddNullToObject(o, "ttl");
	else
		cJSON_AddNumberToObject(o, "ttl", (double)kv->ttl);
	return o;
}

/* A value as one table cell: cut to VALUE_COLUMN_MAX characters with "...", escaped as
 * every cell is (ctl_cell_text: a NUL byte of the value is a '.' too) */
static char *value_cell(const struct store_kv *kv)
{
	size_t w, i, n;
	char *s = ctl_cell_text(kv->value ? kv->value : "", kv->value_len, &w);

	if (w <= VALUE_COLUMN_MAX)
		return s;
	for (i = 0, n = 0; n < VALUE_COLUMN_MAX - 3; i++)
		n += ((unsigned char)s[i] & 0xc0) != 0x80;
	while (((unsigned char)s[i] & 0xc0) == 0x80)
		i++; /* the last character whole */
	strcpy(s + i, "...");
	return s;
}

static void kv_row(struct ctl_table *t, const struct store_kv *kv)
{
	char rev[24], ver[24], ttl[24], *val = value_cell(kv);

	snprintf(rev, sizeof(rev), "%" PRId64, kv->mod_rev);
	snprintf(ver, sizeof(ver), "%" PRId64, kv->version);
	snprintf(ttl, sizeof(ttl), "%" PRId64, kv->ttl);
	ctl_table_row(t, kv->key, rev, ver,
		      kv->ttl == STORE_TTL_UNKNOWN ? "lease"
		      : kv->ttl < 0		   ? "-"
						   : ttl,
		      val);
	free(val);
}

static const char *const kv_header[] = {"KEY", "REV", "VERSION", "TTL", "VALUE"};

static int store_get_verb(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"value-only", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct store_kv kv = {0};
	struct err e = {0};
	bool value_only = false;
	struct store *s;
	int o, r;

	while ((o = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (o == 'h')
			return fputs(store_usage, stdout), CTL_OK;
		if (o == 'v')
			value_only = true;
		else
			return ctl_usage("store get", "unknown flag '%s'", argv[optind - 1]);
	}
	if (argc - optind != 1)
		return ctl_usage("store get", "needs one KEY");
	s = ctl_store(c);
	if (!s)
		return CTL_ERROR;
	r = store_get(s, argv[optind], &kv, NULL, &e);
	if (r < 0)
		return ctl_error(&e);
	if (!r)
		return ctl_errorf("key not found: %s", argv[optind]);
	if (value_only) {
		fwrite(kv.value, 1, kv.value_len, stdout);
		putchar('\n');
	} else if (c->output == CTL_OUT_JSON) {
		cJSON *j = kv_json(&kv, false);

		ctl_print_json(j);
		cJSON_Delete(j);
	} else {
		struct ctl_table *t = ctl_table_new(5, kv_header);

		kv_row(t, &kv);
		ctl_table_print(t);
	}
	store_kv_free(&kv);
	return CTL_OK;
}

static int store_put_verb(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"file", required_argument, NULL, 'f'}, {"ttl", required_argument, NULL, 't'},
		{"if-absent", no_argument, NULL, 'a'},	{"if-rev", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},	{0},
	};
	struct store_put p = {.if_rev = STORE_ANY, .ttl = 0};
	struct store_kv cur = {0};
	const char *file = NULL, *key;
	bool absent = false, has_rev = false;
	char *value = NULL;
	struct err e = {0};
	struct store *s;
	int64_t rev = 0;
	size_t len;
	int o, r;

	while ((o = getopt_long(argc, argv, ":hf:", opts, NULL)) != -1) {
		switch (o) {
		case 'h':
			fputs(store_usage, stdout);
			return CTL_OK;
		case 'f':
			file = optarg;
			break;
		case 't':
			if (num_flag("store put", "--ttl", optarg, 1, &p.ttl))
				return CTL_USAGE;
			break;
		case 'a':
			absent = true;
			break;
		case 'r':
			if (num_flag("store put", "--if-rev", optarg, 1, &p.if_rev))
				return CTL_USAGE;
			has_rev = true;
			break;
		case ':':
			return ctl_usage("store put", "'%s' needs a value", argv[optind - 1]);
		default:
			return ctl_usage("store put", "unknown flag '%s'", argv[optind - 1]);
		}
	}
	if (absent && has_rev)
		return ctl_usage("store put", "--if-absent and --if-rev exclude each other");
	if (absent)
		p.if_rev = STORE_ABSENT;
	if (argc - optind != (file ? 1 : 2))
		return ctl_usage("store put", file ? "needs KEY and -f FILE, no VALUE"
						   : "needs KEY and VALUE (or -f FILE)");
	key = argv[optind];
	if (file) {
		value = ctl_read_file(file, &len);
		if (!value)
			return CTL_ERROR;
	} else {
		len = strlen(argv[optind + 1]);
	}
	s = ctl_store(c);
	if (!s) {
		free(value);
		return CTL_ERROR;
	}
	r = store_put(s, key, value ? value : argv[optind + 1], len, &p, &rev, &cur, &e);
	free(value);
	if (r < 0)
		return ctl_error(&e);
	if (!r) {
		/* the value stays out of the message: it may be a secret */
		if (absent)
			r = ctl_errorf("key exists: %s (mod revision %" PRId64 ")", key,
				       cur.mod_rev);
		else if (cur.key)
			r = ctl_errorf("revision mismatch: %s is at mod revision %" PRId64
				       ", not %" PRId64,
				       key, cur.mod_rev, p.if_rev);
		else
			r = ctl_errorf("revision mismatch: %s does not exist", key);
		store_kv_free(&cur);
		return r;
	}
	if (c->output == CTL_OUT_JSON) {
		cJSON *j = cJSON_CreateObject();

		cJSON_AddStringToObject(j, "key", key);
		cJSON_AddNumberToObject(j, "revision", (double)rev);
		ctl_print_json(j);
		cJSON_Delete(j);
	} else {
		printf("OK revision %" PRId64 "\n", rev);
	}
	return CTL_OK;
}

static int store_del_verb(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"if-rev", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int64_t if_rev = STORE_ANY, rev = 0;
	struct store_kv cur = {0};
	struct err e = {0};
	struct store *s;
	const char *key;
	int o, r;

	while ((o = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (o == 'h')
			return fputs(store_usage, stdout), CTL_OK;
		if (o == 'r') {
			if (num_flag("store del", "--if-rev", optarg, 1, &if_rev))
				return CTL_USAGE;
		} else if (o == ':') {
			return ctl_usage("store del", "'%s' needs a value", argv[optind - 1]);
		} else {
			return ctl_usage("store del", "unknown flag '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return ctl_usage("store del", "needs one KEY");
	key = argv[optind];
	s = ctl_store(c);
	if (!s)
		return CTL_ERROR;
	r = store_delete(s, key, if_rev, &rev, &e);
	if (r < 0)
		return ctl_error(&e);
	if (!r && if_rev != STORE_ANY) {
		/* absent or changed: tell which */
		r = store_get(s, key, &cur, NULL, &e);
		if (r < 0)
			return ctl_error(&e);
		if (!r)
			return ctl_errorf("revision mismatch: %s does not exist", key);
		r = ctl_errorf("revision mismatch: %s is at mod revision %" PRId64 ", not %" PRId64,
			       key, cur.mod_rev, if_rev);
		store_kv_free(&cur);
		return r;
	}
	if (c->output == CTL_OUT_JSON) {
		cJSON *j = cJSON_CreateObject();

		cJSON_AddStringToObject(j, "key", key);
		cJSON_AddNumberToObject(j, "deleted", r);
		if (r)
			cJSON_AddNumberToObject(j, "revision", (double)rev);
		ctl_print_json(j);
		cJSON_Delete(j);
	} else if (r) {
		printf("deleted, revision %" PRId64 "\n", rev);
	} else {
		printf("not found, nothing deleted\n");
	}
	return CTL_OK;
}

static int store_list_verb(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"limit", required_argument, NULL, 'l'},
		{"keys-only", no_argument, NULL, 'k'},
		{"ttl", no_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct store_list l = {0};
	bool keys_only = false, ttls = false;
	struct err e = {0};
	int64_t limit = 0;
	struct store *s;
	size_t i;
	int o, r;

	while ((o = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (o == 'h')
			return fputs(store_usage, stdout), CTL_OK;
		if (o == 'l') {
			if (num_flag("store list", "--limit", optarg, 1, &limit))
				return CTL_USAGE;
		} else if (o == 'k') {
			keys_only = true;
		} else if (o == 't') {
			ttls = true;
		} else if (o == ':') {
			return ctl_usage("store list", "'%s' needs a value", argv[optind - 1]);
		} else {
			return ctl_usage("store list", "unknown flag '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return ctl_usage("store list", "needs one PREFIX");
	s = ctl_store(c);
	if (!s)
		return CTL_ERROR;
	if (limit)
		r = store_list(s, argv[optind], NULL, (size_t)limit, &l, &e);
	else
		r = store_list_all(s, argv[optind], 0, &l, &e);
	/* keys only show no TTL: none is looked up */
	for (i = 0; r >= 0 && ttls && !keys_only && i < l.n; i++)
		r = store_ttl(s, &l.kvs[i], &e);
	if (r < 0) {
		store_list_free(&l);
		return ctl_error(&e);
	}
	if (c->output == CTL_OUT_JSON) {
		cJSON *j = cJSON_CreateObject(), *a;

		cJSON_AddNumberToObject(j, "revision", (double)l.rev);
		cJSON_AddBoolToObject(j, "more", l.more);
		a = cJSON_AddArrayToObject(j, "kvs");
		for (i = 0; i < l.n; i++)
			cJSON_AddItemToArray(a, kv_json(&l.kvs[i], keys_only));
		ctl_print_json(j);
		cJSON_Delete(j);
	} else if (keys_only) {
		for (i = 0; i < l.n; i++)
			puts(l.kvs[i].key);
	} else {
		struct ctl_table *t = ctl_table_new(5, kv_header);

		for (i = 0; i < l.n; i++)
			kv_row(t, &l.kvs[i]);
		ctl_table_print(t);
	}
	if (l.more && c->output != CTL_OUT_JSON)
		fprintf(stderr, "sluicectl: more keys past --limit %" PRId64 "\n", limit);
	store_list_free(&l);
	return CTL_OK;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void print_event(const struct ctl *c, const struct store_event *ev)
{
	const char *type = ev->type == STORE_EV_PUT ? "PUT" : "DELETE";

	if (c->output == CTL_OUT_JSON) {
		cJSON *j = cJSON_CreateObject();
		char *s;

		cJSON_AddStringToObject(j, "type", type);
		cJSON_AddStringToObject(j, "key", ev->kv.key);
		cJSON_AddNumberToObject(j, "mod_revision", (double)ev->kv.mod_rev);
		if (ev->type == STORE_EV_PUT) {
			cJSON_AddStringToObject(j, "value", ev->kv.value ? ev->kv.value : "");
			cJSON_AddNumberToObject(j, "create_revision", (double)ev->kv.create_rev);
			cJSON_AddNumberToObject(j, "version", (double)ev->kv.version);
		}
		s = cJSON_PrintUnformatted(j);
		if (s)
			puts(s);
		free(s);
		cJSON_Delete(j);
	} else if (ev->type == STORE_EV_PUT) {
		char *val = value_cell(&ev->kv),
		     *key = ctl_cell_text(ev->kv.key, strlen(ev->kv.key), NULL);

		printf("%s %s %" PRId64 " %s\n", type, key, ev->kv.mod_rev, val);
		free(val);
		free(key);
	} else {
		char *key = ctl_cell_text(ev->kv.key, strlen(ev->kv.key), NULL);

		printf("%s %s %" PRId64 "\n", type, key, ev->kv.mod_rev);
		free(key);
	}
	fflush(stdout); /* a reader of the pipe sees each event as it comes */
}

static int store_watch_verb(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"rev", required_argument, NULL, 'r'},
		{"count", required_argument, NULL, 'n'},
		{"timeout", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int64_t from = 0, count = 0, timeout = 0, seen = 0, deadline = 0, left;
	struct store_watch *w;
	struct store_event ev;
	struct err e = {0};
	struct store *s;
	int o, r;

	while ((o = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (o) {
		case 'h':
			fputs(store_usage, stdout);
			return CTL_OK;
		case 'r':
			if (num_flag("store watch", "--rev", optarg, 1, &from))
				return CTL_USAGE;
			break;
		case 'n':
			if (num_flag("store watch", "--count", optarg, 1, &count))
				return CTL_USAGE;
			break;
		case 't':
			if (num_flag("store watch", "--timeout", optarg, 1, &timeout))
				return CTL_USAGE;
			break;
		case ':':
			return ctl_usage("store watch", "'%s' needs a value", argv[optind - 1]);
		default:
			return ctl_usage("store watch", "unknown flag '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return ctl_usage("store watch", "needs one PREFIX");
	s = ctl_store(c);
	if (!s)
		return CTL_ERROR;
	w = store_watch_open(s, argv[optind], from, &e);
	if (!w)
		return ctl_error(&e);
	if (timeout)
		deadline = now_ms() + timeout * 1000;
	for (;;) {
		left = -1;
		if (deadline) {
			left = deadline - now_ms();
			if (left <= 0)
				break;
		}
		r = store_watch_wait(w, &ev, left > INT32_MAX ? INT32_MAX : (int)left, &e);
		if (r == -ESTALE) {
			store_watch_close(w);
			return ctl_errorf(
				"revision %" PRId64
				" was compacted: list again and watch from its revision + 1",
				from);
		}
		if (r < 0) {
			store_watch_close(w);
			return ctl_error(&e);
		}
		if (!r)
			continue; /* the deadline is checked above */
		print_event(c, &ev);
		store_event_free(&ev);
		if (count && ++seen >= count)
			break;
	}
	store_watch_close(w);
	if (count && seen < count)
		return ctl_errorf("watch timed out after %" PRId64 " s with %" PRId64 " of %" PRId64
				  " events",
				  timeout, seen, count);
	return CTL_OK;
}

static int store_compact_verb(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct err e = {0};
	struct store *s;
	int64_t rev;
	int o;

	while ((o = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (o == 'h')
			return fputs(store_usage, stdout), CTL_OK;
		return ctl_usage("store compact", "unknown flag '%s'", argv[optind - 1]);
	}
	if (argc - optind != 1)
		return ctl_usage("store compact", "needs one REV");
	if (!parse_num(argv[optind], 1, INT64_MAX, &rev))
		return ctl_usage("store compact", "REV must be a whole number >= 1, got '%s'",
				 argv[optind]);
	s = ctl_store(c);
	if (!s)
		return CTL_ERROR;
	if (store_compact(s, rev, &e) < 0)
		return ctl_error(&e);
	if (c->output == CTL_OUT_JSON) {
		cJSON *j = cJSON_CreateObject();

		cJSON_AddNumberToObject(j, "compacted", (double)rev);
		ctl_print_json(j);
		cJSON_Delete(j);
	} else {
		printf("compacted at revision %" PRId64 "\n", rev);
	}
	return CTL_OK;
}

static const struct {
	const char *name;
	int (*fn)(struct ctl *c, int argc, char **argv);
} subverbs[] = {
	{"get", store_get_verb},   {"put", store_put_verb},	{"del", store_del_verb},
	{"list", store_list_verb}, {"watch", store_watch_verb}, {"compact", store_compact_verb},
};

int ctl_store_verb(struct ctl *c, int argc, char **argv)
{
	size_t i;

	if (argc < 2)
		return ctl_usage("store", "needs a sub-verb: get, put, del, list, watch, compact");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		fputs(store_usage, stdout);
		return CTL_OK;
	}
	for (i = 0; i < sizeof(subverbs) / sizeof(subverbs[0]); i++) {
		if (strcmp(argv[1], subverbs[i].name))
			continue;
		/* getopt from the start of the sub-verb's arguments; its own messages off */
		optind = 0;
		opterr = 0;
		return subverbs[i].fn(c, argc - 1, argv + 1);
	}
	return ctl_usage("store", "unknown sub-verb '%s' (get, put, del, list, watch, compact)",
			 argv[1]);
}
