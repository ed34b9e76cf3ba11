/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tracked numbers for the verifier, as Linux tracks them (kernel/bpf/tnum.c and the bounds logic of
 * kernel/bpf/verifier.c): a tnum (known bits) plus signed and unsigned bounds in 64 and 32 bits, kept
 * consistent with each other after every operation. A scalar register, and the variable part of a
 * pointer's offset, are one of these.
 */
#ifndef BJ_VERIFIER_SCALAR_H
#define BJ_VERIFIER_SCALAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* value: the known bits; mask: the unknown ones (value & mask == 0). */
struct tnum {
	uint64_t value;
	uint64_t mask;
};

struct tnum tnum_const(uint64_t v);
struct tnum tnum_unknown(void);
/* The tnum of every value in [min, max] (unsigned). */
struct tnum tnum_range(uint64_t min, uint64_t max);
struct tnum tnum_add(struct tnum a, struct tnum b);
struct tnum tnum_sub(struct tnum a, struct tnum b);
struct tnum tnum_neg(struct tnum a);
struct tnum tnum_and(struct tnum a, struct tnum b);
struct tnum tnum_or(struct tnum a, struct tnum b);
struct tnum tnum_xor(struct tnum a, struct tnum b);
struct tnum tnum_mul(struct tnum a, struct tnum b);
struct tnum tnum_lshift(struct tnum a, uint8_t shift);
struct tnum tnum_rshift(struct tnum a, uint8_t shift);
/* Arithmetic shift of the low insn_bitness (32 or 64) bits. */
struct tnum tnum_arshift(struct tnum a, uint8_t shift, uint8_t insn_bitness);
struct tnum tnum_intersect(struct tnum a, struct tnum b);
struct tnum tnum_union(struct tnum a, struct tnum b);
/* Truncated to `size` bytes (zero-extended). */
struct tnum tnum_cast(struct tnum a, uint8_t size);
struct tnum tnum_subreg(struct tnum a);              /* low 32 bits */
struct tnum tnum_clear_subreg(struct tnum a);        /* high 32 bits only */
struct tnum tnum_with_subreg(struct tnum reg, struct tnum subreg);
struct tnum tnum_const_subreg(struct tnum a, uint32_t v);
bool tnum_is_const(struct tnum a);
bool tnum_is_unknown(struct tnum a);
bool tnum_equals_const(struct tnum a, uint64_t b);
/* The smallest value of a greater than z, or a's largest value if none is (Linux's tnum_step). */
uint64_t tnum_step(struct tnum a, uint64_t z);
/* Every value of b is a value of a. */
bool tnum_in(struct tnum a, struct tnum b);
/* `size` is a power of two and every value of a is a multiple of it. */
bool tnum_is_aligned(struct tnum a, uint64_t size);
/* Linux's notation: "(0x0; 0xff)" or, for constants, the value. Returns the length as snprintf. */
int tnum_sbin(char *buf, size_t size, struct tnum a);

struct bj_scalar {
	struct tnum var_off;
	int64_t smin, smax;
	uint64_t umin, umax;
	int32_t s32_min, s32_max;
	uint32_t u32_min, u32_max;
};

void sc_set_const(struct bj_scalar *s, uint64_t v);
void sc_set_unknown(struct bj_scalar *s);
/* The value of a zero-extending load of `size` bytes (1, 2, 4, 8): [0, 2^(8*size) - 1]. */
void sc_set_unknown_size(struct bj_scalar *s, uint8_t size);
/* The value of a sign-extending load (ldsx) or movsx of `size` bytes (1, 2, 4). */
void sc_set_unknown_sext(struct bj_scalar *s, uint8_t size);
/*
 * A load of `size` bytes (1, 2, 4; 8 leaves s as it is) whose source value s is tracked, e.g. a narrower
 * fill of a spilled scalar: zero-extending (Linux's coerce_reg_to_size) or sign-extending
 * (coerce_reg_to_size_sx).
 */
