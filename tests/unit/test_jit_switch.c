/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Compare trees over one register (a switch as compilers lower it for BPF) that the JIT turns into a jump
 * table: every tree against the interpreter, for values inside, at the edges of and far outside the table's
 * range, in every JIT mode; and the table is there in plain mode and absent where it must not be.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interp/interp.h"
#include "isa/isa.h"
#include "jit/jit.h"

#define I(c, d, s, o, i) ((struct bj_insn){ .code = (c), .dst = (d), .src = (s), .off = (o), .imm = (i) })
#define N(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_INSNS 512
#define MAX_LABELS 128

/* A program under construction: jumps name labels, resolved at the end. */
struct builder {
	struct bj_insn insns[MAX_INSNS];
	int target[MAX_INSNS]; /* label a jump goes to, -1 for none */
	long label_at[MAX_LABELS];
	size_t n;
	int n_labels;
};

static int new_label(struct builder *b)
{
	assert_true(b->n_labels < MAX_LABELS);
	b->label_at[b->n_labels] = -1;
	return b->n_labels++;
}

static void put(struct builder *b, struct bj_insn in)
{
	assert_true(b->n < MAX_INSNS);
	b->target[b->n] = -1;
	b->insns[b->n++] = in;
}

static void jump(struct builder *b, uint8_t code, uint8_t reg, int32_t imm, int label)
{
	put(b, I(code, reg, 0, 0, imm));
	b->target[b->n - 1] = label;
}

static void place(struct builder *b, int label)
{
	b->label_at[label] = (long)b->n;
}

static void resolve(struct builder *b)
{
	for (size_t i = 0; i < b->n; i++) {
		if (b->target[i] < 0)
			continue;
		long at = b->label_at[b->target[i]];
		assert_true(at >= 0);
		b->insns[i].off = (int16_t)(at - (long)i - 1);
	}
}

/* How one tree is made. */
struct shape {
	const char *name;
	uint8_t reg;           /* the register compared */
	uint8_t split;         /* code of the inner compares: `if reg > K goto right` */
	uint8_t leaf_cls;      /* class of the `if reg == K` near the leaves */
	uint8_t mask_cls;      /* 0, or the class of an `and reg, mask` just before the root */
	int32_t mask;
	int n_cases, n_leaves; /* cases 0..n_cases-1 (times `stride`), sharing n_leaves leaves */
	int stride;
	bool root_is_target;   /* the root is also reached by a jump */
	bool jset_root;        /* the root is `if reg & 0x20 goto default` */
	bool chain;            /* `if reg == K goto case` for each case, then the default falls in */
};

/* Binary search over cases[lo, hi) the way clang lays it out: a split, the left half, the right half. */
static void build_tree(struct builder *b, const struct shape *s, const int *case_label, int lo, int hi, int dflt)
{
	if (hi - lo <= 3) {
		for (int k = lo; k < hi; k++)
			jump(b, s->leaf_cls | BPF_JEQ | BPF_K, s->reg, k * s->stride, case_label[k]);
		jump(b, BPF_JMP | BPF_JA, 0, 0, dflt);
		return;
	}
	int mid = (lo + hi) / 2, right = new_label(b);
	jump(b, s->split, s->reg, (mid - 1) * s->stride, right);
	build_tree(b, s, case_label, lo, mid, dflt);
	place(b, right);
	build_tree(b, s, case_label, mid, hi, dflt);
}

/*
 * r2 = the value (first word of memory), r3 = the second word; the tree over s->reg; leaf j sets
 * r0 = 100 + j, the default r0 = 7, and every leaf then adds r2 and r3 so that a clobbered register shows.
 */
