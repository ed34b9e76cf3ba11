/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "isa/isa.h"
#include <bpfjet/prog.h>

#define I(c, d, s, o, i) ((struct bj_insn){ .code = (c), .dst = (d), .src = (s), .off = (o), .imm = (i) })
#define EXIT I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
#define MOV64K(d, k) I(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, k)
#define MOV64X(d, s) I(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define MOV32K(d, k) I(BPF_ALU | BPF_MOV | BPF_K, d, 0, 0, k)
#define ALU64K(op, d, k) I(BPF_ALU64 | (op) | BPF_K, d, 0, 0, k)
#define ALU64X(op, d, s) I(BPF_ALU64 | (op) | BPF_X, d, s, 0, 0)
#define ALU32K(op, d, k) I(BPF_ALU | (op) | BPF_K, d, 0, 0, k)
#define ALU32X(op, d, s) I(BPF_ALU | (op) | BPF_X, d, s, 0, 0)
#define SDIV64X(d, s) I(BPF_ALU64 | BPF_DIV | BPF_X, d, s, 1, 0)
#define SDIV32X(d, s) I(BPF_ALU | BPF_DIV | BPF_X, d, s, 1, 0)
#define SMOD64X(d, s) I(BPF_ALU64 | BPF_MOD | BPF_X, d, s, 1, 0)
#define SMOD32X(d, s) I(BPF_ALU | BPF_MOD | BPF_X, d, s, 1, 0)
#define LDDW(d, v) I(BJ_LDDW, d, 0, 0, (int32_t)(uint32_t)(uint64_t)(v)), I(0, 0, 0, 0, (int32_t)((uint64_t)(v) >> 32))
#define JMPK(op, d, k, o) I(BPF_JMP | (op) | BPF_K, d, 0, o, k)
#define JMP32K(op, d, k, o) I(BPF_JMP32 | (op) | BPF_K, d, 0, o, k)
#define JA(o) I(BPF_JMP | BPF_JA, 0, 0, o, 0)
#define LDX(sz, d, s, o) I(BPF_LDX | BPF_MEM | (sz), d, s, o, 0)
#define LDXS(sz, d, s, o) I(BPF_LDX | BPF_MEMSX | (sz), d, s, o, 0)
#define STX(sz, d, s, o) I(BPF_STX | BPF_MEM | (sz), d, s, o, 0)
#define ST(sz, d, o, k) I(BPF_ST | BPF_MEM | (sz), d, 0, o, k)
#define ATOMIC(sz, d, s, o, op) I(BPF_STX | BPF_ATOMIC | (sz), d, s, o, op)
#define CALL(id) I(BPF_JMP | BPF_CALL, 0, 0, 0, id)
#define CALL_LOCAL(rel) I(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, rel)
#define CALLX(r) I(BPF_JMP | BPF_CALL | BPF_X, r, 0, 0, 0)

/* Counts instruction slots after expansion, so that LDDW counts as two. */
#define NSLOTS(...) NSLOTS_(__VA_ARGS__, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1)
#define NSLOTS_(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21, a22, \
		a23, a24, n, ...) n
#define PROG(...) .prog = { __VA_ARGS__ }, .n = NSLOTS(__VA_ARGS__)

#define MAX_INSNS 24

/* Helper 7 of the tests: r1 * 10 + r2, so that argument order shows. */
static uint64_t helper_mix(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, struct bj_run *run)
{
	(void)r3, (void)r4, (void)r5, (void)run;
	return r1 * 10 + r2;
}

static const struct bj_helper test_helpers[] = { { 7, "mix", helper_mix } };

static int create(const struct bj_insn *insns, size_t n, bool unchecked, uint64_t budget, struct bj_prog **prog,
		  struct bj_error *err)
{
	BJ_OPTS(bj_prog_opts, opts, .unchecked = unchecked, .insn_budget = budget, .helpers = test_helpers,
		.n_helpers = BJ_ARRAY_SIZE(test_helpers));
	return bj_prog__create(insns, n, &opts, prog, err);
}

struct sem_case {
	const char *name;
	struct bj_insn prog[MAX_INSNS];
	size_t n;
	uint8_t mem[16];
	size_t mem_len;
	uint64_t r0;
};

