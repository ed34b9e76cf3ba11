/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Random bytes as instructions: whatever the validator accepts runs in checked mode on a small buffer with a
 * small budget. Nothing may crash or trip a sanitizer; a checked run may only end normally or with a fault.
 * An input whose length is not a multiple of 8 runs with no memory (r1 = NULL, r2 = 0).
 */
#include <bpfjet/prog.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint64_t helper_first_arg(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, struct bj_run *run)
{
	(void)r2, (void)r3, (void)r4, (void)r5, (void)run;
	return r1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct bj_helper helpers[] = { { 5, "first_arg", helper_first_arg } };
	BJ_OPTS(bj_prog_opts, opts, .insn_budget = 20000, .helpers = helpers, .n_helpers = 1);
	size_t n = size / sizeof(struct bj_insn);
	struct bj_insn *insns;
	struct bj_prog *prog;
	struct bj_error err;
	uint8_t *mem;
	uint64_t r0;
	int ret;

	if (n == 0 || n > 4096)
		return 0;
	insns = malloc(n * sizeof(*insns));
	mem = calloc(1, 64);
	if (!insns || !mem)
		abort();
	memcpy(insns, data, n * sizeof(*insns));
	if (bj_prog__create(insns, n, &opts, &prog, &err) == 0) {
		bool with_mem = size % sizeof(struct bj_insn) == 0;
		ret = bj_prog__exec(prog, with_mem ? mem : NULL, with_mem ? 64 : 0, &r0, &err);
		if (ret && ret != -EFAULT && ret != -ETIME && ret != -E2BIG && ret != -EINVAL)
			abort();
		bj_prog__destroy(prog);
	}
	free(mem);
	free(insns);
	return 0;
}