void sc_coerce_size(struct bj_scalar *s, uint8_t size);
void sc_coerce_size_sext(struct bj_scalar *s, uint8_t size);
bool sc_is_const(const struct bj_scalar *s);
bool sc_is_const32(const struct bj_scalar *s); /* the low 32 bits are known */
uint64_t sc_const_value(const struct bj_scalar *s);

/* Linux's reg_bounds_sync: tightens every bound from the others and the tnum from the bounds. */
void sc_sync(struct bj_scalar *s);
/* A 32-bit result: the upper half becomes zero and the 64-bit bounds follow from the 32-bit ones. */
void sc_zext32(struct bj_scalar *s);

/*
 * dst = dst OP src for an ALU/ALU64 opcode (BPF_ADD ... BPF_END, the BPF_OP bits of insn->code), alu32 for
 * the ALU class. off is the instruction's offset field (1 selects sdiv/smod; for BPF_MOV, 8/16/32 selects
 * movsx). For BPF_END and BPF_NEG src is unused; `imm` is the byte-swap width for BPF_END and `to_be`
 * whether it converts to big endian (BPF_TO_BE or the ALU64 bswap). Shifts by amounts that may be out of
 * range make dst unknown (Linux does the same), as do divisions and modulo whose result it cannot bound.
 * Leaves dst consistent (sc_sync), except that a 64-bit mov or movsx gives what Linux's gives, unsynced.
 * For the K forms, src is the constant sign-extended imm (sc_set_const((uint64_t)(int64_t)imm)).
 */
void sc_alu(struct bj_scalar *dst, const struct bj_scalar *src, uint8_t op, bool alu32, int16_t off, int32_t imm,
	    bool to_be);

/*
 * Linux splits the path at `dst &= K` and `dst |= K` (src's tnum a constant) when dst is -1 or 0: its
 * 64-bit signed range is [-1, 0], or else its 32-bit one (the low half then). Returns whether it does; if
 * so, dst becomes the -1 case, for this path to go on with sc_alu, and *zero the 0 case, for a path the
 * caller pushes to run the same instruction again.
 */
bool sc_alu_split(struct bj_scalar *dst, struct bj_scalar *zero, const struct bj_scalar *src, uint8_t op);

/*
 * Whether `a OP b` holds for a conditional jump opcode (BPF_JEQ ... BPF_JSLE, the BPF_OP bits) compared in
 * 32 bits (jmp32) or 64: 1 always, 0 never, -1 it depends (Linux's is_branch_taken).
 */
int sc_branch_taken(const struct bj_scalar *a, const struct bj_scalar *b, uint8_t op, bool jmp32);
/*
 * Narrows a and b to the values for which `a OP b` is `taken` (Linux's reg_set_min_max): the caller
 * passes copies for each side of the branch. Returns false when no value satisfies it (the branch is dead);
 * a side sc_branch_taken already decides is left as it is, as Linux follows it unrefined. Bounds that the
 * refinement leaves contradicting each other (Linux's "REG INVARIANTS VIOLATION", on a side no value
 * reaches) are reset to unbounded with the tnum kept, as Linux does, and true is returned.
 */
bool sc_refine(struct bj_scalar *a, struct bj_scalar *b, uint8_t op, bool jmp32, bool taken);

/* For state pruning: every value cur can hold, old can hold too (Linux's range_within && tnum_in). */
bool sc_within(const struct bj_scalar *old, const struct bj_scalar *cur);
bool sc_equal(const struct bj_scalar *a, const struct bj_scalar *b);

/*
 * Linux's notation inside "scalar(...)": "smin=...,smax=...,umax=...,var_off=(0x0; 0xff)" listing only the
 * bounds that say more than the others, or the value of a constant. As Linux, numbers within [-32768,
 * 32767] (65535 unsigned) are decimal, others hex. Returns the length as snprintf.
 */
int sc_format(char *buf, size_t size, const struct bj_scalar *s);

#endif
