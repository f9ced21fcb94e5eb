// SPDX-License-Identifier: Apache-2.0
/* libFuzzer target: Flannel's network config and lease values as they come from the store
 * (any bytes another node or flanneld wrote): parsed, and when valid, everything sluice
 * renders from them (the config with its defaults, subnet.env, the conflist, the lease's
 * value written back, which must parse again), plus the input as a subnet key. */
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "base/err.h"
#include "subnet/files.h"
#include "subnet/lease.h"
#include "subnet/netconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void render(const struct subnet_conf *c)
{
	struct subnet_lease l = {0};
	struct err e = {0};
	cJSON *j = subnet_conf_json(c);
	char *s;

	l.subnet.ip = c->subnet_min;
	l.subnet.len = c->subnet_len;
	if (c->enable_ipv6) {
		l.subnet6.ip = c->ipv6_subnet_max;
		l.subnet6.len = c->ipv6_subnet_len;
	}
	if (!j || !subnet_conf_compat(c, &l.subnet, &l.subnet6))
		abort(); /* SubnetMin (and IPv6SubnetMax) are leasable by construction */
	cJSON_Delete(j);
	free(subnet_env_text(c, &l, 1450, false));
	s = subnet_conflist_text(c, &l, 1450, NULL, NULL, 0, NULL, &e);
	if (!s)
		abort();
	free(s);
}

static void lease(const char *in, size_t size)
{
	struct subnet_lease l = {0}, back = {0};
	struct err e = {0};
	char *v;

	if (subnet_lease_parse_value(in, size, &l, &e) == 0) {
		v = subnet_lease_value(&l);
		if (!v || subnet_lease_parse_value(v, strlen(v), &back, &e) < 0 ||
		    !ip_eq(&back.public_ip, &l.public_ip) || strcmp(back.vtep_mac, l.vtep_mac))
			abort(); /* what sluice writes back, it reads the same */
		free(v);
		subnet_lease_done(&back);
	}
	subnet_lease_done(&l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct subnet_conf c;
	struct ip_prefix sn, sn6;
	struct err e = {0};
	char *in, name[300];

	if (size > 65536)
		return -1;
	in = strndup((const char *)data, size);
	if (!in)
		abort();
	if (subnet_conf_parse(in, strlen(in), &c, &e) == 0) {
		render(&c);
		subnet_conf_done(&c);
	}
	lease(in, strlen(in));
	if (subnet_key_parse(in, &sn, &sn6) == 0 &&
	    (subnet_key_name(&sn, &sn6, name, sizeof(name)) < 0 ||
	     subnet_key_parse(name, &sn, &sn6) < 0))
		abort();
	free(in);
	return 0;
}
