// SPDX-License-Identifier: Apache-2.0
/* sluice-host-local's config parser (ranges, routes, requested addresses from CNI_ARGS and
 * args), for the fuzz targets (see fuzz.h). resolvConf is not read: a file is no parse. */
#include "fuzz.h"

#define main sluice_host_local_main
#include "../../../plugins/host-local/host-local.c"

int fz_host_local_parse(struct cni_ctx *ctx)
{
	struct hl_conf *hc = calloc(1, sizeof(*hc));
	int r;

	if (!hc)
		return -ENOMEM;
	r = load_conf(ctx, hc);
	cni_result_done(&hc->extra);
	free(hc);
	return r;
}
