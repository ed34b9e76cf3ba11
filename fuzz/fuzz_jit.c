/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Random bytes as instructions: validate, JIT in checked mode, run with a small budget on a small buffer.
 * Whatever the program does, the run must end (fault or not) without crashing the process.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "isa/isa.h"
#include "jit/jit.h"

static uint64_t helper_first(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, struct bj_run *run)
{
	(void)r2, (void)r3, (void)r4, (void)r5, (void)run;
	return r1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bj_helper_fn helpers[BJ_HELPER_ID_MAX] = { [5] = helper_first };
	size_t n = size / sizeof(struct bj_insn);
	struct bj_jit_opts opts = { .checked = true, .blind = n % 2 };
	struct bj_insn *insns;
	struct bj_jit_code *code;
	uint8_t mem[64];

	if (n == 0 || n > 4096)
		return 0;
	insns = malloc(n * sizeof(*insns));
	if (!insns)
		return 0;
	memcpy(insns, data, n * sizeof(*insns));
	if (bj_insns_validate(insns, n, NULL) == 0 && bj_jit_compile(insns, n, helpers, &opts, &code, NULL) == 0) {
		struct bj_run run;
		memset(&run, 0, sizeof(run));
		memset(mem, 0xa5, sizeof(mem));
		run.budget = 4096;
		bj_run_add_region(&run, mem, sizeof(mem), true);
		bj_jit_code_entry(code)(mem, sizeof(mem), &run);
		bj_jit_code_free(code);
	}
	free(insns);
	return 0;
}
