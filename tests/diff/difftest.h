/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Differential testing of the JIT against the interpreter: a generator of random, valid, terminating programs
 * and a runner that executes each one in every engine mode on random inputs and compares the outcomes.
 * Everything derives from one 64-bit seed per program, so a mismatch reproduces from its seed alone.
 */
#ifndef BJ_DIFFTEST_H
#define BJ_DIFFTEST_H

#include <stdbool.h>
#include <stdio.h>

#include "isa/isa.h"

/* The buffer every program gets in r1 (length in r2). */
#define DT_BUF_LEN 64

struct dt_prog {
	struct bj_insn *insns;
	size_t n, cap;
	/* One access is deliberately out of bounds: only checked modes run it, and they must fault alike. */
	bool faulting;
};

/* Builds the program of `seed`; returns 0 or -ENOMEM. Free with dt_prog_free. */
int dt_generate(uint64_t seed, struct dt_prog *p);
void dt_prog_free(struct dt_prog *p);

struct dt_stats {
	uint64_t programs, runs, insns, faulting;
};

/*
 * Generates the program of `seed`, runs it on a few random inputs in the interpreter (unchecked, checked)
 * and the JIT (unchecked, checked, blinded, checked + blinded), and compares r0, the buffer and the fault
 * status. Returns 0 when all agree; otherwise 1, with the first difference described in `why`.
 */
int dt_check(uint64_t seed, struct dt_stats *stats, char *why, size_t why_len);

/* Writes the program of `seed` as assembly text (for a report). */
void dt_print(uint64_t seed, FILE *out);

#endif