static const struct sem_case sem_cases[] = {
	{ "div64 by zero reg", PROG(MOV64K(0, 7), MOV64K(1, 0), ALU64X(BPF_DIV, 0, 1), EXIT), .r0 = 0 },
	{ "div32 by zero imm-free", PROG(LDDW(0, 0x1234567800000009ull), MOV64K(1, 0), ALU32X(BPF_DIV, 0, 1), EXIT), .r0 = 0 },
	{ "div64 imm is sign-extended", PROG(MOV64K(0, -1), ALU64K(BPF_DIV, 0, -1), EXIT), .r0 = 1 },
	{ "div32 imm is unsigned", PROG(MOV32K(0, -2), ALU32K(BPF_DIV, 0, -1), EXIT), .r0 = 0 },
	{ "mod64 by zero keeps dst", PROG(LDDW(0, 0xfedcba9876543210ull), MOV64K(1, 0), ALU64X(BPF_MOD, 0, 1), EXIT),
	  .r0 = 0xfedcba9876543210ull },
	{ "mod32 by zero clears upper", PROG(LDDW(0, 0xfedcba9876543210ull), MOV64K(1, 0), ALU32X(BPF_MOD, 0, 1), EXIT),
	  .r0 = 0x76543210 },
	{ "sdiv64 INT_MIN / -1", PROG(LDDW(0, 0x8000000000000000ull), MOV64K(1, -1), SDIV64X(0, 1), EXIT),
	  .r0 = 0x8000000000000000ull },
	{ "sdiv32 INT_MIN / -1", PROG(LDDW(0, 0xffffffff80000000ull), MOV64K(1, -1), SDIV32X(0, 1), EXIT), .r0 = 0x80000000 },
	{ "sdiv64 by zero", PROG(MOV64K(0, -5), MOV64K(1, 0), SDIV64X(0, 1), EXIT), .r0 = 0 },
	{ "sdiv64 imm", PROG(MOV64K(0, -9), I(BPF_ALU64 | BPF_DIV | BPF_K, 0, 0, 1, -3), EXIT), .r0 = 3 },
	{ "smod64 INT_MIN % -1", PROG(LDDW(0, 0x8000000000000000ull), MOV64K(1, -1), SMOD64X(0, 1), EXIT), .r0 = 0 },
	{ "smod32 INT_MIN % -1", PROG(MOV32K(0, INT32_MIN), MOV64K(1, -1), SMOD32X(0, 1), EXIT), .r0 = 0 },
	{ "smod64 truncates", PROG(MOV64K(0, -13), MOV64K(1, 3), SMOD64X(0, 1), EXIT), .r0 = (uint64_t)-1 },
	{ "smod32 truncates", PROG(MOV64K(0, -13), MOV64K(1, 3), SMOD32X(0, 1), EXIT), .r0 = 0xffffffff },
	{ "smod64 by zero keeps dst", PROG(MOV64K(0, -13), MOV64K(1, 0), SMOD64X(0, 1), EXIT), .r0 = (uint64_t)-13 },
	{ "lsh64 masks 65 to 1", PROG(MOV64K(0, 3), MOV64K(1, 65), ALU64X(BPF_LSH, 0, 1), EXIT), .r0 = 6 },
	{ "lsh32 masks 33 to 1", PROG(LDDW(0, 0x80000003ull), MOV64K(1, 33), ALU32X(BPF_LSH, 0, 1), EXIT), .r0 = 6 },
	{ "rsh32 clears upper", PROG(MOV64K(0, -1), ALU32K(BPF_RSH, 0, 4), EXIT), .r0 = 0x0fffffff },
	{ "arsh32 sign", PROG(MOV32K(0, INT32_MIN), ALU32K(BPF_ARSH, 0, 4), EXIT), .r0 = 0xf8000000 },
	{ "arsh64 sign", PROG(MOV64K(0, -256), ALU64K(BPF_ARSH, 0, 4), EXIT), .r0 = (uint64_t)-16 },
	{ "add32 wraps, upper zero", PROG(MOV64K(0, -1), ALU32K(BPF_ADD, 0, 1), EXIT), .r0 = 0 },
	{ "mul32 upper zero", PROG(MOV64K(0, -1), ALU32K(BPF_MUL, 0, 2), EXIT), .r0 = 0xfffffffe },
	{ "mov32 clears upper", PROG(MOV64K(1, -1), ALU32X(BPF_MOV, 0, 1), EXIT), .r0 = 0xffffffff },
	{ "mov64 imm sign-extends", PROG(MOV64K(0, -2), EXIT), .r0 = (uint64_t)-2 },
	{ "neg32", PROG(MOV64K(0, 1), ALU32K(BPF_NEG, 0, 0), EXIT), .r0 = 0xffffffff },
	{ "neg64", PROG(MOV64K(0, 1), ALU64K(BPF_NEG, 0, 0), EXIT), .r0 = (uint64_t)-1 },
	{ "movsx64 8", PROG(MOV64K(1, 0x180), I(BPF_ALU64 | BPF_MOV | BPF_X, 0, 1, 8, 0), EXIT), .r0 = (uint64_t)-128 },
	{ "movsx64 16", PROG(MOV64K(1, 0x8000), I(BPF_ALU64 | BPF_MOV | BPF_X, 0, 1, 16, 0), EXIT), .r0 = (uint64_t)-32768 },
	{ "movsx64 32", PROG(MOV32K(1, INT32_MIN), I(BPF_ALU64 | BPF_MOV | BPF_X, 0, 1, 32, 0), EXIT),
	  .r0 = 0xffffffff80000000ull },
	{ "movsx32 16 zero-extends", PROG(MOV64K(1, 0x8000), I(BPF_ALU | BPF_MOV | BPF_X, 0, 1, 16, 0), EXIT),
	  .r0 = 0xffff8000 },
	{ "bswap16", PROG(LDDW(0, 0x1122334455667788ull), I(BPF_ALU64 | BPF_END, 0, 0, 0, 16), EXIT), .r0 = 0x8877 },
	{ "bswap32", PROG(LDDW(0, 0x1122334455667788ull), I(BPF_ALU64 | BPF_END, 0, 0, 0, 32), EXIT), .r0 = 0x88776655 },
	{ "bswap64", PROG(LDDW(0, 0x1122334455667788ull), I(BPF_ALU64 | BPF_END, 0, 0, 0, 64), EXIT),
	  .r0 = 0x8877665544332211ull },
	{ "be16", PROG(LDDW(0, 0x1122334455667788ull), I(BPF_ALU | BPF_END | BPF_TO_BE, 0, 0, 0, 16), EXIT), .r0 = 0x8877 },
	{ "le16 truncates", PROG(LDDW(0, 0x1122334455667788ull), I(BPF_ALU | BPF_END | BPF_TO_LE, 0, 0, 0, 16), EXIT),
	  .r0 = 0x7788 },
	{ "le32 truncates", PROG(LDDW(0, 0x1122334455667788ull), I(BPF_ALU | BPF_END | BPF_TO_LE, 0, 0, 0, 32), EXIT),
	  .r0 = 0x55667788 },
	{ "jeq32 ignores upper half", PROG(LDDW(1, 0x100000000ull), MOV64K(0, 1), JMP32K(BPF_JEQ, 1, 0, 1), EXIT,
					   MOV64K(0, 2), EXIT), .r0 = 2 },
	{ "jeq64 sees upper half", PROG(LDDW(1, 0x100000000ull), MOV64K(0, 1), JMPK(BPF_JEQ, 1, 0, 1), EXIT,
					MOV64K(0, 2), EXIT), .r0 = 1 },
	{ "jsgt signed vs jgt unsigned", PROG(MOV64K(1, -1), MOV64K(0, 0), JMPK(BPF_JSGT, 1, 0, 1), ALU64K(BPF_ADD, 0, 1),
					      JMPK(BPF_JGT, 1, 0, 1), ALU64K(BPF_ADD, 0, 2), EXIT), .r0 = 1 },
	{ "jslt32 on low half", PROG(LDDW(1, 0x00000000ffffffffull), MOV64K(0, 0), JMP32K(BPF_JSLT, 1, 0, 1), EXIT,
				     MOV64K(0, 5), EXIT), .r0 = 5 },
	{ "jset", PROG(MOV64K(1, 6), MOV64K(0, 0), JMPK(BPF_JSET, 1, 1, 1), MOV64K(0, 9), EXIT), .r0 = 9 },
	{ "gotol", PROG(MOV64K(0, 1), I(BPF_JMP32 | BPF_JA, 0, 0, 0, 1), MOV64K(0, 2), EXIT), .r0 = 1 },
	{ "ldxsb/ldxsh from stack", PROG(ST(BPF_DW, 10, -8, -2), LDXS(BPF_B, 0, 10, -8), LDXS(BPF_H, 1, 10, -8),
					 ALU64X(BPF_ADD, 0, 1), LDX(BPF_B, 1, 10, -8), ALU64X(BPF_ADD, 0, 1), EXIT),
	  .r0 = (uint64_t)-4 + 0xfe },
	{ "ldxsw", PROG(ST(BPF_W, 10, -4, INT32_MIN), LDXS(BPF_W, 0, 10, -4), EXIT), .r0 = 0xffffffff80000000ull },
	{ "stdw imm sign-extends", PROG(ST(BPF_DW, 10, -8, -1), LDX(BPF_DW, 0, 10, -8), EXIT), .r0 = (uint64_t)-1 },
	{ "memory r1 and r2", PROG(LDX(BPF_W, 0, 1, 0), ALU64X(BPF_ADD, 0, 2), EXIT), .mem = { 1, 2, 0, 0 }, .mem_len = 4,
	  .r0 = 0x201 + 4 },
	{ "store into memory", PROG(ST(BPF_H, 1, 2, 0x1234), LDX(BPF_W, 0, 1, 0), EXIT), .mem = { 0xaa, 0xbb, 0, 0 },
	  .mem_len = 4, .r0 = 0x1234bbaa },
	{ "atomic fetch add 32", PROG(ST(BPF_W, 10, -4, -1), MOV64K(1, 2), ATOMIC(BPF_W, 10, 1, -4, BPF_ADD | BPF_FETCH),
				      LDX(BPF_W, 0, 10, -4), ALU64K(BPF_LSH, 0, 32), ALU64X(BPF_OR, 0, 1), EXIT),
	  .r0 = 0x00000001ffffffffull },
	{ "atomic and/or/xor 64", PROG(ST(BPF_DW, 10, -8, 0xf0), MOV64K(1, 0x3c), ATOMIC(BPF_DW, 10, 1, -8, BPF_AND),
				       MOV64K(1, 0x101), ATOMIC(BPF_DW, 10, 1, -8, BPF_OR), MOV64K(1, 0x3),
				       ATOMIC(BPF_DW, 10, 1, -8, BPF_XOR | BPF_FETCH), LDX(BPF_DW, 0, 10, -8),
				       ALU64K(BPF_LSH, 0, 16), ALU64X(BPF_OR, 0, 1), EXIT), .r0 = 0x1320131 },
	{ "atomic xchg 64", PROG(ST(BPF_DW, 10, -8, 5), MOV64K(1, 9), ATOMIC(BPF_DW, 10, 1, -8, BPF_XCHG),
				 LDX(BPF_DW, 0, 10, -8), ALU64K(BPF_MUL, 0, 10), ALU64X(BPF_ADD, 0, 1), EXIT), .r0 = 95 },
	{ "cmpxchg 32 success", PROG(ST(BPF_W, 10, -4, 5), MOV64K(0, 5), MOV64K(1, 8), ATOMIC(BPF_W, 10, 1, -4, BPF_CMPXCHG),
				     LDX(BPF_W, 1, 10, -4), ALU64K(BPF_MUL, 0, 10), ALU64X(BPF_ADD, 0, 1), EXIT), .r0 = 58 },
	{ "cmpxchg 64 failure", PROG(ST(BPF_DW, 10, -8, 5), MOV64K(0, 4), MOV64K(1, 8), ATOMIC(BPF_DW, 10, 1, -8, BPF_CMPXCHG),
				     LDX(BPF_DW, 1, 10, -8), ALU64K(BPF_MUL, 0, 10), ALU64X(BPF_ADD, 0, 1), EXIT), .r0 = 55 },
	{ "cmpxchg 32 zero-extends r0", PROG(ST(BPF_W, 10, -4, -1), MOV64K(0, 0), MOV64K(1, 8),
					     ATOMIC(BPF_W, 10, 1, -4, BPF_CMPXCHG), EXIT), .r0 = 0xffffffff },
	{ "call local: r6-r9 callee-saved, fresh r10",
	  PROG(MOV64K(6, 1), MOV64K(9, 4), ST(BPF_DW, 10, -8, 100), CALL_LOCAL(5), ALU64X(BPF_ADD, 0, 6), ALU64X(BPF_ADD, 0, 9),
	       LDX(BPF_DW, 1, 10, -8), ALU64X(BPF_ADD, 0, 1), EXIT,
	       /* callee: clobber r6/r9, its stack slot is separate from the caller's */
	       MOV64K(6, 1000), MOV64K(9, 1000), ST(BPF_DW, 10, -8, 7), LDX(BPF_DW, 0, 10, -8), EXIT),
	  .r0 = 7 + 1 + 4 + 100 },
	{ "callee reads the caller's stack through a pointer",
	  PROG(ST(BPF_DW, 10, -8, 42), MOV64X(1, 10), ALU64K(BPF_ADD, 1, -8), CALL_LOCAL(1), EXIT, LDX(BPF_DW, 0, 1, 0), EXIT),
	  .r0 = 42 },
	{ "helper call", PROG(MOV64K(1, 3), MOV64K(2, 4), CALL(7), EXIT), .r0 = 34 },
	{ "callx", PROG(MOV64K(1, 5), MOV64K(2, 1), MOV64K(3, 7), CALLX(3), EXIT), .r0 = 51 },
	{ "ld_abs h, network order", PROG(I(BPF_LD | BPF_ABS | BPF_H, 0, 0, 0, 1), EXIT), .mem = { 0x11, 0x22, 0x33 },
	  .mem_len = 3, .r0 = 0x2233 },
	{ "ld_ind w", PROG(MOV64K(6, 1), I(BPF_LD | BPF_IND | BPF_W, 0, 6, 0, 1), EXIT), .mem = { 0, 0, 1, 2, 3, 4 },
	  .mem_len = 6, .r0 = 0x01020304 },
	{ "ld_abs out of range ends with 0", PROG(MOV64K(0, 9), I(BPF_LD | BPF_ABS | BPF_B, 0, 0, 0, 3), MOV64K(0, 9), EXIT),
	  .mem = { 1, 2, 3 }, .mem_len = 3, .r0 = 0 },
};

