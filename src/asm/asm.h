/* SPDX-License-Identifier: Apache-2.0 */
/* The opcode table that both the assembler and the disassembler read. */
#ifndef BJ_ASM_INT_H
#define BJ_ASM_INT_H

#include <bpfjet/asm.h>

#include "isa/isa.h"

/* How an instruction's fields appear in the text. */
enum asm_form {
	FORM_ALU,       /* op %rD, %rS|imm    (register form sets BPF_X) */
	FORM_NEG,       /* neg %rD */
	FORM_MOVSX,     /* movsxNM %rD, %rS   (off = source width) */
	FORM_END,       /* be16 %rD           (imm = width) */
	FORM_JA,        /* ja target          (off) */
	FORM_JA32,      /* ja32 target        (imm) */
	FORM_JMP,       /* jeq %rD, %rS|imm, target */
	FORM_CALL,      /* call imm | call %rD (callx) */
	FORM_CALL_REL,  /* call local target  (src 1, imm) */
	FORM_CALL_KFUNC,/* call kfunc imm     (src 2) */
	FORM_EXIT,
	FORM_LDX,       /* ldxw %rD, [%rS+off] */
	FORM_ST,        /* stw [%rD+off], imm */
	FORM_STX,       /* stxw [%rD+off], %rS */
	FORM_ATOMIC,    /* lock add [%rD+off], %rS   (imm = operation) */
	FORM_LDDW,      /* lddw %rD, imm64 | pseudo(...) */
	FORM_LDABS,     /* ldabsw imm */
	FORM_LDIND,     /* ldindw %rS, imm */
};

struct asm_op {
	const char *name;  /* mnemonic in the assembler dialect */
	const char *sym;   /* kernel dialect: operator (`+=`, `==`) or function (`atomic_fetch_add`) */
	uint8_t code;      /* for FORM_ALU, FORM_JMP and FORM_CALL: the BPF_K form */
	uint8_t form;
	int16_t off;       /* the fixed offset of FORM_ALU (1 = signed div/mod) and FORM_MOVSX */
	int32_t imm;       /* the fixed imm of FORM_END and FORM_ATOMIC */
};

extern const struct asm_op bj_asm_ops[];
extern const size_t bj_asm_n_ops;

/* The entry whose mnemonic is `name` (len bytes), or NULL. */
const struct asm_op *bj_asm_op_by_name(const char *name, size_t len);
/* The entry that encodes `in` (ignoring the fields the text carries), or NULL. */
const struct asm_op *bj_asm_op_by_insn(const struct bj_insn *in);

/* Forms whose BPF_X bit is chosen by the operand. */
static inline bool bj_asm_form_has_x(uint8_t form)
{
	return form == FORM_ALU || form == FORM_JMP || form == FORM_CALL;
}

#endif
