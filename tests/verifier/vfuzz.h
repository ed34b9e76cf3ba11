/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Soundness fuzzing of the verifier. Programs come from three sources: a generator of plausible but often
 * unsafe code (buffer and stack accesses at random offsets, bounds checks, spills, loops, helper calls),
 * mutations of corpus programs, and the differential tester's generator of valid programs (tests/diff).
 * Every program is verified; every accepted BJ_PROG_TYPE_MEM program runs in the checked interpreter on
 * random inputs, every accepted XDP program through the XDP runner in checked mode on random packets,
 * with the maps the verifier was told of (reset between runs). An out-of-bounds access, a runaway loop,
 * or a result that depends on uninitialised registers (or, under the strict policy, uninitialised stack)
 * in an accepted program is a verifier bug.
 *
 * Uninitialised reads are found by running each program behind a prologue that fills the registers it
 * does not receive (r0, r3-r9, and r2 for XDP) and the 512-byte frame with patterns a helper hands out,
 * on the same input with different patterns: the results must not differ.
 */
#ifndef BJ_VFUZZ_H
#define BJ_VFUZZ_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "corpus.h"

struct vf_stats {
	uint64_t programs;        /* verified */
	uint64_t accepted;        /* default policy */
	uint64_t accepted_strict;
	uint64_t runs;            /* checked executions of accepted programs */
	uint64_t unrunnable;      /* accepted but not runnable here (a helper without a function) */
	uint64_t difftest_programs, difftest_accepted;
	uint64_t bugs;
	uint64_t known;           /* runs stopped for a reason listed in KNOWN_BUGS.md */
};

/* Faults of known verifier bugs (KNOWN_BUGS.md, lines "- `fault: TEXT`: ..."): counted, not reported. */
struct vf_known {
	char faults[8][96];
	size_t n;
};

/* Reads the `fault:` lines of a KNOWN_BUGS.md text. */
void vf_known_parse(const char *text, struct vf_known *known);

/*
 * Checks the program of `seed` (the source is chosen by the seed too; corpus may be NULL, then no
 * mutations; known may be NULL). Returns 0 when nothing is wrong; 1 with the program, the verdict and the failing run
 * written to report when the verifier accepted an unsafe program; -errno when the harness itself failed.
 */
int vf_check(uint64_t seed, const struct vc_corpus *corpus, const struct vf_known *known, struct vf_stats *stats,
	     FILE *report);

#endif
