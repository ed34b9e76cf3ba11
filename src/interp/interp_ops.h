/* SPDX-License-Identifier: Apache-2.0 */
/* The interpreter's internal operations: one per handler, finer than opcodes (sdiv, movsx, atomics). */
#ifndef BJ_INTERP_OPS_H
#define BJ_INTERP_OPS_H

/* Binary ALU operations: each has four handlers NAME64_K, NAME64_X, NAME32_K, NAME32_X, in that order. */
#define BJ_ALU_NAMES(X) \
	X(ADD) X(SUB) X(MUL) X(DIV) X(SDIV) X(OR) X(AND) X(LSH) X(RSH) X(MOD) X(SMOD) X(XOR) X(MOV) X(ARSH)

/* Conditional jumps: each has four handlers NAME_K, NAME_X, NAME32_K, NAME32_X, in that order. */
#define BJ_JMP_NAMES(X) \
	X(JEQ) X(JGT) X(JGE) X(JSET) X(JNE) X(JSGT) X(JSGE) X(JLT) X(JLE) X(JSLT) X(JSLE)

/* Atomic operations, for W (A32_) and DW (A64_). */
#define BJ_ATOMIC_NAMES(X) \
	X(ADD) X(OR) X(AND) X(XOR) X(FADD) X(FOR) X(FAND) X(FXOR) X(XCHG) X(CMPXCHG)

#define BJ_OTHER_OPS(X)                                                                                   \
	X(NEG64) X(NEG32) X(MOVSX64_8) X(MOVSX64_16) X(MOVSX64_32) X(MOVSX32_8) X(MOVSX32_16)             \
	X(BSWAP16) X(BSWAP32) X(BSWAP64) X(LE16) X(LE32) X(LE64) X(BE16) X(BE32) X(BE64)                  \
	X(JA) X(CALL) X(CALL_LOCAL) X(CALLX) X(EXIT)                                                      \
	X(LDXB) X(LDXH) X(LDXW) X(LDXDW) X(LDXSB) X(LDXSH) X(LDXSW)                                      \
	X(STB) X(STH) X(STW) X(STDW) X(STXB) X(STXH) X(STXW) X(STXDW)                                     \
	X(LDDW) X(LDABSB) X(LDABSH) X(LDABSW) X(LDINDB) X(LDINDH) X(LDINDW)

#define BJ_OP_ALU4(N) OP_##N##64_K, OP_##N##64_X, OP_##N##32_K, OP_##N##32_X,
#define BJ_OP_JMP4(N) OP_##N##_K, OP_##N##_X, OP_##N##32_K, OP_##N##32_X,
#define BJ_OP_ATOMIC2(N) OP_A32_##N, OP_A64_##N,
#define BJ_OP_ONE(N) OP_##N,

enum bj_interp_op {
	BJ_ALU_NAMES(BJ_OP_ALU4)
	BJ_JMP_NAMES(BJ_OP_JMP4)
	BJ_ATOMIC_NAMES(BJ_OP_ATOMIC2)
	BJ_OTHER_OPS(BJ_OP_ONE)
	OP__COUNT
};

#endif
