/* SPDX-License-Identifier: Apache-2.0 */
#include "common/common.h"

#include <stdio.h>

const char *bj_version(void)
{
	return BPFJET_VERSION;
}

bool bj_opts_valid(const void *opts, size_t known_sz)
{
	size_t sz = *(const size_t *)opts;
	const unsigned char *p = opts;

	if (sz < sizeof(size_t))
		return false;
	for (size_t i = known_sz; i < sz; i++)
		if (p[i])
			return false;
	return true;
}

int bj_fail(struct bj_error *err, int errnum, long insn, long offset, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		err->insn = insn;
		err->offset = offset;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return -errnum;
}
