// SPDX-License-Identifier: Apache-2.0
/* sluice-portmap's config, portMappings and prevResult parsers, for the fuzz targets (see
 * fuzz.h). */
#include "fuzz.h"

#define main sluice_portmap_main
#include "../../../plugins/portmap/portmap.c"

int fz_portmap_parse(struct cni_ctx *ctx)
{
	struct pm_call p;
	int r;

	r = load(&p, ctx);
	call_done(&p);
	return r;
}
