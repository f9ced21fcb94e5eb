// SPDX-License-Identifier: Apache-2.0
/* libFuzzer target: prevResult, as a chained plugin gets it: the input is the value of
 * "prevResult" in an otherwise valid config, run through cni_run() and every plugin's
 * parser for ADD (which prints it back in the request's version), CHECK, DEL and GC. */
#include <stdlib.h>

#include "lib/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const pre[] = {
		"{\"cniVersion\":\"1.0.0\",\"name\":\"fz\",\"type\":\"sluice-portmap\","
		"\"runtimeConfig\":{\"portMappings\":[{\"hostPort\":8080,\"containerPort\":80,"
		"\"protocol\":\"tcp\"}]},\"prevResult\":",
		"{\"cniVersion\":\"0.4.0\",\"name\":\"fz\",\"type\":\"sluice-bandwidth\","
		"\"ingressRate\":1000000,\"ingressBurst\":100000,\"prevResult\":",
		"{\"cniVersion\":\"1.1.0\",\"name\":\"fz\",\"type\":\"sluice-bridge\","
		"\"prevResult\":",
	};
	size_t len;
	char *in;

	if (size > CNI_MAX_INPUT / 2)
		return -1;
	for (size_t i = 0; i < sizeof(pre) / sizeof(pre[0]); i++) {
		in = fz_wrap(pre[i], data, size, "}", &len);
		fz_call("ADD", NULL, in, len);
		fz_call("CHECK", NULL, in, len);
		fz_call("DEL", NULL, in, len);
		if (i == 2)
			fz_call("GC", NULL, in, len);
		free(in);
	}
	return 0;
}
