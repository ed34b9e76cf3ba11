/* SPDX-License-Identifier: Apache-2.0 */
/* The x86-64 JIT, as the program object and the other modules see it. */
#ifndef BJ_JIT_H
#define BJ_JIT_H

#include <bpfjet/prog.h>
#include <stdio.h>

#include "common/run.h"

struct bj_jit_opts {
	/* Emit checked-mode code: bounds checks on every access against run->regions and the stack,
	 * and the instruction budget; a violation ends the run with run->fault set. */
	bool checked;
	bool blind;
	/* Only baseline x86-64 instructions, even where the CPU has more (BMI2): tests of the fallback code. */
	bool baseline_isa;
	/* Upper bound on the code memory reserved for the program, in bytes (0 = none): -ENOMEM beyond it. */
	size_t mem_limit;
};

struct bj_jit_code;

/* Native entry: r1 and r2 as the program sees them; `run` is passed on to every helper. */
typedef uint64_t (*bj_jit_entry)(void *r1, uint64_t r2, struct bj_run *run);

/*
 * Compiles a validated program. helpers[id] is the function for helper `id` (NULL when none);
 * calls are direct where the target is within ±2 GiB. The code is written RW, then made RX: never W+X.
 *
 * Callbacks: code that loads subprogram addresses (ld_imm64 BPF_PSEUDO_FUNC) puts the image's hook in
 * run->callback at entry (others clear it) and stores rbp (r10) in run->call_fp before each helper call.
 * bj_run_call then enters the image through a small entry that saves the C registers, points rbp at the
 * caller's frame and calls the subprogram, whose prologue takes the next 512-byte frame. A fault inside a
 * callback unwinds to that entry (run->jit_cb_sp), so the helper that called back returns normally and
 * the code after its call unwinds the rest.
 */
int bj_jit_compile(const struct bj_insn *insns, size_t n, bj_helper_fn const helpers[BJ_HELPER_ID_MAX],
		   const struct bj_jit_opts *opts, struct bj_jit_code **out, struct bj_error *err);
bj_jit_entry bj_jit_code_entry(const struct bj_jit_code *code);
/* The machine code and, for each BPF instruction, the offset of its first byte (for dumps). */
const uint8_t *bj_jit_code_image(const struct bj_jit_code *code, size_t *len);
const uint32_t *bj_jit_code_offsets(const struct bj_jit_code *code, size_t *n_insns);
void bj_jit_code_free(struct bj_jit_code *code);

/*
 * Writes the image disassembled (capstone), each block headed by the BPF instruction it came from.
 * Returns 0, or -EOPNOTSUPP when the library was built without capstone.
 */
int bj_jit_code_dump(const struct bj_jit_code *code, const struct bj_insn *insns, FILE *out);

#endif
