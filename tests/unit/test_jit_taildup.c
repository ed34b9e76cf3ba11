/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tail duplication of loop latches laid out before the loop body: the JIT gives the interpreter's results
 * in every mode, and the plain image holds the latch's code twice (its own and the copy at the jump back).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "interp/interp.h"
#include "isa/isa.h"
#include "jit/jit.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define INSN(c, d, s, o, i) ((struct bj_insn){ .code = (uint8_t)(c), .dst = (d), .src = (s), .off = (int16_t)(o), .imm = (i) })
#define LATCH_IMM 0x1234567 /* makes the latch's code distinct in the image */
#define HALF 32             /* the loop compares mem[0..HALF) with mem[HALF..2 * HALF) */

static const struct bj_jit_opts jit_modes[] = {
	{ 0 }, { .checked = true }, { .blind = true }, { .baseline_isa = true },
};

/* --- a small assembler with forward labels --- */

enum label { L_HEAD, L_BODY, L_LATCH, L_MID, L_EXIT, L_COUNT };

struct asm_prog {
	struct bj_insn insns[64];
	size_t n;
	size_t at[L_COUNT];
	struct {
		size_t insn;
		enum label to;
	} fix[16];
	size_t n_fix;
};

static void put(struct asm_prog *a, struct bj_insn in)
{
	assert_true(a->n < N(a->insns));
	a->insns[a->n++] = in;
}

static void here(struct asm_prog *a, enum label l)
{
	a->at[l] = a->n;
}

/* A jump (code, dst, src, imm) to label l, resolved by resolve(). */
static void jump(struct asm_prog *a, uint8_t code, uint8_t dst, uint8_t src, int32_t imm, enum label l)
{
	assert_true(a->n_fix < N(a->fix));
	a->fix[a->n_fix].insn = a->n;
	a->fix[a->n_fix++].to = l;
	put(a, INSN(code, dst, src, 0, imm));
}

static void resolve(struct asm_prog *a)
{
	for (size_t k = 0; k < a->n_fix; k++) {
		struct bj_insn *in = &a->insns[a->fix[k].insn];
		long rel = (long)a->at[a->fix[k].to] - (long)a->fix[k].insn - 1;
		if (in->code == (BPF_JMP32 | BPF_JA))
			in->imm = (int32_t)rel;
		else
			in->off = (int16_t)rel;
	}
}

/* --- the loop shapes --- */

struct loop_shape {
	const char *name;
	bool jmp32;      /* the body's jumps back to the latch and the latch's own test are 32-bit */
	bool latch_ja;   /* the latch closes with ja back to a head that tests the counter */
	bool more_jumps; /* two more jumps lead to the latch: one to its start, one into its middle */
	bool zext;       /* the increment is `add; lsh 32; rsh 32`, which lowers to one 32-bit add */
	enum { NONE, LOAD, LONG } extra; /* a load in the latch, or two more ALU insns */
};

static const struct loop_shape shapes[] = {
	{ "jmp", false, false, false, false, NONE },
	{ "jmp32", true, false, false, false, NONE },
	{ "ja latch", false, true, false, false, NONE },
	{ "ja latch, jmp32", true, true, false, false, NONE },
	{ "more jumps to the latch", false, false, true, false, NONE },
	{ "more jumps, ja latch", true, true, true, false, NONE },
	{ "fused latch", false, false, false, true, NONE },
	{ "fused latch, jmp32, more jumps", true, false, true, true, NONE },
};

static const struct loop_shape uncopied[] = {
	{ "load in the latch", false, false, false, false, LOAD },
	{ "long latch", false, false, false, false, LONG },
};

/*
 * The first index where mem[i] != mem[HALF + i], found by a loop laid out as clang lays out memops.c's:
 *   r2 = 0; [head: if r2 == HALF goto exit]; ja body
 *   latch: r5 += K; mid: r2 += 1; if r2 != HALF goto body | ja head; ja exit
 *   body: r3 = mem[r2]; r4 = mem[HALF + r2]; if r3 == r4 goto latch; r0 += r2 + 1
 *   exit: r0 = r0 << 32 ^ r5
 */
