/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The program generator and the engine comparison of the differential tester.
 *
 * Register roles keep every generated program valid: r6 holds the buffer in every function (a callee gets it
 * in r1 and r6 is callee-saved), r10 is the stack, and the other registers hold data only. A pointer made for
 * an access lives in a data register for that one access and is overwritten right after, so no address ever
 * reaches r0, the buffer or a helper (addresses differ between engines). r1-r5 are set again after every
 * call, as the verifier requires. Each function writes the stack slots it reads before anything else, loops
 * count down r9 from a small constant, jumps only go forward inside their block (or back to the head of their
 * loop), and a function only calls functions generated after it, so there is no recursion.
 */
#include "difftest.h"

#include <bpfjet/asm.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "interp/interp.h"
#include "jit/jit.h"

#define MAX_FUNCS 4
#define MAX_CALLS 64
#define STACK_USED 64 /* bytes at the top of each frame that programs use */
#define LOOP_REG 9
#define ACC_REG 8 /* results are mixed into it as they are made: a wrong value shows even when overwritten */
#define BUF_REG 6
#define N_INPUTS 2
#define HELPER_MIX 5

struct gen {
	uint64_t rng;
	struct dt_prog *p;
	int n_funcs;
	uint32_t func_start[MAX_FUNCS];
	struct {
		size_t at;
		int func;
	} calls[MAX_CALLS];
	int n_calls;
	int func;      /* function being generated */
	bool in_loop;
	int budget;    /* items left in this function */
	int fault_at;  /* item number of the out-of-bounds access, or -1 */
	int items;
	int err;
};

static uint64_t next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned rnd(struct gen *g, unsigned n)
{
	return (unsigned)(next(&g->rng) % n);
}

static bool chance(struct gen *g, unsigned percent)
{
	return rnd(g, 100) < percent;
}

/* Values where engines tend to differ: sign and width boundaries, 0, ±1, shift widths. */
static uint64_t edge_value(struct gen *g)
{
	static const uint64_t edges[] = {
		0, 1, 2, 3, 7, 31, 32, 33, 63, 64, 0xff, 0x80, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000,
		0xffffffff, 0x100000000ull, 0x7fffffffffffffffull, 0x8000000000000000ull, ~0ull, ~1ull,
		0xffffffff80000000ull, 0xffffffff7fffffffull, 0x00000000fffffffeull,
	};
	switch (rnd(g, 4)) {
	case 0: return edges[rnd(g, sizeof(edges) / sizeof(edges[0]))];
	case 1: return (uint64_t)(int64_t)(int32_t)next(&g->rng);
	case 2: return next(&g->rng) & 0xff;
	default: return next(&g->rng);
	}
}

static int32_t edge_imm(struct gen *g)
{
	return (int32_t)edge_value(g);
}

static void emit(struct gen *g, struct bj_insn in)
{
	struct dt_prog *p = g->p;

	if (g->err)
		return;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 256;
		struct bj_insn *ni = realloc(p->insns, cap * sizeof(*ni));
		if (!ni) {
			g->err = -ENOMEM;
			return;
		}
		p->insns = ni;
		p->cap = cap;
	}
	p->insns[p->n++] = in;
}

#define INSN(c, d, s, o, i) ((struct bj_insn){ .code = (uint8_t)(c), .dst = (d), .src = (s), .off = (int16_t)(o), .imm = (int32_t)(i) })

static void emit_lddw(struct gen *g, int dst, uint64_t v)
{
	emit(g, INSN(BJ_LDDW, dst, 0, 0, (uint32_t)v));
	emit(g, INSN(0, 0, 0, 0, (uint32_t)(v >> 32)));
}

static void set_reg(struct gen *g, int r, uint64_t v)
{
	if ((uint64_t)(int64_t)(int32_t)v == v && chance(g, 70))
		emit(g, INSN(BPF_ALU64 | BPF_MOV | BPF_K, r, 0, 0, (int32_t)v));
	else if (v >> 32 == 0 && chance(g, 50))
		emit(g, INSN(BPF_ALU | BPF_MOV | BPF_K, r, 0, 0, (int32_t)v));
	else
		emit_lddw(g, r, v);
}