static void test_semantics(void **state)
{
	(void)state;
	for (size_t i = 0; i < BJ_ARRAY_SIZE(sem_cases); i++) {
		const struct sem_case *c = &sem_cases[i];
		for (int unchecked = 0; unchecked < 2; unchecked++) {
			uint8_t mem[sizeof(c->mem)];
			struct bj_error err = { 0 };
			struct bj_prog *prog;
			uint64_t r0 = 0;
			int ret;

			memcpy(mem, c->mem, sizeof(mem));
			ret = create(c->prog, c->n, unchecked, 0, &prog, &err);
			if (ret)
				fail_msg("%s: create: %d %s", c->name, ret, err.msg);
			ret = bj_prog__exec(prog, c->mem_len ? mem : NULL, c->mem_len, &r0, &err);
			bj_prog__destroy(prog);
			if (ret || r0 != c->r0)
				fail_msg("%s (%s): ret %d '%s', r0 0x%llx, want 0x%llx", c->name,
					 unchecked ? "unchecked" : "checked", ret, ret ? err.msg : "",
					 (unsigned long long)r0, (unsigned long long)c->r0);
		}
	}
}

struct fault_case {
	const char *name;
	struct bj_insn prog[MAX_INSNS];
	size_t n;
	bool unchecked_too; /* faults that both modes raise */
	uint64_t budget;
	int ret;
	long insn;
	const char *msg;
};

