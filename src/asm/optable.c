/* SPDX-License-Identifier: Apache-2.0 */
#include "asm/asm.h"

#include <string.h>

/*
 * One row per mnemonic. Where two mnemonics encode the same instruction (swap16 = bswap16, add64 = add),
 * the first row is the one the disassembler prints.
 */
#define ALU2(name, op, sym, off)                                                           \
	{ name, sym, BPF_ALU64 | (op) | BPF_K, FORM_ALU, off, 0 },                          \
	{ name "32", sym, BPF_ALU | (op) | BPF_K, FORM_ALU, off, 0 }
#define ALU64_ALIAS(name, op, sym, off) { name "64", sym, BPF_ALU64 | (op) | BPF_K, FORM_ALU, off, 0 }
#define JMP2(name, op, sym)                                                                \
	{ name, sym, BPF_JMP | (op) | BPF_K, FORM_JMP, 0, 0 },                              \
	{ name "32", sym, BPF_JMP32 | (op) | BPF_K, FORM_JMP, 0, 0 }
#define END3(name, code, sym)                                                              \
	{ name "16", sym, code, FORM_END, 0, 16 }, { name "32", sym, code, FORM_END, 0, 32 }, \
	{ name "64", sym, code, FORM_END, 0, 64 }
#define MEM4(prefix, form, cls, mode)                                                      \
	{ prefix "b", "u8", (cls) | (mode) | BPF_B, form, 0, 0 },                           \
	{ prefix "h", "u16", (cls) | (mode) | BPF_H, form, 0, 0 },                          \
	{ prefix "w", "u32", (cls) | (mode) | BPF_W, form, 0, 0 },                          \
	{ prefix "dw", "u64", (cls) | (mode) | BPF_DW, form, 0, 0 }
#define MEM3(prefix, sym, form, cls, mode)                                                 \
	{ prefix "b", sym "8", (cls) | (mode) | BPF_B, form, 0, 0 },                        \
	{ prefix "h", sym "16", (cls) | (mode) | BPF_H, form, 0, 0 },                       \
	{ prefix "w", sym "32", (cls) | (mode) | BPF_W, form, 0, 0 }
#define ATOMIC2(name, sym, op)                                                             \
	{ "lock " name, sym, BPF_STX | BPF_ATOMIC | BPF_DW, FORM_ATOMIC, 0, op },           \
	{ "lock " name "32", sym, BPF_STX | BPF_ATOMIC | BPF_W, FORM_ATOMIC, 0, op }