/* Data registers this item may write: everything but r6, r10, the accumulator and, inside a loop, the counter. */
static int data_reg(struct gen *g)
{
	static const int regs[] = { 0, 1, 2, 3, 4, 5, 7, 9 };
	int n = g->in_loop ? 7 : 8;
	return regs[rnd(g, (unsigned)n)];
}

static int data_reg_except(struct gen *g, int a, int b)
{
	int r;
	do
		r = data_reg(g);
	while (r == a || r == b);
	return r;
}

/* acc = acc * odd + r: a bijection of acc for each r, so a wrong r almost surely leaves acc wrong. */
static void accumulate(struct gen *g, int r)
{
	emit(g, INSN(BPF_ALU64 | BPF_MUL | BPF_K, ACC_REG, 0, 0, 0x9e3779b1));
	emit(g, INSN(BPF_ALU64 | BPF_ADD | BPF_X, ACC_REG, r, 0, 0));
}

/* --- ALU --- */

static int32_t divisor_imm(struct gen *g)
{
	static const int32_t d[] = { 0, -1, 1, 2, 16, 3, 7, INT32_MIN, INT32_MAX, -2 };
	return chance(g, 40) ? d[rnd(g, sizeof(d) / sizeof(d[0]))] : edge_imm(g);
}

static void gen_alu(struct gen *g)
{
	static const uint8_t ops[] = { BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_OR, BPF_AND, BPF_LSH, BPF_RSH,
				       BPF_NEG, BPF_MOD, BPF_XOR, BPF_MOV, BPF_ARSH, BPF_END };
	uint8_t op = ops[rnd(g, sizeof(ops))];
	uint8_t cls = chance(g, 50) ? BPF_ALU64 : BPF_ALU;
	int dst = data_reg(g), src = data_reg(g);
	bool x = chance(g, 50);
	int16_t off = 0;
	int32_t imm = edge_imm(g);

	if (op == BPF_NEG) {
		emit(g, INSN(cls | BPF_NEG, dst, 0, 0, 0));
		return;
	}
	if (op == BPF_END) {
		static const int widths[] = { 16, 32, 64 };
		uint8_t srcbit = cls == BPF_ALU64 ? BPF_TO_LE : (chance(g, 50) ? BPF_TO_BE : BPF_TO_LE);
		emit(g, INSN(cls | BPF_END | srcbit, dst, 0, 0, widths[rnd(g, 3)]));
		return;
	}
	if (op == BPF_DIV || op == BPF_MOD) {
		off = (int16_t)rnd(g, 2);
		imm = divisor_imm(g);
	}
	if (op == BPF_MOV && x) {
		static const int16_t sx[] = { 0, 0, 8, 16, 32 };
		off = sx[rnd(g, cls == BPF_ALU64 ? 5 : 4)];
	}
	if ((op == BPF_LSH || op == BPF_RSH || op == BPF_ARSH) && !x && chance(g, 80))
		imm = (int32_t)rnd(g, cls == BPF_ALU64 ? 64 : 32);
	if (x && chance(g, 25) && src != dst)
		set_reg(g, src, op == BPF_DIV || op == BPF_MOD ? (uint64_t)(int64_t)divisor_imm(g) : edge_value(g));
	if (chance(g, 15) && src != dst)
		set_reg(g, dst, edge_value(g));
	if (x)
		emit(g, INSN(cls | op | BPF_X, dst, src, off, 0));
	else
		emit(g, INSN(cls | op | BPF_K, dst, 0, off, imm));
}

/* --- memory --- */

static int size_code(unsigned bytes)
{
	switch (bytes) {
	case 1: return BPF_B;
	case 2: return BPF_H;
	case 4: return BPF_W;
	default: return BPF_DW;
	}
}

/*
 * Picks the base register and offset of a `size`-byte access: the buffer or the stack, directly (r6, r10) or
 * through a pointer computed into data register `ptr` (set to -1 when none). `oob` places it just outside.
 */
