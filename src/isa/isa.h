/* SPDX-License-Identifier: Apache-2.0 */
/* The instruction set model every engine shares: classes, fields, targets. */
#ifndef BJ_ISA_H
#define BJ_ISA_H

#include <bpfjet/insn.h>
#include <linux/bpf.h>
#include <stdbool.h>

#include "common/common.h"

#define BJ_NREGS 11
#define BJ_STACK_SIZE 512
#define BJ_MAX_CALL_DEPTH 8

/* Opcode fields (RFC 9669 §3). */
#define BJ_CLASS(code) ((code) & 0x07)
#define BJ_OP(code) ((code) & 0xf0)
#define BJ_SRCBIT(code) ((code) & 0x08)
#define BJ_SIZE(code) ((code) & 0x18)
#define BJ_MODE(code) ((code) & 0xe0)

/* Not in every <linux/bpf.h>. */
#ifndef BPF_MEMSX
#define BPF_MEMSX 0x80
#endif
#ifndef BPF_JCOND
#define BPF_JCOND 0xe0
#endif

#define BJ_LDDW (BPF_LD | BPF_DW | BPF_IMM)
#define BJ_CALLX (BPF_JMP | BPF_CALL | BPF_X)

static inline bool bj_insn_is_lddw(const struct bj_insn *in)
{
	return in->code == BJ_LDDW;
}

/* Size in bytes of a load/store of the given size field. */
static inline unsigned bj_size_bytes(uint8_t code)
{
	static const unsigned bytes[4] = { 4, 2, 1, 8 };
	return bytes[BJ_SIZE(code) >> 3];
}

/* True for JA and the conditional jumps (not CALL, not EXIT). */
bool bj_insn_is_jump(const struct bj_insn *in);
/* True for `call local` (src = BPF_PSEUDO_CALL). */
bool bj_insn_is_local_call(const struct bj_insn *in);
/* Absolute target of a jump or local call at index i; the caller checks the kind first. */
long bj_insn_target(const struct bj_insn *insns, size_t i);
/* The 64-bit immediate of an ld_imm64 pair. */
static inline uint64_t bj_lddw_imm(const struct bj_insn *in)
{
	return (uint64_t)(uint32_t)in[0].imm | ((uint64_t)(uint32_t)in[1].imm << 32);
}
/* Bytes of memory touched by a load or store. */
unsigned bj_insn_access_size(const struct bj_insn *in);

#endif
