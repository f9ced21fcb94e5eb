// SPDX-License-Identifier: Apache-2.0
/* libFuzzer target: CNI_ARGS (up to its first NUL, as an environment variable ends), with a
 * host-local config that reads IP= and a bridge config that reads MAC=, for every verb. */
#include <stdlib.h>
#include <string.h>

#include "lib/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char conf[] =
		"{\"cniVersion\":\"1.1.0\",\"name\":\"fz\",\"type\":\"sluice-bridge\","
		"\"bridge\":\"fz0\",\"ipam\":{\"type\":\"sluice-host-local\",\"dataDir\":"
		"\"/nonexistent\",\"ranges\":[[{\"subnet\":\"10.1.0.0/24\"}],"
		"[{\"subnet\":\"fd01::/64\"}]]}}";
	char *args;

	if (size > 131072) /* the kernel's cap on one environment string */
		return -1;
	args = strndup((const char *)data, size);
	if (!args)
		abort();
	fz_call_all(args, conf, sizeof(conf) - 1);
	free(args);
	return 0;
}
