/* SPDX-License-Identifier: Apache-2.0 */
/* Random text into the assembler: it must never crash or leak, and what it accepts must survive disasm -> asm. */
#include <bpfjet/asm.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct bj_insn *prog = NULL, *again = NULL;
	struct bj_error err;
	size_t n = 0, n2 = 0;
	char *dis = NULL;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (bj_asm(text, &prog, &n, &err) == 0) {
		BJ_OPTS(bj_disasm_opts, opts, .labels = size & 1);
		if (bj_disasm(prog, n, &opts, &dis) || bj_asm(dis, &again, &n2, &err) || n2 != n ||
		    memcmp(prog, again, n * sizeof(*prog)))
			abort();
	}
	free(dis);
	free(again);
	free(prog);
	free(text);
	return 0;
}
