/* SPDX-License-Identifier: Apache-2.0 */
/* The dir:// backend (being written on branch h-store-dir; this placeholder only refuses). */
#include <errno.h>

#include "store/store.h"
#include "base/err.h"

struct store *store_dir_open(const char *path, struct err *err)
{
	err_fail(err, CNI_ERR_CONFIG, -ENOTSUP, "dir store %s: not implemented yet", path);
	return NULL;
}