static size_t build_loop(struct asm_prog *a, const struct loop_shape *s)
{
	uint8_t jcls = s->jmp32 ? BPF_JMP32 : BPF_JMP;

	memset(a, 0, sizeof(*a));
	put(a, INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0));
	put(a, INSN(BPF_ALU64 | BPF_MOV | BPF_K, 2, 0, 0, 0));
	put(a, INSN(BPF_ALU64 | BPF_MOV | BPF_K, 5, 0, 0, 0));
	here(a, L_HEAD);
	if (s->latch_ja)
		jump(a, BPF_JMP | BPF_JEQ | BPF_K, 2, 0, HALF, L_EXIT);
	jump(a, BPF_JMP | BPF_JA, 0, 0, 0, L_BODY);
	here(a, L_LATCH);
	if (!s->zext)
		put(a, INSN(BPF_ALU64 | BPF_ADD | BPF_K, 5, 0, 0, LATCH_IMM));
	if (s->extra == LOAD)
		put(a, INSN(BPF_LDX | BPF_MEM | BPF_B, 7, 1, 0, 0));
	if (s->extra == LONG) {
		put(a, INSN(BPF_ALU64 | BPF_XOR | BPF_K, 5, 0, 0, 0x5a5a5a5));
		put(a, INSN(BPF_ALU64 | BPF_ADD | BPF_K, 5, 0, 0, 0x3c3c3c3));
	}
	here(a, L_MID);
	put(a, INSN(BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, 1));
	if (s->zext) {
		put(a, INSN(BPF_ALU64 | BPF_LSH | BPF_K, 2, 0, 0, 32));
		put(a, INSN(BPF_ALU64 | BPF_RSH | BPF_K, 2, 0, 0, 32));
	}
	if (s->latch_ja) {
		jump(a, BPF_JMP32 | BPF_JA, 0, 0, 0, L_HEAD);
	} else {
		jump(a, jcls | BPF_JNE | BPF_K, 2, 0, HALF, L_BODY);
		jump(a, BPF_JMP | BPF_JA, 0, 0, 0, L_EXIT);
	}
	here(a, L_BODY);
	put(a, INSN(BPF_ALU64 | BPF_MOV | BPF_X, 3, 1, 0, 0));
	put(a, INSN(BPF_ALU64 | BPF_ADD | BPF_X, 3, 2, 0, 0));
	put(a, INSN(BPF_LDX | BPF_MEM | BPF_B, 3, 3, 0, 0));
	put(a, INSN(BPF_ALU64 | BPF_MOV | BPF_X, 4, 1, 0, 0));
	put(a, INSN(BPF_ALU64 | BPF_ADD | BPF_K, 4, 0, 0, HALF));
	put(a, INSN(BPF_ALU64 | BPF_ADD | BPF_X, 4, 2, 0, 0));
	put(a, INSN(BPF_LDX | BPF_MEM | BPF_B, 4, 4, 0, 0));
	if (s->more_jumps) {
		jump(a, jcls | BPF_JEQ | BPF_K, 3, 0, 0xaa, L_LATCH);
		jump(a, jcls | BPF_JEQ | BPF_K, 3, 0, 0x55, L_MID);
	}
	jump(a, jcls | BPF_JEQ | BPF_X, 3, 4, 0, L_LATCH);
	put(a, INSN(BPF_ALU64 | BPF_ADD | BPF_X, 0, 2, 0, 0));
	put(a, INSN(BPF_ALU64 | BPF_ADD | BPF_K, 0, 0, 0, 1));
	here(a, L_EXIT);
	put(a, INSN(BPF_ALU64 | BPF_LSH | BPF_K, 0, 0, 0, 32));
	put(a, INSN(BPF_ALU64 | BPF_XOR | BPF_X, 0, 5, 0, 0));
	put(a, INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
	resolve(a);
	return a->n;
}

/* Two equal halves except at `diff` (none when diff >= HALF); bytes that take the extra jumps. */
static void fill_mem(uint8_t mem[2 * HALF], size_t diff)
{
	for (size_t i = 0; i < HALF; i++)
		mem[i] = mem[HALF + i] = (uint8_t)(i * 37 + 11);
	mem[3] = mem[HALF + 3] = 0xaa;
	mem[9] = mem[HALF + 9] = 0x55;
	if (diff < HALF)
		mem[HALF + diff] ^= 0x80;
}

static uint64_t run_interp(const struct bj_insn *prog, size_t n, uint8_t *mem)
{
	struct bj_interp *ip;
	struct bj_error err = { 0 };
	struct bj_run run = { .budget = BJ_DEFAULT_INSN_BUDGET };
	uint64_t r0;

	if (bj_interp_create(prog, n, NULL, false, &ip, &err))
		fail_msg("interpreter: %s", err.msg);
	bj_run_add_region(&run, mem, 2 * HALF, true);
	r0 = bj_interp_run(ip, mem, 2 * HALF, &run);
	bj_interp_free(ip);
	assert_int_equal(run.fault, 0);
	return r0;
}

static struct bj_jit_code *compile(const struct bj_insn *prog, size_t n, const struct bj_jit_opts *opts)
{
	struct bj_jit_code *code;
	struct bj_error err = { 0 };

