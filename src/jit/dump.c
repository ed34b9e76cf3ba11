/* SPDX-License-Identifier: Apache-2.0 */
/* Disassembly of a JIT image with capstone, for `disasm --jit` and tests. */
#include <bpfjet/asm.h>
#include <capstone/capstone.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "isa/isa.h"
#include "jit/jit.h"

/*
 * The jump table of a compare tree (x86_64/switch.c) is data inside the code, right after
 * `lea r11, [rip + end]; movsxd r10, dword [r11 + index*4 - len]; add r10, r11; jmp r10`.
 */
struct table_refs {
	uint64_t end;  /* the lea's target */
	int32_t disp;  /* the movsxd's displacement: minus the table's length */
};

static void note_table_refs(const cs_insn *insn, struct table_refs *refs)
{
	const uint8_t *b = insn->bytes;
	int32_t d;

	if (insn->size == 7 && b[0] == 0x4c && b[1] == 0x8d && b[2] == 0x1d) {
		memcpy(&d, b + 3, 4);
		refs->end = insn->address + insn->size + (uint64_t)(int64_t)d;
	} else if ((b[0] | 2) == 0x4f && b[1] == 0x63 && (b[3] & 0xc7) == 0x83) {
		if (insn->size == 5 && b[2] == 0x54)
			refs->disp = (int8_t)b[4];
		else if (insn->size == 8 && b[2] == 0x94)
			memcpy(&refs->disp, b + 4, 4);
	}
}

/* When insn is the jmp r10 of a table jump, the table's end; else 0. */
static uint64_t jump_table_end(const cs_insn *insn, const struct table_refs *refs, size_t to)
{
	static const uint8_t jmp_r10[3] = { 0x41, 0xff, 0xe2 };
	uint64_t table = insn->address + insn->size;

	if (insn->size != 3 || memcmp(insn->bytes, jmp_r10, 3) || refs->disp >= 0)
		return 0;
	if (refs->end > to || refs->end + (uint64_t)(int64_t)refs->disp != table)
		return 0;
	return refs->end;
}

static void dump_table(const uint8_t *image, uint64_t from, uint64_t end, FILE *out)
{
	for (uint64_t at = from; at < end; at += 4) {
		int32_t rel;
		memcpy(&rel, image + at, 4);
		fprintf(out, "  %5" PRIx64 ":  %-8s 0x%" PRIx64 "\n", at, ".rel32", end + (uint64_t)(int64_t)rel);
	}
}

/* Prints the instructions of [from, to) of the image. */
static int dump_range(csh cs, const uint8_t *image, size_t from, size_t to, FILE *out)
{
	cs_insn *insn = cs_malloc(cs);
	const uint8_t *code = image + from;
	size_t size = to - from;
	uint64_t addr = from, table_end;
	struct table_refs refs = { 0 };

	if (!insn)
		return -ENOMEM;
	while (size && cs_disasm_iter(cs, &code, &size, &addr, insn)) {
		fprintf(out, "  %5" PRIx64 ":  %-8s %s\n", insn->address, insn->mnemonic, insn->op_str);
		note_table_refs(insn, &refs);
		table_end = jump_table_end(insn, &refs, to);
		if (table_end) {
			dump_table(image, addr, table_end, out);
			code = image + table_end;
			size = to - table_end;
			addr = table_end;
		}
	}
	cs_free(insn, 1);
	if (size) {
		fprintf(out, "  %5" PRIx64 ":  (bytes capstone cannot decode)\n", addr);
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
