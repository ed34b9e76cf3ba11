/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Text assembly for eBPF programs, in both directions.
 *
 * The dialect is the one of the bpf_conformance `.data` files (one instruction per line, `#` starts a
 * comment anywhere):
 *
 *   mov %r0, 1            add32 %r1, %r2        neg %r3              sdiv %r1, -3       movsx832 %r0, %r1
 *   be16 %r0              le64 %r0              bswap32 %r0 (swap32) lddw %r1, 0x1122334455667788
 *   ldxw %r0, [%r1+4]     ldxsb %r0, [%r10-1]   stw [%r10-4], 7      stxdw [%r10-8], %r1
 *   jeq %r1, 5, +2        jne32 %r1, %r2, done  ja -3                ja32 loop
 *   lock add [%r10-8], %r1     lock fetch xor32 [%r10-4], %r1     lock cmpxchg [%r10-8], %r1
 *   call 5                call local func1      call %r2             call kfunc 7       exit
 *
 * Registers are %r0..%r10; %r11..%r15 also assemble (the field has 4 bits) so that tests of the loader can
 * write them, and bj_insns_validate() rejects them. Labels are `name:` (at the start of a line, before an instruction or alone); a leading `N:` (decimal)
 * is an instruction index, as the disassembler prints it, and is ignored. Immediates are signed decimal or
 * hex: a 32-bit field takes -2147483648..2147483647 or 0x0..0xffffffff, an offset -32768..32767 or
 * 0x0..0xffff, lddw any 64-bit value. Jump targets are labels or `+N`/`-N` (relative to the next
 * instruction, as in the encoding). As in the conformance suite, a jump to `exit` that no label defines goes to
 * the first `exit` instruction.
 *
 * Forms beyond the conformance suite:
 *   ldabsb/h/w 12, ldindb/h/w %r1, 12         legacy packet loads (BPF_LD | BPF_ABS / BPF_IND)
 *   lddw %r1, map_fd(3)                       src 1: map by file descriptor
 *   lddw %r1, map_fd_value(3, 16)             src 2: address of a map's value area + offset
 *   lddw %r1, btf_id(5)                       src 3
 *   lddw %r1, func(label)                     src 4: address of a subprogram (label or +N)
 *   lddw %r1, map_idx(0)                      src 5: map by index in the program's map table
 *   lddw %r1, map_idx_value(0, 16)            src 6: value area of the map at that index + offset
 *   .raw 0x0000000000000095                   one 8-byte slot, as a little-endian 64-bit word
 *                                             (opcode in the low byte, as in `-- raw` sections)
 * The disassembler writes `.raw` for any slot the other forms cannot express exactly (unknown opcode, a
 * non-zero reserved field), so assembling its output gives back the same bytes for every input.
 */
#ifndef BPFJET_ASM_H
#define BPFJET_ASM_H

#include <bpfjet/insn.h>
#include <stdbool.h>

/*
 * Assembles NUL-terminated text. On success *out (to free() by the caller) holds *n instructions.
 * On failure returns -EINVAL (or -ENOMEM, -E2BIG) and err says why: err->offset is the 1-based line,
 * err->insn the index the failing instruction would have had, err->msg names the column and the token.
 */
BJ_API int bj_asm(const char *text, struct bj_insn **out, size_t *n, struct bj_error *err);

enum bj_disasm_style {
	/* The assembler's own dialect: bj_asm() reads it back into the same bytes. */
	BJ_DISASM_ASM = 0,
	/* The kernel verifier / bpftool "xlated" notation (`r0 = *(u32 *)(r1 +4)`), for reading only. */
	BJ_DISASM_KERNEL = 1,
};

struct bj_disasm_opts {
	size_t sz;
	enum bj_disasm_style style;
	/* Prefix each line with its instruction index (`12: `); bj_asm() skips such prefixes. */
	bool indexes;
	/* Kernel style: print the opcode byte after the index, as bpftool does (`(b7) r0 = 1`). */
	bool opcodes;
	/* Assembler style (whole-program only): name jump and call targets with labels `L<index>:`. */
	bool labels;
};

/*
 * Disassembles a program into one NUL-terminated text (to free() by the caller), one instruction per line.
 * Never fails on odd input (it falls back to `.raw`); returns 0, -EINVAL for bad opts, or -ENOMEM.
 */
BJ_API int bj_disasm(const struct bj_insn *insns, size_t n, const struct bj_disasm_opts *opts, char **out_text);

/*
 * Formats the instruction at insns[i] (and its second half, for lddw) into buf, without index or newline;
 * targets are printed as relative offsets. Returns the number of slots it took (1 or 2), or -EINVAL
 * (bad opts, i >= n). The text is cut to fit `size` like snprintf.
 */
BJ_API int bj_disasm_insn(const struct bj_insn *insns, size_t n, size_t i, const struct bj_disasm_opts *opts,
			  char *buf, size_t size);

#endif
