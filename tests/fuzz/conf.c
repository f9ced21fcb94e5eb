// SPDX-License-Identifier: Apache-2.0
/* libFuzzer target: the network config on stdin, through cni_run() (JSON, cniVersion, name,
 * prevResult, GC's valid-attachments) and the config parsers of all four plugins, for every
 * verb. The input is the whole stdin. */
#include "lib/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > CNI_MAX_INPUT + 1)
		return -1;
	fz_call_all(NULL, data, size);
	return 0;
}