static void pick_address(struct gen *g, unsigned size, bool aligned, bool oob, int avoid1, int avoid2, int *base,
			 int16_t *off, int *ptr)
{
	bool stack = chance(g, 40);
	int lo = stack ? -STACK_USED : 0;
	int room = STACK_USED - (int)size; /* highest offset from lo */
	int step = aligned ? (int)size : 1;

	*ptr = -1;
	if (oob) {
		*base = BUF_REG;
		*off = (int16_t)(chance(g, 20) ? -8 : DT_BUF_LEN + (int)rnd(g, 64) * 8);
		return;
	}
	if (chance(g, 40)) {
		*base = stack ? 10 : BUF_REG;
		*off = (int16_t)(lo + (int)rnd(g, (unsigned)(room / step + 1)) * step);
		return;
	}
	int p = data_reg_except(g, avoid1, avoid2);
	if (chance(g, 60)) {
		/* p = base + (idx & mask): any value in [0, mask], a multiple of 8; the offset leaves room for it. */
		int mask = (int)rnd(g, (unsigned)(room / 8 + 1)) * 8;
		int rel = (int)rnd(g, (unsigned)((room - mask) / step + 1)) * step;
		emit(g, INSN(BPF_ALU64 | BPF_MOV | BPF_X, p, data_reg(g), 0, 0));
		emit(g, INSN(BPF_ALU64 | BPF_AND | BPF_K, p, 0, 0, mask));
		emit(g, INSN(BPF_ALU64 | BPF_ADD | BPF_X, p, stack ? 10 : BUF_REG, 0, 0));
		*off = (int16_t)(lo + rel);
	} else {
		int rel = (int)rnd(g, (unsigned)(room / step + 1)) * step;
		int split = (int)rnd(g, STACK_USED + 17) - 8;
		emit(g, INSN(BPF_ALU64 | BPF_MOV | BPF_X, p, stack ? 10 : BUF_REG, 0, 0));
		emit(g, INSN(BPF_ALU64 | BPF_ADD | BPF_K, p, 0, 0, lo + split));
		*off = (int16_t)(rel - split);
	}
	*base = p;
	*ptr = p;
}

/* The access left a pointer in a data register: replace it with data. */
static void drop_pointer(struct gen *g, int ptr)
{
	if (ptr >= 0)
		set_reg(g, ptr, edge_value(g));
}

static void gen_load(struct gen *g, bool oob)
{
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	unsigned size = sizes[rnd(g, 4)];
	bool sx = size < 8 && chance(g, 30);
	int dst = data_reg(g), base, ptr;
	int16_t off;

	pick_address(g, size, false, oob, dst, -1, &base, &off, &ptr);
	if (ptr >= 0 && chance(g, 30)) {
		/* Through the pointer into itself, a few insns later: the JIT may move the load up to the address. */
		for (unsigned k = rnd(g, 4); k > 0; k--)
			set_reg(g, data_reg_except(g, ptr, -1), edge_value(g));
		dst = ptr;
		ptr = -1;
	}
	emit(g, INSN((sx ? BPF_MEMSX : BPF_MEM) | BPF_LDX | size_code(size), dst, base, off, 0));
	drop_pointer(g, ptr);
}

static void gen_store(struct gen *g, bool oob)
{
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	unsigned size = sizes[rnd(g, 4)];
	int src = data_reg(g), base, ptr;
	int16_t off;

	pick_address(g, size, false, oob, src, -1, &base, &off, &ptr);
	if (chance(g, 30))
		emit(g, INSN(BPF_ST | BPF_MEM | size_code(size), base, 0, off, edge_imm(g)));
	else
		emit(g, INSN(BPF_STX | BPF_MEM | size_code(size), base, src, off, 0));
	drop_pointer(g, ptr);
}

static void gen_atomic(struct gen *g, bool oob)
{
	static const int ops[] = { BPF_ADD, BPF_OR, BPF_AND, BPF_XOR, BPF_ADD | BPF_FETCH, BPF_OR | BPF_FETCH,
				   BPF_AND | BPF_FETCH, BPF_XOR | BPF_FETCH, BPF_XCHG, BPF_CMPXCHG };
	int op = ops[rnd(g, sizeof(ops) / sizeof(ops[0]))];
	unsigned size = chance(g, 50) ? 8 : 4;
	int src = data_reg(g), base, ptr;
	int16_t off;

	/* cmpxchg writes r0 and a fetch writes src: neither may be the pointer. */
	pick_address(g, size, true, oob, src, op == BPF_CMPXCHG ? 0 : -1, &base, &off, &ptr);
	emit(g, INSN(BPF_STX | BPF_ATOMIC | size_code(size), base, src, off, op));
	drop_pointer(g, ptr);
}