#define RECURSE(calls) \
	PROG(MOV64K(6, calls), CALL_LOCAL(1), EXIT, JMPK(BPF_JEQ, 6, 0, 2), ALU64K(BPF_SUB, 6, 1), CALL_LOCAL(-3), EXIT)

static const struct fault_case fault_cases[] = {
	{ "oob load", PROG(LDX(BPF_W, 0, 1, 1), EXIT), .ret = -EFAULT, .insn = 0, .msg = "out of bounds load of 4 bytes at 0x" },
	{ "oob store", PROG(MOV64K(0, 0), ST(BPF_B, 1, 4, 1), EXIT), .ret = -EFAULT, .insn = 1,
	  .msg = "out of bounds store of 1 byte at 0x" },
	{ "null load", PROG(MOV64K(1, 0), LDX(BPF_DW, 0, 1, 0), EXIT), .ret = -EFAULT, .insn = 1,
	  .msg = "out of bounds load of 8 bytes at 0x0 at insn 1" },
	{ "stack below r10-512", PROG(ST(BPF_B, 10, -512, 1), ST(BPF_B, 10, -513, 1), EXIT), .ret = -EFAULT, .insn = 1,
	  .msg = "out of bounds store of 1 byte at 0x" },
	{ "stack above r10", PROG(LDX(BPF_B, 0, 10, -1), LDX(BPF_B, 0, 10, 0), EXIT), .ret = -EFAULT, .insn = 1,
	  .msg = "out of bounds load of 1 byte at 0x" },
	{ "stack straddling r10", PROG(LDX(BPF_DW, 0, 10, -4), EXIT), .ret = -EFAULT, .insn = 0,
	  .msg = "out of bounds load of 8 bytes" },
	{ "misaligned atomic", PROG(MOV64K(1, 1), ATOMIC(BPF_W, 10, 1, -6, BPF_ADD), EXIT), .ret = -EFAULT, .insn = 1,
	  .msg = "misaligned atomic of 4 bytes at 0x" },
	{ "oob atomic", PROG(MOV64K(2, 1), ATOMIC(BPF_DW, 1, 2, 8, BPF_XCHG), EXIT), .ret = -EFAULT, .insn = 1,
	  .msg = "out of bounds atomic of 8 bytes" },
	{ "budget on ja -1", PROG(MOV64K(0, 0), JA(-1), EXIT), .budget = 1000, .ret = -ETIME, .insn = 1,
	  .msg = "instruction budget of 1000 exhausted at insn 1" },
	{ "call depth 9", RECURSE(7), .unchecked_too = true, .ret = -E2BIG, .insn = 5,
	  .msg = "call depth 9 exceeds the limit of 8 frames at insn 5" },
	{ "unknown callx id", PROG(MOV64K(2, 1000), CALLX(2), EXIT), .unchecked_too = true, .ret = -EINVAL, .insn = 1,
	  .msg = "callx r2: unknown helper 1000 at insn 1" },
	{ "callx id beyond the table", PROG(MOV64K(4, -1), CALLX(4), EXIT), .unchecked_too = true, .ret = -EINVAL,
	  .insn = 1, .msg = "callx r4: unknown helper 18446744073709551615 at insn 1" },
};

