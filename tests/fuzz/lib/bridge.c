// SPDX-License-Identifier: Apache-2.0
/* sluice-bridge's config parser, for the fuzz targets (see fuzz.h). */
#include "fuzz.h"

#define main sluice_bridge_main
#include "../../../plugins/bridge/bridge.c"

int fz_bridge_parse(struct cni_ctx *ctx)
{
	struct br_conf c = {0};

	return load_conf(ctx, &c);
}
