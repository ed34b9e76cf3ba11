/* SPDX-License-Identifier: Apache-2.0 */
#include "common/run.h"

#include <errno.h>
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

uint64_t bj_run_call(struct bj_run *run, uint64_t fn, const uint64_t args[5])
{
	const struct bj_callback_hook *hook = run->callback;
	uint64_t r0;

	if (!hook) {
		bj_run_fault(run, EINVAL, -1, "callback 0x%llx: the program has no subprogram to call back",
			     (unsigned long long)fn);
		return 0;
	}
	run->cb_depth++;
	r0 = hook->call(run, hook, fn, args);
	run->cb_depth--;
	return r0;
}

bool bj_run_mem_ok(const struct bj_run *run, uintptr_t addr, uint64_t len, bool write)
{
	uintptr_t end = addr + len;

	if (end < addr)
		return false;
	if (addr >= run->stack_lo && end <= run->stack_hi)
		return true;
	for (unsigned i = 0; i < run->n_regions; i++) {
		const struct bj_region *r = &run->regions[i];

		if (addr >= r->start && end <= r->end && (!write || r->writable))
			return true;
	}
	return false;
}

uint64_t bj_run_readable(const struct bj_run *run, uintptr_t addr)
{
	if (addr >= run->stack_lo && addr < run->stack_hi)
		return run->stack_hi - addr;
	for (unsigned i = 0; i < run->n_regions; i++) {
		const struct bj_region *r = &run->regions[i];

		if (addr >= r->start && addr < r->end)
			return r->end - addr;
	}
	return 0;
}