/* --- control flow --- */

static void gen_block(struct gen *g, int depth, int items);

static void gen_cond_jump(struct gen *g, int16_t off)
{
	static const uint8_t ops[] = { BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET, BPF_JNE, BPF_JSGT,
				       BPF_JSGE, BPF_JLT, BPF_JLE, BPF_JSLT, BPF_JSLE };
	uint8_t op = ops[rnd(g, sizeof(ops))];
	uint8_t cls = chance(g, 50) ? BPF_JMP : BPF_JMP32;
	int dst = data_reg(g), src = data_reg(g);

	if (chance(g, 50)) {
		emit(g, INSN(cls | op | BPF_X, dst, src, off, 0));
	} else {
		int32_t imm = edge_imm(g);
		if (chance(g, 20) && !(g->in_loop && dst == LOOP_REG))
			set_reg(g, dst, (uint64_t)(int64_t)imm + rnd(g, 3) - 1); /* equal or one off the constant */
		emit(g, INSN(cls | op | BPF_K, dst, 0, off, imm));
	}
}

/* A forward jump over a block (if), or an if/else; sometimes an unconditional jump over dead code. */
static void gen_branch(struct gen *g, int depth)
{
	size_t at = g->p->n;
	bool has_else = chance(g, 30);
	bool uncond = chance(g, 8);

	if (uncond)
		emit(g, INSN(BPF_JMP | BPF_JA, 0, 0, 0, 0));
	else
		gen_cond_jump(g, 0);
	if (g->err)
		return;
	size_t jump_at = g->p->n - 1;
	gen_block(g, depth + 1, 1 + (int)rnd(g, 4));
	if (has_else) {
		size_t ja_at = g->p->n;
		emit(g, INSN(chance(g, 50) ? BPF_JMP | BPF_JA : BPF_JMP32 | BPF_JA, 0, 0, 0, 0));
		gen_block(g, depth + 1, 1 + (int)rnd(g, 3));
		if (g->err)
			return;
		if (g->p->insns[ja_at].code == (BPF_JMP32 | BPF_JA))
			g->p->insns[ja_at].imm = (int32_t)(g->p->n - ja_at - 1);
		else
			g->p->insns[ja_at].off = (int16_t)(g->p->n - ja_at - 1);
		g->p->insns[jump_at].off = (int16_t)(ja_at + 1 - jump_at - 1);
	} else if (!g->err) {
		g->p->insns[jump_at].off = (int16_t)(g->p->n - jump_at - 1);
	}
	(void)at;
}

/*
 * `if c goto L1; alu; L1: if c goto L2; alu; L2:` (clang's `if (c) { a; b; }` when both became selects):
 * the JIT drops the second test when the first ALU code leaves the tested registers alone, which it
 * sometimes does not.
 */
static void gen_repeated_test(struct gen *g)
{
	struct bj_insn test;
	size_t at;

	gen_cond_jump(g, 0);
	if (g->err)
		return;
	at = g->p->n - 1;
	test = g->p->insns[at];
	for (int k = 0; k < 2; k++) {
		gen_alu(g);
		if (g->err)
			return;
		g->p->insns[at].off = (int16_t)(g->p->n - at - 1);
		if (k == 0) {
			at = g->p->n;
			emit(g, test);
		}
	}
}

