// SPDX-License-Identifier: Apache-2.0
/* libFuzzer target: the portMappings capability: the input is the value of
 * runtimeConfig.portMappings in a portmap config with a valid prevResult, through cni_run()
 * and every plugin's parser for ADD, CHECK, DEL and GC. */
#include <stdlib.h>

#include "lib/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char pre[] =
		"{\"cniVersion\":\"1.1.0\",\"name\":\"fz\",\"type\":\"sluice-portmap\","
		"\"snat\":true,\"capabilities\":{\"portMappings\":true},\"prevResult\":{"
		"\"cniVersion\":\"1.1.0\",\"interfaces\":[{\"name\":\"cni0\"},{\"name\":\"eth0\","
		"\"sandbox\":\"/run/netns/x\"}],\"ips\":[{\"interface\":1,\"address\":"
		"\"10.1.0.5/24\"},{\"interface\":1,\"address\":\"fd01::5/64\"}]},"
		"\"runtimeConfig\":{\"portMappings\":";
	size_t len;
	char *in;

	if (size > CNI_MAX_INPUT / 2)
		return -1;
	in = fz_wrap(pre, data, size, "}}", &len);
	fz_call("ADD", NULL, in, len);
	fz_call("CHECK", NULL, in, len);
	fz_call("DEL", NULL, in, len);
	fz_call("GC", NULL, in, len);
	free(in);
	return 0;
}
