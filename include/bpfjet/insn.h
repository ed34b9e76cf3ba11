/* SPDX-License-Identifier: Apache-2.0 */
/* The eBPF instruction (RFC 9669) and its validation. */
#ifndef BPFJET_INSN_H
#define BPFJET_INSN_H

#include <bpfjet/bpfjet.h>

/* Same layout as the kernel's struct bpf_insn on a little-endian host. */
struct bj_insn {
	uint8_t code;
	uint8_t dst : 4;
	uint8_t src : 4;
	int16_t off;
	int32_t imm;
};

#define BJ_MAX_INSNS (1u << 20)

/*
 * Map references. As in the kernel, a program refers to a map with ld_imm64 pseudo forms: src = 5
 * (BPF_PSEUDO_MAP_IDX, imm = index in the program's map table) loads the map, src = 6
 * (BPF_PSEUDO_MAP_IDX_VALUE, imm = index, next imm = offset) the address of its value area. The loader emits
 * these; the verifier reads them to know the map; just before the program runs they are rewritten into
 * plain ld_imm64 (src = 0) of the real addresses.
 */

/*
 * Checks that `insns` is a well-formed program: known opcodes, valid registers, reserved fields zero,
 * no write to r10, complete ld_imm64 pairs, jump and call targets inside the program and never into the
 * second half of an ld_imm64, and a last instruction that cannot fall off the end.
 * Returns 0, or -EINVAL with err (if not NULL) naming the instruction and the reason.
 */
BJ_API int bj_insns_validate(const struct bj_insn *insns, size_t n, struct bj_error *err);

#endif