/* r9 = trip count; body; r9 -= 1; if r9 != 0 goto body. */
static void gen_loop(struct gen *g, int depth)
{
	static const uint8_t back_ops[] = { BPF_JNE, BPF_JGT, BPF_JSGT };
	uint8_t cls = chance(g, 50) ? BPF_JMP : BPF_JMP32;

	emit(g, INSN(BPF_ALU64 | BPF_MOV | BPF_K, LOOP_REG, 0, 0, 1 + rnd(g, 6)));
	size_t head = g->p->n;
	g->in_loop = true;
	gen_block(g, depth + 1, 2 + (int)rnd(g, 5));
	g->in_loop = false;
	if (chance(g, 50))
		emit(g, INSN(BPF_ALU64 | BPF_ADD | BPF_K, LOOP_REG, 0, 0, -1));
	else
		emit(g, INSN(BPF_ALU | BPF_SUB | BPF_K, LOOP_REG, 0, 0, 1));
	emit(g, INSN(cls | back_ops[rnd(g, 3)] | BPF_K, LOOP_REG, 0, (int16_t)((long)head - (long)g->p->n - 1), 0));
}

/* Sets off (or imm, for the 32-bit ja) of the jump at insn `at` so that it lands on insn `to`. */
static void set_jump_target(struct gen *g, size_t at, size_t to)
{
	struct bj_insn *in;

	if (g->err)
		return;
	in = &g->p->insns[at];
	if (in->code == (BPF_JMP32 | BPF_JA))
		in->imm = (int32_t)((long)to - (long)at - 1);
	else
		in->off = (int16_t)((long)to - (long)at - 1);
}

/*
 * A loop whose latch is laid out before its body, as compilers often place it: the body jumps back to the
 * latch (from its middle, conditionally, and at its end), and the latch decrements r9 and jumps forward to
 * the body, or closes with a ja back to a head that tests r9. A jump may also land inside the latch.
 */
static void gen_latch_loop(struct gen *g, int depth)
{
	bool ja_latch = chance(g, 30), extra = chance(g, 50), wide = chance(g, 30);
	uint8_t cls = chance(g, 50) ? BPF_JMP : BPF_JMP32;
	bool has_mid = chance(g, 70);
	size_t head, to_body, latch, dec, latch_jump, exit_jump = 0, body, mid = 0;

	emit(g, INSN(BPF_ALU64 | BPF_MOV | BPF_K, LOOP_REG, 0, 0, 1 + rnd(g, 6)));
	head = g->p->n;
	if (ja_latch)
		emit(g, INSN(cls | BPF_JEQ | BPF_K, LOOP_REG, 0, 0, 0)); /* if r9 == 0 goto exit */
	to_body = g->p->n;
	emit(g, INSN(chance(g, 50) ? BPF_JMP | BPF_JA : BPF_JMP32 | BPF_JA, 0, 0, 0, 0));
	latch = g->p->n;
	if (extra)
		emit(g, INSN(BPF_ALU64 | (chance(g, 50) ? BPF_XOR : BPF_MUL) | BPF_K, ACC_REG, 0, 0, edge_imm(g)));
	dec = g->p->n;
	emit(g, INSN(BPF_ALU64 | BPF_ADD | BPF_K, LOOP_REG, 0, 0, -1));
	if (wide) {
		emit(g, INSN(BPF_ALU64 | BPF_LSH | BPF_K, LOOP_REG, 0, 0, 32));
		emit(g, INSN(BPF_ALU64 | BPF_RSH | BPF_K, LOOP_REG, 0, 0, 32));
	}
	latch_jump = g->p->n;
	if (ja_latch) {
		emit(g, INSN(BPF_JMP | BPF_JA, 0, 0, 0, 0));
	} else {
		emit(g, INSN(cls | BPF_JNE | BPF_K, LOOP_REG, 0, 0, 0)); /* if r9 != 0 goto body */
		exit_jump = g->p->n;
		emit(g, INSN(BPF_JMP | BPF_JA, 0, 0, 0, 0));
	}
	body = g->p->n;
	g->in_loop = true;
	gen_block(g, depth + 1, 1 + (int)rnd(g, 3));
	if (has_mid) {
		gen_cond_jump(g, 0);
		mid = g->p->n - 1;
		gen_block(g, depth + 1, 1 + (int)rnd(g, 3));
	}
	if (chance(g, 50)) {
		gen_cond_jump(g, 0);
		set_jump_target(g, g->p->n - 1, latch);
		accumulate(g, data_reg(g));
	}
	g->in_loop = false;
	emit(g, INSN(BPF_JMP | BPF_JA, 0, 0, 0, 0));
	set_jump_target(g, g->p->n - 1, latch);
	if (has_mid)
		set_jump_target(g, mid, extra && chance(g, 50) ? dec : latch);
	set_jump_target(g, to_body, body);
	if (ja_latch) {
		set_jump_target(g, latch_jump, head);
		set_jump_target(g, head, g->p->n);
	} else {
		set_jump_target(g, latch_jump, body);
		set_jump_target(g, exit_jump, g->p->n);
	}
}

