/* SPDX-License-Identifier: Apache-2.0 */
/* Errors as every layer reports them to its caller: a class (the CNI spec's codes, then
 * sluice's own from 100), a message and details. A CNI plugin passes them on as its error
 * JSON unchanged; the agent and the CLI log or print them. The first error recorded wins:
 * later ones are only logged, so a rollback's failure never hides the cause. */
#ifndef ERR_H
#define ERR_H

/* README ("Error codes") lists them. */
enum err_code {
	CNI_ERR_VERSION = 1,
	CNI_ERR_UNSUPPORTED_FIELD = 2,
	CNI_ERR_UNKNOWN_CONTAINER = 3,
	CNI_ERR_ENV = 4,
	CNI_ERR_IO = 5,
	CNI_ERR_DECODE = 6,
	CNI_ERR_CONFIG = 7,
	CNI_ERR_TRY_AGAIN = 11,
	CNI_ERR_UNAVAILABLE = 50,
	CNI_ERR_UNAVAILABLE_LIMITED = 51,
	CNI_ERR_KERNEL = 100, /* the kernel refused a request; details carry its message */
	CNI_ERR_NO_ADDRESS = 101, /* IPAM: range full, requested address taken, duplicate */
	CNI_ERR_EXISTS = 102, /* the interface (or another object) already exists */
	CNI_ERR_CHECK = 103, /* CHECK found state that differs from prevResult */
	CNI_ERR_DELEGATE = 104, /* a delegated plugin could not be run or gave bad output */
	CNI_ERR_INTERNAL = 999, /* fallback when no code was set (as Go's skel) */
};

struct err {
	int code; /* 0: no error recorded */
	char msg[512];
	char details[1024];
};

/* Records (code, message) unless an error is already recorded, in which case the message is
 * logged as a warning. Returns r when negative, else -EINVAL, for `return err_fail(...)`. */
int err_fail(struct err *e, int code, int r, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* err_fail(CNI_ERR_KERNEL) with "<what>: <strerror(r)>" and the kernel's extended ack (may
 * be NULL) as details. */
int err_kernel(struct err *e, int r, const char *extack, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Sets the details unless some are set already. */
void err_details(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
