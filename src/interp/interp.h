/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The interpreter, as the program object sees it. A program is decoded once into one slot per instruction
 * (handler address, operands, resolved jump targets and helper functions) and then run with threaded
 * dispatch. Two variants share one source: unchecked, and checked, where every load, store and atomic is
 * checked against run->regions and the live stack frames, and run->budget counts executed instructions.
 *
 * Faults end a run with run->fault set (bj_run_fault), naming the instruction:
 *   -EFAULT  out-of-bounds or misaligned access (checked mode)
 *   -ETIME   instruction budget exhausted (checked mode)
 *   -E2BIG   more than BJ_MAX_CALL_DEPTH frames (both modes)
 *   -EINVAL  callx with a register that names no helper (both modes)
 * A helper may also stop the run by setting run->fault (the fault then names the call), and ends the
 * program when it sets run->tail_prog (bj_prog_invoke goes on with that program).
 *
 * Callbacks: at entry the interpreter puts its hook in run->callback and its stack block in
 * run->stack_lo/hi; before each helper call it stores r10 in run->call_fp. A helper's bj_run_call then runs
 * the subprogram (an ld_imm64 BPF_PSEUDO_FUNC target) on the next frame of the same block, so the callback
 * may use its caller's stack, and the frame limit counts both.
 */
#ifndef BJ_INTERP_H
#define BJ_INTERP_H

#include "common/run.h"
#include "isa/isa.h"

struct bj_interp;

/*
 * Decodes a program that bj_insns_validate accepted and whose helper calls, ld_imm64 forms and call kinds
 * the program object has already checked (every static helper id has a function in `helpers`, no pseudo
 * ld_imm64, no kfunc call). `helpers` (BJ_HELPER_ID_MAX entries) must outlive the interpreter.
 */
int bj_interp_create(const struct bj_insn *insns, size_t n, bj_helper_fn const *helpers, bool checked,
		     struct bj_interp **out, struct bj_error *err);
void bj_interp_free(struct bj_interp *ip);

/*
 * Runs once with r1 and r2 as given; legacy ld_abs/ld_ind read the buffer [r1, r1 + r2). The caller sets
 * up `run` (zeroed, regions, budget, user). Returns r0; check run->fault.
 * Safe to call from several threads at once on the same interpreter.
 */
uint64_t bj_interp_run(const struct bj_interp *ip, void *r1, uint64_t r2, struct bj_run *run);

#endif
