// SPDX-License-Identifier: Apache-2.0
/* The dir:// backend's pure parts: key escaping (one key, one name, never a path that leaves
 * PATH/keys), long keys' hashed names, the headers of key files, log records and meta. */
#define T_NAME "test_store_dir"
#include <errno.h>
#include <stdlib.h>

#include "store/dir.h"
#include "t.h"

static void test_escape(void)
{
	char out[3 * STORE_KEY_MAX + 1], back[STORE_KEY_MAX + 1];

	T_EQ(dir_key_escape("/sluice/network/subnets/10.244.1.0-24", out, sizeof(out)), 37);
	T_STREQ(out, "+sluice+network+subnets+10.244.1.0-24");
	T_EQ(dir_key_escape("/a b/%/+/~/\xff/..", out, sizeof(out)), 25);
	T_STREQ(out, "+a%20b+%25+%2B+%7E+%FF+..");
	T_EQ(dir_key_unescape(out, back, sizeof(back)), 15);
	T_STREQ(back, "/a b/%/+/~/\xff/..");
	/* what escaping never writes is refused: lower-case hex, an escaped plain byte, NUL */
	T_EQ(dir_key_unescape("+a%2b", back, sizeof(back)), -EINVAL);
	T_EQ(dir_key_unescape("+%41", back, sizeof(back)), -EINVAL);
	T_EQ(dir_key_unescape("+%2F", back, sizeof(back)), -EINVAL);
	T_EQ(dir_key_unescape("+%00", back, sizeof(back)), -EINVAL);
	T_EQ(dir_key_unescape("+a%2", back, sizeof(back)), -EINVAL);
	T_EQ(dir_key_unescape("+a/b", back, sizeof(back)), -EINVAL);
	T_EQ(dir_key_escape("/abc", out, 4), -ENAMETOOLONG);
}

static void test_names_distinct(void)
{
	static const char *const keys[] = {"/a/b",  "/a+b",   "/a%2Fb",	 "/a%2fb", "/a//b",
					   "/a/b/", "/a/./b", "/a/../b", "/.",	   "/.."};
	char names[10][DIR_NAME_MAX + 1];

	for (int i = 0; i < 10; i++) {
		dir_key_file(keys[i], names[i]);
		T_ASSERT(names[i][0] == '+'); /* never ".", "..", nor a path */
		T_ASSERT(!strchr(names[i], '/'));
		for (int j = 0; j < i; j++)
			T_ASSERT(strcmp(names[i], names[j]));
	}
}

static void test_long_key(void)
{
	char key[STORE_KEY_MAX + 2], name[DIR_NAME_MAX + 1], name2[DIR_NAME_MAX + 1];

	memset(key, 'x', STORE_KEY_MAX);
	key[0] = '/';
	key[STORE_KEY_MAX] = '\0';
	dir_key_file(key, name);
	T_EQ(strlen(name), 65);
	T_ASSERT(name[0] == '~');
	key[STORE_KEY_MAX - 1] = 'y';
	dir_key_file(key, name2);
	T_ASSERT(strcmp(name, name2));
	T_ASSERT(dir_key_valid(key));
	T_ASSERT(!dir_key_valid("relative"));
	T_ASSERT(!dir_key_valid(""));
	key[STORE_KEY_MAX] = 'x'; /* one byte over */
	key[STORE_KEY_MAX + 1] = '\0';
	T_ASSERT(!dir_key_valid(key));
}

static void test_header_round_trip(void)
{
	struct dir_hdr h = {.op = DIR_PUT,
			    .create_rev = 7,
			    .mod_rev = 9,
			    .version = 3,
			    .ttl = 30,
			    .expires = 1764900000123,
			    .len = 5};
	struct dir_hdr back;
	char line[DIR_HDR_MAX];
	int n;

	snprintf(h.key, sizeof(h.key), "/pods/ns/a b\"c");
	n = dir_hdr_format(&h, line, sizeof(line));
	T_ASSERT(n > 0 && line[n - 1] == '\n');
	T_STREQ(line, "{\"op\":\"PUT\",\"key\":\"+pods+ns+a%20b%22c\",\"create_revision\":7,"
		      "\"mod_revision\":9,\"version\":3,\"ttl\":30,\"expires\":1764900000123,"
		      "\"len\":5}\n");
	T_EQ(dir_hdr_parse(line, (size_t)n, &back), n);
	T_STREQ(back.key, h.key);
	T_EQ(back.op, DIR_PUT);
	T_EQ(back.create_rev, 7);
	T_EQ(back.mod_rev, 9);
	T_EQ(back.version, 3);
	T_EQ(back.ttl, 30);
	T_EQ(back.expires, 1764900000123);
	T_EQ(back.len, 5);
	/* a key file's header has no op */
	h.op = 0;
	n = dir_hdr_format(&h, line, sizeof(line));
	T_EQ(dir_hdr_parse(line, (size_t)n, &back), n);
	T_EQ(back.op, 0);
	/* not whole yet: 0; whole but wrong: -EBADMSG */
	T_EQ(dir_hdr_parse(line, (size_t)n - 1, &back), 0);
}

