/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Random bytes as instructions: the validator must not crash, and the disassembly of any program (valid or
 * not) must assemble back into the same bytes.
 */
#include <bpfjet/asm.h>
#include <stdlib.h>
#include <string.h>

static void round_trip(const struct bj_insn *prog, size_t n, const struct bj_disasm_opts *opts)
{
	struct bj_insn *again = NULL;
	struct bj_error err;
	size_t n2 = 0;
	char *text = NULL;

	if (bj_disasm(prog, n, opts, &text) || bj_asm(text, &again, &n2, &err) || n2 != n ||
	    memcmp(prog, again, n * sizeof(*prog)))
		abort();
	free(again);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n = size / sizeof(struct bj_insn);
	struct bj_insn *prog;
	struct bj_error err;
	char line[128], *text = NULL;

	if (n == 0 || n > 4096)
		return 0;
	prog = malloc(n * sizeof(*prog));
	if (!prog)
		return 0;
	memcpy(prog, data, n * sizeof(*prog));
	if (bj_insns_validate(prog, n, &err) == 0) {
		BJ_OPTS(bj_disasm_opts, labels, .labels = true, .indexes = true);
		round_trip(prog, n, &labels);
	}
	round_trip(prog, n, NULL);
	BJ_OPTS(bj_disasm_opts, kernel, .style = BJ_DISASM_KERNEL, .opcodes = true, .labels = true);
	if (bj_disasm(prog, n, &kernel, &text))
		abort();
	free(text);
	for (size_t i = 0; i < n; i++)
		bj_disasm_insn(prog, n, i, &kernel, line, sizeof(line));
	free(prog);
	return 0;
}