static void test_faults(void **state)
{
	(void)state;
	for (size_t i = 0; i < BJ_ARRAY_SIZE(fault_cases); i++) {
		const struct fault_case *c = &fault_cases[i];
		for (int unchecked = 0; unchecked < (c->unchecked_too ? 2 : 1); unchecked++) {
			uint8_t mem[8] = { 0 };
			struct bj_error err = { 0 };
			struct bj_prog *prog;
			int ret;

			ret = create(c->prog, c->n, unchecked, c->budget, &prog, &err);
			if (ret)
				fail_msg("%s: create: %d %s", c->name, ret, err.msg);
			ret = bj_prog__exec(prog, mem, 4, NULL, &err);
			bj_prog__destroy(prog);
			if (ret != c->ret || err.insn != c->insn || !strstr(err.msg, c->msg))
				fail_msg("%s (%s): got %d at insn %ld '%s', want %d at insn %ld '%s'", c->name,
					 unchecked ? "unchecked" : "checked", ret, err.insn, err.msg, c->ret, c->insn,
					 c->msg);
		}
	}
}

/* Eight frames are allowed, so the boundary of the case above passes. */
static void test_call_depth_8_passes(void **state)
{
	static const struct fault_case ok = { "depth 8", RECURSE(6) };
	struct bj_error err = { 0 };
	struct bj_prog *p;
	uint64_t r0 = 1;

	(void)state;
	assert_int_equal(create(ok.prog, ok.n, false, 0, &p, &err), 0);
	assert_int_equal(bj_prog__exec(p, NULL, 0, &r0, &err), 0);
	bj_prog__destroy(p);
}