/* Sets every argument register to data again, as after any call. */
static void reset_args(struct gen *g)
{
	for (int r = 1; r <= 5; r++)
		set_reg(g, r, edge_value(g));
}

static void gen_local_call(struct gen *g)
{
	if (g->n_calls >= MAX_CALLS)
		return;
	int callee = g->func + 1 + (int)rnd(g, (unsigned)(g->n_funcs - g->func - 1));
	emit(g, INSN(BPF_ALU64 | BPF_MOV | BPF_X, 1, BUF_REG, 0, 0));
	g->calls[g->n_calls].at = g->p->n;
	g->calls[g->n_calls++].func = callee;
	emit(g, INSN(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 0));
	accumulate(g, 0);
	reset_args(g);
}

static void gen_helper_call(struct gen *g)
{
	emit(g, INSN(BPF_JMP | BPF_CALL, 0, 0, 0, HELPER_MIX));
	accumulate(g, 0);
	reset_args(g);
}

static void gen_item(struct gen *g, int depth)
{
	unsigned k = rnd(g, 100);
	bool oob = g->items++ == g->fault_at;

	if (oob) {
		switch (rnd(g, 3)) {
		case 0: gen_load(g, true); break;
		case 1: gen_store(g, true); break;
		default: gen_atomic(g, true); break;
		}
		return;
	}
	if (k < 45) {
		gen_alu(g);
		if (g->p->n && chance(g, 60))
			accumulate(g, g->p->insns[g->p->n - 1].dst);
	}
	else if (k < 55)
		gen_load(g, false);
	else if (k < 63)
		gen_store(g, false);
	else if (k < 70)
		gen_atomic(g, false);
	else if (k < 84 && depth < 4)
		gen_branch(g, depth);
	else if (k < 86)
		gen_repeated_test(g);
	else if (k < 90 && !g->in_loop && depth < 3)
		gen_loop(g, depth);
	else if (k < 91 && !g->in_loop && depth < 3)
		gen_latch_loop(g, depth);
	else if (k < 95 && g->func + 1 < g->n_funcs)
		gen_local_call(g);
	else if (k < 97)
		gen_helper_call(g);
	else
		gen_alu(g);
}

static void gen_block(struct gen *g, int depth, int items)
{
	for (int i = 0; i < items && g->budget > 0 && !g->err; i++) {
		g->budget--;
		gen_item(g, depth);
	}
}