	if (bj_jit_compile(prog, n, NULL, opts, &code, &err))
		fail_msg("JIT: %s", err.msg);
	return code;
}

static uint64_t run_jit(const struct bj_insn *prog, size_t n, uint8_t *mem, const struct bj_jit_opts *opts)
{
	struct bj_jit_code *code = compile(prog, n, opts);
	struct bj_run run;
	uint64_t r0;

	memset(&run, 0, sizeof(run));
	run.budget = BJ_DEFAULT_INSN_BUDGET;
	bj_run_add_region(&run, mem, 2 * HALF, true);
	r0 = bj_jit_code_entry(code)(mem, 2 * HALF, &run);
	assert_int_equal(run.fault, 0);
	bj_jit_code_free(code);
	return r0;
}

static void test_same_as_interp(void **state)
{
	static const size_t diffs[] = { 0, 1, 3, 9, 10, HALF - 1, HALF };
	struct asm_prog a;
	uint8_t mem[2 * HALF];

	(void)state;
	for (size_t s = 0; s < N(shapes) + N(uncopied); s++) {
		const struct loop_shape *shape = s < N(shapes) ? &shapes[s] : &uncopied[s - N(shapes)];
		size_t n = build_loop(&a, shape);
		for (size_t d = 0; d < N(diffs); d++) {
			fill_mem(mem, diffs[d]);
			uint64_t want = run_interp(a.insns, n, mem);
			for (size_t m = 0; m < N(jit_modes); m++) {
				fill_mem(mem, diffs[d]);
				uint64_t got = run_jit(a.insns, n, mem, &jit_modes[m]);
				if (got != want)
					fail_msg("%s, diff at %zu, mode %zu: r0 0x%" PRIx64 ", want 0x%" PRIx64,
						 shape->name, diffs[d], m, got, want);
			}
		}
	}
}

/* How often the code of insns [from, to) (one straight-line run of bytes) appears in the image. */
static size_t code_copies(const struct bj_jit_code *code, size_t from, size_t to)
{
	size_t len, count = 0;
	const uint8_t *image = bj_jit_code_image(code, &len);
	const uint32_t *off = bj_jit_code_offsets(code, NULL);
	size_t plen = off[to] - off[from];
	uint8_t pattern[64];

	assert_true(plen > 0 && plen <= sizeof(pattern));
	memcpy(pattern, image + off[from], plen);
	for (size_t k = 0; k + plen <= len; k++)
		count += !memcmp(image + k, pattern, plen);
	return count;
}

/* The latch's final jump: its code before it is what a copy repeats byte for byte. */
static size_t latch_jump_insn(const struct asm_prog *a)
{
	size_t k = a->at[L_LATCH];

	while (!bj_insn_is_jump(&a->insns[k]))
		k++;
	return k;
}

static void test_latch_copied(void **state)
{
	static const struct bj_jit_opts plain = { 0 }, checked = { .checked = true };
	struct asm_prog a;

	(void)state;
	for (size_t s = 0; s < N(shapes); s++) {
		if (shapes[s].zext)
			continue; /* its one `add esi, 1` is not distinct enough to count */
		size_t n = build_loop(&a, &shapes[s]);
		size_t from = a.at[L_LATCH], to = latch_jump_insn(&a);
		/* every conditional jump back to the latch gets a copy; the one into its middle copies that part */
		size_t jumps = shapes[s].more_jumps ? 2 : 1;
		struct bj_jit_code *code = compile(a.insns, n, &plain);
		if (code_copies(code, from, to) != 1 + jumps)
			fail_msg("%s: %zu copies of the latch, want %zu", shapes[s].name, code_copies(code, from, to),
				 1 + jumps);
		bj_jit_code_free(code);
		code = compile(a.insns, n, &checked);
		assert_int_equal(code_copies(code, from, to), 1);
		bj_jit_code_free(code);
	}
}

/* A latch that loads, or that is longer than a few insns, stays where it is. */
static void test_latch_not_copied(void **state)
{
	static const struct bj_jit_opts plain = { 0 };
	struct asm_prog a;

	(void)state;
	for (size_t s = 0; s < N(uncopied); s++) {
		size_t n = build_loop(&a, &uncopied[s]);
		struct bj_jit_code *code = compile(a.insns, n, &plain);
		assert_int_equal(code_copies(code, a.at[L_LATCH], latch_jump_insn(&a)), 1);
		bj_jit_code_free(code);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_as_interp),
		cmocka_unit_test(test_latch_copied),
		cmocka_unit_test(test_latch_not_copied),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