struct create_case {
	const char *name;
	struct bj_insn prog[MAX_INSNS];
	size_t n;
	int ret;
	long insn;
	const char *msg;
};

static const struct create_case create_cases[] = {
	{ "unknown helper", PROG(MOV64K(1, 0), CALL(300), EXIT), -EINVAL, 1, "call to unknown helper 300 at insn 1" },
	{ "negative helper id", PROG(CALL(-1), EXIT), -EINVAL, 0, "call to unknown helper -1 at insn 0" },
	{ "map reference without a map table", PROG(MOV64K(0, 0), I(BJ_LDDW, 1, BPF_PSEUDO_MAP_IDX, 0, 0), I(0, 0, 0, 0, 0), EXIT),
	  -EINVAL, 1, "insn 1 refers to map 0, but the program's table has 0 maps" },
	{ "kfunc", PROG(I(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_KFUNC_CALL, 0, 99), EXIT), -EOPNOTSUPP, 0,
	  "call by BTF id (kfunc 99) at insn 0" },
	{ "invalid program", PROG(MOV64K(0, 0)), -EINVAL, 0, "program has no exit instruction" },
};

static void test_create_rejects(void **state)
{
	(void)state;
	for (size_t i = 0; i < BJ_ARRAY_SIZE(create_cases); i++) {
		const struct create_case *c = &create_cases[i];
		struct bj_error err = { 0 };
		struct bj_prog *prog = NULL;
		int ret = create(c->prog, c->n, false, 0, &prog, &err);

		if (ret != c->ret || err.insn != c->insn || !strstr(err.msg, c->msg))
			fail_msg("%s: got %d at insn %ld '%s', want %d at insn %ld '%s'", c->name, ret, err.insn, err.msg,
				 c->ret, c->insn, c->msg);
		assert_null(prog);
	}
}

