// SPDX-License-Identifier: Apache-2.0
/* sluice-bandwidth's config and prevResult parsers, for the fuzz targets (see fuzz.h). */
#include "fuzz.h"

#define main sluice_bandwidth_main
#include "../../../plugins/bandwidth/bandwidth.c"

int fz_bandwidth_parse(struct cni_ctx *ctx)
{
	struct cni_result res = {0};
	struct bw_call b;
	int r;

	call_init(&b, ctx);
	r = load_conf(ctx, &b.c);
	if (r >= 0)
		r = parse_prev(&b, &res);
	cni_result_done(&res);
	call_done(&b);
	return r;
}
