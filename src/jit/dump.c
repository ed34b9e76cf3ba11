/* SPDX-License-Identifier: Apache-2.0 */
/* Disassembly of a JIT image with capstone, for `disasm --jit` and tests. */
#include <bpfjet/asm.h>
#include <capstone/capstone.h>
#include <errno.h>
#include <inttypes.h>

#include "isa/isa.h"
#include "jit/jit.h"

/* Prints the instructions of [from, to) of the image. */
static int dump_range(csh cs, const uint8_t *image, size_t from, size_t to, FILE *out)
{
	cs_insn *insn = NULL;
	size_t count = cs_disasm(cs, image + from, to - from, from, 0, &insn);
	size_t done = 0;

	for (size_t k = 0; k < count; k++) {
		fprintf(out, "  %5" PRIx64 ":  %-8s %s\n", insn[k].address, insn[k].mnemonic, insn[k].op_str);
		done += insn[k].size;
	}
	cs_free(insn, count);
	if (done != to - from) {
		fprintf(out, "  %5zx:  (bytes capstone cannot decode)\n", from + done);
		return -EINVAL;
	}
	return 0;
}

/* `; insn 12: add %r0, 1`: the BPF instruction the code below it comes from. */
static void dump_insn_header(const struct bj_insn *insns, size_t n, size_t i, FILE *out)
{
	BJ_OPTS(bj_disasm_opts, opts);
	char text[128];

	if (bj_disasm_insn(insns, n, i, &opts, text, sizeof(text)) < 0)
		snprintf(text, sizeof(text), "code 0x%02x", insns[i].code);
	fprintf(out, "; insn %zu: %s\n", i, text);
}

int bj_jit_code_dump(const struct bj_jit_code *code, const struct bj_insn *insns, FILE *out)
{
	size_t len, n;
	const uint8_t *image = bj_jit_code_image(code, &len);
	const uint32_t *offs = bj_jit_code_offsets(code, &n);
	size_t prev = 0;
	int ret = 0;
	csh cs;

	if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK)
		return -EINVAL;
	fprintf(out, "; prologue\n");
	for (size_t i = 0; i <= n; i++) {
		size_t end = i < n ? offs[i] : len;
		if (dump_range(cs, image, prev, end, out))
			ret = -EINVAL;
		prev = end;
		if (i == n)
			fprintf(out, "; fault exits and checks\n");
		else if (i == 0 || insns[i - 1].code != BJ_LDDW)
			dump_insn_header(insns, n, i, out);
	}
	cs_close(&cs);
	return ret;
}
