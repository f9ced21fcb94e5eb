/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"

static int err_vfail(struct err *e, int code, int r, const char *fmt, va_list ap)
{
	char buf[sizeof(e->msg)];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (e->code == 0) {
		e->code = code;
		memcpy(e->msg, buf, sizeof(buf));
	} else {
		log_warn("%s (after: %s)", buf, e->msg);
	}
	return r < 0 ? r : -EINVAL;
}

int err_fail(struct err *e, int code, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	r = err_vfail(e, code, r, fmt, ap);
	va_end(ap);
	return r;
}

int err_kernel(struct err *e, int r, const char *extack, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	r = err_fail(e, CNI_ERR_KERNEL, r, "%s: %s", what, strerror(r < 0 ? -r : EIO));
	if (extack && *extack)
		err_details(e, "%s", extack);
	return r;
}

void err_details(struct err *e, const char *fmt, ...)
{
	va_list ap;

	if (e->details[0])
		return;
	va_start(ap, fmt);
	vsnprintf(e->details, sizeof(e->details), fmt, ap);
	va_end(ap);
}