static void test_header_refused(void)
{
	static const char *const bad[] = {
		"{}\n",
		"[1]\n",
		"{\"key\":\"+a\",\"create_revision\":1,\"mod_revision\":1,\"version\":1,\"ttl\":0,\"expires\":0}\n",
		"{\"key\":\"+a\",\"create_revision\":-1,\"mod_revision\":1,\"version\":1,\"ttl\":0,\"expires\":0,\"len\":0}\n",
		"{\"key\":\"+a\",\"create_revision\":1.5,\"mod_revision\":1,\"version\":1,\"ttl\":0,\"expires\":0,\"len\":0}\n",
		"{\"key\":\"a\",\"create_revision\":1,\"mod_revision\":1,\"version\":1,\"ttl\":0,\"expires\":0,\"len\":0}\n",
		"{\"key\":\"+a\",\"create_revision\":1,\"mod_revision\":1,\"version\":1,\"ttl\":0,\"expires\":0,\"len\":9999999}\n",
		"{\"op\":\"PATCH\",\"key\":\"+a\",\"create_revision\":1,\"mod_revision\":1,\"version\":1,\"ttl\":0,\"expires\":0,\"len\":0}\n",
		"{\"key\":\"+a\",\"create_revision\":\"1\",\"mod_revision\":1,\"version\":1,\"ttl\":0,\"expires\":0,\"len\":0}\n",
		"not json\n",
	};
	struct dir_hdr h;
	char *line;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (dir_hdr_parse(bad[i], strlen(bad[i]), &h) != -EBADMSG)
			printf("  header %zu was not refused\n", i);
		T_EQ(dir_hdr_parse(bad[i], strlen(bad[i]), &h), -EBADMSG);
	}
	/* no newline within DIR_HDR_MAX bytes: never a header */
	line = malloc(DIR_HDR_MAX + 10);
	T_ASSERT(line);
	memset(line, ' ', DIR_HDR_MAX + 10);
	T_EQ(dir_hdr_parse(line, DIR_HDR_MAX + 10, &h), -EBADMSG);
	free(line);
}

static void test_meta(void)
{
	struct dir_meta m = {.revision = 42,
			     .first = 40,
			     .log_gen = 3,
			     .log_size = 1234,
			     .next_expiry = 1764900000000};
	struct dir_meta back;
	char line[DIR_HDR_MAX];
	int64_t gen, first;
	int n = dir_meta_format(&m, line, sizeof(line));

	T_ASSERT(n > 0);
	T_EQ(dir_meta_parse(line, (size_t)n, &back), 0);
	T_EQ(back.revision, 42);
	T_EQ(back.first, 40);
	T_EQ(back.log_gen, 3);
	T_EQ(back.log_size, 1234);
	T_EQ(back.next_expiry, 1764900000000);
	m.first = 44; /* past revision + 1: no such log */
	n = dir_meta_format(&m, line, sizeof(line));
	T_EQ(dir_meta_parse(line, (size_t)n, &back), -EBADMSG);
	n = dir_loghdr_format(5, 17, line, sizeof(line));
	T_EQ(dir_loghdr_parse(line, (size_t)n, &gen, &first), n);
	T_EQ(gen, 5);
	T_EQ(first, 17);
	T_EQ(dir_loghdr_parse("{\"gen\":1,\"first\":1}\n", 20, &gen, &first), -EBADMSG);
}

int main(void)
{
	T_RUN(test_escape);
	T_RUN(test_names_distinct);
	T_RUN(test_long_key);
	T_RUN(test_header_round_trip);
	T_RUN(test_header_refused);
	T_RUN(test_meta);
	return T_EXIT();
}
