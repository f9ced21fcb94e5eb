// SPDX-License-Identifier: Apache-2.0
/* Small file-system helpers shared by the layers above. */
#include <errno.h>
#include <sys/stat.h>

#include "base/fs.h"

int fs_mkdir_p(char *path, mode_t mode)
{
	struct stat st;

	if (!*path || stat(path, &st) == 0)
		return !*path || S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, mode) < 0 && errno != EEXIST) {
			*p = '/';
			return -errno;
		}
		*p = '/';
	}
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}