static void test_create_opts(void **state)
{
	const struct bj_insn prog[] = { MOV64K(0, 3), EXIT };
	static const struct bj_helper bad_id[] = { { BJ_HELPER_ID_MAX, "big", helper_mix } };
	struct bj_error err = { 0 };
	struct bj_prog *p = NULL;
	size_t n = 0;

	(void)state;
	BJ_OPTS(bj_prog_opts, jit, .engine = BJ_ENGINE_JIT);
	BJ_OPTS(bj_prog_opts, big, .helpers = bad_id, .n_helpers = 1);
	struct { struct bj_prog_opts o; uint64_t extra; } newer = { .o = { .sz = sizeof(newer) }, .extra = 1 };

	assert_int_equal(bj_prog__create(prog, 2, &newer.o, &p, &err), -EINVAL);
	assert_int_equal(bj_prog__create(prog, 2, &big, &p, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "beyond the limit"));
	if (bj_prog__create(prog, 2, &jit, &p, &err) == 0)
		bj_prog__destroy(p);
	else
		assert_non_null(strstr(err.msg, "JIT"));
	assert_int_equal(bj_prog__create(prog, 2, NULL, &p, &err), 0);
	assert_int_equal(bj_prog__engine(p), BJ_ENGINE_INTERP);
	assert_ptr_not_equal(bj_prog__insns(p, &n), prog);
	assert_int_equal(n, 2);
	assert_memory_equal(bj_prog__insns(p, NULL), prog, sizeof(prog));
	bj_prog__destroy(p);
	bj_prog__destroy(NULL);
}