const struct asm_op bj_asm_ops[] = {
	ALU2("add", BPF_ADD, "+=", 0),
	ALU2("sub", BPF_SUB, "-=", 0),
	ALU2("mul", BPF_MUL, "*=", 0),
	ALU2("div", BPF_DIV, "/=", 0),
	ALU2("sdiv", BPF_DIV, "s/=", 1),
	ALU2("or", BPF_OR, "|=", 0),
	ALU2("and", BPF_AND, "&=", 0),
	ALU2("lsh", BPF_LSH, "<<=", 0),
	ALU2("rsh", BPF_RSH, ">>=", 0),
	ALU2("mod", BPF_MOD, "%=", 0),
	ALU2("smod", BPF_MOD, "s%=", 1),
	ALU2("xor", BPF_XOR, "^=", 0),
	ALU2("mov", BPF_MOV, "=", 0),
	ALU2("arsh", BPF_ARSH, "s>>=", 0),
	{ "neg", "-", BPF_ALU64 | BPF_NEG, FORM_NEG, 0, 0 },
	{ "neg32", "-", BPF_ALU | BPF_NEG, FORM_NEG, 0, 0 },
	{ "movsx864", "s8", BPF_ALU64 | BPF_MOV | BPF_X, FORM_MOVSX, 8, 0 },
	{ "movsx1664", "s16", BPF_ALU64 | BPF_MOV | BPF_X, FORM_MOVSX, 16, 0 },
	{ "movsx3264", "s32", BPF_ALU64 | BPF_MOV | BPF_X, FORM_MOVSX, 32, 0 },
	{ "movsx832", "s8", BPF_ALU | BPF_MOV | BPF_X, FORM_MOVSX, 8, 0 },
	{ "movsx1632", "s16", BPF_ALU | BPF_MOV | BPF_X, FORM_MOVSX, 16, 0 },
	END3("be", BPF_ALU | BPF_END | BPF_TO_BE, "be"),
	END3("le", BPF_ALU | BPF_END | BPF_TO_LE, "le"),
	END3("bswap", BPF_ALU64 | BPF_END, "bswap"),
	END3("swap", BPF_ALU64 | BPF_END, "bswap"),
	ALU64_ALIAS("add", BPF_ADD, "+=", 0),
	ALU64_ALIAS("sub", BPF_SUB, "-=", 0),
	ALU64_ALIAS("mul", BPF_MUL, "*=", 0),
	ALU64_ALIAS("div", BPF_DIV, "/=", 0),
	ALU64_ALIAS("sdiv", BPF_DIV, "s/=", 1),
	ALU64_ALIAS("or", BPF_OR, "|=", 0),
	ALU64_ALIAS("and", BPF_AND, "&=", 0),
	ALU64_ALIAS("lsh", BPF_LSH, "<<=", 0),
	ALU64_ALIAS("rsh", BPF_RSH, ">>=", 0),
	ALU64_ALIAS("mod", BPF_MOD, "%=", 0),
	ALU64_ALIAS("smod", BPF_MOD, "s%=", 1),
	ALU64_ALIAS("xor", BPF_XOR, "^=", 0),
	ALU64_ALIAS("mov", BPF_MOV, "=", 0),
	ALU64_ALIAS("arsh", BPF_ARSH, "s>>=", 0),
	{ "neg64", "-", BPF_ALU64 | BPF_NEG, FORM_NEG, 0, 0 },

	{ "ja", "goto", BPF_JMP | BPF_JA, FORM_JA, 0, 0 },
	{ "ja32", "gotol", BPF_JMP32 | BPF_JA, FORM_JA32, 0, 0 },
	JMP2("jeq", BPF_JEQ, "=="),
	JMP2("jgt", BPF_JGT, ">"),
	JMP2("jge", BPF_JGE, ">="),
	JMP2("jset", BPF_JSET, "&"),
	JMP2("jne", BPF_JNE, "!="),
	JMP2("jsgt", BPF_JSGT, "s>"),
	JMP2("jsge", BPF_JSGE, "s>="),
	JMP2("jlt", BPF_JLT, "<"),
	JMP2("jle", BPF_JLE, "<="),
	JMP2("jslt", BPF_JSLT, "s<"),
	JMP2("jsle", BPF_JSLE, "s<="),
	{ "call", "call", BPF_JMP | BPF_CALL, FORM_CALL, 0, 0 },
	{ "call local", "call", BPF_JMP | BPF_CALL, FORM_CALL_REL, 0, 0 },
	{ "call kfunc", "call kfunc", BPF_JMP | BPF_CALL, FORM_CALL_KFUNC, 0, 0 },
	{ "exit", "exit", BPF_JMP | BPF_EXIT, FORM_EXIT, 0, 0 },

	MEM4("ldx", FORM_LDX, BPF_LDX, BPF_MEM),
	MEM3("ldxs", "s", FORM_LDX, BPF_LDX, BPF_MEMSX),
	MEM4("st", FORM_ST, BPF_ST, BPF_MEM),
	MEM4("stx", FORM_STX, BPF_STX, BPF_MEM),
	ATOMIC2("add", "+=", BPF_ADD),
	ATOMIC2("and", "&=", BPF_AND),
	ATOMIC2("or", "|=", BPF_OR),
	ATOMIC2("xor", "^=", BPF_XOR),
	ATOMIC2("fetch add", "fetch_add", BPF_ADD | BPF_FETCH),
	ATOMIC2("fetch and", "fetch_and", BPF_AND | BPF_FETCH),
	ATOMIC2("fetch or", "fetch_or", BPF_OR | BPF_FETCH),
	ATOMIC2("fetch xor", "fetch_xor", BPF_XOR | BPF_FETCH),
	ATOMIC2("xchg", "xchg", BPF_XCHG),
	ATOMIC2("cmpxchg", "cmpxchg", BPF_CMPXCHG),

	{ "lddw", "", BJ_LDDW, FORM_LDDW, 0, 0 },
	MEM3("ldabs", "u", FORM_LDABS, BPF_LD, BPF_ABS),
	MEM3("ldind", "u", FORM_LDIND, BPF_LD, BPF_IND),
};

const size_t bj_asm_n_ops = BJ_ARRAY_SIZE(bj_asm_ops);

const struct asm_op *bj_asm_op_by_name(const char *name, size_t len)
{
	for (size_t i = 0; i < bj_asm_n_ops; i++)
		if (strlen(bj_asm_ops[i].name) == len && !memcmp(bj_asm_ops[i].name, name, len))
			return &bj_asm_ops[i];
	return NULL;
}

static bool op_matches(const struct asm_op *op, const struct bj_insn *in)
{
	switch (op->form) {
	case FORM_ALU:
		return (in->code & ~BPF_X) == op->code && in->off == op->off;
	case FORM_JMP:
		return (in->code & ~BPF_X) == op->code;
	case FORM_CALL:
		return in->code == (op->code | BPF_X) || (in->code == op->code && in->src == 0);
	case FORM_CALL_REL:
		return in->code == op->code && in->src == BPF_PSEUDO_CALL;
	case FORM_CALL_KFUNC:
		return in->code == op->code && in->src == BPF_PSEUDO_KFUNC_CALL;
	case FORM_MOVSX:
		return in->code == op->code && in->off == op->off;
	case FORM_END:
	case FORM_ATOMIC:
		return in->code == op->code && in->imm == op->imm;
	default:
		return in->code == op->code;
	}
}

const struct asm_op *bj_asm_op_by_insn(const struct bj_insn *in)
{
	for (size_t i = 0; i < bj_asm_n_ops; i++)
		if (op_matches(&bj_asm_ops[i], in))
			return &bj_asm_ops[i];
	return NULL;
}
