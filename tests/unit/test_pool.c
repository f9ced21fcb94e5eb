// SPDX-License-Identifier: Apache-2.0
/* The host-local store in a temporary directory: upstream's exact file format. */
#define T_NAME "test_store"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>

#include "ipam/pool.h"
#include "t.h"

static char dir[64];

static int read_file(const char *name, char *buf, size_t len)
{
	char path[256];
	int fd, n;

	snprintf(path, sizeof(path), "%s/net/%s", dir, name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = (int)read(fd, buf, len - 1);
	close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	return n;
}

static void write_file(const char *name, const char *data)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/net/%s", dir, name);
	f = fopen(path, "w");
	fputs(data, f);
	fclose(f);
}

static void test_reserve_format(void)
{
	struct pool s;
	struct ip_addr a, last;
	char buf[128];
	struct stat st;

	T_EQ(pool_open(dir, "net", &s), 0);
	T_EQ(pool_lock(&s), 0);
	ip_parse("10.0.0.2", &a);
	T_EQ(pool_reserve(&s, "cid1", "eth0", &a), 1);
	T_EQ(pool_reserve(&s, "cid2", "eth0", &a), 0); /* taken */
	T_EQ(read_file("10.0.0.2", buf, sizeof(buf)), 10);
	T_STREQ(buf, "cid1\r\neth0");
	/* rewritten in place: a shorter address leaves nothing of a longer one behind */
	ip_parse("10.0.0.200", &last);
	T_EQ(pool_set_last_reserved(&s, 0, &last), 0);
	T_EQ(pool_set_last_reserved(&s, 0, &a), 0);
	T_EQ(read_file("last_reserved_ip.0", buf, sizeof(buf)), 8);
	T_STREQ(buf, "10.0.0.2");
	snprintf(buf, sizeof(buf), "%s/net/10.0.0.2", dir);
	T_EQ(stat(buf, &st), 0);
	T_EQ(st.st_mode & 0777, 0600);
	snprintf(buf, sizeof(buf), "%s/net/lock", dir);
	T_EQ(stat(buf, &st), 0);
	ip_parse("fd00::a", &a);
	T_EQ(pool_reserve(&s, "cid1", "eth0", &a), 1);
	T_EQ(pool_set_last_reserved(&s, 1, &a), 0);
	T_EQ(pool_last_reserved(&s, 1, &last), 0);
	T_ASSERT(ip_eq(&a, &last));
	T_EQ(read_file("fd00::a", buf, sizeof(buf)), 10);
	T_EQ(pool_last_reserved(&s, 7, &last), -ENOENT);
	pool_close(&s);
}

static void test_release(void)
{
	struct pool s;
	struct ip_addr a;
	char buf[64];

	T_EQ(pool_open(dir, "net", &s), 0);
	T_EQ(pool_lock(&s), 0);
	ip_parse("10.0.0.3", &a);
	T_EQ(pool_reserve(&s, "cid1", "eth1", &a), 1);
	/* a file from before ifname was recorded, with the whitespace old versions left */
	write_file("10.0.0.9", "cid9\n");
	ip_parse("10.0.0.9", &a);
	T_EQ(pool_release_ip(&s, &a, "cid9", "eth0"), 0);
	T_EQ(pool_release(&s, "cid1", "eth0"), 2); /* 10.0.0.2 and fd00::a, not eth1's */
	T_EQ(read_file("10.0.0.2", buf, sizeof(buf)), -1);
	T_EQ(read_file("10.0.0.3", buf, sizeof(buf)), 10);
	T_EQ(pool_release(&s, "cid9", "eth0"), 1); /* legacy fallback */
	T_EQ(read_file("10.0.0.9", buf, sizeof(buf)), -1);
	T_EQ(pool_release(&s, "nobody", "eth0"), 0);
	ip_parse("10.0.0.3", &a);
	T_EQ(pool_release_ip(&s, &a, "cid1", "eth0"), 0); /* wrong ifname: kept */
	T_EQ(pool_release_ip(&s, &a, "cid1", "eth1"), 1);
	/* bookkeeping files are never touched */
	T_ASSERT(read_file("lock", buf, sizeof(buf)) == 0);
	T_ASSERT(read_file("last_reserved_ip.0", buf, sizeof(buf)) > 0);
	pool_close(&s);
}

static int count_cb(const struct ip_addr *ip, const char *id, const char *ifname, void *data)
{
	(*(int *)data)++;
	return 0;
}

static void test_walk_and_missing(void)
{
	struct pool s;
	int n = 0;

	T_EQ(pool_open_existing(dir, "nonexistent", &s), -ENOENT);
	T_EQ(pool_open_existing(dir, "net", &s), 0);
	write_file("last_reserved_ip.3", "10.0.0.1");
	write_file("10.0.0.77", "c\r\neth0");
	T_EQ(pool_walk(&s, count_cb, &n), 0);
	T_EQ(n, 1);
	pool_close(&s);
}

int main(void)
{
	char cmd[128];
	int r;

	snprintf(dir, sizeof(dir), "/tmp/sluice-store.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	T_RUN(test_reserve_format);
	T_RUN(test_release);
	T_RUN(test_walk_and_missing);
	r = T_EXIT();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) ? 1 : r;
}
