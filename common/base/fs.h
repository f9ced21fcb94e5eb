/* SPDX-License-Identifier: Apache-2.0 */
/* Small file-system helpers shared by the layers above. */
#ifndef BASE_FS_H
#define BASE_FS_H

#include <sys/types.h>

/* mkdir -p: creates path and its missing parents with mode (less the umask). path is
 * modified while it runs and restored. Returns 0 (also when path exists as a directory)
 * or -errno. */
int fs_mkdir_p(char *path, mode_t mode);

#endif
