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
/* Ring buffer records a run may hold reserved at once (bpf_ringbuf_reserve before submit or discard). */
#define BJ_RUN_MAX_RESERVED 8

struct bj_run;
struct bj_map;

/*
 * How a helper calls back into the running program (bpf_loop, bpf_for_each_map_elem): each engine puts one
 * in the run at entry. `fn` is the value the program loaded with ld_imm64 BPF_PSEUDO_FUNC; the engine
 * checks that it names one of its subprograms and runs it on a frame of its own below run->call_fp.
 */
struct bj_callback_hook {
	uint64_t (*call)(struct bj_run *run, const struct bj_callback_hook *hook, uint64_t fn, const uint64_t args[5]);
};

struct bj_rb_reserved {
	void *sample;
	struct bj_map *map;
};

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
	/* Set by the engine at entry: the BPF stack [lo, hi) (every frame of local calls and callbacks). In JIT
	 * code lo is also the native stack pointer that a fault unwinds to. */
	uintptr_t stack_lo;
	uintptr_t stack_hi;
	/* The program type's runtime state for this run (XDP: the worker whose frames run), NULL if none. */
	void *env;
	/* bpf_trace_printk's sink (NULL: stderr). */
	bj_trace_fn trace;
	void *trace_ctx;
	/* bpf_get_prandom_u32: this run's generator, seeded on first use (0 = not yet). */
	uint64_t prandom;
	/* Callbacks: the engine's hook (NULL when the program has no subprogram to call back), r10 of the frame
	 * whose helper call is running (the callback's frame goes below it), and how many callbacks are under
	 * way (bpf_tail_call is refused inside one, as Linux refuses it). */
	const struct bj_callback_hook *callback;
	uintptr_t call_fp;
	unsigned cb_depth;
	/* JIT: the native stack pointer a fault inside a callback unwinds to (0 outside callbacks). */
	uintptr_t jit_cb_sp;
	/*
	 * Checked mode for helpers: memory they are given must lie in the regions or the stack, and maps must be
	 * the program's own (its bj_prog_opts.maps); what they hand back (a map value, a ring buffer record)
	 * becomes a region. Set per program by bj_prog_run_init and bj_prog_invoke.
	 */
	bool checked;
	struct bj_map *const *maps;
	size_t n_maps;
	/* Checked mode: the bpf_spin_lock this run holds (Linux allows one at a time), NULL if none. */
	void *held_lock;
	/* Ring buffer records reserved and not yet submitted or discarded, with their maps. */
	struct bj_rb_reserved reserved[BJ_RUN_MAX_RESERVED];
	unsigned n_reserved;
};

static inline void bj_run_add_region(struct bj_run *run, const void *start, size_t len, bool writable)
{
	if (run->n_regions < BJ_MAX_REGIONS)
		run->regions[run->n_regions++] = (struct bj_region){ (uintptr_t)start, (uintptr_t)start + len, writable };
}

/* Checked mode: whether [addr, addr + len) lies in one region (writable if `write`) or in the stack. */
bool bj_run_mem_ok(const struct bj_run *run, uintptr_t addr, uint64_t len, bool write);
/* Checked mode: bytes readable from addr to the end of its region or of the stack (0: none). */
uint64_t bj_run_readable(const struct bj_run *run, uintptr_t addr);

/* Records why a run stops; the engine unwinds and returns run->fault. */
void bj_run_fault(struct bj_run *run, int errnum, long insn, const char *fmt, ...) BJ_PRINTF(4, 5);

/*
 * Calls the program's subprogram `fn` (an ld_imm64 BPF_PSEUDO_FUNC value) with r1-r5 = args and returns
 * its r0. A fault inside it is left in run->fault (the caller must stop); so is a bad `fn` or too deep a
 * nesting of frames (-E2BIG).
 */
uint64_t bj_run_call(struct bj_run *run, uint64_t fn, const uint64_t args[5]);

#endif
