/* SPDX-License-Identifier: Apache-2.0 */
#include "common/run.h"

#include <stdio.h>

void bj_run_fault(struct bj_run *run, int errnum, long insn, const char *fmt, ...)
{
	va_list ap;

	if (run->fault)
		return;
	run->fault = -errnum;
	run->fault_insn = insn;
	va_start(ap, fmt);
	vsnprintf(run->fault_msg, sizeof(run->fault_msg), fmt, ap);
	va_end(ap);
}

void *bj_run__user(const struct bj_run *run)
{
	return run->user;
}