static size_t build_prog(struct builder *b, const struct shape *s)
{
	int leaf[64], case_label[64], dflt, root = -1;

	memset(b, 0, sizeof(*b));
	assert_true(s->n_leaves <= (int)N(leaf) && s->n_cases <= (int)N(case_label));
	dflt = new_label(b);
	for (int j = 0; j < s->n_leaves; j++)
		leaf[j] = new_label(b);
	for (int k = 0; k < s->n_cases; k++)
		case_label[k] = leaf[k % s->n_leaves];
	put(b, I(BPF_LDX | BPF_MEM | BPF_DW, s->reg, 1, 0, 0));
	put(b, I(BPF_LDX | BPF_MEM | BPF_DW, 3, 1, 8, 0));
	if (s->root_is_target) {
		root = new_label(b);
		jump(b, BPF_JMP | BPF_JNE | BPF_K, 3, 0, root);
		put(b, I(BPF_ALU64 | BPF_ADD | BPF_K, s->reg, 0, 0, 1));
	}
	if (s->mask_cls)
		put(b, I(s->mask_cls | BPF_AND | BPF_K, s->reg, 0, 0, s->mask));
	if (root >= 0)
		place(b, root);
	if (s->jset_root)
		jump(b, BPF_JMP | BPF_JSET | BPF_K, s->reg, 0x20, dflt);
	if (s->chain) {
		for (int k = 0; k < s->n_cases; k++)
			jump(b, s->leaf_cls | BPF_JEQ | BPF_K, s->reg, k * s->stride, case_label[k]);
	} else {
		build_tree(b, s, case_label, 0, s->n_cases, dflt);
	}
	place(b, dflt);
	put(b, I(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 7));
	put(b, I(BPF_ALU64 | BPF_ADD | BPF_X, 0, s->reg, 0, 0));
	put(b, I(BPF_ALU64 | BPF_ADD | BPF_X, 0, 3, 0, 0));
	put(b, I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
	for (int j = 0; j < s->n_leaves; j++) {
		place(b, leaf[j]);
		put(b, I(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 100 + j));
		put(b, I(BPF_ALU64 | BPF_ADD | BPF_X, 0, s->reg, 0, 0));
		put(b, I(BPF_ALU64 | BPF_ADD | BPF_X, 0, 3, 0, 0));
		put(b, I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
	}
	resolve(b);
	return b->n;
}

static const struct shape shapes[] = {
	{ "dense signed 64", 2, BPF_JMP | BPF_JSGT | BPF_K, BPF_JMP, 0, 0, 15, 15, 1, false, false, false },
	{ "dense unsigned 64", 2, BPF_JMP | BPF_JGT | BPF_K, BPF_JMP, 0, 0, 16, 16, 1, false, false, false },
	{ "dense jmp32", 2, BPF_JMP32 | BPF_JSGT | BPF_K, BPF_JMP32, 0, 0, 12, 12, 1, false, false, false },
	{ "jmp32 splits, 64-bit leaves", 4, BPF_JMP32 | BPF_JGT | BPF_K, BPF_JMP, 0, 0, 10, 10, 1, false, false, false },
	{ "64-bit splits, jmp32 leaves", 5, BPF_JMP | BPF_JSGT | BPF_K, BPF_JMP32, 0, 0, 10, 10, 1, false, false, false },
	{ "shared leaves", 7, BPF_JMP | BPF_JSGT | BPF_K, BPF_JMP, 0, 0, 16, 4, 1, false, false, false },
	{ "masked 64", 8, BPF_JMP | BPF_JSGT | BPF_K, BPF_JMP, BPF_ALU64, 15, 15, 15, 1, false, false, false },
	{ "masked 32", 9, BPF_JMP32 | BPF_JSGT | BPF_K, BPF_JMP32, BPF_ALU, 15, 16, 16, 1, false, false, false },
	{ "mask below the cases", 0, BPF_JMP | BPF_JGT | BPF_K, BPF_JMP, BPF_ALU64, 7, 12, 12, 1, false, false, false },
	{ "root is a jump target", 2, BPF_JMP | BPF_JSGT | BPF_K, BPF_JMP, BPF_ALU64, 15, 14, 14, 1, true, false, false },
	{ "jset root", 2, BPF_JMP | BPF_JSGT | BPF_K, BPF_JMP, 0, 0, 16, 16, 1, false, true, false },
	{ "chain, default falls in", 2, 0, BPF_JMP, 0, 0, 8, 8, 1, false, false, true },
	{ "chain jmp32, masked", 4, 0, BPF_JMP32, BPF_ALU64, 0x3f, 10, 5, 1, false, false, true },
	{ "stride 3", 5, BPF_JMP | BPF_JSGT | BPF_K, BPF_JMP, 0, 0, 16, 16, 3, false, false, false },
	{ "big table", 2, BPF_JMP | BPF_JGT | BPF_K, BPF_JMP, 0, 0, 60, 20, 1, false, false, false },
};

static bj_helper_fn helpers[BJ_HELPER_ID_MAX];

static const struct bj_jit_opts jit_modes[] = {
	{ 0 }, { .checked = true }, { .blind = true }, { .baseline_isa = true },
};

static uint64_t run_interp(const struct bj_insn *prog, size_t n, uint64_t mem[2])
{
	struct bj_interp *ip;
	struct bj_error err = { 0 };
	struct bj_run run = { .budget = BJ_DEFAULT_INSN_BUDGET };
	uint64_t r0;

	if (bj_interp_create(prog, n, helpers, false, &ip, &err))
		fail_msg("interpreter: %s", err.msg);
	bj_run_add_region(&run, mem, 16, true);
	r0 = bj_interp_run(ip, mem, 16, &run);
	assert_int_equal(run.fault, 0);
	bj_interp_free(ip);
	return r0;
}

static uint64_t run_jit(const struct bj_jit_code *code, uint64_t mem[2])
{
	struct bj_run run;
	uint64_t r0;

	memset(&run, 0, sizeof(run));
	run.budget = BJ_DEFAULT_INSN_BUDGET;
	bj_run_add_region(&run, mem, 16, true);
	r0 = bj_jit_code_entry(code)(mem, 16, &run);
	assert_int_equal(run.fault, 0);
	return r0;
}

/* The table's indirect jump: `jmp r10` (nothing else in the image jumps through r10). */
static bool has_jump_table(const struct bj_jit_code *code)
{
	static const uint8_t jmp_r10[3] = { 0x41, 0xff, 0xe2 };
	size_t len;
	const uint8_t *image = bj_jit_code_image(code, &len);

	for (size_t k = 0; k + sizeof(jmp_r10) <= len; k++)
		if (!memcmp(image + k, jmp_r10, sizeof(jmp_r10)))
			return true;
	return false;
}

/* Values inside the table's range, at its edges, negative, above it, and equal to a case in the low half only. */
static size_t test_values(int64_t hi, uint64_t *v)
{
	static const uint64_t far[] = { 0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ull, 0x100000003ull,
					0xffffffff00000005ull, 0x8000000000000000ull, 0x7fffffffffffffffull, 255, 256,
					0x80000002ull, 0xfffffffe };
	size_t n = 0;

	for (int64_t k = -4; k <= hi + 4; k++)
		v[n++] = (uint64_t)k;
	for (size_t k = 0; k < N(far); k++)
		v[n++] = far[k];
	return n;
}

static void check_shape(const struct shape *s, bool want_table)
{
	struct builder b;
	size_t n = build_prog(&b, s), nv;
	uint64_t values[512], mem[2];
	int64_t hi = (int64_t)(s->n_cases * s->stride);

	assert_true(hi + 9 + 12 <= (int64_t)N(values));
	nv = test_values(hi, values);
	for (size_t m = 0; m < N(jit_modes); m++) {
		struct bj_jit_code *code;
		struct bj_error err = { 0 };

		if (bj_jit_compile(b.insns, n, helpers, &jit_modes[m], &code, &err))
			fail_msg("%s mode %zu: %s", s->name, m, err.msg);
		bool expected = want_table && !jit_modes[m].checked && !jit_modes[m].blind;
		if (has_jump_table(code) != expected)
			fail_msg("%s mode %zu: jump table %s", s->name, m, expected ? "missing" : "where it must not be");
		for (size_t k = 0; k < nv; k++) {
			for (uint64_t second = 0; second < (s->root_is_target ? 2 : 1); second++) {
				mem[0] = values[k];
				mem[1] = second;
				uint64_t want = run_interp(b.insns, n, mem);
				mem[0] = values[k];
				mem[1] = second;
				uint64_t got = run_jit(code, mem);
				if (got != want)
					fail_msg("%s mode %zu: value 0x%" PRIx64 " (r3 %" PRIu64 "): r0 0x%" PRIx64
						 ", want 0x%" PRIx64, s->name, m, values[k], second, got, want);
			}
		}
		bj_jit_code_free(code);
	}
}

static void test_trees_match_interpreter(void **state)
{
	(void)state;
	for (size_t k = 0; k < N(shapes); k++)
		check_shape(&shapes[k], true);
	print_message("%zu trees, each in %zu JIT modes\n", N(shapes), N(jit_modes));
}

/* Too few compares, or a sparse tree: the compares stay, no table. */
static void test_no_table_for_small_or_sparse_trees(void **state)
{
	static const struct shape small = { "small", 2, BPF_JMP | BPF_JSGT | BPF_K, BPF_JMP, 0, 0, 3, 3, 1,
					    false, false, false };
	static const struct shape sparse = { "sparse", 2, BPF_JMP | BPF_JSGT | BPF_K, BPF_JMP, 0, 0, 6, 6, 40,
					     false, false, false };
	const struct shape *no_table[] = { &small, &sparse };

	(void)state;
	for (size_t k = 0; k < N(no_table); k++)
		check_shape(no_table[k], false);
}

/* The dump shows the table as data, not as instructions decoded from it. */
static void test_dump_marks_the_table(void **state)
{
	struct builder b;
	struct bj_jit_code *code;
	size_t n = build_prog(&b, &shapes[0]), text_len = 0;
	char *text = NULL;
	FILE *out;
	int ret;

	(void)state;
	assert_int_equal(bj_jit_compile(b.insns, n, helpers, NULL, &code, NULL), 0);
	out = open_memstream(&text, &text_len);
	ret = bj_jit_code_dump(code, b.insns, out);
	fclose(out);
	bj_jit_code_free(code);
	if (ret == -EOPNOTSUPP) {
		free(text);
		skip();
		return;
	}
	if (ret)
		fail_msg("undecodable bytes\n%s", text);
	assert_non_null(strstr(text, "jmp      r10"));
	assert_non_null(strstr(text, ".rel32"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trees_match_interpreter),
		cmocka_unit_test(test_no_table_for_small_or_sparse_trees),
		cmocka_unit_test(test_dump_marks_the_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
