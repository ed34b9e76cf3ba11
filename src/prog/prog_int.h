/* SPDX-License-Identifier: Apache-2.0 */
/* The program object as other modules (XDP, dispatcher, loader) see it: run with their own bj_run. */
#ifndef BJ_PROG_INT_H
#define BJ_PROG_INT_H

#include <bpfjet/prog.h>

#include "common/run.h"

/* Fills a fresh run for one execution of prog: zeroed, with the prog's budget and user pointer. */
void bj_prog_run_init(const struct bj_prog *prog, struct bj_run *run);
/*
 * Runs the prog's engine once with r1/r2 as given; returns r0. The caller adds its regions and reads
 * run->fault. Legacy ld_abs/ld_ind read [r1, r1 + r2): pass r2 = 0 when r1 is not a buffer of r2 bytes.
 */
uint64_t bj_prog_invoke(const struct bj_prog *prog, void *r1, uint64_t r2, struct bj_run *run);
/* The helper table (BJ_HELPER_ID_MAX entries, NULL where none). */
bj_helper_fn const *bj_prog_helpers(const struct bj_prog *prog);
bool bj_prog_checked(const struct bj_prog *prog);
/*
 * Checked runs: the values the program addresses directly (global data) as regions, once each; helpers add
 * the values they hand back. bj_prog_invoke does it for each program it enters (tail calls included);
 * callers that enter JIT code themselves do it first.
 */
void bj_prog_add_map_regions(const struct bj_prog *prog, struct bj_run *run);
struct bj_jit_code;
/* The JIT's compiled code, or NULL when the program runs on the interpreter. */
const struct bj_jit_code *bj_prog_jit_code(const struct bj_prog *prog);
/* The JIT's native entry (a bj_jit_entry), or NULL when the program runs on the interpreter. */
void *bj_prog_jit_entry(const struct bj_prog *prog);

#endif
