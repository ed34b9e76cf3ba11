/* SPDX-License-Identifier: Apache-2.0 */
/* State of one program run, shared by the engines and the helpers. */
#ifndef BJ_RUN_H
#define BJ_RUN_H

#include <bpfjet/prog.h>

#include "common/common.h"

/* Memory a checked run may touch besides its stack. */
struct bj_region {
	uintptr_t start;
	uintptr_t end; /* exclusive */
	bool writable;
};

#define BJ_MAX_REGIONS 8
/* Linux's MAX_TAIL_CALL_CNT. */
#define BJ_MAX_TAIL_CALLS 33
#define BJ_DEFAULT_INSN_BUDGET (1ull << 26)

struct bj_run {
	/* Checked mode: the regions, and the instructions left before the run is stopped. */
	struct bj_region regions[BJ_MAX_REGIONS];
	unsigned n_regions;
	uint64_t budget;
	/* Set when checked mode (or a helper) stops the run: -errno, the instruction, and why. */
	int fault;
	long fault_insn;
	char fault_msg[160];
	void *user;
	unsigned worker;
	/*
	 * bpf_tail_call: a successful call sets tail_prog; the engine then unwinds the current program as soon as
	 * the helper returns (as it does for a fault), and bj_prog_invoke continues with tail_prog on the same r1.
	 */
	const struct bj_prog *tail_prog;
	unsigned tail_calls;
	/* Set by JIT code at entry: its BPF stack [lo, hi) (every frame of local calls), and lo is also the
	 * native stack pointer that a fault unwinds to. */
	uintptr_t jit_stack_lo;
	uintptr_t jit_stack_hi;
	/* The program type's runtime state for this run (XDP: the worker whose frames run), NULL if none. */
	void *env;
};

static inline void bj_run_add_region(struct bj_run *run, const void *start, size_t len, bool writable)
{
	if (run->n_regions < BJ_MAX_REGIONS)
		run->regions[run->n_regions++] = (struct bj_region){ (uintptr_t)start, (uintptr_t)start + len, writable };
}

/* Records why a run stops; the engine unwinds and returns run->fault. */
void bj_run_fault(struct bj_run *run, int errnum, long insn, const char *fmt, ...) BJ_PRINTF(4, 5);

#endif
