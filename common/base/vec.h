/* SPDX-License-Identifier: Apache-2.0 */
/* Growable arrays, for what a netlink or nftables dump collects. */
#ifndef VEC_H
#define VEC_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Makes room for element n of the array whose pointer is at arrp (elements of size bytes,
 * *cap allocated), doubling it plus min elements when full. arrp is the address of the
 * caller's typed pointer. Returns 0, or -ENOMEM with the array unchanged. */
static inline int vec_room(void *arrp, size_t *cap, size_t n, size_t size, size_t min)
{
	void *a, *p;
	size_t c;

	if (n < *cap)
		return 0;
	c = *cap * 2 + min;
	memcpy(&a, arrp, sizeof(a));
	p = realloc(a, c * size);
	if (!p)
		return -ENOMEM;
	memcpy(arrp, &p, sizeof(p));
	*cap = c;
	return 0;
}

#endif
