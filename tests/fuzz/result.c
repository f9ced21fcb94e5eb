// SPDX-License-Identifier: Apache-2.0
/* libFuzzer target: the CNI result parser (cni_result_parse) on any JSON value, and what
 * sluice prints of what it accepted: every version's JSON, printed as a plugin prints it,
 * must be valid, valid UTF-8, and parse back to as many interfaces, addresses and routes.
 * The input is the result's JSON text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cni/result.h"
#include "lib/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Prints res in version v as a plugin does (cni_result_print(), the path to stdout), checks
 * the bytes, and reads them back. */
static void print_check(const struct cni_result *res, const char *v)
{
	struct cni_ctx ctx = {.version = v};
	struct cni_result back = {0};
	char err[256], *s = NULL;
	size_t len = 0;
	cJSON *p;

	ctx.out = open_memstream(&s, &len);
	if (!ctx.out || cni_result_print(&ctx, res) < 0 || fclose(ctx.out) != 0)
		abort();
	fz_check_out(s, len, 0);
	/* what we print, we read */
	p = cJSON_Parse(s);
	if (!p || cni_result_parse(p, &back, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz: printed result (%s) does not parse back: %s\n", v, s);
		abort();
	}
	if (back.n_ifaces != res->n_ifaces || back.n_ips != res->n_ips ||
	    back.n_routes != res->n_routes) {
		fprintf(stderr, "fuzz: printed result (%s) parses back different: %s\n", v, s);
		abort();
	}
	cni_result_done(&back);
	cJSON_Delete(p);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const versions[] = {"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"};
	struct cni_result res;
	char err[256];
	cJSON *o;

	if (size > CNI_MAX_INPUT)
		return -1;
	o = cJSON_ParseWithLength((const char *)data, size);
	if (!o)
		return 0;
	memset(err, 0x55, sizeof(err));
	if (cni_result_parse(o, &res, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
			print_check(&res, versions[i]);
	} else if (!memchr(err, '\0', sizeof(err))) {
		fprintf(stderr, "fuzz: the parse error is not a string\n");
		abort();
	}
	cni_result_done(&res);
	cJSON_Delete(o);
	return 0;
}