/* Every register and stack slot the function reads is set first; at the end all of it is folded into r0. */
static void gen_function(struct gen *g, int f)
{
	static const int regs[] = { 0, 2, 3, 4, 5, 7, ACC_REG, 9, 1 };

	g->func = f;
	g->func_start[f] = (uint32_t)g->p->n;
	g->budget = f == 0 ? 20 + (int)rnd(g, 100) : 4 + (int)rnd(g, 30);
	emit(g, INSN(BPF_ALU64 | BPF_MOV | BPF_X, BUF_REG, 1, 0, 0));
	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		set_reg(g, regs[i], edge_value(g));
	for (int off = -STACK_USED; off < 0; off += 8) {
		if (chance(g, 50))
			emit(g, INSN(BPF_ST | BPF_MEM | BPF_DW, 10, 0, off, edge_imm(g)));
		else
			emit(g, INSN(BPF_STX | BPF_MEM | BPF_DW, 10, regs[rnd(g, 8)], off, 0));
	}
	while (g->budget > 0 && !g->err)
		gen_block(g, 0, g->budget);
	for (size_t i = 1; i < sizeof(regs) / sizeof(regs[0]); i++) {
		emit(g, INSN(BPF_ALU64 | BPF_MUL | BPF_K, 0, 0, 0, 0x9e3779b1));
		emit(g, INSN(BPF_ALU64 | BPF_XOR | BPF_X, 0, regs[i], 0, 0));
	}
	for (int off = -STACK_USED; off < 0; off += 8) {
		emit(g, INSN(BPF_LDX | BPF_MEM | BPF_DW, 1, 10, off, 0));
		emit(g, INSN(BPF_ALU64 | BPF_ADD | BPF_X, 0, 1, 0, 0));
		emit(g, INSN(BPF_ALU64 | BPF_MUL | BPF_K, 0, 0, 0, 31));
	}
	emit(g, INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
}

static void patch_calls(struct gen *g)
{
	for (int i = 0; i < g->n_calls; i++) {
		size_t at = g->calls[i].at;
		g->p->insns[at].imm = (int32_t)((long)g->func_start[g->calls[i].func] - (long)at - 1);
	}
}

int dt_generate(uint64_t seed, struct dt_prog *p)
{
	struct gen g = { .rng = seed, .p = p, .fault_at = -1 };

	memset(p, 0, sizeof(*p));
	g.n_funcs = 1 + (int)rnd(&g, MAX_FUNCS);
	p->faulting = chance(&g, 5);
	if (p->faulting)
		g.fault_at = (int)rnd(&g, 40);
	for (int f = 0; f < g.n_funcs && !g.err; f++)
		gen_function(&g, f);
	if (!g.err)
		patch_calls(&g);
	if (g.err)
		dt_prog_free(p);
	return g.err;
}

void dt_prog_free(struct dt_prog *p)
{
	free(p->insns);
	memset(p, 0, sizeof(*p));
}

/* --- running and comparing --- */

static uint64_t helper_mix(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, struct bj_run *run)
{
	(void)run;
	return (r1 * 0x9e3779b97f4a7c15ull) ^ (r2 << 7) ^ (r3 >> 3) ^ (r4 * 31) ^ ~r5;
}

static bj_helper_fn const dt_helpers[BJ_HELPER_ID_MAX] = { [HELPER_MIX] = helper_mix };

struct outcome {
	uint64_t r0;
	int fault;
	long fault_insn;
	uint8_t buf[DT_BUF_LEN];
};

enum mode { INTERP, INTERP_CHECKED, JIT, JIT_CHECKED, JIT_BLIND, JIT_CHECKED_BLIND, N_MODES };

static const char *const mode_names[N_MODES] = { "interp", "interp checked", "jit", "jit checked", "jit blinded",
						 "jit checked blinded" };

static bool mode_checked(enum mode m)
{
	return m == INTERP_CHECKED || m == JIT_CHECKED || m == JIT_CHECKED_BLIND;
}

struct engine {
	struct bj_interp *ip;
	struct bj_jit_code *jit;
};

static int engine_create(const struct dt_prog *p, enum mode m, struct engine *e, struct bj_error *err)
{
	struct bj_jit_opts opts = { .checked = mode_checked(m), .blind = m == JIT_BLIND || m == JIT_CHECKED_BLIND };

	memset(e, 0, sizeof(*e));
	if (m == INTERP || m == INTERP_CHECKED)
		return bj_interp_create(p->insns, p->n, dt_helpers, opts.checked, &e->ip, err);
	return bj_jit_compile(p->insns, p->n, dt_helpers, &opts, &e->jit, err);
}

static void engine_free(struct engine *e)
{
	bj_interp_free(e->ip);
	bj_jit_code_free(e->jit);
}

static void engine_run(const struct engine *e, const uint8_t *input, struct outcome *o)
{
	uint8_t *buf = malloc(DT_BUF_LEN); /* on the heap: never next to a stack that checked mode allows */
	struct bj_run run;

	memset(&run, 0, sizeof(run));
	memset(o, 0, sizeof(*o));
	if (!buf) {
		o->fault = -ENOMEM;
		return;
	}
	memcpy(buf, input, DT_BUF_LEN);
	run.budget = BJ_DEFAULT_INSN_BUDGET;
	bj_run_add_region(&run, buf, DT_BUF_LEN, true);
	if (e->ip)
		o->r0 = bj_interp_run(e->ip, buf, DT_BUF_LEN, &run);
	else
		o->r0 = bj_jit_code_entry(e->jit)(buf, DT_BUF_LEN, &run);
	o->fault = run.fault;
	o->fault_insn = run.fault_insn;
	memcpy(o->buf, buf, DT_BUF_LEN);
	free(buf);
}

static int compare(const struct outcome *ref, const struct outcome *o, bool faulting, char *why, size_t why_len,
		   const char *name, int input)
{
	if (!faulting && (ref->fault || o->fault)) {
		snprintf(why, why_len, "input %d: %s faulted (%d at insn %ld) in a program that cannot fault", input,
			 ref->fault ? "the reference" : name, ref->fault ? ref->fault : o->fault,
			 ref->fault ? ref->fault_insn : o->fault_insn);
		return 1;
	}
	if (ref->fault != o->fault || ref->fault_insn != o->fault_insn) {
		snprintf(why, why_len, "input %d: fault %d at insn %ld in the reference, %d at insn %ld in %s", input,
			 ref->fault, ref->fault_insn, o->fault, o->fault_insn, name);
		return 1;
	}
	if (!ref->fault && ref->r0 != o->r0) {
		snprintf(why, why_len, "input %d: r0 0x%" PRIx64 " in the reference, 0x%" PRIx64 " in %s", input,
			 ref->r0, o->r0, name);
		return 1;
	}
	for (size_t i = 0; i < DT_BUF_LEN; i++) {
		if (ref->buf[i] != o->buf[i]) {
			snprintf(why, why_len, "input %d: buffer byte %zu is 0x%02x in the reference, 0x%02x in %s", input,
				 i, ref->buf[i], o->buf[i], name);
			return 1;
		}
	}
	return 0;
}

int dt_check(uint64_t seed, struct dt_stats *stats, char *why, size_t why_len)
{
	struct engine engines[N_MODES];
	struct bj_error err = { 0 };
	struct dt_prog p;
	int ret = 0, made = 0;
	uint64_t rng = seed ^ 0x5bd1e995ull;

	if (dt_generate(seed, &p)) {
		snprintf(why, why_len, "out of memory");
		return 1;
	}
	if (bj_insns_validate(p.insns, p.n, &err)) {
		snprintf(why, why_len, "generated an invalid program: %s", err.msg);
		ret = 1;
		goto out;
	}
	for (; made < N_MODES; made++) {
		if (engine_create(&p, (enum mode)made, &engines[made], &err)) {
			snprintf(why, why_len, "%s rejected the program: %s", mode_names[made], err.msg);
			ret = 1;
			goto out;
		}
	}
	/* The reference is the interpreter; a program with an out-of-bounds access only runs checked. */
	enum mode ref_mode = p.faulting ? INTERP_CHECKED : INTERP;
	for (int k = 0; k < N_INPUTS && !ret; k++) {
		uint8_t input[DT_BUF_LEN];
		struct outcome ref, o;

		for (size_t i = 0; i < DT_BUF_LEN; i += 8) {
			uint64_t v = next(&rng);
			memcpy(input + i, &v, 8);
		}
		engine_run(&engines[ref_mode], input, &ref);
		for (int m = 0; m < N_MODES && !ret; m++) {
			if (m == (int)ref_mode || (p.faulting && !mode_checked((enum mode)m)))
				continue;
			engine_run(&engines[m], input, &o);
			ret = compare(&ref, &o, p.faulting, why, why_len, mode_names[m], k);
			stats->runs++;
		}
	}
	stats->programs++;
	stats->insns += p.n;
	stats->faulting += p.faulting;
out:
	for (int m = 0; m < made; m++)
		engine_free(&engines[m]);
	dt_prog_free(&p);
	return ret;
}

void dt_print(uint64_t seed, FILE *out)
{
	BJ_OPTS(bj_disasm_opts, opts, .indexes = true);
	struct dt_prog p;
	char *text;

	if (dt_generate(seed, &p))
		return;
	fprintf(out, "# program of seed %" PRIu64 ": %zu instructions%s\n", seed, p.n,
		p.faulting ? ", one access out of bounds" : "");
	if (!bj_disasm(p.insns, p.n, &opts, &text)) {
		fputs(text, out);
		free(text);
	}
	dt_prog_free(&p);
}