/* bj_prog__run: a fresh copy of the input per run, the output after the last, the retval and the fault. */
static void test_run_opts(void **state)
{
	/* mem[0] += 1; r0 = mem[0] */
	const struct bj_insn inc[] = { LDX(BPF_B, 0, 1, 0), ALU64K(BPF_ADD, 0, 1), STX(BPF_B, 1, 0, 0), EXIT };
	const struct bj_insn oob[] = { LDX(BPF_B, 0, 1, 2), EXIT };
	uint8_t in[2] = { 41, 7 }, out[2] = { 0 }, small[1];
	struct bj_error err = { 0 };
	struct bj_prog *p;

	(void)state;
	assert_int_equal(create(inc, 4, false, 0, &p, &err), 0);
	BJ_OPTS(bj_run_opts, ro, .data_in = in, .data_size_in = 2, .data_out = out, .data_size_out = 2, .repeat = 5);
	assert_int_equal(bj_prog__run(p, &ro, &err), 0);
	assert_int_equal(ro.retval, 42);
	assert_int_equal(ro.data_size_out, 2);
	assert_int_equal(out[0], 42);
	assert_int_equal(out[1], 7);
	assert_int_equal(in[0], 41);
	BJ_OPTS(bj_run_opts, ro2, .data_in = in, .data_size_in = 2, .data_out = small, .data_size_out = 1);
	assert_int_equal(bj_prog__run(p, &ro2, &err), -ENOSPC);
	assert_int_equal(small[0], 42);
	assert_int_equal(ro2.data_size_out, 2);
	bj_prog__destroy(p);

	assert_int_equal(create(oob, 2, false, 0, &p, &err), 0);
	BJ_OPTS(bj_run_opts, ro3, .data_in = in, .data_size_in = 2);
	assert_int_equal(bj_prog__run(p, &ro3, &err), -EFAULT);
	assert_int_equal(err.insn, 0);
	assert_non_null(strstr(err.msg, "out of bounds load of 1 byte"));
	bj_prog__destroy(p);
}

/* Two threads add 1 to the same word many times with `lock add`: no update may be lost. */
#define ATOMIC_ROUNDS 200000

static const struct bj_insn lock_add_prog[] = {
	MOV64K(2, ATOMIC_ROUNDS),
	MOV64K(3, 1),
	ATOMIC(BPF_DW, 1, 3, 0, BPF_ADD),
	ATOMIC(BPF_W, 1, 3, 8, BPF_ADD | BPF_FETCH),
	ALU64K(BPF_SUB, 2, 1),
	JMPK(BPF_JNE, 2, 0, -5),
	EXIT,
};

struct atomic_arg {
	struct bj_prog *prog;
	uint64_t *mem;
	int ret;
};

static void *atomic_worker(void *p)
{
	struct atomic_arg *a = p;

	a->ret = bj_prog__exec(a->prog, a->mem, 16, NULL, NULL);
	return NULL;
}

static void test_atomics_across_threads(void **state)
{
	(void)state;
	for (int unchecked = 0; unchecked < 2; unchecked++) {
		uint64_t mem[2] = { 0, 0 };
		struct atomic_arg args[2];
		pthread_t th[2];
		struct bj_prog *p;

		assert_int_equal(create(lock_add_prog, BJ_ARRAY_SIZE(lock_add_prog), unchecked, 0, &p, NULL), 0);
		for (int i = 0; i < 2; i++) {
			args[i] = (struct atomic_arg){ p, mem, -1 };
			assert_int_equal(pthread_create(&th[i], NULL, atomic_worker, &args[i]), 0);
		}
		for (int i = 0; i < 2; i++) {
			pthread_join(th[i], NULL);
			assert_int_equal(args[i].ret, 0);
		}
		bj_prog__destroy(p);
		assert_int_equal(mem[0], 2ull * ATOMIC_ROUNDS);
		assert_int_equal((uint32_t)mem[1], 2u * ATOMIC_ROUNDS);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_semantics),
		cmocka_unit_test(test_faults),
		cmocka_unit_test(test_call_depth_8_passes),
		cmocka_unit_test(test_create_rejects),
		cmocka_unit_test(test_create_opts),
		cmocka_unit_test(test_run_opts),
		cmocka_unit_test(test_atomics_across_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
